/* trap.c -- GDT, per-vCPU TSS, IDT; exception dispatch: demand paging, probes, syscalls, fatal reports. */
#include "cpu.h"
#include "hvk.h"

#define HVK_GDT_ENTRIES (5 + 2 * HVK_MAX_CPUS)
#define HVK_IDT_ENTRIES 256

static u64 hvk_gdt[HVK_GDT_ENTRIES] __attribute__((aligned(16)));
static u64 hvk_idt[HVK_IDT_ENTRIES * 2] __attribute__((aligned(16)));
struct hvk_cpu hvk_cpus[HVK_MAX_CPUS];
struct hvk_stack_area hvk_stack_areas[HVK_MAX_CPUS] __attribute__((section(".bss.stacks"), aligned(HVK_PAGE_SIZE)));

/* Serializes demand mapping: a PTE goes from 0 to present exactly once. */
static volatile u32 hvk_demand_lock;
volatile u64 hvk_demand_faults;
volatile u64 hvk_demand_spurious;
static volatile u32 hvk_exiting;
/* The per-class counts are exact at exit unless a vCPU died: then the
 * others may still be running (and faulting) while they are printed. */
static volatile u32 hvk_counts_inexact;

static const char *const hvk_vec_names[32] = {
    "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "RSV15",
    "MF", "AC", "MC", "XM", "VE", "CP", "RSV22", "RSV23", "RSV24", "RSV25", "RSV26", "RSV27", "HV", "VC", "SX", "RSV31",
};

struct hvk_cpu *hvk_cpu_self(void)
{
    u64 rsp = (u64)__builtin_frame_address(0);
    u64 base = (u64)hvk_stack_areas;
    if (rsp < base || rsp >= base + sizeof hvk_stack_areas)
        return NULL;
    return &hvk_cpus[(rsp - base) / sizeof(struct hvk_stack_area)];
}

static void hvk_idt_set(u32 vec, u64 handler, u32 dpl, u32 ist)
{
    u64 type = 0x8e | (dpl << 5);          /* present 64-bit interrupt gate: IF stays 0 */
    hvk_idt[2 * vec] = (handler & 0xffff) | ((u64)HVK_SEL_KCODE << 16) | ((u64)ist << 32) |
                       (type << 40) | (((handler >> 16) & 0xffff) << 48);
    hvk_idt[2 * vec + 1] = handler >> 32;
}

static u64 hvk_idt_handler(u32 vec)
{
    u64 lo = hvk_idt[2 * vec], hi = hvk_idt[2 * vec + 1];
    return (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | ((hi & 0xffffffff) << 32);
}

/* The caller makes sure no vCPU takes `vec` while its gate is rewritten
 * (the IDT is shared and a gate is two stores). Returns the old handler. */
u64 hvk_trap_set_handler(u32 vec, u64 handler)
{
    u64 old = hvk_idt_handler(vec);
    u64 lo = hvk_idt[2 * vec];
    u32 dpl = (u32)(lo >> 45) & 3, ist = (u32)(lo >> 32) & 7;
    hvk_idt_set(vec, handler, dpl, ist);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return old;
}

void hvk_trap_init(void)
{
    hvk_gdt[0] = 0;
    hvk_gdt[1] = 0x00af9a000000ffffull;    /* 0x08 kernel code, 64-bit */
    hvk_gdt[2] = 0x00cf92000000ffffull;    /* 0x10 kernel data */
    hvk_gdt[3] = 0x00cff2000000ffffull;    /* 0x18 user data, DPL 3 */
    hvk_gdt[4] = 0x00affa000000ffffull;    /* 0x20 user code, 64-bit, DPL 3 */
    for (u32 i = 0; i < HVK_MAX_CPUS; i++) {
        struct hvk_cpu *c = &hvk_cpus[i];
        u64 base = (u64)&c->tss, limit = sizeof c->tss - 1;
        c->index = i;
        c->tss.iomap_base = sizeof c->tss;  /* no I/O bitmap: CPL3 port access faults */
        c->tss.rsp0 = (u64)hvk_stack_areas[i].kstack + HVK_KSTACK_SIZE;
        c->tss.ist[0] = (u64)hvk_stack_areas[i].dfstack + HVK_DFSTACK_SIZE;
        c->user.rsp0 = (u8 *)&c->tss + __builtin_offsetof(struct hvk_tss, rsp0);
        hvk_gdt[5 + 2 * i] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
        hvk_gdt[6 + 2 * i] = base >> 32;
    }
    for (u32 v = 0; v < 32; v++)
        hvk_idt_set(v, (u64)hvk_isr_table + 16 * v, 0, v == 8 ? 1 : 0);
    hvk_idt_set(HVK_VEC_SYSCALL, (u64)hvk_isr_table + 16 * 32, 3, 0);
}

void hvk_trap_load(u32 cpu)
{
    struct { u16 limit; u64 base; } __attribute__((packed)) gdtr = { sizeof hvk_gdt - 1, (u64)hvk_gdt },
                                                             idtr = { sizeof hvk_idt - 1, (u64)hvk_idt };
    u16 tss = (u16)(HVK_SEL_TSS0 + 16 * cpu);
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %2, %%ds\n\t"
                     "mov %2, %%es\n\t"
                     "mov %2, %%ss\n\t"
                     "mov %3, %%fs\n\t"
                     "mov %3, %%gs\n\t"
                     "ltr %4\n\t"
                     "lidt %5"
                     :
                     : "m"(gdtr), "i"(HVK_SEL_KCODE), "r"((u32)HVK_SEL_KDATA), "r"(0u), "r"(tss), "m"(idtr)
                     : "rax", "memory");
}

