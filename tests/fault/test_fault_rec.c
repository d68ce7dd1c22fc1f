/* test_fault_rec.c -- the FAULT record: fill from a classification, stage-2 constructors, every refusal of x86_fault_rec_check, hvjson_fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hvkit/hvjson.h>

#include "walk_case.h"

/* 4-level tables mapping GVA 0x400123 -> page 0x5000 (user, RW, exec);
 * pte = the PTE value (0: not present). */
static void rec_tables(struct wc_mem *m, uint64_t pte)
{
    uint64_t e[][2] = { { 0x1000, 0x2027 }, { 0x2000, 0x3027 }, { 0x3010, 0x4027 }, { 0x4000, pte } };
    memset(m, 0, sizeof *m);
    m->ram_size = 16u << 20;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(wc_mem_write(m, e[i][0], &e[i][1], 8, NULL), 0);
}

static const struct x86_cpu_facts rec_cpu = { .maxphyaddr = 46, .nx = true };

static struct x86_fault_input rec_pf(uint32_t ec, unsigned cpl)
{
    return (struct x86_fault_input){ .vector = 14, .error_code = ec, .cr2 = 0x400123, .cpl = cpl,
                                     .regs = { .cr0 = 0x80010001, .cr3 = 0x1000, .cr4 = 0x20, .efer = 0xd00,
                                               .rflags = 2 } };
}

static const struct x86_fault_frame rec_frame3 = { .rip = 0x401000, .rsp = 0x7ff0, .rflags = 0x202, .cs = 0x2b,
                                                   .ss = 0x23 };

/* A good guest.not_present record (PTE), with 3 frames. */
static void rec_good(struct hvk_fault_rec *r)
{
    struct wc_mem m;
    struct x86_mem mem = { wc_mem_read, &m };
    struct x86_fault f;
    struct x86_fault_input in = rec_pf(0x6, 3);
    struct x86_unwind_frame fr[3] = { { 0x401000, 0 }, { 0x402000, 0 }, { 0x403000, 0 } };
    rec_tables(&m, 0);
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, NULL), 0);
    assert_int_equal(x86_fault_fill_record(r, 1, &f, &rec_frame3, fr, 3, NULL), 0);
    wc_mem_free(&m);
}

static void test_fill_not_present(void **state)
{
    (void)state;
    struct hvk_fault_rec r;
    rec_good(&r);
    assert_int_equal(r.cls, HVK_FC_GUEST_NOT_PRESENT);
    assert_int_equal(r.vector, 14);
    assert_int_equal(r.vcpu, 1);
    assert_int_equal(r.error_code, 0x6);
    assert_int_equal(r.flags, HVK_FF_HAS_ERROR_CODE | HVK_FF_WALKED | HVK_FF_USER);
    assert_int_equal(r.nlevels, 4);
    assert_int_equal(r.walk_level, 3);
    assert_int_equal(r.walk_reason, X86_WALK_NOT_PRESENT);
    assert_int_equal(r.levels[3].kind, X86_LEVEL_PTE);
    assert_int_equal(r.levels[3].entry_gpa, 0x4000);
    assert_int_equal(r.levels[2].raw, 0x4027);
    assert_int_equal(r.addr, 0x400123);
    assert_int_equal(r.gpa, 0);
    assert_int_equal(r.cr3, 0x1000);
    assert_int_equal(r.rip, 0x401000);
    assert_int_equal(r.cs, 0x2b);
    assert_int_equal(r.nframes, 3);
    assert_int_equal(r.frames[2], 0x403000);
    assert_int_equal(x86_fault_rec_check(&r, 2, NULL), 0);
}

