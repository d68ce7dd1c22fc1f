/* main.c -- C entry of every vCPU: the BSP reads start_info and builds everything, the others wait and join. */
#include "cpu.h"
#include "hvk.h"

#define HVM_START_MAGIC 0x336ec578
#define MSR_EFER 0xc0000080
#define EFER_NXE (1ull << 11)

/* PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h), version 1. */
struct hvm_start_info {
    u32 magic;
    u32 version;
    u32 flags;
    u32 nr_modules;
    u64 modlist_paddr;
    u64 cmdline_paddr;
    u64 rsdp_paddr;
    u64 memmap_paddr;
    u32 memmap_entries;
    u32 reserved;
};
struct hvm_memmap_table_entry {
    u64 addr;
    u64 size;
    u32 type;
    u32 reserved;
};

struct hvk_options hvk_opts = {
    .user_iters = 2000000,
    .leaf_iters = 1000,
    .beat = 16,
};
bool hvk_have_nx;
/* Set once by the BSP when the final tables, GDT and IDT exist. */
static volatile u32 hvk_ready;
/* vCPUs that reached the PVH entry: incremented by boot.S through its physical address. */
volatile u32 hvk_boot_arrived;
static char hvk_cmdline[4096];

HVK_NORETURN void hvk_entry(u64 cpu, u64 start_info_pa);

/* Until the final tables are loaded, physical memory below 1 GiB is reachable
 * through the boot tables' high alias at HVK_KERNEL_VMA. */
static const void *hvk_boot_phys(u64 pa, u64 size)
{
    if (pa + size < pa || pa + size > 0x40000000)
        return NULL;
    return (const void *)(HVK_KERNEL_VMA + pa);
}

static HVK_NORETURN void hvk_boot_fail(const char *why, u64 value)
{
    struct hvk_line l;
    hvk_line_begin(&l, "error");
    hvk_line_str(&l, "what", why);
    hvk_line_hex(&l, "value", value);
    hvk_line_end(&l);
    hvk_exit(HVK_STATUS_BOOT_ERROR);
}

static int hvk_read_start_info(u64 pa)
{
    const struct hvm_start_info *si = hvk_boot_phys(pa, sizeof *si);
    const struct hvm_memmap_table_entry *mm;
    if (!si || si->magic != HVM_START_MAGIC)
        hvk_boot_fail("start_info", pa);
    if (si->cmdline_paddr) {
        const char *s = hvk_boot_phys(si->cmdline_paddr, 1);
        u32 n = 0;
        if (!s)
            hvk_boot_fail("cmdline_paddr", si->cmdline_paddr);
        while (n < sizeof hvk_cmdline - 1 && s[n])
            n++;
        hvk_memcpy(hvk_cmdline, s, n);
        hvk_cmdline[n] = 0;
    }
    if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
        hvk_boot_fail("no memory map in start_info (need version 1)", si->version);
    mm = hvk_boot_phys(si->memmap_paddr, (u64)si->memmap_entries * sizeof *mm);
    if (!mm)
        hvk_boot_fail("memmap_paddr", si->memmap_paddr);
    for (u32 i = 0; i < si->memmap_entries && hvk_memmap_count < HVK_MEMMAP_MAX; i++) {
        struct hvk_memrange *r = &hvk_memmap[hvk_memmap_count++];
        r->base = mm[i].addr;
        r->end = mm[i].addr + mm[i].size;
        r->type = mm[i].type;
    }
    return 0;
}

static bool hvk_parse_u64(const char *s, u64 *out)
{
    u64 v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (u64)(*s - '0');
    }
    *out = v;
    return true;
}

/* Space-separated tokens; unknown ones are reported and ignored. */
static void hvk_parse_cmdline(void)
{
    char *p = hvk_cmdline;
    struct hvk_line l;
    while (*p) {
        char tok[64], *val = NULL;
        u32 n = 0;
        bool ok = true;
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        while (*p && *p != ' ') {
            if (n < sizeof tok - 1)
                tok[n++] = *p;
            p++;
        }
        tok[n] = 0;
        for (u32 i = 0; i < n; i++)
            if (tok[i] == '=') {
                tok[i] = 0;
                val = &tok[i + 1];
                break;
            }
        if (!val && hvk_streq(tok, "selftest"))
            hvk_opts.selftest = true;
        else if (!val && hvk_streq(tok, "mmio-check"))
            hvk_opts.mmio_check = true;
        else if (!val && hvk_streq(tok, "quiet"))
            hvk_opts.quiet = true;
        else if (val && hvk_streq(tok, "iterations"))
            ok = hvk_parse_u64(val, &hvk_opts.iterations);
        else if (val && hvk_streq(tok, "user-iters"))
            ok = hvk_parse_u64(val, &hvk_opts.user_iters);
        else if (val && hvk_streq(tok, "leaf-iters"))
            ok = hvk_parse_u64(val, &hvk_opts.leaf_iters);
        else if (val && hvk_streq(tok, "beat"))
            ok = hvk_parse_u64(val, &hvk_opts.beat);
        else if (!val && hvk_streq(tok, "faults"))
            hvk_opts.faults = 1;
        else if (val && hvk_streq(tok, "faults"))
            ok = hvk_parse_u64(val, &hvk_opts.faults);
        else if (!val && hvk_streq(tok, "idt-swap"))
            hvk_opts.idt_swap = true;
        else if (val && hvk_streq(tok, "crash") && hvk_crash_valid(val))
            hvk_memcpy(hvk_opts.crash, val, n - (u32)(val - tok) + 1);
        else
            ok = false;
        if (!ok) {
            hvk_line_begin(&l, "warning");
            hvk_line_str(&l, "what", "ignored-option");
            hvk_line_str(&l, "option", tok);
            hvk_line_end(&l);
        }
    }
}

