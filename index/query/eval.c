/*
 * eval.c: document-at-a-time evaluation over one segment's struct ev_node tree.
 *
 * Every node has a current document (the smallest match >= the last target)
 * and only moves forward. ev_seek(node, t) moves it to its first match >= t:
 *   EV_TERMS   the smallest current doc of its postings (one per field)
 *   EV_AND     leapfrog: children ordered rarest first (plan.c); each child is
 *              advanced to the candidate, and one that lands past it makes
 *              the new candidate, until all agree; then the excluded children
 *              are advanced to it and veto it. The rare lead skips the common
 *              lists block by block (seg_postings_advance skips whole blocks
 *              by their last doc id without decoding them).
 *   EV_PHRASE  the same leapfrog over the words' postings; positions are read
 *              only for documents where all words agree
 *   EV_OR      the smallest current doc of its children
 * ev_score() is BM25F as query.h defines it, computed only for documents the
 * top-k heap could take; ev_bound() is a cheap upper bound of ev_score() for
 * a document the tree sits on (exact for the postings on it, block-max data
 * for the lagging exact-form bonus), used to skip scoring documents that
 * cannot beat the heap's weakest hit. ev_window() bounds a node over a range
 * of documents from skip data alone (each block's largest tf and shortest
 * field), for prune.c to skip the range undecoded. An AND gives its typed words' exact-form
 * bonus only to a document holding every one of their typed forms (and_score); its bound
 * counts every bonus, so it stays a bound. An AND whose typed words may stand
 * together (plan.c, prox.c) adds their proximity bonus to its score, and the largest bonus
 * any document can get to its bound and window, so pruning stays exact. EV_ALL and EV_FILTER
 * (browsing, and clauses inside an OR with text) score 0 and bound 0. Nothing here allocates.
 */
#include "eval_int.h"

static inline uint32_t post_advance(struct ev_post *p, uint32_t target)
{
    if (p->doc >= target) {
        return p->doc;
    }
    p->doc = ev_post_step(p, target);
    return p->doc;
}

static uint32_t terms_seek(struct ev *e, struct ev_node *n, uint32_t target)
{
    struct ev_post *p = e->posts + n->first;
    uint32_t min = SEG_DOC_END;
    for (uint32_t i = 0; i < n->count; i++) {
        uint32_t d = post_advance(&p[i], target);
        min = d < min ? d : min;
    }
    n->doc = min;
    return min;
}

/* True when the words of p[0, count) (all on one doc) occur at their relative
 * positions: for every start of the first word, each other word is looked up
 * with a cursor that only moves forward. */
static bool phrase_positions(struct ev *e, struct ev_post *p, uint32_t count)
{
    const uint32_t *pos[QRY_MAX_TERMS];
    uint32_t len[QRY_MAX_TERMS];
    uint32_t cur[QRY_MAX_TERMS] = {0};
    for (uint32_t i = 0; i < count; i++) {
        int rc = seg_postings_positions(p[i].it, &pos[i], &len[i]);
        if (rc) {
            e->rc = rc; /* SD_ENOMEM stays itself: the caller reports it as such */
            return false;
        }
    }
    for (uint32_t k = 0; k < len[0]; k++) {
        uint32_t base = pos[0][k];
        uint32_t i = 1;
        for (; i < count; i++) {
            uint32_t want = base + p[i].rel_pos;
            while (cur[i] < len[i] && pos[i][cur[i]] < want) {
                cur[i]++;
            }
            if (cur[i] == len[i]) {
                return false; /* later starts need even later positions */
            }
            if (pos[i][cur[i]] != want) {
                break;
            }
        }
        if (i == count) {
            return true;
        }
    }
    return false;
}

static uint32_t phrase_seek(struct ev *e, struct ev_node *n, uint32_t target)
{
    struct ev_post *p = e->posts + n->first;
    uint32_t cand = target;
    for (;;) {
        uint32_t i = 0;
        while (i < n->count) {
            uint32_t d = post_advance(&p[i], cand);
            if (d == SEG_DOC_END) {
                n->doc = SEG_DOC_END;
                return n->doc;
            }
            i = d > cand ? 0 : i + 1;
            cand = d;
        }
        if (phrase_positions(e, p, n->count)) {
            n->doc = cand;
            return cand;
        }
        cand++;
    }
}

static bool is_excluded(struct ev *e, const uint32_t *neg, uint32_t count, uint32_t doc)
{
    for (uint32_t i = 0; i < count; i++) {
        if (ev_advance(e, neg[i], doc) == doc) {
            return true;
        }
    }
    return false;
}

