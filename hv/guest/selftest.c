/* selftest.c -- `selftest`: check that the address space behaves as reported and that every workload part works. */
#include "cpu.h"
#include "hvk.h"

#define HVK_NO_FAULT (~0ull)
#define HVK_USER_FAULT (1ull << 63)
#define HVK_PTE_CHECK (HVK_PTE_P | HVK_PTE_RW | HVK_PTE_US | HVK_PTE_PWT | HVK_PTE_PCD | HVK_PTE_NX)

/* Targets of the writable-mapping check in regions whose first byte is live. */
static volatile u64 hvk_scratch_data = 0x5a5a5a5a;
static volatile u64 hvk_scratch_bss;
const u8 hvk_ro_page[HVK_PAGE_SIZE] __attribute__((aligned(HVK_PAGE_SIZE))) = { 0xc3 };
/* Filled with `ret`: if NX were not enforced, the exec probe would just return. */
u8 hvk_nx_page[HVK_PAGE_SIZE] __attribute__((aligned(HVK_PAGE_SIZE))) = { [0 ... HVK_PAGE_SIZE - 1] = 0xc3 };

static u32 hvk_check(u32 cpu, const char *name, bool ok, const char *what, u64 got, u64 want)
{
    struct hvk_line l;
    hvk_line_begin(&l, "test");
    hvk_line_str(&l, "name", name);
    hvk_line_dec(&l, "cpu", cpu);
    hvk_line_str(&l, "result", ok ? "pass" : "fail");
    if (what)
        hvk_line_str(&l, "what", what);
    if (!ok || what) {
        hvk_line_hex(&l, "got", got);
        hvk_line_hex(&l, "want", want);
    }
    hvk_line_end(&l);
    return ok ? 0 : 1;
}

static bool hvk_contains(const struct hvk_region *r, u64 va) { return va >= r->va && va < r->end; }

/* Walk every page of every region in software: leaf level, PA and rights
 * must be exactly what the region table (and so the report) says. */
static u32 hvk_check_walks(void)
{
    u32 bad = 0, pages = 0;
    for (u32 i = 0; i < hvk_region_count; i++) {
        const struct hvk_region *r = &hvk_regions[i];
        int want_level = r->page == 0x1000 ? 1 : r->page == 0x200000 ? 2 : 3;
        for (u64 off = 0; r->va + off < r->end; off += r->page, pages++) {
            int level;
            u64 e = hvk_walk(r->va + off, &level);
            u64 want = (r->pa + off) | r->flags | HVK_PTE_P;
            if (level != want_level || (e & HVK_PTE_ADDR) != (r->pa + off) || (e & HVK_PTE_CHECK) != (want & HVK_PTE_CHECK)) {
                bad += hvk_check(0, "map-walk", false, r->name, e, want);
                break;
            }
        }
    }
    return bad + hvk_check(0, "map-walk", true, "pages", pages, pages);
}

/* Hardware: every region is readable by the kernel at both ends, and the
 * VA -> PA claim holds (a byte seen through the VA is the byte seen through
 * the direct map at PA; writable ones are flipped through one, read back
 * through the other). Runs while no other vCPU executes. */
static u32 hvk_check_access(void)
{
    u32 bad = 0, n = 0;
    for (u32 i = 0; i < hvk_region_count; i++) {
        const struct hvk_region *r = &hvk_regions[i];
        u64 va = r->va;
        volatile u8 *v, *p;
        if (hvk_streq(r->name, "mmio"))
            continue;
        n++;
        if (hvk_probe_read(r->va) != HVK_NO_FAULT || hvk_probe_read(r->end - 1) != HVK_NO_FAULT) {
            bad += hvk_check(0, "map-read", false, r->name, r->va, 0);
            continue;
        }
        if (hvk_streq(r->name, "direct"))
            continue;
        if (hvk_contains(r, (u64)&hvk_scratch_data))
            va = (u64)&hvk_scratch_data;
        else if (hvk_contains(r, (u64)&hvk_scratch_bss))
            va = (u64)&hvk_scratch_bss;
        v = (volatile u8 *)va;
        p = hvk_phys_to_virt(r->pa + (va - r->va));
        if (*v != *p) {
            bad += hvk_check(0, "map-pa", false, r->name, *v, *p);
            continue;
        }
        if (r->flags & HVK_PTE_RW) {
            u8 orig = *v;
            bool ok;
            *v = (u8)(orig ^ 0x5a);
            ok = *p == (u8)(orig ^ 0x5a);
            *v = orig;
            if (!ok)
                bad += hvk_check(0, "map-pa", false, r->name, *p, orig ^ 0x5a);
        }
    }
    return bad + hvk_check(0, "map-access", bad == 0, "regions", n, n);
}

