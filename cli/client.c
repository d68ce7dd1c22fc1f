/* client.c -- hvctl's side of hvd's JSON API: connect, greeting, execute,
 * bounded line reads. Everything hvd sends is untrusted: every line is
 * bounded, parsed with jansson and checked for its shape before use. */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hvkit/proto.h>
#include <hvkit/rundir.h>

#include "hvctl.h"

struct hvctl_client {
    int fd;
    int timeout_ms;
    long long next_id;
    size_t line_max;     /* HVCTL_CLIENT_LINE_MAX unless a test lowers it */
    json_t *caps;        /* greeting's capabilities array, or NULL */
    /* Read buffer: bytes [0, len) are received and not yet consumed as
     * lines; len <= cap <= line_max + 1. */
    char *buf;
    size_t len, cap;
};

static const struct { const char *cls; int code; } hvctl_client_classes[] = {
    { "VMNotFound", HVCTL_EXIT_NOT_FOUND },
    { "VCPUNotFound", HVCTL_EXIT_NOT_FOUND },
    { "InvalidArgument", HVCTL_EXIT_USAGE },
    { "TooLarge", HVCTL_EXIT_USAGE },
    { "AddressFault", HVCTL_EXIT_FAULTED },
    { "VMGone", HVCTL_EXIT_REMOTE },
    { "Timeout", HVCTL_EXIT_REMOTE },
    { "Busy", HVCTL_EXIT_REMOTE },
    { "CommandNotFound", HVCTL_EXIT_REMOTE },
    { "InternalError", HVCTL_EXIT_REMOTE },
    { "InvalidRequest", HVCTL_EXIT_INTERNAL },   /* hvctl built a bad request */
};

int hvctl_client_class_exit(const char *eclass)
{
    for (size_t i = 0; i < sizeof hvctl_client_classes / sizeof hvctl_client_classes[0]; i++)
        if (eclass && !strcmp(eclass, hvctl_client_classes[i].cls))
            return hvctl_client_classes[i].code;
    return HVCTL_EXIT_REMOTE;   /* a class this hvctl does not know yet */
}

static long long hvctl_client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the absolute deadline. 1 ready, 0 timeout. */
static int hvctl_client_wait(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - hvctl_client_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int hvctl_client_write_all(struct hvctl_client *c, const char *p, size_t n, struct hvk_err *err)
{
    long long deadline = hvctl_client_now_ms() + c->timeout_ms;
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = hvctl_client_wait(c->fd, POLLOUT, deadline);
            if (r > 0)
                continue;
            if (r == 0)
                hvk_err_set(err, "hvd did not take the request within %d ms", c->timeout_ms);
            else
                hvk_err_set(err, "poll: %s", strerror(errno));
            return hvk_err_code(err, HVCTL_EXIT_CONNECT);
        }
        hvk_err_set(err, "sending to hvd: %s", w < 0 ? strerror(errno) : "short write");
        return hvk_err_code(err, HVCTL_EXIT_CONNECT);
    }
    return 0;
}

/* Read one '\n'-terminated line into a new NUL-terminated string (without
 * the newline). A line over HVCTL_CLIENT_LINE_MAX, EOF or the timeout is an
 * error. NUL bytes inside a line are refused (hvd never sends them). */
