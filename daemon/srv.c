/*
 * srv.c: the server's skeleton: listeners, the worker pool, the dispatcher,
 * the completion path back to the loop, and graceful shutdown.
 *
 * srv_int.h draws a job's life. The rules that keep it simple:
 *  - Only the loop thread touches sockets, connections and libevent objects
 *    (the event_base is used from other threads only through event_active(),
 *    which evthread_use_pthreads() makes safe).
 *  - A job belongs to exactly one thread at a time; the queues hand it over.
 *  - srv->inflight counts jobs not yet completed; shutdown waits for it to
 *    reach zero, so no engine callback can arrive after srv_run() returns.
 *
 * Shutdown (SIGTERM/SIGINT or srv_shutdown): close the listeners, stop
 * reading from every connection, wait until every job in flight has
 * completed and every connection has flushed its answers (2 s at most for
 * a client that does not read), then leave the loop. The caller then frees
 * the server and closes the engine.
 */
#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "log.h"
#include "srv_int.h"
#include "web.h"

#define SRV_FLUSH_GRACE_NS (2ull * 1000 * 1000 * 1000)

void srv_config_default(struct srv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->http_addr = SRV_DEFAULT_HTTP;
    cfg->max_request = SRV_DEFAULT_MAX_REQUEST;
    cfg->max_connections = SRV_DEFAULT_MAX_CONNS;
    cfg->idle_timeout_s = SRV_DEFAULT_IDLE_S;
    cfg->request_timeout_s = SRV_DEFAULT_REQUEST_S;
    cfg->max_per_client = SRV_DEFAULT_PER_CLIENT;
    cfg->snippet_len = SRV_DEFAULT_SNIPPET;
    cfg->handle_signals = true;
    cfg->web = true;
    cfg->slow_ms = -1;
}

/* ---- addresses ---- */

static int parse_port(const char *s, uint16_t *port)
{
    if (*s == '\0' || strlen(s) > 5) {
        return -1;
    }
    unsigned v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > 65535) {
        return -1;
    }
    *port = (uint16_t)v;
    return 0;
}

int srv_parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
                   struct sd_error *err)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host || colon == text) {
        return sd_errorf(err, SD_EINVAL, "'%s': want HOST:PORT", text);
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    uint16_t port;
    if (parse_port(colon + 1, &port)) {
        return sd_errorf(err, SD_EINVAL, "'%s': bad port", text);
    }
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            return sd_errorf(err, SD_EINVAL, "'%s': bad IPv6 address", text);
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return SD_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (strcmp(host, "localhost") == 0) {
        memcpy(host, "127.0.0.1", sizeof "127.0.0.1");
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        return sd_errorf(err, SD_EINVAL, "'%s': bad IPv4 address (IPv6 goes in [])", text);
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *len = sizeof *a4;
    return SD_OK;
}

const char *srv_list_begin(const char *list)
{
    return list && list[strspn(list, " \t")] ? list : NULL;
}

bool srv_list_next(const char **p, const char **entry, size_t *len)
{
    const char *e = *p;
    if (!e) {
        return false;
    }
    size_t n = strcspn(e, ",");
    *p = e[n] == ',' ? e + n + 1 : NULL; /* after a comma comes an entry, if only an empty one */
    size_t lead = strspn(e, " \t");      /* stops at the comma or the end: lead <= n */
    e += lead;
    n -= lead;
    while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t')) {
        n--;
    }
    *entry = e;
    *len = n;
    return true;
}

void srv_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(a6->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(a4->sin_port));
    } else {
        snprintf(out, cap, "unix");
    }
}

