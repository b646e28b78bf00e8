/*
 * srv_frame.c: the line and HTTP readers of srv_frame.h: bytes in, framed
 * requests or one framing error out, no socket.
 *
 * Line reader. The bytes fed are appended to one buffer. The reader keeps
 * two offsets: start (the first byte not handed out) and scanned (how far
 * past start it has already searched for '\n'), so a line that arrives in a
 * million pieces is searched once, not once per piece (the old reader
 * searched from the start of its buffer on every read: 5.2 s of CPU for a
 * 31 MiB line). Lines handed out are left in place; the next feed moves the
 * unfinished tail to the front, so each byte moves at most once. A line is at
 * most max_line bytes (plus a '\r' before its '\n'); as soon as the
 * unfinished line is longer, the stream is broken with too_large, whatever
 * comes after.
 *
 * HTTP reader. nodejs http-parser is streaming and keeps its state between
 * calls, so each byte is parsed once; it rejects a repeated or conflicting
 * Content-Length, Content-Length with Transfer-Encoding, a Transfer-Encoding
 * that does not end in chunked, bad chunk sizes and bad tokens, and decodes
 * chunked bodies. It pauses at the end of each message (http_parser_pause in
 * on_message_complete) so pipelined requests come out one at a time. On top
 * of it: the request line and headers are at most max_head bytes (431
 * head_too_large), a body at most max_body (413 too_large, refused from its
 * Content-Length before it is read), and the few headers the server acts on
 * (enum srv_header: Expect, CORS, If-None-Match, Authorization, Host,
 * Transfer-Encoding) are kept, at most SRV_HEADER_MAX bytes each (431 over it)
 * and once each (a repeated one is 400 bad_http: two Origins or two keys have
 * no single meaning).
 *
 * Where http-parser is lenient, the reader is strict, so that searchd and a proxy in front of it
 * cannot frame the same bytes differently (request smuggling). http-parser reads
 * "Transfer-Encoding : chunked" as Transfer-Encoding (a space ends its match of a name) and
 * joins a value folded onto the next line (obs-fold: a line that begins with a space or a tab)
 * to the line before; a proxy may read the first as an unknown header and the second as an
 * empty value, so the body of one is a request to the other. Both are 400 bad_http (RFC 9112
 * 5.1 and 5.2 allow nothing else but a repair). A fold shows only in what the parser skips:
 * between a header's name, or the last piece of its value, and the next piece of its value
 * there is a line end (gap_from, has_gap_lf). And the fields after a chunked body (trailers)
 * are not headers (RFC 9110 6.5.1): none is kept, so a key or an Origin there is nobody's.
 * An HTTP/1.1 request without Host is 400 bad_http (RFC 9112 3.2 says MUST); HTTP/1.0 may
 * leave it out. HTTP/1.0 has no chunked bodies: a 1.0 request with Transfer-Encoding is framed by a
 * proxy of that version as one without a body, so it is 400 too (RFC 9112 6.1: faulty framing). A
 * Transfer-Encoding other than "chunked" alone is 400 too: http-parser accepts any list that ends
 * in chunked ("gzip, chunked") and decodes only the chunks, and no other coding is decoded here.
 */
#include "srv_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Above this, a reader that holds nothing gives its buffer back: one large
 * request must not pin its memory to an idle connection. */
#define SRV_FRAME_KEEP_BYTES (64u << 10)

static enum srv_frame_rc frame_error(struct srv_frame *saved, struct srv_frame *f,
                                     enum proto_code code, int status, const char *msg)
{
    memset(saved, 0, sizeof *saved);
    saved->code = code;
    saved->status = status;
    snprintf(saved->msg, sizeof saved->msg, "%s", msg);
    *f = *saved;
    return SRV_FRAME_ERROR;
}

/* ---- line reader ---- */

void srv_lr_init(struct srv_line_reader *r, size_t max_line)
{
    memset(r, 0, sizeof *r);
    sd_buf_init(&r->buf);
    r->max_line = max_line;
}

