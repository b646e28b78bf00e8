/*
 * sort.c: ordering hits by attributes, the title or the score (docs/QUERY.md "Sort").
 *
 * qry_sort_parse() reads "key[:asc|:desc],..." against the schema. A search with a sort
 * other than plain relevance evaluates every match (search.c turns pruning off: a bound on
 * the score says nothing about a year) and offers each to a heap of the offset+limit best
 * by the sort (struct qry_sorter): the keys of a document are read from the columns when it
 * is offered - its smallest value for asc, its largest for desc (a keyword's ordinals are
 * sorted bytewise in its segment's dictionary, so the smallest ordinal is the smallest
 * value) - and kept beside it as numbers or as bytes that point into the segment's mapping,
 * valid for the whole search. So hits of different segments compare by value, never by
 * ordinal. A sort whose first key is `_score` (desc) keeps pruning: its k-th best score is
 * the ranked search's, so a document whose bound cannot reach that score cannot enter
 * either; every hit the ranked top-k is offered goes to the sorted heap too
 * (qry_sorter_add), where later keys break the ties. A document without a value sorts after every
 * document with one, in either direction. Ties go to the higher score, then the lower document id
 * (bytes, then length), so the same request pages through the same order. Nothing here allocates
 * per document: the heap lives in the thread's scratch.
 *
 * A most-words query (qry_with_any_words, a search box's last reading) sorts by how many of its
 * words a document has before any key (by_words), as Meilisearch's ranking rules put "words"
 * before "sort": the documents with the most words first, each group in the sort's order. The
 * count is part of the order itself, so the heap keeps the offset+limit first of that one order
 * and every page is a slice of it. The count is known only once the document is scored, so such
 * a sort scores every match it is offered and never prunes (search.c).
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

static int sort_err(struct sd_error *err, int code, size_t off, const char *what, size_t len,
                    const char *s)
{
    return sd_errorf(err, code, "at %zu: %s '%.*s'", off, what, (int)sd_utf8_cut(s, len, 64), s);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Key s[0, len) (spaces trimmed), at offset off of the sort text. */
static int parse_key(const char *s, size_t len, size_t off, const struct sch_schema *schema,
                     struct qry_sort_key *k, struct sd_error *err)
{
    const char *colon = memchr(s, ':', len);
    size_t name_len = colon ? (size_t)(colon - s) : len;
    k->is_desc = false;
    if (colon) {
        const char *dir = colon + 1;
        size_t dir_len = len - name_len - 1;
        if (dir_len == 4 && memcmp(dir, "desc", 4) == 0) {
            k->is_desc = true;
        } else if (!(dir_len == 3 && memcmp(dir, "asc", 3) == 0)) {
            return sort_err(err, SD_EPARSE, off + name_len + 1,
                            "the direction must be asc or desc, not", dir_len, dir);
        }
    }
    if (name_len == 0) {
        return sd_errorf(err, SD_EPARSE, "at %zu: a sort key without a name", off);
    }
    if (name_len > SCH_MAX_NAME) {
        return sort_err(err, SD_EFIELD, off, "unknown field in sort:", name_len, s);
    }
    memcpy(k->name, s, name_len);
    k->name[name_len] = '\0';
    k->name_len = name_len;
    const struct sch_field *f = sch_find(schema, s, name_len);
    if (name_len == 6 && memcmp(s, "_score", 6) == 0) {
        k->kind = QS_SCORE;
        k->is_desc = colon ? k->is_desc : true;
    } else if (f && f->type != SCH_TEXT) {
        k->kind = QS_ATTR;
        k->sch_type = (uint8_t)f->type;
    } else if (name_len == 5 && memcmp(s, "title", 5) == 0) {
        k->kind = QS_TITLE;
    } else if (f) {
        return sd_errorf(err, SD_EFIELD,
                         "at %zu: field '%s' in sort is declared as text (sort by an attribute, "
                         "title or _score)",
                         off, k->name);
    } else {
        return sd_errorf(err, SD_EFIELD, "at %zu: unknown field '%s' in sort", off, k->name);
    }
    return SD_OK;
}

int qry_sort_parse(const char *text, size_t len, const struct sch_schema *schema,
                   struct qry_sort **out, struct sd_error *err)
{
    *out = NULL;
    struct qry_sort *so = calloc(1, sizeof *so);
    if (!so) {
        return sd_errorf(err, SD_ENOMEM, "sort");
    }
    size_t pos = 0;
    int rc = SD_OK;
    while (!rc && pos <= len) {
        const char *comma = memchr(text + pos, ',', len - pos);
        size_t end = comma ? (size_t)(comma - text) : len;
        size_t a = pos, b = end;
        while (a < b && is_space(text[a])) {
            a++;
        }
        while (b > a && is_space(text[b - 1])) {
            b--;
        }
        if (so->nkeys == QRY_MAX_SORT_KEYS) {
            rc = sd_errorf(err, SD_ELIMIT, "at %zu: more than %d sort keys", a, QRY_MAX_SORT_KEYS);
        } else {
            rc = parse_key(text + a, b - a, a, schema, &so->keys[so->nkeys++], err);
        }
        for (size_t k = 0; !rc && k + 1 < so->nkeys; k++) {
            /* a second key on a field never orders anything the first left tied */
            if (strcmp(so->keys[k].name, so->keys[so->nkeys - 1].name) == 0) {
                rc = sd_errorf(err, SD_EPARSE, "at %zu: '%s' is a sort key twice", a,
                               so->keys[k].name);
            }
        }
        pos = end + 1;
    }
    if (rc) {
        free(so);
        return rc;
    }
    *out = so;
    return SD_OK;
}

