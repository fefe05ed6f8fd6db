//! The Deployment controller (pkg/controller/deployment: deployment_controller.go, sync.go,
//! rolling.go, recreate.go, progress.go, util/deployment_util.go).
//!
//! A Deployment owns ReplicaSets, one per pod template it has had. The one whose template
//! equals the Deployment's (ignoring the `pod-template-hash` label) is the *new* ReplicaSet;
//! the others are *old*. Each sync:
//! - claims ReplicaSets by selector (adopt / release, as the ReplicaSet controller does pods);
//! - paused: only scales (proportionally, see below) and trims history;
//! - a replica count change with several active ReplicaSets: proportional scaling
//!   (`scale` in sync.go: every active ReplicaSet grows or shrinks in proportion to its size,
//!   leftovers to the largest);
//! - RollingUpdate: scale the new ReplicaSet up while all pods ≤ replicas + maxSurge, old ones
//!   down while available ≥ replicas − maxUnavailable (unhealthy old pods first);
//! - Recreate: old ReplicaSets to zero, wait until their pods are gone, then the new one up;
//! - names new ReplicaSets `<deployment>-<pod-template-hash>`, keeps revision annotations
//!   (`deployment.kubernetes.io/revision`, `desired-replicas`, `max-replicas`), deletes the
//!   oldest unused ReplicaSets beyond `revisionHistoryLimit`;
//! - reports status (replicas, updated, ready, available, unavailable) with the `Available`
//!   and `Progressing` conditions, including `ProgressDeadlineExceeded`.
//!
//! Simplification: upstream hashes the Go `spew` dump of the pod template; kubesim hashes a
//! canonical JSON encoding with the same FNV-32a and the same alphabet, so hashes have the
//! upstream form but not the upstream value.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::ownership::{claim, controller_ref, selector_or_nothing};
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::intstr::scaled_value;
use crate::api::pod as podutil;
use crate::api::{Kind, KindOf, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, Timer};

/// Label and selector key a Deployment adds to each of its ReplicaSets.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The revision a ReplicaSet (and its Deployment) is at.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet served, comma-separated.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's replicas + maxSurge when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

/// Annotations not copied from a Deployment to its ReplicaSets (annotationsToSkip).
const ANNOTATIONS_TO_SKIP: [&str; 5] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
];

/// The annotations copied between a Deployment and its ReplicaSets (all but
/// [`ANNOTATIONS_TO_SKIP`]).
fn copied_annotations(meta: &ObjectMeta) -> BTreeMap<String, String> {
    let all = meta.annotations.iter().flatten();
    all.filter(|(k, _)| !ANNOTATIONS_TO_SKIP.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The alphabet of `rand.SafeEncodeString` (no vowels, no look-alike digits).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn reporter() -> Reporter<'static> {
    Reporter { component: "deployment-controller", host: None }
}

/// `rand.SafeEncodeString`: each byte mapped into the safe alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| SAFE_ALPHABET[b as usize % SAFE_ALPHABET.len()] as char).collect()
}

/// `controller.ComputeHash`: FNV-32a of the template (and the collision count, if any), as a
/// decimal number run through [`safe_encode`].
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    let encoded = serde_json::to_string(template).expect("templates serialize");
    feed(encoded.as_bytes());
    if let Some(c) = collision_count {
        feed(&(c as u32).to_le_bytes());
    }
    safe_encode(&h.to_string())
}

/// The template without the `pod-template-hash` label (EqualIgnoreHash compares these).
fn without_hash(t: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    if t.metadata.as_ref().is_some_and(|m| m.labels.as_ref().is_some_and(|l| l.is_empty())) {
        t.metadata.as_mut().expect("checked").labels = None;
    }
    t
}

/// EqualIgnoreHash.
pub fn same_template(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

fn rs_template(rs: &ReplicaSet) -> PodTemplateSpec {
    rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default()
}

fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn rs_status(rs: &ReplicaSet) -> (i32, i32, i32) {
    let s = rs.status.as_ref();
    (
        s.map_or(0, |s| s.replicas),
        s.and_then(|s| s.ready_replicas).unwrap_or(0),
        s.and_then(|s| s.available_replicas).unwrap_or(0),
    )
}

/// A ReplicaSet's revision annotation (0 when absent or malformed).
pub fn revision_of(meta: &ObjectMeta) -> i64 {
    meta.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn annotation_i32(rs: &ReplicaSet, key: &str) -> Option<i32> {
    rs.metadata.annotations.as_ref()?.get(key)?.parse().ok()
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref()) != Some("Recreate")
}

/// ResolveFenceposts: (maxSurge rounded up, maxUnavailable rounded down); both zero makes
/// maxUnavailable 1.
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    if !is_rolling(d) {
        return (0, 0);
    }
    let ru = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let desired = replicas(d);
    let resolve = |v: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>, up: bool| {
        v.map_or(Ok(0), |v| scaled_value(v, desired, up)).unwrap_or(0)
    };
    let surge = resolve(ru.and_then(|r| r.max_surge.as_ref()), true);
    let unavailable = resolve(ru.and_then(|r| r.max_unavailable.as_ref()), false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// MaxUnavailable: the fencepost, at most the replica count, 0 for Recreate or no replicas.
fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) {
        fenceposts(d).0
    } else {
        0
    }
}

