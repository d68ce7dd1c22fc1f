/* test_ring_corrupt.c -- a corrupt region header, corrupt indices and corrupt
 * records are each refused with a clear error, and a broken ring stays broken.
 * Table-driven: one line per corruption class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ring_fixture.h"

#define NV 2          /* vCPU rings */
#define CAP 4096u     /* their data size; max record 1024 */

/* ---- region header and descriptors -------------------------------------- */

struct hdr_case {
    const char *name;
    void (*mutate)(struct ring_region_hdr *h, struct ring_desc *d);
    const char *expect;    /* substring of the error */
};

#define HDR_CASE(n, body, e) \
    static void hdr_##n(struct ring_region_hdr *h, struct ring_desc *d) \
    { (void)h; (void)d; body; }
HDR_CASE(magic, h->magic ^= 1, "bad magic")
HDR_CASE(version, h->abi_version = 2, "ABI version")
HDR_CASE(hdr_size, h->hdr_size = 72, "structure sizes")
HDR_CASE(desc_size, h->desc_size = 40, "structure sizes")
HDR_CASE(ctrl_size, h->ctrl_size = 64, "structure sizes")
HDR_CASE(rec_size, h->rec_hdr_size = 32, "structure sizes")
HDR_CASE(region_size, h->region_size += 4096, "mapping has")
HDR_CASE(vcpus0, h->nr_vcpus = 0, "vCPUs")
HDR_CASE(vcpus_max, (h->nr_vcpus = RING_MAX_VCPUS + 1, h->nr_rings = h->nr_vcpus + 2), "vCPUs")
HDR_CASE(nr_rings, h->nr_rings = NV + 1, "rings for")
HDR_CASE(desc_in_hdr, h->desc_offset = 8, "descriptor table")
HDR_CASE(desc_past_end, h->desc_offset = (uint32_t)h->region_size - 64, "descriptor table")
HDR_CASE(desc_huge, h->desc_offset = 0xfffffff8u, "descriptor table")
HDR_CASE(kind, d[0].kind = RING_KIND_CMD, "kind")
HDR_CASE(vcpu_id, d[1].id = 0, "kind")
HDR_CASE(cmd_kind, d[NV + 1].kind = RING_KIND_VCPU, "kind")
HDR_CASE(ctrl_misaligned, d[0].ctrl_offset += 8, "control block")
HDR_CASE(ctrl_outside, d[1].ctrl_offset = h->region_size - 64, "control block")
HDR_CASE(ctrl_overflow, d[1].ctrl_offset = UINT64_MAX - 63, "control block")
HDR_CASE(data_pow2, d[0].data_size = CAP - 8, "data size")
HDR_CASE(data_small, d[0].data_size = 128, "data size")
HDR_CASE(data_big, d[0].data_size = RING_DATA_MAX * 2, "data size")
HDR_CASE(data_zero, d[NV].data_size = 0, "data size")
HDR_CASE(data_misaligned, d[0].data_offset += 8, "data at")
HDR_CASE(data_outside, d[NV + 1].data_offset = h->region_size, "data at")
HDR_CASE(data_overflow, d[0].data_offset = UINT64_MAX & ~(uint64_t)4095, "data at")
HDR_CASE(data_overlap, d[1].data_offset = d[0].data_offset, "overlap")
HDR_CASE(data_half_overlap, d[0].data_size = 2 * CAP, "overlap")
HDR_CASE(ctrl_overlap, d[0].ctrl_offset = d[1].ctrl_offset, "overlap")
HDR_CASE(ctrl_in_data, d[0].ctrl_offset = d[1].data_offset, "overlap")
HDR_CASE(data_on_header, d[0].data_offset = 0, "overlap")

static const struct hdr_case hdr_cases[] = {
#define C(n, e) {#n, hdr_##n, e}
    C(magic, "bad magic"), C(version, "ABI version"), C(hdr_size, "structure sizes"),
    C(desc_size, "structure sizes"), C(ctrl_size, "structure sizes"),
    C(rec_size, "structure sizes"), C(region_size, "mapping has"), C(vcpus0, "vCPUs"),
    C(vcpus_max, "vCPUs"), C(nr_rings, "rings for"), C(desc_in_hdr, "descriptor table"),
    C(desc_past_end, "descriptor table"), C(desc_huge, "descriptor table"),
    C(kind, "kind"), C(vcpu_id, "kind"), C(cmd_kind, "kind"),
    C(ctrl_misaligned, "control block"), C(ctrl_outside, "control block"),
    C(ctrl_overflow, "control block"), C(data_pow2, "data size"),
    C(data_small, "data size"), C(data_big, "data size"), C(data_zero, "data size"),
    C(data_misaligned, "data at"), C(data_outside, "data at"),
    C(data_overflow, "data at"), C(data_overlap, "overlap"),
    C(data_half_overlap, "overlap"), C(ctrl_overlap, "overlap"),
    C(ctrl_in_data, "overlap"), C(data_on_header, "overlap"),
#undef C
};

