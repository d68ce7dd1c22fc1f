/* embedded_guest.S -- the bundled guest's ELF file, included byte for byte. */
    .section .rodata
    .balign 16
    .globl hv_embedded_guest_start
hv_embedded_guest_start:
    .incbin HV_GUEST_ELF_PATH
    .globl hv_embedded_guest_end
hv_embedded_guest_end:
    .section .note.GNU-stack,"",@progbits
