//! The kubelet: one per node.
//!
//! Models pkg/kubelet: registers the Node (capacity, allocatable, labels, taints, node info,
//! addresses, pod CIDR), renews its Lease in `kube-node-lease` every `leaseRenewInterval`,
//! computes node status every `nodeStatusUpdateFrequency` and posts it when it changed or when
//! `nodeStatusReportFrequency` passed (upstream defaults 10s / 10s / 5m), and runs the pods
//! bound to its node: sandbox and IP, image pulls (skipped for images already on the node),
//! container creation and start, readiness, graceful termination and the final delete.
//!
//! Simplified for now: containers run until deleted (no exit codes, probes, restarts or
//! CrashLoopBackOff yet), a container stops as soon as it gets SIGTERM (bounded by the grace
//! period), init containers are not run separately.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ContainerImage, ContainerState, ContainerStateRunning, ContainerStateWaiting, ContainerStatus,
    DaemonEndpoint, HostIP, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo, Pod, PodCondition, PodIP, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::ipam::PodCidr;
use crate::api::KindOf;
use crate::api::{pod as podutil, Kind, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, Fault, PodStep, SimDuration, SimTime, Timer};

/// How one kubelet is set up.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node_name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub capacity: BTreeMap<String, K8sQuantity>,
    pub allocatable: BTreeMap<String, K8sQuantity>,
    /// Index of the node in registration order (pod CIDR 10.244.<index>.0/24, InternalIP).
    pub index: usize,
    /// Images already on the node, with their size in bytes.
    pub images: BTreeMap<String, i64>,
    pub lease_renew_interval: SimDuration,
    pub lease_duration_seconds: i32,
    pub node_status_update_frequency: SimDuration,
    pub node_status_report_frequency: SimDuration,
    /// Image pull bandwidth in bytes per second.
    pub image_pull_bytes_per_second: i64,
    /// Size assumed for an image the scenario does not describe.
    pub default_image_size: i64,
    /// Time to resolve an image's manifest when `imagePullPolicy: Always` finds its layers on
    /// the node already.
    pub manifest_check_time: SimDuration,
    /// Sandbox creation plus container create and start.
    pub container_start_time: SimDuration,
    /// Time a container takes to exit after SIGTERM (bounded by the grace period).
    pub container_stop_time: SimDuration,
    pub kubelet_version: String,
    /// Whether the machine is on at time zero.
    pub powered_on: bool,
}

