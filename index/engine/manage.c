/*
 * manage.c: index management: listing indexes with their numbers, and dropping one.
 *
 * USERS. Every call that found an index by name (idx_db_find) is one of its users until it
 * calls idx_index_put. Dropping takes the index out of db->indexes and reserves its name in
 * db->dropping (under db->lock: idx_db_find no longer reaches it, and refuses to create the
 * name again until the directory is gone), marks it is_dropped, then waits on
 * db->users_cond until the last user is gone, so no search, get or write still holds a
 * pointer into it when it is freed.
 *
 * DROP IS ONE RENAME. The index is closed first (its queued writes are acknowledged, its
 * threads stop), then its directory DATA/NAME is renamed to DATA/.dropped-NAME and the data
 * directory fsynced: from that moment the index is gone, whatever happens next (a name
 * starting with '.' is never an index name). Its files are then removed, and a crash in
 * between leaves only a .dropped-* directory that the next start removes
 * (idx_remove_leftovers). The name is checked against [a-z0-9_-]{1,64} before anything, so a
 * drop touches no path but that one directory.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine_int.h"

#define IDX_DROPPED_PREFIX ".dropped-"

void idx_index_put(struct idx_index *ix)
{
    if (atomic_fetch_sub(&ix->users, 1) == 1 && atomic_load(&ix->is_dropped)) {
        pthread_mutex_lock(&ix->db->lock);
        pthread_cond_broadcast(&ix->db->users_cond);
        pthread_mutex_unlock(&ix->db->lock);
    }
}

/* Removes dir and everything in it. An index directory holds files and, once recovery has
 * moved something aside, lost+found/ (files only); a drop removes it with the index, whose
 * directory would otherwise never go (rmdir of a directory not empty), and the drop answered
 * an error although the index was gone. */
int idx_remove_dir(const char *dir, struct sd_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        return errno == ENOENT ? SD_OK
                               : sd_errorf(err, sd_status_from_errno(errno), "open %s: %s", dir,
                                           strerror(errno));
    }
    int rc = SD_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (sd_path_join(path, sizeof path, dir, e->d_name)) {
            rc = sd_errorf(err, SD_EINVAL, "%s/%s: path too long", dir, e->d_name);
        } else if (unlink(path) != 0 && errno != ENOENT) { /* ENOENT: another drop took it */
            int sub = errno == EISDIR
                          ? idx_remove_dir(path, err)
                          : sd_errorf(err, SD_EIO, "remove %s: %s", path, strerror(errno));
            rc = sub ? sub : rc;
        }
    }
    closedir(d);
    if (rc == SD_OK && rmdir(dir) != 0 && errno != ENOENT) {
        rc = sd_errorf(err, sd_status_from_errno(errno), "rmdir %s: %s", dir, strerror(errno));
    }
    return rc;
}

