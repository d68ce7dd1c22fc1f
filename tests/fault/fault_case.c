/* fault_case.c -- load a fault classification case (JSON, jansson) and run it to text: class, level, walk reason, notes. */
#include "fault_case.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A number: a JSON integer >= 0 or a string "0x..." / decimal, 64 bits. */
static int fc_u64(json_t *v, const char *what, uint64_t *out, struct hvk_err *err)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || s[0] == '-' || s[0] == '\0')
        return hvk_err_set(err, "%s: expected a number >= 0 or a hex string", what);
    errno = 0;
    unsigned long long u = strtoull(s, &end, 0);
    if (errno || *end)
        return hvk_err_set(err, "%s: bad number '%s'", what, s);
    *out = u;
    return 0;
}

static int fc_keys(json_t *o, const char *what, const char *const *allowed, struct hvk_err *err)
{
    const char *key;
    json_t *val;
    if (!json_is_object(o))
        return hvk_err_set(err, "%s: expected an object", what);
    json_object_foreach(o, key, val) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key))
            i++;
        if (!allowed[i])
            return hvk_err_set(err, "%s: unknown key '%s'", what, key);
    }
    return 0;
}

/* Optional numeric members of o into dst[i] (keys[i]); absent ones keep dst. */
static int fc_u64s(json_t *o, const char *const *keys, uint64_t *const *dst, struct hvk_err *err)
{
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (v && fc_u64(v, keys[i], dst[i], err) < 0)
            return -1;
    }
    return 0;
}

static int fc_load_cpu(json_t *o, struct x86_cpu_facts *c, struct hvk_err *err)
{
    static const char *const keys[] = { "maxphyaddr", "nx", "pdpe1gb", "la57", "smep", "smap",
                                        "pku", "pse", "pse36", NULL };
    bool *flags[] = { NULL, &c->nx, &c->pdpe1gb, &c->la57, &c->smep, &c->smap, &c->pku, &c->pse, &c->pse36 };
    uint64_t m = 46;
    if (fc_keys(o, "cpu", keys, err) < 0)
        return -1;
    json_t *v = json_object_get(o, "maxphyaddr");
    if (v && fc_u64(v, "maxphyaddr", &m, err) < 0)
        return -1;
    c->maxphyaddr = m > 1000 ? 1000 : (unsigned)m;
    for (size_t i = 1; keys[i]; i++) {
        v = json_object_get(o, keys[i]);
        if (v && !json_is_boolean(v))
            return hvk_err_set(err, "cpu.%s: expected true or false", keys[i]);
        if (v)
            *flags[i] = json_is_true(v);
    }
    return 0;
}

static int fc_load_memory(json_t *a, struct wc_mem *m, struct hvk_err *err)
{
    static const char *const keys[] = { "gpa", "qwords", "comment", NULL };
    size_t i, j;
    json_t *chunk, *v;
    if (!json_is_array(a))
        return hvk_err_set(err, "memory: expected an array");
    json_array_foreach(a, i, chunk) {
        uint64_t gpa, x;
        if (fc_keys(chunk, "memory[]", keys, err) < 0 ||
            fc_u64(json_object_get(chunk, "gpa"), "memory.gpa", &gpa, err) < 0)
            return -1;
        json_t *q = json_object_get(chunk, "qwords");
        if (!json_is_array(q))
            return hvk_err_set(err, "memory[%zu]: needs an array \"qwords\"", i);
        json_array_foreach(q, j, v) {
            if (fc_u64(v, "memory value", &x, err) < 0)
                return -1;
            if (gpa + j * 8 < gpa || wc_mem_write(m, gpa + j * 8, &x, 8, err) < 0)
                return hvk_err_set(err, "memory[%zu][%zu]: outside RAM", i, j);
        }
    }
    return 0;
}

static int fc_load_fault(json_t *o, struct fc_case *c, struct hvk_err *err)
{
    static const char *const keys[] = { "vector", "error_code", "cr2", "cpl", "rip", NULL };
    uint64_t vector = 0, ec = 0, cpl = 0, rip = 0x1000;
    uint64_t *const dst[] = { &vector, &ec, &c->in.cr2, &cpl, &rip };
    if (fc_keys(o, "fault", keys, err) < 0 || fc_u64s(o, keys, dst, err) < 0)
        return -1;
    if (!json_object_get(o, "vector"))
        return hvk_err_set(err, "fault: needs \"vector\"");
    /* passed through clamped, not checked: the classifier must refuse */
    c->in.vector = vector > 255 ? 255 : (unsigned)vector;
    c->in.cpl = cpl > 255 ? 255 : (unsigned)cpl;
    if (ec > 0xffffffffull)
        return hvk_err_set(err, "fault.error_code: wider than 32 bits");
    c->in.error_code = (uint32_t)ec;
    c->frame = (struct x86_fault_frame){ .rip = rip, .rsp = 0x8000, .rflags = 0x2,
                                         .cs = (uint16_t)(c->in.cpl == 3 ? 0x2b : 0x8 | (c->in.cpl & 3)),
                                         .ss = (uint16_t)(c->in.cpl == 3 ? 0x23 : 0x10) };
    return 0;
}

