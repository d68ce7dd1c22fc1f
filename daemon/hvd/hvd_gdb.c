/* hvd_gdb.c -- the gdb glue: a GDB RSP server per VM (127.0.0.1), whose
 * sessions drive hv over the command ring (REGS, READ_MEM, STEP, SET_BP, ...)
 * and turn STOP records into stop replies.
 *
 * One session per VM at a time (a second connection is accepted and closed).
 * A session starts by pausing the VM (the gdb/ stub wants a stopped target);
 * it ends on D, k, EOF or the VM's end, and then removes the breakpoints it
 * set and resumes the VM (the guest runs on).
 *
 * Slow ops: every op that needs hv sends one ring request and returns
 * GDB_PENDING; the answer lands in g->pend and gdb_stub_retry() dispatches the
 * same packet again, which then finds it. Registers are cached per vCPU and
 * memory reads per 64 KiB chunk until the target runs again.
 *
 * Memory rule (documented in docs/gdb.md): addresses are GVAs under the
 * selected thread's CR3 (guest-physical after `monitor phys on`); a read that
 * runs into an unmapped page returns the readable prefix (hv's "partial"
 * READ_MEM), a read that starts in one fails (E04).
 *
 * Reads are served from guest RAM, which hv hands hvd (fd_ram, mapped
 * read-only here), translated with the same walker (hv/arch/x86) on the
 * thread's registers of this stop: no round trip to hv. What that cannot
 * serve (no mapping, the first page not translating or not RAM) goes to hv's
 * READ_MEM, which decides. The walk uses the host's MAXPHYADDR and 1 GiB
 * page support as the guest's (hv passes the host's CPUID through) and
 * CR4/EFER for the rest. Writes always go through hv (--allow-write).
 *
 * Never blocks: gdb's socket is non-blocking, output is queued (at most
 * HVD_GDB_OUT_MAX, then the session is dropped) and input is not read while
 * the stub waits for hv or the output backlog is large. Replies from hv are
 * matched by a session serial in the request tag, so a late answer for an
 * ended session is dropped. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cpuid.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdbstub/stub.h>
#include <gdbstub/x86_64.h>
#include <hvkit/hvjson.h>
#include <x86/walk.h>

#include "hvd_gdb.h"
#include "hvd_telemetry.h"
#include "jparse.h"
#include "render.h"
#include "render_regs.h"
#include "stackview.h"

#define HVD_GDB_OUT_MAX   (8u << 20)    /* queued bytes to gdb before the session is dropped */
#define HVD_GDB_OUT_HIGH  (1u << 20)    /* stop reading gdb above this backlog */
#define HVD_GDB_MEM_CHUNK HVK_READ_MEM_MAX
#define HVD_GDB_MAX_BPS   512

/* What a request's answer is for (low byte of the tag; the session serial above). */
enum hvd_gdb_kind {
    K_OP = 1,       /* answers a pending op (g->pend) */
    K_ATTACH,       /* PAUSE at session start */
    K_RESUME,       /* RESUME / STEP of a resume */
    K_INTERRUPT,    /* PAUSE for Ctrl-C */
    K_CLEANUP,      /* fire and forget (session over) */
};

struct hvd_gdb_bp {
    enum gdb_bp_type type;
    uint64_t addr, len;
};

struct hvd_gdb {
    struct hvd *d;
    struct hvd_vm *vm;
    struct hvd_watch w_listen, w_conn;
    int lfd, cfd;
    uint16_t port;
    unsigned index;                /* i of base + i */
    uint32_t conn_events;          /* epoll mask registered for cfd */
    uint64_t serial;               /* of the current session (0: none) */
    struct gdb_stub *stub;         /* NULL until the attach PAUSE answered */
    struct hvd_buf out;
    bool closing;                  /* flush, then close */
    bool phys;                     /* monitor phys on */
    uint64_t resume_gen;           /* which resume a STEP/RESUME answer belongs to */
    /* the op waiting for hv */
    struct {
        int state;                 /* 0 none, 1 sent, 2 answered, 3 consumed */
        uint64_t seq;              /* of the request in flight (tag bits 8..31) */
        uint32_t cmd, vcpu;
        uint64_t addr, len, aux;
        int32_t st;
        json_t *v;
        char desc[HVD_DESC_MAX];
    } pend;
    json_t **regs;                 /* [vcpus]: REGS answers of this stop */
    struct {
        bool valid, phys, short_read;
        uint32_t vcpu;
        uint64_t addr, len;
        uint8_t data[HVD_GDB_MEM_CHUNK];
    } mem;
    const uint8_t *ram;            /* guest RAM (fd_ram) mapped read-only, or NULL */
    size_t ram_size;
    struct hvd_gdb_bp bps[HVD_GDB_MAX_BPS];
    unsigned nbps;
    uint64_t sessions;             /* served so far (serial source) */
    uint64_t next_seq;
};

static int hvd_gdb_base = 0;

void hvd_gdb_config(int base)
{
    hvd_gdb_base = base;
}

/* ---- small helpers ---- */

static void hvd_gdb_invalidate(struct hvd_gdb *g)
{
    if (g->regs)
        for (uint32_t i = 0; i < g->vm->vcpus; i++) {
            json_decref(g->regs[i]);
            g->regs[i] = NULL;
        }
    g->mem.valid = false;
}

static void hvd_gdb_pend_clear(struct hvd_gdb *g)
{
    json_decref(g->pend.v);
    memset(&g->pend, 0, sizeof g->pend);
}

static void hvd_gdb_answer(struct hvd *d, void *ctx, uint64_t tag, int32_t st, json_t *value,
                           const char *cls, const char *desc);

/* Send one ring request for this session; 0 or -1 (logged). Tag: session
 * serial (bits 32..63), op sequence (8..31), kind (0..7). */
static int hvd_gdb_send_seq(struct hvd_gdb *g, uint32_t cmd, uint32_t vcpu, json_t *args, enum hvd_gdb_kind kind,
                            uint64_t seq)
{
    struct hvk_err err = {{0}};
    if (!args)
        return -1;
    if (g->vm->state == HVD_VM_GONE || g->vm->state == HVD_VM_HELLO) {
        json_decref(args);
        return -1;
    }
    uint64_t tag = (kind == K_CLEANUP ? 0 : g->serial << 32) | (seq & 0xffffff) << 8 | (uint64_t)kind;
    int rc = hvd_req_send_cb(g->d, g->vm, cmd, vcpu, args, hvd_gdb_answer, g, tag, &err);
    json_decref(args);
    if (rc != 0) {
        hvd_log("vm '%s': gdb: cannot send command %u to hv: %s", g->vm->name, cmd,
                rc > 0 ? "command ring full" : err.msg);
        return -1;
    }
    return 0;
}

