/*
 * stats.c: what a search needs to know about all segments before it scores
 * any of them (BM25 statistics are global, so a document's score does not
 * depend on which segment it sits in).
 *
 *   fields   one table of field names over all segments: summed token counts
 *            and document counts give avglen(f); the query's weights are
 *            resolved by name once.
 *   N        all documents, deleted included (as Lucene does: tombstones are
 *            not worth a postings walk to subtract).
 *   df       per term and field, summed over segments. BM25F wants one df per
 *            term across the fields it is searched in; the dictionary only has
 *            per-field counts, so we take the largest one. It is a lower bound
 *            of the true union (title words nearly always recur in the body,
 *            so it is usually close) and, unlike the sum, it never counts a
 *            document twice.
 *   found    the dictionary entry of every term in every segment and field
 *            of its scope, looked up once here for df and kept (scratch.found)
 *            for plan.c to open postings from. The words' stems come first:
 *            when a word the query needs is in no segment (a typo, the wrong
 *            layout), nothing else is expanded or looked up, and qry_search
 *            answers "no match" without a plan (is_unmatchable).
 *   prefixes expanded here, once for all segments: the candidates of every
 *            segment and field are merged, their df summed, and the
 *            QRY_MAX_EXPANSIONS most frequent kept (ties in byte order), so
 *            every segment searches the same terms. The completions of the
 *            word being typed (QRY_SYN_TYPING) leave out the word's own
 *            inflections (drop_inflections) and score at QRY_COMPLETION_WEIGHT.
 *   typos    QN_FUZZY leaves the same way: the exact-form dictionaries are
 *            walked with the typed form's Levenshtein automaton (lev.c,
 *            qry_lev_walk over the exact forms in memory, seg_exact_terms),
 *            which skips every stretch it cannot match instead of
 *            reading every term, and each form found stands for its stem
 *            (so the corrected word matches in every inflection, and a
 *            short stem never matches loosely); the fewest edits first, then
 *            the most frequent, QRY_MAX_FUZZY stems kept, and only those as close
 *            as the closest (closest_only). Their idf is scaled by
 *            QRY_FUZZY_WEIGHT, so a typo match adds well under an exact one
 *            and the block-max bounds, built from the same idf, stay exact.
 *            Each stem also keeps its form closest to what was typed (then the
 *            most frequent), which earns the exact-form bonus the way a typed
 *            form does: a typo in a word's stem is one edit from the form
 *            meant and further from its other inflections, so the document
 *            that says "параметром" outranks those that say "параметры" for
 *            "парамтером", as it would for the query typed right.
 *            Only words whose stem no document has are walked, and first under
 *            their typed first letters only (walk_fuzzy): on corpus-large that
 *            made the typo reading about 5x cheaper at the median. The word
 *            being typed (a QN_FUZZY marked QRY_SYN_TYPING, typo.c) is walked
 *            as a prefix (qry_lev_walk_prefix): its forms are those that start
 *            within its edits, at the distance of their closest start.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

struct qry_cand {
    size_t off; /* into scratch.pool */
    size_t len;
    uint64_t df;
    unsigned dist;   /* typo expansions: edits from the typed form (0 for prefixes) */
    bool is_partial; /* ... of the word being typed: only a start of every form is within dist */
    const char *str; /* set once the pool stops growing */
    uint32_t entry;      /* prefix expansions: 1 + its first qry_cand_entry (0: none) */
    uint32_t entry_last; /* ... and 1 + its last */
    size_t form_off; /* typo expansions: the stem's form `dist` edits away (pool) */
    size_t form_len;
    uint64_t form_df;
};

const char *qry_sterm_str(const struct qry_scratch *s, const struct qry *q,
                          const struct qry_sterm *t)
{
    return t->is_expansion ? (const char *)s->pool.data + t->str_off : q->strings + t->str_off;
}

static double field_weight(const struct qry_params *params, const char *name)
{
    for (size_t i = 0; i < params->nweights; i++) {
        if (params->weights[i].field && strcmp(params->weights[i].field, name) == 0) {
            return params->weights[i].weight;
        }
    }
    return strcmp(name, "title") == 0 ? 2.0 : params->default_weight;
}

