/* test_ring_stress.c -- two threads push 10^7 records through one ring: every
 * record arrives intact and in order or is counted as lost, exactly
 * (delivered + lost == generated), on a small ring where losses really happen
 * and on a large one with eventfd doorbells (a lost wakeup hangs and fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "ring_fixture.h"

#define STRESS_RECORDS 10000000ull
#define STRESS_DEADLINE_NS (60ull * 1000000000ull)   /* hard limit per run */
#define STRESS_MAX_PAYLOAD 72u

struct stress {
    struct ring_fixture *f;
    uint64_t n;
    int efd;                     /* doorbell, or -1 to spin */
    uint64_t start_ns;
    /* producer results */
    uint64_t p_ok, p_dropped, p_kicks;
    _Atomic int p_failed;
    /* consumer results */
    uint64_t delivered, lost, arms, sleeps, wakeups;
    char fail[600];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Payload of record `seq`: {u32 fnv1a(bytes 4..len), u32 len, u64 seq,
 * pseudo-random bytes derived from seq}; len in [16, STRESS_MAX_PAYLOAD]. */
static uint32_t stress_len(uint64_t seq)
{
    return 16 + (uint32_t)((seq * 2654435761u) >> 7) % (STRESS_MAX_PAYLOAD - 16 + 1);
}

static uint32_t stress_fnv(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void stress_fill(uint8_t *p, uint64_t seq, uint32_t len)
{
    uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;
    memcpy(p + 4, &len, 4);
    memcpy(p + 8, &seq, 8);
    for (uint32_t i = 16; i < len; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        p[i] = (uint8_t)x;
    }
    uint32_t sum = stress_fnv(p + 4, len - 4);
    memcpy(p, &sum, 4);
}

static bool stress_check(const uint8_t *p, uint64_t seq, uint32_t len)
{
    uint8_t want[STRESS_MAX_PAYLOAD];
    uint32_t sum;
    if (len != stress_len(seq))
        return false;
    memcpy(&sum, p, 4);
    if (sum != stress_fnv(p + 4, len - 4))
        return false;
    stress_fill(want, seq, len);
    return memcmp(want, p, len) == 0;
}

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    struct hvk_err err = {{0}};
    struct ring_producer p;
    uint8_t buf[STRESS_MAX_PAYLOAD];
    if (ring_producer_init(&p, &s->f->r, 0, 0, s->efd, &err) < 0)
        goto fail;
    for (uint64_t seq = 0; seq < s->n; seq++) {
        uint32_t len = stress_len(seq);
        int rc;
        if (seq & 1) {                   /* both paths: write, reserve+commit */
            stress_fill(buf, seq, len);
            rc = ring_write(&p, RING_REC_FAULT, 0, buf, len, &err);
        } else {
            void *at;
            rc = ring_reserve(&p, RING_REC_WALK, 0, len, &at, &err);
            if (rc == RING_OK) {
                stress_fill(at, seq, len);
                ring_commit(&p);
            }
        }
        if (rc == RING_OK)
            s->p_ok++;
        else if (rc == RING_DROPPED)
            s->p_dropped++;
        else
            goto fail;
    }
    /* Report the last losses; the consumer is draining, so this ends. */
    while (ring_flush(&p) != 0) {
        if (now_ns() - s->start_ns > STRESS_DEADLINE_NS) {
            hvk_err_set(&err, "flush never found room");
            goto fail;
        }
        sched_yield();
    }
    s->p_kicks = p.kicks;
    return NULL;
fail:
    snprintf(s->fail, sizeof s->fail, "producer: %s", err.msg);
    atomic_store(&s->p_failed, 1);
    return NULL;
}

static void *stress_consumer(void *arg)
{
    struct stress *s = arg;
    struct hvk_err err = {{0}};
    struct ring_consumer c;
    struct ring_rec_hdr h;
    static _Thread_local uint8_t buf[1 << 16];
    uint64_t expect = 0, idle = 0;
    if (ring_consumer_init(&c, &s->f->r, 0, &err) < 0)
        goto fail;
    while (s->delivered + s->lost < s->n) {
        int rc = ring_read_next(&c, &h, buf, sizeof buf, &err);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            if (atomic_load(&s->p_failed))
                return NULL;
            if (++idle % 1024 == 0 && now_ns() - s->start_ns > STRESS_DEADLINE_NS) {
                hvk_err_set(&err, "stuck at seq %llu", (unsigned long long)expect);
                goto fail;
            }
            if (s->efd < 0) {
                sched_yield();
                continue;
            }
            s->arms++;
            rc = ring_consumer_arm(&c, &err);
            if (rc < 0)
                goto fail;
            if (rc == 1) {
                struct pollfd pfd = {s->efd, POLLIN, 0};
                s->sleeps++;
                /* The producer is still writing or flushing, so a correct
                 * doorbell protocol always wakes us well within this. */
                if (poll(&pfd, 1, 10000) != 1) {
                    hvk_err_set(&err, "lost wakeup at seq %llu", (unsigned long long)expect);
                    goto fail;
                }
                s->wakeups += ring_doorbell_drain(s->efd, &err) == 1;
            }
            continue;
        }
        if (h.type == RING_REC_LOST) {
            struct ring_lost l;
            memcpy(&l, buf, sizeof l);
            if (h.seq != expect || l.count == 0 || l.total != s->lost + l.count) {
                hvk_err_set(&err, "bad LOST seq %llu count %llu total %llu, expected seq %llu",
                            (unsigned long long)h.seq, (unsigned long long)l.count,
                            (unsigned long long)l.total, (unsigned long long)expect);
                goto fail;
            }
            s->lost += l.count;
            expect += l.count;
            continue;
        }
        uint32_t len = h.size - (uint32_t)sizeof h;
        if (h.seq != expect || h.type != ((h.seq & 1) ? RING_REC_FAULT : RING_REC_WALK) ||
            !stress_check(buf, h.seq, len)) {
            hvk_err_set(&err, "record seq %llu (expected %llu) type %u len %u corrupt",
                        (unsigned long long)h.seq, (unsigned long long)expect, h.type, len);
            goto fail;
        }
        s->delivered++;
        expect++;
    }
    if (c.delivered != s->delivered || c.lost != s->lost) {
        hvk_err_set(&err, "consumer counters %llu/%llu disagree",
                    (unsigned long long)c.delivered, (unsigned long long)c.lost);
        goto fail;
    }
    return NULL;
fail:
    snprintf(s->fail, sizeof s->fail, "consumer: %s", err.msg);
    return NULL;
}

