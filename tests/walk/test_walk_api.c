/* test_walk_api.c -- unit tests of the walker's API edges: CPUID facts, argument errors, names, formatter, maps limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <x86/maps.h>
#include <x86/walk.h>

static void test_cpuid_facts(void **state)
{
    (void)state;
    struct x86_cpu_facts f;
    struct hvk_err err = { "" };
    const struct x86_cpuid_leaf all[] = {
        { 1, 0, 0, 0, 0, (1u << 3) | (1u << 6) | (1u << 17) },
        { 7, 0, 0, (1u << 7) | (1u << 20), (1u << 3) | (1u << 16), 0 },
        { 7, 1, 0, 0xffffffff, 0xffffffff, 0 },               /* subleaf 1: must be ignored */
        { 0x80000001u, 0, 0, 0, 0, (1u << 20) | (1u << 26) },
        { 0x80000008u, 0, 0x3027, 0, 0, 0 },
    };
    assert_int_equal(x86_cpu_facts_from_cpuid(&f, all, 5, &err), 0);
    assert_int_equal(f.maxphyaddr, 39);
    assert_true(f.pse && f.pse36 && f.smep && f.smap && f.pku && f.la57 && f.nx && f.pdpe1gb);

    /* only leaf 1 with PAE: MAXPHYADDR defaults to 36, features absent */
    assert_int_equal(x86_cpu_facts_from_cpuid(&f, all, 1, &err), 0);
    assert_int_equal(f.maxphyaddr, 36);
    assert_false(f.nx || f.pdpe1gb || f.smep || f.smap || f.pku || f.la57);
    const struct x86_cpuid_leaf nopae[] = { { 1, 0, 0, 0, 0, 1u << 3 } };
    assert_int_equal(x86_cpu_facts_from_cpuid(&f, nopae, 1, &err), 0);
    assert_int_equal(f.maxphyaddr, 32);
    assert_false(f.pse36);
    assert_int_equal(x86_cpu_facts_from_cpuid(&f, NULL, 0, &err), 0);
    assert_int_equal(f.maxphyaddr, 32);

    const struct x86_cpuid_leaf bad[] = { { 0x80000008u, 0, 60, 0, 0, 0 } };
    assert_int_equal(x86_cpu_facts_from_cpuid(&f, bad, 1, &err), -1);
    assert_non_null(strstr(err.msg, "MAXPHYADDR 60"));
    assert_int_equal(x86_cpu_facts_from_cpuid(&f, NULL, 3, &err), -1);
}

/* 32 KiB of RAM; counts reads; fails reads when fail_from is reached. */
static uint64_t api_ram[4096];
static unsigned api_reads, api_fail_from = ~0u;

static int api_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    (void)ctx;
    if (api_reads++ >= api_fail_from || gpa >= sizeof api_ram || len > sizeof api_ram - gpa)
        return -1;
    memcpy(buf, (uint8_t *)api_ram + gpa, len);
    return 0;
}

static const struct x86_mem api_mem = { api_read, NULL };
static const struct x86_cpu_facts api_cpu = { .maxphyaddr = 46, .nx = true, .pdpe1gb = true };
static const struct x86_paging_regs api_regs4 = {
    .cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP, .cr3 = 0x1000, .cr4 = X86_CR4_PAE,
    .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE, .rflags = 2,
};

/* VA 0..2 MiB mapped by 4 KiB pages at GPA 1 GiB + i*4K; tables 0x1000..0x4000 */
static void api_build(void)
{
    memset(api_ram, 0, sizeof api_ram);
    api_ram[0x1000 / 8] = 0x2000 | 7;
    api_ram[0x2000 / 8] = 0x3000 | 7;
    api_ram[0x3000 / 8] = 0x4000 | 7;
    for (unsigned i = 0; i < 512; i++)
        api_ram[0x4000 / 8 + i] = ((1ull << 30) + i * 4096ull) | 7;
}