void srv_lr_free(struct srv_line_reader *r)
{
    size_t max = r->max_line;
    sd_buf_free(&r->buf);
    srv_lr_init(r, max);
}

size_t srv_lr_held(const struct srv_line_reader *r)
{
    return r->buf.len - r->start;
}

int srv_lr_feed(struct srv_line_reader *r, const void *data, size_t len)
{
    if (r->is_broken || len == 0) {
        return SD_OK;
    }
    if (r->start > 0) { /* move the unfinished tail to the front, once */
        r->work += r->buf.len - r->start;
        memmove(r->buf.data, r->buf.data + r->start, r->buf.len - r->start);
        r->buf.len -= r->start;
        r->start = 0;
    }
    sd_buf_put(&r->buf, data, len);
    return r->buf.rc;
}

static enum srv_frame_rc lr_too_large(struct srv_line_reader *r, struct srv_frame *f)
{
    char msg[96];
    snprintf(msg, sizeof msg, "request line over the size limit of %zu bytes", r->max_line);
    r->is_broken = true;
    sd_buf_free(&r->buf);
    r->start = r->scanned = 0;
    return frame_error(&r->error, f, PROTO_TOO_LARGE, 413, msg);
}

/* A line of nothing but spaces, tabs and a '\r' asks nothing: it gets no answer, as an
 * empty line does (a whitespace-only line used to get bad_json, an empty one nothing). */
static bool is_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            return false;
        }
    }
    return true;
}

/* A line of len bytes is acceptable: max_line, or one more for a '\r'. */
static bool line_fits(const struct srv_line_reader *r, const char *p, size_t len)
{
    return len <= r->max_line || (len == r->max_line + 1 && p[len - 1] == '\r');
}

enum srv_frame_rc srv_lr_next(struct srv_line_reader *r, struct srv_frame *f)
{
    if (r->is_broken) {
        *f = r->error;
        return SRV_FRAME_ERROR;
    }
    for (;;) {
        size_t avail = r->buf.len - r->start;
        if (avail == 0) { /* (and buf.data may be NULL: no pointer arithmetic on it) */
            if (r->buf.cap > SRV_FRAME_KEEP_BYTES) {
                sd_buf_free(&r->buf);
                r->start = r->scanned = 0;
            }
            return SRV_FRAME_MORE;
        }
        const char *base = (const char *)r->buf.data + r->start;
        const char *nl = memchr(base + r->scanned, '\n', avail - r->scanned);
        r->work += (uint64_t)(nl ? (size_t)(nl - base) + 1 : avail) - r->scanned;
        if (!nl) {
            r->scanned = avail;
            if (avail > r->max_line + 1) {
                return lr_too_large(r, f);
            }
            return SRV_FRAME_MORE;
        }
        size_t len = (size_t)(nl - base);
        if (!line_fits(r, base, len)) {
            return lr_too_large(r, f);
        }
        r->start += len + 1;
        r->scanned = 0;
        if (!is_blank(base, len)) {
            memset(f, 0, sizeof *f);
            f->data = base;
            f->len = len;
            return SRV_FRAME_REQUEST;
        }
    }
}

enum srv_frame_rc srv_lr_finish(struct srv_line_reader *r, struct srv_frame *f)
{
    enum srv_frame_rc rc = srv_lr_next(r, f);
    if (rc != SRV_FRAME_MORE) {
        return rc;
    }
    size_t avail = r->buf.len - r->start;
    if (avail == 0) {
        return SRV_FRAME_MORE;
    }
    const char *base = (const char *)r->buf.data + r->start;
    r->start = r->buf.len;
    r->scanned = 0;
    if (is_blank(base, avail)) {
        return SRV_FRAME_MORE;
    }
    if (!line_fits(r, base, avail)) {
        return lr_too_large(r, f);
    }
    memset(f, 0, sizeof *f);
    f->data = base;
    f->len = avail;
    return SRV_FRAME_REQUEST;
}

