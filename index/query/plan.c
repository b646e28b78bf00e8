/*
 * plan.c: turns the query tree into one segment's evaluation tree.
 *
 * Each leaf takes its terms' dictionary entries in this segment, per field in
 * its scope, from what stats.c found (qry_found(): no dictionary lookups
 * here), and opens a postings iterator for each term present:
 *   QN_WORD    EV_TERMS: SEG_STEM postings match; SEG_EXACT postings of the
 *              typed form are opened only when scoring (they are a bonus and
 *              never add a match)
 *   QN_EXACT   EV_TERMS over SEG_EXACT postings
 *   QN_PREFIX  EV_OR of one EV_TERMS per expansion (stats.c chose them)
 *   QN_FUZZY   the same, over the SEG_STEM typo expansions
 *   QN_PHRASE  one EV_PHRASE per field that has every word (positions
 *              wanted), under an EV_OR when several fields do
 *   QN_OR      EV_OR of its non-empty children; a box's words of which a document needs only
 *              some (QRY_SYN_ANY) keep their EV_OR even for one, with each word's idf
 *   clauses    (filter.c) an operand of the top-level AND made only of clauses is left
 *              out: search.c tests it beside the tree (filter_eval.c); other clause
 *              subtrees are one EV_FILTER; a root with no positive text left is EV_ALL
 * A leaf that finds nothing is EV_EMPTY: an AND with an empty positive child
 * is empty, an empty exclusion or OR operand is dropped. Children of an AND
 * are sorted by estimated matches so the rarest leads. A node's children sit
 * in s->kids at [first, first+count); each node is positioned on its first
 * match as soon as it is built.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

struct plan {
    struct qry_scratch *s;
    const struct qry *q;
    const struct seg *seg;
    size_t seg_index;
    bool wants_scores;
    bool wants_bonus;
    double proximity; /* qry_params.proximity when scoring, else 0 */
    int rc; /* sticky positions error seen while positioning nodes */
    double b;
    uint32_t typing_word; /* the EV node of the word being typed (QRY_SYN_TYPING), for proximity */
    uint64_t norms_made[(SEG_MAX_SEG_FIELDS + 63) / 64]; /* local fields with their tables */
    struct sd_error *err;
};

static struct ev_node *pnode(struct plan *pl, uint32_t i)
{
    return (struct ev_node *)pl->s->nodes.data + i;
}

static struct qry_sterm *sterm(struct plan *pl, uint32_t i)
{
    return (struct qry_sterm *)pl->s->sterms.data + i;
}

static int new_node(struct plan *pl, enum ev_type type, uint32_t *out)
{
    struct ev_node *n = qry_vec_push(&pl->s->nodes, sizeof *n);
    if (!n) {
        return sd_errorf(pl->err, SD_ENOMEM, "query plan");
    }
    memset(n, 0, sizeof *n);
    n->type = (uint8_t)type;
    n->doc = type == EV_EMPTY ? SEG_DOC_END : 0;
    *out = (uint32_t)(pl->s->nodes.count - 1);
    return SD_OK;
}

/* Moves a freshly built node to its first match. */
static void position(struct plan *pl, uint32_t node)
{
    struct ev e = {.seg = pl->seg,
                   .nodes = pl->s->nodes.data,
                   .posts = pl->s->posts.data,
                   .kids = pl->s->kids.data,
                   .ndocs = seg_doc_count(pl->seg),
                   .q = pl->q,
                   .fleaves = pl->s->fleaves.data};
    ev_seek(&e, node, 0);
    if (e.rc) {
        pl->rc = e.rc;
    }
}

/* Room for every local field's table; each is made when a postings list of its field opens
 * (field_norms): a query touches few of a segment's fields, and a table costs 256 divisions. */
static int reserve_norms(struct plan *pl)
{
    struct qry_scratch *s = pl->s;
    unsigned count = seg_field_count(pl->seg);
    if (qry_vec_reserve(&s->norms, (size_t)count * 512 + 1, sizeof(float))) {
        return sd_errorf(pl->err, SD_ENOMEM, "query plan");
    }
    s->norms.count = (size_t)count * 512;
    memset(pl->norms_made, 0, sizeof pl->norms_made);
    return SD_OK;
}

