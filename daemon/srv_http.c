/*
 * srv_http.c: the HTTP/1.1 JSON API, as a struct srv_proto_ops for the
 * connection layer (srv_conn.c).
 *
 * Why not libevent's evhttp: 2.1 writes its own HTML error pages with no
 * hook to change them, tells nobody when it accepts a connection (so idle
 * HTTP sockets could not be counted), serves two conflicting Content-Length
 * headers, and sends a body with HEAD answers. Framing is srv_frame.c's HTTP
 * reader on nodejs http-parser (Debian's libhttp-parser-dev); this file
 * turns framed requests into jobs and answers into HTTP responses.
 *
 * Answers. Every response, errors included, is
 *   HTTP/1.1 <status> <reason>\r\n
 *   Content-Type: application/json\r\n  (a page asset: its own type)
 *   Content-Length: <n>\r\n
 *   [Allow: <methods>\r\n]           405 only
 *   [ETag, Cache-Control, CSP...]    page assets (daemon/web/web.h)
 *   [X-Content-Type-Options: nosniff\r\n Cache-Control: no-store\r\n]  every other answer
 *   [Access-Control-Allow-Origin: <origin>\r\n] [Vary: Origin\r\n] (srv_cors.c)
 *                                    a request from an allowed origin (srv_cors.c)
 *   [Connection: close\r\n]          the connection closes after it
 *   [Connection: keep-alive\r\n]     an HTTP/1.0 client that asked for it
 *   \r\n
 *   {"ok":false,"error":{"code":..,"message":..}} or the answer, and '\n'
 * HEAD gets the same head (Content-Length of the body it would get) and no
 * body. Keep-alive is the default for HTTP/1.1; pipelined requests are
 * answered in order (the connection's FIFO). After a framing error (bad
 * syntax, conflicting lengths, a bad chunk, a head or body over its limit)
 * the error is answered and the connection closed, since the rest of the
 * stream cannot be trusted to start a request.
 *
 * Expect: 100-continue: "HTTP/1.1 100 Continue" is sent when the headers
 * are accepted and no earlier answer is pending (one would come first).
 *
 * Before routing, first: on a loopback address, without API keys, a Host that is not localhost
 * or an IP address is 403 forbidden_host (DNS rebinding: host_is_loopback_name); an admin key
 * on a request with an Origin header (a web page's) is 403 forbidden (srv_keys.c says why,
 * srv_keys_check_origin). Then GET or
 * HEAD of /metrics (srv_metrics.c: the Prometheus
 * text format; a search or admin key when keys are on); GET or HEAD of a
 * page asset (/, /app.js, /searchd.js...; unless --web off) is answered
 * from the compiled-in bytes, 304 when its If-None-Match names the ETag; OPTIONS with Origin and
 * Access-Control-Request-Method is a CORS preflight: 204 with the Allow-*
 * headers for an allowed origin, 403 forbidden_origin otherwise.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "srv_int.h"
#include "web.h"

/* What a preflight allows: every method of the API, and the two request
 * headers a browser script needs (a JSON body, an API key). */
#define CORS_METHODS "GET, POST, PUT, PATCH, DELETE, HEAD"
#define CORS_HEADERS "Content-Type, Authorization"
#define CORS_MAX_AGE "600"

/* Every answer but the page's files. An answer is of its moment and may hold documents that
 * a key guarded: no browser keeps it on disk past the tab the key lived in, and no cache in
 * front keeps it for the next client (nginx's proxy_cache, for one, stores answers to requests
 * with Authorization). And an answer is never read as anything but its type: an error quotes
 * the request (a parameter's name, a document id). */
#define API_HEADERS "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"

static void http_init(struct srv_conn *c)
{
    srv_hr_init(&c->rd.http, SRV_MAX_HEADERS, c->srv->cfg.max_request);
}

static void http_free(struct srv_conn *c)
{
    srv_hr_free(&c->rd.http);
}

static int http_feed(struct srv_conn *c, const void *data, size_t len)
{
    return srv_hr_feed(&c->rd.http, data, len);
}