static int find_gfield(const struct qry_scratch *s, const char *name)
{
    const struct qry_gfield *g = s->gfields.data;
    for (size_t i = 0; i < s->gfields.count; i++) {
        if (strcmp(g[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int add_segment_fields(struct qry_scratch *s, const struct seg *seg)
{
    unsigned count = seg_field_count(seg);
    for (unsigned f = 0; f < count; f++) {
        const char *name = seg_field_name(seg, f);
        int g = find_gfield(s, name);
        if (g < 0) {
            struct qry_gfield *ng = qry_vec_push(&s->gfields, sizeof *ng);
            if (!ng) {
                return SD_ENOMEM;
            }
            memset(ng, 0, sizeof *ng);
            ng->name = name;
            g = (int)(s->gfields.count - 1);
        }
        uint64_t total_len;
        uint32_t docs;
        seg_field_stats(seg, f, &total_len, &docs);
        struct qry_gfield *gf = (struct qry_gfield *)s->gfields.data + g;
        gf->total_len += total_len;
        gf->docs += docs;
        int32_t *slot = qry_vec_push(&s->field_map, sizeof *slot);
        if (!slot) {
            return SD_ENOMEM;
        }
        *slot = g;
    }
    return SD_OK;
}

static int build_fields(struct qry_scratch *s, const struct qry_segment *segs, size_t nsegs,
                        const struct qry_params *params, struct qry_stats *st)
{
    s->gfields.count = 0;
    s->field_map.count = 0;
    s->map_off.count = 0;
    st->n = 0;
    for (size_t i = 0; i < nsegs; i++) {
        size_t *off = qry_vec_push(&s->map_off, sizeof *off);
        if (!off) {
            return SD_ENOMEM;
        }
        *off = s->field_map.count;
        st->n += seg_doc_count(segs[i].seg);
        int rc = add_segment_fields(s, segs[i].seg);
        if (rc) {
            return rc;
        }
    }
    struct qry_gfield *g = s->gfields.data;
    for (size_t i = 0; i < s->gfields.count; i++) {
        g[i].avglen = g[i].docs && g[i].total_len ? (double)g[i].total_len / (double)g[i].docs : 1;
        g[i].weight = field_weight(params, g[i].name);
    }
    return SD_OK;
}

static int map_scopes(struct qry_scratch *s, const struct qry *q, struct sd_error *err)
{
    s->scope.count = 0;
    if (qry_vec_reserve(&s->scope, q->field_count, sizeof(int32_t))) {
        return sd_errorf(err, SD_ENOMEM, "query scratch");
    }
    int32_t *scope = s->scope.data;
    for (size_t i = 0; i < q->field_count; i++) {
        const char *name = qry_field_name(q, i);
        int g = find_gfield(s, name);
        if (g < 0 && strcmp(name, "title") != 0 && strcmp(name, "body") != 0) {
            return sd_errorf(err, SD_EINVAL, "unknown field '%s'", name);
        }
        scope[i] = g < 0 ? QRY_SCOPE_NONE : g;
    }
    s->scope.count = q->field_count;
    return SD_OK;
}

static int init_sterms(struct qry_scratch *s, const struct qry *q)
{
    s->sterms.count = 0;
    if (qry_vec_reserve(&s->sterms, q->term_count, sizeof(struct qry_sterm))) {
        return SD_ENOMEM;
    }
    struct qry_sterm *st = s->sterms.data;
    for (size_t i = 0; i < q->term_count; i++) {
        const struct qry_term *t = &q->terms[i];
        st[i] = (struct qry_sterm){.str_off = t->str_off,
                                   .len = t->len,
                                   .kind = t->kind,
                                   .scope = QRY_ALL_FIELDS,
                                   .rel_pos = t->rel_pos};
    }
    s->sterms.count = q->term_count;
    const int32_t *scope = s->scope.data;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        bool is_leaf = n->type >= QN_WORD;
        for (uint32_t k = 0; is_leaf && n->field != QRY_ALL_FIELDS && k < n->term_count; k++) {
            st[n->term + k].scope = scope[n->field];
        }
        if (n->type == QN_WORD && n->term_count == 2) { /* its stem, then its exact form */
            st[n->term + 1].word_stem = (uint32_t)n->term + 1;
        }
    }
    return SD_OK;
}

/* Local fields of segment seg_index that scope covers, into out[SEG_MAX_SEG_FIELDS]. */
size_t qry_scope_fields(const struct qry_scratch *s, size_t seg_index, const struct seg *seg,
                        int32_t scope, unsigned *out)
{
    if (scope == QRY_SCOPE_NONE) {
        return 0;
    }
    size_t first = ((const size_t *)s->map_off.data)[seg_index];
    const int32_t *map = qry_vec_at(&s->field_map, sizeof *map, first); /* NULL: no fields */
    unsigned count = seg_field_count(seg);
    size_t n = 0;
    for (unsigned f = 0; f < count && n < SEG_MAX_SEG_FIELDS; f++) {
        if (scope == QRY_ALL_FIELDS || map[f] == scope) {
            out[n++] = f;
        }
    }
    return n;
}

struct expand_walk {
    struct qry_scratch *s;
    bool is_oom;
    bool wants_entries; /* a prefix: keep each term's dictionary entry (qry_cand_entry) */
    uint32_t seg;       /* ... of this segment and field */
    uint32_t field;
};

/* Copies str[0, len) and a NUL into the pool; *off is where. */
static int pool_put(struct qry_scratch *s, const char *str, size_t len, size_t *off)
{
    *off = s->pool.count;
    if (qry_vec_reserve(&s->pool, *off + len + 1, 1)) {
        return SD_ENOMEM;
    }
    memcpy((char *)s->pool.data + *off, str, len);
    ((char *)s->pool.data)[*off + len] = '\0';
    s->pool.count += len + 1;
    return SD_OK;
}

static int collect_cand(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct expand_walk *w = arg;
    struct qry_scratch *s = w->s;
    size_t off;
    struct qry_cand *c = qry_vec_push(&s->cand, sizeof *c);
    if (!c || pool_put(s, term, len, &off)) {
        w->is_oom = true;
        return 1;
    }
    *c = (struct qry_cand){.off = off, .len = len, .df = t->df};
    if (w->wants_entries) {
        struct qry_cand_entry *e = qry_vec_push(&s->cand_entries, sizeof *e);
        if (!e) {
            w->is_oom = true;
            return 1;
        }
        *e = (struct qry_cand_entry){.t = *t, .seg = w->seg, .field = w->field};
        c->entry = c->entry_last = (uint32_t)s->cand_entries.count;
    }
    return 0;
}

static int cmp_cand_str(const void *a, const void *b)
{
    const struct qry_cand *x = a;
    const struct qry_cand *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_cand_df(const void *a, const void *b)
{
    const struct qry_cand *x = a;
    const struct qry_cand *y = b;
    if (x->is_partial != y->is_partial) {
        return x->is_partial ? 1 : -1; /* a whole form within reach before a completion */
    }
    if (x->dist != y->dist) {
        return x->dist < y->dist ? -1 : 1;
    }
    if (x->df != y->df) {
        return x->df < y->df ? 1 : -1;
    }
    return cmp_cand_str(a, b);
}

/* Whether a form dist edits from what was typed (is_partial: only a start of it), in df
 * documents, is a closer reading than one of (than_partial, than_dist, than_df): whole, then
 * fewer edits, then more frequent. Both a stem's form (merge_cand) and the correction named
 * (note_best) are chosen so. */
static bool is_closer(bool is_partial, unsigned dist, uint64_t df, bool than_partial,
                      unsigned than_dist, uint64_t than_df)
{
    if (is_partial != than_partial) {
        return !is_partial;
    }
    return dist < than_dist || (dist == than_dist && df > than_df);
}

/* Whether y's form is closer to what was typed than x's (is_closer). */
static bool is_closer_form(const struct qry_cand *x, const struct qry_cand *y)
{
    return is_closer(y->is_partial, y->dist, y->form_df, x->is_partial, x->dist, x->form_df);
}

/* Merges candidate y into x, of the same stem: df summed, the closer form kept (the same
 * form twice, from two segments, sums its df). */
static void merge_cand(const struct qry_scratch *s, struct qry_cand *x, const struct qry_cand *y)
{
    x->df += y->df;
    if (y->entry) { /* y's entries follow x's */
        struct qry_cand_entry *e = s->cand_entries.data;
        if (x->entry) {
            e[x->entry_last - 1].next = y->entry;
        } else {
            x->entry = y->entry;
        }
        x->entry_last = y->entry_last;
    }
    const char *pool = s->pool.data;
    if (x->form_len == y->form_len &&
        memcmp(pool + x->form_off, pool + y->form_off, x->form_len) == 0) {
        x->form_df += y->form_df;
        x->dist = y->dist < x->dist ? y->dist : x->dist;
    } else if (is_closer_form(x, y)) {
        x->form_off = y->form_off;
        x->form_len = y->form_len;
        x->form_df = y->form_df;
        x->dist = y->dist;
        x->is_partial = y->is_partial; /* a stem with a whole form is whole */
    }
}

/* Sorts c[0, n) by string, with tmp (room for n) beside it. Candidates come in runs already
 * in byte order (a dictionary's terms under a prefix, per segment and field; a trie walk), so
 * the runs are merged two by two, pass after pass: n compares per pass, and as many passes as
 * the log of the runs, where a sort from scratch compared each string log n times (a word
 * and a two-letter prefix spent half its time sorting thousands of candidates; perf). */
static void sort_runs(struct qry_cand *c, size_t n, struct qry_cand *tmp)
{
    struct qry_cand *from = c;
    struct qry_cand *to = tmp;
    for (;;) {
        size_t runs = 0;
        for (size_t i = 0; i < n; runs++) {
            size_t mid = i + 1;
            while (mid < n && cmp_cand_str(&from[mid - 1], &from[mid]) <= 0) {
                mid++;
            }
            size_t end = mid < n ? mid + 1 : n;
            while (end < n && cmp_cand_str(&from[end - 1], &from[end]) <= 0) {
                end++;
            }
            size_t a = i;
            size_t b = mid;
            for (size_t o = i; o < end; o++) {
                bool is_a = b == end || (a < mid && cmp_cand_str(&from[a], &from[b]) <= 0);
                to[o] = is_a ? from[a++] : from[b++];
            }
            i = end;
        }
        struct qry_cand *t = from;
        from = to;
        to = t;
        if (runs <= 1) {
            break;
        }
    }
    if (from != c) {
        memcpy(c, from, n * sizeof *c);
    }
}

/* Sorts the candidates by string and merges duplicates (merge_cand: the same term in another
 * segment or field); returns how many are left. SD_ENOMEM leaves them unsorted: 0. */
static size_t merge_cands(struct qry_scratch *s, int *rc)
{
    size_t n = s->cand.count;
    *rc = SD_OK;
    if (n == 0) {
        return 0; /* a prefix nothing starts with: cand may have no storage yet */
    }
    if (qry_vec_reserve(&s->cand_tmp, n, sizeof(struct qry_cand))) {
        *rc = SD_ENOMEM;
        return 0;
    }
    struct qry_cand *c = s->cand.data;
    for (size_t i = 0; i < n; i++) {
        c[i].str = (const char *)s->pool.data + c[i].off;
    }
    sort_runs(c, n, s->cand_tmp.data);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && cmp_cand_str(&c[out - 1], &c[i]) == 0) {
            merge_cand(s, &c[out - 1], &c[i]);
        } else {
            c[out++] = c[i];
        }
    }
    return out;
}

static void swap_cand(struct qry_cand *a, struct qry_cand *b)
{
    struct qry_cand t = *a;
    *a = *b;
    *b = t;
}

/* Moves the `max` first of c[0, n) in cmp_cand_df order (closest, then most frequent) to the
 * front, in that order; returns how many. Quickselect first: the rest (thousands, for a short
 * prefix) is only partitioned, not sorted. cmp_cand_df is a total order over merged
 * candidates (it ends with the string), so the result is that of a full sort. */
static size_t best_cands(struct qry_cand *c, size_t n, size_t max)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < max && max < hi && hi - lo > 1) { /* the boundary lies inside [lo, hi) */
        swap_cand(&c[lo + (hi - lo) / 2], &c[hi - 1]); /* the middle one as pivot, at the end */
        size_t store = lo;
        for (size_t i = lo; i + 1 < hi; i++) {
            if (cmp_cand_df(&c[i], &c[hi - 1]) < 0) {
                swap_cand(&c[i], &c[store++]);
            }
        }
        swap_cand(&c[store], &c[hi - 1]); /* c[lo, store) before the pivot, the rest after */
        if (store == max || store + 1 == max) {
            break;
        }
        if (store > max) {
            hi = store;
        } else {
            lo = store + 1;
        }
    }
    size_t keep = n < max ? n : max;
    if (keep > 1) { /* none: c may be NULL (no candidate was ever stored) */
        qsort(c, keep, sizeof *c, cmp_cand_df);
    }
    return keep;
}

/* Of typo candidates c[0, n) (best_cands' order: whole forms, then those of the word being
 * typed that only start within reach; each the fewest edits first), those as close as the
 * first of their kind, moved to the front; returns how many. When some form is one edit from
 * what was typed, the forms two edits away are worse readings of it, and searching them
 * costs their lookups and postings (on the known-item sets, keeping them lowered typo MRR@10
 * by 0.003-0.008 and cost a typo search 3-4% more instructions). */
static size_t closest_only(struct qry_cand *c, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool is_first = i == 0 || c[i].is_partial != c[i - 1].is_partial;
        if (is_first || (kept > 0 && c[i].dist == c[kept - 1].dist &&
                         c[i].is_partial == c[kept - 1].is_partial)) {
            c[kept++] = c[i];
        }
    }
    return kept;
}

