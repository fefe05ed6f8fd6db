//! The taint eviction controller (pkg/controller/tainteviction/taint_eviction.go, formerly the
//! NoExecute taint manager).
//!
//! For each pod on a node with NoExecute taints: a taint the pod does not tolerate evicts it at
//! once; if every taint is tolerated, the eviction is scheduled the minimum `tolerationSeconds`
//! after the controller observed the taints (a toleration without seconds tolerates forever).
//! Removing the taints cancels a scheduled eviction. Evicting adds the DisruptionTarget
//! condition (reason DeletionByTaintManager), records TaintManagerEviction and deletes the pod
//! gracefully.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use crate::api::pod as podutil;
use crate::api::{Kind, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

#[derive(Default)]
pub struct TaintEvictionController {
    nodes: Option<Informer>,
    pods: Option<Informer>,
    /// Pod UID → (namespace, name, when the eviction was first scheduled, when it fires).
    scheduled: BTreeMap<Arc<str>, (String, String, SimTime, SimTime)>,
}

fn reporter() -> Reporter<'static> {
    Reporter { component: "taint-eviction-controller", host: None }
}

/// `None`: tolerated forever; `Some(0)`: evict now; `Some(s)`: evict after s seconds.
///
/// As upstream (`GetMatchingTolerations` + `getMinTolerationTime`): each NoExecute taint is
/// matched by the *first* toleration that tolerates it; an untolerated taint evicts at once; the
/// delay is the smallest `tolerationSeconds` among those tolerations (≤ 0 means at once), and
/// none of them having seconds means forever.
pub fn eviction_delay(pod: &Pod, taints: &[Taint]) -> Option<u64> {
    let tols = podutil::tolerations(pod);
    let mut used = Vec::new();
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        match tols.iter().find(|t| podutil::tolerates(t, taint)) {
            Some(t) => used.push(t),
            None => return Some(0),
        }
    }
    if used.is_empty() {
        return None;
    }
    let mut min: Option<i64> = None;
    for s in used.iter().filter_map(|t| t.toleration_seconds) {
        if s <= 0 {
            return Some(0);
        }
        min = Some(min.map_or(s, |m| m.min(s)));
    }
    min.map(|s| s as u64)
}

/// Whether an update left the pod's node and tolerations as they were.
fn same_node_and_tolerations(old: Option<&Object>, new: &Object) -> bool {
    let (Some(old), Some(new)) = (old.and_then(|o| o.as_type::<Pod>()), new.as_type::<Pod>()) else {
        return false;
    };
    podutil::node_name(old) == podutil::node_name(new)
        && podutil::tolerations(old) == podutil::tolerations(new)
        // A pod starting to terminate drops its scheduled eviction (kubesim's shortcut for
        // upstream's delete of an already-deleted pod being a no-op).
        && old.metadata.deletion_timestamp.is_some() == new.metadata.deletion_timestamp.is_some()
}

impl TaintEvictionController {
    pub fn new() -> Self {
        Self::default()
    }

    fn node_taints(&self, node: &str) -> Vec<Taint> {
        self.nodes
            .as_ref()
            .and_then(|n| n.get_as::<Node>("", node))
            .map(|n| podutil::node_taints(n).to_vec())
            .unwrap_or_default()
    }

    fn process_pod(&mut self, ctx: &mut Context<'_>, obj: &Arc<Object>) {
        let Some(pod) = obj.as_type::<Pod>() else {
            return;
        };
        let uid: Arc<str> = Arc::from(obj.uid());
        let Some(node) = podutil::node_name(pod) else {
            return;
        };
        if pod.metadata.deletion_timestamp.is_some() {
            self.scheduled.remove(&uid);
            return;
        }
        let now = ctx.now();
        match eviction_delay(pod, &self.node_taints(node)) {
            None => self.cancel(ctx, &uid, obj),
            Some(0) => {
                self.cancel(ctx, &uid, obj);
                self.evict(ctx, obj);
            }
            Some(secs) => {
                let (ns, name) = (obj.namespace().unwrap_or("").to_string(), obj.name().to_string());
                let created = self.scheduled.get(&uid).map_or(now, |s| s.2);
                let fire = created + SimDuration::from_secs(secs);
                if self.scheduled.get(&uid).map(|s| s.3) != Some(fire) {
                    self.scheduled.insert(uid.clone(), (ns, name, created, fire));
                    ctx.after(fire.since(now), Event::Timer(Timer::TaintEviction { pod_uid: uid }));
                }
            }
        }
    }

    /// Drops a scheduled eviction, recording it as upstream's `cancelWorkWithEvent` does.
    fn cancel(&mut self, ctx: &mut Context<'_>, uid: &Arc<str>, obj: &Object) {
        if self.scheduled.remove(uid).is_some() {
            let msg = format!("Cancelling deletion of Pod {}", obj.namespaced_name());
            record_event(ctx, reporter(), obj, "Normal", "TaintManagerEviction", msg);
        }
    }

