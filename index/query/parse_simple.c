/*
 * parse_simple.c: the lenient "simple" syntax, for raw text from a search box.
 *
 * The full syntax (parse.c) is strict so that programs learn of their
 * mistakes; a person typing into a box makes the same mistakes on purpose or
 * by accident, and deserves results rather than a 400. So this parser has no
 * error on the text at all: every input, any bytes, any length, gives a query
 * (SD_ENOMEM is its only failure). What it understands:
 *   word word       AND, each word matching every inflection, as in the full syntax
 *   "a b"           a phrase, when the quote is closed; a lone '"' is a space
 *   -word, -"a b"   an exclusion, kept only when some word is not excluded ("--word" is the
 *                   word: a command-line option, not an exclusion)
 *   a OR b          OR between the two terms around it; a dangling OR (first,
 *                   last, doubled, next to an exclusion) is dropped, as is AND
 *   pre*            a prefix when it is one word of 2+ characters, else the word
 * With QRY_SIMPLE_PREFIX_LAST (a box that searches as you type) the last word, when nothing
 * follows it (not even a space: the user is still typing it), is also a prefix:
 *   ... word        QN_OR[QRY_SYN_TYPING]( word , word* )
 * so a half-typed word finds its completions and a whole one still every inflection, whose
 * forms need not start with what was typed ("дипломатия" finds "дипломатии"). A document with
 * the word, in any inflection, ranks above one with only a longer word that starts so: the
 * completions leave out the word's own inflections and score less (stats.c).
 * Everything else is text: '(' and ')' separate words, `title:x` is the two
 * words "title x" as a phrase (fields are for the full syntax), punctuation
 * and invalid UTF-8 bytes separate words as they do in documents. A chunk holding a word over
 * STEM_MAX_TOKEN bytes, which no document has indexed, is left out (add_chunk).
 *
 * Length: the text is cut at the last space before QRY_MAX_LEN bytes (or, when there is
 * none, the last punctuation: simple_len) and the query keeps its first QRY_SIMPLE_MAX_WORDS
 * terms (a chunk that would pass QRY_MAX_TERMS dictionary terms as one phrase is taken word
 * by word instead: add_words_of); either cut sets qry.is_truncated, which the answer
 * reports. A text with no word at all is a query that matches nothing (root QRY_NONE), not
 * an error: the box was empty.
 */
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

