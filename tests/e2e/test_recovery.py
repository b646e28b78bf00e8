#!/usr/bin/env python3
"""test_recovery.py: issue 15, recovery never destroys data.

Each test damages a real data directory the way an operator or a bad restore would, then checks
that `searchd --check` and the daemon say the same thing, that every file is still there (or in
DIR/INDEX/lost+found/), and that no acknowledged write is lost or duplicated. An index whose
open is refused is unavailable: searchd starts, logs it at error, answers index_unavailable
with --check's message, and changes nothing in its directory (docs/DATA.md, "Damage"):

  * the MANIFEST missing, or an older MANIFEST put back: both refused, nothing deleted;
  * every log file missing after a kill -9: refused (wal.synced says what was acknowledged);
  * a segment or tombstone file replaced by another valid one: refused by name (its MANIFEST
    entry records the file's hash), the index is degraded, writes are refused with `degraded`;
  * writes while degraded, then the file restored: nothing resurrected or duplicated;
  * a log cut exactly at a record boundary: refused, naming the file and offset;
  * a torn tail (never acknowledged): dropped, and shown in stats and /health;
  * a record whose payload is damaged under a valid checksum: refused naming file and offset;
  * files the MANIFEST does not name: moved to lost+found/, never deleted;
  * `searchd --repair` on a directory without a MANIFEST, or with a damaged one (moved to
    lost+found/), and not beside a running searchd;
  * a FIFO, a directory or a symbolic link in the place of a file (a segment, the MANIFEST, a
    log file), or an index directory that is a link: refused by name, never waited on, nothing
    read or written through the link.
"""

import fcntl
import glob
import os
import shutil
import struct
import subprocess
import tempfile

