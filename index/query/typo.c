/*
 * typo.c: the typo-tolerant reading of a query, and the correction it
 * suggests.
 *
 * qry_with_typos() copies a parsed query and turns every positive word of
 * QRY_TYPO_ONE_EDIT+ characters (typed form) into
 *     QN_OR( the word as it was , QN_FUZZY of its stem )
 * in place, so the tree keeps its shape and its operators. The QN_FUZZY leaf
 * is expanded at search time (stats.c: the exact-form dictionaries walked
 * with the typed form's Levenshtein automaton, lev.c) into the stems of the
 * forms within 1 edit (2 from QRY_TYPO_TWO_EDITS characters), and those
 * score at QRY_FUZZY_WEIGHT: a
 * document with the word as typed, or any inflection of it, still ranks
 * above one that only has a near miss. Exclusions get no typos (excluding
 * near misses would hide what the user did not exclude), nor do words with
 * digits (identifiers and numbers differ by one character on purpose). The
 * word being typed (QRY_SIMPLE_PREFIX_LAST) gets a QN_FUZZY marked
 * QRY_SYN_TYPING: its forms are those that start within its edits (a typo
 * comes before the word is whole: "diplomc" for "diplomacy").
 *
 * qry_did_you_mean() names the correction: for each such word whose typed
 * form no document has (or, in an every-word reading, whose closest form is
 * more than 3 times as common as the typed one: "програмное" for
 * "программное"), the closest (then most frequent) form that some
 * document has, as the typo walk of the search just run recorded it
 * (scratch.typo_best: no second walk); the text is copied with those words
 * replaced, each in the case it was typed in (a compound with its hyphens).
 *
 * Which words get near forms: those no document has, as a rule (a word that
 * some document has is taken as typed, and its near misses would only add
 * noise); every word with is_every_word, which the engine asks for when the
 * words are each found but find nothing together, so that one of them is
 * likely a misspelling a few documents share ("програмное", "искуственная").
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* A positive word of enough letters; not one with digits: "tag10" and "tag11", "2024" and
 * "2025" are different things, not typos of each other. */
static bool wants_typos(const struct qry *q, const struct qry_node *n)
{
    if (n->type != QN_WORD || n->is_negative || n->term_count != 2) {
        return false;
    }
    const struct qry_term *typed = &q->terms[n->term + 1];
    const char *s = qry_term_str(q, typed);
    for (size_t i = 0; i < typed->len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            return false;
        }
    }
    return qry_lev_max_edits(s, typed->len) > 0;
}

/* Whether word node w is the word being typed: the word of a QRY_SYN_TYPING group
 * (parse_simple.c). Its near forms are sought as a prefix too (stats.c): the word may be
 * half typed, with the typo already in it ("diplomc" on the way to "diplomacy"). */
static bool is_typing_word(const struct qry *q, int32_t w)
{
    for (size_t g = 0; g < q->node_count; g++) {
        if (q->nodes[g].type == QN_OR && q->nodes[g].syn_role == QRY_SYN_TYPING &&
            qry_typing_word(q, (int32_t)g) == w) {
            return true;
        }
    }
    return false;
}

static void *dup_array(const void *src, size_t count, size_t elem, size_t extra)
{
    void *p = malloc((count + extra) * elem + 1);
    if (p && count) {
        memcpy(p, src, count * elem);
    }
    return p;
}

int qry_with_typos(const struct qry *q, bool is_every_word, struct qry **out,
                   struct sd_error *err)
{
    *out = NULL;
    size_t words = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        words += wants_typos(q, &q->nodes[i]);
    }
    if (words == 0 || q->root == QRY_NONE) {
        return SD_OK;
    }
    struct qry *t = calloc(1, sizeof *t);
    if (!t) {
        return sd_errorf(err, SD_ENOMEM, "typo query");
    }
    *t = *q;
    t->nodes = dup_array(q->nodes, q->node_count, sizeof *q->nodes, 2 * words);
    t->terms = dup_array(q->terms, q->term_count, sizeof *q->terms, 0);
    t->strings = dup_array(q->strings, q->strings_len, 1, 0);
    t->field_offs = dup_array(q->field_offs, q->field_count, sizeof *q->field_offs, 0);
    t->filters = dup_array(q->filters, q->filter_count, sizeof *q->filters, 0);
    if (!t->nodes || !t->terms || !t->strings || !t->field_offs || !t->filters) {
        qry_free(t);
        return sd_errorf(err, SD_ENOMEM, "typo query");
    }
    for (size_t i = 0; i < q->node_count; i++) {
        if (!wants_typos(q, &q->nodes[i])) {
            continue;
        }
        struct qry_node *n = &t->nodes[i];
        int32_t word = (int32_t)t->node_count++;
        int32_t fuzzy = (int32_t)t->node_count++;
        t->nodes[word] = *n;
        t->nodes[word].next_sibling = fuzzy;
        t->nodes[fuzzy] = *n;
        t->nodes[fuzzy].type = QN_FUZZY;
        t->nodes[fuzzy].is_for_known = is_every_word;
        if (is_typing_word(q, (int32_t)i)) {
            t->nodes[fuzzy].syn_role = QRY_SYN_TYPING;
        }
        t->nodes[fuzzy].next_sibling = QRY_NONE;
        n->type = QN_OR;
        n->first_child = word;
        n->term = 0;
        n->term_count = 0; /* keeps its place among its siblings */
    }
    *out = t;
    return SD_OK;
}

