#!/usr/bin/env bash
# The server under load: a store of 1,000,000 demo customers and 24 monthly runs (backfilled from
# 10,000,000 demo lines with the B2B scheme), served by `stratum serve` (release build), hit on
# loopback by wrk with 64 connections for each endpoint the issue names; then the same while a
# re-tiering run of the 10,000,000 lines executes, started from the server (a schedule run now).
# Prints wrk's latency percentiles and requests per second.
#
# Usage: bench/server/run.sh [DB]   DB: a SQLite path (default bench/server/data/s.db, built
# once) or a postgres:// URL to fill. Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build -q --release -p stratum-cli
bin="${CARGO_TARGET_DIR:-target}/release/stratum"
data=bench/server/data
mkdir -p "$data"
db="${1:-$data/s.db}"
if [ ! -f "$data/demo/transactions.csv" ]; then
    "$bin" demo --out "$data/demo" --customer-count 1000000 --line-count 10000000 >/dev/null
fi
# filled once: a SQLite file that does not exist yet, a PostgreSQL store without the last run
if { [[ "$db" == postgres* ]] && ! "$bin" runs --db "$db" 2>/dev/null | grep -q 2026-01-01; } \
    || { [[ "$db" != postgres* ]] && [ ! -f "$db" ]; }; then
    echo "== filling $db: 24 monthly runs of up to 1,000,000 customers"
    time "$bin" backfill --every month --from 2024-01-01 -t "$data/demo/transactions.csv" \
        -c "$data/demo/customers.csv" --interactions "$data/demo/interactions.csv" \
        --scheme schemes/b2b.toml --db "$db" -o "$data/backfill" >/dev/null
    "$bin" users add bench-analyst --role analyst --db "$db" 2>/dev/null
    "$bin" users add bench-manager --role manager --book 张伟 --db "$db" 2>/dev/null
fi
"$bin" users add bench-admin --role admin --db "$db" >/dev/null 2>&1 || true
analyst=$("$bin" users token bench-analyst --db "$db" 2>/dev/null)
manager=$("$bin" users token bench-manager --db "$db" 2>/dev/null)
admin=$("$bin" users token bench-admin --db "$db" 2>/dev/null)
port=8471
base="http://127.0.0.1:$port"
server=
trap 'kill $server 2>/dev/null || true' EXIT
# serve store $1 (with config $2, if any); the first requests read the latest run into memory
# and work out the overview's history
serve() {
    STRATUM_LOG=warn "$bin" serve --db "$1" --bind "127.0.0.1:$port" ${2:+--config "$2"} &
    server=$!
    for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
    local start
    start=$(date +%s.%N)
    curl -sf -o /dev/null -H "Authorization: Bearer $analyst" "$base/api/customers?per_page=1"
    echo "latest run read into memory: $(echo "$(date +%s.%N) - $start" | bc) s"
    start=$(date +%s.%N)
    curl -sf -o /dev/null -H "Authorization: Bearer $analyst" "$base/"
    echo "overview's history worked out: $(echo "$(date +%s.%N) - $start" | bc) s"
}
serve "$db"
cat > "$data/detail.lua" <<'LUA'
math.randomseed(42)
request = function()
  return wrk.format("GET", string.format("/api/customers/C%07d", math.random(1, 1000000)))
end
LUA
run() {
    local name=$1 token=$2
    shift 2
    echo "== $name"
    wrk -t2 -c64 -d${SECONDS_EACH:-15}s --latency -H "Authorization: Bearer $token" "$@" \
        | grep -E "^ +(50|90|99)%|Requests/sec|Non-2xx"
}
all() {
    # connections opened and pages mapped first: what a server that has been up a while has
    run "warm-up: customer detail (not a figure)" "$analyst" -s "$data/detail.lua" "$base"
    run "customer detail (random of 1M)" "$analyst" -s "$data/detail.lua" "$base"
    run "account manager's worklist" "$manager" "$base/api/worklist"
    run "account manager's customers" "$manager" "$base/api/customers"
    run "overview page" "$analyst" "$base/"
    run "search by name (盛新)" "$analyst" "$base/api/customers?q=%E7%9B%9B%E6%96%B0"
    run "filter: tier and industry" "$analyst" "$base/api/customers?tier=key&industry=%E8%BD%AF%E4%BB%B6"
}
all
# the same while a re-tiering run of the 10,000,000 lines executes, started from the server as a
# schedule run now (on a copy of a SQLite store, so the store keeps its 24 runs; a PostgreSQL
# store keeps the run)
kill $server
wait $server 2>/dev/null || true
served="$db"
if [[ "$db" != postgres* ]]; then
    served="$data/under-run.db"
    cp "$db" "$served"
    if [ -f "$db-wal" ]; then cp "$db-wal" "$served-wal"; fi
fi
cat > "$data/serve.toml" <<TOML
[server]
uploads = "$PWD/$data/uploads"

[[schedules]]
name = "bench"
cron = "0 3 1 1 *"
transactions = "$PWD/$data/demo/transactions.csv"
customers = "$PWD/$data/demo/customers.csv"
interactions = "$PWD/$data/demo/interactions.csv"
scheme = "$PWD/schemes/b2b.toml"
TOML
serve "$served" "$data/serve.toml"
job=$(curl -sf -X POST -H "Authorization: Bearer $admin" "$base/api/schedules/bench/run" \
    | sed -E 's/.*"id":([0-9]+).*/\1/')
echo "== while run job $job executes (started $(date +%T))"
sleep 5
state() { curl -sf -H "Authorization: Bearer $admin" "$base/api/jobs/$job" | sed -E 's/.*"state":"([a-z]+)".*/\1/'; }
echo "job state: $(state)"
all
echo "job state after: $(state) ($(date +%T))"
while [ "$(state)" = running ]; do sleep 5; done
curl -sf -H "Authorization: Bearer $admin" "$base/api/jobs/$job" \
    | grep -oE '"(state|started_at|finished_at)":"[^"]*"' | tr '\n' ' '
echo
kill $server
wait $server 2>/dev/null || true
[[ "$served" == "$db" ]] || rm -f "$served" "$served-wal" "$served-shm"
