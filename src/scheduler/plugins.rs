//! The default filter and score plugins, with upstream's formulas
//! (pkg/scheduler/framework/plugins/*). Each function names the plugin it models.
//!
//! Present: NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
//! NodeResourcesFit (LeastAllocated), NodeResourcesBalancedAllocation. The logic of
//! PodTopologySpread, InterPodAffinity and ImageLocality is in the submodules, ported with
//! upstream's unit tests, but the scheduling cycle does not call them yet (the framework with
//! profiles is issue 7's next step). Not yet modelled: DefaultPreemption (a pod that would need
//! preemption stays Pending).

pub mod image_locality;
pub mod inter_pod_affinity;
pub mod pod_topology_spread;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Pod};

use super::cache::NodeInfo;
use crate::api::pod::{self as podutil, Resources};

/// Why a node was rejected: the message upstream aggregates into FailedScheduling, and whether
/// preemption could help (Unschedulable) or not (UnschedulableAndUnresolvable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub plugin: &'static str,
    pub reasons: Vec<String>,
    pub resolvable: bool,
}

fn reject(plugin: &'static str, reason: impl Into<String>, resolvable: bool) -> Rejection {
    Rejection { plugin, reasons: vec![reason.into()], resolvable }
}

/// Runs the filters in the default profile's order; the first rejection wins.
pub fn filter(pod: &Pod, pod_req: &Resources, info: &NodeInfo) -> Result<(), Rejection> {
    let node = &info.node;
    let tolerations = podutil::tolerations(pod);
    // NodeUnschedulable
    if podutil::is_unschedulable(node) {
        let tolerated = tolerations.iter().any(|t| {
            podutil::tolerates(
                t,
                &k8s_openapi::api::core::v1::Taint {
                    key: "node.kubernetes.io/unschedulable".into(),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                },
            )
        });
        if !tolerated {
            return Err(reject("NodeUnschedulable", "node(s) were unschedulable", false));
        }
    }
    // NodeName
    if let Some(wanted) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty()) {
        if Some(wanted) != node.metadata.name.as_deref() {
            return Err(reject("NodeName", "node(s) didn't match the requested node name", false));
        }
    }
    // TaintToleration
    if let Some(taint) =
        podutil::untolerated_taint(podutil::node_taints(node), tolerations, &["NoSchedule", "NoExecute"])
    {
        let msg = format!(
            "node(s) had untolerated taint {{{}: {}}}",
            taint.key,
            taint.value.as_deref().unwrap_or("")
        );
        return Err(reject("TaintToleration", msg, false));
    }
    // NodeAffinity
    if !node_affinity_matches(pod, node) {
        return Err(reject("NodeAffinity", "node(s) didn't match Pod's node affinity/selector", false));
    }
    // NodePorts
    if !info.ports_free(pod) {
        return Err(reject("NodePorts", "node(s) didn't have free ports for the requested pod ports", true));
    }
    // NodeResourcesFit
    let mut reasons = Vec::new();
    if info.pod_count + 1 > info.allocatable.pods {
        reasons.push("Too many pods".to_string());
    }
    let mut free = info.allocatable.clone();
    free.sub(&info.requested);
    for r in pod_req.exceeding(&free) {
        reasons.push(format!("Insufficient {r}"));
    }
    if !reasons.is_empty() {
        return Err(Rejection { plugin: "NodeResourcesFit", reasons, resolvable: true });
    }
    Ok(())
}

/// NodeAffinity filter: every nodeSelector pair, and at least one required term.
pub fn node_affinity_matches(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = &pod.spec else { return true };
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if let Some(sel) = &spec.node_selector {
        if !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            return false;
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref());
    match required {
        None => true,
        Some(sel) => sel.node_selector_terms.iter().any(|t| term_matches(t, node, &labels)),
    }
}

/// A node selector term: expressions ANDed; an empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, node: &Node, labels: &BTreeMap<String, String>) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let name = node.metadata.name.clone().unwrap_or_default();
    exprs.iter().all(|e| requirement_matches(e, labels.get(&e.key)))
        && fields.iter().all(|e| e.key == "metadata.name" && requirement_matches(e, Some(&name)))
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
}

/// NodeResourcesFit with the LeastAllocated strategy (cpu and memory, weight 1 each), on
/// non-zero requests.
pub fn least_allocated(pod_nonzero: &Resources, info: &NodeInfo) -> i64 {
    let pairs = [
        (info.nonzero_requested.milli_cpu + pod_nonzero.milli_cpu, info.allocatable.milli_cpu),
        (info.nonzero_requested.memory + pod_nonzero.memory, info.allocatable.memory),
    ];
    let (mut sum, mut weights) = (0, 0);
    for (req, cap) in pairs {
        if cap == 0 {
            continue;
        }
        let score = if req > cap { 0 } else { ((i128::from(cap - req) * 100) / i128::from(cap)) as i64 };
        sum += score;
        weights += 1;
    }
    if weights == 0 {
        0
    } else {
        sum / weights
    }
}

