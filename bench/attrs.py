#!/usr/bin/env python3
"""The attribute workload of the benchmark (issue 11): every document's attributes, and the
filtered, sorted, faceted and browsing queries that every engine runs alike.

usage: attrs.py CORPUS.jsonl PUBLIC_QUERIES_DIR OUT_DIR [--src corpus-large.jsonl]

Writes OUT_DIR/attrs.tsv and OUT_DIR/queries/<category>.tsv (made again only when the corpus
or the query sets are newer than them).

attrs.tsv: docid \t lang \t source \t year \t length, docid = 1-based corpus line (the peers'
docs.tsv id), recomputed from the corpus as issue 11 says:
  lang    the corpus's "lang";
  source  the id before ':' (corpus-large: man-en, debdesc-ru, ...). scale.py's documents
          have ids "xl-N" with no ':', which would make every document its own source; their
          title is a real corpus-large title, so their source is that of the first
          corpus-large document with that title (--src; "xl" when none has it). The seed
          articles (no ':' either) are their own source ("seed-000");
  year    1990 + (XXH64(id bytes, seed 0) mod 35): 1990..2024, uniform;
  length  bytes of the body (UTF-8).

A workload line is: q \t filter \t sort \t facets, in a neutral syntax each driver translates:
  q       a public query as is ('a b' AND, 'a OR b', '"a b"'), or empty: browsing;
  filter  one clause: lang=en | year=2000..2010 (inclusive) | source=NAME, or empty;
  sort    year:desc (relevance breaks ties), or empty: by relevance;
  facets  source,year: the top 10 sources by count, and the count of every year value.
Categories (file names): lang.<set>, year.<set>, source.<set> (every public set with that
filter; source cycles over the ten largest sources of the set's language, query i getting
source i mod 10, so that a Russian query is not always filtered to an English source),
sort.<set> (sorted by year desc), facet.en-1term and facet.ru-1term (hits top 10 by relevance
plus both facets), browse (filter only, sorted by year desc: each lang, five year ranges, each
of the ten largest sources).
"""
import argparse, json, os, struct, sys

P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P4, P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
M64 = (1 << 64) - 1
YEAR_MIN, YEARS = 1990, 35
TOP_SOURCES = 10
BROWSE_YEARS = ("2000..2010", "1990..1994", "2020..2024", "2005..2005", "1995..2019")


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    return (_rotl((acc + lane * P2) & M64, 31) * P1) & M64


def _merge(acc, v):
    return ((acc ^ _round(0, v)) * P1 + P4) & M64


def xxh64(data, seed=0):
    """XXH64 of bytes (the reference algorithm; xxh64(b"abc") == 0x44BC2CF5AD770999)."""
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = _merge(h, v[k])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h = ((_rotl(h ^ _round(0, struct.unpack_from("<Q", data, i)[0]), 27) * P1) + P4) & M64
        i += 8
    if i + 4 <= n:
        h = ((_rotl(h ^ (struct.unpack_from("<I", data, i)[0] * P1 & M64), 23) * P2) + P3) & M64
        i += 4
    while i < n:
        h = (_rotl(h ^ (data[i] * P5 & M64), 11) * P1) & M64
        i += 1
    h = ((h ^ (h >> 33)) * P2) & M64
    h = ((h ^ (h >> 29)) * P3) & M64
    return h ^ (h >> 32)


def year_of(docid):
    return YEAR_MIN + xxh64(docid.encode("utf-8")) % YEARS


def _title_sources(src):
    """title -> source of the first corpus-large document with that title."""
    out = {}
    with open(src, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if ":" in d["id"]:
                out.setdefault(d["title"], d["id"].split(":", 1)[0])
    return out


def write_attrs(corpus, out_tsv, src=None):
    """attrs.tsv from the corpus; returns {(source, lang): docs}."""
    by_title = None
    counts = {}
    tmp = out_tsv + ".tmp"
    with open(corpus, encoding="utf-8") as f, open(tmp, "w", encoding="utf-8") as out:
        for i, line in enumerate(f, 1):
            d = json.loads(line)
            docid = d["id"]
            if ":" in docid:
                source = docid.split(":", 1)[0]
            elif docid.startswith("xl-"):
                if by_title is None:
                    by_title = _title_sources(src) if src else {}
                source = by_title.get(d["title"], "xl")
            else:
                source = docid
            key = (source, d.get("lang") or "")
            counts[key] = counts.get(key, 0) + 1
            out.write("%d\t%s\t%s\t%d\t%d\n" % (i, d.get("lang") or "", source, year_of(docid),
                                                len((d.get("body") or "").encode("utf-8"))))
    os.replace(tmp, out_tsv)
    return counts


def read_counts(attrs_tsv):
    counts = {}
    with open(attrs_tsv, encoding="utf-8") as f:
        for line in f:
            _, lang, source = line.split("\t")[:3]
            counts[(source, lang)] = counts.get((source, lang), 0) + 1
    return counts


def top_sources(counts, lang=None):
    """The TOP_SOURCES largest sources (by documents; with lang, by documents in that lang)."""
    by = {}
    for (s, l), n in counts.items():
        if lang is None or l == lang:
            by[s] = by.get(s, 0) + n
    return [s for s, _ in sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]]


