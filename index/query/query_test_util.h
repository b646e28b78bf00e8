/*
 * query_test_util.h: helpers of the query tests: segments built in memory
 * from small documents, and searches summarized as strings.
 */
#ifndef SEARCHD_QUERY_TEST_UTIL_H
#define SEARCHD_QUERY_TEST_UTIL_H

#include "query.h"

/* The stemmer and context of a test program whose group fixtures are tq_setup and
 * tq_teardown (cmocka_run_group_tests(tests, tq_setup, tq_teardown)). */
extern struct stem_ctx *tq_stem;
extern struct qry_ctx *tq_ctx;
int tq_setup(void **state);
int tq_teardown(void **state);

/* A test document: any field may be NULL (absent). */
struct tdoc {
    const char *id;
    const char *title;
    const char *body;
    const char *tags;
};

/* Builds and opens a segment of docs[0, n); fails the test on any error. */
struct seg *tseg_build(struct stem_ctx *stem, const struct tdoc *docs, size_t n);

/* Parses text or fails the test. */
struct qry *tqry(struct qry_ctx *ctx, const char *text);
/* Reads text with the simple syntax as a search box typing it (QRY_SIMPLE_PREFIX_LAST), or
 * fails the test. */
struct qry *tqry_typing(struct qry_ctx *ctx, const char *text);

/* Runs text over segs with params (NULL: defaults with limit 1000) and writes
 * the hit ids in rank order, space-separated, to buf. Returns total. */
uint64_t tsearch_ids(struct qry_ctx *ctx, const char *text, const struct qry_segment *segs,
                     size_t nsegs, const struct qry_params *params, char *buf, size_t cap);
/* The same for a parsed query q (borrowed). */
uint64_t tsearch_query_ids(struct qry_ctx *ctx, const struct qry *q, const struct qry_segment *segs,
                           size_t nsegs, const struct qry_params *params, char *buf, size_t cap);

#endif
