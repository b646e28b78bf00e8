/*
 * idx_test_util.c: helpers of the engine's tests (idx_test_util.h says which). A write's
 * acknowledgement comes on the writer thread; tidx_write waits for it on a condition.
 */
#include "idx_test_util.h"

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

char *tidx_make_dir(const char *under)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/idx_test.XXXXXX", under);
    char *dir = mkdtemp(tmpl);
    if (!dir) {
        fail_msg("mkdtemp %s", tmpl);
    }
    return strdup(dir);
}

static int tidx_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

void tidx_remove_tree(const char *dir)
{
    if (nftw(dir, tidx_remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fail_msg("cannot remove %s", dir);
    }
}

struct tidx_ack {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_done;
    int rc;
    struct idx_write_result res;
    struct sd_error err;
};

static void tidx_on_done(void *arg, int rc, const struct idx_write_result *res,
                         const struct sd_error *err)
{
    struct tidx_ack *a = arg;
    pthread_mutex_lock(&a->lock);
    a->rc = rc;
    if (res) {
        a->res = *res;
    }
    if (rc && err) {
        a->err = *err;
    }
    a->is_done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

int tidx_write(struct idx_db *db, const char *index, const struct idx_op *ops, size_t n,
               struct idx_write_result *res, struct sd_error *err)
{
    struct tidx_ack a = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct sd_error refusal;
    int rc = idx_write(db, index, ops, n, tidx_on_done, &a, err ? err : &refusal);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&a.lock);
    while (!a.is_done) {
        pthread_cond_wait(&a.cond, &a.lock);
    }
    pthread_mutex_unlock(&a.lock);
    if (res) {
        *res = a.res;
    }
    if (a.rc && err) {
        *err = a.err;
    }
    return a.rc;
}

uint64_t tidx_count(struct idx_db *db, const char *index, const char *q)
{
    struct idx_search_req req = {.q = q, .q_len = strlen(q)};
    idx_search_params_default(db, &req.params);
    req.params.limit = 0;
    struct idx_search_res res;
    struct sd_error err;
    if (idx_search(db, index, &req, &res, &err) != SD_OK) {
        fail_msg("search '%s': %s", q, err.msg);
    }
    uint64_t total = res.total;
    idx_search_res_free(&res);
    return total;
}
