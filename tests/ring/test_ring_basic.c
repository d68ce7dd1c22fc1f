/* test_ring_basic.c -- ring behaviour on a correct peer: layout, round trip,
 * wrap-around with PAD records, full ring and exact loss accounting, LOST
 * contents, abort/flush, NOLOSS command ring, doorbells, resume, memfd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "ring_fixture.h"

#define BUF 4096
static uint8_t rbuf[BUF];

static void fill(uint8_t *p, uint32_t len, uint64_t salt)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(salt * 131 + i * 7 + 1);
}

static void check_fill(const uint8_t *p, uint32_t len, uint64_t salt)
{
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(p[i], (uint8_t)(salt * 131 + i * 7 + 1));
}

/* Read one record and check type, seq and payload length. */
static void expect_rec(struct ring_consumer *c, uint16_t type, uint64_t seq, uint32_t len)
{
    struct hvk_err err = {{0}};
    struct ring_rec_hdr h;
    int rc = ring_read_next(c, &h, rbuf, sizeof rbuf, &err);
    if (rc != 1)
        fail_msg("read_next = %d: %s", rc, err.msg);
    assert_int_equal(h.type, type);
    assert_int_equal(h.seq, seq);
    assert_int_equal(h.size, sizeof h + len);
}

static void expect_empty(struct ring_consumer *c)
{
    struct hvk_err err = {{0}};
    struct ring_rec_hdr h;
    assert_int_equal(ring_read_next(c, &h, rbuf, sizeof rbuf, &err), 0);
}

static void expect_lost(struct ring_consumer *c, uint64_t first, uint64_t count, uint64_t total)
{
    expect_rec(c, RING_REC_LOST, first, sizeof(struct ring_lost));
    struct ring_lost l;
    memcpy(&l, rbuf, sizeof l);
    assert_int_equal(l.count, count);
    assert_int_equal(l.first_seq, first);
    assert_int_equal(l.total, total);
}

/* Write `len`-byte records from seq `seq` until one is dropped; returns how
 * many were accepted (the dropped one took number seq + return value). */
static uint64_t write_until_drop(struct ring_producer *p, uint16_t type, uint32_t len)
{
    struct hvk_err err = {{0}};
    for (uint64_t n = 0; n < 1000; n++) {
        int rc = ring_write(p, type, 0, rbuf, len, &err);
        if (rc == RING_DROPPED)
            return n;
        assert_int_equal(rc, RING_OK);
    }
    fail_msg("ring never filled");
    return 0;
}

static void test_layout(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    size_t size;
    struct ring_layout bad[] = {
        {0, 4096, 4096, 4096},
        {RING_MAX_VCPUS + 1, 4096, 4096, 4096},
        {1, 4000, 4096, 4096},
        {1, 128, 4096, 4096},
        {1, 4096, 0, 4096},
        {1, 4096, 4096, RING_DATA_MAX * 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ring_layout_size(&bad[i], &size, &err), -1);

    struct ring_layout l = {3, 8192, 4096, 4096};
    assert_int_equal(ring_layout_size(&l, &size, &err), 0);
    assert_int_equal(size % RING_PAGE, 0);
    assert_true(size >= 3 * 8192 + 2 * 4096 + RING_PAGE);

    struct ring_fixture *f = ring_fixture_new(3, 8192, 4096, 1024);
    assert_int_equal(f->r.nr_vcpus, 3);
    assert_int_equal(f->r.nr_rings, 5);
    assert_int_equal(ring_idx_ctl(&f->r), 3);
    assert_int_equal(ring_idx_cmd(&f->r), 4);
    assert_int_equal(f->r.desc[2].kind, RING_KIND_VCPU);
    assert_int_equal(f->r.desc[2].id, 2);
    assert_int_equal(f->r.desc[3].kind, RING_KIND_CTL);
    assert_int_equal(f->r.desc[4].kind, RING_KIND_CMD);
    assert_int_equal(f->r.desc[4].data_size, 1024);
    /* The peer's view of the same mapping validates too. */
    struct ring_region *peer = malloc(sizeof *peer);
    assert_int_equal(ring_region_check(peer, f->base, f->size, &err), 0);
    assert_memory_equal(peer->desc, f->r.desc, 5 * sizeof(struct ring_desc));
    /* Too small a buffer for the layout. */
    assert_int_equal(ring_region_init(f->base, f->size - RING_PAGE, &l, NULL, &err), -1);
    free(peer);
    ring_fixture_free(f);
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(2, 4096, 4096, 4096);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, ring_idx_vcpu(1), 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, ring_idx_vcpu(1), &err), 0);
    expect_empty(&c);

    uint16_t types[] = {RING_REC_FAULT, RING_REC_WALK, RING_REC_STACK, RING_REC_STOP,
                        RING_REC_REPLY, RING_REC_CONSOLE, RING_REC_LIFECYCLE};
    uint8_t pay[512];
    for (uint32_t i = 0; i < 7; i++) {
        uint32_t len = i * 37;       /* 0, 37, 74 ...: unaligned sizes */
        fill(pay, len, i);
        assert_int_equal(ring_write(&p, types[i], (uint16_t)i, pay, len, &err), RING_OK);
    }
    struct ring_rec_hdr h;
    assert_int_equal(ring_peek(&c, &h, &err), 1);   /* peek leaves it there */
    assert_int_equal(h.type, RING_REC_FAULT);
    for (uint32_t i = 0; i < 7; i++) {
        expect_rec(&c, types[i], i, i * 37);
        check_fill(rbuf, i * 37, i);
    }
    expect_empty(&c);
    assert_int_equal(c.delivered, 7);
    assert_int_equal(c.lost, 0);
    /* Timestamps are CLOCK_MONOTONIC and non-decreasing. */
    uint64_t t0;
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_read_next(&c, &h, rbuf, sizeof rbuf, &err), 1);
    t0 = h.time_ns;
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_read_next(&c, &h, rbuf, sizeof rbuf, &err), 1);
    assert_true(t0 > 0 && h.time_ns >= t0);
    ring_fixture_free(f);
}

