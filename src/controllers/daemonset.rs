//! The DaemonSet controller (pkg/controller/daemon: daemon_controller.go, update.go,
//! util/daemonset_util.go).
//!
//! One pod per eligible node. A node is eligible when the daemon pod fits its name, node
//! affinity / nodeSelector and NoSchedule/NoExecute taints (`nodeShouldRunDaemonPod`); a pod
//! already there keeps running while only NoSchedule taints are untolerated. Daemon pods get
//! the tolerations upstream adds (`not-ready` and `unreachable` NoExecute without
//! tolerationSeconds, so they are never evicted from a failing node; the pressure and
//! `unschedulable` NoSchedule ones, `network-unavailable` for host-network pods) and a required
//! node affinity on `metadata.name`, so the default scheduler places each on its node. The
//! controller follows nodes joining and leaving, replaces failed daemon pods, deletes surplus
//! ones, and updates pods on a template change: RollingUpdate deletes old pods while at most
//! `maxUnavailable` daemon pods are unavailable (surge is not modelled), OnDelete waits for the
//! user to delete them. Status: desired / current / misscheduled / ready / updated / available.
//!
//! Simplification: upstream records template history in ControllerRevision objects; kubesim
//! keeps no history and labels pods with `controller-revision-hash` computed from the template
//! (so "updated" means "has the current template's hash").

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec,
    Toleration,
};

use super::controller_utils::{create_pods, ControllerExpectations};
use super::deployment::pod_template_hash;
use super::ownership::{claim, pod_from_template, selector_or_nothing};
use super::replicaset::is_available;
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::intstr::scaled_value;
use crate::api::pod as podutil;
use crate::api::{Kind, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::scheduler::plugins::node_affinity_matches;
use crate::sim::{Component, Context, Event, SimDuration, Timer};

/// Pod label naming the template revision a daemon pod runs.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// Delay before replacing a failed daemon pod the first time; doubles per failure up to
/// [`FAILED_POD_BACKOFF_MAX`] (failedPodsBackoff in NewDaemonSetsController).
pub const FAILED_POD_BACKOFF: SimDuration = SimDuration::from_secs(1);
pub const FAILED_POD_BACKOFF_MAX: SimDuration = SimDuration::from_secs(15 * 60);

fn reporter() -> Reporter<'static> {
    Reporter { component: "daemonset-controller", host: None }
}

fn toleration(key: &str, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Default::default()
    }
}

/// AddOrUpdateDaemonPodTolerations: what every daemon pod tolerates.
pub fn daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut t = vec![
        toleration("node.kubernetes.io/not-ready", "NoExecute"),
        toleration("node.kubernetes.io/unreachable", "NoExecute"),
        toleration("node.kubernetes.io/disk-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/memory-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/pid-pressure", "NoSchedule"),
        toleration("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        t.push(toleration("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    t
}

/// The pod the DaemonSet would run on `node`: its template with the daemon tolerations (added
/// when missing), the revision label `hash` ([`current_hash`]) and a required node affinity pinning it to the node
/// (ReplaceDaemonSetPodNodeNameNodeAffinity).
pub fn daemon_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let template = ds.spec.as_ref().map(|s| &s.template);
    let mut pod = pod_from_template(template, Kind::DaemonSet, &ds.metadata);
    pod.metadata.labels.get_or_insert_with(BTreeMap::new).insert(REVISION_HASH_LABEL.into(), hash.into());
    let spec = pod.spec.get_or_insert_with(Default::default);
    add_daemon_tolerations(spec);
    let pin = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.to_string()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution =
        Some(NodeSelector { node_selector_terms: vec![pin] });
    pod
}

/// Adds the daemon tolerations a pod spec lacks.
fn add_daemon_tolerations(spec: &mut PodSpec) {
    let host_network = spec.host_network == Some(true);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for t in daemon_tolerations(host_network) {
        if !tolerations.iter().any(|x| x.key == t.key && x.effect == t.effect) {
            tolerations.push(t);
        }
    }
}

