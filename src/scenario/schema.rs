//! The scenario file format, as serde structs. Field names are the YAML keys (camelCase, like
//! Kubernetes). Unknown keys are collected by the loader and reported with line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

use crate::sim::SimDuration;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    /// Virtual end time.
    pub until: SimDuration,
    /// Upper bound on delivered events (default 10 million).
    #[serde(default)]
    pub max_events: Option<u64>,
    /// Wall-clock instant of virtual time zero (RFC 3339, default 2025-01-01T00:00:00Z).
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub nodes: Vec<NodeGroup>,
    /// Manifests applied at time zero: inline objects or `{file: path}` entries.
    #[serde(default)]
    pub objects: Vec<Value>,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    #[serde(default)]
    pub expect: Vec<ExpectEntry>,
    /// How containers behave once started (exit, crash, OOM kill, probe failures).
    #[serde(default)]
    pub container_behaviors: Vec<BehaviorSpec>,
    /// The image registry: which images cannot be pulled.
    #[serde(default)]
    pub registry: RegistrySpec,
    #[serde(default)]
    pub config: Config,
    /// Steady request loads sent through the cluster's data plane.
    #[serde(default)]
    pub traffic: Vec<TrafficSpec>,
}

/// A steady load: `{from: pod/client, to: "web:80", rate: 10, start: 30s, stop: 5m}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSpec {
    /// `pod/NAME`, `pod/NAMESPACE/NAME`, `node/NAME` or `external`.
    pub from: String,
    /// `svc/[NAMESPACE/]NAME:PORT`, `node/NAME:PORT`, `A.B.C.D:PORT` or `DNS-NAME:PORT`.
    pub to: String,
    /// Requests per second.
    pub rate: f64,
    #[serde(default)]
    pub start: Option<SimDuration>,
    #[serde(default)]
    pub stop: Option<SimDuration>,
    /// TCP (default) or UDP.
    #[serde(default)]
    pub protocol: Option<String>,
}

/// A node, or `count` identical nodes named `<name>-1` … `<name>-<count>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroup {
    pub name: String,
    #[serde(default)]
    pub count: Option<u32>,
    /// `cpu`, `memory`, `pods`, `ephemeral-storage`, extended resources (`nvidia.com/gpu`).
    #[serde(default)]
    pub capacity: BTreeMap<String, QuantityText>,
    /// Defaults to `capacity` (no system reservations).
    #[serde(default)]
    pub allocatable: Option<BTreeMap<String, QuantityText>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    /// Images already on the node, with their size (`nginx:1.27: 70Mi`).
    #[serde(default)]
    pub images: BTreeMap<String, QuantityText>,
    /// Whether the machine is on at time zero (default true; `add-node` powers it on later).
    #[serde(default)]
    pub powered_on: Option<bool>,
    /// Pod manifests the kubelet runs from its manifest folder (`/etc/kubernetes/manifests`),
    /// inline or `{file: path}`; each appears in the API as a mirror pod `<name>-<node>`.
    #[serde(default)]
    pub static_pods: Vec<Value>,
}

/// A quantity written as a string or a number (`"4"`, `4`, `8Gi`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityText(pub String);

