//! The kube-apiserver model: REST semantics over the etcd model.
//!
//! Requests are synchronous calls that can fail like the real ones (404, 409 AlreadyExists /
//! Conflict on a stale resourceVersion, 410 Gone, 422 Invalid). Every write goes through the
//! same pipeline as upstream's generic registry (staging/src/k8s.io/apiserver/pkg/registry/
//! generic/registry/store.go): defaulting → admission → validation → an etcd transaction
//! guarded by `mod_revision`, then watch fan-out. `metadata.resourceVersion` is the etcd
//! `mod_revision`.
//!
//! Simplifications: no authentication/authorization, no server-side apply or patch (clients
//! send whole objects), no API versions other than the ones in `api::kinds`, events are not
//! aggregated into series and have no TTL.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event as K8sEvent, EventSource, ObjectReference, Pod, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use rand::Rng;

use super::errors::ApiError;
use super::fields::supports_field;
use super::watch::{stamp, WatchEventType, WatchId, WatchSpec, Watchers};
use super::WatchEvent;
use crate::api::time::Epoch;
use crate::api::{defaults, pod as podutil, validation, FieldSelector, Kind, KindOf, LabelSelector, Object};
use crate::sim::engine::ComponentId;
use crate::sim::rng::{component_rng, SimRng};
use crate::sim::{SimDuration, SimTime};
use crate::store::{Compare, EventType, KeyRange, Op, Revision, Store};

/// A committed write, as observers (invariant checkers, recorders) see it.
#[derive(Clone, Debug)]
pub struct Change {
    pub revision: Revision,
    pub kind: Kind,
    pub old: Option<Arc<Object>>,
    /// `None` when the object was deleted.
    pub new: Option<Arc<Object>>,
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchStart {
    /// Only changes after this call.
    Now,
    /// Every change with a resourceVersion greater than this one (410 Gone if compacted).
    After(Revision),
}

/// `DeleteOptions`.
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// Only delete if the object still has this UID.
    pub uid: Option<String>,
    /// What happens to the object's dependents; `None`: the resource's default (see
    /// [`Propagation::default_for`]).
    pub propagation: Option<Propagation>,
}

/// `propagationPolicy` of a delete: what the garbage collector does with the dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// The owner goes now; the garbage collector deletes the dependents afterwards.
    Background,
    /// The owner stays (finalizer `foregroundDeletion`) until its blocking dependents are gone.
    Foreground,
    /// The owner stays (finalizer `orphan`) until its dependents' ownerReferences to it are
    /// removed; the dependents live on.
    Orphan,
}

/// Finalizer the API server adds for a foreground delete.
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";
/// Finalizer the API server adds for an orphaning delete.
pub const FINALIZER_ORPHAN: &str = "orphan";

impl Propagation {
    /// The policy when a delete names none (`DefaultGarbageCollectionPolicy` of each REST
    /// strategy): batch/v1 Jobs orphan their pods for backward compatibility (pkg/registry/
    /// batch/job/strategy.go; kubectl always sends Background), everything else is Background.
    pub fn default_for(kind: Kind) -> Propagation {
        match kind {
            Kind::Job => Propagation::Orphan,
            _ => Propagation::Background,
        }
    }

    /// kubectl's `--cascade` spelling.
    pub fn parse(s: &str) -> Option<Propagation> {
        match s {
            "background" | "Background" | "true" => Some(Propagation::Background),
            "foreground" | "Foreground" => Some(Propagation::Foreground),
            "orphan" | "Orphan" | "false" => Some(Propagation::Orphan),
            _ => None,
        }
    }
}

impl DeleteOptions {
    /// Grace period 0: the object goes at once.
    pub fn now() -> Self {
        DeleteOptions { grace_period_seconds: Some(0), uid: None, propagation: None }
    }

    /// Grace period 0, only if the object still has this UID: the kubelet's final delete and
    /// the pod GC's force delete, which must never remove a newer pod of the same name.
    pub fn force_uid(uid: impl Into<String>) -> Self {
        DeleteOptions { grace_period_seconds: Some(0), uid: Some(uid.into()), propagation: None }
    }
}

/// A list response.
#[derive(Clone, Debug)]
pub struct ObjectList {
    pub items: Vec<Arc<Object>>,
    /// The store revision at read time (a list's `metadata.resourceVersion`).
    pub revision: Revision,
}

/// Who reports a Kubernetes Event.
#[derive(Clone, Copy, Debug)]
pub struct Reporter<'a> {
    /// `default-scheduler`, `kubelet`, `node-controller`, `replicaset-controller`, …
    pub component: &'a str,
    /// The node, for kubelet events.
    pub host: Option<&'a str>,
}

/// The API server.
pub struct ApiServer {
    pub(super) store: Store<Object>,
    epoch: Epoch,
    now: SimTime,
    rng: SimRng,
    /// UIDs of Event objects come from their own stream, so how many events components record
    /// never changes the names and UIDs of everything else.
    event_rng: SimRng,
    watchers: Watchers,
    deliveries: Vec<(ComponentId, WatchEvent)>,
    journal: Vec<Change>,
    /// Revision recorded at the previous compaction tick; compacted at the next one, so at
    /// least one interval of history is always kept (upstream `compactor`).
    compact_candidate: Revision,
    pub(super) cluster_ips: BTreeSet<u32>,
    pub(super) node_ports: BTreeSet<i32>,
    /// DefaultTolerationSeconds admission: `--default-not-ready-toleration-seconds` and
    /// `--default-unreachable-toleration-seconds` (300).
    default_toleration_seconds: i64,
    /// The component whose request is being served (set by the engine around each event).
    caller: Option<ComponentId>,
    /// Components cut off from the API server by a network partition.
    partitioned: BTreeSet<ComponentId>,
    /// Files written by `etcdctl snapshot save`, by path.
    pub(super) snapshots: BTreeMap<String, super::snapshot::EtcdSnapshot>,
    /// Recorded events by their correlation key (source, object, type, reason, message), to
    /// the Event object's name.
    event_keys: BTreeMap<String, String>,
}

