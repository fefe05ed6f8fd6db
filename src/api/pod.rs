//! Helpers over Pods and Nodes that several components share: requests, conditions, taints and
//! tolerations, phases, owners. Kept in one place so the scheduler, kubelet, controllers and
//! invariant checkers agree on what a pod asks for and what "ready" means.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, PodCondition, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::quantity::Quantity;

/// Requested (or allocatable) resources in integer units: CPU in millicores, memory and
/// ephemeral storage in bytes, pod count, extended resources in their integer units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    pub fn from_list(list: Option<&BTreeMap<String, K8sQuantity>>) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list.into_iter().flatten() {
            let Ok(q) = Quantity::parse(&q.0) else {
                continue;
            };
            match name.as_str() {
                "cpu" => r.milli_cpu = q.milli_value(),
                "memory" => r.memory = q.value(),
                "ephemeral-storage" => r.ephemeral_storage = q.value(),
                "pods" => r.pods = q.value(),
                other => {
                    r.scalar.insert(other.to_string(), q.value());
                }
            }
        }
        r
    }

    /// Adds `o` (saturating: quantities themselves saturate at i64 bounds).
    pub fn add(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(o.milli_cpu);
        self.memory = self.memory.saturating_add(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(o.ephemeral_storage);
        self.pods = self.pods.saturating_add(o.pods);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = e.saturating_add(*v);
        }
    }

    pub fn sub(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(o.milli_cpu);
        self.memory = self.memory.saturating_sub(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(o.ephemeral_storage);
        self.pods = self.pods.saturating_sub(o.pods);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = e.saturating_sub(*v);
        }
    }

    fn max_with(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// Names of resources in `self` (a request) that exceed `free`, in upstream's order. Only
    /// resources the request asks for (> 0) can fail, as in NodeResourcesFit's `fitsRequest`:
    /// a pod requesting nothing fits an over-committed node.
    pub fn exceeding(&self, free: &Resources) -> Vec<String> {
        let mut out = Vec::new();
        if self.milli_cpu > 0 && self.milli_cpu > free.milli_cpu {
            out.push("cpu".to_string());
        }
        if self.memory > 0 && self.memory > free.memory {
            out.push("memory".to_string());
        }
        if self.ephemeral_storage > 0 && self.ephemeral_storage > free.ephemeral_storage {
            out.push("ephemeral-storage".to_string());
        }
        for (k, v) in &self.scalar {
            if *v > 0 && *v > free.scalar.get(k).copied().unwrap_or(0) {
                out.push(k.clone());
            }
        }
        out
    }
}

/// The pod's effective request as the scheduler computes it (k8s.io/component-helpers/resource
/// `PodRequests` → `AggregateContainerRequests`, plus overhead): the containers summed; each
/// sidecar (an init container with `restartPolicy: Always`) added too, since it keeps running;
/// then the max with what each init container needs while it runs — its own request plus the
/// sidecars started before it (KEP-753).
pub fn pod_requests(pod: &Pod) -> Resources {
    aggregate_requests(pod, None)
}

/// [`pod_requests`] with `defaults` (milli-CPU, memory bytes) for containers that leave the cpu
/// or memory request out (`NonMissingContainerRequests`, the scheduler's non-zero requests).
pub fn aggregate_requests(pod: &Pod, defaults: Option<(i64, i64)>) -> Resources {
    let Some(spec) = &pod.spec else {
        return Resources::default();
    };
    let container = |c: &k8s_openapi::api::core::v1::Container| {
        let list = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let mut r = Resources::from_list(list);
        if let Some((cpu, memory)) = defaults {
            if !list.is_some_and(|m| m.contains_key("cpu")) {
                r.milli_cpu = cpu;
            }
            if !list.is_some_and(|m| m.contains_key("memory")) {
                r.memory = memory;
            }
        }
        r
    };
    let mut reqs = Resources::default();
    for c in &spec.containers {
        reqs.add(&container(c));
    }
    let mut sidecars = Resources::default();
    let mut init = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let mut r = container(c);
        if c.restart_policy.as_deref() == Some("Always") {
            reqs.add(&r);
            sidecars.add(&r);
            r = sidecars.clone();
        } else {
            r.add(&sidecars);
        }
        init.max_with(&r);
    }
    reqs.max_with(&init);
    reqs.add(&Resources::from_list(spec.overhead.as_ref()));
    reqs
}

/// Node allocatable (falls back to capacity, as the scheduler does when allocatable is unset).
pub fn node_allocatable(node: &Node) -> Resources {
    let status = node.status.as_ref();
    let list =
        status.and_then(|s| s.allocatable.as_ref()).or_else(|| status.and_then(|s| s.capacity.as_ref()));
    Resources::from_list(list)
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

pub fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
}

pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub fn is_terminating(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

pub fn pod_condition<'a>(pod: &'a Pod, ty: &str) -> Option<&'a PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

/// The `DisruptionTarget=True` condition a pod gets before a control-plane component deletes it
/// (taint manager, pod GC, eviction API), with the component's reason and message.
pub fn disruption_target(
    reason: &str,
    message: &str,
    at: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> PodCondition {
    PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(at),
        ..Default::default()
    }
}

