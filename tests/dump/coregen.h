/* coregen.h -- build small ELF64 x86-64 core dumps in memory, laid out the
 * way QEMU's dump-guest-memory writes them, for the dump reader's tests. */
#ifndef COREGEN_H
#define COREGEN_H

#include <stddef.h>
#include <stdint.h>

struct coregen_seg {
    uint64_t gpa;
    const void *data;  /* filesz bytes, or NULL for zeros */
    uint64_t filesz;
    uint64_t memsz;    /* 0: same as filesz */
};

struct coregen_cpu {
    uint64_t rax, rsp, rip, rflags;
    uint64_t cr0, cr2, cr3, cr4;
    uint32_t cs_sel, cs_flags;
    uint32_t pid;
};

enum {
    COREGEN_NO_PRSTATUS = 1 << 0,
    COREGEN_NO_QEMU = 1 << 1,
};

/* Layout: Ehdr (64) | Phdrs (56 each: NOTE, then one LOAD per seg) | notes
 * (every PRSTATUS, then every QEMU note) | segment data. Returns a malloc'd
 * image (caller frees) and its length, or NULL. *note_off receives the
 * offset of the first note (may be NULL). */
uint8_t *coregen_build(const struct coregen_seg *segs, size_t nseg,
                       const struct coregen_cpu *cpus, size_t ncpu, unsigned flags,
                       size_t *len, size_t *note_off);

#define COREGEN_PHDR_OFF 64u
#define COREGEN_PRS_NOTE_SIZE (12u + 8u + 336u)
#define COREGEN_QEMU_NOTE_SIZE (12u + 8u + 440u)

#endif
