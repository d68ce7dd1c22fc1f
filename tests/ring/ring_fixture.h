/* ring_fixture.h -- test helper: a ring region in a sealed, mapped memfd,
 * created the way hv creates it. */
#ifndef RING_FIXTURE_H
#define RING_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hvkit/ring.h"

struct ring_fixture {
    int fd;
    void *base;
    size_t size;
    struct ring_region r;     /* heap-sized snapshot is large: keep it here */
};

/* Returns a fixture with nr_vcpus rings of vcpu_size bytes; aborts on failure
 * (a test helper failing is a test failure). */
static inline struct ring_fixture *ring_fixture_new(uint32_t nr_vcpus, uint64_t vcpu_size,
                                                    uint64_t ctl_size, uint64_t cmd_size)
{
    struct hvk_err err = {{0}};
    struct ring_layout l = {nr_vcpus, vcpu_size, ctl_size, cmd_size};
    struct ring_fixture *f = calloc(1, sizeof *f);
    if (!f || ring_layout_size(&l, &f->size, &err) < 0)
        goto fail;
    f->fd = ring_memfd_create("ring-test", f->size, &err);
    if (f->fd < 0)
        goto fail;
    f->base = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (f->base == MAP_FAILED) {
        snprintf(err.msg, sizeof err.msg, "mmap failed");
        goto fail;
    }
    if (ring_region_init(f->base, f->size, &l, &f->r, &err) < 0)
        goto fail;
    return f;
fail:
    fprintf(stderr, "ring fixture: %s\n", err.msg);
    abort();
}

static inline void ring_fixture_free(struct ring_fixture *f)
{
    if (!f)
        return;
    munmap(f->base, f->size);
    close(f->fd);
    free(f);
}

/* The shared control block and data area of ring i (for tests that corrupt
 * them on purpose). */
static inline struct ring_ctrl *ring_fixture_ctrl(struct ring_fixture *f, uint32_t i)
{
    return (struct ring_ctrl *)((uint8_t *)f->base + f->r.desc[i].ctrl_offset);
}

static inline uint8_t *ring_fixture_data(struct ring_fixture *f, uint32_t i)
{
    return (uint8_t *)f->base + f->r.desc[i].data_offset;
}

#endif
