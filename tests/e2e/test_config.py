"""test_config.py: the configuration file (--config): keys take effect, flags override them,
--print-config shows the result, and a bad file is refused with FILE:LINE before anything
starts. SIGHUP reloads the live settings (log level, CORS origins) while clients keep their
connections and their requests keep being answered; a bad file on reload changes nothing;
a setting that needs a restart is logged as such.
"""

import os
import re
import subprocess
import tempfile
import threading
import time

import harness


class ConfigTest(harness.ConfFileTestCase):
    def searchd(self, *args):
        return subprocess.run([harness.CONFIG.searchd] + list(args), capture_output=True,
                              text=True, timeout=60)

    def big_add(self, daemon):
        doc = {"id": "big", "title": "x", "body": "слово " * 400}  # about 4.8 KB of JSON
        with daemon.line() as c:
            return c.call({"op": "add", "doc": doc})

    def test_key_takes_effect_and_flag_overrides(self):
        self.write("# limits\n[searchd]\nmax-request = 2k\nlog-level = warn\n")
        d = self.start_daemon(extra_args=["--config", self.conf])
        self.assertError(self.big_add(d), "too_large", "2k from the file")
        d.stop()
        d = self.start_daemon(extra_args=["--config", self.conf, "--max-request", "64k"])
        self.assertOk(self.big_add(d), "the flag's 64k overrides the file")

    def test_print_config(self):
        self.write("data = /srv/search\nsync = batch\nworkers = 3\n")
        cp = self.searchd("--config", self.conf, "--workers", "5", "--print-config")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        lines = set(cp.stdout.splitlines())
        for want in ("[searchd]", "data = /srv/search", "sync = batch", "workers = 5",
                     "listen = 127.0.0.1:7700", "line-listen = 127.0.0.1:7701"):
            self.assertIn(want, lines, cp.stdout)
        # what it prints is itself a config file that gives the same settings
        self.write(cp.stdout)
        again = self.searchd("--config", self.conf, "--print-config")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout.splitlines()[1:], cp.stdout.splitlines()[1:])

    def test_print_config_floats(self):
        """%g printed the BM25 parameters to six digits (0.123457), another setting; 1e-300
        was taken and held as 0. Now the float held, in the fewest digits that read it back."""
        cp = self.searchd("--bm25-k1", "0.123456789012", "--bm25-b", "0.33333333333333",
                          "--print-config")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        lines = cp.stdout.splitlines()
        self.assertIn("bm25-k1 = 0.12345679", lines)
        self.assertIn("bm25-b = 0.33333334", lines)
        cp = self.searchd("--print-config")
        self.assertIn("bm25-k1 = 1.2", cp.stdout.splitlines())
        for bad in (["--bm25-k1", "1e-300"], ["--bm25-k1", "100.5"], ["--bm25-b", "1e-38"]):
            cp = self.searchd(*bad, "--print-config")
            self.assertEqual(cp.returncode, 2, (bad, cp.stdout))
            self.assertIn("%s %s: want 0, or 1e-37 to" % tuple(bad), cp.stderr)

    def test_key_lists_take_a_line_each(self):
        """Three admin keys are longer than a config line (199 bytes): the list takes one
        entry a line, with the comments an operator writes beside them."""
        import test_keys
        keys = ["%s-%d" % (test_keys.ADMIN, i) for i in range(3)]
        self.write("[searchd]\n" + "".join("admin-keys = %s     # key %d\n"
                                            % (test_keys.hash_key(k), i)
                                            for i, k in enumerate(keys)))
        d = self.start_daemon(extra_args=["--config", self.conf])
        for k in keys:
            with d.line() as c:
                self.assertEqual(c.call({"op": "auth", "key": k})["role"], "admin", k)
        with d.line() as c:
            self.assertError(c.call({"op": "auth", "key": test_keys.ADMIN}), "unauthorized")
        cp = self.searchd("--config", self.conf, "--print-config")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual([ln for ln in cp.stdout.splitlines() if ln.startswith("admin-keys = ")],
                         ["admin-keys = " + test_keys.hash_key(k) for k in keys])

    def test_readme_examples_read_as_meant(self):
        """Every ini block of the README is a config file searchd reads, its comments left
        out (they once became part of the values: `slow-ms = 100   # searches of...`)."""
        with open(os.path.join(harness.REPO, "README.md"), encoding="utf-8") as f:
            blocks = re.findall(r"```ini\n(.*?)```", f.read(), re.S)
        self.assertGreaterEqual(len(blocks), 3)
        for block in blocks:
            self.write(block)
            cp = self.searchd("--config", self.conf, "--print-config")
            self.assertEqual(cp.returncode, 0, block + cp.stderr)
            printed = set(cp.stdout.splitlines())
            for line in block.splitlines():
                setting = line.split("#")[0].split(";")[0].strip()
                if setting and not setting.startswith("["):
                    key, value = (part.strip() for part in setting.split("=", 1))
                    self.assertIn("%s = %s" % (key, value), printed, block)

    def test_bad_files_name_file_and_line(self):
        cases = [
            ("data = x\nworkers = many\n", ":2: workers many: want 1 to 256"),
            ("[searchd]\nlisten-on = 1\n", ":2: unknown key 'listen-on'"),
            ("check = /tmp\n", ":1: unknown key 'check'"),
            ("[server]\ndata = x\n", ":2: unknown section [server]"),
            ("sync = always\nsync = batch\n", ":2: sync is set twice"),
            ("data\n", ":1: not KEY = VALUE"),
            # list entries and addresses: refused as read, by the server's rules, with the line
            ("cors-origins = foo\n", ":1: cors-origins: entry 1: 'foo' is not an origin"),
            ("admin-keys = abc\n", ":1: admin-keys: entry 1 is 3 bytes long"),
            ("data = x\nsearch-keys = sha256:0123\n", ":2: search-keys: entry 1 is 11 bytes"),
            ("cors-origins = http://a.example,,http://b.example\n",
             ":1: cors-origins: entry 2 is empty"),
            ("listen = 127.0.0.1:99999\n", ":1: listen: '127.0.0.1:99999': bad port"),
            # two bad lines: the first one's message, with its own number
            ("workers = many\nsync = sometimes\n", ":1: workers many: want 1 to 256"),
        ]
        for text, want in cases:
            self.write(text)
            cp = self.searchd("--config", self.conf, "--print-config")
            self.assertEqual(cp.returncode, 2, (text, cp.stdout, cp.stderr))
            self.assertIn(self.conf + want, cp.stderr, text)
        cp = self.searchd("--config", "/nonexistent/searchd.conf")
        self.assertEqual(cp.returncode, 2)
        self.assertIn("/nonexistent/searchd.conf", cp.stderr)

    def test_bad_list_entry_exits_2_before_anything_starts(self):
        """A bad key entry passed --print-config (exit 0); the daemon made and locked its data
        directory, then srv_new refused the list (event=listen_failed, exit 1). Now: exit 2
        from the file or a flag, no data directory, and never the entry's bytes."""
        d = tempfile.mkdtemp(prefix="searchd-conf-keys-")
        data = os.path.join(d, "data")
        secret = "my-real-admin-key-4711"
        self.write("admin-keys = %s\n" % secret)
        try:
            for args in (["--config", self.conf], ["--admin-keys", secret],
                         ["--search-keys", "sha256:0123"], ["--cors-origins", "foo"]):
                for extra in (["--print-config"], ["--data", data, "--listen", "127.0.0.1:0"]):
                    cp = self.searchd(*(args + extra))
                    self.assertEqual(cp.returncode, 2, (args, extra, cp.stdout, cp.stderr))
                    self.assertEqual(cp.stdout, "")
                    self.assertNotIn(secret, cp.stderr)
                    self.assertNotIn("0123", cp.stderr)
                    self.assertIn("entry 1", cp.stderr)
            self.assertFalse(os.path.exists(data), "nothing starts: no data directory made")
        finally:
            os.rmdir(d)

    def test_config_that_is_no_file_exits_2(self):
        """A directory given to --config was read as an empty file: --print-config showed
        the defaults, and searchd started on them."""
        d = tempfile.mkdtemp(prefix="searchd-conf-dir-")
        data = os.path.join(d, "data")
        try:
            for extra in (["--print-config"], ["--data", data, "--listen", "127.0.0.1:0"]):
                cp = self.searchd("--config", d, *extra)
                self.assertEqual(cp.returncode, 2, (extra, cp.stdout, cp.stderr))
                self.assertIn("searchd: %s: not a regular file (a directory)" % d, cp.stderr)
                self.assertEqual(cp.stdout, "")
            self.assertFalse(os.path.exists(data), "nothing starts: no data directory made")
        finally:
            os.rmdir(d)


