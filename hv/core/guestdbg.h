/* guestdbg.h -- the VM's four hardware debug registers, shared by fault
 * tracing and gdb through one allocator, and KVM guest debugging per vCPU
 * (KVM_SET_GUEST_DEBUG): breakpoints, single-step, and stepping over a
 * breakpoint (this machine's KVM ignores RFLAGS.RF, so hv disables the
 * breakpoint on that vCPU, single-steps one instruction, and re-enables it).
 *
 * Invariants: slot changes happen under dbg->lock and bump dbg->generation;
 * each vCPU thread re-applies its debug state before KVM_RUN when the
 * generation it applied is older, so no vCPU ioctl is issued from another
 * thread. With no slot in use and no step pending, guest debugging is off:
 * tracing off costs no exit. */
#ifndef HV_GUESTDBG_H
#define HV_GUESTDBG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>

struct hv_vm;
struct hv_vcpu;

#define HV_NR_DEBUG_REGS 4

enum hv_dr_owner { HV_DR_FREE = 0, HV_DR_TRACE, HV_DR_GDB };
/* DR7 R/W encodings */
enum hv_dr_type { HV_DR_EXEC = 0, HV_DR_WRITE = 1, HV_DR_RW = 3 };

struct hv_dr_slot {
    enum hv_dr_owner owner;
    enum hv_dr_type type;
    unsigned len;          /* 1, 2, 4 or 8 (EXEC: 1) */
    uint64_t addr;         /* guest-virtual */
    int tag;               /* owner's cookie (trace: the vector) */
};

struct hv_guestdbg {
    pthread_mutex_t lock;
    struct hv_dr_slot slot[HV_NR_DEBUG_REGS];
    bool sw_bp;                /* int3 software breakpoints planted: KVM must report #BP */
    atomic_uint generation;
};

/* What a debug exit was, for the owner to act on. */
enum hv_debug_event { HV_DBG_NONE, HV_DBG_BREAKPOINT, HV_DBG_STEP_DONE, HV_DBG_SINGLE_STEP, HV_DBG_SW_BREAK,
                      HV_DBG_UNKNOWN };

void hv_guestdbg_init(struct hv_guestdbg *d);
/* Claim a debug register. -1 with a message naming every current user when
 * all four are taken. */
int hv_dr_alloc(struct hv_vm *vm, enum hv_dr_owner owner, enum hv_dr_type type, unsigned len, uint64_t addr,
                int tag, struct hvk_err *err);
void hv_dr_free(struct hv_vm *vm, int slot);
/* Have KVM report every #BP (KVM_GUESTDBG_USE_SW_BP) while int3 software
 * breakpoints are planted. */
void hv_dbg_set_sw_bp(struct hv_vm *vm, bool on);
/* Copy of a slot (for the exit path, which must not hold the lock long). */
struct hv_dr_slot hv_dr_get(struct hv_vm *vm, int slot);

/* vCPU thread, before KVM_RUN: apply the VM's debug state if it changed. */
int hv_vcpu_debug_sync(struct hv_vcpu *vcpu, struct hvk_err *err);
/* vCPU thread, on KVM_EXIT_DEBUG: which debug register fired (*slot), that
 * a step-over finished, or that a requested single-step completed. */
enum hv_debug_event hv_vcpu_debug_exit(struct hv_vcpu *vcpu, int *slot);
/* vCPU thread: run one instruction with `slot` off on this vCPU, then put
 * it back (an execute breakpoint must not fire again on resume). */
void hv_vcpu_step_over(struct hv_vcpu *vcpu, int slot);

#endif
