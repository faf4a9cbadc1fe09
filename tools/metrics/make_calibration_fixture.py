"""Calibration metrics computed by scikit-learn, netcal, torchmetrics, MONAI,
scipy and torch on shared predictions, for radlab's parity test.

Usage: python3 tools/metrics/make_calibration_fixture.py OUT.json
(venv: tools/models/requirements.txt.)

Two prediction sets, both seeded:

- binary: 3000 probabilities of class 1, multiples of 1/1024 (exact in
  float32, so MONAI's float32 arithmetic loses nothing on the inputs),
  including exactly 0 and 1 (two of each wrong), none in [0.40, 0.46) (an empty bin), and labels
  drawn so that the model is too high below 0.5 and too low above (gaps of
  both signs, so the bin layout matters);
- multiclass: 1500 rows of 14 logits; labels drawn from softmax(z / 1.7),
  probabilities softmax(z) (over-confident by a temperature of about 1.7).

Each library is called with its own defaults for the number of bins:
sklearn's calibration_curve 5 (uniform and quantile), netcal 10, torchmetrics
15, MONAI 20. Temperature: scipy's bounded scalar minimiser and torch's
LBFGS on log T, both on the multiclass logits.
"""

import json
import pathlib
import sys

import monai
import netcal
import numpy as np
import scipy
import sklearn
import torch
import torchmetrics
from monai.metrics import CalibrationErrorMetric
from netcal.metrics import ECE, MCE
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.calibration import calibration_curve
from torchmetrics.functional.classification import binary_calibration_error, multiclass_calibration_error


def binary_set(rng):
    k = rng.integers(0, 1025, size=3000)
    k = np.where((k >= 410) & (k < 471), k - 100, k)  # nothing in [0.40, 0.46)
    k[:5] = 0
    k[5:10] = 1024
    p = k / 1024.0
    truth = np.where(p < 0.5, p**2 * 2, 1 - (1 - p) ** 2 * 2)  # over-confident below 0.5, under above
    y = (rng.random(3000) < truth).astype(np.int64)
    y[:2] = 1  # confident mistakes at p = 0 ...
    y[5:7] = 0  # ... and at p = 1
    return p, y


def multiclass_set(rng):
    z = np.round(rng.normal(size=(1500, 14)) * 2.5, 3)  # short in JSON, exact as stored
    q = softmax(z / 1.7, axis=1)
    y = np.array([rng.choice(14, p=row) for row in q])
    return z, softmax(z, axis=1), y


def top_label(probs, y):
    return probs.max(axis=1), (probs.argmax(axis=1) == y).astype(np.float64)


def sklearn_curves(outcome, conf):
    out = {}
    for strategy in ("uniform", "quantile"):
        prob_true, prob_pred = calibration_curve(outcome, conf, n_bins=5, strategy=strategy)
        out[strategy] = {"prob_true": prob_true.tolist(), "prob_pred": prob_pred.tolist()}
    return out


def monai_binary(p, y):
    yp = torch.from_numpy(p.astype(np.float32))[None, None]
    yt = torch.from_numpy(y.astype(np.float32))[None, None]
    out = {}
    for red in ("expected", "average", "maximum"):
        m = CalibrationErrorMetric(num_bins=20, include_background=True, calibration_reduction=red)
        m(y_pred=yp, y=yt)
        out[red] = float(m.aggregate())
    return out


def temperature_scipy(z, y):
    def nll(t):
        return -log_softmax(z / t, axis=1)[np.arange(len(y)), y].mean()

    r = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded", options={"xatol": 1e-10})
    return float(r.x), float(nll(1.0)), float(r.fun)


def temperature_torch(z, y):
    logits = torch.from_numpy(z)
    target = torch.from_numpy(y)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), target)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def main():
    out = pathlib.Path(sys.argv[1])
    rng = np.random.default_rng(20261130)
    p, y = binary_set(rng)
    z, probs, labels = multiclass_set(rng)
    conf, correct = top_label(probs, labels)
    pt = torch.from_numpy(p)
    yt = torch.from_numpy(y)
    doc = {
        "made_by": "tools/metrics/make_calibration_fixture.py",
        "versions": {
            "scikit-learn": sklearn.__version__,
            "netcal": netcal.__version__,
            "torchmetrics": torchmetrics.__version__,
            "monai": monai.__version__,
            "torch": torch.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
        },
        "binary": {
            "q1024": [int(round(v * 1024)) for v in p],
            "labels": "".join(str(int(v)) for v in y),
            "sklearn": sklearn_curves(y, p),
            "netcal_ece_10": float(ECE(bins=10).measure(p, y)),
            "netcal_mce_10": float(MCE(bins=10).measure(p, y)),
            "torchmetrics_ece_15": float(binary_calibration_error(pt, yt, n_bins=15, norm="l1")),
            "torchmetrics_mce_15": float(binary_calibration_error(pt, yt, n_bins=15, norm="max")),
            "monai_20": monai_binary(p, y),
        },
        "multiclass": {
            "logits": [[float(v) for v in row] for row in z],
            "labels": [int(v) for v in labels],
            "sklearn_top_label": sklearn_curves(correct, conf),
            "netcal_ece_10": float(ECE(bins=10).measure(probs, labels)),
            "torchmetrics_ece_15": float(multiclass_calibration_error(
                torch.from_numpy(probs), torch.from_numpy(labels), num_classes=14, n_bins=15, norm="l1")),
        },
    }
    t, before, after = temperature_scipy(z, labels)
    doc["multiclass"]["temperature_scipy"] = {"temperature": t, "nll_before": before, "nll_after": after}
    doc["multiclass"]["temperature_torch_lbfgs"] = temperature_torch(z, labels)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    tmp.replace(out)
    print(f"{out}: binary ECE netcal {doc['binary']['netcal_ece_10']:.6f}, "
          f"torchmetrics {doc['binary']['torchmetrics_ece_15']:.6f}, MONAI {doc['binary']['monai_20']['expected']:.6f}; "
          f"T = {t:.6f}")


if __name__ == "__main__":
    main()
