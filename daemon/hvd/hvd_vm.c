/* hvd_vm.c -- a VM registered by hv: its mapped ring region, draining its
 * event and control rings, and its end (EOF = gone, corrupt ring = dropped). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_telemetry.h"
#include "hvd_gdb.h"

#define HVD_REGION_MAX (1ull << 31)   /* bytes of ring region hvd maps */

const char *hvd_vm_state_name(enum hvd_vm_state s)
{
    switch (s) {
    case HVD_VM_RUNNING: return "running";
    case HVD_VM_PAUSED: return "paused";
    case HVD_VM_GONE: return "gone";
    default: return "registering";
    }
}

struct hvd_vm *hvd_vm_find(struct hvd *d, const char *name)
{
    for (struct hvd_vm *vm = d->vms; vm; vm = vm->next)
        if (strcmp(vm->name, name) == 0)
            return vm;
    return NULL;
}

static void hvd_vm_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Release everything shared with hv; the record of the VM stays. */
static void hvd_vm_release(struct hvd *d, struct hvd_vm *vm)
{
    /* Unwatch explicitly: hv may pass one file under two descriptors, and
     * epoll forgets a file only when every descriptor of it is closed. */
    hvd_gdb_vm_down(d, vm);
    if (d && vm->sock >= 0)
        hvd_watch_del(d, vm->sock);
    if (d && vm->fd_bell_hvd >= 0)
        hvd_watch_del(d, vm->fd_bell_hvd);
    if (vm->base)
        munmap(vm->base, vm->size);
    vm->base = NULL;
    free(vm->region);
    vm->region = NULL;
    free(vm->cons);
    vm->cons = NULL;
    free(vm->first_seq);
    vm->first_seq = NULL;
    free(vm->rbuf);
    vm->rbuf = NULL;
    hvd_vm_close_fd(&vm->sock);
    hvd_vm_close_fd(&vm->fd_ring);
    hvd_vm_close_fd(&vm->fd_bell_hvd);
    hvd_vm_close_fd(&vm->fd_bell_hv);
    hvd_vm_close_fd(&vm->fd_ram);
}

void hvd_vm_free(struct hvd_vm *vm)
{
    if (!vm)
        return;
    hvd_vm_release(NULL, vm);
    hvd_telem_free(vm->telem);
    hvd_gdb_free(vm);
    free(vm->kernel);
    free(vm);
}

void hvd_vm_bury(struct hvd *d, struct hvd_vm *vm)
{
    hvd_vm_release(d, vm);
    vm->state = HVD_VM_GONE;
    vm->next = d->graveyard;
    d->graveyard = vm;
}

