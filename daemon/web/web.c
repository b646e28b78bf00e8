/*
 * web.c: looks up the page's assets by request path and says how to answer for them.
 *
 * The table is tiny (a handful of files) and fixed at build time, so a linear scan with an
 * exact string compare is the whole lookup: no path ever reaches the filesystem.
 */
#include <string.h>

#include "web_int.h"

const struct web_asset *web_find(const char *path)
{
    if (strcmp(path, "/index.html") == 0) {
        path = "/";
    }
    for (size_t i = 0; i < web_nassets; i++) {
        if (strcmp(web_assets[i].path, path) == 0) {
            return &web_assets[i];
        }
    }
    return NULL;
}

const char *web_headers(const struct web_asset *a)
{
    /* The embeddable box (/searchd.js) is loaded by other sites' pages: it may be fetched
     * cross-origin, so it gets no frame or CSP restrictions of its own. */
    if (strcmp(a->path, "/searchd.js") == 0) {
        return "X-Content-Type-Options: nosniff\0"
               "Cache-Control: no-cache\0";
    }
    return "X-Content-Type-Options: nosniff\0"
           "Cache-Control: no-cache\0"
           "X-Frame-Options: DENY\0"
           "Referrer-Policy: same-origin\0"
           "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
           "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'\0";
}

/* If-None-Match is a comma-separated list of ETags, possibly weak (W/"..."), or "*". */
int web_not_modified(const struct web_asset *a, const char *if_none_match)
{
    if (!if_none_match) {
        return 0;
    }
    size_t elen = strlen(a->etag);
    const char *p = if_none_match;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '*') {
            return 1;
        }
        if (p[0] == 'W' && p[1] == '/') {
            p += 2;
        }
        if (strncmp(p, a->etag, elen) == 0 && (p[elen] == '\0' || p[elen] == ',' ||
                                                p[elen] == ' ' || p[elen] == '\t')) {
            return 1;
        }
        while (*p && *p != ',') {
            p++;
        }
    }
    return 0;
}
