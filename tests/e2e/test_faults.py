#!/usr/bin/env python3
"""test_faults.py: damage and a full disk never lose an acknowledged write and never stop the
daemon from answering.

  * a segment file with a flipped byte: `searchd --check` exits 1 naming it; searchd starts,
    reports the index degraded in /health and stats (naming the file), serves the other
    segments, and refuses writes with `degraded`;
  * a torn log tail (a record cut by a crash): `--check` notes it and exits 0, and a restart
    drops it and keeps every acknowledged write;
  * a full disk, two ways: a file size limit on the running daemon (RLIMIT_FSIZE, works
    without root) and a real tmpfs that fills up (needs root to mount; CI runs as root). The
    write is refused with disk_full (HTTP 507), queries go on, every acknowledged document stays,
    and writes resume when space returns.
"""

import contextlib
import glob
import os
import re
import resource
import subprocess
import tempfile
import time

import harness
from harness import E2ETestCase


def doc(i, text="ordinary"):
    return {"id": "f-%d" % i, "title": "fault %d" % i, "body": "%s document number %d" % (text, i)}


class FaultTest(E2ETestCase):
    def add(self, d, docs):
        with d.line() as c:
            return c.call({"op": "add", "docs": docs})

    def search_total(self, d, q):
        with d.line() as c:
            return self.assertOk(c.call({"op": "search", "q": q, "limit": 0}))["total"]

    def line_call(self, d, obj):
        with d.line() as c:
            return c.call(obj)

    def check(self, data_dir):
        return subprocess.run([harness.CONFIG.searchd, "--check", data_dir],
                              capture_output=True, text=True, timeout=60)

    def test_corrupt_segment_is_reported_and_the_rest_served(self):
        d = self.start_daemon()
        self.assertOk(self.add(d, [doc(i, "alpha") for i in range(20)]))
        self.assertEqual(d.term(), 0)  # the clean stop flushes: segment 1
        d.start()
        self.assertOk(self.add(d, [doc(i, "beta") for i in range(20, 40)]))
        self.assertEqual(d.term(), 0)  # segment 2
        segs = sorted(glob.glob(os.path.join(d.data_dir, "default", "seg-*.seg")))
        self.assertEqual(len(segs), 2, segs)
        with open(segs[0], "r+b") as f:
            size = os.path.getsize(segs[0])
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0x5A]))
        cp = self.check(d.data_dir)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn(os.path.basename(segs[0]), cp.stdout)
        d.start()
        health = self.line_call(d, {"op": "health"})
        self.assertEqual(health.get("status"), "degraded", health)
        http = d.http()
        resp = http.get("/health")
        http.close()
        self.assertEqual(resp.json.get("status"), "degraded", resp)
        self.assertEqual(resp.status, 503, "a load balancer must see a degraded node")
        self.assertIn(os.path.basename(segs[0]), resp.json.get("reason", ""), resp)
        self.assertIn(os.path.basename(segs[0]), health.get("reason", ""), health)
        st = self.assertOk(self.line_call(d, {"op": "stats"}))
        self.assertTrue(st["degraded"], st)
        self.assertIn(os.path.basename(segs[0]), st.get("degraded_reason", ""), st)
        self.assertEqual(st["docs"], 20, st)
        self.assertEqual(self.search_total(d, "beta"), 20)
        self.assertEqual(self.search_total(d, "alpha"), 0)
        # writes are refused while a segment is not served (issue 15: restoring it must not
        # resurrect or duplicate anything), and the damage is still reported later
        self.assertError(self.add(d, [doc(100, "gamma")]), "degraded")
        self.assertEqual(d.term(), 0)
        d.start()
        self.assertEqual(self.line_call(d, {"op": "health"}).get("status"), "degraded")
        self.assertEqual(self.search_total(d, "gamma"), 0)
        self.assertTrue(os.path.exists(segs[0]), "the damaged file must be kept for the operator")

    def test_torn_log_tail_is_dropped_and_acked_writes_kept(self):
        d = self.start_daemon()
        self.assertOk(self.add(d, [doc(i) for i in range(30)]))
        d.kill9()
        logs = sorted(glob.glob(os.path.join(d.data_dir, "default", "wal-*.log")))
        with open(logs[-1], "ab") as f:
            f.write(bytes([0x30, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 1]) + b'{"id":"torn')
        cp = self.check(d.data_dir)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("torn", cp.stdout)
        d.start()
        self.assertEqual(self.search_total(d, "ordinary"), 30)
        self.assertOk(self.add(d, [doc(31)]))
        d.kill9()
        d.start()
        self.assertEqual(self.search_total(d, "ordinary"), 31)

    def assert_disk_full_cycle(self, d, fill, make_room):
        """fill() writes "filler" documents until one is refused and returns (the refusal, how
        many were acknowledged); then make_room() and writes must resume."""
        self.assertOk(self.add(d, [doc(i, "kept") for i in range(10)]))
        refused, acked = fill()
        self.assertError(refused, "disk_full", "a write on a full disk")
        st = self.assertOk(self.line_call(d, {"op": "stats"}))
        self.assertTrue(st.get("writes_refused"), st)
        http = d.http()
        resp = http.request("GET", "/health")  # out of a load balancer's rotation
        http.close()
        self.assertEqual(resp.status, 503, resp)
        self.assertEqual(resp.json.get("status"), "degraded", resp.json)
        self.assertIn("writes refused", resp.json.get("reason", ""), resp.json)
        self.assertEqual(self.search_total(d, "kept"), 10)  # queries go on
        self.assertEqual(self.search_total(d, "filler"), acked)  # nothing of the refused one
        body = ('{"id":"h1","body":"filler %s"}' % ("z" * (64 << 10))).encode()
        http = d.http()
        resp = http.request("POST", "/docs", body=body)
        http.close()
        self.assertEqual(resp.status, 507, resp)
        make_room()
        self.assertOk(self.add(d, [doc(50, "resumed")]))
        self.assertEqual(self.line_call(d, {"op": "health"}).get("status"), "ok")
        d.kill9()
        d.start()
        self.assertEqual(self.search_total(d, "kept"), 10)
        self.assertEqual(self.search_total(d, "resumed"), 1)
        self.assertEqual(self.search_total(d, "filler"), acked)

    def fill_until_refused(self, d, first_id):
        for i in range(first_id, first_id + 200):
            answer = self.add(d, [doc(i, "filler " + "y" * (64 << 10))])
            if not answer.get("ok"):
                return answer, i - first_id
        self.fail("200 writes of 64 KiB never filled the disk")

    def test_disk_full_by_file_size_limit(self):
        d = self.start_daemon()
        pid = d.proc.pid

        def fill():
            logs = glob.glob(os.path.join(d.data_dir, "default", "wal-*.log"))
            limit = max(os.path.getsize(f) for f in logs) + (200 << 10)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            return self.fill_until_refused(d, 100)

        def make_room():
            resource.prlimit(pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        self.assert_disk_full_cycle(d, fill, make_room)

    @contextlib.contextmanager
    def small_tmpfs(self, size, why_skip):
        """A tmpfs of size mounted on a new directory (the test is skipped when it cannot be:
        not root), unmounted at the end once the daemons on it are stopped."""
        mnt = tempfile.mkdtemp(prefix="searchd-tmpfs-")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt],
                                 capture_output=True).returncode == 0
        if not mounted:
            os.rmdir(mnt)
            self.skipTest(why_skip)
        try:
            yield mnt
        finally:
            for dd in self.daemons:
                dd.stop()
            subprocess.run(["umount", "-l", mnt], capture_output=True)
            os.rmdir(mnt)

    def test_disk_full_on_a_small_tmpfs(self):
        with self.small_tmpfs("1m", "cannot mount a tmpfs here (not root); the RLIMIT_FSIZE "
                                    "variant ran") as mnt:
            d = self.new_daemon(data_dir=os.path.join(mnt, "data"))
            os.mkdir(d.data_dir)
            d.start()

            def make_room():
                subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)

            self.assert_disk_full_cycle(d, lambda: self.fill_until_refused(d, 100), make_room)

    def test_failing_flush_logs_once_then_recovered(self):
        """A flush that cannot write its segment (a full tmpfs) is retried with a growing pause;
        the log said event=merge_failed at every retry, for as long as the disk stayed full.
        Now: one merge_failed line (then at most one a minute), and event=merge_recovered with
        the count of failed retries once the disk has room again."""
        with self.small_tmpfs("2m", "cannot mount a tmpfs here (not root)") as mnt:
            d = self.new_daemon(data_dir=os.path.join(mnt, "data"),
                                extra_args=["--flush-ms", "1500"])
            os.mkdir(d.data_dir)
            d.start()
            # incompressible bodies: the segment needs more room than the log rotation before it
            self.assertOk(self.add(d, [doc(i, "kept " + os.urandom(1500).hex())
                                       for i in range(40)]))
            filler = os.path.join(mnt, "filler")
            with open(filler, "wb", buffering=0) as f:  # the disk full before the flush comes
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError:
                    pass
                f.truncate(max(0, f.tell() - (16 << 10)))  # room for the new log file only

            def failed():
                return [l for l in d.log if "event=merge_failed" in l]

            self.assertTrue(harness.wait_until(failed, 10 * harness.TIME_SCALE), "no failure")
            time.sleep(8)  # retries after 0.5, 1, 2 and 4 s: four more failures
            self.assertEqual(len(failed()), 1, failed())
            self.assertEqual(self.search_total(d, "kept"), 40)  # served from memory meanwhile
            os.unlink(filler)

            def recovered():
                return [l for l in d.log if "event=merge_recovered" in l]

            self.assertTrue(harness.wait_until(recovered, 40 * harness.TIME_SCALE),
                            "no merge_recovered line after the disk got room")
            failures = int(re.search(r"failures=(\d+)", recovered()[0]).group(1))
            self.assertGreaterEqual(failures, 4, recovered())
            self.assertEqual(len(failed()), 1, failed())
            self.assertEqual(d.term(), 0)
            d.start()
            self.assertEqual(self.search_total(d, "kept"), 40)


if __name__ == "__main__":
    harness.main()
