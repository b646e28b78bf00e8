/*
 * sq_test.c: libsearchq without a daemon. Requests are checked as JSON text; answers and
 * pipelining run over a socketpair whose other end plays the server (the test writes its
 * answers before reading, which the socket buffers hold). Connecting is tried against listeners
 * that never accept, their queues full, for the timeout.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "searchq.h"

static const char *plain(struct json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void expect_request(struct json_object *req, const char *want)
{
    assert_non_null(req);
    assert_string_equal(plain(req), want);
    json_object_put(req);
}

static void test_sq_req_search_defaults_send_only_q(void **state)
{
    (void)state;
    struct sq_search_params p = sq_search_defaults("цифровая дипломатия");
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"цифровая дипломатия\"}");
}

static void test_sq_req_search_every_param_is_encoded(void **state)
{
    (void)state;
    struct json_object *w = json_tokener_parse("{\"title\":3}");
    struct sq_search_params p = sq_search_defaults("a/b");
    p.index = "books";
    p.syntax = "simple";
    p.highlight = 1;
    p.highlight_offsets = 0;
    p.snippet_len = 64;
    p.fragments = 2;
    p.limit = 0;
    p.offset = 20;
    p.filter = "year:>=2010";
    p.sort = "year:desc";
    p.facets = "lang";
    p.fields = "*";
    p.highlight_pre = "[";
    p.highlight_post = "]";
    p.snippet = 0;
    p.layout = 0;
    p.typo = 1;
    p.weights = w;
    p.proximity = 0.5;
    p.prefix_last = 1;
    p.drop_words = 0;
    expect_request(sq_req_search(&p),
                   "{\"op\":\"search\",\"index\":\"books\",\"q\":\"a/b\",\"syntax\":\"simple\","
                   "\"prefix_last\":true,\"drop_words\":false,\"highlight\":true,"
                   "\"highlight_offsets\":false,\"snippet_len\":64,"
                   "\"fragments\":2,\"limit\":0,\"offset\":20,\"filter\":\"year:>=2010\","
                   "\"sort\":\"year:desc\",\"facets\":\"lang\",\"fields\":\"*\","
                   "\"highlight_pre\":\"[\",\"highlight_post\":\"]\",\"snippet\":false,"
                   "\"layout\":false,\"typo\":true,\"weights\":{\"title\":3},"
                   "\"proximity\":0.5}");
    /* the request held its own reference: w is still the caller's */
    assert_int_equal(json_object_put(w), 1);
}

/* prefix_last (1.3.0) is a tri-state like the others: left out by default, true or false. */
static void test_sq_req_search_prefix_last_each_form(void **state)
{
    (void)state;
    struct sq_search_params p = sq_search_defaults("дипло");
    assert_int_equal(p.prefix_last, -1);
    p.syntax = "simple";
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"дипло\",\"syntax\":\"simple\"}");
    p.prefix_last = 1;
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"дипло\",\"syntax\":\"simple\","
                                      "\"prefix_last\":true}");
    p.prefix_last = 0;
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"дипло\",\"syntax\":\"simple\","
                                      "\"prefix_last\":false}");
}

/* drop_words (1.4.0) too: -1 sends nothing (the server's default), 0 false, 1 true. */
static void test_sq_req_search_drop_words_each_form(void **state)
{
    (void)state;
    struct sq_search_params p = sq_search_defaults("zebrafinch narwhal");
    assert_int_equal(p.drop_words, -1);
    p.syntax = "simple";
    expect_request(sq_req_search(&p),
                   "{\"op\":\"search\",\"q\":\"zebrafinch narwhal\",\"syntax\":\"simple\"}");
    p.drop_words = 0;
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"zebrafinch narwhal\","
                                      "\"syntax\":\"simple\",\"drop_words\":false}");
    p.drop_words = 1;
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"zebrafinch narwhal\","
                                      "\"syntax\":\"simple\",\"drop_words\":true}");
}

