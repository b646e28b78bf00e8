/*
 * proto_parse.c: one request's bytes -> struct proto_request, or an error code.
 *
 * Order of checks, the same for both protocols (parse -> validate; nothing
 * here acts): the raw bytes must be valid UTF-8 (bad_utf8), then parse as JSON
 * with json-c in strict mode and a depth limit (bad_json), then the members:
 * "op" (bad_request when missing, unknown_op when unknown), "index"
 * ([a-z0-9_-], 1..64 bytes), then the op's own members (bad_request for a
 * missing member, a wrong type or a value out of range). A member the op does
 * not take, like an HTTP query-string key or a search body member the route
 * does not take, is bad_request "unknown parameter 'x'" (issue 11): a
 * misspelt "fitler" would otherwise answer unfiltered hits with 200.
 *
 * Limits (PROTOCOL.md): ids 1..512 bytes (an integer id becomes its decimal
 * string), field names 1..64 bytes, at most 64 fields besides the id, at most
 * 10000 documents a batch, limit 0..1000, offset 0..100000, at most 64
 * weights each in [0, 1000]. The size of the whole request is the server's
 * check (--max-request), made before any byte is parsed.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "proto.h"
#include "proto_int.h"

/* ---- codes ---- */

static const struct {
    const char *name;
    int http;
} code_table[] = {
    [PROTO_OK] = {"ok", 200},
    [PROTO_BAD_JSON] = {"bad_json", 400},
    [PROTO_BAD_UTF8] = {"bad_utf8", 400},
    [PROTO_BAD_REQUEST] = {"bad_request", 400},
    [PROTO_BAD_QUERY] = {"bad_query", 400},
    [PROTO_UNKNOWN_OP] = {"unknown_op", 400},
    [PROTO_UNKNOWN_FIELD] = {"unknown_field", 400},
    [PROTO_TOO_LARGE] = {"too_large", 413},
    [PROTO_UNKNOWN_INDEX] = {"unknown_index", 404},
    [PROTO_NOT_FOUND] = {"not_found", 404},
    [PROTO_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [PROTO_DISK_FULL] = {"disk_full", 507},
    [PROTO_BUSY] = {"busy", 503},
    [PROTO_INTERNAL] = {"internal", 500},
    [PROTO_BAD_HTTP] = {"bad_http", 400},
    [PROTO_UNKNOWN_PATH] = {"unknown_path", 404},
    [PROTO_TIMEOUT] = {"timeout", 408},
    [PROTO_HEAD_TOO_LARGE] = {"head_too_large", 431},
    [PROTO_FORBIDDEN_ORIGIN] = {"forbidden_origin", 403},
    [PROTO_FORBIDDEN_HOST] = {"forbidden_host", 403},
    [PROTO_UNAUTHORIZED] = {"unauthorized", 401},
    [PROTO_FORBIDDEN] = {"forbidden", 403},
    [PROTO_DEGRADED] = {"degraded", 503},
    [PROTO_INDEX_EXISTS] = {"index_exists", 409},
};

const char *proto_code_name(enum proto_code code)
{
    if ((unsigned)code >= sizeof code_table / sizeof code_table[0]) {
        return "internal";
    }
    return code_table[code].name;
}

int proto_code_http_status(enum proto_code code)
{
    if ((unsigned)code >= sizeof code_table / sizeof code_table[0]) {
        return 500;
    }
    return code_table[code].http;
}

const char *proto_op_name(enum proto_op op)
{
    static const char *const names[] = {
        "none",    "search",  "add",          "get",          "delete",       "stats",
        "health",  "auth",    "indexes",      "create_index", "set_settings", "get_settings",
        "drop_index", "snapshot"};
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "none";
}

enum proto_code proto_code_from_sd(int sd_status)
{
    switch (sd_status) {
    case SD_OK:
        return PROTO_OK;
    case SD_EPARSE:
        return PROTO_BAD_QUERY;
    case SD_EFIELD:
        return PROTO_UNKNOWN_FIELD;
    case SD_ELIMIT:
    case SD_EINVAL:
        return PROTO_BAD_REQUEST;
    case SD_ENOTFOUND:
        return PROTO_NOT_FOUND;
    case SD_ENOSPC:
        return PROTO_DISK_FULL;
    case SD_EBUSY:
        return PROTO_BUSY;
    case SD_EDEGRADED:
        return PROTO_DEGRADED;
    case SD_EEXIST:
        return PROTO_INDEX_EXISTS; /* the one name the engine creates on request */
    default:
        return PROTO_INTERNAL;
    }
}

enum proto_code proto_errorf(struct proto_error *err, enum proto_code code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->allow = NULL;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- request lifetime ---- */

void proto_request_init(struct proto_request *req)
{
    memset(req, 0, sizeof *req);
    memcpy(req->index, "default", sizeof "default");
    req->limit = PROTO_DEFAULT_LIMIT;
    req->snippet = true;
    qry_hl_opts_default(&req->search_opts.hl);
}

void proto_request_free(struct proto_request *req)
{
    json_object_put(req->root);
    free(req->ops);
    free(req->fields);
    free(req->text);
    free(req->lists[0]);
    free(req->lists[1]);
    proto_request_init(req);
}

/* ---- JSON ---- */

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
static enum proto_code refuse_nul_strings(struct json_object *v, const char *what,
                                          struct proto_error *err)
{
    enum proto_code rc = PROTO_OK;
    if (json_object_is_type(v, json_type_string)) {
        if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v))) {
            rc =
                proto_errorf(err, PROTO_BAD_REQUEST, "'%.64s': a string holds \\u0000 (NUL)", what);
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; rc == PROTO_OK && i < json_object_array_length(v); i++) {
            rc = refuse_nul_strings(json_object_array_get_idx(v, i), what, err);
        }
    } else if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            if ((rc = refuse_nul_strings(val, key, err))) {
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
 *   (refuse_nul_strings() checks the other values once the request is parsed);
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
    if (ps->count == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        uint32_t *m = realloc(ps->members, cap * sizeof *m);
        if (!m) {
            return -1;
        }
        ps->members = m;
        ps->cap = cap;
    }
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
                         (int)(keys[i].len < 64 ? keys[i].len : 64), keys[i].p);
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

/* The whole of s[0, len) must be one JSON object. */
static enum proto_code json_parse_object(const char *s, size_t len, struct json_object **out,
                                         struct proto_error *err)
{
    if (!stem_utf8_valid(s, len)) {
        return proto_errorf(err, PROTO_BAD_UTF8, "the request is not valid UTF-8");
    }
    if (len > INT_MAX) {
        return proto_errorf(err, PROTO_TOO_LARGE, "request over %d bytes", INT_MAX);
    }
    if (only_space(s, len)) {
        return proto_errorf(err, PROTO_BAD_JSON, "the request is not a JSON object (empty)");
    }
    *out = NULL;
    struct prescan ps;
    enum proto_code rc = prescan_json(s, len, &ps, err);
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

/* ---- members ---- */

static struct json_object *member(struct json_object *obj, const char *key, bool *present)
{
    struct json_object *v = NULL;
    *present = json_object_object_get_ex(obj, key, &v);
    return v;
}

static enum proto_code get_uint(struct json_object *obj, const char *key, uint32_t max,
                                uint32_t *out, struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, key, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be an integer", key);
    }
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n > (int64_t)max) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", key, max);
    }
    *out = (uint32_t)n;
    return PROTO_OK;
}

static enum proto_code check_weight_name(const char *name, size_t len, struct proto_error *err)
{
    if (len == 0 || len > SEG_MAX_NAME) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "weights: field names are 1 to %d bytes",
                            SEG_MAX_NAME);
    }
    (void)name;
    return PROTO_OK;
}

