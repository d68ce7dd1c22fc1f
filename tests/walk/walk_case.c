/* walk_case.c -- load a walker test case (JSON, via jansson) into sparse memory + registers, and run it to text. */
#include "walk_case.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Prefix err with "ctx: ". Bounded precisions keep the result within
 * err->msg (hvk_err_prefix trips gcc's -Wformat-truncation under -Werror). */
__attribute__((format(printf, 2, 3)))
static int wc_err_ctx(struct hvk_err *err, const char *fmt, ...)
{
    if (err) {
        char head[96], old[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(head, sizeof head, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        old[sizeof old - 1] = '\0';
        snprintf(err->msg, sizeof err->msg, "%.95s: %.400s", head, old);
    }
    return -1;
}

static struct wc_page *wc_page_find(const struct wc_mem *m, uint64_t base)
{
    for (size_t i = 0; i < m->npages; i++)
        if (m->pages[i].gpa == base)
            return &m->pages[i];
    return NULL;
}

int wc_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct wc_mem *m = ctx;
    m->reads++;
    if (len > m->ram_size || gpa > m->ram_size - len)
        return -1;
    unsigned char *out = buf;
    while (len > 0) {
        uint64_t base = gpa & ~0xfffull;
        size_t off = (size_t)(gpa - base);
        size_t n = 4096 - off < len ? 4096 - off : len;
        const struct wc_page *p = wc_page_find(m, base);
        if (p)
            memcpy(out, p->data + off, n);
        else
            memset(out, 0, n);
        out += n;
        gpa += n;
        len -= n;
    }
    return 0;
}

int wc_mem_write(struct wc_mem *m, uint64_t gpa, const void *buf, size_t len, struct hvk_err *err)
{
    if (len > m->ram_size || gpa > m->ram_size - len)
        return hvk_err_set(err, "memory at 0x%llx (+%zu) outside ram_size 0x%llx",
                           (unsigned long long)gpa, len, (unsigned long long)m->ram_size);
    const unsigned char *in = buf;
    while (len > 0) {
        uint64_t base = gpa & ~0xfffull;
        size_t off = (size_t)(gpa - base);
        size_t n = 4096 - off < len ? 4096 - off : len;
        struct wc_page *p = wc_page_find(m, base);
        if (!p) {
            if (m->npages >= WC_MAX_PAGES)
                return hvk_err_set(err, "more than %d pages of memory", WC_MAX_PAGES);
            struct wc_page *np = realloc(m->pages, (m->npages + 1) * sizeof *np);
            if (!np)
                return hvk_err_set(err, "out of memory");
            m->pages = np;
            p = &m->pages[m->npages++];
            p->gpa = base;
            memset(p->data, 0, sizeof p->data);
        }
        memcpy(p->data + off, in, n);
        in += n;
        gpa += n;
        len -= n;
    }
    return 0;
}

void wc_mem_free(struct wc_mem *m)
{
    free(m->pages);
    m->pages = NULL;
    m->npages = 0;
}

/* A number: a JSON integer >= 0 or a string "0x..." / decimal, full 64 bits. */
static int wc_u64(json_t *v, const char *what, uint64_t *out, struct hvk_err *err)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return hvk_err_set(err, "%s: negative", what);
        *out = (uint64_t)i;
        return 0;
    }
    if (!json_is_string(v))
        return hvk_err_set(err, "%s: expected a number or a hex string", what);
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    if (s[0] == '-' || s[0] == '\0')
        return hvk_err_set(err, "%s: bad number '%s'", what, s);
    unsigned long long u = strtoull(s, &end, 0);
    if (errno || *end)
        return hvk_err_set(err, "%s: bad number '%s'", what, s);
    *out = u;
    return 0;
}

static int wc_check_keys(json_t *obj, const char *what, const char *const *allowed,
                         struct hvk_err *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (!strcmp(key, allowed[i]))
                ok = true;
        if (!ok)
            return hvk_err_set(err, "%s: unknown key '%s'", what, key);
    }
    return 0;
}

