/*
 * filter.c: filter clauses of the query language, `name:value` where name is a declared
 * attribute (docs/QUERY.md "Filters, sort and facets").
 *
 * The grammar (parse.c) sees `name:` and, when the schema declares name as an int, float,
 * date, bool or keyword attribute, hands the value token here instead of to the word
 * parser; inside `name:( ... )` every word and quoted value is a clause on name, combined by
 * the group's own AND, OR and '-'. A value is one of
 *   N            equal (int, float, bool `true`/`false`, date: that day, or that instant
 *                for a date-time)
 *   >N >=N <N <=N   one side open
 *   A..B  ..B  A..  inclusive range (a date alone as a bound covers its whole day)
 *   word, "a b"  a keyword value, byte for byte (quotes keep spaces, ':' and '..')
 * Inside quotes `\"` is a quote and `\\` a backslash (add_value): with those two escapes every
 * value a document can hold can be written, and the escaped text is what the search page's
 * quote() sends when a facet bucket is clicked. A backslash before anything else is an
 * error rather than itself, so no query means something today that a later escape would
 * change. A word outside quotes has no escapes: its backslashes are bytes of the value.
 * and becomes one QN_FILTER leaf with a struct qry_filter normalized for evaluation: int,
 * date and bool clauses are a single inclusive int64 range ([lo, hi], empty when lo > hi),
 * floats keep which ends are open. Nothing here reads a segment: filter_eval.c resolves the
 * clauses against each segment's columns.
 *
 * The `filter` request parameter is parsed by the same grammar with is_filter_only: there
 * every operand must be a clause (text would score, and a filter never does).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

#define DAY_MS INT64_C(86400000)

bool qry_looks_like_range(const char *s, size_t len)
{
    if (len > 0 && (s[0] == '<' || s[0] == '>')) {
        return true;
    }
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] == '.' && s[i + 1] == '.') {
            bool lo_ok = i == 0 || (s[0] >= '0' && s[0] <= '9') || s[0] == '-';
            bool hi_ok = i + 2 == len || (s[i + 2] >= '0' && s[i + 2] <= '9') || s[i + 2] == '-';
            return lo_ok && hi_ok;
        }
    }
    return false;
}

/* One bound of a clause: the text, where it is, and which end of a range it closes. */
struct bound {
    const char *s;
    size_t len;
    size_t off; /* in the query text */
};

static int bad_value(const struct qry_fval *p, const struct bound *b, const char *what)
{
    return sd_errorf(p->err, SD_EPARSE, "at %zu: '%.*s' is not %s", b->off,
                     (int)sd_utf8_cut(b->s, b->len, 64), b->s, what);
}

static int parse_int(const struct qry_fval *p, const struct bound *b, int64_t *v)
{
    char buf[32];
    size_t i = b->len > 0 && b->s[0] == '-' ? 1 : 0;
    if (b->len == i || b->len >= sizeof buf) {
        return bad_value(p, b, "an integer");
    }
    for (size_t k = i; k < b->len; k++) {
        if (b->s[k] < '0' || b->s[k] > '9') {
            return bad_value(p, b, "an integer");
        }
    }
    memcpy(buf, b->s, b->len);
    buf[b->len] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno == ERANGE) {
        return bad_value(p, b, "an integer from -2^63 to 2^63-1");
    }
    *v = (int64_t)x;
    return SD_OK;
}

static int parse_float(const struct qry_fval *p, const struct bound *b, double *v)
{
    char buf[64];
    if (b->len == 0 || b->len >= sizeof buf) {
        return bad_value(p, b, "a number");
    }
    for (size_t k = 0; k < b->len; k++) {
        char c = b->s[k];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
            return bad_value(p, b, "a number"); /* no inf, nan or hex */
        }
    }
    memcpy(buf, b->s, b->len);
    buf[b->len] = '\0';
    char *end;
    *v = strtod(buf, &end);
    if (end != buf + b->len || !isfinite(*v)) {
        return bad_value(p, b, "a number");
    }
    return SD_OK;
}

/* A date bound: its first and last millisecond (a day for a date alone, else one instant). */
static int parse_date(const struct qry_fval *p, const struct bound *b, int64_t *first,
                      int64_t *last)
{
    if (!sch_parse_date(b->s, b->len, first)) {
        return bad_value(p, b, "a date (YYYY-MM-DD or an ISO 8601 date-time with a zone)");
    }
    *last = b->len == 10 ? *first + DAY_MS - 1 : *first;
    return SD_OK;
}

/* The first and last value a bound of an int, date or bool attribute stands for. */
static int int_bound(const struct qry_fval *p, const struct bound *b, int64_t *first, int64_t *last)
{
    switch (p->attr->type) {
    case SCH_DATE:
        return parse_date(p, b, first, last);
    case SCH_BOOL:
        if (b->len == 4 && memcmp(b->s, "true", 4) == 0) {
            *first = *last = 1;
        } else if (b->len == 5 && memcmp(b->s, "false", 5) == 0) {
            *first = *last = 0;
        } else {
            return bad_value(p, b, "true or false");
        }
        return SD_OK;
    default: {
        int rc = parse_int(p, b, first);
        *last = *first;
        return rc;
    }
    }
}

