/* util.h -- the options commands share (getopt_long): the result source
 * (walk, maps) and the live VM selection (every live command). */
#ifndef HVCTL_UTIL_H
#define HVCTL_UTIL_H

#include <getopt.h>

#include "source.h"

enum {
    HVCTL_OPT_CORE = 0x100,
    HVCTL_OPT_VCPU,
    HVCTL_OPT_CR3,
    HVCTL_OPT_EFER,
    HVCTL_OPT_MAXPHYADDR,
    HVCTL_OPT_JSON,
    HVCTL_OPT_HELP,
    HVCTL_OPT_VM,
    HVCTL_OPT_RUNDIR,
    HVCTL_OPT_SOCKET,
};

/* The options every live command takes. */
#define HVCTL_LIVE_LONGOPTS                                      \
    { "vm", required_argument, NULL, HVCTL_OPT_VM },            \
    { "vcpu", required_argument, NULL, HVCTL_OPT_VCPU },        \
    { "rundir", required_argument, NULL, HVCTL_OPT_RUNDIR },    \
    { "socket", required_argument, NULL, HVCTL_OPT_SOCKET },    \
    { "json", no_argument, NULL, HVCTL_OPT_JSON },              \
    { "help", no_argument, NULL, HVCTL_OPT_HELP }

#define HVCTL_LIVE_HELP                                                              \
    "  --vm NAME          the VM (default: the only one running)\n"                  \
    "  --vcpu N           the vCPU (default 0)\n"                                     \
    "  --rundir DIR       hvd's runtime directory (as the global option)\n"          \
    "  --socket PATH      hvd's API socket (as the global option)\n"                 \
    "  --json             print hvd's return value as it came\n"

#define HVCTL_SOURCE_LONGOPTS                                         \
    { "core", required_argument, NULL, HVCTL_OPT_CORE },             \
    { "vcpu", required_argument, NULL, HVCTL_OPT_VCPU },             \
    { "cr3", required_argument, NULL, HVCTL_OPT_CR3 },               \
    { "efer", required_argument, NULL, HVCTL_OPT_EFER },             \
    { "maxphyaddr", required_argument, NULL, HVCTL_OPT_MAXPHYADDR }, \
    { "vm", required_argument, NULL, HVCTL_OPT_VM },                 \
    { "rundir", required_argument, NULL, HVCTL_OPT_RUNDIR },         \
    { "socket", required_argument, NULL, HVCTL_OPT_SOCKET },         \
    { "json", no_argument, NULL, HVCTL_OPT_JSON },                   \
    { "help", no_argument, NULL, HVCTL_OPT_HELP }

#define HVCTL_SOURCE_HELP                                                        \
    "  --vm NAME          live: the VM (default: the only one running)\n"         \
    "  --core FILE        offline: read an ELF core dump (dump-guest-memory, virsh dump)\n" \
    "  --vcpu N           vCPU whose registers to use (default 0)\n"              \
    "  --cr3 X            walk this CR3 instead of the vCPU's\n"                 \
    "  --efer X           core: use this EFER instead of the one derived from the dump\n" \
    "  --maxphyaddr N     core: CPU's physical address width (default 52)\n"     \
    "  --rundir DIR       live: hvd's runtime directory (as the global option)\n" \
    "  --socket PATH      live: hvd's API socket (as the global option)\n"       \
    "  --json             print the API's JSON object (live: hvd's, as it came)\n"

/* Handle one source option. Returns 0 when handled, 1 when opt is not a
 * source option, -1 (message printed) for a bad value. */
int hvctl_source_opt(int opt, const char *arg, struct hvctl_source_opts *so);

#endif
