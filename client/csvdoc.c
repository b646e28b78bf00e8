/*
 * csvdoc.c: the documents of a .csv file, a row at a time, typed by the index's settings.
 *
 * The file is RFC 4180 CSV, as spreadsheets and databases export it: fields separated by
 * commas, rows ended by CRLF, LF or CR; a field in double quotes may hold commas, line breaks
 * and doubled quotes (""). The first row names the columns; one must be "id". A UTF-8 byte
 * order mark before it is dropped, and empty lines are skipped. It is read as a stream: a
 * row is made a JSON object, handed on and freed before the next is read.
 *
 * Types. CSV has only text, and the server coerces nothing (docs/DATA.md: "2012" is not an
 * int), so each column's cells are converted here: by the type in the column's name
 * ("year:int", as Meilisearch's "price:number"), else by the index's declared field of that
 * name (get_settings, fetched by import.c), else as strings. int: an integer from -2^63 to
 * 2^63-1; float or number: a JSON number (an integer one stays an integer); bool or boolean:
 * true or false, in any case; text, keyword, date and string: the text as it is, which must
 * be UTF-8. Spaces around a number or a bool are dropped. An empty cell is no value: the field
 * is left out of that document. A cell holds one value: attributes with several values need a
 * .json or .jsonl file.
 *
 * Faults stop the reading with the line and what is wrong, the documents before handed on: a
 * quote inside a field that does not begin with one, text after a closing quote, a row with
 * more or fewer fields than the header, a file that ends inside quotes, a NUL byte, a value
 * that is not of its column's type, and in the header an unnamed, repeated or over-long
 * column, or no "id".
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_int.h"

#define CSV_MAX_COLUMNS 64 /* the fields a document may have (docs/PROTOCOL.md "Documents") */
#define CSV_MAX_NAME    64
#define CSV_MAX_ROW     ((size_t)INT32_MAX) /* bytes of a row's text: json-c's lengths are int */

enum csv_type { CSV_STRING, CSV_INT, CSV_NUMBER, CSV_BOOL };

struct csv_col {
    char *name; /* owned */
    enum csv_type type;
};

struct csv {
    const char *path;
    struct json_object *fields; /* borrowed: the index's declared fields, or NULL */
    cli_csv_doc_fn fn;
    void *arg;
    /* the reader */
    bool is_quoted;      /* inside a field's quotes */
    bool is_after_quote; /* a quote inside them: their end, or the first of a doubled one */
    bool was_quoted;     /* the field began with a quote (and they closed) */
    bool is_after_cr;    /* a CR ended the row: an LF right after it is part of the end */
    char prev;           /* the byte before, for counting lines */
    uint64_t line;       /* of the byte being read, from 1 */
    uint64_t row_line;   /* where the row began */
    uint64_t quote_line; /* where the open quote began */
    /* the row being read: its fields' text one after another, ends[i] where field i ends */
    struct cli_buf text; /* owned */
    size_t ends[CSV_MAX_COLUMNS + 1];
    size_t nfields; /* fields ended so far in the row (the one being read not counted) */
    bool is_row_started;
    /* the header */
    struct csv_col cols[CSV_MAX_COLUMNS];
    size_t ncols;
    uint64_t ordinal; /* rows handed on */
};