fn condition<'a>(status: Option<&'a DeploymentStatus>, ty: &str) -> Option<&'a DeploymentCondition> {
    status?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

/// SetDeploymentCondition: the same status and reason is left alone; a new reason with the same
/// status keeps the transition time.
fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(cur) = conds.iter().find(|c| c.type_ == cond.type_) {
        if cur.status == cond.status && cur.reason == cond.reason {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    conds.retain(|c| c.type_ != cond.type_);
    conds.push(cond);
}

fn new_condition(ty: &str, status: &str, reason: &str, message: String, now: &Time) -> DeploymentCondition {
    DeploymentCondition {
        type_: ty.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// DeploymentComplete.
fn complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = replicas(d);
    s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// DeploymentProgressing: more updated, fewer old, more ready or more available pods.
fn progressing(d: &Deployment, s: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
    let new_old = s.replicas.unwrap_or(0) - s.updated_replicas.unwrap_or(0);
    s.updated_replicas.unwrap_or(0) > old.updated_replicas.unwrap_or(0)
        || new_old < old_old
        || s.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
        || s.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0)
}

/// The template a `kubectl rollout undo` restores: the ReplicaSet at `to_revision`, or the
/// newest one older than the current revision. Errors carry kubectl's message.
/// Also returns the target ReplicaSet's annotations kubectl copies onto the Deployment (all but
/// the revision and replica-count ones).
pub fn rollback_template(
    d: &Deployment,
    sets: &[&ReplicaSet],
    to_revision: Option<i64>,
) -> Result<(PodTemplateSpec, BTreeMap<String, String>), String> {
    let name = d.metadata.name.as_deref().unwrap_or("");
    if d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
        return Err(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try \
             again"
                .into(),
        );
    }
    let mut by_revision: Vec<(i64, &ReplicaSet)> =
        sets.iter().map(|rs| (revision_of(&rs.metadata), *rs)).collect();
    by_revision.sort_by_key(|(r, _)| *r);
    let target = match to_revision {
        Some(r) => by_revision
            .iter()
            .find(|(rev, _)| *rev == r)
            .ok_or_else(|| format!("unable to find specified revision {r} in history"))?,
        None => {
            if by_revision.len() < 2 {
                return Err("no rollout history found for deployment \"".to_string() + name + "\"");
            }
            &by_revision[by_revision.len() - 2]
        }
    };
    Ok((without_hash(&rs_template(target.1)), copied_annotations(&target.1.metadata)))
}

/// The controller component.
#[derive(Default)]
pub struct DeploymentController {
    deployments: Option<Informer>,
    sets: Option<Informer>,
    pods: Option<Informer>,
    queue: ControllerQueue,
}

impl DeploymentController {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ReplicaSet changed: its owner syncs, or every Deployment that could adopt it.
    fn on_replica_set(&mut self, obj: &Object) {
        let ns = obj.namespace().unwrap_or("").to_string();
        match podutil::controller_of(obj.meta()) {
            Some(r) if r.kind == "Deployment" => self.queue.add((ns, r.name.clone())),
            Some(_) => {}
            None => {
                let keys: Vec<ObjectKey> = self
                    .deployments
                    .iter()
                    .flat_map(|i| i.in_namespace(&ns))
                    .filter(|d| {
                        d.as_type::<Deployment>().is_some_and(|d| {
                            selector_or_nothing(d.spec.as_ref().map(|s| &s.selector)).matches(obj.labels())
                        })
                    })
                    .map(|d| key_of(d))
                    .collect();
                for k in keys {
                    self.queue.add(k);
                }
            }
        }
    }

    fn sync(&mut self, ctx: &mut Context<'_>, key: &ObjectKey) {
        let Some(d) = self.deployments.as_ref().and_then(|i| i.get_as::<Deployment>(&key.0, &key.1)).cloned()
        else {
            return;
        };
        let selector = selector_or_nothing(d.spec.as_ref().map(|s| &s.selector));
        let candidates: Vec<Arc<Object>> =
            self.sets.iter().flat_map(|s| s.in_namespace(&key.0).cloned()).collect();
        let owned = claim(ctx, Kind::Deployment, &d.metadata, &selector, candidates);
        let sets: Vec<ReplicaSet> = owned.iter().filter_map(|o| o.as_type::<ReplicaSet>().cloned()).collect();
        let mut run =
            Sync { ctx, d: d.clone(), sets, queue: &mut self.queue, key, created_now: false, failed: false };
        if d.metadata.deletion_timestamp.is_some() {
            run.sync_status();
            return;
        }
        run.check_paused_condition();
        let paused = d.spec.as_ref().and_then(|s| s.paused) == Some(true);
        if paused || run.is_scaling_event() {
            run.scale_only(paused);
            return;
        }
        if is_rolling(&d) {
            run.rollout_rolling();
        } else {
            let pods: Vec<Pod> = self
                .pods
                .iter()
                .flat_map(|p| p.in_namespace(&key.0))
                .filter_map(|o| o.as_type::<Pod>().cloned())
                .collect();
            run.rollout_recreate(&pods);
        }
    }
}

/// One sync of one Deployment: the Deployment as observed and the ReplicaSets it owns, kept up
/// to date with the writes this sync makes.
struct Sync<'a, 'c> {
    ctx: &'a mut Context<'c>,
    d: Deployment,
    sets: Vec<ReplicaSet>,
    queue: &'a mut ControllerQueue,
    key: &'a ObjectKey,
    /// This sync created the new ReplicaSet.
    created_now: bool,
    /// A write of this sync failed: like upstream's syncDeployment returning the error, the sync
    /// ends without a status update (so observedGeneration does not claim a spec it has not
    /// carried out) and the key is retried with back-off.
    failed: bool,
}

impl Sync<'_, '_> {
    fn now(&self) -> Time {
        self.ctx.api.epoch().time(self.ctx.now())
    }

    fn d_obj(&self) -> Object {
        self.d.clone().into_object()
    }

    fn template(&self) -> PodTemplateSpec {
        self.d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default()
    }

    /// The new ReplicaSet's index (the oldest one with the Deployment's template).
    fn new_index(&self) -> Option<usize> {
        let t = self.template();
        let mut matching: Vec<usize> =
            (0..self.sets.len()).filter(|i| same_template(&rs_template(&self.sets[*i]), &t)).collect();
        matching.sort_by_key(|i| {
            (self.sets[*i].metadata.creation_timestamp.clone(), self.sets[*i].metadata.name.clone())
        });
        matching.first().copied()
    }

    /// Old ReplicaSets' indices, oldest first (ReplicaSetsByCreationTimestamp).
    fn old_indices(&self) -> Vec<usize> {
        let new = self.new_index();
        let mut old: Vec<usize> = (0..self.sets.len()).filter(|i| Some(*i) != new).collect();
        old.sort_by_key(|i| {
            (self.sets[*i].metadata.creation_timestamp.clone(), self.sets[*i].metadata.name.clone())
        });
        old
    }

    fn spec_total(&self) -> i32 {
        self.sets.iter().map(rs_replicas).sum()
    }

    /// checkPausedConditions: a paused Deployment says so in its Progressing condition, and
    /// says so again when resumed.
    fn check_paused_condition(&mut self) {
        if self.d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).is_none() {
            return;
        }
        let paused = self.d.spec.as_ref().and_then(|s| s.paused) == Some(true);
        let cond = condition(self.d.status.as_ref(), "Progressing");
        let reason = cond.and_then(|c| c.reason.as_deref());
        // A reported lack of progress is not overwritten by a pause.
        if reason == Some("ProgressDeadlineExceeded") {
            return;
        }
        let now = self.now();
        let next = if paused && reason != Some("DeploymentPaused") {
            new_condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused".into(), &now)
        } else if !paused && reason == Some("DeploymentPaused") {
            new_condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed".into(), &now)
        } else {
            return;
        };
        let mut status = self.d.status.clone().unwrap_or_default();
        set_condition(&mut status, next);
        self.put_status(status);
    }

    /// isScalingEvent: an active ReplicaSet was last scaled for a different replica count.
    fn is_scaling_event(&mut self) -> bool {
        let want = replicas(&self.d);
        self.ensure_revision(false);
        self.sets
            .iter()
            .filter(|rs| rs_replicas(rs) > 0)
            .any(|rs| annotation_i32(rs, DESIRED_REPLICAS).is_some_and(|a| a != want))
    }

    /// getAllReplicaSetsAndSyncRevision: bring the new ReplicaSet's revision up to date, or create
    /// it. Returns the new ReplicaSet's index.
    fn ensure_revision(&mut self, create: bool) -> Option<usize> {
        let max_old =
            self.old_indices().iter().map(|i| revision_of(&self.sets[*i].metadata)).max().unwrap_or(0);
        let new_revision = max_old + 1;
        let idx = match self.new_index() {
            Some(i) => {
                let rs = &self.sets[i];
                let current = revision_of(&rs.metadata);
                if current < new_revision
                    || rs.spec.as_ref().and_then(|s| s.min_ready_seconds)
                        != self.d.spec.as_ref().and_then(|s| s.min_ready_seconds)
                {
                    let mut next = rs.clone();
                    let annotations = next.metadata.annotations.get_or_insert_with(BTreeMap::new);
                    if current < new_revision {
                        if current > 0 {
                            let mut history: Vec<String> = annotations
                                .get(REVISION_HISTORY)
                                .map(|h| h.split(',').map(str::to_string).collect())
                                .unwrap_or_default();
                            history.push(current.to_string());
                            annotations.insert(REVISION_HISTORY.into(), history.join(","));
                        }
                        annotations.insert(REVISION.into(), new_revision.to_string());
                    }
                    next.spec.get_or_insert_with(Default::default).min_ready_seconds =
                        self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
                    if let Ok(o) = self.ctx.api.update_as(next) {
                        self.sets[i] = o.as_type::<ReplicaSet>().expect("rs").clone();
                    }
                }
                Some(i)
            }
            None if create => self.create_new_replica_set(new_revision),
            None => None,
        };
        // getNewReplicaSet: "Created new replica set" when this sync created it, "Found new
        // replica set" when there is no Progressing condition yet.
        let has_deadline = self.d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).is_some();
        if let (Some(i), true) = (idx, has_deadline) {
            let rs_name = self.sets[i].metadata.name.clone().unwrap_or_default();
            let missing = condition(self.d.status.as_ref(), "Progressing").is_none();
            if missing || self.created_now {
                let now = self.now();
                let cond = if self.created_now {
                    let msg = format!("Created new replica set {rs_name:?}");
                    new_condition("Progressing", "True", "NewReplicaSetCreated", msg, &now)
                } else {
                    let msg = format!("Found new replica set {rs_name:?}");
                    new_condition("Progressing", "True", "FoundNewReplicaSet", msg, &now)
                };
                let mut status = self.d.status.clone().unwrap_or_default();
                set_condition(&mut status, cond);
                self.put_status(status);
            }
        }
        // The Deployment carries its new ReplicaSet's revision.
        if let Some(i) = idx {
            let rev = revision_of(&self.sets[i].metadata).to_string();
            if self.d.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)) != Some(&rev) {
                if let Ok(mut d) = self.ctx.api.get_as::<Deployment>(Some(&self.key.0), &self.key.1) {
                    d.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(REVISION.into(), rev);
                    let _ = self.ctx.api.update_as(d);
                }
            }
        }
        idx
    }

    fn create_new_replica_set(&mut self, revision: i64) -> Option<usize> {
        let collision = self.d.status.as_ref().and_then(|s| s.collision_count);
        let mut template = self.template();
        let hash = pod_template_hash(&template, collision);
        let name = format!("{}-{hash}", self.d.metadata.name.as_deref().unwrap_or(""));
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector = self.d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.get_or_insert_with(BTreeMap::new).insert(POD_TEMPLATE_HASH.into(), hash);
        let want = self.new_rs_replicas(None);
        let mut annotations = copied_annotations(&self.d.metadata);
        annotations.insert(REVISION.into(), revision.to_string());
        annotations.insert(DESIRED_REPLICAS.into(), replicas(&self.d).to_string());
        annotations.insert(MAX_REPLICAS.into(), (replicas(&self.d) + max_surge(&self.d)).to_string());
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                annotations: Some(annotations),
                owner_references: Some(vec![controller_ref(Kind::Deployment, &self.d.metadata)]),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(want),
                min_ready_seconds: self.d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        match self.ctx.api.create(rs.into_object()) {
            Ok(created) => {
                if want > 0 {
                    let msg = format!("Scaled up replica set {name} from 0 to {want}");
                    record_event(self.ctx, reporter(), &self.d_obj(), "Normal", "ScalingReplicaSet", msg);
                }
                self.sets.push(created.as_type::<ReplicaSet>().expect("rs").clone());
                self.created_now = true;
                Some(self.sets.len() - 1)
            }
            Err(e) if e.is_already_exists() => {
                // A ReplicaSet of that name with another template: a hash collision. Bump
                // status.collisionCount so the next sync tries another name.
                let mut status = self.d.status.clone().unwrap_or_default();
                status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
                self.put_status(status);
                self.fail();
                None
            }
            Err(_) => {
                self.fail();
                None
            }
        }
    }

    /// NewRSNewReplicas: how far the new ReplicaSet may grow now.
    fn new_rs_replicas(&self, new: Option<usize>) -> i32 {
        let want = replicas(&self.d);
        let current_new = new.map_or(0, |i| rs_replicas(&self.sets[i]));
        if !is_rolling(&self.d) {
            return want;
        }
        let max_total = want + max_surge(&self.d);
        let current_total = self.spec_total();
        if current_total >= max_total {
            return current_new;
        }
        current_new + (max_total - current_total).min(want - current_new)
    }

    /// scaleReplicaSetAndRecordEvent: sets the size and the replica annotations.
    fn scale(&mut self, i: usize, to: i32) -> bool {
        let rs = &self.sets[i];
        let from = rs_replicas(rs);
        let want = replicas(&self.d).to_string();
        let max = (replicas(&self.d) + max_surge(&self.d)).to_string();
        let annotations_ok = rs
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.get(DESIRED_REPLICAS) == Some(&want) && a.get(MAX_REPLICAS) == Some(&max));
        if from == to && annotations_ok {
            return false;
        }
        let mut next = rs.clone();
        next.spec.get_or_insert_with(Default::default).replicas = Some(to);
        let annotations = next.metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert(DESIRED_REPLICAS.into(), want);
        annotations.insert(MAX_REPLICAS.into(), max);
        let name = next.metadata.name.clone().unwrap_or_default();
        match self.ctx.api.update_as(next) {
            Ok(o) => {
                self.sets[i] = o.as_type::<ReplicaSet>().expect("rs").clone();
                if from != to {
                    let dir = if to > from { "up" } else { "down" };
                    let msg = format!("Scaled {dir} replica set {name} from {from} to {to}");
                    record_event(self.ctx, reporter(), &self.d_obj(), "Normal", "ScalingReplicaSet", msg);
                }
                from != to
            }
            Err(_) => {
                self.fail();
                false
            }
        }
    }

    fn fail(&mut self) {
        if !self.failed {
            self.failed = true;
            self.queue.add_rate_limited(self.key.clone(), self.ctx.now());
        }
    }

    /// rolloutRolling.
    fn rollout_rolling(&mut self) {
        let Some(new) = self.ensure_revision(true) else {
            self.sync_rollout_status(None);
            return;
        };
        // reconcileNewReplicaSet
        let want = replicas(&self.d);
        let current = rs_replicas(&self.sets[new]);
        let target = if current > want { want } else { self.new_rs_replicas(Some(new)) };
        if target != current && self.scale(new, target) {
            self.sync_rollout_status(Some(new));
            return;
        }
        if self.reconcile_old(new) {
            self.sync_rollout_status(Some(new));
            return;
        }
        // Old ReplicaSets are cleaned up once the stored status says the rollout is complete.
        if self.d.status.as_ref().is_some_and(|s| complete(&self.d, s)) {
            self.cleanup();
        }
        self.sync_rollout_status(Some(new));
    }

    /// reconcileOldReplicaSets: scale old ReplicaSets down as far as availability allows,
    /// unhealthy replicas first.
    fn reconcile_old(&mut self, new: usize) -> bool {
        let old: Vec<usize> =
            self.old_indices().into_iter().filter(|i| rs_replicas(&self.sets[*i]) > 0).collect();
        let old_count: i32 = old.iter().map(|i| rs_replicas(&self.sets[*i])).sum();
        if old_count == 0 {
            return false;
        }
        let all_count = self.spec_total();
        let min_available = replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = rs_replicas(&self.sets[new]) - rs_status(&self.sets[new]).2;
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        // cleanupUnhealthyReplicas
        let mut cleaned = 0;
        for &i in &old {
            if cleaned >= max_scaled_down {
                break;
            }
            let spec = rs_replicas(&self.sets[i]);
            let unhealthy = spec - rs_status(&self.sets[i]).2;
            if spec == 0 || unhealthy <= 0 {
                continue;
            }
            let count = (max_scaled_down - cleaned).min(unhealthy);
            self.scale(i, spec - count);
            cleaned += count;
        }
        // scaleDownOldReplicaSetsForRollingUpdate: availability of the active old ReplicaSets and
        // the new one.
        let available: i32 = old.iter().chain([&new]).map(|i| rs_status(&self.sets[*i]).2).sum();
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for &i in &old {
                if scaled >= total {
                    break;
                }
                let spec = rs_replicas(&self.sets[i]);
                if spec == 0 {
                    continue;
                }
                let count = spec.min(total - scaled);
                self.scale(i, spec - count);
                scaled += count;
            }
        }
        cleaned + scaled > 0
    }

    /// rolloutRecreate.
    fn rollout_recreate(&mut self, pods: &[Pod]) {
        let mut new = self.ensure_revision(false);
        let mut scaled_down = false;
        for i in self.old_indices() {
            if rs_replicas(&self.sets[i]) > 0 {
                scaled_down |= self.scale(i, 0);
            }
        }
        if scaled_down {
            self.sync_rollout_status(new);
            return;
        }
        // oldPodsRunning: wait until no pod of an old ReplicaSet is still there (terminal pods
        // do not count).
        let old_uids: Vec<String> =
            self.old_indices().iter().filter_map(|i| self.sets[*i].metadata.uid.clone()).collect();
        let old_counted = self.old_indices().iter().any(|i| rs_status(&self.sets[*i]).0 > 0);
        let running = old_counted
            || pods.iter().any(|p| {
                podutil::controller_of(&p.metadata).is_some_and(|r| old_uids.contains(&r.uid))
                    && !podutil::is_terminal(p)
            });
        if running {
            self.sync_rollout_status(new);
            return;
        }
        if new.is_none() {
            new = self.ensure_revision(true);
        }
        if let Some(i) = new {
            self.scale(i, replicas(&self.d));
        }
        if self.d.status.as_ref().is_some_and(|s| complete(&self.d, s)) {
            self.cleanup();
        }
        self.sync_rollout_status(new);
    }

    /// sync (paused or scaling event): proportional scaling, history clean-up when paused,
    /// status.
    fn scale_only(&mut self, paused: bool) {
        let new = self.ensure_revision(false);
        self.proportional_scale(new);
        if paused {
            self.cleanup();
        }
        self.sync_status();
    }

    /// `scale` in sync.go.
    fn proportional_scale(&mut self, new: Option<usize>) {
        let want = replicas(&self.d);
        let active: Vec<usize> = (0..self.sets.len()).filter(|i| rs_replicas(&self.sets[*i]) > 0).collect();
        // FindActiveOrLatest: one active ReplicaSet (or none: the newest) takes all replicas.
        if active.len() <= 1 {
            let target = active.first().copied().or(new).or_else(|| {
                (0..self.sets.len()).max_by_key(|i| {
                    (self.sets[*i].metadata.creation_timestamp.clone(), self.sets[*i].metadata.name.clone())
                })
            });
            if let Some(i) = target {
                self.scale(i, want);
            }
            return;
        }
        // IsSaturated: the new ReplicaSet is fully available: old ones go to zero.
        if let Some(n) = new {
            let rs = &self.sets[n];
            if rs_replicas(rs) == want
                && annotation_i32(rs, DESIRED_REPLICAS) == Some(want)
                && rs_status(rs).2 == want
            {
                for i in self.old_indices() {
                    if rs_replicas(&self.sets[i]) > 0 {
                        self.scale(i, 0);
                    }
                }
                return;
            }
        }
        if !is_rolling(&self.d) {
            return;
        }
        let total: i32 = active.iter().map(|i| rs_replicas(&self.sets[*i])).sum();
        let allowed = if want > 0 { want + max_surge(&self.d) } else { 0 };
        let to_add = allowed - total;
        let mut order = active.clone();
        // Larger first; ties: newer first when growing, older first when shrinking.
        order.sort_by(|a, b| {
            let (ra, rb) = (&self.sets[*a], &self.sets[*b]);
            let by_size = rs_replicas(rb).cmp(&rs_replicas(ra));
            let by_age = ra
                .metadata
                .creation_timestamp
                .cmp(&rb.metadata.creation_timestamp)
                .then(ra.metadata.name.cmp(&rb.metadata.name));
            by_size.then(if to_add > 0 { by_age.reverse() } else { by_age })
        });
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for &i in &order {
            let rs = &self.sets[i];
            let proportion =
                if to_add != 0 && to_add != added { self.proportion(rs, to_add, added) } else { 0 };
            sizes.push((i, rs_replicas(rs) + proportion));
            added += proportion;
        }
        if to_add != added {
            if let Some(first) = sizes.first_mut() {
                first.1 = (first.1 + to_add - added).max(0);
            }
        }
        for (i, size) in sizes {
            self.scale(i, size.max(0));
        }
    }

    /// GetProportion with getReplicaSetFraction: the ReplicaSet's share of the change, from its
    /// size relative to the max-replicas it was scaled for.
    fn proportion(&self, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
        let size = rs_replicas(rs);
        if size == 0 {
            return 0;
        }
        let fraction = if replicas(&self.d) == 0 {
            -size
        } else {
            let deployment_replicas = replicas(&self.d) + max_surge(&self.d);
            let annotated = annotation_i32(rs, MAX_REPLICAS)
                .unwrap_or_else(|| self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
            if annotated == 0 {
                0
            } else {
                // integer.RoundToInt32: round half away from zero.
                let exact = f64::from(size) * f64::from(deployment_replicas) / f64::from(annotated);
                exact.round() as i32 - size
            }
        };
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// cleanupDeployment: of the old ReplicaSets not being deleted, the oldest revisions beyond
    /// revisionHistoryLimit go, skipping any that still has pods or an unobserved spec.
    fn cleanup(&mut self) {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else { return };
        let mut alive: Vec<&ReplicaSet> = self
            .old_indices()
            .into_iter()
            .map(|i| &self.sets[i])
            .filter(|rs| rs.metadata.deletion_timestamp.is_none())
            .collect();
        let excess = alive.len() as i64 - i64::from(limit);
        if excess <= 0 {
            return;
        }
        alive.sort_by_key(|rs| (revision_of(&rs.metadata), rs.metadata.creation_timestamp.clone()));
        let victims: Vec<(String, String)> = alive
            .iter()
            .take(excess as usize)
            .filter(|rs| {
                rs_status(rs).0 == 0
                    && rs_replicas(rs) == 0
                    && rs.metadata.generation.unwrap_or(0)
                        <= rs.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0)
            })
            .map(|rs| {
                (rs.metadata.name.clone().unwrap_or_default(), rs.metadata.uid.clone().unwrap_or_default())
            })
            .collect();
        for (name, uid) in victims {
            let opts = DeleteOptions { uid: Some(uid), ..Default::default() };
            let _ = self.ctx.api.delete(Kind::ReplicaSet, Some(&self.key.0), &name, opts);
        }
    }

    /// calculateStatus.
    fn calculate_status(&self, new: Option<usize>) -> DeploymentStatus {
        let actual: i32 = self.sets.iter().map(|rs| rs_status(rs).0).sum();
        let ready: i32 = self.sets.iter().map(|rs| rs_status(rs).1).sum();
        let available: i32 = self.sets.iter().map(|rs| rs_status(rs).2).sum();
        let updated = new.map_or(0, |i| rs_status(&self.sets[i]).0);
        let unavailable = (self.spec_total() - available).max(0);
        let some = |n: i32| (n != 0).then_some(n);
        let mut status = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: some(actual),
            updated_replicas: some(updated),
            ready_replicas: some(ready),
            available_replicas: some(available),
            unavailable_replicas: some(unavailable),
            collision_count: self.d.status.as_ref().and_then(|s| s.collision_count),
            conditions: self.d.status.as_ref().and_then(|s| s.conditions.clone()),
            terminating_replicas: None,
        };
        let now = self.now();
        let cond = if available >= replicas(&self.d) - max_unavailable(&self.d) {
            new_condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                &now,
            )
        } else {
            new_condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                &now,
            )
        };
        set_condition(&mut status, cond);
        status
    }

    /// syncDeploymentStatus: write the status if it changed.
    fn sync_status(&mut self) {
        let new = self.new_index();
        let status = self.calculate_status(new);
        self.write_status(status);
    }

    fn write_status(&mut self, status: DeploymentStatus) {
        if self.failed || self.d.status.as_ref() == Some(&status) {
            return;
        }
        self.put_status(status);
    }

    /// Writes the status onto the Deployment as it is now (this sync may itself have written
    /// its annotations since it was observed).
    fn put_status(&mut self, status: DeploymentStatus) {
        if let Ok(mut d) = self.ctx.api.get_as::<Deployment>(Some(&self.key.0), &self.key.1) {
            if d.metadata.uid == self.d.metadata.uid {
                d.status = Some(status.clone());
                if self.ctx.api.update_status_as(d).is_ok() {
                    self.d.status = Some(status);
                }
            }
        }
    }

    /// syncRolloutStatus: status plus the Progressing condition (complete, progressing or past
    /// its deadline), and a look again when the deadline would pass.
    fn sync_rollout_status(&mut self, new: Option<usize>) {
        let mut status = self.calculate_status(new);
        let deadline = self.d.spec.as_ref().and_then(|s| s.progress_deadline_seconds);
        let Some(deadline) = deadline else {
            if let Some(c) = status.conditions.as_mut() {
                c.retain(|c| c.type_ != "Progressing");
            }
            self.write_status(status);
            return;
        };
        let current = condition(self.d.status.as_ref(), "Progressing").cloned();
        let is_complete = status.replicas == status.updated_replicas
            && current.as_ref().is_some_and(|c| c.reason.as_deref() == Some("NewReplicaSetAvailable"));
        let now = self.now();
        // What the Progressing messages talk about: the new ReplicaSet, or the Deployment.
        let subject = match new.and_then(|i| self.sets[i].metadata.name.clone()) {
            Some(rs) => format!("ReplicaSet {rs:?}"),
            None => format!("Deployment {:?}", self.d.metadata.name.as_deref().unwrap_or("")),
        };
        if !is_complete {
            if complete(&self.d, &status) {
                let msg = format!("{subject} has successfully progressed.");
                set_condition(
                    &mut status,
                    new_condition("Progressing", "True", "NewReplicaSetAvailable", msg, &now),
                );
            } else if progressing(&self.d, &status) {
                let msg = format!("{subject} is progressing.");
                let mut cond = new_condition("Progressing", "True", "ReplicaSetUpdated", msg, &now);
                if let Some(c) = current.as_ref().filter(|c| c.status == "True") {
                    cond.last_transition_time = c.last_transition_time.clone();
                }
                if let Some(c) = status.conditions.as_mut() {
                    c.retain(|c| c.type_ != "Progressing");
                }
                status.conditions.get_or_insert_with(Vec::new).push(cond);
            } else if let Some(c) = current.as_ref() {
                let reason = c.reason.as_deref();
                let from = c.last_update_time.as_ref().map(|t| self.ctx.api.epoch().sim_time(&t.0));
                let timed_out = reason == Some("ProgressDeadlineExceeded")
                    || (reason != Some("NewReplicaSetAvailable")
                        && from.is_some_and(|f| {
                            f + SimDuration::from_secs(deadline.max(0) as u64) < self.ctx.now()
                        }));
                if timed_out {
                    let msg = format!("{subject} has timed out progressing.");
                    set_condition(
                        &mut status,
                        new_condition("Progressing", "False", "ProgressDeadlineExceeded", msg, &now),
                    );
                }
            }
        }
        // requeueStuckDeployment: while the rollout is neither complete nor timed out, look again
        // just after the deadline would pass.
        let cond = condition(self.d.status.as_ref(), "Progressing").cloned();
        let unfinished = !complete(&self.d, &status);
        if let Some(c) =
            cond.filter(|c| unfinished && c.reason.as_deref() != Some("ProgressDeadlineExceeded"))
        {
            if let Some(t) = c.last_update_time.as_ref() {
                let at =
                    self.ctx.api.epoch().sim_time(&t.0) + SimDuration::from_secs(deadline.max(0) as u64 + 1);
                if at > self.ctx.now() {
                    self.queue.add_at(self.key.clone(), at);
                }
            }
        }
        self.write_status(status);
    }
}

