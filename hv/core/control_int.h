/* control_int.h -- what the control service's handler files share: the
 * request being served, the answer a handler returns, argument parsers and
 * the snapshot helper (control.c). Not for use outside hv/core/control*.c. */
#ifndef HV_CONTROL_INT_H
#define HV_CONTROL_INT_H

#include <jansson.h>
#include <stdint.h>

#include "control.h"
#include "inspect.h"

struct control_req {
    struct ring_req req;
    json_t *args;
};

/* Result of one handler: status + JSON (return value, or {"desc"}). */
struct control_answer {
    int32_t status;
    json_t *value;
};

static struct control_answer answer_error(int32_t status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct control_answer answer_error(int32_t status, const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    return (struct control_answer){ status, json_pack("{s:s}", "desc", desc) };
}

static struct control_answer answer_ok(json_t *value)
{
    if (!value)
        return answer_error(RING_ST_INTERNAL, "out of memory building the reply");
    return (struct control_answer){ RING_ST_OK, value };
}

struct control_answer answer_error(int32_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* value == NULL (allocation failed) becomes an INTERNAL error. */
struct control_answer answer_ok(json_t *value);
/* "0x..." hex string argument. -1: bad or (required and) absent, why
 * filled; 0: absent; 1: set. */
int arg_hex(json_t *args, const char *key, bool required, uint64_t *out, char *why, size_t whylen);
/* -1: bad (why filled); 0: absent (*out untouched); 1: set. */
int arg_uint(json_t *args, const char *key, uint64_t max, uint64_t *out, char *why, size_t whylen);
/* The vCPU the request names, or NULL with why filled. */
struct hv_vcpu *arg_vcpu(struct hv_control *c, struct control_req *r, char *why, size_t whylen);
/* Pause the VM and snapshot one vCPU (facts may be NULL). The caller
 * resumes the VM with hv_vm_resume() whatever this returns. */
int control_snapshot(struct hv_control *c, struct hv_vcpu *vcpu, struct hv_snapshot *s,
                     struct x86_cpu_facts *facts, struct hvk_err *err);

/* control_stack.c */
struct control_answer control_stack(struct hv_control *c, struct control_req *r);
/* control_debug.c */
struct control_answer control_breakpoint(struct hv_control *c, struct control_req *r, bool set);
struct control_answer control_step(struct hv_control *c, struct control_req *r);
struct control_answer control_write_mem(struct hv_control *c, struct control_req *r);
struct control_answer control_set_regs(struct hv_control *c, struct control_req *r);
/* control_trace.c */
struct control_answer control_trace(struct hv_control *c, struct control_req *r);

#endif
