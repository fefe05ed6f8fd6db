//! The facade that builds a cluster from a scenario and runs it: bootstrap objects, component
//! registration, the run loop with its bounds, observers (expectations, invariants, recorders)
//! and the run's outcome.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort as CoreEndpointPort, EndpointSubset, Endpoints, Namespace, Service,
    ServicePort, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::api::KindOf;
use crate::apiserver::ApiServer;
use crate::controllers::compactor::Compactor;
use crate::controllers::{
    CronJobController, DaemonSetController, DeploymentController, DisruptionController,
    EndpointSliceController, EndpointsController, GarbageCollector, JobController, NodeLifecycleController,
    PodGarbageCollector, ReplicaSetController, TaintEvictionController,
};
use crate::invariants::InvariantChecker;
use crate::network::TrafficGenerator;
use crate::node::kube_proxy::KubeProxy;
use crate::node::kubelet::node_address;
use crate::node::Kubelet;
use crate::output::recorder::Recorder;
use crate::scenario::driver::ScenarioDriver;
use crate::scenario::expect::{ExpectationResult, Tracker};
use crate::scenario::Scenario;
use crate::scheduler::framework::registry::Registry;
use crate::scheduler::Scheduler;
use crate::sim::{Engine, SimDuration, SimTime, TraceEntry};

/// Command-line overrides for a run.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub seed: Option<u64>,
    pub until: Option<SimDuration>,
    pub max_events: Option<u64>,
    /// Check invariants after every event (always on in debug builds).
    pub check_invariants: bool,
    /// Record every scheduling decision (`decisions.csv`, `kubesim explain`).
    pub record_decisions: bool,
    /// Scheduler plugins to build the scenario's profiles from; `None` is the in-tree registry.
    /// Library users register their own plugins here and name them in `config.scheduler`.
    pub registry: Option<Registry>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("seed", &self.seed)
            .field("until", &self.until)
            .field("max_events", &self.max_events)
            .field("check_invariants", &self.check_invariants)
            .field("record_decisions", &self.record_decisions)
            .field("registry", &self.registry.as_ref().map(|r| r.names().collect::<Vec<_>>()))
            .finish()
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reached `until`.
    Completed,
    /// Hit the maximum number of events before `until`.
    EventLimit { limit: u64 },
    /// An invariant checker found a violation.
    InvariantViolated { message: String },
}

/// Objects the scenario could not create at time zero.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {kind} {name:?}: {message}")]
pub struct SetupError {
    pub origin: String,
    pub kind: String,
    pub name: String,
    pub message: String,
}

/// A cluster built from a scenario, ready to run.
pub struct Simulation {
    pub scenario: Scenario,
    engine: Engine,
    tracker: Tracker,
    invariants: Option<InvariantChecker>,
    recorder: Recorder,
    until: SimTime,
    max_events: u64,
    seed: u64,
    outcome: Option<Outcome>,
    /// Expectations have seen every instant before this one.
    observed_to: SimTime,
}

