/*
 * print.c: human-readable output of searchq: ranked hits, stored documents and stats.
 *
 * A search prints a header line, then one block per hit:
 *
 *   2 hits for "цифровая дипломатия" (1-2 shown, 0.41 ms)
 *
 *    1  12.803  ru-digital-diplomacy  Цифровая дипломатия: новая грамматика внешней политики
 *               Цифровая дипломатия — это использование социальных сетей и мессенджеров…
 *    2   3.112  ru-soft-power         Мягкая сила в XXI веке
 *               …
 *
 * With --fields each hit gets a line of its chosen fields ("year: 1995 · lang: en"); with
 * --facets the counts follow the hits, one line a facet, buckets in the server's order:
 *
 *   lang   en 30 · ru 12 · (no value) 3
 *   year   1990 4 · 2000 7
 *
 * Columns are padded by display width, not bytes, so Cyrillic lines up with Latin. Titles and
 * excerpts are cut on a character boundary and end with "…" when cut; newlines and runs of
 * spaces in them become one space, and bytes that are not UTF-8 print as '?'.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"

#define PRINT_TITLE_COLS  72  /* a title longer than this is cut */
#define PRINT_LINE_COLS   100 /* the excerpt line, indent included */
#define PRINT_ID_COLS_MAX 40  /* ids up to this wide are padded into a column */

static const char print_ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */

/* The length of v, 0 when it is not an array, and element i of v, NULL when v is not an
 * array or is shorter: an answer from the network may hold anything where an array belongs,
 * and json-c's own accessors assert on a non-array. */
static size_t print_count(struct json_object *v)
{
    return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

static struct json_object *print_item(struct json_object *v, size_t i)
{
    return i < print_count(v) ? json_object_array_get_idx(v, i) : NULL;
}

/* Returns owned, NUL-terminated: s with whitespace runs and control characters (C0, DEL, C1:
 * a terminal takes them for commands) collapsed to one space, trimmed, and invalid UTF-8 bytes
 * replaced by '?'. */
static char *print_clean(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out) {
        return NULL;
    }
    size_t o = 0;
    bool in_space = true; /* drops leading spaces */
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cli_utf8_decode(s + i, len - i, &cp);
        bool is_space = n > 0 && (cp <= 0x20 || (cp >= 0x7F && cp <= 0x9F)); /* C0, DEL, C1 */
        if (is_space) {
            if (!in_space) {
                out[o++] = ' ';
            }
            in_space = true;
            i += n;
            continue;
        }
        in_space = false;
        if (n == 0) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    if (o > 0 && out[o - 1] == ' ') {
        o--;
    }
    out[o] = '\0';
    return out;
}

/* Prints s (cleaned) in at most cols columns, then pads with spaces to exactly pad_to columns
 * (pad_to 0: no padding). */
static void print_cell(FILE *out, const char *s, size_t len, size_t cols, size_t pad_to)
{
    char *clean = print_clean(s, len);
    if (!clean) {
        return;
    }
    size_t clen = strlen(clean);
    size_t width = cli_utf8_width(clean, clen);
    if (width > cols) {
        size_t cut = cli_utf8_fit(clean, clen, cols - 1);
        fwrite(clean, 1, cut, out);
        fputs(print_ellipsis, out);
        width = cli_utf8_width(clean, cut) + 1;
    } else {
        fwrite(clean, 1, clen, out);
    }
    for (; width < pad_to; width++) {
        fputc(' ', out);
    }
    free(clean);
}

/* String v as print_cell() shows it, whole; nothing when v is not a string. */
static void print_string(FILE *out, struct json_object *v)
{
    if (json_object_is_type(v, json_type_string)) {
        print_cell(out, json_object_get_string(v), (size_t)json_object_get_string_len(v), SIZE_MAX,
                   0);
    }
}

/* The strings of array words, each quoted, a space before each. */
static void print_words(FILE *out, struct json_object *words)
{
    for (size_t i = 0; i < print_count(words); i++) {
        fputs(" \"", out);
        print_string(out, print_item(words, i));
        fputc('"', out);
    }
}

static const char *print_str_member(struct json_object *obj, const char *key, size_t *len)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
        *len = 0;
        return "";
    }
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

int64_t cli_int_member(struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : 0;
}