static int wc_load_regs(json_t *o, struct x86_paging_regs *r, struct hvk_err *err)
{
    static const char *const keys[] = { "cr0", "cr3", "cr4", "efer", "rflags", "pkru", NULL };
    uint64_t *dst[] = { &r->cr0, &r->cr3, &r->cr4, &r->efer, &r->rflags, NULL };
    if (!json_is_object(o))
        return hvk_err_set(err, "regs: expected an object");
    if (wc_check_keys(o, "regs", keys, err) < 0)
        return -1;
    r->rflags = 2;
    for (size_t i = 0; dst[i]; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (v && wc_u64(v, keys[i], dst[i], err) < 0)
            return -1;
    }
    json_t *v = json_object_get(o, "pkru");
    if (v) {
        uint64_t p;
        if (wc_u64(v, "pkru", &p, err) < 0)
            return -1;
        if (p > 0xffffffffull)
            return hvk_err_set(err, "pkru: wider than 32 bits");
        r->pkru = (uint32_t)p;
    }
    return 0;
}

static int wc_load_cpu(json_t *o, struct x86_cpu_facts *c, struct hvk_err *err)
{
    static const char *const keys[] = { "maxphyaddr", "nx", "pdpe1gb", "la57", "smep", "smap",
                                        "pku", "pse", "pse36", NULL };
    bool *flags[] = { NULL, &c->nx, &c->pdpe1gb, &c->la57, &c->smep, &c->smap, &c->pku,
                      &c->pse, &c->pse36 };
    if (!json_is_object(o))
        return hvk_err_set(err, "cpu: expected an object");
    if (wc_check_keys(o, "cpu", keys, err) < 0)
        return -1;
    uint64_t m = 46;
    json_t *v = json_object_get(o, "maxphyaddr");
    if (v && wc_u64(v, "maxphyaddr", &m, err) < 0)
        return -1;
    /* passed through unchecked beyond 32 bits: the walker must refuse bad values */
    c->maxphyaddr = m > 1000 ? 1000 : (unsigned)m;
    for (size_t i = 1; keys[i]; i++) {
        v = json_object_get(o, keys[i]);
        if (!v)
            continue;
        if (!json_is_boolean(v))
            return hvk_err_set(err, "cpu.%s: expected true or false", keys[i]);
        *flags[i] = json_is_true(v);
    }
    return 0;
}

static int wc_load_memory(json_t *a, struct wc_mem *m, struct hvk_err *err)
{
    static const char *const keys[] = { "gpa", "qwords", "dwords", "comment", NULL };
    size_t i;
    json_t *chunk;
    if (!json_is_array(a))
        return hvk_err_set(err, "memory: expected an array");
    json_array_foreach(a, i, chunk) {
        uint64_t gpa;
        if (!json_is_object(chunk))
            return hvk_err_set(err, "memory[%zu]: expected an object", i);
        if (wc_check_keys(chunk, "memory", keys, err) < 0)
            return -1;
        if (wc_u64(json_object_get(chunk, "gpa"), "memory.gpa", &gpa, err) < 0)
            return wc_err_ctx(err, "memory[%zu]", i);
        json_t *q = json_object_get(chunk, "qwords");
        json_t *d = json_object_get(chunk, "dwords");
        if (!!q == !!d || !json_is_array(q ? q : d))
            return hvk_err_set(err, "memory[%zu]: needs exactly one array of qwords or dwords", i);
        size_t w = q ? 8 : 4;
        size_t j;
        json_t *v;
        json_array_foreach(q ? q : d, j, v) {
            uint64_t x;
            if (wc_u64(v, "memory value", &x, err) < 0)
                return wc_err_ctx(err, "memory[%zu][%zu]", i, j);
            if (w == 4 && x > 0xffffffffull)
                return hvk_err_set(err, "memory[%zu][%zu]: dword wider than 32 bits", i, j);
            if (gpa + j * w < gpa)
                return hvk_err_set(err, "memory[%zu]: address wraps", i);
            if (wc_mem_write(m, gpa + j * w, &x, w, err) < 0)   /* little-endian host */
                return wc_err_ctx(err, "memory[%zu]", i);
        }
    }
    return 0;
}

