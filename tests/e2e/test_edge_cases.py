#!/usr/bin/env python3
"""test_edge_cases.py: issue 10's input edge cases over the real daemon, on both protocols
(docs/PROTOCOL.md "Input edge cases"):

  * a lone surrogate escape (\\ud800, \\udc00, \\ud800\\u0041) in a query or a document is
    bad_utf8, and nothing is stored; a proper pair is stored as the character it encodes;
  * a key given twice in a JSON request or document, and a parameter given twice in a query
    string, is bad_request naming it;
  * -0 is 0 for limit, offset and weights;
  * a word over 255 bytes: a document with one is added and found by its other words, the
    long word is not indexed, and a query that names it is bad_query (not silently empty);
  * the never-written default index answers search, stats, get and delete as an empty index
    (no hits, zeros, not_found),
    and any other never-written index is unknown_index;
  * an error message quoting an over-long name cuts it on a UTF-8 character boundary: a
    Cyrillic field name in settings or in a query's sort gives a message that is
    valid UTF-8 with no U+FFFD (a cut at 64 bytes used to split a letter).
Raw bytes are sent so that the client library cannot normalise what the test means to send.
"""

import json
import socket
import urllib.parse

import harness
from harness import E2ETestCase


def raw_http(addr, method, path, body=b""):
    """One request with Connection: close; returns (status, parsed JSON body)."""
    head = ("%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json"
            "\r\nContent-Length: %d\r\n\r\n" % (method, path, len(body))).encode()
    with socket.create_connection(addr, timeout=harness.IO_TIMEOUT) as s:
        s.sendall(head + body)
        data = harness.recv_until_closed(s)
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.split(b"\r\n\r\n", 1)[1])


