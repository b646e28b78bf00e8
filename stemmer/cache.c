/*
 * cache.c: remembers recent word -> (language, stem) results of one stem_ctx.
 *
 * Snowball costs about 250 ns a word, roughly three quarters of the tokenizer's time per
 * token, while the words of real text follow Zipf's law: a few thousand forms make up most
 * tokens. So each context keeps a direct-mapped table of 64-byte slots (STEM_CACHE_SLOTS, or
 * more for a context that stems a whole corpus: stem_ctx_new_cached),
 * indexed by an FNV-1a hash of the folded word. A probe is one hash over the word and one
 * compare; a miss simply overwrites the slot (no eviction policy, no chains, no allocation
 * after stem_ctx_new). Words or stems longer than STEM_CACHE_WORD bytes are not cached; that
 * leaves out few words (15 Cyrillic letters fit) and keeps each slot on one cache line.
 *
 * The result of stem_word() and of a token may point into a slot: it stays valid until the
 * next call on the context, the same promise as the Snowball buffer it replaces.
 */
#include <string.h>

#include "stem_int.h"

static uint32_t hash_word(const char *word, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)word[i]) * 16777619u;
    }
    return h;
}

struct stem_cache_slot *stem_cache_slot(struct stem_cache_slot *slots, size_t mask,
                                        const char *word, size_t len)
{
    return &slots[hash_word(word, len) & mask];
}

bool stem_cache_holds(const struct stem_cache_slot *slot, const char *word, size_t len)
{
    return slot->word_len == len && memcmp(slot->word, word, len) == 0;
}

void stem_cache_fill(struct stem_cache_slot *slot, const char *word, size_t len,
                     enum stem_lang lang, const char *stem, size_t stem_len)
{
    slot->word_len = (uint8_t)len;
    slot->stem_len = (uint8_t)stem_len;
    slot->lang = (uint8_t)lang;
    memcpy(slot->word, word, len);
    memcpy(slot->stem, stem, stem_len);
    slot->stem[stem_len] = '\0';
}
