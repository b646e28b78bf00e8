/*
 * snippet.c: a short plain-text excerpt around the first place where a
 * positive query word occurs.
 *
 * The text is tokenized with the same tokenizer as the index, so a token
 * "matches" exactly when the index would have matched it: its stem equals a
 * query word's stem, or its folded form equals a query word's or phrase
 * word's folded form, or starts with a query prefix, or is within a typo
 * leaf's edits of its typed form (lev.c). Excluded words never
 * anchor a snippet. The window starts a quarter of max_len before the match
 * (so the match has some context), then both ends move inward to token
 * boundaries: a token start on the left, a token end on the right, which also
 * keeps every UTF-8 sequence whole. "…" marks a cut end. Control characters
 * (newlines, tabs) become spaces, so a snippet is one line.
 *
 * The text comes from a source (textsrc.c): for a big stored body, the first match is looked
 * for only in the pieces whose stem filters may hold a query word, in order, each tokenized
 * over a range widened to word boundaries; the window's token boundaries are found by
 * tokenizing from the word boundary before it, not from the text's start. The tokens seen are
 * the whole text's, so the snippet is the one the whole text gives.
 */
#include <stdlib.h>
#include <string.h>

#include "query_int.h"

#define QRY_ELLIPSIS "\xE2\x80\xA6" /* U+2026 */

struct snip {
    const struct qry *q;
    struct qry_lev *levs; /* per node: the automata of QN_FUZZY leaves (NULL: none) */
    size_t base;          /* the text offset of the range being tokenized */
    size_t start0;        /* desired window [start0, end0) */
    size_t end0;
    bool is_found;
    size_t found; /* offset of the first matching token */
    size_t start; /* window cut at token boundaries */
    size_t end;
    bool has_start;
};

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static bool leaf_matches(const struct qry *q, const struct qry_node *n,
                         const struct stem_token *tok)
{
    for (uint32_t i = 0; i < n->term_count; i++) {
        const struct qry_term *t = &q->terms[n->term + i];
        const char *s = qry_term_str(q, t);
        if (n->type == QN_PREFIX) {
            if (tok->word_len >= t->len && memcmp(tok->word, s, t->len) == 0) {
                return true;
            }
        } else if (t->kind == SEG_STEM) {
            if (str_eq(tok->stem, tok->stem_len, s, t->len)) {
                return true;
            }
        } else if (str_eq(tok->word, tok->word_len, s, t->len)) {
            return true;
        }
    }
    return false;
}

/* A typo leaf matches a token within its word's edits of the typed form. */
static bool fuzzy_matches(struct snip *sn, size_t node, const struct stem_token *tok)
{
    unsigned dist;
    char seek[STEM_MAX_TOKEN + 1];
    size_t seek_len;
    return sn->levs && sn->levs[node].k > 0 &&
           qry_lev_feed(&sn->levs[node], tok->word, tok->word_len, &dist, seek, &seek_len) ==
               QRY_LEV_MATCH;
}

static int find_match(void *arg, const struct stem_token *tok)
{
    struct snip *sn = arg;
    const struct qry *q = sn->q;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        bool is_match = n->type == QN_FUZZY ? fuzzy_matches(sn, i, tok) : leaf_matches(q, n, tok);
        if (n->type >= QN_WORD && !n->is_negative && is_match) {
            sn->is_found = true;
            sn->found = sn->base + tok->offset;
            return 1;
        }
    }
    return 0;
}

static int find_bounds(void *arg, const struct stem_token *tok)
{
    struct snip *sn = arg;
    size_t off = sn->base + tok->offset;
    if (off >= sn->end0) {
        return 1;
    }
    if (!sn->has_start && off >= sn->start0) {
        sn->start = off;
        sn->has_start = true;
    }
    if (sn->has_start && off + tok->len <= sn->end0) {
        size_t end = off + tok->len;
        sn->end = end > sn->end ? end : sn->end;
    }
    return 0;
}

/* Moves i (<= len) back to the start of a UTF-8 sequence. */
static size_t char_start(const char *text, size_t len, size_t i)
{
    if (i >= len) {
        return len;
    }
    while (i > 0 && ((unsigned char)text[i] & 0xC0) == 0x80) {
        i--;
    }
    return i;
}

static void put_plain(struct sd_buf *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        sd_buf_put_u8(out, c < 0x20 || c == 0x7F ? ' ' : c);
    }
}

