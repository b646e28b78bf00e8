/*
 * jsonarr.c: the documents of a .json file, one at a time, without holding the file.
 *
 * A .json file holds a JSON array of documents, `[{...}, {...}]`, as Meilisearch, Typesense and
 * most exporters write them, pretty-printed or on one line; or a single document `{...}`. A
 * file of hundreds of megabytes is not parsed whole (json-c's tree takes several times the
 * text): a scanner reads it in blocks and cuts the array into its elements, tracking only
 * whether it is inside a string (and after a backslash there) and how deep in brackets it is.
 * Each element's text is handed on as it stands, to be parsed and checked like a .jsonl line
 * (import.c), with one change: whitespace outside strings becomes a space, since the line
 * protocol ends a request at a newline and a pretty-printed document has many. A control
 * character inside a string (a raw line break) is not valid JSON and would break the line too,
 * and one outside whitespace (a NUL) would cut the text short: either is an error here. What the
 * scanner refuses (the file is not an array or an object, a comma with no element after it, text
 * after the closing bracket, a file that ends inside the array) stops it with the line where it was
 * found.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

/* Where the scanner is, between and inside elements. */
enum jsonarr_state {
    JA_START,      /* before the first byte that is not whitespace */
    JA_FIRST,      /* after '[': an element or ']' */
    JA_NEXT,       /* after ',': an element */
    JA_ELEMENT,    /* inside an element (or the single document) */
    JA_AFTER_ELEM, /* after an element's closing bracket: ',' or ']' */
    JA_END,        /* after the array's ']' or at the end of the single document: blanks only */
};

struct jsonarr {
    const char *path;
    cli_json_doc_fn fn;
    void *arg;
    enum jsonarr_state state;
    bool is_single;    /* the file is one document, not an array */
    bool is_in_string; /* inside a string of the element */
    bool is_escaped;   /* after a backslash inside a string */
    uint32_t depth;    /* open brackets of the element */
    uint64_t line;     /* of the byte being read, from 1 */
    uint64_t doc_line; /* where the element began */
    uint64_t ordinal;  /* of the element, from 1 */
    struct cli_buf text; /* owned: the element's text so far */
};

static bool is_json_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int jsonarr_fail(const struct jsonarr *ja, const char *why)
{
    fprintf(stderr, "searchq: %s:%llu: %s\n", ja->path, (unsigned long long)ja->line, why);
    return CLI_EXIT_ERROR;
}

static int jsonarr_put(struct jsonarr *ja, char c)
{
    return cli_buf_put(&ja->text, &c, 1);
}

/* Inside a string, the bytes up to the next quote, backslash or control character are text
 * and nothing more: appended at once (most of a document's bytes). *taken: how many of b[0, n). */
static int jsonarr_string_run(struct jsonarr *ja, const unsigned char *b, size_t n, size_t *taken)
{
    *taken = 0;
    if (ja->state != JA_ELEMENT || !ja->is_in_string || ja->is_escaped) {
        return CLI_EXIT_OK;
    }
    size_t k = 0;
    while (k < n && b[k] != '"' && b[k] != '\\' && b[k] >= 0x20) {
        k++;
    }
    int rc = cli_buf_put(&ja->text, b, k);
    *taken = rc == CLI_EXIT_OK ? k : 0;
    return rc;
}

/* The element is whole: hands it on without the blanks at its end. */
static int jsonarr_emit(struct jsonarr *ja)
{
    while (ja->text.len > 0 && ja->text.data[ja->text.len - 1] == ' ') {
        ja->text.len--;
    }
    if (jsonarr_put(ja, '\0') != CLI_EXIT_OK) {
        return CLI_EXIT_ERROR;
    }
    ja->text.len--; /* (the NUL ends the text, not part of it) */
    ja->ordinal++;
    int rc = ja->fn(ja->arg, ja->path, ja->doc_line, ja->ordinal, ja->text.data, ja->text.len);
    ja->text.len = 0;
    return rc;
}

static void jsonarr_begin(struct jsonarr *ja)
{
    ja->state = JA_ELEMENT;
    ja->doc_line = ja->line;
    ja->depth = 0;
    ja->is_in_string = false;
    ja->is_escaped = false;
}

