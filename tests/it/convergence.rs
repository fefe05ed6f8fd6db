//! Property test of eventual convergence: a random cluster with random ReplicaSets suffers
//! random faults (power loss, network partition, kubelet stop — repaired or not) during a
//! fault window; after a fault-free window long enough for the node controller's 40s grace and
//! 300s eviction, every ReplicaSet has its desired number of Ready pods on Ready nodes and no
//! live pod is left on a node the control plane considers gone. Each node is its own zone, and
//! at least one node never fails, so capacity always allows convergence. A failure prints the
//! (shrunk) scenario file that reproduces it.

use std::path::Path;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kubesim::api::pod as podutil;
use kubesim::api::Kind;
use kubesim::{Outcome, RunOptions, Simulation};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Fault {
    at_s: u64,
    node: usize,
    kind: &'static str,
    /// Seconds until repaired; `None`: never (only for power loss).
    repair_after_s: Option<u64>,
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    nodes: usize,
    sets: Vec<(u32, u32)>, // (replicas, millicores)
    faults: Vec<Fault>,
}

fn fault() -> impl Strategy<Value = Fault> {
    (10u64..240, 1usize..6, 0usize..3, prop::option::weighted(0.8, 20u64..180)).prop_map(
        |(at_s, node, k, repair)| {
            let kind = ["power-off", "partition", "stop-kubelet"][k];
            // Only power loss may be permanent; the others are always repaired.
            let repair_after_s = if kind == "power-off" { repair } else { Some(repair.unwrap_or(60)) };
            Fault { at_s, node, kind, repair_after_s }
        },
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        2usize..6,
        prop::collection::vec((1u32..4, 100u32..400), 1..4),
        prop::collection::vec(fault(), 0..5),
    )
        .prop_map(|(seed, nodes, sets, mut faults)| {
            // Node 0 never fails; one fault per node at most keeps repairs well-ordered.
            faults.retain(|f| f.node < nodes);
            faults.sort_by_key(|f| f.node);
            faults.dedup_by_key(|f| f.node);
            Case { seed, nodes, sets, faults }
        })
}

const FAULT_WINDOW_END_S: u64 = 300;
const UNTIL_S: u64 = FAULT_WINDOW_END_S + 720;

fn scenario_yaml(c: &Case) -> String {
    let mut y = format!("name: convergence\nseed: {}\nuntil: {UNTIL_S}s\nnodes:\n", c.seed);
    for i in 0..c.nodes {
        y.push_str(&format!(
            "  - {{name: n{i}, capacity: {{cpu: \"4\", memory: 16Gi, pods: 110}}, labels: {{topology.kubernetes.io/zone: z{i}}}, images: {{nginx:1.27: 70Mi}}}}\n"
        ));
    }
    y.push_str("objects:\n");
    for (i, (replicas, milli)) in c.sets.iter().enumerate() {
        y.push_str(&format!(
            "  - {{apiVersion: apps/v1, kind: ReplicaSet, metadata: {{name: rs{i}}}, spec: {{replicas: {replicas}, selector: {{matchLabels: {{app: rs{i}}}}}, template: {{metadata: {{labels: {{app: rs{i}}}}}, spec: {{containers: [{{name: c, image: nginx:1.27, resources: {{requests: {{cpu: {milli}m, memory: 64Mi}}}}}}]}}}}}}}}\n"
        ));
    }
    y.push_str("timeline:\n");
    for f in &c.faults {
        y.push_str(&format!("  - {{at: {}s, action: {}, node: n{}}}\n", f.at_s, f.kind, f.node));
        if let Some(r) = f.repair_after_s {
            let repair = match f.kind {
                "power-off" => "power-on",
                "partition" => "heal",
                _ => "start-kubelet",
            };
            let at = (f.at_s + r).min(FAULT_WINDOW_END_S);
            y.push_str(&format!("  - {{at: {at}s, action: {repair}, node: n{}}}\n", f.node));
        }
    }
    if c.faults.is_empty() {
        y.push_str("  []\n");
    }
    y
}

/// What is wrong with the cluster at the end, if anything.
fn check(sim: &Simulation) -> Result<(), String> {
    let api = sim.api();
    let ready_nodes: Vec<String> = api
        .list_all(Kind::Node)
        .iter()
        .filter_map(|o| o.as_type::<Node>())
        .filter(|n| podutil::node_condition(n, "Ready").is_some_and(|c| c.status == "True"))
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    let pods = api.list_all(Kind::Pod);
    for obj in api.list_all(Kind::ReplicaSet) {
        let rs = obj.as_type::<ReplicaSet>().expect("rs");
        let want = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as usize;
        let good = pods
            .iter()
            .filter_map(|o| o.as_type::<Pod>())
            .filter(|p| {
                podutil::controller_of(&p.metadata)
                    .is_some_and(|o| Some(&o.name) == rs.metadata.name.as_ref())
            })
            .filter(|p| p.metadata.deletion_timestamp.is_none() && podutil::is_ready(p))
            .filter(|p| podutil::node_name(p).is_some_and(|n| ready_nodes.iter().any(|r| r == n)))
            .count();
        if good != want {
            return Err(format!(
                "ReplicaSet {} has {good} Ready pods on Ready nodes, wants {want}",
                obj.name()
            ));
        }
    }
    for obj in &pods {
        let p = obj.as_type::<Pod>().expect("pod");
        if let Some(node) = podutil::node_name(p) {
            let live = p.metadata.deletion_timestamp.is_none() && !podutil::is_terminal(p);
            if live && !ready_nodes.iter().any(|r| r == node) {
                return Err(format!("pod {} is still live on {node}, which is not Ready", obj.name()));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, rng_seed: proptest::test_runner::RngSeed::Fixed(20261121), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn replica_sets_converge_after_faults(c in case()) {
        let yaml = scenario_yaml(&c);
        let scn = kubesim::scenario::parse(&yaml, Path::new("convergence.yaml")).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        let mut sim = Simulation::new(scn, &RunOptions { check_invariants: true, ..Default::default() }).expect("setup");
        let outcome = sim.run().clone();
        prop_assert_eq!(&outcome, &Outcome::Completed, "run stopped early; scenario:\n{}", yaml);
        if let Err(why) = check(&sim) {
            return Err(TestCaseError::fail(format!("no convergence: {why}\nreproduce with this scenario (kubesim run FILE):\n{yaml}")));
        }
    }
}