/// `Ready=True` (what endpoints and kubectl's READY column use).
pub fn is_ready(pod: &Pod) -> bool {
    pod_condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// Sets (or replaces) a pod condition; returns whether anything changed. `lastTransitionTime`
/// only moves when the status changes, as upstream's `podutil.UpdatePodCondition`.
pub fn set_pod_condition(pod: &mut Pod, mut cond: PodCondition) -> bool {
    let conditions = pod.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == cond.type_) {
        Some(existing) => {
            if existing.status == cond.status
                && existing.reason == cond.reason
                && existing.message == cond.message
            {
                return false;
            }
            if existing.status == cond.status {
                cond.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = cond;
            true
        }
        None => {
            conditions.push(cond);
            true
        }
    }
}

pub fn node_condition<'a>(node: &'a Node, ty: &str) -> Option<&'a NodeCondition> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

pub fn node_taints(node: &Node) -> &[Taint] {
    node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[])
}

pub fn is_unschedulable(node: &Node) -> bool {
    node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
}

/// Upstream `Toleration.ToleratesTaint` (k8s.io/api/core/v1/toleration.go): keys equal (an empty
/// key with Exists matches all), empty effect matches all, Exists ignores the value, Equal
/// (the default) compares values.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        if effect != taint.effect {
            return false;
        }
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

pub fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[])
}

/// The first NoSchedule/NoExecute taint (of those passing `filter`) no toleration tolerates.
pub fn untolerated_taint<'a>(
    taints: &'a [Taint],
    tols: &[Toleration],
    effects: &[&str],
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| effects.contains(&t.effect.as_str()))
        .find(|taint| !tols.iter().any(|t| tolerates(t, taint)))
}

/// The controlling owner (`controller: true`), if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_ref()?.iter().find(|o| o.controller == Some(true))
}

/// The highest restart count of the pod's containers (the ranking of pods to delete uses it).
pub fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().map(|c| c.restart_count).max())
        .unwrap_or(0)
}

/// Restarts summed over containers (kubectl's RESTARTS column).
pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec, ResourceRequirements};

    fn q(s: &str) -> K8sQuantity {
        K8sQuantity(s.to_string())
    }

    fn container(cpu: &str, mem: &str) -> Container {
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: Some([("cpu".to_string(), q(cpu)), ("memory".to_string(), q(mem))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn sidecars_add_up_and_raise_later_init_containers() {
        // KEP-753: init [regular 2, sidecar 1, regular 3], containers [1] → containers 1 +
        // sidecar 1 = 2; while the second regular init container runs: 3 + sidecar 1 = 4.
        let c = |cpu: &str, always: bool| k8s_openapi::api::core::v1::Container {
            name: cpu.into(),
            restart_policy: always.then(|| "Always".to_string()),
            resources: Some(k8s_openapi::api::core::v1::ResourceRequirements {
                requests: Some([("cpu".to_string(), K8sQuantity(cpu.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pod = Pod {
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                containers: vec![c("1", false)],
                init_containers: Some(vec![c("2", false), c("1", true), c("3", false)]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(pod_requests(&pod).milli_cpu, 4000);
        let mut no_late = pod.clone();
        no_late.spec.as_mut().unwrap().init_containers.as_mut().unwrap().pop();
        assert_eq!(
            pod_requests(&no_late).milli_cpu,
            2000,
            "containers + sidecar beat the first init container"
        );
        // Non-zero defaults: memory left out everywhere counts 200Mi per container (the app
        // container and the sidecar: 400Mi), more than any init container alone.
        assert_eq!(aggregate_requests(&pod, Some((100, 200 << 20))).memory, 400 << 20);
    }

    #[test]
    fn pod_requests_take_max_of_init_containers() {
        // The reference's example: init {2, 1G} and {2, 3G}, containers {2, 1G} and {1, 1G} → {3, 3G}.
        let pod = Pod {
            spec: Some(PodSpec {
                init_containers: Some(vec![container("2", "1G"), container("2", "3G")]),
                containers: vec![container("2", "1G"), container("1", "1G")],
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = pod_requests(&pod);
        assert_eq!((r.milli_cpu, r.memory), (3000, 3_000_000_000));
    }

    #[test]
    fn toleration_matching() {
        let taint = Taint {
            key: "k".into(),
            value: Some("v".into()),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        let tol = |key: &str, op: &str, value: &str, effect: &str| Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
            effect: Some(effect.into()),
            ..Default::default()
        };
        assert!(tolerates(&tol("k", "Equal", "v", "NoSchedule"), &taint));
        assert!(tolerates(&tol("k", "Exists", "", ""), &taint));
        assert!(tolerates(&tol("", "Exists", "", ""), &taint));
        assert!(!tolerates(&tol("k", "Equal", "w", "NoSchedule"), &taint));
        assert!(!tolerates(&tol("k", "Exists", "", "NoExecute"), &taint));
    }
}
