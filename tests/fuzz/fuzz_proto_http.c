/*
 * fuzz_proto_http.c: the HTTP protocol's request parser (routing, the query string, percent
 * escapes, JSON and NDJSON bodies), after the framing: proto_parse_http takes the method, the
 * request target and the body. Input layout: byte 0 picks the method (mod 5: GET, HEAD, POST,
 * DELETE, PUT), the bytes up to the first '\n' are the target, the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_proto.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    enum proto_method method = (enum proto_method)(data[0] % 5);
    const char *uri = (const char *)data + 1;
    size_t rest = size - 1;
    const char *nl = memchr(uri, '\n', rest);
    size_t uri_len = nl ? (size_t)(nl - uri) : rest;
    const char *body = nl ? nl + 1 : uri + rest;
    size_t body_len = rest - (size_t)(body - uri);

    struct proto_request req;
    struct proto_error err = {0};
    struct sd_buf out;
    proto_request_init(&req);
    sd_buf_init(&out);
    enum proto_code rc = proto_parse_http(method, uri, uri_len, body, body_len, &req, &err);
    if (rc == PROTO_OK) {
        fuzz_proto_check(&req); /* the parser let through nothing it promises to refuse */
        if (req.q) {
            proto_json_string(&out, req.q, req.q_len);
        }
        if (req.id) {
            proto_json_string(&out, req.id, req.id_len);
        }
    } else {
        if (rc == PROTO_METHOD_NOT_ALLOWED && !err.allow) {
            abort(); /* a 405 must say what is allowed */
        }
        proto_encode_error(&out, rc, err.msg);
    }
    sd_buf_free(&out);
    proto_request_free(&req);
    return 0;
}
