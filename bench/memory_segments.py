#!/usr/bin/env python3
"""memory_segments.py: how many in-memory segments writes one at a time leave, and what the
merge of a pause costs.

Starts searchd (--flush-ms 600000: nothing goes to disk meanwhile) on a fresh data directory
and, over one line-protocol connection, with the first documents of CORPUS:
  burst    --burst one-document writes back to back; stats' mem_segments right after them
           and after a 1.5 s pause (the idle merge comes 500 ms after the last write);
  trickle  --burst more, one every --gap seconds; the most mem_segments seen after a write,
           and the count at the end;
  idle     on a second daemon, 999 documents in writes of 9, then a 2 s pause: the merges
           of the pause and their seconds (searchd_index_merge_duration_seconds of /metrics).
Prints one JSON object. Compare two builds by running it with each:

    bench/memory_segments.py --searchd BUILD/daemon/searchd --corpus CORPUS.jsonl
"""

import argparse
import json
import time
import urllib.request

import benchd  # bench/benchd.py: the daemon, the client


def merge_seconds(daemon):
    """The sum and count of the merge duration histogram."""
    body = urllib.request.urlopen("http://%s:%d/metrics" % daemon.http_addr).read().decode()
    got = {}
    for line in body.splitlines():
        for part in ("sum", "count"):
            if line.startswith("searchd_index_merge_duration_seconds_" + part):
                got[part] = float(line.split()[-1])
    return got.get("sum", 0.0), got.get("count", 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--burst", type=int, default=37)
    ap.add_argument("--gap", type=float, default=0.7)
    args = ap.parse_args()
    docs = benchd.load_docs(args.corpus, max(2 * args.burst, 999))
    report = {}
    daemon = benchd.start(args.searchd, ["--flush-ms", "600000"])
    try:
        c = benchd.connect(daemon)
        for d in docs[:args.burst]:
            c.add(d)
        report["burst"] = c.stats()["mem_segments"]
        time.sleep(1.5)
        report["after_pause"] = c.stats()["mem_segments"]
        seen = []
        for d in docs[args.burst:2 * args.burst]:
            c.add(d)
            time.sleep(args.gap)
            seen.append(c.stats()["mem_segments"])
        report["trickle_max"], report["trickle_end"] = max(seen), seen[-1]
    finally:
        daemon.cleanup()
    daemon = benchd.start(args.searchd, ["--flush-ms", "600000"])
    try:
        c = benchd.connect(daemon)
        for i in range(0, 999, 9):
            c.add(docs[i:i + 9])
        time.sleep(0.05)
        s0, n0 = merge_seconds(daemon)
        before = c.stats()["mem_segments"]
        time.sleep(2)
        s1, n1 = merge_seconds(daemon)
        report["idle"] = {"segments_before": before, "segments_after": c.stats()["mem_segments"],
                          "merges": int(n1 - n0), "seconds": round(s1 - s0, 4)}
    finally:
        daemon.cleanup()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
