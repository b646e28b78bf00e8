/*
 * srv_int.h: what the files of daemon/ share. Private to daemon/.
 *
 * Layers, bottom up:
 *   srv_frame.c  bytes -> framed requests, no socket (srv_frame.h)
 *   srv_conn.c   one struct srv_conn on a bufferevent for every protocol:
 *                accept and admission (limits, idle eviction), deadlines,
 *                the answer FIFO, back-pressure, lingering close
 *   srv_line.c,  a protocol: a struct srv_proto_ops table the connection
 *   srv_http.c   calls to frame input, write an answer, format an error
 *   srv.c        listeners, workers, dispatch, completion, shutdown
 * srv.c and srv_conn.c never call a protocol by name: a listener is given
 * its ops table, and every connection calls through it. TLS would wrap the
 * bufferevent (bufferevent_openssl) under srv_conn; API keys, CORS and
 * the routing of /metrics are HTTP concerns in srv_http.c. srv_metrics.c keeps
 * the counters srv_complete bumps and writes the /metrics text.
 * srv_unsent.c bounds the answer bytes no client has taken yet (--max-unsent).
 *
 * A request becomes a struct srv_job on the loop thread. The job is created
 * for every request read, even one that fails to parse, so that answers can
 * be written in request order: each connection keeps its jobs in a FIFO
 * (head..tail) and writes the answers of done jobs from the head only. A
 * job's life:
 *
 *   loop: frame -> job_new -> proto_parse_* --error--> job_fail -> srv_complete
 *                                 \--ok--> srv_dispatch
 *         (a large request is parsed on the parse thread instead, and comes back through the
 *         completion queue to the same two ends: srv_parse.c)
 *   srv_dispatch: a job that must wait for earlier ones of its connection is parked
 *                 (srv_conn.c, "Ordering"); srv_conn_job_done starts it later
 *   srv_dispatch_start: stats/health run inline -> srv_complete
 *                 search/get, index management -> worker queue -> worker runs + encodes
 *                 (search/get at the --max-unsent cap: wait on the loop first, or are handed
 *                 back unrun by the worker; srv_unsent.c)
 *                 add/delete -> idx_write -> engine calls back when durable
 *   workers, engine -> completion queue + event_active -> loop: srv_complete
 *   srv_complete -> srv_conn_job_done: mark done, write the FIFO's done head
 *
 * Lock order: none is held while taking another. pool.mu guards the work
 * queue, done_mu the completion queue; everything else belongs to the loop
 * thread (jobs belong to whichever thread holds them; handing a job over
 * through a queue is the synchronization).
 */
#ifndef SEARCHD_SRV_INT_H
#define SEARCHD_SRV_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <event2/event.h>

#include "proto.h"
#include "srv.h"
#include "srv_frame.h"

struct evconnlistener;
struct bufferevent;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct web_asset;
struct srv_keys;

/* What a client may do (srv_keys.c). */
enum srv_role {
    SRV_ROLE_NONE = 0, /* keys are on and none was presented: health and auth only */
    SRV_ROLE_SEARCH,   /* read: search, get, stats, health, indexes, get_settings */
    SRV_ROLE_ADMIN,    /* everything; every client when no key is configured */
};
struct evbuffer;
struct evbuffer_cb_entry;
struct srv_conn;

enum srv_proto {
    SRV_PROTO_LINE,
    SRV_PROTO_HTTP,
    SRV_NPROTO,
};

/* What a job does to the indexes, for the order of one connection's jobs (srv_conn.c,
 * "Ordering"): reads run beside reads, writes beside writes, the rest alone. */
enum srv_order {
    SRV_ORDER_FREE,  /* touches no index data (health, auth): runs at once */
    SRV_ORDER_READ,  /* search, get, stats, indexes, get_settings */
    SRV_ORDER_WRITE, /* add, delete */
    SRV_ORDER_ALONE, /* create_index, set_settings, drop_index, snapshot */
};