static void test_walk_bad_args(void **state)
{
    (void)state;
    struct x86_walk w;
    struct hvk_err err = { "" };
    struct x86_access acc = { X86_ACCESS_READ, X86_PRIV_USER };
    struct x86_mem nomem = { NULL, NULL };
    struct x86_cpu_facts cpu = api_cpu;

    assert_int_equal(x86_walk(&api_regs4, &api_cpu, &nomem, 0, acc, &w, &err), -1);
    assert_int_equal(w.nlevels, 0);
    assert_false(w.mapped);
    assert_int_equal(x86_walk(NULL, &api_cpu, &api_mem, 0, acc, &w, &err), -1);
    assert_int_equal(x86_walk(&api_regs4, NULL, &api_mem, 0, acc, &w, &err), -1);
    assert_int_equal(x86_walk(&api_regs4, &api_cpu, &api_mem, 0, acc, NULL, &err), -1);
    cpu.maxphyaddr = 31;
    assert_int_equal(x86_walk(&api_regs4, &cpu, &api_mem, 0, acc, &w, &err), -1);
    assert_non_null(strstr(err.msg, "MAXPHYADDR"));
    cpu.maxphyaddr = 53;
    assert_int_equal(x86_walk(&api_regs4, &cpu, &api_mem, 0, acc, &w, NULL), -1);
    acc.type = (enum x86_access_type)3;
    assert_int_equal(x86_walk(&api_regs4, &api_cpu, &api_mem, 0, acc, &w, &err), -1);
    acc.type = X86_ACCESS_READ;
    acc.priv = (enum x86_access_priv)-1;
    assert_int_equal(x86_walk(&api_regs4, &api_cpu, &api_mem, 0, acc, &w, &err), -1);
}

/* A reader failing at level k ends the walk at level k, after exactly k+1 reads. */
static void test_walk_read_failure_each_level(void **state)
{
    (void)state;
    struct x86_walk w;
    struct x86_access acc = { X86_ACCESS_WRITE, X86_PRIV_SUPERVISOR };
    api_build();
    for (unsigned k = 0; k <= 4; k++) {
        api_reads = 0;
        api_fail_from = k;
        assert_int_equal(x86_walk(&api_regs4, &api_cpu, &api_mem, 0x1234, acc, &w, NULL), 0);
        if (k == 4) {
            assert_int_equal(w.reason, X86_WALK_OK);
            assert_int_equal(w.gpa, (1ull << 30) + 0x1234);
            assert_int_equal(api_reads, 4);
        } else {
            assert_int_equal(w.reason, X86_WALK_READ_FAILED);
            assert_int_equal(w.fault_level, (int)k);
            assert_int_equal(w.nlevels, k + 1);
            assert_false(w.levels[k].read_ok);
            assert_int_equal(w.vector, 0);
            assert_int_equal(api_reads, k + 1);
            assert_non_null(strstr(w.why, "is not readable RAM"));
        }
    }
    api_fail_from = ~0u;
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < X86_WALK_REASON_COUNT; i++) {
        const char *n = x86_walk_reason_name((enum x86_walk_reason)i);
        assert_string_not_equal(n, "?");
        assert_string_not_equal(x86_walk_reason_str((enum x86_walk_reason)i), "?");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, x86_walk_reason_name((enum x86_walk_reason)j));
    }
    assert_string_equal(x86_walk_reason_name(X86_WALK_REASON_COUNT), "?");
    assert_string_equal(x86_walk_reason_str((enum x86_walk_reason)-1), "?");
    static const char *const ids[] = { "pml5e", "pml4e", "pdpte", "pde", "pte", "pdpte_pae", "pde32", "pte32" };
    static const char *const names[] = { "PML5E", "PML4E", "PDPTE", "PDE", "PTE", "PDPTE", "PDE", "PTE" };
    for (int k = 0; k < 8; k++) {
        assert_string_equal(x86_level_id((enum x86_level_kind)k), ids[k]);
        assert_string_equal(x86_level_name((enum x86_level_kind)k), names[k]);
    }
    assert_string_equal(x86_mode_name(X86_MODE_5LEVEL), "5-level");
    assert_string_equal(x86_access_priv_name(X86_PRIV_IMPLICIT), "implicit");
    assert_string_equal(x86_access_type_name(X86_ACCESS_FETCH), "fetch");
}

