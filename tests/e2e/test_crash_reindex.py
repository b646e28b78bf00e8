#!/usr/bin/env python3
"""test_crash_reindex.py: kill -9 at random moments while a writer mixes typed documents,
settings changes that re-index them, and snapshots; after every restart the daemon must hold
exactly the acknowledged state and answer filters, sorts and facets as a fresh searchd given
that state does. test_crash.py covers one index's documents and test_crash_manage.py the
index's life (create, drop, a snapshot's --check); this one covers what the settings do to
the documents and what a snapshot holds.

One index ("r"), a pool of POOL ids, documents with attributes of every type (int, float,
keyword, keyword array, date, bool), some of them left out. The settings in force move
between SETTINGS, each of which every document fits (a year written as an int is an int or a
float), so every change of declared fields or types re-indexes everything (docs/DATA.md
"Re-indexing after a change"), and a merge patch now and then changes only a weight or the
synonyms (no re-index). The writer keeps one request in flight on one line connection and
changes its model only on an acknowledgement. After a restart:

  * every id of the pool is present as its latest acknowledged document or absent as
    acknowledged; the settings (canonical, as get_settings gives them) and their version are
    the acknowledged ones; the one request in flight at the kill may be applied or not (a
    batch document by document), and the model takes on what the daemon shows;
  * once the re-index is done (reindex_pending 0), stats "docs", a search for a word every
    document has, and the answers (total, hit ids, the sort keys in order, facets with their
    stats and order) to a set of searches that use the attributes the settings declare equal
    those of a reference searchd into which the same settings and documents were written
    from scratch (every --compare-every cycles and at the end);
  * a snapshot acknowledged is whole: a searchd started on a copy of it holds exactly the
    state the model had when it was asked for (one writer, so nothing else changed meanwhile)
    and answers as the reference given that state; a snapshot in flight at the kill is either
    absent (a .NAME.partial at most) or that same whole state, never anything else.

A batch of large documents now and then (over the 256 KiB at which a request is parsed off the
event loop, daemon/srv_parse.c) makes kills land while a request is parsed on its thread.
Now and then the writer pipelines 2 to 6 adds (sent before the first answer, as
`searchq import` does): those unanswered at the kill take effect in their order, so when one
of them shows, every one before it is there whole.
--memory-limit (e.g. 8m) runs the daemon under a memory limit, beside a client that keeps
large adds to another index in flight: a write answered `busy` must not be applied, and the
writer goes on.

  python3 test_crash_reindex.py --searchd build/daemon/searchd --searchq build/client/searchq \\
      --sample sample --kills 300 --seed 5      # a long run (ctest runs --kills 12)
"""

import copy
import json
import os
import random
import shutil
import sys
import tempfile
import time

import harness
from harness import E2ETestCase

ARGS = None  # set in __main__

INDEX = "r"
POOL = ["d%d" % i for i in range(120)]
COMMON = "reindexcommon"  # in every document's body
WORDS = ("archive treaty harbour glacier engine cotton ledger museum senate orbit comet "
         "harvest canal pigment falcon quarry violin lantern meadow fortress").split()
LANGS = ("en", "ru", "de", "fr")
TAGS = ("poetry", "prose", "drama", "essay", "letters")
# a value of another type than every declaration of the field in SETTINGS
MISFITS = {"year": "1999", "price": "cheap", "open": "yes", "when": 20150301, "lang": 7,
           "tags": [1, 2]}
FLAGS = ["--flush-bytes", "65536", "--flush-ms", "200", "--merge-factor", "2"]

ALL_TYPED = {"title": {"type": "text"}, "body": {"type": "text"}, "year": {"type": "int"},
             "price": {"type": "float"}, "lang": {"type": "keyword"},
             "tags": {"type": "keyword"}, "when": {"type": "date"}, "open": {"type": "bool"}}
