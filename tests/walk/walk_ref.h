/* walk_ref.h -- an independent, deliberately simple reference model of x86 paging for the generator tests. */
#ifndef WALK_REF_H
#define WALK_REF_H

#include <stdbool.h>
#include <stdint.h>

#include <x86/paging.h>

/* Outcome classes, compared with x86_walk's (reason, vector). */
enum ref_kind {
    REF_OK = 0,     /* access allowed */
    REF_PF,         /* #PF with ec */
    REF_GP,         /* #GP: non-canonical, or reserved bit in a PAE PDPTE */
    REF_UNREADABLE, /* a table entry outside RAM */
    REF_WIDTH,      /* linear address wider than 32 bits in a 32-bit mode */
};

struct ref_result {
    enum ref_kind kind;
    uint32_t ec;
    bool mapped;        /* translation complete (ok or permission fault) */
    uint64_t gpa;
    uint64_t page_size;
    int rsvd_level;     /* level (0 = top) of a reserved-bit fault, else -1 */
    unsigned reads;     /* entries read */
};

/* Reads a little-endian entry of size bytes; false when outside RAM. */
typedef bool (*ref_read_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);

void ref_walk(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
              ref_read_fn rd, void *ctx, uint64_t gva, struct x86_access acc,
              struct ref_result *out);

#endif