/// nodeShouldRunDaemonPod: (should run, should continue running), for the template's pod with
/// the daemon tolerations. The `metadata.name` pin always matches its own node, so it is left
/// out, and no revision hash is computed: this runs for every node in several passes a sync.
pub fn should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let name = node.metadata.name.as_deref().unwrap_or("");
    let spec = ds.spec.as_ref().and_then(|s| s.template.spec.clone());
    let mut pod = Pod { spec, ..Default::default() };
    add_daemon_tolerations(pod.spec.get_or_insert_with(Default::default));
    let fits_name = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_none_or(|n| n == name);
    if !fits_name || !node_affinity_matches(&pod, node) {
        return (false, false);
    }
    let tols = podutil::tolerations(&pod);
    let taints = podutil::node_taints(node);
    if podutil::untolerated_taint(taints, tols, &["NoExecute"]).is_some() {
        return (false, false);
    }
    if podutil::untolerated_taint(taints, tols, &["NoSchedule"]).is_some() {
        return (false, true);
    }
    (true, true)
}

/// The controller component.
#[derive(Default)]
pub struct DaemonSetController {
    sets: Option<Informer>,
    pods: Option<Informer>,
    nodes: Option<Informer>,
    queue: ControllerQueue,
    expectations: ControllerExpectations,
    /// Failed-pod replacement back-off per (DaemonSet, node): consecutive failures.
    failed_pods: BTreeMap<(ObjectKey, String), u32>,
}

impl DaemonSetController {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_pod(&mut self, kind: WatchEventType, obj: &Object, old: Option<&Arc<Object>>) {
        let Some(owner) = podutil::controller_of(obj.meta()).filter(|r| r.kind == "DaemonSet") else {
            return;
        };
        let key = (obj.namespace().unwrap_or("").to_string(), owner.name.clone());
        let terminating = obj.meta().deletion_timestamp.is_some();
        let was_terminating = old.is_some_and(|o| o.meta().deletion_timestamp.is_some());
        match kind {
            WatchEventType::Added if !terminating => self.expectations.creation_observed(&key),
            WatchEventType::Deleted if !was_terminating => self.expectations.deletion_observed(&key),
            WatchEventType::Modified if terminating && !was_terminating => {
                self.expectations.deletion_observed(&key)
            }
            _ => {}
        }
        self.queue.add(key);
    }

    fn sync(&mut self, ctx: &mut Context<'_>, key: ObjectKey) {
        let Some(ds_obj) = self.sets.as_ref().and_then(|s| s.get(&key.0, &key.1)).cloned() else {
            self.expectations.forget(&key);
            return;
        };
        let ds = ds_obj.as_type::<DaemonSet>().expect("ds informer").clone();
        let selector = selector_or_nothing(ds.spec.as_ref().map(|s| &s.selector));
        let candidates: Vec<Arc<Object>> =
            self.pods.iter().flat_map(|p| p.in_namespace(&key.0).cloned()).collect();
        let owned: Vec<Pod> = claim(ctx, Kind::DaemonSet, &ds.metadata, &selector, candidates)
            .iter()
            .filter_map(|o| o.as_type::<Pod>().cloned())
            .collect();
        let nodes: Vec<Node> = self.nodes.iter().flat_map(|n| n.iter_as::<Node>().cloned()).collect();
        // Pods by node (pods not yet scheduled count for the node their affinity pins). A node
        // whose daemon pod is still terminating has a pod: no replacement until it is gone.
        let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
        for p in &owned {
            if let Some(node) = podutil::node_name(p).map(str::to_string).or_else(|| pinned_node(p)) {
                by_node.entry(node).or_default().push(p);
            }
        }
        if ds.metadata.deletion_timestamp.is_none() && self.expectations.satisfied(&key, ctx.now()) {
            self.manage(ctx, &key, &ds, &ds_obj, &nodes, &by_node);
        }
        self.update_status(ctx, &ds, &nodes, &by_node);
    }