bool qry_is_typo_pair(const struct qry *q, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    int32_t w = n->first_child;
    if (n->type != QN_OR || w == QRY_NONE || q->nodes[w].type != QN_WORD) {
        return false;
    }
    int32_t f = q->nodes[w].next_sibling;
    return f != QRY_NONE && q->nodes[f].type == QN_FUZZY && q->nodes[f].next_sibling == QRY_NONE;
}

bool qry_is_typo_word(const struct qry *q, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    if (qry_is_typo_pair(q, node)) {
        return true;
    }
    int32_t w =
        n->type == QN_OR && n->syn_role == QRY_SYN_TYPING ? qry_typing_word(q, node) : QRY_NONE;
    return w != QRY_NONE && qry_is_typo_pair(q, w);
}

/* ---- did you mean ---- */

/* The first word of a text: its span and, when it is a compound ("e-mail", "онлайн-курс"),
 * the spans of its parts. The typo walk corrected the compound's joined form, so the whole
 * compound is what the correction replaces. */
#define DYM_MAX_PARTS 8

struct dym_word {
    size_t start, end; /* the word, or the whole compound */
    size_t part[DYM_MAX_PARTS][2];
    size_t nparts;
    bool is_compound;
    bool is_cut; /* more parts than DYM_MAX_PARTS: spelt joined */
};

static int first_word(void *arg, const struct stem_token *t)
{
    struct dym_word *w = arg;
    if (w->nparts == 0 && !t->is_compound) {
        w->start = t->offset;
        w->end = t->offset + t->len;
    } else if (t->is_compound) {
        /* a compound's joined form comes right after its first part */
        if (w->is_compound || w->nparts != 1 || t->offset != w->start) {
            return 1;
        }
        w->is_compound = true;
        w->end = t->offset + t->len;
        return 0;
    } else if (!w->is_compound || t->offset >= w->end) {
        return 1; /* the next word */
    }
    if (w->nparts == DYM_MAX_PARTS) {
        w->is_cut = true;
        return 1;
    }
    w->part[w->nparts][0] = t->offset;
    w->part[w->nparts][1] = t->offset + t->len;
    w->nparts++;
    return 0;
}

/* Byte offsets of the characters of s[0, len) into at (room for cap + 1), the end last;
 * returns the character count, or SIZE_MAX when there are more than cap. */
static size_t char_offsets(const char *s, size_t len, size_t *at, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == cap) {
                return SIZE_MAX;
            }
            at[n++] = i;
        }
    }
    at[n] = len;
    return n;
}

static bool char_eq(const char *a, const size_t *ao, size_t i, const char *b, const size_t *bo,
                    size_t j)
{
    size_t len = ao[i + 1] - ao[i];
    return len == bo[j + 1] - bo[j] && memcmp(a + ao[i], b + bo[j], len) == 0;
}

/* Puts the correction fix[0, fix_len) of typed word w (text is the query from the word's
 * node; typed[0, typed_len) its folded form, the compound's joined form) into out. A compound
 * gets its typed separators back where the letters around them line up: an edit moves a cut by
 * at most 2 characters, so the cut goes where the correction has the typed letters on both
 * sides of it within that reach ("онлйн-курс" -> "онлайн-курс"), else where one side matches,
 * else where it was typed. */
