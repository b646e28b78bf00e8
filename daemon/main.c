/*
 * main.c: the searchd command line.
 *
 *   searchd [--data DIR] [--listen HOST:PORT] [--line-listen HOST:PORT]
 *           [--socket PATH] [--sync always|batch] [--sync-ms N] [--workers N]
 *           [--max-request BYTES] [--max-connections N] [--idle-timeout SECONDS]
 *           [--flush-bytes BYTES] [--flush-ms N] [--merge-factor N]
 *           [--bm25-k1 X] [--bm25-b X] [--log-level error|warn|info|debug]
 *   searchd --check DIR        verify a data directory offline (exit 0 sound, 1 not)
 *   searchd --repair DIR       rebuild lost MANIFESTs offline; moves, never deletes
 *   searchd --help | --version
 *
 * Runs in the foreground and logs key=value lines to stderr. When every
 * listener is up it logs one line with event=ready and the bound addresses
 * (port 0 asks for a free port; the line tells which), for scripts and tests:
 *   ts=... level=info event=ready http=127.0.0.1:7700 line=127.0.0.1:7701 ...
 * Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the data
 * directory or a listener cannot be opened, 2 for bad flags.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idx.h"
#include "log.h"
#include "srv.h"

#define SEARCHD_VERSION "0.1.0"

struct opts {
    const char *data_dir;
    const char *http_addr;
    const char *line_addr;
    char line_buf[80];
    const char *socket_path;
    const char *check_dir;
    const char *repair_dir;
    struct idx_config idx; /* engine settings; data_dir set in serve() */
    struct srv_config srv;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: searchd [options]\n"
            "       searchd --check DIR\n"
            "       searchd --repair DIR\n"
            "\n"
            "  --data DIR              data directory (default ./searchd-data)\n"
            "  --listen HOST:PORT      HTTP API (default %s; port 0 = any free port)\n"
            "  --line-listen HOST:PORT line protocol (default: HTTP host, HTTP port + 1)\n"
            "  --socket PATH           line protocol on a Unix socket too (mode 0660)\n"
            "  --sync always|batch     fsync every write (default) or every --sync-ms\n"
            "  --sync-ms N             batch fsync interval in ms (default 5)\n"
            "  --flush-bytes BYTES     flush in-memory segments above this (default 64m)\n"
            "  --flush-ms N            ... or when their oldest write is this old (default 30000)\n"
            "  --merge-factor N        segments of one size tier merged together (default 8)\n"
            "  --bm25-k1 X, --bm25-b X BM25 parameters (default 1.2 and 0.75)\n"
            "  --workers N             search threads (default: one per CPU)\n"
            "  --max-request BYTES     largest request line or body (default %u; k/m/g ok)\n"
            "  --max-connections N     open connections at most (default %u)\n"
            "  --idle-timeout SECONDS  close idle connections (default %u)\n"
            "  --log-level LEVEL       error, warn, info (default) or debug\n"
            "  --check DIR             verify DIR offline; exit 0 if sound, 1 if not\n"
            "  --repair DIR            rebuild a missing or damaged MANIFEST from the files\n"
            "                          found; unplaceable files go to INDEX/lost+found/\n"
            "  --help, --version\n",
            SRV_DEFAULT_HTTP, SRV_DEFAULT_MAX_REQUEST, SRV_DEFAULT_MAX_CONNS, SRV_DEFAULT_IDLE_S);
}

static int bad_flag(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "searchd: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(see searchd --help)\n");
    return 2;
}

/* Digits only, with an optional k/m/g (binary) suffix when allow_suffix. */
static bool parse_u64(const char *s, bool allow_suffix, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') {
        return false;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    unsigned shift = 0;
    if (allow_suffix && *p && p[1] == '\0') {
        const char *suf = strchr("kKmMgG", *p);
        if (!suf) {
            return false;
        }
        shift = (unsigned)(10 * (1 + (suf - "kKmMgG") / 2));
        p++;
    }
    if (*p || (shift && v > (max >> shift))) {
        return false;
    }
    v <<= shift;
    if (v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* --bm25-k1 in [0, 100], --bm25-b in [0, 1]. */
static int parse_bm25(struct opts *o, bool is_k1, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 0) || v > (is_k1 ? 100 : 1)) {
        return bad_flag(is_k1 ? "--bm25-k1 %s: want 0 to 100%s" : "--bm25-b %s: want 0 to 1%s",
                        arg, "");
    }
    if (is_k1) {
        o->idx.k1 = (float)v;
    } else {
        o->idx.b = (float)v;
    }
    return 0;
}

