/* source_core.c -- hvctl's offline source: registers and RAM from an ELF
 * core dump (hv/dump), walked here with the x86 walker.
 *
 * A dump does not hold the vCPU's CPUID, PKRU or (with QEMU) EFER. The rule:
 * EFER comes from dump_derive_efer() unless --efer is given; PKRU is 0 (no
 * key denies anything); the CPU facts are the most permissive CPU the
 * control registers allow (MAXPHYADDR 52 unless --maxphyaddr, NX, 1 GiB
 * pages, PSE-36; LA57/SMEP/SMAP/PKU as CR4 enables them), because the guest
 * ran on that CPU: a table the real CPU would refuse is rarer than a
 * feature we cannot see. docs/post-mortem.md says so too. */
#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hvkit/dump.h>

#include "hvctl.h"

static void hvctl_core_close(struct hvctl_source *base);

struct hvctl_source_core {
    struct hvctl_source base;   /* first: the generic source */
    struct dump_core *core;
    struct x86_paging_regs regs;
    struct x86_cpu_facts cpu;
    struct x86_mem mem;
};

static const struct hvctl_source_ops hvctl_core_ops;

int hvctl_source_core_open(const struct hvctl_source_opts *o, struct hvctl_source **out,
                           struct hvk_err *err)
{
    struct hvctl_source_core *s;
    const struct dump_vcpu *v;
    enum x86_mode mode;
    int code = HVCTL_EXIT_INTERNAL;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s) {
        hvk_err_set(err, "out of memory");
        return hvk_err_code(err, HVCTL_EXIT_INTERNAL);
    }
    s->base.ops = &hvctl_core_ops;
    if (access(o->core, R_OK) < 0) {
        code = HVCTL_EXIT_NOT_FOUND;
        hvk_err_set(err, "%s: %s", o->core, strerror(errno));
        goto fail;
    }
    if (dump_open(o->core, &s->core, err) < 0) {
        code = HVCTL_EXIT_BAD_INPUT;
        goto fail;
    }
    v = dump_vcpu_at(s->core, o->vcpu);
    if (!v) {
        code = HVCTL_EXIT_NOT_FOUND;
        hvk_err_set(err, "%s: no vCPU %u (the dump has %zu)", o->core, o->vcpu,
                    dump_vcpu_count(s->core));
        goto fail;
    }
    if (!v->have_qemu) {
        code = HVCTL_EXIT_BAD_INPUT;
        hvk_err_set(err, "%s: vCPU %u has no control registers (no QEMU CPU note)",
                    o->core, o->vcpu);
        goto fail;
    }
    s->regs = (struct x86_paging_regs){
        .cr0 = v->cr0, .cr3 = o->have_cr3 ? o->cr3 : v->cr3, .cr4 = v->cr4,
        .efer = o->have_efer ? o->efer : v->efer, .rflags = v->rflags, .pkru = 0,
    };
    s->cpu = (struct x86_cpu_facts){
        .maxphyaddr = o->maxphyaddr ? o->maxphyaddr : 52,
        .nx = true, .pdpe1gb = true, .pse = true, .pse36 = true,
        .la57 = !!(v->cr4 & X86_CR4_LA57), .smep = !!(v->cr4 & X86_CR4_SMEP),
        .smap = !!(v->cr4 & X86_CR4_SMAP), .pku = !!(v->cr4 & X86_CR4_PKE),
    };
    if (x86_paging_mode(&s->regs, &mode, err) < 0) {
        code = HVCTL_EXIT_BAD_INPUT;
        hvk_err_prefix(err, "%s: vCPU %u", o->core, o->vcpu);
        goto fail;
    }
    s->mem = (struct x86_mem){ .read_gpa = dump_gpa_reader, .ctx = s->core };
    *out = &s->base;
    return 0;
fail:
    hvctl_core_close(&s->base);
    return hvk_err_code(err, code);
}

static void hvctl_core_close(struct hvctl_source *base)
{
    struct hvctl_source_core *s = (struct hvctl_source_core *)base;
    dump_close(s->core);
    free(s);
}

static bool hvctl_core_cr3(struct hvctl_source *base, uint64_t *cr3)
{
    *cr3 = ((struct hvctl_source_core *)base)->regs.cr3;
    return true;
}

/* A walker refusal here means the dump's registers are unusable. */
static int hvctl_core_walk(struct hvctl_source *base, uint64_t gva, struct x86_access acc,
                           struct x86_walk *out, json_t **raw, struct hvk_err *err)
{
    struct hvctl_source_core *s = (struct hvctl_source_core *)base;
    (void)raw;
    if (x86_walk(&s->regs, &s->cpu, &s->mem, gva, acc, out, err) < 0)
        return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
    return 0;
}

static int hvctl_core_maps(struct hvctl_source *base, hvctl_maps_begin_fn begin, x86_maps_fn fn,
                           void *ctx, struct x86_maps_stats *stats, json_t **raw,
                           struct hvk_err *err)
{
    struct hvctl_source_core *s = (struct hvctl_source_core *)base;
    enum x86_mode mode;
    (void)raw;
    if (x86_paging_mode(&s->regs, &mode, err) < 0)
        return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
    begin(ctx, mode, s->regs.cr3);
    if (x86_maps_enum(&s->regs, &s->cpu, &s->mem, NULL, fn, ctx, stats, err) < 0)
        return hvk_err_code(err, HVCTL_EXIT_BAD_INPUT);
    return 0;
}

static const struct hvctl_source_ops hvctl_core_ops = {
    .cr3 = hvctl_core_cr3,
    .walk = hvctl_core_walk,
    .maps = hvctl_core_maps,
    .close = hvctl_core_close,
};
