//! The scheduling queue (pkg/scheduler/backend/queue/scheduling_queue.go): activeQ ordered by
//! priority then arrival (PrioritySort), backoffQ with 1s doubling to 10s per failed attempt,
//! and unschedulable pods that wait for a cluster event that may make them schedulable (or at
//! most 5 minutes).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::sim::{SimDuration, SimTime};

/// Upstream defaults: podInitialBackoffSeconds 1, podMaxBackoffSeconds 10,
/// podMaxInUnschedulablePodsDuration 5m.
pub const INITIAL_BACKOFF: SimDuration = SimDuration::from_secs(1);
pub const MAX_BACKOFF: SimDuration = SimDuration::from_secs(10);
pub const MAX_UNSCHEDULABLE: SimDuration = SimDuration::from_mins(5);

#[derive(Clone, Debug)]
struct Entry {
    priority: i32,
    arrival: u64,
    attempts: u32,
    last_failure: SimTime,
    unschedulable_since: SimTime,
    /// The last attempt ended in an error (not a rejection): it waits in the error backoff,
    /// which activeQ never pops from early.
    from_error: bool,
}

/// Where a queued pod currently waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    InFlight,
}

/// The queue, keyed by pod UID.
pub struct SchedulingQueue {
    entries: BTreeMap<Arc<str>, (Entry, Place)>,
    active: BTreeSet<(Reverse<i32>, u64, Arc<str>)>,
    backoff: BTreeSet<(SimTime, u64, Arc<str>)>,
    next_arrival: u64,
    /// `podInitialBackoffSeconds` / `podMaxBackoffSeconds`.
    initial_backoff: SimDuration,
    max_backoff: SimDuration,
}

impl Default for SchedulingQueue {
    fn default() -> Self {
        SchedulingQueue::with_backoff(INITIAL_BACKOFF, MAX_BACKOFF)
    }
}

impl SchedulingQueue {
    /// A queue with the configuration's back-off bounds.
    pub fn with_backoff(initial: SimDuration, max: SimDuration) -> Self {
        SchedulingQueue {
            entries: BTreeMap::new(),
            active: BTreeSet::new(),
            backoff: BTreeSet::new(),
            next_arrival: 0,
            initial_backoff: initial,
            max_backoff: max,
        }
    }

    /// Adds a pod that needs scheduling (no-op if it is already queued).
    pub fn add(&mut self, uid: Arc<str>, priority: i32) {
        if self.entries.contains_key(&uid) {
            return;
        }
        self.next_arrival += 1;
        let e = Entry {
            priority,
            arrival: self.next_arrival,
            attempts: 0,
            last_failure: SimTime::ZERO,
            unschedulable_since: SimTime::ZERO,
            from_error: false,
        };
        self.active.insert((Reverse(priority), e.arrival, uid.clone()));
        self.entries.insert(uid, (e, Place::Active));
    }

    /// Forgets a pod (bound elsewhere, deleted).
    pub fn remove(&mut self, uid: &str) {
        if let Some((e, place)) = self.entries.remove(uid) {
            let uid: Arc<str> = Arc::from(uid);
            match place {
                Place::Active => {
                    self.active.remove(&(Reverse(e.priority), e.arrival, uid));
                }
                Place::Backoff => {
                    self.backoff.remove(&(self.backoff_expiry(&e), e.arrival, uid));
                }
                Place::Unschedulable | Place::InFlight => {}
            }
        }
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.entries.contains_key(uid)
    }

    /// Takes the highest-priority, longest-waiting pod off activeQ; when activeQ is empty, the
    /// pod whose backoff ends first, unless it backs off from an error (SchedulerPopFromBackoffQ,
    /// beta and on by default in v1.33 and v1.34: active_queue.go unlockedPop).
    pub fn pop(&mut self) -> Option<Arc<str>> {
        let uid = match self.active.iter().next().cloned() {
            Some(first) => {
                self.active.remove(&first);
                first.2
            }
            None => {
                let first = self.first_poppable_backoff()?;
                self.backoff.remove(&first);
                first.2
            }
        };
        if let Some((_, place)) = self.entries.get_mut(&uid) {
            *place = Place::InFlight;
        }
        Some(uid)
    }