bool srv_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family != AF_INET6) {
        return false;
    }
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* A non-blocking listening TCP socket on text; its bound address into bound. */
static int listen_tcp(const char *text, int *out_fd, char *bound, size_t cap, struct sd_error *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = srv_parse_addr(text, &ss, &len, err);
    if (rc) {
        return rc;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sd_errorf(err, SD_EIO, "socket %s: %s", text, strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Linux passes TCP_NODELAY on to accepted sockets: small answers go out
     * at once instead of waiting for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
        rc = sd_errorf(err, SD_EIO, "listen %s: %s", text, strerror(errno));
        close(fd);
        return rc;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    srv_format_addr((struct sockaddr *)&ss, bound, cap);
    *out_fd = fd;
    return SD_OK;
}

/* Removes a Unix socket file left by a searchd that is gone; refuses to
 * touch a live one or anything that is not a socket. */
static int unlink_stale_socket(const struct sockaddr_un *sun, struct sd_error *err)
{
    struct stat st;
    if (lstat(sun->sun_path, &st)) {
        return SD_OK; /* nothing there */
    }
    if (!S_ISSOCK(st.st_mode)) {
        return sd_errorf(err, SD_EINVAL, "%s exists and is not a socket", sun->sun_path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sd_errorf(err, SD_EIO, "socket: %s", strerror(errno));
    }
    int live = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0;
    close(fd);
    if (live) {
        return sd_errorf(err, SD_EBUSY, "%s: another server is listening", sun->sun_path);
    }
    unlink(sun->sun_path);
    return SD_OK;
}

static int listen_unix(const char *path, int *out_fd, struct sd_error *err)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        return sd_errorf(err, SD_EINVAL, "socket path longer than %zu bytes: %s",
                         sizeof sun.sun_path - 1, path);
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int rc = unlink_stale_socket(&sun, err);
    if (rc) {
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sd_errorf(err, SD_EIO, "socket: %s", strerror(errno));
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) || listen(fd, 1024)) {
        rc = sd_errorf(err, SD_EIO, "listen %s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    /* owner and group may connect (run clients in searchd's group) */
    chmod(path, 0660);
    *out_fd = fd;
    return SD_OK;
}

/* ---- jobs ---- */

struct srv_job *srv_job_new(struct srv *s)
{
    struct srv_job *job = calloc(1, sizeof *job);
    if (!job) {
        return NULL;
    }
    job->srv = s;
    job->status = 200;
    job->start_ns = sd_now_ns();
    proto_request_init(&job->req);
    sd_buf_init(&job->out);
    s->inflight++;
    return job;
}

void srv_job_free(struct srv_job *job)
{
    if (!job) {
        return;
    }
    if (job->unsent) { /* an answer never written (its connection closed) */
        srv_unsent_sub(job->srv, job->unsent);
    }
    proto_request_free(&job->req);
    srv_parse_free(job); /* after the request, which may point into its text */
    sd_buf_free(&job->out);
    free(job);
}

void srv_job_fail(struct srv_job *job, enum proto_code code, const char *msg)
{
    sd_buf_reset(&job->out);
    job->status = proto_code_http_status(code);
    proto_encode_error(&job->out, code, msg);
}

/* The answer is ready (any thread): hand the job back to the loop. */
void srv_complete_remote(struct srv_job *job)
{
    struct srv *s = job->srv;
    pthread_mutex_lock(&s->done_mu);
    bool was_empty = s->done_head == NULL;
    job->next = NULL;
    if (s->done_tail) {
        s->done_tail->next = job;
    } else {
        s->done_head = job;
    }
    s->done_tail = job;
    pthread_mutex_unlock(&s->done_mu);
    if (was_empty) {
        event_active(s->done_ev, EV_READ, 0); /* thread-safe with evthread_use_pthreads */
    }
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv *s = arg;
    pthread_mutex_lock(&s->done_mu);
    struct srv_job *job = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->done_mu);
    while (job) {
        struct srv_job *next = job->next;
        if (job->is_parsing) {
            srv_parse_back(job);
        } else if (!job->is_pooled || !srv_unsent_unpool(job)) {
            srv_complete(job);
        }
        job = next;
    }
}

/* Every op but these acts on one index, the management ops and snapshot included: the access
 * log names it, so that it says which index a drop_index or a snapshot was of. */
static bool uses_index(enum proto_op op)
{
    return op != PROTO_OP_NONE && op != PROTO_OP_HEALTH && op != PROTO_OP_AUTH &&
           op != PROTO_OP_INDEXES;
}

/* The access-log line of an answered request (a search's with its total, and its query text
 * under --log-queries) and, for a search of --slow-ms or more, the slow-query line. Neither
 * has a field that could hold a key: the auth op's key and the Authorization header are never
 * among them, nor is the HTTP target (its query string). */
static void log_request(struct srv *s, const struct srv_job *job, unsigned mop, uint64_t ns)
{
    const struct proto_request *r = &job->req;
    const char *index = uses_index(r->op) ? r->index : "-";
    if (log_access_on()) {
        size_t out = job->asset ? job->asset->len : job->out.len;
        const char *proto = !job->conn->is_tls                        ? job->conn->ops->name
                            : job->conn->ops->proto == SRV_PROTO_HTTP ? "https"
                                                                      : "line_tls";
        char hits[32] = "", q[600] = "";
        if (job->has_hits) {
            snprintf(hits, sizeof hits, " hits=%llu", (unsigned long long)job->hits);
        }
        if (s->cfg.log_queries && r->op == PROTO_OP_SEARCH) {
            char quoted[590];
            snprintf(q, sizeof q, " q=%s",
                     log_quote(quoted, sizeof quoted, r->q ? r->q : "", r->q ? r->q_len : 0));
        }
        log_access("peer=%s proto=%s op=%s index=%s status=%d in=%zu out=%zu us=%llu%s%s",
                   job->conn->peer, proto, srv_metrics_op_name(mop), index, job->status,
                   job->in_bytes, out, (unsigned long long)(ns / 1000), hits, q);
    }
    if (r->op == PROTO_OP_SEARCH && s->cfg.slow_ms >= 0 &&
        ns >= (uint64_t)s->cfg.slow_ms * 1000000u) {
        char q[600];
        log_warn("event=slow_query proto=%s peer=%s index=%s status=%d us=%llu q=%s",
                 job->conn->ops->name, job->conn->peer, index, job->status,
                 (unsigned long long)(ns / 1000),
                 log_quote(q, sizeof q, r->q ? r->q : "", r->q ? r->q_len : 0));
    }
}

void srv_set_slow_ms(struct srv *s, int64_t ms)
{
    s->cfg.slow_ms = ms;
}

void srv_set_log_queries(struct srv *s, bool on)
{
    s->cfg.log_queries = on;
}

void srv_complete(struct srv_job *job)
{
    struct srv *s = job->srv;
    /* else the answer is not in out (an asset, a preflight) or is not JSON (metrics) */
    bool is_json = !job->asset && !job->is_preflight && !job->content_type;
    if (is_json && (job->out.rc || job->out.len == 0)) {
        srv_job_fail(job, PROTO_INTERNAL, "out of memory encoding the answer");
    }
    if (is_json) {
        sd_buf_put_u8(&job->out, '\n');
    }
    uint64_t ns = sd_now_ns() - job->start_ns;
    unsigned mop = job->asset               ? SRV_MOP_PAGE
                   : job->is_cors_preflight ? SRV_MOP_PREFLIGHT
                   : job->is_metrics        ? SRV_MOP_METRICS
                                            : (unsigned)job->req.op;
    srv_metrics_request(&s->metrics, job->conn->ops->proto, mop, job->status, ns);
    log_request(s, job, mop, ns);
    log_debug("event=request proto=%s op=%s status=%d us=%llu", job->conn->ops->name,
              proto_op_name(job->req.op), job->status, (unsigned long long)(ns / 1000));
    proto_request_free(&job->req); /* the JSON tree is not needed any more */
    job->is_done = true;
    s->inflight--;
    srv_conn_job_done(job);
}

/* ---- the work: searches, gets and index management (worker threads) ---- */

bool srv_is_default_index(const char *name)
{
    return strcmp(name, "default") == 0;
}

void srv_empty_default_stats(struct srv *s, struct idx_stats *st)
{
    memset(st, 0, sizeof *st);
    idx_memory(s->db, &st->engine_memory_bytes, &st->engine_memory_limit);
}

static void run_search(struct srv *s, struct srv_job *job)
{
    struct proto_request *r = &job->req;
    struct idx_search_req sr = {.q = r->q,
                                .q_len = r->q_len,
                                .opts = r->search_opts,
                                .filter = r->filter,
                                .filter_len = r->filter_len,
                                .sort = r->sort,
                                .sort_len = r->sort_len,
                                .facets = r->facets,
                                .nfacets = r->nfacets,
                                .fields = r->chosen,
                                .nfields = r->nchosen};
    idx_search_params_default(s->db, &sr.params);
    sr.params.limit = r->limit;
    sr.params.offset = r->offset;
    sr.params.proximity = r->proximity;
    if (r->nweights) {
        sr.params.weights = r->weights;
        sr.params.nweights = r->nweights;
    }
    sr.snippet_len = r->snippet ? s->cfg.snippet_len : 0;
    struct idx_search_res res = {0};
    struct sd_error err = {0};
    uint64_t t0 = sd_now_ns();
    int rc = idx_search(s->db, r->index, &sr, &res, &err);
    double took_ms = (double)(sd_now_ns() - t0) / 1e6;
    if (rc == SD_ENOTFOUND && srv_is_default_index(r->index)) {
        /* "default" exists implicitly: before the first write it is empty */
        idx_search_res_free(&res);
        memset(&res, 0, sizeof res);
        rc = SD_OK;
    }
    if (rc == SD_OK) {
        job->has_hits = true;
        job->hits = res.total;
        proto_encode_search(&job->out, &res, r->snippet, took_ms);
    } else if (rc == SD_ENOTFOUND) {
        srv_job_fail(job, PROTO_UNKNOWN_INDEX, err.msg);
    } else if (rc == SD_EPARSE || rc == SD_ELIMIT) {
        srv_job_fail(job, PROTO_BAD_QUERY, err.msg); /* the query, filter, sort or a facet spec */
    } else if (rc == SD_EINVAL || rc == SD_EFIELD) {
        srv_job_fail(job, PROTO_UNKNOWN_FIELD, err.msg);
    } else if (rc == SD_EUNAVAIL) {
        srv_job_fail(job, PROTO_INDEX_UNAVAILABLE, err.msg); /* logged once, at start */
    } else {
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
        log_error("event=search_failed index=%s rc=%s msg=\"%s\"", r->index, sd_status_name(rc),
                  err.msg);
    }
    idx_search_res_free(&res);
}

bool srv_index_exists(struct srv *s, const char *index)
{
    struct idx_stats st;
    struct sd_error err;
    return idx_stats(s->db, index, &st, &err) != SD_ENOTFOUND;
}

static void run_get(struct srv *s, struct srv_job *job)
{
    struct proto_request *r = &job->req;
    struct seg_stored doc;
    struct sd_error err = {0};
    int rc = idx_get(s->db, r->index, r->id, r->id_len, &doc, &err);
    if (rc == SD_OK) {
        proto_encode_doc(&job->out, &doc);
    } else if (rc == SD_ENOTFOUND) {
        if (!srv_is_default_index(r->index) && !srv_index_exists(s, r->index)) {
            srv_job_fail(job, PROTO_UNKNOWN_INDEX, err.msg);
        } else {
            char msg[SEG_MAX_ID + 64];
            snprintf(msg, sizeof msg, "no document with id '%.*s'", (int)r->id_len, r->id);
            srv_job_fail(job, PROTO_NOT_FOUND, msg);
        }
    } else if (rc == SD_EUNAVAIL) {
        srv_job_fail(job, PROTO_INDEX_UNAVAILABLE, err.msg); /* logged once, at start */
    } else {
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
        log_error("event=get_failed index=%s rc=%s msg=\"%s\"", r->index, sd_status_name(rc),
                  err.msg);
    }
    seg_stored_free(&doc);
}

static void *worker_main(void *arg)
{
    struct srv *s = arg;
    pthread_setname_np(pthread_self(), "sd-search");
    for (;;) {
        pthread_mutex_lock(&s->pool.mu);
        while (!s->pool.head && !s->pool.is_stopping) {
            pthread_cond_wait(&s->pool.cv, &s->pool.mu);
        }
        struct srv_job *job = s->pool.head;
        if (!job) { /* stopping and nothing left */
            pthread_mutex_unlock(&s->pool.mu);
            return NULL;
        }
        s->pool.head = job->next;
        if (!s->pool.head) {
            s->pool.tail = NULL;
        }
        s->pool.nqueued--;
        pthread_mutex_unlock(&s->pool.mu);
        bool is_read = job->req.op == PROTO_OP_SEARCH || job->req.op == PROTO_OP_GET;
        if (is_read && !job->is_forced && srv_unsent_is_full(s)) {
            job->is_bounced = true; /* taken before the cap was reached: it waits (srv_unsent.c) */
        } else if (job->req.op == PROTO_OP_SEARCH) {
            run_search(s, job);
        } else if (job->req.op == PROTO_OP_GET) {
            run_get(s, job);
        } else {
            srv_run_manage(s, job);
        }
        job->unsent = job->out.len; /* counted now: the next job any worker takes sees it */
        srv_unsent_add(s, job->unsent);
        srv_complete_remote(job);
    }
}

void srv_pool_push(struct srv *s, struct srv_job *job)
{
    job->is_pooled = true;
    s->npooled++;
    job->next = NULL;
    pthread_mutex_lock(&s->pool.mu);
    if (s->pool.tail) {
        s->pool.tail->next = job;
    } else {
        s->pool.head = job;
    }
    s->pool.tail = job;
    s->pool.nqueued++;
    pthread_mutex_unlock(&s->pool.mu);
    /* Signalled after the unlock: a worker woken while the loop still held
     * pool.mu went straight back to sleep on the mutex (two more futex calls
     * per search, measured with perf). */
    pthread_cond_signal(&s->pool.cv);
}

static int pool_start(struct srv *s, struct sd_error *err)
{
    unsigned n = s->cfg.workers;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
    }
    s->pool.threads = calloc(n, sizeof *s->pool.threads);
    if (!s->pool.threads) {
        return sd_errorf(err, SD_ENOMEM, "worker threads");
    }
    for (unsigned i = 0; i < n; i++) {
        int e = pthread_create(&s->pool.threads[i], NULL, worker_main, s);
        if (e) {
            return sd_errorf(err, SD_EIO, "pthread_create: %s", strerror(e));
        }
        s->pool.nthreads++;
    }
    return SD_OK;
}

static void pool_stop(struct srv *s)
{
    pthread_mutex_lock(&s->pool.mu);
    s->pool.is_stopping = true;
    pthread_cond_broadcast(&s->pool.cv);
    pthread_mutex_unlock(&s->pool.mu);
    for (unsigned i = 0; i < s->pool.nthreads; i++) {
        pthread_join(s->pool.threads[i], NULL);
    }
    s->pool.nthreads = 0;
}

/* ---- writes (the engine calls back on its own thread) ---- */

static void write_done(void *arg, int rc, const struct idx_write_result *res,
                       const struct sd_error *err)
{
    struct srv_job *job = arg;
    bool is_one_delete = job->req.op == PROTO_OP_DELETE && job->req.nops == 0;
    if (rc == SD_OK && is_one_delete && res->not_found > 0) {
        srv_job_fail(job, PROTO_NOT_FOUND, "no document with that id");
    } else if (rc == SD_OK) {
        proto_encode_write(&job->out, job->req.op, job->req.nops > 0, res);
    } else {
        srv_job_fail(job, proto_code_from_sd(rc), err ? err->msg : "write failed");
        log_warn("event=write_failed index=%s rc=%s msg=\"%s\"", job->req.index, sd_status_name(rc),
                 err ? err->msg : "");
    }
    srv_complete_remote(job);
}

static void start_write(struct srv *s, struct srv_job *job)
{
    struct proto_request *r = &job->req;
    struct idx_op del = {.type = IDX_OP_DELETE, .doc = {.id = r->id, .id_len = r->id_len}};
    const struct idx_op *ops = r->ops;
    size_t nops = r->nops;
    if (r->op == PROTO_OP_DELETE && !srv_index_exists(s, r->index)) {
        /* (an index is not created to delete from it) */
        if (nops == 0) {
            srv_job_fail(job, PROTO_NOT_FOUND, "no document with that id");
        } else {
            struct idx_write_result none = {.not_found = (uint32_t)nops};
            proto_encode_write(&job->out, PROTO_OP_DELETE, true, &none);
        }
        srv_complete(job);
        return;
    }
    if (r->op == PROTO_OP_DELETE && nops == 0) {
        ops = &del;
        nops = 1;
    } else if (nops == 0) {
        struct idx_write_result none = {0};
        proto_encode_write(&job->out, PROTO_OP_ADD, false, &none);
        srv_complete(job);
        return;
    }
    /* idx_write copies the documents into the engine's log records, so the
     * parsed request (about ten times its text) is freed as soon as it
     * returns, not when the write is acknowledged. The job keeps op and index
     * (plain values); it is detached first because once idx_write accepts,
     * the job belongs to the engine's thread. */
    struct proto_request parsed = job->req;
    job->req.root = NULL;
    job->req.ops = NULL;
    job->req.fields = NULL;
    job->req.text = NULL;
    struct sd_error err = {0};
    int rc = idx_write(s->db, parsed.index, ops, nops, write_done, job, &err);
    srv_parse_dispose(job, &parsed);
    if (rc) { /* not accepted: done will not be called */
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
        srv_complete(job);
    }
    /* accepted: job now belongs to the engine until write_done */
}

/* ---- inline ops (cheap: run on the loop) ---- */

static void run_stats(struct srv *s, struct srv_job *job)
{
    struct idx_stats st;
    struct sd_error err = {0};
    int rc = idx_stats(s->db, job->req.index, &st, &err);
    if (rc == SD_ENOTFOUND && srv_is_default_index(job->req.index)) {
        srv_empty_default_stats(s, &st);
        rc = SD_OK;
    }
    if (rc == SD_OK) {
        proto_encode_stats(&job->out, job->req.index, &st);
    } else if (rc == SD_ENOTFOUND) {
        srv_job_fail(job, PROTO_UNKNOWN_INDEX, err.msg);
    } else {
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
    }
}

/* health: 200 when every index is served whole and takes writes, 503 (HTTP) when one is
 * unavailable (it did not open at start), degraded or refuses writes (a full disk), so a load
 * balancer takes such a node out of rotation. The body says why: the first unavailable index's
 * message, else the first other such index's reason; and how many are unavailable. */
static void run_health(struct srv *s, struct srv_job *job)
{
    char **names = NULL;
    size_t count = 0;
    struct sd_error err = {0};
    char reason[320] = "";
    struct proto_health h = {.version = SEARCHD_VERSION, .reason = reason};
    if (idx_list(s->db, &names, &count, &err) != SD_OK) {
        h.degraded = true;
        snprintf(reason, sizeof reason, "cannot list the indexes: %s", err.msg);
    }
    for (size_t i = 0; i < count; i++) {
        struct idx_stats st;
        int rc = idx_stats(s->db, names[i], &st, &err);
        if (rc == SD_EUNAVAIL) {
            if (h.unavailable++ == 0) {
                snprintf(reason, sizeof reason, "index %s: unavailable: %s", names[i], err.msg);
            }
            h.degraded = true;
        } else if (rc == SD_OK) {
            if (st.degraded && !h.degraded) {
                snprintf(reason, sizeof reason, "index %s: %s", names[i], st.degraded_reason);
            } else if (st.writes_refused && !h.degraded) {
                snprintf(reason, sizeof reason, "index %s: writes refused: %s", names[i],
                         st.write_error);
            }
            h.degraded |= st.degraded || st.writes_refused;
            h.torn_tails += st.torn_tails;
            h.torn_bytes += st.torn_bytes;
            h.torn_at = st.torn_at > h.torn_at ? st.torn_at : h.torn_at;
        }
        free(names[i]);
    }
    free(names);
    proto_encode_health(&job->out, &h);
    if (h.degraded) {
        job->status = 503;
    }
}

/* The line protocol's auth op: the connection takes the key's role. */
static void run_auth(struct srv_job *job)
{
    enum srv_role role = srv_keys_auth(job->conn, job->req.key, job->req.key_len);
    if (role == SRV_ROLE_NONE) {
        log_info("event=auth_failed proto=%s peer=%s", job->conn->ops->name, job->conn->peer);
        /* a key no client could be given (a newline or space read with it from a file):
         * say why, never the key itself */
        struct sd_error why = {0};
        char msg[sizeof why.msg + 32];
        bool is_odd = srv_check_key(job->req.key, job->req.key_len, &why) != SD_OK;
        snprintf(msg, sizeof msg, "unknown API key%s%s", is_odd ? ": " : "", is_odd ? why.msg : "");
        srv_job_fail(job, PROTO_UNAUTHORIZED, msg);
        return;
    }
    proto_encode_auth(&job->out, srv_role_name(role));
}

enum srv_order srv_op_order(enum proto_op op)
{
    switch (op) {
    case PROTO_OP_SEARCH:
    case PROTO_OP_GET:
    case PROTO_OP_STATS:
    case PROTO_OP_INDEXES:
    case PROTO_OP_GET_SETTINGS:
        return SRV_ORDER_READ;
    case PROTO_OP_ADD:
    case PROTO_OP_DELETE:
        return SRV_ORDER_WRITE;
    case PROTO_OP_CREATE_INDEX:
    case PROTO_OP_SET_SETTINGS:
    case PROTO_OP_DROP_INDEX:
    case PROTO_OP_SNAPSHOT:
        return SRV_ORDER_ALONE;
    default:
        return SRV_ORDER_FREE; /* health, auth */
    }
}

void srv_dispatch(struct srv_job *job)
{
    job->order = srv_op_order(job->req.op);
    if (srv_conn_may_start(job)) {
        srv_dispatch_start(job);
    } else {
        job->is_parked = true;
    }
}

void srv_dispatch_start(struct srv_job *job)
{
    struct srv *s = job->srv;
    const char *why = NULL;
    enum srv_role role = srv_keys_on(s) ? job->role : SRV_ROLE_ADMIN;
    enum proto_code denied = srv_role_check(role, job->req.op, &why);
    if (denied) {
        srv_job_fail(job, denied, why);
        srv_complete(job);
        return;
    }
    switch (job->req.op) {
    case PROTO_OP_SEARCH:
    case PROTO_OP_GET:
        if (!srv_unsent_must_wait(job)) { /* answers that grow with the data: --max-unsent */
            srv_pool_push(s, job);
        }
        return;
    case PROTO_OP_INDEXES:
    case PROTO_OP_CREATE_INDEX:
    case PROTO_OP_SET_SETTINGS:
    case PROTO_OP_GET_SETTINGS:
    case PROTO_OP_DROP_INDEX:
        srv_pool_push(s, job); /* engine calls that may block (fsync, a drop's wait) */
        return;
    case PROTO_OP_ADD:
    case PROTO_OP_DELETE:
        start_write(s, job);
        return;
    case PROTO_OP_STATS:
        run_stats(s, job);
        break;
    case PROTO_OP_HEALTH:
        run_health(s, job);
        break;
    case PROTO_OP_AUTH:
        run_auth(job);
        break;
    case PROTO_OP_SNAPSHOT:
        srv_snapshot_start(job);
        return;
    default:
        srv_job_fail(job, PROTO_INTERNAL, "no handler for this op");
        break;
    }
    srv_complete(job);
}

/* ---- lifetime ---- */

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv *s = arg;
    bool late = sd_now_ns() - s->drain_start_ns > SRV_FLUSH_GRACE_NS;
    bool flushed = srv_conn_all_flushed(s); /* every answer written (or lingering) */
    if (s->inflight == 0 && (flushed || late)) {
        /* a last short turn of the loop flushes HTTP answers just written */
        struct timeval tv = {0, 50 * 1000};
        event_base_loopexit(s->base, &tv);
        event_del(s->drain_timer);
    }
}

