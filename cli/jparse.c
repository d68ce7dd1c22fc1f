/* jparse.c -- walk-result and maps-result JSON (from hvd: untrusted) back
 * into struct x86_walk / x86_map_range, checked field by field. */
#include "jparse.h"

#include <string.h>

#define JP_FAIL(err, ...) hvk_err_set(err, "bad reply from hvd: " __VA_ARGS__)

static const struct { unsigned bit; const char *name; } jparse_bits[] = {
    { X86_E_P, "P" }, { X86_E_RW, "RW" }, { X86_E_US, "US" }, { X86_E_PWT, "PWT" },
    { X86_E_PCD, "PCD" }, { X86_E_A, "A" }, { X86_E_D, "D" }, { X86_E_PS, "PS" },
    { X86_E_G, "G" }, { X86_E_PAT, "PAT" }, { X86_E_XD, "XD" },
};

int hvctl_jparse_hex(const json_t *j, uint64_t *out)
{
    const char *s = json_string_value(j);
    size_t n;
    uint64_t v = 0;
    if (!s || strncmp(s, "0x", 2) != 0)
        return -1;
    s += 2;
    n = strlen(s);
    if (n < 1 || n > 16)
        return -1;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

int hvctl_jparse_hex_member(const json_t *o, const char *key, uint64_t *out, const char *what,
                            struct hvk_err *err)
{
    if (hvctl_jparse_hex(json_object_get(o, key), out) < 0)
        return JP_FAIL(err, "%s.%s is not a \"0x...\" hex string", what, key);
    return 0;
}

/* An integer member within [lo, hi]; null allowed when nullable (then *out
 * is `none`). */
static int jparse_int(const json_t *o, const char *key, long long lo, long long hi, bool nullable,
                      long long none, long long *out, const char *what, struct hvk_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (nullable && json_is_null(v)) {
        *out = none;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return JP_FAIL(err, "%s.%s is not an integer in %lld..%lld", what, key, lo, hi);
    *out = json_integer_value(v);
    return 0;
}

static int jparse_bool(const json_t *o, const char *key, bool *out, const char *what,
                       struct hvk_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        return JP_FAIL(err, "%s.%s is not a boolean", what, key);
    *out = json_is_true(v);
    return 0;
}

int hvctl_jparse_mode(const char *s, enum x86_mode *out)
{
    for (int m = X86_MODE_OFF; m <= X86_MODE_5LEVEL; m++)
        if (s && !strcmp(s, x86_mode_name((enum x86_mode)m))) {
            *out = (enum x86_mode)m;
            return 0;
        }
    return -1;
}

static int jparse_level_kind(const char *s, enum x86_level_kind *out)
{
    for (int k = X86_LEVEL_PML5E; k <= X86_LEVEL_PTE32; k++)
        if (s && !strcmp(s, x86_level_id((enum x86_level_kind)k))) {
            *out = (enum x86_level_kind)k;
            return 0;
        }
    return -1;
}

static int jparse_reason(const char *s, enum x86_walk_reason *out)
{
    for (int r = 0; r < X86_WALK_REASON_COUNT; r++)
        if (s && !strcmp(s, x86_walk_reason_name((enum x86_walk_reason)r))) {
            *out = (enum x86_walk_reason)r;
            return 0;
        }
    return -1;
}

int hvctl_jparse_rights(const json_t *j, struct x86_rights *r, struct hvk_err *err)
{
    long long pkey;
    if (!json_is_object(j))
        return JP_FAIL(err, "rights is not an object");
    if (jparse_bool(j, "user", &r->user, "rights", err) < 0 ||
        jparse_bool(j, "writable", &r->writable, "rights", err) < 0 ||
        jparse_bool(j, "executable", &r->executable, "rights", err) < 0 ||
        jparse_int(j, "pkey", 0, 15, true, -1, &pkey, "rights", err) < 0)
        return -1;
    r->pkey = (int)pkey;
    return 0;
}

static int jparse_level(const json_t *j, struct x86_walk_level *l, struct hvk_err *err)
{
    const json_t *bits = json_object_get(j, "bits"), *v;
    long long idx, pkey;
    size_t i;

    if (!json_is_object(j))
        return JP_FAIL(err, "a walk level is not an object");
    if (jparse_level_kind(json_string_value(json_object_get(j, "level")), &l->kind) < 0)
        return JP_FAIL(err, "level.level is not a known level token");
    if (jparse_int(j, "index", 0, 1023, false, 0, &idx, "level", err) < 0 ||
        hvctl_jparse_hex_member(j, "entry_gpa", &l->entry_gpa, "level", err) < 0 ||
        jparse_bool(j, "read_ok", &l->read_ok, "level", err) < 0 ||
        jparse_bool(j, "leaf", &l->leaf, "level", err) < 0 ||
        jparse_int(j, "pkey", 0, 15, true, -1, &pkey, "level", err) < 0)
        return -1;
    l->index = (unsigned)idx;
    l->pkey = (int)pkey;
    l->raw = l->addr = 0;
    if (l->read_ok && (hvctl_jparse_hex_member(j, "raw", &l->raw, "level", err) < 0 ||
                       hvctl_jparse_hex_member(j, "addr", &l->addr, "level", err) < 0))
        return -1;
    if (!json_is_array(bits) || json_array_size(bits) > sizeof jparse_bits / sizeof jparse_bits[0])
        return JP_FAIL(err, "level.bits is not an array of entry bits");
    l->bits = 0;
    json_array_foreach(bits, i, v) {
        size_t b;
        for (b = 0; b < sizeof jparse_bits / sizeof jparse_bits[0]; b++)
            if (json_is_string(v) && !strcmp(json_string_value(v), jparse_bits[b].name))
                break;
        if (b == sizeof jparse_bits / sizeof jparse_bits[0])
            return JP_FAIL(err, "level.bits holds an unknown bit");
        l->bits |= jparse_bits[b].bit;
    }
    return 0;
}

int hvctl_jparse_walk(const json_t *j, struct x86_walk *w, struct hvk_err *err)
{
    const json_t *acc = json_object_get(j, "access"), *levels = json_object_get(j, "levels"), *v;
    const char *ty, *pr, *why;
    long long fl, rb, vec, ec;
    bool ok = false;
    size_t i;

    memset(w, 0, sizeof *w);
    w->fault_level = w->reserved_bit = -1;
    if (!json_is_object(j))
        return JP_FAIL(err, "the walk result is not an object");
    if (hvctl_jparse_hex_member(j, "gva", &w->gva, "walk", err) < 0)
        return -1;
    if (hvctl_jparse_mode(json_string_value(json_object_get(j, "mode")), &w->mode) < 0)
        return JP_FAIL(err, "walk.mode is not a paging mode");
    ty = json_string_value(json_object_get(acc, "type"));
    pr = json_string_value(json_object_get(acc, "priv"));
    if (!ty || !pr)
        return JP_FAIL(err, "walk.access lacks type or priv");
    if (!strcmp(ty, "read"))
        w->access.type = X86_ACCESS_READ;
    else if (!strcmp(ty, "write"))
        w->access.type = X86_ACCESS_WRITE;
    else if (!strcmp(ty, "fetch"))
        w->access.type = X86_ACCESS_FETCH;
    else
        return JP_FAIL(err, "walk.access.type '%s' is unknown", ty);
    if (!strcmp(pr, "user"))
        w->access.priv = X86_PRIV_USER;
    else if (!strcmp(pr, "supervisor"))
        w->access.priv = X86_PRIV_SUPERVISOR;
    else if (!strcmp(pr, "implicit"))
        w->access.priv = X86_PRIV_IMPLICIT;
    else
        return JP_FAIL(err, "walk.access.priv '%s' is unknown", pr);

    if (!json_is_array(levels) || json_array_size(levels) > X86_WALK_MAX_LEVELS)
        return JP_FAIL(err, "walk.levels is not an array of at most %d levels", X86_WALK_MAX_LEVELS);
    json_array_foreach(levels, i, v)
        if (jparse_level(v, &w->levels[i], err) < 0)
            return -1;
    w->nlevels = (unsigned)json_array_size(levels);

    if (jparse_bool(j, "mapped", &w->mapped, "walk", err) < 0 ||
        jparse_bool(j, "ok", &ok, "walk", err) < 0)
        return -1;
    if (w->mapped) {
        long long ps;
        if (hvctl_jparse_hex_member(j, "gpa", &w->gpa, "walk", err) < 0 ||
            jparse_int(j, "page_size", 4096, 1ll << 30, false, 0, &ps, "walk", err) < 0 ||
            hvctl_jparse_rights(json_object_get(j, "rights"), &w->rights, err) < 0)
            return -1;
        if (ps != 1ll << 12 && ps != 1ll << 21 && ps != 1ll << 22 && ps != 1ll << 30)
            return JP_FAIL(err, "walk.page_size %lld is not a page size", ps);
        w->page_size = (uint64_t)ps;
    } else {
        w->rights.pkey = -1;
    }
    if (jparse_reason(json_string_value(json_object_get(j, "reason")), &w->reason) < 0)
        return JP_FAIL(err, "walk.reason is unknown");
    if (ok != (w->reason == X86_WALK_OK) || (ok && !w->mapped))
        return JP_FAIL(err, "walk.ok, walk.reason and walk.mapped disagree");
    why = json_string_value(json_object_get(j, "why"));
    if (!why)
        return JP_FAIL(err, "walk.why is not a string");
    snprintf(w->why, sizeof w->why, "%s", why);   /* cut, never overflowed */
    if (jparse_int(j, "fault_level", 0, X86_WALK_MAX_LEVELS - 1, true, -1, &fl, "walk", err) < 0 ||
        jparse_int(j, "reserved_bit", 0, 63, true, -1, &rb, "walk", err) < 0 ||
        jparse_int(j, "vector", 0, 255, true, 0, &vec, "walk", err) < 0 ||
        jparse_int(j, "error_code", 0, 63, true, 0, &ec, "walk", err) < 0)
        return -1;
    /* the renderer indexes levels[] with fault_level: keep it inside */
    if (fl >= (long long)w->nlevels)
        return JP_FAIL(err, "walk.fault_level %lld is outside its %u levels", fl, w->nlevels);
    if (vec != 0 && vec != X86_VECTOR_PF && vec != X86_VECTOR_GP)
        return JP_FAIL(err, "walk.vector %lld is neither #PF nor #GP", vec);
    w->fault_level = (int)fl;
    w->reserved_bit = (int)rb;
    w->vector = (unsigned)vec;
    w->error_code = (uint32_t)ec;
    return 0;
}

int hvctl_jparse_map_range(const json_t *j, struct x86_map_range *r, struct hvk_err *err)
{
    long long ps;
    if (!json_is_object(j))
        return JP_FAIL(err, "a maps range is not an object");
    if (hvctl_jparse_hex_member(j, "va", &r->va, "range", err) < 0 ||
        hvctl_jparse_hex_member(j, "gpa", &r->gpa, "range", err) < 0 ||
        hvctl_jparse_hex_member(j, "size", &r->size, "range", err) < 0 ||
        jparse_int(j, "page_size", 4096, 1ll << 30, false, 0, &ps, "range", err) < 0 ||
        hvctl_jparse_rights(json_object_get(j, "rights"), &r->rights, err) < 0)
        return -1;
    if (ps != 1ll << 12 && ps != 1ll << 21 && ps != 1ll << 22 && ps != 1ll << 30)
        return JP_FAIL(err, "range.page_size %lld is not a page size", ps);
    if (r->size == 0 || r->size % (uint64_t)ps)
        return JP_FAIL(err, "range.size 0x%llx is not a multiple of its page size",
                       (unsigned long long)r->size);
    r->page_size = (uint64_t)ps;
    return 0;
}

int hvctl_jparse_maps_head(const json_t *j, enum x86_mode *mode, uint64_t *cr3,
                           struct x86_maps_stats *st, struct hvk_err *err)
{
    const json_t *s = json_object_get(j, "stats");
    long long v;
    if (!json_is_object(j) || !json_is_array(json_object_get(j, "ranges")))
        return JP_FAIL(err, "the maps result is not an object with a ranges array");
    if (hvctl_jparse_mode(json_string_value(json_object_get(j, "mode")), mode) < 0)
        return JP_FAIL(err, "maps.mode is not a paging mode");
    if (hvctl_jparse_hex_member(j, "cr3", cr3, "maps", err) < 0)
        return -1;
    memset(st, 0, sizeof *st);
    if (!json_is_object(s))
        return JP_FAIL(err, "maps.stats is not an object");
#define JP_STAT(f)                                                              \
    do {                                                                        \
        if (jparse_int(s, #f, 0, (1ll << 62), false, 0, &v, "stats", err) < 0) \
            return -1;                                                          \
        st->f = (uint64_t)v;                                                    \
    } while (0)
    JP_STAT(entries);
    JP_STAT(tables);
    JP_STAT(ranges);
    JP_STAT(unreadable);
    JP_STAT(reserved);
#undef JP_STAT
    return jparse_bool(s, "truncated", &st->truncated, "stats", err);
}