static int hvd_gdb_send(struct hvd_gdb *g, uint32_t cmd, uint32_t vcpu, json_t *args, enum hvd_gdb_kind kind)
{
    return hvd_gdb_send_seq(g, cmd, vcpu, args, kind, 0);
}

/* An op needs hv: the answer for exactly this (cmd, vcpu, addr, len, aux)
 * if it is here (1: *st, *v (borrowed until the next op)), else send the
 * request (0: say GDB_PENDING) or fail (-1). */
static int hvd_gdb_op(struct hvd_gdb *g, uint32_t cmd, uint32_t vcpu, uint64_t addr, uint64_t len,
                      uint64_t aux, json_t *args)
{
    bool same = g->pend.cmd == cmd && g->pend.vcpu == vcpu && g->pend.addr == addr && g->pend.len == len &&
                g->pend.aux == aux;
    if (same && g->pend.state == 2) {
        json_decref(args);
        g->pend.state = 3;   /* consumed: cleared at the next op */
        return 1;
    }
    if (same && g->pend.state == 1) {   /* in flight already (a prefetch) */
        json_decref(args);
        return 0;
    }
    hvd_gdb_pend_clear(g);
    uint64_t seq = ++g->next_seq & 0xffffff;
    if (hvd_gdb_send_seq(g, cmd, cmd == RING_CMD_PAUSE ? UINT32_MAX : vcpu, args, K_OP, seq) < 0)
        return -1;
    g->pend.state = 1;
    g->pend.seq = seq;
    g->pend.cmd = cmd;
    g->pend.vcpu = vcpu;
    g->pend.addr = addr;
    g->pend.len = len;
    g->pend.aux = aux;
    return 0;
}

static bool hvd_gdb_hex(const json_t *j, uint64_t *v)
{
    return hvd_parse_hex(json_string_value(j), v);
}

static uint32_t hvd_gdb_vcpu(struct hvd_gdb *g, gdb_tid_t tid)
{
    if (tid <= 0 || (uint64_t)tid > g->vm->vcpus)
        return 0;
    return (uint32_t)(tid - 1);
}

/* ---- output to gdb ---- */

static void hvd_gdb_close_conn(struct hvd_gdb *g, const char *why);

static void hvd_gdb_set_events(struct hvd_gdb *g)
{
    if (g->cfd < 0 || !g->d)
        return;
    size_t backlog = g->out.len - g->out.off;
    uint32_t ev = 0;
    if (g->stub && !g->closing && gdb_stub_state(g->stub) != GDB_STUB_PENDING && backlog < HVD_GDB_OUT_HIGH)
        ev |= EPOLLIN;
    if (backlog)
        ev |= EPOLLOUT;
    if (ev != g->conn_events) {
        hvd_watch_mod(g->d, g->cfd, ev, &g->w_conn);
        g->conn_events = ev;
    }
}

static int hvd_gdb_write_cb(void *ctx, const void *buf, size_t len)
{
    struct hvd_gdb *g = ctx;
    if (g->cfd < 0 || g->out.len - g->out.off + len > HVD_GDB_OUT_MAX)
        return -1;
    return hvd_buf_append(&g->out, buf, len);
}

/* Write what is queued; then close if the stub is done or we were closing.
 * Returns -1 when the connection was closed. */
