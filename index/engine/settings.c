/*
 * settings.c: an index's settings (schema.h) kept durably in its directory, and every
 * write checked against them.
 *
 * File DIR/SETTINGS, format v2 (little-endian), replaced whole through SETTINGS.tmp with
 * sd_write_file_atomic (write, fsync, rename, fsync the directory): a crash, kill -9
 * included, leaves the old file or the new one, never a mix. wal_gc leaves it alone (it
 * removes only names it owns).
 *
 *   offset  size  field
 *   0       4     magic "SDST"
 *   4       2     format version (2; 1 is still read)
 *   6       2     reserved, 0
 *   8       8     settings version: 1 for the first settings, +1 per change
 *   16      4     JSON length L (at most SCH_MAX_SETTINGS)
 *   20      8     index version (v2 only): the settings version that last changed how
 *                 documents are indexed; at most the settings version
 *   28      L     the settings in canonical JSON (sch_encode); at 20 in v1
 *   28+L    8     XXH3-64 of bytes [0, 28+L)
 *
 * Format 1 had no index version: every version changed the indexing, so it reads as the
 * settings version. Version 2 keeps it because weights, synonyms and stopwords (read at query
 * time only) change the settings without changing one indexed byte: segments built since the
 * index version are current, and a restart must not find them stale (reindex.c).
 *
 * A NEW INDEX gets its first SETTINGS (version 1) before it exists: db.c writes the file into
 * the directory it is making and renames that into place, so the index is never seen, and
 * never recovered, without the settings it was created with (idx_settings_create).
 *
 * No file: version 0, nothing declared, the behaviour of an index before issue 11. A file
 * that fails any check stops the index from opening, naming the file, as a damaged
 * MANIFEST does: serving without it would accept documents its schema refuses.
 *
 * THE REWRITE (idx_retype) is also applied, leniently, to every logged document the memtable
 * applies and every stored document the re-index reads (reindex.c): it first undoes an
 * earlier rewrite (a stored JSON string is a string again), so any document can be indexed
 * again under any settings, and a value that no longer fits is kept stored only.
 *
 * HOW A WRITE IS CHECKED. idx_write takes the settings in force (a reference: a change
 * meanwhile does not affect a write being checked) and rewrites each upsert before it is
 * logged: a value of a declared field must convert to its type (sch_convert), or the whole
 * batch is refused, naming the document and the field, before anything reaches the log.
 * A new value must also pass sch_check_new (a keyword holds no NUL: no filter could name it);
 * the lenient rewrite skips that check, so documents written before it index as they did.
 * Declared text fields stay SEG_TEXT (indexed), or become SEG_TEXT_ARRAY when given an array
 * of strings (each string indexed, the array stored as given); every other string becomes
 * SEG_RAW holding its JSON text (stored, not indexed, and shown by `get` as the same JSON string).
 * The log then holds documents as they are to be indexed under the settings of their write;
 * merges need no schema at all.
 *
 * SEARCH WEIGHTS. The declared text fields' weights are the defaults of idx_search; a
 * weight the request names wins.
 *
 * SYNONYMS AND STOPWORDS are analysed into a query lexicon once, when settings are published
 * (lexicon.c), and every search reads the one its settings reference holds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_int.h"

#define IDX_SETTINGS_MAGIC   "SDST"
#define IDX_SETTINGS_FORMAT  2
#define IDX_SETTINGS_HEADER  28 /* 20 in format 1 */
#define IDX_SETTINGS_TRAILER 8

/* ---- the published object ---- */

static void idx_settings_free(struct idx_settings *st)
{
    if (!st) {
        return;
    }
    sch_free(st->schema);
    qry_lexicon_free(st->lex);
    free(st->json);
    free(st->weights);
    free(st);
}

