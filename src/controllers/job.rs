//! The Job controller (pkg/controller/job/job_controller.go, backoff_utils.go), with the
//! TTL-after-finished controller (pkg/controller/ttlafterfinished/ttlafterfinished_controller.go)
//! folded into the same component.
//!
//! Runs each Job's pods to completion: keeps min(parallelism, completions − succeeded) pods
//! active (any success ends a Job without `completions`, as a work queue), creates them in
//! slow-start batches (1, 2, 4, … at most 500 per sync) named `<job>-xxxxx`, and waits for its
//! own creations and deletions to be observed before acting again (expectations). Finished pods
//! are counted into `status.succeeded` / `status.failed` (a pod being deleted before it
//! succeeded counts as failed); failed pods are replaced after the pod-failure back-off (10s
//! doubling per consecutive failure, at most 10 minutes, reset by a success). The Job fails
//! with `BackoffLimitExceeded` when failures exceed `backoffLimit` (for `restartPolicy:
//! OnFailure` the container restarts of running pods count too) or with `DeadlineExceeded`
//! after `activeDeadlineSeconds`, and completes when enough pods succeeded. As in v1.31+ the
//! interim `FailureTarget` / `SuccessCriteriaMet` condition comes first (active pods are
//! deleted) and the terminal `Failed` / `Complete` one only once no pod is terminating;
//! `status.terminating` and `status.ready` are reported (JobPodReplacementPolicy is on by
//! default). `spec.suspend` deletes the active pods and sets the `Suspended` condition; resuming
//! resets `startTime`. With `ttlSecondsAfterFinished`, the Job is deleted (foreground
//! propagation: the garbage collector removes its pods first) that long after its `Complete` /
//! `Failed` condition.
//!
//! Simplifications:
//! - No `batch.kubernetes.io/job-tracking` finalizer on pods: the controller remembers which
//!   pods it already counted (by UID, in memory) and keeps the last state of a pod deleted
//!   before it was counted, which is what the finalizer guarantees upstream.
//!   `status.uncountedTerminatedPods` is therefore always empty, and the interim and terminal
//!   conditions are written in one status update where upstream writes twice.
//! - Pods belong to a Job only through their controller ownerReference: orphans matching
//!   `spec.selector` are not adopted, pods that stop matching are not released.
//! - kubesim's API server does not generate the Job selector, so the controller itself gives
//!   pods the labels upstream's API server puts into the pod template
//!   (`batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name`, `controller-uid`,
//!   `job-name`).
//! - `completionMode: Indexed`, `podFailurePolicy`, `successPolicy`, `backoffLimitPerIndex`
//!   and `podReplacementPolicy: Failed` are not modelled (an Indexed Job gets a Warning event
//!   and no pods).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::controller_utils::{create_pods, ControllerExpectations};
use super::ownership;
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::pod as podutil;
use crate::api::time::Epoch;
use crate::api::{Kind, Object};
use crate::apiserver::{DeleteOptions, Propagation, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

/// Pod events sync their Job this much later, batching status updates (`syncJobBatchPeriod`).
pub const SYNC_JOB_BATCH_PERIOD: SimDuration = SimDuration::from_secs(1);
/// First delay before a failed pod is replaced (`DefaultJobPodFailureBackOff`).
pub const DEFAULT_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// Longest such delay (`MaxJobPodFailureBackOff`).
pub const MAX_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_mins(10);
/// Most pods created or deleted in one sync (`MaxPodCreateDeletePerSync`).
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// `spec.backoffLimit` when unset.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// Labels the API server adds to a Job's pod template (pkg/registry/batch/job/strategy.go
/// `generateSelector`), here added by the controller to each pod.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const LEGACY_JOB_NAME_LABEL: &str = "job-name";
const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// `spec.managedBy` value naming this controller (any other value: the Job is not ours).
pub const JOB_CONTROLLER_NAME: &str = "kubernetes.io/job-controller";

const REASON_COMPLETIONS_REACHED: &str = "CompletionsReached";
const MESSAGE_COMPLETIONS_REACHED: &str = "Reached expected number of succeeded pods";

/// Consecutive pod failures since the last success (backoff_utils.go `backoffRecord`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackoffRecord {
    pub failures_after_last_success: u32,
    pub last_failure: Option<SimTime>,
}

impl BackoffRecord {
    /// The record after newly finished pods, given their finish times (`newBackoffRecord`):
    /// failures add up; a success resets the count to the failures that finished after it.
    pub fn with_finished(self, succeeded: &[SimTime], failed: &[SimTime]) -> BackoffRecord {
        let mut succeeded = succeeded.to_vec();
        let mut failed = failed.to_vec();
        succeeded.sort();
        failed.sort();
        match (succeeded.last(), failed.last()) {
            (None, None) => self,
            (None, Some(last)) => BackoffRecord {
                failures_after_last_success: self.failures_after_last_success + failed.len() as u32,
                last_failure: Some(*last),
            },
            (Some(_), None) => BackoffRecord::default(),
            (Some(last_success), Some(_)) => {
                let mut record = BackoffRecord::default();
                for t in failed.iter().rev().take_while(|t| *t > last_success) {
                    record.last_failure.get_or_insert(*t);
                    record.failures_after_last_success += 1;
                }
                record
            }
        }
    }

