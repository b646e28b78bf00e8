/*
 * sq_conn.c: a connection to searchd, and line I/O on it.
 *
 * The line protocol (docs/PROTOCOL.md) is one JSON object per "\n"-terminated line each way, so
 * all we need is "write these bytes" and "give me the next line". Lines can be long (a search with
 * limit 1000 and snippets, or a big stored document), so the read buffer grows on demand up to
 * max_line; anything longer is refused rather than allowed to eat all memory.
 *
 * Blocking sockets with SO_RCVTIMEO/SO_SNDTIMEO keep it simple and still never hang forever on a
 * server that stopped talking, nor on connecting: they are set before connect(), which they
 * bound as well (the TLS handshake after it is reads and writes). SIGPIPE is avoided with
 * MSG_NOSIGNAL, so a server that closes the connection while we write gives EPIPE, reported as a
 * broken connection.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "sq_int.h"

#define CONN_READ_CHUNK ((size_t)64 << 10)

static int conn_refused(struct sq_error *err, const char *addr, int e, int timeout_sec)
{
    if (e == ETIMEDOUT) {
        return sq_errorf(err, SQ_ECONNECT,
                         "cannot connect to %s: no answer within %d s \xe2\x80\x94 is searchd "
                         "running there?",
                         addr, timeout_sec);
    }
    return sq_errorf(err, SQ_ECONNECT, "cannot connect to %s: %s \xe2\x80\x94 is searchd running?",
                     addr, strerror(e));
}

static void conn_set_timeouts(int fd, int timeout_sec)
{
    struct timeval tv = {.tv_sec = timeout_sec, .tv_usec = 0};
    /* Best effort: without timeouts we merely wait longer on a hung server. */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* connect() within timeout_sec. Without a timeout set first, a blocking connect waits for the
 * kernel's own limit, whatever the caller asked: some 130 s of SYN retries when a host drops
 * them or a listener's queue is full, for ever on a Unix socket whose backlog is full.
 * SO_SNDTIMEO bounds connect too (socket(7)), which then fails with EINPROGRESS (TCP) or EAGAIN
 * (Unix): both mean the time ran out, and become ETIMEDOUT. 0, or -1 with errno. */
static int conn_connect(int fd, const struct sockaddr *sa, socklen_t len, int timeout_sec)
{
    conn_set_timeouts(fd, timeout_sec);
    if (connect(fd, sa, len) == 0) {
        return 0;
    }
    if (errno == EINPROGRESS || errno == EAGAIN || errno == EWOULDBLOCK) {
        errno = ETIMEDOUT;
    }
    return -1;
}

static int conn_dial_unix(const char *path, struct sq_conn *c, struct sq_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        return sq_errorf(err, SQ_EADDR, "socket path too long: %s", path);
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return conn_refused(err, path, errno, c->timeout_sec);
    }
    if (conn_connect(fd, (struct sockaddr *)&sa, sizeof sa, c->timeout_sec) != 0) {
        int e = errno;
        close(fd);
        return conn_refused(err, path, e, c->timeout_sec);
    }
    c->fd = fd;
    return SQ_OK;
}

/* Whether port is a port number, 1 to 65535 in decimal: getaddrinfo would take a service name
 * ("http") too, and answer a typo with "Servname not supported", a failure to connect rather
 * than the malformed address it is. */
static bool conn_is_port(const char *port)
{
    size_t n = strspn(port, "0123456789");
    return n > 0 && n <= 5 && port[n] == '\0' && atoi(port) >= 1 && atoi(port) <= 65535;
}

/* Splits "HOST:PORT" or "[V6HOST]:PORT" into host (copied) and port (points into server). */
static int conn_split_addr(const char *server, char *host, size_t host_cap, const char **port)
{
    const char *colon = strrchr(server, ':');
    if (!colon || colon == server || !conn_is_port(colon + 1)) {
        return -1;
    }
    const char *h = server;
    size_t hlen = (size_t)(colon - server);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_cap) {
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = colon + 1;
    return 0;
}

