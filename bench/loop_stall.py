#!/usr/bin/env python3
"""loop_stall.py: how long searches on one connection wait while another sends large adds.

searchd's event loop reads, frames and (for small requests) parses every request; whatever it
does that grows with a request's size holds every other client meanwhile. This starts a daemon
on a temporary directory, keeps one line connection searching ("river", a 2 ms pause between
searches) while another sends BATCHES adds of MB megabytes each (text documents, or documents with
a 256-number vector), and prints the searches' latency: p50, p99 and max. Run two binaries in one
go to compare them (same machine, same run, alternated):

    python3 bench/loop_stall.py OLD/searchd NEW/searchd [--mb 5] [--kind text|vec] [--rounds 3]
"""

import argparse
import json
import re
import socket
import subprocess
import tempfile
import threading
import time

WORDS = ["river", "city", "archive", "garden", "history", "mountain", "цифровая", "дипломатия",
         "library", "search", "engine", "segment", "merge", "winter", "summer", "letter"]


def start(searchd, data):
    p = subprocess.Popen([searchd, "--data", data, "--listen", "127.0.0.1:0",
                          "--line-listen", "127.0.0.1:0", "--max-request", str(64 << 20)],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"event=ready http=\S+ line=(\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            host, port = m.group(1).rsplit(":", 1)
            return p, (host, int(port))
    raise SystemExit("searchd did not start")


def batch(first, mb, kind):
    docs, size, i = [], 0, 0
    while size < mb * 1e6:
        n = first + i
        if kind == "text":
            body = " ".join(WORDS[(n * 7 + k * 3) % len(WORDS)] + str(k % 97) for k in range(150))
            doc = {"id": "d%d" % n, "title": "t%d" % n, "body": body}
        else:
            doc = {"id": "d%d" % n, "body": "x", "v": [0.123456789 * k for k in range(256)]}
        docs.append(doc)
        size += len(json.dumps(doc))
        i += 1
    return (json.dumps({"op": "add", "docs": docs}) + "\n").encode()


def run(searchd, batches):
    p, addr = start(searchd, tempfile.mkdtemp(prefix="loop-stall-"))
    try:
        a = socket.create_connection(addr)
        af = a.makefile("rb")
        b = socket.create_connection(addr)
        bf = b.makefile("rb")
        a.sendall(b'{"op":"add","docs":[{"id":"x","body":"river city"}]}\n')
        af.readline()
        lat, stop = [], []

        def searcher():
            while not stop:
                t = time.perf_counter()
                b.sendall(b'{"op":"search","q":"river"}\n')
                bf.readline()
                lat.append(time.perf_counter() - t)
                time.sleep(0.002)

        th = threading.Thread(target=searcher)
        th.start()
        time.sleep(0.3)
        for bt in batches:
            a.sendall(bt)
            answer = json.loads(af.readline())
            assert answer.get("ok"), answer
        stop.append(True)
        th.join()
        lat.sort()
        return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]
    finally:
        p.terminate()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("searchd", nargs="+")
    ap.add_argument("--mb", type=float, default=5.0)
    ap.add_argument("--kind", choices=("text", "vec"), default="text")
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    batches = [batch(k * 100000, args.mb, args.kind) for k in range(args.batches)]
    for r in range(args.rounds):
        order = args.searchd if r % 2 == 0 else list(reversed(args.searchd))
        for s in order:
            p50, p99, mx = run(s, batches)
            print("%-40s %4.1f MB %s x%d: search p50 %5.1f ms  p99 %6.1f ms  max %6.1f ms"
                  % (s, args.mb, args.kind, args.batches, p50 * 1e3, p99 * 1e3, mx * 1e3),
                  flush=True)


if __name__ == "__main__":
    main()
