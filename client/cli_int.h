/*
 * cli_int.h: the private interfaces of searchq, the command-line client (prefix cli_).
 *
 * searchq knows only the wire protocol of docs/PROTOCOL.md: it speaks the line protocol (one
 * JSON object per line each way, answers in request order) over TCP or a Unix socket, through
 * libsearchq (client/lib/searchq.h: connections, TLS, requests, pipelining), which it links
 * statically. It never links stemmer/, index/ or daemon/. The pieces:
 *
 *   main.c     command line -> struct cli_opts -> one command function
 *   cmd.c      search, get, delete, stats, health: one request, one answer, printed
 *   manage.c   indexes, settings, drop: index management (one request each)
 *   import.c   import FILE...: validates every file, then sends batches, pipelined
 *   textdoc.c  a .txt/.md file -> a document (id from the name, title from the first line)
 *   jsonarr.c  a .json file (an array of documents, or one) -> its documents' texts, streamed
 *   jsoncheck.c  a document's JSON text against what searchd takes and json-c does not check
 *   csvdoc.c   a .csv file -> a document a row, typed by the header or the index's settings
 *   buf.c      a growable byte buffer
 *   rpc.c      the options -> libsearchq's, its errors -> stderr and an exit status
 *   print.c    human-readable hits, documents and stats
 *   utf8.c     UTF-8 validation, display width and safe truncation
 *
 * Error reporting: functions that can fail print one "searchq: ..." line to stderr themselves and
 * return an enum cli_exit, which main() returns as the process exit status.
 */
#ifndef SEARCHQ_CLI_INT_H
#define SEARCHQ_CLI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "searchq.h"

/* Process exit statuses (the usage text and README list them). */
enum cli_exit {
    CLI_EXIT_OK = 0,      /* done */
    CLI_EXIT_ERROR = 1,   /* the server answered an error, or an input file is bad */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_CONNECT = 3, /* cannot connect, or the connection broke or timed out */
};


/* Options shared by every command; strings are borrowed from argv. */
struct cli_opts {
    const char *server;      /* HOST:PORT of the line protocol, or NULL for the default */
    const char *socket_path; /* Unix socket path, or NULL */
    const char *index;       /* index name, or NULL for the server's "default" */
    int64_t limit;           /* -1 when not given */
    int64_t offset;          /* -1 when not given */
    bool is_json;            /* print the server's JSON line as is */
    bool is_merge;           /* --merge: settings NAME JSON sends a merge patch ("merge":true) */
    const char *syntax;      /* "simple" (searchq's default: text typed by a person) or "full" */
    double proximity;        /* --proximity: SQ_PROXIMITY_ON (searchq's default, as a search
                                box should: docs/QUERY.md "Proximity"), _OFF or a weight */
    int typo;                /* --typo on|off: 1 or 0; -1 (not given): the server's (on) */
    int layout;              /* --layout on|off: the same for the other-keyboard-layout reading */
    int drop_words;          /* --drop-words on|off: the same for the most-words reading */
    struct json_object *weights; /* --weights title:3,body:1 as {"title":3,"body":1}, owned
                                    (main frees it), or NULL */
    bool wants_highlight;    /* --highlight: fragments with the matches marked */
    int64_t snippet_len;     /* --snippet-len, -1 when not given */
    int64_t fragments;       /* --fragments, -1 when not given */
    const char *key;         /* API key (--key, or $SEARCHQ_KEY), or NULL: sent once per connection */
    const char *filter;      /* --filter: the filter syntax (docs/QUERY.md), or NULL */
    const char *sort;        /* --sort: "year:desc,title", or NULL */
    const char *facets;      /* --facets: comma-separated facet specs, or NULL */
    const char *fields;      /* --fields: comma-separated stored fields for each hit, or NULL */
    bool tls;                /* --tls: TLS to a --tls-line-listen listener */
    const char *tls_ca;      /* --tls-ca FILE: trust only these certificates; NULL: the system's */
    bool tls_insecure;       /* --tls-insecure: no certificate or name check */
    int64_t busy_wait;       /* --busy-wait: seconds import retries a batch refused busy */
};

/* The default of --busy-wait: minutes, as a server over its --memory-limit catches up in
 * seconds when its disk is slow (README "Memory limit"). */
#define CLI_BUSY_WAIT_DEFAULT 300

/* ---- cmd.c: --weights ---- */

/* Parses "FIELD:NUMBER,..." (each field once, the number as JSON writes it: 3, 0.5, 1e1) into
 * {"FIELD":NUMBER,...}, *out owned by the caller. How many fields and how large a weight the
 * server takes is its rule. On failure prints why (one "searchq: ..." line) and returns
 * CLI_EXIT_USAGE. */
int cli_parse_weights(const char *text, struct json_object **out);

