//! kube-controller-manager's controllers, each a separate component fed by its own watches.

pub mod compactor;
pub mod node_lifecycle;
pub mod podgc;
pub mod replicaset;
pub mod taint_eviction;
pub mod workqueue;

pub use node_lifecycle::{NodeLifecycleConfig, NodeLifecycleController};
pub use podgc::PodGarbageCollector;
pub use replicaset::ReplicaSetController;
pub use taint_eviction::TaintEvictionController;
