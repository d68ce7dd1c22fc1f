/* hvd_buf.c -- growable byte buffers for client input and output. */
#include <stdlib.h>
#include <string.h>

#include "hvd.h"

int hvd_buf_append(struct hvd_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;   /* b->p may still be NULL */
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        /* Reclaim the consumed prefix before growing. */
        if (b->off) {
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n)
                cap *= 2;
            char *q = realloc(b->p, cap);
            if (!q)
                return -1;
            b->p = q;
            b->cap = cap;
        }
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

void hvd_buf_consume(struct hvd_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = b->len = 0;
        /* Give back big buffers once they are empty. */
        if (b->cap > (1u << 20)) {
            free(b->p);
            b->p = NULL;
            b->cap = 0;
        }
    }
}

void hvd_buf_free(struct hvd_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
