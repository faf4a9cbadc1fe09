//! TID 1500 Imaging Measurement Report, written as Comprehensive 3D SR.
//!
//! The tree (PS3.16 TID 1500 with TID 1001, TID 1411, TID 4019):
//!
//! ```text
//! CONTAINER (126000, DCM, "Imaging Measurement Report")  template 1500
//!   HAS CONCEPT MOD  CODE  Language of Content Item and Descendants = en-US
//!   HAS OBS CONTEXT  CODE  Observer Type = Device
//!   HAS OBS CONTEXT  UIDREF Device Observer UID;  TEXT Device Observer Name
//!   HAS CONCEPT MOD  CODE  Procedure reported = CT of chest
//!   CONTAINS CONTAINER Imaging Measurements
//!     CONTAINS CONTAINER Measurement Group  template 1411   (one per finding)
//!       HAS OBS CONTEXT TEXT Tracking Identifier; UIDREF Tracking Unique Identifier
//!       CONTAINS CODE Finding = Nodule;  HAS CONCEPT MOD CODE Finding Site = Lung
//!       HAS CONCEPT MOD TEXT Algorithm Name, Algorithm Version
//!       CONTAINS IMAGE Referenced Segment;  UIDREF Source series for segmentation
//!       CONTAINS NUM Volume (mm3), Long Axis (mm), Attenuation Coefficient ([hnsf'U],
//!                    with Derivation = Mean), Nodule probability (1)
//! ```

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};

use crate::dataset::{ds, put, put_seq};
use crate::sr::{Item, Relationship as R, Value};
use crate::{Algorithm, Code, Created, Finding, ResultsError, SourceSeries, seg};

/// Comprehensive 3D SR Storage.
pub const COMPREHENSIVE_3D_SR: &str = "1.2.840.10008.5.1.4.1.1.88.34";

/// The local coding scheme of the one concept no standard scheme has.
pub const LOCAL_SCHEME: &str = "99RADLAB";

/// The codes the report uses, by name.
pub mod codes {
    use crate::Code;
    /// Root concept.
    pub fn report() -> Code {
        Code::new("126000", "DCM", "Imaging Measurement Report")
    }
    /// Language row.
    pub fn language() -> Code {
        Code::new("121049", "DCM", "Language of Content Item and Descendants")
    }
    /// en-US.
    pub fn english() -> Code {
        Code::new("en-US", "RFC5646", "English (United States)")
    }
    /// Observer Type.
    pub fn observer_type() -> Code {
        Code::new("121005", "DCM", "Observer Type")
    }
    /// Device (an observer type).
    pub fn device() -> Code {
        Code::new("121007", "DCM", "Device")
    }
    /// Device Observer UID.
    pub fn device_uid() -> Code {
        Code::new("121012", "DCM", "Device Observer UID")
    }
    /// Device Observer Name.
    pub fn device_name() -> Code {
        Code::new("121013", "DCM", "Device Observer Name")
    }
    /// Procedure reported.
    pub fn procedure_reported() -> Code {
        Code::new("121058", "DCM", "Procedure reported")
    }
    /// CT of chest (what was imaged, not the algorithm).
    pub fn ct_chest() -> Code {
        Code::new("169069000", "SCT", "CT of chest")
    }
    /// Imaging Measurements container.
    pub fn imaging_measurements() -> Code {
        Code::new("126010", "DCM", "Imaging Measurements")
    }
    /// Measurement Group container.
    pub fn measurement_group() -> Code {
        Code::new("125007", "DCM", "Measurement Group")
    }
    /// Tracking Identifier.
    pub fn tracking_id() -> Code {
        Code::new("112039", "DCM", "Tracking Identifier")
    }
    /// Tracking Unique Identifier.
    pub fn tracking_uid() -> Code {
        Code::new("112040", "DCM", "Tracking Unique Identifier")
    }
    /// Finding.
    pub fn finding() -> Code {
        Code::new("121071", "DCM", "Finding")
    }
    /// Nodule.
    pub fn nodule() -> Code {
        Code::new("27925004", "SCT", "Nodule")
    }
    /// Finding Site.
    pub fn finding_site() -> Code {
        Code::new("363698007", "SCT", "Finding Site")
    }
    /// Lung.
    pub fn lung() -> Code {
        Code::new("39607008", "SCT", "Lung")
    }
    /// Algorithm Name (TID 4019).
    pub fn algorithm_name() -> Code {
        Code::new("111001", "DCM", "Algorithm Name")
    }
    /// Algorithm Version (TID 4019).
    pub fn algorithm_version() -> Code {
        Code::new("111003", "DCM", "Algorithm Version")
    }
    /// Referenced Segment.
    pub fn referenced_segment() -> Code {
        Code::new("121191", "DCM", "Referenced Segment")
    }
    /// Source series for segmentation.
    pub fn source_series() -> Code {
        Code::new("121232", "DCM", "Source series for segmentation")
    }
    /// Volume.
    pub fn volume() -> Code {
        Code::new("118565006", "SCT", "Volume")
    }
    /// Long Axis.
    pub fn long_axis() -> Code {
        Code::new("103339001", "SCT", "Long Axis")
    }
    /// Attenuation Coefficient.
    pub fn attenuation() -> Code {
        Code::new("112031", "DCM", "Attenuation Coefficient")
    }
    /// Derivation (a concept modifier of a measurement).
    pub fn derivation() -> Code {
        Code::new("121401", "DCM", "Derivation")
    }
    /// Mean.
    pub fn mean() -> Code {
        Code::new("373098007", "SCT", "Mean")
    }
    /// The model's nodule probability (a local code: no standard one fits).
    pub fn probability() -> Code {
        Code::new("NODPROB", super::LOCAL_SCHEME, "Nodule probability")
    }
    /// mm³ in UCUM.
    pub fn mm3() -> Code {
        Code::new("mm3", "UCUM", "cubic millimeter")
    }
    /// mm in UCUM.
    pub fn mm() -> Code {
        Code::new("mm", "UCUM", "millimeter")
    }
    /// Hounsfield unit in UCUM.
    pub fn hu() -> Code {
        Code::new("[hnsf'U]", "UCUM", "Hounsfield unit")
    }
    /// Dimensionless in UCUM.
    pub fn unity() -> Code {
        Code::new("1", "UCUM", "no units")
    }
}

