/*
 * textsrc.c: the text a snippet or highlight is cut from, in memory or a stored field read a
 * chunk at a time (issue 12: a 1 MB body's snippet reads the blocks it needs).
 *
 * A source is a text of len bytes cut into pieces: one piece for a text in memory; for a field
 * of a stored document read through a view (seg.h, seg_doc_view_*), piece i is the part of the
 * field in the record's chunk i. Only the pieces loaded so far hold their bytes.
 *
 * WHY THE RESULT IS THE WHOLE TEXT'S. highlight_match.c (snippets too) finds matches by
 * tokenizing, and two things let it tokenize less than the whole text and still see the same
 * tokens:
 *   - a piece can hold a match only if its chunk's filter may hold the stem of one of the
 *     query's positive words (a token matching a stem term has that stem; one matching an
 *     exact form w has the stem stem_word(w)). The filter has every stem of every token that
 *     overlaps the chunk, so the pieces it rules out hold no match, and no part of one.
 *     Prefix and typo words match by form, not by one stem: the forms they can match in the
 *     document are among its segment's exact forms (the dictionary's, starting with the
 *     prefix; the in-memory trie's, within the typo automaton's edits), and the stems of
 *     those are tested (more than QRY_SRC_MAX_STEMS of them: every piece is a candidate);
 *   - a range to tokenize is widened to word boundaries (qry_src_load_words): it starts at the
 *     text's start or at a piece whose first byte is a space, tab, CR or LF (the chunk flag
 *     SEG_CHUNK_AT_BREAK), and ends at the text's end or before such a piece. Those bytes
 *     separate words, so the tokens inside the range are exactly the whole text's tokens
 *     there, with the same offsets (positions differ, and no caller uses them).
 * Then every match of the whole text is found, in order, and the window or fragments are
 * chosen from the same matches over the same bytes; only the bytes around them are loaded.
 */
#include <stdlib.h>

#include "query_int.h"

void qry_src_mem(struct qry_src *src, const char *text, size_t len)
{
    *src = (struct qry_src){.text = text, .len = len};
}

int qry_src_doc(struct qry_src *src, struct seg_doc_view *v, const struct seg_field *f,
                struct sd_error *err)
{
    *src = (struct qry_src){.text = f->value, .len = f->value_len, .v = v, .err = err};
    src->base = (size_t)((const uint8_t *)f->value - v->rec);
    if (src->base > v->rec_len || f->value_len > v->rec_len - src->base) {
        return sd_errorf(err, SD_EINVAL, "snippet field is not in the document");
    }
    return SD_OK;
}

uint32_t qry_src_pieces(const struct qry_src *src)
{
    return src->v ? src->v->nchunks : 1;
}

void qry_src_piece(const struct qry_src *src, uint32_t i, size_t *start, size_t *end)
{
    if (!src->v) {
        *start = 0;
        *end = src->len;
        return;
    }
    size_t cs, ce;
    seg_doc_view_chunk(src->v, i, &cs, &ce);
    size_t lo = src->base, hi = src->base + src->len;
    cs = cs < lo ? lo : cs > hi ? hi : cs;
    ce = ce < lo ? lo : ce > hi ? hi : ce;
    *start = cs - lo;
    *end = ce - lo;
}

/* Whether tokenizing may start at text offset `at`, the start of piece i. */
static bool starts_word(const struct qry_src *src, uint32_t i, size_t at)
{
    return at == 0 || seg_doc_view_at_break(src->v, i);
}

int qry_src_load(struct qry_src *src, size_t from, size_t to)
{
    if (!src->v) {
        return SD_OK;
    }
    to = to < src->len ? to : src->len;
    return seg_doc_view_load(src->v, src->base + from, src->base + to, src->err);
}

