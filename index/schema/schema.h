/*
 * schema.h: an index's declared fields and the typed values of a document (prefix sch_).
 *
 * "What is each field of this index, and does this value fit it?"
 *
 * Settings are a JSON object (docs/DATA.md, "Settings"):
 *
 *   {"fields": {"title": {"type": "text", "weight": 2},
 *               "year":  {"type": "int"},
 *               "tags":  {"type": "keyword"}}}
 *
 * Without "fields" (the settings `{}`, or an index that never had settings) nothing is
 * declared and an index behaves as it always did: every string field is text, everything
 * else is stored only. With "fields" (even an empty object), exactly the declared text
 * fields are indexed as text; the other declared fields are typed attributes whose values
 * are checked on every write; undeclared fields are stored and not indexed.
 *
 * Types: text (a string or an array of strings, weighted in BM25F), keyword (a string, or an array
 * of strings: one value each), int (a JSON integer in int64 range), float (a finite JSON number),
 * date (an ISO 8601 string, `YYYY-MM-DD` or a date-time with `Z` or an offset, kept as milliseconds
 * since 1970-01-01T00:00:00Z), bool (true/false). Attributes may be multi-valued (a JSON
 * array of such values); null, or an empty array, is "no value".
 *
 * Two more keys are read at query time only, never when a document is indexed (sch_lexicon.c):
 *
 *   "synonyms":  [{"synonyms": ["ИИ", "искусственный интеллект"]},      two-way group
 *                 {"root": "ноутбук", "synonyms": ["лэптоп"]}]          one-way: root -> these
 *   "stopwords": {"lists": ["en", "ru"], "words": ["пожалуйста"]}
 *   "typo": false      no search of this index reads typos (default true)
 *   "layout": false    nor the other keyboard layout (default true)
 *
 * (Typesense's shape for synonyms; a Meilisearch map {"a": ["b"]} is accepted too, read and
 * encoded as {"root": "a", "synonyms": ["b"]}.) sch_same_index says whether two settings index
 * documents alike.
 *
 * sch_encode gives the canonical form: fields sorted by name (bytewise), every key in one
 * order, text fields always with their weight; synonym members and stopwords with their
 * spaces trimmed and collapsed, sorted and without repeats (a one-way entry's root first), the
 * entries sorted, empty keys and "typo"/"layout" at their default (true) left out. Parsing
 * that form again gives the same schema, so two settings are the same exactly when their
 * canonical bytes are.
 *
 * Threads: a struct sch_schema is immutable once parsed; any number of threads may read it.
 */
#ifndef SEARCHD_SCHEMA_H
#define SEARCHD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_base.h"

#define SCH_MAX_FIELDS   64      /* declared fields (a document holds at most 64 too) */
#define SCH_MAX_NAME     64      /* bytes of a field name */
#define SCH_MAX_SETTINGS 65536   /* bytes of settings JSON */
#define SCH_MAX_VALUES   1024    /* values of one multi-valued field in one document */
#define SCH_MAX_KEYWORD  512     /* bytes of one keyword value */
#define SCH_MAX_WEIGHT   1000.0f /* a text field's weight is in (0, SCH_MAX_WEIGHT] */
#define SCH_MAX_SYNONYM_RULES   1024 /* entries of "synonyms" */
#define SCH_MAX_SYNONYM_MEMBERS 32   /* strings of one entry, a root included */
#define SCH_MAX_STOPWORDS       1024 /* words of "stopwords" (besides the built-in lists) */
#define SCH_MAX_TERM            128  /* bytes of one synonym member or stopword */

enum sch_type {
    SCH_TEXT = 0,
    SCH_KEYWORD = 1,
    SCH_INT = 2,
    SCH_FLOAT = 3,
    SCH_DATE = 4,
    SCH_BOOL = 5,
};

/* The wire name of a type ("text", "keyword", ...). */
const char *sch_type_name(enum sch_type t);