static int hvd_gdb_flush(struct hvd_gdb *g)
{
    if (g->cfd < 0)
        return -1;
    while (g->out.len > g->out.off) {
        ssize_t n = send(g->cfd, g->out.p + g->out.off, g->out.len - g->out.off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            hvd_buf_consume(&g->out, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        hvd_gdb_close_conn(g, n < 0 ? strerror(errno) : "connection closed");
        return -1;
    }
    if (g->stub && gdb_stub_state(g->stub) == GDB_STUB_CLOSED)
        g->closing = true;
    if (g->closing && g->out.len == g->out.off) {
        hvd_gdb_close_conn(g, "session ended");
        return -1;
    }
    if (g->out.len - g->out.off > HVD_GDB_OUT_MAX) {
        hvd_gdb_close_conn(g, "gdb does not read its replies");
        return -1;
    }
    hvd_gdb_set_events(g);
    return 0;
}

/* ---- the target ops ---- */

/* The vCPU's registers of this stop: 0 cached, GDB_PENDING, GDB_ERR. */
static int hvd_gdb_regs(struct hvd_gdb *g, uint32_t vcpu)
{
    if (g->regs[vcpu])
        return 0;
    int r = hvd_gdb_op(g, RING_CMD_REGS, vcpu, 0, 0, 0, json_pack("{s:i}", "vcpu", (int)vcpu));
    if (r <= 0)
        return r < 0 ? GDB_ERR : GDB_PENDING;
    if (g->pend.st != RING_ST_OK || !json_is_object(g->pend.v))
        return GDB_ERR;
    g->regs[vcpu] = json_incref(g->pend.v);
    return 0;
}

static int hvd_gdb_read_reg(void *t, gdb_tid_t tid, int regnum, uint8_t *buf, size_t size)
{
    struct hvd_gdb *g = t;
    uint32_t vcpu = hvd_gdb_vcpu(g, tid);
    int rr = hvd_gdb_regs(g, vcpu);
    if (rr < 0)
        return rr;
    const json_t *j = g->regs[vcpu];
    static const char *const gpr[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip"};
    static const char *const seg[] = {"cs", "ss", "ds", "es", "fs", "gs"};
    const json_t *v = NULL;
    if (regnum >= GDB_X86_64_RAX && regnum <= GDB_X86_64_RIP)
        v = json_object_get(j, gpr[regnum]);
    else if (regnum == GDB_X86_64_EFLAGS)
        v = json_object_get(j, "rflags");
    else if (regnum >= GDB_X86_64_CS && regnum <= GDB_X86_64_GS) {
        const json_t *sj = json_object_get(json_object_get(j, "segments"), seg[regnum - GDB_X86_64_CS]);
        const json_t *sel = json_object_get(sj, "selector");
        if (!json_is_integer(sel) || json_integer_value(sel) < 0 || json_integer_value(sel) > 0xffff)
            return 0;
        uint32_t s = (uint32_t)json_integer_value(sel);
        memset(buf, 0, size);
        memcpy(buf, &s, size < 4 ? size : 4);
        return (int)size;
    } else if (regnum == GDB_X86_64_FS_BASE || regnum == GDB_X86_64_GS_BASE)
        v = json_object_get(json_object_get(json_object_get(j, "segments"),
                                            regnum == GDB_X86_64_FS_BASE ? "fs" : "gs"), "base");
    else if (regnum == GDB_X86_64_CR0)
        v = json_object_get(j, "cr0");
    else if (regnum == GDB_X86_64_CR2)
        v = json_object_get(j, "cr2");
    else if (regnum == GDB_X86_64_CR3)
        v = json_object_get(j, "cr3");
    else if (regnum == GDB_X86_64_CR4)
        v = json_object_get(j, "cr4");
    else if (regnum == GDB_X86_64_CR8)
        v = json_object_get(j, "cr8");
    else if (regnum == GDB_X86_64_EFER)
        v = json_object_get(j, "efer");
    uint64_t x;
    if (!v || !hvd_gdb_hex(v, &x))
        return 0;   /* x87/SSE, k_gs_base: hv does not fetch them -> <unavailable> */
    memset(buf, 0, size);
    memcpy(buf, &x, size < 8 ? size : 8);   /* little-endian host = target */
    return (int)size;
}

static int hvd_gdb_write_reg(void *t, gdb_tid_t tid, int regnum, const uint8_t *buf, size_t size)
{
    struct hvd_gdb *g = t;
    static const char *const names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",
                                        "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"};
    uint32_t vcpu = hvd_gdb_vcpu(g, tid);
    if (!g->vm->allow_write) {
        hvd_log("vm '%s': gdb: register write refused: hv runs without --allow-write", g->vm->name);
        return GDB_ERR;
    }
    if (regnum < 0 || regnum > GDB_X86_64_EFLAGS)
        return GDB_ERR;   /* hv writes general registers, rip and rflags only */
    uint64_t x = 0;
    memcpy(&x, buf, size < 8 ? size : 8);
    int r = hvd_gdb_op(g, RING_CMD_SET_REGS, vcpu, (uint64_t)regnum, x, 0,
                       json_pack("{s:i,s:{s:o}}", "vcpu", (int)vcpu, "regs", names[regnum], hvjson_hex(x)));
    if (r <= 0)
        return r < 0 ? GDB_ERR : GDB_PENDING;
    hvd_gdb_invalidate(g);
    return g->pend.st == RING_ST_OK ? 0 : GDB_ERR;
}

static int hvd_gdb_unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + (size_t)k];
            int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (x < 0)
                return -1;
            v = v * 16 + x;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* Copy guest-physical [gpa, gpa+len) from the RAM mapping; bytes copied
 * (stops where RAM ends). */
static size_t hvd_gdb_ram_copy(const struct hvd_gdb *g, uint64_t gpa, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        uint64_t a = gpa + done;
        const struct hvd_ram_range *r = NULL;
        for (unsigned i = 0; i < g->vm->nram && !r; i++)
            if (a >= g->vm->ram[i].gpa && a - g->vm->ram[i].gpa < g->vm->ram[i].size)
                r = &g->vm->ram[i];
        if (!r)
            break;
        uint64_t in = r->size - (a - r->gpa), k = len - done < in ? len - done : in;
        memcpy(buf + done, g->ram + r->off + (a - r->gpa), (size_t)k);
        done += (size_t)k;
    }
    return done;
}

static int hvd_gdb_walk_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return hvd_gdb_ram_copy(ctx, gpa, buf, len) == len ? 0 : -1;
}

static uint64_t hvd_gdb_reg_hex(const json_t *regs, const char *name)
{
    uint64_t v = 0;
    hvd_gdb_hex(json_object_get(regs, name), &v);
    return v;
}

/* Bytes of [addr, addr+len) readable without hv: 0 = ask hv. */
static size_t hvd_gdb_local_read(struct hvd_gdb *g, uint32_t vcpu, uint64_t addr, uint8_t *buf, size_t len)
{
    if (!g->ram)
        return 0;
    if (g->phys)
        return hvd_gdb_ram_copy(g, addr, buf, len);
    const json_t *j = g->regs[vcpu];
    if (!j)
        return 0;
    struct x86_paging_regs pr = {
        .cr0 = hvd_gdb_reg_hex(j, "cr0"), .cr3 = hvd_gdb_reg_hex(j, "cr3"), .cr4 = hvd_gdb_reg_hex(j, "cr4"),
        .efer = hvd_gdb_reg_hex(j, "efer"), .rflags = hvd_gdb_reg_hex(j, "rflags"),
        .pkru = (uint32_t)hvd_gdb_reg_hex(j, "pkru"),
    };
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0, maxphy = 36;
    bool gb = false;
    if (__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx))
        maxphy = eax & 0xff;
    if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx))
        gb = edx & (1u << 26);
    if (maxphy < 32 || maxphy > 52)
        return 0;
    struct x86_cpu_facts facts = {
        .maxphyaddr = maxphy, .nx = pr.efer & (1u << 11), .pdpe1gb = gb, .la57 = pr.cr4 & (1u << 12),
        .smep = pr.cr4 & (1u << 20), .smap = pr.cr4 & (1u << 21), .pku = pr.cr4 & (1u << 22), .pse = true,
        .pse36 = true,
    };
    struct x86_mem mem = {hvd_gdb_walk_read, g};
    struct x86_access acc = {.type = X86_ACCESS_READ, .priv = X86_PRIV_IMPLICIT};
    size_t done = 0;
    while (done < len) {
        struct x86_walk w;
        struct hvk_err err = {{0}};
        if (x86_walk(&pr, &facts, &mem, addr + done, acc, &w, &err) < 0 || !w.mapped || !w.page_size)
            break;
        uint64_t in = w.page_size - (w.gpa & (w.page_size - 1)), k = len - done < in ? len - done : in;
        size_t c = hvd_gdb_ram_copy(g, w.gpa, buf + done, (size_t)k);
        done += c;
        if (c < k)
            break;
    }
    return done;
}

