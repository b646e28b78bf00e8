/*
 * repair.c: `searchd --repair DIR`: rebuilds the MANIFEST of each index that
 * has lost it (missing, or damaged) from the files it finds, offline. It
 * never deletes a file: what it cannot place goes into INDEX/lost+found/.
 *
 * For an index without a sound MANIFEST (a damaged one is moved aside first):
 *  1. every seg-S.seg is opened and verified; one that fails is moved aside;
 *  2. for each kept segment, the tombstone file that verifies against it
 *     with the most deleted documents (bits are only ever set, so that is the
 *     newest) gives its deletes; tombstone files that verify against nothing
 *     (no such segment, wrong size, damage) are moved aside;
 *  3. an id live in two kept segments (a merge's output beside its inputs,
 *     after a crash) keeps only its copy in the highest-numbered segment;
 *     the others are marked deleted. Segment numbers grow with time, so that
 *     copy is the newest, except when a flush and a merge overlapped (see
 *     docs/DATA.md: the log replayed on top settles every write it still
 *     holds);
 *  4. the checkpoint is the seq before the oldest log file's first record:
 *     older records were deleted only once a durable MANIFEST covered them,
 *     so they are in segments; the records kept are replayed again when the
 *     index opens, and replaying an upsert or a delete twice gives the same
 *     index;
 *  5. new tombstone files (one generation past any found) and the MANIFEST
 *     are written. The superseded tombstone generations are then provably
 *     obsolete and the next open removes them.
 * An index whose MANIFEST reads fine is left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "engine_int.h"

struct idx_rep_seg {
    uint32_t seg_no;
    struct seg *seg; /* owned */
    uint64_t *bits;  /* owned, never NULL */
    uint32_t ndeleted;
    uint32_t max_gen; /* newest tombstone generation seen, valid or not */
};

struct idx_rep {
    FILE *out;
    const char *name; /* index name, for messages */
    const char *dir;
    struct idx_rep_seg *segs; /* owned, sorted by seg_no once listed */
    size_t nsegs;
    uint32_t max_seg_no; /* over every segment or tombstone file seen */
    unsigned moved;
};

static void idx_rep_free(struct idx_rep *r)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        seg_close(r->segs[i].seg);
        free(r->segs[i].bits);
    }
    free(r->segs);
}

static int idx_rep_move(struct idx_rep *r, const char *file, const char *why, struct sd_error *err)
{
    fprintf(r->out, "index=%s moved %s to %s/: %s\n", r->name, file, WAL_LOST_DIR, why);
    r->moved++;
    return wal_move_to_lost(r->dir, file, err);
}

/* Step 1, per segment file. */
static int idx_rep_add_seg(void *arg, const char *file, uint32_t seg_no, uint32_t gen)
{
    struct idx_rep *r = arg;
    r->max_seg_no = seg_no > r->max_seg_no ? seg_no : r->max_seg_no;
    if (gen) {
        return SD_OK;
    }
    struct idx_rep_seg *p = realloc(r->segs, (r->nsegs + 1) * sizeof *p);
    if (!p) {
        return SD_ENOMEM;
    }
    r->segs = p;
    memset(&p[r->nsegs], 0, sizeof *p);
    p[r->nsegs++].seg_no = seg_no;
    (void)file;
    return SD_OK;
}

static struct idx_rep_seg *idx_rep_find(struct idx_rep *r, uint32_t seg_no)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        if (r->segs[i].seg_no == seg_no && r->segs[i].seg) {
            return &r->segs[i];
        }
    }
    return NULL;
}

/* Step 2, per tombstone file: keeps the newest generation that verifies. */
static int idx_rep_add_tomb(void *arg, const char *file, uint32_t seg_no, uint32_t gen)
{
    struct idx_rep *r = arg;
    if (!gen) {
        return SD_OK;
    }
    struct idx_rep_seg *s = idx_rep_find(r, seg_no);
    struct sd_error why = {0}, err;
    if (!s) {
        return idx_rep_move(r, file, "no sound segment of that number", &err) ? SD_EIO : SD_OK;
    }
    s->max_gen = gen > s->max_gen ? gen : s->max_gen;
    uint64_t *bits = NULL;
    uint32_t ndeleted = 0;
    int rc = wal_tomb_read(r->dir, seg_no, gen, seg_doc_count(s->seg), 0, &bits, &ndeleted, &why);
    if (rc == SD_ENOMEM) {
        return rc;
    }
    if (rc) {
        return idx_rep_move(r, file, why.msg, &err) ? SD_EIO : SD_OK;
    }
    if (ndeleted >= s->ndeleted) { /* bits only ever get set: the fuller one is newer */
        free(s->bits);
        s->bits = bits;
        s->ndeleted = ndeleted;
    } else {
        free(bits);
    }
    return SD_OK;
}

