//! The garbage collector (pkg/controller/garbagecollector): deletes objects whose owners are
//! gone and carries out cascading deletion.
//!
//! It keeps a graph of `metadata.ownerReferences` built from watches of every kind, and:
//! - deletes a dependent once none of its owners exists any more (the owner's absence is
//!   confirmed with a live read, as upstream's `attemptToDeleteItem` does, so a dependent seen
//!   before its owner is never collected by mistake); owners that are gone are removed from a
//!   dependent that still has a live owner;
//! - **background** deletion: the owner is gone at once and its dependents follow;
//! - **foreground** deletion: the owner waits (finalizer `foregroundDeletion`) while its
//!   dependents are deleted, and goes when no dependent with `blockOwnerDeletion: true` is left;
//!   dependents that have dependents of their own are deleted in the foreground too;
//! - **orphan** deletion: the owner waits (finalizer `orphan`) until the ownerReferences to it
//!   are removed from its dependents, which live on.
//!
//! Simplifications: Events are not in the graph, and Leases (one write per node every 10s) are
//! not watched: when a Node goes, the collector lists Leases at that moment to find the ones it
//! owned — the outcome upstream reaches through its graph. Owner references are matched by UID
//! within the dependent's namespace (or cluster-wide); the "virtual node" bookkeeping upstream
//! uses for owners it has not observed yet is replaced by the live read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::workqueue::{ControllerQueue, ObjectKey};
use crate::api::{Kind, Object};
use crate::apiserver::{
    DeleteOptions, Propagation, WatchEventType, WatchSpec, FINALIZER_FOREGROUND, FINALIZER_ORPHAN,
};
use crate::client::Informer;
use crate::sim::{Component, Context, Event, Timer};

/// Kinds the collector does not keep in its graph (see the module docs).
const UNWATCHED: [Kind; 2] = [Kind::Event, Kind::Lease];

/// Work item: a dependent whose owners may be gone (`attemptToDelete`).
const ATTEMPT_DELETE: &str = "delete";
/// Work item: an owner being deleted with the `orphan` or `foregroundDeletion` finalizer.
const PROCESS_OWNER: &str = "owner";

/// Where an object is, by UID.
#[derive(Clone, Debug)]
struct Identity {
    kind: Kind,
    namespace: Option<String>,
    name: String,
}

/// The controller component.
#[derive(Default)]
pub struct GarbageCollector {
    informers: BTreeMap<Kind, Informer>,
    /// Every object in the graph, by UID.
    objects: BTreeMap<String, Identity>,
    /// Each object's owner references, by UID.
    owners: BTreeMap<String, Vec<OwnerReference>>,
    /// owner UID → dependent UIDs.
    dependents: BTreeMap<String, BTreeSet<String>>,
    queue: ControllerQueue,
}

fn item(action: &str, uid: &str) -> ObjectKey {
    (action.to_string(), uid.to_string())
}

fn has_finalizer(obj: &Object, finalizer: &str) -> bool {
    obj.meta().finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == finalizer))
}

/// Being deleted in the foreground: waiting for its dependents.
fn deleting_dependents(obj: &Object) -> bool {
    obj.meta().deletion_timestamp.is_some() && has_finalizer(obj, FINALIZER_FOREGROUND)
}

/// Removes the matching ownerReferences (an empty list is dropped, as the API omits it).
fn drop_owner_refs(obj: &mut Object, remove: impl Fn(&OwnerReference) -> bool) {
    let meta = obj.meta_mut();
    if let Some(refs) = meta.owner_references.as_mut() {
        refs.retain(|r| !remove(r));
        if refs.is_empty() {
            meta.owner_references = None;
        }
    }
}

