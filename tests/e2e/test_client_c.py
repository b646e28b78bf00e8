"""test_client_c.py: libsearchq (client/lib/searchq.h), the C client library, against a real searchd.

tests/client_c/sq_e2e.c (built in the test tree) runs every op over TCP and over the Unix
socket, then pipelining under a small in-flight bound (answers read in order whenever the bound
refuses a send), then the snapshot op against a searchd with keys and --snapshot-dir (the copy
passes `searchd --check`; a name that is a path and a search key are refused). The README's C example is then compiled the way a user would: against the
header, library and searchq.pc that `cmake --install` puts down (DESTDIR into a temporary
directory, pkg-config with PKG_CONFIG_SYSROOT_DIR), and run against the daemon.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile

import harness

ARGS = {}


def add_args(parser):
    parser.add_argument("--sq-e2e", required=True)
    parser.add_argument("--build-dir", required=True)


def readme_c_example():
    """The ```c block of the README's "Client libraries" section."""
    with open(os.path.join(harness.REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Client libraries", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```c\n(.*?)```", section, re.S)
    assert m, "README's Client libraries section has no ```c block"
    return m.group(1)


class CClientTest(harness.E2ETestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="searchd-c-")
        self.sock = os.path.join(self.tmp, "s.sock")
        self.daemon = self.start_daemon(extra_args=["--socket", self.sock])
        self.addr = self.daemon.line_server

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_e2e(self, *args):
        cp = subprocess.run([harness.CONFIG.sq_e2e] + list(args), capture_output=True, text=True,
                            timeout=harness.IO_TIMEOUT * 4)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr + self.daemon.tail())
        return cp.stdout

    def test_every_op_over_tcp(self):
        self.assertIn("ok ops", self.run_e2e(self.addr, "ops"))

    def test_every_op_over_unix_socket(self):
        self.assertIn("ok ops", self.run_e2e("unix:" + self.sock, "ops"))

    def test_pipeline_under_bound_keeps_order(self):
        out = self.run_e2e(self.addr, "pipeline", "200")
        refused = int(re.search(r"bound refused (\d+) sends", out).group(1))
        self.assertGreater(refused, 0, out)  # the bound was reached and honoured
        self.assertEqual(harness.stats_docs(self.daemon, "sqe2e"), 200 * 50)

    def test_snapshot_checks_and_refusals(self):
        import test_keys
        snaps = os.path.join(self.tmp, "snaps")
        os.mkdir(snaps)
        d = self.start_daemon(extra_args=[
            "--snapshot-dir", snaps,
            "--admin-keys", test_keys.hash_key(test_keys.ADMIN),
            "--search-keys", test_keys.hash_key(test_keys.SEARCH)])
        cp = subprocess.run([harness.CONFIG.sq_e2e, d.line_server, "snapshot", test_keys.ADMIN,
                             test_keys.SEARCH], capture_output=True, text=True,
                            timeout=harness.IO_TIMEOUT * 4)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr + d.tail())
        self.assertIn("ok snapshot", cp.stdout)
        path = re.search(r"snapshot path (\S+)", cp.stdout).group(1)
        self.assertEqual(path, os.path.join(os.path.realpath(snaps), "c-snap"))
        self.assertEqual(os.listdir(snaps), ["c-snap"])  # nothing of the refused names
        check = subprocess.run([harness.CONFIG.searchd, "--check", path], capture_output=True,
                               text=True, timeout=120 * harness.TIME_SCALE)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_readme_example_built_against_installed_library(self):
        dest = os.path.join(self.tmp, "root")
        env = dict(os.environ, DESTDIR=dest)
        cp = subprocess.run(["cmake", "--install", harness.CONFIG.build_dir,
                             "--component", "libsearchq"], env=env, capture_output=True,
                            text=True)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        pcs = glob.glob(os.path.join(dest, "**", "pkgconfig", "searchq.pc"), recursive=True)
        self.assertEqual(len(pcs), 1, pcs)
        self.assertTrue(glob.glob(os.path.join(dest, "**", "include", "searchq.h"),
                                  recursive=True))
        libdir = os.path.dirname(os.path.dirname(pcs[0]))
        for name in ("libsearchq.a", "libsearchq.so", "libsearchq.so.1"):
            self.assertTrue(os.path.exists(os.path.join(libdir, name)), name)
        soname = subprocess.run(["objdump", "-p", os.path.join(libdir, "libsearchq.so")],
                                capture_output=True, text=True).stdout
        self.assertRegex(soname, r"SONAME\s+libsearchq\.so\.1\b")
        exported = subprocess.run(["nm", "-D", "--defined-only", "--without-symbol-versions",
                                   os.path.join(libdir, "libsearchq.so")],
                                  capture_output=True, text=True).stdout.split()
        self.assertIn("sq_connect", exported)
        self.assertNotIn("sq_conn_write", exported)  # the private sq_ names stay private
        self.assertNotIn("sq_search_1_1", exported)  # compat entry points only by version
        self.assertNotIn("sq_search_1_2", exported)
        self.assertNotIn("sq_search_1_3", exported)
        versioned = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions",
                                    os.path.join(libdir, "libsearchq.so")],
                                   capture_output=True, text=True).stdout.split()
        for name in ("sq_search_defaults", "sq_req_search", "sq_search"):
            # 1.4's layout by default, 1.3's, 1.2's and 1.1's for programs bound to SEARCHQ_1.3,
            # SEARCHQ_1.2 and SEARCHQ_1 (searchq.h, "ABI")
            self.assertIn(name + "@@SEARCHQ_1.4", versioned)
            self.assertIn(name + "@SEARCHQ_1.3", versioned)
            self.assertIn(name + "@SEARCHQ_1.2", versioned)
            self.assertIn(name + "@SEARCHQ_1", versioned)
        self.assertIn("sq_search_check@@SEARCHQ_1.2", versioned)
        for name in ("sq_delete_ids", "sq_req_delete_ids", "sq_merge_settings",
                     "sq_req_merge_settings"):
            self.assertIn(name + "@@SEARCHQ_1.5", versioned)  # new in 1.5.0
        self.assertIn("sq_connect@@SEARCHQ_1", versioned)  # the first names keep their version

        src = os.path.join(self.tmp, "example.c")
        with open(src, "w", encoding="utf-8") as f:
            f.write(readme_c_example())
        pc_env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                      PKG_CONFIG_SYSROOT_DIR=dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "searchq"], env=pc_env,
                               capture_output=True, text=True, check=True).stdout.split()
        exe = os.path.join(self.tmp, "example")
        if sanitized_build():  # the library carries ASan+UBSan: so must the program using it
            flags += ["-fsanitize=address,undefined"]
        cp = subprocess.run(["cc", "-std=c17", "-Wall", "-Werror", "-o", exe, src] + flags,
                            capture_output=True, text=True)
        self.assertEqual(cp.returncode, 0, cp.stderr)

        with self.daemon.line() as c:
            c.call({"op": "add", "doc": {"id": "a1", "title": "Цифровая дипломатия",
                                         "body": "посольства"}})
        cp = subprocess.run([exe, self.addr], capture_output=True, text=True,
                            env=dict(os.environ, LD_LIBRARY_PATH=libdir),
                            timeout=harness.IO_TIMEOUT)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("a1", cp.stdout)
        self.assertIn("Цифровая дипломатия", cp.stdout)


def sanitized_build():
    """True when the build under test was configured with SD_SANITIZE=ON."""
    cache = os.path.join(harness.CONFIG.build_dir, "CMakeCache.txt")
    with open(cache, encoding="utf-8", errors="replace") as f:
        return any(re.match(r"SD_SANITIZE:BOOL=(ON|1|TRUE)\s*$", line, re.I) for line in f)


if __name__ == "__main__":
    harness.main(add_args)
