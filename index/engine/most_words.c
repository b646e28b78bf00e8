/*
 * most_words.c: the last reading of a search box's query, with most of its words.
 *
 * A box's query of several words that no document holds together, in any reading (as typed,
 * in the other keyboard layout, with typos), gets an empty page from an engine that ANDs
 * every word: a question pasted in, or one word too many. The engines people compare us with
 * answer with documents that hold most of the words instead (Meilisearch's matching strategy,
 * Algolia's removeWordsIfNoResults, the OR of Lucene's and Xapian's query parsers) and say
 * which are missing, so that the page can show "Missing: gnome". This reading does the same
 * (docs/QUERY.md "Most words"):
 *  - which words: the operands of the query's AND that are one typed word each; phrases,
 *    ORs and exclusions stay required (qry_with_any_words);
 *  - a document needs one of those words, and scores the sum of those it has times their
 *    share of the words' idf: one that lacks a rare word ranks below one that lacks a common
 *    word. On the known-item sets with 2 or 3 common words their target lacks added
 *    (bench/RESULTS.md "Most words") this finds the target in the top 10 for 70-83% of the
 *    queries, against 7-17% for leaving out the fewest words (this file's first version) and
 *    61-73% for Xapian's OR;
 *  - the text is read every way again (idx_search_text), so a typo or the other layout still
 *    count, and each hit says which of the words it lacks; out->dropped names those the best
 *    hit lacks;
 *  - with a sort, qry_search orders this reading's hits by how many of the words each has
 *    first (sort.c: Meilisearch's "words" before "sort"), then by the sort, on every page;
 *  - when the words together find some documents but fewer than a page, the page goes on
 *    with the others of this reading after them (idx_most_words_after), as Meilisearch's
 *    does: one noise word added to a known-item query then finds the target in the top 10
 *    for 80-90% of the queries instead of 63-77%.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The group's words (qry_any_word of q) that are not in the bit set `has`, each owned, into
 * *words and *n. SD_OK or SD_ENOMEM (then *words holds the first *n). */
int idx_missing_words(const struct qry *q, uint32_t has, char ***words, size_t *n)
{
    *words = NULL;
    *n = 0;
    const char *w;
    size_t len;
    size_t all = 0;
    while (qry_any_word(q, (unsigned)all, &w, &len)) {
        all++;
    }
    if (all == 0) {
        return SD_OK;
    }
    *words = calloc(all, sizeof **words);
    if (!*words) {
        return SD_ENOMEM;
    }
    for (unsigned i = 0; i < all; i++) {
        if (has >> i & 1u || !qry_any_word(q, i, &w, &len)) {
            continue;
        }
        (*words)[*n] = strndup(w, len);
        if (!(*words)[*n]) {
            return SD_ENOMEM;
        }
        ++*n;
    }
    return SD_OK;
}

/* The group's words that the best hit of q (by score) has: hits[0] of res when it is that
 * (the first page by score), else a search for it alone. */
static int best_hit_words(struct qry_ctx *ctx, const struct idx_search_req *req,
                          const struct qry *q, const struct qry_segment *segs, size_t nsegs,
                          const struct qry_result *res, uint32_t *has, struct sd_error *err)
{
    const struct qry_params *p = &req->params;
    if (p->offset == 0 && res->nhits > 0 && !p->sort) {
        *has = res->hits[0].any_words;
        return SD_OK;
    }
    struct qry_params probe = *p;
    probe.limit = 1;
    probe.offset = 0;
    probe.sort = NULL;
    probe.facets = NULL;
    struct qry_result best;
    int rc = qry_search(ctx, q, segs, nsegs, &probe, &best, err);
    *has = rc == SD_OK && best.nhits > 0 ? best.hits[0].any_words : 0;
    qry_result_free(&best);
    return rc;
}

int idx_most_words(struct qry_ctx *ctx, const struct idx_search_req *req,
                    const struct sch_schema *schema, const struct qry_lexicon *lex,
                    const struct qry_segment *segs, size_t nsegs, struct qry **q,
                    struct qry_result *res, struct idx_search_res *out, struct sd_error *err)
{
    struct idx_search_req most = *req;
    most.opts.is_any_words = true;
    struct qry *mq = NULL;
    struct qry_result mres;
    struct idx_search_res mout = {0};
    struct sd_error e = {0};
    int rc = idx_search_text(ctx, &most, req->q, req->q_len, schema, lex, segs, nsegs, &mq, &mres,
                             &mout, &e);
    const char *w;
    size_t len;
    uint32_t has = 0;
    bool is_found = rc == SD_OK && mres.total > 0 && qry_any_word(mq, 0, &w, &len);
    if (is_found) {
        rc = best_hit_words(ctx, &most, mq, segs, nsegs, &mres, &has, &e);
    }
    if (rc == SD_OK && is_found) {
        rc = idx_missing_words(mq, has, &out->dropped, &out->ndropped);
    }
    if (rc == SD_OK && is_found) { /* this reading replaces the search's */
        qry_free(*q);
        qry_result_free(res);
        *q = mq;
        *res = mres;
        mq = NULL;
        memset(&mres, 0, sizeof mres);
        free(out->layout_query);
        free(out->did_you_mean);
        out->layout_query = mout.layout_query;
        out->is_layout_used = mout.is_layout_used;
        out->did_you_mean = mout.did_you_mean;
        out->is_typo_used = mout.is_typo_used;
        out->is_most_words = true;
        mout.layout_query = NULL;
        mout.did_you_mean = NULL;
    }
    qry_free(mq);
    qry_result_free(&mres);
    idx_search_res_free(&mout);
    if (rc == SD_ENOMEM) {
        return sd_errorf(err, rc, "out of memory");
    }
    return SD_OK; /* a reading that fails otherwise finds nothing: the request's stands */
}

