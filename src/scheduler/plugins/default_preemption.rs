//! The DefaultPreemption PostFilter plugin, after upstream kube-scheduler v1.32–v1.34, as pure
//! functions:
//!
//! - `pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go`:
//!   `PostFilter` (the `preemption: ` prefix), `calculateNumCandidates`,
//!   `GetOffsetAndNumCandidates`, `SelectVictimsOnNode`, `PodEligibleToPreemptOthers`,
//!   `podTerminatingByPreemption`, `filterPodsWithPDBViolation`;
//! - the generic parts of `pkg/scheduler/framework/preemption/preemption.go` (the `Evaluator`):
//!   `Preempt`, `findCandidates`, `DryRunPreemption`, `SelectCandidate`,
//!   `pickOneNodeForPreemption`, `getLowerPriorityNominatedPods`, and the texts of
//!   `prepareCandidate` / `PreemptPod` (DisruptionTarget condition, `Preempted` event);
//! - `pkg/scheduler/util/utils.go`: `MoreImportantPod`, `GetPodStartTime`,
//!   `GetEarliestPodStartTime`;
//! - `pkg/scheduler/apis/config/validation/validation_pluginargs.go`:
//!   `ValidateDefaultPreemptionArgs`, and the v1 defaults (10 %, 100 nodes);
//! - `pkg/scheduler/framework/types.go`: `FitError.Error()`, the message after `preemption: `.
//!
//! What the caller (the framework) provides through callbacks: re-running its filter plugins
//! on a node with some pods taken off (`fits`), and the pods on a node. Everything else is
//! computed here, with no framework types.
//!
//! Simplifications, each deterministic where upstream is not:
//! - `DryRunPreemption` checks the nodes one after another (upstream: in parallel, cancelling
//!   once enough candidates are found), i.e. exactly upstream with parallelism 1.
//! - "Now" (the start time of a pod that has not started, `GetPodStartTime`) is a parameter,
//!   the simulated clock, instead of `time.Now()` read at every comparison.
//! - Sorts are stable (upstream `sort.Slice` is not): pods of equal importance keep their order
//!   on the node.
//! - `pickOneNodeForPreemption` ranges over a Go map (random order); here over the candidates
//!   in the order given, so a full tie picks the first candidate.
//! - A candidate with no victims wins at once in `pick_one_node_for_preemption`, as upstream
//!   before v1.27; in v1.32–v1.34 such a candidate cannot reach it (`DryRunPreemption` turns it
//!   into an error) and upstream would index `Pods[0]` of an empty list.
//! - Not modelled: extenders (`callExtenders` returns the candidates unchanged), custom
//!   `IsEligiblePod` / `MoreImportantPod` hooks, pod groups / workload-aware preemption, errors
//!   from PreFilter extensions (`RemovePod`/`AddPod`), the asynchronous API calls themselves.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use rand::Rng;

use crate::api::pod as podutil;
use crate::api::validation::FieldError;
use crate::api::LabelSelector;

/// The plugin's name in the scheduler profile (`names.DefaultPreemption`).
pub const NAME: &str = "DefaultPreemption";

/// Prefix `PostFilter` puts before every non-empty message of the evaluator.
pub const MESSAGE_PREFIX: &str = "preemption: ";

/// `SelectVictimsOnNode` status (UnschedulableAndUnresolvable) when the node has no pod of lower
/// priority than the preemptor.
pub const NO_VICTIMS_REASON: &str = "No preemption victims found for incoming pod";

/// Status `Preempt` gives the nodes that were not dry-run (UnschedulableAndUnresolvable).
pub const NOT_HELPFUL_REASON: &str = "Preemption is not helpful for scheduling";

/// `PodEligibleToPreemptOthers` for a pod with `preemptionPolicy: Never`.
pub const NOT_ELIGIBLE_PREEMPT_NEVER: &str = "not eligible due to preemptionPolicy=Never.";

/// `PodEligibleToPreemptOthers` while an earlier victim is still terminating on the nominated node.
pub const NOT_ELIGIBLE_TERMINATING_VICTIM: &str =
    "not eligible due to a terminating pod on the nominated node.";

/// `v1.PodReasonPreemptionByScheduler`, the reason of the victims' DisruptionTarget condition.
pub const PREEMPTION_BY_SCHEDULER: &str = "PreemptionByScheduler";

/// Reason and action of the event recorded on each victim (`Eventf(victim, preemptor, Normal,
/// "Preempted", "Preempting", ...)`).
pub const PREEMPTED_EVENT_REASON: &str = "Preempted";
pub const PREEMPTED_EVENT_ACTION: &str = "Preempting";

/// `framework.NoNodeAvailableMsg`.
const NO_NODE_AVAILABLE_MSG: &str = "nodes are available";

const ARGS_KIND: &str = "DefaultPreemptionArgs";
const ARGS_GROUP: &str = "kubescheduler.config.k8s.io";

// ---------------------------------------------------------------------------------------------
// Args
// ---------------------------------------------------------------------------------------------

/// `DefaultPreemptionArgs` (kubescheduler.config.k8s.io/v1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreemptionArgs {
    /// Minimum number of candidates to shortlist for dry-running, as a percentage of the nodes
    /// where preemption might help (0..=100, default 10).
    pub min_candidate_nodes_percentage: i32,
    /// Minimum absolute number of candidates (>= 0, default 100).
    pub min_candidate_nodes_absolute: i32,
}

impl Default for PreemptionArgs {
    /// `SetDefaults_DefaultPreemptionArgs`.
    fn default() -> Self {
        PreemptionArgs { min_candidate_nodes_percentage: 10, min_candidate_nodes_absolute: 100 }
    }
}

impl PreemptionArgs {
    /// Parses the `pluginConfig[].args` object (camelCase, as in the KubeSchedulerConfiguration
    /// file): absent or `null` fields take the v1 defaults, unknown fields are rejected by name
    /// (strict decoding), `apiVersion`/`kind` may be present, then the result is validated as
    /// `ValidateDefaultPreemptionArgs(nil, args)` does when the plugin is built.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        let ctx = format!("decoding args for plugin {NAME}");
        let mut args = PreemptionArgs::default();
        let map = match value {
            serde_json::Value::Null => return Ok(args),
            serde_json::Value::Object(map) => map,
            other => {
                return Err(format!(
                    "{ctx}: json: cannot unmarshal {} into Go value of type v1.{ARGS_KIND}",
                    json_type(other)
                ))
            }
        };
        let mut unknown = Vec::new();
        for (key, v) in map {
            match key.as_str() {
                "minCandidateNodesPercentage" => {
                    if !v.is_null() {
                        args.min_candidate_nodes_percentage =
                            json_int32(key, v).map_err(|e| format!("{ctx}: {e}"))?;
                    }
                }
                "minCandidateNodesAbsolute" => {
                    if !v.is_null() {
                        args.min_candidate_nodes_absolute =
                            json_int32(key, v).map_err(|e| format!("{ctx}: {e}"))?;
                    }
                }
                "apiVersion" | "kind" => {}
                _ => unknown.push(key.clone()),
            }
        }
        let kind = map.get("kind").and_then(|k| k.as_str()).filter(|k| !k.is_empty());
        let api_version = map.get("apiVersion").and_then(|k| k.as_str()).unwrap_or("");
        if let Some(kind) = kind {
            let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
            if kind != ARGS_KIND || (!api_version.is_empty() && group != ARGS_GROUP) {
                return Err(format!(
                    "args for plugin {NAME} were not of type {ARGS_KIND}.{ARGS_GROUP}, got {kind}.{group}"
                ));
            }
        }
        if !unknown.is_empty() {
            let fields: Vec<String> = unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
            return Err(format!("{ctx}: strict decoding error: {}", fields.join(", ")));
        }
        let errs = args.validate(None);
        if !errs.is_empty() {
            return Err(aggregate_message(errs.iter().map(|e| e.to_string())));
        }
        Ok(args)
    }

    /// `ValidateDefaultPreemptionArgs(path, args)`: field errors with upstream's field paths and
    /// messages. `path` is the parent path (e.g. `profiles[0].pluginConfig[1].args`, as the
    /// configuration validation passes it); `None` as when the plugin is built (`New`).
    pub fn validate(&self, path: Option<&str>) -> Vec<FieldError> {
        let child = |name: &str| match path {
            Some(p) if !p.is_empty() => format!("{p}.{name}"),
            _ => name.to_string(),
        };
        let percentage_path = child("minCandidateNodesPercentage");
        let absolute_path = child("minCandidateNodesAbsolute");
        let invalid = |field: &str, value: i32, detail: &str| FieldError {
            field: field.to_string(),
            message: format!("Invalid value: {value}: {detail}"),
        };
        let mut errs = Vec::new();
        let pct = self.min_candidate_nodes_percentage;
        let abs = self.min_candidate_nodes_absolute;
        if !(0..=100).contains(&pct) {
            errs.push(invalid(&percentage_path, pct, "not in valid range [0, 100]"));
        }
        if abs < 0 {
            errs.push(invalid(&absolute_path, abs, "not in valid range [0, inf)"));
        }
        if pct == 0 && abs == 0 {
            errs.push(invalid(
                &percentage_path,
                pct,
                "cannot be zero at the same time as minCandidateNodesAbsolute",
            ));
            errs.push(invalid(
                &absolute_path,
                abs,
                "cannot be zero at the same time as minCandidateNodesPercentage",
            ));
        }
        errs
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// An int32 field as Go's JSON decoder reads it (integers only, in range).
fn json_int32(field: &str, v: &serde_json::Value) -> Result<i32, String> {
    let go_field = format!("Go struct field {ARGS_KIND}.{field} of type int32");
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| format!("json: cannot unmarshal number {n} into {go_field}")),
        other => Err(format!("json: cannot unmarshal {} into {go_field}", json_type(other))),
    }
}

/// `utilerrors.NewAggregate(errs).Error()`: one message alone, several deduplicated, joined by
/// `, ` and bracketed.
pub fn aggregate_message(messages: impl IntoIterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for m in messages {
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------
// Pod helpers (pkg/scheduler/util, component-helpers)
// ---------------------------------------------------------------------------------------------

/// `corev1helpers.PodPriority`: `spec.priority`, 0 when unset.
pub fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// `util.GetPodStartTime`: `status.startTime`, or `now` for a pod that has not started yet
/// (assumed and bound pods that have no start time).
pub fn pod_start_time(pod: &Pod, now: &Time) -> Time {
    pod.status.as_ref().and_then(|s| s.start_time.clone()).unwrap_or_else(|| now.clone())
}

/// `util.MoreImportantPod`: higher priority first; at equal priority the pod that started
/// earlier (has run longer) is more important.
pub fn more_important_pod(a: &Pod, b: &Pod, now: &Time) -> bool {
    let (p1, p2) = (pod_priority(a), pod_priority(b));
    if p1 != p2 {
        return p1 > p2;
    }
    pod_start_time(a, now).0 < pod_start_time(b, now).0
}

/// Ordering for sorting by descending importance (`sort.Slice(.., MoreImportantPod)`).
fn importance_order(a: &Pod, b: &Pod, now: &Time) -> Ordering {
    if more_important_pod(a, b, now) {
        Ordering::Less
    } else if more_important_pod(b, a, now) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// `util.GetEarliestPodStartTime`: the earliest start time among the victims that have the
/// highest priority. `None` for no victims.
pub fn earliest_pod_start_time(victims: &[Arc<Pod>], now: &Time) -> Option<Time> {
    let first = victims.first()?;
    let mut earliest = pod_start_time(first, now);
    let mut max_priority = pod_priority(first);
    for pod in victims {
        let priority = pod_priority(pod);
        if priority == max_priority {
            let start = pod_start_time(pod, now);
            if start.0 < earliest.0 {
                earliest = start;
            }
        } else if priority > max_priority {
            max_priority = priority;
            earliest = pod_start_time(pod, now);
        }
    }
    Some(earliest)
}

/// `podTerminatingByPreemption`: the pod is being deleted and its (first) DisruptionTarget
/// condition is `True` with reason `PreemptionByScheduler`.
pub fn pod_terminating_by_preemption(pod: &Pod) -> bool {
    if pod.metadata.deletion_timestamp.is_none() {
        return false;
    }
    match podutil::pod_condition(pod, "DisruptionTarget") {
        Some(c) => c.status == "True" && c.reason.as_deref() == Some(PREEMPTION_BY_SCHEDULER),
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Eligibility and candidate counts
// ---------------------------------------------------------------------------------------------

/// `PodEligibleToPreemptOthers`. `nominated_node_unresolvable` is whether the filter status of
/// the pod's nominated node is UnschedulableAndUnresolvable (note: upstream reads it with
/// `NodeToStatus.Get`, which gives a node absent from the map the absent-nodes status,
/// UnschedulableAndUnresolvable by default). `nominated_node_pods` are the pods on the nominated
/// node in the snapshot, `None` when the node is not in the snapshot. Err is the message
/// (without the `preemption: ` prefix).
pub fn pod_eligible_to_preempt_others(
    pod: &Pod,
    nominated_node_pods: Option<&[Arc<Pod>]>,
    nominated_node_unresolvable: bool,
) -> Result<(), String> {
    if pod.spec.as_ref().and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
        return Err(NOT_ELIGIBLE_PREEMPT_NEVER.to_string());
    }
    let nominated = pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).unwrap_or("");
    if !nominated.is_empty() {
        // If the pod's nominated node is considered as UnschedulableAndUnresolvable by the
        // filters, then the pod should be considered for preempting again.
        if nominated_node_unresolvable {
            return Ok(());
        }
        if let Some(pods) = nominated_node_pods {
            let priority = pod_priority(pod);
            if pods.iter().any(|p| pod_priority(p) < priority && pod_terminating_by_preemption(p)) {
                return Err(NOT_ELIGIBLE_TERMINATING_VICTIM.to_string());
            }
        }
    }
    Ok(())
}

/// `calculateNumCandidates`: `max(numNodes × percentage / 100, absolute)`, at most `numNodes`.
pub fn calculate_num_candidates(num_nodes: usize, args: &PreemptionArgs) -> usize {
    let nodes = i64::try_from(num_nodes).unwrap_or(i64::MAX);
    let mut n = nodes.saturating_mul(i64::from(args.min_candidate_nodes_percentage)) / 100;
    if n < i64::from(args.min_candidate_nodes_absolute) {
        n = i64::from(args.min_candidate_nodes_absolute);
    }
    if n > nodes {
        n = nodes;
    }
    usize::try_from(n.max(0)).unwrap_or(0)
}

/// `GetOffsetAndNumCandidates`: a random offset in `0..num_nodes` (`rand.Int31n(numNodes)`) and
/// the number of candidates to shortlist. `(0, 0)` for no nodes (upstream never calls it then).
pub fn offset_and_num_candidates<R: Rng + ?Sized>(
    num_nodes: usize,
    args: &PreemptionArgs,
    random: &mut R,
) -> (usize, usize) {
    if num_nodes == 0 {
        return (0, 0);
    }
    (random.gen_range(0..num_nodes), calculate_num_candidates(num_nodes, args))
}

// ---------------------------------------------------------------------------------------------
// Victims
// ---------------------------------------------------------------------------------------------

/// `extenderv1.Victims`: the pods to preempt on a node, most important first, and how many of
/// them violate a PodDisruptionBudget.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Victims {
    pub pods: Vec<Arc<Pod>>,
    pub num_pdb_violations: i64,
}

/// A node on which the preemptor can be scheduled once `victims` are gone.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub node: String,
    pub victims: Victims,
}

/// What re-running the filter plugins for the preemptor answers: Ok, or the reasons of the
/// rejecting status (`Status.Reasons()`, e.g. `["Insufficient cpu"]`).
pub type FilterResult = Result<(), Vec<String>>;

/// `fits(removed)`: the filters on one node with the pods in `removed` taken off it.
pub type Fits<'a> = dyn FnMut(&[Arc<Pod>]) -> FilterResult + 'a;

/// `fits(node, removed)`: the filters on `node` with the pods in `removed` taken off it.
pub type NodeFits<'a> = dyn FnMut(&str, &[Arc<Pod>]) -> FilterResult + 'a;

/// Why `SelectVictimsOnNode` found no way to make room on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeFailure {
    /// No pod of lower priority than the preemptor on the node (UnschedulableAndUnresolvable,
    /// [`NO_VICTIMS_REASON`]).
    NoVictims,
    /// The preemptor does not pass the filters even with every lower-priority pod removed: the
    /// reasons of the rejecting filter status, as the `fits` callback returned them.
    Unfit(Vec<String>),
}

