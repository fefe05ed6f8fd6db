//! Records per-pod lifecycle times and node condition and taint changes from the stream of
//! committed writes, for `pods.csv`, `node_conditions.csv` and `node_taints.csv`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::api::pod as podutil;
use crate::api::Object;
use crate::apiserver::Change;
use crate::sim::SimTime;

/// One pod's life, in virtual milliseconds.
#[derive(Clone, Debug, Default)]
pub struct PodRecord {
    pub namespace: String,
    pub name: String,
    pub owner: String,
    pub node: String,
    pub created_ms: Option<u64>,
    pub scheduled_ms: Option<u64>,
    pub started_ms: Option<u64>,
    pub ready_ms: Option<u64>,
    pub deletion_ms: Option<u64>,
    pub deleted_ms: Option<u64>,
    pub phase: String,
    pub restarts: i32,
}

#[derive(Clone, Debug)]
pub struct ConditionRow {
    pub time_ms: u64,
    pub node: String,
    pub condition: String,
    pub status: String,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct TaintRow {
    pub time_ms: u64,
    pub node: String,
    pub op: &'static str,
    pub key: String,
    pub value: String,
    pub effect: String,
}

#[derive(Default)]
pub struct Recorder {
    /// Pods in creation order (uid → index).
    pub pods: Vec<PodRecord>,
    index: BTreeMap<Arc<str>, usize>,
    pub conditions: Vec<ConditionRow>,
    pub taints: Vec<TaintRow>,
}

impl Recorder {
    pub fn observe(&mut self, now: SimTime, changes: &[Change]) {
        let t = now.as_millis();
        for c in changes {
            match (c.old.as_deref(), c.new.as_deref()) {
                (_, Some(Object::Pod(p))) => self.pod(t, c.new.as_ref().expect("some").uid(), p, false),
                (Some(Object::Pod(p)), None) => self.pod(t, c.old.as_ref().expect("some").uid(), p, true),
                (old, Some(Object::Node(n))) => self.node(t, old.and_then(|o| o.as_type::<Node>()), Some(n)),
                (Some(Object::Node(n)), None) => self.node(t, Some(n), None),
                _ => {}
            }
        }
    }

    fn pod(&mut self, t: u64, uid: &str, pod: &Pod, deleted: bool) {
        let idx = match self.index.get(uid) {
            Some(i) => *i,
            None => {
                self.pods.push(PodRecord {
                    namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                    name: pod.metadata.name.clone().unwrap_or_default(),
                    owner: podutil::controller_of(&pod.metadata)
                        .map(|o| format!("{}/{}", o.kind, o.name))
                        .unwrap_or_default(),
                    created_ms: Some(t),
                    ..Default::default()
                });
                self.index.insert(Arc::from(uid), self.pods.len() - 1);
                self.pods.len() - 1
            }
        };
        let r = &mut self.pods[idx];
        if let Some(n) = podutil::node_name(pod) {
            if r.scheduled_ms.is_none() {
                r.scheduled_ms = Some(t);
            }
            r.node = n.to_string();
        }
        if r.started_ms.is_none() && podutil::phase(pod) == "Running" {
            r.started_ms = Some(t);
        }
        if r.ready_ms.is_none() && podutil::is_ready(pod) {
            r.ready_ms = Some(t);
        }
        if r.deletion_ms.is_none() && pod.metadata.deletion_timestamp.is_some() {
            r.deletion_ms = Some(t);
        }
        if deleted {
            r.deleted_ms = Some(t);
        }
        r.phase = podutil::phase(pod).to_string();
        r.restarts = podutil::restarts(pod);
    }

    fn node(&mut self, t: u64, old: Option<&Node>, new: Option<&Node>) {
        // Runs for every Node write (heartbeats included): compared borrowed, copied only into
        // the rows a change produces.
        let name = new.or(old).and_then(|n| n.metadata.name.as_deref()).unwrap_or_default();
        fn conds(n: Option<&Node>) -> BTreeMap<&str, (&str, &str)> {
            n.and_then(|n| n.status.as_ref()?.conditions.as_ref())
                .into_iter()
                .flatten()
                .map(|c| (c.type_.as_str(), (c.status.as_str(), c.reason.as_deref().unwrap_or_default())))
                .collect()
        }
        let (before, after) = (conds(old), conds(new));
        for (ty, (status, reason)) in &after {
            if before.get(ty).map(|b| b.0) != Some(*status) {
                self.conditions.push(ConditionRow {
                    time_ms: t,
                    node: name.to_string(),
                    condition: ty.to_string(),
                    status: status.to_string(),
                    reason: reason.to_string(),
                });
            }
        }
        fn taints(n: Option<&Node>) -> Vec<(&str, &str, &str)> {
            n.map(|n| {
                podutil::node_taints(n)
                    .iter()
                    .map(|t| (t.key.as_str(), t.value.as_deref().unwrap_or_default(), t.effect.as_str()))
                    .collect()
            })
            .unwrap_or_default()
        }
        let (before, after) = (taints(old), taints(new));
        for (op, from, to) in [("add", &after, &before), ("remove", &before, &after)] {
            for (key, value, effect) in from.iter().filter(|t| !to.contains(t)) {
                self.taints.push(TaintRow {
                    time_ms: t,
                    node: name.to_string(),
                    op,
                    key: key.to_string(),
                    value: value.to_string(),
                    effect: effect.to_string(),
                });
            }
        }
    }
}
