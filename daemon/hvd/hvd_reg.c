/* hvd_reg.c -- the registration socket: accept hv's connection, receive its
 * hello with exactly HVK_HELLO_NR_FDS descriptors, answer welcome or error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvd.h"
#include "hvd_gdb.h"

#define HVD_HELLOS_MAX 64   /* connections waiting for their hello */

static void hvd_reg_answer(int sock, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!s)
        return;
    /* One small datagram on a fresh socket: it fits the send buffer, and a
     * peer that cannot take it is dropped anyway. */
    if (send(sock, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        hvd_log("registration: cannot answer: %s", strerror(errno));
    free(s);
}

static void hvd_reg_unlink(struct hvd *d, struct hvd_vm *vm)
{
    for (struct hvd_vm **pp = &d->hellos; *pp; pp = &(*pp)->next)
        if (*pp == vm) {
            *pp = vm->next;
            vm->next = NULL;
            return;
        }
}

static void hvd_reg_refuse(struct hvd *d, struct hvd_vm *vm, const char *cls, const char *desc)
{
    hvd_log("registration #%u refused: %s", vm->serial, desc);
    hvd_reg_answer(vm->sock, json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc));
    hvd_watch_del(d, vm->sock);
    hvd_reg_unlink(d, vm);
    hvd_vm_bury(d, vm);
}

void hvd_reg_accept(struct hvd *d)
{
    for (;;) {
        int fd = accept4(d->reg_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                hvd_sock_shed(d->reg_fd);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                hvd_log("registration: accept: %s", strerror(errno));
            return;
        }
        unsigned n = 0;
        for (struct hvd_vm *v = d->hellos; v; v = v->next)
            n++;
        struct hvd_vm *vm = n < HVD_HELLOS_MAX ? calloc(1, sizeof *vm) : NULL;
        if (!vm) {
            hvd_log("registration: too many connections without a hello; closing one");
            close(fd);
            continue;
        }
        vm->sock = fd;
        vm->fd_ring = vm->fd_bell_hvd = vm->fd_bell_hv = vm->fd_ram = -1;
        vm->serial = ++d->serial;
        vm->state = HVD_VM_HELLO;
        vm->accepted_ns = hvd_now_ns();
        vm->w_sock = (struct hvd_watch){HVD_W_VM_SOCK, vm};
        vm->w_bell = (struct hvd_watch){HVD_W_VM_BELL, vm};
        if (hvd_watch_add(d, fd, EPOLLIN | EPOLLRDHUP, &vm->w_sock) < 0) {
            hvd_vm_bury(d, vm);
            continue;
        }
        vm->next = d->hellos;
        d->hellos = vm;
        hvd_log("registration #%u: connected", vm->serial);
    }
}

void hvd_reg_expire(struct hvd *d, uint64_t now)
{
    struct hvd_vm *vm = d->hellos;
    while (vm) {
        struct hvd_vm *next = vm->next;
        if (now - vm->accepted_ns > HVD_HELLO_TIMEOUT_NS)
            hvd_reg_refuse(d, vm, "InvalidRequest", "no hello within 5 s");
        vm = next;
    }
}

/* Receive the hello and its descriptors. Returns the text length, 0 when
 * nothing arrived yet, -1 on failure (err set; fds closed). */
static ssize_t hvd_reg_recv(struct hvd_vm *vm, char *buf, size_t size, int fds[HVK_HELLO_NR_FDS],
                            bool *eof, struct hvk_err *err)
{
    /* Room for more descriptors than expected, so extras are received (and
     * closed) rather than silently dropped by the kernel. */
    union {
        char b[CMSG_SPACE(sizeof(int) * (HVK_HELLO_NR_FDS + 16))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {buf, size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                        .msg_controllen = sizeof cbuf.b};
    ssize_t n = recvmsg(vm->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        return hvk_err_set(err, "recvmsg: %s", strerror(errno));
    }
    int got = 0;
    bool other = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            other = true;
            continue;
        }
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *p = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, p + i, sizeof fd);
            if (got < HVK_HELLO_NR_FDS)
                fds[got] = fd;
            else
                close(fd);
            got++;
        }
    }
    if (n == 0 && got == 0) {
        *eof = true;
        return hvk_err_set(err, "closed before the hello");
    }
    int keep = got < HVK_HELLO_NR_FDS ? got : HVK_HELLO_NR_FDS;
    const char *why = NULL;
    if (mh.msg_flags & MSG_TRUNC)
        why = "hello larger than HVK_HELLO_MAX";
    else if (mh.msg_flags & MSG_CTRUNC)
        why = "control data truncated";
    else if (other)
        why = "unexpected control message";
    else if (got != HVK_HELLO_NR_FDS)
        why = "wrong number of descriptors";
    if (why) {
        for (int i = 0; i < keep; i++)
            close(fds[i]);
        return hvk_err_set(err, "%s (%d descriptors, %d expected)", why, got, HVK_HELLO_NR_FDS);
    }
    return n;
}

