/* test_hvd_scan.c -- unit tests of hvd's checks on untrusted text: JSON
 * nesting depth (strings and escapes skipped), hex address strings, and
 * one-line error descriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hvd.h"

static void test_depth(void **state)
{
    (void)state;
    static const struct { const char *text; unsigned max, want; } cases[] = {
        {"", 8, 0},
        {"1", 8, 0},
        {"{}", 8, 1},
        {"[[]]", 8, 2},
        {"[[],[[]]]", 8, 3},
        {"\"[[[[\"", 8, 0},                 /* brackets inside a string */
        {"[\"\\\"[[[\"]", 8, 1},            /* escaped quote does not end it */
        {"[\"\\\\\"]", 8, 1},               /* escaped backslash then the end */
        {"]]]][", 8, 1},                    /* stray closers do not go negative */
        {"[[[[[", 3, 4},                    /* stops at max + 1 */
        {"[[[]]]", 3, 3},                   /* exactly max is allowed */
        {"{\"a\":[{\"b\":[]}]}", 8, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = hvd_json_depth(cases[i].text, strlen(cases[i].text), cases[i].max);
        if (got != cases[i].want)
            fail_msg("depth of %s (max %u): %u, want %u", cases[i].text, cases[i].max, got, cases[i].want);
    }
    /* 1024 and 1025 levels, as the API limit is checked */
    char *deep = malloc(2 * 1025 + 1);
    assert_non_null(deep);
    memset(deep, '[', 1025);
    memset(deep + 1025, ']', 1025);
    deep[2050] = '\0';
    assert_int_equal(hvd_json_depth(deep + 1, 2048, 1024), 1024);
    assert_int_equal(hvd_json_depth(deep, 2050, 1024), 1025);
    free(deep);
}

static void test_hex(void **state)
{
    (void)state;
    static const struct { const char *s; bool ok; uint64_t v; } cases[] = {
        {"0x0", true, 0},
        {"0x1f", true, 0x1f},
        {"0xABCdef", true, 0xabcdef},
        {"0xffffffffffffffff", true, UINT64_MAX},
        {"0x0000000000000001", true, 1},
        {"0x00000000000000001", false, 0},  /* 17 digits */
        {"0x", false, 0},
        {"0X10", false, 0},
        {"10", false, 0},
        {"0x1g", false, 0},
        {"0x 1", false, 0},
        {"-0x1", false, 0},
        {"0x1 ", false, 0},
        {"", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        bool ok = hvd_parse_hex(cases[i].s, &v);
        if (ok != cases[i].ok || (ok && v != cases[i].v))
            fail_msg("'%s': ok %d v %llx", cases[i].s, ok, (unsigned long long)v);
    }
    uint64_t v;
    assert_false(hvd_parse_hex(NULL, &v));
}

static void test_one_line(void **state)
{
    (void)state;
    char out[8];
    hvd_one_line(out, sizeof out, "a\nb\tc\x7f\xc3\xa9", 8);
    assert_string_equal(out, "a?b?c??");
    hvd_one_line(out, sizeof out, "abc", 3);
    assert_string_equal(out, "abc");
    hvd_one_line(out, 1, "abc", 3);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