/* The global field of local field f. */
static const struct qry_gfield *gfield(struct plan *pl, unsigned f)
{
    const int32_t *map = qry_vec_at(&pl->s->field_map, sizeof *map,
                                    ((const size_t *)pl->s->map_off.data)[pl->seg_index]);
    return (const struct qry_gfield *)pl->s->gfields.data + map[f];
}

/* Local field f's 2 x 256 table: the weight over BM25's length normalization of each length
 * byte, then the largest of those for any length byte >= n. */
static const float *field_norms(struct plan *pl, unsigned f)
{
    float *tbl = (float *)pl->s->norms.data + (size_t)f * 512;
    if (pl->norms_made[f / 64] >> (f % 64) & 1u) {
        return tbl;
    }
    const struct qry_gfield *gf = gfield(pl, f);
    for (unsigned n = 0; n < 256; n++) {
        double len = seg_norm_decode((uint8_t)n);
        tbl[n] = (float)(gf->weight / (1.0 - pl->b + pl->b * len / gf->avglen));
    }
    float max = tbl[255];
    for (unsigned n = 256; n-- > 0;) {
        max = tbl[n] > max ? tbl[n] : max;
        tbl[256 + n] = max; /* largest weight of any length byte >= n */
    }
    pl->norms_made[f / 64] |= UINT64_C(1) << (f % 64);
    return tbl;
}

/* Opens the postings of seg_term t found for sterm st in local field f, on their first
 * document; with is_lazy, unstarted (a proximity form: prox.c advances it only when a
 * document needs its bonus, and many queries never decode a block of it). */
static int open_post(struct plan *pl, const struct seg_term *t, const struct qry_sterm *st,
                     unsigned f, unsigned flags, bool is_lazy)
{
    struct ev_post *p = qry_vec_push(&pl->s->posts, sizeof *p);
    if (!p) {
        return sd_errorf(pl->err, SD_ENOMEM, "query plan");
    }
    memset(p, 0, sizeof *p);
    int rc = seg_postings_open(pl->seg, t, flags, &p->it, pl->err);
    if (rc) {
        pl->s->posts.count--;
        return rc;
    }
    const float *tbl = field_norms(pl, f);
    p->rel_pos = st->rel_pos;
    p->df = t->df;
    p->idf = st->idf;
    p->norms = seg_field_norms(pl->seg, f);
    p->norm_tbl = tbl;
    p->norm_max = tbl + 256;
    p->field = (uint8_t)f;
    p->is_started = !is_lazy;
    p->doc = is_lazy ? 0 : seg_postings_next(p->it);
    return SD_OK;
}

/* The entry of sterm `term` in local field f of this segment, or NULL when it lacks it. */
static const struct seg_term *find_term(struct plan *pl, uint32_t term, unsigned f)
{
    const struct seg_term *t = qry_found(pl->s, term, pl->seg_index, f);
    return t->df ? t : NULL;
}

/* Opens sterm `term` in every field of its scope (seg_postings_open flags); returns posts
 * opened in *count. */
static int open_fields(struct plan *pl, uint32_t term, unsigned flags, uint32_t *count,
                       uint64_t *cost)
{
    unsigned fields[SEG_MAX_SEG_FIELDS];
    const struct qry_sterm *st = sterm(pl, term);
    size_t nf = qry_scope_fields(pl->s, pl->seg_index, pl->seg, st->scope, fields);
    *count = 0;
    for (size_t i = 0; i < nf; i++) {
        const struct seg_term *t = find_term(pl, term, fields[i]);
        if (!t) {
            continue;
        }
        int rc = open_post(pl, t, st, fields[i], flags, false);
        if (rc) {
            return rc;
        }
        (*count)++;
        *cost += t->df;
    }
    return SD_OK;
}

