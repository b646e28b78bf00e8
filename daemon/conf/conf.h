/*
 * conf.h: searchd's settings: the configuration file, and the flags and keys that fill
 * struct conf_opts (prefix conf_; README "Operating").
 *
 * An INI file read with libinih. Every command-line flag of searchd has a key of the same
 * name without its dashes (`max-connections = 200`); keys sit in a [searchd] section or before
 * any section; `#` and `;` start comments. The daemon reads the file first and its flags after,
 * so a flag overrides the file. conf_load() knows nothing of the keys themselves: it hands each
 * pair to the caller's apply function, so the file and the command line share one parser per
 * option and one set of checks, and an error is reported as FILE:LINE: message.
 */
#ifndef SEARCHD_CONF_H
#define SEARCHD_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "idx.h"
#include "log.h"
#include "sd_base.h"
#include "srv.h"

/* Longest line accepted; libinih's fixed line buffer is this big, and a longer line would be
 * split silently, so conf_load refuses it by line number instead. */
#define CONF_MAX_LINE 199

/* Applies one key = value (both borrowed for the call); is_repeat when an earlier line set the
 * same key (a list may take one entry a line; any other key set twice is the apply function's
 * error to give). Returns SD_OK, or an error code with err->msg saying what is wrong without a
 * location (conf_load prefixes FILE:LINE). */
typedef int (*conf_apply_fn)(void *user, const char *key, const char *value, bool is_repeat,
                             struct sd_error *err);

/* Reads the file at path (borrowed) and calls apply for every key in order. `;` and `#` start
 * a comment at the start of a line or after a space, so a value neither begins with one nor
 * holds one after a space. An unknown section, a line without `=`, an over-long line, a file
 * that is not UTF-8 text, and any error apply returns stop the load: SD_EINVAL with
 * "FILE:LINE: message" in err. A file that cannot be read is SD_EIO / SD_ENOTFOUND naming it;
 * anything but a regular file (a directory, a FIFO, a device) is SD_EINVAL naming it and its
 * kind, before a byte of it is read. */
int conf_load(const char *path, conf_apply_fn apply, void *user, struct sd_error *err);

/* ---- the settings (conf_opts.c) ---- */

/* Every setting of searchd, as the three sources left it. */
struct conf_opts {
    const char *data_dir;
    const char *http_addr;
    const char *line_addr;
    char line_buf[80];
    const char *socket_path;
    const char *check_dir;
    const char *config_path;  /* --config FILE, read before the flags */
    bool print_config;        /* --print-config: show the effective values and exit */
    bool hash_key;            /* --hash-key: print the sha256 entry of a key read from stdin */
    bool public_without_keys; /* a non-loopback listener may run with keys off */
    const char *repair_dir;   /* --repair DIR */
    const char *access_log;   /* --access-log FILE or "-"; NULL: none */
    const char *tls_http;     /* --tls-listen; NULL: none */
    const char *tls_line;     /* --tls-line-listen; NULL: none */
    struct idx_config idx;    /* engine settings; data_dir set in serve() */
    struct srv_config srv;
    enum log_level log_level;
    const char *name; /* the option being applied, as the user wrote it: "--sync" or "sync" */
    char err[320];    /* why it was refused: "NAME VALUE: want ..." */
    FILE *errs;       /* where conf_opts_parse reports problems (borrowed) */
    char *kept[64];   /* values from the config file, owned (strings in here point to them) */
    size_t nkept;
};

/* Defaults, then the config file named by --config, then the flags of argv (argc entries,
 * argv[0] the program; getopt may permute them): each later source overrides. Returns 0; 2
 * for a bad flag or config, reported on errs (borrowed; stored in o->errs); or -1 when --help
 * or --version was printed on stdout. o is the caller's, and conf_opts_free() releases what it
 * holds, whatever the result. */
int conf_opts_parse(struct conf_opts *o, int argc, char **argv, FILE *errs);
void conf_opts_free(struct conf_opts *o);
/* --print-config: the effective settings, as a config file that reproduces them. */
void conf_opts_print(FILE *f, const struct conf_opts *o);
/* The address of a listener (o->http_addr, o->line_addr): NULL when it is "off" or not given. */
const char *conf_listener(const char *addr);

#endif
