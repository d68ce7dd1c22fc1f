/* vm.c -- VM creation (capabilities, guest RAM, memslots, vCPUs) and the
 * lifecycle every vCPU thread follows: run, park for a pause, stop. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "probe.h"
#include "vcpu.h"

/* Where KVM may put the TSS it needs for real mode on VMX hosts: inside the
 * 32-bit hole, never RAM. */
#define HV_KVM_TSS_ADDR 0xfffbd000ull

static int vm_probe_caps(struct hv_vm *vm, struct hvk_err *err)
{
    int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION)
        return hvk_err_set(err, "/dev/kvm speaks API version %d, hv needs %d", api, KVM_API_VERSION);

    struct hv_caps *c = &vm->caps;
    c->max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (c->max_vcpus <= 0)
        c->max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (c->max_vcpus <= 0)
        c->max_vcpus = 4; /* the documented default when neither cap exists */
    c->immediate_exit = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
    c->set_tss_addr = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0;
    c->sync_regs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) > 0;
    c->guest_debug = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) > 0;
    c->readonly_mem = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;

    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0)
        return hvk_err_set(err, "KVM lacks KVM_CAP_USER_MEMORY");
    if (!c->immediate_exit)
        return hvk_err_set(err, "KVM lacks KVM_CAP_IMMEDIATE_EXIT, which hv needs to stop vCPUs reliably");
    c->data_breakpoints = c->guest_debug && hv_probe_data_breakpoints(vm->kvm_fd);
    c->sw_breakpoints = c->guest_debug && hv_probe_sw_breakpoints(vm->kvm_fd);
    return 0;
}

/* Lay guest RAM out as docs/guest-abi.md says: below 3 GiB, then from 4 GiB. */
static void vm_plan_regions(struct hv_vm *vm)
{
    uint64_t low = vm->ram_size < HV_LOW_RAM_END ? vm->ram_size : HV_LOW_RAM_END;
    vm->regions[0] = (struct hv_mem_region){ .gpa = 0, .size = low, .memfd_offset = 0 };
    vm->nr_regions = 1;
    if (vm->ram_size > low) {
        vm->regions[1] = (struct hv_mem_region){
            .gpa = HV_HIGH_RAM_BASE, .size = vm->ram_size - low, .memfd_offset = low,
        };
        vm->nr_regions = 2;
    }
}

static int vm_setup_memory(struct hv_vm *vm, struct hvk_err *err)
{
    vm->mem_fd = memfd_create("hv-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (vm->mem_fd < 0)
        return hvk_err_set(err, "memfd_create: %s", strerror(errno));
    if (ftruncate(vm->mem_fd, (off_t)vm->ram_size) < 0)
        return hvk_err_set(err, "sizing guest RAM to %llu bytes: %s",
                           (unsigned long long)vm->ram_size, strerror(errno));
    /* Guest RAM never changes size; sealed, hvd can map it without fearing
     * a SIGBUS from a file that shrinks under it. */
    if (fcntl(vm->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        return hvk_err_set(err, "sealing the guest RAM memfd: %s", strerror(errno));
    void *p = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   vm->mem_fd, 0);
    if (p == MAP_FAILED)
        return hvk_err_set(err, "mapping %llu bytes of guest RAM: %s",
                           (unsigned long long)vm->ram_size, strerror(errno));
    vm->ram = p;

    vm_plan_regions(vm);
    return hv_vm_set_readonly_pages(vm, NULL, 0, err);
}

static int vm_add_slot(struct hv_vm *vm, uint64_t gpa, uint64_t size, bool readonly, struct hvk_err *err)
{
    const struct hv_mem_region *r = NULL;
    for (unsigned i = 0; i < vm->nr_regions; i++)
        if (gpa >= vm->regions[i].gpa && gpa - vm->regions[i].gpa < vm->regions[i].size)
            r = &vm->regions[i];
    if (!r || vm->nr_kvm_slots == HV_MAX_KVM_SLOTS)
        return hvk_err_set(err, "no memory slot for GPA 0x%llx", (unsigned long long)gpa);
    struct kvm_userspace_memory_region slot = {
        .slot = vm->nr_kvm_slots,
        .flags = readonly ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)(vm->ram + r->memfd_offset + (gpa - r->gpa)),
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        return hvk_err_set(err, "KVM_SET_USER_MEMORY_REGION slot %u: %s", slot.slot, strerror(errno));
    vm->nr_kvm_slots++;
    return 0;
}

int hv_vm_set_readonly_pages(struct hv_vm *vm, const uint64_t *pages, unsigned n, struct hvk_err *err)
{
    if (n && !vm->caps.readonly_mem)
        return hvk_err_set(err, "this host's KVM has no read-only memory slots (KVM_CAP_READONLY_MEM)");
    /* Drop every slot, then lay RAM out again with each page in `pages`
     * (sorted, 4 KiB aligned, no duplicates) as its own read-only slot. */
    for (unsigned i = 0; i < vm->nr_kvm_slots; i++) {
        struct kvm_userspace_memory_region gone = { .slot = i };
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &gone) < 0)
            return hvk_err_set(err, "deleting memory slot %u: %s", i, strerror(errno));
    }
    vm->nr_kvm_slots = 0;
    for (unsigned i = 0; i < vm->nr_regions; i++) {
        uint64_t at = vm->regions[i].gpa, end = vm->regions[i].gpa + vm->regions[i].size;
        for (unsigned k = 0; k < n; k++) {
            if (pages[k] < at || pages[k] >= end)
                continue;
            if (pages[k] > at && vm_add_slot(vm, at, pages[k] - at, false, err) < 0)
                return -1;
            if (vm_add_slot(vm, pages[k], 4096, true, err) < 0)
                return -1;
            at = pages[k] + 4096;
        }
        if (at < end && vm_add_slot(vm, at, end - at, false, err) < 0)
            return -1;
    }
    return 0;
}

