#!/usr/bin/env python3
"""test_text.py: words as Russian and English archives write them (session 24's audit of the
tokenizer, docs/QUERY.md "What a word matches").

Each document holds a word the way OCR, typeset books, web pages or joined files leave it; the
test searches the plain word a user types and checks the hit and its highlight: the marks
cover the original characters (the invisible ones inside included) and never split a UTF-8
sequence. It also checks that what an index built by the old tokenizer holds for such text
(the parts, as separate words) is still found by the same query, so old segments keep
answering.
"""

import harness
from harness import E2ETestCase

SHY = "\u00ad"  # SOFT HYPHEN
INVISIBLE = {
    "shy": SHY,
    "zwsp": "\u200b",  # ZERO WIDTH SPACE
    "zwnj": "\u200c",  # ZERO WIDTH NON-JOINER
    "zwj": "\u200d",  # ZERO WIDTH JOINER
    "wj": "\u2060",  # WORD JOINER
    "bom": "\ufeff",  # ZERO WIDTH NO-BREAK SPACE, a BOM left mid-text by joined files
}


class InvisibleCharactersTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        docs = [{"id": name, "title": "Книга",
                 "body": "Вся инфор%sмации архива и infor%smation retrieval." % (ch, ch)}
                for name, ch in INVISIBLE.items()]
        # what the old tokenizer indexed for those words: the parts, as two words
        docs.append({"id": "parts", "title": "Книга", "body": "Вся инфор мации архива."})
        docs.append({"id": "plain", "title": "Книга", "body": "Вся информация архива."})
        with self.daemon.line() as c:
            self.assertOk(c.call({"op": "add", "docs": docs}), "add")
        harness.wait_docs(self.daemon, len(docs))

    def search(self, q):
        with self.daemon.line() as c:
            a = c.call({"op": "search", "q": q, "limit": 20, "highlight": True,
                        "highlight_offsets": True, "typo": False, "layout": False})
        self.assertOk(a, q)
        return a

    def marks(self, hit):
        """The marked strings of a hit's snippets; each span must be whole UTF-8."""
        out = []
        hl = hit["highlight"]
        for frag, spans in zip(hl["snippets"], hl["snippet_matches"]):
            b = frag.encode()
            for off, n in spans:
                out.append(b[off:off + n].decode("utf-8"))  # raises on a split sequence
        return out

    def test_plain_word_finds_the_word_with_invisible_characters_and_marks_it_whole(self):
        for q, form in (("информация", "инфор%sмации"), ("information", "infor%smation")):
            a = self.search(q)
            ids = {h["id"] for h in a["hits"]}
            for name, ch in INVISIBLE.items():
                self.assertIn(name, ids, (q, a))
                hit = next(h for h in a["hits"] if h["id"] == name)
                self.assertEqual(self.marks(hit), [form % ch], (q, name, hit))
            self.assertNotIn("parts", ids, a)

    def test_a_query_with_an_invisible_character_finds_what_it_found_before(self):
        a = self.search("инфор%sмации" % SHY)
        ids = {h["id"] for h in a["hits"]}
        # the parts standing together (what old segments hold for such text), the word
        # with any invisible character, and the word typed plainly
        self.assertEqual(ids, set(INVISIBLE) | {"parts", "plain"}, a)
        hit = next(h for h in a["hits"] if h["id"] == "parts")
        self.assertEqual(self.marks(hit), ["инфор", "мации"], hit)

    def test_each_part_still_finds_the_word(self):
        ids = {h["id"] for h in self.search("мации")["hits"]}
        self.assertEqual(ids, set(INVISIBLE) | {"parts"})


class StressMarksTest(E2ETestCase):
    """Dictionaries and textbooks print Russian words with a combining acute on the stressed
    vowel: the plain word finds them, the mark inside the highlight."""

    def test_plain_word_finds_the_stressed_word_and_marks_it_with_its_mark(self):
        d = self.start_daemon()
        docs = [{"id": "dict", "body": "Свежее молоко\u0301 и за\u0301мок на горе."},
                {"id": "plain", "body": "Молоко и замок."}]
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "docs": docs}), "add")
            harness.wait_docs(d, len(docs))
            for q, want in (("молока", ["молоко\u0301"]), ("замок", ["за\u0301мок"]),
                            ("за\u0301мок", ["за\u0301мок"]), ("\"молоко\u0301 и\"", None)):
                a = c.call({"op": "search", "q": q, "highlight": True, "highlight_offsets": True,
                            "typo": False})
                self.assertOk(a, q)
                self.assertEqual({h["id"] for h in a["hits"]}, {"dict", "plain"}, (q, a))
                hit = next(h for h in a["hits"] if h["id"] == "dict")
                hl = hit["highlight"]
                frag = hl["snippets"][0].encode()
                marks = [frag[o:o + n].decode() for o, n in hl["snippet_matches"][0]]
                if want:
                    self.assertEqual(marks, want, (q, hl))


if __name__ == "__main__":
    harness.main()