    /// How long pod creation must still wait (`getRemainingTimeForFailuresCount`):
    /// 10s · 2^(failures − 1), at most 10 minutes, since the last failure.
    pub fn remaining(&self, now: SimTime) -> SimDuration {
        let Some(last) = self.last_failure.filter(|_| self.failures_after_last_success > 0) else {
            return SimDuration::ZERO;
        };
        let mut backoff = DEFAULT_POD_FAILURE_BACKOFF;
        for _ in 1..self.failures_after_last_success {
            backoff = SimDuration(backoff.0.saturating_mul(2));
            if backoff >= MAX_POD_FAILURE_BACKOFF {
                backoff = MAX_POD_FAILURE_BACKOFF;
                break;
            }
        }
        let elapsed = now.since(last);
        if backoff < elapsed {
            SimDuration::ZERO
        } else {
            SimDuration(backoff.0 - elapsed.0)
        }
    }
}

/// What the controller remembers about one Job between syncs (keyed by the Job's key, reset
/// when a Job of the same name with another UID appears).
#[derive(Clone, Debug, Default)]
struct Tracking {
    job_uid: String,
    /// Pods already counted into status (or deliberately not counted: pods the controller
    /// deleted itself, whose tracking finalizer upstream removes before deleting them).
    counted: BTreeSet<String>,
    /// Pods deleted before they were counted, as last seen (upstream's finalizer keeps them).
    vanished: BTreeMap<String, Pod>,
    backoff: BackoffRecord,
    /// resourceVersion of this controller's last status write: an older cached Job is stale.
    written_rv: i64,
}

impl Tracking {
    fn new(job_uid: &str) -> Self {
        Tracking { job_uid: job_uid.to_string(), ..Default::default() }
    }
}

/// A condition about to be set: type, reason, message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Finish {
    type_: &'static str,
    reason: String,
    message: String,
}

impl Finish {
    fn new(type_: &'static str, reason: &str, message: &str) -> Self {
        Finish { type_, reason: reason.to_string(), message: message.to_string() }
    }

    /// `type_` with the reason and message of an existing condition.
    fn from_condition(type_: &'static str, c: &JobCondition) -> Self {
        Finish::new(type_, c.reason.as_deref().unwrap_or(""), c.message.as_deref().unwrap_or(""))
    }
}

/// Counters a sync adjusts as it creates and deletes pods.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    active: i32,
    ready: i32,
    terminating: i32,
}

/// The controller component.
#[derive(Default)]
pub struct JobController {
    jobs: Option<Informer>,
    pods: Option<Informer>,
    queue: ControllerQueue,
    expectations: ControllerExpectations,
    tracking: BTreeMap<ObjectKey, Tracking>,
    /// Earliest batched sync already queued per key (client-go's AddAfter keeps only the
    /// earliest time for a key that is waiting).
    pending: BTreeMap<ObjectKey, SimTime>,
}

fn reporter() -> Reporter<'static> {
    Reporter { component: "job-controller", host: None }
}

fn uid_of(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// `controller.FilterActivePods`: not Succeeded/Failed and not being deleted.
fn is_active(pod: &Pod) -> bool {
    !podutil::is_terminal(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// `controller.IsPodTerminating`.
fn is_terminating(pod: &Pod) -> bool {
    !podutil::is_terminal(pod) && pod.metadata.deletion_timestamp.is_some()
}

/// `isPodFailed` (podReplacementPolicy TerminatingOrFailed): Failed, or being deleted before
/// it succeeded (orphaned pods never reach a terminal phase).
fn is_pod_failed(pod: &Pod) -> bool {
    podutil::phase(pod) == "Failed"
        || (pod.metadata.deletion_timestamp.is_some() && podutil::phase(pod) != "Succeeded")
}

/// The `Complete` or `Failed` condition with status True, if the Job finished.
pub fn finished_condition(job: &Job) -> Option<&JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

/// `util.IsJobFinished`.
pub fn is_finished(job: &Job) -> bool {
    finished_condition(job).is_some()
}

fn true_condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == type_ && c.status == "True")
}

/// `ensureJobConditionStatus`: replaces a condition of that type whose status, reason or
/// message differ (both timestamps move), or appends it unless its status is False. Returns
/// whether anything changed.
fn ensure_condition(status: &mut JobStatus, type_: &str, value: &str, f: (&str, &str), now: &Time) -> bool {
    let (reason, message) = f;
    let cond = JobCondition {
        type_: type_.to_string(),
        status: value.to_string(),
        reason: (!reason.is_empty()).then(|| reason.to_string()),
        message: (!message.is_empty()).then(|| message.to_string()),
        last_probe_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    };
    let list = status.conditions.get_or_insert_with(Vec::new);
    let changed = match list.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            let same = existing.status == cond.status
                && existing.reason == cond.reason
                && existing.message == cond.message;
            if !same {
                *existing = cond;
            }
            !same
        }
        None if value != "False" => {
            list.push(cond);
            true
        }
        None => false,
    };
    if list.is_empty() {
        status.conditions = None;
    }
    changed
}