/* Many laps with sizes that leave every possible remainder at the end of the
 * data area, so PADs of 8, 16 and >= 24 bytes all occur. */
static void test_wraparound(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 256, 4096, 4096);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);
    uint8_t *data = ring_fixture_data(f, 0);
    uint8_t pay[64];
    bool pad_seen[4] = {false};   /* 8, 16, 24, >24 */
    uint64_t seq = 0;
    for (int i = 0; i < 3000; i++) {
        uint32_t len = (uint32_t)(i * 13) % 41;   /* 0..40: records 24..64 */
        uint64_t before = p.head;
        fill(pay, len, seq);
        assert_int_equal(ring_write(&p, RING_REC_CONSOLE, 0, pay, len, &err), RING_OK);
        uint64_t rec = RING_ALIGN8(24 + len);
        if (p.head - before != rec) {          /* a PAD went first */
            uint64_t padlen = p.head - before - rec;
            uint32_t psize;
            memcpy(&psize, data + (before & 255) + 4, 4);
            assert_int_equal(psize, padlen);
            assert_int_equal(data[before & 255], RING_REC_PAD);
            pad_seen[padlen == 8 ? 0 : padlen == 16 ? 1 : padlen == 24 ? 2 : 3] = true;
            assert_int_equal((before + padlen) & 255, 0);
        }
        expect_rec(&c, RING_REC_CONSOLE, seq, len);
        check_fill(rbuf, len, seq);
        seq++;
    }
    assert_true(pad_seen[0] && pad_seen[1] && pad_seen[2] && pad_seen[3]);
    assert_true(p.head > 100 * 256);
    assert_int_equal(c.delivered, 3000);
    ring_fixture_free(f);
}

/* Full ring: drops are counted exactly, and the LOST record comes before
 * the first record accepted after them, in the same publication. */
