//! The ReplicaSet controller (pkg/controller/replicaset/replica_set.go).
//!
//! Keeps `spec.replicas` active pods for each ReplicaSet: adopts matching orphans and releases
//! owned pods that stop matching, creates missing pods in slow-start batches (1, 2, 4, … at most
//! 500 per sync) named `<rs>-xxxxx`, deletes surplus pods in upstream's victim order, waits for
//! its own creations and deletions to be observed before acting again (expectations, 5-minute
//! timeout), and reports replicas / readyReplicas / availableReplicas.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;

use super::controller_utils::{create_pods, ControllerExpectations};
use super::ownership::{claim, pod_from_template, selector_or_nothing};
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::pod as podutil;
use crate::api::{Kind, LabelSelector, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

/// Most pods created or deleted in one sync (`burstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// The controller component.
#[derive(Default)]
pub struct ReplicaSetController {
    sets: Option<Informer>,
    pods: Option<Informer>,
    queue: ControllerQueue,
    expectations: ControllerExpectations,
}

fn reporter() -> Reporter<'static> {
    Reporter { component: "replicaset-controller", host: None }
}

fn selector_of(rs: &ReplicaSet) -> LabelSelector {
    selector_or_nothing(rs.spec.as_ref().map(|s| &s.selector))
}

impl ReplicaSetController {
    pub fn new() -> Self {
        Self::default()
    }

    fn owner_key(pod: &Object) -> Option<ObjectKey> {
        let owner = podutil::controller_of(pod.meta())?;
        (owner.kind == "ReplicaSet").then(|| (pod.namespace().unwrap_or("").to_string(), owner.name.clone()))
    }

    fn on_pod(&mut self, kind: WatchEventType, obj: &Arc<Object>, old: Option<&Arc<Object>>) {
        let terminating = obj.meta().deletion_timestamp.is_some();
        if let Some(key) = Self::owner_key(obj) {
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
        } else if let Some(sets) = &self.sets {
            // An orphan: every ReplicaSet that might adopt it syncs.
            for rs in sets.in_namespace(obj.namespace().unwrap_or("")) {
                if let Some(r) = rs.as_type::<ReplicaSet>() {
                    if selector_of(r).matches(obj.labels()) {
                        self.queue.add(key_of(rs));
                    }
                }
            }
        }
        // A pod released by its old owner: the old owner syncs too.
        if let Some(old_key) = old.and_then(|o| Self::owner_key(o)) {
            self.queue.add(old_key);
        }
    }

    fn sync(&mut self, ctx: &mut Context<'_>, key: ObjectKey) {
        let Some(rs_obj) = self.sets.as_ref().and_then(|s| s.get(&key.0, &key.1)).cloned() else {
            self.expectations.forget(&key);
            return;
        };
        let rs = rs_obj.as_type::<ReplicaSet>().expect("rs informer").clone();
        let selector = selector_of(&rs);
        // Claim pods: keep owned ones that match, adopt matching orphans, release the rest.
        let candidates: Vec<Arc<Object>> =
            self.pods.iter().flat_map(|p| p.in_namespace(&key.0).cloned()).collect();
        let owned: Vec<Pod> = claim(ctx, Kind::ReplicaSet, &rs.metadata, &selector, candidates)
            .iter()
            .filter_map(|o| o.as_type::<Pod>().cloned())
            .collect();
        let active: Vec<&Pod> = owned
            .iter()
            .filter(|p| !podutil::is_terminal(p) && p.metadata.deletion_timestamp.is_none())
            .collect();
        if self.expectations.satisfied(&key, ctx.now()) && rs.metadata.deletion_timestamp.is_none() {
            self.manage(ctx, &key, &rs, &rs_obj, &active);
        }
        self.update_status(ctx, &rs, &active);
    }

