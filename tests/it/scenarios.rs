//! Every bundled scenario passes its expectations, and its timeline matches the golden file
//! (`UPDATE_GOLDEN=1 cargo test` rewrites the golden files after a deliberate change).

use kubesim::output::timeline;
use kubesim::{RunOptions, Simulation};

use crate::common::{bundled_scenarios, rel, repo};

#[test]
fn bundled_scenarios_meet_their_expectations() {
    let mut failures = Vec::new();
    for path in bundled_scenarios() {
        let scn = kubesim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = Simulation::new(scn, &RunOptions { check_invariants: true, ..Default::default() })
            .expect("setup");
        sim.run();
        if !sim.succeeded() {
            failures.push(format!(
                "{} (seed {}): {:?}\n{}",
                rel(&path),
                sim.seed(),
                sim.outcome(),
                kubesim::output::files::expectation_report(&sim)
            ));
        }
    }
    assert!(failures.is_empty(), "scenarios failed:\n{}", failures.join("\n"));
}

#[test]
fn timelines_match_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for path in bundled_scenarios() {
        let scn = kubesim::scenario::load(&path).expect("loads");
        let mut sim = Simulation::new(scn, &RunOptions::default()).expect("setup");
        sim.run();
        let mut text = String::new();
        text.push_str(&timeline::header());
        text.push('\n');
        for e in sim.trace() {
            text.push_str(&timeline::line(e));
            text.push('\n');
        }
        text.push_str(&format!("event-hash: {:016x}\n", sim.event_hash()));
        let name = rel(&path).replace(['/', '\\'], "__").replace(".yaml", ".txt");
        let golden = repo().join("tests/golden").join(name);
        if update {
            std::fs::write(&golden, &text).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == text => {}
            Ok(expected) => {
                let line = expected
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(expected.lines().count().min(text.lines().count()));
                mismatches.push(format!(
                    "{}: differs from {} at line {}:\n  golden: {}\n  now:    {}",
                    rel(&path),
                    rel(&golden),
                    line + 1,
                    expected.lines().nth(line).unwrap_or("<end>"),
                    text.lines().nth(line).unwrap_or("<end>")
                ));
            }
            Err(_) => mismatches.push(format!(
                "{}: no golden file {} (run with UPDATE_GOLDEN=1)",
                rel(&path),
                rel(&golden)
            )),
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn a_failing_expectation_says_what_it_found() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).expect("read");
    let text = text.replace("count: 3}}", "count: 4}}");
    let copy = crate::common::ScenarioCopy::new("failing-expectation", &text);
    let mut sim = Simulation::new(kubesim::scenario::load(&copy.0).expect("loads"), &RunOptions::default())
        .expect("setup");
    sim.run();
    assert!(!sim.succeeded());
    let report = kubesim::output::files::expectation_report(&sim);
    assert!(report.contains("FAIL  within 30s: 4 pod(s) matching app=web Running ready"), "{report}");
    assert!(report.contains("found: 3 matching of 3 selected"), "{report}");
}

#[test]
fn a_deleted_mirror_pod_is_created_again() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).expect("read");
    let text = text.replace(
        "expect:\n",
        "timeline:\n  - {at: 30s, action: delete, kind: Pod, namespace: kube-system, name: etcd-control-plane}\nexpect:\n  - {at: 31s, pods: {namespace: kube-system, selector: component=etcd, count: 1}}\n  - {at: 33s, pods: {namespace: kube-system, selector: component=etcd, phase: Running, count: 1}}\n",
    );
    let copy = crate::common::ScenarioCopy::new("mirror-pod", &text);
    let mut sim = Simulation::new(kubesim::scenario::load(&copy.0).expect("loads"), &RunOptions::default())
        .expect("setup");
    sim.run();
    assert!(sim.succeeded(), "{}", kubesim::output::files::expectation_report(&sim));
    let recreated = sim
        .api()
        .get(kubesim::api::Kind::Pod, Some("kube-system"), "etcd-control-plane")
        .expect("mirror exists");
    let ann = recreated.meta().annotations.clone().unwrap_or_default();
    assert!(ann.contains_key("kubernetes.io/config.mirror"));
    assert_eq!(recreated.meta().owner_references.as_ref().unwrap()[0].kind, "Node");
}

