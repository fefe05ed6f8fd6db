//! Node agents: one kubelet per node.

pub mod ipam;
pub mod kubelet;

pub use kubelet::{Kubelet, KubeletConfig};
