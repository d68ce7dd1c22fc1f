/* test_walk_data.c -- data-driven walker tests: tests/data/walk/<case>.json against <case>.expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"

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

    golden_check(expected, actual);
    free(actual);
}

static const char *walk_name_at(size_t i)
{
    return walk_tests[i].name;
}

/* Catches a case file added to tests/data/walk but not to walk_cases.def. */
static void test_all_listed(void **state)
{
    (void)state;
    golden_all_listed(walk_datadir, walk_name_at, WALK_NTESTS, "tests/walk/walk_cases.def");
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