static void test_header_corruption(void **state)
{
    (void)state;
    struct ring_region *r = malloc(sizeof *r);
    struct hvk_err err;
    for (size_t i = 0; i < sizeof hdr_cases / sizeof hdr_cases[0]; i++) {
        struct ring_fixture *f = ring_fixture_new(NV, CAP, CAP, CAP);
        struct ring_region_hdr *h = f->base;
        struct ring_desc *d = (struct ring_desc *)((uint8_t *)f->base + h->desc_offset);
        memset(&err, 0, sizeof err);
        assert_int_equal(ring_region_check(r, f->base, f->size, &err), 0);
        hdr_cases[i].mutate(h, d);
        if (ring_region_check(r, f->base, f->size, &err) != -1)
            fail_msg("case %s: corrupt region accepted", hdr_cases[i].name);
        if (!strstr(err.msg, hdr_cases[i].expect))
            fail_msg("case %s: error '%s' lacks '%s'", hdr_cases[i].name, err.msg,
                     hdr_cases[i].expect);
        ring_fixture_free(f);
    }
    /* A mapping smaller than the header. */
    struct ring_fixture *f = ring_fixture_new(NV, CAP, CAP, CAP);
    assert_int_equal(ring_region_check(r, f->base, 32, &err), -1);
    ring_fixture_free(f);
    free(r);
}

/* ---- indices and records ------------------------------------------------ */

/* Write a record header (or the first 8 bytes of a PAD) into shared memory. */
static void poke(uint8_t *data, uint64_t off, uint16_t type, uint32_t size, uint64_t seq)
{
    struct ring_rec_hdr h = {type, 0, size, seq, 1};
    memcpy(data + off, &h, type == RING_REC_PAD ? 8 : sizeof h);
}

static void set_idx(struct ring_ctrl *c, uint64_t head, uint64_t tail)
{
    atomic_store(&c->head, head);
    atomic_store(&c->tail, tail);
}

struct idx_env {
    struct ring_fixture *f;
    struct ring_ctrl *ctrl;
    uint8_t *data;
    struct ring_producer p;
};

struct idx_case {
    const char *name;
    uint32_t ring;              /* 0 (vCPU ring) unless it says NV + 1 */
    int reads_before;           /* good records read before the corruption;
                                 * -1: corrupt first, then attach */
    void (*corrupt)(struct idx_env *e);
    bool attach_fails;
    const char *expect;
};

/* Every case starts from three good 64-byte FAULT records (seq 0..2, head
 * 192). The consumer re-reads head only once it has used up the head it
 * last validated, so head corruption is tested after all three reads. */
#define IDX_CASE(n, body) static void idx_##n(struct idx_env *e) { body; }
IDX_CASE(head_behind, atomic_store(&e->ctrl->head, 64))
IDX_CASE(head_far, atomic_store(&e->ctrl->head, 192 + CAP + 8))
IDX_CASE(head_misaligned, atomic_store(&e->ctrl->head, 192 + 4))
IDX_CASE(head_misaligned_far, atomic_store(&e->ctrl->head, 192 + 64 + 4))
IDX_CASE(attach_tail_misaligned, atomic_store(&e->ctrl->tail, 4))
IDX_CASE(attach_head_behind, set_idx(e->ctrl, 64, 128))
IDX_CASE(attach_head_far, set_idx(e->ctrl, 2 * CAP + 64, 64))
IDX_CASE(size_small, poke(e->data, 64, RING_REC_FAULT, 16, 1))
IDX_CASE(size_zero, poke(e->data, 64, RING_REC_FAULT, 0, 1))
IDX_CASE(size_max, poke(e->data, 64, RING_REC_FAULT, CAP / 4 + 8, 1))
IDX_CASE(size_huge, poke(e->data, 64, RING_REC_FAULT, UINT32_MAX, 1))
IDX_CASE(size_past_head, poke(e->data, 128, RING_REC_FAULT, 72, 2))
IDX_CASE(straddle, (set_idx(e->ctrl, CAP + 32, CAP - 32),
                    poke(e->data, CAP - 32, RING_REC_FAULT, 64, 0)))
