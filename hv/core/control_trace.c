/* control_trace.c -- the TRACE_CONFIG request: change fault tracing (any
 * argument given) and answer with the state it is in now, including what
 * is armed where, what is pending and why, and the per-vCPU counters. */
#include <string.h>

#include <hvkit/hvjson.h>

#include "control_int.h"
#include "machine.h"
#include "trace.h"
#include "vcpu.h"

static json_t *trace_state_json(struct hv_trace *t)
{
    json_t *vecs = json_array(), *cpus = json_array();
    for (unsigned v = 0; v < 32; v++) {
        const struct hv_trace_vector *tv = &t->vec[v];
        if (!tv->wanted)
            continue;
        json_t *o = json_pack("{s:s, s:i, s:b}", "vector", hvk_vector_name(v), "number", v, "armed", tv->armed);
        if (tv->armed) {
            json_object_set_new(o, "handler", hvjson_hex(tv->handler));
            json_object_set_new(o, "debug_register", json_integer(tv->slot));
        }
        json_array_append_new(vecs, o);
    }
    for (unsigned i = 0; i < t->vm->nr_vcpus; i++) {
        /* Read without the vCPU's cooperation: the VM is paused around this. */
        const struct hv_trace_counters *c = &t->counters[i];
        json_array_append_new(cpus, json_pack("{s:i, s:I, s:I, s:I, s:I}", "vcpu", i, "hits", (json_int_t)c->hits,
                                              "recorded", (json_int_t)c->recorded, "dropped",
                                              (json_int_t)c->dropped, "sampled_out", (json_int_t)c->sampled_out));
    }
    json_t *j = json_pack("{s:o, s:b, s:i, s:i, s:o}", "vectors", vecs, "stage2", t->cfg.stage2, "stack_depth",
                          t->cfg.stack_depth, "sample", t->cfg.sample, "vcpus", cpus);
    if (t->arm_error[0])
        json_object_set_new(j, "pending", json_string(t->arm_error));
    return j;
}

/* "vectors": ["pf", "gp"] or "pf,gp" or [14, 13]. */
static int trace_vectors_arg(json_t *v, uint32_t *mask, char *why, size_t whylen)
{
    struct hvk_err err = { "", 0 };
    if (json_is_string(v)) {
        if (hv_trace_parse_vectors(json_string_value(v), mask, &err) < 0) {
            snprintf(why, whylen, "%s", err.msg);
            return -1;
        }
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > 32) {
        snprintf(why, whylen, "'vectors' must be a list of vector names or numbers");
        return -1;
    }
    *mask = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        uint32_t one;
        if (json_is_integer(e) && json_integer_value(e) >= 0 && json_integer_value(e) < 32)
            one = 1u << json_integer_value(e);
        else if (!json_is_string(e) || hv_trace_parse_vectors(json_string_value(e), &one, &err) < 0) {
            snprintf(why, whylen, "'vectors'[%zu]: %s", i, err.msg[0] ? err.msg : "not a vector name or number");
            return -1;
        }
        *mask |= one;
    }
    return 0;
}

struct control_answer control_trace(struct hv_control *c, struct control_req *r)
{
    struct hv_trace *t = c->m->vm->trace;
    char why[256] = "";
    if (!t)
        return answer_error(RING_ST_UNSUPP, "fault tracing is not available in this hv");
    struct hv_trace_config cfg = t->cfg;
    json_t *v;
    uint64_t n;
    bool changed = false;
    if ((v = json_object_get(r->args, "vectors"))) {
        if (trace_vectors_arg(v, &cfg.vectors, why, sizeof why) < 0)
            return answer_error(RING_ST_INVAL, "%s", why);
        changed = true;
    }
    if ((v = json_object_get(r->args, "stage2"))) {
        if (!json_is_boolean(v))
            return answer_error(RING_ST_INVAL, "'stage2' must be true or false");
        cfg.stage2 = json_is_true(v);
        changed = true;
    }
    int got = arg_uint(r->args, "stack_depth", HVK_FAULT_MAX_FRAMES, &n, why, sizeof why);
    if (got < 0)
        return answer_error(RING_ST_INVAL, "%s", why);
    if (got > 0) {
        cfg.stack_depth = (unsigned)n;
        changed = true;
    }
    got = arg_uint(r->args, "sample", 1000000, &n, why, sizeof why);
    if (got < 0 || (got > 0 && n == 0))
        return answer_error(RING_ST_INVAL, "%s", why[0] ? why : "'sample' is 1 in N, N from 1 to 1000000");
    if (got > 0) {
        cfg.sample = (unsigned)n;
        changed = true;
    }
    if (json_is_false(json_object_get(r->args, "enabled"))) {
        cfg.vectors = 0;
        cfg.stage2 = false;
        changed = true;
    }
    struct hvk_err err = { "", 0 };
    if (changed && hv_trace_configure(t, &cfg, &err) < 0)
        return answer_error(RING_ST_INVAL, "%s", err.msg);
    hv_vm_pause(c->m->vm);
    json_t *j = trace_state_json(t);
    hv_vm_resume(c->m->vm);
    return answer_ok(j);
}
