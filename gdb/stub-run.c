/* stub-run.c -- run control packets: ?, c, s, vCont?, vCont, Z/z breakpoints and watchpoints. */
#include "stub-int.h"

#include <string.h>

#include "hex.h"

STUB_HANDLER(stub_cmd_stop_reason)
{
    (void)a;
    return stub_format_stop(s, &s->last_stop);
}

/* RUNNING is entered before ops->resume so that a target which stops at once
 * may call gdb_stub_report_stop() from inside resume. */
static int stub_resume(struct gdb_stub *s, const struct gdb_resume_action *acts, size_t n)
{
    if (!s->ops->resume)
        return stub_error(s, STUB_E_TARGET);
    s->state = GDB_STUB_RUNNING;
    if (s->ops->resume(s->t, acts, n) < 0) {
        if (s->state == GDB_STUB_RUNNING)
            s->state = GDB_STUB_HALTED;
        return stub_error(s, STUB_E_TARGET);
    }
    return STUB_NO_REPLY;
}

/* 'c ADDR' / 's ADDR': resume at ADDR (written to the pc of the Hc thread). */
static int stub_set_pc(struct gdb_stub *s, const struct stub_args *a, gdb_tid_t tid)
{
    uint8_t v[8];
    int pc = s->arch->pc_regnum;

    if (a->nnum == 0)
        return STUB_REPLY;
    if (pc < 0 || (size_t)pc >= s->arch->nregs || s->arch->regs[pc].size != 8 ||
        !s->ops->write_reg)
        return stub_error(s, STUB_E_TARGET);
    for (int i = 0; i < 8; i++) /* little-endian targets only */
        v[i] = (uint8_t)(a->num[0] >> (8 * i));
    if (s->ops->write_reg(s->t, tid, pc, v, 8) < 0)
        return stub_error(s, STUB_E_TARGET);
    return STUB_REPLY;
}

static gdb_tid_t stub_c_thread(struct gdb_stub *s)
{
    return s->c_tid > 0 ? s->c_tid : stub_g_thread(s);
}

STUB_HANDLER(stub_cmd_c)
{
    struct gdb_resume_action act = { GDB_TID_ALL, GDB_RESUME_CONTINUE, -1 };

    if (stub_set_pc(s, a, stub_c_thread(s)) != STUB_REPLY || s->rlen)
        return STUB_REPLY;
    return stub_resume(s, &act, 1);
}

/* 's' steps the Hc thread; the others stay stopped. */
STUB_HANDLER(stub_cmd_s)
{
    struct gdb_resume_action act = { stub_c_thread(s), GDB_RESUME_STEP, -1 };

    if (stub_set_pc(s, a, act.tid) != STUB_REPLY || s->rlen)
        return STUB_REPLY;
    return stub_resume(s, &act, 1);
}

STUB_HANDLER(stub_cmd_vcont_query)
{
    (void)a;
    return stub_printf(s, "vCont;c;C;s;S;t");
}

/* "vCont;ACTION[:TID];...": ACTION is c, s, t, Cxx, Sxx. Specific actions
 * first, at most one default (no TID), and it must be last. */
STUB_HANDLER(stub_cmd_vcont)
{
    struct gdb_resume_action acts[GDB_STUB_MAX_THREADS + 1];
    const char *p = (const char *)a->data, *end = p + a->dlen;
    size_t n = 0;
    int have_default = 0;

    for (;;) {
        struct gdb_resume_action *act;
        char k;

        if (p == end)
            return stub_error(s, STUB_E_MALFORMED); /* empty action */
        if (n == sizeof acts / sizeof acts[0] || have_default)
            return stub_error(s, have_default ? STUB_E_MALFORMED : STUB_E_THREAD);
        act = &acts[n];
        act->signo = -1;
        k = *p++;
        switch (k) {
        case 'c': case 'C': act->kind = GDB_RESUME_CONTINUE; break;
        case 's': case 'S': act->kind = GDB_RESUME_STEP; break;
        case 't': act->kind = GDB_RESUME_STOP; break;
        default: return stub_error(s, STUB_E_MALFORMED);
        }
        if (k == 'C' || k == 'S') {
            int hi, lo;
            if (end - p < 2 || (hi = gdb_hex_digit((unsigned char)p[0])) < 0 ||
                (lo = gdb_hex_digit((unsigned char)p[1])) < 0)
                return stub_error(s, STUB_E_MALFORMED);
            act->signo = hi << 4 | lo;
            p += 2;
        }
        if (p < end && *p == ':') {
            uint64_t v;
            int r;
            p++;
            if (end - p >= 2 && p[0] == '-' && p[1] == '1') {
                act->tid = GDB_TID_ALL;
                p += 2;
            } else {
                r = gdb_hex_u64(&p, end, &v);
                if (r == -2)
                    return stub_error(s, STUB_E_RANGE);
                if (r < 0)
                    return stub_error(s, STUB_E_MALFORMED);
                /* 0 ("any") cannot be resumed; unknown vCPUs are refused. */
                if (v == 0 || v > (uint64_t)INT64_MAX || !stub_thread_known(s, (gdb_tid_t)v))
                    return stub_error(s, STUB_E_THREAD);
                act->tid = (gdb_tid_t)v;
            }
        } else {
            act->tid = GDB_TID_ALL;
            have_default = 1;
        }
        n++;
        if (p == end)
            break;
        if (*p++ != ';')
            return stub_error(s, STUB_E_MALFORMED);
    }
    return stub_resume(s, acts, n);
}

static int stub_bp(struct gdb_stub *s, const struct stub_args *a, int insert)
{
    int (*op)(void *, enum gdb_bp_type, uint64_t, uint64_t) =
        insert ? s->ops->insert_bp : s->ops->remove_bp;
    int r;

    if (a->num[0] > GDB_WP_ACCESS || !op)
        return STUB_REPLY; /* unknown type or no support: empty reply */
    r = op(s->t, (enum gdb_bp_type)a->num[0], a->num[1], a->num[2]);
    if (r == GDB_UNSUPPORTED)
        return STUB_REPLY;
    if (r == GDB_PENDING)
        return STUB_WAIT;
    return r < 0 ? stub_error(s, STUB_E_TARGET) : stub_ok(s);
}

STUB_HANDLER(stub_cmd_Z)
{
    return stub_bp(s, a, 1);
}

STUB_HANDLER(stub_cmd_z)
{
    return stub_bp(s, a, 0);
}