struct srv_job {
    struct srv_job *next;      /* link in the work or completion queue */
    struct srv_job *fifo_next; /* next job of the same connection */
    struct srv *srv;
    struct srv_conn *conn;    /* the connection (owns the job) */
    struct proto_request req; /* freed at completion */
    uint64_t start_ns;
    size_t in_bytes; /* length of the request (line or body) */
    enum srv_order order;
    bool is_parked; /* dispatched, waiting for earlier jobs of its connection */
    bool is_done;
    bool is_head;      /* HTTP HEAD: headers only */
    bool is_http10;    /* HTTP/1.0: keep-alive must be said */
    bool must_close;   /* close the connection after this answer */
    int status;        /* HTTP status of the answer */
    const char *allow; /* Allow header of a 405 (static) */
    struct sd_buf out; /* the answer: JSON text and '\n' */
    /* HTTP: what the answer is besides JSON in out (srv_http.c) */
    const struct web_asset *asset; /* a page asset is the body (static), not out */
    const char *allow_origin; /* CORS: Access-Control-Allow-Origin (srv-owned) */
    bool is_preflight;        /* a CORS preflight: 204 with the Allow-* headers */
    bool is_cors_preflight;   /* a CORS preflight, answered so or refused: op "preflight" */
    enum srv_role role;       /* HTTP: from this request's Authorization; line: the conn's */
    bool is_metrics;          /* GET /metrics (srv_metrics.c): counted as op "metrics" */
    const char *content_type; /* out is a body of this type, sent as is (static); NULL: JSON */
    bool has_hits;            /* a search answered: hits is its total (the access log's) */
    uint64_t hits;
    /* --max-unsent (srv_unsent.c) */
    struct srv_job *wait_prev, *wait_next; /* srv->wait_head..: waiting to be handed out */
    uint64_t wait_ns;                      /* when it began to wait */
    bool is_waiting;                       /* in that list */
    struct srv_parse_copy *parse; /* a large request's own text (srv_parse.c); NULL: none */
    bool is_parsing;              /* on the parse thread, or back from it and not yet seen */
    bool is_pooled;                        /* pushed to the workers, not yet back on the loop */
    bool is_bounced;                       /* a worker found the total at the cap: not run */
    bool is_forced;                        /* run whatever the total (srv_unsent_force_earlier) */
    size_t unsent;                         /* a worker's answer's bytes, counted in srv->unsent
                                              until they move to the socket's buffer or the job
                                              goes */
};

/* A protocol, as the connection layer sees it. All loop thread. */
struct srv_proto_ops {
    const char *name; /* "line", "http": logs */
    enum srv_proto proto;
    /* Sets up c->line or c->http. */
    void (*init)(struct srv_conn *c);
    void (*free)(struct srv_conn *c);
    /* Copies bytes into the framer (borrowed for the call). SD_ENOMEM. */
    int (*feed)(struct srv_conn *c, const void *data, size_t len);
    /* Frames and starts the buffered requests while c may take more
     * (srv_conn_can_take); a framing error ends with srv_conn_fail_stream. */
    void (*process)(struct srv_conn *c);
    /* The client closed its side: frame what is left (a last line). */
    void (*finish)(struct srv_conn *c);
    /* Bytes held in requests not yet handed out. */
    size_t (*held)(const struct srv_conn *c);
    /* Appends a done job's answer to out. */
    void (*write_answer)(struct srv_conn *c, struct srv_job *job, struct evbuffer *out);
    /* The bytes of an error answered outside any request (a refused
     * connection), into out. */
    void (*encode_refusal)(struct sd_buf *out, enum proto_code code, const char *msg);
};

extern const struct srv_proto_ops srv_line_ops;
extern const struct srv_proto_ops srv_http_ops;

struct srv_addr_count; /* srv_accept.c: connections per client address */

enum srv_conn_state {
    SRV_CONN_IDLE,    /* nothing buffered, nothing pending: idle timeout */
    SRV_CONN_READING, /* part of a request buffered: request deadline */
    SRV_CONN_BUSY,    /* answers pending or unsent: the server's turn */
};

