/* faults.c -- `faults[=N]`: cause every fault class a known number of times, count what really happened, report it. */
#include "cpu.h"
#include "hvk.h"

#define HVK_NO_FAULT (~0ull)
#define HVK_USER_FAULT (1ull << 63)
#define HVK_CR0_WP (1ull << 16)

/* Lab pages of a vCPU's slot (layout.h: HVK_LAB_VA). */
#define HVK_LAB_DEMAND_PAGES 4          /* demand-mapped, then unmapped, every repetition */
#define HVK_LAB_RSVD_PAGE    4          /* PTE with a reserved address bit, only during its probe */
#define HVK_LAB_SPURIOUS_VA  (HVK_LAB_VA + (u64)HVK_MAX_CPUS * HVK_LAB_PAGES_PER_CPU * HVK_PAGE_SIZE)
#define HVK_SPURIOUS_PER_REP 4
#define HVK_MMIO_PER_REP     4
#define HVK_MMIO_FAULTS_OFF  0x200      /* 16 bytes per vCPU; the workload uses 0x0.., selftest 0x100.. */
#define HVK_RSVD_PTE_BIT     51         /* reserved in a PTE whenever MAXPHYADDR < 52 */
#define HVK_RSVD_PDE_BIT     13         /* reserved in a 2 MiB PDE whatever MAXPHYADDR is */
#define HVK_PDE_2M_RSVD      0x1fe000ull  /* bits 20:13 of a 2 MiB PDE */
#define HVK_PDPTE_1G_RSVD    0x3fffe000ull  /* bits 29:13 of a 1 GiB PDPTE */
#define HVK_SPURIOUS_STREAK  16         /* the same spurious fault this often in a row is a bug, not a race */
/* idt-swap: how long vCPU 0 waits after repointing the gates, in TSC cycles.
 * Not calibrated: 6e9 is 1.5 s at a 4 GHz TSC and longer at any slower one
 * (2.2 s at this machine's 2.7 GHz), enough for a hypervisor that polls the
 * IDT every 500 ms to notice twice. */
#define HVK_IDT_SWAP_WAIT_TSC 6000000000ull

/* The frames lab pages map: one per vCPU, the last for the shared spurious page. */
static u8 hvk_lab_frames[HVK_MAX_CPUS + 1][HVK_PAGE_SIZE] __attribute__((aligned(HVK_PAGE_SIZE)));
static u32 hvk_maxphyaddr;
static u64 hvk_rsvd_mask;               /* address bits [MAXPHYADDR, 51] */
static bool hvk_wp;                     /* CR0.WP: supervisor writes obey R/W */
static bool hvk_gb_pages;               /* CPUID.80000001H:EDX[26]: PS in a PDPTE is legal */
/* Where the reserved-bit probe puts its bit: a PTE's bit 51 when MAXPHYADDR
 * leaves it reserved, else (MAXPHYADDR 52) bit 13 of a 2 MiB PDE. */
static int hvk_rsvd_level;
static int hvk_rsvd_bit;

/* Spurious handshake between the writer (vCPU 0) and the helper (vCPU 1):
 * the writer sets hvk_spur_seq to 2k+1 after caching the read-only
 * translation of attempt k; the helper upgrades the PTE to RW, without any
 * flush, and sets 2k+2; only then does the writer write. So the PTE never
 * changes between the writer's fault and its handler (nor hv's look at it). */
static volatile u64 hvk_spur_seq;
static volatile u32 hvk_spur_end;
static volatile u32 hvk_rsvd_pde_lock;
/* idt-swap barrier: the other online vCPUs arrive, vCPU 0 swaps and waits, then releases them. */
static volatile u32 hvk_swap_arrived;
static volatile u32 hvk_swap_released;

struct hvk_fwalk {
    int level;          /* where the walk stopped: 1..4 (or the leaf level) */
    bool present, rsvd, rw, us, nx, bad_table;
};

