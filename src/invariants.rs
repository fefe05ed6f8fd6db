//! Invariant checkers, kept apart from the components they check (as TigerBeetle's VOPR does).
//! They watch committed writes and delivered watch events and stop the run at the first
//! violation:
//! - the store revision strictly increases from write to write;
//! - each watch stream delivers events in increasing resourceVersion order;
//! - a pod, once bound, is never bound to another node;
//! - the requests of the pods bound to a node never exceed its allocatable (a pod created with
//!   `spec.nodeName` already set counts once its kubelet admitted it and it runs: the scheduler
//!   never saw it, and a kubelet rejects one that does not fit);
//! - a RollingUpdate Deployment's ReplicaSets never ask for more than `replicas + maxSurge`
//!   pods once the Deployment controller has acted on the current spec (its
//!   `observedGeneration` caught up; before that a user's scale-down is still being applied).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};

use crate::api::pod::{self as podutil, Resources};
use crate::api::Object;
use crate::apiserver::{Change, WatchId};
use crate::controllers::deployment::fenceposts;
use crate::sim::engine::Delivered;
use crate::sim::{ComponentId, Event};

#[derive(Default)]
pub struct InvariantChecker {
    last_revision: i64,
    last_watch_rv: BTreeMap<(ComponentId, WatchId), i64>,
    bound: BTreeMap<Arc<str>, (String, Resources)>,
    /// Pods created already bound to a node (by hand, static pods' mirrors).
    hand_placed: std::collections::BTreeSet<Arc<str>>,
    requested: BTreeMap<String, Resources>,
    allocatable: BTreeMap<String, Resources>,
    /// Deployment UID → the Deployment.
    deployments: BTreeMap<String, Deployment>,
    /// ReplicaSet UID → (controlling Deployment's UID, spec.replicas).
    replica_sets: BTreeMap<String, (String, i32)>,
}

