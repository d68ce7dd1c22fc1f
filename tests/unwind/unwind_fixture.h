/* unwind_fixture.h -- a sparse guest-virtual memory of 4 KiB pages for unwinder tests and fuzzers. */
#ifndef UNWIND_FIXTURE_H
#define UNWIND_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <x86/unwind.h>

#define UFIX_MAX_PAGES 64
#define UFIX_MAX_TEXT 8

struct ufix_page {
    uint64_t gva;              /* 4 KiB aligned */
    uint8_t data[4096];
};

struct ufix {
    struct ufix_page pages[UFIX_MAX_PAGES];
    unsigned npages;
    uint64_t text[UFIX_MAX_TEXT][2];   /* [lo, hi) ranges is_text answers for */
    unsigned ntext;
    unsigned reads;                   /* reader calls */
    unsigned bad_shape;               /* reads of len 0 or > 8 */
};

void ufix_init(struct ufix *f);
/* Map a zero-filled page (gva rounded down); -1 if full. */
int ufix_map(struct ufix *f, uint64_t gva);
/* Store v little-endian at gva; -1 if any byte is unmapped. */
int ufix_put64(struct ufix *f, uint64_t gva, uint64_t v);
int ufix_add_text(struct ufix *f, uint64_t lo, uint64_t hi);

int ufix_read(void *ctx, uint64_t gva, void *buf, size_t len);
bool ufix_is_text(void *ctx, uint64_t addr);

static inline struct x86_gva_reader ufix_reader(struct ufix *f)
{
    return (struct x86_gva_reader){ ufix_read, f };
}

#endif
