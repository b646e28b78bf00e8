/*
 * proto.h: the wire protocol of searchd (prefix proto_): requests in, JSON out.
 *
 * docs/PROTOCOL.md is the contract. This module turns the bytes of one request
 * (a line-protocol JSON line, or an HTTP request's method, target and body)
 * into a plain struct proto_request, validating everything a client can get
 * wrong, and encodes answers as JSON text. It knows no sockets and no threads:
 * srv.c feeds it bytes and sends what it returns.
 *
 * Parsing is done once per request. Strings of the request (the query, ids,
 * field names and values) are not copied: the struct points into the parsed
 * json-c tree or into one decoded copy of the HTTP target, both owned by the
 * request and valid until proto_request_free().
 *
 * Why json-c: it is packaged in Debian 12 (libjson-c-dev), parses with a
 * depth limit (json_tokener_new_ex) and a strict mode, keeps object members in
 * document order (so a stored document comes back as it was sent) and
 * re-serializes a sub-value as compact JSON (non-string fields are stored as
 * their JSON text). Encoding answers needs none of that, so it is done by hand
 * straight into one buffer (proto_json_string), which is faster and lets us
 * guarantee valid JSON even for bytes that are not valid UTF-8.
 */
#ifndef SEARCHD_PROTO_H
#define SEARCHD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idx.h"

struct json_object;

#define PROTO_MAX_DEPTH     32     /* JSON nesting of one request */
#define PROTO_MAX_WEIGHTS   64     /* entries of "weights" */
#define PROTO_MAX_WEIGHT    1000.0 /* largest field weight */
#define PROTO_MAX_KEY       512    /* bytes of an API key */
#define PROTO_DEFAULT_LIMIT 10
#define PROTO_MAX_ID        SEG_MAX_ID
#define PROTO_MAX_BATCH     IDX_MAX_BATCH
#define PROTO_MIN_SNIPPET   16 /* bytes of "snippet_len" */
#define PROTO_MAX_SNIPPET   4096
#define PROTO_MAX_MARK      64 /* bytes of "highlight_pre" / "highlight_post" */

enum proto_op {
    PROTO_OP_NONE = 0,
    PROTO_OP_SEARCH,
    PROTO_OP_ADD,
    PROTO_OP_GET,
    PROTO_OP_DELETE,
    PROTO_OP_STATS,
    PROTO_OP_HEALTH,
    PROTO_OP_AUTH, /* line protocol: present an API key for this connection */
    /* index management (issue 11) */
    PROTO_OP_INDEXES,      /* list every index */
    PROTO_OP_CREATE_INDEX, /* a new index with settings; index_exists when it exists */
    PROTO_OP_SET_SETTINGS, /* create the index or replace its settings */
    PROTO_OP_GET_SETTINGS, /* settings, version and stats */
    PROTO_OP_DROP_INDEX,   /* remove the index and its directory */
    PROTO_OP_SNAPSHOT, /* an online snapshot of the index (admin) */
};

/* The error codes of PROTOCOL.md, in its table's order. */
enum proto_code {
    PROTO_OK = 0,
    PROTO_BAD_JSON,
    PROTO_BAD_UTF8,
    PROTO_BAD_REQUEST,
    PROTO_BAD_QUERY,
    PROTO_UNKNOWN_OP,
    PROTO_UNKNOWN_FIELD,
    PROTO_TOO_LARGE,
    PROTO_UNKNOWN_INDEX,
    PROTO_NOT_FOUND,
    PROTO_METHOD_NOT_ALLOWED,
    PROTO_DISK_FULL,
    PROTO_BUSY,
    PROTO_INTERNAL,
    /* framing and connection errors (daemon/srv_frame.c, srv_conn.c) */
    PROTO_BAD_HTTP,          /* malformed HTTP framing: 400, then the connection closes */
    PROTO_UNKNOWN_PATH,      /* no route for the HTTP path: 404 */
    PROTO_TIMEOUT,           /* a request not complete within --request-timeout: 408 */
    PROTO_HEAD_TOO_LARGE,    /* HTTP request line + headers over the limit: 431 */
    PROTO_FORBIDDEN_ORIGIN,  /* a CORS preflight from an origin not allowed: 403 */
    PROTO_FORBIDDEN_HOST,    /* a loopback request naming another host, keys off: 403 */
    PROTO_UNAUTHORIZED,      /* no API key, or an unknown one, where keys are on: 401 */
    PROTO_FORBIDDEN,         /* the key's role may not do this (a search key writing): 403 */
    PROTO_DEGRADED,          /* 503: the index has a file that is not served; writes refused */
    PROTO_INDEX_EXISTS,      /* 409: create_index of a name that exists */
    PROTO_INDEX_UNAVAILABLE, /* 503: the index did not open at start (damage): all refused */
};

