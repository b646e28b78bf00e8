/*
 * lev.c: a Levenshtein automaton (Damerau: insert, delete, substitute and
 * transpose two neighbours, the "optimal string alignment" distance) for
 * walking a sorted term dictionary without visiting every term.
 *
 * The automaton for a word w and a bound k is kept as its state after each
 * character of the term being read: the row D[t][0..n] of the edit-distance
 * table (t characters of the term against every prefix of w, each entry capped
 * at k+1; only the band |t - i| <= k is computed, the rest is the cap). That is the state a
 * compiled DFA would reach (Schulz and Mihov's states are these rows, normalised), computed lazily
 * per character instead of built up front; with rows kept per depth, a term that shares a prefix
 * with the previous one (the dictionary is sorted, so neighbours do) resumes at the shared depth
 * and costs only its own suffix.
 *
 * Death: entries never decrease down a column by more than the diagonal
 * allows, so no extension of the term can come within k once
 *   min D[t] > k  and  min D[t-1] + 1 > k
 * (the second term is the transposition, which reaches back two rows). Then
 * every term that starts with these t characters is rejected. Two walkers use this:
 *
 * qry_lev_feed takes terms one at a time (snippets and highlighting feed the words of a text)
 * and, on a death, names the next string the automaton can still extend into a match
 * (next_live: back up to the last live depth and take the smallest live character after the
 * term's own, Lucene's nextString), for a caller that can seek.
 *
 * qry_lev_walk intersects the automaton with a dictionary in memory (seg_exact_terms: a trie
 * of characters whose children sit side by side), depth first: a node is a prefix, t
 * characters, with row t alive. Only the word's characters in the band of the next row
 * ([t-k-1, t+k]) can give that row anything but the row of "any other character", so one step
 * with a character no word has decides all the rest: when that row is dead, a child whose
 * character is outside the band is passed over with a comparison; when it is alive (an edit
 * is left to spend), every child is visited, and those outside the band share that row
 * instead of computing it again. On corpus-large's typo sets the sorted arrays this walked
 * before (a binary search per child) cost a third more than the trie; the front-coded blocks
 * before them (a block decoded per seek) about 4x more (bench/RESULTS.md, issue 12).
 *
 * The first letter counts double, as in Meilisearch: substituting or deleting
 * it, or inserting a letter before it, costs 2 edits (swapping it with the
 * second costs 1). People rarely get the first letter wrong, and with it fixed
 * a one-edit walk reads only the terms that start with it: on corpus-large
 * this made a typo query about 10x cheaper.
 *
 * Characters are Unicode code points (so "дипломатия" has 10, not 20), read
 * from UTF-8; a byte that starts no valid sequence counts as one character (seg_utf8_next,
 * which the trie splits terms with too).
 */
#include <string.h>

#include "query_int.h"

int qry_lev_init(struct qry_lev *a, const char *word, size_t len, unsigned k)
{
    memset(a, 0, sizeof *a);
    const unsigned char *s = (const unsigned char *)word;
    for (size_t i = 0; i < len;) {
        if (a->n == QRY_LEV_MAX_CHARS) {
            return SD_ELIMIT;
        }
        i += seg_utf8_next(s, len, i, &a->word[a->n++]);
    }
    a->k = k > QRY_LEV_MAX_EDITS ? QRY_LEV_MAX_EDITS : k;
    /* every cell starts at the cap: a step writes only its band (see step) */
    memset(a->rows, (int)(a->k + 1), sizeof a->rows);
    for (size_t i = 0; i <= a->n; i++) {
        unsigned v = i == 0 ? 0 : (unsigned)i + 1; /* deleting the first letter costs 2 */
        a->rows[0][i] = (uint8_t)(v <= a->k ? v : a->k + 1);
    }
    a->row_min[0] = 0;
    a->depth = 0;
    a->prev_len = 0;
    return SD_OK;
}

static unsigned min3(unsigned a, unsigned b, unsigned c)
{
    unsigned m = a < b ? a : b;
    return m < c ? m : c;
}

/* Computes row t+1 from row t (and t-1) for term character cp. Only the band |t+1 - i| <= k
 * can hold values within k (each edit moves the lengths at most one apart): cells outside it
 * are the cap, written once by qry_lev_init (the band of a row depends on its depth only, so
 * no step ever writes outside it). Edits at the word's first letter cost 2 (see the file
 * comment). */
