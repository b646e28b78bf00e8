"""test_config.py: the configuration file (--config): keys take effect, flags override them,
--print-config shows the result, and a bad file is refused with FILE:LINE before anything
starts.
"""

import os
import subprocess
import tempfile

import harness


class ConfigTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        fd, self.conf = tempfile.mkstemp(prefix="searchd-conf-", suffix=".ini")
        os.close(fd)

    def tearDown(self):
        super().tearDown()
        os.unlink(self.conf)

    def write(self, text):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

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

    def test_bad_files_name_file_and_line(self):
        cases = [
            ("data = x\nworkers = many\n", ":2: workers many: want 1 to 256"),
            ("[searchd]\nlisten-on = 1\n", ":2: unknown key 'listen-on'"),
            ("check = /tmp\n", ":1: unknown key 'check'"),
            ("[server]\ndata = x\n", ":2: unknown section [server]"),
            ("sync = always\nsync = batch\n", ":2: sync is set twice"),
            ("data\n", ":1: not KEY = VALUE"),
        ]
        for text, want in cases:
            self.write(text)
            cp = self.searchd("--config", self.conf, "--print-config")
            self.assertEqual(cp.returncode, 2, (text, cp.stdout, cp.stderr))
            self.assertIn(self.conf + want, cp.stderr, text)
        cp = self.searchd("--config", "/nonexistent/searchd.conf")
        self.assertEqual(cp.returncode, 2)
        self.assertIn("/nonexistent/searchd.conf", cp.stderr)


if __name__ == "__main__":
    harness.main()
