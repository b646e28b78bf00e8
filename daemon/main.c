/*
 * main.c: the searchd command line.
 *
 *   searchd [--data DIR] [--listen HOST:PORT] [--line-listen HOST:PORT]
 *           [--socket PATH] [--sync always|batch] [--sync-ms N] [--workers N]
 *           [--max-request BYTES] [--max-connections N] [--idle-timeout SECONDS]
 *           [--max-line-connections N] [--max-http-connections N] [--max-per-client N]
 *           [--request-timeout SECONDS] [--max-unfinished BYTES]
 *           [--flush-bytes BYTES] [--flush-ms N] [--merge-factor N]
 *           [--bm25-k1 X] [--bm25-b X] [--log-level error|warn|info|debug]
 *           [--access-log FILE|-] [--log-queries on|off] [--slow-ms N|off]
 *           [--tls-cert FILE --tls-key FILE [--tls-listen HOST:PORT]
 *            [--tls-line-listen HOST:PORT]]
 *           [--snapshot-dir DIR] [--memory-limit BYTES]
 *   searchd --check DIR        verify a data directory offline (exit 0 sound, 1 not)
 *   searchd --repair DIR       rebuild lost MANIFESTs offline; moves, never deletes
 *   searchd --help | --version
 *
 * Runs in the foreground and logs key=value lines to stderr. When every
 * listener is up it logs one line with event=ready and the bound addresses
 * (port 0 asks for a free port; the line tells which), for scripts and tests:
 *   ts=... level=info event=ready http=127.0.0.1:7700 line=127.0.0.1:7701 ...
 * At start the soft limit on open files is raised to the hard limit, so
 * that --max-connections, not the descriptor limit, decides who gets in.
 * Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the data
 * directory or a listener cannot be opened, 2 for bad flags.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conf.h"
#include "idx.h"
#include "log.h"
#include "proto.h"
#include "srv.h"


struct opts {
    const char *data_dir;
    const char *http_addr;
    const char *line_addr;
    char line_buf[80];
    const char *socket_path;
    const char *check_dir;
    const char *config_path; /* --config FILE, read before the flags */
    bool print_config;       /* --print-config: show the effective values and exit */
    bool hash_key;           /* --hash-key: print the sha256 entry of a key read from stdin */
    bool public_without_keys; /* a non-loopback listener may run with keys off */
    const char *repair_dir;  /* --repair DIR */
    const char *access_log;  /* --access-log FILE or "-"; NULL: none */
    const char *tls_http;    /* --tls-listen; NULL: none */
    const char *tls_line;    /* --tls-line-listen; NULL: none */
    struct idx_config idx;   /* engine settings; data_dir set in serve() */
    struct srv_config srv;
    enum log_level log_level;
    const char *name; /* the option being applied, as the user wrote it: "--sync" or "sync" */
    char err[320];    /* why it was refused: "NAME VALUE: want ..." */
    char *kept[64];   /* values from the config file, owned (strings in here point to them) */
    size_t nkept;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: searchd [options]\n"
            "       searchd --check DIR\n"
            "       searchd --repair DIR\n"
            "\n"
            "  --data DIR              data directory (default ./searchd-data)\n"
            "  --listen HOST:PORT|off  HTTP API (default %s; port 0 = any free port)\n"
            "  --line-listen HOST:PORT|off  line protocol (default: HTTP host, HTTP port + 1;\n"
            "                          give it when --listen is off)\n"
            "  --tls-listen HOST:PORT  HTTP API over TLS (HTTPS) too (default: none)\n"
            "  --tls-line-listen HOST:PORT  line protocol over TLS too (default: none)\n"
            "  --tls-cert FILE, --tls-key FILE  PEM certificate chain and key of the TLS\n"
            "                          listeners (TLS 1.2+; read again on SIGHUP)\n"
            "  --socket PATH           line protocol on a Unix socket too (mode 0660)\n"
            "  --sync always|batch     fsync every write (default) or every --sync-ms\n"
            "  --sync-ms N             batch fsync interval in ms (default 5)\n"
            "  --flush-bytes BYTES     flush in-memory segments above this (default 64m)\n"
            "  --flush-ms N            ... or when their oldest write is this old (default 30000)\n"
            "  --merge-factor N        segments of one size tier merged together (default 8)\n"
            "  --bm25-k1 X, --bm25-b X BM25 parameters (default 1.2 and 0.75)\n"
            "  --workers N             search threads (default: one per CPU)\n"
            "  --max-request BYTES     largest request line or body (default %u; k/m/g ok)\n"
            "  --max-connections N     open connections, both protocols (default %u)\n"
            "  --max-line-connections N, --max-http-connections N\n"
            "                          per protocol (default 3/4 of --max-connections)\n"
            "  --max-per-client N      connections from one IP address, loopback too\n"
            "                          (default %u; 0 = no limit)\n"
            "  --idle-timeout SECONDS  close idle connections (default %u)\n"
            "  --request-timeout SECONDS  a request must arrive whole within (default %u)\n"
            "  --max-unfinished BYTES  unfinished request bytes held, all connections\n"
            "                          (default 4 x --max-request)\n"
            "  --cors-origins LIST     browser origins that may call the API: comma-separated\n"
            "                          scheme://host[:port], or * (default: none)\n"
            "  --web on|off            the search page at / (default on)\n"
            "  --admin-keys LIST       API keys that may do everything, as sha256:HEX entries\n"
            "  --search-keys LIST      API keys that may only read (search, get, stats)\n"
            "  --public-without-keys on|off  serve a non-loopback address with no keys\n"
            "                          (default off: searchd refuses to start)\n"
            "  --hash-key              read a key on stdin, print its sha256: entry, exit\n"
            "  --memory-limit BYTES    bound the engine's memory (k/m/g; default 0: none):\n"
            "                          flush early, then slow writes, then answer busy\n"
            "  --snapshot-dir DIR      where the snapshot op may write snapshots (default:\n"
            "                          none, snapshots off); outside --data\n"
            "  --log-level LEVEL       error, warn, info (default) or debug\n"
            "  --access-log FILE|-     one line per request to FILE (reopened on SIGHUP) or\n"
            "                          standard output (default: none)\n"
            "  --log-queries on|off    the query text in the access log's search lines\n"
            "                          (default off)\n"
            "  --slow-ms N|off         log searches taking N ms or more, with their query,\n"
            "                          at warn (0: every search; default off)\n"
            "  --config FILE           read settings from FILE first (INI; keys = these flags' names)\n"
            "  --print-config          print the effective settings and exit\n"
            "  --check DIR             verify DIR offline; exit 0 if sound, 1 if not\n"
            "  --repair DIR            rebuild a missing or damaged MANIFEST from the files\n"
            "                          found; unplaceable files go to INDEX/lost+found/\n"
            "  --help, --version\n",
            SRV_DEFAULT_HTTP, SRV_DEFAULT_MAX_REQUEST, SRV_DEFAULT_MAX_CONNS,
            SRV_DEFAULT_PER_CLIENT, SRV_DEFAULT_IDLE_S, SRV_DEFAULT_REQUEST_S);
}

