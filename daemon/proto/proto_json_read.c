/*
 * proto_json_read.c: JSON in. A request's text -> a json-c tree that can be trusted, or
 * bad_utf8, bad_json or bad_request.
 *
 * The text must be valid UTF-8; then one pass over it (the prescan, below) checks what
 * json-c lets through; then json-c parses it in strict mode with a depth limit
 * (PROTO_MAX_DEPTH); then the tree is compared with the prescan's counts to find a key
 * given twice. A request is one JSON object (a line, an HTTP body), except the body of
 * POST /docs, which may hold several (NDJSON). Two checks of what a parsed value holds live
 * here too, for the files that read members: no NUL in a parameter's string, and no number
 * past a double's range in a value that is stored.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

int proto_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The index of the first byte of s[0, len) that is not JSON white space (len: none). */
static size_t skip_space(const char *s, size_t len, size_t i)
{
    while (i < len && is_json_space(s[i])) {
        i++;
    }
    return i;
}

static bool only_space(const char *s, size_t len)
{
    return skip_space(s, len, 0) == len;
}

/* Parses the one JSON value that starts at s[0, len) (leading whitespace
 * allowed). On success *out is owned by the caller and *used says how many
 * bytes it took. */
static enum proto_code json_parse_one(struct json_tokener *tok, const char *s, size_t len,
                                      struct json_object **out, size_t *used,
                                      struct proto_error *err)
{
    size_t first = skip_space(s, len, 0);
    if (first < len && s[first] != '{') {
        /* said before json-c reads it: a bare number at the end of the text ("5") would be
         * "truncated JSON" to json-c, which waits for more digits */
        return proto_errorf(err, PROTO_BAD_JSON, "the request is not a JSON object");
    }
    json_tokener_reset(tok);
    struct json_object *obj = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (!obj && jerr == json_tokener_continue) {
        return proto_errorf(err, PROTO_BAD_JSON, "truncated JSON");
    }
    if (jerr != json_tokener_success) {
        json_object_put(obj);
        return proto_errorf(err, PROTO_BAD_JSON, "at %zu: %s", end, json_tokener_error_desc(jerr));
    }
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return proto_errorf(err, PROTO_BAD_JSON, "the request is not a JSON object");
    }
    *out = obj;
    *used = end;
    return PROTO_OK;
}

/* Refuses a string holding U+0000 anywhere in v, which is a request's value other than a
 * document's: json-c keeps its length, but parameters are read as C strings, where it would
 * cut them short. what names the member holding v, for the message. */
enum proto_code proto_refuse_nul_strings(struct json_object *v, const char *what,
                                         struct proto_error *err)
{
    enum proto_code rc = PROTO_OK;
    if (json_object_is_type(v, json_type_string)) {
        if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v))) {
            rc = proto_errorf(err, PROTO_BAD_REQUEST, "'%.*s': a string holds \\u0000 (NUL)",
                              (int)sd_utf8_cut(what, strlen(what), 64), what);
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; rc == PROTO_OK && i < json_object_array_length(v); i++) {
            rc = proto_refuse_nul_strings(json_object_array_get_idx(v, i), what, err);
        }
    } else if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            if ((rc = proto_refuse_nul_strings(val, key, err))) {
                break;
            }
        }
    }
    return rc;
}

/* ---- what json-c does not check: escapes, numbers and repeated keys ----
 *
 * json-c, even strict, lets through four things silently:
 * - a lone surrogate escape ("\ud800", "\udc00", "\ud800\u0041"), which it turns into U+FFFD;
 * - "\u0000", which cuts a key (json-c keeps keys as C strings: "ti\u0000tle" becomes "ti")
 *   and every value read as a C string ("op":"search\u0000junk" ran as search); a
 *   document's values are kept whole, with their length, so only there is it allowed
 *   (proto_refuse_nul_strings() checks the other values once the request is parsed);
 * - numbers outside JSON's grammar ("1.", "-.5", "01.5", "00"), kept as written and so
 *   echoed back as invalid JSON by get, and integers beyond int64 and uint64, clamped to
 *   the nearest end (two integer ids 2^64 and 2^64 - 1 named one document);
 * - the last of two members with the same key kept, the first dropped.
 * PROTOCOL.md promises bad_utf8 for the first (a string must be Unicode text, escaped or
 * not), bad_request for a NUL in a key and the integer out of range, bad_json for a malformed
 * number and bad_request naming the key for the last. So one pass over the raw text before
 * json-c checks every escape and every number and counts each object's members; after the
 * parse an object json-c holds with fewer members than that count had a key twice. Objects
 * are numbered in the order their '{' appears, which is the pre-order of the tree json-c
 * builds. */

