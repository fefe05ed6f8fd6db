//! One scheduling cycle, as pkg/scheduler/schedule_one.go runs it (`schedulePod`,
//! `findNodesThatFitPod`, `findNodesThatPassFilters`, `prioritizeNodes`, `selectHost`) and
//! the framework's `RunFilterPluginsWithNominatedPods`:
//!
//! 1. no nodes → "no nodes available to schedule pods";
//! 2. PreFilter; a rejection fails every node with its status;
//! 3. a pod with `status.nominatedNodeName` tries that node first;
//! 4. Filter from the round-robin start index until `numFeasibleNodesToFind` nodes fit (one if
//!    the profile has no score plugins), in index order (upstream fans out over goroutines;
//!    checking in order gives the same set on a quiet cluster and is deterministic);
//! 5. none fits → PostFilter (preemption); one fits → chosen without scoring;
//! 6. PreScore, Score, NormalizeScore, × weight, Σ; the highest total wins, ties broken
//!    uniformly by reservoir sampling with the scheduler's own random stream.
//!
//! When asked to, the cycle records every examined node's verdict and every plugin's
//! normalized score for `kubesim explain` and `decisions.csv`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use rand::Rng;

use super::cache::{NodeInfo, Snapshot};
use super::framework::{
    Code, CycleState, FilterRunner, NodeToStatus, PostFilterContext, PostFilterResult, Profile, Status,
    MAX_NODE_SCORE, MIN_NODE_SCORE,
};
use super::plugins::default_preemption;

/// `numFeasibleNodesToFind` with the adaptive percentage (percentageOfNodesToScore 0).
pub fn num_feasible_nodes_to_find(num_nodes: usize, percentage: u32) -> usize {
    const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
    const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;
    if num_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_nodes;
    }
    let mut pct = i64::from(percentage);
    if pct == 0 {
        pct = 50 - num_nodes as i64 / 125;
        if pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND {
            pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
        }
    }
    let n = (num_nodes as i64 * pct / 100) as usize;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Pods nominated to nodes by preemption and not yet bound: node → pods.
pub type NominatedPods = BTreeMap<String, Vec<Arc<Pod>>>;

fn priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// Runs the profile's filters as upstream's `RunFilterPluginsWithNominatedPods`: first with
/// the nominated pods of equal or higher priority added to the node, then, if that passes and
/// pods were added, once more without them.
pub fn filter_with_nominated(
    profile: &Profile,
    nominated: &NominatedPods,
    state: &CycleState,
    pod: &Pod,
    node: &NodeInfo,
) -> Status {
    if nominated.is_empty() {
        return profile.run_filters(state, pod, node);
    }
    let own_uid = pod.metadata.uid.as_deref();
    let to_add: Vec<&Arc<Pod>> = nominated
        .get(node.name())
        .into_iter()
        .flatten()
        .filter(|p| priority(p) >= priority(pod) && p.metadata.uid.as_deref() != own_uid)
        .collect();
    if to_add.is_empty() {
        return profile.run_filters(state, pod, node);
    }
    let mut state_with = state.clone();
    let mut node_with = node.clone();
    for p in &to_add {
        node_with.add_pod((*p).clone());
        let s = profile.run_add_pod(&mut state_with, pod, p, &node_with);
        if !s.is_success() {
            return s;
        }
    }
    let first = profile.run_filters(&state_with, pod, &node_with);
    if !first.is_success() {
        return first;
    }
    profile.run_filters(state, pod, node)
}

/// The filter re-runs preemption needs.
pub struct ProfileFilters<'a> {
    pub profile: &'a Profile,
    pub nominated: &'a NominatedPods,
}

impl FilterRunner for ProfileFilters<'_> {
    fn fits_without(&self, state: &CycleState, pod: &Pod, node: &NodeInfo, removed: &[Arc<Pod>]) -> Status {
        let mut state = state.clone();
        let mut node = node.clone();
        for p in removed {
            node.remove_pod(p.metadata.uid.as_deref().unwrap_or(""));
            let s = self.profile.run_remove_pod(&mut state, pod, p, &node);
            if !s.is_success() {
                return s;
            }
        }
        filter_with_nominated(self.profile, self.nominated, &state, pod, &node)
    }
}

/// Why no node fits (framework.FitError), with upstream's message.
#[derive(Clone, Debug)]
pub struct FitError {
    pub num_all_nodes: usize,
    pub statuses: NodeToStatus,
    /// Set when PreFilter rejected the pod (every node has that status).
    pub pre_filter_msg: Option<String>,
    /// What PostFilter (preemption) said.
    pub post_filter_msg: Option<String>,
}

