//! The disruption controller (pkg/controller/disruption/disruption.go): keeps every
//! PodDisruptionBudget's status current — `currentHealthy`, `desiredHealthy`, `expectedPods`,
//! `disruptionsAllowed`, `observedGeneration` and the `DisruptionAllowed` condition
//! (SufficientPods / InsufficientPods) — whenever the budget or a pod it selects changes.
//! `kubectl get pdb` shows it as ALLOWED DISRUPTIONS, and the scheduler's preemption reads it
//! to avoid victims whose budget is exhausted.
//!
//! The numbers are those the eviction API checks ([`ApiServer::disruption_budget`]), computed
//! from the API server's state at the moment of the sync. Simplified: upstream's
//! `disruptedPods` bookkeeping (evictions not yet observed as deletions) is not kept; kubesim's
//! eviction API recomputes the budget at each request instead of decrementing the status.
//!
//! [`ApiServer::disruption_budget`]: crate::apiserver::ApiServer::disruption_budget

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::{Kind, KindOf, LabelSelector, Object};
use crate::apiserver::WatchSpec;
use crate::client::Informer;
use crate::sim::{Component, Context, Event, Timer};

#[derive(Default)]
pub struct DisruptionController {
    pdbs: Option<Informer>,
    pods: Option<Informer>,
    queue: ControllerQueue,
}

impl DisruptionController {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues every budget in the pod's namespace that selects it (before or after a change).
    fn on_pod(&mut self, pod: &Object, old: Option<&Object>) {
        let ns = pod.namespace().unwrap_or("");
        let keys: Vec<ObjectKey> = self
            .pdbs
            .iter()
            .flat_map(|i| i.iter())
            .filter(|o| o.namespace() == Some(ns))
            .filter(|o| {
                let selector = o
                    .as_type::<PodDisruptionBudget>()
                    .and_then(|p| p.spec.as_ref()?.selector.as_ref())
                    .and_then(|s| LabelSelector::from_k8s(s).ok());
                selector.is_some_and(|s| {
                    !s.is_empty() && (s.matches(pod.labels()) || old.is_some_and(|o| s.matches(o.labels())))
                })
            })
            .map(|o| key_of(o))
            .collect();
        for k in keys {
            self.queue.add(k);
        }
    }

    fn sync(&mut self, ctx: &mut Context<'_>, key: &ObjectKey) {
        let Some(pdb) =
            self.pdbs.as_ref().and_then(|i| i.get_as::<PodDisruptionBudget>(&key.0, &key.1)).cloned()
        else {
            return;
        };
        let b = ctx.api.disruption_budget(&pdb);
        let old = pdb.status.clone().unwrap_or_default();
        let allowed = b.allowed > 0;
        let (status, reason) =
            if allowed { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
        let previous = old.conditions.iter().flatten().find(|c| c.type_ == "DisruptionAllowed");
        let transition = match previous {
            Some(c) if c.status == status => c.last_transition_time.clone(),
            _ => ctx.api.epoch().time(ctx.now()),
        };
        let next = PodDisruptionBudgetStatus {
            current_healthy: b.healthy as i32,
            desired_healthy: b.desired as i32,
            expected_pods: b.expected as i32,
            disruptions_allowed: b.allowed as i32,
            observed_generation: pdb.metadata.generation,
            disrupted_pods: old.disrupted_pods.clone(),
            conditions: Some(vec![Condition {
                type_: "DisruptionAllowed".into(),
                status: status.into(),
                reason: reason.into(),
                message: String::new(),
                last_transition_time: transition,
                observed_generation: pdb.metadata.generation,
            }]),
        };
        if pdb.status.as_ref() == Some(&next) {
            return;
        }
        let mut updated = pdb;
        updated.status = Some(next);
        let _ = ctx.api.update_status(updated.into_object());
    }
}

impl Component for DisruptionController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.pdbs = Informer::start(ctx, WatchSpec::all(Kind::PodDisruptionBudget)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.queue.add_all(self.pdbs.as_ref());
            }
            Event::Watch(ev) => {
                if self.pdbs.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.pdbs.as_mut().expect("checked").apply(&ev);
                    self.queue.add(key_of(&ev.object));
                } else if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(&ev.object, old.as_deref());
                }
            }
            Event::Timer(Timer::Reconcile) => {
                for key in self.queue.due(ctx.now()) {
                    self.sync(ctx, &key);
                    self.queue.forget(&key);
                }
            }
            _ => {}
        }
        self.queue.arm(ctx);
    }
}
