/* maps.c -- `hvctl maps`: every mapped range of an address space, coalesced,
 * like QEMU's `info mem`. */
#include "hvctl.h"
#include "render.h"
#include "util.h"

#include <hvkit/hvjson.h>

const char hvctl_maps_usage[] =
    "usage: hvctl maps --core FILE [options]\n"
    "List the mapped ranges of the vCPU's address space (VA range, size, GPA,\n"
    "page size, rights u/s r w x), coalesced when VA and GPA are contiguous\n"
    "and page size and rights are equal.\n"
    "\n"
    HVCTL_SOURCE_HELP
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 4 file or vCPU not found, 5 corrupt dump or\n"
    "unusable registers.\n";

struct hvctl_maps_ctx {
    json_t *json;       /* NULL: print text */
    struct hvk_err *err;
    int failed;
};

static int hvctl_maps_cb(void *opaque, const struct x86_map_range *r)
{
    struct hvctl_maps_ctx *c = opaque;
    if (!c->json) {
        hvctl_render_maps_range(stdout, r);
        return 0;
    }
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
    const struct x86_paging_regs *regs;
    enum x86_mode mode;
    bool json = o->json;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
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
    if (hvctl_source_open(&so, &src, &rc, &err) < 0)
        return hvctl_fail(rc, "%s", err.msg);
    regs = hvctl_source_regs(src);
    if (x86_paging_mode(regs, &mode, &err) < 0) {
        rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s", err.msg);
        goto out;
    }
    if (json) {
        ctx.json = hvjson_maps_new(mode, regs->cr3, &err);
        if (!ctx.json) {
            rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "%s", err.msg);
            goto out;
        }
    } else {
        hvctl_render_maps_header(stdout, mode, regs->cr3, o->color);
    }
    if (hvctl_source_maps(src, hvctl_maps_cb, &ctx, &st, &err) < 0) {
        rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "maps: %s", err.msg);
        goto out;
    }
    if (ctx.failed) {
        rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "%s", err.msg);
        goto out;
    }
    if (json) {
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
    json_decref(ctx.json);
    hvctl_source_close(src);
    return rc;
}