SETTINGS = (
    {"fields": ALL_TYPED},
    # year as a float, price and when stored only, a weight
    {"fields": {"title": {"type": "text", "weight": 3}, "body": {"type": "text"},
                "year": {"type": "float"}, "lang": {"type": "keyword"},
                "tags": {"type": "keyword"}, "open": {"type": "bool"}}},
    # lang and tags stored only; synonyms and stopwords beside
    {"fields": {"title": {"type": "text"}, "body": {"type": "text"}, "year": {"type": "int"},
                "price": {"type": "float"}, "when": {"type": "date"}},
     "synonyms": [{"synonyms": ["harbour", "port"]}], "stopwords": {"lists": ["en"]}},
    # nothing declared: every string is searched as text, the rest is stored only
    {},
    # lang searched as text, tags and year typed, no typos
    {"fields": {"title": {"type": "text"}, "body": {"type": "text"}, "lang": {"type": "text"},
                "tags": {"type": "keyword"}, "year": {"type": "int"}, "open": {"type": "bool"}},
     "typo": False},
)
# merge patches that change no declared field or type (no re-index); applied to any settings
PATCHES = (
    {"synonyms": [{"synonyms": ["glacier", "ice"]}]},
    {"synonyms": None},
    {"typo": False},
    {"typo": True},
)

# (q, filter or None, sort or None, facets or None, the attributes it needs with their types)
SEARCHES = (
    (COMMON, None, None, None, {}),
    ("harbour", None, None, None, {}),
    ("treaty OR glacier", None, None, None, {}),
    ("", "year:>=2005", "year:desc", None, {"year": ("int", "float")}),
    (COMMON, "year:1995..2010", None, "year:interval=5", {"year": ("int",)}),
    ("", None, "price:asc", "price:ranges=..20|20..50|50..", {"price": ("float",)}),
    ("museum", "lang:ru", None, "lang", {"lang": ("keyword",)}),
    ("", "tags:(poetry OR drama)", None, "tags:size=3", {"tags": ("keyword",)}),
    ("", "open:true", "year:asc", "open", {"open": ("bool",), "year": ("int", "float")}),
    ("", "when:>=2015-06-01", "when:desc", "when:interval=month", {"when": ("date",)}),
    (COMMON, None, "lang:asc,year:desc", "lang,tags",
     {"lang": ("keyword",), "year": ("int", "float"), "tags": ("keyword",)}),
    ("ru", None, None, None, {"lang": ("text",)}),
    ("poetry", None, None, None, {}),
)


def settings_fields(settings):
    return settings.get("fields") if isinstance(settings, dict) else None


def searches_for(settings):
    """The SEARCHES the settings can answer (their attributes declared with those types)."""
    fields = settings_fields(settings) or {}
    out = []
    for q, filt, sort, facets, needs in SEARCHES:
        if all(fields.get(f, {}).get("type") in types for f, types in needs.items()):
            out.append((q, filt, sort, facets))
    return out


def snapshot_parent(rng):
    """/dev/shm (another filesystem than /tmp's data directories: copies) or /tmp (links),
    picked by the seed."""
    tmp = tempfile.gettempdir()
    shm = "/dev/shm"
    if rng.random() < 0.5 and os.path.isdir(shm) and os.stat(shm).st_dev != os.stat(tmp).st_dev:
        return shm
    return tmp


def fits(doc, settings):
    """Whether every value of the document fits its declared field (MISFITS never do)."""
    declared = settings_fields(settings) or {}
    return not any(f in declared and doc.get(f) == v for f, v in MISFITS.items())