impl GarbageCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The object now, read through the cache of its kind.
    fn current(&self, uid: &str) -> Option<Arc<Object>> {
        let id = self.objects.get(uid)?;
        let obj = self.informers.get(&id.kind)?.get(id.namespace.as_deref().unwrap_or(""), &id.name)?;
        (obj.uid() == uid).then(|| obj.clone())
    }

    /// Keeps the graph in step with one observed change (GraphBuilder.processGraphChanges).
    fn observe(&mut self, kind: WatchEventType, obj: &Arc<Object>) {
        let uid = obj.uid().to_string();
        let old_refs = self.owners.remove(&uid).unwrap_or_default();
        for r in &old_refs {
            if let Some(d) = self.dependents.get_mut(&r.uid) {
                d.remove(&uid);
                if d.is_empty() {
                    self.dependents.remove(&r.uid);
                }
            }
        }
        if kind == WatchEventType::Deleted {
            self.objects.remove(&uid);
            // Dependents of a vanished owner may now be garbage.
            for d in self.dependents.get(&uid).into_iter().flatten() {
                self.queue.add(item(ATTEMPT_DELETE, d));
            }
            // An owner waiting for its dependents may be done now.
            for r in &old_refs {
                if self.current(&r.uid).is_some_and(|o| deleting_dependents(&o)) {
                    self.queue.add(item(PROCESS_OWNER, &r.uid));
                }
            }
            return;
        }
        self.objects.insert(
            uid.clone(),
            Identity {
                kind: obj.kind(),
                namespace: obj.namespace().map(str::to_string),
                name: obj.name().into(),
            },
        );
        let refs = obj.meta().owner_references.clone().unwrap_or_default();
        for r in &refs {
            self.dependents.entry(r.uid.clone()).or_default().insert(uid.clone());
        }
        // A dependent whose owner is unknown, gone, or being deleted in the foreground.
        let suspicious = refs.iter().any(|r| self.current(&r.uid).is_none_or(|o| deleting_dependents(&o)));
        // References removed from a dependent can unblock an owner waiting for it.
        for r in old_refs.iter().filter(|r| !refs.iter().any(|n| n.uid == r.uid)) {
            if self.current(&r.uid).is_some_and(|o| deleting_dependents(&o)) {
                self.queue.add(item(PROCESS_OWNER, &r.uid));
            }
        }
        self.owners.insert(uid.clone(), refs);
        if suspicious {
            self.queue.add(item(ATTEMPT_DELETE, &uid));
        }
        if obj.meta().deletion_timestamp.is_some()
            && (has_finalizer(obj, FINALIZER_ORPHAN) || has_finalizer(obj, FINALIZER_FOREGROUND))
        {
            self.queue.add(item(PROCESS_OWNER, &uid));
        }
    }

    /// Whether the owner a reference names exists with that UID: the graph first, then a live
    /// read (the graph may not have heard of a new owner yet).
    fn owner_exists(&self, ctx: &mut Context<'_>, namespace: Option<&str>, r: &OwnerReference) -> bool {
        if self.current(&r.uid).is_some() {
            return true;
        }
        // A kind kubesim does not model (a custom resource): never treat it as gone
        // (upstream cannot resolve it either and retries instead of deleting).
        let Some(kind) = Kind::from_manifest(&r.api_version, &r.kind) else { return true };
        let ns = if kind.namespaced() { namespace } else { None };
        ctx.api.get(kind, ns, &r.name).is_ok_and(|o| o.uid() == r.uid)
    }

    /// attemptToDeleteItem: classify the owners as solid, dangling or waiting for dependents'
    /// deletion, then delete the item or drop its dangling references.
    fn attempt_to_delete(&mut self, ctx: &mut Context<'_>, uid: &str) -> Result<(), ()> {
        let Some(obj) = self.current(uid) else { return Ok(()) };
        if obj.meta().deletion_timestamp.is_some() && !deleting_dependents(&obj) {
            return Ok(());
        }
        if deleting_dependents(&obj) {
            self.queue.add(item(PROCESS_OWNER, uid));
            return Ok(());
        }
        let refs = obj.meta().owner_references.clone().unwrap_or_default();
        if refs.is_empty() {
            return Ok(());
        }
        let (mut solid, mut dangling, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
        for r in &refs {
            if !self.owner_exists(ctx, obj.namespace(), r) {
                dangling.push(r.uid.clone());
            } else if self.current(&r.uid).is_some_and(|o| deleting_dependents(&o)) {
                waiting.push(r.uid.clone());
            } else {
                solid.push(r.uid.clone());
            }
        }
        if !solid.is_empty() {
            if dangling.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            // Still owned: drop the references to owners that are gone and to owners waiting
            // for their dependents, or those would wait for this object forever.
            let mut next = (*obj).clone();
            drop_owner_refs(&mut next, |r| dangling.contains(&r.uid) || waiting.contains(&r.uid));
            return ctx.api.update(next).map(|_| ()).map_err(|_| ());
        }
        // No live owner: delete. Foreground when an owner waits for us and we have dependents
        // of our own; else what our own finalizers ask for; else background.
        let policy = if !waiting.is_empty() && self.dependents.get(uid).is_some_and(|d| !d.is_empty()) {
            Propagation::Foreground
        } else if has_finalizer(&obj, FINALIZER_ORPHAN) {
            Propagation::Orphan
        } else if has_finalizer(&obj, FINALIZER_FOREGROUND) {
            Propagation::Foreground
        } else {
            Propagation::Background
        };
        let opts =
            DeleteOptions { uid: Some(uid.to_string()), propagation: Some(policy), ..Default::default() };
        match ctx.api.delete(obj.kind(), obj.namespace(), obj.name(), opts) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(_) => Err(()),
        }
    }

    /// An owner being deleted with a GC finalizer: orphan its dependents
    /// (orphanDependents) or wait for them (processDeletingDependentsItem), then remove the
    /// finalizer.
    fn process_owner(&mut self, ctx: &mut Context<'_>, uid: &str) -> Result<(), ()> {
        let Some(obj) = self.current(uid) else { return Ok(()) };
        if obj.meta().deletion_timestamp.is_none() {
            return Ok(());
        }
        let dependents: Vec<String> = self.dependents.get(uid).into_iter().flatten().cloned().collect();
        let finalizer = if has_finalizer(&obj, FINALIZER_ORPHAN) {
            for d in &dependents {
                let Some(dep) = self.current(d) else { continue };
                let mut next = (*dep).clone();
                drop_owner_refs(&mut next, |r| r.uid == uid);
                match ctx.api.update(next) {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(_) => return Err(()),
                }
            }
            FINALIZER_ORPHAN
        } else if has_finalizer(&obj, FINALIZER_FOREGROUND) {
            let blocking: Vec<&String> = dependents
                .iter()
                .filter(|d| {
                    self.owners.get(*d).is_some_and(|refs| {
                        refs.iter().any(|r| r.uid == uid && r.block_owner_deletion == Some(true))
                    })
                })
                .collect();
            if !blocking.is_empty() {
                // Every dependent is deleted now (processTransitions queues them all); the owner
                // waits for the blocking ones only.
                for d in &dependents {
                    if self.current(d).is_some_and(|o| !deleting_dependents(&o)) {
                        self.queue.add(item(ATTEMPT_DELETE, d));
                    }
                }
                return Ok(());
            }
            FINALIZER_FOREGROUND
        } else {
            return Ok(());
        };
        let mut next = (*obj).clone();
        let meta = next.meta_mut();
        if let Some(f) = meta.finalizers.as_mut() {
            f.retain(|x| x != finalizer);
        }
        match ctx.api.update(next) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(_) => Err(()),
        }
    }

    /// Leases are not in the graph: when a Node goes, delete the Leases it owned.
    fn collect_node_leases(&mut self, ctx: &mut Context<'_>, node: &Object) {
        for lease in ctx.api.list_all(Kind::Lease) {
            let owned = lease.meta().owner_references.iter().flatten().any(|r| r.uid == node.uid());
            if owned {
                let opts = DeleteOptions { uid: Some(lease.uid().to_string()), ..Default::default() };
                let _ = ctx.api.delete(Kind::Lease, lease.namespace(), lease.name(), opts);
            }
        }
    }
}

