//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

pub use radlab_deid::table::Rule;
pub use radlab_deid::{Action, Code, Key, ProfileOption, SafePrivate, Table};

/// The callback of the `walk-sequences` task: given the data set an element
/// is in and the element, the element to write (possibly changed) or `None`
/// to drop it.
pub type CleanElement<'a> = dyn Fn(&InMemDicomObject, &InMemElement) -> Option<InMemElement> + 'a;