impl<'de> Deserialize<'de> for QuantityText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::String(s) => Ok(QuantityText(s)),
            Value::Number(n) => Ok(QuantityText(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a quantity such as \"4\", 500m or 8Gi, found {}",
                match other {
                    Value::Sequence(_) => "a list",
                    Value::Mapping(_) => "a mapping",
                    Value::Bool(_) => "a boolean",
                    Value::Null => "nothing",
                    _ => "another value",
                }
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaintSpec {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    pub effect: String,
}

/// One timeline entry: `{at: 60s, action: power-off, node: worker-2}`. Which other keys are
/// allowed depends on the action; the loader checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: SimDuration,
    pub action: String,
    #[serde(default)]
    pub node: Option<Value>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub replicas: Option<i32>,
    #[serde(default)]
    pub objects: Option<Vec<Value>>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub grace_period: Option<i64>,
    /// `delete`: a label selector instead of a name (`kubectl delete pods -l app=web`).
    #[serde(default)]
    pub selector: Option<String>,
    /// `delete`: background (default, like kubectl), foreground or orphan.
    #[serde(default)]
    pub cascade: Option<String>,
    /// `set-image`: the container to change.
    #[serde(default)]
    pub container: Option<String>,
    /// `set-image`: the new image.
    #[serde(default)]
    pub image: Option<String>,
    /// `rollout-undo`: the revision to go back to (default: the previous one).
    #[serde(default)]
    pub to_revision: Option<i64>,
    /// `request`: who sends (`pod/NAME`, `node/NAME`, `external`).
    #[serde(default)]
    pub from: Option<String>,
    /// `request`: where to (`svc/web:80`, `web:80`, `node/worker-1:30080`, `10.96.0.1:443`).
    #[serde(default)]
    pub to: Option<String>,
    /// `request`: how many requests, one after the other (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// `request`: TCP (default) or UDP.
    #[serde(default)]
    pub protocol: Option<String>,
    /// `node-pressure` / `node-pressure-relieved`: memory, disk or pid.
    #[serde(default)]
    pub pressure: Option<String>,
    /// `label`: kubectl's label arguments, `[disktype=ssd, tier-]` (`KEY-` removes a label).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// `taint`: kubectl's taint argument, `dedicated=gpu:NoSchedule` (a trailing `-` removes it).
    #[serde(default)]
    pub taint: Option<String>,
    /// `label` / `taint`: replace a label or taint that is already there (`--overwrite`).
    #[serde(default)]
    pub overwrite: Option<bool>,
    /// `drain`: evict pods no controller manages (`--force`).
    #[serde(default)]
    pub force: Option<bool>,
    /// `drain`: evict pods with emptyDir volumes (`--delete-emptydir-data`).
    #[serde(default)]
    pub delete_emptydir_data: Option<bool>,
}

/// One expectation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExpectEntry {
    /// Must hold at this instant.
    #[serde(default)]
    pub at: Option<SimDuration>,
    /// Must hold at some instant up to this one (for events: happen by then).
    #[serde(default)]
    pub within: Option<SimDuration>,
    /// Start of the window for `within` (default 0).
    #[serde(default)]
    pub after: Option<SimDuration>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub taint: Option<TaintMatch>,
    #[serde(default)]
    pub pods: Option<PodsMatch>,
    #[serde(default)]
    pub objects: Option<ObjectsMatch>,
    #[serde(default)]
    pub event: Option<EventMatch>,
    #[serde(default)]
    pub traffic: Option<TrafficMatch>,
    #[serde(default)]
    pub etcd: Option<EtcdMatch>,
}

/// Keys in etcd, as `etcdctl get KEY` or `etcdctl get PREFIX --prefix --keys-only` lists them:
/// `{key: /registry/deployments/default/web}` or `{prefix: /registry/pods/default/, count: 3}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdMatch {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    /// `key`: whether it exists (default true).
    #[serde(default)]
    pub present: Option<bool>,
    /// `prefix`: how many keys (default: at least one).
    #[serde(default)]
    pub count: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaintMatch {
    pub key: String,
    #[serde(default)]
    pub effect: Option<String>,
    /// `true` (default): the taint is there; `false`: it is not.
    #[serde(default)]
    pub present: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodsMatch {
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub ready: Option<bool>,
    #[serde(default)]
    pub on_node: Option<String>,
    #[serde(default)]
    pub not_on_node: Option<String>,
    /// Count Terminating pods too (default false: pods being deleted are not counted).
    #[serde(default)]
    pub include_terminating: Option<bool>,
    /// kubectl's STATUS column: `Running`, `CrashLoopBackOff`, `ImagePullBackOff`, `Completed`, …
    #[serde(default)]
    pub status: Option<String>,
    /// At least this many container restarts.
    #[serde(default)]
    pub min_restarts: Option<i32>,
    pub count: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectsMatch {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Field values by dotted path (`status.availableReplicas: 3`); an absent field counts as
    /// its zero value, as the API omits zero counts.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// An entry of `status.conditions`.
    #[serde(default)]
    pub condition: Option<ConditionMatch>,
    /// How many objects match everything above (default 1).
    #[serde(default)]
    pub count: Option<usize>,
}

/// A condition in an object's `status.conditions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionMatch {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMatch {
    pub reason: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// The event's message, exactly (e.g. a FailedScheduling message).
    #[serde(default)]
    pub message: Option<String>,
    /// At most this many matching events (`max: 0`: the event must not happen).
    #[serde(default)]
    pub max: Option<usize>,
    /// Minimum number of matching events (default 1, or 0 when `max` is given).
    #[serde(default)]
    pub count: Option<usize>,
}

/// Requests recorded in the expectation's window: `{to: svc/web:80, outcome: failed, max: 0}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficMatch {
    /// Only requests sent from this source (as written in the scenario).
    #[serde(default)]
    pub from: Option<String>,
    /// Only requests sent to this destination (as written in the scenario).
    #[serde(default)]
    pub to: Option<String>,
    /// `ok`, `failed` (anything but ok), `rejected`, `refused`, `timeout`, `dns-error`,
    /// `no-source`; default: any.
    #[serde(default)]
    pub outcome: Option<String>,
    /// At least this many matching requests (default 1 unless `max` is given, then 0).
    #[serde(default)]
    pub min: Option<usize>,
    /// At most this many matching requests.
    #[serde(default)]
    pub max: Option<usize>,
}

