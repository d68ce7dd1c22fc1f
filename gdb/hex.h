/* hex.h -- hex helpers shared by the gdb/ library (private). */
#ifndef GDBSTUB_HEX_H
#define GDBSTUB_HEX_H

#include <stddef.h>
#include <stdint.h>

extern const char gdb_hex_chars[16];

/* Value of one hex digit (either case), or -1. */
int gdb_hex_digit(int c);

/* Write 2*n hex characters for n bytes at dst (no NUL). Returns 2*n. */
size_t gdb_hex_encode(char *dst, const uint8_t *src, size_t n);

/* Decode nchars hex characters into nchars/2 bytes. -1 if nchars is odd or a
 * character is not hex; dst must hold nchars/2 bytes. */
int gdb_hex_decode(uint8_t *dst, const char *src, size_t nchars);

/* Parse a hex number of at least one digit from *p (not beyond end), advance
 * *p past it. 0 ok, -1 no digit, -2 overflows 64 bits (leading zeros are fine). */
int gdb_hex_u64(const char **p, const char *end, uint64_t *out);

#endif