static enum proto_code add_weight(struct proto_request *req, const char *name, size_t name_len,
                                  double w, struct proto_error *err)
{
    enum proto_code rc = check_weight_name(name, name_len, err);
    if (rc) {
        return rc;
    }
    if (!isfinite(w) || w < 0 || w > PROTO_MAX_WEIGHT) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.64s' must be 0 to %g", name,
                            PROTO_MAX_WEIGHT);
    }
    if (req->nweights >= PROTO_MAX_WEIGHTS) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "weights: at most %d fields",
                            PROTO_MAX_WEIGHTS);
    }
    for (size_t i = 0; i < req->nweights; i++) {
        if (strcmp(req->weights[i].field, name) == 0) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.64s' given twice", name);
        }
    }
    req->weights[req->nweights].field = name;
    req->weights[req->nweights].weight = w == 0 ? 0.0f : (float)w; /* -0 is 0 */
    req->nweights++;
    return PROTO_OK;
}

static enum proto_code get_weights(struct json_object *obj, struct proto_request *req,
                                   struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "weights", &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_object)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'weights' must be an object");
    }
    json_object_object_foreach(v, key, val)
    {
        if (!json_object_is_type(val, json_type_int) &&
            !json_object_is_type(val, json_type_double)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.64s' must be a number", key);
        }
        enum proto_code rc = add_weight(req, key, strlen(key), json_object_get_double(val), err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

static enum proto_code syntax_from(const char *s, size_t len, struct proto_request *req,
                                   struct proto_error *err)
{
    if (len == 4 && memcmp(s, "full", 4) == 0) {
        req->search_opts.syntax = QRY_SYNTAX_FULL;
    } else if (len == 6 && memcmp(s, "simple", 6) == 0) {
        req->search_opts.syntax = QRY_SYNTAX_SIMPLE;
    } else {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'syntax' must be \"full\" or \"simple\"");
    }
    return PROTO_OK;
}

/* A boolean member; absent leaves *out as it is. */
static enum proto_code get_bool(struct json_object *obj, const char *key, bool *out,
                                struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, key, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be true or false", key);
    }
    *out = json_object_get_boolean(v);
    return PROTO_OK;
}

/* The message for a snippet_len or fragments out of its range: the documented one, whatever
 * the number (a negative or huge one fails the integer reading before check_hl_opts). */
static enum proto_code hl_range_error(const char *key, struct proto_error *err)
{
    if (strcmp(key, "fragments") == 0) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'fragments' must be 1 to %d",
                            QRY_MAX_FRAGMENTS);
    }
    return proto_errorf(err, PROTO_BAD_REQUEST, "'snippet_len' must be %d to %d", PROTO_MIN_SNIPPET,
                        PROTO_MAX_SNIPPET);
}

/* The snippet and highlight options, however given: ranges and marks checked once.
 * hl_extras: the request gave fragments, highlight_pre, highlight_post or highlight_offsets,
 * which shape highlights only, so without "highlight": true they would be ignored. */
static enum proto_code check_hl_opts(uint32_t snippet_len, uint32_t fragments, bool hl_extras,
                                     struct proto_request *req, struct proto_error *err)
{
    struct idx_search_opts *o = &req->search_opts;
    if (hl_extras && !o->highlight) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'fragments', 'highlight_pre', 'highlight_post' and "
                            "'highlight_offsets' shape highlights: they need 'highlight' true");
    }
    if (!req->snippet && (snippet_len != UINT32_MAX || fragments != UINT32_MAX)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'snippet_len' and 'fragments' shape snippets: 'snippet' is false");
    }
    if (snippet_len != UINT32_MAX &&
        (snippet_len < PROTO_MIN_SNIPPET || snippet_len > PROTO_MAX_SNIPPET)) {
        return hl_range_error("snippet_len", err);
    }
    if (fragments != UINT32_MAX && (fragments < 1 || fragments > QRY_MAX_FRAGMENTS)) {
        return hl_range_error("fragments", err);
    }
    if (o->hl.pre_len > PROTO_MAX_MARK || o->hl.post_len > PROTO_MAX_MARK) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'highlight_pre' and 'highlight_post' must be at most %d bytes",
                            PROTO_MAX_MARK);
    }
    /* NUL is refused in every string value of a request (refuse_nul_strings), with its message */
    if (memchr(o->hl.pre, '\0', o->hl.pre_len) || memchr(o->hl.post, '\0', o->hl.post_len)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s': a string holds \\u0000 (NUL)",
                            memchr(o->hl.pre, '\0', o->hl.pre_len) ? "highlight_pre"
                                                                   : "highlight_post");
    }
    o->snippet_len = snippet_len == UINT32_MAX ? 0 : snippet_len;
    o->hl.fragments = fragments == UINT32_MAX ? o->hl.fragments : fragments;
    return PROTO_OK;
}

static enum proto_code get_string(struct json_object *obj, const char *key, const char **out,
                                  size_t *len, struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, key, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be a string", key);
    }
    *out = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return PROTO_OK;
}

/* get_uint for snippet_len and fragments: an integer out of range says the documented range
 * (hl_range_error); a value that is no integer says so. */
static enum proto_code get_hl_uint(struct json_object *obj, const char *key, uint32_t *out,
                                   struct proto_error *err)
{
    enum proto_code rc = get_uint(obj, key, UINT32_MAX - 1, out, err);
    struct json_object *v = NULL;
    if (rc != PROTO_OK && json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_int)) {
        return hl_range_error(key, err);
    }
    return rc;
}

static enum proto_code get_hl_opts(struct json_object *obj, struct proto_request *req,
                                   struct proto_error *err)
{
    struct idx_search_opts *o = &req->search_opts;
    uint32_t snippet_len = UINT32_MAX;
    uint32_t fragments = UINT32_MAX;
    enum proto_code rc = get_bool(obj, "highlight", &o->highlight, err);
    if (rc == PROTO_OK) {
        rc = get_bool(obj, "highlight_offsets", &o->hl.wants_offsets, err);
    }
    if (rc == PROTO_OK) {
        rc = get_string(obj, "highlight_pre", &o->hl.pre, &o->hl.pre_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_string(obj, "highlight_post", &o->hl.post, &o->hl.post_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_hl_uint(obj, "snippet_len", &snippet_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_hl_uint(obj, "fragments", &fragments, err);
    }
    bool hl_extras = json_object_object_get_ex(obj, "fragments", NULL) ||
                     json_object_object_get_ex(obj, "highlight_pre", NULL) ||
                     json_object_object_get_ex(obj, "highlight_post", NULL) ||
                     json_object_object_get_ex(obj, "highlight_offsets", NULL);
    return rc ? rc : check_hl_opts(snippet_len, fragments, hl_extras, req, err);
}

/* "proximity": a weight in [0, QRY_MAX_PROXIMITY] (true is QRY_PROXIMITY, false 0). */
static enum proto_code set_proximity(double w, struct proto_request *req, struct proto_error *err)
{
    if (!(w >= 0 && w <= QRY_MAX_PROXIMITY)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'proximity' must be true, false or a weight in [0, %g]",
                            QRY_MAX_PROXIMITY);
    }
    req->proximity = (float)w;
    return PROTO_OK;
}

static enum proto_code get_proximity(struct json_object *obj, struct proto_request *req,
                                     struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "proximity", &present);
    if (!present) {
        return PROTO_OK;
    }
    if (json_object_is_type(v, json_type_boolean)) {
        return set_proximity(json_object_get_boolean(v) ? QRY_PROXIMITY : 0, req, err);
    }
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        return set_proximity(json_object_get_double(v), req, err);
    }
    return set_proximity(-1, req, err); /* the message says what is wanted */
}

