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
    struct sq_conn *conn;
    int rc = cli_rpc_open(opts, 0, &conn);
    if (rc != CLI_EXIT_OK) {
        json_object_put(req);
        return rc;
    }
    struct sq_reply reply = {0};
    rc = cli_rpc_send(opts, conn, req);
    if (rc == CLI_EXIT_OK) {
        rc = cli_rpc_recv(opts, conn, NULL, &reply);
    }
    if (opts->is_json && reply.line) {
        fwrite(reply.line, 1, reply.len, stdout);
        fputc('\n', stdout);
    }
    *answer = reply.answer; /* the parsed object does not point into the connection's buffer */
    reply.answer = NULL;
    sq_reply_free(&reply);
    sq_close(conn);
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

/* One "FIELD:NUMBER" of --weights, item[0, len) (borrowed), added to obj. */
static int cmd_put_weight(struct json_object *obj, const char *item, size_t len)
{
    const char *colon = memchr(item, ':', len);
    size_t name_len = colon ? (size_t)(colon - item) : 0;
    char number[64];
    size_t num_len = colon ? len - name_len - 1 : 0;
    if (!colon || name_len == 0 || num_len == 0 || num_len >= sizeof number) {
        fprintf(stderr, "searchq: --weights wants FIELD:NUMBER pairs, got '%.*s'\n", (int)len,
                item);
        return CLI_EXIT_USAGE;
    }
    memcpy(number, colon + 1, num_len);
    number[num_len] = '\0';
    /* the number as JSON writes one, so that what is sent is what was typed */
    struct json_object *w = json_tokener_parse(number);
    struct cli_json_fault fault;
    bool is_number =
        w && (json_object_is_type(w, json_type_int) || json_object_is_type(w, json_type_double)) &&
        cli_json_check(number, num_len, &fault);
    char *name = strndup(item, name_len);
    int rc = CLI_EXIT_USAGE;
    if (!name) {
        fprintf(stderr, "searchq: out of memory\n");
        rc = CLI_EXIT_ERROR;
    } else if (!is_number) {
        fprintf(stderr, "searchq: --weights: '%s' wants a number, got '%s'\n", name, number);
    } else if (json_object_object_get_ex(obj, name, NULL)) {
        fprintf(stderr, "searchq: --weights: '%s' given twice\n", name);
    } else if (json_object_object_add(obj, name, w) == 0) {
        w = NULL; /* obj has it */
        rc = CLI_EXIT_OK;
    } else {
        fprintf(stderr, "searchq: out of memory\n");
        rc = CLI_EXIT_ERROR;
    }
    json_object_put(w);
    free(name);
    return rc;
}

int cli_parse_weights(const char *text, struct json_object **out)
{
    struct json_object *obj = json_object_new_object();
    int rc = obj ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    for (const char *p = text; rc == CLI_EXIT_OK;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        rc = cmd_put_weight(obj, p, len);
        if (!comma) {
            break;
        }
        p = comma + 1;
    }
    if (rc != CLI_EXIT_OK) {
        json_object_put(obj);
        return rc;
    }
    *out = obj;
    return CLI_EXIT_OK;
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

int cli_cmd_search(const struct cli_opts *opts, int argc, char **argv)
{
    char *q = cmd_join(argc, argv);
    struct sq_search_params p = sq_search_defaults(q);
    p.index = opts->index;
    p.syntax = opts->syntax;
    p.proximity = opts->proximity;
    p.typo = opts->typo;
    p.layout = opts->layout;
    p.drop_words = opts->drop_words;
    p.weights = opts->weights;
    if (opts->wants_highlight || !opts->is_json || opts->fragments >= 0) {
        /* offsets, so the terminal gets its own marks and no HTML escapes; for the one-line
         * view too, which shows the words found (print.c, print_excerpt). --fragments asks
         * for highlights too: the server takes fragments only with them. */
        p.highlight = 1;
        p.highlight_offsets = 1;
    }
    p.snippet_len = opts->snippet_len;
    p.fragments = opts->fragments;
    p.limit = opts->limit;
    p.offset = opts->offset;
    p.filter = opts->filter;
    p.sort = opts->sort;
    p.facets = opts->facets;
    p.fields = opts->fields;
    struct json_object *req = q ? sq_req_search(&p) : NULL;
    struct json_object *answer;
    int rc = cli_cmd_call(opts, req, &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        /* --fragments N shows the N fragments it asked for, as --highlight does */
        cli_print_hits(stdout, answer, q, opts->offset > 0 ? opts->offset : 0,
                       opts->wants_highlight || opts->fragments >= 0);
    }
    free(q);
    return cli_cmd_finish(rc, answer);
}

int cli_cmd_get(const struct cli_opts *opts, const char *id)
{
    struct json_object *answer, *doc = NULL;
    int rc = cli_cmd_call(opts, sq_req_get(opts->index, id), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        json_object_object_get_ex(answer, "doc", &doc);
        cli_print_doc(stdout, doc);
    }
    return cli_cmd_finish(rc, answer);
}

#define CLI_DELETE_BATCH 10000 /* ids a delete request may carry (docs/PROTOCOL.md) */

int cli_cmd_delete(const struct cli_opts *opts, int argc, char **argv)
{
    struct json_object *answer;
    if (argc == 1) {
        int rc = cli_cmd_call(opts, sq_req_delete(opts->index, argv[0]), &answer);
        if (rc == CLI_EXIT_OK && !opts->is_json) {
            int64_t count = cli_int_member(answer, "deleted");
            printf("deleted %s (%lld document%s)\n", argv[0], (long long)count,
                   count == 1 ? "" : "s");
        }
        return cli_cmd_finish(rc, answer);
    }
    int64_t deleted = 0, not_found = 0;
    int rc = CLI_EXIT_OK;
    for (int at = 0; at < argc && rc == CLI_EXIT_OK; at += CLI_DELETE_BATCH) {
        int n = argc - at < CLI_DELETE_BATCH ? argc - at : CLI_DELETE_BATCH;
        struct json_object *req =
            sq_req_delete_ids(opts->index, (const char *const *)(argv + at), (size_t)n);
        rc = cli_cmd_call(opts, req, &answer);
        deleted += rc == CLI_EXIT_OK ? cli_int_member(answer, "deleted") : 0;
        not_found += rc == CLI_EXIT_OK ? cli_int_member(answer, "not_found") : 0;
        json_object_put(answer);
    }
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        printf("deleted %lld of %d documents (%lld not found)\n", (long long)deleted, argc,
               (long long)not_found);
    }
    return cli_cmd_finish(rc, NULL);
}

int cli_cmd_stats(const struct cli_opts *opts)
{
    struct json_object *answer;
    int rc = cli_cmd_call(opts, sq_req_stats(opts->index), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        cli_print_stats(stdout, answer);
    }
    return cli_cmd_finish(rc, answer);
}

/* Exit status 1 when the server is up but not "ok" (degraded), so that scripts can tell. */
int cli_cmd_health(const struct cli_opts *opts)
{
    struct json_object *answer, *st = NULL;
    /* health is about the server: it takes no index, whatever --index says */
    int rc = cli_cmd_call(opts, sq_req_health(), &answer);
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