def set_lang(name):
    """The language of a public query set ("ru-2and", "phrase-en"), None for mixed-lang."""
    for lang in ("ru", "en"):
        if name.startswith(lang + "-") or name.endswith("-" + lang):
            return lang
    return None


def public_sets(qdir):
    out = []
    for name in sorted(os.listdir(qdir)):
        if name.endswith(".txt"):
            with open(os.path.join(qdir, name), encoding="utf-8") as f:
                out.append((name[:-4], [l.rstrip("\n") for l in f if l.strip()]))
    return out


def write_queries(qdir, out_dir, counts):
    os.makedirs(out_dir, exist_ok=True)
    cats = {}
    sets = public_sets(qdir)
    for name, qs in sets:
        sources = top_sources(counts, set_lang(name))
        cats["lang." + name] = [(q, "lang=en", "", "") for q in qs]
        cats["year." + name] = [(q, "year=2000..2010", "", "") for q in qs]
        cats["source." + name] = [(q, "source=" + sources[i % len(sources)], "", "") for i, q in enumerate(qs)]
        cats["sort." + name] = [(q, "", "year:desc", "") for q in qs]
        if name.endswith("-1term"):
            cats["facet." + name] = [(q, "", "", "source,year") for q in qs]
    sources = top_sources(counts)
    browse = ["lang=en", "lang=ru"] + ["year=" + y for y in BROWSE_YEARS] + ["source=" + s for s in sources]
    cats["browse"] = [("", f, "year:desc", "") for f in browse]
    for f in os.listdir(out_dir):
        if f.endswith(".tsv"):
            os.remove(os.path.join(out_dir, f))
    for cat, lines in cats.items():
        with open(os.path.join(out_dir, cat + ".tsv"), "w", encoding="utf-8") as f:
            for line in lines:
                f.write("\t".join(line) + "\n")
    return sorted(cats)


def read_workload(qdir):
    """[(category, [(q, filter, sort, facets)])], categories sorted by name."""
    out = []
    for name in sorted(os.listdir(qdir)):
        if name.endswith(".tsv"):
            with open(os.path.join(qdir, name), encoding="utf-8") as f:
                out.append((name[:-4], [tuple(l.rstrip("\n").split("\t")) for l in f if l.strip("\n")]))
    return out


def prepare(corpus, public_qdir, out_dir, src=None):
    """attrs.tsv and the workload under out_dir, remade when older than their inputs."""
    os.makedirs(out_dir, exist_ok=True)
    attrs = os.path.join(out_dir, "attrs.tsv")
    qout = os.path.join(out_dir, "queries")
    newest = max(os.path.getmtime(corpus), max(os.path.getmtime(os.path.join(public_qdir, f))
                                              for f in os.listdir(public_qdir)))
    if not os.path.exists(attrs) or os.path.getmtime(attrs) < newest:
        counts = write_attrs(corpus, attrs, src)
    else:
        counts = read_counts(attrs)
    stamp = os.path.join(qout, ".made")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(attrs):
        write_queries(public_qdir, qout, counts)
        open(stamp, "w").close()
    return attrs, qout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("public_queries")
    ap.add_argument("out_dir")
    ap.add_argument("--src", help="corpus-large.jsonl: sources of scale.py's documents")
    a = ap.parse_args()
    assert xxh64(b"") == 0xEF46DB3751D8E999 and xxh64(b"abc") == 0x44BC2CF5AD770999
    attrs, qout = prepare(a.corpus, a.public_queries, a.out_dir, a.src)
    counts = read_counts(attrs)
    print("attrs.py: %s (%d docs, %d sources; largest %s), workload %s" % (
        attrs, sum(counts.values()), len({s for s, _ in counts}), ", ".join(top_sources(counts)), qout),
        file=sys.stderr)


if __name__ == "__main__":
    main()
