/* mini.S -- a tiny PVH guest for the dump tests: enters long mode with a
 * small, varied page table (4 KiB / 2 MiB pages, RO, user, NX, a hole, a
 * high-half alias), says "ready" on COM1 and halts, so QEMU can dump it. */
#define P  0x1
#define RW 0x2
#define US 0x4
#define PS 0x80
#define XD 0x8000000000000000

    .section .note.Xen, "a"
    .p2align 2
    .long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long mini_start32

    .text
    .code32
    .globl mini_start32
mini_start32:
    cli
    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x900, %eax                /* LME | NXE */
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax           /* PG | WP | PE */
    movl %eax, %cr0
    lgdt gdtr
    ljmp $0x08, $mini_start64

    .code64
mini_start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movabsq $(0xffffffff80000000 + mini_high), %rax
    jmp *%rax
mini_high:
    leaq msg(%rip), %rsi
1:  movb (%rsi), %al
    testb %al, %al
    jz 2f
    movw $0x3f8, %dx
    outb %al, %dx
    incq %rsi
    jmp 1b
2:  hlt
    jmp 2b

msg: .asciz "ready\n"

    .data
    .p2align 3
gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 64-bit code */
    .quad 0x00cf92000000ffff        /* flat data */
gdtr:
    .word gdtr - gdt - 1
    .long gdt

    .p2align 12
pml4:
    .quad pdpt + (P | RW | US)
    .fill 510, 8, 0
    .quad pdpt_hi + (P | RW)        /* 0xffffff8000000000 */
pdpt:
    .quad pd + (P | RW | US)
    .fill 511, 8, 0
pdpt_hi:
    .fill 510, 8, 0
    .quad pd_hi + (P | RW)          /* 0xffffffff80000000 */
    .quad 0
pd:
    .quad pt + (P | RW | US)                        /* 0x000000-0x1fffff: 4 KiB */
    .quad 0x200000 + (P | RW | PS) + XD             /* 0x200000: 2 MiB RW NX */
    .quad 0x400000 + (P | US | PS)                  /* 0x400000: 2 MiB user RO */
    .fill 509, 8, 0
pd_hi:
    .quad pt + (P | RW)                             /* high half aliases low 2 MiB */
    .fill 511, 8, 0
pt:
    .fill 16, 8, 0                                  /* 0x0000-0xffff: hole */
    .quad 0x10000 + (P | US)                        /* user RO */
    .quad 0x11000 + (P | RW | US) + XD              /* user RW NX */
    .quad 0                                         /* hole */
    .quad 0x13000 + (P | RW)                        /* supervisor RW */
    .quad 0x50000 + (P | RW)                        /* not identity */
    .fill 235, 8, 0
    /* 0x100000-0x1fffff: the image, identity, supervisor RW */
    .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .quad 0x100000 + \i * 0x1000 + (P | RW)
    .endr
    .fill 240, 8, 0