enum cmp { CMP_EQ, CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_RANGE };

/* Splits the value into its comparison and bounds: lo (and hi for a range; an open end has
 * len 0 and s NULL). */
static int split_value(const struct qry_fval *p, const char *s, size_t len, size_t off, enum cmp *c,
                       struct bound *lo, struct bound *hi)
{
    size_t skip = 0;
    *c = CMP_EQ;
    if (len >= 2 && (s[0] == '>' || s[0] == '<') && s[1] == '=') {
        *c = s[0] == '>' ? CMP_GE : CMP_LE;
        skip = 2;
    } else if (len >= 1 && (s[0] == '>' || s[0] == '<')) {
        *c = s[0] == '>' ? CMP_GT : CMP_LT;
        skip = 1;
    }
    *lo = (struct bound){s + skip, len - skip, off + skip};
    *hi = (struct bound){NULL, 0, off + len};
    if (skip == 0) {
        for (size_t i = 0; i + 1 < len; i++) {
            if (s[i] == '.' && s[i + 1] == '.') {
                *c = CMP_RANGE;
                *lo = (struct bound){i ? s : NULL, i, off};
                *hi = (struct bound){i + 2 < len ? s + i + 2 : NULL, len - i - 2, off + i + 2};
                break;
            }
        }
    }
    if (*c == CMP_RANGE && !lo->s && !hi->s) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: a range needs at least one bound", off);
    }
    if (*c != CMP_RANGE && lo->len == 0) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: a value is missing", off);
    }
    return SD_OK;
}

static int int_clause(const struct qry_fval *p, enum cmp c, const struct bound *lo,
                      const struct bound *hi, struct qry_filter *f)
{
    int64_t first = INT64_MIN, last = INT64_MAX, a, b;
    int rc = SD_OK;
    f->kind = QF_INT;
    f->lo = INT64_MIN;
    f->hi = INT64_MAX;
    if (c == CMP_RANGE) {
        if (lo->s && (rc = int_bound(p, lo, &first, &b)) == SD_OK) {
            f->lo = first;
        }
        if (!rc && hi->s && (rc = int_bound(p, hi, &a, &last)) == SD_OK) {
            f->hi = last;
        }
        return rc;
    }
    rc = int_bound(p, lo, &first, &last);
    if (rc) {
        return rc;
    }
    switch (c) {
    case CMP_EQ:
        f->lo = first;
        f->hi = last;
        break;
    case CMP_GE:
        f->lo = first;
        break;
    case CMP_LE:
        f->hi = last;
        break;
    case CMP_GT: /* past the last value it covers; nothing is above INT64_MAX */
        f->lo = last == INT64_MAX ? INT64_MAX : last + 1;
        f->hi = last == INT64_MAX ? INT64_MAX - 1 : INT64_MAX;
        break;
    default: /* CMP_LT */
        f->hi = first == INT64_MIN ? INT64_MIN : first - 1;
        f->lo = first == INT64_MIN ? INT64_MIN + 1 : INT64_MIN;
        break;
    }
    return SD_OK;
}

static int float_clause(const struct qry_fval *p, enum cmp c, const struct bound *lo,
                        const struct bound *hi, struct qry_filter *f)
{
    int rc = SD_OK;
    f->kind = QF_FLOAT;
    f->flo = -INFINITY;
    f->fhi = INFINITY;
    if (c == CMP_RANGE) {
        if (lo->s) {
            rc = parse_float(p, lo, &f->flo);
        }
        if (!rc && hi->s) {
            rc = parse_float(p, hi, &f->fhi);
        }
        return rc;
    }
    double v;
    rc = parse_float(p, lo, &v);
    if (rc) {
        return rc;
    }
    f->flo = c == CMP_EQ || c == CMP_GE || c == CMP_GT ? v : -INFINITY;
    f->fhi = c == CMP_EQ || c == CMP_LE || c == CMP_LT ? v : INFINITY;
    f->is_flo_open = c == CMP_GT;
    f->is_fhi_open = c == CMP_LT;
    return SD_OK;
}

static int add_string(struct qry_parser *p, const char *s, size_t len, uint32_t *off)
{
    size_t at = p->strings.count;
    if (qry_vec_reserve(&p->strings, at + len + 1, 1)) {
        return sd_errorf(p->err, SD_ENOMEM, "query strings");
    }
    memcpy((char *)p->strings.data + at, s, len);
    ((char *)p->strings.data)[at + len] = '\0';
    p->strings.count += len + 1;
    *off = (uint32_t)at;
    return SD_OK;
}

