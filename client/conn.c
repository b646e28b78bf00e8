/*
 * conn.c: searchq's one connection to searchd, and line I/O on it.
 *
 * The line protocol (docs/PROTOCOL.md) is one JSON object per "\n"-terminated line each way, so
 * all we need is "write these bytes" and "give me the next line". Lines can be long (a search with
 * limit 1000 and snippets, or a big stored document), so the read buffer grows on demand up to
 * CLI_MAX_LINE; anything longer is refused rather than allowed to eat all memory.
 *
 * Blocking sockets with SO_RCVTIMEO/SO_SNDTIMEO keep it simple and still never hang forever on a
 * server that stopped talking. SIGPIPE is avoided with MSG_NOSIGNAL, so a server that closes
 * the connection while we write gives EPIPE, reported as a broken connection.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli_int.h"

#define CONN_READ_CHUNK ((size_t)64 << 10)

static void conn_report_refused(const char *addr, int err)
{
    fprintf(stderr, "searchq: cannot connect to %s: %s \xe2\x80\x94 is searchd running?\n", addr,
            strerror(err));
}

static void conn_set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = CLI_IO_TIMEOUT_SEC, .tv_usec = 0};
    /* Best effort: without timeouts we merely wait longer on a hung server. */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int conn_dial_unix(const char *path, struct cli_conn *c)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "searchq: socket path too long: %s\n", path);
        return CLI_EXIT_USAGE;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_report_refused(path, errno);
        return CLI_EXIT_CONNECT;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        conn_report_refused(path, errno);
        close(fd);
        return CLI_EXIT_CONNECT;
    }
    c->fd = fd;
    conn_set_timeouts(fd);
    return CLI_EXIT_OK;
}

/* Splits "HOST:PORT" or "[V6HOST]:PORT" into host and port (copied into the given buffers). */
static int conn_split_addr(const char *server, char *host, size_t host_cap, const char **port)
{
    const char *colon = strrchr(server, ':');
    if (!colon || colon == server || colon[1] == '\0') {
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

static int conn_dial_tcp(const char *server, const struct cli_opts *opts, struct cli_conn *c)
{
    char host[256];
    const char *port;
    if (conn_split_addr(server, host, sizeof host, &port) != 0) {
        fprintf(stderr, "searchq: --server wants HOST:PORT, got '%s'\n", server);
        return CLI_EXIT_USAGE;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "searchq: cannot connect to %s: %s\n", server, gai_strerror(gai));
        return CLI_EXIT_CONNECT;
    }
    int err = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            c->fd = fd;
            freeaddrinfo(res);
            conn_set_timeouts(fd); /* before the handshake: it reads and writes too */
            return opts->tls ? cli_tls_start(c, opts, host) : CLI_EXIT_OK;
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(res);
    conn_report_refused(server, err);
    return CLI_EXIT_CONNECT;
}

int cli_conn_open(const struct cli_opts *opts, struct cli_conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    const char *target = opts->socket_path ? opts->socket_path
                         : opts->server    ? opts->server
                                           : CLI_DEFAULT_SERVER;
    snprintf(c->addr, sizeof c->addr, "%s", target);
    int rc = opts->socket_path ? conn_dial_unix(target, c) : conn_dial_tcp(target, opts, c);
    if (rc != CLI_EXIT_OK) {
        cli_conn_close(c); /* a TLS handshake that failed leaves a socket and its SSL */
    }
    return rc;
}

void cli_conn_close(struct cli_conn *c)
{
    cli_tls_close(c);
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->start = c->scan = c->len = c->cap = 0;
}

int cli_conn_write(struct cli_conn *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = c->ssl ? cli_tls_send(c, data, len) : send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            const char *why =
                (errno == EAGAIN || errno == EWOULDBLOCK) ? "timed out" : strerror(errno);
            fprintf(stderr, "searchq: writing to %s: %s\n", c->addr, why);
            return CLI_EXIT_CONNECT;
        }
        data += n;
        len -= (size_t)n;
    }
    return CLI_EXIT_OK;
}

/* Makes room for at least CONN_READ_CHUNK more bytes: drops consumed bytes, then grows. */
static int conn_reserve(struct cli_conn *c)
{
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->len - c->start);
        c->len -= c->start;
        c->scan -= c->start;
        c->start = 0;
    }
    if (c->cap - c->len >= CONN_READ_CHUNK) {
        return CLI_EXIT_OK;
    }
    size_t cap = c->cap ? c->cap * 2 : CONN_READ_CHUNK * 2;
    char *p = realloc(c->buf, cap);
    if (!p) {
        fprintf(stderr, "searchq: out of memory reading from %s\n", c->addr);
        return CLI_EXIT_ERROR;
    }
    c->buf = p;
    c->cap = cap;
    return CLI_EXIT_OK;
}

/* Reads what is available into the buffer. */
static int conn_fill(struct cli_conn *c)
{
    if (c->len - c->start > CLI_MAX_LINE) {
        fprintf(stderr, "searchq: %s sent a line longer than %zu MiB\n", c->addr,
                CLI_MAX_LINE >> 20);
        return CLI_EXIT_ERROR;
    }
    int rc = conn_reserve(c);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    for (;;) {
        ssize_t n = c->ssl ? cli_tls_recv(c, c->buf + c->len, c->cap - c->len)
                           : recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            return CLI_EXIT_OK;
        }
        if (n == 0) {
            fprintf(stderr, "searchq: %s closed the connection%s\n", c->addr,
                    c->len > c->start ? " in the middle of an answer" : "");
            return CLI_EXIT_CONNECT;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            fprintf(stderr, "searchq: %s did not answer within %d s\n", c->addr,
                    CLI_IO_TIMEOUT_SEC);
        } else {
            fprintf(stderr, "searchq: reading from %s: %s\n", c->addr, strerror(errno));
        }
        return CLI_EXIT_CONNECT;
    }
}

int cli_conn_read_line(struct cli_conn *c, char **line, size_t *len)
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
            return CLI_EXIT_OK;
        }
        c->scan = c->len;
        int rc = conn_fill(c);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
}
