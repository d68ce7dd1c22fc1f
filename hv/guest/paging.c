/* paging.c -- build the guest's final 4-level address space from one region table, and report it. */
#include "cpu.h"
#include "hvk.h"

#define HVK_PT_POOL_PAGES 64
#define HVK_USER_POOL_PAGES (HVK_MAX_CPUS * (1 + HVK_USER_STACK_PAGES))
#define HVK_DIRECT_MAP_MAX (32ull << 30)   /* PDs for more would not fit the pool */

/* Page-table pages come from the image's .bss, which the loader zeroes: no
 * clearing at boot. Every table therefore has PA = VA - HVK_KERNEL_VMA. */
static u64 hvk_pt_pool[HVK_PT_POOL_PAGES][512] __attribute__((aligned(HVK_PAGE_SIZE)));
static u32 hvk_pt_used;
static u8 hvk_user_pool[HVK_USER_POOL_PAGES][HVK_PAGE_SIZE] __attribute__((aligned(HVK_PAGE_SIZE)));
static u64 *hvk_pml4;
static u64 *hvk_demand_pt;
static u64 *hvk_lab_pt;
static u64 *hvk_lab_pd;

struct hvk_region hvk_regions[HVK_REGIONS_MAX];
u32 hvk_region_count;
struct hvk_hole hvk_holes[HVK_HOLES_MAX];
u32 hvk_hole_count;
u64 hvk_cr3;
static const char *hvk_cpu_names[3][HVK_MAX_CPUS] = {
    { "kstack.0", "kstack.1", "kstack.2", "kstack.3", "kstack.4", "kstack.5", "kstack.6", "kstack.7" },
    { "dfstack.0", "dfstack.1", "dfstack.2", "dfstack.3", "dfstack.4", "dfstack.5", "dfstack.6", "dfstack.7" },
    { "user.stack.0", "user.stack.1", "user.stack.2", "user.stack.3",
      "user.stack.4", "user.stack.5", "user.stack.6", "user.stack.7" },
};
static const char *hvk_guard_names[3][HVK_MAX_CPUS] = {
    { "kstack.0.guard", "kstack.1.guard", "kstack.2.guard", "kstack.3.guard",
      "kstack.4.guard", "kstack.5.guard", "kstack.6.guard", "kstack.7.guard" },
    { "dfstack.0.guard", "dfstack.1.guard", "dfstack.2.guard", "dfstack.3.guard",
      "dfstack.4.guard", "dfstack.5.guard", "dfstack.6.guard", "dfstack.7.guard" },
    { "user.stack.0.guard", "user.stack.1.guard", "user.stack.2.guard", "user.stack.3.guard",
      "user.stack.4.guard", "user.stack.5.guard", "user.stack.6.guard", "user.stack.7.guard" },
};

static u32 hvk_pt_index(u64 va, int level)
{
    return (u32)((va >> (12 + 9 * (level - 1))) & 511);
}

static u64 *hvk_pt_alloc(void)
{
    if (hvk_pt_used == HVK_PT_POOL_PAGES)
        return NULL;
    return hvk_pt_pool[hvk_pt_used++];
}

static u64 *hvk_pt_table(u64 entry)
{
    return (u64 *)((entry & HVK_PTE_ADDR) + HVK_KERNEL_VMA);
}

/* The table `level - 1` below table[index], created if missing. Upper levels
 * are permissive (P|RW, US on the user half): rights are decided at the leaf. */
static u64 *hvk_pt_descend(u64 *table, u64 va, int level)
{
    u64 *e = &table[hvk_pt_index(va, level)];
    u64 *next;
    if (*e & HVK_PTE_P)
        return hvk_pt_table(*e);
    next = hvk_pt_alloc();
    if (!next)
        return NULL;
    *e = HVK_KVA_TO_PA(next) | HVK_PTE_P | HVK_PTE_RW | (va < 0x800000000000ull ? HVK_PTE_US : 0);
    return next;
}

static int hvk_map_page(u64 va, u64 pa, u64 page, u64 flags)
{
    int leaf = page == 0x1000 ? 1 : page == 0x200000 ? 2 : 3;
    u64 *t = hvk_pml4;
    for (int level = 4; level > leaf; level--) {
        t = hvk_pt_descend(t, va, level);
        if (!t)
            return -1;
    }
    t[hvk_pt_index(va, leaf)] = pa | flags | HVK_PTE_P | (leaf > 1 ? HVK_PTE_PS : 0);
    return 0;
}

