/* render_hex.c -- hexdump lines with ASCII, addressed by guest address. */
#include "render_hex.h"

void hvctl_render_hex(FILE *f, uint64_t addr, const uint8_t *data, size_t len)
{
    for (size_t off = 0; off < len; off += 16) {
        size_t n = len - off < 16 ? len - off : 16;
        char ascii[17];
        fprintf(f, "%016llx  ", (unsigned long long)(addr + off));
        for (size_t i = 0; i < 16; i++) {
            if (i < n)
                fprintf(f, "%02x ", data[off + i]);
            else
                fputs("   ", f);
            if (i == 7)
                fputc(' ', f);
            ascii[i] = i < n ? ((data[off + i] >= 0x20 && data[off + i] < 0x7f) ? (char)data[off + i] : '.') : '\0';
        }
        ascii[n] = '\0';
        fprintf(f, " |%s|\n", ascii);
    }
}
