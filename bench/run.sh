#!/usr/bin/env bash
# Benchmark: Stratum's tiering job against the same job in DuckDB, Polars and pandas.
#
# Usage: bench/run.sh [--sizes "N ..."] [--runs R] [--customers C] [--formats "csv parquet"]
#                     [--tools "stratum duckdb polars pandas"] [--regen]
# The same options as environment variables: SIZES, RUNS, CUSTOMERS, FORMATS, TOOLS, REGEN=1.
#   SIZES      data sets: LINES, or LINES:CUSTOMERS          (default "1000000 10000000 10000000:1000000")
#   RUNS       timed runs per tool, size and format        (default 3; the median is reported)
#   CUSTOMERS  customers of a data set given as LINES     (default: lines / 50)
#   FORMATS    input formats                               (default "csv parquet")
#   TOOLS      tools to run; stratum is the reference and always runs
#              (default "stratum stratum-no-xlsx duckdb polars pandas")
#   REGEN=1    regenerate the data sets even when bench/data/N is up to date
#   PYTHON     the Python used to create bench/.venv       (default python3)
#
# stratum is `stratum segment` as a user runs it (every default output, the workbook too);
# stratum-no-xlsx the same without the workbook (--no-xlsx).
# Steps: build Stratum (cargo build --release), create bench/.venv from bench/requirements.txt,
# generate bench/data/N (or N-C) once per data set (stratum demo, seed 42) plus a Parquet copy, run every tool
# RUNS times per size and format under /usr/bin/time -v (tools interleaved inside each run),
# check every peer's per-customer output against Stratum's (bench/compare.py), print a markdown
# table and append it with the machine and versions to bench/results/latest.md.
# Exit status: 0 when every tool ran and every comparison passed, 1 otherwise.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
SEED=42

SIZES=${SIZES:-"1000000 10000000 10000000:1000000"}
RUNS=${RUNS:-3}
CUSTOMERS=${CUSTOMERS:-}
FORMATS=${FORMATS:-"csv parquet"}
TOOLS=${TOOLS:-"stratum stratum-no-xlsx duckdb polars pandas"}
REGEN=${REGEN:-0}
PYTHON=${PYTHON:-python3}

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --sizes) SIZES=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --customers) CUSTOMERS=$2; shift 2 ;;
        --formats) FORMATS=$2; shift 2 ;;
        --tools) TOOLS=$2; shift 2 ;;
        --regen) REGEN=1; shift ;;
        --sizes=*) SIZES=${1#*=}; shift ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --customers=*) CUSTOMERS=${1#*=}; shift ;;
        --formats=*) FORMATS=${1#*=}; shift ;;
        --tools=*) TOOLS=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "run.sh: $*" >&2; exit 2; }
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

is_count "$RUNS" || die "RUNS must be a positive integer, got '$RUNS'"
for shape in $SIZES; do
    is_count "${shape%%:*}" || die "SIZES must be LINES or LINES:CUSTOMERS, got '$shape'"
    [[ $shape != *:* ]] || is_count "${shape#*:}" || die "SIZES must be LINES or LINES:CUSTOMERS, got '$shape'"
done
[[ -z $CUSTOMERS ]] || is_count "$CUSTOMERS" || die "CUSTOMERS must be a positive integer"
for f in $FORMATS; do [[ $f == csv || $f == parquet ]] || die "unknown format '$f' (csv, parquet)"; done
PEERS=()
STRATUMS=(stratum)
for t in $TOOLS; do
    case $t in
        stratum) ;;
        stratum-no-xlsx) STRATUMS+=("$t") ;;
        duckdb | polars | pandas) PEERS+=("$t") ;;
        *) die "unknown tool '$t' (stratum stratum-no-xlsx duckdb polars pandas)" ;;
    esac
done
ALL_TOOLS=("${STRATUMS[@]}" ${PEERS[@]+"${PEERS[@]}"})
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian/Ubuntu: apt-get install time)"

log() { printf '\n==> %s\n' "$*" >&2; }

