/* mkcore.c -- write a small synthetic x86-64 guest core with known page
 * tables (4K, 2M, 1G pages, RO, user, NX, holes, a high-half alias, an entry
 * with bit 51 set) for hvctl's offline tests. Usage: dump_mkcore FILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coregen.h"

#define P  0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define XD (1ull << 63)

static uint8_t ram[0x10000]; /* GPA [0, 0x10000) */

static void set(uint64_t table, unsigned idx, uint64_t v)
{
    memcpy(ram + table + 8 * idx, &v, 8);
}

int main(int argc, char **argv)
{
    struct coregen_cpu cpu = {
        .rip = 0xffffffffc0001000ull, .rsp = 0x8ff0, .rflags = 0x2,
        .cr0 = 0x80010033, .cr3 = 0x1000, .cr4 = 0x20,
        .cs_sel = 0x8, .cs_flags = 0x00af9b00, .pid = 1,
    };
    struct coregen_seg segs[] = {
        { .gpa = 0, .data = ram, .filesz = sizeof ram },
        { .gpa = 0x100000, .filesz = 0x1000 },  /* a second segment after a hole */
    };
    size_t len;
    uint8_t *img;
    FILE *f;

    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    set(0x1000, 0, 0x2000 | P | RW | US);       /* PML4[0] */
    set(0x1000, 511, 0x3000 | P | RW);          /* PML4[511] */
    set(0x2000, 0, 0x4000 | P | RW | US);       /* PDPT[0] */
    set(0x2000, 1, 0x40000000 | P | RW | PS);   /* 1G page at 1 GiB */
    set(0x4000, 0, 0x5000 | P | RW | US);       /* PD[0] -> PT */
    set(0x4000, 1, 0x200000 | P | US | PS | XD); /* 2M user RO NX */
    set(0x5000, 1, 0x7000 | P | RW);            /* 0x1000 -> 0x7000 */
    set(0x5000, 2, 0x8000 | P | US);            /* 0x2000: user RO */
    /* PT[3] = 0: 0x3000 not present */
    set(0x5000, 4, 0x9000 | P | RW | (1ull << 51)); /* reserved below MAXPHYADDR 52 */
    set(0x5000, 5, 0xa000 | P | RW | 0x60);     /* A D */
    set(0x3000, 511, 0x6000 | P | RW);          /* PDPT_hi[511] */
    set(0x6000, 0, 0x5000 | P | RW);            /* high half shares the PT */
    set(0x6000, 2, 0x100000 | 0x0 );            /* not present, odd address */

    img = coregen_build(segs, 2, &cpu, 1, 0, &len, NULL);
    if (!img)
        return 1;
    f = fopen(argv[1], "wb");
    if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(img);
    return 0;
}