/* One client connection, either protocol. Loop thread only. */
struct srv_conn {
    struct srv_conn *prev, *next;           /* srv->conns */
    struct srv_conn *idle_prev, *idle_next; /* srv->idle_head..: oldest idle first */
    struct srv *srv;
    const struct srv_proto_ops *ops;
    struct bufferevent *bev;     /* NULL once the socket is closed */
    struct event *timer;         /* the deadline of the current state */
    struct srv_job *head, *tail; /* answers in request order, not yet written */
    size_t npending;             /* jobs in the FIFO */
    size_t pending_in;           /* request bytes of those jobs */
    size_t held;                 /* ops->held() as last counted in srv->held_total */
    struct srv_addr_count *addr; /* its client address's count; NULL: not counted */
    enum srv_conn_state state;
    bool is_idle_listed;
    uint64_t state_ns;     /* when the current state began */
    bool is_closing;       /* write what is pending, then close */
    bool is_paused;        /* reading stopped for back-pressure */
    bool must_linger;      /* the client may still be sending when we close */
    bool is_lingering;     /* FIN sent, discarding input until the client closes */
    bool is_refusal;       /* admitted only to say busy; not counted */
    bool is_tls;           /* bev is a bufferevent_openssl (srv_tls.c) */
    bool is_loopback;      /* it came in on a loopback address (srv_addr_is_loopback) */
    enum srv_role role;    /* line: the role of the key its auth op presented */
    bool has_key;          /* line: an auth op presented a key, whose hash is key_hash */
    unsigned char key_hash[32];
    uint64_t keys_gen;     /* srv->keys_gen when role was last worked out from key_hash */
    bool saw_eof;          /* the client closed its side */
    unsigned in_callback;  /* callbacks of c running: c must not be freed */
    bool is_starting;      /* conn_start_parked() is running (it may be reentered) */
    uint64_t nframed;      /* requests framed so far */
    uint64_t state_frames; /* nframed when the state began */
    size_t last_out;       /* BUSY: output bytes at the last tick of the timer */
    /* --max-unsent: the output buffer's bytes, as counted in srv->unsent (out_cb) */
    struct evbuffer_cb_entry *out_cb; /* NULL once the socket is closed */
    size_t unsent_out;
    uint64_t taken_ns; /* when the client last took answer bytes (or was first given some) */
    size_t nwaiting;   /* its jobs waiting for answer room: frame no more meanwhile */
    char peer[64];
    union {
        struct srv_line_reader line;
        struct srv_http_reader http;
    } rd;
};

struct srv_listener {
    struct srv *srv;
    const struct srv_proto_ops *ops;
    bool is_tls; /* its connections speak TLS (srv_tls.c) under the protocol */
    struct evconnlistener *lis;
    struct event *retry; /* re-enables lis after running out of descriptors */
};

#define SRV_MAX_LISTENERS 5 /* HTTP, line, Unix socket, HTTPS, line over TLS */

/* ---- metrics (srv_metrics.c) ---- */

#define SRV_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Request kinds counted: the proto ops by value (room for ops yet to come), then what the HTTP
 * side answers without an op. */
enum {
    SRV_MOP_PAGE = 24, /* a page asset of daemon/web */
    SRV_MOP_METRICS,
    SRV_MOP_PREFLIGHT, /* a CORS preflight */
    SRV_M_OPS,
};
#define SRV_M_STATUSES 16 /* the statuses srv_metrics.c names, and "other" */
#define SRV_M_BUCKETS  14 /* latency buckets before +Inf */
enum { SRV_M_LAT_SEARCH, SRV_M_LAT_WRITE, SRV_M_LAT };

/* Why a connection was refused or cut. */
enum srv_refusal {
    SRV_REFUSED_PER_CLIENT,
    SRV_REFUSED_PROTO,
    SRV_REFUSED_TOTAL,
    SRV_REFUSED_UNFINISHED,
    SRV_REFUSED_DRAINING,
    SRV_REFUSED_UNSENT, /* cut: the largest holder of answers while others waited for room */
    SRV_REFUSED_N,
};

/* Counters, bumped with relaxed atomic adds (no lock; srv_metrics.c says why). */
struct srv_metrics {
    _Atomic uint64_t requests[SRV_NPROTO][SRV_M_OPS][SRV_M_STATUSES];
    struct {
        _Atomic uint64_t bucket[SRV_M_BUCKETS + 1]; /* not cumulative; the last is +Inf */
        _Atomic uint64_t sum_us;
    } latency[SRV_M_LAT];
    _Atomic uint64_t refused[SRV_NPROTO][SRV_REFUSED_N];
    uint64_t start_ns;   /* sd_now_ns() at srv_new */
    uint64_t start_unix; /* time() at srv_new */
};