static void print_header(FILE *out, struct json_object *answer, const char *query, int64_t offset,
                         size_t shown)
{
    int64_t total = cli_int_member(answer, "total");
    struct json_object *took = NULL;
    json_object_object_get_ex(answer, "took_ms", &took);
    if (query[0] == '\0') { /* browsing: a filter or sort without words */
        fprintf(out, "%lld %s", (long long)total, total == 1 ? "document" : "documents");
    } else {
        fprintf(out, "%lld %s for \"%s\"", (long long)total, total == 1 ? "hit" : "hits", query);
    }
    if (shown > 0) {
        fprintf(out, " (%lld-%lld shown", (long long)offset + 1,
                (long long)offset + (long long)shown);
    } else {
        fprintf(out, " (none shown");
    }
    if (took) {
        fprintf(out, ", %.2f ms", json_object_get_double(took));
    }
    fputs(")\n", out);
    struct json_object *truncated = NULL;
    if (json_object_object_get_ex(answer, "truncated", &truncated) &&
        json_object_get_boolean(truncated)) {
        fprintf(out, "(the query was long: only its first words were searched)\n");
    }
    struct json_object *layout = NULL, *used = NULL, *lq = NULL;
    if (json_object_object_get_ex(answer, "layout", &layout) &&
        json_object_object_get_ex(layout, "used", &used) && json_object_get_boolean(used) &&
        json_object_object_get_ex(layout, "query", &lq)) {
        fputs("(typed with the other keyboard layout? showing hits for \"", out);
        print_string(out, lq);
        fputs("\")\n", out);
    }
    struct json_object *typos = NULL, *dym = NULL;
    if (json_object_object_get_ex(answer, "typos", &typos) && json_object_get_boolean(typos)) {
        if (json_object_object_get_ex(answer, "did_you_mean", &dym)) {
            fputs("(did you mean \"", out);
            print_string(out, dym);
            fputs("\"? showing hits for near spellings)\n", out);
        } else {
            fprintf(out, "(showing hits for near spellings of the words typed too)\n");
        }
    }
    struct json_object *dropped = NULL;
    if (json_object_object_get_ex(answer, "dropped", &dropped) && print_count(dropped) > 0) {
        fputs("(no document has all the words: showing those with most of them; the first lacks",
              out);
        print_words(out, dropped);
        fputs(")\n", out);
    }
    int64_t every_word = cli_int_member(answer, "every_word");
    if (every_word > 0) {
        fprintf(out, "(%lld with every word, then those with most of them)\n",
                (long long)every_word);
    }
}

/* Span i ([off,len]) of spans; false when it is not one inside s[0, len). */
static bool print_span(struct json_object *spans, size_t i, size_t len, size_t *off, size_t *mlen)
{
    struct json_object *sp = print_item(spans, i);
    int64_t o = json_object_get_int64(print_item(sp, 0));
    int64_t m = json_object_get_int64(print_item(sp, 1));
    if (o < 0 || m <= 0 || (uint64_t)o + (uint64_t)m > len) {
        return false;
    }
    *off = (size_t)o;
    *mlen = (size_t)m;
    return true;
}

/* Writes s[0, n), a control character (C0, DEL, C1: a terminal takes them for commands) as
 * a space per byte, so that offsets into s stay where they were. */
static void print_text(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool is_c1 = c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                     (unsigned char)s[i + 1] <= 0x9F;
        if (is_c1) {
            fputs("  ", out);
            i++;
        } else {
            fputc(c < 0x20 || c == 0x7F ? ' ' : c, out);
        }
    }
}

/* s[from, to) of a fragment (plain text) with the matches ([[off,len],...] into s) that lie
 * wholly inside it between pre and post (NULL: unmarked). Other spans are ignored. */
static void print_marked(FILE *out, const char *s, size_t from, size_t to,
                         struct json_object *spans, const char *pre, const char *post)
{
    size_t at = from;
    for (size_t i = 0; pre && i < print_count(spans); i++) {
        size_t off, mlen;
        if (!print_span(spans, i, to, &off, &mlen) || off < at) {
            continue;
        }
        print_text(out, s + at, off - at);
        fputs(pre, out);
        print_text(out, s + off, mlen);
        fputs(post, out);
        at = off + mlen;
    }
    print_text(out, s + at, to - at);
}

