/* sym_int.h -- hvsym internals: the table under construction, shared by the ELF and System.map loaders. */
#ifndef HVSYM_INT_H
#define HVSYM_INT_H

#include <hvkit/hvsym.h>

struct hvsym_ent {
    uint64_t start;
    uint64_t size;       /* after finish: the extent, 0 only if nothing fits */
    uint32_t name_off;   /* into names */
    uint8_t rank;        /* lower = preferred among aliases at one address */
    bool sized;          /* size came from the input (ELF st_size > 0) */
};

struct hvsym_range {
    uint64_t start, end;   /* [start, end), end > start */
};

/* Invariants after hvsym_tab_finish(): ents sorted by (start, !sized, rank,
 * name); text sorted, merged, non-overlapping; bounds freed. */
struct hvsym_table {
    struct hvsym_ent *ents;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    struct hvsym_range *text;
    size_t ntext, text_cap;
    uint64_t *bounds;      /* addresses of other symbols that end a sizeless extent */
    size_t nbounds, bounds_cap;
    size_t skipped;
};

struct hvsym_table *hvsym_tab_new(struct hvk_err *err);
/* name of len bytes (no NUL needed), len <= HVSYM_NAME_MAX. size 0 = unknown. */
int hvsym_tab_add(struct hvsym_table *t, uint64_t start, uint64_t size, const char *name,
                  size_t len, unsigned rank, struct hvk_err *err);
int hvsym_tab_add_bound(struct hvsym_table *t, uint64_t addr, struct hvk_err *err);
int hvsym_tab_add_text(struct hvsym_table *t, uint64_t start, uint64_t end, struct hvk_err *err);
/* Sort, compute extents; text_from_symbols: text = union of the extents
 * (System.map), else the ranges given with hvsym_tab_add_text (ELF). */
int hvsym_tab_finish(struct hvsym_table *t, bool text_from_symbols, struct hvk_err *err);

#endif