/// How many event correlation keys are remembered (see `record_event`).
const MAX_EVENT_KEYS: usize = 65_536;

/// The service CIDR 10.96.0.0/12 (kubeadm's default).
const SERVICE_CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_CIDR_SIZE: u32 = 1 << 20;
/// Upstream reserves the lower band of the range for static IPs (min(max(16, size/16), 256)).
const SERVICE_STATIC_BAND: u32 = 256;

impl ApiServer {
    pub fn new(epoch: Epoch, seed: u64) -> Self {
        ApiServer {
            store: Store::new(),
            epoch,
            now: SimTime::ZERO,
            rng: component_rng(seed, "kube-apiserver"),
            event_rng: component_rng(seed, "kube-apiserver/events"),
            watchers: Watchers::default(),
            deliveries: Vec::new(),
            journal: Vec::new(),
            compact_candidate: 0,
            cluster_ips: BTreeSet::new(),
            node_ports: BTreeSet::new(),
            default_toleration_seconds: 300,
            caller: None,
            partitioned: BTreeSet::new(),
            snapshots: BTreeMap::new(),
            event_keys: BTreeMap::new(),
        }
    }

    /// Who is calling (the engine sets this while a component handles an event).
    pub fn set_caller(&mut self, caller: Option<ComponentId>) {
        self.caller = caller;
    }

    /// Cuts a component off: its requests fail with [`ApiError::Unreachable`] and its watches
    /// are closed (it must list and watch again after [`ApiServer::heal`]).
    pub fn partition(&mut self, component: ComponentId) {
        self.partitioned.insert(component);
        self.watchers.remove_owner(component);
    }

    pub fn heal(&mut self, component: ComponentId) {
        self.partitioned.remove(&component);
    }

    pub fn is_partitioned(&self, component: ComponentId) -> bool {
        self.partitioned.contains(&component)
    }

    fn reachable(&self) -> Result<(), ApiError> {
        match self.caller {
            Some(c) if self.partitioned.contains(&c) => Err(ApiError::Unreachable),
            _ => Ok(()),
        }
    }

    /// Sets the tolerationSeconds DefaultTolerationSeconds admission gives pods.
    pub fn set_default_toleration_seconds(&mut self, seconds: i64) {
        self.default_toleration_seconds = seconds;
    }

    pub fn set_now(&mut self, now: SimTime) {
        self.now = now;
    }
    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    pub fn store(&self) -> &Store<Object> {
        &self.store
    }
    pub fn revision(&self) -> Revision {
        self.store.revision()
    }
    pub fn watch_count(&self) -> usize {
        self.watchers.len()
    }

