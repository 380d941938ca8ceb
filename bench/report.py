#!/usr/bin/env python3
"""The markdown table of a benchmark run.

Usage: report.py RESULTS_TSV CHECKS_TSV

RESULTS_TSV has one line per timed run (size, format, tool, run, wall_s, rss_kb, cpu_pct,
status); CHECKS_TSV one line per peer output check (size, format, tool, status). Medians are
over the successful runs; ratios are to Stratum's medians for the same size and format
(below 1 = less than Stratum). MB here is 2^20 bytes. Standard library only.
"""

import csv
import sys
from statistics import median

TOOL_ORDER = ["stratum", "stratum-no-xlsx", "duckdb", "polars", "pandas"]
# the peers the targets compare with: the faster of them, the smaller peak memory of them
TARGET_PEERS = ["duckdb", "polars"]


def shown_size(size: str) -> str:
    """10000000 as 10,000,000; 10000000:1000000 as 10,000,000 (1,000,000 customers)."""
    lines, _, customers = size.partition(":")
    text = f"{int(lines):,}"
    return f"{text} ({int(customers):,} customers)" if customers else text


def read(path: str) -> list:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main() -> int:
    results, checks = read(sys.argv[1]), read(sys.argv[2])
    check = {(r["size"], r["format"], r["tool"]): r["status"] for r in checks}
    groups: dict = {}
    for r in results:
        groups.setdefault((r["size"], r["format"]), {}).setdefault(r["tool"], []).append(r)

    lines = [
        "| size | format | tool | median wall s | median peak MB | wall / Stratum "
        "| memory / Stratum | CPU % | runs ok | output |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    targets = [
        "",
        "Against the faster of DuckDB and Polars (wall) and the smaller peak memory of them:",
        "",
        "| size | format | faster peer | its wall s | stratum / it | stratum-no-xlsx / it "
        "| least peer MB | stratum MB | stratum-no-xlsx MB |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (size, fmt), tools in groups.items():
        medians = {}
        for tool, runs in tools.items():
            ok = [r for r in runs if r["status"] == "ok"]
            if ok:
                medians[tool] = (
                    median(float(r["wall_s"]) for r in ok),
                    median(int(r["rss_kb"]) for r in ok) / 1024,
                    median(int(r["cpu_pct"] or 0) for r in ok),
                    len(ok),
                )
        ref = medians.get("stratum")
        peers = [(medians[p][0], p) for p in TARGET_PEERS if p in medians]
        if peers:
            peer_wall, peer = min(peers)
            least_mb = min(medians[p][1] for p in TARGET_PEERS if p in medians)

            def cells(tool):
                m = medians.get(tool)
                if not m or peer_wall <= 0:
                    return ("", "")
                return (f"{m[0] / peer_wall:.2f}", f"{m[1]:,.0f}")

            (r1, m1), (r2, m2) = cells("stratum"), cells("stratum-no-xlsx")
            targets.append(
                f"| {shown_size(size)} | {fmt} | {peer} | {peer_wall:.2f} | {r1} | {r2} "
                f"| {least_mb:,.0f} | {m1} | {m2} |"
            )
        for tool in sorted(tools, key=lambda t: TOOL_ORDER.index(t) if t in TOOL_ORDER else 99):
            runs = tools[tool]
            if tool == "stratum":
                output = "reference"
            else:
                output = {"ok": "= Stratum", "differs": "**DIFFERS**"}.get(
                    check.get((size, fmt, tool), "missing"), "**no output**"
                )
            if tool not in medians:
                lines.append(
                    f"| {shown_size(size)} | {fmt} | {tool} | failed | failed | | | | 0/{len(runs)} "
                    f"| {output} |"
                )
                continue
            wall, mb, cpu, n_ok = medians[tool]
            rw = f"{wall / ref[0]:.2f}" if ref and ref[0] > 0 else "n/a"
            rm = f"{mb / ref[1]:.2f}" if ref and ref[1] > 0 else "n/a"
            lines.append(
                f"| {shown_size(size)} | {fmt} | {tool} | {wall:.2f} | {mb:,.0f} | {rw} | {rm} "
                f"| {cpu:.0f} | {n_ok}/{len(runs)} | {output} |"
            )
    print("\n".join(lines + (targets if len(targets) > 5 else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
