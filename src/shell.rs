//! `kubesim shell`: an interactive session over a paused simulation. Time moves only when asked
//! (`advance 30s`, `step`, `until NodeNotReady`); kubectl-like commands read the cluster
//! (`get`, `describe`, `etcdctl get`, `iptables-save`, `explain`, `why`) or change it (`scale`,
//! `cordon`, `drain`, `delete`, `apply -f`, `set image`, `rollout undo`, `label`, `taint`,
//! `power-off`, `partition`, `etcdctl snapshot save`…).
//!
//! Every change is recorded as a timeline action at the current virtual time in the scenario
//! document, and the run is rebuilt from that document and replayed to the current time. What
//! the session shows is therefore always exactly what the scenario file `save` writes would
//! replay to: the same state and the same event hash. Replaying costs a re-run from zero, which
//! for the scenarios a person drives by hand is milliseconds.
//!
//! Works with a terminal (line editing and history, from rustyline) and without one: commands
//! read from a pipe or file are echoed after the prompt, so a script's output reads as a
//! transcript and can be compared with a golden file.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use serde_yaml::{Mapping, Value};

mod imperative;

use crate::api::{Kind, LabelSelector};
use crate::inspect::{self, GetRequest, QueryError};
use crate::output::timeline;
use crate::scenario;
use crate::sim::{SimDuration, SimTime};
use crate::simulation::{RunOptions, Simulation};

/// How far `until` looks ahead when not told (`--timeout`).
const UNTIL_HORIZON: SimDuration = SimDuration::from_mins(60);

/// One line typed at the prompt.
#[derive(Parser, Debug)]
#[command(multicall = true, disable_help_flag = false)]
struct Line {
    #[command(subcommand)]
    command: ShellCommand,
}

/// `--dry-run=client -o yaml|name`, shared by the commands that create objects (`run`,
/// `create`, `expose`).
#[derive(clap::Args, Debug)]
struct CreateOutput {
    #[arg(long)]
    dry_run: Option<String>,
    #[arg(short = 'o', long)]
    output: Option<String>,
}

