/*
 * prune.c: dynamic pruning, the part of a segment's evaluation that skips
 * documents which cannot enter the top-k (search.c calls it once the heap is
 * full and QRY_TOTAL_EXACT_UPTO matches are counted).
 *
 * Both strategies work on windows of documents: ev_window() gives an upper
 * bound of a node's score over [target, upto], where upto is the first block
 * end among the node's postings. The bound comes from the skip entries (each
 * block's largest tf and shortest field length), so a window costs a few
 * shallow skip-table reads and decodes nothing.
 *
 *   block-max   (any other root: AND, phrase, prefix) If the window's
 *               bound cannot beat the weakest hit, the whole window is
 *               skipped: target = upto + 1, no block decoded. Otherwise its
 *               matches are visited as usual (AND leapfrogs rarest first over
 *               block skip data; a phrase reads positions only here). For AND
 *               this is Lucene's BlockMaxConjunctionScorer.
 *   one word    (root EV_TERMS) MaxScore over the word's fields: see
 *               walk_terms(). Typically the title list drives and the body
 *               list is only advanced to its candidates.
 *   MaxScore    (root OR) Per window, the operands are sorted by their window
 *               bound; the longest prefix whose bounds sum below the weakest
 *               hit is "non-essential": a document matching only those cannot
 *               enter, so candidates come from the essential operands alone
 *               (the non-essential lists are never walked, only advanced to a
 *               candidate). A candidate's score is completed operand by
 *               operand, highest bound first, and dropped as soon as its
 *               partial score plus the remaining bounds cannot enter. The
 *               final score is summed in operand order, so it equals
 *               ev_score() to the bit (Ding & Suel 2011; Lucene 9's
 *               MaxScoreBulkScorer).
 * In every walk a candidate that fails a keyword filter sends the walk to the next document
 * the filter's values hold (ev_doc_next), even past the window's end.
 * A document skipped here is not counted; qry_topk.is_pruned records that
 * total became a lower bound. Nothing here allocates: per-operand arrays are
 * on the stack (an OR has at most PRUNE_MAX_KIDS operands; a wider one falls
 * back to block-max, and so does the OR of a box's words of which a document needs only some,
 * whose score is not the sum of its operands': eval.c any_score).
 */
#include "eval_int.h"

#define PRUNE_MAX_KIDS 256

/* One segment's pruned walk. */
struct walk {
    struct ev *e;
    struct qry_topk *t;
    const uint64_t *deleted; /* borrowed */
    uint32_t seg_index;
    uint32_t root;
    uint32_t ndocs;
};

/* The first target after window [.., upto], or ndocs when none is left. */
static uint32_t after(const struct walk *w, uint32_t upto)
{
    return upto >= w->ndocs ? w->ndocs : upto + 1;
}

static void walk_blockmax(struct walk *w, uint32_t target)
{
    struct ev *e = w->e;
    while (target < w->ndocs) {
        uint32_t upto = SEG_DOC_END;
        double bound = ev_window(e, w->root, target, &upto);
        if (!qry_topk_can_beat(w->t, bound)) {
            w->t->is_pruned = true;
            target = after(w, upto);
            continue;
        }
        uint32_t doc = ev_advance(e, w->root, target);
        while (doc <= upto && doc < w->ndocs) {
            uint32_t next = ev_doc_next(e, w->deleted, doc);
            if (next == doc) {
                w->t->total++;
                if (e->nodes[w->root].prox) { /* the bonus only where it could lift in */
                    ev_offer_prox(e, w->t, w->root, w->seg_index, doc);
                } else {
                    qry_topk_offer(e, w->t, w->root, w->seg_index, doc);
                }
                next = doc + 1;
            }
            doc = next < w->ndocs ? ev_advance(e, w->root, next) : w->ndocs;
        }
        target = doc; /* the root has no match before it */
    }
}

/* The operands of a MaxScore window: order[] sorts them by bound ascending,
 * order[0, ness) are non-essential, and rest is the sum of their bounds. */
struct window {
    const uint32_t *kids;
    uint32_t count;
    uint32_t upto;
    uint32_t ness;
    double rest;
    double bound[PRUNE_MAX_KIDS];
    uint32_t order[PRUNE_MAX_KIDS];
    double score[PRUNE_MAX_KIDS];
};