static uint32_t and_seek(struct ev *e, uint32_t node, uint32_t target)
{
    const uint32_t *k = e->kids + e->nodes[node].first;
    uint32_t count = e->nodes[node].count;
    uint32_t cand = target;
    for (;;) {
        uint32_t i = 0;
        while (i < count) {
            uint32_t d = ev_advance(e, k[i], cand);
            if (d == SEG_DOC_END) {
                e->nodes[node].doc = SEG_DOC_END;
                return SEG_DOC_END;
            }
            i = d > cand ? 0 : i + 1;
            cand = d;
        }
        if (!is_excluded(e, k + count, e->nodes[node].extra_count, cand)) {
            e->nodes[node].doc = cand;
            return cand;
        }
        cand++;
    }
}

static uint32_t or_seek(struct ev *e, uint32_t node, uint32_t target)
{
    const uint32_t *k = e->kids + e->nodes[node].first;
    uint32_t count = e->nodes[node].count;
    uint32_t min = SEG_DOC_END;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t d = ev_advance(e, k[i], target);
        min = d < min ? d : min;
    }
    e->nodes[node].doc = min;
    return min;
}

/* The first document from target on that passes the clauses: a scan of the columns, which
 * only moves forward, so a segment costs at most one pass however the tree drives it. */
static uint32_t filter_seek(struct ev *e, struct ev_node *n, uint32_t target)
{
    uint32_t d = target;
    while (d < e->ndocs && !qry_filter_match(e->q, e->fleaves, (int32_t)n->first, d)) {
        d++;
    }
    n->doc = d < e->ndocs ? d : SEG_DOC_END;
    return n->doc;
}

uint32_t ev_seek(struct ev *e, uint32_t node, uint32_t target)
{
    struct ev_node *n = &e->nodes[node];
    switch (n->type) {
    case EV_TERMS:
        return terms_seek(e, n, target);
    case EV_PHRASE:
        return phrase_seek(e, n, target);
    case EV_AND:
        return and_seek(e, node, target);
    case EV_OR:
        return or_seek(e, node, target);
    case EV_ALL:
        n->doc = target < e->ndocs ? target : SEG_DOC_END;
        return n->doc;
    case EV_FILTER:
        return filter_seek(e, n, target);
    default:
        n->doc = SEG_DOC_END;
        return SEG_DOC_END;
    }
}

/* ---- scores ---- */

/* The children of an AND or OR node. The kids array is only allocated once some query had
 * such a node, and e->kids + first on a NULL array is undefined even when unused (issue 10:
 * libFuzzer's first input in a fresh process, the one-word query "E"). */
static const uint32_t *node_kids(const struct ev *e, const struct ev_node *n)
{
    return e->kids ? e->kids + n->first : NULL;
}

/* The stem's BM25F, and in *bonus the exact-form bonus (0 when doc lacks the form typed). */
static double terms_parts(struct ev *e, const struct ev_node *n, uint32_t doc, double *bonus)
{
    struct ev_post *p = e->posts + n->first;
    double tf = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        if (p[i].doc == doc) {
            tf += ev_post_tf(&p[i], doc);
        }
    }
    double score = p[0].idf * ev_saturate(tf, e->k1);
    p = e->posts + n->extra_first;
    tf = 0;
    for (uint32_t i = 0; i < n->extra_count; i++) {
        if (post_advance(&p[i], doc) == doc) {
            tf += ev_post_tf(&p[i], doc);
        }
    }
    *bonus = tf > 0 ? e->boost * p[0].idf * ev_saturate(tf, e->k1) : 0;
    return score;
}

static double terms_score(struct ev *e, const struct ev_node *n, uint32_t doc)
{
    double bonus = 0;
    double score = terms_parts(e, n, doc, &bonus);
    return score + bonus;
}

/* A typed word's score without its exact-form bonus, and the bonus in *bonus: an EV_TERMS's
 * own, or the sum of an is_typed EV_OR's kids on doc (a typo reading's word and near forms). */
static double typed_parts(struct ev *e, const struct ev_node *n, uint32_t doc, double *bonus)
{
    if (n->type == EV_TERMS) {
        return terms_parts(e, n, doc, bonus);
    }
    const uint32_t *k = node_kids(e, n);
    double score = 0;
    *bonus = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        const struct ev_node *c = &e->nodes[k[i]];
        if (c->doc == doc) {
            double b = 0;
            score += typed_parts(e, c, doc, &b);
            *bonus += b;
        }
    }
    return score;
}

/* An AND's words (its proximity bonus aside) score their stems, and the exact-form bonus
 * only on a document that holds every typed word's form: one that repeats one word as typed
 * but says the other otherwise is no more the document sought than one that says both
 * otherwise (a known-item query typed in the document's own forms: bench/RESULTS.md "Issue
 * 12: the bonus only for documents with every typed form"). In a typo reading, a corrected
 * word's form is its closest near form. Any score is still at most ev_bound()'s, which
 * counts every bonus. */