/* ---- HTTP reader ---- */

static struct srv_http_reader *reader_of(http_parser *p)
{
    return p->data;
}

/* A callback's failure: remembered, so the error says what we refused and
 * not just "the on_url callback failed". */
static int hr_refuse(struct srv_http_reader *r, enum proto_code code, int status, const char *msg)
{
    struct srv_frame ignored;
    frame_error(&r->error, &ignored, code, status, msg);
    return -1;
}

static int hr_count_head(struct srv_http_reader *r, size_t len)
{
    r->head_len += len;
    if (r->head_len > r->max_head) {
        char msg[96];
        snprintf(msg, sizeof msg, "request line and headers over %zu bytes", r->max_head);
        return hr_refuse(r, PROTO_HEAD_TOO_LARGE, 431, msg);
    }
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct srv_http_reader *r = reader_of(p);
    sd_buf_reset(&r->target);
    sd_buf_reset(&r->body);
    r->head_len = 0;
    r->is_in_message = true;
    r->field_len = 0;
    memset(r->value_len, 0, sizeof r->value_len);
    memset(r->has_value, 0, sizeof r->has_value);
    r->is_in_value = r->has_continue = r->wants_continue = false;
    r->is_past_head = r->has_gap_lf = false;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct srv_http_reader *r = reader_of(p);
    if (hr_count_head(r, len)) {
        return -1;
    }
    sd_buf_put(&r->target, at, len);
    return r->target.rc ? hr_refuse(r, PROTO_INTERNAL, 500, "out of memory") : 0;
}

static const char *const header_names[SRV_NHEADERS] = {
    [SRV_H_EXPECT] = "expect",
    [SRV_H_ORIGIN] = "origin",
    [SRV_H_ACR_METHOD] = "access-control-request-method",
    [SRV_H_ACR_HEADERS] = "access-control-request-headers",
    [SRV_H_IF_NONE_MATCH] = "if-none-match",
    [SRV_H_AUTHORIZATION] = "authorization",
    [SRV_H_HOST] = "host",
    [SRV_H_TRANSFER_ENCODING] = "transfer-encoding",
};

/* The header whose name was just read, or -1 for one the server ignores. */
static int header_of(const struct srv_http_reader *r)
{
    if (r->field_len > sizeof r->field) {
        return -1;
    }
    for (int h = 0; h < SRV_NHEADERS; h++) {
        if (strlen(header_names[h]) == r->field_len &&
            strncasecmp(r->field, header_names[h], r->field_len) == 0) {
            return h;
        }
    }
    return -1;
}

/* The end of a header's value. */
static void end_header(struct srv_http_reader *r)
{
    if (r->is_in_value && r->which >= 0) {
        int h = r->which;
        /* http-parser skips the spaces before a value but keeps those after it, which are not
         * part of it (RFC 9110 5.5): "Host: localhost " was refused as another host, and
         * "Expect: 100-continue " got no 100 */
        while (r->value_len[h] > 0 && (r->value[h][r->value_len[h] - 1] == ' ' ||
                                       r->value[h][r->value_len[h] - 1] == '\t')) {
            r->value_len[h]--;
        }
        r->value[h][r->value_len[h]] = '\0';
        if (h == SRV_H_EXPECT) {
            r->has_continue = r->value_len[h] == 12 && strcasecmp(r->value[h], "100-continue") == 0;
        }
    }
    r->is_in_value = false;
    r->field_len = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct srv_http_reader *r = reader_of(p);
    bool is_new = r->is_in_value || r->field_len == 0; /* not a later piece of one name */
    if (hr_count_head(r, len + (is_new ? 4 : 0))) {    /* + ": " and "\r\n" */
        return -1;
    }
    if (memchr(at, ' ', len)) { /* http-parser refuses a tab, not a space */
        return hr_refuse(r, PROTO_BAD_HTTP, 400,
                         "malformed HTTP request: white space in a header name or before its "
                         "colon, or a header line that begins with it");
    }
    r->gap_from = at + len;
    r->has_gap_lf = false;
    if (r->is_in_value) { /* a new header begins */
        end_header(r);
    }
    if (r->field_len + len <= sizeof r->field) {
        memcpy(r->field + r->field_len, at, len);
    }
    r->field_len += len; /* past sizeof field: a name we do not look at */
    return 0;
}

