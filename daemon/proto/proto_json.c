/*
 * proto_json.c: JSON out.
 *
 * Answers are written by hand into one struct sd_buf that the server then
 * hands to the socket without copying (evbuffer_add_reference). The escaper
 * copies runs of plain bytes with one memcpy and stops only at '"', '\\',
 * control characters and bytes >= 0x80. A byte >= 0x80 starts a UTF-8
 * sequence that is checked (stem_utf8_len, RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) and copied as is; a byte that does not start a valid
 * sequence becomes \ufffd. So whatever the engine or a client hands us, the
 * output is valid JSON in valid UTF-8.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

#define PUT_LIT(out, lit) sd_buf_put((out), "" lit, sizeof("" lit) - 1) /* literals only */

/* 0: copy as is; 1: needs an escape; 2: starts (or is part of) a multibyte sequence. */
static uint8_t byte_class(uint8_t c)
{
    if (c < 0x20 || c == '"' || c == '\\') {
        return 1;
    }
    return c >= 0x80 ? 2 : 0;
}

static void put_escape(struct sd_buf *out, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 0, 0, 0, 0, 0};
    switch (c) {
    case '"':
    case '\\':
        e[1] = (char)c;
        break;
    case '\n':
        e[1] = 'n';
        break;
    case '\r':
        e[1] = 'r';
        break;
    case '\t':
        e[1] = 't';
        break;
    case '\b':
        e[1] = 'b';
        break;
    case '\f':
        e[1] = 'f';
        break;
    default:
        memcpy(e, "\\u00", 4);
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        sd_buf_put(out, e, 6);
        return;
    }
    sd_buf_put(out, e, 2);
}

void proto_json_string(struct sd_buf *out, const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    sd_buf_reserve(out, len + 2);
    sd_buf_put_u8(out, '"');
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (i < len && byte_class(s[i]) == 0) {
            i++;
        }
        sd_buf_put(out, s + run, i - run);
        if (i >= len) {
            break;
        }
        if (byte_class(s[i]) == 1) {
            put_escape(out, s[i]);
            i++;
            continue;
        }
        size_t n = stem_utf8_len(str + i, len - i);
        if (n) {
            sd_buf_put(out, s + i, n);
            i += n;
        } else {
            PUT_LIT(out, "\\ufffd");
            i++;
        }
    }
    sd_buf_put_u8(out, '"');
}

static void put_cstr(struct sd_buf *out, const char *s)
{
    proto_json_string(out, s, strlen(s));
}

static void put_u64(struct sd_buf *out, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    sd_buf_put(out, t, (size_t)n);
}

/* JSON has no NaN or infinity: those are written as 0. */
static void put_double(struct sd_buf *out, double v, const char *fmt)
{
    char t[48];
    if (!isfinite(v)) {
        v = 0;
    }
    int n = snprintf(t, sizeof t, fmt, v);
    sd_buf_put(out, t, (size_t)n);
}

static void put_bool(struct sd_buf *out, bool v)
{
    if (v) {
        PUT_LIT(out, "true");
    } else {
        PUT_LIT(out, "false");
    }
}

void proto_encode_error(struct sd_buf *out, enum proto_code code, const char *msg)
{
    PUT_LIT(out, "{\"ok\":false,\"error\":{\"code\":");
    put_cstr(out, proto_code_name(code));
    PUT_LIT(out, ",\"message\":");
    put_cstr(out, msg ? msg : "");
    PUT_LIT(out, "}}");
}

/* The spans of part `part` as [[off,len],...]. */
static void put_spans(struct sd_buf *out, const struct idx_hit *h, uint32_t part)
{
    sd_buf_put_u8(out, '[');
    bool is_first = true;
    for (size_t i = 0; i < h->hl_nspans; i++) {
        const struct qry_hl_span *sp = &h->hl_spans[i];
        if (sp->part != part) {
            continue;
        }
        if (!is_first) {
            sd_buf_put_u8(out, ',');
        }
        sd_buf_put_u8(out, '[');
        put_u64(out, sp->off);
        sd_buf_put_u8(out, ',');
        put_u64(out, sp->len);
        sd_buf_put_u8(out, ']');
        is_first = false;
    }
    sd_buf_put_u8(out, ']');
}

