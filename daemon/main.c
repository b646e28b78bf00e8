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
 * The settings the flags and the config file make are conf_opts.c's (daemon/conf/); this
 * file runs the command they choose, and reloads them on SIGHUP.
 */
#include <errno.h>
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

/* --hash-key: a key on stdin (one line, its LF or CRLF end not part of it) -> its entry for
 * --admin-keys / --search-keys. A key no client could send as it is (srv_check_key: a space
 * at an end, a tab, a byte not ASCII) is refused, saying why, rather than hashed into an entry
 * no client's key matches. The key itself is never printed or logged. */
static int run_hash_key(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin); /* not fgets: a NUL in the line is seen */
    if (n <= 0) {
        free(line);
        fprintf(stderr, "searchd: --hash-key: give the key on standard input\n");
        return 2;
    }
    size_t len = (size_t)n;
    if (line[len - 1] == '\n') {
        len--;
    }
    if (len > 0 && line[len - 1] == '\r') {
        len--; /* a CRLF line end: a file written on Windows */
    }
    struct sd_error err = {0};
    int rc = 2;
    if (srv_check_key(line, len, &err)) {
        fprintf(stderr, "searchd: --hash-key: %s\n", err.msg);
        goto out;
    }
    if (len < 16) {
        fprintf(stderr, "searchd: --hash-key: warning: a key this short can be guessed; "
                        "use 32 random characters (openssl rand -hex 16)\n");
    }
    unsigned char h[32];
    if (srv_hash_key(line, len, h)) {
        fprintf(stderr, "searchd: --hash-key: SHA-256 failed\n");
        rc = 1;
        goto out;
    }
    printf("sha256:");
    for (int i = 0; i < 32; i++) {
        printf("%02x", h[i]);
    }
    printf("\n");
    rc = 0;
out:
    free(line);
    return rc;
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
    return !srv_addr_is_loopback((const struct sockaddr *)&ss);
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
    struct conf_opts *live;
};

/* True when keys (the settings giving the API keys) configure none while a listener of listen
 * (the settings that bound them) is on a non-loopback address, and listen did not say
 * public-without-keys = on: anyone who reaches the server could write and delete. Refused at
 * start, and on SIGHUP, where a key list emptied by an edit would otherwise turn keys off for
 * every client of a public server. */
static bool is_public_without_keys(const struct conf_opts *listen, const struct conf_opts *keys)
{
    bool has_keys = (keys->srv.admin_keys && *keys->srv.admin_keys) ||
                    (keys->srv.search_keys && *keys->srv.search_keys);
    return !has_keys && !listen->public_without_keys &&
           (is_public(conf_listener(listen->http_addr)) ||
            is_public(conf_listener(listen->line_addr)) || is_public(listen->tls_http) ||
            is_public(listen->tls_line));
}

/* Keys on with search keys only: every client may read and none may ever write, change
 * settings or take a snapshot, which nothing else says (each write is only "forbidden").
 * Warned at start and at each SIGHUP that leaves it so. */
static void warn_if_no_admin_key(const struct conf_opts *o)
{
    if (!srv_list_begin(o->srv.admin_keys) && srv_list_begin(o->srv.search_keys)) {
        log_warn("event=no_admin_key msg=\"only search keys are configured: no client can add, "
                 "delete, change an index or take a snapshot; to allow it, add an admin key "
                 "(admin-keys = the sha256: line searchd --hash-key prints for a new key) and "
                 "reload (SIGHUP)\"");
    }
}

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
static void log_restart_keys(const struct conf_opts *live, const struct conf_opts *fresh)
{
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    FILE *fa = open_memstream(&a, &alen);
    FILE *fb = open_memstream(&b, &blen);
    if (fa && fb) {
        conf_opts_print(fa, live);
        conf_opts_print(fb, fresh);
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
static bool has_tls(const struct conf_opts *o)
{
    return o->tls_http || o->tls_line;
}

/* Opens the access log at path (NULL: none) again, even under the same name: SIGHUP is
 * logrotate's way to say it moved the file away (packaging/logrotate). On failure the file
 * open before is kept. */
static void reopen_access_log(const char *path)
{
    if (log_access_open(path)) {
        log_error("event=access_log_failed file=%s msg=\"%s\" (the old one is kept)", path,
                  strerror(errno));
    }
}

/* SIGHUP, on the loop thread: read the config file and flags again; apply the log level and
 * the CORS origins; keep everything as it was when the new settings do not parse, but open
 * the access log again in any case: logrotate's SIGHUP must not depend on the config file
 * being sound at that moment, or searchd would go on writing into the file moved away. */
static void reload(struct srv *s, void *arg)
{
    struct reload *r = arg;
    struct conf_opts *fresh = calloc(1, sizeof *fresh);
    if (!fresh) {
        log_error("event=reload_failed msg=\"out of memory\"");
        return;
    }
    sd_notify(0, "RELOADING=1");
    struct sd_error err = {0};
    bool is_taken = false;
    if (conf_opts_parse(fresh, r->argc, r->argv, stderr) != 0) {
        log_error("event=reload_failed msg=\"the settings do not parse (above); nothing changed\"");
    } else if (is_public_without_keys(r->live, fresh)) {
        log_error("event=reload_failed msg=\"the settings configure no API key, and searchd "
                  "listens on a non-loopback address: anyone who reaches it could write and "
                  "delete; nothing changed (keep a key, or set public-without-keys = on and "
                  "restart)\"");
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
        reopen_access_log(fresh->access_log);
        is_taken = true;
        log_restart_keys(r->live, fresh);
        warn_if_no_admin_key(fresh);
        /* always written, whatever the new level: it says the reload took */
        log_write(LOG_INFO, "event=reload config=%s log_level=%s",
                  fresh->config_path ? fresh->config_path : "-", log_level_name(fresh->log_level));
        /* the live settings are the new ones now; fresh keeps owning its strings */
        conf_opts_free(r->live);
        *r->live = *fresh;
        if (fresh->line_addr == fresh->line_buf) {
            r->live->line_addr = r->live->line_buf;
        }
        fresh->nkept = 0;
    }
    if (!is_taken) {
        reopen_access_log(r->live->access_log); /* the settings in force: the same file */
    }
    conf_opts_free(fresh);
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

static int serve(struct conf_opts *o, int argc, char **argv)
{
    if (is_public_without_keys(o, o)) {
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
    o->srv.http_addr = conf_listener(o->http_addr);
    o->srv.line_addr = conf_listener(o->line_addr);
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
    warn_if_no_admin_key(o);
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
    struct conf_opts o;
    int rc = conf_opts_parse(&o, argc, argv, stderr);
    log_threshold = o.log_level;
    if (rc == 0) {
        if (o.print_config) {
            conf_opts_print(stdout, &o);
        } else {
            rc = o.hash_key     ? run_hash_key()
                 : o.repair_dir ? run_repair(o.repair_dir)
                 : o.check_dir  ? run_check(o.check_dir)
                                : serve(&o, argc, argv);
        }
    }
    conf_opts_free(&o);
    return rc < 0 ? 0 : rc;
}
