#!/usr/bin/env python3
"""test_crash.py: issue 4's crash test. searchd is SIGKILLed at random moments, many times, while
a writer streams adds, upserts and deletes; after every restart the index must hold exactly the
acknowledged state.

The writer keeps one request in flight at a time on one line-protocol connection and applies an
operation to its model of the index only when the acknowledgement arrives. So after a kill:

  * every acknowledged add or upsert is present, as its latest acknowledged version (the whole
    stored document compares equal; its body says "version N");
  * every acknowledged delete is absent, and no id the writer never sent exists;
  * the one operation in flight at the kill may be applied or not. It may be a batch of many
    documents; PROTOCOL.md does not promise that a batch is all-or-nothing across a crash, so
    each of its documents may independently be old or new (the run reports which happened).
    The model then takes on what the daemon shows;
  * stats "docs" equals the model's count, and a search for a word every document has
    finds exactly that many (the index agrees with the stored documents).

Kills land at random delays of 0 to --max-delay-ms (300) after the writer starts, so they hit
log appends and fsyncs; every fourth cycle opens with a bulk add of 500 to 2500 documents, so
kills also land in large log records and, with small flush thresholds, in flushes and merges.
Every tenth cycle ends with SIGTERM instead (exit status 0, same checks).

Flush and merge thresholds: searchd's defaults flush the in-memory segment at 64 MiB or 30 s,
which a short run never reaches. When `searchd --help` lists --flush-bytes, --flush-ms or
--merge-factor, they are set small (64 KiB, 300 ms, 2) so that kills hit flushes and merges
too; when it does not, the test runs without them and says so on stderr.

At the end, search answers (total and the full set of hit ids, paged) for a set of queries are
compared with a fresh searchd into which the final expected documents were imported from
scratch.

  python3 test_crash.py --searchd build/daemon/searchd --searchq build/client/searchq \\
      --sample sample --kills 500 --seed 7      # the long run (ctest runs --kills 50)
"""

import subprocess
import sys
import time

import harness
from harness import E2ETestCase

ARGS = None  # set in __main__

WORDS = ("archive treaty harbour glacier engine cotton ledger museum senate orbit comet "
         "harvest canal pigment falcon quarry violin lantern meadow fortress vaccine tariff "
         "signal archive granite "
         "договор архив гавань ледник двигатель летопись музей сенат орбита комета урожай "
         "канал пигмент сокол карьер скрипка фонарь луг крепость вакцина пошлина сигнал").split()
COMMON = "crashcommon"  # in every document
QUERIES = ["treaty", "архив", "glacier OR ледник", "treaty harbour", '"harbour glacier"',
           "museum -senate", "vacc*", "title:comet", "крепость OR fortress", COMMON,
           "version"]


def tuning_flags(searchd):
    """Small flush/merge thresholds, for the flags this searchd has."""
    try:
        cp = subprocess.run([searchd, "--help"], capture_output=True, timeout=10)
        text = (cp.stdout + cp.stderr).decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        text = ""
    wanted = [("--flush-bytes", "65536"), ("--flush-ms", "300"), ("--merge-factor", "2")]
    flags = []
    for flag, value in wanted:
        if flag in text:
            flags += [flag, value]
        else:
            sys.stderr.write("test_crash: searchd has no %s: running without it (kills will "
                             "not land in flushes/merges as often)\n" % flag)
    return flags