/* Whether a piece of a header's value begins on a line of its own: obs-fold (see the top). An
 * empty value is read as an empty piece at the next line's start, and is none. */
static bool is_folded(struct srv_http_reader *r, const char *at, size_t len)
{
    bool has_lf = r->has_gap_lf;
    if (len > 0 && !has_lf && r->gap_from && at > r->gap_from) {
        has_lf = memchr(r->gap_from, '\n', (size_t)(at - r->gap_from)) != NULL;
    }
    r->gap_from = at + len;
    r->has_gap_lf = false;
    return len > 0 && has_lf;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct srv_http_reader *r = reader_of(p);
    if (hr_count_head(r, len)) {
        return -1;
    }
    if (is_folded(r, at, len)) {
        return hr_refuse(r, PROTO_BAD_HTTP, 400,
                         "malformed HTTP request: a header value folded onto a line of its own "
                         "(obs-fold); send each header on one line");
    }
    if (!r->is_in_value) {
        r->is_in_value = true;
        r->which = r->is_past_head ? -1 : header_of(r); /* a trailer is not a header */
        if (r->which >= 0) {
            if (r->has_value[r->which]) {
                char msg[96];
                snprintf(msg, sizeof msg, "header %s given twice", header_names[r->which]);
                return hr_refuse(r, PROTO_BAD_HTTP, 400, msg);
            }
            r->has_value[r->which] = true;
        }
    }
    if (r->which >= 0) { /* the value may come in pieces */
        int h = r->which;
        if (len > SRV_HEADER_MAX - r->value_len[h]) {
            char msg[96];
            snprintf(msg, sizeof msg, "header %s over %u bytes", header_names[h], SRV_HEADER_MAX);
            return hr_refuse(r, PROTO_HEAD_TOO_LARGE, 431, msg);
        }
        memcpy(r->value[h] + r->value_len[h], at, len);
        r->value_len[h] += len;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct srv_http_reader *r = reader_of(p);
    end_header(r);
    r->is_past_head = true;
    if (p->http_major != 1) { /* http-parser reads "GET /x" without a version as HTTP/0.9 */
        return hr_refuse(r, PROTO_BAD_HTTP, 400, "malformed HTTP request: HTTP/1.0 or 1.1 only");
    }
    /* RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host (a proxy and
     * the server could take it for different sites); an empty value is a Host, and HTTP/1.0
     * predates the header */
    if (p->http_minor >= 1 && !r->has_value[SRV_H_HOST]) {
        return hr_refuse(r, PROTO_BAD_HTTP, 400,
                         "malformed HTTP request: an HTTP/1.1 request without a Host header");
    }
    bool is_chunked = (p->flags & F_CHUNKED) != 0;
    if (is_chunked && p->http_minor == 0) { /* RFC 9112 6.1: its framing is faulty */
        return hr_refuse(r, PROTO_BAD_HTTP, 400,
                         "malformed HTTP request: Transfer-Encoding in an HTTP/1.0 request, "
                         "which has no chunked bodies");
    }
    /* http-parser takes any list that ends in chunked and decodes the chunks only: the body of
     * "gzip, chunked" would be read as if it were not compressed */
    if (r->has_value[SRV_H_TRANSFER_ENCODING] && /* the value without spaces (end_header) */
        strcasecmp(r->value[SRV_H_TRANSFER_ENCODING], "chunked") != 0) {
        return hr_refuse(r, PROTO_BAD_HTTP, 400,
                         "Transfer-Encoding: only chunked is decoded (no compression)");
    }
    r->keep_alive = http_should_keep_alive(p) != 0;
    if (!is_chunked && p->content_length != UINT64_MAX && p->content_length > r->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body of %llu bytes is over the limit of %zu",
                 (unsigned long long)p->content_length, r->max_body);
        return hr_refuse(r, PROTO_TOO_LARGE, 413, msg);
    }
    bool has_body = is_chunked || (p->content_length != UINT64_MAX && p->content_length > 0);
    /* HTTP/1.0 has no 1xx answers: such a client could take "100 Continue" for the answer, so
     * its Expect is ignored (RFC 9110 10.1.1) and it sends its body when it will */
    r->wants_continue = r->has_continue && has_body && p->http_minor >= 1;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct srv_http_reader *r = reader_of(p);
    r->wants_continue = false;
    if (len > r->max_body - r->body.len) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body over the limit of %zu bytes", r->max_body);
        return hr_refuse(r, PROTO_TOO_LARGE, 413, msg);
    }
    sd_buf_put(&r->body, at, len);
    return r->body.rc ? hr_refuse(r, PROTO_INTERNAL, 500, "out of memory") : 0;
}

