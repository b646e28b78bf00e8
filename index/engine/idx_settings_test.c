/*
 * idx_settings_test.c: an index's settings and management, in process (issue 11): settings
 * are versioned, durable (a reopen and a kill -9 keep them) and checked on every write (a
 * wrong-typed value refuses its whole batch, naming document and field); declared text
 * fields and their weights decide indexing and ranking; no settings is the old behaviour;
 * drop removes exactly one directory, also while searches run; creating an index is atomic
 * (of two racing creations one wins and the other finds the index, a write racing a
 * creation is checked against its settings or made the index first, a reader never sees it
 * half made, a crash leaves none or a whole one).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_int.h"
#include "idx.h"
#include "idx_test_util.h"

#define TXT(n, v)                                                                                  \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1, SEG_TEXT                                               \
    }
#define RAW(n, v)                                                                                  \
    {                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1, SEG_RAW                                                \
    }

static struct idx_op upsert(const char *id, const struct seg_field *f, size_t n)
{
    return (struct idx_op){.type = IDX_OP_UPSERT,
                           .doc = {.id = id, .id_len = strlen(id), .fields = f, .nfields = n}};
}

/* The id of the best hit of q (owned by the caller). */
static char *top_id(struct idx_db *db, const char *index, const char *q)
{
    struct idx_search_req req = {.q = q, .q_len = strlen(q)};
    idx_search_params_default(db, &req.params);
    struct idx_search_res res;
    struct sd_error err;
    if (idx_search(db, index, &req, &res, &err) || res.nhits == 0) {
        fail_msg("search '%s': %s", q, err.msg);
    }
    char *id = strdup(res.hits[0].id);
    idx_search_res_free(&res);
    return id;
}

static struct idx_db *open_db(const char *dir)
{
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.flush_ms = 300;
    struct idx_db *db;
    struct sd_error err;
    if (idx_open(&cfg, &db, &err) != SD_OK) {
        fail_msg("idx_open: %s", err.msg);
    }
    return db;
}

static uint64_t set_settings(struct idx_db *db, const char *index, const char *json)
{
    uint64_t v = 0;
    struct sd_error err;
    if (idx_set_settings(db, index, json, strlen(json), IDX_SETTINGS_UPSERT, &v, &err)) {
        fail_msg("set_settings %s: %s", json, err.msg);
    }
    return v;
}

static void expect_settings(struct idx_db *db, const char *index, const char *json, uint64_t v)
{
    char *got;
    size_t len;
    uint64_t version;
    struct sd_error err;
    assert_int_equal(idx_get_settings(db, index, &got, &len, &version, &err), SD_OK);
    assert_string_equal(got, json);
    assert_int_equal(len, strlen(json));
    assert_int_equal(version, v);
    free(got);
}

