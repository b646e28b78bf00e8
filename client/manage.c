/*
 * manage.c: searchq's index management commands, one request each (docs/PROTOCOL.md "Index
 * management"):
 *
 *   searchq indexes                  the indexes: name, documents, disk bytes, settings version
 *   searchq settings NAME            print NAME's settings, their version and its stats
 *   searchq settings NAME JSON       replace NAME's settings (creating NAME if needed);
 *   searchq settings NAME @FILE      the JSON may come from a file
 *   searchq drop NAME                drop NAME and everything in it
 *
 * NAME is always the positional word, never --index, so that `searchq drop` cannot act on an
 * index chosen by an option set for other commands. The settings JSON is checked to be one
 * JSON object here, so that a typo is reported with its place in the text before anything is
 * sent; what it means is the server's to check.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

/* A request {"op":op,"index":name}; returns owned, NULL when out of memory. */
static struct json_object *manage_request(const char *op, const char *name)
{
    struct cli_opts none = {0};
    struct json_object *req = cli_rpc_request(&none, op);
    if (req && name) {
        json_object_object_add(req, "index", json_object_new_string(name));
    }
    return req;
}

int cli_cmd_indexes(const struct cli_opts *opts)
{
    struct json_object *answer;
    int rc = cli_cmd_call(opts, manage_request("indexes", NULL), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        cli_print_indexes(stdout, answer);
    }
    return cli_cmd_finish(rc, answer);
}

/* value[0, len) must be exactly one JSON object; *out owned by the caller. what names the
 * text in messages ("the settings", or the file). */
static int manage_parse_settings(const char *text, size_t len, const char *what,
                                 struct json_object **out)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok || len > (size_t)INT32_MAX) {
        json_tokener_free(tok);
        fprintf(stderr, "searchq: %s: too large\n", what);
        return CLI_EXIT_ERROR;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!obj || jerr != json_tokener_success) {
        fprintf(
            stderr, "searchq: %s: not JSON (at byte %zu: %s)\n", what, end,
            json_tokener_error_desc(jerr == json_tokener_success ? json_tokener_continue : jerr));
        json_object_put(obj);
        return CLI_EXIT_ERROR;
    }
    for (; end < len; end++) {
        if (text[end] != ' ' && text[end] != '\n' && text[end] != '\t' && text[end] != '\r') {
            fprintf(stderr, "searchq: %s: data after the JSON object (at byte %zu)\n", what, end);
            json_object_put(obj);
            return CLI_EXIT_ERROR;
        }
    }
    if (!json_object_is_type(obj, json_type_object)) {
        fprintf(stderr, "searchq: %s: want a JSON object like {\"fields\":{...}}\n", what);
        json_object_put(obj);
        return CLI_EXIT_ERROR;
    }
    *out = obj;
    return CLI_EXIT_OK;
}

/* The settings from the command line: JSON text, or @FILE. */
static int manage_settings_arg(const char *value, struct json_object **out)
{
    if (value[0] != '@') {
        return manage_parse_settings(value, strlen(value), "the settings", out);
    }
    char *text;
    size_t len;
    int rc = cli_read_file(value + 1, &text, &len);
    if (rc == CLI_EXIT_OK) {
        rc = manage_parse_settings(text, len, value + 1, out);
        free(text);
    }
    return rc;
}

int cli_cmd_settings(const struct cli_opts *opts, const char *name, const char *value)
{
    struct json_object *answer = NULL;
    if (!value) {
        int rc = cli_cmd_call(opts, manage_request("get_settings", name), &answer);
        if (rc == CLI_EXIT_OK && !opts->is_json) {
            cli_print_settings(stdout, answer);
        }
        return cli_cmd_finish(rc, answer);
    }
    struct json_object *settings;
    int rc = manage_settings_arg(value, &settings);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    struct json_object *req = manage_request("set_settings", name);
    if (req) {
        json_object_object_add(req, "settings", settings);
    } else {
        json_object_put(settings);
    }
    rc = cli_cmd_call(opts, req, &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        struct json_object *v = NULL;
        json_object_object_get_ex(answer, "version", &v);
        printf("%s: settings version %lld (documents indexed under older settings are "
               "re-indexed in the background)\n",
               name, (long long)json_object_get_int64(v));
    }
    return cli_cmd_finish(rc, answer);
}

int cli_cmd_drop(const struct cli_opts *opts, const char *name)
{
    struct json_object *answer;
    int rc = cli_cmd_call(opts, manage_request("drop_index", name), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        printf("dropped %s\n", name);
    }
    return cli_cmd_finish(rc, answer);
}