/* EV_TERMS matching `match`, with `bonus` (or UINT32_MAX) for ranking only. */
static int terms_node(struct plan *pl, uint32_t match, uint32_t bonus, uint32_t *out)
{
    uint32_t first = (uint32_t)pl->s->posts.count;
    uint32_t count;
    uint64_t cost = 0;
    int rc = open_fields(pl, match, 0, &count, &cost);
    if (rc || count == 0) {
        return rc ? rc : new_node(pl, EV_EMPTY, out);
    }
    uint32_t extra_first = (uint32_t)pl->s->posts.count;
    uint32_t extra_count = 0;
    uint64_t extra_cost = 0;
    if (bonus != UINT32_MAX && pl->wants_bonus) {
        /* with positions (read lazily: free until asked for) when the proximity bonus may
         * read the typed form's there, instead of opening and decoding it twice (prox_word) */
        unsigned flags = pl->proximity > 0 ? SEG_WANT_POSITIONS : 0;
        rc = open_fields(pl, bonus, flags, &extra_count, &extra_cost);
    }
    if (!rc) {
        rc = new_node(pl, EV_TERMS, out);
    }
    if (rc) {
        return rc;
    }
    struct ev_node *n = pnode(pl, *out);
    n->first = first;
    n->count = count;
    n->extra_first = extra_first;
    n->extra_count = extra_count;
    n->is_typed = bonus != UINT32_MAX && pl->wants_bonus;
    n->cost = cost;
    position(pl, *out);
    return SD_OK;
}

static int build(struct plan *pl, int32_t qnode, uint32_t *out);

static int push_kids(struct plan *pl, const uint32_t *kids, uint32_t count, uint32_t *first)
{
    struct qry_vec *v = &pl->s->kids;
    if (qry_vec_reserve(v, v->count + count, sizeof *kids)) {
        return sd_errorf(pl->err, SD_ENOMEM, "query plan");
    }
    *first = (uint32_t)v->count;
    memcpy((uint32_t *)v->data + v->count, kids, count * sizeof *kids);
    v->count += count;
    return SD_OK;
}

/* An EV_OR of kids (already built, none empty, at least one), positioned. */
static int new_or(struct plan *pl, const uint32_t *kids, uint32_t count, uint32_t *out)
{
    uint32_t first = 0;
    int rc = push_kids(pl, kids, count, &first);
    if (!rc) {
        rc = new_node(pl, EV_OR, out);
    }
    if (rc) {
        return rc;
    }
    struct ev_node *n = pnode(pl, *out);
    n->first = first;
    n->count = count;
    for (uint32_t i = 0; i < count; i++) {
        n->cost += pnode(pl, kids[i])->cost;
    }
    position(pl, *out);
    return SD_OK;
}

/* The OR of kids (already built, none empty): EV_EMPTY, the one kid, or EV_OR. */
static int or_of(struct plan *pl, const uint32_t *kids, uint32_t count, uint32_t *out)
{
    if (count <= 1) {
        if (count == 1) {
            *out = kids[0];
            return SD_OK;
        }
        return new_node(pl, EV_EMPTY, out);
    }
    return new_or(pl, kids, count, out);
}

/* One EV_PHRASE in local field f, or *out = UINT32_MAX when f lacks a word. */
static int phrase_field(struct plan *pl, const struct qry_node *qn, unsigned f, uint32_t *out)
{
    const struct seg_term *t[QRY_MAX_TERMS];
    *out = UINT32_MAX;
    for (uint32_t w = 0; w < qn->term_count; w++) {
        t[w] = find_term(pl, qn->term + w, f);
        if (!t[w]) {
            return SD_OK;
        }
    }
    uint32_t first = (uint32_t)pl->s->posts.count;
    uint64_t cost = UINT64_MAX;
    for (uint32_t w = 0; w < qn->term_count; w++) {
        int rc = open_post(pl, t[w], sterm(pl, qn->term + w), f, SEG_WANT_POSITIONS, false);
        if (rc) {
            return rc;
        }
        cost = t[w]->df < cost ? t[w]->df : cost;
    }
    int rc = new_node(pl, EV_PHRASE, out);
    if (rc) {
        return rc;
    }
    struct ev_node *n = pnode(pl, *out);
    n->first = first;
    n->count = qn->term_count;
    n->cost = cost;
    position(pl, *out);
    return SD_OK;
}

