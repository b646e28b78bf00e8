"""test_unsent.py: the global cap on answer bytes not taken by clients (--max-unsent).

A tester opened 40 connections that each asked for a 20 MB document and never read: searchd held
770 MB of answers. Here many line connections each pipeline
gets of a 4 MiB document and read nothing. What is checked:
  - the total the daemon holds (searchd_unsent_bytes, or the walk of output buffers that the
    old daemon had, searchd_connection_output_bytes) stays under --max-unsent plus the answers
    the workers may be making when it is reached (one each), and the daemon's resident memory
    grows by no more than that and a margin (not judged under ASan);
  - meanwhile a fresh client's health, stats and /metrics are answered at once, and its get
    waits (searchd_unsent_waiting_requests) rather than adding to the total;
  - when the clients read, every one of them gets every answer, whole and in order, the waiting
    get is answered, and the total comes back to zero (the count kept as things happen does
    not drift);
  - when they never read, once the waiting get has waited 10 s the connections holding the most
    are closed (event=evict_unsent, reason max_unsent) and the get is answered.
"""

import hashlib
import json
import selectors
import socket
import sys
import time

import harness
from harness import E2ETestCase

IS_ASAN = harness.SANITIZED
MIB = 1 << 20
DOC_BYTES = 4 * MIB
CAP = 16 * MIB
WORKERS = 2
STALL_S = 10  # SRV_UNSENT_STALL_S


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scrape(daemon):
    """The /metrics samples without labels, and labelled ones under their full text."""
    h = daemon.http()
    try:
        r = h.request("GET", "/metrics", headers={"Host": "localhost"})
    finally:
        h.close()
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def held(m):
    """What the daemon holds for clients: the new gauge, else the old walk of output buffers."""
    return max(m.get("searchd_unsent_bytes", 0), m.get("searchd_connection_output_bytes", 0))