static void step(struct qry_lev *a, size_t t, uint32_t cp)
{
    const uint8_t *prev = a->rows[t];
    uint8_t *row = a->rows[t + 1];
    unsigned cap = a->k + 1;
    size_t lo = t + 1 > a->k + 1 ? t + 1 - a->k : 1;
    size_t hi = t + 1 + a->k < a->n ? t + 1 + a->k : a->n;
    row[0] = (uint8_t)(t + 2 < cap ? t + 2 : cap); /* t+1 letters inserted before the first */
    uint8_t mn = row[0];
    for (size_t i = lo; i <= hi; i++) {
        unsigned first = i == 1; /* an edit of the word's first letter costs one more */
        unsigned sub = a->word[i - 1] != cp ? 1 + first : 0;
        unsigned v = min3(prev[i] + 1u, row[i - 1] + 1u + first, prev[i - 1] + sub);
        if (t >= 1 && i >= 2 && cp == a->word[i - 2] && a->chars[t - 1] == a->word[i - 1]) {
            unsigned tr = a->rows[t - 1][i - 2] + 1u;
            v = tr < v ? tr : v;
        }
        row[i] = (uint8_t)(v < cap ? v : cap);
        mn = row[i] < mn ? row[i] : mn;
    }
    a->chars[t] = cp;
    a->row_min[t + 1] = mn;
}

static bool is_dead(const struct qry_lev *a, size_t t)
{
    return a->row_min[t] > a->k && (t == 0 || a->row_min[t - 1] + 1u > a->k);
}

/* A code point no word holds: its row is that of every character outside the word. */
#define LEV_OTHER 0x110000u

/* Whether c is one of chars[0, n) (a word's characters, or a window of them). */
static bool in_window(const uint32_t *chars, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++) {
        if (chars[i] == c) {
            return true;
        }
    }
    return false;
}

/* The smallest character after x that keeps the automaton alive at depth d (rows 0..d valid),
 * or LEV_OTHER. Only the word's own characters change a row; every other character gives the
 * same row, so one probe decides them all, and the first of them after x is the answer. */
static uint32_t next_live_char(struct qry_lev *a, size_t d, uint32_t x)
{
    uint32_t best = LEV_OTHER;
    step(a, d, LEV_OTHER);
    if (!is_dead(a, d + 1)) {
        uint32_t c = x + 1;
        while (c < LEV_OTHER && in_window(a->word, a->n, c)) {
            c++;
        }
        best = c;
    }
    for (size_t i = 0; i < a->n; i++) {
        uint32_t c = a->word[i];
        if (c > x && c < best) {
            step(a, d, c);
            if (!is_dead(a, d + 1)) {
                best = c;
            }
        }
    }
    return best;
}

/* The term died on its character t-1: the smallest string after it that the automaton can
 * still extend into a match (Lucene's nextString). Backtracks from the last live depth; at
 * each, the smallest live character after the term's own. */
static int next_live(struct qry_lev *a, const char *term, size_t t, char *seek, size_t *seek_len)
{
    for (size_t d = t; d-- > 0;) {
        uint32_t c = next_live_char(a, d, a->chars[d]);
        if (c >= LEV_OTHER) {
            continue;
        }
        size_t pre = d ? a->ends[d - 1] : 0;
        if (pre + 4 > STEM_MAX_TOKEN) {
            break;
        }
        memcpy(seek, term, pre);
        *seek_len = pre + stem_utf8_encode((int32_t)c, seek + pre);
        a->depth = d; /* rows past d were overwritten by the probes */
        return QRY_LEV_SEEK;
    }
    a->depth = 0;
    return QRY_LEV_DONE;
}