/* The line protocol defaults to the HTTP host and port + 1 (port 0 stays 0). */
static int default_line_addr(struct opts *o)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct sd_error err;
    if (srv_parse_addr(o->http_addr, &ss, &len, &err)) {
        return bad_flag("--listen %s: %s", o->http_addr, err.msg);
    }
    const char *colon = strrchr(o->http_addr, ':');
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);
    if (port == 65535) {
        return bad_flag("--listen %s%s: no port after it for the line protocol; give --line-listen",
                        o->http_addr, "");
    }
    snprintf(o->line_buf, sizeof o->line_buf, "%.*s:%u", (int)(colon - o->http_addr), o->http_addr,
             port ? port + 1 : 0);
    o->line_addr = o->line_buf;
    return 0;
}

enum {
    OPT_DATA = 256,
    OPT_LISTEN,
    OPT_LINE,
    OPT_SOCKET,
    OPT_SYNC,
    OPT_SYNC_MS,
    OPT_WORKERS,
    OPT_MAX_REQUEST,
    OPT_MAX_CONNS,
    OPT_IDLE,
    OPT_LOG_LEVEL,
    OPT_FLUSH_BYTES,
    OPT_FLUSH_MS,
    OPT_MERGE_FACTOR,
    OPT_K1,
    OPT_B,
    OPT_CHECK,
    OPT_REPAIR,
    OPT_HELP,
    OPT_VERSION,
};

static const struct option long_opts[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"line-listen", required_argument, NULL, OPT_LINE},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"sync", required_argument, NULL, OPT_SYNC},
    {"sync-ms", required_argument, NULL, OPT_SYNC_MS},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"max-request", required_argument, NULL, OPT_MAX_REQUEST},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"flush-bytes", required_argument, NULL, OPT_FLUSH_BYTES},
    {"flush-ms", required_argument, NULL, OPT_FLUSH_MS},
    {"merge-factor", required_argument, NULL, OPT_MERGE_FACTOR},
    {"bm25-k1", required_argument, NULL, OPT_K1},
    {"bm25-b", required_argument, NULL, OPT_B},
    {"check", required_argument, NULL, OPT_CHECK},
    {"repair", required_argument, NULL, OPT_REPAIR},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* One option; returns 0, 2 for a bad value, or -1 for --help/--version done. */
static int apply_opt(struct opts *o, int c, const char *arg)
{
    uint64_t v;
    switch (c) {
    case OPT_DATA:
        o->data_dir = arg;
        return 0;
    case OPT_LISTEN:
        o->http_addr = arg;
        return 0;
    case OPT_LINE:
        o->line_addr = arg;
        return 0;
    case OPT_SOCKET:
        o->socket_path = arg;
        return 0;
    case OPT_CHECK:
        o->check_dir = arg;
        return 0;
    case OPT_REPAIR:
        o->repair_dir = arg;
        return 0;
    case OPT_SYNC:
        if (strcmp(arg, "always") && strcmp(arg, "batch")) {
            return bad_flag("--sync %s: want always or batch%s", arg, "");
        }
        o->idx.sync = arg[0] == 'a' ? IDX_SYNC_ALWAYS : IDX_SYNC_BATCH;
        return 0;
    case OPT_SYNC_MS:
        if (!parse_u64(arg, false, 1, 10000, &v)) {
            return bad_flag("--sync-ms %s: want 1 to 10000%s", arg, "");
        }
        o->idx.sync_ms = (uint32_t)v;
        return 0;
    case OPT_FLUSH_BYTES:
        if (!parse_u64(arg, true, 1024, 1ull << 32, &v)) {
            return bad_flag("--flush-bytes %s: want 1k to 4g%s", arg, "");
        }
        o->idx.flush_bytes = (size_t)v;
        return 0;
    case OPT_FLUSH_MS:
        if (!parse_u64(arg, false, 10, 3600000, &v)) {
            return bad_flag("--flush-ms %s: want 10 to 3600000%s", arg, "");
        }
        o->idx.flush_ms = (uint32_t)v;
        return 0;
    case OPT_MERGE_FACTOR:
        if (!parse_u64(arg, false, 2, 64, &v)) {
            return bad_flag("--merge-factor %s: want 2 to 64%s", arg, "");
        }
        o->idx.merge_factor = (uint32_t)v;
        return 0;
    case OPT_K1:
    case OPT_B:
        return parse_bm25(o, c == OPT_K1, arg);
    case OPT_WORKERS:
        if (!parse_u64(arg, false, 1, 256, &v)) {
            return bad_flag("--workers %s: want 1 to 256%s", arg, "");
        }
        o->srv.workers = (unsigned)v;
        return 0;
    case OPT_MAX_REQUEST:
        if (!parse_u64(arg, true, 64, 1u << 30, &v)) {
            return bad_flag("--max-request %s: want 64 to 1g bytes%s", arg, "");
        }
        o->srv.max_request = (size_t)v;
        return 0;
    case OPT_MAX_CONNS:
        if (!parse_u64(arg, false, 1, 1000000, &v)) {
            return bad_flag("--max-connections %s: want 1 to 1000000%s", arg, "");
        }
        o->srv.max_connections = (unsigned)v;
        return 0;
    case OPT_IDLE:
        if (!parse_u64(arg, false, 1, 86400, &v)) {
            return bad_flag("--idle-timeout %s: want 1 to 86400 seconds%s", arg, "");
        }
        o->srv.idle_timeout_s = (unsigned)v;
        return 0;
    case OPT_LOG_LEVEL:
        if (!log_level_parse(arg, &log_threshold)) {
            return bad_flag("--log-level %s: want error, warn, info or debug%s", arg, "");
        }
        return 0;
    case OPT_HELP:
        usage(stdout);
        return -1;
    case OPT_VERSION:
        printf("searchd %s\n", SEARCHD_VERSION);
        return -1;
    default:
        return bad_flag("unknown option%s%s", "", "");
    }
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    srv_config_default(&o->srv);
    idx_config_default(&o->idx);
    o->data_dir = "./searchd-data";
    o->http_addr = SRV_DEFAULT_HTTP;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        int rc = apply_opt(o, c, optarg);
        if (rc) {
            return rc;
        }
    }
    if (optind < argc) {
        return bad_flag("unexpected argument '%s'%s", argv[optind], "");
    }
    if (o->check_dir && o->repair_dir) {
        return bad_flag("--check and --repair: one at a time%s%s", "", "");
    }
    if (o->check_dir || o->repair_dir) {
        return 0;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    struct sd_error err;
    if (srv_parse_addr(o->http_addr, &ss, &len, &err)) {
        return bad_flag("--listen: %s%s", err.msg, "");
    }
    if (o->line_addr && srv_parse_addr(o->line_addr, &ss, &len, &err)) {
        return bad_flag("--line-listen: %s%s", err.msg, "");
    }
    return o->line_addr ? 0 : default_line_addr(o);
}