static void test_full_and_lost(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 256, 4096, 4096);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);
    struct ring_ctrl *ctrl = ring_fixture_ctrl(f, 0);
    uint8_t pay[40] = {0};
    /* 4 x 64 bytes fill the 256-byte ring; seqs 0..3. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_OK);
    /* seqs 4..13 dropped. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_DROPPED);
    /* Informational counters: refreshed now and then while dropping... */
    assert_in_range(atomic_load(&ctrl->lost_total), 1, 10);
    assert_in_range(atomic_load(&ctrl->seq_next), 5, 14);
    /* 64 bytes free: not enough for LOST (48) + record (64): seq 14 dropped. */
    expect_rec(&c, RING_REC_FAULT, 0, 40);
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_DROPPED);
    /* But a 24-byte record? LOST 48 + 24 = 72 > 64: dropped too (seq 15). */
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_DROPPED);
    expect_rec(&c, RING_REC_FAULT, 1, 40);
    /* 128 free: LOST + 64-byte record fit. seq 16 is delivered after LOST. */
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_OK);
    /* ...and exact at every publication. */
    assert_int_equal(atomic_load(&ctrl->lost_total), 12);
    assert_int_equal(atomic_load(&ctrl->seq_next), 17);
    expect_rec(&c, RING_REC_FAULT, 2, 40);
    expect_rec(&c, RING_REC_FAULT, 3, 40);
    expect_lost(&c, 4, 12, 12);
    expect_rec(&c, RING_REC_FAULT, 16, 40);
    expect_empty(&c);
    assert_int_equal(c.delivered + c.lost, 17);
    assert_int_equal(c.lost, 12);

    /* Second burst: the total keeps growing, counts restart. */
    uint64_t n = write_until_drop(&p, RING_REC_FAULT, 40);   /* 17 .. 17+n-1 */
    assert_true(n >= 3 && n <= 4);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_DROPPED);
    for (uint64_t i = 0; i < n; i++)
        expect_rec(&c, RING_REC_FAULT, 17 + i, 40);
    /* ring_flush reports the losses with no record after them. */
    assert_int_equal(ring_flush(&p), 0);
    assert_int_equal(ring_flush(&p), 0);   /* nothing pending: no second LOST */
    expect_lost(&c, 17 + n, 3, 15);
    expect_empty(&c);
    assert_int_equal(c.delivered + c.lost, 17 + n + 3);
    assert_int_equal(p.lost_pending, 0);
    ring_fixture_free(f);
}

static void test_flush_when_full(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 256, 4096, 4096);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);
    uint8_t pay[40] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_OK);
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, pay, 40, &err), RING_DROPPED);
    assert_int_equal(ring_flush(&p), RING_DROPPED);   /* no room for LOST */
    expect_rec(&c, RING_REC_FAULT, 0, 40);
    assert_int_equal(ring_flush(&p), 0);
    for (int i = 1; i < 4; i++)
        expect_rec(&c, RING_REC_FAULT, (uint64_t)i, 40);
    expect_lost(&c, 4, 1, 1);
    ring_fixture_free(f);
}

static void test_abort_and_too_big(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 1024, 4096, 4096);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);
    void *at;
    assert_int_equal(ring_reserve(&p, RING_REC_STACK, 0, 16, &at, &err), RING_OK);
    /* A second reservation while one is open is a caller bug. */
    assert_int_equal(ring_reserve(&p, RING_REC_STACK, 0, 16, &at, &err), -1);
    ring_abort(&p);                                  /* seq 0 lost */
    expect_empty(&c);
    /* max record is 1024/4 = 256 bytes: 233 payload bytes is one too many. */
    assert_int_equal(ring_reserve(&p, RING_REC_STACK, 0, 256 - 24 + 1, &at, &err), -1);
    assert_non_null(strstr(err.msg, "exceeds"));     /* seq 1 lost */
    assert_int_equal(ring_reserve(&p, RING_REC_STACK, 0, 256 - 24, &at, &err), RING_OK);
    memset(at, 0xab, 256 - 24);
    ring_commit(&p);                                 /* seq 2 */
    expect_lost(&c, 0, 2, 2);
    expect_rec(&c, RING_REC_STACK, 2, 256 - 24);
    assert_int_equal(rbuf[0], 0xab);
    /* Abort after losses: the LOST reserved with it is still published, and
     * the aborted record starts a new run. */
    uint64_t n = write_until_drop(&p, RING_REC_STACK, 200);  /* 3 .. 3+n-1 */
    uint64_t d = 3 + n;                                         /* dropped */
    for (uint64_t i = 3; i < d; i++)
        expect_rec(&c, RING_REC_STACK, i, 200);
    assert_int_equal(ring_reserve(&p, RING_REC_STACK, 0, 8, &at, &err), RING_OK); /* d+1 */
    ring_abort(&p);
    assert_int_equal(ring_write(&p, RING_REC_STACK, 0, rbuf, 8, &err), RING_OK);  /* d+2 */
    expect_lost(&c, d, 1, 3);
    expect_lost(&c, d + 1, 1, 4);
    expect_rec(&c, RING_REC_STACK, d + 2, 8);
    assert_int_equal(c.delivered + c.lost, d + 3);
    /* Type rules. */
    assert_int_equal(ring_write(&p, RING_REC_PAD, 0, NULL, 0, &err), -1);
    assert_int_equal(ring_write(&p, RING_REC_LOST, 0, NULL, 0, &err), -1);
    assert_int_equal(ring_write(&p, RING_REC_REQUEST, 0, NULL, 0, &err), -1);
    assert_int_equal(ring_write(&p, 0, 0, NULL, 0, &err), -1);
    assert_int_equal(ring_write(&p, RING_REC__END, 0, NULL, 0, &err), -1);
    expect_empty(&c);
    ring_fixture_free(f);
}

