//! The plugin registry (pkg/scheduler/framework/runtime/registry.go and
//! pkg/scheduler/framework/plugins/registry.go): plugin name → factory taking the plugin's
//! `pluginConfig` args. [`Registry::in_tree`] holds every plugin kubesim models plus the
//! research policies; a library user adds their own with [`Registry::register`] and names them
//! in a `KubeSchedulerConfiguration` like any in-tree plugin.
//!
//! ```
//! use kubesim::scheduler::framework::registry::Registry;
//! use kubesim::scheduler::framework::{CycleState, Plugin, ScorePlugin, Status};
//! use kubesim::scheduler::cache::{NodeInfo, Snapshot};
//! use k8s_openapi::api::core::v1::Pod;
//!
//! /// Prefers nodes with fewer pods.
//! struct FewestPods;
//! impl Plugin for FewestPods {
//!     fn name(&self) -> &str { "FewestPods" }
//!     fn as_score(&self) -> Option<&dyn ScorePlugin> { Some(self) }
//! }
//! impl ScorePlugin for FewestPods {
//!     fn score(&self, _: &CycleState, _: &Pod, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
//!         Ok(100 - node.pod_count.min(100))
//!     }
//! }
//!
//! let mut registry = Registry::in_tree();
//! registry.register("FewestPods", |_args| Ok(Box::new(FewestPods)));
//! assert!(registry.contains("FewestPods"));
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Plugin;
use crate::scheduler::plugins::{
    default_preemption, image_locality, inter_pod_affinity, node_affinity, node_name, node_ports,
    node_resources, node_resources_fit, node_unschedulable, pod_topology_spread, queue_sort_and_bind,
    research, taint_toleration,
};

/// Builds a plugin from its args (`null` when the profile gives none).
pub type Factory = Arc<dyn Fn(&serde_json::Value) -> Result<Box<dyn Plugin>, String> + Send + Sync>;

/// Plugin names upstream registers that kubesim accepts in configurations but does not model
/// (volumes, dynamic resources, scheduling gates — the last is enforced by the queue itself).
/// They do nothing at any extension point.
pub const NOT_MODELLED: &[&str] = &[
    "SchedulingGates",
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeBinding",
    "VolumeZone",
    "DynamicResources",
];

/// A plugin kubesim accepts by name but does not model.
struct NotModelled(&'static str);

impl Plugin for NotModelled {
    fn name(&self) -> &str {
        self.0
    }
    fn other_points(&self) -> &'static [super::ExtensionPoint] {
        &super::ExtensionPoint::ALL
    }
}

#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<String, Factory>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry::default()
    }

    /// Every plugin kubesim models, under upstream's names, plus the research policies.
    pub fn in_tree() -> Self {
        let mut r = Registry::empty();
        r.register(queue_sort_and_bind::PRIORITY_SORT, |_| Ok(Box::new(queue_sort_and_bind::PrioritySort)));
        r.register(queue_sort_and_bind::DEFAULT_BINDER, |_| Ok(Box::new(queue_sort_and_bind::DefaultBinder)));
        r.register(node_unschedulable::NAME, |_| Ok(Box::new(node_unschedulable::NodeUnschedulable)));
        r.register(node_name::NAME, |_| Ok(Box::new(node_name::NodeName)));
        r.register(taint_toleration::NAME, |_| Ok(Box::new(taint_toleration::TaintToleration)));
        r.register(node_affinity::NAME, |a| {
            Ok(Box::new(node_affinity::NodeAffinity::new(node_affinity::NodeAffinityArgs::from_json(a)?)))
        });
        r.register(node_ports::NAME, |_| Ok(Box::new(node_ports::NodePorts)));
        r.register(node_resources_fit::FIT, |a| {
            Ok(Box::new(node_resources_fit::NodeResourcesFit::new(node_resources::FitArgs::from_json(a)?)))
        });
        r.register(node_resources_fit::BALANCED_ALLOCATION, |a| {
            Ok(Box::new(node_resources_fit::BalancedAllocation::new(
                node_resources::BalancedAllocationArgs::from_json(a)?,
            )))
        });
        r.register(pod_topology_spread::NAME, |a| {
            Ok(Box::new(pod_topology_spread::PodTopologySpread::new(
                pod_topology_spread::SpreadArgs::from_json(a)?,
            )))
        });
        r.register(inter_pod_affinity::NAME, |a| {
            Ok(Box::new(inter_pod_affinity::InterPodAffinity::new(
                inter_pod_affinity::AffinityArgs::from_json(a)?,
            )))
        });
        r.register(image_locality::NAME, |_| Ok(Box::new(image_locality::ImageLocality)));
        r.register(default_preemption::NAME, |a| {
            Ok(Box::new(default_preemption::DefaultPreemption::new(
                default_preemption::PreemptionArgs::from_json(a)?,
            )))
        });
        r.register(research::RANDOM, |_| Ok(Box::new(research::RandomScore)));
        r.register(research::FIRST_FIT, |_| Ok(Box::new(research::FirstFit)));
        r.register(research::BEST_FIT, |a| {
            Ok(Box::new(research::ResourceFit::best(research::FitResourceArgs::from_json(a)?)))
        });
        r.register(research::WORST_FIT, |a| {
            Ok(Box::new(research::ResourceFit::worst(research::FitResourceArgs::from_json(a)?)))
        });
        r.register(research::DOT_PRODUCT, |_| Ok(Box::new(research::DotProduct)));
        for name in NOT_MODELLED {
            r.register(name, move |_| Ok(Box::new(NotModelled(name))));
        }
        r
    }

    /// Adds (or replaces) a plugin factory.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&serde_json::Value) -> Result<Box<dyn Plugin>, String> + Send + Sync + 'static,
    ) {
        self.factories.insert(name.to_string(), Arc::new(factory));
    }

    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// Instantiates `name` with `args`.
    pub fn build(&self, name: &str, args: &serde_json::Value) -> Result<Box<dyn Plugin>, String> {
        let f = self.factories.get(name).ok_or_else(|| format!("plugin {name:?} does not exist"))?;
        let plugin = f(args)?;
        Ok(plugin)
    }
}
