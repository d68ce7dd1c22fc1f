/* fault.c -- classify a traced guest exception by the walk of CR2, fill the FAULT record, check records read back. */
#include <stdio.h>
#include <string.h>

#include <x86/fault.h>

#define FAULT_NO_LEVEL 0xffu
#define FAULT_NO_VECTOR 0xffu
#define FAULT_PFEC_CAUSE (X86_PFEC_P | X86_PFEC_RSVD | X86_PFEC_PK)
#define FAULT_FLAGS_KNOWN (HVK_FF_HAS_ERROR_CODE | HVK_FF_WALKED | HVK_FF_MAPPED | \
                           HVK_FF_MMIO_WRITE | HVK_FF_USER)

/* The guest.* class a walk outcome names; HVK_FC_NONE for outcomes that
 * blame no guest page table (their class is decided by the caller). */
static enum hvk_fault_class fault_class_of_reason(enum x86_walk_reason reason)
{
    switch (reason) {
    case X86_WALK_OK: return HVK_FC_GUEST_SPURIOUS;
    case X86_WALK_NOT_PRESENT: return HVK_FC_GUEST_NOT_PRESENT;
    case X86_WALK_RESERVED: return HVK_FC_GUEST_RESERVED_BIT;
    case X86_WALK_USER_SUPERVISOR: return HVK_FC_GUEST_PROT_USER;
    case X86_WALK_WRITE_RO: return HVK_FC_GUEST_PROT_WRITE;
    case X86_WALK_NX: return HVK_FC_GUEST_PROT_NX;
    case X86_WALK_SMEP: return HVK_FC_GUEST_PROT_SMEP;
    case X86_WALK_SMAP: return HVK_FC_GUEST_PROT_SMAP;
    case X86_WALK_PKEY_AD:
    case X86_WALK_PKEY_WD: return HVK_FC_GUEST_PROT_PKEY;
    case X86_WALK_NONCANONICAL:
    case X86_WALK_ADDR_WIDTH:
    case X86_WALK_READ_FAILED:
    case X86_WALK_REASON_COUNT: break;
    }
    return HVK_FC_NONE;
}

/* Notes that follow from the walk outcome and the error code alone; shared
 * by the classifier and x86_fault_rec_notes() so both always agree.
 * Invariant: depends only on values the record carries. */
static unsigned fault_walk_notes(bool has_ec, uint32_t ec, bool user_cpl, bool walked,
                                 enum x86_walk_reason reason, int level_is_pdpte_pae)
{
    unsigned notes = 0;
    if (has_ec && (((ec & X86_PFEC_W) && (ec & X86_PFEC_ID)) || ((ec & X86_PFEC_U) && !user_cpl)))
        notes |= X86_FN_EC_ACCESS;
    if (!walked)
        return notes | X86_FN_NO_WALK;
    switch (reason) {
    case X86_WALK_NONCANONICAL: return notes | X86_FN_NONCANONICAL;
    case X86_WALK_ADDR_WIDTH: return notes | X86_FN_ADDR_WIDTH;
    case X86_WALK_READ_FAILED: return notes | X86_FN_TABLE_NOT_RAM;
    case X86_WALK_RESERVED:
        if (level_is_pdpte_pae)
            return notes | X86_FN_PDPTE_GP;
        break;
    default:
        break;
    }
    return notes;
}

/* Whether the cause bits (P, RSVD, PK) of the error code fit a walk that
 * faults with #PF; only meaningful for guest.* classes other than spurious.
 * Judged from the reason alone so a record (which has no PKRU) gives the
 * same answer: PK is required for the pkey reasons and ignored for the other
 * protection reasons (the CPU also sets it when the key denies as well). */