static void test_sq_req_search_proximity_each_form(void **state)
{
    (void)state;
    struct sq_search_params p = sq_search_defaults("a b");
    assert_true(p.proximity == SQ_PROXIMITY_DEFAULT); /* left out: see the defaults test */
    p.proximity = SQ_PROXIMITY_ON;
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"a b\",\"proximity\":true}");
    p.proximity = SQ_PROXIMITY_OFF;
    expect_request(sq_req_search(&p), "{\"op\":\"search\",\"q\":\"a b\",\"proximity\":false}");
    /* weights as typed (not json-c's default %.17g: 0.34999999999999998), the ends included */
    const double weights[] = {0.35, 2, 0, SQ_PROXIMITY_MAX, 0.1 + 0.2};
    const char *const sent[] = {"0.35", "2.0", "0.0", "1000.0", "0.30000000000000004"};
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "{\"op\":\"search\",\"q\":\"a b\",\"proximity\":%s}", sent[i]);
        p.proximity = weights[i];
        assert_int_equal(sq_search_check(&p, NULL), SQ_OK);
        expect_request(sq_req_search(&p), want);
    }
}

static void test_sq_req_ops_encode_as_protocol_md(void **state)
{
    (void)state;
    struct json_object *doc = json_tokener_parse("{\"id\":\"a1\"}");
    struct json_object *docs = json_tokener_parse("[{\"id\":\"a1\"},{\"id\":2}]");
    struct json_object *set = json_tokener_parse("{\"fields\":{}}");
    expect_request(sq_req_add(NULL, doc), "{\"op\":\"add\",\"doc\":{\"id\":\"a1\"}}");
    expect_request(sq_req_add("b", docs),
                   "{\"op\":\"add\",\"index\":\"b\",\"docs\":[{\"id\":\"a1\"},{\"id\":2}]}");
    expect_request(sq_req_get("b", "a1"), "{\"op\":\"get\",\"index\":\"b\",\"id\":\"a1\"}");
    expect_request(sq_req_delete(NULL, "a1"), "{\"op\":\"delete\",\"id\":\"a1\"}");
    expect_request(sq_req_stats(NULL), "{\"op\":\"stats\"}");
    expect_request(sq_req_health(), "{\"op\":\"health\"}");
    expect_request(sq_req_indexes(), "{\"op\":\"indexes\"}");
    expect_request(sq_req_auth("k"), "{\"op\":\"auth\",\"key\":\"k\"}");
    expect_request(sq_req_create_index("b", NULL),
                   "{\"op\":\"create_index\",\"index\":\"b\",\"settings\":{}}");
    expect_request(sq_req_set_settings("b", set),
                   "{\"op\":\"set_settings\",\"index\":\"b\",\"settings\":{\"fields\":{}}}");
    expect_request(sq_req_get_settings("b"), "{\"op\":\"get_settings\",\"index\":\"b\"}");
    expect_request(sq_req_drop_index("b"), "{\"op\":\"drop_index\",\"index\":\"b\"}");
    expect_request(sq_req_snapshot("b", "nightly-1"),
                   "{\"op\":\"snapshot\",\"index\":\"b\",\"name\":\"nightly-1\"}");
    json_object_put(doc);
    json_object_put(docs);
    json_object_put(set);
}

/* 1.5.0: delete with "ids" (a NULL id sent as "", for the server to name), and set_settings
 * with "merge": true, whose JSON nulls (json-c's NULL members) are sent as null. */
static void test_sq_req_delete_ids_and_merge_settings_encode_as_protocol_md(void **state)
{
    (void)state;
    const char *ids[] = {"a1", "б2", NULL};
    expect_request(sq_req_delete_ids(NULL, ids, 2), "{\"op\":\"delete\",\"ids\":[\"a1\",\"б2\"]}");
    expect_request(sq_req_delete_ids("b", ids, 3),
                   "{\"op\":\"delete\",\"index\":\"b\",\"ids\":[\"a1\",\"б2\",\"\"]}");
    expect_request(sq_req_delete_ids("b", NULL, 0),
                   "{\"op\":\"delete\",\"index\":\"b\",\"ids\":[]}");
    struct json_object *patch =
        json_tokener_parse("{\"fields\":{\"isbn\":{\"type\":\"keyword\"}},\"synonyms\":null}");
    expect_request(sq_req_merge_settings("b", patch),
                   "{\"op\":\"set_settings\",\"index\":\"b\",\"settings\":{\"fields\":{\"isbn\":"
                   "{\"type\":\"keyword\"}},\"synonyms\":null},\"merge\":true}");
    json_object_put(patch);
}

