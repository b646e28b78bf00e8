/*
 * manage.c: searchq's index management and backup commands, one request each but `settings NAME
 * JSON`, which asks get_settings next (docs/PROTOCOL.md "Index management", op snapshot):
 *
 *   searchq indexes                  the indexes: name, documents, disk bytes, settings version
 *   searchq settings NAME            print NAME's settings, their version and its stats
 *   searchq settings NAME JSON       replace NAME's settings (creating NAME if needed), and say
 *                                    whether documents are re-indexed for them;
 *   searchq settings NAME @FILE      the JSON may come from a file
 *   searchq settings --merge NAME JSON  change only what JSON names (set_settings "merge":
 *                                    true: a merge patch of the settings in force)
 *   searchq create NAME [JSON|@FILE] create NAME (an error if it exists), with settings or {}
 *   searchq drop NAME                drop NAME and everything in it
 *   searchq snapshot NAME [SNAP]     copy NAME into SNAP under the server's --snapshot-dir
 *                                    (default SNAP: NAME-YYYYMMDD-HHMMSS, UTC)
 *
 * NAME is always the positional word, never --index, so that `searchq drop` cannot act on an
 * index chosen by an option set for other commands. The settings JSON is checked to be one
 * JSON object here, as searchd reads JSON (jsoncheck.c), so that a typo is reported with its
 * place in the text before anything is sent; what it means is the server's to check.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_int.h"

int cli_cmd_indexes(const struct cli_opts *opts)
{
    struct json_object *answer;
    int rc = cli_cmd_call(opts, sq_req_indexes(), &answer);
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
    if (!obj && (jerr == json_tokener_continue || jerr == json_tokener_success)) {
        /* json-c's word for text that stops inside the JSON is "continue" */
        fprintf(stderr, "searchq: %s: not JSON (it ends in the middle, at byte %zu)\n", what, len);
        return CLI_EXIT_ERROR;
    }
    if (!obj || jerr != json_tokener_success) {
        fprintf(stderr, "searchq: %s: not JSON (at byte %zu: %s)\n", what, end + 1,
                json_tokener_error_desc(jerr));
        json_object_put(obj);
        return CLI_EXIT_ERROR;
    }
    for (; end < len; end++) {
        if (text[end] != ' ' && text[end] != '\n' && text[end] != '\t' && text[end] != '\r') {
            fprintf(stderr, "searchq: %s: data after the JSON object (at byte %zu)\n", what,
                    end + 1);
            json_object_put(obj);
            return CLI_EXIT_ERROR;
        }
    }
    if (!json_object_is_type(obj, json_type_object)) {
        fprintf(stderr, "searchq: %s: want a JSON object like {\"fields\":{...}}\n", what);
        json_object_put(obj);
        return CLI_EXIT_ERROR;
    }
    /* What json-c took and searchd would refuse; a key given twice would not even reach it:
     * json-c keeps the last, and the first would be dropped without a word. */
    struct cli_json_fault fault;
    if (!cli_json_check(text, len, &fault)) {
        fprintf(stderr, "searchq: %s: not JSON as searchd reads it (at byte %zu: %s)\n", what,
                fault.at + 1, fault.why);
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

/* Whether NAME's stats say reindex_pending, asked after set_settings (whose answer has only the
 * version): settings equal to the current ones, or changing only weights, synonyms or stopwords,
 * re-index nothing (docs/DATA.md "Settings"), and an index with no documents has nothing to
 * re-index.
 * A failure to ask is printed, but the command's status stays the set's: it succeeded. */
static bool manage_is_reindexing(const struct cli_opts *opts, const char *name)
{
    struct cli_opts quiet = *opts;
    quiet.is_json = false;
    struct json_object *answer = NULL, *stats = NULL, *pending = NULL;
    bool is_pending = false;
    if (cli_cmd_call(&quiet, sq_req_get_settings(name), &answer) == CLI_EXIT_OK &&
        json_object_object_get_ex(answer, "stats", &stats) &&
        json_object_object_get_ex(stats, "reindex_pending", &pending)) {
        is_pending = json_object_get_boolean(pending);
    }
    json_object_put(answer);
    return is_pending;
}

int cli_cmd_settings(const struct cli_opts *opts, const char *name, const char *value)
{
    struct json_object *answer = NULL;
    if (!value) {
        int rc = cli_cmd_call(opts, sq_req_get_settings(name), &answer);
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
    struct json_object *req = opts->is_merge ? sq_req_merge_settings(name, settings)
                                             : sq_req_set_settings(name, settings);
    json_object_put(settings); /* req holds its own reference */
    rc = cli_cmd_call(opts, req, &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        struct json_object *v = NULL;
        json_object_object_get_ex(answer, "version", &v);
        printf("%s: settings version %lld%s\n", name, (long long)json_object_get_int64(v),
               manage_is_reindexing(opts, name)
                   ? " (documents indexed under older settings are re-indexed in the background)"
                   : "");
    }
    return cli_cmd_finish(rc, answer);
}

int cli_cmd_create(const struct cli_opts *opts, const char *name, const char *value)
{
    struct json_object *settings = NULL;
    if (value) {
        int rc = manage_settings_arg(value, &settings);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    struct json_object *req = sq_req_create_index(name, settings);
    json_object_put(settings); /* req holds its own reference */
    struct json_object *answer;
    int rc = cli_cmd_call(opts, req, &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        struct json_object *v = NULL;
        json_object_object_get_ex(answer, "version", &v);
        printf("created %s (settings version %lld)\n", name, (long long)json_object_get_int64(v));
    }
    return cli_cmd_finish(rc, answer);
}

/* The default snapshot name, NAME-YYYYMMDD-HHMMSS in UTC: a valid name (the index's
 * characters, digits and '-') that sorts by time. CLI_EXIT_USAGE when it would pass the
 * server's 64 bytes (a long index name): the user then names the snapshot. */
static int manage_snapshot_name(const char *index, char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm) == 0) {
        fprintf(stderr, "searchq: snapshot: cannot read the clock; give the snapshot a name\n");
        return CLI_EXIT_ERROR;
    }
    int n = snprintf(out, cap, "%s-%s", index, stamp);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "searchq: snapshot: %s-%s is over %zu bytes; give the snapshot a name\n",
                index, stamp, cap - 1);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cli_cmd_snapshot(const struct cli_opts *opts, const char *index, const char *name)
{
    char made[65]; /* the server's names are 1 to 64 bytes */
    if (!name) {
        int rc = manage_snapshot_name(index, made, sizeof made);
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
        name = made;
    }
    struct json_object *answer;
    int rc = cli_cmd_call(opts, sq_req_snapshot(index, name), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        cli_print_snapshot(stdout, answer);
    }
    return cli_cmd_finish(rc, answer);
}

int cli_cmd_drop(const struct cli_opts *opts, const char *name)
{
    struct json_object *answer;
    int rc = cli_cmd_call(opts, sq_req_drop_index(name), &answer);
    if (rc == CLI_EXIT_OK && !opts->is_json) {
        printf("dropped %s\n", name);
    }
    return cli_cmd_finish(rc, answer);
}
