#!/usr/bin/env python3
"""test_search.py: the sample collection, imported with searchq, searched the way a user would.

Covers issue 3's "Must show" rankings (цифровая дипломатия and its inflections, "industrial
revolutions"), the query language (phrase, OR, -exclusion, prefix*, field:word, parentheses),
get/delete/stats through searchq and through HTTP, limit/offset paging, and searchq's exit
statuses (1 for a server error such as a malformed query, 2 for usage, 3 when nothing listens).

One daemon with the sample imported is shared by the class; tests that write use ids of their
own and remove them again, so the sample stays at SAMPLE_DOCS documents.
"""

import json
import os
import re
import tempfile

import harness
from harness import E2ETestCase, decode, describe, run_searchq

DIPLOMACY = "ru-digital-diplomacy"
INDUSTRIAL = "en-industrial-revolution"


class SearchTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = {d["id"]: d for d in harness.load_jsonl(
            os.path.join(harness.CONFIG.sample, "docs.jsonl"))}
        cls.sample_count = len(cls.docs) + len(harness.sample_files()) - 1
        cls.daemon = harness.Daemon(name="searchd (shared)")
        cls.class_daemons = (cls.daemon,)
        try:
            cls.daemon.start()
            cls.import_run = run_searchq(["import"] + harness.sample_files(), cls.daemon)
            harness.wait_docs(cls.daemon, cls.sample_count)  # the tests check the count
        except Exception:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    # ---- helpers ----

    def searchq(self, *args, **kw):
        return run_searchq(list(args), self.daemon, **kw)

    def search(self, query, *opts):
        """searchq --json QUERY: the parsed answer; fails the test on a non-zero exit."""
        cp = self.searchq("--json", *opts, "--", query) if query.startswith("-") else \
            self.searchq("--json", *opts, query)
        self.assertEqual(cp.returncode, 0, describe(cp))
        answer = json.loads(cp.stdout.decode("utf-8"))
        self.assertOk(answer, "search %r" % query)
        self.assertIsInstance(answer.get("hits"), list, "search %r: no hits array" % query)
        return answer

    def ids(self, query, *opts):
        return [h["id"] for h in self.search(query, *opts)["hits"]]

    def line_call(self, req):
        with self.daemon.line() as c:
            return c.call(req)

    def stats_docs(self):
        return self.assertOk(self.line_call({"op": "stats"}), "stats")["docs"]

    # ---- import ----

    def test_import_reports_counts(self):
        cp = self.import_run
        self.assertEqual(cp.returncode, 0, describe(cp))
        out, _ = decode(cp)
        self.assertIn("imported %d documents" % self.sample_count, out, describe(cp))
        self.assertIn("%d added" % self.sample_count, out, describe(cp))
        self.assertEqual(self.stats_docs(), self.sample_count)

    def test_import_again_replaces(self):
        notes = harness.sample_files()[1:]
        cp = self.searchq("import", *notes)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("0 added, %d replaced" % len(notes), decode(cp)[0], describe(cp))
        self.assertEqual(self.stats_docs(), self.sample_count, "re-import changed the count")

    def test_import_bad_line_names_file_and_line_and_imports_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"id":"bad-1","title":"one"}\n\n{"id":"bad-2","title":"two"}\n')
                f.write('{"id":"bad-3","title": oops}\n')
            cp = self.searchq("import", path)
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn("bad.jsonl:4", decode(cp)[1], describe(cp))
        self.assertEqual(self.stats_docs(), self.sample_count, "a refused import stored docs")
        self.assertError(self.line_call({"op": "get", "id": "bad-1"}), "not_found")

    def test_issue_import_json_c_takes_searchd_refuses_named_before_sending(self):
        """A line that json-c reads and searchd refuses (a malformed number, NaN, a lone
        surrogate escape, a key twice...) passed the check before sending: the import sent the
        batches before it, which were stored, and stopped at the server's refusal, naming the
        batch's lines (bad.jsonl:1001-1500) and an offset into the request. Now each is named
        by its line and byte, before anything is sent, as a .json document is."""
        bad = ['"n":01', '"n":1.', '"n":1.e5', '"n":1e999', '"n":99999999999999999999',
               '"n":NaN', '"n":-Infinity', '"t":tRue', '"t":"\\ud800"', '"t":"\\udc00x"',
               '"a\\u0000b":1', '"id":"again"', '"q":1,"\\u0071":2', '"t":"x",',
               '"v":' + "[" * 30 + "]" * 30]
        with tempfile.TemporaryDirectory() as tmp:
            for i, member in enumerate(bad):
                path = os.path.join(tmp, "bad.jsonl")
                with open(path, "w", encoding="utf-8") as f:
                    for n in range(1, 1201):  # past two batches of 500
                        f.write('{"id":"jc-%d","title":"fine"}\n' % n)
                    f.write('{"id":"jc-bad",%s}\n' % member)
                cp = self.searchq("--index", "jcheck", "import", path)
                self.assertEqual(cp.returncode, 1, member + ": " + describe(cp))
                err = decode(cp)[1]
                self.assertRegex(err, r"^searchq: %s:1201: bad JSON at byte \d+: " % re.escape(path),
                                 member)
                self.assertIn("nothing was imported", err, member)
                self.assertNotIn("server error", err, member)
                with open(os.path.join(tmp, "bad.json"), "w", encoding="utf-8") as f:
                    f.write('[{"id":"jc-1"},\n{"id":"jc-bad",%s}]' % member)
                cp = self.searchq("--index", "jcheck", "import", os.path.join(tmp, "bad.json"))
                self.assertEqual(cp.returncode, 1, member + ": " + describe(cp))
                self.assertIn("bad.json:2: document 2: bad JSON at byte", decode(cp)[1], member)
        self.assertError(self.line_call({"op": "get", "index": "jcheck", "id": "jc-1"}),
                         "unknown_index")

    def test_issue_import_messages_bom_directory_empty_and_bad_names(self):
        with tempfile.TemporaryDirectory() as tmp:
            def put(name, data):
                path = os.path.join(tmp.encode(), name)
                with open(path, "wb") as f:
                    f.write(data)
                return path.decode("utf-8", "surrogateescape")

            # a byte order mark at the start of a .jsonl file is dropped, as in a .txt
            bom = put(b"bom.jsonl", b'\xef\xbb\xbf{"id":"bom-1","title":"with a mark"}\n')
            cp = self.searchq("--index", "msgs", "import", bom)
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertEqual(self.line_call({"op": "get", "index": "msgs", "id": "bom-1"})
                             ["doc"]["title"], "with a mark")
            # a directory is named as one
            os.mkdir(os.path.join(tmp, "dir.jsonl"))
            cp = self.searchq("--index", "msgs", "import", os.path.join(tmp, "dir.jsonl"))
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn("dir.jsonl: is a directory", decode(cp)[1])
            # an empty file of any kind is skipped, said on stderr, and not an error
            empties = [put(b"e.jsonl", b""), put(b"e.txt", b""), put(b"e.md", b"\n  \n#\n")]
            cp = self.searchq("--index", "msgs", "import", *empties)
            self.assertEqual(cp.returncode, 0, describe(cp))
            out, err = decode(cp)
            self.assertIn("nothing to import", out)
            for path in empties:
                self.assertIn("%s: skipped: no " % path, err)
            cp = self.searchq("--index", "msgs", "import", empties[1], bom)
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertIn("imported 1 document from 2 files", decode(cp)[0])
            # a byte that is not UTF-8 is named by its line and its byte in that line (it was
            # "at offset 11", an offset into the file beside a line number)
            cp = self.searchq("--index", "msgs", "import", put(b"u.txt", b"Title\nbody \xff\n"))
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn("u.txt:2: not valid UTF-8 (byte 0xff, byte 6 of the line)",
                          decode(cp)[1])
            # a text file whose name (its id) is not UTF-8 is named before anything is sent
            bad = put(b"bad\xffname.txt", b"Title\nbody\n")
            cp = self.searchq("--index", "msgs", "import", bom, bad)
            self.assertEqual(cp.returncode, 1, describe(cp))
            err = decode(cp)[1]
            self.assertIn("file name is not valid UTF-8", err)
            self.assertIn("nothing was imported", err)
        self.line_call({"op": "drop_index", "index": "msgs"})

    def test_import_json_array_and_single_document(self):
        # A .json file: an array of documents, pretty-printed as exporters write them, or one
        # document; read as a stream, each document checked as a .jsonl line is.
        docs = [{"id": "arr-1", "title": "Цифровая ] дипломатия",
                 "body": "braces } and \"quotes\", a backslash \\ and a tab\t"},
                {"id": "arr-2", "title": "second", "tags": ["a", "b"]},
                {"id": 3, "title": "numbered"}]
        single = {"id": "one-1", "title": "alone\nin its file"}
        with tempfile.TemporaryDirectory() as tmp:
            arr = os.path.join(tmp, "docs.json")
            with open(arr, "w", encoding="utf-8") as f:
                json.dump(docs, f, ensure_ascii=False, indent=2)
            one = os.path.join(tmp, "one.json")
            with open(one, "w", encoding="utf-8") as f:
                json.dump(single, f, indent=4)
            cp = self.searchq("--index", "jsonimp", "import", arr, one)
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertIn("imported 4 documents from 2 files: 4 added", decode(cp)[0])
            for d in docs + [single]:
                got = self.line_call({"op": "get", "index": "jsonimp", "id": str(d["id"])})
                want = dict(d, id=str(d["id"]))
                self.assertEqual({k: self.assertOk(got)["doc"].get(k) for k in want}, want, got)
            # A fault names the line and the document, and nothing is sent.
            bad = os.path.join(tmp, "bad.json")
            with open(bad, "w", encoding="utf-8") as f:
                f.write('[\n  {"id": "bad-1"},\n\n  {"title": "no id"}\n]\n')
            cp = self.searchq("--index", "jsonimp", "import", bad)
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn('bad.json:4: document 2: the document has no "id"', decode(cp)[1])
            with open(bad, "w", encoding="utf-8") as f:
                f.write('[{"id": "bad-1"}, {"id": "bad-2"},]')
            cp = self.searchq("--index", "jsonimp", "import", bad)
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn("bad.json:1: a comma with no document after it", decode(cp)[1])
            self.assertError(self.line_call({"op": "get", "index": "jsonimp", "id": "bad-1"}),
                             "not_found")
        self.line_call({"op": "drop_index", "index": "jsonimp"})

    def test_import_csv_typed_by_header_and_settings(self):
        # A .csv file (RFC 4180: quoted commas, doubled quotes, line breaks in quotes, CRLF):
        # its columns typed by the index's declared fields, or by the header ("n:number"), and
        # so filterable as the types they are; empty cells are no value.
        settings = {"fields": {"title": {"type": "text"}, "year": {"type": "int"},
                               "open": {"type": "bool"}, "lang": {"type": "keyword"}}}
        self.assertOk(self.line_call({"op": "create_index", "index": "csvimp",
                                      "settings": settings}))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "books.csv")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write('\ufeffid,title,year,open,lang,n:number\r\n'
                        'b1,"Война и мир, том 1",1869,true,ru,1.5\r\n'
                        'b2,"The ""Idiot""\r\nsecond line",1869,FALSE,en,\r\n'
                        'b3,Anna Karenina,1878,,,-2\r\n')
            cp = self.searchq("--index", "csvimp", "import", path)
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertIn("imported 3 documents from 1 file: 3 added", decode(cp)[0])
            got = {i: self.assertOk(self.line_call({"op": "get", "index": "csvimp", "id": i}))
                   ["doc"] for i in ("b1", "b2", "b3")}
            self.assertEqual(got["b1"], {"id": "b1", "title": "Война и мир, том 1",
                                         "year": 1869, "open": True, "lang": "ru", "n": 1.5})
            self.assertEqual(got["b2"], {"id": "b2", "title": 'The "Idiot"\r\nsecond line',
                                         "year": 1869, "open": False, "lang": "en"})
            self.assertEqual(got["b3"], {"id": "b3", "title": "Anna Karenina", "year": 1878,
                                         "n": -2})
            a = self.line_call({"op": "search", "index": "csvimp", "q": "",
                                "filter": "year:1870..1900"})
            self.assertEqual([h["id"] for h in self.assertOk(a)["hits"]], ["b3"], a)
            # A cell not of its column's type names the line, row and column; nothing is sent.
            with open(path, "w", encoding="utf-8") as f:
                f.write("id,year\nb4,1900\nb5,19th century\n")
            cp = self.searchq("--index", "csvimp", "import", path)
            self.assertEqual(cp.returncode, 1, describe(cp))
            self.assertIn("books.csv:3: row 2, column 'year': expected an integer",
                          decode(cp)[1])
            self.assertError(self.line_call({"op": "get", "index": "csvimp", "id": "b4"}),
                             "not_found")
            # An index not yet created has no declared fields: its columns are text.
            with open(path, "w", encoding="utf-8") as f:
                f.write("id,year\nb6,1900\n")
            cp = self.searchq("--index", "csvnew", "import", path)
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertEqual(self.line_call({"op": "get", "index": "csvnew", "id": "b6"})
                             ["doc"]["year"], "1900")
        for name in ("csvimp", "csvnew"):
            self.line_call({"op": "drop_index", "index": name})

    def test_import_markdown_titles(self):
        expect = {
            "reading-list": ("Reading list: digital archives", "A short list"),
            "zametki-arkhivista": ("Заметки архивиста о каталогизации", "Хороший каталог"),
            "editorial-style": ("Editorial style for the archive", "Titles are written"),
            "glossary": ("Глоссарий поиска / Search glossary", "**Стемминг"),
        }
        for doc_id, (title, body_start) in expect.items():
            cp = self.searchq("--json", "get", doc_id)
            self.assertEqual(cp.returncode, 0, describe(cp))
            doc = json.loads(cp.stdout)["doc"]
            self.assertEqual(doc.get("title"), title, doc_id)
            self.assertTrue(doc.get("body", "").startswith(body_start),
                            "%s: body starts %r" % (doc_id, doc.get("body", "")[:60]))

    # ---- issue 3 "Must show" ----

    def test_must_show_digital_diplomacy_ranks_first(self):
        hits = self.ids("цифровая дипломатия")
        self.assertTrue(hits, "no hits for цифровая дипломатия")
        self.assertEqual(hits[0], DIPLOMACY, "ranking: %s" % hits)

    def test_must_show_inflected_russian_forms_find_it(self):
        hits = self.ids("цифровой дипломатии")
        self.assertTrue(hits and hits[0] == DIPLOMACY, "цифровой дипломатии: %s" % hits)
        hits = self.ids("дипломатию")
        self.assertIn(DIPLOMACY, hits[:3], "дипломатию: %s" % hits)
        # The passing mentions are found too: that is what makes the ranking matter.
        self.assertIn("ru-vienna-congress", hits, "дипломатию: %s" % hits)

    def test_must_show_industrial_revolutions(self):
        answer = self.search("industrial revolutions")
        hits = answer["hits"]
        self.assertEqual(answer.get("every_word"), 1, answer)
        self.assertTrue(hits and hits[0]["id"] == INDUSTRIAL, "industrial revolutions: %s" % hits)
        self.assertNotIn("missing", hits[0])
        # Documents with every word come first; a box's page goes on with those that lack a
        # word, each naming it (docs/QUERY.md "Most words"); the full syntax requires all.
        policy = [h for h in hits if h["id"] == "en-industrial-policy"]
        self.assertEqual([h.get("missing") for h in policy], [["revolutions"]], hits)
        self.assertEqual(hits[1:], [h for h in hits if "missing" in h], hits)
        full = self.ids("industrial revolutions", "--syntax", "full")
        self.assertNotIn("en-industrial-policy", full, "the full syntax: all words must match")
        cp = self.searchq("industrial", "revolutions")  # said to a person
        self.assertIn("(1 with every word, then those with most of them)", decode(cp)[0],
                      describe(cp))

    def test_human_output_lists_rank_score_id_title_excerpt(self):
        cp = self.searchq("цифровая", "дипломатия")  # words joined by a space
        self.assertEqual(cp.returncode, 0, describe(cp))
        out = decode(cp)[0].splitlines()
        self.assertTrue(out and "цифровая дипломатия" in out[0], "header: %r" % out[:1])
        first = next((l for l in out if DIPLOMACY in l), None)
        self.assertIsNotNone(first, "no line with the top hit:\n" + "\n".join(out))
        fields = first.split()
        self.assertEqual(fields[0], "1", first)
        float(fields[1])  # the score
        self.assertIn("Цифровая дипломатия", first)
        excerpt = out[out.index(first) + 1]
        self.assertTrue(excerpt.startswith(" " * 5) and excerpt.strip(), "excerpt: %r" % excerpt)

    def test_human_output_shows_the_words_found(self):
        # The top hit's best passage ends the body, 140 bytes after the line's width: the line
        # starts shortly before "history", which it must show ("ршыещкн": history typed with
        # the Russian layout on, the reading the server chose).
        cp = self.searchq("--limit", "1", "ршыещкн")
        self.assertEqual(cp.returncode, 0, describe(cp))
        out = decode(cp)[0].splitlines()
        top = next((i for i, l in enumerate(out) if "en-printing-revolution" in l), None)
        self.assertIsNotNone(top, "\n".join(out))
        excerpt = out[top + 1]
        self.assertIn("history", excerpt)
        self.assertTrue(excerpt.strip().startswith("\u2026"), excerpt)  # cut before it
        self.assertNotIn("\x1b", excerpt)  # no terminal marks into a pipe

    def test_human_output_never_passes_control_characters_to_the_terminal(self):
        # ESC and CSI (U+009B, the C1 form) in a title and a body would be terminal commands.
        doc = {"id": "tmp-controls", "title": "Ctrl \u001b[31mred\u009b31m title",
               "body": "Plain zanzibarite words, then \u001b]0;owned\u0007 and \u009b2J zanzibarite."}
        self.assertOk(self.line_call({"op": "add", "doc": doc}), "add")
        try:
            for args in ([], ["--highlight"]):
                cp = self.searchq(*args, "zanzibarite")
                self.assertEqual(cp.returncode, 0, describe(cp))
                self.assertIn("tmp-controls", cp.stdout.decode("utf-8", "replace"))
                for bad in (b"\x1b", b"\xc2\x9b", b"\x07"):
                    self.assertNotIn(bad, cp.stdout, args)
        finally:
            self.assertOk(self.line_call({"op": "delete", "id": "tmp-controls"}), "delete")

    # ---- query language ----

    def test_phrase(self):
        hits = self.ids('"industrial revolution"')
        self.assertIn(INDUSTRIAL, hits)
        self.assertEqual(self.ids('"revolution industrial"'), [], "phrase order must matter")
        hits = self.ids('"цифровая дипломатия"')
        self.assertEqual(hits[:1], [DIPLOMACY])
        # ru-museum-online has both words, but never side by side.
        self.assertIn("ru-museum-online", self.ids("цифровая дипломатия"))
        self.assertNotIn("ru-museum-online", hits)

    def test_or(self):
        hits = set(self.ids("telescope OR glacier"))
        self.assertEqual(hits, {"en-webb-telescope", "en-alpine-glaciers"})
        self.assertEqual(self.ids("telescope glacier", "--syntax", "full"), [], "implicit AND")

    def test_exclusion(self):
        with_french = set(self.ids("revolution", "--limit", "100"))
        without = set(self.ids("revolution -french", "--limit", "100"))
        self.assertIn("en-french-revolution", with_french)
        self.assertNotIn("en-french-revolution", without)
        self.assertIn(INDUSTRIAL, without)
        self.assertEqual(without, with_french - {"en-french-revolution"})

    def test_prefix(self):
        self.assertIn("en-photosynthesis", self.ids("photosynth*"))
        hits = self.ids("дипломат*", "--limit", "100")
        for doc_id in (DIPLOMACY, "ru-vienna-congress", "ru-un-security-council"):
            self.assertIn(doc_id, hits, "дипломат*: %s" % hits)

    def test_field(self):
        self.assertEqual(set(self.ids("coffee")), {"en-coffee-trade", "en-tea-clippers"})
        self.assertEqual(self.ids("title:coffee", "--syntax", "full"), ["en-coffee-trade"])

    def test_parentheses(self):
        self.assertEqual(self.ids("(coffee OR tea) race", "--syntax", "full"), ["en-tea-clippers"])

    def test_unknown_field_is_an_error(self):
        cp = self.searchq("--syntax", "full", "nosuchfield:word")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("unknown_field", decode(cp)[1])

    def test_malformed_query_exit_1_with_message(self):
        for q in ('"unclosed phrase', "(diplomacy OR", "title:"):
            cp = self.searchq("--syntax", "full", q)
            self.assertEqual(cp.returncode, 1, describe(cp))
            err = decode(cp)[1]
            self.assertIn("bad_query", err, describe(cp))
        cp = self.searchq("--json", "--syntax", "full", "(diplomacy OR")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertError(json.loads(cp.stdout), "bad_query", "--json shows the error answer")

    # ---- issue 12: a search box people type into ----

    def test_simple_syntax_is_searchq_default_and_never_a_400(self):
        # searchq sends syntax=simple unless told otherwise: stray syntax is text.
        for q in ('"unbalanced (', "diplomacy OR", "(diplomacy", "title:", '"', "AND OR -"):
            cp = self.searchq("--json", q)
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertOk(json.loads(cp.stdout), "searchq %r" % q)
        self.assertIn(DIPLOMACY, self.ids('"цифровая дипломатия'))
        self.assertEqual(self.ids("(coffee OR tea) race"), ["en-tea-clippers"])
        # Both protocols: the default stays the strict syntax, syntax=simple forgives.
        bad = '"unbalanced ('
        self.assertError(self.line_call({"op": "search", "q": bad}), "bad_query")
        self.assertOk(self.line_call({"op": "search", "q": bad, "syntax": "simple"}), bad)
        a = self.line_call({"op": "search", "q": "цифровая (дипломатия", "syntax": "simple"})
        self.assertEqual(self.assertOk(a, "simple")["hits"][0]["id"], DIPLOMACY, a)
        self.assertNotIn("truncated", a)
        self.assertError(self.line_call({"op": "search", "q": "x", "syntax": "loose"}),
                         "bad_request")
        http = self.daemon.http()
        try:
            r = http.search(bad)
            self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_query"), r)
            r = http.search("цифровая (дипломатия", syntax="simple")
            self.assertEqual((r.status, r.json["hits"][0]["id"]), (200, DIPLOMACY), r)
            long_q = " ".join(["дипломатия"] + ["слово%d" % i for i in range(100)])
            r = http.search(long_q, syntax="simple")
            self.assertEqual((r.status, r.json.get("truncated")), (200, True), r)
            # a pasted hash of 300 letters is no word of any document: left out, not a 400
            pasted = "цифровая " + "f" * 300 + " дипломатия"
            r = http.search(pasted, syntax="simple", prefix_last="true")
            self.assertEqual((r.status, r.json["hits"][0]["id"]), (200, DIPLOMACY), r)
            r = http.search(pasted)
            self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_query"), r)
        finally:
            http.close()

    def test_word_being_typed_finds_its_completions(self):
        # A box that searches on every keystroke: "дипло" is no word yet.
        plain = {"op": "search", "q": "цифровая дипло", "syntax": "simple",
                 "drop_words": False}  # here a word left out is not what is tested
        self.assertEqual(self.assertOk(self.line_call(plain))["total"], 0)
        a = self.line_call(dict(plain, prefix_last=True, highlight=True))
        hit = self.assertOk(a)["hits"][0]
        self.assertEqual(hit["id"], DIPLOMACY, a)
        self.assertIn("<mark>дипломатия</mark>", hit["highlight"]["title"], a)
        # a space after it: the word is done, and "дипло" alone is no word
        a = self.line_call(dict(plain, q="цифровая дипло ", prefix_last=True, typo=False))
        self.assertEqual(self.assertOk(a)["total"], 0, a)
        # a whole word keeps its inflections: the same hits first as without prefix_last
        done = self.ids("цифровая дипломатия", "--limit", "3")
        a = self.line_call(dict(plain, q="цифровая дипломатия", prefix_last=True, limit=3))
        self.assertEqual([h["id"] for h in self.assertOk(a)["hits"]][:1], done[:1], a)
        # typed in the other layout, half done: "wbahjdfz lbgkj" is "цифровая дипло"
        a = self.line_call(dict(plain, q="wbahjdfz lbgkj", prefix_last=True))
        self.assertEqual(a.get("layout"), {"query": "цифровая дипло", "used": True}, a)
        self.assertEqual(self.assertOk(a)["hits"][0]["id"], DIPLOMACY, a)
        # the full syntax has word* for this and refuses the option
        self.assertError(self.line_call({"op": "search", "q": "дипло", "prefix_last": True}),
                         "bad_request")
        http = self.daemon.http()
        try:
            r = http.search("цифровая дипло", syntax="simple", prefix_last="true")
            self.assertEqual((r.status, r.json["hits"][0]["id"]), (200, DIPLOMACY), r)
            r = http.search("цифровая дипло", prefix_last="true")
            self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"), r)
        finally:
            http.close()

    def test_word_being_typed_with_a_typo_finds_its_completions(self):
        # "дипломти": on the way to "дипломатия" with the "а" left out. As a whole word it is
        # two edits from every form; as a word being typed it starts one edit from "дипломати".
        plain = {"op": "search", "q": "цифровая дипломти", "syntax": "simple",
                 "drop_words": False}
        a = self.line_call(dict(plain, prefix_last=True, highlight=True))
        hit = self.assertOk(a)["hits"][0]
        self.assertEqual((hit["id"], a.get("typos")), (DIPLOMACY, True), a)
        self.assertIn("<mark>дипломатия</mark>", hit["highlight"]["title"], a)
        self.assertEqual(self.assertOk(self.line_call(dict(plain, prefix_last=True, typo=False)))
                         ["total"], 0)
        self.assertNotIn(DIPLOMACY, [h["id"] for h in self.assertOk(self.line_call(plain))["hits"]])
        http = self.daemon.http()
        try:
            r = http.search("diplomc", syntax="simple", prefix_last="true")
            self.assertEqual(r.status, 200, r)
            self.assertIn("en-embassy-social-media", [h["id"] for h in r.json["hits"]], r)
            self.assertEqual((r.json.get("typos"), r.json.get("did_you_mean")), (True, "diplomacy"),
                             r)
        finally:
            http.close()

    def test_searchq_typo_and_layout_switches(self):
        """searchq --typo off and --layout off turn those readings off for one search (the
        protocol's typo and layout, PROTOCOL.md); on, or not given, leaves them to the server.
        Anything but on or off is a usage error, before connecting."""
        for opts in ((), ("--typo", "on")):
            a = self.search("diplomcy", *opts)
            self.assertEqual((a.get("typos"), a.get("did_you_mean")), (True, "diplomacy"), a)
        a = self.search("diplomcy", "--typo", "off")
        self.assertNotIn("typos", a)
        self.assertNotIn("did_you_mean", a)
        for opts in ((), ("--layout", "on")):
            a = self.search("wbahjdfz", *opts)
            self.assertEqual(a.get("layout"), {"query": "цифровая", "used": True}, a)
        a = self.search("wbahjdfz", "--layout", "off")
        self.assertNotIn("layout", a)
        self.assertNotIn(DIPLOMACY, [h["id"] for h in a["hits"]], a)
        for name in ("typo", "layout"):
            for bad in ("yes", "true", "1", ""):
                cp = run_searchq(["--" + name, bad, "x"], server="127.0.0.1:9")
                self.assertEqual(cp.returncode, 2, describe(cp))
                self.assertIn("--%s wants on or off, got '%s'" % (name, bad), decode(cp)[1],
                              describe(cp))
        self.assertIn("--typo on|off", decode(self.searchq("--help"))[0])

    def test_searchq_drop_words_and_weights(self):
        """searchq had no way to send the protocol's drop_words or weights. --drop-words off
        answers only the documents with every word; --weights FIELD:N,... weighs the fields
        for one search. A malformed list, a field twice or a number JSON would not write is a
        usage error before connecting; a weight out of the server's range is its error."""
        docs = [{"id": "dw1", "title": "quokkas", "body": "wombats"},
                {"id": "dw2", "title": "wombats", "body": "quokkas"},
                {"id": "dw3", "title": "numbats", "body": "bilbies"}]
        self.assertOk(self.line_call({"op": "add", "index": "dwt", "docs": docs}))
        a = self.search("quokkas bilbies", "--index", "dwt")
        self.assertEqual(a["every_word"], 0, a)
        self.assertEqual(len(a["hits"]), 3, a)  # each has one of the two words
        a = self.search("quokkas bilbies", "--index", "dwt", "--drop-words", "off")
        self.assertEqual((a["total"], a["hits"]), (0, []), a)
        self.assertNotIn("dropped", a)
        ids = [h["id"] for h in self.search("quokkas", "--index", "dwt")["hits"]]
        self.assertEqual(ids, ["dw1", "dw2"])  # the title weighs 2, the body 1
        ids = [h["id"] for h in self.search("quokkas", "--index", "dwt",
                                            "--weights", "title:0.1,body:5")["hits"]]
        self.assertEqual(ids, ["dw2", "dw1"])
        cp = self.searchq("--index", "dwt", "--weights", "title:1e3,body:1001", "quokkas")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("server error bad_request: weights: 'body'", decode(cp)[1])
        # a field no document has: an error, not a weight taken and doing nothing; one the
        # index's documents have (no settings: every field is text) is weighed
        cp = self.searchq("--index", "dwt", "--weights", "titel:3", "quokkas")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("server error unknown_field: weights: unknown field 'titel'", decode(cp)[1])
        self.assertOk(self.line_call({"op": "add", "index": "dwt", "doc":
                                      {"id": "dw4", "title": "x", "notes": "quokkas"}}))
        ids = [h["id"] for h in self.search("quokkas", "--index", "dwt",
                                            "--weights", "notes:50")["hits"]]
        self.assertEqual(ids[0], "dw4")
        for bad, why in (("title", "wants FIELD:NUMBER pairs, got 'title'"), ("", "got ''"),
                         ("title:x", "'title' wants a number, got 'x'"),
                         ("title:01", "'title' wants a number, got '01'"),
                         ("title:NaN", "wants a number"), ("title:1,body:2,", "got ''"),
                         ("title:1,title:2", "'title' given twice")):
            cp = run_searchq(["--weights", bad, "x"], server="127.0.0.1:9")
            self.assertEqual(cp.returncode, 2, describe(cp))
            self.assertIn(why, decode(cp)[1], describe(cp))
        cp = run_searchq(["--drop-words", "yes", "x"], server="127.0.0.1:9")
        self.assertEqual(cp.returncode, 2, describe(cp))
        self.assertIn("--drop-words wants on or off, got 'yes'", decode(cp)[1])
        usage = decode(self.searchq("--help"))[0]
        self.assertIn("--drop-words on|off", usage)
        self.assertIn("--weights LIST", usage)
        self.line_call({"op": "drop_index", "index": "dwt"})

    def test_wrong_keyboard_layout_finds_the_intended_words(self):
        want = self.ids("цифровая", "--limit", "100")
        self.assertIn(DIPLOMACY, want)
        a = self.search("wbahjdfz", "--limit", "100")  # цифровая typed with QWERTY on
        self.assertEqual([h["id"] for h in a["hits"]], want, a)
        self.assertEqual(a.get("layout"), {"query": "цифровая", "used": True}, a)
        # the other way: "diplomacy" typed with ЙЦУКЕН on
        self.assertEqual(self.ids("вшздщьфсн"), self.ids("diplomacy"))
        cp = self.searchq("wbahjdfz", "lbgkjvfnbz")
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("цифровая дипломатия", decode(cp)[0], describe(cp))
        self.assertIn(DIPLOMACY, decode(cp)[0], describe(cp))
        # Some words typed in the other layout, the others right: only the first are read in it.
        for typed, meant in (("цифровая lbgkjvfnbz", "цифровая дипломатия"),
                             ("lbgkjvfnbz цифровая", "дипломатия цифровая"),
                             ("digital вшздщьфсн", "digital diplomacy"),
                             # "библиотеки" in QWERTY splits at б: one compound, ",b,kbjntrb"
                             ("будущего ,b,kbjntrb", "будущего библиотеки"),
                             # both scripts meant: read after the typo reading finds nothing
                             ("search jcyjdt", "search основе")):
            a = self.line_call({"op": "search", "q": typed})
            self.assertEqual(a.get("layout"), {"query": meant, "used": True}, a)
            self.assertEqual([h["id"] for h in self.assertOk(a)["hits"]],
                             self.ids(meant, "--syntax", "full"), a)
        cp = self.searchq("цифровая", "lbgkjvfnbz")
        self.assertIn('showing hits for "цифровая дипломатия"', decode(cp)[0], describe(cp))
        # Words that find something are not second-guessed, and layout=false turns it off.
        a = self.line_call({"op": "search", "q": "diplomacy"})
        self.assertNotIn("layout", self.assertOk(a), a)
        a = self.line_call({"op": "search", "q": "wbahjdfz", "layout": False})
        self.assertEqual((self.assertOk(a)["total"], a.get("layout")), (0, None), a)
        http = self.daemon.http()
        try:
            r = http.search("wbahjdfz lbgkjvfnbz", limit=1)
            self.assertEqual((r.status, r.json["hits"][0]["id"]), (200, DIPLOMACY), r)
            self.assertEqual(r.json["layout"], {"query": "цифровая дипломатия", "used": True})
        finally:
            http.close()
        # Words that each find something but together nothing are read the other way too:
        # here both typed words are nicknames in two other documents.
        nicks = [{"id": "tmp-nick-1", "body": "posted by wbahjdfz"},
                 {"id": "tmp-nick-2", "body": "reply from lbgkjvfnbz"}]
        self.assertOk(self.line_call({"op": "add", "docs": nicks}), "add nicknames")
        try:
            a = self.line_call({"op": "search", "q": "wbahjdfz lbgkjvfnbz"})
            self.assertEqual(self.assertOk(a)["hits"][0]["id"], DIPLOMACY, a)
            self.assertEqual(a.get("layout"), {"query": "цифровая дипломатия", "used": True}, a)
            a = self.line_call({"op": "search", "q": "wbahjdfz"})  # finds its nickname
            self.assertEqual(([h["id"] for h in self.assertOk(a)["hits"]], a.get("layout")),
                             (["tmp-nick-1"], None), a)
        finally:
            for d in nicks:
                self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")
        # A typo beside a long word typed right is a typo: the whole text is not read in the
        # other layout first, though here that reading would find a document.
        harm = [{"id": "tmp-harm-1", "body": "harmonic converges slowly"},
                {"id": "tmp-harm-2", "body": "рфкьщтшс сщтмкпуы"}]
        self.assertOk(self.line_call({"op": "add", "docs": harm}), "add")
        try:
            a = self.line_call({"op": "search", "q": "harmonic convrges"})
            self.assertEqual([h["id"] for h in self.assertOk(a)["hits"]], ["tmp-harm-1"], a)
            self.assertEqual((a.get("did_you_mean"), a.get("layout")),
                             ("harmonic converges", None), a)
        finally:
            for d in harm:
                self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")

    def test_wrong_layout_and_a_typo_in_one_word(self):
        # Typed with the wrong layout on and misspelt too: the other layout's reading is read
        # with typos when no reading found anything, and the answer names both.
        for typed, read, meant in (("wbahjfz", "цифроая", "цифровая"),  # a letter left out
                                   ("вшздщьсн", "diplomcy", "diplomacy"),
                                   ("cjwbfkyst ctnb", "социалные сети", "социальные сети"),
                                   # only the word no document has is read in the other layout
                                   ("цифровая lbgkjvfybz", "цифровая дипломания",
                                    "цифровая дипломатия")):
            a = self.line_call({"op": "search", "q": typed, "limit": 100})
            self.assertEqual((a.get("layout"), a.get("typos"), a.get("did_you_mean")),
                             ({"query": read, "used": True}, True, meant), a)
            self.assertEqual([h["id"] for h in self.assertOk(a)["hits"]],
                             self.ids(meant, "--syntax", "full", "--limit", "100"), a)
        http = self.daemon.http()
        try:
            r = http.search("wbahjfz", limit=1)
            self.assertEqual((r.status, r.json["hits"][0]["id"], r.json["did_you_mean"]),
                             (200, DIPLOMACY, "цифровая"), r)
        finally:
            http.close()
        cp = self.searchq("wbahjfz")
        self.assertIn('showing hits for "цифроая"', decode(cp)[0], describe(cp))
        self.assertIn('did you mean "цифровая"', decode(cp)[0], describe(cp))
        # Either switch off turns it off; gibberish stays gibberish.
        for off in ({"layout": False}, {"typo": False}):
            a = self.line_call(dict({"op": "search", "q": "wbahjfz"}, **off))
            self.assertEqual((self.assertOk(a)["total"], a.get("layout")), (0, None), a)
        a = self.line_call({"op": "search", "q": "qzxvkwj"})
        self.assertEqual((self.assertOk(a)["total"], a.get("layout"), a.get("typos")),
                         (0, None, None), a)

    def test_typos_find_the_intended_words(self):
        want = self.ids("diplomacy", "--limit", "100")
        self.assertTrue(want)
        for typo in ("diplomcy", "dipolmacy", "diplomacu"):  # delete, transpose, substitute
            a = self.search(typo, "--limit", "100")
            self.assertEqual([h["id"] for h in a["hits"]], want, "%s: %r" % (typo, a))
            self.assertEqual((a.get("typos"), a.get("did_you_mean")), (True, "diplomacy"), a)
        a = self.search("digital diplomcy")
        self.assertEqual(a.get("did_you_mean"), "digital diplomacy", a)
        a = self.line_call({"op": "search", "q": " digital diplomcy ", "syntax": "simple",
                            "prefix_last": True})  # spaces at the ends are not named
        self.assertEqual(a.get("did_you_mean"), "digital diplomacy", a)
        cp = self.searchq("digital", "diplomcy")  # searchq says so to a person too
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn('did you mean "digital diplomacy"?', decode(cp)[0], describe(cp))
        # Russian, inflected: the typo's stem is one edit from the stem of every form.
        a = self.search("цифравой дипломатии")
        self.assertEqual(a["hits"][0]["id"], DIPLOMACY, a)
        self.assertEqual(a.get("did_you_mean"), "цифровой дипломатии", a)
        # Exact matches rank above typo matches of the same word.
        hits = self.ids("цифравая OR цифровая", "--limit", "100")
        exact = set(self.ids("цифровая", "--limit", "100"))
        self.assertEqual(set(hits[:len(exact)]), exact, hits)
        # Words found as typed are not second-guessed; typo=false turns typos off; short
        # words (under 5 letters) get none.
        a = self.line_call({"op": "search", "q": "diplomacy"})
        self.assertNotIn("typos", self.assertOk(a), a)
        a = self.line_call({"op": "search", "q": "diplomcy", "typo": False})
        self.assertEqual((self.assertOk(a)["total"], a.get("did_you_mean")), (0, None), a)
        self.assertEqual(self.line_call({"op": "search", "q": "cofee"})["total"],
                         len(self.ids("coffee")))
        self.assertEqual(self.line_call({"op": "search", "q": "tae"})["total"], 0)
        self.assertEqual(self.line_call({"op": "search", "q": "coffee2"})["total"], 0)
        http = self.daemon.http()
        try:
            r = http.search("diplomcy", typo="true")
            self.assertEqual((r.status, r.json["hits"][0]["id"], r.json.get("did_you_mean")),
                             (200, want[0], "diplomacy"), r)
            r = http.search("diplomcy", typo="false")
            self.assertEqual((r.status, r.json["total"]), (200, 0), r)
        finally:
            http.close()
        # A misspelling that some document shares is a known word; when the words, each found,
        # find nothing together, every word gets its near forms.
        docs = [{"id": "tmp-misspelt", "body": "програмное обеспечение"},
                {"id": "tmp-right", "body": "программное обеспечение для дипломатии"}]
        self.assertOk(self.line_call({"op": "add", "docs": docs}), "add")
        try:
            a = self.line_call({"op": "search", "q": "програмное дипломатии"})
            self.assertEqual(([h["id"] for h in self.assertOk(a)["hits"]], a.get("typos")),
                             (["tmp-right"], True), a)
            a = self.line_call({"op": "search", "q": "програмное дипломатии", "typo": False})
            self.assertEqual(self.assertOk(a)["total"], 0, a)
        finally:
            for d in docs:
                self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")

    def test_words_that_find_nothing_together_are_dropped(self):
        """A search box's words that no document holds together: the documents with most of
        them (by the share of the words' idf they hold), each hit naming the words it lacks
        and "dropped" those the first lacks, over HTTP, the line protocol and searchq;
        drop_words=false and the full syntax keep all."""
        docs = [{"id": "tmp-fw-1", "title": "Zebrafinch notes", "body": "zebrafinch quokka"},
                {"id": "tmp-fw-2", "title": "Sea notes", "body": "narwhal axolotl"}]
        self.assertOk(self.line_call({"op": "add", "docs": docs}), "add")
        http = self.daemon.http()
        try:
            harness.wait_until(lambda: self.line_call({"op": "search", "q": "narwhal"})["total"],
                               harness.VISIBLE_WITHIN)
            r = http.search("zebrafinch Narwhal", syntax="simple", highlight="true")
            self.assertEqual((r.status, [(h["id"], h["missing"]) for h in r.json["hits"]],
                              r.json.get("dropped")),
                             (200, [("tmp-fw-1", ["narwhal"]), ("tmp-fw-2", ["zebrafinch"])],
                              ["narwhal"]), r)
            self.assertEqual(r.json.get("every_word"), 0, r)
            self.assertIn("<mark>Zebrafinch</mark>", r.json["hits"][0]["highlight"]["title"])
            r = http.search("zebrafinch narwhal", syntax="simple", drop_words="false")
            self.assertEqual((r.status, r.json["total"], r.json.get("dropped")), (200, 0, None), r)
            r = http.search("zebrafinch narwhal", drop_words="true")  # the full syntax
            self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"), r)
        finally:
            http.close()
        # a word no document has is missing from every hit, wherever it stands
        a = self.line_call({"op": "search", "q": "narwhal qzxvkw axolotl", "syntax": "simple"})
        self.assertEqual(([(h["id"], h["missing"]) for h in self.assertOk(a)["hits"]],
                          a.get("dropped")), ([("tmp-fw-2", ["qzxvkw"])], ["qzxvkw"]), a)
        # documents that lack a rare word rank below those that lack a common one
        a = self.line_call({"op": "search", "q": "notes narwhal axolotl quokka",
                            "syntax": "simple"})
        hits = self.assertOk(a)["hits"]
        self.assertEqual([(h["id"], h["missing"]) for h in hits[:2]],
                         [("tmp-fw-2", ["quokka"]), ("tmp-fw-1", ["narwhal", "axolotl"])], a)
        self.assertEqual(a.get("dropped"), ["quokka"], a)
        a = self.line_call({"op": "search", "q": "zebrafinch narwhal"})  # full: all words
        self.assertEqual((self.assertOk(a)["total"], a.get("dropped")), (0, None), a)
        # The reading named is the text searched without its ends' spaces: here the layout
        # reading of "wbahjdfz qzxvkw" (the group's words as that reading has them).
        a = self.line_call({"op": "search", "q": "wbahjdfz qzxvkw ", "syntax": "simple"})
        self.assertEqual((self.assertOk(a)["hits"][0]["id"], a.get("layout"), a.get("dropped")),
                         (DIPLOMACY, {"query": "цифровая йячмлц", "used": True}, ["йячмлц"]),
                         a)
        cp = self.searchq("zebrafinch", "narwhal")  # searchq's simple syntax, said to a person
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn('showing those with most of them; the first lacks "narwhal"',
                      decode(cp)[0], describe(cp))
        self.assertIn('missing: "zebrafinch"', decode(cp)[0], describe(cp))
        for d in docs:
            self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")

    def test_index_settings_turn_typos_and_layout_off(self):
        """"typo": false, "layout": false and "drop_words": false in an index's settings: no
        search of it reads typos or the other layout or leaves words out, whatever it asks;
        back to the default, they are read."""
        name = "nofuzz"
        doc = {"id": "nofuzz-1", "title": "Digital diplomacy", "body": "цифровая дипломатия"}
        self.assertOk(self.line_call({"op": "create_index", "index": name,
                                      "settings": {"typo": False, "layout": False,
                                                   "drop_words": False}}), "create")
        self.assertOk(self.line_call({"op": "add", "index": name, "doc": doc}), "add")
        harness.wait_until(lambda: self.ids("diplomacy", "--index", name), harness.VISIBLE_WITHIN)
        got = self.assertOk(self.line_call({"op": "get_settings", "index": name}), "settings")
        self.assertEqual((got["settings"].get("typo"), got["settings"].get("layout"),
                          got["settings"].get("drop_words")), (False, False, False), got)
        a = self.line_call({"op": "search", "index": name, "q": "diplomacy qzxvkw",
                            "syntax": "simple", "drop_words": True})
        self.assertEqual((self.assertOk(a)["total"], a.get("dropped")), (0, None), a)
        for q in ("diplomcy", "wbahjdfz"):  # a typo; "цифровая" typed with QWERTY on
            a = self.line_call({"op": "search", "index": name, "q": q, "typo": True,
                                "layout": True})
            self.assertEqual((self.assertOk(a)["total"], a.get("typos"), a.get("layout")),
                             (0, None, None), a)
            self.assertEqual(self.ids(q, "--index", name), [])
        http = self.daemon.http()
        try:
            r = http.search("diplomcy", index=name, typo="true")
            self.assertEqual((r.status, r.json["total"]), (200, 0), r)
        finally:
            http.close()
        self.assertOk(self.line_call({"op": "set_settings", "index": name, "settings": {}}),
                      "settings back to the default")
        for q in ("diplomcy", "wbahjdfz"):
            a = self.line_call({"op": "search", "index": name, "q": q})
            self.assertEqual([h["id"] for h in self.assertOk(a)["hits"]], ["nofuzz-1"], a)
        a = self.line_call({"op": "search", "index": name, "q": "diplomacy qzxvkw",
                            "syntax": "simple"})
        self.assertEqual(([h["id"] for h in self.assertOk(a)["hits"]], a.get("dropped")),
                         (["nofuzz-1"], ["qzxvkw"]), a)

    def test_highlight_deep_inside_a_long_russian_document(self):
        filler = "Архив хранит письма, описи и карточки каталога. " * 6000  # ~600 KB
        body = filler + "Здесь <b>квантовой криптографии</b> & \"шифрам\" посвящена глава. " + filler
        doc = {"id": "tmp-long-ru", "title": "Длинный отчёт о квантовой криптографии", "body": body}
        self.assertOk(self.line_call({"op": "add", "doc": doc}), "add long doc")
        try:
            a = self.line_call({"op": "search", "q": "квантовая криптография", "highlight": True,
                                "snippet_len": 120})
            hit = self.assertOk(a)["hits"][0]
            self.assertEqual(hit["id"], "tmp-long-ru", a)
            hl = hit["highlight"]
            self.assertEqual(hl["title"], "Длинный отчёт о <mark>квантовой</mark> "
                                          "<mark>криптографии</mark>", hl)
            self.assertEqual(len(hl["snippets"]), 1, hl)
            snip = hl["snippets"][0]
            self.assertIn("&lt;b&gt;<mark>квантовой</mark> <mark>криптографии</mark>&lt;/b&gt; "
                          "&amp; &quot;шифрам&quot;", snip)
            self.assertTrue(snip.startswith("…") and snip.endswith("…"), snip)
            self.assertLess(len(snip.encode()), 400, snip)
            self.assertNotIn("highlight", self.line_call(
                {"op": "search", "q": "квантовая криптография"})["hits"][0])
            # HTTP: own marks, offsets, several fragments
            http = self.daemon.http()
            try:
                r = http.search("криптография", highlight="true", highlight_pre="{",
                                highlight_post="}", fragments=2, snippet_len=64)
                hl = r.json["hits"][0]["highlight"]
                self.assertEqual(r.status, 200, r)
                self.assertIn("{криптографии}", hl["title"], hl)
                self.assertIn("{криптографии}", hl["snippets"][0], hl)
                r = http.search("криптография", highlight="true", highlight_offsets="true")
                hl = r.json["hits"][0]["highlight"]
                t = hl["title"].encode()
                self.assertEqual([t[o:o + n].decode() for o, n in hl["title_matches"]],
                                 ["криптографии"], hl)
                frag = hl["snippets"][0].encode()
                self.assertEqual([frag[o:o + n].decode() for o, n in hl["snippet_matches"][0]],
                                 ["криптографии"], hl)
                self.assertIn("<b>", hl["snippets"][0], "offsets mode is plain text")
                r = http.search("x", highlight="true", snippet_len=5)
                self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"), r)
            finally:
                http.close()
            cp = self.searchq("--highlight", "--snippet-len", "80", "квантовая", "криптография")
            self.assertEqual(cp.returncode, 0, describe(cp))
            self.assertIn("[квантовой] [криптографии]", decode(cp)[0], describe(cp))
        finally:
            self.assertOk(self.line_call({"op": "delete", "id": "tmp-long-ru"}), "delete")
            harness.wait_docs(self.daemon, self.sample_count)

    def test_phrase_words_are_marked_only_where_the_phrase_is(self):
        """A word the query has only inside a phrase, or as a part of a compound (a phrase of
        its parts), is marked where the whole phrase is, in markup and offsets alike, and the
        fragment is the phrase's, not a lone word's."""
        body = ("Кварцевая лампа горит, почта закрыта. " +
                "Архив хранит письма, описи и карточки каталога. " * 8 +
                "Новая кварцевая почта открыта. He doesn\u2019t know, so don't ask zyzzyvas.")
        doc = {"id": "tmp-phrase", "title": "Почта: кварцевая почта", "body": body}
        self.assertOk(self.line_call({"op": "add", "doc": doc}), "add")
        try:
            a = self.line_call({"op": "search", "q": "\"кварцевая почта\"", "highlight": True,
                                "snippet_len": 80, "fragments": 2})
            hit = self.assertOk(a)["hits"][0]
            self.assertEqual(hit["id"], "tmp-phrase", a)
            hl = hit["highlight"]
            self.assertEqual(hl["title"], "Почта: <mark>кварцевая</mark> <mark>почта</mark>", hl)
            self.assertEqual(len(hl["snippets"]), 1, hl)
            self.assertIn("<mark>кварцевая</mark> <mark>почта</mark> открыта",
                          hl["snippets"][0], hl)
            self.assertNotIn("лампа", hl["snippets"][0], hl)
            a = self.line_call({"op": "search", "q": "\"кварцевая почта\"", "highlight": True,
                                "highlight_offsets": True, "snippet_len": 80})
            hl = self.assertOk(a)["hits"][0]["highlight"]
            t = hl["title"].encode()
            self.assertEqual([t[o:o + n].decode() for o, n in hl["title_matches"]],
                             ["кварцевая", "почта"], hl)
            a = self.line_call({"op": "search", "q": "don't zyzzyvas", "highlight": True})
            hit = self.assertOk(a)["hits"][0]
            self.assertEqual(hit["id"], "tmp-phrase", a)
            snip = hit["highlight"]["snippets"][0]
            self.assertIn("doesn\u2019t know, so <mark>don</mark>&#39;<mark>t</mark> ask", snip)
        finally:
            self.assertOk(self.line_call({"op": "delete", "id": "tmp-phrase"}), "delete")
            harness.wait_docs(self.daemon, self.sample_count)

    def test_searchq_fragments_are_shown_without_highlight(self):
        """searchq --fragments N asks the server for N fragments (it sends highlight too, as
        the server takes fragments only with it); the hit list then shows them all, as
        --highlight does, not the one-line excerpt alone."""
        body = ("Сводка: зюзяблики поют на рассвете. " +
                "Архив хранит письма, описи и карточки каталога. " * 20 +
                "Под конец зюзяблики улетают.")
        self.assertOk(self.line_call({"op": "add", "doc": {"id": "tmp-frag", "body": body}}))
        try:
            cp = self.searchq("--fragments", "2", "--snippet-len", "64", "зюзяблик")
            self.assertEqual(cp.returncode, 0, describe(cp))
            out = decode(cp)[0]
            self.assertIn("поют", out, describe(cp))
            self.assertIn("улетают", out, describe(cp))
            self.assertEqual(out.count("[зюзяблики]"), 2, describe(cp))
        finally:
            self.assertOk(self.line_call({"op": "delete", "id": "tmp-frag"}), "delete")
            harness.wait_docs(self.daemon, self.sample_count)

    def test_a_long_title_is_highlighted_where_it_matches(self):
        """A title over 300 bytes (the title table keeps that much) is highlighted from the
        stored title: a word past the cut is marked, in a passage of about 300 bytes with "…"
        where the title goes on, not left out unmarked with the title cut inside a word."""
        title = "Слово " * 60 + "квазиэлектронный отчёт " + "и ещё слова " * 40
        docs = [{"id": "tmp-longtitle", "title": title, "body": "текст"}]
        self.assertOk(self.line_call({"op": "add", "docs": docs}), "add")
        try:
            a = self.line_call({"op": "search", "q": "квазиэлектронный", "highlight": True})
            hit = self.assertOk(a)["hits"][0]
            hl = hit["highlight"]["title"]
            self.assertIn("<mark>квазиэлектронный</mark> отчёт", hl, a)
            self.assertTrue(hl.startswith("…") and hl.endswith("…"), hl)
            self.assertLess(len(hl.encode()), 400, hl)
            self.assertEqual(hit["title"], title.encode()[:300].decode(errors="ignore"), a)  # as it was
            a = self.line_call({"op": "search", "q": "текст", "highlight": True,
                                "highlight_offsets": True})
            hl = self.assertOk(a)["hits"][0]["highlight"]
            self.assertTrue(hl["title"].startswith("Слово") and hl["title"].endswith("…"), a)
            self.assertEqual(hl["title_matches"], [], a)
        finally:
            for d in docs:
                self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")
            harness.wait_docs(self.daemon, self.sample_count)

    def test_an_empty_body_has_no_fragment(self):
        """A hit whose body is "" has no fragment, as one without a body: the highlight said
        "snippets":[""] (an empty passage to show) for the one and [] for the other."""
        docs = [{"id": "tmp-nobody", "title": "квазиэлектрон один"},
                {"id": "tmp-emptybody", "title": "квазиэлектрон два", "body": ""}]
        self.assertOk(self.line_call({"op": "add", "docs": docs}), "add")
        try:
            for offsets in (False, True):
                a = self.line_call({"op": "search", "q": "квазиэлектрон", "highlight": True,
                                    "highlight_offsets": offsets, "fragments": 2})
                hits = {h["id"]: h for h in self.assertOk(a)["hits"]}
                self.assertEqual(set(hits), {"tmp-nobody", "tmp-emptybody"}, a)
                for h in hits.values():
                    self.assertEqual(h["snippet"], "", a)
                    self.assertEqual(h["highlight"]["snippets"], [], a)
                    self.assertEqual(h["highlight"].get("snippet_matches", []), [], a)
                    self.assertIn("квазиэлектрон", h["highlight"]["title"], a)
        finally:
            for d in docs:
                self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")
            harness.wait_docs(self.daemon, self.sample_count)

    def test_a_match_at_the_end_of_a_body_is_in_its_snippet(self):
        """A body that ends with its only match, for every length modulo a Cyrillic
        character: the snippet window, moved back to a character's first byte, once ended a
        byte short of the match and the daemon crashed writing a fragment it had not chosen."""
        docs = [{"id": "tmp-end-%d" % i,
                 "body": "Описание функции. " + "ы" * i + " вызов процедуры"} for i in range(24)]
        self.assertOk(self.line_call({"op": "add", "docs": docs}), "add")
        try:
            for snippet_len in (16, 30, 200):
                a = self.line_call({"op": "search", "q": "процедура", "limit": 30,
                                    "snippet_len": snippet_len, "highlight": True})
                hits = self.assertOk(a)["hits"]
                self.assertEqual(sorted(h["id"] for h in hits), sorted(d["id"] for d in docs), a)
                for h in hits:
                    self.assertIn("процедуры", h["snippet"], h)
                    self.assertIn("<mark>процедуры</mark>", h["highlight"]["snippets"][0], h)
        finally:
            for d in docs:
                self.assertOk(self.line_call({"op": "delete", "id": d["id"]}), "delete")

    def test_chunked_long_document_snippet_same_in_memory_on_disk_and_after_restart(self):
        """Issue 12: a body over 16 KiB is stored in chunks (segment format 5) and a hit's
        snippet reads only the chunks it needs: the marked snippet is the same from the
        memory segment, from the flushed segment file, and after a restart (file mapped)."""
        d = self.start_daemon(extra_args=["--flush-ms", "200"])

        def call(req):
            with d.line() as c:
                return c.call(req)

        filler = "Архив хранит письма, описи и карточки каталога. " * 6000  # ~600 KB
        body = filler + "Здесь квантовой криптографии посвящена глава. " + filler
        self.assertOk(call({"op": "add", "index": "long",
                            "doc": {"id": "long-ru", "title": "Отчёт", "body": body}}))
        harness.wait_docs(d, 1, index="long")
        req = {"op": "search", "index": "long", "q": "квантовая криптография",
               "highlight": True, "snippet_len": 120}
        seen = [self.assertOk(call(req))["hits"][0]]
        self.assertTrue(harness.wait_until(
            lambda: self.assertOk(call({"op": "stats", "index": "long"}))["segments"] >= 1,
            timeout=harness.IO_TIMEOUT), d.tail())
        seen.append(self.assertOk(call(req))["hits"][0])
        d.restart()
        harness.wait_docs(d, 1, index="long")
        seen.append(self.assertOk(call(req))["hits"][0])
        for hit in seen:
            self.assertEqual((hit["snippet"], hit["highlight"]),
                             (seen[0]["snippet"], seen[0]["highlight"]), seen)
        self.assertIn("<mark>квантовой</mark> <mark>криптографии</mark> посвящена",
                      seen[0]["highlight"]["snippets"][0], seen[0])
        self.assertIn("квантовой криптографии посвящена", seen[0]["snippet"], seen[0])

    # ---- paging ----

    def add_proximity_pages(self, index):
        """The issue's example: "together" says "электронная почта", "scattered" has
        "электронная" here and "почти", "почта" (stem почт twice) there; 20 other pages."""
        filler = ["Река течёт мимо старого моста к морю номер %d." % i for i in range(20)]
        docs = [{"id": "together", "title": "Заметки",
                 "body": "вчера мне пришла электронная почта от старого друга из города"},
                {"id": "scattered", "title": "Заметки",
                 "body": "электронная книга и ещё кое что почти готово а почта придёт завтра"}]
        docs += [{"id": "f%d" % i, "title": "Заметки", "body": t} for i, t in enumerate(filler)]
        self.assertOk(self.line_call({"op": "add", "index": index, "docs": docs}), "add")

    def test_proximity_ranks_words_standing_together_first(self):
        """The issue's example, typed in other inflections than the pages use (so the forms
        typed, in no page together, give no page a bonus): with proximity, the page that says
        "электронная почта" ranks above the one with the words scattered; without it (the
        server's default) the second page's two occurrences win."""
        self.add_proximity_pages("prox")
        q = {"op": "search", "index": "prox", "q": "электронной почты", "snippet": False}
        off = self.assertOk(self.line_call(q), "search")
        self.assertEqual([h["id"] for h in off["hits"]], ["scattered", "together"], off)
        on = self.assertOk(self.line_call(dict(q, proximity=True)), "search")
        self.assertEqual([h["id"] for h in on["hits"]], ["together", "scattered"], on)
        weighted = self.assertOk(self.line_call(dict(q, proximity=2)), "search")
        self.assertEqual(weighted["hits"][0]["id"], "together", weighted)
        bad = self.line_call(dict(q, proximity="yes"))
        self.assertEqual((bad.get("ok"), bad["error"]["code"]), (False, "bad_request"), bad)
        self.assertIn("proximity", bad["error"]["message"], bad)
        http = self.daemon.http()
        try:
            r = http.search("электронной почты", index="prox", proximity="true")
            self.assertEqual((r.status, [h["id"] for h in r.json["hits"]]),
                             (200, ["together", "scattered"]), r)
            r = http.search("электронной почты", index="prox", proximity="-1")
            self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"), r)
        finally:
            http.close()

    def test_searchq_proximity_on_by_default_off_and_weight(self):
        """searchq asks for proximity unless told --proximity off (a search box should:
        docs/QUERY.md "Proximity"); a weight reaches the server (the adjacent page's score
        grows with it); a value no server takes is searchq's usage error, before connecting."""
        self.add_proximity_pages("proxq")
        q = "электронной почты"

        def hits(*opts):
            return self.search(q, "--index", "proxq", "--limit", "2", *opts)["hits"]

        by_default = hits()
        self.assertEqual([h["id"] for h in by_default], ["together", "scattered"], by_default)
        self.assertEqual([h["id"] for h in hits("--proximity", "on")],
                         ["together", "scattered"])
        off = hits("--proximity", "off")
        self.assertEqual([h["id"] for h in off], ["scattered", "together"], off)
        self.assertEqual([h["id"] for h in hits("--proximity", "0")], ["scattered", "together"])
        weighted = hits("--proximity", "2")
        self.assertEqual([h["id"] for h in weighted], ["together", "scattered"], weighted)
        score = {name: {h["id"]: h["score"] for h in r}
                 for name, r in (("off", off), ("on", by_default), ("2", weighted))}
        self.assertLess(score["off"]["together"], score["on"]["together"], score)
        self.assertLess(score["on"]["together"], score["2"]["together"], score)
        # the scattered page has no pair within 2 positions: no bonus at any weight
        self.assertAlmostEqual(score["off"]["scattered"], score["2"]["scattered"], places=4)
        for bad in ("yes", "true", "-1", "1001", "nan", ""):
            # nothing listens on the address: exit 2 shows no connection was tried
            cp = run_searchq(["--proximity", bad, q], server="127.0.0.1:9")
            self.assertEqual(cp.returncode, 2, describe(cp))
            self.assertIn("--proximity wants on, off or a weight from 0 to 1000, got '%s'" % bad,
                          decode(cp)[1], describe(cp))
        cp = self.searchq("--help")
        self.assertIn("--proximity on|off|W", decode(cp)[0])

    def test_limit_offset_paging(self):
        full = self.search("world", "--limit", "100")
        total = full["total"]
        all_ids = [h["id"] for h in full["hits"]]
        self.assertGreaterEqual(total, 10, "the sample has a dozen docs saying 'world'")
        self.assertEqual(len(all_ids), total)
        pages = []
        for offset in range(0, total, 5):
            page = self.search("world", "--limit", "5", "--offset", str(offset))
            self.assertEqual(page["total"], total, "total must not depend on the page")
            pages += [h["id"] for h in page["hits"]]
        self.assertEqual(pages, all_ids, "pages concatenated differ from one big page")
        beyond = self.search("world", "--offset", str(total + 10))
        self.assertEqual(beyond["hits"], [])
        self.assertEqual(beyond["total"], total)
        counted = self.search("world", "--limit", "0")
        self.assertEqual((counted["total"], counted["hits"]), (total, []))
        self.assertEqual(len(self.ids("world", "--limit", "3")), 3)

    def test_bad_limit_is_a_server_error(self):
        cp = self.searchq("--limit", "5000", "world")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("bad_request", decode(cp)[1])

    # ---- get / delete / stats ----

    def test_get_returns_the_stored_document(self):
        cp = self.searchq("--json", "get", DIPLOMACY)
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertEqual(json.loads(cp.stdout)["doc"], self.docs[DIPLOMACY])
        cp = self.searchq("get", DIPLOMACY)  # human form: pretty JSON
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertEqual(json.loads(cp.stdout), self.docs[DIPLOMACY])

    def test_get_missing_exit_1(self):
        cp = self.searchq("get", "no-such-doc")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("not_found", decode(cp)[1])

    def test_delete_via_searchq(self):
        doc = {"id": "tmp-searchq-delete", "title": "Zanzibar cloves", "body": "cardamom"}
        self.assertOk(self.line_call({"op": "add", "doc": doc}))
        found = harness.wait_until(lambda: self.ids("zanzibar"), harness.VISIBLE_WITHIN)
        self.assertEqual(found, [doc["id"]], "new doc not searchable within 1 s")
        cp = self.searchq("delete", doc["id"])
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertIn("deleted", decode(cp)[0])
        self.assertTrue(harness.wait_until(lambda: not self.ids("zanzibar"),
                                           harness.VISIBLE_WITHIN), "deleted doc still found")
        self.assertError(self.line_call({"op": "get", "id": doc["id"]}), "not_found")
        cp = self.searchq("delete", doc["id"])
        self.assertEqual(cp.returncode, 1, "deleting twice: " + describe(cp))
        self.assertEqual(harness.wait_docs(self.daemon, self.sample_count), self.sample_count)

    def test_stats_and_health_via_searchq(self):
        cp = self.searchq("stats")
        self.assertEqual(cp.returncode, 0, describe(cp))
        self.assertRegex(decode(cp)[0], r"(?m)^docs:\s+%d$" % self.sample_count)
        cp = self.searchq("--json", "stats")
        self.assertEqual(json.loads(cp.stdout)["docs"], self.sample_count)
        cp = self.searchq("health")
        self.assertEqual((cp.returncode, decode(cp)[0].strip()), (0, "ok"), describe(cp))

    def test_http_search_get_delete_stats(self):
        http = self.daemon.http()
        try:
            r = http.search("цифровая дипломатия", limit=5)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("Content-Type", "").split(";")[0], "application/json")
            self.assertEqual([h["id"] for h in r.json["hits"]],
                             self.ids("цифровая дипломатия", "--limit", "5", "--syntax", "full"))
            r = http.request("POST", "/search", {"q": "industrial revolutions", "limit": 1})
            self.assertEqual((r.status, r.json["hits"][0]["id"]), (200, INDUSTRIAL), r)
            r = http.get(http.doc_path(DIPLOMACY))
            self.assertEqual((r.status, r.json.get("doc")), (200, self.docs[DIPLOMACY]))
            r = http.get(http.doc_path("no-such-doc"))
            self.assertEqual(r.status, 404, r)
            self.assertError(r.json, "not_found", "GET missing doc")
            odd = "tmp/http id é?&"  # needs percent-encoding in the path
            r = http.request("POST", "/docs", {"id": odd, "title": "Quokka census", "body": "x"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json.get("added"), 1, r)
            self.assertEqual(harness.wait_until(lambda: self.ids("quokka"),
                                                harness.VISIBLE_WITHIN), [odd])
            r = http.get(http.doc_path(odd))
            self.assertEqual((r.status, r.json["doc"]["title"]), (200, "Quokka census"), r)
            r = http.request("DELETE", http.doc_path(odd))
            self.assertEqual((r.status, r.json.get("deleted")), (200, 1), r)
            gone = harness.wait_until(lambda: http.get(http.doc_path(odd)).status == 404,
                                      harness.VISIBLE_WITHIN)
            self.assertTrue(gone, "deleted doc still gettable after 1 s")
            harness.wait_docs(self.daemon, self.sample_count)
            r = http.get("/stats")
            self.assertEqual((r.status, r.json.get("docs")), (200, self.sample_count), r)
            r = http.get("/health")
            self.assertEqual((r.status, r.json.get("status")), (200, "ok"), r)
        finally:
            http.close()

    # ---- named indexes, --socket ----

    def test_named_index(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "wombat-notes.md")
            with open(path, "w", encoding="utf-8") as f:
                f.write("# Wombat burrows\n\nWombats dig long burrows with their claws.\n")
            cp = self.searchq("--index", "zoo_1", "import", path)
            self.assertEqual(cp.returncode, 0, describe(cp))
        found = harness.wait_until(lambda: self.ids("wombat", "--index", "zoo_1"),
                                   harness.VISIBLE_WITHIN)
        self.assertEqual(found, ["wombat-notes"])
        self.assertEqual(self.ids("wombat"), [], "the default index must not see zoo_1")
        cp = self.searchq("--index", "no_such_index", "wombat")
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("unknown_index", decode(cp)[1])

    def test_unix_socket(self):
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, "searchd.sock")
            d = self.start_daemon(extra_args=["--socket", sock])
            cp = harness.run_searchq(["--socket", sock, "import", harness.sample_files()[1]])
            self.assertEqual(cp.returncode, 0, describe(cp))
            harness.wait_docs(d, 1)
            cp = harness.run_searchq(["--socket", sock, "--json", "stats"])
            self.assertEqual((cp.returncode, json.loads(cp.stdout)["docs"]), (0, 1),
                             describe(cp))
            d.term()

    # ---- searchq's own exit statuses ----

    def test_closed_port_exit_3(self):
        port = harness.free_port()
        cp = run_searchq(["hello"], server="127.0.0.1:%d" % port)
        self.assertEqual(cp.returncode, 3, describe(cp))
        err = decode(cp)[1]
        self.assertIn("cannot connect to 127.0.0.1:%d" % port, err)
        self.assertIn("is searchd running?", err)

    def test_issue_messages_for_a_bad_port_a_command_option_and_settings_json(self):
        """--server with a port that is no number was exit 3 "cannot connect to
        localhost:notaport: Servname not supported for ai_socktype"; a bad option after a
        command was "import: unrecognized option" (the program not named); settings JSON that
        stops in the middle was "not JSON (at byte 10: continue)"; and a settings key given
        twice was sent with only the last (json-c keeps one), the first dropped without a
        word."""
        for server in ("localhost:notaport", "127.0.0.1:0", "127.0.0.1:70000"):
            cp = run_searchq(["--server", server, "health"], server=None)
            self.assertEqual(cp.returncode, 2, describe(cp))
            self.assertIn("--server wants HOST:PORT, got '%s'" % server, decode(cp)[1])
        cp = run_searchq(["import", "--bogus", "x.jsonl"], server=None)
        self.assertEqual(cp.returncode, 2, describe(cp))
        self.assertIn("searchq import: unrecognized option '--bogus'", decode(cp)[1])
        cp = self.searchq("settings", "msgs2", '{"fields":')
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("the settings: not JSON (it ends in the middle, at byte 10)", decode(cp)[1])
        cp = self.searchq("settings", "msgs2",
                          '{"fields":{"year":{"type":"int"},"year":{"type":"keyword"}}}')
        self.assertEqual(cp.returncode, 1, describe(cp))
        self.assertIn("the settings: not JSON as searchd reads it (at byte 34: key 'year' given "
                      "twice)", decode(cp)[1])
        self.assertError(self.line_call({"op": "get_settings", "index": "msgs2"}),
                         "unknown_index")

    def test_usage_exit_2(self):
        for args in ([], ["get"], ["get", "a", "b"], ["--limit", "x", "q"], ["--bogus", "q"],
                     ["--server", "a:1", "--socket", "/s", "q"], ["stats", "extra"],
                     ["--limit", "-1", "q"], ["--offset", "-3", "q"], ["--snippet-len", "-1", "q"],
                     ["--fragments", "-1", "q"], ["--busy-wait", "-5", "import", "x.jsonl"]):
            cp = run_searchq(args, server=None)
            self.assertEqual(cp.returncode, 2, describe(cp))


if __name__ == "__main__":
    harness.main()
