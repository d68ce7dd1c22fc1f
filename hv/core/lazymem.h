/* lazymem.h -- `hv run --lazy-mem`: guest RAM backed on first touch through
 * userfaultfd, the way KVM's tdp_page_fault faults a page in. Each first
 * touch by a vCPU becomes a stage2.fault_in event.
 *
 * Threads: one resolver thread reads the userfaultfd and zero-fills pages;
 * it never writes a ring. It queues the GPA to the faulting vCPU (found by
 * the thread id userfaultfd reports) and kicks it; the vCPU thread drains
 * its queue after every KVM_RUN and writes the FAULT records on its own
 * ring. A vCPU can have at most one fault outstanding, so the queue only
 * fills if a vCPU touches many pages without leaving KVM_RUN between the
 * kicks; overflow is counted, never waited on (the vCPU might be the one
 * waiting). Faults from hv's own threads (introspection reads) are resolved
 * and counted, not reported as guest events. */
#ifndef HV_LAZYMEM_H
#define HV_LAZYMEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;
struct hv_vcpu;

#define HV_LAZY_QUEUE 1024   /* power of two */

/* Per-vCPU queue: the resolver thread produces, the vCPU thread consumes. */
struct hv_lazy_queue {
    _Atomic uint64_t head, tail;
    uint64_t gpa[HV_LAZY_QUEUE];
    _Atomic uint64_t overflow;
};

struct hv_lazymem {
    struct hv_vm *vm;
    int uffd;
    int stop_fd;                     /* eventfd: tells the resolver to exit */
    pthread_t thread;
    bool thread_started;
    struct hv_lazy_queue *queues;    /* [vcpu] */
    _Atomic uint64_t resolved;       /* pages filled */
    _Atomic uint64_t by_hv;          /* of which touched first by hv itself */
};

/* Register guest RAM with userfaultfd (no page of it may be touched by the
 * guest before this; hv's own boot data written earlier stays). */
int hv_lazymem_start(struct hv_vm *vm, struct hvk_err *err);
void hv_lazymem_stop(struct hv_vm *vm);
/* vCPU thread, after each KVM_RUN: turn queued first touches into events. */
void hv_lazymem_drain(struct hv_vcpu *vcpu);

#endif