static int phrase_node(struct plan *pl, const struct qry_node *qn, uint32_t *out)
{
    unsigned fields[SEG_MAX_SEG_FIELDS];
    uint32_t kids[SEG_MAX_SEG_FIELDS];
    uint32_t count = 0;
    int32_t scope = sterm(pl, qn->term)->scope;
    size_t nf = qry_scope_fields(pl->s, pl->seg_index, pl->seg, scope, fields);
    for (size_t i = 0; i < nf; i++) {
        uint32_t node = 0;
        int rc = phrase_field(pl, qn, fields[i], &node);
        if (rc) {
            return rc;
        }
        if (node != UINT32_MAX) {
            kids[count++] = node;
        }
    }
    return or_of(pl, kids, count, out);
}

/* An EV_OR whose kids all earn the exact-form bonus as typed words do (a typo's near forms;
 * the word as typed and those) stands for one typed word in its AND's bonus (eval.c). */
static void mark_typed_or(struct plan *pl, uint32_t node)
{
    struct ev_node *n = pnode(pl, node);
    if (n->type != EV_OR) {
        return;
    }
    const uint32_t *kids = (const uint32_t *)pl->s->kids.data + n->first;
    bool is_typed = true;
    for (uint32_t i = 0; i < n->count; i++) {
        is_typed = is_typed && pnode(pl, kids[i])->is_typed;
    }
    n->is_typed = is_typed;
}

static int prefix_node(struct plan *pl, int32_t qnode, uint32_t *out)
{
    const uint32_t *slot = (const uint32_t *)pl->s->prefix.data + 2 * (size_t)qnode;
    bool is_fuzzy = pl->q->nodes[qnode].type == QN_FUZZY;
    _Static_assert(QRY_MAX_TYPING_EXPANSIONS >= QRY_MAX_EXPANSIONS &&
                       QRY_MAX_TYPING_EXPANSIONS >= QRY_MAX_FUZZY,
                   "kids holds every expansion (stats.c, expand_node)");
    uint32_t kids[QRY_MAX_TYPING_EXPANSIONS];
    uint32_t count = 0;
    for (uint32_t i = 0; i < slot[1]; i++) {
        uint32_t node = 0;
        /* a typo's stem earns the bonus with its closest form (stats.c, expand_node); not a
         * word being typed's completion, whose start only is near it: completions have none */
        const struct qry_sterm *st = (const struct qry_sterm *)pl->s->sterms.data + slot[0] + i;
        uint32_t bonus = is_fuzzy && !st->is_completion ? slot[0] + slot[1] + i : UINT32_MAX;
        int rc = terms_node(pl, slot[0] + i, bonus, &node);
        if (rc) {
            return rc;
        }
        if (pnode(pl, node)->type != EV_EMPTY) {
            kids[count++] = node;
        }
    }
    int rc = or_of(pl, kids, count, out);
    if (rc == SD_OK && is_fuzzy) {
        mark_typed_or(pl, *out);
    }
    return rc;
}

static int child_list(struct plan *pl, int32_t qnode, uint32_t *kids, uint32_t *count)
{
    *count = 0;
    const struct qry_node *nodes = pl->q->nodes;
    for (int32_t c = nodes[qnode].first_child; c != QRY_NONE; c = nodes[c].next_sibling) {
        if (qnode == pl->q->root && qry_is_top_filter(pl->q, c)) {
            continue; /* a conjunct of the predicate, tested beside the tree (search.c) */
        }
        if (*count == QRY_MAX_TERMS) {
            return sd_errorf(pl->err, SD_ELIMIT, "more than %d operands", QRY_MAX_TERMS);
        }
        int32_t target = nodes[c].type == QN_NOT ? nodes[c].first_child : c;
        int rc = build(pl, target, &kids[*count]);
        if (rc) {
            return rc;
        }
        if (nodes[c].type == QN_NOT) {
            kids[*count] |= 0x80000000u; /* marks an exclusion until sorted out */
        }
        (*count)++;
    }
    return SD_OK;
}

/* The idf of the word that query node c stands for (the word of a synonyms, typing or typo
 * group), or a negative number when it has none (a prefix). */
static double word_idf(struct plan *pl, int32_t c)
{
    const struct qry_node *nodes = pl->q->nodes;
    while (nodes[c].type == QN_OR && nodes[c].first_child != QRY_NONE) {
        c = nodes[c].first_child;
    }
    const struct qry_sterm *st = sterm(pl, nodes[c].term);
    return nodes[c].type == QN_WORD && st->has_idf ? st->idf : -1;
}

