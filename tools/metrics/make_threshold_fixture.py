"""Per-group operating thresholds for a target sensitivity, read off
scikit-learn's roc_curve, for radlab's parity test
(radlab_metrics::subgroups::threshold_for_sensitivity).

Usage: python3 tools/metrics/make_threshold_fixture.py OUT.json
(pinned: numpy 2.4.6, scikit-learn 1.9.1.)

For each group and target, the threshold is the first (highest) one
roc_curve lists with tpr >= target (drop_intermediate=False, so no
threshold is skipped); deciding score >= threshold then reaches the target.
Scores are rounded to two decimals so that ties occur, and one group's
scores run higher than the others' (a shifted score distribution, as a
scanner with more noise gives).
"""

import json
import sys

import numpy as np
import sklearn
from sklearn.metrics import roc_curve

rng = np.random.default_rng(20261206)
n = 1200
groups = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
truth = rng.random(n) < np.where(groups == "c", 0.15, 0.3)
shift = np.where(groups == "b", 0.8, 0.0)
scores = np.round(1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.6 * truth + shift - 0.8))), 2)
targets = [0.5, 0.8, 0.9, 0.95, 1.0, 0.3333333333333333]
out = {"versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
       "groups": groups.tolist(), "truth": truth.tolist(), "scores": scores.tolist(),
       "targets": targets, "thresholds": {}}
for g in sorted(set(groups.tolist())):
    m = groups == g
    fpr, tpr, thr = roc_curve(truth[m], scores[m], drop_intermediate=False)
    out["thresholds"][g] = [float(thr[np.argmax(tpr >= t)]) for t in targets]
json.dump(out, open(sys.argv[1], "w"))