static int idx_rep_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct idx_rep_seg *)a)->seg_no;
    uint32_t y = ((const struct idx_rep_seg *)b)->seg_no;
    return (x > y) - (x < y);
}

static int idx_rep_open_segs(struct idx_rep *r, struct sd_error *err)
{
    qsort(r->segs, r->nsegs, sizeof *r->segs, idx_rep_cmp);
    for (size_t i = 0; i < r->nsegs; i++) {
        struct idx_rep_seg *s = &r->segs[i];
        char file[WAL_NAME_MAX], path[PATH_MAX];
        struct sd_error why = {0};
        wal_seg_name(file, s->seg_no);
        if (sd_path_join(path, sizeof path, r->dir, file)) {
            return sd_errorf(err, SD_EINVAL, "%s: path too long", r->dir);
        }
        int rc = seg_open_file(path, &s->seg, &why);
        if (rc == SD_ENOMEM) {
            return sd_errorf(err, rc, "%s", why.msg);
        }
        if (rc && (rc = idx_rep_move(r, file, why.msg, err)) != SD_OK) {
            return rc;
        }
        if (s->seg) {
            size_t words = ((size_t)seg_doc_count(s->seg) + 63) / 64;
            s->bits = calloc(words ? words : 1, sizeof *s->bits);
            if (!s->bits) {
                return sd_errorf(err, SD_ENOMEM, "%s: out of memory", r->dir);
            }
        }
    }
    return SD_OK;
}

/* Step 3: newest segment first, an id seen already is deleted here. */
static int idx_rep_dedupe(struct idx_rep *r, struct sd_error *err)
{
    struct idx_idmap *seen = idx_idmap_new();
    if (!seen) {
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", r->dir);
    }
    int rc = SD_OK;
    uint64_t dups = 0;
    for (size_t i = r->nsegs; i-- > 0 && rc == SD_OK;) {
        struct idx_rep_seg *s = &r->segs[i];
        for (uint32_t d = 0; s->seg && d < seg_doc_count(s->seg) && rc == SD_OK; d++) {
            const char *id;
            size_t len;
            uint32_t v;
            if (idx_bits_test(s->bits, d)) {
                continue;
            }
            seg_doc_id(s->seg, d, &id, &len);
            if (idx_idmap_get(seen, id, len, &v)) {
                s->bits[d / 64] |= UINT64_C(1) << (d % 64);
                s->ndeleted++;
                dups++;
            } else {
                rc = idx_idmap_put(seen, id, len, 0);
            }
        }
    }
    idx_idmap_free(seen);
    if (rc) {
        return sd_errorf(err, rc, "%s: out of memory", r->dir);
    }
    if (dups) {
        fprintf(r->out,
                "index=%s %llu ids found in more than one segment: the copy in the "
                "highest-numbered segment is kept\n",
                r->name, (unsigned long long)dups);
    }
    return SD_OK;
}

