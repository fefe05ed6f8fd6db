//! The two plugins with a single implementation in the default profile: PrioritySort
//! (QueueSort: higher `spec.priority` first, then earlier arrival — implemented by
//! `scheduler::queue`) and DefaultBinder (Bind: a `pods/binding` request to the API server,
//! made by the scheduler component). They exist here so profiles can name them.

use crate::scheduler::framework::{ExtensionPoint, Plugin};

pub const PRIORITY_SORT: &str = "PrioritySort";
pub const DEFAULT_BINDER: &str = "DefaultBinder";

pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &str {
        PRIORITY_SORT
    }
    fn other_points(&self) -> &'static [ExtensionPoint] {
        &[ExtensionPoint::QueueSort]
    }
}

pub struct DefaultBinder;

impl Plugin for DefaultBinder {
    fn name(&self) -> &str {
        DEFAULT_BINDER
    }
    fn other_points(&self) -> &'static [ExtensionPoint] {
        &[ExtensionPoint::Bind]
    }
}
