/*
 * jsoncheck.c: what searchd refuses in a document's JSON text and json-c lets through.
 *
 * `searchq import` checks every document before it sends one (import.c, pass 1), so that a bad
 * line stops the import with its file and line and nothing stored. It parses them with json-c,
 * which is more lenient than searchd (docs/PROTOCOL.md "Input edge cases"): it takes 01, 1.,
 * 1.e5, NaN, Infinity, tRue, a lone surrogate escape (as U+FFFD), a key given twice (the last
 * wins), an integer past 2^64-1 (clamped), 1e999 (as Infinity) and a key holding \u0000, and
 * nests 32 levels. searchd refuses each, so such a document passed the check, and the import
 * stopped at its batch, after the batches before it were stored, naming the batch's lines and an
 * offset into the request instead of the line. So each document's text is walked once more
 * here, as RFC 8259 writes JSON, with searchd's rules on top:
 *   - numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; an integer (no fraction, no
 *     exponent) from -2^63 to 2^64-1; any other number within a double's range;
 *   - strings: valid UTF-8; the escapes \" \\ \/ \b \f \n \r \t and \uXXXX, where \uD800 to
 *     \uDBFF must be followed by a \uDC00 to \uDFFF escape, and those never stand alone; no
 *     \u0000 in a key, no NUL byte at all. Other raw control characters are taken, as searchd
 *     takes them;
 *   - the literals true, false and null, spelt so;
 *   - no key twice in one object, escapes decoded ("q" and "\u0071" are the same key);
 *   - at most CLI_JSON_MAX_DEPTH levels: searchd reads 32 in a request, and a document sent in
 *     a batch, {"op":"add","docs":[...]}, stands inside two of them.
 * The walk is recursive, bounded by that depth, and linear in the text but for sorting each
 * object's keys once. Each object's decoded keys are kept on a stack shared by the objects
 * open around it (an inner object's keys go on top and come off when it closes).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

/* A key of an open object: its decoded bytes [off, off + len) of jc.key_text; src is where
 * it stands in the text. */
struct jc_key {
    size_t off, len, src;
};

struct jc {
    const char *s; /* borrowed: the text */
    size_t len, i; /* its length, and the byte being read */
    struct cli_json_fault *fault;
    bool has_fault;
    char *key_text; /* owned: the decoded keys of the open objects, outermost first */
    size_t key_len, key_cap;
    struct jc_key *keys; /* owned */
    size_t nkeys, keys_cap;
};

static bool jc_value(struct jc *j, unsigned depth);

