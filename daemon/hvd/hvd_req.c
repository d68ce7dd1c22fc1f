/* hvd_req.c -- ring requests in flight: ids, the id -> request table, the
 * deadline FIFO (every request gets the same timeout, so send order is
 * deadline order), and routing hv's REPLY records back to their slots. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hvd.h"

int hvd_req_init(struct hvd *d)
{
    d->hsize = 1024;
    d->htab = calloc(d->hsize, sizeof *d->htab);
    /* Ids start from the wall clock so a restarted hvd does not take a late
     * reply meant for its predecessor for one of its own. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    d->next_id = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec;
    return d->htab ? 0 : -1;
}

static size_t hvd_req_hash(const struct hvd *d, uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (size_t)(id & (d->hsize - 1));
}

static void hvd_req_grow(struct hvd *d)
{
    size_t nsize = d->hsize * 2;
    struct hvd_req **n = calloc(nsize, sizeof *n);
    if (!n)
        return;   /* longer chains, still correct */
    struct hvd_req **old = d->htab;
    size_t osize = d->hsize;
    d->htab = n;
    d->hsize = nsize;
    for (size_t i = 0; i < osize; i++)
        for (struct hvd_req *r = old[i], *next; r; r = next) {
            next = r->hnext;
            size_t h = hvd_req_hash(d, r->id);
            r->hnext = n[h];
            n[h] = r;
        }
    free(old);
}

/* Take r out of the table and the FIFO; the caller frees it. */
static void hvd_req_unlink(struct hvd *d, struct hvd_req *r)
{
    for (struct hvd_req **pp = &d->htab[hvd_req_hash(d, r->id)]; *pp; pp = &(*pp)->hnext)
        if (*pp == r) {
            *pp = r->hnext;
            break;
        }
    d->hcount--;
    if (r->prev)
        r->prev->next = r->next;
    else
        d->fifo_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        d->fifo_tail = r->prev;
    r->vm->inflight--;
    if (r->slot)
        r->slot->outstanding--;
}

static struct hvd_req *hvd_req_post(struct hvd *d, struct hvd_vm *vm, struct hvd_slot *slot,
                                    uint32_t cmd, uint32_t vcpu, json_t *args, uint32_t index,
                                    int *rc_out, struct hvk_err *err);

int hvd_req_send(struct hvd *d, struct hvd_vm *vm, struct hvd_slot *slot, uint32_t cmd,
                 uint32_t vcpu, json_t *args, uint32_t index, struct hvk_err *err)
{
    int rc;
    hvd_req_post(d, vm, slot, cmd, vcpu, args, index, &rc, err);
    return rc;
}

int hvd_req_send_cb(struct hvd *d, struct hvd_vm *vm, uint32_t cmd, uint32_t vcpu, json_t *args,
                    void (*cb)(struct hvd *, void *, uint64_t, int32_t, json_t *, const char *,
                               const char *),
                    void *ctx, uint64_t tag, struct hvk_err *err)
{
    int rc;
    struct hvd_req *r = hvd_req_post(d, vm, NULL, cmd, vcpu, args, 0, &rc, err);
    if (r) {
        r->cb = cb;
        r->ctx = ctx;
        r->tag = tag;
    }
    return rc;
}

