//! The Kubernetes object model: kinds, manifest decoding, defaulting, validation, quantities,
//! selectors, and small helpers over the k8s-openapi types.

pub mod decode;
pub mod defaults;
pub mod intstr;
pub mod kinds;
pub mod pod;
pub mod quantity;
pub mod selectors;
pub mod time;
pub mod validation;

pub use kinds::{Kind, KindOf, Object};
pub use selectors::{FieldSelector, LabelSelector};
