//! The NodeAffinity plugin (pkg/scheduler/framework/plugins/nodeaffinity): Filter applies the
//! pod's `nodeSelector` and required node affinity (plus the profile's `addedAffinity`);
//! PreFilter narrows the candidates to the nodes named by `metadata.name` matchFields (how
//! DaemonSet pods are pinned) and skips pods without node constraints; Score sums the weights
//! of the matching preferred terms, normalized by the maximum.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{NodeAffinity as K8sNodeAffinity, Pod, PreferredSchedulingTerm};
use serde::Deserialize;

use super::{default_normalize, node_affinity_matches, node_labels, term_matches};
use crate::scheduler::cache::{NodeInfo, Snapshot};
use crate::scheduler::framework::{
    CycleState, FilterPlugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
};

pub const NAME: &str = "NodeAffinity";
/// `ErrReasonPod`.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// `errReasonEnforced`.
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
/// `errReasonConflict`.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

/// `NodeAffinityArgs`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAffinityArgs {
    #[serde(default)]
    pub added_affinity: Option<K8sNodeAffinity>,
}

impl NodeAffinityArgs {
    pub fn from_json(args: &serde_json::Value) -> Result<Self, String> {
        let a: NodeAffinityArgs = super::parse_args(args)?;
        if let Some(aff) = &a.added_affinity {
            if let Some(req) = &aff.required_during_scheduling_ignored_during_execution {
                if req.node_selector_terms.is_empty() {
                    return Err("addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term".into());
                }
            }
        }
        Ok(a)
    }
}

pub struct NodeAffinity {
    args: NodeAffinityArgs,
}

impl NodeAffinity {
    pub fn new(args: NodeAffinityArgs) -> Self {
        NodeAffinity { args }
    }

    fn added_required_matches(&self, node: &NodeInfo) -> bool {
        let Some(req) = self
            .args
            .added_affinity
            .as_ref()
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())
        else {
            return true;
        };
        req.node_selector_terms.iter().any(|t| term_matches(t, &node.node, node_labels(&node.node)))
    }

    fn added_preferred(&self) -> &[PreferredSchedulingTerm] {
        self.args
            .added_affinity
            .as_ref()
            .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_deref())
            .unwrap_or(&[])
    }
}

crate::impl_plugin!(NodeAffinity, NAME, [pre_filter, filter, pre_score, score]);

fn required_terms(pod: &Pod) -> Option<&[k8s_openapi::api::core::v1::NodeSelectorTerm]> {
    pod.spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .map(|r| r.node_selector_terms.as_slice())
}

fn preferred_terms(pod: &Pod) -> &[PreferredSchedulingTerm] {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.preferred_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(
        &self,
        _state: &mut CycleState,
        pod: &Pod,
        _snapshot: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let required = required_terms(pod);
        let no_node_affinity = required.is_none();
        let no_selector = pod.spec.as_ref().and_then(|s| s.node_selector.as_ref()).is_none();
        let no_added = self
            .args
            .added_affinity
            .as_ref()
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())
            .is_none();
        if no_node_affinity && no_added && no_selector {
            return (PreFilterResult::all(), Status::skip());
        }
        let Some(terms) = required.filter(|t| !t.is_empty()) else {
            return (PreFilterResult::all(), Status::success());
        };
        // Affinity to specific nodes by name: the union over the (ORed) terms of each term's
        // intersection of `metadata.name In` values; any term without one allows every node.
        let mut node_names: BTreeSet<String> = BTreeSet::new();
        for t in terms {
            let mut term_names: Option<BTreeSet<String>> = None;
            for r in t.match_fields.iter().flatten() {
                if r.key == "metadata.name" && r.operator == "In" {
                    let s: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                    term_names = Some(match term_names {
                        None => s,
                        Some(prev) => prev.intersection(&s).cloned().collect(),
                    });
                }
            }
            let Some(names) = term_names else {
                return (PreFilterResult::all(), Status::success());
            };
            node_names.extend(names);
        }
        if node_names.is_empty() {
            return (PreFilterResult::all(), Status::unresolvable(ERR_REASON_CONFLICT));
        }
        (PreFilterResult { node_names: Some(node_names) }, Status::success())
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        if !self.added_required_matches(node) {
            return Status::unresolvable(ERR_REASON_ENFORCED);
        }
        if !node_affinity_matches(pod, &node.node) {
            return Status::unresolvable(ERR_REASON_POD);
        }
        Status::success()
    }
}

impl PreScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        _state: &mut CycleState,
        pod: &Pod,
        _feasible: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        if preferred_terms(pod).is_empty() && self.added_preferred().is_empty() {
            return Status::skip();
        }
        Status::success()
    }
}

/// The summed weights of `terms` that match `node`.
fn matching_weight(terms: &[PreferredSchedulingTerm], node: &NodeInfo) -> i64 {
    let labels = node_labels(&node.node);
    terms
        .iter()
        .filter(|p| p.weight != 0 && term_matches(&p.preference, &node.node, labels))
        .map(|p| i64::from(p.weight))
        .sum()
}

