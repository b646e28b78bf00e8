/*
 * reindex.c: after a settings change, the documents indexed under older settings are indexed
 * again from their stored copies, in the background, and switched in all at once.
 *
 * WHICH. Every segment records the settings version it was built under (seg_settings_version:
 * a memtable builder takes the settings in force; a merge records the oldest of its inputs').
 * A segment older than the index's index_version (the last settings version that changed how
 * documents are indexed: not a change of synonyms or stopwords, which only queries read) is
 * stale. mem.c starts a new builder as soon as
 * the settings change, so from then on only new-version segments are made; the stale
 * in-memory ones reach disk at the next flush (flush_ms at most).
 *
 * WHEN. On the disk merger's thread (merge.c calls idx_reindex_run before it picks a merge),
 * so no disk merge runs meanwhile and the disk segments it picked stay in the live list. It
 * waits while any in-memory segment is stale, so one job takes every stale segment and the
 * switch is one step.
 *
 * HOW. Each stale disk segment gets a twin: all its documents, deleted ones included, in the
 * same order, loaded from its stored records, rewritten for the new settings
 * (idx_settings_retype_logged: text or stored-only per field, typed columns), analysed and
 * built like the memtable builds them, written as a new seg-NNNNNN.seg. Because the order is
 * the same, a tombstone bitmap applies to the twin bit for bit: deletes made while the job
 * ran carry over without an id lookup.
 *
 * THE SWITCH. Under manifest_lock -> state_lock every stale segment's live entry takes its
 * twin (same tombstones) and one snapshot is published: a query sees all old segments or all
 * twins. Then the MANIFEST naming the twins is written (a tombstone file for each twin that
 * has deletes); once it is durable the old segments are obsolete, unlinked when their last
 * query ends. A crash before that MANIFEST leaves the old segments named and the twins
 * unnamed (removed at open as garbage): the next start finds the stale segments and runs the
 * job again. After it, the twins are the index. The old version answers until the switch.
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine_int.h"

struct idx_reindex {
    struct idx_settings *st;    /* one reference: the settings the twins are built for */
    struct idx_segref **inputs; /* one reference each */
    struct idx_segref **twins;  /* one reference each, or NULL */
    size_t n;
    struct stem_ctx *stem; /* the job's own */
    struct seg_analyzer *analyzer;
    struct seg_analysis *analysis;
    struct idx_attr_scratch *attrs;
};

static void idx_reindex_free(struct idx_reindex *r)
{
    for (size_t i = 0; i < r->n; i++) {
        idx_segref_unref(r->inputs[i]);
        idx_segref_unref(r->twins ? r->twins[i] : NULL);
    }
    free(r->inputs);
    free(r->twins);
    idx_settings_release(r->st);
    idx_attr_scratch_free(r->attrs);
    seg_analysis_free(r->analysis);
    seg_analyzer_free(r->analyzer);
    stem_ctx_free(r->stem);
}

bool idx_reindex_pending(struct idx_index *ix)
{
    uint64_t v = atomic_load(&ix->index_version);
    pthread_mutex_lock(&ix->state_lock);
    bool stale = false;
    for (size_t i = 0; i < ix->nlive && !stale; i++) {
        stale = seg_settings_version(ix->live[i].ref->seg) < v;
    }
    pthread_mutex_unlock(&ix->state_lock);
    return stale;
}

/* Every stale disk segment, unless an in-memory one is stale too (state_lock taken). */
static int idx_reindex_pick(struct idx_index *ix, struct idx_reindex *r)
{
    uint64_t v = r->st->index_version;
    pthread_mutex_lock(&ix->state_lock);
    size_t stale = 0;
    bool wait = false;
    for (size_t i = 0; i < ix->nlive; i++) {
        bool old = seg_settings_version(ix->live[i].ref->seg) < v;
        stale += old;
        wait |= old && ix->live[i].ref->seg_no == 0;
    }
    int rc = SD_OK;
    if (stale && !wait) {
        r->inputs = calloc(stale, sizeof *r->inputs);
        r->twins = calloc(stale, sizeof *r->twins);
        rc = r->inputs && r->twins ? SD_OK : SD_ENOMEM;
    }
    for (size_t i = 0; rc == SD_OK && stale && !wait && i < ix->nlive; i++) {
        struct idx_segref *ref = ix->live[i].ref;
        if (seg_settings_version(ref->seg) < v) {
            atomic_fetch_add(&ref->refs, 1);
            r->inputs[r->n++] = ref;
        }
    }
    pthread_mutex_unlock(&ix->state_lock);
    return rc;
}

/* Document d of s, as the new settings index it, added to b. */
static int idx_reindex_doc(struct idx_reindex *r, const struct seg *s, uint32_t d,
                           struct seg_builder *b, struct sd_error *err)
{
    struct seg_stored st;
    int rc = seg_doc_load(s, d, &st, err);
    struct idx_op op = {
        .type = IDX_OP_UPSERT,
        .doc = {.id = st.id, .id_len = st.id_len, .fields = st.fields, .nfields = st.nfields}};
    struct idx_op typed;
    bool changed;
    if (rc == SD_OK) {
        rc = idx_settings_retype_logged(r->st, &op, &typed, &r->attrs, &changed, err);
    }
    if (rc == SD_OK) {
        rc = seg_analyze(r->analyzer, &typed.doc, r->analysis, err);
    }
    const struct seg_attr_vals *vals = NULL;
    if (rc == SD_OK && r->st->schema->has_fields &&
        !(vals = idx_settings_attr_vals(r->st, &typed.doc, &r->attrs))) {
        rc = sd_errorf(err, SD_ENOMEM, "re-index: out of memory");
    }
    if (rc == SD_OK) {
        rc = seg_builder_add_analyzed_attrs(b, r->analysis, vals, err);
    }
    seg_stored_free(&st);
    return rc;
}

