/*
 * wal_dir.c: the names of the files in an index directory, and the garbage
 * collector that removes the ones the MANIFEST no longer references.
 *
 *   MANIFEST                 live segments + log checkpoint (wal_manifest.c)
 *   wal-NNNNNN.log           write-ahead log files (wal_log.c)
 *   seg-NNNNNN.seg           an immutable segment (index/seg)
 *   seg-NNNNNN.GGGGGG.del    its deleted-docs bitmap, generation G (wal_tomb.c)
 *   <one of the above>.tmp   a file being written atomically; garbage after a crash
 * Numbers are decimal, zero-padded to 6 digits (more once they outgrow it),
 * so `ls` sorts them and `seg-000042.*` is everything about one segment.
 * Names that match none of these are never touched.
 */
#include "wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
    while (*p >= '0' && *p <= '9' && v <= UINT32_MAX)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p - *s < 6 || (p - *s > 6 && **s == '0') || v > UINT32_MAX)
        return false;
    *s = p;
    *no = (uint32_t)v;
    return true;
}

bool wal_name_parse(const char *name, const char *prefix, const char *suffix, uint32_t *no)
{
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0)
        return false;
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
    if ((size_t)snprintf(path, cap, "%s/%s", dir, name) >= cap)
        return sd_errorf(err, SD_EINVAL, "path too long: %s/%s", dir, name);
    return SD_OK;
}

static int wal_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Appends no to the growing array *nos. */
static int wal_push_no(uint32_t **nos, uint32_t *count, uint32_t *cap, uint32_t no)
{
    if (*count == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 16;
        uint32_t *p = realloc(*nos, ncap * sizeof *p);
        if (!p)
            return SD_ENOMEM;
        *nos = p;
        *cap = ncap;
    }
    (*nos)[(*count)++] = no;
    return SD_OK;
}

static int wal_check_consecutive(const char *dir, const uint32_t *nos, uint32_t count,
                                 struct sd_error *err)
{
    for (uint32_t i = 0; i + 1 < count; i++) {
        if (nos[i + 1] != nos[i] + 1)
            return SD_CORRUPT(err, "%s: log file wal-%06u.log is missing (have %06u and %06u)", dir,
                              nos[i] + 1, nos[i], nos[i + 1]);
    }
    return SD_OK;
}

int wal_list_logs(const char *dir, uint32_t **nos, uint32_t *count, struct sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return wal_syserr(err, errno, "opendir", dir);
    uint32_t cap = 0, no;
    int rc = SD_OK;
    *nos = NULL;
    *count = 0;
    struct dirent *de;
    while (rc == SD_OK && (de = readdir(d)) != NULL) {
        if (!wal_name_parse(de->d_name, "wal-", ".log", &no))
            continue;
        if (*count >= WAL_MAX_LOG_FILES)
            rc = sd_errorf(err, SD_ELIMIT, "%s: more than %u log files", dir, WAL_MAX_LOG_FILES);
        else if (wal_push_no(nos, count, &cap, no))
            rc = sd_errorf(err, SD_ENOMEM, "listing %s", dir);
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

static bool wal_is_live_seg(const struct wal_manifest *m, uint32_t seg_no)
{
    for (uint32_t i = 0; i < m->count; i++) {
        if (m->segs[i].seg_no == seg_no)
            return true;
    }
    return false;
}

static bool wal_is_live_tomb(const struct wal_manifest *m, uint32_t seg_no, uint32_t gen)
{
    for (uint32_t i = 0; i < m->count; i++) {
        if (m->segs[i].seg_no == seg_no)
            return gen != 0 && m->segs[i].tomb_gen == gen;
    }
    return false;
}

/* True for a name we write with ".tmp" appended; tombstones and segments
 * are written by name.tmp + rename, logs and the MANIFEST too. */
static bool wal_is_our_tmp(const char *name)
{
    size_t len = strlen(name);
    char base[NAME_MAX + 1];
    uint32_t a, b;
    if (len < 5 || len > NAME_MAX || strcmp(name + len - 4, ".tmp") != 0)
        return false;
    memcpy(base, name, len - 4);
    base[len - 4] = '\0';
    return strcmp(base, WAL_MANIFEST_NAME) == 0 || wal_name_parse(base, "wal-", ".log", &a) ||
           wal_name_parse(base, "seg-", ".seg", &a) || wal_tomb_parse(base, &a, &b);
}

static bool wal_is_garbage(const struct wal_manifest *m, const char *name)
{
    uint32_t seg_no, gen;
    if (wal_name_parse(name, "seg-", ".seg", &seg_no))
        return !wal_is_live_seg(m, seg_no);
    if (wal_tomb_parse(name, &seg_no, &gen))
        return !wal_is_live_tomb(m, seg_no, gen);
    return wal_is_our_tmp(name);
}

int wal_gc(const char *dir, const struct wal_manifest *m, struct sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return wal_syserr(err, errno, "opendir", dir);
    int rc = SD_OK, removed = 0;
    struct dirent *de;
    while (rc == SD_OK && (de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (!wal_is_garbage(m, de->d_name))
            continue;
        rc = wal_join(path, sizeof path, dir, de->d_name, err);
        if (rc == SD_OK && unlink(path) != 0 && errno != ENOENT)
            rc = wal_syserr(err, errno, "unlink", path);
        if (rc == SD_OK)
            removed++;
    }
    closedir(d);
    if (removed > 0 && rc == SD_OK)
        rc = sd_fsync_dir(dir, err);
    return rc ? rc : removed;
}