/* Holes: the software walk stops at the reported level, and the CPU raises a
 * not-present #PF (error code 0 for a supervisor read). */
static u32 hvk_check_holes(void)
{
    u32 bad = 0;
    for (u32 i = 0; i < hvk_hole_count; i++) {
        const struct hvk_hole *h = &hvk_holes[i];
        u64 probes[3] = { h->va, h->va + (h->end - h->va) / 2, h->end - 1 };
        for (int k = 0; k < 3; k++) {
            int level;
            u64 e = hvk_walk(probes[k], &level), err;
            if (e || level != h->level) {
                bad += hvk_check(0, "hole-walk", false, h->name, (u64)level, (u64)h->level);
                break;
            }
            err = hvk_probe_read(probes[k]);
            if (err != 0) {
                bad += hvk_check(0, "hole-fault", false, h->name, err, 0);
                break;
            }
        }
    }
    return bad + hvk_check(0, "holes", bad == 0, "holes", hvk_hole_count, hvk_hole_count);
}

static u32 hvk_check_rights(struct hvk_cpu *c)
{
    u32 bad = 0;
    u64 user_text_last = (u64)__hvk_user_text_end - 1;
    bad += hvk_check(0, "ro-write", hvk_probe_write((u64)hvk_ro_page) == (HVK_PF_P | HVK_PF_W),
                     "hvk_ro_page", hvk_probe_write((u64)hvk_ro_page), HVK_PF_P | HVK_PF_W);
    bad += hvk_check(0, "text-write", hvk_probe_write((u64)__hvk_text_start) == (HVK_PF_P | HVK_PF_W),
                     "kernel.text", hvk_probe_write((u64)__hvk_text_start), HVK_PF_P | HVK_PF_W);
    if (hvk_have_nx) {
        u64 err;
        c->exec_probe_va = (u64)hvk_nx_page;
        err = hvk_probe_exec((u64)hvk_nx_page);
        c->exec_probe_va = 0;
        bad += hvk_check(0, "nx-exec", err == (HVK_PF_P | HVK_PF_I), "hvk_nx_page", err, HVK_PF_P | HVK_PF_I);
    } else {
        hvk_check(0, "nx-exec", true, "skipped-no-nx", 0, 0);
    }
    c->user_probe_armed = true;
    u64 r = hvk_user_run(c, hvk_user_probe_read, (u64)hvk_ro_page, 0);
    bad += hvk_check(0, "user-read-kernel", r == (HVK_USER_FAULT | HVK_PF_P | HVK_PF_U), "hvk_ro_page",
                     r, HVK_USER_FAULT | HVK_PF_P | HVK_PF_U);
    c->user_probe_armed = true;
    r = hvk_user_run(c, hvk_user_probe_write, user_text_last, 0);
    bad += hvk_check(0, "user-write-text", r == (HVK_USER_FAULT | HVK_PF_P | HVK_PF_W | HVK_PF_U), "user.text",
                     r, HVK_USER_FAULT | HVK_PF_P | HVK_PF_W | HVK_PF_U);
    c->user_probe_armed = true;
    r = hvk_user_run(c, hvk_user_probe_read, hvk_user_data_va(0), 0);
    bad += hvk_check(0, "user-read-data", r == 0, "user.data", r, 0);
    c->user_probe_armed = false;
    return bad;
}

u32 hvk_selftest_global(void)
{
    struct hvk_cpu *c = hvk_cpu_self();
    u32 bad = 0;
    bad += hvk_check_walks();
    bad += hvk_check_access();
    bad += hvk_check_holes();
    bad += hvk_check_rights(c);
    for (u64 p = 0; p < HVK_DEMAND_PAGES; p++) {
        int level;
        if (hvk_walk(HVK_DEMAND_VA + p * HVK_PAGE_SIZE, &level) || level != 1) {
            bad += hvk_check(0, "demand-absent", false, "page", p, 0);
            break;
        }
    }
    return bad;
}

