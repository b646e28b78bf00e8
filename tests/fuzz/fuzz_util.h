/*
 * fuzz_util.h: what the fuzz targets of readers that only take a path share: one scratch
 * directory per process under /dev/shm (tmpfs, so an input costs no disk I/O; /tmp when
 * /dev/shm is missing), files written into it from the input, and emptied after each input.
 * Also the checksum fix-ups: our files carry XXH3-64 checksums, and an input with a wrong one
 * only ever reaches the checksum test. A target reserves one input bit for "fix the checksums
 * first", so the fuzzer explores both the checks and the structure behind them.
 * Header-only: each target is one translation unit.
 */
#ifndef SEARCHD_FUZZ_UTIL_H
#define SEARCHD_FUZZ_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sd_base.h"

static char fuzz_dir_path[64];

/* Removes every file of the scratch directory (it holds no subdirectories). */
static inline void fuzz_dir_clear(void)
{
    DIR *d = opendir(fuzz_dir_path);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[sizeof fuzz_dir_path + 256];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", fuzz_dir_path, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

static inline void fuzz_dir_remove(void)
{
    fuzz_dir_clear();
    rmdir(fuzz_dir_path);
}

/* The scratch directory, created on first use and removed at exit. Aborts if it cannot be
 * made: that is the harness failing, not the code under test. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/sd-fuzz-XXXXXX", base);
        if (!mkdtemp(fuzz_dir_path)) {
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Writes data[0, len) as the file name of the scratch directory. */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t len)
{
    char path[sizeof fuzz_dir_path + 256];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        abort();
    }
}

/* A writable copy of data[0, len) (at least one byte), for inputs the target patches. */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (!p) {
        abort();
    }
    memcpy(p, data, len);
    return p;
}

/* Stores at p[len, len + 8) the XXH3-64 of p[0, len): the trailer of MANIFEST, tombstones
 * and WAL records. */
static inline void fuzz_fix_hash(uint8_t *p, size_t len)
{
    sd_put_le64(p + len, sd_hash64(p, len));
}

#endif
