/*
 * parse_int.h: the parser's state, shared by parse.c (the grammar) and
 * parse_leaf.c (words, phrases and prefixes turned into leaves).
 */
#ifndef SEARCHD_PARSE_INT_H
#define SEARCHD_PARSE_INT_H

#include "lex_int.h"
#include "query_int.h"

/* One token of a query word as stem_tokenize reported it; strings in tmp. */
struct qry_word_tok {
    size_t word_off; /* into parser.tmp */
    size_t word_len;
    size_t stem_off;
    size_t stem_len;
    uint32_t pos;
    size_t offset; /* in the tokenized fragment */
    size_t len;
    bool is_compound;
};

struct qry_parser {
    struct stem_ctx *stem; /* borrowed */
    const char *text;      /* borrowed */
    size_t len;
    struct qry_lexer lx;
    struct qry_tok tok;     /* the current token */
    struct qry_vec nodes;   /* struct qry_node */
    struct qry_vec terms;   /* struct qry_term */
    struct qry_vec strings; /* char */
    struct qry_vec fields;  /* uint32_t offsets into strings */
    struct qry_vec wtoks;   /* struct qry_word_tok of the word being parsed */
    struct qry_vec tmp;     /* char: their strings */
    int16_t field;          /* field in scope, QRY_ALL_FIELDS outside field:(...) */
    const struct sch_schema *schema; /* borrowed, NULL: no attributes declared */
    const struct sch_field *attr;    /* attribute in scope (name:(...)), or NULL */
    bool is_filter_only;             /* the `filter` string: clauses only, no text */
    struct qry_vec filters;          /* struct qry_filter */
    unsigned depth;
    size_t word_count; /* terms so far, against QRY_MAX_TERMS */
    bool is_truncated; /* simple syntax: words past the limits were dropped */
    struct sd_error *err;
};

static inline struct qry_node *qry_pnode(struct qry_parser *p, int32_t i)
{
    return (struct qry_node *)p->nodes.data + i;
}

/* Appends a node; returns its index in *out. SD_OK or SD_ENOMEM. */
int qry_add_node(struct qry_parser *p, enum qry_node_type type, size_t offset, int32_t *out);
/* Links child after the last child of parent (tail is the caller's cursor, QRY_NONE at first). */
void qry_add_child(struct qry_parser *p, int32_t parent, int32_t *tail, int32_t child);

/* Moves the parser's arrays into a new struct qry (*out owned by the caller);
 * root may be QRY_NONE (a simple-syntax query with no words). */
int qry_parser_finish(struct qry_parser *p, int32_t root, struct qry **out);
void qry_parser_free(struct qry_parser *p);

/* Leaves (parse_leaf.c). Each sets *out to the new node, or QRY_NONE when the
 * text holds no token at all (the term is then ignored). */
int qry_parse_word(struct qry_parser *p, const struct qry_tok *tok, int32_t *out);
int qry_parse_phrase(struct qry_parser *p, const struct qry_tok *tok, int32_t *out);
int qry_parse_prefix(struct qry_parser *p, const struct qry_tok *tok, int32_t *out);

/* filter.c: the value of a clause on attribute p->attr (a word or a quoted keyword) as a
 * QN_FILTER leaf in *out. SD_EPARSE "at OFFSET: ..." for a malformed number, date or range,
 * SD_EFIELD when the attribute's type cannot do what is asked. */
int qry_parse_filter_leaf(struct qry_parser *p, const struct qry_tok *tok, int32_t *out);

#endif
