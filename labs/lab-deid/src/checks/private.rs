//! Task private-tags: private blocks removed unless listed safe, orphans and padding.

use dicom_core::Tag;
use radlab_dicom::attrs;
use radlab_grade::Outcome;

use crate::tasks::{SafePrivate, Tasks};

pub(super) fn safe(creator: &str, group: u16, element: u8) -> SafePrivate {
    SafePrivate {
        creator: creator.into(),
        group,
        element,
    }
}

pub(super) fn private_default(t: &'static Tasks) -> Outcome {
    let list = [safe("ACME 1.1", 0x0019, 0x01)];
    if (t.keep_private)(Tag(0x0019, 0x1001), Some("ACME 1.1"), &list, false) {
        return Err("(0019,1001) of ACME 1.1 was kept without the Retain Safe Private option: the Basic Profile removes every private attribute (Table E.1-1, private attributes: X).".into());
    }
    if (t.keep_private)(Tag(0x0029, 0x1010), Some("SIEMENS CSA HEADER"), &[], true) {
        return Err("(0029,1010) was kept although the safe list is empty: Retain Safe Private keeps only listed attributes.".into());
    }
    Ok("private attributes removed by default".into())
}

pub(super) fn private_listed(t: &'static Tasks) -> Outcome {
    let list = [safe("ACME 1.1", 0x0019, 0x01)];
    let cases = [
        (
            Tag(0x0019, 0x1001),
            Some("ACME 1.1"),
            true,
            "listed: creator, group and element byte match",
        ),
        (
            Tag(0x0019, 0x1101),
            Some("ACME 1.1"),
            true,
            "listed, in the block reserved at (0019,0011)",
        ),
        (
            Tag(0x0019, 0x1001),
            Some("OTHER VENDOR"),
            false,
            "same numbers, another creator",
        ),
        (
            Tag(0x0019, 0x1002),
            Some("ACME 1.1"),
            false,
            "another element of the block",
        ),
        (
            Tag(0x0021, 0x1001),
            Some("ACME 1.1"),
            false,
            "another group",
        ),
    ];
    for (tag, creator, want, why) in cases {
        let got = (t.keep_private)(tag, creator, &list, true);
        if got != want {
            return Err(format!(
                "{} of {creator:?} with the safe list {{ACME 1.1, (0019,xx01)}}: expected keep = {want} ({why}), got {got}. Match the Private Creator too: element numbers mean nothing without it.",
                attrs::tag_string(tag)
            ));
        }
    }
    Ok("only the safe-listed attribute of the listed creator is kept".into())
}

pub(super) fn private_orphan(t: &'static Tasks) -> Outcome {
    let list = [safe("ACME 1.1", 0x0019, 0x01)];
    if (t.keep_private)(Tag(0x0019, 0x1001), None, &list, true) {
        return Err("a private element without a Private Creator in its data set was kept: nobody can say what it holds, so it goes.".into());
    }
    if (t.keep_private)(Tag(0x0019, 0x1001), Some("ACME 1.1 "), &list, true) {
        Ok("orphans removed; trailing padding of the creator ignored".into())
    } else {
        Err("Private Creator \"ACME 1.1 \" (padded to even length, as on disk) did not match \"ACME 1.1\": trim the value before comparing.".into())
    }
}
