//! What the EndpointSlice and Endpoints controllers share, as upstream shares it in
//! staging/src/k8s.io/endpointslice/util (controller_utils.go, trigger_time_tracker.go) and
//! pkg/api/v1/pod (FindPort):
//! - which Services a controller serves and which of their pods belong in endpoints
//!   ([`managed_selector`], [`should_pod_be_in_endpoints`]);
//! - service port → target port resolution, named ports looked up in the pod's container ports
//!   ([`find_port`]);
//! - the pod → reference / address-family helpers both object shapes are built from;
//! - which Services to sync after a pod event ([`services_for_pod_event`]);
//! - the `endpoints.kubernetes.io/last-change-trigger-time` annotation
//!   ([`TriggerTimeTracker`], [`set_trigger_time`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

use super::workqueue::ObjectKey;
use crate::api::pod as podutil;
use crate::api::Object;
use crate::apiserver::WatchEventType;
use crate::client::Informer;

/// `discovery.LabelServiceName`: the Service an EndpointSlice belongs to.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// `discovery.LabelManagedBy`: the controller that manages an EndpointSlice.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// `v1.IsHeadlessService`: set (empty value) on the endpoints of a Service without a ClusterIP.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// `v1.LabelTopologyZone`: the node label an endpoint's zone comes from.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// `v1.EndpointsLastChangeTriggerTime`.
pub const ANNOTATION_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// A Service's selector, `None` when it has none. An empty `selector: {}` counts as none: the
/// API server stores objects as protobuf, where an empty map and a missing one are the same, so
/// upstream controllers see `nil` for both.
pub fn selector_of(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec.as_ref()?.selector.as_ref().filter(|s| !s.is_empty())
}

/// The selector of a Service whose endpoints the controllers write: `None` for ExternalName
/// Services (issues.k8s.io/105986) and Services without a selector (their endpoints are
/// written by someone else, e.g. the API server's own reconciler for `kubernetes`).
pub fn managed_selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    if svc.spec.as_ref()?.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    selector_of(svc)
}

/// Whether a Service selector (a set of `key=value` pairs) matches a pod's labels.
pub fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// `spec.publishNotReadyAddresses`.
pub fn publish_not_ready(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.publish_not_ready_addresses).unwrap_or(false)
}

/// `spec.clusterIP`, "" when unset.
pub fn cluster_ip(svc: &Service) -> &str {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).unwrap_or("")
}

/// helper.IsServiceIPSet: a ClusterIP that is neither empty nor `None` (else the Service's
/// endpoints carry the headless label).
pub fn is_service_ip_set(svc: &Service) -> bool {
    let ip = cluster_ip(svc);
    !ip.is_empty() && ip != "None"
}

/// `spec.ports`.
pub fn service_ports(svc: &Service) -> &[ServicePort] {
    svc.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or(&[])
}

/// Whether an IP string is IPv6 (kubesim's pod network is IPv4; the check keeps the
/// address-family logic of upstream intact).
pub fn is_ipv6(ip: &str) -> bool {
    ip.contains(':')
}

/// `status.podIPs` (upstream reads the plural field for endpoints).
pub fn pod_ips(pod: &Pod) -> Vec<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ips.as_ref())
        .into_iter()
        .flatten()
        .map(|p| p.ip.as_str())
        .collect()
}

