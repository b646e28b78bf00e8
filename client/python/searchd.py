"""searchd.py: a dependency-free Python client for searchd's line protocol (docs/PROTOCOL.md).

    import searchd
    with searchd.Client("127.0.0.1:7701") as db:
        db.add([{"id": "a1", "title": "Цифровая дипломатия", "body": "..."}])
        for hit in db.search("цифровая дипломатия", limit=5)["hits"]:
            print(hit["id"], hit["score"], hit["title"])

One Client is one connection (TCP "HOST:PORT", "[v6]:PORT", or a Unix socket path starting
with "/" or "."). For a TLS listener (searchd --tls-line-listen) pass tls=True to verify the
server against the system's CAs, or an ssl.SSLContext of your own, e.g. for a self-signed
certificate:

    ctx = ssl.create_default_context(cafile="/etc/searchd/cert.pem")
    db = searchd.Client("search.example.org:7702", tls=ctx, key=os.environ["SEARCHD_KEY"])

Every op of the protocol is a method; each sends one JSON line and returns the answer object,
or raises searchd.Error (with .code and .message, the protocol's error) when the answer has
"ok": false; the connection stays usable after it. A connection that cannot be made or that
breaks raises OSError: ConnectionRefusedError, ConnectionResetError, a TimeoutError, and
searchd.ConnectionClosed when the server closed it before answering or the Client was closed
(all but the timeout are ConnectionErrors). A line that is not an answer (the address is not
searchd's line protocol) raises searchd.ProtocolError, a ValueError; a bad address, ValueError.
Requests can be pipelined: pipeline() queues requests and sends them all at once, then reads
the answers, which come back in request order; an error answer there is returned as an Error
instance in its place rather than raised, so one bad request does not hide the others' answers.

delete(ids) with a list of ids deletes them in one write ("deleted" and "not_found" counted).

Index management (docs/PROTOCOL.md "Index management"): indexes(), create_index(name,
settings), set_settings(name, settings) (merge=True: a merge patch), get_settings(name),
drop_index(name). Searches take
filter=, sort=, facets= and fields= (lists or comma-separated strings):

    db.set_settings("books", {"fields": {"year": {"type": "int"}, "lang": {"type": "keyword"}}})
    r = db.search("", index="books", filter="year:>=2010", sort="year:desc", facets=["lang"])
    r["facets"]["lang"]   # {"en": 30, "ru": 12}, buckets in the server's order

Online backup (docs/PROTOCOL.md, op snapshot; admin key): snapshot(index, name) copies the index
into the directory name under the server's --snapshot-dir and answers when the copy is whole:

    info = db.snapshot("books", "nightly-1")
    info["path"], info["seq"]   # where it is, and the last write it holds

Timeouts and broken connections: answers come in request order, and nothing in an answer
names its request. So when a call fails before its answer is read whole (a timeout, an error
while sending or reading, an answer that is not JSON, even KeyboardInterrupt), the answers still
due on that connection would be out of step with the calls that follow. The Client never reads
them: it closes that connection and raises the error, and the next call opens a new one (and
presents the key again, keeping the role). A call always returns its own answer. The request
that failed may still be carried out by the server (an add can be stored after its
TimeoutError): an add replaces by id and a delete of a missing id is harmless, so retrying them
is safe. pipeline() is the same: a failure among its answers drops the connection, and the
answers not yet read are lost with it. The timeout attribute may be changed between calls.
A connection that the server closed between calls (idle for its --idle-timeout, 300 s by
default, or a restart) is seen before the next call is sent, and that call opens a new one.

A Client is not thread-safe; use one per thread. Python 3.8+ standard library only.
"""

import json
import select
import socket
import ssl

__all__ = ["Client", "Error", "ConnectionClosed", "ProtocolError"]
__version__ = "1.5"

DEFAULT_ADDRESS = "127.0.0.1:7701"

# Ops about no index: the server refuses an "index" member on them, so the Client's default
# index is not added to them.
_NO_INDEX_OPS = frozenset(("health", "auth", "indexes"))


