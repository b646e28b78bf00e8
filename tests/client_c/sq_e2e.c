/*
 * sq_e2e.c: libsearchq against a real searchd, driven by tests/e2e/test_client_c.py.
 *
 *   sq_e2e ADDRESS|unix:PATH ops        every op of docs/PROTOCOL.md, answers checked (delete
 *                                       with "ids" and set_settings with "merge" too)
 *   sq_e2e ADDRESS|unix:PATH pipeline N N add batches and N searches pipelined under a small
 *                                       in-flight bound, answers checked in order
 *   sq_e2e ADDRESS snapshot ADMIN SEARCH  with the admin key: a snapshot of index "sqsnap" (its
 *                                       path printed for the test to --check), names that are
 *                                       paths refused; then auth with the search key (role
 *                                       "search") whose snapshot is forbidden, and a wrong key
 *
 * Prints "sq_e2e: ok ..." and exits 0, or prints the first failure (with the line) and exits 1.
 * The index used is "sqe2e" (pipeline), the default index plus "sqbooks" (ops), "sqsnap"
 * (snapshot).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "searchq.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "sq_e2e:%d: failed: %s (%s %s: %s)\n", __LINE__, #cond,                \
                    sq_status_name(err.status), err.code, err.message);                            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static struct sq_error err;

/* With no keys configured every client is admin and auth answers "admin" for any key. */
#define ANY_KEY "any key: no keys configured means admin"

static int64_t member_int(struct json_object *o, const char *name)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, name, &v);
    return v ? json_object_get_int64(v) : -1;
}

static const char *member_str(struct json_object *o, const char *name)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, name, &v);
    return v ? json_object_get_string(v) : "";
}

/* The first word the best hit lacks ("dropped"), or "" when it lacks none. */
static const char *first_dropped(struct json_object *o)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, "dropped", &v);
    return v && json_object_array_length(v)
               ? json_object_get_string(json_object_array_get_idx(v, 0))
               : "";
}

static struct json_object *parse(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    CHECK(o != NULL);
    return o;
}

static struct sq_conn *open_conn(const char *where, size_t max_inflight_bytes, const char *key)
{
    struct sq_options o = {.max_inflight_bytes = max_inflight_bytes, .key = key};
    if (strncmp(where, "unix:", 5) == 0) {
        o.unix_path = where + 5;
    } else {
        o.address = where;
    }
    struct sq_conn *c;
    CHECK(sq_connect(&o, &c, &err) == SQ_OK);
    return c;
}

/* Most words (1.4.0): d1 has "дипломатия" and d2 "steam", no document both. The simple
 * syntax finds both, each lacking a word, by default and with drop_words 1; with 0 nothing. */
static void run_drop_words(struct sq_conn *c)
{
    struct json_object *a;
    struct sq_search_params p = sq_search_defaults("дипломатия steam");
    p.syntax = "simple";
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 2 &&
          strcmp(first_dropped(a), "") != 0);
    json_object_put(a);
    p.drop_words = 1;
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 2 &&
          strcmp(first_dropped(a), "") != 0);
    json_object_put(a);
    p.drop_words = 0;
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 0 &&
          !json_object_object_get_ex(a, "dropped", NULL));
    json_object_put(a);
    p.syntax = NULL; /* the full syntax keeps every word: asking to drop some is refused */
    p.drop_words = 1;
    CHECK(sq_search(c, &p, &a, &err) == SQ_ESERVER && strcmp(err.code, "bad_request") == 0);
    json_object_put(a);
}

/* delete with "ids" (1.5.0): one write, the ids with no document counted, not an error; none
 * at all is the server's bad_request. */
static void run_delete_ids(struct sq_conn *c)
{
    struct json_object *a, *docs = parse("[{\"id\":\"x1\",\"title\":\"one\"},"
                                         "{\"id\":\"x2\",\"title\":\"two\"}]");
    CHECK(sq_add(c, NULL, docs, &a, &err) == SQ_OK && member_int(a, "added") == 2);
    json_object_put(a);
    json_object_put(docs);
    const char *ids[] = {"x1", "x2", "nobody"};
    CHECK(sq_delete_ids(c, NULL, ids, 3, &a, &err) == SQ_OK && member_int(a, "deleted") == 2 &&
          member_int(a, "not_found") == 1);
    json_object_put(a);
    CHECK(sq_get(c, NULL, "x1", &a, &err) == SQ_ESERVER && strcmp(err.code, "not_found") == 0);
    json_object_put(a);
    CHECK(sq_delete_ids(c, NULL, ids, 0, &a, &err) == SQ_ESERVER &&
          strcmp(err.code, "bad_request") == 0);
    json_object_put(a);
}

