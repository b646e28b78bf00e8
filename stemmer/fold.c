/*
 * fold.c: case folding, the "exact" form of every token and the first step of stemming.
 *
 * The rule (stem.h) is Unicode full case folding followed by NFC, then 'ё' -> 'е'. utf8proc
 * does the first two in one pass with UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE:
 * utf8proc_decompose() case-folds and canonically decomposes each code point into an int32
 * buffer and puts combining marks in canonical order, then utf8proc_normalize_utf32()
 * recomposes. Because of the recomposition 'й' comes out as the single code point U+0439 (it
 * is decomposed to 'и' + U+0306 on the way) and 'ß' becomes "ss". 'ё' is replaced only after
 * NFC, so "е" + U+0308 becomes 'ё' first and then 'е' like a precomposed 'ё'.
 *
 * Stress marks: dictionaries and textbooks put a combining acute (U+0301), sometimes a grave
 * (U+0300), on the stressed vowel of a Russian word ("молоко́", "за́мок"). Cyrillic vowels
 * have no precomposed accented forms, so the mark is still there after NFC, and a word
 * keeping it would match only itself typed with the mark. So after NFC an acute or grave
 * that did not compose into its letter is dropped: "за́мок" folds to "замок". Letters that
 * compose keep their accent ("café" + NFD is "café"), and a mark with nothing before it in
 * the word is kept, so a word is never folded to nothing. Indexes built before this rule hold
 * such words with the mark; stem_ctx_keep_stress() folds as they did, for the query side to
 * look for those terms too (index/query/parse_leaf.c).
 *
 * That path costs a pass through utf8proc's tables per code point, and the tokenizer folds
 * every word of every document. Almost all of our text is ASCII or basic Cyrillic
 * (U+0400..U+045F), where full folding is a fixed per-character map: A-Z -> a-z,
 * U+0410..U+042F -> +0x20, U+0400..U+040F -> +0x50, then U+0451 -> U+0435. None of those
 * characters changes under NFC, and no two of them compose with each other, so the fast path
 * below handles any input made only of them; the first other code point (a combining mark
 * included) sends the whole input to utf8proc. stem_test.c checks the fast map against
 * utf8proc for every code point it covers.
 *
 * stem_case_like() goes the other way for a correction shown to a user (did_you_mean): the
 * folded form respelt in the case pattern of what was typed.
 *
 * Scratch: the code point buffer (struct stem_fold_buf) starts inline and grows on the heap
 * only for long non-ASCII input; it is kept in the stem_ctx, so the tokenizer does not
 * allocate per token.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "stem_int.h"

#define FOLD_OPTIONS   (UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE)
#define FOLD_NEED_SLOW 1 /* fold_fast() result: utf8proc is needed */

void stem_fold_buf_init(struct stem_fold_buf *fb)
{
    fb->cps = fb->small;
    fb->cap = sizeof fb->small / sizeof fb->small[0];
    fb->keep_stress = false;
}

void stem_fold_buf_release(struct stem_fold_buf *fb)
{
    if (fb->cps != fb->small) {
        free(fb->cps);
    }
    bool keep_stress = fb->keep_stress;
    stem_fold_buf_init(fb);
    fb->keep_stress = keep_stress;
}

/* Makes room for `need` code points. The old contents are not kept: callers refill. */
static int fold_buf_grow(struct stem_fold_buf *fb, size_t need)
{
    size_t cap = fb->cap * 2 > need ? fb->cap * 2 : need;
    if (cap > SIZE_MAX / sizeof(int32_t) || cap > (size_t)PTRDIFF_MAX / sizeof(int32_t)) {
        return STEM_ENOMEM;
    }
    int32_t *cps = malloc(cap * sizeof(int32_t));
    if (!cps) {
        return STEM_ENOMEM;
    }
    stem_fold_buf_release(fb);
    fb->cps = cps;
    fb->cap = cap;
    return STEM_OK;
}

/* The full case folding of a code point in U+0400..U+045F, with 'ё' -> 'е'. */
static int32_t fold_cyrillic(int32_t cp)
{
    if (cp < 0x410) {
        cp += 0x50; /* Ѐ..Џ -> ѐ..џ */
    } else if (cp < 0x430) {
        cp += 0x20; /* А..Я -> а..я */
    }
    return cp == 0x451 ? 0x435 : cp;
}

/* Folds input made only of ASCII and U+0400..U+045F. Returns STEM_OK, STEM_EINVAL when the
 * result does not fit (exact: each character's folded length is fixed), or FOLD_NEED_SLOW for
 * any other input. */
static int fold_fast(const unsigned char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t o = 0; /* folded length so far; bytes are written only while they fit */
    for (size_t i = 0; i < len;) {
        unsigned char b = in[i];
        if (b < 0x80) {
            if (o + 1 < cap) {
                out[o] = (char)(b >= 'A' && b <= 'Z' ? b | 0x20 : b);
            }
            o++;
            i++;
            continue;
        }
        /* D0 80..BF is U+0400..U+043F, D1 80..9F is U+0440..U+045F */
        if (i + 1 >= len || (b != 0xD0 && b != 0xD1) || (in[i + 1] & 0xC0) != 0x80 ||
            (b == 0xD1 && in[i + 1] > 0x9F)) {
            return FOLD_NEED_SLOW;
        }
        if (o + 2 < cap) {
            int32_t cp = (int32_t)(b & 0x1F) << 6 | (int32_t)(in[i + 1] & 0x3F);
            stem_utf8_encode(fold_cyrillic(cp), out + o);
        }
        o += 2;
        i += 2;
    }
    if (o >= cap) {
        return STEM_EINVAL;
    }
    out[o] = '\0';
    *out_len = o;
    return STEM_OK;
}

