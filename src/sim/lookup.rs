//! A hash table for point lookups only.
//!
//! Ordered maps keyed by names (`BTreeMap<String, _>`) are what the simulator uses wherever
//! order can show. But a lookup in one with thousands of keys compares the probe with a dozen
//! or more keys, each a separate heap string, and in a 5,000-node cluster those strings are
//! rarely in cache: finding a node's record by name was a large share of an idle cluster's
//! time. [`LookupMap`] answers "the value for this key" with one hash and one comparison.
//!
//! It can be probed, filled and emptied, but not iterated, so its (hash) order can never reach
//! the output; its hasher (FxHash) has no random state besides. Keep an ordered index next to
//! it where something must walk the keys.

use std::borrow::Borrow;
use std::hash::Hash;

#[allow(clippy::disallowed_types)]
type Table<K, V> = rustc_hash::FxHashMap<K, V>;

/// A map that can be probed but not iterated. See the module documentation.
#[derive(Clone, Debug)]
pub struct LookupMap<K, V>(Table<K, V>);

impl<K, V> Default for LookupMap<K, V> {
    fn default() -> Self {
        LookupMap(Table::default())
    }
}

impl<K: Hash + Eq, V: PartialEq> PartialEq for LookupMap<K, V> {
    /// Same keys with equal values (independent of any order).
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K: Hash + Eq, V: Eq> Eq for LookupMap<K, V> {}

impl<K: Hash + Eq, V> LookupMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.0.get(key)
    }

    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.0.get_mut(key)
    }

    pub fn contains_key<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.0.contains_key(key)
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.0.insert(key, value)
    }

    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.0.remove(key)
    }

    /// The value for `key`, inserted from `make` if absent. The owned key is built only then,
    /// so probing with a `&str` allocates nothing for a key already present.
    pub fn get_or_insert_with<Q: Hash + Eq + ?Sized>(
        &mut self,
        key: &Q,
        make: impl FnOnce() -> (K, V),
    ) -> &mut V
    where
        K: Borrow<Q>,
    {
        if !self.0.contains_key(key) {
            let (k, v) = make();
            self.0.insert(k, v);
        }
        self.0.get_mut(key).expect("just ensured")
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_by_borrowed_key_and_compares_regardless_of_insertion_order() {
        let mut a: LookupMap<String, i32> = LookupMap::new();
        assert!(a.insert("x".into(), 1).is_none());
        assert_eq!(a.insert("x".into(), 2), Some(1));
        *a.get_or_insert_with("y", || ("y".into(), 0)) += 5;
        assert_eq!(a.get("y"), Some(&5));
        assert_eq!(a.len(), 2);
        let mut b = LookupMap::new();
        b.insert("y".to_string(), 5);
        b.insert("x".to_string(), 2);
        assert_eq!(a, b);
        assert_eq!(a.remove("x"), Some(2));
        assert!(!a.contains_key("x"));
        assert_ne!(a, b);
    }
}
