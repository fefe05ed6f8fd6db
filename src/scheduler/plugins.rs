//! The in-tree plugins of the default profile and the research policies, one module each, with
//! upstream's formulas (pkg/scheduler/framework/plugins/*). Every module holds the plugin's
//! logic, its framework adapter (`impl Plugin`) and its tests; this file keeps what several
//! plugins share: node-selector matching, default score normalization, and the `NodePods` view.
//!
//! Default profile (default_plugins.go): PrioritySort, NodeUnschedulable, NodeName,
//! TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread,
//! InterPodAffinity, DefaultPreemption, NodeResourcesBalancedAllocation, ImageLocality,
//! DefaultBinder. Volume and DRA plugins are not modelled (kubesim has no volumes).

pub mod default_preemption;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod queue_sort_and_bind;
pub mod research;
pub mod taint_toleration;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Pod};

/// NodeAffinity filter: every nodeSelector pair, and at least one required term.
pub fn node_affinity_matches(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = &pod.spec else { return true };
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref());
    if spec.node_selector.is_none() && required.is_none() {
        // Nothing to match: the Node (likely out of cache) is not read at all.
        return true;
    }
    let labels = node_labels(node);
    if let Some(sel) = &spec.node_selector {
        if !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return false;
        }
    }
    match required {
        None => true,
        Some(sel) => sel.node_selector_terms.iter().any(|t| term_matches(t, node, labels)),
    }
}

/// A node's label `key`.
pub fn node_label<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// A node's labels (empty when it has none).
pub fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

/// A node selector term: expressions ANDed; an empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, node: &Node, labels: &BTreeMap<String, String>) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let empty = String::new();
    let name = node.metadata.name.as_ref().unwrap_or(&empty);
    exprs.iter().all(|e| requirement_matches(e, labels.get(&e.key)))
        && fields.iter().all(|e| e.key == "metadata.name" && requirement_matches(e, Some(name)))
}

fn requirement_matches(req: &NodeSelectorRequirement, value: Option<&String>) -> bool {
    let values = req.values.as_deref().unwrap_or(&[]);
    let as_int = |s: &str| s.parse::<i64>().ok();
    match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(|v| as_int(v)), values.first().and_then(|v| as_int(v))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((value.and_then(|v| as_int(v)), values.first().and_then(|v| as_int(v))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

/// Maximum node score (framework.MaxNodeScore).
pub const MAX_NODE_SCORE: i64 = 100;

/// One node as the scheduler sees it: the Node and the pods assigned to it (bound or assumed,
/// not yet deleted), the input of the plugins that look at other pods.
#[derive(Clone, Copy, Debug)]
pub struct NodePods<'a> {
    pub node: &'a Node,
    pub pods: &'a [std::sync::Arc<Pod>],
    /// The pods with pod affinity or anti-affinity, their terms parsed, when the scheduler
    /// cache keeps them (`None`: parse them from `pods`, as the ported upstream tests build
    /// nodes).
    pub affinity_pods: Option<&'a [inter_pod_affinity::AffinityPodInfo]>,
    /// The Node's labels packed, when the scheduler cache keeps them (`None`: read
    /// `node.metadata.labels`).
    pub labels: Option<&'a crate::scheduler::node_labels::PackedLabels>,
}

impl<'a> NodePods<'a> {
    /// The Node's label `key`.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        match self.labels {
            Some(packed) => packed.get(key),
            None => node_label(self.node, key),
        }
    }
}

/// Default normalization (helper.DefaultNormalizeScore): scale to [0, 100] by the maximum,
/// optionally reversed.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0).max(0);
    for s in scores.iter_mut() {
        if max == 0 {
            *s = if reverse { MAX_NODE_SCORE } else { 0 };
            continue;
        }
        let scaled = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - scaled } else { scaled };
    }
}

/// Parses a plugin's `pluginConfig[].args` (camelCase JSON/YAML) into its args type; unknown
/// fields are errors naming the field path. Absent args are the type's defaults.
pub fn parse_args<T: serde::de::DeserializeOwned>(args: &serde_json::Value) -> Result<T, String> {
    let value = if args.is_null() { serde_json::Value::Object(Default::default()) } else { args.clone() };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        // helper/normalize_score_test.go TestDefaultNormalizeScore.
        let mut s = [0, 1, 2];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 50, 0]);
        let mut z = [0, 0];
        default_normalize(&mut z, true);
        assert_eq!(z, [100, 100]);
        let mut u = [2, 4, 6, 8, 10];
        default_normalize(&mut u, false);
        assert_eq!(u, [20, 40, 60, 80, 100]);
    }
}
