/*
 * prox.c: the proximity bonus, how much closer than chance an AND's words stand in a
 * document (issue 12: `электронная почта` should put the page that says it above one that
 * says "электронная" here and "почти" there, both of stem "почт").
 *
 * WHICH WORDS. The QN_WORD children of an AND that were typed (not synonyms, typos or
 * prefixes; phrases already demand adjacency), the first QRY_PROX_MAX_WORDS in query order.
 * One-word and OR-only queries have no such AND and pay nothing.
 *
 * WHERE THEY STAND. Only SEG_EXACT postings have positions (docs/FORMAT.md), so a word's
 * occurrences are those of its exact forms: the typed form, and the other inflections found
 * in the exact-form dictionary range that starts with the stem (Snowball stems are nearly
 * always prefixes of their forms), each re-stemmed to check it is one of the word's. The
 * range is cut short: forms more than QRY_PROX_SUFFIX characters longer than the stem are
 * not stemmed (an inflection adds an ending, not a word), at most QRY_PROX_SCAN candidates
 * are looked at and QRY_PROX_FORMS kept, per word, field and segment (plan.c opens them).
 * Missed: inflections whose stem is not a prefix (irregular forms: "ran" for "run", "шёл"
 * for "идти") and a stem's forms beyond the scan, whose documents get no proximity bonus.
 *
 * THE BONUS (term-pair proximity in the manner of BM25TP, Rasolofo & Savoy 2003, and of
 * Sphinx's proximity, which counts words standing in the query's order; with the best
 * occurrence instead of a sum, so a long document is not paid for its length, and not
 * pushed down for it either when its passage is good): for each pair of consecutive query
 * words i, i+1, over every field and pair of their forms, the fewest positions d from an
 * occurrence of i to a later one of i+1 gives 1/d^2 when d <= QRY_PROX_WINDOW (1 for
 * "электронная почта", 1/4 with one word between), 0 otherwise or in reverse order ("почта
 * электронная"); the pair adds that times min(idf_i, idf_i+1), and the sum times the weight
 * (qry_params.proximity) is added to the AND's score. Each pair adds at most its smaller
 * idf, so weight x the sum of those (qry_prox_bound) bounds every document's bonus: eval.c
 * adds it to the AND's ev_bound() and ev_window(), and pruning stays exact; a candidate's
 * bonus is computed only when that bound says it could enter.
 *
 * COST. Finding the forms stems a few dozen terms per word, field and segment, once: the
 * forms (struct seg_term, most frequent first) are kept in the segment's memo (seg_memo.c,
 * charged to the memory limit) under the field and the stem, so later searches of any form
 * of the word look them up (on corpus-large the scan was a third of the bonus's cost). Each
 * form is a postings iterator opened unstarted and advanced (with its positions decoded) only
 * for a document whose bonus is computed, and only in the fields where the word's stem is on
 * it. A top-k search computes a document's bonus only when the rest of its score plus the
 * largest bonus could enter (ev_offer_prox, eval.c): about half of the candidates that the
 * block bounds let through are settled without positions. Nothing here allocates, except the
 * memo's entries.
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

struct form_walk {
    struct stem_ctx *stem; /* borrowed */
    const char *stem_str;
    size_t stem_len;
    size_t stem_chars;
    struct seg_term *out; /* [QRY_PROX_FORMS] */
    size_t count;
    unsigned scanned;
    int rc; /* SD_ENOMEM from the stemmer */
};

/* Ends the walk (1, which no SD_ code is) once the forms or the scan are used up. */
static int on_form(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct form_walk *w = arg;
    if (stem_utf8_chars(term, len) <= w->stem_chars + QRY_PROX_SUFFIX) {
        w->scanned++;
        const char *stem = NULL;
        size_t stem_len = 0;
        int rc = stem_word(w->stem, term, len, &stem, &stem_len);
        if (rc == STEM_ENOMEM) {
            w->rc = SD_ENOMEM;
            return 1;
        }
        if (rc == STEM_OK && stem_len == w->stem_len && memcmp(stem, w->stem_str, stem_len) == 0) {
            w->out[w->count++] = *t;
        }
    }
    return w->count == QRY_PROX_FORMS || w->scanned == QRY_PROX_SCAN;
}

static int cmp_df_desc(const void *a, const void *b)
{
    const struct seg_term *x = a;
    const struct seg_term *y = b;
    return (x->df < y->df) - (x->df > y->df);
}

/* The stem's forms in field of seg found by the dictionary scan, most frequent first, into
 * out[QRY_PROX_FORMS] (*count), from the segment's memo when a search has scanned them
 * before: the memo key is PROX_MEMO_TAG, the field and the stem; the value the forms'
 * struct seg_term, which the scan derives from the segment alone. */
