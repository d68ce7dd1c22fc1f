/* workload.c -- the deterministic per-vCPU loop: a deep kernel call chain, demand-region loops, MMIO, a user task. */
#include "cpu.h"
#include "hvk.h"

/* Kernel code writes it once per workload iteration (a target for gdb `watch`). */
volatile u64 hvk_workload_counter;

/* The chain: hvk_chain_1 -> 2 -> 3 -> 4 -> leaf, each a real frame (noinline,
 * frame pointers, no sibling calls: every call is followed by an add). The
 * leaf spins hvk_opts.leaf_iters rounds so a pause or breakpoint lands in it,
 * and records the return addresses its frame chain holds, innermost first. */
HVK_NOINLINE u64 hvk_chain_leaf(u64 x)
{
    struct hvk_cpu *c = hvk_cpu_self();
    u64 *fp = __builtin_frame_address(0);
    for (int i = 0; i < 4 && fp; i++) {
        c->chain_ret[i] = fp[1];
        fp = (u64 *)fp[0];
    }
    for (u64 i = 0; i < hvk_opts.leaf_iters; i++) {
        x = x * 33 + i;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

HVK_NOINLINE u64 hvk_chain_4(u64 x) { return hvk_chain_leaf(x ^ 4) + 4; }
HVK_NOINLINE u64 hvk_chain_3(u64 x) { return hvk_chain_4(x ^ 3) + 3; }
HVK_NOINLINE u64 hvk_chain_2(u64 x) { return hvk_chain_3(x ^ 2) + 2; }
HVK_NOINLINE u64 hvk_chain_1(u64 x) { return hvk_chain_2(x ^ 1) + 1; }

void hvk_chain_report(void)
{
    static const struct { const char *name; u64 (*fn)(u64); } chain[] = {
        { "hvk_chain_1", hvk_chain_1 }, { "hvk_chain_2", hvk_chain_2 }, { "hvk_chain_3", hvk_chain_3 },
        { "hvk_chain_4", hvk_chain_4 }, { "hvk_chain_leaf", hvk_chain_leaf },
    };
    struct hvk_line l;
    for (u32 i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        hvk_line_begin(&l, "chain");
        hvk_line_dec(&l, "idx", i);
        hvk_line_str(&l, "name", chain[i].name);
        hvk_line_hex(&l, "addr", (u64)chain[i].fn);
        hvk_line_end(&l);
    }
    hvk_line_begin(&l, "var");
    hvk_line_str(&l, "name", "hvk_workload_counter");
    hvk_line_hex(&l, "va", (u64)&hvk_workload_counter);
    hvk_line_dec(&l, "size", sizeof hvk_workload_counter);
    hvk_line_end(&l);
}

u64 hvk_user_run(struct hvk_cpu *c, const u8 *entry, u64 a0, u64 a1)
{
    return hvk_user_enter((u64)entry, hvk_user_stack_top(c->index), a0, a1, hvk_user_data_va(c->index), &c->user);
}

/* C model of user.S:hvk_user_task, run in kernel mode (slow here: keep iters small). */
u64 hvk_user_task_model(struct hvk_cpu *c, u64 iters, u64 seed)
{
    u64 x = seed, acc = 0;
    for (u32 i = 0; i < 512; i++)
        c->model_data[i] = ((volatile u64 *)hvk_user_data_va(c->index))[i];
    for (u64 i = 0; i < iters; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        c->model_data[i & 511] = x;
        acc ^= x >> 29;
        acc = (acc << 7) | (acc >> 57);
    }
    for (u32 i = 0; i < 512; i++)
        acc += c->model_data[i];
    return acc;
}

/* One page per 4 KiB of this vCPU's slice: first touch demand-maps it. */
static u64 hvk_workload_demand(struct hvk_cpu *c, u64 iter)
{
    u64 sum = 0;
    u64 base = HVK_DEMAND_VA + (u64)c->index * HVK_DEMAND_PAGES_PER_CPU * HVK_PAGE_SIZE;
    for (u32 p = 0; p < HVK_DEMAND_PAGES_PER_CPU; p++) {
        volatile u64 *w = (volatile u64 *)(base + (u64)p * HVK_PAGE_SIZE + (iter % 512) * 8);
        *w = iter ^ p;
        sum += *w;
    }
    return sum;
}

static void hvk_workload_mmio(struct hvk_cpu *c, u64 iter)
{
    u64 off = (u64)c->index * 16;
    hvk_mmio_write32(c, off, (u32)iter);
    hvk_mmio_write32(c, off + 4, (u32)~iter);
    (void)hvk_mmio_read32(c, off);
    (void)hvk_mmio_read32(c, off + 4);
}

void hvk_workload_step(struct hvk_cpu *c)
{
    u64 iter = c->iterations;
    __atomic_add_fetch(&hvk_workload_counter, 1, __ATOMIC_RELAXED);
    hvk_chain_1(iter);
    hvk_workload_demand(c, iter);
    hvk_workload_mmio(c, iter);
    hvk_user_run(c, hvk_user_task, hvk_opts.user_iters, iter + c->index);
    c->iterations = iter + 1;
}

HVK_NORETURN void hvk_workload_run(struct hvk_cpu *c)
{
    struct hvk_line l;
    for (;;) {
        hvk_workload_step(c);
        if (!hvk_opts.quiet && hvk_opts.beat && c->iterations % hvk_opts.beat == 0) {
            hvk_line_begin(&l, "beat");
            hvk_line_dec(&l, "cpu", c->index);
            hvk_line_dec(&l, "iter", c->iterations);
            hvk_line_end(&l);
        }
        if (hvk_opts.iterations && c->iterations >= hvk_opts.iterations) {
            hvk_line_begin(&l, "done");
            hvk_line_dec(&l, "cpu", c->index);
            hvk_line_dec(&l, "iter", c->iterations);
            hvk_line_end(&l);
            c->done = 1;
            if (c->index == 0) {
                /* The BSP ends the VM once every vCPU that came online is done. */
                for (u32 i = 1; i < HVK_MAX_CPUS; i++)
                    while (hvk_cpus[i].online && !hvk_cpus[i].done)
                        hvk_pause();
                hvk_exit(HVK_STATUS_OK);
            }
            for (;;)
                __asm__ volatile("cli; hlt");
        }
    }
}
