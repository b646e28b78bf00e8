"""test_docs.py: the reference docs name what searchd offers, and nothing it lacks.

The options of `searchd --help` against the README's "searchd" section and searchd(8), the
settings --print-config writes (the sample config read as it ships) against those options, and
the error codes searchd answers with their HTTP status against the tables of the README and
docs/PROTOCOL.md. Each of these once drifted: searchd(8) had no --repair, and the README's
table no forbidden_host.
"""

import os
import re
import subprocess

import harness


def read(path):
    with open(os.path.join(harness.REPO, path), encoding="utf-8") as f:
        return f.read()


class DocsTest(harness.E2ETestCase):
    def searchd(self, *args):
        return subprocess.run([harness.CONFIG.searchd] + list(args), capture_output=True,
                              text=True, timeout=60)

    def test_every_option_is_documented(self):
        """Every option of `searchd --help` is in the README and in searchd(8), every setting
        --print-config writes is one of them, and the docs name no option searchd lacks
        (searchd(8) had no --repair; the sample config is read as it ships)."""
        def options(text):
            return set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", text))

        cp = self.searchd("--help")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        offered = options(cp.stdout)
        self.assertIn("repair", offered)
        docs = {path: re.sub(r"\\f[BIRP]", " ", read(path)).replace("\\-", "-")
                for path in ("README.md", "docs/man/searchd.8")}
        readme_usage = docs["README.md"].split("### searchd\n", 1)[1].split("### searchq", 1)[0]
        man_options = docs["docs/man/searchd.8"].split(".SH LOGS", 1)[0]  # then other programs
        for path, documented in (("README.md", options(readme_usage)),
                                 ("docs/man/searchd.8", options(man_options))):
            self.assertEqual(sorted(offered - documented), [], "missing in " + path)
            self.assertEqual(sorted(documented - offered), [], "unknown in " + path)
        cp = self.searchd("--config", os.path.join(harness.REPO, "packaging/searchd.conf"),
                          "--print-config")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        keys = re.findall(r"^#? ?([a-z0-9-]+)(?: = |: )", cp.stdout, re.M)
        self.assertGreater(len(keys), 25, cp.stdout)
        self.assertEqual(sorted(set(keys) - offered), [], cp.stdout)

    def test_every_error_code_is_in_both_tables(self):
        """Every code of the protocol's table (daemon/proto/proto_request.c, where each code
        gets its HTTP status) is a row of both error tables, with that status, and the tables
        have no other row. forbidden_host, which searchd answers, was missing in the README."""
        table = dict(re.findall(r'\[PROTO_[A-Z_]+\] = \{"([a-z_]+)", (\d+)\}',
                                read("daemon/proto/proto_request.c")))
        self.assertEqual(table.pop("ok"), "200")
        self.assertEqual(table.get("forbidden_host"), "403", table)
        for path in ("README.md", "docs/PROTOCOL.md"):
            rows = dict(re.findall(r"^\| `([a-z_]+)` \|.*\| (\d{3}) \|$", read(path), re.M))
            self.assertEqual(rows, table, path)

    def test_every_libsearchq_call_is_in_its_man_page(self):
        """Every function searchq.h declares is named in libsearchq(3), a request builder
        sq_req_X through its call sq_X ("one for every op"), and the page names no function the
        header lacks (it had no sq_conn_address nor sq_parse_answer)."""
        declared = set(re.findall(r"\b(sq_[a-z0-9_]+)\(", read("client/lib/searchq.h")))
        page = read("docs/man/libsearchq.3").replace("\\-", "-")
        named = set(re.findall(r"\b(sq_[a-z0-9_]+)\b", page))
        self.assertGreater(len(declared), 30)
        missing = sorted(f for f in declared
                         if f not in named and f.replace("sq_req_", "sq_", 1) not in named)
        self.assertEqual(missing, [])
        types = set(re.findall(r"\bstruct (sq_[a-z0-9_]+)", read("client/lib/searchq.h")))
        families = {"sq_req_"}  # "Each sq_req_*()"
        self.assertEqual(sorted(named - declared - types - families), [])


if __name__ == "__main__":
    harness.main()
