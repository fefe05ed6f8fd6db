//! Pieces every pod-creating controller shares, as in upstream's pkg/controller/
//! controller_utils.go and replica_set.go:
//! - [`ControllerExpectations`]: a controller records how many creations and deletions it
//!   just asked for and does not act on an object again until its informer has observed them
//!   (or 5 minutes passed), so it never acts twice on a stale cache;
//! - [`slow_start_batch`]: creations in batches of 1, 2, 4, … that stop after the first batch
//!   with a failure, so a systematic error (quota, admission) costs one call, not hundreds.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::workqueue::ObjectKey;
use crate::api::{KindOf, Object};
use crate::apiserver::Reporter;
use crate::client::record_event;
use crate::sim::{Context, SimDuration, SimTime};

/// Expectations expire after this long (ExpectationsTimeout).
pub const EXPECTATIONS_TIMEOUT: SimDuration = SimDuration::from_mins(5);

#[derive(Clone, Debug, Default)]
struct Expected {
    adds: i64,
    dels: i64,
    set_at: SimTime,
}

/// Pending creations and deletions per controller key.
#[derive(Default)]
pub struct ControllerExpectations {
    pending: BTreeMap<ObjectKey, Expected>,
}

impl ControllerExpectations {
    /// SetExpectations: this many creations and deletions are on their way.
    pub fn expect(&mut self, key: &ObjectKey, adds: usize, dels: usize, now: SimTime) {
        self.pending.insert(key.clone(), Expected { adds: adds as i64, dels: dels as i64, set_at: now });
    }

    /// CreationObserved (also for creations that failed and will never be observed).
    pub fn creation_observed(&mut self, key: &ObjectKey) {
        if let Some(e) = self.pending.get_mut(key) {
            e.adds -= 1;
        }
    }

    /// DeletionObserved (also for deletions that failed).
    pub fn deletion_observed(&mut self, key: &ObjectKey) {
        if let Some(e) = self.pending.get_mut(key) {
            e.dels -= 1;
        }
    }

    /// SatisfiedExpectations: nothing pending, or the expectations expired.
    pub fn satisfied(&self, key: &ObjectKey, now: SimTime) -> bool {
        self.pending
            .get(key)
            .is_none_or(|e| (e.adds <= 0 && e.dels <= 0) || now.since(e.set_at) > EXPECTATIONS_TIMEOUT)
    }

    /// DeleteExpectations (the controller object is gone).
    pub fn forget(&mut self, key: &ObjectKey) {
        self.pending.remove(key);
    }
}

/// Calls `attempt` `count` times in batches of `initial`, 2·`initial`, … and stops after the
/// first batch in which an attempt failed. Returns the number of successful attempts; the
/// rest (failed or never tried) will never be observed.
pub fn slow_start_batch(count: usize, initial: usize, mut attempt: impl FnMut() -> bool) -> usize {
    let mut remaining = count;
    let mut batch = initial.max(1);
    let mut successes = 0;
    while remaining > 0 {
        let size = batch.min(remaining);
        let ok = (0..size).filter(|_| attempt()).count();
        successes += ok;
        remaining -= size;
        if ok < size {
            break;
        }
        batch *= 2;
    }
    successes
}

/// Creates `count` pods (`next_pod` builds each) in slow-start batches, recording
/// `SuccessfulCreate` / `FailedCreate` on `owner` as upstream's pod control does, and lowers
/// `key`'s expectations for the creations that will never be observed. The caller sets the
/// expectations first. Returns how many pods were created.
pub fn create_pods(
    ctx: &mut Context<'_>,
    reporter: Reporter<'_>,
    owner: &Object,
    expectations: &mut ControllerExpectations,
    key: &ObjectKey,
    count: usize,
    mut next_pod: impl FnMut() -> Pod,
) -> usize {
    let created = slow_start_batch(count, 1, || match ctx.api.create(next_pod().into_object()) {
        Ok(pod) => {
            let msg = format!("Created pod: {}", pod.name());
            record_event(ctx, reporter, owner, "Normal", "SuccessfulCreate", msg);
            true
        }
        Err(e) => {
            record_event(ctx, reporter, owner, "Warning", "FailedCreate", format!("Error creating: {e}"));
            false
        }
    });
    for _ in created..count {
        expectations.creation_observed(key);
    }
    created
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_double_and_stop_after_a_failure() {
        let mut calls = 0;
        assert_eq!(
            slow_start_batch(10, 1, || {
                calls += 1;
                true
            }),
            10
        );
        assert_eq!(calls, 10);
        // Attempt 4 (in the batch of 2,3... i.e. batches 1 | 2 | 4) fails: that batch finishes,
        // then nothing more.
        let mut n = 0;
        let ok = slow_start_batch(20, 1, || {
            n += 1;
            n != 4
        });
        assert_eq!((ok, n), (6, 7));
    }

    #[test]
    fn expectations_wait_for_observations_or_expire() {
        let key: ObjectKey = ("default".into(), "web".into());
        let mut e = ControllerExpectations::default();
        assert!(e.satisfied(&key, SimTime::ZERO));
        e.expect(&key, 2, 0, SimTime::ZERO);
        e.creation_observed(&key);
        assert!(!e.satisfied(&key, SimTime(1000)));
        e.creation_observed(&key);
        assert!(e.satisfied(&key, SimTime(1000)));
        e.expect(&key, 0, 1, SimTime::ZERO);
        assert!(e.satisfied(&key, SimTime::ZERO + EXPECTATIONS_TIMEOUT + SimDuration::from_millis(1)));
    }
}
