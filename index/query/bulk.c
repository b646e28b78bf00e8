/*
 * bulk.c: a wide disjunction scored window by window, list by list (Lucene's BooleanScorer).
 *
 * WHY. A prefix expands to up to QRY_MAX_EXPANSIONS words, and the word being typed is an OR
 * of the word and its completions: a root OR over a hundred or more lists. Document at a
 * time, each match costs a pass over every list (or_seek takes the least of their current
 * documents, ev_score asks each whether it is on the match), and MaxScore (prune.c) cannot
 * help: the lists' bounds are alike, so hardly any is ever non-essential, and its windows end
 * at the first block end among them all. A lone two-letter prefix (`co*`, a box's first
 * keystrokes) cost 11-23 ms on corpus-large this way, nearly all of it in those passes.
 *
 * HOW. Documents are taken BULK_WINDOW at a time. In a window each list adds its score on
 * each of its documents there into an array (the window's accumulator) and marks them; an OR
 * under the root sums its own lists into the next level's array first, then adds that sum on
 * each document it marked. The sums run in the tree's operand order, so every score equals
 * ev_score()'s to the bit, and hits, ties and tie-breaks are what the document-at-a-time walk
 * gives. The marked documents are then taken in order: a deleted one or one the filter
 * fails is skipped (ev_doc_next), the others are counted and offered to the heap. A window
 * starts at the least current document of the lists, so stretches no list has cost nothing.
 * Every match is counted: the total is exact. A match costs its postings' decoding and one
 * array update per list on it, instead of a pass over all the lists.
 *
 * WHEN (qry_bulk_wants): a root EV_OR with at least BULK_MIN_LEAVES word lists (EV_TERMS)
 * and nothing but ORs above them, at most BULK_MAX_DEPTH levels deep, and no sort, facets or
 * proximity (search.c). A narrower OR keeps MaxScore, which skips the common one of two
 * words. The arrays live in scratch.bulk (BULK_MAX_DEPTH levels and sum_terms's, 33 KB),
 * reserved once.
 */
#include <string.h>

#include "eval_int.h"

#define BULK_WINDOW     1024 /* documents per window: the arrays stay in L1/L2 */
#define BULK_MIN_LEAVES 16
#define BULK_MAX_DEPTH  3

/* One level of the tree's sums over the current window. */
struct bulk_level {
    double score[BULK_WINDOW];
    uint64_t hit[BULK_WINDOW / 64]; /* bit i: document base + i is matched */
};

/* Word lists under node through ORs only, or -1 when another kind of node is there or the
 * ORs go deeper than BULK_MAX_DEPTH. */
static int leaves(const struct ev *e, uint32_t node, int depth)
{
    const struct ev_node *n = &e->nodes[node];
    if (n->type == EV_TERMS) {
        return 1;
    }
    if (n->type != EV_OR || depth == BULK_MAX_DEPTH) {
        return -1;
    }
    int sum = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        int k = leaves(e, e->kids[n->first + i], depth + 1);
        if (k < 0) {
            return -1;
        }
        sum += k;
    }
    return sum;
}

bool qry_bulk_wants(const struct ev *e, uint32_t root)
{
    return e->nodes[root].type == EV_OR && !e->nodes[root].is_any &&
           leaves(e, root, 0) >= BULK_MIN_LEAVES;
}

int qry_bulk_reserve(struct qry_scratch *s)
{
    /* the tree's levels, and one more for a word list's tf (sum_terms) */
    return qry_vec_reserve(&s->bulk, BULK_MAX_DEPTH + 1, sizeof(struct bulk_level));
}

/* Adds word list k's score on each document of [base, end) it matches to lv: a list without
 * an exact-form bonus (a prefix's completion), walked field by field straight off its
 * postings instead of through ev_seek/ev_score per document (which merge the fields at every
 * step). Its fields' weighted tf is summed in tf (a scratch level) in field order, as
 * terms_parts sums it, then saturated once per document: the same doubles to the bit. Leaves
 * each field's postings at their first document >= end, and k's doc the least. */
