/*
 * textdoc.c: turns a plain .txt or Markdown .md file into a document for `searchq import`.
 *
 *   id     the file name without directories and without its last extension
 *          ("notes/reading-list.md" -> "reading-list")
 *   title  the first non-empty line, without Markdown heading and emphasis markup
 *          ("## **Reading list** ##" -> "Reading list")
 *   body   the rest of the file, after a Setext underline ("=====") if the title has one,
 *          trimmed of blank lines at both ends
 *
 * The file must be UTF-8 (a leading byte order mark is dropped): an invalid byte is reported
 * with its line number rather than sent, because the server would reject the whole batch. The
 * file name must be UTF-8 too, since the id is made from it: a name that is not is reported
 * here, naming the file, rather than refused by the server for the whole batch (bad_utf8). A
 * file with no text (empty, blank, or markup alone) is no document: the import skips it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_int.h"

#define TEXTDOC_MAX_BYTES ((size_t)64 << 20) /* well under any sane --max-request */
#define TEXTDOC_MAX_ID    512                /* PROTOCOL.md: ids are 1 to 512 bytes */

struct textdoc_span {
    const char *p;
    size_t len;
};

int cli_open_file(const char *path, FILE **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "searchq: %s: %s\n", path, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    /* fopen takes a directory; its first read would fail with a bare "read error" */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "searchq: %s: is a directory, not a file\n", path);
        fclose(f);
        return CLI_EXIT_ERROR;
    }
    *out = f;
    return CLI_EXIT_OK;
}

int cli_read_file(const char *path, char **out, size_t *out_len)
{
    FILE *f;
    if (cli_open_file(path, &f) != CLI_EXIT_OK) {
        return CLI_EXIT_ERROR;
    }
    size_t len = 0, cap = 0;
    char *buf = NULL;
    int rc = CLI_EXIT_OK;
    for (;;) {
        if (cap - len < 4096) {
            if (cap > TEXTDOC_MAX_BYTES) {
                fprintf(stderr, "searchq: %s: file too large (limit 64 MiB)\n", path);
                rc = CLI_EXIT_ERROR;
                break;
            }
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(buf, cap);
            if (!p) {
                fprintf(stderr, "searchq: %s: out of memory\n", path);
                rc = CLI_EXIT_ERROR;
                break;
            }
            buf = p;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                fprintf(stderr, "searchq: %s: read error\n", path);
                rc = CLI_EXIT_ERROR;
            }
            break;
        }
    }
    fclose(f);
    if (rc == CLI_EXIT_OK && len > TEXTDOC_MAX_BYTES) {
        fprintf(stderr, "searchq: %s: file too large (limit 64 MiB)\n", path);
        rc = CLI_EXIT_ERROR;
    }
    if (rc != CLI_EXIT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return CLI_EXIT_OK;
}

static bool textdoc_is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static struct textdoc_span textdoc_trim(struct textdoc_span s)
{
    while (s.len > 0 && textdoc_is_blank(s.p[0])) {
        s.p++, s.len--;
    }
    while (s.len > 0 && textdoc_is_blank(s.p[s.len - 1])) {
        s.len--;
    }
    return s;
}

/* Strips one run of ch from both ends of s, when s has it at both ends (emphasis markup). */
static struct textdoc_span textdoc_strip_pair(struct textdoc_span s, char ch)
{
    size_t lead = 0, trail = 0;
    while (lead < s.len && s.p[lead] == ch) {
        lead++;
    }
    while (trail < s.len - lead && s.p[s.len - 1 - trail] == ch) {
        trail++;
    }
    if (lead == 0 || trail == 0 || lead + trail >= s.len) {
        return s;
    }
    size_t n = lead < trail ? lead : trail;
    return textdoc_trim((struct textdoc_span){s.p + n, s.len - 2 * n});
}

/* "## **Title** ##" -> "Title": ATX heading marks, a closing sequence, emphasis around it. */
static struct textdoc_span textdoc_clean_title(struct textdoc_span s)
{
    s = textdoc_trim(s);
    while (s.len > 0 && s.p[0] == '#') {
        s.p++, s.len--;
    }
    s = textdoc_trim(s);
    while (s.len > 0 && s.p[s.len - 1] == '#') {
        s.len--;
    }
    s = textdoc_trim(s);
    s = textdoc_strip_pair(s, '*');
    s = textdoc_strip_pair(s, '_');
    return s;
}

