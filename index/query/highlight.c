/*
 * highlight.c: snippets and titles with the matched words marked.
 *
 * highlight_match.c finds the matches: every token a positive leaf of the query matches,
 * phrases marked whole, each match with the query word it answers. This file chooses the
 * fragments around them and writes them.
 *
 * Fragments. A window of fragment_len bytes is scored for every match that
 * could start it: the number of distinct query words it holds (a synonym group,
 * or a typo reading's word with its near forms, is one word), the earliest first
 * among equals. The best window is taken, windows overlapping it are dropped,
 * and so on up to `fragments` windows, each next one for the words the ones taken
 * do not show first (choose), shown in text order. A window starts a
 * little before its first match (an eighth of its length, for context) and
 * both of its ends move to a space when one is near, never into a matched
 * token; with no match at all, the text's start is the one fragment. "…" marks
 * a cut. A hit's plain snippet (qry_snippet) is the best window, unmarked: the
 * passage with the most query words together, not the first place one occurs.
 *
 * Stopping early. Once the windows settled so far (those whose text was read
 * to their end) include `fragments` that hold every query word and do not
 * overlap, no later window can be chosen before them (a window reaching past a
 * phrase not yet whole is not settled: pending_from), so the tokenizer stops
 * there (qry_hl_settle): a document that says the query's words together near its
 * start is read that far, not to its end. That is why the earliest, not the
 * one with more matches, wins a tie. A query whose words cannot all occur (an
 * OR of words) reads on, as does a text that never has them together.
 *
 * Markup. Matched tokens are wrapped in pre/post (default <mark> </mark>);
 * everything else is HTML-escaped (& < > " '), control characters become
 * spaces. Marks and cuts sit at token or character boundaries, so a UTF-8
 * sequence is never split and an entity is never cut: the text between marks
 * is escaped whole. With wants_offsets nothing is escaped or marked: the
 * fragment is plain text and each match is a span (byte offset and length in
 * that fragment's text, after its "…").
 *
 * Cost: the tokenizer reads the text at most once (a 1 MB body is tokenized once, not
 * per fragment). From a stored document read by chunks (textsrc.c, issue 12)
 * it reads only the pieces whose stem filters may hold a query word, each
 * widened to word boundaries, so it finds the same matches as a pass over the
 * whole text; then only the bytes within a fragment's length of a match are
 * loaded, all that choosing and writing the fragments reads. Choosing is linear in the
 * matches per fragment: the windows of consecutive matches are counted by moving one
 * count of words per query word (hl_span), and a window's last match is found by binary
 * search, so a window holding hundreds of matches (snippet_len 4096 over a long text of
 * common words) does not cost hundreds of steps per match (it cost seconds per hit).
 */
#include <stdlib.h>
#include <string.h>

#include "highlight_int.h"

#define HL_ELLIPSIS "\xE2\x80\xA6" /* U+2026 */

/* Loads the text the fragments can reach: within flen (and a character) of each match, or
 * of the text's start when there is none. */
static int load_around(const struct hl_state *h, struct qry_src *src, size_t flen)
{
    if (h->count == 0) {
        return qry_src_load(src, 0, flen + 4);
    }
    int rc = SD_OK;
    for (size_t i = 0; rc == SD_OK && i < h->count; i++) {
        size_t off = h->m[i].off;
        rc = qry_src_load(src, off > flen + 4 ? off - flen - 4 : 0, off + h->m[i].len + flen + 4);
    }
    return rc;
}