def quiet_reader(daemon):
    """A line connection (that will not read for a while)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(harness.IO_TIMEOUT)
    s.connect(daemon.line_addr)
    return s


def read_all(socks, n, timeout):
    """n lines from each socket, read side by side (as clients that read do): a list per
    socket."""
    bufs = {s: b"" for s in socks}
    lines = {s: [] for s in socks}
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while sel.get_map():
        if time.monotonic() > deadline:
            raise AssertionError("answers not all read within %.0f s" % timeout)
        for key, _ in sel.select(1.0):
            s = key.fileobj
            chunk = s.recv(1 << 20)
            if not chunk:
                raise harness.ConnectionClosed("closed after %d lines" % len(lines[s]))
            bufs[s] += chunk
            while b"\n" in bufs[s] and len(lines[s]) < n:
                line, _, bufs[s] = bufs[s].partition(b"\n")
                lines[s].append(line)
            if len(lines[s]) == n:
                sel.unregister(s)
    return [lines[s] for s in socks]


class UnsentCapTest(E2ETestCase):
    def start(self, extra=()):
        daemon = self.start_daemon(extra_args=["--max-unsent", str(CAP), "--workers",
                                               str(WORKERS), "--idle-timeout", "300"]
                                   + list(extra))
        # words, so that the JSON answer is about the document's size
        words = [("w%05d" % i) for i in range(DOC_BYTES // 7)]
        self.body = " ".join(words)[:DOC_BYTES]
        self.digest = hashlib.sha256(self.body.encode()).hexdigest()
        with daemon.line() as c:
            self.assertOk(c.call({"op": "add", "doc": {"id": "big", "body": self.body}}))
            self.assertOk(c.call({"op": "add", "doc": {"id": "small", "body": "hello"}}))
        harness.wait_docs(daemon, 2)
        return daemon

    def check_doc(self, line, what):
        a = json.loads(line)
        self.assertOk(a, what)
        self.assertEqual(a["doc"]["id"], "big", what)
        self.assertEqual(hashlib.sha256(a["doc"]["body"].encode()).hexdigest(), self.digest, what)

    def hold(self, daemon, nconns, gets):
        """nconns quiet readers each pipelining gets of the big document, until the daemon has
        started all it will start; returns (sockets, most held, most RSS growth in MiB)."""
        base_rss = rss_mib(daemon.proc.pid)
        socks = []
        for _ in range(nconns):
            s = quiet_reader(daemon)
            s.sendall(b'{"op":"get","id":"big"}\n' * gets)
            socks.append(s)
        most = [0, 0.0]

        def settled():
            m = scrape(daemon)
            most[0] = max(most[0], held(m))
            most[1] = max(most[1], rss_mib(daemon.proc.pid) - base_rss)
            waiting = m.get("searchd_unsent_waiting_requests", 0)
            # everything is made or waits: in flight are the waiting ones and this scrape
            return (m["searchd_worker_queue_requests"] == 0
                    and m["searchd_requests_in_flight"] == waiting + 1)

        harness.wait_until(settled, 20 * harness.TIME_SCALE, interval=0.05)
        for _ in range(10):  # and a while after, in case something still grows
            settled()
            time.sleep(0.05)
        return socks, most[0], most[1]

    def test_quiet_readers_are_bounded_then_drain_whole(self):
        daemon = self.start()
        # 12 under ASan+UBSan: 96 MiB of answers, still six times the cap
        nconns, gets = (12 if IS_ASAN else 24), 2
        socks, most, rss_growth = self.hold(daemon, nconns, gets)
        print("\n%d clients x %d gets of %d MiB: held at most %.1f MiB (cap %d MiB), RSS grew "
              "%.0f MiB" % (nconns, gets, DOC_BYTES // MIB, most / MIB, CAP // MIB, rss_growth),
              file=sys.stderr)
        try:
            slack = (WORKERS + 1) * (DOC_BYTES + MIB)  # answers being made when the cap is met
            self.assertLess(most, CAP + slack,
                            "held %.1f MiB with a cap of %.1f MiB" % (most / MIB, CAP / MIB))
            if not IS_ASAN:
                self.assertLess(rss_growth, (CAP + 2 * slack) / MIB + 48,
                                "RSS grew %.0f MiB" % rss_growth)
            # others are served: health, stats, metrics at once; a get waits for room
            with daemon.line() as c:
                self.assertOk(c.call({"op": "health"}))
                self.assertEqual(c.call({"op": "stats"})["docs"], 2)
            m = scrape(daemon)
            self.assertGreater(m["searchd_unsent_waiting_requests"], 0)
            self.assertEqual(m["searchd_unsent_limit_bytes"], CAP)
            other = daemon.line()
            other.send({"op": "get", "id": "small"})
            # the quiet clients read now: every answer arrives whole, in order
            for i, got in enumerate(read_all(socks, gets, 60 * harness.TIME_SCALE)):
                for j, line in enumerate(got):
                    self.check_doc(line, "client %d answer %d" % (i, j))
            a = self.assertOk(other.recv(), "the get that waited")
            self.assertEqual(a["doc"]["body"], "hello")
            other.close()
        finally:
            for s in socks:
                s.close()
        self.assertTrue(harness.wait_until(lambda: scrape(daemon)["searchd_unsent_bytes"] == 0,
                                           10 * harness.TIME_SCALE),
                        "unsent bytes did not come back to 0: %r" % scrape(daemon))
        self.assertTrue(any("event=max_unsent state=full" in l for l in daemon.log))
        self.assertTrue(harness.wait_until(
            lambda: any("event=max_unsent state=clear" in l for l in daemon.log),
            20 * harness.TIME_SCALE), "no state=clear line 10 s after the cap was last reached")

    def test_holders_that_never_read_are_cut_for_a_waiting_client(self):
        daemon = self.start()
        socks, most, _ = self.hold(daemon, 10, 2)
        try:
            self.assertGreaterEqual(most, CAP)
            other = daemon.line(timeout=(4 * STALL_S + 20) * harness.TIME_SCALE)
            t0 = time.monotonic()
            other.send({"op": "get", "id": "small"})
            a = self.assertOk(other.recv(), "the get that waited")
            waited = time.monotonic() - t0
            print("\nthe waiting get was answered after %.1f s" % waited, file=sys.stderr)
            self.assertEqual(a["doc"]["body"], "hello")
            self.assertGreater(waited, STALL_S - 1, "answered before any holder could be cut")
            other.close()

            def cut():
                return [l for l in daemon.log if "event=evict_unsent" in l]

            def rejected():
                return scrape(daemon)[
                    'searchd_connections_rejected_total{proto="line",reason="max_unsent"}']

            # each cut is counted and logged; the log is read by a thread of the harness, so its
            # last lines may come a little after the count, and a cut may still be under way
            self.assertTrue(harness.wait_until(lambda: len(cut()) == rejected(),
                                               10 * harness.TIME_SCALE),
                            "%d cuts logged, %d counted" % (len(cut()), rejected()))
            self.assertTrue(cut(), "no holder was cut")
            self.assertLess(len(cut()), 10, "only as many as needed to go under the cap")
            self.assertFalse(any("event=write_timeout" in l for l in daemon.log))
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    harness.main()
