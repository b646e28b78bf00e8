"""test_attributes.py: typed attributes and index management on a real searchd (issue 11).

A schema is declared (settings), documents are imported, and then, over both protocols and
searchq: filters, sort, facets, browsing (a filter with no words), chosen fields; the answers
are checked against what Python computes from the same documents. Settings are changed while a
client keeps searching (every answer entirely old or entirely new, nothing lost); searchd is
killed with SIGKILL during the background re-index and right after a settings change (both
come back with the new settings and every document); indexes are listed and dropped (a name
like ../x refused). Bad input (wrong-typed values, undeclared fields, unknown parameters,
malformed ranges and dates) gets a clear error, the daemon keeps serving, and nothing stored
changes.
"""

import json
import os
import shutil
import tempfile
import threading
import urllib.parse

import harness

SETTINGS = {"fields": {
    "title": {"type": "text", "weight": 2},
    "body": {"type": "text"},
    "lang": {"type": "keyword"},
    "collection": {"type": "keyword"},
    "tags": {"type": "keyword"},
    "year": {"type": "int"},
    "price": {"type": "float"},
    "published": {"type": "date"},
    "open": {"type": "bool"},
}}

LANGS = ("ru", "en")
COLLECTIONS = ("history", "science", "drafts", "culture", "economics")
TAGS = ("poetry", "prose", "essay")


def make_docs(n):
    """n documents with every attribute type; every 7th has no year, so 'missing' counts."""
    docs = []
    for i in range(n):
        d = {"id": "d%04d" % i, "title": "article %d" % i,
             "body": "archive text number %d about %s" % (i, "war" if i % 3 == 0 else "peace"),
             "lang": LANGS[i % 2], "collection": COLLECTIONS[i % 5],
             "tags": [TAGS[i % 3]] + ([TAGS[(i + 1) % 3]] if i % 4 == 0 else []),
             "price": round(i * 0.25, 2),
             "published": "%04d-%02d-%02d" % (2010 + i % 10, 1 + i % 12, 1 + i % 28),
             "open": i % 2 == 0}
        if i % 7 != 0:
            d["year"] = 1990 + (i * 13) % 35
        docs.append(d)
    return docs


def ids(answer):
    return [h["id"] for h in answer["hits"]]


def strip_time(answer):
    return {k: v for k, v in answer.items() if k != "took_ms"}


