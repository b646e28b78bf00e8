/*
 * backup.c: online snapshots of an index (idx_snapshot; docs/DATA.md "Snapshots").
 *
 * A snapshot is a data directory SNAPSHOT_DIR/NAME holding one index directory, INDEX/, with
 * a MANIFEST, the segment and tombstone files it names, SETTINGS, and one empty log file.
 * searchd opens it like any data directory, and `searchd --check` verifies it.
 *
 * WHAT "CONSISTENT" MEANS. Every write acknowledged before the call began is in the
 * snapshot, and the snapshot is the index as one MANIFEST described it: no segment of a
 * later merge beside its inputs, no tombstone generation of another moment.
 *
 * THE LOG: WE FLUSH, WE DO NOT COPY IT. Writes acknowledged before the call are durable up
 * to durable_seq; the writer is asked for a flush of everything logged (flush_wanted; it
 * rotates the log, the memory merger writes the segment and a MANIFEST whose checkpoint
 * covers it), and we wait until checkpoint_seq >= that seq. The snapshot then needs no
 * record of the log: it gets an empty log file starting at checkpoint + 1
 * (wal_create_empty), so opening it replays nothing. Copying the log instead would mean
 * reading files the writer thread owns, appends to and deletes, up to a synced length only
 * it knows, and a wal.synced matching the cut; a flush is what every close does anyway, and
 * costs one segment write. A degraded index cannot flush (its checkpoint must stay) and is
 * refused.
 *
 * PINNING. Under manifest_lock no MANIFEST is written, so the MANIFEST on disk is the one
 * in force and every file it names exists. While holding it we read it, take a reference to
 * each of its segments in the live list (idx_segref: a segment's file is unlinked only when
 * its last reference goes), and link or copy its tombstone files (small; an older generation
 * is unlinked by the next MANIFEST commit, which waits for the lock) and the MANIFEST
 * itself. The segments, the bulk of the bytes, are linked or copied after the lock is
 * released; the references keep them. A segment the live list no longer holds (a commit
 * whose MANIFEST write failed) was never marked obsolete, so its file stays too.
 *
 * LINK OR COPY. Segment and tombstone files are immutable and MANIFEST and SETTINGS are
 * replaced by rename, never rewritten, so a hard link is a faithful copy that costs no
 * space. Across filesystems (EXDEV, or a filesystem without links) the file is copied and
 * fsynced. A hard-linked snapshot shares the disk with the index: copy it elsewhere (cp -a,
 * rsync, tar) to survive the loss of that disk.
 *
 * ALL OR NOTHING. Everything is written under SNAPSHOT_DIR/.NAME.partial (a name starting
 * with '.' is never a snapshot or index name), which we hold an flock on; each copied file
 * is fsynced, then both directories; then one renameat2(RENAME_NOREPLACE) makes NAME appear
 * whole, and SNAPSHOT_DIR is fsynced. A crash (kill -9) at any point before the rename
 * leaves no NAME. A .partial whose flock nobody holds is a leftover and the next snapshot
 * removes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"

#define IDX_PARTIAL_SUFFIX ".partial"
#define IDX_COPY_CHUNK     (256u << 10)

/* One snapshot being written. */
struct idx_backup {
    struct idx_index *ix;           /* borrowed; one of its users */
    char tmp[PATH_MAX];             /* SNAPSHOT_DIR/.NAME.partial */
    char tmp_ix[PATH_MAX];          /* .../INDEX */
    char final[PATH_MAX];           /* SNAPSHOT_DIR/NAME */
    int lock_fd;                    /* flock on tmp while we write it; -1: none */
    bool can_link;                  /* false after EXDEV: copy the rest */
    struct idx_snapshot_info *info; /* counters; never NULL here */
};

/* ---- the snapshot directory ---- */

