/*
 * wal_tomb.c: tombstone files, the deleted-docs bitmap of one segment.
 *
 * Segments are immutable, so a delete (or the old version of an upserted
 * document) is recorded beside the segment as a bit. A bitmap is never
 * changed in place: a new generation is written as a new file, and the
 * MANIFEST that names it makes it live. Until then readers keep using the
 * old generation, and a crash leaves the old MANIFEST pointing at the old
 * file. Merges drop deleted documents and with them the bitmap.
 *
 * Tombstone format v1 (WAL_TOMB_VERSION), file seg-SSSSSS.GGGGGG.del, written
 * atomically (tmp, fsync, rename, fsync dir). Integers are little-endian.
 *   offset  size  field
 *   0       4     magic "SDTB"
 *   4       2     format version (1)
 *   6       2     reserved, 0
 *   8       4     segment number S
 *   12      4     generation G (>= 1)
 *   16      4     documents in the segment, n
 *   20      4     reserved, 0
 *   24      8*W   W = ceil(n / 64) words; bit d % 64 of word d / 64 set = doc d
 *                 is deleted; bits at and past n are 0
 *   24+8*W  8     XXH3-64 of bytes [0, 24+8*W)
 * Readers know S, G and n from the MANIFEST and require the file to match all
 * three and to be exactly 32+8*W bytes. A v2 MANIFEST also records the file's
 * trailing XXH3-64 (wal_tomb_write() returns it), so a valid tombstone file of
 * the same S, G and n that is not the one the MANIFEST made live (a restore
 * from another copy of the index) is refused too.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "wal_int.h"

#define WAL_TOMB_MAGIC "SDTB"
#define WAL_TOMB_HEAD  24u

static size_t wal_tomb_words(uint32_t ndocs)
{
    return ((size_t)ndocs + 63) / 64;
}

/* Mask of the valid bits in the last word (all ones when n % 64 == 0). */
static uint64_t wal_tomb_tail_mask(uint32_t ndocs)
{
    return ndocs % 64 ? (UINT64_C(1) << (ndocs % 64)) - 1 : UINT64_MAX;
}

int wal_tomb_write(const char *dir, uint32_t seg_no, uint32_t gen, const uint64_t *bits,
                   uint32_t ndocs, uint64_t *hash, struct sd_error *err)
{
    uint64_t h = 0;
    size_t words = wal_tomb_words(ndocs);
    if (gen == 0) {
        return sd_errorf(err, SD_EINVAL, "wal_tomb_write: segment %u: generation 0", seg_no);
    }
    if (words > 0 && (bits[words - 1] & ~wal_tomb_tail_mask(ndocs))) {
        return sd_errorf(err, SD_EINVAL, "wal_tomb_write: segment %u: bits past %u docs", seg_no,
                         ndocs);
    }
    struct sd_buf b;
    sd_buf_init(&b);
    sd_buf_put(&b, WAL_TOMB_MAGIC, 4);
    sd_buf_put_le16(&b, WAL_TOMB_VERSION);
    sd_buf_put_le16(&b, 0);
    sd_buf_put_le32(&b, seg_no);
    sd_buf_put_le32(&b, gen);
    sd_buf_put_le32(&b, ndocs);
    sd_buf_put_le32(&b, 0);
    for (size_t i = 0; i < words; i++) {
        sd_buf_put_le64(&b, bits[i]);
    }
    if (b.rc == SD_OK) {
        h = sd_hash64(b.data, b.len);
        sd_buf_put_le64(&b, h);
    }
    char name[WAL_NAME_MAX];
    wal_tomb_name(name, seg_no, gen);
    int rc;
    if (b.rc) {
        rc = sd_errorf(err, b.rc, "writing %s/%s", dir, name);
    } else {
        rc = sd_write_file_atomic(dir, name, b.data, b.len, err);
    }
    sd_buf_free(&b);
    if (rc == SD_OK && hash) {
        *hash = h;
    }
    return rc;
}

