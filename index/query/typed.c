/*
 * typed.c: whether the words of a query stand as typed, together, in some document; this
 * decides how much the exact form typed counts (the exact-form bonus of query.h).
 *
 * WHY. A word matches every inflection, and a document holding the form typed scores more
 * (exact_boost x its BM25). How much more pulls two ways (bench/RESULTS.md "Issue 12:
 * known-item relevance against the peers"): when the document sought uses the forms typed,
 * a strong bonus ranks it like an engine that matches only typed forms (FTS5), and when it
 * uses other inflections, every bonus goes to the wrong documents (those that happen to use
 * the typed forms) and stems alone rank best (Xapian). No constant serves both. What tells
 * them apart is whether the typed forms occur together at all: of the public known-item
 * queries, those typed in the document's own forms have them together in some document in
 * 97-100% of cases, those typed in other inflections in 3-10%.
 *
 * WHAT. The words checked are the query's required typed words: the root word, or the plain
 * words directly under the root AND (not excluded, not synonyms, not typo readings or
 * prefixes; a word with synonyms, or the word being typed with its completions, counts as the
 * word typed; at most QRY_TYPED_MAX_WORDS). When some live document holds every one of their
 * typed forms (in any field of each word's scope), the bonus is exact_boost x
 * QRY_TYPED_GAIN: documents that say it as typed come first, as they do where only typed
 * forms match. When none does, the bonus is 0: the typed forms say nothing about the
 * documents sought, and stems rank alone. A query without such words (an OR, a phrase, a
 * prefix) keeps exact_boost as it is. A typo reading's word standing with its near forms
 * (qry_is_typo_word) is not checked: its closest forms, which earn the bonus for it (plan.c),
 * are forms the walk found in some document, and the AND's scoring asks each document for
 * all of them; when it is the only kind of word, the bonus is exact_boost x QRY_TYPED_GAIN,
 * as for the query typed right (bench/RESULTS.md "Issue 12: a corrected word's closest form
 * counts as typed"). exact_boost 0 turns the bonus off everywhere. Which
 * documents get the bonus is eval.c's: in an AND, only those holding every typed form (this
 * check asks whether any does; the scoring asks it of each document it scores).
 *
 * COST. Per segment until a document is found: the words' typed forms' postings opened and
 * intersected leapfrog (the rarest list drives, the others skip whole blocks), stopping at
 * the first live document they share. Typed forms are rarer than their stems, so this is a
 * fraction of the search it precedes; a search that only counts (limit 0) skips it.
 */
#include <stdlib.h>

#include "eval_int.h"

#define QRY_TYPED_MAX_WORDS 8
#define QRY_TYPED_GAIN      10.0

/* The typed word node c stands for: itself, or the typed word a synonym group (synonym.c)
 * starts with, so that synonyms do not change the bonus of what was typed; or the word being
 * typed (parse_simple.c) once some document has it as typed (qry_typing_is_whole), so that a
 * whole word at the end of a box's text decides the bonus as it would with a space after it,
 * while a half word leaves it to the words before. QRY_NONE: none. */
static int32_t typed_word(const struct qry_scratch *s, const struct qry *q, int32_t c)
{
    const struct qry_node *qn = q->nodes;
    if (qn[c].type == QN_OR && qn[c].syn_role == QRY_SYN_GROUP) {
        c = qn[c].first_child;
    } else if (qn[c].type == QN_OR && qn[c].syn_role == QRY_SYN_TYPING) {
        c = qry_typing_is_whole(s, q, c) ? qry_typing_word(q, c) : QRY_NONE;
    }
    return c != QRY_NONE && qry_is_typed_word(&qn[c]) ? c : QRY_NONE;
}

bool qry_typing_is_whole(const struct qry_scratch *s, const struct qry *q, int32_t group)
{
    const struct qry_node *qn = q->nodes;
    int32_t w = qry_typing_word(q, group);
    if (w == QRY_NONE || !qry_is_typed_word(&qn[w])) {
        return false;
    }
    const struct qry_sterm *form = (const struct qry_sterm *)s->sterms.data + qn[w].term + 1;
    return form->has_idf && form->df > 0 &&
           stem_utf8_chars(qry_sterm_str(s, q, form), form->len) >= QRY_MIN_STEMMED;
}

/* The exact-form sterms of the query's required typed words, into terms[]; returns how many.
 * *typo_pairs counts the required words of a typo reading that stand with their near forms
 * (qry_is_typo_word), whose forms are not checked (see qry_typed_boost). */
