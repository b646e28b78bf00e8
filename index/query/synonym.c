/*
 * synonym.c: a parsed query read with an index's synonyms and stopwords (qry_with_lexicon), and
 * the cap that keeps a synonym from outscoring what was typed (qry_synonym_caps).
 *
 * THE REWRITE copies the tree node by node into new arrays (nodes and terms; the string pool is
 * copied whole and the synonyms' stems appended), so a dropped word leaves no orphan leaf that
 * snippets, highlights or the unknown-word count would still see. On the way:
 *
 *   1. Synonyms. A positive QN_WORD, or a run of consecutive positive QN_WORD siblings of an AND
 *      in one field (the words as typed, in order), that equals a synonym source by stems (so
 *      any inflection of a member counts) becomes
 *          QN_OR[QRY_SYN_GROUP]( the typed word(s) , synonym , synonym ... )
 *      longest source first ("искусственный интеллект" before "интеллект"). A one-word synonym is
 *      a QN_WORD[QRY_SYN_WORD] of its stem: every inflection matches (a word whose stem is too
 *      short to stand for it, "ИИ" -> "и", is compared and matched by its form: lexicon_int.h;
 *      so is the typed word it matched, in the group). A multi-word one is an AND
 *      of such words, not a phrase: phrases here match exact forms at consecutive positions, so
 *      "ИИ" -> "искусственный интеллект" as a phrase would miss "искусственного интеллекта", the
 *      form Russian text mostly has; the AND matches it, and BM25 over the two words ranks the
 *      documents that use the term. Phrases, prefixes and exclusions are not expanded: quotes
 *      ask for exactly those words, and excluding synonyms the user did not write would hide
 *      documents. A synonym that stems like the typed words, or like an earlier synonym, is left
 *      out; so are synonyms past QRY_MAX_TERMS words in the whole query (first come first).
 *   2. Stopwords. A QN_WORD whose typed (folded) form is a stopword is dropped; QN_EXACT and
 *      QN_PHRASE (quoted text, compounds) never are. When an AND would be left with nothing to
 *      match, that AND keeps its stopwords; when the whole query would be empty, it keeps them
 *      all ("the who" stays a query).
 *
 * THE CAP. After stats.c has each term's idf, every synonym word's idf is lowered to at most the
 * smallest idf among the typed words of its group divided by the synonym's word count. So at equal
 * term frequencies and lengths a document matching a synonym never scores above one matching what
 * was typed (which alone also has the exact-form bonus); the block-max bounds are built from the
 * same capped idf and stay exact.
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"
#include "lexicon_int.h"

struct rw {
    const struct qry_lexicon *lex;
    const struct qry *q;
    struct qry_vec nodes;   /* struct qry_node */
    struct qry_vec terms;   /* struct qry_term */
    struct qry_vec strings; /* char: q's pool, then the synonyms' stems */
    size_t budget;          /* words the synonyms may still add */
    bool keep_stops;        /* below an AND that dropping them would empty */
    bool is_changed;
    struct sd_error *err;
};

/* Where the output stood, to roll a subtree back. */
struct rw_mark {
    size_t nodes, terms, strings, budget;
    bool is_changed;
};

static struct rw_mark rw_mark(const struct rw *w)
{
    return (struct rw_mark){w->nodes.count, w->terms.count, w->strings.count, w->budget,
                            w->is_changed};
}

static void rw_rollback(struct rw *w, struct rw_mark m)
{
    w->nodes.count = m.nodes;
    w->terms.count = m.terms;
    w->strings.count = m.strings;
    w->budget = m.budget;
    w->is_changed = m.is_changed;
}

static struct qry_node *rw_node(struct rw *w, int32_t i)
{
    return (struct qry_node *)w->nodes.data + i;
}

/* A node like tmpl, without links or terms. */
static int rw_new_node(struct rw *w, const struct qry_node *tmpl, int32_t *out)
{
    struct qry_node *n = qry_vec_push(&w->nodes, sizeof *n);
    if (!n) {
        return sd_errorf(w->err, SD_ENOMEM, "synonyms");
    }
    *n = *tmpl;
    n->first_child = QRY_NONE;
    n->next_sibling = QRY_NONE;
    *out = (int32_t)(w->nodes.count - 1);
    return SD_OK;
}