static char *hvctl_client_read_line(struct hvctl_client *c, size_t *out_len, struct hvk_err *err)
{
    long long deadline = hvctl_client_now_ms() + c->timeout_ms;
    size_t scanned = 0;
    for (;;) {
        char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = malloc(n + 1);
            if (!line) {
                hvk_err_set(err, "out of memory for a %zu-byte reply", n);
                hvk_err_code(err, HVCTL_EXIT_INTERNAL);
                return NULL;
            }
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            if (memchr(line, '\0', n)) {
                free(line);
                hvk_err_set(err, "hvd sent a NUL byte inside a message");
                hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
                return NULL;
            }
            *out_len = n;
            return line;
        }
        scanned = c->len;
        /* the line and its newline must fit in LINE_MAX + 1 bytes */
        if (c->len > c->line_max) {
            hvk_err_set(err, "hvd sent a message longer than %zu bytes", c->line_max);
            hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
            return NULL;
        }
        if (c->cap - c->len < 4096 && c->cap < c->line_max + 1) {
            size_t ncap = c->cap ? c->cap * 2 : 65536;
            if (ncap > c->line_max + 1)
                ncap = c->line_max + 1;
            char *nb = realloc(c->buf, ncap);
            if (!nb) {
                hvk_err_set(err, "out of memory reading from hvd");
                hvk_err_code(err, HVCTL_EXIT_INTERNAL);
                return NULL;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r == 0) {
            hvk_err_set(err, c->len ? "hvd closed the connection in the middle of a message"
                                    : "hvd closed the connection");
            hvk_err_code(err, HVCTL_EXIT_CONNECT);
            return NULL;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = hvctl_client_wait(c->fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                hvk_err_set(err, "hvd did not answer within %d ms", c->timeout_ms);
            else
                hvk_err_set(err, "poll: %s", strerror(errno));
            hvk_err_code(err, HVCTL_EXIT_CONNECT);
            return NULL;
        }
        hvk_err_set(err, "reading from hvd: %s", strerror(errno));
        hvk_err_code(err, HVCTL_EXIT_CONNECT);
        return NULL;
    }
}

/* One message as a JSON object (nesting is bounded by jansson's own
 * JSON_PARSER_MAX_DEPTH). */
static json_t *hvctl_client_read_msg(struct hvctl_client *c, struct hvk_err *err)
{
    size_t n;
    char *line = hvctl_client_read_line(c, &n, err);
    json_error_t je;
    json_t *j;
    if (!line)
        return NULL;
    j = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
    free(line);
    if (!j) {
        hvk_err_set(err, "hvd sent invalid JSON: %s", je.text);
        hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        hvk_err_set(err, "hvd sent a message that is not a JSON object");
        hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
        return NULL;
    }
    return j;
}

static int hvctl_client_greeting(struct hvctl_client *c, struct hvk_err *err)
{
    json_t *g = hvctl_client_read_msg(c, err), *h, *api, *caps;
    if (!g)
        return hvk_err_prefix(err, "waiting for hvd's greeting");
    h = json_object_get(g, "hvkit");
    api = json_object_get(h, "api");
    caps = json_object_get(h, "capabilities");
    if (!json_is_object(h) || !json_is_string(json_object_get(h, "version"))) {
        json_decref(g);
        hvk_err_set(err, "bad greeting: the peer is not hvd (no hvkit.version)");
        return hvk_err_code(err, HVCTL_EXIT_CONNECT);
    }
    if (api && (!json_is_integer(api) || json_integer_value(api) != 1)) {
        if (json_is_integer(api))
            hvk_err_set(err, "bad greeting: hvd speaks API %lld, this hvctl speaks API 1",
                        (long long)json_integer_value(api));
        else
            hvk_err_set(err, "bad greeting: hvd's API version is not a number");
        json_decref(g);   /* api points into g */
        return hvk_err_code(err, HVCTL_EXIT_CONNECT);
    }
    if (caps) {
        size_t i;
        json_t *v;
        if (!json_is_array(caps))
            caps = NULL;
        json_array_foreach(caps, i, v)
            if (!json_is_string(v))
                caps = NULL;
        c->caps = json_incref(caps);
    }
    json_decref(g);
    return 0;
}

struct hvctl_client *hvctl_client_from_fd(int fd, int timeout_ms, struct hvk_err *err)
{
    struct hvctl_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        hvk_err_set(err, "out of memory");
        hvk_err_code(err, HVCTL_EXIT_INTERNAL);
        return NULL;
    }
    c->fd = fd;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : HVCTL_CLIENT_TIMEOUT_MS;
    c->next_id = 1;
    c->line_max = HVCTL_CLIENT_LINE_MAX;
    if (hvctl_client_greeting(c, err) < 0) {
        hvctl_client_close(c);
        return NULL;
    }
    return c;
}

struct hvctl_client *hvctl_client_connect(const struct hvctl_client_opts *o, struct hvk_err *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char path[sizeof sa.sun_path];
    int fd;

    if (o->socket && *o->socket) {
        if (strlen(o->socket) >= sizeof sa.sun_path) {
            hvk_err_set(err, "socket path '%s' is too long for a unix socket", o->socket);
            hvk_err_code(err, HVCTL_EXIT_USAGE);
            return NULL;
        }
        snprintf(path, sizeof path, "%s", o->socket);
    } else if (hvk_rundir_socket(o->rundir, HVK_API_SOCKET_NAME, path, sizeof path, err) < 0) {
        hvk_err_code(err, HVCTL_EXIT_CONNECT);
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        hvk_err_set(err, "socket: %s", strerror(errno));
        hvk_err_code(err, HVCTL_EXIT_INTERNAL);
        return NULL;
    }
    /* A unix-socket connect either completes, fails at once, or (backlog
     * full) blocks; SO_SNDTIMEO bounds that last case. */
    int tmo = o->timeout_ms > 0 ? o->timeout_ms : HVCTL_CLIENT_TIMEOUT_MS;
    struct timeval tv = { .tv_sec = tmo / 1000, .tv_usec = (tmo % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED)
            hvk_err_set(err, "cannot reach hvd at %s: %s (is hvd running? --rundir / --socket / $%s)",
                        path, strerror(e), HVK_RUNDIR_ENV);
        else
            hvk_err_set(err, "cannot reach hvd at %s: %s", path, strerror(e));
        hvk_err_code(err, HVCTL_EXIT_CONNECT);
        return NULL;
    }
    struct hvctl_client *c = hvctl_client_from_fd(fd, o->timeout_ms, err);
    if (!c)
        hvk_err_prefix(err, "%s", path);
    return c;
}

