/* util.c -- small helpers every hvctl command uses: errors, numbers and the
 * source and VM options (--core, --vm, --vcpu, --cr3, --efer, --maxphyaddr,
 * --rundir, --socket). */
#include "hvctl.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

int hvctl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("hvctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int hvctl_parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 0);
    return (errno || *end) ? -1 : 0;
}

int hvctl_source_opt(int opt, const char *arg, struct hvctl_source_opts *so)
{
    unsigned long long v;
    switch (opt) {
    case HVCTL_OPT_CORE:
        so->core = arg;
        return 0;
    case HVCTL_OPT_VCPU:
        if (hvctl_parse_u64(arg, &v) < 0 || v > 4095)
            return hvctl_fail(-1, "bad --vcpu '%s'", arg);
        so->vcpu = (unsigned)v;
        return 0;
    case HVCTL_OPT_CR3:
        if (hvctl_parse_u64(arg, &v) < 0)
            return hvctl_fail(-1, "bad --cr3 '%s'", arg);
        so->have_cr3 = true;
        so->cr3 = v;
        return 0;
    case HVCTL_OPT_EFER:
        if (hvctl_parse_u64(arg, &v) < 0)
            return hvctl_fail(-1, "bad --efer '%s'", arg);
        so->have_efer = true;
        so->efer = v;
        return 0;
    case HVCTL_OPT_VM:
        if (!*arg)
            return hvctl_fail(-1, "empty --vm");
        so->vm = arg;
        return 0;
    case HVCTL_OPT_RUNDIR:
        so->rundir = arg;
        return 0;
    case HVCTL_OPT_SOCKET:
        so->socket = arg;
        return 0;
    case HVCTL_OPT_MAXPHYADDR:
        if (hvctl_parse_u64(arg, &v) < 0 || v < 32 || v > 52)
            return hvctl_fail(-1, "bad --maxphyaddr '%s' (32..52)", arg);
        so->maxphyaddr = (unsigned)v;
        return 0;
    }
    return 1;
}
