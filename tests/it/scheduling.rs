//! Properties of the kube-scheduler model, on random clusters and pods:
//! - a chosen node passes every filter of the profile (checked again from a fresh cycle) and
//!   has the highest total of the scored nodes; a pod found unschedulable was rejected by
//!   every node;
//! - binding never over-commits a node (cpu, memory, pods), checked over whole simulations by
//!   the invariant checker and on every recorded decision;
//! - the same seed gives the same choices, decision by decision.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Affinity, Container, Node, NodeSpec, NodeStatus, Pod, PodAffinityTerm, PodAntiAffinity, PodSpec,
    ResourceRequirements, Taint, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use proptest::prelude::*;
use rand::SeedableRng;

use kubesim::api::pod as podutil;
use kubesim::scheduler::cache::Cache;
use kubesim::scheduler::cycle::{self, CycleContext, CycleRecord, NominatedPods, Outcome};
use kubesim::scheduler::framework::config::SchedulerConfig;
use kubesim::scheduler::framework::registry::Registry;
use kubesim::scheduler::framework::CycleState;
use kubesim::{RunOptions, Simulation};

#[derive(Debug, Clone)]
struct NodeSpecCase {
    cpu_m: u32,
    mem_mi: u32,
    zone: u8,
    tainted: bool,
    disk: bool,
}

#[derive(Debug, Clone)]
struct PodCase {
    cpu_m: u32,
    mem_mi: u32,
    app: u8,
    /// 0 none, 1 nodeSelector disk=ssd, 2 tolerates the taint, 3 hard zone spread, 4 required
    /// hostname anti-affinity, 5 soft zone spread.
    constraint: u8,
}

fn node_case() -> impl Strategy<Value = NodeSpecCase> {
    (500u32..4000, 512u32..8192, 0u8..3, prop::bool::weighted(0.2), any::<bool>())
        .prop_map(|(cpu_m, mem_mi, zone, tainted, disk)| NodeSpecCase { cpu_m, mem_mi, zone, tainted, disk })
}

fn pod_case() -> impl Strategy<Value = PodCase> {
    (0u32..1500, 0u32..2048, 0u8..3, 0u8..6).prop_map(|(cpu_m, mem_mi, app, constraint)| PodCase {
        cpu_m,
        mem_mi,
        app,
        constraint,
    })
}

fn quantities(pairs: &[(&str, String)]) -> BTreeMap<String, Quantity> {
    pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.clone()))).collect()
}