int idx_backup_set_dir(struct idx_db *db, const char *dir, struct sd_error *err)
{
    char real[PATH_MAX], data[PATH_MAX];
    struct stat st;
    if (!realpath(dir, real) || stat(real, &st) != 0) {
        return sd_errorf(err, SD_EINVAL, "snapshot-dir %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return sd_errorf(err, SD_EINVAL, "snapshot-dir %s: not a directory", dir);
    }
    if (!realpath(db->dir, data)) {
        return sd_errorf(err, SD_EIO, "%s: %s", db->dir, strerror(errno));
    }
    size_t n = strlen(data);
    /* Inside the data directory a snapshot NAME would be opened as an index NAME. */
    if (strncmp(real, data, n) == 0 && (real[n] == '\0' || real[n] == '/')) {
        return sd_errorf(err, SD_EINVAL, "snapshot-dir %s is inside the data directory %s", dir,
                         db->dir);
    }
    /* room for "/.NAME.partial/INDEX/seg-...": checked once here, not per file */
    if (strlen(real) + 2 * IDX_MAX_NAME + 64 >= PATH_MAX) {
        return sd_errorf(err, SD_EINVAL, "snapshot-dir %s: path too long", dir);
    }
    db->snapshot_dir = strdup(real);
    return db->snapshot_dir ? SD_OK : sd_errorf(err, SD_ENOMEM, "out of memory");
}

/* Removes a .partial tree: INDEX/ and its files, then the directory. */
static int idx_backup_remove(const char *tmp, struct sd_error *err)
{
    DIR *d = opendir(tmp);
    if (!d) {
        return errno == ENOENT ? SD_OK
                               : sd_errorf(err, SD_EIO, "open %s: %s", tmp, strerror(errno));
    }
    int rc = SD_OK;
    struct dirent *e;
    while (rc == SD_OK && (e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (sd_path_join(path, sizeof path, tmp, e->d_name)) {
            rc = sd_errorf(err, SD_EINVAL, "%s: path too long", tmp);
        } else if (unlink(path) != 0) {
            rc = errno == EISDIR ? idx_remove_dir(path, err)
                                 : sd_errorf(err, SD_EIO, "remove %s: %s", path, strerror(errno));
        }
    }
    closedir(d);
    if (rc == SD_OK && rmdir(tmp) != 0 && errno != ENOENT) {
        rc = sd_errorf(err, SD_EIO, "rmdir %s: %s", tmp, strerror(errno));
    }
    return rc;
}

/* Opens dir and takes its flock without waiting: *fd, or SD_EBUSY when another snapshot
 * (of this or another searchd) holds it. */
static int idx_backup_lock(const char *dir, int *fd, struct sd_error *err)
{
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        return sd_errorf(err, sd_status_from_errno(errno), "open %s: %s", dir, strerror(errno));
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return sd_errorf(err, SD_EBUSY, "%s is being written by another snapshot", dir);
    }
    return SD_OK;
}

/* Leftovers of snapshots a crash interrupted: every .*.partial nobody holds goes. */
static void idx_backup_sweep(const struct idx_db *db)
{
    const char *snapshot_dir = db->snapshot_dir;
    DIR *d = opendir(snapshot_dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    size_t slen = strlen(IDX_PARTIAL_SUFFIX);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char path[PATH_MAX];
        int fd;
        struct sd_error err;
        if (e->d_name[0] != '.' || n <= slen + 1 ||
            strcmp(e->d_name + n - slen, IDX_PARTIAL_SUFFIX) != 0 ||
            sd_path_join(path, sizeof path, snapshot_dir, e->d_name) ||
            idx_backup_lock(path, &fd, &err) != SD_OK) {
            continue;
        }
        if (idx_backup_remove(path, &err) != SD_OK) {
            idx_event(db, IDX_LOG_WARN, "event=snapshot_leftover msg=\"%s\"", err.msg); /* next time */
        }
        close(fd);
    }
    closedir(d);
}

/* Names, the .partial directory with INDEX/ in it, and its lock. */
static int idx_backup_begin(struct idx_backup *b, const char *snapshot_dir, const char *name,
                            struct sd_error *err)
{
    char leaf[IDX_MAX_NAME + sizeof IDX_PARTIAL_SUFFIX + 2];
    snprintf(leaf, sizeof leaf, ".%s%s", name, IDX_PARTIAL_SUFFIX);
    if (sd_path_join(b->final, sizeof b->final, snapshot_dir, name) ||
        sd_path_join(b->tmp, sizeof b->tmp, snapshot_dir, leaf) ||
        sd_path_join(b->tmp_ix, sizeof b->tmp_ix, b->tmp, b->ix->name)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", snapshot_dir);
    }
    struct stat st;
    if (lstat(b->final, &st) == 0 || errno != ENOENT) {
        return sd_errorf(err, SD_EINVAL, "snapshot '%s' exists already", name);
    }
    if (mkdir(b->tmp, 0755) != 0 && errno != EEXIST) {
        return sd_errorf(err, sd_status_from_errno(errno), "mkdir %s: %s", b->tmp, strerror(errno));
    }
    int rc = idx_backup_lock(b->tmp, &b->lock_fd, err);
    if (rc) {
        return rc;
    }
    /* ours now: whatever a crashed attempt left in it goes */
    DIR *d = opendir(b->tmp_ix);
    if (d) {
        closedir(d);
        if ((rc = idx_remove_dir(b->tmp_ix, err)) != SD_OK) {
            return rc;
        }
    }
    if (mkdir(b->tmp_ix, 0755) != 0) {
        return sd_errorf(err, sd_status_from_errno(errno), "mkdir %s: %s", b->tmp_ix,
                         strerror(errno));
    }
    return SD_OK;
}

/* ---- files ---- */

static int idx_copy_fd(int in, int out, const char *src, const char *dst, struct sd_error *err)
{
    char *buf = malloc(IDX_COPY_CHUNK);
    if (!buf) {
        return sd_errorf(err, SD_ENOMEM, "copy %s: out of memory", src);
    }
    int rc = SD_OK;
    for (;;) {
        ssize_t n = read(in, buf, IDX_COPY_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = sd_errorf(err, SD_EIO, "read %s: %s", src, strerror(errno));
            break;
        }
        if (n == 0) {
            break;
        }
        for (ssize_t off = 0; off < n && rc == SD_OK;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR) {
                rc = sd_errorf(err, sd_status_from_errno(errno), "write %s: %s", dst,
                               strerror(errno));
            }
            off += w > 0 ? w : 0;
        }
        if (rc) {
            break;
        }
    }
    free(buf);
    if (rc == SD_OK && fsync(out) != 0) {
        rc = sd_errorf(err, sd_status_from_errno(errno), "fsync %s: %s", dst, strerror(errno));
    }
    return rc;
}

