"""test_keys.py: API keys. Keys are configured as SHA-256 hashes (searchd --hash-key); HTTP
sends "Authorization: Bearer KEY", the line protocol an auth op once per connection. No key or
an unknown one is 401 (with WWW-Authenticate on HTTP), a search key may read but not write
(403), an admin key may do everything, health needs no key. A non-loopback listener without
keys refuses to start unless public-without-keys is on, and a SIGHUP that would leave it without
keys changes nothing. SIGHUP adds and removes keys live.
"""

import os
import subprocess

import harness

ADMIN = "admin-0123456789abcdef0123456789abcdef"
SEARCH = "search-0123456789abcdef0123456789abcdef"


def hash_key(key):
    cp = subprocess.run([harness.CONFIG.searchd, "--hash-key"], input=key + "\n",
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, cp.stderr
    assert key not in cp.stdout and key not in cp.stderr
    return cp.stdout.strip()


class KeysTest(harness.ConfFileTestCase):
    def setUp(self):
        super().setUp()
        self.write("admin-keys = %s\nsearch-keys = %s\n" % (hash_key(ADMIN), hash_key(SEARCH)))
        self.daemon = self.start_daemon(extra_args=["--config", self.conf])

    def req(self, method, path, key=None, body=None):
        h = self.daemon.http()
        try:
            return h.request(method, path, body=body,
                             headers={"Authorization": "Bearer " + key} if key else {})
        finally:
            h.close()

    def test_hash_key_is_sha256(self):
        import hashlib
        self.assertEqual(hash_key(ADMIN), "sha256:" + hashlib.sha256(ADMIN.encode()).hexdigest())

    def run_hash_key(self, raw):
        """searchd --hash-key with raw (bytes) on its standard input."""
        return subprocess.run([harness.CONFIG.searchd, "--hash-key"], input=raw,
                              capture_output=True, timeout=30)

    def test_hash_key_refuses_a_key_no_client_can_send(self):
        """A key hashed with a space at an end (or a tab, a CR inside, a byte of UTF-8) was
        hashed as typed, while HTTP takes the spaces off the key a client sends: auth failed
        with nothing to say why. Such a key is refused, saying why and not quoting it."""
        cases = ((ADMIN + " ", "ends with a space"), (" " + ADMIN, "begins with a space"),
                 (ADMIN[:8] + "\t" + ADMIN[8:], "byte 9 of the key is a control character"),
                 (ADMIN[:8] + "\r" + ADMIN[8:], "byte 9 of the key is a control character"),
                 (ADMIN + "ключ", "is not ASCII"), ("", "1 to 512 bytes"))
        for key, why in cases:
            cp = self.run_hash_key((key + "\n").encode())
            err = cp.stderr.decode()
            self.assertEqual(cp.returncode, 2, (key, err))
            self.assertIn(why, err, key)
            self.assertEqual(cp.stdout, b"", key)
            self.assertNotIn(ADMIN, err)
        # a CRLF line end (a key file written on Windows) ends the line, as LF does
        cp = self.run_hash_key((ADMIN + "\r\n").encode())
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(cp.stdout.decode().strip(), hash_key(ADMIN))
        # so the key made is the one HTTP sends, spaces around it or not
        self.assertEqual(self.req("GET", "/stats", key=" %s " % ADMIN).status, 200)

    def test_only_search_keys_warns_that_nothing_can_write(self):
        """Keys with search keys only: no client may ever write, and nothing said so. A warning
        at start and at each reload that leaves it so says how to add an admin key."""
        warned = lambda d: [l for l in d.log if "event=no_admin_key" in l]  # noqa: E731
        self.assertEqual(warned(self.daemon), [])  # an admin key: no warning
        self.write("search-keys = %s\n" % hash_key(SEARCH))
        d = self.start_daemon(extra_args=["--config", self.conf])
        self.assertEqual(len(warned(d)), 1, d.tail())
        self.assertIn("level=warn", warned(d)[0])
        self.assertIn("admin-keys", warned(d)[0])
        self.assertIn("--hash-key", warned(d)[0])
        self.reload(d)
        self.assertEqual(len(warned(d)), 1, d.tail())
        self.write("admin-keys = %s\nsearch-keys = %s\n" % (hash_key(ADMIN), hash_key(SEARCH)))
        self.reload(d)
        self.assertEqual(warned(d), [], d.tail())

    def test_admin_key_refused_from_a_web_page(self):
        """A site owner could put an admin key into the embeddable box (key="..."): the box
        sent it from every visitor's browser, and anyone who read the page's source owned the
        index. A request with an admin key and an Origin header (what a browser sends from a
        page of another origin, and on every write) is now refused, whatever it asks: the box
        fails on its first search, saying why, before the page is published."""
        origin = {"Origin": "https://site.example"}
        admin = dict(origin, Authorization="Bearer " + ADMIN)
        h = self.daemon.http()
        self.addCleanup(h.close)
        for method, path, body in (("GET", "/search?q=x", None), ("GET", "/stats", None),
                                   ("GET", "/metrics", None), ("GET", "/indexes", None),
                                   ("POST", "/docs", {"id": "o1", "title": "t"}),
                                   ("DELETE", "/indexes/default", None)):
            r = h.request(method, path, body=body, headers=admin)
            self.assertEqual(r.status, 403, (method, path, r.body))
            self.assertError(r.json, "forbidden")
            self.assertIn("admin key may not be used from a web page", r.json["error"]["message"])
            self.assertNotIn(ADMIN, r.body.decode())
        # the operator is told the key is public, once (not at every visitor's search)
        warned = [l for l in self.daemon.log if "event=admin_key_from_web_page" in l]
        self.assertEqual(len(warned), 1, self.daemon.tail())
        self.assertIn('level=warn', warned[0])
        self.assertIn('origin="https://site.example"', warned[0])
        self.assertIn("replace it", warned[0])
        self.assertFalse([l for l in self.daemon.log if ADMIN in l])
        # a search key is what a page is given; an admin key without Origin (a program, or
        # the page at / reading its own origin with GET) does everything, as before
        r = h.request("GET", "/search?q=x", headers=dict(origin, Authorization="Bearer " + SEARCH))
        self.assertEqual(r.status, 200, r.body)
        self.assertError(self.req("GET", "/docs/o1", key=ADMIN).json, "not_found")  # not written
        self.assertOk(self.req("POST", "/docs", key=ADMIN, body={"id": "o2", "title": "t"}).json)
        # keys off (the loopback default): no key was given, nothing to refuse
        d = self.start_daemon()
        h2 = d.http()
        self.addCleanup(h2.close)
        self.assertEqual(h2.request("GET", "/search?q=x", headers=origin).status, 200)

    def test_http_roles(self):
        doc = {"id": "k1", "title": "ключи"}
        r = self.req("POST", "/docs", body=doc)
        self.assertEqual(r.status, 401)
        self.assertError(r.json, "unauthorized")
        self.assertIn("Bearer", r.headers["WWW-Authenticate"])
        self.assertEqual(self.req("POST", "/docs", key="wrong-key", body=doc).status, 401)
        r = self.req("POST", "/docs", key=SEARCH, body=doc)
        self.assertEqual(r.status, 403)
        self.assertError(r.json, "forbidden")
        self.assertOk(self.req("POST", "/docs", key=ADMIN, body=doc).json)
        self.assertEqual(self.req("GET", "/search?q=%D0%BA%D0%BB%D1%8E%D1%87%D0%B8").status, 401)
        r = self.req("GET", "/search?q=%D0%BA%D0%BB%D1%8E%D1%87%D0%B8", key=SEARCH)
        self.assertEqual([h["id"] for h in r.json["hits"]], ["k1"])
        self.assertOk(self.req("GET", "/docs/k1", key=SEARCH).json)
        self.assertOk(self.req("GET", "/stats", key=SEARCH).json)
        self.assertEqual(self.req("DELETE", "/docs/k1", key=SEARCH).status, 403)
        self.assertOk(self.req("GET", "/health").json)  # a load balancer needs no key
        self.assertEqual(self.req("GET", "/").status, 200)  # nor the page's files
        h = self.daemon.http()
        r = h.request("GET", "/search?q=x", headers={"Authorization": "Basic " + ADMIN})
        self.assertEqual(r.status, 401)
        h.close()

    def test_index_management_roles(self):
        """Issue 11: a search key may list indexes and read settings; changing and dropping
        need an admin key."""
        settings = {"fields": {"year": {"type": "int"}}}
        self.assertEqual(self.req("PUT", "/indexes/books", key=SEARCH, body=settings).status, 403)
        self.assertEqual(self.req("GET", "/indexes").status, 401)
        self.assertOk(self.req("PUT", "/indexes/books", key=ADMIN, body=settings).json)
        r = self.req("GET", "/indexes", key=SEARCH)
        self.assertEqual([i["name"] for i in r.json["indexes"]], ["books"])
        self.assertEqual(self.req("GET", "/indexes/books", key=SEARCH).json["version"], 1)
        r = self.req("DELETE", "/indexes/books", key=SEARCH)
        self.assertEqual(r.status, 403)
        self.assertError(r.json, "forbidden")
        with self.daemon.line() as c:
            self.assertEqual(c.call({"op": "auth", "key": SEARCH})["role"], "search")
            self.assertOk(c.call({"op": "indexes"}))
            self.assertOk(c.call({"op": "get_settings", "index": "books"}))
            for req in ({"op": "create_index", "index": "x", "settings": {}},
                        {"op": "set_settings", "index": "books", "settings": {}},
                        {"op": "drop_index", "index": "books"}):
                self.assertError(c.call(req), "forbidden", req["op"])
            self.assertEqual(c.call({"op": "auth", "key": ADMIN})["role"], "admin")
            self.assertOk(c.call({"op": "drop_index", "index": "books"}))

    def test_keys_guard_a_loopback_server_named_otherwise(self):
        # With keys on, the key guards: a request naming any Host is answered (a proxy, a
        # name in /etc/hosts); without keys see test_loopback_without_keys_answers_only_its_names.
        h = self.daemon.http()
        try:
            r = h.request("GET", "/search?q=x", headers={"Host": "search.example.org",
                                                           "Authorization": "Bearer " + SEARCH})
            self.assertEqual(r.status, 200, r.body)
        finally:
            h.close()

    def test_loopback_without_keys_answers_only_its_names(self):
        # DNS rebinding: a website whose name resolves to 127.0.0.1 would be same-origin with a
        # loopback searchd that has no keys, its scripts reading the archive. Such a request
        # names the site in Host: refused (forbidden_host); localhost and IP addresses are not.
        d = self.start_daemon()
        h = d.http()
        try:
            for host in ("evil.example", "evil.example:%d" % d.http_addr[1], "127.0.0.1.nip.io",
                         "localhost.evil.example"):
                for path in ("/search?q=x", "/", "/health", "/docs/x", "/metrics"):
                    r = h.request("GET", path, headers={"Host": host})
                    self.assertEqual(r.status, 403, (host, path, r.body))
                    if path != "/metrics":
                        self.assertError(r.json, "forbidden_host")
                r = h.request("POST", "/docs", body={"id": "r1"}, headers={"Host": host})
                self.assertEqual(r.status, 403, (host, r.body))
            # the space after a header's value is not part of it ("localhost " was refused)
            for host in ("localhost", "LocalHost:%d" % d.http_addr[1], "app.localhost",
                         "localhost.", "127.0.0.1:%d" % d.http_addr[1], "[::1]:1", "10.1.2.3",
                         "localhost \t"):
                r = h.request("GET", "/search?q=x", headers={"Host": host})
                self.assertEqual(r.status, 200, (host, r.body))
        finally:
            h.close()
        self.assertError(self.line_get(d, "r1"), "not_found")

    def line_get(self, d, doc_id):
        with d.line() as c:
            return c.call({"op": "get", "id": doc_id})

    def test_line_auth_once_per_connection(self):
        with self.daemon.line() as c:
            self.assertError(c.call({"op": "search", "q": "x"}), "unauthorized")
            self.assertOk(c.call({"op": "health"}))
            self.assertError(c.call({"op": "auth", "key": "nope"}), "unauthorized")
            # a key read with its line end, or a space: unknown, and the answer says why
            a = c.call({"op": "auth", "key": SEARCH + "\n"})
            self.assertError(a, "unauthorized")
            self.assertIn("control character", a["error"]["message"])
            a = c.call({"op": "auth", "key": SEARCH + " "})
            self.assertIn("ends with a space", a["error"]["message"])
            self.assertError(c.call({"op": "auth"}), "bad_request")
            self.assertEqual(c.call({"op": "auth", "key": SEARCH})["role"], "search")
            self.assertOk(c.call({"op": "search", "q": "x"}))
            self.assertError(c.call({"op": "add", "doc": {"id": "a", "title": "t"}}), "forbidden")
            self.assertEqual(c.call({"op": "auth", "key": ADMIN})["role"], "admin")
            self.assertOk(c.call({"op": "add", "doc": {"id": "a", "title": "t"}}))
            # an auth that fails leaves the role as it was (PROTOCOL.md "API keys")
            self.assertError(c.call({"op": "auth", "key": "nope"}), "unauthorized")
            self.assertOk(c.call({"op": "add", "doc": {"id": "a", "title": "t"}}))
        with self.daemon.line() as c:  # a new connection starts without a key
            self.assertError(c.call({"op": "get", "id": "a"}), "unauthorized")
        for line in self.daemon.log:
            self.assertNotIn(ADMIN, line)
            self.assertNotIn(SEARCH, line)

    def test_python_client_key(self):
        import sys
        sys.path.insert(0, os.path.join(harness.REPO, "client", "python"))
        import searchd
        with searchd.Client(self.daemon.line_server, key=ADMIN) as db:
            self.assertEqual(db.role, "admin")
            db.add({"id": "p1", "title": "питон"})
        with searchd.Client(self.daemon.line_server, key=SEARCH) as db:
            self.assertEqual(db.get("p1")["title"], "питон")
            with self.assertRaises(searchd.Error) as cm:
                db.delete("p1")
            self.assertEqual(cm.exception.code, "forbidden")
        with self.assertRaises(searchd.Error) as cm:
            searchd.Client(self.daemon.line_server, key="wrong")
        self.assertEqual(cm.exception.code, "unauthorized")

    def test_searchq_key(self):
        self.assertOk(self.req("POST", "/docs", key=ADMIN, body={"id": "q1", "title": "клиент"}).json)
        cp = harness.run_searchq(["--json", "get", "q1"], daemon=self.daemon)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("unauthorized", "".join(harness.decode(cp)))
        cp = harness.run_searchq(["--key", SEARCH, "get", "q1"], daemon=self.daemon)
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        self.assertIn("клиент", harness.decode(cp)[0])
        os.environ["SEARCHQ_KEY"] = SEARCH  # the way that keeps the key out of ps
        try:
            cp = harness.run_searchq(["delete", "q1"], daemon=self.daemon)
            self.assertEqual(cp.returncode, 1, harness.describe(cp))
            self.assertIn("forbidden", "".join(harness.decode(cp)))
            cp = harness.run_searchq(["клиент"], daemon=self.daemon)
            self.assertEqual(cp.returncode, 0, harness.describe(cp))
            self.assertIn("q1", harness.decode(cp)[0])
        finally:
            del os.environ["SEARCHQ_KEY"]
        cp = harness.run_searchq(["--key", "wrong", "stats"], daemon=self.daemon)
        self.assertEqual(cp.returncode, 1, harness.describe(cp))
        self.assertIn("unknown API key", "".join(harness.decode(cp)))

    def test_reload_changes_keys(self):
        new = "newkey-0123456789abcdef0123456789abcdef"
        self.write("admin-keys = %s\n" % hash_key(new))
        self.reload(self.daemon)
        self.assertEqual(self.req("GET", "/stats", key=ADMIN).status, 401)
        self.assertEqual(self.req("GET", "/stats", key=new).status, 200)

    def test_reload_applies_to_open_line_connections(self):
        """A key removed by SIGHUP loses its rights on connections that presented it before,
        not only on new ones; a key kept keeps them, and one demoted gets its new role."""
        with self.daemon.line() as admin, self.daemon.line() as search:
            self.assertEqual(admin.call({"op": "auth", "key": ADMIN})["role"], "admin")
            self.assertEqual(search.call({"op": "auth", "key": SEARCH})["role"], "search")
            self.assertOk(admin.call({"op": "add", "doc": {"id": "r1", "title": "t"}}))
            # ADMIN removed; SEARCH promoted to admin
            self.write("admin-keys = %s\n" % hash_key(SEARCH))
            self.reload(self.daemon)
            self.assertError(admin.call({"op": "add", "doc": {"id": "r2", "title": "t"}}),
                             "unauthorized")
            self.assertError(admin.call({"op": "drop_index", "index": "default"}), "unauthorized")
            self.assertError(admin.call({"op": "get", "id": "r1"}), "unauthorized")
            self.assertOk(admin.call({"op": "health"}))
            self.assertOk(search.call({"op": "delete", "id": "r1"}))
            # keys off altogether: every connection may do everything again (the default)
            self.write("")
            self.reload(self.daemon)
            self.assertOk(admin.call({"op": "add", "doc": {"id": "r3", "title": "t"}}))

    def test_public_address_needs_keys(self):
        d = self.new_daemon()
        cmd = [harness.CONFIG.searchd, "--data", d.data_dir, "--listen", "0.0.0.0:0",
               "--line-listen", "127.0.0.1:0"]
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        self.assertEqual(cp.returncode, 2)
        self.assertIn("no API key", cp.stderr)
        d.start(["--listen", "127.0.0.1:0", "--line-listen", "[::1]:0"])  # loopback: fine
        d.stop()

    def test_reload_without_keys_on_a_public_address_is_refused(self):
        """A public listener needs keys at start, but a SIGHUP whose config had lost its key
        lines (an edit gone wrong) turned keys off: every client that could reach the server
        became admin. Such a reload is now refused and the keys stay; with
        public-without-keys = on (at start) it is taken, as at start."""
        d = self.start_daemon(extra_args=["--config", self.conf, "--line-listen", "0.0.0.0:0"])
        self.write("# the key lines were lost\n")
        self.reload(d, "event=reload_failed")
        self.assertTrue(any("configure no API key" in l and "nothing changed" in l
                            for l in d.log), d.tail())
        h = d.http()
        self.addCleanup(h.close)
        self.assertEqual(h.request("POST", "/docs", body={"id": "p1"}).status, 401)
        self.assertEqual(h.request("POST", "/docs", body={"id": "p1"},
                                   headers={"Authorization": "Bearer " + ADMIN}).status, 200)
        d.stop()
        self.write("admin-keys = %s\npublic-without-keys = on\n" % hash_key(ADMIN))
        d.start(["--config", self.conf, "--line-listen", "0.0.0.0:0"])
        self.write("public-without-keys = on\n")
        self.reload(d)
        h = d.http()
        self.addCleanup(h.close)
        self.assertEqual(h.request("POST", "/docs", body={"id": "p2"}).status, 200)


if __name__ == "__main__":
    harness.main()
