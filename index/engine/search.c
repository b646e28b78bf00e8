/*
 * search.c: the read side: search, get by id, stats.
 *
 * Every read acquires one snapshot and releases it at the end, so what it
 * returns is consistent even while a flush or merge swaps segments. Results
 * are copied out (ids, titles, snippets, stored fields) before the release,
 * because the segments they came from may be unmapped right after.
 * Each thread keeps its own query context (stemmer, heaps, buffers) in a
 * thread-local, freed when the thread exits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_int.h"

static pthread_key_t idx_ctx_key;
static pthread_once_t idx_ctx_once = PTHREAD_ONCE_INIT;

static void idx_ctx_destroy(void *p)
{
    qry_ctx_free(p);
}

static void idx_ctx_key_init(void)
{
    pthread_key_create(&idx_ctx_key, idx_ctx_destroy);
}

static struct qry_ctx *idx_thread_ctx(void)
{
    pthread_once(&idx_ctx_once, idx_ctx_key_init);
    struct qry_ctx *ctx = pthread_getspecific(idx_ctx_key);
    if (!ctx && qry_ctx_new(&ctx) == SD_OK) {
        pthread_setspecific(idx_ctx_key, ctx);
    }
    return ctx;
}

void idx_search_params_default(const struct idx_db *db, struct qry_params *p)
{
    qry_params_default(p);
    p->k1 = db->cfg.k1;
    p->b = db->cfg.b;
}

/* The stored field named name of the given type (SEG_TEXT; SEG_RAW, as a load reads back a
 * text array: a declared text field given an array of strings), or NULL. */
static const struct seg_field *idx_field(const struct seg_stored *st, const char *name,
                                         enum seg_value_type type)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < st->nfields; i++) {
        const struct seg_field *f = &st->fields[i];
        if (f->type == type && f->name_len == len && memcmp(f->name, name, len) == 0) {
            return f;
        }
    }
    return NULL;
}

/* The text a snippet is cut from: body, else the longest other text field. */
static const struct seg_field *idx_snippet_field(const struct seg_stored *st)
{
    const struct seg_field *best = idx_field(st, "body", SEG_TEXT);
    for (size_t i = 0; !best && i < st->nfields; i++) {
        const struct seg_field *f = &st->fields[i];
        if (f->type == SEG_TEXT && !(f->name_len == sizeof SEG_TITLE_FIELD - 1 &&
                                     memcmp(f->name, SEG_TITLE_FIELD, f->name_len) == 0)) {
            best = f;
        }
    }
    return best;
}

/* Between the strings of a text array as a hit shows them. */
#define IDX_ARRAY_SEP " \xC2\xB7 " /* " · " */

static int idx_join_one(void *arg, const char *s, size_t len)
{
    struct sd_buf *out = arg;
    if (out->len > 0) {
        sd_buf_put(out, IDX_ARRAY_SEP, sizeof IDX_ARRAY_SEP - 1);
    }
    sd_buf_put(out, s, len);
    return out->rc ? SD_ENOMEM : SD_OK;
}

/* The strings of stored field f of v joined by IDX_ARRAY_SEP into out, NUL-terminated (the NUL
 * not counted in out->len): the text a hit shows of a text array, which the segment's title
 * table and the chunked snippet path (SEG_TEXT fields) do not see. A value that is no array of
 * strings leaves out empty. SD_OK, SD_ENOMEM, or SD_ECORRUPT (err says which chunk). */
static int idx_join_array(struct seg_doc_view *v, const struct seg_field *f, struct sd_buf *out,
                          struct sd_error *err)
{
    size_t from = (size_t)((const uint8_t *)f->value - v->rec);
    int rc = seg_doc_view_load(v, from, from + f->value_len, err);
    if (rc != SD_OK) {
        return rc;
    }
    struct sd_buf scratch;
    sd_buf_init(&scratch);
    rc = f->value_len > 0 && f->value[0] == '['
             ? seg_text_array_each(f->value, f->value_len, &scratch, idx_join_one, out)
             : SD_EINVAL;
    sd_buf_free(&scratch);
    if (rc == SD_EINVAL) {
        sd_buf_reset(out); /* numbers, objects: stored only, nothing to show */
        rc = SD_OK;
    }
    sd_buf_put_u8(out, 0);
    out->len -= out->rc == SD_OK;
    return out->rc ? sd_errorf(err, SD_ENOMEM, "out of memory") : rc;
}

/* A text array's title as the hit shows it (title_len was 0: the title table holds only
 * SEG_TEXT titles): its strings joined into arr (idx_join_array), cut as the title table cuts
 * (seg_doc_title: SEG_TITLE_MAX bytes, backed up to a character); *title and *title_len point
 * into arr, and h->title is replaced by a copy. Nothing changes when the document's title is
 * no text array. SD_OK, SD_ENOMEM or SD_ECORRUPT. */
static int idx_array_title(struct seg_doc_view *v, struct sd_buf *arr, const char **title,
                           size_t *title_len, struct idx_hit *h, struct sd_error *err)
{
    const struct seg_field *raw = idx_field(&v->st, SEG_TITLE_FIELD, SEG_RAW);
    int rc = raw ? idx_join_array(v, raw, arr, err) : SD_OK;
    if (rc != SD_OK || arr->len == 0) {
        return rc;
    }
    const char *t = (const char *)arr->data;
    size_t len = strnlen(t, arr->len);
    while (len > SEG_TITLE_MAX ||
           (len > 0 && len < arr->len && ((unsigned char)t[len] & 0xC0) == 0x80)) {
        len--;
    }
    char *copy = strndup(t, len);
    if (!copy) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    free(h->title);
    h->title = copy;
    *title = t;
    *title_len = len;
    return SD_OK;
}

/* A title the title table cut (SEG_TITLE_MAX bytes, backed up to a character) is highlighted
 * from the stored one, as a fragment of as many bytes around its matches: a word past the cut
 * is marked, and "…" says where the title goes on. Sets *full and *full_len to the stored
 * title (loaded into v) when the shown one (title_len bytes) was cut; else leaves them. */
static int idx_full_title(struct seg_doc_view *v, size_t title_len, const char **full,
                          size_t *full_len, struct sd_error *err)
{
    const struct seg_field *tf =
        title_len + 3 >= SEG_TITLE_MAX ? idx_field(&v->st, SEG_TITLE_FIELD, SEG_TEXT) : NULL;
    if (!tf || tf->value_len <= title_len) {
        return SD_OK;
    }
    size_t from = (size_t)((const uint8_t *)tf->value - v->rec);
    int rc = seg_doc_view_load(v, from, from + tf->value_len, err);
    if (rc == SD_OK) {
        *full = tf->value;
        *full_len = tf->value_len;
    }
    return rc;
}

