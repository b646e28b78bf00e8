/*
 * search.c: qry_search(), the top-k heap and the result.
 *
 * Every segment is evaluated in order, its matches in doc order, so hits
 * arrive in tie-break order (lower segment, then lower doc): a newcomer whose
 * score equals the weakest hit never displaces it, and a bound test may skip
 * it too. A segment runs in two phases:
 *   exact    every match is visited and counted; once the heap holds
 *            offset+limit hits, a document is scored only when its block-max
 *            bound (ev_bound) can beat the weakest hit.
 *   bulk     a root OR over many word lists (a prefix, a word being typed) is
 *            scored instead window by window, list by list (bulk.c): every
 *            match is counted and offered, at a fraction of the cost per match.
 *   pruned   once the heap is full and QRY_TOTAL_EXACT_UPTO matches are
 *            counted (over all segments so far), prune.c takes over: it skips
 *            whole ranges of documents whose block-max bounds cannot beat the
 *            weakest hit, without decoding them. Skipped matches are not
 *            counted, so `total` becomes a lower bound (total_is_exact false),
 *            as with Lucene's totalHitsThreshold.
 * With limit 0 nothing is scored and nothing is skipped: total is exact.
 * Filter clauses (filter_eval.c) are tested where deleted documents are skipped: a document
 * that fails them is neither counted nor scored, and never changes a bound. With a sort
 * (sort.c), every match is scored and offered to the sorted heap instead of the top-k (a
 * most-words query's sorted heap orders by how many of its words a document has first).
 * With facets (facet_count.c), every document the words match is shown to the counters
 * with the predicate's conjuncts it fails, and only those that fail none are hits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

void qry_params_default(struct qry_params *p)
{
    memset(p, 0, sizeof *p);
    p->limit = 10;
    p->k1 = 1.2f;
    p->b = 0.75f;
    p->exact_boost = 0.5f;
    p->proximity = 0; /* off unless asked for: see QRY_PROXIMITY */
    p->default_weight = 1.0f;
}

static bool hit_worse(const struct qry_hit *a, const struct qry_hit *b)
{
    if (a->score != b->score) {
        return a->score < b->score;
    }
    if (a->segment != b->segment) {
        return a->segment > b->segment;
    }
    return a->doc > b->doc;
}

/* Puts hit at the root of the heap h[0, count) (the weakest first) and sifts it down: the
 * worse child moves up into the hole until hit is no better than either child. */
static void heap_replace_top(struct qry_hit *h, size_t count, struct qry_hit hit)
{
    size_t i = 0;
    for (;;) {
        size_t worst = 2 * i + 1;
        if (worst >= count) {
            break;
        }
        if (worst + 1 < count && hit_worse(&h[worst + 1], &h[worst])) {
            worst++;
        }
        if (!hit_worse(&h[worst], &hit)) {
            break;
        }
        h[i] = h[worst];
        i = worst;
    }
    h[i] = hit;
}

