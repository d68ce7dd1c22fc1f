/* unwind_fixture.c -- the sparse page memory behind the unwinder tests: reads fail on any unmapped byte. */
#include "unwind_fixture.h"

#include <string.h>

void ufix_init(struct ufix *f)
{
    memset(f, 0, sizeof *f);
}

static struct ufix_page *ufix_page(struct ufix *f, uint64_t gva)
{
    uint64_t p = gva & ~0xfffull;
    for (unsigned i = 0; i < f->npages; i++)
        if (f->pages[i].gva == p)
            return &f->pages[i];
    return NULL;
}

int ufix_map(struct ufix *f, uint64_t gva)
{
    if (ufix_page(f, gva))
        return 0;
    if (f->npages >= UFIX_MAX_PAGES)
        return -1;
    struct ufix_page *p = &f->pages[f->npages++];
    p->gva = gva & ~0xfffull;
    memset(p->data, 0, sizeof p->data);
    return 0;
}

/* Byte-wise, so a range may span two pages and wrap nowhere silently. */
static int ufix_access(struct ufix *f, uint64_t gva, uint8_t *buf, size_t len, bool write)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t a = gva + i;
        if (a < gva)
            return -1;
        struct ufix_page *p = ufix_page(f, a);
        if (!p)
            return -1;
        if (write)
            p->data[a & 0xfff] = buf[i];
        else
            buf[i] = p->data[a & 0xfff];
    }
    return 0;
}

int ufix_put64(struct ufix *f, uint64_t gva, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return ufix_access(f, gva, b, 8, true);
}

int ufix_add_text(struct ufix *f, uint64_t lo, uint64_t hi)
{
    if (f->ntext >= UFIX_MAX_TEXT)
        return -1;
    f->text[f->ntext][0] = lo;
    f->text[f->ntext][1] = hi;
    f->ntext++;
    return 0;
}

int ufix_read(void *ctx, uint64_t gva, void *buf, size_t len)
{
    struct ufix *f = ctx;
    f->reads++;
    if (len == 0 || len > 8)
        f->bad_shape++;
    return ufix_access(f, gva, buf, len, false);
}

bool ufix_is_text(void *ctx, uint64_t addr)
{
    struct ufix *f = ctx;
    for (unsigned i = 0; i < f->ntext; i++)
        if (addr >= f->text[i][0] && addr < f->text[i][1])
            return true;
    return false;
}
