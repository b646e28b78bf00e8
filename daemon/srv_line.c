/*
 * srv_line.c: the line protocol (TCP and Unix socket), as a struct
 * srv_proto_ops for the connection layer (srv_conn.c).
 *
 * Wire format (docs/PROTOCOL.md): one JSON object per line each way, '\n'
 * terminated, an optional '\r' before it; blank lines (nothing, or only
 * spaces and tabs) are ignored. Answers are written in request order (the
 * connection's FIFO).
 *
 * Framing is srv_frame.c's line reader: linear in the bytes received,
 * whatever their split, and at most --max-request bytes of a line held.
 * When the unfinished line grows past --max-request the stream is broken:
 * one too_large error line is queued after the answers already pending,
 * and the connection is closed once it is written. Each complete line is
 * parsed once by proto_parse_line, in place in the reader's buffer.
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "log.h"
#include "srv_int.h"

static void line_init(struct srv_conn *c)
{
    srv_lr_init(&c->rd.line, c->srv->cfg.max_request);
}

static void line_free(struct srv_conn *c)
{
    srv_lr_free(&c->rd.line);
}

static int line_feed(struct srv_conn *c, const void *data, size_t len)
{
    return srv_lr_feed(&c->rd.line, data, len);
}

static size_t line_held(const struct srv_conn *c)
{
    return srv_lr_held(&c->rd.line);
}

/* One framed request line (borrowed for the call). */
static void line_request(struct srv_conn *c, const char *line, size_t len)
{
    struct srv_job *job = srv_conn_job(c, len);
    if (!job) {
        srv_conn_fail_stream(c, PROTO_INTERNAL, "out of memory");
        return;
    }
    if (c->srv->is_draining) {
        srv_job_fail(job, PROTO_BUSY, "the server is shutting down");
        srv_complete(job);
        return;
    }
    struct srv_raw raw = {.data = line, .len = len};
    srv_parse_request(job, &raw);
}

static void line_handle(struct srv_conn *c, enum srv_frame_rc rc, const struct srv_frame *f)
{
    if (rc == SRV_FRAME_REQUEST) {
        line_request(c, f->data, f->len);
    } else if (rc == SRV_FRAME_ERROR) {
        srv_conn_fail_stream(c, f->code, f->msg);
    }
}

static void line_process(struct srv_conn *c)
{
    while (srv_conn_can_take(c)) {
        struct srv_frame f;
        enum srv_frame_rc rc = srv_lr_next(&c->rd.line, &f);
        if (rc == SRV_FRAME_MORE) {
            return;
        }
        line_handle(c, rc, &f);
    }
}

static void line_finish(struct srv_conn *c)
{
    struct srv_frame f;
    line_handle(c, srv_lr_finish(&c->rd.line, &f), &f);
}

static void line_write_answer(struct srv_conn *c, struct srv_job *job, struct evbuffer *out)
{
    (void)c;
    srv_conn_add_answer(out, job); /* the JSON text already ends with '\n' */
}

static void line_encode_refusal(struct sd_buf *out, enum proto_code code, const char *msg)
{
    proto_encode_error(out, code, msg);
    sd_buf_put(out, "\n", 1);
}

const struct srv_proto_ops srv_line_ops = {
    .name = "line",
    .proto = SRV_PROTO_LINE,
    .init = line_init,
    .free = line_free,
    .feed = line_feed,
    .process = line_process,
    .finish = line_finish,
    .held = line_held,
    .write_answer = line_write_answer,
    .encode_refusal = line_encode_refusal,
};