/* Steps 4 and 5. */
static int idx_rep_write(struct idx_rep *r, struct sd_error *err)
{
    struct wal_manifest m;
    uint64_t first_seq = 0;
    int rc = wal_log_first_seq(r->dir, &first_seq, err);
    if (rc && rc != SD_ENOTFOUND) {
        return rc;
    }
    char synced[PATH_MAX];
    if (!first_seq && sd_path_join(synced, sizeof synced, r->dir, WAL_SYNCED_NAME) == SD_OK &&
        access(synced, F_OK) == 0 &&
        (rc = idx_rep_move(r, WAL_SYNCED_NAME, "no log file is left to check it against", err))) {
        return rc;
    }
    wal_manifest_init(&m);
    m.checkpoint_seq = first_seq ? first_seq - 1 : 0;
    m.next_seg_no = r->max_seg_no + 1;
    m.segs = calloc(r->nsegs ? r->nsegs : 1, sizeof *m.segs);
    if (!m.segs) {
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", r->dir);
    }
    rc = SD_OK;
    for (size_t i = 0; i < r->nsegs && rc == SD_OK; i++) {
        const struct idx_rep_seg *s = &r->segs[i];
        if (!s->seg) {
            continue;
        }
        struct wal_seg_entry *e = &m.segs[m.count++];
        e->seg_no = s->seg_no;
        e->doc_count = seg_doc_count(s->seg);
        e->deleted_count = s->ndeleted;
        e->seg_hash = seg_checksum(s->seg);
        if (s->ndeleted) {
            e->tomb_gen = s->max_gen + 1;
            rc = wal_tomb_write(r->dir, s->seg_no, e->tomb_gen, s->bits, e->doc_count,
                                &e->tomb_hash, err);
        }
    }
    if (rc == SD_OK) {
        rc = wal_manifest_write(r->dir, &m, err);
    }
    if (rc == SD_OK) {
        fprintf(r->out,
                "index=%s MANIFEST rebuilt: %u segments, checkpoint %llu, %u files moved "
                "to %s/%s/\n",
                r->name, m.count, (unsigned long long)m.checkpoint_seq, r->moved, r->dir,
                WAL_LOST_DIR);
    }
    wal_manifest_free(&m);
    return rc;
}

static int idx_repair_index(FILE *out, const char *data_dir, const char *name, struct sd_error *err)
{
    char dir[PATH_MAX];
    struct wal_manifest m;
    struct idx_rep r = {.out = out, .name = name, .dir = dir};
    if (sd_path_join(dir, sizeof dir, data_dir, name)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", data_dir);
    }
    int rc = wal_manifest_read(dir, &m, err);
    wal_manifest_free(&m);
    if (rc == SD_OK) {
        fprintf(out, "index=%s the MANIFEST reads fine: nothing to repair\n", name);
        return SD_OK;
    }
    if (rc == SD_ECORRUPT) {
        rc = idx_rep_move(&r, WAL_MANIFEST_NAME, err->msg, err);
    } else if (rc == SD_ENOTFOUND) {
        rc = SD_OK;
    }
    if (rc == SD_OK) {
        rc = wal_dir_each(dir, idx_rep_add_seg, &r, err);
    }
    if (rc == SD_OK) {
        rc = idx_rep_open_segs(&r, err);
    }
    if (rc == SD_OK) {
        rc = wal_dir_each(dir, idx_rep_add_tomb, &r, err);
    }
    if (rc == SD_OK) {
        rc = idx_rep_dedupe(&r, err);
    }
    if (rc == SD_OK) {
        rc = idx_rep_write(&r, err);
    }
    if (rc && !err->msg[0]) {
        sd_errorf(err, rc, "%s: repair failed", dir);
    }
    idx_rep_free(&r);
    return rc;
}

/* The running searchd's lock (db.c): repair never runs beside it. */
static int idx_repair_lock(const char *data_dir, int *fd, struct sd_error *err)
{
    char path[PATH_MAX];
    if (sd_path_join(path, sizeof path, data_dir, "LOCK")) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", data_dir);
    }
    int rc = sd_open_file(path, O_RDWR | O_CREAT, 0644, fd, err);
    if (rc) {
        return rc;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        return sd_errorf(err, SD_EBUSY, "%s is in use by a running searchd (%s is locked)",
                         data_dir, path);
    }
    return SD_OK;
}

int idx_repair_dir(const char *data_dir, void *out_file, struct sd_error *err)
{
    int lock_fd = -1;
    int rc = idx_repair_lock(data_dir, &lock_fd, err);
    DIR *d = rc == SD_OK ? opendir(data_dir) : NULL;
    if (rc == SD_OK && !d) {
        rc = sd_errorf(err, sd_status_from_errno(errno), "open %s: %s", data_dir, strerror(errno));
    }
    if (rc) {
        if (lock_fd >= 0) {
            close(lock_fd);
        }
        return rc;
    }
    struct dirent *e;
    while (rc == SD_OK && (e = readdir(d)) != NULL) {
        bool is_other;
        if (idx_db_entry_is_index(data_dir, e->d_name, &is_other)) {
            rc = idx_repair_index(out_file, data_dir, e->d_name, err);
        }
    }
    closedir(d);
    close(lock_fd);
    return rc;
}