/* "prefix_last" reads the last word as still being typed, which only the simple syntax does: with
 * the full one it would be accepted and ignored, so it is refused. */
static enum proto_code check_prefix_last(const struct proto_request *req, struct proto_error *err)
{
    if (req->search_opts.prefix_last && req->search_opts.syntax != QRY_SYNTAX_SIMPLE) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'prefix_last' needs \"syntax\":\"simple\" (in the full syntax, "
                            "write the prefix: word*)");
    }
    return PROTO_OK;
}

/* "drop_words" (present: *value) leaves words out of a query that finds nothing with all of
 * them, which only the simple syntax does (its words are each a word of the box; the full
 * syntax's operators say what must match). Absent, it follows the syntax. */
static enum proto_code set_drop_words(struct proto_request *req, bool present, bool value,
                                      struct proto_error *err)
{
    bool is_simple = req->search_opts.syntax == QRY_SYNTAX_SIMPLE;
    if (present && value && !is_simple) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'drop_words' needs \"syntax\":\"simple\" (the full syntax matches "
                            "what its operators say)");
    }
    req->search_opts.drop_words = present ? value : is_simple;
    return PROTO_OK;
}

/* The search-box options (syntax, prefix_last, layout, typo, proximity, drop_words); absent
 * members keep their defaults. */
static enum proto_code get_search_opts(struct json_object *obj, struct proto_request *req,
                                       struct proto_error *err)
{
    bool present;
    bool layout = !req->search_opts.no_layout;
    bool typo = !req->search_opts.no_typos;
    enum proto_code rc = get_bool(obj, "layout", &layout, err);
    if (rc == PROTO_OK) {
        rc = get_bool(obj, "typo", &typo, err);
    }
    if (rc == PROTO_OK) {
        rc = get_bool(obj, "prefix_last", &req->search_opts.prefix_last, err);
    }
    if (rc == PROTO_OK) {
        rc = get_proximity(obj, req, err);
    }
    req->search_opts.no_layout = !layout;
    req->search_opts.no_typos = !typo;
    struct json_object *v = member(obj, "syntax", &present);
    if (rc == PROTO_OK && present && !json_object_is_type(v, json_type_string)) {
        rc = proto_errorf(err, PROTO_BAD_REQUEST, "'syntax' must be \"full\" or \"simple\"");
    }
    if (rc == PROTO_OK && present) {
        rc = syntax_from(json_object_get_string(v), (size_t)json_object_get_string_len(v), req,
                         err);
    }
    bool drop_words = false;
    bool has_drop_words = false;
    member(obj, "drop_words", &has_drop_words);
    if (rc == PROTO_OK) {
        rc = get_bool(obj, "drop_words", &drop_words, err);
    }
    if (rc == PROTO_OK) {
        rc = set_drop_words(req, has_drop_words, drop_words, err);
    }
    return rc == PROTO_OK ? check_prefix_last(req, err) : rc;
}

/* "facets" or "fields": an array of strings, or one comma-separated string (split in a copy
 * the request owns, req->lists[which]). */
static enum proto_code get_list(struct json_object *obj, enum proto_list which,
                                struct proto_request *req, struct proto_error *err)
{
    bool present;
    const char *what = proto_list_name(which);
    struct json_object *v = member(obj, what, &present);
    if (!present) {
        return PROTO_OK;
    }
    if (json_object_is_type(v, json_type_string)) {
        size_t len = (size_t)json_object_get_string_len(v);
        req->lists[which] = malloc(len + 1);
        if (!req->lists[which]) {
            return proto_errorf(err, PROTO_INTERNAL, "out of memory");
        }
        memcpy(req->lists[which], json_object_get_string(v), len + 1);
        return proto_list_split(req, which, req->lists[which], len, err);
    }
    if (!json_object_is_type(v, json_type_array)) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "'%s' must be an array of strings or a comma-separated string", what);
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        struct json_object *item = json_object_array_get_idx(v, i);
        if (!json_object_is_type(item, json_type_string)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "'%s'[%zu] must be a string", what, i);
        }
        enum proto_code rc = proto_list_add(req, which, json_object_get_string(item),
                                            (size_t)json_object_get_string_len(item), err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

/* filter, sort, facets, fields (issue 11). */
static enum proto_code get_attr_params(struct json_object *obj, struct proto_request *req,
                                       struct proto_error *err)
{
    enum proto_code rc = get_string(obj, "filter", &req->filter, &req->filter_len, err);
    if (rc == PROTO_OK) {
        rc = get_string(obj, "sort", &req->sort, &req->sort_len, err);
    }
    if (rc == PROTO_OK) {
        rc = get_list(obj, PROTO_LIST_FACETS, req, err);
    }
    return rc ? rc : get_list(obj, PROTO_LIST_FIELDS, req, err);
}

/* Every member of obj must be "index" or one of names (NULL-terminated). */
static enum proto_code check_members_known(struct json_object *obj, const char *const *names,
                                           bool takes_op, struct proto_error *err)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (proto_is_known(names, key) || strcmp(key, "index") == 0 ||
            (takes_op && strcmp(key, "op") == 0)) {
            continue;
        }
        return proto_errorf(err, PROTO_BAD_REQUEST, "unknown parameter '%.64s'", key);
    }
    return PROTO_OK;
}

static enum proto_code get_search(struct json_object *obj, struct proto_request *req,
                                  struct proto_error *err)
{
    bool present;
    struct json_object *q = member(obj, "q", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "missing 'q'"); /* as the query string says */
    }
    if (!json_object_is_type(q, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'q' must be a string");
    }
    req->q = json_object_get_string(q);
    req->q_len = (size_t)json_object_get_string_len(q);
    enum proto_code rc = get_uint(obj, "limit", QRY_MAX_LIMIT, &req->limit, err);
    if (rc == PROTO_OK) {
        rc = get_uint(obj, "offset", QRY_MAX_OFFSET, &req->offset, err);
    }
    if (rc == PROTO_OK) {
        rc = get_weights(obj, req, err);
    }
    if (rc == PROTO_OK) {
        rc = get_search_opts(obj, req, err);
    }
    if (rc == PROTO_OK) {
        rc = get_bool(obj, "snippet", &req->snippet, err); /* before the options it makes moot */
    }
    if (rc == PROTO_OK) {
        rc = get_hl_opts(obj, req, err);
    }
    return rc == PROTO_OK ? get_attr_params(obj, req, err) : rc;
}

/* An id, named name ("'id'", "ids[3]") in what's messages: 1 to PROTO_MAX_ID bytes, no NUL. */
static enum proto_code check_id(const char *what, const char *name, const char *id, size_t len,
                                struct proto_error *err)
{
    if (len == 0 || len > PROTO_MAX_ID) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: %s must be 1 to %d bytes", what, name,
                            PROTO_MAX_ID);
    }
    if (memchr(id, '\0', len)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: %s must not contain NUL", what, name);
    }
    return PROTO_OK;
}

/* An id's value v: a string, or an integer stored as its decimal string (the text lives in
 * v's own print buffer, valid as long as v). */
static enum proto_code id_value(struct json_object *v, const char *what, const char *name,
                                const char **id, size_t *len, struct proto_error *err)
{
    if (json_object_is_type(v, json_type_string)) {
        *id = json_object_get_string(v);
        *len = (size_t)json_object_get_string_len(v);
    } else if (json_object_is_type(v, json_type_int)) {
        *id = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        *len = strlen(*id);
    } else {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: %s must be a string or an integer", what,
                            name);
    }
    return check_id(what, name, *id, *len, err);
}

