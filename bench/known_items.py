#!/usr/bin/env python3
"""Held-out known-item sets of the public sets' kinds (exact and inflected, ru and en), so that
relevance is measured on more queries than the public ones.

How the public sets are made is not published; this generator is fitted to what they measure
on corpus-large (bench/RESULTS.md "Issue 12: held-out sets that look like the public ones"):
  - the target is a random document of the language whose body has 400 characters or more;
  - its two words are words of the document of 5+ letters that occur at most 300 times in the
    corpus (cf, occurrences, not documents), whose stem has another form somewhere in the
    corpus that the document does not use; they are drawn with weight tf x ln(N / cf)^2 (tf in
    the document, N documents), with two different stems. Of the variants measured (df in
    place of cf, sqrt(tf), no tf, idf^1..3) this one comes closest to the public sets in the
    words' frequencies and in how often the inflected forms stand together in other documents;
  - the inflected query replaces each word with one of those other forms, drawn uniformly.
Words are runs of letters, lower-cased, ё folded to е; stems are Snowball's (python3-snowballstemmer).
It writes OUT_DIR/<prefix>-{ru,en}-{exact,infl}.txt and .targets (document ids, same line), 200
queries each by default; ../shared/bench/relevance/make_variants.py makes the typo and layout
columns from the exact ones when the prefix is "known".
usage: known_items.py CORPUS.jsonl OUT_DIR [--seed N] [--count 200] [--prefix known]
"""
import argparse, collections, json, math, os, random, re

import snowballstemmer

WORD = re.compile(r"[^\W\d_]+", re.U)
MIN_BODY_CHARS = 400
MIN_WORD_LETTERS = 5
MAX_CF = 300


def words_of(text):
    return [w.lower().replace("ё", "е") for w in WORD.findall(text or "")]


def script(word):
    if re.match(r"[а-я]", word):
        return "ru"
    return "en" if re.match(r"[a-z]", word) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus"); ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=41); ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--prefix", default="known")
    a = ap.parse_args()
    stemmers = {"en": snowballstemmer.stemmer("english"), "ru": snowballstemmer.stemmer("russian")}
    stem_memo = {}

    def stem(lang, word):
        key = (lang, word)
        if key not in stem_memo:
            stem_memo[key] = stemmers[lang].stemWord(word)
        return stem_memo[key]

    docs, cf = [], collections.Counter()
    with open(a.corpus, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            tf = collections.Counter(words_of(d.get("title")) + words_of(d.get("body")))
            docs.append((d["id"], d.get("lang"), tf, len(d.get("body") or "")))
            cf.update(tf)
    forms = collections.defaultdict(set)  # (lang, stem) -> the corpus's forms of it
    for w in cf:
        lang = script(w)
        if lang:
            forms[(lang, stem(lang, w))].add(w)

    rng = random.Random(a.seed)
    order = list(range(len(docs)))
    rng.shuffle(order)
    sets = {(lang, kind): [] for lang in ("en", "ru") for kind in ("exact", "infl")}
    for i in order:
        doc_id, lang, tf, body_chars = docs[i]
        if lang not in stemmers or body_chars < MIN_BODY_CHARS or len(sets[(lang, "exact")]) >= a.count:
            continue
        cand = []  # (word, the stem's other forms, weight)
        for w in sorted(tf):
            if script(w) != lang or len(w) < MIN_WORD_LETTERS or cf[w] > MAX_CF:
                continue
            others = sorted(f for f in forms[(lang, stem(lang, w))] if f not in tf)
            if others:
                cand.append((w, others, tf[w] * math.log(len(docs) / cf[w]) ** 2))
        picked = []
        while cand and len(picked) < 2:
            w, others, _ = cand.pop(rng.choices(range(len(cand)), [c[2] for c in cand])[0])
            if all(stem(lang, w) != stem(lang, p) for p, _ in picked):
                picked.append((w, others))
        if len(picked) < 2:
            continue
        sets[(lang, "exact")].append((" ".join(w for w, _ in picked), doc_id))
        sets[(lang, "infl")].append((" ".join(rng.choice(o) for _, o in picked), doc_id))

    os.makedirs(a.out_dir, exist_ok=True)
    for (lang, kind), queries in sets.items():
        name = os.path.join(a.out_dir, "%s-%s-%s" % (a.prefix, lang, kind))
        with open(name + ".txt", "w", encoding="utf-8") as f:
            f.write("".join(q + "\n" for q, _ in queries))
        with open(name + ".targets", "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for _, t in queries))


if __name__ == "__main__":
    main()
