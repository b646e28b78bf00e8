#!/usr/bin/env python3
"""Checks one run_all.sh result (results/<corpus>-<time>.json) against issue 5's targets.

usage: targets.py RUN.json

Prints markdown: the QPS ratio of every engine to Sphinx, then one line per target of
issue 5's "Must show" with the measured figure and PASS/FAIL. Engines are found by name:
xapian, sphinx, searchd-engine (in process), searchd (daemon). Ratios are from this one run.
"""
import json, math, sys

LUCENE_200K_GEOMEAN = 3.3  # Lucene / Xapian QPS geomean on 200k docs (issue 5, peers/README.md)
HIT_CATS = ["en-2and", "en-3and", "phrase-en"]


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def ratios(a, b):
    return {c: a["categories"][c]["qps"] / b["categories"][c]["qps"]
            for c in b["categories"] if c in a["categories"] and b["categories"][c]["qps"]}


def line(ok, text):
    print("- %s %s" % ("PASS" if ok else "**FAIL**", text))


def load_hits(path):
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for ln in f:
                cat, q, c, ids = ln.rstrip("\n").split("\t")
                out[(cat, q)] = int(c)
    except OSError:
        pass
    return out


def sphinx_table(res, cats):
    sp = res.get("sphinx")
    if not sp:
        return
    print("QPS ratio engine / sphinx (>1 = faster than sphinx; geomean over the categories)\n")
    print("| engine | " + " | ".join(cats) + " | geomean |")
    print("|---|" + "--:|" * (len(cats) + 1))
    for name, r in res.items():
        if name == "sphinx":
            continue
        rs = ratios(r, sp)
        print("| %s | %s | %.2f |" % (name, " | ".join("%.2f" % rs[c] if c in rs else "-" for c in cats),
                                     geomean(list(rs.values()))))
    print()


def check_engine(res, is_200k):
    e, x, lu = res.get("searchd-engine"), res.get("xapian"), res.get("lucene")
    if not (e and x):
        return
    rs = ratios(e, x)
    g, worst = geomean(list(rs.values())), min(rs, key=rs.get)
    if "timing" in e:
        own = {"categories": e.get("categories_own_minutes", {})}
        xown = {"categories": x.get("categories_own_minutes", {})}
        print("- (info) engine and Xapian %s; in their own minutes the geomean was %.2f"
              % (e["timing"].replace(" with xapian", " with each other"), geomean(list(ratios(own, xown).values()))))
    lg = geomean(list(ratios(lu, x).values())) if lu else None
    if is_200k:
        want = max(3.0, lg if lg else LUCENE_200K_GEOMEAN)
        line(g >= want, "engine in process vs Xapian, geomean QPS ratio %.2f (target >= %.2f: 3x and Lucene's "
             "geomean %s)" % (g, want, "%.2f in this run" % lg if lg else "%.1f from issue 5" % LUCENE_200K_GEOMEAN))
    else:
        line(g >= 2, "engine in process vs Xapian, geomean QPS ratio %.2f (target >= 2%s)"
             % (g, "; Lucene's in this run %.2f" % lg if lg else ""))
        line(rs[worst] >= 1, "engine in process vs Xapian in every category: worst %s %.2f (target >= 1)"
             % (worst, rs[worst]))
    if lu:
        rl = ratios(e, lu)
        print("- (info) engine in process vs Lucene: geomean %.2f, by category %s"
              % (geomean(list(rl.values())), ", ".join("%s %.2f" % (c, v) for c, v in rl.items())))


def check_daemon(res):
    d, s = res.get("searchd"), res.get("sphinx")
    if not (d and s):
        return
    rs = ratios(d, s)
    worst = min(rs, key=rs.get)
    line(rs[worst] >= 5, "daemon vs Sphinx searchd, QPS ratio in every category >= 5: worst %s %.2f, "
         "geomean %.2f" % (worst, rs[worst], geomean(list(rs.values()))))
    slower = [c for c in s["categories"] if c in d["categories"]
              and d["categories"][c]["p99_ms"] >= s["categories"][c]["p99_ms"]]
    line(not slower, "daemon p99 below Sphinx's in every category (%s)" %
         ("all %d" % len(rs) if not slower else "not in: " + ", ".join(
             "%s %.2f vs %.2f ms" % (c, d["categories"][c]["p99_ms"], s["categories"][c]["p99_ms"]) for c in slower)))
    tq = d.get("throughput_qps") or {}
    if "1" in tq:
        best = max((v / tq["1"], k) for k, v in tq.items() if k != "1")
        line(best[0] >= 1.7, "concurrent connections: %s QPS (all categories mixed); best %.2fx the single "
             "connection at %s connections (target >= 1.7x)"
             % (", ".join("%s conn %.0f" % (k, v) for k, v in tq.items()), best[0], best[1]))
    rss, size = d.get("peak_rss_bytes", 0), d.get("index_bytes", 0)
    line(rss <= size + (256 << 20), "peak RSS of searchd %.0f MiB <= index %.0f MiB + 256 MiB"
         % (rss / 2**20, size / 2**20))


def check_build(res):
    s = res.get("sphinx")
    if not s:
        return
    e, d = res.get("searchd-engine"), res.get("searchd")
    if e:
        line(e["build_s"] <= s["build_s"], "engine-bench index %.1f s vs Sphinx indexer %.1f s (target: no slower)"
             % (e["build_s"], s["build_s"]))
        inv = e.get("inverted_bytes", 0)
        line(inv <= s["index_bytes"], "inverted index (dictionary + postings + positions + norms, no stored docs) "
             "%.1f MB vs Sphinx's index %.1f MB; whole data dir incl. stored title+body %.1f MB in %s segment(s)"
             % (inv / 1e6, s["index_bytes"] / 1e6, e["index_bytes"] / 1e6, e.get("segments")))
    if d:
        line(d["build_s"] <= 2 * s["build_s"], "daemon bulk import (until searchable) %.1f s vs 2 x Sphinx %.1f s"
             % (d["build_s"], 2 * s["build_s"]))


def check_hits(res):
    x = res.get("xapian")
    if not x:
        return
    base = load_hits(x.get("hits_file", ""))
    for name in ("searchd-engine", "searchd"):
        r = res.get(name)
        if not r:
            continue
        other = load_hits(r.get("hits_file", ""))
        parts = []
        for c in HIT_CATS:
            keys = [k for k in base if k[0] == c and k in other]
            if not keys:
                continue
            same = sum(base[k] == other[k] for k in keys)
            tx, to = sum(base[k] for k in keys), sum(other[k] for k in keys)
            parts.append("%s %d/%d equal, total %d vs %d (%+.2f%%)" % (c, same, len(keys), to, tx,
                                                                   100.0 * (to - tx) / max(1, tx)))
        print("- hit counts %s vs Xapian: %s" % (name, "; ".join(parts)))


def main():
    run = json.load(open(sys.argv[1], encoding="utf-8"))
    run = run if isinstance(run, list) else [run]
    res = {r["engine"]: r for r in run}
    cats = [c for c in next(iter(res.values()))["categories"]]
    is_200k = any((r.get("docs") or 0) >= 100000 for r in run)
    sphinx_table(res, cats)
    print("Issue 5 targets (this run):\n")
    check_engine(res, is_200k)
    check_daemon(res)
    check_build(res)
    check_hits(res)


if __name__ == "__main__":
    main()
