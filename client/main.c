/*
 * main.c: searchq's command line: options, then a command or the words of a query.
 *
 * Options come first. The first word that is not an option is a command name (search, import,
 * get, delete, stats, health, indexes, settings, create, drop, snapshot) or the first word of a
 * query; all words of a query are joined with spaces, and none of them is taken as an option, so
 * that `searchq war -peace` searches for "war -peace" (an exclusion). The named commands accept
 * options after their name as well. `searchq search WORDS...` searches for words that happen to be
 * a command name. A search with --filter, --sort or --facets may have no words at all: it browses
 * (every document that passes the filter, in sort order).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

static const char main_usage[] =
    "usage: searchq [OPTIONS] QUERY...            search; the words are joined by spaces\n"
    "       searchq [OPTIONS] search QUERY...\n"
    "       searchq [OPTIONS] import FILE...      add .jsonl (a JSON document a line), .json (an\n"
    "                      array of documents, or one), .csv (a header row, then a document\n"
    "                      a row), .txt, .md\n"
    "       searchq [OPTIONS] get ID              print a stored document\n"
    "       searchq [OPTIONS] delete ID...        delete documents (several: in one write)\n"
    "       searchq [OPTIONS] stats\n"
    "       searchq [OPTIONS] health\n"
    "       searchq [OPTIONS] indexes               list the indexes\n"
    "       searchq [OPTIONS] settings NAME         print an index's settings and stats\n"
    "       searchq [OPTIONS] settings NAME JSON    set them (JSON text, or @FILE); creates NAME\n"
    "       searchq [OPTIONS] settings --merge NAME JSON  change only what JSON names (a merge\n"
    "                      patch of the settings in force: null removes a member)\n"
    "       searchq [OPTIONS] create NAME [JSON]    create the index NAME (settings optional)\n"
    "       searchq [OPTIONS] drop NAME             drop the index NAME and all its documents\n"
    "       searchq [OPTIONS] snapshot NAME [SNAP]  copy the index NAME, while it serves, into\n"
    "                      SNAP under searchd's --snapshot-dir (default NAME-YYYYMMDD-HHMMSS,\n"
    "                      UTC); an admin key's op\n"
    "options:\n"
    "  --server HOST:PORT  searchd's line-protocol address (default " SQ_DEFAULT_ADDRESS ")\n"
    "  --socket PATH       connect to searchd's Unix socket instead\n"
    "  --tls               TLS to the server (searchd --tls-line-listen); the certificate\n"
    "                      must be trusted by the system and name the --server host\n"
    "  --tls-ca FILE       trust the certificates in FILE (PEM) instead of the system's\n"
    "                      (a private CA, or the server's self-signed certificate)\n"
    "  --tls-insecure      TLS without checking the certificate (testing only)\n"
    "  --index NAME        the index to use (default: the server's \"default\")\n"
    "  --limit N           how many hits to show (server default 10, at most 1000)\n"
    "  --offset N          how many hits to skip first (paging)\n"
    "  --syntax simple|full  how the query is read (default simple: any text is searched,\n"
    "                      stray quotes, parentheses and operators are taken as text;\n"
    "                      full: the strict query language, errors on mistakes)\n"
    "  --proximity on|off|W  rank hits where the words stand together, in the order typed,\n"
    "                      above those where they are scattered (default on; W: the weight,\n"
    "                      0 to 1000, on is the server's 0.35)\n"
    "  --typo on|off       off: no near spellings when the words find little (default on,\n"
    "                      the server's; an index's settings may turn them off for good)\n"
    "  --layout on|off     off: no reading in the other keyboard layout (default on)\n"
    "  --drop-words on|off off: when no document has every word, show none instead of\n"
    "                      those with most of them (default on, the server's)\n"
    "  --weights LIST      field weights for this search, e.g. 'title:3,body:1'\n"
    "                      (default: the index's, title 2 and other fields 1)\n"
    "  --highlight         show the best fragments with the matched words marked\n"
    "  --snippet-len N     bytes of each fragment (16 to 4096)\n"
    "  --fragments N       how many fragments per hit (1 to 5)\n"
    "  --filter F          only documents that pass F, e.g. 'year:2000..2010 lang:ru'\n"
    "                      (declared attributes; no words needed: then it browses)\n"
    "  --sort S            order by attributes, e.g. 'year:desc,title' (default relevance)\n"
    "  --facets LIST       counts per value, e.g. 'lang,year:interval=10' (comma-separated)\n"
    "  --fields LIST       stored fields to show with each hit, e.g. 'year,authors'\n"
    "  --json              print the server's JSON answer as it is\n"
    "  --busy-wait S       import: how long to keep sending a batch the server refuses as\n"
    "                      busy (over its memory limit) again, after growing pauses, before\n"
    "                      giving up (default 300 seconds; 0: give up at once)\n"
    "  --key KEY           API key, when the server has keys on (better: $SEARCHQ_KEY,\n"
    "                      which other users cannot see in the process list)\n"
    "  --version           print searchq's version\n"
    "  -h, --help          show this text\n"
    "query language: words (all must match), a OR b, -word, \"exact phrase\", prefix*;\n"
    "  --syntax full adds field:word (e.g. title:diplomacy) and parentheses\n"
    "exit status: 0 ok; 1 the server answered an error, health found it degraded, or an\n"
    "  input file is bad; 2 usage; 3 cannot connect to searchd, or the connection broke\n";

enum main_opt {
    MAIN_SERVER = 256,
    MAIN_SOCKET,
    MAIN_INDEX,
    MAIN_LIMIT,
    MAIN_OFFSET,
    MAIN_JSON,
    MAIN_SYNTAX,
    MAIN_PROXIMITY,
    MAIN_TYPO,
    MAIN_LAYOUT,
    MAIN_HIGHLIGHT,
    MAIN_SNIPPET_LEN,
    MAIN_FRAGMENTS,
    MAIN_KEY,
    MAIN_FILTER,
    MAIN_SORT,
    MAIN_FACETS,
    MAIN_FIELDS,
    MAIN_VERSION,
    MAIN_TLS,
    MAIN_TLS_CA,
    MAIN_TLS_INSECURE,
    MAIN_BUSY_WAIT,
    MAIN_MERGE,
    MAIN_DROP_WORDS,
    MAIN_WEIGHTS,
};

static const struct option main_options[] = {
    {"server", required_argument, NULL, MAIN_SERVER},
    {"socket", required_argument, NULL, MAIN_SOCKET},
    {"index", required_argument, NULL, MAIN_INDEX},
    {"limit", required_argument, NULL, MAIN_LIMIT},
    {"offset", required_argument, NULL, MAIN_OFFSET},
    {"json", no_argument, NULL, MAIN_JSON},
    {"syntax", required_argument, NULL, MAIN_SYNTAX},
    {"proximity", required_argument, NULL, MAIN_PROXIMITY},
    {"typo", required_argument, NULL, MAIN_TYPO},
    {"layout", required_argument, NULL, MAIN_LAYOUT},
    {"highlight", no_argument, NULL, MAIN_HIGHLIGHT},
    {"snippet-len", required_argument, NULL, MAIN_SNIPPET_LEN},
    {"fragments", required_argument, NULL, MAIN_FRAGMENTS},
    {"key", required_argument, NULL, MAIN_KEY},
    {"filter", required_argument, NULL, MAIN_FILTER},
    {"sort", required_argument, NULL, MAIN_SORT},
    {"facets", required_argument, NULL, MAIN_FACETS},
    {"fields", required_argument, NULL, MAIN_FIELDS},
    {"tls", no_argument, NULL, MAIN_TLS},
    {"tls-ca", required_argument, NULL, MAIN_TLS_CA},
    {"tls-insecure", no_argument, NULL, MAIN_TLS_INSECURE},
    {"busy-wait", required_argument, NULL, MAIN_BUSY_WAIT},
    {"merge", no_argument, NULL, MAIN_MERGE},
    {"drop-words", required_argument, NULL, MAIN_DROP_WORDS},
    {"weights", required_argument, NULL, MAIN_WEIGHTS},
    {"version", no_argument, NULL, MAIN_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A usage error: "searchq: " and the message on stderr, then where to read more; returns
 * CLI_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) static int main_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("searchq: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(searchq --help tells more)\n", stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* A whole number of 0 or more. Negative numbers are refused here, not left to the server:
 * -1 is what cli_opts holds for "not given", so a typed -1 would be dropped silently. How large
 * a number the server takes is its own rule, and its message says so. */
