/* walk_json.c -- a struct x86_walk as the API's walk-result JSON object. */
#include <hvkit/hvjson.h>

#include <stdio.h>

static const struct { unsigned bit; const char *name; } hvjson_bits[] = {
    { X86_E_P, "P" }, { X86_E_RW, "RW" }, { X86_E_US, "US" }, { X86_E_PWT, "PWT" },
    { X86_E_PCD, "PCD" }, { X86_E_A, "A" }, { X86_E_D, "D" }, { X86_E_PS, "PS" },
    { X86_E_G, "G" }, { X86_E_PAT, "PAT" }, { X86_E_XD, "XD" },
};

json_t *hvjson_hex(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return json_string(buf);
}

const char *hvjson_rights_str(const struct x86_rights *r, char buf[5])
{
    buf[0] = r->user ? 'u' : 's';
    buf[1] = 'r';
    buf[2] = r->writable ? 'w' : '-';
    buf[3] = r->executable ? 'x' : '-';
    buf[4] = '\0';
    return buf;
}

json_t *hvjson_rights(const struct x86_rights *r)
{
    char s[5];
    return json_pack("{s:b, s:b, s:b, s:o, s:s}", "user", r->user, "writable",
                     r->writable, "executable", r->executable, "pkey",
                     r->pkey >= 0 ? json_integer(r->pkey) : json_null(), "str",
                     hvjson_rights_str(r, s));
}

static json_t *hvjson_level(const struct x86_walk_level *l)
{
    json_t *bits = json_array();
    if (!bits)
        return NULL;
    for (size_t i = 0; i < sizeof hvjson_bits / sizeof hvjson_bits[0]; i++)
        if (l->bits & hvjson_bits[i].bit)
            json_array_append_new(bits, json_string(hvjson_bits[i].name));
    return json_pack("{s:s, s:s, s:I, s:o, s:b, s:o, s:o, s:o, s:o, s:b}",
                     "level", x86_level_id(l->kind), "name", x86_level_name(l->kind),
                     "index", (json_int_t)l->index, "entry_gpa", hvjson_hex(l->entry_gpa),
                     "read_ok", l->read_ok,
                     "raw", l->read_ok ? hvjson_hex(l->raw) : json_null(),
                     "bits", bits,
                     "pkey", l->pkey >= 0 ? json_integer(l->pkey) : json_null(),
                     "addr", l->read_ok ? hvjson_hex(l->addr) : json_null(),
                     "leaf", l->leaf);
}

json_t *hvjson_walk(const struct x86_walk *w, struct hvk_err *err)
{
    json_t *levels = json_array(), *o;
    bool fault = w->reason != X86_WALK_OK;
    unsigned n = w->nlevels <= X86_WALK_MAX_LEVELS ? w->nlevels : X86_WALK_MAX_LEVELS;

    if (!levels)
        goto oom;
    for (unsigned i = 0; i < n; i++) {
        json_t *l = hvjson_level(&w->levels[i]);
        if (!l || json_array_append_new(levels, l) < 0) {
            json_decref(levels);
            goto oom;
        }
    }
    o = json_pack("{s:o, s:s, s:{s:s, s:s}, s:o, s:b, s:o, s:o, s:o, s:b, s:s, s:s, s:o, s:o, s:o, s:o}",
                  "gva", hvjson_hex(w->gva),
                  "mode", x86_mode_name(w->mode),
                  "access", "type", x86_access_type_name(w->access.type),
                  "priv", x86_access_priv_name(w->access.priv),
                  "levels", levels,
                  "mapped", w->mapped,
                  "gpa", w->mapped ? hvjson_hex(w->gpa) : json_null(),
                  "page_size", w->mapped ? json_integer((json_int_t)w->page_size) : json_null(),
                  "rights", w->mapped ? hvjson_rights(&w->rights) : json_null(),
                  "ok", !fault,
                  "reason", x86_walk_reason_name(w->reason),
                  "why", w->why,
                  "fault_level", fault && w->fault_level >= 0 ? json_integer(w->fault_level) : json_null(),
                  "reserved_bit", w->reserved_bit >= 0 ? json_integer(w->reserved_bit) : json_null(),
                  "vector", fault && w->vector ? json_integer(w->vector) : json_null(),
                  "error_code", fault && w->vector == X86_VECTOR_PF ? json_integer(w->error_code) : json_null());
    if (!o)
        goto oom;
    return o;
oom:
    hvk_err_set(err, "out of memory building walk JSON");
    return NULL;
}
