"""test_web.py: the HTTP side of the search page and of CORS, without a browser.

The page's assets come from the binary with their types, ETags (304 on If-None-Match) and
security headers, HEAD has no body, other methods are 405, --web off leaves / to the API
(unknown_path). CORS: an allowed origin gets Access-Control-Allow-Origin, another origin none,
and every answer says Vary: Origin (the answers depend on it); a
preflight from an allowed origin is 204 with the Allow-* headers, from another 403
forbidden_origin; a write (POST, PUT, DELETE) from an origin not allowed is forbidden_origin
too, as a browser sends some without a preflight; a repeated Origin is 400 and an over-long
header 431, as JSON. A search answer with facets carries facet_order, the buckets' order as
arrays, which a JavaScript client needs (its objects list integer-like keys first). Every API
answer says Cache-Control: no-store and X-Content-Type-Options: nosniff.
"""

import json
import socket

import harness

ALLOWED = "http://localhost:8123"


class WebTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon(extra_args=["--cors-origins", ALLOWED + ", https://a.example"])
        self.http = self.daemon.http()

    def tearDown(self):
        self.http.close()
        super().tearDown()

    def raw(self, request):
        """Sends raw bytes on a new connection; returns (status, headers dict, body)."""
        with socket.create_connection(self.daemon.http_addr, timeout=harness.IO_TIMEOUT) as s:
            s.sendall(request)
            data = harness.recv_until_closed(s)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(": ")
            headers[k.lower()] = v
        return int(lines[0].split()[1]), headers, body

    def test_page_assets(self):
        r = self.http.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
        # relative, so that behind a proxy under a prefix the page finds its script there
        self.assertIn(b'<script src="app.js" defer></script>', r.body)
        self.assertIn("script-src 'self'", r.headers["Content-Security-Policy"])
        self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
        etag = r.headers["ETag"]
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        r = self.http.request("GET", "/", headers={"If-None-Match": etag})
        self.assertEqual((r.status, r.body), (304, b""))
        r = self.http.request("GET", "/?q=x", headers={"If-None-Match": '"0000000000000000"'})
        self.assertEqual(r.status, 200)
        for path, ctype in (("/app.js", "text/javascript"), ("/searchd.js", "text/javascript"),
                            ("/app.css", "text/css"), ("/index.html", "text/html")):
            r = self.http.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.headers["Content-Type"].startswith(ctype), path)
        r = self.http.request("HEAD", "/app.js")
        self.assertEqual(r.status, 200)
        self.assertGreater(int(r.headers["Content-Length"]), 1000)
        self.assertEqual(r.body, b"")
        self.assertError(self.http.get("/app.js.map").json, "unknown_path")
        self.assertError(self.http.get("/../daemon/web/assets/app.js").json, None)
        for method, path in (("POST", "/app.js"), ("POST", "/"), ("DELETE", "/index.html")):
            r = self.http.request(method, path, body="{}")  # assets are GET/HEAD only
            self.assertEqual(r.status, 405, (method, path))
            self.assertEqual(r.headers["Allow"], "GET, HEAD")
            self.assertError(r.json, "method_not_allowed")

    def test_api_answers_are_not_kept_or_sniffed(self):
        """API answers carried no Cache-Control: a browser kept the documents of a keyed
        server in its disk cache after the tab (where the page keeps the key) was closed, and a
        proxy's cache (nginx's proxy_cache ignores Authorization) could give them to the next
        client. Errors quote the request, and carried no nosniff. Every answer but the page's
        files now says Cache-Control: no-store and X-Content-Type-Options: nosniff; the files
        keep no-cache (revalidated, never stale)."""
        self.assertOk(self.http.request("POST", "/docs",
                                        body={"id": "<img src=x>", "title": "kept"}).json)
        answers = [self.http.search("kept"), self.http.get("/docs/%3Cimg%20src%3Dx%3E"),
                   self.http.get("/search?%3Cscript%3E=1"), self.http.get("/nope"),
                   self.http.get("/stats"), self.http.get("/metrics"),
                   self.http.request("HEAD", "/health")]
        self.assertIn("<img src=x>", answers[1].json["doc"]["id"])
        self.assertIn("<script>", answers[2].json["error"]["message"])
        for r in answers:
            self.assertEqual(r.headers["Cache-Control"], "no-store", r.status)
            self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff", r.status)
        status, headers, _ = self.raw(
            b"GET /health HTTP/1.1\r\nHost: localhost\r\nX Y: z\r\n\r\n")  # bad_http
        self.assertEqual((status, headers["cache-control"]), (400, "no-store"))
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(self.http.get("/app.js").headers["Cache-Control"], "no-cache")

    def test_web_off(self):
        d = self.start_daemon(extra_args=["--web", "off"])
        h = d.http()
        self.assertError(h.get("/").json, "unknown_path")
        self.assertError(h.get("/app.js").json, "unknown_path")
        self.assertOk(h.get("/health").json)
        h.close()

    def test_cors_simple_requests(self):
        r = self.http.request("GET", "/search?q=x", headers={"Origin": ALLOWED})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], ALLOWED)
        self.assertEqual(r.headers["Vary"], "Origin")
        r = self.http.request("GET", "/search?q=x", headers={"Origin": "https://a.example"})
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "https://a.example")
        r = self.http.request("GET", "/search?q=x", headers={"Origin": "http://evil.example"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("Access-Control-Allow-Origin", r.headers)
        # the answer depends on the Origin, so a cache must know, whoever asked
        self.assertEqual(r.headers["Vary"], "Origin")
        r = self.http.request("GET", "/search?q=x")
        self.assertNotIn("Access-Control-Allow-Origin", r.headers)
        self.assertEqual(r.headers["Vary"], "Origin")
        # errors carry it too, so a page can read why it failed
        r = self.http.request("GET", "/search?q=x&limit=-1", headers={"Origin": ALLOWED})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], ALLOWED)

    def test_preflight(self):
        hdrs = {"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization"}
        r = self.http.request("OPTIONS", "/docs", headers=hdrs)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], ALLOWED)
        self.assertEqual(r.headers["Vary"], "Origin")
        # every method of the API, as PROTOCOL.md "CORS" lists them (it lacked PATCH)
        self.assertEqual(r.headers["Access-Control-Allow-Methods"],
                         "GET, POST, PUT, PATCH, DELETE, HEAD")
        self.assertIn("Authorization", r.headers["Access-Control-Allow-Headers"])
        hdrs["Origin"] = "http://evil.example"
        r = self.http.request("OPTIONS", "/docs", headers=hdrs)
        self.assertEqual(r.status, 403)
        self.assertError(r.json, "forbidden_origin")
        # OPTIONS that is not a preflight is the API's 405
        r = self.http.request("OPTIONS", "/search")
        self.assertEqual(r.status, 405)

    def test_cross_origin_writes_refused(self):
        """A page on an origin not allowed could write without a preflight (a form, or fetch
        with a text/plain body: the browser only hides the answer), so any website could add
        documents to a loopback searchd with no keys. Such a request is now forbidden_origin
        and nothing of it is done; reads, clients without Origin and allowed origins are as
        before."""
        doc = b'{"id":"csrf","title":"from another site"}'
        for origin in ("http://evil.example", "null"):
            for ctype in ("text/plain", "application/x-www-form-urlencoded"):
                r = self.http.request("POST", "/docs", body=doc,
                                      headers={"Origin": origin, "Content-Type": ctype})
                self.assertEqual(r.status, 403, (origin, ctype))
                self.assertError(r.json, "forbidden_origin")
                self.assertNotIn("Access-Control-Allow-Origin", r.headers)
        for method, path in (("DELETE", "/docs/a"), ("PUT", "/indexes/x"), ("POST", "/search")):
            r = self.http.request(method, path, body=b"{}", headers={"Origin": "http://evil.example"})
            self.assertEqual(r.status, 403, (method, path))
        self.assertError(self.http.get("/docs/csrf").json, "not_found")  # nothing was stored
        r = self.http.request("GET", "/search?q=x", headers={"Origin": "http://evil.example"})
        self.assertEqual(r.status, 200)  # a read: the browser keeps the answer from the page
        r = self.http.request("POST", "/docs", body=doc, headers={"Origin": ALLOWED})
        self.assertOk(r.json)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], ALLOWED)
        self.assertOk(self.http.request("DELETE", "/docs/csrf").json)  # no Origin: not a browser
        d = self.start_daemon(extra_args=["--cors-origins", "*"])  # every origin allowed
        h = d.http()
        r = h.request("POST", "/docs", body=doc, headers={"Origin": "http://evil.example"})
        self.assertOk(r.json)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "*")
        h.close()

    def test_facet_order_keeps_the_order_js_objects_lose(self):
        """Facet buckets come as a JSON object, value -> count, in the server's order; but a
        JavaScript object lists integer-like keys ("1999", "2005") first, ascending, so the
        page, the box and any JS client lost it. facet_order gives each facet's keys as an
        array, in the same order, for every kind of facet."""
        settings = {"fields": {"title": {"type": "text"}, "year": {"type": "int"},
                               "lang": {"type": "keyword"}}}
        self.assertOk(self.http.request("PUT", "/indexes/default", body=settings).json)
        docs = [{"id": "y%d" % i, "title": "zebrayear", "year": y, "lang": lang}
                for i, (y, lang) in enumerate([(2005, "9"), (2005, "9"), (2005, "9"), (1999, "100"),
                                               (1999, "100"), (1987, "10")])]
        ndjson = "\n".join(json.dumps(d) for d in docs)
        self.assertOk(self.http.request("POST", "/docs", body=ndjson).json)
        r = self.http.search("zebrayear", facets="lang,year:values=2005|1987|1999").json
        self.assertEqual(r["facet_order"], {"lang": ["9", "100", "10"],
                                            "year": ["2005", "1987", "1999"]})
        for field, order in r["facet_order"].items():
            self.assertEqual(list(r["facets"][field]), order)  # the object's own order
        r = self.http.search("zebrayear", facets="year:interval=10").json
        self.assertEqual(r["facet_order"], {"year": ["1980", "1990", "2000"]})
        self.assertNotIn("facet_order", self.http.search("zebrayear").json)  # no facets asked

    def test_bad_headers(self):
        status, _, body = self.raw(b"GET /health HTTP/1.1\r\nHost: localhost\r\nOrigin: http://a\r\n"
                                   b"Origin: http://b\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertIn(b'"code":"bad_http"', body)
        status, _, body = self.raw(b"GET /health HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                                   + b"k" * 600 + b"\r\n\r\n")
        self.assertEqual(status, 431)
        self.assertIn(b'"code":"head_too_large"', body)
        # a header we do not act on may be long
        status, _, _ = self.raw(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Long: " + b"v" * 4000
                                + b"\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 200)

    def test_bad_cors_setting_refuses_to_start(self):
        d = self.new_daemon(extra_args=["--cors-origins", "example.org"])
        with self.assertRaises(harness.DaemonError) as cm:
            d.start()
        self.assertIn("not an origin", str(cm.exception))


if __name__ == "__main__":
    harness.main()
