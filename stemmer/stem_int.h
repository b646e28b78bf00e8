/*
 * stem_int.h: private interfaces between the files of stemmer/. Never included from outside
 * the module (the tests in this directory may include it to check internals).
 *
 *   utf8.c      strict UTF-8 decoding and encoding
 *   chars.c     character classes: word characters, joiners, the script/language of a word
 *   fold.c      case folding (ASCII and basic Cyrillic fast paths, utf8proc otherwise)
 *   stem.c      the per-thread context and Snowball stemming
 *   cache.c     a small per-context cache of recent stems
 *   tokenize.c  the walk over a text: words, compounds, positions
 */
#ifndef SEARCHD_STEM_INT_H
#define SEARCHD_STEM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stem.h"

struct sb_stemmer;

/* ---- utf8.c ---- */

/* Decodes one code point at s[0, len) (len > 0) into *cp. Returns its byte length (1-4), or 0
 * when s[0] does not start a well-formed sequence: the caller then treats that single byte as
 * invalid and resumes at s + 1. Never reads past s + len. */
size_t stem_utf8_decode(const unsigned char *s, size_t len, int32_t *cp);

/* ---- chars.c ---- */

/* True for the characters that make up words: letters (L*), marks (M*), decimal digits (Nd). */
bool stem_is_word_char(int32_t cp);

/* True for the characters that join a compound when a word character is on both sides:
 * hyphens U+002D, U+2010, U+2011, apostrophes U+0027, U+2019, and the invisible U+00AD,
 * U+200B..U+200D, U+2060, U+FEFF (stem.h). */
bool stem_is_joiner(int32_t cp);

/* The Snowball language for a folded word (borrowed, len bytes, not necessarily valid UTF-8):
 * RU when its letters are all Cyrillic, EN when all Latin, otherwise NONE. Characters that are
 * not letters (digits, marks, punctuation) do not count; an invalid byte makes the word NONE. */
enum stem_lang stem_lang_of(const char *word, size_t len);

/* ---- fold.c ---- */

/* Growable scratch for the code points of one fold. `small` avoids malloc for short inputs;
 * cps points either at it or at a heap block owned by the struct (freed by
 * stem_fold_buf_release). */
struct stem_fold_buf {
    int32_t *cps;
    size_t cap;       /* count of int32_t at cps */
    bool keep_stress; /* fold as before stress marks were dropped (stem_ctx_keep_stress) */
    int32_t small[512];
};

void stem_fold_buf_init(struct stem_fold_buf *fb);
void stem_fold_buf_release(struct stem_fold_buf *fb);

/* stem_fold() with caller-provided scratch: folds in[0, len) (invalid bytes dropped) into
 * out[0, cap), NUL-terminated. Returns STEM_OK, STEM_EINVAL (does not fit, including the NUL)
 * or STEM_ENOMEM. */
int stem_fold_with(struct stem_fold_buf *fb, const char *in, size_t len, char *out, size_t cap,
                   size_t *out_len);

/* ---- cache.c ---- */

#define STEM_CACHE_SLOTS 2048 /* a power of two; 2048 * 64 bytes = 128 KiB per context */
#define STEM_CACHE_WORD  30   /* longest word (and stem) kept, in bytes */

/* One remembered word -> (language, stem). 64 bytes, so a probe touches one cache line. */
struct stem_cache_slot {
    uint8_t word_len; /* 0: empty */
    uint8_t stem_len;
    uint8_t lang; /* enum stem_lang */
    char word[STEM_CACHE_WORD];
    char stem[STEM_CACHE_WORD + 1]; /* NUL-terminated */
};

/* The slot where word[0, len) (len <= STEM_CACHE_WORD) lives or would live; mask is the
 * table's slot count - 1. */
struct stem_cache_slot *stem_cache_slot(struct stem_cache_slot *slots, size_t mask,
                                        const char *word, size_t len);

/* True when slot holds word[0, len). */
bool stem_cache_holds(const struct stem_cache_slot *slot, const char *word, size_t len);

/* Replaces the slot's contents with word -> (lang, stem); both lengths <= STEM_CACHE_WORD. */
void stem_cache_fill(struct stem_cache_slot *slot, const char *word, size_t len,
                     enum stem_lang lang, const char *stem, size_t stem_len);

/* ---- stem.c ---- */

/* The per-thread context. Every buffer here is scratch owned by the context. */
struct stem_ctx {
    struct sb_stemmer *ru; /* owned; Snowball Russian, UTF-8 */
    struct sb_stemmer *en; /* owned; Snowball English, UTF-8 */
    char *stem;            /* owned; the last stem, NUL-terminated */
    size_t stem_cap;
    struct stem_fold_buf fold;       /* code points of the token being folded */
    char word[STEM_MAX_TOKEN + 1];   /* folded part of a word, NUL-terminated */
    char joined[STEM_MAX_TOKEN + 1]; /* folded joined form of a compound */
    struct stem_cache_slot *cache;   /* owned; cache_mask + 1 slots, a power of two */
    size_t cache_mask;
};

/* stem_word() without the length check, also reporting the word's language. *stem points
 * into ctx (NUL-terminated) and is valid until the next call on ctx. */
int stem_lookup(struct stem_ctx *ctx, const char *word, size_t len, enum stem_lang *lang,
                const char **stem, size_t *stem_len);

#endif