/// When a pod finished (backoff_utils.go `getFinishedTime`): its containers' latest finish,
/// else when Ready turned False, else deletionTimestamp − grace period, else its creation.
fn finished_at(pod: &Pod, epoch: Epoch) -> SimTime {
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref());
    if let Some(cs) = statuses.filter(|cs| !cs.is_empty()) {
        let ends: Option<Vec<SimTime>> = cs
            .iter()
            .map(|c| {
                let t = c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref()?;
                Some(epoch.sim_time(&t.0))
            })
            .collect();
        if let Some(latest) = ends.and_then(|e| e.into_iter().max()) {
            return latest;
        }
    }
    if let Some(t) = podutil::pod_condition(pod, "Ready")
        .filter(|c| c.status == "False")
        .and_then(|c| c.last_transition_time.as_ref())
    {
        return epoch.sim_time(&t.0);
    }
    if let Some(t) = pod.metadata.deletion_timestamp.as_ref() {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0).max(0) as u64;
        let at = epoch.sim_time(&t.0);
        return SimTime(at.0.saturating_sub(grace * 1000));
    }
    pod.metadata.creation_timestamp.as_ref().map_or(SimTime::ZERO, |t| epoch.sim_time(&t.0))
}

/// `pastBackoffLimitOnFailure`: with restartPolicy OnFailure, the container restarts of
/// Pending and Running pods reach the backoff limit.
fn past_backoff_limit_on_failure(job: &Job, pods: &[Pod]) -> bool {
    let spec = job.spec.as_ref();
    let policy = spec.and_then(|s| s.template.spec.as_ref()).and_then(|s| s.restart_policy.as_deref());
    if policy != Some("OnFailure") {
        return false;
    }
    let restarts: i32 = pods
        .iter()
        .filter(|p| matches!(podutil::phase(p), "Running" | "Pending"))
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten()))
        .map(|c| c.restart_count)
        .sum();
    let limit = spec.and_then(|s| s.backoff_limit).unwrap_or(DEFAULT_BACKOFF_LIMIT);
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// Orders active pods for removal, earliest first (controller.ActivePods): unassigned;
/// Pending < Unknown < Running; not ready; ready more recently; more restarts; newer.
fn removal_order<'a>(pods: &[&'a Pod], epoch: Epoch) -> Vec<&'a Pod> {
    // afterOrZero: a missing time first, then the later time first.
    let later_first = |t: Option<&Time>| std::cmp::Reverse(t.map_or(u64::MAX, |t| epoch.sim_time(&t.0).0));
    let mut ranked = pods.to_vec();
    ranked.sort_by_cached_key(|p| {
        let ready = podutil::is_ready(p);
        let phase = match podutil::phase(p) {
            "Pending" => 0,
            "Unknown" => 1,
            "Running" => 2,
            _ => 0,
        };
        let ready_since = if ready {
            later_first(podutil::pod_condition(p, "Ready").and_then(|c| c.last_transition_time.as_ref()))
        } else {
            std::cmp::Reverse(0)
        };
        let max_restarts = podutil::max_restarts(p);
        (
            podutil::node_name(p).is_some(),
            phase,
            ready,
            ready_since,
            std::cmp::Reverse(max_restarts),
            later_first(p.metadata.creation_timestamp.as_ref()),
        )
    });
    ranked
}

/// A pod built from the Job's template (controller.GetPodFromTemplate), with the labels the
/// API server would have put into the template.
pub fn pod_from_template(job: &Job) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let mut pod =
        ownership::pod_from_template(job.spec.as_ref().map(|s| &s.template), Kind::Job, &job.metadata);
    let mut labels = pod.metadata.labels.take().unwrap_or_default();
    for (k, v) in [
        (CONTROLLER_UID_LABEL, &uid),
        (JOB_NAME_LABEL, &name),
        (LEGACY_CONTROLLER_UID_LABEL, &uid),
        (LEGACY_JOB_NAME_LABEL, &name),
    ] {
        labels.entry(k.to_string()).or_insert_with(|| v.clone());
    }
    pod.metadata.labels = Some(labels);
    pod
}

impl JobController {
    pub fn new() -> Self {
        Self::default()
    }

    /// The key and UID of the Job controlling a pod.
    fn owner_of(pod: &Object) -> Option<(ObjectKey, String)> {
        let owner = podutil::controller_of(pod.meta())?;
        (owner.kind == "Job")
            .then(|| ((pod.namespace().unwrap_or("").to_string(), owner.name.clone()), owner.uid.clone()))
    }

    /// `enqueueSyncJobWithDelay` / `enqueueSyncJobBatched`: a sync at `at`, unless one is
    /// already queued for then or earlier.
    fn enqueue_at(&mut self, key: ObjectKey, at: SimTime) {
        if self.pending.get(&key).is_some_and(|t| *t <= at) {
            return;
        }
        self.pending.insert(key.clone(), at);
        self.queue.add_at(key, at);
    }

