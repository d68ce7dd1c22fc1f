/* stub-regmem.c -- register and memory packets: g G p P m M X. */
#include "stub-int.h"

#include <string.h>

#include "hex.h"

STUB_HANDLER(stub_cmd_g)
{
    gdb_tid_t tid = stub_g_thread(s);
    uint8_t buf[64];

    (void)a;
    s->rlen = 0;
    for (size_t i = 0; i < s->arch->nregs; i++) {
        size_t sz = s->arch->regs[i].size;
        int r;

        if (sz > sizeof buf || s->rlen + 2 * sz > sizeof s->reply)
            return stub_error(s, STUB_E_RANGE);
        r = s->ops->read_reg(s->t, tid, (int)i, buf, sz);
        if (r == GDB_PENDING)
            return STUB_WAIT;
        if (r < 0)
            return stub_error(s, STUB_E_TARGET);
        if (r == 0)
            memset(s->reply + s->rlen, 'x', 2 * sz);
        else
            gdb_hex_encode(s->reply + s->rlen, buf, sz);
        s->rlen += 2 * sz;
    }
    return STUB_REPLY;
}

static int stub_write_reg(struct gdb_stub *s, gdb_tid_t tid, size_t regnum, const uint8_t *v)
{
    int r;

    if (!s->ops->write_reg)
        return stub_error(s, STUB_E_TARGET);
    r = s->ops->write_reg(s->t, tid, (int)regnum, v, s->arch->regs[regnum].size);
    if (r == GDB_PENDING)
        return STUB_WAIT;
    return r < 0 ? stub_error(s, STUB_E_TARGET) : STUB_REPLY;
}

STUB_HANDLER(stub_cmd_G)
{
    gdb_tid_t tid = stub_g_thread(s);
    size_t off = 0;

    /* The whole register block, nothing less or more. */
    if (a->dlen != gdb_arch_regs_bytes(s->arch))
        return stub_error(s, STUB_E_MALFORMED);
    for (size_t i = 0; i < s->arch->nregs; i++) {
        int r = stub_write_reg(s, tid, i, a->data + off);
        if (r != STUB_REPLY || s->rlen)
            return r;
        off += s->arch->regs[i].size;
    }
    return stub_ok(s);
}

STUB_HANDLER(stub_cmd_p)
{
    uint8_t buf[64];
    size_t sz;
    int r;

    if (a->num[0] >= s->arch->nregs)
        return stub_error(s, STUB_E_RANGE);
    sz = s->arch->regs[a->num[0]].size;
    if (sz > sizeof buf)
        return stub_error(s, STUB_E_RANGE);
    r = s->ops->read_reg(s->t, stub_g_thread(s), (int)a->num[0], buf, sz);
    if (r == GDB_PENDING)
        return STUB_WAIT;
    if (r < 0)
        return stub_error(s, STUB_E_TARGET);
    if (r == 0)
        memset(s->reply, 'x', 2 * sz);
    else
        gdb_hex_encode(s->reply, buf, sz);
    s->rlen = 2 * sz;
    return STUB_REPLY;
}

STUB_HANDLER(stub_cmd_P)
{
    int r;

    if (a->num[0] >= s->arch->nregs)
        return stub_error(s, STUB_E_RANGE);
    if (a->dlen != s->arch->regs[a->num[0]].size)
        return stub_error(s, STUB_E_MALFORMED);
    r = stub_write_reg(s, stub_g_thread(s), a->num[0], a->data);
    if (r != STUB_REPLY || s->rlen)
        return r;
    return stub_ok(s);
}

/* addr,len must name at most GDB_STUB_MEM_MAX bytes that do not wrap past 2^64. */
static int stub_mem_range(uint64_t addr, uint64_t len)
{
    if (len > GDB_STUB_MEM_MAX)
        return -1;
    if (len && addr + (len - 1) < addr)
        return -1;
    return 0;
}

STUB_HANDLER(stub_cmd_m)
{
    uint64_t addr = a->num[0], len = a->num[1];
    long n;

    if (stub_mem_range(addr, len) < 0)
        return stub_error(s, STUB_E_RANGE);
    if (len == 0)
        return STUB_REPLY; /* zero bytes: an empty reply */
    n = s->ops->read_mem(s->t, stub_g_thread(s), addr, s->scratch, (size_t)len);
    if (n == GDB_PENDING)
        return STUB_WAIT;
    if (n <= 0 || (uint64_t)n > len)
        return stub_error(s, STUB_E_TARGET);
    s->rlen = gdb_hex_encode(s->reply, s->scratch, (size_t)n);
    return STUB_REPLY;
}

static int stub_write_mem(struct gdb_stub *s, uint64_t addr, uint64_t len,
                          const uint8_t *data, size_t dlen)
{
    int r;

    if (stub_mem_range(addr, len) < 0)
        return stub_error(s, STUB_E_RANGE);
    if (dlen != len)
        return stub_error(s, STUB_E_MALFORMED);
    if (len == 0)
        return stub_ok(s); /* gdb probes X support with "X addr,0:" */
    if (!s->ops->write_mem)
        return stub_error(s, STUB_E_TARGET);
    r = s->ops->write_mem(s->t, stub_g_thread(s), addr, data, (size_t)len);
    if (r == GDB_PENDING)
        return STUB_WAIT;
    return r < 0 ? stub_error(s, STUB_E_TARGET) : stub_ok(s);
}

STUB_HANDLER(stub_cmd_M)
{
    return stub_write_mem(s, a->num[0], a->num[1], a->data, a->dlen);
}

STUB_HANDLER(stub_cmd_X)
{
    return stub_write_mem(s, a->num[0], a->num[1], a->data, a->dlen);
}
