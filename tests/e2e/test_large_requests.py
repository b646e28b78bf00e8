"""test_large_requests.py: large requests are parsed off the event loop (daemon/srv_parse.c).

A request of 256 KiB or more is parsed on a thread of its own, so that an import's batches do
not hold every other client while their JSON is read. What is checked, over both protocols:
  - another connection is answered while a large request is being parsed: a request of tens of
    megabytes that is malformed only at its very end takes the whole parse to refuse, and a health
    check sent on another connection after it is answered before that refusal;
  - requests still take effect in their order on one connection: a get and a search pipelined
    after a large add see its documents, a large add pipelined after a delete does not bring
    the deleted one back, and the answers come in request order;
  - a large request's parse error is its own answer, in its place, and the connection goes on.
"""

import json
import selectors
import socket
import time

import harness
from harness import E2ETestCase

KIB = 1 << 10


def big_add(first, count, body_bytes):
    """An add of count documents of body_bytes each (one JSON line, no newline)."""
    filler = ("river " * (body_bytes // 6 + 1))[:body_bytes]
    docs = [{"id": "d%d" % i, "body": "%s marker%d" % (filler, i)}
            for i in range(first, first + count)]
    return json.dumps({"op": "add", "docs": docs})


def read_answers(socks, deadline):
    """Reads one line from each socket; returns their keys in the order the lines were whole."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for key, s in socks.items():
        sel.register(s, selectors.EVENT_READ, key)
        bufs[key] = b""
    order = []
    while len(order) < len(socks):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no answer in time; got %s" % order)
        for sk, _ in sel.select(left):
            key = sk.data
            chunk = sk.fileobj.recv(1 << 16)
            if not chunk:
                raise AssertionError("%s: connection closed" % key)
            bufs[key] += chunk
            if b"\n" in bufs[key] and key not in order:
                order.append(key)
                sel.unregister(sk.fileobj)
    return order, {k: json.loads(v.split(b"\n", 1)[0]) for k, v in bufs.items()}


def read_responses(sock, n):
    """n pipelined HTTP/1.1 responses (each with Content-Length): [(status, body)]."""
    f = sock.makefile("rb")
    out = []
    for _ in range(n):
        status = int(f.readline().split()[1])
        length = 0
        while True:
            line = f.readline().strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        out.append((status, f.read(length)))
    return out


class LargeRequestTest(E2ETestCase):
    def test_other_clients_are_answered_while_a_large_request_is_parsed(self):
        d = self.start_daemon(extra_args=["--max-request", str(32 << 20)])
        with d.line() as c:
            self.assertTrue(c.call({"op": "add", "docs": [{"id": "x", "body": "river"}]})["ok"])
        # about 18 MB of numbers, which take json-c long to read; the error is at the very end
        vec = ",".join("0.123456789" for _ in range(1_500_000))
        bad = ('{"op":"add","docs":[{"id":"v","body":"x","v":[%s]}],"oops"' % vec).encode()
        host, port = d.line_addr
        big = socket.create_connection((host, port))
        small = socket.create_connection((host, port))
        try:
            big.sendall(bad + b"\n")
            time.sleep(0.5)  # for the old daemon only: let it frame the request first
            small.sendall(b'{"op":"health"}\n')
            order, answers = read_answers({"big": big, "health": small},
                                          time.monotonic() + harness.IO_TIMEOUT * 4)
        finally:
            big.close()
            small.close()
        self.assertEqual(answers["health"].get("status"), "ok", answers)
        self.assertEqual(answers["big"]["error"]["code"], "bad_json", answers["big"])
        self.assertEqual(order, ["health", "big"],
                         "the health check waited for the large request's parse")

    def test_line_requests_take_effect_in_order_around_a_large_one(self):
        d = self.start_daemon()
        with d.line() as c:
            self.assertTrue(c.call({"op": "add", "docs": [{"id": "d0", "body": "old"}]})["ok"])
            c.send({"op": "delete", "id": "d0"})
            c.send_raw((big_add(1, 40, 8 * KIB) + "\n").encode())  # 320 KiB: parsed off the loop
            c.send({"op": "get", "id": "d7"})
            c.send({"op": "search", "q": "marker39"})
            c.send({"op": "get", "id": "d0"})
            c.send_raw(b'{"op":"add","docs":[' + b'{"id":"e","body":"x"},' * 20000 + b"]}\n")
            c.send({"op": "get", "id": "d39"})
            answers = [c.recv() for _ in range(7)]
            # once the first one's parsed tree was given back to be freed there, the parse
            # thread still takes large requests (it once stopped after freeing one)
            more = c.call_raw((big_add(100, 40, 8 * KIB) + "\n").encode())
            self.assertEqual(more.get("added"), 40, more)
        self.assertTrue(answers[0]["ok"], answers[0])  # the delete
        self.assertEqual(answers[1].get("added"), 40, answers[1])
        self.assertEqual(answers[2]["doc"]["id"], "d7", answers[2])
        self.assertEqual([h["id"] for h in answers[3]["hits"]], ["d39"], answers[3])
        self.assertEqual(answers[4]["error"]["code"], "not_found", answers[4])
        self.assertEqual(answers[5]["error"]["code"], "bad_json", answers[5])  # the trailing ","
        self.assertEqual(answers[6]["doc"]["id"], "d39", answers[6])

    def test_http_requests_take_effect_in_order_around_a_large_one(self):
        d = self.start_daemon()
        body = "\n".join(json.dumps(doc) for doc in json.loads(big_add(100, 40, 8 * KIB))["docs"])
        host, port = d.http_addr
        sock = socket.create_connection((host, port), timeout=harness.IO_TIMEOUT)
        try:
            # pipelined on one keep-alive connection: the add's body is parsed off the loop
            req = ("POST /docs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode()
            req += b"GET /docs/d120 HTTP/1.1\r\nHost: localhost\r\n\r\n"
            req += (b"POST /docs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                    b"\r\nContent-Length: 300000\r\n\r\n")
            req += b"{" * 300000
            req += b"GET /search?q=marker139 HTTP/1.1\r\nHost: localhost\r\n\r\n"
            sock.sendall(req)
            answers = read_responses(sock, 4)
        finally:
            sock.close()
        self.assertEqual(answers[0][0], 200, answers[0][1][:200])
        self.assertEqual(answers[1][0], 200, answers[1][1][:200])
        self.assertEqual(json.loads(answers[1][1])["doc"]["id"], "d120")
        self.assertEqual(answers[2][0], 400, answers[2][1][:200])
        self.assertEqual(answers[3][0], 200, answers[3][1][:200])
        self.assertEqual([hit["id"] for hit in json.loads(answers[3][1])["hits"]], ["d139"])


if __name__ == "__main__":
    harness.main()