static int walk_prefix(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                       size_t nsegs, const struct qry_sterm *pt, struct sd_error *err)
{
    struct expand_walk w = {.s = s, .wants_entries = true};
    unsigned fields[SEG_MAX_SEG_FIELDS];
    const char *prefix = q->strings + pt->str_off;
    for (size_t i = 0; i < nsegs; i++) {
        size_t nf = qry_scope_fields(s, i, segs[i].seg, pt->scope, fields);
        for (size_t k = 0; k < nf; k++) {
            w.seg = (uint32_t)i;
            w.field = fields[k];
            int rc = seg_term_prefix(segs[i].seg, fields[k], SEG_EXACT, prefix, pt->len,
                                     collect_cand, &w, err);
            if (w.is_oom) {
                return sd_errorf(err, SD_ENOMEM, "prefix expansion");
            }
            if (rc) {
                return rc;
            }
        }
    }
    return SD_OK;
}

struct fuzzy_walk {
    struct expand_walk w;
    struct qry_lev lev;
    struct qry_lev whole; /* prefix mode: lev's word and k, fed each form whole */
    const char *self; /* the word's own stem: matched by the word itself, not a typo */
    size_t self_len;
    size_t node; /* its slot in scratch.typo_best */
    bool is_prefix_mode; /* the word being typed: forms that start within reach count too */
};

