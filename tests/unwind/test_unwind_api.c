/* test_unwind_api.c -- unwinder API edges: argument errors, names, canonical form, deep chains against the caps, read bounds, the top of the address space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unwind_fixture.h"

static struct ufix uf;
static struct x86_stack ust;

static void uapi_args(void **state)
{
    (void)state;
    struct x86_gva_reader mem = ufix_reader(&uf);
    struct x86_unwind_regs regs = { .long_mode = true, .cpl = 4 };
    struct hvk_err err = { .msg = "" };
    static struct x86_stack_raw raw;
    assert_int_equal(x86_unwind(NULL, &regs, NULL, &ust, &err), -1);
    assert_int_equal(x86_unwind(&mem, NULL, NULL, &ust, &err), -1);
    assert_int_equal(x86_unwind(&mem, &regs, NULL, NULL, &err), -1);
    assert_int_equal(x86_unwind(&(struct x86_gva_reader){ NULL, NULL }, &regs, NULL, &ust, &err), -1);
    assert_int_equal(x86_unwind(&mem, &regs, NULL, &ust, &err), -1);
    assert_non_null(strstr(err.msg, "cpl 4"));
    assert_int_equal(x86_stack_raw(NULL, &regs, 1, NULL, &raw, NULL), -1);   /* err may be NULL */
    assert_int_equal(x86_stack_raw(&mem, &regs, 1, NULL, NULL, &err), -1);
}

static void uapi_names(void **state)
{
    (void)state;
    for (int i = 0; i < X86_UNWIND_NR_STOPS; i++) {
        assert_string_not_equal(x86_unwind_stop_name(i), "?");
        assert_string_not_equal(x86_unwind_stop_str(i), "?");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(x86_unwind_stop_name(i), x86_unwind_stop_name(j));
    }
    assert_string_equal(x86_unwind_stop_name(X86_UNWIND_NR_STOPS), "?");
    assert_string_equal(x86_unwind_stop_name((enum x86_unwind_stop)-1), "?");
    assert_string_equal(x86_unwind_stop_name(X86_UNWIND_CYCLE), "cycle");
}

static void uapi_canonical(void **state)
{
    (void)state;
    assert_true(x86_unwind_canonical(0, false));
    assert_true(x86_unwind_canonical(0x00007fffffffffffull, false));
    assert_false(x86_unwind_canonical(0x0000800000000000ull, false));
    assert_false(x86_unwind_canonical(0xffff7fffffffffffull, false));
    assert_true(x86_unwind_canonical(0xffff800000000000ull, false));
    assert_true(x86_unwind_canonical(UINT64_MAX, false));
    assert_true(x86_unwind_canonical(0x00ffffffffffffffull, true));
    assert_false(x86_unwind_canonical(0x0100000000000000ull, true));
    assert_true(x86_unwind_canonical(0xff00000000000000ull, true));
    assert_false(x86_unwind_canonical(0xfeffffffffffffffull, true));
}

/* A chain of n records 0x40 apart from base + 0x40, the last with rbp 0;
 * return addresses 0x1000 + i. */
static void uapi_build_chain(uint64_t base, unsigned n)
{
    ufix_init(&uf);
    for (uint64_t p = base; p < base + 0x40ull * (n + 1) + 0x10; p += 0x1000)
        assert_int_equal(ufix_map(&uf, p), 0);
    for (unsigned i = 0; i < n; i++) {
        uint64_t rec = base + 0x40ull * (i + 1);
        assert_int_equal(ufix_put64(&uf, rec, i + 1 == n ? 0 : rec + 0x40), 0);
        assert_int_equal(ufix_put64(&uf, rec + 8, 0x1000 + i), 0);
    }
}

