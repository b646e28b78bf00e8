/*
 * srv_unsent.c: the cap on answer bytes held for clients that do not read them (--max-unsent).
 *
 * Per connection, back-pressure (srv_conn.c) stops framing once SRV_OUT_HIGH answer bytes wait
 * for the client; but one answer can be large (a 20 MB document) and connections are many: 40
 * clients that each asked for a 20 MB document and never read held 770 MB of answers. This file
 * bounds the total over all connections, as Redis's client-output-buffer-limit bounds it per
 * client.
 *
 * What is counted (srv->unsent): a worker's answer from the moment it is made (the worker adds
 * it: the next job any worker takes sees it) until it moves into its connection's output buffer
 * or its job is freed (job->unsent); then the output buffer's bytes, added and taken away by an
 * evbuffer callback as they come and as the socket takes them (srv_conn.c, out_cb). The total
 * is thus kept as things happen, never by walking the connections. Answers made on the loop
 * (health, stats, errors, acknowledgements of writes) are small and counted once they are in an
 * output buffer. Workers add with relaxed atomics; everything else here is the loop's.
 *
 * What waits: searches and gets, the requests whose answers grow with the data. While the total
 * is under the cap they go to the workers as always. At the cap, a search or get about to start
 * waits in one FIFO on the loop instead (srv_unsent_must_wait), and so does one a worker takes
 * (it hands it back unrun, is_bounced): a burst that came while the total was low (40 gets at
 * once) is not made all at once, only as far as the cap plus the answers the workers are making
 * when it is reached (one each). Its connection reads no more requests while one of its jobs
 * waits at the cap (srv_conn.c, conn_is_full), as with the per-connection back-pressure.
 * Everything else (health, stats, /metrics, writes, index management) starts as always: the cap
 * never stops a health check, and a write's answer is small.
 *
 * A connection's answers leave in request order, so a later answer made while an earlier job of
 * its connection waits (a worker bounced the earlier one, then found room for the later) holds
 * room that nothing would give back until the earlier one is made. So when a job completes, the
 * earlier jobs of its connection that wait go to the workers at once, whatever the total
 * (is_forced: not bounced again); each such answer was made possible by one that was made under
 * the cap, so this adds at most as much again.
 *
 * When room may have come (a client took bytes, a connection or a job went, a job came back from
 * a worker), wait_ev is made active, and room_cb, on its own turn of the loop (never inside
 * libevent's buffer callbacks), hands out waiting jobs, oldest first, while the total is under
 * the cap and fewer than SRV_UNSENT_PER_WORKER jobs per worker are on the workers (a crowd let
 * go at once would mostly be bounced back).
 *
 * A client that reads must never wait for ever behind clients that do not. In an episode of
 * pressure (from the first job that waits with the total at the cap until SRV_UNSENT_LOG_S pass
 * without one) a timer ticks each second; once the oldest waiting job has waited
 * SRV_UNSENT_STALL_S and the total is still at the cap, the connections holding the most answer
 * bytes in their output buffers are closed (event=evict_unsent;
 * searchd_connections_rejected_total reason max_unsent) until it is under: those whose client
 * took nothing for SRV_UNSENT_STALL_S, largest first; and once it has waited three times that,
 * the largest others too (a client taking a byte now and then still holds what it holds, while
 * one reading at any real speed has given the room back long before). A connection that alone
 * holds more than the cap is treated the same, not closed at once as Redis's hard limit would:
 * its answer was started while there was room, its client may well be reading it, and closing it
 * would throw away an answer half delivered; if it reads nothing, the timer closes it. The jobs
 * ahead of a reader's in the FIFO may be of clients that do not read either (a first request
 * looks like anyone's): each round of cuts lets a cap's worth of them be made, cut in turn
 * SRV_UNSENT_STALL_S later, until the oldest has waited 3 x SRV_UNSENT_STALL_S and any holder
 * may go; so a reader waits at most about that (measured: 12-25 s, test_unsent.py).
 *
 * Logging, at most a few lines per SRV_UNSENT_LOG_S however the total swings around the cap:
 * event=max_unsent state=full when an episode begins and every SRV_UNSENT_LOG_S while it lasts
 * (how many jobs waited for room and how many connections were cut since the last line), and
 * state=clear when it ends.
 */
#include <stdlib.h>

#include "log.h"
#include "srv_int.h"

