//! Checking expectations against the cluster as the run goes. Checks only read the API server's
//! state and the timeline; they are not components and never change the run.
//!
//! An `at: T` expectation is checked against the state after every event at or before T; a
//! `within` expectation passes at the first instant in its window at which it holds (checked
//! whenever the store changed), and fails when the window closes.

use k8s_openapi::api::core::v1::{Node, Pod};

use super::load::{Check, ConditionCheck, Expectation, Timing};
use crate::api::pod as podutil;
use crate::api::{FieldSelector, Kind};
use crate::apiserver::ApiServer;
use crate::network::TrafficRecord;
use crate::output::tables::pod_status;
use crate::sim::{SimTime, TraceEntry};

/// The verdict on one expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pending,
    Passed { at: SimTime },
    Failed { found: String },
}

#[derive(Clone, Debug)]
pub struct ExpectationResult {
    pub expectation: Expectation,
    pub verdict: Verdict,
    /// What the last check found (for messages).
    pub last_found: String,
}

impl ExpectationResult {
    pub fn passed(&self) -> bool {
        matches!(self.verdict, Verdict::Passed { .. })
    }
}

/// Evaluates one check; returns whether it holds and what was found.
pub fn evaluate(
    check: &Check,
    api: &ApiServer,
    trace: &[TraceEntry],
    traffic: &[TrafficRecord],
    window: (SimTime, SimTime),
) -> (bool, String) {
    match check {
        Check::NodeCondition { node, condition, status } => match api.get_as::<Node>(None, node) {
            Err(_) => (false, format!("node {node} does not exist")),
            Ok(n) => match podutil::node_condition(&n, condition) {
                None => (false, format!("node {node} has no {condition} condition")),
                Some(c) => (
                    &c.status == status,
                    format!(
                        "{condition}={}{}",
                        c.status,
                        c.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                ),
            },
        },
        Check::NodeTaint { node, key, effect, present } => match api.get_as::<Node>(None, node) {
            Err(_) => (!present, format!("node {node} does not exist")),
            Ok(n) => {
                let taints = podutil::node_taints(&n);
                let has =
                    taints.iter().any(|t| &t.key == key && effect.as_ref().is_none_or(|e| &t.effect == e));
                let shown: Vec<String> = taints.iter().map(|t| format!("{}:{}", t.key, t.effect)).collect();
                (
                    has == *present,
                    if shown.is_empty() {
                        "no taints".into()
                    } else {
                        format!("taints {}", shown.join(", "))
                    },
                )
            }
        },
        Check::Pods {
            selector,
            namespace,
            phase,
            ready,
            on_node,
            not_on_node,
            include_terminating,
            status,
            min_restarts,
            count,
        } => {
            let pods = api
                .list(Kind::Pod, namespace.as_deref(), selector, &FieldSelector::everything())
                .map(|l| l.items)
                .unwrap_or_default();
            let mut matching = Vec::new();
            for obj in &pods {
                let pod = obj.as_type::<Pod>().expect("pods");
                let node = podutil::node_name(pod);
                let ok = (*include_terminating || pod.metadata.deletion_timestamp.is_none())
                    && phase.as_ref().is_none_or(|p| podutil::phase(pod) == p)
                    && ready.is_none_or(|r| podutil::is_ready(pod) == r)
                    && on_node.as_ref().is_none_or(|n| node == Some(n.as_str()))
                    && not_on_node.as_ref().is_none_or(|n| node != Some(n.as_str()))
                    && status.as_ref().is_none_or(|s| &pod_status(pod) == s)
                    && min_restarts.is_none_or(|m| podutil::restarts(pod) >= m);
                if ok {
                    matching.push(obj);
                }
            }
            let listed: Vec<String> = pods
                .iter()
                .take(8)
                .map(|o| {
                    let p = o.as_type::<Pod>().expect("pods");
                    let restarts = podutil::restarts(p);
                    format!(
                        "{} ({}{}{}, {})",
                        o.name(),
                        pod_status(p),
                        if podutil::is_ready(p) { ", ready" } else { "" },
                        if restarts > 0 { format!(", {restarts} restarts") } else { String::new() },
                        podutil::node_name(p).unwrap_or("unscheduled")
                    )
                })
                .collect();
            let more = if pods.len() > 8 { format!(", … {} more", pods.len() - 8) } else { String::new() };
            (
                matching.len() == *count,
                format!(
                    "{} matching of {} selected: {}{more}",
                    matching.len(),
                    pods.len(),
                    listed.join(", ")
                ),
            )
        }
        Check::Objects { kind, namespace, selector, name, fields, condition, count } => {
            let items = api
                .list(*kind, namespace.as_deref(), selector, &FieldSelector::everything())
                .map(|l| l.items)
                .unwrap_or_default();
            let named: Vec<serde_json::Value> = items
                .iter()
                .filter(|o| name.as_ref().is_none_or(|n| o.name() == n))
                .map(|o| o.to_json())
                .collect();
            let n = named.iter().filter(|o| object_matches(o, fields, condition.as_ref())).count();
            let mut found = format!("{n} {}", kind.resource());
            // Say what the named object looks like when it does not match.
            if n != *count && named.len() == 1 {
                let actual: Vec<String> = fields
                    .iter()
                    .map(|(p, _)| {
                        format!("{p}={}", field_at(&named[0], p).cloned().unwrap_or(serde_json::Value::Null))
                    })
                    .chain(condition.iter().map(|c| {
                        let cond = condition_of(&named[0], &c.type_);
                        let get = |k: &str| {
                            cond.and_then(|c| c.get(k)).and_then(|v| v.as_str()).unwrap_or("-").to_string()
                        };
                        format!("condition {}={} ({})", c.type_, get("status"), get("reason"))
                    }))
                    .collect();
                if !actual.is_empty() {
                    found.push_str(&format!(" (it has {})", actual.join(", ")));
                }
            }
            (n == *count, found)
        }
        Check::Event { reason, kind, name, namespace, message, count, max } => {
            let (from, to) = window;
            let candidates: Vec<&TraceEntry> = trace
                .iter()
                .filter(|e| e.time >= from && e.time <= to && &e.reason == reason)
                .filter(|e| kind.as_ref().is_none_or(|k| e.kind.eq_ignore_ascii_case(k)))
                .filter(|e| name.as_ref().is_none_or(|n| &e.name == n))
                .filter(|e| namespace.as_ref().is_none_or(|n| &e.namespace == n))
                .collect();
            let hits: Vec<&&TraceEntry> =
                candidates.iter().filter(|e| message.as_ref().is_none_or(|m| &e.message == m)).collect();
            let first = hits.first().map(|e| format!(", first at {}", e.time)).unwrap_or_default();
            let mut found = format!("{} matching event(s){first}", hits.len());
            if hits.len() < *count && message.is_some() {
                if let Some(other) = candidates.iter().find(|e| message.as_ref() != Some(&e.message)) {
                    found.push_str(&format!("; a {reason} event said {:?}", other.message));
                }
            }
            (hits.len() >= *count && max.is_none_or(|m| hits.len() <= m), found)
        }
        Check::Etcd { key, prefix, present, count } => {
            let range = if *prefix {
                crate::store::KeyRange::Prefix(key.clone())
            } else {
                crate::store::KeyRange::Key(key.clone())
            };
            let keys: Vec<String> = api
                .store()
                .range(&range, 0)
                .map(|kvs| kvs.iter().map(|kv| kv.key.to_string()).collect())
                .unwrap_or_default();
            let shown = if keys.is_empty() {
                "no keys".to_string()
            } else {
                let mut s = keys.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
                if keys.len() > 8 {
                    s.push_str(&format!(" … ({} keys)", keys.len()));
                }
                s
            };
            let ok = match (prefix, count) {
                (false, _) => keys.is_empty() != *present,
                (true, Some(n)) => keys.len() == *n,
                (true, None) => !keys.is_empty(),
            };
            (ok, shown)
        }
        Check::Traffic { from: source, to: destination, outcome, min, max } => {
            let (from, to) = window;
            let in_window = traffic
                .iter()
                .filter(|r| r.time >= from && r.time <= to)
                .filter(|r| source.as_ref().is_none_or(|s| &r.source == s))
                .filter(|r| destination.as_ref().is_none_or(|d| &r.destination == d));
            let mut total = 0;
            let mut hits = 0;
            let mut by_outcome: std::collections::BTreeMap<&str, usize> = Default::default();
            for r in in_window {
                total += 1;
                *by_outcome.entry(r.outcome.as_str()).or_default() += 1;
                if outcome.matches(r.outcome) {
                    hits += 1;
                }
            }
            let breakdown: Vec<String> = by_outcome.iter().map(|(o, n)| format!("{n} {o}")).collect();
            let found = if total == 0 {
                "no requests".to_string()
            } else {
                format!("{hits} of {total} requests {} ({})", outcome.describe(), breakdown.join(", "))
            };
            (hits >= *min && max.is_none_or(|m| hits <= m), found)
        }
    }
}

/// Tracks every expectation of a run.
pub struct Tracker {
    results: Vec<ExpectationResult>,
    last_revision: i64,
}

impl Tracker {
    pub fn new(expectations: &[Expectation]) -> Self {
        Tracker {
            results: expectations
                .iter()
                .map(|e| ExpectationResult {
                    expectation: e.clone(),
                    verdict: Verdict::Pending,
                    last_found: String::new(),
                })
                .collect(),
            last_revision: -1,
        }
    }

    pub fn results(&self) -> &[ExpectationResult] {
        &self.results
    }

    /// Called when the clock is about to move from `now` to `next`: the state is final for
    /// every instant in `[now, next)`.
    pub fn observe(
        &mut self,
        now: SimTime,
        next: SimTime,
        api: &ApiServer,
        trace: &[TraceEntry],
        traffic: &[TrafficRecord],
    ) {
        let changed = api.revision() != self.last_revision;
        self.last_revision = api.revision();
        for r in self.results.iter_mut().filter(|r| r.verdict == Verdict::Pending) {
            let exp = &r.expectation;
            match (exp.timing, &exp.check) {
                (Timing::Within { to, .. }, Check::Event { .. } | Check::Traffic { .. }) => {
                    if next > to {
                        let (ok, found) = evaluate(&exp.check, api, trace, traffic, window(exp.timing));
                        r.last_found = found.clone();
                        r.verdict = if ok { Verdict::Passed { at: to } } else { Verdict::Failed { found } };
                    }
                }
                (Timing::At(t), _) => {
                    if t >= now && t < next {
                        let (ok, found) = evaluate(&exp.check, api, trace, traffic, window(exp.timing));
                        r.last_found = found.clone();
                        r.verdict = if ok { Verdict::Passed { at: t } } else { Verdict::Failed { found } };
                    }
                }
                (Timing::Within { from, to }, _) => {
                    let overlaps = from < next && to >= now;
                    let opened = from >= now && from < next;
                    if overlaps && (changed || opened || r.last_found.is_empty()) {
                        let (ok, found) = evaluate(&exp.check, api, trace, traffic, window(exp.timing));
                        r.last_found = found;
                        if ok {
                            r.verdict = Verdict::Passed { at: now.max(from) };
                            continue;
                        }
                    }
                    if next > to {
                        r.verdict = Verdict::Failed { found: r.last_found.clone() };
                    }
                }
            }
        }
    }

    /// The run ended at `end` (`completed`: it reached `until`). Everything still pending is
    /// decided now.
    pub fn finish(
        &mut self,
        end: SimTime,
        completed: bool,
        api: &ApiServer,
        trace: &[TraceEntry],
        traffic: &[TrafficRecord],
    ) {
        self.observe(end, SimTime(end.as_millis() + 1), api, trace, traffic);
        for r in self.results.iter_mut().filter(|r| r.verdict == Verdict::Pending) {
            let found = if completed {
                r.last_found.clone()
            } else {
                format!("the run stopped at {end}; last found: {}", r.last_found)
            };
            r.verdict = Verdict::Failed { found };
        }
    }
}

fn window(t: Timing) -> (SimTime, SimTime) {
    match t {
        Timing::At(t) => (t, t),
        Timing::Within { from, to } => (from, to),
    }
}

/// The value at a dotted path (`status.availableReplicas`, `endpoints.0.addresses.0`; a dot
/// inside a key is written `\.`,
/// as in `metadata.annotations.deployment\.kubernetes\.io/revision`).
fn field_at<'a>(obj: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut keys = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => keys.last_mut().expect("non-empty").extend(chars.next()),
            '.' => keys.push(String::new()),
            c => keys.last_mut().expect("non-empty").push(c),
        }
    }
    // A number indexes a list: `endpoints.0.conditions.ready`.
    keys.iter().try_fold(obj, |v, key| match v {
        serde_json::Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(key),
    })
}

