/*
 * srv_test.c: the server in process (test_srv): a real idx_db on a temporary
 * directory, srv_run() on its own thread, ephemeral ports, and plain blocking
 * sockets as clients. Checks what only the whole server can show: pipelined
 * answers in request order, the broken-stream rule, HTTP routing and
 * keep-alive, the connection limit, and a graceful shutdown that answers
 * what was already sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "idx.h"
#include "srv.h"

/* The health answer of a sound server. */
#define HEALTH_OK "{\"ok\":true,\"status\":\"ok\",\"version\":\"" SEARCHD_VERSION "\"}"

struct fixture {
    char dir[64];
    struct idx_db *db;
    struct srv *srv;
    pthread_t loop;
};

static void *loop_main(void *arg)
{
    srv_run(arg);
    return NULL;
}

static unsigned request_timeout_s; /* 0: the default */

static struct fixture *start_server(unsigned max_conns)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/srv_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct idx_config cfg;
    idx_config_default(&cfg);
    cfg.data_dir = f->dir;
    struct sd_error err = {0};
    assert_int_equal(idx_open(&cfg, &f->db, &err), SD_OK);
    struct srv_config sc;
    srv_config_default(&sc);
    sc.http_addr = "127.0.0.1:0";
    sc.line_addr = "127.0.0.1:0";
    sc.workers = 2;
    sc.max_request = 4096;
    sc.handle_signals = false;
    if (max_conns) {
        sc.max_connections = max_conns;
    }
    sc.request_timeout_s = request_timeout_s;
    if (srv_new(&sc, f->db, &f->srv, &err)) {
        fail_msg("srv_new: %s", err.msg);
    }
    assert_int_equal(pthread_create(&f->loop, NULL, loop_main, f->srv), 0);
    return f;
}

static void stop_server(struct fixture *f)
{
    srv_shutdown(f->srv);
    pthread_join(f->loop, NULL);
    srv_free(f->srv);
    idx_close(f->db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* ---- a blocking client ---- */

struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static void client_open(struct client *c, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    struct sd_error err;
    assert_int_equal(srv_parse_addr(addr, &ss, &sl, &err), SD_OK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct timeval tv = {10, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&ss, sl), 0);
    c->len = 0;
}

static void client_send(struct client *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* Next '\n'-terminated line into out (NUL-terminated, without '\n'); false at EOF. */
static bool client_line(struct client *c, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            assert_true(n < cap);
            memcpy(out, c->buf, n);
            out[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return true;
        }
        assert_true(c->len < sizeof c->buf);
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r <= 0) {
            return false;
        }
        c->len += (size_t)r;
    }
}

/* Reads until EOF (or the buffer is full) and returns it NUL-terminated. */
static char *client_read_all(struct client *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
        if (r <= 0 || c->len + (size_t)r >= sizeof c->buf - 1) {
            if (r > 0) {
                c->len += (size_t)r;
            }
            break;
        }
        c->len += (size_t)r;
    }
    c->buf[c->len] = '\0';
    return c->buf;
}

/* One request line, one answer line. */
static void roundtrip(struct client *c, const char *req, char *out, size_t cap)
{
    client_send(c, req, strlen(req));
    assert_true(client_line(c, out, cap));
}

/* ---- tests ---- */

static void test_srv_line_pipelined_answers_in_request_order(void **state)
{
    (void)state;
    struct fixture *f = start_server(0);
    struct client c;
    client_open(&c, srv_line_addr(f->srv));
    enum { N = 600 };
    static char reqs[N * 64];
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        switch (i % 4) {
        case 0: /* a worker: not found, the message names the id */
            len += (size_t)sprintf(reqs + len, "{\"op\":\"get\",\"id\":\"k%d\"}\n", i);
            break;
        case 1: /* inline on the loop */
            len += (size_t)sprintf(reqs + len, "{\"op\":\"stats\"}\n");
            break;
        case 2: /* a parse error, answered at once */
            len += (size_t)sprintf(reqs + len, "garbage %d\n", i);
            break;
        default: /* a search on a worker */
            len +=
                (size_t)sprintf(reqs + len, "{\"op\":\"search\",\"q\":\"w%d\",\"limit\":0}\n", i);
            break;
        }
    }
    client_send(&c, reqs, len);
    char line[4096], want[64];
    for (int i = 0; i < N; i++) {
        assert_true(client_line(&c, line, sizeof line));
        switch (i % 4) {
        case 0:
            snprintf(want, sizeof want, "'k%d'", i);
            assert_non_null(strstr(line, "\"not_found\""));
            assert_non_null(strstr(line, want));
            break;
        case 1:
            assert_non_null(strstr(line, "\"docs\":"));
            break;
        case 2:
            assert_non_null(strstr(line, "\"bad_json\""));
            break;
        default:
            assert_non_null(strstr(line, "\"total\":0"));
            break;
        }
    }
    close(c.fd);
    stop_server(f);
}

