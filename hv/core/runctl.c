/* runctl.c -- breakpoints, watchpoints, single-step and all-stop (runctl.h). */
#include "runctl.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <hvkit/proto.h>
#include <hvkit/ring.h>
#include <x86/walk.h>

#include "inspect.h"
#include "vcpu.h"
#include "vm.h"

void hv_runctl_init(struct hv_runctl *rc, struct ring_producer *prod)
{
    memset(rc, 0, sizeof *rc);
    pthread_mutex_init(&rc->lock, NULL);
    rc->prod = prod;
}

/* The stopped vCPU's registers, from the exit (synced) or ioctls; RIP is
 * the stop's pc (a software breakpoint has just moved it back). */
static void runctl_stop_regs(struct hv_vcpu *vcpu, uint64_t pc, struct hvk_stop_rec *rec)
{
    struct hv_snapshot s;
    if (hv_snapshot_at_exit(vcpu, &s, NULL) < 0)
        return;
    struct hvk_stop_regs *r = &rec->regs;
    const struct kvm_regs *g = &s.regs;
    const uint64_t gpr[16] = { g->rax, g->rbx, g->rcx, g->rdx, g->rsi, g->rdi, g->rbp, g->rsp,
                               g->r8,  g->r9,  g->r10, g->r11, g->r12, g->r13, g->r14, g->r15 };
    memcpy(r->gpr, gpr, sizeof gpr);
    r->rip = pc;
    r->rflags = g->rflags;
    r->cs = s.sregs.cs.selector;
    r->ss = s.sregs.ss.selector;
    r->ds = s.sregs.ds.selector;
    r->es = s.sregs.es.selector;
    r->fs = s.sregs.fs.selector;
    r->gs = s.sregs.gs.selector;
    r->fs_base = s.sregs.fs.base;
    r->gs_base = s.sregs.gs.base;
    r->cr0 = s.sregs.cr0;
    r->cr2 = s.sregs.cr2;
    r->cr3 = s.sregs.cr3;
    r->cr4 = s.sregs.cr4;
    r->cr8 = s.sregs.cr8;
    r->efer = s.sregs.efer;
    rec->flags |= HVK_STOP_HAS_REGS;
}

static void runctl_emit_stop(struct hv_vcpu *vcpu, uint32_t reason, uint64_t pc, uint64_t data_addr)
{
    struct hv_runctl *rc = vcpu->vm->runctl;
    struct hvk_stop_rec rec = { .vcpu = vcpu->index, .reason = reason, .pc = pc, .data_addr = data_addr };
    runctl_stop_regs(vcpu, pc, &rec);
    if (rc->prod)
        ring_write(&rc->prod[vcpu->index], RING_REC_STOP, 0, &rec, sizeof rec, NULL);
}

/* Translate a GVA under vCPU `vcpu`'s current paging (VM not running). */
static int runctl_translate(struct hv_vm *vm, unsigned vcpu, uint64_t gva, uint64_t *gpa, struct hvk_err *err)
{
    struct hv_snapshot s;
    struct x86_cpu_facts facts;
    struct x86_walk w;
    struct x86_mem mem = hv_guest_mem(vm);
    struct x86_access acc = { .type = X86_ACCESS_READ, .priv = X86_PRIV_IMPLICIT };
    if (vcpu >= vm->nr_vcpus)
        return hvk_err_set(err, "no vCPU %u", vcpu);
    if (hv_snapshot_take(&vm->vcpus[vcpu], &s, err) < 0 || hv_cpu_facts(vm, &facts, err) < 0 ||
        x86_walk(&s.paging, &facts, &mem, gva, acc, &w, err) < 0)
        return -1;
    if (!w.mapped)
        return hvk_err_set(err, "0x%llx does not translate: %s", (unsigned long long)gva, w.why);
    if (!hv_vm_gpa_to_host(vm, w.gpa, 1))
        return hvk_err_set(err, "0x%llx is at GPA 0x%llx, which is not guest RAM", (unsigned long long)gva,
                           (unsigned long long)w.gpa);
    *gpa = w.gpa;
    return 0;
}

