//! `etcdctl snapshot save` and `etcdutl snapshot restore`: backing up etcd and rolling the
//! cluster back to the backup, the procedure of the Kubernetes docs' "Operating etcd clusters
//! for Kubernetes" (Backing up / Restoring an etcd cluster).
//!
//! A snapshot is every key under `/registry/` at one revision. Restoring replaces the keyspace
//! with the snapshot's. Upstream, the API servers are stopped, etcd starts from the restored
//! data dir (with `--bump-revision --mark-compacted`, so the revision moves forward and every
//! watch must relist), and the API servers start again; every client then relists and sees the
//! difference between what it had and the restored state. kubesim performs that difference as
//! writes at a new revision, which is what each informer's relist delivers to its handlers:
//! objects created since the snapshot are deleted, objects deleted since are created again,
//! changed objects go back to their saved version.
//!
//! Simplified: the restore is instant (no API-server downtime), and restored objects carry the
//! restore's revision as their resourceVersion rather than the saved one.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::server::ApiServer;
use crate::api::Object;
use crate::store::{KeyRange, Revision};

/// The keyspace at one revision, as a snapshot file holds it.
#[derive(Clone, Debug)]
pub struct EtcdSnapshot {
    pub revision: Revision,
    /// Key → value, in key order.
    pub entries: BTreeMap<String, Arc<Object>>,
}

/// What a restore did, for the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The revision the snapshot was taken at.
    pub snapshot_revision: Revision,
    /// Keys created since the snapshot, now gone.
    pub deleted: usize,
    /// Keys deleted since the snapshot, back again.
    pub recreated: usize,
    /// Keys changed since the snapshot, back to their saved value.
    pub reverted: usize,
}

const REGISTRY: &str = "/registry/";

impl ApiServer {
    /// `etcdctl snapshot save PATH`: keeps the keyspace as it is now under `path` (a file on
    /// the control-plane node; saving to the same path again overwrites it). Returns the
    /// snapshot's revision and number of keys.
    pub fn snapshot_save(&mut self, path: &str) -> (Revision, usize) {
        let revision = self.store.revision();
        let entries = self.keyspace();
        let keys = entries.len();
        self.snapshots.insert(path.to_string(), EtcdSnapshot { revision, entries });
        (revision, keys)
    }

    /// Every key under `/registry/` now, with its value.
    fn keyspace(&self) -> BTreeMap<String, Arc<Object>> {
        self.store
            .range(&KeyRange::Prefix(REGISTRY.into()), 0)
            .expect("the current revision is readable")
            .into_iter()
            .map(|kv| (kv.key.to_string(), kv.value))
            .collect()
    }

    /// The snapshot saved at `path`, if any.
    pub fn snapshot(&self, path: &str) -> Option<&EtcdSnapshot> {
        self.snapshots.get(path)
    }

    /// `etcdutl snapshot restore PATH` and a restart of etcd on the restored data: the
    /// keyspace becomes the snapshot's. Every watcher receives the difference, as a relist
    /// would give it. `None` when no snapshot was saved at `path`.
    pub fn snapshot_restore(&mut self, path: &str) -> Option<RestoreSummary> {
        let snapshot = self.snapshots.get(path)?.clone();
        let current = self.keyspace();
        let mut summary =
            RestoreSummary { snapshot_revision: snapshot.revision, deleted: 0, recreated: 0, reverted: 0 };
        for (key, obj) in &current {
            if !snapshot.entries.contains_key(key) {
                self.remove(obj.kind(), obj).expect("the key exists");
                summary.deleted += 1;
            }
        }
        for (key, saved) in &snapshot.entries {
            let old = current.get(key);
            if old.is_some_and(|o| o.resource_version() == saved.resource_version()) {
                continue; // unchanged since the snapshot
            }
            if old.is_some() {
                summary.reverted += 1;
            } else {
                summary.recreated += 1;
            }
            let mut obj = (**saved).clone();
            obj.meta_mut().resource_version = Some((self.store.revision() + 1).to_string());
            let value = Arc::new(obj);
            let ev = self.store.put(key, value.clone());
            self.commit(value.kind(), old.cloned(), Some(value), ev.revision);
        }
        self.rebuild_service_allocations();
        Some(summary)
    }

    /// The ClusterIP and NodePort allocators follow the restored Services (upstream's
    /// allocators keep their bitmaps in etcd, so they roll back with it).
    fn rebuild_service_allocations(&mut self) {
        self.cluster_ips.clear();
        self.node_ports.clear();
        let services = self.list_all(crate::api::Kind::Service);
        for svc in services {
            if let Some(mut s) = svc.as_type::<k8s_openapi::api::core::v1::Service>().cloned() {
                // Every restored Service has its address and ports already: this only marks
                // them used.
                let _ = self.allocate_service(&mut s);
            }
        }
    }
}
