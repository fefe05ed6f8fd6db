//! An in-memory model of etcd v3's MVCC key-value store (etcd server/storage/mvcc).
//!
//! What it reproduces:
//! - one cluster-wide revision; a fresh store is at revision 1, so the first write is 2; every
//!   write transaction adds exactly one revision (all its operations share it); a delete that
//!   removes nothing and a transaction with no writes do not bump it;
//! - per key `create_revision`, `mod_revision`, `version` (1 on create, +1 per put); a delete
//!   writes a tombstone and a later put starts a new generation;
//! - range reads of a key, a half-open `[key, end)` or a prefix, at the current or a past
//!   revision, with etcd's "future revision" and "compacted" errors;
//! - transactions comparing `mod_revision` (what the kube-apiserver uses for optimistic
//!   concurrency);
//! - watch from a revision: every event with revision ≥ the start, in order, or the compact
//!   revision when the start is below it;
//! - compaction, which drops superseded versions, tombstones and watch history below the
//!   compacted revision so memory stays bounded.
//!
//! Simplifications: no leases/TTLs, no physical persistence, no byte-level size limits. Values
//! are `Arc`s shared between revisions, never deep-copied.

use std::collections::{BTreeSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

/// A revision number (etcd uses int64).
pub type Revision = i64;

/// One key's value at some revision, as etcd's `mvccpb.KeyValue`.
#[derive(Debug, PartialEq)]
pub struct KeyValue<V> {
    pub key: Arc<str>,
    pub create_revision: Revision,
    pub mod_revision: Revision,
    pub version: i64,
    pub value: Arc<V>,
}

impl<V> Clone for KeyValue<V> {
    fn clone(&self) -> Self {
        KeyValue {
            key: self.key.clone(),
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
            value: self.value.clone(),
        }
    }
}

/// What a write did to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Put,
    Delete,
}

/// A change to one key, as delivered by watch (etcd's `mvccpb.Event` with `prev_kv`).
#[derive(Debug, PartialEq)]
pub struct WatchEvent<V> {
    pub kind: EventType,
    pub key: Arc<str>,
    /// The revision of the write.
    pub revision: Revision,
    /// The new value (None for a delete).
    pub kv: Option<KeyValue<V>>,
    /// The value before the write, if the key existed.
    pub prev: Option<KeyValue<V>>,
}

impl<V> Clone for WatchEvent<V> {
    fn clone(&self) -> Self {
        WatchEvent {
            kind: self.kind,
            key: self.key.clone(),
            revision: self.revision,
            kv: self.kv.clone(),
            prev: self.prev.clone(),
        }
    }
}

/// Errors etcd returns for reads and watches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRevision,
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted { compact_revision: Revision },
}

/// Which keys a range covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRange {
    /// Exactly one key.
    Key(String),
    /// Every key starting with the prefix.
    Prefix(String),
    /// `[start, end)` in byte order.
    Range(String, String),
}

impl KeyRange {
    fn contains(&self, key: &str) -> bool {
        match self {
            KeyRange::Key(k) => key == k,
            KeyRange::Prefix(p) => key.starts_with(p.as_str()),
            KeyRange::Range(s, e) => key >= s.as_str() && key < e.as_str(),
        }
    }
    fn start(&self) -> &str {
        match self {
            KeyRange::Key(k) | KeyRange::Prefix(k) | KeyRange::Range(k, _) => k,
        }
    }
}

/// A transaction guard: `mod_revision(key) == revision` (0 means "does not exist").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub mod_revision: Revision,
}

/// A write inside a transaction.
#[derive(Debug)]
pub enum Op<V> {
    Put(String, Arc<V>),
    Delete(KeyRange),
}

/// What a transaction did.
#[derive(Debug)]
pub struct TxnResult<V> {
    pub succeeded: bool,
    /// The store revision after the transaction.
    pub revision: Revision,
    /// One event per key written, in operation order.
    pub events: Vec<WatchEvent<V>>,
}

/// One version of a key. `value == None` is a tombstone.
#[derive(Debug)]
struct Version<V> {
    create_revision: Revision,
    mod_revision: Revision,
    version: i64,
    value: Option<Arc<V>>,
}

/// Every key's versions (oldest first), found two ways: by exact key in a hash table (etcd keys
/// share long prefixes like `/registry/leases/kube-node-lease/`, so ordering them byte by byte
/// on every write is what an idle cluster spent its time on), and in byte order for range reads.
///
/// The hash table is only probed, never iterated where order could show: `version_count` sums
/// and `retain` filters each key's versions independently. Range reads and watch history go
/// through `ordered`. Its hasher is FxHash, which has no random state, so even its order would
/// repeat from run to run.
#[derive(Debug)]
struct KeyIndex<V> {
    by_key: VersionsByKey<V>,
    /// Every key with at least one version, in byte order.
    ordered: BTreeSet<Arc<str>>,
}