/* Case-folds and decomposes valid UTF-8 into fb; *count gets the number of code points. */
static int fold_decompose(struct stem_fold_buf *fb, const unsigned char *in, size_t len,
                          size_t *count)
{
    for (;;) {
        utf8proc_ssize_t n = utf8proc_decompose(in, (utf8proc_ssize_t)len, fb->cps,
                                                (utf8proc_ssize_t)fb->cap, FOLD_OPTIONS);
        if (n < 0) {
            /* the input was validated, so only an allocation-sized failure is left */
            return n == UTF8PROC_ERROR_NOMEM || n == UTF8PROC_ERROR_OVERFLOW ? STEM_ENOMEM
                                                                             : STEM_EINVAL;
        }
        if ((size_t)n <= fb->cap) {
            *count = (size_t)n;
            return STEM_OK;
        }
        int rc = fold_buf_grow(fb, (size_t)n);
        if (rc) {
            return rc;
        }
    }
}

/* Appends cp's UTF-8 to out at *o, leaving room for the NUL; false when it does not fit. */
static bool put_cp(char *out, size_t cap, size_t *o, int32_t cp)
{
    char enc[4];
    size_t k = stem_utf8_encode(cp, enc);
    if (*o + k >= cap) {
        return false;
    }
    memcpy(out + *o, enc, k);
    *o += k;
    return true;
}

/* Full folding of valid UTF-8 through utf8proc. */
static int fold_slow(struct stem_fold_buf *fb, const unsigned char *in, size_t len, char *out,
                     size_t cap, size_t *out_len)
{
    size_t count;
    int rc = fold_decompose(fb, in, len, &count);
    if (rc) {
        return rc;
    }
    utf8proc_ssize_t n = utf8proc_normalize_utf32(fb->cps, (utf8proc_ssize_t)count, FOLD_OPTIONS);
    if (n < 0) {
        return STEM_EINVAL;
    }
    size_t o = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        int32_t cp = fb->cps[i] == 0x451 ? 0x435 : fb->cps[i];
        if ((cp == 0x301 || cp == 0x300) && o > 0 && !fb->keep_stress) {
            continue; /* a stress mark NFC left alone */
        }
        if (!put_cp(out, cap, &o, cp)) {
            return STEM_EINVAL;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return STEM_OK;
}

/* Copies the well-formed sequences of in[0, len) to a new buffer (returned owned, freed by the
 * caller), dropping each invalid byte. */
static unsigned char *copy_valid(const unsigned char *in, size_t len, size_t *out_len)
{
    unsigned char *buf = malloc(len);
    if (!buf) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t n = stem_utf8_decode(in + i, len - i, &cp);
        if (n == 0) {
            i++;
            continue;
        }
        memcpy(buf + o, in + i, n);
        o += n;
        i += n;
    }
    *out_len = o;
    return buf;
}

int stem_fold_with(struct stem_fold_buf *fb, const char *in, size_t len, char *out, size_t cap,
                   size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)in;
    if (cap == 0) {
        return STEM_EINVAL;
    }
    out[0] = '\0';
    int rc = fold_fast(p, len, out, cap, out_len);
    if (rc != FOLD_NEED_SLOW) {
        return rc;
    }
    if (stem_utf8_valid(in, len)) {
        return fold_slow(fb, p, len, out, cap, out_len);
    }
    size_t valid_len;
    unsigned char *valid = copy_valid(p, len, &valid_len); /* rare: only stem_fold() gets here */
    if (!valid) {
        return STEM_ENOMEM;
    }
    rc = fold_slow(fb, valid, valid_len, out, cap, out_len);
    free(valid);
    return rc;
}

int stem_fold(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    struct stem_fold_buf fb;
    stem_fold_buf_init(&fb);
    int rc = stem_fold_with(&fb, in, len, out, cap, out_len);
    stem_fold_buf_release(&fb);
    return rc;
}

/* The code point at s[*i, len), moving *i past it; -1 (and one byte on) for an invalid byte. */
static int32_t next_cp(const char *s, size_t len, size_t *i)
{
    utf8proc_int32_t cp = -1;
    utf8proc_ssize_t k =
        utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(len - *i), &cp);
    *i += k > 0 ? (size_t)k : 1;
    return k > 0 ? cp : -1;
}

static bool is_letter(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

int stem_case_like(const char *typed, size_t typed_len, const char *word, size_t len, char *out,
                   size_t cap, size_t *out_len)
{
    size_t letters = 0, capitals = 0;
    bool is_first_capital = false;
    for (size_t i = 0; i < typed_len;) {
        int32_t cp = next_cp(typed, typed_len, &i);
        if (cp < 0 || !is_letter(cp)) {
            continue;
        }
        bool is_capital = utf8proc_isupper(cp);
        is_first_capital = letters == 0 ? is_capital : is_first_capital;
        letters++;
        capitals += is_capital;
    }
    bool is_all = letters >= 2 && capitals == letters;
    size_t o = 0;
    bool is_first = true;
    for (size_t i = 0; i < len;) {
        int32_t cp = next_cp(word, len, &i);
        if (cp < 0) {
            return STEM_EINVAL;
        }
        if (is_all || (is_first_capital && is_first && is_letter(cp))) {
            cp = utf8proc_toupper(cp);
        }
        is_first = is_first && !is_letter(cp);
        if (!put_cp(out, cap, &o, cp)) {
            return STEM_EINVAL;
        }
    }
    if (cap == 0) {
        return STEM_EINVAL;
    }
    out[o] = '\0';
    *out_len = o;
    return STEM_OK;
}
