//! `kubesim why`: the causal chain behind one pod's fate, told across the components that
//! shaped it — who created it, why the scheduler put it where it did (or why it is Pending),
//! what the kubelet did, what happened to its node (power loss, NotReady, taints), who evicted
//! or deleted it and what replaced it.
//!
//! Built from what the run recorded: the timeline (every component's events and the scenario's
//! actions), the pod and node histories the recorder keeps, and the scheduler's decisions.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Pod;

use crate::api::pod as podutil;
use crate::inspect::{resolve_pod_name, QueryError, QueryResult};
use crate::output::recorder::PodRecord;
use crate::scheduler::decisions::Decision;
use crate::sim::{SimTime, TraceEntry};
use crate::simulation::Simulation;

/// Node events that can change a pod's fate, with what they mean.
const NODE_REASONS: &[&str] = &[
    "PowerOff",
    "PowerOn",
    "StopKubelet",
    "StartKubelet",
    "Partition",
    "Heal",
    "Cordon",
    "Uncordon",
    "Drain",
    "OutOfService",
    "RemoveNode",
    "NodeNotReady",
    "NodeReady",
    "Rebooted",
];
// Taints come from the recorder's node history (whoever set them), not from the timeline.

fn clock(ms: u64) -> String {
    SimTime(ms).clock()
}

