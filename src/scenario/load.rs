//! Loading a scenario file: YAML → checked [`Scenario`], with errors that name the file, the
//! line and column, the field path and what was expected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use serde_yaml::Value;

use super::locate::Positions;
use super::schema::{
    BehaviorSpec, ExpectEntry, NodeGroup, ProbeFailureSpec, QuantityText, ScenarioFile, TimelineEntry,
    TrafficSpec,
};
use crate::api::decode::{decode_documents, decode_object, DecodeError};
use crate::api::quantity::Quantity;
use crate::api::time::Epoch;
use crate::api::{Kind, LabelSelector, Object};
use crate::apiserver::Propagation;
use crate::controllers::NodeLifecycleConfig;
use crate::network::traffic::{self, Outcome, RequestSpec};
use crate::network::Load;
use crate::node::behavior::{Behavior, BehaviorRule, ProbeFailure};
use crate::node::kube_proxy::rules::Protocol;
use crate::node::kube_proxy::KubeProxyConfig;
use crate::node::kubelet::node_address;
use crate::node::KubeletConfig;
use crate::scheduler::framework::config::SchedulerConfig;
use crate::scheduler::framework::registry::Registry;
use crate::sim::{Fault, SimDuration, SimTime};

/// Invalid scenario input. Displayed as `file:line:column: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", location(.file, .line, .column), .message)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn location(file: &Path, line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}: ", file.display()),
        (Some(l), None) => format!("{}:{l}: ", file.display()),
        _ => format!("{}: ", file.display()),
    }
}

/// A manifest and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct SourcedObject {
    pub origin: String,
    pub object: Object,
}

/// A timeline action, checked.
#[derive(Debug, Clone)]
pub enum Action {
    Apply(Vec<SourcedObject>),
    Delete {
        kind: Kind,
        namespace: Option<String>,
        target: DeleteTarget,
        grace_period: Option<i64>,
        cascade: Propagation,
    },
    /// `kubectl set image KIND/NAME CONTAINER=IMAGE`.
    SetImage {
        kind: Kind,
        namespace: Option<String>,
        name: String,
        container: String,
        image: String,
    },
    /// `kubectl rollout undo|pause|resume|restart deployment/NAME`.
    Rollout {
        verb: RolloutVerb,
        kind: Kind,
        namespace: Option<String>,
        name: String,
    },
    Scale {
        kind: Kind,
        namespace: Option<String>,
        name: String,
        replicas: i32,
    },
    Cordon(String),
    Uncordon(String),
    /// `kubectl drain NODE --ignore-daemonsets [--force] [--delete-emptydir-data]`.
    Drain {
        node: String,
        /// Evict pods no controller manages (kubectl refuses the whole drain without it).
        force: bool,
        /// Evict pods with emptyDir volumes (their data is lost).
        delete_emptydir_data: bool,
    },
    PowerOff(String),
    PowerOn(String),
    AddNode(String),
    StopKubelet(String),
    StartKubelet(String),
    Partition(String),
    Heal(String),
    /// Adds `node.kubernetes.io/out-of-service=nodeshutdown:NoExecute` (the node is known down).
    OutOfService(String),
    RemoveNode(String),
    /// Send `count` requests through the data plane, one after the other.
    Request {
        request: RequestSpec,
        count: u32,
    },
    /// `kubectl label KIND NAME KEY=VALUE… KEY-…`: `None` removes the label.
    Label {
        kind: Kind,
        namespace: Option<String>,
        name: String,
        labels: Vec<(String, Option<String>)>,
        overwrite: bool,
    },
    /// `kubectl taint nodes NODE KEY[=VALUE]:EFFECT[-]`.
    Taint {
        node: String,
        change: TaintChange,
        overwrite: bool,
    },
    /// `etcdctl snapshot save FILE` on the control-plane node.
    EtcdSnapshotSave(String),
    /// `etcdutl snapshot restore FILE` and etcd restarted on the restored data.
    EtcdSnapshotRestore(String),
    /// The node starts (`on`) or stops running short of memory, disk or PIDs.
    NodePressure {
        node: String,
        fault_on: Fault,
        fault_off: Fault,
        what: &'static str,
        on: bool,
    },
}

/// A `kubectl taint` argument: add `key[=value]:effect`, or remove `key[:effect]-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaintChange {
    pub key: String,
    pub value: Option<String>,
    /// Required to add; when removing, `None` removes every effect of the key.
    pub effect: Option<String>,
    pub remove: bool,
}

impl TaintChange {
    /// Parses kubectl's syntax (`k8s.io/kubectl/pkg/cmd/taint`, `parseTaints`).
    pub fn parse(text: &str) -> Result<TaintChange, String> {
        let (body, remove) = match text.strip_suffix('-') {
            Some(b) => (b, true),
            None => (text, false),
        };
        let (key_value, effect) = match body.rsplit_once(':') {
            Some((kv, e)) => (kv, Some(e.to_string())),
            None => (body, None),
        };
        let (key, value) = match key_value.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (key_value.to_string(), None),
        };
        if key.is_empty() {
            return Err(format!("invalid taint spec: {text}"));
        }
        match effect.as_deref() {
            None if !remove => {
                return Err(format!(
                    "invalid taint spec: {text}: an effect is required (NoSchedule, PreferNoSchedule or NoExecute)"
                ))
            }
            Some(e) if !matches!(e, "NoSchedule" | "PreferNoSchedule" | "NoExecute") => {
                return Err(format!(
                    "invalid taint effect: {e}, unsupported taint effect (expected NoSchedule, PreferNoSchedule or NoExecute)"
                ))
            }
            _ => {}
        }
        Ok(TaintChange { key, value, effect, remove })
    }

    /// The taint as kubectl prints it.
    pub fn text(&self) -> String {
        let mut s = self.key.clone();
        if let Some(v) = &self.value {
            s = format!("{s}={v}");
        }
        if let Some(e) = &self.effect {
            s = format!("{s}:{e}");
        }
        if self.remove {
            s.push('-');
        }
        s
    }
}

/// What a `delete` action deletes.
#[derive(Debug, Clone)]
pub enum DeleteTarget {
    /// `kubectl delete KIND NAME`.
    Name(String),
    /// `kubectl delete KIND -l SELECTOR`: whatever matches at that moment.
    Selector(LabelSelector),
}

/// Which request outcomes a traffic expectation counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeFilter {
    Any,
    /// Everything but `ok`.
    Failed,
    Exactly(Outcome),
}

impl OutcomeFilter {
    pub fn parse(text: &str) -> Option<OutcomeFilter> {
        Some(match text {
            "failed" => OutcomeFilter::Failed,
            "ok" => OutcomeFilter::Exactly(Outcome::Ok),
            "rejected" => OutcomeFilter::Exactly(Outcome::Rejected),
            "refused" => OutcomeFilter::Exactly(Outcome::Refused),
            "timeout" => OutcomeFilter::Exactly(Outcome::Timeout),
            "dns-error" => OutcomeFilter::Exactly(Outcome::DnsError),
            "no-source" => OutcomeFilter::Exactly(Outcome::NoSource),
            _ => return None,
        })
    }

    pub fn matches(self, outcome: Outcome) -> bool {
        match self {
            OutcomeFilter::Any => true,
            OutcomeFilter::Failed => !outcome.is_ok(),
            OutcomeFilter::Exactly(o) => o == outcome,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            OutcomeFilter::Any => "sent",
            OutcomeFilter::Failed => "failed",
            OutcomeFilter::Exactly(o) => o.as_str(),
        }
    }
}

/// A condition an object must have: type, and optionally status and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionCheck {
    pub type_: String,
    pub status: Option<String>,
    pub reason: Option<String>,
}

/// A `kubectl rollout` subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutVerb {
    /// Back to `toRevision`, or the previous revision when `None`.
    Undo(Option<i64>),
    Pause,
    Resume,
    Restart,
}