/* The QRY_SYN_ANY group (qry_with_any_words): an EV_OR of those of its words this segment
 * has, even one, each with its idf and its bit in qry_hit.any_words (s->any_w, any_bit), and
 * the idf of all of them (any_total). A prefix weighs as the words' mean. */
static int any_node(struct plan *pl, int32_t qnode, uint32_t *out)
{
    uint32_t kids[QRY_MAX_TERMS];
    uint32_t count;
    int rc = child_list(pl, qnode, kids, &count);
    if (rc) {
        return rc;
    }
    struct qry_scratch *s = pl->s;
    double w[QRY_MAX_TERMS];
    double sum = 0;
    uint32_t nwords = 0;
    int32_t c = pl->q->nodes[qnode].first_child;
    for (uint32_t i = 0; i < count; i++, c = pl->q->nodes[c].next_sibling) {
        w[i] = word_idf(pl, c);
        sum += w[i] > 0 ? w[i] : 0;
        nwords += w[i] > 0;
    }
    s->any_total = 0;
    uint32_t live = 0;
    for (uint32_t i = 0; i < count && i < 32; i++) {
        w[i] = w[i] > 0 ? w[i] : nwords ? sum / nwords : 1;
        s->any_total += w[i];
        if (pnode(pl, kids[i])->type != EV_EMPTY) {
            s->any_w[live] = w[i];
            s->any_bit[live] = (uint8_t)i;
            kids[live++] = kids[i];
        }
    }
    if (live == 0) {
        return new_node(pl, EV_EMPTY, out);
    }
    rc = new_or(pl, kids, live, out);
    if (!rc) {
        pnode(pl, *out)->is_any = true;
    }
    return rc;
}

static int or_node(struct plan *pl, int32_t qnode, uint32_t *out)
{
    uint32_t kids[QRY_MAX_TERMS];
    uint32_t count;
    int rc = child_list(pl, qnode, kids, &count);
    if (rc) {
        return rc;
    }
    if (pl->q->nodes[qnode].syn_role == QRY_SYN_TYPING && count > 0) {
        pl->typing_word = kids[0]; /* the word, before its completions (parse_simple.c) */
    }
    uint32_t live = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (pnode(pl, kids[i])->type != EV_EMPTY) {
            kids[live++] = kids[i];
        }
    }
    rc = or_of(pl, kids, live, out);
    if (rc == SD_OK && qry_is_typo_pair(pl->q, qnode)) {
        mark_typed_or(pl, *out);
    }
    int32_t first = pl->q->nodes[qnode].first_child;
    bool has_synonyms = first != QRY_NONE && pl->q->nodes[first].syn_role == QRY_SYN_GROUP;
    if (rc == SD_OK && pl->q->nodes[qnode].syn_role == QRY_SYN_TYPING && !has_synonyms &&
        (qry_typing_is_whole(pl->s, pl->q, qnode) || qry_is_typo_word(pl->q, qnode))) {
        /* its bonus is its word's, or in a typo reading its near forms' (typed_parts:
         * completions have none), so an AND gives its bonus only to documents with this word
         * as typed (or its closest form) too, as for the word typed with a space after it;
         * also where this segment lacks the word and the OR is only them. A word with
         * synonyms keeps its own bonus, as it does with a space after it (eval.c) */
        pnode(pl, *out)->is_typed = true;
    }
    return rc;
}

/* Splits kids into positives (sorted by cost) then non-empty exclusions. */
static bool and_order(struct plan *pl, uint32_t *kids, uint32_t count, uint32_t *npos,
                      uint32_t *nneg)
{
    uint32_t neg[QRY_MAX_TERMS];
    *npos = 0;
    *nneg = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = kids[i] & 0x7FFFFFFFu;
        bool is_empty = pnode(pl, k)->type == EV_EMPTY;
        if (kids[i] & 0x80000000u) {
            if (!is_empty) {
                neg[(*nneg)++] = k;
            }
            continue;
        }
        if (is_empty) {
            return false;
        }
        uint32_t j = (*npos)++;
        while (j > 0 && pnode(pl, kids[j - 1])->cost > pnode(pl, k)->cost) {
            kids[j] = kids[j - 1];
            j--;
        }
        kids[j] = k;
    }
    memcpy(kids + *npos, neg, *nneg * sizeof *neg);
    return true;
}

