"""Reference values for DICOM files with quirks that radlab reads anyway.

For each file, what pydicom 3.0.2 makes of it (with force=True where a plain
read refuses it): the encoding it inferred, a few header values, and for
images the modality values' statistics. Two kinds of file:

* third-party files without a preamble or without a file meta group
  (pydicom's own test files);
* a copy of pydicom's MR_small.dcm with 2.5 MB of zero bytes after Pixel
  Data, which this script writes next to the fixture's name and describes
  by how it was made, so the test can make the same bytes.

Usage: make_quirks_fixture.py THIRD_PARTY_DIR OUT.json
(run by `cargo xtask fixtures` with the pinned tools venv).
"""

import json
import os
import sys
import tempfile

import numpy as np
import pydicom

NO_META = [
    "pydicom/pydicom/data/test_files/ExplVR_LitEndNoMeta.dcm",
    "pydicom/pydicom/data/test_files/ExplVR_BigEndNoMeta.dcm",
    "pydicom/pydicom/data/test_files/no_meta_group_length.dcm",
]
PADDED_SOURCE = "pydicom/pydicom/data/test_files/MR_small.dcm"
PADDING = 2_500_000


def text(ds, kw):
    v = ds.get(kw)
    return None if v is None else str(v).strip()


def header(ds):
    return {
        "sop_class_uid": text(ds, "SOPClassUID"),
        "sop_instance_uid": text(ds, "SOPInstanceUID"),
        "patient_name": text(ds, "PatientName"),
        "modality": text(ds, "Modality"),
        "study_instance_uid": text(ds, "StudyInstanceUID"),
        # pydicom keeps trailing bytes it cannot parse as a (FFFC,FFFC) Data
        # Set Trailing Padding element of its own making; radlab drops them.
        "top_level_elements": len([e for e in ds if e.tag.group != 0x0002 and e.tag != 0xFFFCFFFC]),
        "pydicom_trailing_padding_element": 0xFFFCFFFC in ds,
    }


def image_stats(ds):
    arr = ds.pixel_array.astype(np.float64)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    v = arr * slope + intercept
    return {"rows": int(ds.Rows), "columns": int(ds.Columns), "min": float(v.min()),
            "max": float(v.max()), "mean": float(v.mean())}


def main():
    tp, out = sys.argv[1], sys.argv[2]
    files = []
    for rel in NO_META:
        path = os.path.join(tp, rel)
        try:
            pydicom.dcmread(path)
            plain = "read"
        except Exception as exc:  # the quirk: a plain read refuses it
            plain = type(exc).__name__
        ds = pydicom.dcmread(path, force=True)
        e = {"path": rel, "plain_read": plain, "little_endian": bool(ds.original_encoding[1]),
             "implicit_vr": bool(ds.original_encoding[0])}
        e.update(header(ds))
        files.append(e)
    with tempfile.TemporaryDirectory() as d:
        padded = os.path.join(d, "padded.dcm")
        with open(os.path.join(tp, PADDED_SOURCE), "rb") as f:
            data = f.read()
        with open(padded, "wb") as f:
            f.write(data + bytes(PADDING))
        ds = pydicom.dcmread(padded)
        e = {"path": PADDED_SOURCE, "made_by": f"the file with {PADDING} zero bytes appended",
             "padding": PADDING, "plain_read": "read"}
        e.update(header(ds))
        e.update(image_stats(ds))
        files.append(e)
    doc = {"made_by": "tools/make_quirks_fixture.py", "pydicom": pydicom.__version__,
           "numpy": np.__version__, "files": files}
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)
    print(f"{len(files)} quirk files described in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
