/* x86_64.h -- the i386:x86-64 register numbering the stub uses (the order of x86_64-target.xml). */
#ifndef GDBSTUB_X86_64_H
#define GDBSTUB_X86_64_H

#include "gdbstub/arch.h"

/* gdb register numbers (as in 'p'/'P' packets and the ops' regnum). Sizes:
 * 8 bytes unless noted. */
enum gdb_x86_64_reg {
    GDB_X86_64_RAX, GDB_X86_64_RBX, GDB_X86_64_RCX, GDB_X86_64_RDX,
    GDB_X86_64_RSI, GDB_X86_64_RDI, GDB_X86_64_RBP, GDB_X86_64_RSP,
    GDB_X86_64_R8, GDB_X86_64_R9, GDB_X86_64_R10, GDB_X86_64_R11,
    GDB_X86_64_R12, GDB_X86_64_R13, GDB_X86_64_R14, GDB_X86_64_R15,
    GDB_X86_64_RIP,
    GDB_X86_64_EFLAGS,                 /* 4 bytes */
    GDB_X86_64_CS, GDB_X86_64_SS, GDB_X86_64_DS, /* selectors: 4 bytes each */
    GDB_X86_64_ES, GDB_X86_64_FS, GDB_X86_64_GS,
    GDB_X86_64_ST0,                    /* st0..st7: 10 bytes each */
    GDB_X86_64_FCTRL = GDB_X86_64_ST0 + 8, /* fctrl..fop: 4 bytes each */
    GDB_X86_64_FSTAT, GDB_X86_64_FTAG, GDB_X86_64_FISEG, GDB_X86_64_FIOFF,
    GDB_X86_64_FOSEG, GDB_X86_64_FOOFF, GDB_X86_64_FOP,
    GDB_X86_64_XMM0,                   /* xmm0..xmm15: 16 bytes each */
    GDB_X86_64_MXCSR = GDB_X86_64_XMM0 + 16, /* 4 bytes */
    GDB_X86_64_FS_BASE, GDB_X86_64_GS_BASE, GDB_X86_64_K_GS_BASE,
    GDB_X86_64_CR0, GDB_X86_64_CR2, GDB_X86_64_CR3, GDB_X86_64_CR4,
    GDB_X86_64_CR8, GDB_X86_64_EFER,
    GDB_X86_64_NREGS
};

extern const struct gdb_arch gdb_arch_x86_64;

#endif
