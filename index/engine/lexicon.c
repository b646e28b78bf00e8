/*
 * lexicon.c: an index's synonyms and stopwords (the query-time part of its settings, schema.h)
 * handed to the query module, which analyses them into the tables a query is read with.
 *
 * Built once per settings version, when the settings are published (settings.c), never per
 * search: a search takes the lexicon its settings reference holds, so a change takes effect
 * for the next search and a search under way keeps the one it started with. Strings the
 * query module refuses (a member with no word, a stopword of two words) refuse the settings;
 * one of a one-way entry is named with the entry's root, which is a Meilisearch map's key.
 */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

/* The stopwords of sl added to lex. */
static int idx_lexicon_stopwords(const struct sch_lexicon *sl, struct qry_lexicon *lex,
                                 struct sd_error *err)
{
    int rc = SD_OK;
    if (sl->stoplists & SCH_STOP_EN) {
        rc = qry_lexicon_add_stoplist(lex, "en", err);
    }
    if (rc == SD_OK && (sl->stoplists & SCH_STOP_RU)) {
        rc = qry_lexicon_add_stoplist(lex, "ru", err);
    }
    for (size_t i = 0; rc == SD_OK && i < sl->nstopwords; i++) {
        rc =
            qry_lexicon_add_stopword(lex, sch_str(sl, sl->stopwords[i]), sl->stopwords[i].len, err);
    }
    return rc;
}

/* err, from a one-way entry with this root, named by the root: "synonyms['a']: '!!!' holds no
 * word". A one-way entry is known by its root (a Meilisearch map's key) while the canonical order
 * has lost where the entry stood; the query module names only the string. */
static int idx_lexicon_name_root(const char *root, size_t root_len, int rc, struct sd_error *err)
{
    if (!err) {
        return rc;
    }
    static const char prefix[] = "synonyms: ";
    char inner[sizeof err->msg];
    bool has_prefix = strncmp(err->msg, prefix, sizeof prefix - 1) == 0;
    snprintf(inner, sizeof inner, "%s", err->msg + (has_prefix ? sizeof prefix - 1 : 0));
    return sd_errorf(err, rc, "synonyms['%.*s']: %s", (int)root_len, root, inner);
}

static int idx_lexicon_synonyms(const struct sch_lexicon *sl, struct qry_lexicon *lex,
                                struct sd_error *err)
{
    const char *strs[SCH_MAX_SYNONYM_MEMBERS];
    size_t lens[SCH_MAX_SYNONYM_MEMBERS];
    for (size_t r = 0; r < sl->nrules; r++) {
        const struct sch_synonym *rule = &sl->rules[r];
        for (size_t i = 0; i < rule->count; i++) {
            struct sch_str s = sl->members[rule->first + i];
            strs[i] = sch_str(sl, s);
            lens[i] = s.len;
        }
        int rc = qry_lexicon_add_synonyms(lex, rule->is_one_way, strs, lens, rule->count, err);
        if (rc == SD_EINVAL && rule->is_one_way) {
            return idx_lexicon_name_root(strs[0], lens[0], rc, err);
        }
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}

int idx_lexicon_build(const struct sch_lexicon *sl, struct qry_lexicon **out, struct sd_error *err)
{
    *out = NULL;
    if (sl->nrules == 0 && sl->nstopwords == 0 && sl->stoplists == 0) {
        return SD_OK;
    }
    struct qry_lexicon *lex = NULL;
    int rc = qry_lexicon_new(&lex, err);
    if (rc == SD_OK) {
        rc = idx_lexicon_stopwords(sl, lex, err);
    }
    if (rc == SD_OK) {
        rc = idx_lexicon_synonyms(sl, lex, err);
    }
    if (rc) {
        qry_lexicon_free(lex);
        return rc;
    }
    qry_lexicon_seal(lex);
    *out = lex;
    return SD_OK;
}
