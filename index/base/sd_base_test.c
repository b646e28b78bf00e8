/*
 * sd_base_test.c: the byte codecs and cursors every decoder relies on.
 * A cursor must refuse to read past its end whatever the bytes say.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sd_base.h"

static void test_sd_varint_roundtrip_all_widths(void **state)
{
    (void)state;
    uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
                       UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        struct sd_buf b;
        sd_buf_init(&b);
        sd_buf_put_varint(&b, vals[i]);
        assert_int_equal(b.rc, SD_OK);
        struct sd_rd rd;
        sd_rd_init(&rd, b.data, b.len);
        uint64_t v = 0;
        assert_int_equal(sd_rd_varint(&rd, &v), SD_OK);
        assert_true(v == vals[i]);
        assert_int_equal(sd_rd_left(&rd), 0);
        /* every truncation of the encoding is refused, cursor unmoved */
        for (size_t cut = 0; cut < b.len; cut++) {
            sd_rd_init(&rd, b.data, cut);
            assert_int_equal(sd_rd_varint(&rd, &v), SD_ECORRUPT);
            assert_int_equal(sd_rd_left(&rd), cut);
        }
        sd_buf_free(&b);
    }
}

static void test_sd_rd_varint_overlong_returns_corrupt(void **state)
{
    (void)state;
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof eleven);
    struct sd_rd rd;
    uint64_t v;
    sd_rd_init(&rd, eleven, sizeof eleven);
    assert_int_equal(sd_rd_varint(&rd, &v), SD_ECORRUPT);
    /* 2^64 does not fit */
    uint8_t big[10] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    sd_rd_init(&rd, big, sizeof big);
    assert_int_equal(sd_rd_varint(&rd, &v), SD_ECORRUPT);
    uint32_t v32;
    uint8_t over32[5] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    sd_rd_init(&rd, over32, sizeof over32);
    assert_int_equal(sd_rd_varint32(&rd, &v32), SD_ECORRUPT);
    assert_int_equal(sd_rd_left(&rd), 5);
}

static void test_sd_rd_fixed_width_past_end_returns_corrupt(void **state)
{
    (void)state;
    uint8_t b[8];
    sd_put_le64(b, 0x0102030405060708ull);
    assert_true(sd_get_le64(b) == 0x0102030405060708ull);
    assert_int_equal(sd_get_le32(b), 0x05060708u);
    assert_int_equal(sd_get_le16(b), 0x0708u);
    struct sd_rd rd;
    sd_rd_init(&rd, b, 7);
    uint64_t v64;
    uint32_t v32;
    assert_int_equal(sd_rd_le64(&rd, &v64), SD_ECORRUPT);
    assert_int_equal(sd_rd_le32(&rd, &v32), SD_OK);
    assert_int_equal(sd_rd_le32(&rd, &v32), SD_ECORRUPT);
    const uint8_t *p;
    assert_int_equal(sd_rd_bytes(&rd, SIZE_MAX, &p), SD_ECORRUPT);
    assert_int_equal(sd_rd_bytes(&rd, 3, &p), SD_OK);
    assert_int_equal(sd_rd_left(&rd), 0);
}

static void test_sd_errorf_formats_and_names(void **state)
{
    (void)state;
    struct sd_error err;
    assert_int_equal(sd_errorf(&err, SD_EIO, "open %s", "x.seg"), SD_EIO);
    assert_string_equal(err.msg, "open x.seg");
    assert_int_equal(SD_CORRUPT(&err, "bad block %u", 7u), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "bad block 7 [sd_base_test.c:"));
    assert_string_equal(sd_status_name(SD_ENOTFOUND), "not_found");
    assert_string_equal(sd_status_name(SD_EEXIST), "exists");
    assert_string_equal(sd_status_name(SD_EUNAVAIL), "unavailable");
    assert_int_equal(sd_errorf(NULL, SD_EINVAL, "ignored"), SD_EINVAL);
}

