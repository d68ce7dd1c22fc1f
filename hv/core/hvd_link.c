/* hvd_link.c -- registration with hvd and reconnection (proto.h section 1),
 * and the doorbell that wakes the control service. */
#include "hvd_link.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hvkit/hvjson.h>
#include <hvkit/proto.h>
#include <hvkit/rundir.h>

#include "machine.h"
#include "vcpu.h"

#define LINK_VCPU_RING_SIZE (256u << 10)
#define LINK_CTL_RING_SIZE  (4u << 20)   /* replies up to 1 MiB (a quarter) */
#define LINK_CMD_RING_SIZE  (512u << 10) /* requests up to 128 KiB: args are <= 64 KiB */
#define LINK_BACKOFF_MIN_MS 50u
#define LINK_BACKOFF_MAX_MS 400u         /* hv re-attaches within a second of hvd's return */
#define LINK_REFUSED_MS     1000u        /* hvd said no (e.g. the name is taken) */

static uint64_t link_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void link_log(struct hv_link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void link_log(struct hv_link *l, const char *fmt, ...)
{
    if (l->quiet)
        return;
    va_list ap;
    fprintf(stderr, "hv: %s: ", l->m->vm->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void link_make_uuid(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = link_now_ms() ^ ((uint64_t)getpid() << 32);
        for (unsigned i = 0; i < 16; i++)
            b[i] = (uint8_t)(t >> ((i % 8) * 8)) ^ (uint8_t)(i * 37);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Console bytes become CONSOLE records on the writing vCPU's own ring, a
 * line (or HVK_CONSOLE_CHUNK bytes) at a time. Runs on that vCPU's thread,
 * the ring's only producer; a full ring drops the record and counts it. */
static void link_console_sink(void *ctx, struct hv_vcpu *vcpu, const uint8_t *bytes, size_t len)
{
    struct hv_link *l = ctx;
    if (!vcpu || vcpu->index >= l->m->vm->nr_vcpus)
        return;
    struct hv_link_console *c = &l->console[vcpu->index];
    for (size_t i = 0; i < len; i++) {
        c->buf[c->len++] = bytes[i];
        if (bytes[i] == '\n' || c->len == sizeof c->buf || c->len == HVK_CONSOLE_CHUNK) {
            ring_write(&l->vcpu_prod[vcpu->index], RING_REC_CONSOLE, 0, c->buf, c->len, NULL);
            c->len = 0;
        }
    }
}

int hv_link_init(struct hv_link *l, struct hv_machine *m, const struct hv_link_config *cfg, struct hvk_err *err)
{
    memset(l, 0, sizeof *l);
    l->m = m;
    l->ring_fd = l->bell_hvd = l->bell_hv = l->sock = -1;
    l->quiet = cfg->quiet;
    snprintf(l->kernel, sizeof l->kernel, "%s", cfg->kernel ? cfg->kernel : "(bundled)");
    link_make_uuid(l->uuid);
    if (hvk_rundir_socket(cfg->rundir, HVK_REG_SOCKET_NAME, l->reg_path, sizeof l->reg_path, err) < 0)
        return -1;

    struct ring_layout lay = {
        .nr_vcpus = m->vm->nr_vcpus, .vcpu_ring_size = cfg->vcpu_ring_size ? cfg->vcpu_ring_size : LINK_VCPU_RING_SIZE,
        .ctl_ring_size = LINK_CTL_RING_SIZE, .cmd_ring_size = LINK_CMD_RING_SIZE,
    };
    if (ring_layout_size(&lay, &l->ring_size, err) < 0)
        return -1;
    l->ring_fd = ring_memfd_create("hv-ring", l->ring_size, err);
    if (l->ring_fd < 0)
        return -1;
    l->ring_base = mmap(NULL, l->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, l->ring_fd, 0);
    if (l->ring_base == MAP_FAILED) {
        l->ring_base = NULL;
        return hvk_err_set(err, "mapping the ring region: %s", strerror(errno));
    }
    if (ring_region_init(l->ring_base, l->ring_size, &lay, &l->region, err) < 0)
        return -1;
    l->bell_hvd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->bell_hv = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->bell_hvd < 0 || l->bell_hv < 0)
        return hvk_err_set(err, "eventfd: %s", strerror(errno));
    if (ring_producer_init(&l->ctl, &l->region, ring_idx_ctl(&l->region), 0, l->bell_hvd, err) < 0 ||
        ring_consumer_init(&l->cmd, &l->region, ring_idx_cmd(&l->region), err) < 0)
        return -1;
    if (ring_consumer_arm(&l->cmd, err) < 0)
        return -1;
    l->vcpu_prod = calloc(m->vm->nr_vcpus, sizeof *l->vcpu_prod);
    l->console = calloc(m->vm->nr_vcpus, sizeof *l->console);
    if (!l->vcpu_prod || !l->console)
        return hvk_err_set(err, "out of memory");
    for (unsigned i = 0; i < m->vm->nr_vcpus; i++)
        if (ring_producer_init(&l->vcpu_prod[i], &l->region, ring_idx_vcpu(i), 0, l->bell_hvd, err) < 0)
            return -1;
    hv_serial_set_sink(&m->uart, link_console_sink, l);
    l->control = (struct hv_control){ .m = m, .cmd = &l->cmd, .ctl = &l->ctl };
    l->state = HV_LINK_DISCONNECTED;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    l->next_attempt_ms = link_now_ms();
    return 0;
}

void hv_link_destroy(struct hv_link *l)
{
    if (l->m)
        hv_serial_set_sink(&l->m->uart, NULL, NULL);
    free(l->vcpu_prod);
    free(l->console);
    l->vcpu_prod = NULL;
    l->console = NULL;
    if (l->sock >= 0)
        close(l->sock);
    if (l->ring_base)
        munmap(l->ring_base, l->ring_size);
    if (l->ring_fd >= 0)
        close(l->ring_fd);
    if (l->bell_hvd >= 0)
        close(l->bell_hvd);
    if (l->bell_hv >= 0)
        close(l->bell_hv);
    l->sock = l->ring_fd = l->bell_hvd = l->bell_hv = -1;
    l->ring_base = NULL;
}

static char *link_hello_json(struct hv_link *l)
{
    struct hv_vm *vm = l->m->vm;
    json_t *mem = json_array();
    for (unsigned i = 0; i < vm->nr_regions; i++)
        json_array_append_new(mem, json_pack("{s:o, s:o, s:o}", "gpa", hvjson_hex(vm->regions[i].gpa), "size",
                                             hvjson_hex(vm->regions[i].size), "offset",
                                             hvjson_hex(vm->regions[i].memfd_offset)));
    json_t *hello = json_pack("{s:{s:i, s:s, s:s, s:i, s:i, s:s, s:o, s:I, s:b}}", "hello", "proto",
                              HVK_PROTO_VERSION, "name", vm->name, "uuid", l->uuid, "pid", (int)getpid(), "vcpus",
                              (int)vm->nr_vcpus, "kernel", l->kernel, "memory", mem, "ring_size",
                              (json_int_t)l->ring_size, "allow_write", vm->allow_write);
    char *text = hello ? json_dumps(hello, JSON_COMPACT) : NULL;
    json_decref(hello);
    return text;
}

static void link_disconnect(struct hv_link *l, unsigned retry_ms)
{
    if (l->sock >= 0)
        close(l->sock);
    l->sock = -1;
    l->state = HV_LINK_DISCONNECTED;
    l->next_attempt_ms = link_now_ms() + retry_ms;
}

static void link_try_connect(struct hv_link *l)
{
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", l->reg_path);
    if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        if (s >= 0)
            close(s);
        if (!l->said_absent) {
            link_log(l, "hvd is not listening at %s (%s); the guest runs on, and hv keeps trying", l->reg_path,
                     strerror(e));
            l->said_absent = true;
        }
        l->next_attempt_ms = link_now_ms() + l->backoff_ms;
        l->backoff_ms = l->backoff_ms * 2 > LINK_BACKOFF_MAX_MS ? LINK_BACKOFF_MAX_MS : l->backoff_ms * 2;
        return;
    }
    char *hello = link_hello_json(l);
    int fds[HVK_HELLO_NR_FDS] = {
        [HVK_FD_RING] = l->ring_fd, [HVK_FD_BELL_HVD] = l->bell_hvd,
        [HVK_FD_BELL_HV] = l->bell_hv, [HVK_FD_RAM] = l->m->vm->mem_fd,
    };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof fds)];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { .iov_base = hello, .iov_len = hello ? strlen(hello) : 0 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    ssize_t n = hello ? sendmsg(s, &msg, MSG_NOSIGNAL) : -1;
    free(hello);
    if (n < 0) {
        link_log(l, "sending the hello to hvd failed: %s", strerror(errno));
        close(s);
        l->next_attempt_ms = link_now_ms() + l->backoff_ms;
        return;
    }
    l->sock = s;
    l->state = HV_LINK_HELLO_SENT;
}

static void link_read_socket(struct hv_link *l)
{
    char buf[4096];
    ssize_t n = recv(l->sock, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        link_log(l, "hvd went away; reconnecting");
        l->said_absent = false;
        l->backoff_ms = LINK_BACKOFF_MIN_MS;
        link_disconnect(l, LINK_BACKOFF_MIN_MS);
        return;
    }
    buf[n] = '\0';
    if (l->state != HV_LINK_HELLO_SENT)
        return; /* nothing else is defined on this socket; ignore */
    json_error_t jerr;
    json_t *msg = json_loadb(buf, (size_t)n, 0, &jerr);
    json_t *err = json_object_get(msg, "error");
    if (json_is_object(json_object_get(msg, "welcome"))) {
        l->state = HV_LINK_ATTACHED;
        l->said_absent = false;
        l->backoff_ms = LINK_BACKOFF_MIN_MS;
        link_log(l, "attached to hvd (%s)", l->reg_path);
    } else {
        const char *desc = json_string_value(json_object_get(err, "desc"));
        link_log(l, "hvd refused the registration: %s", desc ? desc : "unreadable answer");
        link_disconnect(l, LINK_REFUSED_MS);
    }
    json_decref(msg);
}

static void link_serve(struct hv_link *l)
{
    struct hvk_err err = { "", 0 };
    ring_doorbell_drain(l->bell_hv, NULL);
    /* Serve, then ask for a wakeup; arm() says whether more came meanwhile. */
    for (unsigned round = 0; round < 64; round++) {
        if (hv_control_serve(&l->control, &err) < 0) {
            link_log(l, "the command ring is broken (%s); ignoring further requests", err.msg);
            return;
        }
        int armed = ring_consumer_arm(&l->cmd, &err);
        if (armed != 0)
            return;
    }
    /* Still busy after 64 rounds: come back on the next loop iteration. */
    ring_doorbell_kick(l->bell_hv, NULL);
}

int hv_link_pollfds(struct hv_link *l, struct pollfd *pfd)
{
    int n = 0;
    pfd[n++] = (struct pollfd){ .fd = l->bell_hv, .events = POLLIN };
    if (l->sock >= 0)
        pfd[n++] = (struct pollfd){ .fd = l->sock, .events = POLLIN };
    return n;
}

int hv_link_timeout(struct hv_link *l)
{
    if (l->state != HV_LINK_DISCONNECTED)
        return -1;
    uint64_t now = link_now_ms();
    return l->next_attempt_ms <= now ? 0 : (int)(l->next_attempt_ms - now);
}

void hv_link_run(struct hv_link *l, const struct pollfd *pfd, int n)
{
    for (int i = 0; pfd && i < n; i++) {
        if (!pfd[i].revents)
            continue;
        if (pfd[i].fd == l->bell_hv)
            link_serve(l);
        else if (pfd[i].fd == l->sock)
            link_read_socket(l);
    }
    if (l->state == HV_LINK_DISCONNECTED && link_now_ms() >= l->next_attempt_ms)
        link_try_connect(l);
}
