/*
 * conf.h: searchd's configuration file (prefix conf_; README "Operating").
 *
 * An INI file read with libinih. Every command-line flag of searchd has a key of the same
 * name without its dashes (`max-connections = 200`); keys sit in a [searchd] section or before
 * any section; `#` and `;` start comments. The daemon reads the file first and its flags after,
 * so a flag overrides the file. conf_load() knows nothing of the keys themselves: it hands each
 * pair to the caller's apply function, so the file and the command line share one parser per
 * option and one set of checks, and an error is reported as FILE:LINE: message.
 */
#ifndef SEARCHD_CONF_H
#define SEARCHD_CONF_H

#include "sd_base.h"

/* Longest line accepted; libinih's fixed line buffer is this big, and a longer line would be
 * split silently, so conf_load refuses it by line number instead. */
#define CONF_MAX_LINE 199

/* Applies one key = value (both borrowed for the call). Returns SD_OK, or an error code with
 * err->msg saying what is wrong without a location (conf_load prefixes FILE:LINE). */
typedef int (*conf_apply_fn)(void *user, const char *key, const char *value,
                             struct sd_error *err);

/* Reads the file at path (borrowed) and calls apply for every key in order. A key set twice,
 * an unknown section, a line without `=`, an over-long line, a file that is not UTF-8 text, and
 * any error apply returns stop the load: SD_EINVAL with "FILE:LINE: message" in err. A file
 * that cannot be read is SD_EIO / SD_ENOTFOUND naming it. */
int conf_load(const char *path, conf_apply_fn apply, void *user, struct sd_error *err);

#endif