struct srv {
    struct srv_config cfg;
    struct idx_db *db; /* borrowed */
    struct event_base *base;

    struct srv_listener listeners[SRV_MAX_LISTENERS];
    unsigned nlisteners;
    char *socket_path; /* owned copy, unlinked at free */
    char http_addr[80];
    char line_addr[80];
    char tls_http_addr[80];
    char tls_line_addr[80];
    struct ssl_ctx_st *tls; /* owned: the TLS context of new connections; NULL: no TLS */
    char **cors; /* owned: the allowed origins, NULL-terminated; NULL: none */
    struct srv_keys *keys; /* owned: the key hashes; NULL: keys are off */
    uint64_t keys_gen;     /* bumped by every srv_set_keys: connections check their role again */
    bool cors_any;
    struct srv_metrics metrics;

    struct event *sig_term, *sig_int, *sig_hup;
    struct event *shutdown_ev; /* made active by srv_shutdown() */
    struct event *drain_timer;
    bool is_draining;
    uint64_t drain_start_ns;

    /* loop thread only */
    struct srv_conn *conns;                 /* every connection */
    struct srv_conn *idle_head, *idle_tail; /* idle ones, oldest first */
    unsigned nconns;                        /* counted connections, both protocols */
    unsigned nproto[SRV_NPROTO];
    unsigned nrefusing;                 /* refused sockets still saying goodbye */
    size_t held_total;                  /* sum of conn->held */
    struct srv_addr_count **addr_table; /* hash table of client addresses */
    size_t addr_cap;
    uint64_t inflight; /* jobs created and not yet completed */

    /* --max-unsent (srv_unsent.c). unsent is added to by workers (the answers they make) and
     * by the loop, taken from by the loop only; the rest is the loop's. */
    _Atomic size_t unsent;                 /* answer bytes not yet taken by clients */
    struct srv_job *wait_head, *wait_tail; /* searches and gets waiting for room, oldest first */
    size_t nwaiting;                       /* jobs in that list */
    size_t npooled;                        /* jobs on the workers (is_pooled) */
    struct event *wait_ev;                 /* made active when room may have come */
    struct event *wait_timer;              /* 1 s ticks in an episode of pressure */
    bool is_wait_kicked;                   /* wait_ev is active */
    uint64_t full_since_ns;                /* when the episode began (0: none is on) */
    uint64_t full_seen_ns;                 /* the last time a job waited at the cap */
    uint64_t full_logged_ns;               /* the last event=max_unsent line */
    uint64_t nwaited;                      /* jobs that waited since that line */
    uint64_t nevicted;                     /* connections cut since that line */

    /* worker pool */
    struct {
        pthread_mutex_t mu;          /* guards head, tail, nqueued, is_stopping */
        pthread_cond_t cv;           /* signalled on push and stop */
        struct srv_job *head, *tail; /* searches and gets to run */
        size_t nqueued;              /* jobs in head..tail: the queue depth of /metrics */
        bool is_stopping;
        pthread_t *threads;
        unsigned nthreads;
    } pool;

    /* the parse thread (srv_parse.c): large requests parsed off the loop */
    struct {
        pthread_mutex_t mu;          /* guards head, tail, is_stopping */
        pthread_cond_t cv;           /* signalled on push and stop */
        struct srv_job *head, *tail; /* jobs to parse */
        struct srv_parse_dead *dead; /* parsed requests to free (srv_parse_dispose) */
        bool is_stopping;
        bool has_thread;
        pthread_t thread;
    } parse;
    bool is_stopped; /* srv_free: the loop is gone, jobs coming back are answered by nobody */

    /* completion queue: workers and engine callbacks -> loop */
    pthread_mutex_t done_mu; /* guards done_head, done_tail */
    struct srv_job *done_head, *done_tail;
    struct event *done_ev;
};

