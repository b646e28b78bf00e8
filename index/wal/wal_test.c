/*
 * wal_test.c: the write-ahead log: append, group commit, replay, torn tails
 * cut at every offset and garbled at every byte, corruption in the middle,
 * checkpoints, rotation, limits, rollback, and a disk that fills up
 * (RLIMIT_FSIZE makes writes fail with EFBIG, no root needed).
 */
#include "wal_test_util.h"

#include <signal.h>
#include <sys/resource.h>

/* ---- a replay callback that keeps copies of the records ---- */

struct rec_copy {
    uint64_t seq;
    uint8_t type;
    char payload[64];
    size_t len;
};

struct collected {
    struct rec_copy recs[256];
    size_t count;
    uint64_t fail_at; /* return SD_EIO at this seq (0: never) */
};

static int collect(void *arg, const struct wal_record *rec, struct sd_error *err)
{
    struct collected *c = arg;
    if (rec->seq == c->fail_at) {
        return sd_errorf(err, SD_EIO, "callback refuses seq %llu", (unsigned long long)rec->seq);
    }
    assert_true(c->count < 256);
    assert_true(rec->len <= sizeof c->recs[0].payload);
    struct rec_copy *r = &c->recs[c->count++];
    r->seq = rec->seq;
    r->type = rec->type;
    r->len = rec->len;
    memcpy(r->payload, rec->payload, rec->len);
    return SD_OK;
}

/* The payload of record seq as the tests write it: varying lengths, 0 too. */
static size_t payload_of(uint64_t seq, char *buf)
{
    size_t len = (size_t)(seq * 7 % 41);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (char)('a' + (seq + i) % 26);
    }
    return len;
}

static void append_records(struct wal *w, uint64_t count)
{
    struct sd_error err;
    for (uint64_t i = 0; i < count; i++) {
        char buf[64];
        uint64_t seq, want = wal_last_seq(w) + 1;
        size_t len = payload_of(want, buf);
        assert_int_equal(wal_append(w, (uint8_t)(want % 3), buf, len, &seq, &err), SD_OK);
        assert_int_equal(seq, want);
    }
}

/* Checks that c holds records first..last as append_records() wrote them. */
static void assert_records(const struct collected *c, uint64_t first, uint64_t last)
{
    assert_int_equal(c->count, last - first + 1);
    for (size_t i = 0; i < c->count; i++) {
        char buf[64];
        uint64_t seq = first + i;
        size_t len = payload_of(seq, buf);
        assert_int_equal(c->recs[i].seq, seq);
        assert_int_equal(c->recs[i].type, seq % 3);
        assert_int_equal(c->recs[i].len, len);
        assert_memory_equal(c->recs[i].payload, buf, len);
    }
}

/* Creates a log in dir holding records 1..count, synced and closed. */
static void make_log(const char *dir, uint64_t count)
{
    struct sd_error err;
    struct wal *w;
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    append_records(w, count);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
}

/* Reopens dir from seq 0; returns wal_open's status, records in *c. */
static int reopen(const char *dir, struct collected *c, struct wal_open_info *info,
                  struct sd_error *err)
{
    struct wal *w = NULL;
    memset(c, 0, sizeof *c);
    int rc = wal_open(dir, 0, collect, c, &w, info, err);
    wal_close(w);
    return rc;
}

/* Offset of record seq in wal-000001.log written by make_log(). */
static size_t record_offset(uint64_t seq)
{
    size_t off = 32;
    char buf[64];
    for (uint64_t s = 1; s < seq; s++) {
        off += 21 + payload_of(s, buf);
    }
    return off;
}

/* ---- tests ---- */

static void test_wal_replay_after_reopen_returns_every_record(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct wal_open_info info;
    struct sd_error err;
    struct wal *w;
    make_log(dir, 200);
    assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
    assert_records(&c, 1, 200);
    assert_int_equal(info.last_seq, 200);
    assert_int_equal(info.replayed, 200);
    assert_int_equal(info.torn_bytes, 0);
    /* appends continue after the replayed records */
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    assert_int_equal(wal_last_seq(w), 200);
    assert_int_equal(wal_synced_seq(w), 200);
    assert_int_equal(wal_bytes(w), tu_size(dir, "wal-000001.log"));
    append_records(w, 5);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_OK);
    assert_records(&c, 1, 205);
}

