#!/usr/bin/env python3
"""test_synonyms.py: an index's synonyms and stopwords (issue 12 item 6) over both protocols and
searchq.

The documents are indexed and flushed to segments before the index has settings; the settings
then arrive over the wire (line op set_settings, then HTTP PUT /indexes/NAME to change them), so
every match through a synonym shows that the settings apply at query time, and the unchanged
segment files and merge counters show that nothing is re-indexed. A control changes the fields
too, and there the segments are rebuilt. A Meilisearch map of synonyms, in an index of its own,
is one one-way entry per key, read back as those entries.
"""

import json
import os

import harness
from harness import E2ETestCase, decode, describe, run_searchq

SETTINGS = {
    "stopwords": {"lists": ["en", "ru"]},
    "synonyms": [
        {"synonyms": ["ИИ", "искусственный интеллект"]},
        {"root": "ноутбук", "synonyms": ["лэптоп"]},
        {"synonyms": ["дипломатия", "diplomacy"]},
    ],
}

DOCS = [
    {"id": "ai-short", "title": "ИИ в медицине", "body": "ИИ помогает врачам читать снимки."},
    {"id": "ai-long", "title": "Обзор", "body": "Системы искусственного интеллекта учатся на "
                                                "данных, помогают врачам."},
    # "ИИ" stems to "и", the conjunction, which does not stand for it: typed alone or as a
    # synonym, it goes by its form and does not find this one
    {"id": "conj", "title": "Союз", "body": "Кошки и собаки."},
    {"id": "notebook", "title": "Покупка", "body": "Купил новый ноутбук для работы."},
    {"id": "laptop", "title": "Покупка", "body": "Купил новый лэптоп для работы."},
    {"id": "band", "title": "The Who", "body": "The Who is a band from London."},
    {"id": "dip-ru", "title": "Цифровая дипломатия", "body": "Дипломатия уходит в сеть."},
    {"id": "dip-en", "title": "Digital diplomacy", "body": "Diplomacy goes online."},
]


def segment_files(data_dir):
    d = os.path.join(data_dir, "default")
    return {f for f in os.listdir(d) if f.startswith("seg-") and f.endswith(".seg")}


class SynonymsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = harness.Daemon(name="searchd (synonyms)")
        cls.class_daemons = (cls.daemon,)
        try:
            cls.daemon.start()
            with cls.daemon.line() as c:
                for d in DOCS:
                    a = c.call({"op": "add", "doc": d})
                    assert a.get("ok"), a
            harness.wait_docs(cls.daemon, len(DOCS))
            cls.before = cls.line_ids_of(cls.daemon, "ИИ")
            cls.daemon.term()
            cls.segments = segment_files(cls.daemon.data_dir)
            assert cls.segments, "no segment written at shutdown"
            cls.daemon.start()
            with cls.daemon.line() as c:
                a = c.call({"op": "set_settings", "index": "default", "settings": SETTINGS})
                assert a.get("ok") and a["version"] == 1, a
        except Exception:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    @staticmethod
    def line_ids_of(daemon, q, **opts):
        with daemon.line() as c:
            a = c.call(dict({"op": "search", "q": q, "limit": 100}, **opts))
        assert a.get("ok"), a
        return [h["id"] for h in a["hits"] if "missing" not in h]  # those with every word

    def line_ids(self, q, **opts):
        return self.line_ids_of(self.daemon, q, **opts)

    def http_ids(self, q, **params):
        http = self.daemon.http()
        try:
            r = http.search(q, limit=100, **params)
            self.assertEqual(r.status, 200, r)
            return [h["id"] for h in r.json["hits"]]
        finally:
            http.close()

    def searchq_ids(self, *args):
        cp = run_searchq(["--json", "--limit", "100"] + list(args), self.daemon)
        self.assertEqual(cp.returncode, 0, describe(cp))
        hits = json.loads(cp.stdout.decode("utf-8"))["hits"]
        return [h["id"] for h in hits if "missing" not in h]  # those with every word

    def all_ways(self, q):
        """The ids of q through the line protocol (full and simple syntax), HTTP and searchq; of
        the simple syntax, those with every word (the page may go on with most of them)."""
        got = {"line": self.line_ids(q), "line simple": self.line_ids(q, syntax="simple"),
               "http": self.http_ids(q), "searchq": self.searchq_ids(q)}
        first = got["line"]
        for how, ids in got.items():
            self.assertEqual(ids, first, "%r: %s %r, line %r" % (q, how, ids, first))
        return first

    def test_nothing_is_reindexed(self):
        # Before the settings "ИИ" found only what says ИИ; with them, its synonym too (below),
        # from the very segment files written before: no re-index job ran, none was needed.
        self.assertEqual(self.before, ["ai-short"])
        self.assertEqual(self.all_ways("ИИ")[:2], ["ai-short", "ai-long"])
        with self.daemon.line() as c:
            st = self.assertOk(c.call({"op": "stats"}), "stats")
        self.assertEqual((st["merges_done"], st["merges_running"]), (0, 0), st)
        self.assertEqual(segment_files(self.daemon.data_dir), self.segments)

    def test_control_a_change_of_fields_does_reindex(self):
        # The same documents and the same check, but a SETTINGS whose index version moved (a
        # change of fields): the segment files are rebuilt. What the test above sees is thus
        # the absence of a re-index, not a check that could not see one.
        d = self.start_daemon()
        with d.line() as c:
            for doc in DOCS:
                self.assertOk(c.call({"op": "add", "doc": doc}), "add")
        harness.wait_docs(d, len(DOCS))
        d.term()
        before = segment_files(d.data_dir)
        self.assertTrue(before)
        d.start()
        fields = {"fields": {"title": {"type": "text", "weight": 2}, "body": {"type": "text"}}}
        with d.line() as c:
            self.assertOk(c.call({"op": "set_settings", "index": "default",
                                  "settings": dict(SETTINGS, **fields)}), "set_settings")
        rebuilt = harness.wait_until(lambda: not (segment_files(d.data_dir) & before),
                                     30 * harness.TIME_SCALE)
        self.assertTrue(rebuilt, "%r still served" % (segment_files(d.data_dir) & before))

    def test_two_way_multi_word_synonym(self):
        self.assertEqual(self.all_ways("ИИ"), ["ai-short", "ai-long"])
        # the multi-word member, inflected, finds the short one; what was typed ranks first
        self.assertEqual(self.all_ways("искусственного интеллекта"), ["ai-long", "ai-short"])
        self.assertEqual(self.all_ways("ИИ врачам"), ["ai-short", "ai-long"])

    def test_a_typo_finds_the_synonyms_of_its_correction(self):
        # the corrected reading: a misspelt word is what it corrects to, synonyms and all,
        # those below the word itself
        self.assertEqual(self.all_ways("дипломатия"), ["dip-ru", "dip-en"])
        self.assertEqual(self.all_ways("дипломатея"), ["dip-ru", "dip-en"])
        self.assertEqual(self.all_ways("искуственного интеллекта"), ["ai-long", "ai-short"])
        with self.daemon.line() as c:
            a = c.call({"op": "search", "q": "дипломатея", "limit": 10})
        self.assertEqual(a.get("did_you_mean"), "дипломатия", a)

    def test_one_way_synonym(self):
        self.assertEqual(self.all_ways("ноутбук"), ["notebook", "laptop"])
        self.assertEqual(self.all_ways("ноутбуки"), ["notebook", "laptop"])
        self.assertEqual(self.all_ways("лэптоп"), ["laptop"])

    def test_stopwords_dropped_but_never_empty_the_query(self):
        self.assertEqual(self.all_ways("the лэптоп"), ["laptop"])
        self.assertEqual(self.all_ways("купил и лэптоп"), ["laptop"])
        self.assertEqual(self.all_ways("the who"), ["band"])

    def test_search_box_as_you_type(self):
        # A search box sends its text as typed, the last word being typed (prefix_last). That
        # word counts as the word it is: a stopword goes (its completions alone, "the*", found
        # nothing beside "лэптоп"), and it may end a multi-word synonym.
        def box_ids(q):
            got = {"line": self.line_ids(q, syntax="simple", prefix_last=True,
                                         drop_words=False),
                   "http": self.http_ids(q, syntax="simple", prefix_last="true",
                                         drop_words="false")}
            self.assertEqual(got["line"], got["http"], "%r: %r" % (q, got))
            return got["line"]
        self.assertEqual(box_ids("купил лэптоп the"), ["laptop"])
        self.assertEqual(box_ids("купил лэптоп the "), ["laptop"])
        self.assertEqual(box_ids("искусственный интеллект"), ["ai-long", "ai-short"])
        self.assertEqual(box_ids("искусственного интеллекта"), ["ai-long", "ai-short"])

    def test_a_change_over_http_applies_to_the_next_search(self):
        http = self.daemon.http()
        try:
            changed = dict(SETTINGS, synonyms=SETTINGS["synonyms"] + [
                {"synonyms": ["лэптоп", "ноутбук"]}])
            r = http.request("PUT", "/indexes/default", changed)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.all_ways("лэптоп"), ["laptop", "notebook"])
            r = http.request("PUT", "/indexes/default", SETTINGS)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.all_ways("лэптоп"), ["laptop"])
        finally:
            http.close()
        self.assertEqual(segment_files(self.daemon.data_dir), self.segments)

    def test_meilisearch_map_is_one_way_per_key(self):
        # DATA.md: a Meilisearch map {"a": ["b", "c"]} is one one-way entry per key. In an index
        # of its own, so the settings of "default" that the other cases read stay as they are.
        ix = "synmap"
        docs = [{"id": "notebook", "body": "Купил новый ноутбук."},
                {"id": "laptop", "body": "Купил новый лэптоп."},
                {"id": "en", "body": "Bought a new laptop."}]
        settings = {"synonyms": {"ноутбук": ["лэптоп", "laptop"]}}
        canonical = {"synonyms": [{"root": "ноутбук", "synonyms": ["laptop", "лэптоп"]}]}
        with self.daemon.line() as c:
            a = self.assertOk(c.call({"op": "set_settings", "index": ix, "settings": settings}))
            self.assertEqual(a["version"], 1)
            for d in docs:
                self.assertOk(c.call({"op": "add", "index": ix, "doc": d}), "add")
            # stored and answered as its array of one-way entries; the equal array (or the map
            # again) is the same settings, no new version
            got = self.assertOk(c.call({"op": "get_settings", "index": ix}))
            self.assertEqual((got["settings"], got["version"]), (canonical, 1))
            for again in (canonical, settings):
                a = self.assertOk(c.call({"op": "set_settings", "index": ix, "settings": again}))
                self.assertEqual(a["version"], 1)
            # refused naming the key: the settings stay
            refused = (
                ({"ноутбук": ["ноутбук"]},
                 "synonyms['ноутбук']: the key 'ноутбук' is also one of its synonyms"),
                ({"a": "b"}, "synonyms['a']: expected an array of strings"),
                ({"a": []}, "synonyms['a']: a key needs at least one synonym"),
                ({"a": ["!!!"]}, "synonyms['a']: '!!!' holds no word"))
            for bad, want in refused:
                a = self.assertError(c.call({"op": "set_settings", "index": ix,
                                             "settings": {"synonyms": bad}}), "bad_request")
                self.assertIn(want, a["error"]["message"])
            got = self.assertOk(c.call({"op": "get_settings", "index": ix}))
            self.assertEqual((got["settings"], got["version"]), (canonical, 1))
        harness.wait_docs(self.daemon, len(docs), index=ix)

        def ids(q):
            with self.daemon.line() as c:
                a = self.assertOk(c.call({"op": "search", "index": ix, "q": q, "limit": 10}))
            return [h["id"] for h in a["hits"]]

        self.assertEqual(ids("ноутбук")[0], "notebook")  # the typed word first
        self.assertEqual(sorted(ids("ноутбук")), ["en", "laptop", "notebook"])
        self.assertEqual(ids("лэптоп"), ["laptop"])  # not the reverse
        self.assertEqual(ids("laptop"), ["en"])
        # the report's own command: searchq settings with a map
        cp = run_searchq(["settings", "synmap2", '{"synonyms":{"a":["b","c"]}}'], self.daemon)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("settings version 1", decode(cp)[0])
        with self.daemon.line() as c:
            got = self.assertOk(c.call({"op": "get_settings", "index": "synmap2"}))
        self.assertEqual(got["settings"], {"synonyms": [{"root": "a", "synonyms": ["b", "c"]}]})

    def test_highlight_marks_the_synonym(self):
        with self.daemon.line() as c:
            a = self.assertOk(c.call({"op": "search", "q": "ИИ", "highlight": True}), "hl")
        hl = {h["id"]: h["highlight"] for h in a["hits"]}
        self.assertIn("<mark>искусственного</mark> <mark>интеллекта</mark>",
                      hl["ai-long"]["snippets"][0], hl)
        cp = run_searchq(["--highlight", "ИИ"], self.daemon)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("[искусственного] [интеллекта]", decode(cp)[0], describe(cp))


if __name__ == "__main__":
    harness.main()
