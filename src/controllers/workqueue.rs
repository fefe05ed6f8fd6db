//! A deduplicating FIFO of object keys (client-go's workqueue without rate limiting): a key
//! added while already queued is not queued twice.

use std::collections::{BTreeSet, VecDeque};

/// `(namespace, name)`.
pub type ObjectKey = (String, String);

#[derive(Default)]
pub struct WorkQueue {
    order: VecDeque<ObjectKey>,
    queued: BTreeSet<ObjectKey>,
}

impl WorkQueue {
    pub fn add(&mut self, key: ObjectKey) {
        if self.queued.insert(key.clone()) {
            self.order.push_back(key);
        }
    }
    pub fn pop(&mut self) -> Option<ObjectKey> {
        let key = self.order.pop_front()?;
        self.queued.remove(&key);
        Some(key)
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    pub fn len(&self) -> usize {
        self.order.len()
    }
}
