#!/usr/bin/env python3
"""Mixed-layout variants of a known-item set: one word of each query typed with the other
keyboard layout on, the others right ("цифровая lbgkjvfnbz", "digital вшздщьфсн").

From KNOWN_DIR/<prefix>-{ru,en}-exact.txt (+ .targets) it writes OUT_DIR/<prefix>-{ru,en}-mixed.txt
(+ .targets, the same targets) for every query of two or more words: one word, picked with the
seed, rewritten key for key with the table of ../shared/bench/relevance/make_variants.py.
usage: mixed_layout.py KNOWN_DIR OUT_DIR [--prefix known] [--seed N]
"""
import argparse, os, random, sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench", "relevance"))
from make_variants import TO_EN, TO_RU  # noqa: E402  the layout table of the public sets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("known_dir"); ap.add_argument("out_dir")
    ap.add_argument("--prefix", default="known"); ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    for lang in ("ru", "en"):
        base = os.path.join(a.known_dir, "%s-%s-exact" % (a.prefix, lang))
        qs = open(base + ".txt", encoding="utf-8").read().splitlines()
        ts = open(base + ".targets", encoding="utf-8").read().splitlines()
        table = TO_EN if lang == "ru" else TO_RU
        out_q, out_t = [], []
        for q, t in zip(qs, ts):
            ws = q.split()
            if len(ws) < 2:
                continue
            k = rng.randrange(len(ws))
            ws[k] = "".join(table.get(c, c) for c in ws[k].lower())
            out_q.append(" ".join(ws))
            out_t.append(t)
        name = os.path.join(a.out_dir, "%s-%s-mixed" % (a.prefix, lang))
        with open(name + ".txt", "w", encoding="utf-8") as f:
            f.write("\n".join(out_q) + "\n")
        with open(name + ".targets", "w", encoding="utf-8") as f:
            f.write("\n".join(out_t) + "\n")
        print("%s-%s-mixed: %d queries" % (a.prefix, lang, len(out_q)))


if __name__ == "__main__":
    main()
