#!/usr/bin/env python3
"""Markdown report of one attribute-workload run (bench/attr-runner results; bench/attrs.py
says what the categories are) and the check of issue 11's "Speed and memory" targets.

usage: attr_report.py RUN.json [--attrs ATTRS.tsv]   (RUN.json: a list of attr-runner results,
                                                    as bench/run writes it)

Prints: QPS and p99 per category and engine; QPS geomeans per family (filtered = the lang,
year and source categories, sorted, faceted, browse); the targets (engine in process vs
Xapian >= 2x for filtered, sorted and faceted; the daemon vs Sphinx's searchd: QPS >= and
p99 below in every filtered, sorted and faceted category; an int attribute <= 4 bytes per
document on disk); and the agreement of every engine with Xapian on exact totals and facet
counts (where they differ, the first few queries). With --attrs (attrs.py's attrs.tsv) it also
checks each engine's answers against the attributes themselves: every top-10 hit passes the
query's filter, sorted hits come in non-increasing year, and the years of a sorted top 10 are
those of Xapian's when both found the same number of documents (ties in year may be broken
differently, so ids are not compared).
"""
import json, math, sys

FAMILIES = [("filtered", ("lang", "year", "source")), ("sorted", ("sort",)), ("faceted", ("facet",)),
            ("browse", ("browse",))]
TARGET_FAMILIES = ("filtered", "sorted", "faceted")


def family(cat):
    k = cat.split(".", 1)[0]
    return next(f for f, ks in FAMILIES if k in ks)


def geomean(xs):
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def line(ok, text):
    print("- %s %s" % ("PASS" if ok else "**FAIL**", text))


def load_hits(path):
    """{(category, query): (total, facets or None, [top-10 ids])}"""
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for ln in f:
                cols = ln.rstrip("\n").split("\t")
                out[(cols[0], cols[1])] = (int(cols[2]), cols[4] if len(cols) > 4 and cols[4] else None,
                                           [int(i) for i in cols[3].split(",") if i] if len(cols) > 3 else [])
    except OSError:
        pass
    return out


def load_attrs(path):
    """{docid: (lang, source, year)}"""
    out = {}
    with open(path, encoding="utf-8") as f:
        for ln in f:
            docid, lang, source, year, _length = ln.rstrip("\n").split("\t")
            out[int(docid)] = (lang, source, int(year))
    return out


def passes(attrs, docid, filt):
    lang, source, year = attrs.get(docid, (None, None, None))
    key, val = filt.split("=", 1)
    if key == "year":
        lo, hi = val.split("..")
        return year is not None and int(lo) <= year <= int(hi)
    return (lang if key == "lang" else source) == val


def check_answers(res, attrs):
    """Top-10 hits against the attributes: filters hold, sorts are sorted, sorted years agree."""
    x = load_hits(res["xapian"]["hits_file"]) if "xapian" in res else {}
    print("\nAnswers checked against attrs.tsv (top-10 hits of every query)\n")
    print("| engine | filter holds | sorted by year desc | sorted years = Xapian's (same total) |")
    print("|---|--:|--:|--:|")
    for n, r in res.items():
        hits = load_hits(r["hits_file"])
        filt = srt = same = nsame = nf = ns = 0
        for (cat, label), (total, _f, ids) in hits.items():
            _q, fl, sort, _fa = label.split(" | ")
            if fl:
                nf += 1
                filt += all(passes(attrs, i, fl) for i in ids)
            if sort:
                ns += 1
                years = [attrs[i][2] for i in ids if i in attrs]
                srt += years == sorted(years, reverse=True)
                xk = x.get((cat, label))
                if xk and xk[0] == total:
                    nsame += 1
                    same += years == [attrs[i][2] for i in xk[2] if i in attrs]
        print("| %s | %d/%d | %d/%d | %d/%d |" % (n, filt, nf, srt, ns, same, nsame))
    print()


