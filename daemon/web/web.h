/*
 * web.h: the search page and the embeddable search box that searchd serves over HTTP
 * (prefix web_; docs/WEB.md). The files in daemon/web/assets/ are compiled into the binary
 * (embed.cmake), so a bare searchd serves them with no files beside it and no network.
 */
#ifndef SEARCHD_WEB_H
#define SEARCHD_WEB_H

#include <stddef.h>

struct web_asset {
    const char *path;            /* request path: "/", "/app.js", ... */
    const char *content_type;    /* Content-Type header value */
    const unsigned char *data;   /* the bytes (static) */
    size_t len;
    const char *etag;            /* quoted strong ETag: "\"0123456789abcdef\"" */
};

/* The asset served at `path` (the request path without its query string), or NULL when the
 * path is not one of the page's. The result is static: valid for the life of the process. */
const struct web_asset *web_find(const char *path);

/* Security headers for an asset: NUL-separated "Name: value" pairs, ending with an empty
 * string. The page allows scripts, styles and fetches from its own origin only; nothing is
 * sniffed or framed. Static. */
const char *web_headers(const struct web_asset *a);

/* True when the request's If-None-Match header (may be NULL) names the asset's ETag, so the
 * answer is 304 without a body. */
int web_not_modified(const struct web_asset *a, const char *if_none_match);

#endif