static int main_parse_count(const char *name, const char *text, int64_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0) {
        return main_usage_error("--%s wants a whole number of 0 or more, got '%s'", name, text);
    }
    *out = (int64_t)v;
    return CLI_EXIT_OK;
}

/* --proximity on|off|W (on|off as searchd's own switches are spelt). Whether W is a weight
 * the server takes is libsearchq's rule (sq_search_check), asked here so that a bad one is a
 * usage error before any connection. */
static int main_parse_proximity(const char *text, double *out)
{
    double w;
    char *end = NULL;
    if (strcmp(text, "on") == 0) {
        w = SQ_PROXIMITY_ON;
    } else if (strcmp(text, "off") == 0) {
        w = SQ_PROXIMITY_OFF;
    } else {
        w = strtod(text, &end);
    }
    struct sq_search_params p = sq_search_defaults(NULL);
    p.proximity = w;
    /* a typed number is a weight: never one of the library's negative sentinels ("-1") */
    bool is_bad_number = end && (end == text || *end != '\0' || !(w >= 0));
    if (is_bad_number || sq_search_check(&p, NULL) != SQ_OK) {
        fprintf(stderr, "searchq: --proximity wants on, off or a weight from 0 to %g, got '%s'\n",
                SQ_PROXIMITY_MAX, text);
        return CLI_EXIT_USAGE;
    }
    *out = w;
    return CLI_EXIT_OK;
}