/* ---- rpc.c: talking to searchd, through libsearchq (client/lib/searchq.h) ---- */

/* Connects as opts says (--server, --socket, --tls..., --key: the auth op), with at most
 * max_inflight requests in flight (0: no bound on the count). On success *c is owned by the
 * caller (sq_close). On failure prints why and returns the exit status. */
int cli_rpc_open(const struct cli_opts *opts, size_t max_inflight, struct sq_conn **c);

/* Prints err as one "searchq: ..." line ("searchq: CONTEXT: server error CODE: MESSAGE" for an
 * error answer; context may be NULL) and returns the exit status it means. */
int cli_rpc_report(const struct cli_opts *opts, const struct sq_error *err, const char *context);

/* sq_send of req (borrowed); a failure is reported. Returns the exit status. */
int cli_rpc_send(const struct cli_opts *opts, struct sq_conn *c, struct json_object *req);

/* sq_recv; a failure is reported (with context). The reply is filled in even for an error
 * answer, so that --json can print it; the caller frees it with sq_reply_free in every case. */
int cli_rpc_recv(const struct cli_opts *opts, struct sq_conn *c, const char *context,
                 struct sq_reply *reply);

/* ---- cmd.c and import.c: the commands ---- */

/* Each takes the words after the command name (borrowed). */
int cli_cmd_search(const struct cli_opts *opts, int argc, char **argv);
int cli_cmd_get(const struct cli_opts *opts, const char *id);
/* One id: the delete op (an error when it is missing); several: "ids", in writes of at most
 * CLI_DELETE_BATCH, missing ones counted, not an error. */
int cli_cmd_delete(const struct cli_opts *opts, int argc, char **argv);
int cli_cmd_stats(const struct cli_opts *opts);
int cli_cmd_health(const struct cli_opts *opts);
int cli_cmd_import(const struct cli_opts *opts, int argc, char **argv);
/* manage.c: `indexes`; `settings NAME` (print) or `settings NAME JSON|@FILE` (replace or
 * create); `create NAME [JSON|@FILE]` (value NULL: default settings); `drop NAME`;
 * `snapshot NAME [SNAP]` (snap NULL: NAME-YYYYMMDD-HHMMSS). NAME is the index (never
 * --index's). */
int cli_cmd_indexes(const struct cli_opts *opts);
int cli_cmd_settings(const struct cli_opts *opts, const char *name, const char *value);
int cli_cmd_create(const struct cli_opts *opts, const char *name, const char *value);
int cli_cmd_drop(const struct cli_opts *opts, const char *name);
int cli_cmd_snapshot(const struct cli_opts *opts, const char *index, const char *snap);
/* cmd.c: sends req (taken: freed) on a new connection and reads the answer; --json prints the
 * answer line as is. *answer is owned by the caller (json_object_put), NULL on failure. */
int cli_cmd_call(const struct cli_opts *opts, struct json_object *req, struct json_object **answer);
/* The exit status once output is written (a failed stdout is an error); frees answer. */
int cli_cmd_finish(int rc, struct json_object *answer);

/* ---- textdoc.c ---- */

/* Opens path for reading; a directory is refused by name. On success *f is owned by the caller
 * (fclose). On failure prints "searchq: PATH: why" and returns CLI_EXIT_ERROR. */
int cli_open_file(const char *path, FILE **f);

/* Reads the whole file (at most 64 MiB) into *out, owned by the caller, not NUL-terminated. On
 * failure prints "searchq: PATH: why" and returns CLI_EXIT_ERROR. */
int cli_read_file(const char *path, char **out, size_t *out_len);

/* Reads a .txt/.md file into a document {"id","title","body"}: id is the file name without its
 * extension (it must be valid UTF-8), title the first non-empty line without Markdown markup,
 * body the rest. On success *doc is owned by the caller, or NULL when the file has no text (no
 * document; the caller says so). On failure prints "searchq: PATH[:LINE]: why" and returns
 * CLI_EXIT_ERROR. */
int cli_textdoc_read(const char *path, struct json_object **doc);

/* ---- buf.c ---- */

/* Bytes gathered; {0} is empty. data is owned (cli_buf_free), NULL until the first put. */
struct cli_buf {
    char *data;
    size_t len, cap;
};

/* Appends data[0, len); on failure prints "searchq: out of memory" and returns CLI_EXIT_ERROR,
 * b unchanged. */
int cli_buf_put(struct cli_buf *b, const void *data, size_t len);
void cli_buf_free(struct cli_buf *b);

/* ---- jsonarr.c ---- */

/* Called with each element of a .json file's array (or its single document): its text, made
 * one line (whitespace outside strings is a space), NUL-terminated and the callee's to change
 * until it returns; line is where it began, ordinal its place from 1. Not yet parsed: it may
 * be any JSON value, or not JSON. A return other than CLI_EXIT_OK stops the reading. */