static bool fault_ec_agrees(uint32_t ec, enum x86_walk_reason reason)
{
    uint32_t want;
    switch (reason) {
    case X86_WALK_NOT_PRESENT: want = 0; break;
    case X86_WALK_RESERVED: want = X86_PFEC_P | X86_PFEC_RSVD; break;
    case X86_WALK_PKEY_AD:
    case X86_WALK_PKEY_WD: want = X86_PFEC_P | X86_PFEC_PK; break;
    default: return (ec & (X86_PFEC_P | X86_PFEC_RSVD)) == X86_PFEC_P;
    }
    return (ec & FAULT_PFEC_CAUSE) == want;
}

static int fault_walk_pf(const struct x86_fault_input *in, const struct x86_cpu_facts *cpu,
                         const struct x86_mem *mem, struct x86_fault *f, struct hvk_err *err)
{
    uint32_t ec = f->error_code;
    enum x86_mode mode;
    struct hvk_err merr = { .msg = "" };

    f->addr = in->cr2;
    f->access.type = (ec & X86_PFEC_ID) ? X86_ACCESS_FETCH
                   : (ec & X86_PFEC_W) ? X86_ACCESS_WRITE : X86_ACCESS_READ;
    f->access.priv = (ec & X86_PFEC_U) ? X86_PRIV_USER
                   : in->cpl == 3 ? X86_PRIV_IMPLICIT : X86_PRIV_SUPERVISOR;

    /* Registers no CPU can hold, or paging off: there is no table to walk and
     * no CPU raises #PF there. Recorded as a #PF all the same. */
    if (x86_paging_mode(&in->regs, &mode, &merr) < 0 || mode == X86_MODE_OFF) {
        f->cls = HVK_FC_EXCEPTION;
        f->notes = fault_walk_notes(true, ec, in->cpl == 3, false, X86_WALK_OK, 0);
        snprintf(f->why, sizeof f->why, "#PF not walked: %.150s",
                 merr.msg[0] ? merr.msg : "paging is off (CR0.PG=0)");
        return 0;
    }
    if (x86_walk(&in->regs, cpu, mem, in->cr2, f->access, &f->walk, err) < 0)
        return hvk_err_prefix(err, "x86_fault_classify");
    f->walked = true;

    const struct x86_walk *w = &f->walk;
    int pdpte_pae = w->fault_level >= 0 && w->levels[w->fault_level].kind == X86_LEVEL_PDPTE_PAE;
    f->notes = fault_walk_notes(true, ec, in->cpl == 3, true, w->reason, pdpte_pae);
    f->level = w->fault_level;
    f->cls = fault_class_of_reason(w->reason);
    if (w->reason == X86_WALK_READ_FAILED) {
        /* the walk itself touched a GPA outside RAM: stage 2's business */
        f->cls = HVK_FC_STAGE2_MMIO;
    } else if (f->cls == HVK_FC_NONE) {
        f->cls = HVK_FC_EXCEPTION;      /* noncanonical, addr_width */
        f->level = -1;
    } else if (f->cls != HVK_FC_GUEST_SPURIOUS && !fault_ec_agrees(ec, w->reason)) {
        f->notes |= X86_FN_EC_MISMATCH;
    }
    if (f->cls == HVK_FC_GUEST_SPURIOUS)
        snprintf(f->why, sizeof f->why, "spurious: the walk now allows %s %s",
                 x86_access_priv_name(f->access.priv), x86_access_type_name(f->access.type));
    else
        snprintf(f->why, sizeof f->why, "%s", w->why);
    return 0;
}

int x86_fault_classify(const struct x86_fault_input *in, const struct x86_cpu_facts *cpu,
                       const struct x86_mem *mem, struct x86_fault *out, struct hvk_err *err)
{
    if (!in || !cpu || !mem || !out)
        return hvk_err_set(err, "x86_fault_classify: NULL argument");
    memset(out, 0, sizeof *out);
    out->level = -1;
    if (in->vector > 31)
        return hvk_err_set(err, "x86_fault_classify: vector %u is not an exception (0..31)", in->vector);
    if (in->cpl > 3)
        return hvk_err_set(err, "x86_fault_classify: CPL %u out of range 0..3", in->cpl);

    out->vector = in->vector;
    out->has_error_code = hvk_vector_has_error_code(in->vector);
    out->error_code = out->has_error_code ? in->error_code : 0;
    out->cr3 = in->regs.cr3;
    out->cpl = in->cpl;
    if (in->vector == X86_VECTOR_PF)
        return fault_walk_pf(in, cpu, mem, out, err);
    out->cls = HVK_FC_EXCEPTION;
    snprintf(out->why, sizeof out->why, "exception #%s (vector %u)", hvk_vector_name(in->vector),
             in->vector);
    return 0;
}

