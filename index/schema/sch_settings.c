/*
 * sch_settings.c: settings JSON -> struct sch_schema, and back in canonical form.
 *
 * Parse -> validate -> build. json-c parses (strictly: JSON_TOKENER_STRICT, depth 8, the
 * whole input or nothing); every key is then checked by name, and an unknown one is an
 * error, never skipped, so a typo ("wieght") is reported instead of silently ignored.
 * Fields are sorted by name once, so sch_find is a binary search and sch_encode writes
 * them in canonical order without sorting.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

static const char *const sch_type_names[] = {"text", "keyword", "int", "float", "date", "bool"};

const char *sch_type_name(enum sch_type t)
{
    return (unsigned)t < sizeof sch_type_names / sizeof *sch_type_names ? sch_type_names[t] : "?";
}

static bool sch_type_parse(const char *s, enum sch_type *t)
{
    for (unsigned i = 0; i < sizeof sch_type_names / sizeof *sch_type_names; i++) {
        if (strcmp(s, sch_type_names[i]) == 0) {
            *t = (enum sch_type)i;
            return true;
        }
    }
    return false;
}

void sch_free(struct sch_schema *s)
{
    if (!s) {
        return;
    }
    free(s->fields);
    sch_lexicon_free(&s->lex);
    free(s);
}

/* Field names as documents may carry them (opcodec.c's rule), minus "id": that key of a
 * document is its id, never a field. */
static bool sch_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > SCH_MAX_NAME || (len == 2 && memcmp(name, "id", 2) == 0)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x20) {
            return false;
        }
    }
    return true;
}