static int hvd_reg_check_fds(const int fds[HVK_HELLO_NR_FDS], struct hvk_err *err)
{
    struct stat st;
    for (int i = HVK_FD_BELL_HVD; i <= HVK_FD_BELL_HV; i++) {
        /* An eventfd is an anonymous inode; accept nothing that is a
         * regular file, directory, socket or device. */
        if (fstat(fds[i], &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
            S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
            return hvk_err_set(err, "descriptor %d is not an eventfd", i);
    }
    if (fstat(fds[HVK_FD_RAM], &st) < 0 || !S_ISREG(st.st_mode))
        return hvk_err_set(err, "the RAM descriptor is not a memfd");
    return 0;
}

void hvd_reg_on_hello(struct hvd *d, struct hvd_vm *vm)
{
    struct hvk_err err = {{0}};
    char buf[HVK_HELLO_MAX + 1];
    int fds[HVK_HELLO_NR_FDS];
    bool eof = false;
    ssize_t n = hvd_reg_recv(vm, buf, sizeof buf, fds, &eof, &err);
    if (n == 0)
        return;
    if (n < 0) {
        if (eof) {
            hvd_log("registration #%u: %s", vm->serial, err.msg);
            hvd_watch_del(d, vm->sock);
            hvd_reg_unlink(d, vm);
            hvd_vm_bury(d, vm);
            return;
        }
        hvd_reg_refuse(d, vm, "InvalidRequest", err.msg);
        return;
    }
    vm->fd_ring = fds[HVK_FD_RING];
    vm->fd_bell_hvd = fds[HVK_FD_BELL_HVD];
    vm->fd_bell_hv = fds[HVK_FD_BELL_HV];
    vm->fd_ram = fds[HVK_FD_RAM];
    uint64_t ring_size = 0;
    if (hvd_reg_check_fds(fds, &err) < 0 || hvd_hello_parse(buf, (size_t)n, vm, &ring_size, &err) < 0) {
        hvd_reg_refuse(d, vm, "InvalidRequest", err.msg);
        return;
    }
    struct hvd_vm *old = hvd_vm_find(d, vm->name);
    if (old && old->state != HVD_VM_GONE) {
        char desc[160];
        snprintf(desc, sizeof desc, "a VM named '%s' is already registered (pid %lld)", old->name,
                 old->pid);
        hvd_reg_refuse(d, vm, "InvalidRequest", desc);
        return;
    }
    if (hvd_vm_attach(d, vm, ring_size, &err) < 0) {
        hvd_reg_refuse(d, vm, "InvalidRequest", err.msg);
        return;
    }
    /* Registered: a gone VM of that name is forgotten, the new one listed. */
    if (old) {
        for (struct hvd_vm **pp = &d->vms; *pp; pp = &(*pp)->next)
            if (*pp == old) {
                *pp = old->next;
                break;
            }
        hvd_vm_bury(d, old);
    }
    hvd_reg_unlink(d, vm);
    vm->next = d->vms;
    d->vms = vm;
    vm->state = HVD_VM_RUNNING;
    hvd_gdb_vm_up(d, vm);
    hvd_reg_answer(vm->sock, json_pack("{s:{s:i}}", "welcome", "proto", HVK_PROTO_VERSION));
    hvd_log("vm '%s' registered: pid %lld, %u vCPUs, %llu MiB, ring %zu bytes", vm->name, vm->pid,
            vm->vcpus, (unsigned long long)(vm->memory >> 20), vm->size);
    /* Records may already be waiting (hv ran before hvd, or hvd restarted). */
    hvd_vm_drain(d, vm);
}
