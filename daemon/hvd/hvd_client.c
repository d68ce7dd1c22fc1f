/* hvd_client.c -- one API client: non-blocking reads split into lines (a
 * line over the limit is discarded up to its newline), replies written in
 * request order from a bounded output buffer. A client never blocks hvd:
 * reads and writes are bounded per wakeup, and a client whose output passes
 * HVD_OUT_MAX is disconnected. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_telemetry.h"

#define HVD_READ_CHUNK   (64 * 1024)
#define HVD_READS_PER_WAKE 4

static void hvd_client_update(struct hvd *d, struct hvd_client *c)
{
    /* After the client's EOF (closing), RDHUP would stay ready: leave it out
     * or the level-triggered loop spins until the last answer. EPOLLHUP
     * (the client closed both ways) is always reported. */
    uint32_t ev = c->closing ? 0 : EPOLLRDHUP;
    /* Stop reading while too many answers are pending: the socket buffer
     * then pushes back on the client, not on hvd's memory. */
    if (!c->closing && c->nslots < HVD_CLIENT_INFLIGHT)
        ev |= EPOLLIN;
    if (c->out.len > c->out.off)
        ev |= EPOLLOUT;
    if (ev != c->events) {
        hvd_watch_mod(d, c->fd, ev, &c->w);
        c->events = ev;
    }
}

struct hvd_client *hvd_client_adopt(struct hvd *d, int fd)
{
    struct hvd_client *c = d->nclients < HVD_CLIENTS_MAX ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        hvd_log("api: refusing a client (%u connected)", d->nclients);
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->serial = ++d->serial;
    c->w = (struct hvd_watch){HVD_W_CLIENT, c};
    c->events = EPOLLIN | EPOLLRDHUP;
    if (hvd_watch_add(d, fd, c->events, &c->w) < 0) {
        close(fd);
        free(c);
        return NULL;
    }
    c->next = d->clients;
    if (d->clients)
        d->clients->prev = c;
    d->clients = c;
    d->nclients++;
    json_t *g = hvd_api_greeting();
    char *text = g ? json_dumps(g, JSON_COMPACT) : NULL;
    json_decref(g);
    if (!text || hvd_buf_append(&c->out, text, strlen(text)) < 0 || hvd_buf_append(&c->out, "\n", 1) < 0) {
        free(text);
        hvd_client_close(d, c, "out of memory");
        return NULL;
    }
    free(text);
    hvd_log("client #%u connected", c->serial);
    unsigned serial = c->serial;
    hvd_client_flush(d, c);
    return hvd_client_alive(d, serial) ? c : NULL;
}

void hvd_client_accept(struct hvd *d)
{
    for (;;) {
        int fd = accept4(d->api_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                hvd_sock_shed(d->api_fd);
            return;
        }
        hvd_client_adopt(d, fd);
    }
}

void hvd_client_close(struct hvd *d, struct hvd_client *c, const char *why)
{
    hvd_log("client #%u disconnected: %s", c->serial, why);
    hvd_watch_del(d, c->fd);
    close(c->fd);
    /* Answers still in flight are dropped when they arrive. */
    struct hvd_slot *s = c->head;
    while (s) {
        struct hvd_slot *next = s->next;
        s->client = NULL;
        s->next = NULL;
        hvd_slot_settle(d, s);
        s = next;
    }
    hvd_buf_free(&c->in);
    hvd_buf_free(&c->out);
    hvd_sub_free(c->sub);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    d->nclients--;
    free(c);
}

/* Write what is buffered. 0: ok (maybe partial), -1: client closed. */
static int hvd_client_write(struct hvd *d, struct hvd_client *c)
{
    while (c->out.len > c->out.off) {
        ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len - c->out.off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            hvd_client_close(d, c, strerror(errno));
            return -1;
        }
        hvd_buf_consume(&c->out, (size_t)n);
    }
    hvd_sub_refill(c);   /* LOST notices owed to a subscriber, now that there is room */
    if (c->closing && !c->head && c->out.len == c->out.off) {
        hvd_client_close(d, c, "closed its side");
        return -1;
    }
    return 0;
}

