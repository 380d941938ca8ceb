#!/usr/bin/env bash
# Benchmark: Stratum's BG/NBD + Gamma-Gamma fit against the `lifetimes` package (0.11.3).
#
# Usage: bench/clv/run.sh [CUSTOMERS] [LINES]      (defaults 1000000 and 5000000)
#
# Builds Stratum, creates bench/clv/.venv with lifetimes from bench/clv/requirements.txt,
# generates CUSTOMERS customers with LINES transaction lines (stratum demo, seed 42) once into
# bench/data/clv-CUSTOMERS-LINES and summarises them with `stratum clv -t` (week periods). Then
# both tools fit BG/NBD + Gamma-Gamma (no penalty) on that same summary file
# (bench/out/clv/summary.csv: customer_id, frequency, recency, T, monetary): `stratum clv
# --summary` and lifetimes' BetaGeoFitter and GammaGammaFitter. Prints both fits' parameters
# with their largest relative difference, the fit times (Stratum: the "fit" stage of
# STRATUM_TIMINGS; lifetimes: time.perf_counter around each .fit), each process's wall time and
# peak memory (GNU time -v; Stratum's process also predicts and writes every customer), and
# appends them to bench/results/clv.md. Exit status 1 when the parameters differ by more than
# 1e-4 relative.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$BENCH")
CUSTOMERS=${1:-1000000}
LINES=${2:-5000000}
PYTHON=${PYTHON:-python3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
STRATUM=$TARGET/release/stratum

(cd "$ROOT" && cargo build --release --quiet)
VENV=$BENCH/clv/.venv
if [[ ! -x $VENV/bin/python ]]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r "$BENCH/clv/requirements.txt"
fi

DATA=$BENCH/data/clv-$CUSTOMERS-$LINES
if [[ ! -f $DATA/transactions.csv ]]; then
    "$STRATUM" demo --out "$DATA" --customer-count "$CUSTOMERS" --line-count "$LINES" --seed 42 >/dev/null
fi
OUT=$BENCH/out/clv
mkdir -p "$OUT"

STRATUM_TIMINGS=1 /usr/bin/time -v -o "$OUT/transactions.time" \
    "$STRATUM" clv -t "$DATA/transactions.csv" -o "$OUT/from-transactions" --period week --model bgnbd \
    >/dev/null 2>"$OUT/transactions.err"
cut -d, -f1-5 "$OUT/from-transactions/predictions.csv" >"$OUT/summary.csv"
cat "$OUT/summary.csv" >/dev/null   # into the page cache for both
STRATUM_TIMINGS=1 /usr/bin/time -v -o "$OUT/stratum.time" \
    "$STRATUM" clv --summary "$OUT/summary.csv" -o "$OUT" --period week --model bgnbd \
    >"$OUT/stratum.out" 2>"$OUT/stratum.err"
/usr/bin/time -v -o "$OUT/lifetimes.time" \
    "$VENV/bin/python" "$BENCH/clv/lifetimes_job.py" "$OUT/summary.csv" 0 >"$OUT/lifetimes.json"

"$VENV/bin/python" - "$OUT" "$CUSTOMERS" "$LINES" <<'PY' | tee -a "$BENCH/results/clv.md"
import json, re, sys, platform, subprocess
out, customers, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ours = json.load(open(f"{out}/params.json"))
theirs = json.load(open(f"{out}/lifetimes.json"))
def peak(name):
    text = open(f"{out}/{name}.time").read()
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
def wall(name):
    text = open(f"{out}/{name}.time").read()
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
fit = float(re.search(r"timing: fit: ([\d.]+) s", open(f"{out}/stratum.err").read()).group(1))
t, s = ours["transaction_model"], ours["spend_model"]
pairs = [(n, v, theirs["bgnbd"][n]) for n, v in zip(t["names"], t["values"])]
pairs += [(n, v, theirs["gamma_gamma"]["v" if n == "gamma" else n]) for n, v in zip(s["names"], s["values"])]
worst = max(abs(a - b) / abs(b) for _, a, b in pairs)
lt = theirs["bgnbd_seconds"] + theirs["gamma_gamma_seconds"]
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print(f"\n## {customers:,} customers, {lines:,} lines — {platform.node()}, {cpu}, nproc {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}\n")
print("| parameter | Stratum | lifetimes 0.11.3 | relative difference |")
print("|---|---|---|---|")
for n, a, b in pairs:
    print(f"| {n} | {a:.6f} | {b:.6f} | {abs(a - b) / abs(b):.1e} |")
print()
print("| | Stratum | lifetimes | ratio |")
print("|---|---|---|---|")
print(f"| BG/NBD + Gamma-Gamma fit | {fit:.3f} s | {lt:.2f} s ({theirs['bgnbd_seconds']:.2f} + {theirs['gamma_gamma_seconds']:.2f}) | {lt / fit:.0f}× faster |")
print(f"| whole process on the summary file | {wall('stratum'):.2f} s | {wall('lifetimes'):.2f} s | {wall('lifetimes') / wall('stratum'):.1f}× |")
print(f"| peak memory on the summary file | {peak('stratum'):.0f} MB | {peak('lifetimes'):.0f} MB | {peak('lifetimes') / peak('stratum'):.1f}× less |")
print(f"| Stratum from the {lines:,} transaction lines (read, summarise, fit, predict, write) | {wall('transactions'):.2f} s, {peak('transactions'):.0f} MB | | |")
print(f"\nCustomers fitted: {ours['customers']:,} ({theirs['repeat_customers_with_positive_spend']:,} with repeat purchases and a positive mean spend); distinct summaries: {t['groups']:,}; largest parameter difference {worst:.1e}.")
sys.exit(0 if worst <= 1e-4 else 1)
PY
