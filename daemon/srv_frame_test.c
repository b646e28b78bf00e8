/*
 * srv_frame_test.c: the line and HTTP readers of srv_frame.h, without a
 * socket (test_srv_frame). Every stream is fed whole and in pieces of
 * several sizes, and must frame the same way; the framing errors of issue 10
 * (conflicting lengths, bad chunks, over-long heads and lines) are errors at
 * once; and the work a reader does (its `work` counter: bytes searched,
 * parsed and moved) stays linear in the bytes fed whatever the split
 * (issue 10: the old line reader rescanned its whole buffer on every read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "srv_frame.h"

/* ---- line reader ---- */

/* Feeds text in pieces of `piece` bytes; collects the lines framed, joined
 * with '|', and the error code (PROTO_OK if none) into out. */
static enum proto_code lines_of(const char *text, size_t len, size_t max, size_t piece, bool finish,
                                char *out, size_t cap)
{
    struct srv_line_reader r;
    srv_lr_init(&r, max);
    size_t o = 0;
    out[0] = '\0';
    enum proto_code code = PROTO_OK;
    struct srv_frame f;
    for (size_t at = 0; at < len && code == PROTO_OK; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        assert_int_equal(srv_lr_feed(&r, text + at, n), SD_OK);
        enum srv_frame_rc rc;
        while ((rc = srv_lr_next(&r, &f)) == SRV_FRAME_REQUEST) {
            o += (size_t)snprintf(out + o, cap - o, "%.*s|", (int)f.len, f.data);
        }
        if (rc == SRV_FRAME_ERROR) {
            code = f.code;
        }
    }
    if (finish && code == PROTO_OK) {
        enum srv_frame_rc rc = srv_lr_finish(&r, &f);
        if (rc == SRV_FRAME_REQUEST) {
            o += (size_t)snprintf(out + o, cap - o, "%.*s|", (int)f.len, f.data);
        } else if (rc == SRV_FRAME_ERROR) {
            code = f.code;
        }
    }
    srv_lr_free(&r);
    return code;
}

static void test_srv_lr_any_split_frames_the_same_lines(void **state)
{
    (void)state;
    const char *text = "{\"op\":\"a\"}\n\n\r\n \t \r\n{\"op\":\"b\"}\r\nxyz\n12345678\n  \n";
    const size_t pieces[] = {1, 2, 3, 5, 7, 64};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        char out[256];
        assert_int_equal(lines_of(text, strlen(text), 10, pieces[i], false, out, sizeof out),
                         PROTO_OK);
        assert_string_equal(out, "{\"op\":\"a\"}|{\"op\":\"b\"}\r|xyz|12345678|");
    }
}

static void test_srv_lr_line_over_limit_is_too_large_at_once(void **state)
{
    (void)state;
    char out[256];
    /* 8 bytes allowed; 8 + '\r' fits, 9 other bytes do not */
    assert_int_equal(lines_of("12345678\r\n", 10, 8, 1, false, out, sizeof out), PROTO_OK);
    assert_int_equal(lines_of("123456789\n", 10, 8, 3, false, out, sizeof out), PROTO_TOO_LARGE);
    assert_int_equal(lines_of("12345678\r\r\n", 11, 8, 1, false, out, sizeof out), PROTO_TOO_LARGE);
    /* no newline ever: the error comes as soon as the line cannot fit */
    struct srv_line_reader r;
    srv_lr_init(&r, 8);
    struct srv_frame f;
    assert_int_equal(srv_lr_feed(&r, "ok\n123456789", 12), SD_OK);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_REQUEST);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_MORE); /* 9 bytes: a '\r' may follow */
    assert_int_equal(srv_lr_feed(&r, "0", 1), SD_OK);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_ERROR);
    assert_int_equal(f.code, PROTO_TOO_LARGE);
    assert_int_equal(f.status, 413);
    assert_int_equal(srv_lr_held(&r), 0); /* the broken line's bytes are let go */
    assert_int_equal(srv_lr_feed(&r, "\n{}\n", 4), SD_OK);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_ERROR); /* broken for good */
    srv_lr_free(&r);
}

