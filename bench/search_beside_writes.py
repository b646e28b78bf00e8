#!/usr/bin/env python3
"""search_beside_writes.py: what a steady stream of writes costs the searches.

Starts searchd (release build) on a fresh data directory, imports the corpus, waits until it
has settled (nothing in memory, no merge running), then searches twice, one searcher on one
line-protocol connection, each query of each set once, the sets in turn:

  quiet    with the sets of --quiet-sets, nothing else running;
  writing  with those of --writing-sets, while a writer process replaces corpus documents (the
           same text under the same id) at --rate documents a second, in batches of 1, 10 and
           200 in turn, each acknowledged before the next, from 2 s before the first search:
           the writes keep a handful of small in-memory segments alive, flushed and merged as
           they come.

The sets are known-item sets of the public kinds (exact, typo and layout, en and ru: the typo
and layout readings look words up in every segment), two samples made the same way and not the
public ones: a query searched twice finds the answers of its first search remembered in the
segment (the typo walk's memo), and the writing phase would meet the quiet phase's. Make them
with bench/known_items.py and make_variants.py (below).

Prints one JSON object: per set and phase, the nearest-rank p50 / p90 / p99 of the daemon's
took_ms (the client's own time left out), the ratio writing / quiet of p50 and p99, the
documents and writes done, and the in-memory segments the stats op saw every 50 ms meanwhile
(median and max). On 2 cores the writer's analysis and the mergers take CPU from the
searcher: the ratio of a plain exact query is about that share; what a set's ratio has above
it is the cost of the segments themselves.

    for s in 201 202; do
        python3 bench/known_items.py CORPUS /tmp/bw/s$s --seed $s --count 6000
        python3 ../shared/bench/relevance/make_variants.py CORPUS /tmp/bw/s$s --seed $s
    done
    bench/search_beside_writes.py --corpus CORPUS --quiet-sets /tmp/bw/s201 \\
        --writing-sets /tmp/bw/s202 [--rate 1000] [--searchd BUILD/daemon/searchd]
(CORPUS: ../shared/bench/data/corpus-large.jsonl; known_items.py wants python3-snowballstemmer.)
"""

import argparse
import json
import multiprocessing as mp
import os
import time

import benchd  # bench/benchd.py: the daemon, the client, pct
from benchd import pct

REPO = benchd.REPO
KINDS = ["en-exact", "ru-exact", "en-typo", "ru-typo", "en-layout", "ru-layout"]
BATCHES = [1, 10, 200]


def settle(c):
    """Until no merge has run for a second and nothing is left in memory (the flush comes
    --flush-ms after the last write: 30 s by default)."""
    quiet_since = None
    while True:
        st = c.stats()
        busy = st.get("merges_running", 0) or st.get("mem_docs", 0)
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1:
            return
        time.sleep(0.05)


def writer(addr, docs, rate, stop, out):
    """Batches of 1, 10 and 200 in turn, paced so that the documents come at `rate` a second,
    until stop is set."""
    c = benchd.connect(addr)
    n = writes = 0
    i = 0
    start = time.monotonic()
    while not stop.is_set():
        size = BATCHES[writes % len(BATCHES)]
        batch = [docs[(i + k) % len(docs)] for k in range(size)]
        i += size
        c.add(batch)
        n += size
        writes += 1
        due = start + n / rate
        while time.monotonic() < due and not stop.is_set():
            time.sleep(min(0.01, max(0.0, due - time.monotonic())))
    out.put({"docs_written": n, "writes": writes})


def segments_watch(addr, stop, out):
    """The in-memory segments the stats op sees, every 50 ms until stop is set."""
    c = benchd.connect(addr)
    seen = []
    while not stop.is_set():
        seen.append(c.stats().get("mem_segments", 0))
        time.sleep(0.05)
    seen.sort()
    out.put({"mem_segments_median": seen[len(seen) // 2] if seen else None,
             "mem_segments_max": seen[-1] if seen else None})


def load_sets(d):
    sets = {}
    for kind in KINDS:
        with open(os.path.join(d, "known-%s.txt" % kind), encoding="utf-8") as f:
            sets[kind] = [q.strip() for q in f if q.strip()]
    return sets


def run_phase(c, sets):
    """Each query of each set once, the sets in turn; took_ms per set, and the phase's wall time."""
    took = {k: [] for k in sets}
    t0 = time.monotonic()
    for i in range(max(len(v) for v in sets.values())):
        for kind, queries in sets.items():
            if i < len(queries):
                took[kind].append(c.search(queries[i], limit=10, snippet=False)["took_ms"])
    report = {k: {"n": len(v), "p50": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99)}
              for k, v in took.items()}
    return report, round(time.monotonic() - t0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", default=os.path.join(REPO, "build-release", "daemon", "searchd"))
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--docs", type=int, default=10**9)
    ap.add_argument("--quiet-sets", required=True)
    ap.add_argument("--writing-sets", required=True)
    ap.add_argument("--rate", type=float, default=100, help="documents written a second")
    ap.add_argument("--workers", default="2")
    args = ap.parse_args()
    docs = benchd.load_docs(args.corpus, args.docs)
    quiet_sets = load_sets(args.quiet_sets)
    writing_sets = load_sets(args.writing_sets)
    daemon = benchd.start(args.searchd, ["--workers", args.workers])
    try:
        addr = benchd.address(daemon)
        c = benchd.connect(addr)
        for i in range(0, len(docs), 1000):
            c.add(docs[i:i + 1000])
        settle(c)
        report = {"docs": len(docs), "rate": args.rate}
        report["quiet"], report["quiet_s"] = run_phase(c, quiet_sets)
        out = mp.Queue()
        stop = mp.Event()
        procs = [mp.Process(target=writer, args=(addr, docs, args.rate, stop, out)),
                 mp.Process(target=segments_watch, args=(addr, stop, out))]
        for p in procs:
            p.start()
        time.sleep(2)  # the writes under way before the first timed search
        report["writing"], report["writing_s"] = run_phase(c, writing_sets)
        stop.set()
        for p in procs:
            report.update(out.get())
            p.join()
        st = c.stats()
        report["disk_segments_at_end"] = st.get("segments")
        report["mem_docs_at_end"] = st.get("mem_docs")
        for q in (50, 99):
            report["ratio_p%d" % q] = {
                k: round(report["writing"][k]["p%d" % q] / report["quiet"][k]["p%d" % q], 2)
                for k in KINDS if report["quiet"][k]["p%d" % q]}
        print(json.dumps(report, indent=1))
    finally:
        daemon.cleanup()


if __name__ == "__main__":
    main()