/* Takes schema (also on failure). Errors: SD_ENOMEM, or SD_EINVAL from its lexicon. */
static int idx_settings_new(struct sch_schema *schema, uint64_t version, uint64_t index_version,
                            struct idx_settings **out, struct sd_error *err)
{
    struct qry_lexicon *lex = NULL;
    int rc = idx_lexicon_build(&schema->lex, &lex, err);
    if (rc) {
        sch_free(schema);
        return rc;
    }
    struct idx_settings *st = calloc(1, sizeof *st);
    struct sd_buf b;
    sd_buf_init(&b);
    sch_encode(schema, &b);
    sd_buf_put_u8(&b, 0);
    if (st) {
        st->schema = schema;
        st->lex = lex;
        st->weights = calloc(schema->nfields ? schema->nfields : 1, sizeof *st->weights);
    }
    if (!st || !st->weights || b.rc) {
        sd_buf_free(&b);
        if (st) {
            idx_settings_free(st);
        } else {
            sch_free(schema);
            qry_lexicon_free(lex);
        }
        return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    st->json = (char *)sd_buf_detach(&b, &st->json_len);
    st->json_len--; /* the NUL */
    for (size_t i = 0; i < schema->nfields; i++) {
        const struct sch_field *f = &schema->fields[i];
        if (f->type == SCH_TEXT) {
            st->weights[st->nweights++] = (struct qry_weight){f->name, f->weight};
        }
    }
    atomic_init(&st->refs, 1);
    st->version = version;
    st->index_version = index_version;
    *out = st;
    return SD_OK;
}

struct idx_settings *idx_settings_acquire(struct idx_index *ix)
{
    pthread_mutex_lock(&ix->settings_lock);
    struct idx_settings *st = ix->settings;
    atomic_fetch_add(&st->refs, 1);
    pthread_mutex_unlock(&ix->settings_lock);
    return st;
}

void idx_settings_release(struct idx_settings *st)
{
    if (st && atomic_fetch_sub(&st->refs, 1) == 1) {
        idx_settings_free(st);
    }
}

void idx_settings_free_all(struct idx_index *ix)
{
    idx_settings_release(ix->settings);
    ix->settings = NULL;
}

/* Swaps st (reference taken over) in. */
static void idx_settings_publish(struct idx_index *ix, struct idx_settings *st)
{
    pthread_mutex_lock(&ix->settings_lock);
    struct idx_settings *old = ix->settings;
    ix->settings = st;
    atomic_store(&ix->settings_version, st->version);
    atomic_store(&ix->index_version, st->index_version);
    pthread_mutex_unlock(&ix->settings_lock);
    idx_settings_release(old);
}

/* ---- the file ---- */

static int idx_settings_decode(const char *path, const uint8_t *p, size_t len,
                               struct idx_settings **out, struct sd_error *err)
{
    if (len < 8 || memcmp(p, IDX_SETTINGS_MAGIC, 4)) {
        return SD_CORRUPT(err, "%s: not a settings file (%zu bytes)", path, len);
    }
    unsigned format = sd_get_le16(p + 4);
    if (format != 1 && format != IDX_SETTINGS_FORMAT) {
        return SD_CORRUPT(err, "%s: settings format %u, this searchd reads 1 and %u", path, format,
                          IDX_SETTINGS_FORMAT);
    }
    size_t header = format == 1 ? 20 : IDX_SETTINGS_HEADER;
    if (len < header + IDX_SETTINGS_TRAILER) {
        return SD_CORRUPT(err, "%s: not a settings file (%zu bytes)", path, len);
    }
    size_t body = len - IDX_SETTINGS_TRAILER;
    if (sd_get_le64(p + body) != sd_hash64(p, body)) {
        return SD_CORRUPT(err, "%s: checksum mismatch", path);
    }
    uint64_t version = sd_get_le64(p + 8);
    uint32_t json_len = sd_get_le32(p + 16);
    uint64_t index_version = format == 1 ? version : sd_get_le64(p + 20);
    if (json_len != body - header || version == 0 || index_version > version) {
        return SD_CORRUPT(err,
                          "%s: JSON length %u in a %zu-byte file, version %llu, index "
                          "version %llu",
                          path, json_len, len, (unsigned long long)version,
                          (unsigned long long)index_version);
    }
    struct sch_schema *schema;
    struct sd_error why = {0};
    int rc = sch_parse_stored((const char *)p + header, json_len, &schema, &why);
    if (rc == SD_OK) {
        rc = idx_settings_new(schema, version, index_version, out, &why);
    }
    if (rc == SD_OK) {
        return SD_OK;
    }
    return why.code == SD_ENOMEM ? sd_errorf(err, SD_ENOMEM, "%s: out of memory", path)
                                 : SD_CORRUPT(err, "%s: %s", path, why.msg);
}

/* DIR/SETTINGS decoded into *out (version 0 and nothing declared when there is none). */
static int idx_settings_read(const char *dir, struct idx_settings **out, struct sd_error *err)
{
    char path[4096];
    if (sd_path_join(path, sizeof path, dir, IDX_SETTINGS_FILE)) {
        return sd_errorf(err, SD_EINVAL, "%s: path too long", dir);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    struct sd_error why = {0};
    size_t max = IDX_SETTINGS_HEADER + SCH_MAX_SETTINGS + IDX_SETTINGS_TRAILER;
    int rc = sd_read_file(path, max, &data, &len, &why);
    struct idx_settings *st = NULL;
    if (rc == SD_ENOTFOUND) {
        struct sch_schema *none = calloc(1, sizeof *none);
        rc = none ? idx_settings_new(none, 0, 0, &st, err)
                  : sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    } else if (rc == SD_OK) {
        rc = idx_settings_decode(path, data, len, &st, err);
    } else {
        rc = rc == SD_ELIMIT ? SD_CORRUPT(err, "%s: %s", path, why.msg)
                             : sd_errorf(err, rc, "%s", why.msg);
    }
    free(data);
    *out = st;
    return rc;
}

int idx_settings_load(struct idx_index *ix, struct sd_error *err)
{
    struct idx_settings *st = NULL;
    int rc = idx_settings_read(ix->dir, &st, err);
    if (rc == SD_OK) {
        idx_settings_publish(ix, st);
    }
    return rc;
}

int idx_settings_verify(const char *dir, uint64_t *version, struct sd_error *err)
{
    struct idx_settings *st = NULL;
    int rc = idx_settings_read(dir, &st, err);
    if (rc == SD_OK && version) {
        *version = st->version;
    }
    idx_settings_release(st);
    return rc;
}

int idx_settings_write(const char *dir, const struct idx_settings *st, struct sd_error *err)
{
    size_t len = IDX_SETTINGS_HEADER + st->json_len + IDX_SETTINGS_TRAILER;
    uint8_t *p = calloc(1, len);
    if (!p) {
        return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    memcpy(p, IDX_SETTINGS_MAGIC, 4);
    sd_put_le16(p + 4, IDX_SETTINGS_FORMAT);
    sd_put_le64(p + 8, st->version);
    sd_put_le32(p + 16, (uint32_t)st->json_len);
    sd_put_le64(p + 20, st->index_version);
    memcpy(p + IDX_SETTINGS_HEADER, st->json, st->json_len);
    size_t body = IDX_SETTINGS_HEADER + st->json_len;
    sd_put_le64(p + body, sd_hash64(p, body));
    int rc = sd_write_file_atomic(dir, IDX_SETTINGS_FILE, p, len, err);
    free(p);
    return rc;
}

/* ---- the public calls ---- */

/* Parses json into a new settings object one version past ix's, or *out NULL when its
 * canonical form is what ix has already. Its index version stays ix's when it indexes alike
 * (only synonyms or stopwords differ): nothing is re-indexed. settings_write_lock held. */
static int idx_settings_next(struct idx_index *ix, struct sch_schema *schema,
                             struct idx_settings **out, uint64_t *version, struct sd_error *err)
{
    struct idx_settings *cur = idx_settings_acquire(ix);
    struct idx_settings *st = NULL;
    uint64_t index_version =
        sch_same_index(cur->schema, schema) ? cur->index_version : cur->version + 1;
    int rc = idx_settings_new(schema, cur->version + 1, index_version, &st, err);
    *out = NULL;
    *version = cur->version;
    if (rc == SD_OK && st->json_len == cur->json_len &&
        memcmp(st->json, cur->json, st->json_len) == 0 && cur->version > 0) {
        idx_settings_free(st); /* the same settings: nothing to write */
        st = NULL;
    }
    idx_settings_release(cur);
    *out = st;
    return rc;
}

/* The settings of patch[0, len) merged into json[0, json_len) (sch_merge_patch), parsed. */
static int idx_settings_merged(const char *json, size_t json_len, const char *patch, size_t len,
                               struct sch_schema **out, struct sd_error *err)
{
    struct sd_buf b;
    sd_buf_init(&b);
    int rc = sch_merge_patch(json, json_len, patch, len, &b, err);
    if (rc == SD_OK) {
        rc = sch_parse((const char *)b.data, b.len, out, err);
    }
    sd_buf_free(&b);
    return rc;
}

/* Replaces the settings of ix (one of its users: put here) with schema (taken), or, when patch
 * is not NULL (schema NULL then), with patch[0, patch_len) merged into the settings in force:
 * read under settings_write_lock, so that of two merges each applies to the other's result. */
static int idx_settings_change(struct idx_index *ix, struct sch_schema *schema, const char *patch,
                               size_t patch_len, uint64_t *version, struct sd_error *err)
{
    if (ix->is_degraded) {
        /* read-only (docs/DATA.md): new settings would start a re-index that a degraded
         * index, which never flushes, could not finish */
        int rc = sd_errorf(err, SD_EDEGRADED,
                           "index %s is degraded (%s): its settings are kept until the file is "
                           "restored and searchd restarted",
                           ix->name, ix->degraded_reason);
        sch_free(schema);
        idx_index_put(ix);
        *version = 0;
        return rc;
    }
    pthread_mutex_lock(&ix->settings_write_lock);
    struct idx_settings *st = NULL;
    uint64_t v = 0;
    int rc = SD_OK;
    if (patch) {
        struct idx_settings *cur = idx_settings_acquire(ix);
        rc = idx_settings_merged(cur->json, cur->json_len, patch, patch_len, &schema, err);
        v = cur->version;
        idx_settings_release(cur);
    }
    if (rc == SD_OK) {
        rc = idx_settings_next(ix, schema, &st, &v, err);
    }
    if (rc == SD_OK && st && (rc = idx_settings_write(ix->dir, st, err)) == SD_OK) {
        v = st->version;
        idx_settings_publish(ix, st);
        st = NULL;
    }
    pthread_mutex_unlock(&ix->settings_write_lock);
    idx_settings_free(st);
    idx_index_put(ix);
    *version = v;
    return rc;
}

/* Creates index `index` with schema (taken) as its first settings (db.c: atomically, the
 * SETTINGS file durable before anyone sees the index), or SD_EEXIST. Version 1; the index
 * version as a change from no settings would have it (0 when schema indexes as none does). */
static int idx_settings_create(struct idx_db *db, const char *index, struct sch_schema *schema,
                               uint64_t *version, struct sd_error *err)
{
    struct sch_schema *none = calloc(1, sizeof *none);
    if (!none) {
        sch_free(schema);
        return sd_errorf(err, SD_ENOMEM, "settings: out of memory");
    }
    uint64_t index_version = sch_same_index(none, schema) ? 0 : 1;
    sch_free(none);
    struct idx_settings *st;
    int rc = idx_settings_new(schema, 1, index_version, &st, err);
    if (rc) {
        return rc;
    }
    struct idx_index *ix;
    rc = idx_db_create(db, index, st, &ix, err);
    idx_settings_release(st); /* the index read its own from the file it opened */
    if (rc == SD_OK) {
        *version = 1;
        idx_index_put(ix);
    }
    return rc;
}

/* idx_set_settings, or (is_merge) idx_update_settings: json is then a merge patch, applied to
 * the settings in force of an index that exists, to none ("{}") for one it creates. */
static int idx_set_settings_as(struct idx_db *db, const char *index, const char *json, size_t len,
                               enum idx_settings_mode mode, bool is_merge, uint64_t *version,
                               struct sd_error *err)
{
    uint64_t v = 0;
    int rc;
    /* Each turn parses afresh (both paths take the schema). A turn ends the loop unless an
     * UPSERT found no index and then lost the creation of the name to another call: that
     * index exists now, so the next turn finds it (or it was dropped meanwhile). */
    for (;;) {
        struct sch_schema *schema = NULL;
        if (!is_merge && (rc = sch_parse(json, len, &schema, err)) != SD_OK) {
            return rc;
        }
        struct idx_index *ix;
        if (mode != IDX_SETTINGS_CREATE) {
            rc = idx_db_find(db, index, false, &ix, err);
            if (rc == SD_OK) {
                rc = idx_settings_change(ix, schema, is_merge ? json : NULL, len, &v, err);
                break;
            }
            if (rc != SD_ENOTFOUND || mode == IDX_SETTINGS_REPLACE) {
                sch_free(schema);
                break;
            }
        }
        if (is_merge && (rc = idx_settings_merged("{}", 2, json, len, &schema, err)) != SD_OK) {
            break;
        }
        rc = idx_settings_create(db, index, schema, &v, err);
        if (rc != SD_EEXIST || mode == IDX_SETTINGS_CREATE) {
            break;
        }
    }
    if (rc == SD_OK && version) {
        *version = v;
    }
    return rc;
}

int idx_set_settings(struct idx_db *db, const char *index, const char *json, size_t len,
                     enum idx_settings_mode mode, uint64_t *version, struct sd_error *err)
{
    return idx_set_settings_as(db, index, json, len, mode, false, version, err);
}

int idx_update_settings(struct idx_db *db, const char *index, const char *patch, size_t len,
                        uint64_t *version, struct sd_error *err)
{
    return idx_set_settings_as(db, index, patch, len, IDX_SETTINGS_UPSERT, true, version, err);
}

int idx_get_settings(struct idx_db *db, const char *index, char **json, size_t *len,
                     uint64_t *version, struct sd_error *err)
{
    struct idx_index *ix;
    int rc = idx_db_find(db, index, false, &ix, err);
    if (rc) {
        return rc;
    }
    struct idx_settings *st = idx_settings_acquire(ix);
    *json = strdup(st->json);
    *len = st->json_len;
    *version = st->version;
    idx_settings_release(st);
    idx_index_put(ix);
    return *json ? SD_OK : sd_errorf(err, SD_ENOMEM, "out of memory");
}

/* ---- checking a write ---- */

/* The error of sch_convert, with the document named in front. */
static int idx_doc_error(const struct idx_op *op, const struct sd_error *why, struct sd_error *err)
{
    const struct seg_doc *d = &op->doc;
    return sd_errorf(err, why->code, "document '%.*s': %s", (int)sd_utf8_cut(d->id, d->id_len, 64),
                     d->id, why->msg);
}

static bool idx_json_starts(const char *s, size_t len, char c)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
        i++;
    }
    return i < len && s[i] == c;
}

/* One field as it stands before any rewrite: a string (is_string: bytes [*p, + *len), maybe
 * unescaped into vals' text) or JSON text. A stored JSON string (what an earlier rewrite
 * made of a string) is a string again: the rewrite is undone before it is redone. */
static bool idx_field_string(const struct seg_field *f, struct sch_values *vals, const char **p,
                             size_t *len)
{
    *p = f->value;
    *len = f->value_len;
    if (f->type == SEG_TEXT) {
        return true;
    }
    if (f->type != SEG_RAW || !idx_json_starts(f->value, f->value_len, '"')) {
        return false;
    }
    static const struct sch_field as_text = {.name = "(string)", .name_len = 8, .type = SCH_TEXT};
    if (sch_convert(&as_text, true, f->value, f->value_len, vals, NULL) != SD_OK ||
        vals->count != 1) {
        return false; /* not one JSON string after all: keep it as JSON text */
    }
    *p = (const char *)vals->text.data + vals->v[0].off;
    *len = vals->v[0].len;
    return true;
}

/* Field i rewritten for st into fields[i] (value in scratch at offs[i], or the document's).
 * *bad: the value does not fit its declared type (err says why, unless lenient). */
static int idx_retype_field(const struct idx_settings *st, const struct seg_field *f,
                            struct seg_field *out, size_t *off, struct sd_buf *scratch,
                            struct sch_values *vals, bool lenient, struct sd_error *err)
{
    const char *sp;
    size_t slen;
    struct sch_values unesc; /* its own: vals is overwritten by the conversion below */
    sch_values_init(&unesc);
    bool is_string = idx_field_string(f, &unesc, &sp, &slen);
    const struct sch_field *decl = sch_find(st->schema, f->name, f->name_len);
    bool has_fields = st->schema->has_fields;
    *out = *f;
    *off = SIZE_MAX;
    bool fits = true;
    if (decl) {
        struct sd_error why = {0};
        fits = sch_convert(decl, !is_string, is_string ? sp : f->value,
                           is_string ? slen : f->value_len, vals, &why) == SD_OK &&
               (lenient || sch_check_new(decl, vals, &why) == SD_OK);
        if (!fits && !lenient) {
            sch_values_free(&unesc);
            *err = why;
            return why.code;
        }
    }
    bool as_text = !has_fields || (decl && decl->type == SCH_TEXT && fits);
    if (is_string && as_text && f->type == SEG_TEXT) {
        /* indexed as it is */
    } else if (is_string && as_text) {
        out->type = SEG_TEXT; /* indexed; the bytes are copied out of unesc */
        *off = scratch->len;
        sd_buf_put(scratch, sp, slen);
        out->value_len = slen;
    } else if (is_string) {
        *off = scratch->len; /* stored as the JSON string it was, not indexed */
        sch_json_quote(sp, slen, scratch);
        out->type = SEG_RAW;
        out->value_len = scratch->len - *off;
    } else {
        bool array = as_text && has_fields && idx_json_starts(f->value, f->value_len, '[');
        out->type = array ? SEG_TEXT_ARRAY : SEG_RAW; /* an array of strings: each indexed */
    }
    sch_values_free(&unesc);
    return SD_OK;
}

/* The rewrite itself (see the top of the file): strict refuses a value that does not fit,
 * lenient keeps it stored only. *changed: a field differs from the document's. */
static int idx_retype(const struct idx_settings *st, bool lenient, const struct idx_op *op,
                      struct idx_op *out, struct seg_field *fields, struct sd_buf *scratch,
                      struct sch_values *vals, bool *changed, struct sd_error *err)
{
    const struct seg_doc *d = &op->doc;
    size_t offs[SEG_MAX_FIELDS]; /* SIZE_MAX: the value is the document's own */
    sd_buf_reset(scratch);
    *changed = false;
    for (size_t i = 0; i < d->nfields; i++) {
        struct sd_error why = {0};
        if (idx_retype_field(st, &d->fields[i], &fields[i], &offs[i], scratch, vals, lenient,
                             &why)) {
            return idx_doc_error(op, &why, err);
        }
    }
    if (scratch->rc) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->nfields; i++) {
        const struct seg_field *f = &d->fields[i];
        if (offs[i] != SIZE_MAX) {
            fields[i].value = (const char *)scratch->data + offs[i];
        }
        *changed |= fields[i].type != f->type || fields[i].value_len != f->value_len ||
                    memcmp(fields[i].value, f->value, f->value_len) != 0;
    }
    *out = *op;
    out->doc.fields = fields;
    return SD_OK;
}