#[derive(Subcommand, Debug)]
#[command(disable_help_subcommand = true)]
enum ShellCommand {
    /// Let virtual time pass: `advance 30s`, `advance 5m`.
    Advance {
        #[arg(value_parser = parse_duration)]
        duration: SimDuration,
        /// Do not print the timeline of what happened.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run to the next instant at which something shows in the timeline.
    Step,
    /// Run until an event happens (`until NodeNotReady`, `until TaintManagerEviction pod/web`), a node
    /// condition holds (`until node worker-2 Ready=Unknown`) or pods reach a state
    /// (`until pods app=web Running 3`).
    Until {
        #[arg(required = true, num_args = 1..)]
        what: Vec<String>,
        /// Give up after this much virtual time (default 1h).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<SimDuration>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Print the virtual time.
    Time,
    /// `get pods [-o wide] [-n NS | -A] [-l SELECTOR]`, `get nodes`, `get events`, `get deploy,rs`.
    Get {
        #[arg(required = true, num_args = 1..=2)]
        args: Vec<String>,
        #[command(flatten)]
        flags: inspect::GetFlags,
    },
    /// `describe pod NAME`, `describe node worker-1`, `describe deploy web`, `describe svc web`.
    Describe {
        #[arg(required = true, num_args = 1..=2)]
        args: Vec<String>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// Containers in kubesim print nothing; `logs` says where to look instead.
    Logs {
        #[arg(num_args = 0..)]
        args: Vec<String>,
    },
    /// `scale deploy/web --replicas=5` (Deployments, ReplicaSets, StatefulSets).
    Scale {
        #[arg(required = true, num_args = 1..=2)]
        target: Vec<String>,
        #[arg(long)]
        replicas: i32,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// Mark a node unschedulable.
    Cordon { node: String },
    /// Mark a node schedulable again.
    Uncordon { node: String },
    /// Cordon a node and evict its pods (DaemonSet and mirror pods stay), respecting
    /// PodDisruptionBudgets; pods no controller manages need `--force`, pods with emptyDir
    /// volumes `--delete-emptydir-data`, as with kubectl. DaemonSet pods are always left
    /// (`--ignore-daemonsets`).
    Drain {
        node: String,
        #[arg(long)]
        ignore_daemonsets: bool,
        #[arg(long)]
        delete_emptydir_data: bool,
        #[arg(long)]
        force: bool,
    },
    /// `delete pod NAME`, `delete deploy/web`, `delete pods -l app=web`.
    Delete {
        #[arg(num_args = 0..=2)]
        target: Vec<String>,
        /// Delete what the manifests in FILE name.
        #[arg(short = 'f', long = "filename")]
        file: Option<PathBuf>,
        #[arg(short = 'l', long)]
        selector: Option<String>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        #[arg(long)]
        grace_period: Option<i64>,
        #[arg(long)]
        cascade: Option<String>,
        /// With `--grace-period=0`: delete at once (kubectl's `--force`).
        #[arg(long)]
        force: bool,
    },
    /// `run NAME --image=IMAGE [--labels=k=v] [--port=P] [--restart=Never] [-- ARGS…]`: a Pod.
    Run {
        name: String,
        #[arg(long)]
        image: String,
        #[arg(long)]
        labels: Option<String>,
        #[arg(long)]
        port: Option<i32>,
        #[arg(long)]
        restart: Option<String>,
        /// The words after `--` are the container's command, not its args.
        #[arg(long)]
        command: bool,
        #[command(flatten)]
        creation: CreateOutput,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        #[arg(last = true)]
        rest: Vec<String>,
    },
    /// `create deployment NAME --image=IMAGE [--replicas=N] [--port=P]`, `create -f FILE`.
    Create {
        #[arg(num_args = 0..=2)]
        args: Vec<String>,
        #[arg(short = 'f', long = "filename")]
        file: Option<PathBuf>,
        #[arg(long)]
        image: Option<String>,
        #[arg(long)]
        replicas: Option<i32>,
        #[arg(long)]
        port: Option<i32>,
        #[command(flatten)]
        creation: CreateOutput,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `expose deploy NAME --port=80 [--target-port=8080] [--name=SVC] [--type=NodePort]`.
    Expose {
        #[arg(required = true, num_args = 1..=2)]
        target: Vec<String>,
        #[arg(long)]
        port: i32,
        #[arg(long)]
        target_port: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "type")]
        type_: Option<String>,
        #[arg(long)]
        protocol: Option<String>,
        #[command(flatten)]
        creation: CreateOutput,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `apply -f FILE` (one or more manifests).
    Apply {
        #[arg(short = 'f', long = "filename", required = true)]
        file: PathBuf,
    },
    /// `set image deploy/web nginx=nginx:1.28`.
    Set {
        /// Only `image`.
        what: String,
        target: String,
        /// `CONTAINER=IMAGE`.
        assignment: String,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `rollout undo|pause|resume|restart deploy/web [--to-revision=N]`.
    Rollout {
        verb: String,
        /// `deploy/web` or `deployment web`.
        #[arg(required = true, num_args = 1..=2)]
        target: Vec<String>,
        #[arg(long)]
        to_revision: Option<i64>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `label node worker-1 disktype=ssd`, `label pod web-x tier-` (remove).
    Label {
        #[arg(required = true, num_args = 2..)]
        args: Vec<String>,
        #[arg(long)]
        overwrite: bool,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `taint nodes worker-1 dedicated=gpu:NoSchedule` (a trailing `-` removes it).
    Taint {
        /// `node` or `nodes`.
        resource: String,
        node: String,
        taint: String,
        #[arg(long)]
        overwrite: bool,
    },
    /// The machine loses power: kubelet and containers stop.
    PowerOff { node: String },
    /// The machine powers on again.
    PowerOn { node: String },
    /// `systemctl stop kubelet` on the node (containers keep running).
    StopKubelet { node: String },
    /// `systemctl start kubelet`.
    StartKubelet { node: String },
    /// Cut the node off from the control plane.
    Partition { node: String },
    /// Restore the node's network to the control plane.
    Heal { node: String },
    /// Add the `node.kubernetes.io/out-of-service` taint.
    OutOfService { node: String },
    /// A machine that is in the scenario but off joins the cluster.
    AddNode { node: String },
    /// `kubectl delete node`.
    RemoveNode { node: String },
    /// `etcdctl get KEY [--prefix] [--keys-only]`, `etcdctl snapshot save|restore FILE`.
    Etcdctl {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// `etcdutl snapshot restore FILE` (same as `etcdctl snapshot restore`).
    Etcdutl {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// `iptables-save --node worker-1 [-t nat]`.
    IptablesSave {
        #[arg(long)]
        node: String,
        #[arg(short = 't', long)]
        table: Option<String>,
        #[arg(long)]
        canonical: bool,
    },
    /// `nslookup NAME --from POD`.
    Nslookup {
        name: String,
        #[arg(long)]
        from: String,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `explain pod NAME`: every scheduling attempt with each node's verdict and scores.
    Explain {
        #[arg(required = true, num_args = 1..=2)]
        args: Vec<String>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// `why pod NAME`: the causal chain behind the pod's fate.
    Why {
        #[arg(required = true, num_args = 1..=2)]
        args: Vec<String>,
        #[arg(short = 'n', long)]
        namespace: Option<String>,
    },
    /// Write everything done so far as a scenario file that replays to the same state.
    Save { file: PathBuf },
    /// List the commands.
    Help,
    /// Leave the shell.
    #[command(alias = "quit")]
    Exit,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    SimDuration::parse(s).map_err(|e| e.to_string())
}

/// A timeline `at:` value that the loader reads back to the same millisecond.
fn at_text(t: SimTime) -> String {
    let ms = t.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A paused simulation and the scenario document that reproduces it.
pub struct Shell {
    path: PathBuf,
    /// The scenario as a YAML document, with the session's actions appended to `timeline`.
    doc: Value,
    sim: Simulation,
    /// Actions added by this session.
    added: usize,
    failed: bool,
}

impl Shell {
    /// Loads the scenario and pauses at time zero (after the objects are created).
    pub fn open(path: &Path) -> Result<Shell, String> {
        Shell::open_with(path, false)
    }

    /// [`Shell::open`]; with `without_timeline`, the scenario's own timeline actions (and the
    /// expectations about them) are dropped, so only what the session does happens.
    pub fn open_with(path: &Path, without_timeline: bool) -> Result<Shell, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("error: {}: {e}", path.display()))?;
        let doc: Value =
            serde_yaml::from_str(&text).map_err(|e| format!("error: {}: {e}", path.display()))?;
        let mut doc = inline_files(doc, path.parent().unwrap_or(Path::new(".")))?;
        if without_timeline {
            if let Some(root) = doc.as_mapping_mut() {
                root.remove("timeline");
                root.remove("expect");
            }
        }
        let sim = build(path, &doc)?;
        let mut shell = Shell { path: path.to_path_buf(), doc, sim, added: 0, failed: false };
        shell.sim.run_until(SimTime::ZERO);
        Ok(shell)
    }

    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// The scenario document that replays this session.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Whether a command failed (for a script's exit status).
    pub fn had_errors(&self) -> bool {
        self.failed
    }

    pub fn prompt(&self) -> String {
        format!("kubesim {}> ", self.sim.now().clock())
    }

    /// Runs one line; returns what to print and whether the session goes on.
    pub fn execute(&mut self, line: &str) -> (String, bool) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return (String::new(), true);
        }
        let mut words = match shell_words::split(line) {
            Ok(w) => w,
            Err(e) => {
                self.failed = true;
                return (format!("error: {e}\n"), true);
            }
        };
        // `ETCDCTL_API=3 etcdctl …` (an environment assignment) and `kubectl get pods` or
        // `k get pods` read the same as `etcdctl …` and `get pods`.
        while words.first().is_some_and(|w| w.contains('=') && !w.starts_with('-')) {
            words.remove(0);
        }
        if matches!(words.first().map(String::as_str), Some("kubectl" | "k")) {
            words.remove(0);
        }
        if words.first().map(String::as_str) == Some("explain")
            && words.get(1).is_some_and(|w| w.contains('.'))
        {
            self.failed = true;
            return (
                "kubectl explain (the API field documentation) is not modelled; kubesim's `explain pod NAME` shows why the scheduler placed a pod where it did.\n".into(),
                true,
            );
        }
        let parsed = match Line::try_parse_from(&words) {
            Ok(l) => l.command,
            Err(e) => {
                let text = e.render().to_string();
                if !matches!(e.kind(), clap::error::ErrorKind::DisplayHelp) {
                    self.failed = true;
                }
                return (text, true);
            }
        };
        if matches!(parsed, ShellCommand::Exit) {
            return (String::new(), false);
        }
        match self.run(parsed) {
            Ok(text) => (text, true),
            Err(e) => {
                self.failed = true;
                let mut m = e.message;
                if !m.ends_with('\n') {
                    m.push('\n');
                }
                (m, true)
            }
        }
    }

    fn run(&mut self, cmd: ShellCommand) -> Result<String, QueryError> {
        let now = self.sim.now();
        match cmd {
            ShellCommand::Advance { duration, quiet } => Ok(self.advance_to(now + duration, quiet)),
            ShellCommand::Step => Ok(self.step()),
            ShellCommand::Until { what, timeout, quiet } => self.until(&what, timeout.unwrap_or(UNTIL_HORIZON), quiet),
            ShellCommand::Time => Ok(format!("{} ({})\n", now.clock(), now)),
            ShellCommand::Get { args, flags } => {
                let (kinds, name) = kind_and_name(&args)?;
                inspect::get(&self.sim, &GetRequest { kinds, name, flags })
            }
            ShellCommand::Describe { args, namespace } => {
                let (kind, name) = kind_and_name(&args)?;
                let name =
                    name.ok_or_else(|| QueryError::invalid(format!("describe needs a name: describe {kind} NAME")))?;
                inspect::describe(&self.sim, &kind, &name, namespace.as_deref())
            }
            ShellCommand::Logs { .. } => Ok("kubesim's containers write no logs: `describe pod NAME` shows their state, restarts and events, and `why pod NAME` the story behind them.\n".into()),
            ShellCommand::Scale { target, replicas, namespace } => {
                let (kind, name) = kind_and_name(&target)?;
                let name = name.ok_or_else(|| QueryError::invalid("scale needs a name: scale deploy/web --replicas=3"))?;
                let kind = one_kind(&kind)?;
                self.act(entry("scale", &[("kind", kind.name().into()), ("name", name.into()), ("replicas", replicas.into())], namespace))
            }
            ShellCommand::Cordon { node } => self.node_action("cordon", node),
            ShellCommand::Uncordon { node } => self.node_action("uncordon", node),
            ShellCommand::Drain { node, force, delete_emptydir_data, .. } => {
                let mut fields: Vec<(&str, Value)> = vec![("node", node.into())];
                if force {
                    fields.push(("force", true.into()));
                }
                if delete_emptydir_data {
                    fields.push(("deleteEmptydirData", true.into()));
                }
                self.act(entry("drain", &fields, None))
            }
            ShellCommand::PowerOff { node } => self.node_action("power-off", node),
            ShellCommand::PowerOn { node } => self.node_action("power-on", node),
            ShellCommand::StopKubelet { node } => self.node_action("stop-kubelet", node),
            ShellCommand::StartKubelet { node } => self.node_action("start-kubelet", node),
            ShellCommand::Partition { node } => self.node_action("partition", node),
            ShellCommand::Heal { node } => self.node_action("heal", node),
            ShellCommand::OutOfService { node } => self.node_action("out-of-service", node),
            ShellCommand::AddNode { node } => self.node_action("add-node", node),
            ShellCommand::RemoveNode { node } => self.node_action("remove-node", node),
            ShellCommand::Delete { target, file: Some(file), .. } if target.is_empty() => {
                let objects = manifest_objects(&file)?;
                let mut out = String::new();
                for o in objects {
                    let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
                    let meta = o.get("metadata");
                    let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or_default().to_string();
                    let ns = meta.and_then(|m| m.get("namespace")).and_then(Value::as_str).map(str::to_string);
                    out.push_str(&self.act(entry("delete", &[("kind", kind.into()), ("name", name.into())], ns))?);
                }
                Ok(out)
            }
            ShellCommand::Delete { target, selector, namespace, grace_period, cascade, force, .. } => {
                if target.is_empty() {
                    return Err(QueryError::invalid("delete needs TYPE NAME, TYPE -l SELECTOR or -f FILE"));
                }
                let (kind, name) = kind_and_name(&target)?;
                let kind = one_kind(&kind)?;
                let mut fields: Vec<(&str, Value)> = vec![("kind", kind.name().into())];
                match (name, selector) {
                    (Some(n), None) => fields.push(("name", n.into())),
                    (None, Some(s)) => fields.push(("selector", s.into())),
                    (Some(_), Some(_)) => return Err(QueryError::invalid("name cannot be provided when a selector is specified")),
                    (None, None) => return Err(QueryError::invalid("resource(s) were provided, but no name was specified")),
                }
                let grace = if force { Some(grace_period.unwrap_or(0)) } else { grace_period };
                if let Some(g) = grace {
                    fields.push(("gracePeriod", g.into()));
                }
                if let Some(c) = cascade {
                    fields.push(("cascade", c.into()));
                }
                let said = self.act(entry("delete", &fields, namespace))?;
                // kubectl delete --force: the warning first, "force deleted" after.
                if force && grace == Some(0) {
                    return Ok(format!(
                        "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n{}",
                        said.replace("\" deleted", "\" force deleted")
                    ));
                }
                Ok(said)
            }
            ShellCommand::Apply { file } => {
                let objects = manifest_objects(&file)?;
                self.act(entry("apply", &[("objects", Value::Sequence(objects))], None))
            }
            ShellCommand::Run { name, image, labels, port, restart, command, creation, namespace, rest } => {
                let pod = imperative::run_pod(&imperative::RunRequest {
                    name: &name,
                    image: &image,
                    labels: labels.as_deref(),
                    port,
                    restart: restart.as_deref(),
                    namespace: namespace.as_deref(),
                    rest: &rest,
                    command,
                })?;
                self.create_objects(vec![pod], &creation)
            }
            ShellCommand::Create { args, file, image, replicas, port, creation, namespace } => {
                if let Some(file) = file {
                    let objects = manifest_objects(&file)?;
                    return self.create_objects(objects, &creation);
                }
                match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    ["deployment" | "deploy", name] => {
                        let image = image.ok_or_else(|| QueryError::invalid("required flag(s) \"image\" not set"))?;
                        let d = imperative::create_deployment(name, &image, replicas, port, namespace.as_deref());
                        self.create_objects(vec![d], &creation)
                    }
                    _ => Err(QueryError::invalid(
                        "modelled: create deployment NAME --image=IMAGE [--replicas=N] [--port=P], create -f FILE",
                    )),
                }
            }
            ShellCommand::Expose { target, port, target_port, name, type_, protocol, creation, namespace } => {
                let (kind, object_name) = kind_and_name(&target)?;
                let kind = one_kind(&kind)?;
                if !imperative::exposable(kind) {
                    return Err(QueryError::invalid(format!("cannot expose a {kind}")));
                }
                let object_name = object_name.ok_or_else(|| QueryError::invalid("expose needs TYPE NAME"))?;
                let ns = namespace.as_deref().unwrap_or("default");
                let obj = self.sim.api().get(kind, Some(ns), &object_name).map_err(|e| {
                    QueryError::not_found(format!("Error from server (NotFound): {e}"))
                })?;
                let svc = imperative::expose(&imperative::ExposeRequest {
                    target: &obj,
                    port,
                    target_port: target_port.as_deref(),
                    name: name.as_deref(),
                    type_: type_.as_deref(),
                    protocol: protocol.as_deref(),
                })?;
                self.create_objects(vec![svc], &creation)
            }
            ShellCommand::Set { what, target, assignment, namespace } => {
                if what != "image" {
                    return Err(QueryError::invalid(format!("unknown command \"set {what}\": only `set image` is modelled")));
                }
                let (kind, name) = kind_and_name(std::slice::from_ref(&target))?;
                let kind = one_kind(&kind)?;
                let name = name.ok_or_else(|| QueryError::invalid("set image needs TYPE/NAME"))?;
                let (container, image) = assignment
                    .split_once('=')
                    .ok_or_else(|| QueryError::invalid(format!("expected CONTAINER=IMAGE, got {assignment:?}")))?;
                self.act(entry(
                    "set-image",
                    &[("kind", kind.name().into()), ("name", name.into()), ("container", container.into()), ("image", image.into())],
                    namespace,
                ))
            }
            ShellCommand::Rollout { verb, target, namespace, .. } if verb == "status" || verb == "history" => {
                let (kind, name) = kind_and_name(&target)?;
                if one_kind(&kind)? != Kind::Deployment {
                    return Err(QueryError::invalid("rollout status and history are modelled for Deployments"));
                }
                let name = name.ok_or_else(|| QueryError::invalid("rollout needs TYPE/NAME or TYPE NAME"))?;
                let ns = namespace.unwrap_or_else(|| "default".into());
                if verb == "history" {
                    self.rollout_history(&ns, &name)
                } else {
                    self.rollout_status(&ns, &name)
                }
            }
            ShellCommand::Rollout { verb, target, to_revision, namespace } => {
                let action = match verb.as_str() {
                    "undo" | "pause" | "resume" | "restart" => format!("rollout-{verb}"),
                    other => return Err(QueryError::invalid(format!("unknown rollout command {other:?}: expected undo, pause, resume, restart, status or history"))),
                };
                let (kind, name) = kind_and_name(&target)?;
                let kind = one_kind(&kind)?;
                let name = name.ok_or_else(|| QueryError::invalid("rollout needs TYPE/NAME or TYPE NAME"))?;
                let mut fields: Vec<(&str, Value)> = vec![("kind", kind.name().into()), ("name", name.into())];
                if let Some(r) = to_revision {
                    fields.push(("toRevision", r.into()));
                }
                self.act(entry(&action, &fields, namespace))
            }
            ShellCommand::Label { args, overwrite, namespace } => {
                // `label node worker-1 k=v` or `label node/worker-1 k=v`.
                let split = if args[0].contains('/') { 1 } else { 2 };
                if args.len() <= split {
                    return Err(QueryError::invalid("label needs TYPE NAME KEY=VALUE…"));
                }
                let (kind, name) = kind_and_name(&args[..split])?;
                let kind = one_kind(&kind)?;
                let name = name.ok_or_else(|| QueryError::invalid("label needs a name"))?;
                let labels: Vec<Value> = args[split..].iter().map(|a| Value::from(a.as_str())).collect();
                let mut fields: Vec<(&str, Value)> = vec![("kind", kind.name().into()), ("name", name.into()), ("labels", Value::Sequence(labels))];
                if overwrite {
                    fields.push(("overwrite", true.into()));
                }
                self.act(entry("label", &fields, namespace))
            }
            ShellCommand::Taint { resource, node, taint, overwrite } => {
                if !matches!(resource.as_str(), "node" | "nodes" | "no") {
                    return Err(QueryError::invalid(format!("only nodes can be tainted, not {resource:?}")));
                }
                let mut fields: Vec<(&str, Value)> = vec![("node", node.into()), ("taint", taint.into())];
                if overwrite {
                    fields.push(("overwrite", true.into()));
                }
                self.act(entry("taint", &fields, None))
            }
            ShellCommand::Etcdctl { args } | ShellCommand::Etcdutl { args } => self.etcd(&args),
            ShellCommand::IptablesSave { node, table, canonical } => {
                inspect::iptables_save(&self.sim, &node, table.as_deref(), canonical)
            }
            ShellCommand::Nslookup { name, from, namespace } => {
                inspect::nslookup(&self.sim, &from, namespace.as_deref(), &name, "busybox").map(|(text, _)| text)
            }
            ShellCommand::Explain { args, namespace } => {
                let name = pod_arg(&args)?;
                inspect::explain(&self.sim, &name, namespace.as_deref())
            }
            ShellCommand::Why { args, namespace } => {
                let name = pod_arg(&args)?;
                inspect::why(&self.sim, &name, namespace.as_deref())
            }
            ShellCommand::Save { file } => self.save(&file),
            ShellCommand::Help => Ok(help()),
            ShellCommand::Exit => Ok(String::new()),
        }
    }

    /// Creates objects as `kubectl create` does (an error for one that exists), or with
    /// `--dry-run=client` prints them (`-o yaml`) without sending anything.
    fn create_objects(&mut self, objects: Vec<Value>, creation: &CreateOutput) -> Result<String, QueryError> {
        match creation.dry_run.as_deref() {
            None | Some("none") => {}
            Some("client" | "server") => {
                return match creation.output.as_deref() {
                    // As kubectl prints it (keys sorted, go-yaml quoting).
                    Some("yaml") => Ok(objects
                        .iter()
                        .map(|o| crate::output::yaml::to_yaml(&serde_json::to_value(o).unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join("---\n")),
                    Some("name") | None => Ok(objects
                        .iter()
                        .map(|o| {
                            let kind =
                                o.get("kind").and_then(Value::as_str).unwrap_or_default().to_lowercase();
                            let name = o
                                .get("metadata")
                                .and_then(|m| m.get("name"))
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            format!("{kind}/{name} created (dry run)\n")
                        })
                        .collect()),
                    Some(other) => Err(QueryError::invalid(format!(
                        "output format {other:?} is not modelled: yaml or name"
                    ))),
                };
            }
            Some(other) => {
                return Err(QueryError::invalid(format!(
                    "Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
                )))
            }
        }
        for o in &objects {
            let kind = o.get("kind").and_then(Value::as_str).and_then(Kind::lookup);
            let meta = o.get("metadata");
            let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or_default();
            let ns = meta.and_then(|m| m.get("namespace")).and_then(Value::as_str).unwrap_or("default");
            if let Some(kind) = kind {
                let ns = kind.namespaced().then_some(ns);
                if self.sim.api().get(kind, ns, name).is_ok() {
                    return Err(QueryError::not_found(format!(
                        "Error from server (AlreadyExists): {} {name:?} already exists",
                        kind.resource()
                    )));
                }
            }
        }
        self.act(entry("apply", &[("objects", Value::Sequence(objects))], None))
    }

    /// `kubectl rollout history deployment/NAME`: the revisions of its ReplicaSets.
    fn rollout_history(&self, ns: &str, name: &str) -> Result<String, QueryError> {
        use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
        let d: Deployment = self
            .sim
            .api()
            .get_as(Some(ns), name)
            .map_err(|e| QueryError::not_found(format!("Error from server (NotFound): {e}")))?;
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let mut revisions: Vec<(i64, String)> = self
            .sim
            .api()
            .list_all(Kind::ReplicaSet)
            .iter()
            .filter_map(|o| o.as_type::<ReplicaSet>())
            .filter(|rs| rs.metadata.namespace.as_deref() == Some(ns))
            .filter(|rs| crate::api::pod::controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
            .filter_map(|rs| {
                let a = rs.metadata.annotations.as_ref()?;
                let rev = a.get("deployment.kubernetes.io/revision")?.parse().ok()?;
                Some((rev, a.get("kubernetes.io/change-cause").cloned().unwrap_or_else(|| "<none>".into())))
            })
            .collect();
        revisions.sort();
        let mut out = format!("deployment.apps/{name} \nREVISION  CHANGE-CAUSE\n");
        for (rev, cause) in revisions {
            out.push_str(&format!("{rev:<10}{cause}\n"));
        }
        Ok(out)
    }

    /// `kubectl rollout status deployment/NAME`: waits (virtual time passes) until the rollout
    /// is complete, printing kubectl's progress lines as they change.
    fn rollout_status(&mut self, ns: &str, name: &str) -> Result<String, QueryError> {
        use k8s_openapi::api::apps::v1::Deployment;
        let start = self.sim.now();
        let deadline = start + UNTIL_HORIZON;
        let mut out = String::new();
        let mut printed: Vec<String> = Vec::new();
        loop {
            let d: Deployment = self
                .sim
                .api()
                .get_as(Some(ns), name)
                .map_err(|e| QueryError::not_found(format!("Error from server (NotFound): {e}")))?;
            // polymorphichelpers DeploymentStatusViewer.Status.
            let (msg, done) = deployment_rollout_status(&d, name)?;
            if !printed.contains(&msg) {
                out.push_str(&msg);
                printed.push(msg);
            }
            if done {
                return Ok(out);
            }
            if !self.run_next_instant(deadline) {
                self.rewind(start);
                out.push_str(&format!(
                    "error: timed out waiting for the condition (the clock stays at {})\n",
                    start.clock()
                ));
                return Err(QueryError { code: 1, message: out });
            }
        }
    }

    fn node_action(&mut self, action: &str, node: String) -> Result<String, QueryError> {
        self.act(entry(action, &[("node", node.into())], None))
    }

    fn etcd(&mut self, args: &[String]) -> Result<String, QueryError> {
        // The TLS, endpoint and data-dir flags a real etcdctl/etcdutl needs on a kubeadm node
        // mean nothing here (`--cacert=FILE` or `--cacert FILE`).
        const CONNECTION: [&str; 5] = ["--cacert", "--cert", "--key", "--endpoints", "--data-dir"];
        let mut words: Vec<&str> = Vec::new();
        let mut skip_value = false;
        for a in args.iter().map(String::as_str) {
            if skip_value {
                skip_value = false;
                continue;
            }
            if CONNECTION.contains(&a) {
                skip_value = true;
                continue;
            }
            if CONNECTION.iter().any(|f| a.starts_with(&format!("{f}="))) {
                continue;
            }
            words.push(a);
        }
        match words.as_slice() {
            ["get", rest @ ..] => {
                let key = rest.iter().find(|a| !a.starts_with("--")).ok_or_else(|| QueryError::invalid("etcdctl get needs a key"))?;
                let prefix = rest.contains(&"--prefix");
                let keys_only = rest.contains(&"--keys-only");
                inspect::etcdctl_get(&self.sim, key, prefix, keys_only)
            }
            ["snapshot", "save", file] => self.act(entry("etcd-snapshot-save", &[("file", (*file).into())], None)),
            ["snapshot", "restore", file] => self.act(entry("etcd-snapshot-restore", &[("file", (*file).into())], None)),
            ["snapshot", "status", file, ..] => {
                // etcdutl snapshot status's simple form: hash, revision, total keys, total size.
                let snap = self.sim.api().snapshot(file).ok_or_else(|| {
                    QueryError::not_found(format!("Error: stat {file}: no such file or directory"))
                })?;
                let bytes: usize =
                    snap.entries.iter().map(|(k, v)| k.len() + serde_json::to_string(&v.to_json()).map_or(0, |j| j.len())).sum();
                let hash = crate::sim::hash::hash_str(&format!("{file}/{}", snap.revision)) as u32;
                Ok(format!("{hash:08x}, {}, {}, {:.1} kB\n", snap.revision, snap.entries.len(), bytes as f64 / 1000.0))
            }
            _ => Err(QueryError::invalid("modelled: etcdctl get KEY [--prefix] [--keys-only], etcdctl snapshot save FILE, etcdutl snapshot restore FILE")),
        }
    }

    /// Records an action at the current time and replays the run to it; returns what kubectl
    /// (or the machine) printed for it.
    fn act(&mut self, mut action: Mapping) -> Result<String, QueryError> {
        let now = self.sim.now();
        // The action must come after everything the session has already seen happen. Events
        // at this very instant were delivered (a `step`, or an `advance` onto an event), and a
        // replay would run a timeline action at this instant before them: record it 1ms later.
        let at =
            if self.sim.last_event_time() == Some(now) { now + SimDuration::from_millis(1) } else { now };
        action.insert("at".into(), at_text(at).into());
        let mut doc = self.doc.clone();
        let root = doc.as_mapping_mut().expect("a scenario is a mapping");
        if at > self.sim.until() {
            root.insert("until".into(), at_text(at).into());
        }
        let timeline = root.entry("timeline".into()).or_insert_with(|| Value::Sequence(Vec::new()));
        if timeline.is_null() {
            *timeline = Value::Sequence(Vec::new());
        }
        let Some(seq) = timeline.as_sequence_mut() else {
            return Err(QueryError::invalid("the scenario's timeline is not a list"));
        };
        seq.push(Value::Mapping(action));
        let before = self.sim.trace().iter().filter(|e| e.time == at && e.source == "scenario").count();
        let mut sim =
            build(&self.path, &doc).map_err(|m| QueryError::invalid(m.trim_start_matches("error: ")))?;
        sim.run_until(at);
        let said: Vec<&crate::sim::TraceEntry> =
            sim.trace().iter().filter(|e| e.time == at && e.source == "scenario").skip(before).collect();
        let text: String = said.iter().map(|e| format!("{}\n", e.message)).collect();
        // A command that only failed changed nothing (as with kubectl): it stays out of the
        // session and of the file `save` writes.
        if !said.is_empty() && said.iter().all(|e| e.type_ == "Warning" && e.reason.ends_with("Failed")) {
            return Err(QueryError { code: 1, message: text });
        }
        self.doc = doc;
        self.sim = sim;
        self.added += 1;
        Ok(text)
    }

    /// Runs to `t`, moving the scenario's end later if needed; returns the timeline lines.
    fn advance_to(&mut self, t: SimTime, quiet: bool) -> String {
        if t > self.sim.until() {
            self.extend_until(t);
        }
        let printed = self.sim.trace().len();
        self.sim.run_until(t);
        if quiet {
            let n = self.sim.trace().len() - printed;
            return format!("{n} timeline events; now {}\n", self.sim.now().clock());
        }
        self.sim.trace()[printed..].iter().map(|e| format!("{}\n", timeline::line(e))).collect()
    }

    /// The scenario's end moves to `t` (rebuilding the run, which replays to the same state).
    fn extend_until(&mut self, t: SimTime) {
        let now = self.sim.now();
        let mut doc = self.doc.clone();
        doc.as_mapping_mut().expect("mapping").insert("until".into(), at_text(t).into());
        if let Ok(mut sim) = build(&self.path, &doc) {
            sim.run_until(now);
            self.doc = doc;
            self.sim = sim;
        }
    }

    /// Runs the next instant that has events, if it comes no later than `deadline`; returns
    /// whether it did.
    fn run_next_instant(&mut self, deadline: SimTime) -> bool {
        match self.sim.next_event_time() {
            Some(next) if next <= deadline => {
                if next > self.sim.until() {
                    self.extend_until(next);
                }
                self.sim.run_until(next);
                true
            }
            _ => false,
        }
    }

    fn step(&mut self) -> String {
        let printed = self.sim.trace().len();
        loop {
            if !self.run_next_instant(SimTime::MAX) {
                return format!("nothing left to happen (now {})\n", self.sim.now().clock());
            }
            if self.sim.trace().len() > printed {
                return self.sim.trace()[printed..]
                    .iter()
                    .map(|e| format!("{}\n", timeline::line(e)))
                    .collect();
            }
        }
    }

    fn until(&mut self, what: &[String], timeout: SimDuration, quiet: bool) -> Result<String, QueryError> {
        let goal = Goal::parse(what, &self.sim)?;
        let start = self.sim.now();
        let deadline = start + timeout;
        let printed = self.sim.trace().len();
        let mut checked = printed;
        loop {
            if goal.reached(&self.sim, checked) {
                break;
            }
            checked = self.sim.trace().len();
            if !self.run_next_instant(deadline) {
                // Nothing was spent: the session goes back to where it was.
                self.rewind(start);
                let message = format!(
                    "{} did not happen within {timeout} (the clock stays at {}; `until ... --timeout 2h` waits longer)\n",
                    what.join(" "),
                    start.clock()
                );
                return Err(QueryError { code: 1, message });
            }
        }
        let mut out = self.lines_since(printed, quiet);
        out.push_str(&format!("reached at {}: {}\n", self.sim.now().clock(), what.join(" ")));
        Ok(out)
    }

    /// Rebuilds the run at `t` (earlier than now), from the session's document.
    fn rewind(&mut self, t: SimTime) {
        if let Ok(mut sim) = build(&self.path, &self.doc) {
            sim.run_until(t);
            self.sim = sim;
        }
    }

    fn lines_since(&self, printed: usize, quiet: bool) -> String {
        if quiet {
            return String::new();
        }
        self.sim.trace()[printed..].iter().map(|e| format!("{}\n", timeline::line(e))).collect()
    }

    /// Writes the session as a scenario file (atomically: a temporary file renamed into place).
    fn save(&self, file: &Path) -> Result<String, QueryError> {
        let mut doc = self.doc.clone();
        let now = self.sim.now();
        if let Some(m) = doc.as_mapping_mut() {
            if self.sim.until() < now {
                m.insert("until".into(), at_text(now).into());
            }
        }
        let body = serde_yaml::to_string(&doc).map_err(QueryError::invalid)?;
        let text = format!(
            "# Saved by `kubesim shell` from {} at {} ({} action(s) added to the timeline).\n# `kubesim run` on this file replays the session; the state at {} is the same.\n{body}",
            self.path.display(),
            now.clock(),
            self.added,
            now.clock()
        );
        let tmp = file.with_extension("yaml.tmp");
        std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, file)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            QueryError::invalid(format!("writing {}: {e}", file.display()))
        })?;
        Ok(format!("saved {} ({} action(s) added; replays to {})\n", file.display(), self.added, now.clock()))
    }

    /// Reads commands until `exit` or the end of input. With a terminal: line editing and
    /// history; without: each command is echoed after the prompt.
    pub fn run_session(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        use std::io::IsTerminal;
        if std::io::stdin().is_terminal() {
            writeln!(
                out,
                "kubesim shell: {} paused at {} ({} timeline events so far: `get events` lists them). `help` lists the commands, `exit` leaves.",
                self.sim.scenario.name,
                self.sim.now().clock(),
                self.sim.trace().len()
            )?;
            let own = self.sim.scenario.timeline.len().saturating_sub(self.added);
            if own > 0 {
                writeln!(
                    out,
                    "The scenario's own timeline ({own} actions) still runs as time passes; `kubesim shell --without-timeline` leaves it out."
                )?;
            }
            let mut editor = match rustyline::DefaultEditor::new() {
                Ok(e) => e,
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            };
            loop {
                match editor.readline(&self.prompt()) {
                    Ok(line) => {
                        let _ = editor.add_history_entry(line.as_str());
                        let (text, go_on) = self.execute(&line);
                        out.write_all(text.as_bytes())?;
                        out.flush()?;
                        if !go_on {
                            break;
                        }
                    }
                    Err(rustyline::error::ReadlineError::Interrupted) => continue,
                    Err(rustyline::error::ReadlineError::Eof) => break,
                    Err(e) => return Err(std::io::Error::other(e.to_string())),
                }
            }
            return Ok(());
        }
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let (text, go_on) = self.echo_and_execute(&line?);
            out.write_all(text.as_bytes())?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// One scripted line as the transcript shows it: the prompt and the command, then its
    /// output (blank lines are skipped). Returns whether the session goes on.
    pub fn echo_and_execute(&mut self, line: &str) -> (String, bool) {
        let line = line.trim();
        if line.is_empty() {
            return (String::new(), true);
        }
        if line.starts_with('#') {
            return (format!("{line}\n"), true);
        }
        let echo = format!("{}{line}\n", self.prompt());
        let (text, go_on) = self.execute(line);
        (echo + &text, go_on)
    }

    /// Runs a whole script (what `kubesim shell SCENARIO < FILE` prints).
    pub fn run_script(&mut self, script: &str) -> String {
        let mut out = String::new();
        for line in script.lines() {
            let (text, go_on) = self.echo_and_execute(line);
            out.push_str(&text);
            if !go_on {
                break;
            }
        }
        out
    }

    /// `save FILE`, for library users and tests.
    pub fn save_to(&self, file: &Path) -> Result<String, QueryError> {
        self.save(file)
    }
}

/// What `until` waits for.
enum Goal {
    /// An event with this reason (and object `kind/name` prefix).
    Event { reason: String, object: Option<String> },
    /// `node NAME TYPE=STATUS`.
    NodeCondition { node: String, condition: String, status: String },
    /// `pods SELECTOR [PHASE|STATUS] [COUNT]`.
    Pods { selector: LabelSelector, state: Option<String>, count: usize },
}

impl Goal {
    /// Parses and checks a goal, so that a typo is an error now rather than an hour of
    /// virtual time spent waiting for something that cannot happen.
    fn parse(words: &[String], sim: &Simulation) -> Result<Goal, QueryError> {
        const USAGE: &str =
            "until REASON [KIND/NAME] | until node NAME CONDITION=STATUS | until pods SELECTOR [PHASE|STATUS] [COUNT]";
        // Phases and kubectl STATUS values a pod can reach.
        const POD_STATES: &[&str] = &[
            "Pending",
            "Running",
            "Succeeded",
            "Failed",
            "Unknown",
            "ContainerCreating",
            "PodInitializing",
            "CrashLoopBackOff",
            "ImagePullBackOff",
            "ErrImagePull",
            "Completed",
            "Error",
            "OOMKilled",
            "Terminating",
            "Evicted",
            "OutOfcpu",
            "OutOfmemory",
        ];
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["node", node, cond] => {
                let (condition, status) = cond.split_once('=').ok_or_else(|| {
                    QueryError::invalid(format!(
                        "expected CONDITION=STATUS (e.g. Ready=Unknown), got {cond:?}"
                    ))
                })?;
                if !matches!(status, "True" | "False" | "Unknown") {
                    return Err(QueryError::invalid(format!(
                        "a condition's status is True, False or Unknown, not {status:?}"
                    )));
                }
                if sim.api().get(Kind::Node, None, node).is_err()
                    && !sim.scenario.nodes.iter().any(|n| n.kubelet.node_name == *node)
                {
                    return Err(QueryError::invalid(format!("no node named {node:?} in this scenario")));
                }
                Ok(Goal::NodeCondition {
                    node: node.to_string(),
                    condition: condition.into(),
                    status: status.into(),
                })
            }
            ["node", ..] => Err(QueryError::invalid(
                "until node NAME CONDITION=STATUS (e.g. until node worker-2 Ready=Unknown)",
            )),
            ["pods", selector, rest @ ..] => {
                let selector = LabelSelector::parse(selector).map_err(QueryError::invalid)?;
                let state_of = |s: &str| -> Result<String, QueryError> {
                    if POD_STATES.contains(&s) || s.starts_with("Init:") {
                        Ok(s.to_string())
                    } else {
                        Err(QueryError::invalid(format!(
                            "unknown pod state {s:?}: a phase ({}) or a kubectl STATUS such as CrashLoopBackOff",
                            POD_STATES[..5].join(", ")
                        )))
                    }
                };
                let (state, count) = match rest {
                    [] => (None, 1),
                    [one] => match one.parse::<usize>() {
                        Ok(n) => (None, n),
                        Err(_) => (Some(state_of(one)?), 1),
                    },
                    [state, n] => (
                        Some(state_of(state)?),
                        n.parse()
                            .map_err(|_| QueryError::invalid(format!("expected a pod count, got {n:?}")))?,
                    ),
                    _ => return Err(QueryError::invalid(USAGE)),
                };
                Ok(Goal::Pods { selector, state, count })
            }
            ["pods"] => Err(QueryError::invalid(
                "until pods SELECTOR [PHASE|STATUS] [COUNT] (e.g. until pods app=web Running 3)",
            )),
            [reason] => Ok(Goal::Event { reason: reason.to_string(), object: None }),
            [reason, object] => {
                Ok(Goal::Event { reason: reason.to_string(), object: Some(object.to_string()) })
            }
            _ => Err(QueryError::invalid(USAGE)),
        }
    }

    /// Whether the goal holds, looking at timeline entries from index `from` on.
    fn reached(&self, sim: &Simulation, from: usize) -> bool {
        match self {
            Goal::Event { reason, object } => sim.trace()[from..].iter().any(|e| {
                &e.reason == reason
                    && object.as_ref().is_none_or(|o| {
                        let full = format!("{}/{}", e.kind.to_lowercase(), e.name);
                        full.starts_with(o.as_str()) || e.name.starts_with(o.as_str())
                    })
            }),
            Goal::NodeCondition { node, condition, status } => sim
                .api()
                .get_as::<k8s_openapi::api::core::v1::Node>(None, node)
                .ok()
                .and_then(|n| crate::api::pod::node_condition(&n, condition).map(|c| &c.status == status))
                .unwrap_or(false),
            Goal::Pods { selector, state, count } => {
                let pods = sim
                    .api()
                    .list(Kind::Pod, None, selector, &crate::api::FieldSelector::everything())
                    .map(|l| l.items)
                    .unwrap_or_default();
                let n = pods
                    .iter()
                    .filter_map(|o| o.as_type::<k8s_openapi::api::core::v1::Pod>())
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter(|p| {
                        state.as_ref().is_none_or(|s| {
                            crate::api::pod::phase(p) == s || &crate::output::tables::pod_status(p) == s
                        })
                    })
                    .count();
                n >= *count
            }
        }
    }
}

/// `pod NAME` or `NAME`.
fn pod_arg(args: &[String]) -> Result<String, QueryError> {
    match args {
        [name] => Ok(name.strip_prefix("pod/").unwrap_or(name).to_string()),
        [kind, name] if matches!(kind.as_str(), "pod" | "pods" | "po") => Ok(name.clone()),
        [kind, _] => Err(QueryError::invalid(format!("only pods are explained, not {kind:?}"))),
        _ => Err(QueryError::invalid("expected `pod NAME`")),
    }
}

/// `KIND NAME`, `KIND/NAME` or `KIND`.
fn kind_and_name(args: &[String]) -> Result<(String, Option<String>), QueryError> {
    match args {
        [one] => match one.split_once('/') {
            Some((k, n)) => Ok((k.to_string(), Some(n.to_string()))),
            None => Ok((one.clone(), None)),
        },
        [k, n] => Ok((k.clone(), Some(n.clone()))),
        _ => Err(QueryError::invalid("expected TYPE [NAME] or TYPE/NAME")),
    }
}

fn one_kind(text: &str) -> Result<Kind, QueryError> {
    match inspect::kinds(text)?.as_slice() {
        [k] => Ok(*k),
        _ => Err(QueryError::invalid("expected one resource type")),
    }
}

fn entry(action: &str, fields: &[(&str, Value)], namespace: Option<String>) -> Mapping {
    let mut m = Mapping::new();
    m.insert("action".into(), action.into());
    if let Some(ns) = namespace {
        m.insert("namespace".into(), ns.into());
    }
    for (k, v) in fields {
        m.insert((*k).into(), v.clone());
    }
    m
}

/// The line `kubectl rollout status` prints for a Deployment, and whether it is done.
fn deployment_rollout_status(
    d: &k8s_openapi::api::apps::v1::Deployment,
    name: &str,
) -> Result<(String, bool), QueryError> {
    let status = d.status.clone().unwrap_or_default();
    if d.metadata.generation > status.observed_generation {
        return Ok(("Waiting for deployment spec update to be observed...\n".into(), false));
    }
    let timed_out = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    if timed_out {
        return Err(QueryError {
            code: 1,
            message: format!("error: deployment {name:?} exceeded its progress deadline\n"),
        });
    }
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    Ok(if updated < replicas {
        (
            format!("Waiting for deployment {name:?} rollout to finish: {updated} out of {replicas} new replicas have been updated...\n"),
            false,
        )
    } else if total > updated {
        (
            format!("Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...\n", total - updated),
            false,
        )
    } else if available < updated {
        (
            format!("Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available...\n"),
            false,
        )
    } else {
        (format!("deployment {name:?} successfully rolled out\n"), true)
    })
}

/// The manifests in a file given with `-f`.
fn manifest_objects(file: &Path) -> Result<Vec<Value>, QueryError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        QueryError::invalid(format!("the path {:?} does not exist ({e})", file.display().to_string()))
    })?;
    yaml_documents(&text).map_err(|e| QueryError::invalid(format!("{}: {e}", file.display())))
}

/// The documents of a manifest file, as YAML values (empty documents skipped).
fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for d in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(d).map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Replaces `{file: …}` references (objects, static pods, timeline `apply` files, the scheduler
/// configuration) with their contents, so a saved session is one self-contained file.
fn inline_files(mut doc: Value, base: &Path) -> Result<Value, String> {
    let read = |rel: &str| -> Result<String, String> {
        let p = base.join(rel);
        std::fs::read_to_string(&p).map_err(|e| format!("error: {}: {e}", p.display()))
    };
    let expand = |list: &mut Value| -> Result<(), String> {
        let Some(seq) = list.as_sequence_mut() else {
            return Ok(());
        };
        let mut out = Vec::new();
        for item in seq.drain(..) {
            let file = item
                .as_mapping()
                .filter(|m| m.len() == 1)
                .and_then(|m| m.get("file"))
                .and_then(Value::as_str);
            match file {
                Some(f) => out.extend(yaml_documents(&read(f)?).map_err(|e| format!("error: {f}: {e}"))?),
                None => out.push(item),
            }
        }
        *seq = out;
        Ok(())
    };
    let Some(root) = doc.as_mapping_mut() else {
        return Ok(doc);
    };
    if let Some(objects) = root.get_mut("objects") {
        expand(objects)?;
    }
    if let Some(nodes) = root.get_mut("nodes").and_then(Value::as_sequence_mut) {
        for n in nodes {
            if let Some(static_pods) = n.get_mut("staticPods") {
                expand(static_pods)?;
            }
        }
    }
    if let Some(timeline) = root.get_mut("timeline").and_then(Value::as_sequence_mut) {
        for e in timeline {
            let Some(m) = e.as_mapping_mut() else { continue };
            if m.get("action").and_then(Value::as_str) != Some("apply") {
                continue;
            }
            if let Some(f) = m.remove("file") {
                let f = f.as_str().unwrap_or_default().to_string();
                let docs = yaml_documents(&read(&f)?).map_err(|e| format!("error: {f}: {e}"))?;
                let objects = m.entry("objects".into()).or_insert_with(|| Value::Sequence(Vec::new()));
                if let Some(seq) = objects.as_sequence_mut() {
                    seq.extend(docs);
                }
            }
        }
    }
    if let Some(cfg) = root.get_mut("config").and_then(|c| c.get_mut("scheduler")) {
        let file = cfg
            .as_mapping()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.get("file"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(f) = file {
            let docs = yaml_documents(&read(&f)?).map_err(|e| format!("error: {f}: {e}"))?;
            *cfg = docs.into_iter().next().unwrap_or(Value::Null);
        }
    }
    Ok(doc)
}

fn build(path: &Path, doc: &Value) -> Result<Simulation, String> {
    let text = serde_yaml::to_string(doc).map_err(|e| format!("error: {e}"))?;
    let scn = scenario::parse(&text, path).map_err(|e| {
        // A command the session added: say what is wrong with it, not where in the generated
        // document it sits.
        match e.message.strip_prefix("timeline[").and_then(|r| r.split_once(": ")) {
            Some((_, rest)) if e.message.contains("].") => rest.to_string(),
            _ => format!("error: {e}"),
        }
    })?;
    Simulation::new(scn, &RunOptions { record_decisions: true, ..Default::default() })
        .map_err(|e| format!("error: {e}"))
}

fn help() -> String {
    "\
Time:      advance DURATION | step | until REASON [KIND/NAME] (e.g. until NodeNotReady) | until node NAME COND=STATUS
           | until pods SELECTOR [PHASE|STATUS] [COUNT] | time
Read:      get KIND [NAME] [-o wide|yaml|name] [-n NS|-A] [-l SEL] | describe KIND NAME
           | get events | etcdctl get KEY [--prefix] [--keys-only] | iptables-save --node NODE [-t nat]
           | nslookup NAME --from POD | explain pod NAME | why pod NAME
Create:    run NAME --image=IMG [-- ARGS] | create deployment NAME --image=IMG [--replicas=N] | create -f FILE
           | expose deploy NAME --port=P [--target-port=T] (any of them with --dry-run=client -o yaml)
Change:    apply -f FILE | delete KIND NAME | delete KIND -l SEL | delete -f FILE | scale KIND/NAME --replicas=N
           | set image KIND/NAME CONTAINER=IMAGE | rollout undo|pause|resume|restart|status|history KIND/NAME
           | label KIND NAME K=V|K- | taint nodes NODE K=V:EFFECT[-] | cordon|uncordon|drain NODE
Faults:    power-off|power-on|stop-kubelet|start-kubelet|partition|heal|out-of-service|add-node|remove-node NODE
etcd:      etcdctl snapshot save FILE | etcdutl snapshot status|restore FILE (TLS and --data-dir flags accepted)
Session:   save FILE (a scenario that replays this session) | help | exit
`kubectl` in front of a command is accepted; `COMMAND --help` explains one.
"
    .to_string()
}
