/*
 * wal_int.h: what the files of index/wal/ share and nobody else includes:
 * the log file header and record layout (documented in wal_log.c), the
 * struct wal itself, and file-name helpers.
 */
#ifndef SEARCHD_WAL_INT_H
#define SEARCHD_WAL_INT_H

#include "wal.h"

#define WAL_MAGIC         "SDWL"
#define WAL_HEADER_LEN    32u        /* log file header, see wal_log.c */
#define WAL_REC_PREFIX    13u        /* len 4 + seq 8 + type 1: the bytes before the payload */
#define WAL_REC_OVERHEAD  21u        /* prefix + the 8-byte XXH3-64 after the payload */
#define WAL_WRITE_CHUNK   (1u << 20) /* buffered records are written out past this */
#define WAL_MAX_LOG_FILES 100000u

/* One log file, wal-NNNNNN.log. */
struct wal_file {
    uint32_t no;        /* the NNNNNN of its name; files are numbered consecutively */
    uint64_t first_seq; /* from its header: its first record's seq if it has one */
    uint64_t size;      /* bytes in the file (for the current file: written so far) */
};

/* The log open for append. Owned by one thread (see wal.h). Invariants:
 * synced_size <= size; synced_seq <= last_seq; the file's bytes past
 * synced_size and the buffered records are not durable. */
struct wal {
    char *dir;              /* owned copy */
    struct wal_file *files; /* owned; files[nfiles - 1] is the current file */
    uint32_t nfiles;
    int fd;               /* current file, write-only; positions come from size */
    uint64_t size;        /* bytes written to the current file */
    uint64_t synced_size; /* bytes of the current file known durable */
    uint64_t last_seq;    /* last appended record (buffered, written or synced) */
    uint64_t synced_seq;  /* last durable record */
    uint64_t old_bytes;   /* total size of files[0, nfiles - 1) */
    struct sd_buf buf;    /* encoded records not yet written to fd */
    bool is_dirty;        /* a write was attempted since the last sync point */
    bool is_broken;       /* a rollback failed: every call fails until reopen */
    int synced_fd;        /* wal.synced, write-only (wal_synced.c) */
    uint64_t synced_counter; /* of its last written slot */
    uint64_t recorded_seq;   /* the seq wal.synced holds */
    uint64_t last_sync_ns;   /* fdatasync time of the last successful wal_sync() (wal.h) */
};

/* Parses "<prefix><digits><suffix>" exactly (at least 6 digits, value fitting
 * a uint32_t); the digits go to *no. Anything else returns false. */
bool wal_name_parse(const char *name, const char *prefix, const char *suffix, uint32_t *no);

/* dir + "/" + name into path[cap]; SD_EINVAL if it does not fit. */
int wal_join(char *path, size_t cap, const char *dir, const char *name, struct sd_error *err);

/* Numbers of the wal-*.log files in dir, sorted ascending, returned owned in
 * *nos (free()). They must be consecutive: a gap is SD_ECORRUPT. */
int wal_list_logs(const char *dir, uint32_t **nos, uint32_t *count, struct sd_error *err);

/* Checks a log file header (p has at least WAL_HEADER_LEN bytes) of the file
 * named by path whose name says number no; returns its first seq. */
int wal_header_decode(const uint8_t *p, const char *path, uint32_t no, uint64_t *first_seq,
                      struct sd_error *err);

/* Creates dir/wal-NNNNNN.log holding only its header, atomically and durably,
 * so a log file never exists with a partial header. */
int wal_create_log(const char *dir, uint32_t no, uint64_t first_seq, struct sd_error *err);

/* Builds the struct wal over files[0, nfiles) (takes files) with the last file
 * open for append at its current size, all of it durable. */
int wal_attach(const char *dir, struct wal_file *files, uint32_t nfiles, uint64_t last_seq,
               struct wal **out, struct sd_error *err);

/* wal_synced.c. Reads dir/wal.synced: *seq is the last acknowledged seq.
 * SD_ENOTFOUND (and *seq 0) when there is none, SD_ECORRUPT naming it. */
int wal_synced_read(const char *dir, uint64_t *seq, struct sd_error *err);
/* Creates w->dir/wal.synced atomically holding seq and opens it for
 * wal_synced_record(). */
int wal_synced_create(struct wal *w, uint64_t seq, struct sd_error *err);
/* Durably records seq (pwrite of one slot, fdatasync). */
int wal_synced_record(struct wal *w, uint64_t seq, struct sd_error *err);

/* An error from errno e about path: "<what> <path>: <strerror>", coded by
 * sd_status_from_errno() (ENOSPC, EDQUOT, EFBIG: SD_ENOSPC). */
int wal_syserr(struct sd_error *err, int e, const char *what, const char *path);

#endif
