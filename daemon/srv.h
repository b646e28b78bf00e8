/*
 * srv.h: the searchd server (prefix srv_): one libevent loop serving HTTP/1.1
 * and the line protocol of docs/PROTOCOL.md over an idx_db.
 *
 * Threads (docs/threads.md has the whole picture):
 *  - The loop thread owns the event_base, every socket, HTTP and line
 *    connections, parsing (proto_parse_*) and srv_dispatch(). It never runs
 *    a search or a disk write.
 *  - N worker threads take searches and gets from a queue (mutex + condvar)
 *    and encode their answers.
 *  - Writes go to idx_write(); the engine's writer thread calls back when
 *    they are durable.
 * Workers and engine callbacks hand finished jobs back through one
 * completion queue and event_active() on a single event, so everything that
 * touches a socket happens on the loop thread.
 */
#ifndef SEARCHD_SRV_H
#define SEARCHD_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "idx.h"

#define SRV_DEFAULT_HTTP        "127.0.0.1:7700"
#define SRV_DEFAULT_MAX_REQUEST (32u << 20) /* bytes of one request line or body */
#define SRV_DEFAULT_MAX_CONNS   1024
#define SRV_DEFAULT_IDLE_S      300         /* an idle connection is closed after this */
#define SRV_DEFAULT_REQUEST_S   30          /* a request must arrive whole within this */
#define SRV_DEFAULT_PER_CLIENT  256         /* connections from one client address */
#define SRV_DEFAULT_SNIPPET     200         /* bytes of snippet per hit */
#define SRV_MAX_HEADERS         (64u << 10) /* HTTP request line + headers */
#define SRV_MAX_PIPELINE                                                                           \
    256 /* answers pending on one line connection before                                           \
           the server stops reading it */

struct srv;

struct srv_config {
    const char *http_addr;   /* "HOST:PORT" or "[v6]:PORT" (borrowed); NULL: no HTTP */
    const char *line_addr;   /* line protocol over TCP; NULL: none */
    const char *socket_path; /* line protocol over a Unix socket; NULL: none */
    const char *tls_http_addr; /* HTTP over TLS (borrowed); NULL: none */
    const char *tls_line_addr; /* the line protocol over TLS (borrowed); NULL: none */
    const char *tls_cert;      /* PEM certificate chain file, for the TLS listeners (borrowed) */
    const char *tls_key;       /* PEM private key file (borrowed) */
    unsigned workers;        /* 0: one per online CPU */
    size_t max_request;
    unsigned max_connections;      /* both protocols, counted from accept */
    unsigned max_line_connections; /* 0: 3/4 of max_connections (at least 1) */
    unsigned max_http_connections; /* 0: 3/4 of max_connections (at least 1) */
    unsigned max_per_client;       /* per client IP address (loopback too); 0: no limit */
    unsigned idle_timeout_s;       /* nothing buffered, nothing pending */
    unsigned request_timeout_s;    /* first byte to last byte of one request */
    size_t max_unfinished;         /* bytes of unfinished requests, all connections;
                                      0: 4 x max_request */
    size_t max_unsent;             /* bytes of answers not yet taken by clients, all
                                      connections: over it searches and gets wait;
                                      0: 4 x max_request (srv_unsent.c) */
    size_t snippet_len;
    bool handle_signals; /* SIGTERM/SIGINT start a graceful shutdown */
    /* Browser origins allowed to call the HTTP API (CORS): comma-separated,
     * e.g. "https://example.org, http://localhost:8080", or "*" for any;
     * NULL or "": none (borrowed; copied by srv_new). In these three lists an
     * empty entry ("a,,b") is an error (srv_check_cors, srv_check_keys). */
    const char *cors_origins;
    const char *admin_keys;  /* "sha256:<hex>, ..." (borrowed for srv_new) */
    const char *search_keys; /* the same, for read-only keys */
    bool web; /* serve the search page at GET / (daemon/web/) */
    /* Searches taking this many ms or more are logged at warn with their query text
     * (event=slow_query); 0: every search; -1 (the default): none. */
    int64_t slow_ms;
    /* The access log's search lines carry the query text (q="..."); off by default: queries
     * can be personal data. */
    bool log_queries;
    /* SIGHUP (with handle_signals): called on the loop thread, between
     * requests; it may call srv_set_cors. NULL: SIGHUP is logged and ignored. */
    void (*on_reload)(struct srv *s, void *arg);
    void *reload_arg;
};

void srv_config_default(struct srv_config *cfg);

/* Parses "1.2.3.4:80", "[::1]:80" or "localhost:80" strictly (port 0..65535,
 * 0 = any free port). SD_EINVAL with a message otherwise. */
int srv_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
                   struct sd_error *err);
