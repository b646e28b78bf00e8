/*
 * parse_leaf.c: turns the words of a query into leaves, with the document
 * side's own tokenizer (stem_tokenize), so that folding, stemming and
 * compounds agree with what the index holds.
 *
 *   plain word        QN_WORD: the stem matches, the typed (folded) form ranks
 *                     (a stem that does not stand for its word, "ИИ" -> "и": the form
 *                     matches, qry_stem_stands_for)
 *   "one word"        QN_EXACT: only the folded form matches
 *   "several words"   QN_PHRASE of their folded forms; positions come from the
 *                     tokenizer, so a skipped over-long token keeps its gap
 *   e-mail, don't     a compound: QN_OR of the phrase of its parts and the
 *                     joined form ("e mail" OR "email"). Documents with "e-mail"
 *                     hold both, "e mail" matches the phrase, "email"/"emails"
 *                     the joined word (stems included).
 *   node.js, 3.14     other punctuation inside a word: a phrase of the parts,
 *                     as Xapian's query parser does
 *   pre*              QN_PREFIX of the folded form; must be one token of at
 *                     least 2 characters
 *   "new e-mail here" a phrase with a compound: QN_OR of the phrase of the parts
 *                     and the phrase with the joined form in their place
 *                     ("new e mail here" OR "new email here"), so each spelling
 *                     finds the other as it does outside a phrase. A document
 *                     with "e-mail" indexes "email" at its first part's position,
 *                     beside "e": the phrase of the parts is what finds it there.
 *
 * Stress marks: the tokenizer drops a combining acute or grave that NFC leaves
 * alone ("за́мок" -> "замок", stem.h), but segments indexed before that rule hold
 * such words with the mark. A word, phrase or prefix typed with one is parsed
 * twice, under the current rule and under the old one (stem_ctx_keep_stress),
 * and is the QN_OR of both, so old segments answer it as they did and new ones
 * by the plain word.
 */
#include <string.h>

#include "parse_int.h"

static int add_string(struct qry_parser *p, const char *s, size_t len, uint32_t *off)
{
    if (qry_vec_reserve(&p->strings, p->strings.count + len + 1, 1)) {
        return sd_errorf(p->err, SD_ENOMEM, "query strings");
    }
    char *dst = (char *)p->strings.data + p->strings.count;
    memcpy(dst, s, len);
    dst[len] = '\0';
    *off = (uint32_t)p->strings.count;
    p->strings.count += len + 1;
    return SD_OK;
}

static int add_term(struct qry_parser *p, const char *s, size_t len, enum seg_kind kind,
                    uint32_t rel_pos, uint32_t *index)
{
    uint32_t off = 0;
    int rc = add_string(p, s, len, &off);
    if (rc) {
        return rc;
    }
    struct qry_term *t = qry_vec_push(&p->terms, sizeof *t);
    if (!t) {
        return sd_errorf(p->err, SD_ENOMEM, "query terms");
    }
    t->str_off = off;
    t->len = (uint32_t)len;
    t->kind = (uint8_t)kind;
    t->rel_pos = rel_pos;
    *index = (uint32_t)(p->terms.count - 1);
    return SD_OK;
}

static int count_terms(struct qry_parser *p, size_t n, size_t offset)
{
    if (n > QRY_MAX_TERMS - p->word_count) {
        return sd_errorf(p->err, SD_ELIMIT, "at %zu: more than %d terms", offset, QRY_MAX_TERMS);
    }
    p->word_count += n;
    return SD_OK;
}

static int collect_tok(void *arg, const struct stem_token *t)
{
    struct qry_parser *p = arg;
    if (p->wtoks.count >= 2 * QRY_MAX_TERMS) {
        return 1; /* more than any query may use: the caller reports the limit */
    }
    size_t need = p->tmp.count + t->word_len + t->stem_len;
    struct qry_word_tok *w = qry_vec_push(&p->wtoks, sizeof *w);
    if (!w || qry_vec_reserve(&p->tmp, need, 1)) {
        return 2;
    }
    char *dst = (char *)p->tmp.data + p->tmp.count;
    memcpy(dst, t->word, t->word_len);
    memcpy(dst + t->word_len, t->stem, t->stem_len);
    w->word_off = p->tmp.count;
    w->word_len = t->word_len;
    w->stem_off = p->tmp.count + t->word_len;
    w->stem_len = t->stem_len;
    w->pos = t->pos;
    w->offset = t->offset;
    w->len = t->len;
    w->is_compound = t->is_compound;
    p->tmp.count = need;
    return 0;
}

