/* trace.c -- arming IDT breakpoints, reading exception frames, and writing
 * FAULT records (see trace.h for the threading rules). */
#include "trace.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <hvkit/hvsym.h>
#include <hvkit/ring.h>
#include <x86/unwind.h>

#include "guestdbg.h"
#include "inspect.h"
#include "trace_record.h"
#include "vcpu.h"
#include "vm.h"

#define IDT_GATE_SIZE     16u          /* long-mode interrupt/trap gate */
#define IDT_GATE_PRESENT  0x80u

struct hv_trace *hv_trace_create(struct hv_vm *vm, struct ring_producer *prod, const struct hvsym_table *symbols,
                                 struct hvk_err *err)
{
    struct hv_trace *t = calloc(1, sizeof *t);
    if (!t || !(t->counters = calloc(vm->nr_vcpus, sizeof *t->counters))) {
        free(t);
        hvk_err_set(err, "out of memory");
        return NULL;
    }
    t->vm = vm;
    t->prod = prod;
    t->symbols = symbols;
    if (hv_cpu_facts(vm, &t->facts, err) < 0) {
        free(t->counters);
        free(t);
        return NULL;
    }
    t->cfg = (struct hv_trace_config){ .stack_depth = HV_TRACE_DEFAULT_DEPTH, .sample = 1 };
    pthread_mutex_init(&t->arm_lock, NULL);
    atomic_init(&t->pending, false);
    atomic_init(&t->stage2, false);
    atomic_init(&t->stack_depth, HV_TRACE_DEFAULT_DEPTH);
    atomic_init(&t->sample, 1);
    for (int i = 0; i < HV_NR_DEBUG_REGS; i++)
        atomic_init(&t->vector_of_slot[i], -1);
    for (int v = 0; v < 32; v++)
        t->vec[v].slot = -1;
    return t;
}

static void trace_disarm(struct hv_trace *t, unsigned v)
{
    struct hv_trace_vector *tv = &t->vec[v];
    if (tv->armed) {
        atomic_store(&t->vector_of_slot[tv->slot], -1);
        hv_dr_free(t->vm, tv->slot);
    }
    tv->armed = false;
    tv->slot = -1;
}

void hv_trace_destroy(struct hv_trace *t)
{
    if (!t)
        return;
    for (unsigned v = 0; v < 32; v++)
        trace_disarm(t, v);
    free(t->counters);
    free(t);
}

/* Read vector v's gate from the IDT of vCPU 0's snapshot. 1: *handler set;
 * 0: not available yet (why in t->arm_error); -1 never (kept for symmetry). */
static int trace_read_gate(struct hv_trace *t, const struct hv_snapshot *s, unsigned v, uint64_t *handler,
                           uint64_t *gate_gpa)
{
    if (!(s->sregs.efer & X86_EFER_LMA) || !s->sregs.cs.l) {
        snprintf(t->arm_error, sizeof t->arm_error, "the guest is not in 64-bit mode yet");
        return 0;
    }
    if ((uint64_t)v * IDT_GATE_SIZE + IDT_GATE_SIZE - 1 > s->sregs.idt.limit) {
        snprintf(t->arm_error, sizeof t->arm_error, "the guest's IDT (limit 0x%x) has no gate for vector %u yet",
                 s->sregs.idt.limit, v);
        return 0;
    }
    uint8_t gate[IDT_GATE_SIZE];
    uint64_t gva = s->sregs.idt.base + (uint64_t)v * IDT_GATE_SIZE, bad;
    struct hvk_err err = { "", 0 };
    struct x86_walk w;
    struct x86_mem mem = hv_guest_mem(t->vm);
    struct x86_access acc = { .type = X86_ACCESS_READ, .priv = X86_PRIV_IMPLICIT };
    if (hv_read_gva(t->vm, s, &t->facts, gva, gate, sizeof gate, &bad, &err) < 0 ||
        x86_walk(&s->paging, &t->facts, &mem, gva, acc, &w, &err) < 0 || !w.mapped) {
        snprintf(t->arm_error, sizeof t->arm_error, "cannot read the IDT gate of vector %u: %s", v, err.msg);
        return 0;
    }
    if (!(gate[5] & IDT_GATE_PRESENT)) {
        snprintf(t->arm_error, sizeof t->arm_error, "the IDT gate of vector %u is not present yet", v);
        return 0;
    }
    uint64_t lo = (uint64_t)gate[0] | (uint64_t)gate[1] << 8;
    uint64_t mid = (uint64_t)gate[6] | (uint64_t)gate[7] << 8;
    uint64_t hi = (uint64_t)gate[8] | (uint64_t)gate[9] << 8 | (uint64_t)gate[10] << 16 | (uint64_t)gate[11] << 24;
    *handler = lo | mid << 16 | hi << 32;
    *gate_gpa = w.gpa;
    return 1;
}

static void trace_update_pending(struct hv_trace *t)
{
    bool pending = false;
    for (unsigned v = 0; v < 32; v++)
        pending |= t->vec[v].wanted && !t->vec[v].armed;
    atomic_store(&t->pending, pending);
}