/* Every buffer size gives the same length and a NUL-terminated prefix. */
static void test_format_truncation(void **state)
{
    (void)state;
    struct x86_walk w;
    struct x86_access acc = { X86_ACCESS_WRITE, X86_PRIV_USER };
    char full[4096], part[4096];
    api_build();
    api_ram[0x4000 / 8 + 1] &= ~2ull;   /* PTE[1] read-only */
    assert_int_equal(x86_walk(&api_regs4, &api_cpu, &api_mem, 0x1000, acc, &w, NULL), 0);
    assert_int_equal(w.reason, X86_WALK_WRITE_RO);
    assert_string_equal(w.why, "write to read-only page: PTE.RW=0");
    size_t n = x86_walk_format(&w, full, sizeof full);
    assert_true(n > 0 && n < sizeof full);
    assert_int_equal(strlen(full), n);
    assert_non_null(strstr(full, "<== write to read-only page: PTE.RW=0"));
    for (size_t len = 0; len <= n + 1; len++) {
        memset(part, 'x', sizeof part);
        assert_int_equal(x86_walk_format(&w, part, len), n);
        if (len) {
            assert_int_equal(strlen(part), len - 1 < n ? len - 1 : n);
            assert_memory_equal(part, full, strlen(part));
        } else {
            assert_int_equal(part[0], 'x');
        }
    }
    struct x86_walk_level l = { .bits = X86_E_P | X86_E_XD, .pkey = 3 };
    char bits[8];
    assert_int_equal(x86_walk_bits_format(&l, bits, sizeof bits), strlen("P XD PKEY=3"));
    assert_string_equal(bits, "P XD PK");
}

struct api_maps_ctx {
    unsigned calls;
    unsigned stop_after;
};

static int api_maps_cb(void *ctx, const struct x86_map_range *r)
{
    struct api_maps_ctx *c = ctx;
    (void)r;
    return ++c->calls >= c->stop_after;
}

static void test_maps_limits(void **state)
{
    (void)state;
    struct x86_maps_stats st;
    struct hvk_err err = { "" };
    api_build();
    /* alternate rights so every page is its own range */
    for (unsigned i = 0; i < 512; i += 2)
        api_ram[0x4000 / 8 + i] &= ~2ull;

    struct api_maps_ctx c = { 0, 1000 };
    assert_int_equal(x86_maps_enum(&api_regs4, &api_cpu, &api_mem, NULL, api_maps_cb, &c, &st, &err), 0);
    assert_int_equal(st.ranges, 512);
    assert_int_equal(c.calls, 512);
    assert_false(st.truncated || st.stopped);
    assert_int_equal(st.tables, 4);
    assert_int_equal(st.entries, 3 + 512);

    c = (struct api_maps_ctx){ 0, 10 };
    assert_int_equal(x86_maps_enum(&api_regs4, &api_cpu, &api_mem, NULL, api_maps_cb, &c, &st, &err), 0);
    assert_true(st.stopped);
    assert_false(st.truncated);
    assert_int_equal(c.calls, 10);

    struct x86_maps_limits lim = { .max_ranges = 7 };
    c = (struct api_maps_ctx){ 0, 1000 };
    assert_int_equal(x86_maps_enum(&api_regs4, &api_cpu, &api_mem, &lim, api_maps_cb, &c, &st, &err), 0);
    assert_true(st.truncated);
    assert_int_equal(c.calls, 7);

    lim = (struct x86_maps_limits){ .max_tables = 3 };
    c = (struct api_maps_ctx){ 0, 1000 };
    assert_int_equal(x86_maps_enum(&api_regs4, &api_cpu, &api_mem, &lim, api_maps_cb, &c, &st, &err), 0);
    assert_true(st.truncated);
    assert_int_equal(c.calls, 0);
    assert_int_equal(st.tables, 3);

    lim = (struct x86_maps_limits){ .max_entries = 4 };
    c = (struct api_maps_ctx){ 0, 1000 };
    assert_int_equal(x86_maps_enum(&api_regs4, &api_cpu, &api_mem, &lim, api_maps_cb, &c, &st, &err), 0);
    assert_true(st.truncated);
    assert_int_equal(st.entries, 4);

    assert_int_equal(x86_maps_enum(&api_regs4, &api_cpu, &api_mem, NULL, NULL, &c, &st, &err), -1);
    struct x86_paging_regs bad = api_regs4;
    bad.cr4 = 0;
    assert_int_equal(x86_maps_enum(&bad, &api_cpu, &api_mem, NULL, api_maps_cb, &c, &st, &err), -1);
    assert_non_null(strstr(err.msg, "CR4.PAE=0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuid_facts),
        cmocka_unit_test(test_walk_bad_args),
        cmocka_unit_test(test_walk_read_failure_each_level),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_format_truncation),
        cmocka_unit_test(test_maps_limits),
    };
    return cmocka_run_group_tests_name("walk_api", tests, NULL, NULL);
}