static bool exists(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static const char *const schema1 = "{\"fields\":{\"year\":{\"type\":\"int\"},\"title\":{\"type\":"
                                   "\"text\"},\"lang\":{\"type\":\"keyword\"},\"at\":{\"type\":"
                                   "\"date\"},\"tags\":{\"type\":\"keyword\"}}}";
static const char *const canon1 =
    "{\"fields\":{\"at\":{\"type\":\"date\"},\"lang\":{\"type\":"
    "\"keyword\"},\"tags\":{\"type\":\"keyword\"},\"title\":{\"type\":"
    "\"text\",\"weight\":2},\"year\":{\"type\":\"int\"}}}";

static void test_idx_settings_versions_survive_reopen(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    struct sd_error err;
    char *json;
    size_t len;
    uint64_t v;
    assert_int_equal(idx_get_settings(db, "books", &json, &len, &v, &err), SD_ENOTFOUND);
    assert_int_equal(idx_set_settings(db, "books", "{}", 2, IDX_SETTINGS_REPLACE, &v, &err),
                     SD_ENOTFOUND);
    assert_int_equal(set_settings(db, "books", schema1), 1);
    expect_settings(db, "books", canon1, 1);
    assert_int_equal(set_settings(db, "books", canon1), 1); /* the same settings: no change */
    assert_int_equal(idx_set_settings(db, "books", "{}", 2, IDX_SETTINGS_CREATE, &v, &err),
                     SD_EEXIST);
    assert_non_null(strstr(err.msg, "index 'books' exists"));
    const char *longtype = "{\"fields\":{\"y\":{\"type\":\"long\"}}}";
    assert_int_equal(
        idx_set_settings(db, "books", longtype, strlen(longtype), IDX_SETTINGS_UPSERT, &v, &err),
        SD_EINVAL);
    assert_non_null(strstr(err.msg, "field 'y': unknown type 'long'"));
    assert_int_equal(idx_set_settings(db, "Bad/Name", "{}", 2, IDX_SETTINGS_UPSERT, &v, &err),
                     SD_EINVAL);
    expect_settings(db, "books", canon1, 1); /* refused settings changed nothing */
    assert_int_equal(set_settings(db, "books", "{\"fields\":{\"year\":{\"type\":\"float\"}}}"), 2);
    struct idx_stats st;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_OK);
    assert_int_equal(st.settings_version, 2);
    idx_close(db);

    db = open_db(dir);
    expect_settings(db, "books", "{\"fields\":{\"year\":{\"type\":\"float\"}}}", 2);
    assert_int_equal(set_settings(db, "books", "{}"), 3); /* back to nothing declared */
    expect_settings(db, "books", "{}", 3);
    struct seg_field f[] = {TXT("title", "no schema again")};
    struct idx_op op = upsert("d", f, 1);
    assert_int_equal(tidx_write(db, "other", &op, 1, NULL, &err), SD_OK);
    expect_settings(db, "other", "{}", 0); /* an index that never had settings */
    struct idx_index_info *info;
    size_t n;
    assert_int_equal(idx_indexes(db, &info, &n, &err), SD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(info[0].name, "books");
    assert_int_equal(info[0].settings_version, 3);
    assert_int_equal(info[0].docs, 0);
    assert_string_equal(info[1].name, "other");
    assert_int_equal(info[1].settings_version, 0);
    assert_int_equal(info[1].docs, 1);
    free(info);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_wrong_typed_value_refuses_whole_batch(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "books", schema1);
    struct seg_field good[] = {TXT("title", "river history"), RAW("year", "2012"),
                               TXT("lang", "ru"), RAW("tags", "[\"poetry\",\"prose\"]"),
                               TXT("at", "2015-03-01")};
    struct seg_field bad_year[] = {TXT("title", "river bank"), RAW("year", "2012.5")};
    struct seg_field bad_date[] = {TXT("title", "river mouth"), TXT("at", "2015-02-30")};
    struct seg_field bad_lang[] = {TXT("title", "river delta"), RAW("lang", "7")};
    struct seg_field bad_title[] = {RAW("title", "[\"a\",7]")};
    struct {
        struct seg_field *f;
        size_t n;
        const char *want;
    } bad[] = {
        {bad_year, 2, "document 'b': field 'year': expected int"},
        {bad_date, 2, "document 'b': field 'at': expected date"},
        {bad_lang, 2, "document 'b': field 'lang': expected keyword"},
        {bad_title, 1, "document 'b': field 'title': expected text"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct idx_op ops[2] = {upsert("a", good, 5), upsert("b", bad[i].f, bad[i].n)};
        struct sd_error err = {0};
        assert_int_equal(tidx_write(db, "books", ops, 2, NULL, &err), SD_EINVAL);
        if (!strstr(err.msg, bad[i].want)) {
            fail_msg("'%s' does not say '%s'", err.msg, bad[i].want);
        }
        struct seg_stored doc;
        assert_int_equal(idx_get(db, "books", "a", 1, &doc, &err), SD_ENOTFOUND); /* a neither */
        seg_stored_free(&doc);
    }
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_OK);
    assert_int_equal(st.docs, 0);
    assert_int_equal(st.last_seq, 0); /* nothing reached the log */
    struct idx_op ok = upsert("a", good, 5);
    assert_int_equal(tidx_write(db, "books", &ok, 1, NULL, &err), SD_OK);
    assert_int_equal(tidx_count(db, "books", "river"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_declared_text_fields_decide_indexing(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "books", schema1);
    struct seg_field f[] = {TXT("title", "river history"), TXT("note", "undeclared words"),
                            TXT("lang", "ru"), RAW("year", "2012")};
    struct idx_op op = upsert("a", f, 4);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    assert_int_equal(tidx_write(db, "plain", &op, 1, NULL, &err), SD_OK); /* no settings */
    for (int round = 0; round < 2; round++) {                       /* live, then replayed */
        assert_int_equal(tidx_count(db, "books", "river"), 1);
        assert_int_equal(tidx_count(db, "books", "undeclared"), 0); /* stored, not indexed */
        assert_int_equal(tidx_count(db, "books", "ru"), 0);         /* an attribute, not text */
        assert_int_equal(tidx_count(db, "plain", "undeclared"), 1); /* as before issue 11 */
        assert_int_equal(tidx_count(db, "plain", "ru"), 1);
        struct seg_stored doc;
        assert_int_equal(idx_get(db, "books", "a", 1, &doc, &err), SD_OK);
        assert_int_equal(doc.nfields, 4);
        assert_int_equal(doc.fields[0].type, SEG_TEXT);
        assert_int_equal(doc.fields[1].type, SEG_RAW); /* the same JSON string as given */
        assert_int_equal(doc.fields[1].value_len, strlen("\"undeclared words\""));
        assert_memory_equal(doc.fields[1].value, "\"undeclared words\"", doc.fields[1].value_len);
        assert_memory_equal(doc.fields[2].value, "\"ru\"", 4);
        seg_stored_free(&doc);
        idx_close(db);
        db = open_db(dir);
    }
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_declared_text_array_is_searchable_and_stored_as_given(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "books", "{\"fields\":{\"authors\":{\"type\":\"text\"}}}");
    const char *authors = "[\"Leo Tolstoy\",\"Anna Karenina\"]";
    struct seg_field f[] = {{"authors", 7, authors, strlen(authors), SEG_RAW},
                            RAW("other", "[\"undeclared array\"]")};
    struct idx_op op = upsert("a", f, 2);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    for (int round = 0; round < 2; round++) { /* live, then from the flushed segment */
        assert_int_equal(tidx_count(db, "books", "tolstoy"), 1);
        assert_int_equal(tidx_count(db, "books", "karenina"), 1);
        assert_int_equal(tidx_count(db, "books", "\"tolstoy anna\""), 0); /* not across strings */
        assert_int_equal(tidx_count(db, "books", "\"leo tolstoy\""), 1);
        assert_int_equal(tidx_count(db, "books", "undeclared"), 0);
        struct seg_stored doc;
        assert_int_equal(idx_get(db, "books", "a", 1, &doc, &err), SD_OK);
        assert_int_equal(doc.fields[0].type, SEG_RAW);
        assert_int_equal(doc.fields[0].value_len, strlen(authors));
        assert_memory_equal(doc.fields[0].value, authors, strlen(authors));
        seg_stored_free(&doc);
        idx_close(db);
        db = open_db(dir);
    }
    struct seg_field bad[] = {RAW("authors", "[\"x\", 3]")};
    op = upsert("b", bad, 1);
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "document 'b': field 'authors': expected text"));
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_declared_weights_drive_ranking(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "weighted",
                 "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":1},"
                 "\"body\":{\"type\":\"text\",\"weight\":6}}}");
    struct seg_field fa[] = {TXT("title", "alpha"), TXT("body", "beta")};
    struct seg_field fb[] = {TXT("title", "beta"), TXT("body", "alpha")};
    struct idx_op ops[] = {upsert("in_title", fa, 2), upsert("in_body", fb, 2)};
    struct sd_error err;
    assert_int_equal(tidx_write(db, "weighted", ops, 2, NULL, &err), SD_OK);
    assert_int_equal(tidx_write(db, "plain", ops, 2, NULL, &err), SD_OK);
    char *plain = top_id(db, "plain", "alpha"); /* title weighs 2 by default */
    char *weighted = top_id(db, "weighted", "alpha");
    assert_string_equal(plain, "in_title");
    assert_string_equal(weighted, "in_body");
    free(plain);
    free(weighted);
    /* a weight the request names wins over the declared one */
    struct qry_weight w[] = {{"title", 50.0f}};
    struct idx_search_req req = {.q = "alpha", .q_len = 5};
    idx_search_params_default(db, &req.params);
    req.params.weights = w;
    req.params.nweights = 1;
    struct idx_search_res res;
    assert_int_equal(idx_search(db, "weighted", &req, &res, &err), SD_OK);
    assert_string_equal(res.hits[0].id, "in_title");
    idx_search_res_free(&res);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_damaged_settings_make_the_index_unavailable(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "books", schema1);
    idx_close(db);
    char path[512];
    snprintf(path, sizeof path, "%s/books/SETTINGS", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 30, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 30, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    struct sd_error err;
    struct idx_stats st;
    assert_int_equal(idx_open(&cfg, &db, &err), SD_OK);
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_EUNAVAIL);
    idx_close(db);
    assert_non_null(strstr(err.msg, "books/SETTINGS: checksum mismatch"));
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(idx_check_dir(dir, out, &err), SD_ECORRUPT); /* searchd --check */
    fclose(out);
    assert_non_null(strstr(report, "FAIL index=books"));
    assert_non_null(strstr(report, "SETTINGS: checksum mismatch"));
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(idx_open(&cfg, &db, &err), SD_OK);
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_EUNAVAIL);
    idx_close(db);
    assert_non_null(strstr(err.msg, "SETTINGS: not a settings file"));
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_settings_and_typed_check_survive_kill9(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct idx_db *child = open_db(dir);
        set_settings(child, "books", schema1);
        struct seg_field f[] = {TXT("title", "acknowledged river"), RAW("year", "1999")};
        struct idx_op op = upsert("a", f, 2);
        struct sd_error err;
        if (tidx_write(child, "books", &op, 1, NULL, &err) == SD_OK) {
            kill(getpid(), SIGKILL); /* no close, no flush */
        }
        _exit(1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct idx_db *db = open_db(dir);
    expect_settings(db, "books", canon1, 1);
    assert_int_equal(tidx_count(db, "books", "acknowledged"), 1);
    /* the replayed document has its column value again */
    struct idx_index *ix;
    assert_int_equal(idx_db_find(db, "books", false, &ix, NULL), SD_OK);
    struct idx_snap *snap = idx_snap_acquire(ix);
    assert_int_equal(snap->nsegs, 1);
    const struct seg_attr *year = seg_attr_find(snap->segs[0].ref->seg, "year", 4);
    assert_non_null(year);
    uint64_t first;
    uint32_t n;
    seg_attr_values(year, 0, &first, &n);
    assert_int_equal(n, 1);
    assert_int_equal(seg_attr_int(year, first), 1999);
    idx_snap_release(snap);
    idx_index_put(ix);
    struct seg_field bad[] = {TXT("title", "x"), TXT("year", "1999")};
    struct idx_op op = upsert("b", bad, 2);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "field 'year': expected int"));
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_drop_removes_one_directory_only(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    char leftover[512];
    snprintf(leftover, sizeof leftover, "%s/.dropped-old", dir); /* a drop cut by a crash */
    assert_int_equal(mkdir(leftover, 0755), 0);
    snprintf(leftover, sizeof leftover, "%s/.dropped-old/seg-000001.seg", dir);
    FILE *f = fopen(leftover, "w");
    fclose(f);
    struct idx_db *db = open_db(dir);
    assert_false(exists(dir, ".dropped-old"));
    set_settings(db, "books", schema1);
    struct seg_field fs[] = {TXT("title", "river")};
    struct idx_op op = upsert("a", fs, 1);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    assert_int_equal(tidx_write(db, "keep", &op, 1, NULL, &err), SD_OK);
    assert_int_equal(idx_drop(db, "../keep", &err), SD_EINVAL);
    assert_int_equal(idx_drop(db, "", &err), SD_EINVAL);
    assert_int_equal(idx_drop(db, ".", &err), SD_EINVAL);
    assert_int_equal(idx_drop(db, "nosuch", &err), SD_ENOTFOUND);
    assert_int_equal(idx_drop(db, "books", &err), SD_OK);
    assert_false(exists(dir, "books"));
    assert_false(exists(dir, ".dropped-books"));
    assert_true(exists(dir, "keep/MANIFEST") || exists(dir, "keep"));
    assert_int_equal(idx_drop(db, "books", &err), SD_ENOTFOUND);
    struct idx_search_req req = {.q = "river", .q_len = 5};
    idx_search_params_default(db, &req.params);
    struct idx_search_res res;
    assert_int_equal(idx_search(db, "books", &req, &res, &err), SD_ENOTFOUND);
    idx_search_res_free(&res);
    assert_int_equal(tidx_count(db, "keep", "river"), 1);
    char **names;
    size_t n;
    assert_int_equal(idx_list(db, &names, &n, &err), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "keep");
    free(names[0]);
    free(names);
    /* the name is free again: a new, empty index without settings */
    struct seg_field other[] = {TXT("title", "again"), TXT("year", "not checked now")};
    op = upsert("z", other, 2);
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    expect_settings(db, "books", "{}", 0);
    assert_int_equal(tidx_count(db, "books", "river"), 0);
    assert_int_equal(tidx_count(db, "books", "again"), 1);
    idx_close(db);
    db = open_db(dir);
    assert_int_equal(tidx_count(db, "books", "again"), 1);
    assert_int_equal(tidx_count(db, "keep", "river"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Recovery moves a file it cannot place into INDEX/lost+found/ (after a kill -9 in a flush, a
 * segment past the MANIFEST's next number): a drop of that index answered SD_EIO "Is a
 * directory" after its directory was renamed away, so the index was gone but the drop an
 * error, and .dropped-NAME/ stayed, refused again at every start. */
static void test_idx_drop_takes_lost_and_found_with_the_index(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    struct seg_field fs[] = {TXT("title", "river")};
    struct idx_op op = upsert("a", fs, 1);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    idx_close(db);
    char path[512];
    snprintf(path, sizeof path, "%s/books", dir);
    write_file(path, "seg-000099.seg", "a flush cut short");
    snprintf(path, sizeof path, "%s/.dropped-old", dir); /* a drop cut by a crash, the same */
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/.dropped-old/lost+found", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(path, "seg-000007.seg", "x");
    db = open_db(dir);
    assert_false(exists(dir, ".dropped-old"));
    assert_true(exists(dir, "books/lost+found/seg-000099.seg"));
    assert_int_equal(tidx_count(db, "books", "river"), 1);
    assert_int_equal(idx_drop(db, "books", &err), SD_OK);
    assert_false(exists(dir, "books"));
    assert_false(exists(dir, ".dropped-books"));
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    assert_int_equal(idx_drop(db, "books", &err), SD_OK);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Sets or clears the immutable attribute of path (chattr +i: not even root may remove it).
 * False where that cannot be done (not root, a filesystem without it): the test is skipped. */
static bool set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    int flags = 0;
    bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
    ok = ok && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    close(fd);
    return ok;
}

/* A drop that cannot remove what an earlier drop of the name left (.dropped-NAME/ with a file
 * that cannot be removed) used to close the index and forget it first: the drop answered an
 * error, the index vanished from the list and from searches, and its directory stayed, to
 * come back at the next write or start. Now the drop is refused with the index untouched. */
static void test_idx_drop_that_cannot_clear_a_leftover_keeps_the_index(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    char path[512];
    snprintf(path, sizeof path, "%s/.dropped-books", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(path, "stuck", "x");
    snprintf(path, sizeof path, "%s/.dropped-books/stuck", dir);
    if (!set_immutable(path, true)) {
        tidx_remove_tree(dir);
        free(dir);
        skip();
    }
    struct idx_db *db = open_db(dir); /* its cleanup of the leftover fails: logged, retried */
    struct seg_field fs[] = {TXT("title", "river")};
    struct idx_op op = upsert("a", fs, 1);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    int rc = idx_drop(db, "books", &err);
    char **names;
    size_t n;
    assert_int_equal(idx_list(db, &names, &n, &err), SD_OK);
    bool listed = n == 1 && strcmp(names[0], "books") == 0;
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    set_immutable(path, false); /* before anything can fail: the directory must go */
    assert_int_not_equal(rc, SD_OK);
    assert_true(listed);
    assert_int_equal(tidx_count(db, "books", "river"), 1);
    assert_int_equal(idx_drop(db, "books", &err), SD_OK); /* once it can go */
    assert_false(exists(dir, "books"));
    assert_false(exists(dir, ".dropped-books"));
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A file with an index's name in the data directory (a core dump "core" in the service's
 * working directory) stopped the start: "core/SETTINGS: Not a directory". It is left alone:
 * the other indexes open, --check notes it, and a write to that name is refused by name. */
static void test_idx_file_with_an_index_name_is_left_alone(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    write_file(dir, "core", "not an index");
    struct idx_db *db = open_db(dir);
    struct seg_field fs[] = {TXT("title", "river")};
    struct idx_op op = upsert("a", fs, 1);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    assert_int_equal(tidx_write(db, "core", &op, 1, NULL, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "core is there and is not a directory"));
    char **names;
    size_t n;
    assert_int_equal(idx_list(db, &names, &n, &err), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "books");
    free(names[0]);
    free(names);
    idx_close(db);
    db = open_db(dir); /* the start that failed */
    assert_int_equal(tidx_count(db, "books", "river"), 1);
    idx_close(db);
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(idx_check_dir(dir, out, &err), SD_OK); /* searchd --check */
    fclose(out);
    assert_non_null(strstr(report, "core is not a directory: not an index, left alone"));
    assert_true(exists(dir, "core"));
    tidx_remove_tree(dir);
    free(dir);
}

/* A write that creates an index on a full disk: the first log file cannot be written. The
 * error said "MANIFEST is missing and the log cannot stand in for it", words for a damaged
 * directory, about a new one on a full disk. A file size limit stands in for the full disk
 * (EFBIG is a full disk to searchd, as in tests/e2e/test_faults.py). */
static void test_idx_new_index_on_a_full_disk_is_not_called_damaged(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    struct seg_field fs[] = {TXT("title", "river")};
    struct idx_op op = upsert("a", fs, 1);
    struct sd_error err;
    struct rlimit old, tiny;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    tiny = old;
    tiny.rlim_cur = 16; /* less than a log file's header */
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    int rc = tidx_write(db, "fresh", &op, 1, NULL, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_int_equal(rc, SD_ENOSPC);
    if (strstr(err.msg, "MANIFEST") || !strstr(err.msg, "wal-000001.log")) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(tidx_write(db, "fresh", &op, 1, NULL, &err), SD_OK); /* room again */
    assert_int_equal(tidx_count(db, "fresh", "river"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

struct searcher {
    struct idx_db *db;
    atomic_bool stop;
    atomic_uint_fast64_t ok, gone, failed; /* read by the test's thread meanwhile */
};

static void *search_loop(void *arg)
{
    struct searcher *s = arg;
    while (!atomic_load(&s->stop)) {
        struct idx_search_req req = {.q = "river", .q_len = 5};
        idx_search_params_default(s->db, &req.params);
        struct idx_search_res res;
        struct sd_error err;
        int rc = idx_search(s->db, "busy", &req, &res, &err);
        if (rc == SD_OK) {
            atomic_fetch_add(&s->ok, 1);
        } else if (rc == SD_ENOTFOUND) {
            atomic_fetch_add(&s->gone, 1);
        } else {
            atomic_fetch_add(&s->failed, 1); /* cmocka asserts only on the test's thread */
        }
        idx_search_res_free(&res);
    }
    return NULL;
}

static void test_idx_drop_waits_for_searches_in_flight(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    struct seg_field fs[] = {TXT("title", "river"), TXT("body", "a river runs through it")};
    struct idx_op ops[64];
    char ids[64][16];
    for (int i = 0; i < 64; i++) {
        snprintf(ids[i], sizeof ids[i], "d%d", i);
        ops[i] = upsert(ids[i], fs, 2);
    }
    struct sd_error err;
    assert_int_equal(tidx_write(db, "busy", ops, 64, NULL, &err), SD_OK);
    struct searcher s[2] = {{.db = db}, {.db = db}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&t[i], NULL, search_loop, &s[i]);
    }
    while (atomic_load(&s[0].ok) + atomic_load(&s[1].ok) <
           20) { /* both are searching: a condition, not a sleep */
        sched_yield();
    }
    assert_int_equal(idx_drop(db, "busy", &err), SD_OK);
    uint64_t gone = atomic_load(&s[0].gone) + atomic_load(&s[1].gone);
    while (atomic_load(&s[0].gone) + atomic_load(&s[1].gone) < gone + 4) {
        sched_yield();
    }
    for (int i = 0; i < 2; i++) {
        atomic_store(&s[i].stop, true);
        pthread_join(t[i], NULL);
        assert_int_equal(atomic_load(&s[i].failed), 0);
    }
    assert_false(exists(dir, "busy"));
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Doc k of the column test: year 1990 + k % 35, lang "ru"/"en", tags 0..2, at a date. */
static void column_doc(uint32_t k, char *id, char *json_year, char *tags, char *at)
{
    sprintf(id, "c%u", k);
    sprintf(json_year, "%u", 1990 + k % 35);
    strcpy(tags, k % 3 == 0 ? "[]" : k % 3 == 1 ? "[\"poetry\"]" : "[\"prose\",\"drama\"]");
    sprintf(at, "20%02u-03-01", k % 20);
}

/* Every live doc of every segment of the index has the values column_doc gave it; returns
 * how many docs were checked. */
static uint32_t check_columns(struct idx_db *db, const char *index)
{
    struct idx_index *ix;
    struct sd_error err;
    assert_int_equal(idx_db_find(db, index, false, &ix, &err), SD_OK);
    struct idx_snap *snap = idx_snap_acquire(ix);
    uint32_t checked = 0;
    for (size_t i = 0; i < snap->nsegs; i++) {
        const struct seg *s = snap->segs[i].ref->seg;
        const uint64_t *del = snap->segs[i].bits ? snap->segs[i].bits->words : NULL;
        const struct seg_attr *year = seg_attr_find(s, "year", 4);
        const struct seg_attr *lang = seg_attr_find(s, "lang", 4);
        const struct seg_attr *tags = seg_attr_find(s, "tags", 4);
        const struct seg_attr *at = seg_attr_find(s, "at", 2);
        assert_non_null(year);
        assert_non_null(lang);
        assert_non_null(tags);
        assert_non_null(at);
        assert_null(seg_attr_find(s, "title", 5)); /* text is not a column */
        assert_int_equal(seg_attr_type(at), SEG_ATTR_INT);
        for (uint32_t d = 0; d < seg_doc_count(s); d++) {
            if (del && (del[d / 64] >> (d % 64)) & 1) {
                continue;
            }
            const char *id;
            size_t len;
            seg_doc_id(s, d, &id, &len);
            uint32_t k = (uint32_t)strtoul(id + 1, NULL, 10);
            uint64_t first;
            uint32_t count;
            seg_attr_values(year, d, &first, &count);
            assert_int_equal(count, 1);
            assert_int_equal(seg_attr_int(year, first), 1990 + k % 35);
            seg_attr_values(lang, d, &first, &count);
            assert_int_equal(count, 1);
            const char *kw;
            size_t kl;
            seg_attr_keyword(lang, seg_attr_ord(lang, first), &kw, &kl);
            assert_int_equal(kl, 2);
            assert_memory_equal(kw, k % 2 ? "en" : "ru", 2);
            seg_attr_values(tags, d, &first, &count);
            assert_int_equal(count, k % 3);
            seg_attr_values(at, d, &first, &count);
            int64_t ms;
            char want[16];
            sprintf(want, "20%02u-03-01", k % 20);
            assert_true(sch_parse_date(want, strlen(want), &ms));
            assert_int_equal(count, 1);
            assert_true(seg_attr_int(at, first) == ms);
            checked++;
        }
    }
    idx_snap_release(snap);
    idx_index_put(ix);
    return checked;
}

static void test_idx_declared_attributes_become_columns_through_flush_and_replay(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "cols",
                 "{\"fields\":{\"title\":{\"type\":\"text\"},\"year\":{\"type\":"
                 "\"int\"},\"lang\":{\"type\":\"keyword\"},\"tags\":{\"type\":"
                 "\"keyword\"},\"at\":{\"type\":\"date\"}}}");
    enum { N = 300, BATCH = 50 };
    for (uint32_t b = 0; b < N / BATCH; b++) {
        struct idx_op ops[BATCH];
        struct seg_field f[BATCH][5];
        char ids[BATCH][16], years[BATCH][8], tags[BATCH][32], ats[BATCH][16];
        for (uint32_t i = 0; i < BATCH; i++) {
            uint32_t k = b * BATCH + i;
            column_doc(k, ids[i], years[i], tags[i], ats[i]);
            f[i][0] = (struct seg_field){"title", 5, "column river", 12, SEG_TEXT};
            f[i][1] = (struct seg_field){"year", 4, years[i], strlen(years[i]), SEG_RAW};
            f[i][2] = (struct seg_field){"lang", 4, k % 2 ? "en" : "ru", 2, SEG_TEXT};
            f[i][3] = (struct seg_field){"tags", 4, tags[i], strlen(tags[i]), SEG_RAW};
            f[i][4] = (struct seg_field){"at", 2, ats[i], strlen(ats[i]), SEG_TEXT};
            ops[i] = upsert(ids[i], f[i], 5);
        }
        struct sd_error err;
        assert_int_equal(tidx_write(db, "cols", ops, BATCH, NULL, &err), SD_OK);
    }
    struct idx_op del = {.type = IDX_OP_DELETE, .doc = {.id = "c7", .id_len = 2}};
    struct sd_error err;
    assert_int_equal(tidx_write(db, "cols", &del, 1, NULL, &err), SD_OK);
    assert_int_equal(check_columns(db, "cols"), N - 1); /* in-memory segments */
    idx_close(db); /* flushes: in-memory segments merged into a disk segment */
    db = open_db(dir);
    struct idx_stats st;
    assert_int_equal(idx_stats(db, "cols", &st, &err), SD_OK);
    assert_true(st.segments >= 1);
    assert_int_equal(check_columns(db, "cols"), N - 1); /* from the file */
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* ---- re-index after a settings change (reindex.c) ---- */

enum { RX_DOCS = 240 };

/* Docs r0..r{n-1} without settings: every string is text then. */
static void write_plain_docs(struct idx_db *db, const char *index, uint32_t n)
{
    for (uint32_t b = 0; b < n; b += 60) {
        struct idx_op ops[60];
        struct seg_field f[60][4];
        char ids[60][16], years[60][8];
        for (uint32_t i = 0; i < 60; i++) {
            snprintf(ids[i], sizeof ids[i], "r%u", b + i);
            snprintf(years[i], sizeof years[i], "%u", 1990 + (b + i) % 35);
            f[i][0] = (struct seg_field){"title", 5, "river history", 13, SEG_TEXT};
            f[i][1] = (struct seg_field){"note", 4, "undeclared note", 15, SEG_TEXT};
            f[i][2] = (struct seg_field){"year", 4, years[i], strlen(years[i]), SEG_RAW};
            f[i][3] = (struct seg_field){"lang", 4, (b + i) % 2 ? "en" : "ru", 2, SEG_TEXT};
            ops[i] = upsert(ids[i], f[i], 4);
        }
        struct sd_error err;
        assert_int_equal(tidx_write(db, index, ops, 60, NULL, &err), SD_OK);
    }
}

static const char *const rx_schema =
    "{\"fields\":{\"title\":{\"type\":\"text\"},\"year\":{\"type\":"
    "\"int\"},\"lang\":{\"type\":\"keyword\"}}}";

/* Waits (generously: sanitizers, a busy machine) until no old-settings segment is served. */
static void wait_reindexed(struct idx_db *db, const char *index)
{
    for (int i = 0; i < 240 * 20; i++) { /* up to 240 s */
        struct idx_stats st;
        struct sd_error err;
        assert_int_equal(idx_stats(db, index, &st, &err), SD_OK);
        if (!st.reindex_pending) {
            return;
        }
        usleep(50000);
    }
    fail_msg("re-index of %s did not finish", index);
}

/* Every doc r<k> has its year column and lang keyword, in every segment. */
static void check_rx_columns(struct idx_db *db, const char *index, uint32_t want)
{
    struct idx_index *ix;
    assert_int_equal(idx_db_find(db, index, false, &ix, NULL), SD_OK);
    struct idx_snap *snap = idx_snap_acquire(ix);
    uint32_t seen = 0;
    for (size_t i = 0; i < snap->nsegs; i++) {
        const struct seg *s = snap->segs[i].ref->seg;
        const uint64_t *del = snap->segs[i].bits ? snap->segs[i].bits->words : NULL;
        const struct seg_attr *year = seg_attr_find(s, "year", 4);
        const struct seg_attr *lang = seg_attr_find(s, "lang", 4);
        assert_non_null(year);
        assert_non_null(lang);
        assert_int_equal(seg_settings_version(s), 1);
        for (uint32_t d = 0; d < seg_doc_count(s); d++) {
            if (del && (del[d / 64] >> (d % 64)) & 1) {
                continue;
            }
            const char *id;
            size_t len;
            seg_doc_id(s, d, &id, &len);
            uint32_t k = (uint32_t)strtoul(id + 1, NULL, 10);
            uint64_t first;
            uint32_t n;
            seg_attr_values(year, d, &first, &n);
            assert_int_equal(n, 1);
            assert_int_equal(seg_attr_int(year, first), 1990 + k % 35);
            seg_attr_values(lang, d, &first, &n);
            assert_int_equal(n, 1);
            seen++;
        }
    }
    assert_int_equal(seen, want);
    idx_snap_release(snap);
    idx_index_put(ix);
}

struct rx_watch {
    struct idx_db *db;
    atomic_bool stop;
    atomic_uint_fast64_t before, after, torn, lost, rounds;
};

/* Searches while the settings change: every answer is all of the old version or all of the
 * new (the note words match every doc, then none), and no document is ever missing. */
static void *rx_watch_loop(void *arg)
{
    struct rx_watch *w = arg;
    while (!atomic_load(&w->stop)) {
        struct idx_search_req req = {.q = "undeclared", .q_len = 10};
        idx_search_params_default(w->db, &req.params);
        req.params.limit = 0;
        struct idx_search_res res;
        struct sd_error err;
        uint64_t notes = idx_search(w->db, "rx", &req, &res, &err) == SD_OK ? res.total : 1;
        idx_search_res_free(&res);
        req.q = "river";
        req.q_len = 5;
        uint64_t all = idx_search(w->db, "rx", &req, &res, &err) == SD_OK ? res.total : 0;
        idx_search_res_free(&res);
        if (notes == RX_DOCS) {
            atomic_fetch_add(&w->before, 1);
        } else if (notes == 0) {
            atomic_fetch_add(&w->after, 1);
        } else {
            atomic_fetch_add(&w->torn, 1);
        }
        if (all < RX_DOCS) {
            atomic_fetch_add(&w->lost, 1);
        }
        atomic_fetch_add(&w->rounds, 1);
    }
    return NULL;
}

static void test_idx_settings_change_reindexes_in_background_switching_at_once(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    write_plain_docs(db, "rx", RX_DOCS);
    /* no settings: strings are text */
    assert_int_equal(tidx_count(db, "rx", "undeclared"), RX_DOCS);
    struct rx_watch w = {.db = db};
    pthread_t t;
    pthread_create(&t, NULL, rx_watch_loop, &w);
    while (atomic_load(&w.rounds) < 3) {
        sched_yield();
    }
    assert_int_equal(set_settings(db, "rx", rx_schema), 1);
    struct sd_error err;
    /* written after the change: indexed under the new settings at once */
    struct seg_field f[] = {TXT("title", "river new"), TXT("note", "undeclared"),
                            RAW("year", "2009"), TXT("lang", "ru")}; /* r999: 1990 + 999 % 35 */
    struct idx_op op = upsert("r999", f, 4);
    assert_int_equal(tidx_write(db, "rx", &op, 1, NULL, &err), SD_OK);
    assert_int_equal(tidx_count(db, "rx", "new"), 1);
    wait_reindexed(db, "rx");
    uint64_t rounds = atomic_load(&w.rounds);
    while (atomic_load(&w.rounds) < rounds + 3) {
        sched_yield();
    }
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&w.torn), 0); /* the switch is one step */
    assert_int_equal(atomic_load(&w.lost), 0); /* nothing lost meanwhile */
    assert_true(atomic_load(&w.before) > 0);
    assert_true(atomic_load(&w.after) > 0);
    assert_int_equal(tidx_count(db, "rx", "undeclared"), 0);
    assert_int_equal(tidx_count(db, "rx", "river"), RX_DOCS + 1);
    check_rx_columns(db, "rx", RX_DOCS + 1);
    struct seg_stored doc;
    assert_int_equal(idx_get(db, "rx", "r5", 2, &doc, &err), SD_OK);
    assert_int_equal(doc.fields[1].type, SEG_RAW); /* shown as the same JSON string */
    assert_memory_equal(doc.fields[1].value, "\"undeclared note\"", 17);
    seg_stored_free(&doc);
    idx_close(db);
    db = open_db(dir); /* the switch is durable */
    assert_int_equal(tidx_count(db, "rx", "undeclared"), 0);
    check_rx_columns(db, "rx", RX_DOCS + 1);
    /* and back: settings {} index every string as text again */
    assert_int_equal(set_settings(db, "rx", "{}"), 2);
    wait_reindexed(db, "rx");
    assert_int_equal(tidx_count(db, "rx", "undeclared"), RX_DOCS + 1);
    assert_int_equal(tidx_count(db, "rx", "ru"), RX_DOCS / 2 + 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_kill9_during_reindex_resumes_it(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct idx_db *child = open_db(dir);
        write_plain_docs(child, "rx", RX_DOCS);
        idx_close(child); /* on disk, under no settings */
        child = open_db(dir);
        set_settings(child, "rx", rx_schema);
        kill(getpid(), SIGKILL); /* the re-index has just started, or not yet */
        _exit(1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct idx_db *db = open_db(dir);
    expect_settings(db, "rx",
                    "{\"fields\":{\"lang\":{\"type\":\"keyword\"},\"title\":{\"type\":"
                    "\"text\",\"weight\":2},\"year\":{\"type\":\"int\"}}}",
                    1);
    assert_int_equal(tidx_count(db, "rx", "river"), RX_DOCS); /* nothing lost */
    wait_reindexed(db, "rx");
    assert_int_equal(tidx_count(db, "rx", "undeclared"), 0);
    check_rx_columns(db, "rx", RX_DOCS);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Every truncation and every flipped byte of a SETTINGS file: SD_ECORRUPT, never a crash
 * and never settings read from damaged bytes. */
static void test_idx_settings_file_damage_is_always_corrupt(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "books", schema1);
    idx_close(db);
    char idir[512], path[600];
    snprintf(idir, sizeof idir, "%s/books", dir);
    snprintf(path, sizeof path, "%s/SETTINGS", idir);
    uint8_t *good;
    size_t len;
    struct sd_error err;
    assert_int_equal(sd_read_file(path, 1 << 20, &good, &len, &err), SD_OK);
    assert_int_equal(idx_settings_verify(idir, NULL, &err), SD_OK);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(sd_write_file_atomic(idir, "SETTINGS", good, cut, &err), SD_OK);
        assert_int_equal(idx_settings_verify(idir, NULL, &err), SD_ECORRUPT);
    }
    uint8_t *bad = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x41;
        assert_int_equal(sd_write_file_atomic(idir, "SETTINGS", bad, len, &err), SD_OK);
        if (idx_settings_verify(idir, NULL, &err) != SD_ECORRUPT) {
            fail_msg("byte %zu flipped: %s", i, err.msg);
        }
    }
    free(bad);
    free(good);
    tidx_remove_tree(dir);
    free(dir);
}

/* ---- synonyms and stopwords: read by queries only ---- */

static uint64_t index_version(struct idx_db *db, const char *index)
{
    struct idx_index *ix;
    assert_int_equal(idx_db_find(db, index, false, &ix, NULL), SD_OK);
    struct idx_settings *st = idx_settings_acquire(ix);
    uint64_t v = st->index_version;
    idx_settings_release(st);
    idx_index_put(ix);
    return v;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    fclose(out);
}

/* The open of index books is refused (the db opens with books unavailable: every call
 * naming it is SD_EUNAVAIL with the message) and --check fails it, with the same message. */
static void expect_open_refused(const char *dir, const char *why)
{
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = dir;
    struct idx_db *db;
    struct sd_error err;
    assert_int_equal(idx_open(&cfg, &db, &err), SD_OK);
    struct idx_stats st;
    assert_int_equal(idx_stats(db, "books", &st, &err), SD_EUNAVAIL);
    idx_close(db);
    if (!strstr(err.msg, why)) {
        fail_msg("open: %s", err.msg);
    }
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    assert_int_equal(idx_check_dir(dir, out, &err), SD_ECORRUPT); /* searchd --check */
    fclose(out);
    if (!strstr(report, why)) {
        fail_msg("check: %s", report);
    }
}

/* A SETTINGS file lost (a copy of the index without it), or put back from an older copy,
 * opened as "no settings" or as those older ones: writes were no longer checked, and the next
 * change took a version number the segments already carried, so they were never re-indexed
 * for it. Segments record the settings version they were written under: one later than
 * SETTINGS holds refuses the open, and nothing is touched. */
static void test_idx_settings_missing_or_older_than_segments_stop_the_open(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "books", schema1);
    struct seg_field f[] = {TXT("title", "river"), RAW("year", "1999")};
    struct idx_op op = upsert("a", f, 2);
    struct sd_error err;
    assert_int_equal(tidx_write(db, "books", &op, 1, NULL, &err), SD_OK);
    idx_close(db); /* flushed: seg-000001.seg, written under version 1 */
    char path[512], old[512];
    snprintf(path, sizeof path, "%s/books/SETTINGS", dir);
    snprintf(old, sizeof old, "%s/SETTINGS.v1", dir);
    copy_file(path, old);
    assert_int_equal(rename(path, old), 0);
    expect_open_refused(dir, "books/SETTINGS is missing, but seg-000001.seg was written under "
                             "settings version 1");
    assert_false(exists(dir, "books/SETTINGS"));
    assert_int_equal(rename(old, path), 0);
    copy_file(path, old);
    db = open_db(dir);
    set_settings(db, "books", rx_schema); /* version 2: re-indexed, written under it */
    wait_reindexed(db, "books");
    idx_close(db);
    assert_int_equal(rename(old, path), 0);
    expect_open_refused(dir, "books/SETTINGS holds settings version 1, but seg-");
    tidx_remove_tree(dir);
    free(dir);
}

static bool reindex_pending(struct idx_db *db, const char *index)
{
    struct idx_stats st;
    struct sd_error err;
    assert_int_equal(idx_stats(db, index, &st, &err), SD_OK);
    return st.reindex_pending;
}

static const char *const lex_fields =
    "{\"fields\":{\"title\":{\"type\":\"text\"},\"body\":{\"type\":\"text\"}}";
static const char *const lex_words =
    ",\"synonyms\":[{\"synonyms\":[\"ИИ\",\"искусственный интеллект\"]},"
    "{\"root\":\"ноутбук\",\"synonyms\":[\"лэптоп\"]}],\"stopwords\":{\"lists\":[\"en\"]}}";

/* Synonyms, stopwords and weights take effect for the next search, re-index nothing (the index
 * version stays, no segment is stale, through a reopen too), and a change of fields still
 * re-indexes. */
static void test_idx_synonyms_apply_at_query_time_without_reindex(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    char with_fields[256], with_lex[1024];
    snprintf(with_fields, sizeof with_fields, "%s}", lex_fields);
    snprintf(with_lex, sizeof with_lex, "%s%s", lex_fields, lex_words);
    assert_int_equal(set_settings(db, "lex", with_fields), 1);
    struct seg_field f[4][2] = {
        {TXT("title", "ИИ в медицине"), TXT("body", "помогает врачам")},
        {TXT("title", "Обзор"), TXT("body", "системы искусственного интеллекта")},
        {TXT("title", "Покупка"), TXT("body", "новый ноутбук")},
        {TXT("title", "Покупка"), TXT("body", "новый лэптоп")},
    };
    struct idx_op ops[4] = {upsert("ai", f[0], 2), upsert("full", f[1], 2),
                            upsert("nb", f[2], 2), upsert("lap", f[3], 2)};
    struct sd_error err;
    assert_int_equal(tidx_write(db, "lex", ops, 4, NULL, &err), SD_OK);
    idx_close(db); /* the documents reach a disk segment, built under version 1 */
    db = open_db(dir);
    assert_int_equal(tidx_count(db, "lex", "ИИ"), 1);
    assert_int_equal(tidx_count(db, "lex", "the лэптоп"), 0);

    assert_int_equal(set_settings(db, "lex", with_lex), 2);
    assert_int_equal(index_version(db, "lex"), 1);
    assert_false(reindex_pending(db, "lex"));
    assert_int_equal(tidx_count(db, "lex", "ИИ"), 2);
    assert_int_equal(tidx_count(db, "lex", "искусственный интеллект"), 2);
    assert_int_equal(tidx_count(db, "lex", "ноутбук"), 2);
    assert_int_equal(tidx_count(db, "lex", "лэптоп"), 1);
    assert_int_equal(tidx_count(db, "lex", "the лэптоп"), 1);
    char *top = top_id(db, "lex", "ноутбук");
    assert_string_equal(top, "nb"); /* the typed word first */
    free(top);

    /* a refused lexicon changes nothing */
    char bad[512];
    snprintf(bad, sizeof bad, "%s,\"synonyms\":[{\"synonyms\":[\"a\",\"!!!\"]}]}", lex_fields);
    uint64_t v = 0;
    assert_int_equal(idx_set_settings(db, "lex", bad, strlen(bad), IDX_SETTINGS_UPSERT, &v, &err),
                     SD_EINVAL);
    assert_non_null(strstr(err.msg, "synonyms: '!!!' holds no word"));

    idx_close(db);
    db = open_db(dir);
    assert_int_equal(index_version(db, "lex"), 1);
    assert_false(reindex_pending(db, "lex"));
    assert_int_equal(tidx_count(db, "lex", "ИИ"), 2);
    assert_int_equal(tidx_count(db, "lex", "the лэптоп"), 1);

    /* off again: the next search is as typed */
    assert_int_equal(set_settings(db, "lex", with_fields), 3);
    assert_int_equal(index_version(db, "lex"), 1);
    assert_int_equal(tidx_count(db, "lex", "ИИ"), 1);
    /* issue: a weight is read by searches only (settings.c "SEARCH WEIGHTS"), and changing
     * one re-indexed every segment for nothing */
    char reweighted[256];
    snprintf(reweighted, sizeof reweighted,
             "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":3},\"body\":{\"type\":"
             "\"text\"}}}");
    assert_int_equal(set_settings(db, "lex", reweighted), 4);
    assert_int_equal(index_version(db, "lex"), 1);
    assert_false(reindex_pending(db, "lex"));
    /* a change of fields is another way of indexing */
    char retyped[256];
    snprintf(retyped, sizeof retyped,
             "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":3},\"body\":{\"type\":"
             "\"text\"},\"lang\":{\"type\":\"keyword\"}}}");
    assert_int_equal(set_settings(db, "lex", retyped), 5);
    assert_int_equal(index_version(db, "lex"), 5);
    wait_reindexed(db, "lex");
    assert_int_equal(tidx_count(db, "lex", "ИИ"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* DATA.md's Meilisearch map, {"ноутбук": ["лэптоп", "laptop"]}: one one-way entry per key, so
 * the key finds its synonyms and not the reverse; it is stored, read back (get_settings, after a
 * reopen too) and compared as the equal array of one-way entries; a synonym no query could match
 * is refused naming the key, and changes nothing. */
static void test_idx_synonyms_meilisearch_map_is_one_way(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    char map[512], array[512], canon[512];
    snprintf(map, sizeof map, "%s,\"synonyms\":{\" ноутбук\":[\"лэптоп\",\"laptop\"]}}",
             lex_fields);
    snprintf(array, sizeof array,
             "%s,\"synonyms\":[{\"root\":\"ноутбук\",\"synonyms\":[\"laptop\",\"лэптоп\"]}]}",
             lex_fields);
    snprintf(canon, sizeof canon,
             "{\"fields\":{\"body\":{\"type\":\"text\",\"weight\":1},\"title\":{\"type\":\"text\","
             "\"weight\":2}},\"synonyms\":[{\"root\":\"ноутбук\",\"synonyms\":[\"laptop\","
             "\"лэптоп\"]}]}");
    assert_int_equal(set_settings(db, "map", map), 1);
    struct seg_field f[3][2] = {
        {TXT("title", "Покупка"), TXT("body", "новый ноутбук")},
        {TXT("title", "Покупка"), TXT("body", "новый лэптоп")},
        {TXT("title", "Purchase"), TXT("body", "a new laptop")},
    };
    struct idx_op ops[3] = {upsert("nb", f[0], 2), upsert("lap", f[1], 2), upsert("en", f[2], 2)};
    struct sd_error err;
    assert_int_equal(tidx_write(db, "map", ops, 3, NULL, &err), SD_OK);
    expect_settings(db, "map", canon, 1);
    assert_int_equal(set_settings(db, "map", array), 1); /* the same settings: no new version */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(tidx_count(db, "map", "ноутбук"), 3);
        char *top = top_id(db, "map", "ноутбук");
        assert_string_equal(top, "nb"); /* the typed word first */
        free(top);
        assert_int_equal(tidx_count(db, "map", "лэптоп"), 1); /* not the key's document */
        assert_int_equal(tidx_count(db, "map", "laptop"), 1);
        idx_close(db); /* and again from the SETTINGS file */
        db = open_db(dir);
        expect_settings(db, "map", canon, 1);
    }

    /* refused, naming the key, and nothing changes */
    const char *bad[][2] = {
        {"{\"synonyms\":{\"ноутбук\":[\"лэптоп\",\"!!!\"]}}",
         "synonyms['ноутбук']: '!!!' holds no word"},
        {"{\"synonyms\":{\"a\":[\"b c d e f g h i j\"]}}",
         "synonyms['a']: 'b c d e f g h i j' has more than 8 words"},
        {"{\"synonyms\":{\"...\":[\"b\"]}}", "synonyms['...']: '...' holds no word"},
        {"{\"synonyms\":{\"a\":[\"a\"]}}",
         "synonyms['a']: the key 'a' is also one of its synonyms"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 0;
        int rc = idx_set_settings(db, "map", bad[i][0], strlen(bad[i][0]), IDX_SETTINGS_UPSERT, &v,
                                  &err);
        if (rc != SD_EINVAL || !strstr(err.msg, bad[i][1])) {
            fail_msg("%s: rc %d, '%s' (want '%s')", bad[i][0], rc, err.msg, bad[i][1]);
        }
    }
    expect_settings(db, "map", canon, 1);
    assert_int_equal(tidx_count(db, "map", "ноутбук"), 3);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

struct lex_watch {
    struct idx_db *db;
    atomic_bool stop;
    atomic_uint_fast64_t with, without, other, rounds;
};

/* Searches "ИИ" while the synonyms come and go: each answer is of one settings version (2
 * documents with the synonym, 1 without), never a lexicon freed under it (ASan). */
static void *lex_watch_loop(void *arg)
{
    struct lex_watch *w = arg;
    while (!atomic_load(&w->stop)) {
        struct idx_search_req req = {.q = "ИИ", .q_len = strlen("ИИ")};
        idx_search_params_default(w->db, &req.params);
        req.params.limit = 2;
        struct idx_search_res res;
        struct sd_error err;
        uint64_t n = idx_search(w->db, "lex", &req, &res, &err) == SD_OK ? res.total : 0;
        idx_search_res_free(&res);
        atomic_fetch_add(n == 2 ? &w->with : n == 1 ? &w->without : &w->other, 1);
        atomic_fetch_add(&w->rounds, 1);
    }
    return NULL;
}

static void test_idx_synonyms_change_under_searches(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    char with_fields[256], with_lex[1024];
    snprintf(with_fields, sizeof with_fields, "%s}", lex_fields);
    snprintf(with_lex, sizeof with_lex, "%s%s", lex_fields, lex_words);
    struct seg_field f[2][2] = {
        {TXT("title", "ИИ в медицине"), TXT("body", "помогает врачам")},
        {TXT("title", "Обзор"), TXT("body", "системы искусственного интеллекта")},
    };
    struct idx_op ops[2] = {upsert("ai", f[0], 2), upsert("full", f[1], 2)};
    struct sd_error err;
    assert_int_equal(set_settings(db, "lex", with_fields), 1); /* the documents' version */
    assert_int_equal(tidx_write(db, "lex", ops, 2, NULL, &err), SD_OK);
    struct lex_watch w = {.db = db};
    pthread_t t;
    pthread_create(&t, NULL, lex_watch_loop, &w);
    for (int i = 0; i < 40; i++) {
        set_settings(db, "lex", i % 2 ? with_fields : with_lex);
        uint64_t rounds = atomic_load(&w.rounds);
        while (atomic_load(&w.rounds) < rounds + 2) {
            sched_yield();
        }
    }
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&w.other), 0);
    assert_true(atomic_load(&w.with) > 0 && atomic_load(&w.without) > 0);
    assert_false(reindex_pending(db, "lex"));
    assert_int_equal(index_version(db, "lex"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A SETTINGS file of format 1 (before the index version) still opens, its index version being
 * its settings version. */
static void test_idx_settings_format1_still_reads(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "old", schema1);
    set_settings(db, "old", "{\"fields\":{\"title\":{\"type\":\"text\"}}}");
    idx_close(db);
    const char *json = "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":2}}}";
    size_t jlen = strlen(json);
    uint8_t buf[256];
    memcpy(buf, "SDST", 4);
    sd_put_le16(buf + 4, 1);
    sd_put_le16(buf + 6, 0);
    sd_put_le64(buf + 8, 2);
    sd_put_le32(buf + 16, (uint32_t)jlen);
    memcpy(buf + 20, json, jlen);
    sd_put_le64(buf + 20 + jlen, sd_hash64(buf, 20 + jlen));
    char idir[512];
    snprintf(idir, sizeof idir, "%s/old", dir);
    struct sd_error err;
    assert_int_equal(sd_write_file_atomic(idir, "SETTINGS", buf, 28 + jlen, &err), SD_OK);
    db = open_db(dir);
    expect_settings(db, "old", json, 2);
    assert_int_equal(index_version(db, "old"), 2);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Writes index's SETTINGS file of format 2 by hand, holding json as settings and index version
 * 2 (what an earlier searchd left, which set_settings would no longer write), and checks that
 * searchd --check passes on the data directory. */
static void write_settings_v2(const char *dir, const char *index, const char *json)
{
    size_t jlen = strlen(json);
    uint8_t buf[256];
    assert_true(36 + jlen <= sizeof buf);
    memcpy(buf, "SDST", 4);
    sd_put_le16(buf + 4, 2);
    sd_put_le16(buf + 6, 0);
    sd_put_le64(buf + 8, 2);
    sd_put_le32(buf + 16, (uint32_t)jlen);
    sd_put_le64(buf + 20, 2);
    memcpy(buf + 28, json, jlen);
    sd_put_le64(buf + 28 + jlen, sd_hash64(buf, 28 + jlen));
    char idir[512];
    snprintf(idir, sizeof idir, "%s/%s", dir, index);
    struct sd_error err;
    assert_int_equal(sd_write_file_atomic(idir, "SETTINGS", buf, 36 + jlen, &err), SD_OK);
    char report[4096] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    int rc = idx_check_dir(dir, out, &err); /* searchd --check */
    fclose(out);
    if (rc != SD_OK) {
        fail_msg("check: %s", report);
    }
}

/* Issue: set_settings took a weight that is 0 as a float (1e-50) and wrote "weight":0 to
 * SETTINGS, whose reader refused it: searchd no longer started. Such a file, as that bug left
 * it, opens with the weight 0 it was searched with (the field scores nothing), and the next
 * change replaces it. */
static void test_issue_idx_settings_weight_0_written_before_opens(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "w0", "{\"fields\":{\"title\":{\"type\":\"text\"}}}");
    idx_close(db);
    const char *json = "{\"fields\":{\"body\":{\"type\":\"text\",\"weight\":1},\"title\":{\"type\":"
                       "\"text\",\"weight\":0}}}";
    write_settings_v2(dir, "w0", json);
    struct sd_error err;
    db = open_db(dir);
    expect_settings(db, "w0", json, 2);
    uint64_t v = 0;
    const char *zero = "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":0}}}";
    assert_int_equal(idx_set_settings(db, "w0", zero, strlen(zero), IDX_SETTINGS_UPSERT, &v, &err),
                     SD_EINVAL); /* a request still may not set it */
    assert_int_equal(set_settings(db, "w0", "{\"fields\":{\"title\":{\"type\":\"text\"}}}"), 3);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* Issue: settings took field names no filter can write ("a b"); they are refused now, and an
 * index whose SETTINGS file holds one (written before) still opens, takes writes checked
 * against that field, and passes --check: its data is never locked out. A request cannot set
 * the name again, naming the field. */
static void test_issue_idx_settings_unwritable_name_written_before_opens(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "nm", "{\"fields\":{\"title\":{\"type\":\"text\"}}}");
    uint64_t v = 0;
    struct sd_error err;
    const char *bad = "{\"fields\":{\"a b\":{\"type\":\"int\"}}}";
    assert_int_equal(idx_set_settings(db, "nm", bad, strlen(bad), IDX_SETTINGS_UPSERT, &v, &err),
                     SD_EINVAL);
    assert_non_null(strstr(err.msg, "field 'a b': a filter or a sort could not name it"));
    idx_close(db);
    const char *json = "{\"fields\":{\"a b\":{\"type\":\"int\"},\"title\":{\"type\":\"text\","
                       "\"weight\":2}}}";
    write_settings_v2(dir, "nm", json);
    db = open_db(dir);
    expect_settings(db, "nm", json, 2);
    struct seg_field ok[] = {TXT("title", "spring"), RAW("a b", "2012")};
    struct seg_field wrong[] = {TXT("title", "spring"), RAW("a b", "\"x\"")};
    struct idx_op ops[] = {upsert("d1", ok, 2)};
    assert_int_equal(tidx_write(db, "nm", ops, 1, NULL, &err), SD_OK);
    ops[0] = upsert("d2", wrong, 2);
    assert_int_equal(tidx_write(db, "nm", ops, 1, NULL, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "document 'd2': field 'a b': expected int"));
    assert_int_equal(tidx_count(db, "nm", "spring"), 1);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static uint64_t update_settings(struct idx_db *db, const char *index, const char *patch)
{
    uint64_t v = 0;
    struct sd_error err;
    if (idx_update_settings(db, index, patch, strlen(patch), &v, &err)) {
        fail_msg("update_settings %s: %s", patch, err.msg);
    }
    return v;
}

struct updater {
    struct idx_db *db;
    int first;
    int rc;
};

/* Adds fields f<first>, f<first+2>, ... one update each. */
static void *update_fields(void *arg)
{
    struct updater *u = arg;
    for (int i = u->first; i < 40 && u->rc == SD_OK; i += 2) {
        char patch[96];
        snprintf(patch, sizeof patch, "{\"fields\":{\"f%02d\":{\"type\":\"int\"}}}", i);
        uint64_t v;
        struct sd_error err;
        u->rc = idx_update_settings(u->db, "up", patch, strlen(patch), &v, &err);
    }
    return NULL;
}

/* idx_update_settings changes what its patch names and keeps the rest (set_settings replaces
 * whole); null removes; the result is checked as settings are; a new index is made from the
 * patch; two updaters racing never lose one another's change. */
static void test_idx_update_settings_merges_into_the_settings_in_force(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    assert_int_equal(set_settings(db, "books", schema1), 1);
    assert_int_equal(update_settings(db, "books", "{\"typo\":false}"), 2);
    char want[1024];
    snprintf(want, sizeof want, "%.*s,\"typo\":false}", (int)strlen(canon1) - 1, canon1);
    expect_settings(db, "books", want, 2);
    assert_int_equal(update_settings(db, "books", "{\"typo\":false}"), 2); /* the same: no change */
    assert_int_equal(update_settings(db, "books",
                                     "{\"fields\":{\"at\":null,\"tags\":null,\"lang\":null,"
                                     "\"title\":{\"weight\":3}},\"typo\":null}"),
                     3);
    expect_settings(db, "books",
                    "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":3},\"year\":{\"type\":"
                    "\"int\"}}}",
                    3);
    uint64_t v = 0;
    struct sd_error err;
    const char *bad = "{\"fields\":{\"year\":{\"type\":\"integer\"}}}";
    assert_int_equal(idx_update_settings(db, "books", bad, strlen(bad), &v, &err), SD_EINVAL);
    assert_non_null(strstr(err.msg, "field 'year': unknown type 'integer'"));
    const char *arr = "[1]";
    assert_int_equal(idx_update_settings(db, "books", arr, strlen(arr), &v, &err), SD_EINVAL);
    expect_settings(db, "books",
                    "{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":3},\"year\":{\"type\":"
                    "\"int\"}}}",
                    3);
    /* a new index: the patch against no settings */
    assert_int_equal(
        update_settings(db, "fresh", "{\"fields\":{\"y\":{\"type\":\"int\"},\"z\":null}}"), 1);
    expect_settings(db, "fresh", "{\"fields\":{\"y\":{\"type\":\"int\"}}}", 1);
    /* racing updaters: every field of both is there, one version per change */
    assert_int_equal(set_settings(db, "up", "{\"fields\":{}}"), 1);
    struct updater a = {db, 0, SD_OK}, b = {db, 1, SD_OK};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, update_fields, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, update_fields, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, SD_OK);
    assert_int_equal(b.rc, SD_OK);
    char *got;
    size_t len;
    uint64_t version;
    assert_int_equal(idx_get_settings(db, "up", &got, &len, &version, &err), SD_OK);
    assert_int_equal(version, 41);
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "\"f%02d\"", i);
        assert_non_null(strstr(got, name));
    }
    free(got);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* ---- creation is atomic (issue: two create_index both answered version 1, a write racing
 * a create_index was stored unchecked, get_settings saw version 0) ---- */