    /// Watch events produced since the last call, for the engine to queue.
    pub fn take_deliveries(&mut self) -> Vec<(ComponentId, WatchEvent)> {
        std::mem::take(&mut self.deliveries)
    }
    /// The same, keeping the buffer for the next writes (the engine's path, once per event).
    pub fn drain_deliveries(&mut self) -> std::vec::Drain<'_, (ComponentId, WatchEvent)> {
        self.deliveries.drain(..)
    }
    /// Committed writes since the last call, for observers.
    pub fn take_journal(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.journal)
    }
    /// Committed writes since the last [`ApiServer::clear_journal`], without taking them.
    pub fn journal(&self) -> &[Change] {
        &self.journal
    }
    /// Forgets the journal, keeping its buffer.
    pub fn clear_journal(&mut self) {
        self.journal.clear();
    }

    // ---------------------------------------------------------------- reads

    pub fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Arc<Object>, ApiError> {
        self.get_at_key(kind, &kind.etcd_key(namespace, name), name)
    }

    /// [`ApiServer::get`] of an object whose etcd key the caller built.
    fn get_at_key(&self, kind: Kind, key: &str, name: &str) -> Result<Arc<Object>, ApiError> {
        self.reachable()?;
        self.store.current_value(key).cloned().ok_or_else(|| ApiError::not_found(kind, name))
    }

    /// Typed get, cloning the object so the caller can modify and update it.
    pub fn get_as<T: KindOf>(&self, namespace: Option<&str>, name: &str) -> Result<T, ApiError> {
        let obj = self.get(<T as KindOf>::KIND, namespace, name)?;
        Ok(obj.as_type::<T>().expect("store keys hold their kind").clone())
    }

    /// Lists objects of a kind (all namespaces when `namespace` is `None`).
    pub fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Result<ObjectList, ApiError> {
        self.reachable()?;
        for r in &fields.requirements {
            if !supports_field(kind, &r.field) {
                return Err(ApiError::BadRequest(format!(
                    "field label not supported: {} (for {})",
                    r.field,
                    kind.resource()
                )));
            }
        }
        let prefix = kind.etcd_prefix_key(namespace);
        let items = self
            .store
            .range(&KeyRange::Prefix(prefix), 0)
            .expect("current revision is always readable")
            .into_iter()
            .map(|kv| kv.value)
            .filter(|o| labels.matches(o.labels()) && fields.matches(|f| super::fields::field_value(o, f)))
            .collect();
        Ok(ObjectList { items, revision: self.store.revision() })
    }

    /// Every object of a kind, in key order.
    pub fn list_all(&self, kind: Kind) -> Vec<Arc<Object>> {
        self.list(kind, None, &LabelSelector::everything(), &FieldSelector::everything())
            .map(|l| l.items)
            .unwrap_or_default()
    }

    // ---------------------------------------------------------------- writes

    /// POST: creates an object (namespace defaults to `default`).
    pub fn create(&mut self, mut obj: Object) -> Result<Arc<Object>, ApiError> {
        self.reachable()?;
        let kind = obj.kind();
        {
            let meta = obj.meta_mut();
            if kind.namespaced() {
                if meta.namespace.as_deref().is_none_or(str::is_empty) {
                    meta.namespace = Some("default".into());
                }
            } else {
                meta.namespace = None;
            }
            meta.resource_version = None;
            meta.uid = None;
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
        }
        defaults::apply(&mut obj);
        self.admit_create(&mut obj)?;
        let errors = validation::validate(&obj);
        if !errors.is_empty() {
            let name = obj.meta().name.clone().or(obj.meta().generate_name.clone()).unwrap_or_default();
            return Err(ApiError::Invalid(validation::invalid_message(kind, &name, &errors)));
        }
        let generated = obj.meta().name.as_deref().is_none_or(str::is_empty);
        for _attempt in 0..8 {
            if generated {
                let base = obj.meta().generate_name.clone().unwrap_or_default();
                let name = format!("{base}{}", self.random_suffix());
                obj.meta_mut().name = Some(name);
            }
            let uid = self.random_uid(kind == Kind::Event);
            let meta = obj.meta_mut();
            meta.uid = Some(uid);
            meta.creation_timestamp = Some(self.epoch.time(self.now));
            if has_spec(&obj) {
                obj.meta_mut().generation = Some(1);
            }
            if let Object::Job(job) = &mut obj {
                generate_job_selector(job);
            }
            let key = obj.etcd_key();
            obj.meta_mut().resource_version = Some((self.store.revision() + 1).to_string());
            let value = Arc::new(obj);
            let result = self.store.txn(
                &[Compare { key: key.clone(), mod_revision: 0 }],
                vec![Op::Put(key, value.clone())],
                vec![],
            );
            if result.succeeded {
                self.commit(kind, None, Some(value.clone()), result.revision);
                return Ok(value);
            }
            // The store did not keep the object: take it back for the next name.
            obj = Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone());
            if !generated {
                return Err(ApiError::already_exists(kind, obj.name()));
            }
        }
        Err(ApiError::already_exists(kind, obj.name()))
    }

    /// PUT: replaces an object's spec and metadata. The status of kinds with a status
    /// subresource is kept. A non-empty resourceVersion must be current (409 otherwise).
    pub fn update(&mut self, obj: Object) -> Result<Arc<Object>, ApiError> {
        self.write_existing(obj, false)
    }

    /// PUT on `/status`: replaces only the status.
    pub fn update_status(&mut self, obj: Object) -> Result<Arc<Object>, ApiError> {
        self.write_existing(obj, true)
    }

    /// Typed convenience for [`ApiServer::update`].
    pub fn update_as<T: KindOf>(&mut self, obj: T) -> Result<Arc<Object>, ApiError> {
        self.update(obj.into_object())
    }

    /// Typed convenience for [`ApiServer::update_status`].
    pub fn update_status_as<T: KindOf>(&mut self, obj: T) -> Result<Arc<Object>, ApiError> {
        self.update_status(obj.into_object())
    }

    fn write_existing(&mut self, mut obj: Object, status_only: bool) -> Result<Arc<Object>, ApiError> {
        self.reachable()?;
        let kind = obj.kind();
        if kind.namespaced() && obj.meta().namespace.as_deref().is_none_or(str::is_empty) {
            obj.meta_mut().namespace = Some("default".into());
        }
        let key = obj.etcd_key();
        let current = self.get_at_key(kind, &key, obj.name())?;
        let requested_rv = obj.resource_version();
        if requested_rv != 0 && requested_rv != current.resource_version() {
            return Err(ApiError::conflict(kind, obj.name()));
        }
        let mut next = if status_only {
            with_status_from(&current, obj)
        } else {
            let mut next = obj;
            keep_status(&mut next, &current);
            defaults::apply(&mut next);
            let errors = validation::validate(&next);
            if !errors.is_empty() {
                return Err(ApiError::Invalid(validation::invalid_message(kind, next.name(), &errors)));
            }
            if let (Object::Service(new), Object::Service(old)) = (&mut next, &*current) {
                self.update_service_allocations(new, old)?;
            }
            next
        };
        {
            // The server's fields come from the stored object (copied only where the client
            // sent something else: usually it sent them back unchanged).
            let (cur, meta) = (current.meta(), next.meta_mut());
            if meta.uid != cur.uid {
                meta.uid = cur.uid.clone();
            }
            meta.creation_timestamp = cur.creation_timestamp.clone();
            meta.deletion_timestamp = cur.deletion_timestamp.clone();
            meta.deletion_grace_period_seconds = cur.deletion_grace_period_seconds;
            meta.generation = cur.generation;
            if meta.resource_version != cur.resource_version {
                meta.resource_version = cur.resource_version.clone();
            }
        }
        if spec_changed(&current, &next) {
            next.meta_mut().generation = Some(current.meta().generation.unwrap_or(0) + 1);
        }
        if !payload_differs(&next, &current) && next == *current {
            // An update that changes nothing is not written (no new revision, no event).
            return Ok(current);
        }
        // The last finalizer gone from an object being deleted with no grace period left: it
        // goes now (a pod still in its grace period waits for its kubelet).
        let finalized = next.meta().deletion_timestamp.is_some()
            && next.meta().finalizers.as_ref().is_none_or(Vec::is_empty)
            && next.meta().deletion_grace_period_seconds.is_none_or(|g| g == 0);
        if finalized {
            return self.remove(kind, &current);
        }
        self.put_over_key(kind, &key, current, next)
    }

    /// Writes `next` in place of `current`, guarded by `current`'s mod_revision (409 if it moved
    /// meanwhile), stamps the new resourceVersion and fans the change out.
    fn put_over(&mut self, kind: Kind, current: Arc<Object>, next: Object) -> Result<Arc<Object>, ApiError> {
        let key = next.etcd_key();
        self.put_over_key(kind, &key, current, next)
    }

    /// [`ApiServer::put_over`] at `key`, the etcd key of both objects.
    fn put_over_key(
        &mut self,
        kind: Kind,
        key: &str,
        current: Arc<Object>,
        mut next: Object,
    ) -> Result<Arc<Object>, ApiError> {
        next.meta_mut().resource_version = Some((self.store.revision() + 1).to_string());
        let value = Arc::new(next);
        let Some(revision) = self.store.compare_and_put(key, current.resource_version(), value.clone())
        else {
            return Err(ApiError::conflict(kind, value.name()));
        };
        self.commit(kind, Some(current), Some(value.clone()), revision);
        Ok(value)
    }

    /// DELETE. Pods bound to a node are deleted gracefully: `deletionTimestamp` is set to now +
    /// the grace period and the kubelet performs the final delete once containers stopped.
    /// Objects with finalizers stay until the finalizers are removed.
    pub fn delete(
        &mut self,
        kind: Kind,
        namespace: Option<&str>,
        name: &str,
        opts: DeleteOptions,
    ) -> Result<Arc<Object>, ApiError> {
        let mut current = self.get(kind, namespace, name)?;
        if let Some(uid) = &opts.uid {
            if current.uid() != uid {
                return Err(ApiError::Conflict {
                    resource: kind.resource().into(),
                    name: name.into(),
                    message: format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        current.uid()
                    ),
                });
            }
        }
        if current.meta().deletion_timestamp.is_none() {
            if let Some(with_gc_finalizers) = gc_finalizers(&current, opts.propagation) {
                current = Arc::new(with_gc_finalizers);
            }
        }
        let has_finalizers = current.meta().finalizers.as_ref().is_some_and(|f| !f.is_empty());
        let meta = current.meta();
        if let Some(ts) = meta.deletion_timestamp.as_ref() {
            // Already being deleted (rest.BeforeDelete): only a shorter grace period changes
            // anything; the deadline moves by the difference.
            match (meta.deletion_grace_period_seconds.filter(|g| *g > 0), opts.grace_period_seconds) {
                (Some(old), Some(new)) if new.max(0) < old => {
                    let new = new.max(0);
                    if new == 0 && !has_finalizers {
                        return self.remove(kind, &current);
                    }
                    let deadline = ts.0 - k8s_openapi::chrono::Duration::seconds(old - new);
                    return self.mark_deleted(kind, &current, Time(deadline), new, false);
                }
                (Some(_), _) => return Ok(current),
                (None, _) if has_finalizers => return Ok(current),
                (None, _) => return self.remove(kind, &current),
            }
        }
        match self.grace_period(&current, &opts) {
            Some(grace) if grace > 0 => {
                let deadline = self.epoch.time(self.now + SimDuration::from_secs(grace as u64));
                self.mark_deleted(kind, &current, deadline, grace, true)
            }
            _ if has_finalizers => {
                let now = self.epoch.time(self.now);
                self.mark_deleted(kind, &current, now, 0, true)
            }
            _ => self.remove(kind, &current),
        }
    }

    /// Writes `deletionTimestamp` and `deletionGracePeriodSeconds` (graceful deletion or
    /// pending finalizers); the first such write bumps `metadata.generation`.
    fn mark_deleted(
        &mut self,
        kind: Kind,
        current: &Arc<Object>,
        deadline: Time,
        grace: i64,
        bump_generation: bool,
    ) -> Result<Arc<Object>, ApiError> {
        let mut next = (**current).clone();
        let meta = next.meta_mut();
        meta.deletion_timestamp = Some(deadline);
        meta.deletion_grace_period_seconds = Some(grace);
        if bump_generation {
            if let Some(g) = meta.generation.filter(|g| *g > 0) {
                meta.generation = Some(g + 1);
            }
        }
        self.put_over(kind, current.clone(), next)
    }

    /// The grace period of a graceful delete, for kinds that have one (pods:
    /// `CheckGracefulDelete`: unscheduled or terminated pods go at once, a negative period
    /// becomes 1). `None` for kinds deleted at once.
    fn grace_period(&self, obj: &Object, opts: &DeleteOptions) -> Option<i64> {
        let pod = obj.as_type::<Pod>()?;
        if podutil::node_name(pod).is_none() || podutil::is_terminal(pod) {
            return Some(0);
        }
        let spec_grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
        let period = opts.grace_period_seconds.unwrap_or(spec_grace);
        Some(if period < 0 { 1 } else { period })
    }

    pub(super) fn remove(&mut self, kind: Kind, current: &Arc<Object>) -> Result<Arc<Object>, ApiError> {
        let key = current.etcd_key();
        let events = self.store.delete(KeyRange::Key(key));
        let Some(ev) = events.first() else {
            return Err(ApiError::not_found(kind, current.name()));
        };
        debug_assert_eq!(ev.kind, EventType::Delete);
        let revision = ev.revision;
        self.on_service_deleted(current);
        self.commit(kind, Some(current.clone()), None, revision);
        Ok(stamp(current, revision))
    }

    /// POST pods/binding: assigns a pod to a node (409 if it is already bound).
    pub fn bind(&mut self, namespace: &str, name: &str, node: &str) -> Result<Arc<Object>, ApiError> {
        let mut pod: Pod = self.get_as(Some(namespace), name)?;
        if pod.metadata.deletion_timestamp.is_some() {
            return Err(ApiError::Conflict {
                resource: "pods".into(),
                name: name.into(),
                message: "pod is being deleted, cannot be assigned to a host".into(),
            });
        }
        if let Some(existing) = podutil::node_name(&pod) {
            return Err(ApiError::Conflict {
                resource: "pods/binding".into(),
                name: name.into(),
                message: format!("pod {name} is already assigned to node {existing:?}"),
            });
        }
        pod.spec.get_or_insert_with(Default::default).node_name = Some(node.to_string());
        podutil::set_pod_condition(
            &mut pod,
            k8s_openapi::api::core::v1::PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(self.epoch.time(self.now)),
                ..Default::default()
            },
        );
        // Binding writes spec.nodeName and the PodScheduled condition in one write, as the
        // binding REST handler does (pkg/registry/core/pod/storage/storage.go assignPod).
        let current = self.get(Kind::Pod, Some(namespace), name)?;
        self.put_over(Kind::Pod, current, pod.into_object())
    }

    // ---------------------------------------------------------------- watch

    /// Opens a watch for `owner`. With [`WatchStart::After`], changes since that
    /// resourceVersion are replayed first (410 Gone if they were compacted away).
    pub fn watch(
        &mut self,
        owner: ComponentId,
        spec: WatchSpec,
        start: WatchStart,
    ) -> Result<WatchId, ApiError> {
        self.reachable()?;
        for r in &spec.fields.requirements {
            if !supports_field(spec.kind, &r.field) {
                return Err(ApiError::BadRequest(format!("field label not supported: {}", r.field)));
            }
        }
        let replay = match start {
            WatchStart::Now => Vec::new(),
            WatchStart::After(rv) => {
                let compacted = self.store.compacted_revision();
                if rv + 1 < compacted {
                    return Err(ApiError::Gone { requested: rv, compacted });
                }
                let prefix = KeyRange::Prefix(spec.kind.etcd_prefix_key(spec.namespace.as_deref()));
                self.store
                    .watch_history(&prefix, rv + 1)
                    .map_err(|_| ApiError::Gone { requested: rv, compacted })?
            }
        };
        let id = self.watchers.add(owner, spec);
        let spec = self.watchers.spec(id).expect("just added").clone();
        for ev in replay {
            let old = ev.prev.map(|kv| kv.value);
            let new = ev.kv.map(|kv| kv.value);
            let was = old.as_ref().is_some_and(|o| spec.matches(o));
            let is = new.as_ref().is_some_and(|n| spec.matches(n));
            let event = match (was, is) {
                (false, true) => Some((WatchEventType::Added, new.expect("matches"))),
                (true, true) => Some((WatchEventType::Modified, new.expect("matches"))),
                (true, false) => {
                    Some((WatchEventType::Deleted, stamp(old.as_ref().expect("matched"), ev.revision)))
                }
                _ => None,
            };
            if let Some((kind, object)) = event {
                self.deliveries.push((owner, WatchEvent { watch: id, kind, object }));
            }
        }
        Ok(id)
    }

    pub fn unwatch(&mut self, id: WatchId) {
        self.watchers.remove(id);
    }

    /// Drops every watch of a component (its process stopped).
    pub fn drop_watches(&mut self, owner: ComponentId) {
        self.watchers.remove_owner(owner);
    }

    /// One tick of the API server's compactor (every 5 minutes upstream): compacts etcd at the
    /// revision seen on the previous tick.
    pub fn compaction_tick(&mut self) {
        let target = self.compact_candidate;
        if target > self.store.compacted_revision() {
            self.store.compact(target).expect("target is an observed past revision");
        }
        self.compact_candidate = self.store.revision();
    }

    // ---------------------------------------------------------------- events

    /// A component process restarted: its event recorder starts with an empty correlation
    /// cache, so its next events are new Event objects rather than updates of old ones.
    pub fn forget_event_cache(&mut self, component: &str, host: Option<&str>) {
        let prefix = format!("{component}\u{0}{}\u{0}", host.unwrap_or(""));
        // Keys sort by their prefix: visit only this process's range (a retain over the whole
        // cache made starting 5,000 kubelets quadratic).
        let mine: Vec<String> = self
            .event_keys
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for key in mine {
            self.event_keys.remove(&key);
        }
    }

    /// Records a Kubernetes Event about `involved` (client-go's event recorder): creates an
    /// `Event` object named `<object>.<hex nanoseconds>` in the object's namespace. An event
    /// identical to an earlier one (same source, object, type, reason and message) updates that
    /// one instead: `count` goes up and `lastTimestamp` moves, as client-go's EventCorrelator
    /// (`eventLogger.eventObserve`, tools/record/events_cache.go) does, which is what
    /// `kubectl describe` shows as `(x3 over 2m)`.
    pub fn record_event(
        &mut self,
        involved: &Object,
        reporter: &Reporter<'_>,
        type_: &str,
        reason: &str,
        message: &str,
    ) -> Result<Arc<Object>, ApiError> {
        let namespace = involved.namespace().unwrap_or("default").to_string();
        let key = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{type_}\u{0}{reason}\u{0}{message}",
            reporter.component,
            reporter.host.unwrap_or(""),
            involved.kind().name(),
            namespace,
            involved.name(),
            involved.meta().uid.as_deref().unwrap_or(""),
            involved.kind().api_version(),
        );
        if let Some(existing) = self.event_keys.get(&key).cloned() {
            if let Ok(current) = self.get(Kind::Event, Some(&namespace), &existing) {
                if let Some(mut ev) = current.as_type::<K8sEvent>().cloned() {
                    ev.count = Some(ev.count.unwrap_or(1) + 1);
                    ev.last_timestamp = Some(self.epoch.time(self.now));
                    return self.put_over(Kind::Event, current, ev.into_object());
                }
            }
        }
        let nanos = self.epoch.at(self.now).timestamp_nanos_opt().unwrap_or(0);
        let mut n = nanos;
        let name = loop {
            let candidate = format!("{}.{:x}", involved.name(), n);
            if self.get(Kind::Event, Some(&namespace), &candidate).is_err() {
                break candidate;
            }
            n += 1;
        };
        let ts = self.epoch.time(self.now);
        let event = K8sEvent {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name),
                namespace: Some(namespace),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(involved.kind().api_version().into()),
                kind: Some(involved.kind().name().into()),
                name: Some(involved.name().into()),
                namespace: involved.namespace().map(Into::into),
                uid: involved.meta().uid.clone(),
                resource_version: involved.meta().resource_version.clone(),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(type_.into()),
            source: Some(EventSource {
                component: Some(reporter.component.into()),
                host: reporter.host.map(Into::into),
            }),
            first_timestamp: Some(ts.clone()),
            last_timestamp: Some(ts),
            count: Some(1),
            reporting_component: Some(reporter.component.into()),
            reporting_instance: Some(reporter.host.unwrap_or(reporter.component).into()),
            ..Default::default()
        };
        let created = self.create(event.into_object())?;
        // Upstream's cache is an LRU of 4096 entries per recorder; kubesim forgets them all at
        // once past a bound that large runs reach only with unique (never repeated) events.
        if self.event_keys.len() >= MAX_EVENT_KEYS {
            self.event_keys.clear();
        }
        self.event_keys.insert(key, created.name().to_string());
        Ok(created)
    }

    // ---------------------------------------------------------------- internals

    pub(super) fn commit(
        &mut self,
        kind: Kind,
        old: Option<Arc<Object>>,
        new: Option<Arc<Object>>,
        revision: Revision,
    ) {
        let deleted = match (&old, &new) {
            (Some(o), None) => Some(stamp(o, revision)),
            _ => None,
        };
        self.watchers.fan_out(kind, old.as_ref(), new.as_ref(), deleted.as_ref(), &mut self.deliveries);
        self.journal.push(Change { revision, kind, old, new });
    }

    fn random_suffix(&mut self) -> String {
        // k8s.io/apiserver/pkg/storage/names: 5 characters from an alphabet without vowels
        // (and without 0, 1, 3) so generated names never spell words.
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..5).map(|_| ALPHABET[self.rng.gen_range(0..ALPHABET.len())] as char).collect()
    }

    fn random_uid(&mut self, event: bool) -> String {
        let rng = if event { &mut self.event_rng } else { &mut self.rng };
        let mut b: [u8; 16] = rng.gen();
        b[6] = (b[6] & 0x0f) | 0x40; // version 4
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
                                     // 8-4-4-4-12 lowercase hex digits, written directly: every created object gets one, and
                                     // a format! per byte cost ~8,000 instructions a uid.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut uid = String::with_capacity(36);
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                uid.push('-');
            }
            uid.push(char::from(HEX[usize::from(x >> 4)]));
            uid.push(char::from(HEX[usize::from(x & 0x0f)]));
        }
        uid
    }

    /// Admission on create: NamespaceLifecycle, DefaultTolerationSeconds, Priority, the pod's
    /// initial status, Service IP allocation.
    fn admit_create(&mut self, obj: &mut Object) -> Result<(), ApiError> {
        if let Some(ns) = obj.namespace().map(str::to_string) {
            if self.get(Kind::Namespace, None, &ns).is_err() {
                return Err(ApiError::not_found(Kind::Namespace, &ns));
            }
        }
        match obj {
            Object::Pod(pod) => self.admit_pod(pod),
            Object::Service(svc) => self.allocate_service(svc),
            Object::Namespace(ns) => {
                ns.status.get_or_insert_with(Default::default).phase = Some("Active".into());
                ns.spec.get_or_insert_with(Default::default).finalizers = Some(vec!["kubernetes".into()]);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn admit_pod(&mut self, pod: &mut Pod) -> Result<(), ApiError> {
        let name = pod.metadata.name.clone().or(pod.metadata.generate_name.clone()).unwrap_or_default();
        // Priority admission: resolve priorityClassName (or the global default) to a number.
        let class = pod.spec.as_ref().and_then(|s| s.priority_class_name.clone());
        let resolved = match class.as_deref() {
            Some(c @ ("system-node-critical" | "system-cluster-critical")) => Some((
                c.to_string(),
                if c == "system-node-critical" { 2_000_001_000 } else { 2_000_000_000 },
                None,
            )),
            Some(c) => match self.get_as::<k8s_openapi::api::scheduling::v1::PriorityClass>(None, c) {
                Ok(pc) => Some((c.to_string(), pc.value, pc.preemption_policy)),
                Err(_) => {
                    return Err(ApiError::Forbidden(format!(
                        "pods {name:?} is forbidden: no PriorityClass with name {c} was found"
                    )))
                }
            },
            None => self
                .list_all(Kind::PriorityClass)
                .iter()
                .filter_map(|o| o.as_type::<k8s_openapi::api::scheduling::v1::PriorityClass>())
                .find(|pc| pc.global_default == Some(true))
                .map(|pc| {
                    (pc.metadata.name.clone().unwrap_or_default(), pc.value, pc.preemption_policy.clone())
                }),
        };
        let spec = pod.spec.get_or_insert_with(Default::default);
        match resolved {
            Some((class, value, policy)) => {
                spec.priority_class_name = Some(class);
                spec.priority = Some(value);
                spec.preemption_policy = Some(policy.unwrap_or_else(|| "PreemptLowerPriority".into()));
            }
            None => {
                spec.priority.get_or_insert(0);
                spec.preemption_policy.get_or_insert_with(|| "PreemptLowerPriority".into());
            }
        }
        spec.service_account_name.get_or_insert_with(|| "default".into());
        // DefaultTolerationSeconds (plugin/pkg/admission/defaulttolerationseconds): 300s
        // tolerations for not-ready and unreachable unless the pod already has them.
        let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
        for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
            let has = tolerations.iter().any(|t| {
                (t.key.as_deref() == Some(key)
                    || t.key.as_deref().is_none_or(str::is_empty) && t.operator.as_deref() == Some("Exists"))
                    && t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "NoExecute")
            });
            if !has {
                tolerations.push(Toleration {
                    key: Some(key.into()),
                    operator: Some("Exists".into()),
                    effect: Some("NoExecute".into()),
                    toleration_seconds: Some(self.default_toleration_seconds),
                    value: None,
                });
            }
        }
        let qos = qos_class(pod);
        let status = pod.status.get_or_insert_with(Default::default);
        status.phase.get_or_insert_with(|| "Pending".into());
        status.qos_class = Some(qos.into());
        Ok(())
    }

    pub(super) fn allocate_service(
        &mut self,
        svc: &mut k8s_openapi::api::core::v1::Service,
    ) -> Result<(), ApiError> {
        let Some(spec) = svc.spec.as_mut() else {
            return Ok(());
        };
        let ty = spec.type_.clone().unwrap_or_default();
        if ty == "ExternalName" {
            return Ok(());
        }
        match spec.cluster_ip.as_deref() {
            Some("None") => {}
            Some(ip) if !ip.is_empty() => {
                let parsed: std::net::Ipv4Addr = ip.parse().map_err(|_| {
                    ApiError::Invalid(format!("Service {:?} is invalid: spec.clusterIPs[0]: Invalid value: {ip:?}: must be a valid IP address", svc.metadata.name.clone().unwrap_or_default()))
                })?;
                let offset = u32::from(parsed).wrapping_sub(SERVICE_CIDR_BASE);
                if offset >= SERVICE_CIDR_SIZE || !self.cluster_ips.insert(offset) {
                    return Err(ApiError::Invalid(format!(
                        "Service {:?} is invalid: spec.clusterIPs: Invalid value: []string{{{ip:?}}}: failed to allocate IP {ip}: provided IP is already allocated or not in the valid range 10.96.0.0/12",
                        svc.metadata.name.clone().unwrap_or_default()
                    )));
                }
            }
            _ => {
                let offset = loop {
                    let candidate = self.rng.gen_range(SERVICE_STATIC_BAND..SERVICE_CIDR_SIZE - 1);
                    if self.cluster_ips.insert(candidate) {
                        break candidate;
                    }
                };
                let ip = std::net::Ipv4Addr::from(SERVICE_CIDR_BASE + offset).to_string();
                spec.cluster_ip = Some(ip.clone());
                spec.cluster_ips = Some(vec![ip]);
            }
        }
        if spec.cluster_ips.is_none() {
            spec.cluster_ips = spec.cluster_ip.clone().map(|ip| vec![ip]);
        }
        spec.ip_families.get_or_insert_with(|| vec!["IPv4".into()]);
        spec.ip_family_policy.get_or_insert_with(|| "SingleStack".into());
        self.allocate_node_ports(spec);
        Ok(())
    }

    /// NodePorts for every port of a NodePort or LoadBalancer Service that has none.
    fn allocate_node_ports(&mut self, spec: &mut k8s_openapi::api::core::v1::ServiceSpec) {
        let ty = spec.type_.clone().unwrap_or_default();
        if ty != "NodePort" && ty != "LoadBalancer" {
            return;
        }
        spec.external_traffic_policy.get_or_insert_with(|| "Cluster".into());
        for port in spec.ports.iter_mut().flatten() {
            match port.node_port {
                None => {
                    let np = loop {
                        let candidate = self.rng.gen_range(30000..=32767);
                        if self.node_ports.insert(candidate) {
                            break candidate;
                        }
                    };
                    port.node_port = Some(np);
                }
                Some(np) => {
                    self.node_ports.insert(np);
                }
            }
        }
    }

    /// An update keeps what was allocated (pkg/registry/core/service/storage/storage.go,
    /// `patchAllocatedValues`): a manifest applied again without `clusterIP` or `nodePort`
    /// keeps the Service's address and ports; changing the ClusterIP is refused (immutable).
    fn update_service_allocations(
        &mut self,
        new: &mut k8s_openapi::api::core::v1::Service,
        old: &k8s_openapi::api::core::v1::Service,
    ) -> Result<(), ApiError> {
        let (Some(spec), Some(old_spec)) = (new.spec.as_mut(), old.spec.as_ref()) else {
            return Ok(());
        };
        let uses_ip =
            |s: &k8s_openapi::api::core::v1::ServiceSpec| s.type_.as_deref() != Some("ExternalName");
        if uses_ip(spec) && uses_ip(old_spec) {
            if spec.cluster_ip.as_deref().is_none_or(str::is_empty) {
                spec.cluster_ip = old_spec.cluster_ip.clone();
            }
            if spec.cluster_ips.as_ref().is_none_or(Vec::is_empty) {
                spec.cluster_ips = old_spec.cluster_ips.clone();
            }
            if spec.cluster_ip != old_spec.cluster_ip {
                return Err(ApiError::Invalid(format!(
                    "Service {:?} is invalid: spec.clusterIPs[0]: Invalid value: {:?}: may not change once set",
                    new.metadata.name.clone().unwrap_or_default(),
                    spec.cluster_ip.clone().unwrap_or_default()
                )));
            }
            spec.ip_families.get_or_insert_with(|| vec!["IPv4".into()]);
            spec.ip_family_policy.get_or_insert_with(|| "SingleStack".into());
        }
        // A port that stays (same port number and protocol) keeps its NodePort.
        for port in spec.ports.iter_mut().flatten().filter(|p| p.node_port.is_none()) {
            let same =
                old_spec.ports.iter().flatten().find(|o| o.port == port.port && o.protocol == port.protocol);
            port.node_port = same.and_then(|o| o.node_port);
        }
        self.allocate_node_ports(spec);
        Ok(())
    }

    fn on_service_deleted(&mut self, obj: &Object) {
        let Some(spec) = obj.as_type::<k8s_openapi::api::core::v1::Service>().and_then(|s| s.spec.as_ref())
        else {
            return;
        };
        if let Some(ip) = spec.cluster_ip.as_deref().and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok()) {
            self.cluster_ips.remove(&u32::from(ip).wrapping_sub(SERVICE_CIDR_BASE));
        }
        for p in spec.ports.iter().flatten() {
            if let Some(np) = p.node_port {
                self.node_ports.remove(&np);
            }
        }
    }
}

