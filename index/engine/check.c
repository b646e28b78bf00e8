/*
 * check.c: `searchd --check DIR`: verifies a data directory offline and
 * changes nothing. For every index: the MANIFEST, every segment's checksum
 * and structure, every tombstone file, the SETTINGS, and every log record after
 * the checkpoint (checksum and payload). The checks are the daemon's own
 * (verify.c, settings.c, index/wal), so every condition that stops or degrades
 * the daemon is a FAIL line here carrying the daemon's message. A torn log tail
 * is reported as a note: it is what a crash leaves, and opening the index drops
 * it. So are files the MANIFEST does not name that opening would move to
 * lost+found/.
 */
#include "engine_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

struct idx_check {
    FILE *out;
    unsigned problems;
    uint64_t segments, docs, records;
};

static void idx_check_problem(struct idx_check *c, const char *index, const char *msg)
{
    fprintf(c->out, "FAIL index=%s %s\n", index, msg);
    c->problems++;
}

static int idx_check_record(void *arg, const struct wal_record *rec, struct sd_error *err)
{
    struct idx_check *c = arg;
    struct seg_field fields[SEG_MAX_FIELDS];
    struct idx_op op;
    c->records++;
    return idx_op_decode_checked(rec->type, rec->payload, rec->len, &op, fields, err);
}

/* Step 2 of recovery (recover.c), with the same verdict and words. has_settings: the
 * SETTINGS read, of version settings_version, to check the segments against. */
static void idx_check_segments(struct idx_check *c, const char *name, const char *dir,
                               const struct wal_manifest *m, bool has_settings,
                               uint64_t settings_version)
{
    for (uint32_t i = 0; i < m->count; i++) {
        const struct wal_seg_entry *e = &m->segs[i];
        struct sd_error err = {0};
        struct seg *s = NULL;
        uint64_t *bits = NULL;
        uint32_t ndeleted;
        if (idx_entry_verify(dir, e, &s, &bits, &ndeleted, &err) != SD_OK) {
            idx_check_problem(c, name, err.msg);
            continue;
        }
        int rc =
            has_settings ? idx_settings_cover(dir, settings_version, s, e->seg_no, &err) : SD_OK;
        seg_close(s);
        free(bits);
        if (rc) {
            idx_check_problem(c, name, err.msg);
            continue;
        }
        c->segments++;
        c->docs += e->doc_count - e->deleted_count;
    }
}

struct idx_check_gc {
    struct idx_check *c;
    const char *index;
    const char *dir;
};

static void idx_check_gc_note(void *arg, const char *file, enum wal_gc_action action)
{
    const struct idx_check_gc *g = arg;
    if (action == WAL_GC_LOST) {
        fprintf(g->c->out,
                "NOTE index=%s %s is not in the MANIFEST: opening the index moves it to "
                "%s/%s/\n",
                g->index, file, g->dir, WAL_LOST_DIR);
    }
}

static void idx_check_index(struct idx_check *c, const char *data_dir, const char *name)
{
    char dir[PATH_MAX];
    sd_path_join(dir, sizeof dir, data_dir, name);
    struct wal_manifest m;
    struct sd_error err = {0};
    bool is_new = false;
    int rc = idx_manifest_load(dir, &m, &is_new, &err);
    if (rc) {
        idx_check_problem(c, name, err.msg);
        wal_manifest_free(&m);
        return;
    }
    uint64_t settings_version = 0;
    bool has_settings = idx_settings_verify(dir, &settings_version, &err) == SD_OK;
    if (!has_settings) { /* settings.c */
        idx_check_problem(c, name, err.msg);
    }
    idx_check_segments(c, name, dir, &m, has_settings, settings_version);
    struct wal_open_info info = {0};
    rc = wal_check(dir, m.checkpoint_seq, idx_check_record, c, &info, &err);
    if (rc && rc != SD_ENOTFOUND) {
        idx_log_error(dir, is_new, rc, &err);
        idx_check_problem(c, name, err.msg);
    }
    if (info.torn_bytes) {
        fprintf(c->out,
                "NOTE index=%s torn log tail of %llu bytes in file %u at offset %llu (a crash "
                "before its sync: never acknowledged; dropped when the index opens)\n",
                name, (unsigned long long)info.torn_bytes, info.torn_file,
                (unsigned long long)info.torn_offset);
    }
    if (rc == SD_OK || rc == SD_ENOTFOUND) {
        struct idx_check_gc g = {c, name, dir};
        if (wal_gc(dir, &m, true, idx_check_gc_note, &g, &err) < 0) {
            idx_check_problem(c, name, err.msg);
        }
    }
    fprintf(c->out, "index=%s segments=%u checkpoint=%llu log_records=%llu\n", name, m.count,
            (unsigned long long)m.checkpoint_seq, (unsigned long long)info.replayed);
    wal_manifest_free(&m);
}

int idx_check_dir(const char *data_dir, void *out_file, struct sd_error *err)
{
    struct idx_check c = {.out = out_file};
    DIR *d = opendir(data_dir);
    if (!d) {
        return sd_errorf(err, sd_status_from_errno(errno), "open %s: %s", data_dir,
                         strerror(errno));
    }
    struct dirent *e;
    unsigned indexes = 0;
    while ((e = readdir(d)) != NULL) {
        bool is_other;
        struct sd_error why = {0};
        if (idx_db_entry_check(data_dir, e->d_name, &why) != SD_OK) {
            idx_check_problem(&c, e->d_name, why.msg);
            continue;
        }
        if (!idx_db_entry_is_index(data_dir, e->d_name, &is_other)) {
            if (is_other) {
                fprintf(c.out, "NOTE %s/%s is not a directory: not an index, left alone\n",
                        data_dir, e->d_name);
            }
            continue;
        }
        idx_check_index(&c, data_dir, e->d_name);
        indexes++;
    }
    closedir(d);
    fprintf(c.out, "%s: %u indexes, %llu segments, %llu documents in segments, %u problems\n",
            c.problems ? "DAMAGED" : "OK", indexes, (unsigned long long)c.segments,
            (unsigned long long)c.docs, c.problems);
    if (c.problems) {
        return sd_errorf(err, SD_ECORRUPT, "%s: %u problems found", data_dir, c.problems);
    }
    return SD_OK;
}
