/* stack.c -- `hvctl stack`: a vCPU's guest stack through hvd (the unwinder
 * runs in hv), symbolized by hv or, with --symbols, here. */
#include "hvctl.h"
#include "live.h"
#include "stackview.h"
#include "util.h"

#include <stdlib.h>
#include <unistd.h>

#include <hvkit/hvsym.h>

const char hvctl_stack_usage[] =
    "usage: hvctl stack [options]\n"
    "Show a vCPU's guest stack: the frame-pointer chain from RIP/RBP, one line\n"
    "per frame (PC, frame pointer, symbol+offset), and why the unwind stopped.\n"
    "\n"
    HVCTL_LIVE_HELP
    "  --max-frames N     follow at most N frames (1..256, default 64)\n"
    "  --raw N            also dump N 8-byte words from RSP (0..512), marking\n"
    "                     the ones that point into known text\n"
    "  --symbols FILE     symbolize here with FILE (System.map or an ELF with\n"
    "                     symbols) instead of with hv's symbol table\n"
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 4 VM, vCPU or symbol\n"
    "file not found, 5 bad reply or unreadable symbol file, 6 hvd or hv failed.\n";

int hvctl_stack_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        HVCTL_LIVE_LONGOPTS,
        { "max-frames", required_argument, NULL, 'm' },
        { "raw", required_argument, NULL, 'r' },
        { "symbols", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    struct hvctl_client *c = NULL;
    struct hvctl_stackview *v = NULL;
    struct hvsym_table *syms = NULL;
    const char *symfile = NULL;
    unsigned long long max_frames = 0, raw_words = 0;
    bool json = o->json, have_max = false;
    json_t *args, *ret = NULL;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (hvctl_parse_u64(optarg, &max_frames) < 0 || max_frames < 1 || max_frames > 256)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --max-frames '%s' (1..256)", optarg);
            have_max = true;
            continue;
        case 'r':
            if (hvctl_parse_u64(optarg, &raw_words) < 0 || raw_words > 512)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --raw '%s' (0..512)", optarg);
            continue;
        case 's':
            symfile = optarg;
            continue;
        case HVCTL_OPT_JSON:
            json = true;
            continue;
        case HVCTL_OPT_HELP:
            fputs(hvctl_stack_usage, stdout);
            return HVCTL_EXIT_OK;
        case HVCTL_OPT_VM:
        case HVCTL_OPT_VCPU:
        case HVCTL_OPT_RUNDIR:
        case HVCTL_OPT_SOCKET:
            if (hvctl_source_opt(opt, optarg, &so) < 0)
                return HVCTL_EXIT_USAGE;
            continue;
        default:
            fputs(hvctl_stack_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_stack_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "stack takes no arguments");
    }
    if (symfile && json)
        return hvctl_fail(HVCTL_EXIT_USAGE, "--symbols changes the text view; --json prints hvd's value as it came");
    if (symfile) {
        if (access(symfile, R_OK) < 0)
            return hvctl_fail(HVCTL_EXIT_NOT_FOUND, "%s: cannot read it", symfile);
        syms = hvsym_load_file(symfile, &err);
        if (!syms)
            return hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s: %s", symfile, err.msg);
    }
    c = hvctl_live_connect(&so, o, &err);
    if (!c) {
        rc = hvctl_live_fail(&err);
        goto out;
    }
    args = hvctl_live_args(&so, true);
    if (args && have_max)
        json_object_set_new(args, "max_frames", json_integer((json_int_t)max_frames));
    if (args && raw_words)
        json_object_set_new(args, "raw_words", json_integer((json_int_t)raw_words));
    if (hvctl_live_call(c, &so, "stack", args, &ret, &err) < 0) {
        rc = hvctl_live_fail(&err);
        goto out;
    }
    v = malloc(sizeof *v);
    if (!v) {
        rc = hvctl_fail(HVCTL_EXIT_INTERNAL, "out of memory");
        goto out;
    }
    /* checked even for --json: a malformed value is not passed on */
    if (hvctl_stackview_parse(ret, v, &err) < 0) {
        rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s", err.msg);
        goto out;
    }
    if (json) {
        hvctl_live_print_json(ret);
    } else {
        if (syms)
            hvctl_stackview_resymbolize(v, syms);
        hvctl_render_stack(stdout, v, o->color);
    }
    rc = HVCTL_EXIT_OK;
out:
    free(v);
    json_decref(ret);
    hvsym_free(syms);
    hvctl_client_close(c);
    return rc;
}