impl FitError {
    /// FitError.Error() (framework/types.go): "0/N nodes are available: " + the reasons
    /// counted per node and sorted + "." + the PostFilter message.
    pub fn message(&self) -> String {
        let mut msg = match &self.pre_filter_msg {
            Some(pre) => format!("0/{} nodes are available: {pre}.", self.num_all_nodes),
            None => {
                // The same histogram preemption prints for its own dry run.
                let explicit: Vec<Vec<String>> =
                    self.statuses.explicit.values().map(|s| s.reasons.clone()).collect();
                let absent: Vec<&str> =
                    self.statuses.absent.iter().flat_map(|s| s.reasons.iter().map(String::as_str)).collect();
                default_preemption::fit_error_message(self.num_all_nodes, &explicit, &absent)
            }
        };
        if let Some(post) = self.post_filter_msg.as_deref().filter(|m| !m.is_empty()) {
            msg.push_str(&format!(" {post}."));
        }
        msg
    }
}

/// One node's verdict in a recorded cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeVerdict {
    pub node: String,
    /// `None` when the node passed every filter.
    pub rejection: Option<(String, String)>,
}

/// One feasible node's scores in a recorded cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeScores {
    pub node: String,
    /// Normalized score per score plugin, in `CycleRecord::score_plugins` order; `None` for a
    /// plugin whose PreScore returned Skip.
    pub scores: Vec<Option<i64>>,
    pub total: i64,
}

/// What `kubesim explain` shows of one cycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleRecord {
    /// Nodes in the order they were examined.
    pub verdicts: Vec<NodeVerdict>,
    /// Nodes never examined (the search stopped after enough feasible nodes).
    pub not_examined: usize,
    pub score_plugins: Vec<(String, i64)>,
    pub scores: Vec<NodeScores>,
    /// Why scoring did not run: "one feasible node", "nominated node", "no score plugins".
    pub scoring_skipped: Option<String>,
    pub pre_filter_rejection: Option<(String, String)>,
}

/// The outcome of one cycle.
#[derive(Debug)]
pub enum Outcome {
    Scheduled {
        node: String,
    },
    /// No node fits: the FailedScheduling message and what PostFilter (preemption) decided.
    Unschedulable {
        message: String,
        post_filter: Option<PostFilterResult>,
    },
    /// An internal error (a plugin's Error status); the pod is retried with back-off.
    Error(String),
}

/// Everything a cycle needs besides the profile.
pub struct CycleContext<'a> {
    pub snapshot: Snapshot<'a>,
    pub nominated: &'a NominatedPods,
    pub next_start_node_index: &'a mut usize,
    pub rng: &'a mut dyn rand::RngCore,
    pub cycle_seed: u64,
    /// The current virtual time as an API timestamp (preemption compares start times).
    pub now: Time,
    pub record: Option<&'a mut CycleRecord>,
}