# --- 1. build Stratum ------------------------------------------------------------------------
log "building Stratum (cargo build --release)"
(cd "$ROOT" && cargo build --release)
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
STRATUM=$TARGET_DIR/release/stratum
[[ -x $STRATUM ]] || die "no binary at $STRATUM after the build"

# --- 2. Python environment -------------------------------------------------------------------
VENV=$BENCH/.venv
if [[ ! -x $VENV/bin/python ]]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
log "installing the pinned peers (bench/requirements.txt)"
"$PY" -m pip install --quiet --disable-pip-version-check -r "$BENCH/requirements.txt"

STRATUM_VERSION=$("$STRATUM" --version)
PY_VERSIONS=$("$PY" - <<'EOF'
import platform
from importlib.metadata import version
print(f"python {platform.python_version()}, " + ", ".join(
    f"{p} {version(p)}" for p in ("duckdb", "polars", "pandas", "pyarrow", "numpy")))
EOF
)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]]; then
    GIT_REV="$GIT_REV (with uncommitted changes under crates/)"
fi
echo "$STRATUM_VERSION (commit $GIT_REV)" >&2
echo "$PY_VERSIONS" >&2

"$STRATUM" segment --help 2>/dev/null | grep -q -- '--no-xlsx' ||
    die "this stratum has no --no-xlsx (stratum-no-xlsx needs it)"

# Other work on the machine skews every figure: note the load now and at the end.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 0.5) }'; then
    echo "run.sh: warning: load average is $LOAD_START before the benchmark; other processes" \
        "compete for the cores and the timings will show it" >&2
fi

# --- 3. data ---------------------------------------------------------------------------------

prepare_data() {
    local n=$1 c=$2 dir=$3
    local params="customers=$c transactions=$n seed=$SEED parquet=stratum"
    if [[ $REGEN == 1 || ! -f $dir/transactions.csv || $(cat "$dir/.params" 2>/dev/null) != "$params" ]]; then
        log "generating $dir ($params)"
        rm -rf "$dir"
        # the same lines as CSV and as Parquet (DATE and DECIMAL(18,2) columns, snappy)
        "$STRATUM" demo --out "$dir" --customer-count "$c" --line-count "$n" --seed "$SEED" --parquet
        echo "$params" >"$dir/.params"
    fi
}

# --- 4. runs ---------------------------------------------------------------------------------
OUT=$BENCH/out
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
CHECKS=$OUT/checks.tsv
printf 'size\tformat\ttool\trun\twall_s\trss_kb\tcpu_pct\tstatus\n' >"$RESULTS"
printf 'size\tformat\ttool\tstatus\n' >"$CHECKS"
FAILED=0

# Seconds from /usr/bin/time's "h:mm:ss" or "m:ss.ss".
wall_seconds() {
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($NF, p, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + p[i]
        printf "%.2f", s
    }' "$1"
}
time_field() { awk -F': ' -v key="$2" 'index($0, key) { gsub(/%/, "", $NF); print $NF }' "$1"; }