static void test_wal_open_empty_dir_creates_first_file(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct wal_open_info info;
    struct sd_error err;
    assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
    assert_true(tu_exists(dir, "wal-000001.log"));
    assert_int_equal(tu_size(dir, "wal-000001.log"), 32);
    assert_int_equal(info.last_seq, 0);
    assert_int_equal(c.count, 0);
    assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
    assert_int_equal(c.count, 0);
}

/* Every cut inside the last record is a torn tail: dropped, file repaired.
 * Without wal.synced (removed here) nothing says the record was acknowledged:
 * this is what a crash during its sync leaves. */
static void test_wal_replay_torn_tail_is_dropped(void **state)
{
    const char *dir = *state;
    size_t len;
    make_log(dir, 8);
    uint8_t *orig = tu_read(dir, "wal-000001.log", &len);
    size_t last = record_offset(8);
    assert_true(last < len);
    for (size_t cut = last + 1; cut < len; cut++) {
        struct collected c;
        struct wal_open_info info;
        struct sd_error err;
        struct wal *w;
        tu_write(dir, "wal-000001.log", orig, cut);
        tu_unlink(dir, WAL_SYNCED_NAME);
        memset(&c, 0, sizeof c);
        assert_int_equal(wal_open(dir, 0, collect, &c, &w, &info, &err), SD_OK);
        assert_records(&c, 1, 7);
        assert_int_equal(info.torn_bytes, cut - last);
        assert_int_equal(info.torn_offset, last);
        assert_int_equal(info.torn_file, 1);
        assert_int_equal(tu_size(dir, "wal-000001.log"), last);
        append_records(w, 2); /* seqs 8 and 9 again, on a clean end */
        assert_int_equal(wal_sync(w, &err), SD_OK);
        wal_close(w);
        assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
        assert_records(&c, 1, 9);
        assert_int_equal(info.torn_bytes, 0);
    }
    free(orig);
}

static void test_wal_replay_flipped_byte_in_last_record_is_dropped(void **state)
{
    const char *dir = *state;
    size_t len;
    make_log(dir, 8);
    uint8_t *orig = tu_read(dir, "wal-000001.log", &len);
    size_t last = record_offset(8);
    for (size_t i = last; i < len; i++) {
        struct collected c;
        struct wal_open_info info;
        struct sd_error err;
        orig[i] ^= 0x40;
        tu_write(dir, "wal-000001.log", orig, len);
        orig[i] ^= 0x40;
        tu_unlink(dir, WAL_SYNCED_NAME); /* see test_wal_replay_torn_tail_is_dropped */
        assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
        assert_records(&c, 1, 7);
        assert_int_equal(info.torn_bytes, len - last);
        assert_int_equal(tu_size(dir, "wal-000001.log"), last);
    }
    free(orig);
}

/* A crash after the size grew but before the data: zeros at the end. */
static void test_wal_replay_zero_filled_tail_is_dropped(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct wal_open_info info;
    struct sd_error err;
    size_t len;
    make_log(dir, 5);
    uint8_t *orig = tu_read(dir, "wal-000001.log", &len);
    uint8_t *grown = calloc(len + 4096, 1);
    assert_non_null(grown);
    memcpy(grown, orig, len);
    tu_write(dir, "wal-000001.log", grown, len + 4096);
    assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
    assert_records(&c, 1, 5);
    assert_int_equal(info.torn_bytes, 4096);
    assert_int_equal(tu_size(dir, "wal-000001.log"), len);
    free(grown);
    free(orig);
}

/* Whatever byte is damaged, replay answers an error or a prefix of what was
 * written: never a crash, never a record that differs from the original. */
static void test_wal_replay_any_flipped_byte_gives_prefix_or_corrupt(void **state)
{
    const char *dir = *state;
    size_t len;
    make_log(dir, 8);
    uint8_t *orig = tu_read(dir, "wal-000001.log", &len);
    for (size_t i = 0; i < len; i++) {
        struct collected c;
        struct sd_error err;
        orig[i] ^= 0x80;
        tu_write(dir, "wal-000001.log", orig, len);
        orig[i] ^= 0x80;
        int rc = reopen(dir, &c, NULL, &err);
        assert_true(rc == SD_OK || rc == SD_ECORRUPT);
        if (rc == SD_OK) {
            assert_true(c.count == 7); /* only the last record may go, as a torn tail */
            assert_records(&c, 1, c.count);
        }
    }
    free(orig);
}

