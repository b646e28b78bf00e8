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
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time

READY = re.compile(r"event=ready http=(\S+) line=(\S+)")


def start(binary, data):
    p = subprocess.Popen([binary, "--data", data, "--listen", "127.0.0.1:0", "--line-listen",
                          "127.0.0.1:0"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for raw in p.stderr:
        m = READY.search(raw.decode("utf-8", "replace"))
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            host, _, port = m.group(2).rpartition(":")
            return p, (host, int(port))
    raise SystemExit("%s did not start" % binary)


def adds(addr, prefix, n):
    s = socket.create_connection(addr)
    f = s.makefile("rb")
    for i in range(n):
        s.sendall(b'{"op":"add","docs":[{"id":"%s%d","body":"bench text %d"}]}\n'
                  % (prefix.encode(), i, i))
        if b'"ok":true' not in f.readline():
            raise SystemExit("a write failed")
    s.close()


def one_round(binary, base, args):
    data = tempfile.mkdtemp(dir=base)
    p, addr = start(binary, data)
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
        p.terminate()
        p.wait(60)
        shutil.rmtree(data, ignore_errors=True)
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
