/*
 * fuzz_conf.c: searchd's settings read from a config file made of the input (conf_load and
 * libinih, then every key's own check in conf_opts.c, then the checks across settings).
 * A file that is accepted must also be reproduced by --print-config: that text, read back
 * as the config file, is accepted and prints the same settings. The same text could hide a
 * lossy print (bm25-k1 = 0.123457 read back prints 0.123457 again), so the float settings are
 * also compared as the floats held, bit for bit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz_util.h"

static FILE *sink(void)
{
    static FILE *null_file;
    if (!null_file && !(null_file = fopen("/dev/null", "w"))) {
        abort();
    }
    return null_file;
}

/* The settings o printed by --print-config, without its first line (which names the file);
 * owned by the caller. */
static char *printed(const struct conf_opts *o)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        abort();
    }
    conf_opts_print(f, o);
    if (fclose(f) != 0) {
        abort();
    }
    char *body = strdup(strchr(text, '\n'));
    free(text);
    if (!body) {
        abort();
    }
    return body;
}

/* The path of the scratch file name, into path (which o->config_path then points into, as
 * searchd's points into its argv: it must outlive o). */
static int parse(const char *name, char path[static sizeof fuzz_dir_path + 16], struct conf_opts *o)
{
    snprintf(path, sizeof fuzz_dir_path + 16, "%s/%s", fuzz_dir(), name);
    char *argv[] = {"searchd", "--config", path, NULL};
    return conf_opts_parse(o, 3, argv, sink());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char a_path[sizeof fuzz_dir_path + 16], b_path[sizeof fuzz_dir_path + 16];
    fuzz_write("a.ini", data, size);
    struct conf_opts o;
    int rc = parse("a.ini", a_path, &o);
    if (rc == 0) {
        char *first = printed(&o);
        fuzz_write("b.ini", (const uint8_t *)first, strlen(first));
        struct conf_opts again;
        if (parse("b.ini", b_path, &again) != 0) {
            abort(); /* --print-config wrote a file that searchd refuses */
        }
        char *second = printed(&again);
        if (strcmp(first, second) != 0) {
            abort(); /* ... or one that means other settings */
        }
        if (memcmp(&o.idx.k1, &again.idx.k1, sizeof o.idx.k1) != 0 ||
            memcmp(&o.idx.b, &again.idx.b, sizeof o.idx.b) != 0) {
            abort(); /* ... or one whose floats were rounded on the way */
        }
        free(first);
        free(second);
        conf_opts_free(&again);
    }
    conf_opts_free(&o);
    fuzz_dir_clear();
    return 0;
}
