/*
 * fuzz_reply.c: libsearchq reading the daemon's answers (sq_conn.c's lines, sq_pipe.c's
 * answers) from bytes a peer sends on a socketpair. Byte 0 picks the longest line accepted
 * (64 bytes to 128 KB) and how many requests are in flight (1 to 8); the rest is what the
 * "server" writes before closing. Every answer read must be what searchq.h promises: an
 * object with "ok": true, its line NUL-terminated and without a newline; an error answer
 * leaves the connection usable; anything else ends the reading, never a crash or a hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "searchq.h"

static void check_answer(const struct sq_reply *r)
{
    struct json_object *ok = NULL;
    if (!json_object_is_type(r->answer, json_type_object) ||
        !json_object_object_get_ex(r->answer, "ok", &ok) || !json_object_get_boolean(ok) ||
        !r->line || strchr(r->line, '\n')) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 65536) {
        return 0; /* more would not fit the socket's buffer before anyone reads */
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        abort();
    }
    int buf = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    struct sq_options opts = {.max_line = (size_t)64 << (data[0] % 12)};
    size_t requests = 1 + (size_t)(data[0] >> 4) % 8;
    struct sq_conn *c = NULL;
    struct sq_error err;
    if (sq_attach_fd(sv[0], "fuzz", &opts, &c, &err) != SQ_OK) {
        abort();
    }
    static const char health[] = "{\"op\":\"health\"}\n";
    for (size_t i = 0; i < requests; i++) {
        if (sq_send_line(c, health, sizeof health - 1, &err) != SQ_OK) {
            abort();
        }
    }
    if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
        abort();
    }
    shutdown(sv[1], SHUT_WR);
    for (size_t i = 0; i < requests; i++) {
        struct sq_reply reply = {0};
        int rc = sq_recv(c, &reply, &err);
        if (rc == SQ_OK) {
            check_answer(&reply);
        }
        sq_reply_free(&reply);
        if (rc != SQ_OK && rc != SQ_ESERVER) {
            break;
        }
    }
    sq_close(c);
    close(sv[1]);
    return 0;
}