static void rw_link(struct rw *w, int32_t parent, int32_t *tail, int32_t child)
{
    if (*tail == QRY_NONE) {
        rw_node(w, parent)->first_child = child;
    } else {
        rw_node(w, *tail)->next_sibling = child;
    }
    *tail = child;
}

/* A copy of leaf `old` with copies of its terms (their strings are the same offsets). */
static int rw_copy_leaf(struct rw *w, int32_t old, int32_t *out)
{
    const struct qry_node *n = &w->q->nodes[old];
    uint32_t first = (uint32_t)w->terms.count;
    for (uint32_t i = 0; i < n->term_count; i++) {
        struct qry_term *t = qry_vec_push(&w->terms, sizeof *t);
        if (!t) {
            return sd_errorf(w->err, SD_ENOMEM, "synonyms");
        }
        *t = w->q->terms[n->term + i];
    }
    int rc = rw_new_node(w, n, out);
    if (!rc) {
        rw_node(w, *out)->term = first;
    }
    return rc;
}

/* ---- matching ---- */

/* A word as typed, that synonyms may replace (not one of their own). */
static bool is_typed_word(const struct qry *q, int32_t i)
{
    return q->nodes[i].type == QN_WORD && q->nodes[i].syn_role == QRY_SYN_NONE &&
           q->nodes[i].term_count == 2;
}

/* Whether node is the word being typed, QN_OR[QRY_SYN_TYPING](word, word*) (parse_simple.c),
 * with its word still a typed word: it may end a run of words that a multi-word source matches
 * ("искусственный интеллект" typed in a search box), as the word. */
static bool is_typing_run_end(const struct qry *q, int32_t i)
{
    const struct qry_node *n = &q->nodes[i];
    return n->type == QN_OR && n->syn_role == QRY_SYN_TYPING && n->first_child != QRY_NONE &&
           is_typed_word(q, n->first_child);
}

/* The word node of run element i: itself, or the word of the word being typed. */
static int32_t run_word(const struct qry *q, int32_t i)
{
    return q->nodes[i].type == QN_OR ? q->nodes[i].first_child : i;
}

/* The term of a typed word (or of the word being typed: run_word) a member word of this kind
 * is compared with: its stem, or its folded typed form. */
static const struct qry_term *word_term(const struct qry *q, int32_t node, uint8_t kind)
{
    return &q->terms[q->nodes[run_word(q, node)].term + (kind == SEG_EXACT)];
}

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static const struct lex_member *lex_member(const struct qry_lexicon *lex, uint32_t i)
{
    return (const struct lex_member *)lex->members.data + i;
}

/* Whether member m's words are words run[0, m->nwords) (run has n). */
static bool member_matches(const struct rw *w, const struct lex_member *m, const int32_t *run,
                           size_t n)
{
    if (m->nwords > n) {
        return false;
    }
    const struct lex_word *ws = lex_member_words(w->lex, m);
    for (uint32_t i = 0; i < m->nwords; i++) {
        const struct qry_term *t = word_term(w->q, run[i], ws[i].kind);
        if (!str_eq(lex_word_str(w->lex, &ws[i]), ws[i].len, qry_term_str(w->q, t), t->len)) {
            return false;
        }
    }
    return true;
}

static bool members_equal(const struct qry_lexicon *lex, const struct lex_member *a,
                          const struct lex_member *b)
{
    if (a->nwords != b->nwords) {
        return false;
    }
    const struct lex_word *x = lex_member_words(lex, a), *y = lex_member_words(lex, b);
    for (uint32_t i = 0; i < a->nwords; i++) {
        if (x[i].kind != y[i].kind ||
            !str_eq(lex_word_str(lex, &x[i]), x[i].len, lex_word_str(lex, &y[i]), y[i].len)) {
            return false;
        }
    }
    return true;
}

