/*
 * query_attr_util.h: helpers of the filter, sort and facet tests: segments with attribute
 * columns built in memory from small documents (query_attr_doc.h: the documents, their
 * schema and columns), and searches summarized as strings.
 */
#ifndef SEARCHD_QUERY_ATTR_UTIL_H
#define SEARCHD_QUERY_ATTR_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "query.h"
#include "query_attr_doc.h"

/* Five documents d1..d5 with every kind of value, and some without (query_attr_util.c). */
#define TATTR_NDOCS 5
extern const struct tadoc tattr_docs[TATTR_NDOCS];

/* The schema of TATTR_SCHEMA (owned by the caller: sch_free). */
struct sch_schema *tattr_schema(void);

/* The context, stemmer and schema of one test program, opened by tattr_setup and freed by
 * tattr_teardown (cmocka group fixtures). */
extern struct qry_ctx *tattr_ctx;
extern struct stem_ctx *tattr_stem;
extern struct sch_schema *tattr_schema_;
int tattr_setup(void **state);
int tattr_teardown(void **state);

/* Builds and opens a segment of docs[0, n) with the columns of TATTR_SCHEMA; with
 * has_columns false, a segment built before any attribute was declared (no columns). */
struct seg *tattr_build(struct stem_ctx *stem, const struct tadoc *docs, size_t n,
                        bool has_columns);

/* Runs q (full syntax with the schema) with filter (NULL: none) over segs and writes the
 * hit ids in rank order, space-separated, to buf. params NULL: defaults with limit 1000.
 * Returns total; fails the test on an error. */
uint64_t tattr_search(struct qry_ctx *ctx, const struct sch_schema *schema, const char *q,
                      const char *filter, const struct qry_segment *segs, size_t nsegs,
                      const struct qry_params *params, char *buf, size_t cap);

/* tattr_search with the sort text (parsed with the schema), limit and offset. */
uint64_t tattr_sorted(struct qry_ctx *ctx, const struct sch_schema *schema, const char *q,
                      const char *sort, const struct qry_segment *segs, size_t nsegs,
                      uint32_t limit, uint32_t offset, char *buf, size_t cap);

/* The error code of parsing q (is_filter: as a filter string) with the schema; its message
 * in msg[256]. SD_OK when it parses. */
int tattr_parse_rc(struct qry_ctx *ctx, const struct sch_schema *schema, const char *text,
                   bool is_filter, char *msg);

#endif