static void test_srv_lr_finish_frames_unterminated_last_line(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(lines_of("a\nbc", 4, 8, 1, true, out, sizeof out), PROTO_OK);
    assert_string_equal(out, "a|bc|");
    assert_int_equal(lines_of("a\n\r", 3, 8, 2, true, out, sizeof out), PROTO_OK);
    assert_string_equal(out, "a|");
}

/* Bytes held count what no request covers yet: the global cap's measure. */
static void test_srv_lr_held_counts_unfinished_bytes(void **state)
{
    (void)state;
    struct srv_line_reader r;
    srv_lr_init(&r, 100);
    struct srv_frame f;
    assert_int_equal(srv_lr_feed(&r, "abc\nde", 6), SD_OK);
    assert_int_equal(srv_lr_held(&r), 6);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_REQUEST);
    assert_int_equal(srv_lr_held(&r), 2);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_MORE);
    assert_int_equal(srv_lr_held(&r), 2);
    srv_lr_free(&r);
}

/* Feeds one line of len bytes in pieces of piece bytes; returns the work. */
static uint64_t line_work(size_t len, size_t piece)
{
    struct srv_line_reader r;
    srv_lr_init(&r, len);
    char *chunk = malloc(piece);
    assert_non_null(chunk);
    memset(chunk, 'x', piece);
    struct srv_frame f;
    for (size_t at = 0; at < len; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        assert_int_equal(srv_lr_feed(&r, chunk, n), SD_OK);
        assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_MORE);
    }
    assert_int_equal(srv_lr_feed(&r, "\n", 1), SD_OK);
    assert_int_equal(srv_lr_next(&r, &f), SRV_FRAME_REQUEST);
    assert_int_equal(f.len, len);
    uint64_t work = r.work;
    srv_lr_free(&r);
    free(chunk);
    return work;
}

/* Issue 10: a 32 MiB line in 1-byte to 1-MiB pieces costs work linear in its
 * length (the old reader searched from the start on every read). */
static void test_srv_lr_work_is_linear_whatever_the_split(void **state)
{
    (void)state;
    const size_t len = 32u << 20;
    const size_t pieces[] = {1, 1000, 64u << 10, 1u << 20};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        size_t n = len;
        uint64_t work = line_work(n, pieces[i]);
        if (work > 2 * (uint64_t)n + 2) {
            fail_msg("piece %zu: %llu bytes of work for a line of %zu", pieces[i],
                     (unsigned long long)work, n);
        }
    }
    /* many lines of one stream, each in pieces: the same bound */
    struct srv_line_reader r;
    srv_lr_init(&r, 4096);
    char text[1001];
    memset(text, 'y', 1000);
    text[1000] = '\n';
    struct srv_frame f;
    size_t fed = 0;
    for (int i = 0; i < 1000; i++) {
        for (size_t at = 0; at < sizeof text; at += 77) {
            size_t n = sizeof text - at < 77 ? sizeof text - at : 77;
            assert_int_equal(srv_lr_feed(&r, text + at, n), SD_OK);
            fed += n;
            while (srv_lr_next(&r, &f) == SRV_FRAME_REQUEST) {
                assert_int_equal(f.len, 1000);
            }
        }
    }
    assert_true(r.work <= 2 * (uint64_t)fed);
    srv_lr_free(&r);
}

/* ---- HTTP reader ---- */

struct http_out {
    int nreq;
    char log[2048]; /* "METHOD target body ka|" per request */
    enum proto_code code;
    int status;
    uint64_t work;
    bool saw_continue;
};

