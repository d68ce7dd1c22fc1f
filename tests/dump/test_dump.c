/* test_dump.c -- unit tests of hv/dump on generated cores: the good case
 * (RAM with holes, several vCPUs, EFER rule) and corrupt ones (truncated,
 * out-of-file, overlapping and wrapping segments, bad notes, byte flips). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <elf.h>

#include <hvkit/dump.h>

#include "coregen.h"

#define CR0_PG_PE_WP 0x80010011ull
#define CR4_PAE      0x20ull
#define CS_L         (1u << 21)

static uint8_t ram_a[0x3000], ram_b[0x2000];

static const struct coregen_cpu two_cpus[2] = {
    { .rax = 0x1111, .rsp = 0x7000, .rip = 0xffffffff80100067ull, .rflags = 0x46,
      .cr0 = CR0_PG_PE_WP, .cr2 = 0xdead000, .cr3 = 0x102000, .cr4 = CR4_PAE,
      .cs_sel = 8, .cs_flags = 0x00af9a00, .pid = 1 },
    { .rax = 0x2222, .rip = 0x1234, .cr0 = 0x11, .cr3 = 0x5000, .cs_sel = 0x10,
      .cs_flags = 0x00cf9a00, .pid = 2 },
};

/* RAM: [0x0, 0x3000) and [0x10000, 0x12000) in the file, then zeros to
 * 0x14000 (memsz > filesz); a hole between them. */
static uint8_t *good_core(size_t *len, size_t *note_off)
{
    for (size_t i = 0; i < sizeof ram_a; i++)
        ram_a[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof ram_b; i++)
        ram_b[i] = (uint8_t)(i * 13 + 5);
    struct coregen_seg segs[] = {
        { .gpa = 0x10000, .data = ram_b, .filesz = sizeof ram_b, .memsz = 0x4000 },
        { .gpa = 0x0, .data = ram_a, .filesz = sizeof ram_a },
    };
    uint8_t *img = coregen_build(segs, 2, two_cpus, 2, 0, len, note_off);
    assert_non_null(img);
    return img;
}