#define RACE_ROUNDS 100

static const char *const race_int = "{\"fields\":{\"year\":{\"type\":\"int\"}}}";
static const char *const race_kw = "{\"fields\":{\"lang\":{\"type\":\"keyword\"}}}";

/* One contender of a round: what it does is decided by its fields, what it got is kept for
 * the test's thread to check (cmocka asserts only there). */
struct racer {
    struct idx_db *db;
    const char *index;
    pthread_barrier_t *start;
    const char *settings; /* create_index with these; NULL: see is_write, is_reader */
    bool is_write;        /* upsert a document whose year is no int */
    bool is_reader;       /* get_settings until the index is there */
    bool is_second;       /* starts once the other's creation runs (or is done) */
    int rc;
    uint64_t version;
    char msg[256];
    char *json; /* the reader's: the settings it saw (owned) */
    int reads;  /* the reader's: get_settings calls that found no index */
};

/* Whether a creation runs in db (its name reserved, not an index yet: the window the defect
 * lived in) or index is there. Looks at the engine's registry as db.c keeps it. */
static bool name_taken(struct idx_db *db, const char *index)
{
    pthread_mutex_lock(&db->lock);
    bool is_creating = db->creating != NULL;
    pthread_mutex_unlock(&db->lock);
    struct idx_index *ix;
    if (is_creating || idx_db_find(db, index, false, &ix, NULL) != SD_OK) {
        return is_creating;
    }
    idx_index_put(ix);
    return true;
}

