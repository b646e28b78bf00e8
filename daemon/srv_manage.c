/*
 * srv_manage.c: index management (issue 11): list the indexes, create one, read and replace
 * its settings, drop it. The same ops on both protocols (PROTOCOL.md "Index management").
 *
 * These run on a worker thread like searches, never on the loop: setting settings fsyncs the
 * new SETTINGS file and its directory, and a drop waits for the searches and writes using the
 * index to end before it renames and removes the directory. The loop only parses, checks the
 * role (srv_keys.c: a search key may list and read, only an admin key may change or drop) and
 * queues the job.
 *
 * Names were checked by proto_parse (idx_name_valid) before the job was made, and the engine
 * checks them again, so no name reaches a path outside the data directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "srv_int.h"

static void manage_indexes(struct srv *s, struct srv_job *job)
{
    struct idx_index_info *v = NULL;
    size_t n = 0;
    struct sd_error err = {0};
    int rc = idx_indexes(s->db, &v, &n, &err);
    if (rc == SD_OK) {
        proto_encode_indexes(&job->out, v, n);
    } else {
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
    }
    free(v);
}

/* A settings error from the engine: the settings are what the client got wrong (a bad type,
 * weight or key is bad_request, whatever the engine's status), unless the disk or the
 * server failed. */
static void fail_settings(struct srv_job *job, int rc, const struct sd_error *err)
{
    enum proto_code code = proto_code_from_sd(rc);
    if (rc == SD_EPARSE || rc == SD_EINVAL || rc == SD_ELIMIT) {
        code = PROTO_BAD_REQUEST;
    } else if (rc == SD_ENOTFOUND) {
        code = PROTO_UNKNOWN_INDEX;
    }
    srv_job_fail(job, code, err->msg);
    if (code == PROTO_INTERNAL || code == PROTO_DISK_FULL) {
        log_error("event=settings_failed index=%s rc=%s msg=\"%s\"", job->req.index,
                  sd_status_name(rc), err->msg);
    }
}

/* create_index (mode CREATE) and set_settings / PUT (mode UPSERT; with "merge": true, the
 * settings are a merge patch of those in force: idx_update_settings). Whether the name exists is
 * the engine's to say (SD_EEXIST): it decides under its registry's lock, so of two create_index
 * of one name exactly one is answered ok, the other index_exists. */
static void manage_set(struct srv *s, struct srv_job *job, enum idx_settings_mode mode)
{
    const struct proto_request *r = &job->req;
    struct sd_error err = {0};
    uint64_t version = 0;
    int rc =
        r->is_settings_merge
            ? idx_update_settings(s->db, r->index, r->settings, r->settings_len, &version, &err)
            : idx_set_settings(s->db, r->index, r->settings, r->settings_len, mode, &version, &err);
    if (rc == SD_EEXIST) {
        char msg[IDX_MAX_NAME + 64];
        snprintf(msg, sizeof msg, "index '%s' exists (set_settings replaces its settings)",
                 r->index);
        srv_job_fail(job, PROTO_INDEX_EXISTS, msg);
        return;
    }
    if (rc != SD_OK) {
        fail_settings(job, rc, &err);
        return;
    }
    log_info("event=settings_set index=%s version=%llu", r->index, (unsigned long long)version);
    proto_encode_settings_set(&job->out, r->index, version);
}

static void manage_get(struct srv *s, struct srv_job *job)
{
    const char *index = job->req.index;
    char *json = NULL;
    size_t len = 0;
    uint64_t version = 0;
    struct idx_stats st;
    struct sd_error err = {0};
    int rc = idx_get_settings(s->db, index, &json, &len, &version, &err);
    if (rc == SD_OK) {
        rc = idx_stats(s->db, index, &st, &err); /* SD_ENOTFOUND if dropped meanwhile */
    }
    if (rc == SD_ENOTFOUND && srv_is_default_index(index)) {
        /* "default" exists implicitly: before the first write it has no settings */
        srv_empty_default_stats(s, &st);
        free(json);
        json = NULL;
        len = 0;
        version = 0;
        rc = SD_OK;
    }
    if (rc == SD_OK) {
        proto_encode_settings(&job->out, index, json, len, version, &st);
    } else if (rc == SD_ENOTFOUND) {
        srv_job_fail(job, PROTO_UNKNOWN_INDEX, err.msg);
    } else {
        srv_job_fail(job, proto_code_from_sd(rc), err.msg);
    }
    free(json);
}

static void manage_drop(struct srv *s, struct srv_job *job)
{
    struct sd_error err = {0};
    int rc = idx_drop(s->db, job->req.index, &err);
    if (rc == SD_OK) {
        log_info("event=index_dropped index=%s", job->req.index);
        proto_encode_dropped(&job->out, job->req.index);
    } else if (rc == SD_ENOTFOUND) {
        srv_job_fail(job, PROTO_UNKNOWN_INDEX, err.msg);
    } else {
        srv_job_fail(job, rc == SD_EINVAL ? PROTO_BAD_REQUEST : proto_code_from_sd(rc), err.msg);
        log_warn("event=drop_failed index=%s rc=%s msg=\"%s\"", job->req.index, sd_status_name(rc),
                 err.msg);
    }
}

void srv_run_manage(struct srv *s, struct srv_job *job)
{
    switch (job->req.op) {
    case PROTO_OP_INDEXES:
        manage_indexes(s, job);
        break;
    case PROTO_OP_CREATE_INDEX:
        manage_set(s, job, IDX_SETTINGS_CREATE);
        break;
    case PROTO_OP_SET_SETTINGS:
        manage_set(s, job, IDX_SETTINGS_UPSERT);
        break;
    case PROTO_OP_GET_SETTINGS:
        manage_get(s, job);
        break;
    case PROTO_OP_DROP_INDEX:
        manage_drop(s, job);
        break;
    default:
        srv_job_fail(job, PROTO_INTERNAL, "not an index management op");
        break;
    }
}
