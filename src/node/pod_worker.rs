//! One pod on one node, as the kubelet's pod worker, container runtime manager and prober see it
//! (pkg/kubelet/pod_workers.go, kuberuntime/kuberuntime_manager.go, prober/).
//!
//! The worker is plain logic: every input (a timer, the pod being deleted) returns [`Effect`]s —
//! events to record, timers to arm, "status changed", "delete me" — that the kubelet carries
//! out. Modelled:
//! - containers start in order, one image pull at a time (`serializeImagePulls: true`); an image
//!   on the node is used as is unless `imagePullPolicy: Always`, which only resolves the manifest;
//!   a missing image gives ErrImagePull, then ImagePullBackOff while the 10s→300s back-off runs;
//! - a container exits as its scenario behaviour says (exit code, crash, OOM kill) and is
//!   restarted per `restartPolicy`: the first restart at once, then after 10s, 20s, … 300s
//!   (CrashLoopBackOff), the back-off forgotten after 10 minutes without trouble;
//! - startup, liveness and readiness probes tick every `periodSeconds` from the first tick at or
//!   after `initialDelaySeconds` (at least one period after the start), count
//!   `successThreshold` / `failureThreshold`, gate each other as upstream (startup first), and
//!   liveness or startup failure kills the container, which then exits with 143 (SIGTERM);
//! - deletion: SIGTERM to every running container, exit within the grace period, final delete;
//! - init containers run one at a time before the app containers, each to a successful exit
//!   (a failed one is restarted with the crash back-off, or fails the pod under
//!   `restartPolicy: Never`); sidecars (init containers with `restartPolicy: Always`) start in
//!   their turn, keep running and are restarted whatever the pod's policy; an init container
//!   with no scenario behaviour finishes successfully [`DEFAULT_INIT_RUN`] after it starts;
//! - the pod phase follows kubelet's `getPhase`.
//!
//! Simplified: ephemeral containers are not run; a container stops `container_stop_time` after
//! SIGTERM (bounded by the grace period), sidecars at the same time as the app containers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, Probe,
};

use super::backoff::Backoff;
use super::behavior::{behavior_for, Behavior, BehaviorRule, Exit};
use super::kubelet::{normalize_image, KubeletConfig};
use crate::api::time::Epoch;
use crate::network::ContainerNet;
use crate::node::kube_proxy::rules::Protocol;
use crate::sim::{PodStep, ProbeKind, SimDuration, SimTime};

/// What the kubelet must do after the worker handled an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Record a Kubernetes Event about the pod.
    Event { type_: &'static str, reason: &'static str, message: String },
    /// Arm a timer for this pod.
    After { delay: SimDuration, step: PodStep },
    /// The pod's status changed: post it.
    StatusChanged,
    /// Every container is gone after deletion: delete the pod object (grace 0, UID-guarded).
    FinalDelete,
}

/// How long an init container runs when the scenario says nothing about it.
pub const DEFAULT_INIT_RUN: SimDuration = SimDuration::from_secs(1);

/// Which list of the pod spec a container comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// `initContainers`: must exit 0 before the next container starts.
    Init,
    /// `initContainers` with `restartPolicy: Always`: started in order, kept running.
    Sidecar,
    /// `containers`.
    App,
}

/// How the kubelet's pod sync loop re-syncs a pod after an error (pod worker back-off).
pub const RESYNC_AFTER_ERROR: SimDuration = SimDuration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Waiting { reason: String, message: Option<String> },
    Running { since: SimTime },
    Terminated { exit_code: i32, reason: String, started: SimTime, finished: SimTime },
}

#[derive(Clone, Debug)]
struct ProbeState {
    successes: i32,
    failures: i32,
}

#[derive(Clone, Debug)]
struct ContainerWorker {
    role: Role,
    spec: Container,
    behavior: Behavior,
    state: State,
    last_terminated: Option<State>,
    /// Incremented at every start; timers carry it so stale ones are ignored.
    run: u32,
    restart_count: i32,
    /// Has been started at least once.
    ever_started: bool,
    ready: bool,
    startup_passed: bool,
    probes: BTreeMap<ProbeKind, ProbeState>,
    crash_backoff: Backoff,
    pull_backoff: Backoff,
    last_pull_failure: Option<SimTime>,
    /// A liveness/startup kill is under way.
    killing: bool,
}

impl ContainerWorker {
    fn probe(&self, kind: ProbeKind) -> Option<&Probe> {
        match kind {
            ProbeKind::Startup => self.spec.startup_probe.as_ref(),
            ProbeKind::Liveness => self.spec.liveness_probe.as_ref(),
            ProbeKind::Readiness => self.spec.readiness_probe.as_ref(),
        }
    }
    fn running_since(&self) -> Option<SimTime> {
        match self.state {
            State::Running { since } => Some(since),
            _ => None,
        }
    }
    /// The run's own end: the scenario behaviour, or for an init container without one a
    /// successful exit after [`DEFAULT_INIT_RUN`].
    fn planned_exit(&self) -> Option<(SimDuration, Exit)> {
        self.behavior.exit().or((self.role == Role::Init).then_some((DEFAULT_INIT_RUN, Exit::Code(0))))
    }
    /// An init container that exited 0.
    fn completed(&self) -> bool {
        matches!(self.state, State::Terminated { exit_code: 0, .. })
    }
}

/// Inputs the worker reads from its kubelet.
pub struct Env<'a> {
    pub now: SimTime,
    pub cfg: &'a KubeletConfig,
    /// Images on the node (normalized name → size).
    pub images: &'a mut BTreeMap<String, i64>,
    /// Images the registry does not have (normalized names).
    pub missing_images: &'a BTreeSet<String>,
    pub out: Vec<Effect>,
}

impl Env<'_> {
    fn event(&mut self, type_: &'static str, reason: &'static str, message: String) {
        self.out.push(Effect::Event { type_, reason, message });
    }
    fn after(&mut self, delay: SimDuration, step: PodStep) {
        self.out.push(Effect::After { delay, step });
    }
    fn changed(&mut self) {
        if !self.out.contains(&Effect::StatusChanged) {
            self.out.push(Effect::StatusChanged);
        }
    }
}

