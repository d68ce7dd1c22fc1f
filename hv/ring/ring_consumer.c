/* ring_consumer.c -- the validating consumer side of a ring: it trusts no
 * index, size or type found in shared memory (rules in hvkit/ring.h, 7). */
#include <stdarg.h>
#include <string.h>

#include "hvkit/ring.h"

/* One load of 8 shared bytes that the compiler may not repeat or split. */
static uint64_t ring_load_word(const uint8_t *at)
{
    return *(const volatile uint64_t *)(const void *)at;
}

__attribute__((format(printf, 3, 4)))
static int ring_broke(struct ring_consumer *c, struct hvk_err *err, const char *fmt, ...)
{
    char msg[sizeof c->why - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->why, sizeof c->why, "ring %u: %s", c->ring, msg);
    c->broken = true;
    return hvk_err_set(err, "%s", c->why);
}

static bool ring_type_allowed(const struct ring_consumer *c, uint16_t type)
{
    if (type == RING_REC_PAD || type == RING_REC_LOST)
        return true;
    if (c->kind == RING_KIND_CMD)
        return type == RING_REC_REQUEST;
    return type >= RING_REC_FAULT && type < RING_REC__END && type != RING_REC_REQUEST;
}

/* Load and validate head. 1 = data at tail, 0 = empty, -1 = broken. */
static int ring_load_head(struct ring_consumer *c, struct hvk_err *err)
{
    uint64_t h = atomic_load_explicit(&c->ctrl->head, memory_order_acquire);
    if (h < c->tail)
        return ring_broke(c, err, "head %llu behind tail %llu",
                          (unsigned long long)h, (unsigned long long)c->tail);
    if (h - c->tail > c->cap)
        return ring_broke(c, err, "head %llu more than %llu bytes ahead of tail %llu",
                          (unsigned long long)h, (unsigned long long)c->cap,
                          (unsigned long long)c->tail);
    if (h & 7)
        return ring_broke(c, err, "head %llu not 8-byte aligned", (unsigned long long)h);
    c->head_cache = h;
    return h != c->tail;
}

static void ring_set_tail(struct ring_consumer *c, uint64_t t)
{
    c->tail = t;
    atomic_store_explicit(&c->ctrl->tail, t, memory_order_release);
}

/* Validated header of the record at tail, PADs consumed: 1 / 0 / -1. */
static int ring_next_hdr(struct ring_consumer *c, struct ring_rec_hdr *hdr,
                         struct hvk_err *err)
{
    if (c->broken)
        return hvk_err_set(err, "%s", c->why);
    /* Hard limit: one PAD, then a record (a PAD is never at offset 0, and
     * after a PAD the offset is 0). */
    for (int step = 0; step < 2; step++) {
        if (c->tail == c->head_cache) {
            int rc = ring_load_head(c, err);
            if (rc <= 0)
                return rc;
        }
        uint64_t avail = c->head_cache - c->tail;   /* >= 8: both 8-aligned */
        uint64_t off = c->tail & c->mask, room = c->cap - off;
        struct ring_rec_hdr h;
        uint64_t w0 = ring_load_word(c->data + off);  /* the one read */
        memcpy(&h, &w0, sizeof w0);
        if (h.type == RING_REC_PAD) {
            if (off == 0)
                return ring_broke(c, err, "PAD record at the start of the data area (tail %llu)",
                                  (unsigned long long)c->tail);
            if (h.size != room)
                return ring_broke(c, err, "PAD of %u bytes at offset %llu, %llu bytes to the end",
                                  h.size, (unsigned long long)off, (unsigned long long)room);
            if (room > avail)
                return ring_broke(c, err, "PAD at tail %llu runs past head %llu",
                                  (unsigned long long)c->tail,
                                  (unsigned long long)c->head_cache);
            ring_set_tail(c, c->tail + room);
            continue;
        }
        if (room < sizeof h)
            return ring_broke(c, err, "record header at offset %llu straddles the end of the data area",
                              (unsigned long long)off);
        if (h.size < sizeof h)
            return ring_broke(c, err, "record at tail %llu: size %u smaller than its header",
                              (unsigned long long)c->tail, h.size);
        if (h.size > c->max_rec)
            return ring_broke(c, err, "record at tail %llu: size %u above the ring's max %llu",
                              (unsigned long long)c->tail, h.size,
                              (unsigned long long)c->max_rec);
        if (RING_ALIGN8(h.size) > avail)
            return ring_broke(c, err, "record at tail %llu: size %u runs past head %llu",
                              (unsigned long long)c->tail, h.size,
                              (unsigned long long)c->head_cache);
        if (RING_ALIGN8(h.size) > room)
            return ring_broke(c, err, "record at tail %llu: size %u straddles the end of the data area",
                              (unsigned long long)c->tail, h.size);
        if (h.type == 0 || h.type >= RING_REC__END)
            return ring_broke(c, err, "record at tail %llu: unknown type %u",
                              (unsigned long long)c->tail, h.type);
        if (!ring_type_allowed(c, h.type))
            return ring_broke(c, err, "record at tail %llu: type %s not allowed on this ring",
                              (unsigned long long)c->tail, ring_rec_type_name(h.type));
        h.seq = ring_load_word(c->data + off + 8);
        h.time_ns = ring_load_word(c->data + off + 16);
        if (c->seq_known && h.seq != c->seq_next)
            return ring_broke(c, err, "record at tail %llu: seq %llu, expected %llu",
                              (unsigned long long)c->tail, (unsigned long long)h.seq,
                              (unsigned long long)c->seq_next);
        *hdr = h;
        return 1;
    }
    return ring_broke(c, err, "two PAD records in a row at tail %llu", (unsigned long long)c->tail);
}

