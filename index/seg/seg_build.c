/*
 * seg_build.c: the in-memory inverter. Documents go in one at a time; seg_write.c turns the
 * result into a segment image.
 *
 * HOW IT WORKS. Each SEG_TEXT field is tokenized once (stem_tokenize). Every token touches
 * two term records, (field, SEG_EXACT, folded word) and (field, SEG_STEM, stem), found in an
 * open-addressing hash table keyed by the XXH3 of the key bytes (inlined: this is the
 * hottest call). A word's stem never changes, so the exact record caches a pointer to its
 * stem's record and most tokens cost one probe. A record lives in the arena and owns two
 * chunked streams: committed postings (varint doc gap, varint tf - 1) and, for exact terms,
 * positions (per doc, varint deltas). The first time a document touches a term,
 * the term goes on the `touched` list; its tf counts up as tokens arrive and its positions
 * are appended directly. When the whole document has been tokenized, each touched term
 * appends (gap, tf) to its postings stream. Nothing is malloc'd per posting or per term; the
 * hash table and the touched list grow by doubling.
 *
 * ATOMICITY. seg_builder_add leaves the builder unchanged on any error:
 *   1. validate (bad id / name / duplicate -> SD_EINVAL, too many fields -> SD_ELIMIT);
 *   2. encode the stored record and reserve every buffer the commit appends to;
 *   3. tokenize; an allocation failure rolls back each touched term's positions to its mark
 *      (records created for the doc stay with df == 0 and are skipped by the writer);
 *   4. reserve arena room for the postings appends, then commit, which cannot fail.
 * New field names get tentative ids during 2-3 and become real only at commit.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_build_int.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define INITIAL_SLOTS (1u << 14)

int seg_builder_new(struct stem_ctx *stem, struct seg_builder **out, struct sd_error *err)
{
    struct seg_builder *b = calloc(1, sizeof *b);
    if (!b) {
        return sd_errorf(err, SD_ENOMEM, "seg_builder_new: out of memory");
    }
    b->stem = stem;
    seg_arena_init(&b->arena);
    b->slots = calloc(INITIAL_SLOTS, sizeof *b->slots);
    b->fields = calloc(SEG_MAX_SEG_FIELDS, sizeof *b->fields);
    if (!b->slots || !b->fields) {
        seg_builder_free(b);
        return sd_errorf(err, SD_ENOMEM, "seg_builder_new: out of memory");
    }
    b->nslots = INITIAL_SLOTS;
    sd_buf_init(&b->ids);
    sd_buf_init(&b->id_offs);
    sd_buf_init(&b->stored_raw);
    sd_buf_init(&b->stored_data);
    sd_buf_init(&b->stored_blocks);
    sd_buf_init(&b->stored_docs);
    sd_buf_init(&b->titles);
    sd_buf_init(&b->title_offs);
    sd_buf_init(&b->record);
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
    sd_buf_free(&b->titles);
    sd_buf_free(&b->title_offs);
    sd_buf_free(&b->record);
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
    n += b->stored_blocks.cap + b->stored_docs.cap + b->record.cap;
    n += b->titles.cap + b->title_offs.cap;
    for (unsigned f = 0; f < b->field_count; f++) {
        n += b->fields[f].norms.cap;
    }
    return n;
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

/* Finds or creates the record for key[0, len). NULL when out of memory. */
static struct seg_term_rec *term_get(struct seg_builder *b, const uint8_t *key, size_t len)
{
    uint64_t h = XXH3_64bits(key, len);
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
        return term_get(b, key, len); /* recurses once: the table now has room */
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
    if (b->ntouched == b->touched_cap) {
        size_t cap = b->touched_cap ? b->touched_cap * 2 : 1024;
        struct seg_touch *t = realloc(b->touched, cap * sizeof *t);
        if (!t) {
            return SD_ENOMEM;
        }
        b->touched = t;
        b->touched_cap = cap;
    }
    struct seg_touch *t = &b->touched[b->ntouched++];
    t->rec = r;
    seg_stream_mark(&r->pos, &t->pos_mark);
    r->cur_doc = b->cur_doc;
    r->cur_tf = 0;
    r->last_pos = 0;
    return SD_OK;
}

/* Counts one occurrence of r in the current doc. */
static int bump(struct seg_builder *b, struct seg_term_rec *r)
{
    if (r->cur_doc != b->cur_doc && touch(b, r) != SD_OK) {
        return SD_ENOMEM;
    }
    r->cur_tf++;
    return SD_OK;
}