def merge_patch(base, patch):
    """RFC 7396, as searchd applies it."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class Model:
    """The acknowledged state: documents, settings (canonical, from the daemon), version."""

    def __init__(self, rng):
        self.rng = rng
        self.docs = {}
        self.settings = {}
        self.version = 0
        self.serial = 0
        self.snapshots = {}  # name -> (docs, settings version) when it was asked for
        self.acked_snapshots = set()  # acknowledged and not yet checked
        self.outcomes = {"applied": 0, "not applied": 0, "partial": 0, "busy": 0,
                         "snapshot whole": 0, "snapshot absent": 0}

    def make_doc(self, i, big):
        rng = self.rng
        self.serial += 1
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        d = {"id": i, "title": "%s %s" % (rng.choice(WORDS), rng.choice(WORDS)),
             "body": "%s v%d %s" % (COMMON, self.serial, words)}
        if big:  # about 1.5 KB of text each: a batch of 200 passes 256 KiB
            d["body"] += " " + " ".join(rng.choice(WORDS) for _ in range(220))
        if rng.random() < 0.9:
            d["year"] = rng.randint(1990, 2024)
        if rng.random() < 0.85:
            d["price"] = round(rng.uniform(1, 90), 2) + 0.25  # never integral
        if rng.random() < 0.9:
            d["lang"] = rng.choice(LANGS)
        if rng.random() < 0.7:
            d["tags"] = rng.sample(TAGS, rng.randint(0, 3))
        if rng.random() < 0.8:
            d["when"] = "20%02d-%02d-%02d" % (rng.randint(10, 24), rng.randint(1, 12),
                                                rng.randint(1, 28))
        if rng.random() < 0.8:
            d["open"] = rng.random() < 0.5
        # now and then a value of another type in a field the settings in force leave
        # undeclared: accepted now, it no longer fits when a later change declares the field
        # (kept, stored only, with no column value: docs/DATA.md "Settings")
        declared = settings_fields(self.settings)
        if declared is not None and rng.random() < 0.15:
            f = rng.choice(sorted(MISFITS))
            if f not in declared:
                d[f] = MISFITS[f]
        return d

    def next_op(self, bulk):
        """(request, kind). bulk: a batch of large documents (parsed off the loop)."""
        rng = self.rng
        if bulk:
            docs = {}
            for _ in range(rng.randint(180, 400)):
                i = rng.choice(POOL)
                docs[i] = self.make_doc(i, True)
            return {"op": "add", "index": INDEX, "docs": list(docs.values())}, "add"
        r = rng.random()
        if r < 0.1:  # a pipelined import: several batches sent before the first answer
            reqs = []
            for _ in range(rng.randint(2, 6)):
                docs = {}
                for _ in range(rng.choice((1, 5, 30))):
                    i = rng.choice(POOL)
                    docs[i] = self.make_doc(i, False)
                reqs.append({"op": "add", "index": INDEX, "docs": list(docs.values())})
            return reqs, "pipeline"
        if r < 0.55:
            docs = {}
            for _ in range(rng.choice((1, 1, 2, 5, 20, 60))):
                i = rng.choice(POOL)
                docs[i] = self.make_doc(i, False)
            return {"op": "add", "index": INDEX, "docs": list(docs.values())}, "add"
        if r < 0.68:
            return {"op": "delete", "index": INDEX, "id": rng.choice(POOL)}, "delete"
        if r < 0.82:
            return {"op": "set_settings", "index": INDEX,
                    "settings": rng.choice(SETTINGS)}, "settings"
        if r < 0.88:
            return {"op": "set_settings", "index": INDEX, "merge": True,
                    "settings": rng.choice(PATCHES)}, "settings"
        return {"op": "snapshot", "index": INDEX,
                "name": "s%d" % rng.randrange(1 << 30)}, "snapshot"

    def apply(self, req, answer):
        op = req["op"]
        if op == "add":
            for d in req["docs"]:
                self.docs[d["id"]] = d
        elif op == "delete":
            self.docs.pop(req["id"], None)
        elif op == "snapshot":
            self.acked_snapshots.add(req["name"])
        elif op == "set_settings":
            self.version = answer["version"]
            # the canonical form is read back after the next restart; meanwhile the model
            # keeps what was sent (or the patch's result)
            if req.get("merge"):
                self.settings = merge_patch(self.settings, req["settings"])
            else:
                self.settings = copy.deepcopy(req["settings"])


class Writer(harness.KilledClient):
    """Streams operations until its connection breaks; the model changes only on an ack."""

    def __init__(self, daemon, model, bulk):
        super().__init__(daemon, timeout=60 * harness.TIME_SCALE)
        self.model = model
        self.bulk = bulk
        self.inflight = None  # (request, state before it) while unanswered

    def loop(self, c):
        bulk = self.bulk
        while True:
            req, kind = self.model.next_op(bulk)
            bulk = False
            if kind == "snapshot":  # one writer: the state now is the snapshot's
                self.model.snapshots[req["name"]] = (copy.deepcopy(self.model.docs),
                                                     self.model.version)
            reqs = req if kind == "pipeline" else [req]
            self.inflight = list(reqs)
            c.send_raw(b"".join(c.encode(r) for r in reqs))
            for req in reqs:  # answers come in the order sent
                a = c.recv()
                if a.get("ok"):
                    self.model.apply(req, a)
                elif req["op"] == "delete" and a.get("error", {}).get("code") == "not_found":
                    pass
                elif a.get("error", {}).get("code") == "busy" and ARGS.memory_limit:
                    self.model.outcomes["busy"] += 1
                else:
                    self.error = "unexpected answer to %s: %r" % (req["op"], a)
                    self.inflight = None
                    return
                self.inflight.pop(0)
            self.inflight = None


class Pressure(harness.KilledClient):
    """With --memory-limit: keeps DEPTH large adds in flight to another index, so that the
    writer's requests meet a full memory budget and are answered `busy` now and then. Its
    answers are ok or busy; its documents (a fixed pool of ids, so the index stays small) are
    not modelled."""

    DEPTH = 6

    def __init__(self, daemon, rng):
        super().__init__(daemon, timeout=60 * harness.TIME_SCALE)
        self.rng = random.Random(rng.random())
        self.bodies = [" ".join(self.rng.choice(WORDS) for _ in range(1000)) for _ in range(8)]
        self.busy = 0

    def batch(self):
        """About 2 MB."""
        rng = self.rng
        docs = [{"id": "p%d" % rng.randrange(400), "title": "pressure %d" % rng.randrange(1000),
                 "body": rng.choice(self.bodies)} for _ in range(300)]
        return {"op": "add", "index": "p", "docs": docs}

    def loop(self, c):
        for _ in range(self.DEPTH):
            c.send(self.batch())
        while True:
            a = c.recv()
            if a.get("error", {}).get("code") == "busy":
                self.busy += 1
            elif not a.get("ok"):
                self.error = "pressure: unexpected answer %r" % a
                return
            c.send(self.batch())


class CrashReindexTest(E2ETestCase):
    def test_random_kills_keep_typed_state_settings_and_snapshots(self):
        seed, rng = harness.crash_seed("test_crash_reindex", ARGS.seed, ARGS.kills)
        # snapshots link their files on the data directory's filesystem and copy them across
        # (docs/DATA.md "Snapshots"): a copy takes long enough for kills to land mid-way
        self.snaps = tempfile.mkdtemp(prefix="searchd-e2e-snaps-", dir=snapshot_parent(rng))
        self.addCleanup(shutil.rmtree, self.snaps, ignore_errors=True)
        extra = FLAGS + ["--snapshot-dir", self.snaps]
        if ARGS.memory_limit:
            extra += ["--memory-limit", ARGS.memory_limit]
        d = self.new_daemon(extra_args=extra)
        # small thresholds here too: a re-index waits for the in-memory segments to be flushed
        self.ref = self.new_daemon(name="searchd (reference)", extra_args=FLAGS).start()
        model = Model(rng)
        started = time.monotonic()
        d.start()
        with d.line() as c:  # the index exists from the start (a snapshot names it)
            first = {"op": "set_settings", "index": INDEX, "settings": SETTINGS[0]}
            model.apply(first, self.assertOk(c.call(first)))
        compared = snaps_checked = 0
        for cycle in range(ARGS.kills):
            w = Writer(d, model, cycle % 5 == 4)
            w.start()
            p = Pressure(d, rng) if ARGS.memory_limit else None
            if p:
                p.start()
            time.sleep(rng.uniform(0, ARGS.max_delay_ms / 1000.0))
            d.kill9()
            w.join(60 * harness.TIME_SCALE)
            what = "cycle %d (seed %d)" % (cycle, seed)
            self.assertFalse(w.is_alive(), "%s: writer still running after the kill" % what)
            self.assertIsNone(w.error, "%s: %s" % (what, w.error))
            if p:
                p.join(60 * harness.TIME_SCALE)
                self.assertFalse(p.is_alive(), "%s: pressure still running" % what)
                self.assertIsNone(p.error, "%s: %s" % (what, p.error))
                model.outcomes["pressure busy"] = model.outcomes.get("pressure busy", 0) + p.busy
            d.start()
            self.check_state(d, model, w.inflight, what)
            last = cycle == ARGS.kills - 1
            if last or cycle % ARGS.compare_every == ARGS.compare_every - 1:
                self.compare_with_reference(d, model.docs, model.settings, what)
                compared += 1
            present = set(os.listdir(self.snaps))
            missing = model.acked_snapshots - present
            self.assertFalse(missing, "%s: acknowledged snapshots missing" % what)
            for name in sorted(present):
                if not name.startswith(".") and name in model.snapshots:
                    self.check_snapshot(name, model, what)
                    snaps_checked += 1
            snap = [r["name"] for r in w.inflight or [] if r["op"] == "snapshot"]
            if snap and snap[0] not in present:
                model.outcomes["snapshot absent"] += 1
        self.assertEqual(d.term(), 0)
        sys.stderr.write("test_crash_reindex: %d cycles in %.0f s; %d live docs, settings "
                         "version %d; %d comparisons with the reference, %d snapshots restored;"
                         " outcomes %r; snapshots in %s\n"
                         % (ARGS.kills, time.monotonic() - started, len(model.docs),
                            model.version, compared, snaps_checked, model.outcomes, self.snaps))

    # ---- reading a daemon ----

    def wait_reindexed(self, d, what):
        def done():
            with d.line() as c:
                a = c.call({"op": "get_settings", "index": INDEX})
            return not a.get("ok") or not a["stats"].get("reindex_pending")
        self.assertTrue(harness.wait_until(done, 60 * harness.TIME_SCALE, 0.05),
                        "%s: the re-index did not end" % what)

    def observe(self, d, index=INDEX):
        """(docs {id: doc}, settings, version, stats docs) as the daemon has them."""
        with d.line() as c:
            g = c.call({"op": "get_settings", "index": index})
            if not g.get("ok"):
                self.assertError(g, "unknown_index", "get_settings")
                return {}, {}, 0, 0
            c.send_raw(b"".join(c.encode({"op": "get", "index": index, "id": i})
                                for i in POOL))
            docs = {}
            for i in POOL:
                a = c.recv()
                if a.get("ok"):
                    docs[i] = a["doc"]
                else:
                    self.assertError(a, "not_found", "get %s" % i)
        return docs, g["settings"], g["version"], g["stats"]["docs"]

    def canonical(self, settings):
        """The settings as get_settings gives them (a scratch index on the reference)."""
        with self.ref.line() as c:
            c.call({"op": "drop_index", "index": "canon"})
            self.assertOk(c.call({"op": "set_settings", "index": "canon",
                                  "settings": settings}), "canonical settings")
            return self.assertOk(c.call({"op": "get_settings", "index": "canon"}))["settings"]

    def answers(self, d, settings):
        """{search: (total, ids, sort keys in order, facets)} for the searches the settings
        can answer. Hit order within equal sort keys is relevance, which depends on how the
        documents lie in segments: so the ids are a set and the keys a sequence."""
        out = {}
        with d.line() as c:
            for q, filt, sort, facets in searches_for(settings):
                req = {"op": "search", "index": INDEX, "q": q, "limit": 1000}
                keys = []
                if filt:
                    req["filter"] = filt
                if sort:
                    req["sort"] = sort
                    keys = [k.split(":")[0] for k in sort.split(",")]
                    req["fields"] = keys
                if facets:
                    req["facets"] = facets
                a = self.assertOk(c.call(req), repr(req))
                order = [tuple(json.dumps(h.get("fields", {}).get(k)) for k in keys)
                         for h in a["hits"]]
                out[(q, filt, sort, facets)] = (
                    a["total"], sorted(h["id"] for h in a["hits"]), order,
                    json.dumps([a.get("facets"), a.get("facet_stats"), a.get("facet_order")]))
        return out

    # ---- checks ----

    def check_state(self, d, model, inflight, what):
        """inflight: the requests sent and not answered at the kill, in order (several adds
        of a pipeline, or one request)."""
        self.wait_reindexed(d, what)
        docs, settings, version, stats_docs = self.observe(d)
        inflight = inflight or []
        maybe = inflight[0] if len(inflight) == 1 else {}
        adds = [r for r in inflight if r["op"] == "add"]
        shown = {}  # index in adds -> {"applied", "not applied"} over its documents
        for i in POOL:
            want, got = model.docs.get(i), docs.get(i)
            sent = [k for k, r in enumerate(adds) if any(x["id"] == i for x in r["docs"])]
            if got != want:
                by = [k for k in sent if any(x["id"] == i and x == got for x in adds[k]["docs"])]
                if by:
                    shown.setdefault(by[0], set()).add("applied")
                    continue
                if maybe.get("op") == "delete" and maybe["id"] == i and got is None:
                    continue
                self.fail("%s: %s: acknowledged %s, daemon %s" % (
                    what, i, want and want["body"][:40], got and got["body"][:40]))
            for k in sent:
                shown.setdefault(k, set()).add("not applied")
        # requests take effect in their order and the log keeps it: when one in flight shows
        # in the daemon, every one sent before it is there whole (each of its documents, or
        # a later in-flight version of it)
        last = max((k for k, o in shown.items() if "applied" in o), default=-1)
        for k in range(last):
            for x in adds[k]["docs"]:
                later = [y for r in adds[k + 1:] for y in r["docs"] if y["id"] == x["id"]]
                self.assertTrue(docs.get(x["id"]) == x or docs.get(x["id"]) in later,
                                "%s: pipelined add %d of %d applied, but %s of add %d is not"
                                % (what, last + 1, len(adds), x["id"], k + 1))
        for k, o in shown.items():
            key = "partial" if len(o) == 2 else o.pop()
            model.outcomes[key] += 1
        if len(adds) > 1:
            model.outcomes["pipelines in flight"] = model.outcomes.get("pipelines in flight",
                                                                       0) + 1
        if maybe.get("op") != "set_settings":
            self.assertEqual(version, model.version, "%s: settings version" % what)
            if model.version:
                self.assertEqual(settings, self.canonical(model.settings),
                                 "%s: settings in force" % what)
        self.assertEqual(stats_docs, len(docs), "%s: stats docs" % what)
        with d.line() as c:
            total = self.assertOk(c.call({"op": "search", "index": INDEX, "q": COMMON,
                                          "limit": 0}))["total"] if docs else 0
        self.assertEqual(total, len(docs), "%s: documents found by a word all of them have"
                         % what)
        # the in-flight request may have been applied: take on what the daemon shows
        model.docs, model.version = docs, version
        model.settings = settings

    def load_reference(self, docs, settings):
        with self.ref.line() as c:
            a = c.call({"op": "drop_index", "index": INDEX})
            if not a.get("ok"):
                self.assertError(a, "unknown_index", "reference drop")
            batch = list(docs.values())
            # documents that do not fit the settings (written before a change declared the
            # field) are imported without settings first, then the settings re-index them
            fit = all(fits(x, settings) for x in batch)
            self.assertOk(c.call({"op": "set_settings", "index": INDEX,
                                  "settings": settings if fit else {}}), "reference settings")
            for k in range(0, len(batch), 500):
                self.assertOk(c.call({"op": "add", "index": INDEX, "docs": batch[k:k + 500]}),
                              "reference import")
            if not fit:
                self.assertOk(c.call({"op": "set_settings", "index": INDEX,
                                      "settings": settings}), "reference settings")

        def visible():
            with self.ref.line() as c:
                a = self.assertOk(c.call({"op": "search", "index": INDEX, "q": COMMON,
                                          "limit": 0}))
            return a["total"] == len(docs)
        self.assertTrue(harness.wait_until(visible, 30 * harness.TIME_SCALE),
                        "the reference import did not become searchable")

    def compare_with_reference(self, d, docs, settings, what):
        self.load_reference(docs, settings)
        self.wait_reindexed(self.ref, what)
        got, want = self.answers(d, settings), self.answers(self.ref, settings)
        for key in want:
            self.assertEqual(got[key], want[key], "%s: search %r: crashed daemon vs reference"
                             % (what, key))

    def check_snapshot(self, name, model, what):
        """A published snapshot is the state when it was asked for, whole."""
        want_docs, want_version = model.snapshots.pop(name)
        copy_dir = tempfile.mkdtemp(prefix="searchd-e2e-restore-")
        self.addCleanup(shutil.rmtree, copy_dir, ignore_errors=True)
        shutil.copytree(os.path.join(self.snaps, name), copy_dir, dirs_exist_ok=True)
        s = self.new_daemon(data_dir=copy_dir, name="searchd (snapshot %s)" % name).start()
        try:
            self.wait_reindexed(s, what)
            docs, settings, version, stats_docs = self.observe(s)
            what = "%s: snapshot %s" % (what, name)
            self.assertEqual(version, want_version, "%s: settings version" % what)
            for i in POOL:
                self.assertEqual(docs.get(i), want_docs.get(i), "%s: document %s" % (what, i))
            self.assertEqual(stats_docs, len(docs), "%s: stats docs" % what)
            self.compare_with_reference(s, docs, settings, what)
        finally:
            s.stop()
        shutil.rmtree(os.path.join(self.snaps, name))
        model.acked_snapshots.discard(name)
        model.outcomes["snapshot whole"] += 1


def add_args(parser):
    parser.add_argument("--kills", type=int, default=12, help="kill points (default 12)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay-ms", type=float, default=400)
    parser.add_argument("--compare-every", type=int, default=3,
                        help="compare searches with the reference every N cycles (default 3)")
    parser.add_argument("--memory-limit", default=None,
                        help="run searchd with --memory-limit (e.g. 8m); busy answers allowed")


if __name__ == "__main__":
    import argparse

    pre = argparse.ArgumentParser(add_help=False)
    add_args(pre)
    ARGS, _ = pre.parse_known_args()
    harness.main(add_args)
