/*
 * wal_dir.c: the names of the files in an index directory, and the garbage
 * collector that removes the ones the MANIFEST no longer references.
 *
 *   MANIFEST                 live segments + log checkpoint (wal_manifest.c)
 *   wal-NNNNNN.log           write-ahead log files (wal_log.c)
 *   seg-NNNNNN.seg           an immutable segment (index/seg)
 *   seg-NNNNNN.GGGGGG.del    its deleted-docs bitmap, generation G (wal_tomb.c)
 *   wal.synced               the last acknowledged log seq (wal_synced.c)
 *   <one of the above>.tmp   a file being written atomically; garbage after a crash
 *   lost+found/              files recovery could not account for (below)
 * Numbers are decimal, zero-padded to 6 digits (more once they outgrow it),
 * so `ls` sorts them and `seg-000042.*` is everything about one segment.
 * Names that match none of these are never touched.
 *
 * Garbage collection deletes only what is provably obsolete; anything else
 * the MANIFEST does not name is moved into lost+found/ (docs/DATA.md):
 *   removed   our .tmp files (a .tmp is renamed before any MANIFEST names it,
 *             so none was ever part of the index); seg-S.seg and seg-S.*.del
 *             of a segment S that is not listed but below the MANIFEST's next
 *             segment number (a durable MANIFEST dropped it: merged away);
 *             seg-S.G.del of a listed S with G below the listed generation.
 *   moved     a segment numbered at or past the next segment number, or a
 *             tombstone generation past the listed one: the output of a
 *             flush or merge that died before its MANIFEST, or the sign that
 *             this MANIFEST is older than the files (a restore gone wrong).
 *             Nothing here proves which, so nothing is deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal_int.h"

void wal_log_name(char *name, uint32_t no)
{
    snprintf(name, WAL_NAME_MAX, "wal-%06u.log", no);
}

void wal_seg_name(char *name, uint32_t seg_no)
{
    snprintf(name, WAL_NAME_MAX, "seg-%06u.seg", seg_no);
}

void wal_tomb_name(char *name, uint32_t seg_no, uint32_t gen)
{
    snprintf(name, WAL_NAME_MAX, "seg-%06u.%06u.del", seg_no, gen);
}

/* Parses a number as "%06u" prints it (6 digits, or more without a leading
 * zero) fitting a uint32_t at *s; moves *s past it. */
static bool wal_parse_number(const char **s, uint32_t *no)
{
    uint64_t v = 0;
    const char *p = *s;
    while (*p >= '0' && *p <= '9' && v <= UINT32_MAX) {
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (p - *s < 6 || (p - *s > 6 && **s == '0') || v > UINT32_MAX) {
        return false;
    }
    *s = p;
    *no = (uint32_t)v;
    return true;
}

bool wal_name_parse(const char *name, const char *prefix, const char *suffix, uint32_t *no)
{
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0) {
        return false;
    }
    const char *p = name + plen;
    return wal_parse_number(&p, no) && strcmp(p, suffix) == 0;
}

/* "seg-NNNNNN.GGGGGG.del" */
static bool wal_tomb_parse(const char *name, uint32_t *seg_no, uint32_t *gen)
{
    const char *p = name + 4;
    return strncmp(name, "seg-", 4) == 0 && wal_parse_number(&p, seg_no) && *p++ == '.' &&
           wal_parse_number(&p, gen) && strcmp(p, ".del") == 0;
}

int wal_join(char *path, size_t cap, const char *dir, const char *name, struct sd_error *err)
{
    if ((size_t)snprintf(path, cap, "%s/%s", dir, name) >= cap) {
        return sd_errorf(err, SD_EINVAL, "path too long: %s/%s", dir, name);
    }
    return SD_OK;
}

static int wal_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Appends no to the growing array *nos. */
static int wal_push_no(uint32_t **nos, uint32_t *count, size_t *cap, uint32_t no)
{
    uint32_t *p = sd_grow(*nos, cap, (size_t)*count + 1, sizeof *p, 16);
    if (!p) {
        return SD_ENOMEM;
    }
    *nos = p;
    (*nos)[(*count)++] = no;
    return SD_OK;
}

static int wal_check_consecutive(const char *dir, const uint32_t *nos, uint32_t count,
                                 struct sd_error *err)
{
    for (uint32_t i = 0; i + 1 < count; i++) {
        if (nos[i + 1] != nos[i] + 1) {
            return SD_CORRUPT(err, "%s: log file wal-%06u.log is missing (have %06u and %06u)", dir,
                              nos[i] + 1, nos[i], nos[i + 1]);
        }
    }
    return SD_OK;
}

