//! The kubelet's node-status loop as the API sees it: a post at registration, one per
//! `nodeStatusReportFrequency` while nothing changes, and one on the first
//! `nodeStatusUpdateFrequency` beat after a condition changed (kubelet_node_status.go).

use std::path::Path;

use k8s_openapi::api::core::v1::Node;
use kubesim::sim::{SimDuration, SimTime};
use kubesim::{RunOptions, Simulation};

const SCENARIO: &str = "name: node-status-loop
seed: 1
until: 12m
nodes:
  - {name: worker, count: 1, capacity: {cpu: \"4\", memory: 8Gi}}
timeline:
  - {at: 95500ms, action: node-pressure, node: worker-1, pressure: memory}
  - {at: 213s, action: node-pressure-relieved, node: worker-1, pressure: memory}
";

/// The MemoryPressure condition's status and heartbeat (set by every post), in seconds of
/// virtual time.
fn memory_pressure(sim: &Simulation) -> (String, u64) {
    let node = sim.api().get_as::<Node>(None, "worker-1").expect("the node is registered");
    let conditions = node.status.and_then(|s| s.conditions).expect("the kubelet posts conditions");
    let c = conditions.into_iter().find(|c| c.type_ == "MemoryPressure").expect("MemoryPressure");
    let heartbeat = c.last_heartbeat_time.expect("heartbeat").0;
    let start = sim.api().epoch().time(SimTime::ZERO).0;
    (c.status, (heartbeat - start).num_seconds() as u64)
}

fn at(sim: &mut Simulation, secs: f64) -> (String, u64) {
    sim.run_until(SimTime::ZERO + SimDuration::from_millis((secs * 1000.0) as u64));
    memory_pressure(sim)
}

#[test]
fn status_is_posted_when_due_or_changed_on_the_next_beat() {
    let scn = kubesim::scenario::parse(SCENARIO, Path::new("node-status.yaml")).expect("valid scenario");
    let mut sim = Simulation::new(scn, &RunOptions::default()).expect("setup");
    let f = |s: &str, t: u64| (s.to_string(), t);
    // Registration posts at 0s; the idle beats at 10s..90s post nothing.
    assert_eq!(at(&mut sim, 95.0), f("False", 0));
    // Pressure at 95.5s: the 100s beat posts it, not earlier.
    assert_eq!(at(&mut sim, 99.9), f("False", 0));
    assert_eq!(at(&mut sim, 100.0), f("True", 100));
    // Relieved at 213s: the 220s beat.
    assert_eq!(at(&mut sim, 219.0), f("True", 100));
    assert_eq!(at(&mut sim, 220.0), f("False", 220));
    // Unchanged since: the next post is 5 minutes (nodeStatusReportFrequency) later, and the
    // one after another 5 minutes on.
    assert_eq!(at(&mut sim, 519.0), f("False", 220));
    assert_eq!(at(&mut sim, 520.0), f("False", 520));
    assert_eq!(at(&mut sim, 719.0), f("False", 520));
    assert_eq!(sim.run(), &kubesim::Outcome::Completed);
    assert_eq!(memory_pressure(&sim), f("False", 520));
}
