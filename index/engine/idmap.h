/* idmap.h: private to index/engine (see idmap.c). */
#ifndef SEARCHD_IDMAP_H
#define SEARCHD_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_base.h"

#define IDX_IDMAP_DELETED UINT32_MAX /* deleted; the builder has no copy */
#define IDX_IDMAP_GONE    0x80000000u /* or'ed into a builder doc: deleted */

struct idx_idmap;
struct idx_idmap *idx_idmap_new(void); /* owned; NULL on ENOMEM */
void idx_idmap_free(struct idx_idmap *m);
void idx_idmap_clear(struct idx_idmap *m);
size_t idx_idmap_count(const struct idx_idmap *m);
bool idx_idmap_get(const struct idx_idmap *m, const char *id, size_t len, uint32_t *value);
int idx_idmap_put(struct idx_idmap *m, const char *id, size_t len, uint32_t value);
/* Calls fn for every entry; a non-zero return stops and is returned. */
int idx_idmap_each(const struct idx_idmap *m, int (*fn)(void *, const char *, size_t, uint32_t),
                   void *arg);

#endif