__attribute__((format(printf, 3, 4))) static bool jc_fail(struct jc *j, size_t at, const char *fmt,
                                                          ...)
{
    if (!j->has_fault) {
        j->has_fault = true;
        j->fault->at = at;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->fault->why, sizeof j->fault->why, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool jc_is(const struct jc *j, char c)
{
    return j->i < j->len && j->s[j->i] == c;
}

static void jc_space(struct jc *j)
{
    while (j->i < j->len && strchr(" \t\r\n", j->s[j->i]) && j->s[j->i] != '\0') {
        j->i++;
    }
}

/* ---- keys ---- */

static bool jc_key_bytes(struct jc *j, const char *p, size_t n)
{
    if (n > j->key_cap - j->key_len) {
        size_t cap = j->key_cap ? j->key_cap * 2 : 256;
        while (cap - j->key_len < n) {
            cap *= 2;
        }
        char *grown = realloc(j->key_text, cap);
        if (!grown) {
            return jc_fail(j, j->i, "out of memory");
        }
        j->key_text = grown;
        j->key_cap = cap;
    }
    memcpy(j->key_text + j->key_len, p, n);
    j->key_len += n;
    return true;
}

/* Appends code point cp, UTF-8 encoded. */
static bool jc_key_code_point(struct jc *j, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18), b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return jc_key_bytes(j, b, n);
}

/* A new key, at the top of the stack, whose bytes the string that follows appends. */
static bool jc_key_open(struct jc *j)
{
    if (j->nkeys == j->keys_cap) {
        size_t cap = j->keys_cap ? j->keys_cap * 2 : 32;
        struct jc_key *grown = realloc(j->keys, cap * sizeof *grown);
        if (!grown) {
            return jc_fail(j, j->i, "out of memory");
        }
        j->keys = grown;
        j->keys_cap = cap;
    }
    j->keys[j->nkeys++] = (struct jc_key){.off = j->key_len, .src = j->i};
    return true;
}

struct jc_span {
    const char *p;
    size_t len, src;
};

static int jc_span_cmp(const void *a, const void *b)
{
    const struct jc_span *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Whether the keys from first up are all different; a repeat is named where it stands (the
 * later of the two), at most 64 bytes of it, control characters shown as '?'. */
static bool jc_keys_unique(struct jc *j, size_t open, size_t first)
{
    size_t n = j->nkeys - first;
    if (n < 2) {
        return true;
    }
    struct jc_span *spans = malloc(n * sizeof *spans);
    if (!spans) {
        return jc_fail(j, open, "out of memory");
    }
    const char *base = j->key_text ? j->key_text : ""; /* NULL while every key is "" */
    for (size_t k = 0; k < n; k++) {
        const struct jc_key *key = &j->keys[first + k];
        spans[k] = (struct jc_span){base + key->off, key->len, key->src};
    }
    qsort(spans, n, sizeof *spans, jc_span_cmp);
    bool is_unique = true;
    for (size_t k = 1; k < n && is_unique; k++) {
        if (jc_span_cmp(&spans[k - 1], &spans[k]) == 0) {
            char name[65];
            size_t len = 0, step;
            uint32_t cp;
            while (len < spans[k].len &&
                   (step = cli_utf8_decode(spans[k].p + len, spans[k].len - len, &cp)) > 0 &&
                   len + step < sizeof name) {
                len += step;
            }
            for (size_t b = 0; b < len; b++) {
                name[b] = (unsigned char)spans[k].p[b] < 0x20 ? '?' : spans[k].p[b];
            }
            name[len] = '\0';
            size_t at = spans[k].src > spans[k - 1].src ? spans[k].src : spans[k - 1].src;
            is_unique = jc_fail(j, at, "key '%s' given twice", name);
        }
    }
    free(spans);
    return is_unique;
}

/* ---- strings ---- */

static int jc_hex4(const char *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

/* The \u escape at s[i], and the low surrogate's after it when it is a high one. */
static bool jc_escape_u(struct jc *j, size_t str_start, bool is_key)
{
    size_t at = j->i;
    int hi = j->len - j->i >= 6 ? jc_hex4(j->s + j->i + 2) : -1;
    if (hi < 0) {
        return jc_fail(j, at, "malformed \\u escape");
    }
    j->i += 6;
    uint32_t cp = (uint32_t)hi;
    if (hi >= 0xDC00 && hi <= 0xDFFF) {
        return jc_fail(j, at, "\\u%04x is a lone low surrogate", (unsigned)hi);
    }
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        bool is_escape = j->len - j->i >= 6 && j->s[j->i] == '\\' && j->s[j->i + 1] == 'u';
        int lo = is_escape ? jc_hex4(j->s + j->i + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) {
            return jc_fail(j, at, "\\u%04x is a high surrogate without a low one after it",
                           (unsigned)hi);
        }
        j->i += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    }
    if (cp == 0 && is_key) {
        return jc_fail(j, str_start, "a key holds \\u0000 (NUL)");
    }
    return !is_key || jc_key_code_point(j, cp);
}

static bool jc_escape(struct jc *j, size_t str_start, bool is_key)
{
    static const char names[] = "\"\\/bfnrt", bytes[] = "\"\\/\b\f\n\r\t";
    char e = j->len - j->i >= 2 ? j->s[j->i + 1] : '\0';
    const char *simple = e != '\0' ? strchr(names, e) : NULL;
    if (simple) {
        j->i += 2;
        return !is_key || jc_key_bytes(j, &bytes[simple - names], 1);
    }
    if (e == 'u') {
        return jc_escape_u(j, str_start, is_key);
    }
    return jc_fail(j, j->i, "malformed escape");
}

/* Whether the 8 bytes in w are all ASCII and none is a quote, a backslash or NUL: a word
 * has a zero byte when (w - 0x01..01) & ~w & 0x80..80 is not 0, and w ^ '"' repeated has one
 * where w holds a quote. */
static bool jc_ascii_plain8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quotes = w ^ (ones * '"'), backslashes = w ^ (ones * '\\');
    uint64_t zeros =
        ((w - ones) & ~w) | ((quotes - ones) & ~quotes) | ((backslashes - ones) & ~backslashes);
    return ((zeros | w) & highs) == 0;
}

/* Where the run of string bytes from i that needs no more than a UTF-8 check ends: at a quote,
 * a backslash, a NUL byte or a byte that is not valid UTF-8. Printable ASCII and two-byte
 * sequences (all of Cyrillic) are taken inline, the rest by cli_utf8_decode: strings are most
 * of an import's bytes, and this is the loop pass 1 spends its time in after json-c. */
static size_t jc_plain_run(const struct jc *j, size_t i)
{
    const unsigned char *s = (const unsigned char *)j->s;
    while (i < j->len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\' || c == '\0') {
                break;
            }
            i++;
            uint64_t w; /* ASCII text goes on in ASCII: try eight bytes at once */
            while (j->len - i >= 8 && (memcpy(&w, s + i, 8), jc_ascii_plain8(w))) {
                i += 8;
            }
        } else if (c >= 0xC2 && c <= 0xDF && i + 1 < j->len && (s[i + 1] & 0xC0) == 0x80) {
            i += 2;
        } else {
            uint32_t cp;
            size_t n = cli_utf8_decode(j->s + i, j->len - i, &cp);
            if (n == 0) {
                break;
            }
            i += n;
        }
    }
    return i;
}

