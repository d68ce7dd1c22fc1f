/* vcpu.c -- vCPU creation, kicking, and the run loop each vCPU thread follows. */
#include "vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "guestdbg.h"
#include "lazymem.h"
#include "runctl.h"
#include "trace.h"
#include "vm.h"

#define HV_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
    (void)sig; /* its only job is to make KVM_RUN return -EINTR */
}

static pthread_once_t vcpu_signal_once = PTHREAD_ONCE_INIT;

/* Process-wide; must run before the first vCPU thread exists, or a kick
 * could reach a thread with SIGUSR1's default action (terminate). */
static void vcpu_install_kick_handler(void)
{
    struct sigaction sa = { .sa_handler = vcpu_kick_handler, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(HV_KICK_SIGNAL, &sa, NULL);
}

int hv_vcpu_init(struct hv_vcpu *vcpu, struct hv_vm *vm, unsigned index, struct hvk_err *err)
{
    memset(vcpu, 0, sizeof *vcpu);
    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->dbg_stepping_over = -1;
    vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0)
        return hvk_err_set(err, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
    void *run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (run == MAP_FAILED)
        return hvk_err_set(err, "mapping kvm_run of vCPU %u: %s", index, strerror(errno));
    vcpu->run = run;

    struct kvm_cpuid2 *cpuid = hv_cpuid_for_vcpu(vm->supported_cpuid, index, vm->nr_vcpus_planned, err);
    if (!cpuid)
        return -1;
    int rc = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
    free(cpuid);
    if (rc < 0)
        return hvk_err_set(err, "KVM_SET_CPUID2 on vCPU %u: %s", index, strerror(errno));
    return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, (size_t)vcpu->vm->vcpu_mmap_size);
    if (vcpu->fd > 0)
        close(vcpu->fd);
    vcpu->run = NULL;
    vcpu->fd = -1;
}

void hv_vcpu_signals_init(void)
{
    pthread_once(&vcpu_signal_once, vcpu_install_kick_handler);
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
    /* immediate_exit covers the window between the thread's last check and
     * its KVM_RUN; the signal covers a vCPU already inside KVM_RUN. */
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(vcpu->thread, HV_KICK_SIGNAL);
}

/* An I/O or MMIO exit is complete (RIP advanced, data for an IN delivered)
 * only once KVM_RUN is entered again. Before parking, re-enter with
 * immediate_exit set so a paused vCPU's registers are consistent. */
static void vcpu_complete_pending_io(struct hv_vcpu *vcpu)
{
    uint32_t r = vcpu->run->exit_reason;
    if (r != KVM_EXIT_IO && r != KVM_EXIT_MMIO)
        return;
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (ioctl(vcpu->fd, KVM_RUN, 0) == 0) {
        /* KVM ran the guest anyway: handle that exit on the normal path. */
        vcpu->run->immediate_exit = 0;
        return;
    }
    vcpu->run->exit_reason = KVM_EXIT_INTR;
}

/* Under vm->lock: park while paused or halted for good -- unless the VM is
 * only stopped (no snapshot pause on top) and this vCPU is the solo one. */
static bool vcpu_must_park(const struct hv_vm *vm, const struct hv_vcpu *vcpu)
{
    if (vcpu->halted)
        return true;
    if (vm->pause_depth == 0)
        return false;
    bool only_stopped = vm->stopped && vm->pause_depth == 1;
    return !(only_stopped && vm->solo_vcpu == (int)vcpu->index);
}

/* Decide, before each KVM_RUN, whether this vCPU may enter the guest. Parks
 * the thread while the VM is paused or this vCPU is halted for good. Returns
 * false when the VM is stopping and the thread must exit. */
static bool vcpu_may_run(struct hv_vcpu *vcpu)
{
    struct hv_vm *vm = vcpu->vm;
    if (!atomic_load_explicit(&vm->attention, memory_order_acquire) && !vcpu->halted)
        return true;

    bool parked = false;
    pthread_mutex_lock(&vm->lock);
    while (!vm->stopping && vcpu_must_park(vm, vcpu)) {
        if (!parked) {
            pthread_mutex_unlock(&vm->lock);
            vcpu_complete_pending_io(vcpu);
            pthread_mutex_lock(&vm->lock);
            if (vm->stopping || !vcpu_must_park(vm, vcpu))
                break;
            parked = true;
            vm->nr_parked++;
            pthread_cond_broadcast(&vm->cond);
        }
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    if (parked)
        vm->nr_parked--;
    bool go = !vm->stopping;
    pthread_mutex_unlock(&vm->lock);
    return go;
}

void *hv_vcpu_thread(void *arg)
{
    struct hv_vcpu *vcpu = arg;
    struct hv_vm *vm = vcpu->vm;

    atomic_store(&vcpu->tid, (int)gettid());
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, HV_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    while (vcpu_may_run(vcpu)) {
        struct hvk_err err = { "", 0 };
        if (vcpu->deferred_write.pending)
            hv_runctl_replay_deferred(vcpu);
        if (hv_vcpu_debug_sync(vcpu, &err) < 0) {
            hv_vcpu_report(vcpu, "%s", err.msg);
            hv_vm_end(vm, HV_EXIT_INTERNAL);
            break;
        }
        /* While guest debugging is on (tracing, gdb), have KVM hand the
         * registers over with each exit instead of two ioctls per fault. */
        vcpu->run->kvm_valid_regs = vcpu->dbg_enabled && vm->caps.sync_regs
                                        ? KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS : 0;
        int run_rc = ioctl(vcpu->fd, KVM_RUN, 0);
        int run_errno = errno;
        if (vm->lazymem)
            hv_lazymem_drain(vcpu);
        errno = run_errno;
        if (run_rc < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                vcpu->exit_count[KVM_EXIT_INTR]++;
                continue;
            }
            hv_vcpu_report(vcpu, "KVM_RUN failed: %s", strerror(errno));
            hv_vm_end(vm, HV_EXIT_CRASHED);
            break;
        }
        uint32_t reason = vcpu->run->exit_reason;
        vcpu->exit_count[reason < HV_EXIT_REASON_SLOTS ? reason : HV_EXIT_REASON_SLOTS - 1]++;
        if (!hv_vcpu_handle_exit(vcpu))
            break;
        if (vm->trace)
            hv_trace_on_exit(vcpu);
    }

    pthread_mutex_lock(&vm->lock);
    vm->nr_live_threads--;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}