impl NodeFailure {
    /// The status reasons, as `FitError` counts them.
    pub fn reasons(&self) -> Vec<String> {
        match self {
            NodeFailure::NoVictims => vec![NO_VICTIMS_REASON.to_string()],
            NodeFailure::Unfit(reasons) => reasons.clone(),
        }
    }
}

/// `filterPodsWithPDBViolation`: splits `pods` (order kept) into those whose eviction would
/// violate a PodDisruptionBudget and the others. Each PDB in the pod's namespace whose selector
/// matches the pod's labels (a nil or empty selector matches nothing, an invalid one is skipped,
/// a pod without labels matches none) has its `status.disruptionsAllowed` decremented, unless
/// the pod is already in its `status.disruptedPods`; the pod violates when any count goes
/// negative.
pub fn filter_pods_with_pdb_violation(
    pods: &[Arc<Pod>],
    pdbs: &[PodDisruptionBudget],
) -> (Vec<Arc<Pod>>, Vec<Arc<Pod>>) {
    let refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
    let flags = pdb_violations(&refs, pdbs);
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for (pod, violates) in pods.iter().zip(flags) {
        if violates {
            violating.push(pod.clone());
        } else {
            non_violating.push(pod.clone());
        }
    }
    (violating, non_violating)
}

/// For each pod in order, whether evicting it (after the pods before it) violates a PDB.
fn pdb_violations(pods: &[&Pod], pdbs: &[PodDisruptionBudget]) -> Vec<bool> {
    let mut allowed: Vec<i32> =
        pdbs.iter().map(|pdb| pdb.status.as_ref().map_or(0, |s| s.disruptions_allowed)).collect();
    let selectors: Vec<Option<LabelSelector>> = pdbs
        .iter()
        .map(|pdb| {
            // A nil selector (LabelSelectorAsSelector → Nothing) and an invalid one match nothing.
            let sel = pdb.spec.as_ref()?.selector.as_ref()?;
            LabelSelector::from_k8s(sel).ok()
        })
        .collect();
    let mut out = Vec::with_capacity(pods.len());
    for pod in pods {
        let mut violated = false;
        let labels = pod.metadata.labels.as_ref().filter(|l| !l.is_empty());
        // A pod with no labels will not match any PDB.
        if let Some(labels) = labels {
            let namespace = pod.metadata.namespace.as_deref().unwrap_or("");
            let name = pod.metadata.name.as_deref().unwrap_or("");
            for (i, pdb) in pdbs.iter().enumerate() {
                if pdb.metadata.namespace.as_deref().unwrap_or("") != namespace {
                    continue;
                }
                // A PDB with a nil or empty selector matches nothing.
                let Some(selector) = &selectors[i] else { continue };
                if selector.is_empty() || !selector.matches(Some(labels)) {
                    continue;
                }
                // Existing in DisruptedPods means it has been processed in API server; only
                // decrement the budget when the pod is not there.
                let disrupted = pdb
                    .status
                    .as_ref()
                    .and_then(|s| s.disrupted_pods.as_ref())
                    .is_some_and(|d| d.contains_key(name));
                if disrupted {
                    continue;
                }
                allowed[i] = allowed[i].wrapping_sub(1);
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        out.push(violated);
    }
    out
}

/// `SelectVictimsOnNode`: the fewest pods to evict from a node so that the preemptor fits.
///
/// `node_pods` are the pods on the node (bound or assumed). `fits(removed)` re-runs the
/// caller's filter plugins for the preemptor on this node with the pods in `removed` taken off
/// it (upstream `RunFilterPluginsWithNominatedPods` after `RemovePod` + PreFilter extensions);
/// Err carries the reasons of the rejecting status. `removed` lists pods in their `node_pods`
/// order.
///
/// First every pod of lower priority than the preemptor is removed; if the preemptor still does
/// not fit, the node fails with the filter's reasons. Then the removed pods are reprieved one by
/// one — first those whose eviction would violate a PDB, then the others, each group most
/// important first — keeping each one that can come back while the preemptor still fits. The
/// rest are the victims, most important first.
pub fn select_victims_on_node(
    preemptor: &Pod,
    node_pods: &[Arc<Pod>],
    pdbs: &[PodDisruptionBudget],
    now: &Time,
    fits: &mut Fits<'_>,
) -> Result<Victims, NodeFailure> {
    let priority = pod_priority(preemptor);
    let mut potential: Vec<usize> =
        (0..node_pods.len()).filter(|&i| pod_priority(&node_pods[i]) < priority).collect();
    // No potential victims: the node's state would not change, no need to evaluate it again.
    if potential.is_empty() {
        return Err(NodeFailure::NoVictims);
    }
    let mut removed = vec![false; node_pods.len()];
    for &i in &potential {
        removed[i] = true;
    }
    let removed_pods = |removed: &[bool]| -> Vec<Arc<Pod>> {
        node_pods.iter().zip(removed).filter(|(_, &r)| r).map(|(p, _)| p.clone()).collect()
    };
    // If the preemptor does not fit with all of them gone, this node is not suitable (inter-pod
    // affinity to a victim is deliberately not considered, as upstream).
    fits(&removed_pods(&removed)).map_err(NodeFailure::Unfit)?;

    // Descending importance, so that the most important pods are reprieved first.
    potential.sort_by(|&a, &b| importance_order(&node_pods[a], &node_pods[b], now));
    let ordered: Vec<&Pod> = potential.iter().map(|&i| node_pods[i].as_ref()).collect();
    let flags = pdb_violations(&ordered, pdbs);
    let violating: Vec<usize> = potential.iter().zip(&flags).filter(|(_, &v)| v).map(|(&i, _)| i).collect();
    let non_violating: Vec<usize> =
        potential.iter().zip(&flags).filter(|(_, &v)| !v).map(|(&i, _)| i).collect();

    let mut victims: Vec<usize> = Vec::new();
    let mut num_violating: i64 = 0;
    let mut reprieve = |i: usize, removed: &mut Vec<bool>, victims: &mut Vec<usize>| -> bool {
        removed[i] = false;
        let fit = fits(&removed_pods(&removed[..])).is_ok();
        if !fit {
            removed[i] = true;
            victims.push(i);
        }
        fit
    };
    for &i in &violating {
        if !reprieve(i, &mut removed, &mut victims) {
            num_violating += 1;
        }
    }
    for &i in &non_violating {
        reprieve(i, &mut removed, &mut victims);
    }
    // Keep the victims sorted by importance after reprieving from two groups.
    if !violating.is_empty() && !non_violating.is_empty() {
        victims.sort_by(|&a, &b| importance_order(&node_pods[a], &node_pods[b], now));
    }
    Ok(Victims {
        pods: victims.into_iter().map(|i| node_pods[i].clone()).collect(),
        num_pdb_violations: num_violating,
    })
}

// ---------------------------------------------------------------------------------------------
// Dry run and selection (Evaluator)
// ---------------------------------------------------------------------------------------------

/// The status `DryRunPreemption` records for a node that did not become a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// `SelectVictimsOnNode` failed (Unschedulable / UnschedulableAndUnresolvable).
    Failed(NodeFailure),
    /// An Error status, e.g. `expected at least one victim pod on node "n"` when the preemptor
    /// fits without evicting anything.
    Error(String),
}

impl NodeStatus {
    pub fn reasons(&self) -> Vec<String> {
        match self {
            NodeStatus::Failed(f) => f.reasons(),
            NodeStatus::Error(e) => vec![e.clone()],
        }
    }
}

/// What `DryRunPreemption` returns: the candidates (those violating no PDB first), the statuses
/// of the nodes checked that did not become candidates, and the Error statuses' messages in the
/// order the nodes were checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DryRun {
    pub candidates: Vec<Candidate>,
    pub node_statuses: BTreeMap<String, NodeStatus>,
    pub errors: Vec<String>,
}

/// `DryRunPreemption`: checks `potential_nodes` starting at `offset` (wrapping around), asking
/// `select_victims(node)` for each (normally [`select_victims_on_node`]), and stops once there
/// is at least one candidate violating no PDB and `num_candidates` candidates in all. Each of
/// the two candidate lists holds at most `num_candidates` (later ones are dropped), so the
/// result may exceed `num_candidates` when a non-violating candidate is found late.
pub fn dry_run_preemption(
    potential_nodes: &[String],
    offset: usize,
    num_candidates: usize,
    select_victims: &mut dyn FnMut(&str) -> Result<Victims, NodeFailure>,
) -> DryRun {
    let mut non_violating: Vec<Candidate> = Vec::new();
    let mut violating: Vec<Candidate> = Vec::new();
    let mut out = DryRun::default();
    let n = potential_nodes.len();
    for i in 0..n {
        let node = &potential_nodes[(offset.wrapping_add(i)) % n];
        match select_victims(node) {
            Ok(victims) if !victims.pods.is_empty() => {
                let list = if victims.num_pdb_violations == 0 { &mut non_violating } else { &mut violating };
                if list.len() < num_candidates {
                    list.push(Candidate { node: node.clone(), victims });
                }
                if !non_violating.is_empty() && non_violating.len() + violating.len() >= num_candidates {
                    break;
                }
            }
            Ok(_) => {
                let msg = format!("expected at least one victim pod on node {node:?}");
                out.errors.push(msg.clone());
                out.node_statuses.insert(node.clone(), NodeStatus::Error(msg));
            }
            Err(failure) => {
                out.node_statuses.insert(node.clone(), NodeStatus::Failed(failure));
            }
        }
    }
    non_violating.extend(violating);
    out.candidates = non_violating;
    out
}

/// `findCandidates` after the potential nodes are known: nothing when no node is worth trying,
/// otherwise a dry run from a random offset over the number of candidates the args ask for.
pub fn find_candidates<R: Rng + ?Sized>(
    potential_nodes: &[String],
    args: &PreemptionArgs,
    random: &mut R,
    select_victims: &mut dyn FnMut(&str) -> Result<Victims, NodeFailure>,
) -> DryRun {
    if potential_nodes.is_empty() {
        return DryRun::default();
    }
    let (offset, num_candidates) = offset_and_num_candidates(potential_nodes.len(), args, random);
    dry_run_preemption(potential_nodes, offset, num_candidates, select_victims)
}