/* The record of (current field, kind, term), or NULL (out of memory). */
static struct seg_term_rec *term_for(struct seg_builder *b, enum seg_kind kind, const char *term,
                                     size_t len)
{
    b->key[0] = b->cur_field;
    b->key[1] = (uint8_t)kind;
    memcpy(b->key + 2, term, len);
    return term_get(b, b->key, len + 2);
}

static int on_token(void *arg, const struct stem_token *tok)
{
    struct seg_builder *b = arg;
    if (!tok->is_compound) {
        b->cur_len++;
    }
    if (tok->word_len == 0 || tok->word_len > STEM_MAX_TOKEN) {
        return SD_OK; /* the tokenizer's own limit */
    }
    struct seg_term_rec *r = term_for(b, SEG_EXACT, tok->word, tok->word_len);
    if (!r) {
        return SD_ENOMEM;
    }
    if (!r->stem && tok->stem_len > 0 && tok->stem_len <= STEM_MAX_TOKEN) {
        r->stem = term_for(b, SEG_STEM, tok->stem, tok->stem_len);
        if (!r->stem) {
            return SD_ENOMEM;
        }
    }
    if ((r->stem && bump(b, r->stem) != SD_OK) || bump(b, r) != SD_OK) {
        return SD_ENOMEM;
    }
    uint32_t pos = tok->pos < r->last_pos ? r->last_pos : tok->pos; /* keep deltas >= 0 */
    uint32_t delta = pos - r->last_pos;
    r->last_pos = pos;
    return seg_stream_put_varint(&r->pos, &b->arena, delta) == 0 ? SD_OK : SD_ENOMEM;
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

static int check_field(const struct seg_field *f, size_t i, struct sd_error *err)
{
    if (f->name_len == 0 || f->name_len > SEG_MAX_NAME || !f->name) {
        return sd_errorf(err, SD_EINVAL, "field %zu: name must be 1 to %d bytes", i, SEG_MAX_NAME);
    }
    if (memchr(f->name, 0, f->name_len)) {
        return sd_errorf(err, SD_EINVAL, "field %zu: name contains a NUL byte", i);
    }
    if (f->type != SEG_TEXT && f->type != SEG_RAW) {
        return sd_errorf(err, SD_EINVAL, "field %.*s: unknown value type %u", (int)f->name_len,
                         f->name, f->type);
    }
    if (!f->value && f->value_len > 0) {
        return sd_errorf(err, SD_EINVAL, "field %.*s: no value", (int)f->name_len, f->name);
    }
    return SD_OK;
}

/* Validates doc and gives every field its segment field id in fids[] (new names get
 * tentative ids from field_count on, registered in b->fields but not yet counted);
 * *new_count is the field count once the doc is committed. */
static int resolve_fields(struct seg_builder *b, const struct seg_doc *doc, uint8_t *fids,
                          unsigned *new_count, struct sd_error *err)
{
    unsigned count = b->field_count;
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        int rc = check_field(f, i, err);
        if (rc) {
            return rc;
        }
        for (size_t j = 0; j < i; j++) {
            const struct seg_field *g = &doc->fields[j];
            if (g->name_len == f->name_len && memcmp(g->name, f->name, f->name_len) == 0) {
                return sd_errorf(err, SD_EINVAL, "duplicate field %.*s", (int)f->name_len, f->name);
            }
        }
        int id = find_field(b, count, f->name, f->name_len);
        if (id < 0) {
            if (count == SEG_MAX_SEG_FIELDS) {
                return sd_errorf(err, SD_ELIMIT, "more than %d distinct fields in a segment",
                                 SEG_MAX_SEG_FIELDS);
            }
            struct seg_build_field *nf = &b->fields[count];
            memcpy(nf->name, f->name, f->name_len);
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

static int check_doc(const struct seg_builder *b, const struct seg_doc *doc, struct sd_error *err)
{
    if (b->is_finished) {
        return sd_errorf(err, SD_EINVAL, "seg_builder_add after finish");
    }
    if (!doc->id || doc->id_len == 0 || doc->id_len > SEG_MAX_ID) {
        return sd_errorf(err, SD_EINVAL, "document id must be 1 to %d bytes", SEG_MAX_ID);
    }
    if (doc->nfields > SEG_MAX_FIELDS) {
        return sd_errorf(err, SD_ELIMIT, "document %.*s: %zu fields, at most %d allowed",
                         (int)doc->id_len, doc->id, doc->nfields, SEG_MAX_FIELDS);
    }
    if (doc->nfields > 0 && !doc->fields) {
        return sd_errorf(err, SD_EINVAL, "document %.*s: no fields array", (int)doc->id_len,
                         doc->id);
    }
    if (b->doc_count >= UINT32_MAX - 1 || b->ids.len > UINT32_MAX - SEG_MAX_ID ||
        b->titles.len > UINT32_MAX - SEG_TITLE_MAX) {
        return sd_errorf(err, SD_ELIMIT, "segment full: %u documents", b->doc_count);
    }
    return SD_OK;
}

/* Step 2: every buffer the commit appends to gets its room now. */
static int reserve_doc(struct seg_builder *b, const struct seg_doc *doc, const uint8_t *fids)
{
    int rc = seg_stored_flush(b, b->record.len);
    if (rc) {
        return rc;
    }
    sd_buf_reserve(&b->ids, doc->id_len);
    sd_buf_reserve(&b->id_offs, 4);
    sd_buf_reserve(&b->stored_docs, SEG_SDOC_ENTRY_LEN);
    sd_buf_reserve(&b->stored_raw, b->record.len);
    sd_buf_reserve(&b->titles, SEG_TITLE_MAX);
    sd_buf_reserve(&b->title_offs, 4);
    if (b->ids.rc || b->id_offs.rc || b->stored_docs.rc || b->stored_raw.rc || b->titles.rc ||
        b->title_offs.rc) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < doc->nfields; i++) {
        struct sd_buf *norms = &b->fields[fids[i]].norms;
        if (sd_buf_reserve(norms, (size_t)b->doc_count + 1 - norms->len) != SD_OK) {
            return SD_ENOMEM;
        }
    }
    return SD_OK;
}

/* Step 3: tokenizes the text fields; lens[i] gets each field's token count. */
static int index_fields(struct seg_builder *b, const struct seg_doc *doc, const uint8_t *fids,
                        uint32_t *lens)
{
    b->cur_doc = b->doc_count;
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        lens[i] = 0;
        if (f->type != SEG_TEXT) {
            continue;
        }
        b->cur_field = fids[i];
        b->cur_len = 0;
        int rc =
            stem_tokenize(b->stem, f->value ? f->value : "", f->value_len, 0, on_token, b, NULL);
        if (rc != 0) {
            return SD_ENOMEM;
        }
        lens[i] = b->cur_len;
    }
    return reserve_commit(b);
}

static void commit_doc(struct seg_builder *b, const struct seg_doc *doc, const uint8_t *fids,
                       const uint32_t *lens, unsigned new_count)
{
    commit_terms(b);
    b->field_count = new_count;
    for (size_t i = 0; i < doc->nfields; i++) {
        struct seg_build_field *f = &b->fields[fids[i]];
        if (doc->fields[i].type != SEG_TEXT) {
            continue;
        }
        while (f->norms.len < b->doc_count) {
            f->norms.data[f->norms.len++] = 0; /* docs without the field */
        }
        f->norms.data[f->norms.len++] = seg_norm_encode(lens[i]);
        f->total_len += lens[i];
        f->docs++;
    }
    uint8_t e[SEG_SDOC_ENTRY_LEN];
    sd_put_le32(e, (uint32_t)(b->stored_blocks.len / SEG_SBLOCK_ENTRY_LEN));
    sd_put_le32(e + 4, (uint32_t)b->stored_raw.len);
    sd_put_le32(e + 8, (uint32_t)b->record.len);
    sd_buf_put(&b->stored_docs, e, sizeof e);
    sd_buf_put(&b->stored_raw, b->record.data, b->record.len);
    sd_buf_put_le32(&b->id_offs, (uint32_t)b->ids.len);
    sd_buf_put(&b->ids, doc->id, doc->id_len);
    seg_stored_title(b, doc);
    b->doc_count++;
}

int seg_builder_add(struct seg_builder *b, const struct seg_doc *doc, struct sd_error *err)
{
    uint8_t fids[SEG_MAX_FIELDS];
    uint32_t lens[SEG_MAX_FIELDS];
    unsigned new_count = 0;
    int rc = check_doc(b, doc, err);
    if (rc == SD_OK) {
        rc = resolve_fields(b, doc, fids, &new_count, err);
    }
    if (rc) {
        return rc;
    }
    rc = seg_stored_encode(b, doc, fids);
    if (rc == SD_OK) {
        rc = reserve_doc(b, doc, fids);
    }
    if (rc == SD_OK) {
        rc = index_fields(b, doc, fids, lens);
        if (rc) {
            rollback_terms(b);
        }
    }
    if (rc) {
        return sd_errorf(err, rc, "document %.*s: %s", (int)doc->id_len, doc->id,
                         rc == SD_ELIMIT ? "stored document too large" : "out of memory");
    }
    commit_doc(b, doc, fids, lens, new_count);
    return SD_OK;
}
