/*
 * seg_textarr.c: the strings of a SEG_TEXT_ARRAY value (a JSON array of strings, kept as its
 * JSON text), one at a time, unescaped.
 *
 * Documents analysed (seg_analyze.c) and deleted documents whose length a merge counts again
 * (seg_merge.c) walk such a value the same way, so both see the same tokens. The engine only
 * makes this type from a value it has checked to be an array of strings (index/schema), yet
 * the walk trusts nothing: any other byte sequence is SD_EINVAL, every escape is checked,
 * and a \u escape that is not a valid code point (a lone surrogate) becomes U+FFFD.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "seg_int.h"

static void skip_space(const char *s, size_t len, size_t *at)
{
    while (*at < len && (s[*at] == ' ' || s[*at] == '\t' || s[*at] == '\n' || s[*at] == '\r')) {
        (*at)++;
    }
}

static bool hex4(const char *s, size_t len, size_t at, uint32_t *cp)
{
    if (len - at < 4) {
        return false;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        char c = s[at + i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return false;
        }
        v = v * 16 + (uint32_t)d;
    }
    *cp = v;
    return true;
}

/* A \u escape at s[*at] (after the 'u'), with a following low surrogate if it is a high one. */
static bool unicode_escape(const char *s, size_t len, size_t *at, struct sd_buf *out)
{
    uint32_t cp, lo;
    if (!hex4(s, len, *at, &cp)) {
        return false;
    }
    *at += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && len - *at >= 6 && s[*at] == '\\' && s[*at + 1] == 'u' &&
        hex4(s, len, *at + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        *at += 6;
    } else if (cp >= 0xD800 && cp < 0xE000) {
        cp = 0xFFFD; /* a lone surrogate has no UTF-8 */
    }
    char b[4];
    sd_buf_put(out, b, stem_utf8_encode((int32_t)cp, b));
    return true;
}

/* The JSON string starting at s[*at] (its opening quote), unescaped into out. */
static bool read_string(const char *s, size_t len, size_t *at, struct sd_buf *out)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    if (*at >= len || s[*at] != '"') {
        return false;
    }
    for (size_t i = *at + 1; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            *at = i + 1;
            return true;
        }
        if ((unsigned char)c < 0x20) {
            return false;
        }
        if (c != '\\') {
            sd_buf_put_u8(out, (uint8_t)c);
            continue;
        }
        if (++i >= len) {
            return false;
        }
        const char *e = memchr(esc_in, s[i], sizeof esc_in - 1);
        if (e) {
            sd_buf_put_u8(out, (uint8_t)esc_out[e - esc_in]);
        } else if (s[i] == 'u') {
            size_t j = i + 1;
            if (!unicode_escape(s, len, &j, out)) {
                return false;
            }
            i = j - 1;
        } else {
            return false;
        }
    }
    return false;
}

int seg_text_array_each(const char *json, size_t len, struct sd_buf *scratch, seg_text_fn fn,
                        void *arg)
{
    size_t at = 0;
    skip_space(json, len, &at);
    if (at >= len || json[at++] != '[') {
        return SD_EINVAL;
    }
    skip_space(json, len, &at);
    if (at < len && json[at] == ']') {
        at++;
        skip_space(json, len, &at);
        return at == len ? SD_OK : SD_EINVAL;
    }
    for (;;) {
        sd_buf_reset(scratch);
        skip_space(json, len, &at);
        if (!read_string(json, len, &at, scratch)) {
            return SD_EINVAL;
        }
        if (scratch->rc) {
            return SD_ENOMEM;
        }
        int rc = fn(arg, scratch->len ? (const char *)scratch->data : "", scratch->len);
        if (rc) {
            return rc;
        }
        skip_space(json, len, &at);
        if (at < len && json[at] == ',') {
            at++;
            continue;
        }
        if (at < len && json[at] == ']') {
            at++;
            skip_space(json, len, &at);
            return at == len ? SD_OK : SD_EINVAL;
        }
        return SD_EINVAL;
    }
}
