#!/usr/bin/env python3
"""search_sweep.py: random searches with random options against a real searchd, checking
every answer. A soak test, run by hand (tests/fuzz/README.md, "The search sweep"), not by
ctest: it wants a large corpus and minutes to hours, best against the ASan+UBSan build.

    python3 tests/soak/search_sweep.py --searchd build-asan/daemon/searchd \
        --corpus ../shared/bench/data/corpus-large.jsonl --docs 20000 --minutes 30 --seed 1

It starts searchd on a temporary data directory, declares attributes (keyword, int, float,
date, bool, a multi-valued keyword) and synonyms, imports the first --docs documents of the
corpus with attribute values derived from each id, and then sends searches made of the
corpus's own words, inflected, misspelt, typed in the other layout, cut short, mixed with
operators, quotes, parentheses, field names and punctuation, over both protocols, with random
limits, offsets, syntax, readings, highlighting, snippets, filters, sorts, facets and fields.
With --writes another connection replaces, deletes and adds back documents and changes the
settings meanwhile.

What fails the run (it stops at the first failure and prints the request and the answer):
- the daemon exits, or an answer is not JSON, or it is an HTTP 5xx;
- an error whose code the protocol does not document, or `bad_query` to `syntax: simple`;
- an answer that breaks what docs/PROTOCOL.md promises: more hits than `limit`, a repeated
  id, scores out of order without `sort`, sort keys out of order, a total below the hits
  shown, `missing` words that are not words of the query, `every_word` above `total`,
  highlight markup that does not unescape to the plain text or splits a UTF-8 sequence,
  match offsets outside their string, facet counts that do not add up;
- the two protocols answering the same search with different hits; a total that differs
  from the exact total of limit 0; a next page that is not the tail of a page twice as long
  or says another total.
"""

import argparse
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import harness  # noqa: E402

INDEX = "sweep"
SETTINGS = {
    "fields": {"title": {"type": "text", "weight": 2}, "body": {"type": "text"},
               "lang": {"type": "keyword"}, "year": {"type": "int"},
               "rating": {"type": "float"}, "date": {"type": "date"},
               "open": {"type": "bool"}, "tags": {"type": "keyword"}},
    "synonyms": [{"synonyms": ["ИИ", "искусственный интеллект", "AI"]},
                 {"root": "ноутбук", "synonyms": ["лэптоп", "laptop"]},
                 {"synonyms": ["mail", "почта", "e-mail"]}],
    "stopwords": {"lists": ["en", "ru"]},
}
TAGS = ["alpha", "beta", "gamma", "delta", "эпсилон", "дзета"]
SNIPPET_LEN = 200  # searchd's --snippet-len default (SRV_DEFAULT_SNIPPET)
ERROR_CODES = {"bad_json", "bad_utf8", "bad_request", "bad_query", "unknown_field",
               "too_large", "unknown_index", "not_found", "busy"}
EN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
RU = "йцукенгшщзхъфывапролджэячсмитьбюё"
TO_RU = {e: r for e, r in zip(EN, RU)}
TO_EN = {r: e for e, r in zip(EN, RU)}
WORD_RE = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def attrs_of(doc_id):
    """Attribute values derived from the id, so a run is reproducible."""
    h = hashlib.sha256(doc_id.encode()).digest()
    out = {"lang": "ru" if h[0] & 1 else "en", "year": 1970 + h[1] % 55,
           "rating": round(h[2] / 25.5, 2), "open": bool(h[3] & 1),
           "date": "%04d-%02d-%02d" % (1990 + h[4] % 35, 1 + h[5] % 12, 1 + h[6] % 28),
           "tags": [t for i, t in enumerate(TAGS) if h[7] >> i & 1]}
    if h[8] % 10 == 0:
        del out["year"]  # some documents without a value
    return out


def load(path, n):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            doc = {"id": d["id"], "title": d.get("title", ""), "body": d.get("body", "")}
            doc.update(attrs_of(d["id"]))
            docs.append(doc)
            if len(docs) == n:
                break
    return docs