class ReloadTest(harness.ConfFileTestCase):
    def cors_header(self, http):
        r = http.request("GET", "/health", headers={"Origin": "http://app.example"})
        self.assertEqual(r.status, 200)
        return r.headers.get("Access-Control-Allow-Origin")

    def test_reload_under_load(self):
        self.write("log-level = info\n")
        d = self.start_daemon(extra_args=["--config", self.conf])
        with d.line() as c:
            self.assertOk(c.call({"op": "add", "docs": [{"id": "d%d" % i, "title": "слово %d" % i}
                                                         for i in range(100)]}))
        stop = threading.Event()
        errors = []
        counts = [0, 0]

        def line_load():
            try:
                with d.line() as c:  # one connection for the whole test
                    while not stop.is_set():
                        a = c.call({"op": "search", "q": "слово", "limit": 3})
                        if not a.get("ok") or a["total"] != 100:
                            errors.append(a)
                        counts[0] += 1
            except Exception as e:  # a dropped connection ends up here
                errors.append(repr(e))

        def http_load():
            try:
                http = d.http()
                while not stop.is_set():
                    r = http.search("слово", limit=3)
                    if r.status != 200:
                        errors.append(r)
                    counts[1] += 1
                http.close()
            except Exception as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=line_load), threading.Thread(target=http_load)]
        for t in threads:
            t.start()
        try:
            http = d.http()
            self.assertIsNone(self.cors_header(http))
            self.write("log-level = debug\ncors-origins = http://app.example\n")
            self.reload(d, "event=reload ")
            self.assertEqual(self.cors_header(http), "http://app.example")
            self.assertTrue(harness.wait_until(lambda: any("level=debug" in l for l in list(d.log)),
                                               timeout=harness.IO_TIMEOUT))
            # a bad file changes nothing
            self.write("cors-origins = not-an-origin\n")
            self.reload(d, "event=reload_failed")
            self.assertEqual(self.cors_header(http), "http://app.example")
            self.write("log-level = warn\nworkers = 7\n")
            self.reload(d, "event=reload ")
            self.assertTrue(any("event=reload_needs_restart" in l and "workers = 7" in l
                                for l in list(d.log)), d.tail())
            self.assertIsNone(self.cors_header(http))
            for _ in range(5):  # reloads back to back
                self.reload(d, "event=reload ")
            http.close()
            time.sleep(0.2)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertEqual(errors, [])
        self.assertGreater(min(counts), 10, counts)
        self.assertTrue(d.running())


if __name__ == "__main__":
    harness.main()