static void fault_rec_frame(struct hvk_fault_rec *r, const struct x86_fault_frame *frame)
{
    if (!frame)
        return;
    r->rip = frame->rip;
    r->rsp = frame->rsp;
    r->rflags = frame->rflags;
    r->cs = frame->cs;
    r->ss = frame->ss;
    if ((frame->cs & 3) == 3)
        r->flags |= HVK_FF_USER;
}

int x86_fault_fill_record(struct hvk_fault_rec *r, unsigned vcpu, const struct x86_fault *f,
                          const struct x86_fault_frame *frame,
                          const struct x86_unwind_frame *frames, unsigned nframes,
                          struct hvk_err *err)
{
    if (!r || !f || !frame || (nframes && !frames))
        return hvk_err_set(err, "x86_fault_fill_record: NULL argument");
    if ((unsigned)(frame->cs & 3) != f->cpl)
        return hvk_err_set(err, "x86_fault_fill_record: frame CS 0x%x has RPL %u, the classification CPL %u",
                           frame->cs, frame->cs & 3u, f->cpl);
    if (nframes && frames[0].pc != frame->rip)
        return hvk_err_set(err, "x86_fault_fill_record: stack frame 0 pc 0x%llx is not the faulting RIP "
                           "0x%llx (unwind from the exception frame, not the handler)",
                           (unsigned long long)frames[0].pc, (unsigned long long)frame->rip);
    if (f->cls == HVK_FC_NONE || f->cls >= HVK_FC__COUNT || f->vector > 31)
        return hvk_err_set(err, "x86_fault_fill_record: not a classification (class %d, vector %u)",
                           (int)f->cls, f->vector);

    memset(r, 0, sizeof *r);
    r->vcpu = vcpu;
    r->cls = (uint16_t)f->cls;
    r->vector = (uint8_t)f->vector;
    r->walk_level = FAULT_NO_LEVEL;
    r->addr = f->addr;
    r->cr3 = f->cr3;
    fault_rec_frame(r, frame);
    if (f->has_error_code) {
        r->flags |= HVK_FF_HAS_ERROR_CODE;
        r->error_code = f->error_code;
    }
    if (f->walked) {
        const struct x86_walk *w = &f->walk;
        unsigned n = w->nlevels < HVK_FAULT_MAX_LEVELS ? w->nlevels : HVK_FAULT_MAX_LEVELS;
        r->flags |= HVK_FF_WALKED;
        r->walk_reason = (uint8_t)w->reason;
        r->nlevels = (uint8_t)n;
        for (unsigned i = 0; i < n; i++) {
            r->levels[i].entry_gpa = w->levels[i].entry_gpa;
            r->levels[i].raw = w->levels[i].read_ok ? w->levels[i].raw : 0;
            r->levels[i].kind = (uint8_t)w->levels[i].kind;
            r->levels[i].read_ok = w->levels[i].read_ok;
        }
        if (f->level >= 0 && (unsigned)f->level < n)
            r->walk_level = (uint8_t)f->level;
        if (w->mapped) {
            r->flags |= HVK_FF_MAPPED;
            r->gpa = w->gpa;
        } else if (w->reason == X86_WALK_READ_FAILED && r->walk_level != FAULT_NO_LEVEL) {
            r->gpa = w->levels[r->walk_level].entry_gpa;   /* the table GPA that is not RAM */
        }
    }
    r->nframes = (uint8_t)(nframes < HVK_FAULT_MAX_FRAMES ? nframes : HVK_FAULT_MAX_FRAMES);
    for (unsigned i = 0; i < r->nframes; i++)
        r->frames[i] = frames[i].pc;
    return 0;
}

