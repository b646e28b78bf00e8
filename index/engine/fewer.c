/*
 * fewer.c: the last reading of a search box's query, with fewer words.
 *
 * A box's query of several words that no document holds together, in any reading (as typed,
 * in the other keyboard layout, with typos), gets an empty page from an engine that ANDs
 * every word: a sentence pasted in, or one word too many. The engines people compare us with
 * answer with most of the words instead (Meilisearch's matching strategy, Typesense's
 * drop_tokens, Algolia's removeWordsIfNoResults) and say which were left out, so that the page
 * can show "Missing: ssh". This reading does the same (docs/QUERY.md "Fewer words"):
 *  - which words: operands of the query's AND that are one typed word each
 *    (qry_simple_droppable); phrases, ORs and exclusions stay, and one word always remains;
 *  - one word, when that is enough: each word in turn (the first IDX_FEWER_SINGLES of the
 *    order below), and the one whose absence lets the best document score highest wins: the
 *    rest is the query whose words some document matches best together. So a stray word goes
 *    wherever it stands. Meilisearch's default drops the last words; on the known-item sets
 *    with a word of another document added (bench/RESULTS.md "Fewer words"), that found the
 *    target in the top 10 for 77-80% of the queries with the word at the end and 6-9% with
 *    it in front, this 64-76% of both; taking the first word in order whose absence finds
 *    anything, 77-80% and 26-27%;
 *  - more words: in order, first those that no document has (qry_result.unknown_at), then the
 *    others, each time the last typed first, since people type the words that matter most
 *    first. Leaving more words out of an AND only finds more, so the count is found by
 *    bisection: 1 + log2(words) searches at most.
 * Each shortened text is the typed one without those words (qry_simple_without), read every
 * way (idx_search_text): it is parsed, searched and highlighted like any text.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define IDX_FEWER_SINGLES 12 /* words tried one at a time; a long sentence's last ones */

/* One shortened reading: the text without the words that start at at[0, k). */
struct fewer_try {
    const uint32_t *at; /* borrowed: the drop order's */
    size_t k;
    struct sd_buf text; /* the text searched */
    struct qry *q;
    struct qry_result res;
    struct idx_search_res out; /* only its readings' layout_query, did_you_mean, is_*_used */
};

static void fewer_try_free(struct fewer_try *t)
{
    sd_buf_free(&t->text);
    qry_free(t->q);
    qry_result_free(&t->res);
    idx_search_res_free(&t->out);
    memset(t, 0, sizeof *t);
}

/* Searches req's text without the words that start at drop[0, k) into *t (freed by the
 * caller, also on error). A reading that fails otherwise than for memory finds nothing, as
 * the other readings do: the request's own reading stands. */
static int fewer_search(struct qry_ctx *ctx, const struct idx_search_req *req,
                        const struct sch_schema *schema, const struct qry_lexicon *lex,
                        const struct qry_segment *segs, size_t nsegs, const uint32_t *drop,
                        size_t k, struct fewer_try *t)
{
    memset(t, 0, sizeof *t);
    sd_buf_init(&t->text);
    t->at = drop;
    t->k = k;
    int rc = qry_simple_without(req->q, req->q_len, drop, k, &t->text);
    if (rc) {
        return rc;
    }
    struct sd_error e = {0};
    rc = idx_search_text(ctx, req, (const char *)t->text.data, t->text.len, schema, lex, segs,
                         nsegs, &t->q, &t->res, &t->out, &e);
    if (rc != SD_OK && rc != SD_ENOMEM) {
        qry_result_free(&t->res);
        t->res.total = 0;
        rc = SD_OK;
    }
    return rc;
}

static bool is_unknown(const struct qry_result *res, uint32_t at)
{
    for (size_t i = 0; i < res->nunknown_at; i++) {
        if (res->unknown_at[i] == at) {
            return true;
        }
    }
    return false;
}

static int cmp_offset(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* out->dropped: the words of req's text that start at drop[0, k), in the order typed. */
static int name_dropped(const struct idx_search_req *req, const uint32_t *drop, size_t k,
                        struct idx_search_res *out)
{
    uint32_t at[QRY_MAX_TERMS];
    memcpy(at, drop, k * sizeof *at);
    qsort(at, k, sizeof *at, cmp_offset);
    out->dropped = calloc(k, sizeof *out->dropped);
    if (!out->dropped) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        size_t end = qry_simple_word_end(req->q, req->q_len, at[i]);
        out->dropped[i] = strndup(req->q + at[i], end - at[i]);
        if (!out->dropped[i]) {
            return SD_ENOMEM;
        }
        out->ndropped = i + 1;
    }
    return SD_OK;
}

/* Makes t's reading the search's: its query, result and readings replace *q, *res and out's. */
static int fewer_adopt(const struct idx_search_req *req, struct fewer_try *t, struct qry **q,
                       struct qry_result *res, struct idx_search_res *out)
{
    int rc = name_dropped(req, t->at, t->k, out);
    if (rc) {
        return rc;
    }
    qry_free(*q);
    qry_result_free(res);
    *q = t->q;
    *res = t->res;
    t->q = NULL;
    memset(&t->res, 0, sizeof t->res);
    free(out->layout_query);
    free(out->did_you_mean);
    out->layout_query = t->out.layout_query;
    out->is_layout_used = t->out.is_layout_used;
    out->did_you_mean = t->out.did_you_mean;
    out->is_typo_used = t->out.is_typo_used;
    t->out.layout_query = NULL;
    t->out.did_you_mean = NULL;
    return SD_OK;
}

