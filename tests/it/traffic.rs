//! Requests through kube-proxy's rules in a running cluster: NodePorts with both external
//! traffic policies, ClientIP session affinity, and the spread of connections over endpoints.

use std::collections::BTreeMap;
use std::path::Path;

use kubesim::network::{Outcome, TrafficRecord};
use kubesim::sim::SimTime;
use kubesim::{RunOptions, Simulation};

const SCENARIO: &str = r#"
name: traffic
seed: 4
until: 3m
nodes:
  - name: worker
    count: 3
    capacity: {cpu: "4", memory: 8Gi, pods: 110}
    images: {nginx:1.27: 70Mi, busybox:1.36: 4Mi}
objects:
  - apiVersion: v1
    kind: Pod
    metadata: {name: client}
    spec:
      nodeName: worker-3
      containers: [{name: shell, image: busybox:1.36}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: edge, labels: {app: edge}}
    spec:
      nodeName: worker-1
      containers: [{name: nginx, image: nginx:1.27, ports: [{containerPort: 80}]}]
  - apiVersion: v1
    kind: Service
    metadata: {name: edge-local}
    spec:
      type: NodePort
      externalTrafficPolicy: Local
      selector: {app: edge}
      ports: [{port: 80, nodePort: 30080}]
  - apiVersion: v1
    kind: Service
    metadata: {name: edge-cluster}
    spec:
      type: NodePort
      selector: {app: edge}
      ports: [{port: 80, nodePort: 30081}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: nginx, image: nginx:1.27, ports: [{containerPort: 80}]}]
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{port: 80}]
  - apiVersion: v1
    kind: Service
    metadata: {name: sticky}
    spec:
      selector: {app: web}
      sessionAffinity: ClientIP
      ports: [{port: 80}]
traffic:
  - {from: external, to: "node/worker-1:30080", rate: 5, start: 30s, stop: 60s}
  - {from: external, to: "node/worker-2:30080", rate: 5, start: 30s, stop: 60s}
  - {from: external, to: "node/worker-2:30081", rate: 5, start: 30s, stop: 60s}
  - {from: pod/client, to: "svc/web:80", rate: 100, start: 60s, stop: 90s}
  - {from: pod/client, to: "svc/sticky:80", rate: 10, start: 90s, stop: 120s}
"#;

fn run() -> Vec<TrafficRecord> {
    let scn = kubesim::scenario::parse(SCENARIO, Path::new("traffic.yaml")).expect("valid scenario");
    let mut sim =
        Simulation::new(scn, &RunOptions { check_invariants: true, ..Default::default() }).expect("setup");
    sim.run_until(SimTime(180_000));
    sim.engine().net.log.clone()
}

fn outcomes<'a>(log: &'a [TrafficRecord], to: &str) -> BTreeMap<&'a str, usize> {
    let mut out = BTreeMap::new();
    for r in log.iter().filter(|r| r.destination == to) {
        *out.entry(r.outcome.as_str()).or_default() += 1;
    }
    out
}

#[test]
fn node_ports_follow_the_external_traffic_policy() {
    let log = run();
    // Local: only the node with the endpoint answers; the other drops the connection
    // (KUBE-EXT "has no local endpoints").
    assert_eq!(outcomes(&log, "node/worker-1:30080"), BTreeMap::from([("ok", 150)]));
    assert_eq!(outcomes(&log, "node/worker-2:30080"), BTreeMap::from([("timeout", 150)]));
    // Cluster: any node forwards to the endpoint on worker-1.
    let cluster: Vec<&TrafficRecord> =
        log.iter().filter(|r| r.destination == "node/worker-2:30081").collect();
    assert_eq!(cluster.len(), 150);
    assert!(cluster
        .iter()
        .all(|r| r.outcome == Outcome::Ok && r.endpoint == "default/edge" && r.node == "worker-1"));
}

#[test]
fn connections_spread_evenly_and_affinity_sticks() {
    let log = run();
    let mut per_endpoint: BTreeMap<&str, usize> = BTreeMap::new();
    for r in log.iter().filter(|r| r.destination == "svc/web:80") {
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        *per_endpoint.entry(r.endpoint.as_str()).or_default() += 1;
    }
    assert_eq!(per_endpoint.len(), 3, "{per_endpoint:?}");
    // 3000 requests, a third each: within ±5 percentage points (3 sigma is about ±2.6).
    for (pod, n) in &per_endpoint {
        assert!((850..=1150).contains(n), "{pod}: {n} of 3000");
    }
    let sticky: std::collections::BTreeSet<&str> =
        log.iter().filter(|r| r.destination == "svc/sticky:80").map(|r| r.endpoint.as_str()).collect();
    assert_eq!(sticky.len(), 1, "ClientIP affinity sends one client to one endpoint: {sticky:?}");
    // Same seed, same choices.
    assert_eq!(run(), log);
}
