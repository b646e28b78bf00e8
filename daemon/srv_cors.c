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
 * pages from reading answers, API keys decide who may do what.
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

/* The list is parsed aside and swapped in whole, so a bad one changes nothing. */
int srv_set_cors(struct srv *s, const char *list, struct sd_error *err)
{
    char **origins = NULL;
    bool any = false;
    size_t n = 0;
    int rc = SD_OK;
    if (list && *list && !(origins = calloc(SRV_CORS_MAX + 1, sizeof *origins))) {
        return sd_errorf(err, SD_ENOMEM, "cors-origins");
    }
    for (const char *p = list ? list : ""; *p && rc == SD_OK;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (len == 0) {
            break;
        }
        if (len == 1 && *p == '*') {
            any = true;
        } else if (!origin_ok(p, len)) {
            rc = sd_errorf(err, SD_EINVAL, "cors-origins: '%.*s' is not an origin "
                           "(scheme://host[:port], or *)", (int)len, p);
        } else if (n == SRV_CORS_MAX) {
            rc = sd_errorf(err, SD_ELIMIT, "cors-origins: more than %d origins", SRV_CORS_MAX);
        } else if (!(origins[n++] = strndup(p, len))) {
            rc = sd_errorf(err, SD_ENOMEM, "cors-origins");
        }
        p += strcspn(p, ",");
    }
    if (rc) {
        free_list(origins);
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
