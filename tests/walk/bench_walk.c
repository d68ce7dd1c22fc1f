/* bench_walk.c -- walks per second (uncached 4-level, 4 KiB pages, warm memory) vs a 4-load pointer-chase floor, and maps time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <x86/maps.h>
#include <x86/walk.h>

/* Flat guest RAM holding the tables. */
struct bench_ram {
    uint8_t *mem;
    uint64_t size;
};

static int bench_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct bench_ram *r = ctx;
    if (gpa >= r->size || len > r->size - gpa)
        return -1;
    if (len == 8)   /* the walker's case: a constant-size copy is one load */
        memcpy(buf, r->mem + gpa, 8);
    else
        memcpy(buf, r->mem + gpa, len);
    return 0;
}

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_put(struct bench_ram *r, uint64_t gpa, uint64_t v)
{
    memcpy(r->mem + gpa, &v, 8);
}

/* Map npages 4 KiB pages from VA 0 to GPA 1 GiB.. with one PML4, one PDPT,
 * enough PDs and PTs; tables from GPA 0x1000 upwards. Returns CR3. */
static uint64_t bench_build(struct bench_ram *r, uint64_t npages)
{
    uint64_t next = 0x2000, pml4 = 0x1000;
    uint64_t npt = (npages + 511) / 512, npd = (npt + 511) / 512;
    uint64_t pdpt = next; next += 0x1000;
    bench_put(r, pml4, pdpt | 7);
    for (uint64_t d = 0; d < npd; d++) {
        uint64_t pd = next; next += 0x1000;
        bench_put(r, pdpt + d * 8, pd | 7);
        for (uint64_t t = 0; t < 512 && d * 512 + t < npt; t++) {
            uint64_t pt = next; next += 0x1000;
            bench_put(r, pd + t * 8, pt | 7);
            for (uint64_t p = 0; p < 512; p++) {
                uint64_t page = (d * 512 + t) * 512 + p;
                if (page >= npages)
                    break;
                bench_put(r, pt + p * 8, ((1ull << 30) + page * 4096) | 0x67);
            }
        }
    }
    return pml4;
}

