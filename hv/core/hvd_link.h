/* hvd_link.h -- hv's link to hvd: the shared ring region, the doorbells,
 * registration over hvd's socket (proto.h) and reconnection with backoff.
 * hvd absent is normal: the guest runs on, the rings fill (and count what
 * they drop), and hv keeps trying. Driven by hv's main loop through poll. */
#ifndef HV_HVD_LINK_H
#define HV_HVD_LINK_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <hvkit/ring.h>

#include "control.h"

struct hv_machine;

/* Console bytes a vCPU wrote since its last CONSOLE record. */
struct hv_link_console {
    uint32_t len;
    uint8_t buf[256];
};

struct hv_link_config {
    const char *rundir;        /* --rundir, or NULL for the default */
    const char *kernel;        /* shown to hvd: a path or "(bundled)" */
    bool quiet;                /* no log lines about hvd coming and going */
    uint64_t vcpu_ring_size;   /* data bytes per vCPU event ring; 0 = default */
};

enum hv_link_state {
    HV_LINK_DISCONNECTED,      /* waiting for the next attempt */
    HV_LINK_HELLO_SENT,        /* waiting for welcome */
    HV_LINK_ATTACHED,
};

struct hv_link {
    struct hv_machine *m;
    char reg_path[108];
    char kernel[256];
    char uuid[37];
    bool quiet;

    int ring_fd;
    void *ring_base;
    size_t ring_size;
    struct ring_region region;
    int bell_hvd, bell_hv;               /* eventfds, kept across reconnects */
    struct ring_producer ctl;            /* main thread only */
    struct ring_producer *vcpu_prod;     /* [i]: vCPU i's thread only */
    struct hv_link_console *console;     /* [i]: vCPU i's pending console line */
    struct ring_consumer cmd;
    struct hv_control control;

    enum hv_link_state state;
    int sock;
    unsigned backoff_ms;
    uint64_t next_attempt_ms;            /* CLOCK_MONOTONIC */
    bool said_absent;
};

int hv_link_init(struct hv_link *l, struct hv_machine *m, const struct hv_link_config *cfg, struct hvk_err *err);
void hv_link_destroy(struct hv_link *l);
/* Fill pfd with the link's fds; returns how many (at most 2). */
int hv_link_pollfds(struct hv_link *l, struct pollfd *pfd);
/* Milliseconds until the link wants to run again (-1: no deadline). */
int hv_link_timeout(struct hv_link *l);
/* Handle readiness of the fds hv_link_pollfds returned (pfd may be NULL
 * after a timeout): connect, read the welcome, notice EOF, serve requests. */
void hv_link_run(struct hv_link *l, const struct pollfd *pfd, int n);

#endif