static int wc_load_query(json_t *o, struct wc_query *q, struct hvk_err *err)
{
    static const char *const keys[] = { "gva", "access", "priv", "comment", NULL };
    if (!json_is_object(o))
        return hvk_err_set(err, "walk: expected an object");
    if (wc_check_keys(o, "walk", keys, err) < 0)
        return -1;
    if (wc_u64(json_object_get(o, "gva"), "walk.gva", &q->gva, err) < 0)
        return -1;
    const char *a = json_string_value(json_object_get(o, "access"));
    const char *p = json_string_value(json_object_get(o, "priv"));
    if (!a || !p)
        return hvk_err_set(err, "walk: needs \"access\" and \"priv\" strings");
    if (!strcmp(a, "read")) q->acc.type = X86_ACCESS_READ;
    else if (!strcmp(a, "write")) q->acc.type = X86_ACCESS_WRITE;
    else if (!strcmp(a, "fetch")) q->acc.type = X86_ACCESS_FETCH;
    else return hvk_err_set(err, "walk.access: '%s' is not read, write or fetch", a);
    if (!strcmp(p, "user")) q->acc.priv = X86_PRIV_USER;
    else if (!strcmp(p, "supervisor")) q->acc.priv = X86_PRIV_SUPERVISOR;
    else if (!strcmp(p, "implicit")) q->acc.priv = X86_PRIV_IMPLICIT;
    else return hvk_err_set(err, "walk.priv: '%s' is not user, supervisor or implicit", p);
    return 0;
}

int wc_case_load(const char *path, struct wc_case *c, struct hvk_err *err)
{
    static const char *const keys[] = { "comment", "regs", "cpu", "ram_size", "memory", "walk",
                                        "maps", NULL };
    json_error_t jerr;
    int ret = -1;
    memset(c, 0, sizeof *c);
    c->cpu.maxphyaddr = 46;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        const char *base = strrchr(path, '/');
        return hvk_err_set(err, "%s:%d: %s", base ? base + 1 : path, jerr.line, jerr.text);
    }
    if (!json_is_object(root)) {
        hvk_err_set(err, "top level: expected an object");
        goto out;
    }
    if (wc_check_keys(root, "top level", keys, err) < 0)
        goto out;
    c->mem.ram_size = 16ull << 20;
    json_t *v = json_object_get(root, "ram_size");
    if (v && wc_u64(v, "ram_size", &c->mem.ram_size, err) < 0)
        goto out;
    if (!json_object_get(root, "regs")) {
        hvk_err_set(err, "missing \"regs\"");
        goto out;
    }
    if (wc_load_regs(json_object_get(root, "regs"), &c->regs, err) < 0)
        goto out;
    if ((v = json_object_get(root, "cpu")) && wc_load_cpu(v, &c->cpu, err) < 0)
        goto out;
    if ((v = json_object_get(root, "memory")) && wc_load_memory(v, &c->mem, err) < 0)
        goto out;
    json_t *walk = json_object_get(root, "walk");
    json_t *maps = json_object_get(root, "maps");
    if (!!walk == !!maps) {
        hvk_err_set(err, "needs exactly one of \"walk\" or \"maps\"");
        goto out;
    }
    if (maps) {
        static const char *const mkeys[] = { "max_entries", "max_ranges", "max_tables", NULL };
        c->is_maps = true;
        if (!json_is_object(maps) || wc_check_keys(maps, "maps", mkeys, err) < 0) {
            hvk_err_set(err, "maps: expected an object of limits");
            goto out;
        }
        json_t *l;
        if ((l = json_object_get(maps, "max_entries")) && wc_u64(l, "max_entries", &c->limits.max_entries, err) < 0)
            goto out;
        if ((l = json_object_get(maps, "max_ranges")) && wc_u64(l, "max_ranges", &c->limits.max_ranges, err) < 0)
            goto out;
        if ((l = json_object_get(maps, "max_tables")) && wc_u64(l, "max_tables", &c->limits.max_tables, err) < 0)
            goto out;
    } else if (json_is_array(walk)) {
        size_t i;
        json_t *q;
        if (json_array_size(walk) == 0 || json_array_size(walk) > WC_MAX_QUERIES) {
            hvk_err_set(err, "walk: 1..%d queries", WC_MAX_QUERIES);
            goto out;
        }
        json_array_foreach(walk, i, q) {
            if (wc_load_query(q, &c->queries[i], err) < 0) {
                wc_err_ctx(err, "walk[%zu]", i);
                goto out;
            }
        }
        c->nqueries = json_array_size(walk);
    } else {
        if (wc_load_query(walk, &c->queries[0], err) < 0)
            goto out;
        c->nqueries = 1;
    }
    ret = 0;