impl Action {
    /// The action's name as written in scenario files.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Apply(_) => "apply",
            Action::Delete { .. } => "delete",
            Action::SetImage { .. } => "set-image",
            Action::Rollout { verb: RolloutVerb::Undo(_), .. } => "rollout-undo",
            Action::Rollout { verb: RolloutVerb::Pause, .. } => "rollout-pause",
            Action::Rollout { verb: RolloutVerb::Resume, .. } => "rollout-resume",
            Action::Rollout { verb: RolloutVerb::Restart, .. } => "rollout-restart",
            Action::Scale { .. } => "scale",
            Action::Cordon(_) => "cordon",
            Action::Uncordon(_) => "uncordon",
            Action::Drain { .. } => "drain",
            Action::PowerOff(_) => "power-off",
            Action::PowerOn(_) => "power-on",
            Action::AddNode(_) => "add-node",
            Action::StopKubelet(_) => "stop-kubelet",
            Action::StartKubelet(_) => "start-kubelet",
            Action::Partition(_) => "partition",
            Action::Heal(_) => "heal",
            Action::OutOfService(_) => "out-of-service",
            Action::RemoveNode(_) => "remove-node",
            Action::Request { .. } => "request",
            Action::Label { .. } => "label",
            Action::Taint { .. } => "taint",
            Action::EtcdSnapshotSave(_) => "etcd-snapshot-save",
            Action::EtcdSnapshotRestore(_) => "etcd-snapshot-restore",
            Action::NodePressure { on: true, .. } => "node-pressure",
            Action::NodePressure { on: false, .. } => "node-pressure-relieved",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TimedAction {
    pub at: SimTime,
    pub action: Action,
}

/// When an expectation is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Holds at this instant.
    At(SimTime),
    /// Holds at some instant in `[from, to]` (events: happened in that window).
    Within { from: SimTime, to: SimTime },
}

/// What an expectation checks.
#[derive(Debug, Clone)]
pub enum Check {
    NodeCondition {
        node: String,
        condition: String,
        status: String,
    },
    NodeTaint {
        node: String,
        key: String,
        effect: Option<String>,
        present: bool,
    },
    Pods {
        selector: LabelSelector,
        namespace: Option<String>,
        phase: Option<String>,
        ready: Option<bool>,
        on_node: Option<String>,
        not_on_node: Option<String>,
        include_terminating: bool,
        /// kubectl's STATUS column (`CrashLoopBackOff`, `ImagePullBackOff`, `Completed`, …).
        status: Option<String>,
        min_restarts: Option<i32>,
        count: usize,
    },
    Objects {
        kind: Kind,
        namespace: Option<String>,
        selector: LabelSelector,
        name: Option<String>,
        /// (dotted path, expected JSON value).
        fields: Vec<(String, serde_json::Value)>,
        condition: Option<ConditionCheck>,
        count: usize,
    },
    /// Requests in the window matching the filters number between `min` and `max`.
    Traffic {
        from: Option<String>,
        to: Option<String>,
        outcome: OutcomeFilter,
        min: usize,
        max: Option<usize>,
    },
    /// etcd holds `key` (or not), or `count` keys under `prefix` (`None`: at least one).
    Etcd {
        key: String,
        prefix: bool,
        present: bool,
        count: Option<usize>,
    },
    Event {
        reason: String,
        kind: Option<String>,
        name: Option<String>,
        namespace: Option<String>,
        /// The event's message, exactly.
        message: Option<String>,
        count: usize,
        max: Option<usize>,
    },
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub index: usize,
    pub timing: Timing,
    pub check: Check,
    /// The expectation as the user wrote it, one line.
    pub text: String,
}

/// A node the scenario runs.
#[derive(Debug, Clone)]
pub struct NodeSetup {
    pub kubelet: KubeletConfig,
    pub kube_proxy: KubeProxyConfig,
}

/// A loaded, checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub until: SimTime,
    pub max_events: u64,
    pub epoch: Epoch,
    pub nodes: Vec<NodeSetup>,
    pub objects: Vec<SourcedObject>,
    pub timeline: Vec<TimedAction>,
    pub expectations: Vec<Expectation>,
    pub node_lifecycle: NodeLifecycleConfig,
    pub default_toleration_seconds: i64,
    pub watch_latency: SimDuration,
    pub compaction_interval: SimDuration,
    /// Steady request loads (`traffic:`).
    pub traffic: Vec<Load>,
    /// Things in the scenario that kubesim accepts but does not model yet; printed by the CLI.
    pub warnings: Vec<String>,
    /// The scheduler's configuration (`config.scheduler`), validated against the in-tree plugin
    /// registry; upstream's defaults when absent.
    pub scheduler: SchedulerConfig,
}

/// Pod specs inside an object (a Pod's own, or a workload's template), with their field path.
fn pod_specs(obj: &Object) -> Vec<(&'static str, &k8s_openapi::api::core::v1::PodSpec)> {
    let spec = match obj {
        Object::Pod(p) => return p.spec.iter().map(|s| ("spec", s)).collect(),
        Object::ReplicaSet(o) => {
            o.spec.as_ref().and_then(|s| s.template.as_ref()).and_then(|t| t.spec.as_ref())
        }
        Object::Deployment(o) => o.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Object::DaemonSet(o) => o.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Object::StatefulSet(o) => o.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Object::Job(o) => o.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Object::CronJob(o) => {
            o.spec.as_ref().and_then(|s| s.job_template.spec.as_ref()).and_then(|j| j.template.spec.as_ref())
        }
        _ => None,
    };
    let path = if matches!(obj, Object::CronJob(_)) {
        "spec.jobTemplate.spec.template.spec"
    } else {
        "spec.template.spec"
    };
    spec.map(|s| vec![(path, s)]).unwrap_or_default()
}

/// Pod fields the scheduler and kubelet do not model (volumes bound through PersistentVolume
/// claims, dynamic resource claims, pod-level resources): rather than ignore them silently, the
/// scenario carries a warning naming each one.
pub fn unmodelled_fields(src: &SourcedObject) -> Vec<String> {
    let mut out = Vec::new();
    for (path, spec) in pod_specs(&src.object) {
        let mut fields = Vec::new();
        if spec.volumes.iter().flatten().any(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some())
        {
            fields.push(("volumes (persistentVolumeClaim / ephemeral)", "VolumeBinding and the volume plugins are not modelled: the claim is not bound and the pod schedules as if it had none"));
        }
        if spec.resource_claims.as_ref().is_some_and(|c| !c.is_empty()) {
            fields.push((
                "resourceClaims",
                "dynamic resource allocation (DRA) is not modelled: the claims are ignored",
            ));
        }
        if spec.resources.is_some() {
            fields.push(("resources", "pod-level resources are not modelled: only container requests count"));
        }
        for (f, why) in fields {
            out.push(format!(
                "{}: {} {}: {path}.{f}: {why}",
                src.origin,
                src.object.kind(),
                src.object.name()
            ));
        }
    }
    out
}

/// Default bound on delivered events.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000;

struct Loader<'a> {
    file: &'a Path,
    positions: Positions,
}

impl Loader<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        let pos = if path.is_empty() { None } else { self.positions.find(1, path) };
        let message = if path.is_empty() { message.into() } else { format!("{path}: {}", message.into()) };
        ScenarioError {
            file: self.file.to_path_buf(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            message,
        }
    }
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_registry(path, &Registry::in_tree())
}

/// Parses scenario text; `path` is used for messages and to resolve `file:` references.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    parse_with_registry(text, path, &Registry::in_tree())
}

/// Reads and checks a scenario file whose `config.scheduler` may name plugins of `registry`
/// (a library user's own plugins next to the in-tree ones).
pub fn load_with_registry(path: &Path, registry: &Registry) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read scenario file: {e}"),
    })?;
    parse_with_registry(&text, path, registry)
}

