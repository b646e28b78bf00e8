#!/usr/bin/env bash
# Quick start: installs dependencies, builds, starts searchd on ./searchd-data
# with the bundled bilingual sample indexed under sample/settings.json (text
# fields and the attributes lang, collection, year), and searches it with
# searchq: two plain searches and one filtered, faceted one.
# searchd keeps running afterwards (its log: searchd-data/searchd.log).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
data=${SEARCHD_DATA:-searchd-data}
mkdir -p "$data"
if ./build/client/searchq health >/dev/null 2>&1; then
    echo "searchd is already running on 127.0.0.1:7701"
else
    nohup ./build/daemon/searchd --data "$data" >"$data/searchd.log" 2>&1 &
    echo "started searchd (pid $!) on http://127.0.0.1:7700 and line protocol 127.0.0.1:7701"
    for _ in $(seq 1 50); do
        ./build/client/searchq health >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
./build/client/searchq settings default @sample/settings.json
./build/client/searchq import sample/docs.jsonl sample/notes/*.md # searchable once acknowledged
echo
echo '$ searchq "цифровая дипломатия"'
./build/client/searchq "цифровая дипломатия"
echo
echo '$ searchq "industrial revolutions"'
./build/client/searchq "industrial revolutions"
echo
echo "\$ searchq --filter 'lang:en year:2010..2024' --facets collection,year:interval=5 --fields year,collection revolution"
./build/client/searchq --filter 'lang:en year:2010..2024' --facets collection,year:interval=5 \
    --fields year,collection revolution
echo
echo "Search page: http://127.0.0.1:7700/  (open it in a browser on this machine)"
echo "Try: ./build/client/searchq --help; stop the daemon with: kill \$(pgrep -x searchd)"
