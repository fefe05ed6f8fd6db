//! An informer: a component's own cache of the objects it watches, filled by a list and kept
//! current by watch events (client-go's SharedIndexInformer without the sharing). Reads are
//! from the cache, so a component acts on what it has *heard*, which may lag the API server by
//! the watch latency — as real controllers do.

use std::collections::BTreeMap;
use std::sync::Arc;

use compact_str::CompactString;

use crate::api::{KindOf, Object};
use crate::apiserver::{ApiError, WatchEvent, WatchEventType, WatchId, WatchSpec, WatchStart};
use crate::sim::{Context, LookupMap};

/// A cache of one kind, keyed by `(namespace, name)`.
///
/// The objects sit in a slab. Reads and replacements of a known object go through a hash
/// table (namespace, then name: two probes, no string built); the ordered index, which walks
/// need, is touched only when an object appears or goes. A Lease renewal in a 5,000-node
/// cluster is then one probe, not a descent through 5,000 ordered names.
#[derive(Default)]
pub struct Informer {
    watch: Option<WatchId>,
    /// The objects; `None` in a slot freed by a delete and not yet reused.
    slots: Vec<Option<Arc<Object>>>,
    free: Vec<u32>,
    /// namespace → name → slot (cluster-scoped objects under ""). Names up to 24 bytes sit
    /// inline in the table, so the name a probe compares is next to its slot.
    by_key: LookupMap<CompactString, LookupMap<CompactString, u32>>,
    /// The same, in (namespace, name) order, for walks.
    ordered: BTreeMap<String, BTreeMap<String, u32>>,
    len: usize,
}

impl Informer {
    /// Lists the matching objects and watches from the list's resourceVersion.
    pub fn start(ctx: &mut Context<'_>, spec: WatchSpec) -> Result<Informer, ApiError> {
        let list = ctx.api.list(spec.kind, spec.namespace.as_deref(), &spec.labels, &spec.fields)?;
        let me = ctx.me();
        let watch = ctx.api.watch(me, spec, WatchStart::After(list.revision))?;
        let mut inf = Informer { watch: Some(watch), ..Informer::default() };
        for o in list.items {
            inf.insert(o);
        }
        Ok(inf)
    }

    /// Whether a watch event belongs to this informer.
    pub fn owns(&self, ev: &WatchEvent) -> bool {
        self.watch == Some(ev.watch)
    }

    fn slot_of(&self, namespace: &str, name: &str) -> Option<u32> {
        self.by_key.get(namespace)?.get(name).copied()
    }

    fn insert(&mut self, obj: Arc<Object>) -> Option<Arc<Object>> {
        let ns = obj.namespace().unwrap_or("");
        if let Some(i) = self.slot_of(ns, obj.name()) {
            return self.slots[i as usize].replace(obj);
        }
        let (ns, name) = (ns.to_string(), obj.name().to_string());
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(obj);
                i
            }
            None => {
                self.slots.push(Some(obj));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 cached objects")
            }
        };
        self.by_key
            .get_or_insert_with(ns.as_str(), || (CompactString::from(ns.as_str()), LookupMap::new()))
            .insert(CompactString::from(name.as_str()), i);
        self.ordered.entry(ns).or_default().insert(name, i);
        self.len += 1;
        None
    }

    fn remove(&mut self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        let names = self.by_key.get_mut(namespace)?;
        let i = names.remove(name)?;
        if names.is_empty() {
            self.by_key.remove(namespace);
        }
        let ordered = self.ordered.get_mut(namespace).expect("both indexes hold every key");
        ordered.remove(name);
        if ordered.is_empty() {
            self.ordered.remove(namespace);
        }
        self.free.push(i);
        self.len -= 1;
        self.slots[i as usize].take()
    }

    /// Applies a watch event; returns the previous state of the object.
    pub fn apply(&mut self, ev: &WatchEvent) -> Option<Arc<Object>> {
        match ev.kind {
            WatchEventType::Added | WatchEventType::Modified => self.insert(ev.object.clone()),
            WatchEventType::Deleted => self.remove(ev.object.namespace().unwrap_or(""), ev.object.name()),
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<Object>> {
        self.slots[self.slot_of(namespace, name)? as usize].as_ref()
    }

    pub fn get_as<T: KindOf>(&self, namespace: &str, name: &str) -> Option<&T> {
        self.get(namespace, name).and_then(|o| o.as_type::<T>())
    }

    /// Objects in (namespace, name) order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Object>> {
        self.ordered.values().flat_map(|m| m.values()).map(|i| self.occupied(*i))
    }

    fn occupied(&self, slot: u32) -> &Arc<Object> {
        self.slots[slot as usize].as_ref().expect("indexed slots hold objects")
    }

    /// Typed objects in (namespace, name) order.
    pub fn iter_as<T: KindOf + 'static>(&self) -> impl Iterator<Item = &T> + '_ {
        self.iter().filter_map(|o| o.as_type::<T>())
    }

    /// Objects of one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.ordered.get(namespace).into_iter().flat_map(|m| m.values()).map(|i| self.occupied(*i))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stops the watch and forgets everything (the process stopped).
    pub fn stop(&mut self, ctx: &mut Context<'_>) {
        if let Some(id) = self.watch.take() {
            ctx.api.unwatch(id);
        }
        *self = Informer::default();
    }
}
