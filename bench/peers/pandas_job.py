#!/usr/bin/env python3
"""Stratum's tiering job in plain pandas.

Usage: pandas_job.py INPUT OUTPUT

INPUT is transactions.csv or transactions.parquet (customer_id, order_id, order_date, amount,
channel, category); OUTPUT is a CSV with one row per scored customer:
customer_id,recency_days,frequency,monetary,r_score,f_score,m_score,rfm_class,abc_class.

The rules are Stratum's (see bench/README.md). Amounts become integer cents right after
reading (round(amount × 100), exact for amounts with at most two decimals), so every sum is
exact. pandas runs on one core.
"""

import sys

import numpy as np
import pandas as pd
from common import CLASSES, OUTPUT_COLUMNS

BINS = 5


def read(path: str) -> pd.DataFrame:
    """The lines with `cents` (int64) in place of `amount` and `order_date` as datetime."""
    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
        # a DECIMAL column arrives as Python Decimal objects; a DOUBLE one as float64
        amount = df["amount"].astype("float64")
    else:
        df = pd.read_csv(
            path,
            dtype={
                "customer_id": "str",
                "order_id": "str",
                "order_date": "str",
                "amount": "float64",
                "channel": "str",
                "category": "str",
            },
            keep_default_na=False,
            na_values={"order_id": [""]},
        )
        amount = df["amount"]
    df["amount"] = np.round(amount.to_numpy() * 100).astype("int64")
    df = df.rename(columns={"amount": "cents"})
    df = df.drop_duplicates()  # rule 1: exact duplicate rows (all columns)
    df["order_date"] = pd.to_datetime(df["order_date"], format="%Y-%m-%d")
    return df


def per_customer(df: pd.DataFrame) -> pd.DataFrame:
    """Rules 2, 3 and 4: one row per customer with at least one purchase line."""
    as_of = df["order_date"].max() + pd.Timedelta(days=1)
    purchases = df[df["cents"] > 0]
    by_customer = purchases.groupby("customer_id")
    features = pd.DataFrame(
        {
            "last_purchase": by_customer["order_date"].max(),
            # a purchase line without an order id is an order of its own (as in Stratum)
            "frequency": by_customer["order_id"].nunique()
            + purchases["order_id"].isna().groupby(purchases["customer_id"]).sum(),
        }
    )
    features["cents"] = df.groupby("customer_id")["cents"].sum()  # purchases and refunds
    features["recency_days"] = (as_of - features["last_purchase"]).dt.days
    return features


def tiers(features: pd.DataFrame) -> pd.DataFrame:
    n = len(features)
    out = features

    def score(values: pd.Series, ascending: bool) -> pd.Series:
        # rank "min" - 1 = number of customers with a strictly worse value
        worse = values.rank(method="min", ascending=ascending).astype("int64") - 1
        return 1 + (worse * BINS) // n

    out["r_score"] = score(out["recency_days"], ascending=False)  # rule 5
    out["f_score"] = score(out["frequency"], ascending=True)
    out["m_score"] = score(out["cents"], ascending=True)

    highs = [out[c] > out[c].mean() for c in ("r_score", "f_score", "m_score")]  # rule 6
    keys = pd.Series(list(zip(*highs)), index=out.index)
    out["rfm_class"] = keys.map(CLASSES)

    # rule 7: revenue of the customers with a strictly larger monetary value, per value
    positive = out.loc[out["cents"] > 0, "cents"]
    total = int(positive.sum())
    per_value = positive.groupby(positive).sum().sort_index(ascending=False)
    before = per_value.cumsum() - per_value
    out["before"] = out["cents"].map(before)
    out["abc_class"] = "C"
    if total > 0:
        b = out["before"]
        is_pos = out["cents"] > 0
        out.loc[is_pos & (b * 100 < total * 95), "abc_class"] = "B"
        out.loc[is_pos & (b * 100 < total * 80), "abc_class"] = "A"

    cents = out["cents"]
    sign = np.where(cents < 0, "-", "")
    units = (cents.abs() // 100).astype("str")
    frac = (cents.abs() % 100).astype("str").str.zfill(2)
    out["monetary"] = sign + units + "." + frac
    out = out.reset_index().sort_values("customer_id")
    return out[OUTPUT_COLUMNS]


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: pandas_job.py INPUT OUTPUT")
    src, out = sys.argv[1], sys.argv[2]
    tiers(per_customer(read(src))).to_csv(out, index=False)


if __name__ == "__main__":
    main()
