#!/usr/bin/python3
"""noisy_items.py: known-item queries with one word too many, for the fewer-words reading.

usage: bench/noisy_items.py CORPUS.jsonl OUT_DIR [--sets DIR] [--seed 7] [--xapian]

For each query of the public exact known-item sets (../shared/bench/relevance/public,
known-{en,ru}-exact: two words of their one target document), one word of 5+ letters of a
random other document, in the query's script and not in the target, is added at the end
(known-*-noiseend) and in front (known-*-noisefront); the targets stay. No document then
holds every word as a rule, so a search box that ANDs its words finds nothing, and one that
leaves words out (docs/QUERY.md "Most words") finds the target when it leaves out the added
one. And a wordier kind (known-*-wordy2, known-*-wordy3): 2 or 3 words the target does not
have, each a random word occurrence of a random document in the query's script (so mostly
common words, as the extra words of a question typed into a box are), put in at random
places: leaving out the fewest words then mostly leaves out one of the target's own.
Score a hits file of engine-bench with ../shared/bench/relevance/mrr.py CORPUS OUT_DIR.
With --xapian it also searches the sets with Xapian in process (python3-xapian; indexed as
bench/as_you_type.py indexes it: STEM_SOME, title wdf x2, BM25 1.2/0.75), the words ANDed and
ORed (OR is what Xapian's, Lucene's and Elasticsearch's query parsers do by default: any word,
ranked by BM25), and prints success@10 and MRR@10 of each.
"""
import argparse, json, os, random, re, sys

WORD = re.compile(r"[^\W\d_]+")
HERE = os.path.dirname(os.path.abspath(__file__))


def with_common_words(words, own, m, texts, script, rng):
    """words with m others put in at random places: each a random word occurrence of a random
    text, in the script, not in own (the target's words) and not already there."""
    words = list(words)
    added = 0
    while added < m:
        toks = WORD.findall(texts[rng.randrange(len(texts))])
        w = rng.choice(toks) if toks else ""
        if len(w) >= 2 and re.match(script, w) and w not in own and w not in words:
            words.insert(rng.randrange(len(words) + 1), w)
            added += 1
    return words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--sets", default=os.path.join(HERE, "..", "..", "shared", "bench",
                                                   "relevance", "public"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--xapian", action="store_true", help="also score Xapian, AND and OR")
    a = ap.parse_args()
    texts, line_of = [], {}
    with open(a.corpus, encoding="utf-8") as f:
        for i, l in enumerate(f):
            d = json.loads(l)
            line_of[d["id"]] = i
            texts.append(((d.get("title") or "") + " " + (d.get("body") or "")).lower())
    rng = random.Random(a.seed)
    wordy_rng = random.Random(a.seed + 1)  # its own draws: the noise sets stay as they were
    os.makedirs(a.out, exist_ok=True)
    for lang, script in (("en", "[a-z]"), ("ru", "[а-я]")):
        base = os.path.join(a.sets, "known-%s-exact" % lang)
        qs = open(base + ".txt", encoding="utf-8").read().splitlines()
        ts = open(base + ".targets", encoding="utf-8").read().splitlines()
        end, front, wordy = [], [], {2: [], 3: []}
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
            for m, rows in wordy.items():
                rows.append(" ".join(with_common_words(q.split(), own, m, texts, script, wordy_rng)))
        for name, rows in (("noiseend", end), ("noisefront", front), ("wordy2", wordy[2]),
                           ("wordy3", wordy[3])):
            path = os.path.join(a.out, "known-%s-%s" % (lang, name))
            with open(path + ".txt", "w", encoding="utf-8") as f:
                f.write("\n".join(rows) + "\n")
            with open(path + ".targets", "w", encoding="utf-8") as f:
                f.write("\n".join(ts) + "\n")


def score_xapian(corpus, out):
    """success@10 and MRR@10 of Xapian, AND and OR, on the sets in out."""
    sys.path.insert(0, HERE)
    import as_you_type
    xapian = as_you_type.import_xapian()
    docs = as_you_type.load_corpus(corpus)
    as_you_type.xapian_engine(out, docs)  # builds OUT/xapian
    db = xapian.Database(os.path.join(out, "xapian"))
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BM25Weight(1.2, 0, 1, 0.75, 0.5))
    for lang, stem in (("en", "english"), ("ru", "russian")):
        for name in ("noiseend", "noisefront", "wordy2", "wordy3"):
            path = os.path.join(out, "known-%s-%s" % (lang, name))
            qs = open(path + ".txt", encoding="utf-8").read().splitlines()
            ts = open(path + ".targets", encoding="utf-8").read().splitlines()
            cells = []
            for op_name, op in (("AND", xapian.Query.OP_AND), ("OR", xapian.Query.OP_OR)):
                qp = xapian.QueryParser()
                qp.set_database(db)
                qp.set_stemmer(xapian.Stem(stem))
                qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
                qp.set_default_op(op)
                s10 = mrr = 0.0
                for q, t in zip(qs, ts):
                    enquire.set_query(qp.parse_query(q))
                    hits = [m.document.get_data().decode() for m in enquire.get_mset(0, 10)]
                    if t in hits:
                        s10 += 1
                        mrr += 1 / (hits.index(t) + 1)
                cells.append("%s %.2f / %.3f" % (op_name, s10 / len(qs), mrr / len(qs)))
            print("xapian known-%s-%s: %s" % (lang, name, ", ".join(cells)))


if __name__ == "__main__":
    main()
    if "--xapian" in sys.argv:
        score_xapian(sys.argv[1], sys.argv[2])
