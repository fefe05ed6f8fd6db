//! The kubelet: one per node.
//!
//! Models pkg/kubelet: registers the Node (capacity, allocatable, labels, taints, node info,
//! addresses, pod CIDR), renews its Lease in `kube-node-lease` every `leaseRenewInterval`,
//! computes node status every `nodeStatusUpdateFrequency` and posts it when it changed or when
//! `nodeStatusReportFrequency` passed (upstream defaults 10s / 10s / 5m), and runs the pods
//! bound to its node through one [`PodWorker`] each (image pulls, starts, exits, restarts and
//! back-off, probes, graceful termination, the final delete).
//!
//! Faults: a power cut kills every container (they restart after power returns, restart counts
//! up, SandboxChanged); a stopped kubelet process leaves containers running but unobserved
//! (no heartbeats, no restarts) until it starts again; during a network partition the kubelet
//! keeps running its pods but none of its requests reach the API server, and after the heal it
//! lists its pods again (pods evicted meanwhile are stopped then).
//!
//! Static pods (the scenario's `staticPods`, the kubelet's manifest folder) run like any pod and
//! appear in the API as mirror pods `<name>-<node>`; a deleted mirror pod is created again (in
//! kubesim its containers restart with it, upstream they keep running). Host-network pods get
//! the node's IP.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ContainerImage, DaemonEndpoint, HostIP, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec,
    NodeStatus, NodeSystemInfo, Pod, PodCondition, PodIP, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::behavior::BehaviorRule;
use super::ipam::PodCidr;
use super::pod_worker::{Effect, Env, PodWorker};
use crate::api::KindOf;
use crate::api::{pod as podutil, Kind, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::network::PodNet;
use crate::sim::{Component, Context, Event, Fault, PodStep, SimDuration, SimTime, Timer};

/// How one kubelet is set up.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    pub node_name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub capacity: BTreeMap<String, K8sQuantity>,
    pub allocatable: BTreeMap<String, K8sQuantity>,
    /// Index of the node in registration order (pod CIDR `10.244.<index>.0/24`, InternalIP).
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
    /// How containers behave (scenario `containerBehaviors`).
    pub behaviors: Arc<[BehaviorRule]>,
    /// Images the registry does not have (scenario `registry.missingImages`).
    pub missing_images: Vec<String>,
    /// Static pod manifests (the kubelet's manifest folder).
    pub static_pods: Vec<Pod>,
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
            behaviors: Arc::from(Vec::new()),
            missing_images: Vec::new(),
            static_pods: Vec::new(),
        }
    }
}

/// The kubelet component.
pub struct Kubelet {
    cfg: KubeletConfig,
    /// Incremented on every process start; timers carry it so old timers die with the process.
    boot: u32,
    /// Times the machine booted (its boot ID changes with each, not with a kubelet restart).
    machine_boots: u32,
    /// The machine has power.
    powered: bool,
    /// The kubelet process runs (implies `powered`).
    running: bool,
    pods: Option<Informer>,
    workers: BTreeMap<Arc<str>, PodWorker>,
    images: BTreeMap<String, i64>,
    missing_images: BTreeSet<String>,
    cidr: PodCidr,
    last_status_post: SimTime,
    last_conditions: [(&'static str, &'static str); 4],
    /// The node-status loop's beat: ticks fall every `nodeStatusUpdateFrequency` after this
    /// instant (the process start).
    status_origin: SimTime,
    /// The tick the armed `NodeStatus` timer stands for (`SimTime::MAX`: none armed).
    status_tick_at: SimTime,
    /// The Lease as last written (upstream's `latestLease`).
    latest_lease: Option<Arc<Object>>,
    /// Memory, disk and PID pressure, as the scenario sets them.
    pressure: Pressure,
}

/// Which eviction signals are past their thresholds on the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
    pub pid: bool,
}

impl Kubelet {
    pub fn new(cfg: KubeletConfig) -> Self {
        let cidr = PodCidr::nth(cfg.index);
        let images = cfg.images.iter().map(|(k, v)| (normalize_image(k), *v)).collect();
        let missing_images = cfg.missing_images.iter().map(|i| normalize_image(i)).collect();
        Kubelet {
            cfg,
            boot: 0,
            machine_boots: 0,
            powered: false,
            running: false,
            pods: None,
            workers: BTreeMap::new(),
            images,
            missing_images,
            cidr,
            last_status_post: SimTime::ZERO,
            last_conditions: [("", ""); 4],
            status_origin: SimTime::ZERO,
            status_tick_at: SimTime::MAX,
            latest_lease: None,
            pressure: Pressure::default(),
        }
    }

