"""test_tls.py: TLS on both protocols (searchd --tls-listen / --tls-line-listen with --tls-cert and
--tls-key), with self-signed certificates made by `openssl req` when the tests start.

A search over HTTPS and over the line protocol with TLS (Python's ssl, the Python client, and
searchq --tls --tls-ca); TLS 1.1 refused by the server; plain HTTP on the HTTPS port answered
400 in plain HTTP; the plain listeners off; a certificate
that does not name the host refused by the clients; the certificate reloaded on SIGHUP (new
connections get the new one, open ones go on), a reload with a broken key changing nothing; and
the configuration errors (a TLS listener without a certificate, a certificate without a TLS
listener, a key that is not the certificate's, a key encrypted with a passphrase: refused, never
asked for on a terminal); an expired certificate served with a warning in the log.
"""

import collections
import fcntl
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import termios
import threading
import warnings

import harness

sys.path.insert(0, os.path.join(harness.REPO, "client", "python"))
import searchd  # noqa: E402

CERTS = None  # the directory of the certificates, made once


def make_cert(name, cn, san):
    """A self-signed certificate and its key, CERTS/name.{crt,key}."""
    crt = os.path.join(CERTS, name + ".crt")
    key = os.path.join(CERTS, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=" + cn, "-addext",
                    "subjectAltName=" + san], check=True, capture_output=True, timeout=120)
    return crt, key


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="searchd-tls-")
    make_cert("a", "localhost", "DNS:localhost,IP:127.0.0.1")
    make_cert("b", "localhost", "DNS:localhost,IP:127.0.0.1")
    make_cert("other", "search.example.org", "DNS:search.example.org")
    # a certificate for a's key that ended yesterday (signed with -days -1)
    csr = path("expired.csr")
    subprocess.run(["openssl", "req", "-new", "-key", path("a.key"), "-subj", "/CN=localhost",
                    "-out", csr], check=True, capture_output=True, timeout=120)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-signkey", path("a.key"), "-days",
                    "-1", "-out", path("expired.crt")], check=True, capture_output=True,
                   timeout=120)
    # a's key encrypted with a passphrase, as `openssl genpkey -aes256` leaves one
    subprocess.run(["openssl", "pkey", "-in", path("a.key"), "-aes256", "-passout", "pass:secret",
                    "-out", path("encrypted.key")], check=True, capture_output=True, timeout=120)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def path(name):
    return os.path.join(CERTS, name)


