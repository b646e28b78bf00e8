"""test_metrics.py: GET /metrics on a real searchd, parsed by Prometheus's own text parser
(Debian's python3-prometheus-client): the counters of requests and the latency histograms move
with the requests made, the per-index gauges follow the documents written, refused connections
are counted by reason, and with keys on a scrape needs a search or admin key.
"""

import hashlib
import socket

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