/// `pickOneNodeForPreemption` with the default score functions: the index of the candidate with
/// the fewest PDB violations, then the lowest highest-priority victim (`victims.pods[0]`), the
/// smallest sum of priorities (each + 2^31, so that negative priorities count), the fewest
/// victims, the latest start time of the highest-priority victims; then the first remaining.
/// A candidate without victims is picked at once (see the module doc).
pub fn pick_one_node_for_preemption(candidates: &[Candidate], now: &Time) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    if let Some(i) = candidates.iter().position(|c| c.victims.pods.is_empty()) {
        return Some(i);
    }
    type ScoreFn<'a> = Box<dyn Fn(&Candidate) -> i128 + 'a>;
    let score_funcs: [ScoreFn<'_>; 5] = [
        // A node with a minimum number of PDB violations is preferable.
        Box::new(|c| -i128::from(c.victims.num_pdb_violations)),
        // A node with a minimum highest priority victim is preferable.
        Box::new(|c| -i128::from(c.victims.pods.first().map_or(0, |p| pod_priority(p)))),
        // A node with the smallest sum of priorities is preferable.
        Box::new(|c| {
            -c.victims.pods.iter().map(|p| i128::from(pod_priority(p)) + (1i128 << 31)).sum::<i128>()
        }),
        // A node with the minimum number of pods is preferable.
        Box::new(|c| -(c.victims.pods.len() as i128)),
        // A node with the latest start time of all highest priority victims is preferable.
        Box::new(|c| match earliest_pod_start_time(&c.victims.pods, now) {
            Some(t) => i128::from(t.0.timestamp()) * 1_000_000_000 + i128::from(t.0.timestamp_subsec_nanos()),
            None => i128::from(i64::MIN),
        }),
    ];
    let mut all: Vec<usize> = (0..candidates.len()).collect();
    for f in &score_funcs {
        let mut selected = Vec::new();
        let mut max = i128::MIN;
        for &i in &all {
            let score = f(&candidates[i]);
            if score > max {
                max = score;
                selected.clear();
            }
            if score == max {
                selected.push(i);
            }
        }
        if selected.len() == 1 {
            return Some(selected[0]);
        }
        all = selected;
    }
    all.first().copied()
}

/// `SelectCandidate`: none for no candidates, the only one, or the one
/// [`pick_one_node_for_preemption`] picks.
pub fn select_candidate(candidates: &[Candidate], now: &Time) -> Option<usize> {
    match candidates.len() {
        0 => None,
        1 => Some(0),
        _ => pick_one_node_for_preemption(candidates, now),
    }
}

/// `FitError.Error()` without PreFilter and PostFilter messages:
/// `0/<n> nodes are available: <count> <reason>, ... .` — the reasons of the nodes with an
/// explicit status (`explicit`, one list per node) plus, for the nodes without one
/// (`num_all_nodes - explicit.len()`), the absent-nodes reasons; `"<count> <reason>"` strings
/// sorted as strings. The framework appends `" " + postFilterMsg` to its own FitError.
pub fn fit_error_message(num_all_nodes: usize, explicit: &[Vec<String>], absent_reasons: &[&str]) -> String {
    let mut msg = format!("0/{num_all_nodes} {NO_NODE_AVAILABLE_MSG}:");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for reasons in explicit {
        for r in reasons {
            *counts.entry(r.clone()).or_insert(0) += 1;
        }
    }
    if explicit.len() < num_all_nodes {
        for r in absent_reasons {
            *counts.entry((*r).to_string()).or_insert(0) += num_all_nodes - explicit.len();
        }
    }
    let mut histogram: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    histogram.sort();
    if !histogram.is_empty() {
        msg.push_str(&format!(" {}.", histogram.join(", ")));
    }
    msg
}

// ---------------------------------------------------------------------------------------------
// Preempt (PostFilter)
// ---------------------------------------------------------------------------------------------

/// The inputs of one `PostFilter` call.
#[derive(Clone, Copy, Debug)]
pub struct PreemptInput<'a> {
    /// The latest version of the pod that failed to schedule.
    pub preemptor: &'a Pod,
    pub args: &'a PreemptionArgs,
    /// Number of nodes in the snapshot.
    pub num_all_nodes: usize,
    /// The nodes whose filter status is Unschedulable (not UnschedulableAndUnresolvable), in
    /// snapshot order (`NodesForStatusCode(.., Unschedulable)`).
    pub potential_nodes: &'a [String],
    /// Whether the filter status of the preemptor's nominated node is
    /// UnschedulableAndUnresolvable (see [`pod_eligible_to_preempt_others`]).
    pub nominated_node_unresolvable: bool,
    /// Pods on the preemptor's nominated node, `None` if it has none or it is not in the snapshot.
    pub nominated_node_pods: Option<&'a [Arc<Pod>]>,
    /// Every PodDisruptionBudget in the cluster (the lister's list).
    pub pdbs: &'a [PodDisruptionBudget],
    /// The simulated clock (start time of pods that have not started).
    pub now: &'a Time,
}

/// What `DefaultPreemption.PostFilter` decides. Messages carry the `preemption: ` prefix.
#[derive(Clone, Debug, PartialEq)]
pub enum PreemptOutcome {
    /// Status Unschedulable, no PostFilterResult: the pod's nominatedNodeName stays as it is.
    NotEligible { message: String },
    /// Status Error, no PostFilterResult (nominatedNodeName unchanged).
    Error { message: String },
    /// Status Unschedulable with a FitError message; the PostFilterResult nominates `""`, i.e.
    /// clears the pod's nominatedNodeName.
    NoCandidate { message: String },
    /// Status Success: nominate `candidate.node` for the preemptor and prepare the candidate
    /// (evict its victims, clear lower-priority nominations; see [`victims_to_preempt`]).
    Nominated { candidate: Candidate },
}

impl PreemptOutcome {
    /// The PostFilter status message (the FitError's `PostFilterMsg`); empty on success.
    pub fn message(&self) -> &str {
        match self {
            PreemptOutcome::NotEligible { message }
            | PreemptOutcome::Error { message }
            | PreemptOutcome::NoCandidate { message } => message,
            PreemptOutcome::Nominated { .. } => "",
        }
    }
}

/// `Evaluator.Preempt` as DefaultPreemption runs it (no extenders): eligibility, candidates from
/// a dry run over the potential nodes, the best candidate. `node_pods(node)` lists the pods on a
/// node; `fits(node, removed)` re-runs the filters for the preemptor on `node` with `removed`
/// taken off it (see [`select_victims_on_node`]).
pub fn preempt<R: Rng + ?Sized>(
    input: &PreemptInput<'_>,
    random: &mut R,
    node_pods: &mut dyn FnMut(&str) -> Vec<Arc<Pod>>,
    fits: &mut NodeFits<'_>,
) -> PreemptOutcome {
    let prefixed = |m: &str| if m.is_empty() { String::new() } else { format!("{MESSAGE_PREFIX}{m}") };
    // 1) Ensure the preemptor is eligible to preempt other pods.
    if let Err(msg) = pod_eligible_to_preempt_others(
        input.preemptor,
        input.nominated_node_pods,
        input.nominated_node_unresolvable,
    ) {
        return PreemptOutcome::NotEligible { message: prefixed(&msg) };
    }
    // 2) Find all preemption candidates.
    if input.num_all_nodes == 0 {
        return PreemptOutcome::Error { message: prefixed("no nodes available") };
    }
    let mut select = |node: &str| {
        let pods = node_pods(node);
        let mut node_fits = |removed: &[Arc<Pod>]| fits(node, removed);
        select_victims_on_node(input.preemptor, &pods, input.pdbs, input.now, &mut node_fits)
    };
    let dry_run = find_candidates(input.potential_nodes, input.args, random, &mut select);
    if !dry_run.errors.is_empty() && dry_run.candidates.is_empty() {
        return PreemptOutcome::Error { message: prefixed(&aggregate_message(dry_run.errors)) };
    }
    // Return a FitError only when there are no candidates that fit the pod.
    if dry_run.candidates.is_empty() {
        let explicit: Vec<Vec<String>> = dry_run.node_statuses.values().map(NodeStatus::reasons).collect();
        let msg = fit_error_message(input.num_all_nodes, &explicit, &[NOT_HELPFUL_REASON]);
        return PreemptOutcome::NoCandidate { message: prefixed(&msg) };
    }
    // 3) Extenders: not modelled. 4) Find the best candidate.
    match select_candidate(&dry_run.candidates, input.now) {
        Some(i) => PreemptOutcome::Nominated { candidate: dry_run.candidates[i].clone() },
        // Upstream returns Unschedulable here, not an error.
        None => PreemptOutcome::NotEligible { message: prefixed("no candidate node for preemption") },
    }
}

// ---------------------------------------------------------------------------------------------
// prepareCandidate pieces
// ---------------------------------------------------------------------------------------------

/// The victims `prepareCandidate` sends API calls for: those not already being deleted
/// (graceful deletion already started needs no second call).
pub fn victims_to_preempt(candidate: &Candidate) -> Vec<Arc<Pod>> {
    candidate.victims.pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).cloned().collect()
}

/// The condition patched onto each victim before it is deleted: `DisruptionTarget=True`,
/// reason `PreemptionByScheduler`, message `<schedulerName>: preempting to accommodate a higher
/// priority pod` (the preemptor's `spec.schedulerName`).
pub fn preemption_condition(preemptor: &Pod, at: Time) -> PodCondition {
    let scheduler = preemptor.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).unwrap_or("");
    podutil::disruption_target(
        PREEMPTION_BY_SCHEDULER,
        &format!("{scheduler}: preempting to accommodate a higher priority pod"),
        at,
    )
}

/// The note of the `Preempted` event recorded on each victim (regarding the victim, related to
/// the preemptor): `Preempted by pod <preemptor uid> on node <node>`.
pub fn preempted_event_message(preemptor: &Pod, node: &str) -> String {
    let uid = preemptor.metadata.uid.as_deref().unwrap_or("");
    format!("Preempted by pod {uid} on node {node}")
}

