/* fake_target.c -- TEST FIXTURE: fake x86-64 target for the gdb stub tests, demo server and fuzzer. */
#include "fake_target.h"

#include <stdio.h>
#include <string.h>

static const uint64_t fake_qwords[4] = {
    0x1122334455667788ull, 0x99aabbccddeeff00ull, 0x0123456789abcdefull, 0xfedcba9876543210ull,
};

static void fake_set64(struct fake_target *f, int t, int reg, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        f->regs[t][reg][i] = (uint8_t)(v >> (8 * i));
}

uint64_t fake_target_reg64(const struct fake_target *f, int tid, int regnum)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | f->regs[tid - 1][regnum][i];
    return v;
}

void fake_target_init(struct fake_target *f)
{
    memset(f, 0, sizeof *f);
    for (int t = 0; t < FAKE_THREADS; t++) {
        /* rax..r15 = 0x<tid>0<n> with n = regnum+1: e.g. thread 1 rax = 0x1001 */
        for (int r = GDB_X86_64_RAX; r <= GDB_X86_64_R15; r++)
            fake_set64(f, t, r, (uint64_t)(t + 1) << 12 | (uint64_t)(r + 1));
        fake_set64(f, t, GDB_X86_64_RSP, 0x8000 - 0x100 * (uint64_t)t);
        fake_set64(f, t, GDB_X86_64_RIP, 0x1000 + 0x100 * (uint64_t)t);
        fake_set64(f, t, GDB_X86_64_EFLAGS, 0x2);  /* 4 bytes used */
        fake_set64(f, t, GDB_X86_64_CS, 0x10);
        for (int r = GDB_X86_64_SS; r <= GDB_X86_64_GS; r++)
            fake_set64(f, t, r, 0x18);
        fake_set64(f, t, GDB_X86_64_FCTRL, 0x37f);
        fake_set64(f, t, GDB_X86_64_MXCSR, 0x1f80);
        fake_set64(f, t, GDB_X86_64_FS_BASE, 0x7000);
        fake_set64(f, t, GDB_X86_64_CR0, 0x80050033);
        fake_set64(f, t, GDB_X86_64_CR3, 0x5000);
        fake_set64(f, t, GDB_X86_64_CR4, 0x20);
        fake_set64(f, t, GDB_X86_64_EFER, 0xd01);
    }
    for (uint32_t i = 0; i < FAKE_MEM_SIZE; i++)
        f->mem[i] = (uint8_t)(FAKE_MEM_BASE + i);
    for (int q = 0; q < 4; q++)
        for (int i = 0; i < 8; i++)
            f->mem[FAKE_QWORDS_ADDR - FAKE_MEM_BASE + 8 * q + i] = (uint8_t)(fake_qwords[q] >> (8 * i));
}

static int fake_tid_ok(gdb_tid_t tid)
{
    return tid >= 1 && tid <= FAKE_THREADS;
}

static int fake_read_reg(void *t, gdb_tid_t tid, int regnum, uint8_t *buf, size_t size)
{
    struct fake_target *f = t;

    if (!fake_tid_ok(tid) || regnum < 0 || regnum >= GDB_X86_64_NREGS || size > 16)
        return GDB_ERR;
    if (regnum == GDB_X86_64_CR8)
        return 0; /* "unavailable": exercises the xx encoding */
    memcpy(buf, f->regs[tid - 1][regnum], size);
    return (int)size;
}

static int fake_write_reg(void *t, gdb_tid_t tid, int regnum, const uint8_t *buf, size_t size)
{
    struct fake_target *f = t;

    if (!fake_tid_ok(tid) || regnum < 0 || regnum >= GDB_X86_64_NREGS || size > 16)
        return GDB_ERR;
    memcpy(f->regs[tid - 1][regnum], buf, size);
    return 0;
}

