/*
 * stem.h: the text analysis module of searchd (prefix stem_).
 *
 * Turns UTF-8 text into the tokens that index/ stores and that queries look up.
 * One call, stem_tokenize(), walks a text once and reports every token with
 * its case-folded surface form (the "exact" form, used for phrases and for
 * ranking the form the user typed above other inflections) and its Snowball
 * stem (used for matching every inflection).
 *
 * Rules (the same for documents and queries, so both sides always agree):
 *  - A word is a maximal run of Unicode letters (L*), combining marks (M*)
 *    and digits (Nd). Everything else separates words.
 *  - Case folding is Unicode full case folding (utf8proc), then NFC;
 *    'ё'/'Ё' fold to 'е'; 'й' stays 'й' (it is not decomposed). A combining
 *    acute or grave accent U+0301/U+0300 that NFC leaves on its own (a stress
 *    mark: "за́мок") is dropped, unless nothing comes before it in the word.
 *  - A hyphen (U+002D, U+2010, U+2011) or apostrophe (U+0027, U+2019) with a
 *    word character on both sides joins a compound such as "e-mail",
 *    "северо-запад", "don't". Each part is emitted as its own token at
 *    consecutive positions, and the joined form (parts concatenated, no
 *    separator: "email", "северозапад", "dont") is emitted as well, flagged
 *    is_compound, at the position of the first part. A query for one part
 *    finds the compound; a query for the compound finds it too.
 *  - The invisible characters found inside words join them the same way:
 *    SOFT HYPHEN U+00AD, ZERO WIDTH SPACE/NON-JOINER/JOINER U+200B..U+200D,
 *    WORD JOINER U+2060 and U+FEFF (BOM, ZERO WIDTH NO-BREAK SPACE):
 *    "инфор<SHY>мация" yields "информация" (joined) besides its parts, which
 *    are all it yielded while those characters separated words.
 *  - Language by token: letters all Cyrillic -> Snowball Russian; letters all
 *    Latin -> Snowball English; digits do not count; any other script, a mix
 *    of scripts or no letters at all -> not stemmed (stem == word).
 *  - A folded token longer than STEM_MAX_TOKEN bytes is skipped (it still
 *    takes a position), like Lucene's maximum token length.
 *  - Invalid UTF-8 never stops the walk: each invalid byte is a separator, so
 *    the valid text around it is tokenized as if the byte were a space.
 *
 * Threads: a struct stem_ctx holds the Snowball stemmers and scratch space of
 * one thread; it must not be shared between threads. Nothing else is global.
 */
#ifndef SEARCHD_STEM_H
#define SEARCHD_STEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stem_status {
    STEM_OK = 0,
    STEM_ENOMEM = -1,
    STEM_EINVAL = -2,
};

#define STEM_MAX_TOKEN 255 /* bytes of a folded token */

enum stem_lang {
    STEM_LANG_NONE = 0, /* not stemmed */
    STEM_LANG_RU = 1,
    STEM_LANG_EN = 2,
};

/* One token. All pointers are owned by the stem_ctx and are valid only until
 * the callback returns. word and stem are NUL-terminated. */
struct stem_token {
    const char *word; /* case-folded surface form */
    size_t word_len;
    const char *stem; /* Snowball stem of word; equals word when not stemmed */
    size_t stem_len;
    uint32_t pos;  /* position of the token within this text, from first_pos */
    size_t offset; /* byte offset of the token in the input text */
    size_t len;    /* byte length of the token in the input text */
    enum stem_lang lang;
    bool is_compound; /* joined form of a hyphen/apostrophe compound */
};

struct stem_ctx;

/* Returns a new per-thread context in *out, owned by the caller and freed with
 * stem_ctx_free(). Returns STEM_OK or STEM_ENOMEM. */
int stem_ctx_new(struct stem_ctx **out);

/* The same with room to remember the stems of about cache_words recent words (rounded up to
 * a power of two, 64 bytes each; stem_ctx_new remembers 2048, enough for queries). A
 * context that analyses a whole corpus sees a vocabulary far larger than that, and every
 * word it forgets costs a Snowball call again. */
int stem_ctx_new_cached(struct stem_ctx **out, size_t cache_words);
void stem_ctx_free(struct stem_ctx *ctx); /* NULL is a no-op */

/* With keep true, ctx folds as searchd did before stress marks were dropped (the mark stays
 * in the word), until called again with false. Indexes built then hold such words with the
 * mark: a query that contains one looks for that form too. Documents are always analysed
 * with the current rule (keep false, the default). */
void stem_ctx_keep_stress(struct stem_ctx *ctx, bool keep);

