/*
 * import.c: `searchq import FILE...`, bulk loading over one line-protocol connection.
 *
 * Pass 1 reads every file and checks every document locally: each non-blank line of a .jsonl
 * (or .ndjson) file, and each element of a .json file's array (jsonarr.c), must be one JSON
 * object as searchd reads JSON (json-c parses it; jsoncheck.c checks what json-c takes and
 * searchd does not: numbers, escapes, a key twice, depth) with an "id" (a string of 1 to 512
 * bytes or an integer), valid UTF-8, at most 64 fields with names of 1 to 64 bytes; a .txt/.md file
 * must be UTF-8, and so must its name, which makes the id (textdoc.c). The first problem stops the
 * import before anything is sent, with FILE:LINE (and a .json file's document number) and what is
 * wrong, so a typo on line 90000 does not leave half a collection loaded. A UTF-8 byte order mark
 * at the start of a .jsonl file is dropped, as textdoc.c drops one at the start of a text file. A
 * file with no document (empty, blank lines only, a text file with no text) is not an error: it
 * imports nothing, and stderr says so. Pass 1 also notes where each file's documents begin and end,
 * for the report below.
 *
 * Pass 2 sends the documents as {"op":"add","docs":[...]} batches of at most IMPORT_BATCH_DOCS
 * documents and IMPORT_BATCH_BYTES bytes. JSON lines are sent as they are in the file (already
 * checked), not re-serialized. Up to IMPORT_WINDOW batches are in flight before we read an
 * answer (libsearchq's pipelining: answers come in request order, and its in-flight bound
 * keeps both sides from blocking on full socket buffers).
 *
 * Busy. Over its --memory-limit the server answers a write `busy` and stores nothing of it
 * (docs/PROTOCOL.md), while later batches already in flight may be stored. Resending only the
 * refused batch would store it after them, and for an id in both the older version would win.
 * So at a busy answer nothing more is sent, the answers in flight are read, and after a pause
 * every batch from the refused one on is sent again, in order: the final state is the one an
 * in-order import gives (a batch stored the first time replaces its documents by themselves).
 * Pauses grow from IMPORT_PAUSE_MIN_MS to IMPORT_PAUSE_MAX_MS; the import gives up once the
 * oldest batch has been refused for --busy-wait seconds (cli_opts.busy_wait) on end.
 *
 * The queue holds each batch, bytes and all, from its first send until it is settled: stored,
 * with every batch before it. Only its head is settled, so that is the resend order. A batch's
 * added/replaced counts are taken from its first ok answer, so a resend counts nothing twice.
 * Its buffers are recycled: queuing swaps the open batch's buffer with the slot's old one.
 *
 * Report. When the import stops (an error answer other than busy, a broken connection, busy for
 * too long), each queued batch is stored (an ok answer came), not stored (refused, or never
 * sent), or unknown (sent when the connection broke); the documents after the queue were never
 * sent. The ranges not stored are printed as FILE:FIRST-LAST lines, merged within a file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_int.h"

#define IMPORT_BATCH_DOCS   500
#define IMPORT_BATCH_BYTES  ((size_t)1 << 20)
#define IMPORT_WINDOW       8
#define IMPORT_MAX_ID       512 /* the limits of docs/PROTOCOL.md "Documents" */
#define IMPORT_MAX_FIELDS   64
#define IMPORT_MAX_NAME     64
#define IMPORT_PAUSE_MIN_MS 50
#define IMPORT_PAUSE_MAX_MS 2000
#define IMPORT_REPORT_LINES 20 /* ranges printed when the import stops; the rest are counted */

enum import_kind { IMPORT_JSONL, IMPORT_JSON, IMPORT_CSV, IMPORT_TEXT };

/* What pass 1 learnt of a file. */
struct import_file {
    const char *path; /* borrowed from argv */
    enum import_kind kind;
    uint64_t docs;
    uint64_t first_line, last_line; /* .jsonl: the lines of its first and last documents;
                                     * .json, .csv: their places in it (1 and docs) */
};

/* Where a document came from: a line of a .jsonl file, a place in a .json file's array or a
 * .csv file's rows (from 1), or a whole text file (line 0). */
struct import_where {
    size_t file; /* index into the files */
    uint64_t line;
};

/* A batch of documents: the one being built, or one queued (see the file-top comment). */
struct import_batch {
    struct import_where first, last;
    uint32_t count;
    struct cli_buf text; /* owned: the request line being built, or sent */
    bool is_stored; /* an ok answer came: its documents are stored, its counts taken */
};

