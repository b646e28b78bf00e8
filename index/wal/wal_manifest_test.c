/*
 * wal_manifest_test.c: the MANIFEST (roundtrip, every truncation and byte
 * flip refused, leftover tmp ignored, bad entries refused), tombstone files,
 * and the garbage collector.
 */
#include "wal_test_util.h"

static const struct wal_seg_entry sample_segs[] = {
    {3, 1000, 0, 0, 0x1122334455667788u, 0},
    {1, 64, 5, 2, 1, 0xfedcba9876543210u},
    {7, 1, 1, 9, 2, 3},
};

static void make_manifest(struct wal_manifest *m)
{
    wal_manifest_init(m);
    m->checkpoint_seq = 4242;
    m->next_seg_no = 8;
    m->count = 3;
    m->segs = malloc(sizeof sample_segs);
    assert_non_null(m->segs);
    memcpy(m->segs, sample_segs, sizeof sample_segs);
}

static void test_wal_manifest_read_missing_returns_not_found(void **state)
{
    struct wal_manifest m;
    struct sd_error err;
    assert_int_equal(wal_manifest_read(*state, &m, &err), SD_ENOTFOUND);
    assert_int_equal(m.count, 0);
    assert_int_equal(m.next_seg_no, 1);
    wal_manifest_free(&m);
}

static void test_wal_manifest_roundtrip_keeps_every_field(void **state)
{
    const char *dir = *state;
    struct wal_manifest m, r;
    struct sd_error err;
    make_manifest(&m);
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    assert_int_equal(m.generation, 1);
    m.checkpoint_seq++;
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    assert_int_equal(m.generation, 2);
    assert_false(tu_exists(dir, "MANIFEST.tmp"));
    assert_int_equal(wal_manifest_read(dir, &r, &err), SD_OK);
    assert_int_equal(r.generation, 2);
    assert_int_equal(r.checkpoint_seq, 4243);
    assert_int_equal(r.next_seg_no, 8);
    assert_int_equal(r.count, 3);
    assert_memory_equal(r.segs, sample_segs, sizeof sample_segs);
    assert_int_equal(tu_size(dir, "MANIFEST"), 40 + 32 * 3);
    wal_manifest_free(&r);
    wal_manifest_free(&m);
    wal_manifest_free(NULL);
}

static void test_wal_manifest_empty_roundtrip(void **state)
{
    const char *dir = *state;
    struct wal_manifest m, r;
    struct sd_error err;
    wal_manifest_init(&m);
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    assert_int_equal(wal_manifest_read(dir, &r, &err), SD_OK);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.generation, 1);
    wal_manifest_free(&r);
}

static void test_wal_manifest_truncated_or_flipped_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct wal_manifest m;
    struct sd_error err;
    size_t len;
    make_manifest(&m);
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    wal_manifest_free(&m);
    uint8_t *data = tu_read(dir, "MANIFEST", &len);
    for (size_t cut = 0; cut < len; cut++) {
        tu_write(dir, "MANIFEST", data, cut);
        assert_int_equal(wal_manifest_read(dir, &m, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, "MANIFEST"));
        wal_manifest_free(&m);
    }
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            data[i] ^= (uint8_t)(1u << bit);
            tu_write(dir, "MANIFEST", data, len);
            data[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(wal_manifest_read(dir, &m, &err), SD_ECORRUPT);
            wal_manifest_free(&m);
        }
    }
    free(data);
}

/* A MANIFEST whose checksum is right but whose content breaks a rule (a
 * buggy writer, a hand edit) is still refused. */
