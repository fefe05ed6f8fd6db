//! The work queue every controller drains (client-go's `workqueue`), in virtual time.
//!
//! - [`WorkQueue`]: a deduplicating FIFO of object keys: a key added while already queued is not
//!   queued twice.
//! - [`ControllerQueue`]: what a controller built on client-go actually uses: the FIFO plus
//!   `AddAfter` (a key comes back at a later time, e.g. when a pod becomes available after
//!   `minReadySeconds`), `AddRateLimited` with the default controller rate limiter's per-item
//!   exponential back-off (5ms doubling up to 1000s, reset by `Forget`), and the one
//!   [`Timer::Reconcile`] the component arms for the earliest moment it has work.
//!
//! Simplification: upstream runs several workers per controller (5 for ReplicaSets); one pass
//! over the keys queued at a moment is equivalent in a single-threaded simulation. The default
//! rate limiter's overall token bucket (10 qps, burst 100) is not modelled.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::api::Object;
use crate::client::Informer;
use crate::sim::{Context, Event, SimDuration, SimTime, Timer};

/// `(namespace, name)`.
pub type ObjectKey = (String, String);

/// An object's key (cluster-scoped objects have namespace "").
pub fn key_of(obj: &Object) -> ObjectKey {
    (obj.namespace().unwrap_or("").to_string(), obj.name().to_string())
}

/// The FIFO part.
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

/// First retry delay of `ItemExponentialFailureRateLimiter` in `DefaultControllerRateLimiter`.
pub const RETRY_BASE: SimDuration = SimDuration::from_millis(5);
/// Longest retry delay of the same limiter.
pub const RETRY_MAX: SimDuration = SimDuration::from_secs(1000);

/// A controller's queue with delayed adds, per-key retry back-off and timer arming.
#[derive(Default)]
pub struct ControllerQueue {
    queue: WorkQueue,
    /// Keys to add again at a later time, soonest first.
    delayed: BTreeSet<(SimTime, ObjectKey)>,
    /// When the pending Reconcile timer fires, if one is pending.
    armed_at: Option<SimTime>,
    /// Failed syncs per key since its last success.
    failures: BTreeMap<ObjectKey, u32>,
}

impl ControllerQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a key now.
    pub fn add(&mut self, key: ObjectKey) {
        self.queue.add(key);
    }

    /// Queues every object an informer holds (a controller's first sync after its list).
    pub fn add_all(&mut self, informer: Option<&Informer>) {
        for obj in informer.into_iter().flat_map(|i| i.iter()) {
            self.queue.add(key_of(obj));
        }
    }

    /// Queues a key at `at` (at once if `at` is not in the future).
    pub fn add_at(&mut self, key: ObjectKey, at: SimTime) {
        self.delayed.insert((at, key));
    }

    /// Queues a key again after its failure back-off (5ms · 2^failures, at most 1000s).
    pub fn add_rate_limited(&mut self, key: ObjectKey, now: SimTime) {
        let failures = self.failures.entry(key.clone()).or_default();
        let delay =
            RETRY_BASE.as_millis().saturating_mul(1u64 << (*failures).min(40)).min(RETRY_MAX.as_millis());
        *failures += 1;
        self.add_at(key, now + SimDuration::from_millis(delay));
    }

    /// Forgets a key's failures (after a successful sync).
    pub fn forget(&mut self, key: &ObjectKey) {
        self.failures.remove(key);
    }

    /// How many times a key failed since it last succeeded.
    pub fn failures(&self, key: &ObjectKey) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }

    /// On the Reconcile timer: moves keys whose time has come into the FIFO and returns one
    /// pass of work (the keys queued now, in order; keys added while they are processed wait
    /// for the next pass).
    pub fn due(&mut self, now: SimTime) -> Vec<ObjectKey> {
        if self.armed_at.is_some_and(|t| t <= now) {
            self.armed_at = None;
        }
        while let Some(first) = self.delayed.first().filter(|(t, _)| *t <= now).cloned() {
            self.delayed.remove(&first);
            self.queue.add(first.1);
        }
        std::iter::from_fn(|| self.queue.pop()).collect()
    }

    /// Arms the Reconcile timer for the earliest moment with work, unless an earlier one is
    /// already pending. Call at the end of every `handle`.
    pub fn arm(&mut self, ctx: &mut Context<'_>) {
        let now = ctx.now();
        let wake =
            if self.queue.is_empty() { self.delayed.first().map(|(t, _)| (*t).max(now)) } else { Some(now) };
        if let Some(at) = wake {
            if self.armed_at.is_none_or(|armed| at < armed) {
                self.armed_at = Some(at);
                ctx.after(at.since(now), Event::Timer(Timer::Reconcile));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> ObjectKey {
        ("default".into(), n.into())
    }

    #[test]
    fn keys_are_deduplicated_and_delayed_ones_come_back_in_time_order() {
        let mut q = ControllerQueue::new();
        q.add(key("a"));
        q.add(key("a"));
        q.add_at(key("c"), SimTime(2000));
        q.add_at(key("b"), SimTime(1000));
        assert_eq!(q.due(SimTime::ZERO), vec![key("a")]);
        assert_eq!(q.due(SimTime(1500)), vec![key("b")]);
        assert_eq!(q.due(SimTime(2000)), vec![key("c")]);
        assert!(q.due(SimTime(9000)).is_empty());
    }

    #[test]
    fn retries_back_off_exponentially_until_forgotten() {
        let mut q = ControllerQueue::new();
        let t0 = SimTime::ZERO;
        for expected_ms in [5u64, 10, 20, 40] {
            q.add_rate_limited(key("a"), t0);
            let (at, _) = q.delayed.pop_first().unwrap();
            assert_eq!(at, t0 + SimDuration::from_millis(expected_ms));
        }
        assert_eq!(q.failures(&key("a")), 4);
        for _ in 0..40 {
            q.add_rate_limited(key("a"), t0);
        }
        assert_eq!(q.delayed.last().unwrap().0, t0 + RETRY_MAX);
        q.forget(&key("a"));
        assert_eq!(q.failures(&key("a")), 0);
    }
}