/// The report's UIDs.
pub fn series_uid(source: &SourceSeries, algorithm: &Algorithm) -> String {
    crate::result_uid(source, algorithm, "sr-series")
}

/// The report's SOP Instance UID.
pub fn instance_uid(source: &SourceSeries, algorithm: &Algorithm) -> String {
    crate::result_uid(source, algorithm, "sr-instance")
}

fn num(concept: Code, value: f64, unit: Code) -> Item {
    Item::new(
        R::Contains,
        concept,
        Value::Num {
            value: ds(value),
            unit,
        },
    )
}

/// What one TID 1411 measurement group says about a finding: the values
/// [`group_item`] writes, gathered so a group can be built (or checked)
/// without a volume at hand.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Group {
    /// The finding's number: its SEG segment number.
    pub number: u16,
    /// Tracking Identifier (human-readable), e.g. `Nodule 1`.
    pub tracking_id: String,
    /// Tracking Unique Identifier.
    pub tracking_uid: String,
    /// Volume, mm³.
    pub volume_mm3: f64,
    /// Long axis, mm.
    pub long_axis_mm: f64,
    /// Mean attenuation, HU.
    pub mean_hu: f64,
    /// The model's probability, in `[0, 1]`.
    pub probability: f64,
    /// SOP Instance UID of the SEG holding the finding's segment.
    pub seg_instance_uid: String,
    /// Series Instance UID of the images the finding was segmented on.
    pub source_series_uid: String,
    /// Algorithm Name.
    pub algorithm_name: String,
    /// Algorithm Version.
    pub algorithm_version: String,
}

impl Group {
    /// The group of finding `f` found by `algorithm` on `source`.
    pub fn of(f: &Finding, source: &SourceSeries, algorithm: &Algorithm) -> Group {
        Group {
            number: f.number,
            tracking_id: f.tracking_id(),
            tracking_uid: f.tracking_uid(source, algorithm),
            volume_mm3: f.volume_mm3,
            long_axis_mm: f.long_axis_mm,
            mean_hu: f.mean_hu,
            probability: f.probability,
            seg_instance_uid: seg::instance_uid(source, algorithm),
            source_series_uid: source.series_uid.clone(),
            algorithm_name: algorithm.name.clone(),
            algorithm_version: algorithm.version.clone(),
        }
    }
}

/// One TID 1411 measurement group.
pub fn measurement_group(f: &Finding, source: &SourceSeries, algorithm: &Algorithm) -> Item {
    group_item(&Group::of(f, source, algorithm))
}

