//! The node lifecycle controller (pkg/controller/nodelifecycle/node_lifecycle_controller.go).
//!
//! Every `nodeMonitorPeriod` it checks each node's heartbeats — a newer Lease `renewTime` or a
//! changed Ready condition refreshes the node's probe time, as observed by the controller. A
//! node silent for longer than `nodeMonitorGracePeriod` (`nodeStartupGracePeriod` if it never
//! became Ready) gets Ready, MemoryPressure, DiskPressure and PIDPressure set to Unknown with
//! reason NodeStatusUnknown; the NodeNotReady event is recorded and its pods are marked
//! Ready=False. NoSchedule taints follow the conditions at once; NoExecute taints
//! (`unreachable` / `not-ready`) follow the condition observed *before* the current pass and go
//! through a per-zone rate limiter (0.1 node/s, burst 1), so they land one monitor period
//! after the condition changed.
//!
//! Zones (region + zone labels) have states: a zone with no Ready node is fully disrupted, one
//! with more than 2 and at least 55% not-ready nodes is partially disrupted and taints at the
//! secondary rate (0.01/s) if it has more than 50 nodes, else not at all; if every zone is fully
//! disrupted, the controller lifts the NoExecute taints and stops tainting.
//!
//! Not modelled: node CIDR allocation (the kubelet config carries the pod CIDR).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;

use compact_str::CompactString;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

use crate::api::pod as podutil;
use crate::api::{Kind, Object};
use crate::apiserver::{Reporter, WatchEvent, WatchEventType, WatchId, WatchSpec, WatchStart};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, LookupMap, SimDuration, SimTime, Timer};

pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";

/// Settings, with the simulator's defaults (the classic 5s / 40s / 60s).
#[derive(Clone, Debug)]
pub struct NodeLifecycleConfig {
    pub node_monitor_period: SimDuration,
    pub node_monitor_grace_period: SimDuration,
    pub node_startup_grace_period: SimDuration,
    /// Nodes per second tainted NoExecute per zone (`--node-eviction-rate`).
    pub node_eviction_rate: f64,
    /// Rate in a partially disrupted zone larger than `large_cluster_size_threshold`
    /// (`--secondary-node-eviction-rate`); smaller zones stop evicting.
    pub secondary_node_eviction_rate: f64,
    pub large_cluster_size_threshold: usize,
    /// Share of not-ready nodes (with more than 2) that makes a zone partially disrupted.
    pub unhealthy_zone_threshold: f64,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        NodeLifecycleConfig {
            node_monitor_period: SimDuration::from_secs(5),
            node_monitor_grace_period: SimDuration::from_secs(40),
            node_startup_grace_period: SimDuration::from_secs(60),
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            large_cluster_size_threshold: 50,
            unhealthy_zone_threshold: 0.55,
        }
    }
}

#[derive(Clone, Debug)]
struct Health {
    /// The node's name, shared with the deadline index and the renewal list.
    name: Arc<str>,
    /// Where the record sits in the [`HealthTable`].
    slot: u32,
    /// The renewal time of the latest Lease delivered since the last pass (`Some`: one was).
    pending_renew: Option<Option<MicroTime>>,
    /// The renewal time of the node's Lease as last delivered (`None`: no Lease, or one
    /// without a renewTime): what upstream reads from its Lease lister.
    observed_lease: Option<MicroTime>,
    probe_time: SimTime,
    ready_heartbeat: Option<Time>,
    lease_renew: Option<MicroTime>,
    /// The Node as the last pass saw it: while it is the same object, only a lease renewal
    /// can have brought the node into the pass, and only its probe time can change.
    seen: Option<Arc<Object>>,
    /// When the node goes silent unless heard from (`None`: already silent, or gone).
    deadline: Option<SimTime>,
    /// The node's live entry in the controller's [`Deadlines`] (time and sequence number), at
    /// or before `deadline`.
    filed: Option<(SimTime, u64)>,
    /// The grace period the last pass applied: the startup one until the Node has a Ready
    /// condition.
    grace: SimDuration,
    /// The zone the node is counted in and whether as Ready (`None`: not counted, excluded
    /// from disruption); also part of the controller's zone counts.
    class: Option<(String, bool)>,
}

impl Health {
    /// A Lease renewal newer than the last one seen moves the probe time to now
    /// (tryUpdateNodeHealth: `observedLease.Spec.RenewTime` after the saved one).
    fn observe_lease(&mut self, renew: Option<MicroTime>, now: SimTime) {
        if renew.is_some() && self.lease_renew.as_ref().map(|t| t.0) < renew.as_ref().map(|t| t.0) {
            self.lease_renew = renew;
            self.probe_time = now;
        }
    }
}

