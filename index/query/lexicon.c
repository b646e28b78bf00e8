/*
 * lexicon.c: an index's synonyms and stopwords turned into the tables a query is rewritten with
 * (lexicon_int.h), once per settings.
 *
 * Every string goes through the documents' own tokenizer (stem_tokenize), so a member is folded
 * and stemmed exactly as a query word is: "Искусственного Интеллекта" and "искусственный
 * интеллект" are one member. The joined form of a compound ("e-mail" -> "email") is skipped, as
 * in phrases: its parts are the words. A short word whose stem does not stand for it is kept as
 * its folded form (lexicon_int.h, qry_stem_stands_for). A member must hold 1 to QRY_SYN_MAX_WORDS
 * words and a stopword exactly one; anything else is refused here, when the settings are set,
 * naming the string.
 */
#include <stdlib.h>
#include <string.h>

#include "lexicon_int.h"

int lex_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

int qry_lexicon_new(struct qry_lexicon **out, struct sd_error *err)
{
    struct qry_lexicon *lex = calloc(1, sizeof *lex);
    if (!lex || stem_ctx_new_cached(&lex->stem, 64) != STEM_OK) {
        free(lex);
        return sd_errorf(err, SD_ENOMEM, "synonyms: out of memory");
    }
    *out = lex;
    return SD_OK;
}

void qry_lexicon_free(struct qry_lexicon *lex)
{
    if (!lex) {
        return;
    }
    stem_ctx_free(lex->stem);
    qry_vec_free(&lex->pool);
    qry_vec_free(&lex->words);
    qry_vec_free(&lex->members);
    qry_vec_free(&lex->rules);
    qry_vec_free(&lex->sources);
    qry_vec_free(&lex->stops);
    free(lex);
}

static int lex_add_str(struct qry_lexicon *lex, const char *s, size_t len, struct lex_str *out)
{
    if (qry_vec_reserve(&lex->pool, lex->pool.count + len + 1, 1)) {
        return SD_ENOMEM;
    }
    char *dst = (char *)lex->pool.data + lex->pool.count;
    memcpy(dst, s, len);
    dst[len] = '\0';
    *out = (struct lex_str){(uint32_t)lex->pool.count, (uint32_t)len};
    lex->pool.count += len + 1;
    return SD_OK;
}

/* The words of one string as the tokenizer reads it. */
struct lex_tokens {
    struct qry_lexicon *lex;
    bool wants_stems; /* member words into lex->words, else the folded form into lex->stops */
    size_t count;     /* words (compound joined forms not counted) */
    size_t max;       /* stop past this many: the string is refused */
};

static int lex_collect(void *arg, const struct stem_token *t)
{
    struct lex_tokens *lt = arg;
    if (t->is_compound) {
        return 0;
    }
    if (++lt->count > lt->max) {
        return 1;
    }
    struct lex_str s;
    if (!lt->wants_stems) {
        struct lex_str *stop = qry_vec_push(&lt->lex->stops, sizeof *stop);
        if (!stop || lex_add_str(lt->lex, t->word, t->word_len, stop)) {
            return 2;
        }
        return 0;
    }
    bool by_form = !qry_stem_stands_for(t->word, t->word_len, t->stem, t->stem_len);
    struct lex_word *w = qry_vec_push(&lt->lex->words, sizeof *w);
    if (!w || lex_add_str(lt->lex, by_form ? t->word : t->stem, by_form ? t->word_len : t->stem_len,
                          &s)) {
        return 2;
    }
    *w = (struct lex_word){s.off, s.len, by_form ? SEG_EXACT : SEG_STEM};
    return 0;
}

/* Tokenizes s[0, len) into lt; SD_OK (lt->count says how many words; more than lt->max when the
 * walk stopped) or SD_ENOMEM. */
static int lex_tokenize(struct lex_tokens *lt, const char *s, size_t len)
{
    int rc = stem_tokenize(lt->lex->stem, s, len, 0, lex_collect, lt, NULL);
    return rc == STEM_OK || rc == 1 ? SD_OK : SD_ENOMEM;
}

int qry_lexicon_add_stopword(struct qry_lexicon *lex, const char *word, size_t len,
                             struct sd_error *err)
{
    size_t before = lex->stops.count;
    struct lex_tokens lt = {.lex = lex, .wants_stems = false, .max = 1};
    if (lex_tokenize(&lt, word, len)) {
        return sd_errorf(err, SD_ENOMEM, "stopwords: out of memory");
    }
    if (lt.count != 1) {
        lex->stops.count = before;
        return sd_errorf(err, SD_EINVAL, "stopwords: '%.*s' is not one word", (int)len, word);
    }
    return SD_OK;
}

