#!/usr/bin/env python3
"""test_crash_manage.py: kill -9 at random moments while a writer mixes index management with
writes over several indexes; after every restart the daemon must hold exactly the acknowledged
state. test_crash.py does the same for one index's documents; this one adds what changes the
data directory itself: create_index, set_settings (a re-index), drop_index and snapshot.

The writer keeps one request in flight on one line-protocol connection and applies an operation
to its model only when the acknowledgement arrives. After a restart:

  * the indexes listed are exactly the model's: an acknowledged drop is gone, an acknowledged
    create or write made its index, and nothing else exists;
  * each index's settings version is the acknowledged one, and every id of the pool is present
    as its latest acknowledged document or absent as acknowledged;
  * stats "docs", the documents got one by one and a search for a word every document has agree;
  * the one request in flight at the kill may be applied or not (a batch document by document;
    a drop or create whole), and the model takes on what the daemon shows.

Refusals the model predicts are fine (index_exists for a create of an existing index,
unknown_index for a drop of an absent one, not_found for a delete); any other error fails the
test. At the end every snapshot taken passes `searchd --check`.

Small flush and merge thresholds make kills land in flushes, merges and re-indexing too.

  python3 test_crash_manage.py --kills 200 --seed 3     # a longer run (ctest runs --kills 20)
"""

import copy
import os
import shutil
import subprocess
import tempfile
import time

import harness
from harness import E2ETestCase

ARGS = None  # set in __main__

NAMES = ("a", "b", "c")
IDS = ["d%d" % i for i in range(40)]
COMMON = "common"
SETTINGS = (
    {"fields": {"title": {"type": "text"}, "body": {"type": "text"}}},
    {"fields": {"title": {"type": "text", "weight": 3}, "body": {"type": "text"},
                "n": {"type": "int"}}},
    {"fields": {"title": {"type": "text"}, "body": {"type": "text"}, "n": {"type": "int"}},
     "stopwords": {"lists": ["en"]}},
)
FLAGS = ["--flush-bytes", "65536", "--flush-ms", "200", "--merge-factor", "2"]


class Model:
    """The acknowledged state: index name -> {"docs": {id: doc}, "version": settings version}."""

    def __init__(self, rng):
        self.rng = rng
        self.indexes = {}
        self.serial = 0

    def next_op(self):
        rng = self.rng
        name = rng.choice(NAMES)
        r = rng.random()
        if r < 0.55:
            docs = {}
            for _ in range(rng.choice((1, 1, 2, 5, 30, 300))):
                self.serial += 1
                i = rng.choice(IDS)
                docs[i] = {"id": i, "title": "t %s" % i, "n": self.serial,
                           "body": "%s v%d %s" % (COMMON, self.serial,
                                                  rng.choice(("alpha", "beta", "the")))}
            return {"op": "add", "index": name, "docs": list(docs.values())}
        if r < 0.70:
            return {"op": "delete", "index": name, "id": rng.choice(IDS)}
        if r < 0.78:
            return {"op": "create_index", "index": name, "settings": rng.choice(SETTINGS)}
        if r < 0.86:
            return {"op": "set_settings", "index": name, "settings": rng.choice(SETTINGS)}
        if r < 0.92:
            return {"op": "drop_index", "index": name}
        return {"op": "snapshot", "index": name, "name": "s%d" % rng.randrange(1 << 30)}

    def apply(self, req, answer):
        op, name = req["op"], req["index"]
        if op == "add":
            ix = self.indexes.setdefault(name, {"docs": {}, "version": 0})
            for d in req["docs"]:
                ix["docs"][d["id"]] = d
        elif op == "delete" and name in self.indexes:
            self.indexes[name]["docs"].pop(req["id"], None)
        elif op in ("create_index", "set_settings"):
            self.indexes.setdefault(name, {"docs": {}, "version": 0})["version"] = \
                answer["version"]
        elif op == "drop_index":
            self.indexes.pop(name, None)

    def refusal_expected(self, req, answer):
        code = answer.get("error", {}).get("code")
        op, exists = req["op"], req["index"] in self.indexes
        return ((op == "create_index" and code == "index_exists" and exists)
                or (op in ("drop_index", "snapshot") and code == "unknown_index" and not exists)
                or (op == "delete" and code == "not_found"))


class Writer(harness.KilledClient):
    """Streams operations until its connection breaks; the model changes only on an ack."""

    def __init__(self, daemon, model):
        super().__init__(daemon, timeout=60)
        self.model = model
        self.inflight = None

    def loop(self, c):
        while True:
            req = self.model.next_op()
            self.inflight = req
            a = c.call(req)
            if a.get("ok"):
                self.model.apply(req, a)
            elif not self.model.refusal_expected(req, a):
                self.error = "unexpected answer to %s %s: %r" % (req["op"], req["index"], a)
                self.inflight = None
                return
            self.inflight = None