/* --NAME on|off, a switch the server reads as true or false (the protocol's `typo`,
 * `layout`): 1 or 0 in *out. */
static int main_parse_switch(const char *name, const char *text, int *out)
{
    if (strcmp(text, "on") != 0 && strcmp(text, "off") != 0) {
        return main_usage_error("--%s wants on or off, got '%s'", name, text);
    }
    *out = strcmp(text, "on") == 0;
    return CLI_EXIT_OK;
}

/* Parses options from argv[optind...] until the first non-option (stop_early) or all of them
 * (permuting), GNU style. */
static int main_parse_opts(int argc, char **argv, bool stop_early, struct cli_opts *opts)
{
    const char *shortopts = stop_early ? "+h" : "h";
    int c;
    while ((c = getopt_long(argc, argv, shortopts, main_options, NULL)) != -1) {
        int rc = CLI_EXIT_OK;
        switch (c) {
        case MAIN_SERVER:
            opts->server = optarg;
            break;
        case MAIN_SOCKET:
            opts->socket_path = optarg;
            break;
        case MAIN_INDEX:
            opts->index = optarg;
            break;
        case MAIN_LIMIT:
            rc = main_parse_count("limit", optarg, &opts->limit);
            break;
        case MAIN_OFFSET:
            rc = main_parse_count("offset", optarg, &opts->offset);
            break;
        case MAIN_JSON:
            opts->is_json = true;
            break;
        case MAIN_MERGE:
            opts->is_merge = true;
            break;
        case MAIN_SYNTAX:
            if (strcmp(optarg, "simple") != 0 && strcmp(optarg, "full") != 0) {
                return main_usage_error("--syntax wants simple or full, got '%s'", optarg);
            }
            opts->syntax = optarg;
            break;
        case MAIN_PROXIMITY:
            rc = main_parse_proximity(optarg, &opts->proximity);
            break;
        case MAIN_TYPO:
            rc = main_parse_switch("typo", optarg, &opts->typo);
            break;
        case MAIN_LAYOUT:
            rc = main_parse_switch("layout", optarg, &opts->layout);
            break;
        case MAIN_DROP_WORDS:
            rc = main_parse_switch("drop-words", optarg, &opts->drop_words);
            break;
        case MAIN_WEIGHTS:
            json_object_put(opts->weights); /* the last --weights counts, as other options */
            opts->weights = NULL;
            rc = cli_parse_weights(optarg, &opts->weights);
            if (rc == CLI_EXIT_USAGE) {
                fputs("(searchq --help tells more)\n", stderr);
            }
            break;
        case MAIN_HIGHLIGHT:
            opts->wants_highlight = true;
            break;
        case MAIN_SNIPPET_LEN:
            rc = main_parse_count("snippet-len", optarg, &opts->snippet_len);
            break;
        case MAIN_FRAGMENTS:
            rc = main_parse_count("fragments", optarg, &opts->fragments);
            break;
        case MAIN_KEY:
            opts->key = optarg;
            break;
        case MAIN_FILTER:
            opts->filter = optarg;
            break;
        case MAIN_SORT:
            opts->sort = optarg;
            break;
        case MAIN_FACETS:
            opts->facets = optarg;
            break;
        case MAIN_FIELDS:
            opts->fields = optarg;
            break;
        case MAIN_TLS:
            opts->tls = true;
            break;
        case MAIN_TLS_CA:
            opts->tls_ca = optarg;
            break;
        case MAIN_TLS_INSECURE:
            opts->tls_insecure = true;
            break;
        case MAIN_BUSY_WAIT:
            rc = main_parse_count("busy-wait", optarg, &opts->busy_wait);
            break;
        case MAIN_VERSION:
            printf("searchq %s\n", SEARCHD_VERSION);
            exit(CLI_EXIT_OK);
        case 'h':
            fputs(main_usage, stdout);
            exit(CLI_EXIT_OK);
        default: /* getopt printed what was wrong */
            fputs("(searchq --help tells more)\n", stderr);
            return CLI_EXIT_USAGE;
        }
        if (rc != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (opts->server && opts->socket_path) {
        return main_usage_error("%s", "give --server or --socket, not both");
    }
    if ((opts->tls_ca || opts->tls_insecure) && !opts->tls) {
        return main_usage_error("%s", "--tls-ca and --tls-insecure go with --tls");
    }
    if (opts->tls && opts->socket_path) {
        return main_usage_error("%s", "--tls is for --server; a Unix socket has no TLS");
    }
    if (opts->tls_ca && opts->tls_insecure) {
        return main_usage_error("%s", "--tls-ca or --tls-insecure, not both");
    }
    return CLI_EXIT_OK;
}

/* Runs a named command on its arguments (options already removed). */
/* A search may have no words when it filters, sorts or counts facets: it then browses. */
static bool main_can_browse(const struct cli_opts *opts)
{
    return opts->filter || opts->sort || opts->facets;
}

/* settings NAME [JSON|@FILE], create NAME [JSON|@FILE], snapshot NAME [SNAP], drop NAME */
static int main_run_manage(const struct cli_opts *opts, const char *cmd, int argc, char **argv)
{
    if (strcmp(cmd, "settings") == 0 || strcmp(cmd, "create") == 0) {
        if (argc != 1 && argc != 2) {
            return main_usage_error("%s: give NAME, or NAME and the settings JSON", cmd);
        }
        const char *value = argc == 2 ? argv[1] : NULL;
        if (opts->is_merge && (cmd[0] != 's' || !value)) {
            return main_usage_error("%s", "--merge: only with settings NAME JSON");
        }
        return cmd[0] == 's' ? cli_cmd_settings(opts, argv[0], value)
                             : cli_cmd_create(opts, argv[0], value);
    }
    if (strcmp(cmd, "snapshot") == 0) {
        if (argc != 1 && argc != 2) {
            return main_usage_error("%s", "snapshot: give the index NAME, and maybe a SNAP name");
        }
        return cli_cmd_snapshot(opts, argv[0], argc == 2 ? argv[1] : NULL);
    }
    if (argc != 1) {
        return main_usage_error("%s: give exactly one index name", cmd);
    }
    return cli_cmd_drop(opts, argv[0]);
}

static int main_run(const struct cli_opts *opts, const char *cmd, int argc, char **argv)
{
    if (strcmp(cmd, "search") == 0) {
        return argc > 0 || main_can_browse(opts) ? cli_cmd_search(opts, argc, argv)
                                                 : main_usage_error("%s", "search: no query given");
    }
    if (strcmp(cmd, "settings") == 0 || strcmp(cmd, "drop") == 0 || strcmp(cmd, "create") == 0 ||
        strcmp(cmd, "snapshot") == 0) {
        return main_run_manage(opts, cmd, argc, argv);
    }
    if (strcmp(cmd, "import") == 0) {
        return argc > 0 ? cli_cmd_import(opts, argc, argv)
                        : main_usage_error("%s", "import: no files given");
    }
    if (strcmp(cmd, "delete") == 0) {
        return argc > 0 ? cli_cmd_delete(opts, argc, argv)
                        : main_usage_error("%s", "delete: give one or more document ids");
    }
    if (strcmp(cmd, "get") == 0) {
        return argc == 1 ? cli_cmd_get(opts, argv[0])
                         : main_usage_error("%s", "get: give exactly one document id");
    }
    if (argc != 0) {
        return main_usage_error("%s takes no arguments", cmd);
    }
    if (strcmp(cmd, "indexes") == 0) {
        return cli_cmd_indexes(opts);
    }
    return strcmp(cmd, "stats") == 0 ? cli_cmd_stats(opts) : cli_cmd_health(opts);
}

static bool main_is_command(const char *word)
{
    static const char *const names[] = {"search", "import", "get",     "delete",
                                        "stats",  "health", "indexes", "settings",
                                        "create", "drop",   "snapshot"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(word, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Options, then a command or the words of a query (the file-top comment). */
static int main_dispatch(int argc, char **argv, struct cli_opts *opts)
{
    int rc = main_parse_opts(argc, argv, true, opts);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    if (optind >= argc && main_can_browse(opts)) {
        return cli_cmd_search(opts, 0, argv + optind);
    }
    if (optind >= argc) {
        return main_usage_error("%s", "no query or command given");
    }
    const char *word = argv[optind];
    if (!main_is_command(word)) {
        return cli_cmd_search(opts, argc - optind, argv + optind);
    }
    /* The command's own words: argv2[0] stands in for the program name during getopt. */
    int argc2 = argc - optind;
    char **argv2 = argv + optind;
    if (strcmp(word, "search") == 0) {
        return main_run(opts, word, argc2 - 1, argv2 + 1);
    }
    /* getopt names the program by argv2[0] in its messages: "searchq import: unrecognized
     * option", not "import: ..." */
    char name[64];
    snprintf(name, sizeof name, "searchq %s", word);
    argv2[0] = name;
    optind = 0; /* GNU getopt: start over on the new vector */
    rc = main_parse_opts(argc2, argv2, false, opts);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    return main_run(opts, word, argc2 - optind, argv2 + optind);
}

int main(int argc, char **argv)
{
    struct cli_opts opts = {.limit = -1,
                            .offset = -1,
                            .syntax = "simple",
                            .proximity = SQ_PROXIMITY_ON,
                            .typo = -1,
                            .layout = -1,
                            .drop_words = -1,
                            .snippet_len = -1,
                            .fragments = -1,
                            .busy_wait = CLI_BUSY_WAIT_DEFAULT,
                            .key = getenv("SEARCHQ_KEY")};
    argv[0] = "searchq"; /* getopt's messages name the program by argv[0] */
    int rc = main_dispatch(argc, argv, &opts);
    json_object_put(opts.weights);
    return rc;
}
