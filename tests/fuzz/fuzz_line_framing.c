/*
 * fuzz_line_framing.c: libFuzzer target for the line reader of
 * daemon/srv_frame.h (issue 10).
 *
 * Input: byte 0 picks the piece size (1 to 64), the rest is the stream. The
 * stream is framed twice, whole and in pieces, and both must give the same
 * lines and the same error (a framing that depended on how reads split the
 * bytes is a bug). Every line handed out is at most max_line (+1 for '\r'),
 * contains no '\n' and is not blank; after an error the reader stays broken;
 * the work done (bytes searched and moved) stays within twice the bytes fed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srv_frame.h"

#define MAX_LINE 64

struct outcome {
    uint64_t hash; /* FNV-1a over the lines, each followed by a separator */
    size_t nlines;
    enum proto_code error;
};

static void hash_bytes(uint64_t *h, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        *h = (*h ^ (uint8_t)p[i]) * 1099511628211ull;
    }
    *h = (*h ^ 0x100u) * 1099511628211ull;
}

static void check_line(const struct srv_frame *f)
{
    if (f->len > MAX_LINE + 1 || memchr(f->data, '\n', f->len) ||
        (f->len == 1 && f->data[0] == '\r') || f->len == 0) {
        abort();
    }
}

static void drain(struct srv_line_reader *r, struct outcome *o)
{
    struct srv_frame f;
    enum srv_frame_rc rc;
    while ((rc = srv_lr_next(r, &f)) == SRV_FRAME_REQUEST) {
        check_line(&f);
        hash_bytes(&o->hash, f.data, f.len);
        o->nlines++;
    }
    if (rc == SRV_FRAME_ERROR) {
        o->error = f.code;
        if (srv_lr_next(r, &f) != SRV_FRAME_ERROR || srv_lr_held(r) != 0) {
            abort(); /* broken for good, and its bytes let go */
        }
    }
}

static void run(const uint8_t *data, size_t size, size_t piece, struct outcome *o)
{
    struct srv_line_reader r;
    srv_lr_init(&r, MAX_LINE);
    memset(o, 0, sizeof *o);
    o->hash = 1469598103934665603ull;
    for (size_t at = 0; at < size && o->error == PROTO_OK; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        if (srv_lr_feed(&r, data + at, n)) {
            abort();
        }
        drain(&r, o);
        if (r.work > 2 * (uint64_t)(at + n)) {
            abort(); /* not linear */
        }
    }
    if (o->error == PROTO_OK) {
        struct srv_frame f;
        enum srv_frame_rc rc = srv_lr_finish(&r, &f);
        if (rc == SRV_FRAME_REQUEST) {
            check_line(&f);
            hash_bytes(&o->hash, f.data, f.len);
            o->nlines++;
        } else if (rc == SRV_FRAME_ERROR) {
            o->error = f.code;
        }
    }
    srv_lr_free(&r);
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
    if (whole.hash != split.hash || whole.nlines != split.nlines || whole.error != split.error) {
        abort();
    }
    return 0;
}
