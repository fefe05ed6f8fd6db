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
    objects: BTreeMap<(String, String), Arc<Object>>,
}

impl Informer {
    /// Lists the matching objects and watches from the list's resourceVersion.
    pub fn start(ctx: &mut Context<'_>, spec: WatchSpec) -> Result<Informer, ApiError> {
        let list = ctx.api.list(spec.kind, spec.namespace.as_deref(), &spec.labels, &spec.fields)?;
        let me = ctx.me();
        let watch = ctx.api.watch(me, spec, WatchStart::After(list.revision))?;
        let objects = list.items.into_iter().map(|o| (key(&o), o)).collect();
        Ok(Informer { watch: Some(watch), objects })
    }

    /// Whether a watch event belongs to this informer.
    pub fn owns(&self, ev: &WatchEvent) -> bool {
        self.watch == Some(ev.watch)
    }

    /// Applies a watch event; returns the previous state of the object.
    pub fn apply(&mut self, ev: &WatchEvent) -> Option<Arc<Object>> {
        let k = key(&ev.object);
        match ev.kind {
            WatchEventType::Added | WatchEventType::Modified => self.objects.insert(k, ev.object.clone()),
            WatchEventType::Deleted => self.objects.remove(&k),
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<Object>> {
        self.objects.get(&(namespace.to_string(), name.to_string()))
    }

    pub fn get_as<T: KindOf>(&self, namespace: &str, name: &str) -> Option<&T> {
        self.get(namespace, name).and_then(|o| o.as_type::<T>())
    }

    /// Objects in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Object>> {
        self.objects.values()
    }

    /// Typed objects in key order.
    pub fn iter_as<T: KindOf + 'static>(&self) -> impl Iterator<Item = &T> + '_ {
        self.objects.values().filter_map(|o| o.as_type::<T>())
    }

    /// Objects of one namespace, in name order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        let start = (namespace.to_string(), String::new());
        self.objects.range(start..).take_while(move |((ns, _), _)| ns == namespace).map(|(_, o)| o)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Stops the watch and forgets everything (the process stopped).
    pub fn stop(&mut self, ctx: &mut Context<'_>) {
        if let Some(id) = self.watch.take() {
            ctx.api.unwatch(id);
        }
        self.objects.clear();
    }
}

fn key(o: &Object) -> (String, String) {
    (o.namespace().unwrap_or("").to_string(), o.name().to_string())
}
