"""test_memcap.py: the memory limit under a bulk import (issue 13 item 7).

searchd runs with --memory-limit 32m. Two clients import 24000 documents of about 2 KB
(~50 MB of JSON; 5000 in the ASan+UBSan pass, see SANITIZED) in pipelined batches, as fast as
the server takes them, and retry a batch answered `busy` (503 on HTTP) after a pause. Every
batch ends acknowledged, the index holds every document, searches are answered throughout, and
the daemon's anonymous memory (RssAnon: the heap, what the engine allocates) never passes the
limit plus OVERHEAD, the part memcap.c does not count (request parsing, thread arenas, a
search's scratch, libevent buffers).
RSS as a whole also holds the pages of mapped segment files (RssFile: page cache the kernel
reclaims, growing with the index); it is printed, not bounded.

The counted memory itself never passes the limit (memcap.c, THE BOUND; it did, by up to 60%,
on repeated imports under 8m and 16m): under --memory-limit 8m, `searchq import` of the same
file again and again (each run retried after a pause when a batch is answered busy, as the
tester did) beside a client that pipelines batches and typo searches, stats read every 50 ms;
neither a sample of engine_memory_bytes nor engine_memory_peak_bytes (every charge raises it)
passes the limit. A write that could never fit is bad_request, not busy.

The run measured (2 cores shared): see README "Operating" (memory limit).

test_issue_searchq_import_*: `searchq import` against --memory-limit 8m (the least), with a file
of 6000 documents of ~2 KB (~12 MB) sent as pipelined 1 MB batches, which that limit cannot take
at the rate they come (the import must report busy answers, or the test says the limit did not
bite). With retries every document is stored, each id with the version of its last line (ids
repeat 600 lines later, across batches); with --busy-wait 0 the import gives up at the first busy
round and prints the ranges not stored, which are exactly the documents missing.
"""

import itertools
import json
import os
import random
import re
import tempfile
import threading
import time

import harness

LIMIT_MB = 32
# The ASan+UBSan pass (ASAN_OPTIONS set, as in scripts/test.sh and the harness's TIME_SCALE)
# cannot check the RSS bound (RssAnon is then mostly ASan's shadow and quarantine), so the bulk
# import there is a fifth as long: still 10 MB of JSON into 32m (busy answers are not required
# here; the 8m tests below make sure of them), for what that pass checks: every batch
# acknowledged, every document stored, searches answered throughout, no sanitizer report.
SANITIZED = harness.SANITIZED
# Measured 25-40 MiB over the limit on this import (RssAnon 57-72 MiB; 197 MiB without a
# limit): malloc's arenas keep their high-water marks (the writer's holds the in-memory
# segments and the builder, /proc/PID/smaps), the main heap ~8 MiB (request parsing), and
# what the counter lets pass the limit while it is in flight (memcap.c). The bound has margin.
OVERHEAD_MB = 64
DOCS = 5000 if SANITIZED else 24000
# The 8m test: runs of `searchq import` and the documents pipelined beside them (fewer under
# ASan+UBSan, where each costs about four times as much CPU; every stats sample still judged).
IMPORTS_8M = 2 if SANITIZED else 3
PIPELINED_8M = 2000 if SANITIZED else 3000
BATCH = 200
WORDS = ["w%05d" % i for i in range(20000)]


def make_doc(i):
    rnd = random.Random(i)
    return {"id": "d%d" % i, "title": "doc %d" % i,
            "body": " ".join(rnd.choice(WORDS) for _ in range(300))}


def rss_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


