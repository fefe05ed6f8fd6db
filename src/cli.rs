//! The command line: `run`, `validate`, `get`, `describe`, `explain`, `why`, `shell`, `etcdctl`,
//! `iptables-save`, `nslookup`. Parsing only; the work is in the library (`inspect`, `shell`). Exit status: 0 when every expectation holds, 1 when one fails or the run stops
//! early, 2 on invalid input or usage.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::inspect::{self, QueryError};
use crate::output::{files, timeline};
use crate::scenario;
use crate::shell::Shell;
use crate::sim::{SimDuration, SimTime};
use crate::simulation::{Outcome, RunOptions, Simulation};

#[derive(Parser, Debug)]
#[command(
    name = "kubesim",
    version,
    about = "Deterministic discrete-event simulator of a Kubernetes cluster"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and print its timeline, expectation results and event hash.
    Run {
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the scenario's end time (e.g. 10m).
        #[arg(long, value_parser = parse_duration)]
        until: Option<SimDuration>,
        /// Write events.csv, pods.csv, node_conditions.csv, node_taints.csv and summary.yaml here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Check invariants after every event (always on in debug builds).
        #[arg(long)]
        check_invariants: bool,
        /// Stop after this many events.
        #[arg(long)]
        max_events: Option<u64>,
        /// Print only the expectation results and the event hash.
        #[arg(long, short)]
        quiet: bool,
        /// Also write decisions.csv (every scheduling attempt: each examined node's filter
        /// verdict and each score plugin's normalized score) into the --out folder.
        #[arg(long, requires = "out")]
        decisions: bool,
        /// Print one timeline instant at a time and wait for Enter (when attached to a terminal;
        /// otherwise the same as a plain run).
        #[arg(long, conflicts_with = "quiet")]
        step: bool,
    },
    /// Check a scenario file without running it.
    Validate { scenario: PathBuf },
    /// Print objects as `kubectl get` would at a virtual time: `get pods SCENARIO --at 2m`.
    Get {
        /// `KIND [NAME] SCENARIO` (KIND may be a comma list such as `deploy,rs`); options may come
        /// between them, as with kubectl (`get ds -A SCENARIO`).
        #[arg(required = true, action = clap::ArgAction::Append)]
        args: Vec<String>,
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        #[command(flatten)]
        flags: inspect::GetFlags,
    },
    /// Read etcd at a virtual time as etcdctl would: `etcdctl SCENARIO --at 1m get /registry/pods --prefix --keys-only`.
    Etcdctl {
        scenario: PathBuf,
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        /// Only `get` is supported.
        verb: String,
        key: String,
        #[arg(long)]
        prefix: bool,
        #[arg(long)]
        keys_only: bool,
    },
    /// Print a node's netfilter rules as `iptables-save` would, as kube-proxy last installed
    /// them: `iptables-save SCENARIO --node worker-1 --at 2m`.
    IptablesSave {
        scenario: PathBuf,
        #[arg(long)]
        node: String,
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        /// Only this table (`nat` or `filter`), like `iptables-save -t nat`.
        #[arg(short = 't', long)]
        table: Option<String>,
        /// Print rules in the kernel's canonical form (`-d 10.96.0.1/32 -p tcp …`, probabilities
        /// as stored, `--set-xmark`) rather than as kube-proxy wrote them.
        #[arg(long)]
        canonical: bool,
    },
    /// Why the scheduler put a pod where it did, or why it is Pending: every scheduling attempt
    /// up to `--at` with each node's filter verdict (plugin and reason) and each score plugin's
    /// normalized score × weight, the total and the chosen node:
    /// `explain SCENARIO --pod web-0 --at 2m`.
    Explain(PodQuery),
    /// Print an object as `kubectl describe` would, with its Events, at a virtual time:
    /// `describe pod web-0 SCENARIO --at 2m` (pods, nodes, deployments, replicasets, services…).
    Describe {
        /// `KIND NAME SCENARIO` or `KIND/NAME SCENARIO`; options may come between them, as with
        /// kubectl (`describe pod etcd-cp -n kube-system SCENARIO`).
        #[arg(required = true, action = clap::ArgAction::Append)]
        args: Vec<String>,
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// The causal chain behind a pod's fate across components: who created it, where and why
    /// it was scheduled, what happened to its node, who evicted it, what replaced it:
    /// `why SCENARIO --pod web --at 10m`.
    Why(PodQuery),
    /// An interactive session over a paused simulation: advance time, inspect, act, save the
    /// session as a scenario. Reads commands from a terminal (with line editing and history)
    /// or from a pipe or file: `shell SCENARIO < commands.txt`.
    Shell {
        scenario: PathBuf,
        /// Leave out the scenario's own timeline actions and expectations: only what the
        /// session does happens.
        #[arg(long)]
        without_timeline: bool,
    },
    /// Resolve a name from inside a pod, as `kubectl exec POD -- nslookup NAME` would print:
    /// `nslookup SCENARIO web --from client --at 1m`.
    Nslookup {
        scenario: PathBuf,
        name: String,
        /// The pod the lookup runs in (`NAME` or `NAMESPACE/NAME`).
        #[arg(long)]
        from: String,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        /// Whose nslookup: `busybox` (busybox:1.28, the Kubernetes docs' DNS debugging image;
        /// default) or `bind` (the dnsutils image).
        #[arg(long, default_value = "busybox")]
        style: String,
    },
}