static void test_sd_write_file_atomic_replaces_and_maps(void **state)
{
    (void)state;
    char dir[] = "/tmp/sd_base_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sd_error err;
    assert_int_equal(sd_write_file_atomic(dir, "F", "one", 3, &err), SD_OK);
    assert_int_equal(sd_write_file_atomic(dir, "F", "second", 6, &err), SD_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/F", dir);
    struct sd_map m;
    assert_int_equal(sd_map_file(path, &m, &err), SD_OK);
    assert_int_equal(m.len, 6);
    assert_memory_equal(m.data, "second", 6);
    sd_unmap(&m);
    assert_int_equal(sd_write_file_new(dir, "F", "x", 1, &err), SD_EIO);
    uint8_t *data;
    size_t len;
    assert_int_equal(sd_read_file(path, 3, &data, &len, &err), SD_ELIMIT);
    assert_int_equal(sd_read_file(path, 100, &data, &len, &err), SD_OK);
    assert_int_equal(len, 6);
    free(data);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(sd_map_file(path, &m, &err), SD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing"));
    snprintf(path, sizeof path, "%s/F", dir);
    unlink(path);
    rmdir(dir);
}

/* Only a regular file opens: a link (which could lead out of the data directory, or to another
 * index's file), a directory or a FIFO is SD_ECORRUPT naming the path and what it is, and a FIFO
 * is never waited on (opening one for reading blocked until a writer came: a start that hung). */
static void test_sd_file_opens_only_regular_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/sd_base_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sd_error err;
    char real[512], link[512], fifo[512], sub[512], tmp_link[512];
    snprintf(real, sizeof real, "%s/real", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(tmp_link, sizeof tmp_link, "%s/W.tmp", dir);
    assert_int_equal(sd_write_file_atomic(dir, "real", "intact", 6, &err), SD_OK);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    const struct {
        const char *path, *kind;
    } cases[] = {{link, "a symbolic link"}, {fifo, "a FIFO"}, {sub, "a directory"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[600];
        snprintf(want, sizeof want, "%s: not a regular file (%s)", cases[i].path, cases[i].kind);
        struct sd_map m;
        assert_int_equal(sd_map_file(cases[i].path, &m, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, want));
        uint8_t *data = NULL;
        size_t len;
        assert_int_equal(sd_read_file(cases[i].path, 100, &data, &len, &err), SD_ECORRUPT);
        assert_non_null(strstr(err.msg, want));
        assert_null(data);
        int fd = 0;
        assert_int_equal(sd_open_file(cases[i].path, O_WRONLY, 0, &fd, &err), SD_ECORRUPT);
        assert_int_equal(fd, -1);
        assert_non_null(strstr(err.msg, want));
    }
    /* a write never goes through a link either: the file it points to is left as it was */
    assert_int_equal(symlink(real, tmp_link), 0);
    assert_int_equal(sd_write_file_atomic(dir, "W", "other", 5, &err), SD_ECORRUPT);
    assert_non_null(strstr(err.msg, "W.tmp: not a regular file (a symbolic link)"));
    uint8_t *data;
    size_t len;
    assert_int_equal(sd_read_file(real, 100, &data, &len, &err), SD_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(data, "intact", 6);
    free(data);
    unlink(tmp_link);
    unlink(link);
    unlink(fifo);
    rmdir(sub);
    unlink(real);
    rmdir(dir);
}

/* sd_grow doubles from the first capacity, keeps what was pushed, returns the same array
 * while it has room, and refuses a size that would overflow with the array left as it was. */
static void test_sd_grow_doubles_keeps_and_refuses_overflow(void **state)
{
    (void)state;
    uint32_t *a = NULL;
    size_t cap = 0, reallocs = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t *p = sd_grow(a, &cap, (size_t)i + 1, sizeof *p, 16);
        assert_non_null(p);
        reallocs += p != a || i == 0;
        a = p;
        a[i] = i * 7;
        assert_true(cap >= (size_t)i + 1);
    }
    assert_int_equal(cap, 1024); /* 16, 32, ..., 1024 */
    assert_true(reallocs <= 7);
    for (uint32_t i = 0; i < 1000; i++) {
        assert_int_equal(a[i], i * 7);
    }
    assert_ptr_equal(sd_grow(a, &cap, 1024, sizeof *a, 16), a); /* room: no call */
    assert_null(sd_grow(a, &cap, SIZE_MAX / 2, sizeof *a, 16)); /* bytes overflow */
    assert_null(sd_grow(a, &cap, SIZE_MAX, 1, 16));             /* doubling overflows */
    assert_int_equal(cap, 1024);
    assert_int_equal(a[999], 999 * 7);
    size_t cap2 = 0;
    uint8_t *b = sd_grow(NULL, &cap2, 3000, 1, 0); /* first 0: from 1, the next power of 2 */
    assert_non_null(b);
    assert_int_equal(cap2, 4096);
    free(b);
    free(a);
}

/* The inlined puts write in place when room is reserved and grow the buffer otherwise, at
 * every distance from the end of the capacity; after an error they write nothing. */
static void test_sd_buf_put_varint_u8_at_every_room_and_after_error(void **state)
{
    (void)state;
    for (size_t fill = 240; fill <= 256; fill++) {
        struct sd_buf b;
        sd_buf_init(&b);
        assert_int_equal(sd_buf_reserve(&b, 256), SD_OK);
        assert_int_equal(b.cap, 256);
        for (size_t i = 0; i < fill; i++) {
            sd_buf_put_u8(&b, (uint8_t)i);
        }
        sd_buf_put_varint(&b, UINT64_MAX); /* 10 bytes: some fit, some do not */
        sd_buf_put_u8(&b, 0x5a);
        assert_int_equal(b.rc, SD_OK);
        assert_int_equal(b.len, fill + 11);
        for (size_t i = 0; i < fill; i++) {
            assert_int_equal(b.data[i], (uint8_t)i);
        }
        struct sd_rd rd;
        uint64_t v;
        sd_rd_init(&rd, b.data + fill, 10);
        assert_int_equal(sd_rd_varint(&rd, &v), SD_OK);
        assert_true(v == UINT64_MAX);
        assert_int_equal(b.data[fill + 10], 0x5a);
        b.rc = SD_ENOMEM; /* sticky: nothing more is written */
        sd_buf_put_u8(&b, 1);
        sd_buf_put_varint(&b, 300);
        assert_int_equal(b.len, fill + 11);
        sd_buf_free(&b);
    }
}

static void test_sd_buf_detach_hands_over_memory(void **state)
{
    (void)state;
    struct sd_buf b;
    sd_buf_init(&b);
    for (int i = 0; i < 1000; i++) {
        sd_buf_put_le32(&b, (uint32_t)i);
    }
    assert_int_equal(b.rc, SD_OK);
    size_t len;
    uint8_t *p = sd_buf_detach(&b, &len);
    assert_int_equal(len, 4000);
    assert_int_equal(sd_get_le32(p + 4 * 999), 999);
    assert_null(b.data);
    free(p);
    assert_true(sd_hash64("abc", 3) != sd_hash64("abd", 3));
}

/* A cut at max bytes backs off to the start of the character it would split ("д" is 2 bytes,
 * "€" 3, "😀" 4), keeps whole text that fits, and counts a stray byte as one character. */
static void test_sd_utf8_cut_ends_on_a_character_boundary(void **state)
{
    (void)state;
    assert_int_equal(sd_utf8_cut("abc", 3, 64), 3);
    assert_int_equal(sd_utf8_cut("abc", 3, 2), 2);
    assert_int_equal(sd_utf8_cut("abc", 3, 0), 0);
    assert_int_equal(sd_utf8_cut("\xd0\xb4\xd0\xb4", 4, 3), 2);
    assert_int_equal(sd_utf8_cut("\xd0\xb4\xd0\xb4", 4, 2), 2);
    assert_int_equal(sd_utf8_cut("\xd0\xb4\xd0\xb4", 4, 1), 0);
    assert_int_equal(sd_utf8_cut("a\xe2\x82\xac", 4, 3), 1);
    assert_int_equal(sd_utf8_cut("a\xf0\x9f\x98\x80"
                                 "b",
                                 6, 4),
                     1);
    assert_int_equal(sd_utf8_cut("a\xf0\x9f\x98\x80"
                                 "b",
                                 6, 5),
                     5);
    assert_int_equal(sd_utf8_cut("\x80\x80\x80", 3, 2), 2);
    assert_int_equal(sd_utf8_cut("a\xff"
                                 "b",
                                 3, 2),
                     2);
    /* 40 Cyrillic letters are 80 bytes: cut to 64, all 32 whole letters, none broken */
    char name[81];
    for (int i = 0; i < 40; i++) {
        memcpy(name + 2 * i, "\xd0\xb6", 2);
    }
    name[80] = '\0';
    assert_int_equal(sd_utf8_cut(name, 80, 64), 64);
    assert_int_equal(sd_utf8_cut(name + 1, 79, 64), 63); /* starts mid-letter: 1 + 31 letters */
    assert_int_equal(sd_utf8_cut(name, 80, 63), 62);
}

/* A message longer than struct sd_error holds is cut on a character boundary, never mid-letter. */
static void test_sd_errorf_cuts_a_long_message_on_a_character_boundary(void **state)
{
    (void)state;
    char name[401];
    for (int i = 0; i < 200; i++) {
        memcpy(name + 2 * i, "\xd0\xb6", 2);
    }
    name[400] = '\0';
    struct sd_error err;
    for (int pad = 0; pad < 2; pad++) { /* the byte limit falls inside a letter in one of the two */
        sd_errorf(&err, SD_EINVAL, "%.*sfield '%s'", pad, "x", name);
        size_t len = strlen(err.msg);
        assert_true(len >= sizeof err.msg - 2);
        assert_true(((unsigned char)err.msg[len - 1] & 0xc0) == 0x80); /* ends on a whole letter */
        assert_true((unsigned char)err.msg[len - 2] == 0xd0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sd_varint_roundtrip_all_widths),
        cmocka_unit_test(test_sd_rd_varint_overlong_returns_corrupt),
        cmocka_unit_test(test_sd_rd_fixed_width_past_end_returns_corrupt),
        cmocka_unit_test(test_sd_errorf_formats_and_names),
        cmocka_unit_test(test_sd_utf8_cut_ends_on_a_character_boundary),
        cmocka_unit_test(test_sd_errorf_cuts_a_long_message_on_a_character_boundary),
        cmocka_unit_test(test_sd_write_file_atomic_replaces_and_maps),
        cmocka_unit_test(test_sd_file_opens_only_regular_files),
        cmocka_unit_test(test_sd_grow_doubles_keeps_and_refuses_overflow),
        cmocka_unit_test(test_sd_buf_detach_hands_over_memory),
        cmocka_unit_test(test_sd_buf_put_varint_u8_at_every_room_and_after_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