static void begin_shutdown(struct srv *s)
{
    if (s->is_draining) {
        return;
    }
    s->is_draining = true;
    s->drain_start_ns = sd_now_ns();
    log_info("event=shutdown inflight=%llu connections=%u", (unsigned long long)s->inflight,
             s->nconns);
    srv_accept_stop(s);
    srv_unsent_fail_all(s);
    srv_conn_drain_all(s);
    struct timeval tv = {0, 10 * 1000};
    event_add(s->drain_timer, &tv);
}

static void shutdown_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct srv *s = arg;
    if (fd == SIGINT || fd == SIGTERM) {
        log_info("event=signal sig=%s", fd == SIGINT ? "INT" : "TERM");
    }
    begin_shutdown(s);
}

static void reload_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv *s = arg;
    log_info("event=signal sig=HUP");
    if (s->cfg.on_reload) {
        s->cfg.on_reload(s, s->cfg.reload_arg);
    }
}

void srv_shutdown(struct srv *s)
{
    event_active(s->shutdown_ev, EV_READ, 0);
}

static int make_events(struct srv *s, struct sd_error *err)
{
    s->done_ev = event_new(s->base, -1, 0, done_cb, s);
    s->shutdown_ev = event_new(s->base, -1, 0, shutdown_cb, s);
    s->drain_timer = event_new(s->base, -1, EV_PERSIST, drain_check, s);
    if (!s->done_ev || !s->shutdown_ev || !s->drain_timer) {
        return sd_errorf(err, SD_ENOMEM, "events");
    }
    if (s->cfg.handle_signals) {
        s->sig_term = evsignal_new(s->base, SIGTERM, shutdown_cb, s);
        s->sig_int = evsignal_new(s->base, SIGINT, shutdown_cb, s);
        s->sig_hup = evsignal_new(s->base, SIGHUP, reload_cb, s);
        if (!s->sig_term || !s->sig_int || !s->sig_hup || evsignal_add(s->sig_term, NULL) ||
            evsignal_add(s->sig_int, NULL) || evsignal_add(s->sig_hup, NULL)) {
            return sd_errorf(err, SD_EIO, "signal events");
        }
    }
    return SD_OK;
}

