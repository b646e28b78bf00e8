/*
 * sq_int.h: libsearchq's private parts (never included from outside client/lib/).
 *
 *   sq_conn.c   the socket: dial TCP or Unix, write everything, read lines of any length
 *   sq_tls.c    TLS on that socket, with OpenSSL
 *   sq_pipe.c   requests out, answers in, and the in-flight bookkeeping of pipelining
 *   sq_req.c    a request object for every op, and the one-call wrappers
 *   sq_compat.c the SEARCHQ_1 entry points on the 1.1 layout of struct sq_search_params
 *   sq_error.c  struct sq_error helpers
 */
#ifndef SEARCHQ_SQ_INT_H
#define SEARCHQ_SQ_INT_H

#include <sys/types.h>

#include "searchq.h"

struct ssl_st;     /* OpenSSL's SSL */
struct ssl_ctx_st; /* and SSL_CTX */

struct sq_conn {
    int fd;
    struct ssl_st *ssl;         /* owned: TLS on fd, or NULL */
    struct ssl_ctx_st *ssl_ctx; /* owned, with ssl */
    char addr[512];             /* what we connected to, for messages */
    int timeout_sec;
    size_t max_line;
    char *buf; /* owned; bytes read but not yet returned are buf[start, len) */
    size_t start;
    size_t scan; /* buf[start, scan) is known to hold no '\n' */
    size_t len;
    size_t cap;
    /* Pipelining: the byte length of each request in flight, a ring, oldest at head. */
    size_t *sizes; /* owned */
    size_t sizes_cap, head, inflight;
    size_t inflight_bytes;
    size_t max_inflight_bytes, max_inflight; /* max_inflight 0: no bound on the count */
};

/* Fills err (may be NULL) and returns status. */
int sq_errorf(struct sq_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sq_conn.c */
int sq_conn_write(struct sq_conn *c, const char *data, size_t len, struct sq_error *err);
/* True when the server has ended the stream and nothing of it is left to read: its FIN (or an
 * error) is all the socket holds. Never waits. */
bool sq_conn_peer_closed(const struct sq_conn *c);
/* One line without "\n" or "\r\n", NUL-terminated in the conn's buffer: valid until the next
 * read. Lines longer than c->max_line are SQ_EPROTO; end of stream and timeouts SQ_ECONNECT. */
int sq_conn_read_line(struct sq_conn *c, char **line, size_t *len, struct sq_error *err);

/* sq_tls.c: the client side of a handshake on c->fd with the server named host (borrowed). */
int sq_tls_start(struct sq_conn *c, const struct sq_options *opts, const char *host,
                 struct sq_error *err);
void sq_tls_close(struct sq_conn *c);
/* send/recv through TLS: bytes moved, 0 at the end of the stream (recv), -1 with errno. */
ssize_t sq_tls_send(struct sq_conn *c, const char *data, size_t len);
ssize_t sq_tls_recv(struct sq_conn *c, char *buf, size_t cap);

#endif /* SEARCHQ_SQ_INT_H */