static double and_words_score(struct ev *e, const struct ev_node *n, uint32_t doc)
{
    const uint32_t *k = node_kids(e, n);
    double score = 0;
    double bonus = 0;
    bool has_all = true;
    for (uint32_t i = 0; i < n->count; i++) {
        const struct ev_node *c = &e->nodes[k[i]];
        if (c->is_typed) {
            double b = 0;
            score += typed_parts(e, c, doc, &b);
            bonus += b;
            has_all = has_all && b > 0;
        } else {
            score += ev_score(e, k[i], doc);
        }
    }
    return has_all ? score + bonus : score;
}

static double and_score(struct ev *e, const struct ev_node *n, uint32_t doc)
{
    double score = and_words_score(e, n, doc);
    return n->prox ? score + ev_prox_bonus(e, &e->prox[n->prox - 1], doc) : score;
}

static double phrase_score(struct ev *e, const struct ev_node *n, uint32_t doc)
{
    const struct ev_post *p = e->posts + n->first;
    double score = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        score += p[i].idf * ev_saturate(ev_post_tf(&p[i], doc), e->k1);
    }
    return score;
}

/* The QRY_SYN_ANY group's score on doc: the sum of the words it has, times those words' share
 * of the group's idf (so a document without a rare word ranks below one without a common
 * word); which words it has goes to e->any_words. At most the plain sum: bounds stay bounds. */
static double any_score(struct ev *e, const struct ev_node *n, uint32_t doc)
{
    const uint32_t *k = node_kids(e, n);
    double score = 0;
    double idf = 0;
    uint32_t words = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        if (e->nodes[k[i]].doc == doc) {
            score += ev_score(e, k[i], doc);
            idf += e->any_w[i];
            words |= UINT32_C(1) << e->any_bit[i];
        }
    }
    e->any_words = words;
    return e->any_total > 0 ? score * (idf / e->any_total) : score;
}

double ev_score(struct ev *e, uint32_t node, uint32_t doc)
{
    const struct ev_node *n = &e->nodes[node];
    const uint32_t *k = node_kids(e, n);
    double score = 0;
    switch (n->type) {
    case EV_TERMS:
        return terms_score(e, n, doc);
    case EV_PHRASE:
        return phrase_score(e, n, doc);
    case EV_AND:
        return and_score(e, n, doc);
    case EV_OR:
        if (n->is_any) {
            return any_score(e, n, doc);
        }
        for (uint32_t i = 0; i < n->count; i++) {
            if (e->nodes[k[i]].doc == doc) {
                score += ev_score(e, k[i], doc);
            }
        }
        return score;
    default:
        return 0;
    }
}

void ev_offer_prox(struct ev *e, struct qry_topk *t, uint32_t root, uint32_t seg, uint32_t doc)
{
    if (t->count == t->k && !qry_topk_can_beat(t, ev_bound(e, root, doc))) {
        return;
    }
    const struct ev_node *n = &e->nodes[root];
    double rest = and_words_score(e, n, doc); /* ev_score()'s sum, in its order */
    const struct ev_prox *px = &e->prox[n->prox - 1];
    if (t->count == t->k && !qry_topk_can_beat(t, rest + px->bound)) {
        return;
    }
    double score = rest + ev_prox_bonus(e, px, doc);
    qry_topk_add(t,
                 (struct qry_hit){
                     .segment = seg, .doc = doc, .score = (float)score, .any_words = e->any_words});
}

/* ---- bounds ---- */

/* The largest weighted tf of p in the block that holds doc (p->doc <= doc). A block whose
 * max tf the skip data does not hold (255 or more) has no finite bound: INFINITY, which
 * ev_saturated() turns into BM25's limit as tf grows, idf * (k1 + 1). */
static double post_block_tf(struct ev_post *p, uint32_t doc)
{
    if (!p->has_blk || doc > p->blk_last) {
        uint32_t max_tf = 0;
        uint8_t min_norm = 0;
        p->blk_last = seg_postings_block_bound(p->it, doc, &max_tf, &min_norm);
        double weight = p->norm_max[min_norm]; /* 0 for a field of weight 0: no score */
        if (max_tf == SEG_TF_UNBOUNDED) {
            p->blk_tf = weight > 0 ? INFINITY : 0;
        } else {
            p->blk_tf = (double)max_tf * weight;
        }
        p->has_blk = true;
    }
    return p->blk_tf;
}

