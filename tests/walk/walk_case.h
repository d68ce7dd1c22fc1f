/* walk_case.h -- test fixture for the x86 walker: sparse guest memory and a case loaded from JSON. */
#ifndef WALK_CASE_H
#define WALK_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <x86/maps.h>
#include <x86/walk.h>

/* Sparse guest RAM: [0, ram_size) is readable; pages not listed read as 0.
 * Invariant: pages[i].gpa is 4 KiB aligned, < ram_size, and unique. */
struct wc_page {
    uint64_t gpa;
    unsigned char data[4096];
};

struct wc_mem {
    uint64_t ram_size;
    size_t npages;
    struct wc_page *pages;
    uint64_t reads;          /* read_gpa calls, for tests that count */
};

#define WC_MAX_PAGES 4096
#define WC_MAX_QUERIES 64

/* x86_mem reader over a wc_mem (ctx = struct wc_mem *). */
int wc_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len);
/* Store len bytes at gpa (must be inside ram_size); -1 with err otherwise. */
int wc_mem_write(struct wc_mem *m, uint64_t gpa, const void *buf, size_t len, struct hvk_err *err);
void wc_mem_free(struct wc_mem *m);

struct wc_query {
    uint64_t gva;
    struct x86_access acc;
};

struct wc_case {
    struct x86_paging_regs regs;
    struct x86_cpu_facts cpu;
    struct wc_mem mem;
    bool is_maps;
    struct x86_maps_limits limits;
    size_t nqueries;
    struct wc_query queries[WC_MAX_QUERIES];
};

/* Load a case file (format: tests/data/walk/README.md). -1 with err when the
 * file is malformed. */
int wc_case_load(const char *path, struct wc_case *c, struct hvk_err *err);
void wc_case_free(struct wc_case *c);

/* Run the case and append its text output to *out (malloc'd, caller frees).
 * -1 with err when the walker refuses the inputs. */
int wc_case_run(struct wc_case *c, char **out, struct hvk_err *err);

#endif
