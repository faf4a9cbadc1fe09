"""The Python peers of `cargo xtask bench`.

    python peers.py gen-rle DATA            # RLE Lossless copy of the first slices
    python peers.py run WORKLOAD DATA RUNS  # time one workload, print one JSON line

Each `run` prints {"times_s": [...], "peak_rss_mb": ..., "check": {...}} like
radlab-bench, so the harness can check that both computed the same thing
before it compares times. Workloads: load (pydicom + numpy), load_sitk
(SimpleITK), rle, scan, window, dice (numpy), hd95 (scipy KD-tree),
hd95_monai, froc_monai, ece_torchmetrics, temperature_torch and sliding
(MONAI venv), froc, fleiss (statsmodels), alpha (krippendorff), ece (numpy),
temperature (scipy), resample (SimpleITK),
process.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

try:
    import pydicom
except ImportError:  # the MONAI venv runs only the sliding workload, which needs no pydicom
    pydicom = None


def sizes(data):
    return json.loads((data / "sizes.json").read_text())


def files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(runs, fn):
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def normal_of(ds):
    o = np.asarray(ds.ImageOrientationPatient, dtype=np.float64)
    return np.cross(o[:3], o[3:])


def load_pydicom(folder):
    """Read every file, rescale to HU as float32, sort by position along the normal."""
    slices = []
    for f in files(folder):
        ds = pydicom.dcmread(f)
        hu = ds.pixel_array.astype(np.float32) * np.float32(ds.RescaleSlope) + np.float32(ds.RescaleIntercept)
        z = float(np.dot(np.asarray(ds.ImagePositionPatient, dtype=np.float64), normal_of(ds)))
        slices.append((z, hu))
    slices.sort(key=lambda s: s[0])
    return np.stack([s[1] for s in slices])


def hu_check(vol):
    return {"voxels": float(vol.size), "sum": float(vol.sum(dtype=np.float64)),
            "min": float(vol.min()), "max": float(vol.max())}


def window_u8(vol, center, width, t=None, out=None):
    """PS3.3 LINEAR, rounded half up, as a numpy user writes it (float32, in place).

    With `t` (float32) and `out` (uint8) buffers of the volume's shape, nothing
    is allocated: the re-windowing case of a viewer, timed by the "window" row.
    """
    t = np.subtract(vol, np.float32(center - 0.5), out=t)
    t *= np.float32(255.0 / (width - 1.0))
    t += np.float32(128.0)
    np.floor(t, out=t)
    np.clip(t, 0, 255, out=t)
    if out is None:
        return t.astype(np.uint8)
    np.copyto(out, t, casting="unsafe")
    return out


def bench_masks(s):
    """The two masks of radlab-bench's `bench_masks`, in the same integer arithmetic."""
    nz, ny, nx = s["mask_shape"]
    z = np.arange(nz, dtype=np.int64)[:, None, None]
    y = np.arange(ny, dtype=np.int64)[None, :, None]
    x = np.arange(nx, dtype=np.int64)[None, None, :]

    def inside(e):
        cz, cy, cx, rz, ry, rx = e
        return ((z - cz) * ry * rx) ** 2 + ((y - cy) * rz * rx) ** 2 + ((x - cx) * rz * ry) ** 2 <= (rz * ry * rx) ** 2
    bz, by, bx, br = s["mask_blob"]
    blob = (z - bz) ** 2 + (y - by) ** 2 + (x - bx) ** 2 <= br * br
    return inside(s["mask_a"]), inside(s["mask_b"]) | blob


def u8_check(out):
    return {"sum": float(out.sum(dtype=np.uint64)), "zeros": float((out == 0).sum()),
            "full": float((out == 255).sum())}


