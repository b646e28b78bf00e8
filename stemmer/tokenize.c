/*
 * tokenize.c: one pass over a text, reporting every token with its position (stem.h has the
 * rules; this file is the walk).
 *
 * The input is read as a sequence of characters, each of them a word character, a joiner
 * (hyphen, apostrophe, or an invisible character such as a soft hyphen: chars.c) or a
 * separator; every byte that does not start a well-formed UTF-8
 * sequence is a one-byte separator. A word is a maximal run of word characters. A compound is
 * a chain of words where each pair is linked by exactly one joiner:
 *
 *     "северо-западный"   parts  северо@p  западный@p+1   joined  северозападный@p
 *     "a-b-c"             parts  a@p  b@p+1  c@p+2          joined  abc@p
 *     "a--b", "a-", "-a"  no compound: the joiner lacks a word character on one side
 *
 * Emission order is part 1, the joined form, then parts 2..n, so positions never go
 * backwards. A compound is walked up to three times (find its end, fold the joined form,
 * emit the other parts); a plain word, by far the common case, is scanned once and folded
 * once. Compounds are rare enough that keeping no per-part table is the better trade.
 *
 * Long tokens: a word whose folded form exceeds STEM_MAX_TOKEN bytes is not reported but
 * still takes its position; the same holds for each part. A joined form that is too long is
 * dropped (it never had a position of its own). Folding never shrinks text by more than a
 * factor of 3 (Hangul L+V+T jamo, the Kelvin sign), so a raw run over RAW_LIMIT bytes is
 * known to be too long without folding it, which also bounds the scratch a hostile
 * "word" of megabytes can make us allocate.
 *
 * Nothing here allocates: folded forms go to fixed buffers in the stem_ctx, and only the
 * code point scratch of the utf8proc path (fold.c) may grow.
 */
#include "stem_int.h"

#define RAW_LIMIT (8 * STEM_MAX_TOKEN)

/* The state of one stem_tokenize() call. */
struct walk {
    struct stem_ctx *ctx;
    const unsigned char *text; /* borrowed from the caller for the call */
    size_t len;
    stem_token_fn fn;
    void *arg;
    uint32_t pos;    /* the next position to give out */
    bool want_stems; /* false: stem_tokenize_words, tokens carry no stem */
};

static bool is_ascii_word(unsigned char b)
{
    return (unsigned char)((b | 0x20) - 'a') < 26 || (unsigned char)(b - '0') < 10;
}

/* Byte length of the word character at i (< len), or 0 when there is none. */
static size_t word_char_at(const struct walk *w, size_t i)
{
    unsigned char b = w->text[i];
    if (b < 0x80) {
        return is_ascii_word(b);
    }
    if (i + 1 < w->len && (b == 0xD0 || b == 0xD1)) { /* basic Cyrillic: all letters */
        unsigned char b1 = w->text[i + 1];
        if (b1 >= 0x80 && b1 <= (b == 0xD0 ? 0xBF : 0x9F)) {
            return 2;
        }
    }
    int32_t cp;
    size_t n = stem_utf8_decode(w->text + i, w->len - i, &cp);
    return n && stem_is_word_char(cp) ? n : 0;
}

/* Byte length of the separator at i (< len): one for an invalid byte. */
static size_t separator_len_at(const struct walk *w, size_t i)
{
    int32_t cp;
    size_t n = stem_utf8_decode(w->text + i, w->len - i, &cp);
    return n ? n : 1;
}

/* End of the run of word characters that starts at i. */
static size_t scan_word(const struct walk *w, size_t i)
{
    size_t n;
    while (i < w->len && (n = word_char_at(w, i)) != 0) {
        i += n;
    }
    return i;
}

/* Given the end of one part of a compound, finds the next part: a joiner at prev_end followed
 * by a word character. Sets [*s, *e) and returns true, or returns false at the compound's end. */
static bool next_part(const struct walk *w, size_t prev_end, size_t *s, size_t *e)
{
    if (prev_end >= w->len) {
        return false;
    }
    int32_t cp;
    size_t n = stem_utf8_decode(w->text + prev_end, w->len - prev_end, &cp);
    if (n == 0 || !stem_is_joiner(cp) || prev_end + n >= w->len ||
        word_char_at(w, prev_end + n) == 0) {
        return false;
    }
    *s = prev_end + n;
    *e = scan_word(w, *s);
    return true;
}

