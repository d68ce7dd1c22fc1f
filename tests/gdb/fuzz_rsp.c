/* fuzz_rsp.c -- libFuzzer harness over the gdb stub: framing + dispatch + ops on the fake target; checks every byte the stub emits is valid RSP. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_target.h"

/* Everything the stub writes is '+', '-', or one whole "$data#cs" packet
 * with a correct checksum and no raw '$', '#' or '*' inside. */
static int fuzz_write(void *ctx, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint8_t sum = 0;

    (void)ctx;
    if (len == 1 && (p[0] == '+' || p[0] == '-'))
        return 0;
    if (len < 4 || p[0] != '$' || p[len - 3] != '#')
        abort();
    for (size_t i = 1; i < len - 3; i++) {
        if (p[i] == '$' || p[i] == '#' || p[i] == '*')
            abort();
        sum += p[i];
    }
    static const char hex[] = "0123456789abcdef";
    if (p[len - 2] != hex[sum >> 4] || p[len - 1] != hex[sum & 15])
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fake_target fake;
    struct gdb_stub *stub;
    size_t chunk, off = 0;
    int rounds = 0;

    if (size < 1)
        return 0;
    /* First byte: how the input is split into reads (1..256 bytes). */
    chunk = (size_t)data[0] + 1;
    data++;
    size--;
    fake_target_init(&fake);
    stub = gdb_stub_new(&gdb_arch_x86_64, &fake_target_ops, &fake, fuzz_write, NULL);
    if (!stub)
        return 0;
    while (off < size && gdb_stub_state(stub) != GDB_STUB_CLOSED) {
        size_t n = size - off < chunk ? size - off : chunk;
        gdb_stub_feed(stub, data + off, n);
        off += n;
        /* Alternate: let a running target stop every other read, and answer
         * pending ops (the fixture pends at most 9 times in a row). */
        if (gdb_stub_state(stub) == GDB_STUB_RUNNING && (rounds & 1))
            fake_target_run(&fake, stub);
        for (int i = 0; i < 10 && gdb_stub_state(stub) == GDB_STUB_PENDING; i++)
            gdb_stub_retry(stub);
        rounds++;
    }
    gdb_stub_free(stub);
    return 0;
}
