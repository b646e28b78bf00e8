/*
 * seg_build.c: the in-memory inverter. Analysed documents (seg_analyze.c) go in one at a
 * time; seg_write.c turns the result into a segment image.
 *
 * HOW IT WORKS. An analysis lists a document's distinct (field, folded word) terms with their
 * tf, encoded positions and stem. Each one touches two term records, (field, SEG_EXACT, word)
 * and (field, SEG_STEM, stem), found in an open-addressing hash table keyed by the key bytes.
 * The analysis hashed the word and the stem (off this thread); the field and the kind are
 * mixed in here. A word's stem never changes, so the exact record caches a pointer to its
 * stem's record and most terms cost one probe. A record lives in the arena and owns two
 * chunked streams: committed postings (varint doc gap, varint tf - 1) and, for exact terms,
 * positions (per doc, varint deltas, appended as the analysis encoded them). The first time
 * a document touches a term, the term goes on the `touched` list and its tf counts up (a stem
 * shared by several words of the document is touched once and gets their tfs). When every
 * term of the document is in, each touched term appends (gap, tf) to its postings stream.
 * Nothing is malloc'd per posting or per term; the hash table and the touched list grow by
 * doubling.
 *
 * ATOMICITY. seg_builder_add_analyzed leaves the builder unchanged on any error:
 *   1. check the builder (finished -> SD_EINVAL, full or too many field names -> SD_ELIMIT)
 *      and give the fields ids (the document itself was checked by seg_analyze);
 *   2. reserve every buffer the commit appends to (stored record, ids, norms);
 *   3. invert; an allocation failure rolls back each touched term's positions to its mark
 *      (records created for the doc stay with df == 0 and are skipped by the writer);
 *   4. reserve arena room for the postings appends, then commit, which cannot fail.
 * New field names get tentative ids during 1-3 and become real only at commit.
 * seg_builder_add is seg_analyze with the builder's own analyzer, then the same steps.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_build_int.h"

#define INITIAL_SLOTS (1u << 14)
#define MIN_SLOTS     (1u << 10)
#define MAX_BLOCK     ((size_t)1 << 20) /* the arena's default */
#define MIN_BLOCK     ((size_t)64 << 10)

int seg_builder_new(struct stem_ctx *stem, struct seg_builder **out, struct sd_error *err)
{
    return seg_builder_new_bounded(stem, SIZE_MAX, out, err);
}

/* An eighth of the bound each for the first term table and an arena block: a builder finished
 * at max_bytes then holds several blocks' worth of terms, and a bound of 256 KiB (an 8 MiB
 * memory limit, engine/memcap.c) is not taken by its first document. */
static size_t initial_slots(size_t max_bytes)
{
    size_t slots = INITIAL_SLOTS;
    while (slots > MIN_SLOTS && slots * sizeof(struct seg_term_slot) > max_bytes / 8) {
        slots /= 2;
    }
    return slots;
}

int seg_builder_new_bounded(struct stem_ctx *stem, size_t max_bytes, struct seg_builder **out,
                            struct sd_error *err)
{
    struct seg_builder *b = calloc(1, sizeof *b);
    if (!b) {
        return sd_errorf(err, SD_ENOMEM, "seg_builder_new: out of memory");
    }
    b->stem = stem;
    seg_arena_init(&b->arena);
    size_t block = max_bytes / 8;
    seg_arena_set_block(&b->arena, block > MAX_BLOCK   ? MAX_BLOCK
                                   : block < MIN_BLOCK ? MIN_BLOCK
                                                       : block);
    size_t nslots = initial_slots(max_bytes);
    b->slots = calloc(nslots, sizeof *b->slots);
    b->fields = calloc(SEG_MAX_SEG_FIELDS, sizeof *b->fields);
    if (!b->slots || !b->fields) {
        seg_builder_free(b);
        return sd_errorf(err, SD_ENOMEM, "seg_builder_new: out of memory");
    }
    b->nslots = nslots;
    sd_buf_init(&b->ids);
    sd_buf_init(&b->id_offs);
    sd_buf_init(&b->stored_raw);
    sd_buf_init(&b->stored_data);
    sd_buf_init(&b->stored_blocks);
    sd_buf_init(&b->stored_docs);
    sd_buf_init(&b->chunk_entries);
    sd_buf_init(&b->chunk_sums);
    sd_buf_init(&b->titles);
    sd_buf_init(&b->title_offs);
    *out = b;
    return SD_OK;
}

