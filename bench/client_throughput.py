#!/usr/bin/env python3
"""client_throughput.py: libsearchq (C) against the Python client, pipelined, on one daemon.

usage: bench/client_throughput.py [--searchd build/daemon/searchd]
                                  [--bench-libsq build/bench/bench-libsq]
                                  [--docs 20000] [--searches 5000] [--batch 500] [--rounds 3]

Starts one searchd (temporary data directory, ephemeral loopback ports) and makes a corpus of
--docs documents from sample/docs.jsonl (each sample document repeated with its own id and a
numbered title; bodies cut to 1000 bytes) and --searches queries (one or two words of the
sample titles). Each round runs both clients on that daemon, alternating which goes first,
each into an index of its own (so both import the same documents into an empty index):

  C       bench-libsq: batches built with sq_req_add, sent with the library's pipelining
          (16 MiB in-flight bound), every answer read and parsed; then the searches alike
  Python  client/python/searchd.py: Client.pipeline() of the add batches, then of the
          searches (all sent, then all answers read and parsed)

Both start from documents already in memory (C: json-c objects; Python: dicts) and one
connection. Prints docs/s and searches/s per round and the medians, and the client's own CPU
time per document and per search (C: CLOCK_PROCESS_CPUTIME_ID; Python: time.process_time()). The daemon does the same
work for both, so the difference is what each client costs; on a shared 2-core machine the
daemon and the client compete for the same cores, so compare within one run only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, BENCH)
from service_qps import REPO, Daemon  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "client", "python"))
import searchd  # noqa: E402


def make_corpus(ndocs, nsearches):
    with open(os.path.join(REPO, "sample", "docs.jsonl"), encoding="utf-8") as f:
        sample = [json.loads(line) for line in f if line.strip()]
    docs = []
    for i in range(ndocs):
        s = sample[i % len(sample)]
        docs.append({"id": "d%d" % i, "title": "%s %d" % (s["title"], i),
                     "body": s.get("body", "")[:1000]})
    words = [w.strip(":,.—«»\"()").lower() for s in sample for w in s["title"].split()]
    words = [w for w in words if len(w) >= 4]
    queries = []
    for i in range(nsearches):
        q = words[(i * 7) % len(words)]
        if i % 3 == 0:
            q += " " + words[(i * 13 + 5) % len(words)]
        queries.append(q)
    return docs, queries


def run_c(binary, addr, index, docs_path, queries_path, batch):
    out = subprocess.run([binary, addr, index, docs_path, queries_path, str(batch)],
                         check=True, capture_output=True, text=True).stdout
    f = dict(kv.split("=") for kv in out.split())
    return (float(f["import_s"]), float(f["search_s"]), float(f["import_cpu_s"]),
            float(f["search_cpu_s"]))


def run_python(addr, index, docs, queries, batch):
    with searchd.Client(addr, timeout=600) as db:
        t0, c0 = time.perf_counter(), time.process_time()
        reqs = [{"op": "add", "index": index, "docs": docs[i:i + batch]}
                for i in range(0, len(docs), batch)]
        for a in db.pipeline(reqs):
            if isinstance(a, searchd.Error):
                raise a
        t1, c1 = time.perf_counter(), time.process_time()
        answers = db.pipeline([{"op": "search", "index": index, "q": q} for q in queries])
        t2, c2 = time.perf_counter(), time.process_time()
    bad = [a for a in answers if isinstance(a, searchd.Error)]
    if bad:
        raise bad[0]
    return t1 - t0, t2 - t1, c1 - c0, c2 - c1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", default=os.path.join(REPO, "build", "daemon", "searchd"))
    ap.add_argument("--bench-libsq", default=os.path.join(REPO, "build", "bench", "bench-libsq"))
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--searches", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    docs, queries = make_corpus(args.docs, args.searches)
    tmp = tempfile.mkdtemp(prefix="searchd-clients-")
    docs_path = os.path.join(tmp, "docs.jsonl")
    queries_path = os.path.join(tmp, "queries.txt")
    with open(docs_path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(queries_path, "w", encoding="utf-8") as f:
        f.write("\n".join(queries) + "\n")

    d = Daemon(args.searchd, None)
    addr = "%s:%d" % d.addr["line"]
    rows = {"C": [], "Python": []}
    try:
        for r in range(args.rounds):
            order = ["C", "Python"] if r % 2 == 0 else ["Python", "C"]
            for who in order:
                index = "%s%d" % (who.lower(), r)
                if who == "C":
                    t = run_c(args.bench_libsq, addr, index, docs_path, queries_path, args.batch)
                else:
                    t = run_python(addr, index, docs, queries, args.batch)
                rows[who].append(t)
                print("round %d %-6s import %7.0f docs/s (client CPU %5.2f s)  search %7.0f "
                      "searches/s (client CPU %5.2f s)" % (r + 1, who, args.docs / t[0], t[2],
                                                           args.searches / t[1], t[3]),
                      flush=True)
    finally:
        d.stop()
        for p in (docs_path, queries_path):
            os.unlink(p)
        os.rmdir(tmp)

    print("\n| client | import docs/s median (min-max) | client CPU us/doc | "
          "searches/s median (min-max) | client CPU us/search |")
    print("|---|--:|--:|--:|--:|")
    for who, ts in rows.items():
        imp = [args.docs / t[0] for t in ts]
        srch = [args.searches / t[1] for t in ts]
        print("| %s | %.0f (%.0f-%.0f) | %.1f | %.0f (%.0f-%.0f) | %.1f |" % (
            who, statistics.median(imp), min(imp), max(imp),
            statistics.median([t[2] for t in ts]) / args.docs * 1e6,
            statistics.median(srch), min(srch), max(srch),
            statistics.median([t[3] for t in ts]) / args.searches * 1e6))


if __name__ == "__main__":
    main()
