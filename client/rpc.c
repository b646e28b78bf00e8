/*
 * rpc.c: one request out, one answer in, over the line protocol (docs/PROTOCOL.md).
 *
 * A request is a JSON object serialized on one line (json-c never emits a raw newline inside a
 * string, so the serialized form is always a single line). An answer is
 * {"ok":true,...} or {"ok":false,"error":{"code":"...","message":"..."}}; the second becomes
 * a "server error CODE: MESSAGE" line on stderr and exit status 1 (CLI_EXIT_ERROR).
 */
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

/* Plain (one line), and no "\/" escaping so that the wire stays readable in logs. */
#define RPC_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct json_object *cli_rpc_request(const struct cli_opts *opts, const char *op)
{
    struct json_object *req = json_object_new_object();
    if (!req) {
        return NULL;
    }
    json_object_object_add(req, "op", json_object_new_string(op));
    if (opts->index) {
        json_object_object_add(req, "index", json_object_new_string(opts->index));
    }
    return req;
}

int cli_rpc_send(struct cli_conn *c, struct json_object *req)
{
    size_t len;
    const char *text = json_object_to_json_string_length(req, RPC_JSON_FLAGS, &len);
    if (!text) {
        fprintf(stderr, "searchq: out of memory building a request\n");
        return CLI_EXIT_ERROR;
    }
    /* One write for line and newline keeps small requests in one TCP segment. */
    char *line = malloc(len + 1);
    if (!line) {
        fprintf(stderr, "searchq: out of memory building a request\n");
        return CLI_EXIT_ERROR;
    }
    memcpy(line, text, len);
    line[len] = '\n';
    int rc = cli_conn_write(c, line, len + 1);
    free(line);
    return rc;
}

/* Prints the error member of an {"ok":false} answer. */
static void rpc_report_error(struct json_object *answer, const char *context)
{
    struct json_object *err = NULL, *code = NULL, *msg = NULL;
    json_object_object_get_ex(answer, "error", &err);
    json_object_object_get_ex(err, "code", &code);
    json_object_object_get_ex(err, "message", &msg);
    fprintf(stderr, "searchq: %s%sserver error %s: %s\n", context ? context : "",
            context ? ": " : "", code ? json_object_get_string(code) : "(no code)",
            msg ? json_object_get_string(msg) : "(no message)");
}

int cli_rpc_recv(struct cli_conn *c, const char *context, struct cli_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    char *line;
    size_t len;
    int rc = cli_conn_read_line(c, &line, &len);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    reply->line = line;
    reply->len = len;
    struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    if (!tok) {
        fprintf(stderr, "searchq: out of memory parsing an answer\n");
        return CLI_EXIT_ERROR;
    }
    if (len > (size_t)INT32_MAX) {
        json_tokener_free(tok);
        fprintf(stderr, "searchq: answer from %s too long to parse\n", c->addr);
        return CLI_EXIT_ERROR;
    }
    reply->obj = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!reply->obj || jerr != json_tokener_success ||
        !json_object_is_type(reply->obj, json_type_object)) {
        fprintf(stderr, "searchq: %s sent an answer that is not a JSON object: %.200s\n", c->addr,
                line);
        return CLI_EXIT_ERROR;
    }
    struct json_object *ok = NULL;
    if (!json_object_object_get_ex(reply->obj, "ok", &ok) || !json_object_get_boolean(ok)) {
        rpc_report_error(reply->obj, context);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cli_rpc_call(struct cli_conn *c, struct json_object *req, struct cli_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    int rc = cli_rpc_send(c, req);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    return cli_rpc_recv(c, NULL, reply);
}

void cli_reply_free(struct cli_reply *reply)
{
    json_object_put(reply->obj);
    reply->obj = NULL;
    reply->line = NULL;
    reply->len = 0;
}

int cli_rpc_open(const struct cli_opts *opts, struct cli_conn *c)
{
    int rc = cli_conn_open(opts, c);
    if (rc != CLI_EXIT_OK || !opts->key) {
        return rc;
    }
    struct json_object *req = json_object_new_object();
    if (!req || json_object_object_add(req, "op", json_object_new_string("auth")) ||
        json_object_object_add(req, "key", json_object_new_string(opts->key))) {
        json_object_put(req);
        cli_conn_close(c);
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    rc = cli_rpc_send(c, req);
    json_object_put(req);
    struct cli_reply reply = {0};
    if (rc == CLI_EXIT_OK) {
        rc = cli_rpc_recv(c, "auth", &reply);
    }
    cli_reply_free(&reply);
    if (rc != CLI_EXIT_OK) {
        cli_conn_close(c);
    }
    return rc;
}