static long hvd_gdb_read_mem(void *t, gdb_tid_t tid, uint64_t addr, uint8_t *buf, size_t len)
{
    struct hvd_gdb *g = t;
    uint32_t vcpu = g->phys ? 0 : hvd_gdb_vcpu(g, tid);
    if (g->ram && !g->phys) {
        int rr = hvd_gdb_regs(g, vcpu);   /* the walk needs this stop's CR3 */
        if (rr == GDB_PENDING)
            return rr;
    }
    size_t local = hvd_gdb_local_read(g, vcpu, addr, buf, len);
    if (local)
        return (long)local;
    if (g->mem.valid && g->mem.vcpu == vcpu && g->mem.phys == g->phys && addr >= g->mem.addr &&
        addr - g->mem.addr < g->mem.len) {
        uint64_t off = addr - g->mem.addr, have = g->mem.len - off;
        if (have >= len || g->mem.short_read) {
            size_t n = have < len ? (size_t)have : len;
            memcpy(buf, g->mem.data + off, n);
            return (long)n;
        }
    }
    /* Read ahead a whole chunk for bulk reads (dump), a little for small ones. */
    uint64_t size = len >= 1024 ? HVD_GDB_MEM_CHUNK : len < 512 ? 512 : len;
    if (addr + size - 1 < addr)
        size = 0 - addr;
    if (size < len)
        size = len;
    int r = hvd_gdb_op(g, RING_CMD_READ_MEM, vcpu, addr, size, g->phys,
                       json_pack("{s:i,s:o,s:I,s:b,s:b}", "vcpu", (int)vcpu, "address", hvjson_hex(addr), "size",
                                 (json_int_t)size, "physical", g->phys, "partial", true));
    if (r <= 0)
        return r < 0 ? GDB_ERR : GDB_PENDING;
    if (g->pend.st != RING_ST_OK)
        return GDB_ERR;
    const char *hex = json_string_value(json_object_get(g->pend.v, "data"));
    size_t hl = hex ? strlen(hex) : 0;
    uint64_t got = hl / 2;
    if (!hex || hl % 2 || got == 0 || got > size || hvd_gdb_unhex(hex, got, g->mem.data) < 0) {
        hvd_log("vm '%s': gdb: hv's READ_MEM answer is malformed", g->vm->name);
        g->mem.valid = false;
        return GDB_ERR;
    }
    g->mem.valid = true;
    g->mem.vcpu = vcpu;
    g->mem.phys = g->phys;
    g->mem.addr = addr;
    g->mem.len = got;
    g->mem.short_read = got < size;
    size_t n = got < len ? (size_t)got : len;
    memcpy(buf, g->mem.data, n);
    return (long)n;
}

static int hvd_gdb_write_mem(void *t, gdb_tid_t tid, uint64_t addr, const uint8_t *buf, size_t len)
{
    struct hvd_gdb *g = t;
    uint32_t vcpu = g->phys ? 0 : hvd_gdb_vcpu(g, tid);
    if (!g->vm->allow_write) {
        hvd_log("vm '%s': gdb: memory write refused: hv runs without --allow-write", g->vm->name);
        return GDB_ERR;
    }
    if (len == 0)
        return 0;
    if (len > HVK_READ_MEM_MAX)
        return GDB_ERR;
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return GDB_ERR;
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[buf[i] >> 4];
        hex[2 * i + 1] = digits[buf[i] & 15];
    }
    hex[2 * len] = 0;
    /* aux: a cheap fingerprint of the data so a different M to the same range is a new request */
    uint64_t fp = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        fp = (fp ^ buf[i]) * 1099511628211ull;
    int r = hvd_gdb_op(g, RING_CMD_WRITE_MEM, vcpu, addr, len, fp ^ g->phys,
                       json_pack("{s:i,s:o,s:s,s:b}", "vcpu", (int)vcpu, "address", hvjson_hex(addr), "data", hex,
                                 "physical", g->phys));
    free(hex);
    if (r <= 0)
        return r < 0 ? GDB_ERR : GDB_PENDING;
    hvd_gdb_invalidate(g);
    return g->pend.st == RING_ST_OK ? 0 : GDB_ERR;
}

static int hvd_gdb_resume(void *t, const struct gdb_resume_action *acts, size_t n)
{
    struct hvd_gdb *g = t;
    gdb_tid_t cur = gdb_stub_current_thread(g->stub);
    gdb_tid_t step = 0;
    bool cont = false;
    for (size_t i = 0; i < n; i++) {
        if (acts[i].kind == GDB_RESUME_STEP && !step)
            step = acts[i].tid == GDB_TID_ALL ? (cur > 0 ? cur : 1) : acts[i].tid;
        else if (acts[i].kind == GDB_RESUME_CONTINUE)
            cont = true;
    }
    hvd_gdb_invalidate(g);
    hvd_gdb_pend_clear(g);
    g->resume_gen++;
    /* All-stop: a step runs only the stepping vCPU (hv's STEP), whatever
     * the other threads were told; otherwise everything continues. */
    if (step) {
        uint32_t vcpu = hvd_gdb_vcpu(g, step);
        return hvd_gdb_send(g, RING_CMD_STEP, vcpu, json_pack("{s:i}", "vcpu", (int)vcpu), K_RESUME) < 0
                   ? GDB_ERR : 0;
    }
    if (!cont)
        return GDB_ERR;
    return hvd_gdb_send(g, RING_CMD_RESUME, UINT32_MAX, json_object(), K_RESUME) < 0 ? GDB_ERR : 0;
}

static void hvd_gdb_stop_request(void *t)
{
    struct hvd_gdb *g = t;
    hvd_gdb_send(g, RING_CMD_PAUSE, UINT32_MAX, json_object(), K_INTERRUPT);
}

static const char *hvd_gdb_bp_name(enum gdb_bp_type type)
{
    switch (type) {
    case GDB_BP_SW: return "sw";
    case GDB_BP_HW: return "hw";
    case GDB_WP_WRITE: return "watch";
    case GDB_WP_ACCESS: return "awatch";
    default: return NULL;
    }
}

