/*
 * proto_lists.c: the list parameters of a search ("facets" and "fields") and the tables of
 * known parameters.
 *
 * A list arrives as a JSON array of strings, or as one comma-separated string (the only form
 * an HTTP query string has). Either way every item lands in the request's fixed array
 * (IDX_MAX_FACETS specs, IDX_MAX_CHOSEN names, from idx.h) as a NUL-terminated string that
 * points into storage the request owns. What the wire can check is checked here, once, for
 * both protocols: counts, empty items, lengths, and repeats. A repeat is refused rather than
 * merged: two facet specs on one field would need two answers under one key of "facets", and
 * a parameter is never silently dropped (PROTOCOL.md). Whether a field is declared, and what a
 * spec's options mean, is the engine's to say (unknown_field, bad_query).
 */
#include <string.h>

#include "proto_int.h"

const char *const proto_search_params[] = {
    "q",
    "limit",
    "offset",
    "weights",
    "snippet",
    "syntax",
    "prefix_last",
    "layout",
    "typo",
    "drop_words",
    "proximity",
    "highlight",
    "highlight_offsets",
    "highlight_pre",
    "highlight_post",
    "snippet_len",
    "fragments",
    "filter",
    "sort",
    "facets",
    "fields",
    NULL,
};

bool proto_is_known(const char *const *names, const char *key)
{
    for (size_t i = 0; names[i]; i++) {
        if (strcmp(names[i], key) == 0) {
            return true;
        }
    }
    return false;
}

const char *proto_list_name(enum proto_list which)
{
    return which == PROTO_LIST_FACETS ? "facets" : "fields";
}

/* The field a facet spec counts: the bytes before its first ':' (all of it without one). */
static size_t spec_field_len(const char *spec, size_t len)
{
    const char *colon = memchr(spec, ':', len);
    return colon ? (size_t)(colon - spec) : len;
}

/* True when a item of the list already names the field (or name) item[0, flen). */
static bool list_has(const char *const *items, size_t n, bool is_facet, const char *item,
                     size_t flen)
{
    for (size_t i = 0; i < n; i++) {
        size_t ilen = is_facet ? spec_field_len(items[i], strlen(items[i])) : strlen(items[i]);
        if (ilen == flen && memcmp(items[i], item, flen) == 0) {
            return true;
        }
    }
    return false;
}

enum proto_code proto_list_add(struct proto_request *req, enum proto_list which, const char *item,
                               size_t len, struct proto_error *err)
{
    bool is_facet = which == PROTO_LIST_FACETS;
    const char *what = proto_list_name(which);
    const char **items = is_facet ? req->facets : req->chosen;
    size_t *n = is_facet ? &req->nfacets : &req->nchosen;
    size_t max = is_facet ? IDX_MAX_FACETS : IDX_MAX_CHOSEN;
    if (len == 0) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s': an empty item", what);
    }
    if (memchr(item, '\0', len)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s': an item contains NUL", what);
    }
    size_t flen = is_facet ? spec_field_len(item, len) : len;
    if (flen == 0 || flen > SEG_MAX_NAME) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s': field names are 1 to %d bytes", what,
                            SEG_MAX_NAME);
    }
    if (*n == max) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s': at most %zu items", what, max);
    }
    if (list_has(items, *n, is_facet, item, flen)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            is_facet ? "'%s': two specs on the field '%.*s'"
                                     : "'%s': '%.*s' given twice",
                            what, (int)flen, item);
    }
    items[(*n)++] = item;
    return PROTO_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

enum proto_code proto_list_split(struct proto_request *req, enum proto_list which, char *s,
                                 size_t len, struct proto_error *err)
{
    char *end = s + len;
    char *p = s;
    if (len == 0) {
        return PROTO_OK;
    }
    for (;;) {
        char *comma = memchr(p, ',', (size_t)(end - p));
        char *stop = comma ? comma : end;
        char *a = p, *b = stop;
        while (a < b && is_space(*a)) {
            a++;
        }
        while (b > a && is_space(b[-1])) {
            b--;
        }
        *b = '\0'; /* the comma, a trailing space, or the NUL already at len */
        enum proto_code rc = proto_list_add(req, which, a, (size_t)(b - a), err);
        if (rc || !comma) {
            return rc;
        }
        p = comma + 1;
    }
}