static void test_srv_line_too_long_gets_too_large_then_close(void **state)
{
    (void)state;
    struct fixture *f = start_server(0);
    struct client c;
    client_open(&c, srv_line_addr(f->srv));
    char big[6000];
    memset(big, 'x', sizeof big);
    const char *first = "{\"op\":\"health\"}\n";
    client_send(&c, first, strlen(first));
    client_send(&c, big, sizeof big);
    char *all = client_read_all(&c); /* the server closes after the error line */
    assert_non_null(strstr(all, HEALTH_OK "\n"));
    assert_non_null(strstr(all, "\"too_large\""));
    close(c.fd);
    /* the server still serves */
    client_open(&c, srv_line_addr(f->srv));
    char line[512];
    roundtrip(&c, "{\"op\":\"health\"}\r\n", line, sizeof line);
    assert_string_equal(line, HEALTH_OK);
    roundtrip(&c, "\xff\xfe{}\n", line, sizeof line);
    assert_non_null(strstr(line, "\"bad_utf8\""));
    roundtrip(&c, "{\"op\":\"nope\"}\n", line, sizeof line);
    assert_non_null(strstr(line, "\"unknown_op\""));
    close(c.fd);
    stop_server(f);
}

static void test_srv_line_add_get_delete(void **state)
{
    (void)state;
    struct fixture *f = start_server(0);
    struct client c;
    client_open(&c, srv_line_addr(f->srv));
    char line[4096];
    roundtrip(&c,
              "{\"op\":\"add\",\"index\":\"t1\",\"doc\":{\"id\":\"a1\",\"title\":\"Цифровая "
              "дипломатия\",\"body\":\"x\\ny\",\"n\":[1,2]}}\n",
              line, sizeof line);
    assert_string_equal(line, "{\"ok\":true,\"added\":1,\"replaced\":0}");
    bool seen = false; /* searchable within the refresh interval */
    for (int i = 0; i < 100 && !seen; i++) {
        roundtrip(&c, "{\"op\":\"get\",\"index\":\"t1\",\"id\":\"a1\"}\n", line, sizeof line);
        seen = strncmp(line, "{\"ok\":true", 10) == 0;
        if (!seen) {
            usleep(20 * 1000);
        }
    }
    assert_true(seen);
    assert_string_equal(line, "{\"ok\":true,\"doc\":{\"id\":\"a1\",\"title\":\"Цифровая "
                              "дипломатия\",\"body\":\"x\\ny\",\"n\":[1,2]}}");
    roundtrip(&c, "{\"op\":\"delete\",\"index\":\"t1\",\"id\":\"a1\"}\n", line, sizeof line);
    assert_string_equal(line, "{\"ok\":true,\"deleted\":1}");
    roundtrip(&c, "{\"op\":\"delete\",\"index\":\"t1\",\"id\":\"a1\"}\n", line, sizeof line);
    assert_non_null(strstr(line, "\"not_found\""));
    roundtrip(&c, "{\"op\":\"search\",\"index\":\"nope\",\"q\":\"x\"}\n", line, sizeof line);
    assert_non_null(strstr(line, "\"unknown_index\""));
    roundtrip(&c, "{\"op\":\"stats\",\"index\":\"nope\"}\n", line, sizeof line);
    assert_non_null(strstr(line, "\"unknown_index\""));
    close(c.fd);
    stop_server(f);
}

static void test_srv_http_routes_and_keepalive(void **state)
{
    (void)state;
    struct fixture *f = start_server(0);
    struct client c;
    client_open(&c, srv_http_addr(f->srv));
    const char *reqs = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       "PUT /docs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
                       "GET /search?q=x&index=missing HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       "GET /stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    client_send(&c, reqs, strlen(reqs));
    char *all = client_read_all(&c);
    const char *want[] = {
        "HTTP/1.1 200 OK",
        HEALTH_OK,
        "HTTP/1.1 404 Not Found",
        "\"message\":\"no such path\"",
        "HTTP/1.1 405 Method Not Allowed",
        "Allow: POST",
        "\"method_not_allowed\"",
        "HTTP/1.1 404",
        "\"unknown_index\"",
        "HTTP/1.1 200 OK",
        "\"index\":\"default\"",
    };
    const char *p = all;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(p, want[i]);
        if (!hit) {
            fail_msg("missing '%s' after offset %zu in:\n%s", want[i], (size_t)(p - all), all);
        }
        p = hit + strlen(want[i]);
    }
    assert_non_null(strstr(all, "Content-Type: application/json"));
    close(c.fd);
    stop_server(f);
}

