/* test_fault_data.c -- data-driven classification tests: tests/data/fault/<case>.json against <case>.expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"

#include "fault_case.h"

struct fault_test {
    const char *name;
    bool invalid;   /* must be refused (loader, classifier or fill); .expected holds the error */
};

#define DO_TEST(name) { name, false }
#define DO_TEST_INVALID(name) { name "-invalid", true }

/* Every case in tests/data/fault, one line each; test_all_listed checks that
 * no .json file is missing from this table. */
static const struct fault_test fault_tests[] = {
#include "fault_cases.def"
};

#define FAULT_NTESTS (sizeof fault_tests / sizeof fault_tests[0])

static const char *fault_datadir;


static void test_fault_case(void **state)
{
    const struct fault_test *t = *state;
    char json[1024], expected[1024];
    struct fc_case c;
    struct hvk_err err = { "" };
    char *actual = NULL;

    snprintf(json, sizeof json, "%s/%s.json", fault_datadir, t->name);
    snprintf(expected, sizeof expected, "%s/%s.expected", fault_datadir, t->name);
    int rc = fc_case_load(json, &c, &err);
    if (rc == 0) {
        rc = fc_case_run(&c, &actual, NULL, &err);
        fc_case_free(&c);
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

static const char *fault_name_at(size_t i)
{
    return fault_tests[i].name;
}

/* Catches a case file added to tests/data/fault but not to fault_cases.def. */
static void test_all_listed(void **state)
{
    (void)state;
    golden_all_listed(fault_datadir, fault_name_at, FAULT_NTESTS, "tests/fault/fault_cases.def");
}

int main(int argc, char **argv)
{
    static struct CMUnitTest tests[FAULT_NTESTS + 1];
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATADIR\n", argv[0]);
        return 2;
    }
    fault_datadir = argv[1];
    for (size_t i = 0; i < FAULT_NTESTS; i++)
        tests[i] = (struct CMUnitTest){ .name = fault_tests[i].name, .test_func = test_fault_case,
                                        .initial_state = (void *)&fault_tests[i] };
    tests[FAULT_NTESTS] = (struct CMUnitTest){ .name = "all_listed", .test_func = test_all_listed };
    return _cmocka_run_group_tests("fault_data", tests, FAULT_NTESTS + 1, NULL, NULL);
}
