/* regs.c -- `hvctl regs`: a vCPU's general, segment and control registers
 * through hvd. */
#include "hvctl.h"
#include "jparse.h"
#include "live.h"
#include "render_regs.h"
#include "util.h"

const char hvctl_regs_usage[] =
    "usage: hvctl regs [options]\n"
    "Show a vCPU's registers: general purpose, RIP and RFLAGS (decoded), control\n"
    "registers and EFER, GDT/IDT, and the segment registers as a table.\n"
    "\n"
    HVCTL_LIVE_HELP
    "  --help             this text\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 cannot reach hvd, 4 VM or vCPU not found,\n"
    "5 bad reply, 6 hvd or hv failed.\n";

int hvctl_regs_main(int argc, char **argv, const struct hvctl_opts *o)
{
    static const struct option longopts[] = {
        HVCTL_LIVE_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    struct hvctl_source_opts so = { 0 };
    struct hvk_err err = { "" };
    struct hvctl_client *c;
    json_t *ret = NULL;
    bool json = o->json;
    uint64_t v;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == HVCTL_OPT_JSON) {
            json = true;
        } else if (opt == HVCTL_OPT_HELP) {
            fputs(hvctl_regs_usage, stdout);
            return HVCTL_EXIT_OK;
        } else if (opt == '?' || (rc = hvctl_source_opt(opt, optarg, &so)) != 0) {
            if (opt == '?' || rc > 0)
                fputs(hvctl_regs_usage, stderr);
            return HVCTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(hvctl_regs_usage, stderr);
        return hvctl_fail(HVCTL_EXIT_USAGE, "regs takes no arguments");
    }
    c = hvctl_live_connect(&so, o, &err);
    if (!c)
        return hvctl_live_fail(&err);
    if (hvctl_live_call(c, &so, "regs", hvctl_live_args(&so, true), &ret, &err) < 0) {
        rc = hvctl_live_fail(&err);
        goto out;
    }
    /* the essentials must be there and well-formed, even for --json */
    if (!json_is_object(ret) || hvctl_jparse_hex_member(ret, "rip", &v, "regs", &err) < 0 ||
        hvctl_jparse_hex_member(ret, "rsp", &v, "regs", &err) < 0 ||
        hvctl_jparse_hex_member(ret, "cr3", &v, "regs", &err) < 0) {
        rc = hvctl_fail(HVCTL_EXIT_BAD_INPUT, "%s", json_is_object(ret) ? err.msg :
                        "bad reply from hvd: regs is not an object");
        goto out;
    }
    if (json)
        hvctl_live_print_json(ret);
    else
        hvctl_render_regs(stdout, ret, o->color);
    rc = HVCTL_EXIT_OK;
out:
    json_decref(ret);
    hvctl_client_close(c);
    return rc;
}