static void run_doc_ops(struct sq_conn *c)
{
    struct json_object *a, *doc = parse("{\"id\":\"d1\",\"title\":\"Цифровая дипломатия\","
                                        "\"body\":\"посольства в сетях\"}");
    CHECK(sq_health(c, &a, &err) == SQ_OK && strcmp(member_str(a, "status"), "ok") == 0);
    json_object_put(a);
    CHECK(sq_add(c, NULL, doc, &a, &err) == SQ_OK && member_int(a, "added") == 1);
    json_object_put(a);
    json_object_put(doc);
    struct json_object *docs = parse("[{\"id\":\"d2\",\"title\":\"Industrial revolutions\","
                                     "\"body\":\"steam\"},{\"id\":\"d1\",\"title\":\"Цифровая "
                                     "дипломатия\",\"body\":\"новая версия\"}]");
    CHECK(sq_add(c, NULL, docs, &a, &err) == SQ_OK && member_int(a, "added") == 1 &&
          member_int(a, "replaced") == 1);
    json_object_put(a);
    json_object_put(docs);
    struct sq_search_params p = sq_search_defaults("дипломатии");
    p.limit = 5;
    p.highlight = 1;
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 1);
    json_object_put(a);
    /* every form of proximity the library sends is one the server takes (1.2.0) */
    const double proximity[] = {SQ_PROXIMITY_ON, SQ_PROXIMITY_OFF, 0.35, 2, 0, SQ_PROXIMITY_MAX};
    for (size_t i = 0; i < sizeof proximity / sizeof proximity[0]; i++) {
        p = sq_search_defaults("цифровая дипломатия");
        p.proximity = proximity[i];
        CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 1);
        json_object_put(a);
    }
    /* a box searching as you type (1.3.0): "дипло" is no word, but starts one. As a whole
     * word it finds nothing, and the server leaves it out (the simple syntax's drop_words) */
    p = sq_search_defaults("цифровая дипло");
    p.syntax = "simple";
    p.typo = 0;
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 1 &&
          strcmp(first_dropped(a), "дипло") == 0);
    json_object_put(a);
    p.prefix_last = 1;
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 1 &&
          strcmp(first_dropped(a), "") == 0);
    json_object_put(a);
    p.syntax = NULL; /* the full syntax has no word being typed: the server says so */
    CHECK(sq_search(c, &p, &a, &err) == SQ_ESERVER && strcmp(err.code, "bad_request") == 0);
    json_object_put(a);
    run_drop_words(c);
    CHECK(sq_get(c, NULL, "d1", &a, &err) == SQ_OK);
    struct json_object *got = NULL;
    json_object_object_get_ex(a, "doc", &got);
    CHECK(strcmp(member_str(got, "body"), "новая версия") == 0);
    json_object_put(a);
    CHECK(sq_stats(c, NULL, &a, &err) == SQ_OK && member_int(a, "docs") == 2);
    json_object_put(a);
    CHECK(sq_delete(c, NULL, "d2", &a, &err) == SQ_OK && member_int(a, "deleted") == 1);
    json_object_put(a);
    CHECK(sq_get(c, NULL, "d2", &a, &err) == SQ_ESERVER && strcmp(err.code, "not_found") == 0);
    json_object_put(a);
    run_delete_ids(c);
    p = sq_search_defaults("\"unclosed phrase");
    CHECK(sq_search(c, &p, &a, &err) == SQ_ESERVER && strcmp(err.code, "bad_query") == 0);
    json_object_put(a);
}

/* The settings' field name's type in a get_settings answer, or "" when it has no such field. */
static const char *field_type(struct json_object *answer, const char *name)
{
    struct json_object *set = NULL, *fields = NULL, *field = NULL;
    json_object_object_get_ex(answer, "settings", &set);
    json_object_object_get_ex(set, "fields", &fields);
    return json_object_object_get_ex(fields, name, &field) ? member_str(field, "type") : "";
}

/* set_settings with "merge": true (1.5.0) on sqbooks at version 2 (title, year, lang,
 * authors): a patch that adds one field and removes another keeps the rest. A patch that makes
 * the settings bad changes nothing. */
