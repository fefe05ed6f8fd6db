//! kube-controller-manager's controllers, each a separate component fed by its own watches.

pub mod compactor;
pub mod controller_utils;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoint_utils;
pub mod endpoints;
pub mod endpointslice;
pub mod garbage_collector;
pub mod job;
pub mod node_lifecycle;
pub mod ownership;
pub mod podgc;
pub mod replicaset;
pub mod taint_eviction;
pub mod workqueue;

pub use cronjob::CronJobController;
pub use daemonset::DaemonSetController;
pub use deployment::DeploymentController;
pub use disruption::DisruptionController;
pub use endpoints::EndpointsController;
pub use endpointslice::EndpointSliceController;
pub use garbage_collector::GarbageCollector;
pub use job::JobController;
pub use node_lifecycle::{NodeLifecycleConfig, NodeLifecycleController};
pub use podgc::PodGarbageCollector;
pub use replicaset::ReplicaSetController;
pub use taint_eviction::TaintEvictionController;