static const char *method_name(enum proto_method m)
{
    switch (m) {
    case PROTO_GET:
        return "GET";
    case PROTO_HEAD:
        return "HEAD";
    case PROTO_POST:
        return "POST";
    case PROTO_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

static void http_run(const char *text, size_t len, size_t piece, size_t max_head, size_t max_body,
                     struct http_out *out)
{
    memset(out, 0, sizeof *out);
    struct srv_http_reader r;
    srv_hr_init(&r, max_head, max_body);
    size_t o = 0;
    struct srv_frame f;
    for (size_t at = 0; at < len && out->code == PROTO_OK; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        assert_int_equal(srv_hr_feed(&r, text + at, n), SD_OK);
        enum srv_frame_rc rc;
        while ((rc = srv_hr_next(&r, &f)) == SRV_FRAME_REQUEST) {
            out->nreq++;
            o += (size_t)snprintf(out->log + o, sizeof out->log - o, "%s %.*s %.*s %s|",
                                  method_name(f.method), (int)f.target_len, f.target, (int)f.len,
                                  f.data, f.keep_alive ? "ka" : "close");
        }
        if (rc == SRV_FRAME_ERROR) {
            out->code = f.code;
            out->status = f.status;
        } else if (srv_hr_take_continue(&r)) {
            out->saw_continue = true;
        }
    }
    out->work = r.work;
    srv_hr_free(&r);
}

static void http_each_split(const char *text, struct http_out *out)
{
    const size_t pieces[] = {1, 2, 3, 7, 16, 4096};
    struct http_out first;
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        http_run(text, strlen(text), pieces[i], 4096, 1024, out);
        if (i == 0) {
            first = *out;
        } else {
            assert_string_equal(out->log, first.log);
            assert_int_equal(out->code, first.code);
        }
    }
}

static void test_srv_hr_pipelined_requests_in_any_split(void **state)
{
    (void)state;
    struct http_out out;
    http_each_split("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{\"q\":\"a\"}"
                    "HEAD /stats?index=x HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\n{\"i\r\n4;ext=1\r\nd\":1\r\n1\r\n}\r\n0\r\n\r\n"
                    "DELETE /docs/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    &out);
    assert_int_equal(out.code, PROTO_OK);
    assert_int_equal(out.nreq, 5);
    assert_string_equal(out.log, "GET /health  ka|POST /search {\"q\":\"a\"} ka|"
                                 "HEAD /stats?index=x  ka|POST /docs {\"id\":1} ka|"
                                 "DELETE /docs/a  close|");
    http_each_split("GET / HTTP/1.0\r\n\r\n", &out);
    assert_string_equal(out.log, "GET /  close|");
    http_each_split("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &out);
    assert_string_equal(out.log, "GET /  ka|");
    http_each_split("PUT /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &out);
    assert_string_equal(out.log, "OTHER /docs  ka|");
    /* chunked alone, in any case and with spaces around it, is the one transfer coding */
    http_each_split(
        "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  Chunked \r\n\r\n1\r\n{\r\n0\r\n\r\n",
        &out);
    assert_int_equal(out.code, PROTO_OK);
    assert_string_equal(out.log, "POST /docs { ka|");
}

/* RFC 9112 3.2: an HTTP/1.1 request without Host is 400 bad_http (after the requests before it
 * on the connection are handed out); an empty Host is a Host, and HTTP/1.0 needs none. */
static void test_srv_hr_http11_without_host_is_refused(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "GET /health HTTP/1.1\r\n\r\n",
        "GET /health HTTP/1.1\nConnection: close\n\n",
        "POST /docs HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        "GET /health HTTP/1.1\r\nX-Host: x\r\nHosts: x\r\n\r\n",
    };
    struct http_out out;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        http_each_split(refused[i], &out);
        if (out.code != PROTO_BAD_HTTP || out.status != 400 || out.nreq != 0) {
            fail_msg("case %zu: code %d status %d requests %d, want 400 bad_http and none", i,
                     out.code, out.status, out.nreq);
        }
    }
    http_each_split(
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.0\r\n\r\n", &out);
    assert_int_equal(out.code, PROTO_BAD_HTTP);
    assert_string_equal(out.log, "GET /a  ka|");
    http_each_split("GET /a HTTP/1.1\r\nhOST:\r\n\r\nGET /b HTTP/1.0\r\n\r\n", &out);
    assert_int_equal(out.code, PROTO_OK);
    assert_string_equal(out.log, "GET /a  ka|GET /b  close|");
}

/* Issue 10 item 3: each of these is 400 (431 for the head) at once. */
static void test_srv_hr_framing_errors_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum proto_code code;
        int status;
    } cases[] = {
        {"POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
         PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
         PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
         "chunked\r\n\r\n0\r\n\r\n",
         PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", PROTO_BAD_HTTP,
         400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", PROTO_BAD_HTTP, 400},
        {"\x00\x01garbage\r\n\r\n", PROTO_BAD_HTTP, 400},
        {"GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n", PROTO_TOO_LARGE, 413},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n401\r\n",
         PROTO_TOO_LARGE, 413},
        /* a chunk size past 2^64: http-parser calls it a bad content-length */
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
         "chunked\r\n\r\n1000000000000000000\r\n",
         PROTO_TOO_LARGE, 413},
        {"GET /health\r\n\r\n", PROTO_BAD_HTTP, 400}, /* no version: HTTP/0.9 to http-parser */
        /* a coding before chunked: http-parser decoded the chunks and handed out the
         * compressed bytes as the body */
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
         "chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
         PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
         PROTO_BAD_HTTP, 400},
        {"POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
         "chunked\r\n\r\n"
         "0\r\n\r\n",
         PROTO_BAD_HTTP, 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_out out;
        http_run(cases[i].text, strlen(cases[i].text) + (i == 6 ? 2 : 0), 1, 4096, 1024, &out);
        if (out.code != cases[i].code || out.status != cases[i].status) {
            fail_msg("case %zu: code %d status %d, want %d %d", i, out.code, out.status,
                     cases[i].code, cases[i].status);
        }
        assert_int_equal(out.nreq, 0);
    }
    /* a head over max_head: 431, without waiting for its end */
    char head[8192];
    int n = snprintf(head, sizeof head, "GET /health HTTP/1.1\r\nHost: x\r\nX-Long: ");
    memset(head + n, 'a', sizeof head - (size_t)n);
    struct http_out out;
    http_run(head, sizeof head, 100, 4096, 1024, &out);
    assert_int_equal(out.code, PROTO_HEAD_TOO_LARGE);
    assert_int_equal(out.status, 431);
    /* a chunked body over the limit in pieces */
    char body[4096];
    n = snprintf(body, sizeof body,
                 "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 20; i++) {
        n += snprintf(body + n, sizeof body - (size_t)n, "64\r\n%0100d\r\n", i);
    }
    http_run(body, (size_t)n, 13, 4096, 1024, &out);
    assert_int_equal(out.code, PROTO_TOO_LARGE);
}

