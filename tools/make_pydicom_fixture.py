#!/usr/bin/env python3
"""Reference values for radlab's real-file tests, computed with pydicom.

For every DICOM file shipped in the pydicom and pydicom-data wheels this
records header values and, for grayscale images, statistics of the pixel
values after the modality rescale (value = stored * RescaleSlope +
RescaleIntercept, taken per frame from the top level or the functional
groups, as PS3.3 C.7.6.16.2.9 places them in enhanced objects).

Pixel decoding is pydicom's (with pylibjpeg for JPEG and JPEG 2000).

Usage (run by `cargo xtask fixtures`, or by hand):
    python3 tools/make_pydicom_fixture.py THIRD_PARTY_DIR OUT.json
where THIRD_PARTY_DIR is target/third-party as `cargo xtask test` lays it out.
"""
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.uid import UID

ROOTS = ["pydicom/pydicom/data/test_files", "pydicom-data/data_store/data"]


def text(ds, kw):
    v = ds.get(kw)
    return None if v is None else str(v)


def functional(ds, frame, seq_kw, kw):
    pf = ds.get("PerFrameFunctionalGroupsSequence")
    if pf is not None and frame < len(pf):
        inner = pf[frame].get(seq_kw)
        if inner and kw in inner[0]:
            return inner[0][kw].value
    sh = ds.get("SharedFunctionalGroupsSequence")
    if sh:
        inner = sh[0].get(seq_kw)
        if inner and kw in inner[0]:
            return inner[0][kw].value
    return ds.get(kw)


def entry(root, rel):
    e = {"path": rel}
    try:
        return describe(root, rel, e)
    except Exception as exc:  # a header value pydicom cannot interpret
        e["category"] = "peer-error"
        e["reason"] = f"{type(exc).__name__}: {exc}"[:200]
        return e


def describe(root, rel, e):
    path = os.path.join(root, rel)
    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # not Part 10, or broken
        e["category"] = "unreadable"
        e["reason"] = type(exc).__name__
        return e
    ts = ds.file_meta.get("TransferSyntaxUID")
    e["transfer_syntax"] = str(ts) if ts else None
    e["sop_class_uid"] = text(ds, "SOPClassUID")
    e["series_uid"] = text(ds, "SeriesInstanceUID")
    e["modality"] = text(ds, "Modality")
    e["patient_name"] = text(ds, "PatientName")
    if "PixelData" not in ds or "Rows" not in ds:
        e["category"] = "no-pixels"
        return e
    e["rows"] = int(ds.Rows)
    e["columns"] = int(ds.Columns)
    e["frames"] = int(ds.get("NumberOfFrames", 1) or 1)
    e["photometric"] = text(ds, "PhotometricInterpretation")
    e["bits_allocated"] = int(ds.BitsAllocated)
    if int(ds.get("SamplesPerPixel", 1)) != 1 or not str(ds.PhotometricInterpretation).startswith("MONOCHROME"):
        e["category"] = "colour"
        return e
    if int(ds.BitsAllocated) not in (8, 16, 32):
        e["category"] = "bit-depth"
        return e
    if ts is not None and UID(ts).is_compressed and str(ts).startswith("1.2.840.10008.1.2.4.8"):
        e["category"] = "jpeg-ls"  # radlab refuses these by design (no pure-Rust decoder)
        return e
    try:
        arr = ds.pixel_array
    except Exception as exc:
        e["category"] = "peer-cannot-decode"
        e["reason"] = f"{type(exc).__name__}: {exc}"[:200]
        return e
    arr = arr.reshape((e["frames"], e["rows"], e["columns"])).astype(np.float64)
    means = []
    lo, hi, total = np.inf, -np.inf, 0.0
    for f in range(e["frames"]):
        slope = functional(ds, f, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = functional(ds, f, "PixelValueTransformationSequence", "RescaleIntercept")
        slope = float(slope.value if hasattr(slope, "value") else slope) if slope not in (None, "") else 1.0
        if slope == 0.0:
            slope = 1.0
        intercept = float(intercept.value if hasattr(intercept, "value") else intercept) if intercept not in (None, "") else 0.0
        v = arr[f] * slope + intercept
        means.append(float(v.mean()))
        lo, hi, total = min(lo, float(v.min())), max(hi, float(v.max())), total + float(v.sum())
    e["category"] = "image"
    e["lossy"] = bool(ts is not None and str(ts) in (
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.203",
    )) or text(ds, "LossyImageCompression") == "01"
    e["min"] = lo
    e["max"] = hi
    e["mean"] = total / arr.size
    e["frame_means"] = means
    return e


def main():
    tp, out = sys.argv[1], sys.argv[2]
    entries = []
    for r in ROOTS:
        root = os.path.join(tp, r)
        for name in sorted(os.listdir(root)):
            if name.endswith(".dcm"):
                entries.append(entry(tp, os.path.join(r, name)))
    doc = {
        "made_by": "tools/make_pydicom_fixture.py",
        "pydicom": pydicom.__version__,
        "numpy": np.__version__,
        "files": entries,
    }
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)
    counts = {}
    for e in entries:
        counts[e["category"]] = counts.get(e["category"], 0) + 1
    print(f"{len(entries)} files: {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