class CrashManageTest(E2ETestCase):
    def test_random_kills_keep_indexes_settings_and_documents(self):
        seed, rng = harness.crash_seed("test_crash_manage", ARGS.seed, ARGS.kills)
        snaps = tempfile.mkdtemp(prefix="searchd-e2e-snaps-")
        self.addCleanup(shutil.rmtree, snaps, ignore_errors=True)
        d = self.new_daemon(extra_args=FLAGS + ["--snapshot-dir", snaps])
        model = Model(rng)
        d.start()
        for cycle in range(ARGS.kills):
            w = Writer(d, model)
            w.start()
            time.sleep(rng.uniform(0, ARGS.max_delay_ms / 1000.0))
            d.kill9()
            w.join(60)
            what = "cycle %d (seed %d)" % (cycle, seed)
            self.assertFalse(w.is_alive(), "%s: writer still running after the kill" % what)
            self.assertIsNone(w.error, "%s: %s" % (what, w.error))
            d.start()
            self.check_state(d, model, w.inflight, what)
        self.assertEqual(d.term(), 0)
        # a kill during a snapshot leaves .NAME.partial, never NAME (README "Backup"; the next
        # snapshot sweeps it): only the published ones are whole
        names = os.listdir(snaps)
        partial = [n for n in names if n.endswith(".partial")]
        self.assertTrue(all(n.startswith(".") for n in partial), partial)
        taken = sorted(n for n in names if n not in partial)
        for snap in taken[:: max(1, len(taken) // 8)]:  # a sample: each --check takes a while
            cp = subprocess.run([harness.CONFIG.searchd, "--check", os.path.join(snaps, snap)],
                                capture_output=True, text=True, timeout=120)
            self.assertEqual(cp.returncode, 0, "snapshot %s: %s" % (snap, cp.stdout + cp.stderr))

    def observe(self, d):
        """index name -> {"docs", "version", "stats_docs", "total"} as the daemon has them."""
        seen = {}
        with d.line() as c:
            for e in self.assertOk(c.call({"op": "indexes"}), "indexes")["indexes"]:
                name = e["name"]
                g = self.assertOk(c.call({"op": "get_settings", "index": name}), name)
                c.send_raw(b"".join(c.encode({"op": "get", "index": name, "id": i})
                                    for i in IDS))
                docs = {}
                for i in IDS:
                    a = c.recv()
                    if a.get("ok"):
                        docs[i] = a["doc"]
                    else:
                        self.assertError(a, "not_found", "get %s/%s" % (name, i))
                s = self.assertOk(c.call({"op": "search", "index": name, "q": COMMON,
                                          "limit": 0}), "search %s" % name)
                seen[name] = {"docs": docs, "version": g["version"],
                              "stats_docs": g["stats"]["docs"], "total": s["total"]}
        return seen

    def check_state(self, d, model, inflight, what):
        seen = self.observe(d)
        for name in sorted(set(model.indexes) | set(seen)):
            want, got = model.indexes.get(name), seen.get(name)
            maybe = inflight is not None and inflight["index"] == name
            if want is None or got is None:
                self.assertTrue(maybe and inflight["op"] in ("add", "create_index",
                                                             "set_settings", "drop_index"),
                                "%s: index %s: acknowledged %s, daemon %s (in flight: %r)"
                                % (what, name, want is not None, got is not None,
                                   inflight and inflight["op"]))
                continue
            self.assertEqual(got["stats_docs"], len(got["docs"]), "%s: %s: stats docs" % (what,
                                                                                      name))
            self.assertEqual(got["total"], len(got["docs"]), "%s: %s: documents found by a "
                             "word all of them have" % (what, name))
            if maybe and inflight["op"] == "drop_index":
                continue  # whole or gone; whole is compared with what it shows below
            if not (maybe and inflight["op"] in ("create_index", "set_settings")):
                self.assertEqual(got["version"], want["version"], "%s: %s: settings version"
                                 % (what, name))
            for i in IDS:
                w, g = want["docs"].get(i), got["docs"].get(i)
                if w == g or (maybe and inflight["op"] == "add"
                              and any(x["id"] == i and x == g for x in inflight["docs"])):
                    continue
                if maybe and inflight["op"] == "delete" and inflight["id"] == i and g is None:
                    continue
                self.fail("%s: %s/%s: acknowledged %s, daemon %s" % (
                    what, name, i, w and w["body"], g and g["body"]))
        # the in-flight request may have been applied: take on what the daemon shows
        model.indexes = {name: {"docs": copy.deepcopy(s["docs"]), "version": s["version"]}
                         for name, s in seen.items()}


def add_args(parser):
    parser.add_argument("--kills", type=int, default=20, help="kill points (default 20)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay-ms", type=float, default=600)


if __name__ == "__main__":
    import argparse

    pre = argparse.ArgumentParser(add_help=False)
    add_args(pre)
    ARGS, _ = pre.parse_known_args()
    harness.main(add_args)
