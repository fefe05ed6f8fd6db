//! kube-scheduler (pkg/scheduler): watches pods, nodes and the objects its plugins read, queues
//! the pods that name one of its profiles in `spec.schedulerName` and have no node, runs one
//! scheduling cycle per pod through that profile's plugins (`cycle.rs`, `framework/`), and binds
//! the winner through the API server — or, when nothing fits, records FailedScheduling, sets
//! the PodScheduled condition and lets preemption nominate a node and evict victims.
//!
//! Layout, mirroring upstream:
//! - `queue.rs` — activeQ / backoffQ / unschedulable pods;
//! - `cache.rs` — nodes with their pods, in node-tree order (the snapshot);
//! - `framework/` — plugin traits, status codes, profiles, the registry and the
//!   KubeSchedulerConfiguration;
//! - `plugins/` — one module per plugin;
//! - `cycle.rs` — one scheduling cycle;
//! - `decisions.rs` — what `kubesim explain` and `decisions.csv` show.
//!
//! Simplified: one cycle at a time and binding is immediate (no Permit/PreBind wait, no
//! asynchronous binding cycle); plugins have no queueing hints, so any node change or assigned
//! pod leaving moves every unschedulable pod back (upstream's behaviour without hints).

pub mod cache;
pub mod cycle;
pub mod decisions;
pub mod framework;
pub mod node_labels;
pub mod plugins;
pub mod queue;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, PodCondition, Service, Taint};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::api::pod as podutil;
use crate::api::KindOf;
use crate::api::{Kind, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEvent, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, Timer};
use cache::Cache;
use cycle::{CycleContext, CycleRecord, NominatedPods, Outcome};
use decisions::Decision;
use framework::config::SchedulerConfig;
use framework::registry::Registry;
use framework::Profile;
use plugins::default_preemption;
use queue::SchedulingQueue;

pub use cycle::num_feasible_nodes_to_find;
pub use framework::config::DEFAULT_SCHEDULER_NAME;

/// The informers of the non-node, non-pod objects plugins read.
#[derive(Default)]
struct ClusterInformers {
    namespaces: Option<Informer>,
    services: Option<Informer>,
    replica_sets: Option<Informer>,
    stateful_sets: Option<Informer>,
    pdbs: Option<Informer>,
}

/// The scheduler component: every profile of one KubeSchedulerConfiguration.
pub struct Scheduler {
    profiles: Vec<Profile>,
    pods: Option<Informer>,
    nodes: Option<Informer>,
    others: ClusterInformers,
    cache: Cache,
    queue: SchedulingQueue,
    /// Queued pod UID → (namespace, name).
    queued: BTreeMap<Arc<str>, (String, String)>,
    /// Pods nominated to nodes (status.nominatedNodeName) and not yet bound.
    nominated: NominatedPods,
    nominated_of: BTreeMap<Arc<str>, String>,
    next_start_node_index: usize,
    cycle_armed: bool,
    flush_armed: bool,
}

impl Scheduler {
    /// A scheduler running `config`'s profiles, with plugins from `registry`.
    pub fn new(
        config: &SchedulerConfig,
        registry: &Registry,
    ) -> Result<Self, framework::config::ConfigError> {
        let profiles = config.build(registry)?;
        Ok(Scheduler {
            profiles,
            pods: None,
            nodes: None,
            others: ClusterInformers::default(),
            cache: Cache::default(),
            queue: SchedulingQueue::with_backoff(
                SimDuration::from_millis(config.pod_initial_backoff_seconds.saturating_mul(1000)),
                SimDuration::from_millis(config.pod_max_backoff_seconds.saturating_mul(1000)),
            ),
            queued: BTreeMap::new(),
            nominated: NominatedPods::new(),
            nominated_of: BTreeMap::new(),
            next_start_node_index: 0,
            cycle_armed: false,
            flush_armed: false,
        })
    }