/// [`parse`] with the scheduler plugins of `registry`.
pub fn parse_with_registry(text: &str, path: &Path, registry: &Registry) -> Result<Scenario, ScenarioError> {
    let loader = Loader { file: path, positions: Positions::of(text) };
    let mut unknown = Vec::new();
    let de = serde_yaml::Deserializer::from_str(text);
    let mut on_unknown =
        |p: serde_ignored::Path<'_>| unknown.push(p.to_string().replace(".?", "").replace("?.", ""));
    let ignored = serde_ignored::Deserializer::new(de, &mut on_unknown);
    let file: ScenarioFile = serde_path_to_error::deserialize(ignored).map_err(|e| {
        let field = render_path(e.path());
        let inner = e.into_inner();
        let loc = inner.location();
        let msg = strip_location(&inner.to_string());
        ScenarioError {
            file: path.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: if field.is_empty() || field == "." {
                msg
            } else {
                format!("{field}: {}", strip_yaml_path(&msg, &field))
            },
        }
    })?;
    if let Some(first) = unknown.first() {
        let path = normalize_ignored_path(first);
        return Err(
            loader.err(&path, format!("unknown field {:?}", path.rsplit('.').next().unwrap_or(&path)))
        );
    }
    build(file, &loader, path, registry)
}

/// serde_ignored renders `a.b.0.c`; kubesim renders `a.b[0].c`.
fn normalize_ignored_path(p: &str) -> String {
    let mut out = String::new();
    for seg in p.split('.').filter(|s| !s.is_empty() && *s != "?") {
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

fn render_path(p: &serde_path_to_error::Path) -> String {
    normalize_ignored_path(&p.to_string())
}

/// serde_yaml prefixes some messages with its own (coarser) path; the field is named already.
fn strip_yaml_path<'m>(msg: &'m str, field: &str) -> &'m str {
    match msg.split_once(": ") {
        Some((p, rest)) if !p.contains(' ') && field.starts_with(p) => rest,
        _ => msg,
    }
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn quantity_map(
    loader: &Loader<'_>,
    at: &str,
    m: &BTreeMap<String, QuantityText>,
) -> Result<BTreeMap<String, K8sQuantity>, ScenarioError> {
    let mut out = BTreeMap::new();
    for (k, QuantityText(v)) in m {
        match Quantity::parse(v) {
            Ok(q) if !q.is_negative() => {
                out.insert(k.clone(), K8sQuantity(v.clone()));
            }
            Ok(_) => {
                return Err(loader.err(&format!("{at}.{k}"), format!("quantity {v:?} must not be negative")))
            }
            Err(e) => return Err(loader.err(&format!("{at}.{k}"), format!("invalid quantity {v:?}: {e}"))),
        }
    }
    Ok(out)
}

fn node_groups(
    loader: &Loader<'_>,
    groups: &[NodeGroup],
    extra: &[(String, NodeGroup)],
    base: &Path,
) -> Result<Vec<NodeSetup>, ScenarioError> {
    let mut out: Vec<NodeSetup> = Vec::new();
    let all = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (format!("nodes[{i}]"), g))
        .chain(extra.iter().map(|(p, g)| (p.clone(), g)));
    for (at, g) in all {
        if !crate::api::validation::is_dns1123_subdomain(&g.name) {
            return Err(loader.err(
                &format!("{at}.name"),
                format!("{:?} is not a valid node name (lower-case letters, digits, '-' and '.')", g.name),
            ));
        }
        let mut capacity = quantity_map(loader, &format!("{at}.capacity"), &g.capacity)?;
        for (k, v) in [("cpu", "2"), ("memory", "4Gi"), ("pods", "110"), ("ephemeral-storage", "100Gi")] {
            capacity.entry(k.to_string()).or_insert_with(|| K8sQuantity(v.to_string()));
        }
        let allocatable = match &g.allocatable {
            Some(a) => {
                let mut alloc = quantity_map(loader, &format!("{at}.allocatable"), a)?;
                for (k, v) in &capacity {
                    alloc.entry(k.clone()).or_insert_with(|| v.clone());
                }
                alloc
            }
            None => capacity.clone(),
        };
        let mut taints = Vec::new();
        for (i, t) in g.taints.iter().enumerate() {
            if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&t.effect.as_str()) {
                return Err(loader.err(
                    &format!("{at}.taints[{i}].effect"),
                    format!(
                        "unsupported effect {:?}: expected NoSchedule, PreferNoSchedule or NoExecute",
                        t.effect
                    ),
                ));
            }
            taints.push(Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
                time_added: None,
            });
        }
        let mut images = BTreeMap::new();
        for (img, size) in &g.images {
            let q = Quantity::parse(&size.0).map_err(|e| {
                loader.err(&format!("{at}.images.{img}"), format!("invalid image size {:?}: {e}", size.0))
            })?;
            if q.is_negative() {
                return Err(loader.err(
                    &format!("{at}.images.{img}"),
                    format!("image size {:?} must not be negative", size.0),
                ));
            }
            images.insert(img.clone(), q.value());
        }
        let mut static_pods = Vec::new();
        for src in manifests(loader, &format!("{at}.staticPods"), &g.static_pods, base)? {
            match src.object {
                Object::Pod(p) => static_pods.push(*p),
                other => {
                    return Err(loader.err(
                        &format!("{at}.staticPods"),
                        format!(
                            "{} {:?} is not a Pod: static manifests must be Pods",
                            other.kind(),
                            other.name()
                        ),
                    ))
                }
            }
        }
        let names: Vec<String> = match g.count {
            None => vec![g.name.clone()],
            Some(0) => return Err(loader.err(&format!("{at}.count"), "count must be at least 1")),
            Some(n) => (1..=n).map(|i| format!("{}-{i}", g.name)).collect(),
        };
        for name in names {
            if out.iter().any(|n| n.kubelet.node_name == name) {
                return Err(loader.err(&at, format!("node {name:?} is defined twice")));
            }
            let mut k = KubeletConfig::new(&name, out.len());
            k.capacity = capacity.clone();
            k.allocatable = allocatable.clone();
            k.labels = g.labels.clone();
            k.taints = taints.clone();
            k.images = images.clone();
            k.powered_on = g.powered_on.unwrap_or(true);
            k.static_pods = static_pods.clone();
            let proxy = KubeProxyConfig::new(&name, node_address(out.len()));
            out.push(NodeSetup { kubelet: k, kube_proxy: proxy });
        }
    }
    Ok(out)
}

/// Decodes `objects` entries (inline manifests or `{file: path}`).
fn manifests(
    loader: &Loader<'_>,
    at: &str,
    entries: &[Value],
    base: &Path,
) -> Result<Vec<SourcedObject>, ScenarioError> {
    let mut out = Vec::new();
    for (i, v) in entries.iter().enumerate() {
        let here = format!("{at}[{i}]");
        if let Some(file) =
            v.as_mapping().filter(|m| m.len() == 1).and_then(|m| m.get("file")).and_then(Value::as_str)
        {
            out.extend(manifest_file(&base.join(file))?);
            continue;
        }
        let obj = decode_object(v.clone()).map_err(|e| decode_error(loader, &here, e))?;
        out.push(SourcedObject { origin: format!("{} {here}", loader.file.display()), object: obj });
    }
    Ok(out)
}

fn decode_error(loader: &Loader<'_>, at: &str, e: DecodeError) -> ScenarioError {
    match &e {
        DecodeError::UnknownFields { fields } => loader.err(&format!("{at}.{}", fields[0]), e.to_string()),
        DecodeError::BadField { path, .. } => loader.err(&format!("{at}.{path}"), e.to_string()),
        _ => loader.err(at, e.to_string()),
    }
}