/* Bold on a terminal, [ ] elsewhere. */
static void print_marks(FILE *out, const char **pre, const char **post)
{
    bool is_tty = isatty(fileno(out));
    *pre = is_tty ? "\x1b[1m" : "[";
    *post = is_tty ? "\x1b[0m" : "]";
}

/* The default view of a hit's text: its best fragment on one line of at most cols columns.
 * A fragment longer than that is shown from a little before its first match (a quarter of the
 * line, from a space), so that the words found are on the line: the server's fragment is cut
 * in bytes, the line in columns. Matches are bold on a terminal, unmarked elsewhere. */
static void print_excerpt(FILE *out, struct json_object *hl, size_t cols)
{
    struct json_object *snippets = NULL, *matches = NULL;
    json_object_object_get_ex(hl, "snippets", &snippets);
    json_object_object_get_ex(hl, "snippet_matches", &matches);
    struct json_object *frag = print_item(snippets, 0);
    if (!json_object_is_type(frag, json_type_string)) {
        return;
    }
    const char *s = json_object_get_string(frag);
    size_t len = (size_t)json_object_get_string_len(frag);
    struct json_object *spans = print_item(matches, 0);
    const char *pre = NULL, *post = NULL;
    if (isatty(fileno(out))) {
        print_marks(out, &pre, &post);
    }
    size_t start = 0, first, mlen;
    if (cli_utf8_width(s, len) > cols && print_count(spans) > 0 &&
        print_span(spans, 0, len, &first, &mlen) && cli_utf8_width(s, first) > cols / 4) {
        for (size_t p = first; p > 0; p--) {
            if (cli_utf8_width(s + p, first - p) > cols / 4) {
                break;
            }
            if (s[p - 1] == ' ') {
                start = p; /* the word after the space furthest back within a quarter */
            }
        }
    }
    size_t shown = cols;
    if (start > 0) {
        fputs(print_ellipsis, out);
        shown--;
    }
    size_t end = len;
    if (cli_utf8_width(s + start, len - start) > shown) {
        end = start + cli_utf8_fit(s + start, len - start, shown - 1);
    }
    print_marked(out, s, start, end, spans, pre, post);
    if (end < len) {
        fputs(print_ellipsis, out);
    }
}

/* --highlight: each fragment on its own line under the title, matches marked. */
static void print_highlight(FILE *out, struct json_object *hl, size_t indent)
{
    struct json_object *snippets = NULL, *matches = NULL;
    json_object_object_get_ex(hl, "snippets", &snippets);
    json_object_object_get_ex(hl, "snippet_matches", &matches);
    size_t n = print_count(snippets);
    const char *pre, *post;
    print_marks(out, &pre, &post);
    for (size_t i = 0; i < n; i++) {
        struct json_object *frag = print_item(snippets, i);
        if (!json_object_is_type(frag, json_type_string)) {
            continue;
        }
        fprintf(out, "%*s", (int)indent, "");
        print_marked(out, json_object_get_string(frag), 0, (size_t)json_object_get_string_len(frag),
                     print_item(matches, i), pre, post);
        fputc('\n', out);
    }
}