static int hvk_region_add(const char *name, u64 va, u64 pa, u64 size, u64 page, u64 flags, int cpu)
{
    struct hvk_region *r;
    if (size == 0)
        return 0;
    if (hvk_region_count == HVK_REGIONS_MAX)
        return -1;
    if (!hvk_have_nx)
        flags &= ~HVK_PTE_NX;
    r = &hvk_regions[hvk_region_count++];
    r->name = name;
    r->va = va;
    r->end = va + size;
    r->pa = pa;
    r->page = page;
    r->flags = flags;
    r->cpu = cpu;
    for (u64 off = 0; off < size; off += page)
        if (hvk_map_page(va + off, pa + off, page, flags) < 0)
            return -1;
    return 0;
}

static int hvk_hole_add(const char *name, u64 va, u64 size, int level)
{
    struct hvk_hole *h;
    if (hvk_hole_count == HVK_HOLES_MAX)
        return -1;
    h = &hvk_holes[hvk_hole_count++];
    h->name = name;
    h->va = va;
    h->end = va + size;
    h->level = level;
    return 0;
}

static int hvk_kernel_range(const char *name, const u8 *start, const u8 *end, u64 flags, int cpu)
{
    return hvk_region_add(name, (u64)start, HVK_KVA_TO_PA(start), (u64)(end - start), 0x1000, flags, cpu);
}

static int hvk_paging_kernel(void)
{
    const u64 rw_nx = HVK_PTE_RW | HVK_PTE_NX;
    int rc = 0;
    rc |= hvk_kernel_range("kernel.text", __hvk_text_start, __hvk_text_end, 0, -1);
    rc |= hvk_kernel_range("kernel.rodata", __hvk_rodata_start, __hvk_rodata_end, HVK_PTE_NX, -1);
    rc |= hvk_kernel_range("kernel.data", __hvk_data_start, __hvk_data_end, rw_nx, -1);
    for (int i = 0; i < HVK_MAX_CPUS; i++) {
        struct hvk_stack_area *a = &hvk_stack_areas[i];
        rc |= hvk_hole_add(hvk_guard_names[0][i], (u64)a->guard, HVK_PAGE_SIZE, 1);
        rc |= hvk_kernel_range(hvk_cpu_names[0][i], a->kstack, a->kstack + HVK_KSTACK_SIZE, rw_nx, i);
        rc |= hvk_hole_add(hvk_guard_names[1][i], (u64)a->df_guard, HVK_PAGE_SIZE, 1);
        rc |= hvk_kernel_range(hvk_cpu_names[1][i], a->dfstack, a->dfstack + HVK_DFSTACK_SIZE, rw_nx, i);
    }
    rc |= hvk_kernel_range("kernel.bss", __hvk_stacks_end, __hvk_bss_end, rw_nx, -1);
    rc |= hvk_region_add("mmio", HVK_MMIO_VA, HVK_MMIO_PA, HVK_MMIO_SIZE, 0x1000,
                         HVK_PTE_RW | HVK_PTE_PCD | HVK_PTE_PWT | HVK_PTE_NX, -1);
    return rc;
}

/* Direct map: every 2 MiB chunk wholly inside a RAM range, 1 GiB pages where
 * CPUID.80000001H:EDX[26] offers them and a whole aligned GiB is RAM. */
static int hvk_paging_direct(void)
{
    u32 a, b, c, d, max;
    bool gb = false;
    int rc = 0;
    hvk_cpuid(0x80000000, 0, &max, &b, &c, &d);
    if (max >= 0x80000001) {
        hvk_cpuid(0x80000001, 0, &a, &b, &c, &d);
        gb = (d >> 26) & 1;
    }
    for (u32 i = 0; i < hvk_memmap_count; i++) {
        const u64 mb2 = 0x200000, gb1 = 0x40000000;
        u64 lo = (hvk_memmap[i].base + mb2 - 1) & ~(mb2 - 1);
        u64 hi = hvk_memmap[i].end & ~(mb2 - 1);
        if (hvk_memmap[i].type != 1)
            continue;
        if (hi > HVK_DIRECT_MAP_MAX)
            hi = HVK_DIRECT_MAP_MAX;
        while (lo < hi) {
            u64 glo = (lo + gb1 - 1) & ~(gb1 - 1);
            if (gb && lo == glo && lo + gb1 <= hi) {
                u64 ghi = hi & ~(gb1 - 1);
                rc |= hvk_region_add("direct", HVK_DIRECT_MAP_VA + lo, lo, ghi - lo, gb1, HVK_PTE_RW | HVK_PTE_NX, -1);
                lo = ghi;
                continue;
            }
            u64 stop = (gb && glo + gb1 <= hi) ? glo : hi;
            rc |= hvk_region_add("direct", HVK_DIRECT_MAP_VA + lo, lo, stop - lo, mb2, HVK_PTE_RW | HVK_PTE_NX, -1);
            lo = stop;
        }
    }
    return rc;
}