/* Checks the header of a file of exactly the expected length. */
static int wal_tomb_check_head(const uint8_t *p, size_t len, uint32_t seg_no, uint32_t gen,
                               uint32_t ndocs, uint64_t want_hash, const char *path,
                               struct sd_error *err)
{
    if (memcmp(p, WAL_TOMB_MAGIC, 4) != 0) {
        return SD_CORRUPT(err, "%s: not a tombstone file (bad magic)", path);
    }
    if (sd_get_le16(p + 4) != WAL_TOMB_VERSION) {
        return SD_CORRUPT(err, "%s: tombstone version %u is not supported (this build reads %u)",
                          path, sd_get_le16(p + 4), WAL_TOMB_VERSION);
    }
    if (sd_get_le64(p + len - 8) != sd_hash64(p, len - 8)) {
        return SD_CORRUPT(err, "%s: checksum mismatch", path);
    }
    if (sd_get_le32(p + 8) != seg_no || sd_get_le32(p + 12) != gen ||
        sd_get_le32(p + 16) != ndocs) {
        return SD_CORRUPT(err,
                          "%s: written for segment %u generation %u with %u docs, "
                          "expected %u, %u, %u",
                          path, sd_get_le32(p + 8), sd_get_le32(p + 12), sd_get_le32(p + 16),
                          seg_no, gen, ndocs);
    }
    if (want_hash && sd_get_le64(p + len - 8) != want_hash) {
        return SD_CORRUPT(err,
                          "%s: checksum %016" PRIx64 " is not the MANIFEST's %016" PRIx64
                          ": not the tombstone file the MANIFEST made live",
                          path, sd_get_le64(p + len - 8), want_hash);
    }
    return SD_OK;
}

/* Decodes the words of a checked file into a new bitmap. */
static int wal_tomb_decode(const uint8_t *p, uint32_t ndocs, uint64_t **bits, uint32_t *ndeleted,
                           const char *path, struct sd_error *err)
{
    size_t words = wal_tomb_words(ndocs);
    uint64_t *out = calloc(words ? words : 1, sizeof *out);
    uint64_t count = 0;
    if (!out) {
        return sd_errorf(err, SD_ENOMEM, "reading %s", path);
    }
    for (size_t i = 0; i < words; i++) {
        out[i] = sd_get_le64(p + WAL_TOMB_HEAD + 8 * i);
        count += (uint64_t)__builtin_popcountll(out[i]);
    }
    if (words > 0 && (out[words - 1] & ~wal_tomb_tail_mask(ndocs))) {
        free(out);
        return SD_CORRUPT(err, "%s: bits set past the %u documents", path, ndocs);
    }
    *bits = out;
    if (ndeleted) {
        *ndeleted = (uint32_t)count; /* <= ndocs: the bits past it are 0 */
    }
    return SD_OK;
}

int wal_tomb_read(const char *dir, uint32_t seg_no, uint32_t gen, uint32_t ndocs,
                  uint64_t want_hash, uint64_t **bits, uint32_t *ndeleted, struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    size_t want = WAL_TOMB_HEAD + 8 * wal_tomb_words(ndocs) + 8, len;
    uint8_t *data;
    *bits = NULL;
    wal_tomb_name(name, seg_no, gen);
    int rc = wal_join(path, sizeof path, dir, name, err);
    if (rc == SD_OK) {
        rc = sd_read_file(path, want, &data, &len, err);
    }
    if (rc == SD_ELIMIT) {
        return SD_CORRUPT(err, "%s: larger than the %zu bytes of %u documents", path, want, ndocs);
    }
    if (rc) {
        return rc;
    }
    if (len != want) {
        rc =
            SD_CORRUPT(err, "%s: %zu bytes, expected %zu for %u documents", path, len, want, ndocs);
    } else {
        rc = wal_tomb_check_head(data, len, seg_no, gen, ndocs, want_hash, path, err);
    }
    if (rc == SD_OK) {
        rc = wal_tomb_decode(data, ndocs, bits, ndeleted, path, err);
    }
    free(data);
    return rc;
}