def parse_facets(text):
    out = {}
    for part in (text or "").split(";"):
        if "=" not in part:
            continue
        field, vals = part.split("=", 1)
        out[field] = {}
        for v in vals.split(",") if vals else []:
            value, n = v.rsplit(":", 1)
            if int(n):
                out[field][value] = int(n)
    return out


def facets_agree(a, b):
    """Equal year counts; the same source counts, except which values tie at the top 10's
    smallest count (engines break that tie differently)."""
    fa, fb = parse_facets(a), parse_facets(b)
    if fa.get("year") != fb.get("year"):
        return False
    sa, sb = fa.get("source", {}), fb.get("source", {})
    if sorted(sa.values()) != sorted(sb.values()):
        return False
    cut = min(sa.values()) if sa else 0
    return {k: v for k, v in sa.items() if v > cut} == {k: v for k, v in sb.items() if v > cut}


def tables(res, cats):
    names = list(res)
    print("QPS per category (one client; in process: xapian, searchd-engine; over a socket: sphinx, searchd)\n")
    print("| category | " + " | ".join(names) + " | " + " | ".join("p99 ms %s" % n for n in names) + " | hits (%s) |"
          % names[0])
    print("|---|" + "--:|" * (2 * len(names) + 1))
    for c in cats:
        row = []
        for n in names:
            r = res[n]["categories"].get(c)
            row.append("-" if not r else ("ERR %d" % r["errors"]) if r.get("errors") else "%.0f" % r["qps"])
        row += ["%.3f" % res[n]["categories"][c]["p99_ms"] if c in res[n]["categories"] else "-" for n in names]
        first = res[names[0]]["categories"].get(c, {})
        print("| %s | %s | %s |" % (c, " | ".join(row), first.get("hits", "-")))
    print("\nQPS geomean per family, then p50 ms geomean per family (p50 is the figure least moved by "
          "a loaded machine: a pass's QPS also counts the time the process waited for a core)\n")
    print("| engine | " + " | ".join(f for f, _ in FAMILIES) + " | " + " | ".join("p50 " + f for f, _ in FAMILIES) + " |")
    print("|---|" + "--:|" * (2 * len(FAMILIES)))
    for n in names:
        cs = res[n]["categories"]
        print("| %s | %s | %s |" % (n, " | ".join("%.0f" % geomean([cs[c]["qps"] for c in cs if family(c) == f])
                                                  for f, _ in FAMILIES),
                                    " | ".join("%.3f" % geomean([cs[c]["p50_ms"] for c in cs if family(c) == f])
                                               for f, _ in FAMILIES)))
    print()


def fam_ratios(a, b, p50=False):
    """Per family, the geomean of a's QPS / b's (with p50: of b's p50 latency / a's)."""
    out = {}
    for f, _ in FAMILIES:
        cs = [c for c in b["categories"] if family(c) == f and c in a["categories"] and b["categories"][c]["qps"]]
        if p50:
            out[f] = geomean([b["categories"][c]["p50_ms"] / a["categories"][c]["p50_ms"] for c in cs
                              if a["categories"][c]["p50_ms"]])
        else:
            out[f] = geomean([a["categories"][c]["qps"] / b["categories"][c]["qps"] for c in cs])
    return out


def errors(r):
    return sum(c.get("errors", 0) for c in r["categories"].values())


def facet_agreement(res, name):
    """(faceted queries whose facet counts agree with Xapian's, faceted queries with Xapian's total)"""
    base, other = load_hits(res["xapian"]["hits_file"]), load_hits(res[name]["hits_file"])
    fk = [k for k in base if base[k][1] is not None and k in other and base[k][0] == other[k][0]]
    return sum(facets_agree(base[k][1], other[k][1]) for k in fk), len(fk)


