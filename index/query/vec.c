/*
 * vec.c: the growable arrays behind the parser's output and the per-thread
 * scratch. Capacity doubles and never shrinks, so a thread that has run a
 * query of a given shape runs the next one of that shape without allocating.
 */
#include <stdlib.h>

#include "query_int.h"

int qry_vec_reserve(struct qry_vec *v, size_t count, size_t elem)
{
    if (count <= v->cap) {
        return SD_OK;
    }
    void *p = sd_grow(v->data, &v->cap, count, elem, 16);
    if (!p) {
        return SD_ENOMEM;
    }
    v->data = p;
    return SD_OK;
}

void *qry_vec_push(struct qry_vec *v, size_t elem)
{
    if (qry_vec_reserve(v, v->count + 1, elem)) {
        return NULL;
    }
    return (char *)v->data + elem * v->count++;
}

void *qry_vec_at(const struct qry_vec *v, size_t elem, size_t i)
{
    return v->data ? (char *)v->data + elem * i : NULL;
}

void qry_vec_free(struct qry_vec *v)
{
    free(v->data);
    v->data = NULL;
    v->count = 0;
    v->cap = 0;
}
