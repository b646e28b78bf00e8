/*
 * db.c: the data directory and its named indexes.
 *
 * Each subdirectory of the data directory whose name is a valid index name
 * is an index; all are opened at start. A write to a new name creates it.
 * Anything else there is not ours and is left alone, a file with an index's
 * name included (a core dump named "core" in the service's working
 * directory): it used to stop the start ("core/SETTINGS: Not a directory").
 * Index names are checked against [a-z0-9_-]{1,64} (not starting with '-'),
 * so a name from a request can never reach another path.
 *
 * CREATING AN INDEX IS ATOMIC (idx_db_create with settings, idx_db_find with
 * create for a write to a new name: one path). Two things have to hold:
 *  1. Other requests see the name either absent or as an index that is open
 *     with its settings in force: never a directory without its SETTINGS, so
 *     no write is accepted unchecked and no reader sees version 0.
 *  2. A crash at any point leaves either no index or a whole one.
 * Under db->lock the creator checks that the name is neither an index nor
 * being created or dropped, and links a reservation (struct idx_creating) into
 * db->creating; then, without the lock (the steps do I/O and fsync), it makes
 * DATA/.creating-NAME, writes its SETTINGS there (file and directory fsynced),
 * renames it to DATA/NAME (never over an existing one) and fsyncs DATA, and
 * opens the index (settings loaded before the writer starts). Under the lock
 * again it adds the index to db->indexes, drops the reservation and wakes the
 * waiters on db->created_cond. Meanwhile a lookup of the name finds nothing
 * (SD_ENOTFOUND: the index does not exist yet), and another creation of it,
 * with settings or by a write, waits for the outcome: an index now (a
 * create_index is then SD_EEXIST, a write goes to it and is checked against
 * its settings), or a free name again (the first creation failed: it tries
 * itself). So of a create_index racing a write to a new name, either the write
 * created the index without settings and the create_index is SD_EEXIST, or the
 * create_index came first and the write is checked against its settings.
 * A crash before the rename leaves DATA/.creating-NAME (a name starting with
 * '.' is never an index), which the next start removes
 * (idx_remove_leftovers); after it, DATA/NAME holds its SETTINGS and opens as
 * a new index (docs/DATA.md: no MANIFEST and no segment file is a new index).
 *
 * ONE DAMAGED INDEX DOES NOT STOP THE OTHERS. An index whose open is refused
 * because of what is on disk is kept by name as *unavailable* (db->unavailable)
 * and the start goes on with the others; every request naming it is
 * SD_EUNAVAIL with the open's message, which is what `searchd --check` prints
 * for it. Where the line is (idx_open_is_damage): SD_ECORRUPT, the status of
 * every refusal the checks of an index's files make (a damaged or missing
 * MANIFEST beside segments, a damaged SETTINGS, a log gap or damaged record,
 * a link, FIFO or directory in a file's place, a lost+found/ that cannot take
 * a file, a segment of later settings, an index directory that is a link).
 * recover.c changes nothing in the directory before all of those checks have
 * passed, so such an index is left exactly as the damage left it, and it is
 * not looked at again until the next start. Everything else still fails the
 * start: SD_ENOMEM, SD_EIO (EMFILE, EACCES, a read error: the machine or its
 * configuration, not this index's bytes, and maybe every index's), SD_ENOSPC,
 * SD_EBUSY, SD_EINVAL (a path too long), SD_ENOTFOUND (the directory vanished
 * under the start), and the data directory's own lock or permissions (checked
 * before any index). The rule is the same when every index, or the only one,
 * is unavailable: searchd starts, answers SD_EUNAVAIL for them and reports them
 * in /health (not ok) and /metrics, rather than exiting into a restart loop
 * that would say less. The list is made before any other thread exists and
 * never changes: a drop or a creation of such a name is refused too (the
 * operator fixes or moves the directory with searchd stopped, then restarts).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"

/* A name whose creation runs: on the creating thread's stack, in db->creating while the
 * directory is made and the index opened without db->lock. */
struct idx_creating {
    const char *name;          /* borrowed: the creator's */
    struct idx_creating *next; /* db->lock */
};