/* "highlight":{"title":…,"snippets":[…]} (+ "title_matches", "snippet_matches" in offsets
 * mode) from the NUL-separated parts of h->hl. */
static void put_highlight(struct sd_buf *out, const struct idx_hit *h)
{
    const char *p = h->hl;
    const char *end = h->hl + h->hl_len;
    size_t len = strnlen(p, (size_t)(end - p));
    PUT_LIT(out, ",\"highlight\":{\"title\":");
    proto_json_string(out, p, len);
    p += len + (p + len < end);
    PUT_LIT(out, ",\"snippets\":[");
    for (size_t i = 0; i < h->hl_nsnippets && p < end; i++) {
        len = strnlen(p, (size_t)(end - p));
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        proto_json_string(out, p, len);
        p += len + (p + len < end);
    }
    sd_buf_put_u8(out, ']');
    if (h->is_hl_offsets) {
        PUT_LIT(out, ",\"title_matches\":");
        put_spans(out, h, 0);
        PUT_LIT(out, ",\"snippet_matches\":[");
        for (size_t i = 0; i < h->hl_nsnippets; i++) {
            if (i) {
                sd_buf_put_u8(out, ',');
            }
            put_spans(out, h, (uint32_t)(i + 1));
        }
        sd_buf_put_u8(out, ']');
    }
    sd_buf_put_u8(out, '}');
}

/* "facets":{"lang":{"ru":12,"en":30},...} with buckets as keys in the engine's order, then
 * "facet_stats":{"lang":{"others":0,"missing":3},...}: the counts that are in no bucket live
 * beside the facets, so that "facets" stays value -> count only. Then
 * "facet_order":{"year":["2005","1999"],...}, the same keys as arrays: a JavaScript object
 * lists integer-like keys first in ascending order whatever order they came in, so a JS
 * client reading "facets" alone loses the order of buckets such as years or intervals. */
static void put_facets(struct sd_buf *out, const struct idx_search_res *res)
{
    PUT_LIT(out, ",\"facets\":{");
    for (size_t i = 0; i < res->nfacets; i++) {
        const struct idx_facet *f = &res->facets[i];
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        put_cstr(out, f->field ? f->field : "");
        PUT_LIT(out, ":{");
        for (size_t b = 0; b < f->nbuckets; b++) {
            if (b) {
                sd_buf_put_u8(out, ',');
            }
            put_cstr(out, f->buckets[b].value ? f->buckets[b].value : "");
            sd_buf_put_u8(out, ':');
            put_u64(out, f->buckets[b].count);
        }
        sd_buf_put_u8(out, '}');
    }
    PUT_LIT(out, "},\"facet_stats\":{");
    for (size_t i = 0; i < res->nfacets; i++) {
        const struct idx_facet *f = &res->facets[i];
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        put_cstr(out, f->field ? f->field : "");
        PUT_LIT(out, ":{\"others\":");
        put_u64(out, f->others);
        PUT_LIT(out, ",\"missing\":");
        put_u64(out, f->missing);
        sd_buf_put_u8(out, '}');
    }
    PUT_LIT(out, "},\"facet_order\":{");
    for (size_t i = 0; i < res->nfacets; i++) {
        const struct idx_facet *f = &res->facets[i];
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        put_cstr(out, f->field ? f->field : "");
        PUT_LIT(out, ":[");
        for (size_t b = 0; b < f->nbuckets; b++) {
            if (b) {
                sd_buf_put_u8(out, ',');
            }
            put_cstr(out, f->buckets[b].value ? f->buckets[b].value : "");
        }
        sd_buf_put_u8(out, ']');
    }
    sd_buf_put_u8(out, '}');
}

/* A JSON array of the strings words[0, n). */
static void put_words(struct sd_buf *out, char *const *words, size_t n)
{
    sd_buf_put_u8(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        put_cstr(out, words[i]);
    }
    sd_buf_put_u8(out, ']');
}