int idx_settings_check_op(const struct idx_settings *st, const struct idx_op *op,
                          struct idx_op *out, struct seg_field *fields, struct sd_buf *scratch,
                          struct sch_values *vals, struct sd_error *err)
{
    bool changed;
    return idx_retype(st, false, op, out, fields, scratch, vals, &changed, err);
}

/* ---- attribute columns of the memtable's builder ---- */

struct idx_attr_col {
    struct sch_values v;
    int64_t *ints;
    double *floats;
    const char **strs;
    size_t *lens;
    size_t cap;
};

struct idx_attr_scratch {
    struct idx_attr_col cols[SCH_MAX_FIELDS];
    struct seg_attr_vals vals[SCH_MAX_FIELDS];
    struct seg_field fields[SEG_MAX_FIELDS]; /* idx_settings_retype_logged's document */
    struct sd_buf buf;
    struct sch_values conv;
};

static uint8_t idx_attr_type(enum sch_type t)
{
    return t == SCH_FLOAT ? SEG_ATTR_FLOAT : t == SCH_KEYWORD ? SEG_ATTR_KEYWORD : SEG_ATTR_INT;
}

size_t idx_settings_attr_specs(const struct idx_settings *st, struct seg_attr_spec *specs)
{
    size_t n = 0;
    for (size_t i = 0; i < st->schema->nfields; i++) {
        const struct sch_field *f = &st->schema->fields[i];
        if (f->type != SCH_TEXT) {
            specs[n++] = (struct seg_attr_spec){f->name, f->name_len, idx_attr_type(f->type)};
        }
    }
    return n;
}

