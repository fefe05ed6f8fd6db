//! The PodTopologySpread plugin (PreFilter, Filter, PreScore, Score, NormalizeScore and the
//! PreFilter extensions AddPod / RemovePod), as pure functions over a snapshot of nodes and the
//! pods assigned to them.
//!
//! Ported from kubernetes/kubernetes v1.32–v1.34,
//! `pkg/scheduler/framework/plugins/podtopologyspread/`:
//! - `common.go`: the parsed constraint (`topologySpreadConstraint`), node inclusion policies,
//!   `matchLabelKeys` merging, default constraints, `countPodsMatchSelector`;
//! - `filtering.go`: `preFilterState`, `criticalPaths`, `calPreFilterState`, `Filter`,
//!   `updateWithPod` (AddPod / RemovePod);
//! - `scoring.go`: `preScoreState`, `initPreScoreState`, `PreScore`, `Score`, `NormalizeScore`;
//! - `plugin.go`: the system default constraints and the failure reasons.
//!
//! The feature gates of that range are all on (MinDomainsInPodTopologySpread GA,
//! NodeInclusionPolicyInPodTopologySpread, MatchLabelKeysInPodTopologySpread), so only the
//! gated-on code paths are modelled.
//!
//! Faithfully kept upstream quirks:
//! - a constraint without `labelSelector` selects nothing (`labels.Nothing()`), and
//!   `matchLabelKeys` are not merged into it;
//! - an empty `labelSelector: {}` (`labels.Everything()`) counts **zero** existing pods
//!   (`countPodsMatchSelector` returns 0 for an `Empty()` selector), while the incoming pod still
//!   matches it for the self-match term; AddPod / RemovePod do not have that short-cut;
//! - terminating pods (`deletionTimestamp` set) and pods of other namespaces are never counted
//!   (but AddPod / RemovePod do not look at `deletionTimestamp`);
//! - with system defaulting and no constraints of the pod's own, scoring does not require nodes
//!   to carry every topology key: a node without the zone label is counted in the zone domain
//!   `""` by PreScore, and gets no zone term in Score.
//!
//! **Default constraints.** Upstream builds the selector of the default constraints from the
//! Services, ReplicationControllers, ReplicaSets and StatefulSets that select the pod
//! (`helper.DefaultSelector`, using informer listers). Here the caller passes that selector as
//! `default_selector`: the conjunction of the selectors of every Service in the pod's namespace
//! whose `spec.selector` matches the pod's labels, every ReplicationController / ReplicaSet /
//! StatefulSet in the namespace whose selector matches them. `None` (or an empty selector) means
//! the pod belongs to none of them, and the default constraints do not apply (PreFilter and
//! PreScore skip).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, TopologySpreadConstraint};

use crate::api::pod as podutil;
use crate::api::selectors::Requirement;
use crate::api::LabelSelector;
pub use crate::scheduler::plugins::NodePods;
use crate::scheduler::plugins::{node_affinity_matches, MAX_NODE_SCORE};

/// `v1.LabelHostname`: per-node counting in Score.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// `v1.LabelTopologyZone`.
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";
/// `whenUnsatisfiable` of hard constraints (used by PreFilter / Filter).
pub const DO_NOT_SCHEDULE: &str = "DoNotSchedule";
/// `whenUnsatisfiable` of soft constraints (used by PreScore / Score).
pub const SCHEDULE_ANYWAY: &str = "ScheduleAnyway";

/// `ErrReasonConstraintsNotMatch` (plugin.go).
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
/// `ErrReasonNodeLabelNotMatch` (plugin.go).
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// `math.MaxInt32`, the "no domain yet" match number of a critical path.
const MAX_INT32: i64 = i32::MAX as i64;
/// `invalidScore` (scoring.go): marks ignored nodes during NormalizeScore.
const INVALID_SCORE: i64 = -1;

/// `PodTopologySpreadArgs.defaultingType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Defaulting {
    /// The upstream default: the built-in constraints of `system_default_constraints`;
    /// `default_constraints` is ignored (upstream validation requires it to be empty).
    #[default]
    System,
    /// Use `SpreadArgs::default_constraints` (possibly empty: no defaulting at all).
    List,
}

/// `PodTopologySpreadArgs` (kubescheduler.config.k8s.io/v1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpreadArgs {
    /// Constraints applied to pods that have none of their own (only with `Defaulting::List`).
    /// Their `labelSelector` must be unset; it is replaced by the pod's owning selector.
    pub default_constraints: Vec<TopologySpreadConstraint>,
    pub defaulting: Defaulting,
}

/// `systemDefaultConstraints` (plugin.go): hostname with maxSkew 3 and zone with maxSkew 5,
/// both ScheduleAnyway.
pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    vec![
        TopologySpreadConstraint {
            topology_key: LABEL_HOSTNAME.into(),
            when_unsatisfiable: SCHEDULE_ANYWAY.into(),
            max_skew: 3,
            ..Default::default()
        },
        TopologySpreadConstraint {
            topology_key: LABEL_TOPOLOGY_ZONE.into(),
            when_unsatisfiable: SCHEDULE_ANYWAY.into(),
            max_skew: 5,
            ..Default::default()
        },
    ]
}

/// `v1.NodeInclusionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InclusionPolicy {
    Honor,
    Ignore,
}

impl InclusionPolicy {
    /// Unset takes `default`; upstream only compares with "Honor", so any other value ignores.
    fn parse(value: Option<&str>, default: InclusionPolicy) -> InclusionPolicy {
        match value {
            None => default,
            Some("Honor") => InclusionPolicy::Honor,
            Some(_) => InclusionPolicy::Ignore,
        }
    }
}

/// A constraint's parsed selector: `labels.Nothing()` for an unset `labelSelector`, otherwise
/// the converted selector (an empty one is `labels.Everything()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpreadSelector {
    Nothing,
    Match(LabelSelector),
}

impl SpreadSelector {
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        match self {
            SpreadSelector::Nothing => false,
            SpreadSelector::Match(s) => s.matches(labels),
        }
    }

    /// `labels.Selector.Empty()`: true only for a selector without requirements (Everything);
    /// `Nothing` is not empty.
    pub fn is_empty(&self) -> bool {
        match self {
            SpreadSelector::Nothing => false,
            SpreadSelector::Match(s) => s.is_empty(),
        }
    }
}

/// `topologySpreadConstraint` (common.go): a constraint with its selector parsed and
/// `matchLabelKeys` merged in, and the defaults of the optional fields applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub selector: SpreadSelector,
    /// `minDomains`, 1 when unset.
    pub min_domains: i32,
    /// `nodeAffinityPolicy`, Honor when unset.
    pub node_affinity_policy: InclusionPolicy,
    /// `nodeTaintsPolicy`, Ignore when unset.
    pub node_taints_policy: InclusionPolicy,
}

impl Constraint {
    /// `matchNodeInclusionPolicies` (common.go): whether `node` takes part in this constraint's
    /// spreading for `pod` (required node affinity / nodeSelector, and NoSchedule / NoExecute
    /// taints the pod does not tolerate).
    fn match_node_inclusion_policies(&self, pod: &Pod, node: &Node) -> bool {
        if self.node_affinity_policy == InclusionPolicy::Honor && !node_affinity_matches(pod, node) {
            return false;
        }
        if self.node_taints_policy == InclusionPolicy::Honor
            && podutil::untolerated_taint(
                podutil::node_taints(node),
                podutil::tolerations(pod),
                &["NoSchedule", "NoExecute"],
            )
            .is_some()
        {
            return false;
        }
        true
    }
}

/// One entry of `criticalPaths` (filtering.go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriticalPath {
    pub topology_value: String,
    pub match_num: i64,
}

/// `criticalPaths` (filtering.go): two paths; `0[0].match_num` is always the minimum match
/// number; `0[1]` is not guaranteed to be the second minimum after updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriticalPaths(pub [CriticalPath; 2]);

impl CriticalPaths {
    /// `newCriticalPaths`.
    fn new() -> Self {
        let empty = CriticalPath { topology_value: String::new(), match_num: MAX_INT32 };
        CriticalPaths([empty.clone(), empty])
    }

    /// `criticalPaths.update`.
    fn update(&mut self, tp_val: &str, num: i64) {
        let p = &mut self.0;
        let existing = if tp_val == p[0].topology_value {
            Some(0)
        } else if tp_val == p[1].topology_value {
            Some(1)
        } else {
            None
        };
        match existing {
            Some(i) => {
                p[i].match_num = num;
                if p[0].match_num > p[1].match_num {
                    p.swap(0, 1);
                }
            }
            None => {
                if num < p[0].match_num {
                    p[1] = p[0].clone();
                    p[0] = CriticalPath { topology_value: tp_val.to_string(), match_num: num };
                } else if num < p[1].match_num {
                    p[1] = CriticalPath { topology_value: tp_val.to_string(), match_num: num };
                }
            }
        }
    }
}

/// `preFilterState` (filtering.go): the pod's hard constraints, per constraint the number of
/// matching pods per topology value over the eligible nodes, and the critical paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterState {
    pub constraints: Vec<Constraint>,
    /// Indexed by constraint.
    pub critical_paths: Vec<CriticalPaths>,
    /// Indexed by constraint: topology value → matching pods. A domain is present (possibly
    /// with 0) when some eligible node carries that value.
    pub tp_value_to_match_num: Vec<BTreeMap<String, i64>>,
}

impl FilterState {
    /// `preFilterState.minMatchNum`: the global minimum, taken as 0 when there are fewer
    /// eligible domains than `minDomains`.
    pub fn min_match_num(&self, constraint_id: usize, min_domains: i32) -> i64 {
        let domains = self.tp_value_to_match_num[constraint_id].len() as i64;
        if domains < i64::from(min_domains) {
            return 0;
        }
        self.critical_paths[constraint_id].0[0].match_num
    }
}

/// Why Filter rejected a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterFailure {
    /// The node lacks the topology key of some hard constraint: UnschedulableAndUnresolvable,
    /// "node(s) didn't match pod topology spread constraints (missing required label)".
    NodeLabelMissing,
    /// Placing the pod would exceed `maxSkew`: Unschedulable (preemption may help),
    /// "node(s) didn't match pod topology spread constraints".
    ConstraintsNotMatch,
}

impl FilterFailure {
    /// The reason upstream aggregates into the FailedScheduling message.
    pub fn reason(self) -> &'static str {
        match self {
            FilterFailure::NodeLabelMissing => ERR_REASON_NODE_LABEL_NOT_MATCH,
            FilterFailure::ConstraintsNotMatch => ERR_REASON_CONSTRAINTS_NOT_MATCH,
        }
    }

    /// UnschedulableAndUnresolvable (preemption cannot help).
    pub fn is_unresolvable(self) -> bool {
        matches!(self, FilterFailure::NodeLabelMissing)
    }
}

/// PreFilter (`calPreFilterState`, filtering.go): `nodes` are all nodes of the snapshot.
/// `default_selector`: see the module documentation. `Ok(None)` is Skip (no hard constraints,
/// Filter passes every node); `Err` is an invalid selector (upstream returns an error status).
pub fn pre_filter(
    pod: &Pod,
    nodes: &[NodePods<'_>],
    args: &SpreadArgs,
    default_selector: Option<&LabelSelector>,
) -> Result<Option<FilterState>, String> {
    let constraints = get_constraints(pod, args, default_selector, DO_NOT_SCHEDULE)
        .map_err(|e| format!("get constraints from pod: {e}"))?;
    if constraints.is_empty() {
        return Ok(None);
    }
    let ns = namespace(pod);
    let mut tp_value_to_match_num: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); constraints.len()];
    let mut values: Vec<&str> = Vec::with_capacity(constraints.len());
    for np in nodes {
        // Ensure the node's labels contain all topology keys of the constraints
        // (nodeLabelsMatchSpreadConstraints), looking each key up once.
        values.clear();
        for c in &constraints {
            match np.label(&c.topology_key) {
                Some(v) => values.push(v),
                None => break,
            }
        }
        if values.len() < constraints.len() {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            if !c.match_node_inclusion_policies(pod, np.node) {
                continue;
            }
            let value = values[i];
            let count = count_pods_match_selector(np.pods, &c.selector, ns);
            // Look up before inserting: one String per domain, not one per node.
            match tp_value_to_match_num[i].get_mut(value) {
                Some(n) => *n += count,
                None => {
                    tp_value_to_match_num[i].insert(value.to_string(), count);
                }
            }
        }
    }
    let critical_paths = tp_value_to_match_num
        .iter()
        .map(|m| {
            let mut paths = CriticalPaths::new();
            for (value, num) in m {
                paths.update(value, *num);
            }
            paths
        })
        .collect();
    Ok(Some(FilterState { constraints, critical_paths, tp_value_to_match_num }))
}

/// Filter (filtering.go): for each hard constraint, the node must carry the topology key, and
/// `matchNum(node's domain) + selfMatch − minMatchNum ≤ maxSkew`.
pub fn filter(pod: &Pod, state: &FilterState, node: &NodePods<'_>) -> Result<(), FilterFailure> {
    if state.constraints.is_empty() {
        return Ok(());
    }
    let pod_labels = pod.metadata.labels.as_ref();
    for (i, c) in state.constraints.iter().enumerate() {
        let Some(tp_val) = node.label(&c.topology_key) else {
            return Err(FilterFailure::NodeLabelMissing);
        };
        let min_match_num = state.min_match_num(i, c.min_domains);
        let self_match_num = i64::from(c.selector.matches(pod_labels));
        let match_num = state.tp_value_to_match_num[i].get(tp_val).copied().unwrap_or(0);
        let skew = match_num + self_match_num - min_match_num;
        if skew > i64::from(c.max_skew) {
            return Err(FilterFailure::ConstraintsNotMatch);
        }
    }
    Ok(())
}

/// PreFilterExtensions.AddPod: `pod_to_add` is (assumed to be) placed on `node` while
/// evaluating `pod_to_schedule` (preemption, nominated pods).
pub fn add_pod(state: &mut FilterState, pod_to_schedule: &Pod, pod_to_add: &Pod, node: &Node) {
    update_with_pod(state, pod_to_add, pod_to_schedule, node, 1);
}

/// PreFilterExtensions.RemovePod: `pod_to_remove` is taken off `node` while evaluating
/// `pod_to_schedule` (preemption victims).
pub fn remove_pod(state: &mut FilterState, pod_to_schedule: &Pod, pod_to_remove: &Pod, node: &Node) {
    update_with_pod(state, pod_to_remove, pod_to_schedule, node, -1);
}

/// `updateWithPod` (filtering.go).
fn update_with_pod(state: &mut FilterState, updated: &Pod, preemptor: &Pod, node: &Node, delta: i64) {
    if namespace(updated) != namespace(preemptor) {
        return;
    }
    let labels = node_labels(node);
    if !node_labels_match_spread_constraints(labels, &state.constraints) {
        return;
    }
    let pod_labels = updated.metadata.labels.as_ref();
    for (i, c) in state.constraints.iter().enumerate() {
        if !c.selector.matches(pod_labels) {
            continue;
        }
        if !c.match_node_inclusion_policies(preemptor, node) {
            continue;
        }
        let value = labels.get(&c.topology_key).cloned().unwrap_or_default();
        let num = state.tp_value_to_match_num[i].entry(value.clone()).or_insert(0);
        *num += delta;
        let num = *num;
        state.critical_paths[i].update(&value, num);
    }
}