/* A chunk's size is known before its bytes: refuse a body over the limit
 * before reading it. */
static int on_chunk_header(http_parser *p)
{
    struct srv_http_reader *r = reader_of(p);
    if (p->content_length > r->max_body - r->body.len) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body over the limit of %zu bytes", r->max_body);
        return hr_refuse(r, PROTO_TOO_LARGE, 413, msg);
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct srv_http_reader *r = reader_of(p);
    r->is_complete = true;
    r->is_in_message = false;
    r->wants_continue = false;
    http_parser_pause(p, 1); /* hand this request out before parsing the next */
    return 0;
}

static const http_parser_settings hr_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
};

void srv_hr_init(struct srv_http_reader *r, size_t max_head, size_t max_body)
{
    memset(r, 0, sizeof *r);
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    sd_buf_init(&r->raw);
    sd_buf_init(&r->target);
    sd_buf_init(&r->body);
    r->max_head = max_head;
    r->max_body = max_body;
}

void srv_hr_free(struct srv_http_reader *r)
{
    size_t max_head = r->max_head, max_body = r->max_body;
    sd_buf_free(&r->raw);
    sd_buf_free(&r->target);
    sd_buf_free(&r->body);
    srv_hr_init(r, max_head, max_body);
}

size_t srv_hr_held(const struct srv_http_reader *r)
{
    size_t in_message = r->head_len + r->body.len;
    if (r->is_in_message && in_message == 0) {
        in_message = 1; /* "G": a request has begun, its clock runs */
    }
    return (r->raw.len - r->raw_pos) + in_message;
}

bool srv_hr_take_continue(struct srv_http_reader *r)
{
    bool v = r->wants_continue;
    r->wants_continue = false;
    return v;
}

bool srv_hr_is_mid_request(const struct srv_http_reader *r)
{
    return r->is_in_message || r->raw.len > r->raw_pos;
}

int srv_hr_feed(struct srv_http_reader *r, const void *data, size_t len)
{
    if (r->is_broken || len == 0) {
        return SD_OK;
    }
    if (r->raw_pos > 0) {
        r->work += r->raw.len - r->raw_pos;
        memmove(r->raw.data, r->raw.data + r->raw_pos, r->raw.len - r->raw_pos);
        r->raw.len -= r->raw_pos;
        r->raw_pos = 0;
    }
    sd_buf_put(&r->raw, data, len);
    return r->raw.rc;
}

static enum proto_method method_of(unsigned m)
{
    switch (m) {
    case HTTP_GET:
        return PROTO_GET;
    case HTTP_HEAD:
        return PROTO_HEAD;
    case HTTP_POST:
        return PROTO_POST;
    case HTTP_DELETE:
        return PROTO_DELETE;
    case HTTP_PUT:
        return PROTO_PUT;
    case HTTP_PATCH:
        return PROTO_PATCH;
    case HTTP_OPTIONS:
        return PROTO_OPTIONS;
    default:
        return PROTO_OTHER;
    }
}