/* A JSON value as one line of text: a string as itself, anything else as compact JSON. */
static const char *print_value(struct json_object *v)
{
    if (json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    const char *t =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return t ? t : "";
}

/* --fields: "name: value · name: value" under the hit. */
static void print_fields(FILE *out, struct json_object *fields, size_t indent)
{
    if (!json_object_is_type(fields, json_type_object) || json_object_object_length(fields) == 0) {
        return;
    }
    fprintf(out, "%*s", (int)indent, "");
    bool is_first = true;
    json_object_object_foreach(fields, key, val)
    {
        const char *text = print_value(val);
        fprintf(out, "%s%s: ", is_first ? "" : " \xc2\xb7 ", key);
        print_cell(out, text, strlen(text), 60, 0);
        is_first = false;
    }
    fputc('\n', out);
}

/* --facets: one line a facet, "value count" pairs in the server's order; documents with no
 * value and those in no bucket shown (facet_stats) when there are any. */
static void print_facets(FILE *out, struct json_object *answer)
{
    struct json_object *facets = NULL, *stats = NULL;
    if (!json_object_object_get_ex(answer, "facets", &facets) ||
        !json_object_is_type(facets, json_type_object)) {
        return;
    }
    json_object_object_get_ex(answer, "facet_stats", &stats);
    size_t cols = 0;
    json_object_object_foreach(facets, k, v)
    {
        (void)v;
        size_t w = cli_utf8_width(k, strlen(k));
        cols = w > cols ? w : cols;
    }
    fputc('\n', out);
    json_object_object_foreach(facets, field, buckets)
    {
        print_cell(out, field, strlen(field), SIZE_MAX, cols + 2);
        bool is_first = true;
        if (!json_object_is_type(buckets, json_type_object)) {
            fputs("(no counts)\n", out);
            continue;
        }
        json_object_object_foreach(buckets, value, count)
        {
            fprintf(out, "%s", is_first ? "" : " \xc2\xb7 ");
            print_cell(out, value, strlen(value), 40, 0);
            fprintf(out, " %lld", (long long)json_object_get_int64(count));
            is_first = false;
        }
        struct json_object *st = NULL;
        json_object_object_get_ex(stats, field, &st);
        int64_t missing = cli_int_member(st, "missing"), others = cli_int_member(st, "others");
        if (others > 0) {
            fprintf(out, "%s(others) %lld", is_first ? "" : " \xc2\xb7 ", (long long)others);
            is_first = false;
        }
        if (missing > 0) {
            fprintf(out, "%s(no value) %lld", is_first ? "" : " \xc2\xb7 ", (long long)missing);
            is_first = false;
        }
        fputs(is_first ? "(no matches)\n" : "\n", out);
    }
}

/* The ranked hits (count of them in hits), numbered from offset + 1. */
static void print_hit_list(FILE *out, struct json_object *hits, size_t count, int64_t offset,
                           bool wants_fragments)
{
    if (count == 0) {
        return;
    }
    char buf[64];
    int rank_cols = snprintf(buf, sizeof buf, "%lld", (long long)(offset + (int64_t)count));
    size_t id_cols = 0, score_cols = 0;
    for (size_t i = 0; i < count; i++) {
        struct json_object *hit = print_item(hits, i), *score = NULL;
        size_t len;
        const char *id = print_str_member(hit, "id", &len);
        size_t w = cli_utf8_width(id, len);
        if (w <= PRINT_ID_COLS_MAX && w > id_cols) {
            id_cols = w;
        }
        json_object_object_get_ex(hit, "score", &score);
        int n = snprintf(buf, sizeof buf, "%.3f", json_object_get_double(score));
        if ((size_t)n > score_cols) {
            score_cols = (size_t)n;
        }
    }
    fputc('\n', out);
    for (size_t i = 0; i < count; i++) {
        struct json_object *hit = print_item(hits, i), *score = NULL;
        json_object_object_get_ex(hit, "score", &score);
        fprintf(out, " %*lld  %*.3f  ", rank_cols, (long long)(offset + (int64_t)i + 1),
                (int)score_cols, json_object_get_double(score));
        size_t len;
        const char *id = print_str_member(hit, "id", &len);
        print_cell(out, id, len, SIZE_MAX, id_cols);
        fputs("  ", out);
        const char *title = print_str_member(hit, "title", &len);
        print_cell(out, title, len, PRINT_TITLE_COLS, 0);
        fputc('\n', out);
        size_t indent = (size_t)rank_cols + score_cols + 5;
        struct json_object *hl = NULL, *fields = NULL;
        const char *snippet = print_str_member(hit, "snippet", &len);
        size_t cols = indent + 40 < PRINT_LINE_COLS ? PRINT_LINE_COLS - indent : 40;
        bool has_hl = json_object_object_get_ex(hit, "highlight", &hl);
        if (has_hl && wants_fragments) {
            print_highlight(out, hl, indent);
        } else if (has_hl) {
            fprintf(out, "%*s", (int)indent, "");
            print_excerpt(out, hl, cols);
            fputc('\n', out);
        } else if (len > 0) {
            fprintf(out, "%*s", (int)indent, "");
            print_cell(out, snippet, len, cols, 0);
            fputc('\n', out);
        }
        if (json_object_object_get_ex(hit, "fields", &fields)) {
            print_fields(out, fields, indent);
        }
        struct json_object *missing = NULL;
        if (json_object_object_get_ex(hit, "missing", &missing) &&
            json_object_is_type(missing, json_type_array)) {
            fprintf(out, "%*smissing:", (int)indent, "");
            print_words(out, missing);
            fputc('\n', out);
        }
    }
}

void cli_print_hits(FILE *out, struct json_object *answer, const char *query, int64_t offset,
                    bool wants_fragments)
{
    struct json_object *hits = NULL;
    json_object_object_get_ex(answer, "hits", &hits);
    size_t count = print_count(hits);
    print_header(out, answer, query, offset, count);
    print_hit_list(out, hits, count, offset, wants_fragments);
    print_facets(out, answer);
}

void cli_print_doc(FILE *out, struct json_object *doc)
{
    const char *text = json_object_to_json_string_ext(
        doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    fprintf(out, "%s\n", text ? text : "(out of memory)");
}

void cli_print_stats(FILE *out, struct json_object *answer)
{
    if (!json_object_is_type(answer, json_type_object)) {
        return; /* get_settings' "stats" from a server that says something else there */
    }
    size_t key_cols = 0;
    json_object_object_foreach(answer, key, val)
    {
        (void)val;
        if (strcmp(key, "ok") != 0 && strlen(key) > key_cols) {
            key_cols = strlen(key);
        }
    }
    json_object_object_foreach(answer, k, v)
    {
        if (strcmp(k, "ok") == 0) {
            continue;
        }
        const char *text = json_object_is_type(v, json_type_string)
                               ? json_object_get_string(v)
                               : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        /* cleaned: a string from the server reaches a terminal */
        print_cell(out, k, strlen(k), SIZE_MAX, 0);
        fprintf(out, ":%*s ", (int)(key_cols - strlen(k)), "");
        print_cell(out, text ? text : "", text ? strlen(text) : 0, SIZE_MAX, 0);
        fputc('\n', out);
    }
}

void cli_print_indexes(FILE *out, struct json_object *answer)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(answer, "indexes", &v);
    size_t n = print_count(v);
    if (n == 0) {
        fputs("no indexes yet (the first write to a name creates it)\n", out);
        return;
    }
    size_t cols = 4;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        print_str_member(print_item(v, i), "name", &len);
        cols = len > cols ? len : cols;
    }
    fprintf(out, "%-*s  %12s  %14s  %8s\n", (int)cols, "name", "docs", "disk bytes", "settings");
    for (size_t i = 0; i < n; i++) {
        struct json_object *ix = print_item(v, i);
        size_t len;
        const char *name = print_str_member(ix, "name", &len);
        fprintf(out, "%-*s  %12lld  %14lld  %8lld\n", (int)cols, name,
                (long long)cli_int_member(ix, "docs"), (long long)cli_int_member(ix, "disk_bytes"),
                (long long)cli_int_member(ix, "settings_version"));
    }
}