/// `preScoreState` (scoring.go).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreState {
    /// The pod's soft constraints (or the default ones).
    pub constraints: Vec<Constraint>,
    /// Names of feasible nodes lacking some topology key (only when all keys are required).
    pub ignored_nodes: BTreeSet<String>,
    /// Indexed by constraint: topology value → matching pods, over the values of the feasible
    /// nodes, counted on all nodes. Always empty for hostname constraints (counted in Score).
    pub topology_value_to_pod_counts: Vec<BTreeMap<String, i64>>,
    /// Indexed by constraint: `ln(number of domains + 2)`.
    pub topology_normalizing_weight: Vec<f64>,
}

/// PreScore (scoring.go): `feasible` are the nodes that passed Filter, `all` every node of the
/// snapshot. `Ok(None)` is Skip (no soft constraints, or no nodes); the plugin then contributes
/// nothing and Score / NormalizeScore are not called. `Err` is an invalid selector.
pub fn pre_score(
    pod: &Pod,
    feasible: &[NodePods<'_>],
    all: &[NodePods<'_>],
    args: &SpreadArgs,
    default_selector: Option<&LabelSelector>,
) -> Result<Option<ScoreState>, String> {
    if all.is_empty() {
        return Ok(None);
    }
    // Only require that nodes have all the topology labels if using non-system-default
    // spreading rules, so nodes without a zone label still get hostname spreading.
    let require_all_topologies = !pod_constraints(pod).is_empty() || args.defaulting != Defaulting::System;
    // initPreScoreState
    let constraints = get_constraints(pod, args, default_selector, SCHEDULE_ANYWAY)
        .map_err(|e| format!("calculating preScoreState: {e}"))?;
    if constraints.is_empty() {
        return Ok(None);
    }
    let mut ignored_nodes = BTreeSet::new();
    let mut counts: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); constraints.len()];
    let mut topo_size = vec![0usize; constraints.len()];
    for np in feasible {
        let labels = node_labels(np.node);
        if require_all_topologies && !node_labels_match_spread_constraints(labels, &constraints) {
            // Nodes without all required topology keys are ignored when scoring.
            ignored_nodes.insert(node_name(np.node).to_string());
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            // Per-node counts are calculated during Score.
            if c.topology_key == LABEL_HOSTNAME {
                continue;
            }
            let value = labels.get(&c.topology_key).map_or("", String::as_str);
            if !counts[i].contains_key(value) {
                counts[i].insert(value.to_string(), 0);
                topo_size[i] += 1;
            }
        }
    }
    let topology_normalizing_weight = constraints
        .iter()
        .zip(&topo_size)
        .map(|(c, &size)| {
            let size = if c.topology_key == LABEL_HOSTNAME {
                feasible.len().saturating_sub(ignored_nodes.len())
            } else {
                size
            };
            topology_normalizing_weight(size)
        })
        .collect();

    // Count matching pods on all nodes, for the topology values the feasible nodes have.
    let ns = namespace(pod);
    for np in all {
        let labels = node_labels(np.node);
        if require_all_topologies && !node_labels_match_spread_constraints(labels, &constraints) {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            if !c.match_node_inclusion_policies(pod, np.node) {
                continue;
            }
            let value = labels.get(&c.topology_key).map(String::as_str).unwrap_or("");
            let Some(count) = counts[i].get_mut(value) else {
                continue;
            };
            *count += count_pods_match_selector(np.pods, &c.selector, ns);
        }
    }
    Ok(Some(ScoreState {
        constraints,
        ignored_nodes,
        topology_value_to_pod_counts: counts,
        topology_normalizing_weight,
    }))
}

/// Score (scoring.go): `round(Σ_c cnt_c · weight_c + (maxSkew_c − 1))` over the constraints
/// whose key the node carries; 0 for ignored nodes. Lower is better (reversed in `normalize`).
pub fn score(pod: &Pod, state: &ScoreState, node: &NodePods<'_>) -> i64 {
    if state.ignored_nodes.contains(node_name(node.node)) {
        return 0;
    }
    let labels = node_labels(node.node);
    let mut score = 0.0_f64;
    for (i, c) in state.constraints.iter().enumerate() {
        let Some(tp_val) = labels.get(&c.topology_key) else {
            continue;
        };
        let cnt = if c.topology_key == LABEL_HOSTNAME {
            count_pods_match_selector(node.pods, &c.selector, namespace(pod))
        } else {
            state.topology_value_to_pod_counts[i].get(tp_val).copied().unwrap_or(0)
        };
        score += score_for_count(cnt, c.max_skew, state.topology_normalizing_weight[i]);
    }
    // math.Round and f64::round both round half away from zero.
    score.round() as i64
}

/// NormalizeScore (scoring.go): `scores[i]` belongs to `feasible[i]`. Ignored nodes get 0;
/// if the highest raw score is 0 every other node gets 100; otherwise
/// `100 · (max + min − s) / max` (integer division), min and max over the non-ignored nodes.
pub fn normalize(state: &ScoreState, feasible: &[NodePods<'_>], scores: &mut [i64]) {
    debug_assert_eq!(feasible.len(), scores.len());
    let mut min_score = i64::MAX;
    let mut max_score = 0_i64;
    for (i, s) in scores.iter_mut().enumerate() {
        let ignored = feasible.get(i).is_some_and(|np| state.ignored_nodes.contains(node_name(np.node)));
        if ignored {
            *s = INVALID_SCORE;
            continue;
        }
        min_score = min_score.min(*s);
        max_score = max_score.max(*s);
    }
    for s in scores.iter_mut() {
        if *s == INVALID_SCORE {
            *s = 0;
            continue;
        }
        if max_score == 0 {
            *s = MAX_NODE_SCORE;
            continue;
        }
        *s = MAX_NODE_SCORE * (max_score + min_score - *s) / max_score;
    }
}

/// `topologyNormalizingWeight` (scoring.go): `ln(size + 2)`.
fn topology_normalizing_weight(size: usize) -> f64 {
    (size as f64 + 2.0).ln()
}

/// `scoreForCount` (scoring.go).
fn score_for_count(cnt: i64, max_skew: i32, tp_weight: f64) -> f64 {
    cnt as f64 * tp_weight + f64::from(max_skew.wrapping_sub(1))
}

/// `getConstraints` (filtering.go) / the constraint part of `initPreScoreState` (scoring.go):
/// the pod's own constraints with the given `whenUnsatisfiable`, or, if the pod has no
/// constraints at all, the default ones.
fn get_constraints(
    pod: &Pod,
    args: &SpreadArgs,
    default_selector: Option<&LabelSelector>,
    action: &str,
) -> Result<Vec<Constraint>, String> {
    let own = pod_constraints(pod);
    let labels = pod.metadata.labels.as_ref();
    let kind = if action == DO_NOT_SCHEDULE { "hard" } else { "soft" };
    if own.is_empty() {
        build_default_constraints(labels, args, default_selector, action)
            .map_err(|e| format!("setting default {kind} topology spread constraints: {e}"))
    } else {
        filter_topology_spread_constraints(own, labels, action)
            .map_err(|e| format!("obtaining pod's {kind} topology spread constraints: {e}"))
    }
}

/// `buildDefaultConstraints` (common.go).
fn build_default_constraints(
    pod_labels: Option<&BTreeMap<String, String>>,
    args: &SpreadArgs,
    default_selector: Option<&LabelSelector>,
    action: &str,
) -> Result<Vec<Constraint>, String> {
    let defaults: Cow<'_, [TopologySpreadConstraint]> = match args.defaulting {
        Defaulting::System => Cow::Owned(system_default_constraints()),
        Defaulting::List => Cow::Borrowed(args.default_constraints.as_slice()),
    };
    let mut constraints = filter_topology_spread_constraints(&defaults, pod_labels, action)?;
    if constraints.is_empty() {
        return Ok(constraints);
    }
    let Some(selector) = default_selector.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    for c in &mut constraints {
        c.selector = SpreadSelector::Match(selector.clone());
    }
    Ok(constraints)
}

/// `filterTopologySpreadConstraints` (common.go): parse the constraints with the given
/// `whenUnsatisfiable`, merging `matchLabelKeys` (the pod's values of those keys) into the
/// selector and defaulting the optional fields.
fn filter_topology_spread_constraints(
    constraints: &[TopologySpreadConstraint],
    pod_labels: Option<&BTreeMap<String, String>>,
    action: &str,
) -> Result<Vec<Constraint>, String> {
    let mut result = Vec::new();
    for c in constraints.iter().filter(|c| c.when_unsatisfiable == action) {
        let mut selector = match &c.label_selector {
            None => SpreadSelector::Nothing,
            Some(ls) => SpreadSelector::Match(LabelSelector::from_k8s(ls).map_err(|e| e.to_string())?),
        };
        let keys = c.match_label_keys.as_deref().unwrap_or(&[]);
        if !keys.is_empty() {
            let mut match_labels = BTreeMap::new();
            for key in keys {
                if let Some(value) = pod_labels.and_then(|l| l.get(key)) {
                    match_labels.insert(key.clone(), value.clone());
                }
            }
            if !match_labels.is_empty() {
                selector = merge_label_set_with_selector(match_labels, selector);
            }
        }
        result.push(Constraint {
            max_skew: c.max_skew,
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: c.min_domains.unwrap_or(1),
            node_affinity_policy: InclusionPolicy::parse(
                c.node_affinity_policy.as_deref(),
                InclusionPolicy::Honor,
            ),
            node_taints_policy: InclusionPolicy::parse(
                c.node_taints_policy.as_deref(),
                InclusionPolicy::Ignore,
            ),
        });
    }
    Ok(result)
}

/// `mergeLabelSetWithSelector` (common.go): `Nothing` has no requirements to merge into and
/// stays `Nothing`.
fn merge_label_set_with_selector(
    match_labels: BTreeMap<String, String>,
    s: SpreadSelector,
) -> SpreadSelector {
    match s {
        SpreadSelector::Nothing => SpreadSelector::Nothing,
        SpreadSelector::Match(sel) => {
            let mut requirements: Vec<Requirement> =
                match_labels.into_iter().map(|(k, v)| Requirement::Equals(k, v)).collect();
            requirements.extend(sel.requirements);
            SpreadSelector::Match(LabelSelector { requirements })
        }
    }
}

/// `countPodsMatchSelector` (common.go): matching pods of namespace `ns`, skipping terminating
/// pods; an empty (match-everything) selector counts nothing.
fn count_pods_match_selector(pods: &[Arc<Pod>], selector: &SpreadSelector, ns: &str) -> i64 {
    if selector.is_empty() {
        return 0;
    }
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && namespace(p) == ns)
        .filter(|p| selector.matches(p.metadata.labels.as_ref()))
        .count() as i64
}

/// `nodeLabelsMatchSpreadConstraints` (common.go): the node carries every topology key.
fn node_labels_match_spread_constraints(
    labels: &BTreeMap<String, String>,
    constraints: &[Constraint],
) -> bool {
    constraints.iter().all(|c| labels.contains_key(&c.topology_key))
}

fn pod_constraints(pod: &Pod) -> &[TopologySpreadConstraint] {
    pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_deref()).unwrap_or(&[])
}

fn namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("")
}

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or("")
}

fn node_labels(node: &Node) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    node.metadata.labels.as_ref().unwrap_or(&EMPTY)
}

// ---------------------------------------------------------------------------------------------
// Framework adapter.

/// The plugin as a profile runs it, with its `PodTopologySpreadArgs`.
pub struct PodTopologySpread {
    args: SpreadArgs,
}

/// The plugin's name in profiles.
pub const NAME: &str = "PodTopologySpread";

/// `PodTopologySpreadArgs` as written in `pluginConfig` (v1), before conversion.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SpreadArgsV1 {
    #[serde(default)]
    default_constraints: Option<Vec<TopologySpreadConstraint>>,
    #[serde(default)]
    defaulting_type: Option<String>,
}

impl SpreadArgs {
    /// Parses and validates `pluginConfig[].args` (validation_pluginargs.go
    /// ValidatePodTopologySpreadArgs); v1 defaulting type is `System`.
    pub fn from_json(args: &serde_json::Value) -> Result<SpreadArgs, String> {
        let v: SpreadArgsV1 = super::parse_args(args)?;
        let defaulting = match v.defaulting_type.as_deref() {
            None | Some("System") => Defaulting::System,
            Some("List") => Defaulting::List,
            Some(other) => {
                return Err(format!(
                    "defaultingType: Unsupported value: {other:?}: supported values: \"List\", \"System\""
                ))
            }
        };
        let default_constraints = v.default_constraints.unwrap_or_default();
        if defaulting == Defaulting::System && !default_constraints.is_empty() {
            return Err("defaultConstraints: Invalid value: when .defaultingType is \"System\"".to_string());
        }
        let mut seen = BTreeSet::new();
        for (i, c) in default_constraints.iter().enumerate() {
            let path = format!("defaultConstraints[{i}]");
            if c.max_skew <= 0 {
                return Err(format!(
                    "{path}.maxSkew: Invalid value: {}: not in valid range [1, inf)",
                    c.max_skew
                ));
            }
            if c.topology_key.is_empty() {
                return Err(format!("{path}.topologyKey: Required value: can not be empty"));
            }
            if c.when_unsatisfiable != DO_NOT_SCHEDULE && c.when_unsatisfiable != SCHEDULE_ANYWAY {
                return Err(format!(
                    "{path}.whenUnsatisfiable: Unsupported value: {:?}: supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
                    c.when_unsatisfiable
                ));
            }
            if !seen.insert((c.topology_key.clone(), c.when_unsatisfiable.clone())) {
                return Err(format!(
                    "{path}: Duplicate value: {{{:?}, {:?}}}",
                    c.topology_key, c.when_unsatisfiable
                ));
            }
            if c.label_selector.is_some() {
                return Err(format!(
                    "{path}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"
                ));
            }
        }
        Ok(SpreadArgs { default_constraints, defaulting })
    }
}

impl PodTopologySpread {
    pub fn new(args: SpreadArgs) -> Self {
        PodTopologySpread { args }
    }

    /// Whether the pod can have constraints with `action` (its own, or defaults it would get).
    fn might_have_constraints(&self, pod: &Pod, action: &str) -> bool {
        if pod
            .spec
            .as_ref()
            .and_then(|s| s.topology_spread_constraints.as_ref())
            .is_some_and(|c| !c.is_empty())
        {
            return has_own_constraints(pod, action);
        }
        match self.args.defaulting {
            Defaulting::System => system_default_constraints().iter().any(|c| c.when_unsatisfiable == action),
            Defaulting::List => self.args.default_constraints.iter().any(|c| c.when_unsatisfiable == action),
        }
    }
}

/// Whether the pod's own constraints include one with `action`.
fn has_own_constraints(pod: &Pod, action: &str) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.when_unsatisfiable == action))
}

const PRE_SCORE_KEY: &str = "PreScorePodTopologySpread";