void idx_attr_scratch_free(struct idx_attr_scratch *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < SCH_MAX_FIELDS; i++) {
        struct idx_attr_col *c = &s->cols[i];
        sch_values_free(&c->v);
        free(c->ints);
        free(c->floats);
        free(c->strs);
        free(c->lens);
    }
    sd_buf_free(&s->buf);
    sch_values_free(&s->conv);
    free(s);
}

static bool idx_attr_col_reserve(struct idx_attr_col *c, size_t n)
{
    if (n <= c->cap) {
        return true;
    }
    int64_t *i = realloc(c->ints, n * sizeof *i);
    c->ints = i ? i : c->ints;
    double *f = i ? realloc(c->floats, n * sizeof *f) : NULL;
    c->floats = f ? f : c->floats;
    const char **s = f ? realloc(c->strs, n * sizeof *s) : NULL;
    c->strs = s ? s : c->strs;
    size_t *l = s ? realloc(c->lens, n * sizeof *l) : NULL;
    c->lens = l ? l : c->lens;
    if (!l) {
        return false;
    }
    c->cap = n;
    return true;
}

/* Field f's value in doc, converted into column c's arrays (count 0 when absent or when it
 * does not fit: only documents logged under older settings). */
static struct seg_attr_vals idx_attr_one(const struct sch_field *f, const struct seg_doc *doc,
                                         struct idx_attr_col *c, bool *oom)
{
    struct seg_attr_vals out = {0};
    for (size_t k = 0; k < doc->nfields; k++) {
        const struct seg_field *df = &doc->fields[k];
        if (df->name_len != f->name_len || memcmp(df->name, f->name, f->name_len) != 0) {
            continue;
        }
        if (sch_convert(f, df->type == SEG_RAW, df->value, df->value_len, &c->v, NULL) ||
            !idx_attr_col_reserve(c, c->v.count)) {
            *oom |= c->v.count > c->cap;
            return out;
        }
        for (size_t i = 0; i < c->v.count; i++) {
            c->ints[i] = c->v.v[i].i;
            c->floats[i] = c->v.v[i].f;
            c->strs[i] = (const char *)c->v.text.data + c->v.v[i].off;
            c->lens[i] = c->v.v[i].len;
        }
        out = (struct seg_attr_vals){(uint32_t)c->v.count, c->ints, c->floats, c->strs, c->lens};
        return out;
    }
    return out;
}