static void *race_run(void *arg)
{
    struct racer *r = arg;
    struct sd_error err = {0};
    pthread_barrier_wait(r->start);
    /* a deadline for a hang only: the other racer creates the name within milliseconds */
    for (time_t until = time(NULL) + 120;
         r->is_second && !name_taken(r->db, r->index) && time(NULL) < until;) {
        sched_yield();
    }
    if (r->settings) {
        r->rc = idx_set_settings(r->db, r->index, r->settings, strlen(r->settings),
                                 IDX_SETTINGS_CREATE, &r->version, &err);
    } else if (r->is_write) {
        struct seg_field f[] = {TXT("title", "hello"), TXT("year", "notanint")};
        struct idx_op op = upsert("x", f, 2);
        r->rc = tidx_write(r->db, r->index, &op, 1, NULL, &err);
    } else {
        size_t len;
        /* until the index is there: every answer before is "no such index", none half made */
        while ((r->rc = idx_get_settings(r->db, r->index, &r->json, &len, &r->version, &err)) ==
               SD_ENOTFOUND) {
            r->reads++;
            sched_yield();
        }
    }
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    return NULL;
}

/* Runs racers[0, n) at once and waits for all of them. */
static void race(struct racer *racers, size_t n)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    pthread_t t[4];
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        racers[i].start = &start;
        assert_int_equal(pthread_create(&t[i], NULL, race_run, &racers[i]), 0);
    }
    for (size_t i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&start);
}