static int hvd_gdb_bp(struct hvd_gdb *g, enum gdb_bp_type type, uint64_t addr, uint64_t kind, bool set)
{
    const char *name = hvd_gdb_bp_name(type);
    if (!name)
        return GDB_UNSUPPORTED;   /* Z3: x86 has no read-only watchpoint */
    uint64_t len = type == GDB_BP_SW || type == GDB_BP_HW ? 1 : kind;
    if (len < 1 || len > 8)
        return GDB_ERR;
    if (set && g->nbps >= HVD_GDB_MAX_BPS)
        return GDB_ERR;
    uint32_t vcpu = hvd_gdb_vcpu(g, gdb_stub_current_thread(g->stub));
    int r = hvd_gdb_op(g, set ? RING_CMD_SET_BP : RING_CMD_CLR_BP, vcpu, addr, len, (uint64_t)type,
                       json_pack("{s:i,s:s,s:o,s:I}", "vcpu", (int)vcpu, "type", name, "address", hvjson_hex(addr),
                                 "len", (json_int_t)len));
    if (r <= 0)
        return r < 0 ? GDB_ERR : GDB_PENDING;
    if (g->pend.st != RING_ST_OK) {
        hvd_log("vm '%s': gdb: %s %s breakpoint at 0x%llx: %s", g->vm->name, set ? "set" : "clear", name,
                (unsigned long long)addr, g->pend.desc);
        return GDB_ERR;
    }
    g->mem.valid = false;   /* a planted hlt changed memory */
    if (set) {
        g->bps[g->nbps++] = (struct hvd_gdb_bp){type, addr, len};
    } else {
        for (unsigned i = 0; i < g->nbps; i++)
            if (g->bps[i].type == type && g->bps[i].addr == addr && g->bps[i].len == len) {
                g->bps[i] = g->bps[--g->nbps];
                break;
            }
    }
    return 0;
}

static int hvd_gdb_insert_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t kind)
{
    return hvd_gdb_bp(t, type, addr, kind, true);
}

static int hvd_gdb_remove_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t kind)
{
    return hvd_gdb_bp(t, type, addr, kind, false);
}

static size_t hvd_gdb_thread_list(void *t, gdb_tid_t *tids, size_t max)
{
    struct hvd_gdb *g = t;
    size_t n = 0;
    for (uint32_t i = 0; i < g->vm->vcpus && n < max; i++)
        tids[n++] = (gdb_tid_t)i + 1;
    return n;
}

static int hvd_gdb_thread_extra(void *t, gdb_tid_t tid, char *buf, size_t size)
{
    struct hvd_gdb *g = t;
    snprintf(buf, size, "vCPU %u", hvd_gdb_vcpu(g, tid));
    return 0;
}

/* Render through hvctl's code into a string, then out as O packets. */
static int hvd_gdb_print(struct gdb_stub *s, char *text, size_t len)
{
    int rc = gdb_stub_monitor_output(s, text, len) < 0 ? GDB_ERR : 0;
    free(text);
    return rc;
}

__attribute__((format(printf, 2, 3))) static int hvd_gdb_say(struct gdb_stub *s, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return gdb_stub_monitor_output(s, buf, strlen(buf)) < 0 ? GDB_ERR : 0;
}

static int hvd_gdb_monitor(void *t, struct gdb_stub *s, const char *cmd)
{
    struct hvd_gdb *g = t;
    while (*cmd == ' ')
        cmd++;
    uint32_t vcpu = hvd_gdb_vcpu(g, gdb_stub_current_thread(s));
    char *text = NULL;
    size_t tlen = 0;
    FILE *f;
    if (!strcmp(cmd, "help") || !*cmd) {
        return hvd_gdb_say(s, "%s",
                           "hvkit monitor commands (the selected thread's vCPU):\n"
                           "  walk GVA      the page walk of GVA, as `hvctl walk`\n"
                           "  regs          all registers, as `hvctl regs`\n"
                           "  stack         the guest stack, as `hvctl stack`\n"
                           "  faults        fault counts hvd keeps for this VM\n"
                           "  phys on|off   memory accesses by guest-physical address (on) or GVA (off)\n");
    }
    if (!strcmp(cmd, "phys on") || !strcmp(cmd, "phys off") || !strcmp(cmd, "phys")) {
        if (strcmp(cmd, "phys"))
            g->phys = !strcmp(cmd, "phys on");
        g->mem.valid = false;
        return hvd_gdb_say(s, "memory accesses use %s\n",
                           g->phys ? "guest-physical addresses" : "guest-virtual addresses (the thread's CR3)");
    }
    if (!strncmp(cmd, "walk ", 5)) {
        const char *a = cmd + 5;
        while (*a == ' ')
            a++;
        char *end;
        errno = 0;
        uint64_t gva = strtoull(a, &end, 0);
        if (errno || end == a || *end)
            return hvd_gdb_say(s, "walk: '%s' is not an address (hex 0x... or decimal)\n", a);
        /* the CR3 first, as hvctl walk: the header shows what the walk used */
        int rr = hvd_gdb_regs(g, vcpu);
        if (rr == GDB_PENDING)
            return rr;
        int r = hvd_gdb_op(g, RING_CMD_WALK, vcpu, gva, 0, 1,
                           json_pack("{s:i,s:o,s:s,s:b}", "vcpu", (int)vcpu, "gva", hvjson_hex(gva), "access", "r",
                                     "user", false));
        if (r <= 0)
            return r < 0 ? GDB_ERR : GDB_PENDING;
        if (g->pend.st != RING_ST_OK)
            return hvd_gdb_say(s, "walk: %s\n", g->pend.desc);
        struct x86_walk w;
        struct hvk_err err = {{0}};
        uint64_t cr3, *pcr3 = NULL;
        if (hvctl_jparse_walk(g->pend.v, &w, &err) < 0)
            return hvd_gdb_say(s, "walk: hv's answer is malformed: %s\n", err.msg);
        if (rr == 0 && hvctl_jparse_hex(json_object_get(g->regs[vcpu], "cr3"), &cr3) == 0)
            pcr3 = &cr3;
        if (!(f = open_memstream(&text, &tlen)))
            return GDB_ERR;
        hvctl_render_walk(f, &w, pcr3, false);
        fclose(f);
        return hvd_gdb_print(s, text, tlen);
    }
    if (!strcmp(cmd, "regs")) {
        int r = hvd_gdb_op(g, RING_CMD_REGS, vcpu, 0, 0, 2, json_pack("{s:i}", "vcpu", (int)vcpu));
        if (r <= 0)
            return r < 0 ? GDB_ERR : GDB_PENDING;
        if (g->pend.st != RING_ST_OK)
            return hvd_gdb_say(s, "regs: %s\n", g->pend.desc);
        if (!(f = open_memstream(&text, &tlen)))
            return GDB_ERR;
        hvctl_render_regs(f, g->pend.v, false);
        fclose(f);
        return hvd_gdb_print(s, text, tlen);
    }
    if (!strcmp(cmd, "stack")) {
        int r = hvd_gdb_op(g, RING_CMD_STACK, vcpu, 0, 0, 3,
                           json_pack("{s:i,s:i,s:i}", "vcpu", (int)vcpu, "max_frames", 64, "raw_words", 0));
        if (r <= 0)
            return r < 0 ? GDB_ERR : GDB_PENDING;
        if (g->pend.st != RING_ST_OK)
            return hvd_gdb_say(s, "stack: %s\n", g->pend.desc);
        struct hvctl_stackview *v = calloc(1, sizeof *v);
        struct hvk_err err = {{0}};
        if (!v)
            return GDB_ERR;
        if (hvctl_stackview_parse(g->pend.v, v, &err) < 0) {
            free(v);
            return hvd_gdb_say(s, "stack: hv's answer is malformed: %s\n", err.msg);
        }
        if (!(f = open_memstream(&text, &tlen))) {
            free(v);
            return GDB_ERR;
        }
        hvctl_render_stack(f, v, false);
        fclose(f);
        free(v);
        return hvd_gdb_print(s, text, tlen);
    }
    if (!strcmp(cmd, "faults")) {
        /* What `hvctl faults` prints: the recent faults hvd keeps (no round
         * trip), then how many records hv dropped. */
        json_t *recent = hvd_telem_recent(g->vm, 20, "", -1), *ev;
        size_t i;
        if (!recent || !(f = open_memstream(&text, &tlen))) {
            json_decref(recent);
            return GDB_ERR;
        }
        if (json_array_size(recent) == 0)
            fprintf(f, "no faults traced (turn tracing on with: hvctl trace on)\n");
        json_array_foreach(recent, i, ev)
            hvctl_render_fault_event(f, ev, NULL);
        fprintf(f, "(%llu event records read from hv, %llu lost)\n", (unsigned long long)g->vm->events,
                (unsigned long long)g->vm->lost);
        fclose(f);
        json_decref(recent);
        return hvd_gdb_print(s, text, tlen);
    }
    return hvd_gdb_say(s, "unknown monitor command '%s' (try: monitor help)\n", cmd);
}