def client_ctx(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def peer_fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def file_fingerprint(crt):
    with open(crt) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


class TlsTest(harness.E2ETestCase):
    def start_tls(self, cert="a", extra=()):
        """A daemon with both TLS listeners on live copies of cert (so a test may replace them)."""
        self.live = tempfile.mkdtemp(prefix="searchd-tls-live-")
        self.addCleanup(shutil.rmtree, self.live, True)
        self.crt = os.path.join(self.live, "server.crt")
        self.key = os.path.join(self.live, "server.key")
        shutil.copy(path(cert + ".crt"), self.crt)
        shutil.copy(path(cert + ".key"), self.key)
        return self.start_daemon(extra_args=["--tls-listen", "127.0.0.1:0", "--tls-line-listen",
                                             "127.0.0.1:0", "--tls-cert", self.crt, "--tls-key",
                                             self.key] + list(extra))

    def https(self, d, cafile=None):
        return http.client.HTTPSConnection("localhost", d.tls_http_addr[1],
                                           timeout=harness.IO_TIMEOUT,
                                           context=client_ctx(cafile or path("a.crt")))

    def line_tls(self, d, cafile=None, ctx=None):
        raw = socket.create_connection(d.tls_line_addr, timeout=harness.IO_TIMEOUT)
        ctx = ctx or client_ctx(cafile or path("a.crt"))
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        return s, s.makefile("rb")

    def test_search_over_https_and_line_tls(self):
        access = os.path.join(CERTS, "access-%d.log" % os.getpid())
        self.addCleanup(lambda: os.path.exists(access) and os.unlink(access))
        d = self.start_tls(extra=["--access-log", access])
        c = self.https(d)
        body = json.dumps({"id": "t1", "title": "Защищённый канал"})
        c.request("POST", "/docs", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        self.assertEqual(r.status, 200, data)
        self.assertTrue(json.loads(data)["ok"])
        c.request("GET", "/search?q=%D0%BA%D0%B0%D0%BD%D0%B0%D0%BB")  # канал
        r = c.getresponse()
        self.assertEqual([h["id"] for h in json.loads(r.read())["hits"]], ["t1"])
        self.assertEqual(c.sock.version() in ("TLSv1.2", "TLSv1.3"), True)
        c.request("GET", "/metrics")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn(b"searchd_index_docs{index=\"default\"} 1", r.read())
        c.close()

        s, rf = self.line_tls(d)
        for i in range(3):  # several requests on one TLS connection, pipelined
            s.sendall(b'{"op":"search","q":"\xd0\xba\xd0\xb0\xd0\xbd\xd0\xb0\xd0\xbb"}\n')
        for i in range(3):
            self.assertEqual([h["id"] for h in json.loads(rf.readline())["hits"]], ["t1"])
        s.close()

        with searchd.Client("127.0.0.1:%d" % d.tls_line_addr[1],
                            tls=client_ctx(path("a.crt"))) as db:
            self.assertEqual([h["id"] for h in db.search("канал")["hits"]], ["t1"])
            self.assertEqual(db.add({"id": "t2", "title": "второй канал"})["added"], 1)

        cp = harness.run_searchq(["--tls", "--tls-ca", path("a.crt"), "--json", "канал"],
                                 server="localhost:%d" % d.tls_line_addr[1])
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        self.assertEqual(sorted(h["id"] for h in json.loads(cp.stdout)["hits"]), ["t1", "t2"])
        # the plain listeners still answer
        h = d.http()
        self.assertEqual(h.search("канал").json["total"], 2)
        h.close()
        # the access log tells TLS from plain
        self.assertTrue(harness.wait_until(
            lambda: sum(1 for l in open(access) if " op=search " in l) == 7, harness.IO_TIMEOUT))
        kinds = [(l.split(" proto=")[1].split()[0], l.split(" op=")[1].split()[0])
                 for l in open(access)]
        self.assertEqual(kinds[:3], [("https", "add"), ("https", "search"), ("https", "metrics")])
        self.assertIn(("line_tls", "search"), kinds)
        self.assertEqual(kinds[-1], ("http", "search"))

    def test_tls_1_1_refused_by_the_server(self):
        d = self.start_tls()
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():  # deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT@SECLEVEL=0")  # so that our side would speak 1.1
        with self.assertRaises(ssl.SSLError) as cm:
            self.line_tls(d, ctx=old)
        # the server's alert, not a refusal of our own
        self.assertRegex(str(cm.exception), r"(?i)protocol.version|unsupported.protocol")
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        s, rf = self.line_tls(d, ctx=old)
        self.assertEqual(s.version(), "TLSv1.2")
        s.sendall(b'{"op":"health"}\n')
        self.assertTrue(json.loads(rf.readline())["ok"])
        s.close()

    def test_plaintext_and_silent_clients_on_a_tls_port(self):
        d = self.start_tls()
        silent = socket.create_connection(d.tls_line_addr, timeout=harness.IO_TIMEOUT)  # no hello
        plain = socket.create_connection(d.tls_line_addr, timeout=harness.IO_TIMEOUT)
        plain.sendall(b'{"op":"health"}\n')
        try:
            self.assertEqual(plain.recv(4096), b"")  # closed: those bytes are no TLS record
        except ConnectionResetError:
            pass
        plain.close()
        s, rf = self.line_tls(d)  # the silent one holds nobody up
        s.sendall(b'{"op":"health"}\n')
        self.assertTrue(json.loads(rf.readline())["ok"])
        s.close()
        silent.close()

    def test_plain_http_on_the_https_port_is_told_so(self):
        """curl http://host:7443/ got its connection reset (curl: "Recv failure"), nothing
        saying why. A plain HTTP request on the HTTPS port is now answered in plain HTTP, 400
        bad_http naming https://, as nginx does, then closed; HTTPS there is unchanged."""
        d = self.start_tls()
        for body in (b"", b"x" * 20000):  # a body left unread must not reset the answer away
            head = (b"POST /docs HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
                    % len(body)) if body else b"GET /search?q=x HTTP/1.1\r\nHost: localhost\r\n\r\n"
            with socket.create_connection(d.tls_http_addr, timeout=harness.IO_TIMEOUT) as s:
                try:
                    s.sendall(head + body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # closed before the whole body went: the answer is there all the same
                data = harness.recv_until_closed(s)
            self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data)
            answer = json.loads(data.partition(b"\r\n\r\n")[2])
            self.assertEqual(answer["error"]["code"], "bad_http")
            self.assertIn("https://", answer["error"]["message"])
        c = self.https(d)
        c.request("GET", "/health")
        self.assertEqual(c.getresponse().status, 200)
        c.close()

    def test_refusal_at_the_limit_is_said_in_tls(self):
        d = self.start_tls(extra=["--max-line-connections", "1"])
        busy, busy_rf = self.line_tls(d)
        # a request under way (not idle, so not evicted); the answer to the one before it says
        # the server has read both, as they came in one record
        busy.sendall(b'{"op":"health"}\n{"op":"sta')
        self.assertTrue(json.loads(busy_rf.readline())["ok"])
        s, rf = self.line_tls(d)
        answer = json.loads(rf.readline())
        self.assertEqual(answer["error"]["code"], "busy", answer)
        s.close()
        busy.close()

    def test_plain_listeners_off(self):
        d = self.start_tls(extra=["--listen", "off", "--line-listen", "off"])
        self.assertIsNone(d.http_addr)
        self.assertIsNone(d.line_addr)
        with searchd.Client("localhost:%d" % d.tls_line_addr[1],
                            tls=client_ctx(path("a.crt"))) as db:
            self.assertEqual(db.health()["status"], "ok")
        self.assertFalse(any("proto=http addr" in l or "proto=line addr" in l for l in d.log))

    def test_certificate_must_name_the_host(self):
        d = self.start_tls(cert="other")
        with self.assertRaises(ssl.SSLCertVerificationError):
            searchd.Client("localhost:%d" % d.tls_line_addr[1], tls=client_ctx(path("other.crt")))
        cp = harness.run_searchq(["--tls", "--tls-ca", path("other.crt"), "health"],
                                 server="localhost:%d" % d.tls_line_addr[1])
        self.assertEqual(cp.returncode, 3, harness.describe(cp))
        self.assertIn("certificate not trusted", cp.stderr.decode())
        cp = harness.run_searchq(["--tls", "--tls-insecure", "health"],
                                 server="localhost:%d" % d.tls_line_addr[1])
        self.assertEqual(cp.returncode, 0, harness.describe(cp))
        cp = harness.run_searchq(["--tls", "health"], server="localhost:%d" % d.tls_line_addr[1])
        self.assertEqual(cp.returncode, 3, harness.describe(cp))  # not in the system's CAs

    def reload(self, d, event):
        d.log.clear()
        os.kill(d.proc.pid, signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: any(event in l for l in list(d.log)),
                                           timeout=harness.IO_TIMEOUT), d.tail())

    def test_certificate_reloaded_on_sighup(self):
        d = self.start_tls(cert="a")
        trust_both = ssl.create_default_context(cafile=path("a.crt"))
        trust_both.load_verify_locations(cafile=path("b.crt"))
        old, old_rf = self.line_tls(d, ctx=trust_both)
        self.assertEqual(peer_fingerprint(old), file_fingerprint(path("a.crt")))

        shutil.copy(path("b.crt"), self.crt)
        shutil.copy(path("b.key"), self.key)
        self.reload(d, "event=reload ")
        new, new_rf = self.line_tls(d, ctx=trust_both)
        self.assertEqual(peer_fingerprint(new), file_fingerprint(path("b.crt")))
        for s, rf in ((old, old_rf), (new, new_rf)):  # the open connection goes on
            s.sendall(b'{"op":"health"}\n')
            self.assertTrue(json.loads(rf.readline())["ok"])
        new.close()

        with open(self.key, "w") as f:
            f.write("not a key\n")
        self.reload(d, "event=reload_failed")
        again, again_rf = self.line_tls(d, ctx=trust_both)
        self.assertEqual(peer_fingerprint(again), file_fingerprint(path("b.crt")))  # unchanged
        again.close()
        old.sendall(b'{"op":"health"}\n')
        self.assertTrue(json.loads(old_rf.readline())["ok"])
        old.close()

    def test_encrypted_key_refused_without_asking_for_a_passphrase(self):
        """A key encrypted with a passphrase is refused with a message that says so, at start and
        on SIGHUP. OpenSSL's default was to ask for the passphrase on the controlling terminal
        and wait: a searchd started from a shell hung before it was ready, and on SIGHUP its
        event loop stopped until someone typed at that terminal (a daemon without one got
        "UI routines::processing error")."""
        d = self.new_daemon(extra_args=["--tls-listen", "127.0.0.1:0", "--tls-cert",
                                        path("a.crt"), "--tls-key", path("encrypted.key")])
        with self.assertRaises(harness.DaemonError) as cm:
            d.start()
        self.assertIn("status 1", str(cm.exception))
        self.assertIn("encrypted.key is encrypted and searchd takes no passphrase",
                      str(cm.exception))

        # from a shell: searchd with a controlling terminal, the key replaced, SIGHUP
        live = tempfile.mkdtemp(prefix="searchd-tls-tty-")
        self.addCleanup(shutil.rmtree, live, True)
        crt, key = os.path.join(live, "server.crt"), os.path.join(live, "server.key")
        shutil.copy(path("a.crt"), crt)
        shutil.copy(path("a.key"), key)
        master, slave = os.openpty()
        self.addCleanup(os.close, master)

        def with_terminal():  # preexec_fn, after start_new_session's setsid
            harness._die_with_parent()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        proc = subprocess.Popen([harness.CONFIG.searchd, "--data", os.path.join(live, "data"),
                                 "--listen", "127.0.0.1:0", "--line-listen", "off",
                                 "--tls-listen", "127.0.0.1:0", "--tls-cert", crt, "--tls-key",
                                 key], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=with_terminal)
        os.close(slave)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        log = collections.deque(maxlen=1000)
        reader = threading.Thread(target=lambda: log.extend(
            line.decode("utf-8", "replace").rstrip() for line in proc.stderr), daemon=True)
        reader.start()

        def find(event):
            return next((l for l in list(log) if event in l), None)

        ready = harness.wait_until(lambda: find("event=ready"), timeout=harness.START_TIMEOUT)
        self.assertTrue(ready, "\n".join(log))
        http_addr = harness.split_addr(harness.READY_RE.search(ready).group(1))
        shutil.copy(path("encrypted.key"), key)
        os.kill(proc.pid, signal.SIGHUP)
        failed = harness.wait_until(lambda: find("event=reload_failed"),
                                    timeout=harness.IO_TIMEOUT)
        self.assertTrue(failed, "no reload_failed: waiting for a passphrase?\n" + "\n".join(log))
        self.assertIn("is encrypted and searchd takes no passphrase", failed)
        c = harness.HttpClient(http_addr)  # the loop goes on
        self.addCleanup(c.close)
        self.assertEqual(c.get("/health").status, 200)

    def test_expired_certificate_is_served_with_a_warning(self):
        """An expired certificate was loaded without a word (at start and on SIGHUP after a
        renewal that did not happen), leaving the operator to learn it from clients' failed
        handshakes. Each load now logs the certificate's end (not_after=), and warns when it is
        past."""
        d = self.start_daemon(extra_args=["--tls-listen", "127.0.0.1:0", "--tls-cert",
                                          path("a.crt"), "--tls-key", path("a.key")])
        loaded = [l for l in d.log if "event=tls_certificate" in l]
        self.assertEqual(len(loaded), 1, loaded)
        self.assertRegex(loaded[0], r"level=info event=tls_certificate cert=\S+a\.crt "
                                    r"not_after=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        d.stop()
        d = self.start_daemon(extra_args=["--tls-listen", "127.0.0.1:0", "--tls-cert",
                                          path("expired.crt"), "--tls-key", path("a.key")])
        warned = [l for l in d.log if "event=tls_certificate_expired" in l]
        self.assertEqual(len(warned), 1, d.tail())
        self.assertIn("level=warn", warned[0])
        ctx = ssl.create_default_context(cafile=path("expired.crt"))
        ctx.check_hostname = False
        raw = socket.create_connection(d.tls_http_addr, timeout=harness.IO_TIMEOUT)
        self.addCleanup(raw.close)
        with self.assertRaises(ssl.SSLCertVerificationError) as cm:  # what clients will see
            ctx.wrap_socket(raw)
        self.assertIn("expired", str(cm.exception))

    def test_configuration_errors(self):
        cases = [
            (["--tls-listen", "127.0.0.1:0"], 2, "need tls-cert and tls-key"),
            (["--tls-cert", path("a.crt"), "--tls-key", path("a.key")], 2, "no TLS listener"),
            (["--tls-line-listen", "127.0.0.1:0", "--tls-cert", path("a.crt"), "--tls-key",
              path("b.key")], 1, "mismatch"),
            (["--tls-listen", "127.0.0.1:0", "--tls-cert", path("missing.crt"), "--tls-key",
              path("a.key")], 1, "missing.crt"),
            (["--listen", "off", "--line-listen", "off"], 2, "every listener is off"),
        ]
        for args, status, text in cases:
            d = self.new_daemon(extra_args=args)
            with self.assertRaises(harness.DaemonError, msg=args) as cm:
                d.start()
            self.assertIn("status %d" % status, str(cm.exception))
            self.assertIn(text, str(cm.exception))
        # without the harness's --line-listen: the line default derives from --listen
        cp = subprocess.run([harness.CONFIG.searchd, "--listen", "off"], capture_output=True,
                            text=True, timeout=60)
        self.assertEqual(cp.returncode, 2, cp.stderr)
        self.assertIn("give line-listen", cp.stderr)


if __name__ == "__main__":
    harness.main()