static int conn_dial_tcp(const char *server, const struct sq_options *opts, struct sq_conn *c,
                         struct sq_error *err)
{
    char host[256];
    const char *port;
    if (conn_split_addr(server, host, sizeof host, &port) != 0) {
        return sq_errorf(err, SQ_EADDR, "want HOST:PORT (a port from 1 to 65535), got '%s'",
                         server);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        return sq_errorf(err, SQ_ECONNECT, "cannot connect to %s: %s", server, gai_strerror(gai));
    }
    int e = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (conn_connect(fd, ai->ai_addr, ai->ai_addrlen, c->timeout_sec) == 0) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            c->fd = fd;
            freeaddrinfo(res);
            return opts->tls ? sq_tls_start(c, opts, host, err) : SQ_OK;
        }
        e = errno;
        close(fd);
    }
    freeaddrinfo(res);
    return conn_refused(err, server, e, c->timeout_sec);
}

/* A conn with no socket yet and opts's limits. */
static struct sq_conn *conn_new(const struct sq_options *opts, const char *name)
{
    struct sq_conn *c = calloc(1, sizeof *c);
    if (!c) {
        return NULL;
    }
    c->fd = -1;
    snprintf(c->addr, sizeof c->addr, "%s", name);
    c->timeout_sec = opts->timeout_sec > 0 ? opts->timeout_sec : SQ_DEFAULT_TIMEOUT_SEC;
    c->max_line = opts->max_line ? opts->max_line : SQ_DEFAULT_MAX_LINE;
    c->max_inflight_bytes =
        opts->max_inflight_bytes ? opts->max_inflight_bytes : SQ_DEFAULT_MAX_INFLIGHT_BYTES;
    c->max_inflight = opts->max_inflight;
    return c;
}

int sq_attach_fd(int fd, const char *name, const struct sq_options *opts, struct sq_conn **out,
                 struct sq_error *err)
{
    *out = NULL;
    struct sq_options none = {0};
    const char *label = name ? name : "searchd";
    struct sq_conn *c = conn_new(opts ? opts : &none, label);
    if (!c) {
        close(fd);
        return sq_errorf(err, SQ_ENOMEM, "out of memory connecting to %s", label);
    }
    c->fd = fd;
    conn_set_timeouts(fd, c->timeout_sec);
    *out = c;
    return SQ_OK;
}

/* Options that contradict are refused rather than half obeyed. */
static int conn_check_options(const struct sq_options *opts, struct sq_error *err)
{
    if (opts->tls && opts->unix_path) {
        return sq_errorf(err, SQ_EARG, "TLS is for a TCP address; a Unix socket has no TLS");
    }
    if ((opts->tls_ca || opts->tls_insecure) && !opts->tls) {
        return sq_errorf(err, SQ_EARG, "tls_ca and tls_insecure go with tls");
    }
    if (opts->tls_ca && opts->tls_insecure) {
        return sq_errorf(err, SQ_EARG, "tls_ca or tls_insecure, not both");
    }
    return SQ_OK;
}

int sq_connect(const struct sq_options *opts, struct sq_conn **out, struct sq_error *err)
{
    *out = NULL;
    int rc = conn_check_options(opts, err);
    if (rc != SQ_OK) {
        return rc;
    }
    const char *target = opts->unix_path ? opts->unix_path
                         : opts->address ? opts->address
                                         : SQ_DEFAULT_ADDRESS;
    struct sq_conn *c = conn_new(opts, target);
    if (!c) {
        return sq_errorf(err, SQ_ENOMEM, "out of memory connecting to %s", target);
    }
    rc = opts->unix_path ? conn_dial_unix(target, c, err) : conn_dial_tcp(target, opts, c, err);
    if (rc == SQ_OK && opts->key) {
        struct json_object *answer = NULL;
        rc = sq_call(c, sq_req_auth(opts->key), &answer, err);
        json_object_put(answer);
    }
    if (rc != SQ_OK) {
        sq_close(c); /* a TLS handshake that failed leaves a socket and its SSL */
        return rc;
    }
    *out = c;
    return SQ_OK;
}

