//! PS3.15 Table E.1-1 (the attribute table of the Application Level
//! Confidentiality Profile) and the options of Table E.1-1's columns.
//!
//! The table is `data/annex_e.tsv`, made by `tools/deid/make_annex_e.py`;
//! its header names the editions each column comes from.

use std::collections::HashMap;
use std::fmt;

use dicom_core::{Tag, VR};
use serde::Serialize;

/// One action of PS3.15 Table E.1-1a.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Action {
    /// D: replace with a non-zero-length dummy value consistent with the VR.
    Dummy,
    /// Z: replace with a zero-length value (or a dummy).
    Zero,
    /// X: remove.
    Remove,
    /// K: keep (sequences are still cleaned inside).
    Keep,
    /// C: clean: keep the meaning, drop identifying content.
    Clean,
    /// U: replace the UID with a non-identifying one, consistently.
    Uid,
}

impl Action {
    /// The letter the standard uses.
    pub fn letter(self) -> char {
        match self {
            Action::Dummy => 'D',
            Action::Zero => 'Z',
            Action::Remove => 'X',
            Action::Keep => 'K',
            Action::Clean => 'C',
            Action::Uid => 'U',
        }
    }
}

/// An entry of a column: a single action or one of the combined codes
/// (`X/Z`, `X/D`, `Z/D`, `X/Z/D`, `X/Z/U*`), whose choice depends on whether
/// the attribute is Type 1, 2 or 3 in the object's IOD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Code {
    /// A single action.
    One(Action),
    /// X for Type 3, Z for Type 2 (`X/Z`).
    RemoveOrZero,
    /// X for Type 3, D for Type 1 (`X/D`).
    RemoveOrDummy,
    /// Z for Type 2, D for Type 1 (`Z/D`).
    ZeroOrDummy,
    /// X, Z or D by type (`X/Z/D`).
    RemoveZeroOrDummy,
    /// X, Z, or U for a UID of a sequence item (`X/Z/U*`).
    RemoveZeroOrUid,
}

impl Code {
    /// Parse the text of a table cell.
    ///
    /// ```
    /// use radlab_deid::table::{Action, Code};
    /// assert_eq!(Code::parse("X/Z/D"), Some(Code::RemoveZeroOrDummy));
    /// assert_eq!(Code::parse("K"), Some(Code::One(Action::Keep)));
    /// assert_eq!(Code::parse("Q"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Code> {
        Some(match s.trim() {
            "D" => Code::One(Action::Dummy),
            "Z" => Code::One(Action::Zero),
            "X" => Code::One(Action::Remove),
            "K" => Code::One(Action::Keep),
            "C" => Code::One(Action::Clean),
            "U" => Code::One(Action::Uid),
            "X/Z" => Code::RemoveOrZero,
            "X/D" => Code::RemoveOrDummy,
            "Z/D" => Code::ZeroOrDummy,
            "X/Z/D" => Code::RemoveZeroOrDummy,
            "X/Z/U*" | "X/Z/U" => Code::RemoveZeroOrUid,
            _ => return None,
        })
    }

    /// The single action radlab takes for this code.
    ///
    /// radlab does not look up the attribute's Type in each IOD, so it takes
    /// the choice that is valid whatever the Type: a Type 1 attribute must not
    /// be removed or emptied, so any code that allows D means D; a code that
    /// allows Z (and not D) means Z; `X/Z/U*` on a UID means U, else Z.
    pub fn resolve(self, vr: VR) -> Action {
        match self {
            Code::One(a) => a,
            Code::RemoveOrZero => Action::Zero,
            Code::RemoveOrDummy | Code::ZeroOrDummy | Code::RemoveZeroOrDummy => Action::Dummy,
            Code::RemoveZeroOrUid => {
                if vr == VR::UI {
                    Action::Uid
                } else {
                    Action::Zero
                }
            }
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Code::One(a) => return write!(f, "{}", a.letter()),
            Code::RemoveOrZero => "X/Z",
            Code::RemoveOrDummy => "X/D",
            Code::ZeroOrDummy => "Z/D",
            Code::RemoveZeroOrDummy => "X/Z/D",
            Code::RemoveZeroOrUid => "X/Z/U*",
        };
        f.write_str(s)
    }
}

