//! A researcher's scheduling policy as a kube-scheduler Score plugin, registered next to the
//! in-tree plugins and selected by a KubeSchedulerConfiguration in the scenario.
//!
//! `ZoneAffinityForBatch` sends pods labelled `tier=batch` to nodes in zone `zone-b` (score
//! 100) and everything else away from it (score 0). The profile disables the default score
//! plugins so the policy alone decides.
//!
//! Run with: `cargo run --release --example custom_plugin`

use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use kubesim::api::Kind;
use kubesim::scheduler::cache::{NodeInfo, Snapshot};
use kubesim::scheduler::framework::registry::Registry;
use kubesim::scheduler::framework::{CycleState, Plugin, ScorePlugin, Status};
use kubesim::{RunOptions, Simulation};

struct ZoneAffinityForBatch {
    zone: String,
}

impl Plugin for ZoneAffinityForBatch {
    fn name(&self) -> &str {
        "ZoneAffinityForBatch"
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl ScorePlugin for ZoneAffinityForBatch {
    fn score(&self, _: &CycleState, pod: &Pod, node: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
        let batch = pod.metadata.labels.as_ref().and_then(|l| l.get("tier")).is_some_and(|t| t == "batch");
        let zone = node.node.metadata.labels.as_ref().and_then(|l| l.get("topology.kubernetes.io/zone"));
        let in_zone = zone.is_some_and(|z| *z == self.zone);
        Ok(if batch == in_zone { 100 } else { 0 })
    }
}

const SCENARIO: &str = r#"
name: custom-plugin
seed: 7
until: 1m
nodes:
  - {name: a, count: 2, capacity: {cpu: "4", memory: 8Gi}, labels: {topology.kubernetes.io/zone: zone-a}}
  - {name: b, count: 2, capacity: {cpu: "4", memory: 8Gi}, labels: {topology.kubernetes.io/zone: zone-b}}
config:
  scheduler:
    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    profiles:
      - schedulerName: default-scheduler
        plugins:
          score:
            disabled: [{name: "*"}]
            enabled: [{name: ZoneAffinityForBatch, weight: 1}]
        pluginConfig:
          - name: ZoneAffinityForBatch
            args: {zone: zone-b}
objects:
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: batch}
    spec:
      replicas: 4
      selector: {matchLabels: {tier: batch}}
      template:
        metadata: {labels: {tier: batch}}
        spec: {containers: [{name: job, image: busybox:1.36, resources: {requests: {cpu: 100m}}}]}
  - apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: web}
    spec:
      replicas: 4
      selector: {matchLabels: {tier: web}}
      template:
        metadata: {labels: {tier: web}}
        spec: {containers: [{name: nginx, image: nginx:1.27, resources: {requests: {cpu: 100m}}}]}
"#;

fn main() -> anyhow::Result<()> {
    let mut registry = Registry::in_tree();
    registry.register("ZoneAffinityForBatch", |args| {
        let zone = args.get("zone").and_then(|z| z.as_str()).ok_or("args.zone: Required value")?;
        Ok(Box::new(ZoneAffinityForBatch { zone: zone.to_string() }))
    });
    // The scenario names a plugin the in-tree registry does not know, so load it with ours.
    let scenario =
        kubesim::scenario::parse_with_registry(SCENARIO, Path::new("custom-plugin.yaml"), &registry)?;
    let mut sim = Simulation::new(scenario, &RunOptions { registry: Some(registry), ..Default::default() })?;
    sim.run();
    let mut placement: Vec<(String, String)> = sim
        .api()
        .list_all(Kind::Pod)
        .iter()
        .filter_map(|o| o.as_type::<Pod>())
        .filter(|p| p.metadata.namespace.as_deref() == Some("default"))
        .map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            let node =
                p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_else(|| "<pending>".into());
            (name, node)
        })
        .collect();
    placement.sort();
    for (pod, node) in &placement {
        println!("{pod:<12} → {node}");
    }
    let batch_in_b = placement.iter().filter(|(p, n)| p.starts_with("batch-") && n.starts_with("b-")).count();
    let web_in_a = placement.iter().filter(|(p, n)| p.starts_with("web-") && n.starts_with("a-")).count();
    println!("batch pods in zone-b: {batch_in_b}/4, web pods in zone-a: {web_in_a}/4");
    Ok(())
}
