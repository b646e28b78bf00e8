/*
 * sd_base.h: what every part of index/ shares (prefix sd_): status codes and
 * error messages, little-endian and varint byte codecs, a growable write
 * buffer, a bounds-checked read cursor, read-only file mappings, durable file
 * writes, and the XXH3 checksum every file carries.
 *
 * Rules the rest of index/ relies on:
 *  - Integers on disk are little-endian and are read and written only through
 *    these helpers (shifts, never a struct cast onto mapped bytes).
 *  - Every length read from disk or the network goes through a struct sd_rd,
 *    which returns SD_ECORRUPT instead of reading past its end.
 *  - Functions that can fail return SD_OK (0) or a negative enum sd_status and
 *    describe the failure in a caller-provided struct sd_error.
 */
#ifndef SEARCHD_SD_BASE_H
#define SEARCHD_SD_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

enum sd_status {
    SD_OK = 0,
    SD_ENOMEM = -1,     /* allocation failed */
    SD_EIO = -2,        /* a system call failed (message has errno text) */
    SD_ECORRUPT = -3,   /* bytes on disk are not what we wrote */
    SD_EPARSE = -4,     /* a query or request does not parse */
    SD_ELIMIT = -5,     /* a configured limit was exceeded */
    SD_ENOTFOUND = -6,  /* no such document, term, index or file */
    SD_EINVAL = -7,     /* a caller passed a bad argument (bad id, field name) */
    SD_ENOSPC = -8,     /* the disk is full: the write was refused */
    SD_EBUSY = -9,      /* shutting down or overloaded: try again */
    SD_EDEGRADED = -10, /* a file of the index is not served: writes are refused */
    SD_EFIELD = -11,    /* a request names a field that is not declared, or not of a type
                           that can do what is asked (filter, sort, facet) */
    SD_EEXIST = -12,    /* the name is taken: creating an index that exists */
    SD_EUNAVAIL = -13,  /* the index did not open at start (damage on disk): every request
                           naming it is refused with the open's message */
};

struct sd_error {
    int code;
    char msg[256];
};

/* Records code and a printf-style message in err (may be NULL); returns code
 * so callers can write `return sd_errorf(err, SD_EIO, "open %s", path);`. */
int sd_errorf(struct sd_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Corruption with the source line where it was first seen (SQLite's
 * SQLITE_CORRUPT_BKPT idea): message "<fmt> [seg_read.c:123]". */
#define SD_CORRUPT(err, ...) sd_corruptf((err), __FILE__, __LINE__, __VA_ARGS__)
int sd_corruptf(struct sd_error *err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A stable lower-case name for a status ("corrupt", "not_found"...). */
const char *sd_status_name(int code);

/* Length of the longest prefix of s[0, len) (borrowed) of at most max bytes that ends on a
 * UTF-8 character boundary: what a message quoting a user-given name or value cut to max
 * bytes prints with '%.*s', so the cut never leaves half a character (which the JSON reply
 * would show as U+FFFD). len when len <= max. A byte that starts no well-formed sequence
 * (stem_utf8_len is the one validator) counts as a character of its own. */
size_t sd_utf8_cut(const char *s, size_t len, size_t max);

/* vsnprintf into out[cap] (cap at most SD_FORMAT_ROOM), except that a text too long for it is
 * cut on a UTF-8 character boundary (sd_utf8_cut), not at a byte: every error message goes
 * out in JSON. Returns what vsnprintf does: the whole text's length, or < 0. */
#define SD_FORMAT_ROOM 1024
int sd_vformat_utf8(char *out, size_t cap, const char *fmt, va_list ap);

/* ---- little-endian fixed width ---- */

static inline void sd_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void sd_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void sd_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline uint16_t sd_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t sd_get_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* x86-64 and aarch64 are little-endian; see CMake check */
    return v;
}

static inline uint64_t sd_get_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* ---- growable arrays ---- */

/* The out-of-line half of sd_grow: capacity doubles from *cap (or first when *cap is 0) until
 * need elements fit, the byte count checked against overflow. */
void *sd_grow_slow(void *data, size_t *cap, size_t need, size_t elem, size_t first);

/* Makes the array data of *cap elements of elem bytes hold at least need of them (need >= 1).
 * Returns the array, moved or not, with *cap its new capacity; or NULL when memory ran out
 * (or the size would overflow), with data and *cap unchanged and data still the caller's to
 * free. The usual push:
 *     struct foo *p = sd_grow(v->items, &v->cap, v->count + 1, sizeof *p, 16);
 *     if (!p) { return SD_ENOMEM; }
 *     v->items = p;
 * Capacity never shrinks, so a loop that pushes n elements reallocates O(log n) times. */
static inline void *sd_grow(void *data, size_t *cap, size_t need, size_t elem, size_t first)
{
    return need <= *cap ? data : sd_grow_slow(data, cap, need, elem, first);
}

/* ---- growable write buffer with a sticky error (fts5's rc idea) ---- */

/* data is owned by the buffer; free with sd_buf_free(). Once rc is non-zero
 * (an allocation failed) every put is a no-op, so a long serializer checks
 * rc once at the end. */
struct sd_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int rc;
};

void sd_buf_init(struct sd_buf *b);
void sd_buf_free(struct sd_buf *b);
void sd_buf_reset(struct sd_buf *b); /* len = 0, keeps the memory, clears rc */
int sd_buf_reserve(struct sd_buf *b, size_t extra);
void sd_buf_put(struct sd_buf *b, const void *p, size_t len);
void sd_buf_put_le16(struct sd_buf *b, uint16_t v);
void sd_buf_put_le32(struct sd_buf *b, uint32_t v);
void sd_buf_put_le64(struct sd_buf *b, uint64_t v);
/* Hands the bytes to the caller (who frees them with free()) and resets b. */
uint8_t *sd_buf_detach(struct sd_buf *b, size_t *len);

