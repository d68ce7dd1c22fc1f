/* runctl.h -- run control for debuggers (gdb through hvd): all-stop, one
 * vCPU stepping while the others stay stopped, software breakpoints,
 * hardware breakpoints and watchpoints. A stop is reported by a STOP record
 * (proto.h) on the stopping vCPU's ring.
 *
 * Software breakpoints on this machine: KVM's own (KVM_GUESTDBG_USE_SW_BP)
 * and an int3 executed at CPL0 both fail here (DESIGN.md "This machine"),
 * so hv plants a one-byte `hlt` (0xF4): hv has no interrupt source, so a
 * hlt always exits to hv, which looks the address up and reports the stop.
 * A guest's own hlt elsewhere is still a halt. Only kernel (CPL0) code can
 * be broken this way: at CPL3 hlt raises #GP in the guest. */
#ifndef HV_RUNCTL_H
#define HV_RUNCTL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>

#include "guestdbg.h"

struct hv_vm;
struct hv_vcpu;
struct ring_producer;

#define HV_MAX_SW_BREAKPOINTS 256
#define HV_SWBP_HLT  0xf4   /* hlt */
#define HV_SWBP_INT3 0xcc   /* int3, where KVM reports it */

enum hv_bp_type { HV_BP_SW = 0, HV_BP_HW, HV_BP_WATCH_WRITE, HV_BP_WATCH_ACCESS };

struct hv_swbp {
    bool used;
    uint64_t addr;     /* guest-virtual */
    uint64_t gpa;      /* where the byte was planted */
    uint8_t orig;      /* the byte it replaced */
    uint8_t insn;      /* the byte planted: HV_SWBP_HLT or HV_SWBP_INT3 */
};

/* A write watchpoint kept by page protection: the page is a read-only
 * memslot, every guest write to it exits as MMIO, hv completes the write
 * and stops when it touches [gpa, gpa+len). Used where the probe shows the
 * host's KVM does not deliver data breakpoints. */
#define HV_MAX_MEM_WATCHES 8
struct hv_memwatch {
    bool used;
    uint64_t gva;
    uint64_t gpa[2];   /* first and last byte's GPA (a watch may cross a page) */
    unsigned len;
};

struct hv_runctl {
    pthread_mutex_t lock;             /* protects sw[] and watch[] */
    struct hv_swbp sw[HV_MAX_SW_BREAKPOINTS];
    struct hv_memwatch watch[HV_MAX_MEM_WATCHES];
    struct ring_producer *prod;       /* [vcpu] STOP records, or NULL */
};

void hv_runctl_init(struct hv_runctl *rc, struct ring_producer *prod);

/* Main thread (control service), VM paused or stopped by the caller. addr
 * is a GVA under vCPU `vcpu`'s paging. */
int hv_runctl_set_bp(struct hv_vm *vm, unsigned vcpu, enum hv_bp_type type, uint64_t addr, unsigned len,
                     struct hvk_err *err);
int hv_runctl_clear_bp(struct hv_vm *vm, enum hv_bp_type type, uint64_t addr, unsigned len, struct hvk_err *err);
/* Step one instruction of a stopped VM's vCPU; the others stay stopped. */
int hv_runctl_step(struct hv_vm *vm, unsigned vcpu, struct hvk_err *err);

/* vCPU thread hooks (exit.c). */
void hv_runctl_on_hw_break(struct hv_vcpu *vcpu, int slot, const struct hv_dr_slot *s);
void hv_runctl_on_step(struct hv_vcpu *vcpu);
/* A hlt exit: true when it was one of hv's software breakpoints (handled:
 * RIP moved back onto it, VM stopped); false for the guest's own hlt. */
bool hv_runctl_on_hlt(struct hv_vcpu *vcpu);
/* A #BP debug exit (KVM_GUESTDBG_USE_SW_BP): one of hv's int3 breakpoints
 * stops the VM; the guest's own int3 is re-injected into the guest. */
void hv_runctl_on_int3(struct hv_vcpu *vcpu);
/* An MMIO exit: true when it was a write to a page hv keeps read-only for a
 * watchpoint (completed here, and the VM stopped if it hit the range). */
bool hv_runctl_on_mmio(struct hv_vcpu *vcpu, uint64_t gpa, unsigned len, bool is_write, uint8_t *data);
/* vCPU thread, before it runs again: the write deferred by an all-stop goes
 * through the watch check now (it may stop the VM again: a new event). */
void hv_runctl_replay_deferred(struct hv_vcpu *vcpu);

#endif