struct prescan {
    uint32_t *members; /* members of object i, owned; NULL until the first '{'. 4 bytes an
                          object, a fraction of what json-c spends on one */
    size_t count;      /* objects seen */
    size_t cap;
    bool is_deep; /* nesting past any valid request: counts stop, json-c refuses it */
};

static void prescan_free(struct prescan *ps)
{
    free(ps->members);
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = proto_hex_value(s[i]);
        if (h < 0) {
            return -1;
        }
        v = v * 16 + (uint32_t)h;
    }
    *out = v;
    return 0;
}

/* The escape at s[i] ('\\') of s[0, len): its length, or 0 when it is a well-formed \u
 * escape that does not stand for a Unicode scalar value (err says why). *nul is set when it
 * stands for U+0000. A malformed escape ("\\x", "\\u12G4") or one cut short by the end of
 * the text is JSON syntax, left to json-c (bad_json). */
static size_t escape_len(const char *s, size_t len, size_t i, bool *nul, struct proto_error *err)
{
    if (len - i < 2) {
        return len - i;
    }
    if (strchr("\"\\/bfnrt", s[i + 1]) && s[i + 1] != '\0') {
        return 2;
    }
    uint32_t cp, low;
    if (s[i + 1] != 'u' || len - i < 6 || hex4(s + i + 2, &cp)) {
        return 2;
    }
    *nul = *nul || cp == 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        proto_errorf(err, PROTO_BAD_UTF8, "at %zu: \\u%04x is a lone low surrogate", i, cp);
        return 0;
    }
    if (cp < 0xD800 || cp > 0xDBFF) {
        return 6;
    }
    if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || hex4(s + i + 8, &low) ||
        low < 0xDC00 || low > 0xDFFF) { /* the end, another character, or a malformed escape */
        proto_errorf(err, PROTO_BAD_UTF8,
                     "at %zu: \\u%04x is a high surrogate without a low one after it", i, cp);
        return 0;
    }
    return 12;
}

static int prescan_open(struct prescan *ps)
{
    uint32_t *m = sd_grow(ps->members, &ps->cap, ps->count + 1, sizeof *m, 16);
    if (!m) {
        return -1;
    }
    ps->members = m;
    ps->members[ps->count++] = 0;
    return 0;
}

/* The end of the string whose opening '"' is just before s[i]: the index of its closing '"'
 * (len when the text ends first), every escape on the way checked; *nul says whether one
 * was \u0000. Strings are most of a request's bytes, so the runs between escapes are
 * skipped with memchr. Linear: the next '"' is searched for again only once an escape has
 * taken the one found (\"), never from every escape to the string's end, which made a
 * string of N escapes (\u0416 for each letter, as Python's json.dumps writes Russian)
 * cost N times its length. */