/* An id member. */
static enum proto_code get_id(struct json_object *obj, const char *what, const char **id,
                              size_t *len, struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "id", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: missing 'id'", what);
    }
    return id_value(v, what, "'id'", id, len, err);
}

/* delete: "id", one document (not_found when it is missing), or "ids", 1 to PROTO_MAX_BATCH of
 * them deleted in one write, as add's "docs" are added (the answer counts the missing ones). */
static enum proto_code get_delete(struct json_object *obj, struct proto_request *req,
                                  struct proto_error *err)
{
    bool has_id, has_ids;
    member(obj, "id", &has_id);
    struct json_object *ids = member(obj, "ids", &has_ids);
    if (has_id == has_ids) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "delete needs 'id' or 'ids' (one of them)");
    }
    if (has_id) {
        return get_id(obj, "delete", &req->id, &req->id_len, err);
    }
    size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    if (n == 0 || n > PROTO_MAX_BATCH) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "delete: 'ids' must be an array of 1 to %d ids",
                            PROTO_MAX_BATCH);
    }
    req->ops = calloc(n, sizeof *req->ops);
    if (!req->ops) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "ids[%zu]", i);
        req->ops[i].type = IDX_OP_DELETE;
        struct seg_doc *d = &req->ops[i].doc;
        enum proto_code rc =
            id_value(json_object_array_get_idx(ids, i), "delete", name, &d->id, &d->id_len, err);
        if (rc) {
            return rc;
        }
    }
    req->nops = n;
    return PROTO_OK;
}

#define PROTO_NOT_FINITE                                                                           \
    "a number past a double's range (about 1.8e308 either way); send it as a string"

/* A double that is not finite: NaN and Infinity, which the prescan refuses as not JSON, or a
 * number past a double's range (1e999), which json-c reads as Infinity. It would be stored
 * and sent back as Infinity, which is not JSON, so a stored value must not hold one. */
static bool json_all_finite(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_double:
        return isfinite(json_object_get_double(v));
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (!json_all_finite(json_object_array_get_idx(v, i))) {
                return false;
            }
        }
        return true;
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            if (!json_all_finite(val)) {
                return false;
            }
        }
        return true;
    }
    default:
        return true;
    }
}

/* Fills op from one document object, docs[n] of a batch, or the one "doc" (is_one: messages
 * name it so); its fields go to fields[0..] (room for SEG_MAX_FIELDS). */
static enum proto_code parse_doc(struct json_object *doc, size_t n, bool is_one, struct idx_op *op,
                                 struct seg_field *fields, struct proto_error *err)
{
    char what[32] = "doc";
    if (!is_one) {
        snprintf(what, sizeof what, "docs[%zu]", n);
    }
    if (!json_object_is_type(doc, json_type_object)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: not a JSON object", what);
    }
    op->type = IDX_OP_UPSERT;
    enum proto_code rc = get_id(doc, what, &op->doc.id, &op->doc.id_len, err);
    if (rc) {
        return rc;
    }
    size_t nf = 0;
    json_object_object_foreach(doc, key, val)
    {
        size_t klen = strlen(key);
        if (klen == 2 && memcmp(key, "id", 2) == 0) {
            continue;
        }
        if (klen == 0 || klen > SEG_MAX_NAME) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "%s: field names are 1 to %d bytes", what,
                                SEG_MAX_NAME);
        }
        if (nf >= SEG_MAX_FIELDS) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "%s: more than %d fields", what,
                                SEG_MAX_FIELDS);
        }
        struct seg_field *f = &fields[nf++];
        f->name = key;
        f->name_len = klen;
        if (json_object_is_type(val, json_type_string)) {
            f->value = json_object_get_string(val);
            f->value_len = (size_t)json_object_get_string_len(val);
            f->type = SEG_TEXT;
        } else {
            if (!json_all_finite(val)) {
                return proto_errorf(err, PROTO_BAD_REQUEST, "%s: '%.64s': " PROTO_NOT_FINITE, what,
                                    key);
            }
            /* stored as given, not indexed; "null" for a JSON null (val NULL) */
            f->value = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
            f->value_len = strlen(f->value);
            f->type = SEG_RAW;
        }
    }
    op->doc.fields = fields;
    op->doc.nfields = nf;
    return PROTO_OK;
}

/* docs[0, n) are json objects (borrowed from req->root). */
static enum proto_code parse_docs(struct json_object **docs, size_t n, bool is_one,
                                  struct proto_request *req, struct proto_error *err)
{
    if (n > PROTO_MAX_BATCH) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "at most %d documents a request",
                            PROTO_MAX_BATCH);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = json_object_is_type(docs[i], json_type_object)
                       ? (size_t)json_object_object_length(docs[i])
                       : 0;
        total += c < SEG_MAX_FIELDS ? c : SEG_MAX_FIELDS; /* parse_doc stops beyond */
    }
    req->ops = calloc(n ? n : 1, sizeof *req->ops);
    req->fields = calloc(total + SEG_MAX_FIELDS, sizeof *req->fields);
    if (!req->ops || !req->fields) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        enum proto_code rc = parse_doc(docs[i], i, is_one, &req->ops[i], req->fields + used, err);
        if (rc) {
            return rc;
        }
        used += req->ops[i].doc.nfields;
    }
    req->nops = n;
    return PROTO_OK;
}

static enum proto_code get_add(struct json_object *obj, struct proto_request *req,
                               struct proto_error *err)
{
    bool has_doc, has_docs;
    struct json_object *doc = member(obj, "doc", &has_doc);
    struct json_object *docs = member(obj, "docs", &has_docs);
    if (has_doc == has_docs) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "add needs 'doc' or 'docs' (one of them)");
    }
    if (has_doc) {
        return parse_docs(&doc, 1, true, req, err);
    }
    if (!json_object_is_type(docs, json_type_array)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'docs' must be an array");
    }
    size_t n = json_object_array_length(docs);
    if (n > PROTO_MAX_BATCH) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "at most %d documents a request",
                            PROTO_MAX_BATCH);
    }
    struct json_object **items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = json_object_array_get_idx(docs, i);
    }
    enum proto_code rc = parse_docs(items, n, false, req, err);
    free(items);
    return rc;
}

static enum proto_code set_index(struct proto_request *req, const char *name, size_t len,
                                 struct proto_error *err)
{
    if (!idx_name_valid(name, len) || len > IDX_MAX_NAME) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "bad index name: use [a-z0-9_-], 1 to %d bytes, not starting with '-'",
                            IDX_MAX_NAME);
    }
    memcpy(req->index, name, len);
    req->index[len] = '\0';
    return PROTO_OK;
}

static enum proto_code get_index(struct json_object *obj, struct proto_request *req,
                                 struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "index", &present);
    if (!present) {
        return PROTO_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'index' must be a string");
    }
    return set_index(req, json_object_get_string(v), (size_t)json_object_get_string_len(v), err);
}

/* auth: "key", a string of 1 to PROTO_MAX_KEY bytes. */
static enum proto_code get_key(struct json_object *obj, struct proto_request *req,
                               struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "key", &present);
    if (!present || !json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "auth: 'key' must be a string");
    }
    req->key = json_object_get_string(v);
    req->key_len = (size_t)json_object_get_string_len(v);
    if (req->key_len == 0 || req->key_len > PROTO_MAX_KEY) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "auth: 'key' must be 1 to %d bytes",
                            PROTO_MAX_KEY);
    }
    return PROTO_OK;
}

/* What each line op takes besides "op": its members, and whether "index" is refused (the
 * op is about no index), optional ("default" when absent) or required (index management,
 * where a default would make a typo drop or replace the wrong index). */
