/*
 * srv_conn.c: client connections of both protocols (loop thread).
 *
 * One struct srv_conn on one bufferevent serves either protocol; what
 * differs (framing, the shape of an answer) is behind c->ops. This file owns
 * what must hold whatever the protocol: who gets in, how long a connection
 * may take, how much it may hold, and that answers leave in request order.
 * Who gets in (the limits at accept, and refusals) is srv_accept.c's.
 *
 * States and deadlines (one timer per connection, never restarted by
 * trickled bytes):
 *   IDLE     nothing buffered, nothing pending   --idle-timeout, then closed
 *   READING  part of a request buffered          --request-timeout from the
 *            first byte of the request: timeout (HTTP 408), then closed
 *   BUSY     answers pending or unsent           the server's turn; a client
 *            that takes no answer bytes for --idle-timeout is closed
 * A connection enters READING when bytes of an unfinished request are held;
 * a slowloris client sending a byte a second stays in READING and meets its
 * deadline.
 *
 * Memory held in unfinished requests: each connection at most --max-request
 * (its framer's limit); all together at most --max-unfinished. Over that,
 * the connection holding the most gets busy and is closed.
 *
 * Ordering. Every request framed becomes a job at the tail of its
 * connection's FIFO, including requests that fail to parse. Jobs complete in
 * any order (searches on workers, writes on the engine's thread);
 * srv_conn_job_done() writes answers from the head of the FIFO while the
 * head is done, so request order holds on both protocols (HTTP pipelining).
 * And requests take effect in that order: a job starts only when every
 * earlier unfinished job of its connection may run beside it (order_allows:
 * reads beside reads, writes beside writes, an index-management op or a
 * snapshot alone; health and auth always). Until then it is parked, and each
 * completion starts the parked jobs whose turn has come. So a get pipelined
 * after an add sees the document, as it would after the add's answer, and a
 * write pipelined after a search does not change what the search finds,
 * while a pipelined import or a burst of searches still runs side by side.
 * The first unfinished job can always start, so nothing waits forever.
 *
 * Back-pressure. With SRV_MAX_PIPELINE answers pending, requests of more
 * than SRV_IN_HIGH bytes not yet answered, or more than SRV_OUT_HIGH bytes
 * not yet taken by the client, no more requests are framed and reading
 * stops until the client (or the engine) catches up. The byte bound matters
 * for pipelined imports: without it the daemon read whole corpora ahead of
 * the engine (measured: 1.4 GiB of queued batches while importing 200k
 * documents).
 * Over all connections, answer bytes not yet taken are bounded by
 * --max-unsent (srv_unsent.c): out_cb counts each output buffer's changes
 * into the total, a connection with a job waiting at that cap frames no
 * more, and the cap's last resort, closing the largest holders, is
 * srv_conn_evict_unsent here.
 *
 * Closing. A connection whose socket failed is closed at once; its struct
 * lives on until its last pending job completes (jobs point to it) and no
 * callback of its own is running (c->in_callback). When we close while the
 * client may still be sending (a broken stream, a shutdown, a refusal), we
 * linger: FIN, then input discarded until the client closes or
 * SRV_LINGER_S pass, because closing a socket with unread input sends a
 * reset that can destroy the answer not yet read.
 *
 * TLS. A TLS listener's connections get a bufferevent_openssl (srv_tls.c)
 * instead of a socket bufferevent; everything above is the same, on the
 * plaintext. The differences: a close_notify alert before the FIN of a
 * lingering close, and a refusal that cannot be said in TLS is a plain close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "srv_int.h"

#define SRV_OUT_HIGH        (4u << 20)  /* bytes of answers queued before reading pauses */
#define SRV_IN_HIGH         (16u << 20) /* bytes of requests pending before reading pauses */
#define SRV_LINGER_S        2           /* seconds to wait for a client to close after our FIN */

/* ---- lists, states, timers ---- */

