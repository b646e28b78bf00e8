/*
 * schema_int.h: what sch_settings.c (the settings object, its "fields") and sch_lexicon.c (its
 * query-time keys "synonyms" and "stopwords") share and nobody else sees.
 */
#ifndef SEARCHD_SCHEMA_INT_H
#define SEARCHD_SCHEMA_INT_H

#include <json-c/json.h>

#include "schema.h"

/* The value of "synonyms" (an array of entries, or a Meilisearch map of one-way entries) /
 * "stopwords" (borrowed) into lex, canonical. SD_OK, SD_EINVAL or SD_ELIMIT naming the entry
 * ("synonyms[2]: ...", of a map "synonyms['a']: ..."), or SD_ENOMEM. Each is called once per
 * settings: of a key given twice json-c keeps the last value, as for "fields". */
int sch_lexicon_parse_synonyms(struct json_object *v, struct sch_lexicon *lex,
                               struct sd_error *err);
int sch_lexicon_parse_stopwords(struct json_object *v, struct sch_lexicon *lex,
                                struct sd_error *err);
void sch_lexicon_free(struct sch_lexicon *lex);

/* Appends `,"stopwords":{...}` and `,"synonyms":[...]` to out, each only when not empty, and
 * each with its leading comma only when *is_first is false (then cleared). */
void sch_lexicon_encode(const struct sch_lexicon *lex, struct sd_buf *out, bool *is_first);

#endif