static enum proto_code string_end(const char *s, size_t len, size_t i, size_t *end, bool *nul,
                                  struct proto_error *err)
{
    *nul = false;
    size_t q = 0; /* the first '"' at or after i once q >= i; len: none */
    while (i < len) {
        if (q < i) {
            const char *quote = memchr(s + i, '"', len - i);
            q = quote ? (size_t)(quote - s) : len;
        }
        const char *bs = memchr(s + i, '\\', q - i);
        if (!bs) {
            *end = q;
            return PROTO_OK;
        }
        size_t n = escape_len(s, len, (size_t)(bs - s), nul, err);
        if (n == 0) {
            return PROTO_BAD_UTF8;
        }
        i = (size_t)(bs - s) + n;
    }
    *end = len;
    return PROTO_OK;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The index of the first byte at or after s[i] that is not a digit (len: none). */
static size_t skip_digits(const char *s, size_t len, size_t i)
{
    while (i < len && is_digit(s[i])) {
        i++;
    }
    return i;
}

/* Whether the n digits at d are at most the decimal limit (same or fewer digits). */
static bool digits_at_most(const char *d, size_t n, const char *limit)
{
    size_t ln = strlen(limit);
    return n < ln || (n == ln && memcmp(d, limit, n) <= 0);
}

/* The number that starts at s[i] ('-' or a digit) of s[0, len), outside any string: checks
 * it against JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and an integer
 * (no fraction, no exponent) against the range json-c holds exactly, -2^63 to 2^64 - 1.
 * *last is the index of its last character. A letter or another character right after a
 * number is json-c's to refuse. */
static enum proto_code number_end(const char *s, size_t len, size_t i, size_t *last,
                                  struct proto_error *err)
{
    size_t start = i;
    bool negative = s[i] == '-';
    i += negative;
    size_t int_start = i;
    i = skip_digits(s, len, i);
    size_t int_len = i - int_start;
    if (int_len == 0 || (int_len > 1 && s[int_start] == '0')) {
        return proto_errorf(err, PROTO_BAD_JSON, "at %zu: malformed number (%s)", start,
                            int_len ? "a leading zero"
                                    : "no digit before the point or after the sign");
    }
    bool is_integer = true;
    if (i < len && s[i] == '.') {
        size_t frac = ++i;
        i = skip_digits(s, len, i);
        if (i == frac) {
            return proto_errorf(err, PROTO_BAD_JSON,
                                "at %zu: malformed number (no digit after the point)", start);
        }
        is_integer = false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        i += i < len && (s[i] == '+' || s[i] == '-');
        size_t exp = i;
        i = skip_digits(s, len, i);
        if (i == exp) {
            return proto_errorf(err, PROTO_BAD_JSON,
                                "at %zu: malformed number (an exponent without digits)", start);
        }
        is_integer = false;
    }
    if (is_integer && !digits_at_most(s + int_start, int_len,
                                      negative ? "9223372036854775808" : "18446744073709551615")) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "at %zu: integer out of range (-2^63 to 2^64-1; send a larger one "
                            "as a string)",
                            start);
    }
    *last = i - 1;
    return PROTO_OK;
}

/* Whether the string that ended just before s[i] is a key: a ':' follows it. */
static bool is_key(const char *s, size_t len, size_t i)
{
    i = skip_space(s, len, i);
    return i < len && s[i] == ':';
}

/* Whether NaN, Infinity or -Infinity starts at s[i] (outside any string): json-c takes them
 * even in strict mode (spelt so, and only so), and reads a number past a double's range as
 * Infinity too; told apart here, each gets its own message. */
static bool is_nan_or_infinity(const char *s, size_t len, size_t i)
{
    i += s[i] == '-';
    return (len - i >= 3 && memcmp(s + i, "NaN", 3) == 0) ||
           (len - i >= 8 && memcmp(s + i, "Infinity", 8) == 0);
}

/* Checks every escape and number of s[0, len) and counts the members of every object.
 * Linear. */
static enum proto_code prescan_json(const char *s, size_t len, struct prescan *ps,
                                    struct proto_error *err)
{
    /* Open containers: the object number, or SIZE_MAX for an array. */
    size_t stack[PROTO_MAX_DEPTH + 1];
    size_t depth = 0;
    memset(ps, 0, sizeof *ps);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            size_t start = i;
            bool nul;
            enum proto_code rc = string_end(s, len, i + 1, &i, &nul, err);
            if (rc) {
                return rc;
            }
            if (nul && is_key(s, len, i + 1)) {
                return proto_errorf(err, PROTO_BAD_REQUEST, "at %zu: a key holds \\u0000 (NUL)",
                                    start);
            }
        } else if ((c == 'N' || c == 'I' || c == '-') && is_nan_or_infinity(s, len, i)) {
            return proto_errorf(err, PROTO_BAD_JSON, "at %zu: NaN and Infinity are not JSON", i);
        } else if (c == '-' || is_digit(c)) {
            enum proto_code rc = number_end(s, len, i, &i, err);
            if (rc) {
                return rc;
            }
        } else if ((c == '{' || c == '[') && !ps->is_deep) {
            if (depth == PROTO_MAX_DEPTH + 1) {
                ps->is_deep = true;
                continue;
            }
            stack[depth++] = c == '[' ? SIZE_MAX : ps->count;
            if (c == '{' && prescan_open(ps)) {
                return proto_errorf(err, PROTO_INTERNAL, "out of memory");
            }
        } else if ((c == '}' || c == ']') && depth > 0 && !ps->is_deep) {
            depth--;
        } else if (c == ':' && depth > 0 && stack[depth - 1] != SIZE_MAX && !ps->is_deep) {
            ps->members[stack[depth - 1]]++;
        }
    }
    return PROTO_OK;
}