static int hvk_paging_user(void)
{
    const u64 u_rw_nx = HVK_PTE_US | HVK_PTE_RW | HVK_PTE_NX;
    u8 *stacks = hvk_user_pool[HVK_MAX_CPUS];
    int rc = 0;
    rc |= hvk_region_add("user.text", HVK_USER_TEXT_VA, (u64)__hvk_user_text_pa,
                         (u64)(__hvk_user_text_end - __hvk_user_text_start), 0x1000, HVK_PTE_US, -1);
    rc |= hvk_region_add("user.data", HVK_USER_DATA_VA, HVK_KVA_TO_PA(hvk_user_pool[0]),
                         HVK_MAX_CPUS * HVK_PAGE_SIZE, 0x1000, u_rw_nx, -1);
    for (int i = 0; i < HVK_MAX_CPUS; i++) {
        u8 *pages = stacks + (u64)i * HVK_USER_STACK_PAGES * HVK_PAGE_SIZE;
        rc |= hvk_hole_add(hvk_guard_names[2][i], hvk_user_stack_bottom(i) - HVK_PAGE_SIZE, HVK_PAGE_SIZE, 1);
        rc |= hvk_region_add(hvk_cpu_names[2][i], hvk_user_stack_bottom(i), HVK_KVA_TO_PA(pages),
                             HVK_USER_STACK_PAGES * HVK_PAGE_SIZE, 0x1000, u_rw_nx, i);
    }
    /* Holes whose walks fail at each level; the tables above them exist. */
    rc |= hvk_hole_add("hole.pte", HVK_USER_HOLE_VA, HVK_PAGE_SIZE, 1);
    rc |= hvk_hole_add("hole.null", 0, 0x200000, 2);
    rc |= hvk_hole_add("hole.pde", HVK_HOLE_PDE_VA, 0x200000, 2);
    rc |= hvk_hole_add("hole.pdpte", HVK_HOLE_PDPTE_VA, 0x40000000, 3);
    rc |= hvk_hole_add("hole.pml4e", HVK_HOLE_PML4E_VA, 0x8000000000ull, 4);
    return rc;
}

/* The demand region: tables down to the PT exist, every PTE is clear. */
static int hvk_paging_demand(void)
{
    u64 *t = hvk_pml4;
    for (int level = 4; level > 1 && t; level--)
        t = hvk_pt_descend(t, HVK_DEMAND_VA, level);
    hvk_demand_pt = t;
    return t ? 0 : -1;
}

/* The fault lab: its own PT (no other range shares it), every PTE clear. */
static int hvk_paging_lab(void)
{
    u64 *t = hvk_pml4;
    for (int level = 4; level > 1 && t; level--) {
        if (level == 2)
            hvk_lab_pd = t;
        t = hvk_pt_descend(t, HVK_LAB_VA, level);
    }
    hvk_lab_pt = t;
    return t ? 0 : -1;
}

int hvk_paging_build(void)
{
    int rc = 0;
    hvk_pml4 = hvk_pt_alloc();
    rc |= hvk_paging_kernel();
    rc |= hvk_paging_direct();
    rc |= hvk_paging_user();
    rc |= hvk_paging_demand();
    rc |= hvk_paging_lab();
    hvk_cr3 = HVK_KVA_TO_PA(hvk_pml4);
    return rc ? -1 : 0;
}

u64 *hvk_demand_pte(u64 va)
{
    if (va < HVK_DEMAND_VA || va >= HVK_DEMAND_VA + HVK_DEMAND_PAGES * HVK_PAGE_SIZE)
        return NULL;
    return &hvk_demand_pt[hvk_pt_index(va, 1)];
}

u64 *hvk_lab_pte(u64 va)
{
    if (va < HVK_LAB_VA || va >= HVK_LAB_VA + HVK_LAB_PAGES * HVK_PAGE_SIZE)
        return NULL;
    return &hvk_lab_pt[hvk_pt_index(va, 1)];
}

