"""Detection metrics computed by MONAI and scipy on seeded scans, for radlab's parity test.

Usage: python3 tools/metrics/make_detection_fixture.py OUT.json
(venv: tools/models/requirements.txt, which pins MONAI 1.6.1, scipy and torch.)

Each scenario is a list of small scans ([z, y, x]): a label mask (0
background, one value per lesion) and a probability map stored as integers
q in 0..=255 (two hex digits per voxel; probability = q / 256, exact in float32, so ties happen as in
real quantised outputs). For each scan the fixture stores:

- scipy's candidates: components of p >= 0.5 with a 3x3x3 structure
  (26-connectivity), each scored by its maximum, placed at its first
  maximum (`ndimage.maximum_position`);
- MONAI's `compute_fp_tp_probs_nd` on those candidates and the label mask;

and for the scenario MONAI's `compute_froc_curve_data` over all scans (all
scans counted as images) and `compute_froc_score` at CAMELYON16's and
LUNA16's operating points.
"""

import json
import pathlib
import sys

import monai
import numpy as np
import scipy
from monai.metrics import compute_fp_tp_probs_nd, compute_froc_curve_data, compute_froc_score
from scipy import ndimage

SHAPE = (8, 16, 16)
CAMELYON16 = (0.25, 0.5, 1, 2, 4, 8)
LUNA16 = (0.125, 0.25, 0.5, 1, 2, 4, 8)


def bump(centre, sigma, amplitude):
    zz, yy, xx = np.meshgrid(*[np.arange(n) for n in SHAPE], indexing="ij")
    d2 = (zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2
    return amplitude * np.exp(-d2 / (2 * sigma**2))


def scan(rng, lesions, false_bumps, found=0.8, label_values=None):
    labels = np.zeros(SHAPE, np.int64)
    prob = rng.random(SHAPE) * 0.3
    zz, yy, xx = np.meshgrid(*[np.arange(n) for n in SHAPE], indexing="ij")
    for k in range(lesions):
        c = (rng.integers(2, SHAPE[0] - 2), rng.integers(3, SHAPE[1] - 3), rng.integers(3, SHAPE[2] - 3))
        r = rng.uniform(1.2, 2.5)
        ball = (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r
        value = label_values[k] if label_values else k + 1
        labels[ball & (labels == 0)] = value
        if rng.random() < found:
            prob = np.maximum(prob, bump(c, 1.2, rng.uniform(0.55, 1.0)))
            if rng.random() < 0.4:
                # A second peak on the same lesion: a duplicate detection.
                c2 = (c[0], c[1] + 1, c[2] + 1)
                prob = np.maximum(prob, bump(c2, 0.6, rng.uniform(0.5, 0.9)))
    for _ in range(false_bumps):
        c = (rng.integers(0, SHAPE[0]), rng.integers(0, SHAPE[1]), rng.integers(0, SHAPE[2]))
        prob = np.maximum(prob, bump(c, 0.9, rng.uniform(0.5, 0.95)))
    q = np.clip(np.floor(prob * 256), 0, 255).astype(np.int64)
    return labels, q


def candidates(q):
    p = (q / 256.0).astype(np.float32)
    comp, n = ndimage.label(p >= 0.5, structure=np.ones((3, 3, 3)))
    out = []
    for lab in range(1, n + 1):
        pos = ndimage.maximum_position(p, comp, lab)
        out.append({"voxel": [int(v) for v in pos], "score": float(p[pos])})
    return p, out


def scenarios():
    rng = np.random.default_rng(20261129)
    mixed = [scan(rng, rng.integers(0, 4), rng.integers(0, 4)) for _ in range(10)]
    mixed.append(scan(rng, 0, 3))  # negatives-only scans with false positives
    mixed.append(scan(rng, 0, 0))  # and one with nothing at all
    yield "mixed, with negative scans", mixed
    everything = [scan(rng, 1, 1, found=1.0) for _ in range(5)]
    yield "every lesion found", everything
    gaps = [scan(rng, 2, 2, found=0.7, label_values=[1, 3]) for _ in range(4)]
    yield "labels with a gap (1 and 3)", gaps


def main():
    out = pathlib.Path(sys.argv[1])
    result = []
    for name, scans in scenarios():
        entries, all_fp, all_tp, targets = [], [], [], 0
        for labels, q in scans:
            p, cands = candidates(q)
            coords = np.array([c["voxel"] for c in cands], dtype=np.int64).reshape(-1, 3)
            probs = np.array([c["score"] for c in cands], dtype=np.float32)
            fp, tp, n = compute_fp_tp_probs_nd(probs, coords, labels)
            all_fp.extend(float(v) for v in fp)
            all_tp.extend(float(v) for v in tp)
            targets += int(n)
            entries.append(
                {
                    "labels": "".join(str(int(v)) for v in labels.ravel()),
                    "q": "".join(f"{v:02x}" for v in q.ravel()),
                    "scipy_candidates": cands,
                    "monai_fp_probs": [float(v) for v in fp],
                    "monai_tp_probs": [float(v) for v in tp],
                    "monai_num_targets": int(n),
                }
            )
        fps, sens = compute_froc_curve_data(np.array(all_fp), np.array(all_tp), targets, len(scans))
        result.append(
            {
                "name": name,
                "scans": entries,
                "monai_fps_per_image": [float(v) for v in fps],
                "monai_sensitivity": [float(v) for v in sens],
                "monai_froc_camelyon16": float(compute_froc_score(fps, sens, CAMELYON16)),
                "monai_froc_luna16": float(compute_froc_score(fps, sens, LUNA16)),
            }
        )
    doc = {
        "made_by": "tools/metrics/make_detection_fixture.py",
        "shape": list(SHAPE),
        "threshold": 0.5,
        "monai": monai.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "scenarios": result,
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
    tmp.replace(out)
    print(f"{out}: {len(result)} scenarios, {sum(len(s['scans']) for s in result)} scans")


if __name__ == "__main__":
    main()