/* A bad record followed by valid ones is damage, not a tear: every byte of
 * record 3 of 8, each refused with the file and offset, nothing truncated. */
static void test_wal_replay_corrupt_middle_returns_corrupt(void **state)
{
    const char *dir = *state;
    size_t len;
    make_log(dir, 8);
    uint8_t *orig = tu_read(dir, "wal-000001.log", &len);
    size_t start = record_offset(3), end = record_offset(4);
    char where[64];
    snprintf(where, sizeof where, "offset %zu", start);
    for (size_t i = start; i < end; i++) {
        struct collected c;
        struct sd_error err;
        orig[i] ^= 0x01;
        tu_write(dir, "wal-000001.log", orig, len);
        orig[i] ^= 0x01;
        assert_int_equal(reopen(dir, &c, NULL, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, "wal-000001.log"));
        assert_non_null(strstr(err.msg, where));
        assert_int_equal(tu_size(dir, "wal-000001.log"), len);
    }
    free(orig);
}

static void test_wal_replay_bad_record_in_older_file_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    struct wal *w;
    uint64_t first;
    size_t len;
    make_log(dir, 4);
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    assert_int_equal(wal_rotate(w, &first, &err), SD_OK);
    assert_int_equal(first, 5);
    wal_close(w);
    uint8_t *data = tu_read(dir, "wal-000001.log", &len);
    data[len - 1] ^= 0xff; /* the last record's checksum, in a file that is not the last */
    tu_write(dir, "wal-000001.log", data, len);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "wal-000001.log"));
    assert_non_null(strstr(err.msg, "not the last"));
    free(data);
}

/* A well-formed record with the wrong seq (a copied block, a bug) is not a
 * tear: its checksum is fine, so it was written whole. */
static void test_wal_replay_record_with_wrong_seq_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    size_t len;
    make_log(dir, 4);
    uint8_t *data = tu_read(dir, "wal-000001.log", &len);
    size_t start = record_offset(2), rec_len = record_offset(3) - start;
    uint8_t *dup = malloc(len + rec_len);
    assert_non_null(dup);
    memcpy(dup, data, len);
    memcpy(dup + len, data + start, rec_len); /* record 2 again after record 4 */
    tu_write(dir, "wal-000001.log", dup, len + rec_len);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "record seq 2, expected 5"));
    free(dup);
    free(data);
}

static void test_wal_replay_from_seq_skips_covered_records(void **state)
{
    const char *dir = *state;
    struct collected c = {0};
    struct wal_open_info info;
    struct sd_error err;
    struct wal *w;
    make_log(dir, 10);
    assert_int_equal(wal_open(dir, 4, collect, &c, &w, &info, &err), SD_OK);
    assert_records(&c, 5, 10);
    assert_int_equal(info.replayed, 6);
    assert_int_equal(info.last_seq, 10);
    wal_close(w);
    memset(&c, 0, sizeof c);
    assert_int_equal(wal_open(dir, 10, collect, &c, &w, &info, &err), SD_OK);
    assert_int_equal(c.count, 0);
    wal_close(w);
}

static void test_wal_open_checkpoint_past_log_end_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct sd_error err;
    struct wal *w = NULL;
    assert_int_equal(wal_open(dir, 3, NULL, NULL, &w, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "no log files"));
    make_log(dir, 10);
    assert_int_equal(wal_open(dir, 11, NULL, NULL, &w, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "before the checkpoint"));
    assert_null(w);
}

static void test_wal_rotate_and_remove_upto_drop_covered_files(void **state)
{
    const char *dir = *state;
    struct collected c = {0};
    struct wal_open_info info;
    struct sd_error err;
    struct wal *w;
    uint64_t first;
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    append_records(w, 3);
    assert_int_equal(wal_rotate(w, &first, &err), SD_OK); /* rotate syncs */
    assert_int_equal(first, 4);
    assert_int_equal(wal_synced_seq(w), 3);
    append_records(w, 3);
    assert_int_equal(wal_rotate(w, &first, &err), SD_OK);
    assert_int_equal(first, 7);
    append_records(w, 2);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    uint64_t total = tu_size(dir, "wal-000001.log") + tu_size(dir, "wal-000002.log") +
                     tu_size(dir, "wal-000003.log");
    assert_int_equal(wal_bytes(w), total);
    assert_int_equal(wal_remove_upto(w, 2, &err), 0); /* file 1 holds seq 3 too */
    assert_int_equal(wal_remove_upto(w, 3, &err), 1);
    assert_false(tu_exists(dir, "wal-000001.log"));
    assert_int_equal(wal_bytes(w), total - record_offset(4)); /* file 1: seqs 1..3 */
    assert_int_equal(wal_remove_upto(w, 5, &err), 0);
    assert_int_equal(wal_remove_upto(w, 100, &err), 1); /* never the current file */
    assert_true(tu_exists(dir, "wal-000003.log"));
    wal_close(w);
    assert_int_equal(wal_open(dir, 6, collect, &c, &w, &info, &err), SD_OK);
    assert_records(&c, 7, 8);
    wal_close(w);
}

