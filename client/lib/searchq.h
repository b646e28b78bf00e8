/*
 * searchq.h: libsearchq, the C client library of searchd (prefix sq_).
 *
 * A connection to searchd's line protocol (docs/PROTOCOL.md): TCP (HOST:PORT), a Unix socket,
 * or TLS over TCP (OpenSSL), with the API key sent once by the auth op. Every op of the
 * protocol has a request builder (sq_req_*: a json-c object you may send later, or pipeline)
 * and a call (sq_search, sq_add, ...: send, then wait for the answer). Answers are json-c
 * objects, exactly as the server sent them ({"ok":true,...}).
 *
 * Pipelining: sq_send() may be called many times before sq_recv(); answers come back in
 * request order. The connection counts the requests and bytes sent and not yet answered, and
 * refuses (SQ_ELIMIT) a send that would pass sq_options.max_inflight_bytes or max_inflight
 * while something is in flight: read the oldest answer with sq_recv() and try again
 * (sq_can_send() tells beforehand). The bound keeps both sides from blocking forever on full
 * socket buffers (we write while the server cannot write its answers).
 *
 * Errors: every function that can fail returns SQ_OK (0) or a negative enum sq_status, with
 * struct sq_error filled in: for an error answer of the server (SQ_ESERVER) its wire code
 * ("not_found", "bad_query", ...) and message; otherwise a message naming the address. After
 * SQ_ECONNECT send nothing more on the connection (a request may have been written in part):
 * read what answers still come, if you want to know what was stored, then close it and connect
 * again. The server may still carry out a request whose answer did not come. A connection the
 * server closed while nothing was in flight (idle for its --idle-timeout, 300 s, or a restart)
 * is SQ_ECONNECT from the next send before anything is written, the request not in flight
 * (sq_inflight() unchanged): it was not sent, and may be sent again on a new connection.
 *
 * Busy: a write answered SQ_ESERVER with code "busy" (the server over its --memory-limit, or
 * shutting down) stored nothing, and the library does not retry it: wait, then send it again.
 * A program that pipelines writes reads the answers still in flight, then sends again, in
 * order, every request from the refused one on (one that was stored meanwhile replaces its
 * documents by themselves); resending the refused one alone would let it overwrite a later
 * write of the same id. `searchq import` does this (client/import.c).
 *
 * Threads: a connection is used by one thread at a time; distinct connections are independent.
 * I/O is blocking, bounded by sq_options.timeout_sec per connect, read or write.
 *
 * Link with `pkg-config --cflags --libs searchq` (json-c is a public dependency).
 *
 * ABI: libsearchq.so.1 keeps every program linked against an older 1.x working. Names added
 * later carry a newer symbol version (libsearchq.map): SEARCHQ_1.1 (sq_auth, snapshot),
 * SEARCHQ_1.2 (sq_search_check), SEARCHQ_1.5 (sq_delete_ids, sq_merge_settings and their
 * builders). struct sq_search_params grew a field in
 * 1.2.0 (proximity), 1.3.0 (prefix_last) and 1.4.0 (drop_words); it is passed by value
 * (sq_search_defaults) and by pointer (sq_req_search, sq_search), so a program built against an
 * older header holds a smaller struct (on LP64, 1.3's is as large, but drop_words lies in its
 * tail padding, bytes such a program never sets). Those three names therefore exist once per
 * layout in the shared library, as glibc does when a struct changes: the default version
 * SEARCHQ_1.4 takes the layout below, and the SEARCHQ_1, SEARCHQ_1.2 and SEARCHQ_1.3 versions
 * that older programs were bound to take the 1.1, 1.2 and 1.3 layouts (kept privately in
 * sq_compat.c) and never read or write past them. A program built against this header asks for
 * SEARCHQ_1.4, so an older libsearchq.so.1 refuses to load it by name instead of reading a
 * field it lacks. We chose this over a second search call with its own struct (sq_search2 and a
 * "more" struct with a size field) so that the parameters of a search stay one struct set one
 * way; the price, a compat entry point per grown struct, is paid inside the library.
 */
#ifndef SEARCHQ_H
#define SEARCHQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SQ_VERSION "1.5.0"