/* ---- choosing fragments ---- */

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

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The window for matches from index i: its bounds and the matches it holds. */
static struct hl_frag window_at(const struct hl_state *h, const char *text, size_t len, size_t i,
                                size_t flen)
{
    struct hl_frag f = {.first = i};
    size_t lead = flen / 8;
    size_t start = h->count ? h->m[i].off : 0;
    start = start > lead ? start - lead : 0;
    if (start + flen > len) {
        start = len > flen ? len - flen : 0;
    }
    if (h->count && start > h->m[i].off) {
        start = h->m[i].off;
    }
    start = char_start(text, len, start);
    while (f.first > 0 && h->m[f.first - 1].off + h->m[f.first - 1].len > start) {
        f.first--; /* earlier matches inside the lead are marked too, and never cut */
    }
    if (h->count && h->m[f.first].off < start) {
        start = h->m[f.first].off;
    }
    /* Begin after the first space before the first match: a word's tail would start the
     * window. The lead is short (flen / 8 bytes, back to a character's first byte), so the
     * match itself bounds the scan; the window at the text's end may begin further back. */
    size_t limit = h->count ? h->m[f.first].off : len;
    for (size_t p = start; start > 0 && p < limit; p++) {
        if (is_space(text[p])) {
            start = p + 1;
            break;
        }
    }
    while (start > 0 && start < limit && is_space(text[start])) {
        start++; /* the rest of a run of blanks: "…" stands next to the word ("… УДК" was shown) */
    }
    size_t end = start + flen >= len ? len : char_start(text, len, start + flen);
    if (h->count && end < h->m[i].off + h->m[i].len) {
        /* A window holds its own match whole: one longer than flen, or one at the text's end
         * when start went back to the first byte of a character. */
        end = h->m[i].off + h->m[i].len;
    }
    /* The first match not inside: matches never overlap and are in text order, so their ends
     * rise and a binary search finds it (a window may hold hundreds of matches). */
    size_t k = f.first;
    for (size_t hi = h->count; k < hi;) {
        size_t mid = k + (hi - k) / 2;
        if (h->m[mid].off + h->m[mid].len <= end) {
            k = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (k < h->count && h->m[k].off < end) {
        end = h->m[k].off; /* never cut a matched token */
    }
    for (size_t p = end; end < len && p > start + flen / 2; p--) {
        if (is_space(text[p - 1]) && (k == f.first || p >= h->m[k - 1].off + h->m[k - 1].len)) {
            end = p - 1; /* end before a space, when one is near */
            break;
        }
    }
    size_t shown = k > f.first ? h->m[k - 1].off + h->m[k - 1].len : start; /* last match's end */
    while (end < len && end > shown && is_space(text[end - 1])) {
        end--; /* and before the blanks ahead of it, so the "…" follows a word */
    }
    f.start = start;
    f.end = end > start ? end : start;
    f.last = k;
    return f;
}

static void span_add(struct hl_span *s, uint32_t word)
{
    if (s->cnt[word]++ == 0) {
        s->distinct++;
        s->unshown += !(s->shown && s->shown[word]);
    }
}

static void span_del(struct hl_span *s, uint32_t word)
{
    if (--s->cnt[word] == 0) {
        s->distinct--;
        s->unshown -= !(s->shown && s->shown[word]);
    }
}

/* Empties s (its counts are all zero again); words: how many counts it has. */
static void span_clear(struct hl_span *s, size_t words)
{
    memset(s->cnt, 0, words * sizeof *s->cnt);
    s->lo = s->hi = 0;
    s->distinct = s->unshown = 0;
}

/* Makes s count the matches [first, last): it grows to cover them, then lets go of the rest,
 * so a window next to the last one costs the matches it gained and lost. */
static void span_move(struct hl_span *s, const struct hl_state *h, size_t first, size_t last)
{
    if (first >= s->hi || last <= s->lo) {
        while (s->lo < s->hi) {
            span_del(s, h->m[s->lo++].word); /* disjoint: nothing to keep */
        }
        s->lo = s->hi = first;
    }
    while (s->hi < last) {
        span_add(s, h->m[s->hi++].word);
    }
    while (s->lo > first) {
        span_add(s, h->m[--s->lo].word);
    }
    while (s->lo < first) {
        span_del(s, h->m[s->lo++].word);
    }
    while (s->hi > last) {
        span_del(s, h->m[--s->hi].word);
    }
}

static bool overlaps(const struct hl_frag *a, const struct hl_frag *b)
{
    return a->start < b->end && b->start < a->end;
}

/* Settles the windows of the matches whose windows reach no further than upto (their start
 * plus the fragment length: every token before upto was seen, so no match can join them or
 * move their ends): those holding every query word go to h->full, earliest first, unless
 * they overlap one there. True once there are h->max: choose takes the windows with the most
 * words, earliest first, so it would take these whatever follows, and the text need not be
 * read further. The bytes around a window are loaded first (window_at reads them), as
 * load_around loads them for the final choice. */
bool qry_hl_settle(struct hl_state *h, size_t upto)
{
    h->settle_at = SIZE_MAX; /* until a new match */
    while (h->settled < h->count && h->nfull < h->max) {
        const struct hl_match *m = &h->m[h->settled];
        h->load_rc = qry_src_load(h->src, m->off > h->flen + 4 ? m->off - h->flen - 4 : 0,
                                  m->off + m->len + h->flen + 4);
        if (h->load_rc) {
            return true; /* a chunk that does not decompress: stop, and say so */
        }
        struct hl_frag f = window_at(h, h->src->text, h->src->len, h->settled, h->flen);
        size_t reach = f.start + h->flen; /* window_at looks at the matches before this */
        if (reach > upto) {
            h->settle_at = reach;
            return false;
        }
        if (!h->span.cnt) {
            h->span.cnt = calloc(h->q->node_count + 1, sizeof *h->span.cnt);
            if (!h->span.cnt) {
                h->is_oom = true;
                return true; /* stop: the caller answers SD_ENOMEM */
            }
        } else if (h->is_span_stale) {
            span_clear(&h->span, h->q->node_count + 1);
        }
        h->is_span_stale = false;
        span_move(&h->span, h, f.first, f.last);
        bool is_free = h->span.distinct == h->words;
        for (size_t k = 0; k < h->nfull && is_free; k++) {
            is_free = !overlaps(&f, &h->full[k]);
        }
        if (is_free) {
            h->full[h->nfull++] = f;
        }
        h->settled++;
    }
    return h->nfull == h->max;
}

/* Picks up to max windows, best first, into out; *n: how many, at least 1. The best has the
 * most distinct words, then is the earliest; each next one first has the most words that the
 * ones before do not show (a rare word far from a common one gets a fragment of its own, not
 * the common word's second place), then the most distinct. Once every word matched is shown
 * that is the first rule again, so windows holding every word are taken as qry_hl_settle expects.
 * SD_OK or SD_ENOMEM. */
static int choose(const struct hl_state *h, const char *text, size_t len, size_t flen, unsigned max,
                  struct hl_frag *out, size_t *n)
{
    *n = 0;
    if (h->count == 0) {
        out[(*n)++] = window_at(h, text, len, 0, flen);
        return SD_OK;
    }
    bool *shown = calloc(h->q->node_count + 1, sizeof *shown); /* by word (query_words) */
    struct hl_span span = {.cnt = calloc(h->q->node_count + 1, sizeof *span.cnt), .shown = shown};
    if (!shown || !span.cnt) {
        free(shown);
        free(span.cnt);
        return SD_ENOMEM;
    }
    while (*n < max) {
        struct hl_frag best = {0};
        size_t best_score = 0;
        span_clear(&span, h->q->node_count + 1); /* shown[] changed: unshown counts anew */
        for (size_t i = 0; i < h->count; i++) {
            struct hl_frag f = window_at(h, text, len, i, flen);
            bool is_free = true;
            for (size_t k = 0; k < *n && is_free; k++) {
                is_free = !overlaps(&f, &out[k]);
            }
            if (is_free) {
                span_move(&span, h, f.first, f.last);
            }
            size_t words = is_free ? span.distinct : 0;
            size_t score = words ? span.unshown * (h->words + 1) + words : 0;
            if (score > best_score) {
                best = f;
                best_score = score;
            }
        }
        if (best_score == 0) {
            break;
        }
        for (size_t i = best.first; i < best.last; i++) {
            shown[h->m[i].word] = true;
        }
        out[(*n)++] = best;
    }
    free(span.cnt);
    free(shown);
    return SD_OK;
}

static void sort_by_position(struct hl_frag *f, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct hl_frag x = f[i];
        size_t j = i;
        for (; j > 0 && f[j - 1].start > x.start; j--) {
            f[j] = f[j - 1];
        }
        f[j] = x;
    }
}

/* ---- writing ---- */

static void put_text(struct sd_buf *out, const char *s, size_t len, bool is_html)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) {
            sd_buf_put_u8(out, ' ');
        } else if (is_html && c == '&') {
            sd_buf_put(out, "&amp;", 5);
        } else if (is_html && c == '<') {
            sd_buf_put(out, "&lt;", 4);
        } else if (is_html && c == '>') {
            sd_buf_put(out, "&gt;", 4);
        } else if (is_html && c == '"') {
            sd_buf_put(out, "&quot;", 6);
        } else if (is_html && c == '\'') {
            sd_buf_put(out, "&#39;", 5);
        } else {
            sd_buf_put_u8(out, c);
        }
    }
}

