/*
 * lex_int.h: the query lexer (lex.c), used only by the parser (parse.c).
 */
#ifndef SEARCHD_LEX_INT_H
#define SEARCHD_LEX_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "sd_base.h"

enum qry_tok_type {
    QT_END = 0,
    QT_WORD,   /* off/len: the word without trailing '*'s; is_prefix if it had any */
    QT_PHRASE, /* off: the opening quote; the words are text[off+1, off+1+len), escapes
                  (`\"`, `\\`) not undone */
    QT_LPAREN,
    QT_RPAREN,
    QT_MINUS, /* '-' glued to the term after it */
    QT_OR,    /* the upper-case word OR */
    QT_AND,   /* the upper-case word AND */
    QT_FIELD, /* off/len: the name of `name:`, glued to the term after it */
};

struct qry_tok {
    enum qry_tok_type type;
    size_t off;
    size_t len;
    bool is_prefix;
};

struct sch_schema;

/* Walks text[0, len) (borrowed); text is valid UTF-8 (checked before). */
struct qry_lexer {
    const char *text;
    size_t len;
    size_t pos;
    enum qry_tok_type prev;          /* type of the last token, for glued '-' and ':' */
    const struct sch_schema *schema; /* borrowed, may be NULL: its names are field names too */
};

/* schema (borrowed for the lexer's life, NULL: none) declares the names, beyond the ASCII
 * ones, that are field names before a ':'. */
void qry_lex_init(struct qry_lexer *lx, const char *text, size_t len,
                  const struct sch_schema *schema);

/* Reads the next token into *tok. SD_OK or SD_EPARSE (unterminated quote). */
int qry_lex_next(struct qry_lexer *lx, struct qry_tok *tok, struct sd_error *err);

#endif