static void fault_rec_stage2(struct hvk_fault_rec *r, unsigned vcpu, uint64_t cr3,
                             const struct x86_fault_frame *frame, enum hvk_fault_class cls, uint64_t gpa)
{
    memset(r, 0, sizeof *r);
    r->vcpu = vcpu;
    r->cls = (uint16_t)cls;
    r->vector = FAULT_NO_VECTOR;
    r->walk_level = FAULT_NO_LEVEL;
    r->addr = gpa;
    r->gpa = gpa;
    r->cr3 = cr3;
    fault_rec_frame(r, frame);
}

int x86_fault_rec_mmio(struct hvk_fault_rec *r, unsigned vcpu, uint64_t cr3,
                       const struct x86_fault_frame *frame, uint64_t gpa, unsigned size,
                       bool write, uint64_t value, struct hvk_err *err)
{
    if (!r)
        return hvk_err_set(err, "x86_fault_rec_mmio: NULL record");
    if (size < 1 || size > 8)
        return hvk_err_set(err, "x86_fault_rec_mmio: MMIO size %u outside 1..8", size);
    fault_rec_stage2(r, vcpu, cr3, frame, HVK_FC_STAGE2_MMIO, gpa);
    r->mmio_size = (uint8_t)size;
    r->mmio_value = size == 8 ? value : value & ((1ull << (8 * size)) - 1);
    if (write)
        r->flags |= HVK_FF_MMIO_WRITE;
    return 0;
}

int x86_fault_rec_fault_in(struct hvk_fault_rec *r, unsigned vcpu, uint64_t cr3,
                           const struct x86_fault_frame *frame, uint64_t gpa,
                           struct hvk_err *err)
{
    if (!r)
        return hvk_err_set(err, "x86_fault_rec_fault_in: NULL record");
    fault_rec_stage2(r, vcpu, cr3, frame, HVK_FC_STAGE2_FAULT_IN, gpa);
    return 0;
}

/* The walk part of the check: levels, walk_level and the reason the class
 * needs. Invariant on success: nlevels <= HVK_FAULT_MAX_LEVELS, walk_level is
 * 0xff or < nlevels. */
static int fault_check_walk(const struct hvk_fault_rec *r, struct hvk_err *err)
{
    bool walked = r->flags & HVK_FF_WALKED;
    if (r->nlevels > HVK_FAULT_MAX_LEVELS)
        return hvk_err_set(err, "fault record: nlevels %u > %u", r->nlevels, HVK_FAULT_MAX_LEVELS);
    if (r->walk_level != FAULT_NO_LEVEL && r->walk_level >= r->nlevels)
        return hvk_err_set(err, "fault record: walk_level %u not below nlevels %u", r->walk_level,
                           r->nlevels);
    if (r->walk_reason >= X86_WALK_REASON_COUNT)
        return hvk_err_set(err, "fault record: walk_reason %u out of range", r->walk_reason);
    if (!walked) {
        if (r->nlevels || r->walk_level != FAULT_NO_LEVEL || r->walk_reason || (r->flags & HVK_FF_MAPPED))
            return hvk_err_set(err, "fault record: walk fields set without the WALKED flag");
        return 0;
    }
    for (unsigned i = 0; i < r->nlevels; i++) {
        if (r->levels[i].kind > X86_LEVEL_PTE32)
            return hvk_err_set(err, "fault record: level %u kind %u out of range", i, r->levels[i].kind);
        if (r->levels[i].read_ok > 1)
            return hvk_err_set(err, "fault record: level %u read_ok %u is not 0 or 1", i,
                               r->levels[i].read_ok);
    }
    /* levels that blame one entry must name it; the others must not */
    bool needs_level = r->walk_reason != X86_WALK_OK && r->walk_reason != X86_WALK_NONCANONICAL &&
                       r->walk_reason != X86_WALK_ADDR_WIDTH;
    if (needs_level != (r->walk_level != FAULT_NO_LEVEL))
        return hvk_err_set(err, "fault record: walk_reason %s %s a walk_level",
                           x86_walk_reason_name(r->walk_reason), needs_level ? "needs" : "takes no");
    /* a walk translates exactly when it allows the access or a permission
     * rule (not a missing or malformed entry) refuses it */
    enum hvk_fault_class c = fault_class_of_reason(r->walk_reason);
    bool maps = c != HVK_FC_NONE && c != HVK_FC_GUEST_NOT_PRESENT && c != HVK_FC_GUEST_RESERVED_BIT;
    if (!(r->flags & HVK_FF_MAPPED) != !maps)
        return hvk_err_set(err, "fault record: MAPPED flag %s with walk_reason %s",
                           maps ? "clear" : "set", x86_walk_reason_name(r->walk_reason));
    return 0;
}

