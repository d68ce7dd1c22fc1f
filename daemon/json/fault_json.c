/* fault_json.c -- a FAULT record (hvkit/fault.h) as the data object of the API's FAULT event (schemas/fault-event.json). */
#include <hvkit/hvjson.h>

#include <stdlib.h>
#include <string.h>

static const struct { uint32_t bit; const char *name; } hvjson_pfec_bits[] = {
    { X86_PFEC_P, "P" }, { X86_PFEC_W, "W" }, { X86_PFEC_U, "U" },
    { X86_PFEC_RSVD, "RSVD" }, { X86_PFEC_ID, "I/D" }, { X86_PFEC_PK, "PK" },
};

/* {"pc", "symbol"?, "offset"?}; a return address (frame > 0) is named by
 * pc - 1, the call, with the offset still counted from pc. */
static json_t *hvjson_fault_frame(uint64_t pc, bool is_return, const struct x86_symbolizer *sym)
{
    json_t *o = json_pack("{s:o}", "pc", hvjson_hex(pc));
    if (o && hvjson_add_symbol(o, sym, pc, is_return) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *hvjson_fault_walk(const struct hvk_fault_rec *r)
{
    json_t *levels = json_array();
    char why[160];
    if (!levels)
        return NULL;
    /* r was checked: nlevels <= HVK_FAULT_MAX_LEVELS, kinds in range */
    for (unsigned i = 0; i < r->nlevels; i++) {
        const struct hvk_fault_level *l = &r->levels[i];
        json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:o}",
                              "level", x86_level_id((enum x86_level_kind)l->kind),
                              "name", x86_level_name((enum x86_level_kind)l->kind),
                              "entry_gpa", hvjson_hex(l->entry_gpa), "read_ok", l->read_ok != 0,
                              "raw", l->read_ok ? hvjson_hex(l->raw) : json_null());
        if (!o || json_array_append_new(levels, o) < 0) {
            json_decref(levels);
            return NULL;
        }
    }
    x86_fault_rec_why(r, why, sizeof why);
    return json_pack("{s:o, s:s, s:s, s:o}", "levels", levels,
                     "reason", x86_walk_reason_name((enum x86_walk_reason)r->walk_reason), "why", why,
                     "fault_level", r->walk_level < r->nlevels ? json_integer(r->walk_level) : json_null());
}

static json_t *hvjson_fault_notes(const struct hvk_fault_rec *r)
{
    json_t *a = json_array();
    unsigned notes = x86_fault_rec_notes(r);
    for (unsigned bit = 1; a && bit && bit <= notes; bit <<= 1)
        if ((notes & bit) && x86_fault_note_name(bit) &&
            json_array_append_new(a, json_string(x86_fault_note_name(bit))) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Add the optional members; -1 on out of memory. */
static int hvjson_fault_optional(json_t *o, const struct hvk_fault_rec *r, const struct x86_symbolizer *sym)
{
    bool stage2_event = r->cls == HVK_FC_STAGE2_MMIO || r->cls == HVK_FC_STAGE2_FAULT_IN;
    json_t *stack = json_array();
    if (!stack || json_object_set_new(o, "stack", stack) < 0)
        return -1;
    for (unsigned i = 0; i < r->nframes; i++) {
        json_t *f = hvjson_fault_frame(r->frames[i], i > 0, sym);
        if (!f || json_array_append_new(stack, f) < 0)
            return -1;
    }
    if (r->walk_level < r->nlevels &&
        json_object_set_new(o, "level", json_string(x86_level_id((enum x86_level_kind)r->levels[r->walk_level].kind))) < 0)
        return -1;
    if (((r->flags & HVK_FF_MAPPED) || stage2_event) && json_object_set_new(o, "gpa", hvjson_hex(r->gpa)) < 0)
        return -1;
    if (r->flags & HVK_FF_WALKED) {
        json_t *w = hvjson_fault_walk(r);
        if (!w || json_object_set_new(o, "walk", w) < 0)
            return -1;
    }
    if (r->cls == HVK_FC_STAGE2_MMIO && r->mmio_size) {
        json_t *m = json_pack("{s:o, s:i, s:b, s:o}", "gpa", hvjson_hex(r->gpa), "size", (int)r->mmio_size,
                              "write", (r->flags & HVK_FF_MMIO_WRITE) != 0, "value", hvjson_hex(r->mmio_value));
        if (!m || json_object_set_new(o, "mmio", m) < 0)
            return -1;
    }
    return 0;
}

json_t *hvjson_fault(const struct hvk_fault_rec *r, const struct x86_symbolizer *sym, unsigned nvcpus,
                     struct hvk_err *err)
{
    char cls[48];
    if (!r)
        return hvk_err_set(err, "hvjson_fault: NULL record"), NULL;
    /* the record came from a ring: nothing in it is used before this */
    if (x86_fault_rec_check(r, nvcpus, err) < 0)
        return NULL;

    bool exc = r->vector <= 31;
    bool has_ec = r->flags & HVK_FF_HAS_ERROR_CODE;
    json_t *bits = json_array(), *notes = hvjson_fault_notes(r), *o = NULL;
    if (!bits || !notes)
        goto oom;
    for (size_t i = 0; has_ec && r->vector == X86_VECTOR_PF && i < sizeof hvjson_pfec_bits / sizeof hvjson_pfec_bits[0]; i++)
        if ((r->error_code & hvjson_pfec_bits[i].bit) &&
            json_array_append_new(bits, json_string(hvjson_pfec_bits[i].name)) < 0)
            goto oom;
    x86_fault_class_format(r->cls, r->vector, cls, sizeof cls);
    o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:O, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:b, s:O}",
                  "vcpu", (json_int_t)r->vcpu,
                  "class", cls,
                  "vector", exc ? json_integer(r->vector) : json_null(),
                  "vector_name", exc ? json_string(hvk_vector_name(r->vector)) : json_null(),
                  "error_code", has_ec ? json_integer(r->error_code) : json_null(),
                  "error_bits", bits,
                  "address", hvjson_hex(r->addr),
                  "rip", hvjson_hex(r->rip),
                  "rsp", hvjson_hex(r->rsp),
                  "cr3", hvjson_hex(r->cr3),
                  "rflags", hvjson_hex(r->rflags),
                  "cs", (int)r->cs,
                  "ss", (int)r->ss,
                  "user", (r->flags & HVK_FF_USER) != 0,
                  "notes", notes);
    json_decref(bits);
    json_decref(notes);
    bits = notes = NULL;
    if (!o || hvjson_fault_optional(o, r, sym) < 0)
        goto oom;
    return o;
oom:
    json_decref(bits);
    json_decref(notes);
    json_decref(o);
    hvk_err_set(err, "out of memory building fault JSON");
    return NULL;
}
