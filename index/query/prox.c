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
 * THE BONUS (term-pair proximity in the manner of BM25TP, Rasolofo & Savoy 2003, with the
 * best occurrence instead of the sum, so a long document is not paid for its length and is
 * not pushed down for it either when its passage is good): for each pair of consecutive
 * query words i, i+1, over every field and pair of their forms' occurrences, the closest
 * d = pos(i+1) - pos(i) > 0 in the typed order gives 1/d^2, the closest in reverse order
 * half of that; the pair adds the larger, times min(idf_i, idf_i+1). The sum times the
 * weight (qry_params.proximity) is added to the AND's score. Each pair adds at most its
 * smaller idf, so weight x the sum of those (qry_prox_bound) bounds every document's
 * bonus: eval.c adds it to the AND's ev_bound() and ev_window(), and pruning stays exact.
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

/* The closest occurrences of a[0, na) and b[0, nb) (ascending): *fwd the smallest b - a > 0,
 * *back the smallest a - b > 0 (kept when smaller than on entry). One merge: the closest
 * pair in either order is adjacent in the merged order. */
static void closest(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb, uint32_t *fwd,
                    uint32_t *back)
{
    uint32_t i = 0, j = 0;
    uint32_t last_a = 0, last_b = 0;
    bool has_a = false, has_b = false;
    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i] <= b[j])) {
            if (has_b && a[i] > last_b && a[i] - last_b < *back) {
                *back = a[i] - last_b;
            }
            last_a = a[i++];
            has_a = true;
        } else {
            if (has_a && b[j] > last_a && b[j] - last_a < *fwd) {
                *fwd = b[j] - last_a;
            }
            last_b = b[j++];
            has_b = true;
        }
    }
}

/* The closeness in [0, 1] of words x and y (x typed first) on doc, where their posts sit. */
static double pair_closeness(struct ev *e, const struct ev_prox_word *x,
                             const struct ev_prox_word *y, uint32_t doc)
{
    uint32_t fwd = UINT32_MAX, back = UINT32_MAX;
    for (uint32_t i = 0; i < x->count && fwd > 1; i++) {
        struct ev_post *a = &e->posts[x->first + i];
        const uint32_t *pa = NULL;
        uint32_t na = 0;
        if (a->doc != doc || seg_postings_positions(a->it, &pa, &na)) {
            continue;
        }
        for (uint32_t j = 0; j < y->count && fwd > 1; j++) {
            struct ev_post *b = &e->posts[y->first + j];
            const uint32_t *pb = NULL;
            uint32_t nb = 0;
            if (b->doc != doc || b->field != a->field || seg_postings_positions(b->it, &pb, &nb)) {
                continue;
            }
            closest(pa, na, pb, nb, &fwd, &back);
        }
    }
    double f = fwd == UINT32_MAX ? 0 : 1.0 / ((double)fwd * fwd);
    double r = back == UINT32_MAX ? 0 : 0.5 / ((double)back * back);
    return f > r ? f : r;
}

/* Moves word w's posts to doc; false when a positions read fails there (e->rc set). */
static bool word_to_doc(struct ev *e, const struct ev_prox_word *w, uint32_t doc)
{
    for (uint32_t i = 0; i < w->count; i++) {
        struct ev_post *p = &e->posts[w->first + i];
        if (p->doc < doc) {
            p->doc = ev_post_step(p, doc);
        }
        const uint32_t *pos = NULL;
        uint32_t n = 0;
        int rc = p->doc == doc ? seg_postings_positions(p->it, &pos, &n) : SD_OK;
        if (rc) {
            e->rc = rc; /* SD_ENOMEM stays itself: the caller reports it as such */
            return false;
        }
    }
    return true;
}

double ev_prox_bonus(struct ev *e, const struct ev_prox *px, uint32_t doc)
{
    const struct ev_prox_word *w = e->prox_words + px->first_word;
    for (uint32_t i = 0; i < px->nwords; i++) {
        if (!word_to_doc(e, &w[i], doc)) {
            return 0;
        }
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
