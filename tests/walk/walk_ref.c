/* walk_ref.c -- reference model of x86 paging written from the SDM tables, independent of hv/arch/x86. */
#include "walk_ref.h"

#include <string.h>

/* bits hi..lo, built bit by bit so no shift trick is shared with the walker */
static uint64_t ref_bits(int hi, int lo)
{
    uint64_t m = 0;
    for (int b = lo; b <= hi && b < 64; b++)
        if (b >= 0)
            m |= 1ull << b;
    return m;
}

static bool ref_bit(uint64_t v, int b)
{
    return (v >> b) & 1;
}

struct ref_acc_state {
    bool u, w, x;
};

static uint32_t ref_ec_base(bool write, bool user, bool fetch, bool smep, bool nx_applies)
{
    uint32_t ec = 0;
    if (write) ec |= 2;
    if (user) ec |= 4;
    if (fetch && (smep || nx_applies)) ec |= 16;
    return ec;
}

void ref_walk(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
              ref_read_fn rd, void *ctx, uint64_t gva, struct x86_access acc,
              struct ref_result *out)
{
    memset(out, 0, sizeof *out);
    out->rsvd_level = -1;
    bool pg = ref_bit(regs->cr0, 31), wp = ref_bit(regs->cr0, 16);
    bool pse = ref_bit(regs->cr4, 4), pae = ref_bit(regs->cr4, 5), la57 = ref_bit(regs->cr4, 12);
    bool smep = ref_bit(regs->cr4, 20), smap = ref_bit(regs->cr4, 21), pke = ref_bit(regs->cr4, 22);
    bool lma = ref_bit(regs->efer, 10), nxe = ref_bit(regs->efer, 11);
    bool ac = ref_bit(regs->rflags, 18);
    bool user = acc.priv == X86_PRIV_USER, implicit = acc.priv == X86_PRIV_IMPLICIT;
    bool write = acc.type == X86_ACCESS_WRITE, fetch = acc.type == X86_ACCESS_FETCH;
    int M = (int)cpu->maxphyaddr;
    bool nx_on = pae && nxe;   /* XD exists only in the 64-bit entry formats */
    uint32_t ec = ref_ec_base(write, user, fetch, smep, nx_on);
    struct ref_acc_state r = { true, true, true };
    uint64_t leaf = 0;
    int pkey = -1;

    if (!pg) {
        if (gva >> 32) { out->kind = REF_WIDTH; return; }
        out->mapped = true;
        out->gpa = gva;
        out->page_size = 4096;
        out->kind = REF_OK;
        return;
    }
    if (!pae) {
        /* 32-bit paging (SDM table 4-4 .. 4-6) */
        if (gva >> 32) { out->kind = REF_WIDTH; return; }
        uint64_t pde, pte;
        out->reads++;
        if (!rd(ctx, (regs->cr3 & 0xfffff000u) + ((gva >> 22) & 0x3ff) * 4, 4, &pde)) {
            out->kind = REF_UNREADABLE; return;
        }
        if (!ref_bit(pde, 0)) { out->kind = REF_PF; out->ec = ec; return; }
        r.u = ref_bit(pde, 2); r.w = ref_bit(pde, 1);
        if (pse && ref_bit(pde, 7)) {
            int m = cpu->pse36 ? (M < 40 ? M : 40) : 32;
            if (pde & ref_bits(21, m - 19)) {
                out->kind = REF_PF; out->ec = ec | 1 | 8; out->rsvd_level = 0; return;
            }
            uint64_t hi = (pde >> 13) & ref_bits(m - 33, 0);
            out->gpa = (pde & 0xffc00000u) + (hi << 32) + (gva & 0x3fffff);
            out->page_size = 4u << 20;
        } else {
            out->reads++;
            if (!rd(ctx, (pde & 0xfffff000u) + ((gva >> 12) & 0x3ff) * 4, 4, &pte)) {
                out->kind = REF_UNREADABLE; return;
            }
            if (!ref_bit(pte, 0)) { out->kind = REF_PF; out->ec = ec; return; }
            r.u = r.u && ref_bit(pte, 2); r.w = r.w && ref_bit(pte, 1);
            out->gpa = (pte & 0xfffff000u) + (gva & 0xfff);
            out->page_size = 4096;
        }
        goto check;
    }