void idx_config_default(struct idx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->data_dir = "searchd-data";
    cfg->sync = IDX_SYNC_ALWAYS;
    cfg->sync_ms = 5;
    cfg->refresh_ms = 100;
    cfg->flush_bytes = 64u << 20;
    cfg->flush_ms = 30000;
    cfg->merge_factor = 8;
    cfg->k1 = 1.2f;
    cfg->b = 0.75f;
}

bool idx_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > IDX_MAX_NAME || name[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

bool idx_db_entry_is_index(const char *data_dir, const char *name, bool *is_other)
{
    char path[PATH_MAX];
    struct stat sb;
    *is_other = false;
    if (!idx_name_valid(name, strlen(name))) {
        return false;
    }
    /* lstat: a symbolic link is no index (idx_db_entry_check() refuses it) */
    if (sd_path_join(path, sizeof path, data_dir, name) == SD_OK && lstat(path, &sb) == 0 &&
        !S_ISDIR(sb.st_mode)) {
        *is_other = !S_ISLNK(sb.st_mode);
        return false;
    }
    return true; /* a directory, or one whose open will say what is wrong with it */
}

int idx_db_entry_check(const char *data_dir, const char *name, struct sd_error *err)
{
    char path[PATH_MAX];
    struct stat sb;
    if (!idx_name_valid(name, strlen(name)) || sd_path_join(path, sizeof path, data_dir, name) ||
        lstat(path, &sb) != 0 || !S_ISLNK(sb.st_mode)) {
        return SD_OK;
    }
    return sd_errorf(err, SD_ECORRUPT,
                     "%s: a symbolic link, not an index directory: an index is a directory of "
                     "the data directory (a link could give one index two names, two writers of "
                     "one log, or lead out of the data directory); put the directory itself there",
                     path);
}

static int idx_db_add(struct idx_db *db, struct idx_index *ix)
{
    struct idx_index **p = realloc(db->indexes, (db->nindexes + 1) * sizeof *p);
    if (!p) {
        return SD_ENOMEM;
    }
    db->indexes = p;
    db->indexes[db->nindexes++] = ix;
    return SD_OK;
}

/* Whether an open refused with rc makes the index unavailable rather than stop the start:
 * the file-top comment says where the line is and why. */
static bool idx_open_is_damage(int rc)
{
    return rc == SD_ECORRUPT;
}

/* The unavailable index of that name, or NULL. No lock: the list is fixed once idx_open
 * returns (struct idx_db). */
static const struct idx_unavailable *idx_db_unavailable(const struct idx_db *db, const char *name)
{
    for (size_t i = 0; i < db->nunavailable; i++) {
        if (strcmp(db->unavailable[i].name, name) == 0) {
            return &db->unavailable[i];
        }
    }
    return NULL;
}

/* Keeps name as unavailable with why's message (borrowed) and logs it at error. */
static int idx_db_keep_unavailable(struct idx_db *db, const char *name, const struct sd_error *why,
                                   struct sd_error *err)
{
    struct idx_unavailable *p = realloc(db->unavailable, (db->nunavailable + 1) * sizeof *p);
    if (!p) {
        return sd_errorf(err, SD_ENOMEM, "index %s: out of memory", name);
    }
    db->unavailable = p;
    struct idx_unavailable *u = &p[db->nunavailable++];
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->msg, sizeof u->msg, "%s", why->msg);
    idx_event(db, IDX_LOG_ERROR, "event=index_unavailable index=%s msg=\"%s\"", name, why->msg);
    return SD_OK;
}

/* Opens the index of entry `name` into db->indexes, or keeps it as unavailable when its open
 * is refused by damage; any other failure is the start's (err). */
static int idx_db_open_one(struct idx_db *db, const char *name, struct sd_error *err)
{
    struct idx_index *ix;
    struct sd_error why = {0};
    int rc = idx_index_open(db, name, false, &ix, &why);
    if (rc == SD_OK && idx_db_add(db, ix) != SD_OK) {
        idx_index_close(ix);
        return sd_errorf(err, SD_ENOMEM, "index %s: out of memory", name);
    }
    if (rc && idx_open_is_damage(rc)) {
        return idx_db_keep_unavailable(db, name, &why, err);
    }
    if (rc) {
        *err = why;
    }
    return rc;
}