enum sq_status {
    SQ_OK = 0,
    SQ_EADDR = -1,    /* a malformed HOST:PORT, or a Unix socket path too long */
    SQ_ECONNECT = -2, /* cannot connect; the connection broke, closed or timed out */
    SQ_ETLS = -3,     /* TLS could not be set up (the handshake failing is SQ_ECONNECT) */
    SQ_ECAFILE = -4,  /* the CA file (or the system's CAs) did not load */
    SQ_ESERVER = -5,  /* the server answered {"ok":false}: sq_error.code says why */
    SQ_EPROTO = -6,   /* the server sent something that is not an answer, or a line too long */
    SQ_ENOMEM = -7,   /* out of memory */
    SQ_ELIMIT = -8,   /* a send over the in-flight bound */
    SQ_EARG = -9,     /* a misuse: options that contradict, a call with answers pending... */
};

struct sq_error {
    int status;        /* enum sq_status */
    char code[64];     /* SQ_ESERVER: the wire code ("" if the answer had none); else "" */
    char message[512]; /* SQ_ESERVER: the server's message; else what went wrong, and where */
};

/* The name of a status ("SQ_ECONNECT"); never NULL. */
const char *sq_status_name(int status);

/* How to connect. Strings are borrowed for the sq_connect call only. Zeroed fields take the
 * defaults noted. */
struct sq_options {
    const char *address;       /* "HOST:PORT" or "[V6]:PORT"; NULL: SQ_DEFAULT_ADDRESS */
    const char *unix_path;     /* a Unix socket instead of address, or NULL */
    const char *key;           /* API key, sent by the auth op at connect, or NULL */
    bool tls;                  /* TLS 1.2+ over TCP (with unix_path: SQ_EARG) */
    const char *tls_ca;        /* trust only these certificates (PEM file); NULL: the system's */
    bool tls_insecure;         /* no certificate or host name check (test boxes only); with
                                  tls_ca, or either without tls: SQ_EARG */
    int timeout_sec;           /* per connect, read or write; 0: SQ_DEFAULT_TIMEOUT_SEC */
    size_t max_line;           /* longest answer accepted; 0: SQ_DEFAULT_MAX_LINE */
    size_t max_inflight_bytes; /* request bytes sent and not answered; 0: the default */
    size_t max_inflight;       /* requests sent and not answered; 0: no bound on the count */
};

#define SQ_DEFAULT_ADDRESS            "127.0.0.1:7701"
#define SQ_DEFAULT_TIMEOUT_SEC        300
#define SQ_DEFAULT_MAX_LINE           ((size_t)256 << 20)
#define SQ_DEFAULT_MAX_INFLIGHT_BYTES ((size_t)16 << 20)

struct sq_conn;

/* Connects as opts says (and authenticates when opts->key is set: a refused key is
 * SQ_ESERVER with the server's code). On success *out is owned by the caller, closed with
 * sq_close(). */
int sq_connect(const struct sq_options *opts, struct sq_conn **out, struct sq_error *err);

/* Wraps an already connected stream socket fd (taken: sq_close closes it, and so does a
 * failure here), with opts's limits (opts may be NULL: the defaults; its address, key and TLS
 * fields are not used: no auth op is sent). name is used in messages. For programs that make
 * their own sockets, and for tests over a socketpair. */
int sq_attach_fd(int fd, const char *name, const struct sq_options *opts, struct sq_conn **out,
                 struct sq_error *err);

/* Closes the connection and frees it; answers not read are lost. NULL is a no-op. */
void sq_close(struct sq_conn *c);

/* What we connected to ("127.0.0.1:7701", the socket path), for messages. Valid until
 * sq_close. */
const char *sq_conn_address(const struct sq_conn *c);

/* ---- pipelining ---- */

/* Sends req (borrowed) as one line. SQ_ELIMIT (nothing sent) when it would pass the in-flight
 * bounds while an answer is pending. A broken connection is SQ_ECONNECT; the request counts
 * as in flight even then, as the server may have read it and answered, unless the server had
 * closed the connection with nothing in flight (then nothing was sent, and it does not). */
int sq_send(struct sq_conn *c, struct json_object *req, struct sq_error *err);

/* Sends a request already serialized: line[0, len) is one JSON object followed by "\n" and
 * has no other newline (borrowed). As sq_send otherwise. */
int sq_send_line(struct sq_conn *c, const char *line, size_t len, struct sq_error *err);

/* True when a request of len bytes (newline included) may be sent now. */
bool sq_can_send(const struct sq_conn *c, size_t len);

/* Requests sent and not yet answered. */
size_t sq_inflight(const struct sq_conn *c);

/* An answer read by sq_recv. */
struct sq_reply {
    struct json_object *answer; /* owned by the reply: freed by sq_reply_free (or take it) */
    const char *line;           /* the raw answer line, NUL-terminated, without its newline:
                                   valid until the next sq_recv or sq_close */
    size_t len;
};

