/* gdb_demo_server.c -- a gdb server on the gdb/ library and the fake target (test fixture): stdio for `target remote | gdb_demo_server`, or --tcp PORTFILE for `target remote 127.0.0.1:PORT` with a non-blocking poll loop, the way hvd runs it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_target.h"

/* Output queue: the stub's write callback only appends; the loop flushes. */
struct demo_out {
    int fd;
    int nonblocking;
    char *buf;
    size_t len, cap;
};

static int demo_flush(struct demo_out *o)
{
    size_t done = 0;

    while (done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && o->nonblocking && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    memmove(o->buf, o->buf + done, o->len - done);
    o->len -= done;
    return 0;
}

static int demo_write(void *ctx, const void *buf, size_t len)
{
    struct demo_out *o = ctx;

    if (len > (size_t)16 << 20 || o->len + len > ((size_t)16 << 20))
        return -1; /* a peer that never reads: give up */
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + len)
            cap *= 2;
        char *nb = realloc(o->buf, cap);
        if (!nb)
            return -1;
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, buf, len);
    o->len += len;
    return o->nonblocking ? 0 : demo_flush(o);
}

/* Say so before the stub answers, so a test sees it before gdb goes on. */
static void demo_detach(void *t)
{
    fprintf(stderr, "gdb_demo_server: detach requested\n");
    fake_target_ops.detach(t);
}

static int demo_resume(void *t, const struct gdb_resume_action *acts, size_t n)
{
    fprintf(stderr, "gdb_demo_server: resumed\n");
    return fake_target_ops.resume(t, acts, n);
}

/* Listen on 127.0.0.1, an ephemeral port written to portfile; accept one peer. */
static int demo_accept(const char *portfile)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    int ls = socket(AF_INET, SOCK_STREAM, 0), fd;
    FILE *fp;

    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
        perror("gdb_demo_server: listen");
        return -1;
    }
    fp = fopen(portfile, "w");
    if (!fp || fprintf(fp, "%u\n", ntohs(sa.sin_port)) < 0 || fclose(fp) != 0) {
        perror(portfile);
        return -1;
    }
    fd = accept(ls, NULL, NULL);
    close(ls);
    if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        perror("gdb_demo_server: accept");
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    static struct fake_target fake;
    struct gdb_target_ops ops = fake_target_ops;
    struct demo_out out = { .fd = STDOUT_FILENO };
    struct gdb_stub *stub;
    int in_fd = STDIN_FILENO, rc = 1;
    char buf[4096];

    if (argc == 3 && strcmp(argv[1], "--tcp") == 0) {
        in_fd = out.fd = demo_accept(argv[2]);
        if (in_fd < 0)
            return 1;
        out.nonblocking = 1;
    } else if (argc != 1) {
        fprintf(stderr, "usage: gdb_demo_server [--tcp PORTFILE]\n");
        return 2;
    }
    ops.detach = demo_detach;
    ops.resume = demo_resume;
    fake_target_init(&fake);
    stub = gdb_stub_new(&gdb_arch_x86_64, &ops, &fake, demo_write, &out);
    if (!stub) {
        fprintf(stderr, "gdb_demo_server: out of memory\n");
        return 1;
    }
    while (gdb_stub_state(stub) != GDB_STUB_CLOSED) {
        struct pollfd pfd = { .fd = in_fd, .events = POLLIN | (out.len ? POLLOUT : 0) };
        ssize_t n;

        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if ((pfd.revents & POLLOUT) && demo_flush(&out) < 0)
            break;
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        n = read(in_fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        gdb_stub_feed(stub, buf, (size_t)n);
        /* The fake target "runs" only until its first breakpoint; without one
         * it keeps running until gdb sends Ctrl-C. */
        if (gdb_stub_state(stub) == GDB_STUB_RUNNING)
            fake_target_run(&fake, stub);
    }
    /* Best effort: the last reply (D's OK) still queued. */
    if (out.nonblocking) {
        fcntl(out.fd, F_SETFL, 0);
        out.nonblocking = 0;
    }
    demo_flush(&out);
    fprintf(stderr, "gdb_demo_server: session closed (%s)\n",
            fake.detached ? "detached" : fake.killed ? "killed" : "connection lost");
    rc = fake.detached || fake.killed ? 0 : 1;
    gdb_stub_free(stub);
    free(out.buf);
    return rc;
}
