"""Golden outputs of the bundled models, and the MONAI sliding-window fixture.

For each model, runs Python onnxruntime on fixed inputs and saves inputs and
outputs as .npy; then runs MONAI's sliding_window_inference with the
segmentation model (through onnxruntime) on a crop of a validation phantom,
with constant and Gaussian blending. radlab's tests must reproduce all of it.

Usage: python make_fixtures.py DATA MODELS OUT
"""

import hashlib
import json
import sys
from pathlib import Path

import monai
import numpy as np
import onnxruntime
import torch
from monai.inferers import sliding_window_inference

sys.path.insert(0, str(Path(__file__).parent))
from train_models import window01  # noqa: E402


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def session(path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main():
    data, models, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "made_by": "tools/models/make_fixtures.py",
        "versions": {"onnxruntime": onnxruntime.__version__, "monai": monai.__version__,
                     "torch": torch.__version__, "numpy": np.__version__},
        "models": {},
    }

    cls_path = models / "nodule_classifier.onnx"
    xs = window01(np.load(data / "val_cls_x.npy"))
    pick = np.linspace(0, len(xs) - 1, 16).round().astype(int)
    patch = np.ascontiguousarray(xs[pick][:, None])
    logit, features = session(cls_path).run(["logit", "features"], {"patch": patch})
    np.save(out / "classifier_input.npy", patch)
    np.save(out / "classifier_logit.npy", logit)
    np.save(out / "classifier_features.npy", features)
    record["models"]["nodule_classifier.onnx"] = sha256(cls_path)

    seg_path = models / "nodule_segmenter.onnx"
    seg = session(seg_path)
    vol = np.ascontiguousarray(window01(np.load(data / "val_seg_x.npy")[:1])[:, None])
    (prob,) = seg.run(["probability"], {"volume": vol})
    np.save(out / "segmenter_input.npy", vol)
    np.save(out / "segmenter_probability.npy", prob)
    record["models"]["nodule_segmenter.onnx"] = sha256(seg_path)

    crop = window01(np.load(data / "parity_hu.npy"))
    np.save(out / "sliding_input.npy", crop)

    def predictor(t):
        return torch.from_numpy(seg.run(["probability"], {"volume": t.numpy()})[0])

    settings = {"roi_size": [16, 32, 48], "sw_batch_size": 3, "overlap": 0.25,
                "sigma_scale": 0.125, "padding_mode": "constant", "cval": 0.0}
    record["sliding_window"] = settings
    inputs = torch.from_numpy(crop[None, None])
    for mode in ("constant", "gaussian"):
        with torch.no_grad():
            result = sliding_window_inference(
                inputs, settings["roi_size"], settings["sw_batch_size"], predictor,
                overlap=settings["overlap"], mode=mode, sigma_scale=settings["sigma_scale"],
                padding_mode=settings["padding_mode"], cval=settings["cval"])
        np.save(out / f"sliding_{mode}.npy", np.asarray(result)[0].astype(np.float32))
    (out / "fixtures.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
