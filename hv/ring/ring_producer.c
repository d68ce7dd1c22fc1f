/* ring_producer.c -- the lock-free, never-blocking producer side of a ring,
 * with the loss accounting (LOST records) described in hvkit/ring.h. */
#include <string.h>
#include <time.h>

#include "hvkit/ring.h"

/* The first 8 bytes of every record, PAD included. */
struct ring_pad_hdr {
    uint16_t type;
    uint16_t flags;
    uint32_t size;
};

static uint64_t ring_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool ring_type_ok(const struct ring_producer *p, uint16_t type)
{
    if (p->cmd_ring)
        return type == RING_REC_REQUEST;
    return type >= RING_REC_FAULT && type < RING_REC__END && type != RING_REC_REQUEST;
}

/* Counter value after placing an n-byte (8-aligned) record at pos, with a
 * PAD first when it would straddle the end of the data area. */
static uint64_t ring_place(const struct ring_producer *p, uint64_t pos, uint64_t n)
{
    uint64_t room = p->cap - (pos & p->mask);
    if (room < n)
        pos += room;
    return pos + n;
}

/* Place an n-byte record at *pos (writing the PAD if needed), advance *pos
 * past it and return where it starts. The caller checked the room. */
static uint8_t *ring_put(struct ring_producer *p, uint64_t *pos, uint64_t n)
{
    uint64_t off = *pos & p->mask, room = p->cap - off;
    if (room < n) {
        struct ring_pad_hdr pad = {RING_REC_PAD, 0, (uint32_t)room};
        memcpy(p->data + off, &pad, sizeof pad);
        *pos += room;
        off = 0;
    }
    *pos += n;
    return p->data + off;
}

/* True if counters up to `end` fit: end - tail <= cap. Re-reads the shared
 * tail only when the cached one is not enough; an impossible tail (written
 * by a broken consumer) is never trusted and reads as "full". */
static bool ring_has_room(struct ring_producer *p, uint64_t end)
{
    if (end - p->tail_cache <= p->cap)
        return true;
    uint64_t t = atomic_load_explicit(&p->ctrl->tail, memory_order_acquire);
    if (t > p->head || p->head - t > p->cap || (t & 7)) {
        p->bad_tail++;
        return false;
    }
    p->tail_cache = t;
    return end - t <= p->cap;
}

static void ring_count_lost(struct ring_producer *p)
{
    if (p->lost_pending == 0)
        p->lost_first = p->seq;
    p->seq++;
    p->lost_pending++;
    p->lost_total++;
    /* The informational counters share head's cache line, which the consumer
     * polls: while dropping, refresh them only at powers of two pending. */
    if (!(p->lost_pending & (p->lost_pending - 1))) {
        atomic_store_explicit(&p->ctrl->lost_total, p->lost_total, memory_order_relaxed);
        atomic_store_explicit(&p->ctrl->seq_next, p->seq, memory_order_relaxed);
    }
}

static void ring_put_lost(struct ring_producer *p, uint64_t *pos, uint64_t now)
{
    uint8_t *at = ring_put(p, pos, RING_ALIGN8(RING_LOST_REC_SIZE));
    struct ring_rec_hdr h = {RING_REC_LOST, 0, (uint32_t)RING_LOST_REC_SIZE,
                             p->lost_first, now};
    struct ring_lost l = {p->lost_pending, p->lost_first, p->lost_total};
    memcpy(at, &h, sizeof h);
    memcpy(at + sizeof h, &l, sizeof l);
    p->lost_pending = 0;
}

/* Make [head, h) visible, then honour a pending wakeup request (ring.h 6). */
static void ring_publish(struct ring_producer *p, uint64_t h)
{
    p->head = h;
    atomic_store_explicit(&p->ctrl->lost_total, p->lost_total, memory_order_relaxed);
    atomic_store_explicit(&p->ctrl->seq_next, p->seq, memory_order_relaxed);
    atomic_store_explicit(&p->ctrl->head, h, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&p->ctrl->waiting, memory_order_relaxed))
        return;
    int fd = atomic_load_explicit(&p->doorbell_fd, memory_order_relaxed);
    if (fd >= 0 && atomic_exchange_explicit(&p->ctrl->waiting, 0, memory_order_relaxed)) {
        ring_doorbell_kick(fd, NULL);
        p->kicks++;
    }
}

