/* vcpu.h -- one guest vCPU: its KVM fd, shared kvm_run page, thread and exit
 * counters. The run loop and exit dispatch live in vcpu.c / exit.c. */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;
struct kvm_run;

#define HV_EXIT_REASON_SLOTS 64   /* KVM exit reasons counted individually */

struct hv_vcpu {
    struct hv_vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    bool halted;                 /* halted for good; protected by vm->lock */
    _Atomic int tid;             /* the vCPU thread's kernel tid (0 before it runs) */
    uint64_t fault_ins;          /* pages this vCPU touched first (--lazy-mem) */
    /* A write to a watched (read-only) page that reached hv while an
     * all-stop was starting: applied before this vCPU next runs, so no
     * write lands while a debugger looks at a stopped VM. */
    struct {
        bool pending;
        uint64_t gpa;
        unsigned len;
        uint8_t data[8];
    } deferred_write;
    /* Guest debugging (guestdbg.c); touched only by this vCPU's thread. */
    unsigned dbg_applied;        /* vm->dbg.generation last applied */
    bool dbg_dirty;              /* per-vCPU state changed: re-apply */
    bool dbg_enabled;            /* KVM guest debugging is on for this vCPU */
    bool dbg_single_step;        /* single-step requested (gdb) */
    int dbg_stepping_over;       /* slot being stepped over, or -1 */
    /* Exits seen, by KVM exit reason (the last slot counts larger reasons).
     * Written only by this vCPU's thread. */
    uint64_t exit_count[HV_EXIT_REASON_SLOTS];
};

int hv_vcpu_init(struct hv_vcpu *vcpu, struct hv_vm *vm, unsigned index, struct hvk_err *err);
void hv_vcpu_destroy(struct hv_vcpu *vcpu);
/* Install the kick signal's handler (once per process, before any vCPU
 * thread starts). */
void hv_vcpu_signals_init(void);
/* Make the vCPU leave KVM_RUN soon (or not enter it). Any thread. */
void hv_vcpu_kick(struct hv_vcpu *vcpu);
/* The vCPU thread's body. */
void *hv_vcpu_thread(void *arg);

/* Exit handling (exit.c): returns true to keep running, false when the
 * vCPU thread must stop (the VM has been ended). */
bool hv_vcpu_handle_exit(struct hv_vcpu *vcpu);

/* Print a clear report of why the guest cannot go on: the reason, the vCPU,
 * RIP and the registers (report.c). Serialized across vCPUs. */
void hv_vcpu_report(struct hv_vcpu *vcpu, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
