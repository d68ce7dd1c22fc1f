/* walk_fmt.c -- names and the human, per-level text of an x86 walk (what `hvctl walk` prints). */
#include <stdarg.h>
#include <stdio.h>

#include <x86/walk.h>

static const char *const walk_reason_names[X86_WALK_REASON_COUNT] = {
    [X86_WALK_OK] = "ok",
    [X86_WALK_NONCANONICAL] = "noncanonical",
    [X86_WALK_ADDR_WIDTH] = "addr_width",
    [X86_WALK_READ_FAILED] = "read_failed",
    [X86_WALK_NOT_PRESENT] = "not_present",
    [X86_WALK_RESERVED] = "reserved",
    [X86_WALK_USER_SUPERVISOR] = "user_supervisor",
    [X86_WALK_WRITE_RO] = "write_ro",
    [X86_WALK_NX] = "nx",
    [X86_WALK_SMEP] = "smep",
    [X86_WALK_SMAP] = "smap",
    [X86_WALK_PKEY_AD] = "pkey_ad",
    [X86_WALK_PKEY_WD] = "pkey_wd",
};

static const char *const walk_reason_strs[X86_WALK_REASON_COUNT] = {
    [X86_WALK_OK] = "access allowed",
    [X86_WALK_NONCANONICAL] = "non-canonical address",
    [X86_WALK_ADDR_WIDTH] = "address wider than the paging mode's linear addresses",
    [X86_WALK_READ_FAILED] = "paging-structure entry not in readable guest RAM",
    [X86_WALK_NOT_PRESENT] = "page not present",
    [X86_WALK_RESERVED] = "reserved bit set in a paging-structure entry",
    [X86_WALK_USER_SUPERVISOR] = "user access to supervisor page",
    [X86_WALK_WRITE_RO] = "write to read-only page",
    [X86_WALK_NX] = "instruction fetch from no-execute page",
    [X86_WALK_SMEP] = "supervisor fetch from user page (SMEP)",
    [X86_WALK_SMAP] = "supervisor data access to user page (SMAP)",
    [X86_WALK_PKEY_AD] = "protection key access-disabled",
    [X86_WALK_PKEY_WD] = "protection key write-disabled",
};

const char *x86_walk_reason_name(enum x86_walk_reason reason)
{
    if ((unsigned)reason >= X86_WALK_REASON_COUNT)
        return "?";
    return walk_reason_names[reason];
}

const char *x86_walk_reason_str(enum x86_walk_reason reason)
{
    if ((unsigned)reason >= X86_WALK_REASON_COUNT)
        return "?";
    return walk_reason_strs[reason];
}

const char *x86_level_name(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PML5E: return "PML5E";
    case X86_LEVEL_PML4E: return "PML4E";
    case X86_LEVEL_PDPTE:
    case X86_LEVEL_PDPTE_PAE: return "PDPTE";
    case X86_LEVEL_PDE:
    case X86_LEVEL_PDE32: return "PDE";
    case X86_LEVEL_PTE:
    case X86_LEVEL_PTE32: return "PTE";
    }
    return "?";
}

const char *x86_level_id(enum x86_level_kind kind)
{
    switch (kind) {
    case X86_LEVEL_PML5E: return "pml5e";
    case X86_LEVEL_PML4E: return "pml4e";
    case X86_LEVEL_PDPTE: return "pdpte";
    case X86_LEVEL_PDE: return "pde";
    case X86_LEVEL_PTE: return "pte";
    case X86_LEVEL_PDPTE_PAE: return "pdpte_pae";
    case X86_LEVEL_PDE32: return "pde32";
    case X86_LEVEL_PTE32: return "pte32";
    }
    return "?";
}

/* Bounded appender: pos counts what would have been written (snprintf-style). */
struct fmt_buf {
    char *buf;
    size_t len;
    size_t pos;
};

