/*
 * srv_keys.c: API keys and what their roles may do.
 *
 * Keys are configured by their SHA-256 only (--admin-keys, --search-keys:
 * comma-separated "sha256:<64 hex digits>", made by `searchd --hash-key`),
 * so the config file and the process never hold a key itself: a leaked
 * config does not leak access. A presented key (HTTP "Authorization: Bearer
 * KEY", or the line protocol's auth op, once per connection) is hashed and
 * compared with every configured hash by CRYPTO_memcmp, each compare taking
 * the same time and none ending the loop early, so timing tells nothing
 * about which bytes matched. A key is never logged, nor quoted by an error
 * about a bad entry (one may be a key pasted where its hash belongs).
 * srv_check_keys runs the same parse without a server, for the settings'
 * reader to refuse a bad list where it was written. srv_check_key says what
 * a key itself may be, for `searchd --hash-key`: only a key every client can
 * send, byte for byte, on both protocols (see there). A line connection keeps
 * the hash of the key it presented, not its role: when SIGHUP changes the
 * keys, its next request gets the role the new keys give (none, for a key
 * removed), as a new connection would.
 *
 * Roles: admin may do everything; search may search, get documents, and
 * read stats and health. With no key configured at all, keys are off and
 * every client is admin (the loopback default). health and auth need no key:
 * a load balancer checks health, and auth is how a connection presents one.
 *
 * An admin key never works from a web page (srv_keys_check_origin): a key in
 * a page's script or markup (the embeddable box's key attribute) is read by
 * everyone who views its source, and an admin key gives them the index. A
 * browser names the page's origin (Origin) on every request to another
 * origin and on every write, so such a request made with an admin key is
 * refused, whatever it asks, and the site owner sees the box fail on its first
 * search instead of publishing the key. The page searchd serves at / reads
 * its own origin with GET, which carries no Origin: an operator may still
 * give it an admin key. The operator is told too (event=admin_key_from_web_page
 * at warn, naming the origin, at most once a minute): a key that a page has
 * held is public and must be replaced.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "srv_int.h"

#define SRV_MAX_KEYS 64 /* per role */

#define SRV_ORIGIN_WARN_S 60 /* at most one event=admin_key_from_web_page a minute */

struct srv_keys {
    unsigned char hash[2][SRV_MAX_KEYS][32]; /* [role - 1][i] */
    size_t n[2];
    time_t origin_warned_at; /* CLOCK_MONOTONIC s of the last such event; loop thread only */
    bool has_origin_warned;
};

void srv_keys_free(struct srv *s)
{
    free(s->keys);
    s->keys = NULL;
}

/* Entry number i, e[0, len), of a key list is "sha256:" and 64 hex digits: SD_OK, or SD_EINVAL
 * saying what is wrong. The message never quotes the entry: it may be a key pasted where its
 * hash belongs. */
static int check_entry(const char *what, size_t i, const char *e, size_t len, struct sd_error *err)
{
    if (len == 0) {
        return sd_errorf(err, SD_EINVAL, "%s: entry %zu is empty", what, i);
    }
    if (len != 7 + 64) {
        return sd_errorf(err, SD_EINVAL,
                         "%s: entry %zu is %zu bytes long, not sha256:<64 hex "
                         "digits> (entries are separated by commas; make one with searchd "
                         "--hash-key)",
                         what, i, len);
    }
    if (strncmp(e, "sha256:", 7) != 0) {
        return sd_errorf(err, SD_EINVAL,
                         "%s: entry %zu does not begin with sha256: (make one "
                         "with searchd --hash-key)",
                         what, i);
    }
    for (size_t j = 7; j < len; j++) {
        if (proto_hex_value(e[j]) < 0) {
            return sd_errorf(err, SD_EINVAL, "%s: entry %zu: not a hex digit after sha256:", what,
                             i);
        }
    }
    return SD_OK;
}

