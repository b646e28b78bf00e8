"""recovery_util.py: what test_recovery.py, test_corruption.py and test_unavailable.py share:
building a small data directory through a real searchd, fingerprints of every file in it,
`searchd --check`, a start that is expected to leave an index unavailable, and the log format
(docs/DATA.md) to cut and rewrite records.

XXH3-64 (the checksum of every searchd file) comes from the system's libxxhash through ctypes,
which is in the standard library; libxxhash0 is a dependency of searchd itself.
"""

import ctypes
import ctypes.util
import glob
import hashlib
import os
import re
import struct
import subprocess

import harness

_xxh = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
_xxh.XXH3_64bits.restype = ctypes.c_uint64
_xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def xxh3(data):
    return _xxh.XXH3_64bits(bytes(data), len(data))


LOG_HEADER = 32
REC_PREFIX = 13  # len 4 + seq 8 + type 1
REC_OVERHEAD = 21


def log_records(data):
    """(offset, seq, type, payload offset, payload length) of each valid record of a log file."""
    out = []
    off = LOG_HEADER
    while off + REC_OVERHEAD <= len(data):
        (length,) = struct.unpack_from("<I", data, off)
        end = off + REC_PREFIX + length
        if end + 8 > len(data):
            break
        (h,) = struct.unpack_from("<Q", data, end)
        if h != xxh3(data[off:end]):
            break
        (seq,) = struct.unpack_from("<Q", data, off + 4)
        out.append((off, seq, data[off + 12], off + REC_PREFIX, length))
        off = end + 8
    return out


def rehash_record(data, off):
    """Recomputes the checksum of the record at off (data is a bytearray)."""
    (length,) = struct.unpack_from("<I", data, off)
    end = off + REC_PREFIX + length
    struct.pack_into("<Q", data, end, xxh3(data[off:end]))


def doc(i, text="ordinary", prefix="r"):
    return {"id": "%s-%d" % (prefix, i), "title": "doc %d" % i,
            "body": "%s document number %d" % (text, i)}


def fingerprint(index_dir):
    """{relative path: sha256} of every file under index_dir, lost+found included."""
    out = {}
    for root, _, files in os.walk(index_dir):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, index_dir)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def check(data_dir):
    return subprocess.run([harness.CONFIG.searchd, "--check", data_dir], capture_output=True,
                          text=True, timeout=120)


def check_failures(cp):
    """The messages of the FAIL lines of a --check run."""
    return [m.group(1) for m in re.finditer(r"^FAIL index=\S+ (.*)$", cp.stdout, re.M)]


UNAVAILABLE_RE = re.compile(r'level=error event=index_unavailable index=(\S+) msg="(.*)"$')


def unavailable_logged(d):
    """{index: message} of the event=index_unavailable lines of d's last run."""
    lines = list(d.log)
    starts = [i for i, line in enumerate(lines) if line.startswith("---- run ")]
    out = {}
    for line in lines[starts[-1] if starts else 0:]:
        m = UNAVAILABLE_RE.search(line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def start_unavailable(d, index="default", timeout=harness.START_TIMEOUT):
    """Starts d expecting searchd to serve while `index` is unavailable (docs/DATA.md,
    "Damage"): its open logged at error, and `stats` of it refused with index_unavailable and
    the same message. Stops d (SIGTERM, exit 0) and returns the message."""
    d.start(timeout=timeout)
    logged = unavailable_logged(d)
    if index not in logged:
        d.kill9()
        raise AssertionError("no event=index_unavailable for %s\n%s" % (index, d.tail()))
    a = call(d, {"op": "stats", "index": index})
    err = a.get("error", {})
    if err.get("code") != "index_unavailable" or err.get("message") != logged[index]:
        d.kill9()
        raise AssertionError("stats of %s: %r, logged %r" % (index, a, logged[index]))
    rc = d.term()
    if rc != 0:
        raise AssertionError("searchd exited %s after SIGTERM\n%s" % (rc, d.tail()))
    return logged[index]


def call(d, obj):
    with d.line() as c:
        return c.call(obj)


def total(d, q):
    a = call(d, {"op": "search", "q": q, "limit": 0})
    assert a.get("ok"), a
    return a["total"]


def ids(d, q, limit=1000):
    a = call(d, {"op": "search", "q": q, "limit": limit})
    assert a.get("ok"), a
    return sorted(h["id"] for h in a["hits"])


def last_log(index_dir):
    return sorted(glob.glob(os.path.join(index_dir, "wal-*.log")))[-1]