static struct idx_attr_scratch *idx_attr_scratch_get(struct idx_attr_scratch **scratch)
{
    if (!*scratch) {
        *scratch = calloc(1, sizeof **scratch);
        for (size_t i = 0; *scratch && i < SCH_MAX_FIELDS; i++) {
            sch_values_init(&(*scratch)->cols[i].v);
        }
        if (*scratch) {
            sd_buf_init(&(*scratch)->buf);
            sch_values_init(&(*scratch)->conv);
        }
    }
    return *scratch;
}

int idx_settings_retype_logged(const struct idx_settings *st, const struct idx_op *op,
                               struct idx_op *out, struct idx_attr_scratch **scratch, bool *changed,
                               struct sd_error *err)
{
    struct idx_attr_scratch *s = idx_attr_scratch_get(scratch);
    if (!s) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    return idx_retype(st, true, op, out, s->fields, &s->buf, &s->conv, changed, err);
}

const struct seg_attr_vals *idx_settings_attr_vals(const struct idx_settings *st,
                                                   const struct seg_doc *doc,
                                                   struct idx_attr_scratch **scratch)
{
    struct idx_attr_scratch *s = idx_attr_scratch_get(scratch);
    if (!s) {
        return NULL;
    }
    size_t n = 0;
    bool oom = false;
    for (size_t i = 0; i < st->schema->nfields; i++) {
        const struct sch_field *f = &st->schema->fields[i];
        if (f->type != SCH_TEXT) {
            s->vals[n] = idx_attr_one(f, doc, &s->cols[n], &oom);
            n++;
        }
    }
    return oom ? NULL : s->vals;
}