static void run_merge_settings(struct sq_conn *c)
{
    struct json_object *a,
        *patch = parse("{\"fields\":{\"isbn\":{\"type\":\"keyword\"},\"authors\":null}}");
    CHECK(sq_merge_settings(c, "sqbooks", patch, &a, &err) == SQ_OK &&
          member_int(a, "version") == 3);
    json_object_put(a);
    CHECK(sq_get_settings(c, "sqbooks", &a, &err) == SQ_OK && member_int(a, "version") == 3);
    CHECK(strcmp(field_type(a, "isbn"), "keyword") == 0 &&
          strcmp(field_type(a, "year"), "int") == 0);
    CHECK(strcmp(field_type(a, "authors"), "") == 0);
    json_object_put(a);
    json_object_put(patch);
    patch = parse("{\"fields\":{\"year\":{\"type\":\"no such type\"}}}");
    CHECK(sq_merge_settings(c, "sqbooks", patch, &a, &err) == SQ_ESERVER &&
          strcmp(err.code, "bad_request") == 0);
    json_object_put(a);
    json_object_put(patch);
    CHECK(sq_get_settings(c, "sqbooks", &a, &err) == SQ_OK && member_int(a, "version") == 3);
    json_object_put(a);
}

static void run_index_ops(struct sq_conn *c)
{
    struct json_object *a;
    struct json_object *set =
        parse("{\"fields\":{\"title\":{\"type\":\"text\",\"weight\":2},"
              "\"year\":{\"type\":\"int\"},\"lang\":{\"type\":\"keyword\"}}}");
    CHECK(sq_create_index(c, "sqbooks", set, &a, &err) == SQ_OK && member_int(a, "version") == 1);
    json_object_put(a);
    CHECK(sq_create_index(c, "sqbooks", set, &a, &err) == SQ_ESERVER &&
          strcmp(err.code, "index_exists") == 0);
    json_object_put(a);
    CHECK(sq_set_settings(c, "sqbooks", set, &a, &err) == SQ_OK && member_int(a, "version") == 1);
    json_object_put(a); /* the same settings: no new version */
    struct json_object *fields = NULL;
    json_object_object_get_ex(set, "fields", &fields);
    json_object_object_add(fields, "authors", parse("{\"type\":\"keyword\"}"));
    CHECK(sq_set_settings(c, "sqbooks", set, &a, &err) == SQ_OK && member_int(a, "version") == 2);
    json_object_put(a);
    json_object_put(set);
    CHECK(sq_get_settings(c, "sqbooks", &a, &err) == SQ_OK && member_int(a, "version") == 2);
    json_object_put(a);
    run_merge_settings(c);
    struct json_object *docs = parse("[{\"id\":\"b1\",\"title\":\"Война и мир\",\"year\":1869,"
                                     "\"lang\":\"ru\"},{\"id\":\"b2\",\"title\":\"War and "
                                     "Peace\",\"year\":1957,\"lang\":\"en\"}]");
    CHECK(sq_add(c, "sqbooks", docs, &a, &err) == SQ_OK && member_int(a, "added") == 2);
    json_object_put(a);
    json_object_put(docs);
    struct sq_search_params p = sq_search_defaults("");
    p.index = "sqbooks";
    p.filter = "year:>=1900";
    p.sort = "year:desc";
    p.facets = "lang";
    p.fields = "year,lang";
    CHECK(sq_search(c, &p, &a, &err) == SQ_OK && member_int(a, "total") == 1);
    CHECK(json_object_object_get_ex(a, "facets", NULL));
    json_object_put(a);
    CHECK(sq_indexes(c, &a, &err) == SQ_OK);
    CHECK(strstr(json_object_to_json_string(a), "\"sqbooks\"") != NULL);
    json_object_put(a);
    CHECK(sq_drop_index(c, "sqbooks", &a, &err) == SQ_OK &&
          strcmp(member_str(a, "dropped"), "sqbooks") == 0);
    json_object_put(a);
    CHECK(sq_get_settings(c, "sqbooks", &a, &err) == SQ_ESERVER);
    json_object_put(a);
}

/* Snapshot as admin, then the errors: a name that is a path, a search key, a wrong key. */
static void run_snapshot(struct sq_conn *c, const char *search_key)
{
    struct json_object *a, *doc = parse("{\"id\":\"s1\",\"title\":\"Снимок индекса\"}");
    CHECK(sq_add(c, "sqsnap", doc, &a, &err) == SQ_OK);
    json_object_put(a);
    json_object_put(doc);
    CHECK(sq_snapshot(c, "sqsnap", "c-snap", &a, &err) == SQ_OK);
    CHECK(strcmp(member_str(a, "snapshot"), "c-snap") == 0 && member_int(a, "seq") >= 1);
    printf("sq_e2e: snapshot path %s\n", member_str(a, "path"));
    json_object_put(a);
    static const char *const paths[] = {"../outside", "/tmp/outside", "a/b", ""};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        CHECK(sq_snapshot(c, "sqsnap", paths[i], &a, &err) == SQ_ESERVER &&
              strcmp(err.code, "bad_request") == 0);
        json_object_put(a);
    }
    CHECK(sq_snapshot(c, "sqsnap", "c-snap", &a, &err) == SQ_ESERVER &&
          strcmp(err.code, "bad_request") == 0); /* the name exists */
    json_object_put(a);
    CHECK(sq_auth(c, search_key, &a, &err) == SQ_OK &&
          strcmp(member_str(a, "role"), "search") == 0);
    json_object_put(a);
    CHECK(sq_snapshot(c, "sqsnap", "c-snap-2", &a, &err) == SQ_ESERVER &&
          strcmp(err.code, "forbidden") == 0);
    json_object_put(a);
    CHECK(sq_auth(c, "not a key", &a, &err) == SQ_ESERVER && strcmp(err.code, "unauthorized") == 0);
    json_object_put(a);
}