static long fake_read_mem(void *t, gdb_tid_t tid, uint64_t addr, uint8_t *buf, size_t len)
{
    struct fake_target *f = t;
    size_t n;

    (void)tid;
    if (f->defer_reads > 0) {
        f->defer_reads--;
        return GDB_PENDING;
    }
    if (addr < FAKE_MEM_BASE || addr >= FAKE_MEM_BASE + (uint64_t)FAKE_MEM_SIZE)
        return 0;
    n = (size_t)(FAKE_MEM_BASE + (uint64_t)FAKE_MEM_SIZE - addr);
    if (n > len)
        n = len; /* a read running off the end is short */
    memcpy(buf, f->mem + (addr - FAKE_MEM_BASE), n);
    return (long)n;
}

static int fake_write_mem(void *t, gdb_tid_t tid, uint64_t addr, const uint8_t *buf, size_t len)
{
    struct fake_target *f = t;

    (void)tid;
    if (addr < FAKE_MEM_BASE || len > FAKE_MEM_SIZE ||
        addr - FAKE_MEM_BASE > FAKE_MEM_SIZE - len)
        return GDB_ERR;
    memcpy(f->mem + (addr - FAKE_MEM_BASE), buf, len);
    return 0;
}

static int fake_resume(void *t, const struct gdb_resume_action *acts, size_t n)
{
    struct fake_target *f = t;
    size_t o = 0;

    if (n > sizeof f->acts / sizeof f->acts[0])
        return GDB_ERR;
    memcpy(f->acts, acts, n * sizeof *acts);
    f->nacts = n;
    f->running = 1;
    f->stop_requested = 0;
    f->last_resume[0] = 0;
    for (size_t i = 0; i < n && o < sizeof f->last_resume - 40; i++)
        o += (size_t)snprintf(f->last_resume + o, sizeof f->last_resume - o, "%s%c:%lld",
                              i ? " " : "", "cst"[acts[i].kind], (long long)acts[i].tid);
    return 0;
}

static void fake_stop_request(void *t)
{
    ((struct fake_target *)t)->stop_requested = 1;
}

static int fake_insert_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t kind)
{
    struct fake_target *f = t;
    int hw = 0;

    for (int i = 0; i < f->nbps; i++)
        hw += f->bps[i].type != GDB_BP_SW;
    if (f->nbps == FAKE_MAX_BPS || (type != GDB_BP_SW && hw == FAKE_MAX_DEBUGREGS))
        return GDB_ERR;
    f->bps[f->nbps++] = (struct fake_bp){ type, addr, kind };
    return 0;
}

static int fake_remove_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t kind)
{
    struct fake_target *f = t;

    for (int i = 0; i < f->nbps; i++) {
        if (f->bps[i].type == type && f->bps[i].addr == addr && f->bps[i].kind == kind) {
            f->bps[i] = f->bps[--f->nbps];
            return 0;
        }
    }
    return GDB_ERR;
}

static size_t fake_thread_list(void *t, gdb_tid_t *tids, size_t max)
{
    size_t n = 0;

    (void)t;
    for (gdb_tid_t i = 1; i <= FAKE_THREADS && n < max; i++)
        tids[n++] = i;
    return n;
}

static int fake_thread_extra(void *t, gdb_tid_t tid, char *buf, size_t size)
{
    (void)t;
    snprintf(buf, size, "vCPU %lld", (long long)tid - 1);
    return 0;
}

/* Monitor commands of the fixture: "echo TEXT", "resume" (last resume
 * actions), "bps" (breakpoint count), "fail", "defer N" (the next N reads
 * and monitor commands answer GDB_PENDING). */
