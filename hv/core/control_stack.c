/* control_stack.c -- the STACK request: unwind a vCPU's frame-pointer chain
 * (and optionally dump raw words from RSP) under its own CR3, symbolized
 * with the kernel's symbol table. */
#include <stdlib.h>

#include <hvkit/hvjson.h>
#include <hvkit/hvsym.h>
#include <x86/unwind.h>

#include "control_int.h"
#include "machine.h"
#include "vcpu.h"

struct control_answer control_stack(struct hv_control *c, struct control_req *r)
{
    char why[256] = "";
    uint64_t max_frames = X86_UNWIND_DEFAULT_FRAMES, raw_words = 0;
    struct hv_vcpu *vcpu = arg_vcpu(c, r, why, sizeof why);
    if (!vcpu)
        return answer_error(RING_ST_NOVCPU, "%s", why);
    if (arg_uint(r->args, "max_frames", X86_UNWIND_MAX_FRAMES, &max_frames, why, sizeof why) < 0 ||
        arg_uint(r->args, "raw_words", X86_UNWIND_MAX_RAW, &raw_words, why, sizeof why) < 0)
        return answer_error(RING_ST_INVAL, "%s", why);
    if (max_frames == 0)
        return answer_error(RING_ST_INVAL, "'max_frames' must be from 1 to %u", X86_UNWIND_MAX_FRAMES);

    struct x86_stack *st = calloc(1, sizeof *st);
    struct x86_stack_raw *raw = raw_words ? calloc(1, sizeof *raw) : NULL;
    struct hv_snapshot s;
    struct x86_cpu_facts facts;
    struct hvk_err err = { "", 0 };
    struct control_answer a;
    if (!st || (raw_words && !raw)) {
        free(st);
        free(raw);
        return answer_error(RING_ST_INTERNAL, "out of memory");
    }
    if (control_snapshot(c, vcpu, &s, &facts, &err) < 0) {
        a = answer_error(RING_ST_INTERNAL, "%s", err.msg);
        goto out;
    }
    struct hv_gva_ctx rd = { .vm = c->m->vm, .snap = &s, .facts = &facts };
    struct x86_gva_reader mem = hv_gva_reader(&rd);
    struct x86_unwind_regs regs = {
        .rip = s.regs.rip, .rsp = s.regs.rsp, .rbp = s.regs.rbp,
        .cpl = s.sregs.cs.selector & 3u,
        .long_mode = (s.sregs.efer & X86_EFER_LMA) && s.sregs.cs.l,
        .la57 = (s.sregs.cr4 & X86_CR4_LA57) != 0,
    };
    struct x86_symbolizer sym = { .lookup = hvsym_lookup_cb, .is_text = hvsym_is_text_cb,
                                  .ctx = (void *)c->m->symbols };
    const struct x86_symbolizer *symp = c->m->symbols ? &sym : NULL;
    struct x86_unwind_opts opts = { .max_frames = (unsigned)max_frames, .sym = symp };
    if (x86_unwind(&mem, &regs, &opts, st, &err) < 0 ||
        (raw && x86_stack_raw(&mem, &regs, (unsigned)raw_words, symp, raw, &err) < 0)) {
        a = answer_error(RING_ST_INTERNAL, "%s", err.msg);
        goto out;
    }
    json_t *j = hvjson_stack(vcpu->index, st, raw, symp, &err);
    a = j ? answer_ok(j) : answer_error(RING_ST_INTERNAL, "%s", err.msg);
out:
    hv_vm_resume(c->m->vm);
    free(st);
    free(raw);
    return a;
}
