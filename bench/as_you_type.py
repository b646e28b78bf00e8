#!/usr/bin/python3
"""as_you_type.py: searching while the query is typed (prefix_last), against the peers that can.

usage: bench/as_you_type.py CORPUS.jsonl WORK_DIR [--searchd BIN] [--sets DIR] [--rounds 3]
                            [--engines searchd,searchd-plain,fts5,xapian] [--whole]
                            [--kind exact|typo]

A search box that searches on every keystroke sends a last word that is not whole yet. This
replays that for the public known-item queries (../shared/bench/relevance/public, the exact
sets, ru and en: two words that their one target document holds): every keystroke state whose
last word has 2+ characters ("менеджер ко", "менеджер код", ..., "менеджер кодеков"), and the
states of the first word alone ("ме", ..., "менеджер"). With --kind typo it replays the typo
sets instead (the same queries with one word misspelt, which the box sees from the keystroke
that makes the typo on). Each state is searched, top 10, by:
  searchd        the daemon (BIN, default build-release/daemon/searchd, else build/), started on
                 WORK_DIR/searchd with the corpus added: simple syntax, "prefix_last":true, no
                 snippet, over the line protocol; time = the server's took_ms. A state that
                 finds nothing leaves words out (drop_words, the simple syntax's default;
                 --no-drop-words keeps them)
  searchd-plain  the same without prefix_last: what a box got before it (a half word is a word)
  fts5           SQLite FTS5 in process (Python's sqlite3): unicode61 remove_diacritics 2, prefix
                 indexes of 2 and 3 characters, bm25 with the title x2; the words ANDed, the last
                 as a prefix ("менеджер" AND "ко"*)
  xapian         Xapian in process (python3-xapian): TermGenerator STEM_SOME with the document's
                 language's stemmer, title wdf x2, BM25(k1 1.2, b 0.75); QueryParser with the
                 query script's stemmer, default AND, FLAG_PARTIAL (the last word as itself or
                 as the prefix of others, Xapian's search-as-you-type)
Reported per engine:
  p50, p95   time per keystroke state (ms), over all states and rounds
  found      share of keystroke states of two-word queries whose top 10 holds the target
  typed      mean share of the last word's characters typed when the target enters the top 10
             and stays there to the end (1.0 when only the whole word finds it, or never)
  whole      share of queries whose target is in the top 10 once the query is whole
Run it with Debian's python3 (/usr/bin/python3), whose python3-xapian the script installs with
apt when it is missing and it runs as root. With --whole it also prints, for searchd, MRR@10
of the whole queries of every exact, inflected, typo and layout set with and without
prefix_last: a finished query in the page has no space after its last word, and should rank
as it does with one. The in-process peers' times include Python's call overhead (a few microseconds); searchd's do
not include the protocol (took_ms is measured inside the daemon). Numbers compare within one
run on one machine only.
"""
import argparse, json, os, shutil, sqlite3, statistics, subprocess, sys, time

import benchd  # bench/benchd.py: the daemon, the client, pct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_corpus(path):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs.append((d["id"], d.get("lang") or "", d.get("title") or "", d.get("body") or ""))
    return docs


def load_sets(sets_dir, kind):
    queries = []  # (lang, text, target id)
    for lang in ("ru", "en"):
        base = os.path.join(sets_dir, "known-%s-%s" % (lang, kind))
        with open(base + ".txt", encoding="utf-8") as q, open(base + ".targets") as t:
            for text, target in zip(q, t):
                queries.append((lang, text.strip(), target.strip()))
    return queries


def keystrokes(text):
    """The states of text being typed whose last word has 2+ characters: (state, is_second_word,
    characters of the last word typed, its whole length)."""
    words = text.split()
    out = []
    for wi, word in enumerate(words):
        head = " ".join(words[:wi])
        for n in range(2, len(word) + 1):
            out.append(((head + " " if head else "") + word[:n], wi > 0, n, len(word)))
    return out


# ---- searchd ----