static size_t required_words(const struct qry_scratch *s, const struct qry *q, uint32_t *terms,
                             size_t *typo_pairs)
{
    const struct qry_node *qn = q->nodes;
    *typo_pairs = 0;
    if (q->root == QRY_NONE) {
        return 0;
    }
    int32_t w = typed_word(s, q, q->root);
    if (w != QRY_NONE) {
        terms[0] = qn[w].term + 1;
        return 1;
    }
    if (qry_is_typo_word(q, q->root)) {
        *typo_pairs = 1;
        return 0;
    }
    if (qn[q->root].type != QN_AND) {
        return 0;
    }
    size_t n = 0;
    for (int32_t c = qn[q->root].first_child; c != QRY_NONE && n < QRY_TYPED_MAX_WORDS;
         c = qn[c].next_sibling) {
        bool is_filter = qry_is_top_filter(q, c);
        w = is_filter ? QRY_NONE : typed_word(s, q, c);
        if (w != QRY_NONE) {
            terms[n++] = qn[w].term + 1;
        }
        *typo_pairs += !is_filter && qry_is_typo_word(q, c);
    }
    return n;
}

/* One typed form's postings in each field of its scope where this segment has it. */
struct typed_word {
    struct seg_postings *it[SEG_MAX_SEG_FIELDS];
    uint32_t doc[SEG_MAX_SEG_FIELDS];
    size_t count;
};

/* The word's first document >= target (SEG_DOC_END: none). */
static uint32_t word_seek(struct typed_word *w, uint32_t target)
{
    uint32_t min = SEG_DOC_END;
    for (size_t i = 0; i < w->count; i++) {
        if (w->doc[i] < target) {
            w->doc[i] = seg_postings_advance(w->it[i], target);
        }
        min = w->doc[i] < min ? w->doc[i] : min;
    }
    return min;
}

/* True in *meets when a live document of segment seg_index holds every one of terms[0, n). */
static int segment_meets(struct qry_scratch *s, const struct qry_segment *sg, size_t seg_index,
                         const uint32_t *terms, size_t n, bool *meets, struct sd_error *err)
{
    struct typed_word words[QRY_TYPED_MAX_WORDS]; /* 24 KB: only the counts are cleared */
    for (size_t w = 0; w < n; w++) {
        words[w].count = 0;
    }
    int rc = SD_OK;
    bool is_missing = false;
    for (size_t w = 0; !rc && !is_missing && w < n; w++) {
        unsigned fields[SEG_MAX_SEG_FIELDS];
        const struct qry_sterm *st = (const struct qry_sterm *)s->sterms.data + terms[w];
        size_t nf = qry_scope_fields(s, seg_index, sg->seg, st->scope, fields);
        for (size_t i = 0; !rc && i < nf; i++) {
            const struct seg_term *t = qry_found(s, terms[w], seg_index, fields[i]);
            if (t->df == 0) {
                continue;
            }
            struct typed_word *tw = &words[w];
            rc = seg_postings_open(sg->seg, t, 0, &tw->it[tw->count], err);
            if (!rc) {
                tw->doc[tw->count] = seg_postings_next(tw->it[tw->count]);
                tw->count++;
            }
        }
        is_missing = words[w].count == 0;
    }
    /* leapfrog: a word that lands past the candidate makes the new one, until all n agree */
    uint32_t doc = 0;
    size_t agreed = 0;
    for (size_t w = 0; !rc && !is_missing && !*meets; w = (w + 1) % n) {
        uint32_t d = word_seek(&words[w], doc);
        if (d == SEG_DOC_END) {
            break;
        }
        agreed = d == doc ? agreed + 1 : 1;
        doc = d;
        if (agreed == n) {
            *meets = !qry_is_deleted(sg->deleted, doc);
            doc++;
            agreed = 0;
        }
    }
    for (size_t w = 0; w < n; w++) {
        for (size_t i = 0; i < words[w].count; i++) {
            if (!rc) {
                rc = seg_postings_error(words[w].it[i], err);
            }
            seg_postings_free(words[w].it[i]);
        }
    }
    return rc;
}

int qry_typed_boost(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, const struct qry_params *params, struct qry_stats *st,
                    struct sd_error *err)
{
    uint32_t terms[QRY_TYPED_MAX_WORDS];
    size_t typo_pairs = 0;
    st->boost = params->exact_boost;
    size_t n =
        params->exact_boost > 0 && params->limit > 0 ? required_words(s, q, terms, &typo_pairs) : 0;
    if (n == 0 && typo_pairs > 0 && !st->is_unmatchable) {
        st->boost = params->exact_boost * QRY_TYPED_GAIN;
        return SD_OK;
    }
    if (n == 0 || st->is_unmatchable) {
        return SD_OK;
    }
    bool meets = false;
    int rc = SD_OK;
    for (size_t i = 0; !rc && !meets && i < nsegs; i++) {
        rc = segment_meets(s, &segs[i], i, terms, n, &meets, err);
    }
    st->boost = meets ? params->exact_boost * QRY_TYPED_GAIN : 0;
    return rc;
}
