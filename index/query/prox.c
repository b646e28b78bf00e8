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
 * COST. Finding the forms stems a few dozen terms per word, field and segment; each form is
 * a postings iterator opened unstarted and advanced (with its positions decoded) only for a
 * document whose bonus is computed, and only in the fields where the word's stem is on it.
 * Nothing here allocates.
 */
#include <string.h>

#include "eval_int.h"

struct form_walk {
    struct stem_ctx *stem; /* borrowed */
    const char *stem_str;
    size_t stem_len;
    size_t stem_chars;
    const struct seg_term *typed; /* NULL: not in this field */
    struct seg_term *out;
    size_t count;
    unsigned scanned;
    int rc; /* SD_ENOMEM from the stemmer */
};

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    }
    return n;
}

/* Ends the walk (1, which no SD_ code is) once the forms or the scan are used up. */
static int on_form(void *arg, const char *term, size_t len, const struct seg_term *t)
{
    struct form_walk *w = arg;
    bool is_typed = w->typed && t->off == w->typed->off && t->len == w->typed->len;
    if (!is_typed && utf8_chars(term, len) <= w->stem_chars + QRY_PROX_SUFFIX) {
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

int qry_prox_forms(struct stem_ctx *stem, const struct seg *seg, unsigned field,
                   const char *stem_str, size_t stem_len, const struct seg_term *typed,
                   struct seg_term *out, size_t *count, struct sd_error *err)
{
    struct form_walk w = {.stem = stem,
                          .stem_str = stem_str,
                          .stem_len = stem_len,
                          .stem_chars = utf8_chars(stem_str, stem_len),
                          .typed = typed,
                          .out = out};
    if (typed) {
        out[w.count++] = *typed;
    }
    int rc = stem_len > 0
                 ? seg_term_prefix(seg, field, SEG_EXACT, stem_str, stem_len, on_form, &w, err)
                 : SD_OK;
    *count = w.count;
    if (w.rc) {
        return sd_errorf(err, w.rc, "proximity: stemming forms");
    }
    return rc == 1 ? SD_OK : rc;
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

/* The fewest positions from an occurrence in a[0, na) to a later one in b[0, nb) (both
 * ascending), into *fwd when fewer than it holds. One merge: the closest such pair is
 * adjacent in the merged order. */
static void closest(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb, uint32_t *fwd)
{
    uint32_t i = 0, j = 0;
    uint32_t last_a = 0;
    bool has_a = false;
    while (j < nb) {
        if (i < na && a[i] < b[j]) {
            last_a = a[i++];
            has_a = true;
            continue;
        }
        if (has_a && b[j] - last_a < *fwd) {
            *fwd = b[j] - last_a;
        }
        j++;
    }
}

/* Word w's occurrences on doc in its form i: the positions, or none (*n 0) when the form is
 * not on doc or its positions cannot be read (e->rc set). */
static const uint32_t *positions(struct ev *e, const struct ev_prox_word *w, uint32_t i,
                                 uint32_t doc, uint32_t *n)
{
    struct ev_post *p = &e->posts[w->first + i];
    const uint32_t *pos = NULL;
    *n = 0;
    if (!p->is_started || p->doc != doc) {
        return NULL;
    }
    int rc = seg_postings_positions(p->it, &pos, n);
    if (rc) {
        e->rc = rc; /* SD_ENOMEM stays itself: the caller reports it as such */
        *n = 0;
    }
    return pos;
}

/* How close words x and y (x typed first) stand on doc, in [0, 1]: 1/d^2 for the fewest
 * positions d from an x to a later y in one field, 0 when d > QRY_PROX_WINDOW. */
static double pair_closeness(struct ev *e, const struct ev_prox_word *x,
                             const struct ev_prox_word *y, uint32_t doc)
{
    uint32_t fwd = QRY_PROX_WINDOW + 1;
    for (uint32_t i = 0; i < x->count && fwd > 1; i++) {
        uint32_t na = 0;
        const uint32_t *pa = positions(e, x, i, doc, &na);
        for (uint32_t j = 0; na > 0 && j < y->count && fwd > 1; j++) {
            uint32_t nb = 0;
            bool is_same_field = e->posts[y->first + j].field == e->posts[x->first + i].field;
            const uint32_t *pb = is_same_field ? positions(e, y, j, doc, &nb) : NULL;
            if (nb > 0) {
                closest(pa, na, pb, nb, &fwd);
            }
        }
    }
    return fwd > QRY_PROX_WINDOW ? 0 : 1.0 / ((double)fwd * fwd);
}

/* Whether word w's stem occurs on doc in local field f: its EV_TERMS node sits on doc, so
 * the stem's postings of the fields that have it are there. */
static bool stem_in_field(const struct ev *e, const struct ev_prox_word *w, unsigned f,
                          uint32_t doc)
{
    const struct ev_node *n = &e->nodes[w->terms];
    for (uint32_t i = 0; i < n->count; i++) {
        const struct ev_post *p = &e->posts[n->first + i];
        if (p->field == f && p->doc == doc) {
            return true;
        }
    }
    return false;
}

/* Moves word w's forms to doc (their first document >= doc) in the fields where its stem
 * occurs there: the others cannot be on doc, and are left behind undecoded. */
static void word_to_doc(struct ev *e, const struct ev_prox_word *w, uint32_t doc)
{
    for (uint32_t i = 0; i < w->count; i++) {
        struct ev_post *p = &e->posts[w->first + i];
        if (p->is_started && p->doc >= doc) {
            continue;
        }
        if (!stem_in_field(e, w, p->field, doc)) {
            continue;
        }
        p->doc = p->is_started ? ev_post_step(p, doc) : seg_postings_advance(p->it, doc);
        p->is_started = true;
    }
}

double ev_prox_bonus(struct ev *e, const struct ev_prox *px, uint32_t doc)
{
    const struct ev_prox_word *w = e->prox_words + px->first_word;
    for (uint32_t i = 0; i < px->nwords; i++) {
        word_to_doc(e, &w[i], doc);
    }
    double sum = 0;
    for (uint32_t i = 1; i < px->nwords; i++) {
        if (w[i - 1].count && w[i].count) {
            double idf = w[i - 1].idf < w[i].idf ? w[i - 1].idf : w[i].idf;
            sum += idf * pair_closeness(e, &w[i - 1], &w[i], doc);
        }
    }
    return px->weight * sum;
}