/* Keeps the closest form (is_closer) in the node's typo_best (for did_you_mean). */
static int note_best(struct fuzzy_walk *fw, const char *term, size_t len, unsigned dist,
                     bool is_partial, uint64_t df)
{
    struct qry_scratch *s = fw->w.s;
    struct qry_typo_best *b = (struct qry_typo_best *)s->typo_best.data + fw->node;
    if (dist == 0) {
        b->self_df += df;
        return SD_OK;
    }
    if (b->len == len && memcmp((const char *)s->pool.data + b->off, term, len) == 0) {
        b->df += df; /* the same form in another field or segment */
        return SD_OK;
    }
    if (b->len && !is_closer(is_partial, dist, df, b->is_partial, b->dist, b->df)) {
        return SD_OK;
    }
    size_t off;
    if (pool_put(s, term, len, &off)) {
        return SD_ENOMEM;
    }
    b = (struct qry_typo_best *)s->typo_best.data + fw->node; /* the pool is another vector */
    *b = (struct qry_typo_best){.off = off,
                                .len = len,
                                .dist = dist,
                                .is_partial = is_partial,
                                .df = df,
                                .self_df = b->self_df};
    return SD_OK;
}

/* A typo candidate is a form some document has within reach of the typed form; what the query
 * searches is its stem, so every inflection of the corrected word is found. */
static int fuzzy_term(void *arg, const char *term, size_t len, unsigned dist, uint32_t df)
{
    struct fuzzy_walk *fw = arg;
    bool is_partial = false;
    if (fw->is_prefix_mode && dist > 0) {
        unsigned whole_dist;
        char seek[STEM_MAX_TOKEN + 1];
        size_t seek_len;
        is_partial = qry_lev_feed(&fw->whole, term, len, &whole_dist, seek, &seek_len) !=
                     QRY_LEV_MATCH;
    }
    if (note_best(fw, term, len, dist, is_partial, df)) {
        return SD_ENOMEM;
    }
    const char *stem;
    size_t stem_len;
    if (dist == 0 || stem_word(fw->w.s->stem, term, len, &stem, &stem_len) != STEM_OK ||
        (stem_len == fw->self_len && memcmp(stem, fw->self, stem_len) == 0)) {
        return SD_OK; /* the word itself, or one of its own inflections */
    }
    struct qry_scratch *s = fw->w.s;
    size_t first = s->cand.count;
    const struct seg_term t = {.df = df};
    size_t form_off;
    if (collect_cand(&fw->w, stem, stem_len, &t) || pool_put(s, term, len, &form_off)) {
        return SD_ENOMEM;
    }
    struct qry_cand *c = (struct qry_cand *)s->cand.data + first;
    c->dist = dist;
    c->is_partial = is_partial;
    c->form_off = form_off;
    c->form_len = len;
    c->form_df = df;
    return SD_OK;
}

/* fw's automata for the typed form[0, len) within k edits. SD_OK or SD_ELIMIT (too long). */
static int fuzzy_walk_init(struct fuzzy_walk *fw, const char *form, size_t len, unsigned k)
{
    int rc = qry_lev_init(&fw->lev, form, len, k);
    return rc == SD_OK && fw->is_prefix_mode ? qry_lev_init(&fw->whole, form, len, k) : rc;
}

/* Walks every segment of the scope with fw's automaton, over the exact forms of its fields in
 * scope that start with prefix[0, prefix_len) (all of them when prefix_len is 0), in memory
 * (seg_exact_terms: built by a segment's first typo walk); a form that several fields have is
 * reported once, with their df summed (as merge_cands and note_best would sum them). */
static int walk_scope(struct qry_scratch *s, const struct qry_segment *segs, size_t nsegs,
                      int32_t scope, const char *prefix, size_t prefix_len, struct fuzzy_walk *fw,
                      struct sd_error *err)
{
    unsigned fields[SEG_MAX_SEG_FIELDS];
    int rc = SD_OK;
    for (size_t i = 0; rc == SD_OK && i < nsegs; i++) {
        size_t nf = qry_scope_fields(s, i, segs[i].seg, scope, fields);
        const struct seg_exact_terms *t = NULL;
        rc = nf ? seg_exact_terms(segs[i].seg, &t, err) : SD_OK;
        if (rc == SD_OK && nf) { /* one walk for all the fields: a form in two is read once */
            rc = fw->is_prefix_mode ? qry_lev_walk_prefix(&fw->lev, t, fields, nf, prefix,
                                                          prefix_len, fuzzy_term, fw)
                                    : qry_lev_walk(&fw->lev, t, fields, nf, prefix, prefix_len,
                                                   fuzzy_term, fw);
        }
        seg_exact_terms_release(segs[i].seg, t); /* a build the memory limit did not keep */
    }
    return rc;
}

/* Whether some segment and field of the scope has the stem pt: a word that some document has
 * is no typo, and its near misses would only add noise to the reading of the ones that are. */
static int find_known(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                      size_t nsegs, const struct qry_sterm *pt, bool *is_known,
                      struct sd_error *err)
{
    unsigned fields[SEG_MAX_SEG_FIELDS];
    const char *stem = q->strings + pt->str_off;
    *is_known = false;
    for (size_t i = 0; i < nsegs && !*is_known; i++) {
        size_t nf = qry_scope_fields(s, i, segs[i].seg, pt->scope, fields);
        for (size_t f = 0; f < nf && !*is_known; f++) {
            struct seg_term t;
            int rc = qry_memo_find(s, segs[i].seg, fields[f], pt->kind, stem, pt->len, &t, err);
            if (rc != SD_OK && rc != SD_ENOTFOUND) {
                return rc;
            }
            *is_known = rc == SD_OK;
        }
    }
    return SD_OK;
}