#[allow(clippy::disallowed_types)]
type VersionsByKey<V> = rustc_hash::FxHashMap<Arc<str>, KeyEntry<V>>;

/// A key's versions, with the key itself: one probe finds both (a write needs the shared key
/// for its event).
#[derive(Debug)]
struct KeyEntry<V> {
    key: Arc<str>,
    versions: Vec<Version<V>>,
}

impl<V> Default for KeyIndex<V> {
    fn default() -> Self {
        KeyIndex { by_key: VersionsByKey::default(), ordered: BTreeSet::new() }
    }
}

impl<V> KeyIndex<V> {
    fn get(&self, key: &str) -> Option<(&Arc<str>, &Vec<Version<V>>)> {
        self.by_key.get(key).map(|e| (&e.key, &e.versions))
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut KeyEntry<V>> {
        self.by_key.get_mut(key)
    }

    /// The entry of `key`, created empty if the key is new.
    fn entry(&mut self, key: &str) -> &mut KeyEntry<V> {
        if !self.by_key.contains_key(key) {
            let k: Arc<str> = Arc::from(key);
            self.ordered.insert(k.clone());
            self.by_key.insert(k.clone(), KeyEntry { key: k, versions: Vec::new() });
        }
        self.by_key.get_mut(key).expect("just ensured")
    }

    /// Keys from `start` on, in byte order, with their versions.
    fn from(&self, start: &str) -> impl Iterator<Item = (&Arc<str>, &Vec<Version<V>>)> + '_ {
        self.ordered
            .range::<str, _>((Bound::Included(start), Bound::Unbounded))
            .map(|k| self.get(k).expect("ordered keys are indexed"))
    }

    fn version_count(&self) -> usize {
        self.by_key.values().map(|e| e.versions.len()).sum()
    }

    /// Applies `f` to every key's versions and forgets keys left with none.
    fn retain(&mut self, mut f: impl FnMut(&mut Vec<Version<V>>)) {
        let ordered = &mut self.ordered;
        self.by_key.retain(|k, e| {
            f(&mut e.versions);
            if e.versions.is_empty() {
                ordered.remove(k);
            }
            !e.versions.is_empty()
        });
    }
}

/// The MVCC store.
#[derive(Debug)]
pub struct Store<V> {
    revision: Revision,
    compacted: Revision,
    keys: KeyIndex<V>,
    /// Watch history: every event with revision > `compacted` - 1, oldest first.
    history: VecDeque<WatchEvent<V>>,
    /// Number of live (non-deleted) keys.
    live_keys: usize,
}

impl<V> Default for Store<V> {
    fn default() -> Self {
        Store { revision: 1, compacted: 0, keys: KeyIndex::default(), history: VecDeque::new(), live_keys: 0 }
    }
}

