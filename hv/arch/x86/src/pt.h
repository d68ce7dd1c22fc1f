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

#define PT_BIT(n) (1ull << (n))
/* bits hi..lo inclusive, hi >= lo, hi <= 63 */
#define PT_BITS(hi, lo) ((~0ull >> (63 - (hi))) & ~(PT_BIT(lo) - 1))

/* The decoders below are inline: they run once or more per level of every
 * walk, and the walk's speed is measured against four plain loads. */
/* Level kinds for the mode, top first; returns how many (0 for paging off). */
static inline unsigned pt_levels(enum x86_mode mode, enum x86_level_kind k[X86_WALK_MAX_LEVELS])
{
    switch (mode) {
    case X86_MODE_OFF:
        return 0;
    case X86_MODE_32:
        k[0] = X86_LEVEL_PDE32; k[1] = X86_LEVEL_PTE32;
        return 2;
    case X86_MODE_PAE:
        k[0] = X86_LEVEL_PDPTE_PAE; k[1] = X86_LEVEL_PDE; k[2] = X86_LEVEL_PTE;
        return 3;
    case X86_MODE_4LEVEL:
        k[0] = X86_LEVEL_PML4E; k[1] = X86_LEVEL_PDPTE; k[2] = X86_LEVEL_PDE; k[3] = X86_LEVEL_PTE;
        return 4;
    case X86_MODE_5LEVEL:
        k[0] = X86_LEVEL_PML5E; k[1] = X86_LEVEL_PML4E; k[2] = X86_LEVEL_PDPTE;
        k[3] = X86_LEVEL_PDE; k[4] = X86_LEVEL_PTE;
        return 5;
    }
    return 0;
}

/* Entry size in bytes (4 or 8), index bit position, entries per table. */
static inline unsigned pt_entry_size(enum x86_level_kind kind)
{
    return (kind == X86_LEVEL_PDE32 || kind == X86_LEVEL_PTE32) ? 4 : 8;
}

static inline unsigned pt_shift(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PML5E: return 48;
    case X86_LEVEL_PML4E: return 39;
    case X86_LEVEL_PDPTE:
    case X86_LEVEL_PDPTE_PAE: return 30;
    case X86_LEVEL_PDE: return 21;
    case X86_LEVEL_PDE32: return 22;
    case X86_LEVEL_PTE:
    case X86_LEVEL_PTE32: return 12;
    }
    return 12;
}

static inline unsigned pt_table_entries(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PDPTE_PAE: return 4;
    case X86_LEVEL_PDE32:
    case X86_LEVEL_PTE32: return 1024;
    default: return 512;
    }
}

static inline uint64_t pt_maxphy_mask(const struct pt_ctx *ctx)
{
    return PT_BIT(ctx->maxphy) - 1;
}

/* The table base the first level is read from. */
static inline uint64_t pt_root(const struct pt_ctx *ctx, uint64_t cr3)
{
    switch (ctx->mode) {
    case X86_MODE_32: return cr3 & 0xfffff000ull;
    case X86_MODE_PAE: return cr3 & 0xffffffe0ull;
    default: return cr3 & pt_maxphy_mask(ctx) & ~0xfffull;
    }
}

/* Whether a present entry maps a page (PS at a level that can). PS at a
 * level where it is reserved is NOT a leaf: pt_rsvd reports it. */
static inline bool pt_is_leaf(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw)
{
    switch (kind) {
    case X86_LEVEL_PTE:
    case X86_LEVEL_PTE32:
        return true;
    case X86_LEVEL_PDE:
        return raw & PT_BIT(7);
    case X86_LEVEL_PDPTE:
        return (raw & PT_BIT(7)) && ctx->pdpe1gb;
    case X86_LEVEL_PDE32:
        return (raw & PT_BIT(7)) && ctx->pse;
    default:
        return false;
    }
}