void hvctl_client_close(struct hvctl_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    json_decref(c->caps);
    free(c->buf);
    free(c);
}

void hvctl_client_set_line_max(struct hvctl_client *c, size_t max)
{
    c->line_max = max && max < HVCTL_CLIENT_LINE_MAX ? max : HVCTL_CLIENT_LINE_MAX;
}

int hvctl_client_has_capability(const struct hvctl_client *c, const char *cmd)
{
    size_t i;
    json_t *v;
    if (!c->caps)
        return 1;
    json_array_foreach(c->caps, i, v)
        if (!strcmp(json_string_value(v), cmd))
            return 1;
    return 0;
}

/* The class names hvctl hands back through eclass (static storage). */
static const char *hvctl_client_class_copy(const char *cls)
{
    static char copy[64];
    snprintf(copy, sizeof copy, "%s", cls);
    return copy;
}

int hvctl_client_exec(struct hvctl_client *c, const char *cmd, json_t *args, json_t **ret,
                      const char **eclass, struct hvk_err *err)
{
    long long id = c->next_id++;
    json_t *req, *msg = NULL;
    char *text;
    int rc = -1;

    *ret = NULL;
    if (eclass)
        *eclass = "";
    req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
    if (!req || (args && json_object_set(req, "arguments", args) < 0)) {
        json_decref(args);
        json_decref(req);
        hvk_err_set(err, "out of memory");
        return hvk_err_code(err, HVCTL_EXIT_INTERNAL);
    }
    json_decref(args);
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text) {
        hvk_err_set(err, "out of memory");
        return hvk_err_code(err, HVCTL_EXIT_INTERNAL);
    }
    size_t tl = strlen(text);
    text[tl] = '\n';   /* json_dumps' NUL becomes the message terminator */
    rc = hvctl_client_write_all(c, text, tl + 1, err);
    free(text);
    if (rc < 0)
        return -1;

    /* Replies come in request order; events may come in between. */
    for (;;) {
        json_t *jid, *r, *e;
        msg = hvctl_client_read_msg(c, err);
        if (!msg)
            return -1;
        if (json_object_get(msg, "event")) {
            json_decref(msg);
            continue;
        }
        jid = json_object_get(msg, "id");
        if (!json_is_integer(jid) || json_integer_value(jid) != id) {
            json_decref(msg);
            hvk_err_set(err, "hvd answered '%s' with a reply for another request", cmd);
            return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
        }
        r = json_object_get(msg, "return");
        e = json_object_get(msg, "error");
        if (r && !e) {
            *ret = json_incref(r);
            json_decref(msg);
            return 0;
        }
        if (e && !r && json_is_object(e)) {
            const char *cls = json_string_value(json_object_get(e, "class"));
            const char *desc = json_string_value(json_object_get(e, "desc"));
            if (cls) {
                hvk_err_set(err, "%s", desc && *desc ? desc : cls);
                hvk_err_code(err, hvctl_client_class_exit(cls));
                if (eclass)
                    *eclass = hvctl_client_class_copy(cls);
                json_decref(msg);
                return -1;
            }
        }
        json_decref(msg);
        hvk_err_set(err, "hvd's reply to '%s' has neither a return value nor a well-formed error", cmd);
        return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
    }
}

int hvctl_client_next(struct hvctl_client *c, int timeout_ms, json_t **msg, struct hvk_err *err)
{
    *msg = NULL;
    /* A whole line already buffered needs no wait; else wait for bytes, then
     * read_msg bounds the rest of the line by the usual timeout. */
    if (!(c->len && memchr(c->buf, '\n', c->len))) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int n;
        do
            n = poll(&p, 1, timeout_ms);
        while (n < 0 && errno == EINTR && timeout_ms < 0);
        if (n == 0 || (n < 0 && errno == EINTR))
            return 0;
        if (n < 0) {
            hvk_err_set(err, "poll: %s", strerror(errno));
            return hvk_err_code(err, HVCTL_EXIT_CONNECT);
        }
    }
    *msg = hvctl_client_read_msg(c, err);
    return *msg ? 1 : -1;
}