int wal_list_logs(const char *dir, uint32_t **nos, uint32_t *count, struct sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        return wal_syserr(err, errno, "opendir", dir);
    }
    size_t cap = 0;
    uint32_t no;
    int rc = SD_OK;
    *nos = NULL;
    *count = 0;
    struct dirent *de;
    while (rc == SD_OK && (de = readdir(d)) != NULL) {
        if (!wal_name_parse(de->d_name, "wal-", ".log", &no)) {
            continue;
        }
        if (*count >= WAL_MAX_LOG_FILES) {
            rc = sd_errorf(err, SD_ELIMIT, "%s: more than %u log files", dir, WAL_MAX_LOG_FILES);
        } else if (wal_push_no(nos, count, &cap, no)) {
            rc = sd_errorf(err, SD_ENOMEM, "listing %s", dir);
        }
    }
    closedir(d);
    if (rc == SD_OK && *count > 0) {
        qsort(*nos, *count, sizeof **nos, wal_cmp_u32);
        rc = wal_check_consecutive(dir, *nos, *count, err);
    }
    if (rc) {
        free(*nos);
        *nos = NULL;
        *count = 0;
    }
    return rc;
}

/* ---- garbage collection ---- */

static const struct wal_seg_entry *wal_find_entry(const struct wal_manifest *m, uint32_t seg_no)
{
    for (uint32_t i = 0; i < m->count; i++) {
        if (m->segs[i].seg_no == seg_no) {
            return &m->segs[i];
        }
    }
    return NULL;
}

/* True for a name we write with ".tmp" appended; tombstones and segments
 * are written by name.tmp + rename, logs and the MANIFEST too. */
static bool wal_is_our_tmp(const char *name)
{
    size_t len = strlen(name);
    char base[NAME_MAX + 1];
    uint32_t a, b;
    if (len < 5 || len > NAME_MAX || strcmp(name + len - 4, ".tmp") != 0) {
        return false;
    }
    memcpy(base, name, len - 4);
    base[len - 4] = '\0';
    return strcmp(base, WAL_MANIFEST_NAME) == 0 || strcmp(base, WAL_SYNCED_NAME) == 0 ||
           wal_name_parse(base, "wal-", ".log", &a) || wal_name_parse(base, "seg-", ".seg", &a) ||
           wal_tomb_parse(base, &a, &b);
}

/* What becomes of a file in an index directory, given the MANIFEST: 0 (keep:
 * referenced, or not a name of ours), WAL_GC_REMOVE or WAL_GC_LOST. */
static int wal_gc_classify(const struct wal_manifest *m, const char *name)
{
    uint32_t seg_no, gen;
    bool is_seg = wal_name_parse(name, "seg-", ".seg", &seg_no);
    bool is_tomb = !is_seg && wal_tomb_parse(name, &seg_no, &gen);
    if (!is_seg && !is_tomb) {
        return wal_is_our_tmp(name) ? WAL_GC_REMOVE : 0;
    }
    const struct wal_seg_entry *e = wal_find_entry(m, seg_no);
    if (!e) {
        return seg_no < m->next_seg_no ? WAL_GC_REMOVE : WAL_GC_LOST;
    }
    if (is_seg || gen == e->tomb_gen) {
        return 0;
    }
    return gen < e->tomb_gen ? WAL_GC_REMOVE : WAL_GC_LOST;
}

/* SD_OK when dir/lost+found/ is a directory or absent (a move creates it):
 * never through a link, where the file would leave the index (or the data
 * directory). name is the file that would go there, for the message. */
static int wal_lost_dir_check(const char *dir, const char *name, struct sd_error *err)
{
    char lost[PATH_MAX];
    struct stat st;
    int rc = wal_join(lost, sizeof lost, dir, WAL_LOST_DIR, err);
    if (rc) {
        return rc;
    }
    if (lstat(lost, &st) != 0) {
        return errno == ENOENT ? SD_OK : wal_syserr(err, errno, "stat", lost);
    }
    if (!S_ISDIR(st.st_mode)) {
        return SD_CORRUPT(err, "%s: not a directory (%s), so %s cannot be moved into it", lost,
                          S_ISLNK(st.st_mode) ? "a symbolic link" : "a file", name);
    }
    return SD_OK;
}

/* Moves dir/name into dir/lost+found/ (created if needed) under its own
 * name, or name.1, name.2... when that is taken: never over another file. */
