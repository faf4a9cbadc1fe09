"""Read radlab's SEG and TID 1500 SR with highdicom and print what it finds.

Usage: read_with_highdicom.py SEG SR  ->  one JSON object on stdout:
  segments: [{number, label, tracking_id, tracking_uid, algorithm, voxels}]
  groups:   [{tracking_id, tracking_uid, finding, finding_sites,
              referenced_segment, measurements: {meaning: [value, unit]}}]
  versions: the libraries used.
radlab's test compares these with what it wrote; nothing here knows radlab.
"""
import json
import sys

import highdicom as hd
import numpy as np
import pydicom


def segments(path):
    seg = hd.seg.segread(path)
    pixels = seg.pixel_array
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    frame_segment = [
        int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        for f in seg.PerFrameFunctionalGroupsSequence
    ]
    out = []
    for n in seg.segment_numbers:
        d = seg.get_segment_description(n)
        alg = d.algorithm_identification
        voxels = int(sum(int(pixels[i].sum()) for i, s in enumerate(frame_segment) if s == n))
        out.append({
            "number": int(n),
            "label": d.segment_label,
            "tracking_id": d.tracking_id,
            "tracking_uid": d.tracking_uid,
            "algorithm": None if alg is None else [str(alg[0].AlgorithmName), str(alg[0].AlgorithmVersion)],
            "voxels": voxels,
        })
    return {"segments": out, "frames": int(seg.NumberOfFrames)}


def groups(path):
    sr = hd.sr.srread(path)
    content = sr.content
    if not hasattr(content, "get_volumetric_roi_measurement_groups"):
        content = hd.sr.MeasurementReport.from_sequence([pydicom.dcmread(path)])
    out = []
    for g in content.get_volumetric_roi_measurement_groups():
        ref = g.referenced_segment
        out.append({
            "tracking_id": g.tracking_identifier,
            "tracking_uid": g.tracking_uid,
            "finding": None if g.finding_type is None else g.finding_type.value,
            "finding_sites": [s.value.value for s in g.finding_sites],
            "referenced_segment": None if ref is None else [
                ref.referenced_sop_instance_uid, ref.referenced_segment_numbers],
            "measurements": {
                m.name.meaning: [float(m.value), m.unit.value] for m in g.get_measurements()
            },
        })
    evidence = sorted(e[2] for e in sr.get_evidence())
    return {"groups": out, "evidence": evidence}


def main():
    seg_path, sr_path = sys.argv[1], sys.argv[2]
    result = {"versions": {"highdicom": hd.__version__, "pydicom": pydicom.__version__}}
    result.update(segments(seg_path))
    result.update(groups(sr_path))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
