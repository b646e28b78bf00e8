/*
 * stem.c: the per-thread context and the Snowball step.
 *
 * A struct stem_ctx owns one Snowball stemmer per language (libstemmer's
 * sb_stemmer_new("russian" | "english", "UTF_8")) plus the scratch buffers of the tokenizer and
 * the folder. libstemmer keeps its result inside the stemmer and overwrites it on the next
 * call, and stemmers are not thread-safe, which is why the whole context belongs to one
 * thread (STYLE.md 2.6). Both stemmers are created up front: they are small, and the hot path
 * then never checks for a missing one.
 *
 * stem_word() stems exactly the bytes it is given: it does not fold, and it picks the stemmer
 * from the word's letters (stem_lang_of). The Snowball result is copied into ctx->stem so the
 * NUL-terminated stem the header promises does not depend on libstemmer internals (its API
 * gives a pointer and a length, not a terminator). Recent results are kept in a small cache
 * (cache.c), consulted before the language check and Snowball.
 */
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>

#include "stem_int.h"

int stem_ctx_new(struct stem_ctx **out)
{
    return stem_ctx_new_cached(out, STEM_CACHE_SLOTS);
}

int stem_ctx_new_cached(struct stem_ctx **out, size_t cache_words)
{
    size_t slots = 1;
    while (slots < cache_words && slots < ((size_t)1 << 24)) {
        slots *= 2; /* a power of two, so a slot is a mask away */
    }
    struct stem_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return STEM_ENOMEM;
    }
    stem_fold_buf_init(&ctx->fold);
    ctx->ru = sb_stemmer_new("russian", "UTF_8");
    if (!ctx->ru) {
        goto out_free; /* the algorithm is compiled in, so NULL means out of memory */
    }
    ctx->en = sb_stemmer_new("english", "UTF_8");
    if (!ctx->en) {
        goto out_ru;
    }
    ctx->stem_cap = 2 * (STEM_MAX_TOKEN + 1); /* Snowball stems rarely outgrow the word */
    ctx->stem = malloc(ctx->stem_cap);
    if (!ctx->stem) {
        goto out_en;
    }
    ctx->cache = calloc(slots, sizeof *ctx->cache); /* untouched slots cost no memory */
    ctx->cache_mask = slots - 1;
    if (!ctx->cache) {
        goto out_stem;
    }
    *out = ctx;
    return STEM_OK;
out_stem:
    free(ctx->stem);
out_en:
    sb_stemmer_delete(ctx->en);
out_ru:
    sb_stemmer_delete(ctx->ru);
out_free:
    free(ctx);
    return STEM_ENOMEM;
}

void stem_ctx_free(struct stem_ctx *ctx)
{
    if (!ctx) {
        return;
    }
    sb_stemmer_delete(ctx->ru);
    sb_stemmer_delete(ctx->en);
    free(ctx->stem);
    free(ctx->cache);
    stem_fold_buf_release(&ctx->fold);
    free(ctx);
}

void stem_ctx_keep_stress(struct stem_ctx *ctx, bool keep)
{
    ctx->fold.keep_stress = keep;
}

bool stem_has_stress(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        /* U+0300 and U+0301 are CC 80 and CC 81; no other sequence holds those bytes */
        if ((unsigned char)text[i] == 0xCC && ((unsigned char)text[i + 1] & 0xFE) == 0x80) {
            return true;
        }
    }
    return false;
}

/* Copies src[0, len) to ctx->stem with a NUL, growing it if needed. */
static int set_stem(struct stem_ctx *ctx, const char *src, size_t len)
{
    if (len >= ctx->stem_cap) {
        char *p = realloc(ctx->stem, len + 1);
        if (!p) {
            return STEM_ENOMEM;
        }
        ctx->stem = p;
        ctx->stem_cap = len + 1;
    }
    memcpy(ctx->stem, src, len);
    ctx->stem[len] = '\0';
    return STEM_OK;
}

/* Stems word with the stemmer of lang (NONE: a copy of word) into ctx->stem. */
static int stem_snowball(struct stem_ctx *ctx, const char *word, size_t len, enum stem_lang lang,
                         const char **stem, size_t *stem_len)
{
    const char *src = word;
    size_t src_len = len;
    if (lang != STEM_LANG_NONE) {
        struct sb_stemmer *sb = lang == STEM_LANG_RU ? ctx->ru : ctx->en;
        const sb_symbol *r = sb_stemmer_stem(sb, (const sb_symbol *)word, (int)len);
        if (!r) {
            return STEM_ENOMEM; /* libstemmer's only failure */
        }
        src = (const char *)r;
        src_len = (size_t)sb_stemmer_length(sb);
    }
    int rc = set_stem(ctx, src, src_len);
    if (rc) {
        return rc;
    }
    *stem = ctx->stem;
    *stem_len = src_len;
    return STEM_OK;
}

int stem_lookup(struct stem_ctx *ctx, const char *word, size_t len, enum stem_lang *lang,
                const char **stem, size_t *stem_len)
{
    struct stem_cache_slot *slot = NULL;
    if (len <= STEM_CACHE_WORD) {
        slot = stem_cache_slot(ctx->cache, ctx->cache_mask, word, len);
        if (stem_cache_holds(slot, word, len)) {
            *lang = (enum stem_lang)slot->lang;
            *stem = slot->stem;
            *stem_len = slot->stem_len;
            return STEM_OK;
        }
    }
    *lang = stem_lang_of(word, len);
    int rc = stem_snowball(ctx, word, len, *lang, stem, stem_len);
    if (rc == STEM_OK && slot && *stem_len <= STEM_CACHE_WORD) {
        stem_cache_fill(slot, word, len, *lang, *stem, *stem_len);
    }
    return rc;
}

int stem_word(struct stem_ctx *ctx, const char *word, size_t len, const char **stem,
              size_t *stem_len)
{
    if (!word || len == 0 || len > STEM_MAX_TOKEN) {
        return STEM_EINVAL;
    }
    enum stem_lang lang;
    return stem_lookup(ctx, word, len, &lang, stem, stem_len);
}