static void drop(struct idx_db *db, const char *index)
{
    struct sd_error err;
    if (idx_drop(db, index, &err) != SD_OK) {
        fail_msg("drop %s: %s", index, err.msg);
    }
}

static void test_idx_create_races_create_exactly_one_wins(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    const char *canon[2];
    char *json;
    size_t len;
    uint64_t v;
    struct sd_error err;
    /* the canonical forms, from an index made for that */
    set_settings(db, "canon", race_int);
    assert_int_equal(idx_get_settings(db, "canon", &json, &len, &v, &err), SD_OK);
    canon[0] = json;
    set_settings(db, "canon", race_kw);
    assert_int_equal(idx_get_settings(db, "canon", &json, &len, &v, &err), SD_OK);
    canon[1] = json;
    int reader_waited = 0;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        char name[32];
        snprintf(name, sizeof name, "race%d", round);
        /* odd rounds: the second create_index comes while the first one runs */
        struct racer r[3] = {{.db = db, .index = name, .settings = race_int},
                             {.db = db, .index = name, .settings = race_kw, .is_second = round & 1},
                             {.db = db, .index = name, .is_reader = true}};
        race(r, 3);
        int wins = (r[0].rc == SD_OK) + (r[1].rc == SD_OK);
        if (wins != 1) {
            fail_msg("round %d: %d creations won (rc %d '%s', rc %d '%s')", round, wins, r[0].rc,
                     r[0].msg, r[1].rc, r[1].msg);
        }
        int w = r[0].rc == SD_OK ? 0 : 1;
        assert_true(w == 0 || !r[1].is_second);
        assert_int_equal(r[w].version, 1);
        assert_int_equal(r[1 - w].rc, SD_EEXIST);
        if (!strstr(r[1 - w].msg, "exists")) {
            fail_msg("round %d: the loser says '%s'", round, r[1 - w].msg);
        }
        /* the reader saw the index only whole: the winner's settings, version 1 */
        assert_int_equal(r[2].rc, SD_OK);
        assert_int_equal(r[2].version, 1);
        assert_string_equal(r[2].json, canon[w]);
        reader_waited += r[2].reads > 0;
        free(r[2].json);
        expect_settings(db, name, canon[w], 1);
        drop(db, name);
    }
    print_message("reader found no index first in %d of %d rounds\n", reader_waited, RACE_ROUNDS);
    free((char *)canon[0]);
    free((char *)canon[1]);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

