/*
 * fuzz_manifest.c: the MANIFEST reader (wal_manifest.c) over a file made from the input.
 * Byte 0 is flags (bit 0: fix the trailing checksum), the rest is the file. A MANIFEST that
 * reads must obey the rules the reader promises (wal.h), and must write back and read again
 * to the same contents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wal.h"

static void check_rules(const struct wal_manifest *m)
{
    for (uint32_t i = 0; i < m->count; i++) {
        const struct wal_seg_entry *e = &m->segs[i];
        if (e->seg_no == 0 || e->seg_no >= m->next_seg_no || e->deleted_count > e->doc_count ||
            (e->deleted_count > 0 && e->tomb_gen == 0)) {
            abort();
        }
    }
}

static void round_trip(const char *dir, struct wal_manifest *m)
{
    struct sd_error err = {0};
    struct wal_manifest again;
    uint64_t gen = m->generation;
    if (wal_manifest_write(dir, m, &err) != SD_OK) {
        abort(); /* what we read is valid, so it must write */
    }
    if (wal_manifest_read(dir, &again, &err) != SD_OK || again.generation != gen + 1 ||
        again.count != m->count || again.checkpoint_seq != m->checkpoint_seq ||
        (m->count && memcmp(again.segs, m->segs, m->count * sizeof *m->segs) != 0)) {
        abort();
    }
    wal_manifest_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t len = size - 1;
    uint8_t *p = fuzz_copy(data + 1, len);
    if ((data[0] & 1) && len >= 8) {
        fuzz_fix_hash(p, len - 8);
    }
    fuzz_write("MANIFEST", p, len);
    free(p);

    const char *dir = fuzz_dir();
    struct wal_manifest m;
    struct sd_error err = {0};
    if (wal_manifest_read(dir, &m, &err) == SD_OK) {
        check_rules(&m);
        if (m.generation < UINT64_MAX) {
            round_trip(dir, &m);
        }
    }
    wal_manifest_free(&m);
    fuzz_dir_clear();
    return 0;
}