def sorted_ok(res, name, attrs):
    """(sorted queries whose top 10 come in non-increasing year, sorted queries)"""
    ok = n = 0
    for (_cat, label), (_total, _f, ids) in load_hits(res[name]["hits_file"]).items():
        if label.split(" | ")[2]:
            years = [attrs[i][2] for i in ids if i in attrs]
            ok += years == sorted(years, reverse=True)
            n += 1
    return ok, n


def wrong_answers(res, name, attrs):
    """Why the answers of name cannot be timed as doing the work (facets or sort missing), or ""."""
    why = []
    fsame, fn = facet_agreement(res, name)
    if fsame < 0.9 * fn:
        why.append("facet counts agree with Xapian's in only %d/%d queries" % (fsame, fn))
    if attrs:
        sok, sn = sorted_ok(res, name, attrs)
        if sok < sn:
            why.append("the top 10 is sorted by year in only %d/%d sorted queries" % (sok, sn))
    return "; ".join(why)


def check_engine(res, attrs):
    e, x = res.get("searchd-engine"), res.get("xapian")
    if not (e and x):
        return
    rs = fam_ratios(e, x)
    wrong = wrong_answers(res, "searchd-engine", attrs)
    for f in TARGET_FAMILIES:
        line(rs[f] >= 2 and not errors(e) and not wrong, "engine in process vs Xapian, %s: QPS geomean ratio %.2f "
             "(target >= 2)%s" % (f, rs[f], "; %d queries refused" % errors(e) if errors(e) else ""))
    if wrong:
        line(False, "engine in process: wrong answers: " + wrong)
    print("- (info) engine in process vs Xapian, browse: %.2f" % rs["browse"])
    rp = fam_ratios(e, x, p50=True)
    print("- (info) engine in process vs Xapian by p50 latency (Xapian's p50 / ours, geomean): %s"
          % ", ".join("%s %.2f" % (f, rp[f]) for f, _ in FAMILIES))
    worst = sorted((e["categories"][c]["qps"] / x["categories"][c]["qps"], c) for c in x["categories"]
                   if c in e["categories"] and x["categories"][c]["qps"])[:5]
    print("- (info) slowest categories vs Xapian: %s" % ", ".join("%s %.2f" % (c, r) for r, c in worst))


def check_daemon(res, attrs):
    d, s = res.get("searchd"), res.get("sphinx")
    if not (d and s):
        return
    wrong = wrong_answers(res, "searchd", attrs) if "xapian" in res else ""
    if wrong:
        line(False, "daemon: wrong answers: " + wrong)
    for f in TARGET_FAMILIES:
        cs = [c for c in s["categories"] if family(c) == f and c in d["categories"]]
        slow = [c for c in cs if d["categories"][c]["qps"] < s["categories"][c]["qps"]]
        late = [c for c in cs if d["categories"][c]["p99_ms"] >= s["categories"][c]["p99_ms"]]
        g = geomean([d["categories"][c]["qps"] / s["categories"][c]["qps"] for c in cs])
        worst = min(cs, key=lambda c: d["categories"][c]["qps"] / s["categories"][c]["qps"])
        line(not slow, "daemon vs Sphinx searchd, %s: QPS >= Sphinx's in %d/%d categories (geomean ratio %.2f, "
             "worst %s %.2f)" % (f, len(cs) - len(slow), len(cs), g, worst,
                                 d["categories"][worst]["qps"] / s["categories"][worst]["qps"]))
        line(not late, "daemon vs Sphinx searchd, %s: p99 below Sphinx's in %d/%d categories%s"
             % (f, len(cs) - len(late), len(cs), "" if not late else " (not in: %s)" % ", ".join(
                 "%s %.3f vs %.3f ms" % (c, d["categories"][c]["p99_ms"], s["categories"][c]["p99_ms"])
                 for c in late[:6])))
    rb = fam_ratios(d, s)["browse"]
    print("- (info) daemon vs Sphinx searchd, browse: QPS geomean ratio %.2f" % rb)
    rp = fam_ratios(d, s, p50=True)
    print("- (info) daemon vs Sphinx searchd by p50 latency (Sphinx's p50 / ours, geomean): %s"
          % ", ".join("%s %.2f" % (f, rp[f]) for f, _ in FAMILIES))
    if errors(d):
        line(False, "daemon refused %d queries" % errors(d))


