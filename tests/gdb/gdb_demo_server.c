/* gdb_demo_server.c -- a gdb server over stdin/stdout built on the gdb/ library and the fake target (test fixture), for `target remote | gdb_demo_server`. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "fake_target.h"

static int demo_write(void *ctx, const void *buf, size_t len)
{
    const char *p = buf;

    (void)ctx;
    while (len) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Say so before the stub answers D, so the test sees it before gdb exits. */
static void demo_detach(void *t)
{
    fprintf(stderr, "gdb_demo_server: detach requested\n");
    fake_target_ops.detach(t);
}

int main(void)
{
    struct gdb_target_ops ops = fake_target_ops;
    static struct fake_target fake;
    struct gdb_stub *stub;
    char buf[4096];

    ops.detach = demo_detach;
    fake_target_init(&fake);
    stub = gdb_stub_new(&gdb_arch_x86_64, &ops, &fake, demo_write, NULL);
    if (!stub) {
        fprintf(stderr, "gdb_demo_server: out of memory\n");
        return 1;
    }
    while (gdb_stub_state(stub) != GDB_STUB_CLOSED) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        gdb_stub_feed(stub, buf, (size_t)n);
        /* The fake target "runs" only until its first breakpoint; without one
         * it keeps running until gdb sends Ctrl-C. */
        if (gdb_stub_state(stub) == GDB_STUB_RUNNING)
            fake_target_run(&fake, stub);
    }
    fprintf(stderr, "gdb_demo_server: session closed (%s)\n",
            fake.detached ? "detached" : fake.killed ? "killed" : "connection lost");
    gdb_stub_free(stub);
    return fake.detached || fake.killed ? 0 : 1;
}