void seg_builder_free(struct seg_builder *b)
{
    if (!b) {
        return;
    }
    if (b->fields) {
        for (unsigned f = 0; f < SEG_MAX_SEG_FIELDS; f++) {
            sd_buf_free(&b->fields[f].norms);
        }
    }
    free(b->fields);
    free(b->slots);
    free(b->touched);
    seg_arena_free(&b->arena);
    sd_buf_free(&b->ids);
    sd_buf_free(&b->id_offs);
    sd_buf_free(&b->stored_raw);
    sd_buf_free(&b->stored_data);
    sd_buf_free(&b->stored_blocks);
    sd_buf_free(&b->stored_docs);
    sd_buf_free(&b->chunk_entries);
    sd_buf_free(&b->chunk_sums);
    sd_buf_free(&b->titles);
    sd_buf_free(&b->title_offs);
    seg_zjob_free_all(b);
    seg_acols_free(&b->acols);
    seg_analyzer_free(b->analyzer);
    seg_analysis_free(b->analysis);
    free(b);
}

uint32_t seg_builder_doc_count(const struct seg_builder *b)
{
    return b->doc_count;
}

size_t seg_builder_mem_bytes(const struct seg_builder *b)
{
    size_t n = b->arena.bytes + b->nslots * sizeof *b->slots + b->touched_cap * sizeof(*b->touched);
    n += b->ids.cap + b->id_offs.cap + b->stored_raw.cap + b->stored_data.cap;
    n += b->stored_blocks.cap + b->stored_docs.cap + seg_zjob_mem_bytes(b);
    n += b->chunk_entries.cap + b->chunk_sums.cap;
    n += b->analysis ? seg_analysis_mem_bytes(b->analysis) : 0;
    n += b->titles.cap + b->title_offs.cap;
    for (unsigned f = 0; f < b->field_count; f++) {
        n += b->fields[f].norms.cap;
    }
    return n;
}

size_t seg_analysis_build_bytes(const struct seg_analysis *an)
{
    /* two records per term, each a key and a first docs chunk; two slots each at a load of at
     * most 1/2, and as many again once the table doubles; the form's positions in chunks that
     * double (at most twice their bytes) and its touched entry */
    size_t bytes = 0;
    for (size_t i = 0; i < an->nterms; i++) {
        const struct seg_an_term *t = &an->terms[i];
        bytes += sizeof(struct seg_term_rec) + 2 + t->word_len + 8 + 32;
        bytes += sizeof(struct seg_term_rec) + 2 + t->stem_len + 8 + 32;
        bytes += 8 * sizeof(struct seg_term_slot) + 2 * (size_t)t->pos_len + 32;
        bytes += 2 * sizeof(struct seg_touch);
    }
    /* the record pending, then compressed (LZ4's bound) with a job's room for that */
    size_t record = an->record.len + an->chunks.len;
    bytes += 3 * (record + record / 255 + 16);
    return bytes + an->id_len + 4 + SEG_TITLE_MAX + 4 + SEG_SDOC_ENTRY_LEN + an->nfields;
}

/* ---- the term table ---- */

static int table_grow(struct seg_builder *b)
{
    size_t n = b->nslots * 2;
    struct seg_term_slot *slots = calloc(n, sizeof *slots);
    if (!slots) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < b->nslots; i++) {
        if (!b->slots[i].rec) {
            continue;
        }
        size_t j = b->slots[i].hash & (n - 1);
        while (slots[j].rec) {
            j = (j + 1) & (n - 1);
        }
        slots[j] = b->slots[i];
    }
    free(b->slots);
    b->slots = slots;
    b->nslots = n;
    return SD_OK;
}