static bool idx_has_prefix(const char *name, const char *prefix)
{
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Both kinds hold no data of an index: a .dropped-* directory was an index that is gone since
 * its rename, and a .creating-* one never was an index (db.c renames it into place once whole;
 * it holds at most SETTINGS, and no write ever reached it). */
void idx_remove_leftovers(const struct idx_db *db)
{
    const char *data_dir = db->dir;
    DIR *d = opendir(data_dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct sd_error err;
        bool is_dropped = idx_has_prefix(e->d_name, IDX_DROPPED_PREFIX);
        if ((is_dropped || idx_has_prefix(e->d_name, IDX_CREATING_PREFIX)) &&
            sd_path_join(path, sizeof path, data_dir, e->d_name) == SD_OK &&
            idx_remove_dir(path, &err) != SD_OK) {
            /* retried at the next start */
            idx_event(db, IDX_LOG_WARN, "event=%s_cleanup_failed msg=\"%s\"",
                      is_dropped ? "drop" : "create", err.msg);
        }
    }
    closedir(d);
}

/* Marks ix dropped and waits for its users (db->lock held). */
static void idx_drop_wait_users(struct idx_db *db, struct idx_index *ix)
{
    atomic_store(&ix->is_dropped, true);
    while (atomic_load(&ix->users) > 0) {
        pthread_cond_wait(&db->users_cond, &db->lock);
    }
}

/* Takes ix out of the list and reserves its name in db->dropping (db->lock held): a find
 * no longer reaches it, and a create of the name is refused with SD_EBUSY until the drop ends
 * (not made to wait: a write's create runs on the daemon's loop, which must not block). */
static int idx_db_forget(struct idx_db *db, struct idx_index *ix, size_t *slot)
{
    size_t n = sizeof db->dropping / sizeof *db->dropping;
    for (*slot = 0; *slot < n && db->dropping[*slot]; (*slot)++) {
    }
    if (*slot == n || !(db->dropping[*slot] = strdup(ix->name))) {
        return SD_EBUSY; /* that many drops at once, or no memory: try again */
    }
    for (size_t i = 0; i < db->nindexes; i++) {
        if (db->indexes[i] == ix) {
            db->indexes[i] = db->indexes[--db->nindexes];
            break;
        }
    }
    return SD_OK;
}

static void idx_db_unreserve(struct idx_db *db, size_t slot)
{
    pthread_mutex_lock(&db->lock);
    free(db->dropping[slot]);
    db->dropping[slot] = NULL;
    pthread_mutex_unlock(&db->lock);
}

int idx_drop(struct idx_db *db, const char *index, struct sd_error *err)
{
    size_t len = strlen(index);
    if (!idx_name_valid(index, len)) {
        return sd_errorf(err, SD_EINVAL, "bad index name '%.*s': use 1 to %d of [a-z0-9_-]",
                         (int)sd_utf8_cut(index, len, 64), index, IDX_MAX_NAME);
    }
    struct idx_index *ix;
    int rc = idx_db_find(db, index, false, &ix, err);
    if (rc) {
        return rc;
    }
    char from[PATH_MAX], to[PATH_MAX], gone[IDX_MAX_NAME + sizeof IDX_DROPPED_PREFIX];
    snprintf(gone, sizeof gone, "%s%s", IDX_DROPPED_PREFIX, index);
    snprintf(from, sizeof from, "%s", ix->dir);
    if (sd_path_join(to, sizeof to, db->dir, gone)) {
        rc = sd_errorf(err, SD_EINVAL, "%s: path too long", db->dir);
    }
    /* What an earlier drop of the name left (cut by a crash, or a file it could not remove)
     * goes first, while the index is untouched: if it cannot go, the drop is refused and the
     * index stays served, instead of closed and forgotten with its directory still there. */
    if (rc == SD_OK) {
        rc = idx_remove_dir(to, err);
    }
    if (rc) {
        idx_index_put(ix);
        return rc;
    }
    pthread_mutex_lock(&db->lock);
    if (atomic_load(&ix->is_dropped)) {
        pthread_mutex_unlock(&db->lock);
        idx_index_put(ix);
        return sd_errorf(err, SD_ENOTFOUND, "unknown index '%s'", index);
    }
    size_t slot;
    if (idx_db_forget(db, ix, &slot) != SD_OK) {
        pthread_mutex_unlock(&db->lock);
        idx_index_put(ix);
        return sd_errorf(err, SD_EBUSY, "too many drops at once; try again");
    }
    atomic_fetch_sub(&ix->users, 1); /* this call's own use: it waits for the others */
    idx_drop_wait_users(db, ix);
    pthread_mutex_unlock(&db->lock);

    idx_index_close(ix); /* queued writes are acknowledged; nothing uses ix any more */
    if (rename(from, to) != 0) {
        rc = sd_errorf(err, sd_status_from_errno(errno), "rename %s to %s: %s", from, to,
                       strerror(errno));
    }
    struct sd_error rm_err;
    if (rc == SD_OK && (rc = sd_fsync_dir(db->dir, err)) == SD_OK &&
        idx_remove_dir(to, &rm_err) != SD_OK) {
        /* The index is gone since the rename, so the drop succeeded; what is left of its files
         * goes at the next start, as after a crash here. */
        idx_event(db, IDX_LOG_WARN, "event=drop_cleanup_failed index=%s msg=\"%s\"", index,
                  rm_err.msg);
    }
    idx_db_unreserve(db, slot); /* only now may the name be created again */
    return rc;
}

int idx_indexes(struct idx_db *db, struct idx_index_info **out, size_t *count, struct sd_error *err)
{
    char **names;
    size_t n;
    int rc = idx_list(db, &names, &n, err);
    if (rc) {
        return rc;
    }
    struct idx_index_info *v = calloc(n ? n : 1, sizeof *v);
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        struct idx_stats st;
        struct sd_error why = {0};
        int src = v ? idx_stats(db, names[i], &st, &why) : SD_ENOMEM;
        if (src == SD_OK || src == SD_EUNAVAIL) { /* not dropped meanwhile */
            struct idx_index_info *info = &v[got++];
            snprintf(info->name, sizeof info->name, "%s", names[i]);
            if (src == SD_EUNAVAIL) {
                info->is_unavailable = true; /* nothing of it is read: the numbers stay 0 */
                snprintf(info->reason, sizeof info->reason, "%s", why.msg);
            } else {
                info->docs = st.docs;
                info->disk_bytes = st.disk_bytes;
                info->settings_version = st.settings_version;
                info->is_degraded = st.degraded;
            }
        }
        free(names[i]);
    }
    free(names);
    if (!v) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    *out = v;
    *count = got;
    return SD_OK;
}