void proto_encode_search(struct sd_buf *out, const struct idx_search_res *res, bool with_snippets,
                         double took_ms)
{
    PUT_LIT(out, "{\"ok\":true,\"total\":");
    put_u64(out, res->total);
    /* query.h: a total below QRY_TOTAL_EXACT_UPTO is always exact. Said here too because an
     * answer may come from elsewhere than a search: the never-written default index is
     * answered with a zeroed result (issue 10), and 0 matches is an exact count. */
    if (res->total_is_exact || res->total < QRY_TOTAL_EXACT_UPTO) {
        PUT_LIT(out, ",\"total_exact\":true,\"hits\":[");
    } else {
        PUT_LIT(out, ",\"total_exact\":false,\"hits\":[");
    }
    for (size_t i = 0; i < res->nhits; i++) {
        const struct idx_hit *h = &res->hits[i];
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        PUT_LIT(out, "{\"id\":");
        put_cstr(out, h->id ? h->id : "");
        PUT_LIT(out, ",\"score\":");
        put_double(out, h->score, "%.6g");
        PUT_LIT(out, ",\"title\":");
        put_cstr(out, h->title ? h->title : "");
        if (with_snippets) {
            PUT_LIT(out, ",\"snippet\":");
            put_cstr(out, h->snippet ? h->snippet : "");
        }
        if (h->hl) {
            put_highlight(out, h);
        }
        if (h->fields_json) {
            PUT_LIT(out, ",\"fields\":");
            sd_buf_put(out, h->fields_json, strlen(h->fields_json)); /* the engine's JSON */
        }
        if (h->nmissing) {
            PUT_LIT(out, ",\"missing\":");
            put_words(out, h->missing, h->nmissing);
        }
        sd_buf_put_u8(out, '}');
    }
    PUT_LIT(out, "]");
    if (res->nfacets) {
        put_facets(out, res);
    }
    if (res->is_truncated) {
        PUT_LIT(out, ",\"truncated\":true");
    }
    if (res->layout_query) {
        PUT_LIT(out, ",\"layout\":{\"query\":");
        put_cstr(out, res->layout_query);
        if (res->is_layout_used) {
            PUT_LIT(out, ",\"used\":true}");
        } else {
            PUT_LIT(out, ",\"used\":false}");
        }
    }
    if (res->is_typo_used) {
        PUT_LIT(out, ",\"typos\":true");
    }
    if (res->did_you_mean) {
        PUT_LIT(out, ",\"did_you_mean\":");
        put_cstr(out, res->did_you_mean);
    }
    if (res->is_most_words) {
        PUT_LIT(out, ",\"every_word\":");
        put_u64(out, res->every_word);
    }
    if (res->ndropped) {
        PUT_LIT(out, ",\"dropped\":");
        put_words(out, res->dropped, res->ndropped);
    }
    PUT_LIT(out, ",\"took_ms\":");
    put_double(out, took_ms, "%.3f");
    sd_buf_put_u8(out, '}');
}

void proto_encode_write(struct sd_buf *out, enum proto_op op, bool is_batch,
                        const struct idx_write_result *res)
{
    if (op == PROTO_OP_DELETE) {
        PUT_LIT(out, "{\"ok\":true,\"deleted\":");
        put_u64(out, res->deleted);
        if (is_batch) {
            PUT_LIT(out, ",\"not_found\":");
            put_u64(out, res->not_found);
        }
    } else {
        PUT_LIT(out, "{\"ok\":true,\"added\":");
        put_u64(out, res->added);
        PUT_LIT(out, ",\"replaced\":");
        put_u64(out, res->replaced);
    }
    sd_buf_put_u8(out, '}');
}