import harness
from harness import E2ETestCase
from recovery_util import (call, check, check_failures, doc, fingerprint, ids, last_log,
                           log_records, rehash_record, start_unavailable, total)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class RecoveryTest(E2ETestCase):
    def add(self, d, docs):
        return self.assertOk(call(d, {"op": "add", "docs": docs}))

    def index_dir(self, d):
        return os.path.join(d.data_dir, "default")

    def two_segments(self, d):
        """alpha r-0..19 in segment 1, beta r-20..39 in segment 2, r-3 deleted (a tombstone
        file), and gamma r-40..44 only in the log (acknowledged, then kill -9)."""
        d.start()
        self.add(d, [doc(i, "alpha") for i in range(20)])
        self.assertEqual(d.term(), 0)
        d.start()
        self.add(d, [doc(i, "beta") for i in range(20, 40)])
        self.assertOk(call(d, {"op": "delete", "id": "r-3"}))
        self.assertEqual(d.term(), 0)
        d.start()
        for i in range(40, 45):
            self.add(d, [doc(i, "gamma")])
        d.kill9()

    def assert_all_there(self, d):
        self.assertEqual(total(d, "alpha"), 19)
        self.assertEqual(total(d, "beta"), 20)
        self.assertEqual(total(d, "gamma"), 5)
        self.assertEqual(harness.stats_docs(d), 44)

    def assert_refused_alike(self, d, expect, index="default"):
        """--check fails and the daemon serves the index as unavailable with the same message;
        nothing in the index directory changed, the daemon's stop included."""
        index_dir = os.path.join(d.data_dir, index)
        before = fingerprint(index_dir)
        cp = check(d.data_dir)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        fails = check_failures(cp)
        self.assertEqual(len(fails), 1, cp.stdout)
        self.assertIn(expect, fails[0])
        msg = start_unavailable(d, index)
        self.assertEqual(msg, fails[0])
        self.assertEqual(fingerprint(index_dir), before, "a refused open changed files")
        return msg

    def test_missing_manifest_is_refused_and_nothing_deleted(self):
        d = self.new_daemon()
        self.two_segments(d)
        manifest = os.path.join(self.index_dir(d), "MANIFEST")
        saved = read(manifest)
        os.unlink(manifest)
        msg = self.assert_refused_alike(d, "MANIFEST is missing")
        self.assertIn("segment", msg)
        with open(manifest, "wb") as f:
            f.write(saved)
        d.start()
        self.assert_all_there(d)

    def test_older_manifest_put_back_is_refused_and_nothing_deleted(self):
        d = self.new_daemon()
        d.start()
        self.add(d, [doc(i, "alpha") for i in range(20)])
        self.assertEqual(d.term(), 0)
        manifest = os.path.join(self.index_dir(d), "MANIFEST")
        old = read(manifest)
        d.start()
        self.add(d, [doc(i, "beta") for i in range(20, 40)])
        self.assertOk(call(d, {"op": "delete", "id": "r-3"}))
        self.assertEqual(d.term(), 0)
        new = read(manifest)
        with open(manifest, "wb") as f:
            f.write(old)
        self.assert_refused_alike(d, "records are missing")
        with open(manifest, "wb") as f:
            f.write(new)
        d.start()
        self.assertEqual(total(d, "alpha"), 19)
        self.assertEqual(total(d, "beta"), 20)

    def test_all_logs_missing_is_refused(self):
        d = self.new_daemon()
        self.two_segments(d)
        logs = sorted(glob.glob(os.path.join(self.index_dir(d), "wal-*.log")))
        saved = {p: read(p) for p in logs}
        for p in logs:
            os.unlink(p)
        self.assert_refused_alike(d, "no log files")
        for p, data in saved.items():
            with open(p, "wb") as f:
                f.write(data)
        d.start()
        self.assert_all_there(d)

    def outside_dir(self):
        out = tempfile.mkdtemp(prefix="searchd-outside-")
        self.addCleanup(shutil.rmtree, out, True)
        return out

    def outside_copy(self, path):
        """A copy of path in a directory of the test outside the data directory: the target of a
        link that must not be followed (an intact file, so only the link is wrong)."""
        copy = os.path.join(self.outside_dir(), os.path.basename(path))
        shutil.copyfile(path, copy)
        return copy

    def test_fifo_or_directory_in_place_of_a_segment_degrades_without_waiting(self):
        d = self.new_daemon()
        self.two_segments(d)
        seg = os.path.join(self.index_dir(d), "seg-000001.seg")
        saved = read(seg)
        os.unlink(seg)
        for kind, make, remove in (("a FIFO", os.mkfifo, os.unlink),
                                   ("a directory", os.mkdir, os.rmdir)):
            make(seg)
            cp = check(d.data_dir)  # opening a FIFO for reading used to wait for a writer
            self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
            fails = check_failures(cp)
            self.assertEqual(len(fails), 1, cp.stdout)
            self.assertIn("seg-000001.seg: not a regular file (%s)" % kind, fails[0])
            d.start()
            st = self.assertOk(call(d, {"op": "stats"}))
            self.assertTrue(st["degraded"], st)
            self.assertEqual(st["degraded_reason"], fails[0])
            self.assertEqual(total(d, "beta"), 20)  # the rest is served
            self.assertError(call(d, {"op": "add", "docs": [doc(1, "other")]}), "degraded")
            self.assertEqual(d.term(), 0)
            remove(seg)
        with open(seg, "wb") as f:
            f.write(saved)
        d.start()
        self.assert_all_there(d)

    def test_links_in_place_of_files_are_refused_and_never_followed(self):
        d = self.new_daemon()
        self.two_segments(d)
        idx = self.index_dir(d)
        for name in ("MANIFEST", os.path.basename(last_log(idx))):
            path = os.path.join(idx, name)
            copy = self.outside_copy(path)
            saved = read(path)
            os.unlink(path)
            os.symlink(copy, path)  # an intact copy: only the link is wrong
            msg = self.assert_refused_alike(d, name + ": not a regular file (a symbolic link)")
            self.assertIn(idx, msg)
            self.assertEqual(read(copy), saved)  # never appended to, truncated or replaced
            self.assertTrue(os.path.islink(path))
            os.unlink(path)
            with open(path, "wb") as f:
                f.write(saved)
        seg = os.path.join(idx, "seg-000002.seg")
        copy = self.outside_copy(seg)
        os.unlink(seg)
        os.symlink(copy, seg)
        cp = check(d.data_dir)
        self.assertEqual(check_failures(cp), [seg + ": not a regular file (a symbolic link): an "
                                              "index's files are never opened through a link or "
                                              "as a special file"], cp.stdout)
        d.start()
        st = self.assertOk(call(d, {"op": "stats"}))
        self.assertEqual(st["degraded_reason"], check_failures(cp)[0])
        self.assertEqual(total(d, "beta"), 0)  # not served from the other side of the link
        self.assertEqual(d.term(), 0)
        os.unlink(seg)
        shutil.copyfile(copy, seg)
        d.start()
        self.assert_all_there(d)

    def test_lost_and_found_that_is_a_link_out_is_refused_before_anything_changes(self):
        d = self.new_daemon()
        self.two_segments(d)
        idx = self.index_dir(d)
        out = self.outside_dir()
        lost = os.path.join(idx, "lost+found")
        os.symlink(out, lost)
        shutil.copyfile(os.path.join(idx, "seg-000001.seg"), os.path.join(idx, "seg-000099.seg"))
        self.assert_refused_alike(d, "lost+found: not a directory (a symbolic link), so "
                                     "seg-000099.seg cannot be moved into it")
        self.assertEqual(os.listdir(out), [])  # nothing moved out of the data directory
        os.unlink(lost)
        with open(lost, "w") as f:
            f.write("an operator's note")
        self.assert_refused_alike(d, "lost+found: not a directory (a file)")
        os.unlink(lost)
        d.start()
        self.assert_all_there(d)
        self.assertTrue(os.path.isfile(os.path.join(lost, "seg-000099.seg")))

    def test_an_index_directory_that_is_a_link_is_refused(self):
        other = self.make_twin("omega")
        d = self.new_daemon()
        self.two_segments(d)
        link = os.path.join(d.data_dir, "books")
        # another data directory's index: it used to be served, and written, through the link
        os.symlink(self.index_dir(other), link)
        before = fingerprint(self.index_dir(other))
        self.assert_refused_alike(d, link + ": a symbolic link, not an index directory", "books")
        self.assertEqual(fingerprint(self.index_dir(other)), before)
        os.unlink(link)
        d.start()
        self.assert_all_there(d)

    def make_twin(self, text, delete=None):
        """A data directory with 20 docs in segment 1 (and one delete in a tombstone file)."""
        d = self.new_daemon()
        d.start()
        self.add(d, [doc(i, text) for i in range(20)])
        self.assertEqual(d.term(), 0)
        if delete is not None:
            d.start()
            self.assertOk(call(d, {"op": "delete", "id": "r-%d" % delete}))
            self.add(d, [doc(100, "other")])  # the stop flushes it, and the delete with it
            self.assertEqual(d.term(), 0)
        return d

    def assert_degraded_alike(self, d, name):
        cp = check(d.data_dir)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        fails = check_failures(cp)
        self.assertEqual(len(fails), 1, cp.stdout)
        self.assertIn(name, fails[0])
        self.assertIn("not the", fails[0])
        d.start()
        st = self.assertOk(call(d, {"op": "stats"}))
        self.assertTrue(st["degraded"], st)
        self.assertEqual(st["degraded_reason"], fails[0])
        self.assertEqual(call(d, {"op": "health"}).get("status"), "degraded")
        # every write to the index is refused, over both protocols
        self.assertError(call(d, {"op": "add", "docs": [doc(1, "other")]}), "degraded")
        self.assertError(call(d, {"op": "delete", "id": "r-1"}), "degraded")
        http = d.http()
        resp = http.request("POST", "/docs", body=doc(2, "other"))
        http.close()
        self.assertEqual(resp.status, 503, resp)
        self.assertEqual(resp.json["error"]["code"], "degraded", resp)
        self.assertEqual(d.term(), 0)

    def test_substituted_segment_is_refused_by_check_and_daemon(self):
        a = self.make_twin("alpha")
        b = self.make_twin("omega")
        seg = os.path.join(self.index_dir(a), "seg-000001.seg")
        saved = read(seg)
        shutil.copyfile(os.path.join(self.index_dir(b), "seg-000001.seg"), seg)
        self.assert_degraded_alike(a, "seg-000001.seg")
        self.assertTrue(os.path.exists(seg))
        with open(seg, "wb") as f:
            f.write(saved)
        self.assertEqual(check(a.data_dir).returncode, 0)
        a.start()
        self.assertEqual(total(a, "alpha"), 20)
        self.assertEqual(total(a, "omega"), 0)

    def test_substituted_tombstone_is_refused_by_check_and_daemon(self):
        a = self.make_twin("alpha", delete=3)
        b = self.make_twin("alpha", delete=5)
        name = "seg-000001.000001.del"
        tomb = os.path.join(self.index_dir(a), name)
        saved = read(tomb)
        shutil.copyfile(os.path.join(self.index_dir(b), name), tomb)
        self.assert_degraded_alike(a, name)
        with open(tomb, "wb") as f:
            f.write(saved)
        a.start()
        self.assertEqual(ids(a, "alpha"), sorted("r-%d" % i for i in range(20) if i != 3))
        self.assertEqual(ids(a, "other"), ["r-100"])

    def test_writes_while_degraded_then_restore_resurrect_nothing(self):
        d = self.new_daemon()
        d.start()
        self.add(d, [doc(i, "alpha") for i in range(20)])
        self.assertEqual(d.term(), 0)
        d.start()
        self.add(d, [doc(i, "beta") for i in range(20, 40)])
        self.assertEqual(d.term(), 0)
        d.start()
        self.add(d, [doc(1, "changed")])  # r-1 lives in segment 1; this is only in the log
        d.kill9()
        seg = os.path.join(self.index_dir(d), "seg-000001.seg")
        saved = read(seg)
        with open(seg, "r+b") as f:
            f.seek(len(saved) // 2)
            f.write(bytes([saved[len(saved) // 2] ^ 0x5A]))
        d.start()
        self.assertTrue(self.assertOk(call(d, {"op": "stats"}))["degraded"])
        self.assertError(call(d, {"op": "add", "docs": [doc(2, "again")]}), "degraded")
        self.assertError(call(d, {"op": "delete", "id": "r-4"}), "degraded")
        self.assertError(call(d, {"op": "set_settings", "index": "default",
                                  "settings": {"stopwords": {"words": ["alpha"]}}}), "degraded")
        self.assertEqual(self.assertOk(call(d, {"op": "get_settings", "index": "default"}))
                         ["version"], 0)  # nothing changed
        self.assertEqual(ids(d, "changed"), ["r-1"])  # the acknowledged write is served
        self.assertEqual(d.term(), 0)
        with open(seg, "wb") as f:
            f.write(saved)
        d.start()
        self.assertFalse(self.assertOk(call(d, {"op": "stats"}))["degraded"])
        self.assertEqual(ids(d, "changed"), ["r-1"])
        self.assertEqual(total(d, "alpha"), 19)  # r-1's old version is gone, not back
        self.assertEqual(total(d, "again"), 0)
        got = self.assertOk(call(d, {"op": "get", "id": "r-1"}))
        self.assertIn("changed", got["doc"]["body"])
        self.assertEqual(harness.stats_docs(d), 40)
        self.assertEqual(d.term(), 0)
        d.start()
        self.assertEqual(harness.stats_docs(d), 40)
        self.assertEqual(ids(d, "changed"), ["r-1"])

    def test_log_cut_at_a_record_boundary_is_refused(self):
        d = self.new_daemon()
        d.start()
        for i in range(6):
            self.add(d, [doc(i)])
        d.kill9()
        log = last_log(self.index_dir(d))
        data = read(log)
        recs = log_records(data)
        self.assertEqual(len(recs), 6)
        with open(log, "wb") as f:
            f.write(data[:recs[-1][0]])  # the last acknowledged write, cut off whole
        msg = self.assert_refused_alike(d, "was acknowledged")
        self.assertIn("%s: offset %d" % (os.path.basename(log), recs[-1][0]), msg)
        with open(log, "wb") as f:
            f.write(data)
        d.start()
        self.assertEqual(total(d, "ordinary"), 6)

    def test_torn_tail_shows_in_stats_and_health(self):
        d = self.new_daemon()
        d.start()
        for i in range(4):
            self.add(d, [doc(i)])
        d.kill9()
        log = last_log(self.index_dir(d))
        size = os.path.getsize(log)
        with open(log, "ab") as f:  # half of a record whose sync never returned
            f.write(struct.pack("<IQB", 40, 5, 1) + b'{"id":"tor')
        cp = check(d.data_dir)
        self.assertEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("torn log tail of 23 bytes", cp.stdout)
        d.start()
        st = self.assertOk(call(d, {"op": "stats"}))
        self.assertEqual(st["torn_tails"], 1, st)
        self.assertEqual(st["torn_bytes"], 23, st)
        self.assertGreater(st["torn_at"], 0, st)
        self.assertEqual(st["torn_file"], os.path.basename(log), st)
        self.assertEqual(st["torn_offset"], size, st)
        health = call(d, {"op": "health"})
        self.assertEqual(health["status"], "ok", health)
        self.assertEqual(health["torn_tails"], 1, health)
        self.assertEqual(health["torn_bytes"], 23, health)
        self.assertEqual(total(d, "ordinary"), 4)
        self.assertEqual(d.term(), 0)
        d.start()
        self.assertNotIn("torn_tails", call(d, {"op": "health"}))

    def test_damaged_payload_with_valid_checksum_is_refused_naming_file_and_offset(self):
        d = self.new_daemon()
        d.start()
        self.add(d, [doc(0)])
        self.add(d, [{"id": "p-1", "body": "payload"}])
        self.add(d, [doc(2)])
        d.kill9()
        log = last_log(self.index_dir(d))
        data = bytearray(read(log))
        recs = log_records(data)
        off, seq, _, poff, _ = recs[1]
        # payload: varint id length, id, varint field count, then the first field's type byte
        type_at = poff + 1 + data[poff] + 1
        data[type_at] = 127
        rehash_record(data, off)
        with open(log, "wb") as f:
            f.write(data)
        msg = self.assert_refused_alike(d, "bad value type")
        self.assertIn("%s: offset %d: record seq %d" % (os.path.basename(log), off, seq), msg)

    def test_unreferenced_files_go_to_lost_and_found(self):
        d = self.new_daemon()
        self.two_segments(d)
        idx = self.index_dir(d)
        stray = os.path.join(idx, "seg-000099.seg")
        shutil.copyfile(os.path.join(idx, "seg-000001.seg"), stray)
        future_tomb = os.path.join(idx, "seg-000001.000007.del")
        with open(future_tomb, "wb") as f:
            f.write(b"not ours to judge")
        cp = check(d.data_dir)
        self.assertEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("seg-000099.seg is not in the MANIFEST", cp.stdout)
        self.assertIn("seg-000001.000007.del is not in the MANIFEST", cp.stdout)
        d.start()
        self.assert_all_there(d)
        for p in (stray, future_tomb):
            self.assertFalse(os.path.exists(p))
            self.assertTrue(os.path.exists(os.path.join(idx, "lost+found", os.path.basename(p))))

    def test_repair_rebuilds_a_manifest_and_keeps_every_file(self):
        d = self.new_daemon()
        self.two_segments(d)
        idx = self.index_dir(d)
        os.unlink(os.path.join(idx, "MANIFEST"))
        before = fingerprint(idx)
        start_unavailable(d)
        cp = subprocess.run([harness.CONFIG.searchd, "--repair", d.data_dir],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        after = fingerprint(idx)
        for name, digest in before.items():  # every file is still there, or in lost+found
            moved = os.path.join("lost+found", name)
            self.assertTrue(after.get(name) == digest or after.get(moved) == digest, name)
        self.assertEqual(check(d.data_dir).returncode, 0)
        d.start()
        self.assert_all_there(d)
        self.assertEqual(len(ids(d, "alpha OR beta OR gamma")), 44)

    def test_repair_moves_a_damaged_manifest_aside_and_leaves_sound_indexes_alone(self):
        d = self.new_daemon()
        self.two_segments(d)
        idx = self.index_dir(d)
        manifest = os.path.join(idx, "MANIFEST")
        data = bytearray(read(manifest))
        data[len(data) // 2] ^= 0x10
        with open(manifest, "wb") as f:
            f.write(data)
        self.assert_refused_alike(d, "MANIFEST")
        with open(os.path.join(d.data_dir, "LOCK"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # as a running searchd holds it
            cp = subprocess.run([harness.CONFIG.searchd, "--repair", d.data_dir],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("in use", cp.stderr)
        self.assertEqual(read(manifest), bytes(data))  # refused: nothing touched
        cp = subprocess.run([harness.CONFIG.searchd, "--repair", d.data_dir],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("MANIFEST rebuilt", cp.stdout)
        self.assertEqual(read(os.path.join(idx, "lost+found", "MANIFEST")), bytes(data))
        d.start()
        self.assert_all_there(d)
        d.kill9()
        cp = subprocess.run([harness.CONFIG.searchd, "--repair", d.data_dir],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stdout + cp.stderr)
        self.assertIn("nothing to repair", cp.stdout)


if __name__ == "__main__":
    harness.main()
