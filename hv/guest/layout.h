/* layout.h -- the bundled guest's fixed address-space layout, shared by C, assembly and the linker script. */
#ifndef HVK_LAYOUT_H
#define HVK_LAYOUT_H

/* Guest image: the 32-bit boot stub runs identity-mapped at 1 MiB; the kernel
 * proper is linked at HVK_KERNEL_VMA + its physical address (Linux's
 * __START_KERNEL_map), starting at HVK_KERNEL_PHYS. Invariant: the kernel image
 * (text .. bss) fits in one 2 MiB page-table page, [2 MiB, 4 MiB). */
#define HVK_BOOT_PHYS          0x100000
#define HVK_KERNEL_PHYS        0x200000
#define HVK_KERNEL_VMA         0xffffffff80000000
#define HVK_KERNEL_PHYS_LIMIT  0x400000

#define HVK_MAX_CPUS           8
#define HVK_PAGE_SIZE          0x1000
#define HVK_KSTACK_SIZE        0x4000
#define HVK_DFSTACK_SIZE       0x1000
/* One hvk_stack_area per vCPU: guard | kernel stack | guard | #DF IST stack. */
#define HVK_STACK_AREA_SIZE    (HVK_PAGE_SIZE + HVK_KSTACK_SIZE + HVK_PAGE_SIZE + HVK_DFSTACK_SIZE)

/* Final address space (see REPORT.md for what is reported about each). */
#define HVK_DIRECT_MAP_VA      0xffff888000000000  /* all RAM, 2 MiB pages, RW NX */
#define HVK_DEMAND_VA          0xffffc90000000000  /* starts not-present, #PF maps it */
#define HVK_DEMAND_PAGES_PER_CPU 8
#define HVK_DEMAND_PAGES       (HVK_MAX_CPUS * HVK_DEMAND_PAGES_PER_CPU)
/* The fault lab (faults.c): tables down to its PT exist, every PTE is clear
 * at `ready` and again when the faults battery ends. vCPU i owns the pages
 * [i*PER_CPU, (i+1)*PER_CPU); the shared pages follow. */
#define HVK_LAB_VA             0xffffc90000200000
#define HVK_LAB_PAGES_PER_CPU  8
#define HVK_LAB_SHARED_PAGES   8
#define HVK_LAB_PAGES          (HVK_MAX_CPUS * HVK_LAB_PAGES_PER_CPU + HVK_LAB_SHARED_PAGES)
/* The lab's 2 MiB slot: the PDE after the lab's PT (same PD), not present
 * except while faults.c probes a 2 MiB PDE with a reserved bit in it. */
#define HVK_LAB_PDE_VA         0xffffc90000400000
#define HVK_MMIO_VA            0xffffffffc0000000  /* the test MMIO window, PCD|PWT */
#define HVK_MMIO_PA            0xd0000000
#define HVK_MMIO_SIZE          0x1000

#define HVK_USER_TEXT_VA       0x400000
#define HVK_USER_TEXT_MAX      0xf000
#define HVK_USER_HOLE_VA       0x40f000            /* PTE not present */
#define HVK_USER_DATA_VA       0x410000            /* one page per vCPU */
#define HVK_USER_STACK_VA      0x420000            /* per vCPU: guard page + stack */
#define HVK_USER_STACK_PAGES   3
#define HVK_USER_STACK_STRIDE  0x4000

#define HVK_HOLE_PML4E_VA      0x0000008000000000  /* PML4[1] not present */
#define HVK_HOLE_PDPTE_VA      0x0000000040000000  /* user PDPT[1] not present */
#define HVK_HOLE_PDE_VA        0x0000000000200000  /* user PD[1] not present */

/* GDT selectors of the running kernel (boot.S has its own boot GDT). */
#define HVK_SEL_KCODE          0x08
#define HVK_SEL_KDATA          0x10
#define HVK_SEL_UDATA          0x1b
#define HVK_SEL_UCODE          0x23
#define HVK_SEL_TSS0           0x28

#define HVK_VEC_SYSCALL        0x80  /* DPL3 gate; see trap.c for kvm_pvm's #UD */
#define HVK_SYS_EXIT           0   /* int $0x80, rax=0: leave user mode, rdi = result */

/* Exit-port statuses (docs/guest-abi.md: 0-63). */
#define HVK_STATUS_OK          0
#define HVK_STATUS_TEST_FAILED 1
#define HVK_STATUS_FAULT       2
#define HVK_STATUS_BOOT_ERROR  3

#define HVK_PORT_EXIT          0x501
#define HVK_PORT_UART          0x3f8

#endif