/* Reads the answer to the oldest request in flight. SQ_OK for {"ok":true,...}; SQ_ESERVER
 * for an error answer (reply still filled in, so the caller can show it); SQ_EARG when
 * nothing is in flight. The caller calls sq_reply_free in every case. */
int sq_recv(struct sq_conn *c, struct sq_reply *reply, struct sq_error *err);

/* Frees reply->answer; the reply is zeroed. */
void sq_reply_free(struct sq_reply *reply);

/* Parses one answer line (borrowed, len bytes): *answer owned by the caller when the line is
 * a JSON object, even an error answer (then SQ_ESERVER). `from` names the peer in messages. */
int sq_parse_answer(const char *line, size_t len, const char *from, struct json_object **answer,
                    struct sq_error *err);

/* ---- requests: each returns an owned object {"op":...}, or NULL when out of memory ----
 * index may be NULL (the server's "default" index). Strings and objects are copied or
 * referenced (json_object_get): the arguments stay the caller's. */

/* Search parameters (docs/PROTOCOL.md "Line protocol" and "Filters, sort, facets"). Strings
 * NULL, integers -1 and the tri-states (-1 default, 0 false, 1 true) leave a parameter to the
 * server's default. */
struct sq_search_params {
    const char *index;
    const char *q;
    const char *syntax;    /* "full" or "simple" */
    int highlight;         /* tri-state */
    int highlight_offsets; /* tri-state */
    int64_t snippet_len;
    int64_t fragments;
    int64_t limit;
    int64_t offset;
    const char *filter;
    const char *sort;
    const char *facets; /* comma-separated specs */
    const char *fields; /* comma-separated stored field names, or "*" */
    const char *highlight_pre;
    const char *highlight_post;
    int snippet;                 /* tri-state */
    int layout;                  /* tri-state */
    int typo;                    /* tri-state */
    struct json_object *weights; /* {"title":3,...} (borrowed), or NULL */
    /* Since 1.2.0: words standing together, in the typed order, rank higher (docs/QUERY.md
     * "Proximity"). SQ_PROXIMITY_DEFAULT leaves it to the server (off); SQ_PROXIMITY_ON sends
     * true (the server's weight, 0.35), SQ_PROXIMITY_OFF false; a weight in [0,
     * SQ_PROXIMITY_MAX] is sent as that number (0 is off). Anything else (NaN, infinities,
     * other negatives, over the maximum) is refused with SQ_EARG before anything is sent. */
    double proximity;
    /* Since 1.3.0, tri-state: true for a box that searches on every keystroke: the last word,
     * when nothing follows it, also finds the words it starts (docs/QUERY.md "As you type").
     * Only with syntax "simple"; the server refuses it otherwise (bad_request). */
    int prefix_last;
    /* Since 1.4.0, tri-state: when a simple-syntax query's words find nothing together, the
     * documents with most of them are returned, each hit naming the words it lacks in
     * "missing", and "dropped" those the best hit lacks (docs/QUERY.md "Most words"). The
     * server's default is true with syntax "simple"; 1 with the full syntax is refused
     * (bad_request). */
    int drop_words;
};

#define SQ_PROXIMITY_DEFAULT (-1.0)
#define SQ_PROXIMITY_ON      (-2.0)
#define SQ_PROXIMITY_OFF     (-3.0)
#define SQ_PROXIMITY_MAX     1000.0 /* the protocol's largest weight */

/* The parameters with every field at its "server default" value; q borrowed. */
struct sq_search_params sq_search_defaults(const char *q);

/* SQ_OK when every value of p can be sent; otherwise SQ_EARG with err (may be NULL) naming
 * the parameter and value. The library checks only what it must encode itself (proximity):
 * strings, filters and counts are the server's to judge. sq_search calls it. Since 1.2.0; it
 * reads no field added after 1.2.0, so a 1.2 program's smaller struct is safe with it. */
int sq_search_check(const struct sq_search_params *p, struct sq_error *err);

/* NULL when out of memory, and since 1.2.0 also when sq_search_check refuses p (call it to
 * learn why). */
struct json_object *sq_req_search(const struct sq_search_params *p);
/* docs: an array of documents (a batch) or a single document object. */
struct json_object *sq_req_add(const char *index, struct json_object *docs);
struct json_object *sq_req_get(const char *index, const char *id);
struct json_object *sq_req_delete(const char *index, const char *id);
/* delete with "ids": the count ids of ids[] (borrowed; a NULL one is sent as "") deleted in one
 * write, all or none. The server takes 1 to 10000 and refuses others (bad_request); its answer
 * counts "deleted" and "not_found" (the ids there was no document for, then no error). Since
 * 1.5.0. */
