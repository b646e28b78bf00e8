#!/usr/bin/env python3
"""service_qps.py: what the service layer costs a search, through the real daemon.

usage: bench/service_qps.py [--searchd BIN]...
                            [--modes line,http,line+key,http+key,line-tls,http-tls]
                            [--seconds 3] [--rounds 5] [--docs sample/docs.jsonl]

Starts one searchd per --searchd binary (default build/daemon/searchd) on its own temporary
data directory with ephemeral loopback ports (and, when a mode sends a key, a second one of
the same binary with API keys configured: the +key modes run against it, the others against
the one without keys), imports --docs, then measures search QPS in
closed loops of ONE client connection (sequential requests: each waits for its answer) for
--seconds per mode. Rounds alternate the binaries and the modes, so drift of a shared machine
(other jobs on the same 2 cores) hits every cell alike; the table gives the median of the
rounds and the min-max spread.

The corpus is small on purpose: a search on 64 documents takes microseconds, so what is
measured is everything around it (framing, parsing, dispatch, metrics, logs, TLS records),
the worst case for a per-request cost. Modes:
  line      the line protocol, one JSON line per search
  http      HTTP/1.1 keep-alive, GET /search?q=...
  line-tls  the line protocol over TLS (--tls-line-listen; a self-signed certificate made
            with openssl req for the run)
  http-tls  HTTPS keep-alive (--tls-listen)
  MODE+key  MODE against the searchd with keys, as a search-role client: the line protocol
            sends {"op":"auth","key":...} once after connecting (not timed), HTTP sends
            "Authorization: Bearer KEY" on every request (the server hashes and compares it
            each time); e.g. line+key, http+key, line-tls+key
Both TLS modes reuse one handshake for the whole loop (a persistent connection), which is how a
client should use them; the handshake cost is printed separately (connections per second).

On a shared machine wall-clock QPS swings with whatever else runs; the second table, searchd's
own CPU time per search (utime + stime of the daemon from /proc/PID/stat, all its threads,
over the loop), is steadier and is the cost being compared.

Use it to compare two builds (e.g. before and after a change: --searchd OLD --searchd NEW) or
TLS against plain in one build. Numbers are for comparing within one run only.
"""
import argparse
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
READY_RE = re.compile(r"event=ready http=(\S+) line=(\S+)")
TLS_RE = re.compile(r"event=listen proto=(https|line_tls) addr=(\S+)")


