/* hvd_loop.c -- the single epoll loop: listening sockets, clients, each VM's
 * registration socket and doorbell, signals, and the request deadlines. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_gdb.h"

int hvd_watch_add(struct hvd *d, int fd, uint32_t events, struct hvd_watch *w)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        hvd_log("epoll add fd %d: %s", fd, strerror(errno));
        return -1;
    }
    return 0;
}

int hvd_watch_mod(struct hvd *d, int fd, uint32_t events, struct hvd_watch *w)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void hvd_watch_del(struct hvd *d, int fd)
{
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int hvd_init(struct hvd *d, const char *api_path, const char *reg_path, struct hvk_err *err)
{
    memset(d, 0, sizeof *d);
    d->api_fd = d->reg_fd = d->sig_fd = -1;
    snprintf(d->api_path, sizeof d->api_path, "%s", api_path);
    snprintf(d->reg_path, sizeof d->reg_path, "%s", reg_path);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epfd < 0 || hvd_req_init(d) < 0)
        return hvk_err_set(err, "epoll_create1: %s", strerror(errno));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sig_fd < 0)
        return hvk_err_set(err, "signalfd: %s", strerror(errno));
    /* The API socket first: if another hvd owns it, nothing else is touched. */
    d->api_fd = hvd_sock_listen(api_path, SOCK_STREAM, err);
    if (d->api_fd < 0)
        return -1;
    d->reg_fd = hvd_sock_listen(reg_path, SOCK_SEQPACKET, err);
    if (d->reg_fd < 0) {
        unlink(d->api_path);
        close(d->api_fd);
        d->api_fd = -1;
        return -1;
    }
    hvd_sock_reserve_init();
    d->w_api = (struct hvd_watch){HVD_W_API_LISTEN, NULL};
    d->w_reg = (struct hvd_watch){HVD_W_REG_LISTEN, NULL};
    d->w_sig = (struct hvd_watch){HVD_W_SIGNAL, NULL};
    if (hvd_watch_add(d, d->api_fd, EPOLLIN, &d->w_api) < 0 ||
        hvd_watch_add(d, d->reg_fd, EPOLLIN, &d->w_reg) < 0 ||
        hvd_watch_add(d, d->sig_fd, EPOLLIN, &d->w_sig) < 0)
        return hvk_err_set(err, "epoll_ctl failed");
    return 0;
}

static void hvd_on_signal(struct hvd *d)
{
    struct signalfd_siginfo si;
    while (read(d->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        hvd_log("signal %u: shutting down", si.ssi_signo);
        d->stop = true;
    }
}

static void hvd_dispatch(struct hvd *d, struct epoll_event *ev)
{
    struct hvd_watch *w = ev->data.ptr;
    switch (w->kind) {
    case HVD_W_API_LISTEN:
        hvd_client_accept(d);
        break;
    case HVD_W_REG_LISTEN:
        hvd_reg_accept(d);
        break;
    case HVD_W_SIGNAL:
        hvd_on_signal(d);
        break;
    case HVD_W_CLIENT:
        hvd_client_on_event(d, w->obj, ev->events);
        break;
    case HVD_W_VM_SOCK: {
        struct hvd_vm *vm = w->obj;
        if (vm->state == HVD_VM_HELLO)
            hvd_reg_on_hello(d, vm);
        else
            hvd_vm_on_sock(d, vm);
        break;
    }
    case HVD_W_VM_BELL:
        hvd_vm_drain(d, w->obj);
        break;
    case HVD_W_GDB:
        hvd_gdb_on_event(d, w, ev->events);
        break;
    }
}

int hvd_run(struct hvd *d)
{
    hvd_log("listening: API %s, registration %s", d->api_path, d->reg_path);
    struct epoll_event evs[64];
    while (!d->stop) {
        uint64_t now = hvd_now_ns();
        int timeout = hvd_req_expire(d, now);
        if (d->hellos && (timeout < 0 || timeout > 1000))
            timeout = 1000;
        bool again = false;
        for (struct hvd_vm *vm = d->vms; vm; vm = vm->next)
            again |= vm->again;
        if (again)
            timeout = 0;
        int n = epoll_wait(d->epfd, evs, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            hvd_log("epoll_wait: %s", strerror(errno));
            return -1;
        }
        /* Events of one batch may refer to objects an earlier event of the
         * same batch freed (a client closed by a flush, a VM dropped): such
         * objects are only ever freed here, between batches, or checked by
         * serial, see hvd_client_alive. */
        for (int i = 0; i < n; i++) {
            struct hvd_watch *w = evs[i].data.ptr;
            if (w->kind == HVD_W_CLIENT) {
                unsigned serial = 0;
                for (struct hvd_client *c = d->clients; c; c = c->next)
                    if (&c->w == w) {
                        serial = c->serial;
                        break;
                    }
                if (!serial)
                    continue;
            }
            hvd_dispatch(d, &evs[i]);
        }
        if (again)
            for (struct hvd_vm *vm = d->vms; vm; vm = vm->next)
                if (vm->again)
                    hvd_vm_drain(d, vm);
        hvd_reg_expire(d, hvd_now_ns());
        while (d->graveyard) {
            struct hvd_vm *vm = d->graveyard;
            d->graveyard = vm->next;
            hvd_vm_free(vm);
        }
    }
    return 0;
}

void hvd_fini(struct hvd *d)
{
    while (d->clients)
        hvd_client_close(d, d->clients, "hvd is stopping");
    while (d->vms) {
        struct hvd_vm *vm = d->vms;
        d->vms = vm->next;
        hvd_vm_free(vm);
    }
    while (d->graveyard) {
        struct hvd_vm *vm = d->graveyard;
        d->graveyard = vm->next;
        hvd_vm_free(vm);
    }
    while (d->hellos) {
        struct hvd_vm *vm = d->hellos;
        d->hellos = vm->next;
        hvd_vm_free(vm);
    }
    hvd_req_fini(d);
    if (d->api_fd >= 0) {
        unlink(d->api_path);
        close(d->api_fd);
    }
    if (d->reg_fd >= 0) {
        unlink(d->reg_path);
        close(d->reg_fd);
    }
    if (d->sig_fd >= 0)
        close(d->sig_fd);
    if (d->epfd >= 0)
        close(d->epfd);
}
