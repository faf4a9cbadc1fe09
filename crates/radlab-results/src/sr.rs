//! An SR content tree: build it, encode it as a ContentSequence, decode it
//! back from any SR data set, and print it the way `dsrdump` does.

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::Code;
use crate::dataset::{self, get, get_code, items, put, put_code, put_seq};

/// Relationship Type (0040,A010) between a content item and its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Relationship {
    /// CONTAINS
    Contains,
    /// HAS OBS CONTEXT
    HasObsContext,
    /// HAS CONCEPT MOD
    HasConceptMod,
    /// HAS PROPERTIES
    HasProperties,
    /// HAS ACQ CONTEXT
    HasAcqContext,
    /// INFERRED FROM
    InferredFrom,
    /// SELECTED FROM
    SelectedFrom,
}

impl Relationship {
    /// The defined term.
    pub fn term(self) -> &'static str {
        match self {
            Relationship::Contains => "CONTAINS",
            Relationship::HasObsContext => "HAS OBS CONTEXT",
            Relationship::HasConceptMod => "HAS CONCEPT MOD",
            Relationship::HasProperties => "HAS PROPERTIES",
            Relationship::HasAcqContext => "HAS ACQ CONTEXT",
            Relationship::InferredFrom => "INFERRED FROM",
            Relationship::SelectedFrom => "SELECTED FROM",
        }
    }

    /// From the defined term.
    pub fn from_term(t: &str) -> Option<Relationship> {
        [
            Relationship::Contains,
            Relationship::HasObsContext,
            Relationship::HasConceptMod,
            Relationship::HasProperties,
            Relationship::HasAcqContext,
            Relationship::InferredFrom,
            Relationship::SelectedFrom,
        ]
        .into_iter()
        .find(|r| r.term() == t)
    }
}

/// The value of a content item, by Value Type (0040,A040).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Value {
    /// CONTAINER, with its template (`DCMR` identifier) when it has one.
    Container {
        /// TemplateIdentifier, e.g. `1500`.
        template: Option<String>,
    },
    /// CODE
    Code(Code),
    /// TEXT
    Text(String),
    /// UIDREF
    UidRef(String),
    /// NUM: the value as written (a DS string) and its unit.
    Num {
        /// Numeric Value, as the DS text.
        value: String,
        /// Measurement Units Code.
        unit: Code,
    },
    /// IMAGE: a referenced instance, and a segment number for a SEG.
    Image {
        /// Referenced SOP Class UID.
        sop_class: String,
        /// Referenced SOP Instance UID.
        sop_instance: String,
        /// Referenced Segment Number.
        segment: Option<u16>,
    },
    /// Any other value type, kept by name (e.g. `SCOORD3D`).
    Other(String),
}

impl Value {
    /// The Value Type term.
    pub fn type_term(&self) -> &str {
        match self {
            Value::Container { .. } => "CONTAINER",
            Value::Code(_) => "CODE",
            Value::Text(_) => "TEXT",
            Value::UidRef(_) => "UIDREF",
            Value::Num { .. } => "NUM",
            Value::Image { .. } => "IMAGE",
            Value::Other(t) => t,
        }
    }
}

/// One content item with its children.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    /// Relationship to the parent (`None` for the root).
    pub relationship: Option<Relationship>,
    /// Concept Name.
    pub concept: Option<Code>,
    /// The value.
    pub value: Value,
    /// Children, in order.
    pub children: Vec<Item>,
}

impl Item {
    /// A child item.
    pub fn new(relationship: Relationship, concept: Code, value: Value) -> Item {
        Item {
            relationship: Some(relationship),
            concept: Some(concept),
            value,
            children: Vec::new(),
        }
    }

    /// With children.
    pub fn with(mut self, children: Vec<Item>) -> Item {
        self.children = children;
        self
    }