/* One piece of the text: a word run or a closed phrase. */
struct simple_chunk {
    struct qry_tok tok; /* QT_WORD (off/len, is_prefix) or QT_PHRASE (off at the quote) */
    bool is_negative;
    bool is_or; /* the bare upper-case word OR */
    bool is_and;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_sep(char c)
{
    return is_space(c) || c == '(' || c == ')' || c == '"';
}

/* Reads the chunk at *pos; false at the end of the text. */
static bool next_chunk(const char *text, size_t len, size_t *pos, struct simple_chunk *c)
{
    size_t i = *pos;
    memset(c, 0, sizeof *c);
    for (;;) {
        while (i < len && is_sep(text[i]) && text[i] != '"') {
            i++;
        }
        if (i >= len) {
            *pos = i;
            return false;
        }
        /* "--force" is an option name typed into the box (a man page's), not "-force" left out */
        bool is_minus = text[i] == '-' && i + 1 < len && !is_sep(text[i + 1]) && text[i + 1] != '-';
        bool is_minus_quote = text[i] == '-' && i + 1 < len && text[i + 1] == '"';
        size_t start = i + (is_minus || is_minus_quote);
        if (text[start] == '"') {
            const char *close = memchr(text + start + 1, '"', len - start - 1);
            if (!close) {
                i = start + 1; /* a lone quote is a space */
                continue;
            }
            c->tok.type = QT_PHRASE;
            c->tok.off = start;
            c->tok.len = (size_t)(close - (text + start + 1));
            c->is_negative = is_minus_quote;
            *pos = (size_t)(close - text) + 1;
            return true;
        }
        size_t end = start;
        while (end < len && !is_sep(text[end])) {
            end++;
        }
        size_t word_end = end;
        while (word_end > start && text[word_end - 1] == '*') {
            word_end--;
        }
        c->tok.type = QT_WORD;
        c->tok.off = start;
        c->tok.len = word_end - start;
        c->tok.is_prefix = word_end < end;
        c->is_negative = is_minus;
        c->is_or = !is_minus && end - start == 2 && memcmp(text + start, "OR", 2) == 0;
        c->is_and = !is_minus && end - start == 3 && memcmp(text + start, "AND", 3) == 0;
        *pos = end;
        return true;
    }
}

static int count_tok(void *arg, const struct stem_token *t)
{
    size_t *count = arg;
    (*count)++;
    return t->is_compound; /* a compound is never one prefix: stop early */
}

/* A prefix only when its text is one token (what the strict parser requires: checked here so
 * a refused prefix falls back to a word instead of failing). */
static bool prefix_ok(struct qry_parser *p, const struct qry_tok *tok)
{
    size_t count = 0;
    int rc = stem_tokenize(p->stem, p->text + tok->off, tok->len, 0, count_tok, &count, NULL);
    return rc == STEM_OK && count == 1;
}

/* The word being typed, node *word: QN_OR[QRY_SYN_TYPING](word, word*) in its place. Only a
 * plain word gets the prefix, and only one the strict rules take (2+ characters, one token)
 * within QRY_MAX_TERMS; any other word stays as it is. */
static int typing_node(struct qry_parser *p, const struct qry_tok *tok, int32_t *word)
{
    const struct qry_node *w = qry_pnode(p, *word);
    if (w->type != QN_WORD || w->term_count != 2 || !prefix_ok(p, tok)) {
        return SD_OK;
    }
    int32_t prefix = QRY_NONE;
    int rc = qry_parse_prefix(p, tok, &prefix);
    if (rc == SD_EPARSE || rc == SD_ELIMIT) {
        return SD_OK;
    }
    int32_t or_node = QRY_NONE;
    if (!rc) {
        rc = qry_add_node(p, QN_OR, tok->off, &or_node);
    }
    if (rc) {
        return rc;
    }
    qry_pnode(p, or_node)->syn_role = QRY_SYN_TYPING;
    qry_pnode(p, prefix)->syn_role = QRY_SYN_TYPING;
    int32_t tail = QRY_NONE;
    qry_add_child(p, or_node, &tail, *word);
    qry_add_child(p, or_node, &tail, prefix);
    *word = or_node;
    return SD_OK;
}

/* The leaf (or compound OR) of one chunk; QRY_NONE when it holds no word. SD_ELIMIT when it
 * would pass QRY_MAX_TERMS; a prefix the strict rules refuse becomes a word instead.
 * is_typing: the chunk is the word being typed (typing_node). */
static int chunk_node(struct qry_parser *p, const struct simple_chunk *c, bool is_typing,
                      int32_t *out)
{
    if (c->tok.type == QT_PHRASE) {
        return qry_parse_phrase(p, &c->tok, out);
    }
    if (c->tok.is_prefix && c->tok.len > 0 && prefix_ok(p, &c->tok)) {
        int rc = qry_parse_prefix(p, &c->tok, out);
        if (rc != SD_EPARSE) {
            return rc;
        }
    }
    int rc = qry_parse_word(p, &c->tok, out);
    if (rc || !is_typing || *out == QRY_NONE) {
        return rc;
    }
    return typing_node(p, &c->tok, out);
}

struct simple_state {
    int32_t and_node;
    int32_t tail;     /* last child of and_node */
    int32_t last;     /* last positive operand added (a leaf or an OR), for OR */
    int32_t or_tail;  /* last child of `last` when it is an OR built here */
    bool pending_or;  /* an OR was read after `last` */
    size_t positives; /* positive operands */
    size_t negatives;
};

/* Adds child (a positive operand) to the AND, or to an OR with the last one. */
static int add_positive(struct qry_parser *p, struct simple_state *st, int32_t child)
{
    if (st->pending_or && st->last != QRY_NONE) {
        if (st->or_tail == QRY_NONE) {
            int32_t or_node = 0;
            int rc = qry_add_node(p, QN_OR, qry_pnode(p, st->last)->offset, &or_node);
            if (rc) {
                return rc;
            }
            /* the OR takes the last operand's place at the end of the AND list */
            int32_t prev = st->last;
            int32_t c = qry_pnode(p, st->and_node)->first_child;
            if (c == prev) {
                qry_pnode(p, st->and_node)->first_child = or_node;
            } else {
                while (qry_pnode(p, c)->next_sibling != prev) {
                    c = qry_pnode(p, c)->next_sibling;
                }
                qry_pnode(p, c)->next_sibling = or_node;
            }
            if (st->tail == prev) {
                st->tail = or_node;
            }
            qry_add_child(p, or_node, &st->or_tail, prev);
            st->last = or_node;
        }
        qry_add_child(p, st->last, &st->or_tail, child);
        st->pending_or = false;
        return SD_OK;
    }
    qry_add_child(p, st->and_node, &st->tail, child);
    st->last = child;
    st->or_tail = QRY_NONE;
    st->pending_or = false;
    st->positives++;
    return SD_OK;
}

static int add_negative(struct qry_parser *p, struct simple_state *st, int32_t child, size_t offset)
{
    int32_t not_node = 0;
    int32_t not_tail = QRY_NONE;
    int rc = qry_add_node(p, QN_NOT, offset, &not_node);
    if (rc) {
        return rc;
    }
    qry_add_child(p, not_node, &not_tail, child);
    qry_add_child(p, st->and_node, &st->tail, not_node);
    st->last = QRY_NONE; /* "a -b OR c": the OR has no left operand */
    st->pending_or = false;
    st->negatives++;
    return SD_OK;
}

/* Parses one chunk into the query. A chunk that would pass a limit (SD_ELIMIT, the query is
 * then truncated) or that names a word no document can have (SD_EPARSE: a word over
 * STEM_MAX_TOKEN bytes, which the tokenizer never indexes; a pasted URL or hash in a box) is
 * left out whole, the parser's arrays rolled back to before it. */
static int add_chunk(struct qry_parser *p, struct simple_state *st, const struct simple_chunk *c,
                     bool is_typing)
{
    size_t nodes = p->nodes.count;
    size_t terms = p->terms.count;
    size_t strings = p->strings.count;
    size_t words = p->word_count;
    int32_t child = QRY_NONE;
    int rc = chunk_node(p, c, is_typing, &child);
    if (rc == SD_ELIMIT || rc == SD_EPARSE) {
        p->nodes.count = nodes;
        p->terms.count = terms;
        p->strings.count = strings;
        p->word_count = words;
        if (p->err) {
            *p->err = (struct sd_error){0};
        }
        if (rc == SD_EPARSE) {
            return SD_OK;
        }
        p->is_truncated = true;
        return SD_ELIMIT;
    }
    if (rc || child == QRY_NONE) {
        return rc;
    }
    if (c->is_negative) {
        return add_negative(p, st, child, c->tok.off);
    }
    return add_positive(p, st, child);
}

/* Drops exclusions when nothing positive is left, and the AND around a lone operand. */
static int32_t simple_root(struct qry_parser *p, struct simple_state *st)
{
    struct qry_node *and_node = qry_pnode(p, st->and_node);
    if (st->positives == 0) {
        return QRY_NONE;
    }
    if (st->negatives == 0 && st->positives == 1) {
        return and_node->first_child;
    }
    return st->and_node;
}

/* Whether s[0, len) may hold a word: an ASCII letter or digit, or a byte of a multi-byte
 * character (most are letters; a stray dash or quote then counts, which only errs towards
 * saying "truncated"). */
static bool has_word_bytes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
            return true;
        }
    }
    return false;
}