/* "127.0.0.1:7700" / "[::1]:7700" into out. */
void srv_format_addr(const struct sockaddr *sa, char *out, size_t cap);
/* True for an address of 127.0.0.0/8 or ::1 (or ::ffff:127.x.y.z); false for others, and for a
 * Unix socket's. */
bool srv_addr_is_loopback(const struct sockaddr *sa);

struct srv;

/* Binds every listener and starts the workers. db is borrowed and must
 * outlive the server. *out is owned by the caller: srv_free(). */
int srv_new(const struct srv_config *cfg, struct idx_db *db, struct srv **out,
            struct sd_error *err);

/* The addresses actually bound (port 0 resolved), "" when not listening.
 * Valid until srv_free(). */
const char *srv_http_addr(const struct srv *s);
const char *srv_line_addr(const struct srv *s);
const char *srv_tls_http_addr(const struct srv *s);
const char *srv_tls_line_addr(const struct srv *s);

/* Runs the loop on the calling thread until a shutdown completes: listeners
 * closed, every request already read answered and flushed (or its client
 * gone). Returns SD_OK. */
int srv_run(struct srv *s);

/* Replaces the CORS origins (list borrowed, as srv_config.cors_origins).
 * Loop thread only (the on_reload callback). On error nothing changes. */
int srv_set_cors(struct srv *s, const char *list, struct sd_error *err);

/* Walks a comma-separated setting (cors_origins, admin_keys, search_keys): the one reader of
 * their entries, for the server and for the settings' reader, which checks and prints them
 * entry by entry, so that both see the same entries. p = srv_list_begin(list) (borrowed; NULL
 * when the list is NULL or blank, which has no entry), then while srv_list_next(&p, &entry,
 * &len): entry[0, len) is the next entry without the spaces and tabs around it, pointing into
 * list. "a,,b" and "a," have an empty entry (len 0), which srv_check_* refuse. */
const char *srv_list_begin(const char *list);
bool srv_list_next(const char **p, const char **entry, size_t *len);

/* Checks a cors_origins list (borrowed) by the rules srv_set_cors applies, without a server,
 * so that the settings' reader (daemon/conf/) refuses a bad entry where it was written, not
 * when srv_new runs: at most 64 origins, each "*" or scheme://host[:port], none empty. what
 * names the setting in the message ("cors-origins", "--cors-origins"). SD_OK, or SD_EINVAL,
 * SD_ELIMIT or SD_ENOMEM with "WHAT: entry N: why" in err. */
int srv_check_cors(const char *list, const char *what, struct sd_error *err);

/* The same for an admin_keys or search_keys list (srv_set_keys's rules): at most 64 entries,
 * each "sha256:" and 64 hex digits. The message names an entry by its number and never
 * quotes it, since a key pasted where its hash belongs is a secret. */
int srv_check_keys(const char *list, const char *what, struct sd_error *err);

/* Replaces the API keys: comma-separated "sha256:<hex>" lists per role
 * (borrowed; NULL or "": none). No key at all turns keys off. Loop thread
 * only, or before srv_run. On error nothing changes. */
int srv_set_keys(struct srv *s, const char *admin_keys, const char *search_keys,
                 struct sd_error *err);

/* Loads the TLS certificate chain and key (PEM files, borrowed) into a new context (TLS 1.2
 * or later) for connections accepted from now on; connections open keep theirs. Loop thread
 * only (the on_reload callback), or before srv_run. On error (a file missing, unreadable, or
 * the key not the certificate's) nothing changes. SD_EINVAL with the reason. */
int srv_set_tls(struct srv *s, const char *cert, const char *key, struct sd_error *err);

/* Replaces srv_config.slow_ms. Loop thread only, or before srv_run. */
void srv_set_slow_ms(struct srv *s, int64_t ms);
/* Replaces srv_config.log_queries. Loop thread only, or before srv_run. */
void srv_set_log_queries(struct srv *s, bool on);

/* Whether key[0, len) (borrowed) may be an API key: 1 to PROTO_MAX_KEY bytes of printable
 * ASCII (0x20-0x7e) with no space at either end, which every client can send as it is on
 * both protocols. SD_OK, or SD_EINVAL saying what is wrong by byte number, never quoting
 * the key. */
int srv_check_key(const char *key, size_t len, struct sd_error *err);

/* SHA-256 of key into out: what --admin-keys and --search-keys hold. 0 or -1. */
int srv_hash_key(const void *key, size_t len, unsigned char out[32]);

/* Starts a graceful shutdown; safe from any thread. */
void srv_shutdown(struct srv *s);

/* Stops the workers and frees everything; removes the Unix socket. NULL ok. */
void srv_free(struct srv *s);

#endif
