#!/usr/bin/env python3
"""memcap_peak.py: how far the engine's counted memory goes under --memory-limit.

Starts searchd with --memory-limit LIMIT on a fresh data directory and imports CORPUS
--rounds times (the same ids again: every round replaces the last), either with searchq
import (--client searchq: one connection, 8 batches in flight) or with --clients Python
connections that pipeline batches (--client python); both resend a batch answered busy
after a pause. A
thread reads stats every --every seconds: engine_memory_bytes (and, when the server reports
it, engine_memory_peak_bytes, the exact high-water mark), merges_running, mem_bytes,
mem_segments, flushes_done. Prints one JSON object: the limit, the largest sample and what
was running then, the samples over the limit, the busy answers, the seconds.
With the Python clients, --synthetic sends made-up documents of --doc-bytes instead (distinct
words: the builder's worst case; or prose), and --typo-searches adds a thread of misspelled
searches (typo walks keep the segments' exact forms).

    bench/memcap_peak.py --searchd build/daemon/searchd --searchq build/client/searchq \
        --corpus /work/data/corpus-small.jsonl --limit 16m --rounds 5
    bench/memcap_peak.py --searchd build/daemon/searchd --corpus /work/data/corpus-small.jsonl \
        --client python --limit 8m --rounds 3 --typo-searches
"""

import argparse
import json
import random
import subprocess
import threading
import time

import benchd  # bench/benchd.py: the daemon, the client

UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(s):
    return int(s[:-1]) * UNITS[s[-1].lower()] if s[-1].lower() in UNITS else int(s)


class Searcher(threading.Thread):
    """Searches misspelled and prefix words in a loop: typo walks and proximity memos."""

    WORDS = ["дипламатия", "цифравая", "истори", "histroy", "goverment", "polcy", "экономка"]

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.client = benchd.connect(daemon)
        self.stop = threading.Event()
        self.count = 0

    def run(self):
        while not self.stop.is_set():
            w = self.WORDS[self.count % len(self.WORDS)]
            try:
                self.client.search(w + " " + self.WORDS[(self.count + 3) % len(self.WORDS)],
                                   index="bulk", limit=5)
            except benchd.Error:  # the index is made by the first write
                time.sleep(0.05)
            self.count += 1


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
                "mem_bytes", "mem_segments", "flushes_done", "merges_done", "docs")})
            self.samples[-1]["t"] = time.monotonic()
            time.sleep(self.every)


def import_searchq(args, daemon):
    """searchq resends a batch answered busy itself (--busy-wait); its summary counts them."""
    busy = 0
    for _ in range(args.rounds):
        cp = subprocess.run([args.searchq, "--server", benchd.address(daemon), "--index", "bulk",
                             "--json", "import", args.corpus], capture_output=True, text=True)
        if cp.returncode != 0:
            raise SystemExit("searchq import: %s\n%s" % (cp.stderr.strip(), daemon.tail()))
        busy += json.loads(cp.stdout)["busy"]
    return busy


def synthetic_docs(args):
    """--synthetic: docs of --doc-bytes each, of words none of which repeats ("unique": the
    builder's worst case, a new term per token) or of corpus text run together ("prose")."""
    rnd = random.Random(7)
    if args.synthetic == "prose":
        text = " ".join(d["body"] for d in benchd.load_docs(args.corpus, 3000))
    docs = []
    for i in range(args.synthetic_docs):
        if args.synthetic == "unique":
            words, n = [], 0
            while n < args.doc_bytes:
                w = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
                words.append(w)
                n += 7
            body = " ".join(words)
        else:
            at = rnd.randrange(0, max(1, len(text) - args.doc_bytes))
            body = text[at:at + args.doc_bytes]
        docs.append({"id": "s%d" % i, "title": "synthetic %d" % i, "body": body})
    return docs


def import_python(args, daemon):
    docs = synthetic_docs(args) if args.synthetic else benchd.load_docs(args.corpus, 1 << 30)
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
    ap.add_argument("--synthetic", choices=("unique", "prose"), default=None,
                    help="python client: made-up documents instead of CORPUS's (see synthetic_docs)")
    ap.add_argument("--synthetic-docs", type=int, default=200)
    ap.add_argument("--doc-bytes", type=int, default=100000)
    ap.add_argument("--typo-searches", action="store_true",
                    help="a thread searches misspelled words throughout (typo walks fill the "
                         "segments' exact-forms caches)")
    args = ap.parse_args()
    limit = parse_size(args.limit)
    daemon = benchd.start(args.searchd, ["--memory-limit", args.limit] + args.args.split())
    try:
        sampler = Sampler(daemon, args.every)
        sampler.start()
        searcher = Searcher(daemon) if args.typo_searches else None
        if searcher:
            searcher.start()
        t0 = time.monotonic()
        busy = (import_searchq if args.client == "searchq" else import_python)(args, daemon)
        secs = time.monotonic() - t0
        time.sleep(0.5)
        if searcher:
            searcher.stop.set()
            searcher.join()
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
            "docs": samples[-1]["docs"], "searches": searcher.count if searcher else 0,
        }
        print(json.dumps(report))
    finally:
        daemon.cleanup()


if __name__ == "__main__":
    main()