static void test_idx_create_races_write_breaking_its_settings(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    int write_first = 0;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        char name[32];
        snprintf(name, sizeof name, "rw%d", round);
        /* rounds 3k: a free race; 3k+1: the write comes while the create_index runs (it must
         * be checked against its settings); 3k+2: the create_index comes while the write
         * creates the index (it must find it there) */
        struct racer r[2] = {{.db = db, .index = name, .settings = race_int},
                             {.db = db, .index = name, .is_write = true}};
        r[round % 3 == 1].is_second = round % 3 != 0;
        race(r, 2);
        if (round % 3 == 1 && r[0].rc != SD_OK) {
            fail_msg("round %d: the write came during the creation, which got rc %d '%s'", round,
                     r[0].rc, r[0].msg);
        }
        if (round % 3 == 2 && r[0].rc == SD_OK) {
            fail_msg("round %d: the create_index came during the write's creation and won", round);
        }
        struct sd_error err;
        struct seg_stored doc;
        int got = idx_get(db, name, "x", 1, &doc, &err);
        seg_stored_free(&doc);
        if (r[0].rc == SD_OK) {
            /* the creation came first: the write was checked against its settings */
            if (r[1].rc != SD_EINVAL || !strstr(r[1].msg, "field 'year': expected int")) {
                fail_msg("round %d: created, and the write got rc %d '%s'", round, r[1].rc,
                         r[1].msg);
            }
            assert_int_equal(got, SD_ENOTFOUND);
            expect_settings(db, name, race_int, 1);
        } else {
            /* the write came first and made the index without settings */
            if (r[0].rc != SD_EEXIST || r[1].rc != SD_OK) {
                fail_msg("round %d: create rc %d '%s', write rc %d '%s'", round, r[0].rc, r[0].msg,
                         r[1].rc, r[1].msg);
            }
            assert_int_equal(got, SD_OK);
            expect_settings(db, name, "{}", 0);
            write_first++;
        }
        drop(db, name);
    }
    print_message("the write came first in %d of %d rounds\n", write_first, RACE_ROUNDS);
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

