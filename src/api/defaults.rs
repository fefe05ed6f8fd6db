//! Defaulting, as the API server's `SetDefaults_*` functions (pkg/apis/*/v1/defaults.go) fill
//! fields a manifest leaves out. Admission plugins that also add fields (DefaultTolerationSeconds,
//! Priority, ServiceAccount) live in `apiserver::admission`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSetUpdateStrategy, DeploymentStrategy, RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::kinds::Object;

/// Fills defaults in place.
pub fn apply(obj: &mut Object) {
    match obj {
        Object::Pod(pod) => {
            if let Some(spec) = pod.spec.as_mut() {
                pod_spec(spec);
            }
        }
        Object::ReplicaSet(rs) => {
            if let Some(spec) = rs.spec.as_mut() {
                spec.replicas.get_or_insert(1);
                spec.min_ready_seconds.get_or_insert(0);
                if let Some(t) = spec.template.as_mut() {
                    pod_template(t);
                }
            }
        }
        Object::Deployment(d) => {
            if let Some(spec) = d.spec.as_mut() {
                spec.replicas.get_or_insert(1);
                spec.revision_history_limit.get_or_insert(10);
                spec.progress_deadline_seconds.get_or_insert(600);
                let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
                let ty = strategy.type_.get_or_insert_with(|| "RollingUpdate".into());
                if ty == "RollingUpdate" {
                    let ru = strategy.rolling_update.get_or_insert_with(RollingUpdateDeployment::default);
                    ru.max_surge.get_or_insert(IntOrString::String("25%".into()));
                    ru.max_unavailable.get_or_insert(IntOrString::String("25%".into()));
                }
                pod_template(&mut spec.template);
            }
        }
        Object::DaemonSet(ds) => {
            if let Some(spec) = ds.spec.as_mut() {
                spec.revision_history_limit.get_or_insert(10);
                let s = spec.update_strategy.get_or_insert_with(DaemonSetUpdateStrategy::default);
                let ty = s.type_.get_or_insert_with(|| "RollingUpdate".into());
                if ty == "RollingUpdate" {
                    let ru = s.rolling_update.get_or_insert_with(RollingUpdateDaemonSet::default);
                    ru.max_unavailable.get_or_insert(IntOrString::Int(1));
                    ru.max_surge.get_or_insert(IntOrString::Int(0));
                }
                pod_template(&mut spec.template);
            }
        }
        Object::StatefulSet(sts) => {
            if let Some(spec) = sts.spec.as_mut() {
                spec.replicas.get_or_insert(1);
                spec.pod_management_policy.get_or_insert_with(|| "OrderedReady".into());
                spec.revision_history_limit.get_or_insert(10);
                pod_template(&mut spec.template);
            }
        }
        Object::Job(job) => {
            if let Some(spec) = job.spec.as_mut() {
                // SetDefaults_Job: completions becomes 1 only when parallelism is unset too (a
                // Job with only parallelism is a work queue: any success completes it).
                if spec.completions.is_none() && spec.parallelism.is_none() {
                    spec.completions = Some(1);
                }
                spec.parallelism.get_or_insert(1);
                spec.backoff_limit.get_or_insert(6);
                spec.completion_mode.get_or_insert_with(|| "NonIndexed".into());
                spec.suspend.get_or_insert(false);
                pod_template(&mut spec.template);
            }
        }
        Object::CronJob(cj) => {
            if let Some(spec) = cj.spec.as_mut() {
                spec.concurrency_policy.get_or_insert_with(|| "Allow".into());
                spec.suspend.get_or_insert(false);
                spec.successful_jobs_history_limit.get_or_insert(3);
                spec.failed_jobs_history_limit.get_or_insert(1);
                if let Some(jt) = spec.job_template.spec.as_mut() {
                    jt.backoff_limit.get_or_insert(6);
                    pod_template(&mut jt.template);
                }
            }
        }
        Object::Service(svc) => {
            if let Some(spec) = svc.spec.as_mut() {
                spec.type_.get_or_insert_with(|| "ClusterIP".into());
                spec.session_affinity.get_or_insert_with(|| "None".into());
                spec.internal_traffic_policy.get_or_insert_with(|| "Cluster".into());
                for port in spec.ports.iter_mut().flatten() {
                    port.protocol.get_or_insert_with(|| "TCP".into());
                    if port.target_port.is_none() {
                        port.target_port = Some(IntOrString::Int(port.port));
                    }
                }
            }
        }
        Object::Namespace(ns) => {
            // NamespaceDefaultLabelName: every namespace carries its own name as a label.
            let name = ns.metadata.name.clone().unwrap_or_default();
            ns.metadata
                .labels
                .get_or_insert_with(BTreeMap::new)
                .insert("kubernetes.io/metadata.name".into(), name);
        }
        Object::Secret(secret) => {
            secret.type_.get_or_insert_with(|| "Opaque".into());
        }
        _ => {}
    }
}

fn pod_template(t: &mut PodTemplateSpec) {
    if let Some(spec) = t.spec.as_mut() {
        pod_spec(spec);
    }
}

/// `SetDefaults_PodSpec` and the container defaults under it.
pub fn pod_spec(spec: &mut PodSpec) {
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.scheduler_name.get_or_insert_with(|| "default-scheduler".into());
    spec.security_context.get_or_insert_with(Default::default);
    spec.enable_service_links.get_or_insert(true);
    for c in spec.init_containers.iter_mut().flatten() {
        container(c);
    }
    for c in spec.containers.iter_mut() {
        container(c);
    }
}

fn container(c: &mut Container) {
    // SetDefaults_Container: `:latest` or no tag → Always, otherwise IfNotPresent.
    if c.image_pull_policy.is_none() {
        let image = c.image.as_deref().unwrap_or("");
        let tag_latest = image_tag(image).is_none_or(|t| t == "latest");
        c.image_pull_policy = Some(if tag_latest { "Always" } else { "IfNotPresent" }.into());
    }
    c.termination_message_path.get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy.get_or_insert_with(|| "File".into());
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
    for probe in [c.liveness_probe.as_mut(), c.readiness_probe.as_mut(), c.startup_probe.as_mut()]
        .into_iter()
        .flatten()
    {
        probe_defaults(probe);
    }
    // SetDefaults_Pod copies limits into unset requests.
    if let Some(res) = c.resources.as_mut() {
        if let Some(limits) = res.limits.clone() {
            let requests = res.requests.get_or_insert_with(BTreeMap::new);
            for (k, v) in limits {
                requests.entry(k).or_insert(v);
            }
        }
    }
}

fn probe_defaults(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
}

/// The tag of an image reference, if any (`nginx:1.27` → `1.27`; digests count as tagged).
pub fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return Some("digest");
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_policy_follows_the_tag() {
        assert_eq!(image_tag("nginx"), None);
        assert_eq!(image_tag("nginx:1.27"), Some("1.27"));
        assert_eq!(image_tag("registry:5000/nginx"), None);
        assert_eq!(image_tag("registry:5000/nginx:latest"), Some("latest"));
    }
}
