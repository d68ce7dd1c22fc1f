/* table.c -- aligned columns and escape-free strings for human output. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

void hvctl_sanitize(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src && *src && i + 1 < len; src++)
        dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
    dst[i] = '\0';
}

static char *hvctl_table_dup(const char *s)
{
    size_t n = strlen(s ? s : "-");
    char *d = malloc(n + 1);
    if (d)
        hvctl_sanitize(d, n + 1, s ? s : "-");
    return d;
}

void hvctl_table_init(struct hvctl_table *t, size_t ncols, const char *const *header)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols <= HVCTL_TABLE_MAX_COLS ? ncols : HVCTL_TABLE_MAX_COLS;
    hvctl_table_add(t, header);
}

void hvctl_table_add(struct hvctl_table *t, const char *const *row)
{
    if (t->oom)
        return;
    if ((t->nrows + 1) * t->ncols > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : t->ncols * 16;
        char **n = realloc(t->cells, ncap * sizeof *n);
        if (!n) {
            t->oom = true;
            return;
        }
        t->cells = n;
        t->cap = ncap;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        char *d = hvctl_table_dup(row[c]);
        if (!d) {
            for (size_t k = 0; k < c; k++)
                free(t->cells[t->nrows * t->ncols + k]);
            t->oom = true;
            return;
        }
        t->cells[t->nrows * t->ncols + c] = d;
    }
    t->nrows++;
}

int hvctl_table_print(const struct hvctl_table *t, FILE *f, bool color)
{
    size_t w[HVCTL_TABLE_MAX_COLS] = { 0 };
    if (t->oom)
        return -1;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            if (n > w[c])
                w[c] = n;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        if (r == 0 && color)
            fputs("\033[1m", f);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            bool last = c + 1 == t->ncols;
            if (t->right[c])
                fprintf(f, "%*s", (int)w[c], s);
            else
                fprintf(f, "%-*s", last ? 0 : (int)w[c], s);
            if (!last)
                fputs("  ", f);
        }
        if (r == 0 && color)
            fputs("\033[0m", f);
        fputc('\n', f);
    }
    return 0;
}

void hvctl_table_free(struct hvctl_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}