static void stress_run(uint64_t ring_size, bool doorbell, bool expect_losses)
{
    struct stress s = {0};
    s.f = ring_fixture_new(1, ring_size, 4096, 4096);
    s.n = STRESS_RECORDS;
    const char *env = getenv("RING_STRESS_RECORDS");   /* e.g. for TSan runs */
    if (env && strtoull(env, NULL, 0) > 0)
        s.n = strtoull(env, NULL, 0);
    s.efd = doorbell ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
    if (doorbell)
        assert_true(s.efd >= 0);
    s.start_ns = now_ns();
    pthread_t pt, ct;
    assert_int_equal(pthread_create(&ct, NULL, stress_consumer, &s), 0);
    assert_int_equal(pthread_create(&pt, NULL, stress_producer, &s), 0);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    double secs = (double)(now_ns() - s.start_ns) / 1e9;
    printf("ring %llu bytes%s: %llu generated, %llu delivered, %llu lost (%.1f%%), "
           "%llu arms, %llu kicks, %llu sleeps, %.2f s\n",
           (unsigned long long)ring_size, doorbell ? " +doorbell" : "",
           (unsigned long long)s.n, (unsigned long long)s.delivered,
           (unsigned long long)s.lost, 100.0 * (double)s.lost / (double)s.n,
           (unsigned long long)s.arms, (unsigned long long)s.p_kicks,
           (unsigned long long)s.sleeps, secs);
    if (s.fail[0])
        fail_msg("%s", s.fail);
    assert_int_equal(s.delivered + s.lost, s.n);
    assert_int_equal(s.delivered, s.p_ok);
    assert_int_equal(s.lost, s.p_dropped);
    if (expect_losses)
        assert_true(s.lost > 0);
    if (doorbell) {
        assert_true(s.p_kicks <= s.arms);   /* at most one kick per wakeup request */
        close(s.efd);
    }
    ring_fixture_free(s.f);
}

static void test_stress_small_ring(void **state)
{
    (void)state;
    stress_run(1024, false, true);
}

static void test_stress_large_ring_doorbell(void **state)
{
    (void)state;
    stress_run(1 << 20, true, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_small_ring),
        cmocka_unit_test(test_stress_large_ring_doorbell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