    fn on_pod(
        &mut self,
        now: SimTime,
        epoch: Epoch,
        kind: WatchEventType,
        obj: &Arc<Object>,
        old: Option<&Arc<Object>>,
    ) {
        let terminating = obj.meta().deletion_timestamp.is_some();
        let was_terminating = old.is_some_and(|o| o.meta().deletion_timestamp.is_some());
        let owner = Self::owner_of(obj);
        if let Some((key, owner_uid)) = owner.clone() {
            // resolveControllerRef: only the Job of that name *and* UID cares.
            let resolved =
                self.jobs.as_ref().and_then(|j| j.get(&key.0, &key.1)).is_some_and(|j| j.uid() == owner_uid);
            if resolved {
                let e = &mut self.expectations;
                match kind {
                    WatchEventType::Added if !terminating => e.creation_observed(&key),
                    // A pod first seen already being deleted is a deletion (addPod → deletePod).
                    WatchEventType::Added => e.deletion_observed(&key),
                    WatchEventType::Modified if terminating && !was_terminating => e.deletion_observed(&key),
                    WatchEventType::Deleted if !was_terminating => e.deletion_observed(&key),
                    _ => {}
                }
                if kind == WatchEventType::Deleted {
                    if let Some(pod) = obj.as_type::<Pod>() {
                        self.remember_vanished(&key, &owner_uid, pod, now, epoch);
                    }
                }
                self.enqueue_at(key, now + SYNC_JOB_BATCH_PERIOD);
            }
        }
        // A pod whose controller changed: the old Job syncs too.
        if let Some((old_key, _)) = old.and_then(|o| Self::owner_of(o)) {
            if owner.as_ref().map(|o| &o.0) != Some(&old_key) {
                self.enqueue_at(old_key, now + SYNC_JOB_BATCH_PERIOD);
            }
        }
    }

    /// Keeps the last state of a pod deleted before it was counted; it counts as failed unless
    /// it had succeeded (upstream the tracking finalizer holds such a pod until it is counted).
    fn remember_vanished(&mut self, key: &ObjectKey, job_uid: &str, pod: &Pod, now: SimTime, epoch: Epoch) {
        let t = self.tracking.entry(key.clone()).or_insert_with(|| Tracking::new(job_uid));
        if t.job_uid != job_uid {
            *t = Tracking::new(job_uid);
        }
        let uid = uid_of(pod).to_string();
        if t.counted.contains(&uid) {
            return;
        }
        let mut last = pod.clone();
        last.metadata.deletion_timestamp.get_or_insert_with(|| epoch.time(now));
        t.vanished.insert(uid, last);
    }

    fn on_job(
        &mut self,
        ctx: &mut Context<'_>,
        kind: WatchEventType,
        obj: &Arc<Object>,
        old: Option<&Arc<Object>>,
    ) {
        let key = key_of(obj);
        let now = ctx.now();
        match kind {
            WatchEventType::Added | WatchEventType::Deleted => self.queue.add(key),
            WatchEventType::Modified => {
                let generation_changed = old.is_none_or(|o| o.meta().generation != obj.meta().generation);
                if generation_changed {
                    self.queue.add(key.clone());
                } else {
                    self.enqueue_at(key.clone(), now + SYNC_JOB_BATCH_PERIOD);
                }
                // A changed activeDeadlineSeconds: sync again when the new deadline passes.
                let prev = old.and_then(|o| o.as_type::<Job>());
                let (Some(cur), Some(prev)) = (obj.as_type::<Job>(), prev) else {
                    return;
                };
                let ads = |j: &Job| j.spec.as_ref().and_then(|s| s.active_deadline_seconds);
                let start = cur.status.as_ref().and_then(|s| s.start_time.as_ref());
                if let (Some(start), Some(new_ads)) = (start, ads(cur)) {
                    if ads(prev) != Some(new_ads) {
                        let started = ctx.api.epoch().sim_time(&start.0);
                        self.queue.add_at(key, started + SimDuration::from_secs(new_ads.max(0) as u64));
                    }
                }
            }
        }
    }

    fn sync(&mut self, ctx: &mut Context<'_>, key: ObjectKey) {
        let Some(job_obj) = self.jobs.as_ref().and_then(|j| j.get(&key.0, &key.1)).cloned() else {
            self.expectations.forget(&key);
            self.tracking.remove(&key);
            return;
        };
        let job = job_obj.as_type::<Job>().expect("job informer").clone();
        if job.spec.as_ref().and_then(|s| s.managed_by.as_deref()).is_some_and(|m| m != JOB_CONTROLLER_NAME) {
            return;
        }
        if is_finished(&job) {
            self.tracking.remove(&key);
            self.ttl_after_finished(ctx, &key, &job);
            return;
        }
        let mode = job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()).unwrap_or("NonIndexed");
        if mode != "NonIndexed" {
            let (reason, message) = if mode == "Indexed" {
                ("UnsupportedCompletionMode", "Skipped Job sync: kubesim does not model Indexed Jobs")
            } else {
                ("UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
            };
            record_event(ctx, reporter(), &job_obj, "Warning", reason, message.to_string());
            return;
        }
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let mut t =
            self.tracking.remove(&key).filter(|t| t.job_uid == uid).unwrap_or_else(|| Tracking::new(&uid));
        if job_obj.resource_version() < t.written_rv {
            // The cache has not caught up with this controller's own status write yet; the
            // watch event for it queues the Job again.
            self.tracking.insert(key, t);
            return;
        }
        self.sync_job(ctx, &key, &job_obj, &job, &mut t);
        self.tracking.insert(key, t);
    }