/// A question about one pod of a scenario at a virtual time (`explain`, `why`).
#[derive(clap::Args, Debug)]
pub struct PodQuery {
    scenario: PathBuf,
    /// The pod (`NAME` or `NAMESPACE/NAME`); a prefix of generated names also matches
    /// (`--pod web` for `web-7x2kq`) when it is unambiguous.
    #[arg(long)]
    pod: String,
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    #[arg(long, value_parser = parse_duration)]
    at: Option<SimDuration>,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    SimDuration::parse(s).map_err(|e| e.to_string())
}

/// An error to print, with the exit status it carries.
struct Failure {
    code: i32,
    message: String,
}

fn invalid(message: impl std::fmt::Display) -> Failure {
    Failure { code: 2, message: format!("error: {message}") }
}

impl From<QueryError> for Failure {
    fn from(e: QueryError) -> Failure {
        Failure { code: e.code, message: e.message }
    }
}

/// Builds the scenario's run and runs it to `--at` (default: the end).
fn run_to(path: &Path, at: Option<SimDuration>, opts: &RunOptions) -> Result<Simulation, Failure> {
    let mut sim = build(path, opts)?;
    let t = at.map_or(sim.until(), |d| SimTime(d.as_millis()));
    if t > sim.until() {
        eprintln!(
            "warning: --at {t} is after the scenario's end ({}); showing the cluster at {} (raise `until:` in the scenario)",
            sim.until(),
            sim.until()
        );
    }
    sim.run_until(t);
    Ok(sim)
}

/// Entry point; returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match dispatch(cli.command, &mut out) {
        Ok(code) => code,
        Err(f) => {
            let _ = out.flush();
            if !f.message.is_empty() {
                eprintln!("{}", f.message);
            }
            f.code
        }
    }
}

fn load(path: &Path) -> Result<scenario::Scenario, Failure> {
    scenario::load(path).map_err(invalid)
}

/// Prints the scenario's warnings (accepted but not modelled) to standard error.
fn warn(scn: &scenario::Scenario) {
    for w in &scn.warnings {
        eprintln!("warning: {w}");
    }
}

fn build(path: &Path, opts: &RunOptions) -> Result<Simulation, Failure> {
    let scn = load(path)?;
    Simulation::new(scn, opts).map_err(invalid)
}

