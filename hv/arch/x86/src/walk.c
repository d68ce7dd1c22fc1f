/* walk.c -- x86 guest page-table walk of one GVA (SDM Vol 3A ch. 4): translation, rights, fault and reason. */
#include <stdio.h>
#include <string.h>

#include "pt.h"

/* Error code bits that describe the access itself (not the cause). */
static uint32_t walk_access_pfec(const struct pt_ctx *ctx, struct x86_access acc)
{
    uint32_t ec = 0;
    if (acc.type == X86_ACCESS_WRITE)
        ec |= X86_PFEC_W;
    if (acc.priv == X86_PRIV_USER)
        ec |= X86_PFEC_U;
    /* I/D is reported only with SMEP, or with NX in a 64-bit entry format */
    if (acc.type == X86_ACCESS_FETCH && (ctx->smep || ctx->nxe))
        ec |= X86_PFEC_ID;
    return ec;
}

static int walk_fail(struct x86_walk *w, enum x86_walk_reason reason, int level,
                     unsigned vector, uint32_t ec)
{
    w->reason = reason;
    w->fault_level = level;
    w->vector = vector;
    w->error_code = vector == X86_VECTOR_PF ? ec : 0;
    return 0;
}

static const char *walk_lname(const struct x86_walk *w, int i)
{
    return x86_level_name(w->levels[i].kind);
}

/* Permission rules on a complete translation (SDM 4.6). The first rule that
 * refuses names the reason; PK in the error code is set whenever the
 * protection-key rule refuses, whatever else does. */
static void walk_check_access(const struct pt_ctx *ctx, struct x86_walk *w,
                              int first_ro, int first_sup, int first_xd)
{
    struct x86_access acc = w->access;
    bool user = acc.priv == X86_PRIV_USER;
    bool write = acc.type == X86_ACCESS_WRITE;
    bool fetch = acc.type == X86_ACCESS_FETCH;
    int leaf = (int)w->nlevels - 1;
    uint32_t ec = X86_PFEC_P | walk_access_pfec(ctx, acc);
    enum x86_walk_reason pk = X86_WALK_OK;

    if (ctx->pke && w->rights.user && !fetch && w->rights.pkey >= 0) {
        unsigned k = (unsigned)w->rights.pkey;
        bool ad = (ctx->pkru >> (2 * k)) & 1;
        bool wd = (ctx->pkru >> (2 * k + 1)) & 1;
        if (ad)
            pk = X86_WALK_PKEY_AD;
        else if (write && wd && (user || ctx->wp))
            pk = X86_WALK_PKEY_WD;
        if (pk != X86_WALK_OK)
            ec |= X86_PFEC_PK;
    }

    if (user && !w->rights.user) {
        walk_fail(w, X86_WALK_USER_SUPERVISOR, first_sup, X86_VECTOR_PF, ec);
        snprintf(w->why, sizeof w->why, "user access to supervisor page: %s.US=0",
                 walk_lname(w, first_sup));
    } else if (write && !w->rights.writable && (user || ctx->wp)) {
        walk_fail(w, X86_WALK_WRITE_RO, first_ro, X86_VECTOR_PF, ec);
        snprintf(w->why, sizeof w->why, "write to read-only page: %s.RW=0%s",
                 walk_lname(w, first_ro), user ? "" : " (CR0.WP=1)");
    } else if (fetch && !w->rights.executable) {
        walk_fail(w, X86_WALK_NX, first_xd, X86_VECTOR_PF, ec);
        snprintf(w->why, sizeof w->why, "instruction fetch from no-execute page: %s.XD=1",
                 walk_lname(w, first_xd));
    } else if (fetch && !user && w->rights.user && ctx->smep) {
        walk_fail(w, X86_WALK_SMEP, leaf, X86_VECTOR_PF, ec);
        snprintf(w->why, sizeof w->why, "supervisor fetch from user page (CR4.SMEP=1)");
    } else if (!fetch && !user && w->rights.user && ctx->smap &&
               (acc.priv == X86_PRIV_IMPLICIT || !ctx->ac)) {
        walk_fail(w, X86_WALK_SMAP, leaf, X86_VECTOR_PF, ec);
        snprintf(w->why, sizeof w->why, "%s %s of user page (CR4.SMAP=1%s)",
                 acc.priv == X86_PRIV_IMPLICIT ? "implicit supervisor" : "supervisor",
                 write ? "write" : "read",
                 acc.priv == X86_PRIV_IMPLICIT ? ", implicit access ignores AC" : ", RFLAGS.AC=0");
    } else if (pk != X86_WALK_OK) {
        unsigned k = (unsigned)w->rights.pkey;
        walk_fail(w, pk, leaf, X86_VECTOR_PF, ec);
        if (pk == X86_WALK_PKEY_AD)
            snprintf(w->why, sizeof w->why, "%s to access-disabled protection key %u (PKRU.AD%u=1)",
                     write ? "write" : "read", k, k);
        else
            snprintf(w->why, sizeof w->why, "write to write-disabled protection key %u (PKRU.WD%u=1)",
                     k, k);
    }
}

