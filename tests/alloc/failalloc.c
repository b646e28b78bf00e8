/*
 * failalloc.c: see failalloc.h. The wrappers count allocations while armed and fail the
 * chosen one. A size-0 request still counts: callers that pass 0 must handle NULL too.
 */
#include "failalloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static atomic_ulong g_target; /* 0: disarmed */
static atomic_ulong g_count;
static atomic_bool g_fired;

void failalloc_arm(unsigned long n)
{
    atomic_store(&g_fired, false);
    atomic_store(&g_count, 0);
    atomic_store(&g_target, n);
}

bool failalloc_disarm(void)
{
    atomic_store(&g_target, 0);
    return atomic_load(&g_fired);
}

unsigned long failalloc_count(void)
{
    return atomic_load(&g_count);
}

/* True when this allocation is the armed one. */
static bool should_fail(void)
{
    unsigned long target = atomic_load(&g_target);
    if (target == 0) {
        return false;
    }
    if (atomic_fetch_add(&g_count, 1) + 1 != target) {
        return false;
    }
    atomic_store(&g_fired, true);
    errno = ENOMEM;
    return true;
}

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}
