"""The Python peer of radlab's sliding-window timing: MONAI 1.6.1's
sliding_window_inference driving Python onnxruntime 1.31.1 with the bundled
segmenter, on the input radlab's `sliding_timing` example wrote.

Usage: python bench_sliding.py MODEL.onnx INPUT.npy [RUNS] [BATCH] [RADLAB_OUTPUT.npy]
"""

import sys
import time

import numpy as np
import onnxruntime
import torch
from monai.inferers import sliding_window_inference


def main():
    model, input_path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    radlab_out = sys.argv[5] if len(sys.argv) > 5 else None
    torch.set_num_threads(2)
    options = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    volume = torch.from_numpy(np.load(input_path)[None, None])
    forward = [0.0]

    def predictor(t):
        start = time.perf_counter()
        out = session.run(["probability"], {"volume": t.numpy()})[0]
        forward[0] += time.perf_counter() - start
        return torch.from_numpy(out)

    totals = []
    for run in range(runs):
        forward[0] = 0.0
        start = time.perf_counter()
        with torch.no_grad():
            out = sliding_window_inference(volume, (64, 128, 128), batch, predictor, overlap=0.25, mode="constant")
        total = time.perf_counter() - start
        totals.append((total, forward[0]))
        print(f"run {run + 1}: total {total:.3f} s, forwards {forward[0]:.3f} s, ratio {total / forward[0]:.3f}", flush=True)
        if run == 0 and radlab_out:
            diff = np.abs(np.asarray(out)[0] - np.load(radlab_out)).max()
            print(f"largest difference from radlab's output: {diff:.2e}")
    totals.sort()
    t, f = totals[len(totals) // 2]
    print(f"median run: total {t:.3f} s, forwards {f:.3f} s, overhead ratio {t / f:.3f}")


if __name__ == "__main__":
    main()
