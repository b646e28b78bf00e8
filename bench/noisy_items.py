#!/usr/bin/python3
"""noisy_items.py: known-item queries with one word too many, for the fewer-words reading.

usage: bench/noisy_items.py CORPUS.jsonl OUT_DIR [--sets DIR] [--seed 7]

For each query of the public exact known-item sets (../shared/bench/relevance/public,
known-{en,ru}-exact: two words of their one target document), one word of 5+ letters of a
random other document, in the query's script and not in the target, is added at the end
(known-*-noiseend) and in front (known-*-noisefront); the targets stay. No document then
holds every word as a rule, so a search box that ANDs its words finds nothing, and one that
leaves words out (docs/QUERY.md "Fewer words") finds the target when it leaves out the added
one. Score a hits file of engine-bench with ../shared/bench/relevance/mrr.py CORPUS OUT_DIR.
"""
import argparse, json, os, random, re

WORD = re.compile(r"[^\W\d_]+")
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--sets", default=os.path.join(HERE, "..", "..", "shared", "bench",
                                                   "relevance", "public"))
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    texts, line_of = [], {}
    with open(a.corpus, encoding="utf-8") as f:
        for i, l in enumerate(f):
            d = json.loads(l)
            line_of[d["id"]] = i
            texts.append(((d.get("title") or "") + " " + (d.get("body") or "")).lower())
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    for lang, script in (("en", "[a-z]"), ("ru", "[а-я]")):
        base = os.path.join(a.sets, "known-%s-exact" % lang)
        qs = open(base + ".txt", encoding="utf-8").read().splitlines()
        ts = open(base + ".targets", encoding="utf-8").read().splitlines()
        end, front = [], []
        for q, t in zip(qs, ts):
            own = set(WORD.findall(texts[line_of[t]]))
            while True:
                other = texts[rng.randrange(len(texts))]
                words = sorted(w for w in set(WORD.findall(other))
                               if len(w) >= 5 and w not in own and re.match(script, w))
                if words:
                    extra = rng.choice(words)
                    break
            end.append(q + " " + extra)
            front.append(extra + " " + q)
        for name, rows in (("noiseend", end), ("noisefront", front)):
            path = os.path.join(a.out, "known-%s-%s" % (lang, name))
            with open(path + ".txt", "w", encoding="utf-8") as f:
                f.write("\n".join(rows) + "\n")
            with open(path + ".targets", "w", encoding="utf-8") as f:
                f.write("\n".join(ts) + "\n")


if __name__ == "__main__":
    main()