impl KubeletConfig {
    pub fn new(node_name: &str, index: usize) -> Self {
        KubeletConfig {
            node_name: node_name.to_string(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            capacity: BTreeMap::new(),
            allocatable: BTreeMap::new(),
            index,
            images: BTreeMap::new(),
            lease_renew_interval: SimDuration::from_secs(10),
            lease_duration_seconds: 40,
            node_status_update_frequency: SimDuration::from_secs(10),
            node_status_report_frequency: SimDuration::from_mins(5),
            image_pull_bytes_per_second: 20 << 20,
            default_image_size: 60 << 20,
            manifest_check_time: SimDuration::from_millis(500),
            container_start_time: SimDuration::from_millis(1000),
            container_stop_time: SimDuration::from_millis(500),
            kubelet_version: "v1.34.0".into(),
            powered_on: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Sandbox created, images being pulled.
    Pulling,
    /// Images present, containers being created and started.
    Starting,
    Running,
    /// SIGTERM sent; waiting for containers to exit.
    Terminating,
}

struct LocalPod {
    namespace: String,
    name: String,
    stage: Stage,
    ip: Ipv4Addr,
    /// Images this pod had to pull, with the pull duration and size.
    pulled: Vec<(String, SimDuration, i64)>,
    /// Images of later containers that the pod's own pull brings onto the node.
    present_after_pull: Vec<String>,
}

/// The kubelet component.
pub struct Kubelet {
    cfg: KubeletConfig,
    /// Incremented on every start; timers carry it so old timers die with a power cycle.
    boot: u32,
    running: bool,
    pods: Option<Informer>,
    local: BTreeMap<Arc<str>, LocalPod>,
    images: BTreeMap<String, i64>,
    cidr: PodCidr,
    last_status_post: SimTime,
    last_conditions: Vec<(String, String)>,
}

impl Kubelet {
    pub fn new(cfg: KubeletConfig) -> Self {
        let cidr = PodCidr::nth(cfg.index);
        let images = cfg.images.iter().map(|(k, v)| (normalize_image(k), *v)).collect();
        Kubelet {
            cfg,
            boot: 0,
            running: false,
            pods: None,
            local: BTreeMap::new(),
            images,
            cidr,
            last_status_post: SimTime::ZERO,
            last_conditions: Vec::new(),
        }
    }

    fn reporter(&self) -> Reporter<'_> {
        Reporter { component: "kubelet", host: Some(&self.cfg.node_name) }
    }

    fn internal_ip(&self) -> String {
        let i = self.cfg.index as u32 + 10;
        Ipv4Addr::new(192, 168, (i >> 8) as u8, (i & 0xff) as u8).to_string()
    }

    fn start(&mut self, ctx: &mut Context<'_>) {
        self.boot += 1;
        self.running = true;
        self.register_node(ctx);
        self.renew_lease(ctx);
        let spec = WatchSpec::with_fields(Kind::Pod, &format!("spec.nodeName={}", self.cfg.node_name));
        match Informer::start(ctx, spec) {
            Ok(inf) => self.pods = Some(inf),
            Err(_) => self.pods = None,
        }
        let boot = self.boot;
        ctx.after(self.cfg.lease_renew_interval, Event::Timer(Timer::LeaseRenew { boot }));
        ctx.after(self.cfg.node_status_update_frequency, Event::Timer(Timer::NodeStatus { boot }));
        let existing: Vec<Arc<Object>> = self.pods.iter().flat_map(|p| p.iter().cloned()).collect();
        for pod in existing {
            self.sync_pod(ctx, &pod);
        }
    }

    fn stop(&mut self, ctx: &mut Context<'_>) {
        self.running = false;
        if let Some(mut inf) = self.pods.take() {
            inf.stop(ctx);
        }
        // Containers die with the machine; the API objects stay as they were.
        for (_, p) in std::mem::take(&mut self.local) {
            self.cidr.release(p.ip);
        }
    }

    fn node_conditions(&self, ctx: &Context<'_>) -> Vec<NodeCondition> {
        let now = ctx.api.epoch().time(ctx.now());
        let cond = |ty: &str, status: &str, reason: &str, message: &str| NodeCondition {
            type_: ty.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_heartbeat_time: Some(now.clone()),
            last_transition_time: Some(now.clone()),
        };
        vec![
            cond(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
    }

    fn node_status(&self, ctx: &Context<'_>) -> NodeStatus {
        let name = &self.cfg.node_name;
        NodeStatus {
            capacity: Some(self.cfg.capacity.clone()),
            allocatable: Some(self.cfg.allocatable.clone()),
            conditions: Some(self.node_conditions(ctx)),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: self.internal_ip() },
                NodeAddress { type_: "Hostname".into(), address: name.clone() },
            ]),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
            }),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".into(),
                boot_id: format!("boot-{}-{}", name, self.boot),
                container_runtime_version: "containerd://1.7.24".into(),
                kernel_version: "6.8.0-kubesim".into(),
                kube_proxy_version: String::new(),
                kubelet_version: self.cfg.kubelet_version.clone(),
                machine_id: format!("machine-{name}"),
                operating_system: "linux".into(),
                os_image: "Ubuntu 24.04.1 LTS".into(),
                system_uuid: format!("uuid-{name}"),
                ..Default::default()
            }),
            images: Some(
                self.images
                    .iter()
                    .map(|(n, size)| ContainerImage { names: Some(vec![n.clone()]), size_bytes: Some(*size) })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn register_node(&mut self, ctx: &mut Context<'_>) {
        let name = self.cfg.node_name.clone();
        let mut labels: BTreeMap<String, String> = [
            ("beta.kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("kubernetes.io/hostname", name.as_str()),
            ("kubernetes.io/os", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        labels.extend(self.cfg.labels.clone());
        let status = self.node_status(ctx);
        let reporter_name = name.clone();
        match ctx.api.get_as::<Node>(None, &name) {
            Ok(mut existing) => {
                // Re-registration after a restart: post fresh status, keep spec (cordon, taints).
                existing.status = Some(status);
                let _ = ctx.api.update_status_as(existing);
            }
            Err(_) => {
                let node = Node {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        labels: Some(labels),
                        annotations: Some(
                            [
                                ("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string()),
                                (
                                    "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                                    "true".to_string(),
                                ),
                            ]
                            .into(),
                        ),
                        ..Default::default()
                    },
                    spec: Some(NodeSpec {
                        pod_cidr: Some(self.cidr.cidr()),
                        pod_cidrs: Some(vec![self.cidr.cidr()]),
                        taints: (!self.cfg.taints.is_empty()).then(|| self.cfg.taints.clone()),
                        ..Default::default()
                    }),
                    status: Some(status),
                };
                if let Ok(created) = ctx.api.create(node.into_object()) {
                    let _ = &created;
                }
            }
        }
        self.last_status_post = ctx.now();
        self.last_conditions = condition_summary(&self.node_conditions(ctx));
        if let Ok(node) = ctx.api.get(Kind::Node, None, &reporter_name) {
            record_event(ctx, self.reporter(), &node, "Normal", "Starting", "Starting kubelet.".into());
            for reason in
                ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"]
            {
                let msg = format!("Node {reporter_name} status is now: {reason}");
                record_event(ctx, self.reporter(), &node, "Normal", reason, msg);
            }
        }
    }

    fn renew_lease(&mut self, ctx: &mut Context<'_>) {
        let name = self.cfg.node_name.clone();
        let now = ctx.api.epoch().micro_time(ctx.now());
        match ctx.api.get_as::<Lease>(Some("kube-node-lease"), &name) {
            Ok(mut lease) => {
                lease.spec.get_or_insert_with(Default::default).renew_time = Some(now);
                let _ = ctx.api.update_as(lease);
            }
            Err(_) => {
                let node_uid = ctx.api.get(Kind::Node, None, &name).ok().map(|n| n.uid().to_string());
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        namespace: Some("kube-node-lease".into()),
                        owner_references: node_uid.map(|uid| {
                            vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                                api_version: "v1".into(),
                                kind: "Node".into(),
                                name: name.clone(),
                                uid,
                                ..Default::default()
                            }]
                        }),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(name.clone()),
                        lease_duration_seconds: Some(self.cfg.lease_duration_seconds),
                        renew_time: Some(now),
                        ..Default::default()
                    }),
                };
                let _ = ctx.api.create(lease.into_object());
            }
        }
    }

    /// Every `nodeStatusUpdateFrequency`: post status when a condition changed or
    /// `nodeStatusReportFrequency` passed since the last post (kubelet_node_status.go).
    fn maybe_post_status(&mut self, ctx: &mut Context<'_>) {
        let conditions = self.node_conditions(ctx);
        let summary = condition_summary(&conditions);
        let due = ctx.now().since(self.last_status_post) >= self.cfg.node_status_report_frequency;
        if summary == self.last_conditions && !due {
            return;
        }
        let Ok(mut node) = ctx.api.get_as::<Node>(None, &self.cfg.node_name) else {
            // The Node object was deleted: register again, as the kubelet does.
            self.register_node(ctx);
            return;
        };
        let mut status = self.node_status(ctx);
        // Keep transition times of conditions whose status did not change.
        if let (Some(old), Some(new)) =
            (node.status.as_ref().and_then(|s| s.conditions.as_ref()), status.conditions.as_mut())
        {
            for c in new.iter_mut() {
                if let Some(o) = old.iter().find(|o| o.type_ == c.type_ && o.status == c.status) {
                    c.last_transition_time = o.last_transition_time.clone();
                }
            }
        }
        node.status = Some(status);
        if ctx.api.update_status_as(node).is_ok() {
            self.last_status_post = ctx.now();
            self.last_conditions = summary;
        }
    }

    fn sync_pod(&mut self, ctx: &mut Context<'_>, obj: &Arc<Object>) {
        let Some(pod) = obj.as_type::<Pod>() else {
            return;
        };
        let uid: Arc<str> = Arc::from(obj.uid());
        if pod.metadata.deletion_timestamp.is_some() {
            self.begin_termination(ctx, uid, pod);
            return;
        }
        if self.local.contains_key(&uid) || podutil::is_terminal(pod) {
            return;
        }
        let Some(ip) = self.cidr.allocate() else {
            return; // no address left: the pod stays Pending, as with an exhausted CNI range
        };
        // EnsureImageExists per container, in order: an image present on the node is used
        // as is (IfNotPresent/Never); `Always` resolves the manifest with the registry (a quick
        // pull when the layers are there); an image pulled for an earlier container of the same
        // pod is present for the later ones.
        let mut pulled: Vec<(String, SimDuration, i64)> = Vec::new();
        let mut present_after_pull = Vec::new();
        for c in &pod.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default() {
            let image = c.image.clone().unwrap_or_default();
            let key = normalize_image(&image);
            let present = self.images.contains_key(&key);
            let policy = c.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
            if pulled.iter().any(|(i, _, _)| normalize_image(i) == key) && policy != "Always" {
                present_after_pull.push(image);
            } else if present && policy != "Always" {
                let msg = format!("Container image {image:?} already present on machine");
                record_event(ctx, self.reporter(), obj, "Normal", "Pulled", msg);
            } else {
                let size = self.images.get(&key).copied().unwrap_or(self.cfg.default_image_size);
                let pull = if present {
                    self.cfg.manifest_check_time
                } else {
                    let bps = self.cfg.image_pull_bytes_per_second.max(1) as u64;
                    SimDuration::from_millis((size.max(0) as u64).saturating_mul(1000) / bps)
                };
                record_event(
                    ctx,
                    self.reporter(),
                    obj,
                    "Normal",
                    "Pulling",
                    format!("Pulling image {image:?}"),
                );
                pulled.push((image, pull, size));
            }
        }
        let pull_time = pulled.iter().map(|(_, d, _)| *d).fold(SimDuration::ZERO, |a, b| a + b);
        self.local.insert(
            uid.clone(),
            LocalPod {
                namespace: obj.namespace().unwrap_or("").into(),
                name: obj.name().into(),
                stage: Stage::Pulling,
                ip,
                pulled,
                present_after_pull,
            },
        );
        self.post_pod_status(ctx, &uid);
        let boot = self.boot;
        ctx.after(pull_time, Event::Timer(Timer::PodStep { uid, step: PodStep::ImagesPulled, boot }));
    }

    fn begin_termination(&mut self, ctx: &mut Context<'_>, uid: Arc<str>, pod: &Pod) {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0).max(0) as u64;
        let stop = self.cfg.container_stop_time.min(SimDuration::from_secs(grace));
        let boot = self.boot;
        match self.local.get_mut(&uid) {
            Some(local) if local.stage == Stage::Terminating => {}
            Some(local) => {
                local.stage = Stage::Terminating;
                let obj = pod.clone().into_object();
                for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
                    record_event(
                        ctx,
                        self.reporter(),
                        &obj,
                        "Normal",
                        "Killing",
                        format!("Stopping container {}", c.name),
                    );
                }
                ctx.after(stop, Event::Timer(Timer::PodStep { uid, step: PodStep::Terminated, boot }));
            }
            None => {
                // Nothing runs here for this pod (e.g. after a reboot): finish the delete now.
                let _ = ctx.api.delete(
                    Kind::Pod,
                    pod.metadata.namespace.as_deref(),
                    pod.metadata.name.as_deref().unwrap_or(""),
                    DeleteOptions::force_uid(uid.to_string()),
                );
            }
        }
    }

    fn pod_step(&mut self, ctx: &mut Context<'_>, uid: Arc<str>, step: PodStep) {
        let Some(local) = self.local.get_mut(&uid) else {
            return;
        };
        let (ns, name) = (local.namespace.clone(), local.name.clone());
        let Ok(obj) = ctx.api.get(Kind::Pod, Some(&ns), &name) else {
            return;
        };
        if obj.uid() != &*uid {
            return;
        }
        let boot = self.boot;
        match step {
            PodStep::ImagesPulled if local.stage == Stage::Pulling => {
                local.stage = Stage::Starting;
                let pulled = std::mem::take(&mut local.pulled);
                let present_after_pull = std::mem::take(&mut local.present_after_pull);
                for (image, took, size) in pulled {
                    self.images.insert(normalize_image(&image), size);
                    let took = took.go_string();
                    let msg = format!(
                        "Successfully pulled image {image:?} in {took} ({took} including waiting). Image size: {size} bytes."
                    );
                    record_event(ctx, self.reporter(), &obj, "Normal", "Pulled", msg);
                }
                for image in present_after_pull {
                    let msg = format!("Container image {image:?} already present on machine");
                    record_event(ctx, self.reporter(), &obj, "Normal", "Pulled", msg);
                }
                ctx.after(
                    self.cfg.container_start_time,
                    Event::Timer(Timer::PodStep { uid, step: PodStep::ContainersStarted, boot }),
                );
            }
            PodStep::ContainersStarted if local.stage == Stage::Starting => {
                local.stage = Stage::Running;
                let names: Vec<String> = obj
                    .as_type::<Pod>()
                    .and_then(|p| p.spec.as_ref())
                    .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                    .unwrap_or_default();
                for c in names {
                    record_event(
                        ctx,
                        self.reporter(),
                        &obj,
                        "Normal",
                        "Created",
                        format!("Created container: {c}"),
                    );
                    record_event(
                        ctx,
                        self.reporter(),
                        &obj,
                        "Normal",
                        "Started",
                        format!("Started container {c}"),
                    );
                }
                self.post_pod_status(ctx, &uid);
            }
            PodStep::Terminated if local.stage == Stage::Terminating => {
                let ip = local.ip;
                self.local.remove(&uid);
                self.cidr.release(ip);
                // The final delete: grace 0, guarded by UID (status_manager.go).
                let _ =
                    ctx.api.delete(Kind::Pod, Some(&ns), &name, DeleteOptions::force_uid(uid.to_string()));
            }
            _ => {}
        }
    }

    /// Writes the pod's status for its current local stage (the status manager).
    fn post_pod_status(&mut self, ctx: &mut Context<'_>, uid: &Arc<str>) {
        let Some(local) = self.local.get(uid) else {
            return;
        };
        let Ok(mut pod) = ctx.api.get_as::<Pod>(Some(&local.namespace), &local.name) else {
            return;
        };
        let epoch = ctx.api.epoch();
        let now = epoch.time(ctx.now());
        let running = local.stage == Stage::Running;
        // Unready containers, as the status manager words it ("containers with unready
        // status: [nginx]", pkg/kubelet/status/generate.go).
        let unready: Vec<String> = if running {
            Vec::new()
        } else {
            pod.spec.iter().flat_map(|s| s.containers.iter().map(|c| c.name.clone())).collect()
        };
        let unready_message = format!("containers with unready status: [{}]", unready.join(" "));
        let cond = |ty: &str, ok: bool, reason: Option<&str>| PodCondition {
            type_: ty.into(),
            status: if ok { "True" } else { "False" }.into(),
            last_transition_time: Some(now.clone()),
            message: reason.map(|_| unready_message.clone()),
            reason: reason.map(Into::into),
            ..Default::default()
        };
        let started_at: Time =
            pod.status.as_ref().and_then(|s| s.start_time.clone()).unwrap_or_else(|| now.clone());
        let containers = pod.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default();
        let statuses = containers
            .iter()
            .map(|c| {
                let image = c.image.clone().unwrap_or_default();
                ContainerStatus {
                    name: c.name.clone(),
                    image: normalize_image(&image),
                    image_id: if running {
                        format!(
                            "{}@sha256:{:064x}",
                            strip_tag(&normalize_image(&image)),
                            crate::sim::hash::hash_str(&image)
                        )
                    } else {
                        String::new()
                    },
                    container_id: running.then(|| {
                        format!(
                            "containerd://{:016x}{:016x}",
                            crate::sim::hash::hash_str(uid),
                            crate::sim::hash::hash_str(&c.name)
                        )
                    }),
                    ready: running,
                    started: Some(running),
                    restart_count: 0,
                    state: Some(if running {
                        ContainerState {
                            running: Some(ContainerStateRunning { started_at: Some(now.clone()) }),
                            ..Default::default()
                        }
                    } else {
                        ContainerState {
                            waiting: Some(ContainerStateWaiting {
                                reason: Some("ContainerCreating".into()),
                                message: None,
                            }),
                            ..Default::default()
                        }
                    }),
                    ..Default::default()
                }
            })
            .collect();
        let ip = local.ip.to_string();
        let host_ip = self.internal_ip();
        let status = pod.status.get_or_insert_with(Default::default);
        status.phase = Some(if running { "Running" } else { "Pending" }.into());
        status.host_ip = Some(host_ip.clone());
        status.host_ips = Some(vec![HostIP { ip: host_ip }]);
        status.pod_ip = Some(ip.clone());
        status.pod_ips = Some(vec![PodIP { ip }]);
        status.start_time = Some(started_at);
        status.container_statuses = Some(statuses);
        podutil::set_pod_condition(&mut pod, cond("PodReadyToStartContainers", true, None));
        podutil::set_pod_condition(&mut pod, cond("Initialized", true, None));
        podutil::set_pod_condition(
            &mut pod,
            cond("Ready", running, (!running).then_some("ContainersNotReady")),
        );
        podutil::set_pod_condition(
            &mut pod,
            cond("ContainersReady", running, (!running).then_some("ContainersNotReady")),
        );
        let _ = ctx.api.update_status_as(pod);
    }
}