impl<V> Store<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current revision (1 for a fresh store).
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// The last compacted revision (0 if never compacted).
    pub fn compacted_revision(&self) -> Revision {
        self.compacted
    }

    /// Number of keys that currently exist.
    pub fn len(&self) -> usize {
        self.live_keys
    }

    pub fn is_empty(&self) -> bool {
        self.live_keys == 0
    }

    /// Number of stored versions (live, superseded and tombstones) plus history entries: what
    /// compaction bounds.
    pub fn retained_entries(&self) -> usize {
        self.keys.version_count() + self.history.len()
    }

    fn check_read_revision(&self, at: Revision) -> Result<Revision, StoreError> {
        if at <= 0 {
            return Ok(self.revision);
        }
        if at > self.revision {
            return Err(StoreError::FutureRevision);
        }
        if at < self.compacted {
            return Err(StoreError::Compacted { compact_revision: self.compacted });
        }
        Ok(at)
    }

    fn visible(versions: &[Version<V>], at: Revision) -> Option<&Version<V>> {
        let idx = versions.partition_point(|v| v.mod_revision <= at);
        versions[..idx].last().filter(|v| v.value.is_some())
    }

    fn to_kv(key: &Arc<str>, v: &Version<V>) -> KeyValue<V> {
        KeyValue {
            key: key.clone(),
            create_revision: v.create_revision,
            mod_revision: v.mod_revision,
            version: v.version,
            value: v.value.clone().expect("only live versions are converted"),
        }
    }

    /// Current value of one key.
    pub fn get(&self, key: &str) -> Option<KeyValue<V>> {
        let (k, versions) = self.keys.get(key)?;
        let last = versions.last().filter(|v| v.value.is_some())?;
        Some(Self::to_kv(k, last))
    }

    /// Current value of one key, borrowed (no key or value handle is cloned: the API server's
    /// reads take just the value).
    pub fn current_value(&self, key: &str) -> Option<&Arc<V>> {
        let (_, versions) = self.keys.get(key)?;
        versions.last()?.value.as_ref()
    }

    /// `mod_revision` of a key now, 0 if absent.
    pub fn mod_revision(&self, key: &str) -> Revision {
        let live = self.keys.get(key).and_then(|(_, versions)| versions.last().filter(|v| v.value.is_some()));
        live.map_or(0, |v| v.mod_revision)
    }

    /// Reads a range at revision `at` (0 = current). Keys come in byte order.
    pub fn range(&self, range: &KeyRange, at: Revision) -> Result<Vec<KeyValue<V>>, StoreError> {
        let at = self.check_read_revision(at)?;
        let mut out = Vec::new();
        if let KeyRange::Key(k) = range {
            if let Some((key, versions)) = self.keys.get(k) {
                if let Some(v) = Self::visible(versions, at) {
                    out.push(Self::to_kv(key, v));
                }
            }
            return Ok(out);
        }
        for (key, versions) in self.keys.from(range.start()) {
            if !range.contains(key) {
                break;
            }
            if let Some(v) = Self::visible(versions, at) {
                out.push(Self::to_kv(key, v));
            }
        }
        Ok(out)
    }

    /// Puts one key; returns the event.
    pub fn put(&mut self, key: &str, value: Arc<V>) -> WatchEvent<V> {
        let mut r = self.txn(&[], vec![Op::Put(key.to_string(), value)], vec![]);
        r.events.pop().expect("a put always writes")
    }

    /// Deletes a range; returns one event per deleted key (none: revision unchanged).
    pub fn delete(&mut self, range: KeyRange) -> Vec<WatchEvent<V>> {
        self.txn(&[], vec![Op::Delete(range)], vec![]).events
    }

    /// etcd's `Txn`: if every compare holds, apply `success`, else `failure`, atomically under
    /// one new revision (no revision is used when nothing is written).
    pub fn txn(&mut self, compares: &[Compare], success: Vec<Op<V>>, failure: Vec<Op<V>>) -> TxnResult<V> {
        let succeeded = compares.iter().all(|c| self.mod_revision(&c.key) == c.mod_revision);
        let ops = if succeeded { success } else { failure };
        let rev = self.revision + 1;
        let mut events = Vec::new();
        for op in ops {
            match op {
                Op::Put(key, value) => events.push(self.apply_put(&key, value, rev)),
                Op::Delete(range) => {
                    let victims: Vec<Arc<str>> = match &range {
                        KeyRange::Key(k) => self.get(k).map(|kv| kv.key).into_iter().collect(),
                        _ => self.range(&range, 0).unwrap_or_default().into_iter().map(|kv| kv.key).collect(),
                    };
                    for key in victims {
                        events.push(self.apply_delete(key, rev));
                    }
                }
            }
        }
        if !events.is_empty() {
            self.revision = rev;
            self.history.extend(events.iter().cloned());
        }
        TxnResult { succeeded, revision: self.revision, events }
    }

    /// The kube-apiserver's guarded update of one key (`GuaranteedUpdate`: a txn that puts
    /// `value` if `mod_revision(key)` is still `mod_revision`), without building the general
    /// transaction's operation and event lists. Returns the new revision, or `None` (nothing
    /// written) if the key moved.
    pub fn compare_and_put(&mut self, key: &str, mod_revision: Revision, value: Arc<V>) -> Option<Revision> {
        let rev = self.revision + 1;
        // One probe for an existing key: compare and write in the same entry.
        let event = match self.keys.get_mut(key) {
            Some(entry) => {
                let live = entry.versions.last().filter(|v| v.value.is_some());
                if live.map_or(0, |v| v.mod_revision) != mod_revision {
                    return None;
                }
                let (event, created) = Self::put_version(entry, value, rev);
                self.live_keys += usize::from(created);
                event
            }
            None if mod_revision == 0 => self.apply_put(key, value, rev),
            None => return None,
        };
        self.revision = rev;
        self.history.push_back(event);
        Some(rev)
    }

    fn apply_put(&mut self, key: &str, value: Arc<V>, rev: Revision) -> WatchEvent<V> {
        let (event, created) = Self::put_version(self.keys.entry(key), value, rev);
        self.live_keys += usize::from(created);
        event
    }

    /// Writes a new version of the entry's key at `rev`; returns the event and whether the key
    /// came (back) into existence.
    fn put_version(entry: &mut KeyEntry<V>, value: Arc<V>, rev: Revision) -> (WatchEvent<V>, bool) {
        let (key, versions) = (&entry.key, &mut entry.versions);
        let prev = versions.last().filter(|v| v.value.is_some()).map(|v| Self::to_kv(key, v));
        let (create_revision, version) = match &prev {
            Some(p) => (p.create_revision, p.version + 1),
            None => (rev, 1),
        };
        // Two puts of one key in one txn: etcd rejects that ("duplicate key given in txn
        // request"); here the later one replaces the earlier version of this revision.
        if versions.last().is_some_and(|v| v.mod_revision == rev) {
            versions.pop();
        }
        versions.push(Version { create_revision, mod_revision: rev, version, value: Some(value.clone()) });
        let kv = KeyValue { key: key.clone(), create_revision, mod_revision: rev, version, value };
        let created = prev.is_none();
        (WatchEvent { kind: EventType::Put, key: key.clone(), revision: rev, kv: Some(kv), prev }, created)
    }

    fn apply_delete(&mut self, key: Arc<str>, rev: Revision) -> WatchEvent<V> {
        let versions = &mut self.keys.get_mut(&key).expect("victims exist").versions;
        let prev = versions.last().map(|v| Self::to_kv(&key, v));
        versions.push(Version { create_revision: 0, mod_revision: rev, version: 0, value: None });
        self.live_keys -= 1;
        WatchEvent { kind: EventType::Delete, key, revision: rev, kv: None, prev }
    }

    /// Events in `range` with revision ≥ `from`, oldest first (etcd watch with
    /// `start_revision`). `from` ≤ 0 means "from now": nothing in the past.
    pub fn watch_history(&self, range: &KeyRange, from: Revision) -> Result<Vec<WatchEvent<V>>, StoreError> {
        if from <= 0 || from > self.revision {
            return Ok(Vec::new());
        }
        if from < self.compacted {
            return Err(StoreError::Compacted { compact_revision: self.compacted });
        }
        let start = self.history.partition_point(|e| e.revision < from);
        Ok(self.history.range(start..).filter(|e| range.contains(&e.key)).cloned().collect())
    }

    /// Compacts at `rev`: reads and watches below it fail afterwards. Keeps, per key, the
    /// newest version at or below `rev` unless it is a tombstone.
    pub fn compact(&mut self, rev: Revision) -> Result<(), StoreError> {
        if rev > self.revision {
            return Err(StoreError::FutureRevision);
        }
        if rev <= self.compacted {
            return Err(StoreError::Compacted { compact_revision: self.compacted });
        }
        self.compacted = rev;
        self.keys.retain(|versions| {
            let keep_from = versions.partition_point(|v| v.mod_revision <= rev);
            // Index of the newest version at or below `rev`.
            let newest_old = keep_from.checked_sub(1);
            let drop_until = match newest_old {
                Some(i) if versions[i].value.is_some() => i,
                Some(i) => i + 1,
                None => 0,
            };
            versions.drain(..drop_until);
        });
        while self.history.front().is_some_and(|e| e.revision < rev) {
            self.history.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(s: &mut Store<String>, k: &str, v: &str) -> Revision {
        s.put(k, Arc::new(v.to_string())).revision
    }

    #[test]
    fn first_write_is_revision_two() {
        let mut s = Store::new();
        assert_eq!(s.revision(), 1);
        assert_eq!(put(&mut s, "/a", "1"), 2);
        assert_eq!(put(&mut s, "/a", "2"), 3);
        let kv = s.get("/a").unwrap();
        assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));
    }

    #[test]
    fn tombstones_and_generations() {
        let mut s = Store::new();
        put(&mut s, "/a", "1");
        let ev = s.delete(KeyRange::Key("/a".into()));
        assert_eq!(ev.len(), 1);
        assert_eq!(s.revision(), 3);
        assert!(s.get("/a").is_none());
        // Deleting nothing does not bump the revision.
        assert!(s.delete(KeyRange::Key("/a".into())).is_empty());
        assert_eq!(s.revision(), 3);
        put(&mut s, "/a", "again");
        let kv = s.get("/a").unwrap();
        assert_eq!((kv.create_revision, kv.version), (4, 1));
        // Reading in the past sees the first generation.
        let old = s.range(&KeyRange::Key("/a".into()), 2).unwrap();
        assert_eq!(*old[0].value, "1");
        assert!(s.range(&KeyRange::Key("/a".into()), 3).unwrap().is_empty());
    }

    #[test]
    fn ranges_prefixes_and_errors() {
        let mut s = Store::new();
        for k in [
            "/registry/pods/default/b",
            "/registry/pods/default/a",
            "/registry/pods/kube-system/c",
            "/registry/minions/n1",
        ] {
            put(&mut s, k, k);
        }
        let keys: Vec<String> = s
            .range(&KeyRange::Prefix("/registry/pods/".into()), 0)
            .unwrap()
            .iter()
            .map(|kv| kv.key.to_string())
            .collect();
        assert_eq!(
            keys,
            ["/registry/pods/default/a", "/registry/pods/default/b", "/registry/pods/kube-system/c"]
        );
        let half_open = s
            .range(&KeyRange::Range("/registry/pods/default/a".into(), "/registry/pods/default/b".into()), 0)
            .unwrap();
        assert_eq!(half_open.len(), 1);
        assert_eq!(s.range(&KeyRange::Key("/x".into()), 99), Err(StoreError::FutureRevision));
        s.compact(4).unwrap();
        assert_eq!(
            s.range(&KeyRange::Key("/x".into()), 3),
            Err(StoreError::Compacted { compact_revision: 4 })
        );
        assert!(s.range(&KeyRange::Key("/x".into()), 4).is_ok(), "reading at the compacted revision works");
    }

    #[test]
    fn txn_compares_mod_revision() {
        let mut s: Store<String> = Store::new();
        let create = |s: &mut Store<String>, v: &str| {
            s.txn(
                &[Compare { key: "/k".into(), mod_revision: 0 }],
                vec![Op::Put("/k".into(), Arc::new(v.into()))],
                vec![],
            )
        };
        assert!(create(&mut s, "a").succeeded);
        let r = create(&mut s, "b");
        assert!(!r.succeeded);
        assert_eq!(r.revision, 2, "a failed txn with no writes does not bump the revision");
        let ok = s.txn(
            &[Compare { key: "/k".into(), mod_revision: 2 }],
            vec![Op::Put("/k".into(), Arc::new("c".into()))],
            vec![],
        );
        assert!(ok.succeeded);
        assert_eq!(ok.revision, 3);
    }

    #[test]
    fn compare_and_put_is_the_one_key_txn() {
        let mut s: Store<String> = Store::new();
        assert_eq!(s.compare_and_put("/k", 0, Arc::new("a".into())), Some(2), "0: must not exist");
        assert_eq!(s.compare_and_put("/k", 0, Arc::new("b".into())), None);
        assert_eq!(s.compare_and_put("/k", 1, Arc::new("b".into())), None, "stale mod_revision");
        assert_eq!(s.revision(), 2, "a failed compare writes nothing");
        assert_eq!(s.compare_and_put("/k", 2, Arc::new("c".into())), Some(3));
        let kv = s.get("/k").expect("written");
        assert_eq!((kv.create_revision, kv.mod_revision, kv.version, kv.value.as_str()), (2, 3, 2, "c"));
        let history = s.watch_history(&KeyRange::Key("/k".into()), 2).expect("not compacted");
        let revs: Vec<Revision> = history.iter().map(|e| e.revision).collect();
        assert_eq!(revs, [2, 3]);
        assert_eq!(history[1].prev.as_ref().map(|p| p.value.as_str()), Some("a"));
    }

    #[test]
    fn watch_from_revision_and_compaction() {
        let mut s = Store::new();
        put(&mut s, "/a", "1"); // 2
        put(&mut s, "/b", "1"); // 3
        put(&mut s, "/a", "2"); // 4
        s.delete(KeyRange::Key("/b".into())); // 5
        let evs = s.watch_history(&KeyRange::Prefix("/".into()), 3).unwrap();
        let revs: Vec<_> = evs.iter().map(|e| (e.revision, e.kind)).collect();
        assert_eq!(revs, [(3, EventType::Put), (4, EventType::Put), (5, EventType::Delete)]);
        assert_eq!(evs[1].prev.as_ref().unwrap().mod_revision, 2);
        s.compact(4).unwrap();
        assert_eq!(
            s.watch_history(&KeyRange::Prefix("/".into()), 3),
            Err(StoreError::Compacted { compact_revision: 4 })
        );
        assert_eq!(s.watch_history(&KeyRange::Prefix("/".into()), 4).unwrap().len(), 2);
        // The deleted key's tombstone is gone once compacted past it.
        s.compact(5).unwrap();
        assert_eq!(s.retained_entries(), 1 + 1, "one live version of /a and one history event at rev 5");
    }
}