static size_t http_held(const struct srv_conn *c)
{
    return srv_hr_held(&c->rd.http);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Internal Server Error";
    }
}

static void put_head(struct evbuffer *out, const struct srv_job *job, size_t body_len,
                     const char *connection)
{
    const struct web_asset *a = job->asset;
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", job->status, reason(job->status));
    if (job->status != 204 && job->status != 304) {
        const char *type = a                   ? a->content_type
                           : job->content_type ? job->content_type
                                               : "application/json";
        evbuffer_add_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n", type, body_len);
    }
    if (job->allow) {
        evbuffer_add_printf(out, "Allow: %s\r\n", job->allow);
    }
    if (a) {
        evbuffer_add_printf(out, "ETag: %s\r\n", a->etag);
        for (const char *h = web_headers(a); *h; h += strlen(h) + 1) {
            evbuffer_add_printf(out, "%s\r\n", h);
        }
    } else {
        evbuffer_add_printf(out, API_HEADERS);
    }
    if (job->allow_origin) {
        evbuffer_add_printf(out, "Access-Control-Allow-Origin: %s\r\n", job->allow_origin);
    }
    if (srv_cors_varies(job->srv)) {
        evbuffer_add_printf(out, "Vary: Origin\r\n");
    }
    if (job->status == 401) {
        evbuffer_add_printf(out, "WWW-Authenticate: Bearer realm=\"searchd\"\r\n");
    }
    if (job->is_preflight) {
        evbuffer_add_printf(out,
                            "Access-Control-Allow-Methods: " CORS_METHODS "\r\n"
                            "Access-Control-Allow-Headers: " CORS_HEADERS "\r\n"
                            "Access-Control-Max-Age: " CORS_MAX_AGE "\r\n");
    }
    if (connection) {
        evbuffer_add_printf(out, "Connection: %s\r\n", connection);
    }
    evbuffer_add(out, "\r\n", 2);
}

/* "Connection: close" goes on the last answer of the connection only: a client stops reading at
 * the answer that says it (RFC 9112, 9.6), so saying it on an earlier one of a pipeline (while
 * a later request, which ends the connection, is already read: c->is_closing) would lose the
 * answers after it. c->head is the next answer still due (the caller took job off the FIFO);
 * once c->is_closing no request is read any more, so none comes after an empty FIFO. */
static void http_write_answer(struct srv_conn *c, struct srv_job *job, struct evbuffer *out)
{
    const char *connection = NULL;
    if (job->must_close || (c->is_closing && !c->head)) {
        connection = "close";
    } else if (job->is_http10) {
        connection = "keep-alive";
    }
    bool has_body = job->status != 204 && job->status != 304;
    if (job->asset) {
        put_head(out, job, has_body ? job->asset->len : 0, connection);
        if (has_body && !job->is_head) {
            evbuffer_add_reference(out, job->asset->data, job->asset->len, NULL, NULL);
        }
        return;
    }
    put_head(out, job, job->out.len, connection);
    if (has_body && !job->is_head) {
        srv_conn_add_answer(out, job);
    }
}

static void http_encode_refusal(struct sd_buf *out, enum proto_code code, const char *msg)
{
    struct sd_buf body;
    sd_buf_init(&body);
    proto_encode_error(&body, code, msg);
    sd_buf_put(&body, "\n", 1);
    int status = proto_code_http_status(code);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n" API_HEADERS "Connection: close\r\n\r\n",
                     status, reason(status), body.len);
    sd_buf_put(out, head, (size_t)n);
    sd_buf_put(out, body.data, body.len);
    if (body.rc) {
        out->rc = body.rc;
    }
    sd_buf_free(&body);
}

/* The path of a request target, without its query, into out (NUL-terminated);
 * false when it does not fit (no asset has such a long name). */
static bool target_path(const struct srv_frame *f, char *out, size_t cap)
{
    size_t n = 0;
    while (n < f->target_len && f->target[n] != '?' && f->target[n] != '#') {
        n++;
    }
    if (n >= cap) {
        return false;
    }
    memcpy(out, f->target, n);
    out[n] = '\0';
    return true;
}

