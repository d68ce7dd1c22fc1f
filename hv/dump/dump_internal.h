/* dump_internal.h -- what dump.c (headers, RAM) and dump_notes.c (CPU state)
 * share; not installed. */
#ifndef HVKIT_DUMP_INTERNAL_H
#define HVKIT_DUMP_INTERNAL_H

#include <hvkit/dump.h>

struct dump_core {
    const uint8_t *base; /* the whole file; len bytes, read-only */
    size_t len;
    void *map;           /* non-NULL when base is our mmap() */
    unsigned machine;    /* EM_X86_64 or EM_386 */
    unsigned elf_class;  /* 64 or 32 */
    struct dump_ram *ram; /* sorted by gpa, non-overlapping */
    size_t nram;
    struct dump_vcpu *vcpu; /* final list, built by dump_notes_finish() */
    size_t nvcpu;
    /* Notes in file order, before pairing; freed by dump_notes_finish(). */
    struct dump_vcpu *prs;
    size_t nprs;
    struct dump_vcpu *qemu;
    size_t nqemu;
};

/* Does [off, off+size) lie inside [0, len)? Overflow-safe. */
static inline int dump_in_file(uint64_t off, uint64_t size, uint64_t len)
{
    return off <= len && size <= len - off;
}

/* Parse the note area [off, off+size) of the file into core->vcpu.
 * Called once per PT_NOTE; *nnotes counts notes across all of them. */
int dump_notes_parse(struct dump_core *core, uint64_t off, uint64_t size,
                     size_t *nnotes, struct hvk_err *err);

/* After all PT_NOTEs: pair PRSTATUS and QEMU notes into vCPUs. */
int dump_notes_finish(struct dump_core *core, struct hvk_err *err);

#endif