/* The matching postings sit on doc, so their part is exact (one norm byte
 * each); only the bonus postings, which lag behind and would have to be
 * advanced and decoded, are bounded by their blocks, and by the match's own
 * weighted tf: every occurrence of the typed form is one of its stem's, in
 * the same field (seg_analyze.c counts each token for both), so the bonus's
 * tf is at most the match's. That second bound is the tight one for the
 * common word of a large index, whose blocks all hold some doc with a high tf. */
static double terms_bound(struct ev *e, const struct ev_node *n, uint32_t doc)
{
    struct ev_post *p = e->posts + n->first;
    double tf = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        if (p[i].doc == doc) {
            tf += ev_post_tf(&p[i], doc);
        }
    }
    p = e->posts + n->extra_first;
    double bonus_tf = 0;
    for (uint32_t i = 0; i < n->extra_count && bonus_tf < tf; i++) {
        if (p[i].doc <= doc) {
            bonus_tf += post_block_tf(&p[i], doc);
        }
    }
    return ev_terms_limit(e, n, tf, bonus_tf);
}

double ev_bound(struct ev *e, uint32_t node, uint32_t doc)
{
    const struct ev_node *n = &e->nodes[node];
    const uint32_t *k = node_kids(e, n);
    double bound = 0;
    switch (n->type) {
    case EV_TERMS:
        return terms_bound(e, n, doc);
    case EV_PHRASE:
        return phrase_score(e, n, doc); /* its postings all sit on doc: cheap and exact */
    case EV_AND:
    case EV_OR:
        for (uint32_t i = 0; i < n->count; i++) {
            if (e->nodes[k[i]].doc == doc) {
                bound += ev_bound(e, k[i], doc);
            }
        }
        return n->prox ? bound + e->prox[n->prox - 1].bound : bound;
    default:
        return 0;
    }
}

/* ---- windows (block-max bounds over a range of documents) ---- */

/* p's largest weighted tf from target on, within the block that holds its first
 * posting >= target; lowers *upto to that block's last doc. 0 when p is done. */
double ev_window_post(struct ev_post *p, uint32_t target, uint32_t *upto)
{
    if (p->doc == SEG_DOC_END) {
        return 0;
    }
    double tf = post_block_tf(p, target);
    *upto = p->blk_last < *upto ? p->blk_last : *upto;
    return tf;
}

double ev_saturated(double idf, double tf, double k1)
{
    return tf > 0 ? idf * ev_saturate_bound(tf, k1) : 0; /* tf 0 with k1 0 would be NaN */
}

double ev_window_bonus_tf(struct ev *e, const struct ev_node *n, uint32_t target, uint32_t *upto)
{
    struct ev_post *p = e->posts + n->extra_first;
    double tf = 0;
    for (uint32_t i = 0; i < n->extra_count; i++) {
        tf += ev_window_post(&p[i], target, upto);
    }
    return tf;
}

double ev_bonus(const struct ev *e, const struct ev_node *n, double tf)
{
    return n->extra_count ? e->boost * ev_saturated(e->posts[n->extra_first].idf, tf, e->k1) : 0;
}

double ev_terms_limit(const struct ev *e, const struct ev_node *n, double tf, double bonus_tf)
{
    return ev_saturated(e->posts[n->first].idf, tf, e->k1) +
           ev_bonus(e, n, bonus_tf < tf ? bonus_tf : tf);
}

static double terms_window(struct ev *e, const struct ev_node *n, uint32_t target, uint32_t *upto)
{
    struct ev_post *p = e->posts + n->first;
    double tf = 0;
    for (uint32_t i = 0; i < n->count; i++) {
        tf += ev_window_post(&p[i], target, upto);
    }
    return ev_terms_limit(e, n, tf, ev_window_bonus_tf(e, n, target, upto));
}

double ev_window(struct ev *e, uint32_t node, uint32_t target, uint32_t *upto)
{
    const struct ev_node *n = &e->nodes[node];
    const uint32_t *k = node_kids(e, n);
    double bound = 0;
    if (n->doc == SEG_DOC_END) {
        return 0;
    }
    switch (n->type) {
    case EV_TERMS:
        return terms_window(e, n, target, upto);
    case EV_PHRASE:
        for (uint32_t i = 0; i < n->count; i++) {
            struct ev_post *p = &e->posts[n->first + i];
            bound += ev_saturated(p->idf, ev_window_post(p, target, upto), e->k1);
        }
        return bound;
    case EV_AND: /* positive kids only: exclusions never score */
    case EV_OR:
        for (uint32_t i = 0; i < n->count; i++) {
            bound += ev_window(e, k[i], target, upto);
        }
        return n->prox ? bound + e->prox[n->prox - 1].bound : bound;
    default:
        return 0;
    }
}