/* Session over (D, k, EOF): remove what we set, let the guest run. */
static void hvd_gdb_release_target(struct hvd_gdb *g)
{
    for (unsigned i = 0; i < g->nbps; i++)
        hvd_gdb_send(g, RING_CMD_CLR_BP, 0,
                     json_pack("{s:i,s:s,s:o,s:I}", "vcpu", 0, "type", hvd_gdb_bp_name(g->bps[i].type), "address",
                               hvjson_hex(g->bps[i].addr), "len", (json_int_t)g->bps[i].len),
                     K_CLEANUP);
    g->nbps = 0;
    hvd_gdb_send(g, RING_CMD_RESUME, UINT32_MAX, json_object(), K_CLEANUP);
}

static void hvd_gdb_detach(void *t)
{
    struct hvd_gdb *g = t;
    hvd_log("vm '%s': gdb detached; the guest runs on", g->vm->name);
    hvd_gdb_release_target(g);
    g->serial = 0;   /* nothing of the session is wanted any more */
}

static void hvd_gdb_kill(void *t)
{
    struct hvd_gdb *g = t;
    hvd_log("vm '%s': gdb sent kill: the session ends, the VM lives on", g->vm->name);
    hvd_gdb_release_target(g);
    g->serial = 0;
}

static const struct gdb_target_ops hvd_gdb_ops = {
    .read_reg = hvd_gdb_read_reg,
    .write_reg = hvd_gdb_write_reg,
    .read_mem = hvd_gdb_read_mem,
    .write_mem = hvd_gdb_write_mem,
    .resume = hvd_gdb_resume,
    .stop_request = hvd_gdb_stop_request,
    .insert_bp = hvd_gdb_insert_bp,
    .remove_bp = hvd_gdb_remove_bp,
    .thread_list = hvd_gdb_thread_list,
    .thread_extra = hvd_gdb_thread_extra,
    .monitor = hvd_gdb_monitor,
    .detach = hvd_gdb_detach,
    .kill = hvd_gdb_kill,
};

/* ---- answers from hv ---- */

/* hv's REGS answer, rebuilt from the registers a STOP record carries: the
 * keys hvd_gdb_read_reg reads, so gdb's 'g' at the stop needs no round
 * trip to hv. */
static json_t *hvd_gdb_stop_regs_json(const struct hvk_stop_regs *r)
{
    static const char *const gpr[16] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    json_t *j = json_object();
    for (unsigned i = 0; j && i < 16; i++)
        json_object_set_new(j, gpr[i], hvjson_hex(r->gpr[i]));
    if (!j)
        return NULL;
    json_object_set_new(j, "rip", hvjson_hex(r->rip));
    json_object_set_new(j, "rflags", hvjson_hex(r->rflags));
    json_object_set_new(j, "cr0", hvjson_hex(r->cr0));
    json_object_set_new(j, "cr2", hvjson_hex(r->cr2));
    json_object_set_new(j, "cr3", hvjson_hex(r->cr3));
    json_object_set_new(j, "cr4", hvjson_hex(r->cr4));
    json_object_set_new(j, "cr8", hvjson_hex(r->cr8));
    json_object_set_new(j, "efer", hvjson_hex(r->efer));
    json_object_set_new(j, "segments",
                        json_pack("{s:{s:i}, s:{s:i}, s:{s:i}, s:{s:i}, s:{s:i, s:o}, s:{s:i, s:o}}",
                                  "cs", "selector", r->cs, "ss", "selector", r->ss, "ds", "selector", r->ds,
                                  "es", "selector", r->es, "fs", "selector", r->fs, "base", hvjson_hex(r->fs_base),
                                  "gs", "selector", r->gs, "base", hvjson_hex(r->gs_base)));
    return j;
}

static void hvd_gdb_report_regs(struct hvd_gdb *g, const struct gdb_stop *st, json_t *regs)
{
    if (!g->stub) {
        json_decref(regs);
        return;
    }
    hvd_gdb_invalidate(g);
    if (regs && st->tid > 0 && g->regs)
        g->regs[hvd_gdb_vcpu(g, st->tid)] = regs;   /* takes the reference */
    else
        json_decref(regs);
    gdb_stub_report_stop(g->stub, st);
    /* gdb's next packet is 'g' for the stopped thread: fetch it now unless
     * the STOP record brought it. */
    if (gdb_stub_state(g->stub) == GDB_STUB_HALTED && st->tid > 0 && !g->regs[hvd_gdb_vcpu(g, st->tid)]) {
        hvd_gdb_pend_clear(g);
        hvd_gdb_regs(g, hvd_gdb_vcpu(g, st->tid));
    }
    hvd_gdb_flush(g);
}

static void hvd_gdb_report(struct hvd_gdb *g, const struct gdb_stop *st)
{
    hvd_gdb_report_regs(g, st, NULL);
}