int wal_move_to_lost(const char *dir, const char *name, struct sd_error *err)
{
    char lost[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
    int rc = wal_join(lost, sizeof lost, dir, WAL_LOST_DIR, err);
    if (rc == SD_OK) {
        rc = wal_join(from, sizeof from, dir, name, err);
    }
    if (rc == SD_OK) {
        rc = wal_lost_dir_check(dir, name, err);
    }
    if (rc) {
        return rc;
    }
    if (mkdir(lost, 0755) != 0 && errno != EEXIST) {
        return wal_syserr(err, errno, "mkdir", lost);
    }
    for (unsigned n = 0; n < 1000; n++) {
        int len = n ? snprintf(to, sizeof to, "%s/%s.%u", lost, name, n)
                    : snprintf(to, sizeof to, "%s/%s", lost, name);
        if (len < 0 || (size_t)len >= sizeof to) {
            return sd_errorf(err, SD_EINVAL, "path too long: %s/%s", lost, name);
        }
        if (access(to, F_OK) == 0) {
            continue;
        }
        if (rename(from, to) != 0) {
            return wal_syserr(err, errno, "move to " WAL_LOST_DIR, from);
        }
        return sd_fsync_dir(lost, err);
    }
    return sd_errorf(err, SD_ELIMIT, "%s: 1000 files named %s already", lost, name);
}

int wal_dir_each(const char *dir, wal_dir_fn fn, void *arg, struct sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        return wal_syserr(err, errno, "opendir", dir);
    }
    struct dirent *de;
    uint32_t no, gen;
    int rc = SD_OK;
    while (rc == SD_OK && (de = readdir(d)) != NULL) {
        if (wal_name_parse(de->d_name, "seg-", ".seg", &no)) {
            rc = fn(arg, de->d_name, no, 0);
        } else if (wal_tomb_parse(de->d_name, &no, &gen)) {
            rc = fn(arg, de->d_name, no, gen);
        }
    }
    closedir(d);
    return rc;
}

int wal_log_first_seq(const char *dir, uint64_t *first_seq, struct sd_error *err)
{
    uint32_t *nos, count;
    int rc = wal_list_logs(dir, &nos, &count, err);
    if (rc) {
        return rc;
    }
    if (count == 0) {
        return sd_errorf(err, SD_ENOTFOUND, "%s: no log files", dir);
    }
    char name[WAL_NAME_MAX], path[PATH_MAX];
    uint8_t h[WAL_HEADER_LEN];
    wal_log_name(name, nos[0]);
    rc = wal_join(path, sizeof path, dir, name, err);
    int fd = -1;
    if (rc == SD_OK) {
        rc = sd_open_file(path, O_RDONLY, 0, &fd, err);
    }
    if (rc == SD_OK && pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        rc = SD_CORRUPT(err, "%s: too short for a log header", path);
    }
    if (rc == SD_OK) {
        rc = wal_header_decode(h, path, nos[0], first_seq, err);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(nos);
    return rc;
}

int wal_dir_scan(const char *dir, struct wal_dir_files *out, struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) {
        return wal_syserr(err, errno, "opendir", dir);
    }
    struct dirent *de;
    uint32_t a, b;
    while ((de = readdir(d)) != NULL) {
        bool is_seg = wal_name_parse(de->d_name, "seg-", ".seg", &a);
        bool is_tomb = !is_seg && wal_tomb_parse(de->d_name, &a, &b);
        out->segments += is_seg;
        out->tombstones += is_tomb;
        out->logs += wal_name_parse(de->d_name, "wal-", ".log", &a);
        if ((is_seg || is_tomb) && !out->first[0] && strlen(de->d_name) < sizeof out->first) {
            memcpy(out->first, de->d_name, strlen(de->d_name) + 1); /* parsed: it fits */
        }
    }
    closedir(d);
    return SD_OK;
}

/* Also wal_gc()'s first pass, so that a refusal changes nothing, and
 * `searchd --check` (a dry wal_gc) fails exactly where an open would. */
int wal_gc_check(const char *dir, const struct wal_manifest *m, struct sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        return wal_syserr(err, errno, "opendir", dir);
    }
    int rc = SD_OK;
    struct dirent *de;
    while (rc == SD_OK && (de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;
        int action = wal_gc_classify(m, de->d_name);
        if (action == WAL_GC_LOST) {
            rc = wal_lost_dir_check(dir, de->d_name, err);
        } else if (action == WAL_GC_REMOVE &&
                   (rc = wal_join(path, sizeof path, dir, de->d_name, err)) == SD_OK &&
                   lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = SD_CORRUPT(err, "%s: a directory where searchd keeps its own files: move it away",
                            path);
        }
    }
    closedir(d);
    return rc;
}

int wal_gc(const char *dir, const struct wal_manifest *m, bool is_dry_run, wal_gc_fn fn, void *arg,
           struct sd_error *err)
{
    int rc = wal_gc_check(dir, m, err);
    if (rc) {
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return wal_syserr(err, errno, "opendir", dir);
    }
    int done = 0;
    struct dirent *de;
    while (rc == SD_OK && (de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        int action = wal_gc_classify(m, de->d_name);
        if (action == 0) {
            continue;
        }
        if (fn) {
            fn(arg, de->d_name, (enum wal_gc_action)action);
        }
        if (is_dry_run) {
            done++;
            continue;
        }
        if (action == WAL_GC_LOST) {
            rc = wal_move_to_lost(dir, de->d_name, err);
        } else if ((rc = wal_join(path, sizeof path, dir, de->d_name, err)) == SD_OK &&
                   unlink(path) != 0 && errno != ENOENT) {
            rc = wal_syserr(err, errno, "unlink", path);
        }
        if (rc == SD_OK) {
            done++;
        }
    }
    closedir(d);
    if (done > 0 && rc == SD_OK && !is_dry_run) {
        rc = sd_fsync_dir(dir, err);
    }
    return rc ? rc : done;
}
