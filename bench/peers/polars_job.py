#!/usr/bin/env python3
"""Stratum's tiering job in Polars (lazy API).

Usage: polars_job.py INPUT OUTPUT

INPUT is transactions.csv or transactions.parquet (customer_id, order_id, order_date, amount,
channel, category); OUTPUT is a CSV with one row per scored customer:
customer_id,recency_days,frequency,monetary,r_score,f_score,m_score,rfm_class,abc_class.

The rules are Stratum's (see bench/README.md). Amounts are read as Decimal(18,2), so sums are exact;
per-customer totals are then also held as integer cents for ranking and the ABC shares. The line-level part (dedup and per-customer aggregation)
runs on Polars' streaming engine; the per-customer part is small and runs in memory. Polars uses
all cores by default.
"""

import sys
from datetime import timedelta

import polars as pl
from common import CLASSES, OUTPUT_COLUMNS

BINS = 5

SCHEMA = {
    "customer_id": pl.String,
    "order_id": pl.String,
    "order_date": pl.Date,
    "amount": pl.Decimal(18, 2),
    "channel": pl.String,
    "category": pl.String,
}


def scan(path: str) -> pl.LazyFrame:
    if path.endswith(".parquet"):
        return pl.scan_parquet(path).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))
    return pl.scan_csv(path, schema=SCHEMA)


def per_customer(lines: pl.LazyFrame) -> pl.DataFrame:
    """Rules 1, 2 and 4: one row per customer that has any line."""
    purchase = pl.col("amount") > 0
    order = pl.col("order_id").filter(purchase)
    return (
        lines.unique()  # rule 1: exact duplicate rows (all columns)
        .group_by("customer_id")
        .agg(
            last_line=pl.col("order_date").max(),
            last_purchase=pl.col("order_date").filter(purchase).max(),
            # a purchase line without an order id is an order of its own (as in Stratum)
            frequency=order.drop_nulls().n_unique() + order.null_count(),
            monetary=pl.col("amount").sum(),  # exact: a Decimal sum
            purchase_lines=purchase.sum(),
        )
        .with_columns(cents=(pl.col("monetary") * 100).cast(pl.Int64))
        .collect(engine="streaming")
    )


def tiers(customers: pl.DataFrame) -> pl.DataFrame:
    as_of = customers["last_line"].max() + timedelta(days=1)  # rule 3
    scored = customers.filter(pl.col("purchase_lines") > 0)
    n = scored.height

    def score(column: str, descending: bool) -> pl.Expr:
        # rank "min" - 1 = number of customers with a strictly worse value
        worse = pl.col(column).rank("min", descending=descending).cast(pl.Int64) - 1
        return 1 + (worse * BINS) // n

    # rule 7: revenue of the customers with a strictly larger monetary value, per value
    before = (
        scored.group_by("cents")
        .agg(value_total=pl.col("cents").sum())
        .sort("cents", descending=True)
        .with_columns(before=pl.col("value_total").cum_sum() - pl.col("value_total"))
        .select("cents", "before")
    )
    total = scored.filter(pl.col("cents") > 0)["cents"].sum()
    classes = pl.DataFrame(
        {
            "r_high": [k[0] for k in CLASSES],
            "f_high": [k[1] for k in CLASSES],
            "m_high": [k[2] for k in CLASSES],
            "rfm_class": list(CLASSES.values()),
        }
    )
    return (
        scored.lazy()
        .with_columns(recency_days=(pl.lit(as_of) - pl.col("last_purchase")).dt.total_days())
        .with_columns(
            r_score=score("recency_days", descending=True),  # rule 5
            f_score=score("frequency", descending=False),
            m_score=score("cents", descending=False),
        )
        .with_columns(  # rule 6
            r_high=pl.col("r_score") > pl.col("r_score").mean(),
            f_high=pl.col("f_score") > pl.col("f_score").mean(),
            m_high=pl.col("m_score") > pl.col("m_score").mean(),
        )
        .join(classes.lazy(), on=["r_high", "f_high", "m_high"], how="left")
        .join(before.lazy(), on="cents", how="left")
        .with_columns(
            abc_class=pl.when((pl.col("cents") <= 0) | (total == 0))
            .then(pl.lit("C"))
            .when(pl.col("before") * 100 < total * 80)
            .then(pl.lit("A"))
            .when(pl.col("before") * 100 < total * 95)
            .then(pl.lit("B"))
            .otherwise(pl.lit("C")),
        )
        .select(OUTPUT_COLUMNS)
        .sort("customer_id")
        .collect()
    )


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: polars_job.py INPUT OUTPUT")
    src, out = sys.argv[1], sys.argv[2]
    tiers(per_customer(scan(src))).write_csv(out)


if __name__ == "__main__":
    main()
