/* hvctl.h -- what hvctl's command files share: exit codes, the command
 * table entry, output options and the result sources. */
#ifndef HVCTL_H
#define HVCTL_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes, distinct per failure class (also printed by `hvctl --help`). */
enum hvctl_exit {
    HVCTL_EXIT_OK = 0,
    HVCTL_EXIT_FAULTED = 1,    /* the walk faulted / the access is refused */
    HVCTL_EXIT_USAGE = 2,      /* bad command line */
    HVCTL_EXIT_CONNECT = 3,    /* hvd unreachable (live mode) */
    HVCTL_EXIT_NOT_FOUND = 4,  /* no such file, VM or vCPU */
    HVCTL_EXIT_BAD_INPUT = 5,  /* corrupt dump, bad reply, unusable registers */
    HVCTL_EXIT_REMOTE = 6,     /* hvd or hv could not do it: VM gone, timeout, hvd error */
    HVCTL_EXIT_INTERNAL = 70,  /* bug or out of memory */
};

/* Options every command shares (parsed before the command name or after). */
struct hvctl_opts {
    bool json;   /* print the API's JSON object instead of text */
    bool color;  /* ANSI colours: only when stdout is a tty and NO_COLOR unset */
    const char *rundir;   /* --rundir DIR (live mode), NULL = rundir.h's rules */
    const char *socket;   /* --socket PATH: hvd's API socket, overrides rundir */
    int timeout_ms;       /* --timeout S: bound on every wait for hvd, 0 = default */
};

struct hvctl_cmd {
    const char *name;
    const char *summary;
    const char *usage;   /* full per-command help text */
    int (*run)(int argc, char **argv, const struct hvctl_opts *o);
};

/* Command entry points (one file per family). argv[0] is the command name. */
int hvctl_walk_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_maps_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_list_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_stack_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_regs_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_x_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_trace_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_faults_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_top_main(int argc, char **argv, const struct hvctl_opts *o);
int hvctl_gdb_main(int argc, char **argv, const struct hvctl_opts *o);
extern const char hvctl_walk_usage[];
extern const char hvctl_maps_usage[];
extern const char hvctl_list_usage[];
extern const char hvctl_stack_usage[];
extern const char hvctl_regs_usage[];
extern const char hvctl_x_usage[];
extern const char hvctl_trace_usage[];
extern const char hvctl_faults_usage[];
extern const char hvctl_top_usage[];
extern const char hvctl_gdb_usage[];

/* Print "hvctl: <msg>" to stderr and return code. */
__attribute__((format(printf, 2, 3)))
int hvctl_fail(int code, const char *fmt, ...);

/* Parse an unsigned number (0x hex, or decimal). Returns 0 or -1. */
int hvctl_parse_u64(const char *s, unsigned long long *out);

#endif
