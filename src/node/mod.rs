//! Node agents: one kubelet per node.

pub mod backoff;
pub mod behavior;
pub mod ipam;
pub mod kubelet;
pub mod pod_worker;

pub use kubelet::{Kubelet, KubeletConfig};
