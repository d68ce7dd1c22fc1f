/* hvk.h -- types, per-vCPU state and the interfaces between the bundled guest's modules. */
#ifndef HVK_H
#define HVK_H

#include "layout.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
#ifndef __cplusplus
typedef _Bool bool;
#endif
#define true 1
#define false 0
#define NULL ((void *)0)

#define HVK_NORETURN __attribute__((noreturn))
#define HVK_NOINLINE __attribute__((noinline))

/* Page-table entry bits. */
#define HVK_PTE_P    (1ull << 0)
#define HVK_PTE_RW   (1ull << 1)
#define HVK_PTE_US   (1ull << 2)
#define HVK_PTE_PWT  (1ull << 3)
#define HVK_PTE_PCD  (1ull << 4)
#define HVK_PTE_PS   (1ull << 7)
#define HVK_PTE_NX   (1ull << 63)
#define HVK_PTE_ADDR 0x000ffffffffff000ull

/* #PF error-code bits. */
#define HVK_PF_P     0x1
#define HVK_PF_W     0x2
#define HVK_PF_U     0x4
#define HVK_PF_RSVD  0x8
#define HVK_PF_I     0x10

/* The 64-bit TSS. */
struct hvk_tss {
    u32 rsv0;
    u64 rsp0, rsp1, rsp2;
    u64 rsv1;
    u64 ist[7];
    u64 rsv2;
    u16 rsv3;
    u16 iomap_base;
} __attribute__((packed));

/* Saved on every exception/interrupt by entry.S; field order is the push order reversed. */
struct hvk_trapframe {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    u64 vec, err;
    u64 rip, cs, rflags, rsp, ss;
};

/* What hvk_user_enter saves to come back from user mode; entry.S knows the layout. */
struct hvk_user_ctx {
    u64 kernel_rsp;   /* rsp after hvk_user_enter saved the callee-saved registers */
    void *rsp0;       /* &tss.rsp0 of this vCPU (unaligned in the packed TSS): set to kernel_rsp on every entry */
};

/* What the guest itself counts of the faults it caused (faults.c), in the
 * classes of DESIGN.md "Faults" (names: hvk_fcl_name). Every #PF is
 * classified once, in the handler, by the walk of CR2 under the current
 * tables and the error code's access -- as hv does at the handler's first
 * instruction -- so the counts are what happened, not what was intended. */
enum hvk_fcl {
    HVK_FCL_NOT_PRESENT,
    HVK_FCL_PROT_WRITE,
    HVK_FCL_PROT_USER,
    HVK_FCL_PROT_NX,
    HVK_FCL_RESERVED_BIT,
    HVK_FCL_SPURIOUS,
    HVK_FCL_PF_OTHER,       /* a #PF whose walk blames nothing the guest can name (never expected) */
    HVK_FCL_MMIO,           /* access instructions to the test MMIO window */
    HVK_FCL__COUNT
};
struct hvk_fault_counts {
    u64 cls[HVK_FCL__COUNT];
    u64 not_present_level[5];   /* [1..4]: the level whose entry was not present */
    u64 vec[32];                /* every exception taken, by vector (14 included) */
};

/* Per-vCPU state. Only its own vCPU writes it, except `done`/`failed`, which the BSP reads. */
struct hvk_cpu {
    u32 index;
    volatile u32 online;
    volatile u32 done;          /* selftest: finished its per-vCPU checks */
    volatile u32 failed;        /* selftest: number of failed checks */
    struct hvk_user_ctx user;
    bool user_probe_armed;      /* a #PF from CPL3 ends the user task instead of the VM */
    u64 exec_probe_va;          /* a fetch #PF at this VA returns to the probe's caller */
    u64 iterations;
    u64 demand_faults;          /* demand-region pages this vCPU mapped */
    struct hvk_fault_counts faults;   /* only its own vCPU writes; read at exit when it is quiescent */
    u32 faults_failed;          /* faults battery: failed checks */
    volatile u32 faults_done;   /* faults battery finished on this vCPU */
    u64 spur_cr2;               /* last spurious #PF address, and how often in a row */
    u32 spur_repeat;
    u64 chain_ret[4];           /* return addresses the leaf saw, innermost first */
    u64 model_data[512];        /* scratch for the C model of the user task */
    struct hvk_tss tss __attribute__((aligned(16)));
};