static void window_split(struct walk *w, struct window *win, uint32_t target)
{
    win->upto = SEG_DOC_END;
    for (uint32_t i = 0; i < win->count; i++) {
        win->bound[i] = ev_window(w->e, win->kids[i], target, &win->upto);
        uint32_t j = i;
        while (j > 0 && win->bound[win->order[j - 1]] > win->bound[i]) {
            win->order[j] = win->order[j - 1];
            j--;
        }
        win->order[j] = i;
    }
    win->ness = 0;
    win->rest = 0;
    while (win->ness < win->count &&
           !qry_topk_can_beat(w->t, win->rest + win->bound[win->order[win->ness]])) {
        win->rest += win->bound[win->order[win->ness]];
        win->ness++;
    }
}

/* Completes the score of doc (essential operands already in win->score) with
 * the non-essential ones, highest bound first. False when it cannot enter. */
static bool complete_score(struct walk *w, struct window *win, uint32_t doc, double partial)
{
    double rest = win->rest;
    for (uint32_t j = win->ness; j-- > 0;) {
        if (!qry_topk_can_beat(w->t, partial + rest)) {
            return false;
        }
        uint32_t i = win->order[j];
        rest -= win->bound[i];
        if (ev_advance(w->e, win->kids[i], doc) == doc) {
            win->score[i] = ev_score(w->e, win->kids[i], doc);
            partial += win->score[i];
        }
    }
    return qry_topk_can_beat(w->t, partial);
}

/* A live candidate doc (some essential operand is on it): scores and offers it. */
static void maxscore_doc(struct walk *w, struct window *win, uint32_t doc)
{
    double partial = 0;
    for (uint32_t i = 0; i < win->count; i++) {
        win->score[i] = 0;
    }
    for (uint32_t j = win->ness; j < win->count; j++) {
        uint32_t i = win->order[j];
        if (w->e->nodes[win->kids[i]].doc == doc) {
            win->score[i] = ev_score(w->e, win->kids[i], doc);
            partial += win->score[i];
        }
    }
    if (!complete_score(w, win, doc, partial)) {
        return;
    }
    double score = 0;
    for (uint32_t i = 0; i < win->count; i++) {
        score += win->score[i]; /* operand order, as ev_score() sums an OR */
    }
    qry_topk_add(w->t, (struct qry_hit){.segment = w->seg_index, .doc = doc, .score = (float)score});
}

/* The next target after a window [.., upto] whose walk reached target, which a filter may
 * have sent past the window's end. */
static uint32_t after_window(const struct walk *w, uint32_t upto, uint32_t target)
{
    uint32_t next = after(w, upto);
    return target > next ? target : next;
}

/* Visits the candidates of one window; returns the next target. */
static uint32_t maxscore_window(struct walk *w, struct window *win, uint32_t target)
{
    for (;;) {
        uint32_t doc = SEG_DOC_END;
        for (uint32_t j = win->ness; j < win->count; j++) {
            uint32_t d = ev_advance(w->e, win->kids[win->order[j]], target);
            doc = d < doc ? d : doc;
        }
        if (doc > win->upto || doc >= w->ndocs) {
            return after_window(w, win->upto, target);
        }
        target = ev_doc_next(w->e, w->deleted, doc);
        if (target == doc) {
            target = doc + 1;
            w->t->total++;
            maxscore_doc(w, win, doc);
        }
    }
}

static void walk_maxscore(struct walk *w, uint32_t target)
{
    const struct ev_node *n = &w->e->nodes[w->root];
    struct window win = {.kids = w->e->kids + n->first, .count = n->count};
    while (target < w->ndocs) {
        window_split(w, &win, target);
        if (win.ness > 0) {
            w->t->is_pruned = true;
        }
        if (win.ness == win.count) {
            target = after(w, win.upto);
            continue;
        }
        target = maxscore_window(w, &win, target);
    }
}

/* ---- one word: MaxScore over its fields ---- */

