"""test_hostile.py: issue 10's hostile clients against the real searchd.

Each test starts an attack, waits until it is established (the daemon has accepted or read what
the attack sends), then measures a fresh well-behaved client: a new connection, one search, its
answer. It takes SAMPLES such measurements on each protocol and requires the second-worst to be
under FRESH_LIMIT_S (the worst one is reported, not judged: on a shared two-core machine one
sample can lose the CPU for longer than the whole budget for reasons that are not the daemon's).
It also reads the daemon's resident memory (VmRSS, and VmHWM at the end) and requires it to stay
under the bound stated per test; under ASan the bound is only reported (ASan's shadow memory and
quarantine make it meaningless).

Attacks:
  three 100 MiB lines   three clients stream newline-less lines; each is cut with too_large at
                        --max-request and closed, and the stream is restarted until 100 MiB went
  idle sockets          2000 idle sockets on each protocol from 16 loopback addresses; the oldest
                        idle ones are evicted, the daemon holds at most --max-connections
  slowloris             300 connections each sending one byte a second from one address: at most
                        --max-per-client get in, each gets `timeout` (408 on HTTP) at
                        --request-timeout although it keeps sending
  double Content-Length four clients send requests with two Content-Length headers in a loop:
                        each gets 400 bad_http as JSON and is closed
  smuggling shapes      a space before a header's colon, a folded header value: 400 bad_http,
                        nothing stored; a key in a chunked body's trailer is no key
and the global cap on unfinished request bytes (--max-unfinished): over it, the client holding the
most gets busy and is closed, the others are served;
and the linear reader: the daemon's CPU time (/proc/PID/stat) for a 32 MiB line against an 8 MiB
one, in 64-byte to 1 MiB writes.
"""

import hashlib
import json
import os
import resource
import select
import socket
import threading
import time

import harness
from harness import E2ETestCase

SAMPLES = 12
IS_ASAN = harness.SANITIZED
# 100 ms is the promise for a release build; a sanitizer build measures the sanitizer as much
# as the daemon (it failed once at 122 ms under ASan with the machine's load at 10), so its
# limit scales like every other deadline of the harness. A busy machine slows a fresh client
# with no attack at all (153 ms in a plain build beside two other builds, load 11-14), so the
# limit is also at least FRESH_BASE_FACTOR times what the same searches took on the same
# daemon before its attack began: an attack that stalls the daemon costs seconds, not that.
FRESH_LIMIT_S = 0.100 * harness.TIME_SCALE
FRESH_BASE_FACTOR = 5
MIB = 1 << 20


def proc_status(pid, key):
    """A /proc/PID/status field in MiB (VmRSS, VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    """utime + stime of the whole process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # fields 14 and 15 of stat(5)