/* One vCPU's stacks, in .bss.stacks; the guard pages are left unmapped. */
struct hvk_stack_area {
    u8 guard[HVK_PAGE_SIZE];
    u8 kstack[HVK_KSTACK_SIZE];
    u8 df_guard[HVK_PAGE_SIZE];
    u8 dfstack[HVK_DFSTACK_SIZE];
};
extern struct hvk_stack_area hvk_stack_areas[HVK_MAX_CPUS];
extern struct hvk_cpu hvk_cpus[HVK_MAX_CPUS];

/* Options from the command line (main.c). */
struct hvk_options {
    bool selftest;
    bool mmio_check;    /* selftest: MMIO reads must return what was written (hv only) */
    bool quiet;         /* no heartbeat lines */
    u64 iterations;     /* workload: stop after this many iterations per vCPU (0 = forever) */
    u64 user_iters;     /* user task loop count per workload iteration */
    u64 leaf_iters;     /* kernel leaf spin count per workload iteration */
    u64 beat;           /* heartbeat every N iterations */
    char crash[16];     /* crash=KIND: vCPU 0 faults on purpose after `ready` */
    u64 faults;         /* faults[=N]: run the fault battery N times on every vCPU (0 = off) */
    bool idt_swap;      /* faults: repoint the #PF/#GP/#UD gates before the second half of the repetitions */
};
extern struct hvk_options hvk_opts;
extern bool hvk_have_nx;
extern volatile u32 hvk_boot_arrived;

/* console.c: one line at a time, under a lock, so vCPUs never interleave. */
struct hvk_line {
    char buf[256];
    u32 len;
};
void hvk_console_init(void);
void hvk_line_begin(struct hvk_line *l, const char *kind);
void hvk_line_str(struct hvk_line *l, const char *key, const char *v);
void hvk_line_hex(struct hvk_line *l, const char *key, u64 v);
void hvk_line_dec(struct hvk_line *l, const char *key, u64 v);
void hvk_line_end(struct hvk_line *l);
void hvk_console_break_lock(u32 cpu);
bool hvk_streq(const char *a, const char *b);
void hvk_memcpy(void *d, const void *s, u64 n);

/* mem.c: the memory map and the frame allocator for demand paging. */
#define HVK_MEMMAP_MAX 32
struct hvk_memrange { u64 base, end; u32 type; };
extern struct hvk_memrange hvk_memmap[HVK_MEMMAP_MAX];
extern u32 hvk_memmap_count;
u64 hvk_frame_alloc(void);          /* 0 when RAM is exhausted */
void *hvk_phys_to_virt(u64 pa);     /* through the direct map (final tables only) */

/* paging.c: build the final address space and describe it. */
struct hvk_region {
    const char *name;
    u64 va, end, pa;
    u64 page;           /* 0x1000, 0x200000 or 0x40000000 */
    u64 flags;          /* leaf PTE bits: RW, US, PWT, PCD, NX */
    int cpu;            /* owning vCPU, or -1 */
};
struct hvk_hole {
    const char *name;
    u64 va, end;
    int level;          /* the walk fails at this level: 4 PML4E, 3 PDPTE, 2 PDE, 1 PTE */
};
#define HVK_REGIONS_MAX 64
#define HVK_HOLES_MAX 32
extern struct hvk_region hvk_regions[HVK_REGIONS_MAX];
extern u32 hvk_region_count;
extern struct hvk_hole hvk_holes[HVK_HOLES_MAX];
extern u32 hvk_hole_count;
extern u64 hvk_cr3;
int hvk_paging_build(void);                       /* 0 or -1 (pool exhausted) */
void hvk_paging_report(void);
u64 *hvk_demand_pte(u64 va);                      /* NULL if va is outside the demand region */
/* Software walk of the final tables: returns the leaf entry and its level, or
 * 0 with *level = the level whose entry is not present. */
u64 hvk_walk(u64 va, int *level);
u64 hvk_user_data_va(u32 cpu);
u64 hvk_user_stack_top(u32 cpu);
u64 hvk_user_stack_bottom(u32 cpu);

/* trap.c */
void hvk_trap_init(void);           /* BSP: build GDT, TSSs and IDT */
void hvk_trap_load(u32 cpu);        /* every vCPU: load them */
u64 hvk_trap_set_handler(u32 vec, u64 handler);   /* repoint a gate (same DPL, IST); returns the old handler */
extern volatile u64 hvk_demand_faults;
extern volatile u64 hvk_demand_spurious;
HVK_NORETURN void hvk_exit(u32 status);
struct hvk_cpu *hvk_cpu_self(void);

