"""What every peer job shares: the output columns and the eight RFM classes.

Imported by pandas_job.py, polars_job.py and ../compare.py (standard library only).
"""

# The per-customer output every tool writes, compared cell by cell with Stratum's.
OUTPUT_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_class",
    "abc_class",
]

# (R high, F high, M high) → class code, as in stratum-core's rfm/classes.rs.
CLASSES = {
    (True, True, True): "important_value",
    (False, True, True): "important_retention",
    (True, False, True): "important_development",
    (False, False, True): "important_win_back",
    (True, True, False): "general_value",
    (False, True, False): "general_retention",
    (True, False, False): "general_development",
    (False, False, False): "general_win_back",
}
