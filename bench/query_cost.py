#!/usr/bin/env python3
"""query_cost.py: hunt for the most expensive requests a client can send (bench/RESULTS.md
"Query cost: the most expensive requests").

Why: request size and connections are bounded and tested, but the cost of one search is bounded
only by the query layer's per-query caps (QRY_MAX_TERMS, QRY_MAX_EXPANSIONS, limit, offset...).
This script generates families of hostile or unlucky requests from the corpus itself (its most
frequent words, its long words, its documents), sends each to one searchd over the line protocol
and records, per request: the server's took_ms, the client's wall time, searchd's CPU time
(/proc/PID/stat, 10 ms ticks: on a loaded machine wall time is a multiple of it), the request's
bytes, and the growth of searchd's peak RSS during it (VmHWM, reset before each request through
/proc/PID/clear_refs, which only the process's owner may write: run it on a searchd you start).
The baseline family is the public benchmark queries; the report prints the p50/p99 of those and
every request costlier than 20x their p99, then the top N by time.

It starts searchd itself on --data (kept between runs: the import is done once), with
--workers 1 so a request is timed alone. Documents get synthetic attributes (year, price, tags,
a multi-valued keyword, lang) derived from their id, so filters, sorts and facets have
something to chew on; one extra document has a huge body (for highlighting). `get` takes one
id, so it has no family: many ids are many requests, each bounded by the document's size.

usage: query_cost.py --searchd build/daemon/searchd --corpus corpus-large.jsonl --data DIR
                     [--runs 3] [--top 10] [--json OUT.json] [--family NAME ...]
"""

import argparse
import collections
import hashlib
import json
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness  # noqa: E402

WORD = re.compile(r"[A-Za-zА-Яа-яЁё]+")

SETTINGS = {"fields": {"title": {"type": "text"}, "body": {"type": "text"},
                       "lang": {"type": "keyword"}, "year": {"type": "int"},
                       "price": {"type": "float"}, "tags": {"type": "keyword"},
                       "flag": {"type": "bool"}, "day": {"type": "date"}}}


def attrs_of(doc_id):
    """Deterministic synthetic attributes of a document, from the SHA-1 of its id."""
    h = hashlib.sha1(doc_id.encode()).digest()
    year = 1950 + h[0] % 75
    return {"year": year, "price": (h[1] * 256 + h[2]) / 100.0,
            "tags": ["t%d" % (h[3] % 200), "t%d" % (h[4] % 2000)], "flag": bool(h[5] & 1),
            "day": "%04d-%02d-%02d" % (year, 1 + h[6] % 12, 1 + h[7] % 28)}


def read_corpus(path):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            d.update(attrs_of(d["id"]))
            docs.append(d)
    return docs


