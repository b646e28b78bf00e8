/*
 * sq_pipe.c: requests out, answers in, and the bookkeeping that makes pipelining safe.
 *
 * A request is a JSON object serialized on one line (json-c never emits a raw newline inside a
 * string, so the serialized form is always a single line). An answer is {"ok":true,...} or
 * {"ok":false,"error":{"code":"...","message":"..."}}; the second is SQ_ESERVER with the code
 * and message copied into struct sq_error.
 *
 * The server answers in request order, so the connection keeps a ring of the byte lengths of
 * the requests it sent and has not read an answer to: sq_recv pops the oldest. A send that
 * would take the bytes (or the count) in flight over the bound is refused while anything is in
 * flight: a client that only writes while the server's answers fill its socket buffer would
 * otherwise deadlock both. One request alone may be larger than the bound (it is then the
 * only one in flight).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq_int.h"

/* Plain (one line), and no "\/" escaping so that the wire stays readable in logs. */
#define PIPE_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

bool sq_can_send(const struct sq_conn *c, size_t len)
{
    if (c->inflight == 0) {
        return true;
    }
    if (c->max_inflight && c->inflight >= c->max_inflight) {
        return false;
    }
    /* inflight_bytes passes the bound only when one large request is alone in flight */
    return c->inflight_bytes <= c->max_inflight_bytes &&
           len <= c->max_inflight_bytes - c->inflight_bytes;
}

size_t sq_inflight(const struct sq_conn *c)
{
    return c->inflight;
}

/* Records a request of len bytes as in flight. */
static int pipe_push(struct sq_conn *c, size_t len, struct sq_error *err)
{
    if (c->inflight == c->sizes_cap) {
        size_t cap = c->sizes_cap ? c->sizes_cap * 2 : 16;
        size_t *p = malloc(cap * sizeof *p);
        if (!p) {
            return sq_errorf(err, SQ_ENOMEM, "out of memory sending to %s", c->addr);
        }
        for (size_t i = 0; i < c->inflight; i++) {
            p[i] = c->sizes[(c->head + i) % c->sizes_cap];
        }
        free(c->sizes);
        c->sizes = p;
        c->sizes_cap = cap;
        c->head = 0;
    }
    c->sizes[(c->head + c->inflight) % c->sizes_cap] = len;
    c->inflight++;
    c->inflight_bytes += len;
    return SQ_OK;
}

static void pipe_pop(struct sq_conn *c)
{
    c->inflight_bytes -= c->sizes[c->head];
    c->head = (c->head + 1) % c->sizes_cap;
    c->inflight--;
}

int sq_send_line(struct sq_conn *c, const char *line, size_t len, struct sq_error *err)
{
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1)) {
        return sq_errorf(err, SQ_EARG, "a request must be one line ending in a newline");
    }
    if (!sq_can_send(c, len)) {
        return sq_errorf(err, SQ_ELIMIT,
                         "%s: %zu requests (%zu bytes) in flight: read answers before sending "
                         "%zu more bytes",
                         c->addr, c->inflight, c->inflight_bytes, len);
    }
    /* A connection with nothing in flight that the server has closed (idle for its
     * --idle-timeout, or a restart): said before anything is written, so the caller knows the
     * request was not sent (not in flight) and may send it again on a new connection. A write
     * would often "succeed" into the closed socket and leave the request's fate unknown. */
    if (c->inflight == 0 && sq_conn_peer_closed(c)) {
        return sq_errorf(err, SQ_ECONNECT,
                         "%s closed the connection while it was idle (the server's "
                         "--idle-timeout, or a restart); nothing was sent: connect again",
                         c->addr);
    }
    int rc = pipe_push(c, len, err);
    if (rc == SQ_OK) {
        /* Even a failed write may have reached the server: its answer stays expected. */
        rc = sq_conn_write(c, line, len, err);
    }
    return rc;
}

int sq_send(struct sq_conn *c, struct json_object *req, struct sq_error *err)
{
    if (!req) {
        return sq_errorf(err, SQ_ENOMEM, "out of memory building a request");
    }
    size_t len;
    const char *text = json_object_to_json_string_length(req, PIPE_JSON_FLAGS, &len);
    /* One write for line and newline keeps small requests in one TCP segment. */
    char *line = text ? malloc(len + 1) : NULL;
    if (!line) {
        return sq_errorf(err, SQ_ENOMEM, "out of memory building a request");
    }
    memcpy(line, text, len);
    line[len] = '\n';
    int rc = sq_send_line(c, line, len + 1, err);
    free(line);
    return rc;
}

/* Copies the error member of an {"ok":false} answer into err. */
static int pipe_server_error(struct json_object *answer, struct sq_error *err)
{
    struct json_object *e = NULL, *code = NULL, *msg = NULL;
    json_object_object_get_ex(answer, "error", &e);
    json_object_object_get_ex(e, "code", &code);
    json_object_object_get_ex(e, "message", &msg);
    sq_errorf(err, SQ_ESERVER, "%s", msg ? json_object_get_string(msg) : "");
    if (err) {
        snprintf(err->code, sizeof err->code, "%s", code ? json_object_get_string(code) : "");
    }
    return SQ_ESERVER;
}

int sq_parse_answer(const char *line, size_t len, const char *from, struct json_object **answer,
                    struct sq_error *err)
{
    *answer = NULL;
    if (len > (size_t)INT32_MAX) {
        return sq_errorf(err, SQ_EPROTO, "answer from %s too long to parse", from);
    }
    struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!tok) {
        return sq_errorf(err, SQ_ENOMEM, "out of memory parsing an answer");
    }
    struct json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!obj || jerr != json_tokener_success || end != len ||
        !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* the HTTP API's port, given by mistake */
            return sq_errorf(err, SQ_EPROTO,
                             "%s answered in HTTP: this is the line protocol's client, and "
                             "searchd serves it on the HTTP port + 1 unless told otherwise",
                             from);
        }
        return sq_errorf(err, SQ_EPROTO, "%s sent an answer that is not a JSON object: %.200s",
                         from, line);
    }
    *answer = obj;
    struct json_object *ok = NULL;
    if (!json_object_object_get_ex(obj, "ok", &ok) || !json_object_get_boolean(ok)) {
        return pipe_server_error(obj, err);
    }
    return SQ_OK;
}

int sq_recv(struct sq_conn *c, struct sq_reply *reply, struct sq_error *err)
{
    memset(reply, 0, sizeof *reply);
    if (c->inflight == 0) {
        return sq_errorf(err, SQ_EARG, "%s: no request in flight to read an answer to", c->addr);
    }
    char *line;
    size_t len;
    int rc = sq_conn_read_line(c, &line, &len, err);
    if (rc != SQ_OK) {
        return rc;
    }
    pipe_pop(c);
    reply->line = line;
    reply->len = len;
    return sq_parse_answer(line, len, c->addr, &reply->answer, err);
}

void sq_reply_free(struct sq_reply *reply)
{
    json_object_put(reply->answer);
    memset(reply, 0, sizeof *reply);
}

int sq_call(struct sq_conn *c, struct json_object *req, struct json_object **answer,
            struct sq_error *err)
{
    *answer = NULL;
    int rc = c->inflight ? sq_errorf(err, SQ_EARG, "%s: a call while answers are pending", c->addr)
                         : sq_send(c, req, err);
    json_object_put(req);
    if (rc != SQ_OK) {
        return rc;
    }
    struct sq_reply reply;
    rc = sq_recv(c, &reply, err);
    *answer = reply.answer;
    return rc;
}
