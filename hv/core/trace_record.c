/* trace_record.c -- one FAULT record: the exception frame, the
 * classification by the walker, a short stack. */
#include "trace_record.h"

#include <string.h>

#include <hvkit/hvsym.h>
#include <x86/fault.h>
#include <x86/unwind.h>

#include "inspect.h"
#include "trace.h"
#include "vcpu.h"
#include "vm.h"

/* The smallest record of a class, for when hv cannot read more (the shape
 * x86_fault_rec_check accepts for an unreadable frame: no walk, no stack). */
static void record_minimal(struct hvk_fault_rec *rec, unsigned vcpu, uint16_t cls, uint8_t vector, uint64_t gpa)
{
    memset(rec, 0, sizeof *rec);
    rec->vcpu = vcpu;
    rec->cls = cls;
    rec->vector = vector;
    rec->walk_level = 0xff;
    rec->addr = rec->gpa = gpa;
}

/* The vCPU's own state as a frame: where it is now, for events that push
 * no exception frame (stage-2 exits) or whose frame could not be read. */
static struct x86_fault_frame record_frame_now(const struct hv_snapshot *s)
{
    return (struct x86_fault_frame){ .rip = s->regs.rip, .rsp = s->regs.rsp, .rflags = s->regs.rflags,
                                     .cs = s->sregs.cs.selector, .ss = s->sregs.ss.selector };
}

/* The frame the CPU pushed on entry: [error code,] RIP, CS, RFLAGS, RSP, SS
 * (64-bit mode always pushes SS:RSP). 0 if read, -1 if the stack did not
 * translate. */
static int record_read_frame(struct hv_gva_ctx *rd, uint64_t rsp, bool has_ec, uint32_t *ec,
                             struct x86_fault_frame *f)
{
    uint64_t w[6];
    unsigned n = has_ec ? 6 : 5;
    uint64_t bad;
    if (hv_read_gva(rd->vm, rd->snap, rd->facts, rsp, w, n * sizeof w[0], &bad, NULL) < 0)
        return -1;
    const uint64_t *p = w;
    if (has_ec)
        *ec = (uint32_t)*p++;
    f->rip = p[0];
    f->cs = (uint16_t)p[1];
    f->rflags = p[2];
    f->rsp = p[3];
    f->ss = (uint16_t)p[4];
    return 0;
}

void trace_record_exception(struct hv_trace *t, struct hv_vcpu *vcpu, unsigned vector, struct hvk_fault_rec *rec)
{
    struct hv_snapshot s;
    struct x86_fault f;
    struct x86_fault_frame frame = { 0 };
    struct x86_unwind_frame frames[HVK_FAULT_MAX_FRAMES];
    unsigned nframes = 0;
    uint32_t ec = 0;
    bool has_ec = hvk_vector_has_error_code(vector);
    bool frame_ok = false;

    memset(&f, 0, sizeof f);
    if (hv_snapshot_at_exit(vcpu, &s, NULL) < 0) {
        record_minimal(rec, vcpu->index, HVK_FC_EXCEPTION, (uint8_t)vector, 0);
        return;
    }
    struct hv_gva_ctx rd = { .vm = vcpu->vm, .snap = &s, .facts = &t->facts };
    frame_ok = record_read_frame(&rd, s.regs.rsp, has_ec, &ec, &frame) == 0;
    if (!frame_ok)
        frame = record_frame_now(&s);   /* no frame: describe the handler's own state */

    /* CR3 is still the faulting context's: the handler has run nothing yet. */
    struct x86_fault_input in = {
        .vector = vector, .error_code = ec, .cr2 = s.sregs.cr2, .regs = s.paging,
        .cpl = frame.cs & 3u,
    };
    struct x86_mem mem = hv_guest_mem(vcpu->vm);
    if (x86_fault_classify(&in, &t->facts, &mem, &f, NULL) < 0) {
        f = (struct x86_fault){ .cls = HVK_FC_EXCEPTION, .vector = vector, .has_error_code = has_ec,
                                .error_code = ec, .cr3 = s.sregs.cr3, .cpl = in.cpl, .level = -1 };
    }

    unsigned depth = atomic_load_explicit(&t->stack_depth, memory_order_relaxed);
    if (depth && frame_ok) {
        /* The interrupted context: its RIP/RSP from the frame, its RBP is
         * still live at the handler's first instruction. */
        static _Thread_local struct x86_stack st;
        struct x86_gva_reader gr = hv_gva_reader(&rd);
        struct x86_unwind_regs ur = { .rip = frame.rip, .rsp = frame.rsp, .rbp = s.regs.rbp, .cpl = frame.cs & 3u,
                                      .long_mode = (s.sregs.efer & X86_EFER_LMA) != 0,
                                      .la57 = (s.sregs.cr4 & X86_CR4_LA57) != 0 };
        struct x86_unwind_opts uo = { .max_frames = depth > HVK_FAULT_MAX_FRAMES ? HVK_FAULT_MAX_FRAMES : depth };
        if (x86_unwind(&gr, &ur, &uo, &st, NULL) == 0) {
            nframes = st.nframes < HVK_FAULT_MAX_FRAMES ? st.nframes : HVK_FAULT_MAX_FRAMES;
            memcpy(frames, st.frames, nframes * sizeof frames[0]);
        }
    }
    if (x86_fault_fill_record(rec, vcpu->index, &f, &frame, frames, nframes, NULL) < 0)
        record_minimal(rec, vcpu->index, HVK_FC_EXCEPTION, (uint8_t)vector, 0);
}

void trace_record_mmio(struct hv_trace *t, struct hv_vcpu *vcpu, uint64_t gpa, unsigned len, bool is_write,
                       const uint8_t *data, struct hvk_fault_rec *rec)
{
    (void)t;
    struct hv_snapshot s;
    struct x86_fault_frame frame = { 0 };
    uint64_t cr3 = 0, value = 0;
    if (hv_snapshot_at_exit(vcpu, &s, NULL) == 0) {
        frame = record_frame_now(&s);
        cr3 = s.sregs.cr3;
    }
    if (len > sizeof value)
        len = sizeof value;
    memcpy(&value, data, len);
    if (x86_fault_rec_mmio(rec, vcpu->index, cr3, &frame, gpa, len, is_write, value, NULL) < 0)
        record_minimal(rec, vcpu->index, HVK_FC_STAGE2_MMIO, 0xff, gpa);
}

void trace_record_fault_in(struct hv_trace *t, struct hv_vcpu *vcpu, uint64_t gpa, struct hvk_fault_rec *rec)
{
    (void)t;
    struct hv_snapshot s;
    struct x86_fault_frame frame = { 0 };
    uint64_t cr3 = 0;
    if (hv_snapshot_take(vcpu, &s, NULL) == 0) {
        frame = record_frame_now(&s);
        cr3 = s.sregs.cr3;
    }
    if (x86_fault_rec_fault_in(rec, vcpu->index, cr3, &frame, gpa, NULL) < 0)
        record_minimal(rec, vcpu->index, HVK_FC_STAGE2_FAULT_IN, 0xff, gpa);
}