/// Runs one scheduling cycle of `pod` in `profile`.
pub fn schedule_pod(profile: &Profile, pod: &Pod, cx: CycleContext<'_>) -> Outcome {
    let CycleContext { snapshot, nominated, next_start_node_index, rng, cycle_seed, now, mut record } = cx;
    let all = snapshot.nodes;
    if all.is_empty() {
        // ErrNoNodesAvailable: UnschedulableAndUnresolvable, no PostFilter, nomination cleared.
        return Outcome::Unschedulable {
            message: "no nodes available to schedule pods".into(),
            post_filter: Some(PostFilterResult { nominated_node: Some(String::new()), victims: Vec::new() }),
        };
    }
    let mut state = CycleState::new(cycle_seed);
    let (pre_result, pre_status, narrowing) = profile.run_pre_filter(&mut state, pod, &snapshot);
    if pre_status.code == Code::Error {
        return Outcome::Error(pre_status.message());
    }
    let mut statuses = NodeToStatus::default();
    if pre_status.is_rejected() {
        if let Some(r) = record.as_deref_mut() {
            r.pre_filter_rejection = Some((pre_status.plugin.clone(), pre_status.message()));
        }
        let msg = pre_status.message();
        statuses.absent = Some(pre_status);
        return post_filter(
            profile,
            pod,
            &state,
            &snapshot,
            nominated,
            rng,
            &now,
            statuses,
            Some(msg),
            all.len(),
        );
    }

    // A nominated node (from an earlier preemption) is tried first.
    let nominated_node =
        pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).filter(|n| !n.is_empty());
    if let Some(info) = nominated_node.and_then(|n| snapshot.get(n)) {
        // evaluateNominatedNode filters the nominated node whatever PreFilterResult says.
        if filter_with_nominated(profile, nominated, &state, pod, info).is_success() {
            if let Some(r) = record.as_deref_mut() {
                r.verdicts.push(NodeVerdict { node: info.name().to_string(), rejection: None });
                r.scoring_skipped = Some("nominated node".into());
            }
            return Outcome::Scheduled { node: info.name().to_string() };
        }
    }

    // The nodes PreFilter left: all of them (indexed in place, not copied: this runs every
    // cycle over thousands of nodes), or the listed ones in snapshot order.
    let narrowed: Option<Vec<&NodeInfo>> = match &pre_result.node_names {
        None => None,
        Some(names) => {
            let plugins: Vec<&str> = narrowing.iter().map(String::as_str).collect();
            statuses.absent = Some(Status::unresolvable(format!(
                "node(s) didn't satisfy plugin(s) [{}]",
                plugins.join(" ")
            )));
            // PreFilterResult.NodeNames is a set; list it in snapshot order for determinism.
            Some(all.iter().filter(|n| names.contains(n.name())).collect())
        }
    };
    let candidate = |i: usize| -> &NodeInfo {
        match &narrowed {
            None => &all[i],
            Some(listed) => listed[i],
        }
    };
    let n = narrowed.as_ref().map_or(all.len(), Vec::len);
    let mut to_find = num_feasible_nodes_to_find(n, profile.percentage_of_nodes_to_score);
    if !profile.has_score_plugins() {
        to_find = to_find.min(1);
    }
    let mut feasible: Vec<&NodeInfo> = Vec::new();
    let mut processed = 0;
    if n > 0 {
        for i in 0..n {
            let info = candidate((*next_start_node_index + i) % n);
            processed += 1;
            let s = if profile.has_filter_plugins() {
                filter_with_nominated(profile, nominated, &state, pod, info)
            } else {
                Status::success()
            };
            if s.code == Code::Error {
                *next_start_node_index = (*next_start_node_index + processed) % all.len();
                return Outcome::Error(format!("running {:?} filter plugin: {}", s.plugin, s.message()));
            }
            if let Some(r) = record.as_deref_mut() {
                let rejection = (!s.is_success()).then(|| (s.plugin.clone(), s.message()));
                r.verdicts.push(NodeVerdict { node: info.name().to_string(), rejection });
            }
            if s.is_success() {
                feasible.push(info);
                if feasible.len() >= to_find {
                    break;
                }
            } else {
                statuses.explicit.insert(info.name().to_string(), s);
            }
        }
        if let Some(r) = record.as_deref_mut() {
            r.not_examined = n - processed;
        }
    }
    *next_start_node_index = (*next_start_node_index + processed) % all.len();
    if feasible.is_empty() {
        return post_filter(profile, pod, &state, &snapshot, nominated, rng, &now, statuses, None, all.len());
    }
    if feasible.len() == 1 {
        if let Some(r) = record.as_deref_mut() {
            r.scoring_skipped = Some("only one feasible node".into());
        }
        return Outcome::Scheduled { node: feasible[0].name().to_string() };
    }
    match prioritize(profile, pod, &mut state, &feasible, &snapshot, record) {
        Err(e) => Outcome::Error(e),
        Ok(totals) => {
            let idx = select_host(&totals, rng);
            Outcome::Scheduled { node: feasible[idx].name().to_string() }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn post_filter(
    profile: &Profile,
    pod: &Pod,
    state: &CycleState,
    snapshot: &Snapshot<'_>,
    nominated: &NominatedPods,
    rng: &mut dyn rand::RngCore,
    now: &Time,
    statuses: NodeToStatus,
    pre_filter_msg: Option<String>,
    num_all_nodes: usize,
) -> Outcome {
    let mut fit_error = FitError { num_all_nodes, statuses, pre_filter_msg, post_filter_msg: None };
    let runner = ProfileFilters { profile, nominated };
    // RunPostFilterPlugins: the first success wins; UnschedulableAndUnresolvable stops the
    // run; otherwise the reasons of every plugin are joined. A PostFilter error only adds its
    // message (schedulingCycle keeps the pod Unschedulable).
    let mut result = None;
    let mut reasons: Vec<String> = Vec::new();
    for p in profile.plugins_at_post_filter() {
        let pf = p.as_post_filter().expect("validated at configuration");
        let cx = PostFilterContext {
            snapshot,
            statuses: &fit_error.statuses,
            filters: &runner,
            rng: &mut *rng,
            now: now.clone(),
        };
        let (r, s) = pf.post_filter(state, pod, cx);
        if s.is_success() {
            result = r;
            reasons.clear();
            break;
        }
        if r.is_some() {
            result = r;
        }
        if s.code == Code::UnschedulableAndUnresolvable {
            reasons = s.reasons;
            break;
        }
        reasons.extend(s.reasons);
    }
    fit_error.post_filter_msg = Some(reasons.join(", "));
    Outcome::Unschedulable { message: fit_error.message(), post_filter: result }
}

/// PreScore, Score, NormalizeScore and weights: the total per feasible node.
fn prioritize(
    profile: &Profile,
    pod: &Pod,
    state: &mut CycleState,
    feasible: &[&NodeInfo],
    snapshot: &Snapshot<'_>,
    mut record: Option<&mut CycleRecord>,
) -> Result<Vec<i64>, String> {
    if !profile.has_score_plugins() {
        if let Some(r) = record.as_deref_mut() {
            r.scoring_skipped = Some("no score plugins".into());
            r.scores = feasible
                .iter()
                .map(|n| NodeScores { node: n.name().to_string(), scores: vec![], total: 1 })
                .collect();
        }
        return Ok(vec![1; feasible.len()]);
    }
    profile.run_pre_score(state, pod, feasible, snapshot)?;
    let mut totals = vec![0_i64; feasible.len()];
    let mut per_plugin: Vec<Option<Vec<i64>>> = Vec::new();
    for (sp, name, weight) in profile.score_plugins(state) {
        let Some(sp) = sp else {
            per_plugin.push(None);
            continue;
        };
        let mut scores = Vec::with_capacity(feasible.len());
        for info in feasible {
            let s = sp.score(state, pod, info, snapshot).map_err(|s| {
                format!("running Score plugins: plugin {name:?} failed with: {}", s.message())
            })?;
            scores.push(s);
        }
        let s = sp.normalize(state, pod, feasible, &mut scores);
        if !s.is_success() {
            return Err(format!(
                "running Normalize on Score plugins: plugin {name:?} failed with: {}",
                s.message()
            ));
        }
        for (i, s) in scores.iter().enumerate() {
            if *s < MIN_NODE_SCORE || *s > MAX_NODE_SCORE {
                return Err(format!(
                    "applying score defaultWeights on Score plugins: plugin {name:?} returns an invalid score {s}, it should in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing"
                ));
            }
            totals[i] += s * weight;
        }
        per_plugin.push(Some(scores));
    }
    if let Some(r) = record {
        r.score_plugins = profile.score_weights();
        r.scores = feasible
            .iter()
            .enumerate()
            .map(|(i, n)| NodeScores {
                node: n.name().to_string(),
                scores: per_plugin.iter().map(|s| s.as_ref().map(|v| v[i])).collect(),
                total: totals[i],
            })
            .collect();
    }
    Ok(totals)
}

/// selectHost: the highest total; among equal totals each is chosen with equal probability
/// (reservoir sampling).
pub fn select_host(totals: &[i64], rng: &mut dyn rand::RngCore) -> usize {
    let mut best: Option<(i64, usize)> = None;
    let mut ties = 0u32;
    for (i, &total) in totals.iter().enumerate() {
        match best {
            Some((b, _)) if total < b => {}
            Some((b, _)) if total == b => {
                ties += 1;
                if rng.gen_range(0..ties) == 0 {
                    best = Some((total, i));
                }
            }
            _ => {
                best = Some((total, i));
                ties = 1;
            }
        }
    }
    best.map_or(0, |(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasible_nodes_to_find_is_adaptive() {
        // schedule_one_test.go TestNumFeasibleNodesToFind.
        assert_eq!(num_feasible_nodes_to_find(10, 0), 10);
        assert_eq!(num_feasible_nodes_to_find(50, 0), 50);
        assert_eq!(num_feasible_nodes_to_find(1000, 0), 420); // 50 - 8 = 42%
        assert_eq!(num_feasible_nodes_to_find(1000, 40), 400);
        assert_eq!(num_feasible_nodes_to_find(5000, 0), 500); // 50 - 40 = 10%
        assert_eq!(num_feasible_nodes_to_find(6000, 0), 300); // floored at 5%
        assert_eq!(num_feasible_nodes_to_find(150, 10), 100); // floored at 100 nodes
    }

    #[test]
    fn fit_error_message_is_upstream_format() {
        let st = |r: &str, code| Status::new(code, vec![r.to_string()]);
        let fe = FitError {
            num_all_nodes: 3,
            statuses: NodeToStatus {
                explicit: [
                    ("a".into(), st("Insufficient cpu", Code::Unschedulable)),
                    (
                        "b".into(),
                        st(
                            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
                            Code::UnschedulableAndUnresolvable,
                        ),
                    ),
                    ("c".into(), st("Insufficient cpu", Code::Unschedulable)),
                ]
                .into(),
                absent: None,
            },
            pre_filter_msg: None,
            post_filter_msg: Some("preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.".into()),
        };
        assert_eq!(
            fe.message(),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.."
        );
    }
}