/* srv_cors.c */
void srv_cors_free(struct srv *s); /* srv_set_cors (srv.h) fills s->cors */
/* The Access-Control-Allow-Origin value for a request's Origin (NULL: none
 * sent, or not allowed): "*" or the allowed origin (srv-owned). */
const char *srv_cors_allow(const struct srv *s, const char *origin);
/* Whether answers depend on the request's Origin (a list of origins, not "*"): then every
 * answer says Vary: Origin, those without Access-Control-Allow-Origin too, so that a cache
 * never serves an answer made for one origin to another. */
bool srv_cors_varies(const struct srv *s);

/* srv_tls.c (srv_set_tls in srv.h makes s->tls) */
bool srv_tls_on(const struct srv *s);
void srv_tls_free(struct srv *s);
/* A server-side TLS bufferevent on fd (taken: closed with it), with s->tls; NULL on failure
 * (fd not closed). */
struct bufferevent *srv_tls_bev_new(struct srv *s, evutil_socket_t fd);
/* Sends the close_notify alert before a lingering close. */
void srv_tls_close_notify(struct bufferevent *bev);
/* The OpenSSL error of a failed TLS bufferevent into buf ("" when none); returns buf.
 * *is_plain_http: the error is a plain HTTP request where a TLS handshake belongs. */
const char *srv_tls_error(struct bufferevent *bev, char *buf, size_t cap, bool *is_plain_http);

/* srv_keys.c */
void srv_keys_free(struct srv *s);
bool srv_keys_on(const struct srv *s);
/* The role of a presented key (borrowed; NULL: none presented): admin when keys
 * are off, none when it matches no configured hash. Never logs the key. */
enum srv_role srv_key_role(const struct srv *s, const char *key, size_t len);
/* The line protocol's auth op: the role of key, kept (as its hash) on c so that a reload of
 * the keys (SIGHUP) applies to c's later requests too. */
enum srv_role srv_keys_auth(struct srv_conn *c, const char *key, size_t len);
/* The role of c's next request: the key its auth op presented, under the keys now in force
 * (a key a reload removed has none). */
enum srv_role srv_keys_conn_role(struct srv_conn *c);
const char *srv_role_name(enum srv_role role);
/* PROTO_OK unless an HTTP request carries an admin key (role, under keys on) and a browser's
 * Origin header (borrowed; NULL: none): then forbidden, *why (static) says why (a key in a web
 * page is public), and the operator is warned (peer names the client; at most once a minute).
 * Loop thread only. */
enum proto_code srv_keys_check_origin(struct srv *s, enum srv_role role, const char *origin,
                                      const char *peer, const char **why);
/* PROTO_OK when role may run op; else unauthorized or forbidden, *why says why. */
enum proto_code srv_role_check(enum srv_role role, enum proto_op op, const char **why);

/* srv_metrics.c */
void srv_metrics_init(struct srv_metrics *m);
/* One request answered: kind mop (a proto op or SRV_MOP_*), HTTP status, ns from first byte. */
void srv_metrics_request(struct srv_metrics *m, enum srv_proto proto, unsigned mop, int status,
                         uint64_t ns);
/* "search", ..., "page", "metrics", "preflight" (static). */
const char *srv_metrics_op_name(unsigned mop);
void srv_metrics_refused(struct srv_metrics *m, enum srv_proto proto, enum srv_refusal why);
/* The counter families in the text format, appended to out. */
void srv_metrics_render_counters(struct srv_metrics *m, struct sd_buf *out);
/* What a scrape reads from the server itself, on the loop thread (srv_metrics_answer). */
struct srv_metrics_now {
    unsigned connections[SRV_NPROTO]; /* s->nproto */
    uint64_t inflight;                /* s->inflight */
    size_t worker_queue;              /* s->pool.nqueued */
    size_t output_bytes;              /* srv_conn_output_bytes() */
    size_t unfinished_bytes;          /* s->held_total */
    size_t unsent_bytes;              /* s->unsent */
    size_t unsent_limit;              /* --max-unsent */
    size_t unsent_waiting;            /* s->nwaiting */
    uint64_t engine_memory;           /* idx_memory(): used... */
    uint64_t engine_memory_peak;      /* idx_memory_peak() */
    uint64_t engine_memory_limit;     /* ... and the limit, 0: none */
    uint32_t unavailable_indexes;     /* indexes whose idx_stats is SD_EUNAVAIL */
};
/* The server's gauges (now borrowed) and the process's, appended to out. */
void srv_metrics_render_server(const struct srv_metrics *m, const struct srv_metrics_now *now,
                               struct sd_buf *out);