    fn sync_job(
        &mut self,
        ctx: &mut Context<'_>,
        key: &ObjectKey,
        job_obj: &Object,
        job: &Job,
        t: &mut Tracking,
    ) {
        let now = ctx.now();
        let epoch = ctx.api.epoch();
        let now_time = epoch.time(now);
        let spec = job.spec.clone().unwrap_or_default();
        let mut status = job.status.clone().unwrap_or_default();
        let suspended = spec.suspend == Some(true);
        // Checked before the pods are listed, as upstream: a pod that sneaks in later is only
        // seen by the next sync.
        let satisfied = self.expectations.satisfied(key, now);

        // The Job's pods: the ones it controls, then the ones deleted before being counted.
        let mut pods: Vec<Pod> = self
            .pods
            .iter()
            .flat_map(|p| p.in_namespace(&key.0))
            .filter_map(|o| o.as_type::<Pod>())
            .filter(|p| podutil::controller_of(&p.metadata).is_some_and(|r| r.uid == t.job_uid))
            .cloned()
            .collect();
        let present = pods.len();
        for (pod_uid, pod) in &t.vanished {
            if !pods[..present].iter().any(|p| uid_of(p) == pod_uid) {
                pods.push(pod.clone());
            }
        }
        let active: Vec<&Pod> = pods[..present].iter().filter(|p| is_active(p)).collect();
        let mut counts = Counts {
            active: active.len() as i32,
            ready: active.iter().filter(|p| podutil::is_ready(p)).count() as i32,
            terminating: pods[..present].iter().filter(|p| is_terminating(p)).count() as i32,
        };
        let new_succeeded: Vec<SimTime> = pods
            .iter()
            .filter(|p| !t.counted.contains(uid_of(p)) && podutil::phase(p) == "Succeeded")
            .map(|p| finished_at(p, epoch))
            .collect();
        let new_failed: Vec<SimTime> = pods
            .iter()
            .filter(|p| !t.counted.contains(uid_of(p)) && is_pod_failed(p))
            .map(|p| finished_at(p, epoch))
            .collect();
        let succeeded = status.succeeded.unwrap_or(0) + new_succeeded.len() as i32;
        let failed = status.failed.unwrap_or(0) + new_failed.len() as i32;

        // First start (not while suspended).
        if status.start_time.is_none() && !suspended {
            status.start_time = Some(now_time.clone());
        }
        let backoff = t.backoff.with_finished(&new_succeeded, &new_failed);

        // A Job past its interim condition goes on to the terminal one.
        let success = true_condition(&status, "SuccessCriteriaMet");
        let mut finished: Option<Finish> = success.map(|c| Finish::from_condition("SuccessCriteriaMet", c));
        if finished.is_none() {
            finished = true_condition(&status, "FailureTarget").map(|c| Finish::from_condition("Failed", c));
        }
        if finished.is_none() {
            let backoff_limit = spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
            let deadline = spec
                .active_deadline_seconds
                .filter(|_| !suspended)
                .zip(status.start_time.as_ref())
                .map(|(ads, start)| epoch.sim_time(&start.0) + SimDuration::from_secs(ads.max(0) as u64));
            if failed > backoff_limit || past_backoff_limit_on_failure(job, &pods) {
                finished = Some(Finish::new(
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ));
            } else if deadline.is_some_and(|d| now >= d) {
                finished = Some(Finish::new(
                    "FailureTarget",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                ));
            } else if let Some(at) = deadline {
                self.queue.add_at(key.clone(), at);
            }
        }

        let mut manage_called = false;
        if finished.is_some() {
            // Remove the active pods; the terminal condition waits for them to be gone.
            let (deleted_ready, deleted) = self.delete_active_pods(ctx, job_obj, &active);
            if deleted != counts.active || !satisfied {
                finished = None;
            }
            counts.active -= deleted;
            counts.terminating += deleted;
            counts.ready -= deleted_ready;
        } else {
            if satisfied && job.metadata.deletion_timestamp.is_none() {
                self.manage_job(ctx, key, job_obj, job, &active, succeeded, &backoff, t, &mut counts);
                manage_called = true;
            }
            let complete = match spec.completions {
                // Work-queue Job: any success completes it once nothing else is running.
                None => succeeded > 0 && counts.active == 0,
                Some(c) => succeeded >= c && counts.active == 0,
            };
            if complete {
                let (reason, message) = (REASON_COMPLETIONS_REACHED, MESSAGE_COMPLETIONS_REACHED);
                finished = Some(Finish::new("SuccessCriteriaMet", reason, message));
            } else if manage_called {
                let suspend = ("JobSuspended", "Job suspended");
                let resume = ("JobResumed", "Job resumed");
                if suspended {
                    if ensure_condition(&mut status, "Suspended", "True", suspend, &now_time) {
                        record_event(ctx, reporter(), job_obj, "Normal", "Suspended", "Job suspended".into());
                    }
                } else if ensure_condition(&mut status, "Suspended", "False", resume, &now_time) {
                    record_event(ctx, reporter(), job_obj, "Normal", "Resumed", "Job resumed".into());
                    // activeDeadlineSeconds counts continuous activity: resuming restarts it.
                    status.start_time = Some(now_time.clone());
                }
            }
        }

        // Count finished pods (trackJobStatusAndRemoveFinalizers). Once the Job fails, every
        // pod that did not succeed counts as failed.
        let failing = finished.as_ref().is_some_and(|f| matches!(f.type_, "FailureTarget" | "Failed"));
        let mut newly_counted: Vec<String> = Vec::new();
        let (mut add_succeeded, mut add_failed) = (0, 0);
        let job_deleting = job.metadata.deletion_timestamp.is_some();
        for p in pods.iter().filter(|p| !t.counted.contains(uid_of(p))) {
            let considered_failed = is_pod_failed(p);
            let succeeded_pod = podutil::phase(p) == "Succeeded";
            // canRemoveFinalizer
            if !(job_deleting || finished.is_some() || succeeded_pod || considered_failed) {
                continue;
            }
            if succeeded_pod {
                add_succeeded += 1;
            } else if considered_failed || failing {
                add_failed += 1;
            }
            newly_counted.push(uid_of(p).to_string());
        }
        let total_succeeded = status.succeeded.unwrap_or(0) + add_succeeded;
        status.succeeded = nonzero(total_succeeded);
        status.failed = nonzero(status.failed.unwrap_or(0) + add_failed);

        // Interim condition first, then (once nothing is terminating) the terminal one.
        if let Some(f) = finished.take() {
            finished = Some(match f.type_ {
                "FailureTarget" => {
                    let text = (f.reason.as_str(), f.message.as_str());
                    ensure_condition(&mut status, "FailureTarget", "True", text, &now_time);
                    Finish { type_: "Failed", ..f }
                }
                "SuccessCriteriaMet" => {
                    if true_condition(&status, "SuccessCriteriaMet").is_none() {
                        let text = (f.reason.as_str(), f.message.as_str());
                        ensure_condition(&mut status, "SuccessCriteriaMet", "True", text, &now_time);
                    }
                    Finish { type_: "Complete", ..f }
                }
                _ => f,
            });
        }
        let mut finished_now = None;
        if let Some(f) = finished.filter(|_| counts.terminating == 0) {
            let text = (f.reason.as_str(), f.message.as_str());
            ensure_condition(&mut status, f.type_, "True", text, &now_time);
            if f.type_ == "Complete" {
                status.completion_time = Some(now_time.clone());
            }
            finished_now = Some(f);
        }

        status.active = nonzero(counts.active);
        status.ready = Some(counts.ready);
        status.terminating = Some(counts.terminating);
        status.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
        if job.status.as_ref() != Some(&status) {
            let mut next = job.clone();
            next.status = Some(status);
            match ctx.api.update_status_as(next) {
                Ok(written) => t.written_rv = written.resource_version(),
                Err(_) => {
                    // Nothing counted is committed; the next sync counts again.
                    self.queue.add_rate_limited(key.clone(), now);
                    return;
                }
            }
        }
        for uid in newly_counted {
            t.vanished.remove(&uid);
            t.counted.insert(uid);
        }
        t.backoff = backoff;
        if let Some(f) = finished_now {
            if f.type_ == "Complete" {
                if spec.completions.is_some_and(|c| total_succeeded > c) {
                    let msg = "Too many succeeded pods running after completion count reached".to_string();
                    record_event(ctx, reporter(), job_obj, "Warning", "TooManySucceededPods", msg);
                }
                record_event(ctx, reporter(), job_obj, "Normal", "Completed", "Job completed".into());
            } else {
                record_event(ctx, reporter(), job_obj, "Warning", &f.reason, f.message.clone());
            }
        }
        self.queue.forget(key);
    }