/* The highlighted title and snippets of a hit (req->opts.highlight): parts 0 (the title, a
 * fragment of title_frag bytes of it when not 0) and
 * 1.. (the body's fragments, when body is not NULL, or of text[0, text_len) when text is: a
 * text array's strings), each NUL-terminated, into h->hl; and the plain snippet into snip,
 * from the same pass over the body. */
static int idx_highlight(struct qry_ctx *ctx, const struct qry *q, const char *title,
                         size_t title_len, size_t title_frag, struct seg_doc_view *v,
                         const struct seg_field *body, const char *text, size_t text_len,
                         size_t snippet_len, const struct idx_search_opts *opts, struct idx_hit *h,
                         struct sd_buf *snip, struct sd_error *err)
{
    struct sd_buf parts, spans;
    sd_buf_init(&parts);
    sd_buf_init(&spans);
    struct qry_hl_opts o = opts->hl;
    h->is_hl_offsets = o.wants_offsets;
    o.fragment_len = title_frag; /* 0: the whole title */
    o.fragments = 1;
    size_t n = 0;
    int rc = qry_highlight(ctx, q, title, title_len, &o, 0, &parts, &n, &spans);
    if (rc == SD_OK && body && body->value_len > 0) { /* "": no fragment, as with no body */
        o = opts->hl;
        o.fragment_len = snippet_len;
        rc = qry_highlight_doc(ctx, q, v, body, &o, 1, &parts, &h->hl_nsnippets, &spans, snip, err);
    } else if (rc == SD_OK && text) {
        o = opts->hl;
        o.fragment_len = snippet_len;
        rc = qry_highlight(ctx, q, text, text_len, &o, 1, &parts, &h->hl_nsnippets, &spans);
        if (rc == SD_OK) {
            rc = qry_snippet(ctx, q, text, text_len, snippet_len, snip);
        }
    }
    if (rc == SD_OK && !parts.rc && !spans.rc) {
        h->hl = (char *)sd_buf_detach(&parts, &h->hl_len);
        h->hl_nspans = spans.len / sizeof *h->hl_spans;
        h->hl_spans = spans.len ? (struct qry_hl_span *)sd_buf_detach(&spans, &n) : NULL;
    }
    sd_buf_free(&parts);
    sd_buf_free(&spans);
    if (rc == SD_ECORRUPT) {
        return rc; /* err says which chunk */
    }
    return rc || !h->hl ? sd_errorf(err, SD_ENOMEM, "out of memory") : SD_OK;
}

/* Fills the snippet (and, when asked, the highlights) of a hit; the one part of a hit that
 * needs the stored body, opened only when a snippet is wanted, or when the title table has no
 * title for the document (a text array's title is read from the stored document, snippet or
 * not). The body is read through a view: of a big record (stored in chunks) only the chunks
 * the snippet needs are decompressed (issue 12). */
static int idx_snippet(struct qry_ctx *ctx, const struct qry *q, const struct seg *s, uint32_t doc,
                       const char *title, size_t title_len, size_t snippet_len,
                       const struct idx_search_opts *opts, struct idx_hit *h, struct sd_error *err)
{
    struct seg_doc_view v;
    const struct seg_field *body = NULL;
    struct sd_buf snip, arr_title, arr_body; /* arr_: text arrays' strings (idx_join_array) */
    const char *hl_title = NULL;             /* the stored title, when the table's was cut */
    size_t hl_title_len = 0;
    sd_buf_init(&snip);
    sd_buf_init(&arr_title);
    sd_buf_init(&arr_body);
    bool has_view = snippet_len > 0 || title_len == 0;
    int rc = has_view ? seg_doc_view_open(s, doc, &v, err) : SD_OK;
    if (has_view && rc == SD_OK && title_len == 0) {
        rc = idx_array_title(&v, &arr_title, &title, &title_len, h, err);
    }
    if (snippet_len && rc == SD_OK) {
        body = idx_snippet_field(&v.st); /* names and types: no value is read */
        const struct seg_field *raw = body ? NULL : idx_field(&v.st, "body", SEG_RAW);
        if (raw) {
            rc = idx_join_array(&v, raw, &arr_body, err);
        }
        if (rc == SD_OK && opts->highlight) {
            rc = idx_full_title(&v, title_len, &hl_title, &hl_title_len, err);
        }
        if (rc == SD_OK && body && !opts->highlight) {
            rc = qry_snippet_doc(ctx, q, &v, body, snippet_len, &snip, err);
        } else if (rc == SD_OK && arr_body.len > 0 && !opts->highlight) {
            rc = qry_snippet(ctx, q, (const char *)arr_body.data, arr_body.len, snippet_len, &snip);
        }
        if (rc == SD_ENOMEM) {
            rc = sd_errorf(err, rc, "out of memory");
        }
    }
    if (rc == SD_OK && opts->highlight) {
        const char *text = arr_body.len > 0 ? (const char *)arr_body.data : NULL;
        rc = idx_highlight(ctx, q, hl_title ? hl_title : title, hl_title ? hl_title_len : title_len,
                           hl_title ? SEG_TITLE_MAX : 0, snippet_len ? &v : NULL, body, text,
                           arr_body.len, snippet_len, opts, h, &snip, err);
    }
    if (has_view) {
        seg_doc_view_free(&v);
    }
    sd_buf_free(&arr_title);
    sd_buf_free(&arr_body);
    sd_buf_put_u8(&snip, 0);
    size_t n;
    h->snippet = snip.rc ? NULL : (char *)sd_buf_detach(&snip, &n);
    sd_buf_free(&snip);
    return rc;
}

/* True when the stored field f is one the request chose (names[0, n), or "*" among them). */
static bool idx_is_chosen(const struct seg_field *f, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "*") == 0 ||
            (strlen(names[i]) == f->name_len && memcmp(names[i], f->name, f->name_len) == 0)) {
            return true;
        }
    }
    return false;
}

static void idx_put_field(struct sd_buf *b, const struct seg_field *f)
{
    sd_buf_put(b, b->len > 1 ? "," : "", b->len > 1 ? 1 : 0);
    sch_json_quote(f->name, f->name_len, b);
    sd_buf_put(b, ":", 1);
    if (f->type == SEG_TEXT) {
        sch_json_quote(f->value, f->value_len, b);
    } else {
        sd_buf_put(b, f->value, f->value_len); /* stored as its JSON text */
    }
}