impl InvariantChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks one delivered event and the writes it caused.
    pub fn check(&mut self, delivered: &Delivered, changes: &[Change]) -> Result<(), String> {
        if let Event::Watch(w) = &delivered.event {
            let rv = w.object.resource_version();
            let last = self.last_watch_rv.entry((delivered.to, w.watch)).or_insert(0);
            if rv <= *last {
                return Err(format!(
                    "watch {} of component #{} received resourceVersion {rv} after {last} ({} {})",
                    w.watch.0,
                    delivered.to.0,
                    w.object.kind(),
                    w.object.namespaced_name()
                ));
            }
            *last = rv;
        }
        self.check_changes(changes)
    }

    /// Checks writes made outside any event (scenario setup).
    pub fn check_changes(&mut self, changes: &[Change]) -> Result<(), String> {
        for c in changes {
            if c.revision <= self.last_revision {
                return Err(format!("store revision went from {} to {}", self.last_revision, c.revision));
            }
            self.last_revision = c.revision;
            match (c.new.as_deref(), c.old.as_deref()) {
                (Some(Object::Pod(p)), old) => {
                    let uid: Arc<str> = Arc::from(c.new.as_ref().expect("some").uid());
                    if old.is_none() && podutil::node_name(p).is_some() {
                        // Created already bound: placed without the scheduler.
                        self.hand_placed.insert(uid.clone());
                    }
                    self.pod_changed(uid, Some(p))?
                }
                (None, Some(Object::Pod(_))) => {
                    self.pod_changed(Arc::from(c.old.as_ref().expect("some").uid()), None)?
                }
                (Some(Object::Node(n)), _) => self.node_changed(n)?,
                (Some(Object::Deployment(d)), _) => {
                    let uid = d.metadata.uid.clone().unwrap_or_default();
                    self.deployments.insert(uid.clone(), (**d).clone());
                    self.check_rollout(&uid)?;
                }
                (None, Some(Object::Deployment(d))) => {
                    self.deployments.remove(d.metadata.uid.as_deref().unwrap_or(""));
                }
                (Some(Object::ReplicaSet(rs)), _) => {
                    let uid = rs.metadata.uid.clone().unwrap_or_default();
                    match podutil::controller_of(&rs.metadata).filter(|r| r.kind == "Deployment") {
                        Some(owner) => {
                            let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                            self.replica_sets.insert(uid, (owner.uid.clone(), replicas));
                            let owner = owner.uid.clone();
                            self.check_rollout(&owner)?;
                        }
                        None => {
                            self.replica_sets.remove(&uid);
                        }
                    }
                }
                (None, Some(Object::ReplicaSet(rs))) => {
                    self.replica_sets.remove(rs.metadata.uid.as_deref().unwrap_or(""));
                }
                (None, Some(Object::Node(n))) => {
                    self.allocatable.remove(n.metadata.name.as_deref().unwrap_or(""));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn pod_changed(&mut self, uid: Arc<str>, pod: Option<&Pod>) -> Result<(), String> {
        let node = pod.and_then(podutil::node_name).map(str::to_string);
        if let (Some((old_node, _)), Some(new_node)) = (self.bound.get(&uid), &node) {
            if old_node != new_node {
                let name = pod.and_then(|p| p.metadata.name.clone()).unwrap_or_default();
                return Err(format!("pod {name} ({uid}) was bound to {old_node} and then to {new_node}"));
            }
        }
        if let Some((old_node, req)) = self.bound.remove(&uid) {
            if let Some(sum) = self.requested.get_mut(&old_node) {
                sum.sub(&req);
            }
        }
        let Some(pod) = pod else {
            self.hand_placed.remove(&uid);
            return Ok(());
        };
        let Some(node) = node else { return Ok(()) };
        if self.hand_placed.contains(&uid) && podutil::phase(pod) != "Running" {
            self.bound.insert(uid, (node, Resources::default()));
            return Ok(());
        }
        if podutil::is_terminal(pod) {
            // Terminal pods free their resources, but stay bound.
            self.bound.insert(uid, (node, Resources::default()));
            return Ok(());
        }
        let req = podutil::pod_requests(pod);
        self.requested.entry(node.clone()).or_default().add(&req);
        self.bound.insert(uid, (node.clone(), req));
        self.check_node(&node)
    }

    fn check_rollout(&self, deployment_uid: &str) -> Result<(), String> {
        let Some(d) = self.deployments.get(deployment_uid) else { return Ok(()) };
        let spec = d.spec.as_ref();
        let rolling =
            spec.and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref()) != Some("Recreate");
        let caught_up = d.status.as_ref().and_then(|s| s.observed_generation) == d.metadata.generation;
        if !rolling || !caught_up || d.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
        let bound = replicas + fenceposts(d).0;
        let total: i32 =
            self.replica_sets.values().filter(|(owner, _)| owner == deployment_uid).map(|(_, n)| *n).sum();
        if total > bound {
            return Err(format!(
                "deployment {} asks for {total} pods in its ReplicaSets, more than replicas {replicas} + maxSurge {}",
                d.metadata.name.as_deref().unwrap_or(""),
                bound - replicas
            ));
        }
        Ok(())
    }

    fn node_changed(&mut self, node: &Node) -> Result<(), String> {
        let name = node.metadata.name.clone().unwrap_or_default();
        self.allocatable.insert(name.clone(), podutil::node_allocatable(node));
        self.check_node(&name)
    }

    fn check_node(&self, node: &str) -> Result<(), String> {
        let (Some(req), Some(alloc)) = (self.requested.get(node), self.allocatable.get(node)) else {
            return Ok(());
        };
        let over = req.exceeding(alloc);
        if over.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "node {node} is over-committed on {}: pods request cpu {}m, memory {} but allocatable is cpu {}m, memory {}",
                over.join(", "),
                req.milli_cpu,
                req.memory,
                alloc.milli_cpu,
                alloc.memory
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode::decode_documents;

    fn change(rev: i64, old: Option<Object>, new: Option<Object>) -> Change {
        let kind = new.as_ref().or(old.as_ref()).map(Object::kind).expect("one side");
        Change { revision: rev, kind, old: old.map(Arc::new), new: new.map(Arc::new) }
    }

    fn pod(uid: &str, node: &str, cpu: &str) -> Object {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p-{uid}, uid: {uid}}}\nspec: {{nodeName: {node}, containers: [{{name: c, image: x, resources: {{requests: {{cpu: '{cpu}'}}}}}}]}}\n"
        );
        decode_documents(&yaml).unwrap().remove(0)
    }

    fn node(name: &str, cpu: &str) -> Object {
        let yaml = format!("apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus: {{allocatable: {{cpu: '{cpu}', memory: 1Gi, pods: '10'}}}}\n");
        decode_documents(&yaml).unwrap().remove(0)
    }

    fn running(mut obj: Object) -> Object {
        if let Object::Pod(p) = &mut obj {
            p.status.get_or_insert_with(Default::default).phase = Some("Running".into());
        }
        obj
    }

    #[test]
    fn catches_an_over_committed_node() {
        // Pods the scheduler binds (created unbound, then bound) count at once.
        let mut c = InvariantChecker::new();
        c.check_changes(&[change(2, None, Some(node("n1", "1")))]).unwrap();
        c.check_changes(&[change(3, None, Some(pod("a", "", "600m")))]).unwrap();
        c.check_changes(&[change(4, Some(pod("a", "", "600m")), Some(pod("a", "n1", "600m")))]).unwrap();
        c.check_changes(&[change(5, None, Some(pod("b", "", "600m")))]).unwrap();
        let err = c
            .check_changes(&[change(6, Some(pod("b", "", "600m")), Some(pod("b", "n1", "600m")))])
            .unwrap_err();
        assert!(err.contains("node n1 is over-committed on cpu"), "{err}");
    }

    #[test]
    fn a_hand_placed_pod_counts_once_its_kubelet_runs_it() {
        let mut c = InvariantChecker::new();
        c.check_changes(&[change(2, None, Some(node("n1", "1")))]).unwrap();
        c.check_changes(&[change(3, None, Some(pod("a", "n1", "600m")))]).unwrap();
        // Created with nodeName: the kubelet may still reject it, so it does not count yet.
        c.check_changes(&[change(4, None, Some(pod("b", "n1", "600m")))]).unwrap();
        c.check_changes(&[change(5, Some(pod("a", "n1", "600m")), Some(running(pod("a", "n1", "600m"))))])
            .unwrap();
        let err = c
            .check_changes(&[change(6, Some(pod("b", "n1", "600m")), Some(running(pod("b", "n1", "600m"))))])
            .unwrap_err();
        assert!(err.contains("node n1 is over-committed on cpu"), "{err}");
    }

    #[test]
    fn catches_a_pod_bound_twice_and_a_revision_going_back() {
        let mut c = InvariantChecker::new();
        c.check_changes(&[change(2, None, Some(pod("a", "n1", "0")))]).unwrap();
        let err =
            c.check_changes(&[change(3, Some(pod("a", "n1", "0")), Some(pod("a", "n2", "0")))]).unwrap_err();
        assert!(err.contains("was bound to n1 and then to n2"), "{err}");
        let err = InvariantChecker::new()
            .check_changes(&[change(5, None, Some(node("n", "1"))), change(5, None, Some(node("m", "1")))])
            .unwrap_err();
        assert!(err.contains("store revision went from 5 to 5"), "{err}");
    }

    #[test]
    fn freed_resources_are_released() {
        let mut c = InvariantChecker::new();
        c.check_changes(&[change(2, None, Some(node("n1", "1")))]).unwrap();
        c.check_changes(&[change(3, None, Some(pod("a", "n1", "600m")))]).unwrap();
        c.check_changes(&[change(4, Some(pod("a", "n1", "600m")), None)]).unwrap();
        c.check_changes(&[change(5, None, Some(pod("b", "n1", "600m")))]).unwrap();
    }
}