#define SRV_UNSENT_STALL_S    10 /* the oldest waiter waited this long: cut the holders */
#define SRV_UNSENT_LOG_S      10 /* at most one state=full line per this while jobs wait */
#define SRV_UNSENT_PER_WORKER 2  /* jobs on the workers when waiting ones are let go */

#define NS_PER_S 1000000000ull

bool srv_unsent_is_full(const struct srv *s)
{
    return atomic_load_explicit(&s->unsent, memory_order_relaxed) >= s->cfg.max_unsent;
}

static size_t unsent_now(const struct srv *s)
{
    return atomic_load_explicit(&s->unsent, memory_order_relaxed);
}

/* Room or a worker may have come: room_cb looks on the loop's next turn. */
static void kick(struct srv *s)
{
    if (s->wait_head && !s->is_wait_kicked) {
        s->is_wait_kicked = true;
        event_active(s->wait_ev, EV_READ, 0);
    }
}

void srv_unsent_add(struct srv *s, size_t n)
{
    atomic_fetch_add_explicit(&s->unsent, n, memory_order_relaxed);
}

void srv_unsent_sub(struct srv *s, size_t n)
{
    atomic_fetch_sub_explicit(&s->unsent, n, memory_order_relaxed);
    kick(s);
}

/* ---- the FIFO of waiting jobs ---- */

static void wait_append(struct srv *s, struct srv_job *job)
{
    job->wait_prev = s->wait_tail;
    job->wait_next = NULL;
    if (s->wait_tail) {
        s->wait_tail->wait_next = job;
    } else {
        s->wait_head = job;
    }
    s->wait_tail = job;
    job->is_waiting = true;
    job->wait_ns = sd_now_ns();
    job->conn->nwaiting++;
    s->nwaiting++;
}

static void wait_unlink(struct srv *s, struct srv_job *job)
{
    if (job->wait_prev) {
        job->wait_prev->wait_next = job->wait_next;
    } else {
        s->wait_head = job->wait_next;
    }
    if (job->wait_next) {
        job->wait_next->wait_prev = job->wait_prev;
    } else {
        s->wait_tail = job->wait_prev;
    }
    job->wait_prev = job->wait_next = NULL;
    job->is_waiting = false;
    job->conn->nwaiting--;
    s->nwaiting--;
}

size_t srv_unsent_waiting(const struct srv *s)
{
    return s->nwaiting;
}

static void log_full(struct srv *s, uint64_t now)
{
    log_warn("event=max_unsent state=full unsent=%zu limit=%zu waiting=%zu waited=%llu "
             "evicted=%llu connections=%u",
             unsent_now(s), s->cfg.max_unsent, s->nwaiting, (unsigned long long)s->nwaited,
             (unsigned long long)s->nevicted, s->nconns);
    s->full_logged_ns = now;
    s->nwaited = 0;
    s->nevicted = 0;
}

/* A job waits with the total at the cap: an episode of pressure begins (logged; the timer ticks)
 * if none is on, and it is on at least until SRV_UNSENT_LOG_S pass without the cap reached. */
static void full_seen(struct srv *s)
{
    if (!s->wait_head || !srv_unsent_is_full(s)) {
        return;
    }
    uint64_t now = sd_now_ns();
    s->full_seen_ns = now;
    if (s->full_since_ns) {
        return;
    }
    s->full_since_ns = now;
    log_full(s, now);
    struct timeval tv = {1, 0};
    event_add(s->wait_timer, &tv);
}

/* The episode ends (the tick found the cap not reached for SRV_UNSENT_LOG_S, or shutdown). */
static void full_end(struct srv *s)
{
    if (!s->full_since_ns) {
        return;
    }
    log_info("event=max_unsent state=clear unsent=%zu limit=%zu waiting=%zu waited=%llu "
             "evicted=%llu full_ms=%llu",
             unsent_now(s), s->cfg.max_unsent, s->nwaiting, (unsigned long long)s->nwaited,
             (unsigned long long)s->nevicted,
             (unsigned long long)((s->full_seen_ns - s->full_since_ns) / 1000000));
    s->full_since_ns = 0;
    s->nwaited = 0;
    s->nevicted = 0;
    event_del(s->wait_timer);
}