/* Encodes v as LEB128 at p (at least 10 bytes of room); returns bytes written. */
static inline size_t sd_varint_encode(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* The two puts serializers call per value (the postings and dictionary writers call them
 * for every doc gap and frequency), inlined: with room reserved already, the bytes are
 * stored in place; otherwise, or after an error, they take the general path. */
static inline void sd_buf_put_u8(struct sd_buf *b, uint8_t v)
{
    if (b->len < b->cap && b->rc == 0) {
        b->data[b->len++] = v;
        return;
    }
    sd_buf_put(b, &v, 1);
}

static inline void sd_buf_put_varint(struct sd_buf *b, uint64_t v) /* LEB128, at most 10 bytes */
{
    if (b->cap - b->len >= 10 && b->rc == 0) {
        b->len += sd_varint_encode(b->data + b->len, v);
        return;
    }
    uint8_t t[10];
    sd_buf_put(b, t, sd_varint_encode(t, v));
}

/* ---- bounds-checked read cursor ---- */

/* A read cursor over [p, end). Every read checks the remaining length first
 * and returns SD_ECORRUPT (without moving) instead of reading past end. */
struct sd_rd {
    const uint8_t *p;
    const uint8_t *end;
};

static inline void sd_rd_init(struct sd_rd *rd, const void *data, size_t len)
{
    rd->p = data;
    rd->end = rd->p + len;
}

static inline size_t sd_rd_left(const struct sd_rd *rd)
{
    return (size_t)(rd->end - rd->p);
}

int sd_rd_u8(struct sd_rd *rd, uint8_t *v);
int sd_rd_le16(struct sd_rd *rd, uint16_t *v);
int sd_rd_le32(struct sd_rd *rd, uint32_t *v);
int sd_rd_le64(struct sd_rd *rd, uint64_t *v);
int sd_rd_varint_long(struct sd_rd *rd, uint64_t *v); /* any length; see sd_rd_varint */

/* Rejects > 10 bytes or overflow. Inline for the one-byte case: dictionary entries, tail
 * blocks and positions are mostly values below 128, decoded in every query's hot loops. */
static inline int sd_rd_varint(struct sd_rd *rd, uint64_t *v)
{
    if (rd->p != rd->end && *rd->p < 0x80) {
        *v = *rd->p++;
        return SD_OK;
    }
    return sd_rd_varint_long(rd, v);
}

/* Also rejects values > UINT32_MAX. */
static inline int sd_rd_varint32(struct sd_rd *rd, uint32_t *v)
{
    uint64_t x;
    const uint8_t *start = rd->p;
    if (sd_rd_varint(rd, &x) != SD_OK) {
        return SD_ECORRUPT;
    }
    if (x > UINT32_MAX) {
        rd->p = start;
        return SD_ECORRUPT;
    }
    *v = (uint32_t)x;
    return SD_OK;
}
/* *out points into the cursor's memory (valid as long as it is). */
int sd_rd_bytes(struct sd_rd *rd, size_t len, const uint8_t **out);
int sd_rd_skip(struct sd_rd *rd, size_t len);

/* ---- checksums ---- */

uint64_t sd_hash64(const void *data, size_t len); /* XXH3-64, seed 0 */

/* ---- files ---- */

/* A read-only view of a whole file: mmap'd, or empty for a 0-byte file. */
struct sd_map {
    const uint8_t *data;
    size_t len;
};

/* Opens path (borrowed) with flags (O_RDONLY, O_WRONLY | O_CREAT | O_EXCL...;
 * O_CLOEXEC is added) into *fd, which the caller closes. Only a regular file
 * opens: a symbolic link in path's last component, a directory, a FIFO, a
 * socket or a device is SD_ECORRUPT, named ("PATH: not a regular file (a
 * FIFO): ..."), and a FIFO is never waited on. Other errors as sd_status_from_errno. */
int sd_open_file(const char *path, int flags, mode_t mode, int *fd, struct sd_error *err);

/* Maps path (borrowed) read-only, a regular file (sd_open_file). On success m
 * must be released with sd_unmap(). Errors name the file. */
int sd_map_file(const char *path, struct sd_map *m, struct sd_error *err);
void sd_unmap(struct sd_map *m);

/* Writes data to dir/name durably and atomically: dir/name.tmp is written
 * and fsynced, renamed over dir/name, and dir is fsynced. A crash leaves
 * either the old file or the new one. ENOSPC maps to SD_ENOSPC. */
int sd_write_file_atomic(const char *dir, const char *name, const void *data, size_t len,
                         struct sd_error *err);

/* Writes data to a new file dir/name (must not exist) and fsyncs it and dir. */
int sd_write_file_new(const char *dir, const char *name, const void *data, size_t len,
                      struct sd_error *err);

int sd_fsync_dir(const char *dir, struct sd_error *err);

/* Writes "dir/name" into out[cap]. SD_EINVAL (out holds "") when it does not
 * fit, so a too-long path is refused rather than silently cut. */
int sd_path_join(char *out, size_t cap, const char *dir, const char *name);

/* Reads a whole small regular file (sd_open_file) into a malloc'd buffer (*out
 * owned by caller). */
int sd_read_file(const char *path, size_t max_len, uint8_t **out, size_t *len,
                 struct sd_error *err);

/* Maps errno to a status: ENOSPC/EDQUOT/EFBIG -> SD_ENOSPC, ENOENT -> SD_ENOTFOUND,
 * ENOMEM -> SD_ENOMEM, else SD_EIO. */
int sd_status_from_errno(int e);

/* ---- time ---- */

uint64_t sd_now_ns(void); /* CLOCK_MONOTONIC */

#endif
