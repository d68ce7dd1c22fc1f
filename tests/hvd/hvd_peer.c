/* hvd_peer.c -- a TEST PEER that plays hv's side of registration with hvd
 * (proto.h section 1), to drive the cases the real hv never produces: wrong
 * descriptor counts, malformed hellos, an unsealed memfd, a ring that turns
 * corrupt, and an event flood for the benchmark. It is not hv.
 *
 *   hvd_peer --rundir DIR --name NAME [--vcpus N] MODE
 *   MODE: ok        register, print hvd's answer, stay until stdin closes
 *         fds=N     attach N descriptors instead of HVK_HELLO_NR_FDS
 *         hello=T   send T as the hello text (correct descriptors)
 *         unsealed  the ring memfd lacks its seals
 *         ringsize  the hello's ring_size disagrees with the memfd
 *         corrupt   register; on a stdin line, break vCPU ring 0's head and
 *                   ring the doorbell; print "dropped" when hvd hangs up
 *         flood=S   register, then write event records into every vCPU
 *                   ring for S seconds as hv's vCPUs would (never
 *                   blocking), registering again if hvd restarts; print
 *                   {"written","dropped","seconds","reattached"} JSON
 * hvd's answer is printed on stdout as one line. Exit 0 when the peer did
 * what it was asked, whatever hvd answered (the test judges the answer). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hvkit/proto.h>
#include <hvkit/ring.h>
#include <hvkit/rundir.h>

static int die(const char *what)
{
    fprintf(stderr, "hvd_peer: %s\n", what);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Connect, send the hello with its descriptors, read hvd's answer into
 * answer ("(closed)" if none). Returns the socket, or -1 if hvd is absent. */
