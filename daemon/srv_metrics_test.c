/*
 * srv_metrics_test.c: the Prometheus text of srv_metrics.c without a server
 * (test_srv_metrics): counters and histograms as recorded, every line in the
 * grammar of format 0.0.4, HELP and TYPE before each family's samples, label
 * values escaped. e2e/test_metrics.py scrapes a real searchd with Prometheus's
 * own parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "srv_int.h"

static char *render_counters(struct srv_metrics *m)
{
    struct sd_buf out;
    sd_buf_init(&out);
    srv_metrics_render_counters(m, &out);
    sd_buf_put_u8(&out, '\0');
    assert_int_equal(out.rc, 0);
    size_t len;
    return (char *)sd_buf_detach(&out, &len);
}

static bool is_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Checks one sample line "name{l="v",...} value" and returns the length of its name. */
static size_t check_sample(const char *line)
{
    const char *p = line;
    assert_true(is_name_char(*p, true));
    while (is_name_char(*p, false)) {
        p++;
    }
    size_t name_len = (size_t)(p - line);
    if (*p == '{') {
        p++;
        while (*p != '}') {
            assert_true(is_name_char(*p, true));
            while (is_name_char(*p, false)) {
                p++;
            }
            assert_int_equal(*p++, '=');
            assert_int_equal(*p++, '"');
            while (*p != '"') {
                assert_true(*p != '\0' && *p != '\n');
                if (*p == '\\') {
                    p++;
                    assert_non_null(strchr("\\\"n", *p));
                }
                p++;
            }
            p++;
            if (*p == ',') {
                p++;
            }
        }
        p++;
    }
    assert_int_equal(*p++, ' ');
    char *end;
    strtod(p, &end);
    assert_true(end > p || strncmp(p, "+Inf", 4) == 0);
    assert_true(*end == '\0');
    return name_len;
}

/* Every line: a HELP, then a TYPE for the same name, then samples of that family only. */
static void check_text(char *text)
{
    char family[128] = "";
    int state = 0; /* 0: want HELP; 1: want TYPE; 2: samples */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            size_t n = strcspn(line + 7, " ");
            assert_true(n < sizeof family);
            memcpy(family, line + 7, n);
            family[n] = '\0';
            state = 1;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(state, 1);
            size_t n = strlen(family);
            assert_memory_equal(line + 7, family, n);
            const char *type = line + 7 + n + 1;
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            state = 2;
            continue;
        }
        assert_int_equal(state, 2);
        size_t n = check_sample(line);
        assert_memory_equal(line, family, strlen(family)); /* name or name_bucket/_sum/_count */
        assert_true(n >= strlen(family));
    }
}

static void test_metrics_requests_counted_by_proto_op_status(void **state)
{
    (void)state;
    static struct srv_metrics m;
    srv_metrics_init(&m);
    srv_metrics_request(&m, SRV_PROTO_HTTP, PROTO_OP_SEARCH, 200, 1000);
    srv_metrics_request(&m, SRV_PROTO_HTTP, PROTO_OP_SEARCH, 200, 1000);
    srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_ADD, 503, 1000);
    srv_metrics_request(&m, SRV_PROTO_HTTP, SRV_MOP_METRICS, 200, 1000);
    srv_metrics_request(&m, SRV_PROTO_HTTP, PROTO_OP_GET, 418, 1000); /* no name: "other" */
    srv_metrics_refused(&m, SRV_PROTO_LINE, SRV_REFUSED_TOTAL);
    char *text = render_counters(&m);
    assert_non_null(strstr(text, "\nsearchd_requests_total{proto=\"http\",op=\"search\","
                                 "code=\"200\"} 2\n"));
    assert_non_null(strstr(text, "\nsearchd_requests_total{proto=\"line\",op=\"add\","
                                 "code=\"503\"} 1\n"));
    assert_non_null(strstr(text, "\nsearchd_requests_total{proto=\"http\",op=\"metrics\","
                                 "code=\"200\"} 1\n"));
    assert_non_null(strstr(text, "\nsearchd_requests_total{proto=\"http\",op=\"get\","
                                 "code=\"other\"} 1\n"));
    assert_null(strstr(text, "op=\"delete\"")); /* nothing recorded, no sample */
    assert_non_null(strstr(text, "\nsearchd_connections_rejected_total{proto=\"line\","
                                 "reason=\"max_connections\"} 1\n"));
    check_text(text);
    free(text);
}

/* Every status an error code answers with is counted under its own number: a client's 409
 * (create_index of a name that exists) once went to "other". */