    /// `manageJob`: deletes all active pods of a suspended Job, surplus pods, or creates
    /// missing ones (after the pod-failure back-off).
    #[allow(clippy::too_many_arguments)]
    fn manage_job(
        &mut self,
        ctx: &mut Context<'_>,
        key: &ObjectKey,
        job_obj: &Object,
        job: &Job,
        active: &[&Pod],
        succeeded: i32,
        backoff: &BackoffRecord,
        t: &mut Tracking,
        counts: &mut Counts,
    ) {
        let now = ctx.now();
        let epoch = ctx.api.epoch();
        let spec = job.spec.clone().unwrap_or_default();
        let have = active.len() as i32;
        let parallelism = spec.parallelism.unwrap_or(1).max(0);
        if spec.suspend == Some(true) {
            let victims = removal_order(active, epoch);
            self.expectations.expect(key, 0, victims.len(), now);
            let (removed_ready, removed) = self.delete_job_pods(ctx, key, job_obj, &victims, t);
            counts.active -= removed;
            counts.terminating += removed;
            counts.ready -= removed_ready;
            return;
        }
        let want = match spec.completions {
            // Work queue: after the first success, leave whatever runs running.
            None if succeeded > 0 => have,
            None => parallelism,
            Some(c) => (c - succeeded).min(parallelism).max(0),
        };
        let surplus = (have - want).max(0) as usize;
        if surplus > 0 {
            let victims: Vec<&Pod> = removal_order(active, epoch)
                .into_iter()
                .take(surplus.min(MAX_POD_CREATE_DELETE_PER_SYNC))
                .collect();
            self.expectations.expect(key, 0, victims.len(), now);
            let (removed_ready, removed) = self.delete_job_pods(ctx, key, job_obj, &victims, t);
            counts.active -= removed;
            counts.terminating += removed;
            counts.ready -= removed_ready;
            // Deletions take precedence: no creations in the same sync.
            return;
        }
        let diff = want - have;
        if diff <= 0 {
            return;
        }
        let remaining = backoff.remaining(now);
        if remaining > SimDuration::ZERO {
            self.enqueue_at(key.clone(), now + remaining.max(SYNC_JOB_BATCH_PERIOD));
            // Upstream's manageJob returns 0 active pods while it waits out the back-off, so
            // status.active reads 0 even when pods are running (job_controller.go).
            counts.active = 0;
            return;
        }
        let diff = (diff as usize).min(MAX_POD_CREATE_DELETE_PER_SYNC);
        self.expectations.expect(key, diff, 0, now);
        let created = create_pods(ctx, reporter(), job_obj, &mut self.expectations, key, diff, || {
            pod_from_template(job)
        });
        counts.active += created as i32;
    }

