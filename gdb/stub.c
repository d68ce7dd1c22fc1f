/* stub.c -- gdb stub session: table-driven packet dispatch with declared argument shapes, run state, pending/retry. */
#include "stub-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

/* A command matches a packet exactly, or as a prefix whose rest is parsed by
 * the shape. Shape characters:
 *   x  hex number (1+ digits, <= 64 bits)       -> a->num[]
 *   i  thread id: hex or "-1"                  -> a->tid
 *   h  hex bytes up to the end (even count)     -> a->data (decoded, <= GDB_STUB_MEM_MAX)
 *   b  binary bytes up to the end               -> a->data (already unescaped)
 *   s  text up to the end                       -> a->data
 *   ?  the rest is optional: the end of the packet here is fine
 *   anything else: that literal character
 * After the shape the packet must be fully consumed (else E01). */
enum stub_match { MATCH_EXACT, MATCH_PREFIX };
#define CMD_ANY_STATE 1u /* also served while the target runs */

struct stub_cmd {
    const char *name;
    enum stub_match match;
    const char *shape;
    unsigned flags;
    int (*fn)(struct gdb_stub *s, const struct stub_args *a);
};

/* First match wins: longer names before their prefixes. */
static const struct stub_cmd stub_cmds[] = {
    { "qSupported",           MATCH_PREFIX, "s",     0, stub_cmd_supported },
    { "QStartNoAckMode",      MATCH_EXACT,  "",      0, stub_cmd_noack },
    { "qXfer:features:read:", MATCH_PREFIX, "s",     0, stub_cmd_xfer_features },
    { "qfThreadInfo",         MATCH_EXACT,  "",      0, stub_cmd_thread_first },
    { "qsThreadInfo",         MATCH_EXACT,  "",      0, stub_cmd_thread_next },
    { "qC",                   MATCH_EXACT,  "",      0, stub_cmd_qC },
    { "qThreadExtraInfo,",    MATCH_PREFIX, "i",     0, stub_cmd_thread_extra },
    { "qAttached",            MATCH_PREFIX, "?:x",   0, stub_cmd_attached },
    { "qRcmd,",               MATCH_PREFIX, "h",     0, stub_cmd_rcmd },
    { "vCont?",               MATCH_EXACT,  "",      0, stub_cmd_vcont_query },
    { "vCont;",               MATCH_PREFIX, "s",     0, stub_cmd_vcont },
    { "vKill;",               MATCH_PREFIX, "x",     CMD_ANY_STATE, stub_cmd_vkill },
    { "?",                    MATCH_EXACT,  "",      0, stub_cmd_stop_reason },
    { "g",                    MATCH_EXACT,  "",      0, stub_cmd_g },
    { "G",                    MATCH_PREFIX, "h",     0, stub_cmd_G },
    { "p",                    MATCH_PREFIX, "x",     0, stub_cmd_p },
    { "P",                    MATCH_PREFIX, "x=h",   0, stub_cmd_P },
    { "m",                    MATCH_PREFIX, "x,x",   0, stub_cmd_m },
    { "M",                    MATCH_PREFIX, "x,x:h", 0, stub_cmd_M },
    { "X",                    MATCH_PREFIX, "x,x:b", 0, stub_cmd_X },
    { "c",                    MATCH_PREFIX, "?x",    0, stub_cmd_c },
    { "s",                    MATCH_PREFIX, "?x",    0, stub_cmd_s },
    { "Z",                    MATCH_PREFIX, "x,x,x", 0, stub_cmd_Z },
    { "z",                    MATCH_PREFIX, "x,x,x", 0, stub_cmd_z },
    { "Hg",                   MATCH_PREFIX, "i",     0, stub_cmd_Hg },
    { "Hc",                   MATCH_PREFIX, "i",     0, stub_cmd_Hc },
    { "T",                    MATCH_PREFIX, "i",     0, stub_cmd_T },
    { "D",                    MATCH_PREFIX, "?;x",   CMD_ANY_STATE, stub_cmd_D },
    { "k",                    MATCH_EXACT,  "",      CMD_ANY_STATE, stub_cmd_k },
};

int stub_error(struct gdb_stub *s, int code)
{
    s->rlen = (size_t)snprintf(s->reply, sizeof s->reply, "E%02x", code & 0xff);
    return STUB_REPLY;
}

int stub_ok(struct gdb_stub *s)
{
    memcpy(s->reply, "OK", 2);
    s->rlen = 2;
    return STUB_REPLY;
}

