/*
 * srv_http.c: the HTTP/1.1 JSON API on libevent's evhttp (loop thread).
 *
 * evhttp reads the request line, headers (at most SRV_MAX_HEADERS bytes)
 * and body. evhttp 2.1 answers a body over its own limit with a 413 and an
 * HTML page, before any callback of ours runs, and has no hook to change
 * that. So its limit is twice --max-request: a body over --max-request gets
 * our JSON `too_large` 413, one over twice the limit evhttp's 413 (it is
 * never read either way), and no more than 2x the limit is ever buffered.
 * handles keep-alive and pipelining (one request at a time per connection),
 * and closes connections idle for --idle-timeout. Every method is let through
 * to our callback so that a wrong one gets our JSON 405 with an Allow header.
 *
 * The request target and body go to proto_parse_http() once; the job then
 * takes the same path as a line-protocol request (srv_dispatch). The answer
 * is handed to evhttp without a copy (evbuffer_add_reference).
 *
 * --max-connections: evhttp (2.1) has no hook when it accepts a connection,
 * so HTTP connections are counted from their first request: a connection is
 * tracked in a small hash table, with a close callback that forgets it. A
 * connection over the limit gets 503 busy and is closed.
 *
 * If the client goes away while its request runs, libevent keeps the
 * request (without a connection) until we answer; evhttp_send_reply() then
 * just frees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "srv_int.h"

struct srv_http_track {
    struct srv_http_track *next;
    struct evhttp_connection *evcon;
};

static size_t track_slot(const struct srv *s, const struct evhttp_connection *evcon)
{
    uintptr_t v = (uintptr_t)evcon;
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return (size_t)(v >> 20) & (s->http_tracks_cap - 1);
}

static struct srv_http_track **track_find(struct srv *s, const struct evhttp_connection *evcon)
{
    struct srv_http_track **pp = &s->http_tracks[track_slot(s, evcon)];
    while (*pp && (*pp)->evcon != evcon) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void track_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct srv *s = arg;
    struct srv_http_track **pp = track_find(s, evcon);
    if (*pp) { /* libevent may call this twice (reset, then free) */
        struct srv_http_track *t = *pp;
        *pp = t->next;
        free(t);
        s->nconns--;
        log_debug("event=close proto=http");
    }
}

/* False when this is a new connection over the limit (or out of memory). */
static bool track_conn(struct srv *s, struct evhttp_request *r)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r);
    if (!evcon) {
        return true;
    }
    struct srv_http_track **pp = track_find(s, evcon);
    if (*pp) {
        return true;
    }
    if (s->nconns >= s->cfg.max_connections) {
        log_warn("event=refused proto=http reason=max_connections limit=%u",
                 s->cfg.max_connections);
        return false;
    }
    struct srv_http_track *t = calloc(1, sizeof *t);
    if (!t) {
        return false;
    }
    t->evcon = evcon;
    *pp = t;
    s->nconns++;
    evhttp_connection_set_closecb(evcon, track_close_cb, s);
    return true;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Internal Server Error";
    }
}

static void free_answer(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void srv_http_reply(struct srv_job *job)
{
    struct evhttp_request *r = job->http;
    struct evkeyvalq *h = evhttp_request_get_output_headers(r);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (job->allow) {
        evhttp_add_header(h, "Allow", job->allow);
    }
    if (job->status == 503) {
        evhttp_add_header(h, "Connection", "close");
    }
    struct evbuffer *body = evhttp_request_get_output_buffer(r);
    size_t len;
    uint8_t *data = sd_buf_detach(&job->out, &len);
    if (evbuffer_add_reference(body, data, len, free_answer, NULL)) {
        free(data);
    }
    evhttp_send_reply(r, job->status, reason(job->status), NULL);
    srv_job_free(job);
}

static enum proto_method method_of(struct evhttp_request *r)
{
    switch (evhttp_request_get_command(r)) {
    case EVHTTP_REQ_GET:
        return PROTO_GET;
    case EVHTTP_REQ_HEAD:
        return PROTO_HEAD;
    case EVHTTP_REQ_POST:
        return PROTO_POST;
    case EVHTTP_REQ_DELETE:
        return PROTO_DELETE;
    default:
        return PROTO_OTHER;
    }
}

static void request_cb(struct evhttp_request *r, void *arg)
{
    struct srv *s = arg;
    struct srv_job *job = srv_job_new(s, SRV_FROM_HTTP);
    if (!job) {
        evhttp_send_error(r, 500, "out of memory");
        return;
    }
    job->http = r;
    if (s->is_draining) {
        srv_job_fail(job, PROTO_BUSY, "the server is shutting down");
        srv_complete(job);
        return;
    }
    if (!track_conn(s, r)) {
        srv_job_fail(job, PROTO_BUSY, "too many connections");
        srv_complete(job);
        return;
    }
    const char *uri = evhttp_request_get_uri(r);
    struct evbuffer *in = evhttp_request_get_input_buffer(r);
    size_t body_len = evbuffer_get_length(in);
    if (body_len > s->cfg.max_request) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body of %zu bytes is over the limit of %zu", body_len,
                 s->cfg.max_request);
        srv_job_fail(job, PROTO_TOO_LARGE, msg);
        srv_complete(job);
        return;
    }
    const char *body = body_len ? (const char *)evbuffer_pullup(in, -1) : "";
    struct proto_error err;
    enum proto_code rc = proto_parse_http(method_of(r), uri, strlen(uri), body ? body : "",
                                          body ? body_len : 0, &job->req, &err);
    if (rc) {
        srv_job_fail(job, rc, err.msg);
        job->allow = err.allow;
        srv_complete(job);
        return;
    }
    srv_dispatch(s, job);
}

int srv_http_start(struct srv *s, int fd, struct sd_error *err)
{
    s->http_tracks_cap = 1024; /* a power of two */
    s->http_tracks = calloc(s->http_tracks_cap, sizeof *s->http_tracks);
    s->http = evhttp_new(s->base);
    if (!s->http || !s->http_tracks) {
        close(fd);
        return sd_errorf(err, SD_ENOMEM, "evhttp_new");
    }
    evhttp_set_max_body_size(s->http, (ev_ssize_t)s->cfg.max_request * 2);
    evhttp_set_max_headers_size(s->http, SRV_MAX_HEADERS);
    evhttp_set_timeout(s->http, (int)s->cfg.idle_timeout_s);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(s->http, "application/json");
    evhttp_set_gencb(s->http, request_cb, s);
    s->http_sock = evhttp_accept_socket_with_handle(s->http, fd);
    if (!s->http_sock) {
        close(fd);
        return sd_errorf(err, SD_EIO, "evhttp_accept_socket");
    }
    return SD_OK;
}

void srv_http_stop_listening(struct srv *s)
{
    if (s->http && s->http_sock) {
        evhttp_del_accept_socket(s->http, s->http_sock);
        s->http_sock = NULL;
    }
}

void srv_http_free(struct srv *s)
{
    if (s->http) {
        evhttp_free(s->http); /* closes connections: their close callbacks run */
        s->http = NULL;
        s->http_sock = NULL;
    }
    if (s->http_tracks) {
        for (size_t i = 0; i < s->http_tracks_cap; i++) {
            while (s->http_tracks[i]) {
                struct srv_http_track *t = s->http_tracks[i];
                s->http_tracks[i] = t->next;
                free(t);
            }
        }
    }
}
