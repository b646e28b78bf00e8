/*
 * idx_test_util.h: helpers of the engine's tests (idx_test.c, idx_settings_test.c,
 * idx_attr_test.c, backup_test.c, memcap_test.c): temporary data directories, a write that
 * waits for its acknowledgement, and a count of matches. Each fails the test (cmocka) on what
 * a test never expects; a write's refusal is the test's to check.
 */
#ifndef SEARCHD_IDX_TEST_UTIL_H
#define SEARCHD_IDX_TEST_UTIL_H

#include "idx.h"

/* A new empty directory UNDER/idx_test.XXXXXX; the path is the caller's (free). */
char *tidx_make_dir(const char *under);
/* Removes dir and everything below it. */
void tidx_remove_tree(const char *dir);

/* idx_write of ops[0, n) to index, then waits for the acknowledgement. Returns idx_write's
 * refusal, else the acknowledgement's code. res (may be NULL) gets the acknowledged result,
 * err (may be NULL) the message of a refusal or a failed write. */
int tidx_write(struct idx_db *db, const char *index, const struct idx_op *ops, size_t n,
               struct idx_write_result *res, struct sd_error *err);

/* The number of documents of index matching q (full syntax, the default parameters). */
uint64_t tidx_count(struct idx_db *db, const char *index, const char *q);

#endif