struct hv_vm *hv_vm_create(const struct hv_vm_config *cfg, struct hvk_err *err)
{
    struct hv_vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        hvk_err_set(err, "out of memory");
        return NULL;
    }
    vm->kvm_fd = vm->vm_fd = vm->mem_fd = vm->done_fd = -1;
    snprintf(vm->name, sizeof vm->name, "%s", cfg->name ? cfg->name : "guest");
    vm->ram_size = cfg->mem_size;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    atomic_init(&vm->attention, false);
    hv_guestdbg_init(&vm->dbg);
    vm->solo_vcpu = -1;

    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        if (errno == ENOENT)
            hvk_err_set(err, "/dev/kvm does not exist: this host has no KVM (is the kvm module loaded?)");
        else if (errno == EACCES || errno == EPERM)
            hvk_err_set(err, "no permission to open /dev/kvm: run as root or join the group that owns it");
        else
            hvk_err_set(err, "cannot open /dev/kvm: %s", strerror(errno));
        hvk_err_code(err, HV_EXIT_NO_KVM);
        goto fail;
    }
    if (vm_probe_caps(vm, err) < 0) {
        hvk_err_code(err, HV_EXIT_NO_KVM);
        goto fail;
    }
    if (cfg->nr_vcpus == 0 || cfg->nr_vcpus > HV_MAX_VCPUS || (int)cfg->nr_vcpus > vm->caps.max_vcpus) {
        hvk_err_set(err, "%u vCPUs requested; this host's KVM allows 1 to %d",
                    cfg->nr_vcpus, vm->caps.max_vcpus < (int)HV_MAX_VCPUS ? vm->caps.max_vcpus : (int)HV_MAX_VCPUS);
        hvk_err_code(err, HV_EXIT_USAGE);
        goto fail;
    }

    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        hvk_err_set(err, "KVM_CREATE_VM: %s", strerror(errno));
        goto fail;
    }
    if (vm->caps.set_tss_addr && ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)HV_KVM_TSS_ADDR) < 0) {
        hvk_err_set(err, "KVM_SET_TSS_ADDR: %s", strerror(errno));
        goto fail;
    }
    vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        hvk_err_set(err, "KVM_GET_VCPU_MMAP_SIZE returned %d", vm->vcpu_mmap_size);
        goto fail;
    }
    vm->supported_cpuid = hv_cpuid_get_supported(vm->kvm_fd, err);
    if (!vm->supported_cpuid)
        goto fail;
    if (vm_setup_memory(vm, err) < 0)
        goto fail;

    vm->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->done_fd < 0) {
        hvk_err_set(err, "eventfd: %s", strerror(errno));
        goto fail;
    }

    vm->nr_vcpus_planned = cfg->nr_vcpus;
    vm->vcpus = calloc(cfg->nr_vcpus, sizeof *vm->vcpus);
    if (!vm->vcpus) {
        hvk_err_set(err, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < cfg->nr_vcpus; i++) {
        if (hv_vcpu_init(&vm->vcpus[i], vm, i, err) < 0)
            goto fail;
        vm->nr_vcpus++;
    }
    return vm;

fail:
    hv_vm_destroy(vm);
    return NULL;
}

void hv_vm_destroy(struct hv_vm *vm)
{
    if (!vm)
        return;
    for (unsigned i = 0; i < vm->nr_vcpus; i++)
        hv_vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    free(vm->supported_cpuid);
    if (vm->ram)
        munmap(vm->ram, vm->ram_size);
    if (vm->mem_fd >= 0)
        close(vm->mem_fd);
    if (vm->done_fd >= 0)
        close(vm->done_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    pthread_mutex_destroy(&vm->lock);
    pthread_cond_destroy(&vm->cond);
    free(vm);
}

void *hv_vm_gpa_to_host(struct hv_vm *vm, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < vm->nr_regions; i++) {
        const struct hv_mem_region *r = &vm->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
            return vm->ram + r->memfd_offset + (gpa - r->gpa);
    }
    return NULL;
}