/* Chooses [sn->start, sn->end) of about max_len bytes. */
static int choose_window(struct qry_ctx *ctx, struct snip *sn, struct qry_src *src, size_t max_len)
{
    const char *text = src->text;
    size_t len = src->len;
    size_t lead = max_len / 4;
    sn->start0 = sn->is_found && sn->found > lead ? sn->found - lead : 0;
    if (len - sn->start0 < max_len) {
        sn->start0 = len - max_len;
    }
    sn->end0 = sn->start0 + max_len;
    sn->start = sn->start0;
    sn->end = 0;
    sn->has_start = sn->start0 == 0;
    size_t a, b;
    /* end0 + 1: the cut of one huge token below reads the byte at end0 */
    int rc = qry_src_load_words(src, sn->start0, sn->end0 + 1, &a, &b);
    if (rc) {
        return rc;
    }
    sn->base = a;
    /* token bounds only: no stems needed (the same tokens, stem.h) */
    rc = stem_tokenize_words(ctx->stem, text + a, b - a, 0, find_bounds, sn, NULL);
    if (rc != STEM_OK && rc != 1) {
        return SD_ENOMEM;
    }
    if (sn->end0 >= len) {
        sn->end = len;
    }
    if (!sn->has_start || sn->end <= sn->start) {
        sn->start = char_start(text, len, sn->start0); /* one huge token: cut it */
        sn->end = char_start(text, len, sn->end0);
    }
    return SD_OK;
}

/* The automata of q's QN_FUZZY leaves, one slot per node (k 0: none), or NULL without any. */
static int fuzzy_automata(const struct qry *q, struct qry_lev **out)
{
    *out = NULL;
    bool has_fuzzy = false;
    for (size_t i = 0; i < q->node_count; i++) {
        has_fuzzy |= q->nodes[i].type == QN_FUZZY && !q->nodes[i].is_negative;
    }
    if (!has_fuzzy) {
        return SD_OK;
    }
    struct qry_lev *levs = calloc(q->node_count, sizeof *levs);
    if (!levs) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        if (n->type == QN_FUZZY) {
            const struct qry_term *typed = &q->terms[n->term + 1];
            const char *s = qry_term_str(q, typed);
            if (qry_lev_init(&levs[i], s, typed->len, qry_lev_max_edits(s, typed->len))) {
                levs[i].k = 0;
            }
        }
    }
    *out = levs;
    return SD_OK;
}

/* The first match: the candidate pieces in order, each tokenized over word boundaries. */
static int first_match(struct qry_ctx *ctx, struct snip *sn, struct qry_src *src)
{
    bool *cand;
    int rc = qry_src_candidates(ctx, src, sn->q, &cand);
    size_t done = 0; /* text before this was tokenized */
    for (uint32_t i = 0; rc == SD_OK && !sn->is_found && i < qry_src_pieces(src); i++) {
        size_t s, e, a, b;
        qry_src_piece(src, i, &s, &e);
        if (!cand[i] || e <= done) {
            continue;
        }
        rc = qry_src_load_words(src, s, e, &a, &b);
        if (rc == SD_OK) {
            sn->base = a;
            rc = stem_tokenize(ctx->stem, src->text + a, b - a, 0, find_match, sn, NULL);
            rc = rc == STEM_OK || rc == 1 ? SD_OK : SD_ENOMEM;
            done = b;
        }
    }
    free(cand);
    return rc;
}

/* qry_snippet over a source. */
static int snippet_src(struct qry_ctx *ctx, const struct qry *q, struct qry_src *src,
                       size_t max_len, struct sd_buf *out)
{
    struct snip sn = {.q = q};
    size_t len = max_len == 0 ? 0 : src->len;
    int rc = SD_OK;
    if (len <= max_len) {
        sn.end = len;
        rc = qry_src_load(src, 0, len);
    } else {
        rc = fuzzy_automata(q, &sn.levs);
        if (rc == SD_OK) {
            rc = first_match(ctx, &sn, src);
        }
        free(sn.levs);
        if (rc == SD_OK) {
            rc = choose_window(ctx, &sn, src, max_len);
        }
    }
    if (rc) {
        return rc;
    }
    const char *text = src->text;
    if (sn.start > 0) {
        sd_buf_put(out, QRY_ELLIPSIS, strlen(QRY_ELLIPSIS));
    }
    put_plain(out, text + sn.start, sn.end - sn.start);
    if (sn.end < len) {
        sd_buf_put(out, QRY_ELLIPSIS, strlen(QRY_ELLIPSIS));
    }
    sd_buf_put_u8(out, 0);
    if (out->rc) {
        return out->rc;
    }
    out->len--; /* the NUL stays in memory after the text; len counts the text */
    return SD_OK;
}

int qry_snippet(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len,
                size_t max_len, struct sd_buf *out)
{
    struct qry_src src;
    qry_src_mem(&src, text, len);
    return snippet_src(ctx, q, &src, max_len, out);
}

int qry_snippet_doc(struct qry_ctx *ctx, const struct qry *q, struct seg_doc_view *v,
                    const struct seg_field *f, size_t max_len, struct sd_buf *out,
                    struct sd_error *err)
{
    struct qry_src src;
    int rc = qry_src_doc(&src, v, f, err);
    return rc ? rc : snippet_src(ctx, q, &src, max_len, out);
}
