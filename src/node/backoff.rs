//! client-go's `flowcontrol.Backoff` as the kubelet uses it for crashing containers and failing
//! image pulls: 10s initial, doubling, at most 300s, forgotten when the last back-off step is
//! more than twice the maximum (10 minutes) older than the new failure.

use crate::sim::{SimDuration, SimTime};

pub const INITIAL: SimDuration = SimDuration::from_secs(10);
pub const MAX: SimDuration = SimDuration::from_mins(5);

/// One key's back-off entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Current back-off and when it was last stepped; `None` before the first failure.
    entry: Option<(SimDuration, SimTime)>,
}

impl Backoff {
    fn expired(event: SimTime, last_update: SimTime) -> bool {
        event.since(last_update) > SimDuration(MAX.as_millis() * 2)
    }

    /// `IsInBackOffSince(key, event)`: whether `now` is still within the back-off that started
    /// at `event` (a container's finish time, a failed pull).
    pub fn in_backoff_since(&self, event: SimTime, now: SimTime) -> bool {
        match self.entry {
            Some((backoff, last)) if !Self::expired(event, last) => now.since(event) < backoff,
            _ => false,
        }
    }

    /// When the back-off that started at `event` ends.
    pub fn until(&self, event: SimTime) -> SimTime {
        event + self.entry.map_or(SimDuration::ZERO, |(b, _)| b)
    }

    /// The current back-off (for messages such as "back-off 20s restarting failed container").
    pub fn current(&self) -> SimDuration {
        self.entry.map_or(SimDuration::ZERO, |(b, _)| b)
    }

    /// `Next(key, event)`: step the back-off (initial, or double up to the maximum; reset if
    /// the last step expired).
    pub fn next(&mut self, event: SimTime, now: SimTime) {
        let backoff = match self.entry {
            Some((b, last)) if !Self::expired(event, last) => {
                SimDuration(b.as_millis().saturating_mul(2).min(MAX.as_millis()))
            }
            _ => INITIAL,
        };
        self.entry = Some((backoff, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_five_minutes_and_resets_after_ten() {
        let mut b = Backoff::default();
        let mut waits = Vec::new();
        let mut t = SimTime(0);
        for _ in 0..7 {
            // The container exits at t; if in back-off it restarts when that ends.
            if b.in_backoff_since(t, t) {
                let start = b.until(t);
                waits.push(start.since(t).as_secs());
                b.next(t, start);
                t = start + SimDuration::from_secs(1);
            } else {
                waits.push(0);
                b.next(t, t);
                t += SimDuration::from_secs(1);
            }
        }
        assert_eq!(waits, [0, 10, 20, 40, 80, 160, 300]);
        // Running cleanly for more than 10 minutes forgets the back-off.
        let late = t + SimDuration::from_mins(11);
        assert!(!b.in_backoff_since(late, late));
        b.next(late, late);
        assert_eq!(b.current(), INITIAL);
    }
}
