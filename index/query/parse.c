/*
 * parse.c: the query grammar, by recursive descent (docs/QUERY.md for users).
 *
 *   query   := and_expr END
 *   and_expr:= or_expr ( ['AND'] or_expr )*          implicit AND binds loosest
 *   or_expr := unary ( 'OR' unary )*
 *   unary   := '-' primary | primary
 *   primary := [field ':'] ( '(' and_expr ')' | '"' phrase '"' | word | word '*' )
 *
 * Each function returns SD_OK or an error and puts the node it built in *out,
 * or QRY_NONE when its text held no searchable token (such a term is dropped;
 * a query left with nothing is "empty query"). Groups that are operands of an
 * AND are flattened into it, so "(-a) b" is "b -a". An AND made only of
 * exclusions is an error wherever it would have to match on its own: at the
 * top, under OR, under '-'. Recursion depth is bounded by QRY_MAX_DEPTH before
 * descending, so a hostile query cannot exhaust the stack.
 */
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

static int parse_and(struct qry_parser *p, size_t group_off, int32_t *out);

int qry_add_node(struct qry_parser *p, enum qry_node_type type, size_t offset, int32_t *out)
{
    struct qry_node *n = qry_vec_push(&p->nodes, sizeof *n);
    if (!n) {
        return sd_errorf(p->err, SD_ENOMEM, "query nodes");
    }
    memset(n, 0, sizeof *n);
    n->type = (uint8_t)type;
    n->field = QRY_ALL_FIELDS;
    n->offset = (uint32_t)offset;
    n->first_child = QRY_NONE;
    n->next_sibling = QRY_NONE;
    *out = (int32_t)(p->nodes.count - 1);
    return SD_OK;
}

void qry_add_child(struct qry_parser *p, int32_t parent, int32_t *tail, int32_t child)
{
    qry_pnode(p, child)->next_sibling = QRY_NONE;
    if (*tail == QRY_NONE) {
        qry_pnode(p, parent)->first_child = child;
    } else {
        qry_pnode(p, *tail)->next_sibling = child;
    }
    *tail = child;
}

static int advance(struct qry_parser *p)
{
    return qry_lex_next(&p->lx, &p->tok, p->err);
}

static bool ends_operand(enum qry_tok_type t)
{
    return t == QT_END || t == QT_RPAREN || t == QT_OR || t == QT_AND;
}

/* True when node's subtree holds only filter clauses (QN_FILTER leaves under AND/OR/NOT). */
static bool subtree_is_filter(struct qry_parser *p, int32_t node)
{
    const struct qry_node *n = qry_pnode(p, node);
    if (n->type == QN_FILTER) {
        return true;
    }
    if (n->type != QN_AND && n->type != QN_OR && n->type != QN_NOT) {
        return false;
    }
    for (int32_t c = n->first_child; c != QRY_NONE; c = qry_pnode(p, c)->next_sibling) {
        if (!subtree_is_filter(p, c)) {
            return false;
        }
    }
    return n->first_child != QRY_NONE;
}

/* An AND whose children are all exclusions cannot match on its own (unless one of them
 * excludes by attribute: that is browsing). */
static int require_positive(struct qry_parser *p, int32_t node)
{
    struct qry_node *n = qry_pnode(p, node);
    if (n->type != QN_AND) {
        return SD_OK;
    }
    for (int32_t c = n->first_child; c != QRY_NONE; c = qry_pnode(p, c)->next_sibling) {
        if (qry_pnode(p, c)->type != QN_NOT || subtree_is_filter(p, c)) {
            return SD_OK; /* excluding by attribute browses: every other document matches */
        }
    }
    return sd_errorf(p->err, SD_EPARSE, "at %u: only excluded terms",
                     qry_pnode(p, n->first_child)->offset);
}

static int intern_field(struct qry_parser *p, const char *name, size_t len, int16_t *out)
{
    const uint32_t *offs = p->fields.data;
    for (size_t i = 0; i < p->fields.count; i++) {
        const char *f = (const char *)p->strings.data + offs[i];
        if (strlen(f) == len && memcmp(f, name, len) == 0) {
            *out = (int16_t)i;
            return SD_OK;
        }
    }
    size_t off = p->strings.count;
    uint32_t *slot = qry_vec_push(&p->fields, sizeof *slot);
    if (!slot || qry_vec_reserve(&p->strings, off + len + 1, 1)) {
        return sd_errorf(p->err, SD_ENOMEM, "query fields");
    }
    memcpy((char *)p->strings.data + off, name, len);
    ((char *)p->strings.data)[off + len] = '\0';
    p->strings.count += len + 1;
    *slot = (uint32_t)off;
    *out = (int16_t)(p->fields.count - 1);
    return SD_OK;
}

