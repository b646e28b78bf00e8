/*
 * srv_tls.c: TLS under both protocols, with OpenSSL through libevent's
 * bufferevent_openssl (Debian libevent-openssl, libssl).
 *
 * A TLS listener (--tls-listen for HTTP, --tls-line-listen for the line
 * protocol) gives each accepted socket a bufferevent that runs the server
 * side of a TLS handshake and then reads and writes plaintext: everything
 * above it (srv_conn.c, the protocols) sees the same bufferevent API as on a
 * plain socket and does not know TLS is there. The plain listeners stay
 * what they are, on their own ports, or off.
 *
 * The context: TLS 1.2 or later (1.0 and 1.1 are refused at the
 * handshake), OpenSSL's default cipher list for those versions, no
 * compression, no renegotiation, the certificate chain and key from PEM
 * files. A key encrypted with a passphrase is refused with a message saying so: a daemon has
 * nobody to type the passphrase, and OpenSSL would wait for it on the terminal, the event
 * loop with it. SSL_MODE_RELEASE_BUFFERS returns the read and write buffers of an
 * idle connection (about 34 KiB each) to the allocator, which matters with
 * a thousand keep-alive clients.
 *
 * Each load logs the certificate's end of validity, and warns when it has
 * ended (or not begun): searchd still serves it, clients will not take it.
 *
 * Reload (SIGHUP): srv_set_tls builds a new context from the files and
 * swaps it in; connections open keep the old one (each SSL holds a
 * reference to its context, so the old context is freed with the last of
 * them) and new connections get the new certificate. When the files do not
 * load, nothing changes. Loop thread only, like every other use of s->tls.
 *
 * A plain HTTP request where the handshake belongs fails it with OpenSSL's
 * "http request" error (srv_tls_error says so): srv_conn.c answers it with a
 * plain 400, as nginx does, rather than a bare reset.
 *
 * A client that connects and never finishes its handshake holds an IDLE
 * connection: the idle timeout and the admission limits of srv_conn.c
 * bound it like any silent client.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "log.h"
#include "srv_int.h"

/* The reason of the last OpenSSL error, into err (OpenSSL keeps a queue per thread). */
static int tls_error(struct sd_error *err, const char *what, const char *file)
{
    char reason[160] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e) {
        ERR_error_string_n(e, reason, sizeof reason);
    }
    ERR_clear_error();
    return sd_errorf(err, SD_EINVAL, "tls: %s %s: %s", what, file, reason);
}

/* A key file encrypted with a passphrase: refused, saying how to store it so it loads. */
static int tls_encrypted(struct sd_error *err, const char *file)
{
    ERR_clear_error();
    return sd_errorf(err, SD_EINVAL,
                     "tls: key %s is encrypted and searchd takes no passphrase: decrypt it "
                     "(openssl pkey -in %s -out NEW.pem), readable only by searchd",
                     file, file);
}

/* The passphrase callback of an encrypted PEM file: there is none to give. Without it OpenSSL
 * asks for one on /dev/tty and blocks until it is typed: at start, and on SIGHUP with the event
 * loop stopped, the whole server waiting on a terminal nobody watches. *asked (the callback's
 * data) records that a passphrase was wanted, so the error can say so. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *asked)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    if (asked) {
        *(bool *)asked = true;
    }
    return 0;
}

static int tls_ctx_new(const char *cert, const char *key, SSL_CTX **out, struct sd_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        return sd_errorf(err, SD_ENOMEM, "tls: SSL_CTX_new");
    }
    bool asked = false;
    SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked);
    int rc = SD_OK;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        rc = tls_error(err, "minimum version", "1.2");
    } else if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        rc = tls_error(err, "certificate", cert);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        rc = asked ? tls_encrypted(err, key) : tls_error(err, "key", key);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        rc = tls_error(err, "key does not match the certificate", key);
    }
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL); /* &asked dies with this call */
    if (rc) {
        SSL_CTX_free(ctx);
        return rc;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    *out = ctx;
    return SD_OK;
}

/* The server certificate's validity, as "YYYY-MM-DDTHH:MM:SSZ", into out. */
static void tls_time(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "?");
    }
}

/* Logs the certificate loaded with the end of its validity, and warns when it has ended or not
 * yet begun: searchd serves it all the same (a renewal may be on its way), but every client
 * that checks certificates fails its handshake, and the log is where an operator who sent
 * SIGHUP after a renewal looks first. */
static void tls_log_certificate(SSL_CTX *ctx, const char *cert)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    const ASN1_TIME *before = x ? X509_get0_notBefore(x) : NULL;
    const ASN1_TIME *after = x ? X509_get0_notAfter(x) : NULL;
    char not_before[32], not_after[32];
    tls_time(before, not_before, sizeof not_before);
    tls_time(after, not_after, sizeof not_after);
    log_info("event=tls_certificate cert=%s not_after=%s", cert, not_after);
    if (after && X509_cmp_current_time(after) < 0) {
        log_warn("event=tls_certificate_expired cert=%s not_after=%s msg=\"clients that check "
                 "certificates will refuse it\"",
                 cert, not_after);
    } else if (before && X509_cmp_current_time(before) > 0) {
        log_warn("event=tls_certificate_not_yet_valid cert=%s not_before=%s msg=\"clients that "
                 "check certificates will refuse it\"",
                 cert, not_before);
    }
}

int srv_set_tls(struct srv *s, const char *cert, const char *key, struct sd_error *err)
{
    if (!cert || !*cert || !key || !*key) {
        return sd_errorf(err, SD_EINVAL, "tls: a TLS listener needs tls-cert and tls-key");
    }
    SSL_CTX *ctx = NULL;
    int rc = tls_ctx_new(cert, key, &ctx, err);
    if (rc) {
        return rc;
    }
    SSL_CTX_free(s->tls); /* open connections keep their own reference */
    s->tls = ctx;
    tls_log_certificate(ctx, cert);
    return SD_OK;
}

bool srv_tls_on(const struct srv *s)
{
    return s->tls != NULL;
}

void srv_tls_free(struct srv *s)
{
    SSL_CTX_free(s->tls);
    s->tls = NULL;
}

struct bufferevent *srv_tls_bev_new(struct srv *s, evutil_socket_t fd)
{
    SSL *ssl = SSL_new(s->tls);
    if (!ssl) {
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* A client that closes its socket without a close_notify alert (most do after their last
     * answer) is a plain EOF, as on a plain socket, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void srv_tls_close_notify(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl) {
        (void)SSL_shutdown(ssl); /* best effort: the FIN follows either way */
    }
}

const char *srv_tls_error(struct bufferevent *bev, char *buf, size_t cap, bool *is_plain_http)
{
    unsigned long e = bufferevent_get_openssl_error(bev);
    /* OpenSSL knows a plain HTTP request ("GET ", "POST "...) where a ClientHello belongs */
    *is_plain_http = ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST;
    if (!e) {
        return "";
    }
    ERR_error_string_n(e, buf, cap);
    return buf;
}
