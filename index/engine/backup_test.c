/*
 * backup_test.c: idx_snapshot in process. A snapshot passes idx_check_dir and opens with
 * every write acknowledged before it began, also while writes, flushes and merges go on;
 * names are checked before anything is touched; a leftover .partial is swept; across
 * filesystems the files are copied.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_int.h"
#include "idx.h"
#include "idx_test_util.h"

static int write_op(struct idx_db *db, enum idx_op_type type, const char *id)
{
    char body[96];
    snprintf(body, sizeof body, "river city history number %s", id);
    struct seg_field f = {.name = "body", .name_len = 4, .value = body, .value_len = strlen(body)};
    struct idx_op op = {.type = type, .doc = {.id = id, .id_len = strlen(id)}};
    if (type == IDX_OP_UPSERT) {
        op.doc.fields = &f;
        op.doc.nfields = 1;
    }
    return tidx_write(db, "books", &op, 1, NULL, NULL);
}

static struct idx_db *open_db(const char *dir, const char *snapshot_dir)
{
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.snapshot_dir = snapshot_dir;
    cfg.flush_bytes = 64u << 10; /* flushes and merges during the tests */
    cfg.merge_factor = 2;
    cfg.flush_ms = 200;
    struct idx_db *db;
    struct sd_error err;
    if (idx_open(&cfg, &db, &err) != SD_OK) {
        fail_msg("idx_open %s: %s", dir, err.msg);
    }
    return db;
}

static bool has_doc(struct idx_db *db, const char *id)
{
    struct seg_stored doc;
    struct sd_error err;
    int rc = idx_get(db, "books", id, strlen(id), &doc, &err);
    seg_stored_free(&doc);
    return rc == SD_OK;
}

static uint64_t docs_of(struct idx_db *db)
{
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_OK);
    return st.docs;
}

/* The snapshot passes the offline check, then opens with exactly what was written. */
static void check_and_open(const char *path, struct idx_db **out)
{
    FILE *devnull = fopen("/dev/null", "w");
    struct sd_error err = {0};
    int rc = idx_check_dir(path, devnull, &err);
    fclose(devnull);
    if (rc) {
        fail_msg("check %s: %s", path, err.msg);
    }
    *out = open_db(path, NULL);
}

static void test_backup_snapshot_checks_and_opens_with_every_write(void **state)
{
    (void)state;
    char *data = tidx_make_dir("/tmp"), *snaps = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(data, snaps);
    char id[32];
    for (int i = 0; i < 400; i++) {
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(write_op(db, IDX_OP_UPSERT, id), SD_OK);
    }
    for (int i = 0; i < 400; i += 7) { /* tombstones in the snapshot */
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(write_op(db, IDX_OP_DELETE, id), SD_OK);
    }
    const char *settings = "{\"fields\":{\"body\":{\"type\":\"text\"}}}";
    struct sd_error err;
    assert_int_equal(
        idx_set_settings(db, "books", settings, strlen(settings), IDX_SETTINGS_UPSERT, NULL, &err),
        SD_OK);
    struct idx_snapshot_info info;
    if (idx_snapshot(db, "books", "first", &info, &err) != SD_OK) {
        fail_msg("idx_snapshot: %s", err.msg);
    }
    assert_true(info.seq >= 400 + 58);
    assert_true(info.segments >= 1);
    assert_true(info.linked >= 2); /* same filesystem: MANIFEST and segments linked */
    assert_int_equal(info.copied, 0);
    uint64_t want = docs_of(db);
    idx_close(db);

    struct idx_db *snap;
    check_and_open(info.path, &snap);
    assert_int_equal(docs_of(snap), want);
    assert_true(has_doc(snap, "d1"));
    assert_false(has_doc(snap, "d7"));
    assert_true(has_doc(snap, "d398"));
    char *json;
    size_t len;
    uint64_t version;
    assert_int_equal(idx_get_settings(snap, "books", &json, &len, &version, &err), SD_OK);
    assert_int_equal(version, 1);
    free(json);
    assert_int_equal(write_op(snap, IDX_OP_UPSERT, "after"), SD_OK); /* it takes writes */
    idx_close(snap);
    tidx_remove_tree(data);
    tidx_remove_tree(snaps);
    free(data);
    free(snaps);
}

/* A writer thread upserts d0, d1, ... as fast as acks come; every id acknowledged before
 * idx_snapshot was called is in the snapshot. */
struct load {
    struct idx_db *db;
    atomic_int acked; /* ids [0, acked) are acknowledged */
    atomic_bool stop;
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    char id[32];
    for (int i = 0; !atomic_load(&l->stop); i++) {
        snprintf(id, sizeof id, "d%d", i);
        if (write_op(l->db, IDX_OP_UPSERT, id) != SD_OK) {
            break;
        }
        atomic_store(&l->acked, i + 1);
    }
    return NULL;
}