/* A job that will not run: answered busy (into nowhere if its connection is closed). */
static void wait_refuse(struct srv_job *job, const char *msg)
{
    srv_job_fail(job, PROTO_BUSY, msg);
    srv_complete(job);
}

static void wait_start(struct srv_job *job)
{
    struct srv *s = job->srv;
    job->is_bounced = false;
    if (s->is_draining) {
        wait_refuse(job, "the server is shutting down");
    } else if (!job->conn->bev) {
        wait_refuse(job, "the connection is closed");
    } else {
        wait_append(s, job);
        s->nwaited++;
        full_seen(s);
        kick(s); /* a bounced job may find room already */
    }
}

bool srv_unsent_must_wait(struct srv_job *job)
{
    struct srv *s = job->srv;
    if (!s->wait_head && !srv_unsent_is_full(s)) {
        return false;
    }
    wait_start(job);
    return true;
}

bool srv_unsent_unpool(struct srv_job *job)
{
    struct srv *s = job->srv;
    job->is_pooled = false;
    s->npooled--;
    kick(s);
    if (job->is_bounced) {
        wait_start(job);
        return true;
    }
    return false;
}

void srv_unsent_force_earlier(struct srv_job *job)
{
    struct srv_conn *c = job->conn;
    struct srv *s = job->srv;
    for (struct srv_job *j = c->head; j && j != job && c->nwaiting; j = j->fifo_next) {
        if (j->is_waiting) {
            wait_unlink(s, j);
            j->is_forced = true;
            srv_pool_push(s, j);
        }
    }
}

/* Hands out waiting jobs while there is room and a worker for them. */
static void room_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv *s = arg;
    s->is_wait_kicked = false;
    size_t max_pooled = (size_t)s->pool.nthreads * SRV_UNSENT_PER_WORKER;
    while (s->wait_head && !srv_unsent_is_full(s) && s->npooled < max_pooled) {
        struct srv_job *job = s->wait_head;
        struct srv_conn *c = job->conn;
        wait_unlink(s, job);
        srv_pool_push(s, job);
        if (c->nwaiting == 0) {
            srv_conn_resume(c); /* it may frame requests again (which may wait in turn) */
        }
    }
    full_seen(s);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv *s = arg;
    uint64_t now = sd_now_ns();
    const uint64_t stall = SRV_UNSENT_STALL_S * NS_PER_S;
    bool is_full = srv_unsent_is_full(s);
    if (s->wait_head && is_full && now - s->wait_head->wait_ns >= stall) {
        /* the holders that take nothing; after SRV_UNSENT_STALL_S x 3, any holder */
        bool may_cut_readers = now - s->wait_head->wait_ns >= 3 * stall;
        s->nevicted += srv_conn_evict_unsent(s, stall, may_cut_readers);
    }
    if (!is_full && now - s->full_seen_ns >= SRV_UNSENT_LOG_S * NS_PER_S) {
        full_end(s);
    } else if (now - s->full_logged_ns >= SRV_UNSENT_LOG_S * NS_PER_S) {
        log_full(s, now);
    }
}

void srv_unsent_drop_conn(struct srv_conn *c)
{
    struct srv *s = c->srv;
    if (!c->nwaiting) {
        return;
    }
    c->in_callback++; /* completing a job may close c again: c stays */
    while (c->nwaiting) {
        struct srv_job *job = s->wait_head;
        while (job->conn != c) {
            job = job->wait_next;
        }
        wait_unlink(s, job);
        wait_refuse(job, "the connection is closed");
    }
    c->in_callback--;
}

void srv_unsent_fail_all(struct srv *s)
{
    while (s->wait_head) {
        struct srv_job *job = s->wait_head;
        wait_unlink(s, job);
        wait_refuse(job, "the server is shutting down");
    }
    full_end(s);
}

int srv_unsent_init(struct srv *s, struct sd_error *err)
{
    s->wait_ev = event_new(s->base, -1, 0, room_cb, s);
    s->wait_timer = event_new(s->base, -1, EV_PERSIST, tick_cb, s);
    if (!s->wait_ev || !s->wait_timer) {
        return sd_errorf(err, SD_ENOMEM, "unsent events");
    }
    return SD_OK;
}

void srv_unsent_free(struct srv *s)
{
    if (s->wait_ev) {
        event_free(s->wait_ev);
    }
    if (s->wait_timer) {
        event_free(s->wait_timer);
    }
}
