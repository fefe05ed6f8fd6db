//! The scheduler's recorded decisions: for each scheduling attempt, every examined node's filter
//! verdict and every score plugin's normalized score, weight and the total. `kubesim explain`
//! prints them; `run --decisions` writes them as `decisions.csv`. Recording is off unless asked
//! for, so ordinary runs pay nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::cycle::CycleRecord;
use crate::sim::SimTime;

/// One scheduling attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub time: SimTime,
    pub namespace: String,
    pub pod: String,
    /// 1 for the first attempt of this pod.
    pub attempt: u32,
    pub scheduler_name: String,
    /// The node the pod was bound to, if this attempt bound it.
    pub bound_to: Option<String>,
    /// FailedScheduling message or error, if it did not.
    pub failure: Option<String>,
    /// Node nominated by preemption, and its victims (namespace/name).
    pub nominated: Option<(String, Vec<String>)>,
    pub record: CycleRecord,
}

/// Decisions in the order they were made.
#[derive(Clone, Debug, Default)]
pub struct DecisionLog {
    pub enabled: bool,
    pub entries: Vec<Decision>,
}

impl DecisionLog {
    pub fn push(&mut self, d: Decision) {
        if self.enabled {
            self.entries.push(d);
        }
    }

    /// Every score plugin name that appears, in first-seen order (the CSV's score columns).
    pub fn score_columns(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for d in &self.entries {
            for (name, _) in &d.record.score_plugins {
                if seen.insert(name.clone()) {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    /// `decisions.csv` rows: one per examined node per attempt.
    pub fn csv_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let plugins = self.score_columns();
        let mut header: Vec<String> =
            ["time_ms", "namespace", "pod", "attempt", "node", "feasible", "failed_plugin", "reason"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        header.extend(plugins.iter().cloned());
        header.extend(["total".to_string(), "selected".to_string()]);
        let mut rows = Vec::new();
        for d in &self.entries {
            for v in &d.record.verdicts {
                let scores = d.record.scores.iter().find(|s| s.node == v.node);
                let mut row = vec![
                    d.time.as_millis().to_string(),
                    d.namespace.clone(),
                    d.pod.clone(),
                    d.attempt.to_string(),
                    v.node.clone(),
                    v.rejection.is_none().to_string(),
                    v.rejection.as_ref().map(|r| r.0.clone()).unwrap_or_default(),
                    v.rejection.as_ref().map(|r| r.1.clone()).unwrap_or_default(),
                ];
                for p in &plugins {
                    let cell = scores
                        .and_then(|s| {
                            let i = d.record.score_plugins.iter().position(|(n, _)| n == p)?;
                            s.scores.get(i).copied().flatten()
                        })
                        .map(|x| x.to_string())
                        .unwrap_or_default();
                    row.push(cell);
                }
                row.push(scores.map(|s| s.total.to_string()).unwrap_or_default());
                row.push((d.bound_to.as_deref() == Some(v.node.as_str())).to_string());
                rows.push(row);
            }
        }
        (header, rows)
    }
}

/// `kubesim explain`'s text for one attempt.
pub fn explain_text(d: &Decision, clock: impl Fn(SimTime) -> String) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "attempt {} at {} by {} for {}/{}:",
        d.attempt,
        clock(d.time),
        d.scheduler_name,
        d.namespace,
        d.pod
    );
    let r = &d.record;
    if let Some((plugin, msg)) = &r.pre_filter_rejection {
        let _ = writeln!(out, "  PreFilter rejected the pod ({plugin}): {msg}");
    }
    if !r.verdicts.is_empty() {
        let _ = writeln!(out, "  filter:");
        let width = r.verdicts.iter().map(|v| v.node.len()).max().unwrap_or(4);
        for v in &r.verdicts {
            match &v.rejection {
                None => {
                    let _ = writeln!(out, "    {:<width$}  fits", v.node);
                }
                Some((plugin, reason)) => {
                    let _ = writeln!(out, "    {:<width$}  rejected by {plugin}: {reason}", v.node);
                }
            }
        }
        if r.not_examined > 0 {
            let _ = writeln!(
                out,
                "    ({} more node(s) not examined: enough feasible nodes were found)",
                r.not_examined
            );
        }
    }
    if let Some(why) = &r.scoring_skipped {
        let _ = writeln!(out, "  scoring skipped: {why}");
    } else if !r.scores.is_empty() {
        let _ = writeln!(out, "  score (normalized score × weight):");
        let width = r.scores.iter().map(|s| s.node.len()).max().unwrap_or(4);
        for s in &r.scores {
            let mut parts = Vec::new();
            for ((name, weight), score) in r.score_plugins.iter().zip(&s.scores) {
                match score {
                    Some(x) => parts.push(format!("{name} {x}×{weight}")),
                    None => parts.push(format!("{name} skip")),
                }
            }
            let mark = if d.bound_to.as_deref() == Some(s.node.as_str()) { "  ← selected" } else { "" };
            let _ =
                writeln!(out, "    {:<width$}  total {:>4}  = {}{mark}", s.node, s.total, parts.join(" + "));
        }
    }
    match (&d.bound_to, &d.failure) {
        (Some(node), _) => {
            let _ = writeln!(out, "  → bound to {node}");
        }
        (None, Some(msg)) => {
            let _ = writeln!(out, "  → unschedulable: {msg}");
        }
        _ => {}
    }
    if let Some((node, victims)) = &d.nominated {
        let _ = writeln!(
            out,
            "  → preemption nominated {node}, evicting {}",
            if victims.is_empty() { "nothing".to_string() } else { victims.join(", ") }
        );
    }
    out
}
