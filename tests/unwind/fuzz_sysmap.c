/* fuzz_sysmap.c -- libFuzzer harness: the System.map parser on arbitrary bytes, and lookups on whatever it accepts. */
#include <stdlib.h>
#include <string.h>

#include <hvkit/hvsym.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hvk_err err;
    err.msg[0] = '\0';
    struct hvsym_table *t = hvsym_load_sysmap_mem((const char *)data, size, &err);
    if (!t) {
        if (!memchr(err.msg, '\0', sizeof err.msg) || err.msg[0] == '\0')
            abort();   /* a refusal always says why */
        return 0;
    }
    if (hvsym_count(t) == 0)
        abort();
    /* probe addresses taken from the input: every hit is consistent */
    for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
        uint64_t a;
        memcpy(&a, data + i, 8);
        for (int d = -1; d <= 1; d++) {
            struct hvsym_hit h;
            uint64_t x = a + (uint64_t)(int64_t)d;
            bool hit = hvsym_lookup(t, x, &h);
            if (hit && (h.offset >= h.size || h.start + h.offset != x || !hvsym_is_text(t, x) ||
                        strlen(h.name) > HVSYM_NAME_MAX))
                abort();
            char buf[64];
            hvsym_format(t, x, buf, sizeof buf);
        }
    }
    hvsym_free(t);
    return 0;
}
