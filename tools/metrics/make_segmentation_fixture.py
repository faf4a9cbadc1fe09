"""Segmentation metrics computed by MONAI on seeded masks, for radlab's parity test.

Usage: python3 tools/metrics/make_segmentation_fixture.py OUT.json
(venv: tools/models/requirements.txt, which pins MONAI 1.6.1 and torch.)

Each case stores two masks ([z, y, x], as strings of 0/1 in C order), the
spacing (z, y, x) in mm, and MONAI's Dice and IoU (ignore_empty True and
False), Hausdorff (max and 95th percentile, undirected), average symmetric
surface distance and surface Dice at a tolerance.
"""

import json
import pathlib
import sys

import monai
import numpy as np
import torch
from monai.metrics import (
    compute_average_surface_distance,
    compute_dice,
    compute_hausdorff_distance,
    compute_iou,
    compute_surface_dice,
)


def ball(shape, centre, radius, spacing):
    zz, yy, xx = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    d2 = ((zz - centre[0]) * spacing[0]) ** 2 + ((yy - centre[1]) * spacing[1]) ** 2 + ((xx - centre[2]) * spacing[2]) ** 2
    return d2 <= radius**2


def cases():
    rng = np.random.default_rng(20261128)
    s1 = (2.5, 0.8, 0.7)
    yield "overlapping balls", ball((24, 32, 28), (11, 15, 13), 7.0, s1), ball((24, 32, 28), (12, 17, 12), 6.0, s1), s1, 1.5
    s2 = (1.0, 1.5, 0.5)
    yield "random noise", rng.random((10, 12, 14)) < 0.3, rng.random((10, 12, 14)) < 0.3, s2, 1.0
    s3 = (0.7, 0.7, 2.0)
    yield "touching the border", ball((12, 16, 10), (0, 8, 5), 4.0, s3), ball((12, 16, 10), (1, 7, 4), 4.0, s3), s3, 0.5
    empty = np.zeros((6, 7, 8), bool)
    some = empty.copy()
    some[2:4, 3:5, 1:6] = True
    yield "empty reference", some, empty, (1.0, 1.0, 1.0), 1.0
    yield "both empty", empty, empty, (1.0, 1.0, 1.0), 1.0
    yield "empty prediction", empty, some, (2.0, 1.0, 1.0), 1.0


def onehot(mask):
    return torch.from_numpy(mask.astype(np.float32))[None, None]


def num(x):
    v = float(x)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf"
    return v


def main():
    out = pathlib.Path(sys.argv[1])
    result = []
    for name, pred, ref, spacing, tol in cases():
        p, r = onehot(pred), onehot(ref)
        entry = {
            "name": name,
            "shape": list(pred.shape),
            "spacing": list(spacing),
            "tolerance_mm": tol,
            "pred": "".join("1" if v else "0" for v in pred.ravel()),
            "reference": "".join("1" if v else "0" for v in ref.ravel()),
            "dice_ignore_empty": num(compute_dice(p, r, include_background=True, ignore_empty=True)[0, 0]),
            "dice_count_empty": num(compute_dice(p, r, include_background=True, ignore_empty=False)[0, 0]),
            "iou_ignore_empty": num(compute_iou(p, r, include_background=True, ignore_empty=True)[0, 0]),
            "iou_count_empty": num(compute_iou(p, r, include_background=True, ignore_empty=False)[0, 0]),
        }
        if pred.any() and ref.any():
            entry["hausdorff"] = num(compute_hausdorff_distance(p, r, include_background=True, spacing=list(spacing))[0, 0])
            entry["hd95"] = num(compute_hausdorff_distance(p, r, include_background=True, percentile=95, spacing=list(spacing))[0, 0])
            entry["assd"] = num(compute_average_surface_distance(p, r, include_background=True, symmetric=True, spacing=list(spacing))[0, 0])
            entry["surface_dice"] = num(compute_surface_dice(p, r, [tol], include_background=True, spacing=list(spacing))[0, 0])
        result.append(entry)
    doc = {
        "made_by": "tools/metrics/make_segmentation_fixture.py",
        "monai": monai.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cases": result,
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    print(f"{out}: {len(result)} cases")


if __name__ == "__main__":
    main()
