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

/// One TID 1411 measurement group.
pub fn measurement_group(f: &Finding, source: &SourceSeries, algorithm: &Algorithm) -> Item {
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
            Value::Text(f.tracking_id()),
        ),
        Item::new(
            R::HasObsContext,
            tracking_uid(),
            Value::UidRef(f.tracking_uid(source, algorithm)),
        ),
        Item::new(R::Contains, finding(), Value::Code(nodule())),
        Item::new(R::HasConceptMod, finding_site(), Value::Code(lung())),
        Item::new(
            R::HasConceptMod,
            algorithm_name(),
            Value::Text(algorithm.name.clone()),
        ),
        Item::new(
            R::HasConceptMod,
            algorithm_version(),
            Value::Text(algorithm.version.clone()),
        ),
        Item::new(
            R::Contains,
            referenced_segment(),
            Value::Image {
                sop_class: seg::SEGMENTATION_STORAGE.into(),
                sop_instance: seg::instance_uid(source, algorithm),
                segment: Some(f.number),
            },
        ),
        Item::new(
            R::Contains,
            source_series(),
            Value::UidRef(source.series_uid.clone()),
        ),
        num(volume(), f.volume_mm3, mm3()),
        num(long_axis(), f.long_axis_mm, mm()),
        num(attenuation(), f.mean_hu, hu()).with(vec![Item::new(
            R::HasConceptMod,
            derivation(),
            Value::Code(mean()),
        )]),
        num(probability(), f.probability, unity()),
    ])
}

/// The whole content tree.
pub fn content(findings: &[Finding], source: &SourceSeries, algorithm: &Algorithm) -> Item {
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
            .with(
                findings
                    .iter()
                    .map(|f| self::measurement_group(f, source, algorithm))
                    .collect(),
            ),
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
        vec![evidence(source, algorithm)],
    );
    content(findings, source, algorithm).encode_root(&mut o);
    crate::to_file(o, "TID 1500 SR")
}

/// The evidence item of the study: the source series, every instance, and
/// the SEG the measurement groups reference.
fn evidence(source: &SourceSeries, algorithm: &Algorithm) -> InMemDicomObject {
    let sop_item = crate::dataset::sop_ref;
    let mut ct = InMemDicomObject::new_empty();
    put(
        &mut ct,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &source.series_uid,
    );
    put_seq(
        &mut ct,
        tags::REFERENCED_SOP_SEQUENCE,
        source
            .instances
            .iter()
            .map(|i| sop_item(&i.sop_class, &i.sop_instance))
            .collect(),
    );
    let mut segs = InMemDicomObject::new_empty();
    put(
        &mut segs,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &seg::series_uid(source, algorithm),
    );
    put_seq(
        &mut segs,
        tags::REFERENCED_SOP_SEQUENCE,
        vec![sop_item(
            seg::SEGMENTATION_STORAGE,
            &seg::instance_uid(source, algorithm),
        )],
    );
    let mut study = InMemDicomObject::new_empty();
    put(
        &mut study,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &source.study_uid,
    );
    put_seq(&mut study, tags::REFERENCED_SERIES_SEQUENCE, vec![ct, segs]);
    study
}
