//! Criterion benches for the engine (whole-cluster runs, events per second) and the etcd model.
//! Results and the commands that produced them are recorded in reports/performance.md.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kubesim::store::{KeyRange, Store};
use kubesim::{RunOptions, Simulation};

// The `kubesim` binary's allocator and settings (`kubesim::allocator`), so the figures here are
// the command's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An idle cluster of `nodes` workers plus `replicas` nginx pods, run for `until`.
fn cluster_yaml(nodes: usize, replicas: usize, until: &str) -> String {
    format!(
        "name: bench\nseed: 1\nuntil: {until}\nnodes:\n  - {{name: worker, count: {nodes}, capacity: {{cpu: \"8\", memory: 32Gi}}}}\n\
objects:\n  - apiVersion: apps/v1\n    kind: ReplicaSet\n    metadata: {{name: web}}\n    spec:\n      replicas: {replicas}\n      selector: {{matchLabels: {{app: web}}}}\n      template:\n        metadata: {{labels: {{app: web}}}}\n        spec: {{containers: [{{name: nginx, image: nginx:1.27, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]}}\n"
    )
}

fn simulation(yaml: &str) -> Simulation {
    let scn = kubesim::scenario::parse(yaml, Path::new("bench.yaml")).expect("bench scenario is valid");
    Simulation::new(scn, &RunOptions::default()).expect("setup")
}

fn engine(c: &mut Criterion) {
    kubesim::allocator::configure();
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for (nodes, replicas, until) in [(10, 30, "10m"), (100, 300, "10m")] {
        let yaml = cluster_yaml(nodes, replicas, until);
        let mut probe = simulation(&yaml);
        probe.run();
        group.throughput(Throughput::Elements(probe.engine().events_delivered()));
        group.bench_function(format!("cluster-{nodes}-nodes-{replicas}-pods-{until}"), |b| {
            b.iter_batched(|| simulation(&yaml), |mut sim| sim.run().clone(), BatchSize::LargeInput)
        });
    }
    group.finish();
}

fn store(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    let keys: Vec<String> = (0..10_000).map(|i| format!("/registry/pods/ns-{}/pod-{i}", i % 10)).collect();
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("put-10k-keys", |b| {
        b.iter(|| {
            let mut s: Store<u64> = Store::new();
            for (i, k) in keys.iter().enumerate() {
                s.put(k, Arc::new(i as u64));
            }
            s.revision()
        })
    });
    let mut full: Store<u64> = Store::new();
    for (i, k) in keys.iter().enumerate() {
        full.put(k, Arc::new(i as u64));
    }
    group.bench_function("update-10k-keys", |b| {
        b.iter_batched(
            || {
                let mut s: Store<u64> = Store::new();
                for (i, k) in keys.iter().enumerate() {
                    s.put(k, Arc::new(i as u64));
                }
                s
            },
            |mut s| {
                for (i, k) in keys.iter().enumerate() {
                    s.put(k, Arc::new(i as u64 + 1));
                }
                s.revision()
            },
            BatchSize::LargeInput,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("range-prefix-1k-of-10k", |b| {
        b.iter(|| full.range(&KeyRange::Prefix("/registry/pods/ns-3/".into()), 0).map(|v| v.len()))
    });
    group.bench_function("get-one-key", |b| {
        b.iter(|| full.get("/registry/pods/ns-7/pod-4567").map(|kv| kv.mod_revision))
    });
    group.finish();
}

/// An idle cluster (no workloads): leases, status reports and node-controller passes only.
fn idle(c: &mut Criterion) {
    kubesim::allocator::configure();
    let mut group = c.benchmark_group("idle");
    group.sample_size(10);
    let yaml = "name: idle\nseed: 1\nuntil: 10m\nnodes:\n  - {name: worker, count: 5000, capacity: {cpu: \"8\", memory: 32Gi}}\n";
    let mut probe = simulation(yaml);
    probe.run();
    group.throughput(Throughput::Elements(probe.engine().events_delivered()));
    group.bench_function("5000-nodes-10m", |b| {
        b.iter_batched(|| simulation(yaml), |mut sim| sim.run().clone(), BatchSize::LargeInput)
    });
    group.finish();
}

criterion_group!(benches, engine, store, idle);
criterion_main!(benches);
