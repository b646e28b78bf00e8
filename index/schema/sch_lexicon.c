/*
 * sch_lexicon.c: the query-time settings, "synonyms" and "stopwords", parsed, checked and put in
 * canonical form.
 *
 * The JSON shape is Typesense's, as its users would write it:
 *
 *   "synonyms": [{"synonyms": ["ИИ", "искусственный интеллект", "AI"]},   every member finds
 *                                                                         every other (two-way)
 *                {"root": "ноутбук", "synonyms": ["лэптоп", "laptop"]}]   the root also finds
 *                                                                         these; not the reverse
 *   "stopwords": {"lists": ["en", "ru"], "words": ["пожалуйста"]}
 *
 * "synonyms" may instead be a Meilisearch map, {"a": ["b", "c"], "d": ["e"]}: one one-way entry
 * per key, the key its root ({"root": "a", "synonyms": ["b", "c"]}), checked as such an entry is
 * but named by its key in errors ("synonyms['a']: the key 'a' is also one of its synonyms").
 * Both shapes go into the same rules, so the canonical form (below) of a map is the array of
 * its one-way entries: that is what is stored and what get_settings answers, and a map and the
 * equal array are the same settings. Of a key given twice json-c keeps the last list.
 *
 * Nothing here knows words or stems: this module sees strings, and the query module
 * (index/query/synonym.c) analyses them when the settings are published, where a member that
 * holds no word is refused.
 *
 * CANONICAL FORM, so that equal settings are equal bytes: every string has its spaces (space,
 * tab, CR, LF) trimmed and each run collapsed to one space; a group's members and a one-way
 * entry's targets are sorted bytewise without repeats (the root stays first); entries are
 * sorted (two-way groups first, then member by member) and a repeated entry is kept once;
 * stopwords are sorted without repeats, the lists as names in order. Case is kept: "ИИ" and
 * "ии" are different settings that search alike (members are folded like queries).
 *
 * Limits: SCH_MAX_SYNONYM_RULES entries, SCH_MAX_SYNONYM_MEMBERS strings per entry,
 * SCH_MAX_STOPWORDS words, SCH_MAX_TERM bytes per string; the whole settings at most
 * SCH_MAX_SETTINGS bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

void sch_lexicon_free(struct sch_lexicon *lex)
{
    free(lex->rules);
    free(lex->members);
    free(lex->stopwords);
    free(lex->pool);
    memset(lex, 0, sizeof *lex);
}

/* A string being sorted, with the pool it points into. */
struct lex_sort_str {
    const char *pool;
    struct sch_str s;
};

static int lex_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int lex_cmp_str(const void *x, const void *y)
{
    const struct lex_sort_str *a = x, *b = y;
    return lex_cmp_bytes(a->pool + a->s.off, a->s.len, b->pool + b->s.off, b->s.len);
}

/* Sorts strs[0, n) of lex's pool and drops repeats; returns the count left. */
static size_t lex_sort_unique(struct sch_lexicon *lex, struct sch_str *strs, size_t n,
                              struct lex_sort_str *tmp)
{
    for (size_t i = 0; i < n; i++) {
        tmp[i] = (struct lex_sort_str){lex->pool, strs[i]};
    }
    qsort(tmp, n, sizeof *tmp, lex_cmp_str);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out == 0 || lex_cmp_str(&tmp[out - 1], &tmp[i]) != 0) {
            tmp[out++] = tmp[i];
        }
    }
    for (size_t i = 0; i < out; i++) {
        strs[i] = tmp[i].s;
    }
    return out;
}

static bool lex_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends s[0, len) (borrowed), trimmed and with its space runs collapsed, to lex's pool as *out.
 * what names it in errors ("synonyms[2]: synonym 1"). */