int qry_lev_feed(struct qry_lev *a, const char *term, size_t len, unsigned *dist, char *seek,
                 size_t *seek_len)
{
    const unsigned char *s = (const unsigned char *)term;
    /* resume at the characters this term shares whole with the previous one */
    size_t same = 0;
    size_t max = len < a->prev_len ? len : a->prev_len;
    while (same < max && s[same] == a->prev[same]) {
        same++;
    }
    size_t t = 0;
    while (t < a->depth && a->ends[t] <= same) {
        t++;
    }
    size_t keep = len < sizeof a->prev ? len : sizeof a->prev;
    memcpy(a->prev, s, keep);
    a->prev_len = keep;
    size_t i = t ? a->ends[t - 1] : 0;
    *seek_len = 0;
    while (i < len) {
        if (t + 1 >= QRY_LEV_MAX_ROWS) {
            a->depth = t;
            return QRY_LEV_NO; /* longer than any match could be (n + k < QRY_LEV_MAX_ROWS - 1) */
        }
        uint32_t cp;
        i += seg_utf8_next(s, len, i, &cp);
        step(a, t, cp);
        a->ends[t] = i;
        t++;
        if (is_dead(a, t)) {
            return next_live(a, term, t, seek, seek_len);
        }
    }
    a->depth = t;
    unsigned d = a->rows[t][a->n];
    if (d > a->k) {
        return QRY_LEV_NO;
    }
    *dist = d;
    return QRY_LEV_MATCH;
}

bool qry_lev_match_prefix(struct qry_lev *a, const char *term, size_t len, unsigned *dist)
{
    const unsigned char *s = (const unsigned char *)term;
    a->depth = 0; /* the rows are overwritten: a term fed next starts over */
    a->prev_len = 0;
    unsigned best = a->rows[0][a->n];
    size_t t = 0;
    for (size_t i = 0; i < len && best > 0 && t + 1 < QRY_LEV_MAX_ROWS;) {
        uint32_t cp;
        i += seg_utf8_next(s, len, i, &cp);
        step(a, t, cp);
        t++;
        best = a->rows[t][a->n] < best ? a->rows[t][a->n] : best;
        if (is_dead(a, t)) {
            break; /* no longer prefix comes within k */
        }
    }
    *dist = best;
    return best <= a->k;
}

/* ---- the walk: the automaton intersected with a dictionary in memory ---- */

struct lev_walk {
    struct qry_lev *a;
    const struct seg_exact_terms *t; /* borrowed */
    const struct seg_trie_node *nodes; /* t's */
    const unsigned *fields; /* borrowed: the fields whose df counts */
    size_t nfields;
    qry_lev_fn fn;
    void *arg;
    char term[STEM_MAX_TOKEN + 4]; /* the bytes of the path from the root (a trie's terms
                                    * are tokens: at most STEM_MAX_TOKEN bytes) */
    /* per depth t: whether "any other character" after the row of "any other character" at
     * depth t is dead (1), alive (0) or not yet known (-1) under the current parent */
    int8_t other_other_dead[QRY_LEV_MAX_ROWS];
};

/* The word characters that can make row t+1 differ from the row of "any other character": only
 * a match of a word character in the band (or a transposition, one further back) lowers a cell,
 * and the band of row t+1 covers word characters [t-k-1, t+k]. Returns where they start in
 * a->word; *n says how many (at most 2k+2). */
static const uint32_t *band_window(const struct qry_lev *a, size_t t, size_t *n)
{
    size_t lo = t > a->k ? t - a->k - 1 : 0;
    size_t hi = t + a->k < a->n ? t + a->k + 1 : a->n;
    *n = hi > lo ? hi - lo : 0;
    return a->word + lo;
}

/* Reports the term ending at node x (the path term[0, len)) at distance dist, with its df
 * summed over the walk's fields, unless none of them has it. */
static int report(struct lev_walk *w, uint32_t x, size_t len, unsigned dist)
{
    const uint32_t *row = w->t->df + (size_t)w->t->term[x] * w->t->nfields;
    uint32_t df = 0;
    for (size_t i = 0; i < w->nfields; i++) {
        df += row[w->fields[i]];
    }
    return df ? w->fn(w->arg, w->term, len, dist, df) : SD_OK;
}

/* Node x is the path term[0, len), and every edit is spent: the word characters that can
 * come next are those after the cells of the last row still at k (bit i of `cells`: the
 * path matches word[0, i) in k edits), and a term is reported, at distance k, only where a
 * cell reaches the word's end. No row is stepped: with every cell at k and the row before
 * unable to give a transposition at k (is_spent), only a character equal to the next word
 * character keeps a cell at k, and every other cell is above k. */
