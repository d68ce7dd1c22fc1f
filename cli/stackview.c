/* stackview.c -- hvd's `stack` return value (untrusted) into a checked
 * struct hvctl_stackview, and client-side symbolization with hvsym. */
#include "stackview.h"

#include <string.h>

#include <hvkit/hvsym.h>

#include "jparse.h"

#define SV_FAIL(err, ...) hvk_err_set(err, "bad reply from hvd: " __VA_ARGS__)

/* "name+0xoff" from a frame's or word's optional symbol and offset
 * (offset: an integer or a hex string; a symbol may already carry it). */
static int hvctl_stackview_sym(const json_t *o, char *buf, size_t len, struct hvk_err *err)
{
    const json_t *sym = json_object_get(o, "symbol"), *off = json_object_get(o, "offset");
    uint64_t v = 0;
    char name[128];
    buf[0] = '\0';
    if (!sym || json_is_null(sym))
        return 0;
    if (!json_is_string(sym))
        return SV_FAIL(err, "a symbol is not a string");
    /* names come from the guest's symbol table: keep them printable */
    size_t i = 0;
    for (const char *s = json_string_value(sym); *s && i + 1 < sizeof name; s++)
        name[i++] = (*s > 0x20 && *s < 0x7f) ? *s : '?';
    name[i] = '\0';
    if (off && !json_is_null(off)) {
        if (json_is_integer(off) && json_integer_value(off) >= 0)
            v = (uint64_t)json_integer_value(off);
        else if (hvctl_jparse_hex(off, &v) < 0)
            return SV_FAIL(err, "a symbol offset is neither a number nor a hex string");
    }
    if (v)
        snprintf(buf, len, "%s+0x%llx", name, (unsigned long long)v);
    else
        snprintf(buf, len, "%s", name);
    return 0;
}

int hvctl_stackview_parse(const json_t *j, struct hvctl_stackview *v, struct hvk_err *err)
{
    const json_t *frames = json_object_get(j, "frames"), *raw = json_object_get(j, "raw"), *x;
    const json_t *stop = json_object_get(j, "stop");
    size_t i;

    memset(v, 0, sizeof *v);
    if (!json_is_object(j))
        return SV_FAIL(err, "the stack is not an object");
    x = json_object_get(j, "vcpu");
    v->vcpu = json_is_integer(x) ? json_integer_value(x) : -1;
    if (hvctl_jparse_hex_member(j, "rip", &v->rip, "stack", err) < 0 ||
        hvctl_jparse_hex_member(j, "rsp", &v->rsp, "stack", err) < 0 ||
        hvctl_jparse_hex_member(j, "rbp", &v->rbp, "stack", err) < 0)
        return -1;
    if (!json_is_array(frames) || json_array_size(frames) > HVCTL_STACK_MAX_FRAMES)
        return SV_FAIL(err, "stack.frames is not an array of at most %d frames", HVCTL_STACK_MAX_FRAMES);
    json_array_foreach(frames, i, x) {
        struct hvctl_stack_frame *f = &v->frames[i];
        if (!json_is_object(x))
            return SV_FAIL(err, "a stack frame is not an object");
        if (hvctl_jparse_hex_member(x, "pc", &f->pc, "frame", err) < 0 ||
            hvctl_jparse_hex_member(x, "frame", &f->frame, "frame", err) < 0 ||
            hvctl_stackview_sym(x, f->sym, sizeof f->sym, err) < 0)
            return -1;
    }
    v->nframes = (unsigned)json_array_size(frames);
    /* stop: a reason token, or an object {reason, desc...} */
    if (json_is_string(stop)) {
        snprintf(v->stop, sizeof v->stop, "%s", json_string_value(stop));
    } else if (json_is_object(stop) && json_is_string(json_object_get(stop, "reason"))) {
        snprintf(v->stop, sizeof v->stop, "%s", json_string_value(json_object_get(stop, "reason")));
        x = json_object_get(stop, "desc");
        if (json_is_string(x))
            snprintf(v->stop_desc, sizeof v->stop_desc, "%s", json_string_value(x));
    } else {
        return SV_FAIL(err, "stack.stop is missing");
    }
    x = json_object_get(j, "stop_desc");
    if (json_is_string(x))
        snprintf(v->stop_desc, sizeof v->stop_desc, "%s", json_string_value(x));
    if (raw && !json_is_null(raw)) {
        if (!json_is_array(raw) || json_array_size(raw) > HVCTL_STACK_MAX_RAW)
            return SV_FAIL(err, "stack.raw is not an array of at most %d words", HVCTL_STACK_MAX_RAW);
        json_array_foreach(raw, i, x) {
            struct hvctl_stack_word *w = &v->raw[i];
            if (!json_is_object(x))
                return SV_FAIL(err, "a raw stack word is not an object");
            if (hvctl_jparse_hex_member(x, "address", &w->address, "raw", err) < 0 ||
                hvctl_jparse_hex_member(x, "value", &w->value, "raw", err) < 0 ||
                hvctl_stackview_sym(x, w->sym, sizeof w->sym, err) < 0)
                return -1;
        }
        v->have_raw = true;
        v->nraw = (unsigned)json_array_size(raw);
    }
    /* printable tokens only: they come from hv */
    for (char *p = v->stop; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            *p = '?';
    for (char *p = v->stop_desc; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            *p = '?';
    return 0;
}

/* sym of addr with lookups at addr - bias (bias 1 for return addresses). */
static void hvctl_stackview_sym1(const struct hvsym_table *t, uint64_t addr, unsigned bias,
                                 char *buf, size_t len)
{
    struct hvsym_hit hit;
    buf[0] = '\0';
    if (addr < bias || !hvsym_lookup(t, addr - bias, &hit))
        return;
    uint64_t off = addr - hit.start;
    if (off)
        snprintf(buf, len, "%s+0x%llx", hit.name, (unsigned long long)off);
    else
        snprintf(buf, len, "%s", hit.name);
}

void hvctl_stackview_resymbolize(struct hvctl_stackview *v, const struct hvsym_table *t)
{
    for (unsigned i = 0; i < v->nframes; i++)
        hvctl_stackview_sym1(t, v->frames[i].pc, i > 0, v->frames[i].sym, sizeof v->frames[i].sym);
    for (unsigned i = 0; i < v->nraw; i++)
        hvctl_stackview_sym1(t, v->raw[i].value, 1, v->raw[i].sym, sizeof v->raw[i].sym);
}