struct import_state {
    const struct cli_opts *opts;
    const struct import_file *files; /* borrowed */
    size_t nfiles;
    struct sq_conn *conn; /* owned */
    char *prefix;         /* owned: {"op":"add","index":...,"docs":[ */
    struct json_object *settings; /* owned: get_settings' answer, for .csv files, or NULL */
    struct json_object *fields;   /* the index's declared fields in it, or NULL */
    struct import_batch open;
    /* A ring, oldest at head: [0, answered) answered while a busy batch among them waits to
     * be sent again, [answered, sent) in flight, [sent, count) to be sent. answered is 0
     * unless is_retrying (or the import stopped). */
    struct import_batch queue[IMPORT_WINDOW];
    size_t head, count, answered, sent;
    bool is_retrying;   /* a busy answer came: nothing is sent until the rest in flight are read */
    double busy_since;  /* when the head was first refused, or 0 */
    unsigned pause_ms;  /* the next pause before a resend */
    char busy_msg[512]; /* the message of the last busy answer to the head */
    bool has_pending;   /* pending is offered to the open batch and not yet in it */
    struct import_where pending, offered; /* offered: the last document put in a batch */
    bool has_offered;
    uint64_t docs, added, replaced, busy_answers;
    int rc; /* sticky: the first failure; nothing more is sent once it is set */
};

static int import_kind_of(const char *path, enum import_kind *kind)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) {
        dot = "";
    }
    if (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0) {
        *kind = IMPORT_JSONL;
    } else if (strcmp(dot, ".json") == 0) {
        *kind = IMPORT_JSON;
    } else if (strcmp(dot, ".csv") == 0) {
        *kind = IMPORT_CSV;
    } else if (strcmp(dot, ".txt") == 0 || strcmp(dot, ".md") == 0 ||
               strcmp(dot, ".markdown") == 0) {
        *kind = IMPORT_TEXT;
    } else {
        fprintf(stderr,
                "searchq: %s: unknown file type (want .jsonl, .ndjson, .json, .csv, .txt or .md)\n",
                path);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* ---- pass 1: checking ---- */

/* Why doc breaks the document rules, or NULL when it does not. */
static const char *import_doc_problem(struct json_object *doc)
{
    if (!json_object_is_type(doc, json_type_object)) {
        return "not a JSON object";
    }
    struct json_object *id;
    if (!json_object_object_get_ex(doc, "id", &id)) {
        return "the document has no \"id\"";
    }
    if (json_object_is_type(id, json_type_string)) {
        int len = json_object_get_string_len(id);
        if (len < 1 || len > IMPORT_MAX_ID) {
            return "\"id\" must be 1 to 512 bytes";
        }
    } else if (!json_object_is_type(id, json_type_int)) {
        return "\"id\" must be a string or an integer";
    }
    if (json_object_object_length(doc) > IMPORT_MAX_FIELDS) {
        return "more than 64 fields";
    }
    json_object_object_foreach(doc, key, val)
    {
        (void)val;
        size_t n = strlen(key);
        if (n < 1 || n > IMPORT_MAX_NAME) {
            return "a field name is not 1 to 64 bytes";
        }
    }
    return NULL;
}

/* Strips surrounding whitespace (including the "\r\n" getline keeps) in place. */
static char *import_trim(char *line, size_t *len)
{
    size_t n = *len;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t')) {
        n--;
    }
    while (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
        line++, n--;
    }
    line[n] = '\0';
    *len = n;
    return line;
}

/* Checks one document's JSON text: a trimmed, non-empty line of a .jsonl file (ordinal 0), or
 * the ordinal-th element of a .json file's array, which began on line lineno. */
