//! kube-scheduler: watches pods and nodes, queues pods that name this scheduler and have no
//! node, runs one scheduling cycle per pod (filter → score → select) and binds the winner
//! through the API server.
//!
//! The cycle follows pkg/scheduler/schedule_one.go: nodes are examined from a round-robin start
//! index and the search stops after `numFeasibleNodesToFind` feasible nodes; one feasible node
//! is chosen without scoring; otherwise the weighted sum of normalized plugin scores decides and
//! ties are broken uniformly at random (reservoir sampling, from the scheduler's own stream).
//! Filters run in index order rather than in parallel, so the result is deterministic.

pub mod cache;
pub mod plugins;
pub mod queue;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use rand::Rng;

use crate::api::pod as podutil;
use crate::api::KindOf;
use crate::api::{Kind, Object};
use crate::apiserver::{Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, Timer};
use cache::{nonzero_requests, Cache};
use plugins::Rejection;
use queue::SchedulingQueue;

/// Score plugin weights of the default profile.
pub const WEIGHT_TAINT_TOLERATION: i64 = 3;
pub const WEIGHT_NODE_AFFINITY: i64 = 2;
pub const WEIGHT_NODE_RESOURCES_FIT: i64 = 1;
pub const WEIGHT_BALANCED_ALLOCATION: i64 = 1;

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

/// The outcome of one cycle.
#[derive(Debug)]
pub enum Decision {
    Bind(String),
    Unschedulable { message: String },
}

/// The scheduler component.
pub struct Scheduler {
    scheduler_name: String,
    pods: Option<Informer>,
    nodes: Option<Informer>,
    cache: Cache,
    queue: SchedulingQueue,
    next_start_node_index: usize,
    cycle_armed: bool,
    flush_armed: bool,
    /// Last FailedScheduling message per pod, so a pod that keeps failing for the same reason
    /// is reported once (upstream's event broadcaster folds repeats into a count).
    last_failure: BTreeMap<Arc<str>, String>,
    /// Percentage of nodes to score (0 = adaptive).
    pub percentage_of_nodes_to_score: u32,
}

impl Scheduler {
    pub fn new(scheduler_name: &str) -> Self {
        Scheduler {
            scheduler_name: scheduler_name.to_string(),
            pods: None,
            nodes: None,
            cache: Cache::default(),
            queue: SchedulingQueue::default(),
            next_start_node_index: 0,
            cycle_armed: false,
            flush_armed: false,
            last_failure: BTreeMap::new(),
            percentage_of_nodes_to_score: 0,
        }
    }

