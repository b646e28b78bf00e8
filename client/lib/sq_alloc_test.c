/*
 * sq_alloc_test.c: libsearchq with its 1st, 2nd, 3rd... allocation failing (tests/alloc/
 * failalloc.h): connecting a socket, sending a request, reading its answer. Each failure must
 * be SQ_ENOMEM with nothing half done (no request counted in flight that was not sent, the
 * connection still usable, nothing leaked under ASan), until the run gets past the last
 * allocation and succeeds. json-c's own allocations are not wrapped (a shared library).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "failalloc.h"
#include "searchq.h"

/* attach, send, answer, receive; returns the first failure's status. */
static int alloc_roundtrip(int peer, int fd, struct json_object *req)
{
    struct sq_conn *c;
    struct sq_error err;
    int rc = sq_attach_fd(fd, "pair", NULL, &c, &err);
    if (rc != SQ_OK) {
        return rc; /* fd is closed */
    }
    rc = sq_send(c, req, &err);
    if (rc == SQ_OK) {
        static const char answer[] = "{\"ok\":true,\"status\":\"ok\"}\n";
        assert_int_equal(write(peer, answer, sizeof answer - 1), (ssize_t)sizeof answer - 1);
        struct sq_reply r;
        rc = sq_recv(c, &r, &err);
        if (rc == SQ_OK) {
            assert_string_equal(r.line, "{\"ok\":true,\"status\":\"ok\"}");
        }
        sq_reply_free(&r);
    } else {
        assert_int_equal(sq_inflight(c), 0); /* a request not sent is not in flight */
    }
    sq_close(c);
    return rc;
}

static void test_sq_alloc_every_failure_is_enomem_then_success(void **state)
{
    (void)state;
    struct json_object *req = sq_req_health();
    for (unsigned long n = 1;; n++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        failalloc_arm(n);
        int rc = alloc_roundtrip(sv[1], sv[0], req);
        bool fired = failalloc_disarm();
        close(sv[1]);
        if (!fired) {
            assert_int_equal(rc, SQ_OK);
            assert_true(n > 3); /* conn, request line, in-flight ring, read buffer */
            break;
        }
        assert_int_equal(rc, SQ_ENOMEM);
    }
    json_object_put(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sq_alloc_every_failure_is_enomem_then_success),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
