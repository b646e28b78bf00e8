/*
 * conf_opts.c: searchd's settings from its three sources: the defaults, the config file
 * (conf_load) and the flags, each later one overriding (conf.h).
 *
 * Every setting is a long option (long_opts); a config key is the option's name without its
 * dashes, and both reach apply_value(), so a value is checked the same way wherever it comes
 * from and is refused as "NAME VALUE: want ...". A setting's value must also be one a config
 * file can hold, so that --print-config always writes a file that gives the same settings; the
 * lists (cors-origins, admin-keys, search-keys) may take an entry a line in the file. Options
 * that are commands (--check, --help) or name the file itself (--config) have no key.
 *
 * Every check of one value runs in apply_value(), the one path from a file's line (conf_load
 * puts FILE:LINE in front of the message) and from a flag (named in the message), never later:
 * a value that only srv_new would refuse would stop the daemon after it made and locked its
 * data directory, with no line to point at. So the listener addresses go through
 * srv_parse_addr and the lists' entries through srv_check_cors and srv_check_keys, the
 * server's own rules, as they are read. Only checks that span settings (listeners, TLS,
 * max-unfinished) run once every source is applied, and files (certificates, snapshot-dir) are
 * opened by the server.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "stem.h"

/* --help. One line of the text per line of code: */
/* clang-format off */
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
            "  --bm25-k1 X, --bm25-b X BM25 parameters: k1 0 to 100 (default 1.2), b 0 to 1\n"
            "                          (default 0.75); held as floats, to about 7 digits\n"
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
            "  --max-unsent BYTES      answer bytes not yet taken by clients, all connections:\n"
            "                          over it searches and gets wait (default 4 x --max-request)\n"
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
/* clang-format on */

/* A command-line problem that is no single option's value; returns 2 (the exit status). */
__attribute__((format(printf, 2, 3))) static int usage_error(const struct conf_opts *o,
                                                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(o->errs, "searchd: ");
    vfprintf(o->errs, fmt, ap);
    fprintf(o->errs, "\n(see searchd --help)\n");
    va_end(ap);
    return 2;
}

/* A refused value as a message shows it: its first 64 bytes or so, cut at a character's first
 * byte ("..." after a cut), with each control byte, and each byte over 0x7F of a value that is
 * not UTF-8, written \xHH, so that a message never carries what drives a terminal or breaks a
 * log line. out: at least 72 bytes. */
static void shown_value(const char *arg, char *out, size_t cap)
{
    bool utf8 = stem_utf8_valid(arg, strlen(arg));
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)arg; *p; p++) {
        bool escape = *p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8);
        if (n >= 64 && (escape || (*p & 0xC0) != 0x80)) {
            snprintf(out + n, cap - n, "...");
            return;
        }
        if (escape) {
            n += (size_t)snprintf(out + n, cap - n, "\\x%02X", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
}

/* The value of the option being applied (o->name) is refused: records why in o->err for the
 * caller to report with the value's origin (a flag or FILE:LINE); returns 2. */
static int bad_value(struct conf_opts *o, const char *arg, const char *want)
{
    char shown[80];
    shown_value(arg, shown, sizeof shown);
    snprintf(o->err, sizeof o->err, "%s %s: %s", o->name, shown, want);
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

/* The least nonzero BM25 parameter taken. The engine holds k1 and b as floats, whose least
 * normal value is FLT_MIN (1.2e-38): below it a float loses digits, and 1e-300 becomes 0, a
 * setting other than the one given (k1 = 0 ignores term frequency). Such a value is refused
 * rather than changed; the bound is FLT_MIN rounded up to a number the message can say. */
#define CONF_BM25_MIN 1e-37

/* --bm25-k1 0, or CONF_BM25_MIN to 100; --bm25-b the same up to 1. Held as a float, to about
 * 7 digits: print_float writes the float held, in the fewest digits that read back to it. */
static int parse_bm25(struct conf_opts *o, bool is_k1, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 0) || v > (is_k1 ? 100 : 1) || (v != 0 && v < CONF_BM25_MIN)) {
        return bad_value(o, arg, is_k1 ? "want 0, or 1e-37 to 100" : "want 0, or 1e-37 to 1");
    }
    float held = v == 0 ? 0.0f : (float)v; /* "-0" is 0 */
    if (is_k1) {
        o->idx.k1 = held;
    } else {
        o->idx.b = held;
    }
    return 0;
}

static bool is_off(const char *addr)
{
    return addr && strcmp(addr, "off") == 0;
}

const char *conf_listener(const char *addr)
{
    return addr && !is_off(addr) ? addr : NULL;
}

/* A listener's address into *out: HOST:PORT, or off when may_be_off (--listen, --line-listen;
 * the TLS listeners are off when not given). Checked here, as it is read, so that a bad one is
 * refused with its line or flag. Returns 0 or 2. */