static int run_check(const char *dir)
{
    struct sd_error err = {0};
    int rc = idx_check_dir(dir, stdout, &err);
    if (rc) {
        fprintf(stderr, "searchd: check %s: %s\n", dir, err.msg[0] ? err.msg : "problems found");
        return 1;
    }
    return 0;
}

static int run_repair(const char *dir)
{
    struct sd_error err = {0};
    if (idx_repair_dir(dir, stdout, &err)) {
        fprintf(stderr, "searchd: repair %s: %s\n", dir, err.msg);
        return 1;
    }
    return 0;
}

static int serve(struct opts *o)
{
    struct idx_config cfg = o->idx;
    cfg.data_dir = o->data_dir;
    struct sd_error err = {0};
    struct idx_db *db = NULL;
    log_info("event=start version=%s data=%s sync=%s", SEARCHD_VERSION, o->data_dir,
             cfg.sync == IDX_SYNC_ALWAYS ? "always" : "batch");
    if (idx_open(&cfg, &db, &err)) {
        log_error("event=open_failed data=%s msg=\"%s\"", o->data_dir, err.msg);
        return 1;
    }
    o->srv.http_addr = o->http_addr;
    o->srv.line_addr = o->line_addr;
    o->srv.socket_path = o->socket_path;
    struct srv *s = NULL;
    if (srv_new(&o->srv, db, &s, &err)) {
        log_error("event=listen_failed msg=\"%s\"", err.msg);
        idx_close(db);
        return 1;
    }
    log_info("event=listen proto=http addr=%s", srv_http_addr(s));
    log_info("event=listen proto=line addr=%s", srv_line_addr(s));
    if (o->socket_path) {
        log_info("event=listen proto=line addr=unix:%s", o->socket_path);
    }
    /* always written, whatever --log-level: scripts wait for it */
    log_write(LOG_INFO, "event=ready http=%s line=%s socket=%s pid=%ld", srv_http_addr(s),
              srv_line_addr(s), o->socket_path ? o->socket_path : "-", (long)getpid());
    srv_run(s);
    srv_free(s);
    idx_close(db); /* every acknowledged write is already durable; this stops threads */
    log_info("event=stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc) {
        return rc < 0 ? 0 : rc;
    }
    if (o.repair_dir) {
        return run_repair(o.repair_dir);
    }
    return o.check_dir ? run_check(o.check_dir) : serve(&o);
}
