/* test_unwind_data.c -- data-driven unwinder tests: tests/data/unwind/<case>.json (sparse stack + registers) against <case>.expected. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include <jansson.h>

#include "unwind_fixture.h"

struct unwind_case {
    const char *name;
    bool invalid;   /* x86_unwind/x86_stack_raw must refuse it; .expected holds the error */
};

#define DO_TEST(name) { name, false }
#define DO_TEST_INVALID(name) { name "-invalid", true }

/* Every case in tests/data/unwind, one line each; test_all_listed checks
 * that no .json file is missing here. */
static const struct unwind_case unwind_cases[] = {
#include "unwind_cases.def"
};
#define UNWIND_NCASES (sizeof unwind_cases / sizeof unwind_cases[0])

static const char *unwind_datadir;


static uint64_t unwind_hex(json_t *v)
{
    const char *s = json_string_value(v);
    assert_non_null(s);
    assert_true(strncmp(s, "0x", 2) == 0);
    char *end;
    uint64_t x = strtoull(s + 2, &end, 16);
    assert_true(*end == '\0' && end != s + 2);
    return x;
}

/* Appends to a growing text buffer (the .expected format). */
struct unwind_out {
    char buf[64 * 1024];
    size_t len;
};

__attribute__((format(printf, 2, 3)))
static void unwind_printf(struct unwind_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, sizeof o->buf - o->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof o->buf - o->len);
    o->len += (size_t)n;
}

/* The properties every result must have, whatever the case expects. */
static void unwind_check_invariants(const struct x86_stack *st, const struct ufix *f, unsigned max,
                                    uint64_t window)
{
    assert_true(st->nframes >= 1 && st->nframes <= max);
    assert_true(st->reads <= 2 * max + window / 4096 + 1);
    assert_int_equal(f->bad_shape, 0);
    assert_true(strlen(st->stop_desc) > 0 && strlen(st->stop_desc) < sizeof st->stop_desc);
    assert_string_not_equal(x86_unwind_stop_name(st->stop), "?");
    /* the frame pointers the unwinder went through (frames 0..n-2 were
     * followed to reach the next frame) grow strictly inside the window */
    for (unsigned i = 0; i + 1 < st->nframes; i++) {
        uint64_t fp = st->frames[i].frame;
        assert_true(fp >= st->stack_lo && fp - st->stack_lo <= window - 16);
        assert_true(fp % 8 == 0);
        if (i > 0)
            assert_true(fp > st->frames[i - 1].frame);
    }
}