bool sch_name_is_writable(const char *name, size_t len)
{
    if (len > 0 && name[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (name[i] == ':' || name[i] == ',' || sch_is_term_end(name[i])) {
            return false;
        }
    }
    return true;
}

/* A text field's weight, (0, SCH_MAX_WEIGHT]. is_stored: read from a SETTINGS file, which
 * may also hold exactly 0 (sch_parse_stored says why). */
static int sch_parse_weight(struct json_object *w, const char *name, bool is_stored, float *out,
                            struct sd_error *err)
{
    if (!json_object_is_type(w, json_type_int) && !json_object_is_type(w, json_type_double)) {
        return sd_errorf(err, SD_EINVAL, "field '%s': weight must be a number", name);
    }
    double d = json_object_get_double(w);
    if (is_stored && d == 0) {
        *out = 0.0f;
        return SD_OK;
    }
    if (!isfinite(d) || d <= 0 || d > SCH_MAX_WEIGHT) {
        return sd_errorf(err, SD_EINVAL, "field '%s': weight must be above 0 and at most %g", name,
                         (double)SCH_MAX_WEIGHT);
    }
    /* A weight is kept as a float: one that rounds to 0 there would be written as 0 in the
     * canonical form, which this check then refuses when the SETTINGS file is read. */
    if ((float)d == 0.0f) {
        return sd_errorf(err, SD_EINVAL,
                         "field '%s': weight must be above 0 and at most %g (%g is 0 as a 32-bit "
                         "float)",
                         name, (double)SCH_MAX_WEIGHT, d);
    }
    *out = (float)d;
    return SD_OK;
}

/* One "NAME": {"type": ..., "weight": ...} entry into f. */
static int sch_parse_field(const char *name, struct json_object *spec, bool is_stored,
                           struct sch_field *f, struct sd_error *err)
{
    size_t len = strlen(name);
    if (!sch_name_ok(name, len)) {
        return sd_errorf(err, SD_EINVAL,
                         "field '%.*s': a name is 1 to %d bytes, no control characters, "
                         "not 'id'",
                         (int)sd_utf8_cut(name, len, 64), name, SCH_MAX_NAME);
    }
    if (!is_stored && !sch_name_is_writable(name, len)) {
        return sd_errorf(err, SD_EINVAL,
                         "field '%.*s': a filter or a sort could not name it: a name holds no "
                         "white space, ':', ',', '(', ')' or '\"' and does not start with '-'",
                         (int)sd_utf8_cut(name, len, 64), name);
    }
    memcpy(f->name, name, len + 1);
    f->name_len = len;
    if (!json_object_is_type(spec, json_type_object)) {
        return sd_errorf(err, SD_EINVAL, "field '%s': expected an object like {\"type\": \"text\"}",
                         name);
    }
    struct json_object *type = NULL, *weight = NULL;
    json_object_object_foreach(spec, key, val)
    {
        if (strcmp(key, "type") == 0) {
            type = val;
        } else if (strcmp(key, "weight") == 0) {
            weight = val;
        } else {
            return sd_errorf(err, SD_EINVAL, "field '%s': unknown key '%.*s' (use type, weight)",
                             name, (int)sd_utf8_cut(key, strlen(key), 64), key);
        }
    }
    if (!type || !json_object_is_type(type, json_type_string)) {
        return sd_errorf(err, SD_EINVAL, "field '%s': \"type\" must be a string", name);
    }
    if (!sch_type_parse(json_object_get_string(type), &f->type)) {
        return sd_errorf(err, SD_EINVAL,
                         "field '%s': unknown type '%.32s' (use text, keyword, int, float, date "
                         "or bool)",
                         name, json_object_get_string(type));
    }
    f->weight = 0;
    if (f->type == SCH_TEXT) {
        f->weight = strcmp(name, "title") == 0 ? 2.0f : 1.0f; /* qry_params' defaults */
    }
    if (weight && f->type != SCH_TEXT) {
        return sd_errorf(err, SD_EINVAL, "field '%s': only text fields have a weight", name);
    }
    return weight ? sch_parse_weight(weight, name, is_stored, &f->weight, err) : SD_OK;
}

static int sch_cmp_field(const void *a, const void *b)
{
    const struct sch_field *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0) {
        return c;
    }
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int sch_parse_fields(struct json_object *fields, bool is_stored, struct sch_schema *s,
                            struct sd_error *err)
{
    if (!json_object_is_type(fields, json_type_object)) {
        return sd_errorf(err, SD_EINVAL, "\"fields\" must be an object of field name -> spec");
    }
    size_t n = (size_t)json_object_object_length(fields);
    if (n > SCH_MAX_FIELDS) {
        return sd_errorf(err, SD_ELIMIT, "%zu fields declared, at most %d", n, SCH_MAX_FIELDS);
    }
    s->has_fields = true;
    s->fields = calloc(n ? n : 1, sizeof *s->fields);
    if (!s->fields) {
        return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    json_object_object_foreach(fields, name, spec)
    {
        int rc = sch_parse_field(name, spec, is_stored, &s->fields[s->nfields], err);
        if (rc) {
            return rc;
        }
        s->nfields++;
    }
    qsort(s->fields, s->nfields, sizeof *s->fields, sch_cmp_field);
    return SD_OK;
}

/* A query-time switch ("typo", "layout"): true or false; *off is set by false. */
static int sch_parse_switch(const char *key, struct json_object *v, bool *off,
                            struct sd_error *err)
{
    if (!json_object_is_type(v, json_type_boolean)) {
        return sd_errorf(err, SD_EINVAL, "settings: \"%s\" must be true or false", key);
    }
    *off = !json_object_get_boolean(v);
    return SD_OK;
}

static int sch_parse_root(struct json_object *root, bool is_stored, struct sch_schema *s,
                          struct sd_error *err)
{
    if (!json_object_is_type(root, json_type_object)) {
        return sd_errorf(err, SD_EINVAL, "settings must be a JSON object like {\"fields\": {...}}");
    }
    json_object_object_foreach(root, key, val)
    {
        int rc;
        if (strcmp(key, "fields") == 0) {
            rc = sch_parse_fields(val, is_stored, s, err);
        } else if (strcmp(key, "synonyms") == 0) {
            rc = sch_lexicon_parse_synonyms(val, &s->lex, err);
        } else if (strcmp(key, "stopwords") == 0) {
            rc = sch_lexicon_parse_stopwords(val, &s->lex, err);
        } else if (strcmp(key, "typo") == 0) {
            rc = sch_parse_switch(key, val, &s->no_typos, err);
        } else if (strcmp(key, "layout") == 0) {
            rc = sch_parse_switch(key, val, &s->no_layout, err);
        } else if (strcmp(key, "drop_words") == 0) {
            rc = sch_parse_switch(key, val, &s->no_drop_words, err);
        } else {
            rc = sd_errorf(err, SD_EINVAL,
                           "settings: unknown key '%.*s' (use fields, synonyms, stopwords, typo, "
                           "layout, drop_words)",
                           (int)sd_utf8_cut(key, strlen(key), 64), key);
        }
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

/* The whole of json[0, len) as one JSON value, or NULL with err set. */
static struct json_object *sch_json_parse(const char *json, size_t len, struct sd_error *err)
{
    if (len > SCH_MAX_SETTINGS) {
        sd_errorf(err, SD_ELIMIT, "settings: %zu bytes, at most %d", len, SCH_MAX_SETTINGS);
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(8);
    if (!tok) {
        sd_errorf(err, SD_ENOMEM, "settings: out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (root && used < len && strchr(" \t\r\n", json[used]) && json[used] != '\0') {
        used++;
    }
    if (!root || jerr != json_tokener_success || used != len) {
        json_object_put(root);
        sd_errorf(err, SD_EPARSE, "settings: not one JSON value (%s at byte %zu)",
                  root ? "trailing data" : json_tokener_error_desc(jerr), used);
        return NULL;
    }
    return root;
}

static int sch_parse_as(const char *json, size_t len, bool is_stored, struct sch_schema **out,
                        struct sd_error *err)
{
    struct json_object *root = sch_json_parse(json, len, err);
    if (!root) {
        return err ? err->code : SD_EPARSE;
    }
    struct sch_schema *s = calloc(1, sizeof *s);
    int rc =
        s ? sch_parse_root(root, is_stored, s, err) : sd_errorf(err, SD_ENOMEM, "out of memory");
    json_object_put(root);
    for (size_t i = 1; rc == SD_OK && i < s->nfields; i++) {
        if (sch_cmp_field(&s->fields[i - 1], &s->fields[i]) == 0) {
            rc = sd_errorf(err, SD_EINVAL, "field '%s' declared twice", s->fields[i].name);
        }
    }
    if (rc) {
        sch_free(s);
        return rc;
    }
    *out = s;
    return SD_OK;
}

int sch_parse(const char *json, size_t len, struct sch_schema **out, struct sd_error *err)
{
    return sch_parse_as(json, len, false, out, err);
}

int sch_parse_stored(const char *json, size_t len, struct sch_schema **out, struct sd_error *err)
{
    return sch_parse_as(json, len, true, out, err);
}

/* RFC 7396 MergePatch(target, patch) for an object target (changed in place). Recursion is
 * bounded by the patch's depth, which sch_json_parse limits. SD_OK or SD_ENOMEM. */
static int sch_merge_into(struct json_object *target, struct json_object *patch)
{
    json_object_object_foreach(patch, key, val)
    {
        if (!val) {
            json_object_object_del(target, key); /* null: gone (absent already is fine) */
            continue;
        }
        struct json_object *sub = NULL;
        if (json_object_is_type(val, json_type_object)) {
            /* an object merges into the target's object, or into {} when that is not one */
            if (!json_object_object_get_ex(target, key, &sub) ||
                !json_object_is_type(sub, json_type_object)) {
                sub = json_object_new_object();
                if (!sub || json_object_object_add(target, key, sub)) {
                    json_object_put(sub);
                    return SD_ENOMEM;
                }
            }
            if (sch_merge_into(sub, val)) {
                return SD_ENOMEM;
            }
            continue;
        }
        if (json_object_object_add(target, key, json_object_get(val))) {
            json_object_put(val);
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

int sch_merge_patch(const char *json, size_t len, const char *patch, size_t patch_len,
                    struct sd_buf *out, struct sd_error *err)
{
    struct json_object *root = sch_json_parse(json, len, err);
    struct json_object *p = root ? sch_json_parse(patch, patch_len, err) : NULL;
    int rc = root && p ? SD_OK : err ? err->code : SD_EPARSE;
    if (!rc && (!json_object_is_type(p, json_type_object) ||
                !json_object_is_type(root, json_type_object))) {
        rc = sd_errorf(err, SD_EINVAL, "settings must be a JSON object like {\"fields\": {...}}");
    }
    if (!rc && sch_merge_into(root, p)) {
        rc = sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    if (!rc) {
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text) {
            rc = sd_errorf(err, SD_ENOMEM, "settings: out of memory");
        } else {
            sd_buf_put(out, text, strlen(text));
            rc = out->rc ? sd_errorf(err, SD_ENOMEM, "settings: out of memory") : SD_OK;
        }
    }
    json_object_put(p);
    json_object_put(root);
    return rc;
}

static void sch_encode_fields(const struct sch_schema *s, struct sd_buf *out);

/* `"key":false` when the switch is off; nothing at its default (true). */
static void sch_encode_switch(const char *key, bool is_off, struct sd_buf *out, bool *is_first)
{
    if (!is_off) {
        return;
    }
    if (!*is_first) {
        sd_buf_put_u8(out, ',');
    }
    *is_first = false;
    sch_json_quote(key, strlen(key), out);
    sd_buf_put(out, ":false", 6);
}

void sch_encode(const struct sch_schema *s, struct sd_buf *out)
{
    sd_buf_put_u8(out, '{');
    bool is_first = !s->has_fields;
    if (s->has_fields) {
        sch_encode_fields(s, out);
    }
    sch_lexicon_encode(&s->lex, out, &is_first);
    sch_encode_switch("typo", s->no_typos, out, &is_first);
    sch_encode_switch("layout", s->no_layout, out, &is_first);
    sch_encode_switch("drop_words", s->no_drop_words, out, &is_first);
    sd_buf_put_u8(out, '}');
}

bool sch_same_index(const struct sch_schema *a, const struct sch_schema *b)
{
    if (a->has_fields != b->has_fields || a->nfields != b->nfields) {
        return false;
    }
    for (size_t i = 0; i < a->nfields; i++) {
        const struct sch_field *x = &a->fields[i], *y = &b->fields[i];
        /* not the weight: searches read it from the settings in force, no segment holds it */
        if (sch_cmp_field(x, y) != 0 || x->type != y->type) {
            return false;
        }
    }
    return true;
}

/* A weight in the fewest significant digits that read back (strtod, then float) to the float
 * held, so a client reads back the 0.1 it set rather than %.9g's 0.100000001; a whole number
 * (weights are at most 1000) without %g's exponent. Nine digits always read back. */
static void sch_format_weight(float w, char *buf, size_t cap)
{
    if (w == floorf(w)) {
        snprintf(buf, cap, "%.0f", (double)w);
        return;
    }
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, cap, "%.*g", digits, (double)w);
        if ((float)strtod(buf, NULL) == w) {
            return;
        }
    }
}

/* `"fields":{...}` in canonical form. */
static void sch_encode_fields(const struct sch_schema *s, struct sd_buf *out)
{
    sd_buf_put(out, "\"fields\":{", 10);
    for (size_t i = 0; i < s->nfields; i++) {
        const struct sch_field *f = &s->fields[i];
        if (i > 0) {
            sd_buf_put_u8(out, ',');
        }
        sch_json_quote(f->name, f->name_len, out);
        char tail[64], weight[32];
        sch_format_weight(f->weight, weight, sizeof weight);
        int n = f->type == SCH_TEXT
                    ? snprintf(tail, sizeof tail, ":{\"type\":\"text\",\"weight\":%s}", weight)
                    : snprintf(tail, sizeof tail, ":{\"type\":\"%s\"}", sch_type_name(f->type));
        sd_buf_put(out, tail, (size_t)n);
    }
    sd_buf_put_u8(out, '}');
}

const struct sch_field *sch_find(const struct sch_schema *s, const char *name, size_t len)
{
    if (!s || s->nfields == 0 || len > SCH_MAX_NAME) {
        return NULL; /* (bsearch may not be given the NULL of an empty schema) */
    }
    struct sch_field key;
    memcpy(key.name, name, len);
    key.name[len] = '\0';
    key.name_len = len;
    return bsearch(&key, s->fields, s->nfields, sizeof *s->fields, sch_cmp_field);
}

void sch_json_quote(const char *s, size_t len, struct sd_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    sd_buf_put_u8(out, '"');
    size_t run = 0; /* bytes s[i - run, i) need no escape: copied in one put */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        sd_buf_put(out, s + i - run, run);
        run = 0;
        char e[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f') {
            e[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : c == '\b' ? 'b' : 'f';
        } else if (c < 0x20) {
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            n = 6;
        }
        sd_buf_put(out, e, n);
    }
    sd_buf_put(out, s + len - run, run);
    sd_buf_put_u8(out, '"');
}