/* CPUID.01H:EBX[23:16]: hv puts the vCPU count there (docs/guest-abi.md);
 * elsewhere it is the logical processors per package, which may never start. */
static u32 hvk_cpuid_cpus(void)
{
    u32 a, b, c, d;
    hvk_cpuid(1, 0, &a, &b, &c, &d);
    return (b >> 16) & 0xff;
}

/* vCPUs that reached the PVH entry. Under hv all start together, so by now
 * they have normally all arrived; if CPUID announces more, wait a bounded
 * while for them (under QEMU they never come: only the BSP starts). */
static u32 hvk_wait_arrivals(void)
{
    u32 want = hvk_cpuid_cpus();
    if (want > HVK_MAX_CPUS)
        want = HVK_MAX_CPUS;
    for (u32 spin = 0; spin < (1u << 16) && __atomic_load_n(&hvk_boot_arrived, __ATOMIC_ACQUIRE) < want; spin++)
        hvk_pause();
    u32 arrived = __atomic_load_n(&hvk_boot_arrived, __ATOMIC_ACQUIRE);
    return arrived > HVK_MAX_CPUS ? HVK_MAX_CPUS : arrived;
}

/* `selftest` wins; `faults` alone is its own mode (battery, then
 * `iterations` workload steps, then exit); otherwise the workload. */
static const char *hvk_mode_name(void)
{
    return hvk_opts.selftest ? "selftest" : hvk_opts.faults ? "faults" : "workload";
}

static void hvk_report_boot(void)
{
    struct hvk_line l;
    u32 a, b, c, d, max;
    bool gb = false;
    hvk_cpuid(0x80000000, 0, &max, &b, &c, &d);
    if (max >= 0x80000001) {
        hvk_cpuid(0x80000001, 0, &a, &b, &c, &d);
        gb = (d >> 26) & 1;
    }
    hvk_line_begin(&l, "boot");
    hvk_line_str(&l, "guest", "hvkit-guest");
    hvk_line_dec(&l, "report", 1);
    hvk_line_dec(&l, "nx", hvk_have_nx);
    hvk_line_dec(&l, "pdpe1gb", gb);
    hvk_line_dec(&l, "max_cpus", HVK_MAX_CPUS);
    hvk_line_dec(&l, "cpuid_cpus", hvk_cpuid_cpus());
    hvk_line_str(&l, "mode", hvk_mode_name());
    hvk_line_dec(&l, "faults", hvk_opts.faults);
    hvk_line_end(&l);
    /* The raw command line is the rest of the line after "text=". */
    hvk_line_begin(&l, "cmdline");
    hvk_line_str(&l, "text", hvk_cmdline);
    hvk_line_end(&l);
    for (u32 i = 0; i < hvk_memmap_count; i++) {
        hvk_line_begin(&l, "memmap");
        hvk_line_hex(&l, "base", hvk_memmap[i].base);
        hvk_line_hex(&l, "end", hvk_memmap[i].end);
        hvk_line_dec(&l, "type", hvk_memmap[i].type);
        hvk_line_end(&l);
    }
}

/* Load the final CR3, GDT/TSS and IDT on this vCPU and say so. */
static void hvk_cpu_online(struct hvk_cpu *c)
{
    struct hvk_line l;
    hvk_write_cr3(hvk_cr3);
    hvk_trap_load(c->index);
    hvk_line_begin(&l, "online");
    hvk_line_dec(&l, "cpu", c->index);
    hvk_line_hex(&l, "cr3", hvk_cr3);
    hvk_line_hex(&l, "kstack_top", (u64)hvk_stack_areas[c->index].kstack + HVK_KSTACK_SIZE);
    hvk_line_end(&l);
    __atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
}

