/*
 * tls.c: searchq's TLS, for a searchd line-protocol listener started with --tls-line-listen.
 *
 * OpenSSL (libssl) on the blocking socket conn.c connected: TLS 1.2 or later, the server's
 * certificate verified against the system's CAs, or against --tls-ca FILE only (a private CA
 * or a self-signed certificate), and its name checked against the host of --server (DNS name
 * or IP address, through SSL_set1_host; sent as SNI when it is a name). --tls-insecure skips
 * both checks, for a test box: the traffic is still encrypted, but anyone in the middle can
 * read it. SO_RCVTIMEO/SO_SNDTIMEO of the socket still bound every read and write: a blocked
 * SSL_read or SSL_write returns with EAGAIN like recv and send.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "cli_int.h"

/* Prints "searchq: ADDR: WHAT: <OpenSSL's reason>" (or the verification failure). */
static void tls_report(const struct cli_conn *c, const char *what)
{
    char reason[256] = "";
    long verify = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    unsigned long e = ERR_get_error();
    if (verify != X509_V_OK) {
        snprintf(reason, sizeof reason, "certificate not trusted: %s",
                 X509_verify_cert_error_string(verify));
    } else if (e) {
        ERR_error_string_n(e, reason, sizeof reason);
    } else {
        snprintf(reason, sizeof reason, "%s", errno ? strerror(errno) : "connection closed");
    }
    ERR_clear_error();
    fprintf(stderr, "searchq: %s: %s: %s\n", c->addr, what, reason);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int cli_tls_start(struct cli_conn *c, const struct cli_opts *opts, const char *host)
{
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx || SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1) {
        tls_report(c, "TLS setup");
        return CLI_EXIT_ERROR;
    }
    if (!opts->tls_insecure) {
        int ok = opts->tls_ca ? SSL_CTX_load_verify_locations(c->ssl_ctx, opts->tls_ca, NULL)
                              : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
        if (ok != 1) {
            tls_report(c, opts->tls_ca ? opts->tls_ca : "the system's CA certificates");
            return CLI_EXIT_USAGE;
        }
        SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    }
    c->ssl = SSL_new(c->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
        (!opts->tls_insecure && SSL_set1_host(c->ssl, host) != 1) ||
        (!is_ip_literal(host) && SSL_set_tlsext_host_name(c->ssl, host) != 1)) {
        tls_report(c, "TLS setup");
        return CLI_EXIT_ERROR;
    }
    errno = 0;
    if (SSL_connect(c->ssl) != 1) {
        tls_report(c, "TLS handshake");
        return CLI_EXIT_CONNECT;
    }
    return CLI_EXIT_OK;
}

void cli_tls_close(struct cli_conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->ssl_ctx) {
        SSL_CTX_free(c->ssl_ctx);
        c->ssl_ctx = NULL;
    }
}

ssize_t cli_tls_send(struct cli_conn *c, const char *data, size_t len)
{
    size_t n = 0;
    if (SSL_write_ex(c->ssl, data, len, &n) == 1) {
        return (ssize_t)n;
    }
    if (errno == 0) {
        errno = EPIPE;
    }
    return -1;
}

ssize_t cli_tls_recv(struct cli_conn *c, char *buf, size_t cap)
{
    size_t n = 0;
    errno = 0;
    if (SSL_read_ex(c->ssl, buf, cap, &n) == 1) {
        return (ssize_t)n;
    }
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_ZERO_RETURN) {
        return 0; /* close_notify: the server ended the stream */
    }
    if (e == SSL_ERROR_SYSCALL && errno == 0) {
        return 0; /* EOF without close_notify: a closed connection, as on a plain socket */
    }
    if (errno == 0) {
        errno = EPROTO;
    }
    return -1;
}
