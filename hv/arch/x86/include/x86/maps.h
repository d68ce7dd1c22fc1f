/* maps.h -- enumerate a guest address space into coalesced mapped ranges (like QEMU's `info mem`). */
#ifndef X86_MAPS_H
#define X86_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvkit/error.h>
#include <x86/paging.h>

/* One run of mappings. Consecutive leaves are merged when their VAs and GPAs
 * are both contiguous and page_size and rights are equal. va is the
 * canonical (sign-extended) address. Ranges arrive in increasing va order. */
struct x86_map_range {
    uint64_t va;
    uint64_t gpa;
    uint64_t size;
    uint64_t page_size;
    struct x86_rights rights;
};

/* Hard bounds against hostile tables (self-references, every entry pointing
 * at the same table). Zero fields take the defaults below. */
struct x86_maps_limits {
    uint64_t max_entries;   /* present entries examined, all levels */
    uint64_t max_ranges;    /* ranges handed to the callback */
    uint64_t max_tables;    /* tables read (each read is up to 4 KiB) */
};

#define X86_MAPS_DEFAULT_MAX_ENTRIES (1ull << 22)
#define X86_MAPS_DEFAULT_MAX_RANGES  (1ull << 20)
#define X86_MAPS_DEFAULT_MAX_TABLES  (1ull << 16)

struct x86_maps_stats {
    uint64_t entries;       /* present entries examined */
    uint64_t tables;        /* tables read */
    uint64_t ranges;        /* ranges emitted */
    uint64_t unreadable;    /* tables whose GPA was not readable RAM (skipped) */
    uint64_t reserved;      /* present entries skipped for reserved bits */
    bool truncated;         /* a limit was hit: the enumeration is incomplete */
    bool stopped;           /* the callback asked to stop */
};

/* Called once per coalesced range. Return 0 to go on, nonzero to stop. */
typedef int (*x86_maps_fn)(void *ctx, const struct x86_map_range *r);

/* Enumerate every mapping reachable from CR3 in the mode the registers
 * select, skipping not-present entries (empty subtrees cost one entry each),
 * entries with reserved bits and unreadable tables (both counted in stats).
 * Paging off yields one identity range of 4 GiB. Rights are accumulated as
 * in x86_walk (no access is checked). Reaching a limit is not an error:
 * stats->truncated is set and 0 returned. Returns -1 with err only for bad
 * arguments (NULLs, MAXPHYADDR outside 32..52, inconsistent registers).
 * limits and stats may be NULL. */
int x86_maps_enum(const struct x86_paging_regs *regs, const struct x86_cpu_facts *cpu,
                  const struct x86_mem *mem, const struct x86_maps_limits *limits,
                  x86_maps_fn fn, void *ctx, struct x86_maps_stats *stats,
                  struct hvk_err *err);

/* One line for a range: "ffff800000000000-ffff800000200000 0000000001000000 2M srw- pkey=0"
 * (start-end VA, GPA, page size token 4K/2M/4M/1G, rights: u(ser)/s(upervisor),
 * r, w or -, x or -; " pkey=N" only when protection keys are on). Returns
 * snprintf-style length. */
size_t x86_map_range_format(const struct x86_map_range *r, char *buf, size_t len);

#endif
