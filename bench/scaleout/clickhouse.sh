#!/usr/bin/env bash
# Benchmark: `stratum segment` pushed down to a three-shard ClickHouse cluster against the
# in-process run on the same data as CSV.
#
# Usage: bench/scaleout/clickhouse.sh [LINES:CUSTOMERS ...]     (default 10000000:1000000)
#   RUNS=N   timed runs of each (default 3; the median is reported)
# Needs root: the cluster is .ci/clickhouse-cluster (three clickhouse-server processes in network
# namespaces, user `default` without a password), started here unless STRATUM_TEST_CLICKHOUSE_URL
# names a running one.
#
# Steps, per data set: build Stratum (release); generate bench/data/scaleout-LINES-CUSTOMERS with
# `stratum demo` (seed 42) once; load its transactions.csv into a `Distributed` table sharded by
# cityHash64(customer_id) over a MergeTree table on each shard (timed); run `stratum segment
# --no-xlsx` from the CSV and from the table (STRATUM_TIMINGS=1: the accounting, the time to the
# first customer row and the rows streamed), interleaved, under /usr/bin/time -v; check that
# customers.csv and segments.csv are byte-identical; print a markdown table and append it with
# the machine to bench/results/scaleout.md. Exit 1 if a run fails or the outputs differ.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$BENCH")
RUNS=${RUNS:-3}
SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=("10000000:1000000")

cd "$ROOT"
cargo build --release -q -p stratum-cli
BIN="$ROOT/target/release/stratum"

if [ -z "${STRATUM_TEST_CLICKHOUSE_URL:-}" ]; then
    STRATUM_TEST_CLICKHOUSE_URL=$(.ci/clickhouse-cluster start)
    trap '.ci/clickhouse-cluster stop' EXIT
fi
URL=$STRATUM_TEST_CLICKHOUSE_URL
HOST=${URL#clickhouse://}
HOST=${HOST##*@}
HOST=${HOST%%[:/]*}
ch() { clickhouse-client --host "$1" --query "$2"; }
shards=$(ch "$HOST" "SELECT host_address FROM system.clusters WHERE cluster = 'stratum' AND replica_num = 1 ORDER BY shard_num")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { grep "$2" "$1" | awk -F': ' '{print $2}'; }
seconds() { # h:mm:ss or m:ss.ss
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}

status=0
table_rows=()
for set in "${SETS[@]}"; do
    lines=${set%%:*}
    customers=${set##*:}
    data="$BENCH/data/scaleout-$lines-$customers"
    if [ ! -s "$data/transactions.csv" ]; then
        "$BIN" demo --out "$data" --customer-count "$customers" --line-count "$lines" --seed 42 >/dev/null
    fi
    csv="$data/transactions.csv"
    table="orders_${lines}_${customers}"
    for s in $shards; do
        ch "$s" "DROP TABLE IF EXISTS ${table}_local"
        ch "$s" "CREATE TABLE ${table}_local (customer_id String, order_id Nullable(String), order_date Nullable(Date), amount Nullable(Decimal(24, 6)), channel Nullable(String), category Nullable(String)) ENGINE = MergeTree ORDER BY customer_id"
    done
    ch "$HOST" "DROP TABLE IF EXISTS $table"
    ch "$HOST" "CREATE TABLE $table AS ${table}_local ENGINE = Distributed(stratum, default, ${table}_local, cityHash64(customer_id))"
    load_start=$(date +%s.%N)
    clickhouse-client --host "$HOST" --insert_distributed_sync=1 \
        --query "INSERT INTO $table FORMAT CSVWithNames" <"$csv"
    load_s=$(echo "$(date +%s.%N) - $load_start" | bc)
    echo "loaded $lines lines into $table in ${load_s}s"
    "$BIN" pushdown --source "$URL" --table "$table"

    out="$BENCH/data/scaleout-out"
    mkdir -p "$out"
    declare -A wall rss
    wall=() rss=()
    firsts=() rates=() accs=()
    for run in $(seq "$RUNS"); do
        for tool in file clickhouse; do
            rm -rf "$out/$tool"
            if [ "$tool" = file ]; then
                cmd=("$BIN" segment -t "$csv" --no-xlsx -o "$out/$tool")
            else
                cmd=("$BIN" segment --source "$URL" --table "$table" --no-xlsx -o "$out/$tool")
            fi
            if ! STRATUM_TIMINGS=1 /usr/bin/time -v -o "$out/$tool.time" "${cmd[@]}" >"$out/$tool.log" 2>&1; then
                echo "$tool run failed:"; tail -n 20 "$out/$tool.log"; status=1; continue
            fi
            wall[$tool]+="$(field "$out/$tool.time" "Elapsed (wall clock)" | seconds) "
            rss[$tool]+="$(field "$out/$tool.time" "Maximum resident set size") "
            if [ "$tool" = clickhouse ]; then
                line=$(grep "timing: pushdown:" "$out/$tool.log")
                echo "  $line"
                accs+=("$(echo "$line" | sed -E 's/.*accounting ([0-9.]+) s.*/\1/')")
                firsts+=("$(echo "$line" | sed -E 's/.*first customer row ([0-9.]+) s.*/\1/')")
                rates+=("$(echo "$line" | sed -E 's/.*\(([0-9]+) rows\/s.*/\1/')")
            fi
        done
        for f in customers.csv segments.csv; do
            if ! cmp -s "$out/file/$f" "$out/clickhouse/$f"; then
                echo "$f differs between the file and the ClickHouse run"; status=1
            fi
        done
    done
    for tool in file clickhouse; do
        [ -n "${wall[$tool]:-}" ] || continue
        w=$(echo "${wall[$tool]}" | tr ' ' '\n' | grep . | median)
        r=$(echo "${rss[$tool]}" | tr ' ' '\n' | grep . | median)
        extra="| | | |"
        if [ "$tool" = clickhouse ]; then
            extra="| $(printf '%s\n' "${accs[@]}" | median) s | $(printf '%s\n' "${firsts[@]}" | median) s | $(printf '%s\n' "${rates[@]}" | median) | loaded in ${load_s} s |"
        fi
        table_rows+=("| $lines lines, $customers customers | $tool | $w s | $((r / 1024)) MiB $extra")
    done
done

{
    echo
    echo "### $(date -u +%Y-%m-%d) — $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, ClickHouse $(ch "$HOST" 'SELECT version()') × $(echo "$shards" | wc -l) shards, $RUNS runs (median)"
    echo
    echo "| data | run | wall | Stratum peak RSS | accounting | first customer row | rows/s after it | table |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${table_rows[@]}"
} | tee -a "$BENCH/results/scaleout.md"
exit "$status"