/// One pod's worker.
pub struct PodWorker {
    pub uid: Arc<str>,
    pub namespace: String,
    pub name: String,
    pub ip: Ipv4Addr,
    restart_policy: String,
    containers: Vec<ContainerWorker>,
    /// Containers not yet started for the first time are started in order from here.
    next_first_start: usize,
    /// A container start or image pull is in flight (pulls are serialized).
    busy: bool,
    pub started_at: SimTime,
    pub terminating: bool,
    termination_grace: SimDuration,
}

impl PodWorker {
    pub fn new(pod: &Pod, ip: Ipv4Addr, rules: &[BehaviorRule], now: SimTime) -> PodWorker {
        let spec = pod.spec.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let labels = pod.metadata.labels.as_ref();
        let has_init = spec.init_containers.as_ref().is_some_and(|i| !i.is_empty());
        let init = spec.init_containers.iter().flatten().map(|c| {
            let role = if c.restart_policy.as_deref() == Some("Always") { Role::Sidecar } else { Role::Init };
            (role, c)
        });
        let containers = init
            .chain(spec.containers.iter().map(|c| (Role::App, c)))
            .map(|(role, c)| ContainerWorker {
                role,
                behavior: behavior_for(rules, &ns, labels, &c.name).cloned().unwrap_or_default(),
                spec: c.clone(),
                // Not yet created: the kubelet's default waiting reason, PodInitializing for the
                // app containers of a pod with init containers (kubelet_pods.go).
                state: State::Waiting {
                    reason: if role == Role::App && has_init {
                        "PodInitializing"
                    } else {
                        "ContainerCreating"
                    }
                    .into(),
                    message: None,
                },
                last_terminated: None,
                run: 0,
                restart_count: 0,
                ever_started: false,
                ready: false,
                startup_passed: c.startup_probe.is_none(),
                probes: BTreeMap::new(),
                crash_backoff: Backoff::default(),
                pull_backoff: Backoff::default(),
                last_pull_failure: None,
                killing: false,
            })
            .collect();
        PodWorker {
            uid: Arc::from(pod.metadata.uid.clone().unwrap_or_default()),
            namespace: ns,
            name: pod.metadata.name.clone().unwrap_or_default(),
            ip,
            restart_policy: spec.restart_policy.clone().unwrap_or_else(|| "Always".into()),
            containers,
            next_first_start: 0,
            busy: false,
            started_at: now,
            terminating: false,
            termination_grace: SimDuration::ZERO,
        }
    }

    fn pod_ref(&self) -> String {
        format!("{}_{}({})", self.name, self.namespace, self.uid)
    }

    /// The sockets of the containers running now (for the data plane, [`crate::network`]).
    pub fn listening(&self) -> Vec<ContainerNet> {
        self.containers
            .iter()
            .filter_map(|c| {
                let since = c.running_since()?;
                let ports = c
                    .spec
                    .ports
                    .iter()
                    .flatten()
                    .filter_map(|p| {
                        let protocol = Protocol::parse(p.protocol.as_deref().unwrap_or("TCP"))?;
                        Some((u16::try_from(p.container_port).ok()?, protocol))
                    })
                    .collect();
                Some(ContainerNet {
                    ports,
                    serving_from: since + c.behavior.serves_after.unwrap_or(SimDuration::ZERO),
                })
            })
            .collect()
    }

    /// The pod was admitted: post the initial status and start the first container.
    pub fn admit(&mut self, env: &mut Env<'_>) {
        env.changed();
        self.start_next(env);
    }

    /// Starts the next container that has never run (pulling its image first if needed).
    fn start_next(&mut self, env: &mut Env<'_>) {
        if self.busy || self.terminating || self.next_first_start >= self.containers.len() {
            return;
        }
        let i = self.next_first_start;
        // Init containers go one at a time (kuberuntime computeInitContainerActions): the next
        // container waits for every earlier init container to have exited 0 and every earlier
        // sidecar to have started (startup probe passed).
        let blocked = self.containers[..i].iter().any(|c| match c.role {
            Role::Init => !c.completed(),
            Role::Sidecar => c.running_since().is_none() || !c.startup_passed,
            Role::App => false,
        });
        if blocked {
            return;
        }

        self.next_first_start += 1;
        self.ensure_image_then_start(i, env);
    }

    fn ensure_image_then_start(&mut self, i: usize, env: &mut Env<'_>) {
        let c = &self.containers[i];
        let image = c.spec.image.clone().unwrap_or_default();
        let key = normalize_image(&image);
        let policy = c.spec.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
        let present = env.images.contains_key(&key);
        let step = PodStep::PullDone { container: i as u16 };
        self.busy = true;
        if present && policy != "Always" {
            env.event("Normal", "Pulled", format!("Container image {image:?} already present on machine"));
            env.after(env.cfg.container_start_time, PodStep::Started { container: i as u16 });
        } else if policy == "Never" {
            self.busy = false;
            let msg = format!("Container image {image:?} is not present with pull policy of Never");
            env.event("Warning", "ErrImageNeverPull", msg.clone());
            self.containers[i].state =
                State::Waiting { reason: "ErrImageNeverPull".into(), message: Some(msg) };
            env.changed();
            self.start_next(env);
        } else {
            env.event("Normal", "Pulling", format!("Pulling image {image:?}"));
            // A missing image fails at manifest resolution; a present one only resolves it.
            let delay = if env.missing_images.contains(&key) || present {
                env.cfg.manifest_check_time
            } else {
                let size = env.images.get(&key).copied().unwrap_or(env.cfg.default_image_size).max(0) as u64;
                SimDuration::from_millis(
                    size.saturating_mul(1000) / env.cfg.image_pull_bytes_per_second.max(1) as u64,
                )
            };
            env.after(delay, step);
        }
    }

