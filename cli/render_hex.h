/* render_hex.h -- hexdump -C style lines for `hvctl x`. */
#ifndef HVCTL_RENDER_HEX_H
#define HVCTL_RENDER_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* 16 bytes a line: the address (of the first byte of the line), the bytes
 * in hex (a gap after 8), then |ASCII| with '.' for unprintable bytes. */
void hvctl_render_hex(FILE *f, uint64_t addr, const uint8_t *data, size_t len);

#endif