static void test_small_buffer(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 1024, 4096, 4096);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);
    assert_int_equal(ring_consumer_max_payload(&c), 256 - 24);
    uint8_t pay[100];
    fill(pay, 100, 9);
    assert_int_equal(ring_write(&p, RING_REC_WALK, 0, pay, 100, &err), RING_OK);
    struct ring_rec_hdr h;
    uint8_t small[99];
    assert_int_equal(ring_read_next(&c, &h, small, sizeof small, &err), -1);
    assert_non_null(strstr(err.msg, "buffer"));
    assert_false(c.broken);
    expect_rec(&c, RING_REC_WALK, 0, 100);
    check_fill(rbuf, 100, 9);
    ring_fixture_free(f);
}

/* hvd -> hv requests on a NOLOSS command ring, replies on the control ring. */
static void test_cmd_ring(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 4096, 4096, 256);
    struct ring_producer hvd_cmd, hv_ctl;
    struct ring_consumer hv_cmd, hvd_ctl;
    uint32_t cmd = ring_idx_cmd(&f->r), ctl = ring_idx_ctl(&f->r);
    assert_int_equal(ring_producer_init(&hvd_cmd, &f->r, cmd, RING_PROD_NOLOSS, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&hv_cmd, &f->r, cmd, &err), 0);
    assert_int_equal(ring_producer_init(&hv_ctl, &f->r, ctl, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&hvd_ctl, &f->r, ctl, &err), 0);

    /* Only REQUEST on the command ring. */
    assert_int_equal(ring_write(&hvd_cmd, RING_REC_FAULT, 0, NULL, 0, &err), -1);
    assert_int_equal(ring_cmd_send(&hvd_cmd, 1, 0, 0, NULL, 0, &err), -1);
    assert_int_equal(ring_cmd_send(&hvd_cmd, 1, RING_CMD__END, 0, NULL, 0, &err), -1);
    /* 256-byte ring: requests of 24 + 16 + 24 = 64 bytes; 4 fit. */
    uint8_t args[24];
    for (uint64_t id = 100; id < 104; id++) {
        fill(args, 24, id);
        assert_int_equal(ring_cmd_send(&hvd_cmd, id, RING_CMD_WALK, 0, args, 24, &err), RING_OK);
    }
    assert_int_equal(ring_cmd_send(&hvd_cmd, 104, RING_CMD_WALK, 0, args, 24, &err), RING_FULL);
    assert_int_equal(hvd_cmd.seq, 4);   /* FULL takes no number */

    struct ring_rec_hdr h;
    struct ring_req req;
    const void *a;
    uint32_t alen;
    for (uint64_t id = 100; id < 104; id++) {
        assert_int_equal(ring_read_next(&hv_cmd, &h, rbuf, sizeof rbuf, &err), 1);
        assert_int_equal(ring_cmd_parse(&h, rbuf, &req, &a, &alen, &err), 0);
        assert_int_equal(req.req_id, id);
        assert_int_equal(req.cmd, RING_CMD_WALK);
        assert_int_equal(alen, 24);
        check_fill(a, 24, id);
        uint32_t val = (uint32_t)id * 3;
        assert_int_equal(ring_reply_send(&hv_ctl, req.req_id, req.cmd, RING_ST_OK,
                                         &val, sizeof val, &err), RING_OK);
    }
    assert_int_equal(ring_cmd_send(&hvd_cmd, 104, RING_CMD_PAUSE, UINT32_MAX, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_read_next(&hv_cmd, &h, rbuf, sizeof rbuf, &err), 1);
    assert_int_equal(h.seq, 4);
    assert_int_equal(ring_cmd_parse(&h, rbuf, &req, &a, &alen, &err), 0);
    assert_int_equal(req.vcpu, UINT32_MAX);
    assert_int_equal(alen, 0);
    assert_int_equal(ring_reply_send(&hv_ctl, 104, RING_CMD_PAUSE, RING_ST_BUSY, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_reply_send(&hv_ctl, 105, RING_CMD_PAUSE, -1, NULL, 0, &err), -1);

    struct ring_reply rep;
    for (uint64_t id = 100; id < 105; id++) {
        assert_int_equal(ring_read_next(&hvd_ctl, &h, rbuf, sizeof rbuf, &err), 1);
        assert_int_equal(ring_reply_parse(&h, rbuf, &rep, &a, &alen, &err), 0);
        assert_int_equal(rep.req_id, id);
        if (id < 104) {
            uint32_t val;
            assert_int_equal(rep.status, RING_ST_OK);
            assert_int_equal(alen, 4);
            memcpy(&val, a, 4);
            assert_int_equal(val, id * 3);
        } else {
            assert_int_equal(rep.status, RING_ST_BUSY);
            assert_string_equal(ring_status_name(rep.status), "busy");
        }
    }
    /* Malformed records are refused by the parsers. */
    struct ring_rec_hdr bad = {RING_REC_REQUEST, 0, 24 + 8, 0, 0};
    assert_int_equal(ring_cmd_parse(&bad, rbuf, &req, &a, &alen, &err), -1);
    bad.type = RING_REC_REPLY;
    assert_int_equal(ring_reply_parse(&bad, rbuf, &rep, &a, &alen, &err), -1);
    bad.size = 24 + 16;
    struct ring_reply r2 = {1, 1, 99};
    memcpy(rbuf, &r2, sizeof r2);
    assert_int_equal(ring_reply_parse(&bad, rbuf, &rep, &a, &alen, &err), -1);
    bad.type = RING_REC_REQUEST;
    struct ring_req q2 = {1, 77, 0};
    memcpy(rbuf, &q2, sizeof q2);
    assert_int_equal(ring_cmd_parse(&bad, rbuf, &req, &a, &alen, &err), -1);
    assert_string_equal(ring_rec_type_name(RING_REC_LOST), "LOST");
    assert_string_equal(ring_rec_type_name(500), "UNKNOWN");
    ring_fixture_free(f);
}

/* The doorbell rings once per wakeup request, not per record. */
static void test_doorbell(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 4096, 4096, 4096);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    struct ring_producer p;
    struct ring_consumer c;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, efd, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);

    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_doorbell_drain(efd, &err), 0);    /* nobody asked */
    assert_int_equal(ring_consumer_arm(&c, &err), 0);       /* data: don't sleep */
    assert_int_equal(atomic_load(&ring_fixture_ctrl(f, 0)->waiting), 0);
    expect_rec(&c, RING_REC_FAULT, 0, 0);
    assert_int_equal(ring_consumer_arm(&c, &err), 1);       /* empty: sleep */
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_doorbell_drain(efd, &err), 1);
    assert_int_equal(ring_doorbell_drain(efd, &err), 0);
    assert_int_equal(p.kicks, 1);
    expect_rec(&c, RING_REC_FAULT, 1, 0);
    expect_rec(&c, RING_REC_FAULT, 2, 0);
    /* No fd: the request stays pending for a producer that gets one. */
    assert_int_equal(ring_consumer_arm(&c, &err), 1);
    ring_producer_set_doorbell(&p, -1);
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(atomic_load(&ring_fixture_ctrl(f, 0)->waiting), 1);
    ring_producer_set_doorbell(&p, efd);
    assert_int_equal(ring_flush(&p), 0);
    assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_doorbell_drain(efd, &err), 1);
    close(efd);
    ring_fixture_free(f);
}