class Importer(threading.Thread):
    """Sends its batches pipelined (up to `depth` unanswered) and resends a batch answered
    busy after a pause, as a client of a loaded server should."""

    def __init__(self, daemon, batches, depth=16):
        super().__init__(daemon=True)
        self.index = "bulk"
        self.client = daemon.line()
        self.todo = list(batches)
        self.depth = depth
        self.busy = 0
        self.error = None

    def run(self):
        try:
            inflight = []
            while self.todo or inflight:
                while self.todo and len(inflight) < self.depth:
                    b = self.todo.pop(0)
                    self.client.send({"op": "add", "index": self.index,
                                      "docs": [make_doc(i) for i in range(b * BATCH,
                                                                          (b + 1) * BATCH)]})
                    inflight.append(b)
                a = self.client.recv()
                b = inflight.pop(0)
                if a.get("ok"):
                    continue
                if a.get("error", {}).get("code") != "busy":
                    raise AssertionError("batch %d: %r" % (b, a))
                self.busy += 1
                self.todo.insert(0, b)
                time.sleep(0.05)
        except Exception as e:
            self.error = e
        finally:
            self.client.close()


class MemcapTest(harness.E2ETestCase):
    def test_bulk_import_under_32m_completes_with_rss_bounded(self):
        d = self.start_daemon(extra_args=["--memory-limit", "%dm" % LIMIT_MB])
        pid = d.proc.pid
        peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
        searches = []
        done = threading.Event()

        def monitor():
            h = d.http()
            while not done.is_set():
                for k, v in rss_kb(pid).items():
                    peak[k] = max(peak[k], v)
                r = h.search("w00001", limit=1)
                searches.append(r.status)
                time.sleep(0.05)
            h.close()

        m = threading.Thread(target=monitor, daemon=True)
        m.start()
        nb = DOCS // BATCH
        importers = [Importer(d, range(k, nb, 2)) for k in range(2)]
        t0 = time.monotonic()
        for w in importers:
            w.start()
        for w in importers:
            w.join(600 * harness.TIME_SCALE)
        secs = time.monotonic() - t0
        done.set()
        m.join(30)
        self.assertEqual([w.error for w in importers], [None, None])
        self.assertEqual(harness.wait_docs(d, DOCS, index="bulk"), DOCS)
        self.assertTrue(searches and all(s == 200 for s in searches),
                        "searches failed during the import: %r" % sorted(set(searches)))
        print("memory-limit %d MiB: %d docs in %.1f s, %d busy answers retried, peak "
              "RssAnon %.1f MiB, VmRSS %.1f MiB, RssFile %.1f MiB, %d searches"
              % (LIMIT_MB, DOCS, secs, sum(w.busy for w in importers),
                 peak["RssAnon"] / 1024, peak["VmRSS"] / 1024, peak["RssFile"] / 1024,
                 len(searches)))
        with open("/proc/%d/maps" % pid) as f:
            sanitized = "libasan" in f.read()  # ASan's shadow and quarantine are not ours
        if not sanitized:
            self.assertLessEqual(peak["RssAnon"], (LIMIT_MB + OVERHEAD_MB) * 1024,
                                 "anonymous memory over the limit plus overhead")
        self.assertEqual(d.term(), 0)

    # ---- searchq import under busy answers ----

    IMPORT_LINES = 6000
    # The retry test's file under ASan+UBSan: 4000 lines, where the slower writer still falls
    # behind 1 MB batches (4 busy answers at 3000 in a run measured; the test fails if none).
    # The --busy-wait 0 test needs the whole file: at 3000 it once met no busy answer.
    RETRY_LINES = 4000 if SANITIZED else IMPORT_LINES
    REPEAT_EVERY, REPEAT_BACK = 7, 600  # line j (j % 7 == 0) reuses the id of line j - 600

    def import_file(self, tmp, repeats, lines=IMPORT_LINES):
        """Writes the .jsonl; returns its path, and each line's document (index 0 is line 1)."""
        rnd = random.Random(3)
        docs = []
        for j in range(1, lines + 1):
            doc_id = "m%d" % j
            if repeats and j % self.REPEAT_EVERY == 0 and j > self.REPEAT_BACK:
                doc_id = docs[j - self.REPEAT_BACK - 1]["id"]
            docs.append({"id": doc_id, "title": "line %d" % j,
                         "body": " ".join(rnd.choice(WORDS) for _ in range(330))})
        path = os.path.join(tmp, "busy.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps(doc) + "\n")
        return path, docs

    def stored_docs(self, d, ids):
        """{id: stored document or None}, read with pipelined gets."""
        out = {}
        with d.line() as c:
            ids = sorted(set(ids))
            for k in range(0, len(ids), 500):
                chunk = ids[k:k + 500]
                for i in chunk:
                    c.send({"op": "get", "id": i})
                for i in chunk:
                    a = c.recv()
                    out[i] = a["doc"] if a.get("ok") else None
        return out

    def test_issue_searchq_import_retries_busy_and_keeps_file_order(self):
        d = self.start_daemon(extra_args=["--memory-limit", "8m"])
        with tempfile.TemporaryDirectory() as tmp:
            path, docs = self.import_file(tmp, repeats=True, lines=self.RETRY_LINES)
            cp = harness.run_searchq(["--json", "import", path], daemon=d,
                                     timeout=600 * harness.TIME_SCALE)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        out, err = harness.decode(cp)
        summary = json.loads(out)
        self.assertGreater(summary["busy"], 0, "the memory limit never refused a batch: "
                           "the test does not test the retries\n" + harness.describe(cp))
        self.assertIn("server is busy", err)
        expected = {}
        for doc in docs:  # the file in order: the last line of an id wins
            expected[doc["id"]] = doc
        self.assertLess(len(expected), len(docs))
        self.assertEqual((summary["docs"], summary["added"]), (len(docs), len(expected)))
        self.assertEqual(harness.wait_docs(d, len(expected), timeout=harness.IO_TIMEOUT),
                         len(expected))
        stored = self.stored_docs(d, expected)
        wrong = [i for i, doc in expected.items() if stored[i] != doc]
        self.assertEqual(wrong, [], "documents missing or not their last version")
        print("import under --memory-limit 8m: %d busy answers, all %d documents stored"
              % (summary["busy"], len(expected)))

    def test_issue_searchq_import_busy_wait_0_reports_what_is_not_stored(self):
        d = self.start_daemon(extra_args=["--memory-limit", "8m"])
        with tempfile.TemporaryDirectory() as tmp:
            path, docs = self.import_file(tmp, repeats=False)
            note = os.path.join(tmp, "after.md")
            with open(note, "w", encoding="utf-8") as f:
                f.write("# After the big file\n\nnever sent\n")
            cp = harness.run_searchq(["--busy-wait", "0", "import", path, note], daemon=d,
                                     timeout=600 * harness.TIME_SCALE)
        out, err = harness.decode(cp)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("server error busy", err, harness.describe(cp))
        self.assertIn("searchq: not stored: %s\n" % note, err)
        missing = set()
        for first, last in re.findall(r"not stored: %s:(\d+)(?:-(\d+))?\n" % re.escape(path),
                                      err):
            missing.update(range(int(first), int(last or first) + 1))
        self.assertTrue(missing, harness.describe(cp))
        self.assertNotIn("maybe stored", err)
        m = re.search(r"the server stored (\d+) of the (\d+) documents", err)
        self.assertEqual((int(m.group(1)), int(m.group(2))),
                         (len(docs) - len(missing), len(docs) + 1), harness.describe(cp))
        stored = self.stored_docs(d, [doc["id"] for doc in docs] + ["after"])
        self.assertIsNone(stored["after"])
        wrong = [j for j, doc in enumerate(docs, 1)
                 if stored[doc["id"]] != (None if j in missing else doc)]
        self.assertEqual(wrong, [], "lines whose fate is not the one reported")

    def test_imports_under_8m_never_pass_the_limit(self):
        limit = 8 << 20
        d = self.start_daemon(extra_args=["--memory-limit", "8m"])
        path = os.path.join(d.data_dir, "..", "memcap-import-%d.jsonl" % os.getpid())
        with open(path, "w", encoding="utf-8") as f:
            for i in range(1500):
                f.write(json.dumps(make_doc(i)) + "\n")
        self.addCleanup(os.unlink, path)
        samples, searches = [], []
        done = threading.Event()

        def sample():
            with d.line() as c:
                while not done.is_set():
                    a = c.call({"op": "stats", "index": "imp"})
                    if a.get("ok"):
                        samples.append((a["engine_memory_bytes"], a["merges_running"]))
                    time.sleep(0.05)

        def search():
            with d.line() as c:
                for n in itertools.count():
                    if done.is_set():
                        break
                    q = ["w0001", "w0a012", "w00x17 w00018"][n % 3]  # typo readings
                    a = c.call({"op": "search", "index": "imp", "q": q})
                    if a.get("error", {}).get("code") != "unknown_index":  # before the first add
                        searches.append(a.get("ok") or a)
                    time.sleep(0.01)

        threads = [threading.Thread(target=t, daemon=True) for t in (sample, search)]
        for t in threads:
            t.start()
        pipelined = Importer(d, range(60, 60 + PIPELINED_8M // BATCH))
        pipelined.index = "imp"
        pipelined.start()
        deadline = time.monotonic() + 300 * harness.TIME_SCALE
        runs = busy_runs = 0
        while runs < IMPORTS_8M and time.monotonic() < deadline:
            cp = harness.run_searchq(["--index", "imp", "import", path], daemon=d,
                                     timeout=120 * harness.TIME_SCALE)
            if cp.returncode == 0:
                runs += 1
                continue
            out, err = harness.decode(cp)
            self.assertIn("busy", err, harness.describe(cp))
            busy_runs += 1
            time.sleep(0.2)
        pipelined.join(300 * harness.TIME_SCALE)
        done.set()
        for t in threads:
            t.join(30)
        self.assertEqual(runs, IMPORTS_8M, "searchq import did not get through %d times"
                         % IMPORTS_8M)
        self.assertIsNone(pipelined.error)
        with d.line() as c:
            st = c.call({"op": "stats", "index": "imp"})
        print("memory-limit 8 MiB: %d imports (%d retried for busy), %d stats samples, largest "
              "%d, peak %d of %d, %d searches"
              % (runs, busy_runs, len(samples), max(s for s, _ in samples),
                 st["engine_memory_peak_bytes"], limit, len(searches)))
        self.assertTrue(samples)
        over = [s for s in samples if s[0] > limit]
        self.assertEqual(over, [], "stats over the limit (bytes, merges_running)")
        self.assertLessEqual(st["engine_memory_peak_bytes"], limit)
        self.assertEqual(st["engine_memory_limit"], limit)
        self.assertTrue(searches)
        self.assertEqual([a for a in searches if a is not True], [], "searches failed")
        self.assertEqual(harness.wait_docs(d, 1500 + PIPELINED_8M, index="imp"),
                         1500 + PIPELINED_8M)

    def test_write_that_can_never_fit_is_bad_request_not_busy(self):
        d = self.start_daemon(extra_args=["--memory-limit", "8m"])
        words = ["".join(chr(97 + (i // 26 ** k) % 26) for k in range(4)) + "q"
                 for i in range(30000)]  # distinct: about 10 MB to index
        with d.line() as c:
            a = c.call({"op": "add", "index": "big", "docs": [
                {"id": "huge", "body": " ".join(words)}]})
            self.assertEqual(a.get("error", {}).get("code"), "bad_request", a)
            self.assertIn("memory-limit", a["error"]["message"])
            docs = [make_doc(i) for i in range(4000)]  # 8 MB of records in one write
            a = c.call({"op": "add", "index": "big", "docs": docs})
            self.assertEqual(a.get("error", {}).get("code"), "bad_request", a)
            self.assertIn("smaller batches", a["error"]["message"])
            a = c.call({"op": "add", "index": "big", "docs": docs[:100]})
            self.assertTrue(a.get("ok"), a)

    def test_bad_limits_are_refused(self):
        for bad in ("1m", "12q", "-5", "1.5g"):
            dmn = self.new_daemon(extra_args=["--memory-limit", bad])
            with self.assertRaises(harness.DaemonError) as ctx:
                dmn.start()
            self.assertIn("memory-limit", str(ctx.exception))


if __name__ == "__main__":
    harness.main()