fn node(i: usize, c: &NodeSpecCase) -> Node {
    let name = format!("n{i}");
    let mut labels: BTreeMap<String, String> = [
        ("kubernetes.io/hostname".to_string(), name.clone()),
        ("topology.kubernetes.io/zone".to_string(), format!("z{}", c.zone)),
    ]
    .into();
    if c.disk {
        labels.insert("disk".into(), "ssd".into());
    }
    let alloc = quantities(&[
        ("cpu", format!("{}m", c.cpu_m)),
        ("memory", format!("{}Mi", c.mem_mi)),
        ("pods", "8".into()),
    ]);
    Node {
        metadata: ObjectMeta { name: Some(name), labels: Some(labels), ..Default::default() },
        spec: Some(NodeSpec {
            taints: c.tainted.then(|| {
                vec![Taint {
                    key: "dedicated".into(),
                    value: Some("gpu".into()),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            allocatable: Some(alloc.clone()),
            capacity: Some(alloc),
            ..Default::default()
        }),
    }
}

fn pod(name: &str, c: &PodCase) -> Pod {
    let app = format!("app{}", c.app);
    let labels: BTreeMap<String, String> = [("app".to_string(), app)].into();
    let selector = LabelSelector { match_labels: Some(labels.clone()), ..Default::default() };
    let mut requests = Vec::new();
    if c.cpu_m > 0 {
        requests.push(("cpu", format!("{}m", c.cpu_m)));
    }
    if c.mem_mi > 0 {
        requests.push(("memory", format!("{}Mi", c.mem_mi)));
    }
    let mut spec = PodSpec {
        containers: vec![Container {
            name: "c".into(),
            image: Some("nginx:1.27".into()),
            resources: Some(ResourceRequirements {
                requests: Some(quantities(&requests)),
                ..Default::default()
            }),
            ..Default::default()
        }],
        priority: Some(0),
        ..Default::default()
    };
    let spread = |when: &str| TopologySpreadConstraint {
        max_skew: 1,
        topology_key: "topology.kubernetes.io/zone".into(),
        when_unsatisfiable: when.into(),
        label_selector: Some(selector.clone()),
        ..Default::default()
    };
    match c.constraint {
        1 => spec.node_selector = Some([("disk".to_string(), "ssd".to_string())].into()),
        2 => {
            spec.tolerations = Some(vec![Toleration {
                key: Some("dedicated".into()),
                operator: Some("Equal".into()),
                value: Some("gpu".into()),
                effect: Some("NoSchedule".into()),
                ..Default::default()
            }])
        }
        3 => spec.topology_spread_constraints = Some(vec![spread("DoNotSchedule")]),
        4 => {
            spec.affinity = Some(Affinity {
                pod_anti_affinity: Some(PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                        label_selector: Some(selector.clone()),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            })
        }
        5 => spec.topology_spread_constraints = Some(vec![spread("ScheduleAnyway")]),
        _ => {}
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(labels),
            ..Default::default()
        },
        spec: Some(spec),
        ..Default::default()
    }
}

fn epoch_time() -> Time {
    Time(k8s_openapi::chrono::DateTime::UNIX_EPOCH)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(20261203), failure_persistence: None, ..ProptestConfig::default() })]

    /// Places the existing pods through the scheduler itself (so the cluster is one it could
    /// have produced), then checks the incoming pod's cycle.
    #[test]
    fn chosen_node_passes_every_filter_and_has_the_highest_total(
        nodes in prop::collection::vec(node_case(), 1..8),
        existing in prop::collection::vec(pod_case(), 0..12),
        incoming in pod_case(),
        seed in any::<u64>(),
    ) {
        let profiles = SchedulerConfig::default().build(&Registry::in_tree()).unwrap();
        let profile = &profiles[0];
        let mut cache = Cache::default();
        for (i, n) in nodes.iter().enumerate() {
            cache.upsert_node(&node(i, n));
        }
        let nominated = NominatedPods::new();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut start = 0;
        let run = |cache: &mut Cache, p: &Pod, rng: &mut rand_chacha::ChaCha8Rng, start: &mut usize| {
            let mut record = CycleRecord::default();
            let outcome = cycle::schedule_pod(profile, p, CycleContext {
                snapshot: cache.snapshot(),
                nominated: &nominated,
                next_start_node_index: start,
                rng,
                cycle_seed: 1,
                now: epoch_time(),
                record: Some(&mut record),
            });
            (outcome, record)
        };
        for (i, c) in existing.iter().chain(std::iter::once(&incoming)).enumerate() {
            let p = pod(&format!("p{i}"), c);
            let (outcome, record) = run(&mut cache, &p, &mut rng, &mut start);
            match outcome {
                Outcome::Scheduled { node } => {
                    // Independently: a fresh PreFilter + every Filter accept the node.
                    let snapshot = cache.snapshot();
                    let mut state = CycleState::new(1);
                    let (_, pre, _) = profile.run_pre_filter(&mut state, &p, &snapshot);
                    prop_assert!(pre.is_success(), "PreFilter rejected a pod that was scheduled: {pre:?}");
                    let info = cache.node(&node).unwrap();
                    let verdict = profile.run_filters(&state, &p, info);
                    prop_assert!(verdict.is_success(), "{node} fails {verdict:?}");
                    // No over-commit.
                    let req = podutil::pod_requests(&p);
                    prop_assert!(info.requested.milli_cpu + req.milli_cpu <= info.allocatable.milli_cpu);
                    prop_assert!(info.requested.memory + req.memory <= info.allocatable.memory);
                    prop_assert!(info.pod_count < info.allocatable.pods);
                    // The highest total among the scored nodes.
                    if let Some(mine) = record.scores.iter().find(|s| s.node == node) {
                        let best = record.scores.iter().map(|s| s.total).max().unwrap();
                        prop_assert_eq!(mine.total, best);
                    }
                    let mut bound = p.clone();
                    bound.spec.as_mut().unwrap().node_name = Some(node.clone());
                    cache.upsert_pod(Arc::from(format!("uid-p{i}")), &bound);
                }
                Outcome::Unschedulable { message, .. } => {
                    // Fewer than 100 nodes: every node was examined and rejected it.
                    prop_assert!(record.pre_filter_rejection.is_some() || record.verdicts.len() == nodes.len(), "{record:?}");
                    prop_assert!(record.verdicts.iter().all(|v| v.rejection.is_some()), "{record:?}");
                    prop_assert!(message.starts_with(&format!("0/{} nodes are available", nodes.len())), "{message}");
                }
                Outcome::Error(e) => prop_assert!(false, "scheduling error: {e}"),
            }
        }
    }
}

/// A cluster of random nodes and ReplicaSets as a scenario file.
fn scenario(seed: u64, nodes: &[(u32, u32)], sets: &[(u32, u32, u8)]) -> String {
    let mut y = format!("name: scheduling-property\nseed: {seed}\nuntil: 2m\nnodes:\n");
    for (i, (cpu, mem)) in nodes.iter().enumerate() {
        y.push_str(&format!(
            "  - {{name: n{i}, capacity: {{cpu: {cpu}m, memory: {mem}Mi, pods: \"10\"}}, labels: {{topology.kubernetes.io/zone: z{}}}}}\n",
            i % 2
        ));
    }
    y.push_str("objects:\n");
    for (j, (replicas, cpu, kind)) in sets.iter().enumerate() {
        let extra = match kind {
            1 => ", topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: s".to_string() + &j.to_string() + "}}}]",
            2 => ", affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: s".to_string() + &j.to_string() + "}}}]}}",
            _ => String::new(),
        };
        y.push_str(&format!(
            "  - {{apiVersion: apps/v1, kind: ReplicaSet, metadata: {{name: s{j}}}, spec: {{replicas: {replicas}, selector: {{matchLabels: {{app: s{j}}}}}, template: {{metadata: {{labels: {{app: s{j}}}}}, spec: {{containers: [{{name: c, image: nginx:1.27, resources: {{requests: {{cpu: {cpu}m, memory: 64Mi}}}}}}]{extra}}}}}}}}}\n"
        ));
    }
    y
}

fn run_with_decisions(yaml: &str) -> Simulation {
    let scn = kubesim::scenario::parse(yaml, Path::new("scheduling-property.yaml")).expect("valid scenario");
    let mut sim = Simulation::new(
        scn,
        &RunOptions { check_invariants: true, record_decisions: true, ..Default::default() },
    )
    .expect("setup");
    sim.run();
    sim
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: proptest::test_runner::RngSeed::Fixed(20261204), failure_persistence: None, ..ProptestConfig::default() })]

    /// Whole simulations: the invariant checker (no node over-committed, no pod bound twice)
    /// holds at every event, every bound decision chose a feasible node with the highest
    /// total, and a second run with the same seed makes the same decisions.
    #[test]
    fn simulations_never_over_commit_and_repeat_their_choices(
        seed in any::<u64>(),
        nodes in prop::collection::vec((500u32..3000, 512u32..4096), 1..6),
        sets in prop::collection::vec((1u32..8, 50u32..1200, 0u8..3), 1..4),
    ) {
        let yaml = scenario(seed % 1000, &nodes, &sets);
        let sim = run_with_decisions(&yaml);
        prop_assert_eq!(sim.outcome(), Some(&kubesim::Outcome::Completed), "{}", yaml);
        let decisions = &sim.engine().decisions.entries;
        prop_assert!(!decisions.is_empty(), "every ReplicaSet asks for at least one pod");
        for d in decisions {
            if let Some(node) = &d.bound_to {
                let verdict = d.record.verdicts.iter().find(|v| &v.node == node);
                prop_assert!(verdict.is_some_and(|v| v.rejection.is_none()), "{d:?}");
                if let Some(mine) = d.record.scores.iter().find(|s| &s.node == node) {
                    prop_assert_eq!(mine.total, d.record.scores.iter().map(|s| s.total).max().unwrap());
                }
            }
        }
        let again = run_with_decisions(&yaml);
        prop_assert_eq!(decisions, &again.engine().decisions.entries);
        prop_assert_eq!(sim.event_hash(), again.event_hash());
    }
}