static int start_listeners(struct srv *s, struct sd_error *err)
{
    int fd, rc;
    if (s->cfg.http_addr) {
        rc = listen_tcp(s->cfg.http_addr, &fd, s->http_addr, sizeof s->http_addr, err);
        if (rc || (rc = srv_accept_listen(s, fd, &srv_http_ops, false, err))) {
            return rc;
        }
    }
    if (s->cfg.line_addr) {
        rc = listen_tcp(s->cfg.line_addr, &fd, s->line_addr, sizeof s->line_addr, err);
        if (rc || (rc = srv_accept_listen(s, fd, &srv_line_ops, false, err))) {
            return rc;
        }
    }
    if (s->cfg.tls_http_addr) {
        rc = listen_tcp(s->cfg.tls_http_addr, &fd, s->tls_http_addr, sizeof s->tls_http_addr, err);
        if (rc || (rc = srv_accept_listen(s, fd, &srv_http_ops, true, err))) {
            return rc;
        }
    }
    if (s->cfg.tls_line_addr) {
        rc = listen_tcp(s->cfg.tls_line_addr, &fd, s->tls_line_addr, sizeof s->tls_line_addr, err);
        if (rc || (rc = srv_accept_listen(s, fd, &srv_line_ops, true, err))) {
            return rc;
        }
    }
    if (s->cfg.socket_path) {
        s->socket_path = strdup(s->cfg.socket_path);
        if (!s->socket_path) {
            return sd_errorf(err, SD_ENOMEM, "socket path");
        }
        rc = listen_unix(s->socket_path, &fd, err);
        if (rc) {
            free(s->socket_path);
            s->socket_path = NULL;
            return rc;
        }
        if ((rc = srv_accept_listen(s, fd, &srv_line_ops, false, err))) {
            return rc;
        }
    }
    return SD_OK;
}