static void test_fill_spurious_and_cut(void **state)
{
    (void)state;
    struct wc_mem m;
    struct x86_mem mem = { wc_mem_read, &m };
    struct x86_fault f;
    struct hvk_fault_rec r;
    struct hvk_err err = { "" };
    struct x86_fault_input in = rec_pf(0x7, 3);
    struct x86_unwind_frame fr[40];
    for (unsigned i = 0; i < 40; i++)
        fr[i] = (struct x86_unwind_frame){ 0x401000 + 0x10 * i, 0 };
    rec_tables(&m, 0x5067);
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, NULL), 0);
    assert_int_equal(f.cls, HVK_FC_GUEST_SPURIOUS);
    assert_int_equal(x86_fault_fill_record(&r, 0, &f, &rec_frame3, fr, 40, NULL), 0);
    assert_int_equal(r.nframes, HVK_FAULT_MAX_FRAMES);
    assert_int_equal(r.frames[15], 0x401000 + 0x10 * 15);
    assert_true(r.flags & HVK_FF_MAPPED);
    assert_int_equal(r.gpa, 0x5123);
    assert_int_equal(r.walk_level, 0xff);
    assert_int_equal(x86_fault_rec_check(&r, 0, NULL), 0);
    struct hvk_fault_rec u = r;
    u.flags &= ~(uint32_t)HVK_FF_MAPPED;   /* a spurious walk translated: MAPPED is required */
    assert_int_equal(x86_fault_rec_check(&u, 0, &err), -1);
    assert_non_null(strstr(err.msg, "MAPPED flag clear"));

    /* frame 0 must be the faulting RIP, CS must match the CPL */
    fr[0].pc = 0xffffffff81000000ull;
    assert_int_equal(x86_fault_fill_record(&r, 0, &f, &rec_frame3, fr, 2, &err), -1);
    assert_non_null(strstr(err.msg, "not the faulting RIP"));
    struct x86_fault_frame k = rec_frame3;
    k.cs = 0x10;
    assert_int_equal(x86_fault_fill_record(&r, 0, &f, &k, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "CPL"));
    assert_int_equal(x86_fault_fill_record(&r, 0, &f, &rec_frame3, NULL, 1, &err), -1);
    assert_int_equal(x86_fault_fill_record(&r, 0, &f, &rec_frame3, NULL, 0, &err), 0);
    assert_int_equal(r.nframes, 0);
    wc_mem_free(&m);
}

static void test_classify_args(void **state)
{
    (void)state;
    struct wc_mem m = { .ram_size = 4096 };
    struct x86_mem mem = { wc_mem_read, &m };
    struct x86_fault f;
    struct hvk_err err = { "" };
    struct x86_fault_input in = rec_pf(0, 0);
    assert_int_equal(x86_fault_classify(NULL, &rec_cpu, &mem, &f, &err), -1);
    assert_int_equal(x86_fault_classify(&in, NULL, &mem, &f, &err), -1);
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, NULL, &f, &err), -1);
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, NULL, &err), -1);
    in.vector = 32;
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, &err), -1);
    assert_non_null(strstr(err.msg, "vector 32"));
    in.vector = 13;
    in.cpl = 4;
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, &err), -1);
    assert_non_null(strstr(err.msg, "CPL 4"));
    /* a #GP error code is kept, a #UD one dropped; CR2 never read */
    in.cpl = 0;
    in.error_code = 0x18;
    in.cr2 = 0x1234;
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, &err), 0);
    assert_int_equal(f.cls, HVK_FC_EXCEPTION);
    assert_true(f.has_error_code);
    assert_int_equal(f.error_code, 0x18);
    assert_int_equal(f.addr, 0);
    assert_false(f.walked);
    in.vector = 6;
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, &err), 0);
    assert_false(f.has_error_code);
    assert_int_equal(f.error_code, 0);
    assert_int_equal(m.reads, 0);   /* no walk for other vectors */
}

static void test_stage2(void **state)
{
    (void)state;
    struct hvk_fault_rec r;
    struct hvk_err err = { "" };
    assert_int_equal(x86_fault_rec_mmio(&r, 0, 0x1000, &rec_frame3, 0xfee00000, 0, false, 0, &err), -1);
    assert_non_null(strstr(err.msg, "size 0"));
    assert_int_equal(x86_fault_rec_mmio(&r, 0, 0x1000, &rec_frame3, 0xfee00000, 9, false, 0, &err), -1);
    assert_int_equal(x86_fault_rec_mmio(NULL, 0, 0, NULL, 0, 1, false, 0, &err), -1);
    assert_int_equal(x86_fault_rec_mmio(&r, 3, 0x1000, &rec_frame3, 0xfee00000, 2, true, 0x12345678, &err), 0);
    assert_int_equal(r.cls, HVK_FC_STAGE2_MMIO);
    assert_int_equal(r.vector, 0xff);
    assert_int_equal(r.mmio_value, 0x5678);   /* cut to its size */
    assert_int_equal(r.flags, HVK_FF_MMIO_WRITE | HVK_FF_USER);
    assert_int_equal(r.gpa, 0xfee00000);
    assert_int_equal(r.addr, 0xfee00000);
    assert_int_equal(x86_fault_rec_check(&r, 4, NULL), 0);
    assert_int_equal(x86_fault_rec_check(&r, 3, &err), -1);   /* vcpu 3 of 3 */
    assert_non_null(strstr(err.msg, "vcpu 3"));
    assert_int_equal(x86_fault_rec_mmio(&r, 0, 0, NULL, 0xd0000000, 8, false, ~0ull, &err), 0);
    assert_int_equal(r.mmio_value, ~0ull);
    assert_int_equal(x86_fault_rec_check(&r, 0, NULL), 0);
    assert_int_equal(x86_fault_rec_fault_in(&r, 2, 0x1000, NULL, 0x123000, &err), 0);
    assert_int_equal(r.cls, HVK_FC_STAGE2_FAULT_IN);
    assert_int_equal(r.flags, 0);
    assert_int_equal(x86_fault_rec_check(&r, 0, NULL), 0);
    assert_int_equal(x86_fault_rec_fault_in(NULL, 2, 0, NULL, 0, &err), -1);
}