static u32 hvk_online_count(void)
{
    u32 n = 0;
    for (u32 i = 0; i < HVK_MAX_CPUS; i++)
        n += hvk_cpus[i].online;
    return n;
}

/* `faults` without `selftest`: after the battery, `iterations` workload
 * steps (0 by default), then the BSP exits once every online vCPU is done --
 * the others halt first, so the counts printed at exit are complete. */
static HVK_NORETURN void hvk_faults_mode(struct hvk_cpu *c)
{
    struct hvk_line l;
    u32 failed = 0;
    while (c->iterations < hvk_opts.iterations)
        hvk_workload_step(c);
    hvk_line_begin(&l, "done");
    hvk_line_dec(&l, "cpu", c->index);
    hvk_line_dec(&l, "iter", c->iterations);
    hvk_line_end(&l);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    if (c->index != 0)
        for (;;)
            __asm__ volatile("cli; hlt");
    for (u32 i = 0; i < HVK_MAX_CPUS; i++) {
        while (hvk_cpus[i].online && !__atomic_load_n(&hvk_cpus[i].done, __ATOMIC_ACQUIRE))
            hvk_pause();
        failed += hvk_cpus[i].faults_failed;
    }
    hvk_exit(failed ? HVK_STATUS_TEST_FAILED : HVK_STATUS_OK);
}

static HVK_NORETURN void hvk_bsp(u64 start_info_pa)
{
    struct hvk_cpu *c = &hvk_cpus[0];
    struct hvk_line l;
    u32 failed = 0, arrived;

    hvk_console_init();
    hvk_have_nx = (hvk_rdmsr(MSR_EFER) & EFER_NXE) != 0;
    hvk_faults_init();
    hvk_read_start_info(start_info_pa);
    hvk_parse_cmdline();
    hvk_report_boot();
    hvk_trap_init();
    if (hvk_paging_build() < 0)
        hvk_boot_fail("page-table pool or region table exhausted", 0);
    hvk_cpu_online(c);              /* from here on the identity map is gone */
    hvk_paging_report();
    hvk_chain_report();
    if (hvk_opts.selftest)
        failed += hvk_selftest_global();   /* before any other vCPU runs */
    arrived = hvk_wait_arrivals();
    __atomic_store_n(&hvk_ready, 1, __ATOMIC_RELEASE);
    /* Only vCPUs that reached the entry are waited for (none under QEMU). */
    while (hvk_online_count() < arrived)
        hvk_pause();
    hvk_line_begin(&l, "ready");
    hvk_line_dec(&l, "cpus", hvk_online_count());
    hvk_line_dec(&l, "arrived", arrived);
    hvk_line_str(&l, "mode", hvk_mode_name());
    hvk_line_end(&l);
    if (hvk_opts.crash[0]) {
        hvk_crash(hvk_opts.crash);
        hvk_boot_fail("crash did not fault", 0);
    }
    if (hvk_opts.faults)
        c->faults_failed = hvk_faults_battery(c);
    if (!hvk_opts.selftest && hvk_opts.faults)
        hvk_faults_mode(c);
    if (!hvk_opts.selftest)
        hvk_workload_run(c);

    failed += hvk_selftest_cpu(c);
    c->done = 1;
    for (u32 i = 1; i < HVK_MAX_CPUS; i++) {
        while (hvk_cpus[i].online && !hvk_cpus[i].done)
            hvk_pause();
        failed += hvk_cpus[i].failed;
    }
    for (u32 i = 0; i < HVK_MAX_CPUS; i++)
        failed += hvk_cpus[i].faults_failed;
    hvk_line_begin(&l, "selftest");
    hvk_line_str(&l, "result", failed ? "fail" : "pass");
    hvk_line_dec(&l, "failed", failed);
    hvk_line_dec(&l, "cpus", hvk_online_count());
    hvk_line_end(&l);
    hvk_exit(failed ? HVK_STATUS_TEST_FAILED : HVK_STATUS_OK);
}

static HVK_NORETURN void hvk_ap(u32 cpu)
{
    struct hvk_cpu *c = &hvk_cpus[cpu];
    while (!__atomic_load_n(&hvk_ready, __ATOMIC_ACQUIRE))
        hvk_pause();
    hvk_cpu_online(c);
    if (hvk_opts.faults)
        c->faults_failed = hvk_faults_battery(c);
    if (!hvk_opts.selftest && hvk_opts.faults)
        hvk_faults_mode(c);
    if (!hvk_opts.selftest)
        hvk_workload_run(c);
    c->failed = hvk_selftest_cpu(c);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    for (;;)
        __asm__ volatile("cli; hlt");
}

HVK_NORETURN void hvk_entry(u64 cpu, u64 start_info_pa)
{
    if (cpu == 0)
        hvk_bsp(start_info_pa);
    hvk_ap((u32)cpu);
}
