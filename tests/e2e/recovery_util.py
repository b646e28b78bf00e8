"""recovery_util.py: what test_recovery.py and test_corruption.py share: building a small data
directory through a real searchd, fingerprints of every file in it, `searchd --check`, a start
that is expected to be refused, and the log format (docs/DATA.md) to cut and rewrite records.

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


OPEN_FAILED_RE = re.compile(r'event=open_failed data=\S+ msg="(.*)"$')


def start_refused(d, timeout=harness.START_TIMEOUT):
    """Starts d expecting searchd to refuse the data directory; returns its message."""
    try:
        d.start(timeout=timeout)
    except harness.DaemonError:
        for line in reversed(list(d.log)):
            m = OPEN_FAILED_RE.search(line)
            if m:
                return m.group(1)
        raise AssertionError("searchd exited without an open_failed line\n" + d.tail())
    d.kill9()
    raise AssertionError("searchd started on a directory it should have refused\n" + d.tail())


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