/* One byte of an element: kept, and the element's end noticed. */
static int jsonarr_element(struct jsonarr *ja, unsigned char c)
{
    if (ja->is_in_string) {
        if (c < 0x20) {
            return jsonarr_fail(ja, "a control character (a raw line break or tab) inside a "
                                    "string: write it as \\n or \\t");
        }
        if (ja->is_escaped) {
            ja->is_escaped = false;
        } else if (c == '\\') {
            ja->is_escaped = true;
        } else if (c == '"') {
            ja->is_in_string = false;
        }
        return jsonarr_put(ja, (char)c);
    }
    if (ja->depth == 0 && !ja->is_single && (c == ',' || c == ']')) {
        ja->state = c == ',' ? JA_NEXT : JA_END;
        return jsonarr_emit(ja); /* a scalar element, or text json-c will refuse */
    }
    if (c == '"') {
        ja->is_in_string = true;
    } else if (c == '{' || c == '[') {
        ja->depth++;
    } else if ((c == '}' || c == ']') && ja->depth > 0 && --ja->depth == 0) {
        int rc = jsonarr_put(ja, (char)c);
        ja->state = ja->is_single ? JA_END : JA_AFTER_ELEM;
        return rc == CLI_EXIT_OK ? jsonarr_emit(ja) : rc;
    }
    return jsonarr_put(ja, is_json_blank(c) ? ' ' : (char)c);
}

static int jsonarr_byte(struct jsonarr *ja, unsigned char c)
{
    if (ja->state != JA_ELEMENT && is_json_blank(c)) {
        return CLI_EXIT_OK;
    }
    if (c < 0x20 && !is_json_blank(c)) { /* (a NUL would also cut the text short) */
        char why[64];
        snprintf(why, sizeof why, "a control character (byte 0x%02x), which JSON never has", c);
        return jsonarr_fail(ja, why);
    }
    switch (ja->state) {
    case JA_START:
        if (c == '[') {
            ja->state = JA_FIRST;
            return CLI_EXIT_OK;
        }
        if (c != '{') {
            return jsonarr_fail(ja, "a .json file must hold a JSON array of documents, [{...}, "
                                    "...], or one document {...}");
        }
        ja->is_single = true;
        jsonarr_begin(ja);
        return jsonarr_element(ja, c);
    case JA_FIRST:
        if (c == ']') {
            ja->state = JA_END;
            return CLI_EXIT_OK;
        }
        if (c == ',') {
            return jsonarr_fail(ja, "a comma with no document before it");
        }
        jsonarr_begin(ja);
        return jsonarr_element(ja, c);
    case JA_NEXT:
        if (c == ']' || c == ',') {
            return jsonarr_fail(ja, "a comma with no document after it");
        }
        jsonarr_begin(ja);
        return jsonarr_element(ja, c);
    case JA_ELEMENT:
        return jsonarr_element(ja, c);
    case JA_AFTER_ELEM:
        if (c == ',' || c == ']') {
            ja->state = c == ',' ? JA_NEXT : JA_END;
            return CLI_EXIT_OK;
        }
        return jsonarr_fail(ja, "a comma or ']' must follow a document of the array");
    case JA_END:
        break;
    }
    return jsonarr_fail(ja, ja->is_single ? "text after the document"
                                          : "text after the array's closing ']'");
}

/* The end of the file: the array, or the single document, must be whole. */
static int jsonarr_finish(struct jsonarr *ja)
{
    switch (ja->state) {
    case JA_START: /* an empty or blank file: no documents */
    case JA_END:
        return CLI_EXIT_OK;
    default:
        return jsonarr_fail(ja, ja->is_single ? "the file ends inside the document"
                                              : "the file ends inside the array (no closing ']')");
    }
}

int cli_json_each_doc(const char *path, cli_json_doc_fn fn, void *arg)
{
    FILE *f;
    if (cli_open_file(path, &f) != CLI_EXIT_OK) {
        return CLI_EXIT_ERROR;
    }
    int rc = cli_json_each_doc_in(f, path, fn, arg);
    fclose(f);
    return rc;
}

int cli_json_each_doc_in(FILE *f, const char *path, cli_json_doc_fn fn, void *arg)
{
    struct jsonarr ja = {.path = path, .fn = fn, .arg = arg, .state = JA_START, .line = 1};
    unsigned char block[65536];
    size_t n;
    bool is_first = true;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && (n = fread(block, 1, sizeof block, f)) > 0) {
        size_t i = 0;
        if (is_first && n >= 3 && memcmp(block, "\xef\xbb\xbf", 3) == 0) {
            i = 3; /* a UTF-8 byte order mark, as import.c drops one from a .jsonl file */
        }
        is_first = false;
        while (i < n && rc == CLI_EXIT_OK) {
            size_t taken;
            rc = jsonarr_string_run(&ja, block + i, n - i, &taken);
            i += taken;
            if (rc == CLI_EXIT_OK && i < n) {
                rc = jsonarr_byte(&ja, block[i]);
                ja.line += block[i] == '\n';
                i++;
            }
        }
    }
    if (rc == CLI_EXIT_OK && ferror(f)) {
        fprintf(stderr, "searchq: %s: read error: %s\n", path, strerror(errno));
        rc = CLI_EXIT_ERROR;
    }
    if (rc == CLI_EXIT_OK) {
        rc = jsonarr_finish(&ja);
    }
    cli_buf_free(&ja.text);
    return rc;
}
