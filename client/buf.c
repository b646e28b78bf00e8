/*
 * buf.c: searchq's growable byte buffer (struct cli_buf), for the text a reader gathers (a
 * .json file's element, a .csv row) and the request lines import builds. Room doubles as it
 * fills, so appending n bytes in pieces costs O(n) in all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

int cli_buf_put(struct cli_buf *b, const void *data, size_t len)
{
    if (b->cap - b->len < len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < len && cap <= SIZE_MAX / 2) {
            cap *= 2;
        }
        char *p = cap - b->len >= len ? realloc(b->data, cap) : NULL;
        if (!p) {
            fprintf(stderr, "searchq: out of memory\n");
            return CLI_EXIT_ERROR;
        }
        b->data = p;
        b->cap = cap;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    return CLI_EXIT_OK;
}

void cli_buf_free(struct cli_buf *b)
{
    free(b->data);
    *b = (struct cli_buf){0};
}