static struct qry_word_tok *wtok(struct qry_parser *p, size_t i)
{
    return (struct qry_word_tok *)p->wtoks.data + i;
}

/* Tokenizes text[off, off+len) into p->wtoks. A word whose folded form is over
 * STEM_MAX_TOKEN bytes is skipped by the tokenizer on both sides (it takes a position but is
 * not indexed), so a query naming one could only ever match nothing: that is a parse error
 * (issue 10), found as a position no reported token took. */
static int tokenize(struct qry_parser *p, size_t off, size_t len)
{
    p->wtoks.count = 0;
    p->tmp.count = 0;
    uint32_t next_pos = 0;
    int rc = stem_tokenize(p->stem, p->text + off, len, 0, collect_tok, p, &next_pos);
    if (rc == 1) {
        return sd_errorf(p->err, SD_ELIMIT, "at %zu: more than %d terms", off, QRY_MAX_TERMS);
    }
    if (rc) {
        return sd_errorf(p->err, SD_ENOMEM, "tokenizing the query");
    }
    size_t positioned = 0;
    for (size_t i = 0; i < p->wtoks.count; i++) {
        positioned += !wtok(p, i)->is_compound;
    }
    if (next_pos != positioned) {
        return sd_errorf(p->err, SD_EPARSE,
                         "at %zu: a word over %d bytes (words that long are not indexed)", off,
                         STEM_MAX_TOKEN);
    }
    return SD_OK;
}

static const char *tmp_str(struct qry_parser *p, size_t off)
{
    return (const char *)p->tmp.data + off;
}

static int add_leaf(struct qry_parser *p, enum qry_node_type type, size_t offset, uint32_t term,
                    uint32_t term_count, int32_t *out)
{
    int rc = qry_add_node(p, type, offset, out);
    if (rc) {
        return rc;
    }
    struct qry_node *n = qry_pnode(p, *out);
    n->field = p->field;
    n->term = term;
    n->term_count = term_count;
    return SD_OK;
}

/* A plain word: its stem, then its folded form. When the stem does not stand for the word
 * (qry_stem_stands_for: "ИИ" stems to "и"), the form takes the stem's place too, so only the
 * form matches; the word is still a typed word (synonyms, the exact-form bonus). */
static int word_leaf(struct qry_parser *p, const struct qry_word_tok *w, size_t offset,
                     int32_t *out)
{
    uint32_t stem = 0;
    uint32_t exact = 0;
    const char *word = tmp_str(p, w->word_off);
    bool by_form = !qry_stem_stands_for(word, w->word_len, tmp_str(p, w->stem_off), w->stem_len);
    int rc = count_terms(p, 1, offset);
    if (!rc && by_form) {
        rc = add_term(p, word, w->word_len, SEG_EXACT, 0, &stem);
    } else if (!rc) {
        rc = add_term(p, tmp_str(p, w->stem_off), w->stem_len, SEG_STEM, 0, &stem);
    }
    if (!rc) {
        rc = add_term(p, tmp_str(p, w->word_off), w->word_len, SEG_EXACT, 0, &exact);
    }
    if (!rc) {
        rc = add_leaf(p, QN_WORD, offset, stem, 2, out);
    }
    return rc;
}

/* The QN_OR of nodes a and b. */
static int or_of(struct qry_parser *p, size_t offset, int32_t a, int32_t b, int32_t *out)
{
    int rc = qry_add_node(p, QN_OR, offset, out);
    if (rc) {
        return rc;
    }
    int32_t tail = QRY_NONE;
    qry_add_child(p, *out, &tail, a);
    qry_add_child(p, *out, &tail, b);
    return SD_OK;
}

/* Whether token w stands within the text of token c. */
static bool is_within(const struct qry_word_tok *w, const struct qry_word_tok *c)
{
    return w->offset >= c->offset && w->offset + w->len <= c->offset + c->len;
}