/* Lower-case vector names: the same as hv's hvk_vector_name (hvkit/fault.h). */
static const char *const hvk_vec_short[32] = {
    "de", "db", "nmi", "bp", "of", "br", "ud", "nm", "df", "cso", "ts", "np", "ss", "gp", "pf", "v15",
    "mf", "ac", "mc", "xm", "ve", "cp", "v22", "v23", "v24", "v25", "v26", "v27", "hv", "vc", "sx", "v31",
};

static const char *const hvk_fcl_names[HVK_FCL__COUNT] = {
    [HVK_FCL_NOT_PRESENT] = "guest.not_present",
    [HVK_FCL_PROT_WRITE] = "guest.protection.write",
    [HVK_FCL_PROT_USER] = "guest.protection.user",
    [HVK_FCL_PROT_NX] = "guest.protection.nx",
    [HVK_FCL_RESERVED_BIT] = "guest.reserved_bit",
    [HVK_FCL_SPURIOUS] = "guest.spurious",
    [HVK_FCL_PF_OTHER] = "guest.other",
    [HVK_FCL_MMIO] = "stage2.mmio",
};

void hvk_faults_init(void)
{
    u32 a, b, c, d, max;
    hvk_cpuid(0x80000000, 0, &max, &b, &c, &d);
    hvk_maxphyaddr = 36;
    if (max >= 0x80000008) {
        hvk_cpuid(0x80000008, 0, &a, &b, &c, &d);
        hvk_maxphyaddr = a & 0xff;
    }
    if (hvk_maxphyaddr > 52)
        hvk_maxphyaddr = 52;
    hvk_rsvd_mask = hvk_maxphyaddr < 52 ? ((1ull << 52) - 1) & ~((1ull << hvk_maxphyaddr) - 1) : 0;
    hvk_wp = (hvk_read_cr0() & HVK_CR0_WP) != 0;
    if (max >= 0x80000001) {
        hvk_cpuid(0x80000001, 0, &a, &b, &c, &d);
        hvk_gb_pages = (d >> 26) & 1;
    }
    hvk_rsvd_level = hvk_maxphyaddr < 52 ? 1 : 2;
    hvk_rsvd_bit = hvk_maxphyaddr < 52 ? HVK_RSVD_PTE_BIT : HVK_RSVD_PDE_BIT;
}

void hvk_faults_report_lab(void)
{
    struct hvk_line l;
    hvk_line_begin(&l, "lab");
    hvk_line_hex(&l, "va", HVK_LAB_VA);
    hvk_line_hex(&l, "end", HVK_LAB_VA + HVK_LAB_PAGES * HVK_PAGE_SIZE);
    hvk_line_dec(&l, "pages", HVK_LAB_PAGES);
    hvk_line_dec(&l, "per_cpu", HVK_LAB_PAGES_PER_CPU);
    hvk_line_dec(&l, "level", 1);
    hvk_line_str(&l, "entry", "pte");
    hvk_line_dec(&l, "maxphyaddr", hvk_maxphyaddr);
    hvk_line_hex(&l, "rsvd_va", hvk_rsvd_level == 1 ? HVK_LAB_VA + HVK_LAB_RSVD_PAGE * HVK_PAGE_SIZE : HVK_LAB_PDE_VA);
    hvk_line_dec(&l, "rsvd_level", (u64)hvk_rsvd_level);
    hvk_line_dec(&l, "rsvd_bit", (u64)hvk_rsvd_bit);
    hvk_line_end(&l);
}

/* The walk of va under the current CR3, as the CPU does it: at each level
 * first P, then reserved bits; rights accumulate (R/W and U/S must be set at
 * every level, XD at any level forbids fetches). Tables are read through the
 * kernel image mapping: all of them live in paging.c's pool. */
