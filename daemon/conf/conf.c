/*
 * conf.c: loads a searchd configuration file through libinih (conf.h).
 *
 * libinih parses; this file adds what a daemon's config needs around it: one section name
 * ([searchd], or none), `#` comments after a value as well as `;` ones, a key's repeats told
 * to the caller (a list may take an entry a line), lines no longer than libinih's buffer,
 * UTF-8 text, and errors that name the file and line. libinih (as Debian builds it, without
 * INI_STOP_ON_FIRST_ERROR) goes on after a line whose handler returns 0 and returns the first
 * bad line's number, and its handler is not told the line. So the lines are read through
 * read_line(), which counts them; the handler keeps the first error's message and line and
 * applies nothing after it, and conf_load() reports that line, or libinih's first line if a
 * line that is no KEY = VALUE came before it.
 *
 * Only a regular file is read. A directory opens for reading on Linux and every read of it
 * fails, which stdio reports as the end of the file: it would load as an empty config, and
 * searchd would run on its defaults. A FIFO or a device would block on open, or give other
 * bytes when SIGHUP reads the file again. So the file is opened without blocking and its type
 * checked before a byte is read, and a read error is an error, not the end.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_MAX_KEYS 128

struct load {
    conf_apply_fn apply;
    void *user;
    FILE *f;             /* the file (borrowed), read by read_line */
    int line;            /* lines read so far: the one libinih is on */
    int err_line;        /* where err was found; 0: no error yet */
    struct sd_error err; /* the first error, without its location */
    char *seen[CONF_MAX_KEYS];
    size_t nseen;
};

/* libinih's reader: fgets, counting lines. A line of CONF_MAX_LINE bytes fills libinih's
 * buffer without its newline; that newline is read here, so that libinih does not take it for
 * a line of its own and count one line too many (longer lines were refused before). */
static char *read_line(char *str, int num, void *stream)
{
    struct load *ld = stream;
    char *got = fgets(str, num, ld->f);
    if (!got) {
        return NULL;
    }
    size_t n = strlen(got);
    if (n > 0 && got[n - 1] != '\n') {
        int c = getc(ld->f);
        if (c != '\n' && c != EOF) {
            ungetc(c, ld->f);
        }
    }
    ld->line++;
    return got;
}

static int seen_before(struct load *ld, const char *key)
{
    for (size_t i = 0; i < ld->nseen; i++) {
        if (strcmp(ld->seen[i], key) == 0) {
            return 1;
        }
    }
    if (ld->nseen < CONF_MAX_KEYS) {
        ld->seen[ld->nseen] = strdup(key);
        if (ld->seen[ld->nseen]) {
            ld->nseen++;
        }
    }
    return 0;
}

/* value without a `#` comment after a space and the spaces before it (libinih ends the value
 * at such a `;` only): NULL when no such comment, else a copy the caller frees. *failed on
 * out of memory. */
static char *without_comment(const char *value, bool *failed)
{
    const char *hash = value;
    while ((hash = strchr(hash, '#')) != NULL &&
           !(hash > value && isspace((unsigned char)hash[-1]))) {
        hash++;
    }
    if (!hash) {
        return NULL;
    }
    while (hash > value && isspace((unsigned char)hash[-1])) {
        hash--;
    }
    char *copy = strndup(value, (size_t)(hash - value));
    *failed = copy == NULL;
    return copy;
}

/* One pair of the current line: 1 when applied, 0 with ld->err set. */
static int apply_pair(struct load *ld, const char *section, const char *key, const char *value)
{
    if (section[0] && strcmp(section, "searchd") != 0) {
        sd_errorf(&ld->err, SD_EINVAL, "unknown section [%s] (keys go in [searchd])", section);
        return 0;
    }
    if (!value) {
        sd_errorf(&ld->err, SD_EINVAL, "%s: no value (want %s = VALUE)", key, key);
        return 0;
    }
    if (value[0] == '#' || value[0] == ';') {
        /* libinih keeps `key =;x` as ";x" but reads `key = ;x` as empty: neither is meant */
        sd_errorf(&ld->err, SD_EINVAL, "%s: a value cannot begin with %c (it starts a comment)",
                  key, value[0]);
        return 0;
    }
    bool failed = false;
    char *cut = without_comment(value, &failed);
    if (failed) {
        sd_errorf(&ld->err, SD_ENOMEM, "out of memory");
        return 0;
    }
    bool is_repeat = seen_before(ld, key);
    int rc = ld->apply(ld->user, key, cut ? cut : value, is_repeat, &ld->err);
    free(cut);
    return rc == SD_OK;
}