/// A token bucket (flowcontrol.NewTokenBucketRateLimiter) per zone, in virtual time.
#[derive(Clone, Debug)]
struct Bucket {
    tokens: f64,
    last: SimTime,
}

/// The controller component.
pub struct NodeLifecycleController {
    cfg: NodeLifecycleConfig,
    nodes: Option<Informer>,
    /// The watch on kube-node-lease. A renewal is kept as its time only: in the node's
    /// [`Health`], or in `unclaimed_renewals` for a node without one. (An informer's copy of
    /// every Lease cost a second keyed lookup per renewal, 360 an hour per node, and only the
    /// renewal time is ever read.)
    lease_watch: Option<WatchId>,
    /// The renewal times of Leases whose node has no health record (not classified yet, or
    /// its Node is gone while the Lease stays).
    unclaimed_renewals: LookupMap<String, Option<MicroTime>>,
    pods: Option<Informer>,
    /// Per node (only probed: the pass walks `work`, which is ordered).
    health: HealthTable,
    /// Nodes whose Node changed since the last pass (or whose Lease did, for a node the
    /// controller has not classified yet).
    dirty: BTreeSet<String>,
    /// Records with a Lease renewal delivered since the last pass (its time waits in
    /// `Health::pending_renew`, the latest delivered). A renewal alone
    /// can only move its node's probe time (see `monitor`), so these skip the full check.
    renewed: Vec<(u32, Arc<str>)>,
    /// When to look at each node that is still heard from.
    deadlines: Deadlines,
    /// Per zone, the (Ready, not Ready) nodes counted there: the sum of the `Health::class`es.
    zone_counts: BTreeMap<String, (usize, usize)>,
    /// Nodes waiting for a NoExecute taint, per zone, first in first out (zoneNoExecuteTainter).
    pending_noexecute: BTreeMap<String, VecDeque<String>>,
    buckets: BTreeMap<String, Bucket>,
    /// Each zone's state after the last pass, and the NoExecute tainting rate it implies.
    zone_states: BTreeMap<String, ZoneState>,
    zone_rates: BTreeMap<String, f64>,
}

/// A zone's health (ComputeZoneState).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneState {
    Normal,
    PartialDisruption,
    FullDisruption,
}

/// ComputeZoneState: no Ready node → full disruption; more than 2 not ready and at least the
/// threshold share → partial disruption.
pub fn zone_state(ready: usize, not_ready: usize, unhealthy_threshold: f64) -> ZoneState {
    if ready == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && not_ready as f64 / (ready + not_ready) as f64 >= unhealthy_threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// Where kubelets keep their heartbeat Leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// The Ready condition's last heartbeat.
fn ready_heartbeat(node: &Node) -> Option<&Time> {
    podutil::node_condition(node, "Ready").and_then(|c| c.last_heartbeat_time.as_ref())
}

/// A node Lease's last renewal.
fn lease_renew(lease: Option<&Arc<Object>>) -> Option<MicroTime> {
    lease?.as_type::<Lease>()?.spec.as_ref()?.renew_time.clone()
}

fn reporter() -> Reporter<'static> {
    Reporter { component: "node-controller", host: None }
}

/// The node's region and zone labels ("" when absent).
fn zone_labels(node: &Node) -> (&str, &str) {
    let labels = node.metadata.labels.as_ref();
    let get = |k: &str| labels.and_then(|l| l.get(k)).map_or("", String::as_str);
    (get("topology.kubernetes.io/region"), get("topology.kubernetes.io/zone"))
}

/// nodetopology.GetZoneKey: `region:\x00:zone`.
fn zone_key(region: &str, zone: &str) -> String {
    format!("{region}:\u{0}:{zone}")
}

fn zone_of(node: &Node) -> String {
    let (region, zone) = zone_labels(node);
    zone_key(region, zone)
}

/// A filed deadline: (time, sequence number, record slot, node name).
type DeadlineEntry = (SimTime, u64, u32, Arc<str>);

