#!/usr/bin/env python3
"""memcap_peak.py: how far the engine's counted memory goes under --memory-limit.

Starts searchd with --memory-limit LIMIT on a fresh data directory and imports CORPUS
--rounds times (the same ids again: every round replaces the last), either with searchq
import (--client searchq: one connection, 8 batches in flight; a batch answered busy ends
that run, and the round is run again after a pause) or with --clients Python connections
that pipeline batches and resend one answered busy after a pause (--client python). A
thread reads stats every --every seconds: engine_memory_bytes (and, when the server reports
it, engine_memory_peak_bytes, the exact high-water mark), merges_running, mem_bytes,
mem_segments, flushes_done. Prints one JSON object: the limit, the largest sample and what
was running then, the samples over the limit, the busy answers, the seconds.

    bench/memcap_peak.py --searchd build/daemon/searchd --searchq build/client/searchq \
        --corpus /work/data/corpus-small.jsonl --limit 16m --rounds 5
"""

import argparse
import json
import os
import subprocess
import threading
import time

import benchd  # bench/benchd.py: the daemon, the client

UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(s):
    return int(s[:-1]) * UNITS[s[-1].lower()] if s[-1].lower() in UNITS else int(s)


class Sampler(threading.Thread):
    def __init__(self, daemon, every):
        super().__init__(daemon=True)
        self.client = benchd.connect(daemon)
        self.every = every
        self.stop = threading.Event()
        self.samples = []

    def run(self):
        while not self.stop.is_set():
            try:
                s = self.client.stats(index="bulk")
            except benchd.Error:  # not found: the index is made by the first write
                time.sleep(self.every)
                continue
            self.samples.append({k: s.get(k) for k in (
                "engine_memory_bytes", "engine_memory_peak_bytes", "merges_running",
                "mem_bytes", "mem_segments", "flushes_done", "merges_done")})
            self.samples[-1]["t"] = time.monotonic()
            time.sleep(self.every)


def import_searchq(args, daemon):
    busy = 0
    for _ in range(args.rounds):
        while True:
            cp = subprocess.run([args.searchq, "--server", benchd.address(daemon), "--index",
                                 "bulk", "import", args.corpus], capture_output=True, text=True)
            if cp.returncode == 0:
                break
            if "busy" not in cp.stderr and "memory limit" not in cp.stderr:
                raise SystemExit("searchq import: %s" % cp.stderr.strip())
            busy += 1
            time.sleep(0.2)
    return busy


def import_python(args, daemon):
    docs = benchd.load_docs(args.corpus, 1 << 30)
    batches = [docs[i:i + args.batch] for i in range(0, len(docs), args.batch)]
    busy = [0] * args.clients
    errors = []

    def run(k):
        try:
            c = benchd.connect(daemon)
            todo = [b for r in range(args.rounds) for b in batches[k::args.clients]]
            while todo:
                sent = todo[:8]
                answers = c.pipeline([{"op": "add", "index": "bulk", "docs": b} for b in sent])
                redo = []
                for b, a in zip(sent, answers):
                    if isinstance(a, benchd.Error):
                        if a.code != "busy":
                            raise RuntimeError(str(a)[:300])
                        busy[k] += 1
                        redo.append(b)
                todo = redo + todo[len(sent):]
                if redo:
                    time.sleep(0.05)
            c.close()
        except Exception as e:  # noqa: BLE001  reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("import: %r" % errors[0])
    return sum(busy)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", required=True)
    ap.add_argument("--searchq", default=None)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--limit", default="16m")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--client", choices=("searchq", "python"), default="searchq")
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--every", type=float, default=0.05)
    ap.add_argument("--args", default="", help="more searchd arguments, space separated")
    args = ap.parse_args()
    limit = parse_size(args.limit)
    daemon = benchd.start(args.searchd, ["--memory-limit", args.limit] + args.args.split())
    try:
        sampler = Sampler(daemon, args.every)
        sampler.start()
        t0 = time.monotonic()
        busy = (import_searchq if args.client == "searchq" else import_python)(args, daemon)
        secs = time.monotonic() - t0
        time.sleep(0.5)
        sampler.stop.set()
        sampler.join()
        samples = sampler.samples
        top = max(samples, key=lambda s: s["engine_memory_bytes"])
        over = [s for s in samples if s["engine_memory_bytes"] > limit]
        peak = max((s["engine_memory_peak_bytes"] or 0) for s in samples)
        report = {
            "limit": limit, "client": args.client, "rounds": args.rounds,
            "seconds": round(secs, 2), "busy": busy, "samples": len(samples),
            "max_sampled": top["engine_memory_bytes"],
            "max_sampled_over_limit": max(0, top["engine_memory_bytes"] - limit),
            "at_max": {k: top[k] for k in ("merges_running", "mem_bytes", "mem_segments")},
            "samples_over_limit": len(over),
            "over_with_merge_running": sum(1 for s in over if s["merges_running"]),
            "peak_counted": peak or None,
            "peak_over_limit": max(0, peak - limit) if peak else None,
            "flushes": samples[-1]["flushes_done"], "merges": samples[-1]["merges_done"],
        }
        print(json.dumps(report))
    finally:
        daemon.cleanup()


if __name__ == "__main__":
    main()
