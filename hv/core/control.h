/* control.h -- hv's control service: answers hvd's requests from the command
 * ring (walk, maps, stack, regs, memory, pause/resume, vCPU states) on the
 * control ring. Runs on hv's main thread, the control ring's only producer. */
#ifndef HV_CONTROL_H
#define HV_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <hvkit/ring.h>

struct hv_machine;

struct hv_control {
    struct hv_machine *m;
    struct ring_consumer *cmd;      /* requests from hvd */
    struct ring_producer *ctl;      /* replies to hvd */
};

/* Serve every request waiting in the command ring. Returns -1 only when the
 * command ring is broken (hvd wrote garbage); err says why. */
int hv_control_serve(struct hv_control *c, struct hvk_err *err);

#endif
