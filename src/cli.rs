//! The command line: `run`, `validate`, `get`, `etcdctl`, `iptables-save`, `nslookup`. Parsing only; the work is in the
//! library. Exit status: 0 when every expectation holds, 1 when one fails or the run stops
//! early, 2 on invalid input or usage.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::api::{FieldSelector, Kind, LabelSelector};
use crate::dns;
use crate::output::{files, tables, timeline};
use crate::scenario;
use crate::scheduler::decisions as kubesim_decisions;
use crate::sim::{SimDuration, SimTime};
use crate::simulation::{Outcome, RunOptions, Simulation};
use crate::store::KeyRange;

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
        #[arg(short = 'o', long)]
        output: Option<String>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        #[arg(short = 'l', long)]
        selector: Option<String>,
        #[arg(long)]
        field_selector: Option<String>,
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
    Explain {
        scenario: PathBuf,
        /// The pod (`NAME` or `NAMESPACE/NAME`); a prefix of generated names also matches
        /// (`--pod web` for `web-7x2kq`) when it is unambiguous.
        #[arg(long)]
        pod: String,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
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

/// One table (`*nat` … `COMMIT`) of an `iptables-save` text.
fn iptables_table(text: &str, table: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            inside = name == table;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
            if line == "COMMIT" {
                inside = false;
            }
        }
    }
    out
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
        Command::Run { scenario, seed, until, out: dir, check_invariants, max_events, quiet, decisions } => {
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
            // Print the timeline as it happens, one virtual second at a time.
            let mut printed = 0;
            let step = SimDuration::from_secs(1);
            let mut t = SimTime::ZERO;
            loop {
                let done = sim.run_until(t).is_some();
                if !quiet {
                    for e in &sim.trace()[printed..] {
                        writeln!(out, "{}", timeline::line(e)).map_err(io)?;
                    }
                }
                printed = sim.trace().len();
                if done {
                    break;
                }
                t = (t + step).min(sim.until());
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
        Command::Explain { scenario, pod, namespace, at } => {
            let opts = RunOptions { record_decisions: true, ..Default::default() };
            let mut sim = build(&scenario, &opts)?;
            let t = at.map_or(sim.until(), |d| SimTime(d.as_millis()));
            sim.run_until(t);
            let (ns, name) = match pod.split_once('/') {
                Some((ns, n)) => (ns.to_string(), n.to_string()),
                None => (namespace.unwrap_or_else(|| "default".into()), pod.clone()),
            };
            let log = &sim.engine().decisions.entries;
            let exact: Vec<_> = log.iter().filter(|d| d.namespace == ns && d.pod == name).collect();
            let chosen = if !exact.is_empty() {
                exact
            } else {
                let mut names: Vec<&str> = log
                    .iter()
                    .filter(|d| d.namespace == ns && d.pod.starts_with(&format!("{name}-")))
                    .map(|d| d.pod.as_str())
                    .collect();
                names.sort();
                names.dedup();
                match names.as_slice() {
                    [one] => log.iter().filter(|d| d.namespace == ns && d.pod == *one).collect(),
                    [] => {
                        let known = sim.api().get(Kind::Pod, Some(&ns), &name).is_ok();
                        let why = if known {
                            "it was never scheduled by kubesim's scheduler (it names its node, or another schedulerName)"
                        } else {
                            "no such pod"
                        };
                        return Err(Failure {
                            code: 1,
                            message: format!(
                                "error: no scheduling attempts for pod {ns}/{name} by {}: {why}",
                                sim.now()
                            ),
                        });
                    }
                    many => {
                        return Err(invalid(format!(
                            "--pod {name} matches several pods: {}; name one",
                            many.join(", ")
                        )))
                    }
                }
            };
            for d in chosen {
                write!(out, "{}", kubesim_decisions::explain_text(d, |t| t.to_string())).map_err(io)?;
            }
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
        Command::Get { args, at, output, namespace, all_namespaces, selector, field_selector } => {
            let (kinds_arg, name, path) = match args.as_slice() {
                [k, p] => (k.clone(), None, PathBuf::from(p)),
                [k, n, p] => (k.clone(), Some(n.clone()), PathBuf::from(p)),
                _ => return Err(invalid("usage: kubesim get KIND [NAME] SCENARIO --at DURATION")),
            };
            let kinds = kinds_arg
                .split(',')
                .map(|k| {
                    Kind::lookup(k)
                        .ok_or_else(|| invalid(format!("the server doesn't have a resource type {k:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let labels = LabelSelector::parse(selector.as_deref().unwrap_or("")).map_err(invalid)?;
            let fields = FieldSelector::parse(field_selector.as_deref().unwrap_or("")).map_err(invalid)?;
            let mut sim = build(&path, &RunOptions::default())?;
            let t = at.map_or(sim.until(), |d| SimTime(d.as_millis()));
            sim.run_until(t);
            let api = sim.api();
            let cx = tables::TableContext {
                now: sim.now(),
                epoch: api.epoch(),
                wide: output.as_deref() == Some("wide"),
                with_namespace: all_namespaces,
            };
            let mut first = true;
            for kind in kinds {
                let ns = if all_namespaces || !kind.namespaced() {
                    None
                } else {
                    Some(namespace.clone().unwrap_or_else(|| "default".into()))
                };
                let mut items = api.list(kind, ns.as_deref(), &labels, &fields).map_err(invalid)?.items;
                if let Some(n) = &name {
                    items.retain(|o| o.name() == n);
                    if items.is_empty() {
                        return Err(Failure {
                            code: 1,
                            message: format!(
                                "Error from server (NotFound): {} {n:?} not found",
                                kind.resource()
                            ),
                        });
                    }
                }
                match output.as_deref() {
                    Some("yaml") => {
                        for (i, o) in items.iter().enumerate() {
                            if i > 0 || !first {
                                writeln!(out, "---").map_err(io)?;
                            }
                            write!(out, "{}", o.to_yaml()).map_err(io)?;
                        }
                    }
                    Some("name") => {
                        for o in &items {
                            writeln!(out, "{}", crate::scenario::driver::kubectl_ref(kind, o.name())).map_err(io)?;
                        }
                    }
                    None | Some("wide") => {
                        if items.is_empty() {
                            let where_ = ns.map(|n| format!(" in {n} namespace")).unwrap_or_default();
                            writeln!(out, "No resources found{where_}.").map_err(io)?;
                        } else {
                            if !first {
                                writeln!(out).map_err(io)?;
                            }
                            write!(out, "{}", tables::table(kind, &items, &cx)).map_err(io)?;
                        }
                    }
                    Some(other) => return Err(invalid(format!("unable to match a printer suitable for the output format {other:?}, allowed formats are: name,wide,yaml"))),
                }
                first = false;
            }
            Ok(0)
        }
        Command::IptablesSave { scenario, node, at, table, canonical } => {
            if let Some(t) = table.as_deref().filter(|t| !matches!(*t, "nat" | "filter")) {
                return Err(invalid(format!(
                    "unknown table {t:?}: kube-proxy writes the nat and filter tables"
                )));
            }
            let mut sim = build(&scenario, &RunOptions::default())?;
            let t = at.map_or(sim.until(), |d| SimTime(d.as_millis()));
            sim.run_until(t);
            let net = &sim.engine().net;
            let Some(state) = net.node(&node) else {
                let names: Vec<&str> = net.nodes().map(|(n, _)| n).collect();
                return Err(invalid(format!(
                    "no node named {node:?} in this scenario (nodes: {})",
                    names.join(", ")
                )));
            };
            let Some((rules, installed)) = net.rules(&node) else {
                let why =
                    if state.up { "kube-proxy has not synced yet" } else { "the machine is powered off" };
                return Err(Failure {
                    code: 1,
                    message: format!("error: no rules installed on {node} at {t}: {why}"),
                });
            };
            let text = if canonical { rules.save_canonical() } else { rules.save() };
            let shown = match table.as_deref() {
                None => text,
                Some(t) => iptables_table(&text, t),
            };
            writeln!(out, "# kube-proxy on {node} installed these rules at {installed}").map_err(io)?;
            write!(out, "{shown}").map_err(io)?;
            Ok(0)
        }
        Command::Nslookup { scenario, name, from, namespace, at, style } => {
            let style = match style.as_str() {
                "busybox" => dns::NslookupStyle::Busybox,
                "bind" => dns::NslookupStyle::Bind,
                other => return Err(invalid(format!("unknown style {other:?}: expected busybox or bind"))),
            };
            let (ns, pod_name) = match from.split_once('/') {
                Some((ns, n)) => (ns.to_string(), n.to_string()),
                None => (namespace.unwrap_or_else(|| "default".into()), from.clone()),
            };
            let mut sim = build(&scenario, &RunOptions::default())?;
            let t = at.map_or(sim.until(), |d| SimTime(d.as_millis()));
            sim.run_until(t);
            let text = crate::network::traffic::nslookup_from(
                sim.api(),
                &sim.engine().net,
                &ns,
                &pod_name,
                &name,
                style,
            )
            .map_err(|e| Failure { code: 1, message: format!("error: {e}") })?;
            write!(out, "{}", text.output).map_err(io)?;
            Ok(if text.resolved { 0 } else { 1 })
        }
        Command::Etcdctl { scenario, at, verb, key, prefix, keys_only } => {
            if verb != "get" {
                return Err(invalid(format!("unsupported etcdctl command {verb:?}: only `get` is modelled")));
            }
            let mut sim = build(&scenario, &RunOptions::default())?;
            let t = at.map_or(sim.until(), |d| SimTime(d.as_millis()));
            sim.run_until(t);
            let range = if prefix { KeyRange::Prefix(key) } else { KeyRange::Key(key) };
            let kvs = sim.api().store().range(&range, 0).map_err(invalid)?;
            for kv in kvs {
                writeln!(out, "{}", kv.key).map_err(io)?;
                if keys_only {
                    writeln!(out).map_err(io)?;
                } else {
                    writeln!(out, "{}", serde_json::to_string(&kv.value.to_json()).unwrap_or_default())
                        .map_err(io)?;
                }
            }
            Ok(0)
        }
    }
}