static bool has_hit(const struct qry_hit *hits, size_t n, const struct qry_hit *h)
{
    for (size_t i = 0; i < n; i++) {
        if (hits[i].segment == h->segment && hits[i].doc == h->doc) {
            return true;
        }
    }
    return false;
}

/* The page [offset, offset + limit) of every hit of `every` (all of q's, with every word; it
 * may be *res itself), then those of the most-words reading mres that are not among them,
 * into *res (whose hits, facets and total become those; mres's facets and counts are moved).
 * SD_OK or SD_ENOMEM. */
static int follow_with(const struct qry_params *p, const struct qry *mq,
                       const struct qry_result *every, struct qry_result *mres,
                       struct qry_result *res)
{
    size_t want = (size_t)p->offset + p->limit;
    struct qry_hit *hits = calloc(want, sizeof *hits);
    if (!hits) {
        return SD_ENOMEM;
    }
    const char *w;
    size_t len;
    uint32_t all_words = 0;
    for (unsigned i = 0; qry_any_word(mq, i, &w, &len); i++) {
        all_words |= UINT32_C(1) << i;
    }
    size_t n = 0;
    for (size_t i = 0; i < every->nhits && n < want; i++) {
        hits[n] = every->hits[i];
        hits[n++].any_words = all_words;
    }
    for (size_t i = 0; i < mres->nhits && n < want; i++) {
        if (!has_hit(every->hits, every->nhits, &mres->hits[i])) {
            hits[n++] = mres->hits[i];
        }
    }
    size_t from = p->offset < n ? p->offset : n;
    memmove(hits, hits + from, (n - from) * sizeof *hits);
    qry_result_free(res);
    *res = *mres;
    free(mres->hits);
    memset(mres, 0, sizeof *mres);
    res->hits = hits;
    res->nhits = n - from;
    return SD_OK;
}

int idx_most_words_after(struct qry_ctx *ctx, const struct idx_search_req *req,
                         const struct sch_schema *schema, const struct qry_lexicon *lex,
                         const struct qry_segment *segs, size_t nsegs, struct qry **q,
                         struct qry_result *res, struct idx_search_res *out, struct sd_error *err)
{
    const struct qry_params *p = &req->params;
    uint64_t want = (uint64_t)p->offset + p->limit;
    /* Fewer than a page, not fewer than this page's end: every page of the search (of one
     * limit) then reads the same way and says the same total. */
    if (res->total == 0 || res->total >= p->limit || p->sort || out->is_layout_used ||
        out->is_typo_used || want + res->total > QRY_MAX_LIMIT) {
        return SD_OK;
    }
    /* every hit with every word, fewer than the page asks: res holds them all on a first
     * page, another page needs them searched again */
    const struct qry_result *every = res;
    struct qry_result again = {0};
    struct sd_error e = {0};
    int rc = SD_OK;
    if (res->nhits < res->total) {
        struct qry_params all = *p;
        all.offset = 0;
        all.limit = (uint32_t)res->total;
        all.facets = NULL;
        rc = qry_search(ctx, *q, segs, nsegs, &all, &again, &e);
        every = &again;
    }
    size_t nevery = every->nhits;
    struct idx_search_req most = *req;
    most.opts.is_any_words = true;
    most.params.offset = 0;
    most.params.limit = (uint32_t)(want + res->total);
    struct qry *mq = NULL;
    struct qry_result mres = {0};
    struct idx_search_res mout = {0};
    if (rc == SD_OK) {
        rc = idx_search_text(ctx, &most, req->q, req->q_len, schema, lex, segs, nsegs, &mq, &mres,
                             &mout, &e);
    }
    const char *w;
    size_t len;
    bool is_more = rc == SD_OK && mres.total > nevery && !mout.is_layout_used &&
                   !mout.is_typo_used && qry_any_word(mq, 0, &w, &len);
    if (is_more) {
        rc = follow_with(p, mq, every, &mres, res);
    }
    if (rc == SD_OK && is_more) {
        qry_free(*q);
        *q = mq;
        mq = NULL;
        out->is_most_words = true;
        out->every_word = nevery;
    }
    qry_free(mq);
    qry_result_free(&mres);
    qry_result_free(&again);
    idx_search_res_free(&mout);
    if (rc == SD_ENOMEM) {
        return sd_errorf(err, rc, "out of memory");
    }
    return SD_OK; /* a reading that fails otherwise adds nothing: the request's stands */
}