crate::impl_plugin!(PodTopologySpread, NAME, [pre_filter, filter, pre_score, score]);

mod adapter {
    use super::*;
    use crate::scheduler::cache::{NodeInfo, Snapshot};
    use crate::scheduler::framework::{
        CycleState, FilterPlugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
    };

    impl PreFilterPlugin for PodTopologySpread {
        fn pre_filter(
            &self,
            state: &mut CycleState,
            pod: &Pod,
            snapshot: &Snapshot,
        ) -> (PreFilterResult, Status) {
            // No DoNotSchedule constraint of the pod's own and none among the defaults (the
            // system defaults are all ScheduleAnyway): Skip without walking the nodes — the
            // result getConstraints would come to.
            if !self.might_have_constraints(pod, DO_NOT_SCHEDULE) {
                return (PreFilterResult::all(), Status::skip());
            }
            let selector = snapshot.cluster.default_selector(pod);
            match pre_filter(pod, &snapshot.node_pods(), &self.args, selector.as_ref()) {
                Ok(None) => (PreFilterResult::all(), Status::skip()),
                Ok(Some(s)) => {
                    state.write(NAME, s);
                    (PreFilterResult::all(), Status::success())
                }
                Err(e) => (PreFilterResult::all(), Status::error(format!("calculating preFilterState: {e}"))),
            }
        }
        fn add_pod(&self, state: &mut CycleState, pod: &Pod, to_add: &Pod, node: &NodeInfo) -> Status {
            if let Some(s) = state.read_mut::<FilterState>(NAME) {
                add_pod(s, pod, to_add, &node.node);
            }
            Status::success()
        }
        fn remove_pod(&self, state: &mut CycleState, pod: &Pod, to_remove: &Pod, node: &NodeInfo) -> Status {
            if let Some(s) = state.read_mut::<FilterState>(NAME) {
                remove_pod(s, pod, to_remove, &node.node);
            }
            Status::success()
        }
    }

