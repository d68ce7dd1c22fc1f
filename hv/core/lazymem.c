/* lazymem.c -- userfaultfd-backed guest RAM (lazymem.h). */
#include "lazymem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trace.h"
#include "vcpu.h"
#include "vm.h"

#define LAZY_PAGE 4096u

static int lazy_vcpu_of_tid(struct hv_vm *vm, uint32_t tid)
{
    for (unsigned i = 0; i < vm->nr_vcpus; i++)
        if (atomic_load(&vm->vcpus[i].tid) == (int)tid)
            return (int)i;
    return -1;
}

/* GPA of a host address inside the RAM mapping, or UINT64_MAX. */
static uint64_t lazy_gpa_of(struct hv_vm *vm, uint64_t host)
{
    uint64_t off = host - (uint64_t)(uintptr_t)vm->ram;
    for (unsigned i = 0; i < vm->nr_regions; i++)
        if (off >= vm->regions[i].memfd_offset && off - vm->regions[i].memfd_offset < vm->regions[i].size)
            return vm->regions[i].gpa + (off - vm->regions[i].memfd_offset);
    return UINT64_MAX;
}

static void lazy_resolve(struct hv_lazymem *lm, const struct uffd_msg *msg)
{
    struct hv_vm *vm = lm->vm;
    uint64_t page = msg->arg.pagefault.address & ~(uint64_t)(LAZY_PAGE - 1);
    struct uffdio_zeropage zp = { .range = { .start = page, .len = LAZY_PAGE } };
    if (ioctl(lm->uffd, UFFDIO_ZEROPAGE, &zp) < 0 && errno != EEXIST)
        return; /* the faulting thread stays blocked; nothing better to do than retry on the next event */
    atomic_fetch_add(&lm->resolved, 1);
    int v = lazy_vcpu_of_tid(vm, msg->arg.pagefault.feat.ptid);
    if (v < 0) {
        atomic_fetch_add(&lm->by_hv, 1);
        return;
    }
    struct hv_lazy_queue *q = &lm->queues[v];
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head - atomic_load_explicit(&q->tail, memory_order_acquire) >= HV_LAZY_QUEUE) {
        atomic_fetch_add(&q->overflow, 1);
    } else {
        q->gpa[head & (HV_LAZY_QUEUE - 1)] = lazy_gpa_of(vm, page);
        atomic_store_explicit(&q->head, head + 1, memory_order_release);
    }
    hv_vcpu_kick(&vm->vcpus[v]);
}

static void *lazy_thread(void *arg)
{
    struct hv_lazymem *lm = arg;
    struct pollfd pfd[2] = { { .fd = lm->uffd, .events = POLLIN }, { .fd = lm->stop_fd, .events = POLLIN } };
    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        struct uffd_msg msgs[16];
        ssize_t n = read(lm->uffd, msgs, sizeof msgs);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        for (size_t i = 0; i < (size_t)n / sizeof msgs[0]; i++)
            if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
                lazy_resolve(lm, &msgs[i]);
    }
    return NULL;
}

int hv_lazymem_start(struct hv_vm *vm, struct hvk_err *err)
{
    struct hv_lazymem *lm = calloc(1, sizeof *lm);
    if (!lm || !(lm->queues = calloc(vm->nr_vcpus, sizeof *lm->queues))) {
        free(lm);
        return hvk_err_set(err, "out of memory");
    }
    lm->vm = vm;
    lm->stop_fd = -1;
    lm->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (lm->uffd < 0) {
        hvk_err_set(err, "userfaultfd: %s (needs root or vm.unprivileged_userfaultfd=1)", strerror(errno));
        goto fail;
    }
    struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_MISSING_SHMEM };
    if (ioctl(lm->uffd, UFFDIO_API, &api) < 0) {
        hvk_err_set(err, "userfaultfd: this kernel lacks thread ids or shmem support (%s)", strerror(errno));
        goto fail;
    }
    struct uffdio_register reg = { .range = { .start = (uint64_t)(uintptr_t)vm->ram, .len = vm->ram_size },
                                   .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(lm->uffd, UFFDIO_REGISTER, &reg) < 0 || !(reg.ioctls & (1ull << _UFFDIO_ZEROPAGE))) {
        hvk_err_set(err, "registering guest RAM with userfaultfd: %s", strerror(errno));
        goto fail;
    }
    lm->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (lm->stop_fd < 0 || pthread_create(&lm->thread, NULL, lazy_thread, lm) != 0) {
        hvk_err_set(err, "starting the userfaultfd thread failed");
        goto fail;
    }
    lm->thread_started = true;
    vm->lazymem = lm;
    return 0;
fail:
    if (lm->uffd >= 0)
        close(lm->uffd);
    if (lm->stop_fd >= 0)
        close(lm->stop_fd);
    free(lm->queues);
    free(lm);
    return -1;
}

void hv_lazymem_stop(struct hv_vm *vm)
{
    struct hv_lazymem *lm = vm->lazymem;
    if (!lm)
        return;
    if (lm->thread_started) {
        uint64_t one = 1;
        if (write(lm->stop_fd, &one, sizeof one) == (ssize_t)sizeof one)
            pthread_join(lm->thread, NULL);
    }
    close(lm->uffd);
    close(lm->stop_fd);
    free(lm->queues);
    free(lm);
    vm->lazymem = NULL;
}

void hv_lazymem_drain(struct hv_vcpu *vcpu)
{
    struct hv_lazymem *lm = vcpu->vm->lazymem;
    struct hv_lazy_queue *q = &lm->queues[vcpu->index];
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    for (; tail != head; tail++) {
        vcpu->fault_ins++;
        if (vcpu->vm->trace)
            hv_trace_on_fault_in(vcpu, q->gpa[tail & (HV_LAZY_QUEUE - 1)]);
    }
    atomic_store_explicit(&q->tail, tail, memory_order_release);
}
