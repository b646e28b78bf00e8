#!/usr/bin/env python3
"""commit_latency.py: the cost of a durable write (group commit), one binary against another.

For each binary and each of --runs rounds: starts searchd on a fresh data directory under
--dir (put it on the disk you care about: the fsyncs are the point), sends --writes one-doc
adds back to back over one line connection (every ack waits for its own fsyncs), then
--clients connections sending --per-client one-doc adds each at once (acks share fsyncs).
Prints per binary the sequential ms per write and the concurrent writes per second of every
round, and their medians. Issue 15 used it to price wal.synced (a second fdatasync per group
commit):

    bench/commit_latency.py --dir /var/tmp OLD/searchd NEW/searchd
"""

import argparse
import os
import statistics
import tempfile
import threading
import time

import benchd  # bench/benchd.py: the daemon, the client


def adds(addr, prefix, n):
    with benchd.connect(addr) as c:
        for i in range(n):
            c.add([{"id": "%s%d" % (prefix, i), "body": "bench text %d" % i}])


def one_round(binary, base, args):
    daemon = benchd.start(binary, under=base)
    addr = benchd.address(daemon)
    try:
        t0 = time.monotonic()
        adds(addr, "s", args.writes)
        seq_ms = (time.monotonic() - t0) / args.writes * 1000
        ths = [threading.Thread(target=adds, args=(addr, "c%d-" % k, args.per_client))
               for k in range(args.clients)]
        t0 = time.monotonic()
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        conc = args.clients * args.per_client / (time.monotonic() - t0)
    finally:
        daemon.cleanup()
    return seq_ms, conc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=150)
    args = ap.parse_args()
    res = {b: [] for b in args.binaries}
    for _ in range(args.runs):  # interleaved, so a busy moment hurts every binary alike
        for b in args.binaries:
            res[b].append(one_round(os.path.abspath(b), args.dir, args))
    for b, rounds in res.items():
        seq = [r[0] for r in rounds]
        conc = [r[1] for r in rounds]
        print("%s: sequential ms/write %s (median %.3f); %d clients writes/s %s (median %.0f)"
              % (b, ["%.3f" % x for x in seq], statistics.median(seq), args.clients,
                 ["%.0f" % x for x in conc], statistics.median(conc)))


if __name__ == "__main__":
    main()