class Model:
    """The acknowledged state: id -> document (absent = deleted or never added)."""

    def __init__(self, rng):
        self.rng = rng
        self.docs = {}
        self.versions = {}  # id -> last version number sent (acked or not)
        self.sent_ids = set()
        self.next_id = 0
        self.acked_ops = 0
        self.inflight_outcomes = {"applied": 0, "not applied": 0, "partial": 0}

    def make_doc(self, doc_id):
        v = self.versions.get(doc_id, 0) + 1
        self.versions[doc_id] = v
        self.sent_ids.add(doc_id)
        words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(8, 40)))
        return {"id": doc_id, "title": "%s %s" % (self.rng.choice(WORDS), self.rng.choice(WORDS)),
                "body": "version %d %s %s" % (v, COMMON, words), "version": v}

    def new_id(self):
        self.next_id += 1
        return "c-%d" % self.next_id

    def pick_existing(self):
        return self.rng.choice(list(self.docs)) if self.docs else None

    def pick_for_upsert(self):
        return None if ARGS.no_upserts else self.pick_existing()

    def next_op(self, bulk=0):
        """An operation: (request, [(id, doc-or-None after it)])."""
        if bulk:
            docs = []
            for _ in range(bulk):
                old = self.pick_for_upsert() if self.rng.random() < 0.2 else None
                docs.append(self.make_doc(old or self.new_id()))
            return self.batch(docs)
        r = self.rng.random()
        existing = self.pick_existing()
        if r < 0.45 or existing is None:
            doc = self.make_doc(self.new_id())
            return {"op": "add", "doc": doc}, [(doc["id"], doc)]
        if r < 0.70 and not ARGS.no_upserts:
            doc = self.make_doc(existing)  # upsert: a new version of a live id
            return {"op": "add", "doc": doc}, [(doc["id"], doc)]
        if r < 0.85:
            return {"op": "delete", "id": existing}, [(existing, None)]
        if r < 0.90 and self.versions and not ARGS.no_upserts:
            # re-add an id that may have been deleted
            doc = self.make_doc(self.rng.choice(list(self.versions)))
            return {"op": "add", "doc": doc}, [(doc["id"], doc)]
        n = self.rng.randint(2, 40)
        docs = [self.make_doc(self.new_id() if self.rng.random() < 0.7 or not self.docs
                              or ARGS.no_upserts else self.pick_existing()) for _ in range(n)]
        return self.batch(docs)

    def batch(self, docs):
        """An add of many documents. One id twice in a batch would make "latest" ambiguous, so
        only the last of each is kept."""
        last = {}
        for d in docs:
            last[d["id"]] = d
        uniq = list(last.values())
        return {"op": "add", "docs": uniq}, [(d["id"], d) for d in uniq]

    def apply(self, effects):
        for doc_id, doc in effects:
            if doc is None:
                self.docs.pop(doc_id, None)
            else:
                self.docs[doc_id] = doc
        self.acked_ops += 1


class Writer(harness.KilledClient):
    """Streams operations until its connection breaks; the model changes only on an ack."""

    def __init__(self, daemon, model, bulk):
        super().__init__(daemon, timeout=30)
        self.model = model
        self.bulk = bulk
        self.inflight = None  # effects of the op sent and not answered
        self.refused = []  # ops answered with an error: they must not be applied

    def loop(self, c):
        bulk = self.bulk
        while True:
            req, effects = self.model.next_op(bulk)
            bulk = 0
            self.inflight = effects
            a = c.call(req)
            if a.get("ok"):
                self.model.apply(effects)
            elif a.get("error", {}).get("code") in ("busy", "disk_full", "internal"):
                self.refused.append((a, effects))
            else:
                self.error = "unexpected answer to %r: %r" % (req.get("op"), a)
                self.inflight = None
                return
            self.inflight = None