    fn reporter(&self) -> Reporter<'_> {
        Reporter { component: "kubelet", host: Some(&self.cfg.node_name) }
    }

    fn internal_ip(&self) -> String {
        self.node_ip().to_string()
    }

    fn node_ip(&self) -> Ipv4Addr {
        node_address(self.cfg.index)
    }

    /// The kubelet process starts: register, heartbeat, list and watch its pods.
    fn start(&mut self, ctx: &mut Context<'_>) {
        self.boot += 1;
        self.running = true;
        ctx.api.forget_event_cache("kubelet", Some(&self.cfg.node_name));
        self.register_node(ctx);
        self.renew_lease(ctx);
        let boot = self.boot;
        ctx.after(self.cfg.lease_renew_interval, Event::Timer(Timer::LeaseRenew { boot }));
        self.status_origin = ctx.now();
        self.status_tick_at = SimTime::MAX;
        self.arm_status_tick(ctx, ctx.now() + self.cfg.node_status_update_frequency);
        self.ensure_mirror_pods(ctx);
        self.relist(ctx);
    }

    /// The mirror pod of a static manifest (pkg/kubelet/pod/mirror_client.go): named
    /// `<name>-<node>`, bound to the node, owned by the Node, annotated with the config hash.
    fn mirror_pod(&self, manifest: &Pod, node_uid: Option<&str>) -> Pod {
        let node = &self.cfg.node_name;
        let mut pod = manifest.clone();
        let name = format!("{}-{node}", manifest.metadata.name.as_deref().unwrap_or("static"));
        let hash = format!("{:016x}", crate::sim::hash::hash_str(&format!("{node}/{name}")));
        let meta = &mut pod.metadata;
        meta.name = Some(name);
        meta.namespace.get_or_insert_with(|| "default".into());
        let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert("kubernetes.io/config.hash".into(), hash.clone());
        annotations.insert("kubernetes.io/config.mirror".into(), hash);
        annotations.insert("kubernetes.io/config.source".into(), "file".into());
        meta.owner_references = node_uid.map(|uid| {
            vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: node.clone(),
                uid: uid.to_string(),
                controller: Some(true),
                block_owner_deletion: None,
            }]
        });
        let spec = pod.spec.get_or_insert_with(Default::default);
        spec.node_name = Some(node.clone());
        // "Applying the default Taint tolerations to static pods, so they are not evicted when
        // there are node problems" (pkg/kubelet/config/common.go applyDefaults).
        let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
        let all_no_execute = |t: &k8s_openapi::api::core::v1::Toleration| {
            t.key.as_deref().is_none_or(str::is_empty)
                && t.operator.as_deref() == Some("Exists")
                && t.effect.as_deref() == Some("NoExecute")
        };
        if !tolerations.iter().any(all_no_execute) {
            tolerations.push(k8s_openapi::api::core::v1::Toleration {
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                ..Default::default()
            });
        }
        pod.status = None;
        pod
    }

    /// Creates the mirror pods that are missing (at start, and when one was deleted).
    fn ensure_mirror_pods(&mut self, ctx: &mut Context<'_>) {
        if self.cfg.static_pods.is_empty() {
            return;
        }
        let node_uid = ctx.api.get(Kind::Node, None, &self.cfg.node_name).ok().map(|n| n.uid().to_string());
        for manifest in self.cfg.static_pods.clone() {
            let mirror = self.mirror_pod(&manifest, node_uid.as_deref());
            let (ns, name) =
                (mirror.metadata.namespace.clone(), mirror.metadata.name.clone().unwrap_or_default());
            match ctx.api.get(Kind::Pod, ns.as_deref(), &name) {
                Err(e) if e.is_not_found() => {
                    let _ = ctx.api.create(mirror.into_object());
                }
                _ => {}
            }
        }
    }

    fn is_mirror(pod: &Pod) -> bool {
        pod.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
    }

    /// Lists and watches the node's pods again and reconciles them with the pods it runs.
    fn relist(&mut self, ctx: &mut Context<'_>) {
        if let Some(mut old) = self.pods.take() {
            old.stop(ctx);
        }
        let spec = WatchSpec::with_fields(Kind::Pod, &format!("spec.nodeName={}", self.cfg.node_name));
        self.pods = Informer::start(ctx, spec).ok();
        let Some(inf) = &self.pods else { return };
        let listed: Vec<Arc<Object>> = inf.iter().cloned().collect();
        // Pods deleted from the API while the kubelet could not see it: stop them.
        let gone: Vec<Arc<str>> =
            self.workers.keys().filter(|uid| !listed.iter().any(|o| o.uid() == &***uid)).cloned().collect();
        for uid in gone {
            self.forget(ctx, &uid);
        }
        for pod in listed {
            self.sync_pod(ctx, &pod);
        }
    }

    /// The kubelet process stops (containers keep running unless the machine is off).
    fn stop(&mut self, ctx: &mut Context<'_>) {
        self.running = false;
        if let Some(mut inf) = self.pods.take() {
            inf.stop(ctx);
        }
    }

    fn forget(&mut self, ctx: &mut Context<'_>, uid: &str) {
        if let Some(w) = self.workers.remove(uid) {
            if w.ip.to_string() != self.internal_ip() {
                self.cidr.release(w.ip);
                ctx.net.remove_pod(w.ip);
            }
        }
    }

    /// The node conditions the kubelet's checks report: (type, status, reason, message). The
    /// simulated node never runs short of memory, disk or PIDs.
    fn condition_checks(&self) -> [(&'static str, &'static str, &'static str, &'static str); 4] {
        // pkg/kubelet/nodestatus/setters.go: MemoryPressureCondition, DiskPressureCondition,
        // PIDPressureCondition, ReadyCondition.
        let p = self.pressure;
        [
            if p.memory {
                (
                    "MemoryPressure",
                    "True",
                    "KubeletHasInsufficientMemory",
                    "kubelet has insufficient memory available",
                )
            } else {
                (
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                )
            },
            if p.disk {
                ("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure")
            } else {
                ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
            },
            if p.pid {
                ("PIDPressure", "True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available")
            } else {
                ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available")
            },
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
    }

    /// The node events the status setters record when a pressure condition flips
    /// (`NodeHasInsufficientMemory`, `NodeHasSufficientMemory`, …).
    fn record_condition_changes(
        &self,
        ctx: &mut Context<'_>,
        before: [(&str, &str); 4],
        after: [(&str, &str); 4],
    ) {
        let Ok(node) = ctx.api.get(Kind::Node, None, &self.cfg.node_name) else { return };
        for ((ty, old), (_, new)) in before.iter().zip(after.iter()) {
            if old == new || old.is_empty() {
                continue;
            }
            let reason = match (*ty, *new) {
                ("MemoryPressure", "True") => "NodeHasInsufficientMemory",
                ("MemoryPressure", _) => "NodeHasSufficientMemory",
                ("DiskPressure", "True") => "NodeHasDiskPressure",
                ("DiskPressure", _) => "NodeHasNoDiskPressure",
                ("PIDPressure", "True") => "NodeHasInsufficientPID",
                ("PIDPressure", _) => "NodeHasSufficientPID",
                _ => continue,
            };
            let msg = format!("Node {} status is now: {reason}", self.cfg.node_name);
            record_event(ctx, self.reporter(), &node, "Normal", reason, msg);
        }
    }

    /// The eviction manager's admission check (pkg/kubelet/eviction/eviction_manager.go
    /// `Admit`): under memory pressure only pods that are not BestEffort (or that tolerate the
    /// memory-pressure taint) are admitted; under disk or PID pressure none are. Returns the
    /// conditions that reject the pod.
    fn admission_rejects(&self, pod: &Pod) -> Option<Vec<&'static str>> {
        let p = self.pressure;
        let mut conditions = Vec::new();
        if p.memory {
            conditions.push("MemoryPressure");
        }
        if p.disk {
            conditions.push("DiskPressure");
        }
        if p.pid {
            conditions.push("PIDPressure");
        }
        // Critical pods (priority 2000000000 and up, e.g. system-node-critical) are always
        // admitted (kubelettypes.IsCriticalPod).
        let critical = pod.spec.as_ref().and_then(|s| s.priority).is_some_and(|p| p >= 2_000_000_000);
        if conditions.is_empty() || critical {
            return None;
        }
        if conditions == ["MemoryPressure"] {
            let taint = Taint {
                key: "node.kubernetes.io/memory-pressure".into(),
                effect: "NoSchedule".into(),
                ..Default::default()
            };
            let tolerates = podutil::tolerations(pod).iter().any(|t| podutil::tolerates(t, &taint));
            if crate::apiserver::server::qos_class(pod) != "BestEffort" || tolerates {
                return None;
            }
        }
        Some(conditions)
    }

    /// The predicate admit handler's resource check (pkg/kubelet/lifecycle/predicate.go, the
    /// scheduler's NodeResourcesFit `Fits` against the pods this kubelet already runs): a pod
    /// placed on the node by hand (`spec.nodeName`) that does not fit is rejected with reason
    /// `OutOf<resource>`, as the first insufficient resource in upstream's order (pods, cpu,
    /// memory, ephemeral-storage, extended resources).
    fn resources_reject(&self, pod: &Pod) -> Option<(String, String)> {
        let allocatable =
            if self.cfg.allocatable.is_empty() { &self.cfg.capacity } else { &self.cfg.allocatable };
        let allocatable = podutil::Resources::from_list(Some(allocatable));
        let mut used = podutil::Resources::default();
        let mut running = 0i64;
        for other in self.pods.iter().flat_map(|i| i.iter_as::<Pod>()) {
            let uid = other.metadata.uid.as_deref().unwrap_or("");
            if self.workers.contains_key(uid) && !podutil::is_terminal(other) {
                used.add(&podutil::pod_requests(other));
                running += 1;
            }
        }
        let insufficient = |name: &str, requested: i64, used: i64, capacity: i64| {
            (format!("OutOf{name}"), format!("Node didn't have enough resource: {name}, requested: {requested}, used: {used}, capacity: {capacity}"))
        };
        if allocatable.pods > 0 && running + 1 > allocatable.pods {
            return Some(insufficient("pods", 1, running, allocatable.pods));
        }
        let want = podutil::pod_requests(pod);
        let checks = [
            ("cpu", want.milli_cpu, used.milli_cpu, allocatable.milli_cpu),
            ("memory", want.memory, used.memory, allocatable.memory),
            (
                "ephemeral-storage",
                want.ephemeral_storage,
                used.ephemeral_storage,
                allocatable.ephemeral_storage,
            ),
        ];
        for (name, requested, used, capacity) in checks {
            if requested > 0 && requested > capacity - used {
                return Some(insufficient(name, requested, used, capacity));
            }
        }
        for (name, requested) in &want.scalar {
            let capacity = allocatable.scalar.get(name).copied().unwrap_or(0);
            let used = used.scalar.get(name).copied().unwrap_or(0);
            if *requested > 0 && *requested > capacity - used {
                return Some(insufficient(name, *requested, used, capacity));
            }
        }
        None
    }

    /// (type, status) of each condition: what decides whether status changed.
    fn condition_summary(&self) -> [(&'static str, &'static str); 4] {
        self.condition_checks().map(|(ty, status, _, _)| (ty, status))
    }

    fn node_conditions(&self, ctx: &Context<'_>) -> Vec<NodeCondition> {
        let now = ctx.api.epoch().time(ctx.now());
        self.condition_checks()
            .iter()
            .map(|(ty, status, reason, message)| NodeCondition {
                type_: (*ty).into(),
                status: (*status).into(),
                reason: Some((*reason).into()),
                message: Some((*message).into()),
                last_heartbeat_time: Some(now.clone()),
                last_transition_time: Some(now.clone()),
            })
            .collect()
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
                boot_id: format!("boot-{}-{}", name, self.machine_boots),
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
        let mut rebooted = None;
        let registered = match ctx.api.get_as::<Node>(None, &name) {
            Ok(mut existing) => {
                // Re-registration after a restart: post fresh status, keep spec (cordon, taints).
                // A new boot ID is a reboot (nodestatus.MachineInfo records NodeRebooted).
                let old_boot =
                    existing.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.boot_id.clone());
                let new_boot = status.node_info.as_ref().map(|i| i.boot_id.clone()).unwrap_or_default();
                if old_boot.as_deref().is_some_and(|b| !b.is_empty() && b != new_boot) {
                    rebooted = Some(new_boot);
                }
                existing.status = Some(status);
                ctx.api.update_status_as(existing).is_ok()
            }
            Err(e) if !e.is_not_found() => false,
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
                ctx.api.create(node.into_object()).is_ok()
            }
        };
        if !registered {
            return; // the API server is out of reach: the next status tick tries again
        }
        self.last_status_post = ctx.now();
        self.last_conditions = self.condition_summary();
        if let Ok(node) = ctx.api.get(Kind::Node, None, &reporter_name) {
            record_event(ctx, self.reporter(), &node, "Normal", "Starting", "Starting kubelet.".into());
            if let Some(boot_id) = rebooted {
                let msg = format!("Node {reporter_name} has been rebooted, boot id: {boot_id}");
                record_event(ctx, self.reporter(), &node, "Warning", "Rebooted", msg);
            }
            for reason in ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"] {
                let msg = format!("Node {reporter_name} status is now: {reason}");
                record_event(ctx, self.reporter(), &node, "Normal", reason, msg);
            }
            // The container manager enforces node allocatable on the pods' cgroup before the
            // node is reported Ready (cm/node_container_manager_linux.go).
            let msg = "Updated Node Allocatable limit across pods".to_string();
            record_event(ctx, self.reporter(), &node, "Normal", "NodeAllocatableEnforced", msg);
            let msg = format!("Node {reporter_name} status is now: NodeReady");
            record_event(ctx, self.reporter(), &node, "Normal", "NodeReady", msg);
        }
    }

    /// Renews the node's Lease. Like upstream's lease controller, the kubelet updates from the
    /// copy it last wrote and only GETs the Lease when it has none or the update failed.
    fn renew_lease(&mut self, ctx: &mut Context<'_>) {
        let name = &self.cfg.node_name;
        let now = ctx.api.epoch().micro_time(ctx.now());
        // The Lease this kubelet last wrote (shared with the store, copied once per renewal).
        let cached = match self.latest_lease.take().and_then(|o| o.as_type::<Lease>().cloned()) {
            Some(lease) => Ok(lease),
            None => ctx.api.get_as::<Lease>(Some("kube-node-lease"), name),
        };
        match cached {
            Ok(mut lease) => {
                lease.spec.get_or_insert_with(Default::default).renew_time = Some(now);
                self.latest_lease = ctx.api.update_as(lease).ok();
            }
            Err(e) if !e.is_not_found() => {}
            Err(_) => {
                let node_uid = ctx.api.get(Kind::Node, None, name).ok().map(|n| n.uid().to_string());
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
                if let Ok(created) = ctx.api.create(lease.into_object()) {
                    self.latest_lease = Some(created);
                }
            }
        }
    }

    /// The first beat of the node-status loop strictly after `t`.
    fn status_tick_after(&self, t: SimTime) -> SimTime {
        let period = self.cfg.node_status_update_frequency.as_millis().max(1);
        let beats = t.since(self.status_origin).as_millis() / period + 1;
        self.status_origin + SimDuration::from_millis(beats * period)
    }

    /// The next beat after the tick at `now` on which [`Kubelet::maybe_post_status`] can do
    /// anything: the next one while the conditions differ from the last post (a failed post is
    /// retried on every beat), otherwise the first one at which `nodeStatusReportFrequency` has
    /// passed. The conditions change only with the scenario's pressure faults, which arm the
    /// next beat themselves, so the beats in between are not simulated: they would find nothing
    /// to post. (Upstream the loop wakes every beat: kubelet.go `wait.JitterUntil(
    /// kl.syncNodeStatus, kl.nodeStatusUpdateFrequency, ...)`; what it posts is the same.)
    fn next_status_tick(&self, now: SimTime) -> SimTime {
        let next = self.status_tick_after(now);
        if self.condition_summary() != self.last_conditions {
            return next;
        }
        let due = self.last_status_post + self.cfg.node_status_report_frequency;
        if due <= next {
            return next;
        }
        // The first beat at or after `due`.
        self.status_tick_after(SimTime(due.as_millis() - 1)).max(next)
    }

    /// Arms the `NodeStatus` timer for the beat at `at` unless one is armed for that beat or an
    /// earlier one (a later one is then stale: its tick finds `status_tick_at` moved and does
    /// nothing).
    fn arm_status_tick(&mut self, ctx: &mut Context<'_>, at: SimTime) {
        if at >= self.status_tick_at {
            return;
        }
        self.status_tick_at = at;
        let boot = self.boot;
        ctx.after(at.since(ctx.now()), Event::Timer(Timer::NodeStatus { boot }));
    }

    /// Every `nodeStatusUpdateFrequency`: post status when a condition changed or
    /// `nodeStatusReportFrequency` passed since the last post (kubelet_node_status.go).
    /// `force`: post even if nothing changed (after the connection to the API server is back).
    fn maybe_post_status(&mut self, ctx: &mut Context<'_>, force: bool) {
        let summary = self.condition_summary();
        let due = ctx.now().since(self.last_status_post) >= self.cfg.node_status_report_frequency;
        if summary == self.last_conditions && !due && !force {
            return;
        }
        if summary != self.last_conditions {
            self.record_condition_changes(ctx, self.last_conditions, summary);
        }
        let current = match ctx.api.get(Kind::Node, None, &self.cfg.node_name) {
            Ok(current) => current,
            Err(e) if e.is_not_found() => {
                // The Node object was deleted: register again, as the kubelet does.
                self.register_node(ctx);
                return;
            }
            Err(_) => return,
        };
        let Some(current_node) = current.as_type::<Node>() else { return };
        let mut status = self.node_status(ctx);
        // Keep transition times of conditions whose status did not change.
        if let (Some(old), Some(new)) =
            (current_node.status.as_ref().and_then(|s| s.conditions.as_ref()), status.conditions.as_mut())
        {
            for c in new.iter_mut() {
                if let Some(o) = old.iter().find(|o| o.type_ == c.type_ && o.status == c.status) {
                    c.last_transition_time = o.last_transition_time.clone();
                }
            }
        }
        // A status write carries only the status and the resourceVersion it was computed
        // against (the API server keeps the rest of the stored object), so the Node read above
        // is not copied.
        let update = Node {
            metadata: ObjectMeta {
                name: current_node.metadata.name.clone(),
                resource_version: current_node.metadata.resource_version.clone(),
                ..Default::default()
            },
            spec: None,
            status: Some(status),
        };
        if ctx.api.update_status_as(update).is_ok() {
            self.last_status_post = ctx.now();
            self.last_conditions = summary;
        }
    }

    /// Runs a worker input with the kubelet's environment and carries out its effects.
    fn with_worker(
        &mut self,
        ctx: &mut Context<'_>,
        uid: &Arc<str>,
        f: impl FnOnce(&mut PodWorker, &mut Env<'_>),
    ) {
        let Some(worker) = self.workers.get_mut(uid) else { return };
        let mut env = Env {
            now: ctx.now(),
            cfg: &self.cfg,
            images: &mut self.images,
            missing_images: &self.missing_images,
            out: Vec::new(),
        };
        f(worker, &mut env);
        let effects = env.out;
        self.publish_sockets(ctx, uid);
        self.apply(ctx, uid, effects);
    }

    /// Tells the data plane which of the pod's containers accept connections now.
    fn publish_sockets(&self, ctx: &mut Context<'_>, uid: &Arc<str>) {
        let Some(w) = self.workers.get(uid) else { return };
        if w.ip.to_string() == self.internal_ip() {
            return; // host network: not tracked by the data plane model
        }
        // Called after every pod step (probes included): only write when something changed.
        let containers = w.listening();
        let unchanged = ctx.net.pod(w.ip).is_some_and(|p| {
            p.containers == containers
                && p.name == w.name
                && p.namespace == w.namespace
                && p.node == self.cfg.node_name
        });
        if unchanged {
            return;
        }
        let sandbox = PodNet {
            node: self.cfg.node_name.clone(),
            namespace: w.namespace.clone(),
            name: w.name.clone(),
            containers,
        };
        ctx.net.set_pod(w.ip, sandbox);
    }

    fn apply(&mut self, ctx: &mut Context<'_>, uid: &Arc<str>, effects: Vec<Effect>) {
        let boot = self.boot;
        for effect in effects {
            let Some(w) = self.workers.get(uid) else { return };
            let (ns, name) = (w.namespace.clone(), w.name.clone());
            match effect {
                Effect::Event { type_, reason, message } => {
                    let involved = self.pods.as_ref().and_then(|p| p.get(&ns, &name)).cloned();
                    if let Some(obj) = involved {
                        record_event(ctx, self.reporter(), &obj, type_, reason, message);
                    }
                }
                Effect::After { delay, step } => {
                    ctx.after(delay, Event::Timer(Timer::PodStep { uid: uid.clone(), step, boot }));
                }
                Effect::StatusChanged => self.post_pod_status(ctx, uid),
                Effect::FinalDelete => {
                    // The final delete: grace 0, guarded by UID (status_manager.go). If it
                    // cannot reach the API server, the next relist tries again.
                    if ctx
                        .api
                        .delete(Kind::Pod, Some(&ns), &name, DeleteOptions::force_uid(uid.to_string()))
                        .is_ok()
                    {
                        self.forget(ctx, uid);
                    }
                }
            }
        }
    }

    fn sync_pod(&mut self, ctx: &mut Context<'_>, obj: &Arc<Object>) {
        let Some(pod) = obj.as_type::<Pod>() else { return };
        let uid: Arc<str> = Arc::from(obj.uid());
        if pod.metadata.deletion_timestamp.is_some() {
            // Nothing runs here for this pod, or it is a mirror pod (deleting one does not stop
            // its static pod; the kubelet creates a new mirror): finish the delete now.
            if Self::is_mirror(pod) || !self.workers.contains_key(&uid) {
                let force = DeleteOptions::force_uid(uid.to_string());
                let _ = ctx.api.delete(Kind::Pod, obj.namespace(), obj.name(), force);
                return;
            }
            let grace =
                SimDuration::from_secs(pod.metadata.deletion_grace_period_seconds.unwrap_or(0).max(0) as u64);
            self.with_worker(ctx, &uid, |w, env| w.terminate(grace, env));
            return;
        }
        if self.workers.contains_key(&uid) {
            // An update of a pod this kubelet runs: only a container image can have changed.
            if self.workers.get(&uid).is_some_and(|w| w.images_differ(pod)) {
                self.with_worker(ctx, &uid, |w, env| w.spec_updated(pod, env));
            }
            return;
        }
        if podutil::is_terminal(pod) {
            return;
        }
        // The admit handlers in upstream's order: the eviction manager, then the predicates.
        let rejection = match self.admission_rejects(pod) {
            Some(conditions) => {
                Some(("Evicted".to_string(), format!("The node had condition: [{}]. ", conditions.join(" "))))
            }
            None if Self::is_mirror(pod) => None,
            None => self.resources_reject(pod),
        };
        if let Some((reason, message)) = rejection {
            // rejectPod (kubelet.go): the event, then phase Failed with "Pod was rejected: ".
            record_event(ctx, self.reporter(), obj, "Warning", &reason, message.clone());
            let mut failed = pod.clone();
            let status = failed.status.get_or_insert_with(Default::default);
            status.phase = Some("Failed".into());
            status.reason = Some(reason);
            status.message = Some(format!("Pod was rejected: {message}"));
            let _ = ctx.api.update_status_as(failed);
            return;
        }
        let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
        let ip = if host_network {
            self.internal_ip().parse().expect("node IPs are IPv4")
        } else {
            match self.cidr.allocate() {
                Some(ip) => ip,
                None => return, // no address left: the pod stays Pending, as with an exhausted CNI range
            }
        };
        let worker = PodWorker::new(pod, ip, &self.cfg.behaviors, ctx.now());
        self.workers.insert(uid.clone(), worker);
        self.with_worker(ctx, &uid, |w, env| w.admit(env));
    }

    fn pod_step(&mut self, ctx: &mut Context<'_>, uid: Arc<str>, step: PodStep) {
        self.with_worker(ctx, &uid, |w, env| match step {
            PodStep::PullDone { container } => w.pull_done(container as usize, env),
            PodStep::Started { container } => w.started(container as usize, env),
            PodStep::Exited { container, run } => w.self_exit(container as usize, run, env),
            PodStep::Probe { container, kind, run } => w.probe(container as usize, kind, run, env),
            PodStep::Killed { container, run } => w.killed(container as usize, run, env),
            PodStep::Retry { container } => w.retry(container as usize, env),
            PodStep::Terminated => w.termination_done(env),
        });
    }

    /// Writes the pod's status from its worker (the status manager).
    fn post_pod_status(&mut self, ctx: &mut Context<'_>, uid: &Arc<str>) {
        let Some(w) = self.workers.get(uid) else { return };
        let Ok(mut pod) = ctx.api.get_as::<Pod>(Some(&w.namespace), &w.name) else { return };
        if pod.metadata.uid.as_deref() != Some(&**uid) {
            return;
        }
        let epoch = ctx.api.epoch();
        let now = epoch.time(ctx.now());
        let ready = w.all_ready();
        let unready = w.unready();
        let cond = |ty: &str, ok: bool, not_ok_reason: &str| PodCondition {
            type_: ty.into(),
            status: if ok { "True" } else { "False" }.into(),
            last_transition_time: Some(now.clone()),
            reason: (!ok).then(|| not_ok_reason.to_string()),
            message: (!ok).then(|| format!("containers with unready status: [{}]", unready.join(" "))),
            ..Default::default()
        };
        let host_ip = self.internal_ip();
        let ip = w.ip.to_string();
        let phase = w.phase();
        let (statuses, init_statuses) = w.container_statuses(epoch);
        let uninitialized = w.uninitialized();
        let started = epoch.time(w.started_at);
        let status = pod.status.get_or_insert_with(Default::default);
        status.phase = Some(phase.into());
        status.host_ip = Some(host_ip.clone());
        status.host_ips = Some(vec![HostIP { ip: host_ip }]);
        status.pod_ip = Some(ip.clone());
        status.pod_ips = Some(vec![PodIP { ip }]);
        status.start_time.get_or_insert(started);
        status.container_statuses = Some(statuses);
        status.init_container_statuses = (!init_statuses.is_empty()).then_some(init_statuses);
        let terminal = phase == "Succeeded" || phase == "Failed";
        podutil::set_pod_condition(&mut pod, cond("PodReadyToStartContainers", !terminal, ""));
        // Initialized (status generate.go GeneratePodInitializedCondition).
        podutil::set_pod_condition(
            &mut pod,
            PodCondition {
                message: (!uninitialized.is_empty())
                    .then(|| format!("containers with incomplete status: [{}]", uninitialized.join(" "))),
                ..cond("Initialized", uninitialized.is_empty(), "ContainersNotInitialized")
            },
        );
        // A finished pod's containers are not ready, with reason PodCompleted (status generate.go).
        let reason = if terminal { "PodCompleted" } else { "ContainersNotReady" };
        podutil::set_pod_condition(&mut pod, cond("ContainersReady", ready, reason));
        podutil::set_pod_condition(&mut pod, cond("Ready", ready, reason));
        order_conditions_as_kubelet(&mut pod);
        let _ = ctx.api.update_status_as(pod);
    }
}