/* The per-index families for count indexes (names and stats borrowed), appended to out. */
void srv_metrics_render_indexes(const char *const *names, const struct idx_stats *stats,
                                size_t count, struct sd_buf *out);
/* GET /metrics: the whole text into job->out and job->content_type set (loop thread), or the
 * job failed with the reason. */
void srv_metrics_answer(struct srv *s, struct srv_job *job);

/* srv.c */
struct srv_job *srv_job_new(struct srv *s);
void srv_job_free(struct srv_job *job);
void srv_job_fail(struct srv_job *job, enum proto_code code, const char *msg);
/* What op does to the indexes: its place in a connection's order (srv_conn.c), and what a
 * search key may run (the reads; srv_keys.c). */
enum srv_order srv_op_order(enum proto_op op);
/* Runs a parsed job, or parks it until the earlier jobs of its connection allow it. */
void srv_dispatch(struct srv_job *job);
/* Runs a job now (srv_dispatch's, or a parked one's turn). */
void srv_dispatch_start(struct srv_job *job);
/* Hands a search, get or management job to the workers. */
void srv_pool_push(struct srv *s, struct srv_job *job);
/* "default" exists implicitly: reads of it before the first write answer as if empty. */
bool srv_is_default_index(const char *name);
/* The stats of "default" before its first write (it exists implicitly): zeros, but for the
 * engine's memory, which every index's stats report (PROTOCOL.md "stats"). */
void srv_empty_default_stats(struct srv *s, struct idx_stats *st);
bool srv_index_exists(struct srv *s, const char *index);
/* srv_manage.c, on a worker thread: indexes, create_index, set/get_settings, drop_index. */
void srv_run_manage(struct srv *s, struct srv_job *job);
void srv_complete(struct srv_job *job); /* loop thread */
/* Hands a finished job back to the loop (any thread but the loop's): the completion queue. */
void srv_complete_remote(struct srv_job *job);

/* srv_parse.c: a request's text, borrowed: a line, or an HTTP request's method, target, body */
struct srv_raw {
    bool is_http;
    enum proto_method method;
    const char *target;
    size_t target_len;
    const char *data;
    size_t len;
};
struct srv_parse_copy;
struct srv_parse_dead;
/* Parses raw into job->req and dispatches the job, or answers its parse error; a large request
 * is copied and parsed on the parse thread first (srv_parse.c says when and why). Loop thread. */
void srv_parse_request(struct srv_job *job, const struct srv_raw *raw);
/* A job back from the parse thread (done_cb: job->is_parsing): dispatched, or its error
 * answered. */
void srv_parse_back(struct srv_job *job);
void srv_parse_free(struct srv_job *job); /* srv_job_free: the copy */
/* Frees req, a request parsed for job and moved out of it: on the parse thread when job's was
 * parsed there (a large one, as costly to free as to make), else at once. Loop thread. */
void srv_parse_dispose(struct srv_job *job, struct proto_request *req);
int srv_parse_start(struct srv *s, struct sd_error *err);
void srv_parse_stop(struct srv *s); /* parses what is queued, then joins the thread */
/* srv_conn.c: dispatches a job parsed on the parse thread, then starts the jobs of its
 * connection that waited for its op to be known. */
void srv_conn_dispatch_parsed(struct srv_job *job);

/* srv_unsent.c: the cap on answer bytes not yet taken by clients (--max-unsent) */
int srv_unsent_init(struct srv *s, struct sd_error *err);
void srv_unsent_free(struct srv *s);
/* Whether the total is at the cap (any thread). */
bool srv_unsent_is_full(const struct srv *s);
void srv_unsent_add(struct srv *s, size_t n); /* any thread */
void srv_unsent_sub(struct srv *s, size_t n); /* loop thread, as all below: may start jobs */
/* A search or get about to start: true when it was taken to wait for room (or, its connection
 * closed or the server draining, failed and completed). */
