"""Fits BG/NBD and Gamma-Gamma with lifetimes on the summaries Stratum computed.

Usage: lifetimes_job.py PREDICTIONS_CSV PENALTY
Reads frequency, recency, T and monetary from Stratum's predictions.csv (the same customers, the
same summaries), fits lifetimes' BetaGeoFitter on all of them and GammaGammaFitter on those with
repeat purchases, and prints one JSON object: parameters and seconds per fit.
"""
import json
import sys
import time
import warnings

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

warnings.simplefilter("ignore")
path, penalty = sys.argv[1], float(sys.argv[2])
data = pd.read_csv(path, usecols=["frequency", "recency", "T", "monetary"])

start = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=penalty)
bg.fit(data["frequency"], data["recency"], data["T"])
bg_seconds = time.perf_counter() - start

repeat = data[(data["frequency"] > 0) & (data["monetary"] > 0)]
start = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=penalty)
gg.fit(repeat["frequency"], repeat["monetary"])
gg_seconds = time.perf_counter() - start

print(json.dumps({
    "bgnbd": {k: float(v) for k, v in bg.params_.items()},
    "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
    "bgnbd_seconds": bg_seconds,
    "gamma_gamma_seconds": gg_seconds,
    "customers": len(data),
    "repeat_customers_with_positive_spend": len(repeat),
}))