static int runctl_set_sw(struct hv_vm *vm, unsigned vcpu, uint64_t addr, struct hvk_err *err)
{
    struct hv_runctl *rc = vm->runctl;
    uint64_t gpa;
    if (runctl_translate(vm, vcpu, addr, &gpa, err) < 0)
        return -1;
    pthread_mutex_lock(&rc->lock);
    struct hv_swbp *free_bp = NULL;
    for (unsigned i = 0; i < HV_MAX_SW_BREAKPOINTS; i++) {
        if (rc->sw[i].used && rc->sw[i].addr == addr) {
            pthread_mutex_unlock(&rc->lock);
            return 0; /* already planted: setting twice is not an error (gdb re-inserts) */
        }
        if (!rc->sw[i].used && !free_bp)
            free_bp = &rc->sw[i];
    }
    if (!free_bp) {
        pthread_mutex_unlock(&rc->lock);
        return hvk_err_set(err, "at most %d software breakpoints", HV_MAX_SW_BREAKPOINTS);
    }
    uint8_t *p = hv_vm_gpa_to_host(vm, gpa, 1);
    uint8_t insn = vm->caps.sw_breakpoints ? HV_SWBP_INT3 : HV_SWBP_HLT;
    static bool said;
    if (!said && insn == HV_SWBP_HLT)
        fprintf(stderr, "hv: %s: software breakpoints are planted hlt instructions here (KVM's own int3 support "
                        "failed its probe): kernel code only\n", vm->name);
    said = true;
    *free_bp = (struct hv_swbp){ .used = true, .addr = addr, .gpa = gpa, .orig = *p, .insn = insn };
    *p = insn;
    if (insn == HV_SWBP_INT3)
        hv_dbg_set_sw_bp(vm, true);
    pthread_mutex_unlock(&rc->lock);
    return 0;
}

static int runctl_clear_sw(struct hv_vm *vm, uint64_t addr, struct hvk_err *err)
{
    struct hv_runctl *rc = vm->runctl;
    pthread_mutex_lock(&rc->lock);
    for (unsigned i = 0; i < HV_MAX_SW_BREAKPOINTS; i++) {
        struct hv_swbp *bp = &rc->sw[i];
        if (!bp->used || bp->addr != addr)
            continue;
        uint8_t *p = hv_vm_gpa_to_host(vm, bp->gpa, 1);
        /* Put the byte back only if ours is still there: the guest may have
         * rewritten its code since. */
        if (p && *p == bp->insn)
            *p = bp->orig;
        bp->used = false;
        bool any_int3 = false;
        for (unsigned k = 0; k < HV_MAX_SW_BREAKPOINTS; k++)
            any_int3 |= rc->sw[k].used && rc->sw[k].insn == HV_SWBP_INT3;
        if (!any_int3)
            hv_dbg_set_sw_bp(vm, false);
        pthread_mutex_unlock(&rc->lock);
        return 0;
    }
    pthread_mutex_unlock(&rc->lock);
    return hvk_err_set(err, "no software breakpoint at 0x%llx", (unsigned long long)addr);
}

/* Re-protect exactly the pages of the watches in force. Lock held, VM paused. */
static int runctl_protect_pages(struct hv_vm *vm, struct hvk_err *err)
{
    struct hv_runctl *rc = vm->runctl;
    uint64_t pages[2 * HV_MAX_MEM_WATCHES];
    unsigned n = 0;
    for (unsigned i = 0; i < HV_MAX_MEM_WATCHES; i++) {
        for (unsigned k = 0; rc->watch[i].used && k < 2; k++) {
            uint64_t p = rc->watch[i].gpa[k] & ~0xfffull;
            unsigned j = 0;
            while (j < n && pages[j] < p)
                j++;
            if (j < n && pages[j] == p)
                continue;
            memmove(pages + j + 1, pages + j, (n - j) * sizeof pages[0]);
            pages[j] = p;
            n++;
        }
    }
    return hv_vm_set_readonly_pages(vm, pages, n, err);
}