static int import_check_doc(struct json_tokener *tok, const char *path, uint64_t lineno,
                            uint64_t ordinal, const char *line, size_t len)
{
    char where[64] = "";
    if (ordinal > 0) {
        snprintf(where, sizeof where, " document %llu:", (unsigned long long)ordinal);
    }
    if (len > (size_t)INT32_MAX) {
        fprintf(stderr, "searchq: %s:%llu:%s too long\n", path, (unsigned long long)lineno,
                ordinal ? where : " line");
        return CLI_EXIT_ERROR;
    }
    if (ordinal > 0 && line[0] != '{') { /* (json-c would wait for more of a number) */
        fprintf(stderr, "searchq: %s:%llu:%s not a JSON object\n", path, (unsigned long long)lineno,
                where);
        return CLI_EXIT_ERROR;
    }
    json_tokener_reset(tok);
    struct json_object *doc = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t bad_at = json_tokener_get_parse_end(tok);
    struct cli_json_fault fault;
    const char *why = NULL;
    if (!doc && jerr == json_tokener_continue) {
        why = ordinal ? "the JSON ends in the middle"
                      : "the JSON ends in the middle (a document must fit on one line)";
    } else if (!doc || jerr != json_tokener_success) {
        why = json_tokener_error_desc(jerr);
    } else if (bad_at != len) {
        why = "text after the JSON object";
    } else if (!cli_json_check(line, len, &fault)) {
        /* what json-c took and searchd would refuse, with the batch and those sent before */
        jerr = json_tokener_error_parse_unexpected; /* reported as bad JSON at its byte */
        why = fault.why;
        bad_at = fault.at;
    } else {
        why = import_doc_problem(doc);
    }
    json_object_put(doc);
    if (why && jerr != json_tokener_success && jerr != json_tokener_continue) {
        fprintf(stderr, "searchq: %s:%llu:%s bad JSON at byte %zu: %s\n", path,
                (unsigned long long)lineno, where, bad_at + 1, why);
        return CLI_EXIT_ERROR;
    }
    if (why) {
        fprintf(stderr, "searchq: %s:%llu:%s %s\n", path, (unsigned long long)lineno, where, why);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

/* Calls fn for each non-blank line of a .jsonl file, with the line trimmed (and a byte order
 * mark dropped from the first). */
typedef int (*import_line_fn)(void *arg, const char *path, uint64_t lineno, char *line, size_t len);

static int import_each_line(const char *path, import_line_fn fn, void *arg)
{
    FILE *f;
    if (cli_open_file(path, &f) != CLI_EXIT_OK) {
        return CLI_EXIT_ERROR;
    }
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0;
    int rc = CLI_EXIT_OK;
    ssize_t n;
    while (rc == CLI_EXIT_OK && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        size_t bom = lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
        len -= bom;
        char *text = import_trim(line + bom, &len);
        if (len > 0) {
            rc = fn(arg, path, lineno, text, len);
        }
    }
    if (rc == CLI_EXIT_OK && ferror(f)) {
        fprintf(stderr, "searchq: %s: read error: %s\n", path, strerror(errno));
        rc = CLI_EXIT_ERROR;
    }
    free(line);
    fclose(f);
    return rc;
}

struct import_count {
    struct json_tokener *tok;
    struct import_file *file;
};

static int import_check_cb(void *arg, const char *path, uint64_t lineno, char *line, size_t len)
{
    struct import_count *cnt = arg;
    int rc = import_check_doc(cnt->tok, path, lineno, 0, line, len);
    if (rc == CLI_EXIT_OK) {
        cnt->file->first_line = cnt->file->docs == 0 ? lineno : cnt->file->first_line;
        cnt->file->last_line = lineno;
        cnt->file->docs++;
    }
    return rc;
}

static int import_check_json_cb(void *arg, const char *path, uint64_t lineno, uint64_t ordinal,
                                char *text, size_t len)
{
    struct import_count *cnt = arg;
    int rc = import_check_doc(cnt->tok, path, lineno, ordinal, text, len);
    if (rc == CLI_EXIT_OK) {
        cnt->file->first_line = 1;
        cnt->file->last_line = ordinal;
        cnt->file->docs++;
    }
    return rc;
}

static int import_check_csv_cb(void *arg, const char *path, uint64_t lineno, uint64_t ordinal,
                               struct json_object *doc)
{
    struct import_count *cnt = arg;
    const char *why = import_doc_problem(doc);
    if (why) {
        fprintf(stderr, "searchq: %s:%llu: row %llu: %s\n", path, (unsigned long long)lineno,
                (unsigned long long)ordinal, why);
        return CLI_EXIT_ERROR;
    }
    cnt->file->first_line = 1;
    cnt->file->last_line = ordinal;
    cnt->file->docs++;
    return CLI_EXIT_OK;
}

/* Pass 1 over one file, filling in f (its path and kind set); fields types a .csv file. */
static int import_check_file(struct json_tokener *tok, struct import_file *f,
                             struct json_object *fields)
{
    int rc = CLI_EXIT_OK;
    struct import_count cnt = {.tok = tok, .file = f};
    if (rc == CLI_EXIT_OK && f->kind == IMPORT_JSONL) {
        rc = import_each_line(f->path, import_check_cb, &cnt);
    } else if (rc == CLI_EXIT_OK && f->kind == IMPORT_JSON) {
        rc = cli_json_each_doc(f->path, import_check_json_cb, &cnt);
    } else if (rc == CLI_EXIT_OK && f->kind == IMPORT_CSV) {
        rc = cli_csv_each_doc(f->path, fields, import_check_csv_cb, &cnt);
    } else if (rc == CLI_EXIT_OK) {
        struct json_object *doc = NULL;
        rc = cli_textdoc_read(f->path, &doc);
        f->docs = doc ? 1 : 0;
        json_object_put(doc);
    }
    if (rc == CLI_EXIT_OK && f->docs == 0) {
        fprintf(stderr, "searchq: %s: skipped: %s\n", f->path,
                f->kind == IMPORT_JSONL  ? "no documents (the file is empty or only blank lines)"
                : f->kind == IMPORT_JSON ? "no documents (the file is empty, blank or [])"
                : f->kind == IMPORT_CSV  ? "no rows (the file is empty or only a header)"
                                         : "no text (the file is empty, blank or markup only)");
    }
    return rc;
}

/* The kind of every file (files[i] for argv[i]), and whether one is a .csv file. */
static int import_kinds(int argc, char **argv, struct import_file *files, bool *has_csv)
{
    int rc = CLI_EXIT_OK;
    *has_csv = false;
    for (int i = 0; i < argc && rc == CLI_EXIT_OK; i++) {
        files[i] = (struct import_file){.path = argv[i]};
        rc = import_kind_of(argv[i], &files[i].kind);
        *has_csv |= files[i].kind == IMPORT_CSV;
    }
    return rc;
}

/* The index's settings, whose declared fields type the columns of .csv files (csvdoc.c): asked
 * before pass 1, on the connection pass 2 then uses. An index not yet created has none. */
static int import_fetch_fields(struct import_state *st)
{
    int rc = cli_rpc_open(st->opts, IMPORT_WINDOW, &st->conn);
    struct json_object *req = NULL;
    if (rc == CLI_EXIT_OK) {
        req = sq_req_get_settings(st->opts->index ? st->opts->index : "default");
        rc = req ? cli_rpc_send(st->opts, st->conn, req) : CLI_EXIT_ERROR;
    }
    json_object_put(req);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    struct sq_reply reply;
    struct sq_error err;
    int got = sq_recv(st->conn, &reply, &err);
    struct json_object *settings = NULL;
    if (got == SQ_OK && json_object_object_get_ex(reply.answer, "settings", &settings)) {
        st->settings = json_object_get(settings);
        json_object_object_get_ex(settings, "fields", &st->fields);
    } else if (got != SQ_OK && !(got == SQ_ESERVER && strcmp(err.code, "unknown_index") == 0)) {
        rc = cli_rpc_report(st->opts, &err, "the index's settings, which type .csv columns");
    }
    sq_reply_free(&reply);
    return rc;
}

/* Pass 1 over every file (their kinds known). */
static int import_check_all(struct import_state *st, struct import_file *files)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < st->nfiles && rc == CLI_EXIT_OK; i++) {
        rc = import_check_file(tok, &files[i], st->fields);
    }
    json_tokener_free(tok);
    return rc;
}