/// ShouldPodBeInEndpoints (staging/src/k8s.io/endpointslice/util/controller_utils.go): not in
/// a terminal phase (Succeeded/Failed), has a pod IP, and is not terminating unless
/// `include_terminating` (the EndpointSlice controller always includes terminating pods; the
/// Endpoints controller only with `publishNotReadyAddresses`).
pub fn should_pod_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    if podutil::is_terminal(pod) {
        return false;
    }
    let status = pod.status.as_ref();
    let has_ip = status.and_then(|s| s.pod_ip.as_deref()).is_some_and(|ip| !ip.is_empty())
        || status.and_then(|s| s.pod_ips.as_ref()).is_some_and(|ips| !ips.is_empty());
    if !has_ip {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

fn hostname_and_subdomain(pod: &Pod) -> (&str, &str) {
    let spec = pod.spec.as_ref();
    (
        spec.and_then(|s| s.hostname.as_deref()).unwrap_or(""),
        spec.and_then(|s| s.subdomain.as_deref()).unwrap_or(""),
    )
}

/// The pod's `spec.hostname` when its endpoint carries it (ShouldSetHostname): a hostname is
/// set and `spec.subdomain` names this Service, in the same namespace.
pub fn endpoint_hostname<'a>(pod: &'a Pod, svc: &Service) -> Option<&'a str> {
    let (hostname, subdomain) = hostname_and_subdomain(pod);
    let same = !hostname.is_empty()
        && subdomain == svc.metadata.name.as_deref().unwrap_or("")
        && svc.metadata.namespace == pod.metadata.namespace;
    same.then_some(hostname)
}

