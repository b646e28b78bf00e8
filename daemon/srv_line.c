/*
 * srv_line.c: the line protocol (TCP and Unix socket) on the loop thread.
 *
 * Wire format (docs/PROTOCOL.md): one JSON object per line each way, '\n'
 * terminated, an optional '\r' before it; blank lines are ignored. Answers
 * are written in request order.
 *
 * Reading. A bufferevent reads into its input buffer with a high watermark
 * of max_request + 2 bytes, so no more than one maximal line (and its
 * "\r\n") is ever buffered. evbuffer_search_eol finds each complete line;
 * it is made contiguous (evbuffer_pullup: a copy only when the line spans
 * buffer chunks), parsed once by proto_parse_line, and drained. When the
 * buffer holds more than max_request bytes and no newline, the stream is
 * broken: one too_large error line is queued after the answers already
 * pending, and the connection is closed once it is written.
 *
 * Ordering. Every line read becomes a job appended to the connection's FIFO,
 * including lines that fail to parse. Jobs complete in any order (searches on
 * workers, writes on the engine's thread); srv_line_job_done() writes answers
 * from the head of the FIFO while the head is done, so request order holds.
 * Answers go out without a copy: the job's buffer is handed to the output
 * evbuffer with evbuffer_add_reference and freed when sent.
 *
 * Back-pressure. With SRV_MAX_PIPELINE answers pending, requests of more
 * than SRV_IN_HIGH bytes not yet answered, or more than SRV_OUT_HIGH bytes
 * not yet taken by the client, reading stops until the client (or the
 * engine) catches up. The byte bound matters for pipelined imports: without
 * it the daemon read whole corpora ahead of the engine (measured: 1.4 GiB of
 * queued batches while importing 200k documents).
 *
 * A connection whose socket failed is closed at once; its struct lives on
 * until its last pending job completes (jobs point to it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "log.h"
#include "srv_int.h"

#define SRV_OUT_HIGH (4u << 20)  /* bytes of answers queued before reading pauses */
#define SRV_IN_HIGH  (16u << 20) /* bytes of requests pending before reading pauses */
#define SRV_LINGER_S 2          /* seconds to wait for a client to close after our FIN */

static void conn_process(struct srv_conn *c);