static int idx_open_existing(struct idx_db *db, struct sd_error *err)
{
    DIR *d = opendir(db->dir);
    if (!d) {
        return sd_errorf(err, sd_status_from_errno(errno), "open %s: %s", db->dir,
                         strerror(errno));
    }
    int rc = SD_OK;
    struct dirent *e;
    /* a link with an index's name is never followed, not even to open it: unavailable */
    while (rc == SD_OK && (e = readdir(d)) != NULL) {
        struct sd_error why = {0};
        if (idx_db_entry_check(db->dir, e->d_name, &why) != SD_OK) {
            rc = idx_db_keep_unavailable(db, e->d_name, &why, err);
        }
    }
    rewinddir(d);
    while (rc == SD_OK && (e = readdir(d)) != NULL) {
        bool is_other;
        if (!idx_db_entry_is_index(db->dir, e->d_name, &is_other)) {
            if (is_other) {
                idx_event(db, IDX_LOG_WARN,
                          "event=not_an_index name=%s msg=\"not a directory: left alone\"",
                          e->d_name);
            }
            continue;
        }
        if (!idx_db_unavailable(db, e->d_name)) {
            rc = idx_db_open_one(db, e->d_name, err);
        }
    }
    closedir(d);
    return rc;
}

/* One process per data directory: two writers would interleave logs. The
 * lock is on DIR/LOCK and goes away with the process, however it dies. */
static int idx_lock_dir(struct idx_db *db, struct sd_error *err)
{
    char path[4096];
    if (sd_path_join(path, sizeof path, db->dir, "LOCK")) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", db->dir);
    }
    int rc = sd_open_file(path, O_RDWR | O_CREAT, 0644, &db->lock_fd, err);
    if (rc) {
        return rc;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        return sd_errorf(err, SD_EBUSY, "%s is in use by another searchd (%s is locked)",
                         db->dir, path);
    }
    return SD_OK;
}

int idx_open(const struct idx_config *cfg, struct idx_db **out, struct sd_error *err)
{
    struct idx_db *db = calloc(1, sizeof *db);
    if (!db) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    db->cfg = *cfg;
    db->lock_fd = -1;
    db->dir = strdup(cfg->data_dir);
    db->cfg.data_dir = db->dir;
    db->cfg.snapshot_dir = NULL; /* borrowed for the call: db->snapshot_dir keeps it */
    idx_memcap_init(&db->memcap, cfg->memory_limit);
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->users_cond, NULL);
    pthread_cond_init(&db->created_cond, NULL);
    int rc = db->dir ? SD_OK : sd_errorf(err, SD_ENOMEM, "out of memory");
    if (rc == SD_OK && cfg->memory_limit && cfg->memory_limit < IDX_MIN_MEMORY_LIMIT) {
        rc = sd_errorf(err, SD_EINVAL, "memory limit %llu: at least %u bytes",
                       (unsigned long long)cfg->memory_limit, IDX_MIN_MEMORY_LIMIT);
    }
    if (rc == SD_OK && mkdir(db->dir, 0755) != 0 && errno != EEXIST) {
        rc = sd_errorf(err, sd_status_from_errno(errno), "mkdir %s: %s", db->dir,
                       strerror(errno));
    }
    if (rc == SD_OK && cfg->snapshot_dir) {
        rc = idx_backup_set_dir(db, cfg->snapshot_dir, err);
    }
    if (rc == SD_OK) {
        rc = idx_lock_dir(db, err);
    }
    if (rc == SD_OK) {
        idx_remove_leftovers(db); /* drops and creations a crash cut short (manage.c) */
        rc = idx_open_existing(db, err);
    }
    if (rc) {
        idx_close(db);
        return rc;
    }
    *out = db;
    return SD_OK;
}

void idx_close(struct idx_db *db)
{
    if (!db) {
        return;
    }
    for (size_t i = 0; i < db->nindexes; i++) {
        idx_index_close(db->indexes[i]);
    }
    free(db->indexes);
    free(db->unavailable);
    if (db->lock_fd >= 0) {
        close(db->lock_fd);
    }
    for (size_t i = 0; i < sizeof db->dropping / sizeof *db->dropping; i++) {
        free(db->dropping[i]);
    }
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->users_cond);
    pthread_cond_destroy(&db->created_cond);
    free(db->snapshot_dir);
    free(db->dir);
    free(db);
}

