/*
 * textsrc.c: the text a snippet or highlight is cut from, in memory or a stored field read a
 * chunk at a time (issue 12: a 1 MB body's snippet reads the blocks it needs).
 *
 * A source is a text of len bytes cut into pieces: one piece for a text in memory; for a field
 * of a stored document read through a view (seg.h, seg_doc_view_*), piece i is the part of the
 * field in the record's chunk i. Only the pieces loaded so far hold their bytes.
 *
 * WHY THE RESULT IS THE WHOLE TEXT'S. snippet.c and highlight.c find matches by tokenizing,
 * and two things let them tokenize less than the whole text and still see the same tokens:
 *   - a piece can hold a match only if its chunk's filter may hold the stem of one of the
 *     query's positive words (a token matching a stem term has that stem; one matching an
 *     exact form w has the stem stem_word(w)). The filter has every stem of every token that
 *     overlaps the chunk, so the pieces it rules out hold no match, and no part of one.
 *     Prefix and typo words have no one stem to test: with one of those, every piece is a
 *     candidate (the whole text is read, as before);
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

/* The stem hashes a positive leaf of q can match by (see the top of the file); *is_any when
 * some leaf cannot be tested by stem. */
static int query_stems(struct qry_ctx *ctx, const struct qry *q, uint64_t **out, size_t *n,
                       bool *is_any)
{
    *out = NULL;
    *n = 0;
    *is_any = false;
    uint64_t *h = malloc((q->term_count + 1) * sizeof *h);
    if (!h) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *nd = &q->nodes[i];
        if (nd->type < QN_WORD || nd->is_negative) {
            continue;
        }
        *is_any |= nd->type == QN_PREFIX || nd->type == QN_FUZZY;
        for (uint32_t k = 0; k < nd->term_count && !*is_any; k++) {
            const struct qry_term *t = &q->terms[nd->term + k];
            const char *s = qry_term_str(q, t), *stem = s;
            size_t stem_len = t->len;
            if (t->kind != SEG_STEM && stem_word(ctx->stem, s, t->len, &stem, &stem_len)) {
                *is_any = true; /* no stem to test it by */
            }
            h[(*n)++] = sd_hash64(stem, stem_len);
        }
    }
    *out = h;
    return SD_OK;
}

int qry_src_candidates(struct qry_ctx *ctx, const struct qry_src *src, const struct qry *q,
                       bool **out)
{
    uint32_t n = qry_src_pieces(src);
    bool *c = calloc(n, sizeof *c);
    uint64_t *h = NULL;
    size_t nh = 0;
    bool is_any = true;
    int rc = !c ? SD_ENOMEM : n > 1 ? query_stems(ctx, q, &h, &nh, &is_any) : SD_OK;
    for (uint32_t i = 0; rc == SD_OK && i < n; i++) {
        size_t s, e;
        qry_src_piece(src, i, &s, &e);
        for (size_t k = 0; s < e && !c[i] && k < (is_any ? 1 : nh); k++) {
            c[i] = is_any || seg_doc_view_may_hold(src->v, i, h[k]);
        }
    }
    free(h);
    if (rc) {
        free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}
