//! Criterion benches for one kube-scheduler cycle (filter + score + select) with the default
//! profile, on clusters of 100, 1,000 and 5,000 nodes, for the three workloads upstream's
//! scheduler_perf reports floors for: plain pods, pods with a hard zone topology spread
//! constraint, and pods with required pod anti-affinity on the hostname. Each iteration
//! schedules one pod against a fixed cluster (the pod is not added), so the figure is the cost
//! of a cycle. Results are recorded in reports/scheduler-performance.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use k8s_openapi::api::core::v1::{
    Affinity, Container, Node, NodeStatus, Pod, PodAffinityTerm, PodAntiAffinity, PodSpec,
    ResourceRequirements, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use rand::SeedableRng;

use kubesim::scheduler::cache::Cache;

// The `kubesim` binary's allocator and settings (`kubesim::allocator`), so the figures are the
// simulator's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use kubesim::scheduler::cycle::{self, CycleContext, NominatedPods};
use kubesim::scheduler::framework::config::SchedulerConfig;
use kubesim::scheduler::framework::registry::Registry;

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

fn node(i: usize) -> Node {
    let name = format!("node-{i}");
    let labels = [
        ("kubernetes.io/hostname".to_string(), name.clone()),
        ("topology.kubernetes.io/zone".to_string(), format!("zone-{}", i % 3)),
    ]
    .into();
    Node {
        metadata: ObjectMeta { name: Some(name), labels: Some(labels), ..Default::default() },
        status: Some(NodeStatus {
            allocatable: Some(quantities(&[("cpu", "32"), ("memory", "128Gi"), ("pods", "110")])),
            capacity: Some(quantities(&[("cpu", "32"), ("memory", "128Gi"), ("pods", "110")])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod(name: &str, app: &str, kind: Workload) -> Pod {
    let labels: BTreeMap<String, String> = [("app".to_string(), app.to_string())].into();
    let selector = LabelSelector { match_labels: Some(labels.clone()), ..Default::default() };
    let mut spec = PodSpec {
        containers: vec![Container {
            name: "c".into(),
            image: Some("registry.k8s.io/pause:3.10".into()),
            resources: Some(ResourceRequirements {
                requests: Some(quantities(&[("cpu", "100m"), ("memory", "256Mi")])),
                ..Default::default()
            }),
            ..Default::default()
        }],
        priority: Some(0),
        ..Default::default()
    };
    match kind {
        Workload::Plain => {}
        Workload::TopologySpread => {
            spec.topology_spread_constraints = Some(vec![TopologySpreadConstraint {
                max_skew: 1,
                topology_key: "topology.kubernetes.io/zone".into(),
                when_unsatisfiable: "DoNotSchedule".into(),
                label_selector: Some(selector),
                ..Default::default()
            }]);
        }
        Workload::AntiAffinity => {
            spec.affinity = Some(Affinity {
                pod_anti_affinity: Some(PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                        label_selector: Some(selector),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
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

#[derive(Clone, Copy)]
enum Workload {
    Plain,
    TopologySpread,
    AntiAffinity,
}

/// `nodes` nodes; every fifth node runs one pod of the same workload (as scheduler_perf's
/// init pods), bound.
fn cluster(nodes: usize, kind: Workload) -> Cache {
    let mut cache = Cache::default();
    for i in 0..nodes {
        cache.upsert_node(&node(i));
    }
    for i in (0..nodes).step_by(5) {
        let mut p = pod(&format!("init-{i}"), "bench", kind);
        p.spec.as_mut().unwrap().node_name = Some(format!("node-{i}"));
        cache.upsert_pod(Arc::from(format!("uid-init-{i}")), &p);
    }
    cache
}

fn cycles(c: &mut Criterion) {
    kubesim::allocator::configure();
    let profiles = SchedulerConfig::default().build(&Registry::in_tree()).expect("default profile");
    let profile = &profiles[0];
    let nominated = NominatedPods::new();
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::chrono::DateTime::UNIX_EPOCH);
    let mut group = c.benchmark_group("scheduling-cycle");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for (label, kind) in [
        ("plain", Workload::Plain),
        ("topology-spread", Workload::TopologySpread),
        ("anti-affinity", Workload::AntiAffinity),
    ] {
        for nodes in [100, 1000, 5000] {
            let mut cache = cluster(nodes, kind);
            let incoming = pod("incoming", "bench", kind);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let mut start = 0;
            let mut cycle = || {
                cycle::schedule_pod(
                    profile,
                    &incoming,
                    CycleContext {
                        snapshot: cache.snapshot(),
                        nominated: &nominated,
                        next_start_node_index: &mut start,
                        rng: &mut rng,
                        cycle_seed: 1,
                        now: now.clone(),
                        record: None,
                    },
                )
            };
            // The pod must schedule: a bench of a failing cycle would measure something else.
            let probe = cycle();
            assert!(matches!(probe, cycle::Outcome::Scheduled { .. }), "{label}/{nodes}: {probe:?}");
            group.bench_function(format!("{label}/{nodes}-nodes"), |b| b.iter(&mut cycle));
        }
    }
    group.finish();
}

criterion_group!(benches, cycles);
criterion_main!(benches);