/* One word left out: of the first IDX_FEWER_SINGLES in drop[0, ndrop), the one whose absence
 * gives the best first hit (ties: the earlier in drop) into *best, with *has_best. Each is
 * probed for its first hit by score alone (the request may ask for no hits, a later page or
 * another order), and the one chosen searched again as the request asks. */
static int fewer_one(struct qry_ctx *ctx, const struct idx_search_req *req,
                     const struct sch_schema *schema, const struct qry_lexicon *lex,
                     const struct qry_segment *segs, size_t nsegs, const uint32_t *drop,
                     size_t ndrop, struct fewer_try *best, bool *has_best)
{
    struct idx_search_req probe = *req;
    probe.params.limit = 1;
    probe.params.offset = 0;
    probe.params.sort = NULL;
    probe.params.facets = NULL;
    *has_best = false;
    size_t chosen = 0;
    float chosen_score = 0;
    int rc = SD_OK;
    for (size_t i = 0; rc == SD_OK && i < ndrop && i < IDX_FEWER_SINGLES; i++) {
        struct fewer_try t;
        rc = fewer_search(ctx, &probe, schema, lex, segs, nsegs, drop + i, 1, &t);
        if (rc == SD_OK && t.res.nhits > 0 && (!*has_best || t.res.hits[0].score > chosen_score)) {
            chosen = i;
            chosen_score = t.res.hits[0].score;
            *has_best = true;
        }
        fewer_try_free(&t);
    }
    if (rc == SD_OK && *has_best) {
        rc = fewer_search(ctx, req, schema, lex, segs, nsegs, drop + chosen, 1, best);
        *has_best = rc == SD_OK && best->res.total > 0;
        if (!*has_best) {
            fewer_try_free(best);
        }
    }
    return rc;
}

/* Several words left out: the fewest first ones of drop (from 2 to most) that let the rest
 * find something, found by bisection, into *best, with *has_best. */
static int fewer_many(struct qry_ctx *ctx, const struct idx_search_req *req,
                      const struct sch_schema *schema, const struct qry_lexicon *lex,
                      const struct qry_segment *segs, size_t nsegs, const uint32_t *drop,
                      size_t most, struct fewer_try *best, bool *has_best)
{
    *has_best = false;
    if (most < 2) {
        return SD_OK;
    }
    int rc = fewer_search(ctx, req, schema, lex, segs, nsegs, drop, most, best);
    *has_best = rc == SD_OK && best->res.total > 0;
    size_t lo = 2;
    size_t hi = most; /* best, found: the fewest that find something are <= hi */
    while (rc == SD_OK && *has_best && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct fewer_try t;
        rc = fewer_search(ctx, req, schema, lex, segs, nsegs, drop, mid, &t);
        if (rc == SD_OK && t.res.total > 0) {
            fewer_try_free(best);
            *best = t;
            hi = mid;
        } else {
            fewer_try_free(&t);
            lo = mid + 1;
        }
    }
    if (!*has_best) {
        fewer_try_free(best);
    }
    return rc;
}

int idx_fewer_words(struct qry_ctx *ctx, const struct idx_search_req *req,
                    const struct sch_schema *schema, const struct qry_lexicon *lex,
                    const struct qry_segment *segs, size_t nsegs, struct qry **q,
                    struct qry_result *res, struct idx_search_res *out, struct sd_error *err)
{
    uint32_t words[QRY_MAX_TERMS];
    size_t positives = 0;
    size_t n = qry_simple_droppable(*q, req->q_len, words, QRY_MAX_TERMS, &positives);
    size_t most = positives > 1 ? positives - 1 : 0; /* one word always stays */
    most = n < most ? n : most;
    if (most == 0) {
        return SD_OK;
    }
    uint32_t drop[QRY_MAX_TERMS]; /* the order in which words are left out */
    size_t ndrop = 0;
    for (int pass = 0; pass < 2; pass++) { /* nobody's words first, then the others */
        for (size_t i = n; i-- > 0;) {
            if (is_unknown(res, words[i]) == (pass == 0)) {
                drop[ndrop++] = words[i];
            }
        }
    }
    struct fewer_try best;
    bool has_best = false;
    int rc = fewer_one(ctx, req, schema, lex, segs, nsegs, drop, ndrop, &best, &has_best);
    if (rc == SD_OK && !has_best) {
        rc = fewer_many(ctx, req, schema, lex, segs, nsegs, drop, most, &best, &has_best);
    }
    if (rc == SD_OK && has_best) {
        rc = fewer_adopt(req, &best, q, res, out);
    }
    if (has_best) {
        fewer_try_free(&best);
    }
    return rc ? sd_errorf(err, rc, "out of memory") : SD_OK;
}