def rss_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def rss_now(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    """User + system CPU time of every thread of the process so far (clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_hwm(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def load(daemon, docs, huge_kb):
    cl = daemon.line()
    st = cl.call({"op": "stats"})
    if st.get("ok") and st.get("docs", 0) >= len(docs):
        return st["docs"]
    r = cl.call({"op": "set_settings", "index": "default", "settings": SETTINGS})
    assert r.get("ok"), r
    batch = []
    for d in docs:
        batch.append(d)
        if len(batch) == 2000:
            r = cl.call({"op": "add", "docs": batch})
            assert r.get("ok"), r
            batch = []
    if batch:
        r = cl.call({"op": "add", "docs": batch})
        assert r.get("ok"), r
    # A huge document: the common words over and over, for highlighting and snippets.
    common = [w for w, _ in word_counts(docs).most_common(200)]
    body = []
    size = 0
    i = 0
    while size < huge_kb * 1024:
        w = common[(i * 7919) % len(common)]
        body.append(w)
        size += len(w) + 1
        i += 1
    huge = {"id": "huge-0", "title": "huge " + " ".join(common[:20]), "body": " ".join(body)}
    huge.update(attrs_of("huge-0"))
    r = cl.call({"op": "add", "doc": huge})
    assert r.get("ok"), r
    harness.wait_until(lambda: cl.call({"op": "stats"}).get("docs", 0) >= len(docs) + 1, 600)
    # Let the background merges settle, so that they do not run beside the measurements.
    harness.wait_until(lambda: cl.call({"op": "stats"}).get("merges_running", 1) == 0
                       and cl.call({"op": "stats"}).get("mem_segments", 1) == 0, 900, 0.5)
    return cl.call({"op": "stats"})["docs"]


_WC = None


def word_counts(docs):
    global _WC
    if _WC is None:
        c = collections.Counter()
        for d in docs:
            c.update(w.lower() for w in WORD.findall(d.get("body", "")))
        _WC = c
    return _WC


def typo2(w, i):
    """Two edits inside w (never the first letter): a substitution and a swap."""
    w = list(w)
    p = 2 + i % (len(w) - 4)
    w[p] = "q" if w[p] != "q" else "z"
    q = p + 2 if p + 3 < len(w) else 1
    w[q], w[q + 1] = w[q + 1], w[q]
    return "".join(w)


def to_other_layout(s):
    lat = "qwertyuiop[]asdfghjkl;'zxcvbnm,."
    cyr = "йцукенгшщзхъфывапролджэячсмитьбю"
    m = {a: b for a, b in zip(lat, cyr)}
    m.update({b: a for a, b in zip(lat, cyr)})
    return "".join(m.get(ch, ch) for ch in s)


def families(docs):
    """{family: [(name, request)]}; every request is a search unless it says otherwise."""
    wc = word_counts(docs)
    en = [w for w, _ in wc.most_common(3000) if w.isascii() and len(w) > 1]
    ru = [w for w, _ in wc.most_common(3000) if not w.isascii() and len(w) > 1]
    common = [w for w, _ in wc.most_common(400) if len(w) > 1]
    long_en = [w for w, _ in wc.most_common(20000) if w.isascii() and len(w) >= 9][:200]
    long_ru = [w for w, _ in wc.most_common(20000) if not w.isascii() and len(w) >= 9][:200]
    F = collections.OrderedDict()

    def S(**kw):
        r = {"op": "search"}
        r.update(kw)
        return r

    base = []
    pub = "/work/shared/bench/queries/public"
    for fn in sorted(os.listdir(pub)):
        if fn.endswith(".txt"):
            with open(os.path.join(pub, fn), encoding="utf-8") as f:
                for i, line in enumerate(f):
                    if i % 4 == 0 and line.strip():
                        base.append(("%s:%d" % (fn[:-4], i), S(q=line.strip())))
    F["baseline"] = base

    F["common_words"] = [("%d common en" % n, S(q=" ".join(en[:n]))) for n in (8, 16, 32, 64)] + \
        [("%d common ru" % n, S(q=" ".join(ru[:n]))) for n in (8, 16, 32, 64)] + \
        [("64 common OR", S(q=" OR ".join(common[:64])))] + \
        [("64 common en limit1000", S(q=" ".join(en[:64]), limit=1000))] + \
        [("32 common simple", S(q=" ".join(common[:32]), syntax="simple"))]
    letters = "abcdefghijklmnopqrstuvwxyz"
    two = sorted({w[:2] for w in common if len(w) >= 2})
    F["prefixes"] = [
        ("64 two-letter prefixes", S(q=" ".join(p + "*" for p in (two * 4)[:64]))),
        ("64 two-letter prefixes OR", S(q=" OR ".join(p + "*" for p in (two * 4)[:64]))),
        ("26 ab* OR", S(q=" OR ".join(c + c + "*" for c in letters))),
        ("prefix co*", S(q="co*")), ("prefix по*", S(q="по*")),
        ("prefix co* limit1000", S(q="co*", limit=1000)),
        ("prefix co* highlight", S(q="co*", highlight=True, fragments=5, snippet_len=4096)),
        ("one letter simple a", S(q="a", syntax="simple", prefix_last=True)),
        ("two letters simple co", S(q="co", syntax="simple", prefix_last=True)),
        ("common + co prefix_last", S(q="the co", syntax="simple", prefix_last=True)),
        ("31 common + prefix_last", S(q=" ".join(common[:31]) + " co", syntax="simple",
                                      prefix_last=True)),
        ("32 prefixes simple", S(q=" ".join(p + "*" for p in (two * 4)[:32]), syntax="simple")),
    ]
    F["phrases"] = [
        ("phrase 64 common en", S(q='"' + " ".join(en[:64]) + '"')),
        ("phrase the x64", S(q='"' + " ".join(["the"] * 64) + '"')),
        ("phrase и x64", S(q='"' + " ".join(["и"] * 64) + '"')),
        ("phrase of the x32", S(q='"' + " ".join(["of", "the"] * 32) + '"')),
        ("32 phrases of the", S(q=" OR ".join(['"of the"'] * 32))),
        ("16 phrases 4 common", S(q=" OR ".join('"%s"' % " ".join(en[i:i + 4])
                                                  for i in range(0, 64, 4)))),
        ("phrase the x2 ", S(q='"the the"')),
    ]
    F["not_heavy"] = [
        ("a -63 common", S(q=en[100] + " " + " ".join("-" + w for w in en[:63]))),
        ("the -63 common", S(q="the " + " ".join("-" + w for w in en[1:64]))),
        ("the -(63 OR)", S(q="the -(" + " OR ".join(en[1:64]) + ")")),
        ("the -63 prefixes", S(q="the " + " ".join("-" + p + "*" for p in (two * 4)[:63]))),
    ]
    F["typos"] = [
        ("64 typo2 en", S(q=" ".join(typo2(w, i) for i, w in enumerate((long_en * 2)[:64])))),
        ("64 typo2 ru", S(q=" ".join(typo2(w, i) for i, w in enumerate((long_ru * 2)[:64])))),
        ("32 typo2 en simple", S(q=" ".join(typo2(w, i) for i, w in enumerate(long_en[:32])),
                                 syntax="simple")),
        ("32 typo2 ru simple", S(q=" ".join(typo2(w, i) for i, w in enumerate(long_ru[:32])),
                                 syntax="simple")),
        ("32 typo2 ru simple prefix_last",
         S(q=" ".join(typo2(w, i) for i, w in enumerate(long_ru[:32])), syntax="simple",
           prefix_last=True)),
        ("64 typo2 OR en", S(q=" OR ".join(typo2(w, i) for i, w in enumerate(
            (long_en * 2)[:64])))),
        ("16 typo2 + zzz", S(q=" ".join(typo2(w, i) for i, w in enumerate(long_en[:16]))
                             + " zzzqqq")),
        ("1 typo2 en", S(q=typo2(long_en[0], 0))),
    ]
    F["layout"] = [
        ("32 en words in ru layout", S(q=to_other_layout(" ".join(en[200:232])),
                                       syntax="simple")),
        ("32 ru words in en layout", S(q=to_other_layout(" ".join(ru[200:232])),
                                       syntax="simple")),
        ("64 long ru in en layout", S(q=to_other_layout(" ".join((long_ru * 2)[:64])))),
        ("64 long en typo in ru layout", S(q=to_other_layout(" ".join(
            typo2(w, i) for i, w in enumerate((long_en * 2)[:64]))))),
        ("32 long ru typo in en layout simple", S(q=to_other_layout(" ".join(
            typo2(w, i) for i, w in enumerate(long_ru[:32]))), syntax="simple")),
    ]

    def nest(depth, words):
        q = words[0]
        for i in range(1, depth):
            q = "(%s OR (%s %s))" % (words[i % len(words)], q, words[(i * 3) % len(words)])
        return q
    F["nesting"] = [
        ("nest 15 OR/AND common", S(q=nest(15, en[:64]))),
        ("nest 15 OR/AND prefixes", S(q=nest(15, [p + "*" for p in two]))),
        ("OR of 32 ANDs of 2", S(q=" OR ".join("(%s %s)" % (en[i], en[i + 1])
                                               for i in range(0, 64, 2)))),
        ("AND of 21 ORs of 3 prefixes", S(q=" ".join("(%s* OR %s* OR %s*)" % tuple(
            (two * 4)[i:i + 3]) for i in range(0, 63, 3)))),
        ("AND of 32 ORs of 2", S(q=" ".join("(%s OR %s)" % (en[i], en[i + 64])
                                            for i in range(0, 64, 2)))),
    ]
    hl = dict(highlight=True, fragments=5, snippet_len=4096)
    F["highlight"] = [
        ("hl 64 common", S(q=" OR ".join(common[:64]), limit=1000, **hl)),
        ("hl huge doc common", S(q="huge " + common[0], **hl)),
        ("hl huge doc prefixes", S(q="huge " + " OR ".join(p + "*" for p in two[:60]), **hl)),
        ("hl huge doc typo", S(q="huge " + typo2(long_en[0], 0), **hl)),
        ("hl common limit1000", S(q=common[0], limit=1000, **hl)),
        ("hl prefix limit1000", S(q="co*", limit=1000, **hl)),
        ("hl phrase OR limit1000", S(q=" OR ".join('"%s %s"' % (en[i], en[i + 1])
                                                   for i in range(0, 32, 2)), limit=1000, **hl)),
        ("snippet 4096 limit1000", S(q=common[0], limit=1000, snippet_len=4096)),
        ("fields * limit1000", S(q=common[0], limit=1000, fields="*")),
    ]
    facets_all = ["lang:size=1000", "year:size=1000", "price:interval=0.01;size=1000",
                  "tags:size=1000", "flag", "day:interval=day;size=1000"]
    F["facets"] = [
        ("facets all browse", S(q="", facets=facets_all)),
        ("facets all common", S(q=common[0], facets=facets_all)),
        ("facets year interval=1", S(q="", facets=["year:interval=1;size=1000"])),
        ("facets price interval tiny", S(q="", facets=["price:interval=0.0001;size=1000"])),
        ("facets day interval=day", S(q="", facets=["day:interval=day;size=1000"])),
        ("facets tags values 200", S(q="", facets=["tags:values=" + "|".join(
            "t%d" % i for i in range(2000))])),
        ("facets year ranges 500", S(q="", facets=["year:ranges=" + "|".join(
            "%d..%d" % (1900 + i // 5, 1901 + i // 5 + i) for i in range(500))])),
        ("facets 16 OR 64", S(q=" OR ".join(common[:64]), facets=facets_all)),
    ]
    F["sort"] = [
        ("sort 4 keys browse", S(q="", sort="tags,price:desc,day,year")),
        ("sort title browse offset", S(q="", sort="title", offset=100000, limit=1000)),
        ("sort 4 keys common", S(q=common[0], sort="title:desc,tags,price,year", limit=1000)),
        ("sort _score,title OR 64", S(q=" OR ".join(common[:64]), sort="_score,title",
                                      limit=1000)),
        ("offset max common", S(q=common[0], offset=100000, limit=1000)),
        ("offset max OR 64", S(q=" OR ".join(common[:64]), offset=100000, limit=1000)),
        ("offset max prefixes", S(q=" OR ".join(p + "*" for p in two[:60]), offset=100000,
                                  limit=1000)),
        ("offset 30000 OR 64", S(q=" OR ".join(common[:64]), offset=30000, limit=1000)),
        ("offset max browse", S(q="", filter="year:>0", offset=100000, limit=1000)),
        ("offset max sort year", S(q=common[0], sort="year", offset=40000, limit=1000)),
    ]
    F["filters"] = [
        ("filter tags IN 500", S(q=common[0], filter="tags:(" + " OR ".join(
            "t%d" % i for i in range(500)) + ")")),
        ("filter tags IN 4000", S(q=common[0], filter="tags:(" + " OR ".join(
            "t%d" % i for i in range(4000)) + ")")),
        ("filter year IN 3000", S(q=common[0], filter="year:(" + " OR ".join(
            "%d" % (1900 + i) for i in range(3000)) + ")")),
        ("filter 1000 ranges OR", S(q=common[0], filter=" OR ".join(
            "price:%d..%d" % (i, i + 1) for i in range(1000)))),
        ("filter 1000 ranges AND", S(q=common[0], filter=" ".join(
            "price:>=%d" % (-i) for i in range(1000)))),
        ("filter 1000 excl", S(q=common[0], filter=" ".join(
            "-tags:t%d" % (i + 10000) for i in range(1000)))),
        ("filter browse IN 4000", S(q="", filter="tags:(" + " OR ".join(
            "t%d" % i for i in range(4000)) + ")", limit=1000)),
        ("filter in q OR words", S(q=" OR ".join(common[:32]) + " OR " + " OR ".join(
            "year:%d" % (1950 + i) for i in range(32)))),
        ("filter big nesting", S(q=common[0], filter=nest(15, ["year:%d" % (1950 + i)
                                                                for i in range(75)]))),
    ]
    return F


def synonyms_family(docs):
    wc = word_counts(docs)
    en = [w for w, _ in wc.most_common(3000) if w.isascii() and len(w) > 2]
    syn = []
    for i in range(0, 2000, 2):
        syn.append({"synonyms": [en[i % len(en)], " ".join(en[(i + 1 + k * 7) % len(en)]
                                                          for k in range(4))]})
    qs = [("syn 64 words", {"op": "search", "q": " ".join(en[:64])}),
          ("syn 32 words simple", {"op": "search", "q": " ".join(en[:32]), "syntax": "simple"}),
          ("syn 32 simple prefix_last", {"op": "search", "q": " ".join(en[:32])[:-1],
                                         "syntax": "simple", "prefix_last": True}),
          ("syn hl", {"op": "search", "q": " ".join(en[:16]), "highlight": True,
                      "fragments": 5, "snippet_len": 4096, "limit": 100})]
    return {"synonyms": syn}, qs


def run_one(cl, pid, req, runs):
    raw = json.dumps(req, ensure_ascii=False)
    best = None
    took = []
    walls = []
    hwm = 0
    ans = None
    cpus = []
    for _ in range(runs):
        before = rss_now(pid)
        reset_hwm(pid)
        c0 = cpu_seconds(pid)
        t0 = time.perf_counter()
        ans = cl.call(req)
        walls.append((time.perf_counter() - t0) * 1000.0)
        cpus.append((cpu_seconds(pid) - c0) * 1000.0)
        hwm = max(hwm, rss_hwm(pid) - before)
        took.append(ans.get("took_ms", walls[-1]))
    best = min(walls)
    return {"bytes": len(raw.encode()), "wall_ms": best, "took_ms": min(took), "cpu_ms": min(cpus),
            "rss_growth": hwm, "ok": ans.get("ok"),
            "error": None if ans.get("ok") else (ans.get("error"), ans.get("message")),
            "total": ans.get("total"), "hits": len(ans.get("hits", []) or [])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--searchd", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--huge-kb", type=int, default=8000)
    ap.add_argument("--json")
    ap.add_argument("--family", action="append")
    a = ap.parse_args()
    docs = read_corpus(a.corpus)
    d = harness.Daemon(data_dir=a.data, binary=a.searchd,
                       extra_args=["--workers", "1", "--max-request", "64m"])
    d.start(timeout=600)
    try:
        n = load(d, docs, a.huge_kb)
        print("docs: %d" % n, file=sys.stderr)
        cl = harness.LineClient(d.line_addr, timeout=600)
        pid = d.proc.pid
        fams = families(docs)
        syn_settings, syn_qs = synonyms_family(docs)
        results = []
        for fam, reqs in fams.items():
            if a.family and fam not in a.family and fam != "baseline":
                continue
            for name, req in reqs:
                r = run_one(cl, pid, req, a.runs if fam != "baseline" else 1)
                r.update(family=fam, name=name)
                results.append(r)
                if fam != "baseline":
                    print("%-12s %-36s %8.1f ms %6.0f cpu %7d B %8.1f MB %s" % (
                        fam, name, r["wall_ms"], r["cpu_ms"], r["bytes"], r["rss_growth"] / 1e6,
                        r["error"] or ""), file=sys.stderr)
        if not a.family or "synonyms" in a.family:
            st = cl.call({"op": "set_settings", "index": "default", "merge": True,
                           "settings": syn_settings})
            assert st.get("ok"), st
            for name, req in syn_qs:
                r = run_one(cl, pid, req, a.runs)
                r.update(family="synonyms", name=name)
                results.append(r)
                print("%-12s %-36s %8.1f ms %6.0f cpu %7d B %8.1f MB %s" % (
                    "synonyms", name, r["wall_ms"], r["cpu_ms"], r["bytes"],
                    r["rss_growth"] / 1e6, r["error"] or ""), file=sys.stderr)
            st = cl.call({"op": "set_settings", "index": "default", "merge": True,
                           "settings": {"synonyms": None}})
            assert st.get("ok"), st
        st = cl.call({"op": "stats"})
        base = sorted(r["wall_ms"] for r in results if r["family"] == "baseline")
        p50 = base[len(base) // 2]
        p99 = base[min(len(base) - 1, int(len(base) * 0.99))]
        print("baseline: %d queries, p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
              "engine_memory_peak_bytes %d" % (len(base), p50, p99, base[-1],
                                              st.get("engine_memory_peak_bytes", 0)))
        hostile = [r for r in results if r["family"] != "baseline"]
        hostile.sort(key=lambda r: -r["wall_ms"])
        print("top %d by time (wall ms, best of %d; x p99; CPU ms of searchd, best; request bytes;"
              " ms/KB; RSS growth MB; total):" % (a.top, a.runs))
        for r in hostile[:a.top]:
            print("  %-12s %-34s %9.1f %6.0fx %7.0f %7d %8.2f %7.1f %s%s" % (
                r["family"], r["name"], r["wall_ms"], r["wall_ms"] / p99, r["cpu_ms"], r["bytes"],
                r["wall_ms"] / (r["bytes"] / 1024.0), r["rss_growth"] / 1e6, r["total"],
                " ERR %s" % (r["error"],) if r["error"] else ""))
        over = [r for r in hostile if r["wall_ms"] > 20 * p99]
        print("over 20x p99 (%.1f ms): %d" % (20 * p99, len(over)))
        by_mem = sorted(hostile, key=lambda r: -r["rss_growth"])[:5]
        print("top 5 by RSS growth:")
        for r in by_mem:
            print("  %-12s %-34s %7.1f MB %9.1f ms" % (r["family"], r["name"],
                                                      r["rss_growth"] / 1e6, r["wall_ms"]))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"p50": p50, "p99": p99, "results": results}, f, indent=1,
                          ensure_ascii=False)
        print("median baseline took_ms %.2f" % statistics.median(
            r["took_ms"] for r in results if r["family"] == "baseline"))
    finally:
        d.term()


if __name__ == "__main__":
    main()
