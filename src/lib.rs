//! kubesim: a deterministic discrete-event simulator of a Kubernetes cluster.

pub mod api;
pub mod apiserver;
pub mod sim;
pub mod store;
pub mod client;
pub mod node;
pub mod scheduler;
