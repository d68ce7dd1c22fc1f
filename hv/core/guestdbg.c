/* guestdbg.c -- debug-register allocation and per-vCPU KVM guest debugging. */
#include "guestdbg.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vcpu.h"
#include "vm.h"

#define DR6_BS        (1u << 14)      /* single-step */
#define DR6_B_MASK    0xfu            /* B0..B3 */
#define DR7_GE        (1u << 9)       /* exact-breakpoint enable (recommended with HW BPs) */

void hv_guestdbg_init(struct hv_guestdbg *d)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    atomic_init(&d->generation, 1);
}

static const char *dr_owner_name(enum hv_dr_owner o)
{
    return o == HV_DR_TRACE ? "fault tracing" : o == HV_DR_GDB ? "gdb" : "free";
}

int hv_dr_alloc(struct hv_vm *vm, enum hv_dr_owner owner, enum hv_dr_type type, unsigned len, uint64_t addr,
                int tag, struct hvk_err *err)
{
    struct hv_guestdbg *d = &vm->dbg;
    if (!(len == 1 || len == 2 || len == 4 || len == 8) || (type == HV_DR_EXEC && len != 1) || (addr & (len - 1)))
        return hvk_err_set(err, "a debug register watches 1, 2, 4 or 8 aligned bytes (execute: 1)");
    if (!vm->caps.guest_debug)
        return hvk_err_set(err, "this host's KVM has no KVM_CAP_SET_GUEST_DEBUG: no hardware breakpoints");
    pthread_mutex_lock(&d->lock);
    for (int i = 0; i < HV_NR_DEBUG_REGS; i++) {
        if (d->slot[i].owner != HV_DR_FREE)
            continue;
        d->slot[i] = (struct hv_dr_slot){ .owner = owner, .type = type, .len = len, .addr = addr, .tag = tag };
        atomic_fetch_add(&d->generation, 1);
        pthread_mutex_unlock(&d->lock);
        return i;
    }
    char users[320] = "";
    size_t off = 0;
    for (int i = 0; i < HV_NR_DEBUG_REGS && off < sizeof users; i++)
        off += (size_t)snprintf(users + off, sizeof users - off, "%sDR%d: %s at 0x%llx", i ? ", " : "", i,
                                dr_owner_name(d->slot[i].owner), (unsigned long long)d->slot[i].addr);
    pthread_mutex_unlock(&d->lock);
    return hvk_err_set(err, "all four debug registers are in use (%s)", users);
}

void hv_dr_free(struct hv_vm *vm, int slot)
{
    if (slot < 0 || slot >= HV_NR_DEBUG_REGS)
        return;
    pthread_mutex_lock(&vm->dbg.lock);
    vm->dbg.slot[slot] = (struct hv_dr_slot){ .owner = HV_DR_FREE };
    atomic_fetch_add(&vm->dbg.generation, 1);
    pthread_mutex_unlock(&vm->dbg.lock);
}

void hv_dbg_set_sw_bp(struct hv_vm *vm, bool on)
{
    pthread_mutex_lock(&vm->dbg.lock);
    if (vm->dbg.sw_bp != on) {
        vm->dbg.sw_bp = on;
        atomic_fetch_add(&vm->dbg.generation, 1);
    }
    pthread_mutex_unlock(&vm->dbg.lock);
}

struct hv_dr_slot hv_dr_get(struct hv_vm *vm, int slot)
{
    struct hv_dr_slot s = { .owner = HV_DR_FREE };
    if (slot < 0 || slot >= HV_NR_DEBUG_REGS)
        return s;
    pthread_mutex_lock(&vm->dbg.lock);
    s = vm->dbg.slot[slot];
    pthread_mutex_unlock(&vm->dbg.lock);
    return s;
}

static uint64_t dr7_len_bits(unsigned len)
{
    switch (len) {
    case 2: return 1;
    case 8: return 2;
    case 4: return 3;
    default: return 0;
    }
}

int hv_vcpu_debug_sync(struct hv_vcpu *vcpu, struct hvk_err *err)
{
    struct hv_vm *vm = vcpu->vm;
    unsigned gen = atomic_load(&vm->dbg.generation);
    if (gen == vcpu->dbg_applied && !vcpu->dbg_dirty)
        return 0;

    struct kvm_guest_debug dbg;
    memset(&dbg, 0, sizeof dbg);
    bool any = false;
    pthread_mutex_lock(&vm->dbg.lock);
    for (int i = 0; i < HV_NR_DEBUG_REGS; i++) {
        const struct hv_dr_slot *s = &vm->dbg.slot[i];
        if (s->owner == HV_DR_FREE || i == vcpu->dbg_stepping_over)
            continue;
        dbg.arch.debugreg[i] = s->addr;
        dbg.arch.debugreg[7] |= (2ull << (i * 2)) /* G_i */ | ((uint64_t)s->type << (16 + i * 4)) |
                                (dr7_len_bits(s->len) << (18 + i * 4));
        any = true;
    }
    bool sw = vm->dbg.sw_bp;
    pthread_mutex_unlock(&vm->dbg.lock);
    if (any)
        dbg.arch.debugreg[7] |= DR7_GE;
    bool step = vcpu->dbg_stepping_over >= 0 || vcpu->dbg_single_step;
    bool on = any || step || sw;
    if (on || vcpu->dbg_enabled) {
        /* Turning debugging off once it was on still takes one ioctl. */
        dbg.control = on ? KVM_GUESTDBG_ENABLE | (any ? KVM_GUESTDBG_USE_HW_BP : 0) |
                               (step ? KVM_GUESTDBG_SINGLESTEP : 0) | (sw ? KVM_GUESTDBG_USE_SW_BP : 0)
                         : 0;
        if (ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
            return hvk_err_set(err, "KVM_SET_GUEST_DEBUG on vCPU %u: %s", vcpu->index, strerror(errno));
        vcpu->dbg_enabled = on;
    }
    vcpu->dbg_applied = gen;
    vcpu->dbg_dirty = false;
    return 0;
}

void hv_vcpu_step_over(struct hv_vcpu *vcpu, int slot)
{
    vcpu->dbg_stepping_over = slot;
    vcpu->dbg_dirty = true;
}

enum hv_debug_event hv_vcpu_debug_exit(struct hv_vcpu *vcpu, int *slot)
{
    const struct kvm_debug_exit_arch *a = &vcpu->run->debug.arch;
    *slot = -1;
    if (a->exception == 3)   /* #BP: an int3, ours or the guest's (KVM_GUESTDBG_USE_SW_BP) */
        return HV_DBG_SW_BREAK;
    if (vcpu->dbg_stepping_over >= 0 && (a->dr6 & DR6_BS)) {
        vcpu->dbg_stepping_over = -1;
        vcpu->dbg_dirty = true;
        return HV_DBG_STEP_DONE;
    }
    for (int i = 0; i < HV_NR_DEBUG_REGS; i++) {
        if (a->dr6 & (1u << i)) {
            *slot = i;
            return HV_DBG_BREAKPOINT;
        }
    }
    /* Some KVMs report an execute breakpoint only by its address. */
    for (int i = 0; i < HV_NR_DEBUG_REGS; i++) {
        struct hv_dr_slot s = hv_dr_get(vcpu->vm, i);
        if (s.owner != HV_DR_FREE && s.type == HV_DR_EXEC && s.addr == a->pc) {
            *slot = i;
            return HV_DBG_BREAKPOINT;
        }
    }
    if ((a->dr6 & DR6_BS) && vcpu->dbg_single_step)
        return HV_DBG_SINGLE_STEP;
    return HV_DBG_UNKNOWN;
}