/* The defaults that depend on other settings. */
static void resolve_limits(struct srv_config *cfg)
{
    unsigned share = cfg->max_connections - cfg->max_connections / 4; /* 3/4, rounded up */
    if (cfg->max_line_connections == 0) {
        cfg->max_line_connections = share;
    }
    if (cfg->max_http_connections == 0) {
        cfg->max_http_connections = share;
    }
    if (cfg->max_unfinished == 0) {
        cfg->max_unfinished = cfg->max_request > SIZE_MAX / 4 ? SIZE_MAX : cfg->max_request * 4;
    }
    if (cfg->max_unsent == 0) { /* room for a few of the largest documents, as --max-unfinished */
        cfg->max_unsent = cfg->max_request > SIZE_MAX / 4 ? SIZE_MAX : cfg->max_request * 4;
    }
    if (cfg->request_timeout_s == 0) {
        cfg->request_timeout_s = SRV_DEFAULT_REQUEST_S;
    }
    if (cfg->idle_timeout_s == 0) {
        cfg->idle_timeout_s = SRV_DEFAULT_IDLE_S;
    }
}

int srv_new(const struct srv_config *cfg, struct idx_db *db, struct srv **out, struct sd_error *err)
{
    struct srv *s = calloc(1, sizeof *s);
    if (!s) {
        return sd_errorf(err, SD_ENOMEM, "srv_new");
    }
    s->cfg = *cfg;
    s->db = db;
    srv_metrics_init(&s->metrics);
    resolve_limits(&s->cfg);
    pthread_mutex_init(&s->pool.mu, NULL);
    pthread_cond_init(&s->pool.cv, NULL);
    pthread_mutex_init(&s->done_mu, NULL);
    pthread_mutex_init(&s->parse.mu, NULL);
    pthread_cond_init(&s->parse.cv, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an error, not a death */
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a full disk (EFBIG), not a death */
    evthread_use_pthreads();
    s->base = event_base_new();
    int rc = s->base ? SD_OK : sd_errorf(err, SD_ENOMEM, "event_base_new");
    if (rc == SD_OK) {
        rc = srv_set_cors(s, cfg->cors_origins, err);
    }
    if (rc == SD_OK) {
        rc = srv_set_keys(s, cfg->admin_keys, cfg->search_keys, err);
    }
    /* borrowed for srv_new() only; s->cors and s->keys have them */
    s->cfg.cors_origins = s->cfg.admin_keys = s->cfg.search_keys = NULL;
    bool wants_tls = cfg->tls_http_addr || cfg->tls_line_addr;
    if (rc == SD_OK && wants_tls) {
        rc = srv_set_tls(s, cfg->tls_cert, cfg->tls_key, err);
    } else if (rc == SD_OK && (cfg->tls_cert || cfg->tls_key)) {
        rc = sd_errorf(err, SD_EINVAL,
                       "tls: a certificate but no TLS listener (tls-listen, "
                       "tls-line-listen)");
    }
    s->cfg.tls_cert = s->cfg.tls_key = NULL; /* borrowed for srv_new() only */
    if (rc == SD_OK) {
        rc = make_events(s, err);
    }
    if (rc == SD_OK) {
        rc = srv_unsent_init(s, err);
    }
    if (rc == SD_OK) {
        rc = start_listeners(s, err);
    }
    /* the address strings are borrowed for srv_new() only */
    s->cfg.http_addr = s->cfg.line_addr = s->cfg.socket_path = NULL;
    s->cfg.tls_http_addr = s->cfg.tls_line_addr = NULL;
    if (rc == SD_OK) {
        rc = pool_start(s, err);
    }
    if (rc == SD_OK) {
        rc = srv_parse_start(s, err);
    }
    if (rc) {
        srv_free(s);
        return rc;
    }
    *out = s;
    return SD_OK;
}

const char *srv_http_addr(const struct srv *s)
{
    return s->http_addr;
}

const char *srv_line_addr(const struct srv *s)
{
    return s->line_addr;
}

const char *srv_tls_http_addr(const struct srv *s)
{
    return s->tls_http_addr;
}

const char *srv_tls_line_addr(const struct srv *s)
{
    return s->tls_line_addr;
}

int srv_run(struct srv *s)
{
    event_base_dispatch(s->base);
    return SD_OK;
}

void srv_free(struct srv *s)
{
    if (!s) {
        return;
    }
    pool_stop(s);
    srv_parse_stop(s);
    /* Workers are joined; jobs left in the completion queue (only if the
     * loop was left early) are answered by nobody. */
    s->is_stopped = true;
    done_cb(-1, 0, s);
    srv_unsent_fail_all(s);
    srv_conn_free_all(s);
    srv_accept_free(s);
    srv_unsent_free(s);
    if (s->socket_path) {
        unlink(s->socket_path);
        free(s->socket_path);
    }
    struct event *evs[] = {s->done_ev,  s->shutdown_ev, s->drain_timer,
                           s->sig_term, s->sig_int,     s->sig_hup};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        if (evs[i]) {
            event_free(evs[i]);
        }
    }
    if (s->base) {
        event_base_free(s->base);
    }
    srv_cors_free(s);
    srv_keys_free(s);
    srv_tls_free(s);
    free(s->pool.threads);
    pthread_mutex_destroy(&s->pool.mu);
    pthread_cond_destroy(&s->pool.cv);
    pthread_mutex_destroy(&s->done_mu);
    pthread_mutex_destroy(&s->parse.mu);
    pthread_cond_destroy(&s->parse.cv);
    free(s);
}