/// A custom Filter plugin from outside the crate, registered next to the in-tree plugins and
/// enabled by the scenario's KubeSchedulerConfiguration: no pod lands on the node it rejects,
/// and its reason appears in FailedScheduling messages.
struct AvoidNode(String);

kubesim::impl_plugin!(AvoidNode, "AvoidNode", [filter]);

impl kubesim::scheduler::framework::FilterPlugin for AvoidNode {
    fn filter(
        &self,
        _: &CycleState,
        _: &Pod,
        node: &kubesim::scheduler::cache::NodeInfo,
    ) -> kubesim::scheduler::framework::Status {
        if node.name() == self.0 {
            kubesim::scheduler::framework::Status::unresolvable("node(s) avoided by policy")
        } else {
            kubesim::scheduler::framework::Status::success()
        }
    }
}

#[test]
fn a_custom_filter_plugin_runs_in_the_simulation() {
    let yaml = "name: custom\nseed: 3\nuntil: 30s\nnodes:\n  - {name: w, count: 2, capacity: {cpu: \"1\", memory: 2Gi}}\n\
config:\n  scheduler:\n    profiles:\n      - plugins: {filter: {enabled: [{name: AvoidNode}]}}\n        pluginConfig: [{name: AvoidNode, args: {node: w-1}}]\n\
objects:\n  - {apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: r}, spec: {replicas: 3, selector: {matchLabels: {app: r}}, template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: nginx:1.27, resources: {requests: {cpu: 400m}}}]}}}}\n";
    let mut registry = Registry::in_tree();
    registry.register("AvoidNode", |args| {
        let node = args.get("node").and_then(|n| n.as_str()).ok_or("node: Required value")?;
        Ok(Box::new(AvoidNode(node.to_string())))
    });
    // The in-tree registry does not know the plugin: loading without ours is an error.
    let err = kubesim::scenario::parse(yaml, Path::new("custom.yaml")).unwrap_err();
    assert!(err.to_string().contains("plugin \"AvoidNode\" does not exist"), "{err}");
    let scn =
        kubesim::scenario::parse_with_registry(yaml, Path::new("custom.yaml"), &registry).expect("valid");
    let mut sim =
        Simulation::new(scn, &RunOptions { registry: Some(registry), ..Default::default() }).expect("setup");
    sim.run();
    let pods: Vec<Pod> = sim
        .api()
        .list_all(kubesim::api::Kind::Pod)
        .iter()
        .filter_map(|o| o.as_type::<Pod>().cloned())
        .filter(|p| p.metadata.namespace.as_deref() == Some("default"))
        .collect();
    assert_eq!(pods.len(), 3);
    let on_w2 = pods.iter().filter(|p| podutil::node_name(p) == Some("w-2")).count();
    // 400m each: two fit on w-2 (1 CPU); w-1 is avoided, so the third stays Pending.
    assert_eq!(on_w2, 2);
    assert!(pods.iter().all(|p| podutil::node_name(p) != Some("w-1")));
    let pending =
        sim.trace().iter().find(|e| e.reason == "FailedScheduling").expect("a FailedScheduling event");
    assert!(pending.message.contains("1 node(s) avoided by policy"), "{}", pending.message);
}