int x86_fault_rec_check(const struct hvk_fault_rec *r, unsigned nvcpus, struct hvk_err *err)
{
    if (!r)
        return hvk_err_set(err, "fault record: NULL");
    if (r->cls == HVK_FC_NONE || r->cls >= HVK_FC__COUNT)
        return hvk_err_set(err, "fault record: class %u out of range 1..%u", r->cls, HVK_FC__COUNT - 1);
    if (nvcpus && r->vcpu >= nvcpus)
        return hvk_err_set(err, "fault record: vcpu %u but the VM has %u", r->vcpu, nvcpus);
    if (r->flags & ~(uint32_t)FAULT_FLAGS_KNOWN)
        return hvk_err_set(err, "fault record: unknown flags 0x%x", r->flags & ~(uint32_t)FAULT_FLAGS_KNOWN);
    if (r->nframes > HVK_FAULT_MAX_FRAMES)
        return hvk_err_set(err, "fault record: nframes %u > %u", r->nframes, HVK_FAULT_MAX_FRAMES);
    if (r->nframes && r->frames[0] != r->rip)
        return hvk_err_set(err, "fault record: frame 0 0x%llx is not rip 0x%llx",
                           (unsigned long long)r->frames[0], (unsigned long long)r->rip);
    if (!(r->flags & HVK_FF_USER) != ((r->cs & 3) != 3))
        return hvk_err_set(err, "fault record: USER flag %s but CS 0x%x", (r->flags & HVK_FF_USER) ? "set" : "clear",
                           r->cs);
    if (fault_check_walk(r, err) < 0)
        return -1;

    bool walked = r->flags & HVK_FF_WALKED;
    bool stage2 = r->cls == HVK_FC_STAGE2_MMIO || r->cls == HVK_FC_STAGE2_FAULT_IN;
    bool s2_walk = r->cls == HVK_FC_STAGE2_MMIO && r->vector == X86_VECTOR_PF;   /* a table not in RAM */

    if (stage2 && !s2_walk) {
        if (r->vector != FAULT_NO_VECTOR)
            return hvk_err_set(err, "fault record: %s with vector %u (stage-2 events have 0xff)",
                               hvk_fault_class_name(r->cls), r->vector);
        if (r->flags & (HVK_FF_HAS_ERROR_CODE | HVK_FF_WALKED) || r->error_code)
            return hvk_err_set(err, "fault record: %s with an error code or a walk", hvk_fault_class_name(r->cls));
        if (r->addr != r->gpa)
            return hvk_err_set(err, "fault record: %s addr 0x%llx is not its gpa 0x%llx", hvk_fault_class_name(r->cls),
                               (unsigned long long)r->addr, (unsigned long long)r->gpa);
        if (r->cls == HVK_FC_STAGE2_MMIO) {
            if (r->mmio_size < 1 || r->mmio_size > 8)
                return hvk_err_set(err, "fault record: mmio_size %u outside 1..8", r->mmio_size);
            if (r->mmio_size < 8 && (r->mmio_value >> (8 * r->mmio_size)))
                return hvk_err_set(err, "fault record: mmio_value 0x%llx wider than %u bytes",
                                   (unsigned long long)r->mmio_value, r->mmio_size);
            return 0;
        }
    } else {
        if (r->vector > 31)
            return hvk_err_set(err, "fault record: %s with vector %u (exceptions are 0..31)",
                               hvk_fault_class_name(r->cls), r->vector);
        /* HAS_ERROR_CODE only on vectors that push one; it may be clear on
         * those for an unwalked exception record (hv could not read the
         * exception frame), never for a class that was derived from it */
        bool has_ec = r->flags & HVK_FF_HAS_ERROR_CODE;
        if (has_ec && !hvk_vector_has_error_code(r->vector))
            return hvk_err_set(err, "fault record: HAS_ERROR_CODE flag on vector %u, which pushes none", r->vector);
        if (!has_ec && hvk_vector_has_error_code(r->vector) && (r->cls != HVK_FC_EXCEPTION || walked))
            return hvk_err_set(err, "fault record: %s on vector %u without HAS_ERROR_CODE",
                               hvk_fault_class_name(r->cls), r->vector);
        if (!(r->flags & HVK_FF_HAS_ERROR_CODE) && r->error_code)
            return hvk_err_set(err, "fault record: error code 0x%x without HAS_ERROR_CODE", r->error_code);
        /* #PF: guest.* and the table-not-RAM stage2.mmio come from a walk;
         * exception.pf may have none (paging off, registers refused).
         * Other vectors are never walked. */
        if (r->vector != X86_VECTOR_PF && (walked || r->cls != HVK_FC_EXCEPTION))
            return hvk_err_set(err, "fault record: %s on vector %u (only #PF is walked)",
                               hvk_fault_class_name(r->cls), r->vector);
        if (r->vector == X86_VECTOR_PF && !walked && r->cls != HVK_FC_EXCEPTION)
            return hvk_err_set(err, "fault record: %s without a walk", hvk_fault_class_name(r->cls));
        if (r->vector != X86_VECTOR_PF && r->addr)
            return hvk_err_set(err, "fault record: address 0x%llx on vector %u (only #PF has one)",
                               (unsigned long long)r->addr, r->vector);
        enum hvk_fault_class want = walked ? fault_class_of_reason(r->walk_reason) : HVK_FC_NONE;
        if (s2_walk && r->walk_reason != X86_WALK_READ_FAILED)
            return hvk_err_set(err, "fault record: stage2.mmio on #PF needs walk_reason read_failed");
        if (r->cls == HVK_FC_EXCEPTION && walked && r->walk_reason != X86_WALK_NONCANONICAL &&
            r->walk_reason != X86_WALK_ADDR_WIDTH)
            return hvk_err_set(err, "fault record: exception.pf with walk_reason %s (a guest class)",
                               x86_walk_reason_name(r->walk_reason));
        if (r->cls != HVK_FC_EXCEPTION && !s2_walk && want != r->cls)
            return hvk_err_set(err, "fault record: class %s but walk_reason %s", hvk_fault_class_name(r->cls),
                               x86_walk_reason_name(r->walk_reason));
        if (s2_walk && r->gpa != r->levels[r->walk_level].entry_gpa)
            return hvk_err_set(err, "fault record: stage2.mmio gpa 0x%llx is not the unreadable entry's",
                               (unsigned long long)r->gpa);
    }
    if (r->mmio_size || r->mmio_value || (r->flags & HVK_FF_MMIO_WRITE))
        return hvk_err_set(err, "fault record: MMIO fields on a %s record", hvk_fault_class_name(r->cls));
    if (!(r->flags & HVK_FF_MAPPED) && r->gpa && !s2_walk && !stage2)
        return hvk_err_set(err, "fault record: gpa 0x%llx without MAPPED", (unsigned long long)r->gpa);
    return 0;
}

