/*
 * utf8.c: strict UTF-8 decoding for the tokenizer and the folder.
 *
 * Text comes from documents and queries, so nothing about it is trusted. The decoder accepts
 * exactly the well-formed sequences of Unicode Table 3-7: no overlong forms (C0, C1, E0 80..9F,
 * F0 80..8F), no surrogates (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF), and no lone
 * continuation bytes. It never looks past the length it is given, so a sequence truncated by
 * the end of the input is invalid rather than read beyond. On an invalid sequence it reports
 * 0 and the caller skips a single byte, so each bad byte is one separator and resynchronizing
 * needs no state.
 */
#include "stem_int.h"

#include <string.h>

/* Byte b is a continuation byte 10xxxxxx. */
static bool is_cont(unsigned char b)
{
    return (b & 0xC0) == 0x80;
}

/* Second-byte range for a 3- or 4-byte lead, per Table 3-7. */
static bool second_ok(unsigned char lead, unsigned char b)
{
    switch (lead) {
    case 0xE0:
        return b >= 0xA0 && b <= 0xBF; /* below A0 would be overlong */
    case 0xED:
        return b >= 0x80 && b <= 0x9F; /* above 9F would be a surrogate */
    case 0xF0:
        return b >= 0x90 && b <= 0xBF; /* below 90 would be overlong */
    case 0xF4:
        return b >= 0x80 && b <= 0x8F; /* above 8F would pass U+10FFFF */
    default:
        return is_cont(b);
    }
}

/* stem_utf8_decode, inlined where text is read a character at a time (the validator). */
static inline size_t decode(const unsigned char *s, size_t len, int32_t *cp)
{
    unsigned char b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 < 0xC2 || b0 > 0xF4) { /* continuation, overlong 2-byte lead, or too large */
        return 0;
    }
    if (b0 < 0xE0) {
        if (len < 2 || !is_cont(s[1])) {
            return 0;
        }
        *cp = (int32_t)(b0 & 0x1F) << 6 | (int32_t)(s[1] & 0x3F);
        return 2;
    }
    if (b0 < 0xF0) {
        if (len < 3 || !second_ok(b0, s[1]) || !is_cont(s[2])) {
            return 0;
        }
        *cp = (int32_t)(b0 & 0x0F) << 12 | (int32_t)(s[1] & 0x3F) << 6 | (int32_t)(s[2] & 0x3F);
        return 3;
    }
    if (len < 4 || !second_ok(b0, s[1]) || !is_cont(s[2]) || !is_cont(s[3])) {
        return 0;
    }
    *cp = (int32_t)(b0 & 0x07) << 18 | (int32_t)(s[1] & 0x3F) << 12 | (int32_t)(s[2] & 0x3F) << 6 |
          (int32_t)(s[3] & 0x3F);
    return 4;
}

size_t stem_utf8_decode(const unsigned char *s, size_t len, int32_t *cp)
{
    return decode(s, len, cp);
}

size_t stem_utf8_encode(int32_t cp, char *out)
{
    uint32_t c = (uint32_t)cp;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

size_t stem_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    return n;
}

size_t stem_utf8_len(const char *s, size_t len)
{
    int32_t cp;
    return len ? stem_utf8_decode((const unsigned char *)s, len, &cp) : 0;
}

size_t stem_utf8_invalid_at(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* Runs of ASCII are the common case (whole requests of JSON): 8 bytes at a time while
         * none has the high bit. */
        while (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull) {
                break;
            }
            i += 8;
        }
        if (i >= len) {
            break;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        size_t n = decode(p + i, len - i, &cp);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return len;
}

bool stem_utf8_valid(const char *s, size_t len)
{
    return stem_utf8_invalid_at(s, len) == len;
}