/* The string at s[i] ('"'); a key's decoded bytes go on the key stack. */
static bool jc_string(struct jc *j, bool is_key)
{
    size_t start = j->i++;
    while (j->i < j->len) {
        size_t end = jc_plain_run(j, j->i);
        if (is_key && end > j->i && !jc_key_bytes(j, j->s + j->i, end - j->i)) {
            return false;
        }
        j->i = end;
        if (end == j->len) {
            break;
        }
        char c = j->s[end];
        if (c == '"') {
            j->i++;
            return true;
        }
        if (c == '\\') {
            if (!jc_escape(j, start, is_key)) {
                return false;
            }
            continue;
        }
        if (c == '\0') { /* json-c and searchd read it as the end of the text */
            return jc_fail(j, j->i, "a NUL byte in a string (write it \\u0000)");
        }
        return jc_fail(j, j->i, "not valid UTF-8");
    }
    return jc_fail(j, start, "a string without its closing quote");
}

/* ---- numbers and literals ---- */

static size_t jc_digits(struct jc *j)
{
    size_t from = j->i;
    while (j->i < j->len && j->s[j->i] >= '0' && j->s[j->i] <= '9') {
        j->i++;
    }
    return j->i - from;
}

/* The number s[start, start + n) read as a double is finite (json-c reads 1e999 as
 * Infinity). strtod reads the C locale's point: searchq never calls setlocale. */
static bool jc_finite(struct jc *j, size_t start, size_t n)
{
    char small[64];
    char *text = n < sizeof small ? small : malloc(n + 1);
    if (!text) {
        return jc_fail(j, start, "out of memory");
    }
    memcpy(text, j->s + start, n);
    text[n] = '\0';
    double v = strtod(text, NULL);
    if (text != small) {
        free(text);
    }
    if (isinf(v)) {
        return jc_fail(j, start,
                       "a number past a double's range (about 1.8e308 either way); send it as "
                       "a string");
    }
    return true;
}

static bool jc_number(struct jc *j)
{
    size_t start = j->i;
    bool is_negative = jc_is(j, '-');
    j->i += is_negative;
    size_t int_start = j->i, int_len = jc_digits(j);
    if (int_len == 0 || (int_len > 1 && j->s[int_start] == '0')) {
        return jc_fail(j, start, "malformed number (%s)",
                       int_len ? "a leading zero" : "no digit after the sign");
    }
    bool is_integer = true;
    if (jc_is(j, '.')) {
        j->i++;
        if (jc_digits(j) == 0) {
            return jc_fail(j, start, "malformed number (no digit after the point)");
        }
        is_integer = false;
    }
    if (jc_is(j, 'e') || jc_is(j, 'E')) {
        j->i++;
        j->i += jc_is(j, '+') || jc_is(j, '-');
        if (jc_digits(j) == 0) {
            return jc_fail(j, start, "malformed number (an exponent without digits)");
        }
        is_integer = false;
    }
    if (!is_integer) {
        return jc_finite(j, start, j->i - start);
    }
    const char *limit = is_negative ? "9223372036854775808" : "18446744073709551615";
    size_t n = strlen(limit);
    if (int_len > n || (int_len == n && memcmp(j->s + int_start, limit, n) > 0)) {
        return jc_fail(j, start,
                       "integer out of range (-2^63 to 2^64-1; send a larger one as a string)");
    }
    return true;
}