int hv_vm_read_gpa(struct hv_vm *vm, uint64_t gpa, void *buf, size_t len)
{
    const void *src = hv_vm_gpa_to_host(vm, gpa, len);
    if (!src)
        return -1;
    memcpy(buf, src, len);
    return 0;
}

int hv_vm_write_gpa(struct hv_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
    void *dst = hv_vm_gpa_to_host(vm, gpa, len);
    if (!dst)
        return -1;
    memcpy(dst, buf, len);
    return 0;
}

int hv_vm_start(struct hv_vm *vm, struct hvk_err *err)
{
    hv_vcpu_signals_init();
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        struct hv_vcpu *v = &vm->vcpus[i];
        pthread_mutex_lock(&vm->lock);
        vm->nr_live_threads++;
        pthread_mutex_unlock(&vm->lock);
        int rc = pthread_create(&v->thread, NULL, hv_vcpu_thread, v);
        if (rc != 0) {
            pthread_mutex_lock(&vm->lock);
            vm->nr_live_threads--;
            pthread_mutex_unlock(&vm->lock);
            hv_vm_end(vm, HV_EXIT_INTERNAL);
            return hvk_err_set(err, "starting vCPU %u thread: %s", i, strerror(rc));
        }
        v->thread_started = true;
    }
    return 0;
}

static void vm_kick_all(struct hv_vm *vm)
{
    for (unsigned i = 0; i < vm->nr_vcpus; i++)
        if (vm->vcpus[i].thread_started)
            hv_vcpu_kick(&vm->vcpus[i]);
}

void hv_vm_end(struct hv_vm *vm, int status)
{
    bool first = false;
    pthread_mutex_lock(&vm->lock);
    if (!vm->stopping) {
        vm->stopping = true;
        vm->exit_status = status;
        atomic_store(&vm->attention, true);
        first = true;
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (first) {
        vm_kick_all(vm);
        uint64_t one = 1;
        if (write(vm->done_fd, &one, sizeof one) < 0) {
            /* The counter cannot overflow after one write; nothing to do. */
        }
    }
}

int hv_vm_join(struct hv_vm *vm)
{
    for (unsigned i = 0; i < vm->nr_vcpus; i++) {
        if (vm->vcpus[i].thread_started) {
            pthread_join(vm->vcpus[i].thread, NULL);
            vm->vcpus[i].thread_started = false;
        }
    }
    return vm->exit_status;
}

void hv_vm_pause(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    vm->pause_depth++;
    atomic_store(&vm->attention, true);
    pthread_mutex_unlock(&vm->lock);
    vm_kick_all(vm);
    pthread_mutex_lock(&vm->lock);
    while (vm->nr_parked < vm->nr_live_threads)
        pthread_cond_wait(&vm->cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
}

bool hv_vm_is_stopped(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool stopped = vm->stopped;
    pthread_mutex_unlock(&vm->lock);
    return stopped;
}

bool hv_vm_stop_async(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool first = !vm->stopped;
    if (first) {
        vm->stopped = true;
        vm->solo_vcpu = -1;
        vm->pause_depth++;
        atomic_store(&vm->attention, true);
    }
    pthread_mutex_unlock(&vm->lock);
    if (first)
        vm_kick_all(vm);
    return first;
}

void hv_vm_wait_parked(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    while (vm->nr_parked < vm->nr_live_threads)
        pthread_cond_wait(&vm->cond, &vm->lock);
    pthread_mutex_unlock(&vm->lock);
}

void hv_vm_continue(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->stopped) {
        vm->stopped = false;
        vm->solo_vcpu = -1;
        vm->pause_depth--;
        if (vm->pause_depth == 0 && !vm->stopping)
            atomic_store(&vm->attention, false);
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

void hv_vm_set_solo(struct hv_vm *vm, int index)
{
    pthread_mutex_lock(&vm->lock);
    vm->solo_vcpu = vm->stopped ? index : -1;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

void hv_vm_resume(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->pause_depth > 0)
        vm->pause_depth--;
    if (vm->pause_depth == 0 && !vm->stopping)
        atomic_store(&vm->attention, false);
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
}

void hv_vm_vcpu_halted(struct hv_vm *vm, struct hv_vcpu *vcpu)
{
    bool all;
    pthread_mutex_lock(&vm->lock);
    if (!vcpu->halted) {
        vcpu->halted = true;
        vm->nr_halted++;
    }
    all = vm->nr_halted == vm->nr_vcpus;
    pthread_mutex_unlock(&vm->lock);
    if (all) {
        fprintf(stderr, "hv: every vCPU halted for good (hlt with nothing to wake it); the VM ends\n");
        hv_vm_end(vm, HV_EXIT_ALL_HALTED);
    }
}