impl ScorePlugin for NodeAffinity {
    fn score(
        &self,
        _state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        Ok(matching_weight(self.added_preferred(), node) + matching_weight(preferred_terms(pod), node))
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &Pod,
        _feasible: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Status {
        default_normalize(scores, false);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::Code;
    use k8s_openapi::api::core::v1::{
        Affinity, Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

    fn node(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
        let labels: BTreeMap<String, String> =
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        NodeInfo::new(Node {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() },
            ..Default::default()
        })
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn pod_with(affinity: K8sNodeAffinity) -> Pod {
        Pod {
            spec: Some(PodSpec {
                affinity: Some(Affinity { node_affinity: Some(affinity), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn preferred(terms: &[(i32, Vec<NodeSelectorRequirement>)]) -> Pod {
        pod_with(K8sNodeAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(
                terms
                    .iter()
                    .map(|(w, exprs)| PreferredSchedulingTerm {
                        weight: *w,
                        preference: NodeSelectorTerm {
                            match_expressions: Some(exprs.clone()),
                            ..Default::default()
                        },
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }

    fn scores(pl: &NodeAffinity, pod: &Pod, nodes: &[NodeInfo]) -> Vec<i64> {
        let st = CycleState::default();
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let snap = Snapshot {
            nodes,
            cluster: &Default::default(),
            image_spread: &Default::default(),
            affinity_lists: None,
        };
        let mut s: Vec<i64> = nodes.iter().map(|n| pl.score(&st, pod, n, &snap).unwrap()).collect();
        pl.normalize(&st, pod, &refs, &mut s);
        s
    }

    #[test]
    fn upstream_score_cases() {
        // node_affinity_test.go TestNodeAffinityPriority.
        let pl = NodeAffinity::new(NodeAffinityArgs::default());
        let label1 = [("foo", "bar")];
        let label2 = [("key", "value")];
        let label3 = [("az", "az1")];
        let label4 = [("abc", "az11"), ("def", "az22")];
        let label5 = [("foo", "bar"), ("key", "value"), ("az", "az1")];
        let affinity1 = preferred(&[(2, vec![req("foo", "In", &["bar"])])]);
        let affinity2 = preferred(&[
            (2, vec![req("foo", "In", &["bar"])]),
            (4, vec![req("key", "In", &["value"])]),
            (5, vec![req("foo", "In", &["bar"]), req("key", "In", &["value"]), req("az", "In", &["az1"])]),
        ]);
        // "all nodes are same priority as NodeAffinity is nil"
        assert_eq!(
            scores(&pl, &Pod::default(), &[node("1", &label1), node("2", &label2), node("3", &label3)]),
            [0, 0, 0]
        );
        // "no node matches preferred scheduling requirements in NodeAffinity of pod so all nodes' priority is zero"
        assert_eq!(
            scores(&pl, &affinity1, &[node("1", &label4), node("2", &label2), node("3", &label3)]),
            [0, 0, 0]
        );
        // "only node1 matches the preferred scheduling requirements of pod"
        assert_eq!(
            scores(&pl, &affinity1, &[node("1", &label1), node("2", &label2), node("3", &label3)]),
            [100, 0, 0]
        );
        // "all nodes matches the preferred scheduling requirements of pod but with different priorities"
        assert_eq!(
            scores(&pl, &affinity2, &[node("1", &label1), node("5", &label5), node("2", &label2)]),
            [18, 100, 36]
        );
        // "added affinity"
        let added = NodeAffinity::new(NodeAffinityArgs {
            added_affinity: affinity1.spec.as_ref().unwrap().affinity.as_ref().unwrap().node_affinity.clone(),
        });
        assert_eq!(scores(&added, &Pod::default(), &[node("1", &label1), node("2", &label2)]), [100, 0]);
        // "added affinity and pod has default affinity"
        let added = NodeAffinity::new(NodeAffinityArgs {
            added_affinity: Some(K8sNodeAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![PreferredSchedulingTerm {
                    weight: 3,
                    preference: NodeSelectorTerm {
                        match_expressions: Some(vec![req("key", "In", &["value"])]),
                        ..Default::default()
                    },
                }]),
                ..Default::default()
            }),
        });
        assert_eq!(
            scores(&added, &affinity1, &[node("1", &label1), node("2", &label2), node("3", &label5)]),
            [40, 60, 100]
        );
    }

    #[test]
    fn pre_filter_narrows_to_named_nodes() {
        // node_affinity_test.go TestNodeAffinity: "Pod with matchFields using In operator that
        // matches the existing node" / conflicting terms.
        let pl = NodeAffinity::new(NodeAffinityArgs::default());
        let by_name = |names: &[&[&str]]| {
            pod_with(K8sNodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: names
                        .iter()
                        .map(|n| NodeSelectorTerm {
                            match_fields: Some(vec![req("metadata.name", "In", n)]),
                            ..Default::default()
                        })
                        .collect(),
                }),
                ..Default::default()
            })
        };
        let snap = Snapshot {
            nodes: &[],
            cluster: &Default::default(),
            image_spread: &Default::default(),
            affinity_lists: None,
        };
        let (r, s) = pl.pre_filter(&mut CycleState::default(), &by_name(&[&["node1"]]), &snap);
        assert!(s.is_success());
        assert_eq!(r.node_names, Some(["node1".to_string()].into()));
        let (r, _) = pl.pre_filter(&mut CycleState::default(), &by_name(&[&["node1"], &["node2"]]), &snap);
        assert_eq!(r.node_names, Some(["node1".to_string(), "node2".to_string()].into()));
        let (_, s) = pl.pre_filter(&mut CycleState::default(), &Pod::default(), &snap);
        assert!(s.is_skip());
        let st = CycleState::default();
        assert!(pl.filter(&st, &by_name(&[&["node1"]]), &node("node1", &[])).is_success());
        let s = pl.filter(&st, &by_name(&[&["node1"]]), &node("node2", &[]));
        assert_eq!(
            (s.code, s.reasons),
            (Code::UnschedulableAndUnresolvable, vec![ERR_REASON_POD.to_string()])
        );
    }
}