/* Calls fn (when not NULL) for each source that matches run[0, n) with exactly k words (k 0:
 * any); *longest is the most words any matching source has. A source's first word is looked up
 * by the stem of run[0] and by its typed form (lexicon_int.h: short words go by form). */
typedef int (*source_fn)(struct rw *w, const struct lex_source *src, void *arg);

static int each_source(struct rw *w, const int32_t *run, size_t n, uint32_t k, source_fn fn,
                       void *arg, uint32_t *longest)
{
    const struct qry_term *keys[2] = {word_term(w->q, run[0], SEG_STEM),
                                      word_term(w->q, run[0], SEG_EXACT)};
    const struct lex_source *src = w->lex->sources.data;
    *longest = 0;
    for (int k2 = 0; k2 < 2; k2++) {
        const char *key = qry_term_str(w->q, keys[k2]);
        size_t key_len = keys[k2]->len;
        if (k2 == 1 && str_eq(key, key_len, qry_term_str(w->q, keys[0]), keys[0]->len)) {
            break; /* the word is its own stem: one lookup did it */
        }
        for (size_t i = lex_first_source(w->lex, key, key_len); i < w->lex->sources.count; i++) {
            const struct lex_member *m = lex_member(w->lex, src[i].member);
            const struct lex_word *w0 = lex_member_words(w->lex, m);
            if (!str_eq(lex_word_str(w->lex, w0), w0->len, key, key_len)) {
                break;
            }
            if ((k && m->nwords != k) || !member_matches(w, m, run, n)) {
                continue;
            }
            *longest = m->nwords > *longest ? m->nwords : *longest;
            int rc = fn ? fn(w, &src[i], arg) : SD_OK;
            if (rc) {
                return rc;
            }
        }
    }
    return SD_OK;
}

/* The synonyms of one match, gathered before any node is made. */
struct targets {
    const int32_t *run;
    uint32_t k;
    bool by_form[QRY_SYN_MAX_WORDS]; /* a matching source compares typed word i by its form */
    uint32_t member[QRY_MAX_TERMS];
    size_t count;
};

static int gather_targets(struct rw *w, const struct lex_source *src, void *arg)
{
    struct targets *t = arg;
    const struct lex_rule *r = (const struct lex_rule *)w->lex->rules.data + src->rule;
    const struct lex_word *sw = lex_member_words(w->lex, lex_member(w->lex, src->member));
    for (uint32_t i = 0; i < t->k; i++) {
        t->by_form[i] |= sw[i].kind == SEG_EXACT;
    }
    for (uint32_t i = 0; i < r->count; i++) {
        uint32_t id = r->first_member + i;
        const struct lex_member *m = lex_member(w->lex, id);
        bool is_dup =
            id == src->member || (m->nwords == t->k && member_matches(w, m, t->run, t->k));
        for (size_t j = 0; j < t->count && !is_dup; j++) {
            is_dup = members_equal(w->lex, m, lex_member(w->lex, t->member[j]));
        }
        if (is_dup || m->nwords > w->budget || t->count == QRY_MAX_TERMS) {
            continue; /* the same words, or past the query's limit */
        }
        w->budget -= m->nwords;
        t->member[t->count++] = id;
    }
    return SD_OK;
}

/* A QN_WORD[QRY_SYN_WORD] of one synonym word (its stem, or its form: lexicon_int.h), in the
 * field of the typed word `like`. */
static int synonym_word(struct rw *w, const struct lex_word *word, int32_t like, int32_t *out)
{
    size_t off = w->strings.count;
    struct qry_term *t = NULL;
    if (qry_vec_reserve(&w->strings, off + word->len + 1, 1) ||
        !(t = qry_vec_push(&w->terms, sizeof *t))) {
        return sd_errorf(w->err, SD_ENOMEM, "synonyms");
    }
    memcpy((char *)w->strings.data + off, lex_word_str(w->lex, word), word->len + 1);
    w->strings.count += word->len + 1;
    *t = (struct qry_term){.str_off = (uint32_t)off, .len = word->len, .kind = word->kind};
    struct qry_node tmpl = w->q->nodes[like];
    tmpl.syn_role = QRY_SYN_WORD;
    tmpl.term = (uint32_t)(w->terms.count - 1);
    tmpl.term_count = 1;
    return rw_new_node(w, &tmpl, out);
}

