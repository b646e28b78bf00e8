/*
 * fuzz_main.c: a stand-in for libFuzzer's main in builds without -DSD_FUZZ=ON, so every fuzz
 * target also runs under gcc, in the plain and the ASan+UBSan builds, over its checked-in
 * corpus (ctest fuzz_<name>_corpus).
 *
 * Usage: fuzz_<name> FILE|DIR...: each file (each regular file of a directory, not recursive)
 * is read whole and passed once to LLVMFuzzerTestOneInput, as libFuzzer does when given
 * files. The exit status is 0 when every input ran; a finding crashes or is reported by the
 * sanitizers, as it would be under libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads path whole into a malloc'd buffer (never NULL, so size 0 still passes a pointer). */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 4096;
    size_t len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            uint8_t *bigger = realloc(buf, cap);
            if (!bigger) {
                free(buf);
            }
            buf = bigger; /* NULL ends the loop and reports the failure */
        }
    }
    int failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: read failed\n", path);
        free(buf);
        return 1;
    }
    /* An exact-size copy, so ASan sees a read one past the input as an overflow. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    int failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            continue;
        }
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            failed |= run_file(path);
            (*count)++;
        }
    }
    closedir(d);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed = 1;
        } else if (S_ISDIR(st.st_mode)) {
            failed |= run_dir(argv[i], &count);
        } else {
            failed |= run_file(argv[i]);
            count++;
        }
    }
    printf("%s: %zu inputs ran\n", argv[0], count);
    return failed || count == 0;
}