static void sum_terms(struct ev *e, struct ev_node *k, uint32_t base, uint32_t end,
                      struct bulk_level *lv, struct bulk_level *tf)
{
    struct ev_post *p = e->posts + k->first;
    memset(tf->hit, 0, sizeof tf->hit);
    uint32_t least = SEG_DOC_END;
    for (uint32_t i = 0; i < k->count; i++) {
        struct ev_post *q = &p[i];
        for (uint32_t d = q->doc; d < end; d = q->doc = ev_post_step(q, d + 1)) {
            uint32_t at = d - base;
            uint64_t bit = 1ull << (at % 64);
            double t = ev_post_tf(q, d);
            if (tf->hit[at / 64] & bit) {
                tf->score[at] += t;
            } else {
                tf->score[at] = t;
                tf->hit[at / 64] |= bit;
            }
        }
        least = q->doc < least ? q->doc : least;
    }
    for (uint32_t w = 0; w < BULK_WINDOW / 64; w++) {
        for (uint64_t m = tf->hit[w]; m != 0; m &= m - 1) {
            uint32_t at = w * 64 + (uint32_t)__builtin_ctzll(m);
            lv->score[at] += p[0].idf * ev_saturate(tf->score[at], e->k1);
        }
        lv->hit[w] |= tf->hit[w];
    }
    k->doc = least;
}

/* Sums the scores of OR node `node`'s operands on each document of [base, end) they match
 * into lv[0] (cleared first), in operand order; an operand that is an OR sums into lv[1]
 * first. tf: sum_terms's scratch level. Leaves every list at its first document >= end, and
 * the node's doc the least. */
static void sum_kids(struct ev *e, uint32_t node, uint32_t base, uint32_t end,
                     struct bulk_level *lv, struct bulk_level *tf)
{
    struct ev_node *n = &e->nodes[node];
    memset(lv->score, 0, sizeof lv->score);
    memset(lv->hit, 0, sizeof lv->hit);
    uint32_t least = SEG_DOC_END;
    for (uint32_t i = 0; i < n->count; i++) {
        uint32_t kid = e->kids[n->first + i];
        struct ev_node *k = &e->nodes[kid];
        if (k->type == EV_TERMS && k->extra_count == 0) {
            if (k->doc < end) {
                sum_terms(e, k, base, end, lv, tf);
            }
        } else if (k->type == EV_TERMS) {
            for (uint32_t d = k->doc; d < end; d = ev_seek(e, kid, d + 1)) {
                uint32_t at = d - base;
                lv->score[at] += ev_score(e, kid, d);
                lv->hit[at / 64] |= 1ull << (at % 64);
            }
        } else if (k->doc < end) {
            sum_kids(e, kid, base, end, lv + 1, tf);
            const struct bulk_level *sub = lv + 1;
            for (uint32_t w = 0; w < BULK_WINDOW / 64; w++) {
                for (uint64_t m = sub->hit[w]; m != 0; m &= m - 1) {
                    uint32_t at = w * 64 + (uint32_t)__builtin_ctzll(m);
                    lv->score[at] += sub->score[at];
                }
                lv->hit[w] |= sub->hit[w];
            }
        }
        least = k->doc < least ? k->doc : least;
    }
    n->doc = least;
}

void qry_bulk_segment(struct ev *e, struct qry_topk *t, struct qry_scratch *s,
                      const uint64_t *deleted, uint32_t seg_index, uint32_t root)
{
    struct bulk_level *lv = s->bulk.data;
    uint32_t base = e->nodes[root].doc;
    while (base < e->ndocs) {
        uint32_t end = e->ndocs - base > BULK_WINDOW ? base + BULK_WINDOW : e->ndocs;
        sum_kids(e, root, base, end, lv, lv + BULK_MAX_DEPTH);
        for (uint32_t w = 0; w < BULK_WINDOW / 64; w++) {
            for (uint64_t m = lv->hit[w]; m != 0; m &= m - 1) {
                uint32_t at = w * 64 + (uint32_t)__builtin_ctzll(m);
                uint32_t doc = base + at;
                if (ev_doc_next(e, deleted, doc) != doc) {
                    continue; /* deleted, or the filter fails it */
                }
                t->total++;
                if (t->k) {
                    struct qry_hit hit = {
                        .segment = seg_index, .doc = doc, .score = (float)lv->score[at]};
                    qry_topk_add(t, hit);
                }
            }
        }
        base = e->nodes[root].doc;
    }
}