fn dispatch(cmd: Command, out: &mut impl Write) -> Result<i32, Failure> {
    let io = |e: std::io::Error| {
        // A reader that went away (`kubesim run … | head`): stop quietly, as ripgrep and
        // kubectl do.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure { code: 0, message: String::new() };
        }
        Failure { code: 1, message: format!("error: {e}") }
    };
    match cmd {
        Command::Run {
            scenario,
            seed,
            until,
            out: dir,
            check_invariants,
            max_events,
            quiet,
            decisions,
            step,
        } => {
            let opts = RunOptions {
                seed,
                until,
                max_events,
                check_invariants,
                record_decisions: decisions,
                ..Default::default()
            };
            let mut sim = build(&scenario, &opts)?;
            warn(&sim.scenario);
            if !quiet {
                writeln!(out, "scenario: {} (seed {}, until {})", sim.scenario.name, sim.seed(), sim.until())
                    .map_err(io)?;
                if !sim.scenario.description.is_empty() {
                    writeln!(out, "{}", sim.scenario.description.trim()).map_err(io)?;
                }
                writeln!(out, "\n{}", timeline::header()).map_err(io)?;
            }
            // Print the timeline as it happens, one virtual second at a time; with `--step` at a
            // terminal, one instant at a time, waiting for Enter after each.
            use std::io::IsTerminal;
            let mut interactive = step && std::io::stdin().is_terminal();
            let mut printed = 0;
            let second = SimDuration::from_secs(1);
            let mut t = SimTime::ZERO;
            loop {
                let done = sim.run_until(t).is_some();
                if !quiet {
                    for e in &sim.trace()[printed..] {
                        writeln!(out, "{}", timeline::line(e)).map_err(io)?;
                    }
                }
                let shown = sim.trace().len() > printed;
                printed = sim.trace().len();
                if done {
                    break;
                }
                if interactive && shown {
                    out.flush().map_err(io)?;
                    eprint!(
                        "-- {}: Enter for the next event, c + Enter to run to the end --",
                        sim.now().clock()
                    );
                    let mut answer = String::new();
                    let read = std::io::stdin().read_line(&mut answer).map_err(io)?;
                    if read == 0 || answer.trim() == "c" {
                        interactive = false;
                    }
                }
                t = if interactive {
                    sim.next_event_time().unwrap_or(sim.until()).min(sim.until())
                } else {
                    (t + second).min(sim.until())
                };
            }
            write!(out, "{}", files::expectation_report(&sim)).map_err(io)?;
            let outcome = sim.outcome().cloned();
            if let Some(Outcome::InvariantViolated { message }) = &outcome {
                writeln!(
                    out,
                    "\nINVARIANT VIOLATED at {}: {message}\nreproduce with: {}",
                    sim.now(),
                    sim.reproduce_command()
                )
                .map_err(io)?;
            }
            if let Some(Outcome::EventLimit { limit }) = &outcome {
                writeln!(
                    out,
                    "\nSTOPPED: reached the event limit ({limit} events) at {} before {}",
                    sim.now(),
                    sim.until()
                )
                .map_err(io)?;
            }
            writeln!(out, "\nevents: {}  virtual time: {}", sim.engine().events_delivered(), sim.now())
                .map_err(io)?;
            writeln!(out, "event-hash: {:016x}", sim.event_hash()).map_err(io)?;
            if let Some(dir) = dir {
                let rendered = files::render(&sim).map_err(io)?;
                files::write_all(&dir, &rendered).map_err(|e| Failure {
                    code: 1,
                    message: format!("error: writing {}: {e}", dir.display()),
                })?;
            }
            let code = if sim.succeeded() { 0 } else { 1 };
            // The process ends right after: tearing down millions of objects would only cost
            // time (up to several percent of a large run).
            std::mem::forget(sim);
            Ok(code)
        }
        Command::Explain(PodQuery { scenario, pod, namespace, at }) => {
            let sim = run_to(&scenario, at, &RunOptions { record_decisions: true, ..Default::default() })?;
            let text = inspect::explain(&sim, &pod, namespace.as_deref())?;
            write!(out, "{text}").map_err(io)?;
            Ok(0)
        }
        Command::Why(PodQuery { scenario, pod, namespace, at }) => {
            let sim = run_to(&scenario, at, &RunOptions { record_decisions: true, ..Default::default() })?;
            let text = inspect::why(&sim, &pod, namespace.as_deref())?;
            write!(out, "{text}").map_err(io)?;
            Ok(0)
        }
        Command::Validate { scenario } => {
            let scn = load(&scenario)?;
            warn(&scn);
            Simulation::new(scn.clone(), &RunOptions::default()).map_err(invalid)?;
            writeln!(
                out,
                "{}: valid ({} nodes, {} objects, {} timeline actions, {} expectations)",
                scenario.display(),
                scn.nodes.len(),
                scn.objects.len(),
                scn.timeline.len(),
                scn.expectations.len()
            )
            .map_err(io)?;
            Ok(0)
        }
        Command::Get { args, at, flags } => {
            let (kinds, name, path) = match args.as_slice() {
                [k, p] => (k.clone(), None, PathBuf::from(p)),
                [k, n, p] => (k.clone(), Some(n.clone()), PathBuf::from(p)),
                _ => return Err(invalid("usage: kubesim get KIND [NAME] SCENARIO --at DURATION")),
            };
            // Check the request before running anything.
            inspect::kinds(&kinds)?;
            let sim = run_to(&path, at, &RunOptions::default())?;
            let req = inspect::GetRequest { kinds, name, flags };
            write!(out, "{}", inspect::get(&sim, &req)?).map_err(io)?;
            Ok(0)
        }
        Command::Describe { args, at, namespace } => {
            let (kind, name, path) = match args.as_slice() {
                [kn, p] => match kn.split_once('/') {
                    Some((k, n)) => (k.to_string(), n.to_string(), PathBuf::from(p)),
                    None => return Err(invalid("usage: kubesim describe KIND NAME SCENARIO --at DURATION")),
                },
                [k, n, p] => (k.clone(), n.clone(), PathBuf::from(p)),
                _ => return Err(invalid("usage: kubesim describe KIND NAME SCENARIO --at DURATION")),
            };
            inspect::kinds(&kind)?;
            let sim = run_to(&path, at, &RunOptions::default())?;
            write!(out, "{}", inspect::describe(&sim, &kind, &name, namespace.as_deref())?).map_err(io)?;
            Ok(0)
        }
        Command::Shell { scenario, without_timeline } => {
            let mut shell =
                Shell::open_with(&scenario, without_timeline).map_err(|m| Failure { code: 2, message: m })?;
            shell.run_session(out).map_err(io)?;
            Ok(if shell.had_errors() { 1 } else { 0 })
        }
        Command::IptablesSave { scenario, node, at, table, canonical } => {
            let sim = run_to(&scenario, at, &RunOptions::default())?;
            write!(out, "{}", inspect::iptables_save(&sim, &node, table.as_deref(), canonical)?)
                .map_err(io)?;
            Ok(0)
        }
        Command::Nslookup { scenario, name, from, namespace, at, style } => {
            let sim = run_to(&scenario, at, &RunOptions::default())?;
            let (text, resolved) = inspect::nslookup(&sim, &from, namespace.as_deref(), &name, &style)?;
            write!(out, "{text}").map_err(io)?;
            Ok(if resolved { 0 } else { 1 })
        }
        Command::Etcdctl { scenario, at, verb, key, prefix, keys_only } => {
            if verb != "get" {
                return Err(invalid(format!("unsupported etcdctl command {verb:?}: only `get` is modelled (snapshot save and restore are timeline actions and shell commands)")));
            }
            let sim = run_to(&scenario, at, &RunOptions::default())?;
            write!(out, "{}", inspect::etcdctl_get(&sim, &key, prefix, keys_only)?).map_err(io)?;
            Ok(0)
        }
    }
}