struct sch_field {
    char name[SCH_MAX_NAME + 1]; /* NUL-terminated; names never contain NUL */
    size_t name_len;
    enum sch_type type;
    float weight; /* text: BM25F weight (default 2 for "title", else 1); others 0 */
};

/* Built-in stopword lists ("lists" of "stopwords"), as bits. */
enum sch_stoplist {
    SCH_STOP_EN = 1,
    SCH_STOP_RU = 2,
};

/* Bytes [off, off + len) of a struct sch_lexicon's pool (NUL-terminated there). */
struct sch_str {
    uint32_t off;
    uint32_t len;
};

/* One "synonyms" entry: members [first, first + count) of the lexicon. One-way: the first is the
 * root, which also finds the others (not the reverse); two-way: each finds every other. */
struct sch_synonym {
    bool is_one_way;
    size_t first;
    size_t count; /* 2 .. SCH_MAX_SYNONYM_MEMBERS */
};

/* The query-time keys, in canonical order and form (see the top of the file). */
struct sch_lexicon {
    struct sch_synonym *rules; /* owned */
    size_t nrules;
    struct sch_str *members; /* owned: of every rule, rule after rule */
    size_t nmembers;
    struct sch_str *stopwords; /* owned: sorted bytewise, distinct */
    size_t nstopwords;
    unsigned stoplists; /* enum sch_stoplist bits */
    char *pool;         /* owned: the strings */
    size_t pool_len;
};

struct sch_schema {
    bool has_fields; /* false: nothing declared (the settings `{}`) */
    size_t nfields;
    struct sch_field *fields; /* owned; sorted by name, bytewise */
    struct sch_lexicon lex;   /* synonyms and stopwords: all zero when none */
    bool no_typos;            /* "typo": false */
    bool no_layout;           /* "layout": false */
    bool no_drop_words;       /* "drop_words": false */
};

/* Parses and validates settings JSON (borrowed for the call). On success *out is owned by
 * the caller (sch_free). Errors are SD_EPARSE (not JSON, or a trailing byte) or SD_EINVAL
 * (valid JSON that is not valid settings), with a message that names the key or field:
 * "field 'year': unknown type 'integer' (use text, keyword, int, float, date or bool)". */
int sch_parse(const char *json, size_t len, struct sch_schema **out, struct sd_error *err);

/* sch_parse for settings read back from a SETTINGS file: the same, except that a text weight
 * of exactly 0 is taken. Requests never could set one, but before the float check of
 * sch_parse_weight a weight such as 1e-50 became 0 in the canonical form, and a file holding
 * it would otherwise keep its index from opening ever again. */
int sch_parse_stored(const char *json, size_t len, struct sch_schema **out, struct sd_error *err);
void sch_free(struct sch_schema *s); /* NULL is a no-op */

/* Applies patch[0, patch_len) to the settings json[0, len) (both borrowed) as a JSON merge
 * patch (RFC 7396, Meilisearch's PATCH of settings): each key of the patch replaces that key;
 * an object merges into an object key by key (so "fields" gains, changes or loses single
 * fields, and a field's spec merges too: {"weight": 3} keeps its type); null removes the key;
 * any other value (an array: "synonyms") replaces it whole. Appends the result, settings JSON
 * for sch_parse (which validates it; nothing here does), to out. SD_EPARSE (not one JSON
 * value), SD_EINVAL (patch is not an object), SD_ENOMEM. */
int sch_merge_patch(const char *json, size_t len, const char *patch, size_t patch_len,
                    struct sd_buf *out, struct sd_error *err);

/* Appends the canonical JSON of s to out (out->rc says whether memory ran out). */
void sch_encode(const struct sch_schema *s, struct sd_buf *out);

/* True when a and b index documents alike: the same fields and types (their weights,
 * synonyms, stopwords, "typo" and "layout", read only by queries, may differ). */
bool sch_same_index(const struct sch_schema *a, const struct sch_schema *b);