static int visit_spent(struct lev_walk *w, uint32_t x, uint64_t cells, size_t len)
{
    const struct qry_lev *a = w->a;
    const struct seg_trie_node *nd = &w->nodes[x];
    if ((cells >> a->n & 1) && (nd->ch & SEG_TRIE_TERM)) {
        int rc = report(w, x, len, a->k);
        if (rc) {
            return rc;
        }
    }
    cells &= ~(1ull << a->n);
    uint64_t want = 0; /* bit c % 64 of each character that can come next */
    for (uint64_t m = cells; m != 0; m &= m - 1) {
        want |= 1ull << (a->word[__builtin_ctzll(m)] & 63);
    }
    for (uint32_t c = nd->kids; c != 0 && cells != 0; c++) {
        const struct seg_trie_node *kid = &w->nodes[c];
        uint32_t cp = kid->ch & SEG_TRIE_CP;
        uint64_t next = 0;
        for (uint64_t m = (want >> (cp & 63) & 1) ? cells : 0; m != 0; m &= m - 1) {
            unsigned i = (unsigned)__builtin_ctzll(m);
            next |= (uint64_t)(a->word[i] == cp) << (i + 1);
        }
        if (next != 0) {
            size_t clen = seg_trie_char_bytes(kid->ch, w->term + len);
            int rc = visit_spent(w, c, next, len + clen);
            if (rc) {
                return rc;
            }
        }
        if (kid->ch & SEG_TRIE_LAST) {
            break;
        }
    }
    return SD_OK;
}

/* Whether every edit is spent at depth t: row t is at k or above everywhere, and no
 * transposition of the term's last character with the next can still come in at k (that
 * needs a cell of row t-1 below k, at a word character equal to the term's last one). */
static bool is_spent(const struct qry_lev *a, size_t t)
{
    if (t == 0 || a->row_min[t] != a->k) {
        return false;
    }
    if (a->row_min[t - 1] >= a->k) {
        return true;
    }
    uint32_t last = a->chars[t - 1];
    size_t lo = t + 1 > a->k + 2 ? t + 1 - a->k : 2; /* the band of row t-1, shifted by 2 */
    size_t hi = t + 1 + a->k < a->n ? t + 1 + a->k : a->n;
    for (size_t i = lo; i <= hi; i++) {
        if (a->word[i - 1] == last && a->rows[t - 1][i - 2] < a->k) {
            return false;
        }
    }
    return true;
}

/* Node x of the trie is the path term[0, len), t characters, and row t is alive. The term
 * that ends here (if any) is reported when within k; then every child whose row t+1 is alive
 * is visited. A character outside the band's window gives row t+1 exactly the row of "any
 * other character", stepped once per node: when that row is dead, only the window's
 * characters are stepped (a test per child, no step); when alive, the others reuse it (only
 * their character is recorded, for transpositions further down). Siblings that all hold that
 * shared row (is_other: x's character is outside its parent's window) step "any other
 * character" after it to the same row (the step reads no character of theirs: a
 * transposition needs a word character), so the first of them tells the rest when it dies. */