static void hvd_gdb_answer(struct hvd *d, void *ctx, uint64_t tag, int32_t st, json_t *value,
                           const char *cls, const char *desc)
{
    (void)d;
    struct hvd_gdb *g = ctx;
    enum hvd_gdb_kind kind = (enum hvd_gdb_kind)(tag & 0xff);
    uint64_t serial = tag >> 32, seq = tag >> 8 & 0xffffff;
    if (kind == K_CLEANUP || serial == 0 || serial != g->serial || g->cfd < 0) {
        if (cls && kind == K_CLEANUP)
            hvd_log("vm '%s': gdb cleanup: %s", g->vm->name, desc);
        json_decref(value);
        return;
    }
    bool ok = !cls && st == RING_ST_OK;
    switch (kind) {
    case K_ATTACH:
        json_decref(value);
        if (!ok) {
            hvd_log("vm '%s': gdb: cannot stop the VM for the session: %s", g->vm->name, desc);
            hvd_gdb_close_conn(g, "the VM could not be stopped");
            return;
        }
        g->stub = gdb_stub_new(&gdb_arch_x86_64, &hvd_gdb_ops, g, hvd_gdb_write_cb, g);
        if (!g->stub) {
            hvd_gdb_close_conn(g, "out of memory");
            return;
        }
        hvd_log("vm '%s': gdb session %llu attached (VM stopped)", g->vm->name, (unsigned long long)serial);
        hvd_gdb_set_events(g);
        return;
    case K_RESUME:
        json_decref(value);
        if (!ok && g->stub && gdb_stub_state(g->stub) == GDB_STUB_RUNNING) {
            /* The step or resume never started: say stopped where we are. */
            hvd_log("vm '%s': gdb: resume failed: %s", g->vm->name, desc);
            gdb_tid_t cur = gdb_stub_current_thread(g->stub);
            hvd_gdb_report(g, &(struct gdb_stop){GDB_STOP_SIGNAL, .tid = cur > 0 ? cur : 1, .signo = 5});
        }
        return;
    case K_INTERRUPT:
        json_decref(value);
        if (g->stub && gdb_stub_state(g->stub) == GDB_STUB_RUNNING) {
            gdb_tid_t cur = gdb_stub_current_thread(g->stub);
            if (!ok)
                hvd_log("vm '%s': gdb: interrupt: %s", g->vm->name, desc);
            hvd_gdb_report(g, &(struct gdb_stop){GDB_STOP_SIGNAL, .tid = cur > 0 ? cur : 1, .signo = 2});
        }
        return;
    case K_OP:
        if (g->pend.state != 1 || g->pend.seq != seq) {
            json_decref(value);   /* superseded */
            return;
        }
        g->pend.state = 2;
        g->pend.st = ok ? RING_ST_OK : (st == RING_ST_OK ? RING_ST_INTERNAL : st);
        g->pend.v = value;
        snprintf(g->pend.desc, sizeof g->pend.desc, "%s", desc ? desc : "");
        if (g->stub) {
            gdb_stub_retry(g->stub);
            hvd_gdb_flush(g);
        }
        return;
    default:
        json_decref(value);
        return;
    }
}

void hvd_gdb_on_stop(struct hvd *d, struct hvd_vm *vm, uint32_t ring, const void *p, size_t len)
{
    (void)d;
    struct hvd_gdb *g = vm->gdb;
    struct hvk_stop_rec r;
    if (len != sizeof r) {
        hvd_log("vm '%s': STOP record of %zu bytes (want %zu) ignored", vm->name, len, sizeof r);
        return;
    }
    memcpy(&r, p, sizeof r);
    if (r.vcpu != ring)
        hvd_log("vm '%s': STOP record for vCPU %u on vCPU %u's ring: taking the ring's", vm->name, r.vcpu, ring);
    if (!g || !g->stub || g->cfd < 0) {
        hvd_log("vm '%s': vCPU %u stopped (reason %u, pc 0x%llx) with no gdb session", vm->name, ring, r.reason,
                (unsigned long long)r.pc);
        return;
    }
    struct gdb_stop st = {.tid = (gdb_tid_t)ring + 1, .signo = 5};
    switch (r.reason) {
    case HVK_STOP_SW_BREAK: st.reason = GDB_STOP_SWBREAK; break;
    case HVK_STOP_HW_BREAK: st.reason = GDB_STOP_HWBREAK; break;
    case HVK_STOP_WATCH_WRITE: st.reason = GDB_STOP_WATCH; st.addr = r.data_addr; break;
    case HVK_STOP_WATCH_ACCESS: st.reason = GDB_STOP_AWATCH; st.addr = r.data_addr; break;
    default: st.reason = GDB_STOP_SIGNAL; break;   /* STEP, or a reason this hvd does not know */
    }
    hvd_gdb_report_regs(g, &st, (r.flags & HVK_STOP_HAS_REGS) ? hvd_gdb_stop_regs_json(&r.regs) : NULL);
}

/* ---- connections ---- */

static void hvd_gdb_close_conn(struct hvd_gdb *g, const char *why)
{
    if (g->cfd < 0)
        return;
    if (g->serial && g->vm->state != HVD_VM_GONE) {
        /* gdb went away without D or k (serial 0 after those): same as detach. */
        hvd_gdb_release_target(g);
    }
    hvd_log("vm '%s': gdb session %llu closed: %s", g->vm->name, (unsigned long long)g->sessions, why);
    if (g->d)
        hvd_watch_del(g->d, g->cfd);
    close(g->cfd);
    g->cfd = -1;
    g->conn_events = 0;
    g->serial = 0;
    g->closing = false;
    gdb_stub_free(g->stub);
    g->stub = NULL;
    hvd_buf_free(&g->out);
    hvd_gdb_pend_clear(g);
    hvd_gdb_invalidate(g);
    g->nbps = 0;
    g->phys = false;
}

