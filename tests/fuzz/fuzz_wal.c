/*
 * fuzz_wal.c: the write-ahead log reader (wal_replay.c): header checks, record lengths,
 * checksums and seqs, and the torn-tail versus corruption decision, over log files made from
 * the input. Layout: byte 0 is flags (bit 0: fix the header and record checksums; bit 1: two
 * log files, split at the offset in bytes 1-2; bits 2-7: the MANIFEST checkpoint from_seq,
 * 0..63), the rest the file bytes. wal_check reads without changing anything, then wal_open
 * repairs (truncates a torn tail), and a record is appended and synced on the repaired log to
 * show it is usable. Every replayed record is checked against the promised bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wal.h"

#define HEADER_LEN 32u /* wal_log.c */
#define REC_PREFIX 13u

/* Recomputes the header checksum and, record by record while lengths fit, each record's. */
static void fix_log(uint8_t *p, size_t len)
{
    if (len < HEADER_LEN) {
        return;
    }
    fuzz_fix_hash(p, 24);
    size_t off = HEADER_LEN;
    while (len - off >= REC_PREFIX + 8) {
        uint32_t plen = sd_get_le32(p + off);
        if (plen > len - off - REC_PREFIX - 8) {
            break;
        }
        fuzz_fix_hash(p + off, REC_PREFIX + plen);
        off += REC_PREFIX + plen + 8;
    }
}

struct replay {
    uint64_t last_seq;
    uint64_t count;
};

static int on_record(void *arg, const struct wal_record *rec, struct sd_error *err)
{
    struct replay *r = arg;
    (void)err;
    if (rec->len > WAL_MAX_RECORD || (rec->len && !rec->payload) ||
        (r->count && rec->seq != r->last_seq + 1)) {
        abort(); /* the reader handed over a record that breaks its contract */
    }
    if (rec->len) { /* touch every byte: ASan checks the payload is really there */
        volatile uint8_t sink = ((const uint8_t *)rec->payload)[rec->len - 1];
        (void)sink;
    }
    r->last_seq = rec->seq;
    r->count++;
    return 0;
}

static void write_logs(const uint8_t *data, size_t size)
{
    uint8_t flags = data[0];
    size_t head = (flags & 2) ? 3 : 1;
    if (size < head) {
        return;
    }
    size_t len = size - head;
    uint8_t *p = fuzz_copy(data + head, len);
    size_t split = len;
    if (flags & 2) {
        split = (size_t)sd_get_le16(data + 1) % (len + 1);
    }
    if (flags & 1) {
        fix_log(p, split);
        fix_log(p + split, len - split);
    }
    fuzz_write("wal-000001.log", p, split);
    if (flags & 2) {
        fuzz_write("wal-000002.log", p + split, len - split);
    }
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    const char *dir = fuzz_dir();
    uint64_t from_seq = data[0] >> 2;
    write_logs(data, size);

    struct wal_open_info info;
    struct sd_error err = {0};
    struct replay r = {0};
    wal_check(dir, from_seq, on_record, &r, &info, &err);

    struct wal *w = NULL;
    struct replay r2 = {0};
    if (wal_open(dir, from_seq, on_record, &r2, &w, &info, &err) == SD_OK) {
        uint64_t seq = 0;
        if (wal_append(w, 1, "fuzz", 4, &seq, &err) == SD_OK) {
            wal_sync(w, &err);
        }
        wal_close(w);
    }
    fuzz_dir_clear();
    return 0;
}