def check_bytes(res):
    e = res.get("searchd-engine")
    if not e or not e.get("attr_bytes"):
        return
    docs = e["docs"]
    for name in ("year", "length"):
        if name in e["attr_bytes"]:
            b = e["attr_bytes"][name] / docs
            line(b <= 4 if name == "year" else True, "int attribute %s: %.2f bytes per document on disk (%d bytes "
                 "over %s segment(s), %d docs)%s" % (name, b, e["attr_bytes"][name], e.get("segments"), docs,
                                                     " (target <= 4)" if name == "year" else
                                                     " (info: 0..~400k, wider than year)"))
    print("- (info) every column, bytes per document: %s" % ", ".join(
        "%s %.2f" % (k, v / docs) for k, v in sorted(e["attr_bytes"].items())))


def agreement(res):
    x = res.get("xapian")
    if not x:
        return
    base = load_hits(x["hits_file"])
    print("\nAgreement with Xapian (exact totals per query; facet counts of the faceted queries)\n")
    print("| engine | " + " | ".join(f for f, _ in FAMILIES) + " | facets equal (same total) |")
    print("|---|" + "--:|" * (len(FAMILIES) + 1))
    diffs = []
    for n, r in res.items():
        if n == "xapian":
            continue
        other = load_hits(r["hits_file"])
        cells = []
        for f, _ in FAMILIES:
            keys = [k for k in base if family(k[0]) == f and k in other]
            same = sum(base[k][0] == other[k][0] for k in keys)
            tx, to = sum(base[k][0] for k in keys), sum(other[k][0] for k in keys)
            cells.append("%d/%d, total %+.2f%%" % (same, len(keys), 100.0 * (to - tx) / max(1, tx)))
            diffs += [(n, k, base[k][0], other[k][0]) for k in keys if base[k][0] != other[k][0]][:3]
        fk = [k for k in base if base[k][1] is not None and k in other and base[k][0] == other[k][0]]
        fsame = [k for k in fk if facets_agree(base[k][1], other[k][1])]
        diffs += [(n, k, "facets", "differ") for k in fk if k not in fsame][:3]
        print("| %s | %s | %d/%d |" % (n, " | ".join(cells), len(fsame), len(fk)))
    if diffs:
        print("\nFirst differences (engine, category, query: xapian vs engine):\n")
        for n, k, a, b in diffs[:24]:
            print("- %s, %s, `%s`: %s vs %s" % (n, k[0], k[1], a, b))
    print()


def main():
    run = json.load(open(sys.argv[1], encoding="utf-8"))
    run = run if isinstance(run, list) else [run]
    res = {r["engine"]: r for r in run}
    cats = sorted({c for r in run for c in r["categories"]}, key=lambda c: ([f for f, _ in FAMILIES].index(family(c)), c))
    timed = ["- %s: %s" % (n, r["timing"]) for n, r in res.items() if r.get("timing")]
    if timed:
        print("Timing: QPS and latencies below are " + ("those of each engine's own run, except:\n\n" if
              len(timed) < len(res) else "all alternated by pair:\n\n") + "\n".join(timed) + "\n")
    tables(res, cats)
    print("Issue 11 targets (this run):\n")
    attrs = load_attrs(sys.argv[sys.argv.index("--attrs") + 1]) if "--attrs" in sys.argv else None
    check_engine(res, attrs)
    check_daemon(res, attrs)
    check_bytes(res)
    agreement(res)
    if attrs:
        check_answers(res, attrs)


if __name__ == "__main__":
    main()
