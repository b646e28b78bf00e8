/*
 * fuzz_textdoc.c: `searchq import` of a .txt or .md file (client/textdoc.c) made of the input.
 * A file that reads must give the document its rules promise (cli_int.h): the id from the
 * file name, a title of one line with some text and no space at either end, and title and
 * body that are valid UTF-8 taken from the file.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli_int.h"
#include "fuzz_util.h"

static const char *member(struct json_object *doc, const char *key, size_t *len)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(doc, key, &v) || !json_object_is_type(v, json_type_string)) {
        abort();
    }
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write("note.md", data, size);
    char path[sizeof fuzz_dir_path + 16];
    snprintf(path, sizeof path, "%s/note.md", fuzz_dir());
    struct json_object *doc = NULL;
    if (cli_textdoc_read(path, &doc) == CLI_EXIT_OK && doc) { /* NULL: a file with no text */
        size_t id_len, title_len, body_len;
        const char *id = member(doc, "id", &id_len);
        const char *title = member(doc, "title", &title_len);
        const char *body = member(doc, "body", &body_len);
        size_t bad;
        if (id_len != 4 || memcmp(id, "note", 4) != 0 || title_len == 0 ||
            memchr(title, '\n', title_len) || isspace((unsigned char)title[0]) ||
            isspace((unsigned char)title[title_len - 1]) ||
            !cli_utf8_valid(title, title_len, &bad) || !cli_utf8_valid(body, body_len, &bad) ||
            title_len + body_len > size) {
            abort();
        }
        json_object_put(doc);
    }
    fuzz_dir_clear();
    return 0;
}