static void hvk_fault_walk(u64 va, struct hvk_fwalk *w)
{
    u64 table_pa = hvk_read_cr3() & HVK_PTE_ADDR;
    w->present = w->rsvd = w->bad_table = false;
    w->rw = w->us = true;
    w->nx = false;
    for (int level = 4; level >= 1; level--) {
        u64 e;
        w->level = level;
        if (table_pa < HVK_KERNEL_PHYS || table_pa >= HVK_KERNEL_PHYS_LIMIT) {
            w->bad_table = true;
            return;
        }
        e = ((const volatile u64 *)(table_pa + HVK_KERNEL_VMA))[(va >> (12 + 9 * (level - 1))) & 511];
        if (!(e & HVK_PTE_P))
            return;
        if ((e & hvk_rsvd_mask) || (!hvk_have_nx && (e & HVK_PTE_NX)) || (level == 4 && (e & HVK_PTE_PS)) ||
            (level == 3 && (e & HVK_PTE_PS) && (!hvk_gb_pages || (e & HVK_PDPTE_1G_RSVD))) ||
            (level == 2 && (e & HVK_PTE_PS) && (e & HVK_PDE_2M_RSVD))) {
            w->present = true;
            w->rsvd = true;
            return;
        }
        w->rw &= (e & HVK_PTE_RW) != 0;
        w->us &= (e & HVK_PTE_US) != 0;
        w->nx |= hvk_have_nx && (e & HVK_PTE_NX);
        if (level == 1 || (e & HVK_PTE_PS)) {
            w->present = true;
            return;
        }
        table_pa = e & HVK_PTE_ADDR;
    }
}

void hvk_faults_count_vector(struct hvk_cpu *c, u64 vec)
{
    if (vec < 32)
        c->faults.vec[vec]++;
}

/* The class is the walk's outcome for the access the error code names: a
 * walk that now allows it is spurious, whatever the error code says. */
enum hvk_fcl hvk_faults_classify_pf(struct hvk_cpu *c, u64 cr2, u64 err)
{
    struct hvk_fwalk w;
    bool user = err & HVK_PF_U, write = err & HVK_PF_W, fetch = err & HVK_PF_I;
    enum hvk_fcl cls;
    hvk_fault_walk(cr2, &w);
    if (w.bad_table)
        cls = HVK_FCL_PF_OTHER;
    else if (!w.present)
        cls = HVK_FCL_NOT_PRESENT;
    else if (w.rsvd)
        cls = HVK_FCL_RESERVED_BIT;
    else if (user && !w.us)
        cls = HVK_FCL_PROT_USER;
    else if (write && !w.rw && (user || hvk_wp))
        cls = HVK_FCL_PROT_WRITE;
    else if (fetch && w.nx)
        cls = HVK_FCL_PROT_NX;
    else
        cls = HVK_FCL_SPURIOUS;
    c->faults.cls[cls]++;
    if (cls == HVK_FCL_NOT_PRESENT)
        c->faults.not_present_level[w.level]++;
    if (cls == HVK_FCL_SPURIOUS) {
        /* A retry that faults the same way forever would hang the vCPU. */
        if (c->spur_cr2 == cr2 && ++c->spur_repeat >= HVK_SPURIOUS_STREAK)
            return HVK_FCL_PF_OTHER;
        if (c->spur_cr2 != cr2)
            c->spur_repeat = 0;
        c->spur_cr2 = cr2;
    }
    return cls;
}

/* Kernel instructions allowed to fault, and where each resumes (rax = the
 * error code). A fault of another vector at the same RIP is not covered. */
static const struct { const u8 *rip, *cont; u8 vec; } hvk_fixups[] = {
    { hvk_probe_read_at, hvk_probe_done, 14 },
    { hvk_probe_write_rd_at, hvk_probe_done, 14 },
    { hvk_probe_write_at, hvk_probe_done, 14 },
    { hvk_fx_gp_at, hvk_fx_gp_done, 13 },
    { hvk_fx_ud_at, hvk_fx_ud_done, 6 },
};

bool hvk_faults_fixup(struct hvk_trapframe *tf)
{
    for (u32 i = 0; i < sizeof hvk_fixups / sizeof hvk_fixups[0]; i++)
        if (tf->rip == (u64)hvk_fixups[i].rip && tf->vec == hvk_fixups[i].vec) {
            tf->rax = tf->err;
            tf->rip = (u64)hvk_fixups[i].cont;
            return true;
        }
    return false;
}