void qry_sort_free(struct qry_sort *s)
{
    free(s);
}

bool qry_sort_is_relevance(const struct qry_sort *s)
{
    return !s || (s->nkeys == 1 && s->keys[0].kind == QS_SCORE && s->keys[0].is_desc);
}

bool qry_sort_is_score_first(const struct qry_sort *s)
{
    return s && s->keys[0].kind == QS_SCORE && s->keys[0].is_desc;
}

/* ---- the sorted top-k ---- */

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* < 0 when a goes before b. */
static int cmp_val(const struct qry_sort_key *k, const struct qry_sval *a, const struct qry_sval *b)
{
    if (a->has != b->has) {
        return a->has ? -1 : 1; /* no value: last, either way */
    }
    if (!a->has) {
        return 0;
    }
    int c;
    if (k->kind == QS_TITLE || (k->kind == QS_ATTR && k->sch_type == SCH_KEYWORD)) {
        c = cmp_bytes(a->s, a->len, b->s, b->len);
    } else if (k->kind == QS_SCORE || k->sch_type == SCH_FLOAT) {
        c = cmp_num(a->f, b->f);
    } else {
        c = (a->i > b->i) - (a->i < b->i);
    }
    return k->is_desc ? -c : c;
}

static uint32_t count_bits(uint32_t w)
{
    uint32_t n = 0;
    for (; w; w &= w - 1) {
        n++;
    }
    return n;
}

/* < 0 when a has more of a most-words query's words than b (hit.any_words is 0 in every hit
 * of any other query, so the test costs one comparison there). */
static int cmp_words(const struct qry_shit *a, const struct qry_shit *b)
{
    if (a->hit.any_words == b->hit.any_words) {
        return 0;
    }
    uint32_t x = count_bits(a->hit.any_words), y = count_bits(b->hit.any_words);
    return (x < y) - (x > y);
}

static int cmp_hit(const struct qry_sort *so, const struct qry_shit *a, const struct qry_shit *b)
{
    int words = cmp_words(a, b);
    if (words) {
        return words;
    }
    for (size_t i = 0; i < so->nkeys; i++) {
        int c = cmp_val(&so->keys[i], &a->v[i], &b->v[i]);
        if (c) {
            return c;
        }
    }
    if (a->hit.score != b->hit.score) {
        return a->hit.score > b->hit.score ? -1 : 1;
    }
    return cmp_bytes(a->id, a->id_len, b->id, b->id_len);
}

void qry_sorter_segment(struct qry_sorter *so, const struct seg *seg, uint32_t seg_index)
{
    so->seg = seg;
    so->seg_index = seg_index;
    for (size_t i = 0; i < so->sort->nkeys; i++) {
        const struct qry_sort_key *k = &so->sort->keys[i];
        so->cols[i] =
            k->kind == QS_ATTR ? qry_column(seg, k->name, k->name_len, k->sch_type) : NULL;
    }
}

/* The key of doc: its smallest value for asc, its largest for desc. */
static void attr_val(const struct qry_sort_key *k, const struct seg_attr *col, uint32_t doc,
                     struct qry_sval *v)
{
    uint64_t first = 0; /* read even when the column is missing: no values then */
    uint32_t count = 0;
    if (col) {
        seg_attr_values(col, doc, &first, &count);
    }
    v->has = count > 0;
    for (uint64_t i = first; i < first + count; i++) {
        bool is_first = i == first;
        if (k->sch_type == SCH_FLOAT) {
            double f = seg_attr_float(col, i);
            v->f = is_first || (k->is_desc ? f > v->f : f < v->f) ? f : v->f;
        } else {
            int64_t x = k->sch_type == SCH_KEYWORD ? seg_attr_ord(col, i) : seg_attr_int(col, i);
            v->i = is_first || (k->is_desc ? x > v->i : x < v->i) ? x : v->i;
        }
    }
    if (v->has && k->sch_type == SCH_KEYWORD) {
        size_t len;
        seg_attr_keyword(col, (uint32_t)v->i, &v->s, &len);
        v->len = (uint32_t)len;
    }
}

