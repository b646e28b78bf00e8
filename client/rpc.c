/*
 * rpc.c: searchq's side of libsearchq (client/lib/searchq.h), which does all the talking to
 * searchd: connections (TCP, Unix socket, TLS), the auth op, requests, answers, pipelining.
 *
 * What stays here is what makes it a command-line tool: the options become struct sq_options,
 * and a library error becomes one "searchq: ..." line on stderr and the exit status main()
 * returns: CLI_EXIT_USAGE for what the command line got wrong (a malformed --server, a --tls-ca
 * that does not load), CLI_EXIT_CONNECT for a connection that cannot be made or broke,
 * CLI_EXIT_ERROR for everything else, error answers included.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

static int rpc_exit_status(int status)
{
    switch (status) {
    case SQ_OK:
        return CLI_EXIT_OK;
    case SQ_EADDR:
    case SQ_ECAFILE:
        return CLI_EXIT_USAGE;
    case SQ_ECONNECT:
        return CLI_EXIT_CONNECT;
    default:
        return CLI_EXIT_ERROR;
    }
}

int cli_rpc_report(const struct cli_opts *opts, const struct sq_error *err, const char *context)
{
    if (err->status == SQ_ESERVER) {
        fprintf(stderr, "searchq: %s%sserver error %s: %s\n", context ? context : "",
                context ? ": " : "", err->code[0] ? err->code : "(no code)",
                err->message[0] ? err->message : "(no message)");
    } else if (err->status == SQ_EADDR && !opts->socket_path) {
        fprintf(stderr, "searchq: --server wants HOST:PORT, got '%s'\n", opts->server);
    } else {
        fprintf(stderr, "searchq: %s\n", err->message);
    }
    return rpc_exit_status(err->status);
}

int cli_rpc_open(const struct cli_opts *opts, size_t max_inflight, struct sq_conn **c)
{
    struct sq_options o = {
        .address = opts->server,
        .unix_path = opts->socket_path,
        .key = opts->key,
        .tls = opts->tls,
        .tls_ca = opts->tls_ca,
        .tls_insecure = opts->tls_insecure,
        .max_inflight = max_inflight,
    };
    struct sq_error err;
    int rc = sq_connect(&o, c, &err);
    return rc == SQ_OK ? CLI_EXIT_OK : cli_rpc_report(opts, &err, "auth");
}

int cli_rpc_send(const struct cli_opts *opts, struct sq_conn *c, struct json_object *req)
{
    struct sq_error err;
    int rc = sq_send(c, req, &err);
    return rc == SQ_OK ? CLI_EXIT_OK : cli_rpc_report(opts, &err, NULL);
}

int cli_rpc_recv(const struct cli_opts *opts, struct sq_conn *c, const char *context,
                 struct sq_reply *reply)
{
    struct sq_error err;
    int rc = sq_recv(c, reply, &err);
    return rc == SQ_OK ? CLI_EXIT_OK : cli_rpc_report(opts, &err, context);
}
