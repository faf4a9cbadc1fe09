"""STAPLE consensus and per-reader sensitivity and specificity computed by
SimpleITK, for radlab's parity test (radlab_metrics::segmentation::staple).

Usage: python3 tools/metrics/make_staple_fixture.py OUT.json
(pinned: numpy 2.4.6, SimpleITK 2.5.7.)

Each case is a small [z, y, x] volume: a true structure (an ellipsoid), and
readers who mark it with their own habits: voxel noise at a set sensitivity
and specificity, a loose outline (the structure grown by one voxel), a
reader who misses its lower half. Masks are stored as strings of '0'/'1' in
C order. Options: SimpleITK's defaults, and one case with a confidence
weight of 0.5 and at most 3 iterations.
"""

import json
import sys

import numpy as np
import SimpleITK as sitk

rng = np.random.default_rng(20261206)


def ellipsoid(shape, center, radii):
    z, y, x = np.indices(shape)
    return (((z - center[0]) / radii[0]) ** 2 + ((y - center[1]) / radii[1]) ** 2
            + ((x - center[2]) / radii[2]) ** 2) <= 1.0


def noisy(truth, sens, spec):
    u = rng.random(truth.shape)
    return np.where(truth, u < sens, u > spec)


def grown(m):
    out = m.copy()
    for axis in range(3):
        out |= np.roll(m, 1, axis) | np.roll(m, -1, axis)
    return out


def run(masks, weight=None, iters=None):
    f = sitk.STAPLEImageFilter()
    if weight is not None:
        f.SetConfidenceWeight(weight)
    if iters is not None:
        f.SetMaximumIterations(iters)
    out = f.Execute([sitk.GetImageFromArray(m.astype(np.uint8)) for m in masks])
    prob = sitk.GetArrayFromImage(out)
    return {
        "shape": list(masks[0].shape),
        "masks": ["".join("1" if v else "0" for v in m.ravel()) for m in masks],
        "confidence_weight": f.GetConfidenceWeight(),
        "max_iterations": int(f.GetMaximumIterations()),
        "sensitivity": list(f.GetSensitivity()),
        "specificity": list(f.GetSpecificity()),
        "elapsed_iterations": int(f.GetElapsedIterations()),
        "probability_sum": float(prob.sum()),
        "probability_sample": [float(v) for v in prob.ravel()[::37]],
        "consensus_voxels": int((prob > 0.5).sum()),
    }


cases = []
t = ellipsoid((10, 24, 24), (4.5, 11.5, 12.0), (3.2, 7.0, 6.0))
cases.append(run([noisy(t, 0.95, 0.99), noisy(t, 0.85, 0.995), noisy(t, 0.9, 0.97)]))
half = t.copy()
half[:5] = False
cases.append(run([noisy(t, 0.97, 0.995), grown(t), half, noisy(t, 0.9, 0.99), t]))
cases.append(run([noisy(t, 0.9, 0.98), grown(t), half], weight=0.5, iters=3))
t2 = ellipsoid((6, 16, 20), (2.5, 8.0, 9.0), (1.5, 3.0, 4.0))
cases.append(run([t2, noisy(t2, 0.8, 0.999), grown(grown(t2)), noisy(t2, 0.99, 0.95)]))

json.dump({"versions": {"numpy": np.__version__, "SimpleITK": sitk.Version_VersionString()},
           "cases": cases}, open(sys.argv[1], "w"))
