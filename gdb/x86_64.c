/* x86_64.c -- i386:x86-64 register layout and target description (x86_64-target.xml, embedded at build time). */
#include "gdbstub/x86_64.h"

#include <string.h>

/* Generated from x86_64-target.xml (see CMakeLists.txt). */
extern const char gdb_x86_64_target_xml[];
extern const size_t gdb_x86_64_target_xml_len;

#define R8(n) { n, 8 }
#define R4(n) { n, 4 }

/* Must follow the XML's regnum order exactly (checked by the unit test). */
static const struct gdb_reg_desc x86_64_regs[GDB_X86_64_NREGS] = {
    R8("rax"), R8("rbx"), R8("rcx"), R8("rdx"), R8("rsi"), R8("rdi"), R8("rbp"), R8("rsp"),
    R8("r8"), R8("r9"), R8("r10"), R8("r11"), R8("r12"), R8("r13"), R8("r14"), R8("r15"),
    R8("rip"), R4("eflags"),
    R4("cs"), R4("ss"), R4("ds"), R4("es"), R4("fs"), R4("gs"),
    { "st0", 10 }, { "st1", 10 }, { "st2", 10 }, { "st3", 10 },
    { "st4", 10 }, { "st5", 10 }, { "st6", 10 }, { "st7", 10 },
    R4("fctrl"), R4("fstat"), R4("ftag"), R4("fiseg"),
    R4("fioff"), R4("foseg"), R4("fooff"), R4("fop"),
    { "xmm0", 16 }, { "xmm1", 16 }, { "xmm2", 16 }, { "xmm3", 16 },
    { "xmm4", 16 }, { "xmm5", 16 }, { "xmm6", 16 }, { "xmm7", 16 },
    { "xmm8", 16 }, { "xmm9", 16 }, { "xmm10", 16 }, { "xmm11", 16 },
    { "xmm12", 16 }, { "xmm13", 16 }, { "xmm14", 16 }, { "xmm15", 16 },
    R4("mxcsr"),
    R8("fs_base"), R8("gs_base"), R8("k_gs_base"),
    R8("cr0"), R8("cr2"), R8("cr3"), R8("cr4"), R8("cr8"), R8("efer"),
};

static const char *x86_64_xml(const char *annex, size_t *len)
{
    if (strcmp(annex, "target.xml") != 0)
        return NULL;
    *len = gdb_x86_64_target_xml_len;
    return gdb_x86_64_target_xml;
}

const struct gdb_arch gdb_arch_x86_64 = {
    .name = "i386:x86-64",
    .nregs = GDB_X86_64_NREGS,
    .regs = x86_64_regs,
    .pc_regnum = GDB_X86_64_RIP,
    .xml = x86_64_xml,
};