static void test_metrics_every_error_status_named(void **state)
{
    (void)state;
    static struct srv_metrics m;
    srv_metrics_init(&m);
    for (int code = PROTO_OK; code <= PROTO_INDEX_UNAVAILABLE; code++) {
        srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_SEARCH,
                            proto_code_http_status((enum proto_code)code), 1000);
    }
    char *text = render_counters(&m);
    assert_null(strstr(text, "code=\"other\""));
    assert_non_null(strstr(text, "op=\"search\",code=\"409\"} 1\n"));
    check_text(text);
    free(text);
}

static void test_metrics_histogram_cumulative_with_inf_equal_count(void **state)
{
    (void)state;
    static struct srv_metrics m;
    srv_metrics_init(&m);
    srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_SEARCH, 200, 100 * 1000);     /* 100 us */
    srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_SEARCH, 200, 500 * 1000);     /* bound */
    srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_SEARCH, 200, 3000 * 1000);    /* 3 ms */
    srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_SEARCH, 200, 20000000000ull); /* 20 s */
    srv_metrics_request(&m, SRV_PROTO_HTTP, PROTO_OP_DELETE, 200, 2000 * 1000);    /* write */
    srv_metrics_request(&m, SRV_PROTO_HTTP, PROTO_OP_STATS, 200, 2000 * 1000);     /* neither */
    char *text = render_counters(&m);
    static const char *const want[] = {
        "searchd_request_duration_seconds_bucket{op=\"search\",le=\"0.0005\"} 2\n",
        "searchd_request_duration_seconds_bucket{op=\"search\",le=\"0.001\"} 2\n",
        "searchd_request_duration_seconds_bucket{op=\"search\",le=\"0.005\"} 3\n",
        "searchd_request_duration_seconds_bucket{op=\"search\",le=\"10\"} 3\n",
        "searchd_request_duration_seconds_bucket{op=\"search\",le=\"+Inf\"} 4\n",
        "searchd_request_duration_seconds_sum{op=\"search\"} 20.003600\n",
        "searchd_request_duration_seconds_count{op=\"search\"} 4\n",
        "searchd_request_duration_seconds_bucket{op=\"write\",le=\"0.001\"} 0\n",
        "searchd_request_duration_seconds_bucket{op=\"write\",le=\"0.0025\"} 1\n",
        "searchd_request_duration_seconds_count{op=\"write\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(text, want[i])) {
            fail_msg("missing: %s", want[i]);
        }
    }
    check_text(text);
    free(text);
}

static void test_metrics_index_label_values_escaped(void **state)
{
    (void)state;
    const char *names[] = {"books", "a\"b\\c\nd"};
    struct idx_stats stats[2] = {{.docs = 42, .degraded = true}, {.docs = 7}};
    struct sd_buf out;
    sd_buf_init(&out);
    srv_metrics_render_indexes(names, stats, 2, &out);
    sd_buf_put_u8(&out, '\0');
    char *text = (char *)out.data;
    assert_non_null(strstr(text, "\nsearchd_index_docs{index=\"books\"} 42\n"));
    assert_non_null(strstr(text, "\nsearchd_index_docs{index=\"a\\\"b\\\\c\\nd\"} 7\n"));
    assert_non_null(strstr(text, "\nsearchd_index_degraded{index=\"books\"} 1\n"));
    check_text(text);
    sd_buf_free(&out);
}

static void assert_lines(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strstr(text, want[i])) {
            fail_msg("missing: %s", want[i]);
        }
    }
}

/* Issue 13: the engine's histograms (per bucket in ns) come out cumulative, in seconds, ending
 * with +Inf = _count; an index with nothing timed (no bounds) still has its +Inf, _sum and
 * _count; the queue, memory and log counters are samples of their own families. */
