//! An informer: a component's own cache of the objects it watches, filled by a list and kept
//! current by watch events (client-go's SharedIndexInformer without the sharing). Reads are
//! from the cache, so a component acts on what it has *heard*, which may lag the API server by
//! the watch latency — as real controllers do.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{KindOf, Object};
use crate::apiserver::{ApiError, WatchEvent, WatchEventType, WatchId, WatchSpec, WatchStart};
use crate::sim::Context;

/// A cache of one kind, keyed by `(namespace, name)`.
#[derive(Default)]
pub struct Informer {
    watch: Option<WatchId>,
    /// namespace → name → object (cluster-scoped objects under ""). Two levels so lookups
    /// borrow `&str` keys instead of allocating a `(String, String)` per call.
    objects: BTreeMap<String, BTreeMap<String, Arc<Object>>>,
    len: usize,
}

impl Informer {
    /// Lists the matching objects and watches from the list's resourceVersion.
    pub fn start(ctx: &mut Context<'_>, spec: WatchSpec) -> Result<Informer, ApiError> {
        let list = ctx.api.list(spec.kind, spec.namespace.as_deref(), &spec.labels, &spec.fields)?;
        let me = ctx.me();
        let watch = ctx.api.watch(me, spec, WatchStart::After(list.revision))?;
        let mut inf = Informer { watch: Some(watch), objects: BTreeMap::new(), len: 0 };
        for o in list.items {
            inf.insert(o);
        }
        Ok(inf)
    }

    /// Whether a watch event belongs to this informer.
    pub fn owns(&self, ev: &WatchEvent) -> bool {
        self.watch == Some(ev.watch)
    }

    fn insert(&mut self, obj: Arc<Object>) -> Option<Arc<Object>> {
        let ns = obj.namespace().unwrap_or("");
        if let Some(slot) = self.objects.get_mut(ns).and_then(|m| m.get_mut(obj.name())) {
            return Some(std::mem::replace(slot, obj));
        }
        let (ns, name) = (ns.to_string(), obj.name().to_string());
        self.len += 1;
        self.objects.entry(ns).or_default().insert(name, obj)
    }

    fn remove(&mut self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        let m = self.objects.get_mut(namespace)?;
        let old = m.remove(name)?;
        if m.is_empty() {
            self.objects.remove(namespace);
        }
        self.len -= 1;
        Some(old)
    }

    /// Applies a watch event; returns the previous state of the object.
    pub fn apply(&mut self, ev: &WatchEvent) -> Option<Arc<Object>> {
        match ev.kind {
            WatchEventType::Added | WatchEventType::Modified => self.insert(ev.object.clone()),
            WatchEventType::Deleted => self.remove(ev.object.namespace().unwrap_or(""), ev.object.name()),
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<Object>> {
        self.objects.get(namespace)?.get(name)
    }

    pub fn get_as<T: KindOf>(&self, namespace: &str, name: &str) -> Option<&T> {
        self.get(namespace, name).and_then(|o| o.as_type::<T>())
    }

    /// Objects in (namespace, name) order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Object>> {
        self.objects.values().flat_map(|m| m.values())
    }

    /// Typed objects in (namespace, name) order.
    pub fn iter_as<T: KindOf + 'static>(&self) -> impl Iterator<Item = &T> + '_ {
        self.iter().filter_map(|o| o.as_type::<T>())
    }

    /// Objects of one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.objects.get(namespace).into_iter().flat_map(|m| m.values())
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
        self.objects.clear();
        self.len = 0;
    }
}