static void test_sq_parse_answer_ok_and_error_answers(void **state)
{
    (void)state;
    struct json_object *a;
    struct sq_error err;
    const char *ok = "{\"ok\":true,\"deleted\":1}";
    assert_int_equal(sq_parse_answer(ok, strlen(ok), "srv", &a, &err), SQ_OK);
    assert_non_null(a);
    json_object_put(a);
    const char *bad = "{\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":\"no a1\"}}";
    assert_int_equal(sq_parse_answer(bad, strlen(bad), "srv", &a, &err), SQ_ESERVER);
    assert_non_null(a); /* the error answer is the caller's, to show */
    assert_string_equal(err.code, "not_found");
    assert_string_equal(err.message, "no a1");
    json_object_put(a);
    const char *nocode = "{\"ok\":false}";
    assert_int_equal(sq_parse_answer(nocode, strlen(nocode), "srv", &a, &err), SQ_ESERVER);
    assert_string_equal(err.code, "");
    json_object_put(a);
}

static void test_sq_parse_answer_not_an_object_is_proto_error(void **state)
{
    (void)state;
    const char *cases[] = {"", "[1]", "{\"ok\":true", "{\"ok\":true} x", "hello", "\"ok\""};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_object *a = (struct json_object *)1;
        struct sq_error err;
        assert_int_equal(sq_parse_answer(cases[i], strlen(cases[i]), "srv", &a, &err), SQ_EPROTO);
        assert_null(a);
        assert_non_null(strstr(err.message, "srv sent an answer that is not a JSON object"));
    }
    /* the HTTP API's port given for the line protocol's: said so */
    static const char http[] = "HTTP/1.1 400 Bad Request";
    struct json_object *a = NULL;
    struct sq_error err;
    assert_int_equal(sq_parse_answer(http, sizeof http - 1, "srv", &a, &err), SQ_EPROTO);
    assert_null(a);
    assert_non_null(strstr(err.message, "srv answered in HTTP"));
}

/* A conn over a socketpair: *peer is the server's end. */
static struct sq_conn *pair_conn(const struct sq_options *o, int *peer)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct sq_conn *c;
    struct sq_error err;
    assert_int_equal(sq_attach_fd(sv[0], "pair", o, &c, &err), SQ_OK);
    *peer = sv[1];
    return c;
}