def free_port():
    import socket

    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def receive(data, runs, receiver):
    """Receive the CT series into another storage SCP, sent by radlab-bench's
    common sender (RADLAB_BENCH_EXE) in its own process, as radlab's row is."""
    import socket
    import subprocess
    import tempfile

    sender = os.environ["RADLAB_BENCH_EXE"]
    times, check = [], {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            port = free_port()
            proc = subprocess.Popen(receiver(port, out), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                deadline = time.time() + 30
                while True:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                        break
                    except OSError:
                        if time.time() > deadline or proc.poll() is not None:
                            raise RuntimeError("the receiver did not start")
                        time.sleep(0.02)
                r = subprocess.run([sender, "send", "--address", f"127.0.0.1:{port}",
                                    "--data", str(data)], capture_output=True, check=True)
                v = json.loads(r.stdout)
                times.append(v["seconds"])
                stored = sum(len(fs) for _, _, fs in os.walk(out))
                check = {"instances": float(stored), "bytes_sent": float(v["bytes"])}
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    return times, check


def run(workload, data, runs):
    if workload == "scp_dcmtk":
        # --fork: one process per association (storescp serves one at a
        # time otherwise); TCP_NODELAY=1: dcmtk's switch for Nagle's algorithm.
        os.environ["TCP_NODELAY"] = "1"
        return receive(data, runs, lambda port, out: ["storescp", "--fork", "-od", out, str(port)])
    if workload == "scp_pynetdicom":
        return receive(data, runs, lambda port, out: [
            sys.executable, "-m", "pynetdicom", "storescp", str(port), "-ba", "127.0.0.1",
            "-od", out])
    s = sizes(data)
    c, w = s["window"]
    if workload == "load":
        times, vol = timed(runs, lambda: load_pydicom(data / "ct"))
        return times, hu_check(vol)
    if workload == "load_sitk":
        import SimpleITK as sitk

        def load():
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(data / "ct")))
            return sitk.GetArrayFromImage(sitk.Cast(reader.Execute(), sitk.sitkFloat32))
        times, vol = timed(runs, load)
        return times, hu_check(vol)
    if workload == "rle":
        times, vol = timed(runs, lambda: load_pydicom(data / "rle"))
        return times, hu_check(vol)
    if workload == "scan":
        def scan():
            headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files(data / "ct")]
            n = normal_of(headers[0])
            headers.sort(key=lambda ds: float(np.dot(np.asarray(ds.ImagePositionPatient, dtype=np.float64), n)))
            return [int(ds.InstanceNumber) for ds in headers]
        times, order = timed(runs, scan)
        return times, {"files": float(len(order)),
                       "order_weighted_sum": float(sum(k * v for k, v in enumerate(order)))}
    if workload == "window":
        vol = load_pydicom(data / "ct")
        t, buf = np.empty_like(vol), np.empty(vol.shape, np.uint8)
        times, out = timed(runs, lambda: window_u8(vol, c, w, t, buf))
        return times, u8_check(out)
    if workload == "resample":
        import SimpleITK as sitk
        arr = np.load(data / "resample_in.npy")
        spacing, target = s["resample_spacing"], s["resample_target"]
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing((spacing[2], spacing[1], spacing[0]))
        shape = [max(1, int(round(arr.shape[a] * spacing[a] / target[a]))) for a in range(3)]

        def resample():
            out = sitk.Resample(img, [shape[2], shape[1], shape[0]], sitk.Transform(), sitk.sitkLinear,
                                (0.0, 0.0, 0.0), (target[2], target[1], target[0]),
                                (1, 0, 0, 0, 1, 0, 0, 0, 1), 0.0, sitk.sitkFloat32)
            return sitk.GetArrayFromImage(out)
        times, out = timed(runs, resample)
        lim = [sum(1 for i in range(out.shape[a]) if i * target[a] / spacing[a] <= arr.shape[a] - 1 + 1e-9)
               for a in range(3)]
        interior = out[:lim[0], :lim[1], :lim[2]]
        return times, {"nz": float(out.shape[0]), "ny": float(out.shape[1]), "nx": float(out.shape[2]),
                       "interior_voxels": float(interior.size),
                       "interior_sum": float(interior.sum(dtype=np.float64))}
    if workload == "process":
        from PIL import Image

        def process():
            vol = load_pydicom(data / "ct")
            out = window_u8(vol, c, w)
            mid = out[out.shape[0] // 2]
            Image.fromarray(mid).save(data / "process_python.png")
            return int(mid.sum(dtype=np.uint64))
        times, total = timed(runs, process)
        return times, {"slice_sum": float(total)}
    if workload == "dice":
        a, b = bench_masks(s)

        def dice():
            tp = np.count_nonzero(a & b)
            sa, sb = np.count_nonzero(a), np.count_nonzero(b)
            return 2.0 * tp / (sa + sb), tp / (sa + sb - tp), tp
        times, (d, iou, tp) = timed(runs, dice)
        return times, {"dice": d, "iou": iou, "tp": float(tp)}
    if workload == "hd95":
        from scipy.ndimage import binary_erosion
        from scipy.spatial import cKDTree
        a, b = bench_masks(s)
        spacing = np.asarray(s["mask_spacing"])

        def hd():
            # Surfaces as scipy users write them, then nearest neighbours both ways.
            pa = np.argwhere(a & ~binary_erosion(a)) * spacing
            pb = np.argwhere(b & ~binary_erosion(b)) * spacing
            da, _ = cKDTree(pb).query(pa)
            db, _ = cKDTree(pa).query(pb)
            return (max(np.percentile(da, 95), np.percentile(db, 95)), max(da.max(), db.max()))
        times, (hd95, hausdorff) = timed(runs, hd)
        return times, {"hd95": float(hd95), "hausdorff": float(hausdorff)}
    if workload in ("froc", "froc_monai"):
        fp = np.load(data / "froc_fp.npy")
        les = np.load(data / "froc_lesions.npy")
        scans = s["froc"][0]
        luna = (0.125, 0.25, 0.5, 1, 2, 4, 8)
        camelyon = (0.25, 0.5, 1, 2, 4, 8)
        if workload == "froc_monai":
            from monai.metrics import compute_froc_curve_data, compute_froc_score
            tp_probs = np.nan_to_num(les[:, 1], nan=0.0)

            def curve():
                fps, sens = compute_froc_curve_data(fp[:, 1], tp_probs, len(les), scans)
                return (compute_froc_score(fps, sens, luna), compute_froc_score(fps, sens, camelyon))
            times, (cpm, cam) = timed(runs, curve)
            return times, {"cpm": float(cpm), "camelyon16": float(cam)}

        def curve():
            # Sort every kept score once, count cumulatively, one point per distinct score.
            hit = les[~np.isnan(les[:, 1]), 1]
            scores = np.concatenate([fp[:, 1], hit])
            is_tp = np.concatenate([np.zeros(len(fp)), np.ones(len(hit))])
            order = np.argsort(-scores, kind="stable")
            scores, is_tp = scores[order], is_tp[order]
            tps = np.cumsum(is_tp)
            fps = np.cumsum(1.0 - is_tp)
            last = np.r_[scores[1:] != scores[:-1], True]
            x = np.r_[0.0, fps[last] / scans]
            y = np.r_[0.0, tps[last] / len(les)]
            return (np.mean(np.interp(luna, x, y)), np.mean(np.interp(camelyon, x, y)), len(x))
        times, (cpm, cam, n) = timed(runs, curve)
        return times, {"cpm": float(cpm), "camelyon16": float(cam), "points": float(n)}
    if workload == "fleiss":
        from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
        ratings = np.load(data / "agree_ratings.npy")

        def kappa():
            table, _ = aggregate_raters(ratings)
            return float(fleiss_kappa(table, method="fleiss"))
        times, k = timed(runs, kappa)
        return times, {"kappa": k}
    if workload == "alpha":
        import krippendorff
        units = np.load(data / "agree_units.npy")
        times, a = timed(runs, lambda: float(krippendorff.alpha(
            reliability_data=units, level_of_measurement="nominal")))
        return times, {"alpha": a}
    if workload in ("ece", "ece_torchmetrics"):
        conf = np.load(data / "ece_conf.npy")
        correct = np.load(data / "ece_correct.npy")
        if workload == "ece_torchmetrics":
            import torch
            from torchmetrics.functional.classification import binary_calibration_error
            torch.set_num_threads(2)
            pc, tc = torch.from_numpy(conf), torch.from_numpy(correct.astype(np.int64))

            def ece():
                return float(binary_calibration_error(pc, tc, n_bins=15, norm="l1"))
        else:
            edges = np.linspace(0.0, 1.0, 16)

            def ece():
                # torchmetrics' binning: [a, b) and p = 1 in a 16th bin.
                idx = np.searchsorted(edges, conf, side="right") - 1
                n = np.bincount(idx, minlength=16)
                sc = np.bincount(idx, weights=conf, minlength=16)
                so = np.bincount(idx, weights=correct, minlength=16)
                return float(np.abs(so - sc).sum() / len(conf))
        times, value = timed(runs, ece)
        return times, {"ece": value}
    if workload in ("temperature", "temperature_torch"):
        z = np.load(data / "temp_logits.npy")
        y = np.load(data / "temp_labels.npy")
        if workload == "temperature_torch":
            import torch
            torch.set_num_threads(2)
            logits, target = torch.from_numpy(z), torch.from_numpy(y)

            def fit():
                log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
                opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, tolerance_grad=1e-10,
                                        tolerance_change=1e-14, line_search_fn="strong_wolfe")

                def closure():
                    opt.zero_grad()
                    loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), target)
                    loss.backward()
                    return loss
                opt.step(closure)
                return float(log_t.detach().exp())
            times, t = timed(runs, fit)
            return times, {"temperature": t}
        from scipy.optimize import minimize_scalar
        from scipy.special import log_softmax
        rows = np.arange(len(y))

        def fit():
            def nll(t):
                return -log_softmax(z / t, axis=1)[rows, y].mean()
            r = minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded", options={"xatol": 1e-8})
            return float(r.x), float(r.fun)
        times, (t, after) = timed(runs, fit)
        return times, {"temperature": t, "nll_after": after}
    if workload == "hd95_monai":
        import torch
        from monai.metrics import compute_hausdorff_distance
        torch.set_num_threads(2)
        a, b = bench_masks(s)
        ta = torch.from_numpy(a)[None, None]
        tb = torch.from_numpy(b)[None, None]

        def hd():
            h95 = compute_hausdorff_distance(ta, tb, include_background=True, percentile=95,
                                             spacing=list(s["mask_spacing"]))
            return float(h95[0, 0])
        times, hd95 = timed(runs, hd)
        return times, {"hd95": hd95}
    if workload == "sliding":
        import onnxruntime
        import torch
        from monai.inferers import sliding_window_inference
        torch.set_num_threads(2)
        model = Path(__file__).resolve().parents[2] / "sample_data/models/nodule_segmenter.onnx"
        session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        volume = torch.from_numpy(np.load(data / "sliding_in.npy")[None, None])
        forward = [0.0]

        def predictor(t):
            start = time.perf_counter()
            out = session.run(["probability"], {"volume": t.numpy()})[0]
            forward[0] += time.perf_counter() - start
            return torch.from_numpy(out)
        forwards = []

        def slide():
            forward[0] = 0.0
            with torch.no_grad():
                out = sliding_window_inference(volume, tuple(s["sliding_roi"]), 1, predictor,
                                               overlap=s["sliding_overlap"], mode="constant")
            forwards.append(forward[0])
            return np.asarray(out)[0]
        times, out = timed(runs, slide)
        ratios = sorted(t / f for t, f in zip(times, forwards))
        return times, {"mean_probability": float(out.astype(np.float64).mean()),
                       "overhead_ratio": ratios[len(ratios) // 2],
                       "forwards_s": sum(forwards) / len(forwards)}
    if workload == "gradcam_monai":
        # MONAI's GradCAM on the bundled classifier rebuilt in torch from
        # the ONNX weights (tools/results/make_cam_fixture.py's Rebuilt):
        # forward, backward, upsampling to 32 x 32 and MONAI's normaliser,
        # on the 64 crops radlab-bench's classifier_crops takes. No overlay
        # (numpy has no colormap): the peer does less work than radlab.
        import onnx
        import torch
        from monai.visualize import GradCAM
        from onnx import numpy_helper
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "results"))
        from make_cam_fixture import Rebuilt
        torch.set_num_threads(2)
        onnx_path = Path(__file__).resolve().parents[2] / "sample_data/models/nodule_classifier.onnx"
        w = {i.name: numpy_helper.to_array(i).copy() for i in onnx.load(str(onnx_path)).graph.initializer}
        model = Rebuilt(w).eval()
        vol = np.load(data / "sliding_in.npy")
        nz, ny, nx = vol.shape
        per_slice = (ny // 32) * (nx // 32)
        crops = np.zeros((64, 1, 32, 32), np.float32)
        for i in range(64):
            z, k = (i // per_slice) % nz, i % per_slice
            y, x = (k // (nx // 32)) * 32, (k % (nx // 32)) * 32
            crops[i, 0] = vol[z, y:y + 32, x:x + 32]
        xt = torch.from_numpy(crops)
        cam = GradCAM(model, target_layers="body.7")

        def run_cam():
            return np.asarray(cam(xt))[:, 0].astype(np.float64)
        times, maps = timed(runs, run_cam)
        # MONAI's default normaliser is inverted (1 - min-max); radlab's
        # convention is min-max. A constant map (all zeros after the ReLU)
        # is left as it is by MONAI and is all zeros in radlab: both sides
        # average the maps that are not constant.
        varying = [1.0 - m for m in maps if m.max() > m.min()]
        return times, {"mean_map": float(np.mean([m.mean() for m in varying])),
                       "constant_maps": float(len(maps) - len(varying))}
    if workload == "results_highdicom":
        return results_highdicom(data, runs)
    raise SystemExit(f"unknown workload {workload}")


def result_labels(shape):
    """The three balls radlab-bench's result_labels makes."""
    nz, ny, nx = shape
    r = max(1, nx // 40)
    z, y, x = np.ogrid[:nz, :ny, :nx]
    out = np.zeros(shape, np.uint8)
    for i, (fz, fy, fx) in enumerate([(0.3, 0.4, 0.35), (0.6, 0.55, 0.65), (0.5, 0.3, 0.7)]):
        c = (int(fz * nz), int(fy * ny), int(fx * nx))
        out[(z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r] = i + 1
    return out


def results_highdicom(data, runs):
    """SEG + TID 1500 SR with highdicom, the source datasets read first."""
    import io
    import highdicom as hd
    from pydicom.sr.codedict import codes
    srcs = [pydicom.dcmread(f) for f in files(data / "ct")]
    n = normal_of(srcs[0])
    srcs.sort(key=lambda d: float(np.dot(n, [float(v) for v in d.ImagePositionPatient])))
    labels = result_labels((len(srcs), srcs[0].Rows, srcs[0].Columns))

    def write():
        k = int(labels.max())
        descs = [hd.seg.SegmentDescription(
            segment_number=i, segment_label=f"Nodule {i}",
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Nodule,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=hd.AlgorithmIdentificationSequence(
                name="nodule-segmenter", version="1",
                family=codes.cid7162.ArtificialIntelligence),
            tracking_uid=hd.UID(), tracking_id=f"Nodule {i}") for i in range(1, k + 1)]
        seg = hd.seg.Segmentation(
            source_images=srcs, pixel_array=labels,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descs, series_instance_uid=hd.UID(), series_number=9001,
            sop_instance_uid=hd.UID(), instance_number=1, manufacturer="peer",
            manufacturer_model_name="nodule-segmenter", software_versions="1",
            device_serial_number="1")
        groups = [hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"Nodule {i}"),
            referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, i),
            finding_type=codes.SCT.Nodule, finding_sites=[hd.sr.FindingSite(codes.SCT.Lung)],
            measurements=[hd.sr.Measurement(
                name=codes.SCT.Volume, value=float((labels == i).sum()),
                unit=codes.UCUM.CubicMillimeter)]) for i in range(1, k + 1)]
        report = hd.sr.MeasurementReport(
            observation_context=hd.sr.ObservationContext(
                observer_device_context=hd.sr.ObserverContext(
                    observer_type=codes.DCM.Device,
                    observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                        uid=hd.UID()))),
            procedure_reported=codes.LN.CTUnspecifiedBodyRegion, imaging_measurements=groups)
        sr = hd.sr.Comprehensive3DSR(
            evidence=list(srcs) + [seg], content=report, series_instance_uid=hd.UID(),
            series_number=9002, sop_instance_uid=hd.UID(), instance_number=1, manufacturer="peer")
        for d in (seg, sr):
            d.save_as(io.BytesIO(), enforce_file_format=True)
        return k
    times, k = timed(runs, write)
    return times, {"segments": float(k), "voxels": float((labels > 0).sum())}


def gen_rle(data):
    from pydicom.uid import RLELossless
    s = sizes(data)
    out = data / "rle"
    out.mkdir(exist_ok=True)
    want = s["rle_slices"]
    if len(files(out)) == want:
        return
    for f in files(data / "ct")[:want]:
        ds = pydicom.dcmread(f)
        ds.compress(RLELossless, encoding_plugin="pylibjpeg")
        ds.save_as(out / f.name, enforce_file_format=True)


def main():
    if sys.argv[1] == "gen-rle":
        gen_rle(Path(sys.argv[2]))
        return
    workload, data, runs = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    times, check = run(workload, data, runs)
    print(json.dumps({"times_s": times, "peak_rss_mb": peak_rss_mb(), "check": check}))


if __name__ == "__main__":
    main()
