/* trace.h -- fault tracing on an unmodified guest (DESIGN.md "Faults"):
 * a hardware breakpoint on the guest's IDT handler of each traced vector;
 * at the handler's first instruction the exception frame is on the guest
 * stack and CR2/CR3 still describe the fault, so hv reads them, classifies
 * the fault with the walker, and writes a FAULT record on the vCPU's ring.
 * MMIO exits become stage2.mmio records when stage-2 tracing is on.
 *
 * Threads: configuration and re-arming run on hv's main thread (the control
 * service); records are produced on the faulting vCPU's thread, the only
 * producer of its ring. Tracing off: no debug register, no extra exit. */
#ifndef HV_TRACE_H
#define HV_TRACE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <hvkit/fault.h>
#include <x86/paging.h>

struct hv_vm;
struct hv_vcpu;
struct hvsym_table;
struct ring_producer;

#define HV_TRACE_DEFAULT_DEPTH 8
#define HV_TRACE_REARM_MS      500   /* armed: check the gates this often */
#define HV_TRACE_PENDING_MS    10    /* a wanted vector not armed yet: try this often */

struct hv_trace_config {
    uint32_t vectors;        /* bit v: trace exception vector v (0..31) */
    bool stage2;             /* MMIO exits become stage2.mmio records */
    unsigned stack_depth;    /* frames per record, 0..HVK_FAULT_MAX_FRAMES */
    unsigned sample;         /* record 1 in N traced faults (>= 1) */
};

struct hv_trace_vector {
    bool wanted;             /* in the configuration */
    bool armed;              /* a debug register holds its handler */
    int slot;                /* that register */
    uint64_t handler;        /* the gate's target when armed */
    uint64_t gate_gpa;       /* where the gate lives, to notice changes */
};

/* Per-vCPU counters, written only by that vCPU's thread. */
struct hv_trace_counters {
    uint64_t hits;           /* breakpoint hits + MMIO exits seen while tracing */
    uint64_t recorded;       /* records offered to the ring */
    uint64_t dropped;        /* ring full: dropped (the ring counts them too) */
    uint64_t sampled_out;    /* skipped by 1-in-N sampling */
    uint64_t cost_ns;        /* wall time from each breakpoint exit to the end of its step-over */
    uint64_t costed;         /* breakpoint hits cost_ns covers */
    uint64_t t0_ns;          /* start of the hit being stepped over, 0 if none */
};

struct hv_trace {
    struct hv_vm *vm;
    struct ring_producer *prod;          /* [vcpu], NULL when hv runs without hvd */
    const struct hvsym_table *symbols;

    struct x86_cpu_facts facts;          /* the guest's CPU, fixed at start */

    /* The configuration and arming: main thread, and vCPU 0's thread while
     * a vector is pending (hv_trace_on_exit); both under arm_lock. */
    pthread_mutex_t arm_lock;
    atomic_bool pending;                 /* a wanted vector is not armed yet */
    struct hv_trace_config cfg;
    struct hv_trace_vector vec[32];
    char arm_error[256];                 /* why a wanted vector is not armed */

    /* Read by vCPU threads. */
    atomic_bool stage2;
    atomic_uint stack_depth;
    atomic_uint sample;
    atomic_int vector_of_slot[4];        /* slot -> vector, -1 */
    struct hv_trace_counters *counters;  /* [vcpu] */
};

struct hv_trace *hv_trace_create(struct hv_vm *vm, struct ring_producer *prod, const struct hvsym_table *symbols,
                                 struct hvk_err *err);
void hv_trace_destroy(struct hv_trace *t);
/* Apply a configuration (main thread; pauses the VM while arming). Vectors
 * that cannot be armed now (no IDT yet) are armed later by hv_trace_tick;
 * running out of debug registers is an error naming their users. */
int hv_trace_configure(struct hv_trace *t, const struct hv_trace_config *cfg, struct hvk_err *err);
/* Main thread, every hv_trace_tick_ms(): arm what is pending, re-arm a
 * vector whose IDT gate changed. */
void hv_trace_tick(struct hv_trace *t);
/* How long until the next tick is due: short while a vector waits for the
 * guest's IDT (so early faults are not missed), long once all are armed;
 * -1 when tracing is off. */
int hv_trace_tick_ms(struct hv_trace *t);
/* vCPU thread, after every exit: while a vector waits for the guest's IDT,
 * vCPU 0 arms it as soon as the IDT is there, before it runs on, so no
 * fault after the IDT load is missed however late the main thread runs.
 * One atomic load when nothing is pending. */
void hv_trace_on_exit(struct hv_vcpu *vcpu);
/* vCPU thread: the step-over of a trace breakpoint finished (ends the
 * cost measurement hv_trace_on_breakpoint started). */
void hv_trace_step_over_done(struct hv_vcpu *vcpu);
/* vCPU thread: a trace breakpoint fired at a handler's first instruction. */
void hv_trace_on_breakpoint(struct hv_vcpu *vcpu, int slot);
/* vCPU thread: an MMIO exit (before the device handles it). */
void hv_trace_on_mmio(struct hv_vcpu *vcpu, uint64_t gpa, unsigned len, bool is_write, const uint8_t *data);

/* vCPU thread: this vCPU touched guest RAM page `gpa` first (--lazy-mem). */
void hv_trace_on_fault_in(struct hv_vcpu *vcpu, uint64_t gpa);

/* Parse "pf,gp,ud" (names of hvk_vector_name, or numbers) into a bitmask. */
int hv_trace_parse_vectors(const char *list, uint32_t *mask, struct hvk_err *err);

#endif
