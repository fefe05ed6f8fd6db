//! `kubesim shell` driven by scripts: each `tests/shell/NAME.txt` (first line
//! `# kubesim shell SCENARIO`) must print exactly `tests/golden/shell__NAME.txt`
//! (`UPDATE_GOLDEN=1` rewrites it), and the session `save`d as a scenario must replay to the
//! same state: the same event hash and the same objects at the same virtual time.

use kubesim::shell::Shell;
use kubesim::{RunOptions, Simulation};

use crate::common::{kubesim, repo, stdout};

fn scripts() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(repo().join("tests/shell"))
        .expect("tests/shell exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    out.sort();
    out
}

fn scenario_of(script: &str) -> std::path::PathBuf {
    let first = script.lines().next().unwrap_or_default();
    let path = first.strip_prefix("# kubesim shell ").expect("first line names the scenario");
    repo().join(path.trim())
}

/// Every object in the API, as `get -o yaml` prints it, for comparing two runs.
fn all_objects(sim: &Simulation) -> String {
    let mut out = String::new();
    for kind in kubesim::api::Kind::ALL {
        for o in sim.api().list_all(*kind) {
            out.push_str(&o.to_yaml());
        }
    }
    out
}

#[test]
fn scripted_sessions_print_their_golden_transcripts_and_save_replays_them() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut problems = Vec::new();
    for path in scripts() {
        let script = std::fs::read_to_string(&path).expect("read script");
        let mut shell = Shell::open(&scenario_of(&script)).expect("scenario opens");
        let transcript = shell.run_script(&script);
        let name = path.file_stem().expect("name").to_string_lossy().to_string();
        let golden = repo().join("tests/golden").join(format!("shell__{name}.txt"));
        if update {
            std::fs::write(&golden, &transcript).expect("write golden");
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(expected) if expected == transcript => {}
                Ok(expected) => {
                    let line =
                        expected.lines().zip(transcript.lines()).position(|(a, b)| a != b).unwrap_or(0);
                    problems.push(format!(
                        "{name}: transcript differs from {} at line {}:\n  golden: {}\n  now:    {}",
                        golden.display(),
                        line + 1,
                        expected.lines().nth(line).unwrap_or(""),
                        transcript.lines().nth(line).unwrap_or("")
                    ));
                }
                Err(_) => problems.push(format!("{name}: no golden file (run with UPDATE_GOLDEN=1)")),
            }
        }
        // `save` replays to the same state.
        let dir = tempfile::tempdir().expect("temp dir");
        let saved = dir.path().join("session.yaml");
        shell.save_to(&saved).expect("saves");
        let now = shell.simulation().now();
        let scn = kubesim::scenario::load(&saved).unwrap_or_else(|e| panic!("{name}: saved file loads: {e}"));
        let mut replay = Simulation::new(scn, &RunOptions::default()).expect("setup");
        replay.run_until(now);
        if replay.event_hash() != shell.simulation().event_hash() {
            problems.push(format!(
                "{name}: the saved session replays to event hash {:016x}, the shell was at {:016x}",
                replay.event_hash(),
                shell.simulation().event_hash()
            ));
        }
        if all_objects(&replay) != all_objects(shell.simulation()) {
            problems.push(format!("{name}: the saved session replays to different objects at {now}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_shell_reads_commands_from_a_pipe() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["shell", "scenarios/quickstart.yaml"])
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(b"advance 30s -q\nget nodes\nexit\n")?;
            child.wait_with_output()
        })
        .expect("kubesim shell runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("kubesim 00:00:30.000> get nodes\nNAME"), "{text}");
    assert!(text.contains("worker-1        Ready"), "{text}");
}

#[test]
fn a_failing_command_in_a_script_makes_the_exit_status_1() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["shell", "scenarios/quickstart.yaml"])
        .current_dir(repo())
        .stdin(std::fs::File::open(repo().join("tests/shell/operations.txt")).expect("script"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "the script has deliberate mistakes");
    let _ = stdout(&out);
    let missing = kubesim(&["shell", "scenarios/nope.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
}