static void write_frag(const struct hl_state *h, const char *text, size_t len,
                       const struct hl_frag *f, const struct qry_hl_opts *o, uint32_t part,
                       struct sd_buf *out, struct sd_buf *spans)
{
    size_t base = out->len;
    bool is_html = !o->wants_offsets;
    if (f->start > 0) {
        sd_buf_put(out, HL_ELLIPSIS, strlen(HL_ELLIPSIS));
    }
    size_t at = f->start;
    for (size_t i = f->first; i < f->last; i++) {
        const struct hl_match *m = &h->m[i];
        put_text(out, text + at, m->off - at, is_html);
        if (o->wants_offsets && spans) {
            struct qry_hl_span sp = {
                .part = part, .off = (uint32_t)(out->len - base), .len = (uint32_t)m->len};
            sd_buf_put(spans, &sp, sizeof sp);
        } else {
            sd_buf_put(out, o->pre, o->pre_len);
        }
        put_text(out, text + m->off, m->len, is_html);
        if (!o->wants_offsets) {
            sd_buf_put(out, o->post, o->post_len);
        }
        at = m->off + m->len;
    }
    put_text(out, text + at, f->end - at, is_html);
    if (f->end < len) {
        sd_buf_put(out, HL_ELLIPSIS, strlen(HL_ELLIPSIS));
    }
    sd_buf_put_u8(out, 0);
}

