//! The closed set of events the engine delivers. Each variant says who sends it to whom.

use std::sync::Arc;

use super::hash::StableHasher;
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
    /// scenario driver → itself: run timeline action number `index`.
    TimelineAction { index: usize },
}

/// Steps of a pod's life on a node, driven by kubelet timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStep {
    /// Images are on the node; containers can be created.
    ImagesPulled,
    /// Containers are created and started.
    ContainersStarted,
    /// The termination grace period is over (or containers exited): final delete.
    Terminated,
}

/// Faults the scenario injects at a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The machine loses power: kubelet and containers stop.
    PowerOff,
    /// Power returns: the kubelet starts again and reconciles.
    PowerOn,
}

impl Event {
    /// Feeds the identifying content of the event to the run's fingerprint. Watch events are
    /// identified by watch, type, object key and resourceVersion (the object body is a function
    /// of those).
    pub fn fingerprint(&self, h: &mut StableHasher) {
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
                        h.u64(*step as u64);
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
                    Timer::TimelineAction { index } => {
                        h.u64(9);
                        h.u64(*index as u64);
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