/// The controller's per-node records: a slab, found by name through a hash table, or by slot
/// (what the deadline heap and the renewal list keep: a renewal finds its record once, when it
/// is delivered and the record is likely in cache), the slot checked against the shared name.
#[derive(Default)]
struct HealthTable {
    slots: Vec<Option<Health>>,
    free: Vec<u32>,
    /// Node names inline in the table (up to 24 bytes): the name compared on a probe sits next
    /// to the slot, not in a separate allocation — a renewal's lookup was a cache miss on the
    /// name's bytes.
    by_name: LookupMap<CompactString, u32>,
}

impl HealthTable {
    fn get(&self, name: &str) -> Option<&Health> {
        let slot = *self.by_name.get(name)?;
        self.slots[slot as usize].as_ref()
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Health> {
        let slot = *self.by_name.get(name)?;
        self.slots[slot as usize].as_mut()
    }

    /// The record in `slot` if it is still `name`'s (the very name it was filed with).
    fn at_mut(&mut self, slot: u32, name: &Arc<str>) -> Option<&mut Health> {
        self.slots.get_mut(slot as usize)?.as_mut().filter(|h| Arc::ptr_eq(&h.name, name))
    }

    fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Files a new record; sets its `slot`.
    fn insert(&mut self, mut h: Health) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 nodes")
        });
        h.slot = slot;
        self.by_name.insert(CompactString::from(&*h.name), slot);
        self.slots[slot as usize] = Some(h);
    }

    fn remove(&mut self, name: &str) -> Option<Health> {
        let slot = self.by_name.remove(name)?;
        self.free.push(slot);
        self.slots[slot as usize].take()
    }
}

/// When nodes go silent unless heard from: a lazy min-heap. A renewal only moves the node's
/// `Health::deadline`; its entry stays where it was, and when that comes due the pass finds the
/// later deadline and files the node again there. An idle cluster then pays one heap operation
/// per node per grace period, not an ordered-set removal and insertion per renewal. Entries are
/// ordered by (time, sequence number), so equal times never compare names.
#[derive(Default)]
struct Deadlines {
    heap: BinaryHeap<Reverse<DeadlineEntry>>,
    seq: u64,
}

impl Deadlines {
    fn file(&mut self, at: SimTime, h: &Health) -> (SimTime, u64) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, h.slot, h.name.clone())));
        (at, self.seq)
    }

    /// Takes the earliest entry (time, sequence, record slot, name) if it is before `now`.
    fn pop_before(&mut self, now: SimTime) -> Option<DeadlineEntry> {
        if self.heap.peek().is_none_or(|Reverse((at, _, _, _))| *at >= now) {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry)
    }
}

/// Sets when the node goes silent (`None`: already silent, or gone), filing it earlier if the
/// deadline moved before its entry.
fn set_deadline(deadlines: &mut Deadlines, h: &mut Health, deadline: Option<SimTime>) {
    h.deadline = deadline;
    if let Some(d) = deadline {
        if h.filed.is_none_or(|(at, _)| at > d) {
            h.filed = Some(deadlines.file(d, h));
        }
    }
}

