"""harness.py: shared helpers for the end-to-end tests of searchd and searchq.

The tests drive the real binaries: searchd is started on a fresh temporary data directory with
ephemeral ports (--listen 127.0.0.1:0 --line-listen 127.0.0.1:0) and found through the
"event=ready http=HOST:PORT line=HOST:PORT" line it logs to stderr. A thread keeps draining
stderr for the whole life of the process (a full pipe would stall the daemon) and keeps every
line, so a failing test can show the tail of the log.

What is here:
  Daemon        start / kill -9 / SIGTERM / restart on the same data directory
  LineClient    one persistent line-protocol connection: JSON lines out and in, pipelining
  HttpClient    one keep-alive HTTP/1.1 connection with JSON helpers
  run_searchq   runs the searchq binary against a daemon
  E2ETestCase   a unittest.TestCase that stops its daemons afterwards and prints their stderr
                tail when a test fails
  ConfFileTestCase  an E2ETestCase with a temporary config file and a SIGHUP reload helper
  main()        parses --searchd/--searchq/--sample (and a script's own flags), runs unittest

Only the Python standard library is used, so the tests run on a bare Debian 12.
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Filled in by main(); defaults suit a build in <repo>/build.
CONFIG = argparse.Namespace(
    searchd=os.path.join(REPO, "build", "daemon", "searchd"),
    searchq=os.path.join(REPO, "build", "client", "searchq"),
    sample=os.path.join(REPO, "sample"),
)

READY_RE = re.compile(r"event=ready http=(\S+) line=(\S+)")
# The TLS listeners on the same line ("-" when off): --tls-listen, --tls-line-listen.
READY_TLS_RE = re.compile(r" https=(\S+) line_tls=(\S+)")
# The ASan+UBSan pass (scripts/test.sh sets ASAN_OPTIONS): slower, and its memory figures are
# mostly ASan's shadow and quarantine.
SANITIZED = "ASAN_OPTIONS" in os.environ
# Deadlines are for hangs, not for speed: a sanitizer build runs several times slower and CI
# may share the machine with other work, so every deadline here is scaled (SEARCHD_TIME_SCALE
# overrides; ASan+UBSan runs get 4x).
TIME_SCALE = float(os.environ.get("SEARCHD_TIME_SCALE", "4" if SANITIZED else "1"))
START_TIMEOUT = 30.0 * TIME_SCALE  # seconds for searchd to open its data directory and listen
IO_TIMEOUT = 30.0 * TIME_SCALE  # seconds any single answer may take


def _die_with_parent():
    """preexec_fn: searchd gets SIGKILL if the test process dies (a ctest timeout, ^C), so no
    daemon outlives its test. Linux prctl(PR_SET_PDEATHSIG); elsewhere nothing."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LogLines:
    """searchd's stderr lines, the last maxlen of them. The reader thread appends while a test
    looks, and a deque walked while another thread appends to it raises RuntimeError ("deque
    mutated during iteration"), so walking this one walks a copy taken at once."""

    def __init__(self, maxlen):
        self._lines = collections.deque(maxlen=maxlen)

    def append(self, line):
        self._lines.append(line)

    def clear(self):
        self._lines.clear()

    def __iter__(self):
        return iter(list(self._lines))  # list() copies under the GIL: no append lands mid-copy

    def __len__(self):
        return len(self._lines)


