/*
 * bench_libsq.c: libsearchq's pipelined throughput, for bench/client_throughput.py.
 *
 *   bench-libsq ADDRESS INDEX DOCS.jsonl QUERIES.txt BATCH
 *
 * Loads the documents (one JSON object a line) into add batches of BATCH and the queries (one a
 * line) before the clock starts, then times two phases on one connection, each fully pipelined
 * under the library's default in-flight bound (16 MiB): every batch built (sq_req_add), sent
 * and its answer read and parsed; then every search (limit 10, snippets: the defaults) the
 * same way. Prints one line: "docs=N import_s=S import_cpu_s=C searches=M search_s=T
 * search_cpu_s=U" (wall seconds, and this process's CPU seconds). A refused request
 * fails the run: what is timed must be what was asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "searchq.h"

/* clock: CLOCK_MONOTONIC (wall) or CLOCK_PROCESS_CPUTIME_ID (this client's CPU). */
static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct sq_error *err)
{
    fprintf(stderr, "bench-libsq: %s: %s %s %s\n", what, sq_status_name(err->status), err->code,
            err->message);
    exit(1);
}

/* Reads the non-empty lines of path; *count set. Returns owned strings (exits on failure). */
static char **read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char **lines = NULL, *line = NULL;
    size_t n = 0, cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        lines = realloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *count = n;
    return lines;
}

/* Reads the oldest answer; an error answer or a failure ends the run. */
static void recv_one(struct sq_conn *c)
{
    struct sq_reply r;
    struct sq_error err;
    if (sq_recv(c, &r, &err) != SQ_OK) {
        die("answer", &err);
    }
    sq_reply_free(&r);
}

/* Sends req (then frees it), reading answers while the bound says wait. Serialized once, as
 * sq_send does, so that the wait costs no second serialization. */
static void send_one(struct sq_conn *c, struct json_object *req)
{
    static char *line;
    static size_t cap;
    struct sq_error err;
    size_t len;
    const char *text = json_object_to_json_string_length(
        req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (len + 1 > cap) {
        cap = 2 * (len + 1);
        line = realloc(line, cap);
    }
    memcpy(line, text, len);
    line[len] = '\n';
    while (!sq_can_send(c, len + 1)) {
        recv_one(c);
    }
    if (sq_send_line(c, line, len + 1, &err) != SQ_OK) {
        die("send", &err);
    }
    json_object_put(req);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench-libsq ADDRESS INDEX DOCS.jsonl QUERIES.txt BATCH\n");
        return 2;
    }
    const char *index = argv[2];
    size_t ndocs, nqueries, batch = (size_t)atoi(argv[5]);
    char **docs = read_lines(argv[3], &ndocs);
    char **queries = read_lines(argv[4], &nqueries);
    size_t nbatches = batch ? (ndocs + batch - 1) / batch : 0;
    struct json_object **batches = calloc(nbatches + 1, sizeof *batches);
    for (size_t i = 0; i < ndocs; i++) {
        if (i % batch == 0) {
            batches[i / batch] = json_object_new_array();
        }
        json_object_array_add(batches[i / batch], json_tokener_parse(docs[i]));
    }
    struct sq_options o = {.address = argv[1]};
    struct sq_conn *c;
    struct sq_error err;
    if (sq_connect(&o, &c, &err) != SQ_OK) {
        die("connect", &err);
    }

    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t b = 0; b < nbatches; b++) {
        send_one(c, sq_req_add(index, batches[b]));
    }
    while (sq_inflight(c) > 0) {
        recv_one(c);
    }
    double t1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t q = 0; q < nqueries; q++) {
        struct sq_search_params p = sq_search_defaults(queries[q]);
        p.index = index;
        send_one(c, sq_req_search(&p));
    }
    while (sq_inflight(c) > 0) {
        recv_one(c);
    }
    double t2 = now_s(CLOCK_MONOTONIC), c2 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    printf("docs=%zu import_s=%.4f import_cpu_s=%.4f searches=%zu search_s=%.4f "
           "search_cpu_s=%.4f\n",
           ndocs, t1 - t0, c1 - c0, nqueries, t2 - t1, c2 - c1);
    sq_close(c);
    for (size_t b = 0; b < nbatches; b++) {
        json_object_put(batches[b]);
    }
    free(batches);
    for (size_t i = 0; i < ndocs; i++) {
        free(docs[i]);
    }
    for (size_t i = 0; i < nqueries; i++) {
        free(queries[i]);
    }
    free(docs);
    free(queries);
    return 0;
}