typedef int (*cli_json_doc_fn)(void *arg, const char *path, uint64_t line, uint64_t ordinal,
                               char *text, size_t len);

/* Reads the .json file at path (cli_json_each_doc) or the stream f, named path in messages
 * (cli_json_each_doc_in), and calls fn for each document, in order. An empty or blank file has
 * none. Returns CLI_EXIT_OK, fn's first other return, or CLI_EXIT_ERROR after printing
 * "searchq: PATH:LINE: why" when the file is not an array of JSON values or one object (the
 * documents before the fault were handed on). */
int cli_json_each_doc(const char *path, cli_json_doc_fn fn, void *arg);
int cli_json_each_doc_in(FILE *f, const char *path, cli_json_doc_fn fn, void *arg);

/* ---- jsoncheck.c ---- */

/* The levels a document may nest: searchd reads 32 in a request, and a batch's documents stand
 * inside two of them ({"op":"add","docs":[...]}). */
#define CLI_JSON_MAX_DEPTH 30

/* Where and why a document's JSON text breaks searchd's rules. */
struct cli_json_fault {
    size_t at;     /* the byte offset in the text, from 0 */
    char why[192]; /* NUL-terminated */
};

/* Whether text[0, len) is one JSON value (white space around it allowed) that searchd takes
 * as a document's: RFC 8259 JSON with searchd's rules on numbers, escapes, keys and depth
 * (docs/PROTOCOL.md "Input edge cases"; the list is at the top of jsoncheck.c). Otherwise
 * false with *fault filled in. Allocates only while it runs; out of memory is a fault. */
bool cli_json_check(const char *text, size_t len, struct cli_json_fault *fault);

/* ---- csvdoc.c ---- */

/* Called with each row of a .csv file made a document (borrowed: freed when fn returns); line
 * is where the row began, ordinal its place from 1 (the header not counted). A return other
 * than CLI_EXIT_OK stops the reading. */
typedef int (*cli_csv_doc_fn)(void *arg, const char *path, uint64_t line, uint64_t ordinal,
                              struct json_object *doc);

/* Reads the .csv file at path (cli_csv_each_doc) or the stream f, named path in messages
 * (cli_csv_each_doc_in), and calls fn for each row, in order. fields (borrowed, may be NULL) is
 * the index's declared fields, {"year": {"type": "int"}, ...}, which type the columns the
 * header does not. Returns CLI_EXIT_OK, fn's first other return, or CLI_EXIT_ERROR after
 * printing "searchq: PATH:LINE: why" (the rows before the fault were handed on). The rules are
 * at the top of csvdoc.c. */
int cli_csv_each_doc(const char *path, struct json_object *fields, cli_csv_doc_fn fn, void *arg);
int cli_csv_each_doc_in(FILE *f, const char *path, struct json_object *fields, cli_csv_doc_fn fn,
                        void *arg);

/* ---- print.c ---- */

/* The integer member key of obj, 0 when it has none (json-c's conversion of another type). */
int64_t cli_int_member(struct json_object *obj, const char *key);

/* offset: the offset the search asked for, so that ranks continue across pages. A hit with
 * highlights shows every fragment, matches marked, with wants_fragments (--highlight); else
 * one line of its best fragment around its first match, bold on a terminal. */
void cli_print_hits(FILE *out, struct json_object *answer, const char *query, int64_t offset,
                    bool wants_fragments);
void cli_print_doc(FILE *out, struct json_object *doc);
void cli_print_stats(FILE *out, struct json_object *answer);
/* indexes: one line an index (name, docs, disk bytes, settings version). */
void cli_print_indexes(FILE *out, struct json_object *answer);
/* get_settings: the version, the settings as indented JSON, then the stats. */
void cli_print_settings(FILE *out, struct json_object *answer);
/* The answer of snapshot: where the copy is, the last write it holds, and what it cost. */
void cli_print_snapshot(FILE *out, struct json_object *answer);

/* ---- utf8.c ---- */

/* Decodes one code point from s[0, len) (len > 0). Returns the bytes used, 1..4, or 0 when the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and values past U+10FFFF are
 * invalid). */
size_t cli_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* True when s[0, len) is valid UTF-8; otherwise *bad_off is the offset of the first bad byte. */
bool cli_utf8_valid(const char *s, size_t len, size_t *bad_off);

/* Terminal columns of s[0, len): 0 for combining marks and controls, 2 for East Asian wide and
 * emoji, 1 otherwise; an invalid byte counts as 1 (it is printed as '?'). */
size_t cli_utf8_width(const char *s, size_t len);

/* The byte length of the longest prefix of s[0, len) that ends on a code point boundary and
 * takes at most max_cols columns. */
size_t cli_utf8_fit(const char *s, size_t len, size_t max_cols);

#endif /* SEARCHQ_CLI_INT_H */