/* Candidates of QN_FUZZY node `node` (pt: its stem) in every segment and field of its scope:
 * the exact-form dictionaries walked with the automaton of the typed form, in two steps.
 * Most typos are one edit, and people rarely mistype a word's first letter (the automaton
 * already charges double for it), so the narrow walk allows one edit and reads only the terms
 * under the typed first letter: a small subtree of the dictionary, read with the cheapest
 * automaton. Only when it finds no form one edit away (for the word being typed: none that is
 * within one edit whole, not only by its start) is the whole dictionary walked, with
 * every edit the word's length allows (a typo in the first letters, or forms two edits away,
 * which closest_only would have dropped beside a form one edit away). On corpus-large's typo
 * sets, walking under the first two letters with two edits first cost 2.5x the instructions of
 * this narrow walk, for forms two edits away that closest_only then dropped (408 of 448 such
 * walks, en). A word whose stem some document has gets no candidates at all, unless the node
 * is_for_known; nor does a word being typed that starts some document's word (the narrow walk
 * reports those at distance 0), which its completions already find. */
static int walk_fuzzy(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                      size_t nsegs, size_t node, const struct qry_sterm *pt, struct sd_error *err)
{
    const struct qry_node *n = &q->nodes[node];
    const struct qry_term *typed = &q->terms[n->term + 1];
    const char *form = qry_term_str(q, typed);
    unsigned k = qry_lev_max_edits(form, typed->len);
    bool is_known = pt->has_idf && pt->df > 0; /* the word's own stem: looked up already */
    int rc = k && !pt->has_idf ? find_known(s, q, segs, nsegs, pt, &is_known, err) : SD_OK;
    if (rc || k == 0 || (is_known && !n->is_for_known)) {
        return rc;
    }
    struct fuzzy_walk *fw = malloc(sizeof *fw); /* 6 KB: kept off the worker's stack */
    if (!fw) {
        return sd_errorf(err, SD_ENOMEM, "typo expansion");
    }
    fw->w = (struct expand_walk){.s = s};
    fw->self = q->strings + pt->str_off;
    fw->self_len = pt->len;
    fw->node = node;
    fw->is_prefix_mode = n->syn_role == QRY_SYN_TYPING;
    size_t fixed = qry_lev_prefix_len(form, typed->len, 1); /* the first letter */
    rc = fuzzy_walk_init(fw, form, typed->len, 1);
    if (rc == SD_OK) {
        rc = walk_scope(s, segs, nsegs, pt->scope, form, fixed, fw, err);
    }
    struct qry_typo_best *best = (struct qry_typo_best *)s->typo_best.data + node;
    if (rc == SD_OK && fw->is_prefix_mode && best->self_df > 0 && !n->is_for_known) {
        s->cand.count = 0; /* the word being typed starts some document's word: it is no typo */
    } else if (rc == SD_OK && (best->len == 0 || best->is_partial)) {
        /* no form one edit away, as a whole: the wide walk finds again what this one did */
        memset(best, 0, sizeof *best);
        s->cand.count = 0;
        rc = fuzzy_walk_init(fw, form, typed->len, k);
        if (rc == SD_OK) {
            rc = walk_scope(s, segs, nsegs, pt->scope, "", 0, fw, err);
        }
    }
    free(fw);
    if (rc == SD_ELIMIT) {
        return SD_OK; /* too long for typos: no candidates */
    }
    return rc == SD_ENOMEM ? sd_errorf(err, rc, "typo expansion") : rc;
}

/* The QRY_SYN_TYPING group whose completions prefix leaf `node` holds, or QRY_NONE. */
static int32_t typing_group(const struct qry *q, size_t node)
{
    return q->nodes[node].syn_role == QRY_SYN_TYPING ? qry_typing_group(q, (int32_t)node)
                                                     : QRY_NONE;
}

/* Whether typing group `group` is narrowed by the root AND: the AND has some other positive
 * operand, so the completions are only sought among its documents, and more of them cost
 * little (QRY_MAX_TYPING_EXPANSIONS). A short prefix has thousands of completions, and the
 * word the user is heading to is seldom among the most frequent 128 (bench/RESULTS.md
 * "Issue 12: searching as you type"). */
static bool is_narrowed_typing(const struct qry *q, int32_t group)
{
    const struct qry_node *qn = q->nodes;
    if (group == QRY_NONE || q->root == QRY_NONE || qn[q->root].type != QN_AND) {
        return false;
    }
    bool is_child = false;
    bool has_other = false;
    for (int32_t c = qn[q->root].first_child; c != QRY_NONE; c = qn[c].next_sibling) {
        is_child |= c == group;
        has_other |= c != group && qn[c].type != QN_NOT && !qn[c].is_filter;
    }
    return is_child && has_other;
}

/* The word being typed of typing group `group` whose completions prefix leaf `node` holds:
 * the group's word (qry_typing_word: the typed one of its synonym group) while that is still a
 * plain word, or in the typo reading the word of its typo pair; else NULL. */
static const struct qry_node *typing_word_of(const struct qry *q, int32_t group, size_t node)
{
    if (group == QRY_NONE) {
        return NULL;
    }
    int32_t w = qry_typing_word(q, group);
    if (w != QRY_NONE && qry_is_typo_pair(q, w)) {
        w = q->nodes[w].first_child;
    }
    const struct qry_node *n = &q->nodes[w];
    /* one term: a word with synonyms compared by its form ("ИИ", synonym.c), whose
     * inflections are that form (is_inflection) */
    bool is_word =
        n->term_count == 2 || (n->term_count == 1 && q->terms[n->term].kind == SEG_EXACT);
    return w != (int32_t)node && n->type == QN_WORD && is_word ? n : NULL;
}

/* Whether completion c is an inflection of the word being typed: its stem is the word's (or,
 * for a word matched by its form, it is that form). The word matches those itself, in every
 * field, at its full weight; as completions they would only score again, which is an
 * exact-form bonus for whichever inflection was typed, and a whole word in other inflections
 * than the document's (the inflected known-item queries) then ranks other documents first.
 * Only completions at most QRY_PROX_SUFFIX characters past the stem are stemmed: an
 * inflection adds no more. */