static int parse_group(struct qry_parser *p, int32_t *out)
{
    size_t open = p->tok.off;
    if (p->depth >= QRY_MAX_DEPTH) {
        return sd_errorf(p->err, SD_ELIMIT, "at %zu: parentheses nested deeper than %d", open,
                         QRY_MAX_DEPTH);
    }
    int rc = advance(p);
    if (rc) {
        return rc;
    }
    if (p->tok.type == QT_RPAREN) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: empty '()'", open);
    }
    p->depth++;
    rc = parse_and(p, open, out);
    p->depth--;
    if (rc) {
        return rc;
    }
    return advance(p); /* parse_and stopped at the matching ')' */
}

/* One term: a group, a phrase, a prefix or a word (the current token). */
static int parse_term(struct qry_parser *p, int32_t *out)
{
    struct qry_tok tok = p->tok;
    int rc;
    if ((tok.type == QT_WORD || tok.type == QT_PHRASE) && (p->attr || p->is_filter_only)) {
        rc = p->attr ? qry_parse_filter_leaf(p, &tok, out)
                     : sd_errorf(p->err, SD_EPARSE,
                                 "at %zu: a filter holds only clauses on attributes (name:value)",
                                 tok.off);
        return rc ? rc : advance(p);
    }
    switch (tok.type) {
    case QT_LPAREN:
        return parse_group(p, out);
    case QT_PHRASE:
        rc = qry_parse_phrase(p, &tok, out);
        break;
    case QT_WORD:
        rc = tok.is_prefix ? qry_parse_prefix(p, &tok, out) : qry_parse_word(p, &tok, out);
        break;
    case QT_RPAREN:
        return sd_errorf(p->err, SD_EPARSE, "at %zu: unbalanced ')'", tok.off);
    default:
        return sd_errorf(p->err, SD_EPARSE, "at %zu: expected a term", tok.off);
    }
    return rc ? rc : advance(p);
}

/* Puts `name:` in scope for the term that follows (the current token): a declared attribute
 * makes it a filter clause, anything else a field restriction of words. A name that is not
 * an attribute is refused where only a clause can stand (the filter string, a range, inside
 * an attribute's group), naming the field and what it is. */
static int field_scope(struct qry_parser *p, const struct qry_tok *name)
{
    const char *s = p->text + name->off;
    const struct sch_field *f = sch_find(p->schema, s, name->len);
    if (f && f->type != SCH_TEXT) {
        p->attr = f;
        return SD_OK;
    }
    bool is_range =
        p->tok.type == QT_WORD && qry_looks_like_range(p->text + p->tok.off, p->tok.len);
    if (p->is_filter_only || is_range || p->attr) {
        return f ? sd_errorf(p->err, SD_EFIELD,
                             "at %zu: field '%.*s' in filter is declared as text (filters "
                             "need an int, float, date, bool or keyword attribute)",
                             name->off, (int)name->len, s)
                 : sd_errorf(p->err, SD_EFIELD, "at %zu: unknown field '%.*s' in filter", name->off,
                             (int)name->len, s);
    }
    return intern_field(p, s, name->len, &p->field);
}

static int parse_primary(struct qry_parser *p, int32_t *out)
{
    if (p->tok.type != QT_FIELD) {
        return parse_term(p, out);
    }
    struct qry_tok name = p->tok;
    int16_t saved = p->field;
    const struct sch_field *saved_attr = p->attr;
    int rc = advance(p);
    if (!rc && (p->tok.type != QT_WORD && p->tok.type != QT_PHRASE && p->tok.type != QT_LPAREN)) {
        rc = sd_errorf(p->err, SD_EPARSE, "at %zu: field '%.*s' without a term", name.off,
                       (int)name.len, p->text + name.off);
    }
    if (!rc) {
        rc = field_scope(p, &name);
    }
    if (!rc) {
        rc = parse_term(p, out);
    }
    p->field = saved;
    p->attr = saved_attr;
    return rc;
}

static int parse_unary(struct qry_parser *p, int32_t *out)
{
    if (p->tok.type != QT_MINUS) {
        return parse_primary(p, out);
    }
    size_t minus = p->tok.off;
    int32_t child = 0;
    int rc = advance(p);
    if (!rc && ends_operand(p->tok.type)) {
        rc = sd_errorf(p->err, SD_EPARSE, "at %zu: expected a term after '-'", minus);
    }
    if (!rc) {
        rc = parse_primary(p, &child);
    }
    if (!rc && child != QRY_NONE) {
        rc = require_positive(p, child);
    }
    if (rc || child == QRY_NONE) {
        *out = QRY_NONE;
        return rc;
    }
    int32_t tail = QRY_NONE;
    rc = qry_add_node(p, QN_NOT, minus, out);
    if (!rc) {
        qry_add_child(p, *out, &tail, child);
    }
    return rc;
}

