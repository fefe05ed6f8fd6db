//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every bundled scenario file under `scenarios/`, sorted (manifest folders, which scenarios
/// load with `file:`, are not scenarios).
pub fn bundled_scenarios() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![repo().join("scenarios")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios/ exists") {
            let p = entry.expect("readable").path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "manifests") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "yaml")
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs the kubesim binary.
pub fn kubesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim")).args(args).current_dir(repo()).output().expect("kubesim runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to a fresh scenario file in a temporary folder and returns both.
pub fn scenario_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, text).expect("write scenario");
    (dir, path)
}

pub fn rel(p: &Path) -> String {
    p.strip_prefix(repo()).unwrap_or(p).display().to_string()
}

/// A scenario file written next to the bundled ones (so its `file:` references resolve),
/// hidden from [`bundled_scenarios`] and removed when dropped.
pub struct ScenarioCopy(pub PathBuf);

impl ScenarioCopy {
    pub fn new(name: &str, text: &str) -> ScenarioCopy {
        let path = repo().join("scenarios").join(format!(".test-{name}.yaml"));
        std::fs::write(&path, text).expect("write scenario copy");
        ScenarioCopy(path)
    }
}

impl Drop for ScenarioCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
