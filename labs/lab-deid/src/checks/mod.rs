//! The graded checks of lab-deid. Messages name the clause or convention
//! broken and show expected vs got on a small example.

mod action;
mod date;
mod finish;
mod private;
mod probe;
mod uid;
mod walk;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, Tag, VR};
use dicom_object::InMemDicomObject;
use radlab_grade::{Check, Kind, Visibility};

use crate::tasks::Tasks;

pub use finish::planted_study;
pub use probe::probe;

fn with_item(tag: Tag, item: InMemDicomObject) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(vec![item]))
}

/// Every check of the lab.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "resolve-action" => {
            "action/basic-profile": 0.75, Visible, WorkedExample, action::action_worked;
            "action/type-1-dummy": 0.75, Visible, WorkedExample, action::action_type1;
            "action/options": 0.75, Visible, WorkedExample, action::action_options;
            "action/option-pairs": 1.0, Hidden, Property, action::action_option_pairs;
            "action/every-row": 0.75, Hidden, Property, action::action_every_row;
        }
        "walk-sequences" => {
            "walk/top-level": 1.0, Visible, WorkedExample, walk::walk_top;
            "walk/nested-sequence": 1.0, Visible, WorkedExample, walk::walk_nested;
            "walk/three-deep": 1.0, Hidden, WorkedExample, walk::walk_deep;
            "walk/private-creator-in-item": 1.0, Hidden, WorkedExample, walk::walk_item_context;
        }
        "private-tags" => {
            "private/removed-by-default": 0.75, Visible, WorkedExample, private::private_default;
            "private/safe-list": 0.75, Visible, WorkedExample, private::private_listed;
            "private/orphans-and-padding": 0.5, Hidden, WorkedExample, private::private_orphan;
        }
        "uid-remap" => {
            "uid/valid": 0.75, Visible, WorkedExample, uid::uid_syntax;
            "uid/same-everywhere": 0.75, Visible, Property, uid::uid_stable;
            "uid/keyed-distinct": 0.75, Visible, Property, uid::uid_keyed;
            "uid/references-follow": 0.75, Hidden, EndToEnd, uid::e2e_planted;
            "uid/many-no-collision": 1.0, Hidden, Property, uid::uid_many;
            "uid/same-in-a-new-process": 1.0, Hidden, Property, uid::uid_fresh_process;
        }
        "date-shift" => {
            "date/century-years": 1.0, Hidden, WorkedExample, date::date_century;
            "date/calendar": 0.75, Visible, WorkedExample, date::date_valid;
            "date/per-patient": 0.75, Visible, WorkedExample, date::date_per_patient;
            "date/intervals": 0.75, Visible, WorkedExample, date::date_intervals;
            "date/never-zero": 1.0, Hidden, Property, date::date_never_zero;
            "date/not-a-date": 1.0, Hidden, WorkedExample, date::date_not_a_date;
            "date/patients-differ": 0.75, Hidden, Property, date::date_patients_differ;
            "date/same-in-a-new-process": 1.0, Hidden, Property, date::date_fresh_process;
        }
        "finish" => {
            "finish/identity-removed": 0.5, Visible, WorkedExample, finish::finish_identity;
            "finish/file-meta": 0.5, Visible, WorkedExample, finish::finish_meta;
            "finish/sample-no-leaks": 1.0, Hidden, EndToEnd, finish::e2e_sample;
        }
    ]
}