#[test]
fn event_expectations_bound_the_count_and_match_the_message() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).expect("read");
    let text = text.replace(
        "expect:\n",
        "expect:\n  - {within: 10s, event: {reason: Scheduled, max: 1}}\n  - {within: 10s, event: {reason: Scheduled, message: \"Successfully assigned default/nope to worker-1\"}}\n",
    );
    let copy = crate::common::ScenarioCopy::new("event-bounds", &text);
    let mut sim = Simulation::new(kubesim::scenario::load(&copy.0).expect("loads"), &RunOptions::default())
        .expect("setup");
    sim.run();
    let report = kubesim::output::files::expectation_report(&sim);
    assert!(
        report.contains(
            "FAIL  within 10s: event Scheduled at most 1 times\n        found: 3 matching event(s)"
        ),
        "{report}"
    );
    assert!(report.contains("a Scheduled event said \"Successfully assigned default/web-"), "{report}");
}

#[test]
fn label_and_taint_actions_work_as_kubectl_does() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).expect("read");
    let text = text.replace(
        "expect:\n",
        "timeline:
  - {at: 40s, action: label, kind: Node, name: worker-1, labels: [disktype=ssd]}
  - {at: 41s, action: label, kind: Node, name: worker-1, labels: [disktype=hdd]}
  - {at: 42s, action: label, kind: Node, name: worker-1, labels: [disktype-]}
  - {at: 50s, action: taint, node: worker-2, taint: dedicated=gpu:NoExecute}
  - {at: 51s, action: taint, node: worker-2, taint: dedicated=gpu:NoExecute}
  - {at: 52s, action: taint, node: worker-3, taint: nope:NoSchedule-}
expect:
  - {at: 40s, objects: {kind: Node, name: worker-1, fields: {metadata.labels.disktype: ssd}}}
  - {at: 41s, objects: {kind: Node, name: worker-1, fields: {metadata.labels.disktype: ssd}}}
  - {within: 42s, after: 41s, event: {reason: LabelFailed, message: \"error: 'disktype' already has a value (ssd), and --overwrite is false\"}}
  - {within: 42s, after: 42s, event: {reason: Label, message: node/worker-1 unlabeled}}
  - {at: 50s, node: worker-2, taint: {key: dedicated, effect: NoExecute}}
  - {within: 50s, after: 50s, event: {reason: Taint, message: node/worker-2 tainted}}
  - {within: 51s, after: 51s, event: {reason: TaintFailed, message: \"error: node worker-2 already has dedicated taint(s) with same effect(s) and --overwrite is false\"}}
  - {within: 52s, after: 52s, event: {reason: TaintFailed, message: \"error: taint \\\"nope:NoSchedule-\\\" not found\"}}
  - {at: 2m, pods: {selector: app=web, onNode: worker-2, count: 0}}
",
    );
    let copy = crate::common::ScenarioCopy::new("label-taint", &text);
    let mut sim = Simulation::new(kubesim::scenario::load(&copy.0).expect("loads"), &RunOptions::default())
        .expect("setup");
    sim.run();
    assert!(sim.succeeded(), "{}", kubesim::output::files::expectation_report(&sim));
}

#[test]
fn a_bad_taint_or_label_argument_is_a_load_error_naming_the_field() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).expect("read");
    for (action, expected) in [
        (
            "{at: 1s, action: taint, node: worker-1, taint: dedicated=gpu}",
            "timeline[0].taint: invalid taint spec: dedicated=gpu: an effect is required",
        ),
        (
            "{at: 1s, action: taint, node: worker-1, taint: a=b:Sometimes}",
            "timeline[0].taint: invalid taint effect: Sometimes",
        ),
        (
            "{at: 1s, action: label, kind: Node, name: worker-1, labels: [ssd]}",
            "timeline[0].labels[0]: invalid label spec: \"ssd\": expected KEY=VALUE or KEY-",
        ),
        ("{at: 1s, action: etcd-snapshot-save}", "timeline[0].file: Required value"),
    ] {
        let broken = text.replace("expect:\n", &format!("timeline:\n  - {action}\nexpect:\n"));
        let copy = crate::common::ScenarioCopy::new("bad-action", &broken);
        let Err(err) = kubesim::scenario::load(&copy.0) else { panic!("{action} should not load") };
        let err = err.to_string();
        assert!(err.contains(expected), "{err}\nexpected: {expected}");
    }
}

#[test]
fn drain_refuses_unmanaged_pods_without_force_as_kubectl_does() {
    let text = std::fs::read_to_string(repo().join("scenarios/quickstart.yaml")).expect("read");
    let text = text.replace(
        "expect:\n",
        "timeline:
  - {at: 10s, action: apply, objects: [{apiVersion: v1, kind: Pod, metadata: {name: bare}, spec: {nodeName: worker-1, containers: [{name: c, image: nginx:1.27}]}}]}
  - {at: 20s, action: drain, node: worker-1}
  - {at: 40s, action: drain, node: worker-1, force: true}
expect:
  - {within: 20s, after: 20s, event: {reason: DrainFailed, message: \"error: unable to drain node \\\"worker-1\\\" due to error: cannot delete Pods that declare no controller (use --force to override): default/bare, continuing command...\"}}
  - {at: 30s, node: worker-1, taint: {key: node.kubernetes.io/unschedulable, effect: NoSchedule}}
  - {at: 30s, pods: {selector: '', onNode: worker-1, phase: Running, count: 2}}
  - {within: 40s, after: 40s, event: {reason: Drain, message: node/worker-1 drained}}
  - {at: 1m30s, pods: {onNode: worker-1, count: 0}}
",
    );
    let copy = crate::common::ScenarioCopy::new("drain-force", &text);
    let mut sim = Simulation::new(kubesim::scenario::load(&copy.0).expect("loads"), &RunOptions::default())
        .expect("setup");
    sim.run();
    assert!(sim.succeeded(), "{}", kubesim::output::files::expectation_report(&sim));
}

#[test]
fn a_new_image_on_a_pod_restarts_its_container_or_ends_an_image_pull_back_off() {
    let text = "name: pod-set-image
until: 1m
nodes:
  - {name: worker, count: 1, capacity: {cpu: '2', memory: 4Gi}}
objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: typo, labels: {app: typo}}, spec: {containers: [{name: nginx, image: nginx:1.99}]}}
registry:
  missingImages: [nginx:1.99]
timeline:
  - {at: 30s, action: set-image, kind: Pod, name: typo, container: nginx, image: nginx:1.27}
  - {at: 40s, action: set-image, kind: Pod, name: typo, container: nginx, image: nginx:1.28}
expect:
  - {at: 29s, pods: {selector: app=typo, status: ImagePullBackOff, count: 1}}
  - {at: 39s, pods: {selector: app=typo, phase: Running, ready: true, count: 1}}
  - {within: 41s, after: 40s, event: {reason: Killing, name: typo, message: 'Container nginx definition changed, will be restarted'}}
  - {at: 50s, pods: {selector: app=typo, phase: Running, minRestarts: 1, count: 1}}
";
    let copy = crate::common::ScenarioCopy::new("pod-set-image", text);
    let mut sim = Simulation::new(kubesim::scenario::load(&copy.0).expect("loads"), &RunOptions::default())
        .expect("setup");
    sim.run();
    assert!(sim.succeeded(), "{}", kubesim::output::files::expectation_report(&sim));
}