static u32 hvk_check_demand(struct hvk_cpu *c)
{
    u64 base = HVK_DEMAND_VA + (u64)c->index * HVK_DEMAND_PAGES_PER_CPU * HVK_PAGE_SIZE;
    u64 before = c->demand_faults;
    u32 bad = 0;
    for (u32 p = 0; p < HVK_DEMAND_PAGES_PER_CPU; p++) {
        volatile u64 *w = (volatile u64 *)(base + (u64)p * HVK_PAGE_SIZE + 8 * p);
        int level;
        if (hvk_walk((u64)w, &level) || level != 1)
            bad++;
        *w = 0x1000 + p;                       /* first touch: #PF, mapped */
        if (*w != 0x1000 + p || !(hvk_walk((u64)w, &level) & HVK_PTE_P))
            bad++;
    }
    bad = hvk_check(c->index, "demand", bad == 0 && c->demand_faults - before == HVK_DEMAND_PAGES_PER_CPU,
                    "faults", c->demand_faults - before, HVK_DEMAND_PAGES_PER_CPU);
    /* Touching them again must not fault. */
    before = c->demand_faults;
    for (u32 p = 0; p < HVK_DEMAND_PAGES_PER_CPU; p++)
        *(volatile u64 *)(base + (u64)p * HVK_PAGE_SIZE + 16) = p;
    return bad + hvk_check(c->index, "demand-again", c->demand_faults == before, "faults", c->demand_faults - before, 0);
}

static u32 hvk_check_chain(struct hvk_cpu *c)
{
    static u64 (*const callers[4])(u64) = { hvk_chain_4, hvk_chain_3, hvk_chain_2, hvk_chain_1 };
    u64 x = 0x1234 + c->index, want, got;
    u32 bad = 0;
    /* What the chain computes, written out independently. */
    want = ((((x ^ 1) ^ 2) ^ 3) ^ 4);
    for (u64 i = 0; i < hvk_opts.leaf_iters; i++)
        want = want * 33 + i;
    want += 4 + 3 + 2 + 1;
    got = hvk_chain_1(x);
    bad += hvk_check(c->index, "chain-result", got == want, NULL, got, want);
    for (int i = 0; i < 4; i++) {
        u64 fn = (u64)callers[i];
        if (c->chain_ret[i] <= fn || c->chain_ret[i] >= fn + 0x200)
            return bad + hvk_check(c->index, "chain-frames", false, "ret", c->chain_ret[i], fn);
    }
    return bad + hvk_check(c->index, "chain-frames", true, NULL, 0, 0);
}

static u32 hvk_check_user(struct hvk_cpu *c)
{
    u64 seed = 42 + c->index, want, got, again;
    u32 bad = 0;
    want = hvk_user_task_model(c, 1000, seed);
    got = hvk_user_run(c, hvk_user_task, 1000, seed);
    bad += hvk_check(c->index, "user-task", got == want, NULL, got, want);
    /* The long run cannot be modelled in kernel mode here (too slow); it must at least repeat. */
    got = hvk_user_run(c, hvk_user_task, hvk_opts.user_iters, seed);
    again = hvk_user_run(c, hvk_user_task, hvk_opts.user_iters, seed);
    bad += hvk_check(c->index, "user-task-repeat", got == again, NULL, again, got);
    return bad;
}

static u32 hvk_check_mmio(struct hvk_cpu *c)
{
    u64 off = 0x100 + (u64)c->index * 16;
    u32 want = 0xc0de0000 | c->index, got;
    hvk_mmio_write32(c, off, want);
    got = hvk_mmio_read32(c, off);
    if (!hvk_opts.mmio_check)   /* under QEMU the window is unassigned: report only */
        return hvk_check(c->index, "mmio", true, got == want ? "match" : "no-match", got, want);
    return hvk_check(c->index, "mmio", got == want, "match", got, want);
}

u32 hvk_selftest_cpu(struct hvk_cpu *c)
{
    u32 bad = 0;
    u64 err = hvk_probe_read((u64)hvk_stack_areas[c->index].guard + HVK_PAGE_SIZE - 8);
    u64 counter = hvk_workload_counter;
    bad += hvk_check(c->index, "stack-guard", err == 0, NULL, err, 0);
    bad += hvk_check_demand(c);
    bad += hvk_check_chain(c);
    bad += hvk_check_user(c);
    bad += hvk_check_mmio(c);
    hvk_workload_step(c);
    bad += hvk_check(c->index, "workload-step", hvk_workload_counter > counter && c->iterations == 1, NULL,
                     c->iterations, 1);
    return bad;
}