class CrashTest(E2ETestCase):
    def test_random_kills_keep_exactly_the_acknowledged_state(self):
        seed, rng = harness.crash_seed("test_crash", ARGS.seed, ARGS.kills)
        flags = tuning_flags(harness.CONFIG.searchd)
        d = self.new_daemon(extra_args=flags)
        model = Model(rng)
        started = time.monotonic()
        d.start()
        for cycle in range(ARGS.kills):
            bulk = rng.randint(500, 2500) if cycle % 4 == 3 else 0
            w = Writer(d, model, bulk)
            w.start()
            time.sleep(rng.uniform(0, ARGS.max_delay_ms / 1000.0))
            graceful = cycle % 10 == 9
            if graceful:
                rc = d.term(timeout=60)
                self.assertEqual(rc, 0, "cycle %d: SIGTERM exit status" % cycle)
            else:
                d.kill9()
            w.join(30)
            self.assertFalse(w.is_alive(), "cycle %d: writer still running after the kill" % cycle)
            self.assertIsNone(w.error, "cycle %d: %s" % (cycle, w.error))
            d.start()
            self.check_state(d, model, w, "cycle %d (%s, seed %d)"
                             % (cycle, "SIGTERM" if graceful else "kill -9", seed))
        elapsed = time.monotonic() - started
        self.compare_with_fresh(d, model)
        sys.stderr.write("test_crash: %d cycles in %.0f s; %d ops acknowledged; %d live docs, "
                         "%d ids used; in-flight ops at kills: %r\n"
                         % (ARGS.kills, elapsed, model.acked_ops, len(model.docs),
                            len(model.sent_ids), model.inflight_outcomes))

    # ---- checks ----

    def fetch(self, d, ids):
        out = {}
        with d.line() as c:
            for i in range(0, len(ids), 1000):
                chunk = ids[i:i + 1000]
                c.send_raw(b"".join(c.encode({"op": "get", "id": x}) for x in chunk))
                for doc_id in chunk:
                    a = c.recv()
                    if a.get("ok"):
                        out[doc_id] = a["doc"]
                    elif a.get("error", {}).get("code") == "not_found":
                        out[doc_id] = None
                    else:
                        self.fail("get %s: %r" % (doc_id, a))
        return out

    def check_state(self, d, model, w, what):
        ids = sorted(model.sent_ids)
        got = self.fetch(d, ids)
        inflight = dict(w.inflight or [])
        for a, effects in w.refused:
            for doc_id, doc in effects:
                self.assertNotEqual(got.get(doc_id), doc, "%s: a refused write (%r) was applied"
                                    % (what, a))
        wrong = []
        outcome = set()
        for doc_id in ids:
            expected = model.docs.get(doc_id)
            if doc_id in inflight and got[doc_id] != expected:
                if got[doc_id] == inflight[doc_id]:
                    outcome.add("applied")
                    continue
                wrong.append((doc_id, expected, got[doc_id], "in flight: %r" % inflight[doc_id]))
            elif got[doc_id] != expected:
                wrong.append((doc_id, expected, got[doc_id], ""))
            elif doc_id in inflight and inflight[doc_id] != expected:
                outcome.add("not applied")
        if wrong:
            lines = ["  %s: expected %s, got %s %s" % (i, self.brief(e), self.brief(g), note)
                     for i, e, g, note in wrong[:20]]
            self.fail("%s: %d documents differ from the acknowledged state:\n%s"
                      % (what, len(wrong), "\n".join(lines)))
        if inflight:
            key = "partial" if len(outcome) == 2 else (outcome.pop() if outcome else "applied")
            model.inflight_outcomes[key] += 1
            model.apply(list((i, got[i]) for i in inflight))  # adopt what the daemon shows
            model.acked_ops -= 1
        with d.line() as c:
            stats = self.assertOk(c.call({"op": "stats"}), "stats")
            total = self.assertOk(c.call({"op": "search", "q": COMMON, "limit": 0}))["total"]
        self.assertEqual(stats["docs"], len(model.docs), "%s: stats docs" % what)
        self.assertEqual(total, len(model.docs), "%s: documents found by a word all of them "
                         "have" % what)

    @staticmethod
    def brief(doc):
        return "absent" if doc is None else "version %s" % doc.get("version")

    def all_hits(self, d, q):
        """(total, set of every hit id), paging with limit 1000."""
        ids = set()
        with d.line() as c:
            offset, total = 0, None
            while True:
                a = self.assertOk(c.call({"op": "search", "q": q, "limit": 1000,
                                          "offset": offset}), q)
                total = a["total"]
                ids.update(h["id"] for h in a["hits"])
                offset += 1000
                if offset >= total or not a["hits"]:
                    return total, ids

    def compare_with_fresh(self, d, model):
        fresh = self.new_daemon(name="searchd (fresh)").start()
        docs = list(model.docs.values())
        with fresh.line() as c:
            for i in range(0, len(docs), 1000):
                self.assertOk(c.call({"op": "add", "docs": docs[i:i + 1000]}), "fresh import")
        # acknowledged writes become searchable at the next refresh: wait for it, with a
        # deadline that scales with the sanitizer's slowness (it was a flat 2 s)
        self.assertTrue(harness.wait_until(lambda: self.all_hits(fresh, COMMON)[0] == len(docs),
                                           30 * harness.TIME_SCALE),
                        "the fresh import did not become searchable")
        for q in QUERIES:
            got, want = self.all_hits(d, q), self.all_hits(fresh, q)
            self.assertEqual(got[0], want[0], "total for %r: crashed %d, fresh %d"
                             % (q, got[0], want[0]))
            self.assertEqual(got[1], want[1], "hit ids for %r differ: only crashed %s, only "
                             "fresh %s" % (q, sorted(got[1] - want[1])[:10],
                                           sorted(want[1] - got[1])[:10]))


def add_args(parser):
    parser.add_argument("--kills", type=int, default=50, help="kill points (default 50)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay-ms", type=float, default=300)
    parser.add_argument("--no-upserts", action="store_true",
                        help="only new ids and deletes (to tell an upsert bug from others)")


if __name__ == "__main__":
    import argparse

    pre = argparse.ArgumentParser(add_help=False)
    add_args(pre)
    ARGS, _ = pre.parse_known_args()
    harness.main(add_args)