/* The role of "Authorization: Bearer KEY" (scheme case-insensitive); none
 * for another scheme, a missing or unknown key (srv_dispatch lets everything
 * through while keys are off). */
static enum srv_role bearer_role(const struct srv *s, const char *auth)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        return SRV_ROLE_NONE;
    }
    const char *key = auth + 7;
    key += strspn(key, " ");
    size_t len = strlen(key);
    while (len && key[len - 1] == ' ') {
        len--;
    }
    return srv_key_role(s, key, len);
}

/* GET /metrics (srv_metrics.c): a search or admin key when keys are on, like stats. */
static void answer_metrics(struct srv *s, struct srv_job *job, bool is_get)
{
    job->is_metrics = true;
    if (!is_get) {
        srv_job_fail(job, PROTO_METHOD_NOT_ALLOWED, "/metrics answers GET and HEAD");
        job->allow = "GET, HEAD";
        return;
    }
    if (srv_keys_on(s) && job->role == SRV_ROLE_NONE) {
        srv_job_fail(job, PROTO_UNAUTHORIZED,
                     "/metrics needs a search or admin key: "
                     "'Authorization: Bearer KEY'");
        return;
    }
    srv_metrics_answer(s, job);
}

/* Requests answered without the API's router: a CORS preflight and the page's
 * assets. True when job holds the answer. */
/* Whether the Host header names this machine's loopback as no other site can: localhost (or
 * a name under .localhost, which resolvers keep on loopback), or an IP address. A page of
 * evil.example whose name is made to resolve to 127.0.0.1 (DNS rebinding) sends its own name,
 * and its scripts may read the answers as same-origin ones. */
static bool host_is_loopback_name(const char *host)
{
    size_t len = strlen(host);
    if (host[0] == '[') {
        return true; /* an IPv6 literal, "[::1]:7700" */
    }
    const char *colon = strrchr(host, ':');
    if (colon) {
        len = (size_t)(colon - host);
    }
    while (len > 0 && host[len - 1] == '.') {
        len--; /* "localhost." is localhost */
    }
    char name[256];
    if (len == 0 || len >= sizeof name) {
        return false;
    }
    memcpy(name, host, len);
    name[len] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, name, &v4) == 1) {
        return true;
    }
    static const char suffix[] = ".localhost";
    size_t n = sizeof suffix - 1;
    return strcasecmp(name, "localhost") == 0 ||
           (len > n && strcasecmp(name + len - n, suffix) == 0);
}

static bool answer_before_routing(struct srv *s, struct srv_job *job, const struct srv_frame *f)
{
    /* A loopback searchd without keys trusts whoever reaches it: only programs of this
     * machine, as a rule, but also any website a user of it visits, if the site's name is made
     * to resolve to 127.0.0.1 (DNS rebinding): the browser then calls the site itself and
     * lets its scripts read the archive. Such a request names the site in Host; any other
     * name is refused there. With keys on, a key is what guards. */
    const char *host = f->header[SRV_H_HOST];
    if (host && job->conn->is_loopback && !srv_keys_on(s) && !host_is_loopback_name(host)) {
        srv_job_fail(job, PROTO_FORBIDDEN_HOST,
                     "this searchd has no API keys and answers on loopback only to requests for "
                     "localhost or an IP address (see README: Operating); Host names another");
        return true;
    }
    const char *why = NULL;
    enum proto_code rc =
        srv_keys_check_origin(s, job->role, f->header[SRV_H_ORIGIN], job->conn->peer, &why);
    if (rc) {
        srv_job_fail(job, rc, why);
        return true;
    }
    if (f->method == PROTO_OPTIONS && f->header[SRV_H_ORIGIN] && f->header[SRV_H_ACR_METHOD]) {
        job->is_cors_preflight = true; /* counted as one, refused or not (srv_metrics.c) */
        if (!job->allow_origin) {
            srv_job_fail(job, PROTO_FORBIDDEN_ORIGIN, "this origin may not call searchd "
                                                      "(see --cors-origins)");
            return true;
        }
        job->is_preflight = true;
        job->status = 204;
        return true;
    }
    /* A page on another origin may send a POST (a form, or fetch with a text/plain body) without
     * a preflight: the browser only hides the answer from it, after the server has carried the
     * request out. So any website a user of this machine visits could add documents or take
     * snapshots on a loopback searchd, which has no keys by default (cross-site request
     * forgery). A browser names the page's origin on such a request; one not allowed by
     * --cors-origins may only read (GET, HEAD). Clients that are not browsers send no Origin,
     * and searchd's own page only reads. */
    if (f->header[SRV_H_ORIGIN] && !job->allow_origin && f->method != PROTO_GET &&
        f->method != PROTO_HEAD && f->method != PROTO_OPTIONS) {
        srv_job_fail(job, PROTO_FORBIDDEN_ORIGIN,
                     "this origin may not write to searchd (see --cors-origins): a page on an "
                     "origin not allowed may only read");
        return true;
    }
    char path[64];
    bool is_get = f->method == PROTO_GET || f->method == PROTO_HEAD;
    if (!target_path(f, path, sizeof path)) {
        return false;
    }
    if (strcmp(path, "/metrics") == 0) {
        answer_metrics(s, job, is_get);
        return true;
    }
    if (!s->cfg.web) {
        return false;
    }
    job->asset = web_find(path);
    if (!job->asset) {
        return false;
    }
    if (!is_get) {
        job->asset = NULL;
        job->allow = "GET, HEAD";
        srv_job_fail(job, PROTO_METHOD_NOT_ALLOWED, "the page's files are read with GET");
        return true;
    }
    job->status = web_not_modified(job->asset, f->header[SRV_H_IF_NONE_MATCH]) ? 304 : 200;
    return true;
}