static void put_correction(struct sd_buf *out, const char *text, const struct dym_word *w,
                           const char *typed, size_t typed_len, const char *fix, size_t fix_len)
{
    size_t to[STEM_MAX_TOKEN + 1], fo[STEM_MAX_TOKEN + 1];
    size_t tn = char_offsets(typed, typed_len, to, STEM_MAX_TOKEN);
    size_t fn = char_offsets(fix, fix_len, fo, STEM_MAX_TOKEN);
    size_t parts_chars = 0;
    for (size_t i = 0; i < w->nparts; i++) {
        parts_chars += stem_utf8_chars(text + w->part[i][0], w->part[i][1] - w->part[i][0]);
    }
    if (!w->is_compound || w->is_cut || w->nparts < 2 || tn == SIZE_MAX || fn == SIZE_MAX ||
        parts_chars != tn) {
        /* one word; or folding changed the compound's length, and no cut lines up */
        sd_buf_put(out, fix, fix_len);
        return;
    }
    size_t cut = 0, prev = 0; /* in typed characters; prev: the last cut made in fix */
    for (size_t i = 0; i + 1 < w->nparts; i++) {
        cut += stem_utf8_chars(text + w->part[i][0], w->part[i][1] - w->part[i][0]);
        static const int reach[] = {0, -1, 1, -2, 2};
        size_t best = 0;
        int best_score = -1;
        for (size_t k = 0; k < sizeof reach / sizeof reach[0]; k++) {
            ptrdiff_t p = (ptrdiff_t)cut + reach[k];
            if (p <= (ptrdiff_t)prev || p >= (ptrdiff_t)fn) {
                continue; /* not after the last cut, or at the correction's end */
            }
            int score = char_eq(typed, to, cut - 1, fix, fo, (size_t)p - 1) +
                        char_eq(typed, to, cut, fix, fo, (size_t)p);
            if (score > best_score) {
                best = (size_t)p;
                best_score = score;
            }
        }
        if (best_score < 0) {
            continue; /* no room for this cut: the correction is shorter */
        }
        sd_buf_put(out, fix + fo[prev], fo[best] - fo[prev]);
        sd_buf_put(out, text + w->part[i][1], w->part[i + 1][0] - w->part[i][1]);
        prev = best;
    }
    sd_buf_put(out, fix + fo[prev], fix_len - fo[prev]);
}

/* Respells out[from, len) (a correction just put) in the case typed[0, typed_len) was typed in
 * (stem_case_like: "Windos" -> "Windows", "WINDOS" -> "WINDOWS"); the index holds folded
 * forms only. Left as it is when it does not fit the buffers. */
static void put_in_case(struct sd_buf *out, size_t from, const char *typed, size_t typed_len)
{
    char word[2 * STEM_MAX_TOKEN + 16], cased[3 * sizeof word];
    size_t len = out->len - from, cased_len = 0;
    if (out->rc || len >= sizeof word) {
        return;
    }
    memcpy(word, out->data + from, len);
    if (stem_case_like(typed, typed_len, word, len, cased, sizeof cased, &cased_len) != STEM_OK) {
        return;
    }
    out->len = from;
    sd_buf_put(out, cased, cased_len);
}

int qry_did_you_mean(struct qry_ctx *ctx, const struct qry *fq, const char *text, size_t len,
                     struct sd_buf *out, bool *is_corrected)
{
    *is_corrected = false;
    const struct qry_scratch *s = ctx->scratch;
    if (s->typo_best.count != fq->node_count) {
        return SD_OK; /* not the query searched last: nothing recorded for it */
    }
    const struct qry_typo_best *best = s->typo_best.data;
    size_t copied = 0;
    for (size_t i = 0; i < fq->node_count; i++) {
        const struct qry_node *n = &fq->nodes[i];
        const struct qry_typo_best *b = &best[i];
        bool is_misspelt = b->self_df == 0 || (n->is_for_known && b->df > 3 * b->self_df);
        if (n->type != QN_FUZZY || b->len == 0 || !is_misspelt || n->offset < copied ||
            n->offset >= len) {
            continue;
        }
        struct dym_word w = {0};
        int rc =
            stem_tokenize(ctx->stem, text + n->offset, len - n->offset, 0, first_word, &w, NULL);
        if ((rc != 0 && rc != 1) || w.nparts == 0) { /* 1: first_word stopped the walk */
            continue;
        }
        const struct qry_term *typed = &fq->terms[n->term + 1];
        sd_buf_put(out, text + copied, n->offset + w.start - copied);
        size_t from = out->len;
        put_correction(out, text + n->offset, &w, qry_term_str(fq, typed), typed->len,
                       (const char *)s->pool.data + b->off, b->len);
        put_in_case(out, from, text + n->offset + w.start, w.end - w.start);
        copied = n->offset + w.end;
        *is_corrected = true;
    }
    sd_buf_put(out, text + copied, len - copied);
    sd_buf_put_u8(out, 0);
    if (out->rc) {
        return SD_ENOMEM;
    }
    out->len--;
    return SD_OK;
}