    fn evict(&mut self, ctx: &mut Context<'_>, obj: &Arc<Object>) {
        // Upstream GETs the pod before patching: the informer's copy may be stale.
        let Ok(mut pod) = ctx.api.get_as::<Pod>(obj.namespace(), obj.name()) else {
            return;
        };
        if pod.metadata.uid.as_deref() != Some(obj.uid()) {
            return;
        }
        let (ns, name) = (obj.namespace().unwrap_or("").to_string(), obj.name().to_string());
        record_event(
            ctx,
            reporter(),
            obj,
            "Normal",
            "TaintManagerEviction",
            format!("Marking for deletion Pod {ns}/{name}"),
        );
        podutil::set_pod_condition(
            &mut pod,
            podutil::disruption_target(
                "DeletionByTaintManager",
                "Taint manager: deleting due to NoExecute taint",
                ctx.api.epoch().time(ctx.now()),
            ),
        );
        let _ = ctx.api.update_status_as(pod);
        let _ = ctx.api.delete(
            Kind::Pod,
            Some(&ns),
            &name,
            DeleteOptions { uid: Some(obj.uid().to_string()), ..Default::default() },
        );
    }
}

impl Component for TaintEvictionController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
            }
            Event::Watch(ev) => {
                if self.nodes.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.nodes.as_mut().expect("checked").apply(&ev);
                    let noexec = |o: Option<&Arc<Object>>| -> Vec<Taint> {
                        o.and_then(|o| o.as_type::<Node>())
                            .map(|n| {
                                podutil::node_taints(n)
                                    .iter()
                                    .filter(|t| t.effect == "NoExecute")
                                    .cloned()
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    let after = if ev.kind == WatchEventType::Deleted {
                        Vec::new()
                    } else {
                        noexec(Some(&ev.object))
                    };
                    if noexec(old.as_ref()) != after {
                        let node = ev.object.name().to_string();
                        let pods: Vec<Arc<Object>> = self
                            .pods
                            .iter()
                            .flat_map(|p| {
                                p.iter()
                                    .filter(|o| {
                                        o.as_type::<Pod>().and_then(podutil::node_name) == Some(node.as_str())
                                    })
                                    .cloned()
                            })
                            .collect();
                        for p in pods {
                            self.process_pod(ctx, &p);
                        }
                    }
                } else if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    if ev.kind == WatchEventType::Deleted {
                        self.scheduled.remove(ev.object.uid());
                    } else if !same_node_and_tolerations(old.as_deref(), &ev.object) {
                        // Upstream's PodUpdated returns early when neither the tolerations nor
                        // the node changed (a status update, its own DisruptionTarget write).
                        self.process_pod(ctx, &ev.object);
                    }
                }
            }
            Event::Timer(Timer::TaintEviction { pod_uid }) => {
                let due = self.scheduled.get(&pod_uid).is_some_and(|s| s.3 == ctx.now());
                if due {
                    let (ns, name, _, _) = self.scheduled.remove(&pod_uid).expect("checked");
                    if let Some(obj) = self.pods.as_ref().and_then(|p| p.get(&ns, &name)).cloned() {
                        if obj.uid() == &*pod_uid {
                            self.evict(ctx, &obj);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, Toleration};

    fn taint(key: &str) -> Taint {
        Taint { key: key.into(), effect: "NoExecute".into(), ..Default::default() }
    }

    fn pod(tols: Vec<Toleration>) -> Pod {
        Pod { spec: Some(PodSpec { tolerations: Some(tols), ..Default::default() }), ..Default::default() }
    }

    #[test]
    fn eviction_delays() {
        let t300 = Toleration {
            key: Some("k".into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: Some(300),
            value: None,
        };
        let forever = Toleration { toleration_seconds: None, ..t300.clone() };
        assert_eq!(eviction_delay(&pod(vec![]), &[taint("k")]), Some(0));
        assert_eq!(eviction_delay(&pod(vec![t300.clone()]), &[taint("k")]), Some(300));
        assert_eq!(eviction_delay(&pod(vec![forever]), &[taint("k")]), None);
        assert_eq!(eviction_delay(&pod(vec![t300]), &[]), None);
    }
}

#[cfg(test)]
mod first_match_tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodSpec, Toleration};

    #[test]
    fn only_the_first_matching_toleration_counts() {
        // The first toleration (forever) matches the taint; the later 60s one is never used.
        let forever = Toleration { operator: Some("Exists".into()), ..Default::default() };
        let short = Toleration {
            key: Some("k".into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: Some(60),
            value: None,
        };
        let pod = Pod {
            spec: Some(PodSpec { tolerations: Some(vec![forever, short]), ..Default::default() }),
            ..Default::default()
        };
        let taint = Taint { key: "k".into(), effect: "NoExecute".into(), ..Default::default() };
        assert_eq!(eviction_delay(&pod, &[taint]), None);
    }
}