static int bench_count(void *ctx, const struct x86_map_range *rg)
{
    (void)rg;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* The floor: four dependent loads per address, shaped like a walk. */
static uint64_t bench_chase(const uint8_t *mem, uint64_t cr3, uint64_t va)
{
    uint64_t t = cr3, e;
    for (int shift = 39; shift >= 12; shift -= 9) {
        memcpy(&e, mem + t + ((va >> shift) & 511) * 8, 8);
        t = e & 0x000ffffffffff000ull;
    }
    return t;
}

int main(int argc, char **argv)
{
    int smoke = argc > 1 && !strcmp(argv[1], "--smoke");
    uint64_t npages = smoke ? (1ull << 16) : (1ull << 20);       /* 256 MiB / 4 GiB of VA */
    uint64_t iters = smoke ? 200000 : 5000000;
    uint64_t tables = (2 + (npages / 512 / 512 + 1) + (npages + 511) / 512 + 1) * 4096;
    struct bench_ram r = { calloc(1, tables), tables };
    if (!r.mem) {
        fprintf(stderr, "bench_walk: out of memory\n");
        return 1;
    }
    uint64_t cr3 = bench_build(&r, npages);
    struct x86_paging_regs regs = {
        .cr0 = X86_CR0_PE | X86_CR0_WP | X86_CR0_PG, .cr3 = cr3, .cr4 = X86_CR4_PAE,
        .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE, .rflags = 2,
    };
    struct x86_cpu_facts cpu = { .maxphyaddr = 46, .nx = true, .pdpe1gb = true, .pse = true };
    struct x86_mem mem = { bench_read, &r };
    struct x86_access acc = { X86_ACCESS_READ, X86_PRIV_USER };

    /* addresses: a fixed pseudo-random sequence over the mapped range,
     * precomputed so both loops pay the same (nothing) for it */
    size_t nva = 1u << 16;
    uint64_t *vas = malloc(nva * sizeof *vas);
    if (!vas)
        return 1;
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < nva; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        vas[i] = (x % npages) * 4096 + (x >> 52);
    }

    /* warm up: touch every table, check the walker against the chase */
    for (size_t i = 0; i < nva; i++) {
        struct x86_walk w;
        if (x86_walk(&regs, &cpu, &mem, vas[i], acc, &w, NULL) < 0 || w.reason != X86_WALK_OK ||
            (w.gpa & ~0xfffull) != bench_chase(r.mem, cr3, vas[i])) {
            fprintf(stderr, "bench_walk: walk of %#llx disagrees with the table layout\n",
                    (unsigned long long)vas[i]);
            return 1;
        }
    }

    /* Two shapes, best of three runs each:
     * - latency: each address depends on the previous result (res >> 63 is
     *   always 0, but the CPU must wait for it), so neither loop overlaps
     *   one walk with the next: what one walk costs on its own;
     * - throughput: independent addresses, the CPU may overlap walks. */
    double best[2][2] = { { 1e9, 1e9 }, { 1e9, 1e9 } };   /* [latency|throughput][walk|floor] */
    uint64_t sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (int shape = 0; shape < 2; shape++) {
            uint64_t dep = 0;
            double t0 = bench_now();
            for (uint64_t i = 0; i < iters; i++) {
                struct x86_walk w;
                x86_walk(&regs, &cpu, &mem, vas[(i ^ dep) & (nva - 1)], acc, &w, NULL);
                sink += w.gpa;
                if (shape == 0) {
                    uint64_t g = w.gpa;
                    __asm__("" : "+r"(g));   /* the compiler may not know g's bits */
                    dep = g >> 63;
                }
            }
            double t1 = bench_now();
            dep = 0;
            for (uint64_t i = 0; i < iters; i++) {
                uint64_t g = bench_chase(r.mem, cr3, vas[(i ^ dep) & (nva - 1)]);
                sink += g;
                if (shape == 0) {
                    __asm__("" : "+r"(g));
                    dep = g >> 63;
                }
            }
            double t2 = bench_now();
            if (t1 - t0 < best[shape][0]) best[shape][0] = t1 - t0;
            if (t2 - t1 < best[shape][1]) best[shape][1] = t2 - t1;
        }
    }
    static const char *const shape_name[2] = { "latency   ", "throughput" };
    for (int shape = 0; shape < 2; shape++) {
        double ns_walk = best[shape][0] * 1e9 / (double)iters;
        double ns_floor = best[shape][1] * 1e9 / (double)iters;
        printf("%s walk:  %6.2f M walks/s (%5.1f ns per uncached 4-level walk, 4 KiB pages, warm %llu KiB of tables)\n",
               shape_name[shape], 1e3 / ns_walk, ns_walk, (unsigned long long)(tables >> 10));
        printf("%s floor: %6.2f M chases/s (%5.1f ns for 4 dependent loads)\n", shape_name[shape],
               1e3 / ns_floor, ns_floor);
        printf("%s ratio: %.2fx the floor (target <= 2x)\n", shape_name[shape], ns_walk / ns_floor);
    }

    struct x86_maps_limits lim = { .max_entries = 1ull << 24, .max_ranges = 1ull << 24, .max_tables = 1ull << 20 };
    struct x86_maps_stats st;
    uint64_t nranges = 0;
    struct hvk_err err;
    double t0 = bench_now();
    if (x86_maps_enum(&regs, &cpu, &mem, &lim, bench_count, &nranges, &st, &err) < 0) {
        fprintf(stderr, "bench_walk: maps: %s\n", err.msg);
        return 1;
    }
    double t1 = bench_now();
    printf("maps:  %llu MiB of VA in %llu 4 KiB pages -> %llu range(s), %llu tables, %.1f ms%s\n",
           (unsigned long long)(npages * 4096 >> 20), (unsigned long long)npages,
           (unsigned long long)nranges, (unsigned long long)st.tables, (t1 - t0) * 1e3,
           st.truncated ? " (TRUNCATED)" : "");
    if (st.truncated || nranges != 1) {
        fprintf(stderr, "bench_walk: expected one coalesced range\n");
        return 1;
    }
    free(vas);
    free(r.mem);
    return sink == 42 ? 2 : 0;   /* keep the loops from being optimised away */
}
