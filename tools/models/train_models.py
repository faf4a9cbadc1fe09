"""Train radlab's two bundled models on radlab-synth phantoms and export them.

Reads the .npy sets written by `cargo run --release -p radlab-synth --example
training_data -- DATA` and writes, under OUT (sample_data/models):

* nodule_classifier.onnx + .toml: 2-D axial 32x32 patch -> nodule logit, with
  the last convolution's feature maps as a second output (for class
  activation maps);
* nodule_segmenter.onnx + .toml: fully convolutional 3-D network -> nodule
  probability per voxel, any input size.

Everything is seeded; run on the CPU. Usage:
    python train_models.py DATA OUT
"""

import json
import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

SEED = 20261128
WINDOW_CENTER = -600.0
WINDOW_WIDTH = 1500.0


def window01(hu):
    """clamp((hu - (c - w/2)) / w, 0, 1) in float32, as radlab-infer does."""
    low = np.float32(WINDOW_CENTER - WINDOW_WIDTH / 2.0)
    width = np.float32(WINDOW_WIDTH)
    return np.clip((hu.astype(np.float32) - low) / width, 0.0, 1.0).astype(np.float32)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        )
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        features = self.body(x)
        logit = self.head(features.mean(dim=(2, 3)))
        return logit, features


class Segmenter(nn.Module):
    """Dilated 3-D convolutions: receptive field 31 voxels, any input size.

    Wide enough to see a vessel run on past a bright spot (a nodule ends, a
    vessel does not) and a line of burned-in text for what it is."""

    def __init__(self, ch=12):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(1, ch, 3, padding=1), nn.ReLU(),
            nn.Conv3d(ch, ch, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv3d(ch, ch, 3, padding=4, dilation=4), nn.ReLU(),
            nn.Conv3d(ch, ch, 3, padding=8, dilation=8), nn.ReLU(),
            nn.Conv3d(ch, 1, 1),
        )

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def auroc(scores, labels):
    """Area under the ROC curve by the rank-sum formula (ties get mid-ranks)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def augment(x, rng):
    """Random flips and 90-degree rotations in the axial plane."""
    k = int(rng.integers(4))
    x = np.rot90(x, k, axes=(-2, -1))
    if rng.integers(2):
        x = x[..., ::-1]
    return np.ascontiguousarray(x)


def train_classifier(data):
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    x = window01(np.load(data / "train_cls_x.npy"))[:, None]
    y = np.load(data / "train_cls_y.npy").astype(np.float32)[:, None]
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    epochs = 40
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), 64):
            idx = order[start:start + 64]
            xb = torch.from_numpy(augment(x[idx], rng))
            yb = torch.from_numpy(y[idx])
            opt.zero_grad()
            logit, _ = model(xb)
            loss = loss_fn(logit, yb)
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        print(f"classifier epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f}", flush=True)
    model.eval()
    return model, epochs, len(x)


def dice(pred, target):
    inter = (pred & target).sum()
    denom = pred.sum() + target.sum()
    return float(2.0 * inter / denom) if denom else 1.0


def train_segmenter(data):
    torch.manual_seed(SEED + 1)
    rng = np.random.default_rng(SEED + 1)
    x = window01(np.load(data / "train_seg_x.npy"))[:, None]
    y = np.load(data / "train_seg_y.npy").astype(np.float32)[:, None]
    model = Segmenter()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    bce = nn.BCELoss()
    iterations = int(__import__("os").environ.get("RADLAB_SEG_ITERATIONS", "3000"))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=iterations * 2 // 3, gamma=0.3)
    # Every batch holds two patches with a nodule and two without: the soft
    # Dice term then always has a nodule to reward, and the negatives teach
    # what is not one (an all-negative batch pushes the net to predict nothing).
    positive = np.flatnonzero(y.reshape(len(y), -1).max(axis=1) > 0)
    negative = np.flatnonzero(y.reshape(len(y), -1).max(axis=1) == 0)
    for it in range(iterations):
        idx = np.concatenate([rng.choice(positive, size=2, replace=False),
                              rng.choice(negative, size=2, replace=False)])
        k = int(rng.integers(4))
        xb = torch.from_numpy(np.ascontiguousarray(np.rot90(x[idx], k, axes=(-2, -1))))
        yb = torch.from_numpy(np.ascontiguousarray(np.rot90(y[idx], k, axes=(-2, -1))))
        opt.zero_grad()
        p = model(xb)
        soft_dice = 1.0 - (2.0 * (p * yb).sum() + 1.0) / (p.sum() + yb.sum() + 1.0)
        loss = bce(p, yb) + soft_dice
        loss.backward()
        opt.step()
        sched.step()
        if (it + 1) % 100 == 0:
            print(f"segmenter iteration {it + 1}/{iterations}: loss {float(loss.detach()):.4f}", flush=True)
    model.eval()
    return model, iterations, len(x)


def export(model, dummy, path, input_name, output_names, dynamic_axes):
    torch.onnx.export(
        model, dummy, str(path), opset_version=17, input_names=[input_name],
        output_names=output_names, dynamic_axes=dynamic_axes, dynamo=False,
    )
    onnx.checker.check_model(onnx.load(str(path)))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def toml_value(v):
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(i) for i in v) + "]"
    if isinstance(v, float):
        return repr(float(v))
    return str(v)


def write_card(path, card):
    lines = []
    tables = {}
    arrays = {}
    for key, value in card.items():
        if isinstance(value, dict):
            tables[key] = value
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            arrays[key] = value
        else:
            lines.append(f"{key} = {toml_value(value)}")
    for key, items in arrays.items():
        for item in items:
            lines.append("")
            lines.append(f"[[{key}]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
    for key, table in tables.items():
        lines.append("")
        lines.append(f"[{key}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for sub, subtable in table.items():
            if isinstance(subtable, dict):
                lines.append("")
                lines.append(f"[{key}.{sub}]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in subtable.items()]
    Path(path).write_text("# Written by tools/models/train_models.py; do not edit by hand.\n" + "\n".join(lines) + "\n")


def ort_session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main():
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    manifest = json.loads((data / "manifest.json").read_text())
    versions = {"torch": torch.__version__, "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__, "numpy": np.__version__}

    # RADLAB_TRAIN_ONLY=segmenter (or classifier) keeps the other model already in OUT.
    only = __import__("os").environ.get("RADLAB_TRAIN_ONLY", "")
    if only != "segmenter":
        # Classifier.
        cls, cls_epochs, n_train = train_classifier(data)
        cls_path = out / "nodule_classifier.onnx"
        export(cls, torch.zeros(1, 1, 32, 32), cls_path, "patch", ["logit", "features"],
               {"patch": {0: "batch"}, "logit": {0: "batch"}, "features": {0: "batch"}})
        sess = ort_session(cls_path)
        metrics = {}
        for split in ("val", "shift"):
            xs = window01(np.load(data / f"{split}_cls_x.npy"))[:, None]
            ys = np.load(data / f"{split}_cls_y.npy")
            logits = sess.run(["logit"], {"patch": xs})[0][:, 0]
            metrics[f"{split}_accuracy"] = float(((logits > 0) == (ys == 1)).mean())
            metrics[f"{split}_auroc"] = auroc(logits, ys)
            metrics[f"{split}_examples"] = int(len(ys))
        print("classifier", metrics, flush=True)
        write_card(out / "nodule_classifier.toml", {
            "name": "nodule-classifier",
            "description": "2-D axial CT patch (32 x 32 voxels at 1.8 mm, lung window) -> logit that a nodule sits at the centre. A global-average-pool head over the last convolution, whose feature maps are the second output (class activation maps).",
            "task": "classification",
            "file": cls_path.name,
            "sha256": sha256(cls_path),
            "opset": 17,
            "labels": ["no nodule", "nodule"],
            "inputs": [{"name": "patch", "shape": [-1, 1, 32, 32], "dtype": "float32",
                        "description": "windowed HU in [0, 1]"}],
            "outputs": [
                {"name": "logit", "shape": [-1, 1], "dtype": "float32",
                 "description": "nodule logit; sigmoid gives the probability"},
                {"name": "features", "shape": [-1, 32, 8, 8], "dtype": "float32",
                 "description": "last convolution's feature maps (ReLU), 8 x 8 over the patch"},
            ],
            "preprocessing": {"window_center": WINDOW_CENTER, "window_width": WINDOW_WIDTH,
                              "patch_size": [32, 32], "spacing_mm": [1.8, 1.8],
                              "notes": "axial slice; x = clamp((HU - (center - width/2)) / width, 0, 1)"},
            "training": {"seed": SEED,
                         "data": "radlab-synth chest phantoms, vendors " + ", ".join(manifest["train"]["vendors"]) + "; nothing else",
                         "train_case_seeds": manifest["train"]["case_seeds"],
                         "val_case_seeds": manifest["val"]["case_seeds"],
                         "train_examples": n_train, "val_examples": metrics["val_examples"],
                         "epochs": cls_epochs, "versions": versions},
            "metrics": {k: v for k, v in metrics.items() if not k.endswith("_examples")},
        })

    # RADLAB_TRAIN_ONLY=classifier keeps the segmenter already in OUT.
    if only != "classifier":
        # Segmenter.
        seg, seg_iters, n_seg = train_segmenter(data)
        seg_path = out / "nodule_segmenter.onnx"
        export(seg, torch.zeros(1, 1, 16, 48, 48), seg_path, "volume", ["probability"],
               {"volume": {0: "batch", 2: "z", 3: "y", 4: "x"},
                "probability": {0: "batch", 2: "z", 3: "y", 4: "x"}})
        sess = ort_session(seg_path)
        seg_metrics = {}
        for split in ("val", "shift"):
            xs = window01(np.load(data / f"{split}_seg_x.npy"))[:, None]
            ys = np.load(data / f"{split}_seg_y.npy")[:, None].astype(bool)
            probs = np.concatenate([sess.run(["probability"], {"volume": xs[i:i + 8]})[0] for i in range(0, len(xs), 8)])
            seg_metrics[f"{split}_dice"] = dice(probs > 0.5, ys)
        print("segmenter", seg_metrics, flush=True)
        write_card(out / "nodule_segmenter.toml", {
            "name": "nodule-segmenter",
            "description": "Fully convolutional 3-D network (dilated convolutions, receptive field 31 voxels) -> per-voxel nodule probability on the input grid; any input size.",
            "task": "segmentation",
            "file": seg_path.name,
            "sha256": sha256(seg_path),
            "opset": 17,
            "labels": ["background", "nodule"],
            "inputs": [{"name": "volume", "shape": [-1, 1, -1, -1, -1], "dtype": "float32",
                        "description": "windowed HU in [0, 1], [batch, 1, z, y, x]"}],
            "outputs": [{"name": "probability", "shape": [-1, 1, -1, -1, -1], "dtype": "float32",
                         "description": "nodule probability per voxel"}],
            "preprocessing": {"window_center": WINDOW_CENTER, "window_width": WINDOW_WIDTH,
                              "patch_size": [16, 48, 48], "spacing_mm": [2.5, 1.8, 1.8],
                              "notes": "x = clamp((HU - (center - width/2)) / width, 0, 1); trained on 16 x 48 x 48 patches"},
            "training": {"seed": SEED + 1,
                         "data": "radlab-synth chest phantoms, vendors " + ", ".join(manifest["train"]["vendors"]) + "; nothing else",
                         "train_case_seeds": manifest["train"]["case_seeds"],
                         "val_case_seeds": manifest["val"]["case_seeds"],
                         "train_examples": n_seg, "val_examples": int(manifest["val"]["segmentation_patches"]),
                         "epochs": seg_iters, "versions": versions},
            "metrics": seg_metrics,
        })


if __name__ == "__main__":
    main()