static void test_wal_open_removes_files_below_checkpoint(void **state)
{
    const char *dir = *state;
    struct collected c = {0};
    struct wal_open_info info;
    struct sd_error err;
    struct wal *w;
    uint64_t first;
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    for (int i = 0; i < 3; i++) {
        append_records(w, 2);
        assert_int_equal(wal_rotate(w, &first, &err), SD_OK);
    }
    append_records(w, 1); /* files: 1 {1,2} 2 {3,4} 3 {5,6} 4 {7} */
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
    assert_int_equal(wal_open(dir, 4, collect, &c, &w, &info, &err), SD_OK);
    assert_records(&c, 5, 7);
    assert_int_equal(info.removed, 2);
    assert_int_equal(info.files, 2);
    assert_false(tu_exists(dir, "wal-000002.log"));
    assert_true(tu_exists(dir, "wal-000003.log"));
    wal_close(w);
}

static void test_wal_open_missing_middle_file_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    struct wal *w;
    uint64_t first;
    char path[PATH_MAX];
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    for (int i = 0; i < 2; i++) {
        append_records(w, 2);
        assert_int_equal(wal_rotate(w, &first, &err), SD_OK);
    }
    wal_close(w);
    tu_path(path, dir, "wal-000002.log");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "wal-000002.log is missing"));
}

static void test_wal_append_over_limit_returns_limit(void **state)
{
    const char *dir = *state;
    struct sd_error err;
    struct wal *w;
    uint64_t seq = 0;
    uint8_t *big = calloc(WAL_MAX_RECORD + 1, 1);
    assert_non_null(big);
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    assert_int_equal(wal_append(w, 1, big, WAL_MAX_RECORD + 1, &seq, &err), SD_ELIMIT);
    assert_int_equal(wal_last_seq(w), 0);
    big[WAL_MAX_RECORD - 1] = 7; /* exactly the limit is fine */
    assert_int_equal(wal_append(w, 1, big, WAL_MAX_RECORD, &seq, &err), SD_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
    free(big);
    struct wal_open_info info;
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, &info, &err), SD_OK);
    assert_int_equal(info.last_seq, 1);
    wal_close(w);
}

static void test_wal_rollback_discards_unsynced_records(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    struct wal *w;
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    append_records(w, 3);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    uint64_t synced_size = tu_size(dir, "wal-000001.log");
    append_records(w, 2);
    assert_int_equal(wal_rollback(w, &err), SD_OK);
    assert_int_equal(wal_last_seq(w), 3);
    assert_int_equal(tu_size(dir, "wal-000001.log"), synced_size);
    append_records(w, 1); /* seq 4 is given again */
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_OK);
    assert_records(&c, 1, 4);
}

static void test_wal_replay_callback_error_stops_open(void **state)
{
    const char *dir = *state;
    struct collected c = {.fail_at = 3};
    struct sd_error err;
    struct wal *w = NULL;
    make_log(dir, 5);
    assert_int_equal(wal_open(dir, 0, collect, &c, &w, NULL, &err), SD_EIO);
    assert_null(w);
    assert_int_equal(c.count, 2);
    assert_non_null(strstr(err.msg, "refuses seq 3"));
}

static void test_wal_check_reports_torn_tail_without_repair(void **state)
{
    const char *dir = *state;
    struct collected c = {0};
    struct wal_open_info info;
    struct sd_error err;
    size_t len;
    assert_int_equal(wal_check(dir, 0, NULL, NULL, &info, &err), SD_ENOTFOUND);
    make_log(dir, 4);
    uint8_t *data = tu_read(dir, "wal-000001.log", &len);
    tu_write(dir, "wal-000001.log", data, len - 3);
    tu_unlink(dir, WAL_SYNCED_NAME); /* record 4 was never acknowledged */
    assert_int_equal(wal_check(dir, 0, collect, &c, &info, &err), SD_OK);
    assert_records(&c, 1, 3);
    assert_int_equal(info.torn_bytes, len - 3 - record_offset(4));
    assert_int_equal(tu_size(dir, "wal-000001.log"), len - 3);
    free(data);
}