    /// `deleteJobPods`: pods the controller removes itself (suspend, surplus) are not counted
    /// (upstream removes their tracking finalizer before deleting them). Returns (ready, all)
    /// successful deletions.
    fn delete_job_pods(
        &mut self,
        ctx: &mut Context<'_>,
        key: &ObjectKey,
        job_obj: &Object,
        pods: &[&Pod],
        t: &mut Tracking,
    ) -> (i32, i32) {
        let (mut ready, mut deleted) = (0, 0);
        for pod in pods {
            t.counted.insert(uid_of(pod).to_string());
            let name = pod.metadata.name.clone().unwrap_or_default();
            match ctx.api.delete(Kind::Pod, Some(&key.0), &name, DeleteOptions::default()) {
                Ok(_) => {
                    deleted += 1;
                    let msg = format!("Deleted pod: {name}");
                    record_event(ctx, reporter(), job_obj, "Normal", "SuccessfulDelete", msg);
                }
                Err(e) => {
                    // The informer will not observe this deletion.
                    self.expectations.deletion_observed(key);
                    if e.is_not_found() {
                        deleted += 1;
                    } else {
                        let msg = format!("Error deleting: {e}");
                        record_event(ctx, reporter(), job_obj, "Warning", "FailedDelete", msg);
                    }
                }
            }
            // Counted as a removed ready pod whether or not the delete went through, as upstream.
            if podutil::is_ready(pod) {
                ready += 1;
            }
        }
        (ready, deleted)
    }

