/*
 * sq_compat.c: the entry points that programs built against libsearchq 1.0 to 1.3 were bound
 * to, on the struct sq_search_params layouts they were compiled with (searchq.h, "ABI").
 *
 * 1.2.0 added proximity at the end of struct sq_search_params, 1.3.0 prefix_last after it and
 * 1.4.0 drop_words after that. The shared library exports sq_search_defaults, sq_req_search and
 * sq_search four times: the default version SEARCHQ_1.4 (sq_req.c, the current layout, what the
 * linker picks for a program built now), SEARCHQ_1.3, SEARCHQ_1.2 and SEARCHQ_1 (here), which a
 * program linked against 1.3, against 1.2, or against 1.0 or 1.1 asks for by name. These take
 * the old layout, copy it into the current one with the fields it lacks left to the server (what
 * such a program sent), and call the current code, so no request is built twice. They never
 * read or write a byte past the old struct: client/lib/sq_abi_test.c calls them on a struct
 * that ends at an unmapped page.
 *
 * On LP64 the 1.3 struct is as large as the current one: drop_words took its tail padding. The
 * SEARCHQ_1.3 entry points are needed all the same, since a 1.3 program never sets those bytes
 * (and zeroed, they would read as false, not as the server's default); they read its fields one
 * by one, never the padding, and sq_abi_test.c fills it with garbage to show it.
 *
 * The old layouts are kept here, private, and must never change: they are an ABI that
 * programs already in use depend on. The static library carries these objects too; a static
 * link resolves sq_search and the rest by their plain names, i.e. the current ones.
 */
#include <stddef.h>

#include "sq_int.h"

/* struct sq_search_params of searchq.h 1.0.0 and 1.1.0, field for field. */
struct sq_search_params_1_1 {
    const char *index;
    const char *q;
    const char *syntax;
    int highlight;
    int highlight_offsets;
    int64_t snippet_len;
    int64_t fragments;
    int64_t limit;
    int64_t offset;
    const char *filter;
    const char *sort;
    const char *facets;
    const char *fields;
    const char *highlight_pre;
    const char *highlight_post;
    int snippet;
    int layout;
    int typo;
    struct json_object *weights;
};

/* struct sq_search_params of searchq.h 1.2.0: 1.1's, then proximity. */
struct sq_search_params_1_2 {
    struct sq_search_params_1_1 v1_1;
    double proximity;
};

/* The layouts agree on every field they share (what compat_upgrade_1_2 and compat_upgrade_1_3
 * copy relies on). */
_Static_assert(offsetof(struct sq_search_params_1_2, proximity) ==
                   offsetof(struct sq_search_params, proximity),
               "1.2 layout: proximity moved");
_Static_assert(sizeof(struct sq_search_params_1_2) ==
                   offsetof(struct sq_search_params, prefix_last),
               "1.3 added prefix_last right after the 1.2 layout");

/* struct sq_search_params of searchq.h 1.3.0: 1.2's, then prefix_last. */
struct sq_search_params_1_3 {
    struct sq_search_params_1_2 v1_2;
    int prefix_last;
};

_Static_assert(offsetof(struct sq_search_params_1_3, prefix_last) ==
                   offsetof(struct sq_search_params, prefix_last),
               "1.3 layout: prefix_last moved");
_Static_assert(offsetof(struct sq_search_params, drop_words) ==
                   offsetof(struct sq_search_params_1_3, prefix_last) + sizeof(int),
               "1.4 added drop_words right after prefix_last");

/* Exported only under the versioned names below (the version script hides these names). */
struct sq_search_params_1_1 sq_search_defaults_1_1(const char *q);
struct json_object *sq_req_search_1_1(const struct sq_search_params_1_1 *old);
int sq_search_1_1(struct sq_conn *c, const struct sq_search_params_1_1 *old,
                  struct json_object **answer, struct sq_error *err);

__asm__(".symver sq_search_defaults_1_1, sq_search_defaults@SEARCHQ_1");
__asm__(".symver sq_req_search_1_1, sq_req_search@SEARCHQ_1");
__asm__(".symver sq_search_1_1, sq_search@SEARCHQ_1");

struct sq_search_params_1_2 sq_search_defaults_1_2(const char *q);
struct json_object *sq_req_search_1_2(const struct sq_search_params_1_2 *old);
int sq_search_1_2(struct sq_conn *c, const struct sq_search_params_1_2 *old,
                  struct json_object **answer, struct sq_error *err);

__asm__(".symver sq_search_defaults_1_2, sq_search_defaults@SEARCHQ_1.2");
__asm__(".symver sq_req_search_1_2, sq_req_search@SEARCHQ_1.2");
__asm__(".symver sq_search_1_2, sq_search@SEARCHQ_1.2");