/* Open must fail, and its message must contain want. */
static void expect_fail(const uint8_t *img, size_t len, const char *want)
{
    struct dump_core *core = (void *)1;
    struct hvk_err err = { "" };
    assert_int_equal(dump_open_mem(img, len, &core, &err), -1);
    assert_null(core);
    if (!strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void test_good(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = good_core(&len, NULL), buf[0x40];
    struct dump_core *core;
    struct hvk_err err = { "" };

    if (dump_open_mem(img, len, &core, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(dump_machine(core), EM_X86_64);
    assert_int_equal(dump_elf_class(core), 64);
    assert_int_equal(dump_ram_count(core), 2);
    assert_int_equal(dump_ram_at(core, 0)->gpa, 0);  /* sorted */
    assert_int_equal(dump_ram_at(core, 1)->gpa, 0x10000);
    assert_int_equal(dump_ram_at(core, 1)->size, 0x4000);
    assert_null(dump_ram_at(core, 2));

    /* plain read, read across the file/zero boundary, zero tail */
    assert_int_equal(dump_read_gpa(core, 0x1ff0, buf, 0x20, &err), 0);
    assert_memory_equal(buf, ram_a + 0x1ff0, 0x20);
    assert_int_equal(dump_read_gpa(core, 0x11ff0, buf, 0x20, &err), 0);
    assert_memory_equal(buf, ram_b + 0x1ff0, 0x10);
    for (int i = 0x10; i < 0x20; i++)
        assert_int_equal(buf[i], 0);
    /* hole, end of RAM, partial overlap with the hole, wrap-around */
    assert_int_equal(dump_read_gpa(core, 0x3000, buf, 8, &err), -1);
    assert_non_null(strstr(err.msg, "0x3000"));
    assert_int_equal(dump_read_gpa(core, 0x2ffc, buf, 8, &err), -1);
    assert_int_equal(dump_read_gpa(core, 0x13ffc, buf, 8, &err), -1);
    assert_int_equal(dump_read_gpa(core, UINT64_MAX - 3, buf, 8, &err), -1);
    assert_int_equal(dump_gpa_reader(core, 0x10008, buf, 8), 0);
    assert_memory_equal(buf, ram_b + 8, 8);
    assert_int_equal(dump_gpa_reader(core, 0x9000, buf, 8), -1);

    assert_int_equal(dump_vcpu_count(core), 2);
    const struct dump_vcpu *v0 = dump_vcpu_at(core, 0), *v1 = dump_vcpu_at(core, 1);
    assert_non_null(v1);
    assert_null(dump_vcpu_at(core, 2));
    assert_true(v0->have_qemu && v0->have_prstatus);
    assert_int_equal(v0->index, 0);
    assert_int_equal(v0->pid, 1);
    assert_int_equal(v1->pid, 2);
    assert_int_equal(v0->qemu_version, 1);
    assert_int_equal(v0->gpr[DUMP_RAX], 0x1111);
    assert_int_equal(v0->gpr[DUMP_RSP], 0x7000);
    assert_int_equal(v0->rip, 0xffffffff80100067ull);
    assert_int_equal(v0->rflags, 0x46);
    assert_int_equal(v0->sreg[DUMP_CS].selector, 8);
    assert_int_equal(v0->sreg[DUMP_CS].flags, 0x00af9a00);
    assert_int_equal(v0->cr0, CR0_PG_PE_WP);
    assert_int_equal(v0->cr2, 0xdead000);
    assert_int_equal(v0->cr3, 0x102000);
    assert_int_equal(v0->cr4, CR4_PAE);
    assert_int_equal(v0->efer_source, DUMP_EFER_DERIVED);
    assert_int_equal(v0->efer, 0xd00); /* LME LMA NXE, as QEMU showed */
    assert_int_equal(v1->gpr[DUMP_RAX], 0x2222);
    assert_int_equal(v1->cr3, 0x5000);
    assert_int_equal(v1->efer, 0);     /* paging off */
    dump_close(core);
    free(img);
}

static void test_efer_rule(void **state)
{
    (void)state;
    /* paging off, or PG without PAE: nothing */
    assert_int_equal(dump_derive_efer(0x11, CR4_PAE, CS_L, EM_X86_64), 0);
    assert_int_equal(dump_derive_efer(CR0_PG_PE_WP, 0, 0, EM_386), 0);
    /* PAE paging in a 32-bit dump: NXE assumed, no long mode */
    assert_int_equal(dump_derive_efer(CR0_PG_PE_WP, CR4_PAE, 0, EM_386), 0x800);
    /* 64-bit code segment, or QEMU said long mode (compat-mode code) */
    assert_int_equal(dump_derive_efer(CR0_PG_PE_WP, CR4_PAE, CS_L, EM_386), 0xd00);
    assert_int_equal(dump_derive_efer(CR0_PG_PE_WP, CR4_PAE, 0, EM_X86_64), 0xd00);
}

static void test_file(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = good_core(&len, NULL);
    char path[] = "/tmp/hvkit-test-dump-XXXXXX";
    int fd = mkstemp(path);
    struct dump_core *core;
    struct hvk_err err = { "" };

    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, len), (ssize_t)len);
    close(fd);
    if (dump_open(path, &core, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(dump_vcpu_count(core), 2);
    dump_close(core);
    unlink(path);
    assert_int_equal(dump_open(path, &core, &err), -1);
    assert_non_null(strstr(err.msg, "No such file"));
    free(img);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = good_core(&len, NULL);
    /* every cut short of the full file must fail cleanly */
    for (size_t cut = 0; cut < len; cut += (cut < 2048 ? 1 : 97)) {
        struct dump_core *core;
        struct hvk_err err = { "" };
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, img, cut);
        if (dump_open_mem(copy, cut, &core, &err) == 0)
            fail_msg("a dump cut at %zu bytes of %zu was accepted", cut, len);
        assert_true(err.msg[0] != '\0');
        free(copy);
    }
    expect_fail(img, len - 1, "beyond end of file");
    free(img);
}

static Elf64_Phdr *phdr(uint8_t *img, int i)
{
    return (Elf64_Phdr *)(img + COREGEN_PHDR_OFF) + i;
}

static void test_bad_segments(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = good_core(&len, NULL);
    uint8_t *copy = malloc(len);

    memcpy(copy, img, len);
    phdr(copy, 1)->p_offset = UINT64_MAX - 4;   /* offset + size wraps */
    expect_fail(copy, len, "beyond end of file");

    memcpy(copy, img, len);
    phdr(copy, 2)->p_paddr = 0x13000;           /* lands inside segment 1 */
    expect_fail(copy, len, "overlap");

    memcpy(copy, img, len);
    phdr(copy, 1)->p_paddr = UINT64_MAX - 0x100; /* GPA range wraps */
    expect_fail(copy, len, "wraps");

    memcpy(copy, img, len);
    phdr(copy, 1)->p_filesz = phdr(copy, 1)->p_memsz + 1;
    expect_fail(copy, len, "p_filesz");

    memcpy(copy, img, len);
    phdr(copy, 1)->p_memsz = UINT64_MAX / 2;     /* huge but consistent: accepted */
    phdr(copy, 2)->p_type = PT_NULL;
    {
        struct dump_core *core;
        struct hvk_err err = { "" };
        uint8_t b[8];
        if (dump_open_mem(copy, len, &core, &err) < 0)
            fail_msg("%s", err.msg);
        assert_int_equal(dump_read_gpa(core, 0x10000 + (1ull << 40), b, 8, &err), 0);
        assert_int_equal(b[0], 0);
        dump_close(core);
    }

    memcpy(copy, img, len);
    phdr(copy, 1)->p_type = PT_NULL;
    phdr(copy, 2)->p_type = PT_NULL;
    expect_fail(copy, len, "no guest RAM");

    memcpy(copy, img, len);
    ((Elf64_Ehdr *)copy)->e_phoff = len - 8;
    expect_fail(copy, len, "program headers");

    memcpy(copy, img, len);
    ((Elf64_Ehdr *)copy)->e_phnum = 0xfffe;
    expect_fail(copy, len, "program headers");
    free(copy);
    free(img);
}

static void test_bad_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = good_core(&len, NULL);
    uint8_t *copy = malloc(len);

    expect_fail((const uint8_t *)"hello", 5, "not an ELF");
    memcpy(copy, img, len);
    ((Elf64_Ehdr *)copy)->e_type = ET_EXEC;
    expect_fail(copy, len, "not a core dump");
    memcpy(copy, img, len);
    ((Elf64_Ehdr *)copy)->e_machine = EM_AARCH64;
    expect_fail(copy, len, "not an x86 dump");
    memcpy(copy, img, len);
    copy[EI_DATA] = ELFDATA2MSB;
    expect_fail(copy, len, "little-endian");
    free(copy);
    free(img);
}

static void test_bad_notes(void **state)
{
    (void)state;
    size_t len, noff;
    uint8_t *img = good_core(&len, &noff);
    uint8_t *copy = malloc(len);
    size_t q0 = noff + 2 * COREGEN_PRS_NOTE_SIZE; /* first QEMU note */
    uint32_t v;

    memcpy(copy, img, len);
    v = 0xfffffff0;                                /* namesz runs away */
    memcpy(copy + noff, &v, 4);
    expect_fail(copy, len, "runs past");

    memcpy(copy, img, len);
    v = 100;                                       /* PRSTATUS desc too short */
    memcpy(copy + noff + 4, &v, 4);
    expect_fail(copy, len, "too short");

    memcpy(copy, img, len);
    v = 0;                                         /* QEMUCPUState.version 0 */
    memcpy(copy + q0 + 20, &v, 4);
    expect_fail(copy, len, "bad version");

    memcpy(copy, img, len);
    v = 4096;                                      /* QEMUCPUState.size > desc */
    memcpy(copy + q0 + 24, &v, 4);
    expect_fail(copy, len, "size field");

    memcpy(copy, img, len);
    phdr(copy, 0)->p_filesz -= 5;                  /* ends inside a note */
    expect_fail(copy, len, "PT_NOTE");

    memcpy(copy, img, len);
    memcpy(copy + q0 + 12, "XEMU", 4);             /* one QEMU note unknown: 2 vs 1 */
    expect_fail(copy, len, "2 NT_PRSTATUS notes but 1 QEMU");
    free(copy);
    free(img);
}

static void test_prstatus_only(void **state)
{
    (void)state;
    struct coregen_seg seg = { .gpa = 0, .filesz = 0x1000 };
    size_t len;
    uint8_t *img = coregen_build(&seg, 1, two_cpus, 2, COREGEN_NO_QEMU, &len, NULL);
    struct dump_core *core;
    struct hvk_err err = { "" };

    if (dump_open_mem(img, len, &core, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(dump_vcpu_count(core), 2);
    assert_false(dump_vcpu_at(core, 0)->have_qemu);
    assert_true(dump_vcpu_at(core, 0)->have_prstatus);
    assert_int_equal(dump_vcpu_at(core, 0)->rip, two_cpus[0].rip);
    assert_int_equal(dump_vcpu_at(core, 0)->gpr[DUMP_RSP], 0x7000);
    assert_int_equal(dump_vcpu_at(core, 1)->sreg[DUMP_CS].selector, 0x10);
    assert_int_equal(dump_vcpu_at(core, 0)->efer_source, DUMP_EFER_NONE);
    dump_close(core);
    free(img);

    img = coregen_build(&seg, 1, two_cpus, 2, COREGEN_NO_QEMU | COREGEN_NO_PRSTATUS,
                        &len, NULL);
    expect_fail(img, len, "no CPU state");
    free(img);
}

/* Random byte flips in the headers and notes: never a crash (ASan/UBSan
 * builds check memory), always either a clean open or an error message. */
static void test_flips(void **state)
{
    (void)state;
    size_t len, noff;
    uint8_t *img = good_core(&len, &noff);
    uint8_t *copy = malloc(len);
    size_t span = noff + 2 * COREGEN_PRS_NOTE_SIZE + 2 * COREGEN_QEMU_NOTE_SIZE;
    unsigned seed = 12345, opened = 0, refused = 0;

    for (int iter = 0; iter < 3000; iter++) {
        struct dump_core *core;
        struct hvk_err err = { "" };
        uint8_t b[16];
        memcpy(copy, img, len);
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % span] ^= (uint8_t)(1u << ((seed >> 4) & 7));
        }
        if (dump_open_mem(copy, len, &core, &err) == 0) {
            opened++;
            for (size_t i = 0; i < dump_ram_count(core); i++)
                dump_read_gpa(core, dump_ram_at(core, i)->gpa, b, sizeof b, NULL);
            dump_close(core);
        } else {
            refused++;
            assert_true(err.msg[0] != '\0');
        }
    }
    /* both outcomes must occur, or the flips test nothing */
    assert_true(opened > 0 && refused > 0);
    free(copy);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_efer_rule),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_segments),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_notes),
        cmocka_unit_test(test_prstatus_only),
        cmocka_unit_test(test_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
