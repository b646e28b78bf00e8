/*
 * wal_manifest.c: the MANIFEST, the one file that says what an index is: the
 * live segments, their tombstone generations, and the log checkpoint.
 *
 * It is small and rewritten whole on every change (flush, merge, deletes
 * reaching a segment) through sd_write_file_atomic(): MANIFEST.tmp is
 * written and fsynced, renamed over MANIFEST, and the directory fsynced. A
 * crash leaves the old MANIFEST or the new one; MANIFEST.tmp is never read
 * (wal_gc() removes it). Files only become part of the index when a durable
 * MANIFEST names them, so they are written (and fsynced) before it.
 *
 * MANIFEST format v2 (WAL_MANIFEST_VERSION). Integers are little-endian.
 *   offset   size  field
 *   0        4     magic "SDMF"
 *   4        2     format version (2; 1 is still read)
 *   6        2     reserved, 0
 *   8        8     generation: 1 for the first MANIFEST, +1 on each rewrite
 *   16       8     checkpoint seq: log records with seq <= it are in segments
 *   24       4     next segment number
 *   28       4     segment count N
 *   32       E*N   segments, in the engine's order (E = 32; 16 in v1), each:
 *                    0  4  segment number S (file seg-S.seg, S >= 1, unique,
 *                          < next segment number)
 *                    4  4  documents in the segment
 *                    8  4  deleted documents (<= documents)
 *                    12 4  tombstone generation G: 0 = none, else the file
 *                          seg-S.G.del (wal_tomb.c); required if deleted > 0
 *                    16 8  the segment file's own footer XXH3-64 (v2 only)
 *                    24 8  the tombstone file's trailing XXH3-64, 0 when G = 0
 *                          (v2 only)
 *   32+E*N   8     XXH3-64 of bytes [0, 32+E*N)
 * The file is exactly 40 + E*N bytes. Readers check the magic, the version
 * (1 or 2), the checksum and then every rule above. The two hashes are what
 * make a file's identity checkable without a segment-format change: a valid
 * segment or tombstone file put in place of another one (a restore from the
 * wrong backup) has the right name and a good checksum, but not the checksum
 * this MANIFEST recorded when it made the file live. A v1 MANIFEST has no
 * hashes (they read as 0: not checked); its first rewrite is v2.
 */
#include "wal_int.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#define WAL_MANIFEST_MAGIC "SDMF"
#define WAL_MANIFEST_FIXED 32u /* bytes before the segment entries */
#define WAL_MANIFEST_ENTRY_V1 16u
#define WAL_MANIFEST_ENTRY    32u

void wal_manifest_init(struct wal_manifest *m)
{
    memset(m, 0, sizeof *m);
    m->next_seg_no = 1;
}

void wal_manifest_free(struct wal_manifest *m)
{
    if (!m) {
        return;
    }
    free(m->segs);
    wal_manifest_init(m);
}

static int wal_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Checks one entry; a broken rule is `code` (SD_ECORRUPT reading, SD_EINVAL
 * writing) with a message naming what. */
static int wal_entry_check(const struct wal_manifest *m, uint32_t i, int code, const char *what,
                           struct sd_error *err)
{
    const struct wal_seg_entry *e = &m->segs[i];
    const char *why = NULL;
    if (e->seg_no == 0 || e->seg_no >= m->next_seg_no) {
        why = "segment number is 0 or not below the next segment number";
    } else if (e->deleted_count > e->doc_count) {
        why = "more deleted documents than documents";
    } else if (e->deleted_count > 0 && e->tomb_gen == 0) {
        why = "deleted documents but no tombstone file";
    }
    if (!why) {
        return SD_OK;
    }
    if (code == SD_ECORRUPT) {
        return SD_CORRUPT(err, "%s: segment %u (entry %u): %s", what, e->seg_no, i, why);
    }
    return sd_errorf(err, code, "%s: segment %u (entry %u): %s", what, e->seg_no, i, why);
}

static int wal_manifest_check(const struct wal_manifest *m, int code, const char *what,
                              struct sd_error *err)
{
    for (uint32_t i = 0; i < m->count; i++) {
        int rc = wal_entry_check(m, i, code, what, err);
        if (rc) {
            return rc;
        }
    }
    if (m->count < 2) {
        return SD_OK;
    }
    uint32_t *nos = malloc(m->count * sizeof *nos);
    if (!nos) {
        return sd_errorf(err, SD_ENOMEM, "%s", what);
    }
    for (uint32_t i = 0; i < m->count; i++) {
        nos[i] = m->segs[i].seg_no;
    }
    qsort(nos, m->count, sizeof *nos, wal_cmp_u32);
    int rc = SD_OK;
    for (uint32_t i = 0; i + 1 < m->count && rc == SD_OK; i++) {
        if (nos[i] == nos[i + 1] && code == SD_ECORRUPT) {
            rc = SD_CORRUPT(err, "%s: segment %u listed twice", what, nos[i]);
        } else if (nos[i] == nos[i + 1]) {
            rc = sd_errorf(err, code, "%s: segment %u listed twice", what, nos[i]);
        }
    }
    free(nos);
    return rc;
}

