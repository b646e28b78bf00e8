#!/usr/bin/env python3
"""test_durability.py: an acknowledged write survives kill -9; SIGTERM is clean; new documents
become searchable quickly.

  * import the sample with searchq, kill -9 the moment searchq reports success, restart on the
    same data directory: every document is gettable (identical) and searchable, and the same
    queries give the same answers as before the kill;
  * a writer adds documents one at a time and records each acknowledgement; searchd is killed
    at a random moment; after the restart every acknowledged document is there, and at most the
    one request in flight at the kill is extra (three rounds on one directory);
  * SIGTERM while pipelined writes are in flight: exit status 0, and every write that was
    acknowledged is there after a restart;
  * a new document is searchable within 1 second of its acknowledgement (PROTOCOL.md promises
    100 ms; the test allows the issue's 1 s), over the line protocol and HTTP.
"""

import os
import random
import re
import threading
import time

import harness
from harness import E2ETestCase, describe, run_searchq

QUERIES = ["цифровая дипломатия", "дипломатию", "industrial revolutions", "coffee OR tea",
           '"industrial revolution"', "world", "title:coffee", "photosynth*", "revolution -french",
           "года"]


def title_query(doc):
    """Two words of a document's title, as a query that must find it."""
    words = [w for w in re.findall(r"\w+", doc["title"]) if len(w) >= 4 and not w.isdigit()]
    return " ".join(words[:2])


class DurabilityTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.sample = harness.load_jsonl(os.path.join(harness.CONFIG.sample, "docs.jsonl"))
        self.rng = random.Random(int(os.environ.get("SEARCHD_E2E_SEED", time.time_ns())))

    # ---- helpers ----

    def answers(self, daemon, queries):
        """{query: (total, [ids])} for each query, limit 1000."""
        out = {}
        with daemon.line() as c:
            for q in queries:
                a = self.assertOk(c.call({"op": "search", "q": q, "limit": 1000}), q)
                out[q] = (a["total"], [h["id"] for h in a["hits"]])
        return out

    def get_all(self, daemon, ids, index=None):
        """{id: doc or None}, with the gets pipelined on one connection."""
        out = {}
        extra = {"index": index} if index else {}
        with daemon.line() as c:
            ids = list(ids)
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                c.send_raw(b"".join(c.encode(dict(op="get", id=d, **extra)) for d in chunk))
                for doc_id in chunk:
                    a = c.recv()
                    if a.get("ok"):
                        out[doc_id] = a["doc"]
                    else:
                        self.assertError(a, "not_found", "get %s" % doc_id)
                        out[doc_id] = None
        return out

    def docs_count(self, daemon, index=None):
        with daemon.line() as c:
            return self.assertOk(c.call(dict(op="stats", **({"index": index} if index else {}))
                                        ))["docs"]

    def assert_all_present(self, daemon, docs, what, index=None):
        got = self.get_all(daemon, [d["id"] for d in docs], index)
        missing = [d["id"] for d in docs if got[d["id"]] is None]
        self.assertEqual(missing, [], "%s: acknowledged documents lost" % what)
        changed = [d["id"] for d in docs if got[d["id"]] != d]
        self.assertEqual(changed, [], "%s: documents came back different" % what)

    # ---- tests ----

    def test_kill9_right_after_acknowledged_import(self):
        d = self.start_daemon()
        cp = run_searchq(["import"] + harness.sample_files(), d)
        d.kill9()  # searchq has exited: every batch was acknowledged
        self.assertEqual(cp.returncode, 0, describe(cp))
        d.start()
        expected_count = len(self.sample) + len(harness.sample_files()) - 1
        self.assertEqual(self.docs_count(d), expected_count, "docs after kill -9 and restart")
        self.assert_all_present(d, self.sample, "kill -9 after import")
        with d.line() as c:
            for doc in self.sample:
                q = title_query(doc)
                a = self.assertOk(c.call({"op": "search", "q": q, "limit": 1000}), q)
                self.assertIn(doc["id"], [h["id"] for h in a["hits"]],
                              "%s not found by %r after restart" % (doc["id"], q))
        before = self.answers(d, QUERIES)
        d.kill9()
        d.start()
        self.assertEqual(self.answers(d, QUERIES), before, "answers changed across a restart")

    def test_kill9_after_upsert_and_delete_keeps_latest_state(self):
        d = self.start_daemon()
        with d.line() as c:
            for req in ({"op": "add", "doc": {"id": "x", "title": "alpaca", "body": "version 1"}},
                        {"op": "add", "doc": {"id": "x", "title": "bison", "body": "version 2"}},
                        {"op": "add", "doc": {"id": "y", "title": "camel", "body": "version 1"}},
                        {"op": "add", "doc": {"id": "z", "title": "dingo", "body": "version 1"}},
                        {"op": "delete", "id": "z"}):
                self.assertOk(c.call(req), repr(req))
        d.kill9()
        d.start()
        got = self.get_all(d, ["x", "y", "z"])
        self.assertEqual(got["x"], {"id": "x", "title": "bison", "body": "version 2"},
                         "an acknowledged upsert did not survive kill -9")
        self.assertEqual(got["y"], {"id": "y", "title": "camel", "body": "version 1"})
        self.assertIsNone(got["z"], "an acknowledged delete did not survive kill -9")
        self.assertEqual(self.docs_count(d), 2)
        hits = self.answers(d, ["bison", "alpaca", "dingo"])
        self.assertEqual(hits, {"bison": (1, ["x"]), "alpaca": (0, []), "dingo": (0, [])})

    def test_kill9_after_batch_delete_keeps_it_whole(self):
        # delete with "ids" (line protocol), POST /docs/delete (HTTP) and searchq delete with
        # several ids: one write each, its answer counting the ids that were there and those
        # that were not; acknowledged, it survives kill -9 whole.
        d = self.start_daemon()
        docs = [{"id": "b%d" % i, "title": "batch %d" % i} for i in range(40)]
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "docs": docs}))
            a = c.call({"op": "delete", "ids": ["b%d" % i for i in range(0, 20)] + ["nope", 7]})
            self.assertEqual(a, {"ok": True, "deleted": 20, "not_found": 2}, a)
            self.assertError(c.call({"op": "delete", "ids": []}), "bad_request")
            self.assertError(c.call({"op": "delete", "id": "b30", "ids": ["b31"]}),
                             "bad_request")
        http = d.http()
        try:
            r = http.request("POST", "/docs/delete",
                             {"ids": ["b%d" % i for i in range(20, 30)] + ["b0"]})
            self.assertEqual((r.status, r.json), (200, {"ok": True, "deleted": 10,
                                                        "not_found": 1}), r)
        finally:
            http.close()
        cp = run_searchq(["delete", "b30", "b31", "nope"], d)  # several ids: one request
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("deleted 2 of 3 documents (1 not found)", cp.stdout.decode(), describe(cp))
        d.kill9()
        d.start()
        got = self.get_all(d, [doc["id"] for doc in docs])
        self.assertEqual(sorted(k for k, v in got.items() if v is not None),
                         sorted("b%d" % i for i in range(32, 40)))
        self.assertEqual(self.docs_count(d), 8)

    def test_kill9_during_stream_of_single_adds(self):
        d = self.start_daemon()
        acked = []  # documents whose add was acknowledged, in order
        for rnd in range(3):
            inflight = []
            stop = threading.Event()
            base = len(acked) + 1000 * rnd

            def writer():
                try:
                    with d.line() as c:
                        for n in range(base, base + 100000):
                            doc = {"id": "s-%d" % n, "title": "stream %d" % n,
                                   "body": "streamdoc version 1 item%d" % n}
                            inflight[:] = [doc]
                            a = c.call({"op": "add", "doc": doc})
                            if not a.get("ok"):
                                break
                            acked.append(doc)
                            inflight[:] = []
                except (OSError, harness.ConnectionClosed):
                    pass  # the kill
                finally:
                    stop.set()

            t = threading.Thread(target=writer)
            t.start()
            time.sleep(self.rng.uniform(0.05, 0.6))
            d.kill9()
            t.join(30)
            self.assertTrue(stop.is_set(), "writer did not stop after the kill")
            d.start()
            what = "round %d (kill after %d acks)" % (rnd, len(acked))
            self.assert_all_present(d, acked, what)
            count = self.docs_count(d)
            extra = count - len(acked)
            self.assertIn(extra, (0, len(inflight)) if inflight else (0,),
                          "%s: %d docs, %d acknowledged, in flight %r"
                          % (what, count, len(acked), inflight))
            if extra:  # the in-flight add landed: it is a full, correct document
                self.assert_all_present(d, inflight, what + " in-flight doc")
                acked.extend(inflight)
            with d.line() as c:
                a = self.assertOk(c.call({"op": "search", "q": "streamdoc", "limit": 0}))
            self.assertEqual(a["total"], count, "%s: searchable docs != stored docs" % what)

    def test_sigterm_exits_0_and_restart_has_everything(self):
        d = self.start_daemon()
        cp = run_searchq(["import", os.path.join(harness.CONFIG.sample, "docs.jsonl")], d)
        self.assertEqual(cp.returncode, 0, describe(cp))
        harness.wait_docs(d, len(self.sample))
        before = self.answers(d, QUERIES)
        # Pipelined writes, and SIGTERM before reading any answer. They go to another index so
        # that the default index's statistics, and so its rankings, stay as they were.
        extra = [{"id": "t-%d" % i, "title": "term %d" % i, "body": "sigterm body"}
                 for i in range(40)]
        c = d.line()
        c.send_raw(b"".join(c.encode({"op": "add", "index": "late", "doc": doc})
                            for doc in extra))
        time.sleep(0.01)
        d.proc.send_signal(15)
        acked = []
        try:
            for doc in extra:
                a = c.recv()
                if a.get("ok"):
                    acked.append(doc)
                else:
                    self.assertError(a, "busy", "a write refused at shutdown")
        except (OSError, harness.ConnectionClosed):
            pass
        finally:
            c.close()
        rc = d.term(timeout=60)
        self.assertEqual(rc, 0, "searchd must exit 0 after SIGTERM")
        d.start()
        self.assert_all_present(d, self.sample, "after SIGTERM")
        self.assertEqual(self.docs_count(d), len(self.sample))
        if acked:
            self.assert_all_present(d, acked, "after SIGTERM, pipelined writes", index="late")
            count = self.docs_count(d, "late")
            # Writes never answered may or may not have been applied, but nothing else appears.
            self.assertGreaterEqual(count, len(acked))
            self.assertLessEqual(count, len(extra))
        print("\nSIGTERM: %d of %d pipelined writes acknowledged" % (len(acked), len(extra)))
        after = self.answers(d, QUERIES)
        for q in QUERIES:
            self.assertEqual(after[q], before[q], "answer to %r changed across SIGTERM" % q)

    def test_new_document_searchable_within_1s(self):
        d = self.start_daemon()
        run_searchq(["import", os.path.join(harness.CONFIG.sample, "docs.jsonl")], d)
        http = d.http()
        self.addCleanup(http.close)
        worst = 0.0
        with d.line() as c:
            for i in range(20):
                word = "fresh%dword" % i
                doc = {"id": "nrt-%d" % i, "title": "Near real time %d" % i, "body": word}
                if i % 2:
                    r = http.request("POST", "/docs", doc)
                    self.assertEqual(r.status, 200, r)
                else:
                    self.assertOk(c.call({"op": "add", "doc": doc}))
                acked_at = time.monotonic()
                found = harness.wait_until(lambda: [h["id"] for h in c.call(
                    {"op": "search", "q": word})["hits"]], 1.0, interval=0.005)
                took = time.monotonic() - acked_at
                worst = max(worst, took)
                self.assertEqual(found, [doc["id"]],
                                 "doc %d not searchable %.3f s after its ack" % (i, took))
        print("\nnear-real-time: worst %.0f ms from ack to searchable" % (worst * 1000))


if __name__ == "__main__":
    harness.main()
