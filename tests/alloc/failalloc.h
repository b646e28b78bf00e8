/*
 * failalloc.h: the allocation-failure test mode (issue 10 item 6).
 *
 * A test binary linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * (tests/alloc/CMakeLists.txt: sd_add_alloc_test) sends every allocation that searchd's own
 * static libraries make through failalloc.c, which can make one of them fail. Libraries we
 * link dynamically (json-c, lz4, libstemmer, utf8proc, libc itself) keep the real allocator:
 * --wrap only rewrites references resolved at our link, so what is tested is our handling of
 * NULL, which is the part we own. Under ASan, __real_malloc is the sanitizer's malloc, so a
 * leak on a cleanup path is still reported (LeakSanitizer at exit).
 *
 * The loop of SQLite's fts5fault tests: arm N = 1, 2, 3... and run an operation; the N-th
 * allocation fails. The operation must return its out-of-memory error cleanly (no crash, no
 * leak, no half-made result) until N is past its last allocation, when it succeeds:
 *
 *     for (unsigned long n = 1;; n++) {
 *         failalloc_arm(n);
 *         int rc = op();
 *         bool fired = failalloc_disarm();
 *         if (!fired) { assert rc == SD_OK; break; }
 *         assert rc == SD_ENOMEM (or the operation's documented equivalent);
 *     }
 */
#ifndef SEARCHD_FAILALLOC_H
#define SEARCHD_FAILALLOC_H

#include <stdbool.h>

/* The n-th allocation from now (n >= 1) returns NULL; only that one. Counts every thread. */
void failalloc_arm(unsigned long n);

/* Stops counting; returns whether the armed allocation failed. */
bool failalloc_disarm(void);

/* Allocations counted since the last arm (for messages). */
unsigned long failalloc_count(void);

#endif
