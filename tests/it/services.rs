//! The EndpointSlice and Endpoints controllers in a running cluster: a Deployment and a bare
//! pod behind one Service whose named `targetPort` resolves to a different port in each, so
//! the Service gets one EndpointSlice per port. The bare pod's readiness probe fails for a
//! while, then the pod is deleted (it takes 10s to stop), then the Service is deleted.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::{EndpointAddress, Endpoints, Pod};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use kubesim::api::pod as podutil;
use kubesim::api::Kind;
use kubesim::sim::SimTime;
use kubesim::{Outcome, RunOptions, Simulation};

const SCENARIO: &str = r#"
name: services
seed: 11
until: 2m
nodes:
  - name: worker
    count: 2
    capacity: {cpu: "4", memory: 8Gi, pods: 110}
    labels: {topology.kubernetes.io/zone: zone-a}
    images: {nginx:1.27: 70Mi}
objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: nginx
              image: nginx:1.27
              ports: [{name: http, containerPort: 8080}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: flaky, labels: {app: web, role: flaky}}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          ports: [{name: http, containerPort: 9090}]
          readinessProbe: {httpGet: {path: /, port: 9090}, periodSeconds: 1}
  - apiVersion: v1
    kind: Service
    metadata: {name: web, labels: {tier: frontend}}
    spec:
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: http}]
  - apiVersion: v1
    kind: Service
    metadata: {name: manual}
    spec:
      ports: [{port: 80}]
containerBehaviors:
  - {selector: role=flaky, readiness: {failFrom: 40s, failUntil: 50s}, stopAfter: 10s}
timeline:
  - {at: 60s, action: delete, kind: Pod, name: flaky}
  - {at: 90s, action: delete, kind: Service, name: web}
"#;

fn start() -> Simulation {
    let scn = kubesim::scenario::parse(SCENARIO, Path::new("services.yaml")).expect("valid scenario");
    Simulation::new(scn, &RunOptions { check_invariants: true, ..Default::default() }).expect("setup")
}

fn at(sim: &mut Simulation, secs: u64) {
    let outcome = sim.run_until(SimTime(secs * 1000)).cloned();
    assert!(matches!(outcome, None | Some(Outcome::Completed)), "run stopped: {outcome:?}");
}

fn pods(sim: &Simulation) -> BTreeMap<String, Pod> {
    sim.api()
        .list_all(Kind::Pod)
        .iter()
        .filter_map(|o| o.as_type::<Pod>().cloned())
        .filter(|p| p.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str) == Some("web"))
        .map(|p| (p.metadata.name.clone().unwrap(), p))
        .collect()
}

/// The Service's slices, by their (single) port number (`None`: no port).
fn slices(sim: &Simulation, service: &str) -> BTreeMap<Option<i32>, EndpointSlice> {
    sim.api()
        .list_all(Kind::EndpointSlice)
        .iter()
        .filter_map(|o| o.as_type::<EndpointSlice>().cloned())
        .filter(|s| {
            s.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")).map(String::as_str)
                == Some(service)
        })
        .map(|s| (s.ports.as_ref().and_then(|p| p.first()).and_then(|p| p.port), s))
        .collect()
}

fn endpoints(sim: &Simulation, service: &str) -> Option<Endpoints> {
    sim.api().get_as::<Endpoints>(Some("default"), service).ok()
}

fn ip(p: &Pod) -> String {
    p.status.as_ref().and_then(|s| s.pod_ip.clone()).expect("pod has an IP")
}

