/*
 * import.c: `searchq import FILE...`, bulk loading over one line-protocol connection.
 *
 * Pass 1 reads every file and checks every document locally: each non-blank line of a .jsonl
 * (or .ndjson) file must be one JSON object with an "id" (a string of 1 to 512 bytes or an
 * integer), valid UTF-8, at most 64 fields with names of 1 to 64 bytes; a .txt/.md file must be
 * UTF-8 with some text (textdoc.c). The first problem stops the import before anything is sent,
 * with FILE:LINE and what is wrong, so a typo on line 90000 does not leave half a collection
 * loaded.
 *
 * Pass 2 sends the documents as {"op":"add","docs":[...]} batches of at most IMPORT_BATCH_DOCS
 * documents and IMPORT_BATCH_BYTES bytes. JSON lines are sent as they are in the file (already
 * checked), not re-serialized. Up to IMPORT_WINDOW batches are in flight before we read an
 * answer (libsearchq's pipelining: answers come in request order, and its in-flight bound
 * keeps both sides from blocking on full socket buffers). If the server refuses a batch, no more
 * are sent, the answers to those already in flight are still read, and the message names the batch
 * by file and line range.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

#define IMPORT_BATCH_DOCS  500
#define IMPORT_BATCH_BYTES ((size_t)1 << 20)
#define IMPORT_WINDOW      8
#define IMPORT_MAX_ID      512 /* the limits of docs/PROTOCOL.md "Documents" */
#define IMPORT_MAX_FIELDS  64
#define IMPORT_MAX_NAME    64

enum import_kind { IMPORT_JSONL, IMPORT_TEXT };

/* Where a document came from: a line of a .jsonl file, or a whole text file (line 0). */
struct import_where {
    const char *file; /* borrowed from argv */
    uint64_t line;
};

/* A batch of documents: the one being built, or one sent and not yet answered. */
struct import_batch {
    struct import_where first, last;
    uint32_t count;
};

