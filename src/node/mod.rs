//! Node agents: one kubelet and one kube-proxy per node.

pub mod backoff;
pub mod behavior;
pub mod ipam;
pub mod kube_proxy;
pub mod kubelet;
pub mod pod_worker;

pub use kubelet::{Kubelet, KubeletConfig};