/* Request i of a phase: batch i of 50 documents, or a search for batch i's word. */
static struct json_object *pipeline_request(bool is_search, int i)
{
    if (is_search) {
        char q[32];
        snprintf(q, sizeof q, "batch%d", i);
        struct sq_search_params p = sq_search_defaults(q);
        p.index = "sqe2e";
        p.limit = 1;
        return sq_req_search(&p);
    }
    struct json_object *docs = json_object_new_array();
    for (int k = 0; k < 50; k++) {
        char text[160];
        snprintf(text, sizeof text,
                 "{\"id\":\"p%d\",\"title\":\"pipelined\",\"body\":\"batch%d word%d\"}", i * 50 + k,
                 i, k);
        json_object_array_add(docs, parse(text));
    }
    struct json_object *req = sq_req_add("sqe2e", docs);
    json_object_put(docs);
    return req;
}

/* The answer to request i: the adds each add 50; each search finds its own batch, so answers
 * out of order would show. */
static void pipeline_check(bool is_search, int i, struct json_object *answer)
{
    if (!is_search) {
        CHECK(member_int(answer, "added") == 50);
        return;
    }
    CHECK(member_int(answer, "total") == 50);
    struct json_object *hits = NULL;
    json_object_object_get_ex(answer, "hits", &hits);
    CHECK(json_object_array_length(hits) == 1);
    int id = atoi(member_str(json_object_array_get_idx(hits, 0), "id") + 1);
    CHECK(id / 50 == i);
}

/* n requests of a phase pipelined under the connection's bound: the sender reads the oldest
 * answer whenever the bound refuses a send. The server answers in order but may run a
 * pipelined search before an add sent ahead of it, so adds and searches are two phases. */
static int run_phase(struct sq_conn *c, bool is_search, int n)
{
    int sent = 0, answered = 0, refused = 0;
    struct json_object *req = NULL;
    while (answered < n) {
        if (!req && sent < n) {
            req = pipeline_request(is_search, sent);
            CHECK(req != NULL);
        }
        int rc = req ? sq_send(c, req, &err) : SQ_ELIMIT;
        if (rc == SQ_OK) {
            json_object_put(req);
            req = NULL;
            sent++;
            continue;
        }
        CHECK(rc == SQ_ELIMIT && sq_inflight(c) > 0);
        refused += req != NULL;
        struct sq_reply r;
        CHECK(sq_recv(c, &r, &err) == SQ_OK);
        pipeline_check(is_search, answered, r.answer);
        sq_reply_free(&r);
        answered++;
    }
    CHECK(sq_inflight(c) == 0);
    return refused;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: sq_e2e ADDRESS|unix:PATH ops | pipeline N | snapshot ADMIN SEARCH\n");
        return 2;
    }
    if (strcmp(argv[2], "ops") == 0) {
        struct sq_conn *c = open_conn(argv[1], 0, ANY_KEY);
        run_doc_ops(c);
        run_index_ops(c);
        sq_close(c);
        printf("sq_e2e: ok ops via %s\n", argv[1]);
        return 0;
    }
    if (strcmp(argv[2], "pipeline") == 0 && argc == 4) {
        int n = atoi(argv[3]);
        struct sq_conn *c = open_conn(argv[1], 64 << 10, ANY_KEY);
        int refused = run_phase(c, false, n);
        run_phase(c, true, n);
        sq_close(c);
        /* the test wants refusals: the bound was reached, and answers were read to go on */
        printf("sq_e2e: ok pipeline %d batches + %d searches via %s; bound refused %d sends\n", n,
               n, argv[1], refused);
        return 0;
    }
    if (strcmp(argv[2], "snapshot") == 0 && argc == 5) {
        struct sq_conn *c = open_conn(argv[1], 0, argv[3]);
        run_snapshot(c, argv[4]);
        sq_close(c);
        printf("sq_e2e: ok snapshot via %s\n", argv[1]);
        return 0;
    }
    fprintf(stderr, "sq_e2e: unknown mode %s\n", argv[2]);
    return 2;
}