def start_searchd(binary, work, docs):
    """searchd on WORK/searchd (emptied first) with the corpus added; the daemon and a client."""
    data = os.path.join(work, "searchd")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    daemon = benchd.start(binary, data_dir=data)
    conn = benchd.connect(daemon)
    for i in range(0, len(docs), 1000):
        conn.add([{"id": d[0], "title": d[2], "body": d[3]} for d in docs[i:i + 1000]])
    deadline = time.time() + 120
    while conn.stats().get("docs", len(docs)) < len(docs) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # searchable within 100 ms of the acknowledgement; a margin for a busy host
    return daemon, conn


def searchd_engine(conn, prefix_last, drop_words=True):
    def run(lang, state):
        opts = {"syntax": "simple", "limit": 10, "snippet": False, "drop_words": drop_words}
        if prefix_last:
            opts["prefix_last"] = True
        a = conn.search(state, **opts)
        return [h["id"] for h in a["hits"]], a["took_ms"]
    return run


# ---- fts5 ----

def fts5_engine(work, docs):
    path = os.path.join(work, "fts5.db")
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, content='', "
               "tokenize='unicode61 remove_diacritics 2', prefix='2 3')")
    db.execute("BEGIN")
    db.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                   ((i, d[2], d[3]) for i, d in enumerate(docs)))
    db.execute("COMMIT")
    db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    ids = [d[0] for d in docs]
    sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 2.0, 1.0) LIMIT 10"

    def run(lang, state):
        words = ['"%s"' % w.replace('"', '""') for w in state.split()]
        words[-1] += "*"
        t = time.perf_counter()
        rows = db.execute(sql, (" AND ".join(words),)).fetchall()
        ms = (time.perf_counter() - t) * 1000
        return [ids[r[0]] for r in rows], ms
    return run


# ---- xapian ----

def import_xapian():
    try:
        import xapian
    except ImportError:
        if os.geteuid() != 0:
            sys.exit("as_you_type.py: python3-xapian is missing (apt-get install python3-xapian)")
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3-xapian"], check=True,
                       stdout=subprocess.DEVNULL)
        import xapian
    return xapian


def xapian_engine(work, docs):
    xapian = import_xapian()
    path = os.path.join(work, "xapian")
    subprocess.run(["rm", "-rf", path], check=True)
    db = xapian.WritableDatabase(path, xapian.DB_CREATE_OR_OVERWRITE)
    stemmers = {"ru": xapian.Stem("russian"), "en": xapian.Stem("english")}
    tg = xapian.TermGenerator()
    tg.set_stemming_strategy(xapian.TermGenerator.STEM_SOME)
    for d in docs:
        doc = xapian.Document()
        tg.set_document(doc)
        tg.set_stemmer(stemmers.get(d[1], xapian.Stem("none")))
        tg.index_text(d[2], 2)
        tg.increase_termpos()
        tg.index_text(d[3])
        doc.set_data(d[0])
        db.add_document(doc)
    db.commit()
    rdb = xapian.Database(path)
    parsers = {}
    for lang in ("ru", "en"):
        qp = xapian.QueryParser()
        qp.set_database(rdb)
        qp.set_stemmer(stemmers[lang])
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
        qp.set_default_op(xapian.Query.OP_AND)
        parsers[lang] = qp
    enquire = xapian.Enquire(rdb)
    enquire.set_weighting_scheme(xapian.BM25Weight(1.2, 0, 1, 0.75, 0.5))
    flags = xapian.QueryParser.FLAG_DEFAULT | xapian.QueryParser.FLAG_PARTIAL

    def run(lang, state):
        t = time.perf_counter()
        enquire.set_query(parsers[lang].parse_query(state, flags))
        hits = [m.document.get_data().decode() for m in enquire.get_mset(0, 10)]
        ms = (time.perf_counter() - t) * 1000
        return hits, ms
    return run