/* Folds text[s, e) into out[0, cap). STEM_EINVAL means "too long": the caller skips it. */
static int fold_part(struct walk *w, size_t s, size_t e, char *out, size_t cap, size_t *out_len)
{
    if (e - s > RAW_LIMIT) {
        return STEM_EINVAL;
    }
    return stem_fold_with(&w->ctx->fold, (const char *)w->text + s, e - s, out, cap, out_len);
}

/* Stems a folded, NUL-terminated word (unless the caller stems on its own) and hands the
 * token to the callback. */
static int emit(struct walk *w, const char *word, size_t word_len, size_t s, size_t e,
                bool is_compound)
{
    struct stem_token tok = {
        .word = word,
        .word_len = word_len,
        .pos = w->pos,
        .offset = s,
        .len = e - s,
        .lang = STEM_LANG_NONE,
        .is_compound = is_compound,
    };
    if (w->want_stems) {
        int rc = stem_lookup(w->ctx, word, word_len, &tok.lang, &tok.stem, &tok.stem_len);
        if (rc) {
            return rc;
        }
    }
    return w->fn(w->arg, &tok);
}

/* Reports the word text[s, e) at the current position, unless it is too long. */
static int emit_part(struct walk *w, size_t s, size_t e)
{
    size_t n;
    int rc = fold_part(w, s, e, w->ctx->word, sizeof w->ctx->word, &n);
    if (rc == STEM_EINVAL) {
        return STEM_OK;
    }
    if (rc) {
        return rc;
    }
    return emit(w, w->ctx->word, n, s, e, false);
}

/* Reports the joined form of the compound text[start, end) at the current position: its parts
 * folded one after the other into ctx->joined, unless together they are too long. */
static int emit_joined(struct walk *w, size_t start, size_t end)
{
    char *joined = w->ctx->joined;
    size_t joined_len = 0;
    size_t s = start;
    size_t e = scan_word(w, start);
    do {
        size_t n;
        int rc = fold_part(w, s, e, joined + joined_len, sizeof w->ctx->joined - joined_len, &n);
        if (rc == STEM_EINVAL) {
            return STEM_OK;
        }
        if (rc) {
            return rc;
        }
        joined_len += n;
    } while (next_part(w, e, &s, &e));
    return emit(w, joined, joined_len, start, end, true);
}

/* Reports the word or compound that starts at `start` (a word character) and sets *end to
 * the byte after it. */
static int walk_compound(struct walk *w, size_t start, size_t *end)
{
    size_t first_end = scan_word(w, start);
    size_t s;
    size_t e = first_end;
    while (next_part(w, e, &s, &e)) {
    }
    *end = e;
    int rc = emit_part(w, start, first_end);
    if (rc == STEM_OK && e != first_end) {
        rc = emit_joined(w, start, e);
    }
    w->pos++;
    for (e = first_end; rc == STEM_OK && next_part(w, e, &s, &e); w->pos++) {
        rc = emit_part(w, s, e);
    }
    return rc;
}

static int walk_text(struct stem_ctx *ctx, const char *text, size_t len, uint32_t first_pos,
                     stem_token_fn fn, void *arg, uint32_t *next_pos, bool want_stems)
{
    if (!ctx || !fn || (!text && len > 0)) {
        return STEM_EINVAL;
    }
    struct walk w = {
        .ctx = ctx,
        .text = (const unsigned char *)text,
        .len = len,
        .fn = fn,
        .arg = arg,
        .pos = first_pos,
        .want_stems = want_stems,
    };
    int rc = STEM_OK;
    size_t i = 0;
    while (i < len && rc == STEM_OK) {
        if (word_char_at(&w, i)) {
            rc = walk_compound(&w, i, &i);
        } else {
            i += separator_len_at(&w, i);
        }
    }
    if (next_pos) {
        *next_pos = w.pos;
    }
    return rc;
}

int stem_tokenize(struct stem_ctx *ctx, const char *text, size_t len, uint32_t first_pos,
                  stem_token_fn fn, void *arg, uint32_t *next_pos)
{
    return walk_text(ctx, text, len, first_pos, fn, arg, next_pos, true);
}

int stem_tokenize_words(struct stem_ctx *ctx, const char *text, size_t len, uint32_t first_pos,
                        stem_token_fn fn, void *arg, uint32_t *next_pos)
{
    return walk_text(ctx, text, len, first_pos, fn, arg, next_pos, false);
}