/// The options of the profile, in the column order of Table E.1-1, each
/// with its code from CID 7050 (De-identification Method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ProfileOption {
    /// Retain Safe Private Option (113111).
    RetainSafePrivate,
    /// Retain UIDs Option (113110).
    RetainUids,
    /// Retain Device Identity Option (113109).
    RetainDeviceIdentity,
    /// Retain Institution Identity Option (113112).
    RetainInstitutionIdentity,
    /// Retain Patient Characteristics Option (113108).
    RetainPatientCharacteristics,
    /// Retain Longitudinal Temporal Information with Full Dates Option (113106).
    RetainFullDates,
    /// Retain Longitudinal Temporal Information with Modified Dates Option (113107).
    RetainModifiedDates,
    /// Clean Descriptors Option (113105).
    CleanDescriptors,
    /// Clean Structured Content Option (113104).
    CleanStructuredContent,
    /// Clean Graphics Option (113103).
    CleanGraphics,
    /// Clean Pixel Data Option (113101): blank configured rectangles of the
    /// objects whose BurnedInAnnotation is YES.
    CleanPixelData,
}

impl ProfileOption {
    /// Every option, table columns first.
    pub const ALL: [ProfileOption; 11] = [
        ProfileOption::RetainSafePrivate,
        ProfileOption::RetainUids,
        ProfileOption::RetainDeviceIdentity,
        ProfileOption::RetainInstitutionIdentity,
        ProfileOption::RetainPatientCharacteristics,
        ProfileOption::RetainFullDates,
        ProfileOption::RetainModifiedDates,
        ProfileOption::CleanDescriptors,
        ProfileOption::CleanStructuredContent,
        ProfileOption::CleanGraphics,
        ProfileOption::CleanPixelData,
    ];

    /// The CID 7050 code value.
    pub fn code(self) -> &'static str {
        match self {
            ProfileOption::RetainSafePrivate => "113111",
            ProfileOption::RetainUids => "113110",
            ProfileOption::RetainDeviceIdentity => "113109",
            ProfileOption::RetainInstitutionIdentity => "113112",
            ProfileOption::RetainPatientCharacteristics => "113108",
            ProfileOption::RetainFullDates => "113106",
            ProfileOption::RetainModifiedDates => "113107",
            ProfileOption::CleanDescriptors => "113105",
            ProfileOption::CleanStructuredContent => "113104",
            ProfileOption::CleanGraphics => "113103",
            ProfileOption::CleanPixelData => "113101",
        }
    }

    /// The CID 7050 code meaning.
    pub fn meaning(self) -> &'static str {
        match self {
            ProfileOption::RetainSafePrivate => "Retain Safe Private Option",
            ProfileOption::RetainUids => "Retain UIDs Option",
            ProfileOption::RetainDeviceIdentity => "Retain Device Identity Option",
            ProfileOption::RetainInstitutionIdentity => "Retain Institution Identity Option",
            ProfileOption::RetainPatientCharacteristics => "Retain Patient Characteristics Option",
            ProfileOption::RetainFullDates => {
                "Retain Longitudinal Temporal Information Full Dates Option"
            }
            ProfileOption::RetainModifiedDates => {
                "Retain Longitudinal Temporal Information Modified Dates Option"
            }
            ProfileOption::CleanDescriptors => "Clean Descriptors Option",
            ProfileOption::CleanStructuredContent => "Clean Structured Content Option",
            ProfileOption::CleanGraphics => "Clean Graphics Option",
            ProfileOption::CleanPixelData => "Clean Pixel Data Option",
        }
    }

    /// Accept the CID 7050 code or a short name (`retain-uids`,
    /// `modified-dates`, ...), case-insensitively.
    ///
    /// ```
    /// use radlab_deid::ProfileOption;
    /// assert_eq!(ProfileOption::parse("113107"), Some(ProfileOption::RetainModifiedDates));
    /// assert_eq!(ProfileOption::parse("retain-uids"), Some(ProfileOption::RetainUids));
    /// ```
    pub fn parse(s: &str) -> Option<ProfileOption> {
        let s = s.trim().to_ascii_lowercase();
        ProfileOption::ALL
            .into_iter()
            .find(|o| o.code() == s || o.name() == s)
    }

    /// A short name for command lines.
    pub fn name(self) -> &'static str {
        match self {
            ProfileOption::RetainSafePrivate => "retain-safe-private",
            ProfileOption::RetainUids => "retain-uids",
            ProfileOption::RetainDeviceIdentity => "retain-device-identity",
            ProfileOption::RetainInstitutionIdentity => "retain-institution-identity",
            ProfileOption::RetainPatientCharacteristics => "retain-patient-characteristics",
            ProfileOption::RetainFullDates => "retain-full-dates",
            ProfileOption::RetainModifiedDates => "retain-modified-dates",
            ProfileOption::CleanDescriptors => "clean-descriptors",
            ProfileOption::CleanStructuredContent => "clean-structured-content",
            ProfileOption::CleanGraphics => "clean-graphics",
            ProfileOption::CleanPixelData => "clean-pixel-data",
        }
    }

    /// The column of Table E.1-1, if the option has one.
    fn column(self) -> Option<usize> {
        ProfileOption::ALL[..10].iter().position(|&o| o == self)
    }
}