static u64 hvk_lab_slot(struct hvk_cpu *c)
{
    return HVK_LAB_VA + (u64)c->index * HVK_LAB_PAGES_PER_CPU * HVK_PAGE_SIZE;
}

/* Demand paging of the lab: every demand page of a slot maps its vCPU's
 * frame (RW, NX). Only that vCPU touches its slot, so a PTE goes from 0 to
 * present here and back to 0 in the battery, never concurrently. */
bool hvk_faults_lab_demand(struct hvk_cpu *c, u64 cr2, u64 err)
{
    u64 slot = hvk_lab_slot(c);
    u64 *pte;
    if ((err & (HVK_PF_P | HVK_PF_U | HVK_PF_I)) || cr2 < slot || cr2 >= slot + HVK_LAB_DEMAND_PAGES * HVK_PAGE_SIZE)
        return false;
    pte = hvk_lab_pte(cr2);
    if (*pte & HVK_PTE_P)
        return false;
    *pte = HVK_KVA_TO_PA(hvk_lab_frames[c->index]) | HVK_PTE_P | HVK_PTE_RW | (hvk_have_nx ? HVK_PTE_NX : 0);
    return true;
}

void hvk_mmio_write32(struct hvk_cpu *c, u64 off, u32 v)
{
    c->faults.cls[HVK_FCL_MMIO]++;
    *(volatile u32 *)(HVK_MMIO_VA + off) = v;
}

u32 hvk_mmio_read32(struct hvk_cpu *c, u64 off)
{
    c->faults.cls[HVK_FCL_MMIO]++;
    return *(volatile u32 *)(HVK_MMIO_VA + off);
}

/* ---- the battery ---- */

struct hvk_fstep {
    struct hvk_cpu *c;
    struct hvk_fault_counts before;
    u32 failed;
    u64 rep;
};

static void hvk_fstep_begin(struct hvk_fstep *s)
{
    hvk_memcpy(&s->before, &s->c->faults, sizeof s->before);
}

static void hvk_fstep_fail(struct hvk_fstep *s, const char *name, const char *what, u64 got, u64 want)
{
    struct hvk_line l;
    s->failed++;
    hvk_line_begin(&l, "test");
    hvk_line_str(&l, "name", name);
    hvk_line_dec(&l, "cpu", s->c->index);
    hvk_line_str(&l, "result", "fail");
    hvk_line_str(&l, "what", what);
    hvk_line_hex(&l, "got", got);
    hvk_line_hex(&l, "want", want);
    hvk_line_dec(&l, "rep", s->rep);
    hvk_line_end(&l);
}

/* Every counter must have moved by exactly what the step meant to cause:
 * `cls` by n (and the #PF vector with it for #PF classes), `vec` by nvec,
 * all others by 0. A step that causes something else, or less, fails. */
static void hvk_fstep_end(struct hvk_fstep *s, const char *name, int cls, u64 n, int vec, u64 nvec, u64 result,
                          u64 want_result)
{
    const struct hvk_fault_counts *a = &s->before, *b = &s->c->faults;
    if (result != want_result) {
        hvk_fstep_fail(s, name, "result", result, want_result);
        return;
    }
    for (int i = 0; i < HVK_FCL__COUNT; i++) {
        u64 want = i == cls ? n : 0;
        if (b->cls[i] - a->cls[i] != want) {
            hvk_fstep_fail(s, name, hvk_fcl_names[i], b->cls[i] - a->cls[i], want);
            return;
        }
    }
    for (int v = 0; v < 32; v++) {
        u64 want = v == vec ? nvec : 0;
        if (b->vec[v] - a->vec[v] != want) {
            hvk_fstep_fail(s, name, hvk_vec_short[v], b->vec[v] - a->vec[v], want);
            return;
        }
    }
}

