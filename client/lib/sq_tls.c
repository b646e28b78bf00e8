/*
 * sq_tls.c: libsearchq's TLS, for a searchd line-protocol listener started with
 * --tls-line-listen.
 *
 * OpenSSL (libssl) on the blocking socket sq_conn.c connected: TLS 1.2 or later, the server's
 * certificate verified against the system's CAs, or against sq_options.tls_ca only (a private CA
 * or a self-signed certificate), and its name checked against the host of the address (DNS name
 * or IP address, through SSL_set1_host; sent as SNI when it is a name). tls_insecure skips
 * both checks, for a test box: the traffic is still encrypted, but anyone in the middle can
 * read it. SO_RCVTIMEO/SO_SNDTIMEO of the socket still bound every read and write: a blocked
 * SSL_read or SSL_write returns with EAGAIN like recv and send.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "sq_int.h"

/* Fills err with "ADDR: WHAT: <OpenSSL's reason>" (or the verification failure). */
static int tls_report(const struct sq_conn *c, int status, const char *what, struct sq_error *err)
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
    return sq_errorf(err, status, "%s: %s: %s", c->addr, what, reason);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int sq_tls_start(struct sq_conn *c, const struct sq_options *opts, const char *host,
                 struct sq_error *err)
{
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ssl_ctx || SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1) {
        return tls_report(c, SQ_ETLS, "TLS setup", err);
    }
    if (!opts->tls_insecure) {
        int ok = opts->tls_ca ? SSL_CTX_load_verify_locations(c->ssl_ctx, opts->tls_ca, NULL)
                              : SSL_CTX_set_default_verify_paths(c->ssl_ctx);
        if (ok != 1) {
            return tls_report(c, SQ_ECAFILE,
                              opts->tls_ca ? opts->tls_ca : "the system's CA certificates", err);
        }
        SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    }
    c->ssl = SSL_new(c->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
        (!opts->tls_insecure && SSL_set1_host(c->ssl, host) != 1) ||
        (!is_ip_literal(host) && SSL_set_tlsext_host_name(c->ssl, host) != 1)) {
        return tls_report(c, SQ_ETLS, "TLS setup", err);
    }
    errno = 0;
    if (SSL_connect(c->ssl) != 1) {
        return tls_report(c, SQ_ECONNECT, "TLS handshake", err);
    }
    return SQ_OK;
}

void sq_tls_close(struct sq_conn *c)
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

ssize_t sq_tls_send(struct sq_conn *c, const char *data, size_t len)
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

ssize_t sq_tls_recv(struct sq_conn *c, char *buf, size_t cap)
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