static int idx_copy_file(const char *src, const char *dst, struct sd_error *err)
{
    int in;
    int rc = sd_open_file(src, O_RDONLY, 0, &in, err);
    if (rc) {
        return rc;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return sd_errorf(err, sd_status_from_errno(e), "create %s: %s", dst, strerror(e));
    }
    rc = idx_copy_fd(in, out, src, dst, err);
    close(in);
    if (close(out) != 0 && rc == SD_OK) {
        rc = sd_errorf(err, SD_EIO, "close %s: %s", dst, strerror(errno));
    }
    return rc;
}

/* INDEX/name into the snapshot: a hard link, or a copy when links cannot cross to it.
 * A missing source is SD_ENOTFOUND (the caller decides whether that is fine). */
static int idx_backup_file(struct idx_backup *b, const char *name, struct sd_error *err)
{
    char src[PATH_MAX], dst[PATH_MAX];
    if (sd_path_join(src, sizeof src, b->ix->dir, name) ||
        sd_path_join(dst, sizeof dst, b->tmp_ix, name)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", name);
    }
    struct stat st;
    if (stat(src, &st) != 0) {
        return sd_errorf(err, sd_status_from_errno(errno), "%s: %s", src, strerror(errno));
    }
    if (b->can_link && link(src, dst) == 0) {
        b->info->linked++;
        b->info->bytes += (uint64_t)st.st_size;
        return SD_OK;
    }
    if (b->can_link && errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EOPNOTSUPP) {
        return sd_errorf(err, sd_status_from_errno(errno), "link %s to %s: %s", src, dst,
                         strerror(errno));
    }
    b->can_link = false;
    int rc = idx_copy_file(src, dst, err);
    if (rc == SD_OK) {
        b->info->copied++;
        b->info->bytes += (uint64_t)st.st_size;
    }
    return rc;
}

/* ---- the flush: every acknowledged write into segments ---- */

/* Asks the writer for a flush of all it logged and waits until the MANIFEST checkpoint
 * covers *target, the last durable seq when we were called. A failed flush (disk full)
 * ends the wait with its message. */