/* One field wrong at a time; the checker must refuse each with a message
 * that names it. base: 0 = the not_present record, 1 = an MMIO record,
 * 2 = a #UD record, 3 = a #PF whose page table is not RAM. */
struct rec_mut {
    const char *what;
    int base;
    void (*mut)(struct hvk_fault_rec *r);
    const char *msg;
};

#define MUT(name, body) static void mut_##name(struct hvk_fault_rec *r) { body; }
MUT(cls0, r->cls = HVK_FC_NONE)
MUT(clsbig, r->cls = HVK_FC__COUNT)
MUT(vcpu, r->vcpu = 2)
MUT(flags, r->flags |= 1u << 7)
MUT(nframes, r->nframes = HVK_FAULT_MAX_FRAMES + 1)
MUT(frame0, r->frames[0] = 0x1)
MUT(user, r->flags &= ~(uint32_t)HVK_FF_USER)
MUT(user_cs, r->cs = 0x10)
MUT(nlevels, r->nlevels = HVK_FAULT_MAX_LEVELS + 1)
MUT(walk_level, r->walk_level = 4)
MUT(walk_reason, r->walk_reason = X86_WALK_REASON_COUNT)
MUT(kind, r->levels[1].kind = X86_LEVEL_PTE32 + 1)
MUT(read_ok, r->levels[0].read_ok = 2)
MUT(no_level, r->walk_level = 0xff)
MUT(cls_reason, r->cls = HVK_FC_GUEST_PROT_WRITE)
MUT(spurious_reason, r->cls = HVK_FC_GUEST_SPURIOUS)
MUT(unwalked, { r->flags &= ~(uint32_t)HVK_FF_WALKED; })
MUT(unwalked_guest, { r->flags &= ~(uint32_t)HVK_FF_WALKED; r->nlevels = 0; r->walk_level = 0xff; r->walk_reason = 0; })
MUT(vector, r->vector = 32)
MUT(no_ec_flag, r->flags &= ~(uint32_t)HVK_FF_HAS_ERROR_CODE)
MUT(ec_on_ud, { r->error_code = 1; })
MUT(ec_flag_on_ud, r->flags |= HVK_FF_HAS_ERROR_CODE)
MUT(addr_on_ud, r->addr = 0x1000)
MUT(mapped_gpa, r->gpa = 0x5000)
MUT(mmio_on_guest, r->mmio_size = 4)
MUT(mmio_write_on_guest, r->flags |= HVK_FF_MMIO_WRITE)
MUT(exc_reason, { r->cls = HVK_FC_EXCEPTION; })
MUT(s2_vector, { r->vector = 14; r->flags |= HVK_FF_HAS_ERROR_CODE; })
MUT(s2_vector_gp, r->vector = 13)
MUT(s2_ec, r->error_code = 4)
MUT(s2_addr, r->addr = 0)
MUT(mmio_size0, r->mmio_size = 0)
MUT(mmio_size9, r->mmio_size = 9)
MUT(mmio_wide, r->mmio_value = 0x10000)
MUT(s2_walk, { r->flags |= HVK_FF_WALKED; r->nlevels = 1; r->walk_level = 0; r->walk_reason = X86_WALK_NOT_PRESENT; })
MUT(s2_mmio_pf, r->cls = HVK_FC_STAGE2_MMIO)
MUT(s2_table_gpa, r->gpa += 8)
MUT(mapped_np, r->flags |= HVK_FF_MAPPED)
MUT(s2_table_guest, r->cls = HVK_FC_GUEST_NOT_PRESENT)