#define PROX_MEMO_TAG "prox-forms"
static int stem_forms(struct stem_ctx *stem, const struct seg *seg, unsigned field,
                      const char *stem_str, size_t stem_len, struct seg_term *out,
                      size_t *count, struct sd_error *err)
{
    char key[sizeof PROX_MEMO_TAG + STEM_MAX_TOKEN];
    size_t key_len = sizeof PROX_MEMO_TAG + stem_len; /* the tag, the field byte, the stem */
    const void *val = NULL;
    size_t val_len = 0;
    *count = 0;
    if (stem_len > STEM_MAX_TOKEN) {
        return SD_OK; /* no dictionary term is that long */
    }
    memcpy(key, PROX_MEMO_TAG, sizeof PROX_MEMO_TAG - 1);
    key[sizeof PROX_MEMO_TAG - 1] = (char)field; /* < SEG_MAX_SEG_FIELDS */
    memcpy(key + sizeof PROX_MEMO_TAG, stem_str, stem_len);
    if (seg_memo_get(seg, key, key_len, &val, &val_len) &&
        val_len <= QRY_PROX_FORMS * sizeof *out && val_len % sizeof *out == 0) {
        memcpy(out, val, val_len); /* the value need not be aligned for a struct seg_term */
        *count = val_len / sizeof *out;
        return SD_OK;
    }
    struct form_walk w = {.stem = stem,
                          .stem_str = stem_str,
                          .stem_len = stem_len,
                          .stem_chars = stem_utf8_chars(stem_str, stem_len),
                          .out = out};
    int rc = seg_term_prefix(seg, field, SEG_EXACT, stem_str, stem_len, on_form, &w, err);
    if (w.rc) {
        return sd_errorf(err, w.rc, "proximity: stemming forms");
    }
    if (rc != SD_OK && rc != 1) {
        return rc;
    }
    qsort(out, w.count, sizeof *out, cmp_df_desc);
    *count = w.count;
    /* Full (SD_ELIMIT) or out of memory: not remembered, this search has its forms anyway. */
    (void)seg_memo_put(seg, key, key_len, out, w.count * sizeof *out);
    return SD_OK;
}

int qry_prox_forms(struct stem_ctx *stem, const struct seg *seg, unsigned field,
                   const char *stem_str, size_t stem_len, const struct seg_term *typed,
                   struct seg_term *out, size_t *count, struct sd_error *err)
{
    struct seg_term found[QRY_PROX_FORMS];
    size_t nfound = 0;
    size_t n = 0;
    if (typed) {
        out[n++] = *typed;
    }
    int rc = stem_len > 0
                 ? stem_forms(stem, seg, field, stem_str, stem_len, found, &nfound, err)
                 : SD_OK;
    for (size_t i = 0; !rc && i < nfound && n < QRY_PROX_FORMS; i++) {
        if (!(typed && found[i].off == typed->off && found[i].len == typed->len)) {
            out[n++] = found[i]; /* the typed form first, then the most frequent */
        }
    }
    *count = n;
    return rc;
}

double qry_prox_bound(const struct ev_prox *px, const struct ev_prox_word *words)
{
    const struct ev_prox_word *w = words + px->first_word;
    double sum = 0;
    for (uint32_t i = 1; i < px->nwords; i++) {
        if (w[i - 1].count && w[i].count) {
            sum += w[i - 1].idf < w[i].idf ? w[i - 1].idf : w[i].idf;
        }
    }
    return px->weight * sum;
}

/* The first index in v[from, n) whose value is > x (n when none): gallops from `from`, so a
 * cursor that only moves forward pays for the distance it moves, not for n. */