/* entry.S */
u64 hvk_user_enter(u64 entry, u64 user_rsp, u64 a0, u64 a1, u64 a2, struct hvk_user_ctx *ctx);
HVK_NORETURN void hvk_user_resume(u64 kernel_rsp, u64 result);
u64 hvk_probe_read(u64 va);         /* ~0 if the read succeeded, else the #PF error code */
u64 hvk_probe_write(u64 va);        /* reads then writes back the same byte */
u64 hvk_probe_exec(u64 va);         /* calls va; needs cpu->exec_probe_va = va */
u64 hvk_fx_gp(u64 va);              /* ~0, or the #GP error code of a read of va (non-canonical) */
u64 hvk_fx_ud(void);                /* the #UD of a kernel ud2: returns its error code (0) */
extern const u8 hvk_fx_gp_at[], hvk_fx_gp_done[], hvk_fx_ud_at[], hvk_fx_ud_done[];
extern const u8 hvk_probe_read_at[], hvk_probe_write_rd_at[], hvk_probe_write_at[], hvk_probe_done[];
extern const u8 hvk_isr_table[];    /* 33 stubs of 16 bytes: vectors 0-31, then 0x80 */
extern const u8 hvk_isr_table_alt[];   /* the same stubs again, at other addresses (idt-swap) */

/* user.S (user VAs) */
extern const u8 hvk_user_task[], hvk_user_probe_read[], hvk_user_probe_write[];

/* workload.c */
u64 hvk_chain_1(u64 x);
u64 hvk_chain_2(u64 x);
u64 hvk_chain_3(u64 x);
u64 hvk_chain_4(u64 x);
u64 hvk_chain_leaf(u64 x);
extern volatile u64 hvk_workload_counter;
u64 hvk_user_run(struct hvk_cpu *c, const u8 *entry, u64 a0, u64 a1);
u64 hvk_user_task_model(struct hvk_cpu *c, u64 iters, u64 seed);
void hvk_workload_step(struct hvk_cpu *c);
void hvk_chain_report(void);
HVK_NORETURN void hvk_workload_run(struct hvk_cpu *c);

/* crash.c */
bool hvk_crash_valid(const char *kind);
void hvk_crash(const char *kind);   /* returns only if the fault did not happen */

/* faults.c */
void hvk_faults_init(void);         /* BSP, before `ready`: CPU facts the classifier needs */
void hvk_faults_report_lab(void);
/* Classify a #PF now (counted on c); returns its class. */
enum hvk_fcl hvk_faults_classify_pf(struct hvk_cpu *c, u64 cr2, u64 err);
void hvk_faults_count_vector(struct hvk_cpu *c, u64 vec);
/* A kernel fault at a RIP in the fixup table resumes at its continuation with rax = error code. */
bool hvk_faults_fixup(struct hvk_trapframe *tf);
/* A not-present kernel #PF in this vCPU's lab demand pages maps them. */
bool hvk_faults_lab_demand(struct hvk_cpu *c, u64 cr2, u64 err);
u32 hvk_faults_battery(struct hvk_cpu *c);   /* returns failed checks */
void hvk_faults_report(bool exact);  /* the per-class counts, at exit */
void hvk_mmio_write32(struct hvk_cpu *c, u64 off, u32 v);
u32 hvk_mmio_read32(struct hvk_cpu *c, u64 off);
u64 *hvk_lab_pte(u64 va);           /* NULL outside the lab */
u64 *hvk_lab_pde(void);             /* the PDE of HVK_LAB_PDE_VA */

/* selftest.c */
u32 hvk_selftest_global(void);      /* BSP, before other vCPUs run: returns failures */
u32 hvk_selftest_cpu(struct hvk_cpu *c);

/* linker symbols */
extern u8 __hvk_text_start[], __hvk_text_end[], __hvk_rodata_start[], __hvk_rodata_end[];
extern u8 __hvk_data_start[], __hvk_data_end[], __hvk_bss_start[], __hvk_stacks_end[], __hvk_bss_end[];
extern u8 __hvk_kernel_end[], __hvk_user_text_start[], __hvk_user_text_end[];
extern u8 __hvk_user_text_pa[], __hvk_image_phys_end[];
extern const u8 hvk_ro_page[HVK_PAGE_SIZE];
extern u8 hvk_nx_page[HVK_PAGE_SIZE];

#define HVK_KVA_TO_PA(p) ((u64)(p) - HVK_KERNEL_VMA)

#endif
