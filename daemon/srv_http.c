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
 *   Content-Type: application/json\r\n
 *   Content-Length: <n>\r\n
 *   [Allow: <methods>\r\n]           405 only
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
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "srv_int.h"

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
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
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

static void put_head(struct evbuffer *out, int status, size_t body_len, const char *allow,
                     const char *connection)
{
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n%s%s%s%s%s%s\r\n",
                        status, reason(status), body_len, allow ? "Allow: " : "",
                        allow ? allow : "", allow ? "\r\n" : "", connection ? "Connection: " : "",
                        connection ? connection : "", connection ? "\r\n" : "");
}

static void http_write_answer(struct srv_conn *c, struct srv_job *job, struct evbuffer *out)
{
    const char *connection = NULL;
    if (job->must_close || c->is_closing) {
        connection = "close";
    } else if (job->is_http10) {
        connection = "keep-alive";
    }
    put_head(out, job->status, job->out.len, job->allow, connection);
    if (!job->is_head) {
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
    char head[192];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason(status), body.len);
    sd_buf_put(out, head, (size_t)n);
    sd_buf_put(out, body.data, body.len);
    if (body.rc) {
        out->rc = body.rc;
    }
    sd_buf_free(&body);
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
    struct proto_error err;
    enum proto_code rc =
        proto_parse_http(f->method, f->target, f->target_len, f->data, f->len, &job->req, &err);
    if (rc) {
        srv_job_fail(job, rc, err.msg);
        job->allow = err.allow;
        srv_complete(job);
        return;
    }
    srv_dispatch(s, job);
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