static int idx_backup_flush(struct idx_index *ix, uint64_t *target, struct sd_error *err)
{
    *target = atomic_load(&ix->durable_seq);
    pthread_mutex_lock(&ix->state_lock);
    uint64_t failures = ix->merge_failures;
    bool is_covered = ix->checkpoint_seq >= *target;
    pthread_mutex_unlock(&ix->state_lock);
    if (is_covered) {
        return SD_OK;
    }
    pthread_mutex_lock(&ix->queue_lock);
    ix->flush_wanted = true;
    pthread_cond_signal(&ix->queue_cond);
    pthread_mutex_unlock(&ix->queue_lock);
    int rc = SD_OK;
    pthread_mutex_lock(&ix->state_lock);
    while (ix->checkpoint_seq < *target && ix->merge_failures == failures) {
        pthread_cond_wait(&ix->mem_cond, &ix->state_lock);
    }
    if (ix->checkpoint_seq < *target) {
        rc = sd_errorf(err, SD_EIO, "index %s: the flush before the snapshot failed: %s", ix->name,
                       ix->flush_error);
    }
    pthread_mutex_unlock(&ix->state_lock);
    return rc;
}

/* ---- the MANIFEST of one moment and its files ---- */

/* References to the live segments m names (state_lock taken here); refs[i] may stay NULL. */
static void idx_backup_pin(struct idx_index *ix, const struct wal_manifest *m,
                           struct idx_segref **refs)
{
    pthread_mutex_lock(&ix->state_lock);
    for (uint32_t i = 0; i < m->count; i++) {
        for (size_t j = 0; j < ix->nlive && !refs[i]; j++) {
            if (ix->live[j].ref->seg_no == m->segs[i].seg_no) {
                refs[i] = ix->live[j].ref;
                atomic_fetch_add(&refs[i]->refs, 1);
            }
        }
    }
    pthread_mutex_unlock(&ix->state_lock);
}

/* Under manifest_lock: reads the MANIFEST in force into m, pins its segments (*refs owned:
 * one entry per segment, each a reference or NULL) and links or copies it and its tombstone
 * files. */
static int idx_backup_manifest(struct idx_backup *b, uint64_t target, struct wal_manifest *m,
                               struct idx_segref ***refs, struct sd_error *err)
{
    struct idx_index *ix = b->ix;
    bool is_new;
    int rc = idx_manifest_load(ix->dir, m, &is_new, err);
    if (rc == SD_OK && m->checkpoint_seq < target) {
        rc = sd_errorf(err, SD_EIO, "index %s: MANIFEST checkpoint %llu is behind seq %llu",
                       ix->name, (unsigned long long)m->checkpoint_seq, (unsigned long long)target);
    }
    if (rc == SD_OK && !(*refs = calloc(m->count ? m->count : 1, sizeof **refs))) {
        rc = sd_errorf(err, SD_ENOMEM, "snapshot: out of memory");
    }
    if (rc) {
        return rc;
    }
    idx_backup_pin(ix, m, *refs);
    rc = idx_backup_file(b, WAL_MANIFEST_NAME, err);
    for (uint32_t i = 0; i < m->count && rc == SD_OK; i++) {
        char name[WAL_NAME_MAX];
        if (m->segs[i].tomb_gen == 0) {
            continue;
        }
        wal_tomb_name(name, m->segs[i].seg_no, m->segs[i].tomb_gen);
        rc = idx_backup_file(b, name, err);
    }
    return rc;
}

/* SETTINGS, settings_write_lock held by the caller (no SETTINGS rename meanwhile). */
static int idx_backup_settings(struct idx_backup *b, struct sd_error *err)
{
    int rc = idx_backup_file(b, IDX_SETTINGS_FILE, err);
    return rc == SD_ENOTFOUND ? SD_OK : rc; /* never set: none to copy */
}

/* The index's files into .partial/INDEX, then an empty log after the checkpoint.
 *
 * SETTINGS are of the MANIFEST's moment: settings_write_lock is held from the flush's target
 * to the pin, so no settings change lands in between, and SETTINGS is copied with the
 * MANIFEST. (It was copied after the segments: a set_settings acknowledged meanwhile, after a
 * write the MANIFEST does not hold, was in the snapshot without that write, a state the index
 * never had.) A settings change waits for the snapshot's flush meanwhile, and no segment is
 * built under settings newer than the ones copied. */
