/*
 * utf8.c: the little UTF-8 that searchq needs to print Russian and English text in aligned
 * columns and to cut it short without splitting a character.
 *
 * Widths follow the usual terminal convention (as wcwidth does) for the ranges that matter to us:
 * combining marks and control characters take no column, East Asian wide characters and emoji
 * take two, everything else one. We do not call wcwidth() because it depends on the user's
 * locale, and searchq's output must be the same under LANG=C.
 */
#include "cli_int.h"

size_t cli_utf8_decode(const char *str, size_t len, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t c = s[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }
    *cp = c;
    return n;
}

bool cli_utf8_valid(const char *s, size_t len, size_t *bad_off)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cli_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            *bad_off = i;
            return false;
        }
        i += n;
    }
    return true;
}

static bool utf8_in(uint32_t cp, uint32_t lo, uint32_t hi)
{
    return cp >= lo && cp <= hi;
}

static size_t utf8_cp_width(uint32_t cp)
{
    if (cp < 0x20 || utf8_in(cp, 0x7F, 0x9F)) {
        return 0;
    }
    if (utf8_in(cp, 0x0300, 0x036F) ||
        utf8_in(cp, 0x0483, 0x0489) || /* combining, incl. Cyrillic */
        utf8_in(cp, 0x200B, 0x200F) || utf8_in(cp, 0x20D0, 0x20FF) || utf8_in(cp, 0xFE00, 0xFE0F) ||
        cp == 0xFEFF) {
        return 0;
    }
    if (utf8_in(cp, 0x1100, 0x115F) || utf8_in(cp, 0x2E80, 0x303E) || utf8_in(cp, 0x3041, 0x33FF) ||
        utf8_in(cp, 0x3400, 0x4DBF) || utf8_in(cp, 0x4E00, 0x9FFF) || utf8_in(cp, 0xA000, 0xA4CF) ||
        utf8_in(cp, 0xAC00, 0xD7A3) || utf8_in(cp, 0xF900, 0xFAFF) || utf8_in(cp, 0xFE30, 0xFE4F) ||
        utf8_in(cp, 0xFF00, 0xFF60) || utf8_in(cp, 0xFFE0, 0xFFE6) ||
        utf8_in(cp, 0x1F300, 0x1F64F) || utf8_in(cp, 0x1F900, 0x1F9FF) ||
        utf8_in(cp, 0x20000, 0x3FFFD)) {
        return 2;
    }
    return 1;
}

/* Width and length of the character at s: an invalid byte is one column and one byte. */
static size_t utf8_step(const char *s, size_t len, size_t *width)
{
    uint32_t cp;
    size_t n = cli_utf8_decode(s, len, &cp);
    if (n == 0) {
        *width = 1;
        return 1;
    }
    *width = utf8_cp_width(cp);
    return n;
}

size_t cli_utf8_width(const char *s, size_t len)
{
    size_t cols = 0;
    size_t i = 0;
    while (i < len) {
        size_t w;
        i += utf8_step(s + i, len - i, &w);
        cols += w;
    }
    return cols;
}

size_t cli_utf8_fit(const char *s, size_t len, size_t max_cols)
{
    size_t cols = 0;
    size_t i = 0;
    while (i < len) {
        size_t w;
        size_t n = utf8_step(s + i, len - i, &w);
        if (cols + w > max_cols) {
            break;
        }
        cols += w;
        i += n;
    }
    return i;
}