static int csv_fail(const struct csv *c, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int csv_fail(const struct csv *c, uint64_t line, const char *fmt, ...)
{
    fprintf(stderr, "searchq: %s:%llu: ", c->path, (unsigned long long)line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_ERROR;
}

static int csv_put(struct csv *c, char ch)
{
    if (c->text.len == CSV_MAX_ROW) {
        return csv_fail(c, c->row_line, "a row of over 2 GiB");
    }
    return cli_buf_put(&c->text, &ch, 1);
}

/* ---- the header ---- */

static bool csv_type_named(const char *s, size_t len, enum csv_type *type)
{
    static const struct {
        const char *name;
        enum csv_type type;
    } names[] = {{"string", CSV_STRING}, {"text", CSV_STRING}, {"keyword", CSV_STRING},
                 {"date", CSV_STRING},   {"int", CSV_INT},     {"float", CSV_NUMBER},
                 {"number", CSV_NUMBER}, {"bool", CSV_BOOL},   {"boolean", CSV_BOOL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == len && memcmp(names[i].name, s, len) == 0) {
            *type = names[i].type;
            return true;
        }
    }
    return false;
}

/* The type of the index's declared field name, CSV_STRING when none is declared. */
static enum csv_type csv_declared_type(const struct csv *c, const char *name)
{
    struct json_object *field = NULL, *type = NULL;
    enum csv_type t = CSV_STRING;
    if (c->fields && json_object_object_get_ex(c->fields, name, &field) &&
        json_object_object_get_ex(field, "type", &type) &&
        json_object_is_type(type, json_type_string)) {
        const char *s = json_object_get_string(type);
        csv_type_named(s, strlen(s), &t);
    }
    return t;
}

/* Field i of the row: buf[start, end). */
static const char *csv_field(const struct csv *c, size_t i, size_t *len)
{
    size_t start = i == 0 ? 0 : c->ends[i - 1];
    *len = c->ends[i] - start;
    return c->text.data ? c->text.data + start : ""; /* (empty fields: no buffer yet) */
}

static int csv_header(struct csv *c)
{
    bool has_id = false;
    for (size_t i = 0; i < c->nfields; i++) {
        size_t len;
        const char *s = csv_field(c, i, &len);
        const char *colon = NULL;
        for (size_t k = len; k > 0 && !colon; k--) {
            colon = s[k - 1] == ':' ? s + k - 1 : NULL;
        }
        enum csv_type type = CSV_STRING;
        bool is_typed = colon && csv_type_named(colon + 1, (size_t)(s + len - colon - 1), &type);
        size_t name_len = is_typed ? (size_t)(colon - s) : len;
        size_t bad;
        if (name_len < 1 || name_len > CSV_MAX_NAME || memchr(s, '\0', name_len) ||
            !cli_utf8_valid(s, name_len, &bad)) {
            return csv_fail(c, c->row_line,
                            "column %zu of the header: a name must be 1 to 64 bytes of UTF-8",
                            i + 1);
        }
        char *name = strndup(s, name_len);
        if (!name) {
            fprintf(stderr, "searchq: out of memory\n");
            return CLI_EXIT_ERROR;
        }
        c->cols[c->ncols++] = (struct csv_col){.name = name, .type = type};
        for (size_t k = 0; k + 1 < c->ncols; k++) {
            if (strcmp(c->cols[k].name, name) == 0) {
                return csv_fail(c, c->row_line, "the header names column '%s' twice", name);
            }
        }
        if (!is_typed) {
            c->cols[c->ncols - 1].type = csv_declared_type(c, name);
        }
        has_id |= strcmp(name, "id") == 0;
    }
    if (!has_id) {
        return csv_fail(c, c->row_line, "the header (the first row) must name an \"id\" column");
    }
    return CLI_EXIT_OK;
}

/* ---- the rows ---- */

/* s[0, len) without the spaces and tabs at its ends, NUL-terminated in out (cap bytes). */
static bool csv_trimmed(const char *s, size_t len, char *out, size_t cap)
{
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++, len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }
    if (len == 0 || len >= cap) {
        return false;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* Whether s is a JSON number; *is_int when it has no fraction or exponent. */
static bool csv_json_number(const char *s, bool *is_int)
{
    const char *p = s + (*s == '-');
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    } else {
        return false;
    }
    *is_int = *p != '.' && *p != 'e' && *p != 'E';
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p)) {
            return false;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p += p[1] == '+' || p[1] == '-';
        if (!isdigit((unsigned char)*++p)) {
            return false;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    return *p == '\0';
}

/* The value of cell s[0, len) in a column of type t, or NULL with *why set. */
static struct json_object *csv_value(enum csv_type t, const char *s, size_t len, const char **why)
{
    char num[64];
    size_t bad;
    if (t == CSV_STRING) {
        if (!cli_utf8_valid(s, len, &bad)) {
            *why = "not valid UTF-8";
            return NULL;
        }
        return json_object_new_string_len(s, (int)len);
    }
    if (t == CSV_BOOL) {
        bool ok = csv_trimmed(s, len, num, sizeof num);
        if (ok && (strcasecmp(num, "true") == 0 || strcasecmp(num, "false") == 0)) {
            return json_object_new_boolean(strcasecmp(num, "true") == 0);
        }
        *why = "expected true or false";
        return NULL;
    }
    bool is_int = false;
    bool ok = csv_trimmed(s, len, num, sizeof num) && csv_json_number(num, &is_int);
    if (ok && is_int) {
        errno = 0;
        long long v = strtoll(num, NULL, 10);
        if (errno == 0) {
            return json_object_new_int64(v);
        }
        ok = t == CSV_NUMBER; /* past int64: a float can still hold it */
    }
    if (ok && t == CSV_NUMBER) {
        double d = strtod(num, NULL);
        /* Written as typed, but for an integer past int64, which a JSON reader takes for an
         * int64 (json-c saturates it): then as a double, "1.8446744073709552e+19". */
        if (isfinite(d)) {
            return is_int ? json_object_new_double(d) : json_object_new_double_s(d, num);
        }
    }
    *why = t == CSV_INT ? "expected an integer from -2^63 to 2^63-1" : "expected a finite number";
    return NULL;
}

static int csv_row(struct csv *c)
{
    if (c->nfields != c->ncols) {
        return csv_fail(c, c->row_line, "%zu fields, the header has %zu", c->nfields, c->ncols);
    }
    struct json_object *doc = json_object_new_object();
    if (!doc) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < c->ncols && rc == CLI_EXIT_OK; i++) {
        size_t len;
        const char *s = csv_field(c, i, &len);
        if (len == 0) {
            continue; /* no value */
        }
        const char *why = NULL;
        struct json_object *v = csv_value(c->cols[i].type, s, len, &why);
        if (!v) {
            size_t shown = len > 40 ? 40 : len;
            while (shown < len && shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80) {
                shown--; /* (not inside a UTF-8 sequence) */
            }
            rc = csv_fail(c, c->row_line, "row %llu, column '%s': %s, got '%.*s'%s",
                          (unsigned long long)c->ordinal + 1, c->cols[i].name,
                          why ? why : "out of memory", (int)shown, s, shown < len ? "..." : "");
        } else {
            json_object_object_add(doc, c->cols[i].name, v);
        }
    }
    if (rc == CLI_EXIT_OK) {
        c->ordinal++;
        rc = c->fn(c->arg, c->path, c->row_line, c->ordinal, doc);
    }
    json_object_put(doc);
    return rc;
}

/* The field being read is whole. */
static int csv_end_field(struct csv *c)
{
    if (c->nfields == CSV_MAX_COLUMNS) {
        return csv_fail(c, c->row_line, "more than %d fields in a row", CSV_MAX_COLUMNS);
    }
    c->ends[c->nfields++] = c->text.len;
    c->was_quoted = false;
    return CLI_EXIT_OK;
}

/* The row is whole: the header, a document, or an empty line (skipped). */
static int csv_end_row(struct csv *c)
{
    bool is_blank = c->nfields == 0 && c->text.len == 0 && !c->was_quoted;
    int rc = is_blank ? CLI_EXIT_OK : csv_end_field(c);
    if (rc == CLI_EXIT_OK && !is_blank) {
        rc = c->ncols == 0 ? csv_header(c) : csv_row(c);
    }
    c->text.len = 0;
    c->nfields = 0;
    c->was_quoted = false;
    c->is_row_started = false;
    return rc;
}

static int csv_byte(struct csv *c, char ch)
{
    /* A line ends at an LF, at a CRLF, and at a CR alone. */
    c->line += c->prev == '\n' || (c->prev == '\r' && ch != '\n');
    c->prev = ch;
    if (ch == '\0') {
        return csv_fail(c, c->line, "a NUL byte, which text never has");
    }
    if (c->is_after_cr) {
        c->is_after_cr = false;
        if (ch == '\n') {
            return CLI_EXIT_OK; /* CRLF: the CR ended the row */
        }
    }
    if (!c->is_row_started) {
        c->is_row_started = true;
        c->row_line = c->line;
    }
    if (c->is_quoted && !c->is_after_quote) {
        c->is_after_quote = ch == '"';
        return ch == '"' ? CLI_EXIT_OK : csv_put(c, ch);
    }
    if (c->is_after_quote) {
        c->is_after_quote = false;
        if (ch == '"') {
            return csv_put(c, '"'); /* a doubled quote, still inside */
        }
        c->is_quoted = false;
        c->was_quoted = true;
    }
    if (ch == ',') {
        return csv_end_field(c);
    }
    if (ch == '\n' || ch == '\r') {
        c->is_after_cr = ch == '\r';
        return csv_end_row(c);
    }
    if (c->was_quoted) {
        return csv_fail(c, c->line,
                        "text after a field's closing quote (a quote inside quotes "
                        "is written twice: \"\")");
    }
    bool is_field_start = c->text.len == (c->nfields ? c->ends[c->nfields - 1] : 0);
    if (ch == '"' && is_field_start) {
        c->is_quoted = true;
        c->quote_line = c->line;
        return CLI_EXIT_OK;
    }
    if (ch == '"') {
        return csv_fail(c, c->line,
                        "a quote inside a field that does not begin with one "
                        "(quote the whole field and write the quote twice)");
    }
    return csv_put(c, ch);
}

/* After csv_byte, the bytes up to the next comma, quote, line end or NUL are a field's text
 * and nothing more, inside quotes or out (but after a closing quote, where they are a fault):
 * appended at once. *taken: how many of b[0, n). */
static int csv_run(struct csv *c, const char *b, size_t n, size_t *taken)
{
    *taken = 0;
    if (!c->is_row_started || c->is_after_quote || c->was_quoted || c->is_after_cr ||
        c->prev == '\n' || c->prev == '\r') {
        return CLI_EXIT_OK;
    }
    size_t k = 0;
    while (k < n && b[k] != ',' && b[k] != '"' && b[k] != '\n' && b[k] != '\r' && b[k] != '\0') {
        k++;
    }
    if (k == 0 || c->text.len + k > CSV_MAX_ROW) {
        return CLI_EXIT_OK; /* (byte by byte: csv_put says where the row grew too long) */
    }
    int rc = cli_buf_put(&c->text, b, k);
    if (rc == CLI_EXIT_OK) {
        c->prev = b[k - 1];
        *taken = k;
    }
    return rc;
}

static int csv_finish(struct csv *c)
{
    if (c->is_quoted && !c->is_after_quote) {
        return csv_fail(c, c->quote_line, "the file ends inside the quotes opened here");
    }
    if (c->is_after_quote) {
        c->is_quoted = false;
        c->was_quoted = true;
    }
    if (c->is_row_started) {
        return csv_end_row(c);
    }
    return CLI_EXIT_OK;
}

int cli_csv_each_doc_in(FILE *f, const char *path, struct json_object *fields, cli_csv_doc_fn fn,
                        void *arg)
{
    struct csv *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    *c = (struct csv){.path = path, .fields = fields, .fn = fn, .arg = arg, .line = 1};
    char block[65536];
    size_t n;
    bool is_first = true;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && (n = fread(block, 1, sizeof block, f)) > 0) {
        size_t i = 0;
        if (is_first && n >= 3 && memcmp(block, "\xef\xbb\xbf", 3) == 0) {
            i = 3; /* a UTF-8 byte order mark, as spreadsheets write one */
        }
        is_first = false;
        while (i < n && rc == CLI_EXIT_OK) {
            size_t taken = 0;
            rc = csv_byte(c, block[i++]);
            if (rc == CLI_EXIT_OK) {
                rc = csv_run(c, block + i, n - i, &taken);
            }
            i += taken;
        }
    }
    if (rc == CLI_EXIT_OK && ferror(f)) {
        fprintf(stderr, "searchq: %s: read error: %s\n", path, strerror(errno));
        rc = CLI_EXIT_ERROR;
    }
    if (rc == CLI_EXIT_OK) {
        rc = csv_finish(c);
    }
    for (size_t i = 0; i < c->ncols; i++) {
        free(c->cols[i].name);
    }
    cli_buf_free(&c->text);
    free(c);
    return rc;
}

int cli_csv_each_doc(const char *path, struct json_object *fields, cli_csv_doc_fn fn, void *arg)
{
    FILE *f;
    if (cli_open_file(path, &f) != CLI_EXIT_OK) {
        return CLI_EXIT_ERROR;
    }
    int rc = cli_csv_each_doc_in(f, path, fields, fn, arg);
    fclose(f);
    return rc;
}
