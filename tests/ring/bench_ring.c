/* bench_ring.c -- raw two-thread ring throughput (records/s, MB/s) for a few
 * record sizes: the ceiling hvd's event rate is later compared against.
 * Modes: "lossless" (producer retries on a full ring: the transfer limit) and
 * "lossy" (producer never waits, as a vCPU does: delivered rate and losses).
 * Usage: bench_ring [--smoke] [--seconds S]. One line per result:
 *   ring_bench size=B mode=M records_per_s=R mb_per_s=X delivered=D lost=L */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hvkit/ring.h"

#define BENCH_RING_SIZE (1u << 20)

struct bench {
    struct ring_region *r;
    uint32_t rec_size;          /* whole record, header included */
    bool lossy;
    uint64_t run_ns;
    _Atomic uint64_t generated; /* final count, set when the producer stops */
    _Atomic int stop;
    uint64_t delivered, lost, end_ns, start_ns;
    char fail[600];
};

static uint64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *bench_producer(void *arg)
{
    struct bench *b = arg;
    struct hvk_err err = {{0}};
    struct ring_producer p;
    uint32_t len = b->rec_size - (uint32_t)sizeof(struct ring_rec_hdr);
    uint64_t n = 0;
    if (ring_producer_init(&p, b->r, 0, b->lossy ? 0 : RING_PROD_NOLOSS, -1, &err) < 0)
        goto fail;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        for (int k = 0; k < 256; k++) {       /* check the clock rarely */
            void *at;
            int rc = ring_reserve(&p, RING_REC_FAULT, 0, len, &at, &err);
            if (rc == RING_OK) {
                memset(at, (int)n, len);
                ring_commit(&p);
                n++;
            } else if (rc == RING_DROPPED) {
                n++;
            } else if (rc == RING_FULL) {
                sched_yield();
            } else {
                goto fail;
            }
        }
        if (bench_now() - b->start_ns > b->run_ns)
            atomic_store(&b->stop, 1);
    }
    while (ring_flush(&p) != 0)
        sched_yield();
    atomic_store(&b->generated, n);
    return NULL;
fail:
    snprintf(b->fail, sizeof b->fail, "producer: %s", err.msg);
    atomic_store(&b->generated, UINT64_MAX);
    atomic_store(&b->stop, 1);
    return NULL;
}

static void *bench_consumer(void *arg)
{
    struct bench *b = arg;
    struct hvk_err err = {{0}};
    struct ring_consumer c;
    struct ring_rec_hdr h;
    static _Thread_local uint8_t buf[BENCH_RING_SIZE / 4];
    if (ring_consumer_init(&c, b->r, 0, &err) < 0)
        goto fail;
    for (;;) {
        int rc = ring_read_next(&c, &h, buf, sizeof buf, &err);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            uint64_t g = atomic_load(&b->generated);
            if (g == UINT64_MAX || (g && c.delivered + c.lost == g))
                break;
            sched_yield();
        }
    }
    b->end_ns = bench_now();
    b->delivered = c.delivered;
    b->lost = c.lost;
    return NULL;
fail:
    snprintf(b->fail, sizeof b->fail, "consumer: %s", err.msg);
    atomic_store(&b->stop, 1);
    return NULL;
}

static int bench_one(uint32_t rec_size, bool lossy, double seconds)
{
    struct hvk_err err = {{0}};
    struct ring_layout l = {1, BENCH_RING_SIZE, 4096, 4096};
    size_t size;
    int rc = 1;
    uint8_t *base = NULL;
    struct bench *b = calloc(1, sizeof *b);
    if (!b || ring_layout_size(&l, &size, &err) < 0)
        goto out;
    base = aligned_alloc(RING_PAGE, size);
    b->r = malloc(sizeof *b->r);
    if (!base || !b->r || ring_region_init(base, size, &l, b->r, &err) < 0)
        goto out_free;
    b->rec_size = rec_size;
    b->lossy = lossy;
    b->run_ns = (uint64_t)(seconds * 1e9);
    b->start_ns = bench_now();
    pthread_t pt, ct;
    pthread_create(&ct, NULL, bench_consumer, b);
    pthread_create(&pt, NULL, bench_producer, b);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    if (b->fail[0]) {
        fprintf(stderr, "bench_ring: %s\n", b->fail);
        goto out_free;
    }
    double secs = (double)(b->end_ns - b->start_ns) / 1e9;
    printf("ring_bench size=%u mode=%s records_per_s=%.0f mb_per_s=%.1f delivered=%llu lost=%llu\n",
           rec_size, lossy ? "lossy" : "lossless", (double)b->delivered / secs,
           (double)b->delivered * rec_size / secs / 1e6,
           (unsigned long long)b->delivered, (unsigned long long)b->lost);
    fflush(stdout);
    rc = (b->delivered > 0) ? 0 : 1;
out_free:
    free(base);
    free(b->r);
out:
    if (err.msg[0])
        fprintf(stderr, "bench_ring: %s\n", err.msg);
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            seconds = 0.05;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_ring [--smoke] [--seconds S]\n");
            return 2;
        }
    }
    if (!(seconds > 0 && seconds < 3600)) {
        fprintf(stderr, "bench_ring: --seconds wants (0, 3600)\n");
        return 2;
    }
    static const uint32_t sizes[] = {32, 64, 256, 1024, 4096};
    int fails = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fails += bench_one(sizes[i], false, seconds);
        fails += bench_one(sizes[i], true, seconds);
    }
    return fails ? 1 : 0;
}