/* Offset of the '{' of object number i (in the prescan's numbering) of s[0, len). */
static size_t object_start(const char *s, size_t len, size_t i)
{
    bool in_string = false;
    size_t seen = 0;
    for (size_t k = 0; k < len; k++) {
        if (in_string) {
            if (s[k] == '\\') {
                k++;
            } else if (s[k] == '"') {
                in_string = false;
            }
        } else if (s[k] == '"') {
            in_string = true;
        } else if (s[k] == '{' && seen++ == i) {
            return k;
        }
    }
    return 0; /* not reached for the text the prescan counted */
}

struct key_span {
    const char *p;
    size_t len;
};

static int key_span_cmp(const void *a, const void *b)
{
    const struct key_span *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The object at s[at] ('{') has a repeated key: name it (raw, as sent) when two keys are
 * the same bytes; an escaped spelling of the same key ("a" and "\u0061") is only located. */
static enum proto_code repeated_key(const char *s, size_t len, size_t at, uint32_t members,
                                    struct proto_error *err)
{
    struct key_span *keys = malloc(members * sizeof *keys);
    if (!keys) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    size_t n = 0, depth = 0, key_start = 0;
    bool in_string = false;
    for (size_t i = at; i < len && n < members; i++) {
        if (in_string) {
            if (s[i] == '\\') {
                i++;
            } else if (s[i] == '"') {
                in_string = false;
                if (depth == 1) { /* a key if a ':' follows */
                    size_t j = i + 1;
                    while (j < len && strchr(" \t\r\n", s[j]) && s[j]) {
                        j++;
                    }
                    if (j < len && s[j] == ':') {
                        keys[n++] = (struct key_span){s + key_start, i - key_start};
                    }
                }
            }
        } else if (s[i] == '"') {
            in_string = true;
            key_start = i + 1;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++;
        } else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
            break;
        }
    }
    qsort(keys, n, sizeof *keys, key_span_cmp);
    for (size_t i = 1; i < n; i++) {
        if (key_span_cmp(&keys[i - 1], &keys[i]) == 0) {
            proto_errorf(err, PROTO_BAD_REQUEST, "key '%.*s' given twice",
                         (int)sd_utf8_cut(keys[i].p, keys[i].len, 64), keys[i].p);
            free(keys);
            return PROTO_BAD_REQUEST;
        }
    }
    free(keys);
    return proto_errorf(err, PROTO_BAD_REQUEST, "at %zu: an object has a key twice", at);
}

/* Walks the parsed tree in pre-order beside the prescan's counts. *next is the number of the
 * next object. */