static int visit(struct lev_walk *w, uint32_t x, size_t t, size_t len, bool is_other)
{
    struct qry_lev *a = w->a;
    const struct seg_trie_node *nd = &w->nodes[x];
    if (nd->ch & SEG_TRIE_TERM) {
        unsigned dist = a->rows[t][a->n];
        if (dist <= a->k) {
            int rc = report(w, x, len, dist);
            if (rc) {
                return rc;
            }
        }
    }
    if (nd->kids == 0 || t >= QRY_LEV_MAX_ROWS - 1) {
        return SD_OK; /* no match is longer than n + k < QRY_LEV_MAX_ROWS - 1 characters */
    }
    if (is_spent(a, t)) {
        uint64_t cells = 0; /* every edit spent: the rest must be the word's, as typed */
        size_t hi = t + a->k < a->n ? t + a->k : a->n; /* row t's band: the rest is the cap */
        for (size_t i = t > a->k ? t - a->k : 0; i <= hi; i++) {
            cells |= (uint64_t)(a->rows[t][i] == a->k) << i;
        }
        return visit_spent(w, x, cells & ~(1ull << a->n), len);
    }
    bool is_other_live = false;
    bool is_other_row = false; /* row t+1 is that of "any other character" */
    if (!is_other || w->other_other_dead[t] != 1) {
        step(a, t, LEV_OTHER);
        is_other_live = !is_dead(a, t + 1);
        is_other_row = true;
        if (is_other) {
            w->other_other_dead[t] = !is_other_live;
        }
    }
    size_t nwin;
    const uint32_t *win = band_window(a, t, &nwin);
    uint64_t in_mask = 0; /* bit c % 64 of each window character: most children fail it */
    for (size_t i = 0; i < nwin; i++) {
        in_mask |= 1ull << (win[i] & 63);
    }
    w->other_other_dead[t + 1] = -1; /* the children below have a new shared row */
    for (uint32_t c = nd->kids;; c++) {
        const struct seg_trie_node *kid = &w->nodes[c];
        uint32_t cp = kid->ch & SEG_TRIE_CP;
        bool is_alive = is_other_live;
        bool is_in = (in_mask >> (cp & 63) & 1) && in_window(win, nwin, cp);
        if (is_in) {
            step(a, t, cp);
            is_other_row = false;
            is_alive = !is_dead(a, t + 1);
        } else if (is_alive && !is_other_row) {
            step(a, t, cp);
            is_other_row = true;
        } else {
            a->chars[t] = cp;
        }
        if (is_alive) {
            size_t clen = seg_trie_char_bytes(kid->ch, w->term + len);
            int rc = visit(w, c, t + 1, len + clen, !is_in);
            if (rc) {
                return rc;
            }
        }
        if (kid->ch & SEG_TRIE_LAST) {
            return SD_OK;
        }
    }
}

/* ---- the prefix walk: terms that start within k edits of the word ---- */

/* Reports every term of node x's subtree (x is the path term[0, len)) at distance dist: the
 * path's prefix already lies within k, and so does any term that extends it. */
static int visit_all(struct lev_walk *w, uint32_t x, size_t len, unsigned dist)
{
    const struct seg_trie_node *nd = &w->nodes[x];
    if (nd->ch & SEG_TRIE_TERM) {
        int rc = report(w, x, len, dist);
        if (rc) {
            return rc;
        }
    }
    for (uint32_t c = nd->kids; c != 0; c++) {
        const struct seg_trie_node *kid = &w->nodes[c];
        if (len + 4 <= sizeof w->term) { /* always: a term has at most STEM_MAX_TOKEN bytes */
            size_t clen = seg_trie_char_bytes(kid->ch, w->term + len);
            int rc = visit_all(w, c, len + clen, dist);
            if (rc) {
                return rc;
            }
        }
        if (kid->ch & SEG_TRIE_LAST) {
            break;
        }
    }
    return SD_OK;
}

/* Node x is the path term[0, len), t characters, with row t computed; best is the least
 * distance of the word from a shorter prefix of the path (above k: none within k). A term is
 * reported at the least distance of the word from any of its prefixes. While the automaton
 * lives, a longer prefix may still come closer (a deletion spent early is taken back by the
 * word's own next letters), so children are stepped; a child where it dies holds terms at
 * `best` when that is within k, and nothing otherwise. The shortcuts of visit are not taken:
 * this walk runs for one word of a query (the word being typed), not for every typo. */
static int visit_prefix(struct lev_walk *w, uint32_t x, size_t t, size_t len, unsigned best)
{
    struct qry_lev *a = w->a;
    const struct seg_trie_node *nd = &w->nodes[x];
    unsigned d = a->rows[t][a->n];
    best = d < best ? d : best;
    if (best == 0) {
        return visit_all(w, x, len, 0); /* the word itself starts every term below */
    }
    if ((nd->ch & SEG_TRIE_TERM) && best <= a->k) {
        int rc = report(w, x, len, best);
        if (rc) {
            return rc;
        }
    }
    for (uint32_t c = nd->kids; c != 0; c++) {
        const struct seg_trie_node *kid = &w->nodes[c];
        size_t clen = seg_trie_char_bytes(kid->ch, w->term + len);
        bool is_alive = false;
        if (t + 1 < QRY_LEV_MAX_ROWS) {
            step(a, t, kid->ch & SEG_TRIE_CP);
            is_alive = !is_dead(a, t + 1);
        }
        int rc = SD_OK;
        if (is_alive) {
            rc = visit_prefix(w, c, t + 1, len + clen, best);
        } else if (best <= a->k) {
            rc = visit_all(w, c, len + clen, best);
        }
        if (rc) {
            return rc;
        }
        if (kid->ch & SEG_TRIE_LAST) {
            break;
        }
    }
    return SD_OK;
}