static int parse_listener(struct conf_opts *o, const char *arg, bool may_be_off, const char **out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct sd_error err;
    if (!(may_be_off && is_off(arg)) && srv_parse_addr(arg, &ss, &len, &err)) {
        snprintf(o->err, sizeof o->err, "%s: %s", o->name, err.msg);
        return 2;
    }
    *out = arg;
    return 0;
}

/* The line protocol defaults to the HTTP host and port + 1 (port 0 stays 0). */
static int default_line_addr(struct conf_opts *o)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct sd_error err;
    if (srv_parse_addr(o->http_addr, &ss, &len, &err)) {
        return usage_error(o, "listen %s: %s", o->http_addr, err.msg);
    }
    const char *colon = strrchr(o->http_addr, ':');
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);
    if (port == 65535) {
        return usage_error(o, "listen %s: no port after it for the line protocol; give line-listen",
                           o->http_addr);
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
    OPT_MAX_UNSENT,
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
    {"max-unsent", required_argument, NULL, OPT_MAX_UNSENT},
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
static int parse_conn_limit(struct conf_opts *o, int c, const char *arg)
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
static int apply_opt(struct conf_opts *o, int c, const char *arg)
{
    uint64_t v;
    switch (c) {
    case OPT_DATA:
        if (*arg == '\0') {
            return bad_value(o, arg, "want a directory");
        }
        o->data_dir = arg;
        return 0;
    case OPT_LISTEN:
        return parse_listener(o, arg, true, &o->http_addr);
    case OPT_LINE:
        return parse_listener(o, arg, true, &o->line_addr);
    case OPT_SOCKET:
        if (*arg == '\0') { /* bind() would give it an unreachable autobind address */
            return bad_value(o, arg, "want a socket path");
        }
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
        o->srv.cors_origins = arg; /* checked by apply_value, with srv_new's rules */
        return 0;
    case OPT_ADMIN_KEYS:
        o->srv.admin_keys = arg;
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
    case OPT_TLS_KEY:
        if (*arg == '\0') {
            return bad_value(o, arg, "want a file name");
        }
        if (c == OPT_TLS_CERT) {
            o->srv.tls_cert = arg; /* both loaded by srv_new */
        } else {
            o->srv.tls_key = arg;
        }
        return 0;
    case OPT_TLS_LISTEN:
        return parse_listener(o, arg, false, &o->tls_http);
    case OPT_TLS_LINE:
        return parse_listener(o, arg, false, &o->tls_line);
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
        if (*arg == '\0') {
            return bad_value(o, arg, "want a directory (leave the setting out for none)");
        }
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
            return bad_value(o, arg, "want 64 to 1024g bytes"); /* no t suffix */
        }
        o->srv.max_unfinished = (size_t)v;
        return 0;
    case OPT_MAX_UNSENT:
        if (!parse_u64(arg, true, 64, 1ull << 40, &v)) {
            return bad_value(o, arg, "want 64 to 1024g bytes"); /* no t suffix */
        }
        o->srv.max_unsent = (size_t)v;
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

/* The list settings: a config file may give them one entry a line, each line adding to the
 * list (a line holds at most CONF_MAX_LINE bytes); NULL for any other option. */
static const char **list_of(struct conf_opts *o, int c)
{
    switch (c) {
    case OPT_CORS:
        return &o->srv.cors_origins;
    case OPT_ADMIN_KEYS:
        return &o->srv.admin_keys;
    case OPT_SEARCH_KEYS:
        return &o->srv.search_keys;
    default:
        return NULL;
    }
}

/* Why v[0, len) could not stand as a value in a config file (conf.h), so that --print-config
 * could not write it back; NULL when it can. max_len: what a line leaves for the value. */
static const char *unwritable(const char *v, size_t len, size_t max_len)
{
    if (len > max_len) {
        return "too long for a line of a config file";
    }
    for (size_t i = 0; i < len; i++) { /* first: a CR or tab is one, though isspace too */
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 || ch == 0x7f) {
            return "a control character";
        }
    }
    if (!stem_utf8_valid(v, len)) { /* conf.c refuses such a line */
        return "not UTF-8 text";
    }
    if (len > 0 && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[len - 1]))) {
        return "a space at either end";
    }
    if (len > 0 && (v[0] == ';' || v[0] == '#')) {
        return "begins with ; or #, which start a comment";
    }
    for (size_t i = 1; i < len; i++) {
        if ((v[i] == ';' || v[i] == '#') && isspace((unsigned char)v[i - 1])) {
            return "; or # after a space, which starts a comment";
        }
    }
    return NULL;
}

/* Whether a list has no entry (NULL or blank): the list setting is off. */
static bool is_blank(const char *list)
{
    return srv_list_begin(list) == NULL;
}