    fn first_poppable_backoff(&self) -> Option<(SimTime, u64, Arc<str>)> {
        self.backoff
            .iter()
            .find(|(_, _, uid)| self.entries.get(uid).is_some_and(|(e, _)| !e.from_error))
            .cloned()
    }

    /// Whether `pop` has a pod to give.
    pub fn has_active(&self) -> bool {
        !self.active.is_empty() || self.first_poppable_backoff().is_some()
    }

    /// Number of attempts made for a pod so far.
    pub fn attempts(&self, uid: &str) -> u32 {
        self.entries.get(uid).map_or(0, |(e, _)| e.attempts)
    }

    /// Backoff after `attempts` failures with the default bounds: 1s, 2s, 4s, 8s, then 10s.
    pub fn backoff_duration(attempts: u32) -> SimDuration {
        Self::default().backoff_for(attempts)
    }

    /// Backoff after `attempts` failures: the initial back-off doubled per further failure,
    /// capped at the maximum (calculateBackoffDuration).
    pub fn backoff_for(&self, attempts: u32) -> SimDuration {
        let max = self.max_backoff.as_millis();
        let mut d = self.initial_backoff.as_millis();
        for _ in 1..attempts {
            if d > max - d.min(max) {
                return self.max_backoff;
            }
            d *= 2;
        }
        SimDuration::from_millis(d.min(max))
    }

    fn backoff_expiry(&self, e: &Entry) -> SimTime {
        e.last_failure + self.backoff_for(e.attempts)
    }

    /// The in-flight pod was rejected: it waits among the unschedulable pods for a cluster
    /// event.
    pub fn failed(&mut self, uid: &Arc<str>, now: SimTime) {
        self.next_arrival += 1;
        if let Some((e, place)) = self.entries.get_mut(uid) {
            // AddUnschedulableIfNotPresent refreshes the timestamp: a retried pod queues behind
            // pods of the same priority that arrived while it was being tried.
            e.arrival = self.next_arrival;
            e.attempts += 1;
            e.last_failure = now;
            e.unschedulable_since = now;
            e.from_error = false;
            *place = Place::Unschedulable;
        }
    }

    /// The in-flight pod failed with an error (a plugin error, a refused binding): no plugin
    /// rejected it, so it goes straight to backoffQ (determineSchedulingHintForInFlightPod:
    /// queueAfterBackoff) and is retried when the backoff ends.
    pub fn failed_with_error(&mut self, uid: &Arc<str>, now: SimTime) {
        self.next_arrival += 1;
        let arrival = self.next_arrival;
        let Some((e, _)) = self.entries.get_mut(uid) else { return };
        e.arrival = arrival;
        e.attempts += 1;
        e.last_failure = now;
        e.from_error = true;
        let e = e.clone();
        let expiry = self.backoff_expiry(&e);
        self.backoff.insert((expiry, e.arrival, uid.clone()));
        self.entries.get_mut(uid).expect("present").1 = Place::Backoff;
    }

    /// The pod changed in a way that may make it schedulable (PriorityQueue.Update): an
    /// unschedulable pod moves to backoffQ or activeQ.
    pub fn updated(&mut self, uid: &Arc<str>, now: SimTime) {
        if self.entries.get(uid).is_some_and(|(_, p)| *p == Place::Unschedulable) {
            self.requeue(uid.clone(), now);
        }
    }

    /// Moves the unschedulable pods `relevant` accepts (a cluster event that concerns them).
    pub fn move_unschedulable_if(&mut self, now: SimTime, mut relevant: impl FnMut(&str) -> bool) {
        let uids: Vec<Arc<str>> = self
            .entries
            .iter()
            .filter(|(u, (_, p))| *p == Place::Unschedulable && relevant(u))
            .map(|(u, _)| u.clone())
            .collect();
        for uid in uids {
            self.requeue(uid, now);
        }
    }

    /// A cluster event may have made pods schedulable (MoveAllToActiveOrBackoffQueue): each
    /// unschedulable pod goes to backoffQ if its backoff has not expired, else to activeQ.
    pub fn move_all_unschedulable(&mut self, now: SimTime) {
        let uids: Vec<Arc<str>> = self
            .entries
            .iter()
            .filter(|(_, (_, p))| *p == Place::Unschedulable)
            .map(|(u, _)| u.clone())
            .collect();
        for uid in uids {
            self.requeue(uid, now);
        }
    }