/// The TID 1411 content item of `g`: tracking identifier and UID (HAS OBS
/// CONTEXT), finding and referenced segment and source series (CONTAINS),
/// finding site and algorithm (HAS CONCEPT MOD), and four NUM items in
/// UCUM units (`mm3`, `mm`, `[hnsf'U]` with Derivation = Mean, `1`).
pub fn group_item(g: &Group) -> Item {
    use codes::*;
    Item::new(
        R::Contains,
        measurement_group(),
        Value::Container {
            template: Some("1411".into()),
        },
    )
    .with(vec![
        Item::new(
            R::HasObsContext,
            tracking_id(),
            Value::Text(g.tracking_id.clone()),
        ),
        Item::new(
            R::HasObsContext,
            tracking_uid(),
            Value::UidRef(g.tracking_uid.clone()),
        ),
        Item::new(R::Contains, finding(), Value::Code(nodule())),
        Item::new(R::HasConceptMod, finding_site(), Value::Code(lung())),
        Item::new(
            R::HasConceptMod,
            algorithm_name(),
            Value::Text(g.algorithm_name.clone()),
        ),
        Item::new(
            R::HasConceptMod,
            algorithm_version(),
            Value::Text(g.algorithm_version.clone()),
        ),
        Item::new(
            R::Contains,
            referenced_segment(),
            Value::Image {
                sop_class: seg::SEGMENTATION_STORAGE.into(),
                sop_instance: g.seg_instance_uid.clone(),
                segment: Some(g.number),
            },
        ),
        Item::new(
            R::Contains,
            source_series(),
            Value::UidRef(g.source_series_uid.clone()),
        ),
        num(volume(), g.volume_mm3, mm3()),
        num(long_axis(), g.long_axis_mm, mm()),
        num(attenuation(), g.mean_hu, hu()).with(vec![Item::new(
            R::HasConceptMod,
            derivation(),
            Value::Code(mean()),
        )]),
        num(probability(), g.probability, unity()),
    ])
}

/// The whole content tree.
pub fn content(findings: &[Finding], source: &SourceSeries, algorithm: &Algorithm) -> Item {
    root(
        findings
            .iter()
            .map(|f| self::measurement_group(f, source, algorithm))
            .collect(),
        algorithm,
    )
}

/// The TID 1500 root of a report by `algorithm` (a device observer) whose
/// Imaging Measurements container holds `groups`.
pub fn root(groups: Vec<Item>, algorithm: &Algorithm) -> Item {
    use codes::*;
    Item {
        relationship: None,
        concept: Some(report()),
        value: Value::Container {
            template: Some("1500".into()),
        },
        children: vec![
            Item::new(R::HasConceptMod, language(), Value::Code(english())),
            Item::new(R::HasObsContext, observer_type(), Value::Code(device())),
            Item::new(
                R::HasObsContext,
                device_uid(),
                Value::UidRef(algorithm.device_uid()),
            ),
            Item::new(
                R::HasObsContext,
                device_name(),
                Value::Text(algorithm.name.clone()),
            ),
            Item::new(
                R::HasConceptMod,
                procedure_reported(),
                Value::Code(ct_chest()),
            ),
            Item::new(
                R::Contains,
                imaging_measurements(),
                Value::Container { template: None },
            )
            .with(groups),
        ],
    }
}

/// The report as a DICOM file: SOP Common, patient and study, SR Document
/// Series, equipment, SR Document General (evidence: every source instance
/// and the SEG) and the content.
pub fn report(
    findings: &[Finding],
    source: &SourceSeries,
    algorithm: &Algorithm,
    created: &Created,
) -> Result<DefaultDicomObject, ResultsError> {
    let mut o = InMemDicomObject::new_empty();
    let sop = instance_uid(source, algorithm);
    crate::common_module(
        &mut o,
        source,
        algorithm,
        COMPREHENSIVE_3D_SR,
        &sop,
        created,
    );
    crate::dataset::series(
        &mut o,
        "SR",
        &series_uid(source, algorithm),
        "9002",
        "AI nodule measurements (TID 1500)",
    );
    put_seq(
        &mut o,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        vec![],
    );
    put(&mut o, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
    put(&mut o, tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED");
    put_seq(&mut o, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]);
    let mut scheme = InMemDicomObject::new_empty();
    put(
        &mut scheme,
        tags::CODING_SCHEME_DESIGNATOR,
        VR::SH,
        LOCAL_SCHEME,
    );
    put(
        &mut scheme,
        tags::CODING_SCHEME_NAME,
        VR::ST,
        "radlab local codes",
    );
    put(
        &mut scheme,
        tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION,
        VR::ST,
        "radlab",
    );
    put_seq(
        &mut o,
        tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
        vec![scheme],
    );
    put_seq(
        &mut o,
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        evidence_items(&evidence(&report_references(findings, source, algorithm))),
    );
    content(findings, source, algorithm).encode_root(&mut o);
    crate::to_file(o, "TID 1500 SR")
}

/// One instance a report depends on: the Current Requested Procedure
/// Evidence Sequence must list it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reference {
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// SOP Class UID.
    pub sop_class: String,
    /// SOP Instance UID.
    pub sop_instance: String,
}

