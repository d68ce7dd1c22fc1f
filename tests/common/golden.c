/* golden.c -- golden-file checks shared by the data-driven suites. */
#include "golden.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

char *golden_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (len + 4096 + 1) * 2;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                fclose(f);
                return NULL;
            }
            s = ns;
        }
        size_t n = fread(s + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

void golden_check(const char *expected_path, const char *actual)
{
    const char *regen = getenv("HVKIT_TEST_REGENERATE");
    if (regen && !strcmp(regen, "1")) {
        FILE *f = fopen(expected_path, "w");
        assert_non_null(f);
        fputs(actual, f);
        assert_int_equal(fclose(f), 0);
        return;
    }
    char *want = golden_read_file(expected_path);
    if (!want)
        fail_msg("cannot read %s (HVKIT_TEST_REGENERATE=1 writes it)", expected_path);
    if (strcmp(want, actual) != 0) {
        print_error("--- expected %s\n%s--- actual\n%s", expected_path, want, actual);
        free(want);
        fail_msg("output differs from %s", expected_path);
    }
    free(want);
}

void golden_all_listed(const char *datadir, const char *(*name_at)(size_t i), size_t n, const char *listfile)
{
    DIR *d = opendir(datadir);
    assert_non_null(d);
    struct dirent *e;
    size_t files = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        files++;
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strlen(name_at(i)) == len - 5 && !strncmp(name_at(i), e->d_name, len - 5);
        if (!found) {
            closedir(d);
            fail_msg("%s is not listed in %s", e->d_name, listfile);
        }
    }
    closedir(d);
    assert_int_equal(files, n);
}
