/*
 * srv_frame.h: request framing of both protocols without a socket (prefixes
 * srv_lr_ for the line reader, srv_hr_ for the HTTP reader).
 *
 * A reader is fed the bytes a connection received, in whatever pieces they
 * came, and hands out one framed request at a time, or one framing error
 * after which the stream is dead. The server feeds it from a bufferevent;
 * the unit tests and the fuzz targets (tests/fuzz/fuzz_*_framing.c) feed it
 * from memory. Both readers do work linear in the bytes fed, whatever the
 * split: each byte is copied in once, searched or parsed once, and moved at
 * most once (when the unfinished tail of the buffer is compacted).
 *
 * Calling pattern:
 *     feed(bytes); while (next(&f) == SRV_FRAME_REQUEST) { use f; }
 * A frame's pointers are valid until the next call of feed, next, finish or
 * free on the same reader. After SRV_FRAME_ERROR every later next() returns
 * the same error and feed() drops its bytes.
 */
#ifndef SEARCHD_SRV_FRAME_H
#define SEARCHD_SRV_FRAME_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum srv_frame_rc {
    SRV_FRAME_MORE = 0, /* no complete request buffered: feed more */
    SRV_FRAME_REQUEST,  /* the frame holds one request */
    SRV_FRAME_ERROR,    /* the stream is broken: code, status, msg say why */
};

/* The request headers the server acts on (HTTP only); every other header is
 * parsed and dropped. */
enum srv_header {
    SRV_H_EXPECT,            /* Expect: 100-continue */
    SRV_H_ORIGIN,            /* CORS */
    SRV_H_ACR_METHOD,        /* Access-Control-Request-Method: a CORS preflight */
    SRV_H_ACR_HEADERS,       /* Access-Control-Request-Headers */
    SRV_H_IF_NONE_MATCH,     /* a cached page asset's ETag */
    SRV_H_AUTHORIZATION,     /* Bearer API key */
    SRV_H_HOST,              /* the name the client addressed (DNS rebinding: srv_http.c) */
    SRV_H_TRANSFER_ENCODING, /* only "chunked" is decoded (srv_frame.c) */
    SRV_NHEADERS,
};
#define SRV_HEADER_MAX 512 /* bytes of one such value; longer: 431 head_too_large */

struct srv_frame {
    const char *data; /* line: the line without its '\n'; HTTP: the body */
    size_t len;
    /* HTTP only */
    const char *header[SRV_NHEADERS]; /* NUL-terminated values, NULL when absent */
    enum proto_method method;
    const char *target; /* the request target, "/search?q=x" (not NUL-terminated) */
    size_t target_len;
    bool keep_alive; /* HTTP/1.1 without "Connection: close", or 1.0 with keep-alive */
    bool is_http10;
    /* errors */
    enum proto_code code;
    int status; /* HTTP status of the error */
    char msg[160];
};

/* ---- line protocol: '\n'-terminated lines, blank lines skipped ---- */

struct srv_line_reader {
    struct sd_buf buf; /* owned: bytes fed and not yet handed out, from start */
    size_t start;      /* offset in buf of the first byte not handed out */
    size_t scanned;    /* bytes after start already searched for '\n' */
    size_t max_line;   /* longest line, without "\r\n" */
    uint64_t work;     /* bytes searched and moved so far: tests check it is linear */
    bool is_broken;
    struct srv_frame error;
};

void srv_lr_init(struct srv_line_reader *r, size_t max_line);
void srv_lr_free(struct srv_line_reader *r); /* then re-initialized; idempotent */
/* Copies data[0, len) (borrowed) in. SD_ENOMEM when out of memory. */
int srv_lr_feed(struct srv_line_reader *r, const void *data, size_t len);
enum srv_frame_rc srv_lr_next(struct srv_line_reader *r, struct srv_frame *f);
/* The peer closed: an unterminated last line is a request (MORE if none). */
enum srv_frame_rc srv_lr_finish(struct srv_line_reader *r, struct srv_frame *f);
/* Bytes held that no request handed out yet covers. */
size_t srv_lr_held(const struct srv_line_reader *r);

/* ---- HTTP/1.1: nodejs http-parser 2.9 (Debian libhttp-parser-dev) ---- */

struct srv_http_reader {
    http_parser parser;
    struct sd_buf raw; /* owned: bytes fed and not yet parsed, from raw_pos */
    size_t raw_pos;
    struct sd_buf target; /* owned: the current request's target */
    struct sd_buf body;   /* owned: its body (chunked bodies decoded) */
    size_t head_len;      /* bytes of its request line and headers so far */
    size_t max_head;      /* request line + headers */
    size_t max_body;
    uint64_t work;  /* bytes parsed and moved so far: tests check it is linear */
    char field[40]; /* the header name being read, if short */
    size_t field_len;
    int which;      /* the enum srv_header being read, -1: one we drop */
    char value[SRV_NHEADERS][SRV_HEADER_MAX + 1]; /* the values kept, NUL-terminated */
    size_t value_len[SRV_NHEADERS];
    bool has_value[SRV_NHEADERS];
    bool is_in_value;
    bool is_past_head;    /* the header section ended: fields now are trailers, not kept */
    const char *gap_from; /* in the bytes being parsed: the end of the last header name or
                           * value read (or their start): what the parser skipped since */
    bool has_gap_lf;      /* ... held a line end in bytes parsed before (obs-fold) */
    bool has_continue;   /* Expect: 100-continue */
    bool wants_continue; /* headers done, body to come, client waits for a 100 */
    bool is_complete;    /* a whole message was parsed (the parser is paused) */
    bool is_in_message;  /* its first byte was parsed, its last not yet */
    bool keep_alive;
    bool is_broken;
    struct srv_frame error;
};

void srv_hr_init(struct srv_http_reader *r, size_t max_head, size_t max_body);
void srv_hr_free(struct srv_http_reader *r); /* then re-initialized; idempotent */
int srv_hr_feed(struct srv_http_reader *r, const void *data, size_t len);
enum srv_frame_rc srv_hr_next(struct srv_http_reader *r, struct srv_frame *f);
/* Bytes held for the request being read: raw input, target, headers, body. */
size_t srv_hr_held(const struct srv_http_reader *r);
/* True once, when a request with "Expect: 100-continue" has its headers
 * parsed and its body still to come: the server may send 100 Continue. */
bool srv_hr_take_continue(struct srv_http_reader *r);
/* True while a request has begun and is not complete. */
bool srv_hr_is_mid_request(const struct srv_http_reader *r);

#endif