IDX_CASE(hdr_straddle, (set_idx(e->ctrl, CAP + 32, CAP - 16),
                        poke(e->data, CAP - 16, RING_REC_FAULT, 24, 0)))
IDX_CASE(pad_at_zero, (set_idx(e->ctrl, CAP, 0), poke(e->data, 0, RING_REC_PAD, CAP, 0)))
IDX_CASE(pad_size, (set_idx(e->ctrl, CAP + 64, CAP - 32),
                    poke(e->data, CAP - 32, RING_REC_PAD, 16, 0)))
IDX_CASE(pad_past_head, (set_idx(e->ctrl, CAP - 16, CAP - 32),
                         poke(e->data, CAP - 32, RING_REC_PAD, 32, 0)))
IDX_CASE(pad_then_pad, (set_idx(e->ctrl, CAP + 64, CAP - 32),
                        poke(e->data, CAP - 32, RING_REC_PAD, 32, 0),
                        poke(e->data, 0, RING_REC_PAD, CAP, 0)))
IDX_CASE(type_zero, poke(e->data, 64, 0, 64, 1))
IDX_CASE(type_unknown, poke(e->data, 64, 99, 64, 1))
IDX_CASE(type_end, poke(e->data, 64, RING_REC__END, 64, 1))
IDX_CASE(request_on_event, poke(e->data, 64, RING_REC_REQUEST, 64, 1))
IDX_CASE(event_on_cmd, poke(e->data, 64, RING_REC_FAULT, 64, 1))
IDX_CASE(lost_short, poke(e->data, 64, RING_REC_LOST, 24 + 16, 1))
IDX_CASE(lost_zero, (poke(e->data, 64, RING_REC_LOST, RING_LOST_REC_SIZE, 1),
                     memset(e->data + 64 + 24, 0, 24)))
IDX_CASE(lost_first, (poke(e->data, 64, RING_REC_LOST, RING_LOST_REC_SIZE, 1),
                      memcpy(e->data + 64 + 24, &(struct ring_lost){3, 7, 3}, 24)))
IDX_CASE(lost_total, (poke(e->data, 64, RING_REC_LOST, RING_LOST_REC_SIZE, 1),
                      memcpy(e->data + 64 + 24, &(struct ring_lost){3, 1, 2}, 24)))
IDX_CASE(seq_gap, poke(e->data, 64, RING_REC_FAULT, 64, 5))
IDX_CASE(seq_back, poke(e->data, 128, RING_REC_FAULT, 64, 0))

static const struct idx_case idx_cases[] = {
    {"head_behind", 0, 3, idx_head_behind, false, "behind tail"},
    {"head_far", 0, 3, idx_head_far, false, "ahead of tail"},
    {"head_misaligned", 0, 3, idx_head_misaligned, false, "not 8-byte aligned"},
    {"head_misaligned_far", 0, 3, idx_head_misaligned_far, false, "not 8-byte aligned"},
    {"attach_tail_misaligned", 0, 0, idx_attach_tail_misaligned, true, "tail 4 not 8-byte"},
    {"attach_head_behind", 0, 0, idx_attach_head_behind, true, "behind tail"},
    {"attach_head_far", 0, 0, idx_attach_head_far, true, "ahead of tail"},
    {"size_small", 0, 1, idx_size_small, false, "smaller than its header"},
    {"size_zero", 0, 1, idx_size_zero, false, "smaller than its header"},
    {"size_max", 0, 1, idx_size_max, false, "above the ring's max"},
    {"size_huge", 0, 1, idx_size_huge, false, "above the ring's max"},
    {"size_past_head", 0, 2, idx_size_past_head, false, "past head"},
    {"straddle", 0, -1, idx_straddle, false, "straddles the end"},
    {"hdr_straddle", 0, -1, idx_hdr_straddle, false, "header at offset 4080 straddles"},
    {"pad_at_zero", 0, -1, idx_pad_at_zero, false, "PAD record at the start"},
    {"pad_size", 0, -1, idx_pad_size, false, "PAD of 16 bytes"},
    {"pad_past_head", 0, -1, idx_pad_past_head, false, "runs past head"},
    {"pad_then_pad", 0, -1, idx_pad_then_pad, false, "PAD record at the start"},
    {"type_zero", 0, 1, idx_type_zero, false, "unknown type 0"},
    {"type_unknown", 0, 1, idx_type_unknown, false, "unknown type 99"},
    {"type_end", 0, 1, idx_type_end, false, "unknown type"},
    {"request_on_event", 0, 1, idx_request_on_event, false, "REQUEST not allowed"},
    {"event_on_cmd", NV + 1, 1, idx_event_on_cmd, false, "FAULT not allowed"},
    {"lost_short", 0, 1, idx_lost_short, false, "LOST record with 16"},
    {"lost_zero", 0, 1, idx_lost_zero, false, "LOST record count 0"},
    {"lost_first", 0, 1, idx_lost_first, false, "LOST record count 3 first 7"},
    {"lost_total", 0, 1, idx_lost_total, false, "total 2"},
    {"seq_gap", 0, 1, idx_seq_gap, false, "seq 5, expected 1"},
    {"seq_back", 0, 2, idx_seq_back, false, "seq 0, expected 2"},
};