static void test_wal_manifest_bad_entry_with_good_checksum_returns_corrupt(void **state)
{
    const char *dir = *state;
    struct wal_manifest m;
    struct sd_error err;
    size_t len;
    make_manifest(&m);
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    wal_manifest_free(&m);
    uint8_t *data = tu_read(dir, "MANIFEST", &len);
    sd_put_le32(data + 32 + 32, 3); /* entry 1 gets segment 3, already listed */
    sd_put_le64(data + len - 8, sd_hash64(data, len - 8));
    tu_write(dir, "MANIFEST", data, len);
    assert_int_equal(wal_manifest_read(dir, &m, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "listed twice"));
    wal_manifest_free(&m);
    sd_put_le32(data + 28, 1000); /* a count the size cannot hold */
    sd_put_le64(data + len - 8, sd_hash64(data, len - 8));
    tu_write(dir, "MANIFEST", data, len);
    assert_int_equal(wal_manifest_read(dir, &m, &err), SD_ECORRUPT);
    wal_manifest_free(&m);
    free(data);
}

/* A MANIFEST written by the v1 code (16-byte entries, no hashes), built here
 * byte by byte as that code wrote it, still reads: hashes 0 (not checked). */
static void test_wal_manifest_v1_fixture_reads_without_hashes(void **state)
{
    const char *dir = *state;
    struct wal_manifest m;
    struct sd_error err;
    uint8_t v1[40 + 16 * 3];
    memset(v1, 0, sizeof v1);
    memcpy(v1, "SDMF", 4);
    sd_put_le16(v1 + 4, 1);
    sd_put_le64(v1 + 8, 17);   /* generation */
    sd_put_le64(v1 + 16, 999); /* checkpoint */
    sd_put_le32(v1 + 24, 8);   /* next segment number */
    sd_put_le32(v1 + 28, 3);
    for (size_t i = 0; i < 3; i++) {
        sd_put_le32(v1 + 32 + 16 * i, sample_segs[i].seg_no);
        sd_put_le32(v1 + 36 + 16 * i, sample_segs[i].doc_count);
        sd_put_le32(v1 + 40 + 16 * i, sample_segs[i].deleted_count);
        sd_put_le32(v1 + 44 + 16 * i, sample_segs[i].tomb_gen);
    }
    sd_put_le64(v1 + sizeof v1 - 8, sd_hash64(v1, sizeof v1 - 8));
    tu_write(dir, "MANIFEST", v1, sizeof v1);
    assert_int_equal(wal_manifest_read(dir, &m, &err), SD_OK);
    assert_int_equal(m.generation, 17);
    assert_int_equal(m.checkpoint_seq, 999);
    assert_int_equal(m.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(m.segs[i].seg_no, sample_segs[i].seg_no);
        assert_int_equal(m.segs[i].doc_count, sample_segs[i].doc_count);
        assert_int_equal(m.segs[i].deleted_count, sample_segs[i].deleted_count);
        assert_int_equal(m.segs[i].tomb_gen, sample_segs[i].tomb_gen);
        assert_int_equal(m.segs[i].seg_hash, 0);
        assert_int_equal(m.segs[i].tomb_hash, 0);
    }
    /* its next write is v2 */
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    assert_int_equal(tu_size(dir, "MANIFEST"), 40 + 32 * 3);
    wal_manifest_free(&m);
    sd_put_le16(v1 + 4, 3); /* a version from the future is refused by name */
    sd_put_le64(v1 + sizeof v1 - 8, sd_hash64(v1, sizeof v1 - 8));
    tu_write(dir, "MANIFEST", v1, sizeof v1);
    assert_int_equal(wal_manifest_read(dir, &m, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "version 3"));
    wal_manifest_free(&m);
}

static void test_wal_manifest_leftover_tmp_is_ignored(void **state)
{
    const char *dir = *state;
    struct wal_manifest m;
    struct sd_error err;
    make_manifest(&m);
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_OK);
    wal_manifest_free(&m);
    tu_write(dir, "MANIFEST.tmp", "half a manif", 12);
    assert_int_equal(wal_manifest_read(dir, &m, &err), SD_OK);
    assert_int_equal(m.count, 3);
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), 1);
    assert_false(tu_exists(dir, "MANIFEST.tmp"));
    wal_manifest_free(&m);
}