def raw_connect(addr, source=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(addr)
    return s


def read_until_closed(s, limit=1 << 20):
    """Everything the server sends until it closes (or resets, or limit bytes)."""
    data = b""
    try:
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def http_response(data):
    """(status, headers dict, body) of the first response in data."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", len(body)))
    return status, headers, body[:n]


class Fresh:
    """A well-behaved client: new connection, one search, the answer; timed."""

    def __init__(self, daemon):
        self.daemon = daemon

    def line_once(self):
        t0 = time.monotonic()
        with raw_connect(self.daemon.line_addr) as s:
            s.sendall(b'{"op":"search","q":"diplomacy","limit":3}\n')
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise AssertionError("line: closed before an answer: %r" % buf[:200])
                buf += chunk
        took = time.monotonic() - t0
        answer = json.loads(buf.split(b"\n", 1)[0])
        if not answer.get("ok"):
            raise AssertionError("line: fresh search failed: %r" % answer)
        return took

    def http_once(self):
        t0 = time.monotonic()
        with raw_connect(self.daemon.http_addr) as s:
            s.sendall(b"GET /search?q=diplomacy&limit=3 HTTP/1.1\r\nHost: localhost\r\n"
                      b"Connection: close\r\n\r\n")
            data = read_until_closed(s)
        took = time.monotonic() - t0
        status, _, body = http_response(data)
        if status != 200 or not json.loads(body).get("ok"):
            raise AssertionError("http: fresh search failed: %d %r" % (status, body[:200]))
        return took

    def times(self, once):
        """SAMPLES timed searches, sorted."""
        times = []
        for _ in range(SAMPLES):
            times.append(once())
            time.sleep(0.02)
        return sorted(times)

    def baseline(self):
        """The second-worst of SAMPLES searches per protocol, before any attack."""
        return {"line": self.times(self.line_once)[-2], "http": self.times(self.http_once)[-2]}

    def measure(self, test, what):
        """SAMPLES searches per protocol; the second-worst must be under FRESH_LIMIT_S, or under
        FRESH_BASE_FACTOR times the test's baseline when the machine made that larger."""
        report = []
        for name, once in (("line", self.line_once), ("http", self.http_once)):
            times = self.times(once)
            limit = max(FRESH_LIMIT_S, FRESH_BASE_FACTOR * test.fresh_base[name])
            report.append("%s max %.1f ms, 2nd %.1f ms, median %.1f ms (limit %.0f ms)"
                          % (name, times[-1] * 1e3, times[-2] * 1e3, times[len(times) // 2] * 1e3,
                             limit * 1e3))
            test.assertLess(times[-2], limit, "%s: fresh %s client: %s"
                            % (what, name, report[-1]))
        rss = proc_status(self.daemon.proc.pid, "VmRSS")
        print("%s: %s; daemon RSS %.0f MiB" % (what, "; ".join(report), rss))
        return rss


class HostileTest(E2ETestCase):
    def start(self, extra=()):
        daemon = self.start_daemon(extra_args=list(extra))
        sample = harness.load_jsonl(os.path.join(harness.CONFIG.sample, "docs.jsonl"))[:20]
        with daemon.line() as c:
            self.assertOk(c.call({"op": "add", "docs": sample}))
        harness.wait_docs(daemon, len(sample))
        self.fresh_base = Fresh(daemon).baseline()
        return daemon

    def check_rss(self, daemon, bound_mib, what):
        hwm = proc_status(daemon.proc.pid, "VmHWM")
        print("%s: daemon peak RSS %.0f MiB (bound %d MiB%s)"
              % (what, hwm, bound_mib, ", not judged under ASan" if IS_ASAN else ""))
        if not IS_ASAN:
            self.assertLess(hwm, bound_mib, "%s: daemon peak RSS" % what)

    # ---- three 100 MiB lines ----

    def test_three_100mib_lines_do_not_stall_others(self):
        daemon = self.start()
        stop = threading.Event()
        sent = [0, 0, 0]
        too_large = [0, 0, 0]
        errors = []

        def attacker(i):
            chunk = b"x" * MIB
            try:
                while sent[i] < 100 * MIB and not stop.is_set():
                    s = raw_connect(daemon.line_addr, timeout=30)
                    got = []
                    reader = threading.Thread(target=lambda: got.append(read_until_closed(s)))
                    reader.start()
                    try:
                        while sent[i] < 100 * MIB:
                            s.sendall(chunk)
                            sent[i] += len(chunk)
                            time.sleep(0.01)  # ~100 MiB/s each: the attack outlasts the measure
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # cut at --max-request: expected
                    reader.join(30)
                    s.close()
                    if got and b'"too_large"' in got[0]:
                        too_large[i] += 1
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(3)]
        for t in threads:
            t.start()
        self.assertTrue(harness.wait_until(lambda: min(sent) >= 8 * MIB, 60),
                        "attack not established: %r" % sent)
        try:
            Fresh(daemon).measure(self, "three 100 MiB lines")
            print("three 100 MiB lines: MiB sent when the measure ended: %r"
                  % [n // MIB for n in sent])
        finally:
            for t in threads:
                t.join(120)
            stop.set()
        self.assertFalse(errors, errors)
        self.assertEqual(sent, [100 * MIB] * 3, "each attacker streamed 100 MiB")
        self.assertTrue(all(n >= 1 for n in too_large),
                        "every attacker got too_large at --max-request: %r" % too_large)
        # 3 lines of at most 32 MiB held at once, plus the engine and the sample index
        self.check_rss(daemon, 256, "three 100 MiB lines")

    # ---- linear reading ----

    def test_line_reader_cpu_is_linear(self):
        # 32 MiB in 64-byte writes is half a million sends: on a busy machine they outlast the
        # default --request-timeout (30 s, a broken pipe at load 18), which is not what this
        # measures
        daemon = self.start(["--request-timeout", str(int(300 * harness.TIME_SCALE))])
        pid = daemon.proc.pid

        def feed(size, piece):
            """CPU seconds the daemon spends on one size-byte line written piece bytes at a time."""
            chunk = b"y" * piece
            with raw_connect(daemon.line_addr, timeout=60) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t0 = cpu_seconds(pid)
                left = size
                while left > 0:
                    n = min(piece, left)
                    s.sendall(chunk[:n])
                    left -= n
                s.sendall(b"\n")
                buf = b""
                while b"\n" not in buf:
                    more = s.recv(65536)
                    self.assertTrue(more, "closed before the answer")
                    buf += more
                self.assertIn(b'"bad_json"', buf)  # read whole, then parsed: not JSON
                return cpu_seconds(pid) - t0

        # Linear: about 4x; the old quadratic reader took 5.2 s at 31 MiB (issue 10), 16x. The
        # floor covers the clock's 10 ms ticks. How many reads a line takes depends on how the
        # writes happen to coalesce, so on a busy machine one pair can be off by more than 2x
        # either way: a pair is measured up to five times (three failed once beside two other
        # full builds, load 11-14), and a quadratic reader fails all.
        floor = 0.5 if not IS_ASAN else 2.0
        results = []
        for piece in (64, 4096, MIB):
            for _ in range(5):
                small = feed(8 * MIB, piece)
                big = feed(32 * MIB - 2, piece)
                results.append((piece, small, big))
                print("line of 8 MiB / 32 MiB in %d-byte writes: daemon CPU %.2f s / %.2f s"
                      % (piece, small, big))
                if big < max(8 * small, floor):
                    break
            else:
                self.fail("CPU for 32 MiB vs 8 MiB in %d-byte writes: %r" % (piece, results))

    def test_escaped_string_parses_in_linear_cpu(self):
        """A string of \\u escapes, as Python's json.dumps writes every Cyrillic letter, costs CPU
        linear in its length. The prescan of the JSON looked for the string's closing quote again
        after every escape: 1.5 MiB of them held the event loop (every client) for seconds, a
        32 MiB request for hours."""
        daemon = self.start()
        pid = daemon.proc.pid

        def feed(escapes):
            line = b'{"op":"no_such_op","x":"' + b"\\u0416" * escapes + b'"}\n'
            with raw_connect(daemon.line_addr, timeout=harness.IO_TIMEOUT * 10) as s:
                t0 = cpu_seconds(pid)
                s.sendall(line)
                buf = b""
                while b"\n" not in buf:
                    more = s.recv(65536)
                    self.assertTrue(more, "closed before the answer")
                    buf += more
                self.assertIn(b'"unknown_op"', buf)  # parsed whole, then judged
                return cpu_seconds(pid) - t0

        # Linear: about 4x (and both under the floor, which covers the clock's 10 ms ticks); the
        # quadratic prescan took 16x, about 1 s and 15 s here. Up to five tries, as above.
        floor = 0.5 if not IS_ASAN else 2.0
        results = []
        for _ in range(5):
            small = feed(64 * 1024)
            big = feed(256 * 1024)
            results.append((small, big))
            print("string of 64 Ki / 256 Ki escapes: daemon CPU %.2f s / %.2f s" % (small, big))
            if big < max(8 * small, floor):
                break
        else:
            self.fail("CPU for 256 Ki escapes vs 64 Ki: %r" % results)

    # ---- idle sockets ----

    def test_2000_idle_sockets_per_protocol(self):
        # the daemon starts with a low soft limit and must raise it itself
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        try:
            daemon = self.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        with open("/proc/%d/limits" % daemon.proc.pid) as f:
            row = next(l for l in f if l.startswith("Max open files")).split()
        self.assertEqual(row[3], row[4], "searchd raised its soft RLIMIT_NOFILE to the hard one")
        self.assertGreater(hard, 4200, "the test needs 4000+ descriptors")
        sockets = []
        try:
            for proto, addr in (("line", daemon.line_addr), ("http", daemon.http_addr)):
                for i in range(2000):
                    source = "127.0.0.%d" % (2 + i % 16)
                    sockets.append(raw_connect(addr, source))
            # established: the daemon has accepted them all (evicting the oldest idle ones)
            def accepted():
                return sum(1 for l in daemon.log if "event=evict_idle" in l) >= 4000 - 1024
            self.assertTrue(harness.wait_until(accepted, 60), "the daemon did not take them all")
            Fresh(daemon).measure(self, "2000 idle sockets per protocol")
            # the evicted ones were closed by the daemon: it holds at most --max-connections
            closed = 0
            for s in sockets:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    closed += 1
            print("idle sockets: %d of %d closed by the daemon" % (closed, len(sockets)))
            self.assertGreaterEqual(closed, len(sockets) - 1024)
        finally:
            for s in sockets:
                s.close()
        self.check_rss(daemon, 128, "2000 idle sockets per protocol")

    # ---- slowloris ----

    def test_slowloris_is_timed_out_and_kept_to_its_address(self):
        timeout_s = 3
        daemon = self.start(["--request-timeout", str(timeout_s), "--max-per-client", "200"])
        stop = threading.Event()
        conns = []
        request = {False: b'{"op":"search","q":"slow"}\n',
                   True: b"GET /search?q=slow HTTP/1.1\r\nHost: localhost\r\n\r\n"}
        for i in range(300):
            is_http = i % 2 == 1
            try:
                s = raw_connect(daemon.http_addr if is_http else daemon.line_addr, "127.0.0.2")
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.sendall(request[is_http][:1])  # not idle: nothing to evict for the next one
            except OSError:
                continue
            conns.append((is_http, s, time.monotonic()))
            time.sleep(0.002)
        outcome = {}

        def trickle(k, is_http, s, started):
            data = request[is_http]
            got = b""
            try:
                for b in range(1, len(data) - 1):  # the first byte went at connect; never the last
                    if stop.is_set():
                        break
                    s.sendall(data[b:b + 1])
                    s.settimeout(1.0)
                    try:
                        more = s.recv(65536)
                        if not more:
                            break
                        got += more
                    except socket.timeout:
                        continue
            except (BrokenPipeError, ConnectionResetError):
                pass
            outcome[k] = (time.monotonic() - started, got)

        threads = [threading.Thread(target=trickle, args=(k, h, s, t0), daemon=True)
                   for k, (h, s, t0) in enumerate(conns)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.2)  # established: every connection has sent its first bytes
            Fresh(daemon).measure(self, "slowloris (300 connections at 1 byte/s)")
            for t in threads:
                t.join(timeout_s + 30)
        finally:
            stop.set()
            for _, s, _ in conns:
                s.close()
        busy = sum(1 for _, got in outcome.values() if b'"busy"' in got)
        timed_out = [(t, got) for t, got in outcome.values() if b'"timeout"' in got]
        silent = sum(1 for _, got in outcome.values() if not got)
        print("slowloris: %d refused busy (over --max-per-client), %d evicted while idle, "
              "%d timed out after %.1f-%.1f s" % (busy, silent, len(timed_out),
                                                  min(t for t, _ in timed_out),
                                                  max(t for t, _ in timed_out)))
        self.assertEqual(len(outcome), len(conns))
        self.assertEqual(busy + silent + len(timed_out), len(conns),
                         "each was refused, evicted before its first byte was read, or timed out")
        self.assertLessEqual(len(timed_out), 200, "--max-per-client 200 held")
        self.assertGreaterEqual(len(timed_out), 150, "the admitted ones were timed out")
        for t, got in timed_out:
            self.assertGreaterEqual(t, timeout_s - 0.5)
            self.assertLess(t, timeout_s + 20, "deadline not reset by trickled bytes")
            if got.startswith(b"HTTP/"):
                status, headers, body = http_response(got)
                self.assertEqual(status, 408)
                self.assertEqual(headers.get("content-type"), "application/json")
                self.assertEqual(headers.get("connection"), "close")
                self.assertEqual(json.loads(body)["error"]["code"], "timeout")
        self.check_rss(daemon, 128, "slowloris")

    # ---- the global cap on unfinished requests ----

    def test_unfinished_bytes_over_the_cap_close_the_largest(self):
        """--max-unfinished 2m with three clients each holding 900 KiB of an unfinished line:
        the third pushes the total over, one of them (the largest held at that moment) gets
        busy and is closed, the other two finish their lines and are answered."""
        daemon = self.start(["--max-request", "1m", "--max-unfinished", "2m"])
        clients = [raw_connect(daemon.line_addr) for _ in range(3)]
        try:
            for c in clients:
                c.sendall(b"z" * (900 << 10))
            # the daemon reads all 2.7 MiB eagerly; when the total passes 2 MiB one is cut
            ready, _, _ = select.select(clients, [], [], 30)
            self.assertEqual(len(ready), 1, "exactly one client cut")
            outcomes = []
            for c in clients:
                if c not in ready:
                    c.sendall(b"\n")
                buf = b""
                try:
                    while b"\n" not in buf:
                        more = c.recv(65536)
                        if not more:
                            break
                        buf += more
                except ConnectionResetError:
                    pass
                outcomes.append(buf)
        finally:
            for c in clients:
                c.close()
        busy = [o for o in outcomes if b'"busy"' in o]
        answered = [o for o in outcomes if b'"bad_json"' in o]
        self.assertEqual((len(busy), len(answered)), (1, 2), outcomes)
        # the log line is written before the busy answer, but the harness reads searchd's
        # stderr on a thread of its own, which a loaded machine may leave behind
        self.assertTrue(harness.wait_until(
            lambda: any("reason=max_unfinished" in l for l in daemon.log),
            10 * harness.TIME_SCALE), daemon.tail())
        Fresh(daemon).measure(self, "after the unfinished-bytes cap")

    # ---- double Content-Length ----

    def test_double_content_length_is_400_json_and_closed(self):
        daemon = self.start()
        bad = (b"POST /docs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n"
               b'{}{"id":"smuggled","title":"x"}\r\n\r\n')
        with raw_connect(daemon.http_addr) as s:
            s.sendall(bad)
            data = read_until_closed(s)  # returns only when the daemon closes
        status, headers, body = http_response(data)
        self.assertEqual(status, 400, data)
        self.assertEqual(headers.get("content-type"), "application/json")
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(json.loads(body)["error"]["code"], "bad_http")
        self.assertEqual(data.count(b"HTTP/1.1"), 1, "one answer, nothing smuggled: %r" % data)
        stop = threading.Event()
        counts = [0] * 4

        def attacker(i):
            while not stop.is_set():
                try:
                    with raw_connect(daemon.http_addr) as s:
                        s.sendall(bad)
                        if b" 400 " in read_until_closed(s):
                            counts[i] += 1
                except OSError:
                    pass

        threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        try:
            self.assertTrue(harness.wait_until(lambda: min(counts) >= 5, 30), counts)
            Fresh(daemon).measure(self, "double Content-Length")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        with daemon.line() as c:
            self.assertError(c.call({"op": "get", "id": "smuggled"}), "not_found")
        self.check_rss(daemon, 128, "double Content-Length")

    # ---- smuggling shapes ----

    def test_smuggling_shapes_are_400_and_nothing_stored(self):
        """Headers that http-parser read one way and a proxy in front may read another: a space
        before the colon ("Transfer-Encoding : chunked" was chunked, "Content-Length : N" a
        length) and a value folded onto a line of its own ("Transfer-Encoding:" then " chunked"
        was chunked; an Authorization folded was the key). Each is 400 bad_http, one answer,
        the connection closed, and the document in its body is not stored; so is a chunked
        body in an HTTP/1.0 request (1.0 has none: a proxy of 1.0 reads no body). Fields after a
        chunked body (trailers) are not headers: an admin key there was taken as the request's."""
        admin = "admin-0123456789abcdef"
        daemon = self.start_daemon(extra_args=[
            "--admin-keys", "sha256:" + hashlib.sha256(admin.encode()).hexdigest()])
        auth = b"Authorization: Bearer " + admin.encode() + b"\r\n"

        def doc(name):
            return b'{"id":"%s","title":"x"}\n' % name.encode()

        def chunked(body, trailer=b""):
            return b"%x\r\n%s\r\n0\r\n%s\r\n" % (len(body), body, trailer)

        head = b"POST /docs HTTP/1.1\r\nHost: localhost\r\n"
        cases = [
            ("te-space", head + auth + b"Transfer-Encoding : chunked\r\n\r\n"
             + chunked(doc("te-space"))),
            ("cl-space", head + auth + b"Content-Length : 25\r\n\r\n" + doc("cl-space")),
            ("te-fold", head + auth + b"Transfer-Encoding:\r\n chunked\r\n\r\n"
             + chunked(doc("te-fold"))),
            ("auth-fold", head + b"Authorization:\r\n Bearer " + admin.encode()
             + b"\r\nContent-Length: 26\r\n\r\n" + doc("auth-fold")),
            ("te-http10", b"POST /docs HTTP/1.0\r\nHost: localhost\r\n" + auth
             + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(doc("te-http10"))),
        ]
        for name, req in cases:
            with raw_connect(daemon.http_addr) as s:
                s.sendall(req)
                data = read_until_closed(s)
            status, headers, body = http_response(data)
            self.assertEqual((status, headers.get("connection")), (400, "close"), (name, data))
            self.assertEqual(json.loads(body)["error"]["code"], "bad_http", (name, body))
            self.assertEqual(data.count(b"HTTP/1.1"), 1, (name, data))
        with raw_connect(daemon.http_addr) as s:
            s.sendall(head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                      + chunked(doc("trailer"), auth))
            status, _, body = http_response(read_until_closed(s))
        self.assertEqual(status, 401, body)
        h = daemon.http()
        for name, _ in cases + [("trailer", None)]:
            r = h.request("GET", "/docs/" + name, headers={"Authorization": "Bearer " + admin})
            self.assertError(r.json, "not_found")
        h.close()

    # ---- the rest of strict HTTP ----

    def test_http_errors_are_json(self):
        daemon = self.start()
        cases = [
            (b"POST /docs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "bad_http", True),
            (b"POST /docs HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             400, "bad_http", True),
            (b"GET /health HTTP/1.1\r\n\r\n", 400, "bad_http", True),  # no Host (RFC 9112 3.2)
            (b"\x00\x01\x02garbage\xff\r\n\r\n", 400, "bad_http", True),
            (b"GET /health HTTP/1.1\r\nHost: localhost\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431,
             "head_too_large", True),
            (b"GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 404, "unknown_path",
             True),
            (b"PUT /stats HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n"
             b"\r\n", 405, "method_not_allowed", True),
            # a coding before chunked: the chunks were decoded and the still-"gzipped" body
            # added as a document
            (b"POST /docs HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n"
             b"\r\nb\r\n{\"id\":\"gz\"}\r\n0\r\n\r\n", 400, "bad_http", True),
        ]
        for req, want_status, want_code, closes in cases:
            with raw_connect(daemon.http_addr) as s:
                s.sendall(req)
                data = read_until_closed(s)
            status, headers, body = http_response(data)
            self.assertEqual((status, headers.get("content-type")),
                             (want_status, "application/json"), data[:300])
            self.assertEqual(json.loads(body)["error"]["code"], want_code, body)
        with daemon.line() as c:
            self.assertError(c.call({"op": "get", "id": "gz"}), "not_found",
                             "a refused request stored its document")
        # HEAD: the head of a GET, no body; the connection stays usable
        with raw_connect(daemon.http_addr) as s:
            s.sendall(b"HEAD /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = read_until_closed(s)
        first, _, rest = data.partition(b"\r\n\r\n")
        body = rest.partition(b"\r\n\r\n")[2]  # the GET's
        self.assertIn(b"HTTP/1.1 200 OK", first)
        self.assertIn(b"Content-Length: %d" % len(body), first)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK"), "HEAD sent a body: %r" % data)
        self.assertEqual(json.loads(body)["status"], "ok", data)


if __name__ == "__main__":
    harness.main()