    /// An image pull finished.
    pub fn pull_done(&mut self, i: usize, env: &mut Env<'_>) {
        let Some(c) = self.containers.get_mut(i) else { return };
        self.busy = false;
        if self.terminating {
            return;
        }
        let image = c.spec.image.clone().unwrap_or_default();
        let key = normalize_image(&image);
        if env.missing_images.contains(&key) {
            let now = env.now;
            c.pull_backoff.next(now, now);
            c.last_pull_failure = Some(now);
            let msg = format!(
                "Failed to pull image {image:?}: rpc error: code = NotFound desc = failed to pull and unpack image {key:?}: failed to resolve reference {key:?}: {key}: not found"
            );
            env.event("Warning", "Failed", msg);
            env.event("Warning", "Failed", "Error: ErrImagePull".into());
            c.state = State::Waiting {
                reason: "ErrImagePull".into(),
                message: Some(format!("failed to pull and unpack image {key:?}: {key}: not found")),
            };
            env.changed();
            env.after(RESYNC_AFTER_ERROR, PodStep::Retry { container: i as u16 });
            self.start_next(env);
            return;
        }
        let present = env.images.contains_key(&key);
        let size = env.images.get(&key).copied().unwrap_or(env.cfg.default_image_size);
        let took = if present {
            env.cfg.manifest_check_time
        } else {
            SimDuration::from_millis(
                (size.max(0) as u64).saturating_mul(1000) / env.cfg.image_pull_bytes_per_second.max(1) as u64,
            )
        }
        .go_string();
        env.images.insert(key, size);
        env.event(
            "Normal",
            "Pulled",
            format!("Successfully pulled image {image:?} in {took} ({took} including waiting). Image size: {size} bytes."),
        );
        self.busy = true;
        env.after(env.cfg.container_start_time, PodStep::Started { container: i as u16 });
    }

    /// A container was created and started.
    pub fn started(&mut self, i: usize, env: &mut Env<'_>) {
        self.busy = false;
        let now = env.now;
        let Some(c) = self.containers.get_mut(i) else { return };
        if self.terminating {
            return;
        }
        if c.ever_started {
            c.restart_count += 1;
        }
        c.ever_started = true;
        c.run += 1;
        c.state = State::Running { since: now };
        c.ready = false;
        c.startup_passed = c.spec.startup_probe.is_none();
        c.killing = false;
        c.probes.clear();
        let name = c.spec.name.clone();
        env.event("Normal", "Created", format!("Created container: {name}"));
        env.event("Normal", "Started", format!("Started container {name}"));
        let run = c.run;
        if let Some((delay, _)) = c.planned_exit() {
            env.after(delay, PodStep::Exited { container: i as u16, run });
        }
        // Regular init containers are not probed.
        let probed = c.role != Role::Init;
        for kind in [ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness] {
            if let Some(p) = c.probe(kind).filter(|_| probed) {
                let period = SimDuration::from_secs(p.period_seconds.unwrap_or(10).max(1) as u64);
                let delay = SimDuration::from_secs(p.initial_delay_seconds.unwrap_or(0).max(0) as u64);
                let ticks = delay.as_millis().div_ceil(period.as_millis()).max(1);
                env.after(
                    SimDuration(period.as_millis() * ticks),
                    PodStep::Probe { container: i as u16, kind, run },
                );
            }
        }
        env.changed();
        self.start_next(env);
    }

    /// A container's run ended (its own exit, OOM kill, or a kill by the kubelet).
    fn exited(&mut self, i: usize, exit_code: i32, reason: &str, env: &mut Env<'_>) {
        let now = env.now;
        let c = &mut self.containers[i];
        let started = c.running_since().unwrap_or(now);
        c.state = State::Terminated { exit_code, reason: reason.into(), started, finished: now };
        c.ready = false;
        c.killing = false;
        env.changed();
        if self.terminating {
            self.maybe_finished(env);
            return;
        }
        let role = c.role;
        let restart = match (role, self.restart_policy.as_str()) {
            (Role::Sidecar, _) => true,
            (Role::Init, "Never") => false,
            (Role::Init, _) => exit_code != 0,
            (Role::App, "Never") => false,
            (Role::App, "OnFailure") => exit_code != 0,
            (Role::App, _) => true,
        };
        if restart {
            self.restart_or_back_off(i, env);
        } else if role == Role::Init && exit_code == 0 {
            self.start_next(env);
        }
    }