    fn profile_for(&self, pod: &Pod) -> Option<usize> {
        let name =
            pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).unwrap_or(DEFAULT_SCHEDULER_NAME);
        self.profiles.iter().position(|p| p.scheduler_name == name)
    }

    fn wants(&self, pod: &Pod) -> bool {
        let spec = pod.spec.as_ref();
        podutil::node_name(pod).is_none()
            && pod.metadata.deletion_timestamp.is_none()
            && !podutil::is_terminal(pod)
            && self.profile_for(pod).is_some()
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

    fn set_nominated(&mut self, uid: &Arc<str>, pod: Option<&Pod>) {
        if let Some(node) = self.nominated_of.remove(uid) {
            if let Some(list) = self.nominated.get_mut(&node) {
                list.retain(|p| p.metadata.uid.as_deref() != Some(&**uid));
                if list.is_empty() {
                    self.nominated.remove(&node);
                }
            }
        }
        let Some(pod) = pod else { return };
        let Some(node) =
            pod.status.as_ref().and_then(|s| s.nominated_node_name.clone()).filter(|n| !n.is_empty())
        else {
            return;
        };
        self.nominated.entry(node.clone()).or_default().push(Arc::new(pod.clone()));
        self.nominated_of.insert(uid.clone(), node);
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
            self.forget(&uid);
            self.set_nominated(&uid, None);
            if was_assigned {
                self.queue.move_all_unschedulable(ctx.now());
            }
            return;
        }
        let old_pod = old.and_then(|o| o.as_type::<Pod>());
        if podutil::node_name(pod).is_some() {
            self.forget(&uid);
            self.set_nominated(&uid, None);
            let was_terminal = old_pod.is_some_and(podutil::is_terminal);
            let newly_assigned = old_pod.is_none_or(|o| podutil::node_name(o).is_none());
            let labels_changed = old_pod.is_some_and(|o| o.metadata.labels != pod.metadata.labels);
            self.cache.upsert_pod(uid.clone(), pod);
            if podutil::is_terminal(pod) && !was_terminal {
                self.queue.move_all_unschedulable(ctx.now());
            } else if newly_assigned || labels_changed {
                // AssignedPodAdd / AssignedPodUpdate: only the plugins that look at other pods
                // (InterPodAffinity, PodTopologySpread) register for them, so only pods with
                // such terms are moved.
                self.move_pods_waiting_for_other_pods(ctx);
            }
        } else if self.wants(pod) {
            self.set_nominated(&uid, Some(pod));
            self.queued.entry(uid.clone()).or_insert_with(|| {
                (obj.namespace().unwrap_or("default").to_string(), obj.name().to_string())
            });
            if self.queue.contains(&uid) {
                if old_pod.is_some_and(|o| scheduling_properties_changed(o, pod)) {
                    self.queue.updated(&uid, ctx.now());
                }
            } else {
                self.queue.add(uid, pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0));
            }
        } else {
            self.set_nominated(&uid, None);
            self.forget(&uid);
        }
    }

    /// Moves the unschedulable pods that have inter-pod affinity terms or topology spread
    /// constraints (an assigned pod appeared or changed its labels).
    fn move_pods_waiting_for_other_pods(&mut self, ctx: &mut Context<'_>) {
        let (queued, pods) = (&self.queued, &self.pods);
        self.queue.move_unschedulable_if(ctx.now(), |uid| {
            let Some(pod) = queued.get(uid).and_then(|(ns, n)| pods.as_ref()?.get_as::<Pod>(ns, n)) else {
                return false;
            };
            plugins::inter_pod_affinity::has_pod_affinity(pod)
                || pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.topology_spread_constraints.as_ref())
                    .is_some_and(|c| !c.is_empty())
        });
    }

    fn forget(&mut self, uid: &Arc<str>) {
        self.queue.remove(uid);
        self.queued.remove(uid);
    }

    fn reporter<'a>(name: &'a str) -> Reporter<'a> {
        Reporter { component: name, host: None }
    }

    fn schedule_one(&mut self, ctx: &mut Context<'_>) {
        let Some(uid) = self.queue.pop() else { return };
        let Some(obj) =
            self.queued.get(&uid).and_then(|(ns, name)| self.pods.as_ref()?.get(ns, name).cloned())
        else {
            self.forget(&uid);
            return;
        };
        let pod = obj.as_type::<Pod>().expect("pod informer").clone();
        if !self.wants(&pod) || obj.uid() != &*uid {
            self.forget(&uid);
            return;
        }
        let profile_index = self.profile_for(&pod).expect("wants() checked the profile");
        // The queue counts the failed attempts of the pod while it is queued.
        let attempt = self.queue.attempts(&uid) + 1;
        let recording = ctx.decisions.enabled;
        let mut record = CycleRecord::default();
        let cycle_seed = cycle_seed(&uid, attempt);
        let now = ctx.api.epoch().time(ctx.now());
        let outcome = cycle::schedule_pod(
            &self.profiles[profile_index],
            &pod,
            CycleContext {
                snapshot: self.cache.snapshot(),
                nominated: &self.nominated,
                next_start_node_index: &mut self.next_start_node_index,
                rng: &mut *ctx.rng,
                cycle_seed,
                now,
                record: recording.then_some(&mut record),
            },
        );
        let scheduler_name = self.profiles[profile_index].scheduler_name.clone();
        let (ns, name) = (obj.namespace().unwrap_or("default").to_string(), obj.name().to_string());
        let mut decision = Decision {
            time: ctx.now(),
            namespace: ns.clone(),
            pod: name.clone(),
            attempt,
            scheduler_name: scheduler_name.clone(),
            bound_to: None,
            failure: None,
            nominated: None,
            record,
        };
        match outcome {
            Outcome::Scheduled { node } => match ctx.api.bind(&ns, &name, &node) {
                Ok(bound) => {
                    self.forget(&uid);
                    self.set_nominated(&uid, None);
                    // Assume the pod on its node until the watch confirms it.
                    if let Some(p) = bound.as_type::<Pod>() {
                        self.cache.upsert_pod(uid.clone(), p);
                    }
                    let msg = format!("Successfully assigned {ns}/{name} to {node}");
                    record_event(ctx, Self::reporter(&scheduler_name), &bound, "Normal", "Scheduled", msg);
                    decision.bound_to = Some(node);
                }
                Err(e) => {
                    // handleBindingCycleError: like any error, FailedScheduling with
                    // SchedulerError, nomination cleared, retried after the backoff.
                    let message = format!("binding rejected: {e}");
                    self.scheduling_error(ctx, &uid, pod, message, &mut decision, &scheduler_name);
                }
            },
            Outcome::Unschedulable { message, post_filter } => {
                let mut nominated_node = None;
                if let Some(result) = post_filter {
                    if let Some(node) = result.nominated_node.as_deref().filter(|n| !n.is_empty()) {
                        let victims =
                            self.prepare_candidate(ctx, &pod, node, &result.victims, &scheduler_name);
                        decision.nominated = Some((node.to_string(), victims));
                    }
                    nominated_node = result.nominated_node;
                }
                decision.failure = Some(message.clone());
                self.queue.failed(&uid, ctx.now());
                self.report_failure(
                    ctx,
                    &uid,
                    pod,
                    "Unschedulable",
                    message,
                    nominated_node,
                    &scheduler_name,
                );
            }
            Outcome::Error(message) => {
                self.scheduling_error(ctx, &uid, pod, message, &mut decision, &scheduler_name);
            }
        }
        ctx.decisions.push(decision);
    }

    /// A cycle or binding that ended in an error (not a rejection): the error backoff,
    /// FailedScheduling and PodScheduled with reason SchedulerError, nomination cleared.
    fn scheduling_error(
        &mut self,
        ctx: &mut Context<'_>,
        uid: &Arc<str>,
        pod: Pod,
        message: String,
        decision: &mut Decision,
        scheduler_name: &str,
    ) {
        decision.failure = Some(message.clone());
        self.queue.failed_with_error(uid, ctx.now());
        self.report_failure(ctx, uid, pod, "SchedulerError", message, Some(String::new()), scheduler_name);
    }

    /// prepareCandidate (preemption.go): each victim gets DisruptionTarget and is deleted
    /// (with its grace period), with a Preempted event; lower-priority pods nominated to the
    /// same node lose their nomination. Returns the victims as namespace/name.
    fn prepare_candidate(
        &mut self,
        ctx: &mut Context<'_>,
        preemptor: &Pod,
        node: &str,
        victims: &[Arc<Pod>],
        scheduler_name: &str,
    ) -> Vec<String> {
        let mut names = Vec::new();
        for v in victims {
            let (vns, vname) = (
                v.metadata.namespace.clone().unwrap_or_default(),
                v.metadata.name.clone().unwrap_or_default(),
            );
            names.push(format!("{vns}/{vname}"));
            let mut victim = (**v).clone();
            let condition =
                default_preemption::preemption_condition(preemptor, ctx.api.epoch().time(ctx.now()));
            if podutil::set_pod_condition(&mut victim, condition) {
                let _ = ctx.api.update_status_as(victim.clone());
            }
            let opts = DeleteOptions { uid: v.metadata.uid.clone(), ..Default::default() };
            if ctx.api.delete(Kind::Pod, Some(&vns), &vname, opts).is_ok() {
                let msg = default_preemption::preempted_event_message(preemptor, node);
                let reason = default_preemption::PREEMPTED_EVENT_REASON;
                record_event(
                    ctx,
                    Self::reporter(scheduler_name),
                    &victim.into_object(),
                    "Normal",
                    reason,
                    msg,
                );
            }
        }
        let nominated_here = self.nominated.get(node).cloned().unwrap_or_default();
        for p in default_preemption::lower_priority_nominated_pods(preemptor, &nominated_here) {
            let mut p = (*p).clone();
            if let Some(status) = p.status.as_mut() {
                status.nominated_node_name = None;
            }
            let _ = ctx.api.update_status_as(p);
        }
        names
    }

    #[allow(clippy::too_many_arguments)]
    fn report_failure(
        &mut self,
        ctx: &mut Context<'_>,
        uid: &Arc<str>,
        mut pod: Pod,
        reason: &str,
        message: String,
        nominated_node: Option<String>,
        scheduler_name: &str,
    ) {
        let mut changed = podutil::set_pod_condition(
            &mut pod,
            PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some(reason.into()),
                message: Some(message.clone()),
                last_transition_time: Some(ctx.api.epoch().time(ctx.now())),
                ..Default::default()
            },
        );
        if let Some(node) = nominated_node {
            let status = pod.status.get_or_insert_with(Default::default);
            let new = (!node.is_empty()).then_some(node);
            if status.nominated_node_name != new {
                status.nominated_node_name = new;
                changed = true;
            }
            // AddNominatedPod right away, not when the watch event arrives: the next cycle
            // must already count the nomination.
            self.set_nominated(uid, Some(&pod));
        }
        if changed {
            let _ = ctx.api.update_status_as(pod.clone());
        }
        // Every failed attempt is reported (schedule_one.go handleSchedulingFailure); the event
        // correlator folds a repeat of the same message into the first event's count.
        record_event(
            ctx,
            Self::reporter(scheduler_name),
            &pod.into_object(),
            "Warning",
            "FailedScheduling",
            message,
        );
    }

    fn on_cluster_object(&mut self, ev: &WatchEvent) -> bool {
        let deleted = ev.kind == WatchEventType::Deleted;
        let key = || (ev.object.namespace().unwrap_or("").to_string(), ev.object.name().to_string());
        let c = &mut self.cache.cluster;
        macro_rules! track {
            ($inf:expr, $map:expr, $ty:ty) => {
                if let Some(inf) = $inf.as_mut().filter(|i| i.owns(ev)) {
                    inf.apply(ev);
                    if deleted {
                        $map.remove(&key());
                    } else if let Some(o) = ev.object.as_type::<$ty>() {
                        $map.insert(key(), Arc::new(o.clone()));
                    }
                    return true;
                }
            };
        }
        track!(self.others.services, c.services, Service);
        track!(self.others.replica_sets, c.replica_sets, ReplicaSet);
        track!(self.others.stateful_sets, c.stateful_sets, StatefulSet);
        track!(self.others.pdbs, c.pdbs, PodDisruptionBudget);
        if let Some(inf) = self.others.namespaces.as_mut().filter(|i| i.owns(ev)) {
            inf.apply(ev);
            let name = ev.object.name().to_string();
            if deleted {
                c.namespace_labels.remove(&name);
            } else if let Some(ns) = ev.object.as_type::<Namespace>() {
                c.namespace_labels.insert(name, ns.metadata.labels.clone().unwrap_or_default());
            }
            return true;
        }
        false
    }

    fn start(&mut self, ctx: &mut Context<'_>) {
        self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
        self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
        self.others.namespaces = Informer::start(ctx, WatchSpec::all(Kind::Namespace)).ok();
        self.others.services = Informer::start(ctx, WatchSpec::all(Kind::Service)).ok();
        self.others.replica_sets = Informer::start(ctx, WatchSpec::all(Kind::ReplicaSet)).ok();
        self.others.stateful_sets = Informer::start(ctx, WatchSpec::all(Kind::StatefulSet)).ok();
        self.others.pdbs = Informer::start(ctx, WatchSpec::all(Kind::PodDisruptionBudget)).ok();
        let c = &mut self.cache.cluster;
        let key = |o: &Arc<Object>| (o.namespace().unwrap_or("").to_string(), o.name().to_string());
        for o in self.others.services.iter().flat_map(|i| i.iter()) {
            if let Some(s) = o.as_type::<Service>() {
                c.services.insert(key(o), Arc::new(s.clone()));
            }
        }
        for o in self.others.replica_sets.iter().flat_map(|i| i.iter()) {
            if let Some(s) = o.as_type::<ReplicaSet>() {
                c.replica_sets.insert(key(o), Arc::new(s.clone()));
            }
        }
        for o in self.others.stateful_sets.iter().flat_map(|i| i.iter()) {
            if let Some(s) = o.as_type::<StatefulSet>() {
                c.stateful_sets.insert(key(o), Arc::new(s.clone()));
            }
        }
        for o in self.others.pdbs.iter().flat_map(|i| i.iter()) {
            if let Some(s) = o.as_type::<PodDisruptionBudget>() {
                c.pdbs.insert(key(o), Arc::new(s.clone()));
            }
        }
        for ns in self.others.namespaces.iter().flat_map(|i| i.iter_as::<Namespace>()) {
            c.namespace_labels.insert(
                ns.metadata.name.clone().unwrap_or_default(),
                ns.metadata.labels.clone().unwrap_or_default(),
            );
        }
        if let Some(nodes) = self.nodes.as_ref() {
            for n in nodes.iter_as::<Node>() {
                self.cache.upsert_node(n);
            }
        }
        let pods: Vec<Arc<Object>> = self.pods.iter().flat_map(|i| i.iter().cloned()).collect();
        for p in pods {
            self.on_pod(ctx, WatchEventType::Added, &p, None);
        }
    }
}

