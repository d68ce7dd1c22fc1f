/* fuzz_ring_consumer.c -- libFuzzer harness: the ring consumer (region check,
 * record reads, command/reply parsing) over hostile shared memory must never
 * read out of bounds and always terminate. While one ring is consumed, ASan
 * poisons every byte of the region except that ring's control block and data
 * area, so a stray read even inside the mapping is caught.
 *
 * Input byte 0 picks the mode:
 *   even: raw -- the rest of the input is the region itself (length from it);
 *   odd:  near-valid -- a real producer fills the rings, the consumer reads
 *         a few records, then (u16 offset, u8 xor) patches from the input hit
 *         the ring's control block and data, and the consumer goes on. */
#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>

#include "hvkit/ring.h"

#define FUZZ_REGION_MAX (64u * 1024u)
#define FUZZ_READ_LIMIT 100000   /* reads per ring; the consumer ends far sooner */

static void fuzz_poison_except(struct ring_region *r, uint32_t ring)
{
    const struct ring_desc *d = &r->desc[ring];
    ASAN_POISON_MEMORY_REGION(r->base, r->size);
    ASAN_UNPOISON_MEMORY_REGION(r->base + d->ctrl_offset, sizeof(struct ring_ctrl));
    ASAN_UNPOISON_MEMORY_REGION(r->base + d->data_offset, d->data_size);
}

/* Drain one ring through every consumer entry point. */
static void fuzz_consume(struct ring_consumer *c, int limit)
{
    struct hvk_err err;
    struct ring_rec_hdr h;
    size_t cap = ring_consumer_max_payload(c);
    uint8_t *buf = malloc(cap ? cap : 1);   /* exact size: ASan sees overflows */
    for (int i = 0; i < limit; i++) {
        if (i % 7 == 3 && ring_peek(c, &h, &err) <= 0)
            break;
        int rc = ring_read_next(c, &h, buf, cap, &err);
        if (rc <= 0) {
            if (rc == 0)
                ring_consumer_arm(c, &err);
            break;
        }
        if (h.size < sizeof h || h.size - sizeof h > cap)
            abort();   /* the consumer promised a validated size */
        const void *rest;
        uint32_t rest_len;
        struct ring_req req;
        struct ring_reply rep;
        if (ring_cmd_parse(&h, buf, &req, &rest, &rest_len, &err) == 0 &&
            (const uint8_t *)rest + rest_len > buf + (h.size - sizeof h))
            abort();
        if (ring_reply_parse(&h, buf, &rep, &rest, &rest_len, &err) == 0 &&
            (const uint8_t *)rest + rest_len > buf + (h.size - sizeof h))
            abort();
    }
    free(buf);
}

static void fuzz_all_rings(struct ring_region *r, int limit)
{
    struct hvk_err err;
    for (uint32_t i = 0; i < r->nr_rings; i++) {
        struct ring_consumer c;
        fuzz_poison_except(r, i);
        if (ring_consumer_init(&c, r, i, &err) == 0)
            fuzz_consume(&c, limit);
        ASAN_UNPOISON_MEMORY_REGION(r->base, r->size);
    }
}

static void fuzz_raw(const uint8_t *in, size_t n)
{
    size_t len = n > FUZZ_REGION_MAX ? FUZZ_REGION_MAX : n;
    if (len == 0)
        return;
    uint8_t *base = aligned_alloc(RING_PAGE, (len + RING_PAGE - 1) & ~(size_t)(RING_PAGE - 1));
    memcpy(base, in, len);
    struct ring_region *r = malloc(sizeof *r);
    struct hvk_err err;
    /* Only the first len bytes are the "mapping". */
    ASAN_POISON_MEMORY_REGION(base + len, ((len + RING_PAGE - 1) & ~(size_t)(RING_PAGE - 1)) - len);
    if (ring_region_check(r, base, len, &err) == 0)
        fuzz_all_rings(r, FUZZ_READ_LIMIT);
    ASAN_UNPOISON_MEMORY_REGION(base, (len + RING_PAGE - 1) & ~(size_t)(RING_PAGE - 1));
    free(r);
    free(base);
}

static void fuzz_near_valid(const uint8_t *in, size_t n)
{
    if (n < 4)
        return;
    struct ring_layout l = {1 + in[0] % 2, 256u << (in[1] % 3), 256, 256u << (in[2] % 2)};
    uint32_t ring = in[3] % (l.nr_vcpus + 2);
    size_t size;
    struct hvk_err err;
    if (ring_layout_size(&l, &size, &err) < 0)
        abort();
    uint8_t *base = aligned_alloc(RING_PAGE, size);
    struct ring_region *r = malloc(sizeof *r);
    if (ring_region_init(base, size, &l, r, &err) < 0)
        abort();
    in += 4, n -= 4;

    /* A real producer fills the chosen ring with records of varied sizes. */
    struct ring_producer p;
    bool cmd = ring == ring_idx_cmd(r);
    if (ring_producer_init(&p, r, ring, cmd ? RING_PROD_NOLOSS : 0, -1, &err) < 0)
        abort();
    uint8_t pay[256] = {0};
    uint32_t nrec = n ? in[0] % 64 : 8;
    for (uint32_t i = 0; i < nrec; i++) {
        uint32_t len = (i * 37 + (n > 1 ? in[1] : 0)) % 80;
        if (cmd)
            ring_cmd_send(&p, i, 1 + i % (RING_CMD__END - 1), 0, pay, len, &err);
        else if (i % 5 == 4)
            ring_reply_send(&p, i, RING_CMD_WALK, RING_ST_OK, pay, len, &err);
        else
            ring_write(&p, RING_REC_FAULT + i % 6, 0, pay, len, &err);
    }
    ring_flush(&p);

    struct ring_consumer c;
    fuzz_poison_except(r, ring);
    if (ring_consumer_init(&c, r, ring, &err) < 0)
        abort();   /* nothing is corrupt yet */
    fuzz_consume(&c, n > 2 ? in[2] % 8 : 0);

    /* Patch the ring's control block and data with the input. */
    const struct ring_desc *d = &r->desc[ring];
    uint64_t span = sizeof(struct ring_ctrl) + d->data_size;
    for (size_t i = 3; i + 3 <= n; i += 3) {
        uint64_t off = ((uint64_t)in[i] | (uint64_t)in[i + 1] << 8) % span;
        uint8_t *at = off < sizeof(struct ring_ctrl)
                    ? base + d->ctrl_offset + off
                    : base + d->data_offset + (off - sizeof(struct ring_ctrl));
        *at ^= in[i + 2];
    }
    fuzz_consume(&c, FUZZ_READ_LIMIT);
    /* The producer facing the same hostile tail stays inside the ring. */
    for (uint32_t i = 0; i < 16; i++)
        ring_write(&p, cmd ? RING_REC_REQUEST : RING_REC_STACK, 0, pay, i * 9, &err);
    ring_flush(&p);
    fuzz_consume(&c, FUZZ_READ_LIMIT);
    /* A fresh consumer attaching to the patched ring. */
    if (ring_consumer_init(&c, r, ring, &err) == 0)
        fuzz_consume(&c, FUZZ_READ_LIMIT);
    ASAN_UNPOISON_MEMORY_REGION(base, size);
    free(r);
    free(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_near_valid(data + 1, size - 1);
    else
        fuzz_raw(data + 1, size - 1);
    return 0;
}