bool srv_unsent_must_wait(struct srv_job *job);
/* A job back from the workers (done_cb): true when it was bounced and now waits (or failed). */
bool srv_unsent_unpool(struct srv_job *job);
/* job completed: the earlier jobs of its connection that wait go to the workers now (answers
 * leave in request order: job's could not leave before theirs). */
void srv_unsent_force_earlier(struct srv_job *job);
/* Jobs waiting for room. */
size_t srv_unsent_waiting(const struct srv *s);
/* c was closed: its waiting jobs are answered busy (the answers go nowhere) now. */
void srv_unsent_drop_conn(struct srv_conn *c);
/* Shutdown: every waiting job is answered busy. */
void srv_unsent_fail_all(struct srv *s);

/* srv_snapshot.c: runs the snapshot op on a thread of its own; the job completes from it. */
void srv_snapshot_start(struct srv_job *job);

/* srv_accept.c: listeners, admission, refusals */
/* Accepts connections of ops on the listening socket fd (taken: closed on failure). */
int srv_accept_listen(struct srv *s, int fd, const struct srv_proto_ops *ops, bool is_tls,
                      struct sd_error *err);
void srv_accept_stop(struct srv *s); /* shutdown: accept no more */
void srv_accept_free(struct srv *s); /* after srv_conn_free_all: listeners, address table */
/* One connection of a's address is gone (its count is freed at 0). */
void srv_addr_release(struct srv *s, struct srv_addr_count *a);

/* srv_conn.c */
/* A connection accepted by l on fd (taken: closed on failure), not yet admitted (counted,
 * reading): srv_conn_admit or srv_conn_refusal follows. NULL when out of memory. */
struct srv_conn *srv_conn_new(struct srv *s, const struct srv_listener *l, evutil_socket_t fd,
                              const struct sockaddr *sa);
/* c counts toward the limits (a: its address's count, or NULL) and starts reading. */
void srv_conn_admit(struct srv_conn *c, struct srv_addr_count *a);
/* c only says msg (a busy answer), then lingers until the client closes. */
void srv_conn_refusal(struct srv_conn *c, const struct sd_buf *msg);
/* Closes c's socket now; the struct goes when no job points to it. */
void srv_conn_close(struct srv_conn *c);
/* A new job at the tail of c's FIFO (NULL when out of memory). */
struct srv_job *srv_conn_job(struct srv_conn *c, size_t in_bytes);
/* Parses nothing more: the request framed is answered with code (HTTP:
 * and the connection closed after it); reading stops. */
void srv_conn_fail_stream(struct srv_conn *c, enum proto_code code, const char *msg);
/* False while back-pressure or closing says: frame no more requests now. */
bool srv_conn_can_take(struct srv_conn *c);
/* After the last request a protocol will read (HTTP Connection: close). */
void srv_conn_stop_reading(struct srv_conn *c);
/* Whether job (in its connection's FIFO, its order set) may start now. */
bool srv_conn_may_start(const struct srv_job *job);
void srv_conn_job_done(struct srv_job *job);
void srv_conn_drain_all(struct srv *s); /* shutdown: stop reading, close when flushed */
/* Answer bytes buffered on every connection, not yet taken by the sockets (a walk of the
 * connections: for a scrape, not per request). */
size_t srv_conn_output_bytes(const struct srv *s);
bool srv_conn_all_flushed(const struct srv *s);
void srv_conn_free_all(struct srv *s);
/* --max-unsent: jobs have waited for room too long; closes the connections holding the most
 * answer bytes in their output buffers until the total is under the cap: those whose clients
 * took nothing for stall_ns, largest first, then (may_cut_readers) the largest others.
 * Returns how many. */
unsigned srv_conn_evict_unsent(struct srv *s, uint64_t stall_ns, bool may_cut_readers);
/* A job of c stopped waiting for room, or its client took bytes: c may frame requests again. */
void srv_conn_resume(struct srv_conn *c);
/* For the protocols' write_answer: hands job->out to out without a copy. */
void srv_conn_add_answer(struct evbuffer *out, struct srv_job *job);

#endif