class DaemonError(Exception):
    pass


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class Daemon:
    """One searchd process at a time on one data directory (which outlives restarts)."""

    def __init__(self, data_dir=None, extra_args=(), name="searchd", binary=None):
        """binary: the searchd to run, CONFIG.searchd when None (a benchmark compares two)."""
        self.name = name
        self.binary = binary
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="searchd-e2e-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.http_addr = None  # (host, port)
        self.line_addr = None
        self.tls_http_addr = None  # (host, port) of --tls-listen, None when off
        self.tls_line_addr = None
        self.log = LogLines(5000)  # every stderr line of every run, tagged
        self.runs = 0
        self._ready = None
        self._reader = None

    # ---- life cycle ----

    def start(self, extra_args=None, timeout=START_TIMEOUT):
        """Starts searchd and waits for its ready line. Raises DaemonError with the log tail."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        args = extra_args if extra_args is not None else self.extra_args
        cmd = [self.binary or CONFIG.searchd, "--data", self.data_dir, "--listen", "127.0.0.1:0",
               "--line-listen", "127.0.0.1:0"] + list(args)
        self.runs += 1
        self.log.append("---- run %d: %s" % (self.runs, " ".join(cmd)))
        self._ready = threading.Event()
        self.http_addr = self.line_addr = None
        self.tls_http_addr = self.tls_line_addr = None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._drain, args=(self.proc, self._ready),
                                        daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise DaemonError("searchd exited with status %s before it was ready\n%s"
                                  % (self.proc.returncode, self.tail()))
            if time.monotonic() > deadline:
                self.kill9()
                raise DaemonError("searchd not ready within %.0f s\n%s" % (timeout, self.tail()))
        return self

    def _drain(self, proc, ready):
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            m = READY_RE.search(line)
            if m and not ready.is_set():
                self.http_addr = split_addr(m.group(1)) if m.group(1) != "-" else None
                self.line_addr = split_addr(m.group(2)) if m.group(2) != "-" else None
                t = READY_TLS_RE.search(line)
                if t:
                    self.tls_http_addr = split_addr(t.group(1)) if t.group(1) != "-" else None
                    self.tls_line_addr = split_addr(t.group(2)) if t.group(2) != "-" else None
                ready.set()
        proc.stderr.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL, as a crash: no chance to flush or clean up."""
        if self.running():
            os.kill(self.proc.pid, signal.SIGKILL)
        return self._reap(10)

    def term(self, timeout=60):
        """SIGTERM; returns the exit status (the daemon must exit 0 after a clean shutdown)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self._reap(timeout)
        except subprocess.TimeoutExpired:
            self.log.append("---- harness: no exit %d s after SIGTERM; SIGKILL" % timeout)
            return self.kill9()

    def _reap(self, timeout):
        if self.proc is None:
            return None
        rc = self.proc.wait(timeout)
        if self._reader:
            self._reader.join(5)
        self.log.append("---- exited with status %s" % rc)
        return rc

    def restart(self, extra_args=None):
        if self.running():
            self.kill9()
        return self.start(extra_args)

    def stop(self):
        """Teardown: whatever state it is in, make sure the process is gone."""
        if self.running():
            try:
                self.term(timeout=15)
            except Exception:
                self.kill9()

    def cleanup(self, keep=False):
        self.stop()
        if self.owns_dir and not keep and os.environ.get("SEARCHD_E2E_KEEP") != "1":
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def tail(self, n=40):
        lines = list(self.log)[-n:]
        return "---- %s stderr (last %d lines, data %s) ----\n%s" % (
            self.name, len(lines), self.data_dir, "\n".join(lines))

    # ---- clients ----

    def line(self, timeout=IO_TIMEOUT):
        return LineClient(self.line_addr, timeout)

    def http(self, timeout=IO_TIMEOUT):
        return HttpClient(self.http_addr, timeout)

    @property
    def line_server(self):
        return "%s:%d" % self.line_addr


class ConnectionClosed(Exception):
    pass


def recv_until_closed(sock):
    """Every byte the peer sends until it closes the connection (a reset or a timeout raises)."""
    data = b""
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return data
        data += chunk


class LineClient:
    """A persistent line-protocol connection. send() may be called many times before recv()."""

    def __init__(self, addr, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    @staticmethod
    def encode(obj):
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"

    def send(self, obj):
        self.send_raw(self.encode(obj))

    def recv_line(self):
        """The next line without its newline; ConnectionClosed at end of stream."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionClosed("server closed the connection (pending: %r)"
                                       % self.buf[:200])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def recv(self):
        line = self.recv_line()
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("server sent a line that is not JSON (%s): %r" % (e, line[:300]))
        if not isinstance(obj, dict) or "ok" not in obj:
            raise AssertionError("server answer has no \"ok\": %r" % line[:300])
        return obj

    def call(self, obj):
        self.send(obj)
        return self.recv()

    def call_raw(self, data):
        self.send_raw(data)
        return self.recv()

    def wait_closed(self, timeout=10):
        """True when the server closes the connection within timeout (data read is dropped)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class KilledClient(threading.Thread):
    """A line-protocol client thread of a crash test: self.loop(conn) runs until searchd is
    killed, which ends it quietly (a connection refused or broken); any other exception is kept
    in self.error for the test to report."""

    def __init__(self, daemon, timeout):
        super().__init__(daemon=True)
        self.addr = daemon.line_addr
        self.timeout = timeout
        self.error = None

    def loop(self, c):
        raise NotImplementedError

    def run(self):
        try:
            c = LineClient(self.addr, timeout=self.timeout)
        except OSError:
            return  # killed before we connected
        try:
            self.loop(c)
        except (OSError, ConnectionClosed):
            pass  # the kill
        except Exception as e:  # reported by the test
            self.error = repr(e)
        finally:
            c.close()


def crash_seed(name, seed, kills):
    """(seed, random.Random) of a randomized crash test: seed, or a new one when None, said on
    stderr so that a failing run can be repeated."""
    if seed is None:
        seed = random.randrange(1 << 30)
    sys.stderr.write("\n%s: seed %d, %d kills (rerun with --seed %d)\n" % (name, seed, kills, seed))
    return seed, random.Random(seed)


class HttpResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def __repr__(self):
        return "HTTP %d %r" % (self.status, self.body[:300])


class HttpClient:
    """One keep-alive HTTP/1.1 connection (http.client reconnects if the server closes it)."""

    def __init__(self, addr, timeout=IO_TIMEOUT):
        self.conn = http.client.HTTPConnection(addr[0], addr[1], timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.conn.request(method, path, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        data = resp.read()
        return HttpResponse(resp.status, resp.headers, data)

    def get(self, path):
        return self.request("GET", path)

    def search(self, q, **params):
        params["q"] = q
        return self.get("/search?" + urllib.parse.urlencode(params))

    def doc_path(self, doc_id, index=None):
        path = "/docs/" + urllib.parse.quote(doc_id, safe="")
        return path + ("?index=" + urllib.parse.quote(index) if index else "")

    def close(self):
        self.conn.close()


def run_searchq(args, daemon=None, server=None, timeout=120, input_bytes=None):
    """Runs searchq; returns CompletedProcess with text stdout/stderr."""
    cmd = [CONFIG.searchq]
    if server is None and daemon is not None:
        server = daemon.line_server
    if server is not None:
        cmd += ["--server", server]
    cmd += list(args)
    return subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout,
                          env=dict(os.environ, LC_ALL="C.UTF-8"))


def decode(cp):
    return cp.stdout.decode("utf-8", "replace"), cp.stderr.decode("utf-8", "replace")


def describe(cp):
    out, err = decode(cp)
    return "searchq %s -> exit %d\nstdout: %s\nstderr: %s" % (
        " ".join(cp.args[1:]), cp.returncode, out[-2000:], err[-2000:])


def sample_files():
    notes = os.path.join(CONFIG.sample, "notes")
    mds = sorted(os.path.join(notes, f) for f in os.listdir(notes) if f.endswith(".md"))
    return [os.path.join(CONFIG.sample, "docs.jsonl")] + mds


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.02):
    """Polls pred() until it returns a true value or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# PROTOCOL.md: an acknowledged write is searchable within 100 ms; issue 3 allows a second. Stats
