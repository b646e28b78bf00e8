/*
 * cmd.c: the one-request commands of searchq: search, get, delete, stats and health.
 *
 * Each opens a connection, sends one request, reads one answer and prints it: as the server's
 * JSON line with --json (even an error answer, so scripts see the error object), otherwise in a
 * readable form (print.c). Error answers also go to stderr and give exit status 1.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

int cli_cmd_call(const struct cli_opts *opts, struct json_object *req, struct json_object **answer)
{
    *answer = NULL;
    if (!req) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    struct cli_conn conn;
    int rc = cli_rpc_open(opts, &conn);
    if (rc != CLI_EXIT_OK) {
        json_object_put(req);
        return rc;
    }
    struct cli_reply reply;
    rc = cli_rpc_call(&conn, req, &reply);
    if (opts->is_json && reply.line) {
        fwrite(reply.line, 1, reply.len, stdout);
        fputc('\n', stdout);
    }
    *answer = reply.obj; /* the parsed object does not point into the connection's buffer */
    reply.obj = NULL;
    cli_reply_free(&reply);
    cli_conn_close(&conn);
    json_object_put(req);
    return rc;
}

int cli_cmd_finish(int rc, struct json_object *answer)
{
    json_object_put(answer);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        perror("searchq: stdout");
        return CLI_EXIT_ERROR;
    }
    return rc;
}

/* Joins words with single spaces. Returns owned, or NULL when out of memory. */
static char *cmd_join(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    char *q = malloc(len);
    if (!q) {
        return NULL;
    }
    size_t o = 0;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i > 0) {
            q[o++] = ' ';
        }
        memcpy(q + o, argv[i], n);
        o += n;
    }
    q[o] = '\0';
    return q;
}

/* --filter, --sort, --facets, --fields, as given: the server splits the lists and checks
 * them, so its messages name what is wrong. */
static void cmd_add_attr_params(const struct cli_opts *opts, struct json_object *req)
{
    const struct {
        const char *name;
        const char *value;
    } params[] = {{"filter", opts->filter},
                  {"sort", opts->sort},
                  {"facets", opts->facets},
                  {"fields", opts->fields}};
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        if (params[i].value) {
            json_object_object_add(req, params[i].name, json_object_new_string(params[i].value));
        }
    }
}

int cli_cmd_search(const struct cli_opts *opts, int argc, char **argv)
{
    char *q = cmd_join(argc, argv);
    struct json_object *req = q ? cli_rpc_request(opts, "search") : NULL;
    if (req) {
        json_object_object_add(req, "q", json_object_new_string(q));
        json_object_object_add(req, "syntax", json_object_new_string(opts->syntax));
        if (opts->wants_highlight) {
            /* offsets, so the terminal gets its own marks and no HTML escapes */
            json_object_object_add(req, "highlight", json_object_new_boolean(1));
            json_object_object_add(req, "highlight_offsets", json_object_new_boolean(1));
        }
        if (opts->snippet_len >= 0) {
            json_object_object_add(req, "snippet_len", json_object_new_int64(opts->snippet_len));
        }
        if (opts->fragments >= 0) {
            json_object_object_add(req, "fragments", json_object_new_int64(opts->fragments));
        }
        if (opts->limit >= 0) {
            json_object_object_add(req, "limit", json_object_new_int64(opts->limit));
        }
        if (opts->offset >= 0) {
            json_object_object_add(req, "offset", json_object_new_int64(opts->offset));
        }
        cmd_add_attr_params(opts, req);
    }
    struct json_object *answer;
    int rc = cli_cmd_call(opts, req, &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        cli_print_hits(stdout, answer, q, opts->offset > 0 ? opts->offset : 0);
    }
    free(q);
    return cli_cmd_finish(rc, answer);
}

static struct json_object *cmd_id_request(const struct cli_opts *opts, const char *op,
                                          const char *id)
{
    struct json_object *req = cli_rpc_request(opts, op);
    if (req) {
        json_object_object_add(req, "id", json_object_new_string(id));
    }
    return req;
}

int cli_cmd_get(const struct cli_opts *opts, const char *id)
{
    struct json_object *answer, *doc = NULL;
    int rc = cli_cmd_call(opts, cmd_id_request(opts, "get", id), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        json_object_object_get_ex(answer, "doc", &doc);
        cli_print_doc(stdout, doc);
    }
    return cli_cmd_finish(rc, answer);
}

int cli_cmd_delete(const struct cli_opts *opts, const char *id)
{
    struct json_object *answer, *n = NULL;
    int rc = cli_cmd_call(opts, cmd_id_request(opts, "delete", id), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        json_object_object_get_ex(answer, "deleted", &n);
        int64_t count = json_object_get_int64(n);
        printf("deleted %s (%lld document%s)\n", id, (long long)count, count == 1 ? "" : "s");
    }
    return cli_cmd_finish(rc, answer);
}

int cli_cmd_stats(const struct cli_opts *opts)
{
    struct json_object *answer;
    int rc = cli_cmd_call(opts, cli_rpc_request(opts, "stats"), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        cli_print_stats(stdout, answer);
    }
    return cli_cmd_finish(rc, answer);
}

/* Exit status 1 when the server is up but not "ok" (degraded), so that scripts can tell. */
int cli_cmd_health(const struct cli_opts *opts)
{
    struct json_object *answer, *st = NULL;
    struct cli_opts plain = *opts;
    plain.index = NULL; /* health is about the server: it takes no index */
    int rc = cli_cmd_call(opts, cli_rpc_request(&plain, "health"), &answer);
    if (rc == CLI_EXIT_OK) {
        json_object_object_get_ex(answer, "status", &st);
        const char *status = st ? json_object_get_string(st) : "(none)";
        if (!opts->is_json) {
            printf("%s\n", status);
        }
        if (strcmp(status, "ok") != 0) {
            rc = CLI_EXIT_ERROR;
        }
    }
    return cli_cmd_finish(rc, answer);
}
