/* arch.h -- how a target architecture is described to the gdb stub: register layout and target XML. */
#ifndef GDBSTUB_ARCH_H
#define GDBSTUB_ARCH_H

#include <stddef.h>
#include <stdint.h>

struct gdb_reg_desc {
    const char *name;
    uint16_t size; /* bytes, in target byte order on the wire */
};

struct gdb_arch {
    const char *name;                 /* gdb's architecture name, e.g. "i386:x86-64" */
    size_t nregs;                     /* registers 0..nregs-1, all of them in the 'g' packet, in order */
    const struct gdb_reg_desc *regs;
    int pc_regnum;                    /* written by 'c ADDR' / 's ADDR' */
    /* Target description documents served by qXfer:features:read, looked up by
     * annex ("target.xml" first). NULL when the annex is unknown. */
    const char *(*xml)(const char *annex, size_t *len);
};

/* Bytes of a 'g' packet's register block (sum of all sizes). */
size_t gdb_arch_regs_bytes(const struct gdb_arch *a);

#endif