/// The chain for pod `ns/name` (or the unique pod named `name-…`).
pub fn why(sim: &Simulation, ns: &str, name: &str) -> QueryResult {
    let records = &sim.recorder().pods;
    let names = records.iter().filter(|r| r.namespace == ns).map(|r| r.name.as_str());
    let Some(name) = resolve_pod_name(name, names)? else {
        return Err(QueryError::not_found(format!(
            "error: no pod {ns}/{name} was created by {} (see `get pods -A`)",
            sim.now()
        )));
    };
    // The latest pod of that name (a StatefulSet or a mirror pod reuses names).
    let record = records.iter().rev().find(|r| r.namespace == ns && r.name == name).expect("resolved");
    let trace = sim.trace();
    let mine = |e: &&TraceEntry| e.kind == "Pod" && e.namespace == ns && e.name == name;
    let from = record.created_ms.unwrap_or(0);
    let until = record.deleted_ms.unwrap_or(sim.now().as_millis());
    let pod_events: Vec<&TraceEntry> =
        trace.iter().filter(mine).filter(|e| e.time.as_millis() >= from).collect();
    let current = sim.api().get_as::<Pod>(Some(ns), &name).ok();

    let mut lines: Vec<(u64, String)> = Vec::new();
    // Creation.
    let creator = trace.iter().find(|e| {
        e.time.as_millis() >= from
            && e.reason == "SuccessfulCreate"
            && e.message.ends_with(&format!("pod: {name}"))
            && e.namespace == ns
    });
    let created = match (creator, record.owner.split_once('/')) {
        (Some(c), _) => format!("created by {} {} ({}: \"{}\")", c.kind, c.name, c.source, c.message),
        (None, Some((kind, owner))) => format!("created, owned by {kind} {owner}"),
        (None, None) => {
            let applied = trace.iter().any(|e| e.source == "scenario" && e.kind == "Pod" && e.name == name);
            if applied {
                "created by the scenario (kubectl apply)".to_string()
            } else {
                "created with the scenario's objects".to_string()
            }
        }
    };
    lines.push((from, created));

    // Scheduling.
    let failed: Vec<&&TraceEntry> = pod_events.iter().filter(|e| e.reason == "FailedScheduling").collect();
    if let Some(first) = failed.first() {
        let last = failed.last().expect("non-empty");
        let times = if failed.len() > 1 {
            format!(" ({} attempts, last at {})", failed.len(), last.time.clock())
        } else {
            String::new()
        };
        lines.push((first.time.as_millis(), format!("could not be scheduled{times}: {}", last.message)));
    }
    for e in pod_events.iter().filter(|e| e.reason == "Preempted" || e.reason == "Nominated") {
        lines
            .push((e.time.as_millis(), format!("{} ({}): {}", e.reason.to_lowercase(), e.source, e.message)));
    }
    if let Some(bound) = pod_events.iter().find(|e| e.reason == "Scheduled") {
        let decision = sim
            .engine()
            .decisions
            .entries
            .iter()
            .rev()
            .find(|d| d.namespace == ns && d.pod == name && d.bound_to.is_some());
        let node = record.node.as_str();
        let detail = decision.map(score_summary).unwrap_or_default();
        lines.push((bound.time.as_millis(), format!("scheduled to {node} by {}{detail}", bound.source)));
    } else if let Some(t) = record.scheduled_ms.filter(|_| !record.node.is_empty()) {
        lines.push((
            t,
            format!(
                "placed on {} without the scheduler (spec.nodeName set at creation, or a static pod)",
                record.node
            ),
        ));
    }

    // The kubelet's side.
    for e in &pod_events {
        let t = e.time.as_millis();
        let text = match e.reason.as_str() {
            "Started" => format!("{} ({})", e.message, e.source),
            "BackOff" | "Unhealthy" | "Failed" | "Killing" | "Evicted" | "OOMKilled" => {
                format!("{}: {} ({})", e.reason, e.message, e.source)
            }
            "NodeNotReady" => format!("marked not ready: {} ({})", e.message, e.source),
            "TaintManagerEviction" => format!("evicted by the taint manager ({}): {}", e.source, e.message),
            "Delete" | "Evict" | "EvictFailed" => format!("{} ({})", e.message, e.source),
            _ => continue,
        };
        lines.push((t, text));
    }
    compress_repeats(&mut lines);

    // Its node's history while the pod was there.
    if !record.node.is_empty() {
        let node = record.node.as_str();
        let on_node_from = record.scheduled_ms.unwrap_or(from);
        for e in trace.iter().filter(|e| {
            e.kind == "Node"
                && e.name == node
                && NODE_REASONS.contains(&e.reason.as_str())
                && (on_node_from..=until).contains(&e.time.as_millis())
        }) {
            let text = match e.reason.as_str() {
                "NodeNotReady" => {
                    let reason = sim
                        .recorder()
                        .conditions
                        .iter()
                        .rfind(|c| {
                            c.node == node && c.condition == "Ready" && c.time_ms <= e.time.as_millis()
                        })
                        .map(|c| format!(" (Ready={}, {})", c.status, c.reason))
                        .unwrap_or_default();
                    format!("node {node}: {}{reason} — the node controller heard no heartbeat for the node-monitor-grace-period", e.message)
                }
                _ => format!("node {node}: {} ({})", e.message, e.source),
            };
            lines.push((e.time.as_millis(), text));
        }
        for t in sim
            .recorder()
            .taints
            .iter()
            .filter(|t| t.node == node && (on_node_from..=until).contains(&t.time_ms))
        {
            let value = if t.value.is_empty() { String::new() } else { format!("={}", t.value) };
            let taint = format!("{}{value}:{}", t.key, t.effect);
            let text = match (t.op, t.effect.as_str()) {
                ("add", "NoExecute") => {
                    let noexecute = k8s_openapi::api::core::v1::Taint {
                        key: t.key.clone(),
                        value: (!t.value.is_empty()).then(|| t.value.clone()),
                        effect: t.effect.clone(),
                        time_added: None,
                    };
                    let tolerated = current.as_ref().and_then(|p| toleration_seconds(p, &noexecute));
                    let allow = match tolerated {
                        Some(Some(s)) => format!("; the pod tolerates it for {s}s (tolerationSeconds), then the taint manager evicts it"),
                        Some(None) => "; the pod tolerates it forever".to_string(),
                        None => "; pods that do not tolerate it are evicted".to_string(),
                    };
                    format!("node {node} got taint {taint}{allow}")
                }
                ("add", _) => {
                    format!("node {node} got taint {taint} (new pods that do not tolerate it are kept off)")
                }
                _ => format!("node {node} lost taint {taint}"),
            };
            lines.push((t.time_ms, text));
        }
    }

    // The end of the pod, and what replaced it.
    if let Some(t) = record.deletion_ms {
        let grace = current
            .as_ref()
            .and_then(|p| p.metadata.deletion_grace_period_seconds)
            .map(|g| format!(" with a {g}s grace period"))
            .unwrap_or_default();
        lines.push((t, format!("marked for deletion (Terminating){grace}")));
    }
    if let Some(t) = record.deleted_ms {
        lines.push((t, "removed from the API".to_string()));
    }
    if let Some(replacement) = replacement(records, record) {
        let placed = if replacement.node.is_empty() {
            " (not scheduled yet)".to_string()
        } else {
            let decision = sim.engine().decisions.entries.iter().rev().find(|d| {
                d.namespace == replacement.namespace && d.pod == replacement.name && d.bound_to.is_some()
            });
            format!(", scheduled to {}{}", replacement.node, decision.map(score_summary).unwrap_or_default())
        };
        lines.push((
            replacement.created_ms.unwrap_or(0),
            format!("replaced by {} ({}){placed}", replacement.name, replacement.owner.replace('/', " ")),
        ));
    }
    lines.sort_by_key(|(t, _)| *t);

    let mut out = String::new();
    let owner = if record.owner.is_empty() {
        String::new()
    } else {
        format!(" ({})", record.owner.replace('/', " "))
    };
    let _ = writeln!(out, "pod {ns}/{name}{owner}: {}", fate(record, current.as_ref(), &pod_events));
    for (t, text) in &lines {
        let _ = writeln!(out, "  {}  {text}", clock(*t));
    }
    Ok(out)
}