/* Whether token i is a part of a compound whose joined form the tokenizer reported. */
static bool is_part_of_joined(struct qry_parser *p, size_t i)
{
    for (size_t j = 0; j < p->wtoks.count; j++) {
        if (wtok(p, j)->is_compound && is_within(wtok(p, i), wtok(p, j))) {
            return true;
        }
    }
    return false;
}

/* How many parts the joined form c stands for. */
static uint32_t parts_of(struct qry_parser *p, const struct qry_word_tok *c)
{
    uint32_t n = 0;
    for (size_t j = 0; j < p->wtoks.count; j++) {
        n += !wtok(p, j)->is_compound && is_within(wtok(p, j), c);
    }
    return n;
}

/* The phrase (or single exact word) made of the non-compound tokens. */
static int phrase_leaf(struct qry_parser *p, size_t offset, int32_t *out)
{
    size_t parts = 0;
    for (size_t i = 0; i < p->wtoks.count; i++) {
        parts += !wtok(p, i)->is_compound;
    }
    *out = QRY_NONE;
    if (parts == 0) {
        return SD_OK;
    }
    int rc = count_terms(p, parts, offset);
    uint32_t first = (uint32_t)p->terms.count;
    uint32_t first_pos = UINT32_MAX;
    for (size_t i = 0; !rc && i < p->wtoks.count; i++) {
        const struct qry_word_tok *w = wtok(p, i);
        if (w->is_compound) {
            continue;
        }
        if (first_pos == UINT32_MAX) {
            first_pos = w->pos;
        }
        uint32_t t = 0;
        rc = add_term(p, tmp_str(p, w->word_off), w->word_len, SEG_EXACT, w->pos - first_pos, &t);
    }
    if (rc) {
        return rc;
    }
    enum qry_node_type type = parts == 1 ? QN_EXACT : QN_PHRASE;
    return add_leaf(p, type, offset, first, (uint32_t)parts, out);
}

/* The phrase of phrase_leaf with every compound's parts replaced by its joined form, at the
 * first part's position, the words after it each moved up by the parts it replaced; QRY_NONE
 * when the tokens hold no joined form, or when its words would pass QRY_MAX_TERMS (the phrase
 * of the parts is then the only reading, as before this one existed). */
static int joined_phrase_leaf(struct qry_parser *p, size_t offset, int32_t *out)
{
    *out = QRY_NONE;
    size_t words = 0;
    bool has_joined = false;
    for (size_t i = 0; i < p->wtoks.count; i++) {
        bool joined = wtok(p, i)->is_compound;
        has_joined |= joined;
        words += joined || !is_part_of_joined(p, i);
    }
    if (!has_joined || words > (size_t)QRY_MAX_TERMS - p->word_count) {
        return SD_OK;
    }
    int rc = count_terms(p, words, offset);
    uint32_t first = (uint32_t)p->terms.count;
    uint32_t first_pos = wtok(p, 0)->pos; /* a first part's position is its joined form's */
    uint32_t shift = 0;
    for (size_t i = 0; !rc && i < p->wtoks.count; i++) {
        const struct qry_word_tok *w = wtok(p, i);
        if (!w->is_compound && is_part_of_joined(p, i)) {
            continue;
        }
        uint32_t t = 0;
        rc = add_term(p, tmp_str(p, w->word_off), w->word_len, SEG_EXACT,
                      w->pos - first_pos - shift, &t);
        if (w->is_compound) {
            shift += parts_of(p, w) - 1; /* the joined form takes the first part's place */
        }
    }
    if (rc) {
        return rc;
    }
    return add_leaf(p, words == 1 ? QN_EXACT : QN_PHRASE, offset, first, (uint32_t)words, out);
}

/* True when the word is exactly one compound: parts plus one joined form spanning them. */
static bool is_one_compound(struct qry_parser *p, size_t *joined)
{
    size_t n = p->wtoks.count;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (wtok(p, i)->is_compound) {
            *joined = i;
            count++;
        }
    }
    if (count != 1 || n < 3) {
        return false;
    }
    const struct qry_word_tok *j = wtok(p, *joined);
    const struct qry_word_tok *first = wtok(p, 0);
    const struct qry_word_tok *last = wtok(p, n - 1);
    return j->offset == first->offset && j->offset + j->len == last->offset + last->len;
}