/// Counts a node in its zone as Ready or not (`None`: not counted: excluded or gone).
fn classify(
    zone_counts: &mut BTreeMap<String, (usize, usize)>,
    h: &mut Health,
    class: Option<(String, bool)>,
) {
    if h.class == class {
        return;
    }
    if let Some((zone, ready)) = h.class.take() {
        if let Some(c) = zone_counts.get_mut(&zone) {
            if ready {
                c.0 -= 1;
            } else {
                c.1 -= 1;
            }
            if *c == (0, 0) {
                zone_counts.remove(&zone);
            }
        }
    }
    if let Some((zone, ready)) = class {
        let c = zone_counts.entry(zone.clone()).or_default();
        if ready {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
        h.class = Some((zone, ready));
    }
}

/// Adds the `wanted` NoExecute taint and removes the `other` one.
fn swap_noexecute(taints: &mut Vec<Taint>, wanted: &str, other: &str, ts: Time) {
    taints.retain(|t| !(t.effect == "NoExecute" && t.key == other));
    if !taints.iter().any(|t| t.key == wanted && t.effect == "NoExecute") {
        taints.push(Taint {
            key: wanted.into(),
            effect: "NoExecute".into(),
            time_added: Some(ts),
            value: None,
        });
    }
}

impl NodeLifecycleController {
    pub fn new(cfg: NodeLifecycleConfig) -> Self {
        NodeLifecycleController {
            cfg,
            nodes: None,
            lease_watch: None,
            unclaimed_renewals: LookupMap::new(),
            pods: None,
            health: HealthTable::default(),
            dirty: BTreeSet::new(),
            renewed: Vec::new(),
            deadlines: Deadlines::default(),
            zone_counts: BTreeMap::new(),
            pending_noexecute: BTreeMap::new(),
            buckets: BTreeMap::new(),
            zone_states: BTreeMap::new(),
            zone_rates: BTreeMap::new(),
        }
    }

    /// One monitor pass (monitorNodeHealth). Upstream walks every node; a node whose Node and
    /// Lease did not change since the last pass and whose grace period has not run out comes
    /// out of that walk exactly as it went in (its probe time, conditions, taints and zone
    /// count stay), so kubesim visits only the nodes that changed (the watch marks them) and
    /// those whose deadline passed, in name order as upstream's list. The zone counts are kept
    /// as the nodes' classifications change.
    fn monitor(&mut self, ctx: &mut Context<'_>) {
        let now = ctx.now();
        let mut work: BTreeSet<String> = std::mem::take(&mut self.dirty);
        // Silent means now > probe time + grace.
        while let Some((at, seq, slot, name)) = self.deadlines.pop_before(now) {
            let Some(h) = self.health.at_mut(slot, &name) else { continue };
            if h.filed != Some((at, seq)) {
                continue; // superseded by an earlier filing
            }
            h.filed = None;
            match h.deadline {
                Some(d) if d >= now => h.filed = Some(self.deadlines.file(d, h)),
                Some(_) => {
                    h.deadline = None;
                    work.insert(name.to_string());
                }
                None => {}
            }
        }
        // A renewed Lease of a node that is otherwise unchanged since the last pass: the full
        // check would find the same Node (`unchanged`), move the probe time to now if the
        // renewal is newer, and stop there. Do just that, without the walk.
        for (slot, name) in std::mem::take(&mut self.renewed) {
            let Some(h) = self.health.at_mut(slot, &name) else {
                work.insert(name.to_string()); // its record went: the full check says why
                continue;
            };
            let Some(renew) = h.pending_renew.take() else { continue };
            if work.contains(&*name) {
                continue;
            }
            h.observe_lease(renew, now);
            let deadline = h.probe_time + h.grace;
            if now > deadline {
                work.insert(name.to_string());
            } else {
                set_deadline(&mut self.deadlines, h, Some(deadline));
            }
        }
        for name in &work {
            let Some(obj) = self.nodes.as_ref().and_then(|i| i.get("", name)).cloned() else {
                // Deleted: its records go (classifyNodes: RecordNodeEvent "RemovingNode").
                if let Some(mut h) = self.health.remove(name) {
                    if h.observed_lease.is_some() {
                        // The Lease outlives its Node until the garbage collector gets to it.
                        self.unclaimed_renewals.insert(name.to_string(), h.observed_lease.take());
                    }
                    set_deadline(&mut self.deadlines, &mut h, None);
                    classify(&mut self.zone_counts, &mut h, None);
                    if let Some(seen) = h.seen {
                        let msg = format!("Node {name} event: Removing Node {name} from Controller");
                        record_event(ctx, reporter(), &seen, "Normal", "RemovingNode", msg);
                    }
                }
                continue;
            };
            self.check_node(ctx, &obj, now);
        }
        let zones = self.zone_counts.clone();
        self.handle_disruption(ctx, &zones);
        self.noexecute_tainting_pass(ctx);
    }

    /// The renewal time of the node's Lease as last delivered.
    fn observed_renewal(&self, node: &str) -> Option<MicroTime> {
        match self.health.get(node) {
            Some(h) => h.observed_lease.clone(),
            None => self.unclaimed_renewals.get(node).cloned().flatten(),
        }
    }

    /// One node of the monitor pass: probe time, Unknown after the grace period, NodeNotReady,
    /// the zone count and the NoExecute taint decision.
    fn check_node(&mut self, ctx: &mut Context<'_>, obj: &Arc<Object>, now: SimTime) {
        let Some(node) = obj.as_type::<Node>() else { return };
        let name = obj.name();
        let lease = self.observed_renewal(name);
        let ready_hb = ready_heartbeat(node);
        // A node seen for the first time starts its clock now, and is announced
        // (classifyNodes: RecordNodeEvent "RegisteredNode").
        if !self.health.contains(name) {
            let msg = format!("Node {name} event: Registered Node {name} in Controller");
            record_event(ctx, reporter(), obj, "Normal", "RegisteredNode", msg);
            let h = Health {
                name: Arc::from(name),
                slot: 0,
                pending_renew: None,
                observed_lease: self.unclaimed_renewals.remove(name).flatten(),
                probe_time: now,
                ready_heartbeat: ready_hb.cloned(),
                lease_renew: lease.clone(),
                seen: None,
                deadline: None,
                filed: None,
                grace: self.cfg.node_startup_grace_period,
                class: None,
            };
            self.health.insert(h);
        }
        let h = self.health.get_mut(name).expect("just ensured");
        let unchanged = h.seen.as_ref().is_some_and(|seen| Arc::ptr_eq(seen, obj));
        h.seen = Some(obj.clone());
        let observed_ready = podutil::node_condition(node, "Ready").map(|c| c.status.as_str());
        // The probe time moves when the controller sees a newer heartbeat or lease renewal.
        if h.ready_heartbeat.as_ref() != ready_hb {
            h.ready_heartbeat = ready_hb.cloned();
            h.probe_time = now;
        }
        h.observe_lease(lease, now);
        let grace = if observed_ready.is_none() {
            self.cfg.node_startup_grace_period
        } else {
            self.cfg.node_monitor_grace_period
        };
        h.grace = grace;
        let deadline = h.probe_time + grace;
        let silent = now > deadline;
        set_deadline(&mut self.deadlines, h, (!silent).then_some(deadline));
        if unchanged && !silent {
            // The same Node as last pass, still heard from: its conditions, zone count and
            // taint decision are what that pass left.
            return;
        }
        let mut current_ready = observed_ready;
        if silent && self.mark_unknown(ctx, node).is_some() {
            current_ready = Some("Unknown");
        }
        // NodeNotReady: Ready left True in this pass.
        if observed_ready == Some("True") && current_ready != Some("True") {
            let msg = format!("Node {name} status is now: NodeNotReady");
            record_event(ctx, reporter(), obj, "Normal", "NodeNotReady", msg);
            self.mark_pods_not_ready(ctx, name);
        }
        let excluded = node
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.contains_key("node.kubernetes.io/exclude-disruption"));
        let class = (!excluded).then(|| (zone_of(node), current_ready == Some("True")));
        if let Some(h) = self.health.get_mut(name) {
            classify(&mut self.zone_counts, h, class);
        }
        // Upstream only acts on taints once the node has a Ready condition (its own, or the
        // Unknown one set after the startup grace period).
        if current_ready.is_some() {
            self.process_noexecute(ctx, node, observed_ready);
        }
    }

    /// handleDisruption: zone states set each zone's tainting rate (normal and fully disrupted
    /// zones: the eviction rate; partially disrupted: the secondary rate if the zone is large,
    /// else none). If every zone is fully disrupted, the controller assumes it is the one cut
    /// off: it stops tainting and removes the NoExecute taints it placed.
    fn handle_disruption(&mut self, ctx: &mut Context<'_>, zones: &BTreeMap<String, (usize, usize)>) {
        let states: BTreeMap<String, ZoneState> = zones
            .iter()
            .map(|(z, (ready, not_ready))| {
                (z.clone(), zone_state(*ready, *not_ready, self.cfg.unhealthy_zone_threshold))
            })
            .collect();
        let all_full = !states.is_empty() && states.values().all(|s| *s == ZoneState::FullDisruption);
        let was_all_full = !self.zone_states.is_empty()
            && self.zone_states.values().all(|s| *s == ZoneState::FullDisruption);
        if all_full {
            if !was_all_full {
                let nodes: Vec<Arc<Object>> = self.nodes.iter().flat_map(|i| i.iter().cloned()).collect();
                for obj in &nodes {
                    let Some(node) = obj.as_type::<Node>() else { continue };
                    let tainted = podutil::node_taints(node).iter().any(|t| {
                        t.effect == "NoExecute" && (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE)
                    });
                    if tainted {
                        self.set_taints(ctx, obj.name(), |taints| {
                            taints.retain(|t| {
                                !(t.effect == "NoExecute"
                                    && (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE))
                            })
                        });
                    }
                }
            }
            self.zone_rates = states.keys().map(|z| (z.clone(), 0.0)).collect();
        } else {
            self.zone_rates = states
                .iter()
                .map(|(z, state)| {
                    let size = zones[z].0 + zones[z].1;
                    let rate = match state {
                        ZoneState::PartialDisruption if size > self.cfg.large_cluster_size_threshold => {
                            self.cfg.secondary_node_eviction_rate
                        }
                        ZoneState::PartialDisruption => 0.0,
                        _ => self.cfg.node_eviction_rate,
                    };
                    (z.clone(), rate)
                })
                .collect();
        }
        self.zone_states = states;
    }

    /// Sets the kubelet-owned conditions to Unknown (tryUpdateNodeHealth).
    fn mark_unknown(&mut self, ctx: &mut Context<'_>, node: &Node) -> Option<Node> {
        let mut next = node.clone();
        let now_ts = ctx.api.epoch().time(ctx.now());
        let conditions =
            next.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
        let mut changed = false;
        for ty in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            match conditions.iter_mut().find(|c| c.type_ == ty) {
                Some(c) if c.status == "Unknown" => {}
                Some(c) => {
                    c.status = "Unknown".into();
                    c.reason = Some("NodeStatusUnknown".into());
                    c.message = Some("Kubelet stopped posting node status.".into());
                    c.last_transition_time = Some(now_ts.clone());
                    changed = true;
                }
                None => {
                    conditions.push(NodeCondition {
                        type_: ty.into(),
                        status: "Unknown".into(),
                        reason: Some("NodeStatusNeverUpdated".into()),
                        message: Some("Kubelet never posted node status.".into()),
                        last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                        last_transition_time: Some(now_ts.clone()),
                    });
                    changed = true;
                }
            }
        }
        if !changed {
            return None;
        }
        ctx.api.update_status_as(next).ok().and_then(|o| o.as_type::<Node>().cloned())
    }

    /// MarkPodsNotReady: every pod on the node gets Ready=False.
    fn mark_pods_not_ready(&mut self, ctx: &mut Context<'_>, node: &str) {
        let pods: Vec<Pod> = self
            .pods
            .iter()
            .flat_map(|i| i.iter_as::<Pod>().filter(|p| podutil::node_name(p) == Some(node)).cloned())
            .collect();
        let ts = ctx.api.epoch().time(ctx.now());
        for mut pod in pods {
            if podutil::is_terminal(&pod) {
                continue;
            }
            // Only Ready flips to False; reason and message stay (MarkPodsNotReady).
            let Some(mut cond) =
                podutil::pod_condition(&pod, "Ready").filter(|c| c.status != "False").cloned()
            else {
                continue;
            };
            cond.status = "False".into();
            cond.last_transition_time = Some(ts.clone());
            let changed = podutil::set_pod_condition(&mut pod, cond);
            if changed {
                if let Ok(updated) = ctx.api.update_status_as(pod) {
                    record_event(
                        ctx,
                        reporter(),
                        &updated,
                        "Warning",
                        "NodeNotReady",
                        "Node is not ready".into(),
                    );
                }
            }
        }
    }

    /// processTaintBaseEviction: for the Ready condition observed *before* this pass, swap an
    /// existing not-ready/unreachable NoExecute taint at once, or queue the node for tainting
    /// (rate limited); a node observed Ready loses both taints and leaves the queue.
    fn process_noexecute(&mut self, ctx: &mut Context<'_>, node: &Node, observed: Option<&str>) {
        let name = node.metadata.name.as_deref().unwrap_or("");
        let has =
            |key: &str| podutil::node_taints(node).iter().any(|t| t.key == key && t.effect == "NoExecute");
        // A node that never posted Ready counts as Unknown (tryUpdateNodeHealth's fake condition).
        let (wanted, other) = match observed.unwrap_or("Unknown") {
            "False" => (TAINT_NOT_READY, TAINT_UNREACHABLE),
            "Unknown" => (TAINT_UNREACHABLE, TAINT_NOT_READY),
            _ => {
                if !self.pending_noexecute.is_empty() {
                    if let Some(q) = self.pending_noexecute.get_mut(&zone_of(node)) {
                        q.retain(|n| n != name);
                    }
                }
                if has(TAINT_NOT_READY) || has(TAINT_UNREACHABLE) {
                    self.set_taints(ctx, name, |taints| {
                        taints.retain(|t| {
                            !(t.effect == "NoExecute"
                                && (t.key == TAINT_NOT_READY || t.key == TAINT_UNREACHABLE))
                        })
                    });
                }
                return;
            }
        };
        if has(wanted) {
            return;
        }
        if has(other) {
            // SwapNodeControllerTaint: straight away, outside the rate limiter.
            let ts = ctx.api.epoch().time(ctx.now());
            self.set_taints(ctx, name, |taints| swap_noexecute(taints, wanted, other, ts));
            return;
        }
        let q = self.pending_noexecute.entry(zone_of(node)).or_default();
        if !q.iter().any(|n| n == name) {
            q.push_back(name.to_string());
        }
    }

    /// doNoExecuteTaintingPass: taint queued nodes as the zone's rate limiter allows; the taint
    /// follows the node's Ready condition at that moment (a node Ready again is dropped).
    fn noexecute_tainting_pass(&mut self, ctx: &mut Context<'_>) {
        let now = ctx.now();
        let zones: Vec<String> = self.pending_noexecute.keys().cloned().collect();
        for zone in zones {
            while let Some(node) = self.pending_noexecute.get(&zone).and_then(|q| q.front()).cloned() {
                let current = self.nodes.as_ref().and_then(|i| i.get("", &node)).cloned();
                let current = current.as_ref().and_then(|o| o.as_type::<Node>());
                let ready = current
                    .as_ref()
                    .and_then(|n| podutil::node_condition(n, "Ready"))
                    .map(|c| c.status.clone());
                let taint = match ready.as_deref() {
                    _ if current.is_none() => None,
                    Some("False") => Some((TAINT_NOT_READY, TAINT_UNREACHABLE)),
                    Some("Unknown") | None => Some((TAINT_UNREACHABLE, TAINT_NOT_READY)),
                    _ => None,
                };
                let Some((key, other)) = taint else {
                    self.pending_noexecute.get_mut(&zone).expect("present").pop_front();
                    continue;
                };
                let rate = self.zone_rates.get(&zone).copied().unwrap_or(self.cfg.node_eviction_rate);
                let bucket = self.buckets.entry(zone.clone()).or_insert(Bucket { tokens: 1.0, last: now });
                let elapsed = now.since(bucket.last).as_millis() as f64 / 1000.0;
                bucket.tokens = (bucket.tokens + elapsed * rate).min(1.0);
                if rate <= 0.0 {
                    // A zero rate never lets a node through (NewFakeNeverRateLimiter).
                    bucket.last = now;
                    break;
                }
                bucket.last = now;
                if bucket.tokens < 1.0 {
                    break;
                }
                bucket.tokens -= 1.0;
                self.pending_noexecute.get_mut(&zone).expect("present").pop_front();
                let ts = ctx.api.epoch().time(now);
                self.set_taints(ctx, &node, |taints| swap_noexecute(taints, key, other, ts));
            }
        }
        self.pending_noexecute.retain(|_, q| !q.is_empty());
    }

    /// doNoScheduleTaintingPass: NoSchedule taints mirror the node's conditions and
    /// `spec.unschedulable`.
    fn noschedule_taints(&mut self, ctx: &mut Context<'_>, node: &Node) {
        let cond = |ty: &str| podutil::node_condition(node, ty).map(|c| c.status.as_str());
        let mut wanted: Vec<&str> = Vec::new();
        match cond("Ready") {
            Some("False") => wanted.push(TAINT_NOT_READY),
            Some("Unknown") => wanted.push(TAINT_UNREACHABLE),
            _ => {}
        }
        for (ty, key) in [
            ("MemoryPressure", "node.kubernetes.io/memory-pressure"),
            ("DiskPressure", "node.kubernetes.io/disk-pressure"),
            ("PIDPressure", "node.kubernetes.io/pid-pressure"),
            ("NetworkUnavailable", "node.kubernetes.io/network-unavailable"),
        ] {
            if cond(ty) == Some("True") {
                wanted.push(key);
            }
        }
        if podutil::is_unschedulable(node) {
            wanted.push("node.kubernetes.io/unschedulable");
        }
        let managed = [
            TAINT_NOT_READY,
            TAINT_UNREACHABLE,
            "node.kubernetes.io/memory-pressure",
            "node.kubernetes.io/disk-pressure",
            "node.kubernetes.io/pid-pressure",
            "node.kubernetes.io/network-unavailable",
            "node.kubernetes.io/unschedulable",
        ];
        let current: Vec<&str> = podutil::node_taints(node)
            .iter()
            .filter(|t| t.effect == "NoSchedule" && managed.contains(&t.key.as_str()))
            .map(|t| t.key.as_str())
            .collect();
        let mut a = current.clone();
        a.sort_unstable();
        let mut b = wanted.clone();
        b.sort_unstable();
        if a == b {
            return;
        }
        let name = node.metadata.name.clone().unwrap_or_default();
        let ts = ctx.api.epoch().time(ctx.now());
        self.set_taints(ctx, &name, |taints| {
            taints.retain(|t| {
                !(t.effect == "NoSchedule"
                    && managed.contains(&t.key.as_str())
                    && !wanted.contains(&t.key.as_str()))
            });
            for key in &wanted {
                if !taints.iter().any(|t| t.key == *key && t.effect == "NoSchedule") {
                    taints.push(Taint {
                        key: key.to_string(),
                        effect: "NoSchedule".into(),
                        time_added: Some(ts.clone()),
                        value: None,
                    });
                }
            }
        });
    }

    fn set_taints(&mut self, ctx: &mut Context<'_>, node: &str, edit: impl FnOnce(&mut Vec<Taint>)) {
        let Ok(mut n) = ctx.api.get_as::<Node>(None, node) else {
            return;
        };
        let spec = n.spec.get_or_insert_with(Default::default);
        let mut taints = spec.taints.clone().unwrap_or_default();
        edit(&mut taints);
        spec.taints = (!taints.is_empty()).then_some(taints);
        let _ = ctx.api.update_as(n);
    }
}