out:
    json_decref(root);
    if (ret < 0)
        wc_mem_free(&c->mem);
    return ret;
}

void wc_case_free(struct wc_case *c)
{
    wc_mem_free(&c->mem);
}

/* Growable output text. */
struct wc_text {
    char *s;
    size_t len;
    size_t cap;
};

static int wc_text_add(struct wc_text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *ns = realloc(t->s, cap);
        if (!ns)
            return -1;
        t->s = ns;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
    return 0;
}

/* Goldens list the first WC_MAPS_SHOWN ranges and count the rest. */
#define WC_MAPS_SHOWN 64

struct wc_maps_out {
    struct wc_text *t;
    uint64_t seen;
};

static int wc_maps_line(void *ctx, const struct x86_map_range *r)
{
    struct wc_maps_out *o = ctx;
    char line[160];
    if (o->seen++ >= WC_MAPS_SHOWN)
        return 0;
    size_t n = x86_map_range_format(r, line, sizeof line - 1);
    if (n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n] = '\n';
    return wc_text_add(o->t, line, n + 1);
}

int wc_case_run(struct wc_case *c, char **out, struct hvk_err *err)
{
    struct wc_text t = {0};
    struct x86_mem mem = { wc_mem_read, &c->mem };
    char buf[4096];

    if (wc_text_add(&t, "", 0) < 0)
        return hvk_err_set(err, "out of memory");
    if (c->is_maps) {
        struct x86_maps_stats st;
        struct wc_maps_out o = { &t, 0 };
        if (x86_maps_enum(&c->regs, &c->cpu, &mem, &c->limits, wc_maps_line, &o, &st, err) < 0)
            goto fail;
        if (o.seen > WC_MAPS_SHOWN) {
            int m = snprintf(buf, sizeof buf, "... %llu more ranges\n",
                             (unsigned long long)(o.seen - WC_MAPS_SHOWN));
            if (wc_text_add(&t, buf, (size_t)m) < 0)
                goto oom;
        }
        int n = snprintf(buf, sizeof buf,
                         "STATS entries %llu tables %llu ranges %llu unreadable %llu reserved %llu%s%s\n",
                         (unsigned long long)st.entries, (unsigned long long)st.tables,
                         (unsigned long long)st.ranges, (unsigned long long)st.unreadable,
                         (unsigned long long)st.reserved, st.truncated ? " TRUNCATED" : "",
                         st.stopped ? " STOPPED" : "");
        if (wc_text_add(&t, buf, (size_t)n) < 0)
            goto oom;
    } else {
        for (size_t i = 0; i < c->nqueries; i++) {
            struct x86_walk w;
            if (x86_walk(&c->regs, &c->cpu, &mem, c->queries[i].gva, c->queries[i].acc, &w, err) < 0)
                goto fail;
            size_t n = x86_walk_format(&w, buf, sizeof buf);
            if (n >= sizeof buf) {
                hvk_err_set(err, "walk text longer than %zu bytes", sizeof buf);
                goto fail;
            }
            if ((i > 0 && wc_text_add(&t, "\n", 1) < 0) || wc_text_add(&t, buf, n) < 0)
                goto oom;
        }
    }
    *out = t.s;
    return 0;
oom:
    hvk_err_set(err, "out of memory");
fail:
    free(t.s);
    return -1;
}