/// A series of the evidence and its instances `(SOP class, SOP instance)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvidenceSeries {
    /// Series Instance UID.
    pub series_uid: String,
    /// `(SOP Class UID, SOP Instance UID)`, each once.
    pub instances: Vec<(String, String)>,
}

/// A study of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvidenceStudy {
    /// Study Instance UID.
    pub study_uid: String,
    /// Its series, each once.
    pub series: Vec<EvidenceSeries>,
}

/// The evidence hierarchy of `refs`: study, then series, then instance,
/// each listed once, in the order they first appear.
///
/// ```
/// use radlab_results::tid1500::{Reference, evidence};
/// let r = |se: &str, i: &str| Reference {
///     study_uid: "1.2".into(), series_uid: se.into(), sop_class: "1.9".into(), sop_instance: i.into(),
/// };
/// let e = evidence(&[r("1.2.3", "1.2.3.1"), r("1.2.4", "1.2.4.1"), r("1.2.3", "1.2.3.1")]);
/// assert_eq!(e.len(), 1);
/// assert_eq!(e[0].series.len(), 2);
/// assert_eq!(e[0].series[0].instances.len(), 1);
/// ```
pub fn evidence(refs: &[Reference]) -> Vec<EvidenceStudy> {
    let mut out: Vec<EvidenceStudy> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in refs {
        if !seen.insert((&r.study_uid, &r.series_uid, &r.sop_instance)) {
            continue;
        }
        let study = match out.iter().position(|s| s.study_uid == r.study_uid) {
            Some(i) => &mut out[i],
            None => {
                out.push(EvidenceStudy {
                    study_uid: r.study_uid.clone(),
                    series: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        let series = match study
            .series
            .iter()
            .position(|s| s.series_uid == r.series_uid)
        {
            Some(i) => &mut study.series[i],
            None => {
                study.series.push(EvidenceSeries {
                    series_uid: r.series_uid.clone(),
                    instances: Vec::new(),
                });
                study.series.last_mut().expect("just pushed")
            }
        };
        series
            .instances
            .push((r.sop_class.clone(), r.sop_instance.clone()));
    }
    out
}

/// What a report of `source` by `algorithm` depends on: every source
/// instance and the SEG its measurement groups reference.
pub fn references(source: &SourceSeries, algorithm: &Algorithm) -> Vec<Reference> {
    let mut refs: Vec<Reference> = source
        .instances
        .iter()
        .map(|i| Reference {
            study_uid: source.study_uid.clone(),
            series_uid: source.series_uid.clone(),
            sop_class: i.sop_class.clone(),
            sop_instance: i.sop_instance.clone(),
        })
        .collect();
    refs.push(Reference {
        study_uid: source.study_uid.clone(),
        series_uid: seg::series_uid(source, algorithm),
        sop_class: seg::SEGMENTATION_STORAGE.into(),
        sop_instance: seg::instance_uid(source, algorithm),
    });
    refs
}

/// What a report on `findings` depends on: [`references`], less the SEG
/// when there are no findings (a negative study gets no SEG: a SEG needs a
/// segment).
pub fn report_references(
    findings: &[Finding],
    source: &SourceSeries,
    algorithm: &Algorithm,
) -> Vec<Reference> {
    let mut refs = references(source, algorithm);
    if findings.is_empty() {
        refs.retain(|r| r.sop_class != seg::SEGMENTATION_STORAGE);
    }
    refs
}

/// The Current Requested Procedure Evidence Sequence items of `studies`.
pub fn evidence_items(studies: &[EvidenceStudy]) -> Vec<InMemDicomObject> {
    studies
        .iter()
        .map(|st| {
            let series = st
                .series
                .iter()
                .map(|se| {
                    let mut o = InMemDicomObject::new_empty();
                    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &se.series_uid);
                    put_seq(
                        &mut o,
                        tags::REFERENCED_SOP_SEQUENCE,
                        se.instances
                            .iter()
                            .map(|(c, i)| crate::dataset::sop_ref(c, i))
                            .collect(),
                    );
                    o
                })
                .collect();
            let mut study = InMemDicomObject::new_empty();
            put(&mut study, tags::STUDY_INSTANCE_UID, VR::UI, &st.study_uid);
            put_seq(&mut study, tags::REFERENCED_SERIES_SEQUENCE, series);
            study
        })
        .collect()
}