    /// Restart now, or wait out the crash back-off (CrashLoopBackOff).
    fn restart_or_back_off(&mut self, i: usize, env: &mut Env<'_>) {
        let now = env.now;
        let pod_ref = self.pod_ref();
        let c = &mut self.containers[i];
        let State::Terminated { finished, .. } = c.state.clone() else { return };
        let name = c.spec.name.clone();
        if c.crash_backoff.in_backoff_since(finished, now) {
            let wait = c.crash_backoff.current();
            c.last_terminated = Some(c.state.clone());
            c.state = State::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: Some(format!(
                    "back-off {} restarting failed container={name} pod={pod_ref}",
                    wait.go_string()
                )),
            };
            env.event(
                "Warning",
                "BackOff",
                format!("Back-off restarting failed container {name} in pod {pod_ref}"),
            );
            env.changed();
            env.after(c.crash_backoff.until(finished).since(now), PodStep::Retry { container: i as u16 });
            return;
        }
        c.crash_backoff.next(finished, now);
        c.last_terminated = Some(c.state.clone());
        self.busy = true;
        self.ensure_image_then_start(i, env);
    }

    /// A back-off or re-sync timer fired for container `i`.
    pub fn retry(&mut self, i: usize, env: &mut Env<'_>) {
        if self.terminating || i >= self.containers.len() {
            return;
        }
        let now = env.now;
        let c = &mut self.containers[i];
        match c.state.clone() {
            State::Waiting { reason, .. } if reason == "ErrImagePull" || reason == "ImagePullBackOff" => {
                let failed = c.last_pull_failure.unwrap_or(now);
                if c.pull_backoff.in_backoff_since(failed, now) {
                    let image = c.spec.image.clone().unwrap_or_default();
                    c.state = State::Waiting {
                        reason: "ImagePullBackOff".into(),
                        message: Some(format!("Back-off pulling image {image:?}")),
                    };
                    env.event("Normal", "BackOff", format!("Back-off pulling image {image:?}"));
                    env.event("Warning", "Failed", "Error: ImagePullBackOff".into());
                    env.changed();
                    let until = c.pull_backoff.until(failed);
                    env.after(until.since(now), PodStep::Retry { container: i as u16 });
                } else if !self.busy {
                    self.ensure_image_then_start(i, env);
                } else {
                    env.after(SimDuration::from_secs(1), PodStep::Retry { container: i as u16 });
                }
            }
            State::Waiting { reason, .. } if reason == "CrashLoopBackOff" => {
                if let Some(State::Terminated { finished, .. }) = c.last_terminated.clone() {
                    c.crash_backoff.next(finished, now);
                }
                self.busy = true;
                self.ensure_image_then_start(i, env);
            }
            _ => {}
        }
    }

    /// The container's own end (behaviour) is due.
    pub fn self_exit(&mut self, i: usize, run: u32, env: &mut Env<'_>) {
        let Some(c) = self.containers.get(i) else { return };
        if c.run != run || c.running_since().is_none() || c.killing {
            return;
        }
        match c.planned_exit().map(|(_, how)| how) {
            Some(Exit::OomKilled) => self.exited(i, 137, "OOMKilled", env),
            Some(Exit::Code(code)) => {
                self.exited(i, code, if code == 0 { "Completed" } else { "Error" }, env)
            }
            None => {}
        }
    }

    /// A probe tick for container `i`.
    pub fn probe(&mut self, i: usize, kind: ProbeKind, run: u32, env: &mut Env<'_>) {
        let now = env.now;
        let ip = self.ip;
        let Some(c) = self.containers.get_mut(i) else { return };
        let Some(since) = c.running_since() else { return };
        if c.run != run || c.killing || self.terminating {
            return;
        }
        let Some(probe) = c.probe(kind).cloned() else { return };
        let period = SimDuration::from_secs(probe.period_seconds.unwrap_or(10).max(1) as u64);
        // The startup probe gates the others; once it passed it stops.
        let active = match kind {
            ProbeKind::Startup => !c.startup_passed,
            _ => c.startup_passed,
        };
        if !active {
            if kind != ProbeKind::Startup {
                env.after(period, PodStep::Probe { container: i as u16, kind, run });
            }
            return;
        }
        // A network probe (HTTP, TCP, gRPC) reaches the process's socket: until the process
        // accepts connections (`servesAfter`) the connection is refused.
        let network_probe = probe.exec.is_none();
        let refused = network_probe && c.behavior.serves_after.is_some_and(|d| now.since(since) < d);
        let failing = refused
            || match kind {
                ProbeKind::Startup => c.behavior.startup_delay.is_some_and(|d| now.since(since) < d),
                ProbeKind::Liveness => {
                    c.behavior.liveness_failure.as_ref().is_some_and(|f| f.fails(since, now))
                }
                ProbeKind::Readiness => {
                    c.behavior.readiness_failure.as_ref().is_some_and(|f| f.fails(since, now))
                }
            };
        let success_threshold = probe.success_threshold.unwrap_or(1).max(1);
        let failure_threshold = probe.failure_threshold.unwrap_or(3).max(1);
        let state = c.probes.entry(kind).or_insert(ProbeState { successes: 0, failures: 0 });
        let name = c.spec.name.clone();
        if failing {
            state.failures += 1;
            state.successes = 0;
            env.event(
                "Warning",
                "Unhealthy",
                format!("{} probe failed: {}", kind.title(), probe_failure_message(&probe, ip, refused)),
            );
        } else {
            state.successes += 1;
            state.failures = 0;
        }
        let (successes, failures) = (state.successes, state.failures);
        match kind {
            ProbeKind::Startup if !failing => {
                c.startup_passed = true;
                env.changed();
                if c.role == Role::Sidecar {
                    // The next container waited for this sidecar to have started.
                    env.after(period, PodStep::Probe { container: i as u16, kind, run });
                    self.start_next(env);
                    return;
                }
            }
            ProbeKind::Readiness => {
                let ready = if failing {
                    failures < failure_threshold && c.ready
                } else {
                    c.ready || successes >= success_threshold
                };
                if ready != c.ready {
                    c.ready = ready;
                    env.changed();
                }
            }
            ProbeKind::Startup | ProbeKind::Liveness if failing && failures >= failure_threshold => {
                c.killing = true;
                env.event(
                    "Normal",
                    "Killing",
                    format!("Container {name} failed {} probe, will be restarted", kind.lower()),
                );
                let grace = probe
                    .termination_grace_period_seconds
                    .map_or(self.termination_grace, |g| SimDuration::from_secs(g.max(0) as u64));
                env.after(
                    env.cfg.container_stop_time.min(grace.max(SimDuration::from_millis(1))),
                    PodStep::Killed { container: i as u16, run },
                );
                return;
            }
            _ => {}
        }
        env.after(period, PodStep::Probe { container: i as u16, kind, run });
    }

    /// A container killed by the kubelet (failed liveness/startup probe) stopped.
    pub fn killed(&mut self, i: usize, run: u32, env: &mut Env<'_>) {
        let Some(c) = self.containers.get(i) else { return };
        if c.run != run || c.running_since().is_none() {
            return;
        }
        // Default action of SIGTERM: exit status 128 + 15.
        self.exited(i, 143, "Error", env);
    }

    /// Whether `pod` names another image for one of the containers than the one running.
    pub fn images_differ(&self, pod: &k8s_openapi::api::core::v1::Pod) -> bool {
        let Some(spec) = pod.spec.as_ref() else { return false };
        self.containers.iter().any(|c| {
            spec.containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .any(|n| n.name == c.spec.name && n.image != c.spec.image)
        })
    }

    /// The pod's spec was updated. A container's image is the one field a Pod's update may
    /// change (`kubectl set image pod/…`): a running container whose image changed is killed and
    /// started again with it (computePodActions: "Container X definition changed, will be
    /// restarted"); one waiting on an image that cannot be pulled tries the new one at once
    /// (pull back-off is per image).
    pub fn spec_updated(&mut self, pod: &k8s_openapi::api::core::v1::Pod, env: &mut Env<'_>) {
        let Some(spec) = pod.spec.as_ref() else { return };
        if self.terminating {
            return;
        }
        for i in 0..self.containers.len() {
            let c = &self.containers[i];
            let list = if c.role == Role::App {
                &spec.containers[..]
            } else {
                spec.init_containers.as_deref().unwrap_or(&[])
            };
            let Some(new) = list.iter().find(|n| n.name == c.spec.name) else { continue };
            if new.image == c.spec.image {
                continue;
            }
            let c = &mut self.containers[i];
            c.spec.image = new.image.clone();
            let name = c.spec.name.clone();
            if c.running_since().is_some() && !c.killing {
                c.killing = true;
                env.event(
                    "Normal",
                    "Killing",
                    format!("Container {name} definition changed, will be restarted"),
                );
                env.after(env.cfg.container_stop_time, PodStep::Killed { container: i as u16, run: c.run });
            } else if matches!(&c.state, State::Waiting { reason, .. } if reason == "ErrImagePull" || reason == "ImagePullBackOff")
            {
                c.pull_backoff = Backoff::default();
                c.last_pull_failure = None;
                if self.busy {
                    env.after(SimDuration::from_secs(1), PodStep::Retry { container: i as u16 });
                } else {
                    self.ensure_image_then_start(i, env);
                }
            }
        }
    }

    /// Names of the containers running now.
    pub fn running_containers(&self) -> Vec<String> {
        self.containers.iter().filter(|c| c.running_since().is_some()).map(|c| c.spec.name.clone()).collect()
    }

    /// The pod was deleted (deletionTimestamp set): SIGTERM every running container.
    pub fn terminate(&mut self, grace: SimDuration, env: &mut Env<'_>) {
        if self.terminating {
            return;
        }
        self.terminating = true;
        self.termination_grace = grace;
        // The slowest running process decides; none outlives the grace period.
        let mut slowest: Option<SimDuration> = None;
        for c in &self.containers {
            if c.running_since().is_some() {
                let stop = c.behavior.stop_after.unwrap_or(env.cfg.container_stop_time);
                slowest = Some(slowest.map_or(stop, |s| s.max(stop)));
                env.event("Normal", "Killing", format!("Stopping container {}", c.spec.name));
            }
        }
        if let Some(stop) = slowest {
            env.after(stop.min(grace), PodStep::Terminated);
        } else {
            env.out.push(Effect::FinalDelete);
        }
    }

    /// The containers have stopped: those that exited on SIGTERM cleanly (0, Completed), those
    /// still running when the grace period ran out killed with SIGKILL (137, Error).
    pub fn termination_done(&mut self, env: &mut Env<'_>) {
        let (grace, default_stop) = (self.termination_grace, env.cfg.container_stop_time);
        for c in &mut self.containers {
            if let State::Running { since } = c.state {
                let killed = c.behavior.stop_after.unwrap_or(default_stop) > grace;
                let (exit_code, reason) = if killed { (137, "Error") } else { (0, "Completed") };
                c.state =
                    State::Terminated { exit_code, reason: reason.into(), started: since, finished: env.now };
                c.ready = false;
            }
        }
        self.maybe_finished(env);
    }

    /// Every running container ends now with `exit_code` and `reason`.
    fn stop_running(&mut self, now: SimTime, exit_code: i32, reason: &str, remember: bool) {
        for c in &mut self.containers {
            if let State::Running { since } = c.state {
                c.state =
                    State::Terminated { exit_code, reason: reason.into(), started: since, finished: now };
                if remember {
                    c.last_terminated = Some(c.state.clone());
                }
                c.ready = false;
            }
        }
    }

    fn maybe_finished(&mut self, env: &mut Env<'_>) {
        if self.terminating && self.containers.iter().all(|c| c.running_since().is_none()) {
            env.out.push(Effect::FinalDelete);
        }
    }

    /// The machine lost power: every running container is gone (reported after the reboot as
    /// terminated with exit code 255, reason Unknown).
    pub fn machine_died(&mut self, now: SimTime) {
        self.busy = false;
        self.stop_running(now, 255, "Unknown", true);
    }

    /// The machine is back: the sandbox is re-created and the containers start again in
    /// order (restart counts go up).
    pub fn reboot(&mut self, env: &mut Env<'_>) {
        env.event(
            "Normal",
            "SandboxChanged",
            "Pod sandbox changed, it will be killed and re-created.".into(),
        );
        if self.terminating {
            env.out.push(Effect::FinalDelete);
            return;
        }
        self.next_first_start = 0;
        self.busy = false;
        env.changed();
        self.start_next(env);
    }

    /// The kubelet process came back while the containers kept running: arm again the timers
    /// the old process held (exits, probes, back-offs, in-flight starts).
    pub fn resume(&mut self, env: &mut Env<'_>) {
        let now = env.now;
        self.busy = false;
        if self.terminating {
            env.after(SimDuration::ZERO, PodStep::Terminated);
            return;
        }
        for i in 0..self.containers.len() {
            let c = &self.containers[i];
            match &c.state {
                State::Running { since } => {
                    let run = c.run;
                    if let Some((d, _)) = c.planned_exit() {
                        env.after((*since + d).since(now), PodStep::Exited { container: i as u16, run });
                    }
                    for kind in [ProbeKind::Startup, ProbeKind::Liveness, ProbeKind::Readiness] {
                        if let Some(p) = c.probe(kind) {
                            let period = SimDuration::from_secs(p.period_seconds.unwrap_or(10).max(1) as u64);
                            env.after(period, PodStep::Probe { container: i as u16, kind, run });
                        }
                    }
                }
                State::Waiting { .. } if c.ever_started || c.last_pull_failure.is_some() => {
                    env.after(SimDuration::ZERO, PodStep::Retry { container: i as u16 });
                }
                State::Waiting { .. } if i < self.next_first_start => {
                    // Its pull or start was in flight in the old process: start over.
                    self.next_first_start = i;
                    break;
                }
                _ => {}
            }
        }
        env.changed();
        self.start_next(env);
    }

    /// Kubelet's `getPhase` for the containers' states (pkg/kubelet/kubelet_pods.go).
    pub fn phase(&self) -> &'static str {
        let (mut pending_init, mut failed_init) = (0, 0);
        for c in self.containers.iter().filter(|c| c.role == Role::Init) {
            match (&c.state, &c.last_terminated) {
                (State::Running { .. }, _) => pending_init += 1,
                (State::Terminated { exit_code, .. }, _)
                | (State::Waiting { .. }, Some(State::Terminated { exit_code, .. })) => {
                    if *exit_code != 0 {
                        failed_init += 1;
                    }
                }
                (State::Waiting { .. }, _) => pending_init += 1,
            }
        }
        if failed_init > 0 && self.restart_policy == "Never" {
            return "Failed";
        }
        let app_started = self.containers.iter().any(|c| c.role == Role::App && c.ever_started);
        if pending_init > 0 && !app_started {
            return "Pending";
        }
        let (mut running, mut stopped, mut succeeded, mut waiting) = (0, 0, 0, 0);
        for c in self.containers.iter().filter(|c| c.role == Role::App) {
            match &c.state {
                State::Running { .. } => running += 1,
                State::Terminated { exit_code, .. } => {
                    stopped += 1;
                    if *exit_code == 0 {
                        succeeded += 1;
                    }
                }
                State::Waiting { .. } if c.last_terminated.is_some() => stopped += 1,
                State::Waiting { .. } => waiting += 1,
            }
        }
        if waiting > 0 {
            "Pending"
        } else if running > 0 {
            "Running"
        } else if stopped > 0 {
            if self.restart_policy == "Always" {
                "Running"
            } else if stopped == succeeded {
                "Succeeded"
            } else if self.restart_policy == "Never" {
                "Failed"
            } else {
                "Running"
            }
        } else {
            "Pending"
        }
    }

    /// The containers whose readiness counts: app containers and sidecars.
    fn serving(&self) -> impl Iterator<Item = &ContainerWorker> {
        self.containers.iter().filter(|c| c.role != Role::Init)
    }

    /// Whether every container is ready (ContainersReady / Ready conditions).
    pub fn all_ready(&self) -> bool {
        self.serving().next().is_some() && self.serving().all(|c| self.container_ready(c))
    }

    /// Init containers not done yet (regular ones that have not exited 0, sidecars that have
    /// not started): the `Initialized` condition is False while there are any.
    pub fn uninitialized(&self) -> Vec<String> {
        self.containers
            .iter()
            .filter(|c| match c.role {
                Role::Init => !c.completed(),
                Role::Sidecar => !c.ever_started,
                Role::App => false,
            })
            .map(|c| c.spec.name.clone())
            .collect()
    }

    fn container_ready(&self, c: &ContainerWorker) -> bool {
        c.running_since().is_some() && c.startup_passed && (c.spec.readiness_probe.is_none() || c.ready)
    }

    /// Names of containers that are not ready.
    pub fn unready(&self) -> Vec<String> {
        self.serving().filter(|c| !self.container_ready(c)).map(|c| c.spec.name.clone()).collect()
    }

    /// `status.containerStatuses` and `status.initContainerStatuses`.
    pub fn container_statuses(&self, epoch: Epoch) -> (Vec<ContainerStatus>, Vec<ContainerStatus>) {
        let convert = |s: &State| -> ContainerState {
            match s {
                State::Waiting { reason, message } => ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some(reason.clone()),
                        message: message.clone(),
                    }),
                    ..Default::default()
                },
                State::Running { since } => ContainerState {
                    running: Some(ContainerStateRunning { started_at: Some(epoch.time(*since)) }),
                    ..Default::default()
                },
                State::Terminated { exit_code, reason, started, finished } => ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: *exit_code,
                        reason: Some(reason.clone()),
                        started_at: Some(epoch.time(*started)),
                        finished_at: Some(epoch.time(*finished)),
                        container_id: None,
                        message: None,
                        signal: None,
                    }),
                    ..Default::default()
                },
            }
        };
        let status = |c: &ContainerWorker| {
            let image = normalize_image(c.spec.image.as_deref().unwrap_or(""));
            let id = |run: u32| {
                format!(
                    "containerd://{:016x}{:016x}",
                    crate::sim::hash::hash_str(&self.uid),
                    crate::sim::hash::hash_str(&format!("{}/{run}", c.spec.name))
                )
            };
            ContainerStatus {
                name: c.spec.name.clone(),
                image_id: if c.ever_started {
                    format!("{}@sha256:{:064x}", strip_tag(&image), crate::sim::hash::hash_str(&image))
                } else {
                    String::new()
                },
                image,
                container_id: c.ever_started.then(|| id(c.run)),
                ready: self.container_ready(c),
                started: Some(c.running_since().is_some() && c.startup_passed),
                restart_count: c.restart_count,
                state: Some(convert(&c.state)),
                last_state: c.last_terminated.as_ref().map(convert),
                ..Default::default()
            }
        };
        let (init, app): (Vec<&ContainerWorker>, Vec<&ContainerWorker>) =
            self.containers.iter().partition(|c| c.role != Role::App);
        (app.into_iter().map(status).collect(), init.into_iter().map(status).collect())
    }
}