static bool jc_is_word(const struct jc *j, const char *word)
{
    size_t n = strlen(word);
    return j->len - j->i >= n && memcmp(j->s + j->i, word, n) == 0;
}

static bool jc_literal(struct jc *j)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (jc_is_word(j, words[k])) {
            j->i += strlen(words[k]);
            return true;
        }
    }
    return jc_fail(j, j->i,
                   "unexpected character (a value is an object, an array, a string, a "
                   "number, true, false or null)");
}

/* ---- containers ---- */

/* The members of the object whose '{' was just read; its keys go on the stack. */
static bool jc_members(struct jc *j, unsigned depth)
{
    jc_space(j);
    if (jc_is(j, '}')) {
        j->i++;
        return true;
    }
    for (;;) {
        jc_space(j);
        if (!jc_is(j, '"')) {
            return jc_fail(j, j->i, "expected a key (a string)");
        }
        if (!jc_key_open(j) || !jc_string(j, true)) {
            return false;
        }
        j->keys[j->nkeys - 1].len = j->key_len - j->keys[j->nkeys - 1].off;
        jc_space(j);
        if (!jc_is(j, ':')) {
            return jc_fail(j, j->i, "expected ':' after a key");
        }
        j->i++;
        if (!jc_value(j, depth)) {
            return false;
        }
        jc_space(j);
        if (jc_is(j, ',') || jc_is(j, '}')) {
            if (j->s[j->i++] == '}') {
                return true;
            }
            continue;
        }
        return jc_fail(j, j->i, "expected ',' or '}'");
    }
}

static bool jc_object(struct jc *j, unsigned depth)
{
    size_t open = j->i++, first_key = j->nkeys, key_len = j->key_len;
    bool is_ok = jc_members(j, depth) && jc_keys_unique(j, open, first_key);
    j->nkeys = first_key; /* the object's keys come off the stack */
    j->key_len = key_len;
    return is_ok;
}

static bool jc_array(struct jc *j, unsigned depth)
{
    j->i++;
    jc_space(j);
    if (jc_is(j, ']')) {
        j->i++;
        return true;
    }
    for (;;) {
        if (!jc_value(j, depth)) {
            return false;
        }
        jc_space(j);
        if (jc_is(j, ',') || jc_is(j, ']')) {
            if (j->s[j->i++] == ']') {
                return true;
            }
            continue;
        }
        return jc_fail(j, j->i, "expected ',' or ']'");
    }
}

/* NaN, Infinity or -Infinity at s[i]: json-c takes them; each gets searchd's message. */
static bool jc_is_nan_or_infinity(struct jc *j)
{
    size_t i = j->i + jc_is(j, '-');
    const char *p = j->s + i;
    size_t left = j->len - i;
    return (left >= 3 && memcmp(p, "NaN", 3) == 0) || (left >= 8 && memcmp(p, "Infinity", 8) == 0);
}

/* The value at s[i] (after white space); depth: the containers open around it. */
static bool jc_value(struct jc *j, unsigned depth)
{
    jc_space(j);
    if (j->i >= j->len) {
        return jc_fail(j, j->i, "the JSON ends where a value should be");
    }
    char c = j->s[j->i];
    if (c == '{' || c == '[') {
        if (depth >= CLI_JSON_MAX_DEPTH) {
            return jc_fail(j, j->i,
                           "nested deeper than %d levels (searchd reads 32 in a request, and a "
                           "batch's documents stand inside two)",
                           CLI_JSON_MAX_DEPTH);
        }
        return c == '{' ? jc_object(j, depth + 1) : jc_array(j, depth + 1);
    }
    if (c == '"') {
        return jc_string(j, false);
    }
    if (jc_is_nan_or_infinity(j)) {
        return jc_fail(j, j->i, "NaN and Infinity are not JSON");
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        return jc_number(j);
    }
    return jc_literal(j);
}

bool cli_json_check(const char *text, size_t len, struct cli_json_fault *fault)
{
    struct jc j = {.s = text, .len = len, .fault = fault};
    bool is_ok = jc_value(&j, 0);
    if (is_ok) {
        jc_space(&j);
        is_ok = j.i == len || jc_fail(&j, j.i, "text after the JSON value");
    }
    free(j.key_text);
    free(j.keys);
    return is_ok;
}