/* A list setting's value (cors-origins, admin-keys, search-keys): every entry one a config
 * line can hold, then the server's own rules for the whole list (srv_check_cors,
 * srv_check_keys: each entry, none empty, how many). Entries are named by their number; a key
 * list's are never quoted (a key pasted where its hash belongs is a secret). Returns 0 or 2. */
static int check_list(struct conf_opts *o, const struct option *opt, const char *list)
{
    size_t max_len = CONF_MAX_LINE - strlen(opt->name) - 3; /* "name = entry" */
    bool is_keys = opt->val != OPT_CORS;
    const char *p = srv_list_begin(list);
    const char *e;
    size_t n;
    for (size_t i = 1; srv_list_next(&p, &e, &n); i++) {
        const char *why = unwritable(e, n, max_len);
        if (why && is_keys) {
            snprintf(o->err, sizeof o->err, "%s: entry %zu: %s", o->name, i, why);
            return 2;
        }
        if (why) {
            return bad_value(o, list, why);
        }
    }
    struct sd_error err;
    int rc = is_keys ? srv_check_keys(list, o->name, &err) : srv_check_cors(list, o->name, &err);
    if (rc) {
        snprintf(o->err, sizeof o->err, "%s", err.msg);
        return 2;
    }
    return 0;
}

/* apply_opt() for a setting's value that a config file can hold: every setting in force can
 * be printed by --print-config and read back. A list is checked entry by entry; a command's
 * argument (--check DIR) is no setting. */
static int apply_value(struct conf_opts *o, const struct option *opt, const char *arg)
{
    if (is_command_opt(opt->val)) {
        return apply_opt(o, opt->val, arg);
    }
    if (arg && list_of(o, opt->val)) {
        int rc = check_list(o, opt, arg);
        return rc ? rc : apply_opt(o, opt->val, arg);
    }
    size_t max_len = CONF_MAX_LINE - strlen(opt->name) - 3; /* "name = value" */
    const char *why = arg ? unwritable(arg, strlen(arg), max_len) : NULL;
    return why ? bad_value(o, arg, why) : apply_opt(o, opt->val, arg);
}

/* conf_load's apply function: a config key is a long option's name. The value is copied,
 * since the options keep pointers to their strings; a list's next line is joined to it. */