# run_tool TOOL INPUT DIR RUN: one timed run; the per-customer output ends in DIR/TOOL.csv.
run_tool() {
    local tool=$1 input=$2 dir=$3 run=$4 size=$5 format=$6
    local tfile=$dir/$tool.time log=$dir/$tool.log status=ok cmd
    rm -f "$dir/$tool.csv" "$tfile"
    # Every tool writes into an empty place: the peers' files are removed above, Stratum's
    # folder here. (Replacing a file by renaming over it makes ext4 start writing the new one
    # out at once, 90-160 ms for a 150 MB customers.csv, which only Stratum paid.)
    if [[ $tool == stratum* ]]; then rm -rf "$dir/stratum.d"; fi
    case $tool in
        stratum)
            cmd=("$STRATUM" segment --transactions "$input" --out "$dir/stratum.d")
            ;;
        stratum-no-xlsx)
            cmd=("$STRATUM" segment --transactions "$input" --out "$dir/stratum.d" --no-xlsx)
            ;;
        *) cmd=("$PY" "$BENCH/peers/${tool}_job.py" "$input" "$dir/$tool.csv") ;;
    esac
    # Every tool starts with the input in the page cache: this virtual machine drops cached
    # files within minutes, and whichever tool ran first would pay for reading the disk.
    dd if="$input" of=/dev/null bs=8M status=none
    if ! /usr/bin/time -v -o "$tfile" "${cmd[@]}" >"$log" 2>&1; then
        status=failed
    elif [[ $tool == stratum* ]]; then
        cp "$dir/stratum.d/customers.csv" "$dir/$tool.csv"
    fi
    [[ -f $dir/$tool.csv ]] || status=failed
    local wall rss cpu
    wall=$(wall_seconds "$tfile")
    rss=$(time_field "$tfile" "Maximum resident set size")
    cpu=$(time_field "$tfile" "Percent of CPU this job got")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$format" "$tool" "$run" \
        "${wall:-}" "${rss:-}" "${cpu:-}" "$status" >>"$RESULTS"
    printf '  run %s  %-8s %8ss %9s MB  %s\n' "$run" "$tool" "${wall:-?}" \
        "$(( ${rss:-0} / 1024 ))" "$status" >&2
    if [[ $status != ok ]]; then
        FAILED=1
        echo "  $tool failed; the last lines of $log:" >&2
        tail -n 5 "$log" | sed 's/^/    /' >&2
    fi
}

for shape in $SIZES; do
    n=${shape%%:*}
    if [[ $shape == *:* ]]; then
        c=${shape#*:}
        name=$n-$c
    else
        c=${CUSTOMERS:-$((n / 50))}
        ((c > 0)) || c=1
        name=$n
    fi
    # the size column: lines, or lines:customers for a data set given with its customers
    size=$shape
    prepare_data "$n" "$c" "$BENCH/data/$name"
    for format in $FORMATS; do
        input=$BENCH/data/$name/transactions.$format
        dir=$OUT/$name/$format
        mkdir -p "$dir"
        log "$n lines, $c customers, $format: $RUNS run(s) of ${ALL_TOOLS[*]}"
        for ((run = 1; run <= RUNS; run++)); do
            for tool in "${ALL_TOOLS[@]}"; do
                run_tool "$tool" "$input" "$dir" "$run" "$size" "$format"
            done
        done
        log "checking the outputs of the last run against Stratum's ($dir)"
        for tool in "${STRATUMS[@]:1}" ${PEERS[@]+"${PEERS[@]}"}; do
            if [[ ! -f $dir/stratum.csv || ! -f $dir/$tool.csv ]]; then
                status=missing
            elif "$PY" "$BENCH/compare.py" "$dir/stratum.csv" "$dir/$tool.csv" >&2; then
                status=ok
            else
                status=differs
            fi
            [[ $status == ok ]] || FAILED=1
            printf '%s\t%s\t%s\t%s\n' "$size" "$format" "$tool" "$status" >>"$CHECKS"
        done
    done
done

# --- 5. report -------------------------------------------------------------------------------
TABLE=$("$PY" "$BENCH/report.py" "$RESULTS" "$CHECKS")
mkdir -p "$BENCH/results"
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC'): SIZES=\"$SIZES\" RUNS=$RUNS FORMATS=\"$FORMATS\" CUSTOMERS=${CUSTOMERS:-lines/50}"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "- stratum: $STRATUM_VERSION, commit $GIT_REV; stratum = segment with its default outputs, stratum-no-xlsx = segment --no-xlsx"
    echo "- peers: $PY_VERSIONS"
    echo "- load average (1, 5, 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo
    echo '```'
    echo '$ free -g'
    free -g
    echo '```'
    echo
    echo "$TABLE"
} >>"$BENCH/results/latest.md"

echo
echo "$TABLE"
echo
echo "appended to $BENCH/results/latest.md"
if ((FAILED)); then
    echo "FAILED: a tool failed or an output differs from Stratum's (see above)" >&2
    exit 1
fi
echo "all outputs equal Stratum's"