struct import_state {
    const struct cli_opts *opts;
    struct sq_conn *conn; /* owned */
    char *prefix;         /* owned: {"op":"add","index":...,"docs":[ */
    char *buf;            /* owned: the request being built */
    size_t len, cap;
    struct import_batch open;
    struct import_batch inflight[IMPORT_WINDOW]; /* a ring, oldest at head */
    size_t head, inflight_count;
    uint64_t added, replaced;
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
    } else if (strcmp(dot, ".txt") == 0 || strcmp(dot, ".md") == 0 ||
               strcmp(dot, ".markdown") == 0) {
        *kind = IMPORT_TEXT;
    } else {
        fprintf(stderr, "searchq: %s: unknown file type (want .jsonl, .ndjson, .txt or .md)\n",
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

/* Checks one trimmed, non-empty line of a .jsonl file. */
static int import_check_line(struct json_tokener *tok, const char *path, uint64_t lineno,
                             const char *line, size_t len)
{
    if (len > (size_t)INT32_MAX) {
        fprintf(stderr, "searchq: %s:%llu: line too long\n", path, (unsigned long long)lineno);
        return CLI_EXIT_ERROR;
    }
    json_tokener_reset(tok);
    struct json_object *doc = json_tokener_parse_ex(tok, line, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    const char *why = NULL;
    if (!doc && jerr == json_tokener_continue) {
        why = "the JSON ends in the middle (a document must fit on one line)";
    } else if (!doc || jerr != json_tokener_success) {
        why = json_tokener_error_desc(jerr);
    } else if (json_tokener_get_parse_end(tok) != len) {
        why = "text after the JSON object";
    } else {
        why = import_doc_problem(doc);
    }
    json_object_put(doc);
    if (why && jerr != json_tokener_success && jerr != json_tokener_continue) {
        fprintf(stderr, "searchq: %s:%llu: bad JSON at byte %zu: %s\n", path,
                (unsigned long long)lineno, json_tokener_get_parse_end(tok) + 1, why);
        return CLI_EXIT_ERROR;
    }
    if (why) {
        fprintf(stderr, "searchq: %s:%llu: %s\n", path, (unsigned long long)lineno, why);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

/* Calls fn for each non-blank line of a .jsonl file, with the line trimmed. */
typedef int (*import_line_fn)(void *arg, const char *path, uint64_t lineno, char *line, size_t len);

static int import_each_line(const char *path, import_line_fn fn, void *arg)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "searchq: %s: %s\n", path, strerror(errno));
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
        char *text = import_trim(line, &len);
        if (len > 0) {
            rc = fn(arg, path, lineno, text, len);
        }
    }
    if (rc == CLI_EXIT_OK && ferror(f)) {
        fprintf(stderr, "searchq: %s: read error\n", path);
        rc = CLI_EXIT_ERROR;
    }
    free(line);
    fclose(f);
    return rc;
}

struct import_count {
    struct json_tokener *tok;
    uint64_t docs;
};

static int import_check_cb(void *arg, const char *path, uint64_t lineno, char *line, size_t len)
{
    struct import_count *cnt = arg;
    int rc = import_check_line(cnt->tok, path, lineno, line, len);
    cnt->docs += rc == CLI_EXIT_OK;
    return rc;
}

/* Pass 1 over every file. *docs is the number of documents found. */
static int import_check_all(int argc, char **argv, uint64_t *docs)
{
    struct import_count cnt = {.tok = json_tokener_new()};
    if (!cnt.tok) {
        fprintf(stderr, "searchq: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    json_tokener_set_flags(cnt.tok, JSON_TOKENER_VALIDATE_UTF8);
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < argc && rc == CLI_EXIT_OK; i++) {
        enum import_kind kind;
        rc = import_kind_of(argv[i], &kind);
        if (rc == CLI_EXIT_OK && kind == IMPORT_JSONL) {
            rc = import_each_line(argv[i], import_check_cb, &cnt);
        } else if (rc == CLI_EXIT_OK) {
            struct json_object *doc;
            rc = cli_textdoc_read(argv[i], &doc);
            if (rc == CLI_EXIT_OK) {
                json_object_put(doc);
                cnt.docs++;
            }
        }
    }
    json_tokener_free(cnt.tok);
    *docs = cnt.docs;
    return rc;
}

/* ---- pass 2: sending ---- */

static int import_append(struct import_state *st, const char *data, size_t len)
{
    if (st->cap - st->len < len) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap - st->len < len) {
            cap *= 2;
        }
        char *p = realloc(st->buf, cap);
        if (!p) {
            fprintf(stderr, "searchq: out of memory\n");
            return CLI_EXIT_ERROR;
        }
        st->buf = p;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, data, len);
    st->len += len;
    return CLI_EXIT_OK;
}

/* "FILE:FIRST-LAST", "FILE" or "FILE1 .. FILE2", for messages about a batch. */
static void import_describe(const struct import_batch *b, char *out, size_t cap)
{
    if (strcmp(b->first.file, b->last.file) != 0) {
        snprintf(out, cap, "%s .. %s", b->first.file, b->last.file);
    } else if (b->first.line == 0) {
        snprintf(out, cap, "%s", b->first.file);
    } else if (b->first.line == b->last.line) {
        snprintf(out, cap, "%s:%llu", b->first.file, (unsigned long long)b->first.line);
    } else {
        snprintf(out, cap, "%s:%llu-%llu", b->first.file, (unsigned long long)b->first.line,
                 (unsigned long long)b->last.line);
    }
}

/* Reads the answer to the oldest batch in flight. */
static int import_recv_one(struct import_state *st)
{
    struct import_batch *b = &st->inflight[st->head];
    st->head = (st->head + 1) % IMPORT_WINDOW;
    st->inflight_count--;
    char where[1200];
    import_describe(b, where, sizeof where);
    struct sq_reply reply;
    int rc = cli_rpc_recv(st->opts, st->conn, where, &reply);
    if (rc == CLI_EXIT_OK) {
        struct json_object *v;
        if (json_object_object_get_ex(reply.answer, "added", &v)) {
            st->added += (uint64_t)json_object_get_int64(v);
        }
        if (json_object_object_get_ex(reply.answer, "replaced", &v)) {
            st->replaced += (uint64_t)json_object_get_int64(v);
        }
    }
    sq_reply_free(&reply);
    return rc;
}

/* Sends the batch being built, first making room: libsearchq bounds the batches (IMPORT_WINDOW)
 * and bytes in flight, and the ring of batch descriptions follows what it holds. */
static void import_flush(struct import_state *st)
{
    if (st->rc != CLI_EXIT_OK || st->open.count == 0) {
        return;
    }
    st->rc = import_append(st, "]}\n", 3);
    while (st->rc == CLI_EXIT_OK && !sq_can_send(st->conn, st->len)) {
        st->rc = import_recv_one(st);
    }
    if (st->rc == CLI_EXIT_OK) {
        size_t before = sq_inflight(st->conn);
        struct sq_error err;
        if (sq_send_line(st->conn, st->buf, st->len, &err) != SQ_OK) {
            st->rc = cli_rpc_report(st->opts, &err, NULL);
        }
        /* Even a failed write may have reached the server; its answer may explain the
         * failure, and the library expects it. */
        if (sq_inflight(st->conn) > before) {
            st->inflight[(st->head + st->inflight_count) % IMPORT_WINDOW] = st->open;
            st->inflight_count++;
        }
    }
    st->len = 0;
    st->open.count = 0;
}

/* Adds one serialized document to the batch being built. */
static void import_add_doc(struct import_state *st, const char *json, size_t len,
                           struct import_where where)
{
    if (st->open.count > 0 &&
        (st->open.count >= IMPORT_BATCH_DOCS || st->len + len + 4 > IMPORT_BATCH_BYTES)) {
        import_flush(st);
    }
    if (st->rc != CLI_EXIT_OK) {
        return;
    }
    if (st->open.count == 0) {
        st->rc = import_append(st, st->prefix, strlen(st->prefix));
        st->open.first = where;
    } else {
        st->rc = import_append(st, ",", 1);
    }
    if (st->rc == CLI_EXIT_OK) {
        st->rc = import_append(st, json, len);
    }
    st->open.last = where;
    st->open.count++;
}

static int import_send_cb(void *arg, const char *path, uint64_t lineno, char *line, size_t len)
{
    struct import_state *st = arg;
    import_add_doc(st, line, len, (struct import_where){path, lineno});
    return st->rc;
}

static void import_send_text(struct import_state *st, const char *path)
{
    struct json_object *doc;
    st->rc = cli_textdoc_read(path, &doc);
    if (st->rc != CLI_EXIT_OK) {
        return;
    }
    size_t len;
    const char *json = json_object_to_json_string_length(
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    import_add_doc(st, json, len, (struct import_where){path, 0});
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

/* Pass 2 over every file, then the answers still in flight. */
static void import_send_all(struct import_state *st, int argc, char **argv)
{
    for (int i = 0; i < argc && st->rc == CLI_EXIT_OK; i++) {
        enum import_kind kind;
        st->rc = import_kind_of(argv[i], &kind);
        if (st->rc == CLI_EXIT_OK && kind == IMPORT_JSONL) {
            /* A batch never spans two .jsonl files, so its lines name one file. */
            import_flush(st);
            if (st->rc == CLI_EXIT_OK) {
                st->rc = import_each_line(argv[i], import_send_cb, st);
            }
            import_flush(st);
        } else if (st->rc == CLI_EXIT_OK) {
            import_send_text(st, argv[i]);
        }
    }
    import_flush(st);
    /* Answers to batches sent before a failure are still counted; after a broken connection
     * there is nothing more to read. */
    while (st->inflight_count > 0) {
        int rc = import_recv_one(st);
        /* An error answer explains a broken write better than the write's own errno. */
        if (st->rc == CLI_EXIT_OK || (st->rc == CLI_EXIT_CONNECT && rc == CLI_EXIT_ERROR)) {
            st->rc = rc;
        }
        if (rc == CLI_EXIT_CONNECT) {
            break;
        }
    }
}

static void import_report(const struct import_state *st, int files)
{
    uint64_t stored = st->added + st->replaced;
    if (st->rc != CLI_EXIT_OK) {
        fprintf(stderr,
                "searchq: import stopped; the server acknowledged %llu documents before that "
                "(%llu added, %llu replaced)\n",
                (unsigned long long)stored, (unsigned long long)st->added,
                (unsigned long long)st->replaced);
    } else if (st->opts->is_json) {
        printf("{\"ok\":true,\"files\":%d,\"docs\":%llu,\"added\":%llu,\"replaced\":%llu}\n", files,
               (unsigned long long)stored, (unsigned long long)st->added,
               (unsigned long long)st->replaced);
    } else {
        printf("imported %llu document%s from %d file%s: %llu added, %llu replaced\n",
               (unsigned long long)stored, stored == 1 ? "" : "s", files, files == 1 ? "" : "s",
               (unsigned long long)st->added, (unsigned long long)st->replaced);
    }
}

int cli_cmd_import(const struct cli_opts *opts, int argc, char **argv)
{
    uint64_t docs;
    int rc = import_check_all(argc, argv, &docs);
    if (rc != CLI_EXIT_OK) {
        fprintf(stderr, "searchq: nothing was imported\n");
        return rc;
    }
    if (docs == 0) {
        printf("nothing to import: the files hold no documents\n");
        return CLI_EXIT_OK;
    }
    struct import_state st = {.opts = opts};
    st.rc = import_make_prefix(&st);
    if (st.rc == CLI_EXIT_OK) {
        st.rc = cli_rpc_open(opts, IMPORT_WINDOW, &st.conn);
        if (st.rc != CLI_EXIT_OK) {
            free(st.prefix);
            return st.rc;
        }
        import_send_all(&st, argc, argv);
        sq_close(st.conn);
    }
    import_report(&st, argc);
    free(st.prefix);
    free(st.buf);
    return st.rc;
}
