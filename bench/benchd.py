"""benchd.py: what the benchmarks that drive a running searchd share.

    import benchd
    d = benchd.start(BINARY, ["--workers", "2"])    # fresh data directory, ephemeral ports
    with benchd.connect(d) as c:                     # the project's Python client
        c.add(docs); c.search("цифровая дипломатия", limit=10)
    d.cleanup()                                      # stops searchd, removes its directory

The daemon is started the way the end-to-end tests start it (tests/e2e/harness.py Daemon: the
ready line read off stderr, which a thread keeps draining so a chatty daemon never blocks, and
killed with its parent), and spoken to with client/python/searchd.py, whose Client raises
searchd.Error on an answer that is not ok. So a benchmark measures the same daemon and client
a user gets, not a copy of them.
"""

import json
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests", "e2e"), os.path.join(REPO, "client", "python")]

import harness  # noqa: E402  tests/e2e/harness.py
import searchd  # noqa: E402  client/python/searchd.py

Error = searchd.Error


def start(binary, args=(), data_dir=None, under=None):
    """searchd BINARY on 127.0.0.1 ephemeral ports with args, on data_dir; None: a fresh
    directory under `under` (default: the system's temporary directory; the disk matters to a
    benchmark of fsyncs), removed by cleanup(). Returns the started harness.Daemon (its log:
    d.tail())."""
    d = harness.Daemon(data_dir or tempfile.mkdtemp(prefix="searchd-bench-", dir=under),
                       list(args), binary=os.path.abspath(binary))
    d.owns_dir = data_dir is None
    return d.start()


def address(daemon):
    """The line protocol's "HOST:PORT", for a client in another process."""
    return "%s:%d" % daemon.line_addr


def connect(where, timeout=120.0):
    """A line-protocol client of a daemon, or of an address from address()."""
    return searchd.Client(where if isinstance(where, str) else address(where), timeout=timeout)


def load_docs(path, n):
    """The first n documents of a corpus JSONL file, as {id, title, body}."""
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                docs.append({"id": d["id"], "title": d.get("title", ""), "body": d.get("body", "")})
            if len(docs) >= n:
                break
    return docs


def pct(values, p):
    """The p-th percentile (0-100, nearest rank) of values, rounded to 3 places; None if empty."""
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, max(0, int(round(p / 100 * len(v))) - 1))], 3)
