/* fuzz_fault_rec.c -- libFuzzer: FAULT records as a ring could hold them (random, or a valid one with bits flipped) through x86_fault_rec_check and hvjson_fault. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hvkit/hvjson.h>

static int fuzz_lookup(void *ctx, uint64_t addr, const char **name, uint64_t *off)
{
    (void)ctx;
    if (addr & 1)
        return -1;
    *name = (addr & 2) ? "fn\xff\xfe" : "fn";   /* invalid UTF-8 sometimes */
    *off = addr >> 2;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hvk_fault_rec r;
    struct hvk_err err = { "" }, jerr = { "" };
    struct x86_symbolizer sym = { .lookup = fuzz_lookup };
    if (size < 1)
        return 0;
    memset(&r, 0, sizeof r);
    /* mode 0: raw bytes; 1: XOR over a valid MMIO record; 2: over a #UD record */
    unsigned mode = data[0] % 3;
    if (mode == 1) {
        struct x86_fault_frame fr = { .rip = 0x401000, .cs = 0x2b };
        x86_fault_rec_mmio(&r, 0, 0x1000, &fr, 0xfee00000, 4, true, 0x1234, NULL);
    } else if (mode == 2) {
        r.cls = HVK_FC_EXCEPTION;
        r.vector = 6;
        r.walk_level = 0xff;
    }
    size_t n = size - 1 < sizeof r ? size - 1 : sizeof r;
    uint8_t *p = (uint8_t *)&r;
    for (size_t i = 0; i < n; i++)
        p[i] = mode ? p[i] ^ data[1 + i] : data[1 + i];

    int ok = x86_fault_rec_check(&r, 4, &err) == 0;
    json_t *j = hvjson_fault(&r, (data[0] & 4) ? &sym : NULL, 4, &jerr);
    if (ok != (j != NULL))
        abort();   /* hvjson_fault renders exactly the records the checker accepts */
    if (j) {
        char *s = json_dumps(j, JSON_COMPACT);
        if (!s)
            abort();
        free(s);
        json_decref(j);
    }
    char buf[160];
    x86_fault_rec_why(&r, buf, sizeof buf);   /* also on unchecked records: must not read out of bounds */
    x86_fault_rec_notes(&r);
    x86_fault_class_format(r.cls, r.vector, buf, sizeof buf);
    return 0;
}