/* Whether c ends a word: a separator, or ASCII that is not a letter or digit (punctuation,
 * which separates words in documents too). */
static bool ends_word(char c)
{
    return is_sep(c) || !has_word_bytes(&c, 1);
}

/* The text up to QRY_MAX_LEN bytes, cut after the last space before the limit, or when the
 * text has none there (a pasted list "a,b,c,..." or a URL), after the last punctuation, so
 * that no word is cut in two and the words before stay; *is_cut when what is left out may
 * hold a word (a box padded with blanks or "!!!" lost nothing). */
static size_t simple_len(const char *text, size_t len, bool *is_cut)
{
    *is_cut = false;
    if (len <= QRY_MAX_LEN) {
        return len;
    }
    size_t cut = QRY_MAX_LEN;
    while (cut > 0 && !is_sep(text[cut])) {
        cut--;
    }
    if (cut == 0) {
        cut = QRY_MAX_LEN;
        while (cut > 0 && !ends_word(text[cut])) {
            cut--;
        }
    }
    *is_cut = has_word_bytes(text + cut, len - cut);
    return cut;
}

/* Whether chunk c is a word still being typed: a plain word (not a prefix, an exclusion or an
 * operator) that ends the text as it came, full_len bytes (a text cut at QRY_MAX_LEN ends
 * where the cut is, not where the user types). */