/// FindPort (pkg/api/v1/pod/util.go, also staging/src/k8s.io/endpointslice/utils.go): the
/// container port a service port targets. A numeric `targetPort` is used as is; a named one is
/// looked up among the ports of the pod's containers, then of its sidecars (init containers
/// with `restartPolicy: Always`), matching name and protocol. `None` when the name resolves to
/// nothing in this pod (the pod then has no endpoint port for that service port).
pub fn find_port(pod: &Pod, svc_port: &ServicePort) -> Option<i32> {
    match svc_port.target_port.as_ref() {
        // Defaulting sets targetPort = port; a missing one can only come from a test.
        None => Some(svc_port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let protocol = svc_port.protocol.as_deref().unwrap_or("TCP");
            let spec = pod.spec.as_ref()?;
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

/// The `targetRef` of a pod's endpoint: kind, namespace, name and UID (no resourceVersion).
pub fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// An object reference without its resourceVersion: endpoints are compared ignoring it
/// (`semanticIgnoreResourceVersion`), so a pod write that changes nothing else causes no
/// endpoints write.
pub fn reference_without_version(r: &ObjectReference) -> ObjectReference {
    ObjectReference { resource_version: None, ..r.clone() }
}

fn non_empty_labels(labels: Option<&BTreeMap<String, String>>) -> Option<&BTreeMap<String, String>> {
    labels.filter(|l| !l.is_empty())
}

/// podEndpointsChanged: (whether the pod changed in a way that may change its endpoints,
/// whether it changed in a way that may change which Services select it).
///
/// Upstream compares the two `DeletionTimestamp` pointers, which differ whenever either is set
/// (two decoded objects never share one): every update of a terminating pod counts as a change.
pub fn pod_endpoints_changed(old: &Pod, new: &Pod) -> (bool, bool) {
    let labels_changed = non_empty_labels(old.metadata.labels.as_ref())
        != non_empty_labels(new.metadata.labels.as_ref())
        || hostname_and_subdomain(old) != hostname_and_subdomain(new);
    if old.metadata.deletion_timestamp.is_some() || new.metadata.deletion_timestamp.is_some() {
        return (true, labels_changed);
    }
    if podutil::is_ready(old) != podutil::is_ready(new) {
        return (true, labels_changed);
    }
    (pod_ips(old) != pod_ips(new), labels_changed)
}

/// getServicesForPod: the Services among `services` in `namespace` whose selector matches
/// `labels` (Services without a selector match nothing).
pub fn matching_services(
    services: &[&Service],
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> BTreeSet<ObjectKey> {
    services
        .iter()
        .filter(|s| s.metadata.namespace.as_deref().unwrap_or("") == namespace)
        .filter(|s| selector_of(s).is_some_and(|sel| selects(sel, labels)))
        .map(|s| (namespace.to_string(), s.metadata.name.clone().unwrap_or_default()))
        .collect()
}

/// [`matching_services`] over a Service informer's cache.
pub fn services_selecting(
    services: &Informer,
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> BTreeSet<ObjectKey> {
    let in_namespace: Vec<&Service> =
        services.in_namespace(namespace).filter_map(|o| o.as_type::<Service>()).collect();
    matching_services(&in_namespace, namespace, labels)
}

/// The Services to sync after a pod event (GetPodServiceMemberships for an add or delete,
/// GetServicesToUpdateOnPodChange for an update); `selecting(namespace, labels)` finds the
/// Services selecting a label set. For an update: nothing unless the pod's endpoints or
/// memberships may have changed; when only its labels (or hostname/subdomain) changed, the
/// Services that gained or lost it; when both changed, every Service selecting it before or
/// after.
pub fn services_for_pod_event(
    old: Option<&Pod>,
    new: Option<&Pod>,
    selecting: impl Fn(&str, Option<&BTreeMap<String, String>>) -> BTreeSet<ObjectKey>,
) -> BTreeSet<ObjectKey> {
    let ns = |p: &Pod| p.metadata.namespace.clone().unwrap_or_default();
    match (old, new) {
        (None, None) => BTreeSet::new(),
        (Some(p), None) | (None, Some(p)) => selecting(&ns(p), p.metadata.labels.as_ref()),
        (Some(old), Some(new)) => {
            if old.metadata.resource_version.is_some()
                && old.metadata.resource_version == new.metadata.resource_version
            {
                return BTreeSet::new();
            }
            let (pod_changed, labels_changed) = pod_endpoints_changed(old, new);
            if !pod_changed && !labels_changed {
                return BTreeSet::new();
            }
            let namespace = ns(new);
            let current = selecting(&namespace, new.metadata.labels.as_ref());
            if !labels_changed {
                return current;
            }
            let before = selecting(&namespace, old.metadata.labels.as_ref());
            if pod_changed {
                current.union(&before).cloned().collect()
            } else {
                current.symmetric_difference(&before).cloned().collect()
            }
        }
    }
}

/// The pods in `namespace` that `selector` selects, from the pod informer.
pub fn selected_pods(
    pods: Option<&Informer>,
    namespace: &str,
    selector: &BTreeMap<String, String>,
) -> Vec<Arc<Object>> {
    pods.iter()
        .flat_map(|p| p.in_namespace(namespace))
        .filter(|o| selects(selector, o.labels()))
        .cloned()
        .collect()
}

/// The Services to sync after a pod watch event, found in the `services` informer (both
/// endpoint controllers' `addPod` / `updatePod` / `deletePod` handlers).
pub fn services_for_pod_watch(
    services: &Informer,
    kind: WatchEventType,
    obj: &Arc<Object>,
    old: Option<&Arc<Object>>,
) -> BTreeSet<ObjectKey> {
    let new = obj.as_type::<Pod>();
    let old = old.and_then(|o| o.as_type::<Pod>());
    let (before, after) = match kind {
        WatchEventType::Added => (None, new),
        WatchEventType::Modified => (old, new),
        WatchEventType::Deleted => (new, None),
    };
    services_for_pod_event(before, after, |ns: &str, labels: Option<&BTreeMap<String, String>>| {
        services_selecting(services, ns, labels)
    })
}

/// A timestamp as a controller reads it from its informer: API timestamps have one-second
/// precision on the wire.
fn wire_precision(t: &DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(0)
}

/// `time.RFC3339Nano` of a UTC instant, as the annotation carries it (`2025-01-01T00:00:05Z`).
pub fn format_trigger_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Sets the last-change-trigger-time annotation, or removes it when there is no trigger time
/// (addTriggerTimeAnnotation); an annotation map left empty is dropped, as the API omits it.
pub fn set_trigger_time(annotations: &mut Option<BTreeMap<String, String>>, t: Option<DateTime<Utc>>) {
    let map = annotations.get_or_insert_with(BTreeMap::new);
    match t {
        Some(t) => {
            map.insert(ANNOTATION_TRIGGER_TIME.to_string(), format_trigger_time(&t));
        }
        None => {
            map.remove(ANNOTATION_TRIGGER_TIME);
        }
    }
    if map.is_empty() {
        *annotations = None;
    }
}

#[derive(Clone, Debug, Default)]
struct ServiceState {
    last_service_trigger: Option<DateTime<Utc>>,
    last_pod_triggers: BTreeMap<String, DateTime<Utc>>,
}

/// TriggerTimeTracker (staging/src/k8s.io/endpointslice/util/trigger_time_tracker.go): the
/// value of the last-change-trigger-time annotation. A pod's trigger time is its Ready
/// condition's lastTransitionTime, a Service's its creationTimestamp. The first sync of a
/// Service reports its creation time; later syncs the earliest trigger time that changed since
/// the previous sync, or none.
#[derive(Debug, Default)]
pub struct TriggerTimeTracker {
    states: BTreeMap<ObjectKey, ServiceState>,
}

impl TriggerTimeTracker {
    /// ComputeEndpointLastChangeTriggerTime; updates the tracker's state even when the sync
    /// turns out to write nothing.
    pub fn compute(&mut self, namespace: &str, svc: &Service, pods: &[&Pod]) -> Option<DateTime<Utc>> {
        let key = (namespace.to_string(), svc.metadata.name.clone().unwrap_or_default());
        let was_known = self.states.contains_key(&key);
        let state = self.states.entry(key).or_default();
        let mut min_changed: Option<DateTime<Utc>> = None;
        let mut pod_triggers = BTreeMap::new();
        for pod in pods {
            let Some(t) = podutil::pod_condition(pod, "Ready")
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| wire_precision(&t.0))
            else {
                continue;
            };
            let name = pod.metadata.name.clone().unwrap_or_default();
            if state.last_pod_triggers.get(&name).is_none_or(|last| t > *last) {
                min_changed = Some(min_changed.map_or(t, |m| m.min(t)));
            }
            pod_triggers.insert(name, t);
        }
        let service_trigger = svc.metadata.creation_timestamp.as_ref().map(|t| wire_precision(&t.0));
        if let Some(t) = service_trigger {
            if state.last_service_trigger.is_none_or(|last| t > last) {
                min_changed = Some(min_changed.map_or(t, |m| m.min(t)));
            }
        }
        state.last_pod_triggers = pod_triggers;
        state.last_service_trigger = service_trigger;
        if !was_known {
            return service_trigger;
        }
        min_changed
    }

    /// DeleteService.
    pub fn delete_service(&mut self, namespace: &str, name: &str) {
        self.states.remove(&(namespace.to_string(), name.to_string()));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, PodCondition, PodIP, PodSpec, PodStatus, ServiceSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::chrono::TimeZone;

    pub fn at(secs: i64) -> Time {
        Time(Utc.timestamp_opt(1_735_689_600 + secs, 0).single().expect("valid"))
    }

    /// A running pod `name` with IP `ip` on `node`, labels `app=web`, ready or not.
    pub fn pod(name: &str, ip: &str, node: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some(format!("uid-{name}")),
                resource_version: Some("1".into()),
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.into()),
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(vec![ContainerPort {
                        name: Some("http".into()),
                        container_port: 8080,
                        protocol: Some("TCP".into()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                pod_ip: Some(ip.into()),
                pod_ips: Some(vec![PodIP { ip: ip.into() }]),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: Some(at(10)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    /// Service `web` selecting `app=web`, port 80 → `target`.
    pub fn service(target: IntOrString) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("default".into()),
                uid: Some("svc-uid".into()),
                creation_timestamp: Some(at(0)),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                selector: Some([("app".to_string(), "web".to_string())].into()),
                cluster_ip: Some("10.96.0.20".into()),
                ip_families: Some(vec!["IPv4".into()]),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    protocol: Some("TCP".into()),
                    target_port: Some(target),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn which_pods_belong_in_endpoints() {
        // Cases of TestShouldPodBeInEndpoints (endpointslice/util/controller_utils_test.go).
        let running = pod("a", "10.0.0.1", "n1", true);
        assert!(should_pod_be_in_endpoints(&running, false));
        let mut not_ready = pod("a", "10.0.0.1", "n1", false);
        assert!(should_pod_be_in_endpoints(&not_ready, false), "readiness is not a filter");
        for phase in ["Succeeded", "Failed"] {
            not_ready.status.as_mut().unwrap().phase = Some(phase.into());
            assert!(!should_pod_be_in_endpoints(&not_ready, true), "{phase}");
        }
        let mut pending = pod("a", "10.0.0.1", "n1", false);
        let st = pending.status.as_mut().unwrap();
        st.phase = Some("Pending".into());
        st.pod_ip = None;
        st.pod_ips = None;
        assert!(!should_pod_be_in_endpoints(&pending, true), "no IP yet");
        let mut terminating = pod("a", "10.0.0.1", "n1", true);
        terminating.metadata.deletion_timestamp = Some(at(20));
        assert!(!should_pod_be_in_endpoints(&terminating, false));
        assert!(should_pod_be_in_endpoints(&terminating, true));
    }

    #[test]
    fn named_ports_resolve_through_container_ports() {
        // After TestFindPort (pkg/api/v1/pod/util_test.go).
        let mut p = pod("a", "10.0.0.1", "n1", true);
        let spec = p.spec.as_mut().unwrap();
        spec.containers.push(Container {
            name: "d".into(),
            ports: Some(vec![
                ContainerPort {
                    name: Some("dns".into()),
                    container_port: 53,
                    protocol: Some("UDP".into()),
                    ..Default::default()
                },
                ContainerPort {
                    name: Some("metrics".into()),
                    container_port: 9100,
                    protocol: Some("TCP".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        });
        spec.init_containers = Some(vec![
            Container {
                name: "sidecar".into(),
                restart_policy: Some("Always".into()),
                ports: Some(vec![ContainerPort {
                    name: Some("proxy".into()),
                    container_port: 15001,
                    ..Default::default()
                }]),
                ..Default::default()
            },
            Container {
                name: "init".into(),
                ports: Some(vec![ContainerPort {
                    name: Some("setup".into()),
                    container_port: 7000,
                    ..Default::default()
                }]),
                ..Default::default()
            },
        ]);
        let sp = |target: IntOrString, protocol: &str| ServicePort {
            port: 80,
            protocol: Some(protocol.into()),
            target_port: Some(target),
            ..Default::default()
        };
        let named = |n: &str| IntOrString::String(n.into());
        assert_eq!(find_port(&p, &sp(IntOrString::Int(93), "TCP")), Some(93), "a number needs no lookup");
        assert_eq!(find_port(&p, &sp(named("http"), "TCP")), Some(8080));
        assert_eq!(find_port(&p, &sp(named("metrics"), "TCP")), Some(9100), "second container");
        assert_eq!(find_port(&p, &sp(named("dns"), "UDP")), Some(53));
        assert_eq!(find_port(&p, &sp(named("dns"), "TCP")), None, "protocol must match");
        assert_eq!(
            find_port(&p, &sp(named("proxy"), "TCP")),
            Some(15001),
            "sidecar, protocol defaults to TCP"
        );
        assert_eq!(find_port(&p, &sp(named("setup"), "TCP")), None, "plain init containers do not count");
        assert_eq!(find_port(&p, &sp(named("nope"), "TCP")), None);
    }

    #[test]
    fn hostname_only_for_the_matching_subdomain() {
        let svc = service(IntOrString::Int(8080));
        let mut p = pod("a", "10.0.0.1", "n1", true);
        assert_eq!(endpoint_hostname(&p, &svc), None);
        p.spec.as_mut().unwrap().hostname = Some("db-0".into());
        assert_eq!(endpoint_hostname(&p, &svc), None, "no subdomain");
        p.spec.as_mut().unwrap().subdomain = Some("web".into());
        assert_eq!(endpoint_hostname(&p, &svc), Some("db-0"));
        p.metadata.namespace = Some("other".into());
        assert_eq!(endpoint_hostname(&p, &svc), None, "another namespace");
    }

    #[test]
    fn services_to_sync_after_pod_events() {
        let svc_web = service(IntOrString::Int(8080));
        let mut svc_db = service(IntOrString::Int(5432));
        svc_db.metadata.name = Some("db".into());
        svc_db.spec.as_mut().unwrap().selector = Some([("app".to_string(), "db".to_string())].into());
        let mut svc_none = service(IntOrString::Int(1));
        svc_none.metadata.name = Some("manual".into());
        svc_none.spec.as_mut().unwrap().selector = None;
        let mut svc_other_ns = service(IntOrString::Int(1));
        svc_other_ns.metadata.namespace = Some("other".into());
        let all = [&svc_web, &svc_db, &svc_none, &svc_other_ns];
        let lookup =
            |ns: &str, labels: Option<&BTreeMap<String, String>>| matching_services(&all, ns, labels);
        let key = |n: &str| ("default".to_string(), n.to_string());

        let web = pod("a", "10.0.0.1", "n1", false);
        assert_eq!(services_for_pod_event(None, Some(&web), lookup), BTreeSet::from([key("web")]));
        assert_eq!(services_for_pod_event(Some(&web), None, lookup), BTreeSet::from([key("web")]));

        // A write that changes nothing endpoints care about.
        let mut same = web.clone();
        same.metadata.resource_version = Some("2".into());
        same.metadata.annotations = Some([("x".to_string(), "y".to_string())].into());
        assert!(services_for_pod_event(Some(&web), Some(&same), lookup).is_empty());
        // Readiness changed.
        let mut ready = pod("a", "10.0.0.1", "n1", true);
        ready.metadata.resource_version = Some("3".into());
        assert_eq!(services_for_pod_event(Some(&web), Some(&ready), lookup), BTreeSet::from([key("web")]));
        // Relabelled from web to db, nothing else changed: both memberships changed.
        let mut moved = web.clone();
        moved.metadata.resource_version = Some("4".into());
        moved.metadata.labels = Some([("app".to_string(), "db".to_string())].into());
        assert_eq!(
            services_for_pod_event(Some(&web), Some(&moved), lookup),
            BTreeSet::from([key("db"), key("web")])
        );
        // A label no selector looks at: the same Services before and after, nothing to sync.
        let mut extra = web.clone();
        extra.metadata.resource_version = Some("5".into());
        extra.metadata.labels.as_mut().unwrap().insert("tier".into(), "x".into());
        assert!(services_for_pod_event(Some(&web), Some(&extra), lookup).is_empty());
        // Labels and readiness changed: every Service before or after.
        let mut both = ready.clone();
        both.metadata.resource_version = Some("6".into());
        both.metadata.labels = Some([("app".to_string(), "db".to_string())].into());
        assert_eq!(
            services_for_pod_event(Some(&web), Some(&both), lookup),
            BTreeSet::from([key("db"), key("web")])
        );
    }

    #[test]
    fn trigger_time_is_creation_first_then_the_earliest_change() {
        let svc = service(IntOrString::Int(8080));
        let mut t = TriggerTimeTracker::default();
        let a = pod("a", "10.0.0.1", "n1", true);
        assert_eq!(t.compute("default", &svc, &[&a]), Some(at(0).0), "new Service: its creation time");
        assert_eq!(t.compute("default", &svc, &[&a]), None, "nothing changed since");
        let mut b = pod("b", "10.0.0.2", "n1", true);
        b.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time = Some(at(30));
        let mut a2 = a.clone();
        a2.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time = Some(at(25));
        assert_eq!(t.compute("default", &svc, &[&a2, &b]), Some(at(25).0), "the earliest changed one");
        t.delete_service("default", "web");
        assert_eq!(t.compute("default", &svc, &[&a2, &b]), Some(at(0).0));
        assert_eq!(format_trigger_time(&at(5).0), "2025-01-01T00:00:05Z");
        let mut ann = None;
        set_trigger_time(&mut ann, Some(at(5).0));
        assert_eq!(ann.as_ref().unwrap()[ANNOTATION_TRIGGER_TIME], "2025-01-01T00:00:05Z");
        set_trigger_time(&mut ann, None);
        assert_eq!(ann, None);
    }
}
