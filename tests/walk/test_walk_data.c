/* test_walk_data.c -- data-driven walker tests: tests/data/walk/<case>.json against <case>.expected. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "walk_case.h"

struct walk_test {
    const char *name;
    bool invalid;   /* must be refused (loader or walker); .expected holds the error */
};

#define DO_TEST(name) { name, false }
#define DO_TEST_INVALID(name) { name "-invalid", true }

/* Every case in tests/data/walk, one line each. test_all_listed checks that
 * no .json file is missing from this table. */
static const struct walk_test walk_tests[] = {
#include "walk_cases.def"
};

#define WALK_NTESTS (sizeof walk_tests / sizeof walk_tests[0])

static const char *walk_datadir;

static char *walk_read_file(const char *path)
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

static void test_walk_case(void **state)
{
    const struct walk_test *t = *state;
    char json[1024], expected[1024];
    struct wc_case c;
    struct hvk_err err = { "" };
    char *actual = NULL;

    snprintf(json, sizeof json, "%s/%s.json", walk_datadir, t->name);
    snprintf(expected, sizeof expected, "%s/%s.expected", walk_datadir, t->name);

    int rc = wc_case_load(json, &c, &err);
    if (rc == 0) {
        rc = wc_case_run(&c, &actual, &err);
        wc_case_free(&c);
    }
    if (rc < 0) {
        size_t n = strlen(err.msg) + 16;
        actual = malloc(n);
        assert_non_null(actual);
        snprintf(actual, n, "ERROR: %s\n", err.msg);
    }
    if (t->invalid && rc == 0)
        fail_msg("%s: expected the case to be refused, it was not:\n%s", t->name, actual);
    if (!t->invalid && rc < 0)
        fail_msg("%s: %s", t->name, actual);

    const char *regen = getenv("HVKIT_TEST_REGENERATE");
    if (regen && !strcmp(regen, "1")) {
        FILE *f = fopen(expected, "w");
        assert_non_null(f);
        fputs(actual, f);
        assert_int_equal(fclose(f), 0);
        free(actual);
        return;
    }
    char *want = walk_read_file(expected);
    if (!want)
        fail_msg("%s: cannot read %s (HVKIT_TEST_REGENERATE=1 writes it)", t->name, expected);
    if (strcmp(want, actual) != 0) {
        print_error("--- expected %s\n%s--- actual\n%s", expected, want, actual);
        free(want);
        free(actual);
        fail_msg("%s: output differs from %s", t->name, expected);
    }
    free(want);
    free(actual);
}

/* Catches a case file added to tests/data/walk but not to walk_cases.def. */
static void test_all_listed(void **state)
{
    (void)state;
    DIR *d = opendir(walk_datadir);
    assert_non_null(d);
    struct dirent *e;
    unsigned files = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        files++;
        bool found = false;
        for (size_t i = 0; i < WALK_NTESTS; i++)
            if (strlen(walk_tests[i].name) == n - 5 && !strncmp(walk_tests[i].name, e->d_name, n - 5))
                found = true;
        if (!found) {
            closedir(d);
            fail_msg("%s is not listed in tests/walk/walk_cases.def", e->d_name);
        }
    }
    closedir(d);
    assert_int_equal(files, WALK_NTESTS);
}

int main(int argc, char **argv)
{
    static struct CMUnitTest tests[WALK_NTESTS + 1];
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATADIR\n", argv[0]);
        return 2;
    }
    walk_datadir = argv[1];
    for (size_t i = 0; i < WALK_NTESTS; i++)
        tests[i] = (struct CMUnitTest){ .name = walk_tests[i].name, .test_func = test_walk_case,
                                        .initial_state = (void *)&walk_tests[i] };
    tests[WALK_NTESTS] = (struct CMUnitTest){ .name = "all_listed", .test_func = test_all_listed };
    return _cmocka_run_group_tests("walk_data", tests, WALK_NTESTS + 1, NULL, NULL);
}