/// (ready, serving, terminating) of the endpoint of `pod` in `slice`.
fn conditions(slice: &EndpointSlice, pod: &str) -> (bool, bool, bool) {
    let ep: &Endpoint = slice
        .endpoints
        .iter()
        .find(|e| e.target_ref.as_ref().and_then(|r| r.name.as_deref()) == Some(pod))
        .unwrap_or_else(|| panic!("no endpoint for {pod} in {slice:?}"));
    let c = ep.conditions.clone().unwrap_or_default();
    (c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
}

fn ips(list: &Option<Vec<EndpointAddress>>) -> Vec<String> {
    list.iter().flatten().map(|a| a.ip.clone()).collect()
}

/// (port, ready IPs, not-ready IPs) of each subset.
fn subsets(ep: &Endpoints) -> Vec<(i32, Vec<String>, Vec<String>)> {
    ep.subsets
        .iter()
        .flatten()
        .map(|s| {
            let port = s.ports.as_ref().and_then(|p| p.first()).map_or(0, |p| p.port);
            (port, ips(&s.addresses), ips(&s.not_ready_addresses))
        })
        .collect()
}

#[test]
fn endpoints_follow_pod_readiness_termination_and_deletion() {
    let mut sim = start();

    // All three pods ready: one slice per resolved port, every endpoint ready.
    at(&mut sim, 30);
    let all = pods(&sim);
    assert_eq!(all.len(), 3, "{:?}", all.keys());
    assert!(all.values().all(podutil::is_ready));
    let flaky = all["flaky"].clone();
    let mut web: Vec<&Pod> = all.values().filter(|p| p.metadata.name.as_deref() != Some("flaky")).collect();
    web.sort_by_key(|p| ip(p));
    let web_ips: Vec<String> = web.iter().map(|p| ip(p)).collect();

    let s = slices(&sim, "web");
    assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec![Some(8080), Some(9090)]);
    let svc_uid = sim.api().get(Kind::Service, Some("default"), "web").unwrap().uid().to_string();
    for slice in s.values() {
        let meta = &slice.metadata;
        assert!(meta.name.as_deref().unwrap().starts_with("web-"));
        assert_eq!(meta.generate_name.as_deref(), Some("web-"));
        assert_eq!(slice.address_type, "IPv4");
        let labels = meta.labels.clone().unwrap();
        assert_eq!(labels["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
        assert_eq!(labels["tier"], "frontend");
        assert!(!labels.contains_key("service.kubernetes.io/headless"));
        let owner = &meta.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("Service", "web", svc_uid.as_str())
        );
        assert_eq!((owner.controller, owner.block_owner_deletion), (Some(true), Some(true)));
        let port = &slice.ports.as_ref().unwrap()[0];
        assert_eq!((port.name.as_deref(), port.protocol.as_deref()), (Some("http"), Some("TCP")));
    }
    let slice_8080 = &s[&Some(8080)];
    assert_eq!(slice_8080.endpoints.len(), 2);
    for p in &web {
        let name = p.metadata.name.as_deref().unwrap();
        assert_eq!(conditions(slice_8080, name), (true, true, false));
        let ep = slice_8080.endpoints.iter().find(|e| e.addresses == [ip(p)]).unwrap();
        assert_eq!(ep.node_name.as_deref(), podutil::node_name(p));
        assert_eq!(ep.zone.as_deref(), Some("zone-a"));
        let target = ep.target_ref.as_ref().unwrap();
        assert_eq!((target.kind.as_deref(), target.uid.as_deref()), (Some("Pod"), p.metadata.uid.as_deref()));
    }
    assert_eq!(s[&Some(9090)].endpoints.len(), 1);
    assert_eq!(conditions(&s[&Some(9090)], "flaky"), (true, true, false));
    // A Service without a selector gets nothing from the controllers.
    assert!(slices(&sim, "manual").is_empty());
    assert!(endpoints(&sim, "manual").is_none());

    let ep = endpoints(&sim, "web").expect("Endpoints web");
    let labels = ep.metadata.labels.clone().unwrap();
    assert_eq!(labels["tier"], "frontend");
    assert_eq!(labels["endpoints.kubernetes.io/managed-by"], "endpoint-controller");
    assert_eq!(ep.metadata.owner_references, None);
    assert_eq!(subsets(&ep), vec![(8080, web_ips.clone(), vec![]), (9090, vec![ip(&flaky)], vec![])]);

    // Nothing changes for a while: nothing is written.
    let versions = |sim: &Simulation| {
        let mut v: Vec<Option<String>> =
            slices(sim, "web").values().map(|s| s.metadata.resource_version.clone()).collect();
        v.push(endpoints(sim, "web").and_then(|e| e.metadata.resource_version));
        v
    };
    let before = versions(&sim);
    at(&mut sim, 39);
    assert_eq!(versions(&sim), before, "no writes while nothing changes");

    // flaky's readiness probe fails from 40s: not ready, still listed.
    at(&mut sim, 47);
    assert!(!podutil::is_ready(&pods(&sim)["flaky"]));
    let s = slices(&sim, "web");
    assert_eq!(conditions(&s[&Some(9090)], "flaky"), (false, false, false));
    assert_eq!(s[&Some(8080)].metadata.resource_version, before[0], "the other slice is not rewritten");
    let ep = endpoints(&sim, "web").unwrap();
    assert_eq!(subsets(&ep), vec![(8080, web_ips.clone(), vec![]), (9090, vec![], vec![ip(&flaky)])]);

    // Ready again after 50s.
    at(&mut sim, 58);
    assert!(podutil::is_ready(&pods(&sim)["flaky"]));
    assert_eq!(conditions(&slices(&sim, "web")[&Some(9090)], "flaky"), (true, true, false));
    assert_eq!(subsets(&endpoints(&sim, "web").unwrap())[1], (9090, vec![ip(&flaky)], vec![]));

    // Deleted at 60s, it takes 10s to stop: terminating, not ready, serving while it is Ready.
    at(&mut sim, 63);
    let terminating = pods(&sim)["flaky"].clone();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let (ready, serving, is_terminating) = conditions(&slices(&sim, "web")[&Some(9090)], "flaky");
    assert_eq!((ready, serving, is_terminating), (false, podutil::is_ready(&terminating), true));
    // The Endpoints object drops terminating pods.
    assert_eq!(subsets(&endpoints(&sim, "web").unwrap()), vec![(8080, web_ips.clone(), vec![])]);

    // Gone: its slice is deleted, the other one stays.
    at(&mut sim, 80);
    assert!(!pods(&sim).contains_key("flaky"));
    let s = slices(&sim, "web");
    assert_eq!(s.keys().cloned().collect::<Vec<_>>(), vec![Some(8080)]);
    assert_eq!(s[&Some(8080)].endpoints.len(), 2);
    assert_eq!(subsets(&endpoints(&sim, "web").unwrap()), vec![(8080, web_ips.clone(), vec![])]);

    // The Service goes: the garbage collector deletes its slices (ownerReference), the
    // Endpoints controller its Endpoints.
    at(&mut sim, 95);
    assert!(slices(&sim, "web").is_empty());
    assert!(endpoints(&sim, "web").is_none());
}
