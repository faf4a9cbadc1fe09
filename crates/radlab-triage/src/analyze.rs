//! The analysis a route names: load the series, run the models, make the
//! result objects (SEG and TID 1500 SR) the PACS gets back.

use std::path::PathBuf;

use radlab_dicom::Volume;
use radlab_infer::{Model, ModelOptions};
use radlab_results::{Algorithm, Created, Finding, SourceSeries, seg, tid1500};

use crate::TriageError;

/// One finding, as the alert and the timeline report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FindingSummary {
    /// 1-based number (the SEG segment).
    pub number: u16,
    /// The classifier's probability.
    pub probability: f64,
    /// Volume, mm³.
    pub volume_mm3: f64,
    /// Longest distance between two voxel centres, mm.
    pub long_axis_mm: f64,
}

/// What an analysis produced for one series.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The findings.
    pub findings: Vec<FindingSummary>,
    /// Result objects, Part 10 bytes, in the order they go to the PACS: the
    /// SEG (when there is a finding) and the SR.
    pub objects: Vec<Vec<u8>>,
    /// SOP Instance UID of the SR (what the alert points to).
    pub sr_instance: String,
    /// Accession Number of the study (for the alert), may be empty.
    pub accession: String,
}

/// An analysis in two steps, so that the service can time each.
pub trait Analyzer: Send {
    /// Load the series' files into a volume.
    fn load(&mut self, files: &[PathBuf]) -> Result<Volume, TriageError> {
        Ok(radlab_dicom::load_series(files)?)
    }
    /// Run the models on the volume and make the result objects.
    fn infer(&mut self, volume: &Volume) -> Result<Outcome, TriageError>;
}

/// The nodule analysis of the bundled models: the segmenter by sliding
/// windows, components at `threshold` of at least `min_volume_mm3`, each
/// scored by the classifier, then a SEG and a TID 1500 SR.
pub struct Nodules {
    segmenter: Model,
    classifier: Model,
    /// Voxel probability threshold. Default 0.5.
    pub threshold: f32,
    /// Smallest component reported, mm³. Default 10.
    pub min_volume_mm3: f64,
}

impl Nodules {
    /// Load the bundled segmenter and classifier (once: every study reuses them).
    pub fn load_models() -> Result<Nodules, TriageError> {
        let dir = radlab_eval::models_dir();
        let load = |name: &str| {
            Model::load(&dir.join(format!("{name}.toml")), &ModelOptions::default())
                .map_err(TriageError::from)
        };
        Ok(Nodules {
            segmenter: load("nodule_segmenter")?,
            classifier: load("nodule_classifier")?,
            threshold: 0.5,
            min_volume_mm3: 10.0,
        })
    }
}

fn encode(o: &dicom_object::DefaultDicomObject) -> Result<Vec<u8>, TriageError> {
    let mut b = Vec::new();
    o.write_all(&mut b)
        .map_err(|e| TriageError::Analysis(format!("encoding a result object: {e}")))?;
    Ok(b)
}

impl Analyzer for Nodules {
    fn infer(&mut self, volume: &Volume) -> Result<Outcome, TriageError> {
        let source = SourceSeries::from_volume(volume)?;
        let alg =
            Algorithm::from_weights(&self.segmenter.card().name, &self.segmenter.card().sha256);
        let prob = radlab_eval::segment(&mut self.segmenter, volume.voxels.view(), &mut |_, _| {})?;
        let spacing =
            radlab_metrics::Spacing::new(volume.spacing.z, volume.spacing.y, volume.spacing.x);
        let (labels, kept, _) = radlab_eval::detect::nodules(
            prob.view(),
            self.threshold,
            self.min_volume_mm3,
            spacing,
        )?;
        let mut cands: Vec<radlab_metrics::detection::Candidate> = kept
            .iter()
            .map(|c| radlab_metrics::detection::Candidate {
                scan: 0,
                voxel: c.peak_voxel,
                position_mm: [0.0; 3],
                score: 0.0,
                volume_mm3: c.volume_mm3,
            })
            .collect();
        radlab_eval::detect::rescore(&mut self.classifier, volume.voxels.view(), &mut cands)?;
        let findings =
            Finding::from_labels(labels.view(), volume, |l| cands[l as usize - 1].score)?;
        let created = Created::now_utc();
        // A negative study: an SR saying so, and no SEG (a SEG needs a segment).
        let mut objects = Vec::new();
        if !findings.is_empty() {
            objects.push(encode(&seg::segmentation(
                &findings,
                &source,
                &alg,
                seg::Frames::NonEmpty,
                &created,
            )?)?);
        }
        let sr_obj = tid1500::report(&findings, &source, &alg, &created)?;
        objects.push(encode(&sr_obj)?);
        let accession = sr_obj
            .element(dicom_dictionary_std::tags::ACCESSION_NUMBER)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Ok(Outcome {
            findings: findings
                .iter()
                .map(|f| FindingSummary {
                    number: f.number,
                    probability: f.probability,
                    volume_mm3: f.volume_mm3,
                    long_axis_mm: f.long_axis_mm,
                })
                .collect(),
            objects,
            sr_instance: tid1500::instance_uid(&source, &alg),
            accession,
        })
    }
}
