/* test_sym.c -- hvsym on the bundled guest's ELF (file and image), on a System.map that nm made from it, and on corrupt inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvkit/hvsym.h>

static const char *sym_elf_path, *sym_map_path;

static const char *const sym_chain[] = {
    "hvk_chain_1", "hvk_chain_2", "hvk_chain_3", "hvk_chain_4", "hvk_chain_leaf",
};
#define SYM_NCHAIN (sizeof sym_chain / sizeof sym_chain[0])

static char *sym_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

/* Each chain function by its own address: name at offset 0, +1 at offset 1,
 * its last byte still inside, the byte after it not this function. */
static void sym_check_chain(const struct hvsym_table *t)
{
    uint64_t seen[SYM_NCHAIN];
    for (size_t i = 0; i < SYM_NCHAIN; i++) {
        uint64_t a;
        struct hvsym_hit h;
        char buf[128], want[128];
        assert_true(hvsym_find(t, sym_chain[i], &a));
        seen[i] = a;
        for (size_t j = 0; j < i; j++)
            assert_true(seen[j] != a);
        assert_true(hvsym_is_text(t, a));
        assert_true(hvsym_lookup(t, a, &h));
        assert_string_equal(h.name, sym_chain[i]);
        assert_int_equal(h.offset, 0);
        assert_int_equal(h.start, a);
        assert_true(h.size > 1);
        assert_true(hvsym_lookup(t, a + 1, &h));
        assert_string_equal(h.name, sym_chain[i]);
        assert_int_equal(h.offset, 1);
        uint64_t size = h.size;
        assert_true(hvsym_lookup(t, a + size - 1, &h));
        assert_string_equal(h.name, sym_chain[i]);
        assert_int_equal(h.offset, size - 1);
        if (hvsym_lookup(t, a + size, &h))
            assert_string_not_equal(h.name, sym_chain[i]);
        if (hvsym_lookup(t, a - 1, &h))
            assert_string_not_equal(h.name, sym_chain[i]);
        hvsym_format(t, a + 0x1f < a + size ? a + 0x1f : a + 1, buf, sizeof buf);
        snprintf(want, sizeof want, "%s+0x%x", sym_chain[i], a + 0x1f < a + size ? 0x1f : 1);
        assert_string_equal(buf, want);
        hvsym_format(t, a, buf, sizeof buf);
        assert_string_equal(buf, sym_chain[i]);
        const char *name = NULL;
        uint64_t off = 99;
        assert_int_equal(hvsym_lookup_cb((void *)t, a + 2, &name, &off), 0);
        assert_string_equal(name, sym_chain[i]);
        assert_int_equal(off, 2);
        assert_true(hvsym_is_text_cb((void *)t, a));
    }
    assert_false(hvsym_lookup(t, 0, NULL));
    assert_false(hvsym_is_text(t, 0));
    assert_false(hvsym_is_text(t, UINT64_MAX));
    assert_false(hvsym_find(t, "no_such_symbol_anywhere", NULL));
    char buf[32];
    hvsym_format(t, 0x1234, buf, sizeof buf);
    assert_string_equal(buf, "0x1234");
}