/* An AND node shaped after node `like` (offset, sign), for several words. */
static int and_like(struct rw *w, int32_t like, int32_t *out)
{
    struct qry_node tmpl = w->q->nodes[like];
    tmpl.type = QN_AND;
    tmpl.field = QRY_ALL_FIELDS;
    tmpl.term = 0;
    tmpl.term_count = 0;
    tmpl.syn_role = QRY_SYN_NONE;
    return rw_new_node(w, &tmpl, out);
}

/* One synonym (member id) of the group. */
static int synonym_node(struct rw *w, uint32_t id, int32_t like, int32_t *out)
{
    const struct lex_member *m = lex_member(w->lex, id);
    const struct lex_word *words = lex_member_words(w->lex, m);
    if (m->nwords == 1) {
        return synonym_word(w, &words[0], like, out);
    }
    int32_t tail = QRY_NONE;
    int rc = and_like(w, like, out);
    for (uint32_t i = 0; !rc && i < m->nwords; i++) {
        int32_t word = QRY_NONE;
        rc = synonym_word(w, &words[i], like, &word);
        if (!rc) {
            rw_link(w, *out, &tail, word);
        }
    }
    return rc;
}

/* A copy of typed word `old`; by_form: as its folded form only, the way the synonym source it
 * matched compares it ("ИИ" would otherwise match its stem "и", the conjunction). The word
 * being typed (is_typing_run_end) is copied whole: its word so, and its completions. */
static int typed_copy(struct rw *w, int32_t old, bool by_form, int32_t *out)
{
    const struct qry_node *typing = &w->q->nodes[old];
    if (typing->type == QN_OR) {
        int32_t tail = QRY_NONE;
        int rc = rw_new_node(w, typing, out);
        for (int32_t c = typing->first_child; !rc && c != QRY_NONE;
             c = w->q->nodes[c].next_sibling) {
            int32_t child = QRY_NONE;
            rc = c == typing->first_child ? typed_copy(w, c, by_form, &child)
                                          : rw_copy_leaf(w, c, &child);
            if (!rc) {
                rw_link(w, *out, &tail, child);
            }
        }
        return rc;
    }
    int rc = rw_copy_leaf(w, old, out);
    if (rc == SD_OK && by_form) {
        struct qry_node *n = rw_node(w, *out);
        struct qry_term *terms = w->terms.data;
        terms[n->term] = terms[n->term + 1]; /* the form in the stem's place */
        w->terms.count--;
        n->term_count = 1;
    }
    return rc;
}

/* The group of the typed words run[0, k) when they match a source with synonyms: *out is then
 * the OR, else QRY_NONE and nothing was made. */
static int emit_group(struct rw *w, const int32_t *run, uint32_t k, int32_t *out)
{
    *out = QRY_NONE;
    struct targets t = {.run = run, .k = k};
    uint32_t longest = 0;
    int rc = each_source(w, run, k, k, gather_targets, &t, &longest);
    if (rc || t.count == 0) {
        return rc;
    }
    struct qry_node tmpl = w->q->nodes[run[0]];
    tmpl.type = QN_OR;
    tmpl.field = QRY_ALL_FIELDS;
    tmpl.term = 0;
    tmpl.term_count = 0;
    tmpl.syn_role = QRY_SYN_GROUP;
    int32_t tail = QRY_NONE, typed = QRY_NONE;
    rc = rw_new_node(w, &tmpl, out);
    if (!rc && k == 1) {
        rc = typed_copy(w, run[0], t.by_form[0], &typed);
    } else if (!rc) {
        rc = and_like(w, run[0], &typed);
        int32_t wtail = QRY_NONE;
        for (uint32_t i = 0; !rc && i < k; i++) {
            int32_t word = QRY_NONE;
            rc = typed_copy(w, run[i], t.by_form[i], &word);
            if (!rc) {
                rw_link(w, typed, &wtail, word);
            }
        }
    }
    if (!rc) {
        rw_link(w, *out, &tail, typed);
    }
    for (size_t i = 0; !rc && i < t.count; i++) {
        int32_t syn = QRY_NONE;
        rc = synonym_node(w, t.member[i], run[0], &syn);
        if (!rc) {
            rw_link(w, *out, &tail, syn);
        }
    }
    w->is_changed = true;
    return rc;
}

