/*
 * wal_test_util.h: helpers shared by wal_test.c and wal_manifest_test.c: a
 * fresh temporary directory per test, and whole-file read/write/flip.
 */
#ifndef SEARCHD_WAL_TEST_UTIL_H
#define SEARCHD_WAL_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "wal.h"

/* cmocka setup: *state = a new directory (malloc'd path). */
static inline int tu_setup_dir(void **state)
{
    char *dir = strdup("/tmp/wal_test.XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

/* Removes dir, its files and (wal_gc()'s lost+found/) its subdirectories. */
static inline void tu_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX];
    while (d && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path) {
            continue;
        }
        if (unlink(path) != 0) {
            tu_remove_tree(path);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
}

/* cmocka teardown: removes the directory and frees the path. */
static inline int tu_teardown_dir(void **state)
{
    char *dir = *state;
    tu_remove_tree(dir);
    free(dir);
    return 0;
}

static inline void tu_path(char *path, const char *dir, const char *name)
{
    snprintf(path, PATH_MAX, "%s/%s", dir, name);
}

static inline void tu_unlink(const char *dir, const char *name)
{
    char path[PATH_MAX];
    tu_path(path, dir, name);
    unlink(path);
}

/* Reads dir/name whole; returns a malloc'd copy and its length. */
static inline uint8_t *tu_read(const char *dir, const char *name, size_t *len)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    struct sd_error err;
    tu_path(path, dir, name);
    assert_int_equal(sd_read_file(path, SIZE_MAX, &data, len, &err), SD_OK);
    return data;
}

/* Replaces dir/name with len bytes of data (not durably: tests only). */
static inline void tu_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX];
    tu_path(path, dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0) {
        assert_int_equal(fwrite(data, 1, len, f), len);
    }
    assert_int_equal(fclose(f), 0);
}

static inline bool tu_exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    tu_path(path, dir, name);
    return access(path, F_OK) == 0;
}

static inline uint64_t tu_size(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    tu_path(path, dir, name);
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

#endif