static void http_request(struct srv_conn *c, const struct srv_frame *f)
{
    struct srv_job *job = srv_conn_job(c, f->len);
    if (!job) {
        srv_conn_fail_stream(c, PROTO_INTERNAL, "out of memory");
        return;
    }
    job->is_head = f->method == PROTO_HEAD;
    job->is_http10 = f->is_http10;
    if (!f->keep_alive) {
        job->must_close = true;
        srv_conn_stop_reading(c); /* this is the connection's last request */
    }
    struct srv *s = c->srv;
    if (s->is_draining) {
        job->must_close = true;
        srv_job_fail(job, PROTO_BUSY, "the server is shutting down");
        srv_complete(job);
        return;
    }
    job->allow_origin = srv_cors_allow(s, f->header[SRV_H_ORIGIN]);
    job->role = bearer_role(s, f->header[SRV_H_AUTHORIZATION]);
    if (answer_before_routing(s, job, f)) {
        srv_complete(job);
        return;
    }
    struct srv_raw raw = {.is_http = true,
                          .method = f->method,
                          .target = f->target,
                          .target_len = f->target_len,
                          .data = f->data,
                          .len = f->len};
    srv_parse_request(job, &raw);
}

static void http_process(struct srv_conn *c)
{
    struct srv_http_reader *r = &c->rd.http;
    while (srv_conn_can_take(c)) {
        struct srv_frame f;
        enum srv_frame_rc rc = srv_hr_next(r, &f);
        if (rc == SRV_FRAME_MORE) {
            if (srv_hr_take_continue(r) && c->npending == 0) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                bufferevent_write(c->bev, cont, sizeof cont - 1);
            }
            return;
        }
        if (rc == SRV_FRAME_ERROR) {
            srv_conn_fail_stream(c, f.code, f.msg);
            return;
        }
        http_request(c, &f);
    }
}

/* The client closed its side: a request it did not finish is dropped (no
 * answer could reach it in a form it waits for). */
static void http_finish(struct srv_conn *c)
{
    if (srv_hr_is_mid_request(&c->rd.http)) {
        log_debug("event=partial_request proto=http peer=%s", c->peer);
    }
}

const struct srv_proto_ops srv_http_ops = {
    .name = "http",
    .proto = SRV_PROTO_HTTP,
    .init = http_init,
    .free = http_free,
    .feed = http_feed,
    .process = http_process,
    .finish = http_finish,
    .held = http_held,
    .write_answer = http_write_answer,
    .encode_refusal = http_encode_refusal,
};