size_t x86_fault_class_format(unsigned cls, unsigned vector, char *buf, size_t len)
{
    if (cls == HVK_FC_EXCEPTION)
        return (size_t)snprintf(buf, len, "exception.%s", hvk_vector_name(vector));
    return (size_t)snprintf(buf, len, "%s", hvk_fault_class_name(cls));
}

size_t x86_fault_rec_why(const struct hvk_fault_rec *r, char *buf, size_t len)
{
    if (!(r->flags & HVK_FF_WALKED) || r->walk_reason >= X86_WALK_REASON_COUNT)
        return (size_t)snprintf(buf, len, "%s", "");
    if (r->walk_reason == X86_WALK_OK)
        return (size_t)snprintf(buf, len, "spurious: the walk now allows the access");
    if (r->walk_level == FAULT_NO_LEVEL || r->walk_level >= r->nlevels || r->walk_level >= HVK_FAULT_MAX_LEVELS)
        return (size_t)snprintf(buf, len, "%s", x86_walk_reason_str(r->walk_reason));
    const struct hvk_fault_level *l = &r->levels[r->walk_level];
    const char *name = x86_level_name((enum x86_level_kind)l->kind);
    if (r->walk_reason == X86_WALK_NOT_PRESENT)
        return (size_t)snprintf(buf, len, "%s not present", name);
    if (r->walk_reason == X86_WALK_READ_FAILED)
        return (size_t)snprintf(buf, len, "%s at GPA 0x%llx is not readable RAM", name,
                                (unsigned long long)l->entry_gpa);
    return (size_t)snprintf(buf, len, "%s: %s", x86_walk_reason_str(r->walk_reason), name);
}

