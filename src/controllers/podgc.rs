//! The pod garbage collector (pkg/controller/podgc/gc_controller.go), orphan part: every
//! `gcCheckPeriod` (20s) it looks for pods bound to a node that no longer exists; a node missing
//! for longer than the quarantine (40s) is confirmed with a fresh GET, then its pods get the
//! DisruptionTarget condition (reason DeletionByPodGC), phase Failed, and are force-deleted.
//!
//! It also force-deletes pods that are being deleted on a node that is not Ready and carries
//! the `node.kubernetes.io/out-of-service` taint (gcTerminating): the admin has confirmed the
//! machine is down, so nobody will ever confirm those containers stopped.
//!
//! Not modelled yet: terminated-pod threshold GC, unscheduled terminating pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use crate::api::pod as podutil;
use crate::api::{Kind, KindOf};
use crate::apiserver::{DeleteOptions, WatchSpec};
use crate::client::Informer;
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

/// The taint an admin puts on a node known to be shut down (non-graceful node shutdown).
pub const OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

pub const GC_CHECK_PERIOD: SimDuration = SimDuration::from_secs(20);
pub const QUARANTINE_TIME: SimDuration = SimDuration::from_secs(40);

#[derive(Default)]
pub struct PodGarbageCollector {
    pods: Option<Informer>,
    nodes: Option<Informer>,
    /// Nodes seen missing, and since when.
    missing_since: BTreeMap<String, SimTime>,
}

impl PodGarbageCollector {
    pub fn new() -> Self {
        Self::default()
    }

    fn gc_orphaned(&mut self, ctx: &mut Context<'_>) {
        let now = ctx.now();
        let mut orphans: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
        for pod in self.pods.iter().flat_map(|i| i.iter_as::<Pod>()) {
            let Some(node) = podutil::node_name(pod) else {
                continue;
            };
            if self.nodes.as_ref().is_some_and(|n| n.get("", node).is_none()) {
                orphans.entry(node.to_string()).or_default().push(pod.clone());
            }
        }
        self.missing_since.retain(|n, _| orphans.contains_key(n));
        for (node, pods) in orphans {
            let since = *self.missing_since.entry(node.clone()).or_insert(now);
            if now.since(since) < QUARANTINE_TIME || ctx.api.get(Kind::Node, None, &node).is_ok() {
                continue;
            }
            for mut pod in pods {
                let (ns, name) = (
                    pod.metadata.namespace.clone().unwrap_or_default(),
                    pod.metadata.name.clone().unwrap_or_default(),
                );
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                if !podutil::is_terminal(&pod) {
                    podutil::set_pod_condition(
                        &mut pod,
                        podutil::disruption_target(
                            "DeletionByPodGC",
                            "PodGC: node no longer exists",
                            ctx.api.epoch().time(now),
                        ),
                    );
                    pod.status.get_or_insert_with(Default::default).phase = Some("Failed".into());
                    let _ = ctx.api.update_status(pod.into_object());
                }
                let _ = ctx.api.delete(Kind::Pod, Some(&ns), &name, DeleteOptions::force_uid(uid));
            }
        }
    }
}

impl PodGarbageCollector {
    fn gc_terminating(&mut self, ctx: &mut Context<'_>) {
        let out_of_service = |node: &str| {
            self.nodes
                .as_ref()
                .and_then(|n| n.get_as::<k8s_openapi::api::core::v1::Node>("", node))
                .is_some_and(|n| {
                    podutil::node_condition(n, "Ready").is_none_or(|c| c.status != "True")
                        && podutil::node_taints(n)
                            .iter()
                            .any(|t| t.key == OUT_OF_SERVICE && t.effect == "NoExecute")
                })
        };
        let victims: Vec<Pod> = self
            .pods
            .iter()
            .flat_map(|i| i.iter_as::<Pod>())
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .filter(|p| podutil::node_name(p).is_some_and(out_of_service))
            .cloned()
            .collect();
        for pod in victims {
            let (ns, name) = (
                pod.metadata.namespace.clone().unwrap_or_default(),
                pod.metadata.name.clone().unwrap_or_default(),
            );
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let _ = ctx.api.delete(Kind::Pod, Some(&ns), &name, DeleteOptions::force_uid(uid));
        }
    }
}

impl Component for PodGarbageCollector {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
                ctx.after(GC_CHECK_PERIOD, Event::Timer(Timer::PodGc));
            }
            Event::Watch(ev) => {
                for inf in [self.pods.as_mut(), self.nodes.as_mut()].into_iter().flatten() {
                    if inf.owns(&ev) {
                        inf.apply(&ev);
                    }
                }
            }
            Event::Timer(Timer::PodGc) => {
                self.gc_orphaned(ctx);
                self.gc_terminating(ctx);
                ctx.after(GC_CHECK_PERIOD, Event::Timer(Timer::PodGc));
            }
            _ => {}
        }
    }
}