static void hvk_fstep_demand(struct hvk_fstep *s)
{
    struct hvk_cpu *c = s->c;
    u64 slot = hvk_lab_slot(c), got = 0, want = 0, lvl;
    hvk_fstep_begin(s);
    lvl = c->faults.not_present_level[1];
    for (u64 p = 0; p < HVK_LAB_DEMAND_PAGES; p++) {
        volatile u64 *w = (volatile u64 *)(slot + p * HVK_PAGE_SIZE + 8 * p);
        *w = (s->rep << 8) | p;                /* first touch: not present at the PTE, mapped */
    }
    /* All pages map the one frame: each write landed at its own offset. */
    for (u64 p = 0; p < HVK_LAB_DEMAND_PAGES; p++) {
        got += ((volatile u64 *)hvk_lab_frames[c->index])[p];
        want += (s->rep << 8) | p;
    }
    for (u64 p = 0; p < HVK_LAB_DEMAND_PAGES; p++) {
        *hvk_lab_pte(slot + p * HVK_PAGE_SIZE) = 0;
        hvk_invlpg(slot + p * HVK_PAGE_SIZE);
    }
    hvk_fstep_end(s, "faults-demand", HVK_FCL_NOT_PRESENT, HVK_LAB_DEMAND_PAGES, 14, HVK_LAB_DEMAND_PAGES, got, want);
    if (c->faults.not_present_level[1] - lvl != HVK_LAB_DEMAND_PAGES)
        hvk_fstep_fail(s, "faults-demand", "pte-level", c->faults.not_present_level[1] - lvl, HVK_LAB_DEMAND_PAGES);
}

static void hvk_fstep_rights(struct hvk_fstep *s)
{
    struct hvk_cpu *c = s->c;
    u64 r;
    hvk_fstep_begin(s);
    r = hvk_probe_write((u64)hvk_ro_page);
    hvk_fstep_end(s, "faults-ro-write", HVK_FCL_PROT_WRITE, 1, 14, 1, r, HVK_PF_P | HVK_PF_W);

    hvk_fstep_begin(s);
    c->user_probe_armed = true;
    r = hvk_user_run(c, hvk_user_probe_read, (u64)hvk_ro_page, 0);
    c->user_probe_armed = false;
    hvk_fstep_end(s, "faults-user", HVK_FCL_PROT_USER, 1, 14, 1, r, HVK_USER_FAULT | HVK_PF_P | HVK_PF_U);

    if (hvk_have_nx) {
        hvk_fstep_begin(s);
        c->exec_probe_va = (u64)hvk_nx_page;
        r = hvk_probe_exec((u64)hvk_nx_page);
        c->exec_probe_va = 0;
        hvk_fstep_end(s, "faults-nx", HVK_FCL_PROT_NX, 1, 14, 1, r, HVK_PF_P | HVK_PF_I);
    }
}

/* A page-table entry with a reserved bit set, present only during the probe
 * (rsvd_level/rsvd_bit of the `lab` line). Its frame is real RAM (this
 * vCPU's lab frame, or the kernel image's first 2 MiB, read-only), so a
 * hypervisor that ignored the bit would read harmless bytes. */