/* The clause's value as a keyword (quoted or a word): bytes as typed (the caller keeps them). */
static int keyword_clause(const struct qry_fval *p, const char *s, size_t len, size_t off,
                          bool is_quoted, struct qry_filter *f)
{
    if (!is_quoted && len > 0 && (s[0] == '<' || s[0] == '>')) {
        return sd_errorf(p->err, SD_EFIELD,
                         "at %zu: field '%s' is a keyword: ranges need an int, float or date "
                         "attribute",
                         off, p->attr->name);
    }
    if (len > SCH_MAX_KEYWORD) {
        return sd_errorf(p->err, SD_ELIMIT, "at %zu: keyword value over %d bytes", off,
                         SCH_MAX_KEYWORD);
    }
    /* writes refuse such a keyword (sch_check_new): a clause that could only match nothing */
    const char *nul = memchr(s, '\0', len);
    if (nul) {
        return sd_errorf(p->err, SD_EPARSE,
                         "at %zu: a keyword value holds NUL (U+0000), which no keyword may hold",
                         off + (size_t)(nul - s));
    }
    f->kind = QF_KEYWORD;
    f->str_len = (uint32_t)len;
    return SD_OK;
}

int qry_filter_value(const struct qry_fval *p, const char *s, size_t len, size_t off,
                     bool is_quoted, struct qry_filter *f)
{
    if (p->attr->type == SCH_KEYWORD) {
        return keyword_clause(p, s, len, off, is_quoted, f);
    }
    enum cmp c;
    struct bound lo, hi;
    int rc = split_value(p, s, len, off, &c, &lo, &hi);
    if (!rc && p->attr->type == SCH_BOOL && c != CMP_EQ) {
        rc = sd_errorf(p->err, SD_EFIELD,
                       "at %zu: field '%s' is a bool: ranges need an int, float or date "
                       "attribute",
                       off, p->attr->name);
    }
    if (rc) {
        return rc;
    }
    return p->attr->type == SCH_FLOAT ? float_clause(p, c, &lo, &hi, f)
                                      : int_clause(p, c, &lo, &hi, f);
}

/* Appends the value s[0, len) (at offset off of the text) to p->strings at *at, quoted
 * escapes undone when is_quoted; its length there in *out_len. */
static int add_value(struct qry_parser *p, const char *s, size_t len, size_t off, bool is_quoted,
                     uint32_t *at, size_t *out_len)
{
    int rc = add_string(p, s, len, at);
    if (rc || !is_quoted) {
        *out_len = len;
        return rc;
    }
    char *v = (char *)p->strings.data + *at;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') {
            bool is_escape = i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\');
            if (!is_escape) {
                return sd_errorf(p->err, SD_EPARSE,
                                 "at %zu: a backslash in a quoted value must escape '\"' or "
                                 "'\\' (write '\\\\' for a backslash)",
                                 off + i);
            }
            i++;
        }
        v[n++] = s[i];
    }
    v[n] = '\0';
    p->strings.count = *at + n + 1;
    *out_len = n;
    return SD_OK;
}

int qry_parse_filter_leaf(struct qry_parser *p, const struct qry_tok *tok, int32_t *out)
{
    bool is_quoted = tok->type == QT_PHRASE;
    size_t off = is_quoted ? tok->off + 1 : tok->off;
    if (tok->is_prefix) {
        return sd_errorf(p->err, SD_EPARSE, "at %zu: a prefix ('*') on attribute '%s'", off,
                         p->attr->name);
    }
    if (p->word_count >= QRY_MAX_TERMS) {
        return sd_errorf(p->err, SD_ELIMIT, "at %zu: more than %d terms", off, QRY_MAX_TERMS);
    }
    struct qry_filter f = {.sch_type = (uint8_t)p->attr->type,
                           .name_len = (uint32_t)p->attr->name_len};
    struct qry_fval fv = {.attr = p->attr, .err = p->err};
    uint32_t at = 0;
    size_t len = 0;
    int rc = add_value(p, p->text + off, tok->len, off, is_quoted, &at, &len);
    if (!rc) {
        rc = qry_filter_value(&fv, (const char *)p->strings.data + at, len, off, is_quoted, &f);
    }
    if (!rc && f.kind == QF_KEYWORD) {
        f.str_off = at;
    } else if (!rc) {
        p->strings.count = at; /* a number needs no copy of its text */
    }
    if (!rc) {
        rc = add_string(p, p->attr->name, p->attr->name_len, &f.name_off);
    }
    struct qry_filter *slot = rc ? NULL : qry_vec_push(&p->filters, sizeof *slot);
    if (!rc && !slot) {
        rc = sd_errorf(p->err, SD_ENOMEM, "query filters");
    }
    if (!rc) {
        *slot = f;
        rc = qry_add_node(p, QN_FILTER, tok->off, out);
    }
    if (!rc) {
        struct qry_node *n = qry_pnode(p, *out);
        n->term = (uint32_t)(p->filters.count - 1);
        n->term_count = 0;
        n->is_filter = true;
        p->word_count++;
    }
    return rc;
}