/* Reserved bits set in a present entry (0 if none). */
static inline uint64_t pt_rsvd(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw)
{
    uint64_t r = 0;
    unsigned m = ctx->maxphy;
    bool ps = raw & PT_BIT(7);

    switch (kind) {
    case X86_LEVEL_PDE32:
        if (ps && ctx->pse) {
            /* PSE-36: bits (M-20):13 are address bits 39:32, M = min(MAXPHYADDR, 40) */
            unsigned mm = ctx->pse36 ? (m < 40 ? m : 40) : 32;
            r = PT_BITS(21, 13 + (mm - 32));
        }
        return raw & r;
    case X86_LEVEL_PTE32:
        return 0;
    case X86_LEVEL_PDPTE_PAE:
        r = PT_BITS(63, m) | PT_BITS(2, 1) | PT_BITS(8, 5);
        return raw & r;
    case X86_LEVEL_PDE:
    case X86_LEVEL_PTE:
        if (ctx->mode == X86_MODE_PAE)
            r = m < 63 ? PT_BITS(62, m) : 0;
        else
            r = m < 52 ? PT_BITS(51, m) : 0;
        if (kind == X86_LEVEL_PDE && ps)
            r |= PT_BITS(20, 13);
        break;
    case X86_LEVEL_PDPTE:
        r = m < 52 ? PT_BITS(51, m) : 0;
        if (ps)
            r |= ctx->pdpe1gb ? PT_BITS(29, 13) : PT_BIT(7);
        break;
    case X86_LEVEL_PML5E:
    case X86_LEVEL_PML4E:
        r = (m < 52 ? PT_BITS(51, m) : 0) | PT_BIT(7);
        break;
    }
    if (!ctx->nxe)
        r |= PT_BIT(63);
    return raw & r;
}

/* Size of the page a leaf at this level maps. */
static inline uint64_t pt_page_size(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PDPTE: return 1ull << 30;
    case X86_LEVEL_PDE: return 1ull << 21;
    case X86_LEVEL_PDE32: return 1ull << 22;
    default: return 1ull << 12;
    }
}

/* Physical address field: next table or page frame (large pages: without
 * the PAT bit, PSE-36 bits placed at 39:32). */
static inline uint64_t pt_addr(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw, bool leaf)
{
    if (kind == X86_LEVEL_PDE32 || kind == X86_LEVEL_PTE32) {
        if (kind == X86_LEVEL_PDE32 && leaf)
            return (raw & 0xffc00000ull) | (((raw >> 13) & 0xff) << 32);
        return raw & 0xfffff000ull;
    }
    uint64_t a = raw & pt_maxphy_mask(ctx) & ~0xfffull;
    if (leaf)
        a &= ~(pt_page_size(kind) - 1);   /* drops PAT (bit 12) of large pages */
    return a;
}

/* Decoded X86_E_* bits. */
static inline unsigned pt_bits(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw, bool leaf)
{
    unsigned b = 0;
    if (raw & PT_BIT(0)) b |= X86_E_P;
    if (raw & PT_BIT(3)) b |= X86_E_PWT;
    if (raw & PT_BIT(4)) b |= X86_E_PCD;
    if (kind == X86_LEVEL_PDPTE_PAE)
        return b;
    if (raw & PT_BIT(1)) b |= X86_E_RW;
    if (raw & PT_BIT(2)) b |= X86_E_US;
    if (raw & PT_BIT(5)) b |= X86_E_A;
    bool pte = kind == X86_LEVEL_PTE || kind == X86_LEVEL_PTE32;
    if (raw & PT_BIT(7))
        b |= pte ? X86_E_PAT : X86_E_PS;
    if (leaf) {
        if (raw & PT_BIT(6)) b |= X86_E_D;
        if (raw & PT_BIT(8)) b |= X86_E_G;
        if (!pte && (raw & PT_BIT(12))) b |= X86_E_PAT;
    }
    if (pt_entry_size(kind) == 8 && (raw & PT_BIT(63)))
        b |= X86_E_XD;
    (void)ctx;
    return b;
}

/* Protection key of a leaf, or -1. */
static inline int pt_pkey(const struct pt_ctx *ctx, uint64_t raw, bool leaf)
{
    if (!ctx->pke || !leaf)
        return -1;
    return (int)((raw >> 59) & 0xf);
}

/* Contribution of a present entry to the accumulated rights. */
static inline bool pt_rw(enum x86_level_kind kind, uint64_t raw)
{
    return kind == X86_LEVEL_PDPTE_PAE || (raw & PT_BIT(1));
}

static inline bool pt_us(enum x86_level_kind kind, uint64_t raw)
{
    return kind == X86_LEVEL_PDPTE_PAE || (raw & PT_BIT(2));
}

static inline bool pt_xd(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw)
{
    return ctx->nxe && kind != X86_LEVEL_PDPTE_PAE && (raw & PT_BIT(63));
}

#endif
