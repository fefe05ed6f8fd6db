//! Watch fan-out, indexed so that a write reaches only the watchers it can concern.
//!
//! kube-apiserver's watch cache keeps, per resource, the watchers and an index on the field
//! selectors clients use most (`spec.nodeName` for pods: every kubelet watches only its own
//! pods). kubesim does the same: a pod event is checked against the unindexed pod watchers plus
//! the watchers indexed under its old and new `spec.nodeName`, never against every kubelet.
//!
//! Like the watch cache, a watcher sees `ADDED` when an object starts matching its selectors,
//! `DELETED` when it stops matching (or is deleted), `MODIFIED` otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{FieldSelector, Kind, LabelSelector, Object};
use crate::sim::engine::ComponentId;

/// Identifies one watch stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(pub u64);

/// `ADDED`, `MODIFIED` or `DELETED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

/// One event on a watch stream.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    pub watch: WatchId,
    pub kind: WatchEventType,
    /// The object after the change (for DELETED: its last state that matched the watch, with the
    /// resourceVersion of the deletion or of the change that made it stop matching).
    pub object: Arc<Object>,
}

/// What a watcher asked for.
#[derive(Clone, Debug)]
pub struct WatchSpec {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl WatchSpec {
    pub fn all(kind: Kind) -> Self {
        WatchSpec {
            kind,
            namespace: None,
            labels: LabelSelector::everything(),
            fields: FieldSelector::everything(),
        }
    }
    pub fn with_fields(kind: Kind, fields: &str) -> Self {
        let fields = FieldSelector::parse(fields).expect("component field selectors are well-formed");
        WatchSpec { fields, ..WatchSpec::all(kind) }
    }

    pub fn matches(&self, obj: &Object) -> bool {
        if let Some(ns) = &self.namespace {
            if obj.namespace() != Some(ns.as_str()) {
                return false;
            }
        }
        self.labels.matches(obj.labels()) && self.fields.matches(|f| super::fields::field_value(obj, f))
    }

    /// The `spec.nodeName` this watcher is indexed under, for pod watchers that select one.
    fn node_index(&self) -> Option<&str> {
        (self.kind == Kind::Pod).then(|| self.fields.equality_value("spec.nodeName")).flatten()
    }
}

struct Watcher {
    owner: ComponentId,
    spec: WatchSpec,
}

#[derive(Default)]
struct KindIndex {
    unindexed: Vec<WatchId>,
    by_node: BTreeMap<String, Vec<WatchId>>,
}

/// A copy of `obj` with its resourceVersion set to `revision` (what DELETED events carry).
pub fn stamp(obj: &Arc<Object>, revision: i64) -> Arc<Object> {
    let mut o = (**obj).clone();
    o.meta_mut().resource_version = Some(revision.to_string());
    Arc::new(o)
}

/// The registry of open watches.
#[derive(Default)]
pub struct Watchers {
    next: u64,
    watchers: BTreeMap<WatchId, Watcher>,
    index: BTreeMap<Kind, KindIndex>,
}

impl Watchers {
    pub fn add(&mut self, owner: ComponentId, spec: WatchSpec) -> WatchId {
        self.next += 1;
        let id = WatchId(self.next);
        let idx = self.index.entry(spec.kind).or_default();
        match spec.node_index() {
            Some(node) => idx.by_node.entry(node.to_string()).or_default().push(id),
            None => idx.unindexed.push(id),
        }
        self.watchers.insert(id, Watcher { owner, spec });
        id
    }

    pub fn remove(&mut self, id: WatchId) {
        if let Some(w) = self.watchers.remove(&id) {
            let idx = self.index.get_mut(&w.spec.kind).expect("indexed on add");
            idx.unindexed.retain(|x| *x != id);
            for list in idx.by_node.values_mut() {
                list.retain(|x| *x != id);
            }
        }
    }

    /// Removes every watch a component holds (its process died).
    pub fn remove_owner(&mut self, owner: ComponentId) {
        let ids: Vec<WatchId> =
            self.watchers.iter().filter(|(_, w)| w.owner == owner).map(|(id, _)| *id).collect();
        for id in ids {
            self.remove(id);
        }
    }

    pub fn spec(&self, id: WatchId) -> Option<&WatchSpec> {
        self.watchers.get(&id).map(|w| &w.spec)
    }

    pub fn len(&self) -> usize {
        self.watchers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    /// The events one change produces, as `(watcher component, event)` in watch-id order.
    /// `old`/`new` are the object before and after (`new == None` for a deletion, in which case
    /// `deleted` is the last state stamped with the deletion's resourceVersion).
    pub fn fan_out(
        &self,
        kind: Kind,
        old: Option<&Arc<Object>>,
        new: Option<&Arc<Object>>,
        deleted: Option<&Arc<Object>>,
        out: &mut Vec<(ComponentId, WatchEvent)>,
    ) {
        let Some(idx) = self.index.get(&kind) else {
            return;
        };
        fn node_of(o: Option<&Arc<Object>>) -> Option<&str> {
            o.and_then(|o| o.as_type::<k8s_openapi::api::core::v1::Pod>())
                .and_then(crate::api::pod::node_name)
        }
        let indexed = |node: Option<&str>| -> &[WatchId] {
            node.and_then(|n| idx.by_node.get(n)).map_or(&[], Vec::as_slice)
        };
        let (old_node, new_node) = (node_of(old), node_of(new));
        let (at_old, at_new) =
            (indexed(old_node), if new_node == old_node { &[] } else { indexed(new_node) });
        // Most writes concern no node-indexed watcher: the unindexed list is already in id
        // order and is walked as it is.
        let merged: Vec<WatchId>;
        let candidates: &[WatchId] = if at_old.is_empty() && at_new.is_empty() {
            &idx.unindexed
        } else {
            let mut all = [idx.unindexed.as_slice(), at_old, at_new].concat();
            all.sort_unstable();
            all.dedup();
            merged = all;
            &merged
        };
        for &id in candidates {
            let w = &self.watchers[&id];
            let was = old.is_some_and(|o| w.spec.matches(o));
            let is = new.is_some_and(|n| w.spec.matches(n));
            let event = match (was, is, new) {
                (false, true, Some(n)) => Some((WatchEventType::Added, n.clone())),
                (true, true, Some(n)) => Some((WatchEventType::Modified, n.clone())),
                // Stopped matching: the previous state, at the new resourceVersion
                // (cacheWatcher.convertToWatchEvent).
                (true, false, Some(n)) => {
                    old.map(|o| (WatchEventType::Deleted, stamp(o, n.resource_version())))
                }
                (true, false, None) => deleted.map(|d| (WatchEventType::Deleted, d.clone())),
                _ => None,
            };
            if let Some((kind, object)) = event {
                out.push((w.owner, WatchEvent { watch: id, kind, object }));
            }
        }
    }
}