void proto_encode_doc(struct sd_buf *out, const struct seg_stored *doc)
{
    PUT_LIT(out, "{\"ok\":true,\"doc\":{\"id\":");
    proto_json_string(out, doc->id, doc->id_len);
    for (size_t i = 0; i < doc->nfields; i++) {
        const struct seg_field *f = &doc->fields[i];
        sd_buf_put_u8(out, ',');
        proto_json_string(out, f->name, f->name_len);
        sd_buf_put_u8(out, ':');
        if (f->type == SEG_RAW && f->value_len > 0) {
            sd_buf_put(out, f->value, f->value_len); /* stored as JSON text by proto_parse */
        } else if (f->type == SEG_RAW) {
            PUT_LIT(out, "null");
        } else {
            proto_json_string(out, f->value, f->value_len);
        }
    }
    PUT_LIT(out, "}}");
}

static void put_key_u64(struct sd_buf *out, const char *key_lit, uint64_t v)
{
    sd_buf_put(out, key_lit, strlen(key_lit));
    put_u64(out, v);
}

/* The members of a stats object, "docs":N first, with no braces. */
static void put_stats_members(struct sd_buf *out, const struct idx_stats *st)
{
    put_key_u64(out, "\"docs\":", st->docs);
    put_key_u64(out, ",\"deleted_docs\":", st->deleted_docs);
    put_key_u64(out, ",\"segments\":", st->segments);
    put_key_u64(out, ",\"mem_docs\":", st->mem_docs);
    put_key_u64(out, ",\"mem_segments\":", st->mem_segments);
    put_key_u64(out, ",\"mem_bytes\":", st->mem_bytes);
    put_key_u64(out, ",\"disk_bytes\":", st->disk_bytes);
    put_key_u64(out, ",\"wal_bytes\":", st->wal_bytes);
    put_key_u64(out, ",\"merges_running\":", st->merges_running);
    put_key_u64(out, ",\"merges_done\":", st->merges_done);
    put_key_u64(out, ",\"flushes_done\":", st->flushes_done);
    put_key_u64(out, ",\"last_seq\":", st->last_seq);
    PUT_LIT(out, ",\"degraded\":");
    put_bool(out, st->degraded);
    if (st->degraded) {
        PUT_LIT(out, ",\"degraded_reason\":");
        proto_json_string(out, st->degraded_reason,
                          strnlen(st->degraded_reason, sizeof st->degraded_reason));
    }
    put_key_u64(out, ",\"torn_tails\":", st->torn_tails);
    put_key_u64(out, ",\"torn_bytes\":", st->torn_bytes);
    put_key_u64(out, ",\"torn_at\":", st->torn_at);
    if (st->torn_tails) {
        PUT_LIT(out, ",\"torn_file\":");
        proto_json_string(out, st->torn_file, strnlen(st->torn_file, sizeof st->torn_file));
        put_key_u64(out, ",\"torn_offset\":", st->torn_offset);
    }
    PUT_LIT(out, ",\"writes_refused\":");
    put_bool(out, st->writes_refused);
    if (st->writes_refused) {
        PUT_LIT(out, ",\"write_error\":");
        proto_json_string(out, st->write_error, strnlen(st->write_error, sizeof st->write_error));
    }
    put_key_u64(out, ",\"settings_version\":", st->settings_version);
    PUT_LIT(out, ",\"reindex_pending\":");
    put_bool(out, st->reindex_pending);
    put_key_u64(out, ",\"engine_memory_bytes\":", st->engine_memory_bytes);
    put_key_u64(out, ",\"engine_memory_peak_bytes\":", st->engine_memory_peak_bytes);
    put_key_u64(out, ",\"engine_memory_limit\":", st->engine_memory_limit);
}

void proto_encode_stats(struct sd_buf *out, const char *index, const struct idx_stats *st)
{
    PUT_LIT(out, "{\"ok\":true,\"index\":");
    put_cstr(out, index);
    sd_buf_put_u8(out, ',');
    put_stats_members(out, st);
    sd_buf_put_u8(out, '}');
}

