#!/usr/bin/env python3
"""The known-item relevance table of one run of the peer harness (bench/relevance).

The sets' folder holds <sample>-<lang>-<kind>.txt and .targets: the public sets as "known",
the held-out samples as "heldNN" (bench/known_items.py with seed NN). For each kind and
language, one column; for each engine, one row; a cell gives MRR@10 of every sample in the
folder's order (public first), then the mean of the held-out ones. Below the table: per
exact and inflected column, searchd's margin over the best of the other engines, per sample;
and searchd's success@10 on typo and layout queries over its success@10 on exact ones.
usage: relevance_report.py CORPUS.jsonl SETS_DIR ENGINE=HITS.tsv... (the engine "searchd" is ours)
"""
import json, os, sys

KINDS = ("exact", "infl", "typo", "layout")


def load_targets(corpus, sets):
    line_of = {}
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            line_of[json.loads(line)["id"]] = str(i)
    targets = {}
    for name in sorted(os.listdir(sets)):
        if name.endswith(".txt"):
            cat = name[:-4]
            with open(os.path.join(sets, cat + ".targets"), encoding="utf-8") as f:
                targets[cat] = [line_of[t] for t in f.read().splitlines()]
    return targets


def scores(path, targets):
    """{category: (MRR@10, success@10)} of one engine's hits file (rows in the sets' order)."""
    got = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cat, _q, _n, ids = (line.rstrip("\n").split("\t") + [""])[:4]
            got.setdefault(cat, []).append(ids.split(",") if ids else [])
    out = {}
    for cat, ts in targets.items():
        mrr = s10 = 0.0
        for t, ids in zip(ts, got.get(cat, [])):
            if t in ids[:10]:
                mrr += 1 / (ids.index(t) + 1)
                s10 += 1
        out[cat] = (mrr / len(ts), s10 / len(ts))
    return out


def main():
    corpus, sets = sys.argv[1], sys.argv[2]
    targets = load_targets(corpus, sets)
    engines = [a.split("=", 1) for a in sys.argv[3:]]
    got = {e: scores(p, targets) for e, p in engines}
    samples = sorted({c.rsplit("-", 2)[0] for c in targets}, key=lambda s: (s != "known", s))
    held = [s for s in samples if s != "known"]
    cols = [(lang, kind) for lang in ("en", "ru") for kind in KINDS
            if any("%s-%s-%s" % (s, lang, kind) in targets for s in samples)]

    def cell(e, s, lang, kind, i=0):
        v = got[e].get("%s-%s-%s" % (s, lang, kind))
        return v[i] if v else None

    names = ["public" if s == "known" else s for s in samples]
    print("MRR@10, per sample: %s%s" % (" / ".join(names), " / mean of the held-out" if held else ""))
    print()
    print("| engine | " + " | ".join("%s %s" % c for c in cols) + " |")
    print("|---|" + "--:|" * len(cols))
    for e, _ in engines:
        cells = []
        for lang, kind in cols:
            vs = [cell(e, s, lang, kind) for s in samples]
            hv = [v for s, v in zip(samples, vs) if s != "known" and v is not None]
            txt = " / ".join("-" if v is None else "%.3f" % v for v in vs)
            cells.append(txt + (" / **%.3f**" % (sum(hv) / len(hv)) if hv else ""))
        print("| %s | %s |" % (e, " | ".join(cells)))
    if "searchd" not in got:
        return
    print()
    print("searchd's margin over the best other engine (MRR@10), per sample:")
    print()
    for lang, kind in cols:
        if kind not in ("exact", "infl"):
            continue
        parts = []
        for s, name in zip(samples, names):
            ours = cell("searchd", s, lang, kind)
            others = [(cell(e, s, lang, kind), e) for e, _ in engines if e != "searchd"]
            others = [o for o in others if o[0] is not None]
            if ours is None or not others:
                continue
            best, who = max(others, key=lambda o: o[0])  # the first of equals
            parts.append("%s %+.3f (%s)" % (name, ours - best, who))
        print("- %s %s: %s" % (lang, kind, ", ".join(parts)))
    print()
    print("searchd's success@10 over its success@10 on the same sample's exact queries:")
    print()
    for lang, kind in cols:
        if kind not in ("typo", "layout"):
            continue
        parts = []
        for s, name in zip(samples, names):
            v, base = cell("searchd", s, lang, kind, 1), cell("searchd", s, lang, "exact", 1)
            if v is not None and base:
                parts.append("%s %.2f" % (name, v / base))
        print("- %s %s: %s" % (lang, kind, ", ".join(parts)))


if __name__ == "__main__":
    main()