static bool has_positive(const uint32_t *kids, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (!(kids[i] & 0x80000000u)) {
            return true;
        }
    }
    return false;
}

/* EV_ALL: every document of the segment, in order. */
static int all_node(struct plan *pl, uint32_t *out)
{
    int rc = new_node(pl, EV_ALL, out);
    if (!rc) {
        pnode(pl, *out)->cost = seg_doc_count(pl->seg);
        position(pl, *out);
    }
    return rc;
}

/* EV_FILTER over query node qnode's clauses; it costs a scan, so an AND leads with others. */
static int filter_node(struct plan *pl, int32_t qnode, uint32_t *out)
{
    int rc = new_node(pl, EV_FILTER, out);
    if (!rc) {
        pnode(pl, *out)->first = (uint32_t)qnode;
        pnode(pl, *out)->cost = (uint64_t)seg_doc_count(pl->seg) + 1;
        position(pl, *out);
    }
    return rc;
}

/* The index in posts of EV_TERMS node n's exact-form bonus posting in local field f (opened
 * with positions when the search has a proximity weight), or UINT32_MAX. */
static uint32_t typed_post(struct plan *pl, const struct ev_node *n, unsigned f)
{
    const struct ev_post *posts = pl->s->posts.data;
    for (uint32_t i = 0; n->type == EV_TERMS && i < n->extra_count; i++) {
        if (posts[n->extra_first + i].field == f) {
            return n->extra_first + i;
        }
    }
    return UINT32_MAX;
}

/* Appends post index i to the proximity forms. */
static int push_form(struct plan *pl, uint32_t i)
{
    uint32_t *slot = qry_vec_push(&pl->s->prox_posts, sizeof *slot);
    if (!slot) {
        return sd_errorf(pl->err, SD_ENOMEM, "query plan");
    }
    *slot = i;
    return SD_OK;
}

/* Opens the exact forms (with positions) of query word qn in every field of its scope that
 * scores (weight > 0) and has its stem, as the proximity word w (prox.c chooses the forms).
 * A field where the typed form holds every occurrence of the stem (their total_tf: each
 * token counts for both) has no other form to look for. The typed form is the word's
 * exact-form bonus posting when it has one there (w->terms, the word's EV_TERMS node): one
 * iterator, advanced and decoded once per document. */