static enum proto_code check_members(struct json_object *v, const char *s, size_t len,
                                     const struct prescan *ps, size_t *next,
                                     struct proto_error *err)
{
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            enum proto_code rc =
                check_members(json_object_array_get_idx(v, i), s, len, ps, next, err);
            if (rc) {
                return rc;
            }
        }
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_object)) {
        return PROTO_OK;
    }
    size_t i = (*next)++;
    if (i >= ps->count) {
        return PROTO_OK; /* cannot happen for a tree parsed from the same text */
    }
    if ((size_t)json_object_object_length(v) != ps->members[i]) {
        return repeated_key(s, len, object_start(s, len, i), ps->members[i], err);
    }
    json_object_object_foreach(v, key, val)
    {
        (void)key;
        enum proto_code rc = check_members(val, s, len, ps, next, err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

/* root was parsed from s[0, len) (for NDJSON, root is the array of its documents). */
static enum proto_code check_repeated_keys(struct json_object *root, const char *s, size_t len,
                                           const struct prescan *ps, struct proto_error *err)
{
    size_t next = 0;
    if (ps->is_deep) {
        return PROTO_OK; /* json-c refused anything this deep already */
    }
    return check_members(root, s, len, ps, &next, err);
}

static struct json_tokener *tokener_new(struct proto_error *err)
{
    struct json_tokener *tok = json_tokener_new_ex(PROTO_MAX_DEPTH);
    if (!tok) {
        proto_errorf(err, PROTO_INTERNAL, "out of memory");
        return NULL;
    }
    /* Strict: no single quotes, comments, NaN or trailing commas. Trailing
     * characters are allowed only so that we can report them ourselves and
     * split NDJSON. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    return tok;
}

/* What a request's text must be before any of it is parsed: valid UTF-8, and short enough
 * for json-c, which takes an int length. */
static enum proto_code check_text(const char *s, size_t len, struct proto_error *err)
{
    if (!stem_utf8_valid(s, len)) {
        return proto_errorf(err, PROTO_BAD_UTF8, "the request is not valid UTF-8");
    }
    if (len > INT_MAX) {
        return proto_errorf(err, PROTO_TOO_LARGE, "request over %d bytes", INT_MAX);
    }
    return PROTO_OK;
}

/* The whole of s[0, len) must be one JSON object. */
enum proto_code proto_json_parse_object(const char *s, size_t len, struct json_object **out,
                                        struct proto_error *err)
{
    enum proto_code rc = check_text(s, len, err);
    if (rc) {
        return rc;
    }
    if (only_space(s, len)) {
        return proto_errorf(err, PROTO_BAD_JSON, "the request is not a JSON object (empty)");
    }
    *out = NULL;
    struct prescan ps;
    rc = prescan_json(s, len, &ps, err);
    struct json_tokener *tok = rc ? NULL : tokener_new(err);
    if (!tok) {
        prescan_free(&ps);
        return rc ? rc : PROTO_INTERNAL;
    }
    size_t used = 0;
    rc = json_parse_one(tok, s, len, out, &used, err);
    json_tokener_free(tok);
    if (rc == PROTO_OK && !only_space(s + used, len - used)) {
        rc = proto_errorf(err, PROTO_BAD_JSON, "at %zu: data after the JSON object", used);
    }
    if (rc == PROTO_OK) {
        rc = check_repeated_keys(*out, s, len, &ps, err);
    }
    if (rc && *out) {
        json_object_put(*out);
        *out = NULL;
    }
    prescan_free(&ps);
    return rc;
}

/* POST /docs's body: one JSON object, or several separated by whitespace (NDJSON:
 * one document a line). Deciding by what parses rather than by counting
 * lines also accepts a single pretty-printed document. */
enum proto_code proto_json_parse_ndjson(const char *body, size_t len, struct json_object **root,
                                        struct proto_error *err)
{
    enum proto_code rc = check_text(body, len, err);
    if (rc) {
        return rc;
    }
    struct prescan ps;
    rc = prescan_json(body, len, &ps, err);
    if (rc) {
        prescan_free(&ps);
        return rc;
    }
    *root = json_object_new_array();
    struct json_tokener *tok = tokener_new(err);
    if (!*root || !tok) {
        json_tokener_free(tok);
        prescan_free(&ps);
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    size_t pos = 0, line = 1;
    while (rc == PROTO_OK && !only_space(body + pos, len - pos)) {
        if (json_object_array_length(*root) >= PROTO_MAX_BATCH) {
            rc = proto_errorf(err, PROTO_BAD_REQUEST, "at most %d documents a request",
                              PROTO_MAX_BATCH);
            break;
        }
        struct json_object *doc = NULL;
        size_t used = 0;
        rc = json_parse_one(tok, body + pos, len - pos, &doc, &used, err);
        if (rc) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            proto_errorf(err, rc, "document %zu (line %zu): %s",
                         json_object_array_length(*root) + 1, line, msg);
            break;
        }
        json_object_array_add(*root, doc);
        for (size_t i = pos; i < pos + used; i++) {
            line += body[i] == '\n';
        }
        pos += used;
    }
    json_tokener_free(tok);
    if (rc == PROTO_OK) {
        rc = check_repeated_keys(*root, body, len, &ps, err);
    }
    prescan_free(&ps);
    return rc;
}

/* A double that is not finite: NaN and Infinity, which the prescan refuses as not JSON, or a
 * number past a double's range (1e999), which json-c reads as Infinity. It would be stored
 * and sent back as Infinity, which is not JSON, so a stored value must not hold one. */
bool proto_json_all_finite(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_double:
        return isfinite(json_object_get_double(v));
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (!proto_json_all_finite(json_object_array_get_idx(v, i))) {
                return false;
            }
        }
        return true;
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            if (!proto_json_all_finite(val)) {
                return false;
            }
        }
        return true;
    }
    default:
        return true;
    }
}

/* Whether s is one JSON number and nothing else, so that the query string takes the numbers
 * the JSON form takes (strtod alone also reads "0x10", "inf" and " 3"). */
bool proto_is_json_number(const char *s)
{
    size_t len = strlen(s), last = 0;
    struct proto_error ignored;
    return len > 0 && (s[0] == '-' || is_digit(s[0])) &&
           number_end(s, len, 0, &last, &ignored) == PROTO_OK && last + 1 == len;
}