/* Request smuggling shapes: bytes that http-parser frames one way and a proxy in front may frame
 * another. A space before a header's colon ("Transfer-Encoding : chunked" was chunked to
 * http-parser, an unknown header to others) and a value folded onto the next line (obs-fold:
 * "Transfer-Encoding:" then " chunked" was chunked) are 400 at once, in any split (RFC 9112
 * 5.1, 5.2); so is Transfer-Encoding in an HTTP/1.0 request, which a 1.0 proxy frames as one
 * without a body (6.1). */
static void test_srv_hr_smuggling_shapes_are_refused_in_any_split(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : "
        "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc",
        "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n "
        "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "\r\n\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-A: a\r\n b\r\n\r\nabc",
        "GET /stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n k\r\n\r\n",
        "GET /stats HTTP/1.1\r\nHost: x\r\nX-A: a\n b\n\n",
        "GET /stats HTTP/1.1\r\n Host: x\r\nHost: x\r\n\r\n", /* a fold of the request line */
        "GET /stats HTTP/1.1\r\nHost: x\r\nX Y: z\r\n\r\n",
        "POST /docs HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_out out;
        http_each_split(cases[i], &out);
        if (out.code != PROTO_BAD_HTTP || out.status != 400 || out.nreq != 0) {
            fail_msg("case %zu: code %d status %d requests %d, want 400 bad_http and none", i,
                     out.code, out.status, out.nreq);
        }
    }
    /* what stays valid: spaces inside a value and around it, an empty value, a line end
     * alone (LF) */
    struct http_out out;
    http_each_split("GET /a HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-B:  b c  \r\nX-Empty2: \r\n\r\n"
                    "GET /b HTTP/1.1\nHost: x\nX-C: c\n\n",
                    &out);
    assert_int_equal(out.code, PROTO_OK);
    assert_string_equal(out.log, "GET /a  ka|GET /b  ka|");
}

/* The fields after a chunked body (trailers) are not headers (RFC 9110 6.5.1): an Authorization
 * or an Origin there was taken as the request's, a key sent past a proxy that checks only the
 * header section. */