/* Arm every wanted vector against the current IDT (vCPU 0's). arm_lock
 * held; vCPU 0 not running (paused, or this is its own thread). */
static int trace_arm(struct hv_trace *t, struct hvk_err *err)
{
    struct hv_snapshot s;
    if (hv_snapshot_take(&t->vm->vcpus[0], &s, err) < 0)
        return -1;
    t->arm_error[0] = '\0';
    for (unsigned v = 0; v < 32; v++) {
        struct hv_trace_vector *tv = &t->vec[v];
        if (!tv->wanted) {
            trace_disarm(t, v);
            continue;
        }
        uint64_t handler, gate_gpa;
        if (trace_read_gate(t, &s, v, &handler, &gate_gpa) <= 0) {
            trace_disarm(t, v);
            continue;
        }
        if (tv->armed && tv->handler == handler) {
            tv->gate_gpa = gate_gpa;
            continue;
        }
        trace_disarm(t, v);
        int slot = hv_dr_alloc(t->vm, HV_DR_TRACE, HV_DR_EXEC, 1, handler, (int)v, err);
        if (slot < 0) {
            hvk_err_prefix(err, "cannot trace #%s", hvk_vector_name(v));
            return -1;
        }
        atomic_store(&t->vector_of_slot[slot], (int)v);
        *tv = (struct hv_trace_vector){ .wanted = true, .armed = true, .slot = slot, .handler = handler,
                                        .gate_gpa = gate_gpa };
    }
    trace_update_pending(t);
    return 0;
}

int hv_trace_configure(struct hv_trace *t, const struct hv_trace_config *cfg, struct hvk_err *err)
{
    if (cfg->stack_depth > HVK_FAULT_MAX_FRAMES)
        return hvk_err_set(err, "stack depth %u is more than %d", cfg->stack_depth, HVK_FAULT_MAX_FRAMES);
    if (cfg->sample == 0)
        return hvk_err_set(err, "sampling is 1 in N with N >= 1");
    unsigned wanted = 0;
    for (unsigned v = 0; v < 32; v++)
        wanted += (cfg->vectors >> v) & 1u;
    if (wanted > HV_NR_DEBUG_REGS)
        return hvk_err_set(err, "%u vectors asked for, but there are only %d debug registers", wanted,
                           HV_NR_DEBUG_REGS);

    hv_vm_pause(t->vm);
    pthread_mutex_lock(&t->arm_lock);
    struct hv_trace_config old = t->cfg;
    for (unsigned v = 0; v < 32; v++)
        t->vec[v].wanted = (cfg->vectors >> v) & 1u;
    int rc = trace_arm(t, err);
    if (rc < 0) {
        /* Back to the previous configuration, as far as it arms. */
        for (unsigned v = 0; v < 32; v++)
            t->vec[v].wanted = (old.vectors >> v) & 1u;
        struct hvk_err ignored;
        trace_arm(t, &ignored);
    } else {
        t->cfg = *cfg;
        atomic_store(&t->stage2, cfg->stage2);
        atomic_store(&t->stack_depth, cfg->stack_depth);
        atomic_store(&t->sample, cfg->sample);
    }
    trace_update_pending(t);
    pthread_mutex_unlock(&t->arm_lock);
    hv_vm_resume(t->vm);
    return rc;
}

int hv_trace_tick_ms(struct hv_trace *t)
{
    bool any = false;
    pthread_mutex_lock(&t->arm_lock);
    int ms = -1;
    for (unsigned v = 0; v < 32 && ms != HV_TRACE_PENDING_MS; v++) {
        if (t->vec[v].wanted && !t->vec[v].armed)
            ms = HV_TRACE_PENDING_MS;
        any |= t->vec[v].wanted;
    }
    pthread_mutex_unlock(&t->arm_lock);
    return ms >= 0 ? ms : any ? HV_TRACE_REARM_MS : -1;
}

void hv_trace_tick(struct hv_trace *t)
{
    bool need = false;
    pthread_mutex_lock(&t->arm_lock);
    for (unsigned v = 0; v < 32 && !need; v++) {
        struct hv_trace_vector *tv = &t->vec[v];
        if (tv->wanted && !tv->armed) {
            need = true;
        } else if (tv->armed) {
            /* The gate, read straight from RAM: no pause unless it moved. */
            uint8_t gate[IDT_GATE_SIZE];
            if (hv_vm_read_gpa(t->vm, tv->gate_gpa, gate, sizeof gate) < 0) {
                need = true;
                continue;
            }
            uint64_t h = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
                         (uint64_t)gate[7] << 24 | (uint64_t)gate[8] << 32 | (uint64_t)gate[9] << 40 |
                         (uint64_t)gate[10] << 48 | (uint64_t)gate[11] << 56;
            need = !(gate[5] & IDT_GATE_PRESENT) || h != tv->handler;
        }
    }
    pthread_mutex_unlock(&t->arm_lock);
    if (!need)
        return;
    struct hvk_err err = { "", 0 };
    /* Pause first, then take the lock: vCPU 0 may hold it while arming on
     * its own thread, and it must be able to finish and park. */
    hv_vm_pause(t->vm);
    pthread_mutex_lock(&t->arm_lock);
    if (trace_arm(t, &err) < 0)
        snprintf(t->arm_error, sizeof t->arm_error, "%s", err.msg);
    pthread_mutex_unlock(&t->arm_lock);
    hv_vm_resume(t->vm);
}