class Error(Exception):
    """An error answer from the server: code (e.g. "bad_query", "not_found") and message."""

    def __init__(self, code, message, answer=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.answer = answer


class ConnectionClosed(ConnectionError):
    """The server closed the connection before answering, or the Client was closed (a call
    after close()). A ConnectionError, as a reset connection (ConnectionResetError) and a
    refused one (ConnectionRefusedError) are, so `except ConnectionError` catches them all."""


class ProtocolError(ValueError):
    """The server sent a line that is not an answer of the line protocol (not UTF-8, not JSON,
    not a JSON object): most likely the address is not searchd's line protocol (its HTTP port,
    another service). line holds the bytes received."""

    def __init__(self, message, line=b""):
        super().__init__(message)
        self.line = line


def _connect(address, timeout, tls):
    if address.startswith("/") or address.startswith("."):
        if tls:
            raise ValueError("TLS is for HOST:PORT addresses; a Unix socket has none")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
        return sock
    host, sep, port = address.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError("address must be HOST:PORT (a port from 1 to 65535) or a Unix socket "
                         "path: %r" % address)
    host = host.strip("[]")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    if not tls:
        return sock
    ctx = tls if isinstance(tls, ssl.SSLContext) else ssl.create_default_context()
    try:
        return ctx.wrap_socket(sock, server_hostname=host)  # checks the name unless ctx says not
    except Exception:
        sock.close()
        raise


def _readable_now(sock):
    """Whether sock has something to read (bytes, or its end) without waiting. poll() where
    there is one: select() refuses descriptors from 1024 on, which a busy process reaches."""
    if hasattr(select, "poll"):
        p = select.poll()
        p.register(sock, select.POLLIN)
        return bool(p.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class Client:
    def __init__(self, address=DEFAULT_ADDRESS, timeout=30.0, index=None, key=None, tls=None):
        """Connects to address; timeout (seconds) bounds connecting and each answer. index, when
        given, is the default index of every request that names none. key, when the server has
        API keys on, is presented once for the connection (the auth op; again on a reconnect,
        see the module docstring); a wrong key raises Error("unauthorized"). tls: None or False
        for plain TCP; True for TLS verified against the system's CAs and the host name; an
        ssl.SSLContext to choose (a cafile, or no verification for a test box); the server
        refuses TLS before 1.2. A certificate that does not verify raises
        ssl.SSLCertVerificationError."""
        self.index = index
        self._address, self._timeout, self._tls = address, timeout, tls
        self._key = None  # the last key the server accepted, presented again on a reconnect
        self._sock = None  # None: no connection in step (see _open and _exchange)
        self._is_closed = False
        self.role = None
        self._open()
        if key is not None:
            try:
                self.auth(key)
            except BaseException:
                self.close()
                raise

    # ---- connection ----

    def close(self):
        """Closes the connection; a call after it raises ConnectionClosed."""
        self._is_closed = True
        self._drop()

    @property
    def timeout(self):
        """Seconds that connecting and each answer may take; may be set between calls."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds):
        self._timeout = seconds
        if self._sock is not None:
            self._sock.settimeout(seconds)

    def _open(self):
        """A new connection, with an empty read buffer: nothing is pending on it."""
        sock = _connect(self._address, self._timeout, self._tls)
        sock.settimeout(self._timeout)
        self._sock = sock
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already searched for a newline
        # Not yet used: what it may hold to read is the server's word on it (a busy refusal
        # when it is at its limits), the answer to the first call, not an end (_was_closed).
        self._is_fresh = True

    def _drop(self):
        """Forgets the connection and whatever answers are still due on it."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _was_closed(self):
        """True when the connection ended while it sat between calls: the server closes a
        connection idle for --idle-timeout (300 s), and a restart closes them all. Nothing is
        due on it then, so anything it has to read is its end (or bytes out of step, as bad).
        Sending on it would fail the call for nothing, so it is opened again first, as
        connection pools do. Only a connection used before is looked at: one just opened may
        hold the server's busy refusal (at its connection limits), which the call then reads as
        its answer. A TLS socket may hold a session ticket the server sent after the handshake:
        that reads as nothing yet (SSLWantReadError), and the connection is fine."""
        sock = self._sock
        try:
            if not _readable_now(sock):
                return False
            if isinstance(sock, ssl.SSLSocket):
                sock.setblocking(False)
                try:
                    sock.recv(1)
                except ssl.SSLWantReadError:
                    return False
                finally:
                    sock.settimeout(self._timeout)
            else:
                sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            return True  # b"" (closed) or a byte nobody asked for
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    def _reopen(self):
        """After _drop: connects again, and presents the accepted key so that the role holds."""
        if self._is_closed:
            raise ConnectionClosed("the Client is closed")
        self._open()
        if self._key is not None:
            answer = self._exchange([{"op": "auth", "key": self._key}])[0]
            if isinstance(answer, Error):
                self._drop()
                raise answer
            self.role = answer["role"]

    def _exchange(self, requests):
        """Sends requests (dicts with "op"), reads as many answers, returns them in order (an
        error answer as an Error instance). Any failure before the last answer is read leaves
        the stream out of step, so the connection is dropped before the error goes up."""
        data = b"".join(self._encode(r) for r in requests)  # a bad request raises here, harmless
        if self._sock is not None and not self._is_fresh and self._was_closed():
            self._drop()
        if self._sock is None:
            self._reopen()
        try:
            self._sock.sendall(data)
            answers = [self._read_answer() for _ in requests]
        except BaseException:
            self._drop()
            raise
        self._is_fresh = False
        return answers

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _encode(self, request):
        if (self.index is not None and "index" not in request
                and request.get("op") not in _NO_INDEX_OPS):
            request = dict(request, index=self.index)
        return json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    def _read_answer(self):
        while True:
            nl = self._buf.find(b"\n", self._scanned)
            if nl >= 0:
                break
            self._scanned = len(self._buf)
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                raise ConnectionClosed("searchd closed the connection")
            self._buf += chunk
        line = bytes(self._buf[:nl])
        del self._buf[:nl + 1]
        self._scanned = 0
        answer = self._parse_answer(line)
        if answer.get("ok"):
            return answer
        err = answer.get("error")
        err = err if isinstance(err, dict) else {}
        return Error(err.get("code", "internal"), err.get("message", ""), answer)

    def _parse_answer(self, line):
        """The answer object of one line, or ProtocolError (which drops the connection, as any
        failure in _exchange does) naming the address and showing the line's start."""
        try:
            answer = json.loads(line.decode("utf-8"))
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError both are
            answer, why = None, str(e)
        else:
            why = "not a JSON object"
        if isinstance(answer, dict):
            return answer
        shown = line[:80].decode("utf-8", "replace")
        hint = " (is it searchd's HTTP port? the line protocol's is another)" \
            if line.startswith(b"HTTP/") else ""
        raise ProtocolError("%s answered a line that is not a searchd answer (%s): %r%s"
                            % (self._address, why, shown, hint), line)

    def call(self, op, **fields):
        """Sends {"op": op, ...fields} and returns the answer; raises Error on an error answer."""
        fields["op"] = op
        answer = self._exchange([fields])[0]
        if isinstance(answer, Error):
            raise answer
        return answer

    def pipeline(self, requests):
        """Sends every request (dicts with "op") before reading, then returns their answers in
        order; an error answer is an Error instance in its place. A timeout or broken connection
        raises, and the answers not read are lost (the module docstring says why)."""
        requests = list(requests)
        return self._exchange(requests) if requests else []

    # ---- ops ----

    def search(self, q, filter=None, sort=None, facets=None, fields=None, **options):
        """options: limit, offset, weights (dict), snippet (bool), index, and every other
        search parameter of docs/PROTOCOL.md. filter and sort are strings ("year:>=2010
        lang:ru", "year:desc,title"); facets and fields are lists of strings or one
        comma-separated string. q may be "" with a filter, sort or facets: every matching
        document (facets alone: the counts over the whole index).
        The answer has "facets" ({field: {value: count}}, in bucket order) and "facet_stats"
        when facets were asked ("facet_order" too: the same order as lists, for readers that
        lose an object's order, as JavaScript does), and each hit "fields" when fields were."""
        for name, value in (("filter", filter), ("sort", sort), ("facets", facets),
                            ("fields", fields)):
            if value is not None:
                options[name] = value if isinstance(value, str) else list(value)
        return self.call("search", q=q, **options)

    def add(self, docs, index=None):
        """docs: one document (dict) or a list of them (at most 10000 per call)."""
        key = "doc" if isinstance(docs, dict) else "docs"
        fields = {key: docs if key == "doc" else list(docs)}
        if index is not None:
            fields["index"] = index
        return self.call("add", **fields)

    def get(self, doc_id, index=None):
        """The stored document with that id; Error with code "not_found" when there is none."""
        return self.call("get", id=doc_id, **({"index": index} if index else {}))["doc"]

    def delete(self, doc_id, index=None):
        """Deletes the document with that id; Error "not_found" when there is none. Given a list
        or tuple of ids (1 to 10000), deletes them in one write (all or none survive a crash)
        and the answer counts "deleted" and "not_found" (the ids there was no document for,
        then no error)."""
        if isinstance(doc_id, (list, tuple)):
            return self.call("delete", ids=list(doc_id), **({"index": index} if index else {}))
        return self.call("delete", id=doc_id, **({"index": index} if index else {}))

    def stats(self, index=None):
        return self.call("stats", **({"index": index} if index else {}))

    def health(self):
        return self.call("health")

    def auth(self, key):
        """Presents key for this connection (the constructor does it for its key=); returns the
        role answered, "admin" or "search", kept by the connection until the next auth that
        succeeds. A wrong key raises Error("unauthorized"); the connection keeps the role it
        had."""
        self.role = self.call("auth", key=key)["role"]
        self._key = key
        return self.role

    # ---- index management ----

    def indexes(self):
        """Every index: a list of {"name", "docs", "disk_bytes", "settings_version"}."""
        return self.call("indexes")["indexes"]

    def create_index(self, name, settings=None):
        """Creates the index with settings (a dict, default {}); Error "index_exists" when
        there is one. Returns the settings version."""
        return self.call("create_index", index=name, settings=settings or {})["version"]

    def set_settings(self, name, settings, merge=False):
        """Creates the index or replaces its settings; returns the version in force. With
        merge=True, settings is a merge patch (RFC 7396) of the settings in force: only what it
        names changes, and None removes a member. When the fields (names, types) change,
        documents indexed before are re-indexed in the background
        (get_settings()["stats"]["reindex_pending"]); searches keep answering from the old
        version until then. Weights, synonyms, stopwords and the switches apply at once."""
        if merge:
            return self.call("set_settings", index=name, settings=settings,
                             merge=True)["version"]
        return self.call("set_settings", index=name, settings=settings)["version"]

    def get_settings(self, name):
        """{"index", "version", "settings": {...}, "stats": {...}} for the index."""
        return self.call("get_settings", index=name)

    def drop_index(self, name):
        """Drops the index and every document in it; Error "unknown_index" when there is none."""
        return self.call("drop_index", index=name)

    # ---- online backup ----

    def snapshot(self, index, name):
        """A consistent copy of index in the directory name ([a-z0-9_-], 1 to 64 bytes, not a
        path) under the server's --snapshot-dir, made while searches and writes go on; returns
        the answer ({"path", "seq", "segments", "files_linked", "files_copied", "bytes", "ms"})
        once the copy is whole and durable, which for a large index may take longer than the
        Client's timeout: give it one to match. Error "bad_request" for a bad or existing
        name or a server without --snapshot-dir, "forbidden" for a search key,
        "unknown_index", "degraded"."""
        return self.call("snapshot", index=index, name=name)
