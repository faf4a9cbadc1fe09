"""Subgroup metrics computed by fairlearn, for radlab's parity test.

Usage: python3 tools/metrics/make_fairness_fixture.py OUT.json
(pinned: numpy 2.4.6, pandas, scikit-learn 1.9.1, fairlearn 0.15.0.)

3000 seeded cases in three groups of unequal size (a, b, c) whose
decisions err at different rates; fairlearn's MetricFrame gives recall
(TPR), false positive rate and selection rate by group, their difference
and ratio (method 'between_groups'), and equalized_odds_difference (worst
case and mean), demographic_parity_difference, equal_opportunity_difference.
"""

import json
import sys

import fairlearn
import numpy as np
from fairlearn.metrics import (MetricFrame, demographic_parity_difference,
                               equal_opportunity_difference,
                               equalized_odds_difference, false_positive_rate,
                               selection_rate)
from sklearn.metrics import recall_score

rng = np.random.default_rng(20261204)
groups = rng.choice(["a", "b", "c"], size=3000, p=[0.6, 0.3, 0.1])
truth = rng.random(3000) < np.where(groups == "c", 0.3, 0.2)
flip = rng.random(3000) < np.select([groups == "a", groups == "b"], [0.1, 0.2], 0.3)
decision = np.where(flip, ~truth, truth)

mf = MetricFrame(metrics={"tpr": recall_score, "fpr": false_positive_rate, "selection": selection_rate},
                 y_true=truth, y_pred=decision, sensitive_features=groups)
out = {
    "versions": {"fairlearn": fairlearn.__version__, "numpy": np.__version__},
    "groups": groups.tolist(),
    "truth": truth.tolist(),
    "decision": decision.tolist(),
    "by_group": {m: {g: float(v) for g, v in mf.by_group[m].items()} for m in mf.by_group.columns},
    "difference": {m: float(v) for m, v in mf.difference().items()},
    "ratio": {m: float(v) for m, v in mf.ratio().items()},
    "equalized_odds_worst": float(equalized_odds_difference(truth, decision, sensitive_features=groups)),
    "equalized_odds_mean": float(equalized_odds_difference(truth, decision, sensitive_features=groups, agg="mean")),
    "demographic_parity": float(demographic_parity_difference(truth, decision, sensitive_features=groups)),
    "equal_opportunity": float(equal_opportunity_difference(truth, decision, sensitive_features=groups)),
}
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
    f.write("\n")
