/* hvd_translate.c -- `translate`: one WALK per address over the command ring,
 * at most HVD_TRANSLATE_WINDOW in flight, answers assembled by index into
 * [{"gva", "mapped", "gpa"?, "reason", "why"}] in the order asked. */
#include <string.h>

#include "hvd.h"

static json_t *hvd_tr_hex(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return json_string(b);
}

void hvd_translate_pump(struct hvd *d, struct hvd_slot *s)
{
    struct hvk_err err = {{0}};
    if (s->naddrs == 0) {
        json_t *r = s->results;
        s->results = NULL;
        hvd_slot_return(d, s, r);
        return;
    }
    char access[2] = {s->access, 0};
    while (!s->failed && s->client && s->next_send < s->naddrs &&
           s->outstanding < HVD_TRANSLATE_WINDOW) {
        json_t *a = json_pack("{s:i,s:o,s:s,s:b}", "vcpu", (int)s->vcpu, "gva",
                              hvd_tr_hex(s->addrs[s->next_send]), "access", access, "user", s->user);
        int rc = a ? hvd_req_send(d, s->vm, s, RING_CMD_WALK, s->vcpu, a, (uint32_t)s->next_send, &err)
                   : hvk_err_set(&err, "out of memory");
        json_decref(a);
        if (rc == 1 && s->outstanding)
            return;   /* ring full: the next reply makes room and pumps again */
        if (rc != 0) {
            s->failed = true;
            if (rc == 1)
                hvd_slot_error(d, s, "Busy", "VM '%s': command ring full, retry later", s->vm->name);
            else
                hvd_slot_error(d, s, "InternalError", "%s", err.msg);
            return;
        }
        s->next_send++;
    }
}

void hvd_translate_result(struct hvd *d, struct hvd_slot *s, uint32_t index, int32_t status,
                          json_t *walk, const char *desc)
{
    (void)status;
    (void)desc;
    if (!s->client) {   /* the client left: stop sending, free when idle */
        json_decref(walk);
        hvd_slot_settle(d, s);
        return;
    }
    json_t *mapped = json_object_get(walk, "mapped");
    json_t *gpa = json_object_get(walk, "gpa");
    json_t *reason = json_object_get(walk, "reason");
    json_t *why = json_object_get(walk, "why");
    uint64_t g;
    if (index >= s->naddrs || !json_is_boolean(mapped) || !json_is_string(reason) ||
        !(json_is_string(why) || json_is_null(why)) ||
        !(json_is_null(gpa) || hvd_parse_hex(json_string_value(gpa), &g))) {
        json_decref(walk);
        s->failed = true;
        hvd_slot_error(d, s, "InternalError", "hv sent a malformed walk for address %u", index);
        return;
    }
    json_t *o = json_pack("{s:o,s:O,s:O,s:O}", "gva", hvd_tr_hex(s->addrs[index]), "mapped", mapped,
                          "reason", reason, "why", why ? why : json_null());
    if (o && json_is_string(gpa))
        json_object_set(o, "gpa", gpa);
    json_decref(walk);
    if (!o || json_array_set_new(s->results, index, o) < 0) {
        s->failed = true;
        hvd_slot_error(d, s, "InternalError", "out of memory");
        return;
    }
    if (++s->done == s->naddrs) {
        json_t *r = s->results;
        s->results = NULL;
        hvd_slot_return(d, s, r);
        return;
    }
    hvd_translate_pump(d, s);
}
