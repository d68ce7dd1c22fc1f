/* boot.S -- PVH entry: a 32-bit stub (identity-mapped) that enters long mode and jumps to the high-half kernel. */
#include "layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER   0xc0000080
#define EFER_LME   (1 << 8)
#define EFER_NXE   (1 << 11)
#define CR0_PE     (1 << 0)
#define CR0_WP     (1 << 16)
#define CR0_PG     (1 << 31)
#define CR4_PAE    (1 << 5)

/* Boot GDT selectors (only used until the kernel loads its own GDT). */
#define BOOT_CS64  0x08
#define BOOT_CS32  0x10
#define BOOT_DS    0x18

/* The PVH note. QEMU reads the descriptor of an ELF64 note as 64 bits, so it
 * is emitted as 8 bytes holding the 32-bit entry; hv accepts 4 or 8. */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4
	.long 8
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.p2align 2
	.quad hvk_pvh_entry
	.p2align 2

	.section .boot.text, "ax"
	.code32
/* Every vCPU enters here (docs/guest-abi.md): paging off, EBX = start_info.
 * Nothing here writes shared memory except the arrival counter, so any
 * number of vCPUs may run it at once. */
	.globl hvk_pvh_entry
hvk_pvh_entry:
	cli
	cld
	mov %ebx, %esi                  /* start_info GPA, kept in esi */
	lgdt boot_gdt_desc
	ljmp $BOOT_CS32, $1f
1:	mov $BOOT_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs

	mov $1, %eax
	cpuid
	shr $24, %ebx
	mov %ebx, %edi                  /* vCPU index = initial APIC ID */
	lock incl hvk_boot_arrived_phys  /* the kernel's counter, by its physical address */

	/* EFER: long mode, and NX if CPUID.80000001H:EDX[20] offers it. */
	mov $0x80000000, %eax
	cpuid
	xor %ebp, %ebp
	cmp $0x80000001, %eax
	jb 2f
	mov $0x80000001, %eax
	cpuid
	bt $20, %edx
	jnc 2f
	mov $EFER_NXE, %ebp
2:	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	or %ebp, %eax
	wrmsr

	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $BOOT_CS64, $3f

	.code64
3:	mov $BOOT_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %esi, %esi                  /* zero-extend: upper halves are undefined here */
	mov %edi, %edi
	movabs $hvk_start64, %rax
	jmp *%rax

	.section .boot.data, "aw"
	.p2align 3
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf9a000000ffff        /* 0x10: 32-bit code */
	.quad 0x00cf92000000ffff        /* 0x18: data */
boot_gdt_desc:
	.word boot_gdt_desc - boot_gdt - 1
	.long boot_gdt


/* Boot page tables: the first 1 GiB identity-mapped and at HVK_KERNEL_VMA,
 * 2 MiB pages. Static and never written, so late vCPUs can still use them;
 * the kernel switches to its own tables (without the identity map). */
	.p2align 12
boot_pml4:
	.quad boot_pdpt_lo + 3
	.fill 510, 8, 0
	.quad boot_pdpt_hi + 3
boot_pdpt_lo:
	.quad boot_pd + 3
	.fill 511, 8, 0
boot_pdpt_hi:
	.fill 510, 8, 0
	.quad boot_pd + 3
	.quad 0
boot_pd:
	.set i, 0
	.rept 512
	.quad (i << 21) | 0x83
	.set i, i + 1
	.endr

/* High-half 64-bit start: pick this vCPU's stack and call C. */
	.text
	.globl hvk_start64
hvk_start64:
	cmp $HVK_MAX_CPUS, %rdi
	jae 5f
	mov %rdi, %rax
	imul $HVK_STACK_AREA_SIZE, %rax
	movabs $hvk_stack_areas, %rsp
	add %rax, %rsp
	add $(HVK_PAGE_SIZE + HVK_KSTACK_SIZE), %rsp   /* top of the kernel stack */
	xor %ebp, %ebp
	call hvk_entry                  /* (cpu, start_info_pa); does not return */
5:	cli                             /* more vCPUs than the guest supports: park */
	hlt
	jmp 5b
