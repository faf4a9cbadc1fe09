"""Agreement coefficients computed by scikit-learn, statsmodels and the
krippendorff package, for radlab's parity test.

Usage: python3 tools/metrics/make_agreement_fixture.py OUT.json
(pinned: numpy 2.4.6, scikit-learn 1.9.1, statsmodels 0.15.0,
krippendorff 0.9.0.)

Cases:
- cohen: two readers' labels, and a seeded 3-reader x 200-subject set of
  ordinal scores 1..5; sklearn's cohen_kappa_score unweighted, linear and
  quadratic for reader pairs;
- fleiss: subjects x raters labels, aggregated by statsmodels'
  aggregate_raters, then fleiss_kappa with method 'fleiss' and 'randolph';
- krippendorff: raters x units (NaN missing), alpha at the four levels,
  including the package's default (interval) for the record; Krippendorff's
  own 4-observer x 12-unit example (Computing Krippendorff's
  Alpha-Reliability, 2011) is one of the cases, a 3 x 2500 set of
  values on a 0.1 grid another, one unit rated twice the last.
"""

import json
import sys

import krippendorff
import numpy as np
import sklearn
import statsmodels
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

out = {"versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__,
                    "statsmodels": statsmodels.__version__,
                    "krippendorff": getattr(krippendorff, "__version__", "0.9.0")}}

rng = np.random.default_rng(20261204)
truth = rng.integers(1, 6, size=200)
readers = [np.clip(truth + rng.integers(-1, 2, size=200) * (rng.random(200) < p), 1, 5)
           for p in (0.2, 0.4, 0.6)]
cohen = [{"a": [0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2, 2], "b": [0, 1, 1, 2, 1, 0, 2, 2, 1, 1, 2, 1]}]
for i in range(3):
    for j in range(i + 1, 3):
        cohen.append({"a": readers[i].tolist(), "b": readers[j].tolist()})
for c in cohen:
    for w in (None, "linear", "quadratic"):
        c[w or "unweighted"] = float(cohen_kappa_score(c["a"], c["b"], weights=w))
out["cohen"] = cohen

fleiss = [[[0, 0, 1], [1, 1, 1], [2, 2, 1], [2, 2, 2], [1, 0, 1], [0, 0, 0], [2, 1, 2], [1, 1, 2]],
          np.stack(readers, axis=1).tolist()]
fl = []
for ratings in fleiss:
    table, cats = aggregate_raters(np.array(ratings))
    fl.append({"ratings": ratings, "categories": cats.tolist(),
               "fleiss": float(fleiss_kappa(table, method="fleiss")),
               "randolph": float(fleiss_kappa(table, method="randolph"))})
out["fleiss"] = fl

nan = float("nan")
krip_cases = [
    # Krippendorff (2011), 4 observers x 12 units, '.' missing.
    [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
     [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]],
    np.array(fleiss[0], dtype=float).T.tolist(),
    np.stack(readers).astype(float).tolist(),
]
# Two more: 3 readers x 2500 units of values on a 0.1 grid (about 80
# distinct values, more than radlab's short list holds; more units than one
# block of its loop; the package needs units x values^2 floats, so not
# finer), one in ten missing; and the least data alpha is defined on (one
# unit rated twice).
big_rng = np.random.default_rng(20261206)
base = big_rng.normal(0.0, 1.0, 2500)
big = np.round(np.clip(base[None, :] + big_rng.normal(0.0, 0.6, (3, 2500)), -4, 4), 1)
big[big_rng.random((3, 2500)) < 0.1] = nan
krip_cases.append(big.tolist())
krip_cases.append([[1, 2, nan], [3, nan, 4]])
kr = []
for data in krip_cases:
    arr = np.array(data, dtype=float)
    row = {"data": [[None if np.isnan(v) else v for v in r] for r in arr.tolist()]}
    for level in ("nominal", "ordinal", "interval", "ratio"):
        row[level] = float(krippendorff.alpha(reliability_data=arr, level_of_measurement=level))
    row["package_default"] = float(krippendorff.alpha(reliability_data=arr))
    kr.append(row)
out["krippendorff"] = kr

with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
