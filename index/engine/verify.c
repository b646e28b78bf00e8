/*
 * verify.c: the checks that decide whether an index directory opens and
 * which of its files are served. The daemon (recover.c) and `searchd --check`
 * (check.c) both call these, so a condition that stops or degrades the
 * daemon fails --check with the same message, word for word (issue 15).
 *
 * What is checked, in the order recovery needs it (docs/DATA.md, Recovery):
 *  1. the MANIFEST, or its absence: a directory without one is a new index
 *     only when it holds no segment or tombstone file (a log, if any, must
 *     then start at seq 1, which the log open checks); otherwise nothing is
 *     opened and nothing is touched;
 *  2. each MANIFEST entry's files: the segment (checksum, structure, its
 *     document count and footer XXH3 against the entry) and its tombstone
 *     file (segment, generation, size, XXH3 against the entry, and the number
 *     of deleted documents);
 *  3. the SETTINGS against the segments: none may have been written under a
 *     later settings version than SETTINGS holds (a SETTINGS file lost, or put
 *     back from an older copy, would otherwise be served as the index's: no
 *     checks on writes, and a later change reusing a version number that its
 *     segments already carry, so they are never re-indexed for it);
 *  4. the log chain, by index/wal (wal_open()/wal_check()), whose errors for
 *     an index without a MANIFEST are prefixed here with that situation.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine_int.h"

int idx_manifest_load(const char *dir, struct wal_manifest *m, bool *is_new, struct sd_error *err)
{
    *is_new = false;
    int rc = wal_manifest_read(dir, m, err);
    if (rc != SD_ENOTFOUND) {
        return rc;
    }
    struct wal_dir_files files;
    rc = wal_dir_scan(dir, &files, err);
    if (rc) {
        return rc;
    }
    if (files.segments + files.tombstones > 0) {
        return sd_errorf(err, SD_ECORRUPT,
                         "%s/%s is missing, but the directory holds %u segment and %u tombstone "
                         "files (%s...): nothing was opened or removed; put the MANIFEST back or "
                         "run searchd --repair",
                         dir, WAL_MANIFEST_NAME, files.segments, files.tombstones, files.first);
    }
    *is_new = true;
    return SD_OK;
}

int idx_log_error(const char *dir, bool is_new, int rc, struct sd_error *err)
{
    /* Only what the log holds can fail to stand in for a MANIFEST; a log that could not be
     * written (a full disk as a new index starts its first one) is not about the MANIFEST. */
    if (!is_new || rc != SD_ECORRUPT || !err) {
        return rc;
    }
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return sd_errorf(err, rc, "%s/%s is missing and the log cannot stand in for it: %s", dir,
                     WAL_MANIFEST_NAME, why);
}

static int idx_verify_tomb(const char *dir, const struct wal_seg_entry *e, uint64_t **bits,
                           uint32_t *ndeleted, struct sd_error *err)
{
    int rc =
        wal_tomb_read(dir, e->seg_no, e->tomb_gen, e->doc_count, e->tomb_hash, bits, ndeleted, err);
    if (rc) {
        return rc;
    }
    if (*ndeleted != e->deleted_count) {
        char name[WAL_NAME_MAX];
        wal_tomb_name(name, e->seg_no, e->tomb_gen);
        free(*bits);
        *bits = NULL;
        return SD_CORRUPT(err, "%s/%s: %u deleted documents, the MANIFEST says %u", dir, name,
                          *ndeleted, e->deleted_count);
    }
    return SD_OK;
}

/* The segment file against its entry: what it is, not only that it is sound. */
static int idx_verify_identity(const struct seg *s, const struct wal_seg_entry *e, const char *path,
                               struct sd_error *err)
{
    if (seg_doc_count(s) != e->doc_count) {
        return SD_CORRUPT(err,
                          "%s: %u documents, the MANIFEST says %u: not the segment file the "
                          "MANIFEST made live",
                          path, seg_doc_count(s), e->doc_count);
    }
    if (e->seg_hash && seg_checksum(s) != e->seg_hash) {
        return SD_CORRUPT(err,
                          "%s: checksum %016" PRIx64 " is not the MANIFEST's %016" PRIx64
                          ": not the segment file the MANIFEST made live",
                          path, seg_checksum(s), e->seg_hash);
    }
    return SD_OK;
}

int idx_entry_verify(const char *dir, const struct wal_seg_entry *e, struct seg **seg_out,
                     uint64_t **bits_out, uint32_t *ndeleted_out, struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    struct seg *s = NULL;
    uint64_t *bits = NULL;
    uint32_t ndeleted = 0;
    wal_seg_name(name, e->seg_no);
    if (sd_path_join(path, sizeof path, dir, name)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", dir);
    }
    int rc = seg_open_file(path, &s, err);
    if (rc == SD_OK) {
        rc = idx_verify_identity(s, e, path, err);
    }
    if (rc == SD_OK && e->tomb_gen) {
        rc = idx_verify_tomb(dir, e, &bits, &ndeleted, err);
    }
    if (rc || !seg_out) {
        seg_close(s);
        free(bits);
        return rc;
    }
    *seg_out = s;
    *bits_out = bits;
    *ndeleted_out = ndeleted;
    return SD_OK;
}

int idx_settings_cover(const char *dir, uint64_t settings_version, const struct seg *s,
                       uint32_t seg_no, struct sd_error *err)
{
    uint64_t built = seg_settings_version(s);
    if (built <= settings_version) {
        return SD_OK;
    }
    char name[WAL_NAME_MAX];
    wal_seg_name(name, seg_no);
    if (settings_version == 0) {
        return sd_errorf(err, SD_ECORRUPT,
                         "%s/%s is missing, but %s was written under settings version %" PRIu64
                         ": the index's settings are lost; nothing was opened or removed; put "
                         "SETTINGS back (a backup, or a snapshot of the index)",
                         dir, IDX_SETTINGS_FILE, name, built);
    }
    return sd_errorf(err, SD_ECORRUPT,
                     "%s/%s holds settings version %" PRIu64 ", but %s was written under "
                     "version %" PRIu64 ": SETTINGS is older than the index; nothing was opened "
                     "or removed; put the right one back",
                     dir, IDX_SETTINGS_FILE, settings_version, name, built);
}