/// Component settings; names follow the Kubernetes flags in camelCase.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub controller_manager: ControllerManagerConfig,
    #[serde(default)]
    pub kubelet: KubeletSettings,
    #[serde(default)]
    pub apiserver: ApiServerSettings,
    #[serde(default)]
    pub kube_proxy: KubeProxySettings,
    /// A `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1) inline, or
    /// `{file: path}` naming one (relative to the scenario file).
    #[serde(default)]
    pub scheduler: Option<Value>,
}

/// KubeProxyConfiguration fields kubesim models.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct KubeProxySettings {
    /// `iptables.minSyncPeriod` (default 1s).
    #[serde(default)]
    pub min_sync_period: Option<SimDuration>,
    /// `clusterCIDR` (default 10.244.0.0/16, the pod ranges kubesim hands out).
    #[serde(default)]
    pub cluster_cidr: Option<String>,
    /// `iptables.masqueradeAll` (default false).
    #[serde(default)]
    pub masquerade_all: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ControllerManagerConfig {
    #[serde(default)]
    pub node_monitor_period: Option<SimDuration>,
    #[serde(default)]
    pub node_monitor_grace_period: Option<SimDuration>,
    #[serde(default)]
    pub node_startup_grace_period: Option<SimDuration>,
    /// The classic 5m: the `tolerationSeconds` DefaultTolerationSeconds gives every pod for
    /// the not-ready and unreachable taints.
    #[serde(default)]
    pub pod_eviction_timeout: Option<SimDuration>,
    #[serde(default)]
    pub node_eviction_rate: Option<f64>,
    #[serde(default)]
    pub secondary_node_eviction_rate: Option<f64>,
    #[serde(default)]
    pub large_cluster_size_threshold: Option<usize>,
    #[serde(default)]
    pub unhealthy_zone_threshold: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct KubeletSettings {
    #[serde(default)]
    pub node_status_update_frequency: Option<SimDuration>,
    #[serde(default)]
    pub node_status_report_frequency: Option<SimDuration>,
    #[serde(default)]
    pub node_lease_renew_interval: Option<SimDuration>,
    #[serde(default)]
    pub node_lease_duration_seconds: Option<i32>,
    /// Image pull bandwidth per node, as a quantity of bytes per second (`20Mi`).
    #[serde(default)]
    pub image_pull_bandwidth: Option<QuantityText>,
    #[serde(default)]
    pub container_start_time: Option<SimDuration>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiServerSettings {
    /// Delay between a write and its watch events reaching watchers (default 5ms).
    #[serde(default)]
    pub watch_latency: Option<SimDuration>,
    /// `--etcd-compaction-interval` (default 5m).
    #[serde(default)]
    pub compaction_interval: Option<SimDuration>,
}

/// One `containerBehaviors` entry: which containers (by pod label selector, namespace and
/// container name) and what they do.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BehaviorSpec {
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    /// Run this long after each start, then exit with `exitCode` (default 0).
    #[serde(default)]
    pub run_for: Option<SimDuration>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Exit with code 1 this long after each start.
    #[serde(default)]
    pub crash_after: Option<SimDuration>,
    /// Killed by the OOM killer this long after each start (exit code 137, OOMKilled).
    #[serde(default)]
    pub oom_kill_after: Option<SimDuration>,
    #[serde(default)]
    pub liveness: Option<ProbeFailureSpec>,
    #[serde(default)]
    pub readiness: Option<ProbeFailureSpec>,
    /// The startup probe passes once the container has run this long.
    #[serde(default)]
    pub startup_delay: Option<SimDuration>,
    /// How long the process takes to exit after SIGTERM (default 500ms); past the pod's grace
    /// period the kubelet kills it (exit code 137).
    #[serde(default)]
    pub stop_after: Option<SimDuration>,
    /// The process accepts connections this long after each start (default: at once);
    /// requests that reach it earlier are refused.
    #[serde(default)]
    pub serves_after: Option<SimDuration>,
}

/// When a probe fails: `failAfter` (time since each container start) and/or the scenario-time
/// window `[failFrom, failUntil)`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProbeFailureSpec {
    #[serde(default)]
    pub fail_after: Option<SimDuration>,
    #[serde(default)]
    pub fail_from: Option<SimDuration>,
    #[serde(default)]
    pub fail_until: Option<SimDuration>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySpec {
    /// Images the registry does not have: pulls fail with ErrImagePull.
    #[serde(default)]
    pub missing_images: Vec<String>,
}