/* ---- pass 2: the queue ---- */

static double import_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct import_batch *import_slot(struct import_state *st, size_t i)
{
    return &st->queue[(st->head + i) % IMPORT_WINDOW];
}

/* The documents first..last of file f: "FILE:FIRST-LAST" (lines of a .jsonl file), "FILE
 * documents FIRST-LAST" (places in a .json file's array), "FILE rows FIRST-LAST" (a .csv
 * file's), or "FILE" (a text file: 0, 0). */
static void import_range_name(const struct import_file *f, uint64_t first, uint64_t last, char *out,
                              size_t cap)
{
    unsigned long long a = first, b = last;
    const char *unit = f->kind == IMPORT_JSON ? " document" : f->kind == IMPORT_CSV ? " row" : NULL;
    if (first == 0) {
        snprintf(out, cap, "%s", f->path);
    } else if (!unit && first == last) {
        snprintf(out, cap, "%s:%llu", f->path, a);
    } else if (!unit) {
        snprintf(out, cap, "%s:%llu-%llu", f->path, a, b);
    } else if (first == last) {
        snprintf(out, cap, "%s%s %llu", f->path, unit, a);
    } else {
        snprintf(out, cap, "%s%ss %llu-%llu", f->path, unit, a, b);
    }
}

/* The documents of a batch as import_range_name says them, or "FILE1 .. FILE2". */
static void import_describe(const struct import_state *st, const struct import_batch *b, char *out,
                            size_t cap)
{
    const char *first = st->files[b->first.file].path, *last = st->files[b->last.file].path;
    if (b->first.file != b->last.file) {
        snprintf(out, cap, "%s .. %s", first, last);
    } else {
        import_range_name(&st->files[b->first.file], b->first.line, b->last.line, out, cap);
    }
}

