"""Record what dicognito changes in a few third-party files, for radlab's comparison test.

Usage: python3 tools/deid/compare_dicognito.py THIRD_PARTY_DIR OUT.json

For each file, every element at every depth is named by a path like radlab's
audit (`Keyword (gggg,eeee)`, `private (gggg,eeee)` for odd groups, items as
`Sequence[i] > ...`) and classified: removed, changed or added by dicognito
(one Anonymizer, seed "radlab", as one would run it over a study). Values are
not stored: only which attributes moved.
"""

import json
import pathlib
import sys

import dicognito
import pydicom
from dicognito.anonymizer import Anonymizer

FILES = [
    "pydicom/pydicom/data/test_files/CT_small.dcm",
    "pydicom/pydicom/data/test_files/MR_small.dcm",
    "pydicom/pydicom/data/test_files/rtplan.dcm",
    "deid/deid-data-0.0.20/deid_data/data/humans/ctbrain1.dcm",
    "deid/deid-data-0.0.20/deid_data/data/dicom-cookies/image4.dcm",
]


def name(tag):
    if tag.group % 2 == 1:
        return f"private ({tag.group:04X},{tag.element:04X})"
    kw = pydicom.datadict.keyword_for_tag(tag) or "unknown"
    return f"{kw} ({tag.group:04X},{tag.element:04X})"


def walk(ds, prefix, out):
    for elem in ds:
        if elem.tag == 0x7FE00010:
            out[prefix + name(elem.tag)] = "<pixels>"
            continue
        if elem.VR == "SQ":
            kw = pydicom.datadict.keyword_for_tag(elem.tag) or f"({elem.tag.group:04X},{elem.tag.element:04X})"
            out[prefix + name(elem.tag)] = f"<{len(elem.value)} items>"
            for i, item in enumerate(elem.value):
                walk(item, f"{prefix}{kw}[{i}] > ", out)
        else:
            out[prefix + name(elem.tag)] = repr(elem.value)


def main():
    root, out_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    anonymizer = Anonymizer(seed="radlab")
    result = []
    for rel in FILES:
        ds = pydicom.dcmread(root / rel)
        before = {}
        walk(ds, "", before)
        meta_before = ds.file_meta.MediaStorageSOPInstanceUID
        anonymizer.anonymize(ds)
        after = {}
        walk(ds, "", after)
        result.append({
            "file": rel,
            "removed": sorted(k for k in before if k not in after),
            "changed": sorted(k for k in before if k in after and before[k] != after[k]),
            "added": sorted(k for k in after if k not in before),
            "file_meta_sop_instance_uid_changed": ds.file_meta.MediaStorageSOPInstanceUID != meta_before,
        })
    doc = {
        "made_by": "tools/deid/compare_dicognito.py",
        "dicognito": dicognito.__version__,
        "pydicom": pydicom.__version__,
        "seed": "radlab",
        "files": result,
    }
    tmp = out_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    tmp.replace(out_path)
    print(f"{out_path}: {len(result)} files")


if __name__ == "__main__":
    main()