static void test_wal_manifest_write_bad_entry_returns_invalid(void **state)
{
    const char *dir = *state;
    struct wal_manifest m;
    struct sd_error err;
    const struct wal_seg_entry bad[] = {
        {0, 1, 0, 0, 0, 0}, /* segment 0 */
        {8, 1, 0, 0, 0, 0}, /* not below next_seg_no */
        {2, 1, 2, 1, 0, 0}, /* more deleted than docs */
        {2, 5, 1, 0, 0, 0}, /* deletes without a tombstone file */
    };
    make_manifest(&m);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m.segs[1] = bad[i];
        assert_int_equal(wal_manifest_write(dir, &m, &err), SD_EINVAL);
    }
    m.segs[1] = m.segs[0];
    assert_int_equal(wal_manifest_write(dir, &m, &err), SD_EINVAL);
    assert_int_equal(m.generation, 0);
    assert_false(tu_exists(dir, "MANIFEST"));
    wal_manifest_free(&m);
}

/* ---- tombstones ---- */

static void test_wal_tomb_roundtrip_keeps_bits(void **state)
{
    const char *dir = *state;
    const uint32_t sizes[] = {0, 1, 63, 64, 65, 1000};
    struct sd_error err;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t n = sizes[k], want = 0, got = 0;
        uint64_t bits[16] = {0}, *out = NULL;
        for (uint32_t d = 0; d < n; d += 3 + d % 5) {
            bits[d / 64] |= UINT64_C(1) << (d % 64);
            want++;
        }
        assert_int_equal(wal_tomb_write(dir, 12, (uint32_t)k + 1, bits, n, NULL, &err), SD_OK);
        assert_int_equal(wal_tomb_read(dir, 12, (uint32_t)k + 1, n, 0, &out, &got, &err), SD_OK);
        assert_int_equal(got, want);
        if (n > 0) {
            assert_memory_equal(out, bits, (n + 63) / 64 * 8);
        }
        free(out);
    }
    char name[WAL_NAME_MAX];
    wal_tomb_name(name, 12, 3);
    assert_string_equal(name, "seg-000012.000003.del");
    assert_true(tu_exists(dir, name));
}

static void test_wal_tomb_corrupt_returns_corrupt(void **state)
{
    const char *dir = *state;
    uint64_t bits[2] = {0x8001, 0x3}, *out;
    struct sd_error err;
    size_t len;
    assert_int_equal(wal_tomb_read(dir, 5, 1, 70, 0, &out, NULL, &err), SD_ENOTFOUND);
    assert_int_equal(wal_tomb_write(dir, 5, 1, bits, 70, NULL, &err), SD_OK);
    assert_int_equal(wal_tomb_read(dir, 5, 1, 71, 0, &out, NULL, &err), SD_ECORRUPT);
    uint8_t *data = tu_read(dir, "seg-000005.000001.del", &len);
    assert_int_equal(len, 32 + 16);
    for (size_t cut = 0; cut < len; cut++) {
        tu_write(dir, "seg-000005.000001.del", data, cut);
        assert_int_equal(wal_tomb_read(dir, 5, 1, 70, 0, &out, NULL, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, "seg-000005.000001.del"));
    }
    for (size_t i = 0; i < len; i++) {
        data[i] ^= 0x04;
        tu_write(dir, "seg-000005.000001.del", data, len);
        data[i] ^= 0x04;
        assert_int_equal(wal_tomb_read(dir, 5, 1, 70, 0, &out, NULL, &err), SD_ECORRUPT);
    }
    assert_null(out);
    bits[1] = 0x80; /* bit 71 of a 70-doc segment */
    assert_int_equal(wal_tomb_write(dir, 5, 2, bits, 70, NULL, &err), SD_EINVAL);
    free(data);
}

/* Issue 15: a valid tombstone file with the right segment, generation and
 * size that is not the one whose hash the MANIFEST recorded is refused. */