/* Key i of doc. */
static void key_val(const struct qry_sorter *so, size_t i, uint32_t doc, float score,
                    struct qry_sval *v)
{
    const struct qry_sort_key *k = &so->sort->keys[i];
    memset(v, 0, sizeof *v);
    if (k->kind == QS_SCORE) {
        v->has = true;
        v->f = score;
    } else if (k->kind == QS_TITLE) {
        size_t len = 0;
        seg_doc_title(so->seg, doc, &v->s, &len);
        v->len = (uint32_t)len;
        v->has = len > 0;
    } else {
        attr_val(k, so->cols[i], doc, v);
    }
}

static void sift_down(const struct qry_sort *so, struct qry_shit *h, size_t count, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < count && cmp_hit(so, &h[l], &h[worst]) > 0) {
            worst = l;
        }
        if (r < count && cmp_hit(so, &h[r], &h[worst]) > 0) {
            worst = r;
        }
        if (worst == i) {
            return;
        }
        struct qry_shit t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

static void heap_put(struct qry_sorter *so, struct qry_shit *cand);

/* qry_sorter_offer of a most-words query (by_words): the words doc has are known once it is
 * scored, and they decide before the first key. */
static void offer_by_words(struct qry_sorter *so, struct ev *e, uint32_t root, uint32_t doc)
{
    struct qry_shit c = {.hit = {.segment = so->seg_index, .doc = doc}};
    c.hit.score = (float)ev_score(e, root, doc);
    c.hit.any_words = e->any_words;
    key_val(so, 0, doc, c.hit.score, &c.v[0]);
    if (so->k == 0) {
        return;
    }
    if (so->count == so->k) {
        int words = cmp_words(&c, &so->h[0]);
        if (words > 0 || (words == 0 && cmp_val(&so->sort->keys[0], &c.v[0], &so->h[0].v[0]) > 0)) {
            return; /* it loses on its words, or on them and its first key */
        }
    }
    for (size_t i = 1; i < so->sort->nkeys; i++) {
        key_val(so, i, doc, c.hit.score, &c.v[i]);
    }
    heap_put(so, &c);
}

void qry_sorter_offer(struct qry_sorter *so, struct ev *e, uint32_t root, uint32_t doc)
{
    if (so->by_words) {
        offer_by_words(so, e, root, doc);
        return;
    }
    bool is_scored = so->sort->keys[0].kind == QS_SCORE;
    float score = is_scored ? (float)ev_score(e, root, doc) : 0;
    struct qry_shit c = {.hit = {.segment = so->seg_index, .doc = doc}};
    key_val(so, 0, doc, score, &c.v[0]);
    if (so->count == so->k &&
        (so->k == 0 || cmp_val(&so->sort->keys[0], &c.v[0], &so->h[0].v[0]) > 0)) {
        return; /* most documents of a full heap lose on the first key alone */
    }
    /* scored only now: the tree still sits on doc, and most documents never get here */
    c.hit.score = is_scored ? score : (float)ev_score(e, root, doc);
    c.hit.any_words = e->any_words;
    for (size_t i = 1; i < so->sort->nkeys; i++) {
        key_val(so, i, doc, c.hit.score, &c.v[i]);
    }
    heap_put(so, &c);
}

void qry_sorter_add(struct qry_sorter *so, uint32_t doc, float score)
{
    struct qry_shit c = {.hit = {.segment = so->seg_index, .doc = doc, .score = score}};
    for (size_t i = 0; i < so->sort->nkeys; i++) {
        key_val(so, i, doc, score, &c.v[i]);
    }
    heap_put(so, &c);
}

/* Keeps c (its keys set) if it is among the k best so far. */
static void heap_put(struct qry_sorter *so, struct qry_shit *cand)
{
    struct qry_shit c = *cand;
    seg_doc_id(so->seg, c.hit.doc, &c.id, &c.id_len);
    if (so->count < so->k) {
        size_t i = so->count++;
        so->h[i] = c;
        while (i > 0 && cmp_hit(so->sort, &so->h[i], &so->h[(i - 1) / 2]) > 0) {
            struct qry_shit t = so->h[i];
            so->h[i] = so->h[(i - 1) / 2];
            so->h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (so->k > 0 && cmp_hit(so->sort, &c, &so->h[0]) < 0) {
        so->h[0] = c;
        sift_down(so->sort, so->h, so->count, 0);
    }
}

static int cmp_qsort(const void *a, const void *b, void *so)
{
    return cmp_hit(so, a, b);
}

int qry_sorter_finish(struct qry_sorter *so, uint32_t offset, struct qry_result *out,
                      struct sd_error *err)
{
    if (so->count > 1) { /* a heap of limit 0 has no array: h may be NULL */
        qsort_r(so->h, so->count, sizeof *so->h, cmp_qsort, (void *)so->sort);
    }
    if (so->count <= offset) {
        return SD_OK;
    }
    out->nhits = so->count - offset;
    out->hits = malloc(out->nhits * sizeof *out->hits);
    if (!out->hits) {
        out->nhits = 0;
        return sd_errorf(err, SD_ENOMEM, "search hits");
    }
    for (size_t i = 0; i < out->nhits; i++) {
        out->hits[i] = so->h[offset + i].hit;
    }
    return SD_OK;
}
