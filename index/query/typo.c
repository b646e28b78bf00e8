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
 * near misses would hide what the user did not exclude), nor do words with
 * digits (identifiers and numbers differ by one character on purpose). The
 * word being typed (QRY_SIMPLE_PREFIX_LAST) gets a QN_FUZZY marked
 * QRY_SYN_TYPING: its forms are those that start within its edits (a typo
 * comes before the word is whole: "diplomc" for "diplomacy").
 *
 * qry_did_you_mean() names the correction: for each such word whose typed
 * form no document has (or, in an every-word reading, whose closest form is
 * more than 3 times as common as the typed one: "програмное" for
 * "программное"), the closest (then most frequent) form that some
 * document has, as the typo walk of the search just run recorded it
 * (scratch.typo_best: no second walk); the text is copied with those words
 * replaced.
 *
 * Which words get near forms: those no document has, as a rule (a word that
 * some document has is taken as typed, and its near misses would only add
 * noise); every word with is_every_word, which the engine asks for when the
 * words are each found but find nothing together, so that one of them is
 * likely a misspelling a few documents share ("програмное", "искуственная").
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* A positive word of enough letters; not one with digits: "tag10" and "tag11", "2024" and
 * "2025" are different things, not typos of each other. */
static bool wants_typos(const struct qry *q, const struct qry_node *n)
{
    if (n->type != QN_WORD || n->is_negative || n->term_count != 2) {
        return false;
    }
    const struct qry_term *typed = &q->terms[n->term + 1];
    const char *s = qry_term_str(q, typed);
    for (size_t i = 0; i < typed->len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            return false;
        }
    }
    return qry_lev_max_edits(s, typed->len) > 0;
}

/* Whether word node w is the word being typed: the first child of a QRY_SYN_TYPING group
 * (parse_simple.c). Its near forms are sought as a prefix too (stats.c): the word may be
 * half typed, with the typo already in it ("diplomc" on the way to "diplomacy"). */
static bool is_typing_word(const struct qry *q, int32_t w)
{
    int32_t g = qry_typing_group(q, w);
    return g != QRY_NONE && q->nodes[g].first_child == w;
}

static void *dup_array(const void *src, size_t count, size_t elem, size_t extra)
{
    void *p = malloc((count + extra) * elem + 1);
    if (p && count) {
        memcpy(p, src, count * elem);
    }
    return p;
}

int qry_with_typos(const struct qry *q, bool is_every_word, struct qry **out,
                   struct sd_error *err)
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
    t->filters = dup_array(q->filters, q->filter_count, sizeof *q->filters, 0);
    if (!t->nodes || !t->terms || !t->strings || !t->field_offs || !t->filters) {
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
        t->nodes[fuzzy].is_for_known = is_every_word;
        if (is_typing_word(q, (int32_t)i)) {
            t->nodes[fuzzy].syn_role = QRY_SYN_TYPING;
        }
        t->nodes[fuzzy].next_sibling = QRY_NONE;
        n->type = QN_OR;
        n->first_child = word;
        n->term = 0;
        n->term_count = 0; /* keeps its place among its siblings */
    }
    *out = t;
    return SD_OK;
}

bool qry_is_typo_pair(const struct qry *q, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    int32_t w = n->first_child;
    if (n->type != QN_OR || w == QRY_NONE || q->nodes[w].type != QN_WORD) {
        return false;
    }
    int32_t f = q->nodes[w].next_sibling;
    return f != QRY_NONE && q->nodes[f].type == QN_FUZZY && q->nodes[f].next_sibling == QRY_NONE;
}

bool qry_is_typo_word(const struct qry *q, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    return qry_is_typo_pair(q, node) || (n->type == QN_OR && n->syn_role == QRY_SYN_TYPING &&
                                         n->first_child != QRY_NONE &&
                                         qry_is_typo_pair(q, n->first_child));
}

/* ---- did you mean ---- */

/* The span of the first token of a text: span[0] its start, span[1] its end. */
static int first_token(void *arg, const struct stem_token *t)
{
    size_t *span = arg;
    span[0] = t->offset;
    span[1] = t->offset + t->len;
    return 1;
}

int qry_did_you_mean(struct qry_ctx *ctx, const struct qry *fq, const char *text, size_t len,
                     struct sd_buf *out, bool *is_corrected)
{
    *is_corrected = false;
    const struct qry_scratch *s = ctx->scratch;
    if (s->typo_best.count != fq->node_count) {
        return SD_OK; /* not the query searched last: nothing recorded for it */
    }
    const struct qry_typo_best *best = s->typo_best.data;
    size_t copied = 0;
    for (size_t i = 0; i < fq->node_count; i++) {
        const struct qry_node *n = &fq->nodes[i];
        const struct qry_typo_best *b = &best[i];
        bool is_misspelt = b->self_df == 0 || (n->is_for_known && b->df > 3 * b->self_df);
        if (n->type != QN_FUZZY || b->len == 0 || !is_misspelt || n->offset < copied ||
            n->offset >= len) {
            continue;
        }
        size_t span[2];
        if (stem_tokenize(ctx->stem, text + n->offset, len - n->offset, 0, first_token, span,
                          NULL) != 1) {
            continue;
        }
        sd_buf_put(out, text + copied, n->offset + span[0] - copied);
        sd_buf_put(out, (const char *)s->pool.data + b->off, b->len);
        copied = n->offset + span[1];
        *is_corrected = true;
    }
    sd_buf_put(out, text + copied, len - copied);
    sd_buf_put_u8(out, 0);
    if (out->rc) {
        return SD_ENOMEM;
    }
    out->len--;
    return SD_OK;
}