static void test_srv_hr_trailer_fields_are_not_headers(void **state)
{
    (void)state;
    const char *text =
        "POST /docs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        "Authorization: Bearer k\r\nOrigin: http://a.example\r\n\r\n";
    const size_t pieces[] = {1, 5, 4096};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        struct srv_http_reader r;
        srv_hr_init(&r, 4096, 1024);
        struct srv_frame f;
        enum srv_frame_rc rc = SRV_FRAME_MORE;
        for (size_t at = 0; at < strlen(text) && rc == SRV_FRAME_MORE; at += pieces[i]) {
            size_t n = strlen(text) - at < pieces[i] ? strlen(text) - at : pieces[i];
            assert_int_equal(srv_hr_feed(&r, text + at, n), SD_OK);
            rc = srv_hr_next(&r, &f);
        }
        assert_int_equal(rc, SRV_FRAME_REQUEST);
        assert_int_equal(f.len, 3);
        assert_null(f.header[SRV_H_AUTHORIZATION]);
        assert_null(f.header[SRV_H_ORIGIN]);
        srv_hr_free(&r);
    }
}

static void test_srv_hr_expect_continue_once_headers_are_in(void **state)
{
    (void)state;
    const char *text =
        "POST /docs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    struct http_out out;
    http_run(text, strlen(text), 5, 4096, 1024, &out);
    assert_true(out.saw_continue);
    assert_int_equal(out.nreq, 0);
    const char *plain = "POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
    http_run(plain, strlen(plain), 5, 4096, 1024, &out);
    assert_false(out.saw_continue);
    /* spaces after a value are not part of it (RFC 9110 5.5) */
    const char *ows =
        "POST /docs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue \t\r\nContent-Length: 2\r\n\r\n";
    http_run(ows, strlen(ows), 5, 4096, 1024, &out);
    assert_true(out.saw_continue);
    /* HTTP/1.0 has no 1xx: its Expect is ignored (a 100 was sent, which such a client may
     * take for the answer) */
    const char *v10 = "POST /docs HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    http_run(v10, strlen(v10), 5, 4096, 1024, &out);
    assert_false(out.saw_continue);
    assert_int_equal(out.code, PROTO_OK);
}

/* A big body in small pieces: the parser sees each byte once. */
static void test_srv_hr_work_is_linear_whatever_the_split(void **state)
{
    (void)state;
    const size_t body = 4u << 20;
    char head[128];
    int n = snprintf(head, sizeof head,
                     "POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", body);
    const size_t pieces[] = {1, 1000, 1u << 20};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        struct srv_http_reader r;
        srv_hr_init(&r, 4096, body);
        struct srv_frame f;
        assert_int_equal(srv_hr_feed(&r, head, (size_t)n), SD_OK);
        assert_int_equal(srv_hr_next(&r, &f), SRV_FRAME_MORE);
        char *chunk = calloc(1, pieces[i]);
        assert_non_null(chunk);
        enum srv_frame_rc rc = SRV_FRAME_MORE;
        for (size_t at = 0; at < body; at += pieces[i]) {
            size_t k = body - at < pieces[i] ? body - at : pieces[i];
            assert_int_equal(srv_hr_feed(&r, chunk, k), SD_OK);
            rc = srv_hr_next(&r, &f);
        }
        assert_int_equal(rc, SRV_FRAME_REQUEST);
        assert_int_equal(f.len, body);
        assert_true(r.work <= 2 * (uint64_t)(body + (size_t)n));
        free(chunk);
        srv_hr_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srv_lr_any_split_frames_the_same_lines),
        cmocka_unit_test(test_srv_lr_line_over_limit_is_too_large_at_once),
        cmocka_unit_test(test_srv_lr_finish_frames_unterminated_last_line),
        cmocka_unit_test(test_srv_lr_held_counts_unfinished_bytes),
        cmocka_unit_test(test_srv_lr_work_is_linear_whatever_the_split),
        cmocka_unit_test(test_srv_hr_pipelined_requests_in_any_split),
        cmocka_unit_test(test_srv_hr_framing_errors_are_refused),
        cmocka_unit_test(test_srv_hr_http11_without_host_is_refused),
        cmocka_unit_test(test_srv_hr_smuggling_shapes_are_refused_in_any_split),
        cmocka_unit_test(test_srv_hr_trailer_fields_are_not_headers),
        cmocka_unit_test(test_srv_hr_expect_continue_once_headers_are_in),
        cmocka_unit_test(test_srv_hr_work_is_linear_whatever_the_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
