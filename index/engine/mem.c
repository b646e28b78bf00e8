/*
 * mem.c: the memtable, where a batch of logged writes is applied before it
 * becomes an in-memory segment (before the batch is acknowledged). Writer
 * thread only.
 *
 * An upsert goes into the seg_builder at once, analysed by the analysis thread
 * (analyze.c) or, when it is not that far, here; an id touched since the last
 * refresh is recorded in the idmap (its builder doc, possibly deleted, or
 * just deleted). Older copies in live segments are NOT deleted when the op is
 * applied but at the refresh, together with the publication of the new
 * segment, in one snapshot swap: a search sees the old version or the new
 * one, never both or neither. Ids within one segment are unique: an upsert of
 * an id the builder already holds refreshes first. A builder doc deleted
 * within the window is marked in mem->deleted and becomes a tombstone of the
 * new segment.
 *
 * MEMORY. The builder is charged to the memory limit as it grows, after each
 * op (mem->charged), and the image a refresh makes of it before the builder is
 * given back, so the counter sees both at the peak of a refresh. Under a limit
 * an upsert refreshes first when the builder holds idx_memcap_builder_bytes,
 * and a new builder waits for room (idx_writer_make_room): memcap.c, THE
 * BOUND, says why those two keep the counter under the limit. Without a limit
 * a builder holds a whole batch, as it always did.
 */
#include "engine_int.h"

#include <stdlib.h>

int idx_mem_init(struct idx_mem *m, size_t stem_words, struct idx_memcap *memcap)
{
    memset(m, 0, sizeof *m);
    m->memcap = memcap;
    struct sd_error err;
    if (stem_ctx_new_cached(&m->stem, stem_words) != STEM_OK ||
        seg_analyzer_new(m->stem, &m->analyzer, &err) != SD_OK ||
        seg_analysis_new(&m->analysis, &err) != SD_OK) {
        return SD_ENOMEM;
    }
    m->ids = idx_idmap_new();
    return m->ids ? SD_OK : SD_ENOMEM;
}

/* The builder is gone: so are its charge and the reference to the settings that declared its
 * columns. */
static void idx_mem_builder_done(struct idx_mem *m)
{
    seg_builder_free(m->builder);
    m->builder = NULL;
    if (m->charged) {
        idx_memcap_charge(m->memcap, -(int64_t)m->charged);
        m->charged = 0;
    }
    idx_settings_release(m->builder_settings);
    m->builder_settings = NULL;
}

/* A new builder with the attribute columns of the settings in force (settings.c). */
static int idx_mem_builder_new(struct idx_index *ix, struct sd_error *err)
{
    struct idx_mem *m = &ix->mem;
    int rc =
        seg_builder_new_bounded(m->stem, idx_memcap_builder_bytes(m->memcap), &m->builder, err);
    if (rc) {
        return rc;
    }
    m->builder_settings = idx_settings_acquire(ix);
    struct seg_attr_spec specs[SEG_MAX_ATTRS];
    size_t n = idx_settings_attr_specs(m->builder_settings, specs);
    rc = seg_builder_set_attrs(m->builder, m->builder_settings->version, specs, n, err);
    if (rc != SD_OK) {
        idx_mem_builder_done(m);
    }
    return rc;
}

/* Charges what the builder grew by since the last call (writer thread). */
static void idx_mem_count(struct idx_mem *m)
{
    size_t now = seg_builder_mem_bytes(m->builder);
    idx_memcap_charge(m->memcap, (int64_t)now - (int64_t)m->charged);
    m->charged = now;
}

void idx_mem_free(struct idx_mem *m)
{
    idx_mem_builder_done(m);
    idx_attr_scratch_free(m->attrs);
    idx_idmap_free(m->ids);
    free(m->deleted);
    seg_analysis_free(m->analysis);
    seg_analyzer_free(m->analyzer);
    stem_ctx_free(m->stem);
    memset(m, 0, sizeof *m);
}

static int idx_mem_mark_deleted(struct idx_mem *m, uint32_t doc)
{
    size_t word = doc / 64;
    if (word >= m->deleted_cap) {
        size_t old = m->deleted_cap;
        uint64_t *p = sd_grow(m->deleted, &m->deleted_cap, word + 1, sizeof *p, 64);
        if (!p) {
            return SD_ENOMEM;
        }
        memset(p + old, 0, (m->deleted_cap - old) * sizeof *p);
        m->deleted = p;
    }
    m->deleted[word] |= (uint64_t)1 << (doc % 64);
    return SD_OK;
}

/* Does a live segment hold a copy of id? (The memtable was checked first.) */
static bool idx_mem_live_has(struct idx_index *ix, const char *id, size_t len)
{
    bool found = false;
    uint64_t h = seg_id_hash(id, len); /* once, not once per segment */
    pthread_mutex_lock(&ix->state_lock);
    for (size_t i = ix->nlive; i-- > 0 && !found;) {
        uint32_t doc;
        if (seg_doc_find_hashed(ix->live[i].ref->seg, id, len, h, &doc) == SD_OK) {
            found = !idx_bits_test(ix->live[i].bits, doc);
        }
    }
    pthread_mutex_unlock(&ix->state_lock);
    return found;
}