class Maker:
    """Random queries and options."""

    def __init__(self, rng, docs):
        self.rng = rng
        words = set()
        for d in docs[:: max(1, len(docs) // 3000)]:
            words.update(w.lower() for w in WORD_RE.findall(d["title"] + " " + d["body"][:2000]))
        self.words = sorted(words)

    def word(self):
        r = self.rng
        w = r.choice(self.words)
        k = r.random()
        if k < 0.15 and len(w) > 4:  # a typo
            i = r.randrange(len(w))
            op = r.randrange(4)
            if op == 0:
                w = w[:i] + w[i + 1:]
            elif op == 1 and i + 1 < len(w):
                w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
            elif op == 2:
                w = w[:i] + r.choice(w) + w[i:]
            else:
                w = w[:i] + r.choice(w) + w[i + 1:]
        elif k < 0.25:  # the other layout
            w = "".join(TO_RU.get(c, TO_EN.get(c, c)) for c in w)
        elif k < 0.35 and len(w) > 3:  # cut short, an inflection or a prefix being typed
            w = w[: r.randrange(2, len(w))]
        elif k < 0.40:
            w = w.upper()
        return w

    def text(self):
        r = self.rng
        parts = []
        for _ in range(r.choice([1, 1, 2, 2, 2, 3, 3, 4, 5, 8, 40])):
            k = r.random()
            if k < 0.70:
                parts.append(self.word())
            elif k < 0.76:
                parts.append('"' + self.word() + " " + self.word() + '"')
            elif k < 0.80:
                parts.append(r.choice(["OR", "AND", "NOT", "-", "|", "(", ")", '"', "*", "~"]))
            elif k < 0.85:
                parts.append("-" + self.word())
            elif k < 0.89:
                parts.append(r.choice(["title:", "body:", "lang:", "nosuch:"]) + self.word())
            elif k < 0.92:
                parts.append(self.word() + "*")
            elif k < 0.95:
                parts.append("(" + self.word() + " OR " + self.word() + ")")
            elif k < 0.97:
                parts.append(r.choice(["ИИ", "ноутбук", "laptop", "e-mail", "the", "и", "не"]))
            else:
                parts.append(r.choice([",", ".", "!", "?", "«", "»", "—", "&", "<b>", "'", "\\"]))
        sep = r.choice([" ", " ", " ", "  ", ", "])
        q = sep.join(parts)
        if r.random() < 0.05:
            q = " " + q + r.choice([" ", "", "  "])
        return q

    def filter(self):
        r = self.rng
        return r.choice([
            "lang:ru", "lang:en", "year:>=2000", "year:1980..1999", "-lang:ru",
            "tags:(alpha OR gamma)", "open:true", "rating:<5", "date:>=2010-01-01",
            "year:>2020 lang:en", "tags:эпсилон"])

    def options(self):
        r = self.rng
        o = {"q": self.text()}
        simple = r.random() < 0.7
        if simple:
            o["syntax"] = "simple"
            if r.random() < 0.3:
                o["prefix_last"] = True
            if r.random() < 0.15:
                o["drop_words"] = False
        o["limit"] = r.choice([0, 1, 3, 10, 10, 10, 20, 50, 200])
        if r.random() < 0.3:
            o["offset"] = r.choice([1, 5, 10, 30, 999])
        for key in ("typo", "layout"):
            if r.random() < 0.1:
                o[key] = False
        if r.random() < 0.2:
            o["proximity"] = r.choice([True, 0.5, 3])
        if r.random() < 0.5:
            o["highlight"] = True
            if r.random() < 0.4:
                o["fragments"] = r.randint(1, 5)
            if r.random() < 0.3:
                o["highlight_offsets"] = True
            elif r.random() < 0.2:
                o["highlight_pre"], o["highlight_post"] = "<b class=\"h\">", "</b>"
        if r.random() < 0.3:
            o["snippet_len"] = r.choice([16, 17, 40, 100, 300, 4096])
        if r.random() < 0.05:
            o["snippet"] = False
        if r.random() < 0.25:
            o["filter"] = self.filter()
        if r.random() < 0.2:
            o["sort"] = r.choice(["year:desc", "rating:asc", "date:desc,year:asc", "title:asc",
                                  "_score", "open:desc,_score", "lang:asc,rating:desc"])
        if r.random() < 0.2:
            o["facets"] = r.choice([["lang"], ["tags:size=3"], ["year:interval=10"],
                                    ["rating:ranges=..2|2..5|5.."], ["date:interval=year", "lang"],
                                    ["tags:values=alpha|beta|дзета"]])
        if r.random() < 0.15:
            o["fields"] = r.choice([["year"], ["*"], ["lang", "tags", "date"]])
        if r.random() < 0.05:
            o["weights"] = {"title": r.choice([0.5, 1, 5]), "body": 1}
        return o


class Failure(Exception):
    pass


def check_utf8_boundaries(s, spans, what):
    b = s.encode("utf-8")
    for off, n in spans:
        if off < 0 or n <= 0 or off + n > len(b):
            raise Failure("%s: span [%d,%d] outside %d bytes" % (what, off, n, len(b)))
        try:
            b[off:off + n].decode("utf-8")
        except UnicodeDecodeError:
            raise Failure("%s: span [%d,%d] splits a UTF-8 sequence" % (what, off, n))


ENTITY_RE = re.compile(r"&(amp|lt|gt|quot|#39|#x27|apos);")


def check_markup(s, pre, post):
    """Marks balanced and not nested; outside them the text HTML-escaped (PROTOCOL.md)."""
    depth = 0
    for part in re.split("(%s|%s)" % (re.escape(pre), re.escape(post)), s):
        if part == pre:
            depth += 1
        elif part == post:
            depth -= 1
        elif re.search(r"[<>\"]", part) or "&" in ENTITY_RE.sub("", part):
            raise Failure("unescaped text %r in %r" % (part, s))
        if depth not in (0, 1):
            raise Failure("marks unbalanced or nested in %r" % s)
    if depth:
        raise Failure("a mark left open in %r" % s)


def check_sorted(hits, spec):
    """Hits in the order of spec's first key (attribute values from attrs_of). When the answer
    is the documents with most of the words (hits with "missing"), those with more of the
    words come first and the sort orders each group of the same number (PROTOCOL.md `sort`,
    QUERY.md "Most words"); `_score` (desc) alone is the ranking, which does not group them."""
    keys = spec.split(",")
    name, _, way = keys[0].partition(":")
    lacks = [len(h.get("missing", [])) for h in hits]
    if keys not in (["_score"], ["_score:desc"]):
        if lacks != sorted(lacks):
            raise Failure("sort %s: words missing %r, not fewest first" % (spec, lacks))
    if name in ("_score", "title"):
        return  # _score: checked by the caller; title: not held here
    desc = way == "desc"
    prev = None
    for i, h in enumerate(hits):
        a = attrs_of(h["id"])
        v = a.get(name)
        if isinstance(v, list) or v is None:
            return  # multi-valued and missing values: their rules are in QUERY.md
        if i > 0 and lacks[i] != lacks[i - 1]:
            prev = None  # a group with fewer of the words begins
        if prev is not None and (v > prev if desc else v < prev):
            raise Failure("sort %s: %r after %r" % (spec, v, prev))
        prev = v


def check(req, ans):
    if not isinstance(ans, dict) or "ok" not in ans:
        raise Failure("not an answer object")
    if not ans["ok"]:
        code = ans.get("error", {}).get("code")
        if code not in ERROR_CODES:
            raise Failure("error code %r" % code)
        if code == "bad_query" and req.get("syntax") == "simple":
            raise Failure("bad_query to syntax simple")
        return
    hits = ans["hits"]
    limit = req.get("limit", 10)
    if len(hits) > limit:
        raise Failure("%d hits over limit %d" % (len(hits), limit))
    ids = [h["id"] for h in hits]
    if len(set(ids)) != len(ids):
        raise Failure("repeated id")
    total = ans["total"]
    if hits and ans.get("total_exact") and total < req.get("offset", 0) + len(hits):
        raise Failure("total %d below offset + hits" % total)
    if "every_word" in ans and ans["every_word"] > total:
        raise Failure("every_word over total")
    if "sort" not in req:
        # Hits with every word come first (a most-words page goes on after them), each group
        # by score.
        flags = ["missing" in h for h in hits]
        if flags != sorted(flags):
            raise Failure("a hit with every word after one with some missing")
        for g in ([h["score"] for h in hits if "missing" not in h],
                  [h["score"] for h in hits if "missing" in h]):
            for a, b in zip(g, g[1:]):
                if b > a * (1 + 1e-6) + 1e-9:
                    raise Failure("scores out of order: %r" % g)
    else:
        check_sorted(hits, req["sort"])
    # Missing words are those of the reading searched: as typed, in the other layout or
    # corrected.
    read = " ".join([req["q"], ans.get("layout", {}).get("query", ""), ans.get("did_you_mean", "")])
    words = set(w.lower() for w in re.findall(r"\w+", unicodedata.normalize("NFKC", read)))
    cap = req.get("snippet_len", SNIPPET_LEN)
    for h in hits:
        # about snippet_len bytes, cut at spaces (QUERY.md "Snippets"): one word's slack
        sn = h.get("snippet", "").replace("…", "").encode("utf-8")
        if len(sn) > cap + 64:
            raise Failure("a snippet of %d bytes for snippet_len %d" % (len(sn), cap))
        for m in h.get("missing", []):
            # folded as the query has it (case, ё, compatibility forms): compared loosely
            folded = unicodedata.normalize("NFKC", m).lower().replace("ё", "е")
            if words and not any(folded in w.replace("ё", "е") or w in folded for w in words):
                raise Failure("missing word %r not in the query" % m)
        hl = h.get("highlight")
        if req.get("highlight") and hl is None:
            raise Failure("highlight asked, none given")
        if hl is None:
            continue
        if req.get("highlight_offsets"):
            check_utf8_boundaries(hl["title"], hl.get("title_matches", []), "title_matches")
            for s, spans in zip(hl.get("snippets", []), hl.get("snippet_matches", [])):
                check_utf8_boundaries(s, spans, "snippet_matches")
            if len(hl.get("snippets", [])) != len(hl.get("snippet_matches", [])):
                raise Failure("snippets and snippet_matches differ in length")
        else:
            pre = req.get("highlight_pre", "<mark>")
            post = req.get("highlight_post", "</mark>")
            for text in [hl["title"]] + hl.get("snippets", []):
                check_markup(text, pre, post)
        if req.get("fragments") and len(hl.get("snippets", [])) > req["fragments"]:
            raise Failure("more fragments than asked")
    if "facets" in req and "facets" in ans:
        for f, buckets in ans["facets"].items():
            st = ans["facet_stats"][f]
            # A filter on the same field does not restrict its own counts (PROTOCOL.md).
            if f == "lang" and ans.get("total_exact") and "lang" not in req.get("filter", "") + req["q"]:
                if sum(buckets.values()) + st["others"] + st["missing"] != total:
                    raise Failure("facet %s counts %r + %r != total %d" % (f, buckets, st, total))


def check_paging(line, req, ans):
    """The same search again: with limit 0 its total is the exact total; and the page after
    this one is the tail of one page twice as long (ties are broken by id, so pages are
    stable) and says the same total."""
    zero = line.call(dict(req, op="search", index=INDEX, limit=0))
    # (A page that goes on with the documents with most words, "every_word", counts those
    # too: its total depends on the page it had to fill, as PROTOCOL.md says.)
    if ans.get("total_exact") and "every_word" not in ans and zero.get("total") != ans["total"]:
        raise Failure("total %r with limit 0, %r with limit %r" % (
            zero.get("total"), ans["total"], req.get("limit", 10)))
    limit = req.get("limit", 10)
    offset = req.get("offset", 0)
    if limit == 0 or offset + 2 * limit > 1000 or limit > 500:
        return
    nxt = line.call(dict(req, op="search", index=INDEX, offset=offset + limit))
    if set(h["id"] for h in nxt["hits"]) & set(h["id"] for h in ans["hits"]):
        raise Failure("the next page repeats a hit of this one")
    if ans.get("total_exact") and nxt.get("total_exact") and nxt["total"] != ans["total"]:
        raise Failure("the next page says total %r, this one %r" % (nxt["total"], ans["total"]))
    both = line.call(dict(req, op="search", index=INDEX, limit=2 * limit))
    if "every_word" in ans or "every_word" in both:
        return  # whether most words fill the page depends on its limit (PROTOCOL.md)
    want = [h["id"] for h in both["hits"][limit:]]
    got = [h["id"] for h in nxt["hits"]]
    if got != want:
        raise Failure("the next page %r is not the tail of a page twice as long %r" % (got, want))
    if [h["id"] for h in both["hits"][:limit]] != [h["id"] for h in ans["hits"]]:
        raise Failure("a page twice as long does not begin with this page")


def http_search(client, req):
    body = dict(req)
    r = client.request("POST", "/search?index=" + INDEX, body=body)
    if r.status >= 500:
        raise Failure("HTTP %d" % r.status)
    return json.loads(r.body)


def writer(daemon, docs, rng, stop, failures):
    """--writes: replaces, deletes and adds back documents while the searches run, so that
    they meet in-memory segments, flushes and merges, and now and then changes the settings.
    Its own connection and random stream."""
    line = daemon.line(timeout=600)
    gone = []
    n = 0
    while not stop.is_set():
        k = rng.random()
        if n % 500 == 499:
            # settings of another version: synonyms and stopwords only (applied from the next
            # search), or the title's weight too (every document indexed again meanwhile)
            other = dict(SETTINGS, synonyms=SETTINGS["synonyms"][:1], stopwords={})
            if rng.random() < 0.3:
                other["fields"] = dict(SETTINGS["fields"], title={"type": "text", "weight": 3})
            req = {"op": "set_settings", "index": INDEX,
                   "settings": rng.choice([SETTINGS, other])}
        elif k < 0.5:
            batch = [rng.choice(docs) for _ in range(rng.choice([1, 10, 200]))]
            req = {"op": "add", "index": INDEX, "docs": batch}
        elif k < 0.75 or not gone:
            doc = rng.choice(docs)
            gone.append(doc)
            req = {"op": "delete", "index": INDEX, "id": doc["id"]}
        else:
            req = {"op": "add", "index": INDEX, "docs": [gone.pop()]}
        try:
            ans = line.call(req)
        except (harness.ConnectionClosed, OSError, ValueError) as e:
            failures.append("writer: %s: %s" % (type(e).__name__, e))
            return
        if not ans.get("ok") and ans.get("error", {}).get("code") != "not_found":
            failures.append("writer: %r answered %r" % (req["op"], ans))
            return
        n += 1
    if gone:
        line.call({"op": "add", "index": INDEX, "docs": gone})
    print("writer: %d writes" % n, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", help="reuse this data directory (imported by an earlier run)")
    ap.add_argument("--writes", action="store_true",
                    help="write while searching (the protocols' answers are then not compared)")
    args = ap.parse_args()
    harness.CONFIG.searchd = args.searchd
    rng = random.Random(args.seed)
    docs = load(args.corpus, args.docs)
    data = args.data or tempfile.mkdtemp(prefix="sweep-")
    d = harness.Daemon(data_dir=data, extra_args=["--workers", "2"])
    d.start(timeout=600)
    line = d.line(timeout=600)
    http = d.http(timeout=600)
    try:
        st = line.call({"op": "stats", "index": INDEX})
        if not st.get("ok") or st.get("docs", 0) < len(docs):
            print(line.call({"op": "set_settings", "index": INDEX, "settings": SETTINGS}))
            for i in range(0, len(docs), 500):
                a = line.call({"op": "add", "index": INDEX, "docs": docs[i:i + 500]})
                if not a.get("ok"):
                    raise SystemExit("import failed: %r" % a)
            print("imported %d documents into %s" % (len(docs), data), flush=True)
        maker = Maker(rng, docs)
        stop = threading.Event()
        failures = []
        if args.writes:
            w = threading.Thread(target=writer, args=(d, docs, random.Random(args.seed + 1), stop,
                                                      failures))
            w.start()
        end = time.monotonic() + args.minutes * 60
        n = 0
        codes = {}
        took = []
        mem_segments = []  # the stats op's, every 50 searches
        while time.monotonic() < end and not failures:
            req = maker.options()
            a = b = None
            n += 1
            try:
                a = line.call(dict(req, op="search", index=INDEX))
                check(req, a)
                code = a.get("error", {}).get("code", "ok")
                codes[code] = codes.get(code, 0) + 1
                if a["ok"]:
                    took.append(a["took_ms"])
                if not args.writes and a["ok"] and rng.random() < 0.1:
                    check_paging(line, req, a)
                if rng.random() < 0.2:
                    b = http_search(http, req)
                    check(req, b)
                    if not args.writes and (a["ok"] != b["ok"] or (a["ok"] and [
                            h["id"] for h in a["hits"]] != [h["id"] for h in b["hits"]])):
                        raise Failure("line and HTTP answers differ")
                if n % 50 == 0:
                    st = line.call({"op": "stats", "index": INDEX})
                    mem_segments.append(st["mem_segments"])
            except (Failure, harness.ConnectionClosed, OSError, ValueError, KeyError) as e:
                failures.append("after %d searches: %s: %s\nrequest: %s\nanswer: %s\n%s" % (
                    n, type(e).__name__, e, json.dumps(req, ensure_ascii=False),
                    json.dumps(a, ensure_ascii=False)[:4000],
                    "HTTP answer: " + json.dumps(b, ensure_ascii=False)[:4000] if b else ""))
            if n % 2000 == 0:
                print("%d searches, %s" % (n, codes), flush=True)
        stop.set()
        if args.writes:
            w.join()
        if failures or not d.running():
            print("FAILED", *failures, sep="\n")
            print("daemon running:", d.running())
            print(d.tail(60))
            return 1
        took.sort()
        mem_segments.sort()
        print("%d searches, no failure; answers %s; took_ms p50 %.3f p90 %.3f p99 %.3f max %.1f"
              % (n, codes, *(took[int(len(took) * q)] for q in (0.5, 0.9, 0.99)), took[-1]))
        if mem_segments:
            print("in-memory segments (stats, every 50 searches): median %d, max %d"
                  % (mem_segments[len(mem_segments) // 2], mem_segments[-1]))
        return 0
    finally:
        d.stop()


if __name__ == "__main__":
    sys.exit(main())