    fn reporter(&self) -> Reporter<'_> {
        Reporter { component: &self.scheduler_name, host: None }
    }

    fn wants(&self, pod: &Pod) -> bool {
        let spec = pod.spec.as_ref();
        podutil::node_name(pod).is_none()
            && pod.metadata.deletion_timestamp.is_none()
            && !podutil::is_terminal(pod)
            && spec.and_then(|s| s.scheduler_name.as_deref()).unwrap_or("default-scheduler")
                == self.scheduler_name
            && spec.and_then(|s| s.scheduling_gates.as_ref()).is_none_or(Vec::is_empty)
    }

    fn arm_cycle(&mut self, ctx: &mut Context<'_>) {
        if !self.cycle_armed && self.queue.has_active() {
            self.cycle_armed = true;
            ctx.after(SimDuration::ZERO, Event::Timer(Timer::ScheduleOne));
        }
        if !self.flush_armed && self.queue.has_waiting() {
            self.flush_armed = true;
            ctx.after(SimDuration::from_secs(1), Event::Timer(Timer::FlushBackoff));
        }
    }

    /// A pod changed; `old` is its previous state in the informer.
    fn on_pod(
        &mut self,
        ctx: &mut Context<'_>,
        kind: WatchEventType,
        obj: &Arc<Object>,
        old: Option<&Arc<Object>>,
    ) {
        let Some(pod) = obj.as_type::<Pod>() else {
            return;
        };
        let uid: Arc<str> = Arc::from(obj.uid());
        if kind == WatchEventType::Deleted {
            let was_assigned = podutil::node_name(pod).is_some();
            self.cache.remove_pod(&uid);
            self.queue.remove(&uid);
            self.last_failure.remove(&uid);
            if was_assigned {
                self.queue.move_all_unschedulable(ctx.now());
            }
            return;
        }
        if podutil::node_name(pod).is_some() {
            self.queue.remove(&uid);
            let was_terminal = old.and_then(|o| o.as_type::<Pod>()).is_some_and(podutil::is_terminal);
            self.cache.upsert_pod(uid.clone(), pod);
            if podutil::is_terminal(pod) && !was_terminal {
                self.queue.move_all_unschedulable(ctx.now());
            }
        } else if self.wants(pod) {
            self.queue.add(uid, pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0));
        } else {
            self.queue.remove(&uid);
        }
    }

    fn schedule_one(&mut self, ctx: &mut Context<'_>) {
        let Some(uid) = self.queue.pop() else { return };
        let Some(obj) = self.pods.as_ref().and_then(|p| p.iter().find(|o| o.uid() == &*uid).cloned()) else {
            self.queue.remove(&uid);
            return;
        };
        let pod = obj.as_type::<Pod>().expect("pod informer").clone();
        if !self.wants(&pod) {
            self.queue.remove(&uid);
            return;
        }
        match self.decide(ctx, &pod) {
            Decision::Bind(node) => {
                let (ns, name) = (obj.namespace().unwrap_or("default").to_string(), obj.name().to_string());
                match ctx.api.bind(&ns, &name, &node) {
                    Ok(bound) => {
                        self.queue.remove(&uid);
                        self.last_failure.remove(&uid);
                        // Assume the pod on its node until the watch confirms it.
                        if let Some(p) = bound.as_type::<Pod>() {
                            self.cache.upsert_pod(uid.clone(), p);
                        }
                        let msg = format!("Successfully assigned {ns}/{name} to {node}");
                        record_event(ctx, self.reporter(), &bound, "Normal", "Scheduled", msg);
                    }
                    Err(_) => self.queue.failed(&uid, ctx.now()),
                }
            }
            Decision::Unschedulable { message } => {
                self.queue.failed(&uid, ctx.now());
                self.report_failure(ctx, &uid, pod, message);
            }
        }
    }

    fn report_failure(&mut self, ctx: &mut Context<'_>, uid: &Arc<str>, mut pod: Pod, message: String) {
        let changed = podutil::set_pod_condition(
            &mut pod,
            PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some(message.clone()),
                last_transition_time: Some(ctx.api.epoch().time(ctx.now())),
                ..Default::default()
            },
        );
        if changed {
            let _ = ctx.api.update_status_as(pod.clone());
        }
        if self.last_failure.get(uid) != Some(&message) {
            self.last_failure.insert(uid.clone(), message.clone());
            record_event(ctx, self.reporter(), &pod.into_object(), "Warning", "FailedScheduling", message);
        }
    }

    /// One scheduling cycle for `pod` against the cache.
    pub fn decide(&mut self, ctx: &mut Context<'_>, pod: &Pod) -> Decision {
        let nodes: Vec<&cache::NodeInfo> = self.cache.nodes().collect();
        let n = nodes.len();
        if n == 0 {
            return Decision::Unschedulable { message: "no nodes available to schedule pods".into() };
        }
        let req = podutil::pod_requests(pod);
        let to_find = num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score);
        let mut feasible = Vec::new();
        let mut rejections: Vec<Rejection> = Vec::new();
        let mut processed = 0;
        for i in 0..n {
            let info = nodes[(self.next_start_node_index + i) % n];
            processed += 1;
            match plugins::filter(pod, &req, info) {
                Ok(()) => {
                    feasible.push(info);
                    if feasible.len() >= to_find {
                        break;
                    }
                }
                Err(r) => rejections.push(r),
            }
        }
        self.next_start_node_index = (self.next_start_node_index + processed) % n;
        if feasible.is_empty() {
            return Decision::Unschedulable { message: fit_error(n, &rejections, pod) };
        }
        if feasible.len() == 1 {
            return Decision::Bind(feasible[0].node.metadata.name.clone().unwrap_or_default());
        }
        let nonzero = nonzero_requests(pod);
        let mut taint: Vec<i64> =
            feasible.iter().map(|i| plugins::taint_toleration_raw(pod, &i.node)).collect();
        plugins::default_normalize(&mut taint, true);
        let affinity: Option<Vec<i64>> =
            feasible.iter().map(|i| plugins::node_affinity_raw(pod, &i.node)).collect();
        let affinity = affinity.map(|mut a| {
            plugins::default_normalize(&mut a, false);
            a
        });
        // BalancedAllocation's PreScore skips pods that request nothing (isBestEffortPod)
        // over its resources (cpu and memory by default); extended resources do not count.
        let balanced_skip = req.milli_cpu == 0 && req.memory == 0;
        let mut best: Option<(i64, usize)> = None;
        let mut ties = 0u32;
        for (i, info) in feasible.iter().enumerate() {
            let mut total = WEIGHT_TAINT_TOLERATION * taint[i]
                + WEIGHT_NODE_RESOURCES_FIT * plugins::least_allocated(&nonzero, info);
            if let Some(a) = &affinity {
                total += WEIGHT_NODE_AFFINITY * a[i];
            }
            if !balanced_skip {
                total += WEIGHT_BALANCED_ALLOCATION * plugins::balanced_allocation(&req, info);
            }
            match best {
                Some((b, _)) if total < b => {}
                Some((b, _)) if total == b => {
                    ties += 1;
                    if ctx.rng.gen_range(0..ties) == 0 {
                        best = Some((total, i));
                    }
                }
                _ => {
                    best = Some((total, i));
                    ties = 1;
                }
            }
        }
        let (_, idx) = best.expect("at least two feasible nodes");
        Decision::Bind(feasible[idx].node.metadata.name.clone().unwrap_or_default())
    }
}

