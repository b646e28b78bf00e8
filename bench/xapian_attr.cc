// xapian_attr.cc: the Xapian peer of the attribute workload (issue 11; bench/attrs.py says
// what the workload is). It is the shared peer ../shared/bench/peers/xapian/xapian_bench.cc
// (included below: the same stemmer, indexing of title and body, query parser, weighting and
// timing protocol) plus the attributes:
//
//   xapian-attr index DOCS.tsv ATTRS.tsv DBDIR   -> prints {"build_s":..,"docs":..}
//   xapian-attr search DBDIR WORKLOAD_DIR RUNS HITS.tsv  -> prints per-category JSON
//
// Attributes, as Xapian applications keep them: values in slots (lang 0, source 1, year 2,
// length 3; numbers sortable_serialise'd, so the string order of a slot is the numeric
// order) for sorting, ranges and counting, and boolean terms (XL<lang>, XS<source>, no wdf
// and no positions) for keyword filters. A filter is OP_FILTER over the parsed query (never
// scoring): a keyword filter its boolean term, year=LO..HI an OP_VALUE_RANGE on slot 2;
// browsing (no text) filters Query::MatchAll. sort=year:desc is
// Enquire::set_sort_by_value_then_relevance(2, reverse). Facets are ValueCountMatchSpy on
// slots 1 and 2 with check_at_least = the database size, so every match is counted (exact,
// as searchd's); other queries take get_mset(0, 10) like the plain bench. Counts for the hits
// file come from an untimed pass with check_at_least = the database size, which also gives
// the facet counts written there ("source=v:n,...;year=v:n,...", source top 10 by count).
#define main xapian_bench_main // the shared file's main is not ours; its helpers are
#include "xapian_bench.cc"
#undef main

#include <map>

namespace {

enum { SLOT_LANG = 0, SLOT_SOURCE = 1, SLOT_YEAR = 2, SLOT_LENGTH = 3 };
const unsigned FACET_TOP = 10;

std::vector<std::string> split_tab(const std::string &line) {
    std::vector<std::string> out;
    size_t p = 0;
    for (size_t t; (t = line.find('\t', p)) != std::string::npos; p = t + 1) out.push_back(line.substr(p, t - p));
    out.push_back(line.substr(p));
    return out;
}

int do_index_attr(const char *tsv, const char *attrs, const char *dbdir) {
    auto t0 = Clock::now();
    Xapian::WritableDatabase db(dbdir, Xapian::DB_CREATE_OR_OVERWRITE | Xapian::DB_BACKEND_GLASS);
    Xapian::TermGenerator tg;
    tg.set_stemmer(Xapian::Stem(new ScriptStem));
    tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    std::ifstream in(tsv), ain(attrs);
    if (!in || !ain) {
        std::cerr << "cannot open " << tsv << " or " << attrs << "\n";
        return 1;
    }
    std::string line, aline;
    unsigned long n = 0;
    while (std::getline(in, line)) {
        size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
        if (a == std::string::npos || b == std::string::npos || c == std::string::npos) continue;
        std::vector<std::string> at;
        if (!std::getline(ain, aline) || (at = split_tab(aline)).size() != 5 || at[0] != line.substr(0, a)) {
            std::cerr << "attrs.tsv does not match docs.tsv at doc " << line.substr(0, a) << "\n";
            return 1;
        }
        Xapian::docid id = std::stoul(line.substr(0, a));
        Xapian::Document doc;
        tg.set_document(doc);
        tg.index_text(line.substr(b + 1, c - b - 1), 2);
        tg.increase_termpos(100);
        tg.index_text(line.substr(c + 1));
        doc.add_boolean_term("XL" + at[1]);
        doc.add_boolean_term("XS" + at[2]);
        doc.add_value(SLOT_LANG, at[1]);
        doc.add_value(SLOT_SOURCE, at[2]);
        doc.add_value(SLOT_YEAR, Xapian::sortable_serialise(std::stod(at[3])));
        doc.add_value(SLOT_LENGTH, Xapian::sortable_serialise(std::stod(at[4])));
        if (id == db.get_lastdocid() + 1)
            db.add_document(doc);
        else
            db.replace_document(id, doc);
        ++n;
    }
    db.commit();
    db.close();
    printf("{\"build_s\": %.3f, \"docs\": %lu}\n", secs(t0, Clock::now()), n);
    return 0;
}

// One workload line, translated once (parsing q is timed, as in the plain bench).
struct Work {
    std::string q, spec;
    Xapian::Query filter;
    bool has_filter = false, by_year = false, facets = false;
};

Xapian::Query filter_query(const std::string &f) {
    size_t eq = f.find('=');
    std::string key = f.substr(0, eq), val = f.substr(eq + 1);
    if (key == "lang") return Xapian::Query("XL" + val);
    if (key == "source") return Xapian::Query("XS" + val);
    size_t dots = val.find("..");
    return Xapian::Query(Xapian::Query::OP_VALUE_RANGE, SLOT_YEAR,
                         Xapian::sortable_serialise(std::stod(val.substr(0, dots))),
                         Xapian::sortable_serialise(std::stod(val.substr(dots + 2))));
}

std::vector<Work> read_work(const std::string &path) {
    std::vector<Work> out;
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) {
        if (l.empty()) continue;
        std::vector<std::string> f = split_tab(l);
        f.resize(4);
        Work w;
        w.q = f[0];
        w.spec = f[0] + " | " + f[1] + " | " + f[2] + " | " + f[3];
        if (!f[1].empty()) {
            w.filter = filter_query(f[1]);
            w.has_filter = true;
        }
        w.by_year = f[2] == "year:desc";
        w.facets = !f[3].empty();
        out.push_back(w);
    }
    return out;
}