/// The one-line outcome.
fn fate(record: &PodRecord, current: Option<&Pod>, events: &[&TraceEntry]) -> String {
    let evicted = events
        .iter()
        .rev()
        .find(|e| e.reason == "TaintManagerEviction" || e.reason == "Evict" || e.reason == "Preempted");
    if let Some(t) = record.deleted_ms {
        let how = match evicted {
            Some(e) if e.reason == "TaintManagerEviction" => {
                format!("evicted by the taint manager at {}", e.time.clock())
            }
            Some(e) if e.reason == "Preempted" => format!("preempted at {}", e.time.clock()),
            Some(e) => format!("evicted at {} ({})", e.time.clock(), e.source),
            None => "deleted".to_string(),
        };
        return format!("{how}; gone since {}", clock(t));
    }
    let Some(pod) = current else {
        return "gone".into();
    };
    let status = crate::output::tables::pod_status(pod);
    if let Some(t) = record.deletion_ms {
        let why = match evicted {
            Some(e) => format!("{} at {}", e.reason, e.time.clock()),
            None => "deleted".into(),
        };
        return format!(
            "Terminating since {} ({why}) on {}: the kubelet has not confirmed the containers stopped",
            clock(t),
            record.node
        );
    }
    if record.node.is_empty() {
        return format!("{status}, not scheduled");
    }
    format!("{status} on {}", record.node)
}

/// `" (total 187, the highest of 3 feasible nodes: NodeResourcesFit 95×1, …)"`.
fn score_summary(d: &Decision) -> String {
    let r = &d.record;
    let Some(node) = d.bound_to.as_deref() else {
        return String::new();
    };
    let feasible = r.verdicts.iter().filter(|v| v.rejection.is_none()).count();
    let rejected = r.verdicts.len() - feasible;
    let rejected = if rejected > 0 { format!(", {rejected} rejected by filters") } else { String::new() };
    if let Some(skip) = &r.scoring_skipped {
        return format!(" (no scoring: {skip}{rejected})");
    }
    let Some(scores) = r.scores.iter().find(|s| s.node == node) else {
        return String::new();
    };
    let parts: Vec<String> = r
        .score_plugins
        .iter()
        .zip(&scores.scores)
        .filter_map(|((plugin, weight), s)| s.map(|s| format!("{plugin} {s}×{weight}")))
        .collect();
    format!(
        " (total {}, the highest of {feasible} feasible node(s){rejected}: {}; see `explain`)",
        scores.total,
        parts.join(", ")
    )
}

/// `Some(Some(s))` tolerated for s seconds, `Some(None)` forever, `None` not tolerated.
fn toleration_seconds(pod: &Pod, taint: &k8s_openapi::api::core::v1::Taint) -> Option<Option<i64>> {
    podutil::tolerations(pod).iter().find(|t| podutil::tolerates(t, taint)).map(|t| t.toleration_seconds)
}

/// The next pod of the same owner created once this one was on its way out.
fn replacement<'a>(records: &'a [PodRecord], pod: &PodRecord) -> Option<&'a PodRecord> {
    if pod.owner.is_empty() {
        return None;
    }
    let gone = pod.deletion_ms.or(pod.deleted_ms)?;
    records
        .iter()
        .filter(|r| r.owner == pod.owner && r.namespace == pod.namespace && r.name != pod.name)
        .filter(|r| r.created_ms.is_some_and(|c| c >= gone))
        .min_by_key(|r| r.created_ms)
}

/// Folds runs of the same text (a container restarting, a probe failing) into one line with a
/// count, as `kubectl describe` folds repeated events.
fn compress_repeats(lines: &mut Vec<(u64, String)>) {
    let mut out: Vec<(u64, String, usize, u64)> = Vec::new();
    for (t, text) in lines.drain(..) {
        match out.iter_mut().find(|(_, s, _, _)| *s == text) {
            Some(entry) => {
                entry.2 += 1;
                entry.3 = t;
            }
            None => out.push((t, text, 1, t)),
        }
    }
    for (t, text, n, last) in out {
        if n > 1 {
            lines.push((t, format!("{text} (x{n}, last at {})", clock(last))));
        } else {
            lines.push((t, text));
        }
    }
}