    fn requeue(&mut self, uid: Arc<str>, now: SimTime) {
        let Some((e, _)) = self.entries.get(&uid) else {
            return;
        };
        let e = e.clone();
        let expiry = self.backoff_expiry(&e);
        let place = if expiry > now {
            self.backoff.insert((expiry, e.arrival, uid.clone()));
            Place::Backoff
        } else {
            self.active.insert((Reverse(e.priority), e.arrival, uid.clone()));
            Place::Active
        };
        self.entries.get_mut(&uid).expect("present").1 = place;
    }

    /// Periodic flushes (every 1s upstream): expired backoffs to activeQ, and pods unschedulable
    /// for longer than 5 minutes back to the queues.
    pub fn flush(&mut self, now: SimTime) {
        while let Some(first) = self.backoff.iter().next().cloned() {
            if first.0 > now {
                break;
            }
            self.backoff.remove(&first);
            let uid = first.2;
            if let Some((e, place)) = self.entries.get_mut(&uid) {
                *place = Place::Active;
                self.active.insert((Reverse(e.priority), e.arrival, uid));
            }
        }
        let stale: Vec<Arc<str>> = self
            .entries
            .iter()
            .filter(|(_, (e, p))| {
                *p == Place::Unschedulable && now.since(e.unschedulable_since) >= MAX_UNSCHEDULABLE
            })
            .map(|(u, _)| u.clone())
            .collect();
        for uid in stale {
            self.requeue(uid, now);
        }
    }

    /// Whether periodic flushing has anything to do.
    pub fn has_waiting(&self) -> bool {
        !self.backoff.is_empty() || self.entries.values().any(|(_, p)| *p == Place::Unschedulable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_then_arrival() {
        let mut q = SchedulingQueue::default();
        q.add("a".into(), 0);
        q.add("b".into(), 10);
        q.add("c".into(), 0);
        assert_eq!(q.pop().as_deref(), Some("b"));
        assert_eq!(q.pop().as_deref(), Some("a"));
        assert_eq!(q.pop().as_deref(), Some("c"));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn backoff_doubles_to_ten_seconds() {
        let secs: Vec<u64> = (1..=6).map(|n| SchedulingQueue::backoff_duration(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn failed_pods_wait_for_events_then_backoff() {
        let mut q = SchedulingQueue::default();
        let uid: Arc<str> = "a".into();
        q.add(uid.clone(), 0);
        assert_eq!(q.pop(), Some(uid.clone()));
        q.failed(&uid, SimTime(1000));
        assert!(!q.has_active(), "a rejected pod waits for a cluster event");
        q.move_all_unschedulable(SimTime(1500)); // backoff (1s) not over: goes to backoffQ
                                                 // SchedulerPopFromBackoffQ: with activeQ empty the backing-off pod is popped at once.
        assert!(q.has_active());
        q.add("b".into(), 0);
        assert_eq!(q.pop().as_deref(), Some("b"), "activeQ first");
        assert_eq!(q.pop(), Some(uid.clone()));
        q.failed(&uid, SimTime(3000));
        q.flush(SimTime(3000 + 5 * 60_000));
        assert!(q.has_active(), "unschedulable pods are retried after 5 minutes at the latest");
    }

    #[test]
    fn errors_back_off_and_are_not_popped_early() {
        let mut q = SchedulingQueue::default();
        let uid: Arc<str> = "a".into();
        q.add(uid.clone(), 0);
        assert_eq!(q.pop(), Some(uid.clone()));
        q.failed_with_error(&uid, SimTime(1000));
        assert!(!q.has_active(), "the error backoff is not popped early");
        q.flush(SimTime(1999));
        assert!(!q.has_active());
        q.flush(SimTime(2000));
        assert_eq!(q.pop(), Some(uid));
    }

    #[test]
    fn backoff_saturates_at_the_maximum() {
        let q = SchedulingQueue::with_backoff(SimDuration::from_secs(1), SimDuration::from_millis(u64::MAX));
        assert_eq!(q.backoff_for(200), SimDuration::from_millis(u64::MAX));
        assert_eq!(q.backoff_for(3), SimDuration::from_secs(4));
    }
}