# and get may lag the same way, so tests that read right after a write wait up to this long.
VISIBLE_WITHIN = 1.0 * TIME_SCALE


def stats_docs(daemon, index=None):
    req = {"op": "stats"}
    if index:
        req["index"] = index
    with daemon.line() as c:
        a = c.call(req)
    return a.get("docs") if a.get("ok") else None


def wait_docs(daemon, expected, timeout=VISIBLE_WITHIN, index=None):
    """Waits until stats "docs" is expected; returns the last value seen."""
    last = [None]

    def check():
        last[0] = stats_docs(daemon, index)
        return last[0] == expected

    wait_until(check, timeout)
    return last[0]


class E2ETestCase(unittest.TestCase):
    """Tracks the daemons a test (or its class) starts, stops them afterwards, and prints their
    stderr tails when the test fails."""

    class_daemons = ()
    maxDiff = 4000

    def setUp(self):
        self.daemons = []

    def new_daemon(self, **kw):
        d = Daemon(**kw)
        self.daemons.append(d)
        return d

    def start_daemon(self, **kw):
        extra = kw.pop("extra_args", ())
        return self.new_daemon(extra_args=extra, **kw).start()

    def run(self, result=None):
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            failed = len(result.failures) + len(result.errors) > before
            for d in list(getattr(self, "daemons", [])):
                d.cleanup(keep=failed)
            if failed:
                for d in list(getattr(self, "daemons", [])) + list(self.class_daemons):
                    sys.stderr.write("\n" + d.tail() + "\n")
                sys.stderr.flush()

    # ---- assertions shared by the scripts ----

    def assertOk(self, answer, what=""):
        self.assertIsInstance(answer, dict, what)
        self.assertIs(answer.get("ok"), True, "%s: expected ok:true, got %r" % (what, answer))
        return answer

    def assertError(self, answer, code, what=""):
        self.assertIsInstance(answer, dict, what)
        self.assertIs(answer.get("ok"), False, "%s: expected an error %s, got %r"
                      % (what, code, answer))
        err = answer.get("error")
        self.assertIsInstance(err, dict, "%s: error member missing: %r" % (what, answer))
        if code is not None:
            self.assertEqual(err.get("code"), code, "%s: wrong error code in %r" % (what, answer))
        self.assertTrue(isinstance(err.get("message"), str) and err["message"],
                        "%s: error without a message: %r" % (what, answer))
        return answer