int qry_lexicon_add_stoplist(struct qry_lexicon *lex, const char *name, struct sd_error *err)
{
    size_t count = 0;
    const char *const *words = lex_stoplist(name, &count);
    if (!words) {
        return sd_errorf(err, SD_EINVAL, "stopwords: unknown list '%.32s' (use en, ru)", name);
    }
    for (size_t i = 0; i < count; i++) {
        int rc = qry_lexicon_add_stopword(lex, words[i], strlen(words[i]), err);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

int qry_lexicon_add_synonyms(struct qry_lexicon *lex, bool is_one_way, const char *const *members,
                             const size_t *lens, size_t n, struct sd_error *err)
{
    struct lex_rule *r = qry_vec_push(&lex->rules, sizeof *r);
    if (!r) {
        return sd_errorf(err, SD_ENOMEM, "synonyms: out of memory");
    }
    *r = (struct lex_rule){(uint32_t)lex->members.count, (uint32_t)n, is_one_way};
    uint32_t rule = (uint32_t)(lex->rules.count - 1);
    for (size_t i = 0; i < n; i++) {
        struct lex_member *m = qry_vec_push(&lex->members, sizeof *m);
        if (!m) {
            return sd_errorf(err, SD_ENOMEM, "synonyms: out of memory");
        }
        m->first_word = (uint32_t)lex->words.count;
        struct lex_tokens lt = {.lex = lex, .wants_stems = true, .max = QRY_SYN_MAX_WORDS};
        if (lex_tokenize(&lt, members[i], lens[i])) {
            return sd_errorf(err, SD_ENOMEM, "synonyms: out of memory");
        }
        if (lt.count == 0) {
            return sd_errorf(err, SD_EINVAL, "synonyms: '%.*s' holds no word", (int)lens[i],
                             members[i]);
        }
        if (lt.count > QRY_SYN_MAX_WORDS) {
            return sd_errorf(err, SD_EINVAL, "synonyms: '%.*s' has more than %d words",
                             (int)lens[i], members[i], QRY_SYN_MAX_WORDS);
        }
        m->nwords = (uint32_t)lt.count;
        if (i == 0 || !is_one_way) {
            struct lex_source *src = qry_vec_push(&lex->sources, sizeof *src);
            if (!src) {
                return sd_errorf(err, SD_ENOMEM, "synonyms: out of memory");
            }
            *src = (struct lex_source){(uint32_t)(lex->members.count - 1), rule};
        }
    }
    return SD_OK;
}

/* ---- sealing: the sorted tables ---- */

static const struct lex_word *lex_source_word(const struct qry_lexicon *lex,
                                              const struct lex_source *src)
{
    const struct lex_member *m = (const struct lex_member *)lex->members.data + src->member;
    return lex_member_words(lex, m);
}

static int lex_cmp_source(const void *x, const void *y, void *arg)
{
    const struct qry_lexicon *lex = arg;
    const struct lex_word *a = lex_source_word(lex, x), *b = lex_source_word(lex, y);
    return lex_cmp_bytes(lex_word_str(lex, a), a->len, lex_word_str(lex, b), b->len);
}

static int lex_cmp_stop(const void *x, const void *y, void *arg)
{
    const struct qry_lexicon *lex = arg;
    const struct lex_str *a = x, *b = y;
    return lex_cmp_bytes(lex_pool_str(lex, *a), a->len, lex_pool_str(lex, *b), b->len);
}

bool qry_lexicon_has_synonyms(const struct qry_lexicon *lex)
{
    return lex && lex->rules.count > 0;
}

void qry_lexicon_seal(struct qry_lexicon *lex)
{
    stem_ctx_free(lex->stem);
    lex->stem = NULL;
    if (lex->sources.count) {
        qsort_r(lex->sources.data, lex->sources.count, sizeof(struct lex_source), lex_cmp_source,
                lex);
    }
    if (lex->stops.count) {
        qsort_r(lex->stops.data, lex->stops.count, sizeof(struct lex_str), lex_cmp_stop, lex);
    }
    struct lex_str *stops = lex->stops.data;
    size_t n = 0;
    for (size_t i = 0; i < lex->stops.count; i++) {
        if (n == 0 || lex_cmp_stop(&stops[n - 1], &stops[i], lex) != 0) {
            stops[n++] = stops[i];
        }
    }
    lex->stops.count = n;
}

/* ---- lookups ---- */

size_t lex_first_source(const struct qry_lexicon *lex, const char *s, size_t len)
{
    size_t lo = 0, hi = lex->sources.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct lex_word *w =
            lex_source_word(lex, (const struct lex_source *)lex->sources.data + mid);
        if (lex_cmp_bytes(lex_word_str(lex, w), w->len, s, len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

bool lex_is_stopword(const struct qry_lexicon *lex, const char *word, size_t len)
{
    const struct lex_str *stops = lex->stops.data;
    size_t lo = 0, hi = lex->stops.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = lex_cmp_bytes(lex_pool_str(lex, stops[mid]), stops[mid].len, word, len);
        if (c == 0) {
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}
