/* ring_cmd.c -- request/reply records of the command protocol (hvd asks on
 * the command ring, hv answers on the control ring), and names for logs. */
#include <string.h>

#include "hvkit/ring.h"

/* Reserve header + body as one record and copy both in. */
static int ring_send2(struct ring_producer *p, uint16_t type, const void *head,
                      uint32_t head_len, const void *body, uint32_t body_len,
                      struct hvk_err *err)
{
    if (body_len > UINT32_MAX - head_len)
        return hvk_err_set(err, "ring: %u-byte body too large", body_len);
    void *at;
    int rc = ring_reserve(p, type, 0, head_len + body_len, &at, err);
    if (rc != RING_OK)
        return rc;
    memcpy(at, head, head_len);
    if (body_len)
        memcpy((uint8_t *)at + head_len, body, body_len);
    ring_commit(p);
    return RING_OK;
}

int ring_cmd_send(struct ring_producer *p, uint64_t req_id, uint32_t cmd,
                  uint32_t vcpu, const void *args, uint32_t args_len,
                  struct hvk_err *err)
{
    if (cmd == 0 || cmd >= RING_CMD__END)
        return hvk_err_set(err, "ring_cmd_send: unknown command %u", cmd);
    struct ring_req req = {req_id, cmd, vcpu};
    return ring_send2(p, RING_REC_REQUEST, &req, sizeof req, args, args_len, err);
}

int ring_reply_send(struct ring_producer *p, uint64_t req_id, uint32_t cmd,
                    int32_t status, const void *data, uint32_t data_len,
                    struct hvk_err *err)
{
    if (status < 0 || status >= RING_ST__END)
        return hvk_err_set(err, "ring_reply_send: unknown status %d", status);
    struct ring_reply rep = {req_id, cmd, status};
    return ring_send2(p, RING_REC_REPLY, &rep, sizeof rep, data, data_len, err);
}

int ring_cmd_parse(const struct ring_rec_hdr *hdr, const void *payload,
                   struct ring_req *req, const void **args, uint32_t *args_len,
                   struct hvk_err *err)
{
    if (hdr->type != RING_REC_REQUEST)
        return hvk_err_set(err, "command: record type %s is not a request",
                           ring_rec_type_name(hdr->type));
    if (hdr->size < sizeof *hdr + sizeof *req)
        return hvk_err_set(err, "command: %u-byte record too short for a request", hdr->size);
    memcpy(req, payload, sizeof *req);
    if (req->cmd == 0 || req->cmd >= RING_CMD__END)
        return hvk_err_set(err, "command: request %llu has unknown command %u",
                           (unsigned long long)req->req_id, req->cmd);
    *args = (const uint8_t *)payload + sizeof *req;
    *args_len = hdr->size - (uint32_t)(sizeof *hdr + sizeof *req);
    return 0;
}

int ring_reply_parse(const struct ring_rec_hdr *hdr, const void *payload,
                     struct ring_reply *rep, const void **data,
                     uint32_t *data_len, struct hvk_err *err)
{
    if (hdr->type != RING_REC_REPLY)
        return hvk_err_set(err, "reply: record type %s is not a reply",
                           ring_rec_type_name(hdr->type));
    if (hdr->size < sizeof *hdr + sizeof *rep)
        return hvk_err_set(err, "reply: %u-byte record too short for a reply", hdr->size);
    memcpy(rep, payload, sizeof *rep);
    if (rep->status < 0 || rep->status >= RING_ST__END)
        return hvk_err_set(err, "reply: request %llu has unknown status %d",
                           (unsigned long long)rep->req_id, rep->status);
    *data = (const uint8_t *)payload + sizeof *rep;
    *data_len = hdr->size - (uint32_t)(sizeof *hdr + sizeof *rep);
    return 0;
}

const char *ring_rec_type_name(uint16_t type)
{
    static const char *const names[RING_REC__END] = {
        [RING_REC_PAD] = "PAD", [RING_REC_LOST] = "LOST", [RING_REC_FAULT] = "FAULT",
        [RING_REC_WALK] = "WALK", [RING_REC_STACK] = "STACK", [RING_REC_STOP] = "STOP",
        [RING_REC_REPLY] = "REPLY", [RING_REC_CONSOLE] = "CONSOLE",
        [RING_REC_LIFECYCLE] = "LIFECYCLE", [RING_REC_REQUEST] = "REQUEST",
    };
    return type < RING_REC__END && names[type] ? names[type] : "UNKNOWN";
}

const char *ring_status_name(int32_t status)
{
    static const char *const names[RING_ST__END] = {
        [RING_ST_OK] = "ok", [RING_ST_INVAL] = "invalid", [RING_ST_NOVCPU] = "no-such-vcpu",
        [RING_ST_FAULT] = "fault", [RING_ST_BUSY] = "busy", [RING_ST_UNSUPP] = "unsupported",
        [RING_ST_TOOBIG] = "too-big", [RING_ST_INTERNAL] = "internal",
    };
    return status >= 0 && status < RING_ST__END ? names[status] : "unknown";
}