fn condition_summary(conditions: &[NodeCondition]) -> Vec<(String, String)> {
    conditions.iter().map(|c| (c.type_.clone(), c.status.clone())).collect()
}

/// `nginx:1.27` → `docker.io/library/nginx:1.27`; adds `:latest` to untagged names, as the
/// container runtime reports images.
pub fn normalize_image(image: &str) -> String {
    let mut name = image.to_string();
    let first = name.split('/').next().unwrap_or("");
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_registry {
        name = if name.contains('/') {
            format!("docker.io/{name}")
        } else {
            format!("docker.io/library/{name}")
        };
    }
    if crate::api::defaults::image_tag(&name).is_none() {
        name.push_str(":latest");
    }
    name
}

fn strip_tag(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

impl Component for Kubelet {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start if self.cfg.powered_on => {
                self.start(ctx);
            }
            Event::Fault(Fault::PowerOff) if self.running => {
                self.stop(ctx);
            }
            Event::Fault(Fault::PowerOn) if !self.running => {
                self.start(ctx);
            }
            Event::Timer(Timer::LeaseRenew { boot }) if boot == self.boot && self.running => {
                self.renew_lease(ctx);
                ctx.after(self.cfg.lease_renew_interval, Event::Timer(Timer::LeaseRenew { boot }));
            }
            Event::Timer(Timer::NodeStatus { boot }) if boot == self.boot && self.running => {
                self.maybe_post_status(ctx);
                ctx.after(self.cfg.node_status_update_frequency, Event::Timer(Timer::NodeStatus { boot }));
            }
            Event::Timer(Timer::PodStep { uid, step, boot }) if boot == self.boot && self.running => {
                self.pod_step(ctx, uid, step);
            }
            Event::Watch(ev) if self.running => {
                let Some(inf) = self.pods.as_mut() else {
                    return;
                };
                if !inf.owns(&ev) {
                    return;
                }
                inf.apply(&ev);
                if ev.kind == WatchEventType::Deleted {
                    let uid: Arc<str> = Arc::from(ev.object.uid());
                    if let Some(p) = self.local.remove(&uid) {
                        self.cidr.release(p.ip);
                    }
                } else {
                    self.sync_pod(ctx, &ev.object);
                }
            }
            _ => {}
        }
    }
}

/// Images named in a set of pods (helper for scenarios that preload images).
pub fn images_of(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .flat_map(|p| p.spec.iter().flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_normalized_like_containerd() {
        assert_eq!(normalize_image("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalize_image("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(normalize_image("registry.k8s.io/pause:3.10"), "registry.k8s.io/pause:3.10");
        assert_eq!(normalize_image("localhost:5000/app"), "localhost:5000/app:latest");
    }
}