static void sym_elf_file(void **state)
{
    (void)state;
    struct hvk_err err = { .msg = "" };
    struct hvsym_table *t = hvsym_load_elf_file(sym_elf_path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_true(hvsym_count(t) >= SYM_NCHAIN);
    assert_int_equal(hvsym_skipped(t), 0);
    sym_check_chain(t);
    hvsym_free(t);
}

static void sym_elf_mem(void **state)
{
    (void)state;
    size_t len;
    char *img = sym_slurp(sym_elf_path, &len);
    struct hvk_err err = { .msg = "" };
    struct hvsym_table *t = hvsym_load_elf_mem(img, len, &err);
    free(img);   /* the table must not keep pointers into the image */
    if (!t)
        fail_msg("%s", err.msg);
    struct hvsym_table *f = hvsym_load_elf_file(sym_elf_path, &err);
    assert_non_null(f);
    assert_int_equal(hvsym_count(t), hvsym_count(f));
    sym_check_chain(t);
    hvsym_free(f);
    hvsym_free(t);
}

static void sym_sysmap_nm(void **state)
{
    (void)state;
    struct hvk_err err = { .msg = "" };
    struct hvsym_table *t = hvsym_load_sysmap_file(sym_map_path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    sym_check_chain(t);
    struct hvsym_table *a = hvsym_load_file(sym_map_path, &err);   /* autodetect: text */
    assert_non_null(a);
    assert_int_equal(hvsym_count(a), hvsym_count(t));
    hvsym_free(a);
    hvsym_free(t);
}

/* nm (System.map) and libelf are independent readers of the same file:
 * every t/T symbol nm lists must be found by the ELF table at the same
 * address, and the chain functions must agree on address and extent start. */
static void sym_elf_vs_sysmap(void **state)
{
    (void)state;
    struct hvk_err err = { .msg = "" };
    struct hvsym_table *e = hvsym_load_file(sym_elf_path, &err);   /* autodetect: ELF */
    struct hvsym_table *m = hvsym_load_sysmap_file(sym_map_path, &err);
    assert_non_null(e);
    assert_non_null(m);
    size_t len;
    char *map = sym_slurp(sym_map_path, &len);
    unsigned checked = 0;
    for (char *line = strtok(map, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long addr;
        char type, name[600];
        if (sscanf(line, "%llx %c %599s", &addr, &type, name) != 3 || (type != 't' && type != 'T'))
            continue;
        uint64_t ea;
        if (!hvsym_find(e, name, &ea))
            fail_msg("nm lists %s (%c) but the ELF table has no such symbol", name, type);
        assert_int_equal(ea, addr);
        struct hvsym_hit h;
        if (hvsym_lookup(e, addr, &h))   /* sizeless end markers have no extent */
            assert_int_equal(h.start, addr);
        checked++;
    }
    assert_true(checked >= SYM_NCHAIN);
    for (size_t i = 0; i < SYM_NCHAIN; i++) {
        uint64_t x, y;
        assert_true(hvsym_find(e, sym_chain[i], &x));
        assert_true(hvsym_find(m, sym_chain[i], &y));
        assert_int_equal(x, y);
    }
    free(map);
    hvsym_free(e);
    hvsym_free(m);
}

static struct hvsym_table *sym_map(const char *text, struct hvk_err *err)
{
    return hvsym_load_sysmap_mem(text, strlen(text), err);
}

static void sym_sysmap_rules(void **state)
{
    (void)state;
    struct hvk_err err = { .msg = "" };
    struct hvsym_table *t = sym_map(
        "ffffffff81000000 T _text\r\n"
        "ffffffff81000000 T startup_64\n"
        "                 U undefined_thing\n"
        "\n"
        "ffffffff81000040 t helper\t[mymod]\n"
        "ffffffff81000100 D some_data\n"
        "ffffffff81000200 A absolute\n"
        "ffffffff81000300 T last_fn\n", &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_int_equal(hvsym_count(t), 4);
    struct hvsym_hit h;
    assert_true(hvsym_lookup(t, 0xffffffff81000000ull, &h));
    assert_string_equal(h.name, "startup_64");   /* the marker _text loses the tie */
    assert_true(hvsym_lookup(t, 0xffffffff81000043ull, &h));
    assert_string_equal(h.name, "helper");
    assert_int_equal(h.offset, 3);
    assert_int_equal(h.size, 0xc0);               /* up to the data symbol */
    assert_true(hvsym_is_text(t, 0xffffffff810000ffull));
    assert_false(hvsym_is_text(t, 0xffffffff81000100ull));
    assert_false(hvsym_lookup(t, 0xffffffff81000250ull, &h));
    assert_true(hvsym_lookup(t, 0xffffffff81000300ull + HVSYM_LAST_EXTENT - 1, &h));
    assert_string_equal(h.name, "last_fn");
    assert_false(hvsym_lookup(t, 0xffffffff81000300ull + HVSYM_LAST_EXTENT, &h));
    assert_true(hvsym_find(t, "_text", NULL));
    char small[8];
    int n = hvsym_format(t, 0xffffffff81000043ull, small, sizeof small);
    assert_int_equal(n, (int)strlen("helper+0x3"));
    assert_string_equal(small, "helper+");
    hvsym_free(t);
}

struct sym_bad {
    const char *text;
    const char *want;   /* substring of the error */
};

static void sym_sysmap_bad(void **state)
{
    (void)state;
    static const struct sym_bad cases[] = {
        { "zz T foo\n", "line 1: expected a hex address" },
        { "ffffffff81000000 T ok\n0 t fine\nffffffff81000000T foo\n", "line 3: expected a space after the address" },
        { "ffffffff81000000 T\n", "line 1: expected a space after the type" },
        { "ffffffff81000000 T   \n", "line 1: missing symbol name" },
        { "11112222333344445 T foo\n", "line 1: address longer than 16 hex digits" },
        { "ffffffff81000000 T foo bar\n", "line 1: unexpected text after the symbol name" },
        { "ffffffff81000000 % foo\n", "line 1: expected a symbol type letter" },
        { "ffffffff81000000 TT foo\n", "line 1: expected a space after the type" },
        { "   T foo\n", "line 1: expected a hex address" },
        { "ffffffff81000000 T fo\033[2Jo\n", "line 1: control character" },
        { "ffffffff81000000 D data\n", "no text symbols" },
        { "", "no text symbols" },
        { "\n\n\n0 t a\n\n  % x\n", "line 6: expected a symbol type letter" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hvk_err err = { .msg = "" };
        struct hvsym_table *t = sym_map(cases[i].text, &err);
        if (t)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err.msg, cases[i].want);
    }
    /* a NUL byte, an overlong name, an overlong line */
    struct hvk_err err = { .msg = "" };
    static const char nul[] = "0 t a\nffffffff81000000 T f\0o\n";
    assert_null(hvsym_load_sysmap_mem(nul, sizeof nul - 1, &err));
    assert_non_null(strstr(err.msg, "line 2: NUL byte"));
    static char line[HVSYM_LINE_MAX + 64];
    memset(line, 'a', sizeof line - 1);
    memcpy(line, "1000 T ", 7);
    line[7 + HVSYM_NAME_MAX + 1] = '\0';
    assert_null(sym_map(line, &err));
    assert_non_null(strstr(err.msg, "line 1: symbol name longer than 512"));
    line[7 + HVSYM_NAME_MAX] = '\0';
    struct hvsym_table *t = sym_map(line, &err);   /* exactly the limit is fine */
    assert_non_null(t);
    hvsym_free(t);
    memset(line, 'a', sizeof line - 1);
    memcpy(line, "1000 T ", 7);
    line[sizeof line - 1] = '\0';
    assert_null(sym_map(line, &err));
    assert_non_null(strstr(err.msg, "line 1: longer than 4096 bytes"));
    assert_null(hvsym_load_sysmap_file("/nonexistent/System.map", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/System.map"));
}

/* More address lines than HVSYM_MAX_SYMBOLS is refused, not allocated. */
static void sym_sysmap_absurd_count(void **state)
{
    (void)state;
    static const char one[] = "0000000000001000 d x\n";
    size_t n = HVSYM_MAX_SYMBOLS + 1, l = sizeof one - 1;
    char *big = malloc(n * l + 32);
    assert_non_null(big);
    memcpy(big, "0000000000000f00 T f\n", l);
    for (size_t i = 1; i < n; i++)
        memcpy(big + i * l, one, l);
    struct hvk_err err = { .msg = "" };
    assert_null(hvsym_load_sysmap_mem(big, n * l, &err));
    assert_non_null(strstr(err.msg, "line 1000001: more than 1000000 symbols"));
    free(big);
}

static uint16_t sym_le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint64_t sym_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void sym_elf_corrupt(void **state)
{
    (void)state;
    size_t len;
    unsigned char *img = (unsigned char *)sym_slurp(sym_elf_path, &len);
    struct hvk_err err = { .msg = "" };
    assert_true(len > 0x40 && memcmp(img, "\177ELF\2", 5) == 0);   /* ELF64 */
    uint64_t shoff = sym_le64(img + 0x28);
    unsigned shentsize = sym_le16(img + 0x3a), shnum = sym_le16(img + 0x3c);
    assert_true(shentsize == 64 && shoff < len && shnum * 64u <= len - shoff);

    /* truncations: never a crash; cut before the section headers must fail */
    static const size_t cuts[] = { 1, 4, 16, 63, 64, 200, 4096 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        err.msg[0] = '\0';
        struct hvsym_table *t = hvsym_load_elf_mem(img, cuts[i], &err);
        assert_null(t);
        assert_true(err.msg[0] != '\0');
    }
    for (size_t k = 1; k < 32; k++) {
        size_t cut = len * k / 32;
        err.msg[0] = '\0';
        struct hvsym_table *t = hvsym_load_elf_mem(img, cut, &err);
        if (cut < shoff + shnum * 64u) {
            if (t)
                fail_msg("ELF cut at %zu of %zu accepted", cut, len);
            assert_true(err.msg[0] != '\0');
        }
        hvsym_free(t);
    }

    unsigned char *c = malloc(len);
    assert_non_null(c);
    /* section headers pointed past the end */
    memcpy(c, img, len);
    memset(c + 0x28, 0xff, 8);
    assert_null(hvsym_load_elf_mem(c, len, &err));
    /* stripped: the symbol tables retyped to PROGBITS */
    memcpy(c, img, len);
    for (unsigned i = 0; i < shnum; i++) {
        unsigned char *sh = c + shoff + 64u * i;
        if (sh[4] == 2 || sh[4] == 11)   /* SHT_SYMTAB, SHT_DYNSYM */
            sh[4] = 1;
    }
    assert_null(hvsym_load_elf_mem(c, len, &err));
    assert_non_null(strstr(err.msg, "no symbol table"));
    /* the symbol table's size and link made absurd: refused or survived, never a crash */
    for (unsigned v = 0; v < 3; v++) {
        memcpy(c, img, len);
        for (unsigned i = 0; i < shnum; i++) {
            unsigned char *sh = c + shoff + 64u * i;
            if (sh[4] != 2)
                continue;
            if (v == 0)
                memset(sh + 0x20, 0x7f, 8);      /* sh_size */
            else if (v == 1)
                memset(sh + 0x28, 0xee, 4);      /* sh_link: no such string table */
            else
                memset(sh + 0x18, 0x7f, 8);      /* sh_offset */
        }
        err.msg[0] = '\0';
        struct hvsym_table *t = hvsym_load_elf_mem(c, len, &err);
        if (!t)
            assert_true(err.msg[0] != '\0');
        hvsym_free(t);
    }
    /* not ELF at all */
    assert_null(hvsym_load_elf_mem("hello world, not an ELF", 23, &err));
    assert_null(hvsym_load_elf_mem(NULL, 0, &err));
    assert_null(hvsym_load_elf_file("/nonexistent/vmlinux", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/vmlinux"));
    free(c);
    free(img);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s GUEST-ELF GUEST-SYSTEM.MAP\n", argv[0]);
        return 2;
    }
    sym_elf_path = argv[1];
    sym_map_path = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sym_elf_file),
        cmocka_unit_test(sym_elf_mem),
        cmocka_unit_test(sym_sysmap_nm),
        cmocka_unit_test(sym_elf_vs_sysmap),
        cmocka_unit_test(sym_sysmap_rules),
        cmocka_unit_test(sym_sysmap_bad),
        cmocka_unit_test(sym_sysmap_absurd_count),
        cmocka_unit_test(sym_elf_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