int stub_printf(struct gdb_stub *s, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof s->reply - s->rlen;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(s->reply + s->rlen, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        return stub_error(s, STUB_E_RANGE);
    s->rlen += (size_t)n;
    return STUB_REPLY;
}

size_t stub_threads(struct gdb_stub *s, gdb_tid_t *tids)
{
    size_t n = s->ops->thread_list(s->t, tids, GDB_STUB_MAX_THREADS);
    size_t k = 0;

    if (n > GDB_STUB_MAX_THREADS)
        n = GDB_STUB_MAX_THREADS;
    for (size_t i = 0; i < n; i++) /* only ids gdb can name: > 0 */
        if (tids[i] > 0)
            tids[k++] = tids[i];
    return k;
}

int stub_thread_known(struct gdb_stub *s, gdb_tid_t tid)
{
    gdb_tid_t tids[GDB_STUB_MAX_THREADS];
    size_t n = stub_threads(s, tids);

    for (size_t i = 0; i < n; i++)
        if (tids[i] == tid)
            return 1;
    return 0;
}

gdb_tid_t stub_g_thread(struct gdb_stub *s)
{
    gdb_tid_t tids[GDB_STUB_MAX_THREADS];

    if (s->g_tid > 0)
        return s->g_tid;
    return stub_threads(s, tids) ? tids[0] : 1;
}

/* Parse p[0..len) by shape into a. 0, or an E code. */
static int stub_parse(struct gdb_stub *s, const char *shape, const char *p, size_t len,
                      struct stub_args *a)
{
    const char *end = p + len;
    int r;

    memset(a, 0, sizeof *a);
    for (; *shape; shape++) {
        switch (*shape) {
        case '?':
            if (p == end)
                return 0;
            break;
        case 'x':
            if (a->nnum >= sizeof a->num / sizeof a->num[0])
                return STUB_E_MALFORMED;
            r = gdb_hex_u64(&p, end, &a->num[a->nnum]);
            if (r == -2)
                return STUB_E_RANGE;
            if (r < 0)
                return STUB_E_MALFORMED;
            a->nnum++;
            break;
        case 'i': {
            uint64_t v;
            if (end - p >= 2 && p[0] == '-' && p[1] == '1') {
                a->tid = GDB_TID_ALL;
                p += 2;
                break;
            }
            r = gdb_hex_u64(&p, end, &v);
            if (r == -2)
                return STUB_E_RANGE;
            if (r < 0)
                return STUB_E_MALFORMED;
            if (v > (uint64_t)INT64_MAX)
                return STUB_E_RANGE;
            a->tid = (gdb_tid_t)v;
            break;
        }
        case 'h': {
            size_t n = (size_t)(end - p);
            if (n % 2)
                return STUB_E_MALFORMED;
            if (n / 2 > GDB_STUB_MEM_MAX)
                return STUB_E_RANGE;
            if (gdb_hex_decode(s->scratch, p, n) < 0)
                return STUB_E_MALFORMED;
            a->data = s->scratch;
            a->dlen = n / 2;
            p = end;
            break;
        }
        case 'b':
        case 's':
            a->data = (const uint8_t *)p;
            a->dlen = (size_t)(end - p);
            p = end;
            break;
        default:
            if (p == end || *p != *shape)
                return STUB_E_MALFORMED;
            p++;
            break;
        }
    }
    return p == end ? 0 : STUB_E_MALFORMED;
}

/* Dispatch one decoded packet; fills s->reply or returns NO_REPLY / WAIT. */
static int stub_dispatch(struct gdb_stub *s, const uint8_t *pkt, size_t len)
{
    const char *p = (const char *)pkt;

    s->rlen = 0;
    for (size_t i = 0; i < sizeof stub_cmds / sizeof stub_cmds[0]; i++) {
        const struct stub_cmd *c = &stub_cmds[i];
        size_t n = strlen(c->name);
        struct stub_args a;
        int e;

        if (len < n || memcmp(p, c->name, n) != 0)
            continue;
        if (c->match == MATCH_EXACT && len != n)
            continue;
        if (s->state == GDB_STUB_RUNNING && !(c->flags & CMD_ANY_STATE))
            return stub_error(s, STUB_E_RUNNING);
        e = stub_parse(s, c->shape, p + n, len - n, &a);
        if (e)
            return stub_error(s, e);
        return c->fn(s, &a);
    }
    return STUB_REPLY; /* unknown packet: empty reply */
}

/* Run one packet to its reply. Returns 1 when input must pause (PENDING). */
static int stub_packet_run(struct gdb_stub *s, const uint8_t *data, size_t len,
                           enum gdb_rsp_status st)
{
    int r;

    if (s->state == GDB_STUB_CLOSED)
        return 1;
    if (st == GDB_RSP_TOO_LONG)
        r = stub_error(s, STUB_E_RANGE);
    else if (st == GDB_RSP_MALFORMED)
        r = stub_error(s, STUB_E_MALFORMED);
    else
        r = stub_dispatch(s, data, len);

    if (r == STUB_WAIT) {
        /* Keep the packet: it is dispatched again by gdb_stub_retry(). */
        memcpy(s->pending, data, len);
        s->pending[len] = 0;
        s->pending_len = len;
        s->state = GDB_STUB_PENDING;
        return 1;
    }
    if (r == STUB_REPLY) {
        gdb_rsp_send(s->rsp, s->reply, s->rlen);
        if (s->noack_after_reply) {
            s->noack_after_reply = 0;
            gdb_rsp_set_noack(s->rsp);
        }
    }
    if (gdb_rsp_broken(s->rsp) < 0)
        s->state = GDB_STUB_CLOSED;
    return s->state == GDB_STUB_CLOSED;
}

static int stub_on_packet(void *ctx, const uint8_t *data, size_t len, enum gdb_rsp_status st)
{
    return stub_packet_run(ctx, data, len, st);
}

static void stub_on_interrupt(void *ctx)
{
    struct gdb_stub *s = ctx;

    /* Ctrl-C while halted is ignored: there is nothing to stop. */
    if (s->state == GDB_STUB_RUNNING && s->ops->stop_request)
        s->ops->stop_request(s->t);
}

static int stub_on_write(void *ctx, const void *buf, size_t len)
{
    struct gdb_stub *s = ctx;

    return s->write(s->write_ctx, buf, len);
}

static const struct gdb_rsp_ops stub_rsp_ops = {
    .packet = stub_on_packet,
    .interrupt = stub_on_interrupt,
    .write = stub_on_write,
};

struct gdb_stub *gdb_stub_new(const struct gdb_arch *arch, const struct gdb_target_ops *ops,
                              void *target, int (*write)(void *ctx, const void *buf, size_t len),
                              void *write_ctx)
{
    struct gdb_stub *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->arch = arch;
    s->ops = ops;
    s->t = target;
    s->write = write;
    s->write_ctx = write_ctx;
    s->rsp = gdb_rsp_new(&stub_rsp_ops, s);
    s->pending = malloc(GDB_RSP_PACKET_SIZE + 1);
    s->backlog = malloc(STUB_BACKLOG_MAX);
    if (!s->rsp || !s->pending || !s->backlog) {
        gdb_stub_free(s);
        return NULL;
    }
    s->state = GDB_STUB_HALTED;
    s->g_tid = 0;
    s->g_tid = stub_g_thread(s);
    s->c_tid = s->g_tid;
    s->last_stop.reason = GDB_STOP_SIGNAL;
    s->last_stop.signo = 5;
    s->last_stop.tid = s->g_tid;
    return s;
}

void gdb_stub_free(struct gdb_stub *s)
{
    if (!s)
        return;
    gdb_rsp_free(s->rsp);
    free(s->pending);
    free(s->backlog);
    free(s);
}

static int stub_backlog_add(struct gdb_stub *s, const uint8_t *p, size_t n)
{
    if (n > STUB_BACKLOG_MAX - s->backlog_len) {
        /* gdb does not send while waiting for a reply; this peer is broken. */
        s->state = GDB_STUB_CLOSED;
        return -1;
    }
    memcpy(s->backlog + s->backlog_len, p, n);
    s->backlog_len += n;
    return 0;
}

int gdb_stub_feed(struct gdb_stub *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t used;

    if (s->state == GDB_STUB_CLOSED)
        return -1;
    if (s->state == GDB_STUB_PENDING || s->backlog_len)
        return stub_backlog_add(s, p, len);
    used = gdb_rsp_feed(s->rsp, p, len);
    if (s->state == GDB_STUB_CLOSED)
        return -1;
    if (used < len)
        return stub_backlog_add(s, p + used, len - used);
    return 0;
}

int gdb_stub_retry(struct gdb_stub *s)
{
    if (s->state != GDB_STUB_PENDING)
        return s->state == GDB_STUB_CLOSED ? -1 : 0;
    s->state = GDB_STUB_HALTED;
    /* pending is not touched by dispatch unless it pends again, in which case
     * memcpy copies it onto itself: use memmove semantics by copying first. */
    {
        size_t n = s->pending_len;
        uint8_t *copy = malloc(n + 1);
        if (!copy) {
            s->state = GDB_STUB_PENDING;
            return -1;
        }
        memcpy(copy, s->pending, n + 1);
        if (stub_packet_run(s, copy, n, GDB_RSP_OK) && s->state == GDB_STUB_PENDING) {
            free(copy);
            return 0;
        }
        free(copy);
    }
    /* Replay input that arrived while pending; stops again if a packet pends. */
    while (s->backlog_len && s->state != GDB_STUB_PENDING && s->state != GDB_STUB_CLOSED) {
        size_t used = gdb_rsp_feed(s->rsp, s->backlog, s->backlog_len);
        memmove(s->backlog, s->backlog + used, s->backlog_len - used);
        s->backlog_len -= used;
    }
    return s->state == GDB_STUB_CLOSED ? -1 : 0;
}

int stub_format_stop(struct gdb_stub *s, const struct gdb_stop *st)
{
    int sig = st->reason == GDB_STOP_SIGNAL ? st->signo : 5;

    s->rlen = 0;
    if (st->reason == GDB_STOP_EXITED)
        return stub_printf(s, "W%02x", st->exit_code & 0xff);
    stub_printf(s, "T%02xthread:%llx;", sig & 0xff, (unsigned long long)st->tid);
    switch (st->reason) {
    case GDB_STOP_SWBREAK:
        if (s->peer_swbreak)
            stub_printf(s, "swbreak:;");
        break;
    case GDB_STOP_HWBREAK:
        if (s->peer_hwbreak)
            stub_printf(s, "hwbreak:;");
        break;
    case GDB_STOP_WATCH:
        stub_printf(s, "watch:%llx;", (unsigned long long)st->addr);
        break;
    case GDB_STOP_RWATCH:
        stub_printf(s, "rwatch:%llx;", (unsigned long long)st->addr);
        break;
    case GDB_STOP_AWATCH:
        stub_printf(s, "awatch:%llx;", (unsigned long long)st->addr);
        break;
    default:
        break;
    }
    return STUB_REPLY;
}

int stub_send_stop(struct gdb_stub *s, const struct gdb_stop *st)
{
    stub_format_stop(s, st);
    return gdb_rsp_send(s->rsp, s->reply, s->rlen);
}

int gdb_stub_report_stop(struct gdb_stub *s, const struct gdb_stop *stop)
{
    struct gdb_stop st = *stop;

    if (s->state == GDB_STUB_CLOSED)
        return -1;
    if (st.reason != GDB_STOP_EXITED && st.tid <= 0)
        st.tid = stub_g_thread(s);
    s->last_stop = st;
    if (st.reason != GDB_STOP_EXITED) {
        s->g_tid = st.tid;
        s->c_tid = st.tid;
    }
    if (s->state == GDB_STUB_RUNNING) {
        s->state = GDB_STUB_HALTED;
        if (stub_send_stop(s, &st) < 0)
            s->state = GDB_STUB_CLOSED;
    }
    if (st.reason == GDB_STOP_EXITED)
        s->state = GDB_STUB_CLOSED;
    return s->state == GDB_STUB_CLOSED && st.reason != GDB_STOP_EXITED ? -1 : 0;
}

int gdb_stub_monitor_output(struct gdb_stub *s, const char *text, size_t len)
{
    /* O packets of at most 512 text bytes each; uses its own buffer so the
     * reply being built is untouched. */
    char buf[1 + 2 * 512];

    if (s->state == GDB_STUB_CLOSED)
        return -1;
    while (len) {
        size_t n = len > 512 ? 512 : len;
        buf[0] = 'O';
        gdb_hex_encode(buf + 1, (const uint8_t *)text, n);
        if (gdb_rsp_send(s->rsp, buf, 1 + 2 * n) < 0)
            return -1;
        text += n;
        len -= n;
    }
    return 0;
}

enum gdb_stub_state gdb_stub_state(const struct gdb_stub *s)
{
    return s->state;
}

gdb_tid_t gdb_stub_current_thread(const struct gdb_stub *s)
{
    return s->g_tid;
}