struct Searcher {
    Xapian::Database db;
    Xapian::QueryParser qp;
    Xapian::Enquire enq;
    double sink = 0;

    explicit Searcher(const char *dbdir) : db(dbdir), enq(db) {
        qp.set_database(db);
        qp.set_stemmer(Xapian::Stem(new ScriptStem));
        qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
        qp.set_default_op(Xapian::Query::OP_AND);
        enq.set_weighting_scheme(Xapian::BM25Weight(1.2, 0, 1, 0.75, 0.5));
    }

    // Runs w; with counts, the match set is counted exactly and the facets go to *facets.
    Xapian::MSet run(const Work &w, bool exact, std::string *facets) {
        Xapian::Query q = w.q.empty() ? Xapian::Query::MatchAll
                                      : qp.parse_query(w.q, Xapian::QueryParser::FLAG_DEFAULT);
        if (w.has_filter) q = Xapian::Query(Xapian::Query::OP_FILTER, q, w.filter);
        enq.set_query(q);
        if (w.by_year)
            enq.set_sort_by_value_then_relevance(SLOT_YEAR, true);
        else
            enq.set_sort_by_relevance();
        enq.clear_matchspies();
        Xapian::ValueCountMatchSpy src(SLOT_SOURCE), year(SLOT_YEAR);
        if (w.facets) {
            enq.add_matchspy(&src);
            enq.add_matchspy(&year);
        }
        Xapian::MSet m = enq.get_mset(0, 10, exact || w.facets ? db.get_doccount() : 0);
        for (auto it = m.begin(); it != m.end(); ++it) sink += *it + it.get_weight();
        if (w.facets) {
            unsigned k = 0;
            std::string out = "source=";
            for (auto it = src.top_values_begin(FACET_TOP); it != src.top_values_end(FACET_TOP); ++it, ++k) {
                out += (k ? "," : "") + *it + ":" + std::to_string(it.get_termfreq());
                sink += it.get_termfreq();
            }
            out += ";year=";
            k = 0;
            for (auto it = year.values_begin(); it != year.values_end(); ++it, ++k) {
                out += (k ? "," : "") + std::to_string((long)Xapian::sortable_unserialise(*it)) + ":" +
                       std::to_string(it.get_termfreq());
                sink += it.get_termfreq();
            }
            if (facets) *facets = out;
        }
        enq.clear_matchspies();
        return m;
    }
};

int do_search_attr(const char *dbdir, const std::string &qdir, int runs, const char *hitsfile) {
    Searcher s(dbdir);
    std::vector<std::string> cats;
    if (DIR *d = opendir(qdir.c_str())) {
        while (dirent *e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tsv") == 0) cats.push_back(n.substr(0, n.size() - 4));
        }
        closedir(d);
    }
    std::sort(cats.begin(), cats.end());
    FILE *hf = fopen(hitsfile, "w");
    printf("{");
    bool first = true;
    for (const auto &cat : cats) {
        std::vector<Work> ws = read_work(qdir + "/" + cat + ".tsv");
        if (ws.empty()) continue;
        for (auto &w : ws) s.run(w, false, nullptr);  // warm-up
        std::vector<double> qps, p50, p99;
        for (int r = 0; r < runs; r++) {
            std::vector<double> lat;
            auto p0 = Clock::now();
            for (auto &w : ws) {
                auto t0 = Clock::now();
                s.run(w, false, nullptr);
                lat.push_back(secs(t0, Clock::now()) * 1000);
            }
            qps.push_back(ws.size() / secs(p0, Clock::now()));
            p50.push_back(pct(lat, 0.50));
            p99.push_back(pct(lat, 0.99));
        }
        unsigned long long hits = 0, zero = 0;
        for (auto &w : ws) {
            std::string facets;
            Xapian::MSet m = s.run(w, true, &facets);
            unsigned long long c = m.get_matches_estimated();
            hits += c;
            zero += c == 0;
            if (hf) {
                fprintf(hf, "%s\t%s\t%llu\t", cat.c_str(), w.spec.c_str(), c);
                bool f1 = true;
                for (auto it = m.begin(); it != m.end(); ++it) {
                    fprintf(hf, f1 ? "%u" : ",%u", *it);
                    f1 = false;
                }
                fprintf(hf, w.facets ? "\t%s\n" : "%s\n", facets.c_str());
            }
        }
        printf("%s\n \"%s\": {\"queries\": %zu, \"qps\": %.1f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, "
               "\"hits\": %llu, \"zero_hit\": %llu}",
               first ? "" : ",", cat.c_str(), ws.size(), median(qps), median(p50), median(p99), hits, zero);
        first = false;
        fflush(stdout);
    }
    printf("\n}\n");
    if (hf) fclose(hf);
    if (s.sink == 42.4242) fprintf(stderr, " ");
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        if (argc == 5 && std::string(argv[1]) == "index") return do_index_attr(argv[2], argv[3], argv[4]);
        if (argc == 6 && std::string(argv[1]) == "search")
            return do_search_attr(argv[2], argv[3], atoi(argv[4]), argv[5]);
    } catch (const Xapian::Error &e) {
        std::cerr << "xapian: " << e.get_description() << "\n";
        return 1;
    }
    std::cerr << "usage: xapian-attr index DOCS.tsv ATTRS.tsv DBDIR | search DBDIR WORKLOAD_DIR RUNS HITS.tsv\n";
    return 2;
}
