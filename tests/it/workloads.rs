//! Property test of workload convergence: a random cluster runs random Deployments (rolling or
//! Recreate) and a DaemonSet; during a change window the timeline scales the Deployments,
//! changes their images, deletes their ReplicaSets or pods (`kubectl delete -l`) and cuts
//! nodes' power (always restored).
//! Every step runs with the invariant checker on, so a rolling update that asks for more than
//! `replicas + maxSurge` pods fails the case. After a quiet window: each Deployment has exactly
//! one ReplicaSet with replicas, on its current template, with every replica updated, ready and
//! available, and the DaemonSet has one ready, up-to-date pod on every node. A failure prints the
//! (shrunk) scenario file that reproduces it.

use std::path::Path;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use kubesim::api::pod as podutil;
use kubesim::api::Kind;
use kubesim::controllers::deployment::same_template;
use kubesim::{Outcome, RunOptions, Simulation};
use proptest::prelude::*;

const IMAGES: [&str; 3] = ["nginx:1.27", "nginx:1.28", "nginx:1.29"];
const CHANGE_WINDOW_END_S: u64 = 240;
/// Node power cuts are repaired within the window; 40s grace + 5 min eviction + restart fit
/// comfortably in the quiet window.
const UNTIL_S: u64 = CHANGE_WINDOW_END_S + 600;

#[derive(Debug, Clone)]
enum Change {
    Scale { deployment: usize, replicas: u32 },
    SetImage { deployment: usize, image: usize },
    DeleteReplicaSets { deployment: usize },
    DeletePods { deployment: usize },
    PowerCut { node: usize, for_s: u64 },
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    nodes: usize,
    /// (replicas, recreate)
    deployments: Vec<(u32, bool)>,
    changes: Vec<(u64, Change)>,
}

fn change(deployments: usize, nodes: usize) -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..deployments, 0u32..7).prop_map(|(deployment, replicas)| Change::Scale { deployment, replicas }),
        (0..deployments, 0..IMAGES.len())
            .prop_map(|(deployment, image)| Change::SetImage { deployment, image }),
        (0..deployments).prop_map(|deployment| Change::DeleteReplicaSets { deployment }),
        (0..deployments).prop_map(|deployment| Change::DeletePods { deployment }),
        (0..nodes, 20u64..120).prop_map(|(node, for_s)| Change::PowerCut { node, for_s }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..5, 1usize..4).prop_flat_map(|(nodes, n_deploy)| {
        (
            any::<u64>(),
            Just(nodes),
            prop::collection::vec((1u32..6, prop::bool::weighted(0.3)), n_deploy),
            prop::collection::vec((5u64..CHANGE_WINDOW_END_S, change(n_deploy, nodes)), 0..8),
        )
            .prop_map(|(seed, nodes, deployments, mut changes)| {
                changes.sort_by_key(|(at, _)| *at);
                Case { seed, nodes, deployments, changes }
            })
    })
}

fn scenario_yaml(c: &Case) -> String {
    let images = IMAGES.iter().map(|i| format!("{i}: 70Mi")).collect::<Vec<_>>().join(", ");
    let mut y = format!("name: workloads\nseed: {}\nuntil: {UNTIL_S}s\nnodes:\n", c.seed);
    for i in 0..c.nodes {
        y.push_str(&format!(
            "  - {{name: n{i}, capacity: {{cpu: \"8\", memory: 32Gi, pods: 110}}, labels: {{topology.kubernetes.io/zone: z{i}}}, images: {{{images}}}}}\n"
        ));
    }
    y.push_str("objects:\n");
    for (i, (replicas, recreate)) in c.deployments.iter().enumerate() {
        let strategy = if *recreate { "{type: Recreate}" } else { "{type: RollingUpdate}" };
        y.push_str(&format!(
            "  - {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d{i}}}, spec: {{replicas: {replicas}, strategy: {strategy}, selector: {{matchLabels: {{app: d{i}}}}}, template: {{metadata: {{labels: {{app: d{i}}}}}, spec: {{containers: [{{name: c, image: {}, resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}, readinessProbe: {{httpGet: {{path: /, port: 80}}, periodSeconds: 2}}}}]}}}}}}}}\n",
            IMAGES[0]
        ));
    }
    y.push_str(&format!(
        "  - {{apiVersion: apps/v1, kind: DaemonSet, metadata: {{name: agent}}, spec: {{selector: {{matchLabels: {{app: agent}}}}, template: {{metadata: {{labels: {{app: agent}}}}, spec: {{containers: [{{name: a, image: {}}}]}}}}}}}}\n",
        IMAGES[0]
    ));
    y.push_str("timeline:\n");
    let mut cut_until = vec![0u64; c.nodes];
    for (at, ch) in &c.changes {
        match ch {
            Change::Scale { deployment, replicas } => y.push_str(&format!(
                "  - {{at: {at}s, action: scale, kind: Deployment, name: d{deployment}, replicas: {replicas}}}\n"
            )),
            Change::SetImage { deployment, image } => y.push_str(&format!(
                "  - {{at: {at}s, action: set-image, kind: Deployment, name: d{deployment}, container: c, image: {}}}\n",
                IMAGES[*image]
            )),
            Change::DeleteReplicaSets { deployment } => y.push_str(&format!(
                "  - {{at: {at}s, action: delete, kind: ReplicaSet, selector: app=d{deployment}}}\n"
            )),
            Change::DeletePods { deployment } => y.push_str(&format!(
                "  - {{at: {at}s, action: delete, kind: Pod, selector: app=d{deployment}}}\n"
            )),
            Change::PowerCut { node, for_s } => {
                // One cut at a time per node keeps power-on after power-off.
                if *at < cut_until[*node] {
                    continue;
                }
                let on = (at + for_s).min(CHANGE_WINDOW_END_S);
                cut_until[*node] = on + 1;
                y.push_str(&format!("  - {{at: {at}s, action: power-off, node: n{node}}}\n"));
                y.push_str(&format!("  - {{at: {on}s, action: power-on, node: n{node}}}\n"));
            }
        }
    }
    if y.ends_with("timeline:\n") {
        y.push_str("  []\n");
    }
    y
}

