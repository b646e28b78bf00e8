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
 * about which bytes matched. A key is never logged. A line connection keeps
 * the hash of the key it presented, not its role: when SIGHUP changes the
 * keys, its next request gets the role the new keys give (none, for a key
 * removed), as a new connection would.
 *
 * Roles: admin may do everything; search may search, get documents, and
 * read stats and health. With no key configured at all, keys are off and
 * every client is admin (the loopback default). health and auth need no key:
 * a load balancer checks health, and auth is how a connection presents one.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "srv_int.h"

#define SRV_MAX_KEYS 64 /* per role */

struct srv_keys {
    unsigned char hash[2][SRV_MAX_KEYS][32]; /* [role - 1][i] */
    size_t n[2];
};

void srv_keys_free(struct srv *s)
{
    free(s->keys);
    s->keys = NULL;
}

/* Adds the hashes of a comma-separated list to k's table for role. */
static int parse_list(struct srv_keys *k, int role, const char *list, const char *what,
                      struct sd_error *err)
{
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ", \t");
        if (len == 0) {
            break;
        }
        if (len != 7 + 64 || strncmp(p, "sha256:", 7) != 0) {
            return sd_errorf(err, SD_EINVAL, "%s: entry %zu bytes long is not sha256:<64 hex "
                             "digits> (make one with searchd --hash-key)", what, len);
        }
        if (k->n[role - 1] == SRV_MAX_KEYS) {
            return sd_errorf(err, SD_ELIMIT, "%s: more than %d keys", what, SRV_MAX_KEYS);
        }
        unsigned char *h = k->hash[role - 1][k->n[role - 1]++];
        for (int i = 0; i < 32; i++) {
            int hi = proto_hex_value(p[7 + 2 * i]), lo = proto_hex_value(p[8 + 2 * i]);
            if (hi < 0 || lo < 0) {
                return sd_errorf(err, SD_EINVAL, "%s: not a hex digit in a sha256 entry", what);
            }
            h[i] = (unsigned char)(hi << 4 | lo);
        }
        p += len;
    }
    return SD_OK;
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

enum srv_role srv_key_role(const struct srv *s, const char *key, size_t len)
{
    if (!s->keys) {
        return SRV_ROLE_ADMIN;
    }
    unsigned char h[32];
    if (!key || srv_hash_key(key, len, h)) {
        return SRV_ROLE_NONE;
    }
    return hash_role(s, h);
}

enum srv_role srv_keys_auth(struct srv_conn *c, const char *key, size_t len)
{
    struct srv *s = c->srv;
    unsigned char h[32];
    if (!s->keys) {
        return SRV_ROLE_ADMIN;
    }
    if (!key || srv_hash_key(key, len, h)) {
        return SRV_ROLE_NONE;
    }
    enum srv_role role = hash_role(s, h);
    if (role != SRV_ROLE_NONE) {
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
    switch (op) {
    case PROTO_OP_SEARCH:
    case PROTO_OP_GET:
    case PROTO_OP_STATS:
    case PROTO_OP_INDEXES:
    case PROTO_OP_GET_SETTINGS:
        return PROTO_OK;
    default:
        *why = "a search key may only read; this needs an admin key";
        return PROTO_FORBIDDEN;
    }
}