static int lex_add_bytes(struct sch_lexicon *lex, size_t *pool_cap, const char *s, size_t len,
                         const char *what, struct sch_str *out, struct sd_error *err)
{
    if (lex->pool_len + len + 1 > *pool_cap) {
        size_t cap = 2 * (*pool_cap + len + 1);
        char *p = realloc(lex->pool, cap);
        if (!p) {
            return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
        }
        lex->pool = p;
        *pool_cap = cap;
    }
    char *dst = lex->pool + lex->pool_len;
    size_t n = 0;
    bool pending_space = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (lex_is_space((char)c)) {
            pending_space = n > 0;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            return sd_errorf(err, SD_EINVAL, "%s: a control character at byte %zu", what, i);
        }
        if (pending_space) {
            dst[n++] = ' ';
            pending_space = false;
        }
        dst[n++] = (char)c;
    }
    if (n == 0) {
        return sd_errorf(err, SD_EINVAL, "%s: empty", what);
    }
    if (n > SCH_MAX_TERM) {
        return sd_errorf(err, SD_ELIMIT, "%s: %zu bytes, at most %d", what, n, SCH_MAX_TERM);
    }
    dst[n] = '\0';
    *out = (struct sch_str){(uint32_t)lex->pool_len, (uint32_t)n};
    lex->pool_len += n + 1;
    return SD_OK;
}

/* lex_add_bytes of JSON string v (borrowed); anything else is refused. */
static int lex_add_string(struct sch_lexicon *lex, size_t *pool_cap, struct json_object *v,
                          const char *what, struct sch_str *out, struct sd_error *err)
{
    if (!json_object_is_type(v, json_type_string)) {
        return sd_errorf(err, SD_EINVAL, "%s: expected a string", what);
    }
    return lex_add_bytes(lex, pool_cap, json_object_get_string(v),
                         (size_t)json_object_get_string_len(v), what, out, err);
}

/* ---- synonyms ---- */

/* An entry being sorted, with the lexicon its members are in. */
struct lex_sort_rule {
    const struct sch_lexicon *lex;
    struct sch_synonym r;
};

static int lex_cmp_rule(const void *x, const void *y)
{
    const struct lex_sort_rule *a = x, *b = y;
    if (a->r.is_one_way != b->r.is_one_way) {
        return a->r.is_one_way ? 1 : -1;
    }
    for (size_t i = 0; i < a->r.count && i < b->r.count; i++) {
        struct sch_str sa = a->lex->members[a->r.first + i];
        struct sch_str sb = b->lex->members[b->r.first + i];
        int c = lex_cmp_bytes(sch_str(a->lex, sa), sa.len, sch_str(b->lex, sb), sb.len);
        if (c) {
            return c;
        }
    }
    return (a->r.count > b->r.count) - (a->r.count < b->r.count);
}

/* How an entry is named in errors: what ("synonyms[2]" of the array, "synonyms['a']" of a map)
 * and what its root is called there ("root", or a map's "key"). */
struct lex_entry {
    char what[96];
    const char *root_name;
};

/* Members m[0, count) of an entry just appended to lex's pool (m[0] its root when is_one_way):
 * sorted without repeats, the root kept first, checked and recorded as the next rule. */
static int lex_end_rule(struct sch_lexicon *lex, const struct lex_entry *e, bool is_one_way,
                        struct sch_str *m, size_t count, struct sd_error *err)
{
    struct lex_sort_str tmp[SCH_MAX_SYNONYM_MEMBERS];
    size_t skip = is_one_way; /* the root stays first */
    size_t left = skip + lex_sort_unique(lex, m + skip, count - skip, tmp);
    for (size_t i = 1; is_one_way && i < left; i++) {
        if (m[i].len == m[0].len && memcmp(sch_str(lex, m[i]), sch_str(lex, m[0]), m[0].len) == 0) {
            return sd_errorf(err, SD_EINVAL, "%s: the %s '%s' is also one of its synonyms", e->what,
                             e->root_name, sch_str(lex, m[0]));
        }
    }
    if (left < 2) {
        if (is_one_way) {
            return sd_errorf(err, SD_EINVAL, "%s: a %s needs at least one synonym", e->what,
                             e->root_name);
        }
        return sd_errorf(err, SD_EINVAL, "%s: a group needs at least 2 different strings", e->what);
    }
    lex->rules[lex->nrules++] =
        (struct sch_synonym){.is_one_way = is_one_way, .first = lex->nmembers, .count = left};
    lex->nmembers += left;
    return SD_OK;
}

/* Appends one entry to lex, whichever shape it came in: its root, root_len bytes (borrowed; NULL
 * for a two-way group), and the strings of the JSON array syns (borrowed). */