static void test_issue_15_tomb_of_another_copy_is_refused(void **state)
{
    const char *dir = *state;
    uint64_t a[2] = {5, 0}, b[2] = {6, 0}, ha = 0, hb = 0, *out = NULL;
    struct sd_error err;
    assert_int_equal(wal_tomb_write(dir, 4, 2, a, 70, &ha, &err), SD_OK);
    assert_int_equal(wal_tomb_read(dir, 4, 2, 70, ha, &out, NULL, &err), SD_OK);
    free(out);
    assert_int_equal(wal_tomb_write(dir, 4, 2, b, 70, &hb, &err), SD_OK);
    assert_true(ha != hb);
    assert_int_equal(wal_tomb_read(dir, 4, 2, 70, ha, &out, NULL, &err), SD_ECORRUPT);
    assert_null(out);
    assert_non_null(strstr(err.msg, "seg-000004.000002.del: checksum"));
    assert_non_null(strstr(err.msg, "not the tombstone file the MANIFEST made live"));
}

/* ---- garbage collection ---- */

struct gc_seen {
    int removed, lost;
};

static void gc_count(void *arg, const char *name, enum wal_gc_action action)
{
    struct gc_seen *seen = arg;
    (void)name;
    if (action == WAL_GC_REMOVE) {
        seen->removed++;
    } else {
        seen->lost++;
    }
}

/* Issue 15: only provably obsolete files are deleted; the rest of what the
 * MANIFEST does not name goes to lost+found, and a dry run changes nothing. */
static void test_wal_gc_removes_only_obsolete_files_and_moves_the_rest(void **state)
{
    const char *dir = *state;
    const char *keep[] = {
        "MANIFEST",       "seg-000003.seg",
        "seg-000001.seg", "seg-000001.000002.del",
        "seg-000007.seg", "seg-000007.000009.del",
        "wal-000001.log", "README",
        "seg-1.seg",      "seg-0000001.seg",
        "notes.tmp",      "seg-000002.seg.bak",
        "wal-000009.log", "wal.synced",
    };
    /* next_seg_no is 8: below it an unlisted segment was dropped by a durable MANIFEST */
    const char *drop[] = {
        "seg-000002.seg",     "seg-000001.000001.del", "seg-000004.000001.del",
        "MANIFEST.tmp",       "seg-000009.seg.tmp",    "seg-000001.000003.del.tmp",
        "wal-000002.log.tmp", "wal.synced.tmp",
    };
    /* at or past next_seg_no, or a newer tombstone generation: not accounted for */
    const char *lost[] = {
        "seg-000008.seg",
        "seg-000009.000001.del",
        "seg-000001.000003.del",
        "seg-000003.000001.del",
    };
    const size_t nkeep = sizeof keep / sizeof keep[0], ndrop = sizeof drop / sizeof drop[0],
                 nlost = sizeof lost / sizeof lost[0];
    struct wal_manifest m;
    struct sd_error err;
    struct gc_seen seen = {0};
    char path[512];
    make_manifest(&m);
    for (size_t i = 0; i < nkeep; i++) {
        tu_write(dir, keep[i], "x", 1);
    }
    for (size_t i = 0; i < ndrop; i++) {
        tu_write(dir, drop[i], "x", 1);
    }
    for (size_t i = 0; i < nlost; i++) {
        tu_write(dir, lost[i], "x", 1);
    }
    assert_int_equal(wal_gc(dir, &m, true, gc_count, &seen, &err), (int)(ndrop + nlost));
    assert_int_equal(seen.removed, (int)ndrop);
    assert_int_equal(seen.lost, (int)nlost);
    for (size_t i = 0; i < nlost; i++) {
        assert_true(tu_exists(dir, lost[i])); /* the dry run moved nothing */
    }
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), (int)(ndrop + nlost));
    for (size_t i = 0; i < nkeep; i++) {
        assert_true(tu_exists(dir, keep[i]));
    }
    for (size_t i = 0; i < ndrop; i++) {
        assert_false(tu_exists(dir, drop[i]));
    }
    for (size_t i = 0; i < nlost; i++) {
        assert_false(tu_exists(dir, lost[i]));
        snprintf(path, sizeof path, "%s/%s", WAL_LOST_DIR, lost[i]);
        assert_true(tu_exists(dir, path));
    }
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), 0);
    /* the same name again is kept beside the first, never over it */
    tu_write(dir, lost[0], "y", 1);
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), 1);
    snprintf(path, sizeof path, "%s/%s.1", WAL_LOST_DIR, lost[0]);
    assert_true(tu_exists(dir, path));
    wal_manifest_free(&m);
}