void qry_hl_opts_default(struct qry_hl_opts *o)
{
    memset(o, 0, sizeof *o);
    o->fragment_len = 200;
    o->fragments = 1;
    o->pre = "<mark>";
    o->pre_len = 6;
    o->post = "</mark>";
    o->post_len = 7;
}

/* qry_highlight over a source; with plain, the best fragment also goes there as plain text,
 * its NUL not counted in plain->len (qry_snippet's output); with out NULL, only there. */
static int highlight_src(struct qry_ctx *ctx, const struct qry *q, struct qry_src *src,
                         const struct qry_hl_opts *o, uint32_t first_part, struct sd_buf *out,
                         size_t *count, struct sd_buf *spans, struct sd_buf *plain)
{
    struct hl_state h = {.q = q, .stem = ctx->stem};
    *count = 0;
    const char *text = src->text;
    size_t len = src->len;
    struct hl_frag frags[QRY_MAX_FRAGMENTS];
    unsigned max = o->fragments < 1 ? 1 : o->fragments;
    max = max > QRY_MAX_FRAGMENTS ? QRY_MAX_FRAGMENTS : max;
    size_t flen = o->fragment_len ? o->fragment_len : len;
    h.src = src;
    h.flen = flen;
    h.max = out ? max : 1;
    int rc = qry_hl_find_matches(ctx, &h, src);
    if (rc == SD_OK) {
        rc = load_around(&h, src, flen);
    }
    size_t n = 0;
    if (rc == SD_OK) {
        rc = choose(&h, text, len, flen, h.max, frags, &n);
    }
    if (rc == SD_OK) {
        if (plain) {
            struct qry_hl_opts po = {.wants_offsets = true}; /* no marks, no escaping */
            write_frag(&h, text, len, &frags[0], &po, 0, plain, NULL);
            rc = plain->rc ? SD_ENOMEM : SD_OK;
            plain->len -= rc == SD_OK; /* the NUL stays in memory after the text */
        }
        sort_by_position(frags, n);
        for (size_t i = 0; out && i < n; i++) {
            write_frag(&h, text, len, &frags[i], o, first_part + (uint32_t)i, out, spans);
        }
        *count = out ? n : 0;
        if (rc == SD_OK && out && (out->rc || spans->rc)) {
            rc = SD_ENOMEM;
        }
    }
    free(h.m);
    free(h.span.cnt);
    free(h.levs);
    free(h.has_lev);
    free(h.word);
    free(h.ph);
    return rc;
}

int qry_highlight(struct qry_ctx *ctx, const struct qry *q, const char *text, size_t len,
                  const struct qry_hl_opts *o, uint32_t first_part, struct sd_buf *out,
                  size_t *count, struct sd_buf *spans)
{
    struct qry_src src;
    qry_src_mem(&src, text, len);
    return highlight_src(ctx, q, &src, o, first_part, out, count, spans, NULL);
}

int qry_highlight_doc(struct qry_ctx *ctx, const struct qry *q, struct seg_doc_view *v,
                      const struct seg_field *f, const struct qry_hl_opts *o, uint32_t first_part,
                      struct sd_buf *out, size_t *count, struct sd_buf *spans, struct sd_buf *plain,
                      struct sd_error *err)
{
    struct qry_src src;
    *count = 0;
    int rc = qry_src_doc(&src, v, f, err);
    return rc ? rc : highlight_src(ctx, q, &src, o, first_part, out, count, spans, plain);
}

/* The snippet is the highlighter's best fragment, unmarked: a text is cut one way only. */
static int snippet_src(struct qry_ctx *ctx, const struct qry *q, struct qry_src *src,
                       size_t max_len, struct sd_buf *out)
{
    if (max_len == 0) {
        sd_buf_put_u8(out, 0);
        out->len -= out->rc == SD_OK;
        return out->rc ? SD_ENOMEM : SD_OK;
    }
    struct qry_hl_opts o = {.fragment_len = max_len, .fragments = 1};
    size_t count;
    return highlight_src(ctx, q, src, &o, 0, NULL, &count, NULL, out);
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