static int lex_add_rule(struct sch_lexicon *lex, size_t *pool_cap, const struct lex_entry *e,
                        const char *root, size_t root_len, struct json_object *syns,
                        struct sd_error *err)
{
    size_t nsyns = json_object_array_length(syns);
    size_t n = nsyns + (root != NULL);
    if (n > SCH_MAX_SYNONYM_MEMBERS) {
        return sd_errorf(err, SD_ELIMIT, "%s: %zu strings, at most %d", e->what, n,
                         SCH_MAX_SYNONYM_MEMBERS);
    }
    struct sch_str *m = lex->members + lex->nmembers;
    size_t count = 0;
    int rc = SD_OK;
    if (root) {
        char rwhat[128];
        snprintf(rwhat, sizeof rwhat, "%s: %s", e->what, e->root_name);
        rc = lex_add_bytes(lex, pool_cap, root, root_len, rwhat, &m[count++], err);
    }
    for (size_t i = 0; rc == SD_OK && i < nsyns; i++) {
        char mwhat[128];
        snprintf(mwhat, sizeof mwhat, "%s: synonym %zu", e->what, i);
        rc = lex_add_string(lex, pool_cap, json_object_array_get_idx(syns, i), mwhat, &m[count++],
                            err);
    }
    return rc ? rc : lex_end_rule(lex, e, root != NULL, m, count, err);
}

/* One entry of the array, {"synonyms": [...]} or {"root": ..., "synonyms": [...]}, appended to
 * lex. */
static int lex_parse_rule(struct json_object *o, size_t index, struct sch_lexicon *lex,
                          size_t *pool_cap, struct sd_error *err)
{
    struct lex_entry e = {.root_name = "root"};
    snprintf(e.what, sizeof e.what, "synonyms[%zu]", index);
    if (!json_object_is_type(o, json_type_object)) {
        return sd_errorf(err, SD_EINVAL,
                         "%s: expected an object like {\"synonyms\": [\"a\", \"b\"]} or "
                         "{\"root\": \"a\", \"synonyms\": [\"b\"]}",
                         e.what);
    }
    struct json_object *root = NULL, *syns = NULL;
    json_object_object_foreach(o, key, val)
    {
        if (strcmp(key, "root") == 0) {
            root = val;
        } else if (strcmp(key, "synonyms") == 0) {
            syns = val;
        } else {
            return sd_errorf(err, SD_EINVAL, "%s: unknown key '%.*s' (use synonyms, root)", e.what,
                             (int)sd_utf8_cut(key, strlen(key), 64), key);
        }
    }
    if (!syns || !json_object_is_type(syns, json_type_array)) {
        return sd_errorf(err, SD_EINVAL, "%s: \"synonyms\" must be an array of strings", e.what);
    }
    if (root && !json_object_is_type(root, json_type_string)) {
        return sd_errorf(err, SD_EINVAL, "%s: root: expected a string", e.what);
    }
    const char *r = root ? json_object_get_string(root) : NULL;
    size_t rlen = root ? (size_t)json_object_get_string_len(root) : 0;
    return lex_add_rule(lex, pool_cap, &e, r, rlen, syns, err);
}

/* One key of a Meilisearch map, "a": ["b", "c"]: the one-way entry of root "a", appended to lex.
 * Errors name the key, cut to 64 bytes on a UTF-8 boundary ("synonyms['a']: ..."). */
static int lex_parse_map_entry(const char *key, struct json_object *syns, struct sch_lexicon *lex,
                               size_t *pool_cap, struct sd_error *err)
{
    struct lex_entry e = {.root_name = "key"};
    size_t key_len = strlen(key), shown = sd_utf8_cut(key, key_len, 64);
    snprintf(e.what, sizeof e.what, "synonyms['%.*s%s']", (int)shown, key,
             shown < key_len ? "..." : "");
    if (!json_object_is_type(syns, json_type_array)) {
        return sd_errorf(err, SD_EINVAL, "%s: expected an array of strings like [\"b\", \"c\"]",
                         e.what);
    }
    return lex_add_rule(lex, pool_cap, &e, key, key_len, syns, err);
}

