# An independent maximum-likelihood fit of Gamma-Gamma: Nelder-Mead on log-parameters (no
# derivatives), restarted until it stops moving, the likelihood summed with numpy and scipy's
# gammaln; then Powell from another start.
#
#   python gamma_gamma_reference.py            the CDNOW sample's summaries (customers with a
#                                              repeat purchase)
#   python gamma_gamma_reference.py LOG        the full CDNOW log (crates/stratum-cli/tests/
#                                              fixtures/CDNOW_master.txt): calibration to
#     1997-09-30, exact duplicate lines dropped (as Stratum drops them), purchases are lines with a
#     dollar value > 0, a transaction is a customer's purchase day (its lines summed), x = repeat
#     days, m = mean value of the repeat days
import collections, csv, datetime, math, os, sys
import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln
xs, ms = [], []
if len(sys.argv) > 1:
    days = collections.defaultdict(lambda: collections.defaultdict(float))
    end = datetime.date(1997, 9, 30)
    seen = set()
    with open(sys.argv[1]) as f:
        next(f)
        for line in f:
            fields = tuple(line.split())
            if fields in seen:
                continue
            seen.add(fields)
            cust, date, n, value = fields
            d = datetime.date(int(date[:4]), int(date[4:6]), int(date[6:]))
            if float(value) > 0 and d <= end:
                days[cust][d] += float(value)
    for by_day in days.values():
        repeat = [by_day[d] for d in sorted(by_day)][1:]
        if repeat and sum(repeat) > 0:
            xs.append(len(repeat)); ms.append(sum(repeat) / len(repeat))
else:
    with open(os.path.join(os.path.dirname(__file__), '../../crates/stratum-core/tests/data/clv/cdnow_customers_summary_with_transactions.csv')) as f:
        for r in csv.DictReader(f):
            x, m = int(r['x']), float(r['zbar'])
            if x > 0 and m > 0:
                xs.append(x); ms.append(m)
x, m = np.array(xs, float), np.array(ms, float)
def ll(p, q, g):
    return np.sum(gammaln(p*x+q) - gammaln(p*x) - gammaln(q) + q*np.log(g) + (p*x-1)*np.log(m)
                  + p*x*np.log(x) - (p*x+q)*np.log(g+m*x))
def nll(u):
    return -ll(*np.exp(u))
u = np.log([6.25, 3.74, 15.44])
for _ in range(40):
    r = minimize(nll, u, method='Nelder-Mead',
                 options={'xatol': 1e-14, 'fatol': 1e-14, 'maxiter': 100000, 'maxfev': 100000})
    if np.allclose(r.x, u, rtol=0, atol=1e-15):
        break
    u = r.x
print(len(xs), [repr(v) for v in np.exp(u)], repr(-r.fun))
# a second, unrelated method from another start: Powell, restarted until it stops moving
v = np.log([1.0, 1.0, 30.0])
for _ in range(60):
    r2 = minimize(nll, v, method='Powell', options={'xtol': 1e-14, 'ftol': 1e-15, 'maxiter': 100000, 'maxfev': 100000})
    if np.allclose(r2.x, v, rtol=0, atol=1e-15):
        break
    v = r2.x
print('powell', [repr(w) for w in np.exp(v)], repr(-r2.fun))
