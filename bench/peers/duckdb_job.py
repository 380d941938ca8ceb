#!/usr/bin/env python3
"""Stratum's tiering job in DuckDB SQL.

Usage: duckdb_job.py INPUT OUTPUT

INPUT is transactions.csv or transactions.parquet (customer_id, order_id, order_date, amount,
channel, category); OUTPUT is a CSV with one row per scored customer:
customer_id,recency_days,frequency,monetary,r_score,f_score,m_score,rfm_class,abc_class.

The rules are Stratum's (see bench/README.md). Amounts are DECIMAL(18,2), so every sum is exact
to the cent; dates are DATE. DuckDB uses all cores by default.
"""

import sys

import duckdb

BINS = 5

QUERY = f"""
WITH lines AS (                        -- rule 1: exact duplicate rows dropped
    SELECT DISTINCT customer_id, order_id, order_date, amount, channel, category
    FROM src
),
per_customer AS (                      -- rules 2 and 4
    SELECT
        customer_id,
        max(order_date)                                         AS last_line,
        max(order_date) FILTER (WHERE amount > 0)               AS last_purchase,
        -- distinct order ids among purchase lines; a purchase line without an order id is
        -- an order of its own (as in Stratum; the benchmark data always has order ids)
        count(DISTINCT order_id) FILTER (WHERE amount > 0)
          + count(*) FILTER (WHERE amount > 0 AND order_id IS NULL) AS frequency,
        sum(amount)                                             AS monetary,
        count(*) FILTER (WHERE amount > 0)                      AS purchase_lines
    FROM lines
    GROUP BY customer_id
),
features AS (                          -- rule 3: as_of = last line date + 1 day
    SELECT
        customer_id,
        (max(last_line) OVER () + 1) - last_purchase AS recency_days,
        frequency,
        monetary,
        purchase_lines
    FROM per_customer
),
scored AS (                            -- rule 5
    SELECT
        *,
        count(*) OVER () AS n,
        1 + ((rank() OVER (ORDER BY recency_days DESC) - 1) * {BINS}) // count(*) OVER () AS r_score,
        1 + ((rank() OVER (ORDER BY frequency)         - 1) * {BINS}) // count(*) OVER () AS f_score,
        1 + ((rank() OVER (ORDER BY monetary)          - 1) * {BINS}) // count(*) OVER () AS m_score,
        -- rule 7: revenue of the customers with a strictly larger monetary value
        coalesce(sum(monetary) OVER (
            ORDER BY monetary DESC
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE TIES
        ) - monetary, 0)                                        AS before,
        coalesce(sum(monetary) FILTER (WHERE monetary > 0) OVER (), 0) AS total
    FROM features
    WHERE purchase_lines > 0           -- customers without a purchase line are not scored
),
classed AS (                           -- rule 6
    SELECT
        *,
        r_score > avg(r_score) OVER () AS r_high,
        f_score > avg(f_score) OVER () AS f_high,
        m_score > avg(m_score) OVER () AS m_high
    FROM scored
)
SELECT
    customer_id,
    recency_days,
    frequency,
    monetary,
    r_score,
    f_score,
    m_score,
    CASE
        WHEN     r_high AND     f_high AND     m_high THEN 'important_value'
        WHEN NOT r_high AND     f_high AND     m_high THEN 'important_retention'
        WHEN     r_high AND NOT f_high AND     m_high THEN 'important_development'
        WHEN NOT r_high AND NOT f_high AND     m_high THEN 'important_win_back'
        WHEN     r_high AND     f_high AND NOT m_high THEN 'general_value'
        WHEN NOT r_high AND     f_high AND NOT m_high THEN 'general_retention'
        WHEN     r_high AND NOT f_high AND NOT m_high THEN 'general_development'
        ELSE 'general_win_back'
    END AS rfm_class,
    CASE
        WHEN monetary <= 0 OR total = 0   THEN 'C'
        WHEN before * 100 < total * 80    THEN 'A'
        WHEN before * 100 < total * 95    THEN 'B'
        ELSE 'C'
    END AS abc_class
FROM classed
ORDER BY customer_id
"""

CSV_COLUMNS = {
    "customer_id": "VARCHAR",
    "order_id": "VARCHAR",
    "order_date": "DATE",
    "amount": "DECIMAL(18,2)",
    "channel": "VARCHAR",
    "category": "VARCHAR",
}


def sql_str(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: duckdb_job.py INPUT OUTPUT")
    src, out = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    if src.endswith(".parquet"):
        con.execute(
            "CREATE VIEW src AS SELECT customer_id, order_id, order_date, "
            "CAST(amount AS DECIMAL(18,2)) AS amount, channel, category "
            f"FROM read_parquet({sql_str(src)})"
        )
    else:
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in CSV_COLUMNS.items()) + "}"
        con.execute(
            f"CREATE VIEW src AS SELECT * FROM read_csv({sql_str(src)}, header = true, "
            f"delim = ',', quote = '\"', dateformat = '%Y-%m-%d', columns = {columns})"
        )
    con.execute(f"COPY ({QUERY}) TO {sql_str(out)} (FORMAT csv, HEADER true)")


if __name__ == "__main__":
    main()
