/* arch.c -- helpers over an architecture's register description. */
#include "gdbstub/arch.h"

size_t gdb_arch_regs_bytes(const struct gdb_arch *a)
{
    size_t n = 0;

    for (size_t i = 0; i < a->nregs; i++)
        n += a->regs[i].size;
    return n;
}