/* Issue 15: a log that lost acknowledged records off its end, cut exactly at a
 * record boundary or damaged in its last record, is corruption naming the
 * file and offset, for wal_check() and wal_open() alike, and nothing is
 * truncated. Records past wal.synced (a crash's unacknowledged tail) are
 * still dropped. */
static void test_issue_15_log_losing_acknowledged_records_is_corrupt(void **state)
{
    const char *dir = *state;
    struct collected c = {0};
    struct wal_open_info info;
    struct sd_error err, err2;
    struct wal *w = NULL;
    size_t len;
    make_log(dir, 8);
    uint8_t *orig = tu_read(dir, "wal-000001.log", &len);
    size_t cuts[] = {record_offset(8), record_offset(5), len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tu_write(dir, "wal-000001.log", orig, cuts[i]);
        assert_int_equal(wal_check(dir, 0, NULL, NULL, &info, &err), SD_ECORRUPT);
        assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, &info, &err2), SD_ECORRUPT);
        assert_string_equal(err.msg, err2.msg);
        assert_non_null(strstr(err.msg, "wal-000001.log: offset "));
        assert_non_null(strstr(err.msg, "seq 8 was acknowledged"));
        assert_int_equal(tu_size(dir, "wal-000001.log"), cuts[i]);
    }
    orig[len - 5] ^= 1; /* the last record's checksum: it looks torn, but it was acknowledged */
    tu_write(dir, "wal-000001.log", orig, len);
    assert_int_equal(reopen(dir, &c, &info, &err), SD_ECORRUPT);
    assert_int_equal(tu_size(dir, "wal-000001.log"), len);
    orig[len - 5] ^= 1;
    /* half of a ninth record that was never synced: a torn tail, dropped */
    uint8_t *longer = malloc(len + 10);
    assert_non_null(longer);
    memcpy(longer, orig, len);
    memcpy(longer + len, orig + record_offset(8), 10);
    tu_write(dir, "wal-000001.log", longer, len + 10);
    assert_int_equal(reopen(dir, &c, &info, &err), SD_OK);
    assert_records(&c, 1, 8);
    assert_int_equal(info.torn_bytes, 10);
    free(longer);
    free(orig);
}

/* Issue 15: every log file gone while wal.synced says records were
 * acknowledged is corruption, not a new empty log. */
static void test_issue_15_all_logs_missing_is_corrupt(void **state)
{
    const char *dir = *state;
    struct wal_open_info info;
    struct sd_error err, err2;
    struct wal *w = NULL;
    make_log(dir, 3);
    tu_unlink(dir, "wal-000001.log");
    assert_int_equal(wal_check(dir, 0, NULL, NULL, &info, &err), SD_ECORRUPT);
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, &info, &err2), SD_ECORRUPT);
    assert_string_equal(err.msg, err2.msg);
    assert_non_null(strstr(err.msg, "no log files"));
    assert_false(tu_exists(dir, "wal-000001.log"));
}

/* Makes writes past limit bytes fail with EFBIG (SIGXFSZ ignored). */
static void limit_file_size(rlim_t limit)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void test_wal_sync_disk_full_keeps_synced_records(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    struct wal *w;
    uint64_t seq;
    static uint8_t big[2 << 20];
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    append_records(w, 10);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    uint64_t synced = tu_size(dir, "wal-000001.log");
    limit_file_size((rlim_t)synced + 100);
    /* a batch that fails at wal_sync(): nothing of it stays */
    append_records(w, 3);
    assert_int_equal(wal_append(w, 1, big, 1000, &seq, &err), SD_OK);
    assert_int_equal(wal_sync(w, &err), SD_ENOSPC);
    assert_non_null(strstr(err.msg, "wal-000001.log"));
    assert_int_equal(wal_synced_seq(w), 10);
    assert_int_equal(wal_last_seq(w), 10);
    assert_int_equal(tu_size(dir, "wal-000001.log"), synced);
    assert_false(wal_is_broken(w));
    /* a record big enough to be written by wal_append() itself */
    assert_int_equal(wal_append(w, 1, big, sizeof big, &seq, &err), SD_ENOSPC);
    assert_int_equal(wal_last_seq(w), 10);
    assert_int_equal(tu_size(dir, "wal-000001.log"), synced);
    limit_file_size(RLIM_INFINITY);
    /* space is back: writes resume with the next seq */
    append_records(w, 2);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_OK);
    assert_records(&c, 1, 12);
}