volatile u64 hvk_int80_emulated;

HVK_NORETURN void hvk_exit(u32 status)
{
    struct hvk_line l;
    hvk_faults_report(!hvk_counts_inexact);
    hvk_line_begin(&l, "stats");
    hvk_line_dec(&l, "counter", hvk_workload_counter);
    hvk_line_dec(&l, "demand_faults", hvk_demand_faults);
    hvk_line_dec(&l, "demand_spurious", hvk_demand_spurious);
    hvk_line_dec(&l, "int80_ud", hvk_int80_emulated);
    hvk_line_end(&l);
    hvk_line_begin(&l, "exit");
    hvk_line_dec(&l, "status", status);
    hvk_line_end(&l);
    hvk_outl(HVK_PORT_EXIT, status);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Demand paging: a not-present fault inside the region gets a fresh zeroed
 * frame. Returns true when the fault is resolved (also when another vCPU
 * mapped the page first: a spurious fault). */
static bool hvk_demand_fault(struct hvk_cpu *c, u64 cr2, u64 err)
{
    u64 *pte = hvk_demand_pte(cr2);
    u64 pa;
    struct hvk_line l;
    if (!pte || (err & (HVK_PF_P | HVK_PF_U | HVK_PF_I)))
        return false;
    while (__atomic_exchange_n(&hvk_demand_lock, 1, __ATOMIC_ACQUIRE))
        hvk_pause();
    if (*pte & HVK_PTE_P) {
        hvk_demand_spurious++;
        __atomic_store_n(&hvk_demand_lock, 0, __ATOMIC_RELEASE);
        return true;
    }
    pa = hvk_frame_alloc();
    if (pa) {
        hvk_zero_page(hvk_phys_to_virt(pa));
        *pte = pa | HVK_PTE_P | HVK_PTE_RW | (hvk_have_nx ? HVK_PTE_NX : 0);
        hvk_demand_faults++;
        c->demand_faults++;
    }
    __atomic_store_n(&hvk_demand_lock, 0, __ATOMIC_RELEASE);
    if (!pa)
        return false;
    hvk_line_begin(&l, "demand-map");
    hvk_line_dec(&l, "cpu", c->index);
    hvk_line_hex(&l, "va", cr2 & ~(u64)(HVK_PAGE_SIZE - 1));
    hvk_line_hex(&l, "pa", pa);
    hvk_line_end(&l);
    return true;
}

/* Kernel probes (entry.S): turn the fault into a return value. The fixed
 * RIPs are in the fixup table (faults.c); the exec probe's RIP is its target. */
static bool hvk_probe_fixup(struct hvk_cpu *c, struct hvk_trapframe *tf, u64 cr2)
{
    if (hvk_faults_fixup(tf))
        return true;
    if (c->exec_probe_va && tf->rip == c->exec_probe_va && cr2 == c->exec_probe_va) {
        c->exec_probe_va = 0;
        tf->rax = tf->err;
        tf->rip = *(u64 *)tf->rsp;          /* return address of the probe's call */
        tf->rsp += 8;
        return true;
    }
    return false;
}

static HVK_NORETURN void hvk_fatal(struct hvk_cpu *c, struct hvk_trapframe *tf, u64 cr2)
{
    struct hvk_line l;
    u32 cpu = c ? c->index : 0;
    /* Only the first vCPU to die reports; the others stop where they are. */
    if (__atomic_exchange_n(&hvk_exiting, 1, __ATOMIC_ACQ_REL))
        for (;;)
            __asm__ volatile("cli; hlt");
    hvk_console_break_lock(cpu);
    hvk_counts_inexact = 1;
    hvk_line_begin(&l, "fault");
    hvk_line_dec(&l, "cpu", cpu);
    hvk_line_dec(&l, "vec", tf->vec);
    hvk_line_str(&l, "name", tf->vec < 32 ? hvk_vec_names[tf->vec] : "INT");
    hvk_line_hex(&l, "err", tf->err);
    hvk_line_hex(&l, "rip", tf->rip);
    hvk_line_hex(&l, "cr2", cr2);
    hvk_line_hex(&l, "rsp", tf->rsp);
    hvk_line_hex(&l, "cs", tf->cs);
    hvk_line_hex(&l, "rflags", tf->rflags);
    hvk_line_hex(&l, "cr3", hvk_read_cr3());
    hvk_line_end(&l);
    hvk_exit(HVK_STATUS_FAULT);
}

/* kvm_pvm (this machine's KVM) raises #UD for `int N` at CPL3 instead of
 * delivering the vector; `syscall` there jumps to LSTAR but stays at CPL3.
 * So a #UD whose RIP is an `int $0x80` (CD 80) in user text is taken as that
 * system call; any other #UD is still a fault. Counted (hvk_int80_emulated)
 * for the `stats` line, since each is a #UD a fault tracer will see. */

static bool hvk_is_user_int80(u64 rip)
{
    const u8 *p = (const u8 *)rip;
    if (rip < HVK_USER_TEXT_VA || rip + 2 > (u64)__hvk_user_text_end)
        return false;
    if (p[0] != 0xcd || p[1] != HVK_VEC_SYSCALL)
        return false;
    __atomic_add_fetch(&hvk_int80_emulated, 1, __ATOMIC_RELAXED);
    return true;
}

void hvk_trap(struct hvk_trapframe *tf);
void hvk_trap(struct hvk_trapframe *tf)
{
    struct hvk_cpu *c = hvk_cpu_self();
    bool from_user = (tf->cs & 3) == 3;
    u64 cr2 = tf->vec == 14 ? hvk_read_cr2() : 0;

    if (c)
        hvk_faults_count_vector(c, tf->vec);
    if (c && from_user && (tf->vec == HVK_VEC_SYSCALL || (tf->vec == 6 && hvk_is_user_int80(tf->rip)))) {
        if (tf->rax == HVK_SYS_EXIT)
            hvk_user_resume(c->user.kernel_rsp, tf->rdi);
        tf->rax = ~0ull;                   /* unknown system call */
        return;
    }
    if (c && tf->vec == 14) {
        /* Counted and classified before anything resolves it: the walk
         * must see the tables as the faulting access did (as hv does). */
        enum hvk_fcl cls = hvk_faults_classify_pf(c, cr2, tf->err);
        if (hvk_demand_fault(c, cr2, tf->err))
            return;
        if (!from_user && hvk_faults_lab_demand(c, cr2, tf->err))
            return;
        if (cls == HVK_FCL_SPURIOUS) {
            hvk_invlpg(cr2);               /* the tables allow it now: retry */
            return;
        }
        /* The user probes' first instruction is their only access. */
        if (from_user && c->user_probe_armed &&
            (tf->rip == (u64)hvk_user_probe_read || tf->rip == (u64)hvk_user_probe_write)) {
            c->user_probe_armed = false;
            hvk_user_resume(c->user.kernel_rsp, (1ull << 63) | tf->err);
        }
        if (!from_user && hvk_probe_fixup(c, tf, cr2))
            return;
    }
    if (c && !from_user && tf->vec != 14 && hvk_faults_fixup(tf))
        return;
    hvk_fatal(c, tf, cr2);
}
