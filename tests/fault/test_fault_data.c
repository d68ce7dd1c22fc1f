/* test_fault_data.c -- data-driven classification tests: tests/data/fault/<case>.json against <case>.expected. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

static char *fault_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

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

    const char *regen = getenv("HVKIT_TEST_REGENERATE");
    if (regen && !strcmp(regen, "1")) {
        FILE *f = fopen(expected, "w");
        assert_non_null(f);
        fputs(actual, f);
        assert_int_equal(fclose(f), 0);
        free(actual);
        return;
    }
    char *want = fault_read_file(expected);
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

/* Catches a case file added to tests/data/fault but not to fault_cases.def. */
static void test_all_listed(void **state)
{
    (void)state;
    DIR *d = opendir(fault_datadir);
    assert_non_null(d);
    struct dirent *e;
    unsigned files = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        files++;
        bool found = false;
        for (size_t i = 0; i < FAULT_NTESTS; i++)
            if (strlen(fault_tests[i].name) == n - 5 && !strncmp(fault_tests[i].name, e->d_name, n - 5))
                found = true;
        if (!found) {
            closedir(d);
            fail_msg("%s is not listed in tests/fault/fault_cases.def", e->d_name);
        }
    }
    closedir(d);
    assert_int_equal(files, FAULT_NTESTS);
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
