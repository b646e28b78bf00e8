/*
 * fuzz_proto.h: what the two request parsers' targets (fuzz_proto_line, fuzz_proto_http)
 * check of a request the parser accepted: the promises of proto.h and PROTOCOL.md that hold
 * whatever the protocol. Header-only: each target is one translation unit.
 */
#ifndef SEARCHD_FUZZ_PROTO_H
#define SEARCHD_FUZZ_PROTO_H

#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Aborts when req breaks a limit the parser promises to enforce. */
static inline void fuzz_proto_check(const struct proto_request *req)
{
    if (req->op == PROTO_OP_NONE || req->limit > QRY_MAX_LIMIT || req->offset > QRY_MAX_OFFSET ||
        req->nweights > PROTO_MAX_WEIGHTS || req->nfacets > IDX_MAX_FACETS ||
        req->nchosen > IDX_MAX_CHOSEN || !idx_name_valid(req->index, strlen(req->index))) {
        abort();
    }
    for (size_t i = 0; i < req->nfacets; i++) {
        if (req->facets[i][0] == '\0' || req->facets[i][0] == ':') {
            abort(); /* an empty spec, or one without a field */
        }
    }
    for (size_t i = 0; i < req->nchosen; i++) {
        if (req->chosen[i][0] == '\0' || strlen(req->chosen[i]) > SEG_MAX_NAME) {
            abort();
        }
    }
    bool sets = req->op == PROTO_OP_CREATE_INDEX || req->op == PROTO_OP_SET_SETTINGS;
    if (sets != (req->settings != NULL)) {
        abort(); /* settings come with exactly the ops that take them */
    }
}

#endif