static int fake_monitor(void *t, struct gdb_stub *s, const char *cmd)
{
    struct fake_target *f = t;
    char out[300];
    int n;

    if (f->defer_reads > 0) {
        f->defer_reads--;
        return GDB_PENDING;
    }
    if (strncmp(cmd, "echo ", 5) == 0) {
        n = snprintf(out, sizeof out, "%.250s\n", cmd + 5);
    } else if (strcmp(cmd, "resume") == 0) {
        n = snprintf(out, sizeof out, "%s\n", f->last_resume);
    } else if (strcmp(cmd, "bps") == 0) {
        n = snprintf(out, sizeof out, "%d\n", f->nbps);
    } else if (strncmp(cmd, "defer ", 6) == 0 && cmd[6] >= '0' && cmd[6] <= '9' && !cmd[7]) {
        f->defer_reads = cmd[6] - '0';
        n = snprintf(out, sizeof out, "deferring\n");
    } else if (strcmp(cmd, "fail") == 0) {
        return GDB_ERR;
    } else {
        return GDB_UNSUPPORTED;
    }
    return gdb_stub_monitor_output(s, out, (size_t)n) < 0 ? GDB_ERR : 0;
}

static void fake_detach(void *t)
{
    struct fake_target *f = t;

    f->nbps = 0;
    f->detached = 1;
}

static void fake_kill(void *t)
{
    ((struct fake_target *)t)->killed = 1;
}

const struct gdb_target_ops fake_target_ops = {
    .read_reg = fake_read_reg,
    .write_reg = fake_write_reg,
    .read_mem = fake_read_mem,
    .write_mem = fake_write_mem,
    .resume = fake_resume,
    .stop_request = fake_stop_request,
    .insert_bp = fake_insert_bp,
    .remove_bp = fake_remove_bp,
    .thread_list = fake_thread_list,
    .thread_extra = fake_thread_extra,
    .monitor = fake_monitor,
    .detach = fake_detach,
    .kill = fake_kill,
};

int fake_target_run(struct fake_target *f, struct gdb_stub *s)
{
    struct gdb_stop st = { .reason = GDB_STOP_SIGNAL, .signo = 5 };
    gdb_tid_t tid = 1;
    int stepping = -1, cont = 0;

    if (!f->running)
        return 0;
    for (size_t i = 0; i < f->nacts; i++) {
        gdb_tid_t at = f->acts[i].tid == GDB_TID_ALL ? 1 : f->acts[i].tid;
        if (f->acts[i].kind == GDB_RESUME_STEP && stepping < 0)
            stepping = (int)at;
        if (f->acts[i].kind == GDB_RESUME_CONTINUE && !cont) {
            cont = 1;
            tid = at;
        }
    }
    if (stepping > 0 && fake_tid_ok(stepping)) {
        tid = stepping;
        fake_set64(f, (int)tid - 1, GDB_X86_64_RIP, fake_target_reg64(f, (int)tid, GDB_X86_64_RIP) + 1);
    } else if (f->stop_requested) {
        st.signo = 2;
    } else {
        int hit = -1;
        for (int i = 0; i < f->nbps && hit < 0; i++)
            if (f->bps[i].type <= GDB_BP_HW)
                hit = i;
        for (int i = 0; i < f->nbps && hit < 0; i++)
            hit = i;
        if (hit < 0 || !cont)
            return 0; /* runs on until Ctrl-C */
        switch (f->bps[hit].type) {
        case GDB_BP_SW:
        case GDB_BP_HW:
            st.reason = f->bps[hit].type == GDB_BP_SW ? GDB_STOP_SWBREAK : GDB_STOP_HWBREAK;
            fake_set64(f, (int)tid - 1, GDB_X86_64_RIP, f->bps[hit].addr);
            break;
        case GDB_WP_WRITE: st.reason = GDB_STOP_WATCH; st.addr = f->bps[hit].addr; break;
        case GDB_WP_READ: st.reason = GDB_STOP_RWATCH; st.addr = f->bps[hit].addr; break;
        case GDB_WP_ACCESS: st.reason = GDB_STOP_AWATCH; st.addr = f->bps[hit].addr; break;
        }
    }
    st.tid = tid;
    f->running = 0;
    gdb_stub_report_stop(s, &st);
    return 1;
}
