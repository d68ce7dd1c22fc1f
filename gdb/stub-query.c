/* stub-query.c -- session and query packets: qSupported, QStartNoAckMode, qXfer features, threads, qRcmd, D, k. */
#include "stub-int.h"

#include <stdio.h>
#include <string.h>

#include "hex.h"

/* Does the ';'-separated list data[0..len) contain exactly feat? */
static int stub_has_feature(const uint8_t *data, size_t len, const char *feat)
{
    size_t fl = strlen(feat), i = 0;

    while (i < len) {
        size_t j = i;
        while (j < len && data[j] != ';')
            j++;
        if (j - i == fl && memcmp(data + i, feat, fl) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

STUB_HANDLER(stub_cmd_supported)
{
    /* "qSupported" or "qSupported:feat;feat..." */
    if (a->dlen) {
        if (a->data[0] != ':')
            return stub_error(s, STUB_E_MALFORMED);
        s->peer_swbreak = stub_has_feature(a->data + 1, a->dlen - 1, "swbreak+");
        s->peer_hwbreak = stub_has_feature(a->data + 1, a->dlen - 1, "hwbreak+");
    }
    return stub_printf(s, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
                          "vContSupported+;swbreak+;hwbreak+",
                       GDB_RSP_PACKET_SIZE);
}

STUB_HANDLER(stub_cmd_noack)
{
    (void)a;
    s->noack_after_reply = 1; /* this OK still travels in ack mode */
    return stub_ok(s);
}

/* "qXfer:features:read:ANNEX:OFFSET,LENGTH" -> "m<data>" (more) / "l<data>" (last). */
STUB_HANDLER(stub_cmd_xfer_features)
{
    const char *p = (const char *)a->data, *end = p + a->dlen, *colon;
    char annex[64];
    uint64_t off, len;
    const char *doc;
    size_t doclen, n;
    int r;

    colon = memchr(p, ':', a->dlen);
    if (!colon)
        return stub_error(s, STUB_E_MALFORMED);
    if ((size_t)(colon - p) >= sizeof annex)
        return stub_error(s, STUB_E_RANGE);
    memcpy(annex, p, (size_t)(colon - p));
    annex[colon - p] = 0;
    p = colon + 1;
    if ((r = gdb_hex_u64(&p, end, &off)) < 0)
        return stub_error(s, r == -2 ? STUB_E_RANGE : STUB_E_MALFORMED);
    if (p == end || *p++ != ',')
        return stub_error(s, STUB_E_MALFORMED);
    if ((r = gdb_hex_u64(&p, end, &len)) < 0)
        return stub_error(s, r == -2 ? STUB_E_RANGE : STUB_E_MALFORMED);
    if (p != end)
        return stub_error(s, STUB_E_MALFORMED);
    doc = s->arch->xml ? s->arch->xml(annex, &doclen) : NULL;
    if (!doc)
        return stub_error(s, STUB_E_RANGE);
    if (off > doclen || len == 0)
        return stub_error(s, STUB_E_RANGE);
    n = doclen - (size_t)off;
    if (len < n)
        n = (size_t)len;
    if (n > GDB_STUB_MEM_MAX)
        n = GDB_STUB_MEM_MAX;
    s->reply[0] = (off + n < doclen) ? 'm' : 'l';
    memcpy(s->reply + 1, doc + off, n); /* binary: gdb_rsp_send escapes it */
    s->rlen = 1 + n;
    return STUB_REPLY;
}

STUB_HANDLER(stub_cmd_Hg)
{
    if (a->tid == GDB_TID_ALL)
        return stub_error(s, STUB_E_THREAD);
    if (a->tid == GDB_TID_ANY)
        return stub_ok(s); /* keep the current thread */
    if (!stub_thread_known(s, a->tid))
        return stub_error(s, STUB_E_THREAD);
    s->g_tid = a->tid;
    return stub_ok(s);
}

STUB_HANDLER(stub_cmd_Hc)
{
    if (a->tid > 0 && !stub_thread_known(s, a->tid))
        return stub_error(s, STUB_E_THREAD);
    s->c_tid = a->tid;
    return stub_ok(s);
}

STUB_HANDLER(stub_cmd_T)
{
    if (a->tid <= 0 || !stub_thread_known(s, a->tid))
        return stub_error(s, STUB_E_THREAD);
    return stub_ok(s);
}

STUB_HANDLER(stub_cmd_thread_first)
{
    gdb_tid_t tids[GDB_STUB_MAX_THREADS];
    size_t n = stub_threads(s, tids);

    (void)a;
    if (n == 0)
        return stub_printf(s, "l");
    /* All threads in one reply: 256 * 17 characters fit easily. */
    stub_printf(s, "m");
    for (size_t i = 0; i < n; i++)
        stub_printf(s, "%s%llx", i ? "," : "", (unsigned long long)tids[i]);
    return STUB_REPLY;
}

STUB_HANDLER(stub_cmd_thread_next)
{
    (void)a;
    return stub_printf(s, "l");
}

STUB_HANDLER(stub_cmd_qC)
{
    (void)a;
    return stub_printf(s, "QC%llx", (unsigned long long)stub_g_thread(s));
}

STUB_HANDLER(stub_cmd_thread_extra)
{
    char text[128];

    if (a->tid <= 0 || !stub_thread_known(s, a->tid))
        return stub_error(s, STUB_E_THREAD);
    if (!s->ops->thread_extra) {
        snprintf(text, sizeof text, "thread %llx", (unsigned long long)a->tid);
    } else {
        memset(text, 0, sizeof text);
        if (s->ops->thread_extra(s->t, a->tid, text, sizeof text) < 0)
            return stub_error(s, STUB_E_TARGET);
        text[sizeof text - 1] = 0;
    }
    s->rlen = gdb_hex_encode(s->reply, (const uint8_t *)text, strlen(text));
    return STUB_REPLY;
}

STUB_HANDLER(stub_cmd_attached)
{
    (void)a;
    return stub_printf(s, "1"); /* attached to a running system: detach, never kill */
}

STUB_HANDLER(stub_cmd_rcmd)
{
    char cmd[GDB_STUB_MONITOR_MAX + 1];
    int r;

    if (a->dlen > GDB_STUB_MONITOR_MAX)
        return stub_error(s, STUB_E_RANGE);
    if (memchr(a->data, 0, a->dlen))
        return stub_error(s, STUB_E_MALFORMED);
    memcpy(cmd, a->data, a->dlen);
    cmd[a->dlen] = 0;
    if (!s->ops->monitor)
        return STUB_REPLY;
    r = s->ops->monitor(s->t, s, cmd);
    if (r == GDB_PENDING)
        return STUB_WAIT;
    if (r == GDB_UNSUPPORTED)
        return STUB_REPLY;
    s->rlen = 0;
    return r < 0 ? stub_error(s, STUB_E_TARGET) : stub_ok(s);
}

STUB_HANDLER(stub_cmd_D)
{
    (void)a;
    if (s->ops->detach)
        s->ops->detach(s->t);
    stub_ok(s);
    gdb_rsp_send(s->rsp, s->reply, s->rlen);
    s->state = GDB_STUB_CLOSED;
    return STUB_NO_REPLY;
}

STUB_HANDLER(stub_cmd_k)
{
    (void)a;
    if (s->ops->kill)
        s->ops->kill(s->t);
    s->state = GDB_STUB_CLOSED;
    return STUB_NO_REPLY;
}

STUB_HANDLER(stub_cmd_vkill)
{
    (void)a;
    if (s->ops->kill)
        s->ops->kill(s->t);
    stub_ok(s);
    gdb_rsp_send(s->rsp, s->reply, s->rlen);
    s->state = GDB_STUB_CLOSED;
    return STUB_NO_REPLY;
}