    fn manage(
        &mut self,
        ctx: &mut Context<'_>,
        key: &ObjectKey,
        rs: &ReplicaSet,
        rs_obj: &Object,
        active: &[&Pod],
    ) {
        let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as usize;
        let have = active.len();
        let now = ctx.now();
        if have < want {
            let diff = (want - have).min(BURST_REPLICAS);
            self.expectations.expect(key, diff, 0, now);
            let template = rs.spec.as_ref().and_then(|s| s.template.as_ref());
            let template = template.cloned();
            let next = || pod_from_template(template.as_ref(), Kind::ReplicaSet, &rs.metadata);
            create_pods(ctx, reporter(), rs_obj, &mut self.expectations, key, diff, next);
        } else if have > want {
            let diff = (have - want).min(BURST_REPLICAS);
            let victims = rank_for_deletion(active, now, ctx.api.epoch());
            self.expectations.expect(key, 0, diff, now);
            for pod in victims.into_iter().take(diff) {
                let name = pod.metadata.name.clone().unwrap_or_default();
                match ctx.api.delete(Kind::Pod, Some(&key.0), &name, DeleteOptions::default()) {
                    Ok(_) => record_event(
                        ctx,
                        reporter(),
                        rs_obj,
                        "Normal",
                        "SuccessfulDelete",
                        format!("Deleted pod: {name}"),
                    ),
                    Err(_) => self.expectations.deletion_observed(key),
                }
            }
        }
    }

    fn update_status(&mut self, ctx: &mut Context<'_>, rs: &ReplicaSet, active: &[&Pod]) {
        let min_ready = rs.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let template_labels = rs
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let epoch = ctx.api.epoch();
        let now = ctx.now();
        let ready = active.iter().filter(|p| podutil::is_ready(p)).count() as i32;
        let available = active.iter().filter(|p| is_available(p, min_ready, now, epoch)).count() as i32;
        let fully_labeled = active
            .iter()
            .filter(|p| {
                template_labels
                    .iter()
                    .all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
            })
            .count() as i32;
        let status = ReplicaSetStatus {
            replicas: active.len() as i32,
            // omitempty upstream: zero counts are absent, as `kubectl get -o yaml` shows.
            fully_labeled_replicas: (fully_labeled > 0).then_some(fully_labeled),
            ready_replicas: (ready > 0).then_some(ready),
            available_replicas: (available > 0).then_some(available),
            observed_generation: rs.metadata.generation,
            conditions: rs.status.as_ref().and_then(|s| s.conditions.clone()),
            terminating_replicas: None,
        };
        if rs.status.as_ref() != Some(&status) {
            let mut next = rs.clone();
            next.status = Some(status);
            let _ = ctx.api.update_status_as(next);
        }
        // With minReadySeconds, availability changes without any event: look again when the
        // next ready pod becomes available (upstream enqueues with AddAfter).
        if min_ready > 0 && ready > available {
            let next = active
                .iter()
                .filter(|p| podutil::is_ready(p) && !is_available(p, min_ready, now, epoch))
                .filter_map(|p| {
                    podutil::pod_condition(p, "Ready")?
                        .last_transition_time
                        .as_ref()
                        .map(|t| epoch.sim_time(&t.0))
                })
                .map(|since| since + SimDuration::from_secs(min_ready as u64))
                .min();
            if let Some(at) = next {
                let key = (
                    rs.metadata.namespace.clone().unwrap_or_default(),
                    rs.metadata.name.clone().unwrap_or_default(),
                );
                self.queue.add_at(key, at.max(now + SimDuration::from_millis(1)));
            }
        }
    }
}

/// Available: Ready for at least `min_ready_seconds` (podutil.IsPodAvailable).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: SimTime, epoch: crate::api::time::Epoch) -> bool {
    let Some(c) = podutil::pod_condition(pod, "Ready").filter(|c| c.status == "True") else {
        return false;
    };
    if min_ready_seconds <= 0 {
        return true;
    }
    let since = c.last_transition_time.as_ref().map(|t| epoch.sim_time(&t.0)).unwrap_or(now);
    now.since(since) >= SimDuration::from_secs(min_ready_seconds as u64)
}