/* A new consumer (hvd restarted) or producer resumes where the old one was. */
static void test_resume(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 1024, 4096, 1024);
    struct ring_producer p, p2;
    struct ring_consumer c, c2;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, 0, &err), 0);
    for (int i = 0; i < 20; i++)      /* 20 x 40 bytes of 1024 */
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, rbuf, 16, &err), RING_OK);
    for (int i = 0; i < 10; i++)
        expect_rec(&c, RING_REC_FAULT, (uint64_t)i, 16);
    assert_int_equal(ring_consumer_init(&c2, &f->r, 0, &err), 0);
    expect_rec(&c2, RING_REC_FAULT, 10, 16);

    uint32_t cmd = ring_idx_cmd(&f->r);
    assert_int_equal(ring_producer_init(&p, &f->r, cmd, RING_PROD_NOLOSS, -1, &err), 0);
    assert_int_equal(ring_consumer_init(&c, &f->r, cmd, &err), 0);
    for (uint64_t id = 0; id < 5; id++)
        assert_int_equal(ring_cmd_send(&p, id, RING_CMD_REGS, 0, NULL, 0, &err), RING_OK);
    assert_int_equal(ring_producer_init(&p2, &f->r, cmd, RING_PROD_NOLOSS, -1, &err), 0);
    assert_int_equal(ring_cmd_send(&p2, 5, RING_CMD_REGS, 0, NULL, 0, &err), RING_OK);
    for (uint64_t id = 0; id < 6; id++)
        expect_rec(&c, RING_REC_REQUEST, id, 16);   /* seq continuous across restart */
    ring_fixture_free(f);
}