class AttributesTest(harness.E2ETestCase):
    """One daemon for the read-only checks, loaded once."""

    N = 300

    @classmethod
    def setUpClass(cls):
        cls.docs = make_docs(cls.N)
        cls.daemon = harness.Daemon().start()
        cls.class_daemons = (cls.daemon,)
        with cls.daemon.line() as c:
            a = c.call({"op": "create_index", "index": "books", "settings": SETTINGS})
            assert a.get("ok") and a["version"] == 1, a
            a = c.call({"op": "add", "index": "books", "docs": cls.docs})
            assert a.get("ok") and a["added"] == cls.N, a

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    def line(self, **req):
        req.setdefault("index", "books")
        with self.daemon.line() as c:
            return c.call(dict(req, op="search"))

    def http_get(self, **params):
        params.setdefault("index", "books")
        h = self.daemon.http()
        try:
            return h.get("/search?" + urllib.parse.urlencode(params))
        finally:
            h.close()

    def all_pages(self, page=50, **req):
        """Every hit of a search, page by page."""
        out, offset = [], 0
        while True:
            a = self.assertOk(self.line(limit=page, offset=offset, **req))
            out += ids(a)
            offset += page
            if offset >= a["total"]:
                return out, a["total"]

    def expect(self, pred):
        return sorted(d["id"] for d in self.docs if pred(d))

    # ---- filters and browsing ----

    def test_filters_browse_with_exact_totals(self):
        cases = [
            ("lang:ru", lambda d: d["lang"] == "ru"),
            ("year:>=2010", lambda d: d.get("year", -1) >= 2010),
            ("year:2000..2010", lambda d: 2000 <= d.get("year", -1) <= 2010),
            ("lang:en -collection:drafts", lambda d: d["lang"] == "en"
             and d["collection"] != "drafts"),
            ("tags:(poetry OR prose)", lambda d: "poetry" in d["tags"] or "prose" in d["tags"]),
            ("published:>=2015-03-01", lambda d: d["published"] >= "2015-03-01"),
            ("open:true price:<10", lambda d: d["open"] and d["price"] < 10),
        ]
        for flt, pred in cases:
            got, total = self.all_pages(q="", filter=flt)
            want = self.expect(pred)
            self.assertEqual(total, len(want), flt)
            self.assertEqual(sorted(got), want, flt)
            self.assertEqual(len(set(got)), len(got), "%s: a document twice across pages" % flt)

    def test_filter_with_text_and_in_the_query(self):
        want = self.expect(lambda d: d["lang"] == "ru" and d["body"].endswith("war"))
        a = self.assertOk(self.line(q="war", filter="lang:ru", limit=1000))
        self.assertEqual(sorted(ids(a)), want)
        a = self.assertOk(self.line(q="war lang:ru", limit=1000))  # the same clause in q
        self.assertEqual(sorted(ids(a)), want)

    # ---- sort ----

    def test_sort_by_attributes_is_stable_across_pages(self):
        got, total = self.all_pages(q="", filter="year:>=1990", sort="year:desc,price:asc",
                                    page=37)
        have_year = [d for d in self.docs if "year" in d]
        self.assertEqual(total, len(have_year))
        by_id = {d["id"]: d for d in self.docs}
        keys = [(-by_id[i]["year"], by_id[i]["price"]) for i in got]
        self.assertEqual(keys, sorted(keys))
        self.assertEqual(sorted(got), sorted(d["id"] for d in have_year))

    # ---- facets ----

    def test_facets_count_every_match(self):
        a = self.assertOk(self.line(q="", filter="collection:history",
                                    facets=["lang", "year:interval=10", "tags"], limit=0))
        match = [d for d in self.docs if d["collection"] == "history"]
        self.assertEqual(a["total"], len(match))
        lang = {}
        for d in match:
            lang[d["lang"]] = lang.get(d["lang"], 0) + 1
        self.assertEqual(a["facets"]["lang"], lang)
        decades = {}
        for d in match:
            if "year" in d:
                k = str(d["year"] // 10 * 10)
                decades[k] = decades.get(k, 0) + 1
        self.assertEqual(a["facets"]["year"], decades)
        self.assertEqual(list(a["facets"]["year"]), sorted(decades))  # interval buckets by value
        self.assertEqual(a["facet_stats"]["year"]["missing"],
                         sum(1 for d in match if "year" not in d))
        counts = list(a["facets"]["tags"].values())
        self.assertEqual(counts, sorted(counts, reverse=True))  # keyword buckets by count

    def test_issue_facets_alone_browse_every_document(self):
        # A faceted page's first view: no words, no filter, only the counts of the whole
        # index (Meilisearch's placeholder search). It was "at 0: empty query".
        a = self.assertOk(self.line(q="", facets=["lang", "open"], limit=3))
        self.assertEqual(a["total"], self.N)
        self.assertTrue(a["total_exact"])
        self.assertEqual(a["facets"]["lang"], {"en": self.N // 2, "ru": self.N // 2})
        self.assertEqual(a["facets"]["open"], {"false": self.N // 2, "true": self.N // 2})
        self.assertEqual(len(a["hits"]), 3)
        r = self.http_get(q="  ", facets="lang", limit=0)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["facets"]["lang"], a["facets"]["lang"])
        # a bad spec is now named, not hidden behind the empty query
        a = self.line(q="", facets=["lang:interval=1"])
        self.assertEqual(a["error"]["code"], "unknown_field", a)
        a = self.line(q="")  # nothing to browse by: still an empty query
        self.assertEqual(a["error"]["code"], "bad_query", a)
        cp = harness.run_searchq(["--index", "books", "--facets", "lang"], self.daemon)
        out, _ = harness.decode(cp)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        self.assertIn("%d documents" % self.N, out)
        self.assertRegex(out, r"\nlang\s+\S+ \d+")

    def test_box_text_without_a_word_browses_as_an_empty_box(self):
        # "?" or "!!!" typed into a search box with a filter chosen: the documents the filter
        # passes, as for an empty box (it answered 0 hits).
        empty = self.assertOk(self.line(q="", filter="lang:ru", facets=["open"], limit=5))
        self.assertEqual(empty["total"], self.N // 2)
        for text in ("?", " !!! ", "\"(", "-"):
            a = self.assertOk(self.line(q=text, syntax="simple", filter="lang:ru",
                                        facets=["open"], limit=5))
            self.assertEqual((a["total"], a["hits"], a["facets"]),
                             (empty["total"], empty["hits"], empty["facets"]), text)
        a = self.assertOk(self.line(q="?", syntax="simple"))  # nothing to browse by: no hits
        self.assertEqual(a["total"], 0, a)

    def test_facet_on_a_filtered_field_counts_as_if_unfiltered(self):
        a = self.assertOk(self.line(q="", filter="lang:ru", facets=["lang"], limit=0))
        self.assertEqual(a["facets"]["lang"], {"ru": self.N // 2, "en": self.N // 2})
        self.assertEqual(a["total"], self.N // 2)

    def test_both_protocols_answer_the_same(self):
        req = {"q": "peace", "filter": "year:1995..2015", "sort": "year:asc",
               "facets": ["collection", "year:interval=5"], "fields": ["year", "lang"],
               "limit": 20}
        line = self.assertOk(self.line(**req))
        r = self.http_get(q="peace", filter="year:1995..2015", sort="year:asc",
                          facets="collection,year:interval=5", fields="year,lang", limit=20)
        self.assertEqual(r.status, 200)
        self.assertEqual(strip_time(r.json), strip_time(line))
        h = self.daemon.http()
        try:
            body = dict(req, index="books")
            p = h.request("POST", "/search", body=body)
        finally:
            h.close()
        self.assertEqual(strip_time(p.json), strip_time(line))

    # ---- chosen fields ----

    def test_chosen_fields_in_hits(self):
        a = self.assertOk(self.line(q="", filter="year:>=1990", fields=["year", "tags", "nosuch"],
                                    limit=5))
        by_id = {d["id"]: d for d in self.docs}
        for h in a["hits"]:
            d = by_id[h["id"]]
            self.assertEqual(h["fields"], {"year": d["year"], "tags": d["tags"]})
            self.assertEqual(list(h["fields"]), ["year", "tags"])
        a = self.assertOk(self.line(q="war", limit=3))
        self.assertNotIn("fields", a["hits"][0])  # default unchanged

    # ---- searchq ----

    def test_searchq_filter_sort_facets_fields(self):
        cp = harness.run_searchq(["--index", "books", "--filter", "lang:en", "--sort", "year:desc",
                                  "--facets", "collection", "--fields", "year", "--limit", "3"],
                                 self.daemon)
        out, _ = harness.decode(cp)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        self.assertIn("%d documents (1-3 shown" % (self.N // 2), out)
        self.assertRegex(out, r"year: \d{4}")
        self.assertRegex(out, r"\ncollection\s+\S+ \d+")
        cp = harness.run_searchq(["--index", "books", "--filter", "year:20x0", "x"], self.daemon)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("bad_query", harness.decode(cp)[1])

    # ---- errors ----

    def test_undeclared_and_malformed_are_clear_errors(self):
        cases = [
            ({"filter": "nosuch:1"}, "unknown_field", "nosuch"),
            ({"sort": "nosuch:desc"}, "unknown_field", "nosuch"),
            ({"facets": ["nosuch"]}, "unknown_field", "nosuch"),
            ({"sort": "body"}, "unknown_field", "body"),
            ({"filter": "year:20x0"}, "bad_query", None),
            ({"filter": "year:2010..20"}, None, None),
            ({"filter": "published:2015-13-01"}, "bad_query", None),
            ({"facets": ["year:interval=0"]}, "bad_query", None),
            ({"facets": ["lang", "lang:size=2"]}, "bad_request", "lang"),
            ({"facets": {"lang": 1}}, "bad_request", "facets"),
            ({"filter": 2010}, "bad_request", "filter"),
            ({"fitler": "lang:ru"}, "bad_request", "fitler"),
            # a weight on a field no word is found in was taken and did nothing
            ({"weights": {"titel": 3}}, "unknown_field", "titel"),
            ({"weights": {"year": 3}}, "unknown_field", "int attribute"),
        ]
        for extra, code, named in cases:
            a = self.line(q="war", **extra)
            if code is None:  # a range that is empty is no error, only no hits
                self.assertOk(a, repr(extra))
                self.assertEqual(a["total"], 0, repr(extra))
                continue
            self.assertError(a, code, repr(extra))
            if named:
                self.assertIn(named, a["error"]["message"], repr(extra))
        # HTTP: the same codes, with their statuses
        r = self.http_get(q="", filter="nosuch:1")
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "unknown_field"))
        r = self.http_get(q="", sort="year:sideways")
        self.assertEqual(r.status, 400)
        r = self.http_get(q="war", weights="titel:3")
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "unknown_field"))
        self.assertOk(self.line(q="war", weights={"title": 3, "body": 0.5}))
        r = self.http_get(q="x", lmit="5")
        self.assertEqual((r.status, r.json["error"]["message"]), (400, "unknown parameter 'lmit'"))
        # still serving, and nothing changed
        self.assertEqual(self.line(q="", filter="lang:ru", limit=0)["total"], self.N // 2)


class ManagementTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()

    def call(self, **req):
        with self.daemon.line() as c:
            return c.call(req)

    def http(self, method, path, body=None):
        h = self.daemon.http()
        try:
            return h.request(method, path, body=body)
        finally:
            h.close()

    def test_create_list_get_set_drop_over_both_protocols(self):
        r = self.http("PUT", "/indexes/books", SETTINGS)
        self.assertEqual(r.status, 200, r.json)
        self.assertEqual(r.json, {"ok": True, "index": "books", "version": 1})
        self.assertError(self.call(op="create_index", index="books", settings={}), "index_exists")
        self.assertOk(self.call(op="create_index", index="papers", settings={}))
        self.assertOk(self.call(op="add", index="books", docs=make_docs(10)))
        r = self.http("GET", "/indexes")
        self.assertEqual([i["name"] for i in r.json["indexes"]], ["books", "papers"])
        self.assertEqual(r.json["indexes"][0]["docs"], 10)
        self.assertEqual(r.json["indexes"][0]["settings_version"], 1)
        self.assertEqual(self.call(op="indexes"), r.json)
        got = self.http("GET", "/indexes/books").json
        self.assertEqual(got["settings"]["fields"]["year"], {"type": "int"})
        self.assertEqual(got["stats"]["docs"], 10)
        self.assertEqual(self.call(op="get_settings", index="books")["settings"], got["settings"])
        # the same settings: same version; another: the next
        self.assertEqual(self.call(op="set_settings", index="books", settings=SETTINGS)["version"],
                         1)
        s2 = json.loads(json.dumps(SETTINGS))
        s2["fields"]["isbn"] = {"type": "keyword"}
        self.assertEqual(self.http("PUT", "/indexes/books", s2).json["version"], 2)
        # drop: HTTP and line; the directory goes, nothing else does
        self.assertOk(self.http("DELETE", "/indexes/papers").json)
        self.assertFalse(os.path.exists(os.path.join(self.daemon.data_dir, "papers")))
        self.assertError(self.call(op="drop_index", index="papers"), "unknown_index")
        self.assertEqual(self.http("GET", "/indexes/papers").status, 404)
        self.assertError(self.call(op="search", index="papers", q="x"), "unknown_index")
        self.assertOk(self.call(op="drop_index", index="books"))
        self.assertEqual(self.call(op="indexes")["indexes"], [])
        # a later write creates a new, empty index
        self.assertOk(self.call(op="add", index="books", doc={"id": "n1", "title": "new"}))
        self.assertEqual(self.call(op="get_settings", index="books")["version"], 0)
        self.assertEqual(self.call(op="stats", index="books")["docs"], 1)
        # and a restart agrees
        self.daemon.restart()
        self.assertEqual([i["name"] for i in self.call(op="indexes")["indexes"]], ["books"])

    def test_names_outside_the_data_dir_are_refused(self):
        # the data directory inside a directory of our own, so that "../x" is a known place
        base = tempfile.mkdtemp(prefix="searchd-e2e-outside-")
        self.addCleanup(shutil.rmtree, base, True)
        self.daemon.stop()
        self.daemon = self.new_daemon(data_dir=os.path.join(base, "data")).start()
        self.addCleanup(self.daemon.stop)  # cleanups run last first: stopped, then removed
        self.assertOk(self.call(op="set_settings", index="x", settings={}))
        for name in ("../x", "..", ".", "a/b", "", "-x", "X"):
            self.assertError(self.call(op="drop_index", index=name), "bad_request", name)
            self.assertError(self.call(op="set_settings", index=name, settings={}), "bad_request")
        for path in ("/indexes/..%2Fx", "/indexes/%2E%2E", "/indexes/a%2Fb"):
            r = self.http("DELETE", path)
            self.assertEqual(r.status, 400, path)
            r = self.http("PUT", path, {})
            self.assertEqual(r.status, 400, path)
        cp = harness.run_searchq(["drop", "../x"], self.daemon)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("bad index name", harness.decode(cp)[1])
        self.assertEqual(os.listdir(base), ["data"])  # nothing made or removed beside it
        self.assertEqual([i["name"] for i in self.call(op="indexes")["indexes"]], ["x"])

    def test_bad_settings_change_nothing(self):
        self.assertOk(self.call(op="set_settings", index="books", settings=SETTINGS))
        for bad in ({"fields": {"year": {"type": "integer"}}},
                    {"fields": {"title": {"type": "text", "weight": -1}}},
                    {"fieldz": {}}):
            self.assertError(self.call(op="set_settings", index="books", settings=bad),
                             "bad_request", repr(bad))
        r = self.http("PUT", "/indexes/books", "{\"fields\":")
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_json"))
        self.assertEqual(self.call(op="get_settings", index="books")["version"], 1)

    def test_wrong_typed_values_refuse_the_batch(self):
        self.assertOk(self.call(op="set_settings", index="books", settings=SETTINGS))
        self.assertOk(self.call(op="add", index="books", docs=make_docs(5)))
        before = self.call(op="get", index="books", id="d0001")
        bad = [{"id": "d0001", "title": "changed", "year": 2000},
               {"id": "x1", "title": "new", "year": "1999"}]
        a = self.assertError(self.call(op="add", index="books", docs=bad), "bad_request")
        self.assertIn("x1", a["error"]["message"])
        self.assertIn("year", a["error"]["message"])
        for doc in ({"id": "x2", "published": "2015-02-30"}, {"id": "x3", "open": "yes"},
                    {"id": "x4", "price": "cheap"}, {"id": "x5", "lang": 7}):
            self.assertError(self.call(op="add", index="books", doc=doc), "bad_request", repr(doc))
        r = self.http("POST", "/docs?index=books", {"id": "x6", "year": 1.5})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.call(op="stats", index="books")["docs"], 5)
        self.assertEqual(self.call(op="get", index="books", id="d0001"), before)
        self.assertError(self.call(op="get", index="books", id="x1"), "not_found")

    def test_issue_keyword_with_nul_is_refused_on_every_path(self):
        # A keyword holding NUL was stored, and no filter could name it: now every write path
        # refuses it naming the document and the field, and every filter path refuses NUL.
        self.assertOk(self.call(op="set_settings", index="books", settings=SETTINGS))
        self.assertOk(self.call(op="add", index="books", docs=make_docs(3)))
        for doc, named in (({"id": "z1", "lang": "r\u0000u"}, "field 'lang'"),
                           ({"id": "z1", "tags": ["a", "b\u0000"]}, "field 'tags'[1]")):
            a = self.assertError(self.call(op="add", index="books", docs=[doc]), "bad_request")
            self.assertIn("document 'z1': " + named + ": a keyword must not hold NUL",
                          a["error"]["message"])
            r = self.http("POST", "/docs?index=books", doc)
            self.assertEqual(r.status, 400, r.json)
            self.assertIn(named, r.json["error"]["message"])
        self.assertEqual(self.call(op="stats", index="books")["docs"], 3)
        a = self.call(op="search", index="books", q="", filter="lang:\"r\u0000u\"")
        self.assertError(a, "bad_request", "filter")
        self.assertIn("NUL", a["error"]["message"])
        r = self.http("GET", "/search?index=books&q=&filter=lang%3Ar%00u")
        self.assertEqual(r.status, 400, r.json)
        self.assertIn("NUL", r.json["error"]["message"])

    def test_set_settings_replaces_whole_and_merge_changes_only_what_it_names(self):
        self.assertOk(self.call(op="set_settings", index="books", settings=SETTINGS))
        self.assertOk(self.call(op="add", index="books", docs=make_docs(5)))
        # merge: one field added, one weight changed, synonyms set; the rest kept
        a = self.call(op="set_settings", index="books", merge=True,
                      settings={"fields": {"isbn": {"type": "keyword"}, "body": {"weight": 3}},
                                "synonyms": [{"synonyms": ["war", "conflict"]}]})
        self.assertEqual(self.assertOk(a)["version"], 2)
        got = self.call(op="get_settings", index="books")["settings"]
        want = json.loads(json.dumps(SETTINGS))
        want["fields"]["isbn"] = {"type": "keyword"}
        want["fields"]["body"] = {"type": "text", "weight": 3}
        want["fields"]["title"] = {"type": "text", "weight": 2}
        self.assertEqual(got["fields"], want["fields"])
        self.assertEqual(got["synonyms"], [{"synonyms": ["conflict", "war"]}])
        self.assertEqual(self.call(op="search", index="books", q="", filter="lang:ru",
                                   limit=0)["total"], 3)  # the attributes still filter
        # null removes; a merge leaving bad settings is refused and changes nothing
        a = self.call(op="set_settings", index="books", merge=True,
                      settings={"fields": {"isbn": None}, "synonyms": None})
        self.assertEqual(self.assertOk(a)["version"], 3)
        got = self.call(op="get_settings", index="books")["settings"]
        self.assertNotIn("isbn", got["fields"])
        self.assertNotIn("synonyms", got)
        for bad, code in (({"fields": {"year": {"type": "integer"}}}, "bad_request"),
                          ({"fields": {"new": {"weight": 2}}}, "bad_request")):
            a = self.call(op="set_settings", index="books", merge=True, settings=bad)
            self.assertError(a, code, repr(bad))
        self.assertError(self.call(op="set_settings", index="books", merge="yes", settings={}),
                         "bad_request", "merge")
        self.assertError(self.call(op="create_index", index="b2", merge=True, settings={}),
                         "bad_request", "merge")
        self.assertEqual(self.call(op="get_settings", index="books")["version"], 3)
        # PATCH /indexes/{name} is the HTTP merge
        r = self.http("PATCH", "/indexes/books", {"fields": {"body": {"weight": 4}}})
        self.assertEqual(r.status, 200, r.json)
        self.assertEqual(r.json["version"], 4)
        got = self.call(op="get_settings", index="books")["settings"]
        self.assertEqual(got["fields"]["body"], {"type": "text", "weight": 4})
        self.assertEqual(got["fields"]["lang"], SETTINGS["fields"]["lang"])
        # without merge (and on PUT) the settings sent are the settings: fields left out go
        r = self.http("PUT", "/indexes/books", {"typo": False})
        self.assertEqual(r.json["version"], 5)
        got = self.call(op="get_settings", index="books")["settings"]
        self.assertEqual(got, {"typo": False})
        a = self.call(op="search", index="books", q="", filter="lang:ru")
        self.assertError(a, "unknown_field", "lang")

    def test_searchq_manages_indexes(self):
        path = os.path.join(self.daemon.data_dir, "..", "settings-%d.json" % os.getpid())
        with open(path, "w", encoding="utf-8") as f:
            json.dump(SETTINGS, f)
        try:
            cp = harness.run_searchq(["settings", "books", "@" + path], self.daemon)
        finally:
            os.unlink(path)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        self.assertIn("settings version 1", harness.decode(cp)[0])
        cp = harness.run_searchq(["settings", "papers", '{"fields":{"year":{"type":"int"}}}'],
                                 self.daemon)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        cp = harness.run_searchq(["indexes"], self.daemon)
        out = harness.decode(cp)[0]
        self.assertRegex(out, r"(?m)^books\s+0\s+\d+\s+1$")
        self.assertRegex(out, r"(?m)^papers\s+0\s+\d+\s+1$")
        cp = harness.run_searchq(["settings", "books"], self.daemon)
        out = harness.decode(cp)[0]
        self.assertIn("settings version 1", out)
        self.assertIn('"published"', out)
        self.assertIn("reindex_pending", out)
        cp = harness.run_searchq(["settings", "books", "{not json"], self.daemon)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        # --merge changes only what the JSON names
        cp = harness.run_searchq(["settings", "--merge", "books",
                                  '{"fields":{"body":{"weight":5}},"typo":false}'], self.daemon)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        self.assertIn("settings version 2", harness.decode(cp)[0])
        got = self.call(op="get_settings", index="books")["settings"]
        self.assertEqual(got["fields"]["body"], {"type": "text", "weight": 5})
        self.assertEqual(got["fields"]["published"], SETTINGS["fields"]["published"])
        self.assertFalse(got["typo"])
        cp = harness.run_searchq(["--merge", "create", "x1", "{}"], self.daemon)
        self.assertEqual(cp.returncode, 2, harness.describe(cp))
        cp = harness.run_searchq(["drop", "papers"], self.daemon)
        self.assertEqual((cp.returncode, harness.decode(cp)[0]), (0, "dropped papers\n"))
        cp = harness.run_searchq(["--json", "indexes"], self.daemon)
        self.assertEqual([i["name"] for i in json.loads(cp.stdout)["indexes"]], ["books"])

    def test_issue_searchq_settings_says_reindex_only_when_one_is_pending(self):
        # A long --flush-ms keeps the imported documents in memory, so the re-index that a
        # field change starts cannot end (it waits for stale in-memory segments) before
        # searchq asks.
        self.daemon.stop()
        self.daemon = self.start_daemon(extra_args=["--flush-ms", "600000"])
        note = "re-indexed in the background"

        def settings(value):
            cp = harness.run_searchq(["settings", "books", json.dumps(value)], self.daemon)
            self.assertEqual(cp.returncode, 0, harness.describe(cp))
            return harness.decode(cp)[0]

        fields = {"fields": {"year": {"type": "int"}, "body": {"type": "text"}}}
        out = settings(fields)  # a new index: nothing to re-index
        self.assertEqual(out, "books: settings version 1\n")
        self.assertOk(self.call(op="add", index="books", docs=make_docs(20)))
        self.assertEqual(settings(fields), "books: settings version 1\n")  # the same settings
        synonyms = dict(fields, synonyms=[{"synonyms": ["war", "conflict"]}])
        self.assertEqual(settings(synonyms), "books: settings version 2\n")  # queries only
        self.assertFalse(self.call(op="stats", index="books")["reindex_pending"])
        # a weight is read by searches: applied at once, nothing re-indexed (it was, all of it)
        synonyms["fields"]["body"] = {"type": "text", "weight": 7}
        self.assertEqual(settings(synonyms), "books: settings version 3\n")
        self.assertFalse(self.call(op="stats", index="books")["reindex_pending"])
        synonyms["fields"]["lang"] = {"type": "keyword"}
        out = settings(synonyms)  # a field: the documents are indexed again
        self.assertIn("books: settings version 4 (", out)
        self.assertIn(note, out)

    def test_text_arrays_have_a_title_snippet_and_highlight(self):
        """A declared text field given an array of strings is indexed string by string; its
        hits showed an empty title and snippet and nothing marked. They show the strings joined
        by " · ", marked as any text."""
        self.assertOk(self.call(op="set_settings", index="arr", settings={
            "fields": {"title": {"type": "text"}, "body": {"type": "text"}}}))
        self.assertOk(self.call(op="add", index="arr", docs=[
            {"id": "a", "title": ["Zebra one", "two <zebras>"],
             "body": ["first zebra & co", "second", "third zebra"]},
            {"id": "b", "title": "plain zebra", "body": "a zebra here"}]))
        harness.wait_docs(self.daemon, 2, index="arr")
        a = self.assertOk(self.call(op="search", index="arr", q="zebra", highlight=True))
        hits = {h["id"]: h for h in a["hits"]}
        self.assertEqual(set(hits), {"a", "b"}, a)
        self.assertEqual(hits["a"]["title"], "Zebra one · two <zebras>", a)
        self.assertEqual(hits["a"]["snippet"], "first zebra & co · second · third zebra", a)
        self.assertEqual(hits["a"]["highlight"]["title"],
                         "<mark>Zebra</mark> one · two &lt;<mark>zebras</mark>&gt;", a)
        self.assertEqual(hits["a"]["highlight"]["snippets"],
                         ["first <mark>zebra</mark> &amp; co · second · third <mark>zebra</mark>"],
                         a)
        self.assertEqual(hits["b"]["highlight"]["title"], "plain <mark>zebra</mark>", a)
        a = self.assertOk(self.call(op="search", index="arr", q="third", highlight=True,
                                    highlight_offsets=True))
        hl = a["hits"][0]["highlight"]
        frag = hl["snippets"][0].encode()
        self.assertEqual([frag[o:o + n].decode() for o, n in hl["snippet_matches"][0]],
                         ["third"], a)
        # the stored value is the array, as given
        self.assertEqual(self.assertOk(self.call(op="get", index="arr", id="a"))["doc"]["title"],
                         ["Zebra one", "two <zebras>"])
        # without a snippet the hit has its title all the same (it was "")
        a = self.assertOk(self.call(op="search", index="arr", q="zebra", snippet=False))
        titles = {h["id"]: h["title"] for h in a["hits"]}
        self.assertEqual(titles, {"a": "Zebra one · two <zebras>", "b": "plain zebra"}, a)

    def test_unknown_parameters_on_every_op(self):
        line = [{"op": "search", "q": "x", "lmit": 1}, {"op": "add", "doc": {"id": "a"}, "x": 1},
                {"op": "get", "id": "a", "x": 1}, {"op": "delete", "id": "a", "x": 1},
                {"op": "stats", "x": 1}, {"op": "health", "x": 1}, {"op": "indexes", "x": 1},
                {"op": "create_index", "index": "a", "settings": {}, "x": 1},
                {"op": "set_settings", "index": "a", "settings": {}, "x": 1},
                {"op": "get_settings", "index": "a", "x": 1},
                {"op": "drop_index", "index": "a", "x": 1}, {"op": "auth", "key": "k", "x": 1}]
        for req in line:
            a = self.assertError(self.call(**req), "bad_request", req["op"])
            self.assertEqual(a["error"]["message"], "unknown parameter '%s'"
                             % ("lmit" if req["op"] == "search" else "x"))
        http = [("GET", "/search?q=x&x=1", None), ("POST", "/search", {"q": "x", "x": 1}),
                ("POST", "/docs?x=1", {"id": "a"}), ("GET", "/docs/a?x=1", None),
                ("DELETE", "/docs/a?x=1", None), ("GET", "/stats?x=1", None),
                ("GET", "/health?x=1", None), ("GET", "/indexes?x=1", None),
                ("PUT", "/indexes/a?x=1", {}), ("GET", "/indexes/a?x=1", None),
                ("DELETE", "/indexes/a?x=1", None)]
        for method, path, body in http:
            r = self.http(method, path, body)
            self.assertEqual(r.status, 400, path)
            self.assertEqual(r.json["error"]["message"], "unknown parameter 'x'", path)
        # nothing was created or stored by any of them
        self.assertEqual(self.call(op="indexes")["indexes"], [])


class SettingsChangeTest(harness.E2ETestCase):
    """Settings changes under load and under SIGKILL.

    Settings v1 index only the title; v2 also the body. Every document's body has the word
    "zebra" and its title does not, so a search for zebra finds none of them under v1 and all
    of them under v2: an answer in between would be a mix of old and new."""

    N = 3000
    V1 = {"fields": {"title": {"type": "text"}, "year": {"type": "int"}}}
    V2 = {"fields": {"title": {"type": "text"}, "body": {"type": "text"},
                     "year": {"type": "int"}}}

    def load(self, daemon):
        docs = [{"id": "z%05d" % i, "title": "volume %d" % i,
                 "body": "zebra " + ("stripes and savanna grass " * 20) + str(i),
                 "year": 1990 + i % 30} for i in range(self.N)]
        with daemon.line() as c:
            self.assertOk(c.call({"op": "set_settings", "index": "zoo", "settings": self.V1}))
            for i in range(0, self.N, 1000):
                self.assertOk(c.call({"op": "add", "index": "zoo", "docs": docs[i:i + 1000]}))
            self.assertEqual(c.call({"op": "search", "index": "zoo", "q": "zebra",
                                     "limit": 0})["total"], 0)

    def zebras(self, c):
        return c.call({"op": "search", "index": "zoo", "q": "zebra", "limit": 0})

    def wait_reindexed(self, daemon):
        def done():
            with daemon.line() as c:
                st = c.call({"op": "stats", "index": "zoo"})
            return st.get("ok") and not st["reindex_pending"]
        self.assertTrue(harness.wait_until(done, 60 * harness.TIME_SCALE, 0.05),
                        "re-index not done")

    def check_all_there(self, daemon):
        with daemon.line() as c:
            got = c.call({"op": "get_settings", "index": "zoo"})
            self.assertEqual(got["version"], 2)
            self.assertEqual(got["stats"]["docs"], self.N)
            self.assertEqual(self.zebras(c)["total"], self.N)
            self.assertEqual(c.call({"op": "search", "index": "zoo", "q": "volume",
                                     "limit": 0})["total"], self.N)
            # writes are checked against v2 now
            self.assertError(c.call({"op": "add", "index": "zoo",
                                     "doc": {"id": "bad", "year": "x"}}), "bad_request")

    def test_answers_switch_atomically_while_searching(self):
        daemon = self.start_daemon()
        self.load(daemon)
        totals, errors, stop = [], [], threading.Event()

        def searcher():
            with daemon.line() as c:
                while not stop.is_set():
                    a = self.zebras(c)
                    if a.get("ok"):
                        totals.append(a["total"])
                    else:
                        errors.append(a)

        t = threading.Thread(target=searcher)
        t.start()
        try:
            harness.wait_until(lambda: len(totals) >= 20, 30 * harness.TIME_SCALE)
            with daemon.line() as c:
                self.assertEqual(c.call({"op": "set_settings", "index": "zoo",
                                         "settings": self.V2})["version"], 2)
            self.wait_reindexed(daemon)
            n = len(totals)
            harness.wait_until(lambda: len(totals) >= n + 20, 30 * harness.TIME_SCALE)
        finally:
            stop.set()
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(set(totals) - {0, self.N}, set(), "an answer mixed old and new")
        first_new = totals.index(self.N)
        self.assertEqual(totals[first_new:], [self.N] * (len(totals) - first_new),
                         "went back to the old settings")
        self.assertGreater(first_new, 0)
        self.check_all_there(daemon)

    def test_kill9_during_reindex(self):
        daemon = self.start_daemon()
        self.load(daemon)
        with daemon.line() as c:
            self.assertOk(c.call({"op": "set_settings", "index": "zoo", "settings": self.V2}))
            pending = c.call({"op": "stats", "index": "zoo"})["reindex_pending"]
        daemon.kill9()
        # 3000 documents of ~500 bytes take far longer to re-index than one stats call
        self.assertTrue(pending, "the re-index was over before the kill")
        daemon.start()
        self.wait_reindexed(daemon)
        self.check_all_there(daemon)

    def test_kill9_right_after_a_settings_change(self):
        daemon = self.start_daemon()
        self.load(daemon)
        with daemon.line() as c:
            self.assertOk(c.call({"op": "set_settings", "index": "zoo", "settings": self.V2}))
        daemon.kill9()
        daemon.start()
        with daemon.line() as c:
            self.assertEqual(c.call({"op": "get_settings", "index": "zoo"})["version"], 2)
        self.wait_reindexed(daemon)
        self.check_all_there(daemon)


if __name__ == "__main__":
    harness.main()
