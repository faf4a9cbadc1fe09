//! Applying the profile to one object: every element at every sequence
//! depth, private blocks, the file meta group, and (with the Clean Pixel Data
//! option) rectangles of the pixel data.

use std::borrow::Cow;

use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use radlab_dicom::attrs;
use serde::Serialize;

use crate::element::seq_name;
pub use crate::element::{Repaired, dictionary_vr, element_path, private_creator, repair_un};
use crate::keyed::{Key, shift_date};
use crate::table::{Action, ProfileOption, Table};
use crate::{DeidError, text};

/// A private attribute that may be kept with the Retain Safe Private option:
/// the block's creator, the group, and the element's low byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafePrivate {
    /// Private Creator value, e.g. `ACME 1.1`.
    pub creator: String,
    /// Odd group number.
    pub group: u16,
    /// Low byte of the element number (`xx` in `(gggg,bbxx)`).
    pub element: u8,
}

/// A rectangle of pixels to blank with the Clean Pixel Data option:
/// columns `x0..x1` and rows `y0..y1` (0-based, end exclusive), every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    /// First column.
    pub x0: usize,
    /// First row.
    pub y0: usize,
    /// One past the last column.
    pub x1: usize,
    /// One past the last row.
    pub y1: usize,
}

/// What to do, with which key.
#[derive(Debug, Clone)]
pub struct Config {
    /// Options in force on top of the Basic Profile.
    pub options: Vec<ProfileOption>,
    /// Key of the UID, date and ID mappings.
    pub key: Key,
    /// Private attributes kept with [`ProfileOption::RetainSafePrivate`].
    pub safe_private: Vec<SafePrivate>,
    /// Rectangles blanked with [`ProfileOption::CleanPixelData`].
    pub pixel_rects: Vec<Rect>,
}

impl Config {
    /// The Basic Profile alone, with `key`.
    pub fn basic(key: Key) -> Config {
        Config {
            options: Vec::new(),
            key,
            safe_private: Vec::new(),
            pixel_rects: Vec::new(),
        }
    }

    /// Whether an option is in force.
    pub fn has(&self, o: ProfileOption) -> bool {
        self.options.contains(&o)
    }
}

/// One change made to an object, for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Path from the top level, e.g. `OtherPatientIDsSequence[0] > PatientID (0010,0020)`.
    pub path: String,
    /// The action letter (D, Z, X, C, U), `X` for private attributes too.
    pub action: char,
    /// The old value, masked (first character and length).
    pub before: String,
    /// The new value (`(removed)` for X).
    pub after: String,
}

/// The profile, ready to apply.
#[derive(Debug, Clone)]
pub struct Deidentifier {
    table: Table,
    config: Config,
}

/// The first value of DeidentificationMethod (0012,0063) in every output.
const METHOD: &str = "radlab-deid: PS3.15 Annex E Basic Profile";

impl Deidentifier {
    /// A de-identifier with the bundled table. Refuses both longitudinal
    /// options at once (they contradict each other).
    pub fn new(config: Config) -> Result<Deidentifier, DeidError> {
        Deidentifier::with_table(Table::standard(), config)
    }

