/* hvctl.c -- the hvctl command: global options and the command table; each
 * command family lives in its own file (walk.c, maps.c, ...). */
#include "hvctl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct hvctl_cmd hvctl_cmds[] = {
    { "walk", "explain the translation of one guest virtual address",
      hvctl_walk_usage, hvctl_walk_main },
    { "maps", "list the mapped ranges of an address space (like info mem)",
      hvctl_maps_usage, hvctl_maps_main },
};

#define HVCTL_NCMDS (sizeof hvctl_cmds / sizeof hvctl_cmds[0])

static void hvctl_usage(FILE *f)
{
    fputs("usage: hvctl [--json] [--color=auto|always|never] COMMAND [ARGS...]\n"
          "       hvctl COMMAND --help\n"
          "\n"
          "hvctl shows the inside of a guest: page walks, address spaces. Today it\n"
          "works offline on ELF core dumps (--core FILE, see docs/post-mortem.md);\n"
          "live guests through hvd come later.\n"
          "\n"
          "Commands:\n", f);
    for (size_t i = 0; i < HVCTL_NCMDS; i++)
        fprintf(f, "  %-6s %s\n", hvctl_cmds[i].name, hvctl_cmds[i].summary);
    fprintf(f, "\n"
            "Global options:\n"
            "  --json             print the API's JSON object (schemas/)\n"
            "  --color=WHEN       auto (default: only on a tty, unless NO_COLOR), always, never\n"
            "  --help             this text\n"
            "\n"
            "Exit status:\n"
            "  %d  success\n"
            "  %d  the walk faulted (the address does not translate or the access is refused)\n"
            "  %d  usage error\n"
            "  %d  cannot reach hvd\n"
            "  %d  not found (file, VM, vCPU)\n"
            "  %d  bad input (corrupt dump, unusable registers, bad reply)\n"
            "  %d  internal error\n",
            HVCTL_EXIT_OK, HVCTL_EXIT_FAULTED, HVCTL_EXIT_USAGE, HVCTL_EXIT_CONNECT,
            HVCTL_EXIT_NOT_FOUND, HVCTL_EXIT_BAD_INPUT, HVCTL_EXIT_INTERNAL);
}

int main(int argc, char **argv)
{
    struct hvctl_opts o = { 0 };
    const char *color = "auto";
    int i;

    /* global options come before the command name */
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json")) {
            o.json = true;
        } else if (!strncmp(argv[i], "--color=", 8)) {
            color = argv[i] + 8;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            hvctl_usage(stdout);
            return HVCTL_EXIT_OK;
        } else {
            hvctl_usage(stderr);
            return hvctl_fail(HVCTL_EXIT_USAGE, "unknown option '%s'", argv[i]);
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