static int runctl_set_memwatch(struct hv_vm *vm, unsigned vcpu, uint64_t addr, unsigned len, struct hvk_err *err)
{
    static bool said;
    if (!said)
        fprintf(stderr, "hv: %s: write watchpoints make the watched page read-only here (data breakpoints failed "
                        "their probe)\n", vm->name);
    said = true;
    struct hv_runctl *rc = vm->runctl;
    uint64_t first, last;
    if (runctl_translate(vm, vcpu, addr, &first, err) < 0 || runctl_translate(vm, vcpu, addr + len - 1, &last, err) < 0)
        return -1;
    pthread_mutex_lock(&rc->lock);
    int rcode = -1;
    for (unsigned i = 0; i < HV_MAX_MEM_WATCHES; i++) {
        if (rc->watch[i].used)
            continue;
        rc->watch[i] = (struct hv_memwatch){ .used = true, .gva = addr, .gpa = { first, last }, .len = len };
        rcode = runctl_protect_pages(vm, err);
        if (rcode < 0)
            rc->watch[i].used = false;
        break;
    }
    if (rcode < 0 && !err->msg[0])
        hvk_err_set(err, "at most %d write watchpoints", HV_MAX_MEM_WATCHES);
    pthread_mutex_unlock(&rc->lock);
    return rcode;
}

static int runctl_clear_memwatch(struct hv_vm *vm, uint64_t addr, unsigned len, struct hvk_err *err)
{
    struct hv_runctl *rc = vm->runctl;
    pthread_mutex_lock(&rc->lock);
    for (unsigned i = 0; i < HV_MAX_MEM_WATCHES; i++) {
        if (rc->watch[i].used && rc->watch[i].gva == addr && rc->watch[i].len == len) {
            rc->watch[i].used = false;
            int r = runctl_protect_pages(vm, err);
            pthread_mutex_unlock(&rc->lock);
            return r;
        }
    }
    pthread_mutex_unlock(&rc->lock);
    return hvk_err_set(err, "no write watchpoint at 0x%llx", (unsigned long long)addr);
}

bool hv_runctl_on_mmio(struct hv_vcpu *vcpu, uint64_t gpa, unsigned len, bool is_write, uint8_t *data)
{
    struct hv_runctl *rc = vcpu->vm->runctl;
    bool protected = false, hit = false;
    uint64_t hit_gva = 0;
    pthread_mutex_lock(&rc->lock);
    for (unsigned i = 0; i < HV_MAX_MEM_WATCHES; i++) {
        const struct hv_memwatch *w = &rc->watch[i];
        if (!w->used)
            continue;
        for (unsigned k = 0; k < 2; k++)
            if ((gpa & ~0xfffull) == (w->gpa[k] & ~0xfffull))
                protected = true;
        /* Overlap with the watched bytes (contiguous in GPA when the watch
         * stays in one page; a page-crossing watch checks both ends). */
        if (gpa < w->gpa[0] + w->len && w->gpa[0] < gpa + len)
            hit = true, hit_gva = w->gva;
        if (w->gpa[1] != w->gpa[0] + w->len - 1 && gpa <= w->gpa[1] && w->gpa[1] < gpa + len)
            hit = true, hit_gva = w->gva;
    }
    pthread_mutex_unlock(&rc->lock);
    if (!protected)
        return false;
    if (!is_write) {
        hv_vm_read_gpa(vcpu->vm, gpa, data, len);
        return true;
    }
    /* All-stop: the first watched write starts the stop and lands; a write
     * arriving once a stop has begun (another vCPU's hit, a pause) waits
     * until this vCPU runs again, so the debugger sees exactly one write. */
    bool first = hit && hv_vm_stop_async(vcpu->vm);
    if (!first && hv_vm_is_stopped(vcpu->vm) && len <= sizeof vcpu->deferred_write.data) {
        vcpu->deferred_write.pending = true;
        vcpu->deferred_write.gpa = gpa;
        vcpu->deferred_write.len = len;
        memcpy(vcpu->deferred_write.data, data, len);
        return true;
    }
    hv_vm_write_gpa(vcpu->vm, gpa, data, len);
    if (first) {
        struct kvm_regs r;
        uint64_t pc = ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0 ? r.rip : 0;
        runctl_emit_stop(vcpu, HVK_STOP_WATCH_WRITE, pc, hit_gva);
    }
    return true;
}

