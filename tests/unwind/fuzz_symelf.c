/* fuzz_symelf.c -- libFuzzer harness: hvsym's ELF loader (libelf) on arbitrary images, and lookups on whatever it accepts. */
#include <stdlib.h>
#include <string.h>

#include <hvkit/hvsym.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hvk_err err;
    err.msg[0] = '\0';
    struct hvsym_table *t = hvsym_load_elf_mem(data, size, &err);
    if (!t) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i + 8 <= size && i < 4096; i += 64) {
        uint64_t a;
        memcpy(&a, data + i, 8);
        struct hvsym_hit h;
        if (hvsym_lookup(t, a, &h) && (h.offset >= h.size || !hvsym_is_text(t, a)))
            abort();
    }
    hvsym_free(t);
    return 0;
}