enum line_index { LINE_INDEX_NONE, LINE_INDEX_OPTIONAL, LINE_INDEX_REQUIRED };

static const char *const no_members[] = {NULL};
static const char *const add_members[] = {"doc", "docs", NULL};
static const char *const id_members[] = {"id", NULL};
static const char *const delete_members[] = {"id", "ids", NULL};
static const char *const ids_members[] = {"ids", NULL};
static const char *const key_members[] = {"key", NULL};
static const char *const settings_members[] = {"settings", NULL};
static const char *const set_settings_members[] = {"settings", "merge", NULL};
static const char *const snapshot_members[] = {"name", NULL};

static const struct line_op {
    const char *name;
    enum proto_op op;
    const char *const *members;
    enum line_index index;
} line_ops[] = {
    {"search", PROTO_OP_SEARCH, proto_search_params, LINE_INDEX_OPTIONAL},
    {"add", PROTO_OP_ADD, add_members, LINE_INDEX_OPTIONAL},
    {"get", PROTO_OP_GET, id_members, LINE_INDEX_OPTIONAL},
    {"delete", PROTO_OP_DELETE, delete_members, LINE_INDEX_OPTIONAL},
    {"stats", PROTO_OP_STATS, no_members, LINE_INDEX_OPTIONAL},
    {"health", PROTO_OP_HEALTH, no_members, LINE_INDEX_NONE},
    {"auth", PROTO_OP_AUTH, key_members, LINE_INDEX_NONE},
    {"indexes", PROTO_OP_INDEXES, no_members, LINE_INDEX_NONE},
    {"create_index", PROTO_OP_CREATE_INDEX, settings_members, LINE_INDEX_REQUIRED},
    {"set_settings", PROTO_OP_SET_SETTINGS, set_settings_members, LINE_INDEX_REQUIRED},
    {"get_settings", PROTO_OP_GET_SETTINGS, no_members, LINE_INDEX_REQUIRED},
    {"drop_index", PROTO_OP_DROP_INDEX, no_members, LINE_INDEX_REQUIRED},
    {"snapshot", PROTO_OP_SNAPSHOT, snapshot_members, LINE_INDEX_REQUIRED},
};

static const struct line_op *line_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof line_ops / sizeof line_ops[0]; i++) {
        if (strcmp(name, line_ops[i].name) == 0) {
            return &line_ops[i];
        }
    }
    return NULL;
}

/* Settings (a JSON object, borrowed from req->root) for the engine: compact JSON text in
 * json-c's print buffer of v, valid as long as req->root. */
static enum proto_code set_settings_text(struct json_object *v, struct proto_request *req,
                                         struct proto_error *err)
{
    if (!json_all_finite(v)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "settings: " PROTO_NOT_FINITE);
    }
    req->settings =
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    req->settings_len = strlen(req->settings);
    return PROTO_OK;
}

/* create_index, set_settings: "settings", a JSON object. */
static enum proto_code get_settings_member(struct json_object *obj, struct proto_request *req,
                                           struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "settings", &present);
    if (!present || !json_object_is_type(v, json_type_object)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: 'settings' must be a JSON object",
                            proto_op_name(req->op));
    }
    return set_settings_text(v, req, err);
}

/* snapshot: "name", a string that is a valid index name (it becomes a directory name under
 * --snapshot-dir, so it can never be a path). */
static enum proto_code get_snapshot_name(struct json_object *obj, struct proto_request *req,
                                         struct proto_error *err)
{
    bool present;
    struct json_object *v = member(obj, "name", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "snapshot: missing 'name'");
    }
    if (!json_object_is_type(v, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "snapshot: 'name' must be a string");
    }
    const char *name = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (!idx_name_valid(name, len) || strlen(name) != len) {
        return proto_errorf(err, PROTO_BAD_REQUEST,
                            "snapshot: bad name: use [a-z0-9_-], 1 to %d bytes, not starting "
                            "with '-'",
                            IDX_MAX_NAME);
    }
    memcpy(req->snapshot, name, len);
    req->snapshot[len] = '\0';
    return PROTO_OK;
}

/* The op's own members, once "op" and "index" are known good. */
static enum proto_code parse_op_members(struct proto_request *req, struct proto_error *err)
{
    switch (req->op) {
    case PROTO_OP_SEARCH:
        return get_search(req->root, req, err);
    case PROTO_OP_ADD:
        return get_add(req->root, req, err);
    case PROTO_OP_GET:
        return get_id(req->root, proto_op_name(req->op), &req->id, &req->id_len, err);
    case PROTO_OP_DELETE:
        return get_delete(req->root, req, err);
    case PROTO_OP_AUTH:
        return get_key(req->root, req, err);
    case PROTO_OP_CREATE_INDEX:
        return get_settings_member(req->root, req, err);
    case PROTO_OP_SET_SETTINGS: {
        enum proto_code rc = get_bool(req->root, "merge", &req->is_settings_merge, err);
        return rc ? rc : get_settings_member(req->root, req, err);
    }
    case PROTO_OP_SNAPSHOT:
        return get_snapshot_name(req->root, req, err);
    default:
        return PROTO_OK;
    }
}

/* The members of a line-protocol request object (req->root). */
static enum proto_code parse_line_members(struct proto_request *req, struct proto_error *err)
{
    bool present;
    struct json_object *opv = member(req->root, "op", &present);
    if (!present) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "missing 'op'");
    }
    if (!json_object_is_type(opv, json_type_string)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'op' must be a string");
    }
    const struct line_op *lo = line_op_find(json_object_get_string(opv));
    if (!lo) {
        return proto_errorf(err, PROTO_UNKNOWN_OP, "unknown op '%.64s'",
                            json_object_get_string(opv));
    }
    req->op = lo->op;
    bool has_index = json_object_object_get_ex(req->root, "index", NULL);
    if (has_index && lo->index == LINE_INDEX_NONE) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "unknown parameter 'index' (%s names no index)",
                            lo->name);
    }
    if (!has_index && lo->index == LINE_INDEX_REQUIRED) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "%s: missing 'index'", lo->name);
    }
    enum proto_code rc = check_members_known(req->root, lo->members, true, err);
    if (rc == PROTO_OK) {
        rc = get_index(req->root, req, err);
    }
    return rc ? rc : parse_op_members(req, err);
}

/* refuse_nul_strings() of a line request's members but its documents. */
static enum proto_code refuse_nul_params(struct json_object *root, struct proto_error *err)
{
    json_object_object_foreach(root, key, val)
    {
        bool is_doc = strcmp(key, "doc") == 0 || strcmp(key, "docs") == 0;
        enum proto_code rc = is_doc ? PROTO_OK : refuse_nul_strings(val, key, err);
        if (rc) {
            return rc;
        }
    }
    return PROTO_OK;
}

enum proto_code proto_parse_line(const char *line, size_t len, struct proto_request *req,
                                 struct proto_error *err)
{
    proto_request_free(req);
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    enum proto_code rc = json_parse_object(line, len, &req->root, err);
    if (rc == PROTO_OK) {
        rc = parse_line_members(req, err);
    }
    return rc ? rc : refuse_nul_params(req->root, err);
}

/* ---- HTTP ---- */

size_t proto_percent_decode(const char *s, size_t len, char *out, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3) {
                return (size_t)-1;
            }
            int hi = proto_hex_value(s[i + 1]), lo = proto_hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return (size_t)-1;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    return o;
}

/* One decoded query-string parameter; key and value are NUL-terminated
 * and point into req->text. */
struct http_param {
    const char *key;
    const char *value;
    size_t value_len;
};

#define HTTP_MAX_PARAMS 32