static void test_backup_under_writes_and_merges_has_every_acked_write(void **state)
{
    (void)state;
    char *data = tidx_make_dir("/tmp"), *snaps = tidx_make_dir("/tmp");
    struct load l = {.db = open_db(data, snaps)};
    assert_int_equal(write_op(l.db, IDX_OP_UPSERT, "first"), SD_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, load_main, &l), 0);
    int before[3];
    struct idx_snapshot_info info[3];
    for (int k = 0; k < 3; k++) {
        while (atomic_load(&l.acked) < 300 * (k + 1)) {
            usleep(1000);
        }
        char name[16];
        snprintf(name, sizeof name, "s%d", k);
        struct sd_error err;
        before[k] = atomic_load(&l.acked);
        if (idx_snapshot(l.db, "books", name, &info[k], &err) != SD_OK) {
            fail_msg("idx_snapshot: %s", err.msg);
        }
    }
    atomic_store(&l.stop, true);
    pthread_join(t, NULL);
    idx_close(l.db);
    for (int k = 0; k < 3; k++) {
        struct idx_db *snap;
        check_and_open(info[k].path, &snap);
        char id[32];
        for (int i = 0; i < before[k]; i++) {
            snprintf(id, sizeof id, "d%d", i);
            if (!has_doc(snap, id)) {
                fail_msg("snapshot %d: %s acknowledged before it, missing", k, id);
            }
        }
        assert_true(docs_of(snap) >= (uint64_t)before[k] + 1);
        idx_close(snap);
    }
    tidx_remove_tree(data);
    tidx_remove_tree(snaps);
    free(data);
    free(snaps);
}

static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void test_backup_refuses_bad_names_existing_unknown_and_off(void **state)
{
    (void)state;
    char *data = tidx_make_dir("/tmp"), *snaps = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(data, snaps);
    assert_int_equal(write_op(db, IDX_OP_UPSERT, "a"), SD_OK);
    struct sd_error err;
    const char *bad[] = {
        "",   "../x", "a/b",
        ".x", "-x",   "/tmp/x",
        "X",  "a b",  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(idx_snapshot(db, "books", bad[i], NULL, &err), SD_EINVAL);
        assert_non_null(strstr(err.msg, "bad snapshot name"));
    }
    assert_int_equal(idx_snapshot(db, "books", NULL, NULL, &err), SD_EINVAL);
    assert_int_equal(entries(snaps), 0);
    assert_int_equal(idx_snapshot(db, "nosuch", "s", NULL, &err), SD_ENOTFOUND);
    assert_int_equal(entries(snaps), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/taken", snaps);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(idx_snapshot(db, "books", "taken", NULL, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "exists"));
    assert_int_equal(entries(path), 0); /* untouched */
    idx_close(db);

    db = open_db(data, NULL); /* no snapshot-dir: off */
    assert_int_equal(idx_snapshot(db, "books", "s", NULL, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "snapshots are off"));
    idx_close(db);

    struct idx_config cfg; /* a snapshot-dir inside the data directory is refused */
    idx_config_default(&cfg);
    cfg.data_dir = data;
    snprintf(path, sizeof path, "%s/books", data);
    cfg.snapshot_dir = path;
    assert_int_equal(idx_open(&cfg, &db, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "inside the data directory"));
    cfg.snapshot_dir = "/nonexistent/snaps";
    assert_int_equal(idx_open(&cfg, &db, &err), SD_EINVAL);
    tidx_remove_tree(data);
    tidx_remove_tree(snaps);
    free(data);
    free(snaps);
}

static void test_backup_sweeps_leftover_partial(void **state)
{
    (void)state;
    char *data = tidx_make_dir("/tmp"), *snaps = tidx_make_dir("/tmp");
    char path[600];
    snprintf(path, sizeof path, "%s/.old.partial", snaps);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/.old.partial/books", snaps);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/.old.partial/books/MANIFEST", snaps);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    struct idx_db *db = open_db(data, snaps);
    assert_int_equal(write_op(db, IDX_OP_UPSERT, "a"), SD_OK);
    struct sd_error err;
    assert_int_equal(idx_snapshot(db, "books", "new", NULL, &err), SD_OK);
    assert_int_equal(entries(snaps), 1); /* "new" only */
    idx_close(db);
    tidx_remove_tree(data);
    tidx_remove_tree(snaps);
    free(data);
    free(snaps);
}

/* /dev/shm is tmpfs: when it is another filesystem than /tmp, links fail and files are
 * copied. Skipped where both are one filesystem. */
static void test_backup_copies_across_filesystems(void **state)
{
    (void)state;
    struct stat a, b;
    if (stat("/tmp", &a) != 0 || stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev) {
        skip();
    }
    char *data = tidx_make_dir("/tmp"), *snaps = tidx_make_dir("/dev/shm");
    struct idx_db *db = open_db(data, snaps);
    char id[32];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof id, "d%d", i);
        assert_int_equal(write_op(db, IDX_OP_UPSERT, id), SD_OK);
    }
    struct idx_snapshot_info info;
    struct sd_error err;
    if (idx_snapshot(db, "books", "copy", &info, &err) != SD_OK) {
        fail_msg("idx_snapshot: %s", err.msg);
    }
    assert_int_equal(info.linked, 0);
    assert_true(info.segments >= 1);
    assert_true(info.copied >= info.segments + 1); /* and the MANIFEST */
    idx_close(db);
    struct idx_db *snap;
    check_and_open(info.path, &snap);
    assert_int_equal(docs_of(snap), 200);
    idx_close(snap);
    tidx_remove_tree(data);
    tidx_remove_tree(snaps);
    free(data);
    free(snaps);
}