    /// manage: which nodes need a pod and which pods must go, then rolling update.
    fn manage(
        &mut self,
        ctx: &mut Context<'_>,
        key: &ObjectKey,
        ds: &DaemonSet,
        ds_obj: &Object,
        nodes: &[Node],
        by_node: &BTreeMap<String, Vec<&Pod>>,
    ) {
        let now = ctx.now();
        let mut create_on: Vec<String> = Vec::new();
        let mut delete: Vec<&Pod> = Vec::new();
        for node in nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            let (run, keep) = should_run(ds, node);
            let pods = by_node.get(&name).cloned().unwrap_or_default();
            if run && pods.is_empty() {
                create_on.push(name);
            } else if keep {
                // Failed daemon pods are deleted and replaced after a back-off.
                let (failed, alive): (Vec<&Pod>, Vec<&Pod>) = pods
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .partition(|p| podutil::phase(p) == "Failed");
                if !failed.is_empty() {
                    let n = self.failed_pods.entry((key.clone(), name.clone())).or_default();
                    let delay = SimDuration::from_millis(
                        (FAILED_POD_BACKOFF.as_millis() << (*n).min(20))
                            .min(FAILED_POD_BACKOFF_MAX.as_millis()),
                    );
                    *n += 1;
                    let msg = format!(
                        "Found failed daemon pod {}/{} on node {name}, will try to kill it",
                        key.0,
                        failed[0].metadata.name.as_deref().unwrap_or("")
                    );
                    record_event(ctx, reporter(), ds_obj, "Warning", "FailedDaemonPod", msg);
                    delete.extend(failed);
                    self.queue.add_at(key.clone(), now + delay);
                }
                // More than one live pod: keep the oldest.
                let mut alive = alive;
                alive.sort_by_key(|p| (p.metadata.creation_timestamp.clone(), p.metadata.name.clone()));
                delete.extend(alive.iter().skip(1));
            } else {
                delete.extend(pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()));
            }
        }
        // Pods for nodes that no longer exist.
        for (node, pods) in by_node {
            if !nodes.iter().any(|n| n.metadata.name.as_deref() == Some(node)) {
                delete.extend(pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()));
            }
        }
        delete.extend(self.rolling_update_victims(ctx, ds, nodes, by_node, &delete));
        self.expectations.expect(key, create_on.len(), delete.len(), now);
        let mut nodes_left = create_on.iter();
        let hash = current_hash(ds);
        let next = || daemon_pod(ds, nodes_left.next().expect("one node per pod"), &hash);
        create_pods(ctx, reporter(), ds_obj, &mut self.expectations, key, create_on.len(), next);
        for pod in delete {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let opts = DeleteOptions { uid: pod.metadata.uid.clone(), ..Default::default() };
            match ctx.api.delete(Kind::Pod, Some(&key.0), &name, opts) {
                Ok(_) => {
                    let msg = format!("Deleted pod: {name}");
                    record_event(ctx, reporter(), ds_obj, "Normal", "SuccessfulDelete", msg);
                }
                Err(_) => self.expectations.deletion_observed(key),
            }
        }
    }

    /// rollingUpdate (maxSurge 0): old pods that are unavailable go at once; available old pods
    /// go while fewer than maxUnavailable daemon pods are unavailable.
    fn rolling_update_victims<'p>(
        &self,
        ctx: &Context<'_>,
        ds: &DaemonSet,
        nodes: &[Node],
        by_node: &BTreeMap<String, Vec<&'p Pod>>,
        already: &[&Pod],
    ) -> Vec<&'p Pod> {
        let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
        if strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete") {
            return Vec::new();
        }
        let hash = current_hash(ds);
        let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let (now, epoch) = (ctx.now(), ctx.api.epoch());
        let desired = nodes.iter().filter(|n| should_run(ds, n).0).count() as i32;
        let max_unavailable = strategy
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.as_ref())
            .map_or(Ok(1), |v| scaled_value(v, desired, true))
            .unwrap_or(1);
        let mut unavailable = 0;
        let mut old_available: Vec<&Pod> = Vec::new();
        let mut victims = Vec::new();
        // Nodes with daemon pods, and nodes that should run one (counted unavailable while they
        // have none), as updatedDesiredNodeCounts builds them.
        for node in nodes {
            let name = node.metadata.name.as_deref().unwrap_or("");
            if !should_run(ds, node).0 && !by_node.contains_key(name) {
                continue;
            }
            let pods: Vec<&Pod> = by_node
                .get(name)
                .into_iter()
                .flatten()
                .copied()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| !already.iter().any(|a| a.metadata.uid == p.metadata.uid))
                .collect();
            let Some(pod) = pods.first() else {
                unavailable += 1;
                continue;
            };
            let available = is_available(pod, min_ready, now, epoch);
            let is_old = pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)) != Some(&hash);
            match (is_old, available) {
                (true, false) => {
                    victims.push(*pod);
                    unavailable += 1;
                }
                (true, true) => old_available.push(*pod),
                (false, false) => unavailable += 1,
                (false, true) => {}
            }
        }
        for pod in old_available {
            if unavailable >= max_unavailable {
                break;
            }
            victims.push(pod);
            unavailable += 1;
        }
        victims
    }

    fn update_status(
        &mut self,
        ctx: &mut Context<'_>,
        ds: &DaemonSet,
        nodes: &[Node],
        by_node: &BTreeMap<String, Vec<&Pod>>,
    ) {
        let hash = current_hash(ds);
        let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let (now, epoch) = (ctx.now(), ctx.api.epoch());
        let (mut desired, mut current, mut misscheduled, mut ready, mut updated, mut available) =
            (0, 0, 0, 0, 0, 0);
        for node in nodes {
            let name = node.metadata.name.as_deref().unwrap_or("");
            let (run, _) = should_run(ds, node);
            let pods = by_node.get(name).map_or(&[][..], Vec::as_slice);
            let scheduled: Vec<&&Pod> = pods.iter().filter(|p| podutil::node_name(p).is_some()).collect();
            if run {
                desired += 1;
                if let Some(p) = scheduled.first() {
                    current += 1;
                    if podutil::is_ready(p) {
                        ready += 1;
                    }
                    if is_available(p, min_ready, now, epoch) {
                        available += 1;
                    }
                    if p.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)) == Some(&hash) {
                        updated += 1;
                    }
                }
            } else if !scheduled.is_empty() {
                misscheduled += 1;
            }
        }
        let some = |n: i32| (n != 0).then_some(n);
        let status = DaemonSetStatus {
            desired_number_scheduled: desired,
            current_number_scheduled: current,
            number_misscheduled: misscheduled,
            number_ready: ready,
            updated_number_scheduled: some(updated),
            number_available: some(available),
            number_unavailable: some(desired - available),
            observed_generation: ds.metadata.generation,
            collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
            conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        };
        if ds.status.as_ref() != Some(&status) {
            let mut next = ds.clone();
            next.status = Some(status);
            let _ = ctx.api.update_status_as(next);
        }
        // Availability after minReadySeconds changes without any event: look again then.
        if min_ready > 0 && ready > available {
            let key = (
                ds.metadata.namespace.clone().unwrap_or_default(),
                ds.metadata.name.clone().unwrap_or_default(),
            );
            self.queue.add_at(key, now + SimDuration::from_secs(1));
        }
    }
}