static bool walk_canonical(uint64_t gva, unsigned bits)
{
    int64_t s = (int64_t)(gva << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == gva;
}

int x86_walk(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
             const struct x86_mem *mem, uint64_t gva, struct x86_access acc,
             struct x86_walk *out, struct hvk_err *err)
{
    struct pt_ctx ctx;
    enum x86_level_kind kinds[X86_WALK_MAX_LEVELS];

    if (!out)
        return hvk_err_set(err, "x86_walk: NULL result");
    /* Only the header is cleared: levels[] entries are written as they are
     * walked, and levels[nlevels..] stay unspecified (a full memset costs a
     * quarter of a walk). */
    out->mode = X86_MODE_OFF;
    out->gva = gva;
    out->access = acc;
    out->nlevels = 0;
    out->mapped = false;
    out->gpa = 0;
    out->page_size = 0;
    out->rights = (struct x86_rights){ .pkey = -1 };
    out->reason = X86_WALK_OK;
    out->fault_level = -1;
    out->reserved_bit = -1;
    out->vector = 0;
    out->error_code = 0;
    out->why[0] = '\0';
    if (!mem || !mem->read_gpa)
        return hvk_err_set(err, "x86_walk: no guest-physical reader");
    if ((unsigned)acc.type > X86_ACCESS_FETCH || (unsigned)acc.priv > X86_PRIV_IMPLICIT)
        return hvk_err_set(err, "x86_walk: invalid access type %d / privilege %d",
                           (int)acc.type, (int)acc.priv);
    if (pt_ctx_init(&ctx, regs, cpu, err) < 0)
        return -1;

    struct x86_walk *w = out;
    w->mode = ctx.mode;
    w->gva = gva;
    w->access = acc;
    uint32_t ec = walk_access_pfec(&ctx, acc);

    if (ctx.mode == X86_MODE_4LEVEL || ctx.mode == X86_MODE_5LEVEL) {
        unsigned bits = ctx.mode == X86_MODE_5LEVEL ? 57 : 48;
        if (!walk_canonical(gva, bits)) {
            snprintf(w->why, sizeof w->why, "non-canonical address (bits 63:%u not all equal)",
                     bits - 1);
            return walk_fail(w, X86_WALK_NONCANONICAL, -1, X86_VECTOR_GP, 0);
        }
    } else if (gva > 0xffffffffull) {
        snprintf(w->why, sizeof w->why, "address above 4 GiB: linear addresses are 32 bits %s",
                 ctx.mode == X86_MODE_OFF ? "with paging off" : "in this paging mode");
        return walk_fail(w, X86_WALK_ADDR_WIDTH, -1, 0, 0);
    }

    if (ctx.mode == X86_MODE_OFF) {
        w->mapped = true;
        w->gpa = gva;
        w->page_size = 4096;
        w->rights = (struct x86_rights){ .writable = true, .user = true, .executable = true, .pkey = -1 };
        return 0;
    }

    unsigned n = pt_levels(ctx.mode, kinds);
    uint64_t table = pt_root(&ctx, regs->cr3);
    struct x86_rights r = { .writable = true, .user = true, .executable = true, .pkey = -1 };
    int first_ro = -1, first_sup = -1, first_xd = -1;

    /* Invariant: one read per iteration, at most n <= X86_WALK_MAX_LEVELS iterations. */
    for (unsigned i = 0; i < n; i++) {
        struct x86_walk_level *l = &w->levels[i];
        enum x86_level_kind kind = kinds[i];
        unsigned esz = pt_entry_size(kind);
        unsigned shift = pt_shift(kind);

        unsigned index = (unsigned)((gva >> shift) & (pt_table_entries(kind) - 1));
        *l = (struct x86_walk_level){ .kind = kind, .index = index,
                                      .entry_gpa = table + (uint64_t)index * esz, .pkey = -1 };
        w->nlevels = i + 1;

        uint64_t raw = 0;
        if (esz == 4) {
            uint32_t v;
            if (mem->read_gpa(mem->ctx, l->entry_gpa, &v, 4) < 0)
                goto unreadable;
            raw = v;
        } else if (mem->read_gpa(mem->ctx, l->entry_gpa, &raw, 8) < 0) {
            goto unreadable;
        }
        l->read_ok = true;
        l->raw = raw;

        bool present = raw & 1;
        uint64_t rsvd = present ? pt_rsvd(&ctx, kind, raw) : 0;
        bool leaf = present && !rsvd && pt_is_leaf(&ctx, kind, raw);
        l->leaf = leaf;
        l->bits = pt_bits(&ctx, kind, raw, leaf);
        l->addr = pt_addr(&ctx, kind, raw, leaf);
        l->pkey = pt_pkey(&ctx, raw, leaf);

        if (!present) {
            snprintf(w->why, sizeof w->why, "%s not present", x86_level_name(kind));
            return walk_fail(w, X86_WALK_NOT_PRESENT, (int)i, X86_VECTOR_PF, ec);
        }
        if (rsvd) {
            w->reserved_bit = __builtin_ctzll(rsvd);
            if (kind == X86_LEVEL_PDPTE_PAE) {
                snprintf(w->why, sizeof w->why,
                         "reserved bit %d set in PDPTE (PAE PDPTE register: #GP when CR3 is loaded)",
                         w->reserved_bit);
                return walk_fail(w, X86_WALK_RESERVED, (int)i, X86_VECTOR_GP, 0);
            }
            snprintf(w->why, sizeof w->why, "reserved bit %d set in %s", w->reserved_bit,
                     x86_level_name(kind));
            return walk_fail(w, X86_WALK_RESERVED, (int)i, X86_VECTOR_PF,
                             ec | X86_PFEC_P | X86_PFEC_RSVD);
        }
        if (!pt_rw(kind, raw)) {
            r.writable = false;
            if (first_ro < 0)
                first_ro = (int)i;
        }
        if (!pt_us(kind, raw)) {
            r.user = false;
            if (first_sup < 0)
                first_sup = (int)i;
        }
        if (pt_xd(&ctx, kind, raw)) {
            r.executable = false;
            if (first_xd < 0)
                first_xd = (int)i;
        }
        if (leaf) {
            uint64_t size = pt_page_size(kind);
            r.pkey = l->pkey;
            w->mapped = true;
            w->page_size = size;
            w->gpa = l->addr | (gva & (size - 1));
            w->rights = r;
            walk_check_access(&ctx, w, first_ro, first_sup, first_xd);
            return 0;
        }
        table = l->addr;
        continue;

unreadable:
        snprintf(w->why, sizeof w->why, "%s at GPA 0x%llx is not readable RAM",
                 x86_level_name(kind), (unsigned long long)l->entry_gpa);
        return walk_fail(w, X86_WALK_READ_FAILED, (int)i, 0, 0);
    }
    /* not reached: the last level of every mode is always a leaf */
    return hvk_err_set(err, "x86_walk: internal error: walk ended without a leaf");
}