static void peer_write(int peer, const char *s)
{
    assert_int_equal(write(peer, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads exactly len bytes the client sent into buf (NUL-terminated). */
static void peer_read(int peer, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(peer, buf + got, len - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    buf[len] = '\0';
}

/* Values no server takes are refused by the library: sq_search_check names them, the builder
 * builds nothing, and sq_search sends nothing (the peer of the socketpair reads no byte). */
static void test_sq_search_bad_proximity_is_earg_before_sending(void **state)
{
    (void)state;
    int peer;
    struct sq_conn *c = pair_conn(NULL, &peer);
    const double bad[] = {-0.5, -4, SQ_PROXIMITY_MAX + 0.001, INFINITY, -INFINITY, NAN};
    struct sq_search_params p = sq_search_defaults("a b");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.proximity = bad[i];
        struct sq_error err;
        assert_int_equal(sq_search_check(&p, &err), SQ_EARG);
        assert_int_equal(err.status, SQ_EARG);
        assert_non_null(strstr(err.message, "proximity"));
        assert_null(sq_req_search(&p));
        struct json_object *answer = (struct json_object *)1;
        memset(&err, 0, sizeof err);
        assert_int_equal(sq_search(c, &p, &answer, &err), SQ_EARG);
        assert_null(answer);
        assert_non_null(strstr(err.message, "proximity"));
        assert_int_equal(sq_inflight(c), 0);
    }
    char byte;
    assert_int_equal(recv(peer, &byte, 1, MSG_DONTWAIT), -1); /* nothing was sent */
    sq_close(c);
    close(peer);
}

static void test_sq_pipeline_answers_in_order_and_bookkeeping(void **state)
{
    (void)state;
    int peer;
    struct sq_conn *c = pair_conn(NULL, &peer);
    struct sq_error err;
    struct json_object *get = sq_req_get(NULL, "a");
    assert_int_equal(sq_send(c, get, &err), SQ_OK); /* borrowed: still ours */
    json_object_put(get);
    assert_int_equal(sq_inflight(c), 1);
    assert_int_equal(sq_send_line(c, "{\"op\":\"stats\"}\n", 15, &err), SQ_OK);
    assert_int_equal(sq_inflight(c), 2);
    char buf[128];
    peer_read(peer, buf, 22 + 15);
    assert_string_equal(buf, "{\"op\":\"get\",\"id\":\"a\"}\n{\"op\":\"stats\"}\n");
    peer_write(peer, "{\"ok\":true,\"n\":1}\r\n{\"ok\":false,\"error\":{\"code\":\"x\"}}\n");
    struct sq_reply r;
    assert_int_equal(sq_recv(c, &r, &err), SQ_OK);
    assert_string_equal(r.line, "{\"ok\":true,\"n\":1}");
    sq_reply_free(&r);
    assert_int_equal(sq_recv(c, &r, &err), SQ_ESERVER);
    assert_string_equal(err.code, "x");
    sq_reply_free(&r);
    assert_int_equal(sq_inflight(c), 0);
    assert_int_equal(sq_recv(c, &r, &err), SQ_EARG); /* nothing in flight */
    sq_close(c);
    close(peer);
}

static void test_sq_pipeline_bound_refuses_then_allows_after_recv(void **state)
{
    (void)state;
    struct sq_options o = {.max_inflight_bytes = 40, .max_inflight = 3};
    int peer;
    struct sq_conn *c = pair_conn(&o, &peer);
    struct sq_error err;
    const char *line = "{\"op\":\"health\"}\n"; /* 16 bytes */
    assert_int_equal(sq_send_line(c, line, 16, &err), SQ_OK);
    assert_int_equal(sq_send_line(c, line, 16, &err), SQ_OK);
    assert_false(sq_can_send(c, 16)); /* 48 > 40 */
    assert_int_equal(sq_send_line(c, line, 16, &err), SQ_ELIMIT);
    assert_int_equal(sq_inflight(c), 2);
    peer_write(peer, "{\"ok\":true}\n");
    struct sq_reply r;
    assert_int_equal(sq_recv(c, &r, &err), SQ_OK);
    sq_reply_free(&r);
    assert_true(sq_can_send(c, 16));
    /* one request larger than the whole bound may go alone */
    assert_false(sq_can_send(c, 100));
    peer_write(peer, "{\"ok\":true}\n");
    assert_int_equal(sq_recv(c, &r, &err), SQ_OK);
    sq_reply_free(&r);
    assert_true(sq_can_send(c, 100));
    sq_close(c);
    close(peer);
}

static void test_sq_pipeline_count_bound(void **state)
{
    (void)state;
    struct sq_options o = {.max_inflight = 2};
    int peer;
    struct sq_conn *c = pair_conn(&o, &peer);
    struct sq_error err;
    assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_OK);
    assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_OK);
    assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_ELIMIT);
    /* the ring grows past its first size when the count is unbounded */
    sq_close(c);
    close(peer);
    c = pair_conn(NULL, &peer);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_OK);
        peer_write(peer, i % 2 ? "{\"ok\":true,\"i\":1}\n" : "{\"ok\":true,\"i\":0}\n");
    }
    for (int i = 0; i < 40; i++) {
        struct sq_reply r;
        assert_int_equal(sq_recv(c, &r, &err), SQ_OK);
        assert_string_equal(r.line, i % 2 ? "{\"ok\":true,\"i\":1}" : "{\"ok\":true,\"i\":0}");
        sq_reply_free(&r);
    }
    sq_close(c);
    close(peer);
}

static void test_sq_send_line_rejects_lines_that_are_not_one_line(void **state)
{
    (void)state;
    int peer;
    struct sq_conn *c = pair_conn(NULL, &peer);
    struct sq_error err;
    assert_int_equal(sq_send_line(c, "{}", 2, &err), SQ_EARG);
    assert_int_equal(sq_send_line(c, "{}\n{}\n", 6, &err), SQ_EARG);
    assert_int_equal(sq_send_line(c, "", 0, &err), SQ_EARG);
    assert_int_equal(sq_inflight(c), 0);
    assert_int_equal(sq_send(c, NULL, &err), SQ_ENOMEM);
    sq_close(c);
    close(peer);
}

static void test_sq_recv_closed_mid_answer_is_connect_error(void **state)
{
    (void)state;
    int peer;
    struct sq_conn *c = pair_conn(NULL, &peer);
    struct sq_error err;
    assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_OK);
    char req[4];
    peer_read(peer, req, 3); /* unread bytes would make close() a reset */
    peer_write(peer, "{\"ok\":tr");
    close(peer);
    struct sq_reply r;
    assert_int_equal(sq_recv(c, &r, &err), SQ_ECONNECT);
    assert_string_equal(err.message, "pair closed the connection in the middle of an answer");
    sq_reply_free(&r);
    sq_close(c);
}