/* The line starting at p (up to end), without its newline; *next is where the next one starts. */
static struct textdoc_span textdoc_line(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *next = nl ? nl + 1 : end;
    return (struct textdoc_span){p, (size_t)((nl ? nl : end) - p)};
}

/* A Setext underline: only '=' or only '-' (at least two), give or take spaces. */
static bool textdoc_is_underline(struct textdoc_span s)
{
    s = textdoc_trim(s);
    if (s.len < 2 || (s.p[0] != '=' && s.p[0] != '-')) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] != s.p[0]) {
            return false;
        }
    }
    return true;
}

/* Splits text into title and body; false when no line has any text. */
static bool textdoc_split(const char *text, size_t len, struct textdoc_span *title,
                          struct textdoc_span *body)
{
    const char *p = text, *end = text + len, *next;
    for (; p < end; p = next) {
        struct textdoc_span line = textdoc_line(p, end, &next);
        *title = textdoc_clean_title(line);
        if (title->len > 0) {
            break;
        }
    }
    if (p >= end) {
        return false;
    }
    const char *after;
    if (next < end && textdoc_is_underline(textdoc_line(next, end, &after))) {
        next = after;
    }
    *body = textdoc_trim((struct textdoc_span){next, (size_t)(end - next)});
    return true;
}

/* The id: base name without the last extension. */
static int textdoc_id(const char *path, struct textdoc_span *id)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (len == 0 || len > TEXTDOC_MAX_ID) {
        fprintf(stderr, "searchq: %s: cannot make a document id (1 to %d bytes) from the name\n",
                path, TEXTDOC_MAX_ID);
        return CLI_EXIT_ERROR;
    }
    size_t bad;
    if (!cli_utf8_valid(base, len, &bad)) {
        fprintf(stderr,
                "searchq: %s: the file name is not valid UTF-8 (byte 0x%02x), and the document "
                "id is made from it: rename the file\n",
                path, (unsigned char)base[bad]);
        return CLI_EXIT_ERROR;
    }
    *id = (struct textdoc_span){base, len};
    return CLI_EXIT_OK;
}

static int textdoc_check_utf8(const char *path, const char *text, size_t len)
{
    size_t bad;
    if (cli_utf8_valid(text, len, &bad)) {
        return CLI_EXIT_OK;
    }
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < bad; i++) {
        if (text[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    /* the byte within its line, from 1, as import names a bad JSON byte */
    fprintf(stderr, "searchq: %s:%zu: not valid UTF-8 (byte 0x%02x, byte %zu of the line)\n", path,
            line, (unsigned char)text[bad], bad - line_start + 1);
    return CLI_EXIT_ERROR;
}

int cli_textdoc_read(const char *path, struct json_object **doc)
{
    char *text;
    size_t len;
    struct textdoc_span id, title, body;
    int rc = textdoc_id(path, &id);
    if (rc == CLI_EXIT_OK) {
        rc = cli_read_file(path, &text, &len);
    }
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    rc = textdoc_check_utf8(path, text, len);
    if (rc != CLI_EXIT_OK) {
        goto out_free;
    }
    size_t bom = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    if (!textdoc_split(text + bom, len - bom, &title, &body)) {
        *doc = NULL; /* no text: no document, and not an error */
        goto out_free;
    }
    struct json_object *d = json_object_new_object();
    if (!d) {
        fprintf(stderr, "searchq: out of memory\n");
        rc = CLI_EXIT_ERROR;
        goto out_free;
    }
    json_object_object_add(d, "id", json_object_new_string_len(id.p, (int)id.len));
    json_object_object_add(d, "title", json_object_new_string_len(title.p, (int)title.len));
    json_object_object_add(d, "body", json_object_new_string_len(body.p, (int)body.len));
    *doc = d;
out_free:
    free(text);
    return rc;
}