/// A tag as the table names it: exact, or a repeating group such as `(60xx,3000)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagPattern {
    /// Group and element with the `x` nibbles zeroed.
    pub tag: Tag,
    /// Which bits of (group, element) must match.
    pub mask: (u16, u16),
}

impl TagPattern {
    /// Whether `tag` is one the pattern names.
    pub fn matches(&self, tag: Tag) -> bool {
        tag.group() & self.mask.0 == self.tag.group()
            && tag.element() & self.mask.1 == self.tag.element()
    }

    fn parse(s: &str) -> Option<TagPattern> {
        let s = s.trim().strip_prefix('(')?.strip_suffix(')')?;
        let (g, e) = s.split_once(',')?;
        let part = |p: &str| -> Option<(u16, u16)> {
            if p.len() != 4 {
                return None;
            }
            let mut v = 0u16;
            let mut m = 0u16;
            for c in p.chars() {
                v <<= 4;
                m <<= 4;
                if c == 'x' || c == 'X' {
                    continue;
                }
                v |= c.to_digit(16)? as u16;
                m |= 0xF;
            }
            Some((v, m))
        };
        let (gv, gm) = part(g)?;
        let (ev, em) = part(e)?;
        Some(TagPattern {
            tag: Tag(gv, ev),
            mask: (gm, em),
        })
    }
}

/// One row of Table E.1-1.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The attribute.
    pub tag: TagPattern,
    /// Attribute name.
    pub name: String,
    /// Basic Profile action.
    pub basic: Code,
    /// The action of each option column, where the table gives one
    /// (indexed like [`ProfileOption::ALL`]`[..10]`).
    pub options: [Option<Code>; 10],
}

impl Rule {
    /// The code that applies with `options` in force.
    ///
    /// When several options name the attribute, a retaining option (K) wins
    /// over a cleaning one (C), which wins over the Basic Profile: the user
    /// asked to keep it, and cleaning keeps more than removing.
    pub fn code_with(&self, options: &[ProfileOption]) -> Code {
        let mut best: Option<Code> = None;
        for o in options {
            let Some(c) = o.column().and_then(|i| self.options[i]) else {
                continue;
            };
            best = match (best, c) {
                (Some(Code::One(Action::Keep)), _) => best,
                (_, Code::One(Action::Keep)) => Some(c),
                (None, _) => Some(c),
                (b, _) => b,
            };
        }
        best.unwrap_or(self.basic)
    }
}

/// Table E.1-1 as loaded from `data/annex_e.tsv`.
#[derive(Debug, Clone)]
pub struct Table {
    exact: HashMap<Tag, Rule>,
    patterns: Vec<Rule>,
    /// The provenance lines of the data file.
    pub source: Vec<String>,
}

/// The bundled table's text.
const ANNEX_E: &str = include_str!("../data/annex_e.tsv");

impl Table {
    /// The bundled table (PS3.15 2026c Basic Profile; see the file's header).
    ///
    /// ```
    /// use dicom_core::Tag;
    /// let t = radlab_deid::Table::standard();
    /// // Patient's Name: Z in the Basic Profile.
    /// assert_eq!(t.rule(Tag(0x0010, 0x0010)).unwrap().basic.to_string(), "Z");
    /// assert!(t.len() > 600);
    /// ```
    pub fn standard() -> Table {
        Table::parse(ANNEX_E).expect("the bundled table parses")
    }