static bool is_typing(const struct simple_chunk *c, size_t full_len)
{
    return c->tok.type == QT_WORD && !c->tok.is_prefix && !c->is_negative &&
           c->tok.off + c->tok.len == full_len;
}

/* The first words of a chunk (byte spans in the text), as stem_tokenize finds them. */
struct chunk_words {
    size_t base; /* where the chunk's text starts */
    size_t count;
    size_t off[QRY_SIMPLE_MAX_WORDS], len[QRY_SIMPLE_MAX_WORDS];
};

static int add_word_span(void *arg, const struct stem_token *t)
{
    struct chunk_words *w = arg;
    if (t->is_compound) {
        return 0; /* its parts come as words of their own */
    }
    w->off[w->count] = w->base + t->offset;
    w->len[w->count] = t->len;
    return ++w->count == QRY_SIMPLE_MAX_WORDS;
}

/* A positive chunk that passed QRY_MAX_TERMS as one phrase (a pasted list "a,b,c,..." or a
 * long quotation; add_chunk left it out and set is_truncated): its words as chunks of their
 * own, so that the query keeps the first of them, as it does for words between spaces, rather
 * than none. *chunks counts the words added against QRY_SIMPLE_MAX_WORDS. SD_ELIMIT when a
 * limit cut it short. */
static int add_words_of(struct qry_parser *p, struct simple_state *st, const struct simple_chunk *c,
                        size_t *chunks)
{
    struct chunk_words w = {.base = c->tok.off + (c->tok.type == QT_PHRASE)};
    int rc = stem_tokenize(p->stem, p->text + w.base, c->tok.len, 0, add_word_span, &w, NULL);
    if (rc != STEM_OK && rc != 1) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < w.count; i++) {
        if (*chunks == QRY_SIMPLE_MAX_WORDS) {
            return SD_ELIMIT;
        }
        struct simple_chunk word = {.tok = {.type = QT_WORD, .off = w.off[i], .len = w.len[i]}};
        size_t before = p->word_count;
        rc = add_chunk(p, st, &word, false);
        if (rc) {
            return rc;
        }
        *chunks += p->word_count > before;
    }
    return SD_OK;
}