impl Component for DeploymentController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.deployments = Informer::start(ctx, WatchSpec::all(Kind::Deployment)).ok();
                self.sets = Informer::start(ctx, WatchSpec::all(Kind::ReplicaSet)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.queue.add_all(self.deployments.as_ref());
            }
            Event::Watch(ev) => {
                if self.deployments.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.deployments.as_mut().expect("checked").apply(&ev);
                    self.queue.add(key_of(&ev.object));
                } else if self.sets.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.sets.as_mut().expect("checked").apply(&ev);
                    self.on_replica_set(&ev.object);
                    if let Some(old) = old {
                        if podutil::controller_of(old.meta()).map(|r| &r.uid)
                            != podutil::controller_of(ev.object.meta()).map(|r| &r.uid)
                        {
                            self.on_replica_set(&old);
                        }
                    }
                } else if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.pods.as_mut().expect("checked").apply(&ev);
                    // Recreate waits for old pods to go: a pod deletion wakes its Deployment.
                    if ev.kind == crate::apiserver::WatchEventType::Deleted {
                        let ns = ev.object.namespace().unwrap_or("");
                        let owner_rs =
                            podutil::controller_of(ev.object.meta()).filter(|r| r.kind == "ReplicaSet");
                        let rs = owner_rs.and_then(|r| self.sets.as_ref()?.get(ns, &r.name).cloned());
                        if let Some(rs) = rs {
                            if let Some(d) =
                                podutil::controller_of(rs.meta()).filter(|r| r.kind == "Deployment")
                            {
                                let recreate = self
                                    .deployments
                                    .as_ref()
                                    .and_then(|i| i.get_as::<Deployment>(ns, &d.name))
                                    .is_some_and(|d| !is_rolling(d));
                                if recreate {
                                    self.queue.add((ns.to_string(), d.name.clone()));
                                }
                            }
                        }
                    }
                }
            }
            Event::Timer(Timer::Reconcile) => {
                for key in self.queue.due(ctx.now()) {
                    self.sync(ctx, &key);
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
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(surge),
                        max_unavailable: Some(unavailable),
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn surge_rounds_up_and_unavailability_down() {
        let pct = |s: &str| IntOrString::String(s.into());
        assert_eq!(fenceposts(&deployment(10, pct("25%"), pct("25%"))), (3, 2));
        assert_eq!(fenceposts(&deployment(1, pct("25%"), pct("25%"))), (1, 0));
        // Both zero: one pod may be unavailable, or the rollout could never start.
        assert_eq!(fenceposts(&deployment(4, IntOrString::Int(0), IntOrString::Int(0))), (0, 1));
        assert_eq!(max_unavailable(&deployment(2, IntOrString::Int(0), IntOrString::Int(5))), 2);
    }

    #[test]
    fn hashes_use_the_safe_alphabet_and_change_with_the_template() {
        // SafeEncodeString maps the decimal digits 0-9 to "4 5 6 7 8 9 b c d f".
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        let mut t = PodTemplateSpec::default();
        let h1 = pod_template_hash(&t, None);
        assert!(!h1.is_empty() && h1.len() <= 10);
        assert!(h1.chars().all(|c| "456789bcdf".contains(c)));
        assert_eq!(h1, pod_template_hash(&t, None));
        assert_ne!(h1, pod_template_hash(&t, Some(1)));
        t.metadata = Some(ObjectMeta {
            labels: Some([("app".to_string(), "web".to_string())].into()),
            ..Default::default()
        });
        assert_ne!(h1, pod_template_hash(&t, None));
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        let labels = |pairs: &[(&str, &str)]| {
            Some(ObjectMeta {
                labels: Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            })
        };
        let a = PodTemplateSpec { metadata: labels(&[("app", "web")]), spec: None };
        let b =
            PodTemplateSpec { metadata: labels(&[("app", "web"), (POD_TEMPLATE_HASH, "abc")]), spec: None };
        let c = PodTemplateSpec { metadata: labels(&[("app", "api")]), spec: None };
        assert!(same_template(&a, &b));
        assert!(!same_template(&a, &c));
    }
}