static void test_memfd(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    size_t size;
    int fd = ring_memfd_create("ring-test", 3 * 4096, &err);
    assert_true(fd >= 0);
    assert_int_equal(ring_memfd_check(fd, &size, &err), 0);
    assert_int_equal(size, 3 * 4096);
    assert_int_equal(ftruncate(fd, 4096), -1);          /* sealed */
    assert_int_equal(ftruncate(fd, 8 * 4096), -1);
    close(fd);
    fd = memfd_create("unsealed", MFD_CLOEXEC);
    assert_true(fd >= 0 && ftruncate(fd, 4096) == 0);
    assert_int_equal(ring_memfd_check(fd, &size, &err), -1);
    assert_non_null(strstr(err.msg, "seal"));
    close(fd);
}

/* hv and hvd are two processes with their own mappings of the memfd: a
 * child maps it afresh and produces, the parent consumes with the doorbell. */
static void test_two_processes(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(2, 4096, 4096, 4096);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(efd >= 0);
    enum { N = 20000 };
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t size;
        struct ring_region *r = malloc(sizeof *r);
        struct ring_producer p;
        if (ring_memfd_check(f->fd, &size, &err) < 0)
            _exit(10);
        void *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
        if (b == MAP_FAILED || ring_region_check(r, b, size, &err) < 0 ||
            ring_producer_init(&p, r, 1, RING_PROD_NOLOSS, efd, &err) < 0)
            _exit(11);
        for (uint64_t i = 0; i < N; i++) {
            uint8_t pay[16];
            fill(pay, 16, i);
            int rc;
            while ((rc = ring_write(&p, RING_REC_CONSOLE, 0, pay, 16, &err)) == RING_FULL)
                usleep(100);
            if (rc != RING_OK)
                _exit(12);
        }
        _exit(0);
    }
    size_t size;
    struct ring_region *r = malloc(sizeof *r);
    struct ring_consumer c;
    assert_int_equal(ring_memfd_check(f->fd, &size, &err), 0);
    void *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    assert_true(b != MAP_FAILED);
    assert_int_equal(ring_region_check(r, b, size, &err), 0);
    assert_int_equal(ring_consumer_init(&c, r, 1, &err), 0);
    for (uint64_t i = 0; i < N;) {
        struct ring_rec_hdr h;
        int rc = ring_read_next(&c, &h, rbuf, sizeof rbuf, &err);
        if (rc < 0)
            fail_msg("%s", err.msg);
        if (rc == 1) {
            assert_int_equal(h.seq, i);
            check_fill(rbuf, 16, i);
            i++;
            continue;
        }
        if (ring_consumer_arm(&c, &err) == 1) {
            struct pollfd pfd = {efd, POLLIN, 0};
            if (poll(&pfd, 1, 10000) != 1)
                fail_msg("no doorbell after record %llu", (unsigned long long)i);
            ring_doorbell_drain(efd, &err);
        }
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(c.delivered, N);
    munmap(b, size);
    free(r);
    close(efd);
    ring_fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_full_and_lost),
        cmocka_unit_test(test_flush_when_full),
        cmocka_unit_test(test_abort_and_too_big),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_cmd_ring),
        cmocka_unit_test(test_doorbell),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_memfd),
        cmocka_unit_test(test_two_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
