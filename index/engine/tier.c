/*
 * tier.c: which segments one merge takes (the tiered policy of merge.c), on numbers alone.
 *
 * A segment's size tier is floor(log_factor(live docs / base)) + 1, tier 0 up to base
 * documents (counted in integers: log() of a power of factor may fall just short). A merge
 * takes segments of the lowest tier that has `factor` of them, so a document is rewritten
 * about once per tier: log_factor(N / base) times, however the writes arrive.
 *
 * The two mergers use it with different ladders (merge.c):
 *  - disk segments: base IDX_TIER_BASE (1000), at most `factor` inputs. A flush writes what
 *    tens of seconds of writes left in memory, so a tier seldom holds more than `factor`.
 *  - in-memory segments: base 1, half the factor (idx_mem_merge_factor), at most
 *    IDX_TIER_MAX_INPUTS inputs. Every group commit makes one, of one document when the
 *    writes come one at a time. Under the disk's ladder all of those were tier 0, and eight
 *    of them merged made another tier-0 segment, merged again with the next seven: rewrites
 *    grew with the square of the writes (72 per document over 20,000 writes of one), the
 *    memory merger fell behind a steady writer, and searches met 364 in-memory segments on
 *    a 3,000-document index, looking every word up in each (took_ms p50 29 ms;
 *    bench/RESULTS.md "Searches beside a steady writer"). With base 1 and factor 4 the
 *    tiers are 1 document, 2-3, 4-15, 16-63, ...: about 6 rewrites a document for those
 *    20,000 writes, and 3 segments a tier at most, where factor 8 left up to 7 a tier
 *    (up to twice the segments for each search, for a third fewer rewrites). A merge takes the
 *    whole tier, not its first `factor`, so a merger that got no CPU for a while catches up
 *    with everything that came meanwhile in one merge per tier.
 * Inputs are taken in the order of the live list (the oldest first).
 */
#include "engine_int.h"

unsigned idx_tier_of(uint32_t docs, uint32_t base, uint32_t factor)
{
    if (docs <= base || factor < 2) {
        return 0;
    }
    unsigned tier = 1; /* base < docs < base * factor */
    for (uint64_t top = (uint64_t)base * factor; docs >= top; top *= factor) {
        tier++;
    }
    return tier;
}

size_t idx_tier_pick(const uint32_t *docs, size_t n, uint32_t base, uint32_t factor,
                     size_t max_inputs, size_t *pick)
{
    if (factor < 2 || max_inputs < 2) {
        return 0;
    }
    for (unsigned tier = 0; tier < 64; tier++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
            count += idx_tier_of(docs[i], base, factor) == tier;
        }
        if (count < factor) {
            continue;
        }
        size_t taken = 0;
        for (size_t i = 0; i < n && taken < max_inputs; i++) {
            if (idx_tier_of(docs[i], base, factor) == tier) {
                pick[taken++] = i;
            }
        }
        return taken;
    }
    return 0;
}