/* The string s of lexicon lex (NUL-terminated). */
static inline const char *sch_str(const struct sch_lexicon *lex, struct sch_str s)
{
    return lex->pool + s.off;
}

/* The query language's term separators (docs/QUERY.md "Syntax"): ASCII white space, '(', ')'
 * and '"'. The query lexer ends every term at one, so a field name holding one could never
 * stand before a filter's ':'. */
static inline bool sch_is_term_end(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '(' ||
           c == ')' || c == '"';
}

/* True when a query can write name[0, len) as a field, `name:value` (the lexer reads a name up
 * to the first ':' or term separator, and a '-' that starts a term is an exclusion), and a
 * sort, `weights` or a GET's `facets` can list it (items separated by ','): no
 * sch_is_term_end byte, no ':' or ',', not starting with '-'. sch_parse refuses a declared
 * name that is not, so every declared attribute can be filtered and sorted on;
 * sch_parse_stored still reads one (an index written before the rule keeps opening). */
bool sch_name_is_writable(const char *name, size_t len);

/* The declared field with this name, or NULL (also when nothing is declared). */
const struct sch_field *sch_find(const struct sch_schema *s, const char *name, size_t len);

/* ---- typed values ---- */

/* One value of a field. int, date (ms since the epoch) and bool (0/1) use i; float uses f;
 * keyword and text are bytes [off, off + len) of the owning struct sch_values' text. */
struct sch_val {
    int64_t i;
    double f;
    uint32_t off;
    uint32_t len;
};

/* The values of one field of one document, reusable: sch_convert overwrites it and keeps
 * its memory. */
struct sch_values {
    enum sch_type type;
    struct sch_val *v; /* owned */
    size_t count, cap;
    struct sd_buf text; /* keyword and text bytes */
};

void sch_values_init(struct sch_values *vals);
void sch_values_free(struct sch_values *vals);

/* Converts one field value as a document carries it (seg.h's struct seg_field): is_json
 * false means value is a string's bytes (a JSON string, already unescaped); is_json true
 * means value is the JSON text of any other value (an empty value is null). Checks it
 * against f's type and fills vals (borrowed value, not kept). Returns SD_OK, SD_EINVAL
 * ("field 'year': expected int (an integer from -2^63 to 2^63-1), got \"12a\""),
 * SD_ELIMIT (more than SCH_MAX_VALUES values, a keyword over SCH_MAX_KEYWORD bytes) or
 * SD_ENOMEM. Text accepts a string or an array of strings. */
int sch_convert(const struct sch_field *f, bool is_json, const char *value, size_t len,
                struct sch_values *vals, struct sd_error *err);

/* What a value newly written must also be, beyond sch_convert's type check (vals: what it
 * converted for f): a keyword holds no NUL byte. No filter can write one (requests refuse
 * U+0000 in every parameter, and the query language has no escape for it), so such a value
 * could be stored and counted in facets but never filtered on. sch_convert itself still takes
 * it, so that documents written before the rule are indexed again as they were. SD_OK, or
 * SD_EINVAL "field 'tag': a keyword must not hold NUL (\u0000): no filter could name it"
 * (of value i of an array, from 0: "field 'tags'[2]: ..."). */
int sch_check_new(const struct sch_field *f, const struct sch_values *vals, struct sd_error *err);

/* Parses an ISO 8601 date (`YYYY-MM-DD`, years 0000 to 9999) or date-time
 * (`YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z` or `+HH:MM`/`-HH:MM`/`+HHMM`) into
 * milliseconds since 1970-01-01T00:00:00Z (digits past milliseconds are cut). A date alone
 * is its midnight UTC. Returns false for anything else: no zone on a date-time, a day past
 * the month's end, hour 24, a leap second, spaces. */
bool sch_parse_date(const char *s, size_t len, int64_t *ms);

/* Appends s[0, len) as a JSON string (quoted, escaped; UTF-8 kept as is) to out. */
void sch_json_quote(const char *s, size_t len, struct sd_buf *out);

#endif