    impl FilterPlugin for PodTopologySpread {
        fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
            let Some(s) = state.read::<FilterState>(NAME) else {
                return Status::error("reading \"PreFilterPodTopologySpread\" from cycleState: not found");
            };
            match filter(pod, s, &node.node_pods()) {
                Ok(()) => Status::success(),
                Err(f) if f.is_unresolvable() => Status::unresolvable(f.reason()),
                Err(f) => Status::unschedulable(f.reason()),
            }
        }
    }

    impl PreScorePlugin for PodTopologySpread {
        fn pre_score(
            &self,
            state: &mut CycleState,
            pod: &Pod,
            feasible: &[&NodeInfo],
            snapshot: &Snapshot,
        ) -> Status {
            if !self.might_have_constraints(pod, SCHEDULE_ANYWAY) {
                return Status::skip();
            }
            let selector = snapshot.cluster.default_selector(pod);
            if selector.is_none() && !has_own_constraints(pod, SCHEDULE_ANYWAY) {
                // Default constraints need a selector; nothing selects the pod.
                return Status::skip();
            }
            let feasible: Vec<NodePods<'_>> = feasible.iter().map(|n| n.node_pods()).collect();
            match pre_score(pod, &feasible, &snapshot.node_pods(), &self.args, selector.as_ref()) {
                Ok(None) => Status::skip(),
                Ok(Some(s)) => {
                    state.write(PRE_SCORE_KEY, s);
                    Status::success()
                }
                Err(e) => Status::error(format!("calculating preScoreState: {e}")),
            }
        }
    }

    impl ScorePlugin for PodTopologySpread {
        fn score(
            &self,
            state: &CycleState,
            pod: &Pod,
            node: &NodeInfo,
            _snapshot: &Snapshot,
        ) -> Result<i64, Status> {
            let s = state.read::<ScoreState>(PRE_SCORE_KEY).ok_or_else(|| {
                Status::error("reading \"PreScorePodTopologySpread\" from cycleState: not found")
            })?;
            Ok(score(pod, s, &node.node_pods()))
        }
        fn normalize(
            &self,
            state: &CycleState,
            _pod: &Pod,
            feasible: &[&NodeInfo],
            scores: &mut [i64],
        ) -> Status {
            let Some(s) = state.read::<ScoreState>(PRE_SCORE_KEY) else {
                return Status::error("reading \"PreScorePodTopologySpread\" from cycleState: not found");
            };
            let feasible: Vec<NodePods<'_>> = feasible.iter().map(|n| n.node_pods()).collect();
            normalize(s, &feasible, scores);
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    //! Ported from filtering_test.go (TestPreFilterState, TestPreFilterStateAddPod,
    //! TestPreFilterStateRemovePod, TestSingleConstraint, TestMultipleConstraints) and
    //! scoring_test.go (TestPreScoreSkip, TestPreScoreStateEmptyNodes, TestPodTopologySpreadScore)
    //! of pkg/scheduler/framework/plugins/podtopologyspread, with the upstream case names and
    //! expected results. Cases that only exercise a disabled feature gate are left out.

    use super::*;
    use crate::api::time::Epoch;
    use crate::sim::SimTime;
    use k8s_openapi::api::core::v1::{
        Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, NodeSpec, PodSpec,
        Taint, Toleration,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        LabelSelector as K8sLabelSelector, LabelSelectorRequirement, ObjectMeta,
    };
    use Code::{Fit, NoKey, Skew};

    const DNS: &str = DO_NOT_SCHEDULE;
    const SA: &str = SCHEDULE_ANYWAY;

    // ---- builders, after pkg/scheduler/testing (st.MakePod, st.MakeNode, st.MakeLabelSelector) ----

    fn exists(key: &str) -> Option<K8sLabelSelector> {
        Some(K8sLabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: "Exists".into(),
                values: None,
            }]),
            match_labels: None,
        })
    }

    /// `fooSelector`: `foo` exists.
    fn foo() -> Option<K8sLabelSelector> {
        exists("foo")
    }

    /// `barSelector`: `bar` exists.
    fn bar() -> Option<K8sLabelSelector> {
        exists("bar")
    }

    fn match_labels(pairs: &[(&str, &str)]) -> Option<K8sLabelSelector> {
        Some(K8sLabelSelector {
            match_labels: Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            match_expressions: None,
        })
    }

    struct PodW(Pod);

    fn mk_pod(name: &str) -> PodW {
        PodW(Pod {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: Some(PodSpec::default()),
            ..Default::default()
        })
    }

    impl PodW {
        fn spec(&mut self) -> &mut PodSpec {
            self.0.spec.get_or_insert_with(PodSpec::default)
        }

        fn label(mut self, k: &str, v: &str) -> Self {
            self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
            self
        }

        fn ns(mut self, ns: &str) -> Self {
            self.0.metadata.namespace = Some(ns.into());
            self
        }

        fn node(mut self, node: &str) -> Self {
            self.spec().node_name = Some(node.into());
            self
        }

        fn terminating(mut self) -> Self {
            self.0.metadata.deletion_timestamp = Some(Epoch::default().time(SimTime(0)));
            self
        }

        fn spread(
            mut self,
            max_skew: i32,
            key: &str,
            when: &str,
            selector: Option<K8sLabelSelector>,
        ) -> Self {
            self.spec().topology_spread_constraints.get_or_insert_with(Vec::new).push(
                TopologySpreadConstraint {
                    max_skew,
                    topology_key: key.into(),
                    when_unsatisfiable: when.into(),
                    label_selector: selector,
                    ..Default::default()
                },
            );
            self
        }

        fn last(&mut self) -> &mut TopologySpreadConstraint {
            self.spec().topology_spread_constraints.as_mut().and_then(|v| v.last_mut()).expect("a constraint")
        }

        fn min_domains(mut self, n: i32) -> Self {
            self.last().min_domains = Some(n);
            self
        }

        fn affinity_policy(mut self, policy: &str) -> Self {
            self.last().node_affinity_policy = Some(policy.into());
            self
        }

        fn taints_policy(mut self, policy: &str) -> Self {
            self.last().node_taints_policy = Some(policy.into());
            self
        }

        fn match_label_keys(mut self, keys: &[&str]) -> Self {
            self.last().match_label_keys = Some(keys.iter().map(|k| k.to_string()).collect());
            self
        }

        fn node_selector(mut self, k: &str, v: &str) -> Self {
            self.spec().node_selector.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
            self
        }

        /// `NodeAffinityIn` / `NodeAffinityNotIn`: one required term with one expression.
        fn node_affinity(mut self, key: &str, operator: &str, values: &[&str]) -> Self {
            let term = NodeSelectorTerm {
                match_expressions: Some(vec![NodeSelectorRequirement {
                    key: key.into(),
                    operator: operator.into(),
                    values: Some(values.iter().map(|v| v.to_string()).collect()),
                }]),
                match_fields: None,
            };
            self.spec().affinity = Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: vec![term],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
            self
        }

        /// `Toleration(key)`: Exists, NoSchedule.
        fn toleration(mut self, key: &str) -> Self {
            self.spec().tolerations.get_or_insert_with(Vec::new).push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoSchedule".into()),
                ..Default::default()
            });
            self
        }

        fn obj(self) -> Pod {
            self.0
        }
    }

    /// An existing pod on `node` carrying the label keys `keys` (values "").
    fn ep(name: &str, node: &str, keys: &[&str]) -> Pod {
        let mut p = mk_pod(name).node(node);
        for k in keys {
            p = p.label(k, "");
        }
        p.obj()
    }

    /// Existing pods labelled `foo`, as (name, node).
    fn foo_pods(spec: &[(&str, &str)]) -> Vec<Pod> {
        spec.iter().map(|(name, node)| ep(name, node, &["foo"])).collect()
    }

    fn mk_node(name: &str, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The tests' `taints`: node.kubernetes.io/unschedulable:NoSchedule.
    fn tainted(mut node: Node) -> Node {
        node.spec.get_or_insert_with(NodeSpec::default).taints = Some(vec![Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            value: Some(String::new()),
            effect: "NoSchedule".into(),
            time_added: None,
        }]);
        node
    }

    /// filtering_test.go's usual node: labels `zone` and `node`.
    fn zn(name: &str, zone: &str) -> Node {
        mk_node(name, &[("zone", zone), ("node", name)])
    }

    /// node-a, node-b in zone1 and node-x, node-y in zone2.
    fn four_nodes() -> Vec<Node> {
        vec![zn("node-a", "zone1"), zn("node-b", "zone1"), zn("node-x", "zone2"), zn("node-y", "zone2")]
    }

    /// scoring_test.go's nodes: the hostname label, optionally `zone`.
    fn hn(name: &str) -> Node {
        mk_node(name, &[(LABEL_HOSTNAME, name)])
    }

    fn hz(name: &str, zone: &str) -> Node {
        mk_node(name, &[("zone", zone), (LABEL_HOSTNAME, name)])
    }

    /// A snapshot: nodes and the pods bound to each.
    struct Cluster {
        nodes: Vec<Node>,
        pods: Vec<Vec<Arc<Pod>>>,
    }

    impl Cluster {
        fn new(nodes: Vec<Node>, pods: &[Pod]) -> Cluster {
            let per_node: Vec<Vec<Arc<Pod>>> = nodes
                .iter()
                .map(|n| {
                    pods.iter()
                        .filter(|p| podutil::node_name(p) == n.metadata.name.as_deref())
                        .map(|p| Arc::new(p.clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            Cluster { nodes, pods: per_node }
        }

        fn views(&self) -> Vec<NodePods<'_>> {
            self.nodes
                .iter()
                .zip(&self.pods)
                .map(|(node, pods)| NodePods {
                    node,
                    pods: pods.as_slice(),
                    affinity_pods: None,
                    labels: None,
                })
                .collect()
        }
    }

    fn list_args() -> SpreadArgs {
        SpreadArgs { default_constraints: Vec::new(), defaulting: Defaulting::List }
    }

    // ---- expected values ----

    fn sel(requirements: Vec<Requirement>) -> SpreadSelector {
        SpreadSelector::Match(LabelSelector { requirements })
    }

    fn foo_sel() -> SpreadSelector {
        sel(vec![Requirement::Exists("foo".into())])
    }

    fn bar_sel() -> SpreadSelector {
        sel(vec![Requirement::Exists("bar".into())])
    }

    fn eq(k: &str, v: &str) -> Requirement {
        Requirement::Equals(k.into(), v.into())
    }

    /// A parsed constraint with the defaults (minDomains 1, Honor affinity, Ignore taints).
    fn tsc(max_skew: i32, key: &str, selector: SpreadSelector) -> Constraint {
        Constraint {
            max_skew,
            topology_key: key.into(),
            selector,
            min_domains: 1,
            node_affinity_policy: InclusionPolicy::Honor,
            node_taints_policy: InclusionPolicy::Ignore,
        }
    }

    fn with_policies(mut c: Constraint, affinity: InclusionPolicy, taints: InclusionPolicy) -> Constraint {
        c.node_affinity_policy = affinity;
        c.node_taints_policy = taints;
        c
    }

    const MAX: (&str, i64) = ("", MAX_INT32);

    /// Upstream's `criticalPaths.sort`: with equal match numbers, order the values.
    fn norm(mut p: [(String, i64); 2]) -> [(String, i64); 2] {
        if p[0].1 == p[1].1 && p[0].0 > p[1].0 {
            p.swap(0, 1);
        }
        p
    }

    fn assert_state(
        name: &str,
        got: &FilterState,
        want_paths: &[[(&str, i64); 2]],
        want_counts: Vec<Vec<(&str, i64)>>,
    ) {
        let got_paths: Vec<[(String, i64); 2]> = got
            .critical_paths
            .iter()
            .map(|p| {
                norm([
                    (p.0[0].topology_value.clone(), p.0[0].match_num),
                    (p.0[1].topology_value.clone(), p.0[1].match_num),
                ])
            })
            .collect();
        let want_paths: Vec<[(String, i64); 2]> =
            want_paths.iter().map(|[a, b]| norm([(a.0.to_string(), a.1), (b.0.to_string(), b.1)])).collect();
        assert_eq!(got_paths, want_paths, "{name}: critical paths");
        let got_counts: Vec<Vec<(String, i64)>> = got
            .tp_value_to_match_num
            .iter()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .collect();
        let want_counts: Vec<Vec<(String, i64)>> = want_counts
            .iter()
            .map(|m| {
                let mut v: Vec<(String, i64)> = m.iter().map(|(k, n)| (k.to_string(), *n)).collect();
                v.sort();
                v
            })
            .collect();
        assert_eq!(got_counts, want_counts, "{name}: match numbers");
    }

    fn prefilter_state(
        pod: &Pod,
        nodes: Vec<Node>,
        pods: &[Pod],
        args: &SpreadArgs,
        default_selector: Option<&LabelSelector>,
    ) -> Option<FilterState> {
        let cluster = Cluster::new(nodes, pods);
        pre_filter(pod, &cluster.views(), args, default_selector).expect("valid constraints")
    }

    fn state(pod: &Pod, nodes: Vec<Node>, pods: &[Pod]) -> FilterState {
        prefilter_state(pod, nodes, pods, &list_args(), None).expect("PreFilter not skipped")
    }

    // ---- Filter ----

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Code {
        /// Success.
        Fit,
        /// Unschedulable (ConstraintsNotMatch).
        Skew,
        /// UnschedulableAndUnresolvable (NodeLabelMissing).
        NoKey,
    }

    fn check_filter(name: &str, pod: Pod, nodes: Vec<Node>, pods: Vec<Pod>, want: &[(&str, Code)]) {
        let cluster = Cluster::new(nodes, &pods);
        let views = cluster.views();
        let state = pre_filter(&pod, &views, &list_args(), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: PreFilter skipped"));
        let got: Vec<(String, Code)> = views
            .iter()
            .map(|v| {
                let code = match filter(&pod, &state, v) {
                    Ok(()) => Fit,
                    Err(FilterFailure::ConstraintsNotMatch) => Skew,
                    Err(FilterFailure::NodeLabelMissing) => NoKey,
                };
                (node_name(v.node).to_string(), code)
            })
            .collect();
        let want: Vec<(String, Code)> = want.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        assert_eq!(got, want, "{name}");
    }

    #[test]
    fn pre_filter_state() {
        // TestPreFilterState
        let p = mk_pod("p").label("foo", "").spread(5, "zone", DNS, match_labels(&[("foo", "bar")])).obj();
        let s = state(&p, four_nodes(), &[]);
        assert_eq!(s.constraints, vec![tsc(5, "zone", sel(vec![eq("foo", "bar")]))]);
        assert_state(
            "clean cluster with one spreadConstraint",
            &s,
            &[[("zone1", 0), ("zone2", 0)]],
            vec![vec![("zone1", 0), ("zone2", 0)]],
        );

        let existing = foo_pods(&[
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-b1", "node-b"),
            ("p-y1", "node-y"),
            ("p-y2", "node-y"),
        ]);
        let p = mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).obj();
        let s = state(&p, four_nodes(), &existing);
        assert_eq!(s.constraints, vec![tsc(1, "zone", foo_sel())]);
        assert_state(
            "normal case with one spreadConstraint",
            &s,
            &[[("zone2", 2), ("zone1", 3)]],
            vec![vec![("zone1", 3), ("zone2", 2)]],
        );

        let p = mk_pod("p").label("foo", "").spread(1, "zone", DNS, None).obj();
        let s = state(&p, four_nodes(), &existing);
        assert_eq!(s.constraints, vec![tsc(1, "zone", SpreadSelector::Nothing)]);
        assert_state(
            "normal case with null label selector",
            &s,
            &[[("zone2", 0), ("zone1", 0)]],
            vec![vec![("zone1", 0), ("zone2", 0)]],
        );

        let p = mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).obj();
        let mut nodes = four_nodes();
        nodes.push(zn("node-o", "zone3"));
        nodes.push(zn("node-p", "zone3"));
        let s = state(&p, nodes, &existing);
        assert_state(
            "normal case with one spreadConstraint, on a 3-zone cluster",
            &s,
            &[[("zone3", 0), ("zone2", 2)]],
            vec![vec![("zone1", 3), ("zone2", 2), ("zone3", 0)]],
        );

        let pods = [
            ep("p-a1", "node-a", &["foo"]),
            mk_pod("p-a2").ns("ns1").node("node-a").label("foo", "").obj(),
            ep("p-b1", "node-b", &["foo"]),
            mk_pod("p-y1").ns("ns2").node("node-y").label("foo", "").obj(),
            ep("p-y2", "node-y", &["foo"]),
        ];
        let s = state(&p, four_nodes(), &pods);
        assert_state(
            "namespace mismatch doesn't count",
            &s,
            &[[("zone2", 1), ("zone1", 2)]],
            vec![vec![("zone1", 2), ("zone2", 1)]],
        );

        let existing7 = foo_pods(&[
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-b1", "node-b"),
            ("p-y1", "node-y"),
            ("p-y2", "node-y"),
            ("p-y3", "node-y"),
            ("p-y4", "node-y"),
        ]);
        let p =
            mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).spread(1, "node", DNS, foo()).obj();
        let s = state(&p, four_nodes(), &existing7);
        assert_eq!(s.constraints, vec![tsc(1, "zone", foo_sel()), tsc(1, "node", foo_sel())]);
        assert_state(
            "normal case with two spreadConstraints",
            &s,
            &[[("zone1", 3), ("zone2", 4)], [("node-x", 0), ("node-b", 1)]],
            vec![
                vec![("zone1", 3), ("zone2", 4)],
                vec![("node-a", 2), ("node-b", 1), ("node-x", 0), ("node-y", 4)],
            ],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .spread(1, "zone", SA, foo())
            .spread(1, "zone", DNS, foo())
            .spread(1, "node", SA, foo())
            .spread(1, "node", DNS, foo())
            .obj();
        let nodes = vec![zn("node-a", "zone1"), zn("node-b", "zone1"), zn("node-y", "zone2")];
        let s = state(&p, nodes, &existing7);
        assert_eq!(s.constraints, vec![tsc(1, "zone", foo_sel()), tsc(1, "node", foo_sel())]);
        assert_state(
            "soft spreadConstraints should be bypassed",
            &s,
            &[[("zone1", 3), ("zone2", 4)], [("node-b", 1), ("node-a", 2)]],
            vec![vec![("zone1", 3), ("zone2", 4)], vec![("node-a", 2), ("node-b", 1), ("node-y", 4)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .label("bar", "")
            .spread(1, "zone", DNS, foo())
            .spread(1, "node", DNS, bar())
            .obj();
        let nodes = vec![zn("node-a", "zone1"), zn("node-b", "zone1"), zn("node-y", "zone2")];
        let pods = [ep("p-a", "node-a", &["foo"]), ep("p-b", "node-b", &["bar"])];
        let s = state(&p, nodes, &pods);
        assert_eq!(s.constraints, vec![tsc(1, "zone", foo_sel()), tsc(1, "node", bar_sel())]);
        assert_state(
            "different labelSelectors - simple version",
            &s,
            &[[("zone2", 0), ("zone1", 1)], [("node-a", 0), ("node-y", 0)]],
            vec![vec![("zone1", 1), ("zone2", 0)], vec![("node-a", 0), ("node-b", 1), ("node-y", 0)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .node_affinity("node", "NotIn", &["node-x"])
            .spread(1, "zone", DNS, foo())
            .spread(1, "node", DNS, foo())
            .obj();
        let s = state(&p, four_nodes(), &existing7);
        assert_state(
            "two spreadConstraints, and with podAffinity",
            &s,
            &[[("zone1", 3), ("zone2", 4)], [("node-b", 1), ("node-a", 2)]],
            vec![vec![("zone1", 3), ("zone2", 4)], vec![("node-a", 2), ("node-b", 1), ("node-y", 4)]],
        );

        // Default constraints (ListDefaulting) and the pod's owning selector (a Service foo=bar).
        let defaults = SpreadArgs {
            default_constraints: vec![
                TopologySpreadConstraint {
                    max_skew: 3,
                    topology_key: "node".into(),
                    when_unsatisfiable: DNS.into(),
                    ..Default::default()
                },
                TopologySpreadConstraint {
                    max_skew: 2,
                    topology_key: "node".into(),
                    when_unsatisfiable: SA.into(),
                    ..Default::default()
                },
                TopologySpreadConstraint {
                    max_skew: 5,
                    topology_key: "rack".into(),
                    when_unsatisfiable: DNS.into(),
                    ..Default::default()
                },
            ],
            defaulting: Defaulting::List,
        };
        let service = LabelSelector { requirements: vec![eq("foo", "bar")] };
        let p = mk_pod("p").label("foo", "bar").label("baz", "kar").obj();
        let s = prefilter_state(&p, vec![], &[], &defaults, Some(&service)).expect("not skipped");
        let service_sel = SpreadSelector::Match(service.clone());
        assert_eq!(s.constraints, vec![tsc(3, "node", service_sel.clone()), tsc(5, "rack", service_sel)]);
        assert_state(
            "default constraints and a service",
            &s,
            &[[MAX, MAX], [MAX, MAX]],
            vec![vec![], vec![]],
        );

        let p = mk_pod("p").label("foo", "bar").obj();
        assert_eq!(
            prefilter_state(&p, vec![], &[], &defaults, None),
            None,
            "default constraints and a service that doesn't match"
        );

        let p = mk_pod("p")
            .label("foo", "bar")
            .label("baz", "tar")
            .spread(1, "zone", DNS, match_labels(&[("baz", "tar")]))
            .spread(2, "planet", SA, match_labels(&[("fot", "rok")]))
            .obj();
        let s = prefilter_state(&p, vec![], &[], &defaults, Some(&service)).expect("not skipped");
        assert_eq!(
            s.constraints,
            vec![tsc(1, "zone", sel(vec![eq("baz", "tar")]))],
            "default constraints and a service, but pod has constraints"
        );

        let soft_defaults = SpreadArgs {
            default_constraints: vec![TopologySpreadConstraint {
                max_skew: 2,
                topology_key: "node".into(),
                when_unsatisfiable: SA.into(),
                ..Default::default()
            }],
            defaulting: Defaulting::List,
        };
        let p = mk_pod("p").label("foo", "bar").obj();
        assert_eq!(
            prefilter_state(&p, vec![], &[], &soft_defaults, Some(&service)),
            None,
            "default soft constraints and a service"
        );

        // Node inclusion policies.
        let nodes = || {
            vec![
                mk_node("node-a", &[("node", "node-a"), ("foo", "")]),
                mk_node("node-b", &[("node", "node-b"), ("foo", "")]),
                mk_node("node-c", &[("node", "node-c"), ("bar", "")]),
            ]
        };
        let pods = [
            ep("p-a", "node-a", &["bar"]),
            ep("p-b", "node-b", &["bar"]),
            ep("p-c", "node-b", &["bar"]),
            ep("p-d", "node-c", &[]),
        ];
        let p = mk_pod("p").label("foo", "").node_selector("foo", "").spread(1, "node", DNS, bar()).obj();
        assert_state(
            "NodeAffinityPolicy honored with labelSelectors",
            &state(&p, nodes(), &pods),
            &[[("node-a", 1), ("node-b", 2)]],
            vec![vec![("node-a", 1), ("node-b", 2)]],
        );
        let p = mk_pod("p")
            .label("foo", "")
            .node_selector("foo", "")
            .spread(1, "node", DNS, bar())
            .affinity_policy("Ignore")
            .obj();
        let s = state(&p, nodes(), &pods);
        assert_eq!(
            s.constraints,
            vec![with_policies(tsc(1, "node", bar_sel()), InclusionPolicy::Ignore, InclusionPolicy::Ignore)]
        );
        assert_state(
            "NodeAffinityPolicy ignored with labelSelectors",
            &s,
            &[[("node-c", 0), ("node-a", 1)]],
            vec![vec![("node-a", 1), ("node-b", 2), ("node-c", 0)]],
        );
        let p = mk_pod("p")
            .label("foo", "")
            .node_affinity("foo", "In", &[""])
            .spread(1, "node", DNS, bar())
            .obj();
        assert_state(
            "NodeAffinityPolicy honored with nodeAffinity",
            &state(&p, nodes(), &pods),
            &[[("node-a", 1), ("node-b", 2)]],
            vec![vec![("node-a", 1), ("node-b", 2)]],
        );
        let p = mk_pod("p")
            .label("foo", "")
            .node_affinity("foo", "In", &[""])
            .spread(1, "node", DNS, bar())
            .affinity_policy("Ignore")
            .obj();
        assert_state(
            "NodeAffinityPolicy ignored with nodeAffinity",
            &state(&p, nodes(), &pods),
            &[[("node-c", 0), ("node-a", 1)]],
            vec![vec![("node-a", 1), ("node-b", 2), ("node-c", 0)]],
        );

        let nodes = || {
            vec![
                mk_node("node-a", &[("node", "node-a")]),
                mk_node("node-b", &[("node", "node-b")]),
                tainted(mk_node("node-c", &[("node", "node-c"), ("bar", "")])),
            ]
        };
        let p = mk_pod("p").label("foo", "").spread(1, "node", DNS, bar()).obj();
        assert_state(
            "NodeTaintsPolicy ignored",
            &state(&p, nodes(), &pods),
            &[[("node-c", 0), ("node-a", 1)]],
            vec![vec![("node-a", 1), ("node-b", 2), ("node-c", 0)]],
        );
        let p = mk_pod("p").label("foo", "").spread(1, "node", DNS, bar()).taints_policy("Honor").obj();
        let s = state(&p, nodes(), &pods);
        assert_eq!(
            s.constraints,
            vec![with_policies(tsc(1, "node", bar_sel()), InclusionPolicy::Honor, InclusionPolicy::Honor)]
        );
        assert_state(
            "NodeTaintsPolicy honored",
            &s,
            &[[("node-a", 1), ("node-b", 2)]],
            vec![vec![("node-a", 1), ("node-b", 2)]],
        );
        let p = mk_pod("p")
            .label("foo", "")
            .toleration("node.kubernetes.io/unschedulable")
            .spread(1, "node", DNS, bar())
            .taints_policy("Honor")
            .obj();
        assert_state(
            "NodeTaintsPolicy honored with tolerated taints",
            &state(&p, nodes(), &pods),
            &[[("node-c", 0), ("node-a", 1)]],
            vec![vec![("node-a", 1), ("node-b", 2), ("node-c", 0)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .node_selector("foo", "")
            .spread(1, "zone", DNS, foo())
            .spread(1, "node", DNS, foo())
            .affinity_policy("Ignore")
            .obj();
        let nodes = vec![
            mk_node("node-a", &[("zone", "zone1"), ("node", "node-a"), ("foo", "")]),
            mk_node("node-b", &[("zone", "zone1"), ("node", "node-b")]),
            mk_node("node-x", &[("zone", "zone2"), ("node", "node-x"), ("foo", "")]),
        ];
        let pods = foo_pods(&[("p-b1", "node-b"), ("p-b2", "node-b"), ("p-x1", "node-x")]);
        assert_state(
            "two node inclusion Constraints, zone: honor/ignore, node: ignore/ignore",
            &state(&p, nodes, &pods),
            &[[("zone1", 0), ("zone2", 1)], [("node-a", 0), ("node-x", 1)]],
            vec![vec![("zone1", 0), ("zone2", 1)], vec![("node-a", 0), ("node-b", 2), ("node-x", 1)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .spread(1, "zone", DNS, foo())
            .taints_policy("Honor")
            .spread(1, "node", DNS, foo())
            .obj();
        let nodes = vec![
            mk_node("node-a", &[("zone", "zone1"), ("node", "node-a"), ("foo", "")]),
            tainted(mk_node("node-b", &[("zone", "zone1"), ("node", "node-b")])),
            mk_node("node-x", &[("zone", "zone2"), ("node", "node-x"), ("foo", "")]),
        ];
        assert_state(
            "two node inclusion Constraints, zone: honor/honor, node: honor/ignore",
            &state(&p, nodes, &pods),
            &[[("zone1", 0), ("zone2", 1)], [("node-a", 0), ("node-x", 1)]],
            vec![vec![("zone1", 0), ("zone2", 1)], vec![("node-a", 0), ("node-b", 2), ("node-x", 1)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .node_selector("foo", "")
            .spread(1, "zone", DNS, foo())
            .spread(1, "node", DNS, foo())
            .obj();
        let nodes = vec![
            mk_node("node-a", &[("zone", "zone1"), ("node", "node-a")]),
            tainted(mk_node("node-b", &[("zone", "zone1"), ("node", "node-b"), ("foo", "")])),
            mk_node("node-x", &[("zone", "zone2"), ("node", "node-x"), ("foo", "")]),
            mk_node("node-y", &[("zone", "zone2"), ("node", "node-y")]),
        ];
        let pods =
            foo_pods(&[("p-a1", "node-a"), ("p-a2", "node-a"), ("p-x1", "node-x"), ("p-y1", "node-y")]);
        assert_state(
            "two node inclusion Constraints, zone: honor/ignore, node: honor/ignore",
            &state(&p, nodes, &pods),
            &[[("zone1", 0), ("zone2", 1)], [("node-b", 0), ("node-x", 1)]],
            vec![vec![("zone1", 0), ("zone2", 1)], vec![("node-b", 0), ("node-x", 1)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .node_selector("foo", "")
            .spread(1, "zone", DNS, foo())
            .affinity_policy("Ignore")
            .spread(1, "node", DNS, foo())
            .taints_policy("Honor")
            .obj();
        let nodes = vec![
            mk_node("node-a", &[("zone", "zone1"), ("node", "node-a")]),
            tainted(mk_node("node-b", &[("zone", "zone1"), ("node", "node-b"), ("foo", "")])),
            mk_node("node-x", &[("zone", "zone2"), ("node", "node-x"), ("foo", "")]),
            mk_node("node-y", &[("zone", "zone2"), ("node", "node-y"), ("foo", "")]),
        ];
        let pods = foo_pods(&[
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-x1", "node-x"),
            ("p-x2", "node-x"),
            ("p-y1", "node-y"),
        ]);
        assert_state(
            "two node inclusion Constraints, zone: ignore/ignore, node: honor/honor",
            &state(&p, nodes, &pods),
            &[[("zone1", 2), ("zone2", 3)], [("node-y", 1), ("node-x", 2)]],
            vec![vec![("zone1", 2), ("zone2", 3)], vec![("node-x", 2), ("node-y", 1)]],
        );

        // matchLabelKeys
        let p = mk_pod("p")
            .label("foo", "")
            .label("bar", "a")
            .spread(1, "zone", DNS, foo())
            .match_label_keys(&["bar"])
            .obj();
        let pods = [
            ep("p-a1", "node-a", &["foo"]),
            mk_pod("p-a2").node("node-a").label("foo", "").label("bar", "a").obj(),
            ep("p-b1", "node-b", &["foo"]),
            mk_pod("p-y1").node("node-y").label("foo", "").label("bar", "a").obj(),
            ep("p-y2", "node-y", &["bar"]),
        ];
        let s = state(&p, four_nodes(), &pods);
        assert_eq!(
            s.constraints,
            vec![tsc(1, "zone", sel(vec![eq("bar", "a"), Requirement::Exists("foo".into())]))]
        );
        assert_state(
            "matchLabelKeys ANDed with LabelSelector when LabelSelector isn't empty",
            &s,
            &[[("zone2", 1), ("zone1", 1)]],
            vec![vec![("zone1", 1), ("zone2", 1)]],
        );

        let foo_a: Vec<Pod> = [
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-b1", "node-b"),
            ("p-y1", "node-y"),
            ("p-y2", "node-y"),
        ]
        .iter()
        .map(|(name, node)| mk_pod(name).node(node).label("foo", "a").obj())
        .collect();
        let p = mk_pod("p")
            .label("foo", "a")
            .spread(1, "zone", DNS, Some(K8sLabelSelector::default()))
            .match_label_keys(&["foo"])
            .obj();
        let s = state(&p, four_nodes(), &foo_a);
        assert_eq!(s.constraints, vec![tsc(1, "zone", sel(vec![eq("foo", "a")]))]);
        assert_state(
            "matchLabelKeys ANDed with LabelSelector when LabelSelector is empty",
            &s,
            &[[("zone2", 2), ("zone1", 3)]],
            vec![vec![("zone1", 3), ("zone2", 2)]],
        );

        let p = mk_pod("p").label("foo", "").spread(1, "zone", DNS, None).match_label_keys(&["bar"]).obj();
        let s = state(&p, four_nodes(), &foo_a);
        assert_eq!(s.constraints, vec![tsc(1, "zone", SpreadSelector::Nothing)]);
        assert_state(
            "key in matchLabelKeys is ignored when LabelSelector is nil when feature gate enabled",
            &s,
            &[[("zone2", 0), ("zone1", 0)]],
            vec![vec![("zone1", 0), ("zone2", 0)]],
        );

        let p = mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).match_label_keys(&["bar"]).obj();
        let s = state(&p, four_nodes(), &foo_a);
        assert_eq!(s.constraints, vec![tsc(1, "zone", foo_sel())]);
        assert_state(
            "key in matchLabelKeys is ignored when it isn't exist in pod.labels",
            &s,
            &[[("zone2", 2), ("zone1", 3)]],
            vec![vec![("zone1", 3), ("zone2", 2)]],
        );

        let p = mk_pod("p")
            .label("foo", "")
            .label("bar", "")
            .spread(1, "zone", DNS, foo())
            .spread(1, "zone", DNS, bar())
            .obj();
        let pods = [
            ep("p-a1", "node-a", &["foo", "bar"]),
            ep("p-b1", "node-b", &["foo"]),
            ep("p-x1", "node-x", &["bar"]),
            ep("p-y1", "node-y", &["foo", "bar"]),
            ep("p-y2", "node-y", &["bar"]),
        ];
        assert_state(
            "two spreadConstraints with the same topologyKey",
            &state(&p, four_nodes(), &pods),
            &[[("zone2", 1), ("zone1", 2)], [("zone1", 1), ("zone2", 3)]],
            vec![vec![("zone1", 2), ("zone2", 1)], vec![("zone1", 1), ("zone2", 3)]],
        );

        let p = mk_pod("p").label("foo", "").obj();
        assert_eq!(
            prefilter_state(&p, vec![zn("node-a", "zone1")], &[], &list_args(), None),
            None,
            "skip if not specified"
        );
    }

    #[test]
    fn empty_label_selector_counts_no_existing_pods() {
        // Not an upstream case: v1.32–v1.34 countPodsMatchSelector returns 0 for an Empty()
        // selector (`labelSelector: {}`), although the incoming pod matches it.
        let p = mk_pod("p").label("foo", "").spread(1, "zone", DNS, Some(K8sLabelSelector::default())).obj();
        let pods = foo_pods(&[("p-a1", "node-a"), ("p-a2", "node-a")]);
        let s = state(&p, four_nodes(), &pods);
        assert_state(
            "empty selector",
            &s,
            &[[("zone1", 0), ("zone2", 0)]],
            vec![vec![("zone1", 0), ("zone2", 0)]],
        );
        let cluster = Cluster::new(four_nodes(), &pods);
        for v in cluster.views() {
            assert_eq!(filter(&p, &s, &v), Ok(()));
        }
    }

    fn after_update(
        preemptor: &Pod,
        nodes: Vec<Node>,
        existing: &[Pod],
        changed: &Pod,
        node_idx: usize,
        add: bool,
    ) -> FilterState {
        let cluster = Cluster::new(nodes, existing);
        let mut s = pre_filter(preemptor, &cluster.views(), &list_args(), None)
            .expect("valid constraints")
            .expect("not skipped");
        if add {
            add_pod(&mut s, preemptor, changed, &cluster.nodes[node_idx]);
        } else {
            remove_pod(&mut s, preemptor, changed, &cluster.nodes[node_idx]);
        }
        s
    }

    #[test]
    fn pre_filter_state_add_pod() {
        // TestPreFilterStateAddPod
        let node_pod = mk_pod("p").label("foo", "").spread(1, "node", DNS, foo()).obj();
        let two = || vec![zn("node-a", "zone1"), zn("node-b", "zone1")];
        let a1 = ep("p-a1", "node-a", &["foo"]);

        let s = after_update(&node_pod, two(), &[], &a1, 0, true);
        assert_state(
            "node a and b both impact current min match",
            &s,
            &[[("node-b", 0), ("node-a", 1)]],
            vec![vec![("node-a", 1), ("node-b", 0)]],
        );

        let b1 = foo_pods(&[("p-b1", "node-b")]);
        let s = after_update(&node_pod, two(), &b1, &a1, 0, true);
        assert_state(
            "only node a impacts current min match",
            &s,
            &[[("node-a", 1), ("node-b", 1)]],
            vec![vec![("node-a", 1), ("node-b", 1)]],
        );

        let other_ns = mk_pod("p-a1").ns("ns1").node("node-a").label("foo", "").obj();
        let s = after_update(&node_pod, two(), &b1, &other_ns, 0, true);
        assert_state(
            "add a pod in a different namespace doesn't change topologyKeyToMinPodsMap",
            &s,
            &[[("node-a", 0), ("node-b", 1)]],
            vec![vec![("node-a", 0), ("node-b", 1)]],
        );

        let s = after_update(&node_pod, two(), &b1, &ep("p-b2", "node-b", &["foo"]), 1, true);
        assert_state(
            "add pod on non-critical node won't trigger re-calculation",
            &s,
            &[[("node-a", 0), ("node-b", 2)]],
            vec![vec![("node-a", 0), ("node-b", 2)]],
        );

        let zone_node_pod =
            mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).spread(1, "node", DNS, foo()).obj();
        let ax = || vec![zn("node-a", "zone1"), zn("node-x", "zone2")];
        let s = after_update(&zone_node_pod, ax(), &[], &a1, 0, true);
        assert_state(
            "node a and x both impact topologyKeyToMinPodsMap on zone and node",
            &s,
            &[[("zone2", 0), ("zone1", 1)], [("node-x", 0), ("node-a", 1)]],
            vec![vec![("zone1", 1), ("zone2", 0)], vec![("node-a", 1), ("node-x", 0)]],
        );

        let s = after_update(&zone_node_pod, ax(), &foo_pods(&[("p-x1", "node-x")]), &a1, 0, true);
        assert_state(
            "only node a impacts topologyKeyToMinPodsMap on zone and node",
            &s,
            &[[("zone1", 1), ("zone2", 1)], [("node-a", 1), ("node-x", 1)]],
            vec![vec![("zone1", 1), ("zone2", 1)], vec![("node-a", 1), ("node-x", 1)]],
        );

        let abx = || vec![zn("node-a", "zone1"), zn("node-b", "zone1"), zn("node-x", "zone2")];
        let existing = foo_pods(&[("p-b1", "node-b"), ("p-b2", "node-b"), ("p-x1", "node-x")]);
        let s = after_update(&zone_node_pod, abx(), &existing, &a1, 0, true);
        assert_state(
            "node a impacts topologyKeyToMinPodsMap on node, node x impacts topologyKeyToMinPodsMap on zone",
            &s,
            &[[("zone2", 1), ("zone1", 3)], [("node-a", 1), ("node-x", 1)]],
            vec![vec![("zone1", 3), ("zone2", 1)], vec![("node-a", 1), ("node-b", 2), ("node-x", 1)]],
        );

        let diff_sel = mk_pod("p")
            .label("foo", "")
            .label("bar", "")
            .spread(1, "zone", DNS, foo())
            .spread(1, "node", DNS, bar())
            .obj();
        let existing = [
            ep("p-b1", "node-b", &["foo", "bar"]),
            ep("p-x1", "node-x", &["foo", "bar"]),
            ep("p-x2", "node-x", &["bar"]),
        ];
        let s = after_update(&diff_sel, abx(), &existing, &a1, 0, true);
        assert_state(
            "Constraints hold different labelSelectors, node a impacts topologyKeyToMinPodsMap on zone",
            &s,
            &[[("zone2", 1), ("zone1", 2)], [("node-a", 0), ("node-b", 1)]],
            vec![vec![("zone1", 2), ("zone2", 1)], vec![("node-a", 0), ("node-b", 1), ("node-x", 2)]],
        );

        let existing = [
            ep("p-b1", "node-b", &["bar"]),
            ep("p-x1", "node-x", &["foo", "bar"]),
            ep("p-x2", "node-x", &["bar"]),
        ];
        let s = after_update(&diff_sel, abx(), &existing, &ep("p-a1", "node-a", &["foo", "bar"]), 0, true);
        assert_state(
            "Constraints hold different labelSelectors, node a impacts topologyKeyToMinPodsMap on both zone and node",
            &s,
            &[[("zone1", 1), ("zone2", 1)], [("node-a", 1), ("node-b", 1)]],
            vec![vec![("zone1", 1), ("zone2", 1)], vec![("node-a", 1), ("node-b", 1), ("node-x", 2)]],
        );

        // Node inclusion policies (the "NodeInclusionPolicy enabled" variants).
        let ab_foo = || {
            vec![
                mk_node("node-a", &[("zone", "zone1"), ("node", "node-a"), ("foo", "bar")]),
                mk_node("node-b", &[("zone", "zone2"), ("node", "node-b"), ("foo", "")]),
            ]
        };
        let zone_pod = mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).obj();
        let affinity_pod = mk_pod("p")
            .label("foo", "")
            .node_affinity("foo", "NotIn", &["bar"])
            .spread(1, "zone", DNS, foo())
            .obj();
        let zp = |name: &str, node: &str, zone: &str| {
            mk_pod(name).node(node).label("foo", "").label("zone", zone).obj()
        };
        let existing = [zp("p-a2", "node-a", "zone1"), zp("p-b1", "node-b", "zone2")];
        let s = after_update(&affinity_pod, ab_foo(), &existing, &zp("p-a1", "node-a", "zone1"), 0, true);
        assert_state(
            "add a pod when scheduling node affinity unmatched pod with NodeInclusionPolicy enabled",
            &s,
            &[[("zone2", 1), MAX]],
            vec![vec![("zone2", 1)]],
        );

        let existing = [zp("p-a1", "node-a", "zone1"), zp("p-b2", "node-b", "zone2")];
        let s = after_update(&zone_pod, ab_foo(), &existing, &zp("p-b1", "node-b", "zone2"), 1, true);
        assert_state(
            "add a pod when scheduling node affinity matched pod with NodeInclusionPolicy enabled",
            &s,
            &[[("zone1", 1), ("zone2", 2)]],
            vec![vec![("zone1", 1), ("zone2", 2)]],
        );

        let unlabelled = mk_pod("p-b1").node("node-b").label("zone", "zone2").obj();
        let s = after_update(&zone_pod, ab_foo(), &existing, &unlabelled, 1, true);
        assert_state(
            "add a label selector not matched pod when with NodeInclusionPolicy enabled",
            &s,
            &[[("zone1", 1), ("zone2", 1)]],
            vec![vec![("zone1", 1), ("zone2", 1)]],
        );

        let tainted_a = || {
            vec![
                tainted(mk_node("node-a", &[("zone", "zone1"), ("node", "node-a")])),
                mk_node("node-b", &[("zone", "zone2"), ("node", "node-b")]),
            ]
        };
        let tolerating = mk_pod("p")
            .label("foo", "")
            .toleration("node.kubernetes.io/unschedulable")
            .spread(1, "zone", DNS, foo())
            .obj();
        let s = after_update(&tolerating, tainted_a(), &existing, &zp("p-b1", "node-b", "zone2"), 1, true);
        assert_state(
            "add a pod when scheduling taint tolerated pod with NodeInclusionPolicy enabled",
            &s,
            &[[("zone1", 1), ("zone2", 2)]],
            vec![vec![("zone1", 1), ("zone2", 2)]],
        );
    }

    #[test]
    fn pre_filter_state_remove_pod() {
        // TestPreFilterStateRemovePod
        let zone_pod = mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).obj();
        let abx = || vec![zn("node-a", "zone1"), zn("node-b", "zone1"), zn("node-x", "zone2")];
        let existing = foo_pods(&[("p-a1", "node-a"), ("p-b1", "node-b"), ("p-x1", "node-x")]);
        let s = after_update(&zone_pod, abx(), &existing, &existing[0], 0, false);
        assert_state(
            "one spreadConstraint on zone, topologyKeyToMinPodsMap unchanged",
            &s,
            &[[("zone1", 1), ("zone2", 1)]],
            vec![vec![("zone1", 1), ("zone2", 1)]],
        );

        let existing =
            foo_pods(&[("p-a1", "node-a"), ("p-b1", "node-b"), ("p-x1", "node-x"), ("p-y1", "node-y")]);
        let s = after_update(&zone_pod, four_nodes(), &existing, &existing[0], 0, false);
        assert_state(
            "one spreadConstraint on node, topologyKeyToMinPodsMap changed",
            &s,
            &[[("zone1", 1), ("zone2", 2)]],
            vec![vec![("zone1", 1), ("zone2", 2)]],
        );

        let mut with_a0 = vec![ep("p-a0", "node-a", &["bar"])];
        with_a0.extend(existing.iter().cloned());
        let s = after_update(&zone_pod, four_nodes(), &with_a0, &with_a0[0], 0, false);
        assert_state(
            "delete an irrelevant pod won't help",
            &s,
            &[[("zone1", 2), ("zone2", 2)]],
            vec![vec![("zone1", 2), ("zone2", 2)]],
        );

        let s = after_update(&zone_pod, four_nodes(), &existing, &ep("p-a0", "node-a", &["bar"]), 0, false);
        assert_state(
            "delete a non-existing pod won't help",
            &s,
            &[[("zone1", 2), ("zone2", 2)]],
            vec![vec![("zone1", 2), ("zone2", 2)]],
        );

        let zone_node_pod =
            mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).spread(1, "node", DNS, foo()).obj();
        let existing = foo_pods(&[
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-b1", "node-b"),
            ("p-x1", "node-x"),
            ("p-x2", "node-x"),
        ]);
        let s = after_update(&zone_node_pod, abx(), &existing, &existing[3], 2, false);
        assert_state(
            "two spreadConstraints",
            &s,
            &[[("zone2", 1), ("zone1", 3)], [("node-b", 1), ("node-x", 1)]],
            vec![vec![("zone1", 3), ("zone2", 1)], vec![("node-a", 2), ("node-b", 1), ("node-x", 1)]],
        );

        let ab_foo = || {
            vec![
                mk_node("node-a", &[("zone", "zone1"), ("node", "node-a"), ("foo", "bar")]),
                mk_node("node-b", &[("zone", "zone2"), ("node", "node-b"), ("foo", "")]),
            ]
        };
        let zp = |name: &str, node: &str, zone: &str| {
            mk_pod(name).node(node).label("foo", "").label("zone", zone).obj()
        };
        let affinity_pod = mk_pod("p")
            .label("foo", "")
            .node_affinity("foo", "NotIn", &["bar"])
            .spread(1, "zone", DNS, foo())
            .obj();
        let existing = [zp("p-a2", "node-a", "zone1"), zp("p-b1", "node-b", "zone2")];
        let s = after_update(&affinity_pod, ab_foo(), &existing, &zp("p-a1", "node-a", "zone1"), 0, false);
        assert_state(
            "remove a pod when scheduling node affinity unmatched pod with NodeInclusionPolicy enabled",
            &s,
            &[[("zone2", 1), MAX]],
            vec![vec![("zone2", 1)]],
        );

        let existing = [zp("p-a1", "node-a", "zone1"), zp("p-b2", "node-b", "zone2")];
        let s = after_update(&zone_pod, ab_foo(), &existing, &zp("p-b1", "node-b", "zone2"), 1, false);
        assert_state(
            "remove a pod when scheduling node affinity matched pod with NodeInclusionPolicy enabled",
            &s,
            &[[("zone2", 0), ("zone1", 1)]],
            vec![vec![("zone1", 1), ("zone2", 0)]],
        );
    }

    #[test]
    fn single_constraint() {
        // TestSingleConstraint
        let foo_zone = || mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).obj();
        let foo_node = || mk_pod("p").label("foo", "").spread(1, "node", DNS, foo()).obj();
        let spread_2103 = || {
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-b1", "node-b"),
                ("p-y1", "node-y"),
                ("p-y2", "node-y"),
                ("p-y3", "node-y"),
            ])
        };
        let abxy = |a, b, x, y| [("node-a", a), ("node-b", b), ("node-x", x), ("node-y", y)];

        check_filter("no existing pods", foo_zone(), four_nodes(), vec![], &abxy(Fit, Fit, Fit, Fit));
        check_filter(
            "no existing pods, incoming pod doesn't match itself",
            mk_pod("p").label("foo", "").spread(1, "zone", DNS, bar()).obj(),
            four_nodes(),
            vec![],
            &abxy(Fit, Fit, Fit, Fit),
        );
        check_filter(
            "existing pods in a different namespace do not count",
            foo_zone(),
            four_nodes(),
            vec![
                mk_pod("p-a1").ns("ns1").node("node-a").label("foo", "").obj(),
                mk_pod("p-b1").ns("ns2").node("node-a").label("foo", "").obj(),
                ep("p-x1", "node-x", &["foo"]),
                ep("p-y1", "node-y", &["foo"]),
            ],
            &abxy(Fit, Fit, Skew, Skew),
        );
        check_filter(
            "existing pods do not match null selector",
            mk_pod("p").label("foo", "").spread(1, "zone", DNS, None).obj(),
            four_nodes(),
            foo_pods(&[("p-x1", "node-x"), ("p-y1", "node-y")]),
            &abxy(Fit, Fit, Fit, Fit),
        );
        check_filter(
            "pods spread across zones as 3/3, all nodes fit",
            foo_zone(),
            four_nodes(),
            spread_2103(),
            &abxy(Fit, Fit, Fit, Fit),
        );
        check_filter(
            "pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
            foo_zone(),
            vec![
                zn("node-a", "zone1"),
                mk_node("node-b", &[("zon", "zone1"), ("node", "node-b")]),
                zn("node-x", "zone2"),
                zn("node-y", "zone2"),
            ],
            foo_pods(&[("p-a1", "node-a"), ("p-b1", "node-b"), ("p-x1", "node-x"), ("p-y1", "node-y")]),
            &abxy(Fit, NoKey, Skew, Skew),
        );
        check_filter(
            "pod cannot be scheduled as all nodes don't have label 'rack'",
            mk_pod("p").label("foo", "").spread(1, "rack", DNS, foo()).obj(),
            vec![zn("node-a", "zone1"), zn("node-x", "zone2")],
            vec![],
            &[("node-a", NoKey), ("node-x", NoKey)],
        );
        check_filter(
            "pods spread across nodes as 2/1/0/3, only node-x fits",
            foo_node(),
            four_nodes(),
            spread_2103(),
            &abxy(Skew, Skew, Fit, Skew),
        );
        check_filter(
            "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
            mk_pod("p").label("foo", "").spread(2, "node", DNS, foo()).obj(),
            four_nodes(),
            spread_2103(),
            &abxy(Skew, Fit, Fit, Skew),
        );
        check_filter(
            "pods spread across nodes as 2/1/0/3, but pod doesn't match itself",
            mk_pod("p").label("bar", "").spread(1, "node", DNS, foo()).obj(),
            four_nodes(),
            spread_2103(),
            &abxy(Skew, Fit, Fit, Skew),
        );
        check_filter(
            "incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
            mk_pod("p")
                .label("foo", "")
                .node_affinity("node", "In", &["node-a", "node-y"])
                .spread(1, "node", DNS, foo())
                .obj(),
            four_nodes(),
            spread_2103(),
            // node-b and node-x fit here only because NodeAffinity itself does not run.
            &abxy(Fit, Fit, Fit, Skew),
        );
        check_filter(
            "terminating Pods should be excluded",
            foo_node(),
            vec![mk_node("node-a", &[("node", "node-a")]), mk_node("node-b", &[("node", "node-b")])],
            vec![
                mk_pod("p-a").node("node-a").label("foo", "").terminating().obj(),
                ep("p-b", "node-b", &["foo"]),
            ],
            &[("node-a", Fit), ("node-b", Skew)],
        );
        check_filter(
            "incoming pod has nodeAffinity, pods spread as 0/~2~/0/1, hence node-a fits",
            mk_pod("p")
                .label("foo", "")
                .node_affinity("node", "NotIn", &["node-b"])
                .spread(1, "zone", DNS, foo())
                .obj(),
            four_nodes(),
            foo_pods(&[("p-b1", "node-b"), ("p-b2", "node-b"), ("p-y1", "node-y")]),
            &abxy(Fit, Fit, Skew, Skew),
        );

        // minDomains
        let abc = || {
            vec![
                mk_node("node-a", &[("node", "node-a")]),
                mk_node("node-b", &[("node", "node-b")]),
                mk_node("node-c", &[("node", "node-c")]),
            ]
        };
        let spread_221 = || {
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-b1", "node-b"),
                ("p-b2", "node-b"),
                ("p-c1", "node-c"),
            ])
        };
        check_filter(
            "pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains < minDomains, then the third node fits",
            mk_pod("p").label("foo", "").spread(2, "node", DNS, foo()).min_domains(4).obj(),
            abc(),
            spread_221(),
            &[("node-a", Skew), ("node-b", Skew), ("node-c", Fit)],
        );
        check_filter(
            "pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains > minDomains, then the all nodes fit",
            mk_pod("p").label("foo", "").spread(2, "node", DNS, foo()).min_domains(2).obj(),
            abc(),
            spread_221(),
            &[("node-a", Fit), ("node-b", Fit), ("node-c", Fit)],
        );
        let spread_21 = || foo_pods(&[("p-b1", "node-a"), ("p-b2", "node-b"), ("p-y1", "node-y")]);
        check_filter(
            "pods spread across zone as 2/1, maxSkew is 2 and the number of domains < minDomains, then the third and fourth nodes fit",
            mk_pod("p").label("foo", "").spread(2, "zone", DNS, foo()).min_domains(3).obj(),
            four_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Fit),
        );
        check_filter(
            "pods spread across zone as 2/1, maxSkew is 2 and the number of domains > minDomains, then the all nodes fit",
            mk_pod("p").label("foo", "").spread(2, "zone", DNS, foo()).min_domains(1).obj(),
            four_nodes(),
            spread_21(),
            &abxy(Fit, Fit, Fit, Fit),
        );

        // Node inclusion policies: pods spread across nodes as 1/1/0/(1).
        let foo_nodes = || {
            vec![
                mk_node("node-a", &[("node", "node-a"), ("foo", "")]),
                mk_node("node-b", &[("node", "node-b"), ("foo", "")]),
                mk_node("node-x", &[("node", "node-x"), ("foo", "")]),
                mk_node("node-y", &[("node", "node-y")]),
            ]
        };
        check_filter(
            "NodeAffinityPolicy honored with labelSelectors",
            mk_pod("p").label("foo", "").node_selector("foo", "").spread(1, "node", DNS, foo()).obj(),
            foo_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Fit),
        );
        check_filter(
            "NodeAffinityPolicy ignored with labelSelectors",
            mk_pod("p")
                .label("foo", "")
                .node_selector("foo", "")
                .spread(1, "node", DNS, foo())
                .affinity_policy("Ignore")
                .obj(),
            foo_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Skew),
        );
        check_filter(
            "NodeAffinityPolicy honored with nodeAffinity",
            mk_pod("p")
                .label("foo", "")
                .node_affinity("foo", "In", &[""])
                .spread(1, "node", DNS, foo())
                .obj(),
            foo_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Fit),
        );
        check_filter(
            "NodeAffinityPolicy ignored with labelSelectors (nodeAffinity)",
            mk_pod("p")
                .label("foo", "")
                .node_affinity("foo", "In", &[""])
                .spread(1, "node", DNS, foo())
                .affinity_policy("Ignore")
                .obj(),
            foo_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Skew),
        );
        let taint_nodes = || {
            vec![
                mk_node("node-a", &[("node", "node-a"), ("foo", "")]),
                mk_node("node-b", &[("node", "node-b"), ("foo", "")]),
                mk_node("node-x", &[("node", "node-x"), ("foo", "")]),
                tainted(mk_node("node-y", &[("node", "node-y")])),
            ]
        };
        check_filter(
            "NodeTaintsPolicy honored",
            mk_pod("p").label("foo", "").spread(1, "node", DNS, foo()).taints_policy("Honor").obj(),
            taint_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Fit),
        );
        check_filter(
            "NodeTaintsPolicy ignored",
            foo_node(),
            taint_nodes(),
            spread_21(),
            &abxy(Skew, Skew, Fit, Skew),
        );
    }

    #[test]
    fn multiple_constraints() {
        // TestMultipleConstraints
        let abxy = |a, b, x, y| [("node-a", a), ("node-b", b), ("node-x", x), ("node-y", y)];
        let zone_node =
            || mk_pod("p").label("foo", "").spread(1, "zone", DNS, foo()).spread(1, "node", DNS, foo()).obj();
        let zone_foo_node_bar = || {
            mk_pod("p")
                .label("foo", "")
                .label("bar", "")
                .spread(1, "zone", DNS, foo())
                .spread(1, "node", DNS, bar())
                .obj()
        };
        let mut pods = foo_pods(&[
            ("p-a1", "node-a"),
            ("p-a2", "node-a"),
            ("p-b1", "node-b"),
            ("p-y1", "node-y"),
            ("p-y2", "node-y"),
            ("p-y3", "node-y"),
        ]);
        check_filter(
            "two Constraints on zone and node, spreads = [3/3, 2/1/0/3]",
            zone_node(),
            four_nodes(),
            pods.clone(),
            &abxy(Skew, Skew, Fit, Skew),
        );
        pods.push(ep("p-y4", "node-y", &["foo"]));
        check_filter(
            "two Constraints on zone and node, spreads = [3/4, 2/1/0/4]",
            zone_node(),
            four_nodes(),
            pods,
            &abxy(Skew, Skew, Skew, Skew),
        );
        check_filter(
            "Constraints hold different labelSelectors, spreads = [1/0, 1/0/0/1]",
            zone_foo_node_bar(),
            four_nodes(),
            vec![ep("p-a1", "node-a", &["foo"]), ep("p-y1", "node-y", &["bar"])],
            &abxy(Skew, Skew, Fit, Skew),
        );
        check_filter(
            "Constraints hold different labelSelectors, spreads = [1/0, 0/0/1/1]",
            zone_foo_node_bar(),
            four_nodes(),
            vec![
                ep("p-a1", "node-a", &["foo"]),
                ep("p-x1", "node-x", &["bar"]),
                ep("p-y1", "node-y", &["bar"]),
            ],
            &abxy(Skew, Skew, Skew, Skew),
        );
        check_filter(
            "Constraints hold different labelSelectors, spreads = [2/3, 1/0/0/1]",
            zone_foo_node_bar(),
            four_nodes(),
            vec![
                ep("p-a1", "node-a", &["foo"]),
                ep("p-a2", "node-a", &["foo", "bar"]),
                ep("p-y1", "node-y", &["foo"]),
                ep("p-y2", "node-y", &["foo", "bar"]),
                ep("p-y3", "node-y", &["foo"]),
            ],
            &abxy(Skew, Fit, Skew, Skew),
        );
        check_filter(
            "Constraints hold different labelSelectors but pod doesn't match itself on 'zone' constraint",
            mk_pod("p").label("bar", "").spread(1, "zone", DNS, foo()).spread(1, "node", DNS, bar()).obj(),
            four_nodes(),
            vec![
                ep("p-a1", "node-a", &["foo"]),
                ep("p-x1", "node-x", &["bar"]),
                ep("p-y1", "node-y", &["bar"]),
            ],
            &abxy(Fit, Fit, Skew, Skew),
        );
        check_filter(
            "two Constraints on zone and node, absence of label 'node' on node-x, spreads = [1/1, 1/0/0/1]",
            zone_node(),
            vec![
                zn("node-a", "zone1"),
                zn("node-b", "zone1"),
                mk_node("node-x", &[("zone", "zone2")]),
                zn("node-y", "zone2"),
            ],
            foo_pods(&[("p-a1", "node-a"), ("p-y3", "node-y")]),
            &abxy(Skew, Fit, NoKey, Skew),
        );

        let pods = || foo_pods(&[("p-a1", "node-a"), ("p-b1", "node-b"), ("p-y1", "node-y")]);
        let nodes = |foo: [bool; 4], taint_y: bool| -> Vec<Node> {
            ["node-a", "node-b", "node-x", "node-y"]
                .iter()
                .zip(foo)
                .map(|(name, has_foo)| {
                    let zone = if *name < "node-x" { "zone1" } else { "zone2" };
                    let mut labels = vec![("zone", zone), ("node", *name)];
                    if has_foo {
                        labels.push(("foo", ""));
                    }
                    let n = mk_node(name, &labels);
                    if taint_y && *name == "node-y" {
                        tainted(n)
                    } else {
                        n
                    }
                })
                .collect()
        };
        check_filter(
            "two node inclusion Constraints, zone: honor/ignore, node: ignore/ignore",
            mk_pod("p")
                .label("foo", "")
                .node_selector("foo", "")
                .spread(1, "zone", DNS, foo())
                .spread(1, "node", DNS, foo())
                .affinity_policy("Ignore")
                .obj(),
            nodes([true, true, true, false], false),
            pods(),
            &abxy(Skew, Skew, Fit, Skew),
        );
        check_filter(
            "two node inclusion Constraints, zone: honor/honor, node: honor/ignore",
            mk_pod("p")
                .label("foo", "")
                .spread(1, "zone", DNS, foo())
                .taints_policy("Honor")
                .spread(1, "node", DNS, foo())
                .obj(),
            nodes([true, true, true, false], true),
            pods(),
            &abxy(Skew, Skew, Fit, Skew),
        );
        check_filter(
            "two node inclusion Constraints, zone: honor/ignore, node: honor/ignore",
            mk_pod("p")
                .label("foo", "")
                .node_selector("foo", "")
                .spread(1, "zone", DNS, foo())
                .spread(1, "node", DNS, foo())
                .obj(),
            nodes([true, false, true, true], true),
            pods(),
            &abxy(Skew, Fit, Fit, Skew),
        );
        check_filter(
            "two node inclusion Constraints, zone: honor/honor, node: ignore/ignore",
            mk_pod("p")
                .label("foo", "")
                .node_selector("foo", "")
                .spread(1, "zone", DNS, foo())
                .taints_policy("Honor")
                .spread(1, "node", DNS, foo())
                .affinity_policy("Ignore")
                .obj(),
            nodes([true, false, true, true], true),
            pods(),
            &abxy(Skew, Skew, Fit, Skew),
        );

        let two_zone = || {
            mk_pod("p")
                .label("foo", "")
                .label("bar", "")
                .spread(1, "zone", DNS, bar())
                .spread(1, "zone", DNS, foo())
                .obj()
        };
        let mut pods = vec![
            ep("p-a1", "node-a", &["foo", "bar"]),
            ep("p-a2", "node-a", &["foo"]),
            ep("p-b1", "node-b", &["foo", "bar"]),
            ep("p-y1", "node-y", &["foo"]),
            ep("p-y2", "node-y", &["foo", "bar"]),
            ep("p-y3", "node-y", &["foo"]),
        ];
        check_filter(
            "two Constraints on zone, spreads = [3/3, 2/1]",
            two_zone(),
            four_nodes(),
            pods.clone(),
            &abxy(Skew, Skew, Fit, Fit),
        );
        pods.push(ep("p-y4", "node-y", &["foo"]));
        check_filter(
            "two Constraints on zone, spreads = [3/4, 2/1]",
            two_zone(),
            four_nodes(),
            pods,
            &abxy(Skew, Skew, Skew, Skew),
        );
    }

    #[test]
    fn filter_failure_reasons() {
        assert_eq!(
            FilterFailure::ConstraintsNotMatch.reason(),
            "node(s) didn't match pod topology spread constraints"
        );
        assert_eq!(
            FilterFailure::NodeLabelMissing.reason(),
            "node(s) didn't match pod topology spread constraints (missing required label)"
        );
        assert!(FilterFailure::NodeLabelMissing.is_unresolvable());
        assert!(!FilterFailure::ConstraintsNotMatch.is_unresolvable());
    }

    // ---- PreScore / Score / NormalizeScore ----

    fn prescore_state(
        pod: &Pod,
        nodes: Vec<Node>,
        args: &SpreadArgs,
        default_selector: Option<&LabelSelector>,
    ) -> Option<ScoreState> {
        let cluster = Cluster::new(nodes, &[]);
        let views = cluster.views();
        pre_score(pod, &views, &views, args, default_selector).expect("valid constraints")
    }

    fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn names(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn pre_score_skip() {
        // TestPreScoreSkip
        let p = mk_pod("p").ns("default").obj();
        assert_eq!(
            prescore_state(&p, vec![hn("node-a"), hn("node-b")], &list_args(), None),
            None,
            "the pod doesn't have soft topology spread Constraints"
        );
        let args = SpreadArgs {
            default_constraints: vec![TopologySpreadConstraint {
                max_skew: 2,
                topology_key: "planet".into(),
                when_unsatisfiable: SA.into(),
                ..Default::default()
            }],
            defaulting: Defaulting::List,
        };
        let p = mk_pod("p").ns("default").label("foo", "bar").label("baz", "sup").obj();
        assert_eq!(
            prescore_state(&p, vec![mk_node("node-a", &[("planet", "mars")])], &args, None),
            None,
            "default constraints and a replicaset that doesn't match"
        );
        // And with system defaulting: a pod no Service / controller selects.
        assert_eq!(prescore_state(&p, vec![hn("node-a")], &SpreadArgs::default(), None), None);
    }

    #[test]
    fn pre_score_state_empty_nodes() {
        // TestPreScoreStateEmptyNodes
        let p = mk_pod("p")
            .label("foo", "")
            .spread(1, "zone", SA, foo())
            .spread(1, LABEL_HOSTNAME, SA, foo())
            .obj();
        let nodes = || vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hz("node-x", "zone2")];
        assert_eq!(
            prescore_state(&p, nodes(), &list_args(), None),
            Some(ScoreState {
                constraints: vec![tsc(1, "zone", foo_sel()), tsc(1, LABEL_HOSTNAME, foo_sel())],
                ignored_nodes: BTreeSet::new(),
                topology_value_to_pod_counts: vec![counts(&[("zone1", 0), ("zone2", 0)]), counts(&[])],
                topology_normalizing_weight: vec![
                    topology_normalizing_weight(2),
                    topology_normalizing_weight(3)
                ],
            }),
            "normal case"
        );

        let p = mk_pod("p").label("foo", "").spread(1, "zone", SA, None).obj();
        assert_eq!(
            prescore_state(&p, nodes(), &list_args(), None),
            Some(ScoreState {
                constraints: vec![tsc(1, "zone", SpreadSelector::Nothing)],
                ignored_nodes: BTreeSet::new(),
                topology_value_to_pod_counts: vec![counts(&[("zone1", 0), ("zone2", 0)])],
                topology_normalizing_weight: vec![topology_normalizing_weight(2)],
            }),
            "null selector"
        );

        let p = mk_pod("p")
            .label("foo", "")
            .spread(1, "zone", SA, foo())
            .spread(1, LABEL_HOSTNAME, SA, bar())
            .obj();
        assert_eq!(
            prescore_state(
                &p,
                vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hn("node-x")],
                &list_args(),
                None
            ),
            Some(ScoreState {
                constraints: vec![tsc(1, "zone", foo_sel()), tsc(1, LABEL_HOSTNAME, bar_sel())],
                ignored_nodes: names(&["node-x"]),
                topology_value_to_pod_counts: vec![counts(&[("zone1", 0)]), counts(&[])],
                topology_normalizing_weight: vec![
                    topology_normalizing_weight(1),
                    topology_normalizing_weight(2)
                ],
            }),
            "node-x doesn't have label zone"
        );

        // The ReplicaSet rs1 selects foo (exists).
        let rs = LabelSelector { requirements: vec![Requirement::Exists("foo".into())] };
        let p = mk_pod("p").ns("default").label("foo", "tar").label("baz", "sup").obj();
        let zoned = |name: &str| mk_node(name, &[(LABEL_HOSTNAME, name), (LABEL_TOPOLOGY_ZONE, "mars")]);
        assert_eq!(
            prescore_state(
                &p,
                // Nodes with no zone are not excluded. They are considered a separate zone.
                vec![zoned("node-a"), zoned("node-b"), hn("node-c"), hn("node-d")],
                &SpreadArgs::default(),
                Some(&rs),
            ),
            Some(ScoreState {
                constraints: vec![tsc(3, LABEL_HOSTNAME, foo_sel()), tsc(5, LABEL_TOPOLOGY_ZONE, foo_sel())],
                ignored_nodes: BTreeSet::new(),
                topology_value_to_pod_counts: vec![counts(&[]), counts(&[("mars", 0), ("", 0)])],
                topology_normalizing_weight: vec![
                    topology_normalizing_weight(4),
                    topology_normalizing_weight(2)
                ],
            }),
            "system default constraints and a replicaset"
        );

        let args = SpreadArgs {
            default_constraints: vec![
                TopologySpreadConstraint {
                    max_skew: 1,
                    topology_key: LABEL_HOSTNAME.into(),
                    when_unsatisfiable: SA.into(),
                    ..Default::default()
                },
                TopologySpreadConstraint {
                    max_skew: 2,
                    topology_key: "rack".into(),
                    when_unsatisfiable: DNS.into(),
                    ..Default::default()
                },
                TopologySpreadConstraint {
                    max_skew: 2,
                    topology_key: "planet".into(),
                    when_unsatisfiable: SA.into(),
                    ..Default::default()
                },
            ],
            defaulting: Defaulting::List,
        };
        let node = mk_node("node-a", &[("rack", "rack1"), (LABEL_HOSTNAME, "node-a"), ("planet", "mars")]);
        assert_eq!(
            prescore_state(&p, vec![node], &args, Some(&rs)),
            Some(ScoreState {
                constraints: vec![tsc(1, LABEL_HOSTNAME, foo_sel()), tsc(2, "planet", foo_sel())],
                ignored_nodes: BTreeSet::new(),
                topology_value_to_pod_counts: vec![counts(&[]), counts(&[("mars", 0)])],
                topology_normalizing_weight: vec![
                    topology_normalizing_weight(1),
                    topology_normalizing_weight(1)
                ],
            }),
            "default constraints and a replicaset"
        );

        let args = SpreadArgs {
            default_constraints: vec![TopologySpreadConstraint {
                max_skew: 2,
                topology_key: "galaxy".into(),
                when_unsatisfiable: SA.into(),
                ..Default::default()
            }],
            defaulting: Defaulting::List,
        };
        let p = mk_pod("p")
            .ns("default")
            .label("foo", "bar")
            .label("baz", "sup")
            .spread(1, "zone", DNS, bar())
            .spread(2, "planet", SA, match_labels(&[("baz", "sup")]))
            .obj();
        let node = mk_node("node-a", &[("planet", "mars"), ("galaxy", "andromeda")]);
        assert_eq!(
            prescore_state(&p, vec![node], &args, Some(&rs)),
            Some(ScoreState {
                constraints: vec![tsc(2, "planet", sel(vec![eq("baz", "sup")]))],
                ignored_nodes: BTreeSet::new(),
                topology_value_to_pod_counts: vec![counts(&[("mars", 0)])],
                topology_normalizing_weight: vec![topology_normalizing_weight(1)],
            }),
            "default constraints and a replicaset, but pod has constraints"
        );

        let p = mk_pod("p").label("foo", "").spread(1, "zone", SA, bar()).taints_policy("Honor").obj();
        let nodes = vec![
            mk_node("node-a", &[("zone", "zone1"), ("foo", ""), (LABEL_HOSTNAME, "node-a")]),
            mk_node("node-b", &[("zone", "zone1"), ("foo", ""), (LABEL_HOSTNAME, "node-b")]),
            tainted(mk_node("node-x", &[("zone", "zone2"), (LABEL_HOSTNAME, "node-x")])),
        ];
        assert_eq!(
            prescore_state(&p, nodes, &list_args(), None),
            Some(ScoreState {
                constraints: vec![with_policies(
                    tsc(1, "zone", bar_sel()),
                    InclusionPolicy::Honor,
                    InclusionPolicy::Honor
                )],
                ignored_nodes: BTreeSet::new(),
                topology_value_to_pod_counts: vec![counts(&[("zone1", 0), ("zone2", 0)])],
                topology_normalizing_weight: vec![topology_normalizing_weight(2)],
            }),
            "NodeTaintsPolicy honored"
        );
    }

    /// TestPodTopologySpreadScore's harness: system defaulting; `nodes` are the feasible nodes,
    /// `failed` the rest of the cluster.
    fn run_scores(
        pod: &Pod,
        nodes: Vec<Node>,
        failed: Vec<Node>,
        pods: &[Pod],
        default_selector: Option<&LabelSelector>,
    ) -> Vec<(String, i64)> {
        let feasible_count = nodes.len();
        let mut all_nodes = nodes;
        all_nodes.extend(failed);
        let cluster = Cluster::new(all_nodes, pods);
        let all = cluster.views();
        let feasible = &all[..feasible_count];
        let state = pre_score(pod, feasible, &all, &SpreadArgs::default(), default_selector)
            .expect("valid constraints")
            .expect("PreScore not skipped");
        let mut scores: Vec<i64> = feasible.iter().map(|np| score(pod, &state, np)).collect();
        normalize(&state, feasible, &mut scores);
        feasible.iter().zip(scores).map(|(np, s)| (node_name(np.node).to_string(), s)).collect()
    }

    fn check_scores(
        name: &str,
        pod: Pod,
        nodes: Vec<Node>,
        failed: Vec<Node>,
        pods: Vec<Pod>,
        want: &[(&str, i64)],
    ) {
        let got = run_scores(&pod, nodes, failed, &pods, None);
        let want: Vec<(String, i64)> = want.iter().map(|(n, s)| (n.to_string(), *s)).collect();
        assert_eq!(got, want, "{name}");
    }

    #[test]
    fn pod_topology_spread_score() {
        // TestPodTopologySpreadScore
        let host = |max_skew: i32, selector: Option<K8sLabelSelector>| {
            mk_pod("p").label("foo", "").spread(max_skew, LABEL_HOSTNAME, SA, selector).obj()
        };
        let abcd = || vec![hn("node-a"), hn("node-b"), hn("node-c"), hn("node-d")];
        let spread_2103 = || {
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-b1", "node-b"),
                ("p-d1", "node-d"),
                ("p-d2", "node-d"),
                ("p-d3", "node-d"),
            ])
        };
        let spread_4321 = || {
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-a3", "node-a"),
                ("p-a4", "node-a"),
                ("p-b1", "node-b"),
                ("p-b2", "node-b"),
                ("p-b3", "node-b"),
                ("p-c1", "node-c"),
                ("p-c2", "node-c"),
                ("p-d1", "node-d"),
            ])
        };
        let spread_4213 = || {
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-a3", "node-a"),
                ("p-a4", "node-a"),
                ("p-b1", "node-b"),
                ("p-b2", "node-b"),
                ("p-x1", "node-x"),
                ("p-y1", "node-y"),
                ("p-y2", "node-y"),
                ("p-y3", "node-y"),
            ])
        };

        check_scores(
            "one constraint on node, no existing pods",
            host(1, foo()),
            vec![hn("node-a"), hn("node-b")],
            vec![],
            vec![],
            &[("node-a", 100), ("node-b", 100)],
        );
        check_scores(
            "one constraint on node, only one node is candidate",
            host(1, foo()),
            vec![hn("node-a")],
            vec![hn("node-b")],
            foo_pods(&[("p-a1", "node-a"), ("p-a2", "node-a"), ("p-b1", "node-b")]),
            &[("node-a", 100)],
        );
        check_scores(
            "one constraint on node, all nodes have the same number of matching pods",
            host(1, foo()),
            vec![hn("node-a"), hn("node-b")],
            vec![],
            foo_pods(&[("p-a1", "node-a"), ("p-b1", "node-b")]),
            &[("node-a", 100), ("node-b", 100)],
        );
        check_scores(
            "one constraint on node, all 4 nodes are candidates",
            host(1, foo()),
            abcd(),
            vec![],
            spread_2103(),
            &[("node-a", 20), ("node-b", 60), ("node-c", 100), ("node-d", 0)],
        );
        check_scores(
            "one constraint on node, null selector",
            host(1, None),
            abcd(),
            vec![],
            spread_2103(),
            &[("node-a", 100), ("node-b", 100), ("node-c", 100), ("node-d", 100)],
        );
        check_scores(
            "one constraint on node, all 4 nodes are candidates, maxSkew=2",
            host(2, foo()),
            abcd(),
            vec![],
            spread_2103(),
            &[("node-a", 33), ("node-b", 66), ("node-c", 100), ("node-d", 16)],
        );
        check_scores(
            "one constraint on node, all 4 nodes are candidates, maxSkew=3",
            host(3, foo()),
            abcd(),
            vec![],
            spread_4321(),
            &[("node-a", 44), ("node-b", 66), ("node-c", 77), ("node-d", 100)],
        );
        // A Service selecting foo="" owns the pod: the system default constraints apply.
        let service = LabelSelector { requirements: vec![eq("foo", "")] };
        let got =
            run_scores(&mk_pod("p").label("foo", "").obj(), abcd(), vec![], &spread_4321(), Some(&service));
        let want: Vec<(String, i64)> = [("node-a", 44), ("node-b", 66), ("node-c", 77), ("node-d", 100)]
            .iter()
            .map(|(n, s)| (n.to_string(), *s))
            .collect();
        assert_eq!(got, want, "system defaulting, nodes don't have zone, pods match service");
        check_scores(
            "one constraint on node, 3 out of 4 nodes are candidates",
            host(1, foo()),
            vec![hn("node-a"), hn("node-b"), hn("node-x")],
            vec![hn("node-y")],
            spread_4213(),
            &[("node-a", 33), ("node-b", 83), ("node-x", 100)],
        );
        check_scores(
            "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key",
            host(1, foo()),
            vec![hn("node-a"), mk_node("node-b", &[("n", "node-b")]), hn("node-x")],
            vec![hn("node-y")],
            spread_4213(),
            &[("node-a", 16), ("node-b", 0), ("node-x", 100)],
        );
        check_scores(
            "one constraint on zone, 3 out of 4 nodes are candidates",
            mk_pod("p").label("foo", "").spread(1, "zone", SA, foo()).obj(),
            vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hz("node-x", "zone2")],
            vec![hz("node-y", "zone2")],
            spread_4213(),
            &[("node-a", 75), ("node-b", 75), ("node-x", 100)],
        );

        let zone_host = |zone_sel: Option<K8sLabelSelector>, host_sel: Option<K8sLabelSelector>| {
            mk_pod("p")
                .label("foo", "")
                .label("bar", "")
                .spread(1, "zone", SA, zone_sel)
                .spread(1, LABEL_HOSTNAME, SA, host_sel)
                .obj()
        };
        check_scores(
            "two Constraints on zone and node, 2 out of 4 nodes are candidates",
            zone_host(foo(), foo()),
            vec![hz("node-a", "zone1"), hz("node-x", "zone2")],
            vec![hz("node-b", "zone1"), hz("node-y", "zone2")],
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-b1", "node-b"),
                ("p-x1", "node-x"),
                ("p-x2", "node-x"),
                ("p-y1", "node-y"),
                ("p-y2", "node-y"),
                ("p-y3", "node-y"),
                ("p-y4", "node-y"),
            ]),
            &[("node-a", 100), ("node-x", 63)],
        );
        let zone_only = |name: &str, zone: &str| mk_node(name, &[("zone", zone)]);
        check_scores(
            "two Constraints on zone, 2 out of 4 nodes are candidates",
            mk_pod("p")
                .label("foo", "")
                .label("bar", "")
                .spread(1, "zone", SA, foo())
                .spread(1, "zone", SA, bar())
                .obj(),
            vec![zone_only("node-a", "zone1"), zone_only("node-x", "zone2")],
            vec![zone_only("node-b", "zone1"), zone_only("node-y", "zone2")],
            vec![
                ep("p-a1", "node-a", &["foo", "bar"]),
                ep("p-a2", "node-a", &["foo"]),
                ep("p-b1", "node-b", &["foo", "bar"]),
                ep("p-y1", "node-y", &["foo"]),
                ep("p-y2", "node-y", &["foo", "bar"]),
                ep("p-y3", "node-y", &["foo"]),
            ],
            &[("node-a", 85), ("node-x", 100)],
        );
        let abxy_zoned = || {
            vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hz("node-x", "zone2"), hz("node-y", "zone2")]
        };
        let mixed = || {
            vec![
                ep("p-a1", "node-a", &["foo"]),
                ep("p-b1", "node-b", &["foo", "bar"]),
                ep("p-y1", "node-y", &["foo"]),
                ep("p-y2", "node-y", &["bar"]),
            ]
        };
        check_scores(
            "two Constraints on zone and node, with different labelSelectors",
            zone_host(foo(), bar()),
            abxy_zoned(),
            vec![],
            mixed(),
            &[("node-a", 60), ("node-b", 20), ("node-x", 100), ("node-y", 60)],
        );
        check_scores(
            "two Constraints on zone and node, with different labelSelectors, some nodes have 0 pods",
            zone_host(foo(), bar()),
            abxy_zoned(),
            vec![],
            vec![
                ep("p-b1", "node-b", &["bar"]),
                ep("p-x1", "node-x", &["foo"]),
                ep("p-y1", "node-y", &["foo", "bar"]),
            ],
            &[("node-a", 100), ("node-b", 60), ("node-x", 40), ("node-y", 0)],
        );
        check_scores(
            "two Constraints on zone and node, with different labelSelectors, 3 out of 4 nodes are candidates",
            zone_host(foo(), bar()),
            vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hz("node-x", "zone2")],
            vec![hz("node-y", "zone2")],
            mixed(),
            &[("node-a", 50), ("node-b", 25), ("node-x", 100)],
        );
        check_scores(
            "existing pods in a different namespace do not count",
            host(1, foo()),
            vec![hn("node-a"), hn("node-b")],
            vec![],
            vec![
                mk_pod("p-a1").ns("ns1").node("node-a").label("foo", "").obj(),
                ep("p-a2", "node-a", &["foo"]),
                ep("p-b1", "node-b", &["foo"]),
                ep("p-b2", "node-b", &["foo"]),
            ],
            &[("node-a", 100), ("node-b", 33)],
        );
        check_scores(
            "terminating Pods should be excluded",
            host(1, foo()),
            vec![hn("node-a"), hn("node-b")],
            vec![],
            vec![
                mk_pod("p-a").node("node-a").label("foo", "").terminating().obj(),
                ep("p-b", "node-b", &["foo"]),
            ],
            &[("node-a", 100), ("node-b", 0)],
        );

        let abc = || {
            vec![
                mk_node("node-a", &[("node", "node-a")]),
                mk_node("node-b", &[("node", "node-b")]),
                mk_node("node-c", &[("node", "node-c")]),
            ]
        };
        check_scores(
            "minDomains has no effect when ScheduleAnyway",
            mk_pod("p").label("foo", "").spread(2, "node", SA, foo()).min_domains(10).obj(),
            abc(),
            vec![],
            foo_pods(&[
                ("p-a1", "node-a"),
                ("p-a2", "node-a"),
                ("p-b1", "node-b"),
                ("p-b2", "node-b"),
                ("p-c1", "node-c"),
            ]),
            &[("node-a", 75), ("node-b", 75), ("node-c", 100)],
        );

        // Node inclusion policies: matching pods 2/1/1, node-c lacks foo (or is tainted).
        let foo_ab = || {
            vec![
                mk_node("node-a", &[("node", "node-a"), ("foo", "")]),
                mk_node("node-b", &[("node", "node-b"), ("foo", "")]),
                mk_node("node-c", &[("node", "node-c")]),
            ]
        };
        let spread_211 =
            || foo_pods(&[("p-a1", "node-a"), ("p-a2", "node-a"), ("p-b1", "node-b"), ("p-c1", "node-c")]);
        let honored = [("node-a", 0), ("node-b", 33), ("node-c", 100)];
        let ignored = [("node-a", 66), ("node-b", 100), ("node-c", 100)];
        check_scores(
            "NodeAffinityPolicy honoed with labelSelectors",
            mk_pod("p").label("foo", "").node_selector("foo", "").spread(1, "node", SA, foo()).obj(),
            foo_ab(),
            vec![],
            spread_211(),
            &honored,
        );
        check_scores(
            "NodeAffinityPolicy ignored with labelSelectors",
            mk_pod("p")
                .label("foo", "")
                .node_selector("foo", "")
                .spread(1, "node", SA, foo())
                .affinity_policy("Ignore")
                .obj(),
            foo_ab(),
            vec![],
            spread_211(),
            &ignored,
        );
        check_scores(
            "NodeAffinityPolicy honoed with nodeAffinity",
            mk_pod("p").label("foo", "").node_affinity("foo", "In", &[""]).spread(1, "node", SA, foo()).obj(),
            foo_ab(),
            vec![],
            spread_211(),
            &honored,
        );
        check_scores(
            "NodeAffinityPolicy ignored with nodeAffinity",
            mk_pod("p")
                .label("foo", "")
                .node_affinity("foo", "In", &[""])
                .spread(1, "node", SA, foo())
                .affinity_policy("Ignore")
                .obj(),
            foo_ab(),
            vec![],
            spread_211(),
            &ignored,
        );
        let taint_c = || {
            vec![
                mk_node("node-a", &[("node", "node-a")]),
                mk_node("node-b", &[("node", "node-b")]),
                tainted(mk_node("node-c", &[("node", "node-c")])),
            ]
        };
        check_scores(
            "NodeTaintsPolicy honored",
            mk_pod("p").label("foo", "").spread(1, "node", SA, foo()).taints_policy("Honor").obj(),
            taint_c(),
            vec![],
            spread_211(),
            &honored,
        );
        check_scores(
            "NodeTaintsPolicy ignored",
            mk_pod("p").label("foo", "").spread(1, "node", SA, foo()).obj(),
            taint_c(),
            vec![],
            spread_211(),
            &ignored,
        );

        let abcd_zoned = || {
            vec![hz("node-a", "zone1"), hz("node-b", "zone1"), hz("node-c", "zone2"), hz("node-d", "zone2")]
        };
        check_scores(
            "matchLabelKeys ANDed with LabelSelector when LabelSelector is empty",
            mk_pod("p")
                .label("foo", "")
                .label("bar", "")
                .spread(1, "zone", SA, Some(K8sLabelSelector::default()))
                .match_label_keys(&["foo"])
                .spread(1, LABEL_HOSTNAME, SA, Some(K8sLabelSelector::default()))
                .match_label_keys(&["bar"])
                .obj(),
            abcd_zoned(),
            vec![],
            vec![
                ep("p-a1", "node-a", &["foo"]),
                ep("p-b1", "node-b", &["foo", "bar"]),
                ep("p-y1", "node-c", &["foo"]),
                ep("p-y2", "node-c", &["bar"]),
            ],
            &[("node-a", 60), ("node-b", 20), ("node-c", 60), ("node-d", 100)],
        );
        check_scores(
            "matchLabelKeys ANDed with LabelSelector when LabelSelector isn't empty",
            mk_pod("p")
                .label("foo", "")
                .label("bar", "")
                .label("baz", "")
                .spread(1, "zone", SA, foo())
                .spread(1, LABEL_HOSTNAME, SA, bar())
                .match_label_keys(&["baz"])
                .obj(),
            abcd_zoned(),
            vec![],
            vec![
                ep("p-a1", "node-a", &["foo"]),
                ep("p-b1", "node-b", &["foo", "bar", "baz"]),
                ep("p-c1", "node-c", &["foo"]),
                ep("p-c2", "node-c", &["bar"]),
                ep("p-d3", "node-c", &["bar", "baz"]),
            ],
            &[("node-a", 60), ("node-b", 20), ("node-c", 60), ("node-d", 100)],
        );
    }
}
