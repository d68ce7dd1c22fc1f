/* source.c -- picks hvctl's result source (core dump or live hvd) and
 * forwards to it; commands only see this interface. */
#include "source.h"

int hvctl_source_open(const struct hvctl_source_opts *o, const struct hvctl_opts *g,
                      struct hvctl_source **out, struct hvk_err *err)
{
    *out = NULL;
    if (o->core) {
        if (o->vm || o->rundir || o->socket) {
            hvk_err_set(err, "--vm, --rundir and --socket are for live VMs; they cannot go with --core");
            return hvk_err_code(err, HVCTL_EXIT_USAGE);
        }
        return hvctl_source_core_open(o, out, err);
    }
    return hvctl_source_live_open(o, g, out, err);
}

void hvctl_source_close(struct hvctl_source *s)
{
    if (s)
        s->ops->close(s);
}

bool hvctl_source_cr3(struct hvctl_source *s, uint64_t *cr3)
{
    return s->ops->cr3(s, cr3);
}

int hvctl_source_walk(struct hvctl_source *s, uint64_t gva, struct x86_access acc,
                      struct x86_walk *out, json_t **raw, struct hvk_err *err)
{
    if (raw)
        *raw = NULL;
    return s->ops->walk(s, gva, acc, out, raw, err);
}

int hvctl_source_maps(struct hvctl_source *s, hvctl_maps_begin_fn begin, x86_maps_fn fn,
                      void *ctx, struct x86_maps_stats *stats, json_t **raw, struct hvk_err *err)
{
    if (raw)
        *raw = NULL;
    return s->ops->maps(s, begin, fn, ctx, stats, raw, err);
}
