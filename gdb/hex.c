/* hex.c -- hex encoding, decoding and overflow-checked number parsing for RSP. */
#include "hex.h"

const char gdb_hex_chars[16] = "0123456789abcdef";

int gdb_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t gdb_hex_encode(char *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = gdb_hex_chars[src[i] >> 4];
        dst[2 * i + 1] = gdb_hex_chars[src[i] & 15];
    }
    return 2 * n;
}

int gdb_hex_decode(uint8_t *dst, const char *src, size_t nchars)
{
    if (nchars % 2)
        return -1;
    for (size_t i = 0; i < nchars / 2; i++) {
        int hi = gdb_hex_digit((unsigned char)src[2 * i]);
        int lo = gdb_hex_digit((unsigned char)src[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int gdb_hex_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int any = 0, d;

    while (s < end && (d = gdb_hex_digit((unsigned char)*s)) >= 0) {
        if (v >> 60)
            return -2;
        v = v << 4 | (uint64_t)d;
        any = 1;
        s++;
    }
    if (!any)
        return -1;
    *p = s;
    *out = v;
    return 0;
}
