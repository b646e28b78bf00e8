#!/usr/bin/env python3
"""test_unavailable.py: one index that cannot open no longer stops the whole daemon.

A data directory holds two indexes, `good` and `bad`, built through searchd. `bad` is then
damaged the way docs/DATA.md, "Damage", says refuses its open: a flipped byte in its MANIFEST,
or (the other variant) an acknowledged record cut out of the middle of its log (a seq gap).
Before this change searchd refused to start at all (event=open_failed, exit 1). Now:

  * `searchd --check` fails naming the file, as before;
  * searchd starts and logs `event=index_unavailable index=bad msg="..."` at error, with
    --check's very message;
  * `good` answers search, get, add and delete over both protocols;
  * every request naming `bad` (search, get, add, delete, stats, get/set settings,
    create_index, drop_index, snapshot) answers `index_unavailable` (HTTP 503) with that
    message, on both protocols;
  * /health (both protocols) is `degraded`, 503, with "unavailable":1 and the message;
    `indexes` lists `bad` as unavailable; /metrics has searchd_indexes_unavailable 1;
  * no byte of `bad`'s directory changed through the start, all those requests and the stop
    (every file hashed before and after);
  * with the right file put back, a restart serves `bad` whole again, and /health is ok.
"""

import os
import re
import tempfile
import shutil
import urllib.parse

import harness
from harness import E2ETestCase
from recovery_util import (call, check, doc, fingerprint, last_log, log_records,
                           unavailable_logged)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def check_message(data_dir, index):
    """--check's FAIL messages for index (it must fail)."""
    cp = check(data_dir)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    return re.findall(r"^FAIL index=%s (.*)$" % re.escape(index), cp.stdout, re.M)


class UnavailableTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.snaps = tempfile.mkdtemp(prefix="searchd-snaps-")
        self.addCleanup(shutil.rmtree, self.snaps, True)
        self.d = self.new_daemon(extra_args=["--snapshot-dir", self.snaps])
        self.bad_dir = os.path.join(self.d.data_dir, "bad")

    def build(self, log_only_in_bad=False):
        """good and bad with 10 documents each in a segment; with log_only_in_bad, 6 more
        acknowledged writes to bad that are only in its log (kill -9)."""
        d = self.d
        d.start()
        for index in ("good", "bad"):
            self.assertOk(call(d, {"op": "add", "index": index,
                                   "docs": [doc(i, index + "word") for i in range(10)]}))
        self.assertEqual(d.term(), 0)
        if log_only_in_bad:
            d.start()
            for i in range(10, 16):
                self.assertOk(call(d, {"op": "add", "index": "bad", "doc": doc(i, "badword")}))
            d.kill9()

    def assert_good_served(self):
        d = self.d
        with d.line() as c:
            a = self.assertOk(c.call({"op": "search", "index": "good", "q": "goodword"}))
            self.assertEqual(a["total"], 10)
            self.assertOk(c.call({"op": "get", "index": "good", "id": "r-1"}))
            self.assertOk(c.call({"op": "add", "index": "good", "doc": doc(50, "goodword")}))
            self.assertOk(c.call({"op": "delete", "index": "good", "id": "r-50"}))
        h = d.http()
        r = h.search("goodword", index="good")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["total"], 10)
        self.assertEqual(h.get(h.doc_path("r-2", "good")).status, 200)
        r = h.request("POST", "/docs?index=good", body=doc(51, "goodword"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(h.request("DELETE", h.doc_path("r-51", "good")).status, 200)
        r = h.get("/stats?index=good")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["docs"], 10)
        self.assertFalse(r.json["degraded"])
        h.close()

    def assert_refused(self, answer, msg, what):
        self.assertError(answer, "index_unavailable", what)
        self.assertEqual(answer["error"]["message"], msg, what)

    def assert_bad_refused(self, msg):
        d = self.d
        line_reqs = [
            {"op": "search", "index": "bad", "q": "badword"},
            {"op": "get", "index": "bad", "id": "r-1"},
            {"op": "add", "index": "bad", "doc": doc(99, "late")},
            {"op": "delete", "index": "bad", "id": "r-1"},
            {"op": "delete", "index": "bad", "ids": ["r-1", "r-2"]},
            {"op": "stats", "index": "bad"},
            {"op": "get_settings", "index": "bad"},
            {"op": "set_settings", "index": "bad", "settings": {}},
            {"op": "create_index", "index": "bad", "settings": {}},
            {"op": "drop_index", "index": "bad"},
            {"op": "snapshot", "index": "bad", "name": "s1"},
        ]
        with d.line() as c:
            for req in line_reqs:
                self.assert_refused(c.call(req), msg, req)
        h = d.http()
        q = urllib.parse.urlencode({"q": "badword", "index": "bad"})
        http_reqs = [
            ("GET", "/search?" + q, None),
            ("GET", h.doc_path("r-1", "bad"), None),
            ("POST", "/docs?index=bad", doc(98, "late")),
            ("DELETE", h.doc_path("r-1", "bad"), None),
            ("GET", "/stats?index=bad", None),
            ("GET", "/indexes/bad", None),
            ("PUT", "/indexes/bad", {}),
            ("DELETE", "/indexes/bad", None),
            ("POST", "/indexes/bad/snapshot", {"name": "s2"}),
        ]
        for method, path, body in http_reqs:
            r = h.request(method, path, body=body)
            self.assertEqual(r.status, 503, (method, path, r))
            self.assert_refused(r.json, msg, (method, path))
        h.close()
        self.assertEqual(os.listdir(self.snaps), [])  # no snapshot, not even a partial one

    def assert_reported(self, msg):
        d = self.d
        self.assertEqual(unavailable_logged(d), {"bad": msg})
        self.assertTrue(any("level=error event=index_unavailable index=bad" in line
                            for line in d.log))
        health = call(d, {"op": "health"})
        self.assertEqual(health["status"], "degraded", health)
        self.assertEqual(health["unavailable"], 1, health)
        self.assertEqual(health["reason"], "index bad: unavailable: " + msg)
        h = d.http()
        r = h.get("/health")
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json, health)
        r = h.get("/indexes")
        self.assertEqual(r.status, 200, r)
        listed = {i["name"]: i for i in r.json["indexes"]}
        self.assertEqual(sorted(listed), ["bad", "good"])
        self.assertEqual(listed["bad"]["state"], "unavailable")
        self.assertEqual(listed["bad"]["reason"], msg)
        self.assertEqual(listed["good"]["state"], "ok")
        self.assertEqual(listed["good"]["docs"], 10)
        text = h.get("/metrics").body.decode()
        self.assertIn("\nsearchd_indexes_unavailable 1\n", text)
        self.assertIn('searchd_index_docs{index="good"} 10\n', text)
        self.assertNotIn('{index="bad"}', text)
        h.close()

    def run_unavailable(self, expect):
        """Starts on the damaged directory and checks everything above; returns the message."""
        fails = check_message(self.d.data_dir, "bad")
        self.assertEqual(len(fails), 1, fails)
        self.assertIn(expect, fails[0])
        self.assertEqual(check_message(self.d.data_dir, "good"), [])
        before = fingerprint(self.bad_dir)
        self.d.start()
        self.assert_reported(fails[0])
        self.assert_good_served()
        self.assert_bad_refused(fails[0])
        self.assertEqual(self.d.term(), 0)
        self.assertEqual(fingerprint(self.bad_dir), before, "the unavailable index changed")
        return fails[0]

    def assert_served_again(self, docs):
        d = self.d
        d.start()
        self.assertEqual(unavailable_logged(d), {})
        a = self.assertOk(call(d, {"op": "search", "index": "bad", "q": "badword"}))
        self.assertEqual(a["total"], docs)
        self.assertOk(call(d, {"op": "add", "index": "bad", "doc": doc(99, "badword")}))
        self.assertEqual(harness.stats_docs(d, "bad"), docs + 1)
        self.assertEqual(harness.stats_docs(d, "good"), 10)
        health = call(d, {"op": "health"})
        self.assertEqual(health["status"], "ok", health)
        self.assertNotIn("unavailable", health)
        with d.line() as c:
            listed = self.assertOk(c.call({"op": "indexes"}))["indexes"]
        self.assertEqual([i["state"] for i in listed], ["ok", "ok"])
        self.assertEqual(d.term(), 0)

    def test_damaged_manifest_leaves_the_other_index_served(self):
        self.build()
        manifest = os.path.join(self.bad_dir, "MANIFEST")
        saved = read(manifest)
        data = bytearray(saved)
        data[len(data) // 2] ^= 0x10
        write(manifest, data)
        msg = self.run_unavailable("MANIFEST")
        self.assertIn(manifest, msg)
        write(manifest, saved)  # the operator puts the right file back
        self.assert_served_again(10)

    def test_log_gap_leaves_the_other_index_served(self):
        self.build(log_only_in_bad=True)
        log = last_log(self.bad_dir)
        saved = read(log)
        recs = log_records(saved)
        self.assertEqual(len(recs), 6)
        off, _, _, _, _ = recs[2]
        end = recs[3][0]
        write(log, saved[:off] + saved[end:])  # an acknowledged record cut out: a seq gap
        msg = self.run_unavailable(os.path.basename(log))
        self.assertIn("offset %d" % off, msg)
        write(log, saved)
        self.assert_served_again(16)

    def test_every_index_unavailable_still_starts(self):
        """The same rule when no index opens: searchd serves errors and a 503 /health rather
        than exit into a restart loop (docs/DATA.md, "Damage")."""
        self.build()
        for index in ("good", "bad"):
            manifest = os.path.join(self.d.data_dir, index, "MANIFEST")
            os.unlink(manifest)  # beside a segment file: refused
        before = fingerprint(self.d.data_dir)
        self.d.start()
        self.assertEqual(sorted(unavailable_logged(self.d)), ["bad", "good"])
        health = call(self.d, {"op": "health"})
        self.assertEqual(health["unavailable"], 2, health)
        for index in ("good", "bad"):
            a = call(self.d, {"op": "search", "index": index, "q": "word"})
            self.assertError(a, "index_unavailable")
            self.assertIn("MANIFEST is missing", a["error"]["message"])
        self.assertEqual(self.d.term(), 0)
        self.assertEqual(fingerprint(self.d.data_dir), before)


if __name__ == "__main__":
    harness.main()