/// Reads a manifest file (any number of documents).
pub fn manifest_file(path: &Path) -> Result<Vec<SourcedObject>, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read manifest file: {e}"),
    })?;
    let objects = decode_documents(&text).map_err(|e| {
        let positions = Positions::of(&text);
        let field = match &e.error {
            DecodeError::UnknownFields { fields } => Some(fields[0].clone()),
            DecodeError::BadField { path, .. } => Some(path.clone()),
            _ => None,
        };
        let pos = field.and_then(|f| positions.find(e.document, &f));
        ScenarioError {
            file: path.to_path_buf(),
            line: Some(pos.map_or(e.line, |p| p.0)),
            column: pos.map(|p| p.1),
            message: format!("document {}: {}", e.document, e.error),
        }
    })?;
    Ok(objects
        .into_iter()
        .map(|object| SourcedObject { origin: path.display().to_string(), object })
        .collect())
}

fn node_name_of(loader: &Loader<'_>, at: &str, v: &Option<Value>) -> Result<String, ScenarioError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Mapping(m)) => m
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| loader.err(&format!("{at}.node.name"), "Required value: the new node's name")),
        _ => Err(loader.err(&format!("{at}.node"), "Required value: the node's name")),
    }
}

fn action(
    loader: &Loader<'_>,
    i: usize,
    e: &TimelineEntry,
    base: &Path,
    known_nodes: &[String],
) -> Result<Action, ScenarioError> {
    let at = format!("timeline[{i}]");
    let allowed: &[&str] = match e.action.as_str() {
        "apply" => &["objects", "file"],
        "delete" => &["kind", "namespace", "name", "selector", "gracePeriod", "cascade"],
        "set-image" => &["kind", "namespace", "name", "container", "image"],
        "rollout-undo" => &["kind", "namespace", "name", "toRevision"],
        "rollout-pause" | "rollout-resume" | "rollout-restart" => &["kind", "namespace", "name"],
        "scale" => &["kind", "namespace", "name", "replicas"],
"drain" => &["node", "force", "deleteEmptydirData"],
        "cordon" | "uncordon" | "power-off" | "power-on" | "add-node" | "remove-node" | "stop-kubelet"
        | "start-kubelet" | "partition" | "heal" | "out-of-service" => &["node"],
        "request" => &["from", "to", "count", "protocol", "namespace"],
        "node-pressure" | "node-pressure-relieved" => &["node", "pressure"],
        "label" => &["kind", "namespace", "name", "labels", "overwrite"],
        "taint" => &["node", "taint", "overwrite"],
        "etcd-snapshot-save" | "etcd-snapshot-restore" => &["file"],
        other => {
            return Err(loader.err(
                &format!("{at}.action"),
                format!("unknown action {other:?}: expected one of apply, delete, scale, label, taint, request, node-pressure, node-pressure-relieved, set-image, rollout-undo, rollout-pause, rollout-resume, rollout-restart, cordon, uncordon, drain, power-off, power-on, add-node, remove-node, stop-kubelet, start-kubelet, partition, heal, out-of-service, etcd-snapshot-save, etcd-snapshot-restore"),
            ))
        }
    };
    let present = [
        ("node", e.node.is_some()),
        ("kind", e.kind.is_some()),
        ("namespace", e.namespace.is_some()),
        ("name", e.name.is_some()),
        ("replicas", e.replicas.is_some()),
        ("objects", e.objects.is_some()),
        ("file", e.file.is_some()),
        ("gracePeriod", e.grace_period.is_some()),
        ("selector", e.selector.is_some()),
        ("cascade", e.cascade.is_some()),
        ("container", e.container.is_some()),
        ("image", e.image.is_some()),
        ("toRevision", e.to_revision.is_some()),
        ("from", e.from.is_some()),
        ("to", e.to.is_some()),
        ("count", e.count.is_some()),
        ("protocol", e.protocol.is_some()),
        ("pressure", e.pressure.is_some()),
        ("labels", e.labels.is_some()),
        ("taint", e.taint.is_some()),
        ("overwrite", e.overwrite.is_some()),
        ("force", e.force.is_some()),
        ("deleteEmptydirData", e.delete_emptydir_data.is_some()),
    ];
    for (field, is) in present {
        if is && !allowed.contains(&field) {
            return Err(loader.err(
                &format!("{at}.{field}"),
                format!("action {} does not take {field:?} (it takes {})", e.action, allowed.join(", ")),
            ));
        }
    }
    let kind = |loader: &Loader<'_>| -> Result<Kind, ScenarioError> {
        let k = e.kind.as_deref().ok_or_else(|| loader.err(&format!("{at}.kind"), "Required value"))?;
        Kind::lookup(k).ok_or_else(|| loader.err(&format!("{at}.kind"), format!("unknown kind {k:?}")))
    };
    let name = |loader: &Loader<'_>| {
        e.name.clone().ok_or_else(|| loader.err(&format!("{at}.name"), "Required value"))
    };
    let node = |loader: &Loader<'_>| -> Result<String, ScenarioError> {
        let n = node_name_of(loader, &at, &e.node)?;
        if !known_nodes.contains(&n) {
            return Err(loader.err(
                &format!("{at}.node"),
                format!("no node named {n:?} in this scenario (nodes: {})", known_nodes.join(", ")),
            ));
        }
        Ok(n)
    };
    Ok(match e.action.as_str() {
        "apply" => {
            let mut objs =
                manifests(loader, &format!("{at}.objects"), e.objects.as_deref().unwrap_or(&[]), base)?;
            if let Some(f) = &e.file {
                objs.extend(manifest_file(&base.join(f))?);
            }
            if objs.is_empty() {
                return Err(loader.err(&at, "apply needs objects or file"));
            }
            Action::Apply(objs)
        }
        "delete" => Action::Delete {
            kind: kind(loader)?,
            namespace: e.namespace.clone(),
            target: match (&e.name, &e.selector) {
                (Some(n), None) => DeleteTarget::Name(n.clone()),
                (None, Some(sel)) => DeleteTarget::Selector(
                    LabelSelector::parse(sel)
                        .map_err(|err| loader.err(&format!("{at}.selector"), err.to_string()))?,
                ),
                _ => return Err(loader.err(&at, "delete takes either `name` or `selector`")),
            },
            grace_period: e.grace_period,
            cascade: match e.cascade.as_deref() {
                None => Propagation::Background,
                Some(c) => Propagation::parse(c).ok_or_else(|| {
                    loader.err(
                        &format!("{at}.cascade"),
                        format!("invalid cascade {c:?}: expected background, foreground or orphan"),
                    )
                })?,
            },
        },
        "set-image" => {
            let kind = kind(loader)?;
            if !matches!(
                kind,
                Kind::Deployment | Kind::DaemonSet | Kind::StatefulSet | Kind::ReplicaSet | Kind::Pod
            ) {
                return Err(loader.err(
                    &format!("{at}.kind"),
                    format!(
                        "cannot set the image of a {kind}: expected Deployment, DaemonSet, StatefulSet, \
                         ReplicaSet or Pod"
                    ),
                ));
            }
            let required = |v: &Option<String>, field: &str| {
                v.clone().ok_or_else(|| loader.err(&format!("{at}.{field}"), "Required value"))
            };
            Action::SetImage {
                kind,
                namespace: e.namespace.clone(),
                name: name(loader)?,
                container: required(&e.container, "container")?,
                image: required(&e.image, "image")?,
            }
        }
        verb @ ("rollout-undo" | "rollout-pause" | "rollout-resume" | "rollout-restart") => {
            let kind = kind(loader)?;
            if kind != Kind::Deployment {
                return Err(loader.err(
                    &format!("{at}.kind"),
                    format!("{verb} is modelled for Deployments only, not a {kind}"),
                ));
            }
            let verb = match verb {
                "rollout-undo" => {
                    if let Some(r) = e.to_revision.filter(|r| *r < 0) {
                        return Err(loader.err(
                            &format!("{at}.toRevision"),
                            format!("invalid revision {r}: must be 0 (the previous one) or more"),
                        ));
                    }
                    RolloutVerb::Undo(e.to_revision.filter(|r| *r > 0))
                }
                "rollout-pause" => RolloutVerb::Pause,
                "rollout-resume" => RolloutVerb::Resume,
                _ => RolloutVerb::Restart,
            };
            Action::Rollout { verb, kind, namespace: e.namespace.clone(), name: name(loader)? }
        }
        "scale" => {
            let kind = kind(loader)?;
            if !matches!(kind, Kind::ReplicaSet | Kind::Deployment | Kind::StatefulSet) {
                return Err(loader.err(
                    &format!("{at}.kind"),
                    format!("cannot scale a {kind}: expected ReplicaSet, Deployment or StatefulSet"),
                ));
            }
            let replicas =
                e.replicas.ok_or_else(|| loader.err(&format!("{at}.replicas"), "Required value"))?;
            if replicas < 0 {
                return Err(loader.err(&format!("{at}.replicas"), "must be greater than or equal to 0"));
            }
            Action::Scale { kind, namespace: e.namespace.clone(), name: name(loader)?, replicas }
        }
        "cordon" => Action::Cordon(node(loader)?),
        "uncordon" => Action::Uncordon(node(loader)?),
        "drain" => Action::Drain {
            node: node(loader)?,
            force: e.force.unwrap_or(false),
            delete_emptydir_data: e.delete_emptydir_data.unwrap_or(false),
        },
        "power-off" => Action::PowerOff(node(loader)?),
        "power-on" => Action::PowerOn(node(loader)?),
        "add-node" => Action::AddNode(node(loader)?),
        "remove-node" => Action::RemoveNode(node(loader)?),
        "stop-kubelet" => Action::StopKubelet(node(loader)?),
        "start-kubelet" => Action::StartKubelet(node(loader)?),
        "partition" => Action::Partition(node(loader)?),
        "heal" => Action::Heal(node(loader)?),
        "out-of-service" => Action::OutOfService(node(loader)?),
        "label" => {
            let kind = kind(loader)?;
            let args = e.labels.as_deref().unwrap_or(&[]);
            if args.is_empty() {
                return Err(loader.err(
                    &format!("{at}.labels"),
                    "Required value: at least one KEY=VALUE or KEY- (e.g. [disktype=ssd])",
                ));
            }
            let mut labels = Vec::new();
            for (j, arg) in args.iter().enumerate() {
                let change = match (arg.split_once('='), arg.strip_suffix('-')) {
                    (Some((k, v)), _) => (k.to_string(), Some(v.to_string())),
                    (None, Some(k)) => (k.to_string(), None),
                    (None, None) => {
                        return Err(loader.err(
                            &format!("{at}.labels[{j}]"),
                            format!("invalid label spec: {arg:?}: expected KEY=VALUE or KEY-"),
                        ))
                    }
                };
                if change.0.is_empty() {
                    return Err(
                        loader.err(&format!("{at}.labels[{j}]"), format!("invalid label spec: {arg:?}"))
                    );
                }
                labels.push(change);
            }
            Action::Label {
                kind,
                namespace: e.namespace.clone(),
                name: name(loader)?,
                labels,
                overwrite: e.overwrite.unwrap_or(false),
            }
        }
        "taint" => {
            let node = node(loader)?;
            let text = e
                .taint
                .as_deref()
                .ok_or_else(|| loader.err(&format!("{at}.taint"), "Required value: KEY[=VALUE]:EFFECT"))?;
            let change = TaintChange::parse(text).map_err(|m| loader.err(&format!("{at}.taint"), m))?;
            Action::Taint { node, change, overwrite: e.overwrite.unwrap_or(false) }
        }
        verb @ ("etcd-snapshot-save" | "etcd-snapshot-restore") => {
            let file = e.file.clone().ok_or_else(|| {
                loader.err(
                    &format!("{at}.file"),
                    "Required value: the snapshot file (e.g. /opt/etcd-backup.db)",
                )
            })?;
            if verb == "etcd-snapshot-save" {
                Action::EtcdSnapshotSave(file)
            } else {
                Action::EtcdSnapshotRestore(file)
            }
        }
        verb @ ("node-pressure" | "node-pressure-relieved") => {
            let node = node(loader)?;
            let (fault_on, fault_off, what) = match e.pressure.as_deref() {
                Some("memory") => (Fault::MemoryPressure, Fault::MemoryRelieved, "MemoryPressure"),
                Some("disk") => (Fault::DiskPressure, Fault::DiskRelieved, "DiskPressure"),
                Some("pid") => (Fault::PidPressure, Fault::PidRelieved, "PIDPressure"),
                Some(other) => {
                    return Err(loader.err(
                        &format!("{at}.pressure"),
                        format!("unknown pressure {other:?}: expected memory, disk or pid"),
                    ))
                }
                None => {
                    return Err(loader.err(&format!("{at}.pressure"), "Required value: memory, disk or pid"))
                }
            };
            Action::NodePressure { node, fault_on, fault_off, what, on: verb == "node-pressure" }
        }
        "request" => {
            let required = |v: &Option<String>, field: &str| {
                v.clone().ok_or_else(|| loader.err(&format!("{at}.{field}"), "Required value"))
            };
            let request = request_spec(
                loader,
                &at,
                &required(&e.from, "from")?,
                &required(&e.to, "to")?,
                e.protocol.as_deref(),
                e.namespace.as_deref(),
            )?;
            let count = e.count.unwrap_or(1);
            if count == 0 {
                return Err(loader.err(&format!("{at}.count"), "must be greater than 0"));
            }
            Action::Request { request, count }
        }
        _ => unreachable!("checked above"),
    })
}