/// FitError's message (pkg/scheduler/framework/types.go): reasons counted per node, the
/// `"<count> <reason>"` strings sorted, then the preemption verdict.
pub fn fit_error(num_nodes: usize, rejections: &[Rejection], pod: &Pod) -> String {
    let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rejections {
        for reason in &r.reasons {
            *histogram.entry(reason.as_str()).or_default() += 1;
        }
    }
    let mut parts: Vec<String> =
        histogram.iter().map(|(reason, count)| format!("{count} {reason}")).collect();
    parts.sort();
    let never = pod.spec.as_ref().and_then(|s| s.preemption_policy.as_deref()) == Some("Never");
    let preemption = if never {
        "preemption: not eligible due to preemptionPolicy=Never.".to_string()
    } else {
        // Without lower-priority victims preemption finds nothing; nodes rejected for reasons
        // removing pods cannot fix are "not helpful".
        let mut pre: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rejections {
            let reason = if r.resolvable {
                "No preemption victims found for incoming pod"
            } else {
                "Preemption is not helpful for scheduling"
            };
            *pre.entry(reason).or_default() += 1;
        }
        let mut p: Vec<String> = pre.iter().map(|(reason, count)| format!("{count} {reason}")).collect();
        p.sort();
        format!("preemption: 0/{num_nodes} nodes are available: {}.", p.join(", "))
    };
    format!("0/{num_nodes} nodes are available: {}. {preemption}", parts.join(", "))
}

impl Component for Scheduler {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                let nodes: Vec<_> = self
                    .nodes
                    .iter()
                    .flat_map(|i| i.iter_as::<k8s_openapi::api::core::v1::Node>().cloned())
                    .collect();
                for n in nodes {
                    self.cache.upsert_node(n);
                }
                let pods: Vec<Arc<Object>> = self.pods.iter().flat_map(|i| i.iter().cloned()).collect();
                for p in pods {
                    self.on_pod(ctx, WatchEventType::Added, &p, None);
                }
            }
            Event::Watch(ev) => {
                if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(ctx, ev.kind, &ev.object, old.as_ref());
                } else if self.nodes.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.nodes.as_mut().expect("checked").apply(&ev);
                    match (ev.kind, ev.object.as_type::<k8s_openapi::api::core::v1::Node>()) {
                        (WatchEventType::Deleted, _) => self.cache.remove_node(ev.object.name()),
                        (_, Some(node)) => self.cache.upsert_node(node.clone()),
                        _ => {}
                    }
                    self.queue.move_all_unschedulable(ctx.now());
                }
            }
            Event::Timer(Timer::ScheduleOne) => {
                self.cycle_armed = false;
                self.schedule_one(ctx);
            }
            Event::Timer(Timer::FlushBackoff) => {
                self.flush_armed = false;
                self.queue.flush(ctx.now());
            }
            _ => {}
        }
        self.arm_cycle(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feasible_nodes_to_find_is_adaptive() {
        assert_eq!(num_feasible_nodes_to_find(50, 0), 50);
        assert_eq!(num_feasible_nodes_to_find(1000, 0), 420); // 50 - 8 = 42%
        assert_eq!(num_feasible_nodes_to_find(5000, 0), 500); // 50 - 40 = 10%
        assert_eq!(num_feasible_nodes_to_find(6000, 0), 300); // floored at 5%
        assert_eq!(num_feasible_nodes_to_find(150, 10), 100); // floored at 100 nodes
    }

    #[test]
    fn fit_error_message_is_upstream_format() {
        let rej =
            |plugin, reason: &str, resolvable| Rejection { plugin, reasons: vec![reason.into()], resolvable };
        let r = vec![
            rej("NodeResourcesFit", "Insufficient cpu", true),
            rej(
                "TaintToleration",
                "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
                false,
            ),
            rej("NodeResourcesFit", "Insufficient cpu", true),
        ];
        assert_eq!(
            fit_error(3, &r, &Pod::default()),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
        );
    }
}