/* The child of node x whose character is cp of clen bytes, or 0. */
static uint32_t find_child(const struct seg_trie_node *nodes, uint32_t x, uint32_t cp, size_t clen)
{
    uint32_t ch = seg_trie_char(cp, clen);
    for (uint32_t c = nodes[x].kids; c != 0; c++) {
        const struct seg_trie_node *kid = &nodes[c];
        if ((kid->ch & SEG_TRIE_CHAR) == ch) {
            return c;
        }
        if (kid->ch & SEG_TRIE_LAST) {
            break;
        }
    }
    return 0;
}

/* qry_lev_walk and qry_lev_walk_prefix: the automaton run down the trie along prefix (the
 * path every term must start with), then the walk of the mode from there. */
static int walk(struct qry_lev *a, const struct seg_exact_terms *t, const unsigned *fields,
                size_t nfields, const char *prefix, size_t prefix_len, bool is_prefix_mode,
                qry_lev_fn fn, void *arg)
{
    a->depth = 0; /* a term fed next starts over: the walk overwrites the rows */
    a->prev_len = 0;
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i] >= t->nfields) {
            return SD_OK; /* a field the segment does not have: no term */
        }
    }
    if (t->root == SEG_TRIE_NONE || nfields == 0) {
        return SD_OK;
    }
    struct lev_walk *w = &(struct lev_walk){.a = a,
                                            .t = t,
                                            .nodes = t->nodes,
                                            .fields = fields,
                                            .nfields = nfields,
                                            .fn = fn,
                                            .arg = arg};
    uint32_t x = t->root;
    const unsigned char *p = (const unsigned char *)prefix;
    size_t depth = 0;
    unsigned best = a->rows[0][a->n]; /* prefix mode: the least distance on the path */
    for (size_t i = 0; i < prefix_len;) {
        if (depth + 1 >= QRY_LEV_MAX_ROWS || i + 4 > sizeof w->term) {
            return SD_OK;
        }
        uint32_t cp;
        size_t clen = seg_utf8_next(p, prefix_len, i, &cp);
        x = find_child(t->nodes, x, cp, clen);
        if (x == 0) {
            return SD_OK; /* no term starts with the prefix */
        }
        memcpy(w->term + i, p + i, clen);
        i += clen;
        step(a, depth, cp);
        depth++;
        if (is_dead(a, depth)) {
            return is_prefix_mode && best <= a->k ? visit_all(w, x, i, best) : SD_OK;
        }
        best = a->rows[depth][a->n] < best ? a->rows[depth][a->n] : best;
    }
    return is_prefix_mode ? visit_prefix(w, x, depth, prefix_len, best)
                          : visit(w, x, depth, prefix_len, false);
}

int qry_lev_walk(struct qry_lev *a, const struct seg_exact_terms *t, const unsigned *fields,
                 size_t nfields, const char *prefix, size_t prefix_len, qry_lev_fn fn,
                 void *arg)
{
    return walk(a, t, fields, nfields, prefix, prefix_len, false, fn, arg);
}

int qry_lev_walk_prefix(struct qry_lev *a, const struct seg_exact_terms *t,
                        const unsigned *fields, size_t nfields, const char *prefix,
                        size_t prefix_len, qry_lev_fn fn, void *arg)
{
    return walk(a, t, fields, nfields, prefix, prefix_len, true, fn, arg);
}

unsigned qry_lev_max_edits(const char *word, size_t len)
{
    size_t chars = stem_utf8_chars(word, len);
    return chars >= QRY_TYPO_TWO_EDITS ? 2 : chars >= QRY_TYPO_ONE_EDIT ? 1 : 0;
}

size_t qry_lev_prefix_len(const char *word, size_t len, size_t chars)
{
    size_t seen = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)word[i] & 0xC0) != 0x80 && seen++ == chars) {
            return i; /* the lead byte of character `chars` (from 0) */
        }
    }
    return len;
}
