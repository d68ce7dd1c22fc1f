/* stub_api_test.c -- the stub's C API edges the transcripts cannot reach: stops reported from inside resume, exit, broken writes, input floods while pending. */
#include <stdio.h>
#include <string.h>

#include "fake_target.h"

static char out[1 << 16];
static size_t out_len;
static int write_fails;
static struct gdb_stub *cur_stub;
static int fails;

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); fails++; } } while (0)

static int cap_write(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    if (write_fails)
        return -1;
    if (len > sizeof out - out_len)
        len = sizeof out - out_len;
    memcpy(out + out_len, buf, len);
    out_len += len;
    return 0;
}

static void feed(struct gdb_stub *s, const char *payload)
{
    char pkt[512];
    unsigned sum = 0;

    for (const char *p = payload; *p; p++)
        sum += (unsigned char)*p;
    snprintf(pkt, sizeof pkt, "$%s#%02x", payload, sum & 0xff);
    gdb_stub_feed(s, pkt, strlen(pkt));
}

static int out_has(const char *needle)
{
    out[out_len < sizeof out ? out_len : sizeof out - 1] = 0;
    return strstr(out, needle) != NULL;
}

/* A target whose resume stops at once, calling back into the stub. */
static int sync_resume(void *t, const struct gdb_resume_action *acts, size_t n)
{
    struct gdb_stop st = { .reason = GDB_STOP_SIGNAL, .tid = 2, .signo = 5 };

    (void)t; (void)acts; (void)n;
    return gdb_stub_report_stop(cur_stub, &st);
}

int main(void)
{
    static struct fake_target fake;
    struct gdb_target_ops ops = fake_target_ops;
    struct gdb_stub *s;
    static char flood[3 * GDB_RSP_PACKET_SIZE];

    /* 1. Stop reported synchronously from inside resume. */
    ops.resume = sync_resume;
    fake_target_init(&fake);
    s = cur_stub = gdb_stub_new(&gdb_arch_x86_64, &ops, &fake, cap_write, NULL);
    CHECK(s && gdb_stub_state(s) == GDB_STUB_HALTED && gdb_stub_current_thread(s) == 1);
    out_len = 0;
    feed(s, "c");
    CHECK(gdb_stub_state(s) == GDB_STUB_HALTED);
    CHECK(out_has("$T05thread:2;#"));
    CHECK(gdb_stub_current_thread(s) == 2);
    gdb_stub_free(s);

    /* 2. The target exits while running: W, session closed, input refused. */
    fake_target_init(&fake);
    s = gdb_stub_new(&gdb_arch_x86_64, &fake_target_ops, &fake, cap_write, NULL);
    out_len = 0;
    feed(s, "c");
    CHECK(gdb_stub_state(s) == GDB_STUB_RUNNING);
    struct gdb_stop ex = { .reason = GDB_STOP_EXITED, .exit_code = 3 };
    CHECK(gdb_stub_report_stop(s, &ex) == 0);
    CHECK(out_has("$W03#"));
    CHECK(gdb_stub_state(s) == GDB_STUB_CLOSED);
    CHECK(gdb_stub_feed(s, "$?#3f", 5) == -1);
    gdb_stub_free(s);

    /* 3. A failing write callback closes the session. */
    fake_target_init(&fake);
    s = gdb_stub_new(&gdb_arch_x86_64, &fake_target_ops, &fake, cap_write, NULL);
    write_fails = 1;
    feed(s, "?");
    CHECK(gdb_stub_state(s) == GDB_STUB_CLOSED);
    write_fails = 0;
    gdb_stub_free(s);

    /* 4. While an op is pending, more than the backlog bound closes the session. */
    fake_target_init(&fake);
    s = gdb_stub_new(&gdb_arch_x86_64, &fake_target_ops, &fake, cap_write, NULL);
    fake.defer_reads = 1;
    feed(s, "m1000,1");
    CHECK(gdb_stub_state(s) == GDB_STUB_PENDING);
    memset(flood, 'a', sizeof flood);
    CHECK(gdb_stub_feed(s, flood, sizeof flood) == -1);
    CHECK(gdb_stub_state(s) == GDB_STUB_CLOSED);
    gdb_stub_free(s);

    /* 5. Stop reported while halted: remembered, not sent. */
    fake_target_init(&fake);
    s = gdb_stub_new(&gdb_arch_x86_64, &fake_target_ops, &fake, cap_write, NULL);
    out_len = 0;
    struct gdb_stop w = { .reason = GDB_STOP_WATCH, .tid = 2, .addr = 0x2000 };
    CHECK(gdb_stub_report_stop(s, &w) == 0);
    CHECK(out_len == 0);
    feed(s, "?");
    CHECK(out_has("$T05thread:2;watch:2000;#"));
    gdb_stub_free(s);

    printf("stub api: %s\n", fails ? "FAILED" : "ok");
    return fails != 0;
}
