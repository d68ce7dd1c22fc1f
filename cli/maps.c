/* maps.c -- `hvctl maps`: every mapped range of an address space, coalesced,
 * like QEMU's `info mem`. */
#include "hvctl.h"
#include "render.h"
#include "util.h"

#include <hvkit/hvjson.h>

const char hvctl_maps_usage[] =
    "usage: hvctl maps [--vm NAME | --core FILE] [options]\n"
    "List the mapped ranges of the vCPU's address space (VA range, size, GPA,\n"
    "page size, rights u/s r w x), coalesced when VA and GPA are contiguous\n"
    "and page size and rights are equal.\n"
    "\n"
    HVCTL_SOURCE_HELP
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 4 file, VM or vCPU not\n"
    "found, 5 corrupt dump, bad reply or unusable registers, 6 hvd or hv failed.\n";

struct hvctl_maps_ctx {
    bool want_json;
    bool raw_only;      /* JSON from hvd: printed as it came, not rebuilt */
    bool color;
    json_t *json;       /* NULL: print text */
    struct hvk_err *err;
    int failed;
};

/* Text: the header. JSON from a core: start the object hvd would return. */
static void hvctl_maps_begin(void *opaque, enum x86_mode mode, uint64_t cr3)
{
    struct hvctl_maps_ctx *c = opaque;
    if (!c->want_json) {
        hvctl_render_maps_header(stdout, mode, cr3, c->color);
        return;
    }
    if (c->raw_only)
        return;
    c->json = hvjson_maps_new(mode, cr3, c->err);
    if (!c->json)
        c->failed = 1;
}

static int hvctl_maps_cb(void *opaque, const struct x86_map_range *r)
{
    struct hvctl_maps_ctx *c = opaque;
    if (!c->want_json) {
        hvctl_render_maps_range(stdout, r);
        return 0;
    }
    if (c->raw_only || c->failed)
        return c->failed;
    if (hvjson_maps_add(c->json, r, c->err) < 0) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

int hvctl_maps_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        HVCTL_SOURCE_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvctl_source *src = NULL;
    struct hvk_err err = { "" };
    struct x86_maps_stats st = { 0 };
    struct hvctl_maps_ctx ctx = { .err = &err };
    json_t *raw = NULL;
    bool json = o->json;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if ((rc = hvctl_source_opt(opt, optarg, &so)) <= 0) {
            if (rc < 0)
                return HVCTL_EXIT_USAGE;
            continue;
        }
        switch (opt) {
        case HVCTL_OPT_JSON:
            json = true;
            break;
        case HVCTL_OPT_HELP:
            fputs(hvctl_maps_usage, stdout);
            return HVCTL_EXIT_OK;
        default:
            fputs(hvctl_maps_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_maps_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "maps takes no arguments");
    }
    if (hvctl_source_open(&so, o, &src, &err) < 0)
        return hvctl_fail(err.code ? err.code : HVCTL_EXIT_INTERNAL, "%s", err.msg);
    ctx.want_json = json;
    ctx.raw_only = json && !so.core;
    ctx.color = o->color;
    if (hvctl_source_maps(src, hvctl_maps_begin, hvctl_maps_cb, &ctx, &st, &raw, &err) < 0) {
        rc = hvctl_fail(err.code ? err.code : HVCTL_EXIT_BAD_INPUT, "maps: %s", err.msg);
        goto out;
    }
    if (ctx.failed) {
        rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "%s", err.msg);
        goto out;
    }
    if (json && raw) {
        json_dumpf(raw, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (json) {
        if (hvjson_maps_finish(ctx.json, &st, &err) < 0) {
            rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "%s", err.msg);
            goto out;
        }
        json_dumpf(ctx.json, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        hvctl_render_maps_footer(stdout, &st, o->color);
    }
    rc = HVCTL_EXIT_OK;
out:
    json_decref(raw);
    json_decref(ctx.json);
    hvctl_source_close(src);
    return rc;
}