static bool is_inflection(struct qry_scratch *s, const struct qry *q, const struct qry_node *word,
                          const struct qry_cand *c)
{
    const struct qry_term *t = &q->terms[word->term];
    const char *str = qry_term_str(q, t);
    if (t->kind != SEG_STEM) {
        return c->len == t->len && memcmp(c->str, str, t->len) == 0;
    }
    if (stem_utf8_chars(c->str, c->len) > stem_utf8_chars(str, t->len) + QRY_PROX_SUFFIX) {
        return false;
    }
    const char *stem = NULL;
    size_t stem_len = 0;
    return stem_word(s->stem, c->str, c->len, &stem, &stem_len) == STEM_OK &&
           stem_len == t->len && memcmp(stem, str, t->len) == 0;
}

/* Of candidates [0, n), those that are not inflections of word, moved to the front in their
 * order; returns how many. */
static size_t drop_inflections(struct qry_scratch *s, const struct qry *q,
                               const struct qry_node *word, size_t n)
{
    struct qry_cand *c = s->cand.data;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_inflection(s, q, word, &c[i])) {
            c[kept++] = c[i];
        }
    }
    return kept;
}

static int expand_node(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                       size_t nsegs, size_t node, struct sd_error *err)
{
    struct qry_sterm pt = ((struct qry_sterm *)s->sterms.data)[q->nodes[node].term];
    bool is_fuzzy = q->nodes[node].type == QN_FUZZY;
    s->cand.count = 0;
    int rc = is_fuzzy ? walk_fuzzy(s, q, segs, nsegs, node, &pt, err)
                      : walk_prefix(s, q, segs, nsegs, &pt, err);
    if (rc) {
        return rc;
    }
    int32_t group = is_fuzzy ? QRY_NONE : typing_group(q, node);
    size_t max = QRY_MAX_EXPANSIONS;
    if (is_fuzzy) {
        max = QRY_MAX_FUZZY;
    } else if (is_narrowed_typing(q, group)) {
        max = QRY_MAX_TYPING_EXPANSIONS;
    }
    const struct qry_node *word = typing_word_of(q, group, node);
    size_t keep = merge_cands(s, &rc);
    if (rc) {
        return sd_errorf(err, rc, "prefix expansion");
    }
    if (word) {
        keep = drop_inflections(s, q, word, keep);
    }
    keep = best_cands(s->cand.data, keep, max);
    if (is_fuzzy) {
        keep = closest_only(s->cand.data, keep);
    }
    uint32_t *slot = (uint32_t *)s->prefix.data + 2 * node;
    slot[0] = (uint32_t)s->sterms.count;
    slot[1] = (uint32_t)keep;
    /* a typo's stems, then their closest forms (the bonus of stem i is sterm keep + i) */
    size_t count = is_fuzzy ? 2 * keep : keep;
    if (qry_vec_reserve(&s->sterms, s->sterms.count + count, sizeof(struct qry_sterm))) {
        return sd_errorf(err, SD_ENOMEM, "prefix expansion");
    }
    const struct qry_cand *c = s->cand.data;
    struct qry_sterm *t = (struct qry_sterm *)s->sterms.data + s->sterms.count;
    for (size_t i = 0; i < count; i++) {
        bool is_form = i >= keep;
        const struct qry_cand *ci = &c[is_form ? i - keep : i];
        t[i] = (struct qry_sterm){.str_off = is_form ? ci->form_off : ci->off,
                                  .len = is_form ? ci->form_len : ci->len,
                                  .kind = is_fuzzy && !is_form ? SEG_STEM : SEG_EXACT,
                                  .is_expansion = true,
                                  .is_fuzzy = is_fuzzy,
                                  .entry = is_fuzzy ? 0 : ci->entry,
                                  .is_completion = is_fuzzy ? ci->is_partial
                                                            : q->nodes[node].syn_role ==
                                                                  QRY_SYN_TYPING,
                                  .scope = pt.scope};
    }
    s->sterms.count += count;
    return SD_OK;
}