impl NodeLifecycleController {
    /// Lists the node Leases and watches from the list's resourceVersion (as an informer
    /// would), keeping only their renewal times.
    fn watch_leases(&mut self, ctx: &mut Context<'_>) {
        let mut spec = WatchSpec::all(Kind::Lease);
        spec.namespace = Some(LEASE_NAMESPACE.into());
        let Ok(list) = ctx.api.list(spec.kind, spec.namespace.as_deref(), &spec.labels, &spec.fields) else {
            return;
        };
        let me = ctx.me();
        self.lease_watch = ctx.api.watch(me, spec, WatchStart::After(list.revision)).ok();
        for lease in &list.items {
            self.unclaimed_renewals.insert(lease.name().to_string(), lease_renew(Some(lease)));
        }
    }

    /// A delivered Lease event. Node Leases are named after their nodes.
    fn observe_lease_event(&mut self, ev: &WatchEvent) {
        let name = ev.object.name();
        let deleted = ev.kind == WatchEventType::Deleted;
        let renew = if deleted { None } else { lease_renew(Some(&ev.object)) };
        match self.health.get_mut(name) {
            Some(h) => {
                h.observed_lease = renew.clone();
                if deleted {
                    // The full check.
                    self.dirty.insert(name.to_string());
                } else if h.pending_renew.replace(renew).is_none() {
                    self.renewed.push((h.slot, h.name.clone()));
                }
            }
            // A node not classified yet: the full check.
            None => {
                if deleted {
                    self.unclaimed_renewals.remove(name);
                } else if let Some(kept) = self.unclaimed_renewals.get_mut(name) {
                    *kept = renew;
                } else {
                    self.unclaimed_renewals.insert(name.to_string(), renew);
                }
                self.dirty.insert(name.to_string());
            }
        }
    }
}

