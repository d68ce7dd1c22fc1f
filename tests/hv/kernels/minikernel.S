/* minikernel.S -- tiny PVH kernels that exercise one hv behaviour each.
 * Selected at build time by TEST_KIND; TEST_NO_NOTE, TEST_BIG_BSS and
 * TEST_ENTRY_OUTSIDE make deliberately broken images. All code is 32-bit
 * protected mode, straight from the PVH entry, paging off. */
#define KIND_HELLO   1  /* print a line per vCPU, vCPU 0 exits with status 7 */
#define KIND_TRIPLE  2  /* load an empty IDT and raise #UD: triple fault */
#define KIND_BADPORT 3  /* out to a port with no device */
#define KIND_BADMMIO 4  /* read a GPA outside RAM and every device */
#define KIND_HALT    5  /* every vCPU halts */
#define KIND_SPIN    6  /* loop forever (hv must stop on SIGTERM) */
#define KIND_CMDLINE 7  /* echo the command line from hvm_start_info, exit 0 */
#define KIND_OUTLOOP 8  /* 100000 port writes (one VM exit each), then exit 0: the bare exit round trip */

#define UART 0x3f8
#define EXIT_PORT 0x501

    .code32
    .section .text.boot, "ax"
    .globl pvh_entry
pvh_entry:
    /* APIC ID of this vCPU: CPUID.01H:EBX[31:24] */
    mov %ebx, %edi              /* keep start_info */
    mov $1, %eax
    cpuid
    shr $24, %ebx
    mov %ebx, %esi              /* esi = vCPU index */
    /* PVH gives no stack: 256 bytes per vCPU, for up to 16 vCPUs */
    and $15, %ebx
    inc %ebx
    shl $8, %ebx
    lea stacks(%ebx), %esp
#if TEST_KIND == KIND_HELLO
    /* serialize the console with a spinlock */
1:  mov $1, %eax
    xchg %eax, console_lock
    test %eax, %eax
    jnz 1b
    lea msg_hello, %ecx
    call puts
    mov %esi, %eax
    add $'0', %eax
    mov $UART, %dx
    out %al, %dx
    mov $'\n', %al
    out %al, %dx
    movl $0, console_lock
    test %esi, %esi
    jnz halt_forever
    /* vCPU 0: wait until every other vCPU has printed (they do it fast) */
    mov $200000, %ecx
2:  dec %ecx
    jnz 2b
    mov $7, %eax
    mov $EXIT_PORT, %dx
    out %eax, %dx
    jmp halt_forever
#elif TEST_KIND == KIND_TRIPLE
    lidt empty_idt
    ud2
#elif TEST_KIND == KIND_BADPORT
    mov $0x42, %al
    mov $0x80, %dx
    out %al, %dx
    jmp halt_forever
#elif TEST_KIND == KIND_BADMMIO
    mov $0xe0000000, %ebx
    mov (%ebx), %eax
    jmp halt_forever
#elif TEST_KIND == KIND_HALT
    jmp halt_forever
#elif TEST_KIND == KIND_SPIN
3:  pause
    jmp 3b
#elif TEST_KIND == KIND_CMDLINE
    test %esi, %esi
    jnz halt_forever
    mov 24(%edi), %ecx          /* hvm_start_info.cmdline_paddr (low 32 bits) */
    call puts
    mov $'\n', %al
    mov $UART, %dx
    out %al, %dx
    mov $0, %eax
    mov $EXIT_PORT, %dx
    out %eax, %dx
    jmp halt_forever
#elif TEST_KIND == KIND_OUTLOOP
    test %esi, %esi
    jnz halt_forever
    mov $100000, %ecx
    mov $UART + 7, %dx          /* the UART's scratch register: a served port */
6:  out %al, %dx
    dec %ecx
    jnz 6b
    mov $0, %eax
    mov $EXIT_PORT, %dx
    out %eax, %dx
    jmp halt_forever
#else
#error unknown TEST_KIND
#endif

halt_forever:
    cli
    hlt
    jmp halt_forever

/* puts: print the NUL-terminated string at %ecx. Clobbers eax, ecx, edx. */
puts:
    mov $UART, %dx
4:  movb (%ecx), %al
    test %al, %al
    jz 5f
    out %al, %dx
    inc %ecx
    jmp 4b
5:  ret

    .section .data
    .balign 8
empty_idt:
    .word 0
    .long 0
console_lock:
    .long 0
msg_hello:
    .asciz "hello from vCPU "

    .section .bss
    .balign 16
stacks:
    .skip 16 * 256 + 16

#ifdef TEST_BIG_BSS
    .section .bss
    .skip 128 * 1024 * 1024
#endif

#ifndef TEST_NO_NOTE
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                     /* namesz */
    .long 8                     /* descsz */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
#ifdef TEST_ENTRY_OUTSIDE
    .quad 0x00f00000
#else
    .quad pvh_entry
#endif
    .balign 4
#endif

    .section .note.GNU-stack, "", @progbits