/* The twin of input i, written to a new segment file and mapped. */
static int idx_reindex_twin(struct idx_index *ix, struct idx_reindex *r, size_t i,
                            struct sd_error *err)
{
    const struct seg *s = r->inputs[i]->seg;
    struct seg_builder *b;
    int rc = seg_builder_new(r->stem, &b, err);
    if (rc) {
        return rc;
    }
    struct seg_attr_spec specs[SEG_MAX_ATTRS];
    size_t n = idx_settings_attr_specs(r->st, specs);
    rc = seg_builder_set_attrs(b, r->st->version, specs, n, err);
    for (uint32_t d = 0; rc == SD_OK && d < seg_doc_count(s); d++) {
        rc = idx_reindex_doc(r, s, d, b, err);
    }
    struct sd_buf image;
    sd_buf_init(&image);
    if (rc == SD_OK) {
        rc = seg_builder_finish(b, &image, err);
    }
    seg_builder_free(b);
    pthread_mutex_lock(&ix->state_lock);
    uint32_t no = ix->next_seg_no++;
    pthread_mutex_unlock(&ix->state_lock);
    char name[WAL_NAME_MAX], path[PATH_MAX] = "";
    wal_seg_name(name, no);
    if (rc == SD_OK && sd_path_join(path, sizeof path, ix->dir, name)) {
        rc = sd_errorf(err, SD_EINVAL, "%s: path too long", ix->dir);
    }
    if (rc == SD_OK) {
        rc = sd_write_file_new(ix->dir, name, image.data, image.len, err);
    }
    sd_buf_free(&image);
    struct seg *twin;
    if (rc == SD_OK && (rc = seg_open_file_written(path, &twin, err)) == SD_OK &&
        !(r->twins[i] = idx_segref_new(twin, no, ix->dir, &ix->db->memcap))) {
        seg_close(twin);
        rc = sd_errorf(err, SD_ENOMEM, "re-index: out of memory");
    }
    if (rc && path[0]) {
        unlink(path);
    }
    return rc;
}

/* The switch (see the top of the file). */
static int idx_reindex_commit(struct idx_index *ix, struct idx_reindex *r, struct sd_error *err)
{
    pthread_mutex_lock(&ix->manifest_lock);
    pthread_mutex_lock(&ix->state_lock);
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < ix->nlive; k++) {
            struct idx_live *l = &ix->live[k];
            if (l->ref != r->inputs[i]) {
                continue;
            }
            idx_segref_unref(l->ref); /* the live list's; the job still holds one */
            l->ref = r->twins[i];
            atomic_fetch_add(&l->ref->refs, 1);
            l->del_gen = 0; /* the twin's tombstones go to a file of its own number */
            l->is_dirty_snap = true;
        }
    }
    int rc = idx_publish(ix);
    pthread_mutex_unlock(&ix->state_lock);
    if (rc == SD_OK) {
        rc = idx_manifest_commit(ix, ix->checkpoint_seq, err);
    } else {
        sd_errorf(err, rc, "re-index: out of memory");
    }
    for (size_t i = 0; rc == SD_OK && i < r->n; i++) {
        atomic_store(&r->inputs[i]->is_obsolete, true);
    }
    pthread_mutex_unlock(&ix->manifest_lock);
    return rc;
}

int idx_reindex_run(struct idx_index *ix, bool *did_work, struct sd_error *err)
{
    *did_work = false;
    struct idx_reindex r = {.st = idx_settings_acquire(ix)};
    int rc = r.st->version > 0 ? idx_reindex_pick(ix, &r) : SD_OK;
    if (rc || r.n == 0) {
        idx_reindex_free(&r);
        return rc ? sd_errorf(err, rc, "re-index: out of memory") : SD_OK;
    }
    *did_work = true;
    uint64_t t0 = sd_now_ns();
    atomic_fetch_add(&ix->merges_running, 1);
    if (stem_ctx_new_cached(&r.stem, idx_memcap_stem_words(&ix->db->memcap)) != STEM_OK ||
        seg_analyzer_new(r.stem, &r.analyzer, err) != SD_OK ||
        seg_analysis_new(&r.analysis, err) != SD_OK) {
        rc = sd_errorf(err, SD_ENOMEM, "re-index: out of memory");
    }
    for (size_t i = 0; rc == SD_OK && i < r.n; i++) {
        rc = idx_reindex_twin(ix, &r, i, err);
    }
    if (rc == SD_OK) {
        rc = idx_reindex_commit(ix, &r, err);
    }
    atomic_fetch_sub(&ix->merges_running, 1);
    if (rc == SD_OK) {
        uint64_t took_ns = sd_now_ns() - t0;
        idx_hist_record(&ix->merge_time, took_ns); /* a merge, as merges_done counts it */
        atomic_fetch_add(&ix->merges_done, 1);
        idx_event(ix->db, IDX_LOG_INFO,
                  "event=reindex index=%s segments=%zu settings_version=%llu ms=%llu", ix->name,
                  r.n, (unsigned long long)r.st->version, (unsigned long long)(took_ns / 1000000));
    } /* a failure is reported by the merger as event=merge_failed */
    for (size_t i = 0; rc && i < r.n; i++) {
        if (r.twins[i]) { /* never named by a MANIFEST: its file goes with it */
            atomic_store(&r.twins[i]->is_obsolete, true);
        }
    }
    idx_reindex_free(&r);
    return rc;
}