int ring_consumer_init(struct ring_consumer *c, const struct ring_region *r,
                       uint32_t ring, struct hvk_err *err)
{
    if (ring >= r->nr_rings)
        return hvk_err_set(err, "ring consumer: no ring %u (region has %u)", ring, r->nr_rings);
    const struct ring_desc *d = &r->desc[ring];
    memset(c, 0, sizeof *c);
    c->ctrl = (struct ring_ctrl *)(r->base + d->ctrl_offset);
    c->data = r->base + d->data_offset;
    c->cap = d->data_size;
    c->mask = d->data_size - 1;
    c->max_rec = ring_max_record(d->data_size);
    c->kind = d->kind;
    c->ring = ring;
    /* Resume at the shared tail (a previous consumer's position). */
    uint64_t t = atomic_load_explicit(&c->ctrl->tail, memory_order_relaxed);
    if (t & 7)
        return ring_broke(c, err, "cannot attach: tail %llu not 8-byte aligned",
                          (unsigned long long)t);
    c->tail = t;
    c->head_cache = t;
    /* A bad head here is reported like any later one ("ring N: head ..."). */
    if (ring_load_head(c, err) < 0)
        return -1;
    return 0;
}

int ring_peek(struct ring_consumer *c, struct ring_rec_hdr *hdr, struct hvk_err *err)
{
    return ring_next_hdr(c, hdr, err);
}

int ring_read_next(struct ring_consumer *c, struct ring_rec_hdr *hdr,
                   void *buf, size_t bufsize, struct hvk_err *err)
{
    struct ring_rec_hdr h;
    int rc = ring_next_hdr(c, &h, err);
    if (rc <= 0)
        return rc;
    size_t plen = h.size - sizeof h;
    if (plen > bufsize)
        return hvk_err_set(err, "ring %u: record of %zu payload bytes, buffer holds %zu",
                           c->ring, plen, bufsize);
    /* In bounds: validated size <= room from this offset. */
    if (plen)
        memcpy(buf, c->data + (c->tail & c->mask) + sizeof h, plen);
    if (h.type == RING_REC_LOST) {
        struct ring_lost l;
        if (plen != sizeof l)
            return ring_broke(c, err, "LOST record with %zu payload bytes", plen);
        memcpy(&l, buf, sizeof l);   /* from the private copy */
        if (l.count == 0 || l.first_seq != h.seq || l.total < l.count)
            return ring_broke(c, err, "LOST record count %llu first %llu total %llu, seq %llu",
                              (unsigned long long)l.count, (unsigned long long)l.first_seq,
                              (unsigned long long)l.total, (unsigned long long)h.seq);
        c->lost += l.count;
        c->seq_next = h.seq + l.count;
    } else {
        c->delivered++;
        c->seq_next = h.seq + 1;
    }
    c->seq_known = true;
    ring_set_tail(c, c->tail + RING_ALIGN8(h.size));
    *hdr = h;
    return 1;
}

int ring_consumer_arm(struct ring_consumer *c, struct hvk_err *err)
{
    if (c->broken)
        return hvk_err_set(err, "%s", c->why);
    if (c->head_cache != c->tail)
        return 0;
    atomic_store_explicit(&c->ctrl->waiting, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    int rc = ring_load_head(c, err);
    if (rc != 0)
        atomic_store_explicit(&c->ctrl->waiting, 0, memory_order_relaxed);
    if (rc < 0)
        return -1;
    return rc == 0;
}