void sq_close(struct sq_conn *c)
{
    if (!c) {
        return;
    }
    sq_tls_close(c);
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->buf);
    free(c->sizes);
    free(c);
}

const char *sq_conn_address(const struct sq_conn *c)
{
    return c->addr;
}

bool sq_conn_peer_closed(const struct sq_conn *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (c->fd < 0 || c->len > c->start || poll(&p, 1, 0) != 1) {
        return false;
    }
    /* Peeked at below TLS too: its FIN is the same, and a record there (a session ticket, an
     * alert) says nothing we can read without waiting, so it counts as open. */
    char byte;
    ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int sq_conn_write(struct sq_conn *c, const char *data, size_t len, struct sq_error *err)
{
    while (len > 0) {
        ssize_t n = c->ssl ? sq_tls_send(c, data, len) : send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const char *why =
                (errno == EAGAIN || errno == EWOULDBLOCK) ? "timed out" : strerror(errno);
            return sq_errorf(err, SQ_ECONNECT, "writing to %s: %s", c->addr, why);
        }
        data += n;
        len -= (size_t)n;
    }
    return SQ_OK;
}

/* Makes room for at least CONN_READ_CHUNK more bytes: drops consumed bytes, then grows. */
static int conn_reserve(struct sq_conn *c, struct sq_error *err)
{
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->len - c->start);
        c->len -= c->start;
        c->scan -= c->start;
        c->start = 0;
    }
    if (c->cap - c->len >= CONN_READ_CHUNK) {
        return SQ_OK;
    }
    size_t cap = c->cap ? c->cap * 2 : CONN_READ_CHUNK * 2;
    char *p = realloc(c->buf, cap);
    if (!p) {
        return sq_errorf(err, SQ_ENOMEM, "out of memory reading from %s", c->addr);
    }
    c->buf = p;
    c->cap = cap;
    return SQ_OK;
}

/* Reads what is available into the buffer. */
static int conn_fill(struct sq_conn *c, struct sq_error *err)
{
    if (c->len - c->start > c->max_line) {
        return sq_errorf(err, SQ_EPROTO, "%s sent a line longer than %zu MiB", c->addr,
                         c->max_line >> 20);
    }
    int rc = conn_reserve(c, err);
    if (rc != SQ_OK) {
        return rc;
    }
    for (;;) {
        ssize_t n = c->ssl ? sq_tls_recv(c, c->buf + c->len, c->cap - c->len)
                           : recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            return SQ_OK;
        }
        if (n == 0) {
            return sq_errorf(err, SQ_ECONNECT, "%s closed the connection%s", c->addr,
                             c->len > c->start ? " in the middle of an answer" : "");
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return sq_errorf(err, SQ_ECONNECT, "%s did not answer within %d s", c->addr,
                             c->timeout_sec);
        }
        return sq_errorf(err, SQ_ECONNECT, "reading from %s: %s", c->addr, strerror(errno));
    }
}

int sq_conn_read_line(struct sq_conn *c, char **line, size_t *len, struct sq_error *err)
{
    for (;;) {
        char *nl = c->len > c->scan ? memchr(c->buf + c->scan, '\n', c->len - c->scan) : NULL;
        if (nl) {
            size_t end = (size_t)(nl - c->buf);
            *nl = '\0';
            if (end > c->start && c->buf[end - 1] == '\r') {
                c->buf[end - 1] = '\0';
                end--;
            }
            *line = c->buf + c->start;
            *len = end - c->start;
            c->start = c->scan = (size_t)(nl - c->buf) + 1;
            return SQ_OK;
        }
        c->scan = c->len;
        int rc = conn_fill(c, err);
        if (rc != SQ_OK) {
            return rc;
        }
    }
}
