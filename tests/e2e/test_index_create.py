#!/usr/bin/env python3
"""test_index_create.py: creating an index is atomic, over the line protocol (docs/DATA.md
"Creating an index").

The defect this guards against: two create_index of one new name could both answer version 1
(and a loser could get bad_request instead of index_exists), an add racing a create_index was
stored unchecked, and get_settings saw the index half made (version 0, settings {}).

Each round sends its racing requests on connections opened beforehand, one after another
without waiting for an answer, so the daemon's workers run them at the same time; then it reads
every answer and checks that the outcome is one a serial order gives:
  - create vs create (with a get_settings beside them): exactly one ok with version 1, the other
    index_exists; get_settings answers unknown_index or the winner's settings at version 1;
  - create vs an add whose year is no int: either the add created the index (the create_index is
    index_exists, the index has no settings, the document is stored) or the create_index won
    (the add is bad_request naming the field, nothing is stored).
Every round drops its index, so the name is new again for the next one.
"""

import harness
from harness import E2ETestCase

ROUNDS_CREATE = 60
ROUNDS_ADD = 40

YEAR_INT = {"fields": {"year": {"type": "int"}}}
LANG_KEYWORD = {"fields": {"lang": {"type": "keyword"}}}


class IndexCreateTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = harness.Daemon(name="searchd (index create)")
        cls.class_daemons = (cls.daemon,)
        cls.daemon.start()
        with cls.daemon.line() as c:
            cls.canon = {}
            for key, settings in (("year", YEAR_INT), ("lang", LANG_KEYWORD)):
                assert c.call({"op": "create_index", "index": "canon-" + key,
                               "settings": settings})["ok"]
                cls.canon[key] = c.call({"op": "get_settings", "index": "canon-" + key})["settings"]

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    def race(self, requests):
        """Sends each request on its own connection, all before reading any answer; returns
        the answers in order."""
        conns = [self.daemon.line() for _ in requests]
        try:
            for c, r in zip(conns, requests):
                c.send(r)
            return [c.recv() for c in conns]
        finally:
            for c in conns:
                c.close()

    def call(self, request):
        with self.daemon.line() as c:
            return c.call(request)

    def drop(self, name):
        self.assertOk(self.call({"op": "drop_index", "index": name}), "drop " + name)

    def test_two_create_index_one_ok_one_index_exists(self):
        reader_saw_index = 0
        for k in range(ROUNDS_CREATE):
            name = "race%d" % k
            # alternate which create_index is sent first
            creates = [{"op": "create_index", "index": name, "settings": YEAR_INT},
                       {"op": "create_index", "index": name, "settings": LANG_KEYWORD}]
            if k % 2:
                creates.reverse()
            a, got, b = self.race([creates[0], {"op": "get_settings", "index": name},
                                   creates[1]])
            what = "round %d: %r / %r" % (k, a, b)
            oks = [x for x in (a, b) if x.get("ok")]
            self.assertEqual(len(oks), 1, what)
            self.assertEqual(oks[0].get("version"), 1, what)
            loser = b if a.get("ok") else a
            self.assertError(loser, "index_exists", what)
            won = creates[0] if a.get("ok") else creates[1]
            want = self.canon["year" if won["settings"] is YEAR_INT else "lang"]
            if got.get("ok"):
                reader_saw_index += 1
                self.assertEqual((got.get("version"), got.get("settings")), (1, want),
                                 "round %d: get_settings saw %r" % (k, got))
            else:
                self.assertError(got, "unknown_index", "round %d" % k)
            after = self.call({"op": "get_settings", "index": name})
            self.assertEqual((after.get("version"), after.get("settings")), (1, want), after)
            self.drop(name)
        print("get_settings saw the index in %d of %d rounds" % (reader_saw_index, ROUNDS_CREATE))

    def test_create_index_racing_a_wrongly_typed_add(self):
        add_first = 0
        for k in range(ROUNDS_ADD):
            name = "raceadd%d" % k
            create = {"op": "create_index", "index": name, "settings": YEAR_INT}
            add = {"op": "add", "index": name, "doc": {"id": "x", "title": "hello",
                                                        "year": "notanint"}}
            order = [create, add] if k % 2 == 0 else [add, create]
            answers = self.race(order)
            c, a = (answers[0], answers[1]) if k % 2 == 0 else (answers[1], answers[0])
            what = "round %d: create %r, add %r" % (k, c, a)
            settings = self.call({"op": "get_settings", "index": name})
            doc = self.call({"op": "get", "index": name, "id": "x"})
            if c.get("ok"):
                self.assertEqual(c.get("version"), 1, what)
                self.assertError(a, "bad_request", what)
                self.assertIn("year", a["error"]["message"], what)
                self.assertEqual((settings.get("version"), settings.get("settings")),
                                 (1, self.canon["year"]), what)
                self.assertError(doc, "not_found", what)
            else:
                add_first += 1
                self.assertError(c, "index_exists", what)
                self.assertOk(a, what)
                self.assertEqual((settings.get("version"), settings.get("settings")), (0, {}),
                                 what)
                # the add is acknowledged: get may lag a moment (PROTOCOL.md), so wait for it
                harness.wait_until(lambda: self.call({"op": "get", "index": name, "id": "x"})
                                   .get("ok"), harness.VISIBLE_WITHIN)
                self.assertOk(self.call({"op": "get", "index": name, "id": "x"}), what)
            self.drop(name)
        print("the add came first in %d of %d rounds" % (add_first, ROUNDS_ADD))


if __name__ == "__main__":
    harness.main()
