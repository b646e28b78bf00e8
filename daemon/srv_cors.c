/*
 * srv_cors.c: which browser origins may call the HTTP API (CORS).
 *
 * A page on another origin (a site embedding /searchd.js) can read searchd's
 * answers only if they carry Access-Control-Allow-Origin naming its origin,
 * and can send Authorization or a JSON body only after a preflight (OPTIONS
 * with Access-Control-Request-Method) is answered with the Allow-* headers.
 * The list is the --cors-origins setting, parsed once: exact origins
 * ("https://example.org", compared byte for byte, as browsers serialize
 * them) or "*" for any. An allowed origin is echoed, and with a list every
 * answer says Vary: Origin (those to an origin not listed and preflights too),
 * so a cache never serves one origin's answer to another; "*" answers "*", which
 * browsers accept for requests without cookies, the only kind searchd takes.
 * The origin is a browser's promise, not an identity: CORS keeps other sites'
 * pages from reading answers, API keys decide who may do what. A write that a
 * browser sends from an origin not allowed is refused outright (srv_http.c),
 * as some are sent without a preflight and would be carried out unread.
 * srv_check_cors runs the same parse without a server, for the settings'
 * reader to refuse a bad list where it was written.
 */
#include <stdlib.h>
#include <string.h>

#include "srv_int.h"

#define SRV_CORS_MAX 64 /* origins in the list */

/* Frees a NULL-terminated list of origins (NULL ok). */
static void free_list(char **list)
{
    for (char **o = list; o && *o; o++) {
        free(*o);
    }
    free(list);
}

void srv_cors_free(struct srv *s)
{
    free_list(s->cors);
    s->cors = NULL;
    s->cors_any = false;
}

/* An origin is scheme "://" host [":" port], nothing after. */
static bool origin_ok(const char *o, size_t len)
{
    const char *sep = memmem(o, len, "://", 3);
    if (!sep || sep == o || sep + 3 == o + len) {
        return false;
    }
    for (const char *p = sep + 3; p < o + len; p++) {
        if (*p == '/' || *p == '?' || *p == '#' || *p == ' ' || (unsigned char)*p < 0x21) {
            return false;
        }
    }
    return true;
}

/* Parses list (borrowed) into *origins (owned by the caller, free_list; NULL when the list
 * has no entry) and *any; what names the setting in an error. */
static int parse_origins(const char *list, const char *what, char ***origins, bool *any,
                         struct sd_error *err)
{
    *origins = NULL;
    *any = false;
    const char *p = srv_list_begin(list);
    if (p && !(*origins = calloc(SRV_CORS_MAX + 1, sizeof **origins))) {
        return sd_errorf(err, SD_ENOMEM, "%s", what);
    }
    const char *e;
    size_t len;
    size_t n = 0;
    int rc = SD_OK;
    for (size_t i = 1; rc == SD_OK && srv_list_next(&p, &e, &len); i++) {
        if (len == 0) {
            rc = sd_errorf(err, SD_EINVAL, "%s: entry %zu is empty", what, i);
        } else if (len == 1 && *e == '*') {
            *any = true;
        } else if (!origin_ok(e, len)) {
            rc = sd_errorf(err, SD_EINVAL,
                           "%s: entry %zu: '%.*s' is not an origin "
                           "(scheme://host[:port], or *)",
                           what, i, (int)len, e);
        } else if (n == SRV_CORS_MAX) {
            rc = sd_errorf(err, SD_ELIMIT, "%s: more than %d origins", what, SRV_CORS_MAX);
        } else if (!((*origins)[n++] = strndup(e, len))) {
            rc = sd_errorf(err, SD_ENOMEM, "%s", what);
        }
    }
    if (rc) {
        free_list(*origins);
        *origins = NULL;
    }
    return rc;
}

int srv_check_cors(const char *list, const char *what, struct sd_error *err)
{
    char **origins;
    bool any;
    int rc = parse_origins(list, what, &origins, &any, err);
    free_list(origins);
    return rc;
}

/* The list is parsed aside and swapped in whole, so a bad one changes nothing. */
int srv_set_cors(struct srv *s, const char *list, struct sd_error *err)
{
    char **origins;
    bool any;
    int rc = parse_origins(list, "cors-origins", &origins, &any, err);
    if (rc) {
        return rc;
    }
    srv_cors_free(s);
    s->cors = origins;
    s->cors_any = any;
    return SD_OK;
}

bool srv_cors_varies(const struct srv *s)
{
    return s->cors && !s->cors_any;
}

const char *srv_cors_allow(const struct srv *s, const char *origin)
{
    if (!origin) {
        return NULL;
    }
    if (s->cors_any) {
        return "*";
    }
    for (char **o = s->cors; o && *o; o++) {
        if (strcmp(*o, origin) == 0) {
            return *o;
        }
    }
    return NULL;
}