static enum srv_frame_rc hr_broken(struct srv_http_reader *r, struct srv_frame *f)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (r->error.code == PROTO_OK) { /* the parser refused, not one of our callbacks */
        char msg[160];
        snprintf(msg, sizeof msg, "malformed HTTP request: %s", http_errno_description(e));
        if (e == HPE_HEADER_OVERFLOW) {
            frame_error(&r->error, f, PROTO_HEAD_TOO_LARGE, 431, msg);
        } else if (e == HPE_INVALID_CONTENT_LENGTH && (r->parser.flags & F_CHUNKED)) {
            /* http-parser's words for a chunk size past 2^64: a chunk over the limit, as a
             * smaller one is refused by on_chunk_header */
            snprintf(msg, sizeof msg, "request body over the limit of %zu bytes", r->max_body);
            frame_error(&r->error, f, PROTO_TOO_LARGE, 413, msg);
        } else {
            frame_error(&r->error, f, PROTO_BAD_HTTP, 400, msg);
        }
    }
    r->is_broken = true;
    sd_buf_free(&r->raw);
    sd_buf_free(&r->target);
    sd_buf_free(&r->body);
    r->raw_pos = 0;
    r->head_len = 0;
    *f = r->error;
    return SRV_FRAME_ERROR;
}

static void hr_frame(struct srv_http_reader *r, struct srv_frame *f)
{
    memset(f, 0, sizeof *f);
    f->method = method_of(r->parser.method);
    f->target = r->target.len ? (const char *)r->target.data : "";
    f->target_len = r->target.len;
    f->data = r->body.len ? (const char *)r->body.data : "";
    f->len = r->body.len;
    f->keep_alive = r->keep_alive;
    f->is_http10 = r->parser.http_major == 1 && r->parser.http_minor == 0;
    for (int h = 0; h < SRV_NHEADERS; h++) {
        f->header[h] = r->has_value[h] ? r->value[h] : NULL;
    }
}

enum srv_frame_rc srv_hr_next(struct srv_http_reader *r, struct srv_frame *f)
{
    if (r->is_broken) {
        *f = r->error;
        return SRV_FRAME_ERROR;
    }
    if (r->is_complete) { /* the last request was handed out: forget it */
        r->is_complete = false;
        r->head_len = 0;
        sd_buf_reset(&r->target);
        sd_buf_reset(&r->body);
        http_parser_pause(&r->parser, 0);
    }
    size_t avail = r->raw.len - r->raw_pos;
    if (avail > 0) {
        const char *from = (const char *)r->raw.data + r->raw_pos;
        r->gap_from = from;
        size_t n = http_parser_execute(&r->parser, &hr_settings, from, avail);
        /* the bytes skipped at the end of these go before the next value, in bytes to come */
        if (r->gap_from < from + n && memchr(r->gap_from, '\n', (size_t)(from + n - r->gap_from))) {
            r->has_gap_lf = true;
        }
        r->gap_from = NULL; /* it pointed into raw, which the next feed moves */
        r->raw_pos += n;
        r->work += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
        if (e != HPE_OK && e != HPE_PAUSED) {
            return hr_broken(r, f);
        }
    }
    if (r->is_complete) {
        hr_frame(r, f);
        return SRV_FRAME_REQUEST;
    }
    if (r->raw_pos == r->raw.len && r->raw.cap > SRV_FRAME_KEEP_BYTES) {
        sd_buf_free(&r->raw);
        r->raw_pos = 0;
    }
    if (!srv_hr_is_mid_request(r)) {
        if (r->body.cap > SRV_FRAME_KEEP_BYTES) {
            sd_buf_free(&r->body);
        }
    }
    return SRV_FRAME_MORE;
}