/* A collection that cannot finish changes nothing, dry run or not: lost+found/ a link (out of
 * the index: the file would leave it) or a file, or an obsolete name that is a directory. */
static void test_wal_gc_that_cannot_finish_refuses_before_changing_anything(void **state)
{
    const char *dir = *state;
    char outside[] = "/tmp/wal_test_outside.XXXXXX", lost[PATH_MAX], path[PATH_MAX];
    struct wal_manifest m;
    struct sd_error err;
    assert_non_null(mkdtemp(outside));
    make_manifest(&m);
    tu_write(dir, "seg-000002.seg", "x", 1); /* obsolete: removed */
    tu_write(dir, "seg-000008.seg", "x", 1); /* not accounted for: moved */
    snprintf(lost, sizeof lost, "%s/%s", dir, WAL_LOST_DIR);
    assert_int_equal(symlink(outside, lost), 0);
    for (int dry = 1; dry >= 0; dry--) {
        assert_int_equal(wal_gc(dir, &m, dry, NULL, NULL, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, "lost+found: not a directory (a symbolic link), so "
                                        "seg-000008.seg cannot be moved into it"));
    }
    snprintf(path, sizeof path, "%s/seg-000008.seg", outside);
    assert_int_equal(access(path, F_OK), -1); /* nothing left the index */
    assert_int_equal(unlink(lost), 0);
    tu_write(dir, WAL_LOST_DIR, "a note", 6);
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "lost+found: not a directory (a file)"));
    assert_true(tu_exists(dir, "seg-000002.seg"));
    assert_true(tu_exists(dir, "seg-000008.seg"));
    tu_unlink(dir, WAL_LOST_DIR);
    tu_unlink(dir, "seg-000002.seg");
    tu_path(path, dir, "seg-000002.seg");
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "seg-000002.seg: a directory where searchd keeps"));
    assert_true(tu_exists(dir, "seg-000008.seg"));
    assert_false(tu_exists(dir, WAL_LOST_DIR));
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(wal_gc(dir, &m, false, NULL, NULL, &err), 1); /* now it can */
    assert_int_equal(rmdir(outside), 0);
    wal_manifest_free(&m);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_dir, tu_teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_wal_manifest_read_missing_returns_not_found),
        DIR_TEST(test_wal_manifest_roundtrip_keeps_every_field),
        DIR_TEST(test_wal_manifest_empty_roundtrip),
        DIR_TEST(test_wal_manifest_truncated_or_flipped_returns_corrupt),
        DIR_TEST(test_wal_manifest_bad_entry_with_good_checksum_returns_corrupt),
        DIR_TEST(test_wal_manifest_v1_fixture_reads_without_hashes),
        DIR_TEST(test_wal_manifest_leftover_tmp_is_ignored),
        DIR_TEST(test_issue_15_tomb_of_another_copy_is_refused),
        DIR_TEST(test_wal_manifest_write_bad_entry_returns_invalid),
        DIR_TEST(test_wal_tomb_roundtrip_keeps_bits),
        DIR_TEST(test_wal_tomb_corrupt_returns_corrupt),
        DIR_TEST(test_wal_gc_removes_only_obsolete_files_and_moves_the_rest),
        DIR_TEST(test_wal_gc_that_cannot_finish_refuses_before_changing_anything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
