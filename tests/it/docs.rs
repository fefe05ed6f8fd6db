//! The documentation cannot rot: every `console` block in `docs/tutorial.md` is run (each
//! `$ kubesim …` line, with `< FILE` as its standard input) and every output line it shows must
//! appear in the real output, in order; and every `kubesim …` command a bundled scenario's
//! description tells the student to try must run.

use std::process::{Command, Stdio};

use crate::common::{bundled_scenarios, rel, repo};

/// One `$ kubesim …` line and the output excerpt under it.
struct Step {
    line: usize,
    command: String,
    excerpt: Vec<String>,
    expect_exit: i32,
}

/// The commands of every `console` block (`console exit=1` expects exit status 1).
fn console_steps(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut block: Option<i32> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_end();
        if let Some(info) = trimmed.strip_prefix("```") {
            block = match (block, info.trim()) {
                (Some(_), _) => None,
                (None, "console") => Some(0),
                (None, i) if i.starts_with("console") => {
                    Some(i.rsplit("exit=").next().and_then(|c| c.trim().parse().ok()).unwrap_or(0))
                }
                (None, _) => Some(-1),
            };
            continue;
        }
        match block {
            Some(code) if code >= 0 => {
                if let Some(cmd) = trimmed.strip_prefix("$ ") {
                    steps.push(Step {
                        line: n + 1,
                        command: cmd.to_string(),
                        excerpt: Vec::new(),
                        expect_exit: code,
                    });
                } else if let Some(step) = steps.last_mut() {
                    step.excerpt.push(trimmed.to_string());
                }
            }
            _ => {}
        }
    }
    steps
}

/// Runs `kubesim ARGS [< FILE]` from the repository root; returns (status, stdout + stderr).
fn run(command: &str) -> (i32, String) {
    let (args, input) = match command.split_once(" < ") {
        Some((a, f)) => (a, Some(f.trim())),
        None => (command, None),
    };
    let words = shell_words::split(args).expect("a shell-like command line");
    assert_eq!(
        words.first().map(String::as_str),
        Some("kubesim"),
        "commands start with `kubesim`: {command}"
    );
    let stdin = match input {
        Some(f) => Stdio::from(std::fs::File::open(repo().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))),
        None => Stdio::null(),
    };
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(&words[1..])
        .current_dir(repo())
        .stdin(stdin)
        .output()
        .expect("kubesim runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Whether `excerpt` (with `...` lines skipped) is a subsequence of `output`'s lines.
fn shows(output: &str, excerpt: &[String]) -> Result<(), String> {
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in excerpt.iter().filter(|l| l.as_str() != "..." && !l.is_empty()) {
        match lines[at..].iter().position(|l| l == want) {
            Some(i) => at += i + 1,
            None => return Err(want.clone()),
        }
    }
    Ok(())
}

#[test]
fn every_tutorial_command_runs_and_prints_what_the_tutorial_shows() {
    let path = repo().join("docs/tutorial.md");
    let text = std::fs::read_to_string(&path).expect("docs/tutorial.md exists");
    let steps = console_steps(&text);
    assert!(steps.len() >= 10, "the tutorial walks through real commands ({} found)", steps.len());
    let mut problems = Vec::new();
    for s in &steps {
        let (code, output) = run(&s.command);
        if code != s.expect_exit {
            problems.push(format!(
                "docs/tutorial.md:{}: `{}` exited {code}, expected {}:\n{output}",
                s.line, s.command, s.expect_exit
            ));
            continue;
        }
        if let Err(missing) = shows(&output, &s.excerpt) {
            problems.push(format!(
                "docs/tutorial.md:{}: `{}` no longer prints (in this order) the line:\n  {missing}\nit printed:\n{output}",
                s.line, s.command
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_command_a_scenario_description_suggests_runs() {
    let mut problems = Vec::new();
    let mut count = 0;
    for path in bundled_scenarios() {
        let scn = kubesim::scenario::load(&path).expect("loads");
        for line in scn.description.lines() {
            let Some(start) = line.find("kubesim ") else { continue };
            // `kubesim get pods FILE --at 2m` as written, up to a closing backtick if quoted.
            let command = line[start..].split('`').next().unwrap_or_default().trim();
            let Ok(words) = shell_words::split(command) else { continue };
            const COMMANDS: &[&str] = &[
                "run",
                "validate",
                "get",
                "describe",
                "explain",
                "why",
                "shell",
                "etcdctl",
                "iptables-save",
                "nslookup",
            ];
            if words.len() < 3
                || !COMMANDS.contains(&words[1].as_str())
                || words.iter().any(|w| w.contains('<') || w.contains("..."))
            {
                continue; // prose, not a command
            }
            count += 1;
            // 1 is a valid answer (a name that does not resolve, a failing expectation shown on
            // purpose); 2 means the command itself is wrong.
            let (code, output) = run(command);
            if code != 0 && code != 1 {
                problems.push(format!("{}: `{command}` exited {code}:\n{output}", rel(&path)));
            }
        }
    }
    assert!(count >= 30, "the scenario library suggests commands ({count} found)");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_command_in_the_readme_runs() {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    let mut count = 0;
    let mut in_sh = false;
    for (n, line) in text.lines().enumerate() {
        if let Some(info) = line.trim().strip_prefix("```") {
            in_sh = !in_sh && info.trim() == "sh";
            continue;
        }
        let Some(rest) = line.trim().strip_prefix("cargo run --release -- ").filter(|_| in_sh) else {
            continue;
        };
        // Drop a trailing `# comment`; write --out folders somewhere temporary.
        let rest = rest.split(" # ").next().unwrap_or_default().trim();
        let rest = rest.replace("--out results/", &format!("--out {}", out_dir.path().display()));
        count += 1;
        let (code, output) = run(&format!("kubesim {rest}"));
        if code != 0 && code != 1 {
            problems.push(format!("README.md:{}: `{rest}` exited {code}:\n{output}", n + 1));
        }
    }
    assert!(count >= 15, "the README's tour has commands ({count} found)");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The README's quickstart output (the first plain block after its set-up commands) is what
/// `kubesim run scenarios/quickstart.yaml` prints: its lines in order, `...` standing for lines
/// left out, and a line cut short with `...` matching any line that starts the same way.
#[test]
fn the_readme_quickstart_output_is_what_the_run_prints() {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let start =
        text.find("The first prints the cluster's timeline").expect("the quickstart's output is shown");
    let block: Vec<&str> = text[start..]
        .lines()
        .skip_while(|l| l.trim() != "```")
        .skip(1)
        .take_while(|l| l.trim() != "```")
        .collect();
    assert!(block.len() >= 5, "the quickstart block shows output: {block:?}");
    let (code, output) = run("kubesim run scenarios/quickstart.yaml");
    assert_eq!(code, 0, "{output}");
    let lines: Vec<&str> = output.lines().map(str::trim_end).collect();
    let mut at = 0;
    for want in block.iter().map(|l| l.trim_end()).filter(|l| !l.is_empty() && l.trim() != "...") {
        let matches = |l: &&str| match want.split_once("...") {
            Some((head, _)) => l.starts_with(head),
            None => *l == want,
        };
        match lines[at..].iter().position(matches) {
            Some(i) => at += i + 1,
            None => panic!("README.md shows the quickstart printing (in this order)\n  {want}\nbut it printed:\n{output}"),
        }
    }
}
