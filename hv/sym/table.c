/* table.c -- hvsym's sorted symbol table: building, extents, binary-search lookup, text ranges. */
#include "sym_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HVSYM_ALIAS_SCAN 16   /* aliases at one address tried by a lookup */

static int hvsym_grow(void **p, size_t *cap, size_t need, size_t elem, size_t max_elems)
{
    if (need <= *cap)
        return 0;
    if (need > max_elems)
        return -1;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap = ncap > max_elems / 2 ? max_elems : ncap * 2;
    void *np = realloc(*p, ncap * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

struct hvsym_table *hvsym_tab_new(struct hvk_err *err)
{
    struct hvsym_table *t = calloc(1, sizeof *t);
    if (!t)
        hvk_err_set(err, "out of memory for a symbol table");
    return t;
}

void hvsym_free(struct hvsym_table *t)
{
    if (!t)
        return;
    free(t->ents);
    free(t->names);
    free(t->text);
    free(t->bounds);
    free(t);
}

int hvsym_tab_add(struct hvsym_table *t, uint64_t start, uint64_t size, const char *name,
                  size_t len, unsigned rank, struct hvk_err *err)
{
    if (len == 0 || len > HVSYM_NAME_MAX)
        return hvk_err_set(err, "symbol name of %zu bytes (1..%u allowed)", len, HVSYM_NAME_MAX);
    if (t->n >= HVSYM_MAX_SYMBOLS)
        return hvk_err_set(err, "more than %u symbols", HVSYM_MAX_SYMBOLS);
    if (t->names_len + len + 1 > HVSYM_NAMES_MAX)
        return hvk_err_set(err, "symbol names exceed %u bytes", HVSYM_NAMES_MAX);
    if (hvsym_grow((void **)&t->ents, &t->cap, t->n + 1, sizeof *t->ents, HVSYM_MAX_SYMBOLS) < 0 ||
        hvsym_grow((void **)&t->names, &t->names_cap, t->names_len + len + 1, 1, HVSYM_NAMES_MAX) < 0)
        return hvk_err_set(err, "out of memory for symbols");
    struct hvsym_ent *e = &t->ents[t->n++];
    e->start = start;
    e->size = size;
    e->sized = size != 0;
    e->rank = (uint8_t)(rank > 255 ? 255 : rank);
    e->name_off = (uint32_t)t->names_len;
    memcpy(t->names + t->names_len, name, len);
    t->names[t->names_len + len] = '\0';
    t->names_len += len + 1;
    return 0;
}

int hvsym_tab_add_bound(struct hvsym_table *t, uint64_t addr, struct hvk_err *err)
{
    if (t->nbounds >= HVSYM_MAX_SYMBOLS)
        return hvk_err_set(err, "more than %u symbols", HVSYM_MAX_SYMBOLS);
    if (hvsym_grow((void **)&t->bounds, &t->bounds_cap, t->nbounds + 1, sizeof *t->bounds,
                   HVSYM_MAX_SYMBOLS) < 0)
        return hvk_err_set(err, "out of memory for symbols");
    t->bounds[t->nbounds++] = addr;
    return 0;
}

int hvsym_tab_add_text(struct hvsym_table *t, uint64_t start, uint64_t end, struct hvk_err *err)
{
    if (end <= start)
        return 0;
    if (hvsym_grow((void **)&t->text, &t->text_cap, t->ntext + 1, sizeof *t->text,
                   HVSYM_MAX_SYMBOLS) < 0)
        return hvk_err_set(err, "out of memory for text ranges");
    t->text[t->ntext].start = start;
    t->text[t->ntext].end = end;
    t->ntext++;
    return 0;
}

static int hvsym_ent_cmp(const void *a, const void *b, void *ctx)
{
    const struct hvsym_ent *x = a, *y = b;
    const char *names = ctx;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->sized != y->sized)
        return x->sized ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(names + x->name_off, names + y->name_off);
}

static int hvsym_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int hvsym_range_cmp(const void *a, const void *b)
{
    const struct hvsym_range *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Index of the text range holding addr, or -1. */
static long hvsym_text_index(const struct hvsym_table *t, uint64_t addr)
{
    size_t lo = 0, hi = t->ntext;
    while (lo < hi) {   /* first range with start > addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->text[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= t->text[lo - 1].end)
        return -1;
    return (long)(lo - 1);
}

static void hvsym_merge_text(struct hvsym_table *t)
{
    if (t->ntext == 0)
        return;
    qsort(t->text, t->ntext, sizeof *t->text, hvsym_range_cmp);
    size_t w = 0;
    for (size_t i = 1; i < t->ntext; i++) {
        if (t->text[i].start <= t->text[w].end) {
            if (t->text[i].end > t->text[w].end)
                t->text[w].end = t->text[i].end;
        } else {
            t->text[++w] = t->text[i];
        }
    }
    t->ntext = w + 1;
}

int hvsym_tab_finish(struct hvsym_table *t, bool text_from_symbols, struct hvk_err *err)
{
    if (t->n)
        qsort_r(t->ents, t->n, sizeof *t->ents, hvsym_ent_cmp, t->names);
    if (t->nbounds)
        qsort(t->bounds, t->nbounds, sizeof *t->bounds, hvsym_u64_cmp);
    if (!text_from_symbols)
        hvsym_merge_text(t);

    /* Walk down so next_start is the lowest symbol start above the current
     * group of aliases. */
    uint64_t next_start = 0;
    bool have_next = false;
    for (size_t i = t->n; i-- > 0;) {
        struct hvsym_ent *e = &t->ents[i];
        if (i + 1 < t->n && t->ents[i + 1].start != e->start) {
            next_start = t->ents[i + 1].start;
            have_next = true;
        }
        if (e->sized) {
            if (e->start + e->size < e->start)
                e->size = UINT64_MAX - e->start;
            continue;
        }
        uint64_t end = 0;
        bool have_end = false;
        if (have_next) {
            end = next_start;
            have_end = true;
        }
        /* the lowest other-symbol address above start */
        size_t lo = 0, hi = t->nbounds;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (t->bounds[mid] <= e->start)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < t->nbounds && (!have_end || t->bounds[lo] < end)) {
            end = t->bounds[lo];
            have_end = true;
        }
        if (!text_from_symbols) {
            long ti = hvsym_text_index(t, e->start);
            if (ti < 0) {
                e->size = 0;
                continue;
            }
            if (!have_end || t->text[ti].end < end) {
                end = t->text[ti].end;
                have_end = true;
            }
        }
        if (!have_end) {
            end = e->start + HVSYM_LAST_EXTENT;
            if (end < e->start)
                end = UINT64_MAX;
        }
        e->size = end - e->start;
    }
    free(t->bounds);
    t->bounds = NULL;
    t->nbounds = t->bounds_cap = 0;

    if (text_from_symbols) {
        free(t->text);
        t->text = NULL;
        t->ntext = t->text_cap = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->ents[i].size &&
                hvsym_tab_add_text(t, t->ents[i].start, t->ents[i].start + t->ents[i].size, err) < 0)
                return -1;
        hvsym_merge_text(t);
    }
    return 0;
}

size_t hvsym_count(const struct hvsym_table *t)
{
    return t ? t->n : 0;
}

size_t hvsym_skipped(const struct hvsym_table *t)
{
    return t ? t->skipped : 0;
}

bool hvsym_is_text(const struct hvsym_table *t, uint64_t addr)
{
    return t && hvsym_text_index(t, addr) >= 0;
}

bool hvsym_lookup(const struct hvsym_table *t, uint64_t addr, struct hvsym_hit *hit)
{
    if (!t || t->n == 0 || !hvsym_is_text(t, addr))
        return false;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {   /* first symbol with start > addr */
        size_t mid = lo + (hi - lo) / 2;
        if (t->ents[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    uint64_t s = t->ents[lo - 1].start;
    size_t first = 0;
    hi = lo;
    while (first < hi) {   /* first symbol with start >= s */
        size_t mid = first + (hi - first) / 2;
        if (t->ents[mid].start < s)
            first = mid + 1;
        else
            hi = mid;
    }
    /* aliases are in preference order; take the first whose extent covers
     * addr (bounded, so a hostile table of aliases stays cheap) */
    for (size_t i = first; i < lo && i < first + HVSYM_ALIAS_SCAN; i++) {
        const struct hvsym_ent *e = &t->ents[i];
        if (addr - e->start < e->size) {
            if (hit) {
                hit->name = t->names + e->name_off;
                hit->start = e->start;
                hit->size = e->size;
                hit->offset = addr - e->start;
            }
            return true;
        }
    }
    return false;
}

bool hvsym_find(const struct hvsym_table *t, const char *name, uint64_t *addr)
{
    if (!t || !name)
        return false;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->names + t->ents[i].name_off, name) == 0) {
            if (addr)
                *addr = t->ents[i].start;
            return true;
        }
    return false;
}

int hvsym_format(const struct hvsym_table *t, uint64_t addr, char *buf, size_t len)
{
    struct hvsym_hit h;
    if (!hvsym_lookup(t, addr, &h))
        return snprintf(buf, len, "0x%" PRIx64, addr);
    if (h.offset == 0)
        return snprintf(buf, len, "%s", h.name);
    return snprintf(buf, len, "%s+0x%" PRIx64, h.name, h.offset);
}

int hvsym_lookup_cb(void *table, uint64_t addr, const char **name, uint64_t *offset)
{
    struct hvsym_hit h;
    if (!hvsym_lookup(table, addr, &h))
        return -1;
    if (name)
        *name = h.name;
    if (offset)
        *offset = h.offset;
    return 0;
}

bool hvsym_is_text_cb(void *table, uint64_t addr)
{
    return hvsym_is_text(table, addr);
}