/* Splits and decodes query[0, len) into params, writing decoded text at *dst.
 * More than HTTP_MAX_PARAMS pieces, or a key given twice, is bad_request: a
 * parameter is never silently dropped or overridden (PROTOCOL.md). */
static enum proto_code parse_query(const char *query, size_t len, char **dst,
                                   struct http_param *params, size_t *nparams,
                                   struct proto_error *err)
{
    size_t i = 0;
    *nparams = 0;
    /* Every piece costs at most 2 bytes more than its source (two NULs); at
     * most HTTP_MAX_PARAMS pieces are decoded, so the caller's buffer of
     * len + 2 * HTTP_MAX_PARAMS bytes is enough. */
    size_t pieces = 0;
    while (i < len) {
        const char *amp = memchr(query + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - query) : len;
        if (end == i) {
            i = end + 1;
            continue;
        }
        if (pieces++ == HTTP_MAX_PARAMS) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "more than %d query-string parameters",
                                HTTP_MAX_PARAMS);
        }
        const char *eq = memchr(query + i, '=', end - i);
        size_t kend = eq ? (size_t)(eq - query) : end;
        struct http_param *p = &params[*nparams];
        size_t klen = proto_percent_decode(query + i, kend - i, *dst, true);
        if (klen == (size_t)-1) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the query string");
        }
        if (klen == 0) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "a query-string parameter without a name");
        }
        if (!stem_utf8_valid(*dst, klen)) {
            return proto_errorf(err, PROTO_BAD_UTF8,
                                "a query-string parameter's name is not "
                                "valid UTF-8");
        }
        if (memchr(*dst, '\0', klen)) {
            return proto_errorf(err, PROTO_BAD_REQUEST,
                                "%%00 (NUL) in a query-string "
                                "parameter's name");
        }
        p->key = *dst;
        (*dst)[klen] = '\0';
        *dst += klen + 1;
        size_t vstart = eq ? kend + 1 : end;
        size_t vlen = proto_percent_decode(query + vstart, end - vstart, *dst, true);
        if (vlen == (size_t)-1) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the query string");
        }
        if (!stem_utf8_valid(*dst, vlen)) {
            return proto_errorf(err, PROTO_BAD_UTF8, "parameter '%.32s' is not valid UTF-8",
                                p->key);
        }
        if (memchr(*dst, '\0', vlen)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "parameter '%.32s' holds %%00 (NUL)",
                                p->key);
        }
        p->value = *dst;
        p->value_len = vlen;
        (*dst)[vlen] = '\0';
        *dst += vlen + 1;
        (*nparams)++;
        i = end + 1;
    }
    for (size_t a = 1; a < *nparams; a++) {
        for (size_t b = 0; b < a; b++) {
            if (strcmp(params[a].key, params[b].key) == 0) {
                return proto_errorf(err, PROTO_BAD_REQUEST, "parameter '%.32s' given twice",
                                    params[a].key);
            }
        }
    }
    return PROTO_OK;
}

static const struct http_param *find_param(const struct http_param *params, size_t n,
                                           const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(params[i].key, key) == 0) {
            return &params[i];
        }
    }
    return NULL;
}

/* A decimal 0..max with digits only; "-0" (any number of zeros after the '-') is 0, as the
 * JSON number -0 is on the line protocol. */
static enum proto_code text_uint(const struct http_param *p, uint32_t max, uint32_t *out,
                                 struct proto_error *err)
{
    uint64_t v = 0;
    size_t start = p->value_len > 1 && p->value[0] == '-' ? 1 : 0;
    if (p->value_len == start || p->value_len - start > 10) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", p->key, max);
    }
    for (size_t i = start; i < p->value_len; i++) {
        if (p->value[i] < '0' || p->value[i] > '9') {
            return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", p->key, max);
        }
        v = v * 10 + (uint64_t)(p->value[i] - '0');
    }
    if (v > max || (start && v != 0)) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be 0 to %u", p->key, max);
    }
    *out = (uint32_t)v;
    return PROTO_OK;
}

/* Whether s is one JSON number and nothing else, so that the query string takes the numbers
 * the JSON form takes (strtod alone also reads "0x10", "inf" and " 3"). */
static bool is_json_number(const char *s)
{
    size_t len = strlen(s), last = 0;
    struct proto_error ignored;
    return len > 0 && (s[0] == '-' || is_digit(s[0])) &&
           number_end(s, len, 0, &last, &ignored) == PROTO_OK && last + 1 == len;
}

/* "title:3,body:1" (the value is NUL-terminated text we own: split in place). A field name
 * may hold ':' itself: the number is after the last one. */
static enum proto_code text_weights(char *s, struct proto_request *req, struct proto_error *err)
{
    while (true) {
        char *comma = strchr(s, ',');
        if (comma) {
            *comma = '\0';
        }
        char *colon = strrchr(s, ':');
        if (!colon) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: want field:number, got '%.64s'",
                                s);
        }
        *colon = '\0';
        if (!is_json_number(colon + 1)) {
            return proto_errorf(err, PROTO_BAD_REQUEST, "weights: '%.64s' must be a number", s);
        }
        double w = strtod(colon + 1, NULL);
        enum proto_code rc = add_weight(req, s, strlen(s), w, err);
        if (rc) {
            return rc;
        }
        if (!comma) {
            break;
        }
        s = comma + 1;
    }
    return PROTO_OK;
}

/* proximity=true, false or a weight (as in JSON; "1" is the weight 1). */
static enum proto_code text_proximity(const char *s, struct proto_request *req,
                                      struct proto_error *err)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        return set_proximity(s[0] == 't' ? QRY_PROXIMITY : 0, req, err);
    }
    char *end;
    double w = strtod(s, &end);
    return set_proximity(end == s || *end != '\0' ? -1 : w, req, err);
}

/* true/1 or false/0, as for snippet=. */
static enum proto_code text_bool(const struct http_param *p, bool *out, struct proto_error *err)
{
    if (strcmp(p->value, "false") == 0 || strcmp(p->value, "0") == 0) {
        *out = false;
    } else if (strcmp(p->value, "true") == 0 || strcmp(p->value, "1") == 0) {
        *out = true;
    } else {
        return proto_errorf(err, PROTO_BAD_REQUEST, "'%s' must be true or false", p->key);
    }
    return PROTO_OK;
}

static enum proto_code hl_from_params(const struct http_param *params, size_t n,
                                      struct proto_request *req, struct proto_error *err)
{
    struct idx_search_opts *o = &req->search_opts;
    uint32_t snippet_len = UINT32_MAX;
    uint32_t fragments = UINT32_MAX;
    const struct http_param *p;
    enum proto_code rc = PROTO_OK;
    if ((p = find_param(params, n, "highlight"))) {
        rc = text_bool(p, &o->highlight, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "highlight_offsets"))) {
        rc = text_bool(p, &o->hl.wants_offsets, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "highlight_pre"))) {
        o->hl.pre = p->value;
        o->hl.pre_len = p->value_len;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "highlight_post"))) {
        o->hl.post = p->value;
        o->hl.post_len = p->value_len;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "snippet_len"))) {
        rc = text_uint(p, UINT32_MAX - 1, &snippet_len, err) ? hl_range_error(p->key, err)
                                                             : PROTO_OK;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "fragments"))) {
        rc = text_uint(p, UINT32_MAX - 1, &fragments, err) ? hl_range_error(p->key, err) : PROTO_OK;
    }
    bool hl_extras = find_param(params, n, "fragments") || find_param(params, n, "highlight_pre") ||
                     find_param(params, n, "highlight_post") ||
                     find_param(params, n, "highlight_offsets");
    return rc ? rc : check_hl_opts(snippet_len, fragments, hl_extras, req, err);
}