struct sq_search_params_1_3 sq_search_defaults_1_3(const char *q);
struct json_object *sq_req_search_1_3(const struct sq_search_params_1_3 *old);
int sq_search_1_3(struct sq_conn *c, const struct sq_search_params_1_3 *old,
                  struct json_object **answer, struct sq_error *err);

__asm__(".symver sq_search_defaults_1_3, sq_search_defaults@SEARCHQ_1.3");
__asm__(".symver sq_req_search_1_3, sq_req_search@SEARCHQ_1.3");
__asm__(".symver sq_search_1_3, sq_search@SEARCHQ_1.3");

/* The current layout of old's values, the fields added since 1.1 at the server's default. */
static struct sq_search_params compat_upgrade(const struct sq_search_params_1_1 *old)
{
    struct sq_search_params p = sq_search_defaults(old->q);
    p.index = old->index;
    p.syntax = old->syntax;
    p.highlight = old->highlight;
    p.highlight_offsets = old->highlight_offsets;
    p.snippet_len = old->snippet_len;
    p.fragments = old->fragments;
    p.limit = old->limit;
    p.offset = old->offset;
    p.filter = old->filter;
    p.sort = old->sort;
    p.facets = old->facets;
    p.fields = old->fields;
    p.highlight_pre = old->highlight_pre;
    p.highlight_post = old->highlight_post;
    p.snippet = old->snippet;
    p.layout = old->layout;
    p.typo = old->typo;
    p.weights = old->weights;
    return p;
}

struct sq_search_params_1_1 sq_search_defaults_1_1(const char *q)
{
    struct sq_search_params p = sq_search_defaults(q);
    return (struct sq_search_params_1_1){
        .q = p.q,
        .highlight = p.highlight,
        .highlight_offsets = p.highlight_offsets,
        .snippet_len = p.snippet_len,
        .fragments = p.fragments,
        .limit = p.limit,
        .offset = p.offset,
        .snippet = p.snippet,
        .layout = p.layout,
        .typo = p.typo,
    };
}

struct json_object *sq_req_search_1_1(const struct sq_search_params_1_1 *old)
{
    struct sq_search_params p = compat_upgrade(old);
    return sq_req_search(&p);
}

int sq_search_1_1(struct sq_conn *c, const struct sq_search_params_1_1 *old,
                  struct json_object **answer, struct sq_error *err)
{
    struct sq_search_params p = compat_upgrade(old);
    return sq_search(c, &p, answer, err);
}

/* The current layout of old's values, the fields added since 1.2 at the server's default. */
static struct sq_search_params compat_upgrade_1_2(const struct sq_search_params_1_2 *old)
{
    struct sq_search_params p = compat_upgrade(&old->v1_1);
    p.proximity = old->proximity;
    return p;
}

struct sq_search_params_1_2 sq_search_defaults_1_2(const char *q)
{
    return (struct sq_search_params_1_2){
        .v1_1 = sq_search_defaults_1_1(q),
        .proximity = sq_search_defaults(q).proximity,
    };
}

struct json_object *sq_req_search_1_2(const struct sq_search_params_1_2 *old)
{
    struct sq_search_params p = compat_upgrade_1_2(old);
    return sq_req_search(&p);
}

int sq_search_1_2(struct sq_conn *c, const struct sq_search_params_1_2 *old,
                  struct json_object **answer, struct sq_error *err)
{
    struct sq_search_params p = compat_upgrade_1_2(old);
    return sq_search(c, &p, answer, err);
}

/* The current layout of old's values, drop_words at the server's default. */
static struct sq_search_params compat_upgrade_1_3(const struct sq_search_params_1_3 *old)
{
    struct sq_search_params p = compat_upgrade_1_2(&old->v1_2);
    p.prefix_last = old->prefix_last;
    return p;
}

struct sq_search_params_1_3 sq_search_defaults_1_3(const char *q)
{
    return (struct sq_search_params_1_3){
        .v1_2 = sq_search_defaults_1_2(q),
        .prefix_last = sq_search_defaults(q).prefix_last,
    };
}

struct json_object *sq_req_search_1_3(const struct sq_search_params_1_3 *old)
{
    struct sq_search_params p = compat_upgrade_1_3(old);
    return sq_req_search(&p);
}

int sq_search_1_3(struct sq_conn *c, const struct sq_search_params_1_3 *old,
                  struct json_object **answer, struct sq_error *err)
{
    struct sq_search_params p = compat_upgrade_1_3(old);
    return sq_search(c, &p, answer, err);
}