/// A Job without `manualSelector: true` gets a selector on its UID and the matching labels on
/// its pod template (pkg/registry/batch/job/strategy.go `generateSelector`), and its own labels
/// from the template when it has none (SetDefaults_Job).
fn generate_job_selector(job: &mut k8s_openapi::api::batch::v1::Job) {
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    let Some(spec) = job.spec.as_mut() else { return };
    if spec.manual_selector == Some(true) {
        return;
    }
    let labels = spec
        .template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(Default::default);
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels.entry(k.to_string()).or_insert_with(|| v.clone());
    }
    let template_labels = labels.clone();
    spec.selector.get_or_insert_with(|| k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        match_labels: Some(BTreeMap::from([("batch.kubernetes.io/controller-uid".to_string(), uid.clone())])),
        ..Default::default()
    });
    if job.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
        job.metadata.labels = Some(template_labels);
    }
}

/// The pod's QoS class (pkg/apis/core/helper/qos): Guaranteed when every container sets cpu
/// and memory limits equal to its requests, BestEffort when none sets any, else Burstable.
pub fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = &pod.spec else {
        return "BestEffort";
    };
    let containers = spec.containers.iter().chain(spec.init_containers.iter().flatten());
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let res = c.resources.as_ref();
        let req = res.and_then(|r| r.requests.as_ref());
        let lim = res.and_then(|r| r.limits.as_ref());
        let relevant = |m: Option<
            &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
        >| { m.is_some_and(|m| m.keys().any(|k| k == "cpu" || k == "memory")) };
        any |= relevant(req) || relevant(lim);
        for r in ["cpu", "memory"] {
            let l = lim.and_then(|m| m.get(r));
            let q = req.and_then(|m| m.get(r));
            let same = match (l, q) {
                (Some(l), Some(q)) => {
                    crate::api::quantity::Quantity::parse(&l.0).ok().map(|x| x.milli_value())
                        == crate::api::quantity::Quantity::parse(&q.0).ok().map(|x| x.milli_value())
                }
                _ => false,
            };
            guaranteed &= same;
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Kinds with both `.spec` and a `/status` subresource (LimitRange has a spec only).
macro_rules! with_status_kinds {
    ($mac:ident) => {
        $mac!(
            Pod,
            Node,
            Namespace,
            Service,
            ReplicaSet,
            Deployment,
            DaemonSet,
            StatefulSet,
            Job,
            CronJob,
            PodDisruptionBudget,
            ResourceQuota
        )
    };
}

/// The object with the finalizers a delete's propagation policy asks for, if they change
/// (deletionFinalizersForGarbageCollection in apiserver/pkg/registry/generic/registry/store.go):
/// an explicit policy replaces any earlier `orphan` / `foregroundDeletion` finalizer; without
/// one, finalizers already there stand, else the resource's default applies.
fn gc_finalizers(obj: &Object, requested: Option<Propagation>) -> Option<Object> {
    let finalizers = obj.meta().finalizers.clone().unwrap_or_default();
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    let policy = match requested {
        Some(p) => p,
        None if has(FINALIZER_ORPHAN) => Propagation::Orphan,
        None if has(FINALIZER_FOREGROUND) => Propagation::Foreground,
        None => Propagation::default_for(obj.kind()),
    };
    let mut next: Vec<String> =
        finalizers.iter().filter(|f| *f != FINALIZER_ORPHAN && *f != FINALIZER_FOREGROUND).cloned().collect();
    match policy {
        Propagation::Orphan => next.push(FINALIZER_ORPHAN.into()),
        Propagation::Foreground => next.push(FINALIZER_FOREGROUND.into()),
        Propagation::Background => {}
    }
    if next == finalizers {
        return None;
    }
    let mut changed = obj.clone();
    changed.meta_mut().finalizers = (!next.is_empty()).then_some(next);
    Some(changed)
}

/// `current` with the status taken from `update` (a `/status` write). Every kind listed has
/// exactly `metadata`, `spec` and `status`: the update's status is moved, not copied, and the
/// stored object's status is not copied only to be replaced.
fn with_status_from(current: &Object, update: Object) -> Object {
    macro_rules! arms {
        ($($k:ident),*) => {
            match (current, update) {
                $((Object::$k(c), Object::$k(mut u)) => {
                    u.metadata = c.metadata.clone();
                    u.spec = c.spec.clone();
                    Object::$k(u)
                })*
                _ => current.clone(),
            }
        };
    }
    with_status_kinds!(arms)
}

/// Keeps the stored status on a main-resource write.
fn keep_status(next: &mut Object, current: &Object) {
    macro_rules! arms {
        ($($k:ident),*) => {
            match (next, current) {
                $((Object::$k(n), Object::$k(c)) => n.status = c.status.clone(),)*
                _ => {}
            }
        };
    }
    with_status_kinds!(arms)
}

fn has_spec(obj: &Object) -> bool {
    macro_rules! arms {
        ($($k:ident),*) => { matches!(obj, $(Object::$k(_))|* | Object::LimitRange(_)) };
    }
    with_status_kinds!(arms)
}

/// Whether the parts updates usually change (status, spec) differ: a cheap first test before
/// comparing whole objects, whose metadata is mostly long equal strings. Status first: a
/// status write's spec is the stored one, already compared by `spec_changed`.
fn payload_differs(a: &Object, b: &Object) -> bool {
    macro_rules! arms {
        ($($k:ident),*) => {
            match (a, b) {
                $((Object::$k(x), Object::$k(y)) => x.status != y.status || x.spec != y.spec,)*
                (Object::Lease(x), Object::Lease(y)) => x.spec != y.spec,
                _ => false,
            }
        };
    }
    with_status_kinds!(arms)
}

/// Whether `.spec` differs (bumps `metadata.generation`).
fn spec_changed(old: &Object, new: &Object) -> bool {
    macro_rules! arms {
        ($($k:ident),*) => {
            match (old, new) {
                $((Object::$k(o), Object::$k(n)) => o.spec != n.spec,)*
                (Object::LimitRange(o), Object::LimitRange(n)) => o.spec != n.spec,
                _ => false,
            }
        };
    }
    with_status_kinds!(arms)
}
