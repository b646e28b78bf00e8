/*
 * srv_parse.c: a request's text made into a parsed job, on the loop when it is small and on a
 * thread of its own when it is large.
 *
 * Parsing is the loop's only work that grows with a request's size: the JSON of an import batch
 * is read on the loop thread, and every other client waits meanwhile. Measured on a quiet
 * machine (searches on one line connection while another sends 5 adds; /tmp stall script of
 * session 22): 1 MB batches of text (searchq import's size) held searches up to 22 ms, 5 MB
 * batches 82 ms, 5 MB of vectors 282 ms, and a 20 MB request of embeddings about 1.1 s.
 *
 * So a request of SRV_PARSE_ON_THREAD bytes or more is copied (an HTTP request's method and
 * target with its body) and parsed on the parse thread (one, so that imports cannot take every
 * core from the searches); smaller ones are parsed at once, as before, where a copy would cost
 * more than it saves. Meanwhile the job stands in its connection's FIFO with order
 * SRV_ORDER_ALONE: its op is not known yet, so later requests of that connection are framed and
 * parsed but do not start (srv_conn_may_start), and requests still take effect in their order
 * (a get pipelined after a large add sees its documents). The thread hands the job back through
 * the completion queue (srv_complete_remote; done_cb calls srv_parse_back), and it is then
 * dispatched as a small one is at once, and the jobs parked behind it are looked at again
 * (srv_conn_dispatch_parsed). A parse error is answered in its place, as for a small request.
 *
 * Memory: the copy is held until the job is freed (request fields may point into it) and counts
 * in its connection's pending input (job->in_bytes), which the back-pressure of srv_conn.c
 * bounds; the framer's buffer is given back as soon as the request is framed.
 *
 * Freeing the parsed tree is as costly as making it: two thirds of the loop's time while 5 MB
 * adds of vectors went by (perf: malloc_consolidate, _int_free, json_object_put). So a large
 * write's parsed request, which start_write lets go once the engine has copied the documents,
 * goes back to the parse thread to be freed there (srv_parse_dispose).
 */
#include <stdlib.h>
#include <string.h>

#include "srv_int.h"

#define SRV_PARSE_ON_THREAD ((size_t)256 << 10) /* ~10 ms of parsing on the loop at most */

/* A large request's text, the job's own. */
struct srv_parse_copy {
    struct srv_raw raw; /* points into bytes */
    enum proto_code rc; /* the parse's result, set by the parse thread */
    struct proto_error err;
    char bytes[]; /* target, then the body or line */
};

static enum proto_code parse_raw(const struct srv_raw *raw, struct proto_request *req,
                                 struct proto_error *err)
{
    if (raw->is_http) {
        return proto_parse_http(raw->method, raw->target, raw->target_len, raw->data, raw->len, req,
                                err);
    }
    return proto_parse_line(raw->data, raw->len, req, err);
}

/* The parsed job goes on, or its parse error is its answer (loop thread). */
static void dispatch_or_fail(struct srv_job *job, enum proto_code rc, const struct proto_error *err)
{
    if (rc) {
        srv_job_fail(job, rc, err->msg);
        job->allow = err->allow;
        srv_complete(job);
        return;
    }
    srv_dispatch(job);
}