static size_t out_len(const struct srv_conn *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

static void idle_unlink(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (!c->is_idle_listed) {
        return;
    }
    if (c->idle_prev) {
        c->idle_prev->idle_next = c->idle_next;
    } else {
        s->idle_head = c->idle_next;
    }
    if (c->idle_next) {
        c->idle_next->idle_prev = c->idle_prev;
    } else {
        s->idle_tail = c->idle_prev;
    }
    c->idle_prev = c->idle_next = NULL;
    c->is_idle_listed = false;
}

static void idle_append(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (c->is_idle_listed) {
        return;
    }
    c->idle_prev = s->idle_tail;
    c->idle_next = NULL;
    if (s->idle_tail) {
        s->idle_tail->idle_next = c;
    } else {
        s->idle_head = c;
    }
    s->idle_tail = c;
    c->is_idle_listed = true;
}

static void set_held(struct srv_conn *c, size_t held)
{
    c->srv->held_total = c->srv->held_total - c->held + held;
    c->held = held;
}

/* --max-unsent (srv_unsent.c): the output buffer's changes, as they happen, into c->unsent_out
 * and the server's total. */
static void out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct srv_conn *c = arg;
    if (info->n_added) {
        if (c->unsent_out == 0) {
            c->taken_ns = sd_now_ns(); /* it has something to take from now */
        }
        c->unsent_out += info->n_added;
        srv_unsent_add(c->srv, info->n_added);
    }
    if (info->n_deleted) {
        c->unsent_out -= info->n_deleted;
        c->taken_ns = sd_now_ns();
        srv_unsent_sub(c->srv, info->n_deleted);
    }
}

/* Frees c's bufferevent; what its output buffer held leaves the server's total. */
static void conn_free_bev(struct srv_conn *c)
{
    if (c->out_cb) {
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
        c->out_cb = NULL;
    }
    if (c->unsent_out) {
        srv_unsent_sub(c->srv, c->unsent_out);
        c->unsent_out = 0;
    }
    bufferevent_free(c->bev);
    c->bev = NULL;
}

static void arm_timer(struct srv_conn *c, unsigned seconds)
{
    struct timeval tv = {(time_t)seconds, 0};
    event_add(c->timer, &tv);
}

static void conn_destroy(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (c->bev) {
        conn_free_bev(c);
    }
    idle_unlink(c);
    set_held(c, 0);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    if (c->is_refusal) {
        s->nrefusing--;
    } else {
        s->nconns--;
        s->nproto[c->ops->proto]--;
    }
    if (c->addr) {
        srv_addr_release(s, c->addr);
    }
    if (c->timer) {
        event_free(c->timer);
    }
    c->ops->free(c);
    log_debug("event=close proto=%s peer=%s", c->ops->name, c->peer);
    free(c);
}

/* Frees c if nothing refers to it any more. Returns true when it did. */
static bool conn_reap(struct srv_conn *c)
{
    if (c->bev || c->npending != 0 || c->in_callback) {
        return false;
    }
    conn_destroy(c);
    return true;
}

/* Closes the socket now; the struct goes when no job points to it. */
void srv_conn_close(struct srv_conn *c)
{
    if (c->bev) {
        conn_free_bev(c);
    }
    event_del(c->timer);
    idle_unlink(c);
    set_held(c, 0);
    srv_unsent_drop_conn(c); /* its jobs waiting for room are answered now, into nowhere */
    /* answers already done can never be written: drop them */
    while (c->head && c->head->is_done) {
        struct srv_job *j = c->head;
        c->head = j->fifo_next;
        c->npending--;
        c->pending_in -= j->in_bytes;
        srv_job_free(j);
    }
    if (!c->head) {
        c->tail = NULL;
    }
    conn_reap(c);
}

/* Recomputes c's state after anything happened to it: the held bytes, the
 * idle list, and the deadline of a state just entered. */