static int compound_leaf(struct qry_parser *p, size_t offset, size_t joined, int32_t *out)
{
    int32_t phrase = 0;
    int32_t word = 0;
    int rc = phrase_leaf(p, offset, &phrase);
    if (!rc) {
        rc = word_leaf(p, wtok(p, joined), offset, &word);
    }
    return rc ? rc : or_of(p, offset, phrase, word, out);
}

static int parse_word(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    *out = QRY_NONE;
    int rc = tokenize(p, tok->off, tok->len);
    if (rc || p->wtoks.count == 0) {
        return rc;
    }
    if (p->wtoks.count == 1) {
        return word_leaf(p, wtok(p, 0), tok->off, out);
    }
    size_t joined = 0;
    if (is_one_compound(p, &joined)) {
        return compound_leaf(p, tok->off, joined, out);
    }
    return phrase_leaf(p, tok->off, out);
}

static int parse_phrase(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    *out = QRY_NONE;
    int rc = tokenize(p, tok->off + 1, tok->len);
    int32_t parts = QRY_NONE;
    int32_t joined = QRY_NONE;
    if (!rc) {
        rc = phrase_leaf(p, tok->off, &parts);
    }
    if (!rc) {
        rc = joined_phrase_leaf(p, tok->off, &joined);
    }
    if (rc || joined == QRY_NONE) {
        *out = parts;
        return rc;
    }
    return or_of(p, tok->off, parts, joined, out);
}

static int parse_prefix(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    *out = QRY_NONE;
    if (tok->len == 0) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: '*' without a prefix", tok->off);
    }
    int rc = tokenize(p, tok->off, tok->len);
    if (rc) {
        return rc;
    }
    /* Count first: with no token the vector may have no storage yet, and wtok(p, 0) on it
     * would offset a null pointer (issue 10: "\0\0\0\0\0\0\x10*" found by libFuzzer). */
    if (p->wtoks.count != 1 || wtok(p, 0)->offset != 0 || wtok(p, 0)->len != tok->len) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: a prefix must be one word", tok->off);
    }
    const struct qry_word_tok *w = wtok(p, 0);
    if (stem_utf8_chars(tmp_str(p, w->word_off), w->word_len) < 2) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: prefix shorter than 2 characters", tok->off);
    }
    uint32_t t = 0;
    rc = count_terms(p, 1, tok->off);
    if (!rc) {
        rc = add_term(p, tmp_str(p, w->word_off), w->word_len, SEG_EXACT, 0, &t);
    }
    if (!rc) {
        rc = add_leaf(p, QN_PREFIX, tok->off, t, 1, out);
    }
    return rc;
}

typedef int (*leaf_parser)(struct qry_parser *p, const struct qry_tok *tok, int32_t *out);

/* parse(tok) and, when text[text_off, +tok->len) holds a stress mark, the QN_OR of that and
 * the same parse under the fold of indexes built before stress marks were dropped. */
static int parse_with_old_stress(struct qry_parser *p, const struct qry_tok *tok, size_t text_off,
                                 leaf_parser parse, int32_t *out)
{
    int rc = parse(p, tok, out);
    if (rc || *out == QRY_NONE || !stem_has_stress(p->text + text_off, tok->len)) {
        return rc;
    }
    int32_t old = QRY_NONE;
    stem_ctx_keep_stress(p->stem, true);
    rc = parse(p, tok, &old);
    stem_ctx_keep_stress(p->stem, false);
    if (rc || old == QRY_NONE) {
        return rc;
    }
    int32_t either = QRY_NONE;
    rc = or_of(p, tok->off, *out, old, &either);
    *out = either;
    return rc;
}

int qry_parse_word(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    return parse_with_old_stress(p, tok, tok->off, parse_word, out);
}

int qry_parse_phrase(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    return parse_with_old_stress(p, tok, tok->off + 1, parse_phrase, out);
}

int qry_parse_prefix(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    return parse_with_old_stress(p, tok, tok->off, parse_prefix, out);
}