/* The server closed a connection with nothing in flight (its --idle-timeout, a restart): the
 * next send says so before writing, and the request is not in flight, so the caller knows it
 * was not sent. It was written into the closed socket (EPIPE, or "sent" into the void) and
 * counted in flight, its fate unknown. A refusal the server wrote before closing (busy at its
 * limits) is still read as the answer. */
static void test_sq_send_on_a_connection_closed_while_idle_sends_nothing(void **state)
{
    (void)state;
    int peer;
    struct sq_conn *c = pair_conn(NULL, &peer);
    struct sq_error err;
    struct json_object *answer = NULL;
    assert_int_equal(sq_send_line(c, "{\"op\":\"health\"}\n", 16, &err), SQ_OK);
    char req[17];
    peer_read(peer, req, 16);
    peer_write(peer, "{\"ok\":true}\n");
    struct sq_reply r;
    assert_int_equal(sq_recv(c, &r, &err), SQ_OK);
    sq_reply_free(&r);
    close(peer); /* idle: the server closes it */
    assert_int_equal(sq_send_line(c, "{\"op\":\"health\"}\n", 16, &err), SQ_ECONNECT);
    assert_non_null(strstr(err.message, "pair closed the connection while it was idle"));
    assert_non_null(strstr(err.message, "nothing was sent"));
    assert_int_equal(sq_inflight(c), 0);
    sq_close(c);
    /* the server's word before its close is an answer, not a silent end */
    c = pair_conn(NULL, &peer);
    peer_write(peer, "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"full\"}}\n");
    close(peer);
    int rc = sq_call(c, sq_req_health(), &answer, &err);
    assert_true(rc == SQ_ESERVER || rc == SQ_ECONNECT); /* the write may meet the close first */
    if (rc == SQ_ESERVER) {
        assert_string_equal(err.code, "busy");
    }
    json_object_put(answer);
    sq_close(c);
}

static void test_sq_recv_line_over_max_line_is_proto_error(void **state)
{
    (void)state;
    struct sq_options o = {.max_line = 1000};
    int peer;
    struct sq_conn *c = pair_conn(&o, &peer);
    struct sq_error err;
    assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_OK);
    static char big[100000]; /* under a socketpair's buffer */
    memset(big, 'x', sizeof big - 1);
    peer_write(peer, big);
    struct sq_reply r;
    assert_int_equal(sq_recv(c, &r, &err), SQ_EPROTO);
    assert_non_null(strstr(err.message, "sent a line longer than"));
    sq_reply_free(&r);
    sq_close(c);
    close(peer);
}

static void test_sq_call_with_answers_pending_is_refused(void **state)
{
    (void)state;
    int peer;
    struct sq_conn *c = pair_conn(NULL, &peer);
    struct sq_error err;
    struct json_object *a;
    assert_int_equal(sq_send_line(c, "{}\n", 3, &err), SQ_OK);
    assert_int_equal(sq_health(c, &a, &err), SQ_EARG);
    assert_null(a);
    sq_close(c);
    close(peer);
}

static void test_sq_connect_bad_addresses(void **state)
{
    (void)state;
    struct sq_conn *c = (struct sq_conn *)1;
    struct sq_error err;
    struct sq_options o = {.address = "nocolon"};
    assert_int_equal(sq_connect(&o, &c, &err), SQ_EADDR);
    assert_null(c);
    /* a port that is not a number from 1 to 65535 is a malformed address, not a failure to
     * connect (getaddrinfo took "http", and said "Servname not supported" of "notaport") */
    const char *const bad_ports[] = {"localhost:notaport", "localhost:http", "127.0.0.1:0",
                                     "127.0.0.1:65536",    "127.0.0.1:-1",   "127.0.0.1:7701x",
                                     "127.0.0.1:",         "[::1]:123456"};
    for (size_t k = 0; k < sizeof bad_ports / sizeof bad_ports[0]; k++) {
        o.address = bad_ports[k];
        assert_int_equal(sq_connect(&o, &c, &err), SQ_EADDR);
        assert_non_null(strstr(err.message, bad_ports[k]));
    }
    char path[300];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    struct sq_options u = {.unix_path = path};
    assert_int_equal(sq_connect(&u, &c, &err), SQ_EADDR);
    /* nothing listens there */
    struct sq_options r = {.unix_path = "/nonexistent/searchd.sock"};
    assert_int_equal(sq_connect(&r, &c, &err), SQ_ECONNECT);
    assert_non_null(strstr(err.message, "cannot connect to /nonexistent/searchd.sock"));
    struct sq_options t = {.unix_path = "/x", .tls = true};
    assert_int_equal(sq_connect(&t, &c, &err), SQ_EARG);
    struct sq_options i = {.address = "127.0.0.1:1", .tls_insecure = true};
    assert_int_equal(sq_connect(&i, &c, &err), SQ_EARG);
    assert_string_equal(sq_status_name(SQ_ELIMIT), "SQ_ELIMIT");
    sq_close(NULL);
}