/// A request's source, destination and protocol, checked.
fn request_spec(
    loader: &Loader<'_>,
    at: &str,
    from: &str,
    to: &str,
    protocol: Option<&str>,
    namespace: Option<&str>,
) -> Result<RequestSpec, ScenarioError> {
    let source = traffic::parse_source(from, namespace.unwrap_or("default"))
        .map_err(|e| loader.err(&format!("{at}.from"), e))?;
    let target = traffic::parse_target(to).map_err(|e| loader.err(&format!("{at}.to"), e))?;
    let protocol = match protocol {
        None => Protocol::Tcp,
        Some(p) => match Protocol::parse(p) {
            Some(p @ (Protocol::Tcp | Protocol::Udp)) => p,
            _ => {
                return Err(loader.err(
                    &format!("{at}.protocol"),
                    format!("unsupported protocol {p:?}: expected TCP or UDP"),
                ))
            }
        },
    };
    Ok(RequestSpec {
        from: source,
        to: target,
        protocol,
        from_text: from.to_string(),
        to_text: to.to_string(),
    })
}

/// The scenario's steady loads.
fn traffic_loads(
    loader: &Loader<'_>,
    specs: &[TrafficSpec],
    until: SimTime,
) -> Result<Vec<Load>, ScenarioError> {
    let mut loads = Vec::new();
    for (i, t) in specs.iter().enumerate() {
        let at = format!("traffic[{i}]");
        let request = request_spec(loader, &at, &t.from, &t.to, t.protocol.as_deref(), None)?;
        if !(t.rate.is_finite() && t.rate > 0.0 && t.rate <= 10_000.0) {
            return Err(
                loader.err(&format!("{at}.rate"), "must be a number of requests per second in (0, 10000]")
            );
        }
        let start = SimTime(t.start.map_or(0, |d| d.as_millis()));
        let stop = t.stop.map(|d| SimTime(d.as_millis()));
        if start > until {
            return Err(loader
                .err(&format!("{at}.start"), format!("{start} is after the end of the scenario ({until})")));
        }
        if stop.is_some_and(|s| s <= start) {
            return Err(loader.err(&format!("{at}.stop"), "must be later than start"));
        }
        loads.push(Load { request, rate: t.rate, start, stop });
    }
    Ok(loads)
}