static int parse_chunks(struct qry_parser *p, struct simple_state *st, unsigned flags,
                        size_t full_len)
{
    size_t pos = 0;
    size_t chunks = 0;
    struct simple_chunk c;
    while (next_chunk(p->text, p->len, &pos, &c)) {
        if (c.is_or) {
            st->pending_or = st->last != QRY_NONE;
            continue;
        }
        if (c.is_and) {
            continue;
        }
        if (chunks == QRY_SIMPLE_MAX_WORDS) {
            p->is_truncated = true;
            break;
        }
        size_t before = p->word_count;
        bool typing = (flags & QRY_SIMPLE_PREFIX_LAST) && is_typing(&c, full_len);
        int rc = add_chunk(p, st, &c, typing);
        if (rc == SD_ELIMIT && !c.is_negative) {
            rc = add_words_of(p, st, &c, &chunks);
        } else if (rc == SD_OK) {
            chunks += p->word_count > before;
        }
        if (rc == SD_ELIMIT) {
            break;
        }
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

int qry_parse_simple(struct qry_ctx *ctx, const char *text, size_t len, unsigned flags,
                     struct qry **out, struct sd_error *err)
{
    bool is_cut = false;
    struct qry_parser p = {.stem = ctx->stem, .text = text, .err = err};
    p.len = simple_len(text, len, &is_cut);
    p.is_truncated = is_cut;
    p.field = QRY_ALL_FIELDS;
    struct simple_state st = {.tail = QRY_NONE, .last = QRY_NONE, .or_tail = QRY_NONE};
    int rc = qry_add_node(&p, QN_AND, 0, &st.and_node);
    if (!rc) {
        rc = parse_chunks(&p, &st, flags, len);
    }
    if (!rc) {
        rc = qry_parser_finish(&p, simple_root(&p, &st), out);
    }
    qry_parser_free(&p);
    return rc;
}

bool qry_is_truncated(const struct qry *q)
{
    return q->is_truncated;
}

int32_t qry_typing_group(const struct qry *q, int32_t node)
{
    const struct qry_node *qn = q->nodes;
    for (size_t g = 0; g < q->node_count; g++) {
        if (qn[g].type != QN_OR || qn[g].syn_role != QRY_SYN_TYPING) {
            continue;
        }
        for (int32_t k = qn[g].first_child; k != QRY_NONE; k = qn[k].next_sibling) {
            if (k == node) {
                return (int32_t)g;
            }
        }
    }
    return QRY_NONE;
}

int32_t qry_typing_word(const struct qry *q, int32_t group)
{
    int32_t w = q->nodes[group].first_child;
    if (w != QRY_NONE && q->nodes[w].type == QN_OR && q->nodes[w].syn_role == QRY_SYN_GROUP) {
        w = q->nodes[w].first_child; /* the word with its synonyms: the one typed comes first */
    }
    return w;
}

/* ---- most words: the reading of a box's query when all its words together find nothing ---- */

/* Whether operand n of the root AND is one typed word: a word, a prefix, the word being typed,
 * or a word with its synonyms (qry_with_lexicon keeps the word's offset). A phrase, an OR or a
 * compound spans more than one word. */
static bool is_one_word(const struct qry *q, const struct qry_node *n)
{
    if (n->type == QN_WORD || n->type == QN_PREFIX) {
        return true;
    }
    if (n->type != QN_OR || (n->syn_role != QRY_SYN_TYPING && n->syn_role != QRY_SYN_GROUP)) {
        return false;
    }
    return n->first_child != QRY_NONE && q->nodes[n->first_child].type == QN_WORD;
}

/* Whether child c of the root AND joins the group: one typed word, and room for it. */
static bool joins_group(const struct qry *q, int32_t c, size_t grouped)
{
    const struct qry_node *n = &q->nodes[c];
    return grouped < 32 && !n->is_negative && !n->is_filter && is_one_word(q, n);
}

int qry_with_any_words(struct qry *q, bool *is_grouped)
{
    *is_grouped = false;
    if (q->root == QRY_NONE || q->nodes[q->root].type != QN_AND) {
        return SD_OK; /* one operand, or none */
    }
    size_t words = 0;
    for (int32_t c = q->nodes[q->root].first_child; c != QRY_NONE; c = q->nodes[c].next_sibling) {
        words += joins_group(q, c, words);
    }
    if (words < 2) {
        return SD_OK;
    }
    struct qry_node *nodes = realloc(q->nodes, (q->node_count + 1) * sizeof *nodes);
    if (!nodes) {
        return SD_ENOMEM;
    }
    q->nodes = nodes;
    int32_t any = (int32_t)q->node_count++;
    nodes[any] = nodes[q->root];
    nodes[any].type = QN_OR;
    nodes[any].syn_role = QRY_SYN_ANY;
    /* Relinks the root's children: the group's words under `any`, in order, and `any` where
     * the first of them stood. */
    int32_t *root_tail = &nodes[q->root].first_child;
    int32_t *any_tail = &nodes[any].first_child;
    size_t grouped = 0;
    for (int32_t c = nodes[q->root].first_child; c != QRY_NONE;) {
        int32_t next = nodes[c].next_sibling;
        if (joins_group(q, c, grouped)) {
            if (grouped++ == 0) {
                *root_tail = any;
                root_tail = &nodes[any].next_sibling;
            }
            *any_tail = c;
            any_tail = &nodes[c].next_sibling;
        } else {
            *root_tail = c;
            root_tail = &nodes[c].next_sibling;
        }
        c = next;
    }
    *root_tail = QRY_NONE;
    *any_tail = QRY_NONE;
    if (nodes[q->root].first_child == any && nodes[any].next_sibling == QRY_NONE) {
        q->root = any; /* nothing else is required */
    }
    *is_grouped = true;
    return SD_OK;
}

bool qry_any_word(const struct qry *q, unsigned i, const char **word, size_t *len)
{
    const struct qry_node *nodes = q->nodes;
    int32_t c = QRY_NONE;
    for (size_t g = 0; g < q->node_count && c == QRY_NONE; g++) {
        if (nodes[g].type == QN_OR && nodes[g].syn_role == QRY_SYN_ANY) {
            c = nodes[g].first_child;
        }
    }
    for (; c != QRY_NONE && i > 0; i--) {
        c = nodes[c].next_sibling;
    }
    if (c == QRY_NONE) {
        return false;
    }
    while (nodes[c].type == QN_OR) {
        c = nodes[c].first_child; /* the word of its synonyms, typing or typo group */
    }
    const struct qry_node *n = &nodes[c];
    const struct qry_term *t =
        &q->terms[n->type == QN_WORD && n->term_count > 1 ? n->term + 1 : n->term];
    *word = qry_term_str(q, t);
    *len = t->len;
    return true;
}