    /// A de-identifier with a given table.
    pub fn with_table(table: Table, mut config: Config) -> Result<Deidentifier, DeidError> {
        if config.has(ProfileOption::RetainFullDates)
            && config.has(ProfileOption::RetainModifiedDates)
        {
            return Err(DeidError::Options(
                "retain-full-dates and retain-modified-dates exclude each other; pick one".into(),
            ));
        }
        if config.has(ProfileOption::CleanPixelData) && config.pixel_rects.is_empty() {
            return Err(DeidError::Options(
                "clean-pixel-data needs at least one rectangle to blank".into(),
            ));
        }
        config.options.sort();
        config.options.dedup();
        Ok(Deidentifier { table, config })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The attribute table in force.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The action for a standard attribute at any depth (private attributes
    /// follow [`Deidentifier::keeps_private`] instead).
    pub fn action(&self, tag: Tag, vr: VR) -> Action {
        match self.table.rule(tag) {
            Some(rule) => rule.code_with(&self.config.options).resolve(vr),
            None => Action::Keep,
        }
    }

    /// Whether the private data element `tag` of a block with `creator` is
    /// kept: only with the Retain Safe Private option and only if safe-listed.
    pub fn keeps_private(&self, tag: Tag, creator: Option<&str>) -> bool {
        let Some(creator) = creator else {
            return false;
        };
        self.config.has(ProfileOption::RetainSafePrivate)
            && self.config.safe_private.iter().any(|s| {
                s.group == tag.group()
                    && s.element == (tag.element() & 0xFF) as u8
                    && s.creator.trim() == creator.trim()
            })
    }

    /// The number of days dates move back for this object's patient (the
    /// Modified Dates option), from Patient ID, or name and birth date.
    pub fn date_offset(&self, obj: &InMemDicomObject) -> i64 {
        -self.config.key.date_offset_days(&patient_key(obj))
    }

    /// De-identify one object. `name` names it in errors (a path).
    ///
    /// Refuses an object whose BurnedInAnnotation is YES unless the Clean
    /// Pixel Data option blanks rectangles of it.
    pub fn deidentify(
        &self,
        name: &str,
        obj: &DefaultDicomObject,
    ) -> Result<(DefaultDicomObject, Vec<Change>), DeidError> {
        let burned = attrs::string(obj, tags::BURNED_IN_ANNOTATION)
            .is_some_and(|v| v.eq_ignore_ascii_case("YES"));
        let clean_pixels = self.config.has(ProfileOption::CleanPixelData);
        if burned && !clean_pixels {
            return Err(DeidError::BurnedIn {
                name: name.to_string(),
            });
        }
        let ctx = Context {
            offset_days: self.date_offset(obj),
            identifying: text::identifying_values(self, obj),
        };
        let mut changes = Vec::new();
        let mut out = self.dataset(obj, "", &ctx, &mut changes);
        // Rectangles are blanked where text is said to be burned in; other
        // objects keep their pixels untouched.
        if burned && clean_pixels {
            self.clean_pixels(name, obj, &mut out)?;
            put_str(&mut out, tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
        }
        self.mark(&mut out);

        // File meta: follow the new SOP Instance UID; drop AE titles and
        // private meta information (they name the sending site).
        let mut meta = obj.meta().clone();
        // One UID: the first value of SOP Instance UID (some files carry several).
        let sop = attrs::strings(&out, tags::SOP_INSTANCE_UID)
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| self.config.key.uid(&meta.media_storage_sop_instance_uid));
        let old_meta_uid = meta
            .media_storage_sop_instance_uid
            .trim_end_matches(['\0', ' '])
            .to_string();
        meta.media_storage_sop_instance_uid = pad_uid(&sop);
        if old_meta_uid != sop {
            changes.push(Change {
                path: "MediaStorageSOPInstanceUID (0002,0003)".into(),
                action: 'U',
                before: radlab_dicom::summary::mask(&old_meta_uid),
                after: sop.clone(),
            });
        }
        for (field, tag) in [
            (&mut meta.source_application_entity_title, "(0002,0016)"),
            (&mut meta.sending_application_entity_title, "(0002,0017)"),
            (&mut meta.receiving_application_entity_title, "(0002,0018)"),
        ] {
            if let Some(v) = field.take() {
                changes.push(Change {
                    path: format!("file meta {tag}"),
                    action: 'X',
                    before: radlab_dicom::summary::mask(v.trim_end_matches(['\0', ' '])),
                    after: "(removed)".into(),
                });
            }
        }
        meta.private_information_creator_uid = None;
        meta.private_information = None;
        meta.implementation_version_name = Some("RADLAB_DEID".into());
        meta.update_information_group_length();
        Ok((out.with_exact_meta(meta), changes))
    }

    fn dataset(
        &self,
        obj: &InMemDicomObject,
        prefix: &str,
        ctx: &Context,
        changes: &mut Vec<Change>,
    ) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        let mut kept_blocks: Vec<(u16, u16)> = Vec::new();
        for e in obj.iter() {
            let tag = e.header().tag;
            let path = element_path(prefix, tag);
            if tag.element() == 0x0000 {
                continue; // group lengths are deprecated and recomputed by readers
            }
            // A standard attribute stored as UN: read it as its real VR, or
            // remove it when it is a sequence radlab cannot look inside.
            let repaired;
            let e = match repair_un(e) {
                Repaired::AsIs => e,
                Repaired::Element(r) => {
                    repaired = r;
                    &repaired
                }
                Repaired::OpaqueSequence => {
                    changes.push(Change {
                        path,
                        action: 'X',
                        before: masked(e),
                        after: "(removed: a sequence stored as UN cannot be cleaned inside)".into(),
                    });
                    continue;
                }
            };
            let vr = e.vr();
            if tag.group() % 2 == 1 {
                // Private: creators are decided after their blocks.
                if (0x0010..=0x00FF).contains(&tag.element()) {
                    continue;
                }
                let creator = private_creator(obj, tag);
                if tag.element() >= 0x1000 && self.keeps_private(tag, creator.as_deref()) {
                    kept_blocks.push((tag.group(), tag.element() >> 8));
                    out.put(e.clone());
                } else {
                    changes.push(Change {
                        path,
                        action: 'X',
                        before: masked(e),
                        after: "(removed)".into(),
                    });
                }
                continue;
            }
            let action = self.action(tag, vr);
            if let Value::Sequence(seq) = e.value() {
                match action {
                    Action::Remove => changes.push(Change {
                        path,
                        action: 'X',
                        before: format!("[{} item(s)]", seq.items().len()),
                        after: "(removed)".into(),
                    }),
                    // Z empties a sequence; D asks for dummy content, which for
                    // a sequence of free content (Content Sequence, Graphic
                    // Annotation Sequence) radlab also takes as empty.
                    Action::Zero | Action::Dummy => {
                        changes.push(Change {
                            path,
                            action: action.letter(),
                            before: format!("[{} item(s)]", seq.items().len()),
                            after: "[0 item(s)]".into(),
                        });
                        out.put(DataElement::new(
                            tag,
                            VR::SQ,
                            DataSetSequence::from(Vec::<InMemDicomObject>::new()),
                        ));
                    }
                    _ => {
                        // K and C on a sequence: keep it, apply the table inside every item.
                        let name = seq_name(tag);
                        let items: Vec<InMemDicomObject> = seq
                            .items()
                            .iter()
                            .enumerate()
                            .map(|(i, item)| {
                                self.dataset(item, &format!("{prefix}{name}[{i}] > "), ctx, changes)
                            })
                            .collect();
                        out.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
                    }
                }
                continue;
            }
            match self.apply(e, action, ctx) {
                Applied::Same => {
                    out.put(e.clone());
                }
                Applied::Removed => changes.push(Change {
                    path,
                    action: 'X',
                    before: masked(e),
                    after: "(removed)".into(),
                }),
                Applied::New(value) => {
                    changes.push(Change {
                        path,
                        action: action.letter(),
                        before: masked(e),
                        after: text_of(&value),
                    });
                    out.put(DataElement::new(tag, vr, value));
                }
            }
        }
        // Private creators of blocks that still hold an element.
        for e in obj.iter() {
            let t = e.header().tag;
            if t.group() % 2 == 1
                && (0x0010..=0x00FF).contains(&t.element())
                && kept_blocks.contains(&(t.group(), t.element()))
            {
                out.put(e.clone());
            }
        }
        out
    }

    fn apply(&self, e: &InMemElement, action: Action, ctx: &Context) -> Applied {
        let tag = e.header().tag;
        let vr = e.vr();
        let value_text = || -> Option<Vec<String>> {
            e.value().to_multi_str().ok().map(|v| {
                v.iter()
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                    .collect()
            })
        };
        match action {
            Action::Keep => Applied::Same,
            Action::Remove => Applied::Removed,
            Action::Zero => {
                if e.header().len.0 == 0
                    || matches!(e.value(), Value::Primitive(PrimitiveValue::Empty))
                {
                    Applied::Same
                } else {
                    Applied::New(PrimitiveValue::Empty)
                }
            }
            Action::Uid => match value_text() {
                Some(v) if vr == VR::UI || vr == VR::UN => {
                    let mapped: Vec<String> = v
                        .iter()
                        .filter(|s| !s.is_empty())
                        .map(|s| self.config.key.uid(s))
                        .collect();
                    Applied::New(strs(mapped))
                }
                _ => Applied::New(PrimitiveValue::Empty),
            },
            Action::Dummy => Applied::New(self.dummy(tag, vr, value_text(), ctx)),
            Action::Clean => match vr {
                VR::DA | VR::DT => {
                    let Some(v) = value_text() else {
                        return Applied::New(PrimitiveValue::Empty);
                    };
                    let shifted: Vec<String> = v
                        .iter()
                        .map(|d| {
                            if d.is_empty() {
                                return String::new();
                            }
                            let (date, rest) = d.split_at(d.len().min(8));
                            match shift_date(date, ctx.offset_days) {
                                Some(s) => format!("{s}{rest}"),
                                None => if vr == VR::DA {
                                    "19000101"
                                } else {
                                    "19000101000000"
                                }
                                .to_string(),
                            }
                        })
                        .collect();
                    Applied::New(strs(shifted))
                }
                VR::TM => Applied::Same,
                VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::CS | VR::AE => {
                    match value_text() {
                        Some(v) => {
                            let cleaned: Vec<String> =
                                v.iter().map(|s| text::scrub(s, &ctx.identifying)).collect();
                            if cleaned == v {
                                Applied::Same
                            } else {
                                Applied::New(strs(cleaned))
                            }
                        }
                        None => Applied::New(PrimitiveValue::Empty),
                    }
                }
                // Numbers and binary values carry no text to clean.
                _ => Applied::Same,
            },
        }
    }

    /// A dummy value consistent with the VR. IDs become keyed pseudonyms so
    /// that one patient's files still group together; dates move by the
    /// patient's offset under the Modified Dates option.
    fn dummy(&self, tag: Tag, vr: VR, old: Option<Vec<String>>, ctx: &Context) -> PrimitiveValue {
        let first = old
            .as_ref()
            .and_then(|v| v.first().cloned())
            .unwrap_or_default();
        let s = |t: &str| PrimitiveValue::from(t.to_string());
        match vr {
            VR::UI => {
                if first.is_empty() {
                    s(&self.config.key.uid(&attrs::tag_string(tag)))
                } else {
                    s(&self.config.key.uid(&first))
                }
            }
            VR::DA | VR::DT => {
                let base = if vr == VR::DA {
                    "19000101"
                } else {
                    "19000101000000"
                };
                if self.config.has(ProfileOption::RetainModifiedDates) && first.len() >= 8 {
                    let (date, rest) = first.split_at(8);
                    if let Some(d) = shift_date(date, ctx.offset_days) {
                        return s(&format!("{d}{rest}"));
                    }
                }
                s(base)
            }
            VR::TM => s("000000"),
            VR::AS => s("000Y"),
            VR::IS | VR::DS => s("0"),
            VR::SH | VR::LO if is_identifier(tag) && !first.is_empty() => {
                s(&self.config.key.pseudonym(&first))
            }
            // A PN with a component separator: a bare word is the retired form.
            VR::PN => s("ANONYMIZED^ANONYMIZED"),
            VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::AE | VR::CS => {
                s("ANONYMIZED")
            }
            VR::UR => s("http://example.invalid/"),
            VR::US => PrimitiveValue::from(0u16),
            VR::SS => PrimitiveValue::from(0i16),
            VR::UL => PrimitiveValue::from(0u32),
            VR::SL => PrimitiveValue::from(0i32),
            VR::FL => PrimitiveValue::from(0f32),
            VR::FD => PrimitiveValue::from(0f64),
            _ => PrimitiveValue::Empty,
        }
    }

    fn mark(&self, out: &mut InMemDicomObject) {
        put_str(out, tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES");
        // One value per profile and option (LO holds 64 characters per value).
        let mut method = vec![METHOD.to_string()];
        method.extend(self.config.options.iter().map(|o| o.meaning().to_string()));
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            strs(method),
        ));
        let mut codes = vec![code_item(
            "113100",
            "Basic Application Confidentiality Profile",
        )];
        for o in &self.config.options {
            codes.push(code_item(o.code(), o.meaning()));
        }
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(codes),
        ));
        let temporal = if self.config.has(ProfileOption::RetainFullDates) {
            "UNMODIFIED"
        } else if self.config.has(ProfileOption::RetainModifiedDates) {
            "MODIFIED"
        } else {
            "REMOVED"
        };
        put_str(
            out,
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            temporal,
        );
    }

    fn clean_pixels(
        &self,
        name: &str,
        src: &DefaultDicomObject,
        out: &mut InMemDicomObject,
    ) -> Result<(), DeidError> {
        let err = |reason: String| DeidError::PixelClean {
            name: name.to_string(),
            reason,
        };
        let Some(pixel) = src.get(tags::PIXEL_DATA) else {
            return Ok(());
        };
        let Value::Primitive(p) = pixel.value() else {
            return Err(err(
                "pixel data is compressed; decompress it first (e.g. gdcmconv --raw)".into(),
            ));
        };
        let rows = attrs::int(src, tags::ROWS).unwrap_or(0).max(0) as usize;
        let cols = attrs::int(src, tags::COLUMNS).unwrap_or(0).max(0) as usize;
        let bits = attrs::int(src, tags::BITS_ALLOCATED).unwrap_or(16) as usize;
        let spp = attrs::int(src, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1) as usize;
        let planar = attrs::int(src, tags::PLANAR_CONFIGURATION).unwrap_or(0) == 1;
        if !(bits == 8 || bits == 16) || rows == 0 || cols == 0 {
            return Err(err(format!(
                "cleaning supports 8 and 16-bit pixels, not {bits} bits ({rows}x{cols})"
            )));
        }
        let mut bytes = p.to_bytes().into_owned();
        let bps = bits / 8;
        let frame = rows * cols * spp * bps;
        if frame == 0 || bytes.len() < frame {
            return Err(err(format!(
                "pixel data holds {} bytes, one frame needs {frame}",
                bytes.len()
            )));
        }
        for f in bytes.chunks_exact_mut(frame) {
            for r in &self.config.pixel_rects {
                for y in r.y0.min(rows)..r.y1.min(rows) {
                    for x in r.x0.min(cols)..r.x1.min(cols) {
                        for s in 0..spp {
                            let idx = if planar {
                                s * rows * cols + y * cols + x
                            } else {
                                (y * cols + x) * spp + s
                            };
                            f[idx * bps..(idx + 1) * bps].fill(0);
                        }
                    }
                }
            }
        }
        let vr = pixel.vr();
        let value = if vr == VR::OW {
            PrimitiveValue::U16(
                bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            )
        } else {
            PrimitiveValue::U8(bytes.into())
        };
        out.put(DataElement::new(tags::PIXEL_DATA, vr, value));
        Ok(())
    }
}