static int idx_backup_files(struct idx_backup *b, struct sd_error *err)
{
    struct idx_index *ix = b->ix;
    uint64_t target;
    pthread_mutex_lock(&ix->settings_write_lock);
    int rc = idx_backup_flush(ix, &target, err);
    if (rc) {
        pthread_mutex_unlock(&ix->settings_write_lock);
        return rc;
    }
    struct wal_manifest m;
    wal_manifest_init(&m);
    struct idx_segref **refs = NULL;
    pthread_mutex_lock(&ix->manifest_lock);
    rc = idx_backup_manifest(b, target, &m, &refs, err);
    if (rc == SD_OK) {
        rc = idx_backup_settings(b, err);
    }
    pthread_mutex_unlock(&ix->manifest_lock);
    pthread_mutex_unlock(&ix->settings_write_lock);
    for (uint32_t i = 0; i < m.count && rc == SD_OK; i++) {
        char name[WAL_NAME_MAX];
        wal_seg_name(name, m.segs[i].seg_no);
        rc = idx_backup_file(b, name, err);
    }
    for (uint32_t i = 0; refs && i < m.count; i++) {
        idx_segref_unref(refs[i]);
    }
    free(refs);
    if (rc == SD_OK) {
        rc = wal_create_empty(b->tmp_ix, m.checkpoint_seq + 1, err);
    }
    b->info->seq = m.checkpoint_seq;
    b->info->segments = m.count;
    wal_manifest_free(&m);
    return rc;
}

/* fsync INDEX/ and .partial/, rename .partial to NAME (never over an existing NAME), fsync
 * SNAPSHOT_DIR: from the rename on, NAME is whole. */
static int idx_backup_publish(struct idx_backup *b, const char *snapshot_dir, struct sd_error *err)
{
    int rc = sd_fsync_dir(b->tmp_ix, err);
    if (rc == SD_OK) {
        rc = sd_fsync_dir(b->tmp, err);
    }
    if (rc == SD_OK && renameat2(AT_FDCWD, b->tmp, AT_FDCWD, b->final, RENAME_NOREPLACE) != 0) {
        rc = errno == EEXIST ? sd_errorf(err, SD_EINVAL, "snapshot %s exists already", b->final)
                             : sd_errorf(err, sd_status_from_errno(errno), "rename %s to %s: %s",
                                         b->tmp, b->final, strerror(errno));
    }
    if (rc == SD_OK) {
        rc = sd_fsync_dir(snapshot_dir, err);
    }
    return rc;
}

static int idx_backup_run(struct idx_db *db, struct idx_index *ix, const char *name,
                          struct idx_snapshot_info *info, struct sd_error *err)
{
    struct idx_backup b = {.ix = ix, .lock_fd = -1, .can_link = true, .info = info};
    idx_backup_sweep(db);
    int rc = idx_backup_begin(&b, db->snapshot_dir, name, err);
    if (rc == SD_OK) {
        rc = idx_backup_files(&b, err);
    }
    if (rc == SD_OK) {
        rc = idx_backup_publish(&b, db->snapshot_dir, err);
    }
    if (rc && b.lock_fd >= 0) {
        struct sd_error ignored;
        idx_backup_remove(b.tmp, &ignored); /* a leftover is swept by the next snapshot */
    }
    if (b.lock_fd >= 0) {
        close(b.lock_fd);
    }
    snprintf(info->path, sizeof info->path, "%s", b.final);
    return rc;
}

int idx_snapshot(struct idx_db *db, const char *index, const char *name,
                 struct idx_snapshot_info *info, struct sd_error *err)
{
    struct idx_snapshot_info local;
    info = info ? info : &local;
    memset(info, 0, sizeof *info);
    if (!db->snapshot_dir) {
        return sd_errorf(err, SD_EINVAL,
                         "snapshots are off: start searchd with --snapshot-dir DIR");
    }
    if (!name || !idx_name_valid(name, strlen(name))) {
        return sd_errorf(err, SD_EINVAL,
                         "bad snapshot name '%.*s': use 1 to %d of [a-z0-9_-], not starting "
                         "with '-'",
                         (int)(name ? sd_utf8_cut(name, strlen(name), 64) : 0), name ? name : "",
                         IDX_MAX_NAME);
    }
    struct idx_index *ix;
    int rc = idx_db_find(db, index, false, &ix, err);
    if (rc) {
        return rc;
    }
    uint64_t t0 = sd_now_ns();
    if (ix->is_degraded) {
        rc = sd_errorf(err, SD_EDEGRADED, "index %s is degraded (%s): no snapshot of it", ix->name,
                       ix->degraded_reason);
    } else {
        rc = idx_backup_run(db, ix, name, info, err);
    }
    info->ms = (sd_now_ns() - t0) / 1000000u;
    idx_index_put(ix);
    return rc;
}
