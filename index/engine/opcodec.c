/*
 * opcodec.c: a write operation as a log record payload, and back.
 *
 * Payload v1 (record type IDX_REC_UPSERT = 1), integers LEB128 varints:
 *   varint id_len, id bytes
 *   varint nfields
 *   nfields x { u8 type (enum seg_value_type), varint name_len, name,
 *               varint value_len, value }
 * Record type IDX_REC_DELETE = 2: varint id_len, id bytes.
 * The log record around it (length, checksum, sequence number) is wal.c's.
 * Ops are validated before they are logged, so a record that replays is a
 * record that was accepted; decoding still checks every length.
 */
#include "engine_int.h"

#include "stem.h"

static bool idx_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > SEG_MAX_NAME || !stem_utf8_valid(name, len)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x20) {
            return false;
        }
    }
    return true;
}

int idx_op_validate(const struct idx_op *op, struct sd_error *err)
{
    const struct seg_doc *d = &op->doc;
    if (d->id_len == 0 || d->id_len > SEG_MAX_ID) {
        return sd_errorf(err, SD_EINVAL, "document id must be 1 to %d bytes", SEG_MAX_ID);
    }
    if (!stem_utf8_valid(d->id, d->id_len)) {
        return sd_errorf(err, SD_EINVAL, "document id is not valid UTF-8");
    }
    if (op->type == IDX_OP_DELETE) {
        return SD_OK;
    }
    if (op->type != IDX_OP_UPSERT) {
        return sd_errorf(err, SD_EINVAL, "unknown operation %d", (int)op->type);
    }
    if (d->nfields > SEG_MAX_FIELDS) {
        return sd_errorf(err, SD_ELIMIT, "document '%.*s': %zu fields, at most %d",
                         (int)sd_utf8_cut(d->id, d->id_len, 64), d->id, d->nfields, SEG_MAX_FIELDS);
    }
    for (size_t i = 0; i < d->nfields; i++) {
        const struct seg_field *f = &d->fields[i];
        if (!idx_name_ok(f->name, f->name_len)) {
            return sd_errorf(err, SD_EINVAL, "field name must be 1 to %d bytes of UTF-8 text",
                             SEG_MAX_NAME);
        }
        if (f->type != SEG_TEXT && f->type != SEG_RAW) {
            return sd_errorf(err, SD_EINVAL, "field '%.*s': bad value type", (int)f->name_len,
                             f->name);
        }
        if (!stem_utf8_valid(f->value, f->value_len)) {
            return sd_errorf(err, SD_EINVAL, "field '%.*s' is not valid UTF-8",
                             (int)f->name_len, f->name);
        }
        for (size_t j = 0; j < i; j++) {
            if (d->fields[j].name_len == f->name_len &&
                memcmp(d->fields[j].name, f->name, f->name_len) == 0) {
                return sd_errorf(err, SD_EINVAL, "field '%.*s' appears twice",
                                 (int)f->name_len, f->name);
            }
        }
    }
    return SD_OK;
}

void idx_op_encode(const struct idx_op *op, struct sd_buf *out)
{
    const struct seg_doc *d = &op->doc;
    sd_buf_put_varint(out, d->id_len);
    sd_buf_put(out, d->id, d->id_len);
    if (op->type == IDX_OP_DELETE) {
        return;
    }
    sd_buf_put_varint(out, d->nfields);
    for (size_t i = 0; i < d->nfields; i++) {
        const struct seg_field *f = &d->fields[i];
        sd_buf_put_u8(out, f->type);
        sd_buf_put_varint(out, f->name_len);
        sd_buf_put(out, f->name, f->name_len);
        sd_buf_put_varint(out, f->value_len);
        sd_buf_put(out, f->value, f->value_len);
    }
}

static int idx_rd_str(struct sd_rd *rd, const char **s, size_t *len)
{
    uint64_t n;
    const uint8_t *p;
    if (sd_rd_varint(rd, &n) || sd_rd_bytes(rd, (size_t)n, &p) || n > SIZE_MAX) {
        return SD_ECORRUPT;
    }
    *s = (const char *)p;
    *len = (size_t)n;
    return SD_OK;
}

int idx_op_decode(uint8_t type, const uint8_t *payload, size_t len, struct idx_op *op,
                  struct seg_field *fields, struct sd_error *err)
{
    struct sd_rd rd;
    sd_rd_init(&rd, payload, len);
    memset(op, 0, sizeof *op);
    if (type != IDX_REC_UPSERT && type != IDX_REC_DELETE) {
        return SD_CORRUPT(err, "log record type %u unknown", type);
    }
    op->type = type == IDX_REC_UPSERT ? IDX_OP_UPSERT : IDX_OP_DELETE;
    if (idx_rd_str(&rd, &op->doc.id, &op->doc.id_len)) {
        return SD_CORRUPT(err, "log record: bad id");
    }
    if (op->type == IDX_OP_UPSERT) {
        uint64_t n;
        if (sd_rd_varint(&rd, &n) || n > SEG_MAX_FIELDS) {
            return SD_CORRUPT(err, "log record: bad field count");
        }
        for (size_t i = 0; i < n; i++) {
            struct seg_field *f = &fields[i];
            if (sd_rd_u8(&rd, &f->type) || idx_rd_str(&rd, &f->name, &f->name_len) ||
                idx_rd_str(&rd, &f->value, &f->value_len)) {
                return SD_CORRUPT(err, "log record: bad field %zu", i);
            }
        }
        op->doc.fields = fields;
        op->doc.nfields = (size_t)n;
    }
    if (sd_rd_left(&rd) != 0) {
        return SD_CORRUPT(err, "log record: %zu trailing bytes", sd_rd_left(&rd));
    }
    return SD_OK;
}

int idx_op_decode_checked(uint8_t type, const uint8_t *payload, size_t len, struct idx_op *op,
                          struct seg_field *fields, struct sd_error *err)
{
    int rc = idx_op_decode(type, payload, len, op, fields, err);
    if (rc) {
        return rc;
    }
    struct sd_error why;
    if (idx_op_validate(op, &why) != SD_OK) {
        return SD_CORRUPT(err, "log record: %s", why.msg);
    }
    return SD_OK;
}