/* Fills the accept queue of a listener that never accepts: connects from non-blocking sockets
 * until one cannot complete now (or 64 did), which stay open in fds[] (-1 past the last). */
static void fill_backlog(const struct sockaddr *sa, socklen_t len, int fds[64])
{
    for (int i = 0; i < 64; i++) {
        fds[i] = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fds[i] >= 0);
        if (connect(fds[i], sa, len) != 0) {
            close(fds[i]);
            fds[i] = -1;
            return;
        }
    }
}

/* Connects with timeout_sec 1 to a listener whose queue is full: SQ_ECONNECT saying so within a
 * few seconds. A blocking connect() ignored the timeout: some 130 s of SYN retries over TCP, for
 * ever on a Unix socket. SIGALRM (default action: the test dies) catches a hang. */
static void expect_connect_times_out(const struct sq_options *o)
{
    struct sq_conn *c = NULL;
    struct sq_error err;
    time_t t0 = time(NULL);
    alarm(30);
    assert_int_equal(sq_connect(o, &c, &err), SQ_ECONNECT);
    alarm(0);
    assert_null(c);
    assert_true(time(NULL) - t0 < 10);
    assert_non_null(strstr(err.message, "no answer within 1 s"));
}

static void test_sq_connect_is_bounded_by_the_timeout(void **state)
{
    (void)state;
    int fds[64];
    /* TCP: SYNs to a full queue are dropped, the connect retries them */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof in;
    assert_int_equal(bind(l, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(listen(l, 0), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&in, &len), 0);
    int one = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(one, (struct sockaddr *)&in, sizeof in), 0); /* the queue's one */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(in.sin_port));
    struct sq_options o = {.address = addr, .timeout_sec = 1};
    expect_connect_times_out(&o);
    close(one);
    close(l);
    /* a Unix socket: connect waits for room in the queue */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "/tmp/sq_test-%d.sock", (int)getpid());
    unlink(un.sun_path);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(l, (struct sockaddr *)&un, sizeof un), 0);
    assert_int_equal(listen(l, 0), 0);
    fill_backlog((struct sockaddr *)&un, sizeof un, fds);
    struct sq_options u = {.unix_path = un.sun_path, .timeout_sec = 1};
    expect_connect_times_out(&u);
    for (int i = 0; i < 64 && fds[i] >= 0; i++) {
        close(fds[i]);
    }
    close(l);
    unlink(un.sun_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sq_req_search_defaults_send_only_q),
        cmocka_unit_test(test_sq_req_search_every_param_is_encoded),
        cmocka_unit_test(test_sq_req_search_prefix_last_each_form),
        cmocka_unit_test(test_sq_req_search_drop_words_each_form),
        cmocka_unit_test(test_sq_req_search_proximity_each_form),
        cmocka_unit_test(test_sq_search_bad_proximity_is_earg_before_sending),
        cmocka_unit_test(test_sq_req_ops_encode_as_protocol_md),
        cmocka_unit_test(test_sq_req_delete_ids_and_merge_settings_encode_as_protocol_md),
        cmocka_unit_test(test_sq_parse_answer_ok_and_error_answers),
        cmocka_unit_test(test_sq_parse_answer_not_an_object_is_proto_error),
        cmocka_unit_test(test_sq_pipeline_answers_in_order_and_bookkeeping),
        cmocka_unit_test(test_sq_pipeline_bound_refuses_then_allows_after_recv),
        cmocka_unit_test(test_sq_pipeline_count_bound),
        cmocka_unit_test(test_sq_send_line_rejects_lines_that_are_not_one_line),
        cmocka_unit_test(test_sq_recv_closed_mid_answer_is_connect_error),
        cmocka_unit_test(test_sq_send_on_a_connection_closed_while_idle_sends_nothing),
        cmocka_unit_test(test_sq_recv_line_over_max_line_is_proto_error),
        cmocka_unit_test(test_sq_call_with_answers_pending_is_refused),
        cmocka_unit_test(test_sq_connect_bad_addresses),
        cmocka_unit_test(test_sq_connect_is_bounded_by_the_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