struct proto_error {
    enum proto_code code;
    char msg[256];
    const char *allow; /* static string: the Allow header of a 405, else NULL */
};

/* Records code and message in err; returns code (never PROTO_OK). */
enum proto_code proto_errorf(struct proto_error *err, enum proto_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *proto_code_name(enum proto_code code); /* "bad_json", ... */
int proto_code_http_status(enum proto_code code);  /* 400, 404, ... (200 for PROTO_OK) */
const char *proto_op_name(enum proto_op op);

/* The engine's status for a failed call, as a wire code (SD_ENOTFOUND ->
 * not_found, SD_ENOSPC -> disk_full, SD_EBUSY -> busy, ...). Callers with
 * a more precise meaning (unknown_index, bad_query) map those themselves. */
enum proto_code proto_code_from_sd(int sd_status);

/* One parsed request. All pointers point into storage the request owns
 * (root, docs, text) and are valid until proto_request_free(). */
struct proto_request {
    enum proto_op op;
    char index[IDX_MAX_NAME + 1]; /* "default" unless the request names one */

    /* search */
    const char *q;
    size_t q_len;
    uint32_t limit;
    uint32_t offset;
    bool snippet;                       /* default true */
    struct idx_search_opts search_opts; /* syntax (default full), layout and typo (default on),
                                           snippet length, highlighting */
    struct qry_weight weights[PROTO_MAX_WEIGHTS];
    size_t nweights;
    float proximity; /* weight of the proximity bonus: 0 (off, the default), QRY_PROXIMITY
                        for true, or the number given, in [0, QRY_MAX_PROXIMITY] */
    /* filters, sort, facets, chosen fields (idx.h struct idx_search_req says what they mean;
     * strings validated only as far as the wire goes: lengths, counts, repeats) */
    const char *filter; /* NULL: none */
    size_t filter_len;
    const char *sort; /* NULL: by relevance */
    size_t sort_len;
    const char *facets[IDX_MAX_FACETS]; /* NUL-terminated specs, no two on one field */
    size_t nfacets;
    const char *chosen[IDX_MAX_CHOSEN]; /* NUL-terminated field names ("fields"), no repeats */
    size_t nchosen;

    /* create_index, set_settings: the settings JSON text (not NUL-terminated) */
    const char *settings;
    size_t settings_len;
    bool is_settings_merge; /* set_settings "merge": true: a merge patch of the settings */

    /* get, delete */
    const char *id;
    size_t id_len;

    /* snapshot: the new snapshot's name, a valid index name (NUL-terminated) */
    char snapshot[IDX_MAX_NAME + 1];

    /* auth: the API key (points into the json tree) */
    const char *key;
    size_t key_len;

    /* add: ops[i].doc.fields points into fields[]; the strings point into
     * the json tree. nops may be 0 (an empty batch). */
    struct idx_op *ops;
    size_t nops;
    struct seg_field *fields;

    /* storage */
    struct json_object *root; /* the parsed JSON (an array of roots for NDJSON) */
    char *text;               /* decoded copy of an HTTP target */
    char *lists[2]; /* copies of comma-separated "facets" and "fields" strings, split in place */
};

void proto_request_init(struct proto_request *req);
void proto_request_free(struct proto_request *req); /* then re-initialized; idempotent */

/* Parses one line-protocol request line[0, len) (borrowed for the call; the
 * newline already removed, a trailing '\r' is ignored). On success returns
 * PROTO_OK and fills req (which must have been initialized; it is freed and
 * re-filled). On failure returns the code, err says why, and req holds
 * nothing that needs freeing beyond proto_request_free(). */
enum proto_code proto_parse_line(const char *line, size_t len, struct proto_request *req,
                                 struct proto_error *err);

enum proto_method {
    PROTO_GET,
    PROTO_HEAD, /* treated as GET; the server sends no body */
    PROTO_POST,
    PROTO_DELETE,
    PROTO_PUT,
    PROTO_PATCH,   /* PATCH /indexes/{name}: set_settings as a merge patch */
    PROTO_OPTIONS, /* a CORS preflight is answered by the server before routing */
    PROTO_OTHER,
};

/* Parses an HTTP request: the request target uri[0, uri_len) ("/docs/a%20b?index=x",
 * borrowed) and body[0, body_len) (borrowed for the call). Routes are those of
 * PROTOCOL.md; an unknown path is not_found "no such path", a known path with
 * the wrong method is method_not_allowed with err->allow set. */
enum proto_code proto_parse_http(enum proto_method method, const char *uri, size_t uri_len,
                                 const char *body, size_t body_len, struct proto_request *req,
                                 struct proto_error *err);

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int proto_hex_value(char c);

/* Decodes %XX escapes of s[0, len) into out (room for len bytes), '+' as a
 * space when plus_is_space (query strings). Returns the decoded length, or
 * (size_t)-1 for a malformed escape. */
size_t proto_percent_decode(const char *s, size_t len, char *out, bool plus_is_space);


/* ---- encoding (every function appends to out; out->rc tells of ENOMEM) ---- */

/* A JSON string literal of s[0, len): '"' and '\\' escaped, control characters
 * as \n, \t... or \u00XX, valid UTF-8 copied as is, and every byte that is not
 * part of a valid UTF-8 sequence written as \ufffd, so the output is always
 * valid JSON whatever the input. */
void proto_json_string(struct sd_buf *out, const char *s, size_t len);

void proto_encode_error(struct sd_buf *out, enum proto_code code, const char *msg);
void proto_encode_search(struct sd_buf *out, const struct idx_search_res *res, bool with_snippets,
                         double took_ms);
/* add: {"ok":true,"added":N,"replaced":M}; delete: {"ok":true,"deleted":N}, and for a batch
 * ("ids") ,"not_found":M too */
void proto_encode_write(struct sd_buf *out, enum proto_op op, bool is_batch,
                        const struct idx_write_result *res);
/* {"ok":true,"doc":{"id":…, fields in stored order}}: SEG_RAW values verbatim. */
void proto_encode_doc(struct sd_buf *out, const struct seg_stored *doc);
void proto_encode_stats(struct sd_buf *out, const char *index, const struct idx_stats *st);
/* indexes: {"ok":true,"indexes":[{"name":…,"docs":N,"disk_bytes":N,"settings_version":N}]} */
void proto_encode_indexes(struct sd_buf *out, const struct idx_index_info *v, size_t count);
/* create_index, set_settings: {"ok":true,"index":…,"version":N} */
void proto_encode_settings_set(struct sd_buf *out, const char *index, uint64_t version);
/* get_settings: {"ok":true,"index":…,"version":N,"settings":JSON,"stats":{…}}; json[0, len) is
 * the engine's canonical settings JSON, copied verbatim. */
void proto_encode_settings(struct sd_buf *out, const char *index, const char *json, size_t len,
                           uint64_t version, const struct idx_stats *st);
/* drop_index: {"ok":true,"dropped":…} */
void proto_encode_dropped(struct sd_buf *out, const char *index);
/* {"ok":true,"role":"search"} */
void proto_encode_auth(struct sd_buf *out, const char *role);
/* {"ok":true,"index":…,"snapshot":…,"path":…,"seq":N,"segments":…,"files_linked":…,
 * "files_copied":…,"bytes":…,"ms":…} */
void proto_encode_snapshot(struct sd_buf *out, const char *index, const char *name,
                           const struct idx_snapshot_info *info);
/* What /health reports (strings borrowed for the call). */
struct proto_health {
    const char *version;  /* searchd's */
    bool degraded;        /* an index has a file it does not serve, refuses writes, or is
                             unavailable */
    const char *reason;   /* the first such index's reason (an unavailable one's first),
                             "" when none */
    uint32_t unavailable; /* indexes that did not open at start */
    uint32_t torn_tails;  /* log tails dropped at recovery, all indexes */
    uint64_t torn_bytes;
    uint64_t torn_at;     /* unix seconds, the latest */
};

/* {"ok":true,"status":"ok"|"degraded","version":"…"}, plus "reason" when degraded,
 * "unavailable" (a count) when an index did not open, and "torn_tails", "torn_bytes",
 * "torn_at" when an index dropped a torn log tail. */
void proto_encode_health(struct sd_buf *out, const struct proto_health *h);

#endif
