//! Same scenario + same seed → byte-identical outputs, in two separate processes.

use crate::common::{bundled_scenarios, kubesim, rel, stdout};

#[test]
fn every_bundled_scenario_is_reproducible_across_processes() {
    for path in bundled_scenarios() {
        let p = path.to_str().expect("utf-8 path");
        let dirs = [tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp")];
        let runs: Vec<_> =
            dirs.iter().map(|d| kubesim(&["run", p, "--out", d.path().to_str().expect("utf-8")])).collect();
        assert_eq!(stdout(&runs[0]), stdout(&runs[1]), "{}: stdout differs between two runs", rel(&path));
        assert!(stdout(&runs[0]).contains("event-hash: "), "{}", rel(&path));
        for file in ["events.csv", "pods.csv", "node_conditions.csv", "node_taints.csv", "summary.yaml"] {
            let a = std::fs::read(dirs[0].path().join(file)).expect("output written");
            let b = std::fs::read(dirs[1].path().join(file)).expect("output written");
            assert!(a == b, "{}: {file} differs between two runs", rel(&path));
        }
    }
}

#[test]
fn a_different_seed_changes_the_run() {
    let a = kubesim(&["run", "scenarios/quickstart.yaml", "--quiet", "--seed", "1"]);
    let b = kubesim(&["run", "scenarios/quickstart.yaml", "--quiet", "--seed", "2"]);
    let hash = |o: &std::process::Output| {
        stdout(o).lines().find(|l| l.starts_with("event-hash:")).map(str::to_string)
    };
    assert!(hash(&a).is_some());
    assert_ne!(hash(&a), hash(&b));
}