static const struct rec_mut rec_muts[] = {
    { "class NONE", 0, mut_cls0, "class 0" },
    { "class past the end", 0, mut_clsbig, "class 13" },
    { "vcpu beyond the VM", 0, mut_vcpu, "vcpu 2" },
    { "unknown flag", 0, mut_flags, "unknown flags 0x80" },
    { "too many frames", 0, mut_nframes, "nframes 17" },
    { "frame 0 not rip", 0, mut_frame0, "frame 0" },
    { "CPL 3 without USER", 0, mut_user, "USER flag clear" },
    { "USER with CPL 0", 0, mut_user_cs, "USER flag set" },
    { "too many levels", 0, mut_nlevels, "nlevels 6" },
    { "walk_level past nlevels", 0, mut_walk_level, "walk_level 4" },
    { "walk_reason out of range", 0, mut_walk_reason, "walk_reason 13" },
    { "level kind out of range", 0, mut_kind, "kind 8" },
    { "read_ok not boolean", 0, mut_read_ok, "read_ok 2" },
    { "not_present without a level", 0, mut_no_level, "needs a walk_level" },
    { "class and reason disagree", 0, mut_cls_reason, "but walk_reason not_present" },
    { "spurious with a failing walk", 0, mut_spurious_reason, "but walk_reason not_present" },
    { "walk fields without WALKED", 0, mut_unwalked, "without the WALKED flag" },
    { "guest class without a walk", 0, mut_unwalked_guest, "without a walk" },
    { "guest class on vector 32", 0, mut_vector, "vector 32" },
    { "#PF without HAS_ERROR_CODE", 0, mut_no_ec_flag, "without HAS_ERROR_CODE" },
    { "error code on #UD", 2, mut_ec_on_ud, "without HAS_ERROR_CODE" },
    { "HAS_ERROR_CODE on #UD", 2, mut_ec_flag_on_ud, "HAS_ERROR_CODE flag on vector 6" },
    { "address on #UD", 2, mut_addr_on_ud, "only #PF has one" },
    { "gpa without MAPPED", 0, mut_mapped_gpa, "without MAPPED" },
    { "MMIO size on a guest record", 0, mut_mmio_on_guest, "MMIO fields" },
    { "MMIO write on a guest record", 0, mut_mmio_write_on_guest, "MMIO fields" },
    { "exception.pf with a guest reason", 0, mut_exc_reason, "exception.pf with walk_reason" },
    { "stage2.mmio on #PF without a walk", 1, mut_s2_vector, "without a walk" },
    { "stage2.mmio on #GP", 1, mut_s2_vector_gp, "with vector 13" },
    { "stage-2 error code", 1, mut_s2_ec, "error code or a walk" },
    { "stage-2 addr not gpa", 1, mut_s2_addr, "is not its gpa" },
    { "MMIO size 0", 1, mut_mmio_size0, "mmio_size 0" },
    { "MMIO size 9", 1, mut_mmio_size9, "mmio_size 9" },
    { "MMIO value wider than its size", 1, mut_mmio_wide, "wider than 2 bytes" },
    { "stage-2 with a walk", 1, mut_s2_walk, "error code or a walk" },
    { "stage2.mmio #PF whose walk did not fail to read", 0, mut_s2_mmio_pf, "needs walk_reason read_failed" },
    { "MAPPED on a not-present walk", 0, mut_mapped_np, "MAPPED flag set" },
    { "table-not-RAM gpa not the entry's", 3, mut_s2_table_gpa, "not the unreadable entry's" },
    { "read_failed walk as a guest class", 3, mut_s2_table_guest, "but walk_reason read_failed" },
};

