/* source.h -- where hvctl's walk and maps results come from: a core dump
 * (offline, the walker runs in hvctl: source_core.c) or hvd (live, the
 * walker runs in hv: source_live.c). Rendering (render.h) only sees the
 * results, never the source. */
#ifndef HVCTL_SOURCE_H
#define HVCTL_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <hvkit/error.h>
#include <x86/maps.h>
#include <x86/walk.h>

#include "hvctl.h"

struct hvctl_source_opts {
    const char *core;          /* --core FILE: offline; NULL: live through hvd */
    unsigned vcpu;             /* --vcpu N (0-based) */
    bool have_cr3;             /* --cr3 X overrides the vCPU's CR3 */
    uint64_t cr3;
    bool have_efer;            /* --efer X overrides the derived EFER (core only) */
    uint64_t efer;
    unsigned maxphyaddr;       /* --maxphyaddr N, 0 = default (52) (core only) */
    const char *vm;            /* --vm NAME (live only), NULL = the only VM */
    const char *rundir;        /* --rundir / --socket after the command name */
    const char *socket;
};

struct hvctl_source;

/* Called once before the ranges with the address space's mode and CR3. */
typedef void (*hvctl_maps_begin_fn)(void *ctx, enum x86_mode mode, uint64_t cr3);

/* Open the source the options select; g carries the global options (hvd's
 * socket, timeout). On failure returns -1 with err->code an HVCTL_EXIT_*. */
int hvctl_source_open(const struct hvctl_source_opts *o, const struct hvctl_opts *g,
                      struct hvctl_source **out, struct hvk_err *err);
void hvctl_source_close(struct hvctl_source *s);

/* The CR3 the source walks with, when it knows it without asking (core, or
 * --cr3); live sources ask hvd's `regs` once. false: unknown. */
bool hvctl_source_cr3(struct hvctl_source *s, uint64_t *cr3);

/* Walk gva. *raw (may be NULL) receives hvd's return value as it came, a
 * new reference, from a live source; NULL from a core. -1 with err->code. */
int hvctl_source_walk(struct hvctl_source *s, uint64_t gva, struct x86_access acc,
                      struct x86_walk *out, json_t **raw, struct hvk_err *err);

/* Enumerate the address space: begin, then fn per range in VA order, then
 * stats. *raw as for walk. -1 with err->code. */
int hvctl_source_maps(struct hvctl_source *s, hvctl_maps_begin_fn begin, x86_maps_fn fn,
                      void *ctx, struct x86_maps_stats *stats, json_t **raw, struct hvk_err *err);

/* Internal: each source embeds this first and fills the ops. */
struct hvctl_source_ops {
    bool (*cr3)(struct hvctl_source *s, uint64_t *cr3);
    int (*walk)(struct hvctl_source *s, uint64_t gva, struct x86_access acc,
                struct x86_walk *out, json_t **raw, struct hvk_err *err);
    int (*maps)(struct hvctl_source *s, hvctl_maps_begin_fn begin, x86_maps_fn fn, void *ctx,
                struct x86_maps_stats *stats, json_t **raw, struct hvk_err *err);
    void (*close)(struct hvctl_source *s);
};

struct hvctl_source {
    const struct hvctl_source_ops *ops;
};

int hvctl_source_core_open(const struct hvctl_source_opts *o, struct hvctl_source **out,
                           struct hvk_err *err);
int hvctl_source_live_open(const struct hvctl_source_opts *o, const struct hvctl_opts *g,
                           struct hvctl_source **out, struct hvk_err *err);

#endif