static void hvd_gdb_accept(struct hvd_gdb *g)
{
    for (;;) {
        int fd = accept4(g->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                hvd_sock_shed(g->lfd);
            return;
        }
        if (g->cfd >= 0 || g->vm->state == HVD_VM_GONE) {
            hvd_log("vm '%s': gdb: refusing a second connection (one session at a time)", g->vm->name);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        g->cfd = fd;
        g->serial = ++g->sessions;
        g->conn_events = 0;
        if (hvd_watch_add(g->d, fd, 0, &g->w_conn) < 0) {
            close(fd);
            g->cfd = -1;
            g->serial = 0;
            continue;
        }
        /* The stub wants a stopped target: input waits until PAUSE answers. */
        if (hvd_gdb_send(g, RING_CMD_PAUSE, UINT32_MAX, json_object(), K_ATTACH) < 0)
            hvd_gdb_close_conn(g, "the VM cannot be reached");
    }
}

static void hvd_gdb_on_conn(struct hvd_gdb *g, uint32_t events)
{
    if (g->cfd < 0)
        return;
    if (events & EPOLLOUT) {
        if (hvd_gdb_flush(g) < 0)
            return;
    }
    if ((events & EPOLLIN) && g->stub) {
        char buf[16384];
        for (int k = 0; k < 8 && g->cfd >= 0 && (g->conn_events & EPOLLIN); k++) {
            ssize_t n = recv(g->cfd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                hvd_gdb_close_conn(g, n == 0 ? "gdb closed the connection" : strerror(errno));
                return;
            }
            if (n < 0)
                break;
            if (gdb_stub_feed(g->stub, buf, (size_t)n) < 0)
                g->closing = true;
            if (hvd_gdb_flush(g) < 0)
                return;
            if ((size_t)n < sizeof buf)
                break;
        }
    } else if (events & (EPOLLHUP | EPOLLERR)) {
        hvd_gdb_close_conn(g, "connection error");
    }
}

void hvd_gdb_on_event(struct hvd *d, struct hvd_watch *w, uint32_t events)
{
    (void)d;
    struct hvd_gdb *g = w->obj;
    if (w == &g->w_listen) {
        if (g->lfd >= 0)
            hvd_gdb_accept(g);
    } else {
        hvd_gdb_on_conn(g, events);
    }
}

/* ---- server per VM ---- */

static bool hvd_gdb_port_taken(struct hvd *d, unsigned index)
{
    for (struct hvd_vm *vm = d->vms; vm; vm = vm->next)
        if (vm->gdb && vm->gdb->lfd >= 0 && vm->gdb->index == index)
            return true;
    return false;
}

void hvd_gdb_vm_up(struct hvd *d, struct hvd_vm *vm)
{
    if (hvd_gdb_base < 0 || vm->gdb)
        return;
    struct hvd_gdb *g = calloc(1, sizeof *g);
    if (!g) {
        hvd_log("vm '%s': no gdb server: out of memory", vm->name);
        return;
    }
    g->regs = calloc(vm->vcpus ? vm->vcpus : 1, sizeof *g->regs);
    if (!g->regs) {
        free(g);
        return;
    }
    g->d = d;
    g->vm = vm;
    g->lfd = g->cfd = -1;
    g->w_listen = (struct hvd_watch){HVD_W_GDB, g};
    g->w_conn = (struct hvd_watch){HVD_W_GDB, g};
    vm->gdb = g;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        hvd_log("vm '%s': no gdb server: socket: %s", vm->name, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned index = 0;
    if (hvd_gdb_base > 0) {
        while (hvd_gdb_port_taken(d, index))
            index++;
        if ((unsigned)hvd_gdb_base + index > 65535) {
            hvd_log("vm '%s': no gdb server: port %d + %u is past 65535", vm->name, hvd_gdb_base, index);
            close(fd);
            return;
        }
        sa.sin_port = htons((uint16_t)(hvd_gdb_base + (int)index));
    }
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        hvd_log("vm '%s': no gdb server: 127.0.0.1:%u: %s", vm->name, hvd_gdb_base > 0 ? hvd_gdb_base + index : 0,
                strerror(errno));
        close(fd);
        return;
    }
    if (hvd_watch_add(d, fd, EPOLLIN, &g->w_listen) < 0) {
        close(fd);
        return;
    }
    g->lfd = fd;
    g->index = index;
    struct stat st;
    /* Map guest RAM only if hv cannot shrink it under us (a SIGBUS would
     * kill hvd): the memfd must carry F_SEAL_SHRINK. */
    int seals = vm->fd_ram >= 0 ? fcntl(vm->fd_ram, F_GET_SEALS) : -1;
    bool fits = seals >= 0 && (seals & F_SEAL_SHRINK) && fstat(vm->fd_ram, &st) == 0 && st.st_size > 0 &&
                vm->nram > 0;
    for (unsigned i = 0; fits && i < vm->nram; i++)
        fits = vm->ram[i].off <= (uint64_t)st.st_size && vm->ram[i].size <= (uint64_t)st.st_size - vm->ram[i].off;
    if (fits) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, vm->fd_ram, 0);
        if (p != MAP_FAILED) {
            g->ram = p;
            g->ram_size = (size_t)st.st_size;
        }
    }
    if (!g->ram)
        hvd_log("vm '%s': gdb reads guest memory through hv only (guest RAM not mappable)", vm->name);
    g->port = ntohs(sa.sin_port);
    hvd_log("vm '%s': gdb server on 127.0.0.1:%u", vm->name, g->port);
}

void hvd_gdb_vm_down(struct hvd *d, struct hvd_vm *vm)
{
    struct hvd_gdb *g = vm->gdb;
    if (!g)
        return;
    if (!d)
        g->d = NULL;
    if (g->cfd >= 0) {
        if (g->stub) {
            /* W while running; either way the session ends. */
            gdb_stub_report_stop(g->stub, &(struct gdb_stop){GDB_STOP_EXITED, .tid = 1, .exit_code = 0});
            if (g->out.len > g->out.off)   /* best effort: one non-blocking write */
                (void)!send(g->cfd, g->out.p + g->out.off, g->out.len - g->out.off, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        g->serial = 0;   /* no cleanup requests to a VM that is gone */
        hvd_gdb_close_conn(g, "the VM is gone");
    }
    if (g->lfd >= 0) {
        if (g->d)
            hvd_watch_del(g->d, g->lfd);
        close(g->lfd);
        g->lfd = -1;
    }
}

void hvd_gdb_free(struct hvd_vm *vm)
{
    struct hvd_gdb *g = vm->gdb;
    if (!g)
        return;
    hvd_gdb_vm_down(NULL, vm);
    if (g->ram)
        munmap((void *)g->ram, g->ram_size);
    free(g->regs);
    free(g);
    vm->gdb = NULL;
}

json_t *hvd_gdb_json(const struct hvd_vm *vm)
{
    if (!vm->gdb || vm->gdb->lfd < 0)
        return NULL;
    return json_pack("{s:s,s:i}", "host", "127.0.0.1", "port", (int)vm->gdb->port);
}
