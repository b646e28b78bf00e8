/*
 * query_attr_doc.h: the attribute documents of the filter, sort and facet tests and of the
 * attribute fuzz targets (tests/fuzz/fuzz_attr.h): the schema that declares them, the columns
 * a segment builder takes, and a document's values in those columns. Header-only and free of
 * cmocka, so the fuzz build (which has no cmocka) shares it with the unit tests.
 *
 * The schema (TATTR_SCHEMA): title, body text; year int; price float; lang keyword; tags
 * keyword (multi-valued); date date; flag bool.
 */
#ifndef SEARCHD_QUERY_ATTR_DOC_H
#define SEARCHD_QUERY_ATTR_DOC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "schema.h"
#include "seg.h"

#define TATTR_SCHEMA                                                                               \
    "{\"fields\": {\"title\": {\"type\": \"text\"}, \"body\": {\"type\": \"text\"},"               \
    " \"year\": {\"type\": \"int\"}, \"price\": {\"type\": \"float\"},"                            \
    " \"lang\": {\"type\": \"keyword\"}, \"tags\": {\"type\": \"keyword\"},"                       \
    " \"date\": {\"type\": \"date\"}, \"flag\": {\"type\": \"bool\"}}}"

#define TATTR_MAX_TAGS 4

/* A test document; a NULL string or a has_ flag false is "no value". */
struct tadoc {
    const char *id;
    const char *title;
    const char *body;
    bool has_year;
    int64_t year;
    bool has_price;
    double price;
    const char *lang;
    const char *tags[TATTR_MAX_TAGS]; /* NULL-terminated when fewer */
    const char *date;                 /* ISO 8601, parsed with sch_parse_date */
    int flag;                         /* -1: none, 0 or 1 */
};

/* The columns of TATTR_SCHEMA, sorted by name as seg_builder_set_attrs keeps them. */
static const struct seg_attr_spec tattr_specs[] = {
    {"date", 4, SEG_ATTR_INT},    {"flag", 4, SEG_ATTR_INT},     {"lang", 4, SEG_ATTR_KEYWORD},
    {"price", 5, SEG_ATTR_FLOAT}, {"tags", 4, SEG_ATTR_KEYWORD}, {"year", 4, SEG_ATTR_INT},
};
#define TATTR_NSPECS (sizeof tattr_specs / sizeof tattr_specs[0])

/* The column values of d into v[TATTR_NSPECS], in tattr_specs order; the values live in the
 * caller's ints[3], *price, *lang_len and tag_lens[TATTR_MAX_TAGS], and in d. False when d's
 * date does not parse (a bug of the test, not of the code under test). */
static inline bool tattr_doc_vals(const struct tadoc *d, struct seg_attr_vals *v, int64_t *ints,
                                  double *price, size_t *lang_len, size_t *tag_lens)
{
    memset(v, 0, TATTR_NSPECS * sizeof *v);
    if (d->date) {
        if (!sch_parse_date(d->date, strlen(d->date), &ints[0])) {
            return false;
        }
        v[0] = (struct seg_attr_vals){.count = 1, .ints = &ints[0]};
    }
    if (d->flag >= 0) {
        ints[1] = d->flag;
        v[1] = (struct seg_attr_vals){.count = 1, .ints = &ints[1]};
    }
    if (d->lang) {
        *lang_len = strlen(d->lang);
        v[2] = (struct seg_attr_vals){.count = 1, .strs = &d->lang, .lens = lang_len};
    }
    if (d->has_price) {
        *price = d->price;
        v[3] = (struct seg_attr_vals){.count = 1, .floats = price};
    }
    uint32_t ntags = 0;
    while (ntags < TATTR_MAX_TAGS && d->tags[ntags]) {
        tag_lens[ntags] = strlen(d->tags[ntags]);
        ntags++;
    }
    v[4] = (struct seg_attr_vals){.count = ntags, .strs = d->tags, .lens = tag_lens};
    if (d->has_year) {
        ints[2] = d->year;
        v[5] = (struct seg_attr_vals){.count = 1, .ints = &ints[2]};
    }
    return true;
}

#endif