int hv_runctl_set_bp(struct hv_vm *vm, unsigned vcpu, enum hv_bp_type type, uint64_t addr, unsigned len,
                     struct hvk_err *err)
{
    switch (type) {
    case HV_BP_SW:
        return runctl_set_sw(vm, vcpu, addr, err);
    case HV_BP_HW:
        return hv_dr_alloc(vm, HV_DR_GDB, HV_DR_EXEC, 1, addr, 0, err) < 0 ? -1 : 0;
    case HV_BP_WATCH_WRITE:
        if (!vm->caps.data_breakpoints)
            return runctl_set_memwatch(vm, vcpu, addr, len, err);
        return hv_dr_alloc(vm, HV_DR_GDB, HV_DR_WRITE, len, addr, 0, err) < 0 ? -1 : 0;
    case HV_BP_WATCH_ACCESS:
        if (!vm->caps.data_breakpoints)
            return hvk_err_set(err, "read/access watchpoints need data breakpoints, which this host's KVM does not "
                                    "deliver (probed at start); write watchpoints work");
        return hv_dr_alloc(vm, HV_DR_GDB, HV_DR_RW, len, addr, 0, err) < 0 ? -1 : 0;
    }
    return hvk_err_set(err, "unknown breakpoint type");
}

int hv_runctl_clear_bp(struct hv_vm *vm, enum hv_bp_type type, uint64_t addr, unsigned len, struct hvk_err *err)
{
    if (type == HV_BP_SW)
        return runctl_clear_sw(vm, addr, err);
    if (type == HV_BP_WATCH_WRITE && !vm->caps.data_breakpoints)
        return runctl_clear_memwatch(vm, addr, len, err);
    enum hv_dr_type dt = type == HV_BP_HW ? HV_DR_EXEC : type == HV_BP_WATCH_WRITE ? HV_DR_WRITE : HV_DR_RW;
    unsigned dl = type == HV_BP_HW ? 1 : len;
    for (int i = 0; i < HV_NR_DEBUG_REGS; i++) {
        struct hv_dr_slot s = hv_dr_get(vm, i);
        if (s.owner == HV_DR_GDB && s.type == dt && s.addr == addr && s.len == dl) {
            hv_dr_free(vm, i);
            return 0;
        }
    }
    return hvk_err_set(err, "no such hardware breakpoint or watchpoint at 0x%llx", (unsigned long long)addr);
}

/* Does the instruction at the vCPU's RIP return to user mode (iret, sysret,
 * sysexit, with or without REX.W)? On this machine's KVM a single-step
 * across such an instruction never traps back to hv and leaves TF set in
 * the guest's user RFLAGS (measured), so hv refuses to step it. */
static bool runctl_returns_to_user(struct hv_vm *vm, struct hv_vcpu *v)
{
    struct hv_snapshot s;
    struct x86_cpu_facts facts;
    uint8_t insn[3];
    uint64_t bad;
    if (hv_snapshot_take(v, &s, NULL) < 0 || hv_cpu_facts(vm, &facts, NULL) < 0 ||
        hv_read_gva(vm, &s, &facts, s.regs.rip, insn, sizeof insn, &bad, NULL) < 0)
        return false;
    const uint8_t *p = insn;
    if ((p[0] & 0xf0) == 0x40)   /* REX prefix */
        p++;
    return p[0] == 0xcf || (p[0] == 0x0f && (p[1] == 0x07 || p[1] == 0x35));
}

int hv_runctl_step(struct hv_vm *vm, unsigned vcpu, struct hvk_err *err)
{
    if (vcpu >= vm->nr_vcpus)
        return hvk_err_set(err, "no vCPU %u", vcpu);
    pthread_mutex_lock(&vm->lock);
    bool stopped = vm->stopped;
    bool halted = vm->vcpus[vcpu].halted;
    pthread_mutex_unlock(&vm->lock);
    if (!stopped)
        return hvk_err_set(err, "the VM is running: stop it before stepping");
    if (halted)
        return hvk_err_set(err, "vCPU %u is halted for good", vcpu);
    if (!vm->caps.data_breakpoints && runctl_returns_to_user(vm, &vm->vcpus[vcpu]))
        return hvk_err_set(err, "vCPU %u is at an instruction that returns to user mode; this host's KVM cannot "
                                "single-step into user code: continue instead", vcpu);
    /* The vCPU is parked: its thread reads these after it wakes (the VM
     * lock orders the handoff). */
    vm->vcpus[vcpu].dbg_single_step = true;
    vm->vcpus[vcpu].dbg_dirty = true;
    hv_vm_set_solo(vm, (int)vcpu);
    return 0;
}

