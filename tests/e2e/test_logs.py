"""test_logs.py: the access log, the slow-query log and the engine's events on a real searchd.

--access-log FILE gets one key=value line per request (time, peer, protocol, op, index, status,
bytes, duration; a search's total as hits=, its query text only with --log-queries on) and never
an API key, whether sent as an HTTP Authorization header or in the line protocol's auth op;
SIGHUP opens the file again by name (logrotate moves the old one away), also when the config
file it reads again does not parse. --slow-ms logs searches with their query text at warn. Flushes, merges and recovery
are logged through the daemon's log (event=flush ..., event=recovered ...), and a segment that
fails its checks at start as event=degraded at warn, not printed ad hoc.
"""

import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile

import harness

ADMIN = "admin-key-0123456789abcdef0123456789"
SEARCH = "search-key-0123456789abcdef0123456789"
LINE_RE = re.compile(r"^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z peer=127\.0\.0\.1:\d+ "
                     r"proto=(line|http|line_tls|https) op=(\w+) index=(\S+) status=(\d+) in=(\d+) out=(\d+) "
                     r"us=(\d+)(?: hits=(\d+))?(?: q=(.*))?$")


def sha(key):
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


class LogsTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="searchd-logs-")
        self.access = os.path.join(self.tmp, "access.log")

    def tearDown(self):
        super().tearDown()
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def wait_lines(self, path, n):
        self.assertTrue(harness.wait_until(lambda: os.path.exists(path) and
                                           len(read_lines(path)) >= n,
                                           timeout=harness.IO_TIMEOUT),
                        "%s: fewer than %d lines" % (path, n))
        return read_lines(path)

    def test_access_log_line_per_request_without_keys(self):
        d = self.start_daemon(extra_args=["--access-log", self.access, "--admin-keys", sha(ADMIN),
                                          "--search-keys", sha(SEARCH)])
        h = d.http()
        auth = {"Authorization": "Bearer " + ADMIN}
        self.assertOk(h.request("POST", "/docs?index=logs", body={"id": "a1", "title": "журнал"},
                                headers=auth).json)
        r = h.request("GET", "/search?index=logs&q=%D0%B6%D1%83%D1%80%D0%BD%D0%B0%D0%BB",
                      headers={"Authorization": "Bearer " + SEARCH})
        self.assertEqual([x["id"] for x in r.json["hits"]], ["a1"])
        self.assertEqual(h.request("GET", "/stats", headers={"Authorization": "Bearer wrong-"
                                                             + ADMIN}).status, 401)
        h.close()
        with d.line() as c:
            self.assertOk(c.call({"op": "auth", "key": SEARCH}))
            self.assertOk(c.call({"op": "get", "id": "a1", "index": "logs"}))
            self.assertError(c.call({"op": "auth", "key": "not-" + SEARCH}), "unauthorized")
        lines = self.wait_lines(self.access, 6)
        self.assertEqual(len(lines), 6, lines)
        parsed = []
        for line in lines:
            m = LINE_RE.match(line)
            self.assertIsNotNone(m, line)
            parsed.append(m.groups())
        self.assertEqual([(p[0], p[1], p[2], p[3]) for p in parsed], [
            ("http", "add", "logs", "200"),
            ("http", "search", "logs", "200"),
            ("http", "stats", "default", "401"),
            ("line", "auth", "-", "200"),
            ("line", "get", "logs", "200"),
            ("line", "auth", "-", "401"),
        ])
        for p in parsed:
            self.assertGreater(int(p[5]), 0)  # bytes of the answer
        # a search says how many documents it found; no line has the query text by default
        self.assertEqual([p[7] for p in parsed], [None, "1", None, None, None, None])
        self.assertEqual([p[8] for p in parsed], [None] * 6)
        self.assertGreater(int(parsed[0][4]), 0)  # the add's body
        text = "\n".join(lines) + "\n".join(d.log)
        for key in (ADMIN, SEARCH, "key-0123456789"):
            self.assertNotIn(key, text)

    def test_access_log_names_the_index_of_management_ops_and_snapshots(self):
        """The index management ops and snapshot were logged with index=- (only search, add,
        get, delete and stats named theirs), so the access log could not say which index was
        dropped or copied. Ops about no index (indexes, health) keep index=-."""
        snaps = tempfile.mkdtemp(prefix="searchd-logs-snaps-")
        self.addCleanup(shutil.rmtree, snaps, True)
        d = self.start_daemon(extra_args=["--access-log", self.access, "--snapshot-dir", snaps])
        h = d.http()
        self.assertOk(h.request("PUT", "/indexes/books", body={"fields": {}}).json)
        self.assertOk(h.get("/indexes/books").json)
        self.assertOk(h.request("POST", "/docs?index=books", body={"id": "b1"}).json)
        self.assertOk(h.request("POST", "/indexes/books/snapshot", body={"name": "s1"}).json)
        self.assertOk(h.get("/indexes").json)
        h.close()
        with d.line() as c:
            self.assertOk(c.call({"op": "create_index", "index": "films", "settings": {}}))
            self.assertOk(c.call({"op": "snapshot", "index": "films", "name": "s2"}))
            self.assertOk(c.call({"op": "drop_index", "index": "films"}))
            self.assertOk(c.call({"op": "health"}))
        lines = self.wait_lines(self.access, 9)
        self.assertEqual([LINE_RE.match(l).groups()[:3] for l in lines], [
            ("http", "set_settings", "books"),
            ("http", "get_settings", "books"),
            ("http", "add", "books"),
            ("http", "snapshot", "books"),
            ("http", "indexes", "-"),
            ("line", "create_index", "films"),
            ("line", "snapshot", "films"),
            ("line", "drop_index", "films"),
            ("line", "health", "-"),
        ])

    def test_log_queries_adds_the_query_text(self):
        d = self.start_daemon(extra_args=["--access-log", self.access, "--log-queries", "on"])
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "doc": {"id": "q1", "title": "журнал \"мод\""}}))
            self.assertOk(c.call({"op": "search", "q": 'журнал "мод"'}))
            self.assertOk(c.call({"op": "search", "q": "нет-такого"}))
        lines = self.wait_lines(self.access, 3)
        groups = [LINE_RE.match(l).groups() for l in lines]
        self.assertEqual([(g[1], g[7], g[8]) for g in groups], [
            ("add", None, None),
            ("search", "1", '"журнал \\"мод\\""'),
            ("search", "0", '"нет-такого"'),
        ])

    def test_sighup_reopens_after_rotation(self):
        d = self.start_daemon(extra_args=["--access-log", self.access])
        h = d.http()
        self.assertOk(h.get("/health").json)
        self.wait_lines(self.access, 1)
        os.rename(self.access, self.access + ".1")  # what logrotate does
        self.assertOk(h.get("/stats").json)  # still into the moved file
        self.assertEqual(len(self.wait_lines(self.access + ".1", 2)), 2)
        d.log.clear()
        os.kill(d.proc.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: any("event=reload " in l for l in d.log),
                                           timeout=harness.IO_TIMEOUT), d.tail())
        self.assertOk(h.get("/health").json)
        h.close()
        lines = self.wait_lines(self.access, 1)
        self.assertEqual(len(lines), 1)
        self.assertIn(" op=health ", lines[0])
        self.assertEqual(len(read_lines(self.access + ".1")), 2)

    def test_access_log_unwritable_refuses_to_start(self):
        d = self.new_daemon(extra_args=["--access-log", os.path.join(self.tmp, "no", "such")])
        with self.assertRaises(harness.DaemonError) as cm:
            d.start()
        self.assertIn("event=access_log_failed", str(cm.exception))

    def test_slow_query_logged_with_query_text(self):
        d = self.start_daemon(extra_args=["--slow-ms", "0"])
        with d.line() as c:
            self.assertOk(c.call({"op": "search", "q": 'медленный "запрос" \\ x'}))
        self.assertTrue(harness.wait_until(lambda: any("event=slow_query" in l for l in d.log),
                                           timeout=harness.IO_TIMEOUT), d.tail())
        line = [l for l in d.log if "event=slow_query" in l][0]
        self.assertIn("level=warn", line)
        self.assertIn('proto=line', line)
        self.assertIn(r'q="медленный \"запрос\" \\ x"', line)

    def test_no_slow_log_by_default(self):
        d = self.start_daemon()
        with d.line() as c:
            self.assertOk(c.call({"op": "search", "q": "быстрый"}))
            self.assertOk(c.call({"op": "stats"}))  # answered after the search: it is logged
        self.assertFalse(any("slow_query" in l for l in d.log))

    def test_engine_events_in_the_log(self):
        d = self.start_daemon(extra_args=["--flush-ms", "10"])
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "index": "ev",
                                  "docs": [{"id": "e%d" % i, "title": "событие %d" % i}
                                           for i in range(20)]}))
        self.assertTrue(harness.wait_until(
            lambda: any(re.search(r"level=info event=flush index=ev seg=\d+ inputs=\d+ "
                                  r"docs=20 ms=\d+", l) for l in d.log),
            timeout=harness.IO_TIMEOUT), d.tail())
        d.restart()
        self.assertTrue(any(re.search(r"level=info event=recovered index=ev segments=1 "
                                      r"not_served=0 .*degraded=0", l) for l in d.log), d.tail())
        self.assertFalse(any(l.startswith("searchd: index") for l in d.log))

    def test_degraded_segment_is_an_event(self):
        d = self.start_daemon()
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "index": "deg",
                                  "docs": [{"id": "d%d" % i, "title": "повреждение"}
                                           for i in range(10)]}))
        self.assertEqual(d.term(), 0)  # the clean stop flushes: one segment
        segs = sorted(glob.glob(os.path.join(d.data_dir, "deg", "seg-*.seg")))
        self.assertEqual(len(segs), 1, segs)
        with open(segs[0], "r+b") as f:
            f.seek(os.path.getsize(segs[0]) // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x5A]))
        d.start()
        lines = list(d.log)
        self.assertTrue(any(re.search(r"level=warn event=degraded index=deg seg=1 msg=\".*%s"
                                      % os.path.basename(segs[0]), l) for l in lines), d.tail())
        self.assertTrue(any(re.search(r"level=warn event=recovered index=deg segments=0 "
                                      r"not_served=1 .*degraded=1", l) for l in lines), d.tail())


class LogsConfigTest(harness.ConfFileTestCase):
    """access-log and slow-ms as config keys, changed live by SIGHUP."""

    def test_config_keys_and_live_change(self):
        tmp = tempfile.mkdtemp(prefix="searchd-logs-conf-")
        self.addCleanup(shutil.rmtree, tmp, True)
        first, second = os.path.join(tmp, "a.log"), os.path.join(tmp, "b.log")
        self.write("access-log = %s\nslow-ms = off\n" % first)
        d = self.start_daemon(extra_args=["--config", self.conf])
        with d.line() as c:
            self.assertOk(c.call({"op": "search", "q": "первый"}))
        self.assertTrue(harness.wait_until(lambda: os.path.exists(first) and
                                           len(read_lines(first)) == 1, harness.IO_TIMEOUT))
        self.assertFalse(any("slow_query" in l for l in d.log))
        self.assertNotIn(" q=", read_lines(first)[0])
        self.write("access-log = %s\nslow-ms = 0\nlog-queries = on\n" % second)
        self.reload(d)
        self.assertFalse(any("reload_needs_restart" in l for l in d.log), d.tail())
        with d.line() as c:
            self.assertOk(c.call({"op": "search", "q": "второй"}))
        self.assertTrue(harness.wait_until(
            lambda: any('event=slow_query' in l and 'q="второй"' in l for l in d.log),
            harness.IO_TIMEOUT), d.tail())
        self.assertEqual(len(read_lines(second)), 1)
        self.assertIn(' hits=0 q="второй"', read_lines(second)[0])
        self.assertEqual(len(read_lines(first)), 1)
        cp = subprocess.run([harness.CONFIG.searchd, "--config", self.conf, "--print-config"],
                            capture_output=True, text=True, timeout=60)
        self.assertIn("access-log = %s\n" % second, cp.stdout)
        self.assertIn("slow-ms = 0\n", cp.stdout)
        self.assertIn("log-queries = on\n", cp.stdout)
        self.write("slow-ms = soon\n")
        cp = subprocess.run([harness.CONFIG.searchd, "--config", self.conf, "--print-config"],
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("slow-ms soon: want 0 to 3600000 or off", cp.stderr)

    def test_sighup_reopens_the_access_log_when_the_config_does_not_parse(self):
        """logrotate moves the file away and sends SIGHUP (packaging/logrotate). A config
        file being edited at that moment, and not parsing, made the reload change nothing, the
        reopening included: searchd went on writing into the moved file, which logrotate
        compresses and in the end deletes. The file in force is opened again anyway."""
        tmp = tempfile.mkdtemp(prefix="searchd-logs-conf-")
        self.addCleanup(shutil.rmtree, tmp, True)
        access = os.path.join(tmp, "access.log")
        self.write("access-log = %s\n" % access)
        d = self.start_daemon(extra_args=["--config", self.conf])
        h = d.http()
        self.addCleanup(h.close)
        self.assertOk(h.get("/health").json)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(access) and
                                           len(read_lines(access)) == 1, harness.IO_TIMEOUT))
        os.rename(access, access + ".1")  # what logrotate does
        self.write("access-log = %s\nslow-ms = soon\n" % access)  # an edit under way
        self.reload(d, "event=reload_failed")
        self.assertOk(h.get("/stats").json)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(access) and
                                           len(read_lines(access)) == 1, harness.IO_TIMEOUT),
                        d.tail())
        self.assertIn(" op=stats ", read_lines(access)[0])
        self.assertEqual(len(read_lines(access + ".1")), 1)


if __name__ == "__main__":
    harness.main()
