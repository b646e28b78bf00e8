/*
 * srv_accept.c: admission of client connections (loop thread): the listeners,
 * the count of connections per client address, and the limits checked at
 * accept, so idle sockets count from their first moment. What a connection
 * does once admitted is srv_conn.c's.
 *
 * Three limits, checked from the narrowest: connections from the client's
 * IP address (--max-per-client; loopback included; Unix sockets have no
 * address and are not counted there), connections of the listener's
 * protocol (--max-line-connections / --max-http-connections), and all
 * connections (--max-connections). At a limit, the oldest idle connection
 * within that limit's scope is closed to make room; only when none is idle
 * is the new one refused (busy, in the protocol's own shape). So idle
 * sockets cannot lock anyone out, and a client cannot take more than its
 * address's share.
 *
 * A refusal is said in the listener's protocol (busy) by a connection of
 * its own that lingers (srv_conn_refusal), at most SRV_MAX_REFUSING at once;
 * beyond that the socket is just closed. An accept that fails for want of
 * descriptors pauses the listener for SRV_ACCEPT_RETRY_MS and closes the
 * oldest idle connection, since the pending one stays in the backlog and
 * accepting again at once would spin.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "log.h"
#include "srv_int.h"

#define SRV_MAX_REFUSING    64   /* refused sockets saying goodbye at once */
#define SRV_ADDR_BUCKETS    1024 /* a power of two */
#define SRV_ACCEPT_RETRY_MS 100  /* pause accepting after EMFILE */

/* ---- client addresses ---- */

struct srv_addr_count {
    struct srv_addr_count *next;
    uint8_t key[17]; /* family byte + IPv4 or IPv6 address */
    unsigned count;
};