def measure(name, run, queries, rounds):
    times, found, typed, whole, states2 = [], 0, [], 0, 0
    for r in range(rounds):
        for lang, text, target in queries:
            states = keystrokes(text)
            first_in = None  # characters of the last word from which the target stays found
            for state, is_second, n, length in states:
                hits, ms = run(lang, state)
                times.append(ms)
                if r or not is_second:
                    continue
                states2 += 1
                is_found = target in hits
                found += is_found
                if is_found and first_in is None:
                    first_in = n
                elif not is_found:
                    first_in = None
            if r == 0 and len(text.split()) > 1:
                last = len(text.split()[-1])
                typed.append((first_in if first_in is not None else last) / last)
                whole += first_in is not None
    nq = len(typed)
    return {"engine": name, "p50": statistics.median(times), "p95": benchd.pct(times, 95),
            "states": len(times) // rounds, "found": found / max(states2, 1),
            "typed": sum(typed) / max(nq, 1), "whole": whole / max(nq, 1)}


def whole_mrr(conn, sets_dir):
    """MRR@10 of each set's whole queries, without and with prefix_last."""
    rows = []
    for lang in ("ru", "en"):
        for kind in ("exact", "infl", "typo", "layout"):
            base = os.path.join(sets_dir, "known-%s-%s" % (lang, kind))
            with open(base + ".txt", encoding="utf-8") as q, open(base + ".targets") as t:
                pairs = [(a.strip(), b.strip()) for a, b in zip(q, t) if a.strip()]
            mrr = []
            for prefix_last in (False, True):
                run = searchd_engine(conn, prefix_last)
                total = 0.0
                for text, target in pairs:
                    hits, _ = run(lang, text)
                    total += 1.0 / (hits.index(target) + 1) if target in hits else 0.0
                mrr.append(total / len(pairs))
            rows.append((lang, kind, mrr[0], mrr[1]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("work")
    ap.add_argument("--searchd")
    ap.add_argument("--sets", default=os.path.join(ROOT, "..", "shared", "bench", "relevance",
                                                   "public"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engines", default="searchd,searchd-plain,fts5,xapian")
    ap.add_argument("--whole", action="store_true")
    ap.add_argument("--kind", default="exact", choices=("exact", "typo"))
    ap.add_argument("--no-drop-words", action="store_true",
                    help="searchd keeps every word of a state that finds nothing")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    binary = a.searchd
    if not binary:
        for b in ("build-release", "build"):
            binary = os.path.join(ROOT, b, "daemon", "searchd")
            if os.path.exists(binary):
                break
    docs = load_corpus(a.corpus)
    queries = load_sets(a.sets, a.kind)
    engines = a.engines.split(",")
    runs, daemon, whole = {}, None, []
    try:
        if any(e.startswith("searchd") for e in engines):
            daemon, conn = start_searchd(binary, a.work, docs)
            runs["searchd"] = searchd_engine(conn, True, not a.no_drop_words)
            runs["searchd-plain"] = searchd_engine(conn, False, not a.no_drop_words)
        if "fts5" in engines:
            runs["fts5"] = fts5_engine(a.work, docs)
        if "xapian" in engines:
            runs["xapian"] = xapian_engine(a.work, docs)
        results = [measure(e, runs[e], queries, a.rounds) for e in engines]
        if a.whole and daemon:
            whole = whole_mrr(conn, a.sets)
    finally:
        if daemon:
            daemon.stop()
    print("| engine | p50 ms | p95 ms | found (top 10, while typing) | typed (share of the last "
          "word) | whole |")
    print("|---|--:|--:|--:|--:|--:|")
    for r in results:
        print("| %s | %.3f | %.3f | %.3f | %.3f | %.3f |" % (r["engine"], r["p50"], r["p95"],
                                                          r["found"], r["typed"], r["whole"]))
    print("(%d queries, %d keystroke states each round, %d rounds)" %
          (len(queries), results[0]["states"], a.rounds))
    if whole:
        print()
        print("| set | MRR@10 whole, searchd | with prefix_last |")
        print("|---|--:|--:|")
        for lang, kind, plain, typing in whole:
            print("| %s-%s | %.3f | %.3f |" % (lang, kind, plain, typing))


if __name__ == "__main__":
    main()
