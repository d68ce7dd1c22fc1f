/* fuzz_maps.c -- libFuzzer harness: x86_maps_enum over random guest RAM and registers must stay within its bounds. */
#include <stdio.h>

#include <x86/maps.h>

#include "fuzz_common.h"

#define FUZZ_MAPS_RAM (32u * 1024)

struct fuzz_maps_ctx {
    uint64_t ranges;
    bool have_last;
    uint64_t last_end;
    unsigned bad;
};

static int fuzz_maps_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    /* tables are read whole: 4 KiB, or the 32-byte PAE PDPT, never across a page */
    if (!(len == 4096 && !(gpa & 0xfff)) && !(len == 32 && !(gpa & 31)))
        abort();
    return fuzz_read(ctx, gpa, buf, len);
}

static int fuzz_maps_range(void *ctx, const struct x86_map_range *rg)
{
    struct fuzz_maps_ctx *c = ctx;
    c->ranges++;
    if (rg->size == 0 || rg->size % rg->page_size || rg->va % rg->page_size)
        abort();
    /* increasing, non-overlapping VAs (the end may wrap to 0 only for the last range) */
    if (c->have_last && rg->va < c->last_end)
        abort();
    c->have_last = true;
    c->last_end = rg->va + rg->size;
    if (c->last_end == 0)
        c->last_end = UINT64_MAX;
    char line[160];
    x86_map_range_format(rg, line, sizeof line);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FUZZ_HDR)
        return 0;
    /* RAM is FUZZ_MAPS_RAM zeroed bytes; the rest of the input is records
     * {u16 qword index, u64 value} stored into it, so a small input can
     * describe sparse tables anywhere in it. */
    size_t ram_size = FUZZ_MAPS_RAM;
    uint8_t *ram = calloc(1, ram_size);
    if (!ram)
        return 0;
    for (size_t off = FUZZ_HDR; off + 10 <= size; off += 10) {
        uint16_t idx;
        memcpy(&idx, data + off, 2);
        memcpy(ram + (idx % (FUZZ_MAPS_RAM / 8)) * 8, data + off + 2, 8);
    }
    struct fuzz_ram r = { ram, ram_size, 0 };
    struct x86_paging_regs regs;
    struct x86_cpu_facts cpu;
    struct x86_access acc;
    uint64_t gva;
    fuzz_decode(data, &regs, &cpu, &gva, &acc, ram_size);

    /* small limits so one input stays fast; the bounds themselves are what is checked */
    struct x86_maps_limits lim = { .max_entries = 20000, .max_ranges = 5000, .max_tables = 200 };
    struct x86_mem mem = { fuzz_maps_read, &r };
    struct fuzz_maps_ctx c = { 0 };
    struct x86_maps_stats st;
    struct hvk_err err;
    if (x86_maps_enum(&regs, &cpu, &mem, &lim, fuzz_maps_range, &c, &st, &err) < 0) {
        fprintf(stderr, "x86_maps_enum refused decoded inputs: %s\n", err.msg);
        abort();
    }
    if (st.entries > lim.max_entries || st.ranges > lim.max_ranges || c.ranges != st.ranges ||
        st.tables + st.unreadable > lim.max_tables || r.reads != st.tables + st.unreadable)
        abort();
    free(ram);
    return 0;
}
