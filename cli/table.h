/* table.h -- aligned text columns for hvctl's human output, and printing
 * strings that came from hvd (or a guest) without terminal escapes. */
#ifndef HVCTL_TABLE_H
#define HVCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HVCTL_TABLE_MAX_COLS 12

/* A table of strings; row 0 is the header. Cells are copied (sanitized). */
struct hvctl_table {
    size_t ncols, nrows, cap;
    char **cells;                         /* nrows * ncols, row-major */
    bool right[HVCTL_TABLE_MAX_COLS];     /* right-align this column */
    bool oom;                             /* an add failed: print refuses */
};

void hvctl_table_init(struct hvctl_table *t, size_t ncols, const char *const *header);
/* Add a row of ncols cells (NULL cells print as "-"). */
void hvctl_table_add(struct hvctl_table *t, const char *const *row);
/* Print with every column as wide as its widest cell, two spaces apart;
 * the header bold when color. -1 if an add ran out of memory. */
int hvctl_table_print(const struct hvctl_table *t, FILE *f, bool color);
void hvctl_table_free(struct hvctl_table *t);

/* Copy src into dst (len >= 1), replacing control and non-ASCII bytes
 * with '?', so a hostile name cannot drive the terminal. */
void hvctl_sanitize(char *dst, size_t len, const char *src);

#endif
