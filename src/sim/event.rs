//! The closed set of events the engine delivers. Each variant says who sends it to whom.

use std::sync::Arc;

use super::hash::Fingerprint;
use crate::apiserver::WatchEvent;

/// An event delivered to one component.
#[derive(Debug, Clone)]
pub enum Event {
    /// engine → every component, once, at time zero, in registration order.
    Start,
    /// kube-apiserver → a watcher: an object it watches was added, modified or deleted.
    Watch(WatchEvent),
    /// a component → itself: a timer it armed with [`super::Context::after`].
    Timer(Timer),
    /// scenario driver → a kubelet: a fault injected on (or repaired at) its node.
    Fault(Fault),
}

/// Timers, one variant per purpose so every component's `match` is checked by the compiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// kubelet → itself: renew the node's Lease in kube-node-lease. `boot` identifies the
    /// kubelet process that armed it, so timers from before a power cycle die with it.
    LeaseRenew { boot: u32 },
    /// kubelet → itself: compute node status and post it if changed or due.
    NodeStatus { boot: u32 },
    /// kubelet → itself: the next step of one pod's lifecycle is due.
    PodStep { uid: Arc<str>, step: PodStep, boot: u32 },
    /// kube-scheduler → itself: take the next pod off the active queue.
    ScheduleOne,
    /// kube-scheduler → itself: move pods whose backoff expired back to the active queue.
    FlushBackoff,
    /// a controller → itself: drain its work queue.
    Reconcile,
    /// node lifecycle controller → itself: one monitor pass over all nodes.
    MonitorNodes,
    /// node lifecycle controller → itself: a pod's NoExecute toleration ran out.
    TaintEviction { pod_uid: Arc<str> },
    /// kube-apiserver compactor → itself: compact etcd (every 5 minutes).
    Compact,
    /// pod garbage collector → itself: look for pods on deleted nodes (every 20s).
    PodGc,
    /// kube-proxy → itself: the sync runner allows the next rule sync. `boot` as for kubelets.
    ProxySync { boot: u32 },
    /// traffic generator → itself: send the next request of load number `load`.
    Traffic { load: usize },
    /// scenario driver → itself: run timeline action number `index`.
    TimelineAction { index: usize },
    /// scenario driver → itself: retry the evictions of drain action `index` (every 5s).
    DrainRetry { index: usize },
}

/// Steps of a pod's life on a node, driven by kubelet timers. `container` indexes
/// `spec.containers`; `run` counts the container's starts, so a timer armed for an earlier run
/// is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStep {
    /// An image pull finished (successfully or not).
    PullDone { container: u16 },
    /// A container was created and started.
    Started { container: u16 },
    /// A container's run ends on its own (scenario behaviour: exit, crash, OOM kill).
    Exited { container: u16, run: u32 },
    /// A probe is due.
    Probe { container: u16, kind: ProbeKind, run: u32 },
    /// A container the kubelet killed (failed liveness/startup probe) has stopped.
    Killed { container: u16, run: u32 },
    /// A back-off (crash loop, image pull) or error re-sync is over.
    Retry { container: u16 },
    /// The pod's termination grace period is over (or its containers exited).
    Terminated,
}

/// The three kinds of container probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    /// `Liveness`, as in "Liveness probe failed: …".
    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
    /// `liveness`, as in "failed liveness probe, will be restarted".
    pub fn lower(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
        }
    }
}

impl PodStep {
    fn fingerprint(&self, h: &mut Fingerprint) {
        let (tag, container, extra) = match *self {
            PodStep::PullDone { container } => (0, container, 0),
            PodStep::Started { container } => (1, container, 0),
            PodStep::Exited { container, run } => (2, container, u64::from(run)),
            PodStep::Probe { container, kind, run } => (3 + kind as u64, container, u64::from(run)),
            PodStep::Killed { container, run } => (6, container, u64::from(run)),
            PodStep::Retry { container } => (7, container, 0),
            PodStep::Terminated => (8, 0, 0),
        };
        h.u64(tag);
        h.u64(u64::from(container));
        h.u64(extra);
    }
}

/// Faults the scenario injects at a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The machine loses power: kubelet and containers stop.
    PowerOff,
    /// Power returns: the kubelet starts again and reconciles.
    PowerOn,
    /// The kubelet process stops; containers keep running.
    StopKubelet,
    /// The kubelet process starts again.
    StartKubelet,
    /// The node is cut off from the control plane: the kubelet runs, its requests fail.
    Partition,
    /// The partition heals.
    Heal,
    /// The node starts / stops running short of memory, disk or PIDs (the kubelet's eviction
    /// signals cross their thresholds).
    MemoryPressure,
    MemoryRelieved,
    DiskPressure,
    DiskRelieved,
    PidPressure,
    PidRelieved,
}

impl Event {
    /// Feeds the identifying content of the event to the run's fingerprint. Watch events are
    /// identified by watch, type, object key and resourceVersion (the object body is a function
    /// of those).
    pub fn fingerprint(&self, h: &mut Fingerprint) {
        match self {
            Event::Start => h.u64(0),
            Event::Watch(w) => {
                h.u64(1);
                h.u64(w.watch.0);
                h.u64(w.kind as u64);
                h.str(w.object.namespace().unwrap_or(""));
                h.str(w.object.name());
                h.u64(w.object.resource_version() as u64);
            }
            Event::Timer(t) => {
                h.u64(2);
                match t {
                    Timer::LeaseRenew { boot } => {
                        h.u64(0);
                        h.u64(u64::from(*boot));
                    }
                    Timer::NodeStatus { boot } => {
                        h.u64(1);
                        h.u64(u64::from(*boot));
                    }
                    Timer::PodStep { uid, step, boot } => {
                        h.u64(2);
                        h.str(uid);
                        step.fingerprint(h);
                        h.u64(u64::from(*boot));
                    }
                    Timer::ScheduleOne => h.u64(3),
                    Timer::FlushBackoff => h.u64(4),
                    Timer::Reconcile => h.u64(5),
                    Timer::MonitorNodes => h.u64(6),
                    Timer::TaintEviction { pod_uid } => {
                        h.u64(7);
                        h.str(pod_uid);
                    }
                    Timer::Compact => h.u64(8),
                    Timer::PodGc => h.u64(10),
                    Timer::DrainRetry { index } => {
                        h.u64(11);
                        h.u64(*index as u64);
                    }
                    Timer::TimelineAction { index } => {
                        h.u64(9);
                        h.u64(*index as u64);
                    }
                    Timer::ProxySync { boot } => {
                        h.u64(12);
                        h.u64(u64::from(*boot));
                    }
                    Timer::Traffic { load } => {
                        h.u64(13);
                        h.u64(*load as u64);
                    }
                }
            }
            Event::Fault(f) => {
                h.u64(3);
                h.u64(*f as u64);
            }
        }
    }
}
