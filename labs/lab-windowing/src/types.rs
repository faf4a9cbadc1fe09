//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

use serde::Serialize;

/// A clinical question, by the finding a reader looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Finding {
    /// A small solid nodule in the lung.
    LungNodule,
    /// Emphysema: low-attenuation lung destruction.
    Emphysema,
    /// An enlarged mediastinal lymph node.
    MediastinalLymphNode,
    /// A rib fracture.
    RibFracture,
    /// A thin subdural haematoma against the skull.
    SubduralHaematoma,
    /// Early ischaemic stroke: loss of grey-white differentiation.
    EarlyIschaemicStroke,
    /// A hypodense liver metastasis.
    LiverMetastasis,
    /// Appendicitis: fat stranding around a thickened appendix.
    Appendicitis,
}

impl Finding {
    /// Every finding.
    pub const ALL: [Finding; 8] = [
        Finding::LungNodule,
        Finding::Emphysema,
        Finding::MediastinalLymphNode,
        Finding::RibFracture,
        Finding::SubduralHaematoma,
        Finding::EarlyIschaemicStroke,
        Finding::LiverMetastasis,
        Finding::Appendicitis,
    ];
}