/* h->fields_json: the chosen stored fields of doc as a JSON object, in the order requested
 * (with "*": every stored field, in stored order), each once, values as stored. */
static int idx_fields_json(const struct seg *s, uint32_t doc, const struct idx_search_req *req,
                           struct idx_hit *h, struct sd_error *err)
{
    struct seg_stored st;
    int rc = seg_doc_load(s, doc, &st, err);
    struct sd_buf b;
    sd_buf_init(&b);
    sd_buf_put(&b, "{", 1);
    bool is_all = false;
    for (size_t i = 0; i < req->nfields; i++) {
        is_all |= strcmp(req->fields[i], "*") == 0;
    }
    for (size_t i = 0; rc == SD_OK && i < (is_all ? 1 : req->nfields); i++) {
        for (size_t k = 0; k < st.nfields; k++) {
            const struct seg_field *f = &st.fields[k];
            bool is_wanted = is_all || (strlen(req->fields[i]) == f->name_len &&
                                        memcmp(req->fields[i], f->name, f->name_len) == 0);
            /* a name asked twice is written at its first place only */
            if (is_wanted && (is_all || !idx_is_chosen(f, req->fields, i))) {
                idx_put_field(&b, f);
            }
        }
    }
    sd_buf_put(&b, "}", 2); /* with the NUL */
    seg_stored_free(&st);
    size_t n;
    if (rc == SD_OK && !b.rc) {
        h->fields_json = (char *)sd_buf_detach(&b, &n);
    }
    sd_buf_free(&b);
    if (rc == SD_OK && !h->fields_json) {
        rc = sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    return rc;
}

/* Id and title come from the segment's uncompressed tables (the title already cut to
 * SEG_TITLE_MAX bytes at a UTF-8 boundary); without a snippet nothing is decompressed.
 * strndup stops at a NUL inside a title, as hits always did. */
static int idx_fill_hit(struct qry_ctx *ctx, const struct qry *q, const struct seg *s, uint32_t doc,
                        const struct idx_search_req *req, struct idx_hit *h, struct sd_error *err)
{
    const char *id, *title;
    size_t id_len, title_len;
    seg_doc_id(s, doc, &id, &id_len);
    if (seg_doc_title(s, doc, &title, &title_len) != SD_OK) {
        return sd_errorf(err, SD_ENOTFOUND, "no doc %u in segment", doc);
    }
    h->id = strndup(id, id_len);
    h->title = strndup(title, title_len);
    size_t snippet_len =
        req->snippet_len && req->opts.snippet_len ? req->opts.snippet_len : req->snippet_len;
    int rc = idx_snippet(ctx, q, s, doc, title, strnlen(title, title_len), snippet_len, &req->opts,
                         h, err);
    if (rc == SD_OK && (!h->id || !h->title || !h->snippet)) {
        rc = sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    if (rc == SD_OK && req->nfields > 0) {
        rc = idx_fields_json(s, doc, req, h, err);
    }
    return rc;
}

/* Whether the request asks for something a browse answers: a filter, a sort or facets. */
static bool idx_has_attr_params(const struct idx_search_req *req)
{
    return req->filter_len > 0 || req->sort_len > 0 || req->nfacets > 0;
}

/* A request whose q is empty (or spaces) browses when it has a filter, a sort or facets:
 * facets alone are a faceted page's first view, the counts over every document. */
static bool idx_is_browse(const struct idx_search_req *req)
{
    for (size_t i = 0; i < req->q_len; i++) {
        if (req->q[i] != ' ' && req->q[i] != '\t' && req->q[i] != '\n' && req->q[i] != '\r') {
            return false;
        }
    }
    return idx_has_attr_params(req);
}

/* *q read with the index's synonyms and stopwords (lex may be NULL: none), in place. */
static int idx_with_lexicon(const struct qry_lexicon *lex, struct qry **q, struct sd_error *err)
{
    struct qry *lq = NULL;
    int rc = qry_with_lexicon(lex, *q, &lq, err);
    if (rc == SD_OK && lq) {
        qry_free(*q);
        *q = lq;
    }
    return rc;
}

/* One reading of the query text: parsed with the request's syntax, read with the index's
 * synonyms and stopwords, and searched. On success *q and *res are the caller's (qry_free,
 * qry_result_free), also on a search error. */
static int idx_reading(struct qry_ctx *ctx, const char *text, size_t len,
                       const struct idx_search_req *req, const struct sch_schema *schema,
                       const struct qry_lexicon *lex, const struct qry_segment *segs, size_t nsegs,
                       struct qry **q, struct qry_result *res, struct sd_error *err)
{
    *q = NULL;
    memset(res, 0, sizeof *res);
    int rc;
    if (idx_is_browse(req)) {
        rc = qry_parse_filter(ctx, "", 0, schema, q, err); /* every document (that passes) */
    } else if (req->opts.syntax == QRY_SYNTAX_SIMPLE) {
        unsigned flags = req->opts.prefix_last ? QRY_SIMPLE_PREFIX_LAST : 0;
        rc = qry_parse_simple(ctx, text, len, flags, q, err);
        if (rc == SD_OK && qry_is_none(*q) && idx_has_attr_params(req)) {
            /* A box with no word in it ("?", "!!!") browses as an empty one does. */
            qry_free(*q);
            *q = NULL;
            rc = qry_parse_filter(ctx, "", 0, schema, q, err);
        }
    } else {
        rc = qry_parse_schema(ctx, text, len, schema, q, err);
    }
    if (rc == SD_OK) {
        rc = idx_with_lexicon(lex, q, err);
    }
    bool is_grouped = false;
    if (rc == SD_OK && req->opts.is_any_words && qry_with_any_words(*q, &is_grouped)) {
        rc = sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    if (rc == SD_OK) {
        rc = qry_search(ctx, *q, segs, nsegs, &req->params, res, err);
    }
    return rc;
}

/* Another reading of the text (the other keyboard layout, then typos) is searched only when the
 * typed one matches little (at most this many documents) and some word of it is in no document
 * at all: a query of rare but real words (a known item) is not second-guessed, and queries
 * typed right pay nothing but the check. */
#define IDX_FEW_MATCHES 2

static bool idx_has_unknown_words(const struct qry_result *res)
{
    return res->total <= IDX_FEW_MATCHES && res->unknown_words > 0;
}

/* The other readings are also tried when the words as typed find nothing though each is
 * known: text typed in the wrong layout splits at the keys of б, ю, х, ж, э into short pieces
 * ("c,jhrb" is "c" and "jhrb") that some document may have, but seldom all together; and a
 * misspelling may be a word a few documents share ("програмное"): the typo reading then gives
 * near forms to every word (qry_with_typos). */
static bool idx_wants_other_reading(const struct qry_result *res)
{
    return res->total == 0 || idx_has_unknown_words(res);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A reading as the answer names it: text[0, len) without the spaces at its ends. The reading
 * keeps them, since they tell a whole last word from one being typed (`prefix_last`), but
 * they say nothing to whoever reads "did you mean". NULL when out of memory. */
static char *idx_reading_name(const char *text, size_t len)
{
    while (len > 0 && is_blank(text[len - 1])) {
        len--;
    }
    size_t start = 0;
    while (start < len && is_blank(text[start])) {
        start++;
    }
    return strndup(text + start, len - start);
}

/* Searches the layout reading alt[0, len): it replaces *q and *res when it finds clearly more
 * (more than three times as many documents), and out->layout_query then says what was searched.
 * A reading that does not parse or fails is not an error of the request: the typed one stands.
 * dead[0, *ndead) (when dead is not NULL): the chunks of alt that hold a word no document has,
 * as far as it was read. */
static int idx_try_layout_reading(struct qry_ctx *ctx, const struct idx_search_req *req,
                                  const struct sch_schema *schema, const struct qry_lexicon *lex,
                                  const struct qry_segment *segs, size_t nsegs, const char *alt,
                                  size_t len, struct qry **q, struct qry_result *res,
                                  struct idx_search_res *out, size_t *dead, size_t *ndead)
{
    struct qry *alt_q = NULL;
    struct qry_result alt_res;
    struct sd_error alt_err = {0};
    int rc = idx_reading(ctx, alt, len, req, schema, lex, segs, nsegs, &alt_q, &alt_res, &alt_err);
    if (rc == SD_ENOMEM) {
        qry_free(alt_q);
        return rc;
    }
    for (size_t i = 0; dead && rc == SD_OK && i < alt_res.nunknown_at; i++) {
        dead[(*ndead)++] = qry_layout_chunk(alt, len, alt_res.unknown_at[i]);
    }
    if (rc == SD_OK && alt_res.total > 3 * res->total) {
        out->layout_query = idx_reading_name(alt, len);
        out->is_layout_used = out->layout_query != NULL;
        rc = out->is_layout_used ? SD_OK : SD_ENOMEM;
    }
    if (out->is_layout_used) {
        qry_result_free(res);
        qry_free(*q);
        *q = alt_q;
        *res = alt_res;
        return SD_OK;
    }
    qry_result_free(&alt_res);
    qry_free(alt_q);
    return rc == SD_ENOMEM ? rc : SD_OK;
}

/* What the layout readings know of the typed text: where its words that no document has start
 * (the typed reading's unknown_at), the chunks in which the whole text read in the other
 * layout found nobody's words either, and the text with only those words read in it (part,
 * built once: it is asked for twice when it mixes the scripts). */
struct idx_layout {
    uint32_t at[QRY_MAX_TERMS];
    size_t nat;
    size_t dead[QRY_MAX_TERMS];
    size_t ndead;
    struct sd_buf whole; /* the whole text in the other layout, once searched */
    bool is_whole_tried;
    struct sd_buf part;
    bool is_part_built;
    bool is_part_changed;
    bool is_part_mixed;
    bool is_part_tried;
};

/* Whether one of the chunks of text that hold l->at is one of l->dead. */
static bool idx_layout_meets_dead(const struct idx_layout *l, const char *text, size_t len)
{
    for (size_t i = 0; i < l->nat; i++) {
        size_t c = qry_layout_chunk(text, len, l->at[i]);
        for (size_t k = 0; k < l->ndead; k++) {
            if (l->dead[k] == c) {
                return true;
            }
        }
    }
    return false;
}

/* The whole text read in the other keyboard layout ("lbgkjvfnbz wbahjdfz"). Not when beside a
 * word no document has stands a word of QRY_TYPO_ONE_EDIT+ characters that some document has
 * as typed (known_long_words, which qry_search counts only beside unknown words): that one was
 * typed in the right layout, and the whole reading would make gibberish of it. Such a typo
 * ("harmonic convrges") goes on to the typo reading without searching the whole text's
 * ("рфкьщтшс сщтмкпуы") first, and the unknown words are still read in the other layout
 * (idx_try_layout_part: "цифровая lbgkjvfnbz"). Words that are each some document's but find
 * nothing together are read whole: nicknames typed in the wrong layout can be anyone's words. */
static int idx_try_layout(struct qry_ctx *ctx, const struct idx_search_req *req,
                          const struct sch_schema *schema, const struct qry_lexicon *lex,
                          const struct qry_segment *segs, size_t nsegs, struct qry **q,
                          struct qry_result *res, struct idx_search_res *out, struct idx_layout *l)
{
    if (res->known_long_words > 0) {
        return SD_OK;
    }
    bool is_changed = false;
    int rc = qry_layout_swap(req->q, req->q_len, &l->whole, &is_changed);
    if (rc == SD_OK && is_changed) {
        l->is_whole_tried = true;
        rc = idx_try_layout_reading(ctx, req, schema, lex, segs, nsegs, (const char *)l->whole.data,
                                    l->whole.len, q, res, out, l->dead, &l->ndead);
    }
    return rc;
}

/* Only the chunks of the words no document has read in the other layout, the rest as typed:
 * some words typed with the wrong layout on and the others right. When that reading is of one
 * script ("цифровая lbgkjvfnbz" -> "цифровая дипломатия"), it is tried right after the whole
 * text's; when it mixes the scripts ("iPhone xtvjlfy" -> "iPhone чемодан", but also every typo
 * beside a word typed right: "harmonic convergs" -> "harmonic сщтмукпы"), only as the last
 * resort (is_last: the typo reading found no more either), so that typo queries do not pay
 * for it. Not at all when a chunk it would rewrite was nobody's word in the whole reading too
 * ("brigt yellow" -> "икшпе yellow"). */
static int idx_try_layout_part(struct qry_ctx *ctx, const struct idx_search_req *req,
                               const struct sch_schema *schema, const struct qry_lexicon *lex,
                               const struct qry_segment *segs, size_t nsegs, struct qry **q,
                               struct qry_result *res, struct idx_search_res *out,
                               struct idx_layout *l, bool is_last)
{
    if (l->is_part_tried || out->is_layout_used || idx_layout_meets_dead(l, req->q, req->q_len)) {
        return SD_OK;
    }
    if (!l->is_part_built) {
        int rc =
            qry_layout_swap_at(req->q, req->q_len, l->at, l->nat, &l->part, &l->is_part_changed);
        if (rc) {
            return rc;
        }
        l->is_part_built = true;
        l->is_part_mixed = qry_layout_mixes_scripts((const char *)l->part.data, l->part.len);
    }
    if (!l->is_part_changed || (l->is_part_mixed && !is_last)) {
        return SD_OK;
    }
    l->is_part_tried = true;
    return idx_try_layout_reading(ctx, req, schema, lex, segs, nsegs, (const char *)l->part.data,
                                  l->part.len, q, res, out, NULL, NULL);
}

/* The corrected reading: the text as did_you_mean names it (fix[0, len)), read with the
 * index's synonyms, replaces the typo reading *fq and *fres when it finds more. The typo
 * reading matches a misspelt word's near forms but not their synonyms: the lexicon reads the
 * words as typed, and a misspelling is no synonym's member ("дипломатея" found the pages of
 * "дипломатия", not the one that only says "diplomacy"; "искуственный интеллект" not the one
 * with "ИИ"). Read corrected, the word is what it corrects to, its synonyms score below it
 * (synonym.c's cap), and the near forms other than the correction are left out. Searched only
 * when the index has synonyms: without them it finds no more than the typo reading. SD_OK or
 * SD_ENOMEM: a reading that fails otherwise leaves the typo one. */
static int idx_try_corrected(struct qry_ctx *ctx, const struct idx_search_req *req,
                             const struct sch_schema *schema, const struct qry_lexicon *lex,
                             const struct qry_segment *segs, size_t nsegs, const char *fix,
                             size_t len, struct qry **fq, struct qry_result *fres)
{
    if (!qry_lexicon_has_synonyms(lex)) {
        return SD_OK;
    }
    struct sd_error e = {0};
    struct qry *cq = NULL;
    struct qry_result cres;
    int rc = idx_reading(ctx, fix, len, req, schema, lex, segs, nsegs, &cq, &cres, &e);
    if (rc == SD_OK && cres.total > fres->total) {
        qry_result_free(fres);
        qry_free(*fq);
        *fq = cq;
        *fres = cres;
        return SD_OK;
    }
    qry_result_free(&cres);
    qry_free(cq);
    return rc == SD_ENOMEM ? rc : SD_OK;
}

/* The typo-tolerant reading of *q (parsed from text[0, len)) replaces *q and *res when it finds
 * clearly more; out->did_you_mean then names the correction, when a typed word no document
 * has has a close form that some document has, and with the index's synonyms the corrected
 * reading may stand for it (idx_try_corrected). */
static int idx_try_typos(struct qry_ctx *ctx, const struct idx_search_req *req,
                         const struct sch_schema *schema, const struct qry_lexicon *lex,
                         const char *text, size_t len, const struct qry_segment *segs, size_t nsegs,
                         struct qry **q, struct qry_result *res, struct idx_search_res *out)
{
    struct sd_error e = {0};
    struct qry *fq = NULL;
    bool is_every_word = res->total == 0 && res->unknown_words == 0;
    int rc = qry_with_typos(*q, is_every_word, &fq, &e);
    if (rc || !fq) {
        return rc;
    }
    struct qry_result fres = {0};
    rc = qry_search(ctx, fq, segs, nsegs, &req->params, &fres, &e);
    if (rc == SD_OK && fres.total > 3 * res->total) {
        struct sd_buf dym;
        sd_buf_init(&dym);
        bool is_corrected = false;
        rc = qry_did_you_mean(ctx, fq, text, len, &dym, &is_corrected);
        if (rc == SD_OK && is_corrected) {
            out->did_you_mean = idx_reading_name((const char *)dym.data, dym.len);
            rc = out->did_you_mean ? SD_OK : SD_ENOMEM;
        }
        if (rc == SD_OK && is_corrected && !is_every_word) {
            /* (the words corrected are in no document: the corrected reading loses no match
             * of them as typed, as it would of a misspelling some documents share) */
            rc = idx_try_corrected(ctx, req, schema, lex, segs, nsegs, (const char *)dym.data,
                                   dym.len, &fq, &fres);
        }
        sd_buf_free(&dym);
        if (rc == SD_OK) {
            out->is_typo_used = true;
            qry_result_free(res);
            qry_free(*q);
            *q = fq;
            *res = fres;
            return SD_OK;
        }
    }
    qry_result_free(&fres);
    qry_free(fq);
    return rc == SD_ENOMEM ? rc : SD_OK; /* a reading that fails leaves the typed one */
}

/* Typos in the other layout's reading, the last resort of a query no other reading found more
 * for: a word typed with the wrong layout on and misspelt too ("wbahjfz" is "цифроя", one
 * letter short of "цифровая"), as people who type fast make both slips at once. The reading
 * is the words no document has in the other layout (l->part) when that was searched, else
 * the whole text's; not one that mixes the scripts: a typo beside a word typed right
 * ("harmonic convergs") would be read as gibberish with typos ("сщтмукпы"). When it finds
 * more than three times as many, out says both readings: the layout's text and what it
 * corrects to. SD_OK or SD_ENOMEM: a reading that fails otherwise leaves *q and *res. */
static int idx_try_layout_typos(struct qry_ctx *ctx, const struct idx_search_req *req,
                                const struct sch_schema *schema, const struct qry_lexicon *lex,
                                const struct qry_segment *segs, size_t nsegs, struct qry **q,
                                struct qry_result *res, struct idx_search_res *out,
                                const struct idx_layout *l)
{
    const struct sd_buf *alt = l->is_part_tried ? &l->part : l->is_whole_tried ? &l->whole : NULL;
    if (!alt || qry_layout_mixes_scripts((const char *)alt->data, alt->len)) {
        return SD_OK;
    }
    const char *text = (const char *)alt->data;
    struct sd_error e = {0};
    struct qry *aq = NULL;
    struct qry_result ares;
    int rc = idx_reading(ctx, text, alt->len, req, schema, lex, segs, nsegs, &aq, &ares, &e);
    if (rc != SD_OK) {
        qry_free(aq);
        return rc == SD_ENOMEM ? rc : SD_OK;
    }
    rc = idx_try_typos(ctx, req, schema, lex, text, alt->len, segs, nsegs, &aq, &ares, out);
    if (rc == SD_OK && out->is_typo_used && ares.total > 3 * res->total) {
        out->layout_query = idx_reading_name(text, alt->len);
        out->is_layout_used = out->layout_query != NULL;
        rc = out->is_layout_used ? SD_OK : SD_ENOMEM;
    }
    if (rc == SD_OK && out->is_layout_used) {
        qry_result_free(res);
        qry_free(*q);
        *q = aq;
        *res = ares;
        return SD_OK;
    }
    out->is_typo_used = false; /* (its did_you_mean, if any, is of a reading not kept) */
    free(out->did_you_mean);
    out->did_you_mean = NULL;
    qry_result_free(&ares);
    qry_free(aq);
    return rc;
}

/* The other readings of a query whose typed reading found little (idx_wants_other_reading), in
 * order: the other keyboard layout (the whole text, then the words no document has when that
 * gives one script), typos, then the layout of those words beside the others in another
 * script, and as the last resort the other layout's reading with typos. The first that finds
 * clearly more replaces *q and *res. SD_OK or
 * SD_ENOMEM: a reading that fails otherwise leaves the typed one. */
static int idx_other_readings(struct qry_ctx *ctx, const struct idx_search_req *req,
                              const struct sch_schema *schema, const struct qry_lexicon *lex,
                              const struct qry_segment *segs, size_t nsegs, struct qry **q,
                              struct qry_result *res, struct idx_search_res *out)
{
    int rc = SD_OK;
    struct idx_layout *lay = NULL; /* 0.5 KB: kept off the worker's stack */
    bool is_layout = !req->opts.no_layout;
    if (is_layout && !(lay = calloc(1, sizeof *lay))) {
        return SD_ENOMEM;
    }
    if (is_layout) {
        lay->nat = res->nunknown_at;
        memcpy(lay->at, res->unknown_at, lay->nat * sizeof *lay->at); /* res may be replaced */
        rc = idx_try_layout(ctx, req, schema, lex, segs, nsegs, q, res, out, lay);
    }
    if (rc == SD_OK && is_layout) {
        rc = idx_try_layout_part(ctx, req, schema, lex, segs, nsegs, q, res, out, lay, false);
    }
    if (rc == SD_OK && !req->opts.no_typos && idx_wants_other_reading(res)) {
        const char *text = out->is_layout_used ? out->layout_query : req->q;
        size_t len = out->is_layout_used ? strlen(out->layout_query) : req->q_len;
        rc = idx_try_typos(ctx, req, schema, lex, text, len, segs, nsegs, q, res, out);
    }
    if (rc == SD_OK && is_layout && !out->is_typo_used && idx_wants_other_reading(res)) {
        rc = idx_try_layout_part(ctx, req, schema, lex, segs, nsegs, q, res, out, lay, true);
    }
    bool is_still_little =
        !out->is_typo_used && !out->is_layout_used && idx_wants_other_reading(res);
    if (rc == SD_OK && is_layout && !req->opts.no_typos && is_still_little) {
        rc = idx_try_layout_typos(ctx, req, schema, lex, segs, nsegs, q, res, out, lay);
    }
    if (lay) {
        sd_buf_free(&lay->whole);
        sd_buf_free(&lay->part);
    }
    free(lay);
    return rc;
}

int idx_search_text(struct qry_ctx *ctx, const struct idx_search_req *req, const char *text,
                    size_t len, const struct sch_schema *schema, const struct qry_lexicon *lex,
                    const struct qry_segment *segs, size_t nsegs, struct qry **q,
                    struct qry_result *res, struct idx_search_res *out, struct sd_error *err)
{
    struct idx_search_req r = *req; /* the other readings rewrite r.q */
    r.q = text;
    r.q_len = len;
    int rc = idx_reading(ctx, text, len, &r, schema, lex, segs, nsegs, q, res, err);
    bool is_doubtful = rc == SD_OK && idx_wants_other_reading(res);
    if (is_doubtful && !r.opts.no_typos) {
        qry_memo_keep(ctx, *q, segs, nsegs); /* the typo reading looks them up again */
    }
    if (is_doubtful) {
        int other = idx_other_readings(ctx, &r, schema, lex, segs, nsegs, q, res, out);
        if (other) {
            rc = sd_errorf(err, other, "out of memory");
        }
    }
    return rc;
}

/* Moves the facet counts of res into out (the same shape, owned strings and arrays). */
static int idx_take_facets(struct qry_result *res, struct idx_search_res *out, struct sd_error *err)
{
    if (res->nfacets == 0) {
        return SD_OK;
    }
    out->facets = calloc(res->nfacets, sizeof *out->facets);
    if (!out->facets) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    out->nfacets = res->nfacets;
    for (size_t i = 0; i < res->nfacets; i++) {
        struct qry_facet *f = &res->facets[i];
        struct idx_facet *o = &out->facets[i];
        o->buckets = calloc(f->nbuckets ? f->nbuckets : 1, sizeof *o->buckets);
        if (!o->buckets) {
            return sd_errorf(err, SD_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < f->nbuckets; k++) {
            o->buckets[k].value = f->buckets[k].value; /* moved */
            o->buckets[k].count = f->buckets[k].count;
        }
        o->nbuckets = f->nbuckets;
        f->nbuckets = 0;
        o->field = f->field;
        f->field = NULL;
        o->others = f->others;
        o->missing = f->missing;
    }
    return SD_OK;
}

static int idx_search_snap(struct qry_ctx *ctx, struct idx_snap *snap,
                           const struct idx_search_req *req, const struct sch_schema *schema,
                           const struct qry_lexicon *lex, struct idx_search_res *out,
                           struct sd_error *err)
{
    struct qry_segment *segs = calloc(snap->nsegs ? snap->nsegs : 1, sizeof *segs);
    if (!segs) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < snap->nsegs; i++) {
        segs[i].seg = snap->segs[i].ref->seg;
        segs[i].deleted = snap->segs[i].bits ? snap->segs[i].bits->words : NULL;
    }
    struct qry *q = NULL;
    struct qry_result res;
    int rc = idx_search_text(ctx, req, req->q, req->q_len, schema, lex, segs, snap->nsegs, &q, &res,
                             out, err);
    bool wants_most = rc == SD_OK && req->opts.drop_words &&
                      req->opts.syntax == QRY_SYNTAX_SIMPLE && !idx_is_browse(req);
    if (wants_most && res.total == 0) {
        rc = idx_most_words(ctx, req, schema, lex, segs, snap->nsegs, &q, &res, out, err);
    } else if (wants_most) {
        rc = idx_most_words_after(ctx, req, schema, lex, segs, snap->nsegs, &q, &res, out, err);
    }
    /* Kept by the readings of the typed words (idx_search_text), the memo answered the most
     * words' readings of the same words in the same segments: forgotten now, before another
     * search can see other segments at those addresses. */
    qry_memo_end(ctx);
    if (rc == SD_OK) {
        out->is_truncated = qry_is_truncated(q);
    }
    if (rc == SD_OK && res.nhits) {
        out->hits = calloc(res.nhits, sizeof *out->hits);
        if (!out->hits) {
            rc = sd_errorf(err, SD_ENOMEM, "out of memory");
        }
    }
    out->total = res.total;
    out->total_is_exact = res.total_is_exact;
    if (rc == SD_OK) {
        rc = idx_take_facets(&res, out, err);
    }
    for (size_t i = 0; rc == SD_OK && i < res.nhits; i++) {
        const struct qry_hit *h = &res.hits[i];
        out->hits[i].score = h->score;
        out->nhits = i + 1;
        rc = idx_fill_hit(ctx, q, segs[h->segment].seg, h->doc, req, &out->hits[i], err);
        if (rc == SD_OK && out->is_most_words &&
            idx_missing_words(q, h->any_words, &out->hits[i].missing, &out->hits[i].nmissing)) {
            rc = sd_errorf(err, SD_ENOMEM, "out of memory");
        }
    }
    qry_result_free(&res);
    qry_free(q);
    free(segs);
    return rc;
}

/* The request's weights, then each declared text field's that the request does not name.
 * *out (owned by the caller) holds them; p points at it. The request's weights and st's are
 * borrowed (field names point into them). */
static int idx_merge_weights(const struct idx_settings *st, const struct idx_search_req *req,
                             struct qry_weight **out, struct qry_params *p)
{
    const struct qry_params *in = &req->params;
    struct qry_weight *w = malloc((in->nweights + st->nweights) * sizeof *w);
    if (!w) {
        return SD_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < in->nweights; i++) {
        w[n++] = in->weights[i];
    }
    for (size_t i = 0; i < st->nweights; i++) {
        bool named = false;
        for (size_t j = 0; j < in->nweights && !named; j++) {
            named = strcmp(in->weights[j].field, st->weights[i].field) == 0;
        }
        if (!named) {
            w[n++] = st->weights[i];
        }
    }
    p->weights = w;
    p->nweights = n;
    *out = w;
    return SD_OK;
}

/* Whether some segment of snap has a text field of this name. */
static bool idx_snap_has_field(const struct idx_snap *snap, const char *name)
{
    for (size_t i = 0; snap && i < snap->nsegs; i++) {
        if (seg_field_find(snap->segs[i].ref->seg, name, strlen(name)) >= 0) {
            return true;
        }
    }
    return false;
}

/* A weight of the request must name a field a word can be found in, as a query's `name:` scope
 * must (stats.c): title, body, a text field some document has, or one the settings declare
 * text. Else it would be taken and do nothing (a typo such as "titel", an attribute). */
static int idx_check_weights(const struct idx_search_req *req, const struct sch_schema *schema,
                             const struct idx_snap *snap, struct sd_error *err)
{
    for (size_t i = 0; i < req->params.nweights; i++) {
        const char *name = req->params.weights[i].field ? req->params.weights[i].field : "";
        const struct sch_field *f = schema ? sch_find(schema, name, strlen(name)) : NULL;
        if (f && f->type != SCH_TEXT) {
            return sd_errorf(err, SD_EFIELD,
                             "weights: '%.*s' is a %s attribute, not a text field a word is "
                             "found in",
                             (int)sd_utf8_cut(name, strlen(name), 64), name,
                             sch_type_name(f->type));
        }
        if (f || strcmp(name, "title") == 0 || strcmp(name, "body") == 0 ||
            idx_snap_has_field(snap, name)) {
            continue;
        }
        return sd_errorf(
            err, SD_EFIELD, "weights: unknown field '%.*s' (no document has it as text%s)",
            (int)sd_utf8_cut(name, strlen(name), 64), name,
            schema && schema->has_fields ? ", and the settings do not declare it" : "");
    }
    return SD_OK;
}

/* The request's filter string; its errors say that they are the filter's. */
static int idx_parse_filter(struct qry_ctx *ctx, const struct idx_search_req *req,
                            const struct sch_schema *schema, struct qry **out, struct sd_error *err)
{
    struct sd_error e = {0};
    int rc = qry_parse_filter(ctx, req->filter, req->filter_len, schema, out, &e);
    if (rc) {
        sd_errorf(err, rc, "filter: %s", e.msg);
    }
    return rc;
}

static int idx_parse_sort(const struct idx_search_req *req, const struct sch_schema *schema,
                          struct qry_sort **out, struct sd_error *err)
{
    struct sd_error e = {0};
    int rc = qry_sort_parse(req->sort, req->sort_len, schema, out, &e);
    if (rc) {
        sd_errorf(err, rc, "sort: %s", e.msg);
    }
    return rc;
}

int idx_search(struct idx_db *db, const char *index, const struct idx_search_req *req,
               struct idx_search_res *out, struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    struct idx_index *ix;
    int rc = idx_db_find(db, index, false, &ix, err);
    if (rc) {
        return rc;
    }
    struct qry_ctx *ctx = idx_thread_ctx();
    if (!ctx) {
        idx_index_put(ix);
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    /* Settings never set (version 0): no declared weights, no synonyms or stopwords, and no
     * lock taken per search. */
    struct idx_settings *st =
        atomic_load(&ix->settings_version) > 0 ? idx_settings_acquire(ix) : NULL;
    struct idx_search_req r = *req;
    struct qry_weight *weights = NULL;
    if (st && st->nweights) { /* the declared text fields' weights, unless the request names them */
        rc = idx_merge_weights(st, req, &weights, &r.params);
    }
    if (rc) {
        sd_errorf(err, rc, "out of memory");
    }
    const struct sch_schema *schema = st ? st->schema : NULL;
    if (schema && schema->no_typos) { /* the index's settings turn them off for every search */
        r.opts.no_typos = true;
    }
    if (schema && schema->no_layout) {
        r.opts.no_layout = true;
    }
    if (schema && schema->no_drop_words) {
        r.opts.drop_words = false;
    }
    struct qry *filter = NULL;
    if (rc == SD_OK && req->filter_len > 0) {
        rc = idx_parse_filter(ctx, req, schema, &filter, err);
    }
    r.params.filter = filter;
    struct qry_sort *sort = NULL;
    if (rc == SD_OK && req->sort_len > 0) {
        rc = idx_parse_sort(req, schema, &sort, err);
    }
    r.params.sort = sort;
    struct qry_facets *facets = NULL;
    if (rc == SD_OK && req->nfields > IDX_MAX_CHOSEN) {
        rc = sd_errorf(err, SD_ELIMIT, "more than %d fields", IDX_MAX_CHOSEN);
    }
    if (rc == SD_OK && req->nfacets > 0) {
        rc = qry_facets_parse(req->facets, req->nfacets, schema, &facets, err);
    }
    r.params.facets = facets;
    struct idx_snap *snap = idx_snap_acquire(ix);
    if (rc == SD_OK) {
        rc = idx_check_weights(req, schema, snap, err);
    }
    if (rc == SD_OK) {
        rc = idx_search_snap(ctx, snap, &r, schema, st ? st->lex : NULL, out, err);
    }
    idx_snap_release(snap);
    qry_free(filter);
    qry_sort_free(sort);
    qry_facets_free(facets);
    free(weights);
    idx_settings_release(st);
    idx_index_put(ix);
    return rc;
}

void idx_search_res_free(struct idx_search_res *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->nhits; i++) {
        free(r->hits[i].id);
        free(r->hits[i].title);
        free(r->hits[i].snippet);
        free(r->hits[i].hl);
        free(r->hits[i].hl_spans);
        free(r->hits[i].fields_json);
        for (size_t k = 0; k < r->hits[i].nmissing; k++) {
            free(r->hits[i].missing[k]);
        }
        free(r->hits[i].missing);
    }
    free(r->hits);
    for (size_t i = 0; i < r->nfacets; i++) {
        for (size_t k = 0; k < r->facets[i].nbuckets; k++) {
            free(r->facets[i].buckets[k].value);
        }
        free(r->facets[i].buckets);
        free(r->facets[i].field);
    }
    free(r->facets);
    free(r->layout_query);
    free(r->did_you_mean);
    for (size_t i = 0; i < r->ndropped; i++) {
        free(r->dropped[i]);
    }
    free(r->dropped);
    memset(r, 0, sizeof *r);
}

/* Re-points st's strings into a private copy, so it outlives the segment. */
static int idx_stored_own(struct seg_stored *st)
{
    struct sd_buf b;
    sd_buf_init(&b);
    sd_buf_put(&b, st->id, st->id_len);
    for (size_t i = 0; i < st->nfields; i++) {
        sd_buf_put(&b, st->fields[i].name, st->fields[i].name_len);
        sd_buf_put(&b, st->fields[i].value, st->fields[i].value_len);
    }
    if (b.rc) {
        sd_buf_free(&b);
        return SD_ENOMEM;
    }
    const char *p = (const char *)b.data;
    st->id = p;
    p += st->id_len;
    for (size_t i = 0; i < st->nfields; i++) {
        st->fields[i].name = p;
        p += st->fields[i].name_len;
        st->fields[i].value = p;
        p += st->fields[i].value_len;
    }
    sd_buf_free(&st->buf);
    st->buf = b;
    return SD_OK;
}

int idx_get(struct idx_db *db, const char *index, const char *id, size_t id_len,
            struct seg_stored *out, struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    struct idx_index *ix;
    int rc = idx_db_find(db, index, false, &ix, err);
    if (rc) {
        return rc;
    }
    struct idx_snap *snap = idx_snap_acquire(ix);
    rc = sd_errorf(err, SD_ENOTFOUND, "no document with id '%.*s'",
                   (int)sd_utf8_cut(id, id_len, 200), id);
    for (size_t i = snap->nsegs; i-- > 0;) {
        uint32_t doc;
        const struct idx_snap_seg *ss = &snap->segs[i];
        if (seg_doc_find(ss->ref->seg, id, id_len, &doc) != SD_OK ||
            idx_bits_test(ss->bits ? ss->bits->words : NULL, doc)) {
            continue;
        }
        rc = seg_doc_load(ss->ref->seg, doc, out, err);
        if (rc == SD_OK && idx_stored_own(out) != SD_OK) {
            rc = sd_errorf(err, SD_ENOMEM, "out of memory");
        }
        break;
    }
    idx_snap_release(snap);
    idx_index_put(ix);
    return rc;
}

_Static_assert(sizeof(((struct idx_stats *)0)->torn_file) == WAL_NAME_MAX,
               "idx_stats.torn_file holds a log file name");

int idx_stats(struct idx_db *db, const char *index, struct idx_stats *out, struct sd_error *err)
{
    memset(out, 0, sizeof *out);
    struct idx_index *ix;
    int rc = idx_db_find(db, index, false, &ix, err);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&ix->state_lock);
    out->docs = idx_live_docs(ix, &out->deleted_docs);
    for (size_t i = 0; i < ix->nlive; i++) {
        const struct idx_live *l = &ix->live[i];
        if (l->ref->seg_no) {
            out->segments++;
            out->disk_bytes += seg_size_bytes(l->ref->seg);
        } else {
            out->mem_docs += seg_doc_count(l->ref->seg) - l->ndeleted;
            out->mem_segments++;
        }
    }
    out->degraded = ix->nbroken > 0;
    snprintf(out->degraded_reason, sizeof out->degraded_reason, "%s", ix->degraded_reason);
    out->torn_tails = ix->torn.count; /* set at open, never changed */
    out->torn_bytes = ix->torn.bytes;
    out->torn_at = ix->torn.at;
    out->torn_offset = ix->torn.offset;
    memcpy(out->torn_file, ix->torn.file, sizeof out->torn_file);
    out->mem_bytes = ix->mem_bytes;
    pthread_mutex_unlock(&ix->state_lock);
    pthread_mutex_lock(&ix->queue_lock);
    out->queued_writes = ix->queued_writes;
    out->queued_bytes = ix->queued_bytes;
    out->writes_refused = ix->writes_refused;
    snprintf(out->write_error, sizeof out->write_error, "%s", ix->write_error);
    pthread_mutex_unlock(&ix->queue_lock);
    out->wal_bytes = atomic_load(&ix->wal_bytes);
    out->merges_running = atomic_load(&ix->merges_running);
    out->merges_done = atomic_load(&ix->merges_done);
    out->flushes_done = atomic_load(&ix->flushes_done);
    out->last_seq = atomic_load(&ix->durable_seq);
    idx_hist_read(&ix->flush_time, &out->flush_time);
    idx_hist_read(&ix->merge_time, &out->merge_time);
    idx_hist_read(&ix->fsync_time, &out->fsync_time);
    out->wal_records = atomic_load(&ix->wal_records);
    out->wal_synced_bytes = atomic_load(&ix->wal_synced_bytes);
    idx_memory(db, &out->engine_memory_bytes, &out->engine_memory_limit);
    out->engine_memory_peak_bytes = idx_memory_peak(db);
    struct idx_settings *st = idx_settings_acquire(ix);
    out->settings_version = st->version;
    idx_settings_release(st);
    out->reindex_pending = idx_reindex_pending(ix);
    idx_index_put(ix);
    return SD_OK;
}