/// NodeResourcesBalancedAllocation on actual requests: `(1 − |f_cpu − f_mem| / 2) × 100`.
pub fn balanced_allocation(pod_req: &Resources, info: &NodeInfo) -> i64 {
    let mut fractions = Vec::new();
    for (req, cap) in [
        (info.requested.milli_cpu + pod_req.milli_cpu, info.allocatable.milli_cpu),
        (info.requested.memory + pod_req.memory, info.allocatable.memory),
    ] {
        if cap == 0 {
            continue;
        }
        fractions.push((req as f64 / cap as f64).min(1.0));
    }
    let std = match fractions.len() {
        0 | 1 => 0.0,
        2 => (fractions[0] - fractions[1]).abs() / 2.0,
        n => {
            let mean = fractions.iter().sum::<f64>() / n as f64;
            (fractions.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// TaintToleration raw score: PreferNoSchedule taints the pod does not tolerate (with a
/// toleration whose effect is PreferNoSchedule or empty).
pub fn taint_toleration_raw(pod: &Pod, node: &Node) -> i64 {
    let tols: Vec<_> = podutil::tolerations(pod)
        .iter()
        .filter(|t| t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "PreferNoSchedule"))
        .collect();
    podutil::node_taints(node)
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|taint| !tols.iter().any(|t| podutil::tolerates(t, taint)))
        .count() as i64
}

/// NodeAffinity raw score: the summed weights of matching preferred terms (None: Skip).
pub fn node_affinity_raw(pod: &Pod, node: &Node) -> Option<i64> {
    let preferred = pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .filter(|p| !p.is_empty())?;
    let labels = node.metadata.labels.clone().unwrap_or_default();
    Some(
        preferred
            .iter()
            .filter(|p| term_matches(&p.preference, node, &labels))
            .map(|p| i64::from(p.weight))
            .sum(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(cpu: i64, mem: i64, req_cpu: i64, req_mem: i64) -> NodeInfo {
        let mut i = NodeInfo::new(Node::default());
        i.allocatable = Resources { milli_cpu: cpu, memory: mem, pods: 110, ..Default::default() };
        i.requested = Resources { milli_cpu: req_cpu, memory: req_mem, ..Default::default() };
        i.nonzero_requested = i.requested.clone();
        i
    }

    #[test]
    fn least_allocated_matches_upstream_example() {
        // least_allocated_test.go "nothing scheduled, resources requested, differently sized
        // nodes": node1 4000m/10000, node2 6000m/10000, pod 3000m/5000.
        let pod = Resources { milli_cpu: 3000, memory: 5000, ..Default::default() };
        assert_eq!(least_allocated(&pod, &info(4000, 10000, 0, 0)), 37);
        assert_eq!(least_allocated(&pod, &info(6000, 10000, 0, 0)), 50);
    }

    #[test]
    fn balanced_allocation_matches_upstream_example() {
        // balanced_allocation_test.go: node 10000m/20000, pod 3000m/5000 →
        // cpu 0.3, mem 0.25, std 0.025, score 97.
        let pod = Resources { milli_cpu: 3000, memory: 5000, ..Default::default() };
        assert_eq!(balanced_allocation(&pod, &info(10000, 20000, 0, 0)), 97);
        // node 6000m/10000 with the same pod: 0.5 and 0.5 → 100.
        assert_eq!(balanced_allocation(&pod, &info(6000, 10000, 0, 0)), 100);
    }

    #[test]
    fn normalization() {
        let mut s = [0, 1, 2];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 50, 0]);
        let mut z = [0, 0];
        default_normalize(&mut z, true);
        assert_eq!(z, [100, 100]);
    }
}

#[cfg(test)]
mod fit_tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    #[test]
    fn a_pod_requesting_nothing_fits_an_over_committed_node() {
        let mut info = NodeInfo::new(Node::default());
        info.allocatable = Resources { milli_cpu: 1000, memory: 1 << 30, pods: 110, ..Default::default() };
        info.requested = Resources { milli_cpu: 1500, ..Default::default() };
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(filter(&pod, &Resources::default(), &info), Ok(()));
        let wants_cpu = Resources { milli_cpu: 1, ..Default::default() };
        let err = filter(&pod, &wants_cpu, &info).unwrap_err();
        assert_eq!(err.reasons, ["Insufficient cpu"]);
    }
}