static void test_check_refusals(void **state)
{
    (void)state;
    struct hvk_fault_rec good[4];
    rec_good(&good[0]);
    assert_int_equal(x86_fault_rec_mmio(&good[1], 1, 0x1000, &rec_frame3, 0xfee00000, 2, false, 0x1234, NULL), 0);
    struct wc_mem m = { .ram_size = 4096 };
    struct x86_mem mem = { wc_mem_read, &m };
    struct x86_fault f;
    struct x86_fault_input in = rec_pf(0, 3);
    in.vector = 6;
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &mem, &f, NULL), 0);
    assert_int_equal(x86_fault_fill_record(&good[2], 1, &f, &rec_frame3, NULL, 0, NULL), 0);
    struct wc_mem tm;
    struct x86_mem tmem = { wc_mem_read, &tm };
    uint64_t pde = 0x2000027;   /* page table at 32 MiB, beyond RAM */
    rec_tables(&tm, 0);
    assert_int_equal(wc_mem_write(&tm, 0x3010, &pde, 8, NULL), 0);
    in = rec_pf(0x4, 3);
    assert_int_equal(x86_fault_classify(&in, &rec_cpu, &tmem, &f, NULL), 0);
    assert_int_equal(f.cls, HVK_FC_STAGE2_MMIO);
    assert_int_equal(x86_fault_fill_record(&good[3], 1, &f, &rec_frame3, NULL, 0, NULL), 0);
    assert_int_equal(good[3].gpa, 0x2000000);
    wc_mem_free(&tm);
    for (int b = 0; b < 4; b++)
        assert_int_equal(x86_fault_rec_check(&good[b], 2, NULL), 0);

    for (size_t i = 0; i < sizeof rec_muts / sizeof rec_muts[0]; i++) {
        const struct rec_mut *t = &rec_muts[i];
        struct hvk_fault_rec r = good[t->base];
        struct hvk_err err = { "" };
        t->mut(&r);
        if (x86_fault_rec_check(&r, 2, &err) != -1)
            fail_msg("%s: the checker accepted the record", t->what);
        if (t->msg && !strstr(err.msg, t->msg))
            fail_msg("%s: message '%s' does not say '%s'", t->what, err.msg, t->msg);
        /* hvjson_fault refuses the same record with the same message */
        struct hvk_err jerr = { "" };
        json_t *j = hvjson_fault(&r, NULL, 2, &jerr);
        if (j || strcmp(jerr.msg, err.msg))
            fail_msg("%s: hvjson_fault %s ('%s')", t->what, j ? "accepted it" : "said otherwise", jerr.msg);
    }
    assert_int_equal(x86_fault_rec_check(NULL, 0, NULL), -1);

    /* hv's fallback when the exception frame could not be read: no error
     * code, no walk, no registers -- accepted for an exception record */
    struct hvk_fault_rec fb;
    memset(&fb, 0, sizeof fb);
    fb.cls = HVK_FC_EXCEPTION;
    fb.vector = 14;
    fb.walk_level = 0xff;
    assert_int_equal(x86_fault_rec_check(&fb, 1, NULL), 0);
    fb.vector = 13;
    assert_int_equal(x86_fault_rec_check(&fb, 1, NULL), 0);
}

static int rec_lookup(void *ctx, uint64_t addr, const char **name, uint64_t *off)
{
    (void)ctx;
    if (addr < 0x400000 || addr >= 0x500000)
        return -1;
    *name = "main";
    *off = addr - 0x400000;
    return 0;
}

static void test_json(void **state)
{
    (void)state;
    struct hvk_fault_rec r;
    struct hvk_err err = { "" };
    struct x86_symbolizer sym = { .lookup = rec_lookup };
    rec_good(&r);
    json_t *o = hvjson_fault(&r, &sym, 2, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "class")), "guest.not_present");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "pte");
    assert_string_equal(json_string_value(json_object_get(o, "address")), "0x400123");
    assert_int_equal(json_integer_value(json_object_get(o, "error_code")), 6);
    json_t *bits = json_object_get(o, "error_bits");
    assert_int_equal(json_array_size(bits), 2);
    assert_string_equal(json_string_value(json_array_get(bits, 0)), "W");
    assert_string_equal(json_string_value(json_array_get(bits, 1)), "U");
    json_t *walk = json_object_get(o, "walk");
    assert_string_equal(json_string_value(json_object_get(walk, "reason")), "not_present");
    assert_string_equal(json_string_value(json_object_get(walk, "why")), "PTE not present");
    assert_int_equal(json_array_size(json_object_get(walk, "levels")), 4);
    assert_null(json_object_get(o, "gpa"));
    assert_null(json_object_get(o, "mmio"));
    json_t *st = json_object_get(o, "stack");
    assert_int_equal(json_array_size(st), 3);
    /* frame 0 named at pc, frame 1 (a return address) by pc - 1 */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 0), "offset")), 0x1000);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 1), "offset")), 0x2000);
    assert_string_equal(json_string_value(json_object_get(json_array_get(st, 1), "symbol")), "main");
    json_decref(o);

    assert_int_equal(x86_fault_rec_mmio(&r, 0, 0x1000, NULL, 0xfee00000, 4, true, 0xabcd, NULL), 0);
    o = hvjson_fault(&r, NULL, 0, &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "class")), "stage2.mmio");
    assert_true(json_is_null(json_object_get(o, "vector")));
    json_t *mm = json_object_get(o, "mmio");
    assert_int_equal(json_integer_value(json_object_get(mm, "size")), 4);
    assert_true(json_is_true(json_object_get(mm, "write")));
    assert_string_equal(json_string_value(json_object_get(mm, "value")), "0xabcd");
    json_decref(o);
    assert_null(hvjson_fault(NULL, NULL, 0, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_not_present),
        cmocka_unit_test(test_fill_spurious_and_cut),
        cmocka_unit_test(test_classify_args),
        cmocka_unit_test(test_stage2),
        cmocka_unit_test(test_check_refusals),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests_name("fault_rec", tests, NULL, NULL);
}