    /* 64-bit entry formats */
    int nlev;
    uint64_t table;
    if (!lma) {
        if (gva >> 32) { out->kind = REF_WIDTH; return; }
        uint64_t pdpte;
        out->reads++;
        if (!rd(ctx, (regs->cr3 & 0xffffffe0u) + ((gva >> 30) & 3) * 8, 8, &pdpte)) {
            out->kind = REF_UNREADABLE; return;
        }
        if (!ref_bit(pdpte, 0)) { out->kind = REF_PF; out->ec = ec; return; }
        if (pdpte & (ref_bits(63, M) | ref_bits(2, 1) | ref_bits(8, 5))) {
            out->kind = REF_GP; out->rsvd_level = 0; return;
        }
        table = pdpte & ref_bits(M - 1, 12);
        nlev = 2;   /* PDE, PTE */
    } else {
        int width = la57 ? 57 : 48;
        uint64_t top = gva >> (width - 1);
        if (top != 0 && top != ref_bits(64 - width, 0)) { out->kind = REF_GP; return; }
        table = regs->cr3 & ref_bits(M - 1, 12);
        nlev = la57 ? 5 : 4;
    }
    int base_level = lma ? 0 : 1;   /* index of the first level in levels[] below */
    for (int i = 0; i < nlev; i++) {
        /* level from the bottom: 0 = PTE, 1 = PDE, 2 = PDPTE, 3 = PML4E, 4 = PML5E */
        int lvl = nlev - 1 - i;
        int shift = 12 + 9 * lvl;
        uint64_t e;
        out->reads++;
        if (!rd(ctx, table + ((gva >> shift) & 511) * 8, 8, &e)) {
            out->kind = REF_UNREADABLE; return;
        }
        if (!ref_bit(e, 0)) { out->kind = REF_PF; out->ec = ec; return; }
        uint64_t rs = lma ? ref_bits(51, M) : ref_bits(62, M);
        if (!nxe) rs |= 1ull << 63;
        bool ps = ref_bit(e, 7);
        bool is_leaf = lvl == 0;
        if (lvl >= 3) rs |= 1ull << 7;
        if (lvl == 2 && ps) {
            if (!lma || !cpu->pdpe1gb) rs |= 1ull << 7; /* (PAE never reaches here: nlev 2) */
            else { rs |= ref_bits(29, 13); is_leaf = true; }
        }
        if (lvl == 1 && ps) { rs |= ref_bits(20, 13); is_leaf = true; }
        if (e & rs) {
            out->kind = REF_PF; out->ec = ec | 1 | 8; out->rsvd_level = i + base_level; return;
        }
        r.u = r.u && ref_bit(e, 2);
        r.w = r.w && ref_bit(e, 1);
        if (nxe && ref_bit(e, 63)) r.x = false;
        if (is_leaf) {
            leaf = e;
            out->page_size = 1ull << shift;
            out->gpa = (e & ref_bits(M - 1, shift)) + (gva & ref_bits(shift - 1, 0));
            break;
        }
        table = e & ref_bits(M - 1, 12);
    }
    if (lma && pke)
        pkey = (int)((leaf >> 59) & 15);

check:
    out->mapped = true;
    bool ok;
    if (user)
        ok = r.u && (!write || r.w) && (!fetch || r.x);
    else if (fetch)
        ok = r.x && !(smep && r.u);
    else
        ok = (!write || r.w || !wp) && !(smap && r.u && (implicit || !ac));
    bool pk_deny = false;
    if (pkey >= 0 && r.u && !fetch) {
        bool ad = ref_bit(regs->pkru, 2 * pkey), wd = ref_bit(regs->pkru, 2 * pkey + 1);
        pk_deny = ad || (wd && write && (user || wp));
    }
    if (ok && !pk_deny) {
        out->kind = REF_OK;
        return;
    }
    out->kind = REF_PF;
    out->ec = ec | 1 | (pk_deny ? 32 : 0);
}
