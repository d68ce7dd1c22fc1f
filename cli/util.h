/* util.h -- the source options shared by walk and maps (getopt_long). */
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
};

#define HVCTL_SOURCE_LONGOPTS                                         \
    { "core", required_argument, NULL, HVCTL_OPT_CORE },             \
    { "vcpu", required_argument, NULL, HVCTL_OPT_VCPU },             \
    { "cr3", required_argument, NULL, HVCTL_OPT_CR3 },               \
    { "efer", required_argument, NULL, HVCTL_OPT_EFER },             \
    { "maxphyaddr", required_argument, NULL, HVCTL_OPT_MAXPHYADDR }, \
    { "json", no_argument, NULL, HVCTL_OPT_JSON },                   \
    { "help", no_argument, NULL, HVCTL_OPT_HELP }

#define HVCTL_SOURCE_HELP                                                        \
    "  --core FILE        read an ELF core dump (dump-guest-memory, virsh dump)\n" \
    "  --vcpu N           vCPU whose registers to use (default 0)\n"              \
    "  --cr3 X            walk this CR3 instead of the vCPU's\n"                 \
    "  --efer X           use this EFER instead of the one derived from the dump\n" \
    "  --maxphyaddr N     CPU's physical address width (default 52)\n"           \
    "  --json             print the API's JSON object\n"

/* Handle one source option. Returns 0 when handled, 1 when opt is not a
 * source option, -1 (message printed) for a bad value. */
int hvctl_source_opt(int opt, const char *arg, struct hvctl_source_opts *so);

#endif