static void unwind_run_case(void **state)
{
    const struct unwind_case *c = *state;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", unwind_datadir, c->name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s:%d: %s", path, jerr.line, jerr.text);

    static struct ufix f;
    ufix_init(&f);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(root, "pages"), i, v)
        assert_int_equal(ufix_map(&f, unwind_hex(v)), 0);
    json_array_foreach(json_object_get(root, "mem"), i, v) {
        if (ufix_put64(&f, unwind_hex(json_array_get(v, 0)), unwind_hex(json_array_get(v, 1))) < 0)
            fail_msg("%s: mem entry %zu is not in a mapped page", c->name, i);
    }
    json_array_foreach(json_object_get(root, "text"), i, v)
        assert_int_equal(ufix_add_text(&f, unwind_hex(json_array_get(v, 0)),
                                       unwind_hex(json_array_get(v, 1))), 0);

    json_t *r = json_object_get(root, "regs");
    assert_non_null(r);
    struct x86_unwind_regs regs = {
        .rip = unwind_hex(json_object_get(r, "rip")),
        .rsp = unwind_hex(json_object_get(r, "rsp")),
        .rbp = unwind_hex(json_object_get(r, "rbp")),
        .cpl = (unsigned)json_integer_value(json_object_get(r, "cpl")),
        .long_mode = !json_is_false(json_object_get(r, "long_mode")),
        .la57 = json_is_true(json_object_get(r, "la57")),
    };
    struct x86_symbolizer sym = { NULL, ufix_is_text, &f };
    struct x86_unwind_opts opts = { .sym = f.ntext ? &sym : NULL };
    json_t *o = json_object_get(root, "opts");
    if (o) {
        opts.max_frames = (unsigned)json_integer_value(json_object_get(o, "max_frames"));
        if (json_object_get(o, "window"))
            opts.window = unwind_hex(json_object_get(o, "window"));
        opts.require_text = json_is_true(json_object_get(o, "require_text"));
    }
    unsigned nraw = (unsigned)json_integer_value(json_object_get(root, "raw"));

    static struct unwind_out out;
    static struct x86_stack st;
    static struct x86_stack_raw raw;
    struct hvk_err err = { .msg = "" };
    out.len = 0;
    out.buf[0] = '\0';
    int rc = x86_unwind(&(struct x86_gva_reader){ ufix_read, &f }, &regs, &opts, &st, &err);
    if (rc == 0 && json_object_get(root, "raw"))
        rc = x86_stack_raw(&(struct x86_gva_reader){ ufix_read, &f }, &regs, nraw,
                           f.ntext ? &sym : NULL, &raw, &err);
    if (c->invalid) {
        assert_int_equal(rc, -1);
        unwind_printf(&out, "error: %s\n", err.msg);
    } else {
        if (rc < 0)
            fail_msg("%s: %s", c->name, err.msg);
        unsigned max = opts.max_frames ? opts.max_frames : X86_UNWIND_DEFAULT_FRAMES;
        unwind_check_invariants(&st, &f, max, opts.window ? opts.window : X86_UNWIND_DEFAULT_WINDOW);
        for (unsigned k = 0; k < st.nframes; k++)
            unwind_printf(&out, "frame %u pc=0x%" PRIx64 " frame=0x%" PRIx64 "\n", k,
                          st.frames[k].pc, st.frames[k].frame);
        unwind_printf(&out, "stop %s at 0x%" PRIx64 ": %s\n", x86_unwind_stop_name(st.stop),
                      st.stop_addr, st.stop_desc);
        unwind_printf(&out, "stack [0x%" PRIx64 ", 0x%" PRIx64 ")\n", st.stack_lo, st.stack_hi);
        if (json_object_get(root, "raw")) {
            assert_true(raw.nwords <= nraw);
            assert_int_equal(raw.truncated, raw.nwords < nraw);
            for (unsigned k = 0; k < raw.nwords; k++)
                unwind_printf(&out, "raw 0x%" PRIx64 " 0x%016" PRIx64 "%s\n", raw.words[k].address,
                              raw.words[k].value, raw.words[k].text ? " text" : "");
            if (raw.truncated)
                unwind_printf(&out, "raw stop: %s\n", raw.why);
        }
    }
    json_decref(root);

    snprintf(path, sizeof path, "%s/%s.expected", unwind_datadir, c->name);
    golden_check(path, out.buf);
}


static const char *unwind_name_at(size_t i)
{
    return unwind_cases[i].name;
}

static void unwind_all_listed(void **state)
{
    (void)state;
    golden_all_listed(unwind_datadir, unwind_name_at, UNWIND_NCASES, "tests/unwind/unwind_cases.def");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATADIR\n", argv[0]);
        return 2;
    }
    unwind_datadir = argv[1];
    struct CMUnitTest tests[UNWIND_NCASES + 1];
    for (size_t i = 0; i < UNWIND_NCASES; i++)
        tests[i] = (struct CMUnitTest){ unwind_cases[i].name, unwind_run_case, NULL, NULL,
                                        (void *)&unwind_cases[i] };
    tests[UNWIND_NCASES] = (struct CMUnitTest){ "all_listed", unwind_all_listed, NULL, NULL, NULL };
    return _cmocka_run_group_tests("unwind_data", tests, UNWIND_NCASES + 1, NULL, NULL);
}
