/*
 * bench_srv_metrics.c: what srv_complete's bookkeeping costs per request, in process: the
 * counters of srv_metrics_request (three relaxed atomic adds and a bucket search) and, with
 * --access-log FILE, one access-log line. Not a test (STYLE.md 2.8): prints nanoseconds per
 * request, to set beside the microseconds a search takes through the daemon
 * (bench/service_qps.py). Times are the thread's CPU time, not the wall clock: on a shared
 * machine the wall clock counts the time other processes had the CPU.
 *
 *   build/daemon/bench_srv_metrics [N] [ACCESS_LOG_FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "srv_int.h"

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000000ul;
    static struct srv_metrics m;
    srv_metrics_init(&m);
    uint64_t t0 = cpu_ns();
    for (unsigned long i = 0; i < n; i++) {
        /* latencies spread over the buckets, as real ones are */
        srv_metrics_request(&m, SRV_PROTO_LINE, PROTO_OP_SEARCH, 200, (i % 4096) * 997);
    }
    uint64_t ns = cpu_ns() - t0;
    printf("srv_metrics_request: %.1f ns of CPU per request (%lu requests)\n",
           (double)ns / (double)n, n);
    if (argc > 2) {
        if (log_access_open(argv[2])) {
            perror(argv[2]);
            return 1;
        }
        unsigned long lines = n / 100;
        t0 = cpu_ns();
        for (unsigned long i = 0; i < lines; i++) {
            log_access("peer=127.0.0.1:40000 proto=line op=search index=default status=200 "
                       "in=42 out=512 us=%lu",
                       i % 1000);
        }
        ns = cpu_ns() - t0;
        printf("log_access: %.1f ns of CPU per line (%lu lines)\n", (double)ns / (double)lines,
               lines);
    }
    return 0;
}