/* What a name is now (db->lock held); *ix is the index when IDX_NAME_OPEN. */
enum idx_name_state {
    IDX_NAME_FREE,
    IDX_NAME_OPEN,
    IDX_NAME_CREATING, /* a creation runs: not an index yet */
    IDX_NAME_DROPPING, /* a drop runs (manage.c): its directory is on its way out */
};

static enum idx_name_state idx_db_state(const struct idx_db *db, const char *name,
                                        struct idx_index **ix)
{
    *ix = NULL;
    for (size_t i = 0; i < db->nindexes; i++) {
        if (strcmp(db->indexes[i]->name, name) == 0 && !atomic_load(&db->indexes[i]->is_dropped)) {
            *ix = db->indexes[i];
            return IDX_NAME_OPEN;
        }
    }
    for (size_t i = 0; i < sizeof db->dropping / sizeof *db->dropping; i++) {
        if (db->dropping[i] && strcmp(db->dropping[i], name) == 0) {
            return IDX_NAME_DROPPING;
        }
    }
    for (const struct idx_creating *c = db->creating; c; c = c->next) {
        if (strcmp(c->name, name) == 0) {
            return IDX_NAME_CREATING;
        }
    }
    return IDX_NAME_FREE;
}

/* Undoes a creation whose directory was renamed into place but whose index did not open:
 * the directory goes back to its .creating- name, then away. No write reached it (the name
 * was reserved throughout). Best effort: if the rename back fails, DATA/NAME stays, a whole
 * new index with its SETTINGS, which the next start opens. */
static void idx_db_unmake(struct idx_db *db, const char *tmp, const char *final)
{
    struct sd_error ignored;
    if (rename(final, tmp) == 0 && sd_fsync_dir(db->dir, &ignored) == SD_OK) {
        idx_remove_dir(tmp, &ignored);
    }
}

/* Renames tmp to final, never over an existing final (SD_EEXIST). A filesystem without
 * RENAME_NOREPLACE gets a plain rename: final was checked absent just before, the name is
 * reserved in this process and DATA/LOCK keeps other searchds out. */
static int idx_db_rename_new(const char *tmp, const char *final, struct sd_error *err)
{
    int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE);
    if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
        r = rename(tmp, final);
    }
    if (r == 0) {
        return SD_OK;
    }
    if (errno == EEXIST || errno == ENOTEMPTY) {
        return sd_errorf(err, SD_EEXIST, "%s exists", final);
    }
    return sd_errorf(err, sd_status_from_errno(errno), "rename %s to %s: %s", tmp, final,
                     strerror(errno));
}

/* Makes DATA/name whole: DATA/.creating-NAME with st's SETTINGS (st NULL: none) written and
 * fsynced, renamed to DATA/NAME, DATA fsynced. *was_there: DATA/NAME already existed (a
 * directory no open index has, such as one a failed drop left) and is left as it is. */