/* A word's score is idf * sat(sum over fields) + bonus, so a document found
 * only in the fields of set S scores at most idf * sat(sum of S's block
 * maxima) + the bonus for the smaller of that sum and the bonus's window
 * bound. Per window the fields are sorted by block maximum and the longest
 * prefix whose bound cannot enter is non-essential: candidates come from the
 * other fields' postings (typically the title's, far shorter than the
 * body's), and the rest are only advanced to a candidate. A candidate's own
 * fields then bound it exactly but for the bonus (still the window's, or its
 * match tf if smaller): most candidates of a common word stop there, before
 * the bonus postings are advanced and the generic ev_bound() runs. */
static uint32_t terms_candidate(struct ev_post *p, const uint32_t *order, uint32_t count,
                                uint32_t ness, uint32_t target)
{
    uint32_t doc = SEG_DOC_END;
    for (uint32_t j = ness; j < count; j++) {
        struct ev_post *q = &p[order[j]];
        if (q->doc < target) {
            q->doc = ev_post_step(q, target);
        }
        doc = q->doc < doc ? q->doc : doc;
    }
    return doc;
}

static void walk_terms(struct walk *w, uint32_t target)
{
    struct ev *e = w->e;
    struct ev_node *n = &e->nodes[w->root];
    struct ev_post *p = e->posts + n->first;
    double tf[SEG_MAX_SEG_FIELDS];
    uint32_t order[SEG_MAX_SEG_FIELDS];
    /* ev_terms_limit() grows with both tfs and the heap's threshold only rises, so a
     * candidate tf at most one already turned away (under a bonus tf at most the one then)
     * is turned away with one comparison: most candidates of a common word are. */
    double rejected_tf = -1, rejected_bonus_tf = 0;
    while (target < w->ndocs) {
        uint32_t upto = SEG_DOC_END;
        double bonus_tf = ev_window_bonus_tf(e, n, target, &upto);
        if (bonus_tf > rejected_bonus_tf) {
            rejected_tf = -1;
        }
        for (uint32_t i = 0; i < n->count; i++) {
            tf[i] = ev_window_post(&p[i], target, &upto);
            uint32_t j = i;
            while (j > 0 && tf[order[j - 1]] > tf[i]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        uint32_t ness = 0;
        double sum = 0;
        while (ness < n->count &&
               !qry_topk_can_beat(w->t, ev_terms_limit(e, n, sum + tf[order[ness]], bonus_tf))) {
            sum += tf[order[ness++]];
        }
        if (ness > 0) {
            w->t->is_pruned = true;
        }
        if (ness == n->count) {
            target = after(w, upto);
            continue;
        }
        for (;;) {
            uint32_t doc = terms_candidate(p, order, n->count, ness, target);
            if (doc > upto || doc >= w->ndocs) {
                break;
            }
            for (uint32_t j = 0; j < ness; j++) {
                struct ev_post *q = &p[order[j]];
                q->doc = q->doc < doc ? seg_postings_advance(q->it, doc) : q->doc;
            }
            n->doc = doc;
            target = ev_doc_next(e, w->deleted, doc);
            if (target == doc) {
                target = doc + 1;
                w->t->total++;
                double doc_tf = 0;
                for (uint32_t i = 0; i < n->count; i++) {
                    doc_tf += p[i].doc == doc ? ev_post_tf(&p[i], doc) : 0;
                }
                if (doc_tf <= rejected_tf) {
                    /* cannot enter */
                } else if (qry_topk_can_beat(w->t, ev_terms_limit(e, n, doc_tf, bonus_tf))) {
                    qry_topk_offer(e, w->t, w->root, w->seg_index, doc);
                } else {
                    rejected_tf = doc_tf;
                    rejected_bonus_tf = bonus_tf;
                }
            }
        }
        /* non-essential-only documents left in it cannot enter */
        target = after_window(w, upto, target);
    }
}

void qry_prune_segment(struct ev *e, struct qry_topk *t, const uint64_t *deleted,
                       uint32_t seg_index, uint32_t root, uint32_t target)
{
    struct walk w = {.e = e,
                     .t = t,
                     .deleted = deleted,
                     .seg_index = seg_index,
                     .root = root,
                     .ndocs = seg_doc_count(e->seg)};
    const struct ev_node *n = &e->nodes[root];
    if (n->type == EV_OR && !n->is_any && n->count <= PRUNE_MAX_KIDS) {
        walk_maxscore(&w, target);
    } else if (n->type == EV_TERMS) {
        walk_terms(&w, target);
    } else {
        walk_blockmax(&w, target);
    }
}