static void test_wal_rotate_disk_full_keeps_current_file(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    struct wal *w;
    uint64_t first;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    append_records(w, 2);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    limit_file_size(16); /* the new file's 32-byte header cannot be written */
    assert_int_equal(wal_rotate(w, &first, &err), SD_ENOSPC);
    limit_file_size(RLIM_INFINITY);
    signal(SIGXFSZ, SIG_DFL);
    assert_false(tu_exists(dir, "wal-000002.log"));
    append_records(w, 1);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    wal_close(w);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_OK);
    assert_records(&c, 1, 3);
}

static void test_wal_open_bad_header_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct collected c;
    struct sd_error err;
    size_t len;
    make_log(dir, 2);
    uint8_t *data = tu_read(dir, "wal-000001.log", &len);
    for (size_t i = 0; i < 32; i++) {
        data[i] ^= 0x10;
        tu_write(dir, "wal-000001.log", data, len);
        data[i] ^= 0x10;
        assert_int_equal(reopen(dir, &c, NULL, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, "wal-000001.log"));
    }
    tu_write(dir, "wal-000001.log", data, 31);
    assert_int_equal(reopen(dir, &c, NULL, &err), SD_ECORRUPT);
    free(data);
}

/* The engine's fsync histogram reads wal_last_sync_ns after each group commit: a sync that made
 * records durable took time, one with nothing new reports 0 (and is not counted). */
static void test_wal_last_sync_ns_times_only_syncs_with_records(void **state)
{
    const char *dir = *state;
    struct sd_error err;
    struct wal *w;
    assert_int_equal(wal_open(dir, 0, NULL, NULL, &w, NULL, &err), SD_OK);
    assert_int_equal(wal_last_sync_ns(w), 0);
    append_records(w, 2);
    assert_int_equal(wal_sync(w, &err), SD_OK);
    assert_true(wal_last_sync_ns(w) > 0);
    assert_int_equal(wal_sync(w, &err), SD_OK); /* nothing appended since */
    assert_int_equal(wal_last_sync_ns(w), 0);
    wal_close(w);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_dir, tu_teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_wal_replay_after_reopen_returns_every_record),
        DIR_TEST(test_wal_open_empty_dir_creates_first_file),
        DIR_TEST(test_wal_replay_torn_tail_is_dropped),
        DIR_TEST(test_wal_replay_flipped_byte_in_last_record_is_dropped),
        DIR_TEST(test_wal_replay_zero_filled_tail_is_dropped),
        DIR_TEST(test_wal_replay_any_flipped_byte_gives_prefix_or_corrupt),
        DIR_TEST(test_wal_replay_corrupt_middle_returns_corrupt),
        DIR_TEST(test_wal_replay_bad_record_in_older_file_returns_corrupt),
        DIR_TEST(test_wal_replay_record_with_wrong_seq_returns_corrupt),
        DIR_TEST(test_wal_replay_from_seq_skips_covered_records),
        DIR_TEST(test_wal_open_checkpoint_past_log_end_returns_corrupt),
        DIR_TEST(test_wal_rotate_and_remove_upto_drop_covered_files),
        DIR_TEST(test_wal_open_removes_files_below_checkpoint),
        DIR_TEST(test_wal_open_missing_middle_file_returns_corrupt),
        DIR_TEST(test_wal_append_over_limit_returns_limit),
        DIR_TEST(test_wal_rollback_discards_unsynced_records),
        DIR_TEST(test_wal_replay_callback_error_stops_open),
        DIR_TEST(test_wal_check_reports_torn_tail_without_repair),
        DIR_TEST(test_issue_15_log_losing_acknowledged_records_is_corrupt),
        DIR_TEST(test_issue_15_all_logs_missing_is_corrupt),
        DIR_TEST(test_wal_sync_disk_full_keeps_synced_records),
        DIR_TEST(test_wal_rotate_disk_full_keeps_current_file),
        DIR_TEST(test_wal_open_bad_header_returns_corrupt),
        DIR_TEST(test_wal_last_sync_ns_times_only_syncs_with_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