/* Sorts the rules, drops repeated ones and lays their members out in the new order. */
static int lex_sort_rules(struct sch_lexicon *lex, struct sd_error *err)
{
    struct lex_sort_rule *tmp = malloc((lex->nrules ? lex->nrules : 1) * sizeof *tmp);
    struct sch_str *members = malloc((lex->nmembers ? lex->nmembers : 1) * sizeof *members);
    if (!tmp || !members) {
        free(tmp);
        free(members);
        return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    for (size_t i = 0; i < lex->nrules; i++) {
        tmp[i] = (struct lex_sort_rule){lex, lex->rules[i]};
    }
    qsort(tmp, lex->nrules, sizeof *tmp, lex_cmp_rule);
    size_t nrules = 0, nmembers = 0;
    for (size_t i = 0; i < lex->nrules; i++) {
        if (i > 0 && lex_cmp_rule(&tmp[i - 1], &tmp[i]) == 0) {
            continue;
        }
        struct sch_synonym r = tmp[i].r;
        memcpy(members + nmembers, lex->members + r.first, r.count * sizeof *members);
        r.first = nmembers;
        nmembers += r.count;
        lex->rules[nrules++] = r;
    }
    free(tmp);
    free(lex->members);
    lex->members = members;
    lex->nmembers = nmembers;
    lex->nrules = nrules;
    return SD_OK;
}

int sch_lexicon_parse_synonyms(struct json_object *v, struct sch_lexicon *lex, struct sd_error *err)
{
    bool is_map = json_object_is_type(v, json_type_object);
    if (!is_map && !json_object_is_type(v, json_type_array)) {
        return sd_errorf(err, SD_EINVAL,
                         "\"synonyms\" must be an array like [{\"synonyms\": [\"a\", \"b\"]}] "
                         "or an object like {\"a\": [\"b\", \"c\"]}");
    }
    size_t n = is_map ? (size_t)json_object_object_length(v) : json_object_array_length(v);
    if (n > SCH_MAX_SYNONYM_RULES) {
        return sd_errorf(err, SD_ELIMIT, "\"synonyms\": %zu entries, at most %d", n,
                         SCH_MAX_SYNONYM_RULES);
    }
    lex->rules = calloc(n ? n : 1, sizeof *lex->rules);
    lex->members = calloc(n ? n * SCH_MAX_SYNONYM_MEMBERS : 1, sizeof *lex->members);
    if (!lex->rules || !lex->members) {
        return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    size_t pool_cap = lex->pool_len; /* the pool may hold the stopwords already */
    int rc = SD_OK;
    if (is_map) {
        json_object_object_foreach(v, key, val)
        {
            rc = lex_parse_map_entry(key, val, lex, &pool_cap, err);
            if (rc) {
                break;
            }
        }
    } else {
        for (size_t i = 0; rc == SD_OK && i < n; i++) {
            rc = lex_parse_rule(json_object_array_get_idx(v, i), i, lex, &pool_cap, err);
        }
    }
    return rc ? rc : lex_sort_rules(lex, err);
}

/* ---- stopwords ---- */

static const char *const lex_list_names[] = {"en", "ru"}; /* bit 1 << i: enum sch_stoplist */

static int lex_parse_lists(struct json_object *v, struct sch_lexicon *lex, struct sd_error *err)
{
    if (!json_object_is_type(v, json_type_array)) {
        return sd_errorf(err, SD_EINVAL, "stopwords: \"lists\" must be an array like [\"en\"]");
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        const char *name =
            json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
        unsigned bit = 0;
        for (unsigned k = 0; k < sizeof lex_list_names / sizeof *lex_list_names; k++) {
            bit |= strcmp(name, lex_list_names[k]) == 0 ? 1u << k : 0;
        }
        if (!bit) {
            return sd_errorf(err, SD_EINVAL,
                             "stopwords: lists[%zu]: unknown list '%.32s' (use en, ru)", i, name);
        }
        lex->stoplists |= bit;
    }
    return SD_OK;
}

static int lex_parse_words(struct json_object *v, struct sch_lexicon *lex, size_t *pool_cap,
                           struct sd_error *err)
{
    if (!json_object_is_type(v, json_type_array)) {
        return sd_errorf(err, SD_EINVAL, "stopwords: \"words\" must be an array of strings");
    }
    size_t n = json_object_array_length(v);
    if (n > SCH_MAX_STOPWORDS) {
        return sd_errorf(err, SD_ELIMIT, "stopwords: %zu words, at most %d", n, SCH_MAX_STOPWORDS);
    }
    lex->stopwords = calloc(n ? n : 1, sizeof *lex->stopwords);
    struct lex_sort_str *tmp = calloc(n ? n : 1, sizeof *tmp);
    int rc = lex->stopwords && tmp ? SD_OK : sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    for (size_t i = 0; rc == SD_OK && i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "stopwords: words[%zu]", i);
        rc = lex_add_string(lex, pool_cap, json_object_array_get_idx(v, i), what,
                            &lex->stopwords[i], err);
    }
    if (rc == SD_OK) {
        lex->nstopwords = lex_sort_unique(lex, lex->stopwords, n, tmp);
    }
    free(tmp);
    return rc;
}

int sch_lexicon_parse_stopwords(struct json_object *v, struct sch_lexicon *lex,
                                struct sd_error *err)
{
    if (!json_object_is_type(v, json_type_object)) {
        return sd_errorf(err, SD_EINVAL,
                         "\"stopwords\" must be an object like {\"lists\": [\"en\", \"ru\"], "
                         "\"words\": [\"please\"]}");
    }
    size_t pool_cap = lex->pool_len; /* the pool may hold the synonyms already */
    json_object_object_foreach(v, key, val)
    {
        int rc;
        if (strcmp(key, "lists") == 0) {
            rc = lex_parse_lists(val, lex, err);
        } else if (strcmp(key, "words") == 0) {
            rc = lex_parse_words(val, lex, &pool_cap, err);
        } else {
            rc = sd_errorf(err, SD_EINVAL, "stopwords: unknown key '%.*s' (use lists, words)",
                           (int)sd_utf8_cut(key, strlen(key), 64), key);
        }
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

/* ---- canonical JSON ---- */

static void lex_put_key(struct sd_buf *out, const char *key, bool *is_first)
{
    if (!*is_first) {
        sd_buf_put_u8(out, ',');
    }
    *is_first = false;
    sch_json_quote(key, strlen(key), out);
    sd_buf_put_u8(out, ':');
}

static void lex_put_strs(const struct sch_lexicon *lex, const struct sch_str *s, size_t n,
                         struct sd_buf *out)
{
    sd_buf_put_u8(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            sd_buf_put_u8(out, ',');
        }
        sch_json_quote(sch_str(lex, s[i]), s[i].len, out);
    }
    sd_buf_put_u8(out, ']');
}

void sch_lexicon_encode(const struct sch_lexicon *lex, struct sd_buf *out, bool *is_first)
{
    if (lex->stoplists || lex->nstopwords) {
        lex_put_key(out, "stopwords", is_first);
        sd_buf_put_u8(out, '{');
        bool first = true;
        if (lex->stoplists) {
            lex_put_key(out, "lists", &first);
            sd_buf_put_u8(out, '[');
            bool first_list = true;
            for (unsigned k = 0; k < sizeof lex_list_names / sizeof *lex_list_names; k++) {
                if (lex->stoplists & (1u << k)) {
                    sd_buf_put(out, first_list ? "\"" : ",\"", first_list ? 1 : 2);
                    sd_buf_put(out, lex_list_names[k], strlen(lex_list_names[k]));
                    sd_buf_put_u8(out, '"');
                    first_list = false;
                }
            }
            sd_buf_put_u8(out, ']');
        }
        if (lex->nstopwords) {
            lex_put_key(out, "words", &first);
            lex_put_strs(lex, lex->stopwords, lex->nstopwords, out);
        }
        sd_buf_put_u8(out, '}');
    }
    if (lex->nrules) {
        lex_put_key(out, "synonyms", is_first);
        sd_buf_put_u8(out, '[');
        for (size_t i = 0; i < lex->nrules; i++) {
            const struct sch_synonym *r = &lex->rules[i];
            const struct sch_str *m = lex->members + r->first;
            sd_buf_put(out, i ? ",{" : "{", i ? 2 : 1);
            bool first = true;
            if (r->is_one_way) {
                lex_put_key(out, "root", &first);
                sch_json_quote(sch_str(lex, m[0]), m[0].len, out);
            }
            lex_put_key(out, "synonyms", &first);
            lex_put_strs(lex, m + r->is_one_way, r->count - r->is_one_way, out);
            sd_buf_put_u8(out, '}');
        }
        sd_buf_put_u8(out, ']');
    }
}