int hvd_vm_attach(struct hvd *d, struct hvd_vm *vm, uint64_t ring_size, struct hvk_err *err)
{
    size_t size;
    if (ring_memfd_check(vm->fd_ring, &size, err) < 0)
        return hvk_err_prefix(err, "ring memfd");
    if (size != ring_size)
        return hvk_err_set(err, "ring memfd is %zu bytes, the hello says %llu", size,
                           (unsigned long long)ring_size);
    if (size == 0 || size > HVD_REGION_MAX)
        return hvk_err_set(err, "ring region of %zu bytes is outside 1..%llu", size, HVD_REGION_MAX);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd_ring, 0);
    if (base == MAP_FAILED)
        return hvk_err_set(err, "mmap ring: %s", strerror(errno));
    vm->base = base;
    vm->size = size;
    vm->region = calloc(1, sizeof *vm->region);
    if (!vm->region)
        return hvk_err_set(err, "out of memory");
    if (ring_region_check(vm->region, base, size, err) < 0)
        return hvk_err_prefix(err, "ring region");
    if (vm->region->nr_vcpus != vm->vcpus)
        return hvk_err_set(err, "ring region has %u vCPU rings, the hello says %u vCPUs",
                           vm->region->nr_vcpus, vm->vcpus);
    uint32_t ncons = vm->vcpus + 1;
    vm->cons = calloc(ncons, sizeof *vm->cons);
    vm->first_seq = calloc(ncons, sizeof *vm->first_seq);
    if (!vm->cons || !vm->first_seq)
        return hvk_err_set(err, "out of memory");
    for (uint32_t i = 0; i < ncons; i++)
        vm->first_seq[i] = UINT64_MAX;
    size_t maxp = 0;
    for (uint32_t i = 0; i < ncons; i++) {
        if (ring_consumer_init(&vm->cons[i], vm->region, i, err) < 0)
            return hvk_err_prefix(err, "ring %u", i);
        size_t p = ring_consumer_max_payload(&vm->cons[i]);
        if (p > HVD_PAYLOAD_MAX)
            return hvk_err_set(err, "ring %u carries records of %zu bytes, hvd accepts %u", i, p,
                               HVD_PAYLOAD_MAX);
        if (p > maxp)
            maxp = p;
    }
    if (ring_producer_init(&vm->prod, vm->region, ring_idx_cmd(vm->region), RING_PROD_NOLOSS,
                           vm->fd_bell_hv, err) < 0)
        return hvk_err_prefix(err, "command ring");
    vm->rbuf = malloc(maxp + 1);
    if (!vm->rbuf)
        return hvk_err_set(err, "out of memory");
    vm->rbuf_size = maxp;
    if (hvd_watch_add(d, vm->fd_bell_hvd, EPOLLIN, &vm->w_bell) < 0)
        return hvk_err_set(err, "epoll: cannot watch the doorbell");
    return 0;
}

void hvd_vm_trim_gone(struct hvd *d)
{
    unsigned gone = 0;
    struct hvd_vm **pp = &d->vms;
    while (*pp) {
        struct hvd_vm *vm = *pp;
        /* Newest first: the ones past the cap are the oldest. */
        if (vm->state == HVD_VM_GONE && ++gone > HVD_GONE_MAX) {
            *pp = vm->next;
            hvd_vm_bury(d, vm);
            continue;
        }
        pp = &vm->next;
    }
}

void hvd_vm_drop(struct hvd *d, struct hvd_vm *vm, const char *why)
{
    if (vm->state == HVD_VM_GONE)
        return;
    hvd_log("vm '%s' gone: %s", vm->name, why);
    snprintf(vm->gone_why, sizeof vm->gone_why, "%s", why);
    vm->state = HVD_VM_GONE;
    vm->again = false;
    hvd_req_fail_vm(d, vm, why);
    hvd_vm_release(d, vm);
    /* Move it to the front of the list so the gone cap drops the oldest. */
    for (struct hvd_vm **pp = &d->vms; *pp; pp = &(*pp)->next)
        if (*pp == vm) {
            *pp = vm->next;
            break;
        }
    vm->next = d->vms;
    d->vms = vm;
    hvd_vm_trim_gone(d);
}

void hvd_vm_on_sock(struct hvd *d, struct hvd_vm *vm)
{
    char b[256];
    ssize_t n = recv(vm->sock, b, sizeof b, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
        /* Read what hv published before it went (the last FAULT records
         * included, for exact counts); bounded, hv writes no more. */
        for (int k = 0; k < 64 && vm->state != HVD_VM_GONE; k++) {
            hvd_vm_drain(d, vm);
            if (!vm->again)
                break;
        }
        if (vm->state == HVD_VM_GONE)
            return;
        hvd_vm_drop(d, vm, n == 0 ? "hv closed its registration socket" : strerror(errno));
        return;
    }
    if (n > 0)
        hvd_log("vm '%s': ignoring %zd unexpected bytes on the registration socket", vm->name, n);
}

static void hvd_vm_lifecycle(struct hvd_vm *vm, const void *p, size_t len)
{
    if (hvd_json_depth(p, len, 4) > 4)
        return;
    json_t *j = json_loadb(p, len, 0, NULL);
    const char *ev = json_string_value(json_object_get(j, "event"));
    if (ev && strcmp(ev, "paused") == 0)
        vm->state = HVD_VM_PAUSED;
    else if (ev && (strcmp(ev, "resumed") == 0 || strcmp(ev, "started") == 0))
        vm->state = HVD_VM_RUNNING;
    if (ev) {
        char e[32];
        hvd_one_line(e, sizeof e, ev, strlen(ev));
        hvd_log("vm '%s': %s", vm->name, e);
    }
    json_decref(j);
}