/// What has not converged at the end, if anything.
fn check(sim: &Simulation) -> Result<(), String> {
    let api = sim.api();
    let sets: Vec<ReplicaSet> =
        api.list_all(Kind::ReplicaSet).iter().filter_map(|o| o.as_type::<ReplicaSet>().cloned()).collect();
    for obj in api.list_all(Kind::Deployment) {
        let d = obj.as_type::<Deployment>().expect("deployment");
        let name = obj.name();
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let owned: Vec<&ReplicaSet> = sets
            .iter()
            .filter(|rs| {
                podutil::controller_of(&rs.metadata).is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref())
            })
            .collect();
        let active: Vec<&&ReplicaSet> =
            owned.iter().filter(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) > 0).collect();
        if want > 0 && active.len() != 1 {
            return Err(format!("deployment {name} has {} ReplicaSets with replicas, wants 1", active.len()));
        }
        if let Some(rs) = active.first() {
            let template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
            if !same_template(&template, &d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default()) {
                return Err(format!("deployment {name}'s active ReplicaSet runs an old template"));
            }
        }
        let st = d.status.clone().unwrap_or_default();
        let counts = [st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas]
            .map(|n| n.unwrap_or(0));
        if counts != [want; 4] || st.observed_generation != d.metadata.generation {
            return Err(format!(
                "deployment {name}: replicas/updated/ready/available {counts:?}, wants {want} each (observed generation {:?} of {:?})",
                st.observed_generation, d.metadata.generation
            ));
        }
    }
    let nodes = api.list_all(Kind::Node).len() as i32;
    for obj in api.list_all(Kind::DaemonSet) {
        let st = obj.as_type::<DaemonSet>().and_then(|d| d.status.clone()).unwrap_or_default();
        let counts = [st.desired_number_scheduled, st.current_number_scheduled, st.number_ready];
        if counts != [nodes; 3] || st.updated_number_scheduled.unwrap_or(0) != nodes {
            return Err(format!(
                "daemonset {}: desired/current/ready {counts:?} updated {:?}, wants {nodes} each",
                obj.name(),
                st.updated_number_scheduled
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, rng_seed: proptest::test_runner::RngSeed::Fixed(20261122), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deployments_and_daemon_sets_converge_after_changes(c in case()) {
        let yaml = scenario_yaml(&c);
        let scn = kubesim::scenario::parse(&yaml, Path::new("workloads.yaml")).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        let mut sim = Simulation::new(scn, &RunOptions { check_invariants: true, ..Default::default() }).expect("setup");
        let outcome = sim.run().clone();
        prop_assert_eq!(&outcome, &Outcome::Completed, "run stopped early; scenario:\n{}", yaml);
        if let Err(why) = check(&sim) {
            return Err(TestCaseError::fail(format!("no convergence: {why}\nreproduce with this scenario (kubesim run FILE):\n{yaml}")));
        }
    }
}

/// The bundled rolling update, watched every 5ms of virtual time (the watch latency, so no
/// state between two checks goes unseen for long): once the Deployment is first available, its
/// pods never number more than replicas + maxSurge (4 + 1) and never fewer than
/// replicas − maxUnavailable (4 − 1) of them are ready, through the update and the rollback.
#[test]
fn the_bundled_rolling_update_keeps_surge_and_availability_at_every_step() {
    use k8s_openapi::api::core::v1::Pod;
    use kubesim::sim::{SimDuration, SimTime};

    let path = crate::common::repo().join("scenarios/workloads/deployment-rollout.yaml");
    let scn = kubesim::scenario::load(&path).expect("bundled scenario");
    let mut sim =
        Simulation::new(scn, &RunOptions { check_invariants: true, ..Default::default() }).expect("setup");
    let (mut t, end) = (SimTime::ZERO, sim.until());
    let mut settled = false;
    let (mut min_ready, mut max_pods) = (usize::MAX, 0);
    while t < end {
        t += SimDuration::from_millis(5);
        sim.run_until(t);
        let pods: Vec<Pod> = sim
            .api()
            .list_all(Kind::Pod)
            .iter()
            .filter_map(|o| o.as_type::<Pod>().cloned())
            .filter(|p| {
                p.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str) == Some("web")
            })
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let ready = pods.iter().filter(|p| podutil::is_ready(p)).count();
        settled |= ready == 4;
        if settled {
            assert!(pods.len() <= 5, "{} pods at {t}: more than replicas 4 + maxSurge 1", pods.len());
            assert!(ready >= 3, "{ready} ready pods at {t}: fewer than replicas 4 - maxUnavailable 1");
            min_ready = min_ready.min(ready);
            max_pods = max_pods.max(pods.len());
        }
    }
    // The rollout really moved: it used its surge and its unavailability budget.
    assert_eq!((min_ready, max_pods), (3, 5));
}