/// The `controller-revision-hash` label of pods with the DaemonSet's current template.
pub fn current_hash(ds: &DaemonSet) -> String {
    pod_template_hash(&ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default(), None)
}

/// The node a daemon pod's `metadata.name` affinity pins it to.
fn pinned_node(pod: &Pod) -> Option<String> {
    let terms = &pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms.iter().flat_map(|t| t.match_fields.iter().flatten()).find_map(|r| {
        (r.key == "metadata.name" && r.operator == "In")
            .then(|| r.values.as_ref()?.first().cloned())
            .flatten()
    })
}

impl Component for DaemonSetController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.sets = Informer::start(ctx, WatchSpec::all(Kind::DaemonSet)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
                self.queue.add_all(self.sets.as_ref());
            }
            Event::Watch(ev) => {
                if self.sets.as_ref().is_some_and(|s| s.owns(&ev)) {
                    self.sets.as_mut().expect("checked").apply(&ev);
                    self.queue.add(key_of(&ev.object));
                } else if self.pods.as_ref().is_some_and(|p| p.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(ev.kind, &ev.object, old.as_ref());
                } else if self.nodes.as_ref().is_some_and(|n| n.owns(&ev)) {
                    let old = self.nodes.as_mut().expect("checked").apply(&ev);
                    // Nodes joining or leaving, and changes to what decides eligibility (labels,
                    // taints), make every DaemonSet look again (nodeShouldRunDaemonPod may change);
                    // heartbeats alone do not.
                    let relevant = match (&old, ev.kind) {
                        (Some(old), WatchEventType::Modified) => {
                            let (a, b) = (old.as_type::<Node>(), ev.object.as_type::<Node>());
                            a.map(|n| (&n.metadata.labels, n.spec.as_ref().map(|s| &s.taints)))
                                != b.map(|n| (&n.metadata.labels, n.spec.as_ref().map(|s| &s.taints)))
                        }
                        _ => true,
                    };
                    if relevant {
                        self.queue.add_all(self.sets.as_ref());
                    }
                }
            }
            Event::Timer(Timer::Reconcile) => {
                for key in self.queue.due(ctx.now()) {
                    self.sync(ctx, key);
                }
            }
            _ => {}
        }
        self.queue.arm(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode::decode_documents;

    fn objects(yaml: &str) -> Vec<Object> {
        decode_documents(yaml).unwrap()
    }

    #[test]
    fn eligibility_follows_selector_and_taints() {
        let objs = objects(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      nodeSelector: {role: worker}\n      containers: [{name: a, image: agent}]\n---\napiVersion: v1\nkind: Node\nmetadata: {name: w1, labels: {role: worker}}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: cp, labels: {role: control-plane}}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: w2, labels: {role: worker}}\nspec:\n  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]\n---\napiVersion: v1\nkind: Node\nmetadata: {name: w3, labels: {role: worker}}\nspec:\n  taints: [{key: node.kubernetes.io/unreachable, effect: NoExecute}, {key: node.kubernetes.io/unschedulable, effect: NoSchedule}]\n",
        );
        let ds = objs[0].as_type::<DaemonSet>().unwrap();
        let node = |i: usize| objs[i].as_type::<Node>().unwrap();
        assert_eq!(should_run(ds, node(1)), (true, true));
        assert_eq!(should_run(ds, node(2)), (false, false), "nodeSelector excludes the control plane");
        assert_eq!(
            should_run(ds, node(3)),
            (false, true),
            "an untolerated NoSchedule taint only stops new pods"
        );
        assert_eq!(
            should_run(ds, node(4)),
            (true, true),
            "daemon pods tolerate unreachable and unschedulable"
        );
    }

    #[test]
    fn daemon_pods_are_pinned_to_their_node_and_tolerate_node_problems() {
        let objs = objects(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: kube-system, uid: u1}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec: {hostNetwork: true, containers: [{name: a, image: agent}]}\n",
        );
        let ds = objs[0].as_type::<DaemonSet>().unwrap();
        let pod = daemon_pod(ds, "w1", &current_hash(ds));
        assert_eq!(pinned_node(&pod).as_deref(), Some("w1"));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("agent-"));
        let keys: Vec<&str> = podutil::tolerations(&pod).iter().filter_map(|t| t.key.as_deref()).collect();
        assert!(keys.contains(&"node.kubernetes.io/unreachable"));
        assert!(keys.contains(&"node.kubernetes.io/network-unavailable"));
        let unreachable = podutil::tolerations(&pod)
            .iter()
            .find(|t| t.key.as_deref() == Some("node.kubernetes.io/unreachable"));
        assert_eq!(unreachable.and_then(|t| t.toleration_seconds), None, "never evicted");
    }
}