/* ---- the walk ---- */

static int emit(struct rw *w, int32_t old, bool is_neg, int32_t *out);

static bool is_stopword(const struct rw *w, int32_t node)
{
    const struct qry_term *typed = &w->q->terms[w->q->nodes[node].term + 1];
    return lex_is_stopword(w->lex, qry_term_str(w->q, typed), typed->len);
}

static int emit_word(struct rw *w, int32_t old, bool is_neg, int32_t *out)
{
    if (!is_neg && is_typed_word(w->q, old)) {
        int rc = emit_group(w, &old, 1, out);
        if (rc || *out != QRY_NONE) {
            return rc;
        }
    }
    if (!w->keep_stops && is_typed_word(w->q, old) && is_stopword(w, old)) {
        *out = QRY_NONE;
        w->is_changed = true;
        return SD_OK;
    }
    return rw_copy_leaf(w, old, out);
}

/* The run of typed words that starts at child c of an AND: consecutive, one field; the word
 * being typed may end it. */
static size_t word_run(const struct qry *q, int32_t c, int32_t *run)
{
    size_t n = 0;
    int16_t field = q->nodes[c].field;
    while (c != QRY_NONE && n < QRY_SYN_MAX_WORDS && is_typed_word(q, c) &&
           q->nodes[c].field == field) {
        run[n++] = c;
        c = q->nodes[c].next_sibling;
    }
    if (n > 0 && c != QRY_NONE && n < QRY_SYN_MAX_WORDS && is_typing_run_end(q, c) &&
        q->nodes[q->nodes[c].first_child].field == field) {
        run[n++] = c;
    }
    return n;
}

static int emit_and_once(struct rw *w, int32_t old, bool is_neg, int32_t *out, size_t *positives)
{
    const struct qry *q = w->q;
    int32_t tail = QRY_NONE;
    int rc = rw_new_node(w, &q->nodes[old], out);
    *positives = 0;
    int32_t c = q->nodes[old].first_child;
    while (!rc && c != QRY_NONE) {
        int32_t run[QRY_SYN_MAX_WORDS];
        size_t n = is_neg ? 0 : word_run(q, c, run);
        uint32_t longest = 0;
        int32_t child = QRY_NONE;
        size_t used = 1;
        if (n >= 2) {
            rc = each_source(w, run, n, 0, NULL, NULL, &longest);
        }
        if (!rc && longest >= 2) {
            rc = emit_group(w, run, longest, &child);
            used = child != QRY_NONE ? longest : 1;
        }
        if (!rc && child == QRY_NONE) {
            rc = emit(w, c, is_neg, &child);
        }
        for (size_t i = 0; i < used; i++) {
            c = q->nodes[c].next_sibling;
        }
        if (!rc && child != QRY_NONE) {
            rw_link(w, *out, &tail, child);
            *positives += rw_node(w, child)->type != QN_NOT;
        }
    }
    return rc;
}

/* An AND; when dropping stopwords would leave it nothing to match, again with them kept. */
static int emit_and(struct rw *w, int32_t old, bool is_neg, int32_t *out)
{
    struct rw_mark m = rw_mark(w);
    size_t positives = 0;
    int rc = emit_and_once(w, old, is_neg, out, &positives);
    if (rc || positives > 0 || w->keep_stops) {
        return rc;
    }
    rw_rollback(w, m);
    w->keep_stops = true;
    rc = emit_and_once(w, old, is_neg, out, &positives);
    w->keep_stops = false;
    return rc;
}