/* Finds or creates the record for key[0, len), whose hash is h. NULL when out of memory. */
static struct seg_term_rec *term_get(struct seg_builder *b, const uint8_t *key, size_t len,
                                     uint64_t h)
{
    size_t mask = b->nslots - 1;
    size_t i = h & mask;
    for (; b->slots[i].rec; i = (i + 1) & mask) {
        struct seg_term_rec *r = b->slots[i].rec;
        if (b->slots[i].hash == h && r->key_len == len && memcmp(r->key, key, len) == 0) {
            return r;
        }
    }
    if (b->nterms + 1 > b->nslots / 2) {
        if (table_grow(b) != SD_OK) {
            return NULL;
        }
        return term_get(b, key, len, h); /* recurses once: the table now has room */
    }
    struct seg_term_rec *r = seg_arena_alloc(&b->arena, sizeof *r + len);
    if (!r) {
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->cur_doc = UINT32_MAX;
    r->key_len = (uint16_t)len;
    memcpy(r->key, key, len);
    b->slots[i].hash = h;
    b->slots[i].rec = r;
    b->nterms++;
    return r;
}

static int touch(struct seg_builder *b, struct seg_term_rec *r)
{
    struct seg_touch *grown =
        sd_grow(b->touched, &b->touched_cap, b->ntouched + 1, sizeof *grown, 1024);
    if (!grown) {
        return SD_ENOMEM;
    }
    b->touched = grown;
    struct seg_touch *t = &b->touched[b->ntouched++];
    t->rec = r;
    seg_stream_mark(&r->pos, &t->pos_mark);
    r->cur_doc = b->cur_doc;
    r->cur_tf = 0;
    return SD_OK;
}

/* Counts tf occurrences of r in the current doc. */
static int bump(struct seg_builder *b, struct seg_term_rec *r, uint32_t tf)
{
    if (r->cur_doc != b->cur_doc && touch(b, r) != SD_OK) {
        return SD_ENOMEM;
    }
    r->cur_tf += tf;
    return SD_OK;
}

/* The key's hash: the XXH3 of the term (made by the analysis) with the field and kind mixed
 * in. A xor with a constant per (field, kind) keeps the bits as uniform as the XXH3's; the
 * table only needs equal keys to hash alike, and the image does not depend on it (terms are
 * sorted before they are written). */
static uint64_t key_hash(uint64_t term_hash, uint8_t field, enum seg_kind kind)
{
    return term_hash ^ (((uint64_t)field << 8 | (uint64_t)kind) * 0x9E3779B97F4A7C15ull);
}

/* The record of (field, kind, term), or NULL (out of memory). */
static struct seg_term_rec *term_for(struct seg_builder *b, uint8_t field, enum seg_kind kind,
                                     const uint8_t *term, size_t len, uint64_t term_hash)
{
    b->key[0] = field;
    b->key[1] = (uint8_t)kind;
    memcpy(b->key + 2, term, len);
    return term_get(b, b->key, len + 2, key_hash(term_hash, field, kind));
}

/* Step 3 for one distinct word: both records get its tf, the exact one its positions. */
static int invert_term(struct seg_builder *b, const struct seg_analysis *an,
                       const struct seg_an_term *t, uint8_t fid)
{
    const uint8_t *text = an->text.data;
    struct seg_term_rec *r = term_for(b, fid, SEG_EXACT, text + t->word_off, t->word_len, t->hash);
    if (!r) {
        return SD_ENOMEM;
    }
    if (!r->stem && t->stem_len > 0) {
        r->stem = term_for(b, fid, SEG_STEM, text + t->stem_off, t->stem_len, t->stem_hash);
        if (!r->stem) {
            return SD_ENOMEM;
        }
    }
    if ((r->stem && bump(b, r->stem, t->tf) != SD_OK) || bump(b, r, t->tf) != SD_OK) {
        return SD_ENOMEM;
    }
    return seg_stream_put(&r->pos, &b->arena, an->pos.data + t->pos_off, t->pos_len) == 0
               ? SD_OK
               : SD_ENOMEM;
}

static void rollback_terms(struct seg_builder *b)
{
    for (size_t i = 0; i < b->ntouched; i++) {
        struct seg_touch *t = &b->touched[i];
        seg_stream_truncate(&t->rec->pos, &t->pos_mark);
        t->rec->cur_doc = UINT32_MAX;
    }
    b->ntouched = 0;
}

/* Appends (gap, tf) of the current doc to every touched term: cannot fail once the arena
 * room was reserved by the caller. */
static void commit_terms(struct seg_builder *b)
{
    uint32_t doc = b->cur_doc;
    for (size_t i = 0; i < b->ntouched; i++) {
        struct seg_term_rec *r = b->touched[i].rec;
        (void)seg_stream_put_varint(&r->docs, &b->arena, r->df ? doc - r->last_doc - 1 : doc);
        (void)seg_stream_put_varint(&r->docs, &b->arena, r->cur_tf - 1);
        r->df++;
        r->total_tf += r->cur_tf;
        r->last_doc = doc;
        r->cur_doc = UINT32_MAX;
    }
    b->ntouched = 0;
}

static int reserve_commit(struct seg_builder *b)
{
    size_t need = 0;
    for (size_t i = 0; i < b->ntouched; i++) {
        need += seg_stream_need(&b->touched[i].rec->docs, 10);
    }
    return need == 0 || seg_arena_reserve(&b->arena, need) == 0 ? SD_OK : SD_ENOMEM;
}

/* ---- documents ---- */

static int find_field(const struct seg_builder *b, unsigned count, const char *name, size_t len)
{
    for (unsigned f = 0; f < count; f++) {
        if (b->fields[f].name_len == len && memcmp(b->fields[f].name, name, len) == 0) {
            return (int)f;
        }
    }
    return -1;
}

static int check_builder(const struct seg_builder *b, struct sd_error *err)
{
    if (b->is_finished) {
        return sd_errorf(err, SD_EINVAL, "seg_builder_add after finish");
    }
    if (b->doc_count >= UINT32_MAX - 1 || b->ids.len > UINT32_MAX - SEG_MAX_ID ||
        b->titles.len > UINT32_MAX - SEG_TITLE_MAX) {
        return sd_errorf(err, SD_ELIMIT, "segment full: %u documents", b->doc_count);
    }
    return SD_OK;
}

/* Gives every field of the analysed doc its segment field id in fids[] (new names get
 * tentative ids from field_count on, registered in b->fields but not yet counted);
 * *new_count is the field count once the doc is committed. */
static int resolve_fields(struct seg_builder *b, const struct seg_analysis *an, uint8_t *fids,
                          unsigned *new_count, struct sd_error *err)
{
    unsigned count = b->field_count;
    for (size_t i = 0; i < an->nfields; i++) {
        const struct seg_an_field *f = &an->fields[i];
        const char *name = (const char *)an->text.data + f->name_off;
        int id = find_field(b, count, name, f->name_len);
        if (id < 0) {
            if (count == SEG_MAX_SEG_FIELDS) {
                return sd_errorf(err, SD_ELIMIT, "more than %d distinct fields in a segment",
                                 SEG_MAX_SEG_FIELDS);
            }
            struct seg_build_field *nf = &b->fields[count];
            memcpy(nf->name, name, f->name_len);
            nf->name[f->name_len] = '\0';
            nf->name_len = f->name_len;
            nf->total_len = 0;
            nf->docs = 0;
            sd_buf_reset(&nf->norms);
            id = (int)count++;
        }
        fids[i] = (uint8_t)id;
    }
    *new_count = count;
    return SD_OK;
}

/* Step 2: every buffer the commit appends to gets its room now. */
/* sd_buf_reserve whose failure is not sticky: a failed realloc leaves the buffer as it was,
 * and the builder must stay usable after an SD_ENOMEM ("on error the builder is unchanged",
 * seg.h). A sticky rc here made every later add fail (found by tests/alloc). */
static int reserve_or_undo(struct sd_buf *buf, size_t extra)
{
    int rc = sd_buf_reserve(buf, extra);
    buf->rc = SD_OK; /* the builder's buffers hold no other error: each put follows a reserve */
    return rc;
}

static int reserve_doc(struct seg_builder *b, const struct seg_analysis *an, const uint8_t *fids)
{
    int rc = seg_zjob_close_block(b, an->record.len);
    if (rc) {
        return rc;
    }
    if (reserve_or_undo(&b->ids, an->id_len) || reserve_or_undo(&b->id_offs, 4) ||
        reserve_or_undo(&b->stored_docs, SEG_SDOC_ENTRY_LEN) ||
        reserve_or_undo(&b->stored_raw, an->record.len) ||
        reserve_or_undo(&b->chunk_entries, an->chunks.len ? SEG_CHUNK_ENTRY_LEN : 0) ||
        reserve_or_undo(&b->chunk_sums, an->chunks.len) ||
        reserve_or_undo(&b->titles, SEG_TITLE_MAX) || reserve_or_undo(&b->title_offs, 4)) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < an->nfields; i++) {
        struct sd_buf *norms = &b->fields[fids[i]].norms;
        if (reserve_or_undo(norms, (size_t)b->doc_count + 1 - norms->len) != SD_OK) {
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

/* Step 3: every distinct word of the doc into its records. */
static int invert_terms(struct seg_builder *b, const struct seg_analysis *an, const uint8_t *fids)
{
    b->cur_doc = b->doc_count;
    for (size_t i = 0; i < an->nterms; i++) {
        const struct seg_an_term *t = &an->terms[i];
        int rc = invert_term(b, an, t, fids[t->field]);
        if (rc) {
            return rc;
        }
    }
    return reserve_commit(b);
}

/* The record goes to the pending stored block with the segment's field ids in place of the
 * analysis' field indexes. */
static void commit_record(struct seg_builder *b, const struct seg_analysis *an, const uint8_t *fids)
{
    uint8_t e[SEG_SDOC_ENTRY_LEN];
    /* blocks closed before this one, compressed already or still out as jobs */
    sd_put_le32(e, (uint32_t)(b->stored_blocks.len / SEG_SBLOCK_ENTRY_LEN) + b->nzjobs);
    sd_put_le32(e + 4, (uint32_t)b->stored_raw.len);
    sd_put_le32(e + 8, (uint32_t)an->record.len);
    sd_buf_put(&b->stored_docs, e, sizeof e);
    uint8_t *rec = b->stored_raw.data + b->stored_raw.len;
    sd_buf_put(&b->stored_raw, an->record.data, an->record.len);
    for (size_t i = 0; i < an->nfields; i++) {
        rec[an->fields[i].fid_at] = fids[i];
    }
    if (an->chunks.len > 0) { /* a record in chunks starts a block: its first chunk's */
        seg_chunk_add(&b->chunk_entries, &b->chunk_sums, sd_get_le32(e), an->chunks.data,
                      an->chunks.len);
    }
}

static void commit_doc(struct seg_builder *b, const struct seg_analysis *an, const uint8_t *fids,
                       unsigned new_count)
{
    commit_terms(b);
    b->field_count = new_count;
    for (size_t i = 0; i < an->nfields; i++) {
        const struct seg_an_field *af = &an->fields[i];
        struct seg_build_field *f = &b->fields[fids[i]];
        if (af->type == SEG_RAW) {
            continue; /* stored only; SEG_TEXT and SEG_TEXT_ARRAY are indexed */
        }
        while (f->norms.len < b->doc_count) {
            f->norms.data[f->norms.len++] = 0; /* docs without the field */
        }
        f->norms.data[f->norms.len++] = seg_norm_encode(af->len);
        f->total_len += af->len;
        f->docs++;
    }
    commit_record(b, an, fids);
    sd_buf_put_le32(&b->id_offs, (uint32_t)b->ids.len);
    sd_buf_put(&b->ids, an->text.data, an->id_len);
    seg_stored_title(b, an);
    b->doc_count++;
}

int seg_builder_set_attrs(struct seg_builder *b, uint64_t settings_version,
                          const struct seg_attr_spec *specs, size_t n, struct sd_error *err)
{
    if (b->doc_count > 0 || b->is_finished) {
        return sd_errorf(err, SD_EINVAL, "seg_builder_set_attrs after the first document");
    }
    struct seg_acols a;
    int rc = seg_acols_init(&a, specs, n, err);
    if (rc) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) { /* where each given column went once sorted */
        for (size_t k = 0; k < a.n; k++) {
            if (a.cols[k].name_len == specs[i].name_len &&
                memcmp(a.cols[k].name, specs[i].name, specs[i].name_len) == 0) {
                b->attr_order[i] = (uint8_t)k;
            }
        }
    }
    seg_acols_free(&b->acols);
    b->acols = a;
    b->acols.version = settings_version;
    return SD_OK;
}

int seg_builder_add_analyzed(struct seg_builder *b, const struct seg_analysis *an,
                             struct sd_error *err)
{
    return seg_builder_add_analyzed_attrs(b, an, NULL, err);
}

int seg_builder_add_analyzed_attrs(struct seg_builder *b, const struct seg_analysis *an,
                                   const struct seg_attr_vals *vals, struct sd_error *err)
{
    uint8_t fids[SEG_MAX_FIELDS];
    unsigned new_count = 0;
    int rc = check_builder(b, err);
    if (rc == SD_OK) {
        rc = resolve_fields(b, an, fids, &new_count, err);
    }
    if (rc) {
        return rc;
    }
    rc = reserve_doc(b, an, fids);
    if (rc == SD_OK) {
        rc = invert_terms(b, an, fids);
        if (rc == SD_OK) {
            rc = seg_acols_add_doc(&b->acols, vals, b->attr_order); /* all or nothing */
        }
        if (rc) {
            rollback_terms(b);
        }
    }
    if (rc) {
        return sd_errorf(err, rc, "document %.*s: %s", (int)an->id_len, (const char *)an->text.data,
                         rc == SD_ELIMIT ? "stored document too large" : "out of memory");
    }
    commit_doc(b, an, fids, new_count);
    return SD_OK;
}

int seg_builder_add(struct seg_builder *b, const struct seg_doc *doc, struct sd_error *err)
{
    int rc = check_builder(b, err);
    if (rc) {
        return rc;
    }
    if (!b->analyzer && (rc = seg_analyzer_new(b->stem, &b->analyzer, err)) != SD_OK) {
        return rc;
    }
    if (!b->analysis && (rc = seg_analysis_new(&b->analysis, err)) != SD_OK) {
        return rc;
    }
    rc = seg_analyze(b->analyzer, doc, b->analysis, err);
    return rc ? rc : seg_builder_add_analyzed(b, b->analysis, err);
}
