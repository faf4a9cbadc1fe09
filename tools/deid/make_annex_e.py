"""Write crates/radlab-deid/data/annex_e.tsv: PS3.15 Table E.1-1 as radlab reads it.

Usage: python3 tools/deid/make_annex_e.py WORKDIR OUT.tsv

Downloads the wheels pinned in tools/deid/requirements.txt into WORKDIR
(pip, --require-hashes) and merges two machine-readable copies of the table:

* the Basic Profile action of every row comes from the 2026c edition
  (dicom-anonymizer 2.1.0, dicom_anonymization_databases/dicomfields_2026c.py);
* the ten option columns come from the April 2020 web edition
  (dicom-standard 0.1.0, confidentiality_profile_attributes.json).

Rows the 2020 edition lacks (added by later editions) get option actions by
the rule every 2020 row follows: date and time attributes (VR DA, DT, TM) are
K under Retain Longitudinal Full Dates and C under Modified Dates, UIDs (VR
UI) are K under Retain UIDs. The script checks that rule on the 2020 rows and
stops if it does not hold. The `options` column of the output says which
source each row's option columns came from.
"""

import json
import pathlib
import runpy
import subprocess
import sys
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
OPTION_KEYS = [
    "rtnSafePrivOpt",
    "rtnUIDsOpt",
    "rtnDevIdOpt",
    "rtnInstIdOpt",
    "rtnPatCharsOpt",
    "rtnLongFullDatesOpt",
    "rtnLongModifDatesOpt",
    "cleanDescOpt",
    "cleanStructContOpt",
    "cleanGraphOpt",
]
COLUMNS = [
    "tag",
    "name",
    "basic",
    "retain_safe_private",
    "retain_uids",
    "retain_device_identity",
    "retain_institution_identity",
    "retain_patient_characteristics",
    "retain_full_dates",
    "retain_modified_dates",
    "clean_descriptors",
    "clean_structured_content",
    "clean_graphics",
    "options",
]
BASIC_LISTS = {
    "D_TAGS": "D",
    "Z_TAGS": "Z",
    "X_TAGS": "X",
    "U_TAGS": "U",
    "Z_D_TAGS": "Z/D",
    "X_Z_TAGS": "X/Z",
    "X_D_TAGS": "X/D",
    "X_Z_D_TAGS": "X/Z/D",
    "X_Z_U_STAR_TAGS": "X/Z/U*",
}


def fetch(work):
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
         "-r", str(HERE / "requirements.txt"), "-d", str(work)],
        check=True,
    )
    for whl in work.glob("*.whl"):
        with zipfile.ZipFile(whl) as z:
            z.extractall(work / "unpacked")
    return work / "unpacked"


def tag_text(t):
    """(gggg,eeee) from a tuple; masked tuples become xx patterns."""
    if len(t) == 2:
        return f"({t[0]:04X},{t[1]:04X})"
    g, e, gm, em = t
    gs = f"{g:04X}"
    es = f"{e:04X}"
    gs = gs[:2] + "xx" if gm == 0xFF00 else gs
    es = "xxxx" if em == 0 else es
    return f"({gs},{es})"


def main():
    work, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    root = fetch(work)
    sys.path.insert(0, str(root))
    from pydicom.datadict import dictionary_VR, dictionary_description

    basic = {}
    db = runpy.run_path(str(root / "dicomanonymizer/dicom_anonymization_databases/dicomfields_2026c.py"))
    for name, code in BASIC_LISTS.items():
        for t in db[name]:
            basic[tag_text(t)] = code
    conf = json.loads(
        (root / "dicom_standard-0.1.0.data/data/standard/confidentiality_profile_attributes.json").read_text()
    )
    old = {}
    for row in conf:
        tag = row["tag"].upper().replace("XX", "xx").replace("xxXX", "xxxx")
        if not tag.startswith("(") or "GGGG" in tag:
            continue  # the private-attributes row: radlab handles private tags by rule
        old[tag] = row

    def vr_of(tag):
        if "x" in tag:
            return None
        try:
            return dictionary_VR(int(tag[1:5] + tag[6:10], 16))
        except KeyError:
            return None

    def derived(tag):
        vr = vr_of(tag) or ""
        opts = [""] * 10
        if vr in ("DA", "DT", "TM"):
            opts[5], opts[6] = "K", "C"
        if vr == "UI":
            opts[1] = "K"
        return opts

    # The rule must hold on every 2020 row but these (birth date and time are
    # patient characteristics, not longitudinal; the others are never kept)
    # before it is used on later ones.
    exceptions = {"(0010,0030)", "(0010,0032)", "(0016,0077)", "(0400,0100)", "(0040,A124)"}
    broken = []
    for tag, row in old.items():
        have = [row.get(k, "") for k in OPTION_KEYS]
        want = derived(tag)
        for i in (1, 5, 6):
            if want[i] and have[i] != want[i] and tag not in exceptions:
                broken.append((tag, OPTION_KEYS[i], have[i], want[i]))
    if broken:
        sys.exit(f"the option rule does not hold on the 2020 rows: {broken[:10]}")

    rows = []
    for tag, code in basic.items():
        name = ""
        if "x" not in tag:
            try:
                name = dictionary_description(int(tag[1:5] + tag[6:10], 16))
            except KeyError:
                name = ""
        if tag in old:
            name = name or old[tag]["name"]
            opts = [old[tag].get(k, "") for k in OPTION_KEYS]
            source = "2020"
        else:
            opts = derived(tag)
            source = "rule"
        name = name.replace("\u200b", "").replace("\t", " ")
        rows.append([tag, name, code] + opts + [source])
    missing = sorted(set(old) - set(basic))
    if missing:
        sys.exit(f"rows of the 2020 edition missing from 2026c: {missing}")
    rows.sort(key=lambda r: r[0])
    lines = [
        "# PS3.15 Table E.1-1, Application Level Confidentiality Profile Attributes.",
        "# Made by tools/deid/make_annex_e.py; do not edit by hand.",
        "# basic: Basic Profile action, PS3.15 2026c (via dicom-anonymizer 2.1.0).",
        "# option columns: PS3.15 web edition of April 2020 (via dicom-standard 0.1.0)",
        "# where options=2020; for rows added since, options=rule: DA/DT/TM are K under",
        "# retain_full_dates and C under retain_modified_dates, UI is K under retain_uids",
        "# (the 2020 rows follow that rule but for (0010,0030), (0010,0032), (0016,0077),",
        "# (0400,0100) and (0040,A124)).",
        "\t".join(COLUMNS),
    ]
    lines += ["\t".join(r) for r in rows]
    tmp = out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(out)
    print(f"{out}: {len(rows)} rows ({sum(r[-1] == '2020' for r in rows)} with 2020 option columns)")


if __name__ == "__main__":
    main()
