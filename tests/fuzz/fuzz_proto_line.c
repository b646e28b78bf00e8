/*
 * fuzz_proto_line.c: the line protocol's request parser. The input is one request line (the
 * server has already cut it at the newline, so it may hold any byte but '\n'; a '\n' in the
 * input is passed along too, as the parser must not care). A request that parses is checked
 * for the invariants the server relies on; every answer, error or not, is then encoded as the
 * JSON the server would send, so the encoder sees the parser's error messages too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_proto.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_request req;
    struct proto_error err = {0};
    struct sd_buf out;
    proto_request_init(&req);
    sd_buf_init(&out);
    enum proto_code rc = proto_parse_line((const char *)data, size, &req, &err);
    if (rc == PROTO_OK) {
        fuzz_proto_check(&req); /* the parser let through nothing it promises to refuse */
        if (req.q) {
            proto_json_string(&out, req.q, req.q_len);
        }
        for (size_t i = 0; i < req.nops; i++) {
            proto_json_string(&out, req.ops[i].doc.id, req.ops[i].doc.id_len);
        }
    } else {
        proto_encode_error(&out, rc, err.msg);
    }
    sd_buf_free(&out);
    proto_request_free(&req);
    return 0;
}