    /// The children whose concept is `(value, scheme)`.
    pub fn find<'a>(&'a self, value: &'a str, scheme: &'a str) -> impl Iterator<Item = &'a Item> {
        self.children
            .iter()
            .filter(move |c| c.concept.as_ref().is_some_and(|k| k.is(value, scheme)))
    }

    /// Encode the value attributes and the children into `o`.
    fn encode_into(&self, o: &mut InMemDicomObject) {
        if let Some(r) = self.relationship {
            put(o, tags::RELATIONSHIP_TYPE, VR::CS, r.term());
        }
        put(o, tags::VALUE_TYPE, VR::CS, self.value.type_term());
        if let Some(c) = &self.concept {
            put_code(o, tags::CONCEPT_NAME_CODE_SEQUENCE, c);
        }
        match &self.value {
            Value::Container { template } => {
                put(o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
                if let Some(t) = template {
                    let mut ti = InMemDicomObject::new_empty();
                    put(&mut ti, tags::MAPPING_RESOURCE, VR::CS, "DCMR");
                    put(&mut ti, tags::TEMPLATE_IDENTIFIER, VR::CS, t);
                    put_seq(o, tags::CONTENT_TEMPLATE_SEQUENCE, vec![ti]);
                }
            }
            Value::Code(c) => put_code(o, tags::CONCEPT_CODE_SEQUENCE, c),
            Value::Text(t) => put(o, tags::TEXT_VALUE, VR::UT, t),
            Value::UidRef(u) => put(o, tags::UID, VR::UI, u),
            Value::Num { value, unit } => {
                let mut mv = InMemDicomObject::new_empty();
                put(&mut mv, tags::NUMERIC_VALUE, VR::DS, value);
                put_code(&mut mv, tags::MEASUREMENT_UNITS_CODE_SEQUENCE, unit);
                put_seq(o, tags::MEASURED_VALUE_SEQUENCE, vec![mv]);
            }
            Value::Image {
                sop_class,
                sop_instance,
                segment,
            } => {
                let mut r = InMemDicomObject::new_empty();
                put(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class);
                put(
                    &mut r,
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    sop_instance,
                );
                if let Some(s) = segment {
                    dataset::put_us(&mut r, tags::REFERENCED_SEGMENT_NUMBER, &[*s]);
                }
                put_seq(o, tags::REFERENCED_SOP_SEQUENCE, vec![r]);
            }
            Value::Other(_) => {}
        }
        if !self.children.is_empty() {
            let kids = self
                .children
                .iter()
                .map(|c| {
                    let mut k = InMemDicomObject::new_empty();
                    c.encode_into(&mut k);
                    k
                })
                .collect();
            put_seq(o, tags::CONTENT_SEQUENCE, kids);
        }
    }

    /// Encode a root item into the SR Document Content module of `o`.
    pub fn encode_root(&self, o: &mut InMemDicomObject) {
        self.encode_into(o);
    }

    /// Decode the content tree of an SR data set (the root is the data set
    /// itself). Nesting is bounded at `max_depth`; deeper items are an error.
    pub fn decode(o: &InMemDicomObject, max_depth: usize) -> Result<Item, String> {
        decode_item(o, 0, max_depth, "root")
    }
}

