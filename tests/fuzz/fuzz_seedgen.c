/*
 * fuzz_seedgen.c: writes the binary seed corpora of tests/fuzz/corpus/ (wal, manifest, tomb,
 * seg) with the project's own writers, so seeds are valid files of the current formats:
 *
 *   build/tests/fuzz/fuzz_seedgen tests/fuzz/corpus
 *
 * Each seed is the target's flag byte(s) (see the target's file-top comment) followed by the
 * file. Most seeds set the "fix the checksums" bit: a mutation of them then reaches the
 * structure behind the checksum instead of stopping at it; one per target leaves it clear.
 * Run it again after a format change and commit the result. Not a test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "seg.h"
#include "wal.h"

static const char *out_root;

static void die(const char *what, const struct sd_error *err)
{
    fprintf(stderr, "fuzz_seedgen: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

/* Writes corpus/<target>/<name>: the prefix bytes, then the file dir/<file>. */
static void seed_from(const char *target, const char *name, const uint8_t *prefix, size_t plen,
                      const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), file);
    FILE *in = fopen(path, "rb");
    snprintf(path, sizeof path, "%s/%s/%s", out_root, target, name);
    FILE *out = fopen(path, "wb");
    if (!in || !out) {
        die(path, NULL);
    }
    fwrite(prefix, 1, plen, out);
    int c;
    while ((c = fgetc(in)) != EOF) {
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

static void seed_bytes(const char *target, const char *name, const uint8_t *prefix, size_t plen,
                       const uint8_t *data, size_t len)
{
    fuzz_write("tmp.seed", data, len);
    seed_from(target, name, prefix, plen, "tmp.seed");
}

static void wal_seeds(void)
{
    struct sd_error err = {0};
    struct wal *w = NULL;
    uint64_t seq, first;
    if (wal_open(fuzz_dir(), 0, NULL, NULL, &w, NULL, &err)) {
        die("wal_open", &err);
    }
    const char *payloads[] = {"add a1 {\"title\":\"one\"}", "", "delete a1"};
    for (int i = 0; i < 3; i++) {
        if (wal_append(w, (uint8_t)(i + 1), payloads[i], strlen(payloads[i]), &seq, &err)) {
            die("wal_append", &err);
        }
    }
    if (wal_sync(w, &err)) {
        die("wal_sync", &err);
    }
    seed_from("wal", "three_records", (const uint8_t[]){0}, 1, "wal-000001.log");
    seed_from("wal", "three_records_fixed", (const uint8_t[]){1}, 1, "wal-000001.log");
    seed_from("wal", "three_records_from_2", (const uint8_t[]){2 << 2 | 1}, 1, "wal-000001.log");
    if (wal_rotate(w, &first, &err) || wal_append(w, 9, "after rotate", 12, &seq, &err) ||
        wal_sync(w, &err)) {
        die("wal_rotate", &err);
    }
    wal_close(w);
    /* two files: flag bit 1 and the split offset, then both files back to back */
    char path[4096];
    snprintf(path, sizeof path, "%s/wal-000001.log", fuzz_dir());
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long first_len = ftell(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/both.log", fuzz_dir());
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cat %s/wal-000001.log %s/wal-000002.log > %s", fuzz_dir(),
             fuzz_dir(), path);
    if (system(cmd) != 0) {
        die("cat", NULL);
    }
    uint8_t two[3] = {3, (uint8_t)first_len, (uint8_t)(first_len >> 8)};
    seed_from("wal", "two_files", two, 3, "both.log");
    fuzz_dir_clear();
}

static void manifest_seeds(void)
{
    struct sd_error err = {0};
    struct wal_manifest m;
    wal_manifest_init(&m);
    if (wal_manifest_write(fuzz_dir(), &m, &err)) {
        die("wal_manifest_write", &err);
    }
    seed_from("manifest", "empty", (const uint8_t[]){0}, 1, "MANIFEST");
    struct wal_seg_entry segs[] = {{1, 100, 0, 0, 0, 0}, {3, 40, 7, 2, 0, 0}, {4, 1, 1, 1, 0, 0}};
    m.segs = segs;
    m.count = 3;
    m.next_seg_no = 5;
    m.checkpoint_seq = 1234;
    if (wal_manifest_write(fuzz_dir(), &m, &err)) {
        die("wal_manifest_write", &err);
    }
    seed_from("manifest", "three_segments", (const uint8_t[]){1}, 1, "MANIFEST");
    fuzz_dir_clear();
}

static void tomb_seeds(void)
{
    struct sd_error err = {0};
    uint64_t bits[2] = {0x8000000000000101ull, 0x5}; /* 100 docs: bits 0, 8, 63, 64, 66 */
    char name[WAL_NAME_MAX];
    if (wal_tomb_write(fuzz_dir(), 3, 2, bits, 100, NULL, &err)) {
        die("wal_tomb_write", &err);
    }
    wal_tomb_name(name, 3, 2);
    seed_from("tomb", "header_names_it", (const uint8_t[]){3, 0, 0}, 3, name);
    seed_from("tomb", "expects_100_docs", (const uint8_t[]){1, 100, 0}, 3, name);
    uint64_t one = 1;
    if (wal_tomb_write(fuzz_dir(), 1, 1, &one, 1, NULL, &err)) {
        die("wal_tomb_write", &err);
    }
    wal_tomb_name(name, 1, 1);
    seed_from("tomb", "one_doc", (const uint8_t[]){0, 1, 0}, 3, name);
    fuzz_dir_clear();
}

/* A segment of n docs; with n >= 128 the common words get skip data; with big, doc 1's body
 * is about 40 KB, a record stored in chunks (format 5). */
static void seg_seed(const char *name, unsigned n, uint8_t flags, bool big)
{
    char *long_body = malloc(41000);
    size_t long_len = 0;
    for (unsigned k = 0; long_body && long_len < 40000; k++) {
        long_len += (size_t)sprintf(long_body + long_len, "%s%u ",
                                    k % 5 ? "почта слово" : "mail-word", k % 97);
    }
    struct stem_ctx *stem = NULL;
    struct seg_builder *b = NULL;
    struct sd_error err = {0};
    if (stem_ctx_new(&stem) || seg_builder_new(stem, &b, &err)) {
        die("seg_builder_new", &err);
    }
    for (unsigned i = 0; i < n; i++) {
        char id[32], body[256];
        snprintf(id, sizeof id, "doc-%u", i);
        snprintf(body, sizeof body, "%s word%u common common e-mail цифровая дипломатия %u",
                 i % 3 ? "industrial revolutions" : "Ёлки и палки", i % 7, i);
        bool is_long = big && i == 1 && long_body;
        struct seg_field f[3] = {
            {"title", 5, id, strlen(id), SEG_TEXT},
            {"body", 4, is_long ? long_body : body, is_long ? long_len : strlen(body), SEG_TEXT},
            {"n", 1, "[1,2.5,null]", 12, SEG_RAW},
        };
        struct seg_doc d = {id, strlen(id), f, i % 2 ? 3 : 2};
        if (seg_builder_add(b, &d, &err)) {
            die("seg_builder_add", &err);
        }
    }
    struct sd_buf img;
    sd_buf_init(&img);
    if (seg_builder_finish(b, &img, &err)) {
        die("seg_builder_finish", &err);
    }
    seed_bytes("seg", name, &flags, 1, img.data, img.len);
    free(long_body);
    sd_buf_free(&img);
    seg_builder_free(b);
    stem_ctx_free(stem);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seedgen CORPUS_DIR\n");
        return 2;
    }
    out_root = argv[1];
    wal_seeds();
    manifest_seeds();
    tomb_seeds();
    seg_seed("three_docs", 3, 0, false);
    seg_seed("three_docs_fixed", 3, 1, false);
    seg_seed("skip_data_200_docs", 200, 1, false);
    seg_seed("chunked_record", 3, 1, true);
    fuzz_dir_clear();
    printf("fuzz_seedgen: seeds written under %s\n", out_root);
    return 0;
}
