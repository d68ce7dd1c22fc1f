/* source_live.c -- hvctl's live source: walk and maps answered by hvd (the
 * walker runs in hv on the running vCPU's registers); replies are parsed
 * back into the walker's structs (jparse.c) for the shared renderer. */
#include "source.h"

#include <stdlib.h>

#include <hvkit/hvjson.h>

#include "client.h"
#include "jparse.h"
#include "live.h"

struct hvctl_source_live {
    struct hvctl_source base;   /* first: the generic source */
    struct hvctl_client *client;
    struct hvctl_source_opts o;
    bool have_cr3;              /* cr3 known: --cr3, or asked once */
    uint64_t cr3;
};

static const struct hvctl_source_ops hvctl_live_ops;

static json_t *hvctl_live_src_args(const struct hvctl_source_live *s)
{
    json_t *a = hvctl_live_args(&s->o, true);
    if (a && s->o.have_cr3)
        json_object_set_new(a, "cr3", hvjson_hex(s->o.cr3));
    return a;
}

static bool hvctl_live_cr3(struct hvctl_source *base, uint64_t *cr3)
{
    struct hvctl_source_live *s = (struct hvctl_source_live *)base;
    json_t *regs = NULL;
    struct hvk_err e = { "" };
    if (!s->have_cr3 && hvctl_client_exec(s->client, "regs", hvctl_live_args(&s->o, true), &regs,
                                          NULL, &e) == 0)
        s->have_cr3 = hvctl_jparse_hex_member(regs, "cr3", &s->cr3, "regs", &e) == 0;
    json_decref(regs);
    *cr3 = s->cr3;
    return s->have_cr3;
}

static int hvctl_live_walk(struct hvctl_source *base, uint64_t gva, struct x86_access acc,
                           struct x86_walk *out, json_t **raw, struct hvk_err *err)
{
    struct hvctl_source_live *s = (struct hvctl_source_live *)base;
    static const char *const acc_tok[] = { [X86_ACCESS_READ] = "r", [X86_ACCESS_WRITE] = "w",
                                           [X86_ACCESS_FETCH] = "x" };
    json_t *args = hvctl_live_src_args(s), *ret = NULL;
    if (!args) {
        hvk_err_set(err, "out of memory");
        return hvk_err_code(err, HVCTL_EXIT_INTERNAL);
    }
    json_object_set_new(args, "gva", hvjson_hex(gva));
    json_object_set_new(args, "access", json_string(acc_tok[acc.type]));
    json_object_set_new(args, "user", json_boolean(acc.priv == X86_PRIV_USER));
    if (hvctl_live_call(s->client, &s->o, "walk", args, &ret, err) < 0)
        return -1;
    if (hvctl_jparse_walk(ret, out, err) < 0) {
        json_decref(ret);
        return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
    }
    if (out->gva != gva) {
        json_decref(ret);
        hvk_err_set(err, "bad reply from hvd: asked to walk 0x%llx, got a walk of 0x%llx",
                    (unsigned long long)gva, (unsigned long long)out->gva);
        return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
    }
    if (raw)
        *raw = ret;
    else
        json_decref(ret);
    return 0;
}

static int hvctl_live_maps(struct hvctl_source *base, hvctl_maps_begin_fn begin, x86_maps_fn fn,
                           void *ctx, struct x86_maps_stats *stats, json_t **raw,
                           struct hvk_err *err)
{
    struct hvctl_source_live *s = (struct hvctl_source_live *)base;
    json_t *ret = NULL, *v;
    enum x86_mode mode;
    uint64_t cr3;
    size_t i;

    if (hvctl_live_call(s->client, &s->o, "maps", hvctl_live_src_args(s), &ret, err) < 0)
        return -1;
    if (hvctl_jparse_maps_head(ret, &mode, &cr3, stats, err) < 0)
        goto bad;
    /* parse every range before rendering any: a bad reply prints nothing */
    json_array_foreach(json_object_get(ret, "ranges"), i, v) {
        struct x86_map_range r;
        if (hvctl_jparse_map_range(v, &r, err) < 0)
            goto bad;
    }
    begin(ctx, mode, cr3);
    json_array_foreach(json_object_get(ret, "ranges"), i, v) {
        struct x86_map_range r;
        hvctl_jparse_map_range(v, &r, err);
        if (fn(ctx, &r))
            break;
    }
    if (raw)
        *raw = ret;
    else
        json_decref(ret);
    return 0;
bad:
    json_decref(ret);
    return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
}

static void hvctl_live_close(struct hvctl_source *base)
{
    struct hvctl_source_live *s = (struct hvctl_source_live *)base;
    hvctl_client_close(s->client);
    free(s);
}

static const struct hvctl_source_ops hvctl_live_ops = {
    .cr3 = hvctl_live_cr3,
    .walk = hvctl_live_walk,
    .maps = hvctl_live_maps,
    .close = hvctl_live_close,
};

int hvctl_source_live_open(const struct hvctl_source_opts *o, const struct hvctl_opts *g,
                           struct hvctl_source **out, struct hvk_err *err)
{
    struct hvctl_source_live *s;
    if (o->have_efer || o->maxphyaddr) {
        hvk_err_set(err, "--efer and --maxphyaddr are for --core; a live walk uses the vCPU's own");
        return hvk_err_code(err, HVCTL_EXIT_USAGE);
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        hvk_err_set(err, "out of memory");
        return hvk_err_code(err, HVCTL_EXIT_INTERNAL);
    }
    s->base.ops = &hvctl_live_ops;
    s->o = *o;
    s->have_cr3 = o->have_cr3;
    s->cr3 = o->cr3;
    s->client = hvctl_live_connect(o, g, err);
    if (!s->client) {
        free(s);
        return -1;
    }
    *out = &s->base;
    return 0;
}