static int idx_db_make_dir(struct idx_db *db, const char *tmp, const char *final,
                           const struct idx_settings *st, bool *was_there, struct sd_error *err)
{
    struct stat sb;
    if (lstat(final, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        return sd_errorf(err, SD_EINVAL,
                         "%s is there and is not a directory: no index can take that name "
                         "while it is",
                         final);
    }
    if (lstat(final, &sb) == 0) {
        *was_there = true;
        return SD_OK;
    }
    int rc = idx_remove_dir(tmp, err); /* an earlier creation of this process failed there */
    if (rc == SD_OK && mkdir(tmp, 0755) != 0) {
        rc = sd_errorf(err, sd_status_from_errno(errno), "mkdir %s: %s", tmp, strerror(errno));
    }
    if (rc == SD_OK && st) {
        rc = idx_settings_write(tmp, st, err); /* fsyncs SETTINGS and tmp */
    }
    if (rc == SD_OK) {
        rc = idx_db_rename_new(tmp, final, err);
    }
    if (rc == SD_EEXIST) {
        *was_there = true; /* made meanwhile by someone outside searchd: opened as it is */
        rc = SD_OK;
    } else if (rc == SD_OK && (rc = sd_fsync_dir(db->dir, err)) != SD_OK) {
        idx_db_unmake(db, tmp, final);
        return rc;
    }
    if (rc || *was_there) {
        struct sd_error ignored;
        idx_remove_dir(tmp, &ignored);
    }
    return rc;
}

/* The creation itself, for a name idx_db_state found free (db->lock held; released while
 * the directory is made and the index opened, held again on return). On SD_OK *out is open,
 * in db->indexes, with the caller as a user; with is_create, a directory that was there
 * already is opened and added all the same, but the answer is SD_EEXIST. */
static int idx_db_create_locked(struct idx_db *db, const char *name, bool is_create,
                                const struct idx_settings *st, struct idx_index **out,
                                struct sd_error *err)
{
    char tmp[PATH_MAX], final[PATH_MAX], base[IDX_MAX_NAME + sizeof IDX_CREATING_PREFIX];
    snprintf(base, sizeof base, "%s%s", IDX_CREATING_PREFIX, name);
    if (sd_path_join(final, sizeof final, db->dir, name) ||
        sd_path_join(tmp, sizeof tmp, db->dir, base)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", db->dir);
    }
    struct idx_creating me = {.name = name, .next = db->creating};
    db->creating = &me;
    pthread_mutex_unlock(&db->lock);
    bool was_there = false;
    struct idx_index *ix = NULL;
    int rc = idx_db_make_dir(db, tmp, final, st, &was_there, err);
    if (rc == SD_OK && (rc = idx_index_open(db, name, true, &ix, err)) != SD_OK && !was_there) {
        idx_db_unmake(db, tmp, final);
    }
    pthread_mutex_lock(&db->lock);
    for (struct idx_creating **p = &db->creating; *p; p = &(*p)->next) {
        if (*p == &me) {
            *p = me.next;
            break;
        }
    }
    if (rc == SD_OK && idx_db_add(db, ix) != SD_OK) {
        idx_index_close(ix); /* its directory stays, a whole index the next start opens */
        rc = sd_errorf(err, SD_ENOMEM, "index %s: out of memory", name);
    } else if (rc == SD_OK && is_create && was_there) {
        rc = sd_errorf(err, SD_EEXIST, "index '%s' exists", name);
    } else if (rc == SD_OK) {
        atomic_fetch_add(&ix->users, 1);
        *out = ix;
    }
    pthread_cond_broadcast(&db->created_cond); /* whatever the outcome: the name is settled */
    return rc;
}

/* Finds name (find_only), or finds it or creates it (is_create: only creates it). */
static int idx_db_get(struct idx_db *db, const char *name, bool find_only, bool is_create,
                      const struct idx_settings *st, struct idx_index **out, struct sd_error *err)
{
    *out = NULL;
    if (!idx_name_valid(name, strlen(name))) {
        return sd_errorf(err, find_only ? SD_ENOTFOUND : SD_EINVAL,
                         "bad index name '%.*s': use 1 to %d of [a-z0-9_-]",
                         (int)sd_utf8_cut(name, strlen(name), 64), name, IDX_MAX_NAME);
    }
    const struct idx_unavailable *u = idx_db_unavailable(db, name);
    if (u) { /* found, written, dropped or created alike: the directory is the operator's */
        return sd_errorf(err, SD_EUNAVAIL, "%s", u->msg);
    }
    pthread_mutex_lock(&db->lock);
    struct idx_index *ix;
    enum idx_name_state state;
    while ((state = idx_db_state(db, name, &ix)) == IDX_NAME_CREATING && !find_only) {
        pthread_cond_wait(&db->created_cond, &db->lock); /* its outcome decides ours */
    }
    int rc = SD_OK;
    if (state == IDX_NAME_OPEN && is_create) {
        rc = sd_errorf(err, SD_EEXIST, "index '%s' exists", name);
    } else if (state == IDX_NAME_OPEN) {
        atomic_fetch_add(&ix->users, 1);
        *out = ix;
    } else if (find_only) {
        rc = sd_errorf(err, SD_ENOTFOUND, "unknown index '%s'", name);
    } else if (state == IDX_NAME_DROPPING) {
        rc = sd_errorf(err, SD_EBUSY, "index '%s' is being dropped", name);
    } else {
        rc = idx_db_create_locked(db, name, is_create, st, out, err);
    }
    pthread_mutex_unlock(&db->lock);
    return rc;
}

int idx_db_find(struct idx_db *db, const char *name, bool create, struct idx_index **out,
                struct sd_error *err)
{
    return idx_db_get(db, name, !create, false, NULL, out, err);
}

int idx_db_create(struct idx_db *db, const char *name, const struct idx_settings *st,
                  struct idx_index **out, struct sd_error *err)
{
    return idx_db_get(db, name, false, true, st, out, err);
}

int idx_list(struct idx_db *db, char ***names, size_t *count, struct sd_error *err)
{
    pthread_mutex_lock(&db->lock);
    size_t n = 0, total = db->nindexes + db->nunavailable;
    char **v = calloc(total ? total : 1, sizeof *v);
    for (size_t i = 0; v && i < total; i++) {
        bool is_open = i < db->nindexes;
        if (is_open && atomic_load(&db->indexes[i]->is_dropped)) {
            continue;
        }
        v[n] = strdup(is_open ? db->indexes[i]->name : db->unavailable[i - db->nindexes].name);
        if (!v[n]) {
            while (n-- > 0) {
                free(v[n]);
            }
            free(v);
            v = NULL;
            break;
        }
        n++;
    }
    pthread_mutex_unlock(&db->lock);
    if (!v) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    for (size_t i = 1; i < n; i++) { /* a handful of names: insertion sort */
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    *names = v;
    *count = n;
    return SD_OK;
}

static int idx_write_to(struct idx_index *ix, const struct idx_op *ops, size_t nops,
                        idx_done_fn done, void *arg, struct sd_error *err);

/* What idx_check_doc_memory analyses with: made on the first document that needs it, for the
 * rest of the write (owned; idx_doc_check_free). */
struct idx_doc_check {
    struct stem_ctx *stem;
    struct seg_analyzer *analyzer;
    struct seg_analysis *an;
};

static void idx_doc_check_free(struct idx_doc_check *dc)
{
    seg_analysis_free(dc->an);
    seg_analyzer_free(dc->analyzer);
    stem_ctx_free(dc->stem);
}

/* Under a memory limit the writer inverts a document whole, within its room (memcap.c, THE
 * BOUND): an upsert whose inversion could take more than idx_memcap_doc_bytes is refused here
 * (SD_ELIMIT), before anything of its write is charged or logged, rather than pass the limit
 * later. Its inversion is known from its analysis (seg_analysis_build_bytes); a document too
 * small to come near (IDX_DOC_BYTES_PER_BYTE) is not analysed. op (borrowed) is as logged. */
static int idx_check_doc_memory(const struct idx_memcap *c, struct idx_doc_check *dc,
                                const struct idx_op *op, size_t payload_len, struct sd_error *err)
{
    size_t max = idx_memcap_doc_bytes(c);
    if (op->type != IDX_OP_UPSERT || payload_len <= max / IDX_DOC_BYTES_PER_BYTE) {
        return SD_OK;
    }
    if (!dc->stem && stem_ctx_new(&dc->stem) != STEM_OK) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    int rc = SD_OK;
    if ((!dc->analyzer && (rc = seg_analyzer_new(dc->stem, &dc->analyzer, err)) != SD_OK) ||
        (!dc->an && (rc = seg_analysis_new(&dc->an, err)) != SD_OK) ||
        (rc = seg_analyze(dc->analyzer, &op->doc, dc->an, err)) != SD_OK) {
        return rc;
    }
    size_t need = seg_analysis_build_bytes(dc->an);
    if (need > max) {
        return sd_errorf(err, SD_ELIMIT,
                         "document '%.*s': indexing it would take about %zu bytes of memory, "
                         "more than --memory-limit %llu allows one document (%zu); raise the "
                         "limit or split the document",
                         (int)sd_utf8_cut(op->doc.id, op->doc.id_len, 64), op->doc.id, need,
                         (unsigned long long)c->limit, max);
    }
    return SD_OK;
}

int idx_write(struct idx_db *db, const char *index, const struct idx_op *ops, size_t nops,
              idx_done_fn done, void *arg, struct sd_error *err)
{
    if (nops == 0) {
        return sd_errorf(err, SD_EINVAL, "no documents in the request");
    }
    if (nops > IDX_MAX_BATCH) {
        return sd_errorf(err, SD_ELIMIT, "%zu operations in one write, at most %d", nops,
                         IDX_MAX_BATCH);
    }
    int rc;
    for (size_t i = 0; i < nops; i++) {
        if ((rc = idx_op_validate(&ops[i], err)) != SD_OK) {
            return rc;
        }
    }
    struct idx_index *ix;
    if ((rc = idx_db_find(db, index, true, &ix, err)) != SD_OK) {
        return rc;
    }
    rc = idx_write_to(ix, ops, nops, done, arg, err);
    idx_index_put(ix);
    return rc;
}

/* idx_write for a found index: ops checked against its settings (settings.c) and encoded
 * into one queued write; a refused op refuses the whole batch before anything is logged.
 * A degraded index refuses every write (docs/DATA.md: restoring the file must not resurrect
 * or duplicate anything). */
static int idx_write_to(struct idx_index *ix, const struct idx_op *ops, size_t nops,
                        idx_done_fn done, void *arg, struct sd_error *err)
{
    int rc;
    if (ix->is_degraded) {
        return sd_errorf(err, SD_EDEGRADED,
                         "index %s is degraded (%s): writes are refused until the file is "
                         "restored and searchd restarted",
                         ix->name, ix->degraded_reason);
    }
    struct idx_write *w = calloc(1, sizeof *w);
    if (w) {
        w->prep = calloc(nops, sizeof *w->prep);
    }
    if (!w || !w->prep) {
        free(w);
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    sd_buf_init(&w->records);
    struct sd_buf payload, scratch;
    sd_buf_init(&payload);
    sd_buf_init(&scratch);
    struct sch_values vals;
    sch_values_init(&vals);
    /* Settings never set (version 0): nothing to check, no lock taken per write. */
    struct idx_settings *st =
        atomic_load(&ix->settings_version) > 0 ? idx_settings_acquire(ix) : NULL;
    struct idx_doc_check dc = {0};
    rc = SD_OK;
    for (size_t i = 0; i < nops && rc == SD_OK; i++) {
        const struct idx_op *op = &ops[i];
        struct idx_op typed;
        struct seg_field fields[SEG_MAX_FIELDS];
        if (op->type == IDX_OP_UPSERT && st && st->schema->has_fields) {
            if ((rc = idx_settings_check_op(st, op, &typed, fields, &scratch, &vals, err))) {
                break;
            }
            op = &typed;
        }
        sd_buf_reset(&payload);
        idx_op_encode(op, &payload);
        if (ix->db->memcap.limit &&
            (rc = idx_check_doc_memory(&ix->db->memcap, &dc, op, payload.len, err)) != SD_OK) {
            break;
        }
        sd_buf_put_u8(&w->records, ops[i].type == IDX_OP_UPSERT ? IDX_REC_UPSERT : IDX_REC_DELETE);
        sd_buf_put_varint(&w->records, payload.len);
        sd_buf_put(&w->records, payload.data, payload.len);
        if (payload.rc) {
            w->records.rc = payload.rc;
        }
        if (payload.len > WAL_MAX_RECORD) {
            w->records.rc = SD_ELIMIT;
        }
    }
    idx_settings_release(st);
    idx_doc_check_free(&dc);
    sch_values_free(&vals);
    sd_buf_free(&scratch);
    sd_buf_free(&payload);
    w->nops = (uint32_t)nops;
    w->done = done;
    w->arg = arg;
    if (rc) {
        idx_write_free(w);
        return rc;
    }
    rc = w->records.rc;
    if (rc == SD_ELIMIT) {
        sd_errorf(err, rc, "a document is over the %u byte limit", WAL_MAX_RECORD);
    } else if (rc) {
        sd_errorf(err, rc, "out of memory");
    }
    /* Charged until the write is freed after its ack: refused here when it does not fit. */
    size_t bytes = w->records.cap + nops * sizeof *w->prep;
    if (rc == SD_OK && (rc = idx_memcap_admit(&ix->db->memcap, bytes, err)) == SD_OK) {
        w->memcap = &ix->db->memcap;
        w->charged = bytes;
    }
    if (rc == SD_OK) {
        rc = idx_enqueue(ix, w, err);
    }
    if (rc) {
        idx_write_free(w);
    }
    return rc;
}