static int emit_or(struct rw *w, int32_t old, bool is_neg, int32_t *out)
{
    const struct qry_node *n = &w->q->nodes[old];
    if (n->syn_role == QRY_SYN_TYPING && !w->keep_stops && is_typed_word(w->q, n->first_child) &&
        is_stopword(w, n->first_child)) {
        /* the word being typed is a stopword: it goes with its completions, as it would with a
         * space after it; its completions alone ("the*" of "laptop the") would narrow the query
         * to documents that hold some word starting with a stopword */
        *out = QRY_NONE;
        w->is_changed = true;
        return SD_OK;
    }
    struct rw_mark m = rw_mark(w);
    int32_t tail = QRY_NONE;
    int rc = rw_new_node(w, &w->q->nodes[old], out);
    for (int32_t c = w->q->nodes[old].first_child; !rc && c != QRY_NONE;
         c = w->q->nodes[c].next_sibling) {
        int32_t child = QRY_NONE;
        rc = emit(w, c, is_neg, &child);
        if (!rc && child != QRY_NONE) {
            rw_link(w, *out, &tail, child);
        }
    }
    if (!rc && tail == QRY_NONE) {
        bool is_changed = w->is_changed;
        rw_rollback(w, m); /* every operand was a stopword: the OR goes with them */
        w->is_changed = is_changed;
        *out = QRY_NONE;
    }
    return rc;
}

static int emit_not(struct rw *w, int32_t old, bool is_neg, int32_t *out)
{
    int32_t child = QRY_NONE;
    int rc = emit(w, w->q->nodes[old].first_child, !is_neg, &child);
    *out = QRY_NONE;
    if (rc || child == QRY_NONE) {
        return rc;
    }
    int32_t tail = QRY_NONE;
    rc = rw_new_node(w, &w->q->nodes[old], out);
    if (!rc) {
        rw_link(w, *out, &tail, child);
    }
    return rc;
}

static int emit(struct rw *w, int32_t old, bool is_neg, int32_t *out)
{
    switch (w->q->nodes[old].type) {
    case QN_AND:
        return emit_and(w, old, is_neg, out);
    case QN_OR:
        return emit_or(w, old, is_neg, out);
    case QN_NOT:
        return emit_not(w, old, is_neg, out);
    case QN_WORD:
        return emit_word(w, old, is_neg, out);
    case QN_FILTER: /* its term indexes q->filters, which rw_finish copies whole */
        return rw_new_node(w, &w->q->nodes[old], out);
    default:
        return rw_copy_leaf(w, old, out);
    }
}

/* Words the query holds, as the parser counts them against QRY_MAX_TERMS. */
static size_t query_words(const struct qry *q)
{
    size_t n = 0;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *nd = &q->nodes[i];
        if (nd->type == QN_WORD) {
            n++;
        } else if (nd->type >= QN_EXACT && nd->type != QN_FUZZY) {
            n += nd->term_count;
        }
    }
    return n;
}

static void rw_free(struct rw *w)
{
    qry_vec_free(&w->nodes);
    qry_vec_free(&w->terms);
    qry_vec_free(&w->strings);
}

/* The new arrays (and a copy of q's field names) moved into *out. */
static int rw_finish(struct rw *w, int32_t root, struct qry **out)
{
    struct qry *t = calloc(1, sizeof *t);
    uint32_t *fields = malloc(w->q->field_count * sizeof *fields + 1);
    struct qry_filter *filters = malloc(w->q->filter_count * sizeof *filters + 1);
    if (!t || !fields || !filters) {
        free(t);
        free(fields);
        free(filters);
        return sd_errorf(w->err, SD_ENOMEM, "synonyms");
    }
    if (w->q->field_count) {
        memcpy(fields, w->q->field_offs, w->q->field_count * sizeof *fields);
    }
    if (w->q->filter_count) {
        memcpy(filters, w->q->filters, w->q->filter_count * sizeof *filters);
    }
    *t = *w->q;
    t->nodes = w->nodes.data;
    t->node_count = w->nodes.count;
    t->terms = w->terms.data;
    t->term_count = w->terms.count;
    t->strings = w->strings.data;
    t->strings_len = w->strings.count;
    t->field_offs = fields;
    t->filters = filters; /* every owned array is the copy's own: q is freed apart */
    t->root = root;
    memset(&w->nodes, 0, sizeof w->nodes);
    memset(&w->terms, 0, sizeof w->terms);
    memset(&w->strings, 0, sizeof w->strings);
    *out = t;
    return SD_OK;
}

