/*
 * sd_file.c: mappings, durable writes and checksums.
 *
 * Durability protocol for a file that replaces another (MANIFEST): write
 * NAME.tmp, fsync it, rename it over NAME, fsync the directory. After a crash
 * the directory holds the old NAME or the new one, never a mix; a leftover
 * NAME.tmp is garbage that the opener removes. New immutable files (segments)
 * are written under their final name, fsynced, then the directory is fsynced;
 * they only become part of the index when a MANIFEST that names them is
 * durable, so a half-written one is never read.
 *
 * Every file of a data directory is opened through sd_open_file(): a regular
 * file, never through a symbolic link (a link could point out of the data
 * directory, or at another index's file, which we would then read, append to
 * or truncate), and never a FIFO or a device (opening a FIFO for reading
 * blocks until a writer comes: a start that hangs). Anything else in a file's
 * place is damage, reported by name.
 */
#include "sd_base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

uint64_t sd_hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

uint64_t sd_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sd_status_from_errno(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: /* a file size limit (RLIMIT_FSIZE, a filesystem's maximum) is a full disk to us */
        return SD_ENOSPC;
    case ENOENT:
        return SD_ENOTFOUND;
    case ENOMEM:
        return SD_ENOMEM;
    default:
        return SD_EIO;
    }
}

static int sd_syserr(struct sd_error *err, const char *what, const char *path)
{
    int e = errno;
    return sd_errorf(err, sd_status_from_errno(e), "%s %s: %s", what, path, strerror(e));
}

/* What a file of this mode is, for a message about one that is not regular. */
static const char *sd_mode_kind(mode_t mode)
{
    if (S_ISLNK(mode)) {
        return "a symbolic link";
    }
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    return "a device";
}

/* What lstat says path is, when it is not a regular file; NULL otherwise. */
static const char *sd_file_kind(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) {
        return NULL;
    }
    return sd_mode_kind(st.st_mode);
}

static int sd_not_regular(struct sd_error *err, const char *path, const char *kind)
{
    return sd_errorf(err, SD_ECORRUPT,
                     "%s: not a regular file (%s): an index's files are never opened through a "
                     "link or as a special file",
                     path, kind);
}

/* sd_open_file(), also giving the stat of the file opened (its size, for the callers that
 * read it whole). */
static int sd_open_stat(const char *path, int flags, mode_t mode, int *fd, struct stat *st,
                        struct sd_error *err)
{
    /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer (or
     * fails with ENXIO for writing), and is then refused by its type. */
    *fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
    if (*fd < 0) {
        int e = errno;
        const char *kind = e == ELOOP || e == ENXIO || e == EISDIR ? sd_file_kind(path) : NULL;
        if (kind) {
            return sd_not_regular(err, path, kind);
        }
        errno = e;
        return sd_syserr(err, (flags & O_CREAT) ? "create" : "open", path);
    }
    int rc = SD_OK;
    if (fstat(*fd, st) != 0) {
        rc = sd_syserr(err, "stat", path);
    } else if (!S_ISREG(st->st_mode)) {
        rc = sd_not_regular(err, path, sd_mode_kind(st->st_mode));
    } else if (fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        rc = sd_syserr(err, "fcntl", path);
    }
    if (rc) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int sd_open_file(const char *path, int flags, mode_t mode, int *fd, struct sd_error *err)
{
    struct stat st;
    return sd_open_stat(path, flags, mode, fd, &st, err);
}

int sd_map_file(const char *path, struct sd_map *m, struct sd_error *err)
{
    m->data = NULL;
    m->len = 0;
    int fd;
    struct stat st;
    int rc = sd_open_stat(path, O_RDONLY, 0, &fd, &st, err);
    if (rc) {
        return rc;
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            rc = sd_syserr(err, "mmap", path);
            close(fd);
            return rc;
        }
        m->data = p;
        m->len = (size_t)st.st_size;
    }
    close(fd);
    return SD_OK;
}

void sd_unmap(struct sd_map *m)
{
    if (m->data) {
        munmap((void *)m->data, m->len);
    }
    m->data = NULL;
    m->len = 0;
}

int sd_path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        if (cap) {
            out[0] = 0;
        }
        return SD_EINVAL;
    }
    return SD_OK;
}

int sd_fsync_dir(const char *dir, struct sd_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return sd_syserr(err, "open dir", dir);
    }
    int rc = SD_OK;
    if (fsync(fd) != 0) {
        rc = sd_syserr(err, "fsync dir", dir);
    }
    close(fd);
    return rc;
}

static int sd_write_all(int fd, const void *data, size_t len, const char *path,
                        struct sd_error *err)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return sd_syserr(err, "write", path);
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        return sd_syserr(err, "fsync", path);
    }
    return SD_OK;
}

static int sd_write_path(const char *path, int flags, const void *data, size_t len,
                         struct sd_error *err)
{
    int fd;
    int rc = sd_open_file(path, O_WRONLY | O_CREAT | flags, 0644, &fd, err);
    if (rc) {
        return rc;
    }
    rc = sd_write_all(fd, data, len, path, err);
    if (close(fd) != 0 && rc == SD_OK) {
        rc = sd_syserr(err, "close", path);
    }
    if (rc) {
        unlink(path);
    }
    return rc;
}

int sd_write_file_atomic(const char *dir, const char *name, const void *data, size_t len,
                         struct sd_error *err)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    if ((size_t)snprintf(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= sizeof tmp) {
        return sd_errorf(err, SD_EINVAL, "path too long: %s/%s", dir, name);
    }
    int rc = sd_write_path(tmp, O_TRUNC, data, len, err);
    if (rc) {
        return rc;
    }
    if (rename(tmp, dst) != 0) {
        rc = sd_syserr(err, "rename", tmp);
        unlink(tmp);
        return rc;
    }
    return sd_fsync_dir(dir, err);
}

int sd_write_file_new(const char *dir, const char *name, const void *data, size_t len,
                      struct sd_error *err)
{
    char dst[PATH_MAX];
    if ((size_t)snprintf(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst) {
        return sd_errorf(err, SD_EINVAL, "path too long: %s/%s", dir, name);
    }
    int rc = sd_write_path(dst, O_EXCL, data, len, err);
    if (rc) {
        return rc;
    }
    return sd_fsync_dir(dir, err);
}

int sd_read_file(const char *path, size_t max_len, uint8_t **out, size_t *len,
                 struct sd_error *err)
{
    int fd;
    struct stat st;
    int rc = sd_open_stat(path, O_RDONLY, 0, &fd, &st, err);
    if (rc) {
        return rc;
    }
    uint8_t *buf = NULL;
    if ((uint64_t)st.st_size > max_len) {
        rc = sd_errorf(err, SD_ELIMIT, "%s: %lld bytes, over the limit of %zu", path,
                       (long long)st.st_size, max_len);
        goto out;
    }
    size_t n = (size_t)st.st_size, got = 0;
    buf = malloc(n ? n : 1);
    if (!buf) {
        rc = sd_errorf(err, SD_ENOMEM, "read %s", path);
        goto out;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = r < 0 ? sd_syserr(err, "read", path)
                       : sd_errorf(err, SD_EIO, "read %s: file shrank", path);
            goto out;
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}
