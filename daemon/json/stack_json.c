/* stack_json.c -- an unwound guest stack (x86/unwind.h) as the API's stack result JSON object. */
#include <hvkit/hvjson.h>

#include <stdlib.h>

static json_t *hvjson_frames(const struct x86_stack *st, const struct x86_symbolizer *sym)
{
    json_t *a = json_array();
    unsigned n = st->nframes <= X86_UNWIND_MAX_FRAMES ? st->nframes : X86_UNWIND_MAX_FRAMES;
    if (!a)
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        const struct x86_unwind_frame *f = &st->frames[i];
        json_t *o = json_pack("{s:o, s:o}", "pc", hvjson_hex(f->pc), "frame", hvjson_hex(f->frame));
        if (!o || hvjson_add_symbol(o, sym, f->pc, i > 0) < 0 || json_array_append_new(a, o) < 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *hvjson_raw(const struct x86_stack_raw *raw, const struct x86_symbolizer *sym)
{
    json_t *a = json_array();
    unsigned n = raw->nwords <= X86_UNWIND_MAX_RAW ? raw->nwords : X86_UNWIND_MAX_RAW;
    if (!a)
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        const struct x86_raw_word *w = &raw->words[i];
        json_t *o = json_pack("{s:o, s:o}", "address", hvjson_hex(w->address), "value",
                              hvjson_hex(w->value));
        /* only words in known text are named: a data word that happens to
         * fall near a symbol must not look like a return address */
        if (!o || (w->text && hvjson_add_symbol(o, sym, w->value, false) < 0) ||
            json_array_append_new(a, o) < 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *hvjson_stack(unsigned vcpu, const struct x86_stack *st, const struct x86_stack_raw *raw,
                     const struct x86_symbolizer *sym, struct hvk_err *err)
{
    if (!st)
        return hvk_err_set(err, "hvjson_stack: NULL stack"), NULL;
    json_t *frames = hvjson_frames(st, sym);
    if (!frames)
        goto oom;
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:s, s:s}",
                          "vcpu", (json_int_t)vcpu,
                          "rip", hvjson_hex(st->regs.rip),
                          "rsp", hvjson_hex(st->regs.rsp),
                          "rbp", hvjson_hex(st->regs.rbp),
                          "frames", frames,
                          "stop", x86_unwind_stop_name(st->stop),
                          "stop_desc", st->stop_desc);
    if (!o)
        goto oom;
    if (raw) {
        json_t *r = hvjson_raw(raw, sym);
        if (!r || json_object_set_new(o, "raw", r) < 0) {
            json_decref(o);
            goto oom;
        }
    }
    return o;
oom:
    hvk_err_set(err, "out of memory building stack JSON");
    return NULL;
}