fn bootstrap(api: &mut ApiServer) {
    // What a fresh kubeadm cluster's API holds before any workload: the four namespaces, the
    // `kubernetes` Service on the first address of the service CIDR and the two system
    // PriorityClasses.
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        let obj = Namespace {
            metadata: ObjectMeta { name: Some(ns.into()), ..Default::default() },
            ..Default::default()
        }
        .into_object();
        api.create(obj).expect("bootstrap namespaces are valid");
    }
    let svc = Service {
        metadata: ObjectMeta {
            name: Some("kubernetes".into()),
            namespace: Some("default".into()),
            labels: Some(BTreeMap::from([
                ("component".into(), "apiserver".into()),
                ("provider".into(), "kubernetes".into()),
            ])),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("10.96.0.1".into()),
            ports: Some(vec![ServicePort {
                name: Some("https".into()),
                port: 443,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(6443)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    };
    api.create(svc.into_object()).expect("bootstrap service is valid");
    // The API server's endpoint reconciler (pkg/controlplane/reconcilers) publishes its own
    // address behind the `kubernetes` Service: an Endpoints object and an EndpointSlice.
    let apiserver_ip = node_address(0).to_string();
    let endpoints = Endpoints {
        metadata: ObjectMeta {
            name: Some("kubernetes".into()),
            namespace: Some("default".into()),
            labels: Some(BTreeMap::from([("endpointslice.kubernetes.io/skip-mirror".into(), "true".into())])),
            ..Default::default()
        },
        subsets: Some(vec![EndpointSubset {
            addresses: Some(vec![EndpointAddress { ip: apiserver_ip.clone(), ..Default::default() }]),
            ports: Some(vec![CoreEndpointPort {
                name: Some("https".into()),
                port: 6443,
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }]),
    };
    api.create(endpoints.into_object()).expect("bootstrap endpoints are valid");
    let slice = EndpointSlice {
        metadata: ObjectMeta {
            name: Some("kubernetes".into()),
            namespace: Some("default".into()),
            labels: Some(BTreeMap::from([("kubernetes.io/service-name".into(), "kubernetes".into())])),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: vec![Endpoint {
            addresses: vec![apiserver_ip],
            conditions: Some(EndpointConditions { ready: Some(true), ..Default::default() }),
            ..Default::default()
        }],
        ports: Some(vec![EndpointPort {
            name: Some("https".into()),
            port: Some(6443),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    };
    api.create(slice.into_object()).expect("bootstrap endpoint slice is valid");
    for (name, value, description) in [
        ("system-cluster-critical", 2_000_000_000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
        ("system-node-critical", 2_000_001_000, "Used for system critical pods that must not be moved from their current node."),
    ] {
        let pc = PriorityClass {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            value,
            description: Some(description.into()),
            preemption_policy: Some("PreemptLowerPriority".into()),
            global_default: Some(false),
        };
        api.create(pc.into_object()).expect("bootstrap priority classes are valid");
    }
}

impl Simulation {
    /// Builds the cluster: bootstrap objects, the scenario's objects at time zero, then the
    /// components (compactor, scheduler, controllers, one kubelet per node, scenario driver).
    pub fn new(scenario: Scenario, opts: &RunOptions) -> Result<Simulation, SetupError> {
        let seed = opts.seed.unwrap_or(scenario.seed);
        let until = opts.until.map_or(scenario.until, |d| SimTime(d.as_millis()));
        let max_events = opts.max_events.unwrap_or(scenario.max_events);
        let mut api = ApiServer::new(scenario.epoch, seed);
        api.set_default_toleration_seconds(scenario.default_toleration_seconds);
        bootstrap(&mut api);
        for src in &scenario.objects {
            let obj = src.object.clone();
            let (kind, name) = (obj.kind().name().to_string(), obj.name().to_string());
            api.create(obj).map_err(|e| SetupError {
                origin: src.origin.clone(),
                kind,
                name,
                message: e.to_string(),
            })?;
        }
        let mut engine = Engine::new(seed, api, scenario.watch_latency);
        engine.register(
            "kube-apiserver/compactor",
            Box::new(Compactor { interval: scenario.compaction_interval }),
        );
        // The machines first: their kubelets register the Nodes at time zero before the control
        // plane's components list them, as on a running cluster (otherwise the scheduler's first
        // look at the scenario's pods finds "no nodes available to schedule pods").
        for n in &scenario.nodes {
            engine.register(
                format!("kubelet/{}", n.kubelet.node_name),
                Box::new(Kubelet::new(n.kubelet.clone())),
            );
        }
        engine.decisions.enabled = opts.record_decisions;
        let in_tree;
        let registry = match &opts.registry {
            Some(r) => r,
            None => {
                in_tree = Registry::in_tree();
                &in_tree
            }
        };
        let scheduler = Scheduler::new(&scenario.scheduler, registry).map_err(|e| SetupError {
            origin: format!("{} config.scheduler", scenario.path.display()),
            kind: "KubeSchedulerConfiguration".into(),
            name: e.path.clone(),
            message: e.to_string(),
        })?;
        engine.register("default-scheduler", Box::new(scheduler));
        engine.register("replicaset-controller", Box::new(ReplicaSetController::new()));
        engine.register("endpointslice-controller", Box::new(EndpointSliceController::new()));
        engine.register("endpoints-controller", Box::new(EndpointsController::new()));
        engine.register("deployment-controller", Box::new(DeploymentController::new()));
        engine.register("daemonset-controller", Box::new(DaemonSetController::new()));
        engine.register("job-controller", Box::new(JobController::new()));
        engine.register("cronjob-controller", Box::new(CronJobController::new()));
        engine.register(
            "node-lifecycle-controller",
            Box::new(NodeLifecycleController::new(scenario.node_lifecycle.clone())),
        );
        engine.register("taint-eviction-controller", Box::new(TaintEvictionController::new()));
        engine.register("pod-garbage-collector", Box::new(PodGarbageCollector::new()));
        engine.register("disruption-controller", Box::new(DisruptionController::new()));
        engine.register("garbage-collector", Box::new(GarbageCollector::new()));
        for n in &scenario.nodes {
            engine.register(
                format!("kube-proxy/{}", n.kube_proxy.node_name),
                Box::new(KubeProxy::new(n.kube_proxy.clone())),
            );
        }
        if !scenario.traffic.is_empty() {
            engine.register("traffic", Box::new(TrafficGenerator::new(scenario.traffic.clone())));
        }
        engine.register("scenario", Box::new(ScenarioDriver::new(scenario.timeline.clone())));
        let mut recorder = Recorder::default();
        let setup_changes = engine.api.take_journal();
        recorder.observe(SimTime::ZERO, &setup_changes);
        let mut invariants = (cfg!(debug_assertions) || opts.check_invariants).then(InvariantChecker::new);
        let mut outcome = None;
        if let Some(inv) = invariants.as_mut() {
            if let Err(message) = inv.check_changes(&setup_changes) {
                outcome = Some(Outcome::InvariantViolated { message });
            }
        }
        Ok(Simulation {
            tracker: Tracker::new(&scenario.expectations),
            scenario,
            engine,
            invariants,
            recorder,
            until,
            max_events,
            seed,
            outcome,
            observed_to: SimTime::ZERO,
        })
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn until(&self) -> SimTime {
        self.until
    }
    pub fn now(&self) -> SimTime {
        self.engine.now()
    }
    pub fn api(&self) -> &ApiServer {
        &self.engine.api
    }
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
    pub fn trace(&self) -> &[TraceEntry] {
        self.engine.trace()
    }
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
    pub fn results(&self) -> &[ExpectationResult] {
        self.tracker.results()
    }
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
    pub fn event_hash(&self) -> u64 {
        self.engine.event_hash()
    }

    /// When the next event is due, if any.
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.engine.next_event_time()
    }
    /// When the last delivered event happened, if any was.
    pub fn last_event_time(&self) -> Option<SimTime> {
        self.engine.last_event_time()
    }

    /// Runs every event up to and including `t` (bounded by `until` and the event limit), then
    /// sets the clock to `t`. Returns the outcome once the run has ended.
    pub fn run_until(&mut self, t: SimTime) -> Option<&Outcome> {
        if self.outcome.is_some() {
            return self.outcome.as_ref();
        }
        let t = t.min(self.until);
        while self.outcome.is_none() {
            let Some(next) = self.engine.next_event_time().filter(|n| *n <= t) else {
                break;
            };
            self.observe_to(next);
            if self.engine.events_delivered() >= self.max_events {
                self.outcome = Some(Outcome::EventLimit { limit: self.max_events });
                break;
            }
            let delivered = self.engine.step().expect("an event is pending");
            let changes = self.engine.api.journal();
            self.recorder.observe(delivered.time, changes);
            if let Some(inv) = self.invariants.as_mut() {
                if let Err(message) = inv.check(&delivered, changes) {
                    self.outcome = Some(Outcome::InvariantViolated { message });
                }
            }
            self.engine.api.clear_journal();
        }
        if self.outcome.is_none() {
            // No event before `t`: the state is final up to and including `t`.
            self.observe_to(SimTime(t.as_millis() + 1));
            self.engine.advance_clock(t);
            if t >= self.until {
                self.outcome = Some(Outcome::Completed);
            }
        }
        if self.outcome.is_some() {
            let completed = self.outcome == Some(Outcome::Completed);
            self.tracker.finish(
                self.engine.now(),
                completed,
                &self.engine.api,
                self.engine.trace(),
                &self.engine.net.log,
            );
        }
        self.outcome.as_ref()
    }

    /// Lets expectations see the current state for every instant in `[observed_to, next)`.
    fn observe_to(&mut self, next: SimTime) {
        let from = self.observed_to.max(self.engine.now());
        if next > from {
            self.tracker.observe(from, next, &self.engine.api, self.engine.trace(), &self.engine.net.log);
            self.observed_to = next;
        }
    }

    /// Runs to the end.
    pub fn run(&mut self) -> &Outcome {
        let until = self.until;
        self.run_until(until);
        self.outcome.as_ref().expect("a run to `until` always ends")
    }

    /// Whether the run completed and every expectation passed.
    pub fn succeeded(&self) -> bool {
        self.outcome == Some(Outcome::Completed) && self.results().iter().all(ExpectationResult::passed)
    }

    /// The command that reproduces this run.
    pub fn reproduce_command(&self) -> String {
        format!("kubesim run {} --seed {} --check-invariants", self.scenario.path.display(), self.seed)
    }
}
