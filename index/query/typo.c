/*
 * typo.c: the typo-tolerant reading of a query, and the correction it
 * suggests.
 *
 * qry_with_typos() copies a parsed query and turns every positive word of
 * QRY_TYPO_ONE_EDIT+ characters (typed form) into
 *     QN_OR( the word as it was , QN_FUZZY of its stem )
 * in place, so the tree keeps its shape and its operators. The QN_FUZZY leaf
 * is expanded at search time (stats.c: the exact-form dictionaries walked
 * with the typed form's Levenshtein automaton, lev.c) into the stems of the
 * forms within 1 edit (2 from QRY_TYPO_TWO_EDITS characters), and those
 * score at QRY_FUZZY_WEIGHT: a
 * document with the word as typed, or any inflection of it, still ranks
 * above one that only has a near miss. Exclusions get no typos (excluding
 * near misses would hide what the user did not exclude).
 *
 * qry_did_you_mean() names the correction: for each such word whose typed
 * form no document has, the closest (then most frequent) form that some
 * document has, walking the exact-form dictionaries with the same automaton;
 * the text is copied with those words replaced.
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

static bool wants_typos(const struct qry *q, const struct qry_node *n)
{
    if (n->type != QN_WORD || n->is_negative || n->term_count != 2) {
        return false;
    }
    const struct qry_term *typed = &q->terms[n->term + 1];
    return qry_lev_max_edits(qry_term_str(q, typed), typed->len) > 0;
}

static void *dup_array(const void *src, size_t count, size_t elem, size_t extra)
{
    void *p = malloc((count + extra) * elem + 1);
    if (p && count) {
        memcpy(p, src, count * elem);
    }
    return p;
}

int qry_with_typos(const struct qry *q, struct qry **out, struct sd_error *err)
{
    *out = NULL;
    size_t words = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        words += wants_typos(q, &q->nodes[i]);
    }
    if (words == 0 || q->root == QRY_NONE) {
        return SD_OK;
    }
    struct qry *t = calloc(1, sizeof *t);
    if (!t) {
        return sd_errorf(err, SD_ENOMEM, "typo query");
    }
    *t = *q;
    t->nodes = dup_array(q->nodes, q->node_count, sizeof *q->nodes, 2 * words);
    t->terms = dup_array(q->terms, q->term_count, sizeof *q->terms, 0);
    t->strings = dup_array(q->strings, q->strings_len, 1, 0);
    t->field_offs = dup_array(q->field_offs, q->field_count, sizeof *q->field_offs, 0);
    if (!t->nodes || !t->terms || !t->strings || !t->field_offs) {
        qry_free(t);
        return sd_errorf(err, SD_ENOMEM, "typo query");
    }
    for (size_t i = 0; i < q->node_count; i++) {
        if (!wants_typos(q, &q->nodes[i])) {
            continue;
        }
        struct qry_node *n = &t->nodes[i];
        int32_t word = (int32_t)t->node_count++;
        int32_t fuzzy = (int32_t)t->node_count++;
        t->nodes[word] = *n;
        t->nodes[word].next_sibling = fuzzy;
        t->nodes[fuzzy] = *n;
        t->nodes[fuzzy].type = QN_FUZZY;
        t->nodes[fuzzy].next_sibling = QRY_NONE;
        n->type = QN_OR;
        n->first_child = word;
        n->term = 0;
        n->term_count = 0; /* keeps its place among its siblings */
    }
    *out = t;
    return SD_OK;
}

/* ---- did you mean ---- */

struct best_walk {
    struct qry_lev lev;
    char best[STEM_MAX_TOKEN + 1];
    size_t best_len;
    unsigned best_dist;
    uint64_t best_df;
    const char *self;
    size_t self_len;
    uint64_t self_df; /* documents with the typed form */
};

static int best_term(void *arg, const char *term, size_t len, const struct seg_term *t,
                     char *seek, size_t *seek_len)
{
    struct best_walk *b = arg;
    unsigned dist = 0;
    int r = qry_lev_feed(&b->lev, term, len, &dist, seek, seek_len);
    if (r == QRY_LEV_SEEK) {
        return SEG_WALK_SEEK;
    }
    if (r == QRY_LEV_DONE) {
        return SEG_WALK_STOP;
    }
    bool is_match = r == QRY_LEV_MATCH;
    if (!is_match) {
        return SEG_WALK_NEXT;
    }
    if (dist == 0) {
        b->self_df += t->df;
        return SEG_WALK_NEXT;
    }
    bool is_same = len == b->best_len && memcmp(term, b->best, len) == 0;
    if (is_same) {
        b->best_df += t->df; /* the same form in another field or segment */
    } else if (b->best_len == 0 || dist < b->best_dist ||
               (dist == b->best_dist && t->df > b->best_df)) {
        memcpy(b->best, term, len);
        b->best_len = len;
        b->best_dist = dist;
        b->best_df = t->df;
    }
    return SEG_WALK_NEXT;
}

/* The closest, most frequent exact form near the typed form of word node n, into b. */
static int best_form(const struct qry *q, const struct qry_node *n, const struct qry_segment *segs,
                     size_t nsegs, struct best_walk *b, struct sd_error *err)
{
    const struct qry_term *typed = &q->terms[n->term + 1];
    const char *s = qry_term_str(q, typed);
    unsigned k = qry_lev_max_edits(s, typed->len);
    memset(b, 0, sizeof *b);
    b->self = s;
    b->self_len = typed->len;
    if (qry_lev_init(&b->lev, s, typed->len, k) != SD_OK) {
        return SD_OK;
    }
    for (size_t i = 0; i < nsegs; i++) {
        unsigned count = seg_field_count(segs[i].seg);
        for (unsigned f = 0; f < count; f++) {
            int rc = seg_term_walk(segs[i].seg, f, SEG_EXACT, best_term, b, err);
            if (rc) {
                return rc;
            }
        }
    }
    return SD_OK;
}

/* The span of the first token of a text: span[0] its start, span[1] its end. */
static int first_token(void *arg, const struct stem_token *t)
{
    size_t *span = arg;
    span[0] = t->offset;
    span[1] = t->offset + t->len;
    return 1;
}

int qry_did_you_mean(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len,
                     const struct qry_segment *segs, size_t nsegs, struct sd_buf *out,
                     bool *is_corrected, struct sd_error *err)
{
    *is_corrected = false;
    struct best_walk *b = malloc(sizeof *b);
    if (!b) {
        return sd_errorf(err, SD_ENOMEM, "did you mean");
    }
    size_t copied = 0;
    int rc = SD_OK;
    for (size_t i = 0; rc == SD_OK && i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        if (!wants_typos(q, n) || n->offset < copied || n->offset >= len) {
            continue;
        }
        rc = best_form(q, n, segs, nsegs, b, err);
        if (rc || b->self_df > 0 || b->best_len == 0) {
            continue;
        }
        size_t span[2];
        if (stem_tokenize(ctx->stem, text + n->offset, len - n->offset, 0, first_token, span,
                          NULL) != 1) {
            continue;
        }
        sd_buf_put(out, text + copied, n->offset + span[0] - copied);
        sd_buf_put(out, b->best, b->best_len);
        copied = n->offset + span[1];
        *is_corrected = true;
    }
    free(b);
    if (rc) {
        return rc;
    }
    sd_buf_put(out, text + copied, len - copied);
    sd_buf_put_u8(out, 0);
    if (out->rc) {
        return sd_errorf(err, SD_ENOMEM, "did you mean");
    }
    out->len--;
    return SD_OK;
}