int ring_producer_init(struct ring_producer *p, const struct ring_region *r,
                       uint32_t ring, unsigned flags, int doorbell_fd,
                       struct hvk_err *err)
{
    if (ring >= r->nr_rings)
        return hvk_err_set(err, "ring producer: no ring %u (region has %u)", ring, r->nr_rings);
    const struct ring_desc *d = &r->desc[ring];
    memset(p, 0, sizeof *p);
    p->ctrl = (struct ring_ctrl *)(r->base + d->ctrl_offset);
    p->data = r->base + d->data_offset;
    p->cap = d->data_size;
    p->mask = d->data_size - 1;
    p->max_rec = ring_max_record(d->data_size);
    p->flags = flags;
    p->cmd_ring = d->kind == RING_KIND_CMD;
    atomic_init(&p->doorbell_fd, doorbell_fd);
    /* Resume where a previous producer (e.g. an hvd before a restart) left
     * the ring; its counters are validated like the consumer's would be. */
    uint64_t h = atomic_load_explicit(&p->ctrl->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&p->ctrl->tail, memory_order_acquire);
    if ((h & 7) || (t & 7) || t > h || h - t > p->cap)
        return hvk_err_set(err, "ring producer: ring %u has head %llu tail %llu, cannot resume",
                           ring, (unsigned long long)h, (unsigned long long)t);
    p->head = h;
    p->tail_cache = t;
    p->seq = atomic_load_explicit(&p->ctrl->seq_next, memory_order_relaxed);
    p->lost_total = atomic_load_explicit(&p->ctrl->lost_total, memory_order_relaxed);
    return 0;
}

void ring_producer_set_doorbell(struct ring_producer *p, int fd)
{
    atomic_store_explicit(&p->doorbell_fd, fd, memory_order_relaxed);
}

int ring_reserve(struct ring_producer *p, uint16_t type, uint16_t flags,
                 uint32_t payload_len, void **payload, struct hvk_err *err)
{
    bool noloss = p->flags & RING_PROD_NOLOSS;
    if (p->resv_open)
        return hvk_err_set(err, "ring_reserve: a reservation is already open");
    if (!ring_type_ok(p, type))
        return hvk_err_set(err, "ring_reserve: record type %u not allowed on this ring", type);
    uint64_t size = sizeof(struct ring_rec_hdr) + (uint64_t)payload_len;
    if (size > p->max_rec) {
        if (!noloss)
            ring_count_lost(p);   /* attempted, so it takes a number */
        return hvk_err_set(err, "ring_reserve: %llu-byte record exceeds the ring's max of %llu",
                           (unsigned long long)size, (unsigned long long)p->max_rec);
    }
    bool lost = !noloss && p->lost_pending > 0;
    uint64_t end = p->head, lost_end = 0;
    if (lost)
        end = lost_end = ring_place(p, end, RING_ALIGN8(RING_LOST_REC_SIZE));
    end = ring_place(p, end, RING_ALIGN8(size));
    if (!ring_has_room(p, end)) {
        if (noloss)
            return RING_FULL;
        ring_count_lost(p);
        return RING_DROPPED;
    }
    uint64_t now = ring_now_ns(), pos = p->head;
    if (lost)
        ring_put_lost(p, &pos, now);
    uint8_t *at = ring_put(p, &pos, RING_ALIGN8(size));
    struct ring_rec_hdr h = {type, flags, (uint32_t)size, p->seq, now};
    memcpy(at, &h, sizeof h);
    if (RING_ALIGN8(size) != size)   /* no stale bytes in the alignment gap */
        memset(at + size, 0, RING_ALIGN8(size) - size);
    p->resv_seq = p->seq++;
    p->resv_head = pos;
    p->resv_lost_end = lost_end;
    p->resv_open = true;
    *payload = at + sizeof h;
    return RING_OK;
}

void ring_commit(struct ring_producer *p)
{
    if (!p->resv_open)
        return;
    p->resv_open = false;
    p->written++;
    ring_publish(p, p->resv_head);
}

void ring_abort(struct ring_producer *p)
{
    if (!p->resv_open)
        return;
    p->resv_open = false;
    p->seq = p->resv_seq;     /* nothing numbered since the reservation */
    if (p->flags & RING_PROD_NOLOSS)
        return;
    if (p->resv_lost_end)     /* the LOST record already accounts for others */
        ring_publish(p, p->resv_lost_end);
    ring_count_lost(p);
}

int ring_write(struct ring_producer *p, uint16_t type, uint16_t flags,
               const void *payload, uint32_t len, struct hvk_err *err)
{
    void *at;
    int rc = ring_reserve(p, type, flags, len, &at, err);
    if (rc != RING_OK)
        return rc;
    if (len)
        memcpy(at, payload, len);
    ring_commit(p);
    return RING_OK;
}

int ring_flush(struct ring_producer *p)
{
    if (p->lost_pending == 0)
        return 0;
    if (p->resv_open)
        return RING_DROPPED;
    uint64_t end = ring_place(p, p->head, RING_ALIGN8(RING_LOST_REC_SIZE));
    if (!ring_has_room(p, end))
        return RING_DROPPED;
    uint64_t pos = p->head;
    ring_put_lost(p, &pos, ring_now_ns());
    ring_publish(p, pos);
    return 0;
}