/* libinih's handler: 1 to go on, 0 for a bad line (libinih goes on, and returns the first bad
 * line's number). */
static int on_pair(void *arg, const char *section, const char *key, const char *value)
{
    struct load *ld = arg;
    if (ld->err_line) {
        return 1; /* the load has failed: nothing more is applied, and the message is kept */
    }
    int ok = apply_pair(ld, section, key, value);
    if (!ok) {
        ld->err_line = ld->line;
    }
    return ok;
}

/* UTF-8 text, no line longer than CONF_MAX_LINE, and no indented line (libinih would take it
 * as the continuation of the previous value, a surprise in a daemon's config): 0, or the first
 * bad line's number. */
static int first_bad_line(FILE *f, const char **why)
{
    int c;
    int line = 1;
    size_t col = 0;
    unsigned need = 0;    /* continuation bytes still expected */
    int indented = 0;     /* this line began with a space or tab */
    while ((c = fgetc(f)) != EOF) {
        if (col == 0) {
            indented = c == ' ' || c == '\t';
        } else if (indented && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            if (c != '#' && c != ';') {
                *why = "indented line (a value cannot continue on the next line)";
                return line;
            }
            indented = 0;
        }
        if (need) {
            if ((c & 0xC0) != 0x80) {
                *why = "not UTF-8 text";
                return line;
            }
            need--;
        } else if (c >= 0xC2 && c <= 0xF4) {
            need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        } else if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) {
            *why = c >= 0x80 ? "not UTF-8 text" : "a control character";
            return line;
        }
        if (c == '\n') {
            line++;
            col = 0;
        } else if (++col > CONF_MAX_LINE) {
            *why = "line too long (at most 199 bytes)";
            return line;
        }
    }
    if (need) {
        *why = "not UTF-8 text";
        return line;
    }
    return 0;
}

/* What kind of file st is, for the message refusing it. */
static const char *file_kind(const struct stat *st)
{
    return S_ISDIR(st->st_mode)    ? "a directory"
           : S_ISFIFO(st->st_mode) ? "a FIFO"
           : S_ISSOCK(st->st_mode) ? "a socket"
           : S_ISCHR(st->st_mode)  ? "a character device"
           : S_ISBLK(st->st_mode)  ? "a block device"
                                   : "of an unknown kind";
}

/* path (borrowed) opened for reading if it is a regular file: SD_OK with *out owned by the
 * caller (fclose), else an error naming it. O_NONBLOCK keeps a FIFO from blocking the open;
 * it changes nothing for a regular file. */
static int open_regular(const char *path, FILE **out, struct sd_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return sd_errorf(err, e == ENOENT ? SD_ENOTFOUND : SD_EIO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sd_errorf(err, SD_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sd_errorf(err, SD_EINVAL, "%s: not a regular file (%s)", path, file_kind(&st));
    }
    *out = fdopen(fd, "r");
    if (!*out) {
        int e = errno;
        close(fd);
        return sd_errorf(err, SD_EIO, "%s: %s", path, strerror(e));
    }
    return SD_OK;
}

int conf_load(const char *path, conf_apply_fn apply, void *user, struct sd_error *err)
{
    FILE *f = NULL;
    int rc = open_regular(path, &f, err);
    if (rc) {
        return rc;
    }
    const char *why = NULL;
    int bad = first_bad_line(f, &why);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        return sd_errorf(err, SD_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    if (bad) {
        fclose(f);
        return sd_errorf(err, SD_EINVAL, "%s:%d: %s", path, bad, why);
    }
    rewind(f);
    struct load ld = {.apply = apply, .user = user, .f = f};
    int line = ini_parse_stream(read_line, &ld, on_pair, &ld);
    bool is_read_error = ferror(f); /* fgets's NULL, which libinih took for the end */
    fclose(f);
    for (size_t i = 0; i < ld.nseen; i++) {
        free(ld.seen[i]);
    }
    if (is_read_error || line < 0) {
        return sd_errorf(err, is_read_error ? SD_EIO : SD_ENOMEM, "%s: cannot read", path);
    }
    if (line == 0) {
        return SD_OK;
    }
    if (line == ld.err_line) { /* else a line that is no pair came first */
        return sd_errorf(err, SD_EINVAL, "%s:%d: %s", path, line, ld.err.msg);
    }
    return sd_errorf(err, SD_EINVAL, "%s:%d: not KEY = VALUE or [section]", path, line);
}