/// The order a kubelet's status update leaves the conditions in (status manager
/// `mergePodStatus`): conditions the kubelet does not own (DisruptionTarget, …) first, then its
/// own as `generateAPIPodStatus` appends them — PodReadyToStartContainers, Initialized, Ready,
/// ContainersReady, PodScheduled.
fn order_conditions_as_kubelet(pod: &mut Pod) {
    const KUBELET_OWNED: [&str; 5] =
        ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
    if let Some(conds) = pod.status.as_mut().and_then(|s| s.conditions.as_mut()) {
        conds.sort_by_key(|c| KUBELET_OWNED.iter().position(|k| *k == c.type_).map_or(0, |i| i + 1));
    }
}

/// The InternalIP of the `index`-th node (192.168.0.10, 192.168.0.11, …).
pub fn node_address(index: usize) -> Ipv4Addr {
    let i = index as u32 + 10;
    Ipv4Addr::new(192, 168, (i >> 8) as u8, (i & 0xff) as u8)
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

impl Kubelet {
    /// Feeds one input to every worker (power and process faults).
    fn for_each_worker(&mut self, ctx: &mut Context<'_>, f: impl Fn(&mut PodWorker, &mut Env<'_>)) {
        let uids: Vec<Arc<str>> = self.workers.keys().cloned().collect();
        for uid in uids {
            self.with_worker(ctx, &uid, &f);
        }
    }
}