/* The settings of a snapshot are of the moment of its MANIFEST. A write acknowledged after the
 * snapshot pinned its MANIFEST is not in it; a settings change acknowledged after that write
 * must not be in it either (the index never had those settings without that write). SETTINGS
 * was copied after the segments, so a change made while they were copied got in: copies to
 * another filesystem (fsynced) give it the time. */
struct snap_call {
    struct idx_db *db;
    const char *name;
    struct idx_snapshot_info info;
    int rc;
    atomic_bool done;
};

static void *snap_main(void *arg)
{
    struct snap_call *c = arg;
    struct sd_error err;
    c->rc = idx_snapshot(c->db, "books", c->name, &c->info, &err);
    atomic_store(&c->done, true);
    return NULL;
}

static void test_backup_settings_are_of_the_manifests_moment(void **state)
{
    (void)state;
    struct stat a, b;
    if (stat("/tmp", &a) != 0 || stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev) {
        skip(); /* linked, the copy leaves no time for a change */
    }
    char *data = tidx_make_dir("/dev/shm"), *snaps = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(data, snaps);
    static const char *const settings[2] = {
        "{\"fields\":{\"body\":{\"type\":\"text\"}}}",
        "{\"fields\":{\"body\":{\"type\":\"text\"},\"n\":{\"type\":\"int\"}}}",
    };
    uint64_t version;
    struct sd_error err;
    assert_int_equal(idx_set_settings(db, "books", settings[0], strlen(settings[0]),
                                      IDX_SETTINGS_UPSERT, &version, &err),
                     SD_OK);
    static char body[4096];
    for (size_t i = 0; i + 1 < sizeof body; i++) {
        body[i] = i % 7 == 6 ? ' ' : (char)('a' + (i * 31 % 26));
    }
    char id[32];
    for (int i = 0; i < 3000; i++) { /* ~12 MB of segments to copy */
        snprintf(id, sizeof id, "d%d", i);
        struct seg_field f = {
            .name = "body", .name_len = 4, .value = body, .value_len = strlen(body)};
        struct idx_op op = {.type = IDX_OP_UPSERT, .doc = {.id = id, .id_len = strlen(id)}};
        op.doc.fields = &f;
        op.doc.nfields = 1;
        assert_int_equal(tidx_write(db, "books", &op, 1, NULL, NULL), SD_OK);
    }
    int raced = 0;
    for (int k = 0; k < 3; k++) {
        char name[16], manifest[PATH_MAX];
        snprintf(name, sizeof name, "m%d", k);
        snprintf(manifest, sizeof manifest, "%s/.%s.partial/books/MANIFEST", snaps, name);
        struct snap_call c = {.db = db, .name = name};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, snap_main, &c), 0);
        struct stat st;
        while (stat(manifest, &st) != 0 && !atomic_load(&c.done)) {
            usleep(50); /* until the snapshot has pinned its MANIFEST */
        }
        snprintf(id, sizeof id, "late%d", k);
        assert_int_equal(write_op(db, IDX_OP_UPSERT, id), SD_OK);
        const char *next = settings[(k + 1) % 2];
        uint64_t changed;
        assert_int_equal(
            idx_set_settings(db, "books", next, strlen(next), IDX_SETTINGS_UPSERT, &changed, &err),
            SD_OK);
        raced += !atomic_load(&c.done);
        pthread_join(t, NULL);
        assert_int_equal(c.rc, SD_OK);
        struct idx_db *snap;
        check_and_open(c.info.path, &snap);
        char *json;
        size_t len;
        uint64_t snap_version;
        assert_int_equal(idx_get_settings(snap, "books", &json, &len, &snap_version, &err), SD_OK);
        free(json);
        if (snap_version == changed && !has_doc(snap, id)) {
            fail_msg("snapshot %s: settings version %llu, acknowledged after %s, which it lacks",
                     name, (unsigned long long)changed, id);
        }
        idx_close(snap);
    }
    assert_true(raced > 0); /* a change came while a snapshot ran: the test tested */
    idx_close(db);
    tidx_remove_tree(data);
    tidx_remove_tree(snaps);
    free(data);
    free(snaps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_snapshot_checks_and_opens_with_every_write),
        cmocka_unit_test(test_backup_under_writes_and_merges_has_every_acked_write),
        cmocka_unit_test(test_backup_refuses_bad_names_existing_unknown_and_off),
        cmocka_unit_test(test_backup_sweeps_leftover_partial),
        cmocka_unit_test(test_backup_copies_across_filesystems),
        cmocka_unit_test(test_backup_settings_are_of_the_manifests_moment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