/* Read up to a budget of records from ring i. -1: the ring is broken. */
static int hvd_vm_drain_ring(struct hvd *d, struct hvd_vm *vm, uint32_t i)
{
    struct hvk_err err = {{0}};
    bool ctl = i == vm->vcpus;
    for (int k = 0; k < HVD_RING_BUDGET; k++) {
        struct ring_rec_hdr h;
        int r = ring_read_next(&vm->cons[i], &h, vm->rbuf, vm->rbuf_size, &err);
        if (r == 0)
            return 0;
        if (r < 0) {
            char why[400];
            snprintf(why, sizeof why, "%s ring %u is corrupt: %s", ctl ? "control" : "vCPU", i, err.msg);
            hvd_vm_drop(d, vm, why);
            return -1;
        }
        size_t len = h.size - sizeof h;
        /* Where this hvd joined the ring: with the consumer's delivered and
         * lost counts it accounts for every record since (query-vms). */
        if (vm->first_seq[i] == UINT64_MAX)
            vm->first_seq[i] = h.seq;
        switch (h.type) {
        case RING_REC_LOST: {
            struct ring_lost l;
            memcpy(&l, vm->rbuf, sizeof l);
            vm->lost += l.count;
            if (!ctl)
                hvd_telem_on_lost(d, vm, i, &l);
            break;
        }
        case RING_REC_FAULT:
            vm->events++;
            if (!ctl)
                hvd_telem_on_fault(d, vm, i, &h, vm->rbuf, len);
            break;
        case RING_REC_REPLY:
            vm->replies++;
            hvd_req_on_reply(d, vm, &h, vm->rbuf);
            if (vm->state == HVD_VM_GONE)
                return -1;
            break;
        case RING_REC_LIFECYCLE:
            hvd_vm_lifecycle(vm, vm->rbuf, len);
            break;
        case RING_REC_STOP:
            vm->events++;
            if (!ctl) {
                /* A debugger stop is hv's all-stop: the VM is paused until
                 * a later RESUME is answered (hvd_req.c). */
                if (vm->state == HVD_VM_RUNNING || vm->state == HVD_VM_PAUSED) {
                    vm->state = HVD_VM_PAUSED;
                    if (h.time_ns > vm->last_stop_ns)
                        vm->last_stop_ns = h.time_ns;
                }
                hvd_gdb_on_stop(d, vm, i, vm->rbuf, len);
            }
            break;
        case RING_REC_CONSOLE:
            vm->console_bytes += len;
            vm->events++;
            break;
        default:
            vm->events++;
            break;
        }
    }
    vm->again = true;
    return 0;
}

void hvd_vm_drain(struct hvd *d, struct hvd_vm *vm)
{
    struct hvk_err err = {{0}};
    if (vm->state == HVD_VM_GONE || vm->state == HVD_VM_HELLO)
        return;
    /* Per ring.h section 6: drain the eventfd, read a budget per ring, then
     * arm every ring; if a ring had data after arming, go round again. */
    if (ring_doorbell_drain(vm->fd_bell_hvd, &err) < 0) {
        hvd_vm_drop(d, vm, err.msg);
        return;
    }
    vm->again = false;
    for (uint32_t i = 0; i <= vm->vcpus; i++)
        if (hvd_vm_drain_ring(d, vm, i) < 0)
            return;
    if (vm->again)
        return;
    for (uint32_t i = 0; i <= vm->vcpus; i++) {
        int a = ring_consumer_arm(&vm->cons[i], &err);
        if (a < 0) {
            hvd_vm_drop(d, vm, err.msg);
            return;
        }
        if (a == 0)
            vm->again = true;
    }
}
