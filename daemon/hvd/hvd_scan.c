/* hvd_scan.c -- checks on untrusted text before it reaches a parser: JSON
 * nesting depth, hex address strings, one-line error descriptions. */
#include <ctype.h>
#include <string.h>

#include "hvd.h"

unsigned hvd_json_depth(const char *s, size_t n, unsigned max)
{
    /* Only brackets outside strings count; inside a string a backslash
     * escapes the next byte. Malformed text is the parser's business: this
     * only bounds how deep the parser will recurse. */
    unsigned depth = 0, deepest = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > max)
                    return max + 1;
            }
        } else if ((ch == ']' || ch == '}') && depth) {
            depth--;
        }
    }
    return deepest;
}

bool hvd_parse_hex(const char *s, uint64_t *v)
{
    if (!s || s[0] != '0' || s[1] != 'x')
        return false;
    size_t n = strlen(s + 2);
    if (n < 1 || n > 16)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[2 + i];
        if (!isxdigit(ch))
            return false;
        x = x << 4 | (uint64_t)(isdigit(ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
    }
    *v = x;
    return true;
}

void hvd_one_line(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
    }
    dst[n] = '\0';
}
