#!/usr/bin/env python3
"""Check that peer outputs equal Stratum's, customer by customer.

Usage: compare.py STRATUM_CUSTOMERS_CSV PEER_CSV [PEER_CSV ...]

Every file is read by column name (Stratum's customers.csv has many more columns, in any
order) and normalised to
    customer_id, recency_days, frequency, monetary (to the cent), r_score, f_score, m_score,
    rfm_class, abc_class
then sorted by customer_id and compared row by row. For each peer that differs, the first
five mismatching customers are printed with both sides; the exit status is 1 if any peer
differs (or a file lacks a column), else 0. Standard library only.
"""

import csv
import sys
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from common import OUTPUT_COLUMNS as COLUMNS  # noqa: E402

# Other header spellings accepted for a column, in case Stratum's output is renamed.
ALIASES = {
    "rfm_class": ["rfm_class_code", "class"],
    "abc_class": ["abc", "abc_class_code"],
    "r_score": ["r"],
    "f_score": ["f"],
    "m_score": ["m"],
}
INTS = {"recency_days", "frequency", "r_score", "f_score", "m_score"}
CENT = Decimal("0.01")
SHOW = 5


class BadFile(Exception):
    pass


def norm_value(column: str, text: str):
    text = text.strip()
    if column in INTS:
        # "12" or "12.0" (a float-typed writer); anything else is a real difference
        value = Decimal(text)
        if value != value.to_integral_value():
            raise InvalidOperation
        return int(value)
    if column == "monetary":
        return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    return text


def load(path: Path) -> dict:
    """customer_id -> normalised row (a tuple in COLUMNS order)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise BadFile(f"{path}: empty file") from None
        index = {}
        for column in COLUMNS:
            for name in [column, *ALIASES.get(column, [])]:
                if name in header:
                    index[column] = header.index(name)
                    break
            else:
                raise BadFile(f"{path}: no column `{column}` in header {header}")
        rows = {}
        for line, record in enumerate(reader, start=2):
            if not record:
                continue
            try:
                row = tuple(norm_value(c, record[index[c]]) for c in COLUMNS)
            except (IndexError, InvalidOperation) as e:
                raise BadFile(f"{path}:{line}: unreadable row {record!r} ({e!r})") from None
            if row[0] in rows:
                raise BadFile(f"{path}:{line}: customer {row[0]!r} appears twice")
            rows[row[0]] = row
    return rows


def show(row) -> str:
    if row is None:
        return "(missing)"
    return ",".join(str(v) for v in row)


def compare(reference: dict, peer: dict, name: str) -> bool:
    ids = sorted(set(reference) | set(peer))
    bad = []
    per_column = dict.fromkeys(COLUMNS[1:], 0)
    missing = extra = 0
    for cid in ids:
        a, b = reference.get(cid), peer.get(cid)
        if a == b:
            continue
        if b is None:
            missing += 1
        elif a is None:
            extra += 1
        else:
            for i, column in enumerate(COLUMNS[1:], start=1):
                if a[i] != b[i]:
                    per_column[column] += 1
        bad.append((cid, a, b))
    if not bad:
        print(f"  {name}: OK ({len(reference):,} customers identical)")
        return True
    print(f"  {name}: MISMATCH in {len(bad):,} of {len(ids):,} customers")
    print(f"    missing in peer: {missing:,}; only in peer: {extra:,}")
    for column, count in per_column.items():
        if count:
            print(f"    {column} differs for {count:,} customers")
    print(f"    columns: {','.join(COLUMNS)}")
    for cid, a, b in bad[:SHOW]:
        print(f"    stratum: {show(a)}")
        print(f"    {name:>7}: {show(b)}")
    return False


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        reference = load(Path(sys.argv[1]))
    except (OSError, BadFile) as e:
        print(f"  cannot read Stratum's output: {e}")
        return 1
    ok = True
    for arg in sys.argv[2:]:
        path = Path(arg)
        try:
            peer = load(path)
        except (OSError, BadFile) as e:
            print(f"  {path.stem}: cannot read: {e}")
            ok = False
            continue
        ok &= compare(reference, peer, path.stem)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