unsigned x86_fault_rec_notes(const struct hvk_fault_rec *r)
{
    if (r->vector != X86_VECTOR_PF)
        return 0;
    bool walked = r->flags & HVK_FF_WALKED;
    int pdpte_pae = walked && r->walk_level < r->nlevels && r->walk_level < HVK_FAULT_MAX_LEVELS &&
                    r->levels[r->walk_level].kind == X86_LEVEL_PDPTE_PAE;
    unsigned notes = fault_walk_notes(r->flags & HVK_FF_HAS_ERROR_CODE, r->error_code, r->flags & HVK_FF_USER,
                                      walked, (enum x86_walk_reason)r->walk_reason, pdpte_pae);
    if (walked && r->cls != HVK_FC_GUEST_SPURIOUS && fault_class_of_reason(r->walk_reason) == r->cls &&
        !fault_ec_agrees(r->error_code, (enum x86_walk_reason)r->walk_reason))
        notes |= X86_FN_EC_MISMATCH;
    return notes;
}

const char *x86_fault_note_name(unsigned bit)
{
    switch (bit) {
    case X86_FN_EC_MISMATCH: return "ec_mismatch";
    case X86_FN_EC_ACCESS: return "ec_access";
    case X86_FN_NONCANONICAL: return "noncanonical";
    case X86_FN_ADDR_WIDTH: return "addr_width";
    case X86_FN_TABLE_NOT_RAM: return "table_not_ram";
    case X86_FN_NO_WALK: return "no_walk";
    case X86_FN_PDPTE_GP: return "pdpte_gp";
    }
    return NULL;
}

size_t x86_fault_notes_format(unsigned notes, char *buf, size_t len)
{
    size_t n = 0;
    if (len)
        buf[0] = '\0';
    for (unsigned bit = 1; bit && bit <= notes; bit <<= 1) {
        const char *name = (notes & bit) ? x86_fault_note_name(bit) : NULL;
        if (!name)
            continue;
        int k = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s%s", n ? " " : "", name);
        n += (size_t)k;
    }
    if (!n)
        return (size_t)snprintf(buf, len, "-");
    return n;
}