static void hvk_fstep_reserved(struct hvk_fstep *s)
{
    u64 va, *e, r;
    hvk_fstep_begin(s);
    if (hvk_rsvd_level == 1) {
        va = hvk_lab_slot(s->c) + HVK_LAB_RSVD_PAGE * HVK_PAGE_SIZE;
        e = hvk_lab_pte(va);
        *e = HVK_KVA_TO_PA(hvk_lab_frames[s->c->index]) | HVK_PTE_P | HVK_PTE_RW;
    } else {
        /* One PDE for every vCPU: serialized by the lock below. */
        va = HVK_LAB_PDE_VA + (u64)s->c->index * HVK_PAGE_SIZE;
        e = hvk_lab_pde();
        while (__atomic_exchange_n(&hvk_rsvd_pde_lock, 1, __ATOMIC_ACQUIRE))
            hvk_pause();
        *e = HVK_KERNEL_PHYS | HVK_PTE_P | HVK_PTE_PS;
    }
    *e |= (1ull << hvk_rsvd_bit) | (hvk_have_nx ? HVK_PTE_NX : 0);
    hvk_invlpg(va);
    r = hvk_probe_read(va);
    *e = 0;
    hvk_invlpg(va);
    if (hvk_rsvd_level == 2)
        __atomic_store_n(&hvk_rsvd_pde_lock, 0, __ATOMIC_RELEASE);
    /* The SDM sets P with RSVD; QEMU's TCG pushes RSVD alone: accept both. */
    if (r == HVK_PF_RSVD)
        r |= HVK_PF_P;
    hvk_fstep_end(s, "faults-reserved", HVK_FCL_RESERVED_BIT, 1, 14, 1, r, HVK_PF_P | HVK_PF_RSVD);
}

static void hvk_fstep_exceptions(struct hvk_fstep *s)
{
    u64 r;
    hvk_fstep_begin(s);
    r = hvk_fx_gp(0x8000000000000000ull);     /* non-canonical */
    hvk_fstep_end(s, "faults-gp", -1, 0, 13, 1, r, 0);
    hvk_fstep_begin(s);
    r = hvk_fx_ud();
    hvk_fstep_end(s, "faults-ud", -1, 0, 6, 1, r, 0);
}

static void hvk_fstep_mmio(struct hvk_fstep *s)
{
    u64 off = HVK_MMIO_FAULTS_OFF + (u64)s->c->index * 16;
    hvk_fstep_begin(s);
    hvk_mmio_write32(s->c, off, (u32)s->rep);
    hvk_mmio_write32(s->c, off + 4, ~(u32)s->rep);
    (void)hvk_mmio_read32(s->c, off);
    (void)hvk_mmio_read32(s->c, off + 4);
    hvk_fstep_end(s, "faults-mmio", HVK_FCL_MMIO, HVK_MMIO_PER_REP, -1, 0, 0, 0);
}

/* The writer's side of one spurious attempt (see hvk_spur_seq). Returns the
 * spurious faults it observed: 0 when the stale translation was not used
 * (shadow paging may update every vCPU's view at the PTE write). */
static u64 hvk_spurious_attempt(struct hvk_fstep *s, u64 k)
{
    const u64 va = HVK_LAB_SPURIOUS_VA;
    u64 *pte = hvk_lab_pte(va), r, seen;
    *pte = HVK_KVA_TO_PA(hvk_lab_frames[HVK_MAX_CPUS]) | HVK_PTE_P | (hvk_have_nx ? HVK_PTE_NX : 0);
    hvk_invlpg(va);
    (void)*(volatile u8 *)va;                  /* cache the read-only translation */
    __atomic_store_n(&hvk_spur_seq, 2 * k + 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&hvk_spur_seq, __ATOMIC_ACQUIRE) != 2 * k + 2)
        hvk_pause();
    hvk_fstep_begin(s);
    s->c->spur_cr2 = 0;                        /* one spurious fault per attempt is no streak */
    s->c->spur_repeat = 0;
    r = hvk_probe_write(va);                   /* through the stale entry, if the TLB kept it */
    seen = s->c->faults.cls[HVK_FCL_SPURIOUS] - s->before.cls[HVK_FCL_SPURIOUS];
    hvk_fstep_end(s, "faults-spurious", HVK_FCL_SPURIOUS, seen, 14, seen, r, HVK_NO_FAULT);
    if (seen > 1)
        hvk_fstep_fail(s, "faults-spurious", "repeated", seen, 1);
    *pte = 0;
    hvk_invlpg(va);
    return seen;
}