static int expand_prefixes(struct qry_scratch *s, const struct qry *q,
                           const struct qry_segment *segs, size_t nsegs, struct sd_error *err)
{
    s->pool.count = 0;
    s->cand_entries.count = 0;
    s->prefix.count = 0;
    if (qry_vec_reserve(&s->prefix, 2 * q->node_count, sizeof(uint32_t))) {
        return sd_errorf(err, SD_ENOMEM, "prefix expansion");
    }
    memset(s->prefix.data, 0, 2 * q->node_count * sizeof(uint32_t));
    s->prefix.count = 2 * q->node_count;
    s->typo_best.count = 0;
    if (qry_vec_reserve(&s->typo_best, q->node_count, sizeof(struct qry_typo_best))) {
        return sd_errorf(err, SD_ENOMEM, "typo expansion");
    }
    memset(s->typo_best.data, 0, q->node_count * sizeof(struct qry_typo_best));
    s->typo_best.count = q->node_count;
    for (size_t i = 0; i < q->node_count; i++) {
        if (q->nodes[i].type != QN_PREFIX && q->nodes[i].type != QN_FUZZY) {
            continue;
        }
        int rc = expand_node(s, q, segs, nsegs, i, err);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

/* Whether sterm t (an exact form, str) is surely not in field f of segment i, seen without
 * reading the dictionary: the segment's exact forms in memory (built by the typo walk) lack
 * it in f. Asked of a typo's closest forms (the walk found each in some field, seldom in
 * all), and of a word's form whose stem is not there (a word no document has, as in the typo
 * reading); a form of a word that some document has is most likely there, and is looked up
 * without asking. */
static bool is_absent_form(const struct qry_scratch *s, const struct qry_sterm *t,
                           const char *str, size_t i, const struct seg *seg, unsigned f)
{
    bool is_typo_form = t->is_fuzzy && t->kind == SEG_EXACT;
    if (!is_typo_form) {
        if (t->word_stem == 0) {
            return false;
        }
        const struct qry_sterm *stem = (const struct qry_sterm *)s->sterms.data + t->word_stem - 1;
        if (!stem->has_idf || qry_found(s, t->word_stem - 1, i, f)->df != 0) {
            return false;
        }
    }
    const struct seg_exact_terms *x = seg_exact_terms_built(seg);
    return x && seg_exact_terms_df(x, f, str, t->len) == 0;
}

/* BM25's idf of a term in df of n documents, scaled as its kind wants (term_idf). */
static double kind_idf(const struct qry_sterm *t, uint64_t df, uint64_t n)
{
    double d = (double)df;
    double idf = log(1.0 + ((double)n - d + 0.5) / (d + 0.5));
    if (t->is_fuzzy) {
        idf *= QRY_FUZZY_WEIGHT;
    }
    if (t->is_completion) {
        idf *= QRY_COMPLETION_WEIGHT;
    }
    return idf;
}

/* Looks sterm `term` up in every segment and field of its scope, keeping each entry
 * found in s->found for plan.c; sets its global df (max over fields of the per-field
 * sums) and idf. A prefix's completion is not looked up: its entries are those the
 * expansion walk read (a word and a two-letter prefix looked 512 completions up again in
 * every segment and field, a dictionary block decoded each time). */
static int term_idf(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, size_t term, uint64_t n, struct sd_error *err)
{
    struct qry_sterm *t = (struct qry_sterm *)s->sterms.data + term;
    uint64_t *dfs = s->dfs.data;
    memset(dfs, 0, s->gfields.count * sizeof *dfs);
    unsigned fields[SEG_MAX_SEG_FIELDS];
    const char *str = qry_sterm_str(s, q, t);
    const struct qry_cand_entry *entries = s->cand_entries.data;
    for (uint32_t e = t->entry; e != 0; e = entries[e - 1].next) {
        /* a completion: the expansion walk read its entries */
        const struct qry_cand_entry *ce = &entries[e - 1];
        const int32_t *map =
            qry_vec_at(&s->field_map, sizeof *map, ((const size_t *)s->map_off.data)[ce->seg]);
        *qry_found(s, term, ce->seg, ce->field) = ce->t;
        dfs[map[ce->field]] += ce->t.df;
    }
    for (size_t i = 0; i < nsegs && t->entry == 0; i++) {
        const int32_t *map =
            qry_vec_at(&s->field_map, sizeof *map, ((const size_t *)s->map_off.data)[i]);
        size_t nf = qry_scope_fields(s, i, segs[i].seg, t->scope, fields);
        for (size_t k = 0; k < nf; k++) {
            struct seg_term *st = qry_found(s, term, i, fields[k]);
            if (is_absent_form(s, t, str, i, segs[i].seg, fields[k])) {
                continue; /* st stays absent */
            }
            int rc = qry_memo_find(s, segs[i].seg, fields[k], t->kind, str, t->len, st, err);
            if (rc == SD_ENOTFOUND) {
                continue; /* st stays absent (df 0, from size_found) */
            }
            if (rc) {
                return rc;
            }
            dfs[map[fields[k]]] += st->df;
        }
    }
    t->df = 0;
    for (size_t g = 0; g < s->gfields.count; g++) {
        t->df = dfs[g] > t->df ? dfs[g] : t->df;
    }
    t->idf = kind_idf(t, t->df, n);
    t->has_idf = true;
    return SD_OK;
}

/* Whether the tree under `node` may match a document, judged from the df that stats.c found
 * for its terms (max over fields and segments: 0 when no segment has the term in any field in
 * scope): a word whose stem nothing has matches nothing, nor does an AND that needs it, nor an
 * OR of such. Everything else may match, a word not looked up yet too. A reading of a query
 * with a word no document has (a typo, the wrong layout) is then answered without building a
 * plan per segment. */
static bool may_match(const struct qry *q, const struct qry_sterm *st, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    if (n->type == QN_WORD) {
        return !st[n->term].has_idf || st[n->term].df > 0;
    }
    if (n->type != QN_AND && n->type != QN_OR) {
        return true;
    }
    bool is_and = n->type == QN_AND;
    for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        if (q->nodes[c].type == QN_NOT) {
            continue; /* an exclusion never makes a match */
        }
        if (may_match(q, st, c) != is_and) {
            return !is_and;
        }
    }
    return is_and;
}

/* Sets df and idf of the words' stems (qry_search counts the unknown ones), before anything
 * else: when the query needs one that no segment has, nothing can match, and the other terms
 * (exact forms, expansions) are neither expanded nor looked up (st->is_unmatchable). The words
 * after it are, up to a second unknown one: a reading in the wrong layout has every word
 * unknown, and two say enough, while a typo beside words typed right is told by those words
 * being known (long_forms_idf, qry_result.known_long_words: then the whole text is not read
 * in the other layout), and the typo reading looks them up anyway (through the memo). The typo
 * walk reads a word's df here instead of looking its stem up again (walk_fuzzy). */
static int word_idf(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, const struct qry_params *params, struct qry_stats *st,
                    struct sd_error *err)
{
    /* (facets count what the words match with every term's entry: no shortcut there) */
    bool may_stop = q->root != QRY_NONE && !(params->facets && params->facets->n);
    int rc = SD_OK;
    unsigned unknown = 0;
    st->is_unmatchable = false;
    for (size_t i = 0; !rc && !(st->is_unmatchable && unknown >= 2) && i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        const struct qry_sterm *sterms = s->sterms.data;
        /* (only a word has terms: a filter-only query may have no sterms at all) */
        if (n->type != QN_WORD || sterms[n->term].has_idf) {
            continue;
        }
        rc = term_idf(s, q, segs, nsegs, (size_t)n->term, st->n, err);
        bool is_unknown = !rc && sterms[n->term].df == 0;
        unknown += is_unknown;
        st->is_unmatchable = st->is_unmatchable ||
                             (is_unknown && may_stop && !may_match(q, sterms, q->root));
    }
    return rc;
}

/* When nothing can match (st->is_unmatchable: the rest is not looked up), the typed forms of
 * the long words whose stems are known, for qry_result.known_long_words: a stem says too little
 * (the wrong layout's "ищьиы" stems to "ищ", as "ищи" does), a form typed as some document
 * has it is a word typed in the right layout. The typo reading that follows needs them too. */
static int long_forms_idf(struct qry_scratch *s, const struct qry *q,
                          const struct qry_segment *segs, size_t nsegs, const struct qry_stats *st,
                          struct sd_error *err)
{
    int rc = SD_OK;
    for (size_t i = 0; !rc && i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        const struct qry_sterm *sterms = s->sterms.data;
        if (qry_is_long_known_stem(q, n, sterms) && !sterms[n->term + 1].has_idf) {
            rc = term_idf(s, q, segs, nsegs, (size_t)n->term + 1, st->n, err);
        }
    }
    return rc;
}

/* Sets df and idf of every sterm the words' stems left. */
static int rest_idf(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, const struct qry_stats *st, struct sd_error *err)
{
    int rc = SD_OK;
    for (size_t i = 0; !rc && i < s->sterms.count; i++) {
        if (!((struct qry_sterm *)s->sterms.data)[i].has_idf) {
            rc = term_idf(s, q, segs, nsegs, i, st->n, err);
        }
    }
    return rc;
}

/* The weight of a near form in df documents beside the most frequent near form of the same
 * word, in max: the square root of its share. A word typed alone has nothing else to tell its
 * readings apart, and the commoner reading is the likelier one, as did_you_mean takes it
 * ("firewal": "firewall" in 74 documents, "firewalk" in 1, which its own page repeats). */
static double typo_prior(uint64_t df, uint64_t max)
{
    return sqrt((double)df / (double)max);
}

/* Sets the idf of sterms t[0, count) (the near forms of one typed word, or their closest
 * forms) from the df of the most frequent of them, as Lucene's blended fuzzy rewrite does:
 * they are readings of one word, and with each its own idf the rarest weighed most ("pyton":
 * a page with "pton" outranked every one with "python"). With is_alone (the query's only
 * word) each also weighs by its share of that df (typo_prior). Beside other words it does
 * not: the documents that have those pick the reading, and a prior there overrode them (the
 * known-item typo sets, where the word meant is often the rarer one: "draiing slightly" for
 * "draining", 67 times rarer than "drawing"; bench/RESULTS.md). */
static void blend_terms(struct qry_sterm *t, size_t count, uint64_t n, bool is_alone)
{
    uint64_t max = 0;
    for (size_t i = 0; i < count; i++) {
        max = t[i].df > max ? t[i].df : max;
    }
    for (size_t i = 0; i < count && max > 0; i++) {
        t[i].idf = kind_idf(&t[i], max, n) * (is_alone ? typo_prior(t[i].df, max) : 1.0);
    }
}

/* Whether q has one positive word (or quoted text) only: nothing beside it. The typo reading
 * keeps one QN_WORD per word typed (typo.c); synonyms' words are not typed. */
static bool is_one_word(const struct qry *q)
{
    size_t words = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        bool is_leaf = n->type == QN_WORD || n->type == QN_EXACT || n->type == QN_PHRASE;
        words += is_leaf && !n->is_negative && n->syn_role != QRY_SYN_WORD;
    }
    return words == 1;
}