u64 *hvk_lab_pde(void)
{
    return &hvk_lab_pd[hvk_pt_index(HVK_LAB_PDE_VA, 2)];
}

u64 hvk_walk(u64 va, int *level)
{
    u64 *t = hvk_pml4;
    for (int l = 4; l >= 1; l--) {
        u64 e = t[hvk_pt_index(va, l)];
        *level = l;
        if (!(e & HVK_PTE_P))
            return 0;
        if (l == 1 || (e & HVK_PTE_PS))
            return e;
        t = hvk_pt_table(e);
    }
    return 0;
}

u64 hvk_user_data_va(u32 cpu) { return HVK_USER_DATA_VA + (u64)cpu * HVK_PAGE_SIZE; }
u64 hvk_user_stack_bottom(u32 cpu) { return HVK_USER_STACK_VA + (u64)cpu * HVK_USER_STACK_STRIDE + HVK_PAGE_SIZE; }
u64 hvk_user_stack_top(u32 cpu) { return hvk_user_stack_bottom(cpu) + HVK_USER_STACK_PAGES * HVK_PAGE_SIZE; }

static const char *hvk_page_name(u64 page)
{
    return page == 0x1000 ? "4k" : page == 0x200000 ? "2m" : "1g";
}

static const char *hvk_level_entry(int level)
{
    static const char *names[] = { "", "pte", "pde", "pdpte", "pml4e" };
    return names[level];
}

void hvk_paging_report(void)
{
    struct hvk_line l;
    for (u32 i = 0; i < hvk_region_count; i++) {
        const struct hvk_region *r = &hvk_regions[i];
        hvk_line_begin(&l, "map");
        hvk_line_str(&l, "name", r->name);
        hvk_line_hex(&l, "va", r->va);
        hvk_line_hex(&l, "end", r->end);
        hvk_line_hex(&l, "pa", r->pa);
        hvk_line_str(&l, "page", hvk_page_name(r->page));
        hvk_line_dec(&l, "w", !!(r->flags & HVK_PTE_RW));
        hvk_line_dec(&l, "u", !!(r->flags & HVK_PTE_US));
        hvk_line_dec(&l, "nx", !!(r->flags & HVK_PTE_NX));
        hvk_line_str(&l, "cache", (r->flags & HVK_PTE_PCD) ? "uc" : "wb");
        if (r->cpu >= 0)
            hvk_line_dec(&l, "cpu", (u64)r->cpu);
        hvk_line_end(&l);
    }
    for (u32 i = 0; i < hvk_hole_count; i++) {
        const struct hvk_hole *h = &hvk_holes[i];
        hvk_line_begin(&l, "hole");
        hvk_line_str(&l, "name", h->name);
        hvk_line_hex(&l, "va", h->va);
        hvk_line_hex(&l, "end", h->end);
        hvk_line_dec(&l, "level", (u64)h->level);
        hvk_line_str(&l, "entry", hvk_level_entry(h->level));
        hvk_line_end(&l);
    }
    hvk_line_begin(&l, "demand");
    hvk_line_hex(&l, "va", HVK_DEMAND_VA);
    hvk_line_hex(&l, "end", HVK_DEMAND_VA + HVK_DEMAND_PAGES * HVK_PAGE_SIZE);
    hvk_line_dec(&l, "pages", HVK_DEMAND_PAGES);
    hvk_line_dec(&l, "per_cpu", HVK_DEMAND_PAGES_PER_CPU);
    hvk_line_dec(&l, "level", 1);
    hvk_line_str(&l, "entry", "pte");
    hvk_line_end(&l);
    hvk_faults_report_lab();
    hvk_line_begin(&l, "page");
    hvk_line_str(&l, "kind", "ro");
    hvk_line_str(&l, "name", "hvk_ro_page");
    hvk_line_hex(&l, "va", (u64)hvk_ro_page);
    hvk_line_end(&l);
    hvk_line_begin(&l, "page");
    hvk_line_str(&l, "kind", "nx");
    hvk_line_str(&l, "name", "hvk_nx_page");
    hvk_line_hex(&l, "va", (u64)hvk_nx_page);
    hvk_line_dec(&l, "enforced", hvk_have_nx);
    hvk_line_end(&l);
    hvk_line_begin(&l, "pool");
    hvk_line_dec(&l, "pt_pages", hvk_pt_used);
    hvk_line_dec(&l, "pt_max", HVK_PT_POOL_PAGES);
    hvk_line_end(&l);
}