static int prox_word(struct plan *pl, const struct qry_node *qn, struct ev_prox_word *w)
{
    unsigned fields[SEG_MAX_SEG_FIELDS];
    struct seg_term forms[QRY_PROX_FORMS];
    const struct qry_sterm *st = sterm(pl, qn->term);
    size_t nf = qry_scope_fields(pl->s, pl->seg_index, pl->seg, st->scope, fields);
    w->first = (uint32_t)pl->s->prox_posts.count;
    w->count = 0;
    w->idf = st->idf;
    for (size_t i = 0; i < nf; i++) {
        const struct seg_term *stem = find_term(pl, qn->term, fields[i]);
        if (!stem || !(gfield(pl, fields[i])->weight > 0)) {
            continue;
        }
        const struct seg_term *typed = find_term(pl, qn->term + 1, fields[i]);
        uint32_t shared = typed ? typed_post(pl, pnode(pl, w->terms), fields[i]) : UINT32_MAX;
        size_t count = 0;
        int rc = shared == UINT32_MAX ? SD_OK : push_form(pl, shared);
        w->count += !rc && shared != UINT32_MAX;
        if (!rc && typed && typed->total_tf == stem->total_tf) {
            forms[count++] = *typed;
        } else if (!rc) {
            rc = qry_prox_forms(pl->s->stem, pl->seg, fields[i], qry_sterm_str(pl->s, pl->q, st),
                                st->len, typed, forms, &count, pl->err);
        }
        for (size_t k = shared == UINT32_MAX ? 0 : 1; !rc && k < count; k++) {
            uint32_t at = (uint32_t)pl->s->posts.count;
            rc = open_post(pl, &forms[k], st, fields[i], SEG_WANT_POSITIONS, true);
            rc = rc ? rc : push_form(pl, at);
            w->count += !rc;
        }
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

/* Whether query words a and b have the same stem: "slides slide" is one word said twice, not
 * two that may stand together. */
static bool same_stem(struct plan *pl, const struct qry_node *a, const struct qry_node *b)
{
    const struct qry_sterm *x = sterm(pl, a->term);
    const struct qry_sterm *y = sterm(pl, b->term);
    return x->len == y->len &&
           memcmp(qry_sterm_str(pl->s, pl->q, x), qry_sterm_str(pl->s, pl->q, y), x->len) == 0;
}

/* The typed words among query node qnode's positive children, in query order (a word with
 * the stem of the one before left out), at most QRY_PROX_MAX_WORDS, into words, and their
 * EV_TERMS nodes into nodes; built holds the nodes child_list() built, in child order. The
 * word being typed counts with its word (when this segment has it), not its completions: a
 * document where only a completion stands there has no occurrence of the word (prox.c).
 * Returns how many. */
static uint32_t prox_words_of(struct plan *pl, int32_t qnode, const uint32_t *built,
                              const struct qry_node **words, uint32_t *nodes)
{
    const struct qry_node *qn = pl->q->nodes;
    uint32_t n = 0;
    uint32_t k = 0;
    for (int32_t c = qn[qnode].first_child; c != QRY_NONE && n < QRY_PROX_MAX_WORDS;
         c = qn[c].next_sibling) {
        if (qnode == pl->q->root && qry_is_top_filter(pl->q, c)) {
            continue; /* child_list() built nothing for it */
        }
        uint32_t node = built[k++];
        int32_t w = c;
        if (qn[c].type == QN_OR && qn[c].syn_role == QRY_SYN_TYPING) {
            w = qn[c].first_child;
            node = pl->typing_word;
            if (pnode(pl, node)->type != EV_TERMS) {
                continue; /* the word half typed: no document has it here */
            }
        }
        if (qry_is_typed_word(&qn[w]) && !(n > 0 && same_stem(pl, words[n - 1], &qn[w]))) {
            words[n] = &qn[w];
            nodes[n++] = node;
        }
    }
    return n;
}

/* Gives AND node `node` (built from query node qnode, its children `built` as child_list()
 * made them) its proximity bonus when it has two typed words or more and the search scores
 * with a proximity weight. */
static int prox_node(struct plan *pl, int32_t qnode, const uint32_t *built, uint32_t node)
{
    const struct qry_node *words[QRY_PROX_MAX_WORDS];
    uint32_t nodes[QRY_PROX_MAX_WORDS];
    uint32_t nwords = pl->proximity > 0 ? prox_words_of(pl, qnode, built, words, nodes) : 0;
    if (nwords < 2 || pl->s->prox.count >= UINT8_MAX) { /* (ev_node.prox's range) */
        return SD_OK;
    }
    struct qry_scratch *s = pl->s;
    struct ev_prox px = {
        .first_word = (uint32_t)s->prox_words.count, .nwords = nwords, .weight = pl->proximity};
    for (uint32_t i = 0; i < nwords; i++) {
        struct ev_prox_word *w = qry_vec_push(&s->prox_words, sizeof *w);
        if (!w) {
            return sd_errorf(pl->err, SD_ENOMEM, "query plan");
        }
        w->terms = nodes[i];
        int rc = prox_word(pl, words[i], w);
        if (rc) {
            return rc;
        }
    }
    px.bound = qry_prox_bound(&px, s->prox_words.data);
    if (!(px.bound > 0)) {
        return SD_OK; /* no two neighbouring words have forms here: no bonus to give */
    }
    struct ev_prox *slot = qry_vec_push(&s->prox, sizeof *slot);
    if (!slot) {
        return sd_errorf(pl->err, SD_ENOMEM, "query plan");
    }
    *slot = px;
    pnode(pl, node)->prox = (uint8_t)s->prox.count;
    return SD_OK;
}

static int and_node(struct plan *pl, int32_t qnode, uint32_t *out)
{
    uint32_t kids[QRY_MAX_TERMS + 1]; /* + EV_ALL */
    uint32_t count;
    uint32_t npos;
    uint32_t nneg;
    uint32_t built[QRY_MAX_TERMS]; /* kids as child_list() made them, for prox_node() */
    int rc = child_list(pl, qnode, kids, &count);
    if (rc) {
        return rc;
    }
    memcpy(built, kids, count * sizeof *kids);
    if (qnode == pl->q->root && !has_positive(kids, count)) {
        rc = all_node(pl, &kids[count]); /* clauses and exclusions only: browsing */
        if (rc) {
            return rc;
        }
        count++;
    }
    if (!and_order(pl, kids, count, &npos, &nneg) || npos == 0) {
        return new_node(pl, EV_EMPTY, out);
    }
    if (npos == 1 && nneg == 0) {
        *out = kids[0];
        return SD_OK;
    }
    uint32_t first = 0;
    rc = push_kids(pl, kids, npos + nneg, &first);
    if (!rc) {
        rc = new_node(pl, EV_AND, out);
    }
    if (rc) {
        return rc;
    }
    struct ev_node *n = pnode(pl, *out);
    n->first = first;
    n->count = npos;
    n->extra_count = nneg;
    n->cost = pnode(pl, kids[0])->cost;
    position(pl, *out);
    return prox_node(pl, qnode, built, *out);
}

static int build(struct plan *pl, int32_t qnode, uint32_t *out)
{
    const struct qry_node *qn = &pl->q->nodes[qnode];
    if (qn->is_filter) {
        return qnode == pl->q->root ? all_node(pl, out) : filter_node(pl, qnode, out);
    }
    switch (qn->type) {
    case QN_WORD:
        /* the typed form's bonus; a synonym's word has none (nothing was typed) */
        return terms_node(pl, qn->term, qn->term_count > 1 ? qn->term + 1 : UINT32_MAX, out);
    case QN_EXACT:
        return terms_node(pl, qn->term, UINT32_MAX, out);
    case QN_PREFIX:
    case QN_FUZZY:
        return prefix_node(pl, qnode, out);
    case QN_PHRASE:
        return phrase_node(pl, qn, out);
    case QN_AND:
        return and_node(pl, qnode, out);
    case QN_OR:
        return qn->syn_role == QRY_SYN_ANY ? any_node(pl, qnode, out) : or_node(pl, qnode, out);
    default:
        return sd_errorf(pl->err, SD_EINVAL, "query node %d of type %u", qnode, qn->type);
    }
}

int qry_plan_build(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                   size_t seg_index, const struct qry_params *params, bool wants_scores,
                   uint32_t *root, struct sd_error *err)
{
    struct plan pl = {.s = s,
                      .q = q,
                      .seg = segs[seg_index].seg,
                      .seg_index = seg_index,
                      .wants_scores = wants_scores,
                      .wants_bonus = wants_scores && params->exact_boost > 0,
                      .proximity = wants_scores ? params->proximity : 0,
                      .b = params->b,
                      .err = err};
    s->nodes.count = 0;
    s->posts.count = 0;
    s->kids.count = 0;
    s->prox.count = 0;
    s->prox_words.count = 0;
    s->prox_posts.count = 0;
    int rc = reserve_norms(&pl);
    if (!rc && q->root == QRY_NONE) {
        rc = all_node(&pl, root); /* qry_search runs a query without words only when is_all */
    } else if (!rc) {
        rc = build(&pl, q->root, root);
    }
    if (!rc && pl.rc) {
        rc = qry_plan_check(s, err);
    }
    if (!rc && pl.rc == SD_ENOMEM) { /* decoding positions needs a buffer that may grow */
        rc = sd_errorf(err, SD_ENOMEM, "positions of segment %zu: out of memory", seg_index);
    } else if (!rc && pl.rc) {
        rc = sd_errorf(err, SD_ECORRUPT, "positions of segment %zu", seg_index);
    }
    return rc;
}

void qry_plan_free(struct qry_scratch *s)
{
    struct ev_post *p = s->posts.data;
    for (size_t i = 0; i < s->posts.count; i++) {
        seg_postings_free(p[i].it);
    }
    s->posts.count = 0;
}

int qry_plan_check(struct qry_scratch *s, struct sd_error *err)
{
    struct ev_post *p = s->posts.data;
    for (size_t i = 0; i < s->posts.count; i++) {
        int rc = seg_postings_error(p[i].it, err);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}