void hv_trace_on_exit(struct hv_vcpu *vcpu)
{
    struct hv_trace *t = vcpu->vm->trace;
    if (!t || vcpu->index != 0 || !atomic_load_explicit(&t->pending, memory_order_relaxed))
        return;
    struct kvm_sregs sr;
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0 || !(sr.efer & X86_EFER_LMA) || !sr.cs.l || sr.idt.limit == 0)
        return;
    struct hvk_err err = { "", 0 };
    pthread_mutex_lock(&t->arm_lock);
    if (trace_arm(t, &err) < 0)
        snprintf(t->arm_error, sizeof t->arm_error, "%s", err.msg);
    pthread_mutex_unlock(&t->arm_lock);
}

static void trace_emit(struct hv_vcpu *vcpu, const struct hvk_fault_rec *rec)
{
    struct hv_trace *t = vcpu->vm->trace;
    struct hv_trace_counters *c = &t->counters[vcpu->index];
    c->recorded++;
    if (!t->prod)
        return;
    if (ring_write(&t->prod[vcpu->index], RING_REC_FAULT, 0, rec, sizeof *rec, NULL) != RING_OK)
        c->dropped++;
}

/* 1-in-N sampling; true when this event is to be recorded. */
static bool trace_sampled(struct hv_trace *t, struct hv_trace_counters *c)
{
    unsigned n = atomic_load_explicit(&t->sample, memory_order_relaxed);
    c->hits++;
    if (n > 1 && (c->hits % n) != 0) {
        c->sampled_out++;
        return false;
    }
    return true;
}

static uint64_t trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hv_trace_step_over_done(struct hv_vcpu *vcpu)
{
    struct hv_trace *t = vcpu->vm->trace;
    struct hv_trace_counters *c = t ? &t->counters[vcpu->index] : NULL;
    if (!c || !c->t0_ns)
        return;
    c->cost_ns += trace_now_ns() - c->t0_ns;
    c->costed++;
    c->t0_ns = 0;
}

void hv_trace_on_breakpoint(struct hv_vcpu *vcpu, int slot)
{
    struct hv_trace *t = vcpu->vm->trace;
    if (!t || slot < 0 || slot >= HV_NR_DEBUG_REGS)
        return;
    /* The exit itself happened a moment ago; measure from here to the end
     * of the step-over: all the extra time a traced fault costs the guest
     * beyond its own exit round trip. */
    t->counters[vcpu->index].t0_ns = trace_now_ns();
    int vector = atomic_load(&t->vector_of_slot[slot]);
    if (vector < 0)
        return; /* disarmed while in flight */
    if (!trace_sampled(t, &t->counters[vcpu->index]))
        return;
    struct hvk_fault_rec rec;
    trace_record_exception(t, vcpu, (unsigned)vector, &rec);
    trace_emit(vcpu, &rec);
}

/* The trace state if a stage-2 event of this vCPU is to be recorded now. */
static struct hv_trace *trace_stage2_event(struct hv_vcpu *vcpu)
{
    struct hv_trace *t = vcpu->vm->trace;
    if (!t || !atomic_load_explicit(&t->stage2, memory_order_relaxed))
        return NULL;
    return trace_sampled(t, &t->counters[vcpu->index]) ? t : NULL;
}

void hv_trace_on_mmio(struct hv_vcpu *vcpu, uint64_t gpa, unsigned len, bool is_write, const uint8_t *data)
{
    struct hv_trace *t = trace_stage2_event(vcpu);
    if (!t)
        return;
    struct hvk_fault_rec rec;
    trace_record_mmio(t, vcpu, gpa, len, is_write, data, &rec);
    trace_emit(vcpu, &rec);
}

void hv_trace_on_fault_in(struct hv_vcpu *vcpu, uint64_t gpa)
{
    struct hv_trace *t = trace_stage2_event(vcpu);
    if (!t)
        return;
    struct hvk_fault_rec rec;
    trace_record_fault_in(t, vcpu, gpa, &rec);
    trace_emit(vcpu, &rec);
}

int hv_trace_parse_vectors(const char *list, uint32_t *mask, struct hvk_err *err)
{
    char buf[256];
    if (!list || strlen(list) >= sizeof buf)
        return hvk_err_set(err, "vector list too long");
    snprintf(buf, sizeof buf, "%s", list);
    *mask = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int v = -1;
        for (unsigned i = 0; i < 32; i++)
            if (!strcasecmp(tok, hvk_vector_name(i)))
                v = (int)i;
        if (v < 0) {
            char *end;
            unsigned long n = strtoul(tok, &end, 0);
            if (*end || n > 31)
                return hvk_err_set(err, "unknown vector '%s' (use names like pf, gp, ud, de, df, or 0-31)", tok);
            v = (int)n;
        }
        *mask |= 1u << v;
    }
    return 0;
}
