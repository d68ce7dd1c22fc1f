/* source.h -- where hvctl's walk and maps results come from. Today: a core
 * dump (offline, the walker runs in hvctl). Later: hvd (the walker runs in
 * hv). Rendering (render.h) only sees the results, never the source. */
#ifndef HVCTL_SOURCE_H
#define HVCTL_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <x86/maps.h>
#include <x86/walk.h>

struct hvctl_source_opts {
    const char *core;          /* --core FILE */
    unsigned vcpu;             /* --vcpu N (0-based) */
    bool have_cr3;             /* --cr3 X overrides the vCPU's CR3 */
    uint64_t cr3;
    bool have_efer;            /* --efer X overrides the derived EFER */
    uint64_t efer;
    unsigned maxphyaddr;       /* --maxphyaddr N, 0 = default (52) */
};

struct hvctl_source;

/* On failure returns -1, fills err and *exit_code (HVCTL_EXIT_*). */
int hvctl_source_open(const struct hvctl_source_opts *o, struct hvctl_source **out,
                      int *exit_code, struct hvk_err *err);
void hvctl_source_close(struct hvctl_source *s);

/* The paging registers the source walks with (after overrides). */
const struct x86_paging_regs *hvctl_source_regs(const struct hvctl_source *s);

int hvctl_source_walk(struct hvctl_source *s, uint64_t gva, struct x86_access acc,
                      struct x86_walk *out, struct hvk_err *err);
int hvctl_source_maps(struct hvctl_source *s, x86_maps_fn fn, void *ctx,
                      struct x86_maps_stats *stats, struct hvk_err *err);

#endif