void proto_encode_indexes(struct sd_buf *out, const struct idx_index_info *v, size_t count)
{
    PUT_LIT(out, "{\"ok\":true,\"indexes\":[");
    for (size_t i = 0; i < count; i++) {
        if (i) {
            sd_buf_put_u8(out, ',');
        }
        PUT_LIT(out, "{\"name\":");
        proto_json_string(out, v[i].name, strnlen(v[i].name, sizeof v[i].name));
        put_key_u64(out, ",\"docs\":", v[i].docs);
        put_key_u64(out, ",\"disk_bytes\":", v[i].disk_bytes);
        put_key_u64(out, ",\"settings_version\":", v[i].settings_version);
        if (v[i].is_unavailable) {
            PUT_LIT(out, ",\"state\":\"unavailable\",\"reason\":");
            proto_json_string(out, v[i].reason, strnlen(v[i].reason, sizeof v[i].reason));
        } else if (v[i].is_degraded) {
            PUT_LIT(out, ",\"state\":\"degraded\"");
        } else {
            PUT_LIT(out, ",\"state\":\"ok\"");
        }
        sd_buf_put_u8(out, '}');
    }
    PUT_LIT(out, "]}");
}

void proto_encode_settings_set(struct sd_buf *out, const char *index, uint64_t version)
{
    PUT_LIT(out, "{\"ok\":true,\"index\":");
    put_cstr(out, index);
    put_key_u64(out, ",\"version\":", version);
    sd_buf_put_u8(out, '}');
}

void proto_encode_settings(struct sd_buf *out, const char *index, const char *json, size_t len,
                           uint64_t version, const struct idx_stats *st)
{
    PUT_LIT(out, "{\"ok\":true,\"index\":");
    put_cstr(out, index);
    put_key_u64(out, ",\"version\":", version);
    PUT_LIT(out, ",\"settings\":");
    if (len > 0) {
        sd_buf_put(out, json, len); /* canonical JSON from the engine (idx_get_settings) */
    } else {
        PUT_LIT(out, "{}");
    }
    PUT_LIT(out, ",\"stats\":{");
    put_stats_members(out, st);
    PUT_LIT(out, "}}");
}

void proto_encode_dropped(struct sd_buf *out, const char *index)
{
    PUT_LIT(out, "{\"ok\":true,\"dropped\":");
    put_cstr(out, index);
    sd_buf_put_u8(out, '}');
}

void proto_encode_auth(struct sd_buf *out, const char *role)
{
    PUT_LIT(out, "{\"ok\":true,\"role\":\"");
    sd_buf_put(out, role, strlen(role));
    PUT_LIT(out, "\"}");
}

void proto_encode_snapshot(struct sd_buf *out, const char *index, const char *name,
                           const struct idx_snapshot_info *info)
{
    PUT_LIT(out, "{\"ok\":true,\"index\":");
    put_cstr(out, index);
    PUT_LIT(out, ",\"snapshot\":");
    put_cstr(out, name);
    PUT_LIT(out, ",\"path\":");
    proto_json_string(out, info->path, strnlen(info->path, sizeof info->path));
    put_key_u64(out, ",\"seq\":", info->seq);
    put_key_u64(out, ",\"segments\":", info->segments);
    put_key_u64(out, ",\"files_linked\":", info->linked);
    put_key_u64(out, ",\"files_copied\":", info->copied);
    put_key_u64(out, ",\"bytes\":", info->bytes);
    put_key_u64(out, ",\"ms\":", info->ms);
    PUT_LIT(out, "}");
}

void proto_encode_health(struct sd_buf *out, const struct proto_health *h)
{
    if (h->degraded) {
        PUT_LIT(out, "{\"ok\":true,\"status\":\"degraded\"");
    } else {
        PUT_LIT(out, "{\"ok\":true,\"status\":\"ok\"");
    }
    PUT_LIT(out, ",\"version\":");
    put_cstr(out, h->version);
    if (h->degraded) {
        PUT_LIT(out, ",\"reason\":");
        put_cstr(out, h->reason ? h->reason : "");
    }
    if (h->unavailable) {
        put_key_u64(out, ",\"unavailable\":", h->unavailable);
    }
    if (h->torn_tails) {
        put_key_u64(out, ",\"torn_tails\":", h->torn_tails);
        put_key_u64(out, ",\"torn_bytes\":", h->torn_bytes);
        put_key_u64(out, ",\"torn_at\":", h->torn_at);
    }
    sd_buf_put_u8(out, '}');
}