static uint32_t first_above(const uint32_t *v, uint32_t from, uint32_t n, uint32_t x)
{
    uint32_t step = 1;
    uint32_t lo = from; /* every index below lo holds a value <= x */
    uint32_t hi = from;
    while (hi < n && v[hi] <= x) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    hi = hi < n ? hi : n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The shorter list is walked and the longer one searched: a rare word next to a common one
 * in a long document costs the rare word's occurrences, each a galloping step. */
void qry_prox_closest(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb,
                      uint32_t *fwd)
{
    uint32_t cur = 0;
    if (na <= nb) {
        for (uint32_t i = 0; i < na && (*fwd > 1); i++) { /* the first b after each a */
            cur = first_above(b, cur, nb, a[i]);
            if (cur == nb) {
                return;
            }
            *fwd = b[cur] - a[i] < *fwd ? b[cur] - a[i] : *fwd;
        }
        return;
    }
    for (uint32_t j = 0; j < nb && (*fwd > 1); j++) { /* the last a before each b */
        if (b[j] == 0) {
            continue; /* nothing stands before position 0 */
        }
        cur = first_above(a, cur, na, b[j] - 1);
        if (cur > 0) { /* a[cur - 1] <= b[j] - 1 */
            *fwd = b[j] - a[cur - 1] < *fwd ? b[j] - a[cur - 1] : *fwd;
        }
    }
}

/* One form's occurrences on the document being scored. */
struct occ {
    const uint32_t *pos; /* into the form's iterator, valid while it stays on the document */
    uint32_t n;
    uint8_t field;
};

#define PROX_OCCS 16 /* forms of one word on one document looked at (in the order kept) */

/* The stem's occurrences on doc in local field f (0 when it has none there): the word's
 * EV_TERMS node sits on doc, so the postings of the fields that have the stem are there. */
static uint32_t stem_tf(const struct ev *e, const struct ev_prox_word *w, unsigned f,
                        uint32_t doc)
{
    const struct ev_node *n = &e->nodes[w->terms];
    for (uint32_t i = 0; i < n->count; i++) {
        const struct ev_post *p = &e->posts[n->first + i];
        if (p->field == f && p->doc == doc) {
            return seg_postings_freq(p->it);
        }
    }
    return 0;
}

/* Word w's occurrences on doc into out[PROX_OCCS]; returns how many forms have some. Only
 * the fields where the stem is on doc are looked at, and in each only until the forms found
 * hold as many occurrences as the stem has there (each occurrence of the stem is one of a
 * form's): the forms left are not advanced, nothing of them is decoded. A positions error
 * sets e->rc. */
static uint32_t gather(struct ev *e, const struct ev_prox_word *w, uint32_t doc, struct occ *out)
{
    uint32_t count = 0;
    uint32_t left = 0; /* occurrences of the stem in the current field not yet found */
    uint8_t field = 0;
    for (uint32_t i = 0; i < w->count; i++) {
        struct ev_post *p = &e->posts[e->prox_posts[w->first + i]];
        if (i == 0 || p->field != field) { /* plan.c lists the forms field by field */
            field = p->field;
            left = stem_tf(e, w, field, doc);
        }
        if (left == 0) {
            continue;
        }
        if (!p->is_started || p->doc < doc) {
            p->doc = p->is_started ? ev_post_step(p, doc) : seg_postings_advance(p->it, doc);
            p->is_started = true;
        }
        const uint32_t *pos = NULL;
        uint32_t n = 0;
        int rc = p->doc == doc ? seg_postings_positions(p->it, &pos, &n) : SD_OK;
        if (rc) {
            e->rc = rc; /* SD_ENOMEM stays itself: the caller reports it as such */
            continue;
        }
        left = n < left ? left - n : 0;
        if (n > 0 && count < PROX_OCCS) {
            out[count++] = (struct occ){.pos = pos, .n = n, .field = p->field};
        }
    }
    return count;
}

/* How close words x and y (x typed first) stand, from their occurrences: 1/d^2 for the fewest
 * positions d from an x to a later y in one field, 0 when d > QRY_PROX_WINDOW. */
static double pair_closeness(const struct occ *x, uint32_t nx, const struct occ *y, uint32_t ny)
{
    uint32_t fwd = QRY_PROX_WINDOW + 1;
    for (uint32_t i = 0; i < nx && fwd > 1; i++) {
        for (uint32_t j = 0; j < ny && fwd > 1; j++) {
            if (x[i].field == y[j].field) {
                qry_prox_closest(x[i].pos, x[i].n, y[j].pos, y[j].n, &fwd);
            }
        }
    }
    return fwd > QRY_PROX_WINDOW ? 0 : 1.0 / ((double)fwd * fwd);
}

double ev_prox_bonus(struct ev *e, const struct ev_prox *px, uint32_t doc)
{
    const struct ev_prox_word *w = e->prox_words + px->first_word;
    struct occ occ[2][PROX_OCCS]; /* the previous word's and this one's */
    uint32_t nocc[2] = {gather(e, &w[0], doc, occ[0]), 0};
    double sum = 0;
    for (uint32_t i = 1; i < px->nwords; i++) {
        uint32_t cur = i & 1, prev = cur ^ 1;
        nocc[cur] = gather(e, &w[i], doc, occ[cur]);
        if (nocc[prev] && nocc[cur]) {
            double idf = w[i - 1].idf < w[i].idf ? w[i - 1].idf : w[i].idf;
            sum += idf * pair_closeness(occ[prev], nocc[prev], occ[cur], nocc[cur]);
        }
    }
    return px->weight * sum;
}
