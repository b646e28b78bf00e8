/*
 * srv_snapshot.c: the snapshot op (line `snapshot`, HTTP POST /indexes/NAME/snapshot) off the
 * event loop.
 *
 * idx_snapshot blocks for a flush and for linking or copying the index's files: seconds,
 * longer when it copies to another filesystem. The loop thread must never wait for it, and a
 * worker must not either (searches queue behind the workers, and there may be one). So each
 * snapshot runs on a thread of its own, detached, that ends by handing the job back through
 * the completion queue like a worker does (srv_complete_remote). Shutdown waits for it: the
 * job counts in srv->inflight until the loop has completed it, and the engine's drop and
 * close wait for idx_snapshot's use of the index.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "srv_int.h"

static enum proto_code srv_snapshot_code(int rc)
{
    switch (rc) {
    case SD_EINVAL:
        return PROTO_BAD_REQUEST; /* snapshots off, or the name exists */
    case SD_ENOTFOUND:
        return PROTO_UNKNOWN_INDEX;
    default:
        return proto_code_from_sd(rc);
    }
}

static void *srv_snapshot_main(void *arg)
{
    struct srv_job *job = arg;
    struct proto_request *r = &job->req;
    pthread_setname_np(pthread_self(), "sd-snapshot");
    struct idx_snapshot_info info;
    struct sd_error err = {0};
    int rc = idx_snapshot(job->srv->db, r->index, r->snapshot, &info, &err);
    if (rc == SD_OK) {
        proto_encode_snapshot(&job->out, r->index, r->snapshot, &info);
        log_info("event=snapshot index=%s name=%s path=%s seq=%llu segments=%u linked=%u "
                 "copied=%u bytes=%llu ms=%llu",
                 r->index, r->snapshot, info.path, (unsigned long long)info.seq, info.segments,
                 info.linked, info.copied, (unsigned long long)info.bytes,
                 (unsigned long long)info.ms);
    } else {
        srv_job_fail(job, srv_snapshot_code(rc), err.msg);
        log_warn("event=snapshot_failed index=%s name=%s rc=%s msg=\"%s\"", r->index, r->snapshot,
                 sd_status_name(rc), err.msg);
    }
    srv_complete_remote(job); /* the job is the loop's again: touch nothing after */
    return NULL;
}

void srv_snapshot_start(struct srv_job *job)
{
    pthread_attr_t attr;
    pthread_t t;
    int e = pthread_attr_init(&attr);
    if (e == 0) {
        e = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (e == 0) {
            e = pthread_create(&t, &attr, srv_snapshot_main, job);
        }
        pthread_attr_destroy(&attr);
    }
    if (e) {
        char msg[96];
        snprintf(msg, sizeof msg, "cannot start the snapshot thread: %s", strerror(e));
        srv_job_fail(job, PROTO_BUSY, msg);
        srv_complete(job);
    }
}