/* False for an address that is not counted (Unix sockets). */
static bool addr_key(const struct sockaddr *sa, uint8_t key[17])
{
    memset(key, 0, 17);
    if (sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        key[0] = 6;
        memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

static struct srv_addr_count **addr_find(struct srv *s, const uint8_t key[17])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 17; i++) {
        h = (h ^ key[i]) * 1099511628211ull;
    }
    struct srv_addr_count **pp = &s->addr_table[h & (s->addr_cap - 1)];
    while (*pp && memcmp((*pp)->key, key, 17) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

void srv_addr_release(struct srv *s, struct srv_addr_count *a)
{
    if (--a->count > 0) {
        return;
    }
    struct srv_addr_count **pp = addr_find(s, a->key);
    *pp = a->next;
    free(a);
}

/* ---- accepting ---- */

/* A refused connection: one busy answer, then FIN, then input discarded
 * until the client closes (or SRV_LINGER_S), so that no reset destroys it.
 * At most SRV_MAX_REFUSING at once; beyond that the socket is just closed. */
static void refuse(struct srv *s, const struct srv_listener *l, evutil_socket_t fd,
                   const struct sockaddr *sa, const char *why)
{
    const struct srv_proto_ops *ops = l->ops;
    struct sd_buf msg;
    sd_buf_init(&msg);
    ops->encode_refusal(&msg, PROTO_BUSY, why);
    struct srv_conn *c = NULL;
    if (s->nrefusing < SRV_MAX_REFUSING && msg.rc == SD_OK) {
        c = srv_conn_new(s, l, fd, sa);
        if (!c) {
            sd_buf_free(&msg);
            return; /* srv_conn_new closed fd */
        }
    }
    if (!c) {
        if (!l->is_tls) { /* a TLS client could not read plaintext: just close */
            ssize_t w = send(fd, msg.data, msg.len, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w; /* best effort: the client is refused either way */
        }
        close(fd);
        sd_buf_free(&msg);
        return;
    }
    srv_conn_refusal(c, &msg);
    sd_buf_free(&msg);
}

static struct srv_conn *oldest_idle(struct srv *s, int proto, const struct srv_addr_count *a)
{
    for (struct srv_conn *c = s->idle_head; c; c = c->idle_next) {
        if ((proto < 0 || (int)c->ops->proto == proto) && (!a || c->addr == a)) {
            return c;
        }
    }
    return NULL;
}

static unsigned proto_limit(const struct srv *s, enum srv_proto p)
{
    return p == SRV_PROTO_HTTP ? s->cfg.max_http_connections : s->cfg.max_line_connections;
}

/* Makes room for one more connection of proto from a (NULL: not counted)
 * by closing idle ones; returns why it cannot (and the limit in *limit), or NULL. */
static const char *make_room(struct srv *s, enum srv_proto proto, struct srv_addr_count *a,
                             enum srv_refusal *limit)
{
    struct srv_conn *victim;
    /* a->count already includes the new connection */
    while (a && s->cfg.max_per_client && a->count > s->cfg.max_per_client) {
        if (!(victim = oldest_idle(s, -1, a))) {
            *limit = SRV_REFUSED_PER_CLIENT;
            return "too many connections from this address";
        }
        log_info("event=evict_idle reason=max_per_client peer=%s", victim->peer);
        srv_conn_close(victim);
    }
    while (s->nproto[proto] >= proto_limit(s, proto)) {
        if (!(victim = oldest_idle(s, (int)proto, NULL))) {
            *limit = SRV_REFUSED_PROTO;
            return "too many connections of this protocol";
        }
        log_info("event=evict_idle reason=max_proto_connections peer=%s", victim->peer);
        srv_conn_close(victim);
    }
    while (s->nconns >= s->cfg.max_connections) {
        if (!(victim = oldest_idle(s, -1, NULL))) {
            *limit = SRV_REFUSED_TOTAL;
            return "too many connections";
        }
        log_info("event=evict_idle reason=max_connections peer=%s", victim->peer);
        srv_conn_close(victim);
    }
    return NULL;
}

static struct srv_addr_count *addr_get(struct srv *s, const struct sockaddr *sa)
{
    uint8_t key[17];
    if (!addr_key(sa, key)) {
        return NULL;
    }
    struct srv_addr_count **pp = addr_find(s, key);
    if (!*pp) {
        struct srv_addr_count *a = calloc(1, sizeof *a);
        if (!a) {
            return NULL; /* not counted: better than refusing for our own lack */
        }
        memcpy(a->key, key, sizeof a->key);
        *pp = a;
    }
    (*pp)->count++; /* taken now: an eviction in make_room cannot free the entry */
    return *pp;
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lis;
    (void)salen;
    struct srv_listener *l = arg;
    struct srv *s = l->srv;
    if (s->is_draining) {
        srv_metrics_refused(&s->metrics, l->ops->proto, SRV_REFUSED_DRAINING);
        refuse(s, l, fd, sa, "the server is shutting down");
        return;
    }
    struct srv_addr_count *a = addr_get(s, sa); /* counts this connection */
    enum srv_refusal limit;
    const char *why = make_room(s, l->ops->proto, a, &limit);
    if (why) {
        srv_metrics_refused(&s->metrics, l->ops->proto, limit);
        log_warn("event=refused proto=%s reason=\"%s\" connections=%u", l->ops->name, why,
                 s->nconns);
        if (a) {
            srv_addr_release(s, a);
        }
        refuse(s, l, fd, sa, why);
        return;
    }
    struct srv_conn *c = srv_conn_new(s, l, fd, sa);
    if (!c) {
        if (a) {
            srv_addr_release(s, a);
        }
        return;
    }
    srv_conn_admit(c, a);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv_listener *l = arg;
    if (!l->srv->is_draining) {
        evconnlistener_enable(l->lis);
    }
}

static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
    struct srv_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_warn("event=accept_error err=\"%s\"", evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* The pending connection stays in the backlog, so accepting again
         * at once would spin: pause, and free a descriptor if one is idle. */
        evconnlistener_disable(lis);
        struct srv_conn *victim = oldest_idle(l->srv, -1, NULL);
        if (victim) {
            srv_conn_close(victim);
        }
        struct timeval tv = {0, SRV_ACCEPT_RETRY_MS * 1000};
        event_add(l->retry, &tv);
    }
}

int srv_accept_listen(struct srv *s, int fd, const struct srv_proto_ops *ops, bool is_tls,
                      struct sd_error *err)
{
    if (!s->addr_table) {
        s->addr_cap = SRV_ADDR_BUCKETS;
        s->addr_table = calloc(s->addr_cap, sizeof *s->addr_table);
        if (!s->addr_table) {
            close(fd);
            return sd_errorf(err, SD_ENOMEM, "address table");
        }
    }
    if (s->nlisteners == SRV_MAX_LISTENERS) {
        close(fd);
        return sd_errorf(err, SD_EINVAL, "too many listeners");
    }
    struct srv_listener *l = &s->listeners[s->nlisteners];
    l->srv = s;
    l->ops = ops;
    l->is_tls = is_tls;
    l->lis = evconnlistener_new(s->base, accept_cb, l, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!l->lis) {
        close(fd);
        return sd_errorf(err, SD_ENOMEM, "evconnlistener_new");
    }
    s->nlisteners++;
    l->retry = evtimer_new(s->base, accept_retry_cb, l);
    if (!l->retry) {
        return sd_errorf(err, SD_ENOMEM, "evtimer_new");
    }
    evconnlistener_set_error_cb(l->lis, accept_error_cb);
    return SD_OK;
}

void srv_accept_stop(struct srv *s)
{
    for (unsigned i = 0; i < s->nlisteners; i++) {
        evconnlistener_disable(s->listeners[i].lis);
        event_del(s->listeners[i].retry);
    }
}

void srv_accept_free(struct srv *s)
{
    for (unsigned i = 0; i < s->nlisteners; i++) {
        evconnlistener_free(s->listeners[i].lis);
        if (s->listeners[i].retry) {
            event_free(s->listeners[i].retry);
        }
    }
    s->nlisteners = 0;
    free(s->addr_table);
    s->addr_table = NULL;
}