/// Per-object facts the actions need.
struct Context {
    offset_days: i64,
    identifying: Vec<String>,
}

enum Applied {
    Same,
    Removed,
    New(PrimitiveValue),
}

/// IDs that get keyed pseudonyms rather than a fixed dummy.
fn is_identifier(tag: Tag) -> bool {
    matches!(
        (tag.group(), tag.element()),
        (0x0010, 0x0020)
            | (0x0008, 0x0050)
            | (0x0020, 0x0010)
            | (0x0010, 0x1000)
            | (0x0012, 0x0040)
    )
}

fn patient_key(obj: &InMemDicomObject) -> String {
    match attrs::string(obj, tags::PATIENT_ID) {
        Some(id) => format!("id:{id}"),
        None => format!(
            "name:{}|{}",
            attrs::string(obj, tags::PATIENT_NAME).unwrap_or_default(),
            attrs::string(obj, tags::PATIENT_BIRTH_DATE).unwrap_or_default()
        ),
    }
}

fn masked(e: &InMemElement) -> String {
    match e.value() {
        Value::Primitive(p) => match p {
            PrimitiveValue::U8(_) | PrimitiveValue::U16(_) if e.vr() != VR::US => {
                format!("[{} bytes]", p.calculate_byte_len())
            }
            _ => radlab_dicom::summary::mask(p.to_str().trim_end_matches(['\0', ' '])),
        },
        Value::Sequence(s) => format!("[{} item(s)]", s.items().len()),
        Value::PixelSequence(_) => "[encapsulated]".into(),
    }
}

fn text_of(v: &PrimitiveValue) -> String {
    match v.to_str() {
        Cow::Borrowed(s) => s.to_string(),
        Cow::Owned(s) => s,
    }
}

fn strs(v: Vec<String>) -> PrimitiveValue {
    if v.is_empty() {
        PrimitiveValue::Empty
    } else {
        PrimitiveValue::Strs(v.into_iter().collect())
    }
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::from(v.to_string()),
    ));
}

fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    put_str(&mut item, tags::CODE_VALUE, VR::SH, value);
    put_str(&mut item, tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM");
    put_str(&mut item, tags::CODE_MEANING, VR::LO, meaning);
    item
}

fn pad_uid(uid: &str) -> String {
    let mut s = uid.to_string();
    if s.len() % 2 == 1 {
        s.push('\0');
    }
    s
}

impl text::Policy for Deidentifier {
    fn action(&self, tag: Tag, vr: VR) -> Action {
        Deidentifier::action(self, tag, vr)
    }

    fn keeps_private(&self, tag: Tag, creator: Option<&str>) -> bool {
        Deidentifier::keeps_private(self, tag, creator)
    }
}