/* filter, sort, and the comma-separated facets and fields (split in place in req->text). */
static enum proto_code attr_from_params(const struct http_param *params, size_t n,
                                        struct proto_request *req, struct proto_error *err)
{
    const struct http_param *p;
    enum proto_code rc = PROTO_OK;
    if ((p = find_param(params, n, "filter"))) {
        req->filter = p->value;
        req->filter_len = p->value_len;
    }
    if ((p = find_param(params, n, "sort"))) {
        req->sort = p->value;
        req->sort_len = p->value_len;
    }
    if ((p = find_param(params, n, "facets"))) {
        rc = proto_list_split(req, PROTO_LIST_FACETS, (char *)p->value, p->value_len, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "fields"))) {
        rc = proto_list_split(req, PROTO_LIST_FIELDS, (char *)p->value, p->value_len, err);
    }
    return rc;
}

/* Every query-string key must be "index" (when the route takes it) or one of names. */
static enum proto_code check_params_known(const struct http_param *params, size_t n,
                                          const char *const *names, bool takes_index,
                                          struct proto_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key;
        if (proto_is_known(names, key) || (takes_index && strcmp(key, "index") == 0)) {
            continue;
        }
        return proto_errorf(err, PROTO_BAD_REQUEST, "unknown parameter '%.64s'", key);
    }
    return PROTO_OK;
}

static enum proto_code search_from_params(const struct http_param *params, size_t n,
                                          struct proto_request *req, struct proto_error *err)
{
    const struct http_param *p = find_param(params, n, "q");
    if (!p) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "missing 'q'");
    }
    req->q = p->value;
    req->q_len = p->value_len;
    enum proto_code rc = PROTO_OK;
    if ((p = find_param(params, n, "limit"))) {
        rc = text_uint(p, QRY_MAX_LIMIT, &req->limit, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "offset"))) {
        rc = text_uint(p, QRY_MAX_OFFSET, &req->offset, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "weights"))) {
        rc = text_weights((char *)p->value, req, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "snippet"))) {
        rc = text_bool(p, &req->snippet, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "syntax"))) {
        rc = syntax_from(p->value, p->value_len, req, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "layout"))) {
        bool layout = true;
        rc = text_bool(p, &layout, err);
        req->search_opts.no_layout = !layout;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "typo"))) {
        bool typo = true;
        rc = text_bool(p, &typo, err);
        req->search_opts.no_typos = !typo;
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "prefix_last"))) {
        rc = text_bool(p, &req->search_opts.prefix_last, err);
    }
    if (rc == PROTO_OK) {
        rc = check_prefix_last(req, err);
    }
    bool drop_words = false;
    const struct http_param *dw = find_param(params, n, "drop_words");
    if (rc == PROTO_OK && dw) {
        rc = text_bool(dw, &drop_words, err);
    }
    if (rc == PROTO_OK) {
        rc = set_drop_words(req, dw != NULL, drop_words, err);
    }
    if (rc == PROTO_OK && (p = find_param(params, n, "proximity"))) {
        rc = text_proximity(p->value, req, err);
    }
    if (rc == PROTO_OK) {
        rc = attr_from_params(params, n, req, err);
    }
    return rc == PROTO_OK ? hl_from_params(params, n, req, err) : rc;
}

/* POST /docs: one JSON object, or several separated by whitespace (NDJSON:
 * one document a line). Deciding by what parses rather than by counting
 * lines also accepts a single pretty-printed document. */
static enum proto_code docs_from_body(const char *body, size_t len, struct proto_request *req,
                                      struct proto_error *err)
{
    if (!stem_utf8_valid(body, len)) {
        return proto_errorf(err, PROTO_BAD_UTF8, "the request is not valid UTF-8");
    }
    if (len > INT_MAX) {
        return proto_errorf(err, PROTO_TOO_LARGE, "request over %d bytes", INT_MAX);
    }
    struct prescan ps;
    enum proto_code rc = prescan_json(body, len, &ps, err);
    if (rc) {
        prescan_free(&ps);
        return rc;
    }
    req->root = json_object_new_array();
    struct json_tokener *tok = tokener_new(err);
    if (!req->root || !tok) {
        json_tokener_free(tok);
        prescan_free(&ps);
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    size_t pos = 0, line = 1;
    while (rc == PROTO_OK && !only_space(body + pos, len - pos)) {
        if (json_object_array_length(req->root) >= PROTO_MAX_BATCH) {
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
                         json_object_array_length(req->root) + 1, line, msg);
            break;
        }
        json_object_array_add(req->root, doc);
        for (size_t i = pos; i < pos + used; i++) {
            line += body[i] == '\n';
        }
        pos += used;
    }
    json_tokener_free(tok);
    if (rc == PROTO_OK) {
        rc = check_repeated_keys(req->root, body, len, &ps, err);
    }
    prescan_free(&ps);
    if (rc) {
        return rc;
    }
    size_t n = json_object_array_length(req->root);
    if (n == 0) {
        return proto_errorf(err, PROTO_BAD_JSON, "the body holds no JSON document");
    }
    struct json_object **items = malloc(n * sizeof *items);
    if (!items) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = json_object_array_get_idx(req->root, i);
    }
    rc = parse_docs(items, n, false, req, err);
    free(items);
    return rc;
}

static enum proto_code method_not_allowed(struct proto_error *err, const char *allow)
{
    proto_errorf(err, PROTO_METHOD_NOT_ALLOWED, "method not allowed; use %s", allow);
    err->allow = allow;
    return PROTO_METHOD_NOT_ALLOWED;
}

static bool path_is(const char *path, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(path, want, len) == 0;
}

/* GET|DELETE /docs/{id}: raw is the still-encoded id. */
static enum proto_code route_doc_id(enum proto_method method, const char *raw, size_t raw_len,
                                    char **dst, struct proto_request *req, struct proto_error *err)
{
    if (method == PROTO_GET || method == PROTO_HEAD) {
        req->op = PROTO_OP_GET;
    } else if (method == PROTO_DELETE) {
        req->op = PROTO_OP_DELETE;
    } else {
        return method_not_allowed(err, "GET, DELETE");
    }
    size_t len = proto_percent_decode(raw, raw_len, *dst, false);
    if (len == (size_t)-1) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the document id");
    }
    if (!stem_utf8_valid(*dst, len)) {
        return proto_errorf(err, PROTO_BAD_UTF8, "the document id is not valid UTF-8");
    }
    req->id = *dst;
    req->id_len = len;
    (*dst)[len] = '\0';
    *dst += len + 1;
    return check_id(proto_op_name(req->op), "'id'", req->id, req->id_len, err);
}

/* The settings body of PUT /indexes/NAME: one JSON object, as for create_index's "settings". */
static enum proto_code settings_from_body(const char *body, size_t len, struct proto_request *req,
                                          struct proto_error *err)
{
    enum proto_code rc = json_parse_object(body, len, &req->root, err);
    return rc ? rc : set_settings_text(req->root, req, err);
}

/* GET /indexes and GET|PUT|DELETE /indexes/{name}: raw is the still-encoded name (NULL for
 * the list). The name is checked like any index name before anything acts on it, so no
 * spelling of "../x" reaches a path. */