/* An ok answer to b: its counts, the first time only (a resend replaces the same documents). */
static void import_stored(struct import_state *st, struct import_batch *b,
                          struct json_object *answer)
{
    if (b->is_stored) {
        return;
    }
    b->is_stored = true;
    st->added += (uint64_t)cli_int_member(answer, "added");
    st->replaced += (uint64_t)cli_int_member(answer, "replaced");
}

/* A busy answer to b: stop sending until the answers in flight are read (import_pump). */
static void import_refused(struct import_state *st, struct import_batch *b,
                           const struct sq_error *err)
{
    st->busy_answers++;
    if (!st->is_retrying) { /* b is the head: the batch the give-up message names */
        snprintf(st->busy_msg, sizeof st->busy_msg, "%s", err->message);
    }
    if (!st->is_retrying && st->busy_since == 0) {
        st->busy_since = import_now();
    }
    if (st->busy_answers == 1 && st->opts->busy_wait > 0) {
        char where[1200];
        import_describe(st, b, where, sizeof where);
        fprintf(stderr,
                "searchq: %s: the server is busy (%s); sending it and the batches after it "
                "again after a pause (for up to %lld s)\n",
                where, err->message, (long long)st->opts->busy_wait);
    }
    st->is_retrying = true;
}

/* Reads the answer to the oldest batch in flight. False when none could be read (the
 * connection broke): the batch stays in flight, its fate unknown. */
static bool import_recv_one(struct import_state *st)
{
    struct import_batch *b = import_slot(st, st->answered);
    struct sq_reply reply;
    struct sq_error err;
    int rc = sq_recv(st->conn, &reply, &err);
    if (rc == SQ_OK) {
        import_stored(st, b, reply.answer);
    } else if (rc == SQ_ESERVER && strcmp(err.code, "busy") == 0 && st->rc == CLI_EXIT_OK) {
        import_refused(st, b, &err);
    } else if (st->rc == CLI_EXIT_OK || (st->rc == CLI_EXIT_CONNECT && rc == SQ_ESERVER)) {
        /* An error answer explains a broken write better than the write's own errno. */
        char where[1200];
        import_describe(st, b, where, sizeof where);
        st->rc = cli_rpc_report(st->opts, &err, where);
    }
    sq_reply_free(&reply);
    bool has_answer = rc == SQ_OK || rc == SQ_ESERVER;
    if (has_answer && !st->is_retrying && st->rc == CLI_EXIT_OK) {
        st->head = (st->head + 1) % IMPORT_WINDOW; /* settled: b is the head */
        st->count--;
        st->sent--;
        st->busy_since = 0;
        st->pause_ms = IMPORT_PAUSE_MIN_MS;
    } else if (has_answer) {
        st->answered++;
    }
    return has_answer;
}

/* Sends the first queued batch not in flight. */
static void import_send(struct import_state *st)
{
    struct import_batch *b = import_slot(st, st->sent);
    size_t before = sq_inflight(st->conn);
    struct sq_error err;
    if (sq_send_line(st->conn, b->text.data, b->text.len, &err) != SQ_OK) {
        st->rc = cli_rpc_report(st->opts, &err, NULL);
    }
    /* Even a failed write may have reached the server; its answer may explain the failure, and
     * the library expects it. */
    if (sq_inflight(st->conn) > before) {
        st->sent++;
    }
}

/* Every answer in flight is read, and one was busy: pauses, then has every queued batch sent
 * again, in order; or gives up after --busy-wait seconds of refusals of the head. */