/* A crash during a creation: before the rename only DATA/.creating-NAME is there, which is
 * no index and goes at the next start; after it, NAME opens whole with its settings. */
static void test_idx_create_cut_by_crash_leaves_none_or_whole(void **state)
{
    (void)state;
    char *dir = tidx_make_dir("/tmp");
    struct idx_db *db = open_db(dir);
    set_settings(db, "whole", race_int);
    idx_close(db);
    char path[512], from[512];
    snprintf(path, sizeof path, "%s/.creating-cut", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(from, sizeof from, "%s/whole/SETTINGS", dir);
    snprintf(path, sizeof path, "%s/.creating-cut/SETTINGS", dir);
    assert_int_equal(link(from, path), 0);
    snprintf(path, sizeof path, "%s/.creating-cut/SETTINGS.tmp", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    /* after the rename, before the index opened: SETTINGS and nothing else */
    snprintf(path, sizeof path, "%s/renamed", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/renamed/SETTINGS", dir);
    assert_int_equal(link(from, path), 0);
    db = open_db(dir);
    assert_false(exists(dir, ".creating-cut"));
    char *json;
    size_t len;
    uint64_t v;
    struct sd_error err;
    assert_int_equal(idx_get_settings(db, "cut", &json, &len, &v, &err), SD_ENOTFOUND);
    expect_settings(db, "renamed", race_int, 1);
    expect_settings(db, "whole", race_int, 1);
    assert_false(exists(dir, ".creating-whole"));
    assert_int_equal(
        idx_set_settings(db, "cut", race_int, strlen(race_int), IDX_SETTINGS_CREATE, &v, &err),
        SD_OK);
    assert_true(exists(dir, "cut/SETTINGS"));
    assert_false(exists(dir, ".creating-cut"));
    idx_close(db);
    tidx_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_settings_versions_survive_reopen),
        cmocka_unit_test(test_idx_wrong_typed_value_refuses_whole_batch),
        cmocka_unit_test(test_idx_declared_text_fields_decide_indexing),
        cmocka_unit_test(test_idx_declared_text_array_is_searchable_and_stored_as_given),
        cmocka_unit_test(test_idx_declared_weights_drive_ranking),
        cmocka_unit_test(test_idx_damaged_settings_make_the_index_unavailable),
        cmocka_unit_test(test_idx_settings_file_damage_is_always_corrupt),
        cmocka_unit_test(test_idx_synonyms_apply_at_query_time_without_reindex),
        cmocka_unit_test(test_idx_synonyms_change_under_searches),
        cmocka_unit_test(test_idx_synonyms_meilisearch_map_is_one_way),
        cmocka_unit_test(test_idx_settings_format1_still_reads),
        cmocka_unit_test(test_issue_idx_settings_weight_0_written_before_opens),
        cmocka_unit_test(test_issue_idx_settings_unwritable_name_written_before_opens),
        cmocka_unit_test(test_idx_update_settings_merges_into_the_settings_in_force),
        cmocka_unit_test(test_idx_settings_and_typed_check_survive_kill9),
        cmocka_unit_test(test_idx_settings_missing_or_older_than_segments_stop_the_open),
        cmocka_unit_test(test_idx_drop_removes_one_directory_only),
        cmocka_unit_test(test_idx_drop_takes_lost_and_found_with_the_index),
        cmocka_unit_test(test_idx_drop_that_cannot_clear_a_leftover_keeps_the_index),
        cmocka_unit_test(test_idx_file_with_an_index_name_is_left_alone),
        cmocka_unit_test(test_idx_new_index_on_a_full_disk_is_not_called_damaged),
        cmocka_unit_test(test_idx_drop_waits_for_searches_in_flight),
        cmocka_unit_test(test_idx_declared_attributes_become_columns_through_flush_and_replay),
        cmocka_unit_test(test_idx_settings_change_reindexes_in_background_switching_at_once),
        cmocka_unit_test(test_idx_kill9_during_reindex_resumes_it),
        cmocka_unit_test(test_idx_create_races_create_exactly_one_wins),
        cmocka_unit_test(test_idx_create_races_write_breaking_its_settings),
        cmocka_unit_test(test_idx_create_cut_by_crash_leaves_none_or_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
