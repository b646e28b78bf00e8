/*
 * lex.c: splits a query into operators, phrases and words.
 *
 * The lexer only finds the query language's own syntax; it never decides what
 * a word is (stem_tokenize does that, as for documents). Its rules:
 *   - ASCII white space separates terms; '(' ')' '"' are always tokens.
 *   - A phrase runs to the first quote not escaped: inside quotes `\"` and `\\`
 *     are one escaped character each, so a keyword value holding a quote can
 *     be written (filter.c undoes the escapes of a filter value; for a phrase
 *     of words both characters separate words, so nothing needs undoing).
 *     A backslash before anything else is an ordinary character here.
 *   - A word is a run of anything else. Trailing '*'s mark a prefix.
 *   - `OR` and `AND` in upper case are operators; any other spelling is a word.
 *   - At the start of a term, `-` glued to what follows is an exclusion, and a
 *     name ([A-Za-z_][A-Za-z0-9_.-]*) followed by ':' is a field restriction.
 *     Both only at the start of a term: "e-mail" and "10:30" stay words.
 *   - So is any other name the index's settings declare (`год:2012`, `2fa:true`):
 *     settings accept names in any script, and a declared field the query could not
 *     name would be one no filter reaches. Only declared ones, because `итог:5` in a
 *     query of an index without that field has always been two words. Settings refuse a
 *     name this could not read (sch_name_is_writable: a separator or ':' in it, or a
 *     leading '-', which would be an exclusion).
 */
#include <stdint.h>
#include <string.h>

#include "lex_int.h"
#include "schema.h"

void qry_lex_init(struct qry_lexer *lx, const char *text, size_t len,
                  const struct sch_schema *schema)
{
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
    lx->prev = QT_END;
    lx->schema = schema;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The rule settings check declared names against (sch_name_is_writable): shared, so that a
 * name settings accept is one this lexer reads before a ':'. */
static bool is_word_end(char c)
{
    return sch_is_term_end(c);
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Length of a declared field's name when text[pos..] is that name and ':' (a name here is
 * any bytes but ':' and those that end a word). */
static size_t declared_name_len(const struct qry_lexer *lx)
{
    size_t i = lx->pos;
    while (i < lx->len && lx->text[i] != ':' && !is_word_end(lx->text[i])) {
        i++;
    }
    if (i >= lx->len || lx->text[i] != ':' || i == lx->pos ||
        !sch_find(lx->schema, lx->text + lx->pos, i - lx->pos)) {
        return 0;
    }
    return i - lx->pos;
}

/* Length of `name` when text[pos..] starts with `name:` followed by a non-space. */
static size_t field_name_len(const struct qry_lexer *lx)
{
    size_t i = lx->pos;
    if (i >= lx->len || !is_name_start(lx->text[i])) {
        return declared_name_len(lx);
    }
    while (i < lx->len && is_name_char(lx->text[i])) {
        i++;
    }
    if (i >= lx->len || lx->text[i] != ':') {
        return declared_name_len(lx);
    }
    return i - lx->pos;
}

/* The closing quote of the phrase opened at text[open]: the first '"' not escaped by a
 * backslash (`\"` and `\\` are pairs; any other backslash is one character). */
static const char *phrase_end(const struct qry_lexer *lx, size_t open)
{
    for (size_t i = open + 1; i < lx->len; i++) {
        char c = lx->text[i];
        if (c == '"') {
            return lx->text + i;
        }
        if (c == '\\' && i + 1 < lx->len && (lx->text[i + 1] == '"' || lx->text[i + 1] == '\\')) {
            i++;
        }
    }
    return NULL;
}

static int lex_phrase(struct qry_lexer *lx, struct qry_tok *tok, struct sd_error *err)
{
    const char *close = phrase_end(lx, lx->pos);
    if (!close) {
        return sd_errorf(err, SD_EPARSE, "at %zu: unterminated '\"'", lx->pos);
    }
    tok->type = QT_PHRASE;
    tok->off = lx->pos;
    tok->len = (size_t)(close - (lx->text + lx->pos + 1));
    lx->pos = (size_t)(close - lx->text) + 1;
    return SD_OK;
}

static void lex_word(struct qry_lexer *lx, struct qry_tok *tok)
{
    size_t start = lx->pos;
    while (lx->pos < lx->len && !is_word_end(lx->text[lx->pos])) {
        lx->pos++;
    }
    size_t end = lx->pos;
    while (end > start && lx->text[end - 1] == '*') {
        end--;
    }
    tok->type = QT_WORD;
    tok->off = start;
    tok->len = end - start;
    tok->is_prefix = end < lx->pos;
    if (tok->is_prefix || lx->prev == QT_FIELD || lx->prev == QT_MINUS) {
        return; /* "title:OR" and "-AND" search for the words */
    }
    if (tok->len == 2 && memcmp(lx->text + start, "OR", 2) == 0) {
        tok->type = QT_OR;
    } else if (tok->len == 3 && memcmp(lx->text + start, "AND", 3) == 0) {
        tok->type = QT_AND;
    }
}

/* A '-' or `name:` at the start of a term, glued to what follows. */
static bool lex_modifier(struct qry_lexer *lx, struct qry_tok *tok)
{
    if (lx->prev == QT_FIELD) {
        return false; /* "title:-a" and "title:x:y" search for words */
    }
    char c = lx->text[lx->pos];
    if (c == '-' && lx->prev != QT_MINUS && lx->pos + 1 < lx->len) { /* "--a": one '-' */
        char n = lx->text[lx->pos + 1];
        if (!is_space(n) && n != ')') {
            tok->type = QT_MINUS;
            tok->off = lx->pos++;
            tok->len = 1;
            return true;
        }
    }
    size_t name_len = field_name_len(lx);
    if (name_len) {
        tok->type = QT_FIELD;
        tok->off = lx->pos;
        tok->len = name_len;
        lx->pos += name_len + 1;
        return true;
    }
    return false;
}

int qry_lex_next(struct qry_lexer *lx, struct qry_tok *tok, struct sd_error *err)
{
    memset(tok, 0, sizeof *tok);
    bool is_glued = lx->prev == QT_MINUS || lx->prev == QT_FIELD;
    while (!is_glued && lx->pos < lx->len && is_space(lx->text[lx->pos])) {
        lx->pos++;
    }
    tok->off = lx->pos;
    if (lx->pos >= lx->len) {
        tok->type = QT_END;
    } else if (lx->text[lx->pos] == '(' || lx->text[lx->pos] == ')') {
        tok->type = lx->text[lx->pos] == '(' ? QT_LPAREN : QT_RPAREN;
        tok->len = 1;
        lx->pos++;
    } else if (lx->text[lx->pos] == '"') {
        int rc = lex_phrase(lx, tok, err);
        if (rc) {
            return rc;
        }
    } else if (is_space(lx->text[lx->pos])) {
        tok->type = QT_END; /* "title: x": nothing glued to the ':' */
    } else if (!lex_modifier(lx, tok)) {
        lex_word(lx, tok);
    }
    lx->prev = tok->type;
    return SD_OK;
}