static int apply_key(void *user, const char *key, const char *value, bool is_repeat,
                     struct sd_error *err)
{
    struct conf_opts *o = user;
    const struct option *opt = long_opts;
    while (opt->name && strcmp(opt->name, key) != 0) {
        opt++;
    }
    if (!opt->name || is_command_opt(opt->val) || opt->has_arg != required_argument) {
        return sd_errorf(err, SD_EINVAL, "unknown key '%s'", key);
    }
    const char **list = list_of(o, opt->val);
    if (is_repeat && !list) {
        return sd_errorf(err, SD_EINVAL, "%s is set twice", key);
    }
    o->name = key;
    const char *prev = is_repeat ? *list : NULL; /* the list so far, from earlier lines */
    const char *before = is_blank(prev) ? NULL : prev;
    if (list) {
        /* this line's entries first, numbered from the line's first: the joined list that
         * apply_value checks can then fail only on its length */
        if (before && is_blank(value)) {
            return sd_errorf(err, SD_EINVAL, "%s: an empty entry (the line adds nothing)", key);
        }
        if (check_list(o, opt, value)) {
            return sd_errorf(err, SD_EINVAL, "%s", o->err);
        }
    }
    char **slot = NULL; /* the list so far, replaced by the longer one */
    for (size_t i = 0; prev && i < o->nkept && !slot; i++) {
        slot = o->kept[i] == prev ? &o->kept[i] : NULL;
    }
    if (!slot && o->nkept == sizeof o->kept / sizeof *o->kept) {
        return sd_errorf(err, SD_ELIMIT, "too many keys");
    }
    char *copy = NULL;
    if (asprintf(&copy, "%s%s%s", before ? before : "", before ? "," : "", value) < 0) {
        return sd_errorf(err, SD_ENOMEM, "out of memory");
    }
    if (apply_value(o, opt, copy)) {
        free(copy); /* nothing points to it: a refused value is not applied */
        return sd_errorf(err, SD_EINVAL, "%s", o->err);
    }
    if (slot) {
        free(*slot);
        *slot = copy;
    } else {
        o->kept[o->nkept++] = copy;
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

/* At least one listener is on (parse_listener checked each address as it was read), and the
 * TLS options come together: a TLS listener needs a certificate and key, and these need a TLS
 * listener. Returns 0 or 2 (reported). */
static int check_listeners(struct conf_opts *o)
{
    bool any = o->socket_path || conf_listener(o->http_addr) || conf_listener(o->line_addr) ||
               o->tls_http || o->tls_line;
    if (is_off(o->http_addr) && !o->line_addr) {
        return usage_error(o, "listen off: give line-listen too (an address, or off)");
    }
    if (!any) {
        return usage_error(o, "every listener is off: nothing to serve");
    }
    bool has_tls = o->tls_http || o->tls_line;
    bool has_cert = o->srv.tls_cert || o->srv.tls_key;
    if (has_tls && (!o->srv.tls_cert || !o->srv.tls_key)) {
        return usage_error(o, "tls-listen, tls-line-listen: need tls-cert and tls-key");
    }
    if (has_cert && !has_tls) {
        return usage_error(o, "tls-cert, tls-key: no TLS listener (tls-listen, tls-line-listen)");
    }
    return 0;
}

int conf_opts_parse(struct conf_opts *o, int argc, char **argv, FILE *errs)
{
    memset(o, 0, sizeof *o);
    o->errs = errs;
    optind = 0; /* getopt starts afresh: a SIGHUP reload parses the command line again */
    o->log_level = LOG_INFO;
    srv_config_default(&o->srv);
    idx_config_default(&o->idx);
    o->data_dir = "./searchd-data";
    o->http_addr = SRV_DEFAULT_HTTP;
    o->config_path = find_config(argc, argv);
    if (o->config_path) {
        struct sd_error err = {0};
        int rc = conf_load(o->config_path, apply_key, o, &err);
        o->name = NULL; /* it pointed into libinih's buffer */
        if (rc) {
            fprintf(errs, "searchd: %s\n", err.msg);
            return 2;
        }
    }
    opterr = 1;
    int c;
    int idx = -1;
    char name[40];
    while ((c = getopt_long(argc, argv, "", long_opts, &idx)) != -1) {
        if (c == '?') {
            return usage_error(o, "unknown option or missing value");
        }
        snprintf(name, sizeof name, "--%s", long_opts[idx].name);
        o->name = name;
        int rc = apply_value(o, &long_opts[idx], optarg);
        if (rc > 0) {
            fprintf(errs, "searchd: %s\n(see searchd --help)\n", o->err);
        }
        if (rc) {
            return rc;
        }
    }
    o->name = NULL; /* it pointed into name[] */
    if (optind < argc) {
        return usage_error(o, "unexpected argument '%s'", argv[optind]);
    }
    if (o->check_dir && o->repair_dir) {
        return usage_error(o, "--check and --repair: one at a time");
    }
    if (o->check_dir || o->repair_dir) {
        return 0;
    }
    int rc = check_listeners(o);
    if (rc) {
        return rc;
    }
    if (o->srv.max_unfinished && o->srv.max_unfinished < o->srv.max_request) {
        return usage_error(o, "max-unfinished: must be at least max-request");
    }
    return o->line_addr || is_off(o->http_addr) ? 0 : default_line_addr(o);
}

void conf_opts_free(struct conf_opts *o)
{
    for (size_t i = 0; i < o->nkept; i++) {
        free(o->kept[i]);
    }
}

/* A float setting (bm25-k1, bm25-b) in the fewest significant digits that read back, through
 * parse_bm25's strtod and float, to the very float held: 1.2 for 1.2f, not %g's fixed 6
 * digits (0.123456789 came back as 0.123457, another setting) nor %.9g's 1.20000005. Nine
 * digits (FLT_DECIMAL_DIG) always read back, so the loop ends by then. */
static void print_float(FILE *f, const char *key, float v)
{
    char text[32];
    for (int digits = 1; digits <= FLT_DECIMAL_DIG; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)v);
        if ((float)strtod(text, NULL) == v) {
            break;
        }
    }
    fprintf(f, "%s = %s\n", key, text);
}

/* A list setting one entry a line, as a config file may give it (apply_key joins them); none
 * for an empty list, which is the default. */
static void print_list(FILE *f, const char *key, const char *list)
{
    const char *p = srv_list_begin(list);
    const char *e;
    size_t n;
    while (srv_list_next(&p, &e, &n)) {
        fprintf(f, "%s = %.*s\n", key, (int)n, e);
    }
}

void conf_opts_print(FILE *f, const struct conf_opts *o)
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
    print_float(f, "bm25-k1", o->idx.k1);
    print_float(f, "bm25-b", o->idx.b);
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
    if (o->srv.max_unsent) {
        fprintf(f, "max-unsent = %zu\n", o->srv.max_unsent);
    } else {
        fprintf(f, "# max-unsent: 4 x max-request\n");
    }
    print_list(f, "cors-origins", o->srv.cors_origins);
    fprintf(f, "web = %s\n", o->srv.web ? "on" : "off");
    print_list(f, "admin-keys", o->srv.admin_keys);
    print_list(f, "search-keys", o->srv.search_keys);
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
