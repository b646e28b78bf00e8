/*
 * fuzz_http_framing.c: libFuzzer target for the HTTP reader of
 * daemon/srv_frame.h (issue 10; nodejs http-parser underneath).
 *
 * Input: byte 0 picks the piece size (1 to 64), the rest is the stream. The
 * stream is framed whole and in pieces; both must give the same requests
 * (method, target, body, keep-alive) and both end in an error or neither.
 * The error's code is the same too, except that head_too_large may stand
 * for another error further in an over-long head: which of the two is seen
 * first depends on where the reads end (http-parser reports a token when it
 * ends, our head count when the token is reported). Every body is at
 * most max_body and every target at most max_head; an error is one of the
 * framing codes with its status, and sticks; the bytes held stay within one
 * request's limits plus what was fed and not parsed; work stays within
 * twice the bytes fed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srv_frame.h"

#define MAX_HEAD 512
#define MAX_BODY 1024

struct outcome {
    uint64_t hash;
    size_t nreq;
    enum proto_code error;
};

static void hash_bytes(uint64_t *h, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        *h = (*h ^ b[i]) * 1099511628211ull;
    }
    *h = (*h ^ 0x100u) * 1099511628211ull;
}

static void check_error(const struct srv_frame *f)
{
    bool ok = (f->code == PROTO_BAD_HTTP && f->status == 400) ||
              (f->code == PROTO_TOO_LARGE && f->status == 413) ||
              (f->code == PROTO_HEAD_TOO_LARGE && f->status == 431);
    if (!ok) {
        abort();
    }
}

static void drain(struct srv_http_reader *r, struct outcome *o)
{
    struct srv_frame f;
    enum srv_frame_rc rc;
    while ((rc = srv_hr_next(r, &f)) == SRV_FRAME_REQUEST) {
        if (f.len > MAX_BODY || f.target_len > MAX_HEAD) {
            abort();
        }
        uint8_t meta[3] = {(uint8_t)f.method, f.keep_alive, f.is_http10};
        hash_bytes(&o->hash, meta, sizeof meta);
        hash_bytes(&o->hash, f.target, f.target_len);
        hash_bytes(&o->hash, f.data, f.len);
        o->nreq++;
    }
    if (rc == SRV_FRAME_ERROR) {
        check_error(&f);
        o->error = f.code;
        if (srv_hr_next(r, &f) != SRV_FRAME_ERROR || f.code != o->error) {
            abort();
        }
    }
}

static void run(const uint8_t *data, size_t size, size_t piece, struct outcome *o)
{
    struct srv_http_reader r;
    srv_hr_init(&r, MAX_HEAD, MAX_BODY);
    memset(o, 0, sizeof *o);
    o->hash = 1469598103934665603ull;
    for (size_t at = 0; at < size && o->error == PROTO_OK; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        if (srv_hr_feed(&r, data + at, n)) {
            abort();
        }
        drain(&r, o);
        if (o->error == PROTO_OK && srv_hr_held(&r) > MAX_HEAD + MAX_BODY + 1) {
            abort(); /* a request held past its limits */
        }
        if (r.work > 2 * (uint64_t)(at + n)) {
            abort(); /* not linear */
        }
    }
    srv_hr_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t piece = (size_t)(data[0] % 64) + 1;
    struct outcome whole, split;
    run(data + 1, size - 1, size, &whole);
    run(data + 1, size - 1, piece, &split);
    if (whole.hash != split.hash || whole.nreq != split.nreq ||
        (whole.error == PROTO_OK) != (split.error == PROTO_OK)) {
        abort();
    }
    if (whole.error != split.error && whole.error != PROTO_HEAD_TOO_LARGE &&
        split.error != PROTO_HEAD_TOO_LARGE) {
        abort();
    }
    return 0;
}
