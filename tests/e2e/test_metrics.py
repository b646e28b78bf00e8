"""test_metrics.py: GET /metrics on a real searchd, parsed by Prometheus's own text parser
(Debian's python3-prometheus-client): the counters of requests and the latency histograms move
with the requests made, the per-index gauges follow the documents written, the engine's
fsync, flush and merge histograms fill as it works, queue and memory gauges are there,
refused connections are counted by reason, and with keys on a scrape needs a search or admin
key.
"""

import hashlib
import shutil
import socket
import tempfile

from prometheus_client.parser import text_string_to_metric_families

import harness

ADMIN = "admin-0123456789abcdef0123456789abcdef"
SEARCH = "search-0123456789abcdef0123456789abcdef"


def sha(key):
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def scrape(daemon, key=None):
    """The families of one scrape as {name: {frozenset(labels): value}} (samples keep their
    own names: histograms give _bucket, _sum, _count), with the response."""
    h = daemon.http()
    try:
        r = h.request("GET", "/metrics", headers={"Authorization": "Bearer " + key} if key else {})
    finally:
        h.close()
    if r.status != 200:
        return r, None
    samples = {}
    for fam in text_string_to_metric_families(r.body.decode("utf-8")):
        for s in fam.samples:
            samples.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
    return r, samples


def value(samples, name, **labels):
    return samples.get(name, {}).get(frozenset(labels.items()), 0.0)


def buckets(samples, name, **labels):
    """A histogram's (le, cumulative count) pairs for one label set, by bound."""
    out = []
    for k, v in samples.get(name + "_bucket", {}).items():
        d = dict(k)
        le = d.pop("le")
        if d == labels:
            out.append((float(le), v))
    return sorted(out)