struct json_object *sq_req_delete_ids(const char *index, const char *const *ids, size_t count);
struct json_object *sq_req_stats(const char *index);
struct json_object *sq_req_health(void);
struct json_object *sq_req_indexes(void);
struct json_object *sq_req_auth(const char *key);
/* settings may be NULL for create_index (the default settings). */
struct json_object *sq_req_create_index(const char *name, struct json_object *settings);
/* Replaces the settings whole (a section left out is reset): see sq_req_merge_settings to
 * change one. */
struct json_object *sq_req_set_settings(const char *name, struct json_object *settings);
/* set_settings with "merge": true: patch is a JSON merge patch (RFC 7396) of the settings in
 * force; only what it names changes, a JSON null removes a member (json-c: a NULL value in an
 * object), an array replaces whole. Creates the index (with the patch's settings, its nulls
 * dropped) when it does not exist. The answer is set_settings': the version in force. HTTP's
 * PATCH /indexes/{name}. Since 1.5.0. */
struct json_object *sq_req_merge_settings(const char *name, struct json_object *patch);
struct json_object *sq_req_get_settings(const char *name);
struct json_object *sq_req_drop_index(const char *name);
/* A consistent copy of index (required: NULL leaves the server to refuse it) into the
 * directory name under the server's --snapshot-dir; name is a name ([a-z0-9_-], 1 to 64
 * bytes, not starting with '-'), never a path: the server refuses anything else. Admin key
 * only. Since 1.1.0. */
struct json_object *sq_req_snapshot(const char *index, const char *name);

/* ---- calls: send one request, wait for its answer ----
 * Only with nothing in flight (else SQ_EARG). On SQ_OK *answer is owned by the caller
 * (json_object_put); on SQ_ESERVER too (the error answer); otherwise NULL. */

/* Sends req (taken: freed here, NULL is SQ_ENOMEM) and reads its answer. */
int sq_call(struct sq_conn *c, struct json_object *req, struct json_object **answer,
            struct sq_error *err);

/* SQ_EARG, nothing sent, when sq_search_check refuses p. */
int sq_search(struct sq_conn *c, const struct sq_search_params *p, struct json_object **answer,
              struct sq_error *err);
int sq_add(struct sq_conn *c, const char *index, struct json_object *docs,
           struct json_object **answer, struct sq_error *err);
int sq_get(struct sq_conn *c, const char *index, const char *id, struct json_object **answer,
           struct sq_error *err);
int sq_delete(struct sq_conn *c, const char *index, const char *id, struct json_object **answer,
              struct sq_error *err);
/* Since 1.5.0 (sq_req_delete_ids). */
int sq_delete_ids(struct sq_conn *c, const char *index, const char *const *ids, size_t count,
                  struct json_object **answer, struct sq_error *err);
int sq_stats(struct sq_conn *c, const char *index, struct json_object **answer,
             struct sq_error *err);
int sq_health(struct sq_conn *c, struct json_object **answer, struct sq_error *err);
int sq_indexes(struct sq_conn *c, struct json_object **answer, struct sq_error *err);
int sq_create_index(struct sq_conn *c, const char *name, struct json_object *settings,
                    struct json_object **answer, struct sq_error *err);
int sq_set_settings(struct sq_conn *c, const char *name, struct json_object *settings,
                    struct json_object **answer, struct sq_error *err);
/* Since 1.5.0 (sq_req_merge_settings). */
int sq_merge_settings(struct sq_conn *c, const char *name, struct json_object *patch,
                      struct json_object **answer, struct sq_error *err);
int sq_get_settings(struct sq_conn *c, const char *name, struct json_object **answer,
                    struct sq_error *err);
int sq_drop_index(struct sq_conn *c, const char *name, struct json_object **answer,
                  struct sq_error *err);
/* Answers when the copy is whole and durable (seconds for a large index: mind
 * sq_options.timeout_sec); the answer has "path", "seq", "segments", "files_linked",
 * "files_copied", "bytes", "ms". Since 1.1.0. */
int sq_snapshot(struct sq_conn *c, const char *index, const char *name, struct json_object **answer,
                struct sq_error *err);
/* Presents key on this connection (sq_connect does it for sq_options.key); the connection
 * keeps the role answered ("role": "admin" or "search") until the next auth that succeeds. A
 * refused key is SQ_ESERVER "unauthorized", and the connection keeps the role it had. Since
 * 1.1.0. */
int sq_auth(struct sq_conn *c, const char *key, struct json_object **answer, struct sq_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SEARCHQ_H */