/* The helper's side: upgrade RO -> RW without a flush, on request, until the writer ends. */
static void hvk_spurious_helper(void)
{
    u64 *pte = hvk_lab_pte(HVK_LAB_SPURIOUS_VA);
    for (;;) {
        u64 seq = __atomic_load_n(&hvk_spur_seq, __ATOMIC_ACQUIRE);
        if (seq & 1) {
            __atomic_or_fetch(pte, HVK_PTE_RW, __ATOMIC_SEQ_CST);
            __atomic_store_n(&hvk_spur_seq, seq + 1, __ATOMIC_RELEASE);
        } else if (__atomic_load_n(&hvk_spur_end, __ATOMIC_ACQUIRE)) {
            return;
        }
        hvk_pause();
    }
}

/* `idt-swap`: the gates of #PF, #GP and #UD move to the alternate stubs
 * (entry.S, same code at other addresses) while every other vCPU waits at a
 * barrier, so no fault is in flight; then vCPU 0 waits HVK_IDT_SWAP_WAIT_TSC
 * before anyone faults again. Nothing here faults: the counts stay exact. */
static void hvk_faults_idt_swap(struct hvk_cpu *c, u64 rep)
{
    static const u32 vecs[] = { 14, 13, 6 };
    struct hvk_line l;
    u32 others = 0;
    u64 t0;
    if (c->index != 0) {
        __atomic_add_fetch(&hvk_swap_arrived, 1, __ATOMIC_ACQ_REL);
        while (!__atomic_load_n(&hvk_swap_released, __ATOMIC_ACQUIRE))
            hvk_pause();
        return;
    }
    for (u32 i = 1; i < HVK_MAX_CPUS; i++)
        others += hvk_cpus[i].online;       /* final at `ready` */
    while (__atomic_load_n(&hvk_swap_arrived, __ATOMIC_ACQUIRE) < others)
        hvk_pause();
    for (u32 i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        u64 new = (u64)hvk_isr_table_alt + 16 * vecs[i];
        u64 old = hvk_trap_set_handler(vecs[i], new);
        hvk_line_begin(&l, "idt-swap");
        hvk_line_dec(&l, "vec", vecs[i]);
        hvk_line_str(&l, "name", hvk_vec_short[vecs[i]]);
        hvk_line_hex(&l, "old", old);
        hvk_line_hex(&l, "new", new);
        hvk_line_dec(&l, "rep", rep);
        hvk_line_dec(&l, "wait_tsc", HVK_IDT_SWAP_WAIT_TSC);
        hvk_line_end(&l);
    }
    t0 = hvk_rdtsc();
    while (hvk_rdtsc() - t0 < HVK_IDT_SWAP_WAIT_TSC)
        hvk_pause();
    __atomic_store_n(&hvk_swap_released, 1, __ATOMIC_RELEASE);
}

u32 hvk_faults_battery(struct hvk_cpu *c)
{
    struct hvk_fstep s = { .c = c };
    struct hvk_line l;
    bool pair = hvk_cpus[1].online;         /* final at `ready` */
    u64 attempts = 0, observed = 0;
    for (s.rep = 0; s.rep < hvk_opts.faults; s.rep++) {
        if (hvk_opts.idt_swap && s.rep == hvk_opts.faults / 2)
            hvk_faults_idt_swap(c, s.rep);
        hvk_fstep_demand(&s);
        hvk_fstep_rights(&s);
        hvk_fstep_reserved(&s);
        hvk_fstep_exceptions(&s);
        hvk_fstep_mmio(&s);
    }
    if (c->index == 0 && pair) {
        for (s.rep = 0; s.rep < hvk_opts.faults; s.rep++)
            for (u32 i = 0; i < HVK_SPURIOUS_PER_REP; i++, attempts++)
                observed += hvk_spurious_attempt(&s, attempts);
        __atomic_store_n(&hvk_spur_end, 1, __ATOMIC_RELEASE);
    } else if (c->index == 1) {
        hvk_spurious_helper();
    }
    if (c->index == 0) {
        hvk_line_begin(&l, "faults-spurious");
        hvk_line_dec(&l, "cpu", 0);
        hvk_line_str(&l, "helper", pair ? "1" : "none");
        hvk_line_dec(&l, "attempts", attempts);
        hvk_line_dec(&l, "observed", observed);
        hvk_line_end(&l);
    }
    hvk_line_begin(&l, "faults-done");
    hvk_line_dec(&l, "cpu", c->index);
    hvk_line_dec(&l, "reps", hvk_opts.faults);
    hvk_line_dec(&l, "demand", HVK_LAB_DEMAND_PAGES);
    hvk_line_dec(&l, "nx", hvk_have_nx);
    hvk_line_dec(&l, "reserved", 1);
    hvk_line_dec(&l, "mmio", HVK_MMIO_PER_REP);
    hvk_line_str(&l, "result", s.failed ? "fail" : "pass");
    hvk_line_dec(&l, "failed", s.failed);
    hvk_line_end(&l);
    return s.failed;
}