static uint8_t buf[CAP];

static void test_index_corruption(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof idx_cases / sizeof idx_cases[0]; i++) {
        const struct idx_case *k = &idx_cases[i];
        struct hvk_err err = {{0}};
        struct idx_env e;
        struct ring_consumer c;
        struct ring_rec_hdr h;
        e.f = ring_fixture_new(NV, CAP, CAP, CAP);
        e.ctrl = ring_fixture_ctrl(e.f, k->ring);
        e.data = ring_fixture_data(e.f, k->ring);
        assert_int_equal(ring_producer_init(&e.p, &e.f->r, k->ring,
                                            k->ring == NV + 1 ? RING_PROD_NOLOSS : 0, -1, &err), 0);
        uint16_t type = k->ring == NV + 1 ? RING_REC_REQUEST : RING_REC_FAULT;
        for (int j = 0; j < 3; j++)
            assert_int_equal(ring_write(&e.p, type, 0, buf, 40, &err), RING_OK);
        if (k->attach_fails) {
            k->corrupt(&e);
            if (ring_consumer_init(&c, &e.f->r, k->ring, &err) != -1)
                fail_msg("case %s: attach accepted", k->name);
        } else {
            if (k->reads_before < 0)
                k->corrupt(&e);
            assert_int_equal(ring_consumer_init(&c, &e.f->r, k->ring, &err), 0);
            for (int j = 0; j < k->reads_before; j++)
                assert_int_equal(ring_read_next(&c, &h, buf, sizeof buf, &err), 1);
            if (k->reads_before >= 0)
                k->corrupt(&e);
            int rc = ring_read_next(&c, &h, buf, sizeof buf, &err);
            if (rc != -1)
                fail_msg("case %s: corrupt ring read returned %d", k->name, rc);
            assert_true(c.broken);
            /* Broken for good: the same error again, and peek/arm refuse. */
            struct hvk_err err2 = {{0}};
            assert_int_equal(ring_read_next(&c, &h, buf, sizeof buf, &err2), -1);
            assert_string_equal(err.msg, err2.msg);
            assert_int_equal(ring_peek(&c, &h, &err2), -1);
            assert_int_equal(ring_consumer_arm(&c, &err2), -1);
        }
        if (!strstr(err.msg, k->expect))
            fail_msg("case %s: error '%s' lacks '%s'", k->name, err.msg, k->expect);
        ring_fixture_free(e.f);
    }
}

/* The producer never trusts a tail a broken consumer wrote: records are
 * dropped (and counted), never written over unread data. */
static void test_producer_bad_tail(void **state)
{
    (void)state;
    struct hvk_err err = {{0}};
    struct ring_fixture *f = ring_fixture_new(1, 256, 256, 256);
    struct ring_ctrl *ctrl = ring_fixture_ctrl(f, 0);
    struct ring_producer p;
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, buf, 40, &err), RING_OK);
    uint64_t bad[] = {1000, 264, 4, UINT64_MAX & ~7ull};  /* past head, misaligned */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        atomic_store(&ctrl->tail, bad[i]);
        assert_int_equal(ring_write(&p, RING_REC_FAULT, 0, buf, 40, &err), RING_DROPPED);
    }
    assert_int_equal(p.bad_tail, 4);
    assert_int_equal(atomic_load(&ctrl->head), 256);
    /* A producer refuses to resume on impossible counters. */
    atomic_store(&ctrl->tail, 264);
    assert_int_equal(ring_producer_init(&p, &f->r, 0, 0, -1, &err), -1);
    assert_int_equal(ring_producer_init(&p, &f->r, 9, 0, -1, &err), -1);
    ring_fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_corruption),
        cmocka_unit_test(test_index_corruption),
        cmocka_unit_test(test_producer_bad_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