/// nodeSchedulingPropertiesChange (eventhandlers.go): a node update is a scheduling event only
/// when `spec.unschedulable`, allocatable, labels, taints, condition statuses or annotations
/// changed — not for a heartbeat.
fn node_scheduling_properties_changed(old: &Node, new: &Node) -> bool {
    fn unschedulable(n: &Node) -> bool {
        n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
    }
    fn taints(n: &Node) -> &[Taint] {
        n.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[])
    }
    fn allocatable(n: &Node) -> Option<&BTreeMap<String, Quantity>> {
        n.status.as_ref().and_then(|s| s.allocatable.as_ref())
    }
    // Condition type → status, as upstream's nodeConditionsChanged compares them (a map: a
    // later condition of the same type wins; order does not matter). Compared without copying:
    // this runs for every node heartbeat the scheduler hears.
    fn conditions(n: &Node) -> BTreeMap<&str, &str> {
        n.status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .map(|c| (c.type_.as_str(), c.status.as_str()))
            .collect()
    }
    unschedulable(old) != unschedulable(new)
        || allocatable(old) != allocatable(new)
        || old.metadata.labels != new.metadata.labels
        || taints(old) != taints(new)
        || old.metadata.annotations != new.metadata.annotations
        || conditions(old) != conditions(new)
}