fn condition_of<'a>(obj: &'a serde_json::Value, ty: &str) -> Option<&'a serde_json::Value> {
    field_at(obj, "status.conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some(ty))
}

/// Whether an object has the expected field values (absent = the zero value, as the API omits
/// zero counts) and condition.
fn object_matches(
    obj: &serde_json::Value,
    fields: &[(String, serde_json::Value)],
    condition: Option<&ConditionCheck>,
) -> bool {
    use serde_json::Value;
    let field_ok = |(path, want): &(String, Value)| match (field_at(obj, path), want) {
        (Some(got), want) if got == want => true,
        // `replicas: "3"` in YAML against a number, or the other way round.
        (Some(got), want) => got.to_string().trim_matches('"') == want.to_string().trim_matches('"'),
        (None, Value::Number(n)) => n.as_f64() == Some(0.0),
        (None, Value::Bool(b)) => !b,
        (None, Value::String(s)) => s.is_empty(),
        (None, Value::Null) => true,
        (None, _) => false,
    };
    let condition_ok = condition.is_none_or(|c| {
        condition_of(obj, &c.type_).is_some_and(|cond| {
            let get = |k: &str| cond.get(k).and_then(|v| v.as_str());
            c.status.as_deref().is_none_or(|s| get("status") == Some(s))
                && c.reason.as_deref().is_none_or(|r| get("reason") == Some(r))
        })
    });
    fields.iter().all(field_ok) && condition_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_reach_into_maps_and_lists() {
        let obj = serde_json::json!({
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}},
            "endpoints": [{"conditions": {"ready": false}}, {"conditions": {"ready": true}}],
        });
        let at = |p: &str| field_at(&obj, p).cloned();
        assert_eq!(at(r"metadata.annotations.deployment\.kubernetes\.io/revision"), Some("2".into()));
        assert_eq!(at("endpoints.0.conditions.ready"), Some(false.into()));
        assert_eq!(at("endpoints.1.conditions.ready"), Some(true.into()));
        assert_eq!(at("endpoints.2.conditions.ready"), None);
        assert_eq!(at("endpoints.x"), None);
    }
}