    /// Parse a table in the bundled format; the error names the line.
    pub fn parse(text: &str) -> Result<Table, String> {
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        let mut source = Vec::new();
        let mut header_seen = false;
        for (n, line) in text.lines().enumerate() {
            if let Some(c) = line.strip_prefix('#') {
                source.push(c.trim().to_string());
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            if !header_seen {
                header_seen = true;
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 13 {
                return Err(format!(
                    "line {}: {} columns, expected 14",
                    n + 1,
                    cols.len()
                ));
            }
            let tag = TagPattern::parse(cols[0])
                .ok_or_else(|| format!("line {}: bad tag {:?}", n + 1, cols[0]))?;
            let basic = Code::parse(cols[2])
                .ok_or_else(|| format!("line {}: bad action {:?}", n + 1, cols[2]))?;
            let mut options = [None; 10];
            for (i, o) in options.iter_mut().enumerate() {
                let cell = cols[3 + i].trim();
                if !cell.is_empty() {
                    *o = Some(
                        Code::parse(cell)
                            .ok_or_else(|| format!("line {}: bad action {cell:?}", n + 1))?,
                    );
                }
            }
            let rule = Rule {
                tag,
                name: cols[1].to_string(),
                basic,
                options,
            };
            if tag.mask == (0xFFFF, 0xFFFF) {
                exact.insert(tag.tag, rule);
            } else {
                patterns.push(rule);
            }
        }
        Ok(Table {
            exact,
            patterns,
            source,
        })
    }

    /// The row for a tag, if the table lists it.
    pub fn rule(&self, tag: Tag) -> Option<&Rule> {
        self.exact
            .get(&tag)
            .or_else(|| self.patterns.iter().find(|r| r.tag.matches(tag)))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.exact.len() + self.patterns.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every row, exact tags in tag order, then the repeating groups.
    pub fn rules(&self) -> Vec<&Rule> {
        let mut v: Vec<&Rule> = self.exact.values().collect();
        v.sort_by_key(|r| r.tag.tag);
        v.extend(self.patterns.iter());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_the_standard() {
        let t = Table::standard();
        let code = |g, e| t.rule(Tag(g, e)).map(|r| r.basic.to_string());
        // Values as printed in PS3.15 Table E.1-1.
        assert_eq!(code(0x0010, 0x0010).as_deref(), Some("Z")); // Patient's Name
        assert_eq!(code(0x0010, 0x0020).as_deref(), Some("Z/D")); // Patient ID (2024+)
        assert_eq!(code(0x0008, 0x0050).as_deref(), Some("Z")); // Accession Number
        assert_eq!(code(0x0020, 0x000D).as_deref(), Some("U")); // Study Instance UID
        assert_eq!(code(0x0008, 0x0018).as_deref(), Some("U")); // SOP Instance UID
        assert_eq!(code(0x0008, 0x0080).as_deref(), Some("X/Z/D")); // Institution Name
        assert_eq!(code(0x0010, 0x1000).as_deref(), Some("X")); // Other Patient IDs
        assert_eq!(code(0x0008, 0x0070), None); // Manufacturer: not listed, kept
        assert_eq!(code(0x6002, 0x3000).as_deref(), Some("X")); // Overlay Data, any group 60xx
        assert_eq!(code(0x5010, 0x0123).as_deref(), Some("X")); // Curve Data
        let study_date = t.rule(Tag(0x0008, 0x0020)).unwrap();
        assert_eq!(
            study_date.code_with(&[ProfileOption::RetainModifiedDates]),
            Code::One(Action::Clean)
        );
        assert_eq!(
            study_date.code_with(&[ProfileOption::RetainFullDates]),
            Code::One(Action::Keep)
        );
        let age = t.rule(Tag(0x0010, 0x1010)).unwrap();
        assert_eq!(
            age.code_with(&[ProfileOption::RetainPatientCharacteristics]),
            Code::One(Action::Keep)
        );
        assert!(t.source.iter().any(|l| l.contains("2026c")));
    }

    #[test]
    fn combined_codes_never_drop_a_type_1_attribute() {
        for c in [
            Code::RemoveOrDummy,
            Code::ZeroOrDummy,
            Code::RemoveZeroOrDummy,
        ] {
            assert_eq!(c.resolve(VR::LO), Action::Dummy, "{c}");
        }
        assert_eq!(Code::RemoveOrZero.resolve(VR::LO), Action::Zero);
        assert_eq!(Code::RemoveZeroOrUid.resolve(VR::UI), Action::Uid);
        assert_eq!(Code::RemoveZeroOrUid.resolve(VR::SQ), Action::Zero);
    }

    #[test]
    fn bad_lines_are_named() {
        let e =
            Table::parse("tag\tname\n(0010,0010)\tName\tQ\t\t\t\t\t\t\t\t\t\t\t\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
