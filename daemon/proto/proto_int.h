/*
 * proto_int.h: private to daemon/proto (never included from outside): the helpers that
 * proto_parse.c shares with proto_lists.c.
 */
#ifndef SEARCHD_PROTO_INT_H
#define SEARCHD_PROTO_INT_H

#include "proto.h"

/* A list parameter of a search: "facets" or "fields". */
enum proto_list {
    PROTO_LIST_FACETS = 0,
    PROTO_LIST_FIELDS = 1,
};

/* The parameter's wire name: "facets" or "fields". */
const char *proto_list_name(enum proto_list which);

/* Appends item (NUL-terminated, len bytes, borrowed: it must live as long as req) to the list
 * of req, after checking it: not empty, no NUL inside, a field name of 1..SEG_MAX_NAME bytes
 * (a facet spec's field is the part before ':'), at most IDX_MAX_FACETS / IDX_MAX_CHOSEN
 * items, and no facet field or chosen name twice. bad_request naming the parameter. */
enum proto_code proto_list_add(struct proto_request *req, enum proto_list which, const char *item,
                               size_t len, struct proto_error *err);

/* Splits s[0, len) at commas, trimming spaces around each item, and adds every item with
 * proto_list_add. s must be writable, NUL-terminated at len, and live as long as req: the
 * items are cut in place. An empty s is an empty list. */
enum proto_code proto_list_split(struct proto_request *req, enum proto_list which, char *s,
                                 size_t len, struct proto_error *err);

/* True when key is one of names[0..] (a NULL-terminated table). */
bool proto_is_known(const char *const *names, const char *key);

/* The members every search takes, on both protocols, besides "index" (NULL-terminated). */
extern const char *const proto_search_params[];

#endif