static void test_metrics_index_histograms_cumulative_in_seconds(void **state)
{
    (void)state;
    static const uint64_t bounds[] = {50000, 1000000, 2500000}; /* 50 us, 1 ms, 2.5 ms */
    const char *names[] = {"books", "empty"};
    struct idx_stats stats[2] = {
        {.fsync_time =
             {.bounds_ns = bounds, .nbounds = 3, .counts = {2, 0, 3, 1}, .sum_ns = 7250000},
         .flush_time =
             {.bounds_ns = bounds, .nbounds = 3, .counts = {0, 0, 0, 1}, .sum_ns = 3000000000},
         .mem_bytes = 65536,
         .queued_writes = 3,
         .queued_bytes = 900,
         .wal_records = 17,
         .wal_synced_bytes = 4321},
        {0},
    };
    struct sd_buf out;
    sd_buf_init(&out);
    srv_metrics_render_indexes(names, stats, 2, &out);
    sd_buf_put_u8(&out, '\0');
    char *text = (char *)out.data;
    static const char *const want[] = {
        "\nsearchd_index_wal_fsync_duration_seconds_bucket{index=\"books\",le=\"5e-05\"} 2\n",
        "\nsearchd_index_wal_fsync_duration_seconds_bucket{index=\"books\",le=\"0.001\"} 2\n",
        "\nsearchd_index_wal_fsync_duration_seconds_bucket{index=\"books\",le=\"0.0025\"} 5\n",
        "\nsearchd_index_wal_fsync_duration_seconds_bucket{index=\"books\",le=\"+Inf\"} 6\n",
        "\nsearchd_index_wal_fsync_duration_seconds_sum{index=\"books\"} 0.007250\n",
        "\nsearchd_index_wal_fsync_duration_seconds_count{index=\"books\"} 6\n",
        "\nsearchd_index_flush_duration_seconds_bucket{index=\"books\",le=\"0.0025\"} 0\n",
        "\nsearchd_index_flush_duration_seconds_bucket{index=\"books\",le=\"+Inf\"} 1\n",
        "\nsearchd_index_flush_duration_seconds_sum{index=\"books\"} 3.000000\n",
        "\nsearchd_index_merge_duration_seconds_bucket{index=\"empty\",le=\"+Inf\"} 0\n",
        "\nsearchd_index_merge_duration_seconds_sum{index=\"empty\"} 0.000000\n",
        "\nsearchd_index_merge_duration_seconds_count{index=\"empty\"} 0\n",
        "\nsearchd_index_memory_bytes{index=\"books\"} 65536\n",
        "\nsearchd_index_queued_writes{index=\"books\"} 3\n",
        "\nsearchd_index_queued_write_bytes{index=\"books\"} 900\n",
        "\nsearchd_index_wal_records_total{index=\"books\"} 17\n",
        "\nsearchd_index_wal_synced_bytes_total{index=\"books\"} 4321\n",
        "\n# TYPE searchd_index_wal_fsync_duration_seconds histogram\n",
    };
    assert_lines(text, want, sizeof want / sizeof want[0]);
    check_text(text);
    sd_buf_free(&out);
}

static void test_metrics_server_gauges_queues_and_memory(void **state)
{
    (void)state;
    static struct srv_metrics m;
    srv_metrics_init(&m);
    struct srv_metrics_now now = {.connections = {2, 5},
                                  .inflight = 4,
                                  .worker_queue = 3,
                                  .output_bytes = 12345,
                                  .unfinished_bytes = 77,
                                  .engine_memory = 1 << 20,
                                  .engine_memory_peak = 3 << 20,
                                  .engine_memory_limit = 1ull << 30};
    struct sd_buf out;
    sd_buf_init(&out);
    srv_metrics_render_server(&m, &now, &out);
    sd_buf_put_u8(&out, '\0');
    char *text = (char *)out.data;
    static const char *const want[] = {
        "searchd_connections{proto=\"line\"} 2\n",
        "\nsearchd_connections{proto=\"http\"} 5\n",
        "\nsearchd_requests_in_flight 4\n",
        "\n# TYPE searchd_worker_queue_requests gauge\nsearchd_worker_queue_requests 3\n",
        "\nsearchd_connection_output_bytes 12345\n",
        "\nsearchd_connection_unfinished_bytes 77\n",
        "\nsearchd_engine_memory_bytes 1048576\n",
        "\nsearchd_engine_memory_peak_bytes 3145728\n",
        "\nsearchd_engine_memory_limit_bytes 1073741824\n",
        "\nprocess_start_time_seconds ",
        "\nsearchd_build_info{version=\"",
    };
    assert_lines(text, want, sizeof want / sizeof want[0]);
    check_text(text);
    sd_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_requests_counted_by_proto_op_status),
        cmocka_unit_test(test_metrics_every_error_status_named),
        cmocka_unit_test(test_metrics_histogram_cumulative_with_inf_equal_count),
        cmocka_unit_test(test_metrics_index_label_values_escaped),
        cmocka_unit_test(test_metrics_index_histograms_cumulative_in_seconds),
        cmocka_unit_test(test_metrics_server_gauges_queues_and_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