/* A command-line problem that is no single option's value; returns 2 (the exit status). */
static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "searchd: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(see searchd --help)\n");
    return 2;
}

/* The value of the option being applied (o->name) is refused: records why in o->err for the
 * caller to report with the value's origin (a flag or FILE:LINE); returns 2. */
static int bad_value(struct opts *o, const char *arg, const char *want)
{
    snprintf(o->err, sizeof o->err, "%s %s: %s", o->name, arg, want);
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
        return bad_value(o, arg, is_k1 ? "want 0 to 100" : "want 0 to 1");
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
        return usage_error("listen %s: %s", o->http_addr, err.msg);
    }
    const char *colon = strrchr(o->http_addr, ':');
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);
    if (port == 65535) {
        return usage_error("listen %s%s: no port after it for the line protocol; give line-listen",
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
    OPT_MAX_LINE_CONNS,
    OPT_MAX_HTTP_CONNS,
    OPT_MAX_PER_CLIENT,
    OPT_REQUEST_TIMEOUT,
    OPT_MAX_UNFINISHED,
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
    OPT_CONFIG,
    OPT_PRINT_CONFIG,
    OPT_CORS,
    OPT_WEB,
    OPT_ADMIN_KEYS,
    OPT_SEARCH_KEYS,
    OPT_PUBLIC_NO_KEYS,
    OPT_HASH_KEY,
    OPT_ACCESS_LOG,
    OPT_LOG_QUERIES,
    OPT_SLOW_MS,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_LISTEN,
    OPT_TLS_LINE,
    OPT_SNAPSHOT_DIR,
    OPT_MEMORY_LIMIT,
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
    {"max-line-connections", required_argument, NULL, OPT_MAX_LINE_CONNS},
    {"max-http-connections", required_argument, NULL, OPT_MAX_HTTP_CONNS},
    {"max-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT},
    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"max-unfinished", required_argument, NULL, OPT_MAX_UNFINISHED},
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
    {"config", required_argument, NULL, OPT_CONFIG},
    {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
    {"cors-origins", required_argument, NULL, OPT_CORS},
    {"web", required_argument, NULL, OPT_WEB},
    {"admin-keys", required_argument, NULL, OPT_ADMIN_KEYS},
    {"search-keys", required_argument, NULL, OPT_SEARCH_KEYS},
    {"public-without-keys", required_argument, NULL, OPT_PUBLIC_NO_KEYS},
    {"hash-key", no_argument, NULL, OPT_HASH_KEY},
    {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
    {"slow-ms", required_argument, NULL, OPT_SLOW_MS},
    {"log-queries", required_argument, NULL, OPT_LOG_QUERIES},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-listen", required_argument, NULL, OPT_TLS_LISTEN},
    {"tls-line-listen", required_argument, NULL, OPT_TLS_LINE},
    {"snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR},
    {"memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT},
    {NULL, 0, NULL, 0},
};

/* Options that are commands or name the file itself, not settings: no config key. */
static bool is_command_opt(int c)
{
    return c == OPT_CHECK || c == OPT_HELP || c == OPT_VERSION || c == OPT_CONFIG ||
           c == OPT_PRINT_CONFIG || c == OPT_HASH_KEY || c == OPT_REPAIR;
}

/* --max-line-connections, --max-http-connections (1 to 1000000) and
 * --max-per-client (0, no limit, to 1000000). */
static int parse_conn_limit(struct opts *o, int c, const char *arg)
{
    uint64_t v;
    bool is_per_client = c == OPT_MAX_PER_CLIENT;
    if (!parse_u64(arg, false, is_per_client ? 0 : 1, 1000000, &v)) {
        return bad_value(o, arg, is_per_client ? "want 0 to 1000000" : "want 1 to 1000000");
    }
    if (c == OPT_MAX_LINE_CONNS) {
        o->srv.max_line_connections = (unsigned)v;
    } else if (c == OPT_MAX_HTTP_CONNS) {
        o->srv.max_http_connections = (unsigned)v;
    } else {
        o->srv.max_per_client = (unsigned)v;
    }
    return 0;
}

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
    case OPT_CONFIG:
        return 0; /* read before every flag, in parse_args */
    case OPT_PRINT_CONFIG:
        o->print_config = true;
        return 0;
    case OPT_CORS:
        o->srv.cors_origins = arg; /* checked by srv_new */
        return 0;
    case OPT_ADMIN_KEYS:
        o->srv.admin_keys = arg; /* checked by srv_new */
        return 0;
    case OPT_SEARCH_KEYS:
        o->srv.search_keys = arg;
        return 0;
    case OPT_PUBLIC_NO_KEYS:
        if (strcmp(arg, "on") && strcmp(arg, "off")) {
            return bad_value(o, arg, "want on or off");
        }
        o->public_without_keys = arg[1] == 'n';
        return 0;
    case OPT_HASH_KEY:
        o->hash_key = true;
        return 0;
    case OPT_TLS_CERT:
        o->srv.tls_cert = arg; /* loaded by srv_new */
        return 0;
    case OPT_TLS_KEY:
        o->srv.tls_key = arg;
        return 0;
    case OPT_TLS_LISTEN:
        o->tls_http = arg; /* checked by parse_args */
        return 0;
    case OPT_TLS_LINE:
        o->tls_line = arg;
        return 0;
    case OPT_ACCESS_LOG:
        if (*arg == '\0') {
            return bad_value(o, arg, "want a file name or -");
        }
        o->access_log = arg; /* opened by serve() */
        return 0;
    case OPT_LOG_QUERIES:
        if (strcmp(arg, "on") && strcmp(arg, "off")) {
            return bad_value(o, arg, "want on or off");
        }
        o->srv.log_queries = arg[1] == 'n';
        return 0;
    case OPT_SLOW_MS:
        if (strcmp(arg, "off") == 0) {
            o->srv.slow_ms = -1;
        } else if (parse_u64(arg, false, 0, 3600000, &v)) {
            o->srv.slow_ms = (int64_t)v;
        } else {
            return bad_value(o, arg, "want 0 to 3600000 or off");
        }
        return 0;
    case OPT_WEB:
        if (strcmp(arg, "on") && strcmp(arg, "off")) {
            return bad_value(o, arg, "want on or off");
        }
        o->srv.web = arg[1] == 'n';
        return 0;
    case OPT_REPAIR:
        o->repair_dir = arg;
        return 0;
    case OPT_MEMORY_LIMIT:
        if (strcmp(arg, "0") == 0) {
            o->idx.memory_limit = 0;
            return 0;
        }
        if (!parse_u64(arg, true, IDX_MIN_MEMORY_LIMIT, 1ull << 40, &v)) {
            return bad_value(o, arg, "want 0 (no limit) or 8m to 1024g bytes");
        }
        o->idx.memory_limit = v;
        return 0;
    case OPT_SNAPSHOT_DIR:
        o->idx.snapshot_dir = arg; /* checked by idx_open: a directory outside --data */
        return 0;
    case OPT_SYNC:
        if (strcmp(arg, "always") && strcmp(arg, "batch")) {
            return bad_value(o, arg, "want always or batch");
        }
        o->idx.sync = arg[0] == 'a' ? IDX_SYNC_ALWAYS : IDX_SYNC_BATCH;
        return 0;
    case OPT_SYNC_MS:
        if (!parse_u64(arg, false, 1, 10000, &v)) {
            return bad_value(o, arg, "want 1 to 10000");
        }
        o->idx.sync_ms = (uint32_t)v;
        return 0;
    case OPT_FLUSH_BYTES:
        if (!parse_u64(arg, true, 1024, 1ull << 32, &v)) {
            return bad_value(o, arg, "want 1k to 4g");
        }
        o->idx.flush_bytes = (size_t)v;
        return 0;
    case OPT_FLUSH_MS:
        if (!parse_u64(arg, false, 10, 3600000, &v)) {
            return bad_value(o, arg, "want 10 to 3600000");
        }
        o->idx.flush_ms = (uint32_t)v;
        return 0;
    case OPT_MERGE_FACTOR:
        if (!parse_u64(arg, false, 2, 64, &v)) {
            return bad_value(o, arg, "want 2 to 64");
        }
        o->idx.merge_factor = (uint32_t)v;
        return 0;
    case OPT_K1:
    case OPT_B:
        return parse_bm25(o, c == OPT_K1, arg);
    case OPT_WORKERS:
        if (!parse_u64(arg, false, 1, 256, &v)) {
            return bad_value(o, arg, "want 1 to 256");
        }
        o->srv.workers = (unsigned)v;
        return 0;
    case OPT_MAX_REQUEST:
        if (!parse_u64(arg, true, 64, 1u << 30, &v)) {
            return bad_value(o, arg, "want 64 to 1g bytes");
        }
        o->srv.max_request = (size_t)v;
        return 0;
    case OPT_MAX_CONNS:
        if (!parse_u64(arg, false, 1, 1000000, &v)) {
            return bad_value(o, arg, "want 1 to 1000000");
        }
        o->srv.max_connections = (unsigned)v;
        return 0;
    case OPT_MAX_LINE_CONNS:
    case OPT_MAX_HTTP_CONNS:
    case OPT_MAX_PER_CLIENT:
        return parse_conn_limit(o, c, arg);
    case OPT_REQUEST_TIMEOUT:
        if (!parse_u64(arg, false, 1, 86400, &v)) {
            return bad_value(o, arg, "want 1 to 86400 seconds");
        }
        o->srv.request_timeout_s = (unsigned)v;
        return 0;
    case OPT_MAX_UNFINISHED:
        if (!parse_u64(arg, true, 64, 1ull << 40, &v)) {
            return bad_value(o, arg, "want 64 to 1t bytes");
        }
        o->srv.max_unfinished = (size_t)v;
        return 0;
    case OPT_IDLE:
        if (!parse_u64(arg, false, 1, 86400, &v)) {
            return bad_value(o, arg, "want 1 to 86400 seconds");
        }
        o->srv.idle_timeout_s = (unsigned)v;
        return 0;
    case OPT_LOG_LEVEL:
        if (!log_level_parse(arg, &o->log_level)) {
            return bad_value(o, arg, "want error, warn, info or debug");
        }
        return 0;
    case OPT_HELP:
        usage(stdout);
        return -1;
    case OPT_VERSION:
        printf("searchd %s\n", SEARCHD_VERSION);
        return -1;
    default:
        return bad_value(o, "", "unknown option");
    }
}

/* conf_load's apply function: a config key is a long option's name. The value is copied,
 * since the options keep pointers to their strings. */
static int apply_key(void *user, const char *key, const char *value, struct sd_error *err)
{
    struct opts *o = user;
    const struct option *opt = long_opts;
    while (opt->name && strcmp(opt->name, key) != 0) {
        opt++;
    }
    if (!opt->name || is_command_opt(opt->val) || opt->has_arg != required_argument) {
        return sd_errorf(err, SD_EINVAL, "unknown key '%s'", key);
    }
    if (o->nkept == sizeof o->kept / sizeof *o->kept) {
        return sd_errorf(err, SD_ELIMIT, "too many keys");
    }
    char *copy = strdup(value);
    if (!copy) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    o->kept[o->nkept++] = copy;
    o->name = key;
    if (apply_opt(o, opt->val, copy)) {
        return sd_errorf(err, SD_EINVAL, "%s", o->err);
    }
    return SD_OK;
}

/* --config FILE or --config=FILE anywhere on the command line (the file is read first). */
static const char *find_config(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
    }
    return path;
}

static bool is_off(const char *addr)
{
    return addr && strcmp(addr, "off") == 0;
}

/* The address of a listener, NULL when it is off or not given. */
static const char *addr_or_null(const char *addr)
{
    return addr && !is_off(addr) ? addr : NULL;
}

/* The listener addresses parse, at least one listener is on, and the TLS options come
 * together: a TLS listener needs a certificate and key, and these need a TLS listener.
 * Returns 0 or 2 (reported). */
static int check_listeners(struct opts *o)
{
    struct {
        const char *name, *addr;
    } ls[] = {{"listen", addr_or_null(o->http_addr)},
              {"line-listen", addr_or_null(o->line_addr)},
              {"tls-listen", o->tls_http},
              {"tls-line-listen", o->tls_line}};
    bool any = o->socket_path != NULL;
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        struct sd_error err;
        if (ls[i].addr && srv_parse_addr(ls[i].addr, &ss, &len, &err)) {
            return usage_error("%s: %s", ls[i].name, err.msg);
        }
        any |= ls[i].addr != NULL;
    }
    if (is_off(o->http_addr) && !o->line_addr) {
        return usage_error("listen off: give line-listen too (an address, or off)%s%s", "", "");
    }
    if (!any) {
        return usage_error("every listener is off: nothing to serve%s%s", "", "");
    }
    bool has_tls = o->tls_http || o->tls_line;
    bool has_cert = o->srv.tls_cert || o->srv.tls_key;
    if (has_tls && (!o->srv.tls_cert || !o->srv.tls_key)) {
        return usage_error("tls-listen, tls-line-listen: need tls-cert and tls-key%s%s", "", "");
    }
    if (has_cert && !has_tls) {
        return usage_error("tls-cert, tls-key: no TLS listener (tls-listen, tls-line-listen)%s%s",
                           "", "");
    }
    return 0;
}

/* Defaults, then the config file, then the flags: each later source overrides. Returns 0, 2
 * for a bad flag or config (reported on stderr), or -1 when --help/--version was served. */
static int parse_args(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    optind = 0; /* getopt starts afresh: a SIGHUP reload parses the command line again */
    o->log_level = LOG_INFO;
    srv_config_default(&o->srv);
    idx_config_default(&o->idx);
    o->data_dir = "./searchd-data";
    o->http_addr = SRV_DEFAULT_HTTP;
    o->config_path = find_config(argc, argv);
    if (o->config_path) {
        struct sd_error err = {0};
        if (conf_load(o->config_path, apply_key, o, &err)) {
            fprintf(stderr, "searchd: %s\n", err.msg);
            return 2;
        }
    }
    opterr = 1;
    int c;
    int idx = -1;
    char name[40];
    while ((c = getopt_long(argc, argv, "", long_opts, &idx)) != -1) {
        if (c == '?') {
            return usage_error("unknown option or missing value%s%s", "", "");
        }
        snprintf(name, sizeof name, "--%s", long_opts[idx].name);
        o->name = name;
        int rc = apply_opt(o, c, optarg);
        if (rc > 0) {
            fprintf(stderr, "searchd: %s\n(see searchd --help)\n", o->err);
        }
        if (rc) {
            return rc;
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'%s", argv[optind], "");
    }
    if (o->check_dir && o->repair_dir) {
        return usage_error("--check and --repair: one at a time%s%s", "", "");
    }
    if (o->check_dir || o->repair_dir) {
        return 0;
    }
    int rc = check_listeners(o);
    if (rc) {
        return rc;
    }
    if (o->srv.max_unfinished && o->srv.max_unfinished < o->srv.max_request) {
        return usage_error("max-unfinished: must be at least max-request%s%s", "", "");
    }
    return o->line_addr || is_off(o->http_addr) ? 0 : default_line_addr(o);
}

static void free_opts(struct opts *o)
{
    for (size_t i = 0; i < o->nkept; i++) {
        free(o->kept[i]);
    }
}

/* --print-config: the effective settings, as a config file that reproduces them. */
static void print_config(FILE *f, const struct opts *o)
{
    fprintf(f, "# searchd %s: effective settings (defaults < %s < flags)\n[searchd]\n",
           SEARCHD_VERSION, o->config_path ? o->config_path : "no config file");
    fprintf(f, "data = %s\n", o->data_dir);
    fprintf(f, "listen = %s\n", o->http_addr);
    fprintf(f, "line-listen = %s\n", o->line_addr ? o->line_addr : "off");
    if (o->tls_http) {
        fprintf(f, "tls-listen = %s\n", o->tls_http);
    }
    if (o->tls_line) {
        fprintf(f, "tls-line-listen = %s\n", o->tls_line);
    }
    if (o->srv.tls_cert) {
        fprintf(f, "tls-cert = %s\n", o->srv.tls_cert);
    }
    if (o->srv.tls_key) {
        fprintf(f, "tls-key = %s\n", o->srv.tls_key);
    }
    if (o->socket_path) {
        fprintf(f, "socket = %s\n", o->socket_path);
    }
    fprintf(f, "sync = %s\n", o->idx.sync == IDX_SYNC_ALWAYS ? "always" : "batch");
    fprintf(f, "sync-ms = %u\n", (unsigned)o->idx.sync_ms);
    fprintf(f, "flush-bytes = %zu\n", o->idx.flush_bytes);
    fprintf(f, "flush-ms = %u\n", (unsigned)o->idx.flush_ms);
    fprintf(f, "merge-factor = %u\n", (unsigned)o->idx.merge_factor);
    fprintf(f, "bm25-k1 = %g\n", (double)o->idx.k1);
    fprintf(f, "bm25-b = %g\n", (double)o->idx.b);
    fprintf(f, "memory-limit = %llu\n", (unsigned long long)o->idx.memory_limit);
    if (o->idx.snapshot_dir) {
        fprintf(f, "snapshot-dir = %s\n", o->idx.snapshot_dir);
    } else {
        fprintf(f, "# snapshot-dir: none, snapshots off\n");
    }
    if (o->srv.workers) {
        fprintf(f, "workers = %u\n", o->srv.workers);
    } else {
        fprintf(f, "# workers: one per CPU\n");
    }
    fprintf(f, "max-request = %zu\n", o->srv.max_request);
    fprintf(f, "max-connections = %u\n", o->srv.max_connections);
    /* 0 in these means "derived from another setting" (srv_new): said as a comment */
    if (o->srv.max_line_connections) {
        fprintf(f, "max-line-connections = %u\n", o->srv.max_line_connections);
    } else {
        fprintf(f, "# max-line-connections: 3/4 of max-connections\n");
    }
    if (o->srv.max_http_connections) {
        fprintf(f, "max-http-connections = %u\n", o->srv.max_http_connections);
    } else {
        fprintf(f, "# max-http-connections: 3/4 of max-connections\n");
    }
    fprintf(f, "max-per-client = %u\n", o->srv.max_per_client);
    fprintf(f, "idle-timeout = %u\n", o->srv.idle_timeout_s);
    fprintf(f, "request-timeout = %u\n", o->srv.request_timeout_s);
    if (o->srv.max_unfinished) {
        fprintf(f, "max-unfinished = %zu\n", o->srv.max_unfinished);
    } else {
        fprintf(f, "# max-unfinished: 4 x max-request\n");
    }
    if (o->srv.cors_origins) {
        fprintf(f, "cors-origins = %s\n", o->srv.cors_origins);
    }
    fprintf(f, "web = %s\n", o->srv.web ? "on" : "off");
    if (o->srv.admin_keys) {
        fprintf(f, "admin-keys = %s\n", o->srv.admin_keys);
    }
    if (o->srv.search_keys) {
        fprintf(f, "search-keys = %s\n", o->srv.search_keys);
    }
    fprintf(f, "public-without-keys = %s\n", o->public_without_keys ? "on" : "off");
    fprintf(f, "log-level = %s\n", log_level_name(o->log_level));
    if (o->access_log) {
        fprintf(f, "access-log = %s\n", o->access_log);
    }
    fprintf(f, "log-queries = %s\n", o->srv.log_queries ? "on" : "off");
    if (o->srv.slow_ms >= 0) {
        fprintf(f, "slow-ms = %lld\n", (long long)o->srv.slow_ms);
    } else {
        fprintf(f, "slow-ms = off\n");
    }
}

/* --hash-key: a key on stdin (one line, the newline not part of it) -> its entry for
 * --admin-keys / --search-keys. The key itself is never printed or logged. */
static int run_hash_key(void)
{
    char key[PROTO_MAX_KEY + 2];
    if (!fgets(key, sizeof key, stdin)) {
        fprintf(stderr, "searchd: --hash-key: give the key on standard input\n");
        return 2;
    }
    size_t len = strcspn(key, "\r\n");
    if (len == 0 || len > PROTO_MAX_KEY) {
        fprintf(stderr, "searchd: --hash-key: a key is 1 to %d bytes\n", PROTO_MAX_KEY);
        return 2;
    }
    if (len < 16) {
        fprintf(stderr, "searchd: --hash-key: warning: a key this short can be guessed; "
                        "use 32 random characters (openssl rand -hex 16)\n");
    }
    unsigned char h[32];
    if (srv_hash_key(key, len, h)) {
        fprintf(stderr, "searchd: --hash-key: SHA-256 failed\n");
        return 1;
    }
    printf("sha256:");
    for (int i = 0; i < 32; i++) {
        printf("%02x", h[i]);
    }
    printf("\n");
    return 0;
}

/* A listener reachable from other machines: not loopback, not a Unix socket. */
static bool is_public(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct sd_error err;
    if (!addr || srv_parse_addr(addr, &ss, &len, &err)) {
        return false;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) != 127;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        return !IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return true;
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

/* Soft RLIMIT_NOFILE up to the hard limit: thousands of sockets must be
 * refused or evicted by our limits, not fail at accept with EMFILE. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
            log_info("event=nofile from=%llu to=%llu", (unsigned long long)was,
                     (unsigned long long)rl.rlim_cur);
        }
    }
}

/* What a SIGHUP reload needs: the command line to parse again (the config file it names is
 * read again first) and the settings in force. */
struct reload {
    int argc;
    char **argv;
    struct opts *live;
};

/* Settings that change without a restart; every other key is reported as needing one. */
static bool is_live_key(const char *line)
{
    return strncmp(line, "log-level ", 10) == 0 || strncmp(line, "cors-origins ", 13) == 0 ||
           strncmp(line, "admin-keys ", 11) == 0 || strncmp(line, "search-keys ", 12) == 0 ||
           strncmp(line, "access-log ", 11) == 0 || strncmp(line, "slow-ms ", 8) == 0 ||
           strncmp(line, "log-queries ", 12) == 0 ||
           strncmp(line, "tls-cert ", 9) == 0 || strncmp(line, "tls-key ", 8) == 0 ||
           strncmp(line, "# ", 2) == 0;
}

/* Logs each setting whose new value waits for a restart: the lines of --print-config's text
 * that differ and are not live. */
static void log_restart_keys(const struct opts *live, const struct opts *fresh)
{
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    FILE *fa = open_memstream(&a, &alen);
    FILE *fb = open_memstream(&b, &blen);
    if (fa && fb) {
        print_config(fa, live);
        print_config(fb, fresh);
    }
    if (fa) {
        fclose(fa);
    }
    if (fb) {
        fclose(fb);
    }
    for (char *line = b ? strtok(b, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        char want[256];
        snprintf(want, sizeof want, "\n%s\n", line);
        if (!is_live_key(line) && a && !strstr(a, want)) {
            log_warn("event=reload_needs_restart setting=\"%s\"", line);
        }
    }
    free(a);
    free(b);
}

/* The TLS listeners are bound at start; SIGHUP reloads their certificate. */
static bool has_tls(const struct opts *o)
{
    return o->tls_http || o->tls_line;
}

/* SIGHUP, on the loop thread: read the config file and flags again; apply the log level and
 * the CORS origins; keep everything as it was when the new settings do not parse. */
static void reload(struct srv *s, void *arg)
{
    struct reload *r = arg;
    struct opts *fresh = calloc(1, sizeof *fresh);
    if (!fresh) {
        log_error("event=reload_failed msg=\"out of memory\"");
        return;
    }
    sd_notify(0, "RELOADING=1");
    struct sd_error err = {0};
    if (parse_args(fresh, r->argc, r->argv) != 0) {
        log_error("event=reload_failed msg=\"the settings do not parse (above); nothing changed\"");
    } else if (srv_set_cors(s, fresh->srv.cors_origins, &err) ||
               srv_set_keys(s, fresh->srv.admin_keys, fresh->srv.search_keys, &err) ||
               (has_tls(r->live) &&
                srv_set_tls(s, fresh->srv.tls_cert, fresh->srv.tls_key, &err))) {
        struct sd_error ignored;
        /* all or nothing (the TLS context, last, changed only if it loaded) */
        srv_set_cors(s, r->live->srv.cors_origins, &ignored);
        srv_set_keys(s, r->live->srv.admin_keys, r->live->srv.search_keys, &ignored);
        log_error("event=reload_failed msg=\"%s; nothing changed\"", err.msg);
    } else {
        log_threshold = fresh->log_level;
        srv_set_slow_ms(s, fresh->srv.slow_ms);
        srv_set_log_queries(s, fresh->srv.log_queries);
        /* opened again even when the name is the same: logrotate moved the old file away */
        if (log_access_open(fresh->access_log)) {
            log_error("event=access_log_failed file=%s msg=\"%s\" (the old one is kept)",
                      fresh->access_log, strerror(errno));
        }
        log_restart_keys(r->live, fresh);
        /* always written, whatever the new level: it says the reload took */
        log_write(LOG_INFO, "event=reload config=%s log_level=%s",
                  fresh->config_path ? fresh->config_path : "-", log_level_name(fresh->log_level));
        /* the live settings are the new ones now; fresh keeps owning its strings */
        free_opts(r->live);
        *r->live = *fresh;
        if (fresh->line_addr == fresh->line_buf) {
            r->live->line_addr = r->live->line_buf;
        }
        fresh->nkept = 0;
    }
    free_opts(fresh);
    free(fresh);
    sd_notify(0, "READY=1");
}

/* An address for the ready line: "-" for a listener that is off. */
static const char *or_dash(const char *addr)
{
    return *addr ? addr : "-";
}

/* The engine's events (idx_config.log) into the log: its levels are log.h's. */
static void engine_log(void *arg, enum idx_log_level level, const char *line)
{
    (void)arg;
    log_at((enum log_level)level, "%s", line);
}

static int serve(struct opts *o, int argc, char **argv)
{
    bool has_keys = (o->srv.admin_keys && *o->srv.admin_keys) ||
                    (o->srv.search_keys && *o->srv.search_keys);
    if (!has_keys && !o->public_without_keys &&
        (is_public(addr_or_null(o->http_addr)) || is_public(addr_or_null(o->line_addr)) ||
         is_public(o->tls_http) || is_public(o->tls_line))) {
        fprintf(stderr, "searchd: listening on a non-loopback address with no API key: anyone "
                        "who reaches it could write and delete; configure admin-keys (searchd "
                        "--hash-key), or say public-without-keys = on\n");
        return 2;
    }
    raise_nofile();
    if (log_access_open(o->access_log)) {
        log_error("event=access_log_failed file=%s msg=\"%s\"", o->access_log, strerror(errno));
        return 1;
    }
    struct idx_config cfg = o->idx;
    cfg.data_dir = o->data_dir;
    cfg.log = engine_log;
    struct sd_error err = {0};
    struct idx_db *db = NULL;
    log_info("event=start version=%s data=%s sync=%s", SEARCHD_VERSION, o->data_dir,
             cfg.sync == IDX_SYNC_ALWAYS ? "always" : "batch");
    if (idx_open(&cfg, &db, &err)) {
        log_error("event=open_failed data=%s msg=\"%s\"", o->data_dir, err.msg);
        return 1;
    }
    o->srv.http_addr = addr_or_null(o->http_addr);
    o->srv.line_addr = addr_or_null(o->line_addr);
    o->srv.tls_http_addr = o->tls_http;
    o->srv.tls_line_addr = o->tls_line;
    o->srv.socket_path = o->socket_path;
    struct reload r = {argc, argv, o};
    o->srv.on_reload = reload;
    o->srv.reload_arg = &r;
    struct srv *s = NULL;
    if (srv_new(&o->srv, db, &s, &err)) {
        log_error("event=listen_failed msg=\"%s\"", err.msg);
        idx_close(db);
        return 1;
    }
    if (o->srv.http_addr) {
        log_info("event=listen proto=http addr=%s", srv_http_addr(s));
    }
    if (o->srv.line_addr) {
        log_info("event=listen proto=line addr=%s", srv_line_addr(s));
    }
    if (o->tls_http) {
        log_info("event=listen proto=https addr=%s", srv_tls_http_addr(s));
    }
    if (o->tls_line) {
        log_info("event=listen proto=line_tls addr=%s", srv_tls_line_addr(s));
    }
    if (o->socket_path) {
        log_info("event=listen proto=line addr=unix:%s", o->socket_path);
    }
    /* always written, whatever --log-level: scripts wait for it */
    log_write(LOG_INFO, "event=ready http=%s line=%s socket=%s pid=%ld https=%s line_tls=%s",
              or_dash(srv_http_addr(s)), or_dash(srv_line_addr(s)),
              o->socket_path ? o->socket_path : "-", (long)getpid(),
              or_dash(srv_tls_http_addr(s)), or_dash(srv_tls_line_addr(s)));
    /* systemd (Type=notify): ready means every index open and every listener bound. Without
     * NOTIFY_SOCKET (not under systemd) this does nothing. */
    sd_notifyf(0, "READY=1\nSTATUS=serving http=%s line=%s", srv_http_addr(s), srv_line_addr(s));
    srv_run(s);
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: flushing indexes");
    srv_free(s);
    idx_close(db); /* every acknowledged write is already durable; this stops threads */
    log_info("event=stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_args(&o, argc, argv);
    log_threshold = o.log_level;
    if (rc == 0) {
        if (o.print_config) {
            print_config(stdout, &o);
        } else {
            rc = o.hash_key     ? run_hash_key()
                 : o.repair_dir ? run_repair(o.repair_dir)
                 : o.check_dir  ? run_check(o.check_dir)
                                : serve(&o, argc, argv);
        }
    }
    free_opts(&o);
    return rc < 0 ? 0 : rc;
}