void cli_print_settings(FILE *out, struct json_object *answer)
{
    struct json_object *settings = NULL, *stats = NULL;
    size_t len;
    fprintf(out, "index %s, settings version %lld", print_str_member(answer, "index", &len),
            (long long)cli_int_member(answer, "version"));
    json_object_object_get_ex(answer, "stats", &stats);
    struct json_object *pending = NULL;
    if (json_object_object_get_ex(stats, "reindex_pending", &pending) &&
        json_object_get_boolean(pending)) {
        fputs(" (re-indexing in the background)", out);
    }
    fputc('\n', out);
    json_object_object_get_ex(answer, "settings", &settings);
    const char *text =
        json_object_to_json_string_ext(settings, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
    fprintf(out, "%s\n\n", text ? text : "{}");
    if (stats) {
        cli_print_stats(out, stats);
    }
}

void cli_print_snapshot(FILE *out, struct json_object *answer)
{
    size_t len;
    fprintf(out, "snapshot %s of %s: %s\n", print_str_member(answer, "snapshot", &len),
            print_str_member(answer, "index", &len), print_str_member(answer, "path", &len));
    fprintf(out,
            "up to write %lld; %lld segments, %lld files linked, %lld copied, %lld bytes, "
            "%lld ms\n",
            (long long)cli_int_member(answer, "seq"), (long long)cli_int_member(answer, "segments"),
            (long long)cli_int_member(answer, "files_linked"),
            (long long)cli_int_member(answer, "files_copied"),
            (long long)cli_int_member(answer, "bytes"), (long long)cli_int_member(answer, "ms"));
}