static void conn_destroy(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (c->bev) {
        bufferevent_free(c->bev);
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    s->nconns--;
    log_debug("event=close proto=line peer=%s", c->peer);
    free(c);
}

/* Closes the socket now; the struct goes when no job points to it. */
static void conn_close(struct srv_conn *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
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
    if (c->npending == 0) {
        conn_destroy(c);
    }
}

static size_t out_len(const struct srv_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

static void linger_read_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what; /* EOF, error or the linger timeout: all mean done */
    conn_close(arg);
}

/* We close while the client may still be sending (a broken stream, a
 * shutdown): closing a socket with unread input makes the kernel send a
 * reset, which can destroy the answers not yet received. So: send FIN,
 * discard input until the client closes too, or SRV_LINGER_S pass. */
static void conn_linger(struct srv_conn *c)
{
    c->is_lingering = true;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    bufferevent_setcb(c->bev, linger_read_cb, NULL, linger_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    struct timeval tv = {SRV_LINGER_S, 0};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
}

/* Closing and all written: go. Returns true when c was freed. */
static bool conn_maybe_finish(struct srv_conn *c)
{
    if (!c->is_closing || c->npending != 0 || c->is_lingering || (c->bev && out_len(c) != 0)) {
        return false;
    }
    if (c->bev && c->must_linger) {
        conn_linger(c);
        return false;
    }
    conn_close(c);
    return true;
}

static void conn_flow(struct srv_conn *c)
{
    if (!c->bev || c->is_closing) {
        return;
    }
    bool full = c->npending >= SRV_MAX_PIPELINE || c->pending_in > SRV_IN_HIGH ||
                out_len(c) > SRV_OUT_HIGH;
    if (full && !c->is_paused) {
        c->is_paused = true;
        bufferevent_disable(c->bev, EV_READ);
    } else if (!full && c->is_paused) {
        c->is_paused = false;
        bufferevent_enable(c->bev, EV_READ);
        conn_process(c); /* lines may already be buffered */
    }
}

static void free_answer(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void srv_line_job_done(struct srv_job *job)
{
    struct srv_conn *c = job->conn;
    if (!c->bev) {
        conn_close(c); /* drops done jobs, frees c after its last one */
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (c->head && c->head->is_done) {
        struct srv_job *j = c->head;
        c->head = j->fifo_next;
        c->npending--;
        c->pending_in -= j->in_bytes;
        size_t len;
        uint8_t *data = sd_buf_detach(&j->out, &len);
        if (evbuffer_add_reference(out, data, len, free_answer, NULL)) {
            free(data);
        }
        srv_job_free(j);
    }
    if (!c->head) {
        c->tail = NULL;
    }
    if (!conn_maybe_finish(c)) {
        conn_flow(c);
    }
}

/* A new job at the tail of c's FIFO. */
static struct srv_job *conn_job(struct srv_conn *c)
{
    struct srv_job *job = srv_job_new(c->srv, SRV_FROM_LINE);
    if (!job) {
        return NULL;
    }
    job->conn = c;
    if (c->tail) {
        c->tail->fifo_next = job;
    } else {
        c->head = job;
    }
    c->tail = job;
    c->npending++;
    return job;
}

static void conn_fail_stream(struct srv_conn *c, enum proto_code code, const char *msg)
{
    log_info("event=stream_error proto=line peer=%s code=%s", c->peer, proto_code_name(code));
    c->is_closing = true;
    c->must_linger = true;
    bufferevent_disable(c->bev, EV_READ);
    struct srv_job *job = conn_job(c);
    if (!job) {
        conn_close(c);
        return;
    }
    srv_job_fail(job, code, msg);
    srv_complete(job);
}

static void conn_line(struct srv_conn *c, const char *line, size_t len)
{
    struct srv_job *job = conn_job(c);
    if (!job) {
        conn_fail_stream(c, PROTO_INTERNAL, "out of memory");
        return;
    }
    job->in_bytes = len;
    c->pending_in += len;
    struct srv *s = c->srv;
    struct proto_error err;
    if (s->is_draining) {
        srv_job_fail(job, PROTO_BUSY, "the server is shutting down");
        srv_complete(job);
        return;
    }
    enum proto_code rc = proto_parse_line(line, len, &job->req, &err);
    if (rc) {
        srv_job_fail(job, rc, err.msg);
        srv_complete(job);
        return;
    }
    srv_dispatch(s, job);
}

static bool is_blank(const char *p, size_t len)
{
    return len == 0 || (len == 1 && p[0] == '\r');
}

/* Parses every complete line in the input buffer (while not paused). */
static void conn_process(struct srv_conn *c)
{
    struct srv *s = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->bev && !c->is_closing && !c->is_paused) {
        size_t eol_len = 0;
        struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
        if (p.pos < 0) {
            if (evbuffer_get_length(in) > s->cfg.max_request) {
                conn_fail_stream(c, PROTO_TOO_LARGE, "request line over the size limit");
            }
            return;
        }
        size_t len = (size_t)p.pos;
        if (len > s->cfg.max_request + 1) { /* + 1: a '\r' before the '\n' */
            conn_fail_stream(c, PROTO_TOO_LARGE, "request line over the size limit");
            return;
        }
        const char *line = (const char *)evbuffer_pullup(in, (ev_ssize_t)(len + eol_len));
        if (!line) {
            conn_fail_stream(c, PROTO_INTERNAL, "out of memory");
            return;
        }
        if (len > s->cfg.max_request && line[len - 1] != '\r') {
            conn_fail_stream(c, PROTO_TOO_LARGE, "request line over the size limit");
            return;
        }
        if (!is_blank(line, len)) {
            conn_line(c, line, len);
        }
        evbuffer_drain(in, len + eol_len);
        conn_flow(c);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct srv_conn *c = arg;
    if (!conn_maybe_finish(c)) {
        conn_flow(c);
    }
}

/* The client closed its side: answer a last unterminated line, then close
 * once every answer is written. */
static void conn_eof(struct srv_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (!c->is_closing && len > c->srv->cfg.max_request) {
        conn_fail_stream(c, PROTO_TOO_LARGE, "request line over the size limit");
        return;
    }
    if (!c->is_closing && len > 0) {
        const char *line = (const char *)evbuffer_pullup(in, -1);
        if (line && !is_blank(line, len)) {
            conn_line(c, line, len);
        }
        evbuffer_drain(in, len);
    }
    c->is_closing = true;
    conn_maybe_finish(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct srv_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        conn_eof(c);
    } else if (what & BEV_EVENT_TIMEOUT) {
        if (c->npending == 0) {
            log_debug("event=idle_close proto=line peer=%s", c->peer);
            conn_close(c);
        } else {
            bufferevent_enable(c->bev, EV_READ | EV_WRITE); /* busy, not idle */
        }
    } else if (what & BEV_EVENT_ERROR) {
        log_debug("event=conn_error proto=line peer=%s err=\"%s\"", c->peer,
                  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        conn_close(c);
    }
}

/* A refused connection: one busy line, then FIN, then input discarded until
 * the client closes (or SRV_LINGER_S), so that no reset destroys the line.
 * At most SRV_MAX_REFUSING of them linger at once; beyond that the socket is
 * just closed. */
#define SRV_MAX_REFUSING 64

struct srv_refusal {
    struct srv_refusal *prev, *next; /* srv->refusals */
    struct srv *srv;
    struct bufferevent *bev;
};

static void refusal_free(struct srv_refusal *r)
{
    struct srv *s = r->srv;
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        s->refusals = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    bufferevent_free(r->bev);
    s->nrefusing--;
    free(r);
}

static void refusal_write_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    shutdown(bufferevent_getfd(bev), SHUT_WR);
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    bufferevent_enable(bev, EV_READ);
}

static void refusal_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what; /* EOF, error or timeout: done */
    refusal_free(arg);
}

static void refuse(struct srv *s, evutil_socket_t fd, const char *why)
{
    char line[160];
    int n = snprintf(line, sizeof line,
                     "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"%s\"}}\n", why);
    struct srv_refusal *r = NULL;
    if (s->nrefusing < SRV_MAX_REFUSING && (r = calloc(1, sizeof *r))) {
        r->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!r || !r->bev) {
        free(r);
        ssize_t w = send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w; /* best effort: the client is refused either way */
        close(fd);
        return;
    }
    r->srv = s;
    r->next = s->refusals;
    if (s->refusals) {
        s->refusals->prev = r;
    }
    s->refusals = r;
    s->nrefusing++;
    bufferevent_setcb(r->bev, linger_read_cb, refusal_write_cb, refusal_event_cb, r);
    struct timeval tv = {SRV_LINGER_S, 0};
    bufferevent_set_timeouts(r->bev, &tv, &tv);
    bufferevent_write(r->bev, line, (size_t)n);
    bufferevent_enable(r->bev, EV_WRITE);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lis;
    (void)salen;
    struct srv *s = arg;
    if (s->is_draining) {
        refuse(s, fd, "the server is shutting down");
        return;
    }
    if (s->nconns >= s->cfg.max_connections) {
        log_warn("event=refused proto=line reason=max_connections limit=%u",
                 s->cfg.max_connections);
        refuse(s, fd, "too many connections");
        return;
    }
    struct srv_conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c || !bev) {
        free(c);
        if (bev) {
            bufferevent_free(bev);
        } else {
            close(fd);
        }
        return;
    }
    c->srv = s;
    c->bev = bev;
    srv_format_addr(sa, c->peer, sizeof c->peer);
    c->next = s->conns;
    if (s->conns) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->nconns++;
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(bev, EV_READ, 0, s->cfg.max_request + 2);
    struct timeval idle = {(time_t)s->cfg.idle_timeout_s, 0};
    bufferevent_set_timeouts(bev, &idle, &idle);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    log_debug("event=accept proto=line peer=%s", c->peer);
}

static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
    (void)lis;
    (void)arg;
    int e = EVUTIL_SOCKET_ERROR();
    /* EMFILE and friends: keep listening; the next accept may succeed */
    log_warn("event=accept_error err=\"%s\"", evutil_socket_error_to_string(e));
}

int srv_line_listen(struct srv *s, int fd, struct evconnlistener **out, struct sd_error *err)
{
    *out = evconnlistener_new(s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!*out) {
        close(fd);
        return sd_errorf(err, SD_ENOMEM, "evconnlistener_new");
    }
    evconnlistener_set_error_cb(*out, accept_error_cb);
    return SD_OK;
}

void srv_line_drain_all(struct srv *s)
{
    struct srv_conn *c = s->conns;
    while (c) {
        struct srv_conn *next = c->next;
        if (c->bev && !c->is_lingering) {
            bufferevent_disable(c->bev, EV_READ);
        }
        c->is_closing = true;
        c->must_linger = true;
        conn_maybe_finish(c);
        c = next;
    }
}

void srv_line_free_all(struct srv *s)
{
    while (s->refusals) {
        refusal_free(s->refusals);
    }
    while (s->conns) {
        struct srv_conn *c = s->conns;
        while (c->head) { /* only done jobs can be left (inflight is 0) */
            struct srv_job *j = c->head;
            c->head = j->fifo_next;
            srv_job_free(j);
        }
        c->npending = 0;
        conn_destroy(c);
    }
}