/* Links child under an OR node created on the second operand. */
static int or_add(struct qry_parser *p, int32_t *node, int32_t *tail, int32_t child, size_t off)
{
    if (child == QRY_NONE) {
        return SD_OK;
    }
    if (qry_pnode(p, child)->type == QN_NOT) {
        return sd_errorf(p->err, SD_EPARSE, "at %u: exclusion inside OR",
                         qry_pnode(p, child)->offset);
    }
    int rc = require_positive(p, child);
    if (rc) {
        return rc;
    }
    if (*node == QRY_NONE) {
        rc = qry_add_node(p, QN_OR, off, node);
    }
    if (!rc) {
        qry_add_child(p, *node, tail, child);
    }
    return rc;
}

static int parse_or(struct qry_parser *p, int32_t *out)
{
    int32_t first = 0;
    int rc = parse_unary(p, &first);
    if (rc || p->tok.type != QT_OR) {
        *out = first;
        return rc;
    }
    int32_t node = QRY_NONE;
    int32_t tail = QRY_NONE;
    size_t off = first == QRY_NONE ? p->tok.off : qry_pnode(p, first)->offset;
    rc = or_add(p, &node, &tail, first, off);
    while (!rc && p->tok.type == QT_OR) {
        size_t op = p->tok.off;
        int32_t next = 0;
        rc = advance(p);
        if (!rc && ends_operand(p->tok.type)) {
            rc = sd_errorf(p->err, SD_EPARSE, "at %zu: 'OR' without a term after it", op);
        }
        if (!rc) {
            rc = parse_unary(p, &next);
        }
        if (!rc) {
            rc = or_add(p, &node, &tail, next, off);
        }
    }
    if (!rc && node != QRY_NONE && qry_pnode(p, node)->first_child == tail) {
        node = tail; /* one operand left after dropping empty words */
    }
    *out = node;
    return rc;
}

/* Adds child to the AND list, splicing in the children of a nested AND. */
static void and_add(struct qry_parser *p, int32_t node, int32_t *tail, int32_t child)
{
    if (qry_pnode(p, child)->type != QN_AND) {
        qry_add_child(p, node, tail, child);
        return;
    }
    int32_t c = qry_pnode(p, child)->first_child;
    while (c != QRY_NONE) {
        int32_t next = qry_pnode(p, c)->next_sibling;
        qry_add_child(p, node, tail, c);
        c = next;
    }
}

static int and_operator(struct qry_parser *p, bool has_operand)
{
    size_t op = p->tok.off;
    if (!has_operand) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: 'AND' without a term before it", op);
    }
    int rc = advance(p);
    if (!rc && ends_operand(p->tok.type)) {
        rc = sd_errorf(p->err, SD_EPARSE, "at %zu: 'AND' without a term after it", op);
    }
    return rc;
}

/* Operands up to ')' (group_off is its '(') or the end (group_off SIZE_MAX). */
static int parse_and(struct qry_parser *p, size_t group_off, int32_t *out)
{
    int32_t node = 0;
    int32_t tail = QRY_NONE;
    bool has_operand = false;
    int rc = qry_add_node(p, QN_AND, p->tok.off, &node);
    while (!rc && p->tok.type != QT_END && p->tok.type != QT_RPAREN) {
        int32_t child = 0;
        if (p->tok.type == QT_OR) {
            return sd_errorf(p->err, SD_EPARSE, "at %zu: 'OR' without a term before it",
                             p->tok.off);
        }
        if (p->tok.type == QT_AND) {
            rc = and_operator(p, has_operand);
            continue;
        }
        rc = parse_or(p, &child);
        has_operand = true;
        if (!rc && child != QRY_NONE) {
            and_add(p, node, &tail, child);
        }
    }
    if (rc) {
        return rc;
    }
    if (group_off == SIZE_MAX && p->tok.type == QT_RPAREN) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: unbalanced ')'", p->tok.off);
    }
    if (group_off != SIZE_MAX && p->tok.type == QT_END) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: unbalanced '('", group_off);
    }
    int32_t first = qry_pnode(p, node)->first_child;
    if (first != QRY_NONE && first == tail && qry_pnode(p, first)->type != QN_NOT) {
        node = first; /* a single positive operand needs no AND */
    }
    *out = first == QRY_NONE ? QRY_NONE : node;
    return SD_OK;
}

static void mark_negative(struct qry_node *nodes, int32_t i, bool is_negative)
{
    struct qry_node *n = &nodes[i];
    n->is_negative = is_negative;
    bool below = n->type == QN_NOT ? !is_negative : is_negative;
    for (int32_t c = n->first_child; c != QRY_NONE; c = nodes[c].next_sibling) {
        mark_negative(nodes, c, below);
    }
}