static struct srv_parse_copy *copy_raw(const struct srv_raw *raw)
{
    struct srv_parse_copy *p = malloc(sizeof *p + raw->target_len + raw->len + 1);
    if (!p) {
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->raw = *raw;
    if (raw->target_len) {
        memcpy(p->bytes, raw->target, raw->target_len);
    }
    memcpy(p->bytes + raw->target_len, raw->data, raw->len);
    p->bytes[raw->target_len + raw->len] = '\0';
    p->raw.target = raw->target ? p->bytes : NULL;
    p->raw.data = p->bytes + raw->target_len;
    return p;
}

void srv_parse_request(struct srv_job *job, const struct srv_raw *raw)
{
    struct srv *s = job->srv;
    struct srv_parse_copy *p = raw->len >= SRV_PARSE_ON_THREAD ? copy_raw(raw) : NULL;
    if (!p) { /* small, or no memory for a copy: parsed here */
        struct proto_error err;
        enum proto_code rc = parse_raw(raw, &job->req, &err);
        dispatch_or_fail(job, rc, &err);
        return;
    }
    job->parse = p;
    job->order = SRV_ORDER_ALONE; /* until its op is known (file comment) */
    job->is_parsing = true;
    job->next = NULL;
    pthread_mutex_lock(&s->parse.mu);
    if (s->parse.tail) {
        s->parse.tail->next = job;
    } else {
        s->parse.head = job;
    }
    s->parse.tail = job;
    pthread_mutex_unlock(&s->parse.mu);
    pthread_cond_signal(&s->parse.cv);
}

void srv_parse_back(struct srv_job *job)
{
    struct srv_parse_copy *p = job->parse;
    job->is_parsing = false;
    if (job->srv->is_stopped) { /* the loop is gone (srv_free): answered by nobody */
        srv_job_fail(job, PROTO_BUSY, "the server is shutting down");
        srv_complete(job);
        return;
    }
    if (p->rc) {
        dispatch_or_fail(job, p->rc, &p->err);
        return;
    }
    srv_conn_dispatch_parsed(job);
}

/* A parsed request to free on the parse thread. */
struct srv_parse_dead {
    struct srv_parse_dead *next;
    struct proto_request req;
};

void srv_parse_dispose(struct srv_job *job, struct proto_request *req)
{
    struct srv *s = job->srv;
    struct srv_parse_dead *d = job->parse ? malloc(sizeof *d) : NULL;
    if (!d) { /* small (cheap to free), or no memory for the node */
        proto_request_free(req);
        return;
    }
    d->req = *req;
    proto_request_init(req); /* moved: nothing left to free */
    pthread_mutex_lock(&s->parse.mu);
    d->next = s->parse.dead;
    s->parse.dead = d;
    pthread_mutex_unlock(&s->parse.mu);
    pthread_cond_signal(&s->parse.cv);
}

/* Frees the requests given back, outside the lock (parse.mu held on entry and on return). */
static void free_dead(struct srv *s)
{
    while (s->parse.dead) {
        struct srv_parse_dead *d = s->parse.dead;
        s->parse.dead = NULL;
        pthread_mutex_unlock(&s->parse.mu);
        while (d) {
            struct srv_parse_dead *next = d->next;
            proto_request_free(&d->req);
            free(d);
            d = next;
        }
        pthread_mutex_lock(&s->parse.mu);
    }
}

void srv_parse_free(struct srv_job *job)
{
    free(job->parse);
    job->parse = NULL;
}

static void *parse_main(void *arg)
{
    struct srv *s = arg;
    pthread_setname_np(pthread_self(), "sd-parse");
    pthread_mutex_lock(&s->parse.mu);
    for (;;) {
        while (!s->parse.head && !s->parse.dead && !s->parse.is_stopping) {
            pthread_cond_wait(&s->parse.cv, &s->parse.mu);
        }
        free_dead(s);
        struct srv_job *job = s->parse.head;
        if (!job && s->parse.is_stopping) { /* and nothing left */
            break;
        }
        if (!job) { /* woken for requests to free only */
            continue;
        }
        s->parse.head = job->next;
        if (!s->parse.head) {
            s->parse.tail = NULL;
        }
        pthread_mutex_unlock(&s->parse.mu);
        struct srv_parse_copy *p = job->parse;
        p->rc = parse_raw(&p->raw, &job->req, &p->err);
        srv_complete_remote(job);
        pthread_mutex_lock(&s->parse.mu);
    }
    pthread_mutex_unlock(&s->parse.mu);
    return NULL;
}

int srv_parse_start(struct srv *s, struct sd_error *err)
{
    int e = pthread_create(&s->parse.thread, NULL, parse_main, s);
    if (e) {
        return sd_errorf(err, SD_EIO, "parse thread: %s", strerror(e));
    }
    s->parse.has_thread = true;
    return SD_OK;
}

void srv_parse_stop(struct srv *s)
{
    if (!s->parse.has_thread) {
        return;
    }
    pthread_mutex_lock(&s->parse.mu);
    s->parse.is_stopping = true;
    pthread_mutex_unlock(&s->parse.mu);
    pthread_cond_broadcast(&s->parse.cv);
    pthread_join(s->parse.thread, NULL);
    s->parse.has_thread = false;
}