    /// `deleteActivePods` (the Job is finishing): no expectations, pods stay countable (they
    /// count as failed). Returns (ready, all) successful deletions.
    fn delete_active_pods(&mut self, ctx: &mut Context<'_>, job_obj: &Object, pods: &[&Pod]) -> (i32, i32) {
        let (mut ready, mut deleted) = (0, 0);
        let namespace = job_obj.namespace().unwrap_or("").to_string();
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            match ctx.api.delete(Kind::Pod, Some(&namespace), &name, DeleteOptions::default()) {
                Ok(_) => {
                    deleted += 1;
                    let msg = format!("Deleted pod: {name}");
                    record_event(ctx, reporter(), job_obj, "Normal", "SuccessfulDelete", msg);
                }
                Err(e) if e.is_not_found() => deleted += 1,
                Err(e) => {
                    let msg = format!("Error deleting: {e}");
                    record_event(ctx, reporter(), job_obj, "Warning", "FailedDelete", msg);
                }
            }
            if podutil::is_ready(pod) {
                ready += 1;
            }
        }
        (ready, deleted)
    }

    /// The TTL-after-finished controller's `processJob`: once `ttlSecondsAfterFinished` has
    /// passed since the Complete/Failed condition, re-check a fresh copy and delete the Job
    /// with foreground propagation (the garbage collector removes its pods, then the Job),
    /// guarded by its UID.
    fn ttl_after_finished(&mut self, ctx: &mut Context<'_>, key: &ObjectKey, job: &Job) {
        let epoch = ctx.api.epoch();
        let now = ctx.now();
        let expiry = |j: &Job| -> Option<SimTime> {
            if j.metadata.deletion_timestamp.is_some() {
                return None;
            }
            let ttl = j.spec.as_ref()?.ttl_seconds_after_finished?;
            let finished = finished_condition(j)?.last_transition_time.as_ref()?;
            Some(epoch.sim_time(&finished.0) + SimDuration::from_secs(ttl.max(0) as u64))
        };
        let Some(at) = expiry(job) else {
            return;
        };
        if now < at {
            self.queue.add_at(key.clone(), at);
            return;
        }
        // The cached TTL may be stale: decide on a fresh copy.
        let Ok(fresh) = ctx.api.get_as::<Job>(Some(&key.0), &key.1) else {
            return;
        };
        match expiry(&fresh) {
            Some(at) if now >= at => {}
            Some(at) => {
                self.queue.add_at(key.clone(), at);
                return;
            }
            None => return,
        }
        let opts = DeleteOptions {
            uid: fresh.metadata.uid.clone(),
            propagation: Some(Propagation::Foreground),
            ..Default::default()
        };
        if let Err(e) = ctx.api.delete(Kind::Job, Some(&key.0), &key.1, opts) {
            if !e.is_not_found() {
                self.queue.add_rate_limited(key.clone(), now);
            }
        }
    }
}

impl Component for JobController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.jobs = Informer::start(ctx, WatchSpec::all(Kind::Job)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.queue.add_all(self.jobs.as_ref());
            }
            Event::Watch(ev) => {
                if self.jobs.as_ref().is_some_and(|j| j.owns(&ev)) {
                    let old = self.jobs.as_mut().expect("checked").apply(&ev);
                    self.on_job(ctx, ev.kind, &ev.object, old.as_ref());
                } else if self.pods.as_ref().is_some_and(|p| p.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    let (now, epoch) = (ctx.now(), ctx.api.epoch());
                    self.on_pod(now, epoch, ev.kind, &ev.object, old.as_ref());
                }
            }
            Event::Timer(Timer::Reconcile) => {
                let now = ctx.now();
                for key in self.queue.due(now) {
                    if self.pending.get(&key).is_some_and(|t| *t <= now) {
                        self.pending.remove(&key);
                    }
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

    fn secs(s: u64) -> SimTime {
        SimTime(s * 1000)
    }

    #[test]
    fn pod_failure_backoff_doubles_from_10s_up_to_10_minutes() {
        let mut record = BackoffRecord::default();
        assert_eq!(record.remaining(secs(0)), SimDuration::ZERO);
        record = record.with_finished(&[], &[secs(100)]);
        assert_eq!(record.remaining(secs(101)), SimDuration::from_secs(9));
        record = record.with_finished(&[], &[secs(200)]);
        assert_eq!(record.remaining(secs(200)), SimDuration::from_secs(20));
        record = record.with_finished(&[], &[secs(300)]);
        assert_eq!(record.remaining(secs(300)), SimDuration::from_secs(40));
        assert_eq!(record.remaining(secs(400)), SimDuration::ZERO);
        for i in 0..10 {
            record = record.with_finished(&[], &[secs(1000 + i)]);
        }
        assert_eq!(record.remaining(secs(1009)), MAX_POD_FAILURE_BACKOFF);
    }

    #[test]
    fn a_success_resets_the_backoff_to_the_failures_after_it() {
        let record = BackoffRecord { failures_after_last_success: 5, last_failure: Some(secs(50)) };
        assert_eq!(record.with_finished(&[secs(60)], &[]), BackoffRecord::default());
        let mixed = record.with_finished(&[secs(60)], &[secs(55), secs(70), secs(65)]);
        assert_eq!(mixed, BackoffRecord { failures_after_last_success: 2, last_failure: Some(secs(70)) });
        assert_eq!(record.with_finished(&[], &[]), record);
    }

    #[test]
    fn conditions_move_both_timestamps_only_when_they_change() {
        let epoch = Epoch::default();
        let mut status = JobStatus::default();
        let t0 = epoch.time(secs(0));
        let t1 = epoch.time(secs(5));
        assert!(!ensure_condition(&mut status, "Suspended", "False", ("JobResumed", "Job resumed"), &t0));
        assert_eq!(status.conditions, None);
        assert!(ensure_condition(&mut status, "Suspended", "True", ("JobSuspended", "Job suspended"), &t0));
        assert!(!ensure_condition(&mut status, "Suspended", "True", ("JobSuspended", "Job suspended"), &t1));
        assert!(ensure_condition(&mut status, "Suspended", "False", ("JobResumed", "Job resumed"), &t1));
        let c = &status.conditions.as_ref().unwrap()[0];
        assert_eq!((c.status.as_str(), c.last_transition_time.as_ref()), ("False", Some(&t1)));
    }
}