def split(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


ADMIN_KEY = "bench-admin-0123456789abcdef0123456789abcdef"
SEARCH_KEY = "bench-search-0123456789abcdef0123456789abcdef"


def hash_key(binary, key):
    cp = subprocess.run([binary, "--hash-key"], input=key + "\n", capture_output=True,
                        text=True, check=True)
    return cp.stdout.strip()


def make_cert(dirname):
    key = os.path.join(dirname, "key.pem")
    cert = os.path.join(dirname, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    return cert, key


class Daemon:
    def __init__(self, binary, tls, has_keys=False):
        self.binary = binary
        self.has_keys = has_keys
        self.dir = tempfile.mkdtemp(prefix="searchd-qps-")
        args = [binary, "--data", os.path.join(self.dir, "data"), "--listen", "127.0.0.1:0",
                "--line-listen", "127.0.0.1:0"]
        if has_keys:
            args += ["--admin-keys", hash_key(binary, ADMIN_KEY),
                     "--search-keys", hash_key(binary, SEARCH_KEY)]
        if tls:
            cert, key = tls
            args += ["--tls-cert", cert, "--tls-key", key, "--tls-listen", "127.0.0.1:0",
                     "--tls-line-listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.addr = {}
        ready = threading.Event()

        def drain():
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                m = TLS_RE.search(line)
                if m:
                    self.addr[m.group(1)] = split(m.group(2))
                m = READY_RE.search(line)
                if m:
                    self.addr["http"] = split(m.group(1))
                    self.addr["line"] = split(m.group(2))
                    ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60):
            self.proc.kill()
            sys.exit("searchd %s did not start" % binary)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        shutil.rmtree(self.dir, ignore_errors=True)


def base_mode(mode):
    """The transport of a mode: line, http, line-tls or http-tls (without "+key")."""
    return mode[:-len("+key")] if mode.endswith("+key") else mode


def connect(d, mode, key=None):
    """A connected socket (wrapped in TLS for the -tls modes) and its reader; on the line
    protocol, authenticated with key when one is given."""
    kind = {"line": "line", "http": "http", "line-tls": "line_tls",
            "http-tls": "https"}[base_mode(mode)]
    sock = socket.create_connection(d.addr[kind])
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if base_mode(mode).endswith("-tls"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the run's own self-signed certificate
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    rf = sock.makefile("rb")
    if key and mode.startswith("line"):
        sock.sendall((json.dumps({"op": "auth", "key": key}) + "\n").encode())
        answer = json.loads(rf.readline())
        assert answer.get("ok"), answer
    return sock, rf


def request_bytes(mode, q):
    if mode.startswith("line"):
        return (json.dumps({"op": "search", "q": q, "limit": 10, "snippet": False},
                           ensure_ascii=False) + "\n").encode()
    path = "/search?" + urllib.parse.urlencode({"q": q, "limit": 10, "snippet": "false"})
    auth = "Authorization: Bearer %s\r\n" % SEARCH_KEY if mode.endswith("+key") else ""
    return ("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % (path, auth)).encode()


def mode_key(mode):
    return SEARCH_KEY if mode.endswith("+key") else None


def read_answer(mode, rf):
    if mode.startswith("line"):
        line = rf.readline()
        if not line:
            raise EOFError
        return
    length = None
    while True:
        h = rf.readline()
        if not h:
            raise EOFError
        if h in (b"\r\n", b"\n"):
            break
        if h.lower().startswith(b"content-length:"):
            length = int(h.split(b":")[1])
    rf.read(length)


def cpu_seconds(pid):
    """utime + stime of the process (every thread), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop(d, mode, queries, seconds):
    """(QPS, daemon CPU microseconds per search) of one closed loop."""
    sock, rf = connect(d, mode, mode_key(mode))
    reqs = [request_bytes(mode, q) for q in queries]
    n = 0
    cpu0 = cpu_seconds(d.proc.pid)
    end = time.monotonic() + seconds
    t0 = time.monotonic()
    while time.monotonic() < end:
        sock.sendall(reqs[n % len(reqs)])
        read_answer(mode, rf)
        n += 1
    qps = n / (time.monotonic() - t0)
    cpu_us = (cpu_seconds(d.proc.pid) - cpu0) * 1e6 / n
    sock.close()
    return qps, cpu_us


def handshakes(d, mode, seconds):
    """New TLS connections per second, each doing one search."""
    q = request_bytes(mode, "test")
    n = 0
    end = time.monotonic() + seconds
    t0 = time.monotonic()
    while time.monotonic() < end:
        sock, rf = connect(d, mode, mode_key(mode))
        sock.sendall(q)
        read_answer(mode, rf)
        sock.close()
        n += 1
    return n / (time.monotonic() - t0)


def import_docs(d, path):
    docs = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    sock, rf = connect(d, "line", ADMIN_KEY if d.has_keys else None)
    sock.sendall((json.dumps({"op": "add", "docs": docs}, ensure_ascii=False) + "\n").encode())
    answer = json.loads(rf.readline())
    assert answer.get("ok"), answer
    sock.close()
    words = set()
    for doc in docs:
        for w in re.findall(r"\w{4,}", doc.get("title", "")):
            words.add(w.lower())
    return sorted(words)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--searchd", action="append")
    ap.add_argument("--modes", default="line,http")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--docs", default=os.path.join(REPO, "sample", "docs.jsonl"))
    args = ap.parse_args()
    binaries = args.searchd or [os.path.join(REPO, "build", "daemon", "searchd")]
    modes = args.modes.split(",")
    for m in modes:
        if base_mode(m) not in ("line", "http", "line-tls", "http-tls"):
            sys.exit("service_qps: unknown mode %r" % m)
    certdir = tempfile.mkdtemp(prefix="searchd-qps-cert-")
    tls = make_cert(certdir) if any(base_mode(m).endswith("-tls") for m in modes) else None
    daemons = [Daemon(b, tls) for b in binaries]
    keyed = ([Daemon(b, tls, has_keys=True) for b in binaries]
             if any(m.endswith("+key") for m in modes) else [])
    try:
        queries = None
        for d in daemons + keyed:
            queries = import_docs(d, args.docs)

        def daemon_for(b, m):
            return keyed[b] if m.endswith("+key") else daemons[b]

        results = {(b, m): [] for b in range(len(daemons)) for m in modes}
        for r in range(args.rounds):
            order = [(b, m) for b in range(len(daemons)) for m in modes]
            if r % 2:
                order.reverse()
            for b, m in order:
                results[(b, m)].append(loop(daemon_for(b, m), m, queries, args.seconds))
        for i, title in enumerate(["search QPS, 1 connection, closed loop",
                                   "searchd CPU microseconds per search"]):
            print("\n%s, %d rounds x %g s (median, min-max)" % (title, args.rounds, args.seconds))
            print("| searchd | " + " | ".join(modes) + " |")
            print("|---|" + "--:|" * len(modes))
            for b, binary in enumerate(binaries):
                cells = []
                for m in modes:
                    v = [r[i] for r in results[(b, m)]]
                    fmt = "%.0f (%.0f-%.0f)" if i == 0 else "%.1f (%.1f-%.1f)"
                    cells.append(fmt % (statistics.median(v), min(v), max(v)))
                print("| %s | %s |" % (binary, " | ".join(cells)))
        print()
        for m in modes:
            if base_mode(m).endswith("-tls"):
                for b, binary in enumerate(binaries):
                    print("%s: %s new connections/s (handshake + 1 search)"
                          % (binary, "%s %.0f" % (m, handshakes(daemon_for(b, m), m,
                                                                 args.seconds))))
    finally:
        for d in daemons + keyed:
            d.stop()
        shutil.rmtree(certdir, ignore_errors=True)


if __name__ == "__main__":
    main()