class ConfFileTestCase(E2ETestCase):
    """An E2ETestCase with a temporary config file, self.conf, that write() replaces, and
    reload() to make a daemon read it again (SIGHUP)."""

    def setUp(self):
        super().setUp()
        fd, self.conf = tempfile.mkstemp(prefix="searchd-conf-", suffix=".ini")
        os.close(fd)

    def tearDown(self):
        super().tearDown()
        os.unlink(self.conf)

    def write(self, text):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    def reload(self, daemon, event="event=reload "):
        """SIGHUP, then wait for the event's line. The log is cleared first: at debug level
        every request logs a line and the harness keeps only the last 5000."""
        daemon.log.clear()
        os.kill(daemon.proc.pid, signal.SIGHUP)
        self.assertTrue(wait_until(lambda: any(event in line for line in daemon.log),
                                   timeout=IO_TIMEOUT), daemon.tail())


def main(add_args=None):
    """Parses the harness flags (and a script's own, through add_args(parser)), then runs the
    tests of the calling module. Unknown arguments go to unittest (-v, test names...)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--searchd", default=CONFIG.searchd)
    parser.add_argument("--searchq", default=CONFIG.searchq)
    parser.add_argument("--sample", default=CONFIG.sample)
    if add_args:
        add_args(parser)
    args, rest = parser.parse_known_args()
    for k, v in vars(args).items():
        setattr(CONFIG, k, v)
    for binary in (CONFIG.searchd, CONFIG.searchq):
        if not os.access(binary, os.X_OK):
            sys.exit("e2e: %s is not an executable; build first or pass --searchd/--searchq"
                     % binary)
    unittest.main(module="__main__", argv=[sys.argv[0]] + rest, verbosity=2)
