/* maps.c -- enumerate every mapping of an x86 address space into coalesced ranges, bounded against hostile tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x86/maps.h>

#include "pt.h"

/* Enumeration state. Invariants: depth < n <= X86_WALK_MAX_LEVELS (the
 * recursion depth is the mode's level count, whatever the tables say);
 * stats.entries <= max_entries, stats.ranges <= max_ranges and
 * stats.tables + stats.unreadable <= max_tables. */
struct maps_state {
    struct pt_ctx ctx;
    const struct x86_mem *mem;
    enum x86_level_kind kinds[X86_WALK_MAX_LEVELS];
    unsigned n;
    unsigned vabits;
    uint64_t max_entries;
    uint64_t max_ranges;
    uint64_t max_tables;
    x86_maps_fn fn;
    void *fnctx;
    struct x86_maps_stats st;
    bool have;
    bool done;
    struct x86_map_range pend;
    uint64_t tbuf[X86_WALK_MAX_LEVELS][512];
};

static bool maps_rights_eq(const struct x86_rights *a, const struct x86_rights *b)
{
    return a->writable == b->writable && a->user == b->user &&
           a->executable == b->executable && a->pkey == b->pkey;
}

static void maps_flush(struct maps_state *s)
{
    if (!s->have || s->done)
        return;
    s->have = false;
    if (s->st.ranges >= s->max_ranges) {
        s->st.truncated = true;
        s->done = true;
        return;
    }
    s->st.ranges++;
    if (s->fn(s->fnctx, &s->pend) != 0) {
        s->st.stopped = true;
        s->done = true;
    }
}

static void maps_emit(struct maps_state *s, uint64_t va, uint64_t gpa, uint64_t size,
                      const struct x86_rights *r)
{
    if (s->vabits < 64)
        va = (uint64_t)((int64_t)(va << (64 - s->vabits)) >> (64 - s->vabits));
    if (s->have && s->pend.va + s->pend.size == va && s->pend.gpa + s->pend.size == gpa &&
        s->pend.page_size == size && maps_rights_eq(&s->pend.rights, r)) {
        s->pend.size += size;
        return;
    }
    maps_flush(s);
    if (s->done)
        return;
    s->pend = (struct x86_map_range){ .va = va, .gpa = gpa, .size = size, .page_size = size,
                                      .rights = *r };
    s->have = true;
}

static void maps_table(struct maps_state *s, unsigned depth, uint64_t table, uint64_t va_base,
                       struct x86_rights acc)
{
    enum x86_level_kind kind = s->kinds[depth];
    unsigned count = pt_table_entries(kind);
    unsigned esz = pt_entry_size(kind);
    unsigned shift = pt_shift(kind);
    unsigned char *buf = (unsigned char *)s->tbuf[depth];

    if (s->st.tables + s->st.unreadable >= s->max_tables) {
        s->st.truncated = true;
        s->done = true;
        return;
    }
    if (s->mem->read_gpa(s->mem->ctx, table, buf, (size_t)count * esz) < 0) {
        s->st.unreadable++;
        return;
    }
    s->st.tables++;
    for (unsigned i = 0; i < count && !s->done; i++) {
        uint64_t raw;
        if (esz == 4) {
            uint32_t v;
            memcpy(&v, buf + (size_t)i * 4, 4);
            raw = v;
        } else {
            memcpy(&raw, buf + (size_t)i * 8, 8);
        }
        if (!(raw & 1))
            continue;
        if (s->st.entries >= s->max_entries) {
            s->st.truncated = true;
            s->done = true;
            return;
        }
        s->st.entries++;
        if (pt_rsvd(&s->ctx, kind, raw)) {
            s->st.reserved++;
            continue;
        }
        struct x86_rights r = acc;
        r.writable = r.writable && pt_rw(kind, raw);
        r.user = r.user && pt_us(kind, raw);
        r.executable = r.executable && !pt_xd(&s->ctx, kind, raw);
        uint64_t va = va_base | ((uint64_t)i << shift);
        bool leaf = pt_is_leaf(&s->ctx, kind, raw);
        uint64_t addr = pt_addr(&s->ctx, kind, raw, leaf);
        if (leaf) {
            r.pkey = pt_pkey(&s->ctx, raw, leaf);
            maps_emit(s, va, addr, pt_page_size(kind), &r);
        } else if (depth + 1 < s->n) {
            maps_table(s, depth + 1, addr, va, r);
        }
    }
}

int x86_maps_enum(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
                  const struct x86_mem *mem, const struct x86_maps_limits *limits,
                  x86_maps_fn fn, void *ctx, struct x86_maps_stats *stats,
                  struct hvk_err *err)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!mem || !mem->read_gpa || !fn)
        return hvk_err_set(err, "x86_maps_enum: NULL reader or callback");

    struct maps_state *s = calloc(1, sizeof *s);
    if (!s)
        return hvk_err_set(err, "x86_maps_enum: out of memory");
    int ret = -1;
    if (pt_ctx_init(&s->ctx, regs, cpu, err) < 0)
        goto out;
    s->mem = mem;
    s->fn = fn;
    s->fnctx = ctx;
    s->max_entries = limits && limits->max_entries ? limits->max_entries : X86_MAPS_DEFAULT_MAX_ENTRIES;
    s->max_ranges = limits && limits->max_ranges ? limits->max_ranges : X86_MAPS_DEFAULT_MAX_RANGES;
    s->max_tables = limits && limits->max_tables ? limits->max_tables : X86_MAPS_DEFAULT_MAX_TABLES;
    s->n = pt_levels(s->ctx.mode, s->kinds);
    s->vabits = s->ctx.mode == X86_MODE_5LEVEL ? 57 : s->ctx.mode == X86_MODE_4LEVEL ? 48 : 64;

    struct x86_rights all = { .writable = true, .user = true, .executable = true, .pkey = -1 };
    if (s->ctx.mode == X86_MODE_OFF) {
        s->have = true;
        s->pend = (struct x86_map_range){ .va = 0, .gpa = 0, .size = 1ull << 32,
                                          .page_size = 4096, .rights = all };
    } else {
        maps_table(s, 0, pt_root(&s->ctx, regs->cr3), 0, all);
    }
    maps_flush(s);
    if (stats)
        *stats = s->st;
    ret = 0;
out:
    free(s);
    return ret;
}

size_t x86_map_range_format(const struct x86_map_range *r, char *buf, size_t len)
{
    const char *ps = r->page_size == 1ull << 12 ? "4K" : r->page_size == 1ull << 21 ? "2M"
                   : r->page_size == 1ull << 22 ? "4M" : r->page_size == 1ull << 30 ? "1G" : "?";
    int n = snprintf(buf, len, "%016llx-%016llx %016llx %-2s %c%c%c%c",
                     (unsigned long long)r->va, (unsigned long long)(r->va + r->size),
                     (unsigned long long)r->gpa, ps, r->rights.user ? 'u' : 's', 'r',
                     r->rights.writable ? 'w' : '-', r->rights.executable ? 'x' : '-');
    if (n < 0)
        return 0;
    size_t pos = (size_t)n;
    if (r->rights.pkey >= 0) {
        int m = snprintf(pos < len ? buf + pos : NULL, pos < len ? len - pos : 0, " pkey=%d",
                         r->rights.pkey);
        if (m > 0)
            pos += (size_t)m;
    }
    return pos;
}
