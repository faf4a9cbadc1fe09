"""MONAI 1.6.1's CAM and GradCAM of radlab's bundled nodule classifier, as
the parity fixture of radlab-explain (sample_data/fixtures/cam/).

The classifier's ONNX graph is Conv-ReLU-MaxPool x 2, Conv-ReLU (the
`features` output, 32 x 8 x 8), ReduceMean over the plane, Gemm (the class
row `head.weight`, `head.bias`). The same network is rebuilt in torch from
the ONNX initializers (batch norms are already folded into the convolutions
by the export), checked against onnxruntime, and handed to MONAI.

Inputs are seeded synthetic windowed patches (values in [0, 1]): a noisy
lung background with a bright blob at a random place and size.

Run with the models stack (tools/models/requirements.txt, target/models-venv):
    python make_cam_fixture.py sample_data/models/nodule_classifier.onnx sample_data/fixtures/cam
"""

import json
import sys
from pathlib import Path

import monai
import numpy as np
import onnx
import onnxruntime
import torch
from monai.visualize import CAM, GradCAM
from onnx import numpy_helper
from torch import nn

SEED = 20261203


class Rebuilt(nn.Module):
    def __init__(self, w):
        super().__init__()
        convs = [("onnx::Conv_38", "onnx::Conv_39"), ("onnx::Conv_41", "onnx::Conv_42"),
                 ("onnx::Conv_44", "onnx::Conv_45")]
        layers = []
        for k, (wn, bn) in enumerate(convs):
            c = nn.Conv2d(w[wn].shape[1], w[wn].shape[0], 3, padding=1)
            c.weight.data = torch.from_numpy(w[wn])
            c.bias.data = torch.from_numpy(w[bn])
            layers += [c, nn.ReLU()]
            if k < 2:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(32, 1)
        self.head.weight.data = torch.from_numpy(w["head.weight"])
        self.head.bias.data = torch.from_numpy(w["head.bias"])

    def forward(self, x):
        return self.head(self.pool(self.body(x)).flatten(1))


def patches(n, rng):
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    out = []
    for _ in range(n):
        img = 0.15 + 0.03 * rng.standard_normal((32, 32))
        cy, cx = rng.uniform(6, 26, size=2)
        r = rng.uniform(2.0, 6.0)
        img += 0.6 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        out.append(np.clip(img, 0, 1))
    return np.stack(out)[:, None].astype(np.float32)


def main():
    onnx_path, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    g = onnx.load(str(onnx_path)).graph
    w = {i.name: numpy_helper.to_array(i).copy() for i in g.initializer}
    torch.manual_seed(SEED)
    model = Rebuilt(w).eval()
    x = patches(8, np.random.default_rng(SEED))
    sess = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ort_logit, ort_features = sess.run(["logit", "features"], {"patch": x})
    with torch.no_grad():
        t_logit = model(torch.from_numpy(x)).numpy()
    assert np.allclose(t_logit, ort_logit, atol=1e-5), (t_logit, ort_logit)

    xt = torch.from_numpy(x)
    ident = lambda a: a  # noqa: E731
    cam_raw = CAM(model, target_layers="body.7", fc_layers="head", postprocessing=ident)(xt)
    cam = CAM(model, target_layers="body.7", fc_layers="head")(xt)
    grad_raw = GradCAM(model, target_layers="body.7", postprocessing=ident)(xt)
    grad = GradCAM(model, target_layers="body.7")(xt)
    np.save(out / "inputs.npy", x)
    np.save(out / "ort_logit.npy", ort_logit.astype(np.float32))
    np.save(out / "head_weight.npy", w["head.weight"].reshape(-1).astype(np.float32))
    np.save(out / "head_bias.npy", w["head.bias"].reshape(-1).astype(np.float32))
    for name, a in [("monai_cam_raw", cam_raw), ("monai_cam", cam),
                    ("monai_gradcam_raw", grad_raw), ("monai_gradcam", grad)]:
        np.save(out / f"{name}.npy", a.detach().numpy().astype(np.float32))
    (out / "versions.json").write_text(json.dumps({
        "monai": monai.__version__, "torch": torch.__version__, "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "seed": SEED,
        "target_layers": "body.7 (the last ReLU: the ONNX 'features' output)",
        "upsampler": "MONAI default: bilinear, align_corners=False, to 32 x 32",
        "postprocessing": "monai_*: default_normalizer (min -> 1, max -> 0: inverted); *_raw: none",
    }, indent=2) + "\n")
    # The cascading randomisation of Adebayo et al. (2018): the head, then
    # the head and the last convolution, re-initialised with a seeded normal
    # of the trained weights' scale. Saved as ONNX so radlab runs them itself.
    rng = np.random.default_rng(SEED + 1)
    m2 = onnx.load(str(onnx_path))
    cascade = [("random_head", ["head.weight", "head.bias"]),
               ("random_head_conv3", ["onnx::Conv_44", "onnx::Conv_45"])]
    for name, names in cascade:
        for init in m2.graph.initializer:
            if init.name in names:
                a = numpy_helper.to_array(init)
                r = (rng.standard_normal(a.shape) * a.std()).astype(a.dtype)
                init.CopyFrom(numpy_helper.from_array(r, init.name))
        onnx.save(m2, str(out / f"classifier_{name}.onnx"))
    print("wrote", out)


if __name__ == "__main__":
    main()
