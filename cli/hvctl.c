/* hvctl.c -- the hvctl command: global options and the command table; each
 * command family lives in its own file (walk.c, maps.c, list.c, ...). */
#include "client.h"
#include "hvctl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct hvctl_cmd hvctl_cmds[] = {
    { "list", "list the VMs hvd knows", hvctl_list_usage, hvctl_list_main },
    { "walk", "explain the translation of one guest virtual address",
      hvctl_walk_usage, hvctl_walk_main },
    { "maps", "list the mapped ranges of an address space (like info mem)",
      hvctl_maps_usage, hvctl_maps_main },
    { "stack", "a vCPU's guest stack, frame by frame, symbolized",
      hvctl_stack_usage, hvctl_stack_main },
    { "regs", "a vCPU's general, segment and control registers",
      hvctl_regs_usage, hvctl_regs_main },
    { "x", "hexdump guest memory (virtual, or physical with --phys)",
      hvctl_x_usage, hvctl_x_main },
    { "trace", "turn fault tracing on or off, or show its state",
      hvctl_trace_usage, hvctl_trace_main },
    { "faults", "classified guest faults: recent ones, or --follow the stream",
      hvctl_faults_usage, hvctl_faults_main },
    { "top", "a live view of fault classes, rates, hot RIPs and pages",
      hvctl_top_usage, hvctl_top_main },
    { "gdb", "the gdb command line that attaches to a VM (hvd's GDB server)",
      hvctl_gdb_usage, hvctl_gdb_main },
};

#define HVCTL_NCMDS (sizeof hvctl_cmds / sizeof hvctl_cmds[0])

static void hvctl_usage(FILE *f)
{
    fputs("usage: hvctl [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
          "       hvctl COMMAND --help\n"
          "\n"
          "hvctl shows the inside of a guest: page walks, address spaces, stacks,\n"
          "registers, memory. Live guests are reached through hvd (docs/api.md);\n"
          "walk and maps also work offline on ELF core dumps (--core FILE).\n"
          "\n"
          "Commands:\n", f);
    for (size_t i = 0; i < HVCTL_NCMDS; i++)
        fprintf(f, "  %-6s %s\n", hvctl_cmds[i].name, hvctl_cmds[i].summary);
    fprintf(f, "\n"
            "Global options:\n"
            "  --json             print the API's JSON object (live: hvd's return value)\n"
            "  --color=WHEN       auto (default: only on a tty, unless NO_COLOR), always, never\n"
            "  --rundir DIR       hvd's runtime directory (default: $HVKIT_RUNDIR, /run/hvkit\n"
            "                     as root, $XDG_RUNTIME_DIR/hvkit otherwise)\n"
            "  --socket PATH      hvd's API socket (default: DIR/hvd.sock)\n"
            "  --timeout S        give up on hvd after S seconds per reply (default %d)\n"
            "  --help             this text\n"
            "\n"
            "Exit status:\n"
            "  %-3d success\n"
            "  %-3d the walk faulted (the address does not translate or the access is refused;\n"
            "      x: the memory is not mapped)\n"
            "  %-3d usage error (bad option, bad address, bad argument)\n"
            "  %-3d cannot reach hvd (not running, wrong socket, no answer in time)\n"
            "  %-3d not found (file, VM, vCPU)\n"
            "  %-3d bad input (corrupt dump, unusable registers, bad reply from hvd)\n"
            "  %-3d hvd or hv could not do it (VM gone, hv timed out, hvd internal error)\n"
            "  %-3d internal error\n",
            HVCTL_CLIENT_TIMEOUT_MS / 1000, HVCTL_EXIT_OK, HVCTL_EXIT_FAULTED, HVCTL_EXIT_USAGE, HVCTL_EXIT_CONNECT,
            HVCTL_EXIT_NOT_FOUND, HVCTL_EXIT_BAD_INPUT, HVCTL_EXIT_REMOTE, HVCTL_EXIT_INTERNAL);
}

/* "--name=value" or "--name value": the value, advancing *i; NULL if absent. */
static const char *hvctl_opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int main(int argc, char **argv)
{
    struct hvctl_opts o = { 0 };
    const char *color = "auto", *v;
    int i;

    /* global options come before the command name */
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json")) {
            o.json = true;
        } else if (!strncmp(argv[i], "--color=", 8)) {
            color = argv[i] + 8;
        } else if ((v = hvctl_opt_value(argc, argv, &i, "--rundir"))) {
            o.rundir = v;
        } else if ((v = hvctl_opt_value(argc, argv, &i, "--socket"))) {
            o.socket = v;
        } else if ((v = hvctl_opt_value(argc, argv, &i, "--timeout"))) {
            unsigned long long s;
            if (hvctl_parse_u64(v, &s) < 0 || s < 1 || s > 3600)
                return hvctl_fail(HVCTL_EXIT_USAGE, "bad --timeout '%s' (1..3600 seconds)", v);
            o.timeout_ms = (int)s * 1000;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            hvctl_usage(stdout);
            return HVCTL_EXIT_OK;
        } else {
            hvctl_usage(stderr);
            return hvctl_fail(HVCTL_EXIT_USAGE, "unknown or incomplete option '%s'", argv[i]);
        }
    }
    if (!strcmp(color, "always"))
        o.color = true;
    else if (!strcmp(color, "auto"))
        o.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    else if (strcmp(color, "never") != 0)
        return hvctl_fail(HVCTL_EXIT_USAGE, "bad --color '%s'", color);
    if (i >= argc) {
        hvctl_usage(stderr);
        return HVCTL_EXIT_USAGE;
    }
    for (size_t c = 0; c < HVCTL_NCMDS; c++)
        if (!strcmp(argv[i], hvctl_cmds[c].name))
            return hvctl_cmds[c].run(argc - i, argv + i, &o);
    hvctl_usage(stderr);
    return hvctl_fail(HVCTL_EXIT_USAGE, "unknown command '%s'", argv[i]);
}