/* Blends the statistics of every QN_FUZZY node's near forms (blend_terms): its stems, and
 * apart from them the closest forms that earn the exact-form bonus (expand_node's layout). The
 * block-max bounds are built from these idf and stay exact. */
static void blend_fuzzy(struct qry_scratch *s, const struct qry *q, uint64_t n)
{
    bool is_alone = is_one_word(q);
    for (size_t i = 0; i < q->node_count && s->prefix.count == 2 * q->node_count; i++) {
        if (q->nodes[i].type != QN_FUZZY) {
            continue;
        }
        const uint32_t *slot = (const uint32_t *)s->prefix.data + 2 * i;
        struct qry_sterm *t = (struct qry_sterm *)s->sterms.data + slot[0];
        blend_terms(t, slot[1], n, is_alone);
        blend_terms(t + slot[1], slot[1], n, is_alone);
    }
}

/* Sizes s->found for the sterms so far, marking the rows added since `from` (the rows of
 * sterms [from, ...) ) absent; rows before stay as found. */
static int size_found(struct qry_scratch *s, size_t from)
{
    size_t count = s->sterms.count * s->field_map.count;
    size_t old = from * s->field_map.count;
    if (qry_vec_reserve(&s->found, count, sizeof(struct seg_term))) {
        return SD_ENOMEM;
    }
    if (count > old) { /* with no segment yet the vector may never have been allocated */
        memset((struct seg_term *)s->found.data + old, 0, (count - old) * sizeof(struct seg_term));
    }
    s->found.count = count;
    return SD_OK;
}

int qry_stats_build(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                    size_t nsegs, const struct qry_params *params, struct qry_stats *st,
                    struct sd_error *err)
{
    st->is_unmatchable = false;
    st->k1 = params->k1;
    st->b = params->b;
    st->boost = params->exact_boost;
    int rc = build_fields(s, segs, nsegs, params, st);
    if (!rc) {
        rc = map_scopes(s, q, err);
    } else {
        return sd_errorf(err, rc, "query scratch");
    }
    if (!rc && init_sterms(s, q)) {
        rc = sd_errorf(err, SD_ENOMEM, "query scratch");
    }
    if (!rc &&
        (qry_vec_reserve(&s->dfs, s->gfields.count + 1, sizeof(uint64_t)) || size_found(s, 0))) {
        rc = sd_errorf(err, SD_ENOMEM, "query scratch");
    }
    s->prefix.count = 0; /* nothing expanded (yet) for this query */
    s->typo_best.count = 0;
    if (!rc) {
        rc = word_idf(s, q, segs, nsegs, params, st, err);
    }
    if (!rc && st->is_unmatchable) {
        rc = long_forms_idf(s, q, segs, nsegs, st, err);
    }
    size_t words = s->sterms.count;
    if (!rc && !st->is_unmatchable) {
        rc = expand_prefixes(s, q, segs, nsegs, err);
    }
    if (!rc && !st->is_unmatchable && size_found(s, words)) {
        rc = sd_errorf(err, SD_ENOMEM, "query scratch");
    }
    if (!rc && !st->is_unmatchable) {
        rc = rest_idf(s, q, segs, nsegs, st, err);
    }
    if (!rc && !st->is_unmatchable) {
        blend_fuzzy(s, q, st->n);
    }
    if (!rc) {
        qry_synonym_caps(s, q); /* a synonym never outscores what was typed (synonym.c) */
    }
    return rc;
}
