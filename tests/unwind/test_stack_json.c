/* test_stack_json.c -- unwinder + hvsym + hvjson_stack end to end: a synthetic stack through the bundled guest's real chain functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvkit/hvjson.h>
#include <hvkit/hvsym.h>

#include "unwind_fixture.h"

static const char *sj_elf_path;

#define SJ_STACK 0xffffc90000020000ull
#define SJ_RSP   (SJ_STACK + 0x80)

static uint64_t sj_hex(json_t *v)
{
    const char *s = json_string_value(v);
    assert_non_null(s);
    assert_true(strncmp(s, "0x", 2) == 0);
    return strtoull(s + 2, NULL, 16);
}

/* leaf <- 4 <- 3 <- 2 <- 1, as the guest's deep chain would look: each
 * return address lies inside the caller, the last record ends with rbp 0. */
static void sj_chain(void **state)
{
    (void)state;
    static const char *const names[] = { "hvk_chain_leaf", "hvk_chain_4", "hvk_chain_3",
                                         "hvk_chain_2", "hvk_chain_1" };
    struct hvk_err err = { .msg = "" };
    struct hvsym_table *t = hvsym_load_elf_file(sj_elf_path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    uint64_t at[5], size[5];
    for (int i = 0; i < 5; i++) {
        struct hvsym_hit h;
        assert_true(hvsym_find(t, names[i], &at[i]));
        assert_true(hvsym_lookup(t, at[i], &h));
        size[i] = h.size;
        assert_true(size[i] >= 2);
    }
    static struct ufix f;
    ufix_init(&f);
    assert_int_equal(ufix_map(&f, SJ_STACK), 0);
    /* frame i's record at SJ_RSP + 0x20 * (i + 1); return into names[i+1].
     * hvk_chain_3's return address is its very end (a call as the last
     * instruction): named by pc - 1, it must still say hvk_chain_3. */
    uint64_t ret[4];
    for (int i = 0; i < 4; i++) {
        uint64_t rec = SJ_RSP + 0x20 * (uint64_t)(i + 1);
        ret[i] = i + 1 == 2 ? at[2] + size[2] : at[i + 1] + size[i + 1] / 2;
        assert_int_equal(ufix_put64(&f, rec, i == 3 ? 0 : rec + 0x20), 0);
        assert_int_equal(ufix_put64(&f, rec + 8, ret[i]), 0);
    }
    assert_int_equal(ufix_put64(&f, SJ_RSP, ret[0]), 0);           /* raw: a text word */
    assert_int_equal(ufix_put64(&f, SJ_RSP + 8, 0x1234), 0);       /* raw: a data word */

    struct x86_symbolizer sym = { hvsym_lookup_cb, hvsym_is_text_cb, t };
    struct x86_unwind_regs regs = { .rip = at[0] + 1, .rsp = SJ_RSP, .rbp = SJ_RSP + 0x20,
                                    .long_mode = true };
    struct x86_unwind_opts opts = { .require_text = true, .sym = &sym };
    static struct x86_stack st;
    static struct x86_stack_raw raw;
    struct x86_gva_reader mem = ufix_reader(&f);
    assert_int_equal(x86_unwind(&mem, &regs, &opts, &st, &err), 0);
    assert_int_equal(x86_stack_raw(&mem, &regs, 4, &sym, &raw, &err), 0);
    if (st.stop != X86_UNWIND_END || st.nframes != 5)
        fail_msg("stop %s after %u frames: %s", x86_unwind_stop_name(st.stop), st.nframes, st.stop_desc);

    json_t *o = hvjson_stack(2, &st, &raw, &sym, &err);
    assert_non_null(o);
    char *txt = json_dumps(o, JSON_COMPACT);
    assert_non_null(txt);
    assert_int_equal(json_integer_value(json_object_get(o, "vcpu")), 2);
    assert_int_equal(sj_hex(json_object_get(o, "rip")), regs.rip);
    assert_int_equal(sj_hex(json_object_get(o, "rsp")), regs.rsp);
    assert_int_equal(sj_hex(json_object_get(o, "rbp")), regs.rbp);
    assert_string_equal(json_string_value(json_object_get(o, "stop")), "end");
    assert_string_equal(json_string_value(json_object_get(o, "stop_desc")), st.stop_desc);
    json_t *fr = json_object_get(o, "frames");
    assert_int_equal(json_array_size(fr), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(fr, i);
        uint64_t pc = sj_hex(json_object_get(e, "pc"));
        assert_int_equal(pc, i == 0 ? regs.rip : ret[i - 1]);
        assert_int_equal(sj_hex(json_object_get(e, "frame")), st.frames[i].frame);
        const char *s = json_string_value(json_object_get(e, "symbol"));
        if (!s)
            fail_msg("frame %zu has no symbol: %s", i, txt);
        assert_string_equal(s, names[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "offset")), pc - at[i]);
    }
    json_t *rw = json_object_get(o, "raw");
    assert_int_equal(json_array_size(rw), 4);
    json_t *w0 = json_array_get(rw, 0), *w1 = json_array_get(rw, 1);
    assert_int_equal(sj_hex(json_object_get(w0, "address")), SJ_RSP);
    assert_int_equal(sj_hex(json_object_get(w0, "value")), ret[0]);
    assert_string_equal(json_string_value(json_object_get(w0, "symbol")), "hvk_chain_4");
    assert_int_equal(json_integer_value(json_object_get(w0, "offset")), ret[0] - at[1]);
    assert_int_equal(sj_hex(json_object_get(w1, "value")), 0x1234);
    assert_null(json_object_get(w1, "symbol"));
    assert_null(json_object_get(w1, "offset"));
    free(txt);
    json_decref(o);

    /* without raw and symbols: no "raw", no names */
    o = hvjson_stack(0, &st, NULL, NULL, &err);
    assert_non_null(o);
    assert_null(json_object_get(o, "raw"));
    assert_null(json_object_get(json_array_get(json_object_get(o, "frames"), 0), "symbol"));
    json_decref(o);
    hvsym_free(t);
}

static int sj_bad_lookup(void *ctx, uint64_t addr, const char **name, uint64_t *off)
{
    (void)ctx;
    *name = "bad\xff\xfename";
    *off = addr & 0xf;
    return 0;
}

/* Names from a file are not trusted to be UTF-8: they are made printable,
 * never dropped into invalid JSON and never reported as out of memory. */
static void sj_invalid_utf8(void **state)
{
    (void)state;
    static struct x86_stack st;
    memset(&st, 0, sizeof st);
    st.nframes = 1;
    st.frames[0].pc = 0x1003;
    snprintf(st.stop_desc, sizeof st.stop_desc, "x");
    struct x86_symbolizer sym = { sj_bad_lookup, NULL, NULL };
    struct hvk_err err = { .msg = "" };
    json_t *o = hvjson_stack(0, &st, NULL, &sym, &err);
    assert_non_null(o);
    json_t *f0 = json_array_get(json_object_get(o, "frames"), 0);
    assert_string_equal(json_string_value(json_object_get(f0, "symbol")), "bad??name");
    assert_int_equal(json_integer_value(json_object_get(f0, "offset")), 3);
    json_decref(o);
    assert_null(hvjson_stack(0, NULL, NULL, NULL, &err));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GUEST-ELF\n", argv[0]);
        return 2;
    }
    sj_elf_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sj_chain),
        cmocka_unit_test(sj_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