int fc_case_load(const char *path, struct fc_case *c, struct hvk_err *err)
{
    static const char *const keys[] = { "comment", "regs", "cpu", "ram_size", "memory", "fault", NULL };
    static const char *const rkeys[] = { "cr0", "cr3", "cr4", "efer", "rflags", "pkru", NULL };
    json_error_t jerr;
    int ret = -1;
    uint64_t pkru = 0;
    memset(c, 0, sizeof *c);
    c->cpu.maxphyaddr = 46;
    c->mem.ram_size = 16ull << 20;
    c->in.regs.rflags = 2;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *v;
    if (!root)
        return hvk_err_set(err, "line %d: %s", jerr.line, jerr.text);
    uint64_t *const rdst[] = { &c->in.regs.cr0, &c->in.regs.cr3, &c->in.regs.cr4, &c->in.regs.efer,
                               &c->in.regs.rflags, &pkru };
    if (fc_keys(root, "top level", keys, err) < 0)
        goto out;
    if ((v = json_object_get(root, "ram_size")) && fc_u64(v, "ram_size", &c->mem.ram_size, err) < 0)
        goto out;
    if (fc_keys(json_object_get(root, "regs"), "regs", rkeys, err) < 0 ||
        fc_u64s(json_object_get(root, "regs"), rkeys, rdst, err) < 0)
        goto out;
    if (pkru > 0xffffffffull) {
        hvk_err_set(err, "regs.pkru: wider than 32 bits");
        goto out;
    }
    c->in.regs.pkru = (uint32_t)pkru;
    if ((v = json_object_get(root, "cpu")) && fc_load_cpu(v, &c->cpu, err) < 0)
        goto out;
    if ((v = json_object_get(root, "memory")) && fc_load_memory(v, &c->mem, err) < 0)
        goto out;
    if (fc_load_fault(json_object_get(root, "fault"), c, err) < 0)
        goto out;
    ret = 0;
out:
    json_decref(root);
    if (ret < 0)
        wc_mem_free(&c->mem);
    return ret;
}

void fc_case_free(struct fc_case *c)
{
    wc_mem_free(&c->mem);
}

int fc_case_run(struct fc_case *c, char **out, struct hvk_fault_rec *rec, struct hvk_err *err)
{
    struct x86_mem mem = { wc_mem_read, &c->mem };
    struct x86_fault f;
    struct hvk_fault_rec r;
    /* a 2-frame stack: the faulting RIP and one caller */
    struct x86_unwind_frame frames[2] = { { c->frame.rip, 0x8010 }, { 0xffffffff81000123ull, 0x8040 } };
    char cls[48], notes[160], rnotes[160], why[160];

    if (x86_fault_classify(&c->in, &c->cpu, &mem, &f, err) < 0)
        return -1;
    if (x86_fault_fill_record(&r, 1, &f, &c->frame, frames, 2, err) < 0)
        return -1;
    if (x86_fault_rec_check(&r, 2, err) < 0)
        return hvk_err_prefix(err, "the filled record is refused");
    x86_fault_notes_format(f.notes, notes, sizeof notes);
    x86_fault_notes_format(x86_fault_rec_notes(&r), rnotes, sizeof rnotes);
    if (strcmp(notes, rnotes))
        return hvk_err_set(err, "notes differ: classification '%s', record '%s'", notes, rnotes);
    x86_fault_class_format(r.cls, r.vector, cls, sizeof cls);
    x86_fault_rec_why(&r, why, sizeof why);
    const char *lvl = f.level >= 0 ? x86_level_id(f.walk.levels[f.level].kind) : "-";
    char access[48] = "-";
    if (f.vector == X86_VECTOR_PF)
        snprintf(access, sizeof access, "%s %s", x86_access_priv_name(f.access.priv),
                 x86_access_type_name(f.access.type));
    size_t cap = 1024;
    char *s = malloc(cap);
    if (!s)
        return hvk_err_set(err, "out of memory");
    snprintf(s, cap, "class %s\nlevel %s\nreason %s\naccess %s\nnotes %s\nwhy %s\nrecord_why %s\ngpa %s0x%llx\n",
             cls, lvl, f.walked ? x86_walk_reason_name(f.walk.reason) : "-", access, notes, f.why,
             why[0] ? why : "-", (r.flags & HVK_FF_MAPPED) ? "mapped " : "", (unsigned long long)r.gpa);
    *out = s;
    if (rec)
        *rec = r;
    return 0;
}
