/* fuzz_hvd_api.c -- libFuzzer harness for hvd's untrusted inputs in one
 * process: client request lines (depth scan, JSON, argument checks,
 * forwarding onto a real command ring) and hv's REPLY records answering
 * them (status, JSON data, translate assembly, request order).
 * Input: lines; a line starting with 'R' answers the oldest request in
 * flight: byte 1 is the status, byte 2 selects "same command" or a wrong
 * one, the rest is the reply data. Other lines are requests. Every run
 * registers a fresh VM (real sealed memfd ring, hvd_vm_attach) and ends by
 * dropping it, so every slot gets answered and freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hvd.h"

static struct hvd d;

static void fuzz_setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    d.epfd = epoll_create1(EPOLL_CLOEXEC);
    d.api_fd = d.reg_fd = d.sig_fd = -1;
    if (d.epfd < 0 || hvd_req_init(&d) < 0)
        abort();
}

static struct hvd_vm *fuzz_vm(void)
{
    struct hvk_err err = {{0}};
    struct ring_layout l = {2, 4096, 1 << 16, 4096};
    size_t size;
    struct hvd_vm *vm = calloc(1, sizeof *vm);
    if (!vm || ring_layout_size(&l, &size, &err) < 0)
        abort();
    vm->sock = -1;
    vm->fd_ram = -1;
    vm->fd_ring = ring_memfd_create("fuzz-ring", size, &err);
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd_ring, 0);
    if (vm->fd_ring < 0 || base == MAP_FAILED || ring_region_init(base, size, &l, NULL, &err) < 0)
        abort();
    munmap(base, size);
    vm->fd_bell_hvd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    vm->fd_bell_hv = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    vm->w_sock = (struct hvd_watch){HVD_W_VM_SOCK, vm};
    vm->w_bell = (struct hvd_watch){HVD_W_VM_BELL, vm};
    snprintf(vm->name, sizeof vm->name, "g1");
    snprintf(vm->uuid, sizeof vm->uuid, "00000000-0000-0000-0000-000000000000");
    vm->vcpus = 2;
    vm->pid = 1;
    vm->kernel = strdup("k");
    if (hvd_vm_attach(&d, vm, size, &err) < 0)
        abort();
    vm->state = HVD_VM_RUNNING;
    vm->next = d.vms;
    d.vms = vm;
    return vm;
}

static void fuzz_reply(struct hvd_vm *vm, const uint8_t *p, size_t n)
{
    struct hvd_req *r = d.fifo_head;
    if (!r || n < 2)
        return;
    static uint8_t buf[sizeof(struct ring_reply) + 70000];
    if (n - 2 > 70000)
        n = 70000 + 2;
    struct ring_reply rep = {r->id, p[1] & 1 ? r->cmd : RING_CMD_STEP, (int32_t)(p[0] % RING_ST__END)};
    memcpy(buf, &rep, sizeof rep);
    memcpy(buf + sizeof rep, p + 2, n - 2);
    struct ring_rec_hdr h = {RING_REC_REPLY, 0, (uint32_t)(sizeof h + sizeof rep + n - 2), 0, 0};
    hvd_req_on_reply(&d, vm, &h, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    struct hvd_vm *vm = fuzz_vm();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    struct hvd_client *c = hvd_client_adopt(&d, sv[0]);
    unsigned serial = c ? c->serial : 0;
    const uint8_t *p = data, *end = data + size;
    char sink[65536];
    while (p < end && c && hvd_client_alive(&d, serial)) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len && p[0] == 'R')
            fuzz_reply(vm, p + 1, len - 1);
        else if (hvd_buf_append(&c->in, p, len) == 0 && hvd_buf_append(&c->in, "\n", 1) == 0)
            hvd_client_process(&d, c);
        while (read(sv[1], sink, sizeof sink) > 0)
            ;
        p += len + 1;
    }
    if (hvd_client_alive(&d, serial))
        hvd_client_close(&d, c, "fuzz input done");
    close(sv[1]);
    hvd_vm_drop(&d, vm, "fuzz run over");
    while (d.vms) {
        struct hvd_vm *v = d.vms;
        d.vms = v->next;
        hvd_vm_free(v);
    }
    while (d.graveyard) {
        struct hvd_vm *v = d.graveyard;
        d.graveyard = v->next;
        hvd_vm_free(v);
    }
    if (d.fifo_head || d.hcount)
        abort();   /* a request outlived its VM */
    return 0;
}