static struct hvd_req *hvd_req_post(struct hvd *d, struct hvd_vm *vm, struct hvd_slot *slot,
                                    uint32_t cmd, uint32_t vcpu, json_t *args, uint32_t index,
                                    int *rc_out, struct hvk_err *err)
{
    *rc_out = -1;
    char *text = json_dumps(args, JSON_COMPACT);
    if (!text) {
        hvk_err_set(err, "out of memory");
        return NULL;
    }
    size_t len = strlen(text);
    struct hvd_req *r = calloc(1, sizeof *r);
    if (!r || len > HVK_CMD_ARGS_MAX) {
        free(text);
        hvk_err_set(err, r ? "arguments too large" : "out of memory");
        free(r);
        return NULL;
    }
    uint64_t id = d->next_id++;
    /* Taken before the request is published: hv may act on it (and a vCPU
     * stop after it) before ring_cmd_send returns, and the RESUME-vs-STOP
     * ordering in hvd_req_on_reply relies on sent time <= anything it caused. */
    uint64_t sent_ns = hvd_now_ns();
    int rc = ring_cmd_send(&vm->prod, id, cmd, vcpu, text, (uint32_t)len, err);
    free(text);
    if (rc != RING_OK) {
        free(r);
        *rc_out = rc == RING_FULL ? 1 : -1;
        return NULL;
    }
    /* ring_commit rang hv's doorbell if its control service asked for it. */
    r->id = id;
    r->vm = vm;
    r->slot = slot;
    r->cmd = cmd;
    r->index = index;
    r->deadline_ns = sent_ns + HVD_TIMEOUT_NS;
    size_t h = hvd_req_hash(d, id);
    r->hnext = d->htab[h];
    d->htab[h] = r;
    r->prev = d->fifo_tail;
    if (d->fifo_tail)
        d->fifo_tail->next = r;
    else
        d->fifo_head = r;
    d->fifo_tail = r;
    vm->inflight++;
    if (slot)
        slot->outstanding++;
    if (++d->hcount > d->hsize)
        hvd_req_grow(d);
    *rc_out = 0;
    return r;
}

static const char *hvd_req_class(int32_t st)
{
    switch (st) {
    case RING_ST_INVAL: return "InvalidArgument";
    case RING_ST_NOVCPU: return "VCPUNotFound";
    case RING_ST_FAULT: return "AddressFault";
    case RING_ST_BUSY: return "Busy";
    case RING_ST_TOOBIG: return "TooLarge";
    default: return "InternalError";
    }
}

/* The top-level JSON type a command's OK reply must have. */
static bool hvd_req_shape_ok(uint32_t cmd, const json_t *v)
{
    return cmd == RING_CMD_VCPUS ? json_is_array(v) : json_is_object(v);
}

/* Deliver one answer to the request's slot. value (stolen) on success. */
static void hvd_req_finish(struct hvd *d, struct hvd_req *r, int32_t st, json_t *value,
                           const char *cls, const char *desc)
{
    struct hvd_slot *s = r->slot;
    uint32_t index = r->index;
    void (*cb)(struct hvd *, void *, uint64_t, int32_t, json_t *, const char *, const char *) = r->cb;
    void *ctx = r->ctx;
    uint64_t tag = r->tag;
    hvd_req_unlink(d, r);
    free(r);
    if (!s) {   /* hvd's own request (hvd_req_send_cb) */
        cb(d, ctx, tag, st, value, cls, desc);
        return;
    }
    if (s->addrs) {   /* translate: one address of many */
        if (s->failed) {
            json_decref(value);
            hvd_slot_settle(d, s);
        } else if (cls) {
            s->failed = true;   /* the first error answers; no more sends */
            hvd_slot_error(d, s, cls, "%s", desc);
        } else {
            hvd_translate_result(d, s, index, st, value, desc);
        }
        return;
    }
    if (cls)
        hvd_slot_error(d, s, cls, "%s", desc);
    else
        hvd_slot_return(d, s, value);
}

