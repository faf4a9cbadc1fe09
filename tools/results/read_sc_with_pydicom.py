"""Read Secondary Captures with pydicom and print what a viewer would see.

Usage: read_sc_with_pydicom.py SC...  ->  one JSON object on stdout:
  pictures: [{file, sop_class, rows, columns, samples, photometric,
              planar, burned_in, series_description, image_type,
              conversion_type, source_instance, pixels_sha256,
              channel_means}]
  versions: the libraries used.
pixels_sha256 is the SHA-256 of pydicom's decoded pixel_array as
row-major R G B bytes; radlab's test compares it with what it wrote.
"""
import hashlib
import json
import sys

import numpy as np
import pydicom


def picture(path):
    ds = pydicom.dcmread(path)
    px = ds.pixel_array  # (rows, columns, 3) for RGB
    src = ds.get("SourceImageSequence")
    return {
        "file": path,
        "sop_class": str(ds.SOPClassUID),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "samples": int(ds.SamplesPerPixel),
        "photometric": str(ds.PhotometricInterpretation),
        "planar": int(ds.PlanarConfiguration),
        "burned_in": str(ds.get("BurnedInAnnotation", "")),
        "series_description": str(ds.get("SeriesDescription", "")),
        "image_type": list(ds.get("ImageType", [])),
        "conversion_type": str(ds.get("ConversionType", "")),
        "source_instance": str(src[0].ReferencedSOPInstanceUID) if src else None,
        "shape": list(px.shape),
        "pixels_sha256": hashlib.sha256(
            np.ascontiguousarray(px, dtype=np.uint8).tobytes()
        ).hexdigest(),
        "channel_means": [float(px[..., k].mean()) for k in range(px.shape[-1])],
    }


def main():
    out = {
        "pictures": [picture(p) for p in sys.argv[1:]],
        "versions": {"pydicom": pydicom.__version__, "numpy": np.__version__},
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