static void uapi_depth(void **state)
{
    (void)state;
    const uint64_t base = 0x7fff00000000ull;
    struct x86_gva_reader mem = ufix_reader(&uf);
    struct x86_unwind_regs regs = { .rip = 0x999, .rsp = base, .rbp = base + 0x40, .long_mode = true };
    struct hvk_err err = { .msg = "" };

    /* 255 records = 256 frames: exactly the hard cap ends normally */
    uapi_build_chain(base, 255);
    struct x86_unwind_opts opts = { .max_frames = X86_UNWIND_MAX_FRAMES };
    assert_int_equal(x86_unwind(&mem, &regs, &opts, &ust, &err), 0);
    assert_int_equal(ust.stop, X86_UNWIND_END);
    assert_int_equal(ust.nframes, 256);
    assert_int_equal(ust.frames[255].pc, 0x1000 + 254);
    /* reads: 2 per record + one probe per page the chain touches (4) */
    assert_int_equal(ust.reads, 2 * 255 + 4);
    assert_int_equal(uf.reads, ust.reads);

    /* one more record: depth limit at the cap */
    uapi_build_chain(base, 256);
    assert_int_equal(x86_unwind(&mem, &regs, &opts, &ust, &err), 0);
    assert_int_equal(ust.stop, X86_UNWIND_DEPTH_LIMIT);
    assert_int_equal(ust.nframes, 256);

    /* default max_frames is 64 */
    assert_int_equal(x86_unwind(&mem, &regs, NULL, &ust, &err), 0);
    assert_int_equal(ust.stop, X86_UNWIND_DEPTH_LIMIT);
    assert_int_equal(ust.nframes, X86_UNWIND_DEFAULT_FRAMES);

    /* a small window cuts the same chain: records beyond it are outside */
    opts.window = 0x100;
    assert_int_equal(x86_unwind(&mem, &regs, &opts, &ust, &err), 0);
    assert_int_equal(ust.stop, X86_UNWIND_OUTSIDE_STACK);
    assert_int_equal(ust.stack_hi, base + 0x100);
    /* records at +0x40, +0x80, +0xc0 fit and give frames 1..3; frame 3 carries
     * the rejected frame pointer +0x100 */
    assert_int_equal(ust.nframes, 4);
    assert_int_equal(ust.stop_addr, base + 0x100);
}

/* RSP in the last page of the address space: the region stops at
 * UINT64_MAX without wrapping, and a record in the last 16 bytes is refused. */
static void uapi_top_of_space(void **state)
{
    (void)state;
    const uint64_t top = 0xfffffffffffff000ull;
    ufix_init(&uf);
    assert_int_equal(ufix_map(&uf, top), 0);
    assert_int_equal(ufix_put64(&uf, top + 0xfe0, top + 0xff0), 0);
    assert_int_equal(ufix_put64(&uf, top + 0xfe8, 0xffffffff81000000ull), 0);
    struct x86_gva_reader mem = ufix_reader(&uf);
    struct x86_unwind_regs regs = { .rip = 1, .rsp = top, .rbp = top + 0xfe0, .long_mode = true };
    struct hvk_err err = { .msg = "" };
    assert_int_equal(x86_unwind(&mem, &regs, NULL, &ust, &err), 0);
    assert_int_equal(ust.stack_hi, UINT64_MAX);
    assert_int_equal(ust.nframes, 2);
    assert_int_equal(ust.stop, X86_UNWIND_OUTSIDE_STACK);
    assert_int_equal(ust.stop_addr, top + 0xff0);

    /* raw words stop where the address space ends */
    static struct x86_stack_raw raw;
    regs.rsp = top + 0xff0;
    assert_int_equal(x86_stack_raw(&mem, &regs, 8, NULL, &raw, &err), 0);
    assert_int_equal(raw.nwords, 2);
    assert_true(raw.truncated);
    assert_non_null(strstr(raw.why, "wrap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uapi_args),
        cmocka_unit_test(uapi_names),
        cmocka_unit_test(uapi_canonical),
        cmocka_unit_test(uapi_depth),
        cmocka_unit_test(uapi_top_of_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