impl Component for Kubelet {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start if self.cfg.powered_on => {
                self.powered = true;
                self.machine_boots += 1;
                ctx.net.node_up(&self.cfg.node_name, self.node_ip());
                self.start(ctx);
            }
            Event::Fault(Fault::PowerOff) if self.powered => {
                self.powered = false;
                ctx.net.node_down(&self.cfg.node_name);
                if self.running {
                    self.stop(ctx);
                }
                let now = ctx.now();
                for w in self.workers.values_mut() {
                    w.machine_died(now);
                }
            }
            Event::Fault(Fault::PowerOn) if !self.powered => {
                self.powered = true;
                self.machine_boots += 1;
                ctx.net.node_up(&self.cfg.node_name, self.node_ip());
                self.start(ctx);
                self.for_each_worker(ctx, |w, env| w.reboot(env));
            }
            Event::Fault(Fault::StopKubelet) if self.running => self.stop(ctx),
            Event::Fault(
                f @ (Fault::MemoryPressure
                | Fault::MemoryRelieved
                | Fault::DiskPressure
                | Fault::DiskRelieved
                | Fault::PidPressure
                | Fault::PidRelieved),
            ) => {
                let on = matches!(f, Fault::MemoryPressure | Fault::DiskPressure | Fault::PidPressure);
                match f {
                    Fault::MemoryPressure | Fault::MemoryRelieved => self.pressure.memory = on,
                    Fault::DiskPressure | Fault::DiskRelieved => self.pressure.disk = on,
                    _ => self.pressure.pid = on,
                }
                if self.running {
                    // The status loop's next beat sees the new conditions.
                    let next = self.status_tick_after(ctx.now());
                    self.arm_status_tick(ctx, next);
                }
            }
            Event::Fault(Fault::StartKubelet) if self.powered && !self.running => {
                self.start(ctx);
                self.for_each_worker(ctx, |w, env| w.resume(env));
            }
            Event::Fault(Fault::Heal) if self.running => {
                // The watch was cut with the network: list again and post what changed.
                self.relist(ctx);
                self.maybe_post_status(ctx, true);
                let uids: Vec<Arc<str>> = self.workers.keys().cloned().collect();
                for uid in uids {
                    self.post_pod_status(ctx, &uid);
                }
            }
            Event::Timer(Timer::LeaseRenew { boot }) if boot == self.boot && self.running => {
                self.renew_lease(ctx);
                ctx.after(self.cfg.lease_renew_interval, Event::Timer(Timer::LeaseRenew { boot }));
            }
            Event::Timer(Timer::NodeStatus { boot })
                if boot == self.boot && self.running && ctx.now() == self.status_tick_at =>
            {
                self.status_tick_at = SimTime::MAX;
                self.maybe_post_status(ctx, false);
                let next = self.next_status_tick(ctx.now());
                self.arm_status_tick(ctx, next);
            }
            Event::Timer(Timer::PodStep { uid, step, boot }) if boot == self.boot && self.running => {
                self.pod_step(ctx, uid, step);
            }
            Event::Watch(ev) if self.running => {
                let Some(inf) = self.pods.as_mut() else { return };
                if !inf.owns(&ev) {
                    return;
                }
                inf.apply(&ev);
                if ev.kind == WatchEventType::Deleted {
                    // Gone from the API while its containers still run (a force delete, an
                    // etcd restore): HandlePodRemoves kills them.
                    let running = self.workers.get(ev.object.uid()).map(|w| w.running_containers());
                    let mirror = ev.object.as_type::<Pod>().is_some_and(Self::is_mirror);
                    for c in running.into_iter().flatten().filter(|_| !mirror) {
                        record_event(
                            ctx,
                            self.reporter(),
                            &ev.object,
                            "Normal",
                            "Killing",
                            format!("Stopping container {c}"),
                        );
                    }
                    self.forget(ctx, ev.object.uid());
                    if ev.object.as_type::<Pod>().is_some_and(Self::is_mirror) {
                        self.ensure_mirror_pods(ctx);
                    }
                } else {
                    self.sync_pod(ctx, &ev.object);
                }
            }
            _ => {}
        }
    }
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