/* ---- the report at exit ---- */

static void hvk_faults_line(const char *kind, int cpu, const char *cls, const char *vec, u64 n, const u64 *lvl,
                            int exact)
{
    struct hvk_line l;
    hvk_line_begin(&l, kind);
    if (cpu >= 0)
        hvk_line_dec(&l, "cpu", (u64)cpu);
    if (vec) {
        char name[24] = "exception.";
        u32 i = 10;
        for (const char *p = vec; *p && i < sizeof name - 1; p++)
            name[i++] = *p;
        name[i] = 0;
        hvk_line_str(&l, "class", name);
    } else {
        hvk_line_str(&l, "class", cls);
    }
    hvk_line_dec(&l, "caused", n);
    if (lvl) {
        hvk_line_dec(&l, "pte", lvl[1]);
        hvk_line_dec(&l, "pde", lvl[2]);
        hvk_line_dec(&l, "pdpte", lvl[3]);
        hvk_line_dec(&l, "pml4e", lvl[4]);
    }
    if (exact >= 0)
        hvk_line_dec(&l, "exact", (u64)exact);
    hvk_line_end(&l);
}

/* Always listed: the classes this guest can cause; the others only when they happened. */
static bool hvk_fcl_always(int i) { return i != HVK_FCL_PF_OTHER; }
static bool hvk_vec_always(int v) { return v == 6 || v == 13; }

void hvk_faults_report(bool exact)
{
    struct hvk_fault_counts tot = { 0 };
    u32 online = 0;
    for (int i = 0; i < HVK_MAX_CPUS; i++) {
        const struct hvk_fault_counts *f = &hvk_cpus[i].faults;
        if (!hvk_cpus[i].online)
            continue;
        online++;
        for (int k = 0; k < HVK_FCL__COUNT; k++) {
            tot.cls[k] += f->cls[k];
            if (hvk_fcl_always(k) || f->cls[k])
                hvk_faults_line("faults", i, hvk_fcl_names[k], NULL, f->cls[k],
                                k == HVK_FCL_NOT_PRESENT ? f->not_present_level : NULL, -1);
        }
        for (int v = 0; v < 5; v++)
            tot.not_present_level[v] += f->not_present_level[v];
        for (int v = 0; v < 32; v++) {
            tot.vec[v] += f->vec[v];
            if (v != 14 && (hvk_vec_always(v) || f->vec[v]))
                hvk_faults_line("faults", i, NULL, hvk_vec_short[v], f->vec[v], NULL, -1);
        }
    }
    if (!online)
        return;
    for (int k = 0; k < HVK_FCL__COUNT; k++)
        if (hvk_fcl_always(k) || tot.cls[k])
            hvk_faults_line("faults-total", -1, hvk_fcl_names[k], NULL, tot.cls[k],
                            k == HVK_FCL_NOT_PRESENT ? tot.not_present_level : NULL, exact);
    for (int v = 0; v < 32; v++)
        if (v != 14 && (hvk_vec_always(v) || tot.vec[v]))
            hvk_faults_line("faults-total", -1, NULL, hvk_vec_short[v], tot.vec[v], NULL, exact);
}