class MetricsTest(harness.E2ETestCase):
    def test_scrape_parses_and_counters_move(self):
        d = self.start_daemon()
        r, before = scrape(d)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        info = before["searchd_build_info"]
        self.assertEqual(list(info.values()), [1.0])
        self.assertRegex(dict(next(iter(info)))["version"], r"^\d+\.\d+\.\d+")
        self.assertGreater(value(before, "process_resident_memory_bytes"), 1 << 20)
        self.assertGreaterEqual(value(before, "searchd_uptime_seconds"), 0.0)
        self.assertEqual(value(before, "searchd_connections", proto="http"), 1.0)  # this one
        self.assertEqual(value(before, "searchd_requests_in_flight"), 1.0)  # the scrape itself

        h = d.http()
        for i in range(3):
            self.assertOk(h.request("POST", "/docs?index=books",
                                    body={"id": "m%d" % i, "title": "метрики %d" % i}).json)
        for _ in range(5):
            self.assertOk(h.search("метрики", index="books").json)
        self.assertEqual(h.search("(", index="books").status, 400)
        h.close()
        with d.line() as c:
            self.assertOk(c.call({"op": "search", "q": "метрики", "index": "books"}))
            self.assertOk(c.call({"op": "stats", "index": "books"}))
            _, during = scrape(d)
            self.assertEqual(value(during, "searchd_connections", proto="line"), 1.0)

        _, after = scrape(d)
        req = "searchd_requests_total"
        self.assertEqual(value(after, req, proto="http", op="add", code="200"), 3.0)
        self.assertEqual(value(after, req, proto="http", op="search", code="200"), 5.0)
        self.assertEqual(value(after, req, proto="http", op="search", code="400"), 1.0)
        self.assertEqual(value(after, req, proto="line", op="search", code="200"), 1.0)
        self.assertEqual(value(after, req, proto="line", op="stats", code="200"), 1.0)
        # the scrapes count themselves, each after it is answered
        self.assertEqual(value(after, req, proto="http", op="metrics", code="200"), 2.0)
        dur = "searchd_request_duration_seconds"
        self.assertEqual(value(after, dur + "_count", op="search"), 7.0)
        self.assertEqual(value(after, dur + "_bucket", op="search", le="+Inf"), 7.0)
        self.assertEqual(value(after, dur + "_count", op="write"), 3.0)
        self.assertGreater(value(after, dur + "_sum", op="write"), 0.0)
        buckets = sorted((float(dict(k)["le"]), v) for k, v in after[dur + "_bucket"].items()
                         if dict(k)["op"] == "search")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))  # cumulative
        self.assertEqual(value(after, "searchd_index_docs", index="books"), 3.0)
        self.assertEqual(value(after, "searchd_index_degraded", index="books"), 0.0)
        self.assertIn(frozenset({"index": "books"}.items()), after["searchd_index_wal_bytes"])
        self.assertEqual(value(after, "searchd_connections", proto="line"), 0.0)

    def assertHistogram(self, samples, name, **labels):
        """Cumulative buckets ending with +Inf = _count; returns _count."""
        b = buckets(samples, name, **labels)
        self.assertGreater(len(b), 1, name)
        self.assertEqual(b[-1][0], float("inf"))
        self.assertEqual([v for _, v in b], sorted(v for _, v in b), name)  # cumulative
        count = value(samples, name + "_count", **labels)
        self.assertEqual(b[-1][1], count)
        return count

    def test_engine_fsyncs_flushes_merges_queues_and_memory(self):
        snaps = tempfile.mkdtemp(prefix="searchd-metrics-snaps-")
        self.addCleanup(shutil.rmtree, snaps, True)
        # no flush by time: the documents sit in memory until the snapshot asks for one
        d = self.start_daemon(extra_args=["--flush-ms", "600000", "--snapshot-dir", snaps,
                                          "--memory-limit", "256m"])
        h = d.http()
        for i in range(3):  # one after the other: three group commits, three segments
            self.assertOk(h.request("POST", "/docs?index=books",
                                    body={"id": "f%d" % i, "title": "fsync %d" % i}).json)
        _, s = scrape(d)
        fsync = "searchd_index_wal_fsync_duration_seconds"
        self.assertEqual(self.assertHistogram(s, fsync, index="books"), 3.0)
        self.assertGreater(value(s, fsync + "_sum", index="books"), 0.0)
        self.assertEqual([le for le, _ in buckets(s, fsync, index="books")][:2], [5e-05, 1e-04])
        self.assertEqual(value(s, "searchd_index_wal_records_total", index="books"), 3.0)
        self.assertGreater(value(s, "searchd_index_wal_synced_bytes_total", index="books"), 30)
        # memory while the documents are only in memory
        self.assertEqual(value(s, "searchd_index_memory_docs", index="books"), 3.0)
        # one segment a group commit, until the memory merger makes them one
        self.assertIn(value(s, "searchd_index_memory_segments", index="books"), (1.0, 2.0, 3.0))
        mem = value(s, "searchd_index_memory_bytes", index="books")
        self.assertGreater(mem, 0.0)
        self.assertGreaterEqual(value(s, "searchd_engine_memory_bytes"), mem)
        self.assertEqual(value(s, "searchd_engine_memory_limit_bytes"), 256.0 * (1 << 20))
        # queue depths: present, never negative
        for name, labels in (("searchd_worker_queue_requests", {}),
                             ("searchd_connection_output_bytes", {}),
                             ("searchd_connection_unfinished_bytes", {}),
                             ("searchd_index_queued_writes", {"index": "books"}),
                             ("searchd_index_queued_write_bytes", {"index": "books"})):
            self.assertIn(frozenset(labels.items()), s[name], name)
            self.assertGreaterEqual(value(s, name, **labels), 0.0, name)
        # the same memory in the index's JSON stats, on both protocols
        st = h.get("/indexes/books").json["stats"]
        self.assertGreater(st["mem_bytes"], 0)
        self.assertGreater(st["engine_memory_bytes"], 0)
        self.assertEqual(st["engine_memory_limit"], 256 << 20)
        with d.line() as c:
            a = self.assertOk(c.call({"op": "stats", "index": "books"}))
            self.assertGreater(a["mem_bytes"], 0)
            self.assertEqual(a["engine_memory_limit"], 256 << 20)

        # writes pause: the three in-memory segments become one (a memory merge), timed
        merge = "searchd_index_merge_duration_seconds"
        merged = harness.wait_until(
            lambda: value(scrape(d)[1], "searchd_index_merges_total", index="books") >= 1,
            harness.IO_TIMEOUT)
        self.assertTrue(merged, "no merge of the in-memory segments")
        _, s = scrape(d)
        self.assertGreaterEqual(self.assertHistogram(s, merge, index="books"),
                                value(s, "searchd_index_merges_total", index="books"))
        self.assertGreater(value(s, merge + "_sum", index="books"), 0.0)

        # a snapshot flushes what is in memory first: the flush is timed
        self.assertOk(h.request("POST", "/indexes/books/snapshot", body={"name": "m1"}).json)
        _, s = scrape(d)
        flush = "searchd_index_flush_duration_seconds"
        self.assertGreaterEqual(value(s, "searchd_index_flushes_total", index="books"), 1.0)
        self.assertGreaterEqual(self.assertHistogram(s, flush, index="books"), 1.0)
        self.assertGreater(value(s, flush + "_sum", index="books"), 0.0)
        self.assertEqual(value(s, "searchd_index_memory_bytes", index="books"), 0.0)
        self.assertEqual(value(s, "searchd_index_memory_segments", index="books"), 0.0)
        h.close()

    def test_head_and_wrong_method(self):
        d = self.start_daemon()
        h = d.http()
        r = h.request("HEAD", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertGreater(int(r.headers["Content-Length"]), 100)
        r = h.request("POST", "/metrics", body="x")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers["Allow"], "GET, HEAD")
        self.assertError(r.json, "method_not_allowed")
        h.close()

    def test_preflights_counted_as_preflight_allowed_or_refused(self):
        """A refused CORS preflight (403 forbidden_origin) was counted as op="none", as if it
        had not parsed; an allowed one as op="preflight". Both are preflights now."""
        d = self.start_daemon(extra_args=["--cors-origins", "https://ok.example"])
        h = d.http()
        for origin, status in (("https://ok.example", 204), ("https://evil.example", 403)):
            r = h.request("OPTIONS", "/search", headers={"Origin": origin,
                                                         "Access-Control-Request-Method": "GET"})
            self.assertEqual(r.status, status, r)
        h.close()
        _, after = scrape(d)
        req = "searchd_requests_total"
        self.assertEqual(value(after, req, proto="http", op="preflight", code="204"), 1.0)
        self.assertEqual(value(after, req, proto="http", op="preflight", code="403"), 1.0)
        self.assertEqual(value(after, req, proto="http", op="none", code="403"), 0.0)

    def test_refused_connections_counted_by_reason(self):
        d = self.start_daemon(extra_args=["--max-line-connections", "1"])
        busy = socket.create_connection(d.line_addr, timeout=harness.IO_TIMEOUT)
        # a request under way (not idle, so not evicted); the answer to the one before it says
        # the server has read both, as they went in one segment
        busy.sendall(b'{"op":"health"}\n{"op":"sta')
        self.assertIn(b'"ok":true', busy.makefile("rb").readline())
        try:
            _, first = scrape(d)
            self.assertEqual(value(first, "searchd_connections", proto="line"), 1.0)
            with d.line() as c:
                self.assertError(c.recv(), "busy")
            _, after = scrape(d)
            self.assertEqual(value(after, "searchd_connections_rejected_total", proto="line",
                                   reason="max_protocol_connections"), 1.0)
        finally:
            busy.close()

    def test_needs_search_or_admin_key_when_keys_on(self):
        d = self.start_daemon(extra_args=["--admin-keys", sha(ADMIN), "--search-keys",
                                          sha(SEARCH)])
        r, _ = scrape(d)
        self.assertEqual(r.status, 401)
        self.assertError(r.json, "unauthorized")
        r, _ = scrape(d, key="not-a-key")
        self.assertEqual(r.status, 401)
        for key in (SEARCH, ADMIN):
            r, samples = scrape(d, key=key)
            self.assertEqual(r.status, 200)
            self.assertEqual(value(samples, "searchd_requests_total", proto="http", op="metrics",
                                   code="401"), 2.0)
            self.assertNotIn(key, r.body.decode())


if __name__ == "__main__":
    harness.main()