/* The piece that holds text offset at (< len), by binary search over the pieces' ends. */
static uint32_t piece_at(const struct qry_src *src, size_t at)
{
    uint32_t lo = 0, hi = qry_src_pieces(src);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        size_t s, e;
        qry_src_piece(src, mid, &s, &e);
        if (e <= at) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int qry_src_load_words(struct qry_src *src, size_t from, size_t to, size_t *a, size_t *b)
{
    to = to < src->len ? to : src->len;
    from = from < to ? from : to;
    if (!src->v || src->len == 0) {
        *a = 0;
        *b = src->len;
        return SD_OK;
    }
    uint32_t n = qry_src_pieces(src), first = piece_at(src, from < src->len ? from : src->len - 1);
    uint32_t last = piece_at(src, to > from ? to - 1 : from < src->len ? from : src->len - 1);
    size_t s, e;
    qry_src_piece(src, first, &s, &e);
    while (!starts_word(src, first, s)) {
        qry_src_piece(src, --first, &s, &e);
    }
    *a = s;
    qry_src_piece(src, last, &s, &e);
    for (size_t ns, ne; last + 1 < n; last++, e = ne) {
        qry_src_piece(src, last + 1, &ns, &ne);
        if (ns == ne || starts_word(src, last + 1, ns)) {
            break;
        }
    }
    *b = e;
    return qry_src_load(src, *a, *b);
}

/* The stems a query can match by, hashed for the chunks' filters (see the top of the file). */
struct stem_set {
    struct stem_ctx *stem;
    struct qry_vec h; /* uint64_t */
    bool is_any;      /* some leaf cannot be tested by stem: every piece is a candidate */
};

/* A prefix or typo word whose forms have more stems than this reads every piece. */
#define QRY_SRC_MAX_STEMS 1024

/* Adds the hash of stem[0, len); past QRY_SRC_MAX_STEMS (or out of memory) every piece is a
 * candidate. Non-zero (ends a dictionary walk) when nothing more needs adding. */
static int add_stem(struct stem_set *ss, const char *stem, size_t len)
{
    uint64_t *h = ss->h.count < QRY_SRC_MAX_STEMS ? qry_vec_push(&ss->h, sizeof *h) : NULL;
    if (!h) {
        ss->is_any = true;
        return 1;
    }
    *h = sd_hash64(stem, len);
    return 0;
}

/* Adds the stem of form[0, len); a form without a stem (too long) makes every piece a
 * candidate. */
static int add_form(struct stem_set *ss, const char *form, size_t len)
{
    const char *stem = form;
    size_t stem_len = len;
    if (stem_word(ss->stem, form, len, &stem, &stem_len)) {
        ss->is_any = true;
        return 1;
    }
    return add_stem(ss, stem, stem_len);
}

static int add_dict_form(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    (void)t;
    return add_form(arg, term, len);
}

static int add_near_form(void *arg, const char *term, size_t len, unsigned dist, uint32_t df)
{
    (void)dist;
    (void)df;
    return add_form(arg, term, len);
}

/* A prefix or typo leaf matches tokens by their form, not one stem; the forms it can match in
 * this document are among its segment's exact forms (every token of the document is one):
 * those starting with the prefix, or within the typo automaton's edits of the typed form (for
 * the word being typed: starting within them; highlight_match.c matches tokens with the same
 * automaton). Their stems are added; when they cannot be listed (no memory for the trie, a
 * damaged dictionary) every piece is a candidate, which is always right: the text itself is
 * then read and checked. */
static void add_leaf_forms(struct stem_set *ss, const struct seg *seg, const struct qry *q,
                           const struct qry_node *nd)
{
    struct sd_error err = {0};
    unsigned fields[SEG_MAX_SEG_FIELDS];
    unsigned nf = seg_field_count(seg);
    for (unsigned f = 0; f < nf; f++) {
        fields[f] = f;
    }
    const struct qry_term *t = &q->terms[nd->type == QN_FUZZY ? nd->term + 1 : nd->term];
    const char *s = qry_term_str(q, t);
    int rc = SD_OK;
    if (nd->type == QN_PREFIX) {
        for (unsigned f = 0; rc == SD_OK && f < nf && !ss->is_any; f++) {
            rc = seg_term_prefix(seg, f, SEG_EXACT, s, t->len, add_dict_form, ss, &err);
        }
        ss->is_any |= rc != SD_OK;
        return;
    }
    struct qry_lev *lev = malloc(sizeof *lev);
    const struct seg_exact_terms *forms = NULL;
    rc = lev ? seg_exact_terms(seg, &forms, &err) : SD_ENOMEM;
    if (rc == SD_OK && qry_lev_init(lev, s, t->len, qry_lev_max_edits(s, t->len)) == SD_OK &&
        lev->k > 0) {
        /* The word being typed matches the words that start within its edits (highlight_match.c's
         * qry_lev_match_prefix): a whole-word walk would miss "криптографии" for "криптогрф". */
        rc = nd->syn_role == QRY_SYN_TYPING
                 ? qry_lev_walk_prefix(lev, forms, fields, nf, "", 0, add_near_form, ss)
                 : qry_lev_walk(lev, forms, fields, nf, "", 0, add_near_form, ss);
    }
    seg_exact_terms_release(seg, forms);
    ss->is_any |= rc != SD_OK;
    free(lev);
}

/* The stem hashes the positive leaves of q can match by in the pieces of src, into ss. */
static void query_stems(const struct qry_src *src, const struct qry *q, struct stem_set *ss)
{
    for (size_t i = 0; i < q->node_count && !ss->is_any; i++) {
        const struct qry_node *nd = &q->nodes[i];
        if (nd->type < QN_WORD || nd->is_negative) {
            continue;
        }
        if (nd->type == QN_PREFIX || nd->type == QN_FUZZY) {
            add_leaf_forms(ss, src->v->s, q, nd);
            continue;
        }
        for (uint32_t k = 0; k < nd->term_count && !ss->is_any; k++) {
            const struct qry_term *t = &q->terms[nd->term + k];
            const char *s = qry_term_str(q, t);
            if (t->kind == SEG_STEM) {
                add_stem(ss, s, t->len);
            } else {
                add_form(ss, s, t->len); /* a token matching an exact form has its stem */
            }
        }
    }
}

int qry_src_candidates(struct qry_ctx *ctx, const struct qry_src *src, const struct qry *q,
                       bool **out)
{
    uint32_t n = qry_src_pieces(src);
    bool *c = calloc(n, sizeof *c);
    struct stem_set ss = {.stem = ctx->stem, .is_any = n <= 1};
    int rc = c ? SD_OK : SD_ENOMEM;
    if (rc == SD_OK && !ss.is_any) {
        query_stems(src, q, &ss);
    }
    const uint64_t *h = ss.h.data;
    for (uint32_t i = 0; rc == SD_OK && i < n; i++) {
        size_t s, e;
        qry_src_piece(src, i, &s, &e);
        for (size_t k = 0; s < e && !c[i] && k < (ss.is_any ? 1 : ss.h.count); k++) {
            c[i] = ss.is_any || seg_doc_view_may_hold(src->v, i, h[k]);
        }
    }
    qry_vec_free(&ss.h);
    if (rc) {
        free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}