fn strip_tag(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

/// What the prober reports for a failing probe, by handler (prober.go).
/// `refused`: nothing listens on the port yet.
fn probe_failure_message(p: &Probe, ip: Ipv4Addr, refused: bool) -> String {
    let port = crate::api::intstr::text;
    if let Some(h) = p.http_get.as_ref().filter(|_| refused) {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let path = h.path.as_deref().unwrap_or("/");
        let port = port(&h.port);
        format!("Get \"{scheme}://{ip}:{port}{path}\": dial tcp {ip}:{port}: connect: connection refused")
    } else if p.http_get.is_some() {
        "HTTP probe failed with statuscode: 500".into()
    } else if let Some(t) = &p.tcp_socket {
        format!("dial tcp {ip}:{}: connect: connection refused", port(&t.port))
    } else if p.grpc.is_some() {
        "rpc error: code = Unknown desc = NOT_SERVING".into()
    } else {
        // An exec probe reports the command's output; the simulated command prints nothing.
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode::decode_documents;
    use crate::api::Object;

    fn pod(yaml_spec: &str) -> Pod {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: default, uid: u1, labels: {{app: a}}}}\nspec: {yaml_spec}\n");
        let mut obj = decode_documents(&text).unwrap().remove(0);
        crate::api::defaults::apply(&mut obj);
        match obj {
            Object::Pod(p) => *p,
            _ => unreachable!(),
        }
    }

    /// Drives a worker through its own timers until `until`, returning the events it recorded
    /// with their times.
    fn drive(
        w: &mut PodWorker,
        cfg: &KubeletConfig,
        missing: &[&str],
        until: SimTime,
    ) -> Vec<(u64, String, String)> {
        let mut images = BTreeMap::new();
        let missing: BTreeSet<String> = missing.iter().map(|m| normalize_image(m)).collect();
        let mut queue: Vec<(SimTime, u64, PodStep)> = Vec::new();
        let mut seq = 0;
        let mut events = Vec::new();
        let mut apply = |out: Vec<Effect>,
                         now: SimTime,
                         queue: &mut Vec<(SimTime, u64, PodStep)>,
                         events: &mut Vec<(u64, String, String)>| {
            for e in out {
                match e {
                    Effect::After { delay, step } => {
                        seq += 1;
                        queue.push((now + delay, seq, step));
                    }
                    Effect::Event { reason, message, .. } => {
                        events.push((now.as_millis() / 1000, reason.to_string(), message))
                    }
                    _ => {}
                }
            }
        };
        let mut env =
            Env { now: SimTime::ZERO, cfg, images: &mut images, missing_images: &missing, out: Vec::new() };
        w.admit(&mut env);
        let out = std::mem::take(&mut env.out);
        apply(out, SimTime::ZERO, &mut queue, &mut events);
        loop {
            queue.sort_by_key(|(t, s, _)| (*t, *s));
            if queue.is_empty() || queue[0].0 > until {
                break;
            }
            let (now, _, step) = queue.remove(0);
            let mut env = Env { now, cfg, images: &mut images, missing_images: &missing, out: Vec::new() };
            match step {
                PodStep::PullDone { container } => w.pull_done(container as usize, &mut env),
                PodStep::Started { container } => w.started(container as usize, &mut env),
                PodStep::Exited { container, run } => w.self_exit(container as usize, run, &mut env),
                PodStep::Probe { container, kind, run } => w.probe(container as usize, kind, run, &mut env),
                PodStep::Killed { container, run } => w.killed(container as usize, run, &mut env),
                PodStep::Retry { container } => w.retry(container as usize, &mut env),
                PodStep::Terminated => w.termination_done(&mut env),
            }
            let out = std::mem::take(&mut env.out);
            apply(out, now, &mut queue, &mut events);
        }
        events
    }

    /// One rule giving every container `behavior`.
    fn rule(behavior: Behavior) -> Vec<BehaviorRule> {
        vec![BehaviorRule {
            selector: crate::api::LabelSelector::everything(),
            namespace: None,
            container: None,
            behavior,
        }]
    }

    fn cfg() -> KubeletConfig {
        let mut c = KubeletConfig::new("n", 1);
        c.default_image_size = 20 << 20; // 1s at 20 MiB/s
        c
    }

    #[test]
    fn crash_loop_backs_off_10_20_40_seconds() {
        let p = pod("{containers: [{name: c, image: app:1}]}");
        let rules = rule(Behavior {
            exit_after: Some(SimDuration::from_secs(5)),
            exit_code: 1,
            ..Default::default()
        });
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &rules, SimTime::ZERO);
        let events = drive(&mut w, &cfg(), &[], SimTime(200_000));
        let started: Vec<u64> = events.iter().filter(|e| e.1 == "Started").map(|e| e.0).collect();
        // Pull 1s + start 1s → runs at 2s, exits at 7s, restarts at once (8s), exits at 13s,
        // waits 10s (+1s start: 24s), exits 29s, waits 20s (50s), exits 55s, waits 40s (96s),
        // exits 101s, waits 80s (182s).
        assert_eq!(started, [2, 8, 24, 50, 96, 182]);
        assert!(events.iter().any(
            |e| e.1 == "BackOff" && e.2 == "Back-off restarting failed container c in pod p_default(u1)"
        ));
        assert_eq!(w.phase(), "Running");
        let st = &w.container_statuses(Epoch::default()).0[0];
        assert_eq!(st.restart_count, 5);
    }

    #[test]
    fn init_containers_run_one_after_the_other_before_the_app() {
        let p = pod("{initContainers: [{name: a, image: busybox:1}, {name: b, image: busybox:1}], containers: [{name: app, image: app:1}]}");
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &[], SimTime::ZERO);
        let events = drive(&mut w, &cfg(), &[], SimTime(60_000));
        let started: Vec<(u64, &str)> = events
            .iter()
            .filter(|(_, r, _)| r == "Started")
            .map(|(t, _, m)| (*t, m.trim_start_matches("Started container ")))
            .collect();
        // In order, each after the previous one ran its DEFAULT_INIT_RUN (1s) and exited.
        let names: Vec<&str> = started.iter().map(|(_, n)| *n).collect();
        assert_eq!(names, vec!["a", "b", "app"]);
        assert!(started[1].0 > started[0].0 && started[2].0 > started[1].0, "{started:?}");
        assert_eq!(w.phase(), "Running");
        assert!(w.uninitialized().is_empty());
        let (app, init) = w.container_statuses(Epoch::default());
        assert_eq!((app.len(), init.len()), (1, 2));
        assert!(init.iter().all(|c| c.state.as_ref().unwrap().terminated.as_ref().unwrap().exit_code == 0));
    }

    #[test]
    fn a_failing_init_container_blocks_the_pod_or_fails_it() {
        for (policy, phase) in [("Always", "Pending"), ("Never", "Failed")] {
            let p = pod(&format!(
                "{{restartPolicy: {policy}, initContainers: [{{name: setup, image: busybox:1}}], containers: [{{name: app, image: app:1}}]}}"
            ));
            let rules = rule(Behavior {
                exit_after: Some(SimDuration::from_secs(2)),
                exit_code: 1,
                ..Default::default()
            });
            let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &rules, SimTime::ZERO);
            let events = drive(&mut w, &cfg(), &[], SimTime(60_000));
            assert_eq!(w.phase(), phase, "restartPolicy {policy}");
            assert_eq!(w.uninitialized(), vec!["setup".to_string()]);
            assert!(
                !events.iter().any(|(_, r, m)| r == "Started" && m.ends_with(" app")),
                "app never starts"
            );
        }
    }

    #[test]
    fn a_sidecar_keeps_running_next_to_the_app_and_counts_for_readiness() {
        let p = pod("{initContainers: [{name: log, image: shipper:1, restartPolicy: Always}], containers: [{name: app, image: app:1}]}");
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &[], SimTime::ZERO);
        drive(&mut w, &cfg(), &[], SimTime(60_000));
        assert_eq!(w.phase(), "Running");
        assert!(w.all_ready());
        let (_, init) = w.container_statuses(Epoch::default());
        assert!(init[0].state.as_ref().unwrap().running.is_some());
    }

    #[test]
    fn jobs_succeed_or_fail_by_exit_code() {
        for (code, policy, phase) in
            [(0, "Never", "Succeeded"), (2, "Never", "Failed"), (0, "OnFailure", "Succeeded")]
        {
            let p = pod(&format!("{{restartPolicy: {policy}, containers: [{{name: c, image: app:1}}]}}"));
            let rules = rule(Behavior {
                exit_after: Some(SimDuration::from_secs(5)),
                exit_code: code,
                ..Default::default()
            });
            let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &rules, SimTime::ZERO);
            drive(&mut w, &cfg(), &[], SimTime(60_000));
            assert_eq!(w.phase(), phase, "exit {code} with {policy}");
        }
    }

    #[test]
    fn missing_images_alternate_err_image_pull_and_back_off() {
        let p = pod("{containers: [{name: c, image: nginx:9.99}]}");
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &[], SimTime::ZERO);
        let events = drive(&mut w, &cfg(), &["nginx:9.99"], SimTime(120_000));
        let reasons: Vec<&str> = events.iter().map(|e| e.1.as_str()).take(8).collect();
        assert_eq!(
            reasons,
            ["Pulling", "Failed", "Failed", "Pulling", "Failed", "Failed", "BackOff", "Failed"]
        );
        assert!(events.iter().any(|e| e.2 == "Error: ImagePullBackOff"));
        assert_eq!(w.phase(), "Pending");
    }

    #[test]
    fn liveness_failures_restart_the_container() {
        let p = pod("{containers: [{name: c, image: app:1, livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 5}}]}");
        let rules = rule(Behavior {
            liveness_failure: Some(super::super::behavior::ProbeFailure {
                after_start: Some(SimDuration::from_secs(20)),
                ..Default::default()
            }),
            ..Default::default()
        });
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &rules, SimTime::ZERO);
        let events = drive(&mut w, &cfg(), &[], SimTime(40_000));
        let unhealthy: Vec<u64> = events.iter().filter(|e| e.1 == "Unhealthy").map(|e| e.0).collect();
        // Started at 2s; probes at 7, 12, 17, 22 (fails), 27, 32 → 3 failures → kill at 32s.
        assert_eq!(unhealthy, [22, 27, 32]);
        assert!(events
            .iter()
            .any(|e| e.1 == "Killing" && e.2 == "Container c failed liveness probe, will be restarted"));
        assert!(events
            .iter()
            .any(|e| e.2 == "Liveness probe failed: HTTP probe failed with statuscode: 500"));
        assert_eq!(w.container_statuses(Epoch::default()).0[0].restart_count, 1);
    }

    #[test]
    fn readiness_follows_thresholds() {
        let p = pod("{containers: [{name: c, image: app:1, readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 10}}]}");
        let rules = rule(Behavior {
            readiness_failure: Some(super::super::behavior::ProbeFailure {
                from: Some(SimTime(60_000)),
                until: Some(SimTime(100_000)),
                ..Default::default()
            }),
            ..Default::default()
        });
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &rules, SimTime::ZERO);
        drive(&mut w, &cfg(), &[], SimTime(11_000));
        assert!(!w.all_ready(), "not ready before the first probe");
        drive(&mut w, &cfg(), &[], SimTime(0));
        let mut w = PodWorker::new(&p, Ipv4Addr::new(10, 0, 0, 2), &rules, SimTime::ZERO);
        let events = drive(&mut w, &cfg(), &[], SimTime(95_000));
        // Probes at 12, 22, …; failures at 62, 72, 82 → not ready from 82s.
        assert!(!w.all_ready());
        assert_eq!(events.iter().filter(|e| e.1 == "Unhealthy").count(), 4);
        assert!(events
            .iter()
            .any(|e| e.2 == "Readiness probe failed: dial tcp 10.0.0.2:80: connect: connection refused"));
    }
}
