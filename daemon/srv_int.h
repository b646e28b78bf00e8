/*
 * srv_int.h: what srv.c, srv_line.c and srv_http.c share. Private to daemon/.
 *
 * A request becomes a struct srv_job on the loop thread. The job is created
 * for every request read, even one that fails to parse, so that a line
 * connection's answers can be kept in request order: each connection keeps
 * its jobs in a FIFO (head..tail) and writes the answers of done jobs from
 * the head only. A job's life:
 *
 *   loop: read -> job_new -> proto_parse_* --error--> job_fail -> srv_complete
 *                                 \--ok--> srv_dispatch
 *   srv_dispatch: stats/health run inline -> srv_complete
 *                 search/get -> worker queue -> worker runs + encodes
 *                 add/delete -> idx_write -> engine calls back when durable
 *   workers, engine -> completion queue + event_active -> loop: srv_complete
 *   srv_complete: HTTP: reply now; line: mark done, write the FIFO's done head
 *
 * Lock order: none is held while taking another. pool.mu guards the work
 * queue, done_mu the completion queue; everything else belongs to the loop
 * thread (jobs belong to whichever thread holds them; handing a job over
 * through a queue is the synchronization).
 */
#ifndef SEARCHD_SRV_INT_H
#define SEARCHD_SRV_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <event2/event.h>

#include "proto.h"
#include "srv.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evhttp_bound_socket;
struct evconnlistener;
struct bufferevent;

enum srv_origin {
    SRV_FROM_LINE,
    SRV_FROM_HTTP,
};

struct srv_conn;

struct srv_job {
    struct srv_job *next;      /* link in the work or completion queue */
    struct srv_job *fifo_next; /* line: next job of the same connection */
    struct srv *srv;
    enum srv_origin origin;
    struct srv_conn *conn;       /* line: the connection (owns the job) */
    struct evhttp_request *http; /* HTTP: the request to answer (libevent's) */
    struct proto_request req;    /* freed at completion */
    uint64_t start_ns;
    size_t in_bytes; /* line: length of the request line */
    bool is_done;
    int status;        /* HTTP status of the answer */
    const char *allow; /* Allow header of a 405 (static) */
    struct sd_buf out; /* the answer: JSON text and '\n' */
};

/* A line-protocol connection (TCP or Unix socket). Loop thread only. */
struct srv_conn {
    struct srv_conn *prev, *next; /* srv->conns */
    struct srv *srv;
    struct bufferevent *bev;     /* NULL once the socket is closed */
    struct srv_job *head, *tail; /* answers in request order, not yet written */
    size_t npending;             /* jobs in the FIFO */
    size_t pending_in;           /* request bytes of those jobs */
    bool is_closing;             /* write what is pending, then close */
    bool is_paused;              /* reading stopped for back-pressure */
    bool must_linger;            /* the client may still be sending when we close */
    bool is_lingering;           /* FIN sent, discarding input until the client closes */
    char peer[64];
};

struct srv_http_track; /* HTTP connections seen, for --max-connections */
struct srv_refusal;

struct srv {
    struct srv_config cfg;
    struct idx_db *db; /* borrowed */
    struct event_base *base;

    struct evhttp *http;
    struct evhttp_bound_socket *http_sock;
    struct evconnlistener *line_lis;
    struct evconnlistener *unix_lis;
    char *socket_path; /* owned copy, unlinked at free */
    char http_addr[80];
    char line_addr[80];

    struct event *sig_term, *sig_int;
    struct event *shutdown_ev; /* made active by srv_shutdown() */
    struct event *drain_timer;
    bool is_draining;
    uint64_t drain_start_ns;

    /* loop thread only */
    struct srv_conn *conns;       /* line connections */
    unsigned nconns;              /* line connections + HTTP connections tracked */
    struct srv_refusal *refusals; /* refused sockets still saying goodbye (srv_line.c) */
    unsigned nrefusing;
    uint64_t inflight;                   /* jobs created and not yet completed */
    struct srv_http_track **http_tracks; /* hash table of HTTP connections */
    size_t http_tracks_cap;

    /* worker pool */
    struct {
        pthread_mutex_t mu;          /* guards head, tail, is_stopping */
        pthread_cond_t cv;           /* signalled on push and stop */
        struct srv_job *head, *tail; /* searches and gets to run */
        bool is_stopping;
        pthread_t *threads;
        unsigned nthreads;
    } pool;

    /* completion queue: workers and engine callbacks -> loop */
    pthread_mutex_t done_mu; /* guards done_head, done_tail */
    struct srv_job *done_head, *done_tail;
    struct event *done_ev;
};

/* srv.c */
struct srv_job *srv_job_new(struct srv *s, enum srv_origin origin);
void srv_job_free(struct srv_job *job);
void srv_job_fail(struct srv_job *job, enum proto_code code, const char *msg);
void srv_dispatch(struct srv *s, struct srv_job *job);
void srv_complete(struct srv_job *job); /* loop thread */

/* srv_line.c */
int srv_line_listen(struct srv *s, int fd, struct evconnlistener **out, struct sd_error *err);
void srv_line_job_done(struct srv_job *job);
void srv_line_drain_all(struct srv *s); /* shutdown: stop reading, close when flushed */
void srv_line_free_all(struct srv *s);

/* srv_http.c */
int srv_http_start(struct srv *s, int fd, struct sd_error *err);
void srv_http_reply(struct srv_job *job);
void srv_http_stop_listening(struct srv *s);
void srv_http_free(struct srv *s);

#endif