impl Component for GarbageCollector {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                for &kind in Kind::ALL.iter().filter(|k| !UNWATCHED.contains(k)) {
                    if let Ok(inf) = Informer::start(ctx, WatchSpec::all(kind)) {
                        self.informers.insert(kind, inf);
                    }
                }
                let all: Vec<Arc<Object>> = self.informers.values().flat_map(|i| i.iter().cloned()).collect();
                for obj in &all {
                    self.observe(WatchEventType::Added, obj);
                }
            }
            Event::Watch(ev) => {
                let kind = ev.object.kind();
                let Some(inf) = self.informers.get_mut(&kind).filter(|i| i.owns(&ev)) else { return };
                inf.apply(&ev);
                self.observe(ev.kind, &ev.object);
                if kind == Kind::Node && ev.kind == WatchEventType::Deleted {
                    self.collect_node_leases(ctx, &ev.object);
                }
            }
            Event::Timer(Timer::Reconcile) => {
                for key in self.queue.due(ctx.now()) {
                    let done = match key.0.as_str() {
                        ATTEMPT_DELETE => self.attempt_to_delete(ctx, &key.1),
                        _ => self.process_owner(ctx, &key.1),
                    };
                    match done {
                        Ok(()) => self.queue.forget(&key),
                        Err(()) => self.queue.add_rate_limited(key, ctx.now()),
                    }
                }
            }
            _ => {}
        }
        self.queue.arm(ctx);
    }
}
