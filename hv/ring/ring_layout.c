/* ring_layout.c -- size, initialise and validate the shared ring region. */
#include <string.h>

#include "hvkit/ring.h"

#define RING_DESC_OFFSET ((uint32_t)sizeof(struct ring_region_hdr))

static bool ring_is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

static uint64_t ring_round_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

static int ring_check_data_size(const char *what, uint64_t size, struct hvk_err *err)
{
    if (!ring_is_pow2(size) || size < RING_DATA_MIN || size > RING_DATA_MAX)
        return hvk_err_set(err, "ring layout: %s size %llu is not a power of two in [%u, %llu]",
                           what, (unsigned long long)size, RING_DATA_MIN,
                           (unsigned long long)RING_DATA_MAX);
    return 0;
}

/* Offsets of everything, computed the same way by init and size. Sizes are
 * bounded (<= 256 rings of <= 1 GiB), so the sums cannot overflow 64 bits. */
static int ring_layout_plan(const struct ring_layout *l, struct ring_desc *desc,
                            uint64_t *total, struct hvk_err *err)
{
    if (l->nr_vcpus < 1 || l->nr_vcpus > RING_MAX_VCPUS)
        return hvk_err_set(err, "ring layout: %u vCPUs, want 1..%u", l->nr_vcpus, RING_MAX_VCPUS);
    if (ring_check_data_size("vCPU ring", l->vcpu_ring_size, err) < 0 ||
        ring_check_data_size("control ring", l->ctl_ring_size, err) < 0 ||
        ring_check_data_size("command ring", l->cmd_ring_size, err) < 0)
        return -1;
    uint32_t n = l->nr_vcpus + 2;
    uint64_t off = RING_DESC_OFFSET + (uint64_t)n * sizeof(struct ring_desc);
    off = ring_round_up(off, RING_CACHELINE);
    for (uint32_t i = 0; i < n; i++) {
        desc[i].ctrl_offset = off;
        off += sizeof(struct ring_ctrl);
    }
    for (uint32_t i = 0; i < n; i++) {
        off = ring_round_up(off, RING_PAGE);
        if (i < l->nr_vcpus) {
            desc[i].kind = RING_KIND_VCPU;
            desc[i].id = i;
            desc[i].data_size = l->vcpu_ring_size;
        } else if (i == l->nr_vcpus) {
            desc[i].kind = RING_KIND_CTL;
            desc[i].id = 0;
            desc[i].data_size = l->ctl_ring_size;
        } else {
            desc[i].kind = RING_KIND_CMD;
            desc[i].id = 0;
            desc[i].data_size = l->cmd_ring_size;
        }
        desc[i].data_offset = off;
        off += desc[i].data_size;
    }
    *total = ring_round_up(off, RING_PAGE);
    return 0;
}

int ring_layout_size(const struct ring_layout *l, size_t *size, struct hvk_err *err)
{
    struct ring_desc desc[RING_MAX_RINGS];
    uint64_t total;
    if (ring_layout_plan(l, desc, &total, err) < 0)
        return -1;
    if (total > SIZE_MAX)
        return hvk_err_set(err, "ring layout: %llu bytes do not fit in memory",
                           (unsigned long long)total);
    *size = (size_t)total;
    return 0;
}

int ring_region_init(void *base, size_t len, const struct ring_layout *l,
                     struct ring_region *r, struct hvk_err *err)
{
    struct ring_desc desc[RING_MAX_RINGS];
    uint64_t total;
    if (ring_layout_plan(l, desc, &total, err) < 0)
        return -1;
    if (len < total)
        return hvk_err_set(err, "ring region: %zu bytes, layout needs %llu", len,
                           (unsigned long long)total);
    if ((uintptr_t)base % RING_PAGE)
        return hvk_err_set(err, "ring region: base %p is not page aligned", base);
    uint8_t *b = base;
    uint32_t n = l->nr_vcpus + 2;
    memset(b, 0, (size_t)total);
    memcpy(b + RING_DESC_OFFSET, desc, n * sizeof desc[0]);
    for (uint32_t i = 0; i < n; i++) {
        struct ring_ctrl *c = (struct ring_ctrl *)(b + desc[i].ctrl_offset);
        atomic_init(&c->head, 0);
        atomic_init(&c->lost_total, 0);
        atomic_init(&c->seq_next, 0);
        atomic_init(&c->tail, 0);
        atomic_init(&c->waiting, 0);
    }
    struct ring_region_hdr h = {
        .magic = RING_MAGIC,
        .abi_version = RING_ABI_VERSION,
        .hdr_size = sizeof(struct ring_region_hdr),
        .region_size = len,
        .nr_vcpus = l->nr_vcpus,
        .nr_rings = n,
        .desc_offset = RING_DESC_OFFSET,
        .desc_size = sizeof(struct ring_desc),
        .ctrl_size = sizeof(struct ring_ctrl),
        .rec_hdr_size = sizeof(struct ring_rec_hdr),
    };
    /* Header last, released: a peer that sees the magic sees the rest. */
    memcpy(b, &h, sizeof h);
    atomic_thread_fence(memory_order_release);
    if (r)
        return ring_region_check(r, base, len, err);
    return 0;
}

/* [off, off + size) lies in [0, len): overflow-safe. */
static bool ring_in_region(uint64_t off, uint64_t size, uint64_t len)
{
    return off <= len && size <= len - off;
}