fn expectation(
    loader: &Loader<'_>,
    i: usize,
    e: &ExpectEntry,
    until: SimTime,
) -> Result<Expectation, ScenarioError> {
    let at = format!("expect[{i}]");
    let timing = match (e.at, e.within) {
        (Some(t), None) if e.after.is_none() => Timing::At(SimTime(t.as_millis())),
        (None, Some(w)) => {
            Timing::Within { from: SimTime(e.after.map_or(0, |a| a.as_millis())), to: SimTime(w.as_millis()) }
        }
        (Some(_), Some(_)) => return Err(loader.err(&at, "give either `at` or `within`, not both")),
        (Some(_), None) => return Err(loader.err(&format!("{at}.after"), "`after` goes with `within`")),
        (None, None) => return Err(loader.err(&at, "Required value: `at: DURATION` or `within: DURATION`")),
    };
    let last = match timing {
        Timing::At(t) => t,
        Timing::Within { from, to } => {
            if from > to {
                return Err(loader.err(&format!("{at}.after"), "`after` must not be later than `within`"));
            }
            to
        }
    };
    if last > until {
        return Err(loader.err(&at, format!("checked at {last} but the scenario ends at {until}")));
    }
    let sel = |s: &Option<String>, field: &str| -> Result<LabelSelector, ScenarioError> {
        LabelSelector::parse(s.as_deref().unwrap_or(""))
            .map_err(|err| loader.err(&format!("{at}.{field}"), err.to_string()))
    };
    let subjects = [
        e.node.is_some(),
        e.pods.is_some(),
        e.objects.is_some(),
        e.event.is_some(),
        e.traffic.is_some(),
        e.etcd.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if subjects != 1 {
        return Err(
            loader.err(&at, "give exactly one of `node`, `pods`, `objects`, `event`, `traffic` or `etcd`")
        );
    }
    let check = if let Some(node) = &e.node {
        match (&e.condition, &e.taint) {
            (Some(c), None) => Check::NodeCondition {
                node: node.clone(),
                condition: c.clone(),
                status: e.status.clone().ok_or_else(|| {
                    loader.err(&format!("{at}.status"), "Required value: True, False or Unknown")
                })?,
            },
            (None, Some(t)) => Check::NodeTaint {
                node: node.clone(),
                key: t.key.clone(),
                effect: t.effect.clone(),
                present: t.present.unwrap_or(true),
            },
            _ => {
                return Err(
                    loader.err(&at, "a node expectation needs either `condition` (with `status`) or `taint`")
                )
            }
        }
    } else if let Some(p) = &e.pods {
        Check::Pods {
            selector: sel(&p.selector, "pods.selector")?,
            namespace: p.namespace.clone(),
            phase: p.phase.clone(),
            ready: p.ready,
            on_node: p.on_node.clone(),
            not_on_node: p.not_on_node.clone(),
            include_terminating: p.include_terminating.unwrap_or(false),
            status: p.status.clone(),
            min_restarts: p.min_restarts,
            count: p.count,
        }
    } else if let Some(o) = &e.objects {
        let kind = Kind::lookup(&o.kind)
            .ok_or_else(|| loader.err(&format!("{at}.objects.kind"), format!("unknown kind {:?}", o.kind)))?;
        let mut fields = Vec::new();
        for (path, v) in &o.fields {
            let json = serde_json::to_value(v).ok().filter(|j| !j.is_object() && !j.is_array()).ok_or_else(
                || loader.err(&format!("{at}.objects.fields.{path}"), "expected a number, string or boolean"),
            )?;
            fields.push((path.clone(), json));
        }
        Check::Objects {
            kind,
            namespace: o.namespace.clone(),
            selector: sel(&o.selector, "objects.selector")?,
            name: o.name.clone(),
            fields,
            condition: o.condition.as_ref().map(|c| ConditionCheck {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
            }),
            count: o.count.unwrap_or(1),
        }
    } else if let Some(m) = &e.etcd {
        match (&m.key, &m.prefix) {
            (Some(key), None) => {
                if m.count.is_some() {
                    return Err(
                        loader.err(&format!("{at}.etcd.count"), "`count` goes with `prefix`, not `key`")
                    );
                }
                Check::Etcd {
                    key: key.clone(),
                    prefix: false,
                    present: m.present.unwrap_or(true),
                    count: None,
                }
            }
            (None, Some(prefix)) => {
                if m.present.is_some() {
                    return Err(loader.err(
                        &format!("{at}.etcd.present"),
                        "`present` goes with `key`; with `prefix` give `count` (0: none)",
                    ));
                }
                Check::Etcd { key: prefix.clone(), prefix: true, present: true, count: m.count }
            }
            _ => return Err(loader.err(&format!("{at}.etcd"), "give exactly one of `key` or `prefix`")),
        }
    } else {
        if let Some(t) = &e.traffic {
            if matches!(timing, Timing::At(_)) {
                return Err(loader.err(
                    &format!("{at}.at"),
                    "traffic expectations take `within` (and optionally `after`), not `at`",
                ));
            }
            let outcome = match t.outcome.as_deref() {
                None => OutcomeFilter::Any,
                Some(text) => OutcomeFilter::parse(text).ok_or_else(|| {
                    loader.err(
                        &format!("{at}.traffic.outcome"),
                        format!(
                            "unknown outcome {text:?}: expected ok, failed, rejected, refused, timeout, dns-error or no-source"
                        ),
                    )
                })?,
            };
            let min = t.min.unwrap_or(if t.max.is_some() { 0 } else { 1 });
            if t.max.is_some_and(|m| m < min) {
                return Err(loader.err(&format!("{at}.traffic.max"), "must not be less than min"));
            }
            let check = Check::Traffic { from: t.from.clone(), to: t.to.clone(), outcome, min, max: t.max };
            return Ok(Expectation { index: i, timing, text: describe(&timing, &check), check });
        }
        let ev = e.event.as_ref().expect("one subject");
        if matches!(timing, Timing::At(_)) {
            return Err(loader.err(
                &format!("{at}.at"),
                "event expectations take `within` (and optionally `after`), not `at`",
            ));
        }
        Check::Event {
            reason: ev.reason.clone(),
            kind: ev.kind.clone(),
            name: ev.name.clone(),
            namespace: ev.namespace.clone(),
            message: ev.message.clone(),
            count: ev.count.unwrap_or(if ev.max.is_some() { 0 } else { 1 }),
            max: ev.max,
        }
    };
    Ok(Expectation { index: i, timing, text: describe(&timing, &check), check })
}

/// A one-line description of an expectation, for results.
pub fn describe(timing: &Timing, check: &Check) -> String {
    let when = match timing {
        Timing::At(t) => format!("at {t}"),
        Timing::Within { from, to } if from.as_millis() == 0 => format!("within {to}"),
        Timing::Within { from, to } => format!("between {from} and {to}"),
    };
    let what = match check {
        Check::NodeCondition { node, condition, status } => format!("node {node} {condition}={status}"),
        Check::NodeTaint { node, key, effect, present } => {
            format!(
                "node {node} {} taint {key}{}",
                if *present { "has" } else { "has no" },
                effect.as_ref().map(|e| format!(":{e}")).unwrap_or_default()
            )
        }
        Check::Pods {
            selector,
            namespace,
            phase,
            ready,
            on_node,
            not_on_node,
            status,
            min_restarts,
            count,
            ..
        } => {
            let mut parts = vec![format!("{count} pod(s)")];
            if !selector.is_empty() {
                parts.push(format!("matching {selector}"));
            }
            if let Some(ns) = namespace {
                parts.push(format!("in {ns}"));
            }
            if let Some(p) = phase {
                parts.push(p.clone());
            }
            if let Some(r) = ready {
                parts.push(if *r { "ready".into() } else { "not ready".into() });
            }
            if let Some(n) = on_node {
                parts.push(format!("on {n}"));
            }
            if let Some(n) = not_on_node {
                parts.push(format!("not on {n}"));
            }
            if let Some(st) = status {
                parts.push(format!("with STATUS {st}"));
            }
            if let Some(r) = min_restarts {
                parts.push(format!("with at least {r} restarts"));
            }
            parts.join(" ")
        }
        Check::Objects { kind, selector, name, fields, condition, count, .. } => {
            let mut parts = vec![format!("{count} {}", kind.resource())];
            if let Some(n) = name {
                parts.push(format!("named {n}"));
            }
            if !selector.is_empty() {
                parts.push(format!("matching {selector}"));
            }
            let with: Vec<String> = fields.iter().map(|(p, v)| format!("{p}={v}")).collect();
            if !with.is_empty() {
                parts.push(format!("with {}", with.join(", ")));
            }
            if let Some(c) = condition {
                let mut s = format!("condition {}", c.type_);
                if let Some(st) = &c.status {
                    s.push_str(&format!("={st}"));
                }
                if let Some(r) = &c.reason {
                    s.push_str(&format!(" ({r})"));
                }
                parts.push(s);
            }
            parts.join(" ")
        }
        Check::Traffic { from, to, outcome, min, max } => {
            let route = match (from, to) {
                (Some(f), Some(t)) => format!(" from {f} to {t}"),
                (Some(f), None) => format!(" from {f}"),
                (None, Some(t)) => format!(" to {t}"),
                (None, None) => String::new(),
            };
            let bound = match (*min, max) {
                (0, Some(m)) => format!("at most {m}"),
                (n, None) => format!("at least {n}"),
                (n, Some(m)) if n == *m => format!("exactly {n}"),
                (n, Some(m)) => format!("{n} to {m}"),
            };
            format!("{bound} requests{route} {}", outcome.describe())
        }
        Check::Etcd { key, prefix: false, present, .. } => {
            format!("etcd {} key {key}", if *present { "has" } else { "has no" })
        }
        Check::Etcd { key, count, .. } => match count {
            Some(n) => format!("etcd has {n} key(s) under {key}"),
            None => format!("etcd has keys under {key}"),
        },
        Check::Event { reason, kind, name, message, count, max, .. } => {
            let obj = match (kind, name) {
                (Some(k), Some(n)) => format!(" for {}/{n}", k.to_ascii_lowercase()),
                (None, Some(n)) => format!(" for {n}"),
                _ => String::new(),
            };
            let times = match (count, max) {
                (_, Some(0)) => " never".to_string(),
                (c, Some(m)) if c == m => format!(" exactly {c} times"),
                (0, Some(m)) => format!(" at most {m} times"),
                (c, Some(m)) => format!(" {c} to {m} times"),
                (c, None) if *c > 1 => format!(" at least {c} times"),
                _ => String::new(),
            };
            format!(
                "event {reason}{obj}{times}{}",
                message.as_ref().map(|m| format!(" with message {m:?}")).unwrap_or_default()
            )
        }
    };
    format!("{when}: {what}")
}

/// `containerBehaviors` entries, checked.
fn behavior_rules(loader: &Loader<'_>, specs: &[BehaviorSpec]) -> Result<Vec<BehaviorRule>, ScenarioError> {
    let mut out = Vec::new();
    for (i, b) in specs.iter().enumerate() {
        let at = format!("containerBehaviors[{i}]");
        let selector = LabelSelector::parse(b.selector.as_deref().unwrap_or(""))
            .map_err(|e| loader.err(&format!("{at}.selector"), e.to_string()))?;
        let (exit_after, exit_code) = match (b.run_for, b.crash_after, b.exit_code) {
            (Some(_), Some(_), _) => {
                return Err(loader.err(&at, "give either runFor (with exitCode) or crashAfter, not both"))
            }
            (None, Some(_), Some(_)) => {
                return Err(loader.err(
                    &format!("{at}.exitCode"),
                    "crashAfter always exits with 1; use runFor with exitCode",
                ))
            }
            (None, None, Some(_)) => {
                return Err(loader.err(&format!("{at}.exitCode"), "exitCode needs runFor"))
            }
            (Some(d), None, code) => (Some(d), code.unwrap_or(0)),
            (None, Some(d), None) => (Some(d), 1),
            (None, None, None) => (None, 0),
        };
        let probe = |p: &Option<ProbeFailureSpec>| {
            p.as_ref().map(|p| ProbeFailure {
                after_start: p.fail_after,
                from: p.fail_from.map(|d| SimTime(d.as_millis())),
                until: p.fail_until.map(|d| SimTime(d.as_millis())),
            })
        };
        for (field, p) in [("liveness", &b.liveness), ("readiness", &b.readiness)] {
            if let Some(p) = p {
                if p.fail_after.is_none() && p.fail_from.is_none() && p.fail_until.is_none() {
                    return Err(loader.err(&format!("{at}.{field}"), "give failAfter, failFrom or failUntil"));
                }
                if let (Some(f), Some(u)) = (p.fail_from, p.fail_until) {
                    if f >= u {
                        return Err(
                            loader.err(&format!("{at}.{field}.failUntil"), "must be later than failFrom")
                        );
                    }
                }
            }
        }
        out.push(BehaviorRule {
            selector,
            namespace: b.namespace.clone(),
            container: b.container.clone(),
            behavior: Behavior {
                exit_after,
                exit_code,
                oom_kill_after: b.oom_kill_after,
                liveness_failure: probe(&b.liveness),
                readiness_failure: probe(&b.readiness),
                startup_delay: b.startup_delay,
                stop_after: b.stop_after,
                serves_after: b.serves_after,
            },
        });
    }
    Ok(out)
}

fn build(
    file: ScenarioFile,
    loader: &Loader<'_>,
    path: &Path,
    registry: &Registry,
) -> Result<Scenario, ScenarioError> {
    let base = path.parent().unwrap_or(Path::new("."));
    if file.name.trim().is_empty() {
        return Err(loader.err("name", "Required value: a name for the scenario"));
    }
    let until = SimTime(file.until.as_millis());
    if until == SimTime::ZERO {
        return Err(loader.err("until", "must be greater than 0"));
    }
    let epoch = match &file.start_time {
        Some(s) => Epoch::parse(s).map_err(|e| loader.err("startTime", e))?,
        None => Epoch::default(),
    };
    // Nodes added by the timeline join powered off and are switched on by `add-node`.
    let mut extra = Vec::new();
    for (i, e) in file.timeline.iter().enumerate() {
        if e.action == "add-node" {
            if let Some(v @ Value::Mapping(_)) = &e.node {
                let at = format!("timeline[{i}].node");
                let mut g: NodeGroup = serde_yaml::from_value(v.clone())
                    .map_err(|err| loader.err(&at, strip_location(&err.to_string())))?;
                if g.count.is_some() {
                    return Err(loader
                        .err(&format!("{at}.count"), "add-node adds one node; give each its own action"));
                }
                g.powered_on = Some(false);
                extra.push((at, g));
            }
        }
    }
    let mut nodes = node_groups(loader, &file.nodes, &extra, base)?;
    let cfg = &file.config;
    let known: Vec<String> = nodes.iter().map(|n| n.kubelet.node_name.clone()).collect();
    let rules: std::sync::Arc<[BehaviorRule]> = behavior_rules(loader, &file.container_behaviors)?.into();
    for n in &mut nodes {
        n.kubelet.behaviors = rules.clone();
        n.kubelet.missing_images = file.registry.missing_images.clone();
    }
    for n in &mut nodes {
        let k = &mut n.kubelet;
        let ks = &cfg.kubelet;
        if let Some(d) = ks.node_status_update_frequency {
            k.node_status_update_frequency = d;
        }
        if let Some(d) = ks.node_status_report_frequency {
            k.node_status_report_frequency = d;
        }
        if let Some(d) = ks.node_lease_renew_interval {
            k.lease_renew_interval = d;
        }
        if let Some(s) = ks.node_lease_duration_seconds {
            k.lease_duration_seconds = s;
        }
        if let Some(d) = ks.container_start_time {
            k.container_start_time = d;
        }
        if let Some(bw) = &ks.image_pull_bandwidth {
            let q = Quantity::parse(&bw.0).map_err(|e| {
                loader.err("config.kubelet.imagePullBandwidth", format!("invalid quantity {:?}: {e}", bw.0))
            })?;
            if q.value() <= 0 {
                return Err(loader.err("config.kubelet.imagePullBandwidth", "must be greater than 0"));
            }
            k.image_pull_bytes_per_second = q.value();
        }
    }
    let kp = &cfg.kube_proxy;
    if kp.min_sync_period == Some(SimDuration::ZERO) {
        return Err(loader.err("config.kubeProxy.minSyncPeriod", "must be greater than 0"));
    }
    if let Some(cidr) = &kp.cluster_cidr {
        if !valid_cidr(cidr) {
            return Err(loader.err(
                "config.kubeProxy.clusterCIDR",
                format!("invalid CIDR {cidr:?}: expected an IPv4 network such as 10.244.0.0/16"),
            ));
        }
    }
    for n in &mut nodes {
        let p = &mut n.kube_proxy;
        p.powered_on = n.kubelet.powered_on;
        if let Some(d) = kp.min_sync_period {
            p.min_sync_period = d;
        }
        if let Some(c) = &kp.cluster_cidr {
            p.cluster_cidr = Some(c.clone());
        }
        if let Some(m) = kp.masquerade_all {
            p.masquerade_all = m;
        }
    }
    for (field, d) in [
        ("config.kubelet.nodeStatusUpdateFrequency", cfg.kubelet.node_status_update_frequency),
        ("config.kubelet.nodeLeaseRenewInterval", cfg.kubelet.node_lease_renew_interval),
        ("config.controllerManager.nodeMonitorPeriod", cfg.controller_manager.node_monitor_period),
        ("config.apiserver.compactionInterval", cfg.apiserver.compaction_interval),
    ] {
        if d == Some(SimDuration::ZERO) {
            return Err(loader.err(field, "must be greater than 0"));
        }
    }
    let cm = &cfg.controller_manager;
    let defaults = NodeLifecycleConfig::default();
    let node_lifecycle = NodeLifecycleConfig {
        node_monitor_period: cm.node_monitor_period.unwrap_or(defaults.node_monitor_period),
        node_monitor_grace_period: cm.node_monitor_grace_period.unwrap_or(defaults.node_monitor_grace_period),
        node_startup_grace_period: cm.node_startup_grace_period.unwrap_or(defaults.node_startup_grace_period),
        node_eviction_rate: cm.node_eviction_rate.unwrap_or(defaults.node_eviction_rate),
        secondary_node_eviction_rate: cm
            .secondary_node_eviction_rate
            .unwrap_or(defaults.secondary_node_eviction_rate),
        large_cluster_size_threshold: cm
            .large_cluster_size_threshold
            .unwrap_or(defaults.large_cluster_size_threshold),
        unhealthy_zone_threshold: cm.unhealthy_zone_threshold.unwrap_or(defaults.unhealthy_zone_threshold),
    };
    if node_lifecycle.node_eviction_rate.is_nan() || node_lifecycle.node_eviction_rate <= 0.0 {
        return Err(loader.err("config.controllerManager.nodeEvictionRate", "must be greater than 0"));
    }
    let secondary = node_lifecycle.secondary_node_eviction_rate;
    if secondary.is_nan() || secondary < 0.0 {
        return Err(loader.err("config.controllerManager.secondaryNodeEvictionRate", "must not be negative"));
    }
    let threshold = node_lifecycle.unhealthy_zone_threshold;
    if threshold.is_nan() || threshold <= 0.0 || threshold > 1.0 {
        return Err(loader.err("config.controllerManager.unhealthyZoneThreshold", "must be in (0, 1]"));
    }
    let objects = manifests(loader, "objects", &file.objects, base)?;
    let mut timeline = Vec::new();
    for (i, e) in file.timeline.iter().enumerate() {
        let at = SimTime(e.at.as_millis());
        if at > until {
            return Err(loader.err(
                &format!("timeline[{i}].at"),
                format!("{} is after the end of the scenario ({until})", e.at),
            ));
        }
        timeline.push(TimedAction { at, action: action(loader, i, e, base, &known)? });
    }
    let expectations = file
        .expect
        .iter()
        .enumerate()
        .map(|(i, e)| expectation(loader, i, e, until))
        .collect::<Result<Vec<_>, _>>()?;
    let applied = timeline.iter().flat_map(|t| match &t.action {
        Action::Apply(objs) => objs.as_slice(),
        _ => &[],
    });
    let mut seen = std::collections::BTreeSet::new();
    let warnings = objects
        .iter()
        .chain(applied)
        .flat_map(unmodelled_fields)
        .filter(|w| seen.insert(w.clone()))
        .collect();
    Ok(Scenario {
        path: path.to_path_buf(),
        name: file.name,
        description: file.description,
        seed: file.seed,
        until,
        max_events: file.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
        epoch,
        nodes,
        objects,
        timeline,
        expectations,
        node_lifecycle,
        default_toleration_seconds: cm.pod_eviction_timeout.map_or(300, |d| d.as_secs() as i64),
        watch_latency: cfg.apiserver.watch_latency.unwrap_or(SimDuration::from_millis(5)),
        compaction_interval: cfg.apiserver.compaction_interval.unwrap_or(SimDuration::from_mins(5)),
        traffic: traffic_loads(loader, &file.traffic, until)?,
        warnings,
        scheduler: scheduler_config(loader, cfg.scheduler.as_ref(), path, registry)?,
    })
}

/// `config.scheduler`: an inline KubeSchedulerConfiguration or `{file: path}`. Errors point at
/// the field inside the scenario, or inside the named file.
fn scheduler_config(
    loader: &Loader<'_>,
    value: Option<&Value>,
    path: &Path,
    registry: &Registry,
) -> Result<SchedulerConfig, ScenarioError> {
    let Some(value) = value else {
        return Ok(SchedulerConfig::default());
    };
    let file = match value {
        Value::Mapping(m) if m.len() == 1 && m.contains_key("file") => Some(&m["file"]),
        _ => None,
    };
    let Some(file) = file else {
        let json = serde_json::to_value(value)
            .map_err(|e| loader.err("config.scheduler", format!("not a KubeSchedulerConfiguration: {e}")))?;
        return SchedulerConfig::from_value(&json).and_then(|c| c.build(registry).map(|_| c)).map_err(|e| {
            let at = if e.path.is_empty() {
                "config.scheduler".to_string()
            } else {
                format!("config.scheduler.{}", e.path)
            };
            loader.err(&at, e.message)
        });
    };
    let Some(rel) = file.as_str() else {
        return Err(
            loader.err("config.scheduler.file", "expected a path to a KubeSchedulerConfiguration file")
        );
    };
    let full = path.parent().unwrap_or(Path::new(".")).join(rel);
    let text = std::fs::read_to_string(&full).map_err(|e| {
        loader.err(
            "config.scheduler.file",
            format!("cannot read scheduler configuration {}: {e}", full.display()),
        )
    })?;
    let file_loader = Loader { file: &full, positions: Positions::of(&text) };
    let yaml: Value = serde_yaml::from_str(&text).map_err(|e| {
        let loc = e.location();
        ScenarioError {
            file: full.clone(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: strip_location(&e.to_string()),
        }
    })?;
    let json = serde_json::to_value(&yaml)
        .map_err(|e| file_loader.err("", format!("not a KubeSchedulerConfiguration: {e}")))?;
    if json.get("kind").is_none() {
        return Err(file_loader.err("", "kind: Required value: expected \"KubeSchedulerConfiguration\""));
    }
    SchedulerConfig::from_value(&json)
        .and_then(|c| c.build(registry).map(|_| c))
        .map_err(|e| file_loader.err(&e.path, e.message))
}

/// Whether `text` is an IPv4 CIDR such as `10.244.0.0/16`.
fn valid_cidr(text: &str) -> bool {
    text.split_once('/').is_some_and(|(ip, bits)| {
        ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
    })
}
