/* walk.c -- `hvctl walk`: explain one GVA's translation level by level. */
#include "hvctl.h"
#include "render.h"
#include "util.h"

#include <string.h>

#include <hvkit/hvjson.h>

const char hvctl_walk_usage[] =
    "usage: hvctl walk [--vm NAME | --core FILE] [options] GVA\n"
    "Walk the guest page tables for GVA and show every level: entry GPA, raw\n"
    "value, decoded flags; the level that stops the walk and why; then the\n"
    "page size, GPA and rights. Live (default): hv walks the running vCPU's\n"
    "tables through hvd. With --core: hvctl walks a dump's.\n"
    "\n"
    HVCTL_SOURCE_HELP
    "  --access r|w|x     access to check: read (default), write, fetch\n"
    "  --user             check a user-mode (CPL 3) access (default supervisor)\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 translated and allowed, 1 the walk faulted, 2 usage,\n"
    "3 cannot reach hvd, 4 file, VM or vCPU not found, 5 corrupt dump, bad\n"
    "reply or unusable registers, 6 hvd or hv failed (VM gone, timeout).\n";

int hvctl_walk_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        HVCTL_SOURCE_LONGOPTS,
        { "access", required_argument, NULL, 'a' },
        { "user", no_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct x86_access acc = { X86_ACCESS_READ, X86_PRIV_SUPERVISOR };
    struct hvctl_source *src = NULL;
    struct hvk_err err = { "" };
    struct x86_walk w;
    json_t *raw = NULL;
    uint64_t cr3;
    unsigned long long gva;
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
        case 'a':
            if (!strcmp(optarg, "r"))
                acc.type = X86_ACCESS_READ;
            else if (!strcmp(optarg, "w"))
                acc.type = X86_ACCESS_WRITE;
            else if (!strcmp(optarg, "x"))
                acc.type = X86_ACCESS_FETCH;
            else
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --access '%s' (r, w or x)", optarg);
            break;
        case 'u':
            acc.priv = X86_PRIV_USER;
            break;
        case HVCTL_OPT_JSON:
            json = true;
            break;
        case HVCTL_OPT_HELP:
            fputs(hvctl_walk_usage, stdout);
            return HVCTL_EXIT_OK;
        default:
            fputs(hvctl_walk_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(hvctl_walk_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "walk needs exactly one GVA");
    }
    if (hvctl_parse_u64(argv[optind], &gva) < 0)
        return hvctl_fail(HVCTL_EXIT_USAGE, "bad GVA '%s'", argv[optind]);

    if (hvctl_source_open(&so, o, &src, &err) < 0)
        return hvctl_fail(err.code ? err.code : HVCTL_EXIT_INTERNAL, "%s", err.msg);
    /* the CR3 first: the header shows what the walk used */
    bool have_cr3 = !json && hvctl_source_cr3(src, &cr3);
    if (hvctl_source_walk(src, gva, acc, &w, &raw, &err) < 0) {
        rc = hvctl_fail(err.code ? err.code : HVCTL_EXIT_BAD_INPUT, "walk: %s", err.msg);
        goto out;
    }
    if (json && raw) {
        json_dumpf(raw, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (json) {
        json_t *j = hvjson_walk(&w, &err);
        if (!j) {
            rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "%s", err.msg);
            goto out;
        }
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        hvctl_render_walk(stdout, &w, have_cr3 ? &cr3 : NULL, o->color);
    }
    rc = w.reason == X86_WALK_OK ? HVCTL_EXIT_OK : HVCTL_EXIT_FAULTED;
out:
    json_decref(raw);
    hvctl_source_close(src);
    return rc;
}
