"""test_service.py: searchd under a service manager: the systemd notify protocol (Type=notify
in packaging/searchd.service) says READY=1 only once every listener answers, and STOPPING=1
when a SIGTERM starts the clean shutdown.
"""

import os
import socket
import tempfile

import harness


class NotifyTest(harness.E2ETestCase):
    def test_ready_and_stopping(self):
        tmp = tempfile.mkdtemp(prefix="searchd-notify-")
        path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(harness.START_TIMEOUT)
        os.environ["NOTIFY_SOCKET"] = path
        try:
            d = self.start_daemon()
            msg = sock.recv(4096).decode()
            self.assertIn("READY=1", msg.splitlines())
            # ready means serving: a search is answered at once
            with d.line() as c:
                self.assertOk(c.call({"op": "health"}))
            self.assertIn("STATUS=serving http=%s:%d" % d.http_addr, msg)
            self.assertEqual(d.term(), 0)
            msg = sock.recv(4096).decode()
            self.assertIn("STOPPING=1", msg.splitlines())
        finally:
            del os.environ["NOTIFY_SOCKET"]
            sock.close()
            os.unlink(path)
            os.rmdir(tmp)


if __name__ == "__main__":
    harness.main()
