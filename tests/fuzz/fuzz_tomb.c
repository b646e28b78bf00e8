/*
 * fuzz_tomb.c: the tombstone reader (wal_tomb.c) over a file made from the input. Byte 0 is
 * flags (bit 0: fix the trailing checksum; bit 1: expect the segment number, generation and
 * document count the file's own header states, else 1, 1 and bytes 1-2), the rest is the
 * file. A bitmap that reads has no bit at or past the document count and as many bits set as
 * it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wal.h"

static void check_bits(const uint64_t *bits, uint32_t ndocs, uint32_t ndeleted)
{
    uint32_t set = 0;
    size_t words = ((size_t)ndocs + 63) / 64;
    for (size_t w = 0; w < words; w++) {
        set += (uint32_t)__builtin_popcountll(bits[w]);
    }
    if (set != ndeleted || (ndocs % 64 && (bits[words - 1] >> (ndocs % 64)) != 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    size_t len = size - 3;
    uint8_t *p = fuzz_copy(data + 3, len);
    uint32_t seg_no = 1, gen = 1, ndocs = sd_get_le16(data + 1);
    if ((data[0] & 2) && len >= 24) {
        seg_no = sd_get_le32(p + 8);
        gen = sd_get_le32(p + 12);
        ndocs = sd_get_le32(p + 16) % (1u << 20); /* the file must hold ndocs bits anyway */
    }
    if ((data[0] & 1) && len >= 8) {
        fuzz_fix_hash(p, len - 8);
    }
    char name[WAL_NAME_MAX];
    wal_tomb_name(name, seg_no, gen);
    fuzz_write(name, p, len);
    free(p);

    uint64_t *bits = NULL;
    uint32_t ndeleted = 0;
    struct sd_error err = {0};
    if (wal_tomb_read(fuzz_dir(), seg_no, gen, ndocs, 0, &bits, &ndeleted, &err) == SD_OK) {
        check_bits(bits, ndocs, ndeleted);
    }
    free(bits);
    fuzz_dir_clear();
    return 0;
}
