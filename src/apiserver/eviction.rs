//! The pods/eviction subresource (pkg/registry/core/pod/storage/eviction.go): a delete that
//! respects PodDisruptionBudgets. `kubectl drain` uses it.
//!
//! For the one PDB selecting the pod: expected pods are the scale of the pods' controllers
//! (ReplicaSet replicas) or, for a plain integer `minAvailable`, the matching pods; desired
//! healthy comes from `minAvailable` or `maxUnavailable` (percentages rounded up); healthy pods
//! are Ready and not being deleted. A healthy pod may go when healthy − desired > 0; an
//! unhealthy one when healthy ≥ desired (unhealthyPodEvictionPolicy IfHealthyBudget). Otherwise
//! 429 TooManyRequests. The disruption controller's status bookkeeping is computed on the spot.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{ApiError, ApiServer, DeleteOptions};
use crate::api::pod as podutil;
use crate::api::{FieldSelector, Kind, KindOf, LabelSelector, Object};

/// `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true)`.
fn scaled(v: &IntOrString, total: i64) -> i64 {
    match v {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            (pct * total + 99) / 100
        }
    }
}

/// A PodDisruptionBudget's numbers now, as the disruption controller computes them
/// (pkg/controller/disruption/disruption.go `getExpectedPodCount`, `countHealthyPods`,
/// `updatePdbStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Budget {
    /// disruptionsAllowed: healthy − desired, never below 0, and 0 when no pod is expected.
    pub allowed: i64,
    /// currentHealthy: pods Ready and not being deleted.
    pub healthy: i64,
    /// desiredHealthy.
    pub desired: i64,
    /// expectedPods: the matching pods for an integer minAvailable, else the controllers' scale.
    pub expected: i64,
}

impl ApiServer {
    /// What `pdb` allows now (disruptionsAllowed, healthy, desired and expected pods).
    pub fn disruption_budget(&self, pdb: &PodDisruptionBudget) -> Budget {
        let ns = pdb.metadata.namespace.clone().unwrap_or_default();
        let Some(spec) = &pdb.spec else { return Budget::default() };
        let selector =
            spec.selector.as_ref().and_then(|s| LabelSelector::from_k8s(s).ok()).unwrap_or_default();
        let pods: Vec<Arc<Object>> = self
            .list(Kind::Pod, Some(&ns), &selector, &FieldSelector::everything())
            .map(|l| l.items)
            .unwrap_or_default();
        let pods: Vec<&Pod> =
            pods.iter().filter_map(|o| o.as_type::<Pod>()).filter(|p| !podutil::is_terminal(p)).collect();
        let healthy =
            pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none() && podutil::is_ready(p)).count()
                as i64;
        let mut scales: BTreeMap<String, i64> = BTreeMap::new();
        let mut uncontrolled = 0;
        for p in &pods {
            match podutil::controller_of(&p.metadata).filter(|o| o.kind == "ReplicaSet") {
                Some(o) => {
                    let replicas = self
                        .get_as::<ReplicaSet>(Some(&ns), &o.name)
                        .ok()
                        .and_then(|rs| rs.spec.and_then(|s| s.replicas))
                        .unwrap_or(1);
                    scales.insert(o.name.clone(), i64::from(replicas));
                }
                None => uncontrolled += 1,
            }
        }
        let scale = scales.values().sum::<i64>() + uncontrolled;
        let (desired, expected) = match (&spec.min_available, &spec.max_unavailable) {
            (Some(IntOrString::Int(n)), _) => (i64::from(*n), pods.len() as i64),
            (Some(v), _) => (scaled(v, scale), scale),
            (None, Some(v)) => ((scale - scaled(v, scale)).max(0), scale),
            (None, None) => (scale, scale),
        };
        let allowed = if expected <= 0 { 0 } else { (healthy - desired).max(0) };
        Budget { allowed, healthy, desired, expected }
    }

    /// POST pods/{name}/eviction.
    pub fn evict(&mut self, namespace: &str, name: &str) -> Result<Arc<Object>, ApiError> {
        let pod: Pod = self.get_as(Some(namespace), name)?;
        if !podutil::is_terminal(&pod) {
            let pdbs: Vec<PodDisruptionBudget> = self
                .list(
                    Kind::PodDisruptionBudget,
                    Some(namespace),
                    &LabelSelector::everything(),
                    &FieldSelector::everything(),
                )?
                .items
                .iter()
                .filter_map(|o| o.as_type::<PodDisruptionBudget>().cloned())
                .filter(|pdb| {
                    pdb.spec
                        .as_ref()
                        .and_then(|s| s.selector.as_ref())
                        .and_then(|s| LabelSelector::from_k8s(s).ok())
                        .is_some_and(|sel| !sel.is_empty() && sel.matches(pod.metadata.labels.as_ref()))
                })
                .collect();
            if pdbs.len() > 1 {
                return Err(ApiError::BadRequest(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                        .into(),
                ));
            }
            if let Some(pdb) = pdbs.first() {
                let b = self.disruption_budget(pdb);
                let ok = if podutil::is_ready(&pod) { b.allowed > 0 } else { b.healthy >= b.desired };
                if !ok {
                    return Err(ApiError::TooManyRequests(
                        "Cannot evict pod as it would violate the pod's disruption budget.".into(),
                    ));
                }
            }
        }
        let mut marked = pod.clone();
        podutil::set_pod_condition(
            &mut marked,
            podutil::disruption_target(
                "EvictionByEvictionAPI",
                "Eviction API: evicting",
                self.epoch().time(self.now()),
            ),
        );
        let _ = self.update_status(marked.into_object());
        self.delete(Kind::Pod, Some(namespace), name, DeleteOptions::default())
    }
}