/* --max-connections counts both protocols from accept; at the limit the
 * oldest idle connection makes room, and only when none is idle is the new
 * one refused, in its own protocol's shape. */
static void test_srv_max_connections_evicts_idle_then_refuses(void **state)
{
    (void)state;
    struct fixture *f = start_server(2);
    struct client a, b, extra, http;
    char line[512];
    client_open(&a, srv_line_addr(f->srv));
    roundtrip(&a, "{\"op\":\"health\"}\n", line, sizeof line);
    client_open(&b, srv_line_addr(f->srv));
    roundtrip(&b, "{\"op\":\"health\"}\n", line, sizeof line);
    /* both idle: the third evicts a, the oldest */
    client_open(&extra, srv_line_addr(f->srv));
    roundtrip(&extra, "{\"op\":\"health\"}\n", line, sizeof line);
    assert_string_equal(line, HEALTH_OK);
    assert_false(client_line(&a, line, sizeof line)); /* a was closed */
    close(a.fd);
    /* b and extra in the middle of a request: not idle, nobody to evict */
    client_send(&b, "{\"op\"", 5);
    client_send(&extra, "{\"op\"", 5);
    usleep(500 * 1000); /* let the server read them (no way to observe it) */
    client_open(&a, srv_line_addr(f->srv));
    assert_true(client_line(&a, line, sizeof line));
    assert_non_null(strstr(line, "\"busy\""));
    assert_false(client_line(&a, line, sizeof line)); /* closed */
    close(a.fd);
    /* HTTP is counted from accept and refused the same way, as JSON */
    client_open(&http, srv_http_addr(f->srv));
    char *all = client_read_all(&http);
    assert_non_null(strstr(all, "HTTP/1.1 503 Service Unavailable"));
    assert_non_null(strstr(all, "Content-Type: application/json"));
    assert_non_null(strstr(all, "\"code\":\"busy\""));
    close(http.fd);
    /* the two requests complete and are answered */
    client_send(&b, ":\"health\"}\n", 11);
    assert_true(client_line(&b, line, sizeof line));
    assert_string_equal(line, HEALTH_OK);
    client_send(&extra, ":\"health\"}\n", 11);
    assert_true(client_line(&extra, line, sizeof line));
    /* idle again: an HTTP client gets in by evicting one */
    const char *get = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < 4; i++) {
        client_open(&http, srv_http_addr(f->srv));
        client_send(&http, get, strlen(get));
        assert_non_null(strstr(client_read_all(&http), "HTTP/1.1 200 OK"));
        close(http.fd);
    }
    close(b.fd);
    close(extra.fd);
    stop_server(f);
}

/* Issue 10: a request trickled a byte at a time still meets its deadline,
 * counted from its first byte; line and HTTP each get their error shape. */
static void test_srv_request_deadline_is_not_reset_by_trickled_bytes(void **state)
{
    (void)state;
    request_timeout_s = 1;
    struct fixture *f = start_server(0);
    request_timeout_s = 0;
    struct client line, http;
    client_open(&line, srv_line_addr(f->srv));
    client_open(&http, srv_http_addr(f->srv));
    const char *lreq = "{\"op\":\"health\"}";
    const char *hreq = "GET /health HTTP/1.1\r\nHost: localhost\r\n";
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    for (size_t i = 0; i < 12; i++) { /* 2.4 s of trickle: past the deadline */
        if (i < strlen(lreq)) {
            (void)send(line.fd, lreq + i, 1, MSG_NOSIGNAL);
        }
        (void)send(http.fd, hreq + i, 1, MSG_NOSIGNAL);
        usleep(200 * 1000);
    }
    char *all = client_read_all(&line);
    gettimeofday(&t1, NULL);
    assert_non_null(strstr(all, "\"code\":\"timeout\""));
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6;
    assert_true(secs >= 0.9);
    all = client_read_all(&http);
    assert_non_null(strstr(all, "HTTP/1.1 408 Request Timeout"));
    assert_non_null(strstr(all, "Connection: close"));
    assert_non_null(strstr(all, "\"code\":\"timeout\""));
    close(line.fd);
    close(http.fd);
    stop_server(f);
}