static void heap_push(struct qry_hit *h, size_t *count, struct qry_hit hit)
{
    size_t i = (*count)++;
    while (i > 0 && hit_worse(&hit, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = hit;
}

void qry_topk_add(struct qry_topk *t, struct qry_hit hit)
{
    if (t->so) {
        qry_sorter_add(t->so, hit.doc, hit.score); /* a tie may win there on a later key */
    }
    if (t->count < t->k) {
        heap_push(t->h, &t->count, hit);
    } else if (hit_worse(&t->h[0], &hit)) {
        heap_replace_top(t->h, t->count, hit);
    }
}

void qry_topk_offer(struct ev *e, struct qry_topk *t, uint32_t root, uint32_t seg, uint32_t doc)
{
    if (t->count == t->k && !qry_topk_can_beat(t, ev_bound(e, root, doc))) {
        return;
    }
    float score = (float)ev_score(e, root, doc);
    qry_topk_add(
        t, (struct qry_hit){.segment = seg, .doc = doc, .score = score, .any_words = e->any_words});
}

static bool may_prune(const struct qry_topk *t)
{
    return t->k > 0 && t->count == t->k && t->total >= QRY_TOTAL_EXACT_UPTO && !t->is_exhaustive;
}

/* A match that passed: counted, and offered to the sorted heap or the top-k. */
static void take(struct ev *e, struct qry_topk *t, struct qry_sorter *so, uint32_t root,
                 bool is_prox, uint32_t seg_index, uint32_t doc)
{
    t->total++;
    if (so && !t->so && t->k) {
        qry_sorter_offer(so, e, root, doc);
    } else if (t->k && is_prox) {
        ev_offer_prox(e, t, root, seg_index, doc); /* the bonus only where it could lift in */
    } else if (t->k) {
        qry_topk_offer(e, t, root, seg_index, doc);
    }
}

/* Visits the matches of the segment's tree in order, counting each, until
 * pruning is allowed; prune.c then does the rest. */
static int run_segment(struct qry_scratch *s, const struct qry *q, const struct qry_segment *sg,
                       uint32_t seg_index, uint32_t root, const struct qry_stats *st,
                       struct qry_topk *t, struct qry_sorter *so, struct sd_error *err)
{
    uint32_t ndocs = seg_doc_count(sg->seg);
    struct ev e = {.seg = sg->seg,
                   .nodes = s->nodes.data,
                   .posts = s->posts.data,
                   .kids = s->kids.data,
                   .prox = s->prox.data,
                   .prox_words = s->prox_words.data,
                   .prox_posts = s->prox_posts.data,
                   .k1 = st->k1,
                   .boost = st->boost,
                   .ndocs = ndocs,
                   .q = q,
                   .fleaves = s->fleaves.data,
                   .conj = s->conj.data,
                   .nconj = s->conj.count,
                   .can_skip = s->can_skip,
                   .any_w = s->any_w,
                   .any_bit = s->any_bit,
                   .any_total = s->any_total};
    uint32_t doc = e.nodes[root].doc;
    bool is_prox = e.nodes[root].prox != 0; /* a root AND with a proximity bonus */
    if (!so && s->nfacet_acc == 0 && !s->is_exhaustive && qry_bulk_wants(&e, root) &&
        qry_bulk_reserve(s) == SD_OK) { /* is_exhaustive: tests compare it with the walk */
        qry_bulk_segment(&e, t, s, sg->deleted, seg_index, root);
        doc = ndocs; /* all of it: nothing is left to walk or prune */
    }
    if (s->nfacet_acc > 0) {
        /* Facets see every document the words match, with the conjuncts it fails. */
        for (; doc < ndocs; doc = ev_advance(&e, root, doc + 1)) {
            if (qry_is_deleted(sg->deleted, doc)) {
                continue;
            }
            uint64_t failed = qry_conj_failed(e.conj, e.nconj, doc);
            qry_facets_doc(s, doc, failed);
            if (!failed) {
                take(&e, t, so, root, is_prox, seg_index, doc);
            }
        }
    }
    while (doc < ndocs && !may_prune(t)) {
        uint32_t next = ev_doc_next(&e, sg->deleted, doc);
        if (next == doc) {
            take(&e, t, so, root, is_prox, seg_index, doc);
            next = doc + 1;
        }
        doc = next < ndocs ? ev_advance(&e, root, next) : ndocs;
    }
    if (doc < ndocs) {
        qry_prune_segment(&e, t, sg->deleted, seg_index, root, doc);
    }
    int rc = qry_plan_check(s, err);
    if (!rc && e.rc == SD_ENOMEM) {
        rc = sd_errorf(err, SD_ENOMEM, "segment %u: positions: out of memory", seg_index);
    } else if (!rc && e.rc) {
        rc = SD_CORRUPT(err, "segment %u: positions", seg_index);
    }
    return rc;
}

static int check_params(const struct qry_params *p, struct sd_error *err)
{
    if (p->limit > QRY_MAX_LIMIT) {
        return sd_errorf(err, SD_ELIMIT, "limit %u above %d", p->limit, QRY_MAX_LIMIT);
    }
    if (p->offset > QRY_MAX_OFFSET) {
        return sd_errorf(err, SD_ELIMIT, "offset %u above %d", p->offset, QRY_MAX_OFFSET);
    }
    if (!(p->k1 >= 0 && p->k1 <= 1000) || !(p->b >= 0 && p->b <= 1)) {
        return sd_errorf(err, SD_EINVAL, "k1 must be in [0, 1000] and b in [0, 1]");
    }
    if (!(p->exact_boost >= 0 && p->exact_boost <= 1000) ||
        !(p->default_weight >= 0 && p->default_weight <= 1000)) {
        return sd_errorf(err, SD_EINVAL, "exact_boost and weights must be in [0, 1000]");
    }
    if (!(p->proximity >= 0 && p->proximity <= QRY_MAX_PROXIMITY)) {
        return sd_errorf(err, SD_EINVAL, "proximity must be in [0, %g]", QRY_MAX_PROXIMITY);
    }
    for (size_t i = 0; i < p->nweights; i++) {
        if (!(p->weights[i].weight >= 0 && p->weights[i].weight <= 1000)) {
            return sd_errorf(err, SD_EINVAL, "weight of '%s' must be in [0, 1000]",
                             p->weights[i].field ? p->weights[i].field : "");
        }
    }
    return SD_OK;
}

static int cmp_hit_better(const void *a, const void *b)
{
    return hit_worse(b, a) ? -1 : hit_worse(a, b) ? 1 : 0;
}

static int fill_result(struct qry_topk *t, uint32_t offset, struct qry_result *out,
                       struct sd_error *err)
{
    if (t->count > 1) { /* a heap of limit 0 has no array: h may be NULL */
        qsort(t->h, t->count, sizeof *t->h, cmp_hit_better);
    }
    if (t->count <= offset) {
        return SD_OK;
    }
    out->nhits = t->count - offset;
    out->hits = malloc(out->nhits * sizeof *out->hits);
    if (!out->hits) {
        out->nhits = 0;
        return sd_errorf(err, SD_ENOMEM, "search hits");
    }
    memcpy(out->hits, t->h + offset, out->nhits * sizeof *out->hits);
    return SD_OK;
}

/* A phrase no document can have, as far as its words were looked up: one of them is in none.
 * A compound typed in the other layout is one ("b,kbjntrb", библиотеки with QWERTY on). */
static bool is_dead_phrase(const struct qry_node *n, const struct qry_sterm *sterms)
{
    for (uint32_t k = 0; n->type == QN_PHRASE && !n->is_negative && k < n->term_count; k++) {
        if (sterms[n->term + k].has_idf && sterms[n->term + k].df == 0) {
            return true;
        }
    }
    return false;
}

/* qry_result.known_long_words counts n: its stem and its typed form are some document's. */
static bool is_known_long(const struct qry *q, const struct qry_node *n,
                          const struct qry_sterm *sterms)
{
    return qry_is_long_known_stem(q, n, sterms) && sterms[n->term + 1].has_idf &&
           sterms[n->term + 1].df > 0;
}

int qry_search(struct qry_ctx *ctx, const struct qry *q, const struct qry_segment *segs,
               size_t nsegs, const struct qry_params *params, struct qry_result *out,
               struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    struct qry_scratch *s = ctx->scratch;
    struct qry_stats st;
    int rc = check_params(params, err);
    if (!rc && q->root == QRY_NONE && !q->is_all) {
        out->total_is_exact = true; /* a simple-syntax query without words matches nothing */
        s->conj.count = 0;
        s->sterms.count = 0; /* nothing looked up: the scratch's words are another search's */
        rc = qry_facets_begin(s, params->facets, err); /* (all counts 0) */
        return rc ? rc : qry_facets_finish(s, out, err);
    }
    if (!rc) {
        s->stem = ctx->stem;
        rc = qry_stats_build(s, q, segs, nsegs, params, &st, err);
    }
    if (!rc) {
        rc = qry_typed_boost(s, q, segs, nsegs, params, &st, err);
    }
    struct qry_params planned = *params; /* with the bonus typed.c chose */
    planned.exact_boost = rc ? params->exact_boost : (float)st.boost;
    if (!rc) {
        rc = qry_filter_prepare(s, q, params->filter, err);
    }
    if (!rc) {
        rc = qry_facets_begin(s, params->facets, err);
    }
    /* Browsing visits every document that passes (an exact total; scores are all 0), and so
     * does a sort by anything but the score: bounds on scores cannot skip by year. */
    bool is_sorted = !qry_sort_is_relevance(params->sort);
    /* A most-words query sorts by its words first (sort.c): a score bound cannot prune that. */
    const char *any_w;
    size_t any_len;
    bool by_words = is_sorted && qry_any_word(q, 0, &any_w, &any_len);
    bool is_score_first = is_sorted && !by_words && qry_sort_is_score_first(params->sort);
    struct qry_topk t = {.k = params->limit ? (size_t)params->offset + params->limit : 0,
                         .is_exhaustive = s->is_exhaustive || qry_is_browse(q) ||
                                          (is_sorted && !is_score_first) ||
                                          (params->facets && params->facets->n > 0)};
    if (!rc && (qry_vec_reserve(&s->heap, t.k + 1, sizeof(struct qry_hit)) ||
                (is_sorted && qry_vec_reserve(&s->sorted, t.k + 1, sizeof(struct qry_shit))))) {
        rc = sd_errorf(err, SD_ENOMEM, "top-k heap");
    }
    t.h = s->heap.data;
    struct qry_sorter sorter = {
        .sort = params->sort, .by_words = by_words, .h = s->sorted.data, .k = t.k};
    struct qry_sorter *so = is_sorted ? &sorter : NULL;
    t.so = is_score_first ? so : NULL;
    /* with facets every segment is shown, even when nothing can match */
    bool is_empty = !rc && s->nfacet_acc == 0 && st.is_unmatchable;
    for (size_t i = 0; !rc && !is_empty && i < nsegs; i++) {
        uint32_t root = 0;
        if (!qry_filter_segment(s, q, params->filter, segs[i].seg) && s->nfacet_acc == 0) {
            continue; /* facets would still count its documents as if not filtered */
        }
        if (so) {
            qry_sorter_segment(so, segs[i].seg, (uint32_t)i);
        }
        rc = qry_facets_segment(s, segs[i].seg, err);
        if (!rc) {
            rc = qry_plan_build(s, q, segs, i, &planned, t.k > 0, &root, err);
        }
        if (!rc) {
            rc = run_segment(s, q, &segs[i], (uint32_t)i, root, &st, &t, so, err);
        }
        if (!rc) {
            rc = qry_facets_segment_end(s, err);
        }
        qry_plan_free(s);
    }
    if (!rc) {
        rc = so ? qry_sorter_finish(so, params->offset, out, err)
                : fill_result(&t, params->offset, out, err);
    }
    if (!rc) {
        rc = qry_facets_finish(s, out, err);
    }
    out->total = rc ? 0 : t.total;
    out->total_is_exact = !t.is_pruned;
    const struct qry_sterm *sterms = s->sterms.data;
    for (size_t i = 0; !rc && i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        bool is_unknown = n->type == QN_WORD && !n->is_negative && n->syn_role != QRY_SYN_WORD &&
                          sterms[n->term].has_idf && sterms[n->term].df == 0;
        out->unknown_words += is_unknown;
        if ((is_unknown || is_dead_phrase(n, sterms)) && out->nunknown_at < QRY_MAX_TERMS) {
            out->unknown_at[out->nunknown_at++] = n->offset;
        }
    }
    for (size_t i = 0; !rc && out->unknown_words > 0 && i < q->node_count; i++) {
        out->known_long_words += is_known_long(q, &q->nodes[i], sterms);
    }
    return rc;
}

void qry_result_free(struct qry_result *r)
{
    if (!r) {
        return;
    }
    free(r->hits);
    r->hits = NULL;
    r->nhits = 0;
    for (size_t i = 0; i < r->nfacets; i++) {
        for (size_t k = 0; k < r->facets[i].nbuckets; k++) {
            free(r->facets[i].buckets[k].value);
        }
        free(r->facets[i].buckets);
        free(r->facets[i].field);
    }
    free(r->facets);
    r->facets = NULL;
    r->nfacets = 0;
}