void hvd_req_on_reply(struct hvd *d, struct hvd_vm *vm, const struct ring_rec_hdr *hdr,
                      const void *payload)
{
    struct hvk_err err = {{0}};
    struct ring_reply rep;
    const void *data;
    uint32_t dlen;
    if (ring_reply_parse(hdr, payload, &rep, &data, &dlen, &err) < 0) {
        hvd_log("vm '%s': bad REPLY: %s", vm->name, err.msg);
        vm->unmatched++;
        return;
    }
    struct hvd_req *r = d->htab[hvd_req_hash(d, rep.req_id)];
    while (r && !(r->id == rep.req_id && r->vm == vm))
        r = r->hnext;
    if (!r) {
        vm->unmatched++;   /* late (timed out) or meant for a previous hvd */
        return;
    }
    if (rep.cmd != r->cmd) {
        hvd_req_finish(d, r, RING_ST_INTERNAL, NULL, "InternalError",
                       "hv answered with another command's reply");
        return;
    }
    json_t *v = NULL;
    if (hvd_json_depth(data, dlen, HVD_DEPTH_MAX) <= HVD_DEPTH_MAX)
        v = json_loadb(data, dlen, JSON_DECODE_ANY, NULL);
    if (!v) {
        hvd_req_finish(d, r, RING_ST_INTERNAL, NULL, "InternalError", "hv sent a reply that is not JSON");
        return;
    }
    if (rep.status != RING_ST_OK) {
        char desc[HVD_DESC_MAX];
        const char *s = json_string_value(json_object_get(v, "desc"));
        if (s)
            hvd_one_line(desc, sizeof desc, s, strlen(s));
        else
            snprintf(desc, sizeof desc, "hv: %s", ring_status_name(rep.status));
        json_decref(v);
        hvd_req_finish(d, r, rep.status, NULL, hvd_req_class(rep.status), desc);
        return;
    }
    if (!hvd_req_shape_ok(rep.cmd, v)) {
        json_decref(v);
        hvd_req_finish(d, r, RING_ST_INTERNAL, NULL, "InternalError",
                       "hv sent a reply of the wrong JSON type");
        return;
    }
    /* hv reports user pauses only by answering them: track the state here.
     * A debugger stop recorded after this RESUME was sent (same monotonic
     * clock: hv's records, hvd's send time) is newer news than its answer,
     * whichever ring hvd happened to read first. hv writes the answer after
     * the vCPUs already run, so the answer's own time cannot order them. */
    uint64_t sent_ns = r->deadline_ns - HVD_TIMEOUT_NS;
    if (rep.cmd == RING_CMD_PAUSE)
        vm->state = HVD_VM_PAUSED;
    else if (rep.cmd == RING_CMD_RESUME && vm->last_stop_ns < sent_ns)
        vm->state = HVD_VM_RUNNING;
    hvd_req_finish(d, r, RING_ST_OK, v, NULL, NULL);
}

void hvd_req_fail_vm(struct hvd *d, struct hvd_vm *vm, const char *why)
{
    char desc[HVD_DESC_MAX];
    snprintf(desc, sizeof desc, "VM '%s' is gone: %s", vm->name, why);
    struct hvd_req *r = d->fifo_head;
    while (r) {
        struct hvd_req *next = r->next;
        if (r->vm == vm) {
            /* finishing may free later requests of the same translate:
             * restart from the head, the list only shrinks */
            hvd_req_finish(d, r, RING_ST_INTERNAL, NULL, "VMGone", desc);
            next = d->fifo_head;
        }
        r = next;
    }
}

int hvd_req_expire(struct hvd *d, uint64_t now)
{
    while (d->fifo_head && d->fifo_head->deadline_ns <= now) {
        struct hvd_req *r = d->fifo_head;
        char desc[160];
        snprintf(desc, sizeof desc, "VM '%s' did not answer within %llu s", r->vm->name,
                 HVD_TIMEOUT_NS / 1000000000ull);
        hvd_req_finish(d, r, RING_ST_INTERNAL, NULL, "Timeout", desc);
    }
    if (!d->fifo_head)
        return -1;
    uint64_t ms = (d->fifo_head->deadline_ns - now + 999999) / 1000000;
    return ms > 1000 ? 1000 : (int)ms;
}

void hvd_req_fini(struct hvd *d)
{
    while (d->fifo_head) {
        struct hvd_req *r = d->fifo_head;
        hvd_req_unlink(d, r);
        free(r);
    }
    free(d->htab);
    d->htab = NULL;
}
