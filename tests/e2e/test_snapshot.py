"""test_snapshot.py: online snapshots (issue 13 item 6; docs/DATA.md "Snapshots").

- Under a concurrent write load (two writers, flushes and merges running), a snapshot taken
  over HTTP and one over the line protocol each pass `searchd --check`, and a searchd started
  on each has every document acknowledged before the snapshot was asked for, and none of the
  documents deleted before it.
- Bad names and paths are refused and touch nothing; so are an existing name, an unknown
  index, a daemon without --snapshot-dir, a search key, and a --snapshot-dir inside --data.
- searchq: `create`, then `snapshot INDEX SNAP` and `snapshot INDEX` (a dated name) pass
  --check; a name that is a path, a search key and a default name over 64 bytes are refused.
- kill -9 at random moments during snapshots never leaves a directory NAME that does not
  pass --check (the work happens under .NAME.partial, renamed when whole), and the next
  snapshot sweeps the leftovers.
"""

import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time

import harness

WORDS = ("river city history mountain library archive garden winter harbor market "
         "signal engine letter bridge island forest").split()


def make_doc(i, size=400):
    rnd = random.Random(i)
    body = " ".join(rnd.choice(WORDS) for _ in range(size // 6))
    return {"id": "d%d" % i, "title": "doc %d" % i, "body": body}


def check_dir(path):
    return subprocess.run([harness.CONFIG.searchd, "--check", path], capture_output=True,
                          text=True, timeout=120 * harness.TIME_SCALE)


def other_fs_dir():
    """A temporary directory on another filesystem than the data directories (tmpfs), so a
    snapshot copies rather than links; /tmp when there is none."""
    tmp = tempfile.gettempdir()
    if os.path.isdir("/dev/shm") and os.stat("/dev/shm").st_dev != os.stat(tmp).st_dev:
        return tempfile.mkdtemp(prefix="searchd-snap-", dir="/dev/shm")
    return tempfile.mkdtemp(prefix="searchd-snap-")


class Writer(threading.Thread):
    """Adds documents d<start>, d<start+step>, ... in batches over one line connection and
    records the ids whose add was acknowledged."""

    def __init__(self, daemon, start, step):
        super().__init__(daemon=True)
        self.client = daemon.line()
        self.next, self.step = start, step
        self.acked = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                ids = [self.next + k * self.step for k in range(20)]
                self.next += 20 * self.step
                a = self.client.call({"op": "add", "index": "books",
                                      "docs": [make_doc(i) for i in ids]})
                if not a.get("ok"):
                    raise AssertionError("add refused: %r" % a)
                with self.lock:
                    self.acked.update("d%d" % i for i in ids)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.client.close()

    def snapshot_of_acked(self):
        with self.lock:
            return set(self.acked)


class SnapshotTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.snaps = tempfile.mkdtemp(prefix="searchd-snaps-")
        self.addCleanup(shutil.rmtree, self.snaps, True)

    def missing_ids(self, daemon, ids):
        """The ids of `ids` a get does not find, pipelined over one connection."""
        ids = sorted(ids)
        missing = []
        with daemon.line() as c:
            for k in range(0, len(ids), 200):
                chunk = ids[k:k + 200]
                for i in chunk:
                    c.send({"op": "get", "index": "books", "id": i})
                for i in chunk:
                    if not c.recv().get("ok"):
                        missing.append(i)
        return missing

    def test_snapshot_under_write_load_checks_and_restarts_with_every_acked_doc(self):
        d = self.start_daemon(extra_args=["--snapshot-dir", self.snaps, "--flush-bytes", "256k",
                                          "--merge-factor", "2"])
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "index": "books",
                                  "docs": [make_doc(i) for i in range(1000000, 1000100)]}))
            for i in range(1000000, 1000100, 3):
                self.assertOk(c.call({"op": "delete", "index": "books", "id": "d%d" % i}))
        deleted = {"d%d" % i for i in range(1000000, 1000100, 3)}
        writers = [Writer(d, 0, 2), Writer(d, 1, 2)]
        for w in writers:
            w.start()
        acked = {}
        try:
            for name, how in (("over-http", "http"), ("over-line", "line")):
                self.assertTrue(harness.wait_until(
                    lambda: all(len(w.snapshot_of_acked()) >= 600 * (len(acked) + 1)
                                for w in writers), 60 * harness.TIME_SCALE),
                    "the writers are stuck: %r" % [w.error for w in writers])
                before = set().union(*(w.snapshot_of_acked() for w in writers))
                if how == "http":
                    h = d.http()
                    r = h.request("POST", "/indexes/books/snapshot", body={"name": name})
                    h.close()
                    self.assertEqual(r.status, 200, r)
                    a = r.json
                else:
                    with d.line() as c:
                        a = c.call({"op": "snapshot", "index": "books", "name": name})
                self.assertOk(a)
                self.assertEqual(a["path"], os.path.join(os.path.realpath(self.snaps), name))
                self.assertGreater(a["files_linked"], 0)  # same filesystem: hard links
                acked[name] = before
        finally:
            for w in writers:
                w.stop.set()
            for w in writers:
                w.join(60)
        self.assertEqual([w.error for w in writers], [None, None])
        self.assertEqual(d.term(), 0)
        for name, before in acked.items():
            path = os.path.join(self.snaps, name)
            cp = check_dir(path)
            self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
            s = self.start_daemon(data_dir=path)
            self.assertEqual(self.missing_ids(s, before), [], name)
            self.assertEqual(sorted(set(self.missing_ids(s, deleted))), sorted(deleted), name)
            s.term()

    def test_bad_names_paths_existing_unknown_and_off_are_refused(self):
        d = self.start_daemon(extra_args=["--snapshot-dir", self.snaps])
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "index": "books", "doc": make_doc(1)}))
            for bad in ("../x", "/tmp/x", "a/b", ".hidden", "-x", "", "X", "a" * 65, 7, None):
                self.assertError(c.call({"op": "snapshot", "index": "books", "name": bad}),
                                 "bad_request", repr(bad))
            self.assertError(c.call({"op": "snapshot", "index": "books"}), "bad_request")
            self.assertError(c.call({"op": "snapshot", "index": "../books", "name": "s"}),
                             "bad_request")
            self.assertError(c.call({"op": "snapshot", "index": "nosuch", "name": "s"}),
                             "unknown_index")
            self.assertEqual(os.listdir(self.snaps), [])
            self.assertOk(c.call({"op": "snapshot", "index": "books", "name": "s"}))
            a = self.assertError(c.call({"op": "snapshot", "index": "books", "name": "s"}),
                                 "bad_request")
            self.assertIn("exists", a["error"]["message"])
        h = d.http()
        for path, body in (("/indexes/books/snapshot", {"name": "../../etc"}),
                           ("/indexes/books/snapshot", {"name": "/etc/passwd"}),
                           ("/indexes/books/snapshot?index=other", {"name": "t"}),
                           ("/indexes/..%2Fbooks/snapshot", {"name": "t"})):
            r = h.request("POST", path, body=body)
            self.assertEqual(r.status, 400, (path, r))
            self.assertError(r.json, "bad_request")
        r = h.request("POST", "/indexes/nosuch/snapshot", body={"name": "t"})
        self.assertEqual(r.status, 404)
        self.assertEqual(h.request("GET", "/indexes/books/snapshot").status, 405)
        self.assertEqual(h.request("POST", "/indexes/a/b/snapshot", body={"name": "t"}).status,
                         404)
        h.close()
        self.assertEqual(sorted(os.listdir(self.snaps)), ["s"])

        off = self.start_daemon()
        with off.line() as c:
            self.assertOk(c.call({"op": "add", "index": "books", "doc": make_doc(1)}))
            a = self.assertError(c.call({"op": "snapshot", "index": "books", "name": "s"}),
                                 "bad_request")
            self.assertIn("--snapshot-dir", a["error"]["message"])

        inside = harness.Daemon(extra_args=[])
        self.daemons.append(inside)
        inside.extra_args = ["--snapshot-dir", inside.data_dir]
        with self.assertRaises(harness.DaemonError) as ctx:
            inside.start()
        self.assertIn("inside the data directory", str(ctx.exception))

    def test_search_key_may_not_snapshot(self):
        import test_keys
        d = self.start_daemon(extra_args=[
            "--snapshot-dir", self.snaps,
            "--admin-keys", test_keys.hash_key(test_keys.ADMIN),
            "--search-keys", test_keys.hash_key(test_keys.SEARCH)])
        h = d.http()
        auth = {"Authorization": "Bearer " + test_keys.ADMIN}
        self.assertOk(h.request("POST", "/docs?index=books", body=make_doc(1), headers=auth).json)
        r = h.request("POST", "/indexes/books/snapshot", body={"name": "s"},
                      headers={"Authorization": "Bearer " + test_keys.SEARCH})
        self.assertEqual(r.status, 403)
        self.assertEqual(h.request("POST", "/indexes/books/snapshot", body={"name": "s"}).status,
                         401)
        self.assertEqual(os.listdir(self.snaps), [])
        r = h.request("POST", "/indexes/books/snapshot", body={"name": "s"}, headers=auth)
        self.assertEqual(r.status, 200, r)
        h.close()

    def test_searchq_create_and_snapshot(self):
        import re
        import test_keys
        d = self.start_daemon(extra_args=[
            "--snapshot-dir", self.snaps,
            "--admin-keys", test_keys.hash_key(test_keys.ADMIN),
            "--search-keys", test_keys.hash_key(test_keys.SEARCH)])

        def searchq(key, *args):
            cp = harness.run_searchq(["--key", key] + list(args), daemon=d)
            out, err = harness.decode(cp)
            return cp.returncode, out, err

        rc, out, err = searchq(test_keys.ADMIN, "create", "books", '{"fields":{"year":{"type":"int"}}}')
        self.assertEqual((rc, out), (0, "created books (settings version 1)\n"), err)
        rc, out, err = searchq(test_keys.ADMIN, "create", "books")
        self.assertEqual(rc, 1)
        self.assertIn("index_exists", err)
        with d.line() as c:
            self.assertOk(c.call({"op": "auth", "key": test_keys.ADMIN}))
            self.assertOk(c.call({"op": "add", "index": "books",
                                  "docs": [make_doc(i) for i in range(50)]}))
        rc, out, err = searchq(test_keys.ADMIN, "snapshot", "books", "cli-snap")
        self.assertEqual(rc, 0, err)
        path = os.path.join(os.path.realpath(self.snaps), "cli-snap")
        self.assertIn("snapshot cli-snap of books: %s\n" % path, out)
        rc, out, err = searchq(test_keys.ADMIN, "snapshot", "books")
        self.assertEqual(rc, 0, err)
        dated = re.search(r"snapshot (books-\d{8}-\d{6}) of books", out)
        self.assertTrue(dated, out)
        rc, out, err = searchq(test_keys.ADMIN, "--json", "snapshot", "books", "json-snap")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["path"], os.path.join(os.path.realpath(self.snaps),
                                                               "json-snap"))
        for name in ("cli-snap", dated.group(1), "json-snap"):
            cp = check_dir(os.path.join(self.snaps, name))
            self.assertEqual(cp.returncode, 0, name + cp.stdout + cp.stderr)

        rc, out, err = searchq(test_keys.ADMIN, "snapshot", "books", "../outside")
        self.assertEqual(rc, 1)
        self.assertIn("bad_request", err)
        rc, out, err = searchq(test_keys.SEARCH, "snapshot", "books", "by-search-key")
        self.assertEqual(rc, 1)
        self.assertIn("forbidden", err)
        rc, out, err = searchq(test_keys.ADMIN, "snapshot", "b" * 60)  # b*60-DATE: 76 bytes
        self.assertEqual(rc, 2)
        self.assertIn("give the snapshot a name", err)
        rc, out, err = searchq(test_keys.ADMIN, "snapshot")
        self.assertEqual(rc, 2)
        self.assertEqual(sorted(os.listdir(self.snaps)),
                         sorted(["cli-snap", dated.group(1), "json-snap"]))

    def test_kill9_during_snapshot_never_leaves_a_complete_looking_dir(self):
        snaps = other_fs_dir()  # copies take long enough for kills to land mid-way
        self.addCleanup(shutil.rmtree, snaps, True)
        d = self.start_daemon(extra_args=["--snapshot-dir", snaps])
        with d.line() as c:
            for k in range(0, 3000, 500):
                self.assertOk(c.call({"op": "add", "index": "books",
                                      "docs": [make_doc(i, 2000) for i in range(k, k + 500)]}))
        rnd = random.Random(13)
        outcomes = []
        for n in range(8):
            name = "k%d" % n
            c = d.line()
            c.send({"op": "snapshot", "index": "books", "name": name})
            time.sleep(rnd.uniform(0, 0.15))
            d.kill9()
            c.close()
            path = os.path.join(snaps, name)
            if os.path.exists(path):
                cp = check_dir(path)
                self.assertEqual(cp.returncode, 0, "%s looks whole but is not:\n%s%s"
                                 % (name, cp.stdout, cp.stderr))
                outcomes.append("whole")
            elif os.path.exists(os.path.join(snaps, ".%s.partial" % name)):
                outcomes.append("cut")  # killed mid-way: only the .partial is there
            else:
                outcomes.append("absent")
            d.start()
        with d.line() as c:
            self.assertOk(c.call({"op": "snapshot", "index": "books", "name": "last"}))
        left = [e for e in os.listdir(snaps) if e.endswith(".partial")]
        self.assertEqual(left, [], "leftovers not swept")
        cp = check_dir(os.path.join(snaps, "last"))
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        print("kill -9 outcomes: %s" % outcomes)


if __name__ == "__main__":
    harness.main()