static enum proto_code route_indexes(enum proto_method method, const char *raw, size_t raw_len,
                                     char **dst, const char *body, size_t body_len,
                                     struct proto_request *req, struct proto_error *err)
{
    bool get = method == PROTO_GET || method == PROTO_HEAD;
    if (!raw) {
        req->op = PROTO_OP_INDEXES;
        return get ? PROTO_OK : method_not_allowed(err, "GET");
    }
    if (get) {
        req->op = PROTO_OP_GET_SETTINGS;
    } else if (method == PROTO_PUT) {
        req->op = PROTO_OP_SET_SETTINGS;
    } else if (method == PROTO_DELETE) {
        req->op = PROTO_OP_DROP_INDEX;
    } else {
        return method_not_allowed(err, "GET, PUT, DELETE");
    }
    size_t len = proto_percent_decode(raw, raw_len, *dst, false);
    if (len == (size_t)-1) {
        return proto_errorf(err, PROTO_BAD_REQUEST, "bad percent-escape in the index name");
    }
    enum proto_code rc = set_index(req, *dst, len, err);
    if (rc == PROTO_OK && req->op == PROTO_OP_SET_SETTINGS) {
        rc = settings_from_body(body, body_len, req, err);
    }
    return rc;
}

static const char *const no_params[] = {NULL};

/* POST /search: the body holds the search; the query string may only name the index, and
 * then the body may not (one of the two would be ignored). */
static enum proto_code route_search_post(const char *body, size_t body_len, bool index_in_query,
                                         struct proto_request *req, struct proto_error *err)
{
    enum proto_code rc = json_parse_object(body, body_len, &req->root, err);
    if (rc == PROTO_OK) {
        rc = check_members_known(req->root, proto_search_params, false, err);
    }
    if (rc == PROTO_OK && index_in_query && json_object_object_get_ex(req->root, "index", NULL)) {
        rc = proto_errorf(err, PROTO_BAD_REQUEST,
                          "the index is named twice: in the query string and in the body");
    }
    if (rc == PROTO_OK) {
        rc = get_index(req->root, req, err);
    }
    return rc ? rc : get_search(req->root, req, err);
}

/* POST /indexes/{index}/snapshot with {"name":…}: the index from the path, which no
 * ?index= may contradict (checked by the caller). */
static enum proto_code route_snapshot(enum proto_method method, const char *path, size_t path_len,
                                      const char *body, size_t body_len, struct proto_request *req,
                                      struct proto_error *err)
{
    static const char suffix[] = "/snapshot";
    size_t name_len = path_len - 9 - (sizeof suffix - 1); /* "/indexes/" NAME suffix */
    req->op = PROTO_OP_SNAPSHOT;
    enum proto_code rc = set_index(req, path + 9, name_len, err);
    if (rc) {
        return rc;
    }
    if (method != PROTO_POST) {
        return method_not_allowed(err, "POST");
    }
    rc = json_parse_object(body, body_len, &req->root, err);
    if (rc == PROTO_OK) {
        rc = check_members_known(req->root, snapshot_members, false, err);
    }
    return rc ? rc : get_snapshot_name(req->root, req, err);
}

static bool is_snapshot_path(const char *path, size_t len)
{
    return len > 9 + 9 && memcmp(path, "/indexes/", 9) == 0 &&
           memcmp(path + len - 9, "/snapshot", 9) == 0 &&
           !memchr(path + 9, '/', len - 18);
}

static enum proto_code route(enum proto_method method, const char *path, size_t path_len,
                             char **dst, const struct http_param *params, size_t nparams,
                             const char *body, size_t body_len, struct proto_request *req,
                             struct proto_error *err)
{
    bool get = method == PROTO_GET || method == PROTO_HEAD;
    if (path_is(path, path_len, "/search")) {
        req->op = PROTO_OP_SEARCH;
        if (get) {
            enum proto_code rc =
                check_params_known(params, nparams, proto_search_params, true, err);
            return rc ? rc : search_from_params(params, nparams, req, err);
        }
        if (method != PROTO_POST) {
            return method_not_allowed(err, "GET, POST");
        }
        enum proto_code rc = check_params_known(params, nparams, no_params, true, err);
        return rc ? rc
                  : route_search_post(body, body_len, find_param(params, nparams, "index"), req,
                                      err);
    }
    if (path_is(path, path_len, "/indexes") ||
        (path_len > 9 && memcmp(path, "/indexes/", 9) == 0)) {
        enum proto_code rc = check_params_known(params, nparams, no_params, false, err);
        if (rc == PROTO_OK && is_snapshot_path(path, path_len)) {
            return route_snapshot(method, path, path_len, body, body_len, req, err);
        }
        if (rc == PROTO_OK && path_len > 9 && memchr(path + 9, '/', path_len - 9)) {
            return proto_errorf(err, PROTO_UNKNOWN_PATH, "no such path");
        }
        bool is_list = path_len == 8;
        return rc ? rc
                  : route_indexes(method, is_list ? NULL : path + 9, is_list ? 0 : path_len - 9,
                                  dst, body, body_len, req, err);
    }
    bool is_health = path_is(path, path_len, "/health");
    enum proto_code rc = check_params_known(params, nparams, no_params, !is_health, err);
    if (path_is(path, path_len, "/docs")) {
        req->op = PROTO_OP_ADD;
        if (method != PROTO_POST) {
            return method_not_allowed(err, "POST");
        }
        return rc ? rc : docs_from_body(body, body_len, req, err);
    }
    if (path_is(path, path_len, "/docs/delete") && method == PROTO_POST) {
        req->op = PROTO_OP_DELETE; /* (GET and DELETE of it are the document "delete"'s) */
        rc = rc ? rc : json_parse_object(body, body_len, &req->root, err);
        rc = rc ? rc : check_members_known(req->root, ids_members, false, err);
        return rc ? rc : get_delete(req->root, req, err);
    }
    if (path_len >= 6 && memcmp(path, "/docs/", 6) == 0) {
        return rc ? rc : route_doc_id(method, path + 6, path_len - 6, dst, req, err);
    }
    if (path_is(path, path_len, "/stats") || is_health) {
        req->op = is_health ? PROTO_OP_HEALTH : PROTO_OP_STATS;
        return !get ? method_not_allowed(err, "GET") : rc;
    }
    return proto_errorf(err, PROTO_UNKNOWN_PATH, "no such path");
}

enum proto_code proto_parse_http(enum proto_method method, const char *uri, size_t uri_len,
                                 const char *body, size_t body_len, struct proto_request *req,
                                 struct proto_error *err)
{
    proto_request_free(req);
    const char *qm = memchr(uri, '?', uri_len);
    size_t path_len = qm ? (size_t)(qm - uri) : uri_len;
    const char *hash = memchr(uri, '#', uri_len);
    size_t end = hash ? (size_t)(hash - uri) : uri_len;
    if (path_len > end) {
        path_len = end;
    }
    /* decoded text is never longer than its source, plus a NUL per piece */
    req->text = malloc(uri_len + 2 * HTTP_MAX_PARAMS + 4);
    if (!req->text) {
        return proto_errorf(err, PROTO_INTERNAL, "out of memory");
    }
    char *dst = req->text;
    struct http_param params[HTTP_MAX_PARAMS];
    size_t nparams = 0;
    enum proto_code rc = PROTO_OK;
    if (qm && (size_t)(qm - uri) < end) {
        size_t qstart = (size_t)(qm - uri) + 1;
        rc = parse_query(uri + qstart, end - qstart, &dst, params, &nparams, err);
    }
    if (rc) {
        return rc;
    }
    rc = route(method, uri, path_len, &dst, params, nparams, body, body_len, req, err);
    if (rc == PROTO_OK && req->op != PROTO_OP_ADD && req->root) {
        rc = refuse_nul_strings(req->root, "body", err); /* a search, settings, a snapshot */
    }
    if (rc) {
        return rc;
    }
    const struct http_param *ix = find_param(params, nparams, "index");
    return ix ? set_index(req, ix->value, ix->value_len, err) : PROTO_OK;
}
