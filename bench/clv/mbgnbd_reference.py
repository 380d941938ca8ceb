"""Reference numbers for Stratum's MBG/NBD tests, from lifetimes' ModifiedBetaGeoFitter.

Usage: python bench/clv/mbgnbd_reference.py
(lifetimes 0.11.3 with pandas<2, numpy<2, scipy<1.12, e.g. in a venv:
 pip install "lifetimes==0.11.3" "pandas<2" "numpy<2" "scipy<1.12")

Fits ModifiedBetaGeoFitter (no penalty, lifetimes' default tolerance 1e-7) and BetaGeoFitter on
the CDNOW summary that ships with lifetimes (the file Stratum's tests read from
crates/stratum-core/tests/data/clv/cdnow_customers_summary.csv), prints the parameters and the
log-likelihood, and P(alive) and the conditional expected purchases in 39 weeks at the fitted
MBG/NBD parameters for the customers the tests use. The printed values are pasted into
crates/stratum-core/tests/it/clv.rs. Reads nothing from the network.
"""
import numpy as np
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter
from lifetimes.datasets import load_cdnow_summary

data = load_cdnow_summary(index_col=[0])
f, r, T = data["frequency"], data["recency"], data["T"]

mbg = ModifiedBetaGeoFitter()
mbg.fit(f, r, T)
bg = BetaGeoFitter()
bg.fit(f, r, T)

for name, m in [("MBG/NBD", mbg), ("BG/NBD", bg)]:
    p = m.params_
    ll = -m._negative_log_likelihood(np.log(p.values), f.values, r.values, T.values, np.ones(len(data)), 0) * len(data)
    print(f"{name}: r {p['r']!r} alpha {p['alpha']!r} a {p['a']!r} b {p['b']!r} log-likelihood {ll!r}")

print("MBG/NBD at the fitted parameters: (x, t_x, T, P(alive), E[Y(39) | x, t_x, T])")
for x, tx, t in [(0, 0.0, 38.86), (0, 0.0, 10.0), (2, 30.43, 38.86), (1, 1.71, 38.86), (7, 29.43, 35.14), (14, 34.0, 35.0)]:
    alive = float(mbg.conditional_probability_alive(x, tx, t)[0])
    expected = float(mbg.conditional_expected_number_of_purchases_up_to_time(39, x, tx, t))
    print(f"  ({x}, {tx}, {t}, {alive!r}, {expected!r}),")
print(f"MBG/NBD E[X(39)] of a new customer: {float(mbg.expected_number_of_purchases_up_to_time(39))!r}")