static int peer_register(const char *rundir, const char *hello, const char *mode, int ring_fd,
                         int bell_hvd, int bell_hv, int ram, char *answer, size_t anslen)
{
    struct hvk_err err = {{0}};
    char path[108];
    if (hvk_rundir_socket(rundir, HVK_REG_SOCKET_NAME, path, sizeof path, &err) < 0)
        die(err.msg);
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    int fds[16] = {ring_fd, bell_hvd, bell_hv, ram};
    int nfds = HVK_HELLO_NR_FDS;
    if (!strncmp(mode, "fds=", 4)) {
        nfds = atoi(mode + 4);
        if (nfds < 0 || nfds > 16)
            die("fds=0..16");
        for (int i = HVK_HELLO_NR_FDS; i < nfds; i++)
            fds[i] = ram;   /* extras: any descriptor will do */
    }
    union {
        char b[CMSG_SPACE(sizeof fds)];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {(void *)hello, strlen(hello)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        mh.msg_control = cbuf.b;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0) {
        close(s);
        return -1;
    }
    ssize_t n = recv(s, answer, anslen - 1, 0);
    if (n < 0) {
        close(s);
        return -1;
    }
    answer[n] = '\0';
    if (n == 0)
        snprintf(answer, anslen, "(closed)");
    return s;
}

int main(int argc, char **argv)
{
    const char *rundir = NULL, *name = "peer", *mode = NULL;
    unsigned vcpus = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rundir") && i + 1 < argc)
            rundir = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
            vcpus = (unsigned)atoi(argv[++i]);
        else
            mode = argv[i];
    }
    if (!mode || vcpus < 1 || vcpus > 8)
        die("usage: hvd_peer --rundir DIR --name NAME [--vcpus 1..8] MODE");

    struct hvk_err err = {{0}};
    struct ring_layout l = {vcpus, 1u << 20, 1u << 16, 1u << 16};
    size_t size;
    if (ring_layout_size(&l, &size, &err) < 0)
        die(err.msg);
    int ring_fd;
    if (!strcmp(mode, "unsealed")) {
        ring_fd = memfd_create("peer-ring", MFD_CLOEXEC);
        if (ring_fd < 0 || ftruncate(ring_fd, (off_t)size) < 0)
            die("memfd");
    } else if ((ring_fd = ring_memfd_create("peer-ring", size, &err)) < 0) {
        die(err.msg);
    }
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
    static struct ring_region region;
    if (base == MAP_FAILED || ring_region_init(base, size, &l, &region, &err) < 0)
        die("ring region");
    int bell_hvd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int bell_hv = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int ram = memfd_create("peer-ram", MFD_CLOEXEC);
    if (bell_hvd < 0 || bell_hv < 0 || ram < 0 || ftruncate(ram, 1 << 22) < 0)
        die("eventfd/memfd");

    char hello[HVK_HELLO_MAX];
    if (!strncmp(mode, "hello=", 6)) {
        snprintf(hello, sizeof hello, "%s", mode + 6);
    } else {
        snprintf(hello, sizeof hello,
                 "{\"hello\":{\"proto\":%d,\"name\":\"%s\",\"uuid\":\"00000000-0000-4000-8000-%012x\","
                 "\"pid\":%d,\"vcpus\":%u,\"kernel\":\"(test peer)\",\"memory\":[{\"gpa\":\"0x0\","
                 "\"size\":\"0x400000\",\"offset\":\"0x0\"}],\"ring_size\":%zu,\"allow_write\":false}}",
                 HVK_PROTO_VERSION, name, (unsigned)getpid(), (int)getpid(), vcpus,
                 size + (strcmp(mode, "ringsize") ? 0 : 4096));
    }

    char answer[1024];
    int s = peer_register(rundir, hello, mode, ring_fd, bell_hvd, bell_hv, ram, answer, sizeof answer);
    if (s < 0)
        die("cannot register with hvd");
    printf("%s\n", answer);
    fflush(stdout);
    if (!strstr(answer, "\"welcome\""))
        return 0;

    if (!strcmp(mode, "corrupt")) {
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            return 0;
        /* A head that is not 8-aligned: the consumer must refuse it. */
        struct ring_ctrl *ctrl = (struct ring_ctrl *)((uint8_t *)base + region.desc[0].ctrl_offset);
        atomic_store(&ctrl->head, 3);
        ring_doorbell_kick(bell_hvd, &err);
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 5000) == 1 && recv(s, answer, sizeof answer, 0) == 0)
            printf("dropped\n");
        else
            printf("still attached\n");
        return 0;
    }
    if (!strncmp(mode, "flood=", 6)) {
        double secs = atof(mode + 6);
        static struct ring_producer prod[8];
        for (unsigned v = 0; v < vcpus; v++)
            if (ring_producer_init(&prod[v], &region, v, 0, bell_hvd, &err) < 0)
                die(err.msg);
        uint64_t written = 0, dropped = 0;
        char payload[64] = "fault";
        double t0 = now_s(), t1 = t0;
        /* One writer thread for all rings: the bench measures hvd's side. */
        unsigned reattached = 0;
        double retry_at = 0;
        while ((t1 = now_s()) - t0 < secs) {
            /* Like hv: notice hvd's end (EOF) and register again, the same
             * memfd, while the vCPUs go on writing (records dropped and
             * counted meanwhile). */
            struct pollfd pf = {s, POLLIN, 0};
            if (s >= 0 && poll(&pf, 1, 0) == 1 && recv(s, answer, sizeof answer, MSG_DONTWAIT) <= 0) {
                close(s);
                s = -1;
            }
            if (s < 0 && t1 >= retry_at) {
                s = peer_register(rundir, hello, mode, ring_fd, bell_hvd, bell_hv, ram, answer,
                                  sizeof answer);
                if (s >= 0 && !strstr(answer, "\"welcome\""))
                    die(answer);
                if (s >= 0)
                    reattached++;
                retry_at = t1 + 0.01;
            }
            for (int k = 0; k < 4096; k++) {
                unsigned v = (unsigned)k % vcpus;
                int r = ring_write(&prod[v], RING_REC_FAULT, 0, payload, sizeof payload, &err);
                if (r == RING_OK)
                    written++;
                else
                    dropped++;
            }
        }
        /* Report pending losses: hvd drains, so the LOST records fit soon. */
        for (unsigned v = 0; v < vcpus; v++)
            for (int tries = 0; ring_flush(&prod[v]) != 0 && tries < 1000; tries++)
                usleep(1000);
        printf("{\"written\":%llu,\"dropped\":%llu,\"seconds\":%.3f,\"reattached\":%u}\n",
               (unsigned long long)written, (unsigned long long)dropped, t1 - t0, reattached);
        fflush(stdout);
    }
    /* Stay registered until stdin closes. */
    char buf[64];
    while (fgets(buf, sizeof buf, stdin))
        ;
    return 0;
}