static void test_srv_shutdown_answers_requests_already_read(void **state)
{
    (void)state;
    struct fixture *f = start_server(0);
    struct client c;
    client_open(&c, srv_line_addr(f->srv));
    char reqs[64 * 50];
    size_t len = 0;
    for (int i = 0; i < 50; i++) {
        len += (size_t)sprintf(reqs + len,
                               "{\"op\":\"add\",\"doc\":{\"id\":\"s%d\",\"body\":\"b\"}}\n", i);
    }
    client_send(&c, reqs, len);
    char line[512];
    assert_true(client_line(&c, line, sizeof line)); /* the server has read them */
    srv_shutdown(f->srv);
    int answered = 1;
    while (client_line(&c, line, sizeof line)) {
        assert_true(strncmp(line, "{\"ok\":true,\"added\":1", 20) == 0 ||
                    strstr(line, "\"busy\"") != NULL);
        answered++;
    }
    assert_true(answered >= 1);
    pthread_join(f->loop, NULL);
    srv_free(f->srv);
    f->srv = NULL;
    idx_close(f->db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    close(c.fd);
}

static void test_srv_parse_addr_strict(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    struct sd_error err;
    assert_int_equal(srv_parse_addr("127.0.0.1:7700", &ss, &len, &err), SD_OK);
    assert_int_equal(srv_parse_addr("[::1]:0", &ss, &len, &err), SD_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(srv_parse_addr("localhost:65535", &ss, &len, &err), SD_OK);
    const char *bad[] = {"127.0.0.1",       ":80",    "127.0.0.1:",   "127.0.0.1:65536",
                         "127.0.0.1:8x",    "::1:80", "[::1]",        "300.1.1.1:80",
                         "host.example:80", "[zz]:1", "127.0.0.1:-1", "127.0.0.1:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(srv_parse_addr(bad[i], &ss, &len, &err), SD_EINVAL);
    }
    char out[64];
    assert_int_equal(srv_parse_addr("[::1]:81", &ss, &len, &err), SD_OK);
    srv_format_addr((struct sockaddr *)&ss, out, sizeof out);
    assert_string_equal(out, "[::1]:81");
}

/* The list settings' rules, as srv_new and a reload apply them and as the settings' reader
 * checks them ahead (srv_check_cors, srv_check_keys): entries by number, none empty, and a
 * key entry's bytes never in the message. */
static void test_srv_check_lists(void **state)
{
    (void)state;
    struct sd_error err;
    char good[80];
    snprintf(good, sizeof good, "sha256:%064d", 7);
    char two[200];
    snprintf(two, sizeof two, " %s ,\t%s", good, good);
    assert_int_equal(srv_check_keys(two, "admin-keys", &err), SD_OK);
    assert_int_equal(srv_check_keys(NULL, "admin-keys", &err), SD_OK);
    assert_int_equal(srv_check_keys(" ", "admin-keys", &err), SD_OK); /* blank: no key */
    static const struct {
        const char *list, *said;
    } bad_keys[] = {
        {"abc", "search-keys: entry 1 is 3 bytes long, not sha256:<64 hex digits>"},
        {"sha256:0123", "entry 1 is 11 bytes long"},
        {"%s,,%s", "search-keys: entry 2 is empty"},
        {"%s,", "search-keys: entry 2 is empty"},
        {"%s, sha512:0000000000000000000000000000000000000000000000000000000000000000",
         "entry 2 does not begin with sha256:"},
        {"sha256:000000000000000000000000000000000000000000000000000000000000000g",
         "entry 1: not a hex digit after sha256:"},
    };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        char list[300];
        snprintf(list, sizeof list, bad_keys[i].list, good, good);
        assert_int_equal(srv_check_keys(list, "search-keys", &err), SD_EINVAL);
        assert_non_null(strstr(err.msg, bad_keys[i].said));
        assert_null(strstr(err.msg, "abc"));
        assert_null(strstr(err.msg, "0123"));
    }
    char many[100 * 72] = "";
    for (int i = 0; i < 65; i++) {
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s%s", i ? "," : "", good);
    }
    assert_int_equal(srv_check_keys(many, "admin-keys", &err), SD_ELIMIT);

    assert_int_equal(srv_check_cors("https://a.example, *,http://b.example:8080", "c", &err),
                     SD_OK);
    assert_int_equal(srv_check_cors("foo", "--cors-origins", &err), SD_EINVAL);
    assert_string_equal(err.msg, "--cors-origins: entry 1: 'foo' is not an origin "
                                 "(scheme://host[:port], or *)");
    assert_int_equal(srv_check_cors("http://a.example,,http://b.example", "c", &err), SD_EINVAL);
    assert_string_equal(err.msg, "c: entry 2 is empty");
    assert_int_equal(srv_check_cors("http://a.example/path", "c", &err), SD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srv_parse_addr_strict),
        cmocka_unit_test(test_srv_check_lists),
        cmocka_unit_test(test_srv_line_pipelined_answers_in_request_order),
        cmocka_unit_test(test_srv_line_too_long_gets_too_large_then_close),
        cmocka_unit_test(test_srv_line_add_get_delete),
        cmocka_unit_test(test_srv_http_routes_and_keepalive),
        cmocka_unit_test(test_srv_max_connections_evicts_idle_then_refuses),
        cmocka_unit_test(test_srv_request_deadline_is_not_reset_by_trickled_bytes),
        cmocka_unit_test(test_srv_shutdown_answers_requests_already_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