/* Adds the hashes of a comma-separated list to k's table for role (srv_check_keys in srv.h
 * gives the rules). */
static int parse_list(struct srv_keys *k, int role, const char *list, const char *what,
                      struct sd_error *err)
{
    const char *p = srv_list_begin(list);
    const char *e;
    size_t len;
    for (size_t i = 1; srv_list_next(&p, &e, &len); i++) {
        int rc = check_entry(what, i, e, len, err);
        if (rc) {
            return rc;
        }
        if (k->n[role - 1] == SRV_MAX_KEYS) {
            return sd_errorf(err, SD_ELIMIT, "%s: more than %d keys", what, SRV_MAX_KEYS);
        }
        unsigned char *h = k->hash[role - 1][k->n[role - 1]++];
        for (int j = 0; j < 32; j++) {
            h[j] =
                (unsigned char)(proto_hex_value(e[7 + 2 * j]) << 4 | proto_hex_value(e[8 + 2 * j]));
        }
    }
    return SD_OK;
}

int srv_check_keys(const char *list, const char *what, struct sd_error *err)
{
    struct srv_keys *k = calloc(1, sizeof *k); /* 4 KiB: not on a reload's stack */
    if (!k) {
        return sd_errorf(err, SD_ENOMEM, "%s", what);
    }
    int rc = parse_list(k, SRV_ROLE_ADMIN, list, what, err);
    free(k);
    return rc;
}

int srv_set_keys(struct srv *s, const char *admin_keys, const char *search_keys,
                 struct sd_error *err)
{
    struct srv_keys *k = calloc(1, sizeof *k);
    if (!k) {
        return sd_errorf(err, SD_ENOMEM, "keys");
    }
    int rc = parse_list(k, SRV_ROLE_ADMIN, admin_keys, "admin-keys", err);
    if (rc == SD_OK) {
        rc = parse_list(k, SRV_ROLE_SEARCH, search_keys, "search-keys", err);
    }
    if (rc) {
        free(k);
        return rc;
    }
    free(s->keys);
    s->keys = k->n[0] + k->n[1] ? k : NULL;
    if (!s->keys) {
        free(k);
    }
    s->keys_gen++;
    return SD_OK;
}

bool srv_keys_on(const struct srv *s)
{
    return s->keys != NULL;
}

/* HTTP carries printable ASCII in a header and takes the spaces at its ends off
 * (bearer_role does, as RFC 9110 says of a field's value): a key hashed with a space at an
 * end, a tab, a CR of a Windows file or a byte of UTF-8 would not be the key an HTTP
 * client sends, and auth would fail with nothing to say why. */
int srv_check_key(const char *key, size_t len, struct sd_error *err)
{
    if (len == 0 || len > PROTO_MAX_KEY) {
        return sd_errorf(err, SD_EINVAL, "a key is 1 to %d bytes", PROTO_MAX_KEY);
    }
    if (key[0] == ' ' || key[len - 1] == ' ') {
        return sd_errorf(err, SD_EINVAL,
                         "the key %s with a space, which HTTP takes off the key a client sends: "
                         "give the key without spaces at its ends",
                         key[0] == ' ' ? "begins" : "ends");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c > 0x7e) {
            return sd_errorf(err, SD_EINVAL,
                             "byte %zu of the key is %s (0x%02x): a key is printable ASCII, "
                             "as HTTP carries it",
                             i + 1, c < 0x20 || c == 0x7f ? "a control character" : "not ASCII", c);
        }
    }
    return SD_OK;
}

