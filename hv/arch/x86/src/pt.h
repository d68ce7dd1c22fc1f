/* pt.h -- private: decoding of one x86 paging-structure entry, shared by walk.c and maps.c. */
#ifndef X86_PT_H
#define X86_PT_H

#include <x86/walk.h>

/* Everything the decoding of an entry depends on, derived once per walk.
 * Invariant: 32 <= maxphy <= 52; mode != X86_MODE_OFF for pt_* calls. */
struct pt_ctx {
    enum x86_mode mode;
    unsigned maxphy;
    bool nxe;       /* EFER.NXE and a 64-bit entry format (PAE, IA-32e) */
    bool pse;       /* CR4.PSE (32-bit paging only) */
    bool pse36;
    bool pdpe1gb;
    bool pke;       /* CR4.PKE in an IA-32e mode */
    bool wp, smep, smap, ac;
    uint32_t pkru;
};

/* Fill ctx from registers; -1 with err on bad arguments. */
int pt_ctx_init(struct pt_ctx *ctx, const struct x86_paging_regs *regs,
                const struct x86_cpu_facts *cpu, struct hvk_err *err);

/* Level kinds for the mode, top first; returns how many (0 for paging off). */
unsigned pt_levels(enum x86_mode mode, enum x86_level_kind kinds[X86_WALK_MAX_LEVELS]);

/* Entry size in bytes (4 or 8) and index bit position of a level. */
unsigned pt_entry_size(enum x86_level_kind kind);
unsigned pt_shift(enum x86_level_kind kind);
unsigned pt_table_entries(enum x86_level_kind kind);

/* The table base the first level is read from. */
uint64_t pt_root(const struct pt_ctx *ctx, uint64_t cr3);

/* Whether a present entry maps a page (PS at a level that can). PS at a
 * level where it is reserved is NOT a leaf: pt_rsvd reports it. */
bool pt_is_leaf(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw);

/* Reserved bits set in a present entry (0 if none). */
uint64_t pt_rsvd(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw);

/* Size of the page a leaf at this level maps. */
uint64_t pt_page_size(enum x86_level_kind kind);

/* Physical address field: next table or page frame (large pages: without
 * the PAT bit, PSE-36 bits placed at 39:32). */
uint64_t pt_addr(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw, bool leaf);

/* Decoded X86_E_* bits. */
unsigned pt_bits(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw, bool leaf);

/* Protection key of a leaf, or -1. */
int pt_pkey(const struct pt_ctx *ctx, uint64_t raw, bool leaf);

/* Contribution of a present entry to the accumulated rights. */
bool pt_rw(enum x86_level_kind kind, uint64_t raw);
bool pt_us(enum x86_level_kind kind, uint64_t raw);
bool pt_xd(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw);

#endif