/* Did id exist just before this op? *entry is its idmap value, or
 * IDX_IDMAP_DELETED when the memtable has not seen it. */
static bool idx_mem_exists(struct idx_index *ix, const char *id, size_t len, uint32_t *entry)
{
    *entry = IDX_IDMAP_DELETED;
    if (idx_idmap_get(ix->mem.ids, id, len, entry)) {
        return !(*entry & IDX_IDMAP_GONE);
    }
    return idx_mem_live_has(ix, id, len);
}

int idx_mem_apply(struct idx_index *ix, const struct idx_op *op, const struct seg_analysis *an,
                  struct idx_write_result *res, struct sd_error *err)
{
    struct idx_mem *m = &ix->mem;
    const struct seg_doc *d = &op->doc;
    uint32_t entry;
    bool existed = idx_mem_exists(ix, d->id, d->id_len, &entry);
    int rc;
    bool is_full = m->builder && m->charged >= idx_memcap_builder_bytes(m->memcap);
    if (op->type == IDX_OP_UPSERT && (entry != IDX_IDMAP_DELETED || is_full)) {
        /* The builder has a copy of this id already: a segment's ids are
         * unique (seg_doc_find must find the one copy), so the builder
         * becomes a segment first and the new copy starts the next one.
         * Likewise once the builder holds its share of a memory limit. */
        if ((rc = idx_mem_refresh(ix, err)) != SD_OK) {
            return rc;
        }
        existed = idx_mem_exists(ix, d->id, d->id_len, &entry);
    }
    uint32_t value = IDX_IDMAP_DELETED;
    if (op->type == IDX_OP_UPSERT && m->builder &&
        m->builder_settings->index_version != atomic_load(&ix->index_version)) {
        /* The way of indexing changed: the builder's documents become a segment of the old
         * version (re-indexed later, reindex.c), this one starts a builder of the new. A change
         * of synonyms or stopwords only keeps the builder. */
        if ((rc = idx_mem_refresh(ix, err)) != SD_OK) {
            return rc;
        }
        if (m->builder) { /* nothing in it was pending */
            idx_mem_builder_done(m);
        }
    }
    if (op->type == IDX_OP_UPSERT) {
        if (!m->builder) {
            if (ix->ana.has_thread) { /* the writer's, not recovery's (no flush can run yet) */
                idx_writer_make_room(ix);
            }
            if ((rc = idx_mem_builder_new(ix, err)) != SD_OK) {
                return rc;
            }
            /* LZ4 of full stored blocks on the analysis thread; not during recovery, which
             * runs before it starts (jobs would only pile up until the refresh) */
            if (ix->ana.has_thread) {
                seg_builder_set_zjob_sched(m->builder, &ix->ana.zsched);
            }
        }
        value = seg_builder_doc_count(m->builder);
        /* Under the builder's settings: the log holds it as the settings of its write made
         * it (settings.c); then the analysis made ahead of that form no longer applies. */
        struct idx_op typed = *op;
        bool changed = false;
        if (m->builder_settings->version > 0 &&
            (rc = idx_settings_retype_logged(m->builder_settings, op, &typed, &m->attrs, &changed,
                                             err)) != SD_OK) {
            return rc;
        }
        const struct seg_doc *td = &typed.doc;
        if (changed) {
            an = NULL;
        }
        if (!an && (rc = seg_analyze(m->analyzer, td, m->analysis, err)) != SD_OK) {
            return rc;
        }
        const struct seg_attr_vals *vals = NULL; /* the document's column values */
        if (m->builder_settings->schema->has_fields &&
            !(vals = idx_settings_attr_vals(m->builder_settings, td, &m->attrs))) {
            return sd_errorf(err, SD_ENOMEM, "memtable: out of memory");
        }
        rc = seg_builder_add_analyzed_attrs(m->builder, an ? an : m->analysis, vals, err);
        idx_mem_count(m); /* also after a failure: the builder may have grown its buffers */
        if (rc != SD_OK) {
            return rc;
        }
    } else if (entry != IDX_IDMAP_DELETED) {
        /* A delete of a builder copy: tombstone it, remember it is there. */
        value = entry | IDX_IDMAP_GONE;
        if (!(entry & IDX_IDMAP_GONE) && (rc = idx_mem_mark_deleted(m, entry)) != SD_OK) {
            return sd_errorf(err, rc, "memtable: out of memory");
        }
    }
    if ((rc = idx_idmap_put(m->ids, d->id, d->id_len, value)) != SD_OK) {
        return sd_errorf(err, rc, "memtable: out of memory");
    }
    if (op->type == IDX_OP_UPSERT) {
        existed ? res->replaced++ : res->added++;
    } else {
        existed ? res->deleted++ : res->not_found++;
    }
    if (!m->has_pending) {
        m->first_ns = sd_now_ns();
    }
    if (!m->first_flush_ns) {
        m->first_flush_ns = m->first_ns;
    }
    m->has_pending = true;
    return SD_OK;
}