/* Checks magic, version, checksum and size; leaves rd at the entries. */
static int wal_manifest_parse_head(struct sd_rd *rd, size_t len, struct wal_manifest *m,
                                   size_t *entry_len, const char *path, struct sd_error *err)
{
    const uint8_t *start = rd->p, *magic;
    uint16_t version, reserved;
    if (len < WAL_MANIFEST_FIXED + 8) {
        return SD_CORRUPT(err, "%s: %zu bytes, too short for a MANIFEST", path, len);
    }
    (void)sd_rd_bytes(rd, 4, &magic);
    if (memcmp(magic, WAL_MANIFEST_MAGIC, 4) != 0) {
        return SD_CORRUPT(err, "%s: not a MANIFEST (bad magic)", path);
    }
    (void)sd_rd_le16(rd, &version);
    if (version < WAL_MANIFEST_OLDEST || version > WAL_MANIFEST_VERSION) {
        return SD_CORRUPT(err,
                          "%s: MANIFEST version %u is not supported (this build reads %u to %u)",
                          path, version, WAL_MANIFEST_OLDEST, WAL_MANIFEST_VERSION);
    }
    *entry_len = version == 1 ? WAL_MANIFEST_ENTRY_V1 : WAL_MANIFEST_ENTRY;
    if (sd_get_le64(start + len - 8) != sd_hash64(start, len - 8)) {
        return SD_CORRUPT(err, "%s: checksum mismatch", path);
    }
    (void)sd_rd_le16(rd, &reserved);
    (void)sd_rd_le64(rd, &m->generation);
    (void)sd_rd_le64(rd, &m->checkpoint_seq);
    (void)sd_rd_le32(rd, &m->next_seg_no);
    (void)sd_rd_le32(rd, &m->count); /* all fixed fields fit: len was checked above */
    if (m->count > (len - WAL_MANIFEST_FIXED - 8) / *entry_len ||
        len != WAL_MANIFEST_FIXED + 8 + (size_t)m->count * *entry_len) {
        return SD_CORRUPT(err, "%s: %u segments do not match the size %zu", path, m->count, len);
    }
    return SD_OK;
}

static int wal_manifest_parse(const uint8_t *data, size_t len, struct wal_manifest *m,
                              const char *path, struct sd_error *err)
{
    struct sd_rd rd;
    size_t entry_len = 0;
    sd_rd_init(&rd, data, len);
    int rc = wal_manifest_parse_head(&rd, len, m, &entry_len, path, err);
    if (rc) {
        m->count = 0;
        return rc;
    }
    m->segs = calloc(m->count ? m->count : 1, sizeof *m->segs);
    if (!m->segs) {
        m->count = 0;
        return sd_errorf(err, SD_ENOMEM, "reading %s", path);
    }
    for (uint32_t i = 0; i < m->count && rc == SD_OK; i++) {
        struct wal_seg_entry *e = &m->segs[i];
        rc = sd_rd_le32(&rd, &e->seg_no) || sd_rd_le32(&rd, &e->doc_count) ||
             sd_rd_le32(&rd, &e->deleted_count) || sd_rd_le32(&rd, &e->tomb_gen);
        if (rc == SD_OK && entry_len == WAL_MANIFEST_ENTRY) {
            rc = sd_rd_le64(&rd, &e->seg_hash) || sd_rd_le64(&rd, &e->tomb_hash);
        }
    }
    if (rc) {
        return SD_CORRUPT(err, "%s: segment list runs past the end", path);
    }
    return wal_manifest_check(m, SD_ECORRUPT, path, err);
}

int wal_manifest_read(const char *dir, struct wal_manifest *m, struct sd_error *err)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len;
    wal_manifest_init(m);
    int rc = wal_join(path, sizeof path, dir, WAL_MANIFEST_NAME, err);
    if (rc == SD_OK) {
        rc = sd_read_file(path, WAL_MAX_MANIFEST_LEN, &data, &len, err);
    }
    if (rc == SD_ELIMIT) {
        return SD_CORRUPT(err, "%s: larger than %u bytes", path, WAL_MAX_MANIFEST_LEN);
    }
    if (rc) {
        return rc;
    }
    rc = wal_manifest_parse(data, len, m, path, err);
    free(data);
    return rc;
}

int wal_manifest_write(const char *dir, struct wal_manifest *m, struct sd_error *err)
{
    int rc = wal_manifest_check(m, SD_EINVAL, "wal_manifest_write", err);
    if (rc) {
        return rc;
    }
    if (m->count > (WAL_MAX_MANIFEST_LEN - WAL_MANIFEST_FIXED - 8) / WAL_MANIFEST_ENTRY) {
        return sd_errorf(err, SD_ELIMIT, "%s: %u segments is too many", dir, m->count);
    }
    struct sd_buf b;
    sd_buf_init(&b);
    sd_buf_put(&b, WAL_MANIFEST_MAGIC, 4);
    sd_buf_put_le16(&b, WAL_MANIFEST_VERSION);
    sd_buf_put_le16(&b, 0);
    sd_buf_put_le64(&b, m->generation + 1);
    sd_buf_put_le64(&b, m->checkpoint_seq);
    sd_buf_put_le32(&b, m->next_seg_no);
    sd_buf_put_le32(&b, m->count);
    for (uint32_t i = 0; i < m->count; i++) {
        sd_buf_put_le32(&b, m->segs[i].seg_no);
        sd_buf_put_le32(&b, m->segs[i].doc_count);
        sd_buf_put_le32(&b, m->segs[i].deleted_count);
        sd_buf_put_le32(&b, m->segs[i].tomb_gen);
        sd_buf_put_le64(&b, m->segs[i].seg_hash);
        sd_buf_put_le64(&b, m->segs[i].tomb_hash);
    }
    if (b.rc == SD_OK) {
        sd_buf_put_le64(&b, sd_hash64(b.data, b.len));
    }
    if (b.rc) {
        rc = sd_errorf(err, b.rc, "writing %s/%s", dir, WAL_MANIFEST_NAME);
    } else {
        rc = sd_write_file_atomic(dir, WAL_MANIFEST_NAME, b.data, b.len, err);
    }
    if (rc == SD_OK) {
        m->generation++;
    }
    sd_buf_free(&b);
    return rc;
}
