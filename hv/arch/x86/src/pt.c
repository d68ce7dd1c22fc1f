/* pt.c -- decoding of one x86 paging-structure entry (SDM Vol 3A 4.3-4.5 tables). */
#include "pt.h"

#define BIT(n) (1ull << (n))
/* bits hi..lo inclusive, hi >= lo, hi <= 63 */
#define BITS(hi, lo) ((~0ull >> (63 - (hi))) & ~(BIT(lo) - 1))

int pt_ctx_init(struct pt_ctx *ctx, const struct x86_paging_regs *regs,
                const struct x86_cpu_facts *cpu, struct hvk_err *err)
{
    if (!ctx || !regs || !cpu)
        return hvk_err_set(err, "x86 paging: NULL argument");
    if (cpu->maxphyaddr < 32 || cpu->maxphyaddr > 52)
        return hvk_err_set(err, "MAXPHYADDR %u outside 32..52", cpu->maxphyaddr);
    struct pt_ctx c = {0};
    if (x86_paging_mode(regs, &c.mode, err) < 0)
        return -1;
    bool wide = c.mode == X86_MODE_PAE || c.mode == X86_MODE_4LEVEL || c.mode == X86_MODE_5LEVEL;
    bool ia32e = c.mode == X86_MODE_4LEVEL || c.mode == X86_MODE_5LEVEL;
    c.maxphy = cpu->maxphyaddr;
    c.nxe = wide && (regs->efer & X86_EFER_NXE);
    c.pse = regs->cr4 & X86_CR4_PSE;
    c.pse36 = cpu->pse36;
    c.pdpe1gb = cpu->pdpe1gb;
    c.pke = ia32e && (regs->cr4 & X86_CR4_PKE);
    c.wp = regs->cr0 & X86_CR0_WP;
    c.smep = regs->cr4 & X86_CR4_SMEP;
    c.smap = regs->cr4 & X86_CR4_SMAP;
    c.ac = regs->rflags & X86_RFLAGS_AC;
    c.pkru = regs->pkru;
    *ctx = c;
    return 0;
}

unsigned pt_levels(enum x86_mode mode, enum x86_level_kind k[X86_WALK_MAX_LEVELS])
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

unsigned pt_entry_size(enum x86_level_kind kind)
{
    return (kind == X86_LEVEL_PDE32 || kind == X86_LEVEL_PTE32) ? 4 : 8;
}

unsigned pt_shift(enum x86_level_kind kind)
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

unsigned pt_table_entries(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PDPTE_PAE: return 4;
    case X86_LEVEL_PDE32:
    case X86_LEVEL_PTE32: return 1024;
    default: return 512;
    }
}

static uint64_t pt_maxphy_mask(const struct pt_ctx *ctx)
{
    return BIT(ctx->maxphy) - 1;
}

uint64_t pt_root(const struct pt_ctx *ctx, uint64_t cr3)
{
    switch (ctx->mode) {
    case X86_MODE_32: return cr3 & 0xfffff000ull;
    case X86_MODE_PAE: return cr3 & 0xffffffe0ull;
    default: return cr3 & pt_maxphy_mask(ctx) & ~0xfffull;
    }
}

bool pt_is_leaf(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw)
{
    switch (kind) {
    case X86_LEVEL_PTE:
    case X86_LEVEL_PTE32:
        return true;
    case X86_LEVEL_PDE:
        return raw & BIT(7);
    case X86_LEVEL_PDPTE:
        return (raw & BIT(7)) && ctx->pdpe1gb;
    case X86_LEVEL_PDE32:
        return (raw & BIT(7)) && ctx->pse;
    default:
        return false;
    }
}

uint64_t pt_rsvd(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw)
{
    uint64_t r = 0;
    unsigned m = ctx->maxphy;
    bool ps = raw & BIT(7);

    switch (kind) {
    case X86_LEVEL_PDE32:
        if (ps && ctx->pse) {
            /* PSE-36: bits (M-20):13 are address bits 39:32, M = min(MAXPHYADDR, 40) */
            unsigned mm = ctx->pse36 ? (m < 40 ? m : 40) : 32;
            r = BITS(21, 13 + (mm - 32));
        }
        return raw & r;
    case X86_LEVEL_PTE32:
        return 0;
    case X86_LEVEL_PDPTE_PAE:
        r = BITS(63, m) | BITS(2, 1) | BITS(8, 5);
        return raw & r;
    case X86_LEVEL_PDE:
    case X86_LEVEL_PTE:
        if (ctx->mode == X86_MODE_PAE)
            r = m < 63 ? BITS(62, m) : 0;
        else
            r = m < 52 ? BITS(51, m) : 0;
        if (kind == X86_LEVEL_PDE && ps)
            r |= BITS(20, 13);
        break;
    case X86_LEVEL_PDPTE:
        r = m < 52 ? BITS(51, m) : 0;
        if (ps)
            r |= ctx->pdpe1gb ? BITS(29, 13) : BIT(7);
        break;
    case X86_LEVEL_PML5E:
    case X86_LEVEL_PML4E:
        r = (m < 52 ? BITS(51, m) : 0) | BIT(7);
        break;
    }
    if (!ctx->nxe)
        r |= BIT(63);
    return raw & r;
}

uint64_t pt_page_size(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PDPTE: return 1ull << 30;
    case X86_LEVEL_PDE: return 1ull << 21;
    case X86_LEVEL_PDE32: return 1ull << 22;
    default: return 1ull << 12;
    }
}

uint64_t pt_addr(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw, bool leaf)
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

unsigned pt_bits(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw, bool leaf)
{
    unsigned b = 0;
    if (raw & BIT(0)) b |= X86_E_P;
    if (raw & BIT(3)) b |= X86_E_PWT;
    if (raw & BIT(4)) b |= X86_E_PCD;
    if (kind == X86_LEVEL_PDPTE_PAE)
        return b;
    if (raw & BIT(1)) b |= X86_E_RW;
    if (raw & BIT(2)) b |= X86_E_US;
    if (raw & BIT(5)) b |= X86_E_A;
    bool pte = kind == X86_LEVEL_PTE || kind == X86_LEVEL_PTE32;
    if (raw & BIT(7))
        b |= pte ? X86_E_PAT : X86_E_PS;
    if (leaf) {
        if (raw & BIT(6)) b |= X86_E_D;
        if (raw & BIT(8)) b |= X86_E_G;
        if (!pte && (raw & BIT(12))) b |= X86_E_PAT;
    }
    if (pt_entry_size(kind) == 8 && (raw & BIT(63)))
        b |= X86_E_XD;
    (void)ctx;
    return b;
}

int pt_pkey(const struct pt_ctx *ctx, uint64_t raw, bool leaf)
{
    if (!ctx->pke || !leaf)
        return -1;
    return (int)((raw >> 59) & 0xf);
}

bool pt_rw(enum x86_level_kind kind, uint64_t raw)
{
    return kind == X86_LEVEL_PDPTE_PAE || (raw & BIT(1));
}

bool pt_us(enum x86_level_kind kind, uint64_t raw)
{
    return kind == X86_LEVEL_PDPTE_PAE || (raw & BIT(2));
}

bool pt_xd(const struct pt_ctx *ctx, enum x86_level_kind kind, uint64_t raw)
{
    return ctx->nxe && kind != X86_LEVEL_PDPTE_PAE && (raw & BIT(63));
}