__attribute__((format(printf, 2, 3)))
static void fmt_add(struct fmt_buf *f, const char *fmt, ...)
{
    va_list ap;
    size_t room = f->pos < f->len ? f->len - f->pos : 0;
    va_start(ap, fmt);
    int n = vsnprintf(room ? f->buf + f->pos : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        f->pos += (size_t)n;
}

size_t x86_walk_bits_format(const struct x86_walk_level *lvl, char *buf, size_t len)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        { X86_E_P, "P" }, { X86_E_RW, "RW" }, { X86_E_US, "US" }, { X86_E_PWT, "PWT" },
        { X86_E_PCD, "PCD" }, { X86_E_A, "A" }, { X86_E_D, "D" }, { X86_E_PS, "PS" },
        { X86_E_G, "G" }, { X86_E_PAT, "PAT" }, { X86_E_XD, "XD" },
    };
    struct fmt_buf f = { buf, len, 0 };
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (lvl->bits & names[i].bit)
            fmt_add(&f, "%s%s", f.pos ? " " : "", names[i].name);
    if (lvl->pkey >= 0)
        fmt_add(&f, "%sPKEY=%d", f.pos ? " " : "", lvl->pkey);
    if (!f.pos)
        fmt_add(&f, "-");
    return f.pos;
}

static const char *walk_size_name(uint64_t size)
{
    switch (size) {
    case 1ull << 12: return "4K";
    case 1ull << 21: return "2M";
    case 1ull << 22: return "4M";
    case 1ull << 30: return "1G";
    }
    return "?";
}

size_t x86_walk_format(const struct x86_walk *w, char *buf, size_t len)
{
    struct fmt_buf f = { buf, len, 0 };
    if (len)
        buf[0] = '\0';
    fmt_add(&f, "GVA 0x%016llx  mode %s  access %s %s\n", (unsigned long long)w->gva,
            x86_mode_name(w->mode), x86_access_priv_name(w->access.priv),
            x86_access_type_name(w->access.type));
    if (w->nlevels > 0)
        fmt_add(&f, "LEVEL  INDEX  ENTRY GPA           RAW                 ADDRESS             BITS\n");
    for (unsigned i = 0; i < w->nlevels && i < X86_WALK_MAX_LEVELS; i++) {
        const struct x86_walk_level *l = &w->levels[i];
        char bits[96];
        bool failed = w->reason != X86_WALK_OK && w->fault_level == (int)i;
        if (!l->read_ok) {
            fmt_add(&f, "%-5s  %5u  0x%016llx  %-18s  %-18s  %s", x86_level_name(l->kind), l->index,
                    (unsigned long long)l->entry_gpa, "(unreadable)", "-", "-");
        } else {
            x86_walk_bits_format(l, bits, sizeof bits);
            fmt_add(&f, "%-5s  %5u  0x%016llx  0x%016llx  0x%016llx  %s", x86_level_name(l->kind),
                    l->index, (unsigned long long)l->entry_gpa, (unsigned long long)l->raw,
                    (unsigned long long)l->addr, bits);
        }
        fmt_add(&f, "%s%s\n", failed ? "  <== " : "", failed ? w->why : "");
    }
    if (w->mapped)
        fmt_add(&f, "GPA 0x%016llx  page %s  rights %s %s %s  pkey %d\n",
                (unsigned long long)w->gpa, walk_size_name(w->page_size),
                w->rights.user ? "user" : "supervisor",
                w->rights.writable ? "write" : "read-only",
                w->rights.executable ? "exec" : "no-exec", w->rights.pkey);
    if (w->reason == X86_WALK_OK) {
        fmt_add(&f, "RESULT ok\n");
        return f.pos;
    }
    fmt_add(&f, "RESULT %s", x86_walk_reason_name(w->reason));
    if (w->vector == X86_VECTOR_PF) {
        static const char *const ecn[] = { "P", "W", "U", "RSVD", "I/D", "PK" };
        fmt_add(&f, "  #PF error code %#x [", w->error_code);
        bool any = false;
        for (unsigned b = 0; b < 6; b++)
            if (w->error_code & (1u << b)) {
                fmt_add(&f, "%s%s", any ? " " : "", ecn[b]);
                any = true;
            }
        fmt_add(&f, "]");
    } else if (w->vector == X86_VECTOR_GP) {
        fmt_add(&f, "  #GP(0)");
    } else {
        fmt_add(&f, "  (no CPU exception)");
    }
    if (w->fault_level >= 0 && (unsigned)w->fault_level < w->nlevels)
        fmt_add(&f, "  at %s", x86_level_name(w->levels[w->fault_level].kind));
    fmt_add(&f, ": %s\n", w->why);
    return f.pos;
}