/// Orders pods for scale-down, earliest deleted first (controller.ActivePodsWithRanks.Less in
/// pkg/controller/controller_utils.go): unassigned; Pending < Unknown < Running; not ready;
/// lower `controller.kubernetes.io/pod-deletion-cost`; more active pods of the set on the same
/// node; ready more recently; higher max container restart count; newer; then UID.
///
/// "More recently" compares ⌊log2(nanoseconds since)⌋ (LogarithmicScaleDown) of timestamps at
/// the API's one-second precision. Upstream's comparator breaks ties inside one ready-time bucket
/// by UID only when the ready times differ, which is not a total order; kubesim uses the
/// nearest total order (bucket, then restarts, creation bucket and UID), so Rust's sort is
/// well-defined.
pub fn rank_for_deletion<'a>(pods: &[&'a Pod], now: SimTime, epoch: crate::api::time::Epoch) -> Vec<&'a Pod> {
    let mut per_node: BTreeMap<&str, i64> = BTreeMap::new();
    for p in pods {
        *per_node.entry(podutil::node_name(p).unwrap_or("")).or_default() += 1;
    }
    let now_secs = (epoch.at(now).timestamp_millis() / 1000) as i128;
    // logarithmicRankDiff: -1 for a time not in the past, else ⌊log2(ns)⌋.
    let log_rank = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| -> i64 {
        let Some(t) = t else { return -1 };
        let ns = (now_secs - i128::from(t.0.timestamp())) * 1_000_000_000;
        if ns <= 0 {
            -1
        } else {
            127 - i64::from(ns.leading_zeros())
        }
    };
    let key = |p: &Pod| {
        let ready = podutil::is_ready(p);
        let phase = match podutil::phase(p) {
            "Pending" => 0,
            "Unknown" => 1,
            "Running" => 2,
            _ => 0,
        };
        let cost: i64 = p
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("controller.kubernetes.io/pod-deletion-cost"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let rank = per_node[podutil::node_name(p).unwrap_or("")];
        let ready_rank = if ready {
            log_rank(podutil::pod_condition(p, "Ready").and_then(|c| c.last_transition_time.as_ref()))
        } else {
            0
        };
        let max_restarts = podutil::max_restarts(p);
        (
            podutil::node_name(p).is_some(),
            phase,
            ready,
            cost,
            std::cmp::Reverse(rank),
            ready_rank,
            std::cmp::Reverse(max_restarts),
            log_rank(p.metadata.creation_timestamp.as_ref()),
            p.metadata.uid.clone().unwrap_or_default(),
        )
    };
    let mut ranked: Vec<&Pod> = pods.to_vec();
    ranked.sort_by_cached_key(|p| key(p));
    ranked
}

impl Component for ReplicaSetController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.sets = Informer::start(ctx, WatchSpec::all(Kind::ReplicaSet)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.queue.add_all(self.sets.as_ref());
            }
            Event::Watch(ev) => {
                if self.sets.as_ref().is_some_and(|s| s.owns(&ev)) {
                    self.sets.as_mut().expect("checked").apply(&ev);
                    self.queue.add(key_of(&ev.object));
                } else if self.pods.as_ref().is_some_and(|p| p.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(ev.kind, &ev.object, old.as_ref());
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
    use crate::api::time::Epoch;

    fn pod(
        name: &str,
        node: Option<&str>,
        phase: &str,
        ready_at: Option<u64>,
        restarts: i32,
        cost: Option<&str>,
    ) -> Pod {
        let epoch = Epoch::default();
        let mut p: Pod = match decode_documents(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, uid: uid-{name}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
        ))
        .unwrap()
        .remove(0)
        {
            Object::Pod(p) => *p,
            _ => unreachable!(),
        };
        p.metadata.creation_timestamp = Some(epoch.time(SimTime(0)));
        if let Some(c) = cost {
            p.metadata.annotations =
                Some([("controller.kubernetes.io/pod-deletion-cost".to_string(), c.to_string())].into());
        }
        p.spec.as_mut().unwrap().node_name = node.map(Into::into);
        let status = p.status.get_or_insert_with(Default::default);
        status.phase = Some(phase.into());
        status.container_statuses = Some(vec![k8s_openapi::api::core::v1::ContainerStatus {
            name: "c".into(),
            restart_count: restarts,
            ..Default::default()
        }]);
        if let Some(t) = ready_at {
            podutil::set_pod_condition(
                &mut p,
                k8s_openapi::api::core::v1::PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(epoch.time(SimTime(t * 1000))),
                    ..Default::default()
                },
            );
        }
        p
    }

    #[test]
    fn scale_down_victims_follow_upstream_order() {
        let now = SimTime(3_600_000);
        let pods = [
            pod("running-old", Some("n1"), "Running", Some(10), 0, None),
            pod("unassigned", None, "Pending", None, 0, None),
            pod("pending", Some("n2"), "Pending", None, 0, None),
            pod("not-ready", Some("n3"), "Running", None, 0, None),
            pod("expensive", Some("n4"), "Running", Some(3500), 0, Some("100")),
            pod("running-new", Some("n5"), "Running", Some(3500), 0, None),
            pod("crashy", Some("n6"), "Running", Some(10), 5, None),
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        let order: Vec<String> = rank_for_deletion(&refs, now, Epoch::default())
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            order,
            ["unassigned", "pending", "not-ready", "running-new", "crashy", "running-old", "expensive"]
        );
    }
}