static void mark_filter(struct qry_parser *p, int32_t i)
{
    for (int32_t c = qry_pnode(p, i)->first_child; c != QRY_NONE;
         c = qry_pnode(p, c)->next_sibling) {
        mark_filter(p, c);
    }
    qry_pnode(p, i)->is_filter = subtree_is_filter(p, i);
}

void qry_parser_free(struct qry_parser *p)
{
    qry_vec_free(&p->nodes);
    qry_vec_free(&p->terms);
    qry_vec_free(&p->strings);
    qry_vec_free(&p->fields);
    qry_vec_free(&p->wtoks);
    qry_vec_free(&p->tmp);
    qry_vec_free(&p->filters);
}

/* Moves the parser's arrays into a new struct qry. */
int qry_parser_finish(struct qry_parser *p, int32_t root, struct qry **out)
{
    struct qry *q = calloc(1, sizeof *q);
    if (!q) {
        return sd_errorf(p->err, SD_ENOMEM, "query");
    }
    if (root != QRY_NONE) {
        mark_negative(p->nodes.data, root, false);
        mark_filter(p, root);
    }
    q->nodes = p->nodes.data;
    q->node_count = p->nodes.count;
    q->terms = p->terms.data;
    q->term_count = p->terms.count;
    q->strings = p->strings.data;
    q->strings_len = p->strings.count;
    q->field_offs = p->fields.data;
    q->field_count = p->fields.count;
    q->filters = p->filters.data;
    q->filter_count = p->filters.count;
    q->root = root;
    q->is_truncated = p->is_truncated;
    memset(&p->nodes, 0, sizeof p->nodes);
    memset(&p->terms, 0, sizeof p->terms);
    memset(&p->strings, 0, sizeof p->strings);
    memset(&p->fields, 0, sizeof p->fields);
    memset(&p->filters, 0, sizeof p->filters);
    *out = q;
    return SD_OK;
}

static int check_text(const char *text, size_t len, struct sd_error *err)
{
    if (len > QRY_MAX_LEN) {
        return sd_errorf(err, SD_ELIMIT, "query is %zu bytes, the limit is %d", len, QRY_MAX_LEN);
    }
    size_t bad = stem_utf8_invalid_at(text, len);
    if (bad < len) {
        return sd_errorf(err, SD_EPARSE, "at %zu: invalid UTF-8", bad);
    }
    return SD_OK;
}

static int parse_text(struct qry_ctx *ctx, const char *text, size_t len,
                      const struct sch_schema *schema, bool is_filter_only, struct qry **out,
                      struct sd_error *err)
{
    int rc = check_text(text, len, err);
    if (rc) {
        return rc;
    }
    struct qry_parser p = {.stem = ctx->stem,
                           .text = text,
                           .len = len,
                           .err = err,
                           .schema = schema,
                           .is_filter_only = is_filter_only};
    p.field = QRY_ALL_FIELDS;
    qry_lex_init(&p.lx, text, len, schema);
    int32_t root = QRY_NONE;
    rc = advance(&p);
    if (!rc) {
        rc = parse_and(&p, SIZE_MAX, &root);
    }
    if (!rc && root == QRY_NONE && !is_filter_only) {
        rc = sd_errorf(err, SD_EPARSE, "at 0: empty query");
    }
    if (!rc && root != QRY_NONE && !is_filter_only) {
        rc = require_positive(&p, root); /* a filter of exclusions only is fine */
    }
    if (!rc) {
        rc = qry_parser_finish(&p, root, out);
    }
    if (!rc) {
        (*out)->is_all = root == QRY_NONE;
    }
    qry_parser_free(&p);
    return rc;
}

int qry_parse(struct qry_ctx *ctx, const char *text, size_t len, struct qry **out,
              struct sd_error *err)
{
    return parse_text(ctx, text, len, NULL, false, out, err);
}

int qry_parse_schema(struct qry_ctx *ctx, const char *text, size_t len,
                     const struct sch_schema *schema, struct qry **out, struct sd_error *err)
{
    return parse_text(ctx, text, len, schema, false, out, err);
}

int qry_parse_filter(struct qry_ctx *ctx, const char *text, size_t len,
                     const struct sch_schema *schema, struct qry **out, struct sd_error *err)
{
    return parse_text(ctx, text, len, schema, true, out, err);
}

bool qry_is_browse(const struct qry *q)
{
    return q->is_all || (q->root != QRY_NONE && q->nodes[q->root].is_filter);
}

bool qry_is_none(const struct qry *q)
{
    return !q->is_all && q->root == QRY_NONE;
}

void qry_free(struct qry *q)
{
    if (!q) {
        return;
    }
    free(q->nodes);
    free(q->terms);
    free(q->strings);
    free(q->field_offs);
    free(q->filters);
    free(q);
}

size_t qry_field_count(const struct qry *q)
{
    return q->field_count;
}

const char *qry_field_name(const struct qry *q, size_t i)
{
    return q->strings + q->field_offs[i];
}
