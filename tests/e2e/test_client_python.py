"""test_client_python.py: the Python client (client/python/searchd.py) against a real searchd.

Every op over TCP, the same over the Unix socket, pipelining (answers in order, an error answer
in its place without hiding the rest), the default index, index management, errors raised as
searchd.Error with the protocol's code, and snapshot() against a searchd with keys and
--snapshot-dir (the copy passes `searchd --check`; a name that is a path and a search key are
refused; auth() switches roles).

test_issue_timeout_*: a Client whose request times out (a large add under a timeout of 0.02 s) never
returns that request's late answer to a later call: the connection is dropped and the next call
reconnects (with its key), for call() and pipeline() alike. A connection the server closed
between calls (--idle-timeout) is opened again before the next call, over TCP, a Unix socket
and TLS.
"""

import os
import random
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile

import harness

sys.path.insert(0, os.path.join(harness.REPO, "client", "python"))
import searchd  # noqa: E402


class PythonClientTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        sockdir = tempfile.mkdtemp(prefix="searchd-py-")
        self.addCleanup(shutil.rmtree, sockdir, True)
        self.sock = os.path.join(sockdir, "s.sock")
        self.daemon = self.start_daemon(extra_args=["--socket", self.sock])
        self.addCleanup(self.daemon.stop)  # cleanups run last first: stopped, then removed
        self.addr = self.daemon.line_server

    def test_every_op(self):
        with searchd.Client(self.addr) as db:
            health = db.health()
            self.assertEqual(health["status"], "ok")
            self.assertRegex(health["version"], r"^\d+\.\d+\.\d+$")
            a = db.add({"id": "d1", "title": "Цифровая дипломатия", "body": "посольства в сетях"})
            self.assertEqual((a["added"], a["replaced"]), (1, 0))
            a = db.add([{"id": "d2", "title": "Industrial revolutions", "body": "steam"},
                        {"id": "d1", "title": "Цифровая дипломатия", "body": "новая версия"}])
            self.assertEqual((a["added"], a["replaced"]), (1, 1))
            r = db.search("дипломатии", limit=5)
            self.assertEqual([h["id"] for h in r["hits"]], ["d1"])
            self.assertEqual(db.get("d1")["body"], "новая версия")
            self.assertEqual(db.stats()["docs"], 2)
            self.assertEqual(db.delete("d2")["deleted"], 1)
            with self.assertRaises(searchd.Error) as cm:
                db.get("d2")
            self.assertEqual(cm.exception.code, "not_found")
            with self.assertRaises(searchd.Error) as cm:
                db.delete("d2")  # one id: a missing one is an error
            self.assertEqual(cm.exception.code, "not_found")
            # several ids: one write, the missing ones counted (the protocol's "ids")
            db.add([{"id": "x1", "title": "one"}, {"id": "x2", "title": "two"}])
            a = db.delete(["x1", "x2", "nobody"])
            self.assertEqual((a["deleted"], a["not_found"]), (2, 1))
            self.assertEqual(db.delete(("x1",))["not_found"], 1)
            with self.assertRaises(searchd.Error) as cm:
                db.delete([])
            self.assertEqual(cm.exception.code, "bad_request")
            self.assertEqual(db.stats()["docs"], 1)
            with self.assertRaises(searchd.Error) as cm:
                db.search('"unclosed phrase')
            self.assertEqual(cm.exception.code, "bad_query")
            self.assertEqual(db.search("steam")["total"], 0)  # connection still usable

    def test_index_management(self):
        settings = {"fields": {"title": {"type": "text", "weight": 2},
                               "year": {"type": "int"}, "lang": {"type": "keyword"}}}
        with searchd.Client(self.addr, index="books") as db:
            self.assertEqual(db.indexes(), [])
            self.assertEqual(db.create_index("books", settings), 1)
            with self.assertRaises(searchd.Error) as cm:
                db.create_index("books", {})
            self.assertEqual(cm.exception.code, "index_exists")
            db.add({"id": "b1", "title": "Война и мир", "year": 1869, "lang": "ru"})
            got = db.get_settings("books")
            self.assertEqual((got["index"], got["version"]), ("books", 1))
            self.assertEqual(got["settings"]["fields"]["year"]["type"], "int")
            self.assertEqual(got["stats"]["docs"], 1)
            self.assertEqual(db.set_settings("books", settings), 1)  # the same: no new version
            settings["fields"]["authors"] = {"type": "keyword"}
            self.assertEqual(db.set_settings("books", settings), 2)
            self.assertEqual(db.set_settings("papers", {}), 1)  # creates
            # a merge patch changes only what it names
            self.assertEqual(db.set_settings("books", {"fields": {"authors": None}}, merge=True), 3)
            got = db.get_settings("books")["settings"]["fields"]
            self.assertNotIn("authors", got)
            self.assertEqual(got["year"]["type"], "int")
            listed = db.indexes()
            self.assertEqual([i["name"] for i in listed], ["books", "papers"])
            self.assertEqual(listed[0]["docs"], 1)
            self.assertEqual(listed[0]["settings_version"], 3)
            # the Client's default index is not sent with ops about no index
            self.assertEqual(db.health()["status"], "ok")
            db.drop_index("papers")
            self.assertEqual([i["name"] for i in db.indexes()], ["books"])
            with self.assertRaises(searchd.Error) as cm:
                db.drop_index("papers")
            self.assertEqual(cm.exception.code, "unknown_index")
            with self.assertRaises(searchd.Error) as cm:
                db.drop_index("../books")
            self.assertEqual(cm.exception.code, "bad_request")
            with self.assertRaises(searchd.Error) as cm:
                db.search("мир", fitler="lang:ru")
            self.assertEqual((cm.exception.code, cm.exception.message),
                             ("bad_request", "unknown parameter 'fitler'"))
            r = db.search("мир", fields=["year", "lang"])
            self.assertEqual(r["hits"][0]["fields"], {"year": 1869, "lang": "ru"})
            db.add({"id": "b2", "title": "War and Peace", "year": 2007, "lang": "en"})
            r = db.search("", filter="year:>=1800", sort="year:desc", facets="lang,year:interval=100",
                          fields="year")
            self.assertEqual([h["fields"]["year"] for h in r["hits"]], [2007, 1869])
            self.assertEqual(r["facets"], {"lang": {"en": 1, "ru": 1},
                                           "year": {"1800": 1, "2000": 1}})
            self.assertEqual(r["facet_stats"]["lang"], {"others": 0, "missing": 0})
            r = db.search("", filter="lang:en", facets=("lang",), fields=("title",))
            self.assertEqual([h["fields"] for h in r["hits"]], [{"title": "War and Peace"}])

    def test_unix_socket_and_default_index(self):
        with searchd.Client(self.sock, index="books") as db:
            db.add({"id": "b1", "title": "Война и мир"})
            self.assertEqual(db.search("война")["hits"][0]["id"], "b1")
            self.assertEqual(db.stats()["index"], "books")
        with searchd.Client(self.addr) as db:
            with self.assertRaises(searchd.Error) as cm:
                db.get("b1")  # the default index does not hold it
            self.assertIn(cm.exception.code, ("not_found", "unknown_index"))
            self.assertEqual(db.get("b1", index="books")["title"], "Война и мир")

    def test_pipeline_keeps_order_and_errors_in_place(self):
        docs = [{"id": "p%d" % i, "title": "word%d common" % i} for i in range(200)]
        with searchd.Client(self.addr) as db:
            db.add(docs)
            reqs = [{"op": "search", "q": "word%d" % i, "limit": 1} for i in range(200)]
            reqs.insert(100, {"op": "search", "q": "(", "limit": 1})
            answers = db.pipeline(reqs)
            self.assertEqual(len(answers), 201)
            self.assertIsInstance(answers[100], searchd.Error)
            self.assertEqual(answers[100].code, "bad_query")
            rest = answers[:100] + answers[101:]
            self.assertEqual([a["hits"][0]["id"] for a in rest], ["p%d" % i for i in range(200)])

    def test_snapshot_checks_and_refusals(self):
        import test_keys
        snaps = tempfile.mkdtemp(prefix="searchd-py-snaps-")
        self.addCleanup(shutil.rmtree, snaps, True)
        d = self.start_daemon(extra_args=[
            "--snapshot-dir", snaps,
            "--admin-keys", test_keys.hash_key(test_keys.ADMIN),
            "--search-keys", test_keys.hash_key(test_keys.SEARCH)])
        with searchd.Client(d.line_server, key=test_keys.ADMIN) as db:
            self.assertEqual(db.role, "admin")
            db.add({"id": "s1", "title": "Снимок индекса"}, index="books")
            info = db.snapshot("books", "py-snap")
            self.assertEqual((info["index"], info["snapshot"]), ("books", "py-snap"))
            self.assertEqual(info["path"], os.path.join(os.path.realpath(snaps), "py-snap"))
            self.assertGreaterEqual(info["seq"], 1)
            for bad in ("../outside", "/tmp/outside", "a/b", "py-snap"):  # the last one exists
                with self.assertRaises(searchd.Error) as cm:
                    db.snapshot("books", bad)
                self.assertEqual(cm.exception.code, "bad_request", bad)
            with self.assertRaises(searchd.Error) as cm:
                db.snapshot("nosuch", "other")
            self.assertEqual(cm.exception.code, "unknown_index")
            self.assertEqual(db.auth(test_keys.SEARCH), "search")
            with self.assertRaises(searchd.Error) as cm:
                db.snapshot("books", "by-search-key")
            self.assertEqual(cm.exception.code, "forbidden")
            with self.assertRaises(searchd.Error) as cm:
                db.auth("not a key")
            self.assertEqual(cm.exception.code, "unauthorized")
            self.assertEqual(db.role, "search")  # a refused auth keeps the role
            self.assertEqual(db.search("снимок", index="books")["total"], 1)
        with searchd.Client(d.line_server, key=test_keys.SEARCH) as db:
            with self.assertRaises(searchd.Error) as cm:
                db.snapshot("books", "by-search-key")
            self.assertEqual(cm.exception.code, "forbidden")
        self.assertEqual(os.listdir(snaps), ["py-snap"])
        cp = subprocess.run([harness.CONFIG.searchd, "--check", info["path"]],
                            capture_output=True, text=True, timeout=120 * harness.TIME_SCALE)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)

    def large_add(self, db, watcher, index, count=3000):
        """Sends `count` documents of ~1 KB in one add through db with a timeout far shorter
        than the add takes, and expects a timeout. Then waits, through watcher (a Client on
        another connection), until the server has stored them: the add's answer is then due on
        db's old connection, where the old Client read it as the answer to the next call.
        Returns the documents, and whether they were stored (False only if the timeout cut the
        request itself short: then nothing of it is stored, and no late answer is due)."""
        rnd = random.Random(7)
        words = ["дипломатия", "посольство", "переговоры", "договор", "steam", "engine"]
        docs = [{"id": "t%d" % i, "title": "Документ %d" % i,
                 "body": " ".join(rnd.choice(words) for _ in range(80))} for i in range(count)]
        db.timeout = 0.02
        with self.assertRaises(socket.timeout):
            db.add(docs, index=index)
        db.timeout = harness.IO_TIMEOUT  # the calls after it may take their time

        return docs, self.wait_stored(watcher, index, count)

    @staticmethod
    def wait_stored(watcher, index, count):
        def stored():
            try:
                return watcher.stats(index=index)["docs"] == count
            except searchd.Error:  # unknown_index until the add is applied
                return False

        return harness.wait_until(stored, harness.IO_TIMEOUT)

    def test_issue_timeout_next_calls_get_their_own_answers(self):
        db = searchd.Client(self.addr, timeout=harness.IO_TIMEOUT)
        self.addCleanup(db.close)
        watcher = searchd.Client(self.addr, timeout=harness.IO_TIMEOUT)
        self.addCleanup(watcher.close)
        docs, stored = self.large_add(db, watcher, "big")
        # Each answer is the one its call asked for, not the add's late answer shifted along.
        r = db.search("дипломатия", index="big", limit=1)
        self.assertIn("hits", r)
        self.assertNotIn("added", r)
        if stored:
            st = db.stats(index="big")
            self.assertEqual((st["index"], st["docs"]), ("big", len(docs)))
            self.assertEqual(db.get("t17", index="big"), docs[17])
        else:
            with self.assertRaises(searchd.Error) as cm:
                db.get("t17", index="big")
            self.assertIn(cm.exception.code, ("not_found", "unknown_index"))
        self.assertEqual(db.health()["status"], "ok")
        # pipeline(): a timeout among its answers drops them; the next pipeline reads its own.
        db.timeout = 0.02
        with self.assertRaises(socket.timeout):
            db.pipeline([{"op": "add", "index": "big2", "docs": docs}, {"op": "health"}])
        db.timeout = harness.IO_TIMEOUT
        self.wait_stored(watcher, "big2", len(docs))
        answers = db.pipeline([{"op": "indexes"}, {"op": "get", "id": "nope", "index": "big"},
                               {"op": "health"}])
        self.assertIn("indexes", answers[0])
        self.assertIsInstance(answers[1], searchd.Error)
        self.assertEqual(answers[1].code, "not_found")
        self.assertEqual(answers[2]["status"], "ok")
        db.close()
        with self.assertRaises(searchd.ConnectionClosed):
            db.health()  # a closed Client stays closed

    def test_issue_timeout_reconnect_presents_the_key_again(self):
        import test_keys
        d = self.start_daemon(extra_args=[
            "--admin-keys", test_keys.hash_key(test_keys.ADMIN),
            "--search-keys", test_keys.hash_key(test_keys.SEARCH)])
        db = searchd.Client(d.line_server, key=test_keys.ADMIN, timeout=harness.IO_TIMEOUT)
        self.addCleanup(db.close)
        watcher = searchd.Client(d.line_server, key=test_keys.SEARCH, timeout=harness.IO_TIMEOUT)
        self.addCleanup(watcher.close)
        self.large_add(db, watcher, "keyed", count=2000)
        # a write needs the admin key: the new connection has presented it
        self.assertEqual(db.add({"id": "k1", "title": "после переподключения"},
                                index="keyed")["added"], 1)
        self.assertEqual(db.role, "admin")

    def test_connection_closed_between_calls_is_opened_again(self):
        """The server closes a connection idle for --idle-timeout (and a restart closes them
        all); the Client sent its next call on it anyway, and that call failed with
        ConnectionClosed, though the request was never read: every long-lived application got
        an error on its first call after a quiet spell. The Client now sees the end before it
        sends and connects again; over TLS too, where a session ticket waiting to be read is
        no end."""
        d = self.start_daemon(extra_args=["--idle-timeout", "1", "--log-level", "debug",
                                          "--socket", self.sock + "2"])
        for addr in (d.line_server, self.sock + "2"):
            db = searchd.Client(addr, timeout=harness.IO_TIMEOUT)
            self.addCleanup(db.close)
            self.assertOk(db.add({"id": "i1", "title": "тишина"}))
            # the close of this connection (by its peer address: the other Client's idle
            # connection closes too meanwhile), whenever the loaded machine gets to it
            local = db._sock.getsockname()
            peer = "%s:%d" % local[:2] if isinstance(local, tuple) else "unix"
            closed = harness.wait_until(lambda: any("event=close proto=line peer=%s" % peer in l
                                                    for l in list(d.log)),
                                        timeout=harness.IO_TIMEOUT)
            self.assertTrue(closed, d.tail())  # the server closed it (idle)
            self.assertEqual(db.get("i1")["title"], "тишина")
            self.assertEqual(db.health()["status"], "ok")
        # a descriptor past 1024, as a busy process has: select() refuses those, and taking
        # that for an end would reconnect on every call
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
            fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
            for fd in fillers:
                self.addCleanup(os.close, fd)
            d.log.clear()
            db = searchd.Client(d.line_server, timeout=harness.IO_TIMEOUT)
            self.addCleanup(db.close)
            self.assertGreater(db._sock.fileno(), 1024)
            for _ in range(3):
                self.assertEqual(db.health()["status"], "ok")
            # the server's log, read as it comes: its accepts come before the requests
            self.assertTrue(harness.wait_until(
                lambda: sum("op=health" in l for l in list(d.log)) >= 3,
                timeout=harness.IO_TIMEOUT), d.tail())
            self.assertEqual(sum("event=accept" in l for l in list(d.log)), 1, d.tail())
        # TLS: the connection a Client has not used yet may hold the server's session tickets
        import test_tls
        test_tls.setUpModule()
        self.addCleanup(test_tls.tearDownModule)
        t = self.start_daemon(extra_args=["--tls-line-listen", "127.0.0.1:0", "--tls-cert",
                                          test_tls.path("a.crt"), "--tls-key",
                                          test_tls.path("a.key"), "--idle-timeout", "1",
                                          "--log-level", "debug"])
        t.log.clear()
        db = searchd.Client("localhost:%d" % t.tls_line_addr[1], timeout=harness.IO_TIMEOUT,
                            tls=test_tls.client_ctx(test_tls.path("a.crt")))
        self.addCleanup(db.close)
        self.assertEqual(db.health()["status"], "ok")
        self.assertEqual(db.health()["status"], "ok")
        self.assertTrue(harness.wait_until(
            lambda: sum("op=health" in l for l in list(t.log)) >= 2,
            timeout=harness.IO_TIMEOUT), t.tail())
        self.assertEqual(sum("event=accept" in l for l in list(t.log)), 1, t.tail())
        peer = "%s:%d" % db._sock.getsockname()[:2]
        self.assertTrue(harness.wait_until(lambda: any("event=close proto=line peer=%s" % peer
                                                       in l for l in list(t.log)),
                                           timeout=harness.IO_TIMEOUT), t.tail())
        self.assertEqual(db.health()["status"], "ok")

    def test_reconnect_refused_busy_raises_busy(self):
        """The connection closed while idle, and the server at its connection limit when the
        Client connects again (with its key): the refusal the server writes at accept is the
        answer the call gets, Error("busy"), not taken for the new connection's end (which
        would reconnect again and again); once there is room, calls go on."""
        import test_keys
        d = self.start_daemon(extra_args=["--idle-timeout", "1", "--log-level", "debug",
                                          "--max-line-connections", "1",
                                          "--admin-keys", test_keys.hash_key(test_keys.ADMIN)])
        db = searchd.Client(d.line_server, key=test_keys.ADMIN, timeout=harness.IO_TIMEOUT)
        self.addCleanup(db.close)
        self.assertEqual(db.health()["status"], "ok")
        peer = "%s:%d" % db._sock.getsockname()[:2]  # its close, whenever the server gets to it
        self.assertTrue(harness.wait_until(lambda: any("event=close proto=line peer=%s" % peer
                                                       in l for l in list(d.log)),
                                           timeout=harness.IO_TIMEOUT), d.tail())
        d.log.clear()  # (before the connection: its accept may be logged at once)
        hold = socket.create_connection(d.line_addr, timeout=harness.IO_TIMEOUT)
        hold.sendall(b'{"op":"hea')  # a request under way: not idle, so not evicted
        self.assertTrue(harness.wait_until(lambda: any("event=accept" in l
                                                       for l in list(d.log)),
                                           timeout=harness.IO_TIMEOUT), d.tail())
        opened = db._open

        def open_and_wait():  # the refusal is there before the Client looks: no race
            opened()
            select.select([db._sock], [], [], harness.IO_TIMEOUT)

        db._open = open_and_wait
        with self.assertRaises(searchd.Error) as cm:
            db.health()
        self.assertEqual(cm.exception.code, "busy")
        del db._open
        hold.close()
        self.assertTrue(harness.wait_until(lambda: self.health_after_busy(db),
                                           timeout=harness.IO_TIMEOUT))
        self.assertEqual(db.role, "admin")

    @staticmethod
    def health_after_busy(db):
        try:
            return db.health()["status"] == "ok"
        except searchd.Error as e:
            if e.code != "busy":
                raise
            return False  # the held connection not yet closed on the server's side

    def test_closed_connection_and_lines_that_are_no_answer_raise_documented_types(self):
        """A server that closes before answering is searchd.ConnectionClosed, a ConnectionError
        as a reset is (it was a bare Exception: `except ConnectionError` missed it). A line that
        is no answer is searchd.ProtocolError naming the address (it was json's "Expecting
        value" for the HTTP port, and AttributeError for JSON that is not an object). A call
        after close() is ConnectionClosed."""
        srv = socket.socket()
        self.addCleanup(srv.close)
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        addr = "127.0.0.1:%d" % srv.getsockname()[1]
        cases = ((None, searchd.ConnectionClosed),
                 (b'{"ok":true,"sta', searchd.ConnectionClosed),  # closed inside the answer
                 (b"[1,2]\n", searchd.ProtocolError),
                 (b'{"ok":true,"bad":"\xff"}\n', searchd.ProtocolError))
        for sent, want in cases:
            db = searchd.Client(addr, timeout=harness.IO_TIMEOUT)
            self.addCleanup(db.close)
            peer, _ = srv.accept()
            if sent is not None:
                peer.sendall(sent)
            peer.close()
            with self.assertRaises(want) as cm:
                db.health()
            self.assertIsInstance(cm.exception, ConnectionError if want is searchd.ConnectionClosed
                                  else ValueError)
            if want is searchd.ProtocolError:
                self.assertIn(addr, str(cm.exception))
                self.assertEqual(cm.exception.line, sent.rstrip(b"\n"))
        http = "%s:%d" % self.daemon.http_addr
        with searchd.Client(http, timeout=harness.IO_TIMEOUT) as db:
            with self.assertRaises(searchd.ProtocolError) as cm:
                db.health()
            self.assertIn("HTTP port", str(cm.exception))
        db = searchd.Client(self.addr)
        sock = db._sock
        with self.assertRaises(searchd.Error) as cm:
            db.search("x", fitler="lang:ru")
        self.assertEqual(cm.exception.code, "bad_request")
        self.assertEqual(db.health()["status"], "ok")
        self.assertIs(db._sock, sock)  # the same connection, after an error answer
        db.close()
        with self.assertRaises(searchd.ConnectionClosed) as cm:
            db.health()
        self.assertIn("closed", str(cm.exception))

    def test_bad_address(self):
        with self.assertRaises(ValueError):
            searchd.Client("no-port-here")
        for bad in ("127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999", ":7701", "host:http"):
            with self.assertRaises(ValueError, msg=bad):  # 99999 was OverflowError
                searchd.Client(bad)
        with self.assertRaises(OSError):
            searchd.Client("127.0.0.1:%d" % harness.free_port(), timeout=5)


if __name__ == "__main__":
    harness.main()
