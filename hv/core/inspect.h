/* inspect.h -- reading guest state for introspection: a consistent register
 * snapshot of a paused vCPU, the CPU facts the walker needs, and bounded
 * readers of guest-physical and guest-virtual memory. Nothing here writes
 * guest memory or guest registers. */
#ifndef HV_INSPECT_H
#define HV_INSPECT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <x86/paging.h>
#include <x86/unwind.h>
#include <x86/walk.h>

struct hv_vm;
struct hv_vcpu;

struct hv_snapshot {
    unsigned vcpu;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    uint32_t pkru;               /* 0 unless CR4.PKE and XSAVE gave it */
    struct x86_paging_regs paging;
};

/* Take a snapshot of a vCPU that is not running (the VM is paused). */
int hv_snapshot_take(struct hv_vcpu *vcpu, struct hv_snapshot *s, struct hvk_err *err);
/* On the vCPU's own thread, right after an exit: the same snapshot from the
 * registers KVM handed over with the exit (KVM_CAP_SYNC_REGS) when they are
 * there, else with ioctls. */
int hv_snapshot_at_exit(struct hv_vcpu *vcpu, struct hv_snapshot *s, struct hvk_err *err);
/* The paging facts of the CPU the guest sees (its CPUID, as set by hv). */
int hv_cpu_facts(struct hv_vm *vm, struct x86_cpu_facts *facts, struct hvk_err *err);
/* A walker memory accessor over the VM's RAM (bounds-checked by hv_vm_read_gpa). */
struct x86_mem hv_guest_mem(struct hv_vm *vm);

/* Everything a guest-virtual read needs, and the unwinder-style reader over
 * it (x86/unwind.h), so every user of hv_read_gva shares one callback. */
struct hv_gva_ctx {
    struct hv_vm *vm;
    const struct hv_snapshot *snap;
    const struct x86_cpu_facts *facts;
};
struct x86_gva_reader hv_gva_reader(struct hv_gva_ctx *ctx);

/* Read len bytes at a guest-virtual address under the snapshot's paging
 * state, page by page. On a translation failure returns -1 and sets
 * *bad_gva to the first address that did not translate (err says why). */
int hv_read_gva(struct hv_vm *vm, const struct hv_snapshot *s, const struct x86_cpu_facts *facts, uint64_t gva,
                void *buf, size_t len, uint64_t *bad_gva, struct hvk_err *err);

#endif