struct ring_span { uint64_t off, size; };

static bool ring_spans_overlap(struct ring_span a, struct ring_span b)
{
    return a.off < b.off + b.size && b.off < a.off + a.size;
}

int ring_region_check(struct ring_region *r, void *base, size_t len,
                      struct hvk_err *err)
{
    struct ring_region_hdr h;
    if (len < sizeof h)
        return hvk_err_set(err, "ring region: %zu bytes, smaller than its header", len);
    if ((uintptr_t)base % RING_CACHELINE)
        return hvk_err_set(err, "ring region: base %p is not cache-line aligned", base);
    memcpy(&h, base, sizeof h);   /* the one read of the header */
    atomic_thread_fence(memory_order_acquire);
    if (h.magic != RING_MAGIC)
        return hvk_err_set(err, "ring region: bad magic %#llx", (unsigned long long)h.magic);
    if (h.abi_version != RING_ABI_VERSION)
        return hvk_err_set(err, "ring region: ABI version %u, this build speaks %u",
                           h.abi_version, RING_ABI_VERSION);
    if (h.hdr_size != sizeof h || h.desc_size != sizeof(struct ring_desc) ||
        h.ctrl_size != sizeof(struct ring_ctrl) ||
        h.rec_hdr_size != sizeof(struct ring_rec_hdr))
        return hvk_err_set(err, "ring region: structure sizes %u/%u/%u/%u differ from this build's",
                           h.hdr_size, h.desc_size, h.ctrl_size, h.rec_hdr_size);
    if (h.region_size != len)
        return hvk_err_set(err, "ring region: header says %llu bytes, mapping has %zu",
                           (unsigned long long)h.region_size, len);
    if (h.nr_vcpus < 1 || h.nr_vcpus > RING_MAX_VCPUS)
        return hvk_err_set(err, "ring region: %u vCPUs, want 1..%u", h.nr_vcpus, RING_MAX_VCPUS);
    if (h.nr_rings != h.nr_vcpus + 2)
        return hvk_err_set(err, "ring region: %u rings for %u vCPUs, want %u",
                           h.nr_rings, h.nr_vcpus, h.nr_vcpus + 2);
    uint64_t desc_bytes = (uint64_t)h.nr_rings * sizeof(struct ring_desc);
    if (h.desc_offset < sizeof h || h.desc_offset % 8 ||
        !ring_in_region(h.desc_offset, desc_bytes, len))
        return hvk_err_set(err, "ring region: descriptor table at %u (+%llu) outside the region",
                           h.desc_offset, (unsigned long long)desc_bytes);

    r->base = base;
    r->size = len;
    r->nr_vcpus = h.nr_vcpus;
    r->nr_rings = h.nr_rings;
    memcpy(r->desc, (uint8_t *)base + h.desc_offset, desc_bytes);  /* one read */

    /* Areas: header+descriptors, then per ring ctrl and data. */
    struct ring_span spans[1 + 2 * RING_MAX_RINGS];
    uint32_t ns = 0;
    spans[ns++] = (struct ring_span){0, h.desc_offset + desc_bytes};
    for (uint32_t i = 0; i < r->nr_rings; i++) {
        const struct ring_desc *d = &r->desc[i];
        uint32_t want_kind = i < r->nr_vcpus ? RING_KIND_VCPU
                           : i == r->nr_vcpus ? RING_KIND_CTL : RING_KIND_CMD;
        uint32_t want_id = i < r->nr_vcpus ? i : 0;
        if (d->kind != want_kind || d->id != want_id)
            return hvk_err_set(err, "ring region: ring %u has kind %u id %u, want %u/%u",
                               i, d->kind, d->id, want_kind, want_id);
        if (d->ctrl_offset % RING_CACHELINE ||
            !ring_in_region(d->ctrl_offset, sizeof(struct ring_ctrl), len))
            return hvk_err_set(err, "ring region: ring %u control block at %llu misaligned or outside",
                               i, (unsigned long long)d->ctrl_offset);
        if (!ring_is_pow2(d->data_size) || d->data_size < RING_DATA_MIN ||
            d->data_size > RING_DATA_MAX)
            return hvk_err_set(err, "ring region: ring %u data size %llu invalid",
                               i, (unsigned long long)d->data_size);
        if (d->data_offset % RING_PAGE || !ring_in_region(d->data_offset, d->data_size, len))
            return hvk_err_set(err, "ring region: ring %u data at %llu (+%llu) misaligned or outside",
                               i, (unsigned long long)d->data_offset,
                               (unsigned long long)d->data_size);
        spans[ns++] = (struct ring_span){d->ctrl_offset, sizeof(struct ring_ctrl)};
        spans[ns++] = (struct ring_span){d->data_offset, d->data_size};
    }
    /* Pairwise, bounded by (1 + 2 * 256)^2 / 2 comparisons. */
    for (uint32_t a = 0; a < ns; a++)
        for (uint32_t b = a + 1; b < ns; b++)
            if (ring_spans_overlap(spans[a], spans[b]))
                return hvk_err_set(err, "ring region: areas at %llu and %llu overlap",
                                   (unsigned long long)spans[a].off,
                                   (unsigned long long)spans[b].off);
    return 0;
}