static int idx_mem_delete_older(void *arg, const char *id, size_t len, uint32_t value)
{
    (void)value;
    idx_live_delete_id(arg, id, len);
    return 0;
}

/* Finishes the builder into an in-memory segment (outside any lock). Its image is charged
 * before the builder's bytes are given back: both exist at that moment. On SD_OK the caller
 * owns *ref and the charge of its image (seg_size_bytes), which goes with ix->mem_bytes. */
static int idx_mem_build(struct idx_mem *m, const char *name, struct idx_segref **ref,
                         struct sd_error *err)
{
    struct sd_buf image;
    sd_buf_init(&image);
    int rc = seg_builder_finish(m->builder, &image, err);
    if (rc == SD_OK) {
        idx_memcap_charge(m->memcap, (int64_t)image.len);
    }
    idx_mem_builder_done(m);
    if (rc) {
        sd_buf_free(&image);
        return rc;
    }
    size_t len;
    uint8_t *data = sd_buf_detach(&image, &len);
    struct seg *s;
    if ((rc = seg_open_mem_written(data, len, name, &s, err)) != SD_OK) {
        idx_memcap_charge(m->memcap, -(int64_t)len);
        return rc;
    }
    *ref = idx_segref_new(s, 0, "", m->memcap);
    if (!*ref) {
        seg_close(s);
        idx_memcap_charge(m->memcap, -(int64_t)len);
        return sd_errorf(err, SD_ENOMEM, "memtable: out of memory");
    }
    return SD_OK;
}

/* Drops a segment idx_mem_build made that did not reach the live list, and its charge. */
static void idx_mem_drop(struct idx_mem *m, struct idx_segref *ref)
{
    idx_memcap_charge(m->memcap, -(int64_t)seg_size_bytes(ref->seg));
    idx_segref_unref(ref);
}

/* The builder's superseded docs as a tombstone bitmap for the new segment. */
static uint64_t *idx_mem_take_deleted(struct idx_mem *m, uint32_t ndocs, uint32_t *ndeleted)
{
    size_t words = ((size_t)ndocs + 63) / 64;
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    *ndeleted = 0;
    if (!bits) {
        return NULL;
    }
    for (size_t w = 0; w < words && w < m->deleted_cap; w++) {
        bits[w] = m->deleted[w];
        *ndeleted += (uint32_t)__builtin_popcountll(bits[w]);
    }
    if (m->deleted) {
        memset(m->deleted, 0, m->deleted_cap * sizeof *m->deleted);
    }
    return bits;
}

int idx_mem_refresh(struct idx_index *ix, struct sd_error *err)
{
    struct idx_mem *m = &ix->mem;
    if (!m->has_pending) {
        return SD_OK;
    }
    struct idx_segref *ref = NULL;
    uint64_t *bits = NULL;
    uint32_t ndeleted = 0;
    int rc;
    if (m->builder && seg_builder_doc_count(m->builder) > 0) {
        uint32_t ndocs = seg_builder_doc_count(m->builder);
        if ((rc = idx_mem_build(m, ix->name, &ref, err)) != SD_OK) {
            return rc;
        }
        bits = idx_mem_take_deleted(m, ndocs, &ndeleted);
        if (!bits) {
            idx_mem_drop(m, ref);
            return sd_errorf(err, SD_ENOMEM, "memtable: out of memory");
        }
    }
    bool may_merge = false;
    pthread_mutex_lock(&ix->state_lock);
    rc = idx_live_reserve(ix);
    if (rc == SD_OK) {
        /* Older copies go first, so the lookup cannot hit the new segment;
         * with room reserved and bits allocated the append cannot fail. */
        idx_idmap_each(m->ids, idx_mem_delete_older, ix);
        if (ref) {
            idx_live_append(ix, ref, bits, ndeleted, 0);
            ix->live[ix->nlive - 1].max_seq = ix->applied_seq;
            ix->mem_bytes += seg_size_bytes(ref->seg); /* charged by idx_mem_build */
        }
        rc = idx_publish(ix);
        may_merge =
            ref && idx_memory_segment_count(ix) >= idx_mem_merge_factor(ix->db->cfg.merge_factor);
    }
    pthread_mutex_unlock(&ix->state_lock);
    if (may_merge) {
        /* A tier may be full: merged now, not at the merger's next look (up to 200 ms later,
         * while a writer one document at a time adds a segment per group commit; bench/RESULTS.md
         * "The memory merger woken by the commit that fills a tier"). */
        idx_merger_wake(ix, IDX_MERGER_MEMORY);
    }
    if (rc) {
        /* Out of memory: the log still holds these writes and a restart
         * replays them, but this process can no longer show them. */
        if (ref && (!ix->nlive || ix->live[ix->nlive - 1].ref != ref)) {
            idx_mem_drop(m, ref);
            free(bits);
        }
        return sd_errorf(err, rc, "refresh: out of memory");
    }
    idx_idmap_clear(m->ids);
    m->has_pending = false;
    m->last_refresh_ns = sd_now_ns();
    return SD_OK;
}