/* True when text[0, len) holds a character the current rules fold differently from the
 * rules before stress marks were dropped (U+0300 or U+0301), so a query made of it must
 * also be read with stem_ctx_keep_stress to find what older indexes hold. */
bool stem_has_stress(const char *text, size_t len);

/* Called once per token, in text order (a compound's joined form comes right
 * after its first part). Return 0 to go on, anything else to stop the walk;
 * stem_tokenize() then returns that value. */
typedef int (*stem_token_fn)(void *arg, const struct stem_token *tok);

/* Walks text[0, len) (borrowed; need not be NUL-terminated or valid UTF-8).
 * Positions start at first_pos. On return *next_pos (if not NULL) is one past
 * the last position used, so a caller can continue a field across calls (when
 * the walk stops early, the position of the token that stopped it counts as
 * used). Returns STEM_OK, STEM_ENOMEM, the callback's non-zero value, or
 * STEM_EINVAL when ctx or fn is NULL (or text is NULL with len > 0). */
int stem_tokenize(struct stem_ctx *ctx, const char *text, size_t len, uint32_t first_pos,
                  stem_token_fn fn, void *arg, uint32_t *next_pos);

/* stem_tokenize() without the Snowball step: the same tokens, positions and offsets, but
 * tok->stem is NULL, stem_len 0 and lang STEM_LANG_NONE. For a caller that gathers the
 * distinct words of a text first and stems each once with stem_word() (the document
 * analysis in index/seg/), which gives the same stems the tokens would have carried. */
int stem_tokenize_words(struct stem_ctx *ctx, const char *text, size_t len, uint32_t first_pos,
                        stem_token_fn fn, void *arg, uint32_t *next_pos);

/* Stems one already case-folded word (borrowed, len bytes) with the language
 * rules above. *stem points into ctx, NUL-terminated, valid until the next
 * call on ctx. Returns STEM_OK, STEM_ENOMEM or STEM_EINVAL (empty or longer
 * than STEM_MAX_TOKEN). A stem_tokenize_words callback may call it on the same
 * ctx: the token stays valid. The stem starts with the word's first character
 * (both Snowball stemmers only rewrite endings; stem_test checks it). */
int stem_word(struct stem_ctx *ctx, const char *word, size_t len, const char **stem,
              size_t *stem_len);

/* Case-folds a text fragment (for example a prefix typed as "Дипл*") with the
 * same rules as tokens: writes at most cap bytes to out, NUL-terminated, and
 * the folded length to *out_len. Invalid UTF-8 bytes are dropped; every other
 * character (including "*" and spaces) is folded and kept. Needs no context
 * and is thread-safe. Returns STEM_OK, STEM_EINVAL when the result does not
 * fit in cap (out is then unspecified), or STEM_ENOMEM (only for long
 * non-ASCII input). */
int stem_fold(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/* Copies word[0, len) (valid UTF-8, folded: a correction the index holds) to out in the case
 * typed[0, typed_len) was typed in: all capitals when typed has 2+ letters and all are
 * capitals ("WINDOS"), a capital first letter when its first letter is one ("Windos"), else
 * as it is. Writes at most cap bytes, NUL-terminated, and the length to *out_len. Needs no
 * context and is thread-safe. Returns STEM_OK, or STEM_EINVAL when the result does not fit in
 * cap or word is not valid UTF-8 (out is then unspecified). */
int stem_case_like(const char *typed, size_t typed_len, const char *word, size_t len, char *out,
                   size_t cap, size_t *out_len);

/* True when s[0, len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). searchd's one UTF-8 validator: the tokenizer, the
 * engine's checks, the query parser and the wire protocol (daemon/proto) all
 * use it. */
bool stem_utf8_valid(const char *s, size_t len);
/* The same check, saying where: the offset of the first byte that starts no
 * well-formed sequence (or starts one the length cuts), len when there is
 * none. */
size_t stem_utf8_invalid_at(const char *s, size_t len);

/* Byte length (1 to 4) of the well-formed UTF-8 sequence at s[0, len), or 0
 * when s does not start one (or len is 0): for escapers that copy valid text
 * and replace each bad byte. */
size_t stem_utf8_len(const char *s, size_t len);

/* Characters in s[0, len): the bytes that are not UTF-8 continuation bytes (of valid text, its
 * code points). */
size_t stem_utf8_chars(const char *s, size_t len);

/* Writes the UTF-8 form of cp to out, which has room for 4 bytes: 1 byte below
 * 0x80, 2 below 0x800, 3 below 0x10000, else 4. Returns how many. searchd's one
 * encoder by code point. */
size_t stem_utf8_encode(int32_t cp, char *out);

#endif