static void import_pause(struct import_state *st)
{
    double left = st->busy_since + (double)st->opts->busy_wait - import_now();
    if (left <= 0) {
        char where[1200];
        import_describe(st, import_slot(st, 0), where, sizeof where);
        fprintf(stderr,
                "searchq: %s: server error busy: %s\nsearchq: the server refused it for %lld s "
                "(--busy-wait); giving up\n",
                where, st->busy_msg, (long long)st->opts->busy_wait);
        st->rc = CLI_EXIT_ERROR;
        return;
    }
    double secs = (double)st->pause_ms / 1000.0 < left ? (double)st->pause_ms / 1000.0 : left;
    struct timespec ts = {.tv_sec = (time_t)secs,
                          .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    st->pause_ms = st->pause_ms * 2 < IMPORT_PAUSE_MAX_MS ? st->pause_ms * 2 : IMPORT_PAUSE_MAX_MS;
    st->answered = st->sent = 0;
    st->is_retrying = false;
}

enum import_goal {
    IMPORT_ROOM, /* every queued batch in flight, and a free slot for one more */
    IMPORT_SENT, /* every queued batch in flight */
    IMPORT_DONE, /* every batch settled */
};

/* Sends, reads answers and pauses until the goal is met or the import stops. */
static void import_pump(struct import_state *st, enum import_goal goal)
{
    while (st->rc == CLI_EXIT_OK) {
        bool is_sent = !st->is_retrying && st->sent == st->count;
        if (st->is_retrying && st->answered == st->sent) {
            import_pause(st);
        } else if (!st->is_retrying && st->sent < st->count &&
                   sq_can_send(st->conn, import_slot(st, st->sent)->text.len)) {
            import_send(st);
        } else if ((goal == IMPORT_ROOM && is_sent && st->count < IMPORT_WINDOW) ||
                   (goal == IMPORT_SENT && is_sent) || (goal == IMPORT_DONE && st->count == 0)) {
            return;
        } else if (!import_recv_one(st)) {
            return; /* st->rc is set */
        }
    }
}

/* Queues the batch being built and sends it. The open batch keeps its documents when the
 * import has stopped, for the report. */
static void import_flush(struct import_state *st)
{
    if (st->rc != CLI_EXIT_OK || st->open.count == 0) {
        return;
    }
    st->rc = cli_buf_put(&st->open.text, "]}\n", 3);
    import_pump(st, IMPORT_ROOM);
    if (st->rc != CLI_EXIT_OK) {
        return;
    }
    struct import_batch *slot = import_slot(st, st->count);
    struct import_batch spare = {.text = {.data = slot->text.data, .cap = slot->text.cap}};
    *slot = st->open;
    st->open = spare; /* the slot's old buffer, so that buffers are reused, never copied */
    st->count++;
    import_pump(st, IMPORT_SENT);
}

/* Adds one serialized document to the batch being built. */
static void import_add_doc(struct import_state *st, const char *json, size_t len,
                           struct import_where where)
{
    st->pending = where;
    st->has_pending = true;
    if (st->open.count > 0 &&
        (st->open.count >= IMPORT_BATCH_DOCS || st->open.text.len + len + 4 > IMPORT_BATCH_BYTES)) {
        import_flush(st);
    }
    if (st->rc != CLI_EXIT_OK) {
        return;
    }
    if (st->open.count == 0) {
        st->rc = cli_buf_put(&st->open.text, st->prefix, strlen(st->prefix));
        st->open.first = where;
    } else {
        st->rc = cli_buf_put(&st->open.text, ",", 1);
    }
    if (st->rc == CLI_EXIT_OK) {
        st->rc = cli_buf_put(&st->open.text, json, len);
    }
    if (st->rc == CLI_EXIT_OK) {
        st->open.last = st->offered = where;
        st->open.count++;
        st->has_offered = true;
        st->has_pending = false;
    }
}

struct import_send_arg {
    struct import_state *st;
    size_t file;
};

static int import_send_cb(void *arg, const char *path, uint64_t lineno, char *line, size_t len)
{
    (void)path;
    struct import_send_arg *a = arg;
    import_add_doc(a->st, line, len, (struct import_where){a->file, lineno});
    return a->st->rc;
}

static int import_send_json_cb(void *arg, const char *path, uint64_t lineno, uint64_t ordinal,
                               char *text, size_t len)
{
    (void)path;
    (void)lineno;
    struct import_send_arg *a = arg;
    import_add_doc(a->st, text, len, (struct import_where){a->file, ordinal});
    return a->st->rc;
}

/* Adds a document made here (a .csv row, a text file) as json-c writes it. */
static void import_add_object(struct import_state *st, struct json_object *doc,
                              struct import_where where)
{
    size_t len;
    const char *json = json_object_to_json_string_length(
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    import_add_doc(st, json, len, where);
}

static int import_send_csv_cb(void *arg, const char *path, uint64_t lineno, uint64_t ordinal,
                              struct json_object *doc)
{
    (void)path;
    (void)lineno;
    struct import_send_arg *a = arg;
    import_add_object(a->st, doc, (struct import_where){a->file, ordinal});
    return a->st->rc;
}

static void import_send_text(struct import_state *st, size_t file)
{
    struct json_object *doc = NULL;
    st->rc = cli_textdoc_read(st->files[file].path, &doc);
    if (st->rc != CLI_EXIT_OK || !doc) {
        return; /* the file changed since pass 1; it said what is wrong */
    }
    import_add_object(st, doc, (struct import_where){file, 0});
    json_object_put(doc);
}

/* {"op":"add","index":NAME,"docs":[ with NAME escaped by json-c. */
static int import_make_prefix(struct import_state *st)
{
    struct json_object *req = sq_req_add(st->opts->index, NULL);
    const char *text = req ? json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN) : NULL;
    size_t len = text ? strlen(text) : 0;
    st->prefix = len >= 2 ? malloc(len + 16) : NULL;
    if (st->prefix) {
        memcpy(st->prefix, text, len - 1); /* without the closing brace */
        memcpy(st->prefix + len - 1, ",\"docs\":[", 10);
    }
    json_object_put(req);
    if (!st->prefix) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

/* Pass 2 over every file, until every batch is settled or the import stops. */
static void import_send_all(struct import_state *st)
{
    for (size_t i = 0; i < st->nfiles && st->rc == CLI_EXIT_OK; i++) {
        if (st->files[i].docs == 0) {
            continue;
        }
        if (st->files[i].kind != IMPORT_TEXT) {
            /* A batch never spans two files but text files, so its lines name one file. */
            import_flush(st);
            struct import_send_arg arg = {st, i};
            const char *path = st->files[i].path;
            if (st->rc == CLI_EXIT_OK && st->files[i].kind == IMPORT_JSONL) {
                st->rc = import_each_line(path, import_send_cb, &arg);
            } else if (st->rc == CLI_EXIT_OK && st->files[i].kind == IMPORT_JSON) {
                st->rc = cli_json_each_doc(path, import_send_json_cb, &arg);
            } else if (st->rc == CLI_EXIT_OK) {
                st->rc = cli_csv_each_doc(path, st->fields, import_send_csv_cb, &arg);
            }
            import_flush(st);
        } else {
            import_send_text(st, i);
        }
    }
    import_flush(st);
    import_pump(st, IMPORT_DONE);
    /* Stopped: the answers in flight still tell which batches were stored. */
    while (st->answered < st->sent && import_recv_one(st)) {
    }
}

/* ---- the report ---- */

/* A run of documents with one fate, within one file: lines first..last of a .jsonl file, or a
 * text file (line 0). */
enum import_fate { IMPORT_STORED, IMPORT_NOT_STORED, IMPORT_UNKNOWN };

struct import_run {
    enum import_fate fate;
    size_t file;
    uint64_t first, last;
    bool is_open;
    unsigned printed, left; /* ranges printed, and those past IMPORT_REPORT_LINES */
};

static void import_run_print(const struct import_state *st, struct import_run *r)
{
    if (!r->is_open || r->fate == IMPORT_STORED) {
        return;
    }
    if (r->printed >= IMPORT_REPORT_LINES) {
        r->left++;
        return;
    }
    r->printed++;
    const char *what =
        r->fate == IMPORT_NOT_STORED ? "not stored" : "sent, no answer (maybe stored)";
    char range[1200];
    import_range_name(&st->files[r->file], r->first, r->last, range, sizeof range);
    fprintf(stderr, "searchq: %s: %s\n", what, range);
}

/* Adds the documents of one file from line first to last (0, 0: a text file) to the report. */
static void import_run_add(const struct import_state *st, struct import_run *r,
                           enum import_fate fate, size_t file, uint64_t first, uint64_t last)
{
    if (r->is_open && r->fate == fate && r->file == file && first > 0) {
        r->last = last;
        return;
    }
    import_run_print(st, r);
    r->is_open = true;
    r->fate = fate;
    r->file = file;
    r->first = first;
    r->last = last;
}

/* Adds a batch: one run, or one per text file it holds. */
static void import_run_batch(const struct import_state *st, struct import_run *r,
                             const struct import_batch *b, enum import_fate fate)
{
    if (b->first.line > 0) {
        import_run_add(st, r, fate, b->first.file, b->first.line, b->last.line);
        return;
    }
    for (size_t f = b->first.file; f <= b->last.file; f++) {
        if (st->files[f].docs > 0) {
            import_run_add(st, r, fate, f, 0, 0);
        }
    }
}

/* Every document not stored, as ranges: the queue's, then those never queued. */
static void import_report_unstored(const struct import_state *st)
{
    struct import_run r = {.is_open = false};
    for (size_t i = 0; i < st->count; i++) {
        const struct import_batch *b = &st->queue[(st->head + i) % IMPORT_WINDOW];
        bool is_unknown = i >= st->answered && i < st->sent;
        import_run_batch(st, &r, b,
                         b->is_stored ? IMPORT_STORED
                         : is_unknown ? IMPORT_UNKNOWN
                                      : IMPORT_NOT_STORED);
    }
    /* The documents in no queued batch: from the open batch's first, or the one being
     * offered, or else those after the last one offered (a read error may stop a file short). */
    struct import_where from = {0, 0};
    bool is_after = false;
    if (st->open.count > 0) {
        from = st->open.first;
    } else if (st->has_pending) {
        from = st->pending;
    } else if (st->has_offered) {
        from = st->offered;
        is_after = true;
    }
    for (size_t f = from.file; f < st->nfiles; f++) {
        const struct import_file *file = &st->files[f];
        uint64_t first = file->kind != IMPORT_TEXT ? file->first_line : 0;
        if (f == from.file && (from.line > 0 || is_after)) {
            first = from.line + is_after; /* a text file after its document: 1, past its end */
        }
        if (file->docs > 0 && first <= file->last_line) {
            import_run_add(st, &r, IMPORT_NOT_STORED, f, first, first ? file->last_line : 0);
        }
    }
    import_run_print(st, &r);
    if (r.left > 0) {
        fprintf(stderr, "searchq: ... and %u more ranges not stored\n", r.left);
    }
}

static void import_report(const struct import_state *st, int files)
{
    uint64_t stored = st->added + st->replaced;
    if (st->rc != CLI_EXIT_OK) {
        fprintf(stderr,
                "searchq: import stopped; the server stored %llu of the %llu documents (%llu "
                "added, %llu replaced)%s\n",
                (unsigned long long)stored, (unsigned long long)st->docs,
                (unsigned long long)st->added, (unsigned long long)st->replaced,
                stored < st->docs ? "; these were not:" : "");
        import_report_unstored(st);
    } else if (st->opts->is_json) {
        printf("{\"ok\":true,\"files\":%d,\"docs\":%llu,\"added\":%llu,\"replaced\":%llu,"
               "\"busy\":%llu}\n",
               files, (unsigned long long)stored, (unsigned long long)st->added,
               (unsigned long long)st->replaced, (unsigned long long)st->busy_answers);
    } else {
        printf("imported %llu document%s from %d file%s: %llu added, %llu replaced",
               (unsigned long long)stored, stored == 1 ? "" : "s", files, files == 1 ? "" : "s",
               (unsigned long long)st->added, (unsigned long long)st->replaced);
        if (st->busy_answers > 0) {
            printf(" (%llu busy answer%s: batches sent again after a pause)",
                   (unsigned long long)st->busy_answers, st->busy_answers == 1 ? "" : "s");
        }
        putchar('\n');
    }
}

static void import_free(struct import_state *st)
{
    free(st->prefix);
    json_object_put(st->settings);
    cli_buf_free(&st->open.text);
    for (size_t i = 0; i < IMPORT_WINDOW; i++) {
        cli_buf_free(&st->queue[i].text);
    }
}

int cli_cmd_import(const struct cli_opts *opts, int argc, char **argv)
{
    struct import_file *files = calloc((size_t)argc, sizeof *files);
    if (!files) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    struct import_state st = {
        .opts = opts, .files = files, .nfiles = (size_t)argc, .pause_ms = IMPORT_PAUSE_MIN_MS};
    bool has_csv = false;
    st.rc = import_kinds(argc, argv, files, &has_csv);
    if (st.rc == CLI_EXIT_OK && has_csv) {
        st.rc = import_fetch_fields(&st);
    }
    if (st.rc == CLI_EXIT_OK) {
        st.rc = import_check_all(&st, files);
    }
    for (int i = 0; i < argc; i++) {
        st.docs += files[i].docs;
    }
    if (st.rc != CLI_EXIT_OK) {
        fprintf(stderr, "searchq: nothing was imported\n");
    } else if (st.docs == 0) {
        printf("nothing to import: the files hold no documents\n");
    } else {
        st.rc = import_make_prefix(&st);
        if (st.rc == CLI_EXIT_OK && !st.conn) {
            st.rc = cli_rpc_open(opts, IMPORT_WINDOW, &st.conn);
        }
        if (st.rc == CLI_EXIT_OK) {
            import_send_all(&st);
            import_report(&st, argc);
        }
    }
    if (st.conn) {
        sq_close(st.conn);
    }
    import_free(&st);
    free(files);
    return st.rc;
}
