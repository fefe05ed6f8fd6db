//! How the scenario tells containers to behave: run for a while and exit with a code, crash,
//! get OOM-killed, fail their liveness or readiness probe from some time on, need a while before
//! their startup probe passes. Written in the scenario (`containerBehaviors:`), matched to pods
//! by label selector and container name, so manifests stay exactly as students would write them.

use crate::api::LabelSelector;
use crate::sim::{SimDuration, SimTime};

/// When a probe fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeFailure {
    /// From this long after each container start.
    pub after_start: Option<SimDuration>,
    /// During `[from, until)` in scenario time.
    pub from: Option<SimTime>,
    pub until: Option<SimTime>,
}

impl ProbeFailure {
    /// Whether the probe fails at `now` for a container running since `started`.
    pub fn fails(&self, started: SimTime, now: SimTime) -> bool {
        if let Some(after) = self.after_start {
            if now.since(started) >= after {
                return true;
            }
        }
        match (self.from, self.until) {
            (Some(from), until) => now >= from && until.is_none_or(|u| now < u),
            (None, Some(until)) => now < until,
            (None, None) => false,
        }
    }
}

/// What a container does once started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Behavior {
    /// Exits this long after each start, with `exit_code`.
    pub exit_after: Option<SimDuration>,
    pub exit_code: i32,
    /// Killed by the kernel's OOM killer this long after each start (exit code 137, OOMKilled).
    pub oom_kill_after: Option<SimDuration>,
    pub liveness_failure: Option<ProbeFailure>,
    pub readiness_failure: Option<ProbeFailure>,
    /// The startup probe passes once the container has run this long.
    pub startup_delay: Option<SimDuration>,
    /// Time to exit after SIGTERM (None: the kubelet's default `container_stop_time`).
    pub stop_after: Option<SimDuration>,
    /// The process accepts connections this long after each start (None: at once). Until then
    /// connections to it are refused, which a readiness probe hides from Services.
    pub serves_after: Option<SimDuration>,
}

/// How a container's run ends on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    OomKilled,
}

impl Behavior {
    /// The first self-inflicted end of a run, as (delay after start, how).
    pub fn exit(&self) -> Option<(SimDuration, Exit)> {
        let exit = self.exit_after.map(|d| (d, Exit::Code(self.exit_code)));
        let oom = self.oom_kill_after.map(|d| (d, Exit::OomKilled));
        match (exit, oom) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// One `containerBehaviors` entry.
#[derive(Clone, Debug)]
pub struct BehaviorRule {
    pub selector: LabelSelector,
    pub namespace: Option<String>,
    pub container: Option<String>,
    pub behavior: Behavior,
}

/// The first rule matching a pod's labels and namespace and the container's name.
pub fn behavior_for<'a>(
    rules: &'a [BehaviorRule],
    namespace: &str,
    labels: Option<&std::collections::BTreeMap<String, String>>,
    container: &str,
) -> Option<&'a Behavior> {
    rules
        .iter()
        .find(|r| {
            r.namespace.as_deref().is_none_or(|n| n == namespace)
                && r.container.as_deref().is_none_or(|c| c == container)
                && r.selector.matches(labels)
        })
        .map(|r| &r.behavior)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_failure_windows() {
        let after = ProbeFailure { after_start: Some(SimDuration::from_secs(60)), ..Default::default() };
        assert!(!after.fails(SimTime(0), SimTime(59_000)));
        assert!(after.fails(SimTime(0), SimTime(60_000)));
        let window = ProbeFailure {
            from: Some(SimTime(120_000)),
            until: Some(SimTime(180_000)),
            ..Default::default()
        };
        assert!(!window.fails(SimTime(0), SimTime(119_999)));
        assert!(window.fails(SimTime(0), SimTime(150_000)));
        assert!(!window.fails(SimTime(0), SimTime(180_000)));
    }

    #[test]
    fn earliest_exit_wins() {
        let b = Behavior {
            exit_after: Some(SimDuration::from_secs(30)),
            exit_code: 1,
            oom_kill_after: Some(SimDuration::from_secs(20)),
            ..Default::default()
        };
        assert_eq!(b.exit(), Some((SimDuration::from_secs(20), Exit::OomKilled)));
    }
}