void hvd_client_flush(struct hvd *d, struct hvd_client *c)
{
    /* Only complete slots at the head move: replies keep request order. */
    bool freed = false;
    while (c->head && c->head->line && !c->head->outstanding) {
        struct hvd_slot *s = c->head;
        int rc = hvd_buf_append(&c->out, s->line, s->line_len);
        c->head = s->next;
        if (!c->head)
            c->tail = NULL;
        c->nslots--;
        hvd_slot_free(s);
        freed = true;
        if (rc < 0 || c->out.len - c->out.off > HVD_OUT_MAX) {
            hvd_client_close(d, c, "output buffer over 16 MiB (client does not read)");
            return;
        }
    }
    if (hvd_client_write(d, c) < 0)
        return;
    if (freed)
        hvd_client_process(d, c);   /* lines held back while too many were pending */
    else
        hvd_client_update(d, c);
}

/* Handle complete lines in the input buffer while the client may have more
 * requests in flight. */
bool hvd_client_alive(const struct hvd *d, unsigned serial)
{
    for (const struct hvd_client *c = d->clients; c; c = c->next)
        if (c->serial == serial)
            return true;
    return false;
}

void hvd_client_process(struct hvd *d, struct hvd_client *c)
{
    unsigned serial = c->serial;
    /* A request answered at once flushes, and flushing calls back here: the
     * outer call owns the input buffer and goes on with the next line. */
    if (c->processing)
        return;
    c->processing = true;
    while (c->nslots < HVD_CLIENT_INFLIGHT && c->in.len > c->in.off) {
        char *start = c->in.p + c->in.off;
        size_t avail = c->in.len - c->in.off;
        char *nl = memchr(start + c->scanned, '\n', avail - c->scanned);
        if (!nl) {
            c->scanned = avail;
            if (avail > HVD_LINE_MAX) {
                /* Too long: forget it and skip up to the next newline. */
                c->discarding = true;
                hvd_buf_consume(&c->in, avail);
                c->scanned = 0;
            }
            break;
        }
        size_t len = (size_t)(nl - start);
        c->scanned = 0;
        if (c->discarding || len > HVD_LINE_MAX) {
            c->discarding = false;
            hvd_buf_consume(&c->in, len + 1);
            struct hvd_slot *s = hvd_slot_new(c, NULL);
            if (s)
                hvd_slot_error(d, s, "TooLarge", "request line longer than %u bytes", HVD_LINE_MAX);
        } else {
            /* The line is handled in place; consume it afterwards. The
             * handler may finish the slot and flush, which only appends to
             * c->out and may close c (checked below). */
            hvd_api_request(d, c, start, len);
            if (!hvd_client_alive(d, serial))
                return;
            hvd_buf_consume(&c->in, len + 1);
        }
        if (!hvd_client_alive(d, serial))
            return;
    }
    c->processing = false;
    hvd_client_update(d, c);
}

void hvd_client_on_event(struct hvd *d, struct hvd_client *c, uint32_t events)
{
    unsigned serial = c->serial;
    if (events & (EPOLLHUP | EPOLLERR)) {
        /* Closed both ways: answers can no longer be delivered. A client
         * that only shut down its writing side (RDHUP) still gets them. */
        hvd_client_close(d, c, events & EPOLLERR ? "socket error" : "hung up");
        return;
    }
    if (events & EPOLLOUT) {
        if (hvd_client_write(d, c) < 0)
            return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (int i = 0; i < HVD_READS_PER_WAKE && (c->events & EPOLLIN); i++) {
            char buf[HVD_READ_CHUNK];
            ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                hvd_client_close(d, c, strerror(errno));
                return;
            }
            if (n == 0) {
                /* Half-close: answer what was asked, then close. */
                c->closing = true;
                break;
            }
            if (c->discarding) {
                char *nl = memchr(buf, '\n', (size_t)n);
                if (!nl)
                    continue;
                /* Keep the newline: process() ends the discarded line. */
                size_t skip = (size_t)(nl - buf);
                if (hvd_buf_append(&c->in, nl, (size_t)n - skip) < 0) {
                    hvd_client_close(d, c, "out of memory");
                    return;
                }
            } else if (hvd_buf_append(&c->in, buf, (size_t)n) < 0) {
                hvd_client_close(d, c, "out of memory");
                return;
            }
            hvd_client_process(d, c);
            if (!hvd_client_alive(d, serial))
                return;
        }
    }
    if (!hvd_client_alive(d, serial))
        return;
    if (c->closing && !c->head && c->out.len == c->out.off) {
        hvd_client_close(d, c, "closed its side");
        return;
    }
    hvd_client_update(d, c);
}