impl Component for NodeLifecycleController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
                self.watch_leases(ctx);
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                // The first pass looks at every node already listed.
                self.dirty.extend(self.nodes.iter().flat_map(|i| i.iter().map(|o| o.name().to_string())));
                ctx.after(self.cfg.node_monitor_period, Event::Timer(Timer::MonitorNodes));
            }
            Event::Timer(Timer::MonitorNodes) => {
                self.monitor(ctx);
                ctx.after(self.cfg.node_monitor_period, Event::Timer(Timer::MonitorNodes));
            }
            Event::Watch(ev) => {
                if self.nodes.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.nodes.as_mut().expect("checked").apply(&ev);
                    self.dirty.insert(ev.object.name().to_string());
                    if let (WatchEventType::Added | WatchEventType::Modified, Some(node)) =
                        (ev.kind, ev.object.as_type::<Node>())
                    {
                        self.noschedule_taints(ctx, node);
                    }
                } else if self.lease_watch == Some(ev.watch) {
                    self.observe_lease_event(&ev);
                } else if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.pods.as_mut().expect("checked").apply(&ev);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_states_follow_compute_zone_state() {
        assert_eq!(zone_state(0, 3, 0.55), ZoneState::FullDisruption);
        assert_eq!(zone_state(1, 3, 0.55), ZoneState::PartialDisruption); // 75% and more than 2
        assert_eq!(zone_state(8, 2, 0.55), ZoneState::Normal); // only 2 not ready
        assert_eq!(zone_state(3, 3, 0.55), ZoneState::Normal); // 50% < 55%
        assert_eq!(zone_state(5, 0, 0.55), ZoneState::Normal);
    }
}