/// `getLowerPriorityNominatedPods`: of the pods nominated to the candidate node, those with a
/// lower priority than the preemptor; their nominatedNodeName is cleared.
pub fn lower_priority_nominated_pods(preemptor: &Pod, nominated_to_node: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
    let priority = pod_priority(preemptor);
    nominated_to_node.iter().filter(|p| pod_priority(p) < priority).cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// Framework adapter.

/// The plugin as a profile runs it, with its `DefaultPreemptionArgs`.
pub struct DefaultPreemption {
    args: PreemptionArgs,
}

impl DefaultPreemption {
    pub fn new(args: PreemptionArgs) -> Self {
        DefaultPreemption { args }
    }
}

crate::impl_plugin!(DefaultPreemption, NAME, [post_filter]);

impl crate::scheduler::framework::PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &crate::scheduler::framework::CycleState,
        pod: &Pod,
        cx: crate::scheduler::framework::PostFilterContext<'_, '_>,
    ) -> (Option<crate::scheduler::framework::PostFilterResult>, crate::scheduler::framework::Status) {
        use crate::scheduler::framework::{Code, PostFilterResult, Status};
        let snapshot = cx.snapshot;
        // nodesWherePreemptionMightHelp: nodes whose status is Unschedulable (explicit, or the
        // absent-nodes status), in snapshot order.
        let potential: Vec<String> = snapshot
            .nodes
            .iter()
            .filter(|n| cx.statuses.get(n.name()).is_some_and(|s| s.code == Code::Unschedulable))
            .map(|n| n.name().to_string())
            .collect();
        let nominated =
            pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).filter(|n| !n.is_empty());
        let nominated_info = nominated.and_then(|n| snapshot.get(n));
        let nominated_node_unresolvable = nominated
            .and_then(|n| cx.statuses.get(n))
            .is_some_and(|s| s.code == Code::UnschedulableAndUnresolvable);
        let pdbs = snapshot.cluster.pdb_list();
        let input = PreemptInput {
            preemptor: pod,
            args: &self.args,
            num_all_nodes: snapshot.nodes.len(),
            potential_nodes: &potential,
            nominated_node_unresolvable,
            nominated_node_pods: nominated_info.map(|n| n.pods.as_slice()),
            pdbs: &pdbs,
            now: &cx.now,
        };
        let mut node_pods = |node: &str| snapshot.get(node).map(|n| n.pods.clone()).unwrap_or_default();
        let mut fits = |node: &str, removed: &[Arc<Pod>]| {
            let Some(info) = snapshot.get(node) else {
                return Err(vec![format!("node {node:?} not found")]);
            };
            let s = cx.filters.fits_without(state, pod, info, removed);
            if s.is_success() {
                Ok(())
            } else {
                Err(s.reasons)
            }
        };
        match preempt(&input, cx.rng, &mut node_pods, &mut fits) {
            PreemptOutcome::NotEligible { message } => (None, Status::unschedulable(message)),
            PreemptOutcome::Error { message } => (None, Status::error(message)),
            PreemptOutcome::NoCandidate { message } => (
                Some(PostFilterResult { nominated_node: Some(String::new()), victims: Vec::new() }),
                Status::unschedulable(message),
            ),
            PreemptOutcome::Nominated { candidate } => (
                Some(PostFilterResult {
                    victims: victims_to_preempt(&candidate),
                    nominated_node: Some(candidate.node),
                }),
                Status::success(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::pod::{pod_requests, Resources};
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodStatus, ResourceRequirements};
    use k8s_openapi::api::policy::v1::{PodDisruptionBudgetSpec, PodDisruptionBudgetStatus};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as K8sSelector, ObjectMeta};
    use k8s_openapi::chrono::DateTime;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    // default_preemption_test.go's priorities and resources.
    const NEG: i32 = -100;
    const LOW: i32 = 0;
    const MID: i32 = 100;
    const HIGH: i32 = 1000;
    const VERY_HIGH: i32 = 10000;
    const SMALL: (i64, i64) = (100, 100);
    const MEDIUM: (i64, i64) = (200, 200);
    const LARGE: (i64, i64) = (300, 300);
    const VERY_LARGE: (i64, i64) = (500, 500);

    /// `metav1.NewTime(time.Unix(0, nanos))` (epochTime, epochTime1, ...).
    fn epoch(nanos: u32) -> Time {
        Time(DateTime::from_timestamp(0, nanos).unwrap())
    }

    /// The simulated "now": later than every start time in the tests.
    fn now() -> Time {
        Time(DateTime::from_timestamp(1_000_000, 0).unwrap())
    }

    /// `st.MakePod()`.
    #[derive(Clone)]
    struct P(Pod);

    fn make_pod(name: &str) -> P {
        P(Pod {
            metadata: ObjectMeta { name: Some(name.into()), uid: Some(name.into()), ..Default::default() },
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), ..Default::default() }],
                ..Default::default()
            }),
            status: Some(PodStatus::default()),
        })
    }

    impl P {
        fn spec(&mut self) -> &mut PodSpec {
            self.0.spec.get_or_insert_with(Default::default)
        }
        fn status(&mut self) -> &mut PodStatus {
            self.0.status.get_or_insert_with(Default::default)
        }
        fn uid(mut self, uid: &str) -> P {
            self.0.metadata.uid = Some(uid.into());
            self
        }
        fn ns(mut self, ns: &str) -> P {
            self.0.metadata.namespace = Some(ns.into());
            self
        }
        fn node(mut self, node: &str) -> P {
            self.spec().node_name = Some(node.into());
            self
        }
        fn priority(mut self, p: i32) -> P {
            self.spec().priority = Some(p);
            self
        }
        fn req(mut self, (cpu, mem): (i64, i64)) -> P {
            let requests = [
                ("cpu".to_string(), Quantity(format!("{cpu}m"))),
                ("memory".to_string(), Quantity(mem.to_string())),
            ];
            self.spec().containers[0].resources =
                Some(ResourceRequirements { requests: Some(requests.into()), ..Default::default() });
            self
        }
        fn start(mut self, t: Time) -> P {
            self.status().start_time = Some(t);
            self
        }
        fn label(mut self, k: &str, v: &str) -> P {
            self.0.metadata.labels.get_or_insert_with(Default::default).insert(k.into(), v.into());
            self
        }
        fn nominated(mut self, node: &str) -> P {
            self.status().nominated_node_name = Some(node.into());
            self
        }
        fn preemption_policy(mut self, p: &str) -> P {
            self.spec().preemption_policy = Some(p.into());
            self
        }
        fn scheduler_name(mut self, s: &str) -> P {
            self.spec().scheduler_name = Some(s.into());
            self
        }
        fn terminating(mut self) -> P {
            self.0.metadata.deletion_timestamp = Some(epoch(0));
            self
        }
        fn condition(mut self, ty: &str, status: &str, reason: &str) -> P {
            self.status().conditions.get_or_insert_with(Vec::new).push(PodCondition {
                type_: ty.into(),
                status: status.into(),
                reason: Some(reason.into()),
                ..Default::default()
            });
            self
        }
        fn obj(self) -> Pod {
            self.0
        }
        fn arc(self) -> Arc<Pod> {
            Arc::new(self.0)
        }
    }

    /// A PDB in `ns` whose selector has `labels` as matchLabels (empty: an empty selector), with
    /// `allowed` disruptions and `disrupted` pods in its status.
    fn pdb(ns: &str, labels: &[(&str, &str)], allowed: i32, disrupted: &[&str]) -> PodDisruptionBudget {
        PodDisruptionBudget {
            metadata: ObjectMeta {
                namespace: (!ns.is_empty()).then(|| ns.to_string()),
                ..Default::default()
            },
            spec: Some(PodDisruptionBudgetSpec {
                selector: Some(K8sSelector {
                    match_labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: Some(PodDisruptionBudgetStatus {
                disruptions_allowed: allowed,
                disrupted_pods: (!disrupted.is_empty())
                    .then(|| disrupted.iter().map(|n| (n.to_string(), epoch(0))).collect()),
                ..Default::default()
            }),
        }
    }

    /// `st.MakeNode().Capacity(res)`: the given cpu (m) and memory, 32 pods unless overridden.
    fn capacity((cpu, mem): (i64, i64), pods: i64) -> Resources {
        Resources { milli_cpu: cpu, memory: mem, pods, ..Default::default() }
    }

    /// A NodeResourcesFit-like filter: pod count and requests of the pods left on the node plus
    /// the preemptor against the node's capacity, with upstream's reasons.
    fn resource_fit(preemptor: &Pod, remaining: &[Arc<Pod>], cap: &Resources) -> Result<(), Vec<String>> {
        let mut reasons = Vec::new();
        if remaining.len() as i64 + 1 > cap.pods {
            reasons.push("Too many pods".to_string());
        }
        let mut requested = Resources::default();
        for p in remaining {
            requested.add(&pod_requests(p));
        }
        let mut free = cap.clone();
        free.sub(&requested);
        for r in pod_requests(preemptor).exceeding(&free) {
            reasons.push(format!("Insufficient {r}"));
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        }
    }

    type ExtraFilter<'a> = dyn Fn(&Cluster, &str, &[Arc<Pod>]) -> Result<(), Vec<String>> + 'a;

    /// Nodes (in name order, as the tests sort the snapshot) and the pods on them.
    struct Cluster {
        nodes: Vec<(String, Resources)>,
        pods: Vec<Arc<Pod>>,
    }

    impl Cluster {
        fn new(nodes: &[&str], cap: Resources, pods: Vec<Arc<Pod>>) -> Cluster {
            let mut nodes: Vec<(String, Resources)> =
                nodes.iter().map(|n| (n.to_string(), cap.clone())).collect();
            nodes.sort_by(|a, b| a.0.cmp(&b.0));
            Cluster { nodes, pods }
        }
        fn with_caps(nodes: &[(&str, Resources)], pods: Vec<Arc<Pod>>) -> Cluster {
            Cluster { nodes: nodes.iter().map(|(n, c)| (n.to_string(), c.clone())).collect(), pods }
        }
        fn names(&self) -> Vec<String> {
            self.nodes.iter().map(|n| n.0.clone()).collect()
        }
        fn pods_on(&self, node: &str) -> Vec<Arc<Pod>> {
            self.pods.iter().filter(|p| podutil::node_name(p) == Some(node)).cloned().collect()
        }
        fn remaining(&self, node: &str, removed: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
            self.pods_on(node).into_iter().filter(|p| !removed.iter().any(|r| Arc::ptr_eq(r, p))).collect()
        }
        fn cap(&self, node: &str) -> Resources {
            self.nodes.iter().find(|n| n.0 == node).map(|n| n.1.clone()).unwrap_or_default()
        }
        /// Runs the filters: resource fit, then `extra`.
        fn fits(
            &self,
            preemptor: &Pod,
            node: &str,
            removed: &[Arc<Pod>],
            extra: &ExtraFilter<'_>,
        ) -> Result<(), Vec<String>> {
            resource_fit(preemptor, &self.remaining(node, removed), &self.cap(node))?;
            extra(self, node, removed)
        }
    }

    fn no_extra(_: &Cluster, _: &str, _: &[Arc<Pod>]) -> Result<(), Vec<String>> {
        Ok(())
    }

    /// `tf.FakeFilterPlugin` with `FailedNodeReturnCodeMap` Unschedulable for every node.
    fn reject_all(_: &Cluster, _: &str, _: &[Arc<Pod>]) -> Result<(), Vec<String>> {
        Err(vec!["injecting failure".into()])
    }

    /// Candidates as TestDryRunPreemption compares them: by node name, victims by name.
    type Summary = Vec<(String, Vec<String>, i64)>;

    fn summarize(candidates: &[Candidate]) -> Summary {
        let mut out: Summary = candidates
            .iter()
            .map(|c| {
                let mut names: Vec<String> =
                    c.victims.pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect();
                names.sort();
                (c.node.clone(), names, c.victims.num_pdb_violations)
            })
            .collect();
        out.sort();
        out
    }

    fn cand(node: &str, victims: &[&str], violations: i64) -> (String, Vec<String>, i64) {
        (node.to_string(), victims.iter().map(|v| v.to_string()).collect(), violations)
    }

    /// Runs DryRunPreemption over all nodes of `cluster`; returns the candidates, the node
    /// statuses and the number of filter runs (FakeFilterPlugin.NumFilterCalled).
    fn dry_run(
        cluster: &Cluster,
        preemptor: &Pod,
        pdbs: &[PodDisruptionBudget],
        offset: usize,
        num_candidates: usize,
        extra: &ExtraFilter<'_>,
    ) -> (DryRun, usize) {
        let mut calls = 0;
        let t = now();
        let mut select = |node: &str| {
            let pods = cluster.pods_on(node);
            let mut fits = |removed: &[Arc<Pod>]| {
                calls += 1;
                cluster.fits(preemptor, node, removed, extra)
            };
            select_victims_on_node(preemptor, &pods, pdbs, &t, &mut fits)
        };
        let result = dry_run_preemption(&cluster.names(), offset, num_candidates, &mut select);
        (result, calls)
    }

    // ----- TestDryRunPreemption (default_preemption_test.go) --------------------------------

    /// One TestDryRunPreemption case: nodes of capacity veryLargeRes, default args unless given.
    struct DryRunCase<'a> {
        name: &'a str,
        nodes: &'a [&'a str],
        preemptors: Vec<Pod>,
        init: Vec<Arc<Pod>>,
        pdbs: Vec<PodDisruptionBudget>,
        args: PreemptionArgs,
        /// The offsets upstream's `rand.New(rand.NewSource(4)).Int31n` draws (from the test's
        /// comments), one per cycle; irrelevant (0) when the args shortlist every node.
        offsets: Vec<usize>,
        extra: &'a ExtraFilter<'a>,
        expected: Vec<Summary>,
        filter_calls: Vec<usize>,
    }

    fn run_dry_run_case(c: DryRunCase<'_>) {
        let cluster = Cluster::new(c.nodes, capacity(VERY_LARGE, 32), c.init.clone());
        for (cycle, preemptor) in c.preemptors.iter().enumerate() {
            let num = calculate_num_candidates(cluster.nodes.len(), &c.args);
            let offset = c.offsets.get(cycle).copied().unwrap_or(0);
            let (result, calls) = dry_run(&cluster, preemptor, &c.pdbs, offset, num, c.extra);
            assert_eq!(
                summarize(&result.candidates),
                c.expected[cycle],
                "{}: cycle {cycle} candidates",
                c.name
            );
            assert_eq!(calls, c.filter_calls[cycle], "{}: cycle {cycle} filter calls", c.name);
        }
    }

    fn five_nodes_one_victim_each(priorities: [i32; 5], labels: [bool; 5]) -> Vec<Arc<Pod>> {
        (1..=5)
            .map(|i| {
                let mut p = make_pod(&format!("p{i}"))
                    .node(&format!("node{i}"))
                    .priority(priorities[i - 1])
                    .req(LARGE);
                if labels[i - 1] {
                    p = p.label("app", "foo");
                }
                p.arc()
            })
            .collect()
    }

    #[test]
    fn dry_run_preemption_upstream_cases() {
        let high_large = make_pod("p").priority(HIGH).req(LARGE).obj();
        let two_mid = || {
            vec![
                make_pod("p1").node("node1").priority(MID).arc(),
                make_pod("p2").node("node2").priority(MID).arc(),
            ]
        };
        let two_mid_large = || {
            vec![
                make_pod("p1").node("node1").priority(MID).req(LARGE).arc(),
                make_pod("p2").node("node2").priority(MID).req(LARGE).arc(),
            ]
        };
        let same_pdb_pods = |n: usize| -> Vec<Arc<Pod>> {
            (1..=n)
                .map(|i| {
                    make_pod(&format!("p1.{i}"))
                        .node("node1")
                        .label("app", "foo")
                        .priority(MID)
                        .req(MEDIUM)
                        .arc()
                })
                .collect()
        };
        let limit2 = PreemptionArgs { min_candidate_nodes_percentage: 40, min_candidate_nodes_absolute: 1 };
        let cases = vec![
            // FalseFilter rejects every node (FakeFilter passes and counts).
            DryRunCase {
                name: "a pod that does not fit on any node",
                nodes: &["node1", "node2"],
                preemptors: vec![make_pod("p").priority(HIGH).obj()],
                init: two_mid(),
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &reject_all,
                expected: vec![vec![]],
                filter_calls: vec![2],
            },
            // TrueFilter, but FakeFilter returns Unschedulable on every node.
            DryRunCase {
                name: "a pod that fits with no preemption",
                nodes: &["node1", "node2"],
                preemptors: vec![make_pod("p").priority(HIGH).obj()],
                init: two_mid(),
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &reject_all,
                expected: vec![vec![]],
                filter_calls: vec![2],
            },
            // MatchFilter would pass node1, FakeFilter returns Unschedulable on every node.
            DryRunCase {
                name: "a pod that fits on one node with no preemption",
                nodes: &["node1", "node2"],
                preemptors: vec![make_pod("node1").priority(HIGH).obj()],
                init: two_mid(),
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &reject_all,
                expected: vec![vec![]],
                filter_calls: vec![2],
            },
            DryRunCase {
                name: "a pod that fits on both nodes when lower priority pods are preempted",
                nodes: &["node1", "node2"],
                preemptors: vec![high_large.clone()],
                init: two_mid_large(),
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1"], 0), cand("node2", &["p2"], 0)]],
                filter_calls: vec![4],
            },
            DryRunCase {
                name: "a pod that would fit on the nodes, but other pods running are higher priority, no preemption would happen",
                nodes: &["node1", "node2"],
                preemptors: vec![make_pod("p").priority(LOW).req(LARGE).obj()],
                init: two_mid_large(),
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![]],
                filter_calls: vec![0],
            },
            DryRunCase {
                name: "medium priority pod is preempted, but lower priority one stays as it is small",
                nodes: &["node1", "node2"],
                preemptors: vec![high_large.clone()],
                init: vec![
                    make_pod("p1.1").node("node1").priority(LOW).req(SMALL).arc(),
                    make_pod("p1.2").node("node1").priority(MID).req(LARGE).arc(),
                    make_pod("p2").node("node2").priority(MID).req(LARGE).arc(),
                ],
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.2"], 0), cand("node2", &["p2"], 0)]],
                filter_calls: vec![5],
            },
            DryRunCase {
                name: "mixed priority pods are preempted",
                nodes: &["node1", "node2"],
                preemptors: vec![high_large.clone()],
                init: vec![
                    make_pod("p1.1").node("node1").priority(MID).req(SMALL).arc(),
                    make_pod("p1.2").node("node1").priority(LOW).req(SMALL).arc(),
                    make_pod("p1.3").node("node1").priority(MID).req(MEDIUM).arc(),
                    make_pod("p1.4").node("node1").priority(HIGH).req(SMALL).arc(),
                    make_pod("p2").node("node2").priority(HIGH).req(LARGE).arc(),
                ],
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.2", "p1.3"], 0)]],
                filter_calls: vec![4],
            },
            DryRunCase {
                name: "mixed priority pods are preempted, pick later StartTime one when priorities are equal",
                nodes: &["node1", "node2"],
                preemptors: vec![high_large.clone()],
                init: vec![
                    make_pod("p1.1").node("node1").priority(LOW).req(SMALL).start(epoch(5)).arc(),
                    make_pod("p1.2").node("node1").priority(LOW).req(SMALL).start(epoch(4)).arc(),
                    make_pod("p1.3").node("node1").priority(MID).req(MEDIUM).start(epoch(3)).arc(),
                    make_pod("p1.4").node("node1").priority(HIGH).req(SMALL).start(epoch(2)).arc(),
                    make_pod("p2").node("node2").priority(HIGH).req(LARGE).start(epoch(1)).arc(),
                ],
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.1", "p1.3"], 0)]],
                filter_calls: vec![4],
            },
            DryRunCase {
                name: "get Unschedulable in the preemption phase when the filter plugins filtering the nodes",
                nodes: &["node1", "node2"],
                preemptors: vec![high_large.clone()],
                init: two_mid_large(),
                pdbs: vec![],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &reject_all,
                expected: vec![vec![]],
                filter_calls: vec![2],
            },
            DryRunCase {
                name: "preemption with violation of same pdb",
                nodes: &["node1"],
                preemptors: vec![make_pod("p").priority(HIGH).req(VERY_LARGE).obj()],
                init: same_pdb_pods(2),
                pdbs: vec![pdb("", &[("app", "foo")], 1, &[])],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.1", "p1.2"], 1)]],
                filter_calls: vec![3],
            },
            DryRunCase {
                name: "preemption with violation of the pdb with pod whose eviction was processed, the victim doesn't belong to DisruptedPods",
                nodes: &["node1"],
                preemptors: vec![make_pod("p").priority(HIGH).req(VERY_LARGE).obj()],
                init: same_pdb_pods(2),
                pdbs: vec![pdb("", &[("app", "foo")], 1, &["p2"])],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.1", "p1.2"], 1)]],
                filter_calls: vec![3],
            },
            DryRunCase {
                name: "preemption with violation of the pdb with pod whose eviction was processed, the victim belongs to DisruptedPods",
                nodes: &["node1"],
                preemptors: vec![make_pod("p").priority(HIGH).req(VERY_LARGE).obj()],
                init: same_pdb_pods(2),
                pdbs: vec![pdb("", &[("app", "foo")], 1, &["p1.2"])],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.1", "p1.2"], 0)]],
                filter_calls: vec![3],
            },
            DryRunCase {
                name: "preemption with violation of the pdb with pod whose eviction was processed, the victim which belongs to DisruptedPods is treated as 'nonViolating'",
                nodes: &["node1"],
                preemptors: vec![make_pod("p").priority(HIGH).req(VERY_LARGE).obj()],
                init: same_pdb_pods(3),
                pdbs: vec![pdb("", &[("app", "foo")], 1, &["p1.3"])],
                args: PreemptionArgs::default(),
                offsets: vec![0],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1.1", "p1.2", "p1.3"], 1)]],
                filter_calls: vec![4],
            },
            // cycle=0 => offset=4 => node5 (yes), node1 (yes)
            DryRunCase {
                name: "all nodes are possible candidates, but DefaultPreemptionArgs limits to 2",
                nodes: &["node1", "node2", "node3", "node4", "node5"],
                preemptors: vec![high_large.clone()],
                init: five_nodes_one_victim_each([MID; 5], [false; 5]),
                pdbs: vec![],
                args: limit2,
                offsets: vec![4],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1"], 0), cand("node5", &["p5"], 0)]],
                filter_calls: vec![4],
            },
            // cycle=0 => offset=4 => node5 (no), node1 (yes), node2 (no), node3 (yes)
            DryRunCase {
                name: "some nodes are not possible candidates, DefaultPreemptionArgs limits to 2",
                nodes: &["node1", "node2", "node3", "node4", "node5"],
                preemptors: vec![high_large.clone()],
                init: five_nodes_one_victim_each([MID, VERY_HIGH, MID, MID, VERY_HIGH], [false; 5]),
                pdbs: vec![],
                args: limit2,
                offsets: vec![4],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1"], 0), cand("node3", &["p3"], 0)]],
                filter_calls: vec![4],
            },
            // cycle=0 => offset=4 => node5, node1; cycle=1 => offset=1 => node2, node3;
            // cycle=2 => offset=3 => node4, node5
            DryRunCase {
                name: "preemption offset across multiple scheduling cycles and wrap around",
                nodes: &["node1", "node2", "node3", "node4", "node5"],
                preemptors: ["tp1", "tp2", "tp3"].iter().map(|n| make_pod(n).priority(HIGH).req(LARGE).obj()).collect(),
                init: five_nodes_one_victim_each([MID; 5], [false; 5]),
                pdbs: vec![],
                args: limit2,
                offsets: vec![4, 1, 3],
                extra: &no_extra,
                expected: vec![
                    vec![cand("node1", &["p1"], 0), cand("node5", &["p5"], 0)],
                    vec![cand("node2", &["p2"], 0), cand("node3", &["p3"], 0)],
                    vec![cand("node4", &["p4"], 0), cand("node5", &["p5"], 0)],
                ],
                filter_calls: vec![4, 4, 4],
            },
            // cycle=0 => offset=4 => node5 (yes, pdb), node1 (yes, pdb), node2 (no, pdb), node3 (yes)
            DryRunCase {
                name: "preemption looks past numCandidates until a non-PDB violating node is found",
                nodes: &["node1", "node2", "node3", "node4", "node5"],
                preemptors: vec![high_large.clone()],
                init: five_nodes_one_victim_each([MID; 5], [true, true, false, false, true]),
                pdbs: vec![pdb("", &[("app", "foo")], 0, &[])],
                args: PreemptionArgs { min_candidate_nodes_percentage: 40, min_candidate_nodes_absolute: 2 },
                offsets: vec![4],
                extra: &no_extra,
                expected: vec![vec![cand("node1", &["p1"], 1), cand("node3", &["p3"], 0), cand("node5", &["p5"], 1)]],
                filter_calls: vec![8],
            },
        ];
        for c in cases {
            run_dry_run_case(c);
        }
    }

    /// InterPodAffinity for TestDryRunPreemption "pod with anti-affinity is preempted": p1.1 has
    /// a required anti-affinity term (label `foo` exists, topology hostname) that the preemptor
    /// (labelled `foo`) violates while p1.1 stays on the node.
    #[test]
    fn dry_run_preemption_pod_with_anti_affinity_is_preempted() {
        let preemptor = make_pod("p").label("foo", "").priority(HIGH).req(SMALL).obj();
        let init = vec![
            make_pod("p1.1").node("node1").label("foo", "").priority(LOW).req(SMALL).arc(),
            make_pod("p1.2").node("node1").priority(MID).req(SMALL).arc(),
            make_pod("p1.3").node("node1").priority(HIGH).req(SMALL).arc(),
            make_pod("p2").node("node2").priority(HIGH).req(SMALL).arc(),
        ];
        let cluster = Cluster::new(&["node1", "node2"], capacity(VERY_LARGE, 32), init);
        let anti_affinity = |c: &Cluster, node: &str, removed: &[Arc<Pod>]| {
            let blocked =
                c.remaining(node, removed).iter().any(|p| p.metadata.name.as_deref() == Some("p1.1"));
            if blocked {
                Err(vec!["node(s) didn't satisfy existing pods anti-affinity rules".to_string()])
            } else {
                Ok(())
            }
        };
        let (result, calls) = dry_run(&cluster, &preemptor, &[], 0, 2, &anti_affinity);
        assert_eq!(summarize(&result.candidates), vec![cand("node1", &["p1.1"], 0)]);
        // no preemption would happen on node2 and no filter call is counted.
        assert_eq!(calls, 3);
    }

    /// PodTopologySpread for TestDryRunPreemption "preemption to resolve pod topology spread
    /// filter failure": two DoNotSchedule constraints (zone, hostname), maxSkew 1, over pods
    /// labelled `foo`; nodes node-a/zone1, node-b/zone1, node-x/zone2.
    fn spread_filter(c: &Cluster, node: &str, removed: &[Arc<Pod>]) -> Result<(), Vec<String>> {
        let zone = |n: &str| if n == "node-x" { "zone2" } else { "zone1" };
        let counted: Vec<&Arc<Pod>> = c
            .pods
            .iter()
            .filter(|p| !removed.iter().any(|r| Arc::ptr_eq(r, p)))
            .filter(|p| p.metadata.labels.as_ref().is_some_and(|l| l.contains_key("foo")))
            .collect();
        let count = |pred: &dyn Fn(&str) -> bool| {
            counted.iter().filter(|p| pred(podutil::node_name(p).unwrap_or(""))).count()
        };
        let nodes = c.names();
        let zones = ["zone1", "zone2"];
        let zone_min = zones.iter().map(|z| count(&|n| zone(n) == *z)).min().unwrap_or(0);
        let host_min = nodes.iter().map(|h| count(&|n| n == h)).min().unwrap_or(0);
        let zone_skew = count(&|n| zone(n) == zone(node)) + 1 - zone_min;
        let host_skew = count(&|n| n == node) + 1 - host_min;
        if zone_skew > 1 || host_skew > 1 {
            Err(vec!["node(s) didn't match pod topology spread constraints".to_string()])
        } else {
            Ok(())
        }
    }

    #[test]
    fn dry_run_preemption_to_resolve_pod_topology_spread_filter_failure() {
        let preemptor = make_pod("p").label("foo", "").priority(HIGH).obj();
        let init = vec![
            make_pod("pod-a1").node("node-a").label("foo", "").priority(MID).arc(),
            make_pod("pod-a2").node("node-a").label("foo", "").priority(LOW).arc(),
            make_pod("pod-b1").node("node-b").label("foo", "").priority(LOW).arc(),
            make_pod("pod-x1").node("node-x").label("foo", "").priority(HIGH).arc(),
            make_pod("pod-x2").node("node-x").label("foo", "").priority(HIGH).arc(),
        ];
        let cluster = Cluster::new(&["node-a", "node-b", "node-x"], capacity(VERY_LARGE, 32), init);
        let (result, calls) = dry_run(&cluster, &preemptor, &[], 0, 3, &spread_filter);
        assert_eq!(
            summarize(&result.candidates),
            vec![cand("node-a", &["pod-a2"], 0), cand("node-b", &["pod-b1"], 0)]
        );
        // node-a (3), node-b (2), node-x (0)
        assert_eq!(calls, 5);
    }

    // ----- TestDryRunPreemption (preemption_test.go, FakePostFilterPlugin) --------------------

    /// The fake SelectVictimsOnNode returns the node's first pod with `numViolatingVictim`
    /// violations; offset 0, numCandidates = number of nodes.
    #[test]
    fn dry_run_preemption_with_fake_victim_selection() {
        let init = [
            make_pod("p1").node("node1").priority(MID).arc(),
            make_pod("p2").node("node2").priority(MID).arc(),
        ];
        for (name, violations) in [("no pdb violation", 0), ("pdb violation on each node", 1)] {
            let nodes = vec!["node1".to_string(), "node2".to_string()];
            let mut select = |node: &str| {
                let pods: Vec<Arc<Pod>> =
                    init.iter().filter(|p| podutil::node_name(p) == Some(node)).cloned().collect();
                Ok(Victims { pods: pods[..1].to_vec(), num_pdb_violations: violations })
            };
            let result = dry_run_preemption(&nodes, 0, 2, &mut select);
            assert_eq!(
                summarize(&result.candidates),
                vec![cand("node1", &["p1"], violations), cand("node2", &["p2"], violations)],
                "{name}"
            );
        }
    }

    /// Not an upstream test case: DryRunPreemption's `expected at least one victim pod on node
    /// %q` when the preemptor fits with every lower-priority pod reprieved.
    #[test]
    fn dry_run_preemption_without_victims_is_an_error() {
        let cluster = Cluster::new(
            &["node1"],
            capacity(VERY_LARGE, 32),
            vec![make_pod("p1").node("node1").priority(MID).arc()],
        );
        let preemptor = make_pod("p").priority(HIGH).obj();
        let (result, calls) = dry_run(&cluster, &preemptor, &[], 0, 1, &no_extra);
        assert!(result.candidates.is_empty());
        assert_eq!(result.errors, ["expected at least one victim pod on node \"node1\""]);
        assert_eq!(calls, 2);
    }

    // ----- TestSelectBestCandidate (default_preemption_test.go) ------------------------------
    // (the successor of TestPickOneNodeForPreemption; nodes of capacity veryLargeRes, default
    // args, no PDBs; the offset is irrelevant as every node is shortlisted and only the order of
    // full ties depends on it.)

    fn select_best(nodes: &[&str], preemptor: &Pod, pods: Vec<Arc<Pod>>) -> String {
        let cluster = Cluster::new(nodes, capacity(VERY_LARGE, 32), pods);
        let num = calculate_num_candidates(cluster.nodes.len(), &PreemptionArgs::default());
        let (result, _) = dry_run(&cluster, preemptor, &[], 0, num, &no_extra);
        let i = select_candidate(&result.candidates, &now()).expect("a candidate");
        result.candidates[i].node.clone()
    }

    /// `(name, node, priority, request, start nanos)`.
    type PodRow<'a> = (&'a str, &'a str, i32, (i64, i64), u32);

    /// `(name, nodes, preemptor, pods, expected: any of)`.
    type SelectCase<'a> = (&'a str, Vec<&'a str>, Pod, Vec<Arc<Pod>>, Vec<&'a str>);

    /// Pods from rows.
    fn pods_of(specs: &[PodRow<'_>]) -> Vec<Arc<Pod>> {
        specs
            .iter()
            .map(|(n, node, prio, req, t)| {
                make_pod(n).node(node).priority(*prio).req(*req).start(epoch(*t)).arc()
            })
            .collect()
    }

    #[test]
    fn select_best_candidate_upstream_cases() {
        let p = make_pod("p").priority(HIGH).req(VERY_LARGE).obj();
        let cases: Vec<SelectCase<'_>> = vec![
            (
                "a pod that fits on both nodes when lower priority pods are preempted",
                vec!["node1", "node2"],
                make_pod("p").priority(HIGH).req(LARGE).obj(),
                pods_of(&[("p1", "node1", MID, LARGE, 0), ("p2", "node2", MID, LARGE, 0)]),
                vec!["node1", "node2"],
            ),
            (
                "node with min highest priority pod is picked",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", MID, MEDIUM, 0),
                    ("p1.2", "node1", MID, LARGE, 0),
                    ("p2.1", "node2", MID, MEDIUM, 0),
                    ("p2.2", "node2", LOW, MEDIUM, 0),
                    ("p3.1", "node3", LOW, MEDIUM, 0),
                    ("p3.2", "node3", LOW, MEDIUM, 0),
                ]),
                vec!["node3"],
            ),
            (
                "when highest priorities are the same, minimum sum of priorities is picked",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", MID, MEDIUM, 0),
                    ("p1.2", "node1", MID, LARGE, 0),
                    ("p2.1", "node2", MID, LARGE, 0),
                    ("p2.2", "node2", LOW, MEDIUM, 0),
                    ("p3.1", "node3", MID, MEDIUM, 0),
                    ("p3.2", "node3", MID, MEDIUM, 0),
                ]),
                vec!["node2"],
            ),
            (
                "when highest priority and sum are the same, minimum number of pods is picked",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", MID, SMALL, 0),
                    ("p1.2", "node1", NEG, SMALL, 0),
                    ("p1.3", "node1", MID, SMALL, 0),
                    ("p1.4", "node1", NEG, SMALL, 0),
                    ("p2.1", "node2", MID, LARGE, 0),
                    ("p2.2", "node2", NEG, MEDIUM, 0),
                    ("p3.1", "node3", MID, MEDIUM, 0),
                    ("p3.2", "node3", NEG, SMALL, 0),
                    ("p3.3", "node3", LOW, SMALL, 0),
                ]),
                vec!["node2"],
            ),
            (
                // pickOneNodeForPreemption adjusts pod priorities when finding the sum of the
                // victims. This test ensures that the logic works correctly.
                "sum of adjusted priorities is considered",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", MID, SMALL, 0),
                    ("p1.2", "node1", NEG, SMALL, 0),
                    ("p1.3", "node1", NEG, SMALL, 0),
                    ("p2.1", "node2", MID, LARGE, 0),
                    ("p2.2", "node2", NEG, MEDIUM, 0),
                    ("p3.1", "node3", MID, MEDIUM, 0),
                    ("p3.2", "node3", NEG, SMALL, 0),
                    ("p3.3", "node3", LOW, SMALL, 0),
                ]),
                vec!["node2"],
            ),
            (
                "non-overlapping lowest high priority, sum priorities, and number of pods",
                vec!["node1", "node2", "node3", "node4"],
                make_pod("p").priority(VERY_HIGH).req(VERY_LARGE).obj(),
                pods_of(&[
                    ("p1.1", "node1", MID, SMALL, 0),
                    ("p1.2", "node1", LOW, SMALL, 0),
                    ("p1.3", "node1", LOW, SMALL, 0),
                    ("p2.1", "node2", HIGH, LARGE, 0),
                    ("p3.1", "node3", MID, MEDIUM, 0),
                    ("p3.2", "node3", LOW, SMALL, 0),
                    ("p3.3", "node3", LOW, SMALL, 0),
                    ("p3.4", "node3", LOW, MEDIUM, 0),
                    ("p4.1", "node4", MID, MEDIUM, 0),
                    ("p4.2", "node4", MID, SMALL, 0),
                    ("p4.3", "node4", MID, SMALL, 0),
                    ("p4.4", "node4", NEG, SMALL, 0),
                ]),
                vec!["node1"],
            ),
            (
                "same priority, same number of victims, different start time for each node's pod",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", MID, MEDIUM, 2),
                    ("p1.2", "node1", MID, MEDIUM, 2),
                    ("p2.1", "node2", MID, MEDIUM, 3),
                    ("p2.2", "node2", MID, MEDIUM, 3),
                    ("p3.1", "node3", MID, MEDIUM, 1),
                    ("p3.2", "node3", MID, MEDIUM, 1),
                ]),
                vec!["node2"],
            ),
            (
                "same priority, same number of victims, different start time for all pods",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", MID, MEDIUM, 4),
                    ("p1.2", "node1", MID, MEDIUM, 2),
                    ("p2.1", "node2", MID, MEDIUM, 5),
                    ("p2.2", "node2", MID, MEDIUM, 1),
                    ("p3.1", "node3", MID, MEDIUM, 3),
                    ("p3.2", "node3", MID, MEDIUM, 6),
                ]),
                vec!["node3"],
            ),
            (
                "different priority, same number of victims, different start time for all pods",
                vec!["node1", "node2", "node3"],
                p.clone(),
                pods_of(&[
                    ("p1.1", "node1", LOW, MEDIUM, 4),
                    ("p1.2", "node1", MID, MEDIUM, 2),
                    ("p2.1", "node2", MID, MEDIUM, 6),
                    ("p2.2", "node2", LOW, MEDIUM, 1),
                    ("p3.1", "node3", LOW, MEDIUM, 3),
                    ("p3.2", "node3", MID, MEDIUM, 5),
                ]),
                vec!["node2"],
            ),
        ];
        for (name, nodes, preemptor, pods, expected) in cases {
            let got = select_best(&nodes, &preemptor, pods);
            assert!(expected.contains(&got.as_str()), "{name}: expected any of {expected:?}, got {got}");
        }
    }

    // ----- TestPickOneNodeForPreemption (generic_scheduler_test.go, before v1.20) -------------

    /// The cases the v1.32–v1.34 tests no longer have, on pick_one_node_for_preemption directly:
    /// "No node needs preemption" / "a pod that fits on a machine with no preemption" — a
    /// candidate without victims is picked at once.
    #[test]
    fn pick_one_node_for_preemption_node_without_victims() {
        let victim = make_pod("m1.1").priority(MID).start(epoch(0)).arc();
        let candidates = vec![
            Candidate {
                node: "machine1".into(),
                victims: Victims { pods: vec![victim.clone()], num_pdb_violations: 0 },
            },
            Candidate { node: "machine3".into(), victims: Victims::default() },
        ];
        assert_eq!(pick_one_node_for_preemption(&candidates, &now()), Some(1));
        assert_eq!(pick_one_node_for_preemption(&[], &now()), None);
    }

    /// PDB violations come first: fewer violations beat a lower highest priority.
    #[test]
    fn pick_one_node_for_preemption_prefers_fewer_pdb_violations() {
        let low = make_pod("a").priority(LOW).arc();
        let high = make_pod("b").priority(HIGH).arc();
        let candidates = vec![
            Candidate { node: "n1".into(), victims: Victims { pods: vec![low], num_pdb_violations: 1 } },
            Candidate { node: "n2".into(), victims: Victims { pods: vec![high], num_pdb_violations: 0 } },
        ];
        assert_eq!(pick_one_node_for_preemption(&candidates, &now()), Some(1));
    }

    // ----- TestPostFilter / TestPreempt (default_preemption_test.go) -------------------------

    struct PostFilterCase<'a> {
        name: &'a str,
        preemptor: Pod,
        cluster: Cluster,
        pdbs: Vec<PodDisruptionBudget>,
        /// Nodes whose filter status is Unschedulable (the rest are UnschedulableAndUnresolvable
        /// or absent).
        potential: &'a [&'a str],
        extra: &'a ExtraFilter<'a>,
        want: Want,
    }

    /// What a PostFilter case expects: the nominated node and its victims (in order), or an
    /// exact outcome.
    #[derive(Debug)]
    enum Want {
        Nominated(&'static str, Vec<&'static str>),
        Outcome(PreemptOutcome),
    }

    fn check_post_filter(c: &PostFilterCase<'_>) {
        let got = run_post_filter(c);
        match &c.want {
            Want::Nominated(node, victims) => {
                let victims: Vec<String> = victims.iter().map(|v| v.to_string()).collect();
                assert_eq!(nominated_on(&got), Some((node.to_string(), victims)), "{}", c.name);
                assert_eq!(got.message(), "", "{}", c.name);
            }
            Want::Outcome(want) => assert_eq!(&got, want, "{}", c.name),
        }
    }

    fn run_post_filter(c: &PostFilterCase<'_>) -> PreemptOutcome {
        let potential: Vec<String> = c.potential.iter().map(|s| s.to_string()).collect();
        let t = now();
        let nominated =
            c.preemptor.status.as_ref().and_then(|s| s.nominated_node_name.clone()).unwrap_or_default();
        let nominated_pods = c.cluster.pods_on(&nominated);
        let input = PreemptInput {
            preemptor: &c.preemptor,
            args: &PreemptionArgs::default(),
            num_all_nodes: c.cluster.nodes.len(),
            potential_nodes: &potential,
            nominated_node_unresolvable: !nominated.is_empty() && !c.potential.contains(&nominated.as_str()),
            nominated_node_pods: c
                .cluster
                .nodes
                .iter()
                .any(|n| n.0 == nominated)
                .then_some(&nominated_pods[..]),
            pdbs: &c.pdbs,
            now: &t,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut node_pods = |node: &str| c.cluster.pods_on(node);
        let mut fits =
            |node: &str, removed: &[Arc<Pod>]| c.cluster.fits(&c.preemptor, node, removed, c.extra);
        preempt(&input, &mut rng, &mut node_pods, &mut fits)
    }

    fn nominated_on(outcome: &PreemptOutcome) -> Option<(String, Vec<String>)> {
        match outcome {
            PreemptOutcome::Nominated { candidate } => Some((
                candidate.node.clone(),
                candidate.victims.pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn post_filter_upstream_cases() {
        let one_pod = capacity((0, 0), 1);
        let node_res = capacity((200, 400), 32);
        let default_ns = |name: &str| make_pod(name).ns("default");
        let no_candidate = |m: &str| Want::Outcome(PreemptOutcome::NoCandidate { message: m.to_string() });
        let label = "test.kubernetes.io/is-violating-pdb";
        let cases = vec![
            PostFilterCase {
                name: "pod with higher priority can be made schedulable",
                preemptor: default_ns("p").priority(HIGH).obj(),
                cluster: Cluster::with_caps(&[("node1", one_pod.clone())], vec![default_ns("p1").node("node1").arc()]),
                pdbs: vec![],
                potential: &["node1"],
                extra: &no_extra,
                want: Want::Nominated("node1", vec!["p1"]),
            },
            PostFilterCase {
                name: "pod with tied priority is still unschedulable",
                preemptor: default_ns("p").obj(),
                cluster: Cluster::with_caps(&[("node1", one_pod.clone())], vec![default_ns("p1").node("node1").arc()]),
                pdbs: vec![],
                potential: &["node1"],
                extra: &no_extra,
                want: no_candidate("preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."),
            },
            PostFilterCase {
                name: "preemption should respect filteredNodesStatuses",
                preemptor: default_ns("p").priority(HIGH).obj(),
                cluster: Cluster::with_caps(&[("node1", one_pod.clone())], vec![default_ns("p1").node("node1").arc()]),
                pdbs: vec![],
                potential: &[],
                extra: &no_extra,
                want: no_candidate("preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."),
            },
            // "preemption should respect absent NodeToStatusReader entry meaning
            // UnschedulableAndUnresolvable": the same input here (node1 not potential).
            PostFilterCase {
                name: "pod can be made schedulable on one node",
                preemptor: default_ns("p").priority(MID).obj(),
                cluster: Cluster::with_caps(
                    &[("node1", one_pod.clone()), ("node2", one_pod.clone())],
                    vec![
                        default_ns("p1").priority(HIGH).node("node1").arc(),
                        default_ns("p2").priority(LOW).node("node2").arc(),
                    ],
                ),
                pdbs: vec![],
                potential: &["node1", "node2"],
                extra: &no_extra,
                want: Want::Nominated("node2", vec!["p2"]),
            },
            PostFilterCase {
                name: "pod can be made schedulable on minHighestPriority node",
                preemptor: default_ns("p").priority(VERY_HIGH).obj(),
                cluster: Cluster::with_caps(
                    &[("node1", one_pod.clone()), ("node2", one_pod.clone())],
                    vec![
                        default_ns("p1").label(label, "non-violating").priority(HIGH).node("node1").arc(),
                        default_ns("p2").label(label, "violating").priority(LOW).node("node1").arc(),
                        default_ns("p3").label(label, "violating").priority(MID).node("node2").arc(),
                    ],
                ),
                pdbs: vec![
                    // MinAvailable 100%: no disruption allowed.
                    pdb("default", &[(label, "violating")], 0, &[]),
                    pdb("default", &[(label, "non-violating")], i32::MAX, &[]),
                ],
                potential: &["node1", "node2"],
                extra: &no_extra,
                want: Want::Nominated("node2", vec!["p3"]),
            },
            PostFilterCase {
                name: "no candidate nodes found, no enough resource after removing low priority pods",
                preemptor: default_ns("p").priority(HIGH).req(LARGE).obj(),
                cluster: Cluster::with_caps(
                    &[("node1", node_res.clone()), ("node2", node_res.clone())],
                    vec![default_ns("p1").node("node1").arc(), default_ns("p2").node("node2").arc()],
                ),
                pdbs: vec![],
                potential: &["node1", "node2"],
                extra: &no_extra,
                want: no_candidate("preemption: 0/2 nodes are available: 2 Insufficient cpu."),
            },
            PostFilterCase {
                name: "no candidate nodes found with mixed reasons, no lower priority pod and no enough CPU resource",
                preemptor: default_ns("p").priority(HIGH).req(LARGE).obj(),
                cluster: Cluster::with_caps(
                    &[("node1", one_pod.clone()), ("node2", node_res.clone()), ("node3", one_pod.clone())],
                    vec![
                        default_ns("p1").node("node1").priority(HIGH).arc(),
                        default_ns("p2").node("node2").arc(),
                        default_ns("p3").node("node3").priority(HIGH).arc(),
                    ],
                ),
                pdbs: vec![],
                potential: &["node1", "node2", "node3"],
                extra: &no_extra,
                want: no_candidate(
                    "preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod.",
                ),
            },
            PostFilterCase {
                name: "no candidate nodes found with mixed reason, 2 UnschedulableAndUnresolvable nodes and 2 nodes don't have enough CPU resource",
                preemptor: default_ns("p").priority(HIGH).req(LARGE).obj(),
                cluster: Cluster::with_caps(
                    &[
                        ("node1", node_res.clone()),
                        ("node2", node_res.clone()),
                        ("node3", node_res.clone()),
                        ("node4", node_res.clone()),
                    ],
                    vec![default_ns("p1").node("node1").arc(), default_ns("p2").node("node2").arc()],
                ),
                pdbs: vec![],
                potential: &["node1", "node2"],
                extra: &no_extra,
                want: no_candidate(
                    "preemption: 0/4 nodes are available: 2 Insufficient cpu, 2 Preemption is not helpful for scheduling.",
                ),
            },
        ];
        for c in &cases {
            check_post_filter(c);
        }
    }

    #[test]
    fn preempt_upstream_cases() {
        let pods = || {
            vec![
                make_pod("p1.1").node("node1").priority(LOW).req(SMALL).arc(),
                make_pod("p1.2").node("node1").priority(LOW).req(SMALL).arc(),
                make_pod("p2.1").node("node2").priority(HIGH).req(LARGE).arc(),
                make_pod("p3.1").node("node3").priority(MID).req(MEDIUM).arc(),
            ]
        };
        let nodes = ["node1", "node2", "node3"];
        let base = || make_pod("p").ns("default").priority(HIGH).req(VERY_LARGE);
        let never = "preemption: not eligible due to preemptionPolicy=Never.";
        for (name, preemptor, want) in [
            (
                "basic preemption logic",
                base().preemption_policy("PreemptLowerPriority").obj(),
                Want::Nominated("node1", vec!["p1.1", "p1.2"]),
            ),
            (
                "no preempting in pod",
                base().preemption_policy("Never").obj(),
                Want::Outcome(PreemptOutcome::NotEligible { message: never.into() }),
            ),
            ("PreemptionPolicy is nil", base().obj(), Want::Nominated("node1", vec!["p1.1", "p1.2"])),
        ] {
            check_post_filter(&PostFilterCase {
                name,
                preemptor,
                cluster: Cluster::new(&nodes, capacity(VERY_LARGE, 32), pods()),
                pdbs: vec![],
                potential: &nodes,
                extra: &no_extra,
                want,
            });
        }
        let spread_pods = vec![
            make_pod("p-a1").node("node-a").label("foo", "").priority(HIGH).arc(),
            make_pod("p-a2").node("node-a").label("foo", "").priority(HIGH).arc(),
            make_pod("p-b1").node("node-b").label("foo", "").priority(LOW).arc(),
            make_pod("p-x1").node("node-x").label("foo", "").priority(HIGH).arc(),
            make_pod("p-x2").node("node-x").label("foo", "").priority(HIGH).arc(),
        ];
        check_post_filter(&PostFilterCase {
            name: "preemption for topology spread constraints",
            preemptor: make_pod("p").ns("default").label("foo", "").priority(HIGH).obj(),
            cluster: Cluster::new(&["node-a", "node-b", "node-x"], capacity(VERY_LARGE, 32), spread_pods),
            pdbs: vec![],
            potential: &["node-a", "node-b", "node-x"],
            extra: &spread_filter,
            want: Want::Nominated("node-b", vec!["p-b1"]),
        });
    }

    /// Not an upstream case: an Error status from the dry run surfaces when there is no
    /// candidate (Preempt returns `fwk.AsStatus(err)`, prefixed by PostFilter).
    #[test]
    fn preempt_reports_dry_run_errors_without_candidates() {
        check_post_filter(&PostFilterCase {
            name: "fits without preemption",
            preemptor: make_pod("p").priority(HIGH).obj(),
            cluster: Cluster::new(
                &["node1"],
                capacity(VERY_LARGE, 32),
                vec![make_pod("p1").node("node1").priority(LOW).arc()],
            ),
            pdbs: vec![],
            potential: &["node1"],
            extra: &no_extra,
            want: Want::Outcome(PreemptOutcome::Error {
                message: "preemption: expected at least one victim pod on node \"node1\"".into(),
            }),
        });
    }

    // ----- TestPodEligibleToPreemptOthers (default_preemption_test.go) -----------------------

    #[test]
    fn pod_eligible_to_preempt_others_upstream_cases() {
        let terminating = [make_pod("p1").priority(LOW).node("node1").terminating().arc()];
        let victim_terminating = [make_pod("p1")
            .priority(LOW)
            .node("node1")
            .terminating()
            .condition("DisruptionTarget", "True", PREEMPTION_BY_SCHEDULER)
            .arc()];
        let nominated = make_pod("p_with_nominated_node").uid("p").priority(HIGH).nominated("node1").obj();
        // (name, pod, pods on the nominated node, nominated node unresolvable, want)
        type EligibleCase<'a> = (&'a str, Pod, Option<&'a [Arc<Pod>]>, bool, Result<(), String>);
        let cases: Vec<EligibleCase<'_>> = vec![
            ("Pod with nominated node", nominated.clone(), Some(&terminating[..]), true, Ok(())),
            (
                "Pod without nominated node",
                make_pod("p_without_nominated_node").uid("p").priority(HIGH).obj(),
                None,
                false,
                Ok(()),
            ),
            (
                "Pod with 'PreemptNever' preemption policy",
                make_pod("p_with_preempt_never_policy")
                    .uid("p")
                    .priority(HIGH)
                    .preemption_policy("Never")
                    .obj(),
                None,
                false,
                Err(NOT_ELIGIBLE_PREEMPT_NEVER.into()),
            ),
            (
                "preemption victim pod terminating, as indicated by the dedicated DisruptionTarget condition",
                nominated.clone(),
                Some(&victim_terminating[..]),
                false,
                Err(NOT_ELIGIBLE_TERMINATING_VICTIM.into()),
            ),
            ("non-victim Pods terminating", nominated.clone(), Some(&terminating[..]), false, Ok(())),
            // Not upstream: the nominated node is not in the snapshot.
            ("nominated node gone", nominated.clone(), None, false, Ok(())),
        ];
        for (name, pod, node_pods, unresolvable, want) in cases {
            assert_eq!(pod_eligible_to_preempt_others(&pod, node_pods, unresolvable), want, "{name}");
        }
        assert_eq!(NOT_ELIGIBLE_PREEMPT_NEVER, "not eligible due to preemptionPolicy=Never.");
        assert_eq!(
            NOT_ELIGIBLE_TERMINATING_VICTIM,
            "not eligible due to a terminating pod on the nominated node."
        );
    }

    // ----- calculateNumCandidates / GetOffsetAndNumCandidates --------------------------------
    // (no dedicated upstream unit test; expectations from TestDryRunPreemption's args cases and
    // the formula.)

    #[test]
    fn calculate_num_candidates_cases() {
        let args = |pct, abs| PreemptionArgs {
            min_candidate_nodes_percentage: pct,
            min_candidate_nodes_absolute: abs,
        };
        // TestDryRunPreemption: 5 nodes, 40% / 1 → 2; 40% / 2 → 2; default args on 2 nodes → 2.
        assert_eq!(calculate_num_candidates(5, &args(40, 1)), 2);
        assert_eq!(calculate_num_candidates(5, &args(40, 2)), 2);
        assert_eq!(calculate_num_candidates(2, &PreemptionArgs::default()), 2);
        // Defaults: at least 100 nodes, 10% beyond 1000 nodes.
        assert_eq!(calculate_num_candidates(500, &PreemptionArgs::default()), 100);
        assert_eq!(calculate_num_candidates(5000, &PreemptionArgs::default()), 500);
        assert_eq!(calculate_num_candidates(0, &PreemptionArgs::default()), 0);
        assert_eq!(calculate_num_candidates(10, &args(100, 0)), 10);
        // Invalid (negative) args do not underflow.
        assert_eq!(calculate_num_candidates(10, &args(-10, -1)), 0);
    }

    #[test]
    fn offset_and_num_candidates_cases() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        assert_eq!(offset_and_num_candidates(0, &PreemptionArgs::default(), &mut rng), (0, 0));
        for _ in 0..100 {
            let (offset, num) = offset_and_num_candidates(5, &PreemptionArgs::default(), &mut rng);
            assert!(offset < 5);
            assert_eq!(num, 5);
        }
        // Same seed, same offsets.
        let draw = |seed| {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            (0..10)
                .map(|_| offset_and_num_candidates(1000, &PreemptionArgs::default(), &mut r).0)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
    }

    // ----- filterPodsWithPDBViolation ---------------------------------------------------------
    // (no dedicated upstream unit test: the PDB cases of TestDryRunPreemption on the function,
    // plus the rules its comments state.)

    fn names(pods: &[Arc<Pod>]) -> Vec<String> {
        pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect()
    }

    #[test]
    fn filter_pods_with_pdb_violation_cases() {
        let foo = |name: &str| make_pod(name).label("app", "foo").arc();
        let three = [foo("p1.1"), foo("p1.2"), foo("p1.3")];
        // preemption with violation of same pdb: the second pod exhausts the budget of 1.
        let (v, nv) = filter_pods_with_pdb_violation(&three[..2], &[pdb("", &[("app", "foo")], 1, &[])]);
        assert_eq!((names(&v), names(&nv)), (vec!["p1.2".into()], vec!["p1.1".into()]));
        // A disrupted pod that is not a victim changes nothing.
        let (v, _) = filter_pods_with_pdb_violation(&three[..2], &[pdb("", &[("app", "foo")], 1, &["p2"])]);
        assert_eq!(names(&v), ["p1.2"]);
        // A victim already in disruptedPods does not decrement.
        let (v, nv) =
            filter_pods_with_pdb_violation(&three[..2], &[pdb("", &[("app", "foo")], 1, &["p1.2"])]);
        assert_eq!((v.len(), nv.len()), (0, 2));
        let (v, nv) = filter_pods_with_pdb_violation(&three, &[pdb("", &[("app", "foo")], 1, &["p1.3"])]);
        assert_eq!((names(&v), names(&nv)), (vec!["p1.2".into()], vec!["p1.1".into(), "p1.3".into()]));
        // Other namespace, empty selector, nil selector, unlabelled pod: no match.
        assert_eq!(
            filter_pods_with_pdb_violation(&three, &[pdb("other", &[("app", "foo")], 0, &[])]).0.len(),
            0
        );
        assert_eq!(filter_pods_with_pdb_violation(&three, &[pdb("", &[], 0, &[])]).0.len(), 0);
        let mut nil_selector = pdb("", &[], 0, &[]);
        nil_selector.spec = Some(PodDisruptionBudgetSpec::default());
        assert_eq!(filter_pods_with_pdb_violation(&three, &[nil_selector]).0.len(), 0);
        let unlabelled = [make_pod("bare").arc()];
        assert_eq!(
            filter_pods_with_pdb_violation(&unlabelled, &[pdb("", &[("app", "foo")], 0, &[])]).0.len(),
            0
        );
        // Every matching PDB is decremented (no early break); one exhausted is enough.
        let two = [pdb("", &[("app", "foo")], 5, &[]), pdb("", &[("app", "foo")], 0, &[])];
        assert_eq!(filter_pods_with_pdb_violation(&three[..1], &two).0.len(), 1);
    }

    // ----- select_victims_on_node ordering -----------------------------------------------------

    /// Reprieve order: PDB-violating pods first, then the rest, each most important first; the
    /// victims come back sorted by importance (SelectVictimsOnNode).
    #[test]
    fn select_victims_reprieves_violating_pods_first() {
        let pods = vec![
            make_pod("a").label("app", "foo").priority(LOW).req(MEDIUM).arc(),
            make_pod("b").priority(MID).req(MEDIUM).arc(),
            make_pod("c").label("app", "foo").priority(LOW).req(MEDIUM).arc(),
        ];
        let preemptor = make_pod("p").priority(HIGH).req(MEDIUM).obj();
        let cap = capacity(VERY_LARGE, 32);
        let mut order = Vec::new();
        let mut fits = |removed: &[Arc<Pod>]| {
            order.push(names(removed));
            let remaining: Vec<Arc<Pod>> =
                pods.iter().filter(|p| !removed.iter().any(|r| Arc::ptr_eq(r, p))).cloned().collect();
            resource_fit(&preemptor, &remaining, &cap)
        };
        let victims = select_victims_on_node(
            &preemptor,
            &pods,
            &[pdb("", &[("app", "foo")], 1, &[])],
            &now(),
            &mut fits,
        )
        .unwrap();
        // Importance order b, a, c; c violates (a took the budget of 1). Reprieve c first (fits:
        // 200 + 200), then b (600 > 500: victim), then a (600: victim).
        assert_eq!(order, [vec!["a", "b", "c"], vec!["a", "b"], vec!["a"], vec!["b"]]);
        assert_eq!(names(&victims.pods), ["b", "a"]);
        assert_eq!(victims.num_pdb_violations, 0);
        let mut never = |_: &[Arc<Pod>]| Err(vec!["Insufficient cpu".to_string()]);
        assert_eq!(
            select_victims_on_node(&preemptor, &pods, &[], &now(), &mut never),
            Err(NodeFailure::Unfit(vec!["Insufficient cpu".into()]))
        );
        let mut unused =
            |_: &[Arc<Pod>]| -> Result<(), Vec<String>> { unreachable!("no victims, no filter run") };
        let low = make_pod("q").priority(LOW).obj();
        assert_eq!(
            select_victims_on_node(&low, &pods, &[], &now(), &mut unused),
            Err(NodeFailure::NoVictims)
        );
    }

    // ----- TestMoreImportantPod / TestGetEarliestPodStartTime (util/utils_test.go) -------------

    #[test]
    fn more_important_pod_upstream_cases() {
        let t = |secs: i64| Time(DateTime::from_timestamp(1000 + secs, 0).unwrap());
        let pod1 = make_pod("pod1").priority(1).start(t(0)).obj();
        let pod2 = make_pod("pod2").priority(2).start(t(1)).obj();
        let pod3 = make_pod("pod3").priority(2).start(t(0)).obj();
        // "Pod with higher priority", "Pod with older created time", "Pods with same start time"
        assert!(!more_important_pod(&pod1, &pod2, &now()));
        assert!(!more_important_pod(&pod2, &pod3, &now()));
        assert!(more_important_pod(&pod3, &pod1, &now()));
        // Not upstream: a pod that has not started counts as starting now (the latest).
        let unstarted = make_pod("u").priority(2).obj();
        assert!(more_important_pod(&pod2, &unstarted, &now()));
        assert!(!more_important_pod(&unstarted, &pod2, &now()));
        assert_eq!(pod_start_time(&unstarted, &now()), now());
    }

    #[test]
    fn earliest_pod_start_time_upstream_cases() {
        let t = |secs: i64| Time(DateTime::from_timestamp(1000 + secs, 0).unwrap());
        let victims = [
            make_pod("pod1").priority(1).start(t(1)).arc(),
            make_pod("pod2").priority(2).start(t(1)).arc(),
            make_pod("pod3").priority(2).start(t(0)).arc(),
        ];
        assert_eq!(earliest_pod_start_time(&victims, &now()), Some(t(0)));
        let victims = [
            make_pod("pod1").priority(2).start(t(0)).arc(),
            make_pod("pod2").priority(2).start(t(1)).arc(),
            make_pod("pod3").priority(2).start(t(2)).arc(),
        ];
        assert_eq!(earliest_pod_start_time(&victims, &now()), Some(t(0)));
        assert_eq!(earliest_pod_start_time(&[], &now()), None);
    }

    // ----- TestValidateDefaultPreemptionArgs (validation_pluginargs_test.go) -------------------

    #[test]
    fn validate_default_preemption_args_upstream_cases() {
        let args = |pct, abs| PreemptionArgs {
            min_candidate_nodes_percentage: pct,
            min_candidate_nodes_absolute: abs,
        };
        let fields = |a: PreemptionArgs| a.validate(None).into_iter().map(|e| e.field).collect::<Vec<_>>();
        let pct = "minCandidateNodesPercentage";
        let abs = "minCandidateNodesAbsolute";
        assert!(fields(args(10, 100)).is_empty(), "valid args (default)");
        assert_eq!(fields(args(-1, 100)), [pct], "negative minCandidateNodesPercentage");
        assert_eq!(fields(args(900, 100)), [pct], "minCandidateNodesPercentage over 100");
        assert_eq!(fields(args(20, -1)), [abs], "negative minCandidateNodesAbsolute");
        assert_eq!(fields(args(0, 0)), [pct, abs], "all zero");
        assert_eq!(fields(args(-1, -1)), [pct, abs], "both negative");
        // Messages as field.Invalid renders them, and the aggregate New returns.
        let msgs: Vec<String> = args(-1, -1).validate(None).iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            [
                "minCandidateNodesPercentage: Invalid value: -1: not in valid range [0, 100]",
                "minCandidateNodesAbsolute: Invalid value: -1: not in valid range [0, inf)",
            ]
        );
        let zero = args(0, 0).validate(Some("profiles[0].pluginConfig[0].args"));
        assert_eq!(
            zero[0].to_string(),
            "profiles[0].pluginConfig[0].args.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute"
        );
        assert_eq!(
            PreemptionArgs::from_json(&serde_json::json!({"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0})),
            Err("[minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute, minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as minCandidateNodesPercentage]".to_string())
        );
        assert_eq!(
            PreemptionArgs::from_json(&serde_json::json!({"minCandidateNodesPercentage": 900})),
            Err("minCandidateNodesPercentage: Invalid value: 900: not in valid range [0, 100]".to_string())
        );
    }

    #[test]
    fn args_from_json() {
        use serde_json::json;
        assert_eq!(PreemptionArgs::from_json(&json!(null)), Ok(PreemptionArgs::default()));
        assert_eq!(PreemptionArgs::from_json(&json!({})), Ok(PreemptionArgs::default()));
        assert_eq!(
            PreemptionArgs::from_json(&json!({
                "apiVersion": "kubescheduler.config.k8s.io/v1",
                "kind": "DefaultPreemptionArgs",
                "minCandidateNodesPercentage": 40,
                "minCandidateNodesAbsolute": 1
            })),
            Ok(PreemptionArgs { min_candidate_nodes_percentage: 40, min_candidate_nodes_absolute: 1 })
        );
        // Explicit zero is kept (only absent fields are defaulted).
        assert_eq!(
            PreemptionArgs::from_json(&json!({"minCandidateNodesAbsolute": 0})),
            Ok(PreemptionArgs { min_candidate_nodes_percentage: 10, min_candidate_nodes_absolute: 0 })
        );
        assert_eq!(
            PreemptionArgs::from_json(&json!({"minCandidateNodesPercent": 5})),
            Err("decoding args for plugin DefaultPreemption: strict decoding error: unknown field \"minCandidateNodesPercent\"".to_string())
        );
        assert_eq!(
            PreemptionArgs::from_json(&json!({"minCandidateNodesAbsolute": "100"})),
            Err("decoding args for plugin DefaultPreemption: json: cannot unmarshal string into Go struct field DefaultPreemptionArgs.minCandidateNodesAbsolute of type int32".to_string())
        );
        assert_eq!(
            PreemptionArgs::from_json(&json!({"minCandidateNodesAbsolute": 1.5})),
            Err("decoding args for plugin DefaultPreemption: json: cannot unmarshal number 1.5 into Go struct field DefaultPreemptionArgs.minCandidateNodesAbsolute of type int32".to_string())
        );
        assert_eq!(
            PreemptionArgs::from_json(&json!({"kind": "InterPodAffinityArgs", "apiVersion": "kubescheduler.config.k8s.io/v1"})),
            Err("args for plugin DefaultPreemption were not of type DefaultPreemptionArgs.kubescheduler.config.k8s.io, got InterPodAffinityArgs.kubescheduler.config.k8s.io".to_string())
        );
        assert!(PreemptionArgs::from_json(&json!([1])).is_err());
    }

    // ----- fit_error_message / prepareCandidate texts -----------------------------------------

    #[test]
    fn fit_error_message_histogram() {
        let explicit = vec![vec!["Insufficient cpu".to_string()], vec![NO_VICTIMS_REASON.to_string()]];
        assert_eq!(
            fit_error_message(12, &explicit, &[NOT_HELPFUL_REASON]),
            "0/12 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 10 Preemption is not helpful for scheduling."
        );
        assert_eq!(fit_error_message(0, &[], &[NOT_HELPFUL_REASON]), "0/0 nodes are available:");
    }

    #[test]
    fn prepare_candidate_texts() {
        let preemptor = make_pod("p").uid("uid-1").scheduler_name("default-scheduler").priority(HIGH).obj();
        let cond = preemption_condition(&preemptor, epoch(0));
        assert_eq!(
            (cond.type_.as_str(), cond.status.as_str(), cond.reason.as_deref(), cond.message.as_deref()),
            (
                "DisruptionTarget",
                "True",
                Some("PreemptionByScheduler"),
                Some("default-scheduler: preempting to accommodate a higher priority pod")
            )
        );
        assert_eq!(preempted_event_message(&preemptor, "node1"), "Preempted by pod uid-1 on node node1");
        let nominated = [make_pod("low").priority(LOW).arc(), make_pod("same").priority(HIGH).arc()];
        assert_eq!(names(&lower_priority_nominated_pods(&preemptor, &nominated)), ["low"]);
        let candidate = Candidate {
            node: "node1".into(),
            victims: Victims {
                pods: vec![make_pod("a").arc(), make_pod("b").terminating().arc()],
                num_pdb_violations: 0,
            },
        };
        assert_eq!(names(&victims_to_preempt(&candidate)), ["a"]);
        assert!(pod_terminating_by_preemption(
            &make_pod("v").terminating().condition("DisruptionTarget", "True", PREEMPTION_BY_SCHEDULER).obj()
        ));
        assert!(!pod_terminating_by_preemption(
            &make_pod("v").condition("DisruptionTarget", "True", PREEMPTION_BY_SCHEDULER).obj()
        ));
    }
}
