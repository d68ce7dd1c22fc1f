/* golden.h -- the golden-file checks every data-driven suite shares
 * (tests/data/<suite>/<case>.json with <case>.expected beside it, in the
 * libvirt manner). cmocka tests only: failures go through fail_msg. */
#ifndef HVKIT_TEST_GOLDEN_H
#define HVKIT_TEST_GOLDEN_H

#include <stddef.h>

/* The whole file, NUL-terminated (caller frees), or NULL. */
char *golden_read_file(const char *path);
/* Compare `actual` with the file `expected_path`; with
 * HVKIT_TEST_REGENERATE=1 write `actual` there instead (then read every
 * rewritten file by hand: a regenerated golden can bake in a bug). */
void golden_check(const char *expected_path, const char *actual);
/* Every <case>.json in datadir is one of the n names name_at(0..n-1), and
 * there are exactly n: a case file added but not listed in `listfile` (the
 * suite's .def table) fails. */
void golden_all_listed(const char *datadir, const char *(*name_at)(size_t i), size_t n, const char *listfile);

#endif