int srv_hash_key(const void *key, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(key, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

/* The role of the key whose hash is h (keys on). */
static enum srv_role hash_role(const struct srv *s, const unsigned char h[32])
{
    enum srv_role role = SRV_ROLE_NONE;
    for (int r = SRV_ROLE_ADMIN; r >= SRV_ROLE_SEARCH; r--) {
        for (size_t i = 0; i < s->keys->n[r - 1]; i++) {
            if (CRYPTO_memcmp(h, s->keys->hash[r - 1][i], 32) == 0 && role < (enum srv_role)r) {
                role = (enum srv_role)r;
            }
        }
    }
    return role;
}

/* The role of a presented key (keys on or off), its hash into h when one was worked out. */
static enum srv_role key_role(const struct srv *s, const char *key, size_t len, unsigned char h[32])
{
    if (!s->keys) {
        return SRV_ROLE_ADMIN;
    }
    if (!key || srv_hash_key(key, len, h)) {
        return SRV_ROLE_NONE;
    }
    return hash_role(s, h);
}

enum srv_role srv_key_role(const struct srv *s, const char *key, size_t len)
{
    unsigned char h[32];
    return key_role(s, key, len, h);
}

enum srv_role srv_keys_auth(struct srv_conn *c, const char *key, size_t len)
{
    struct srv *s = c->srv;
    unsigned char h[32];
    enum srv_role role = key_role(s, key, len, h);
    if (s->keys && role != SRV_ROLE_NONE) { /* keys off: nothing to keep */
        memcpy(c->key_hash, h, sizeof h);
        c->has_key = true;
        c->keys_gen = s->keys_gen;
        c->role = role;
    }
    return role;
}

enum srv_role srv_keys_conn_role(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (c->keys_gen != s->keys_gen) {
        c->role = c->has_key && s->keys ? hash_role(s, c->key_hash) : SRV_ROLE_NONE;
        c->keys_gen = s->keys_gen;
    }
    return c->role;
}

/* Says to the operator that an admin key came from a web page, once a minute at most: every
 * visitor's search would log it again, and one line already says the key is public. */
static void warn_origin(struct srv_keys *k, const char *origin, const char *peer)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (k->has_origin_warned && now.tv_sec - k->origin_warned_at < SRV_ORIGIN_WARN_S) {
        return;
    }
    k->has_origin_warned = true;
    k->origin_warned_at = now.tv_sec;
    char quoted[160];
    log_warn("event=admin_key_from_web_page peer=%s origin=%s msg=\"an admin key came with a "
             "browser's Origin and was refused; a key a web page holds is public: replace it "
             "(searchd --hash-key), and give the page a search key\"",
             peer, log_quote(quoted, sizeof quoted, origin, strlen(origin)));
}

enum proto_code srv_keys_check_origin(struct srv *s, enum srv_role role, const char *origin,
                                      const char *peer, const char **why)
{
    if (!origin || !s->keys || role != SRV_ROLE_ADMIN) {
        return PROTO_OK; /* keys off: no key was presented, every client is admin */
    }
    warn_origin(s->keys, origin, peer);
    *why = "an admin key may not be used from a web page (this request names the page's "
           "Origin): everyone who views the page can read a key it holds, and an admin key "
           "would give them the index; give the page a search key, and write from a server";
    return PROTO_FORBIDDEN;
}

const char *srv_role_name(enum srv_role role)
{
    return role == SRV_ROLE_ADMIN ? "admin" : role == SRV_ROLE_SEARCH ? "search" : "none";
}

enum proto_code srv_role_check(enum srv_role role, enum proto_op op, const char **why)
{
    if (op == PROTO_OP_HEALTH || op == PROTO_OP_AUTH || role == SRV_ROLE_ADMIN) {
        return PROTO_OK;
    }
    if (role == SRV_ROLE_NONE) {
        *why = "this server needs an API key: 'Authorization: Bearer KEY' on HTTP, "
               "{\"op\":\"auth\",\"key\":KEY} first on the line protocol";
        return PROTO_UNAUTHORIZED;
    }
    if (srv_op_order(op) == SRV_ORDER_READ) {
        return PROTO_OK;
    }
    *why = "a search key may only read; this needs an admin key";
    return PROTO_FORBIDDEN;
}
