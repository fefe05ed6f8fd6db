//! The files `kubesim run --out DIR` writes. Everything is rendered in memory first, written to
//! a hidden staging folder inside DIR, and only then renamed into place, so an error never
//! leaves half-written files behind.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::network::TrafficRecord;
use crate::scenario::expect::Verdict;
use crate::simulation::{Outcome, Simulation};

/// `summary.yaml`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    pub end_time: String,
    pub end_time_ms: u64,
    pub events_processed: u64,
    pub event_hash: String,
    pub outcome: String,
    pub expectations_passed: usize,
    pub expectations_failed: usize,
    pub expectations: Vec<ExpectationSummary>,
    /// Requests per destination (as the scenario wrote it) and how they ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficSummary>,
}

#[derive(Debug, Serialize)]
pub struct TrafficSummary {
    pub destination: String,
    pub requests: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Count per outcome (`ok`, `rejected`, `refused`, `timeout`, …).
    pub outcomes: std::collections::BTreeMap<String, usize>,
}

/// Requests grouped by destination, in the order destinations first appear.
pub fn traffic_summary(log: &[TrafficRecord]) -> Vec<TrafficSummary> {
    let mut out: Vec<TrafficSummary> = Vec::new();
    for r in log {
        let i = match out.iter().position(|t| t.destination == r.destination) {
            Some(i) => i,
            None => {
                out.push(TrafficSummary {
                    destination: r.destination.clone(),
                    requests: 0,
                    succeeded: 0,
                    failed: 0,
                    outcomes: Default::default(),
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        t.requests += 1;
        if r.outcome.is_ok() {
            t.succeeded += 1;
        } else {
            t.failed += 1;
        }
        *t.outcomes.entry(r.outcome.as_str().to_string()).or_default() += 1;
    }
    out
}

#[derive(Debug, Serialize)]
pub struct ExpectationSummary {
    pub expectation: String,
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    pub found: String,
}

pub fn outcome_text(o: Option<&Outcome>) -> String {
    match o {
        Some(Outcome::Completed) => "completed".into(),
        Some(Outcome::EventLimit { limit }) => {
            format!("stopped: reached the event limit ({limit} events)")
        }
        Some(Outcome::InvariantViolated { message }) => {
            format!("stopped: invariant violated: {message}")
        }
        None => "running".into(),
    }
}

pub fn summary(sim: &Simulation) -> Summary {
    let results = sim.results();
    let expectations: Vec<ExpectationSummary> = results
        .iter()
        .map(|r| ExpectationSummary {
            expectation: r.expectation.text.clone(),
            result: match r.verdict {
                Verdict::Passed { .. } => "passed".into(),
                Verdict::Failed { .. } => "failed".into(),
                Verdict::Pending => "pending".into(),
            },
            at_ms: match r.verdict {
                Verdict::Passed { at } => Some(at.as_millis()),
                _ => None,
            },
            found: match &r.verdict {
                Verdict::Failed { found } => found.clone(),
                _ => r.last_found.clone(),
            },
        })
        .collect();
    let passed = results.iter().filter(|r| r.passed()).count();
    Summary {
        scenario: sim.scenario.name.clone(),
        file: sim.scenario.path.display().to_string(),
        seed: sim.seed(),
        end_time: sim.now().to_string(),
        end_time_ms: sim.now().as_millis(),
        events_processed: sim.engine().events_delivered(),
        event_hash: format!("{:016x}", sim.event_hash()),
        outcome: outcome_text(sim.outcome()),
        expectations_passed: passed,
        expectations_failed: results.len() - passed,
        expectations,
        traffic: traffic_summary(&sim.engine().net.log),
    }
}

fn csv_text(rows: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>) -> std::io::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    rows(&mut w).map_err(std::io::Error::other)?;
    let bytes = w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

fn opt(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Every output file's name and content.
pub fn render(sim: &Simulation) -> std::io::Result<Vec<(&'static str, String)>> {
    let events = csv_text(|w| {
        w.write_record(["time_ms", "source", "type", "reason", "kind", "namespace", "name", "message"])?;
        for e in sim.trace() {
            w.write_record([
                &e.time.as_millis().to_string(),
                &e.source,
                &e.type_,
                &e.reason,
                &e.kind,
                &e.namespace,
                &e.name,
                &e.message,
            ])?;
        }
        Ok(())
    })?;
    let rec = sim.recorder();
    let pods = csv_text(|w| {
        w.write_record([
            "namespace",
            "name",
            "owner",
            "node",
            "created_ms",
            "scheduled_ms",
            "started_ms",
            "ready_ms",
            "deletion_ms",
            "deleted_ms",
            "phase",
            "restarts",
        ])?;
        for p in &rec.pods {
            w.write_record([
                &p.namespace,
                &p.name,
                &p.owner,
                &p.node,
                &opt(p.created_ms),
                &opt(p.scheduled_ms),
                &opt(p.started_ms),
                &opt(p.ready_ms),
                &opt(p.deletion_ms),
                &opt(p.deleted_ms),
                &p.phase,
                &p.restarts.to_string(),
            ])?;
        }
        Ok(())
    })?;
    let conditions = csv_text(|w| {
        w.write_record(["time_ms", "node", "condition", "status", "reason"])?;
        for c in &rec.conditions {
            w.write_record([&c.time_ms.to_string(), &c.node, &c.condition, &c.status, &c.reason])?;
        }
        Ok(())
    })?;
    let taints = csv_text(|w| {
        w.write_record(["time_ms", "node", "op", "key", "value", "effect"])?;
        for t in &rec.taints {
            w.write_record([&t.time_ms.to_string(), &t.node, t.op, &t.key, &t.value, &t.effect])?;
        }
        Ok(())
    })?;
    let traffic = csv_text(|w| {
        w.write_record([
            "time_ms",
            "source",
            "destination",
            "service",
            "endpoint",
            "endpoint_ip",
            "node",
            "outcome",
        ])?;
        for r in &sim.engine().net.log {
            w.write_record([
                &r.time.as_millis().to_string(),
                &r.source,
                &r.destination,
                &r.service,
                &r.endpoint,
                &r.endpoint_ip,
                &r.node,
                r.outcome.as_str(),
            ])?;
        }
        Ok(())
    })?;
    let summary = serde_yaml::to_string(&summary(sim)).map_err(std::io::Error::other)?;
    let mut files = vec![
        ("events.csv", events),
        ("pods.csv", pods),
        ("node_conditions.csv", conditions),
        ("node_taints.csv", taints),
        ("traffic.csv", traffic),
        ("summary.yaml", summary),
    ];
    let log = &sim.engine().decisions;
    if log.enabled {
        let (header, rows) = log.csv_rows();
        let decisions = csv_text(|w| {
            w.write_record(&header)?;
            for r in &rows {
                w.write_record(r)?;
            }
            Ok(())
        })?;
        files.push(("decisions.csv", decisions));
    }
    Ok(files)
}

/// Writes the files into `dir` atomically (staging folder, then renames).
pub fn write_all(dir: &Path, files: &[(&'static str, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let staging = dir.join(".kubesim-staging");
    let result = (|| {
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        for (name, content) in files {
            std::fs::write(staging.join(name), content)?;
        }
        for (name, _) in files {
            std::fs::rename(staging.join(name), dir.join(name))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// The expectation report printed after a run.
pub fn expectation_report(sim: &Simulation) -> String {
    let mut out = String::new();
    let results = sim.results();
    if results.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nEXPECTATIONS");
    for r in results {
        match &r.verdict {
            Verdict::Passed { at } => {
                let _ = writeln!(out, "  PASS  {}  (held at {at}: {})", r.expectation.text, r.last_found);
            }
            Verdict::Failed { found } => {
                let _ = writeln!(out, "  FAIL  {}\n        found: {found}", r.expectation.text);
            }
            Verdict::Pending => {
                let _ = writeln!(out, "  ....  {}", r.expectation.text);
            }
        }
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let _ = writeln!(out, "  {passed}/{} expectations passed", results.len());
    out
}