fn decode_item(o: &InMemDicomObject, depth: usize, max: usize, at: &str) -> Result<Item, String> {
    if depth > max {
        return Err(format!("{at}: content nested deeper than {max} levels"));
    }
    let vt = get(o, tags::VALUE_TYPE).ok_or_else(|| format!("{at}: no ValueType (0040,A040)"))?;
    let relationship = match get(o, tags::RELATIONSHIP_TYPE) {
        Some(t) => Some(
            Relationship::from_term(&t)
                .ok_or_else(|| format!("{at}: unknown RelationshipType \"{t}\""))?,
        ),
        None if depth == 0 => None,
        None => return Err(format!("{at}: no RelationshipType (0040,A010)")),
    };
    let concept = get_code(o, tags::CONCEPT_NAME_CODE_SEQUENCE);
    let value = match vt.as_str() {
        "CONTAINER" => Value::Container {
            template: items(o, tags::CONTENT_TEMPLATE_SEQUENCE)
                .first()
                .and_then(|t| get(t, tags::TEMPLATE_IDENTIFIER)),
        },
        "CODE" => Value::Code(
            get_code(o, tags::CONCEPT_CODE_SEQUENCE)
                .ok_or_else(|| format!("{at}: CODE without ConceptCodeSequence"))?,
        ),
        "TEXT" => Value::Text(get(o, tags::TEXT_VALUE).unwrap_or_default()),
        "UIDREF" => Value::UidRef(get(o, tags::UID).unwrap_or_default()),
        "NUM" => {
            let mv = items(o, tags::MEASURED_VALUE_SEQUENCE)
                .first()
                .ok_or_else(|| format!("{at}: NUM without MeasuredValueSequence"))?;
            Value::Num {
                value: get(mv, tags::NUMERIC_VALUE).unwrap_or_default(),
                unit: get_code(mv, tags::MEASUREMENT_UNITS_CODE_SEQUENCE)
                    .ok_or_else(|| format!("{at}: NUM without units"))?,
            }
        }
        "IMAGE" => {
            let r = items(o, tags::REFERENCED_SOP_SEQUENCE)
                .first()
                .ok_or_else(|| format!("{at}: IMAGE without ReferencedSOPSequence"))?;
            Value::Image {
                sop_class: get(r, tags::REFERENCED_SOP_CLASS_UID).unwrap_or_default(),
                sop_instance: get(r, tags::REFERENCED_SOP_INSTANCE_UID).unwrap_or_default(),
                segment: radlab_dicom::attrs::int(r, tags::REFERENCED_SEGMENT_NUMBER)
                    .and_then(|v| u16::try_from(v).ok()),
            }
        }
        other => Value::Other(other.to_string()),
    };
    let children = items(o, tags::CONTENT_SEQUENCE)
        .iter()
        .enumerate()
        .map(|(i, k)| decode_item(k, depth + 1, max, &format!("{at}.{}", i + 1)))
        .collect::<Result<_, _>>()?;
    Ok(Item {
        relationship,
        concept,
        value,
        children,
    })
}

/// The tree as `dsrdump` prints it: one line per item, numbered by
/// position (`1.2.3`), relationship, value type, concept meaning, value.
pub fn dump(root: &Item) -> String {
    let mut out = String::new();
    dump_into(root, "1", 0, &mut out);
    out
}

fn dump_into(it: &Item, number: &str, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let rel = it
        .relationship
        .map(|r| format!("<{}:", r.term()))
        .unwrap_or("<".into());
    let name = it
        .concept
        .as_ref()
        .map(|c| format!("(,,\"{}\")", c.meaning))
        .unwrap_or_default();
    let value = match &it.value {
        Value::Container { .. } | Value::Other(_) => String::new(),
        Value::Code(c) => format!("=({},{},\"{}\")", c.value, c.scheme, c.meaning),
        Value::Text(t) => format!("=\"{t}\""),
        Value::UidRef(u) => format!("=\"{u}\""),
        Value::Num { value, unit } => format!(
            "=\"{value}\" ({},{},\"{}\")",
            unit.value, unit.scheme, unit.meaning
        ),
        Value::Image {
            sop_instance,
            segment,
            ..
        } => match segment {
            Some(s) => format!("=({sop_instance}) segment {s}"),
            None => format!("=({sop_instance})"),
        },
    };
    out.push_str(&format!(
        "{indent}{rel}{}>{name}{value}   [{number}]\n",
        it.value.type_term()
    ));
    for (i, c) in it.children.iter().enumerate() {
        dump_into(c, &format!("{number}.{}", i + 1), depth + 1, out);
    }
}