int qry_with_lexicon(const struct qry_lexicon *lex, const struct qry *q, struct qry **out,
                     struct sd_error *err)
{
    *out = NULL;
    if (!lex || q->root == QRY_NONE || (lex->sources.count == 0 && lex->stops.count == 0)) {
        return SD_OK;
    }
    size_t used = query_words(q);
    struct rw w = {.lex = lex, .q = q, .err = err};
    w.budget = used < QRY_MAX_TERMS ? QRY_MAX_TERMS - used : 0;
    int rc = qry_vec_reserve(&w.strings, q->strings_len + 1, 1) ? SD_ENOMEM : SD_OK;
    if (rc) {
        return sd_errorf(err, SD_ENOMEM, "synonyms");
    }
    memcpy(w.strings.data, q->strings, q->strings_len);
    w.strings.count = q->strings_len;
    struct rw_mark start = rw_mark(&w);
    int32_t root = QRY_NONE;
    rc = emit(&w, q->root, false, &root);
    if (!rc && root == QRY_NONE) {
        rw_rollback(&w, start);
        w.keep_stops = true; /* only stopwords: the query keeps them */
        rc = emit(&w, q->root, false, &root);
    }
    if (!rc && w.is_changed) {
        rc = rw_finish(&w, root, out);
    }
    rw_free(&w);
    return rc;
}

/* ---- the cap ---- */

/* The smallest idf among the typed words under node (INFINITY when none). */
static double typed_min_idf(const struct qry_scratch *s, const struct qry *q, int32_t node)
{
    const struct qry_node *n = &q->nodes[node];
    const struct qry_sterm *st = s->sterms.data;
    if (n->type == QN_WORD && n->syn_role == QRY_SYN_NONE) {
        return st[n->term].idf;
    }
    double m = INFINITY;
    for (int32_t c = n->first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        double x = typed_min_idf(s, q, c);
        m = x < m ? x : m;
    }
    return m;
}

static void cap_word(struct qry_scratch *s, const struct qry *q, int32_t node, double cap)
{
    const struct qry_node *n = &q->nodes[node];
    if (n->type == QN_WORD && n->syn_role == QRY_SYN_WORD) {
        struct qry_sterm *st = (struct qry_sterm *)s->sterms.data + n->term;
        st->idf = st->idf < cap ? st->idf : cap;
    }
}

void qry_synonym_caps(struct qry_scratch *s, const struct qry *q)
{
    for (size_t g = 0; g < q->node_count; g++) {
        const struct qry_node *n = &q->nodes[g];
        if (n->syn_role != QRY_SYN_GROUP || n->first_child == QRY_NONE) {
            continue;
        }
        double m = typed_min_idf(s, q, n->first_child);
        for (int32_t c = q->nodes[n->first_child].next_sibling; m < INFINITY && c != QRY_NONE;
             c = q->nodes[c].next_sibling) {
            const struct qry_node *syn = &q->nodes[c];
            if (syn->type == QN_WORD) {
                cap_word(s, q, c, m);
                continue;
            }
            size_t words = 0;
            for (int32_t k = syn->first_child; k != QRY_NONE; k = q->nodes[k].next_sibling) {
                words++;
            }
            for (int32_t k = syn->first_child; k != QRY_NONE; k = q->nodes[k].next_sibling) {
                cap_word(s, q, k, m / (double)words);
            }
        }
    }
}