/// isPodUpdated (scheduling_queue.go): anything but status, resourceVersion, generation,
/// managedFields and finalizers changed.
fn scheduling_properties_changed(old: &Pod, new: &Pod) -> bool {
    let (o, n) = (&old.metadata, &new.metadata);
    old.spec != new.spec
        || o.labels != n.labels
        || o.annotations != n.annotations
        || o.owner_references != n.owner_references
}

/// A per-cycle number for plugins that want reproducible pseudo-randomness (FNV-1a of the pod
/// UID and attempt).
fn cycle_seed(uid: &str, attempt: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid.bytes().chain(attempt.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Component for Scheduler {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => self.start(ctx),
            Event::Watch(ev) => {
                if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(ctx, ev.kind, &ev.object, old.as_ref());
                } else if self.nodes.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.nodes.as_mut().expect("checked").apply(&ev);
                    let new = ev.object.as_type::<Node>();
                    let relevant = match (ev.kind, old.as_ref().and_then(|o| o.as_type::<Node>()), new) {
                        (WatchEventType::Modified, Some(old), Some(new)) => {
                            node_scheduling_properties_changed(old, new)
                        }
                        // NodeAdd moves everything; a deleted node frees nothing.
                        (WatchEventType::Deleted, _, _) => false,
                        _ => true,
                    };
                    match (ev.kind, new) {
                        (WatchEventType::Deleted, _) => self.cache.remove_node(ev.object.name()),
                        (_, Some(node)) => self.cache.upsert_node(node),
                        _ => {}
                    }
                    if relevant {
                        self.queue.move_all_unschedulable(ctx.now());
                    }
                } else {
                    self.on_cluster_object(&ev);
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