class EdgeCaseTest(E2ETestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        self.line = self.daemon.line()
        self.addCleanup(self.line.close)

    def call(self, raw):
        return self.line.call_raw(raw if raw.endswith(b"\n") else raw + b"\n")

    def http(self, method, path, body=b""):
        return raw_http(self.daemon.http_addr, method, path, body)

    def assertHttpError(self, got, status, code, what):
        self.assertEqual(got[0], status, "%s: %r" % (what, got))
        self.assertError(got[1], code, what)

    def docs(self, index="default"):
        a = self.assertOk(self.call(b'{"op":"stats","index":"%s"}' % index.encode()), "stats")
        return a["docs"]

    def test_never_written_default_index_is_empty_other_names_unknown(self):
        a = self.assertOk(self.call(b'{"op":"search","q":"anything"}'), "search default")
        self.assertEqual((a["total"], a["total_exact"], a["hits"]), (0, True, []))
        self.assertEqual(self.docs(), 0)
        self.assertError(self.call(b'{"op":"get","id":"a"}'), "not_found", "get default")
        status, body = self.http("GET", "/search?q=anything")
        self.assertEqual((status, body["total"], body["total_exact"], body["hits"]),
                         (200, 0, True, []))
        self.assertEqual(self.http("GET", "/stats")[1]["docs"], 0)
        self.assertHttpError(self.http("GET", "/docs/a"), 404, "not_found", "HTTP get default")
        for what, raw in (("search", b'{"op":"search","q":"x","index":"never"}'),
                          ("get", b'{"op":"get","id":"a","index":"never"}'),
                          ("stats", b'{"op":"stats","index":"never"}')):
            self.assertError(self.call(raw), "unknown_index", what + " in a never-written index")
        self.assertHttpError(self.http("GET", "/search?q=x&index=never"), 404, "unknown_index",
                             "HTTP search in a never-written index")
        self.assertError(self.call(b'{"op":"delete","id":"a"}'), "not_found", "delete default")
        self.assertHttpError(self.http("DELETE", "/docs/a"), 404, "not_found", "HTTP delete")

    def test_lone_surrogates_are_bad_utf8_pairs_are_stored(self):
        for raw in (b'{"op":"search","q":"\\ud800"}',
                    b'{"op":"search","q":"x \\udc00"}',
                    b'{"op":"add","doc":{"id":"s1","body":"a \\ud800\\u0041 b"}}',
                    b'{"op":"add","doc":{"id":"s2","t\\udfff":"key"}}',
                    b'{"op":"add","docs":[{"id":"s3","body":"ok"},{"id":"s4","body":"\\udc00\\ud800"}]}'):
            self.assertError(self.call(raw), "bad_utf8", raw.decode())
        for path, body in (("/docs", b'{"id":"s5","body":"\\ud800"}'),
                           ("/docs", b'{"id":"s6","body":"ok"}\n{"id":"s7","body":"\\udbff"}'),
                           ("/search", b'{"q":"\\udc00"}')):
            self.assertHttpError(self.http("POST", path, body), 400, "bad_utf8", body.decode())
        self.assertHttpError(self.http("GET", "/search?q=%ED%A0%80"), 400, "bad_utf8",
                             "percent-encoded surrogate")
        self.assertEqual(self.docs(), 0, "a refused request stored something")
        self.assertOk(self.call(b'{"op":"add","doc":{"id":"pair","body":"smile \\ud83d\\ude00"}}'),
                      "a surrogate pair")
        doc = self.assertOk(self.call(b'{"op":"get","id":"pair"}'), "get pair")["doc"]
        self.assertEqual(doc["body"], "smile \U0001F600")

    def test_repeated_keys_and_parameters_are_bad_request(self):
        for raw, key in ((b'{"op":"search","q":"a","q":"b"}', "q"),
                         (b'{"op":"search","q":"a","weights":{"t":1,"t":2}}', "t"),
                         (b'{"op":"add","doc":{"id":"d","title":"x","title":"y"}}', "title")):
            a = self.assertError(self.call(raw), "bad_request", raw.decode())
            self.assertIn("'%s' given twice" % key, a["error"]["message"])
        status, body = self.http("POST", "/docs", b'{"id":"a","id":"b"}')
        self.assertHttpError((status, body), 400, "bad_request", "POST /docs repeated id")
        for path, key in (("/search?q=a&q=b", "q"), ("/search?q=a&limit=1&limit=2", "limit"),
                          ("/search?q=a&index=x&ind%65x=y", "index")):
            status, body = self.http("GET", path)
            self.assertHttpError((status, body), 400, "bad_request", path)
            self.assertIn("parameter '%s' given twice" % key, body["error"]["message"])
        self.assertEqual(self.docs(), 0)

    def test_minus_zero_is_zero(self):
        self.assertOk(self.call(b'{"op":"add","doc":{"id":"z","title":"zero","body":"zero"}}'),
                      "add")
        harness.wait_docs(self.daemon, 1)
        a = self.assertOk(self.call(b'{"op":"search","q":"zero","limit":-0,"offset":-0,'
                                    b'"weights":{"title":-0}}'), "line -0")
        self.assertEqual((a["total"], a["hits"]), (1, []))
        status, body = self.http("GET", "/search?q=zero&limit=-0&weights=title:-0.0")
        self.assertEqual((status, body["total"], body["hits"]), (200, 1, []))
        self.assertHttpError(self.http("GET", "/search?q=zero&limit=-1"), 400, "bad_request",
                             "limit=-1")

    def test_over_long_word_skipped_in_documents_refused_in_queries(self):
        long_word = "д" * 200  # 400 bytes folded: over the 255-byte limit
        doc = {"id": "long", "body": "cats %s dogs" % long_word}
        self.assertOk(self.line.call({"op": "add", "doc": doc}), "add a doc with a long word")
        harness.wait_docs(self.daemon, 1)
        a = self.assertOk(self.line.call({"op": "search", "q": "cats dogs"}), "other words")
        self.assertEqual([h["id"] for h in a["hits"]], ["long"])
        # the long word keeps its position: cats and dogs are not adjacent
        a = self.assertOk(self.line.call({"op": "search", "q": '"cats dogs"'}), "phrase")
        self.assertEqual(a["total"], 0)
        for q in (long_word, "cats " + long_word, '"cats %s"' % long_word, "x" * 4096):
            a = self.assertError(self.line.call({"op": "search", "q": q}), "bad_query", q[:20])
            self.assertIn("a word over 255 bytes", a["error"]["message"])
        status, body = self.http("GET", "/search?q=" + "x" * 300)
        self.assertHttpError((status, body), 400, "bad_query", "HTTP long word")
        got = self.assertOk(self.line.call({"op": "get", "id": "long"}), "get")["doc"]
        self.assertEqual(got["body"], doc["body"], "the stored field keeps the long word")

    def assertCleanMessage(self, raw, code, what):
        """raw is the reply line as bytes: the error message must be valid UTF-8 (checked on the
        bytes, before any decoder could replace a bad one) holding no U+FFFD, the character a
        cut sequence turns into."""
        text = raw.decode("utf-8")  # strict: raises on a broken sequence
        a = self.assertError(json.loads(text), code, what)
        msg = a["error"]["message"]
        self.assertNotIn("\ufffd", msg, "%s: %r" % (what, msg))
        self.assertNotIn(b"\\ufffd", raw.lower(), "%s: %r" % (what, raw))
        return msg

    def line_raw(self, obj):
        """Sends obj on a fresh line connection and returns the reply line as bytes."""
        with socket.create_connection(self.daemon.line_addr, timeout=harness.IO_TIMEOUT) as s:
            s.sendall(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, "%r: connection closed before the reply" % (obj,))
                data += chunk
        return data

    def test_over_long_cyrillic_names_are_cut_on_a_character_boundary(self):
        # "x" then 40 letters of 2 bytes: 81 bytes, so a cut at 64 bytes falls inside a letter
        name = "x" + "\u0436" * 40
        msg = self.assertCleanMessage(
            self.line_raw({"op": "create_index", "index": "ru",
                           "settings": {"fields": {name: {"type": "text"}}}}),
            "bad_request", "settings field name")
        self.assertIn("x" + "\u0436" * 31 + "'", msg)  # 63 bytes: the whole letters that fit
        self.assertOk(self.call(b'{"op":"add","docs":[{"id":"1","body":"cats"}]}'), "add")
        # (weights and facets refuse a name over 64 bytes without quoting it)
        req = {"op": "search", "q": "cats", "sort": name + ":asc"}
        msg = self.assertCleanMessage(self.line_raw(req), "unknown_field", "sort")
        self.assertIn("x" + "\u0436" * 31 + "'", msg)
        status, body = self.http("GET", "/search?q=cats&sort=" +
                                 urllib.parse.quote(name + ":asc"))
        self.assertHttpError((status, body), 400, "unknown_field", "HTTP sort")
        self.assertNotIn("\ufffd", body["error"]["message"])


if __name__ == "__main__":
    harness.main()