static void conn_update(struct srv_conn *c)
{
    if (!c->bev || c->is_lingering || c->is_refusal) {
        return;
    }
    struct srv *s = c->srv;
    set_held(c, c->is_closing ? 0 : c->ops->held(c));
    enum srv_conn_state st = SRV_CONN_IDLE;
    if (c->npending || out_len(c) || c->is_closing) {
        st = SRV_CONN_BUSY;
    } else if (c->held) {
        st = SRV_CONN_READING;
    }
    /* READING again after a request was framed: the next request's clock */
    bool is_new_request = st == SRV_CONN_READING && c->nframed != c->state_frames;
    if (st == c->state && !is_new_request) {
        return;
    }
    c->state = st;
    c->state_ns = sd_now_ns();
    c->state_frames = c->nframed;
    c->last_out = out_len(c); /* BUSY: unchanged a period later means no progress */
    if (st == SRV_CONN_IDLE) {
        idle_append(c);
    } else {
        idle_unlink(c);
    }
    arm_timer(c, st == SRV_CONN_READING ? s->cfg.request_timeout_s : s->cfg.idle_timeout_s);
}

/* ---- lingering close ---- */

static void linger_read_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what; /* EOF or error: the client is gone */
    srv_conn_close(arg);
}

static void conn_linger(struct srv_conn *c)
{
    c->is_lingering = true;
    idle_unlink(c);
    set_held(c, 0);
    if (c->is_tls) {
        srv_tls_close_notify(c->bev); /* the TLS end of the stream, then the TCP one */
    }
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    bufferevent_setcb(c->bev, linger_read_cb, NULL, linger_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    bufferevent_enable(c->bev, EV_READ);
    arm_timer(c, SRV_LINGER_S);
}

/* Closing and all written: go. Returns true when the socket was closed or
 * lingers. */
static bool conn_maybe_finish(struct srv_conn *c)
{
    if (!c->is_closing || c->npending != 0 || c->is_lingering || (c->bev && out_len(c) != 0)) {
        return false;
    }
    if (c->bev && c->must_linger) {
        conn_linger(c);
        return true;
    }
    srv_conn_close(c);
    return true;
}

/* ---- flow ---- */

/* Frames what is buffered; after the client's EOF, once everything
 * complete is taken, what is left (a last line without '\n') too. */
static void conn_process(struct srv_conn *c)
{
    if (!c->bev) {
        return;
    }
    c->ops->process(c);
    if (c->bev && c->saw_eof && srv_conn_can_take(c)) {
        c->ops->finish(c);
        c->is_closing = true;
    }
}

static bool conn_is_full(const struct srv_conn *c)
{
    /* a job of c waits for answer room (srv_unsent.c): read no more until it goes (only for
     * room: jobs waiting for a worker are pipelined as before, up to SRV_MAX_PIPELINE) */
    return c->npending >= SRV_MAX_PIPELINE || c->pending_in > SRV_IN_HIGH ||
           out_len(c) > SRV_OUT_HIGH || (c->nwaiting != 0 && srv_unsent_is_full(c->srv));
}

bool srv_conn_can_take(struct srv_conn *c)
{
    if (!c->bev || c->is_closing) {
        return false;
    }
    if (!c->is_paused && conn_is_full(c)) {
        c->is_paused = true;
        bufferevent_disable(c->bev, EV_READ);
    }
    return !c->is_paused;
}

static void conn_flow(struct srv_conn *c)
{
    if (!c->bev || c->is_closing) {
        return;
    }
    bool full = conn_is_full(c);
    if (full && !c->is_paused) {
        c->is_paused = true;
        bufferevent_disable(c->bev, EV_READ);
    } else if (!full && c->is_paused) {
        c->is_paused = false;
        if (!c->saw_eof) {
            bufferevent_enable(c->bev, EV_READ);
        }
        conn_process(c); /* requests may already be buffered */
    }
}

void srv_conn_stop_reading(struct srv_conn *c)
{
    c->is_closing = true;
    c->must_linger = true;
    if (c->bev) {
        bufferevent_disable(c->bev, EV_READ);
    }
}

struct srv_job *srv_conn_job(struct srv_conn *c, size_t in_bytes)
{
    struct srv_job *job = srv_job_new(c->srv);
    if (!job) {
        return NULL;
    }
    job->conn = c;
    job->role = srv_keys_conn_role(c); /* HTTP sets its own from the request's Authorization */
    job->in_bytes = in_bytes;
    c->pending_in += in_bytes;
    if (c->tail) {
        c->tail->fifo_next = job;
    } else {
        c->head = job;
    }
    c->tail = job;
    c->npending++;
    c->nframed++;
    return job;
}

void srv_conn_fail_stream(struct srv_conn *c, enum proto_code code, const char *msg)
{
    log_info("event=stream_error proto=%s peer=%s code=%s msg=\"%s\"", c->ops->name, c->peer,
             proto_code_name(code), msg);
    srv_conn_stop_reading(c);
    c->ops->free(c); /* the framer's buffers: nothing more is read */
    c->ops->init(c);
    set_held(c, 0);
    struct srv_job *job = srv_conn_job(c, 0);
    if (!job) {
        srv_conn_close(c);
        return;
    }
    job->must_close = true;
    srv_job_fail(job, code, msg);
    srv_complete(job);
}

static void free_answer(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void srv_conn_add_answer(struct evbuffer *out, struct srv_job *job)
{
    size_t len;
    uint8_t *data = sd_buf_detach(&job->out, &len);
    if (evbuffer_add_reference(out, data, len, free_answer, NULL)) {
        free(data);
    }
}

/* Whether a job of order o may start beside unfinished earlier jobs of the orders in busy
 * (a bit per enum srv_order). */
static bool order_allows(enum srv_order o, unsigned busy)
{
    const unsigned read = 1u << SRV_ORDER_READ, write = 1u << SRV_ORDER_WRITE,
                   alone = 1u << SRV_ORDER_ALONE;
    switch (o) {
    case SRV_ORDER_READ:
        return (busy & (write | alone)) == 0;
    case SRV_ORDER_WRITE:
        return (busy & (read | alone)) == 0;
    case SRV_ORDER_ALONE:
        return (busy & (read | write | alone)) == 0;
    default:
        return true;
    }
}

bool srv_conn_may_start(const struct srv_job *job)
{
    unsigned busy = 0;
    for (const struct srv_job *j = job->conn->head; j && j != job; j = j->fifo_next) {
        busy |= j->is_done ? 0 : 1u << j->order;
    }
    return order_allows(job->order, busy);
}

/* Starts, in FIFO order, the parked jobs of c whose turn has come. Starting one may complete
 * it at once and reenter srv_conn_job_done (which changes the FIFO), so the walk begins
 * again from the head after each start, and a reentered call leaves the starting to this
 * one. */
static void conn_start_parked(struct srv_conn *c)
{
    if (c->is_starting) {
        return;
    }
    c->is_starting = true;
    bool started = true;
    while (started) {
        started = false;
        unsigned busy = 0;
        for (struct srv_job *j = c->head; j; j = j->fifo_next) {
            if (j->is_parked && order_allows(j->order, busy)) {
                j->is_parked = false;
                srv_dispatch_start(j);
                started = true;
                break;
            }
            busy |= j->is_done ? 0 : 1u << j->order;
        }
    }
    c->is_starting = false;
}

void srv_conn_job_done(struct srv_job *job)
{
    struct srv_conn *c = job->conn;
    c->in_callback++;
    if (c->nwaiting) {
        srv_unsent_force_earlier(job);
    }
    conn_start_parked(c); /* before the answers go: a closed connection's jobs still run */
    if (!c->bev) {
        c->in_callback--;
        srv_conn_close(c); /* drops done jobs, frees c after its last one */
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (c->head && c->head->is_done) {
        struct srv_job *j = c->head;
        c->head = j->fifo_next;
        c->npending--;
        c->pending_in -= j->in_bytes;
        c->ops->write_answer(c, j, out);
        if (j->unsent) { /* now counted in the output buffer (out_cb) */
            srv_unsent_sub(c->srv, j->unsent);
            j->unsent = 0;
        }
        if (j->must_close) {
            srv_conn_stop_reading(c);
        }
        srv_job_free(j);
    }
    if (!c->head) {
        c->tail = NULL;
    }
    if (!conn_maybe_finish(c)) {
        conn_flow(c);
        conn_update(c);
    }
    c->in_callback--;
    conn_reap(c);
}

void srv_conn_dispatch_parsed(struct srv_job *job)
{
    struct srv_conn *c = job->conn;
    c->in_callback++; /* the job may complete at once, and c close: c stays for the starts */
    srv_dispatch(job);
    conn_start_parked(c);
    c->in_callback--;
    conn_reap(c);
}

void srv_conn_resume(struct srv_conn *c)
{
    c->in_callback++;
    if (!conn_maybe_finish(c)) {
        conn_flow(c);
        conn_update(c);
    }
    c->in_callback--;
    conn_reap(c);
}

/* ---- the global cap on answers not taken (srv_unsent.c) ---- */

/* The connection holding the most output whose client took nothing for stall_ns, or (with
 * may_cut_readers) if there is none, the one holding the most. NULL when none qualifies. */
static struct srv_conn *largest_unsent(struct srv *s, uint64_t stall_ns, bool may_cut_readers)
{
    uint64_t now = sd_now_ns();
    struct srv_conn *big = NULL;
    bool is_big_stalled = false;
    for (struct srv_conn *c = s->conns; c; c = c->next) {
        if (!c->bev || c->unsent_out == 0) {
            continue;
        }
        bool is_stalled = now - c->taken_ns >= stall_ns;
        if (!is_stalled && !may_cut_readers) {
            continue;
        }
        bool is_bigger = !big || c->unsent_out > big->unsent_out;
        if ((is_stalled && !is_big_stalled) || (is_stalled == is_big_stalled && is_bigger)) {
            big = c;
            is_big_stalled = is_stalled;
        }
    }
    return big;
}

unsigned srv_conn_evict_unsent(struct srv *s, uint64_t stall_ns, bool may_cut_readers)
{
    unsigned n = 0;
    struct srv_conn *big;
    while (srv_unsent_is_full(s) && (big = largest_unsent(s, stall_ns, may_cut_readers))) {
        log_warn("event=evict_unsent proto=%s peer=%s held=%zu taken_ms_ago=%llu unsent=%zu "
                 "limit=%zu waiting=%zu",
                 big->ops->name, big->peer, big->unsent_out,
                 (unsigned long long)((sd_now_ns() - big->taken_ns) / 1000000),
                 (size_t)atomic_load_explicit(&s->unsent, memory_order_relaxed), s->cfg.max_unsent,
                 s->nwaiting);
        srv_metrics_refused(&s->metrics, big->ops->proto, SRV_REFUSED_UNSENT);
        srv_conn_close(big); /* it takes nothing: no answer could reach it, nor a busy error */
        n++;
    }
    return n;
}

/* ---- the global cap on unfinished requests ---- */

static void enforce_unfinished_cap(struct srv *s)
{
    while (s->held_total > s->cfg.max_unfinished) {
        struct srv_conn *big = NULL;
        for (struct srv_conn *c = s->conns; c; c = c->next) {
            if (c->held && (!big || c->held > big->held)) {
                big = c;
            }
        }
        if (!big) {
            return;
        }
        log_warn("event=refused reason=max_unfinished peer=%s held=%zu total=%zu limit=%zu",
                 big->peer, big->held, s->held_total, s->cfg.max_unfinished);
        srv_metrics_refused(&s->metrics, big->ops->proto, SRV_REFUSED_UNFINISHED);
        srv_conn_fail_stream(big, PROTO_BUSY,
                             "the server holds too many unfinished requests; retry later");
    }
}

/* ---- reading ---- */

/* Moves what the socket delivered into the framer. */
static void conn_pull(struct srv_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        return;
    }
    if (c->is_closing) {
        evbuffer_drain(in, len);
        return;
    }
    struct evbuffer_iovec vec[16];
    while (len > 0) {
        int n = evbuffer_peek(in, (ev_ssize_t)len, NULL, vec, 16);
        size_t took = 0;
        for (int i = 0; i < n && i < 16; i++) {
            if (c->ops->feed(c, vec[i].iov_base, vec[i].iov_len)) {
                srv_conn_fail_stream(c, PROTO_INTERNAL, "out of memory reading a request");
                evbuffer_drain(in, evbuffer_get_length(in));
                return;
            }
            took += vec[i].iov_len;
        }
        evbuffer_drain(in, took);
        len -= took;
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct srv_conn *c = arg;
    struct srv *s = c->srv;
    c->in_callback++;
    conn_pull(c);
    conn_process(c);
    conn_update(c);
    if (s->held_total > s->cfg.max_unfinished) {
        enforce_unfinished_cap(s);
    }
    c->in_callback--;
    conn_reap(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    srv_conn_resume(arg); /* the client took bytes: the same look again as after room came */
}

/* The client closed its side: answer what is complete (a last line without
 * its newline), then close once every answer is written. */
static void conn_eof(struct srv_conn *c)
{
    c->saw_eof = true;
    bufferevent_disable(c->bev, EV_READ);
    if (!c->is_closing) {
        conn_pull(c);
        conn_process(c);
    }
    if (c->bev && !conn_maybe_finish(c)) {
        conn_update(c);
    }
}

/* A plain HTTP request on the HTTPS port (curl http://host:7443/): without an answer the client
 * sees its connection reset, and nothing says why. nginx answers such a request in plain HTTP,
 * and so do we: a bad_http answer written to the socket itself (the TLS layer has failed; to
 * this client the stream is plain), once and without waiting, then what has arrived of the
 * rest of its request (up to 64 KiB) is read away so that closing sends a FIN, not a reset that
 * could destroy the answer before the client reads it. The connection is closed right after. */
static void conn_answer_plain_http(struct srv_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    struct sd_buf msg;
    sd_buf_init(&msg);
    c->ops->encode_refusal(&msg, PROTO_BAD_HTTP,
                           "this port speaks HTTPS: a plain HTTP request cannot be read here "
                           "(use https://)");
    if (fd >= 0 && !msg.rc) {
        (void)send(fd, msg.data, msg.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(fd, SHUT_WR);
        char sink[4096];
        for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++) {
        }
    }
    sd_buf_free(&msg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct srv_conn *c = arg;
    c->in_callback++;
    if (what & BEV_EVENT_EOF) {
        conn_eof(c);
    } else if (what & BEV_EVENT_ERROR) {
        char tls[160] = "";
        bool is_plain_http = false;
        if (c->is_tls) { /* outside log_debug, whose arguments go unread below debug */
            srv_tls_error(c->bev, tls, sizeof tls, &is_plain_http);
        }
        log_debug("event=conn_error proto=%s peer=%s err=\"%s\" tls=\"%s\"", c->ops->name, c->peer,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()), tls);
        if (is_plain_http && c->ops->proto == SRV_PROTO_HTTP) {
            conn_answer_plain_http(c);
        }
        srv_conn_close(c);
    }
    c->in_callback--;
    conn_reap(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv_conn *c = arg;
    struct srv *s = c->srv;
    c->in_callback++;
    if (!c->bev || c->is_lingering || c->is_refusal) {
        srv_conn_close(c);
    } else if (c->state == SRV_CONN_IDLE) {
        log_debug("event=idle_close proto=%s peer=%s", c->ops->name, c->peer);
        srv_conn_close(c);
    } else if (c->state == SRV_CONN_READING) {
        log_debug("event=request_timeout proto=%s peer=%s held=%zu pending=%zu paused=%d "
                  "reading_ms=%llu",
                  c->ops->name, c->peer, c->held, c->npending, (int)c->is_paused,
                  (unsigned long long)((sd_now_ns() - c->state_ns) / 1000000));
        char msg[96];
        snprintf(msg, sizeof msg, "request not complete within %u s", s->cfg.request_timeout_s);
        srv_conn_fail_stream(c, PROTO_TIMEOUT, msg);
    } else if (out_len(c) > 0 && out_len(c) == c->last_out) {
        log_info("event=write_timeout proto=%s peer=%s", c->ops->name, c->peer);
        srv_conn_close(c); /* the client took no answer bytes for a whole period */
    } else {
        c->last_out = out_len(c); /* progress, or the engine is working: wait on */
        arm_timer(c, s->cfg.idle_timeout_s);
    }
    c->in_callback--;
    conn_reap(c);
}

/* ---- new connections (srv_accept.c admits them) ---- */

struct srv_conn *srv_conn_new(struct srv *s, const struct srv_listener *l, evutil_socket_t fd,
                              const struct sockaddr *sa)
{
    const struct srv_proto_ops *ops = l->ops;
    struct srv_conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = l->is_tls
                                  ? srv_tls_bev_new(s, fd)
                                  : bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    struct event *timer = c ? evtimer_new(s->base, timer_cb, c) : NULL;
    struct evbuffer_cb_entry *cb =
        c && bev ? evbuffer_add_cb(bufferevent_get_output(bev), out_cb, c) : NULL;
    if (!c || !bev || !timer || !cb) {
        free(c);
        if (timer) {
            event_free(timer);
        }
        if (bev) {
            bufferevent_free(bev);
        } else {
            close(fd);
        }
        return NULL;
    }
    c->srv = s;
    c->ops = ops;
    c->bev = bev;
    c->out_cb = cb;
    c->is_tls = l->is_tls;
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    c->is_loopback = getsockname(fd, (struct sockaddr *)&local, &local_len) == 0 &&
                     srv_addr_is_loopback((const struct sockaddr *)&local);
    c->timer = timer;
    c->state = SRV_CONN_BUSY; /* so that the first update enters IDLE */
    srv_format_addr(sa, c->peer, sizeof c->peer);
    ops->init(c);
    c->next = s->conns;
    if (s->conns) {
        s->conns->prev = c;
    }
    s->conns = c;
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    return c;
}

void srv_conn_admit(struct srv_conn *c, struct srv_addr_count *a)
{
    struct srv *s = c->srv;
    c->addr = a;
    s->nconns++;
    s->nproto[c->ops->proto]++;
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    conn_update(c); /* IDLE, with its timer */
    log_debug("event=accept proto=%s peer=%s", c->ops->name, c->peer);
}

void srv_conn_refusal(struct srv_conn *c, const struct sd_buf *msg)
{
    c->is_refusal = true;
    c->is_closing = true;
    c->must_linger = true;
    c->srv->nrefusing++;
    bufferevent_write(c->bev, msg->data, msg->len);
    bufferevent_enable(c->bev, EV_WRITE);
    arm_timer(c, SRV_LINGER_S);
}

/* ---- shutdown ---- */

void srv_conn_drain_all(struct srv *s)
{
    struct srv_conn *c = s->conns;
    while (c) {
        struct srv_conn *next = c->next;
        if (c->bev && !c->is_lingering) {
            bufferevent_disable(c->bev, EV_READ);
        }
        c->is_closing = true;
        c->must_linger = true;
        c->in_callback++;
        if (!conn_maybe_finish(c)) {
            conn_update(c);
        }
        c->in_callback--;
        conn_reap(c);
        c = next;
    }
}

size_t srv_conn_output_bytes(const struct srv *s)
{
    size_t total = 0;
    for (const struct srv_conn *c = s->conns; c; c = c->next) {
        total += out_len(c);
    }
    return total;
}

bool srv_conn_all_flushed(const struct srv *s)
{
    for (const struct srv_conn *c = s->conns; c; c = c->next) {
        if (!c->is_lingering && c->bev) {
            return false;
        }
    }
    return true;
}

void srv_conn_free_all(struct srv *s)
{
    while (s->conns) {
        struct srv_conn *c = s->conns;
        while (c->head) { /* only done jobs can be left (inflight is 0) */
            struct srv_job *j = c->head;
            c->head = j->fifo_next;
            srv_job_free(j);
        }
        c->npending = 0;
        c->in_callback = 0;
        conn_destroy(c);
    }
}
