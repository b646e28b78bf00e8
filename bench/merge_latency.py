#!/usr/bin/env python3
"""merge_latency.py: search latency while a steady stream of writes forces flushes and merges.

Starts searchd on a fresh data directory with small flush and merge thresholds, streams
upserts over one line-protocol connection (a writer process) while a second process runs
searches back to back over another connection, and classifies every search by whether a
merge or flush was running when it was sent (stats: merges_running, polled by a third
process). Prints one JSON object: write throughput, and search count, p50, p99 and max
latency for searches during merges and outside them.

    bench/merge_latency.py --searchd build-release/daemon/searchd --docs CORPUS.jsonl
        [--seconds 30] [--flush-bytes 1m] [--merge-factor 4]

CORPUS.jsonl: documents with id, title, body (the sample collection works; the benchmark
corpus is better). Ids are reused modulo --ids, so later writes are upserts and merges have
deleted documents to drop.
"""

import argparse
import json
import multiprocessing as mp
import re
import time

import benchd  # bench/benchd.py: the daemon, the client, pct
from benchd import pct


def writer(addr, docs, ids, deadline, out):
    c = benchd.connect(addr)
    n = 0
    while time.monotonic() < deadline:
        d = dict(docs[n % len(docs)])
        d["id"] = "w-%d" % (n % ids)
        d["body"] = "%s revision %d" % (d.get("body", ""), n)
        c.add(d)
        n += 1
    out.put(("writes", n))


def merge_watch(addr, deadline, state):
    c = benchd.connect(addr)
    while time.monotonic() < deadline:
        st = c.stats()
        state.value = 1 if st.get("merges_running", 0) else 0
        time.sleep(0.005)


def searcher(addr, queries, deadline, state, out):
    c = benchd.connect(addr)
    lat = {0: [], 1: []}
    i = 0
    while time.monotonic() < deadline:
        merging = state.value
        t = time.perf_counter()
        c.search(queries[i % len(queries)], limit=10)
        lat[merging].append((time.perf_counter() - t) * 1000)
        i += 1
    out.put(("lat", lat))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", required=True)
    ap.add_argument("--docs", required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--ids", type=int, default=5000)
    ap.add_argument("--flush-bytes", default="1m")
    ap.add_argument("--merge-factor", default="4")
    args = ap.parse_args()
    docs = []
    with open(args.docs, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                docs.append(json.loads(line))
            if len(docs) >= 20000:
                break
    words = [w for d in docs[:200] for w in re.findall(r"\w{5,}", d.get("title", ""))]
    queries = [" ".join(words[i:i + 2]) for i in range(0, max(2, len(words) - 1), 2)][:200]
    daemon = benchd.start(args.searchd, ["--flush-bytes", args.flush_bytes, "--flush-ms", "1000",
                                         "--merge-factor", args.merge_factor])
    try:
        addr = benchd.address(daemon)
        deadline = time.monotonic() + args.seconds
        out = mp.Queue()
        state = mp.Value("i", 0)
        procs = [mp.Process(target=writer, args=(addr, docs, args.ids, deadline, out)),
                 mp.Process(target=merge_watch, args=(addr, deadline, state)),
                 mp.Process(target=searcher, args=(addr, queries, deadline, state, out))]
        for p in procs:
            p.start()
        results = dict(out.get() for _ in range(2))
        for p in procs:
            p.join()
        st = benchd.connect(addr).stats()
        lat = results["lat"]
        report = {
            "seconds": args.seconds,
            "writes_per_s": round(results["writes"] / args.seconds, 1),
            "merges_done": st.get("merges_done"), "flushes_done": st.get("flushes_done"),
            "segments_at_end": st.get("segments"),
            "search_idle": {"n": len(lat[0]), "p50_ms": pct(lat[0], 50),
                            "p99_ms": pct(lat[0], 99), "max_ms": pct(lat[0], 100)},
            "search_during_merge": {"n": len(lat[1]), "p50_ms": pct(lat[1], 50),
                                    "p99_ms": pct(lat[1], 99), "max_ms": pct(lat[1], 100)},
        }
        print(json.dumps(report))
    finally:
        daemon.cleanup()


if __name__ == "__main__":
    main()