void hv_runctl_on_hw_break(struct hv_vcpu *vcpu, int slot, const struct hv_dr_slot *s)
{
    (void)slot;
    uint32_t reason = s->type == HV_DR_EXEC ? HVK_STOP_HW_BREAK
                      : s->type == HV_DR_WRITE ? HVK_STOP_WATCH_WRITE
                                               : HVK_STOP_WATCH_ACCESS;
    struct hv_snapshot snap;
    uint64_t pc = hv_snapshot_at_exit(vcpu, &snap, NULL) == 0 ? snap.regs.rip : vcpu->run->debug.arch.pc;
    runctl_emit_stop(vcpu, reason, pc, reason == HVK_STOP_HW_BREAK ? 0 : s->addr);
    hv_vm_stop_async(vcpu->vm);
}

void hv_runctl_on_step(struct hv_vcpu *vcpu)
{
    struct hv_snapshot snap;
    uint64_t pc = hv_snapshot_at_exit(vcpu, &snap, NULL) == 0 ? snap.regs.rip : vcpu->run->debug.arch.pc;
    vcpu->dbg_single_step = false;
    vcpu->dbg_dirty = true;
    hv_vm_set_solo(vcpu->vm, -1);
    runctl_emit_stop(vcpu, HVK_STOP_STEP, pc, 0);
}

bool hv_runctl_on_hlt(struct hv_vcpu *vcpu)
{
    struct hv_runctl *rc = vcpu->vm->runctl;
    struct kvm_regs r;
    if (!rc || ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0)
        return false;
    /* RIP is past the one-byte hlt. */
    uint64_t at = r.rip - 1;
    bool ours = false;
    pthread_mutex_lock(&rc->lock);
    for (unsigned i = 0; i < HV_MAX_SW_BREAKPOINTS && !ours; i++)
        ours = rc->sw[i].used && rc->sw[i].addr == at && rc->sw[i].insn == HV_SWBP_HLT;
    pthread_mutex_unlock(&rc->lock);
    if (!ours)
        return false;
    r.rip = at;
    if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
        return false;
    runctl_emit_stop(vcpu, HVK_STOP_SW_BREAK, at, 0);
    hv_vm_stop_async(vcpu->vm);
    return true;
}

void hv_runctl_on_int3(struct hv_vcpu *vcpu)
{
    struct hv_runctl *rc = vcpu->vm->runctl;
    uint64_t at = vcpu->run->debug.arch.pc;   /* the int3's address */
    bool ours = false;
    if (rc) {
        pthread_mutex_lock(&rc->lock);
        for (unsigned i = 0; i < HV_MAX_SW_BREAKPOINTS && !ours; i++)
            ours = rc->sw[i].used && rc->sw[i].addr == at && rc->sw[i].insn == HV_SWBP_INT3;
        pthread_mutex_unlock(&rc->lock);
    }
    if (ours) {
        runctl_emit_stop(vcpu, HVK_STOP_SW_BREAK, at, 0);
        hv_vm_stop_async(vcpu->vm);
        return;
    }
    /* The guest's own int3: deliver the #BP it would have taken without
     * hv (KVM completes the soft exception's instruction length). */
    struct kvm_vcpu_events ev;
    if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
        ev.exception.injected = 1;
        ev.exception.nr = 3;
        ev.exception.has_error_code = 0;
        ev.exception.error_code = 0;
        if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) == 0)
            return;
    }
    hv_vcpu_report(vcpu, "cannot give the guest its own #BP back (KVM_SET_VCPU_EVENTS failed)");
    hv_vm_end(vcpu->vm, HV_EXIT_CRASHED);
}

void hv_runctl_replay_deferred(struct hv_vcpu *vcpu)
{
    uint8_t data[sizeof vcpu->deferred_write.data];
    uint64_t gpa = vcpu->deferred_write.gpa;
    unsigned len = vcpu->deferred_write.len;
    memcpy(data, vcpu->deferred_write.data, len);
    vcpu->deferred_write.pending = false;
    if (!hv_runctl_on_mmio(vcpu, gpa, len, true, data))
        hv_vm_write_gpa(vcpu->vm, gpa, data, len);   /* the watch was removed meanwhile */
}
