//! The Endpoints controller (pkg/controller/endpoint/endpoints_controller.go): the legacy
//! `v1.Endpoints` object of every Service with a selector (not ExternalName), named like the
//! Service.
//!
//! Each selected pod with a pod IP, not in a terminal phase and not terminating (terminating
//! pods only with `publishNotReadyAddresses`) gives one address per service port whose target
//! resolves in it: in `addresses` when Ready (or with `publishNotReadyAddresses`), else in
//! `notReadyAddresses`. The subsets are then repacked into the canonical form
//! ([`repack_subsets`]): addresses grouped by the set of ports they serve, sorted. Labels are
//! the Service's, plus `service.kubernetes.io/headless` for a Service without a ClusterIP and
//! `endpoints.kubernetes.io/managed-by: endpoint-controller`. More than 1000 addresses are
//! truncated (annotation `endpoints.kubernetes.io/over-capacity: truncated`). Nothing is
//! written when subsets, labels and the capacity annotation are already right; the Endpoints
//! of a deleted Service are deleted by this controller (they carry no ownerReference).
//!
//! Simplification: upstream orders the ports of a subset and the subsets by an md5 hash of
//! their Go representation; kubesim orders ports by (name, port, protocol) and subsets by
//! their ports, then addresses. Both are canonical orders, so equality checks behave alike.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort as CoreEndpointPort, EndpointSubset, Endpoints, Pod, Service, ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::endpoint_utils::{
    cluster_ip, endpoint_hostname, find_port, is_ipv6, is_service_ip_set, managed_selector, pod_ips,
    pod_reference, publish_not_ready, reference_without_version, selected_pods, service_ports,
    services_for_pod_watch, set_trigger_time, should_pod_be_in_endpoints, TriggerTimeTracker, LABEL_HEADLESS,
};
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::pod as podutil;
use crate::api::{Kind, KindOf, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, Timer};

/// The controller's name, the value of its managed-by label.
pub const CONTROLLER_NAME: &str = "endpoint-controller";
/// Label naming the controller that manages an Endpoints object.
pub const LABEL_MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";
/// `v1.EndpointsOverCapacity`.
pub const ANNOTATION_OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// Most addresses an Endpoints object keeps (maxCapacity).
pub const MAX_CAPACITY: usize = 1000;
/// Retries before a Service is dropped from the queue until its next event (maxRetries).
pub const MAX_RETRIES: u32 = 15;
/// Annotation of leader-election Endpoints, which have no Service and are left alone.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

fn reporter() -> Reporter<'static> {
    Reporter { component: "endpoint-controller", host: None }
}

// ------------------------------------------------------------------------------------------
// Building subsets

/// podToEndpointAddressForService: the pod's address in the Service's first IP family, its
/// node and a reference to it; `None` when the pod has no IP of that family.
pub fn pod_address(svc: &Service, pod: &Pod) -> Option<EndpointAddress> {
    let families = svc.spec.as_ref().and_then(|s| s.ip_families.as_ref());
    let want_v6 = match families.and_then(|f| f.first()) {
        Some(family) => family == "IPv6",
        None if is_service_ip_set(svc) => is_ipv6(cluster_ip(svc)),
        None => pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()).is_some_and(is_ipv6),
    };
    let ip = pod_ips(pod).into_iter().find(|ip| is_ipv6(ip) == want_v6)?;
    Some(EndpointAddress {
        ip: ip.to_string(),
        hostname: None,
        // `&pod.Spec.NodeName`: always set, "" for an unscheduled pod.
        node_name: Some(podutil::node_name(pod).unwrap_or("").to_string()),
        target_ref: Some(pod_reference(pod)),
    })
}

/// endpointPortFromServicePort.
fn endpoint_port(sp: &ServicePort, port: i32) -> CoreEndpointPort {
    CoreEndpointPort {
        name: sp.name.clone().filter(|n| !n.is_empty()),
        port,
        protocol: sp.protocol.clone(),
        app_protocol: sp.app_protocol.clone(),
    }
}

/// The subsets of a Service's Endpoints for `pods` (the pods its selector matches), repacked.
pub fn desired_subsets(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let tolerate_unready = publish_not_ready(svc);
    let ports = service_ports(svc);
    let mut subsets = Vec::new();
    for pod in pods {
        if !should_pod_be_in_endpoints(pod, tolerate_unready) {
            continue;
        }
        let Some(mut address) = pod_address(svc, pod) else { continue };
        address.hostname = endpoint_hostname(pod, svc).map(str::to_string);
        let ready = tolerate_unready || podutil::is_ready(pod);
        // addEndpointSubset: one subset per (address, port), repacked below.
        let mut add = |port: Option<CoreEndpointPort>| {
            let (addresses, not_ready) =
                if ready { (Some(vec![address.clone()]), None) } else { (None, Some(vec![address.clone()])) };
            subsets.push(EndpointSubset {
                addresses,
                not_ready_addresses: not_ready,
                ports: port.map(|p| vec![p]),
            });
        };
        if ports.is_empty() {
            // A headless Service may have no ports.
            if cluster_ip(svc) == "None" {
                add(None);
            }
        } else {
            for sp in ports {
                if let Some(n) = find_port(pod, sp) {
                    add(Some(endpoint_port(sp, n)));
                }
            }
        }
    }
    repack_subsets(&subsets)
}

/// Deduplicates addresses: IP and target UID.
type AddressKey = (String, String);

fn address_key(a: &EndpointAddress) -> AddressKey {
    (a.ip.clone(), a.target_ref.as_ref().and_then(|r| r.uid.clone()).unwrap_or_default())
}

/// Orders ports within a subset.
type PortOrder = (String, i32, String, Option<String>);

fn port_order(p: &CoreEndpointPort) -> PortOrder {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        p.protocol.clone().unwrap_or_default(),
        p.app_protocol.clone(),
    )
}

/// RepackSubsets (pkg/api/v1/endpoints/util.go): expands subsets to (address, port, ready)
/// triples and packs them again into the canonical layout: addresses that serve exactly the
/// same ports with the same readiness share a subset; an address not ready on a port is not
/// ready on it (not-ready wins over ready); port-less subsets (a headless Service without
/// ports) keep their addresses without ports. Addresses sort by IP then target UID.
pub fn repack_subsets(subsets: &[EndpointSubset]) -> Vec<EndpointSubset> {
    /// A port and, for each address on it, whether it is ready there.
    type PortGroup = (Option<CoreEndpointPort>, BTreeMap<AddressKey, bool>);
    // Every distinct address, the first copy seen kept.
    let mut all: BTreeMap<AddressKey, EndpointAddress> = BTreeMap::new();
    // port → address → ready. `None`: the port-less group (upstream's Port -1 sentinel).
    let mut by_port: BTreeMap<Option<PortOrder>, PortGroup> = BTreeMap::new();
    for subset in subsets {
        let ports: Vec<Option<&CoreEndpointPort>> = match subset.ports.as_deref() {
            None | Some([]) => vec![None],
            Some(ports) => ports.iter().map(Some).collect(),
        };
        let ready = subset.addresses.iter().flatten().map(|a| (a, true));
        let not_ready = subset.not_ready_addresses.iter().flatten().map(|a| (a, false));
        let addresses: Vec<(&EndpointAddress, bool)> = ready.chain(not_ready).collect();
        if addresses.is_empty() {
            continue;
        }
        for port in ports {
            let entry =
                by_port.entry(port.map(port_order)).or_insert_with(|| (port.cloned(), BTreeMap::new()));
            for &(address, is_ready) in &addresses {
                let key = address_key(address);
                all.entry(key.clone()).or_insert_with(|| address.clone());
                // Not ready on a port wins over ready on it.
                let slot = entry.1.entry(key).or_insert(is_ready);
                *slot = *slot && is_ready;
            }
        }
    }
    // Group ports by the exact (address, ready) set they map to.
    let mut by_addresses: BTreeMap<Vec<(AddressKey, bool)>, Vec<CoreEndpointPort>> = BTreeMap::new();
    for (port, addresses) in by_port.into_values() {
        let key: Vec<(AddressKey, bool)> = addresses.into_iter().collect();
        let ports = by_addresses.entry(key).or_default();
        if let Some(p) = port {
            ports.push(p);
        }
    }
    let mut out: Vec<EndpointSubset> = by_addresses
        .into_iter()
        .map(|(addresses, mut ports)| {
            let pick = |want: bool| -> Option<Vec<EndpointAddress>> {
                let list: Vec<EndpointAddress> =
                    addresses.iter().filter(|(_, r)| *r == want).map(|(k, _)| all[k].clone()).collect();
                (!list.is_empty()).then_some(list)
            };
            ports.sort_by_key(port_order);
            EndpointSubset {
                addresses: pick(true),
                not_ready_addresses: pick(false),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect();
    out.sort_by_cached_key(subset_order);
    out
}

type SubsetOrder = (Vec<PortOrder>, Vec<AddressKey>, Vec<AddressKey>);

fn subset_order(s: &EndpointSubset) -> SubsetOrder {
    let keys = |l: &Option<Vec<EndpointAddress>>| l.iter().flatten().map(address_key).collect::<Vec<_>>();
    (s.ports.iter().flatten().map(port_order).collect(), keys(&s.addresses), keys(&s.not_ready_addresses))
}

/// Subsets as `apiequality.Semantic` compares them with target resourceVersions ignored:
/// empty lists are the same as missing ones.
fn comparable(subsets: Option<&[EndpointSubset]>) -> Vec<EndpointSubset> {
    let addresses = |l: &Option<Vec<EndpointAddress>>| {
        let list: Vec<EndpointAddress> = l
            .iter()
            .flatten()
            .map(|a| EndpointAddress {
                target_ref: a.target_ref.as_ref().map(reference_without_version),
                ..a.clone()
            })
            .collect();
        (!list.is_empty()).then_some(list)
    };
    subsets
        .unwrap_or(&[])
        .iter()
        .map(|s| EndpointSubset {
            addresses: addresses(&s.addresses),
            not_ready_addresses: addresses(&s.not_ready_addresses),
            ports: s.ports.clone().filter(|p| !p.is_empty()),
        })
        .collect()
}

fn address_count(subsets: Option<&[EndpointSubset]>) -> usize {
    subsets
        .unwrap_or(&[])
        .iter()
        .map(|s| {
            s.addresses.as_ref().map_or(0, Vec::len) + s.not_ready_addresses.as_ref().map_or(0, Vec::len)
        })
        .sum()
}

/// capacityAnnotationSetCorrectly: at most [`MAX_CAPACITY`] addresses and no over-capacity
/// annotation.
fn capacity_annotation_ok(ep: &Endpoints) -> bool {
    address_count(ep.subsets.as_deref()) <= MAX_CAPACITY
        && !ep.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(ANNOTATION_OVER_CAPACITY))
}

/// truncateEndpoints: keeps at most [`MAX_CAPACITY`] addresses, ready ones first, spread over
/// the subsets in proportion to their size (rounded up, the last subsets get what is left).
/// Returns whether anything was cut.
pub fn truncate_endpoints(subsets: &mut [EndpointSubset]) -> bool {
    let ready: usize = subsets.iter().map(|s| s.addresses.as_ref().map_or(0, Vec::len)).sum();
    let not_ready: usize = subsets.iter().map(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len)).sum();
    if ready + not_ready <= MAX_CAPACITY {
        return false;
    }
    let truncate_ready = ready > MAX_CAPACITY;
    let (max, total) = if truncate_ready { (MAX_CAPACITY, ready) } else { (MAX_CAPACITY - ready, not_ready) };
    let mut can_add = max;
    for s in subsets.iter_mut() {
        let list = if truncate_ready { &mut s.addresses } else { &mut s.not_ready_addresses };
        let n = list.as_ref().map_or(0, Vec::len);
        let share = ((n as f64 / total as f64) * max as f64).ceil() as usize;
        let keep = share.min(can_add);
        if let Some(l) = list.as_mut() {
            l.truncate(keep);
        }
        can_add -= list.as_ref().map_or(0, Vec::len);
        if truncate_ready {
            s.not_ready_addresses = None;
        }
    }
    true
}

/// The labels an Endpoints object of `svc` carries.
fn endpoints_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    if is_service_ip_set(svc) {
        labels.remove(LABEL_HEADLESS);
    } else {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    labels.insert(LABEL_MANAGED_BY.into(), CONTROLLER_NAME.into());
    labels
}

/// Whether existing labels already mirror the Service's (the headless and managed-by labels
/// aside, which the Service does not carry) and carry this controller's managed-by label.
fn labels_current(current: Option<&BTreeMap<String, String>>, svc: &Service) -> bool {
    let current = current.cloned().unwrap_or_default();
    let mut compare = current.clone();
    compare.remove(LABEL_HEADLESS);
    compare.remove(LABEL_MANAGED_BY);
    let wanted = svc.metadata.labels.clone().unwrap_or_default();
    compare == wanted && current.get(LABEL_MANAGED_BY).map(String::as_str) == Some(CONTROLLER_NAME)
}

// ------------------------------------------------------------------------------------------
// The controller

/// The controller component.
#[derive(Default)]
pub struct EndpointsController {
    services: Option<Informer>,
    pods: Option<Informer>,
    endpoints: Option<Informer>,
    queue: ControllerQueue,
    /// staleEndpointsTracker: the resourceVersion each Endpoints had before this controller's
    /// last update of it; finding it again in the cache means the cache is behind.
    stale: BTreeMap<ObjectKey, String>,
    trigger_times: TriggerTimeTracker,
}

impl EndpointsController {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_pod(&mut self, kind: WatchEventType, obj: &Arc<Object>, old: Option<&Arc<Object>>) {
        let Some(services) = &self.services else { return };
        let keys = services_for_pod_watch(services, kind, obj, old);
        for key in keys {
            self.queue.add(key);
        }
    }

    /// syncService.
    fn sync(&mut self, ctx: &mut Context<'_>, key: &ObjectKey) -> Result<(), String> {
        let (ns, name) = (key.0.as_str(), key.1.as_str());
        let Some(svc_obj) = self.services.as_ref().and_then(|s| s.get(ns, name)).cloned() else {
            // The Service is gone: so are its Endpoints.
            match ctx.api.delete(Kind::Endpoints, Some(ns), name, DeleteOptions::default()) {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.to_string()),
            }
            self.trigger_times.delete_service(ns, name);
            self.stale.remove(key);
            return Ok(());
        };
        let Some(svc) = svc_obj.as_type::<Service>() else { return Ok(()) };
        let Some(selector) = managed_selector(svc) else { return Ok(()) };
        let pod_objs = selected_pods(self.pods.as_ref(), ns, selector);
        let pods: Vec<&Pod> = pod_objs.iter().filter_map(|o| o.as_type::<Pod>()).collect();
        let trigger = self.trigger_times.compute(ns, svc, &pods);
        let subsets = desired_subsets(svc, &pods);

        let cached = self.endpoints.as_ref().and_then(|i| i.get_as::<Endpoints>(ns, name)).cloned();
        if let Some(current) = &cached {
            let rv = current.metadata.resource_version.clone().unwrap_or_default();
            if self.stale.get(key) == Some(&rv) {
                return Err(format!(
                    "endpoints informer cache is out of date, resource version {rv} already processed for endpoints {ns}/{name}"
                ));
            }
        }
        let create =
            cached.as_ref().is_none_or(|c| c.metadata.resource_version.as_deref().unwrap_or("").is_empty());
        let current = cached.unwrap_or_else(|| Endpoints {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(ns.to_string()),
                labels: svc.metadata.labels.clone(),
                ..Default::default()
            },
            subsets: None,
        });
        if !create
            && comparable(current.subsets.as_deref()) == comparable(Some(subsets.as_slice()))
            && labels_current(current.metadata.labels.as_ref(), svc)
            && capacity_annotation_ok(&current)
        {
            return Ok(());
        }

        let mut next = current.clone();
        next.subsets = Some(subsets);
        set_trigger_time(&mut next.metadata.annotations, trigger);
        let truncated = next.subsets.as_mut().is_some_and(|s| truncate_endpoints(s));
        let annotations = next.metadata.annotations.get_or_insert_with(BTreeMap::new);
        if truncated {
            annotations.insert(ANNOTATION_OVER_CAPACITY.into(), "truncated".into());
        } else {
            annotations.remove(ANNOTATION_OVER_CAPACITY);
        }
        if annotations.is_empty() {
            next.metadata.annotations = None;
        }
        if next.subsets.as_ref().is_some_and(Vec::is_empty) {
            next.subsets = None;
        }
        next.metadata.labels = Some(endpoints_labels(svc));

        let result = if create {
            ctx.api.create(next.clone().into_object())
        } else {
            ctx.api.update(next.clone().into_object())
        };
        match result {
            Ok(written) => {
                if !create && written.meta().resource_version != current.metadata.resource_version {
                    let rv = current.metadata.resource_version.clone().unwrap_or_default();
                    self.stale.insert(key.clone(), rv);
                }
                Ok(())
            }
            Err(e) => {
                let (reason, message) = if create {
                    (
                        "FailedToCreateEndpoint",
                        format!("Failed to create endpoint for service {ns}/{name}: {e}"),
                    )
                } else {
                    ("FailedToUpdateEndpoint", format!("Failed to update endpoint {ns}/{name}: {e}"))
                };
                record_event(ctx, reporter(), &next.into_object(), "Warning", reason, message);
                Err(e.to_string())
            }
        }
    }
}

impl Component for EndpointsController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.services = Informer::start(ctx, WatchSpec::all(Kind::Service)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.endpoints = Informer::start(ctx, WatchSpec::all(Kind::Endpoints)).ok();
                self.queue.add_all(self.services.as_ref());
                // checkLeftoverEndpoints: Endpoints whose Service is gone are deleted.
                let leftovers: Vec<ObjectKey> = self
                    .endpoints
                    .iter()
                    .flat_map(|i| i.iter())
                    .filter(|o| {
                        !o.meta().annotations.as_ref().is_some_and(|a| a.contains_key(LEADER_ANNOTATION))
                    })
                    .map(|o| key_of(o))
                    .collect();
                for key in leftovers {
                    self.queue.add(key);
                }
            }
            Event::Watch(ev) => {
                if self.services.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.services.as_mut().expect("checked").apply(&ev);
                    self.queue.add(key_of(&ev.object));
                } else if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(ev.kind, &ev.object, old.as_ref());
                } else if self.endpoints.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.endpoints.as_mut().expect("checked").apply(&ev);
                    if ev.kind == WatchEventType::Deleted {
                        self.queue.add(key_of(&ev.object));
                    }
                }
            }
            Event::Timer(Timer::Reconcile) => {
                let now = ctx.now();
                for key in self.queue.due(now) {
                    match self.sync(ctx, &key) {
                        Ok(()) => self.queue.forget(&key),
                        // The default controller rate limiter: 5ms doubling, 15 retries.
                        Err(_) if self.queue.failures(&key) < MAX_RETRIES => {
                            self.queue.add_rate_limited(key, now)
                        }
                        Err(_) => self.queue.forget(&key),
                    }
                }
            }
            _ => {}
        }
        self.queue.arm(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::endpoint_utils::tests::{at, pod, service};
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn addr(ip: &str) -> EndpointAddress {
        EndpointAddress { ip: ip.into(), ..Default::default() }
    }

    fn addr_uid(ip: &str, uid: &str) -> EndpointAddress {
        EndpointAddress {
            ip: ip.into(),
            target_ref: Some(ObjectReference { uid: Some(uid.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    fn port(p: i32) -> CoreEndpointPort {
        CoreEndpointPort { port: p, ..Default::default() }
    }

    fn subset(
        ready: &[EndpointAddress],
        not_ready: &[EndpointAddress],
        ports: &[CoreEndpointPort],
    ) -> EndpointSubset {
        EndpointSubset {
            addresses: (!ready.is_empty()).then(|| ready.to_vec()),
            not_ready_addresses: (!not_ready.is_empty()).then(|| not_ready.to_vec()),
            ports: (!ports.is_empty()).then(|| ports.to_vec()),
        }
    }

    #[test]
    fn repacking_gives_the_canonical_layout() {
        // Cases of TestPackSubsets (pkg/api/v1/endpoints/util_test.go).
        let (a, b, c) = (addr("1.1.1.1"), addr("2.2.2.2"), addr("3.3.3.3"));
        let cases: Vec<(&str, Vec<EndpointSubset>, Vec<EndpointSubset>)> = vec![
            ("empty everything", vec![], vec![]),
            ("empty addresses", vec![subset(&[], &[], &[port(111)])], vec![]),
            (
                "empty ports",
                vec![subset(std::slice::from_ref(&a), &[], &[])],
                vec![subset(std::slice::from_ref(&a), &[], &[])],
            ),
            (
                "one set, one ip, one port",
                vec![subset(std::slice::from_ref(&a), &[], &[port(111)])],
                vec![subset(std::slice::from_ref(&a), &[], &[port(111)])],
            ),
            (
                "one set, one not-ready ip, one port",
                vec![subset(&[], std::slice::from_ref(&a), &[port(111)])],
                vec![subset(&[], std::slice::from_ref(&a), &[port(111)])],
            ),
            (
                "one set, two ips, one port, unsorted",
                vec![subset(&[b.clone(), a.clone()], &[], &[port(111)])],
                vec![subset(&[a.clone(), b.clone()], &[], &[port(111)])],
            ),
            (
                "one set, one ip twice with different uids",
                vec![subset(&[addr_uid("1.1.1.1", "u2"), addr_uid("1.1.1.1", "u1")], &[], &[port(111)])],
                vec![subset(&[addr_uid("1.1.1.1", "u1"), addr_uid("1.1.1.1", "u2")], &[], &[port(111)])],
            ),
            (
                "two sets, same ip, different ports",
                vec![
                    subset(std::slice::from_ref(&a), &[], &[port(222)]),
                    subset(std::slice::from_ref(&a), &[], &[port(111)]),
                ],
                vec![subset(std::slice::from_ref(&a), &[], &[port(111), port(222)])],
            ),
            (
                "two sets, same ip, same port, ready and not ready: not ready wins",
                vec![
                    subset(std::slice::from_ref(&a), &[], &[port(111)]),
                    subset(&[], std::slice::from_ref(&a), &[port(111)]),
                ],
                vec![subset(&[], std::slice::from_ref(&a), &[port(111)])],
            ),
            (
                "two sets, different ips, same port",
                vec![
                    subset(std::slice::from_ref(&b), &[], &[port(111)]),
                    subset(std::slice::from_ref(&a), &[], &[port(111)]),
                ],
                vec![subset(&[a.clone(), b.clone()], &[], &[port(111)])],
            ),
            (
                "two sets, ready and not-ready ips, same port",
                vec![
                    subset(std::slice::from_ref(&a), &[], &[port(111)]),
                    subset(&[], std::slice::from_ref(&b), &[port(111)]),
                ],
                vec![subset(std::slice::from_ref(&a), std::slice::from_ref(&b), &[port(111)])],
            ),
            (
                "three sets, overlapping ips and ports: grouped by the ports each ip serves",
                vec![
                    subset(&[a.clone(), b.clone()], &[], &[port(111)]),
                    subset(&[b.clone(), c.clone()], &[], &[port(222)]),
                    subset(std::slice::from_ref(&a), &[], &[port(333)]),
                ],
                vec![
                    subset(&[a.clone(), b.clone()], &[], &[port(111)]),
                    subset(&[b.clone(), c.clone()], &[], &[port(222)]),
                    subset(std::slice::from_ref(&a), &[], &[port(333)]),
                ],
            ),
            (
                "two sets with the same ips on different ports merge",
                vec![
                    subset(&[a.clone(), b.clone()], &[], &[port(222)]),
                    subset(&[b.clone(), a.clone()], &[], &[port(111)]),
                ],
                vec![subset(&[a.clone(), b.clone()], &[], &[port(111), port(222)])],
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(repack_subsets(&input), want, "{name}");
        }
    }

    #[test]
    fn subsets_split_ready_not_ready_and_terminating_pods() {
        let svc = service(IntOrString::String("http".into()));
        let ready = pod("a", "10.0.0.1", "n1", true);
        let not_ready = pod("b", "10.0.0.2", "n2", false);
        let mut terminating = pod("c", "10.0.0.3", "n1", true);
        terminating.metadata.deletion_timestamp = Some(at(30));
        let mut done = pod("d", "10.0.0.4", "n1", false);
        done.status.as_mut().unwrap().phase = Some("Succeeded".into());
        let mut other_port = pod("e", "10.0.0.5", "n1", true);
        other_port.spec.as_mut().unwrap().containers[0].ports.as_mut().unwrap()[0].container_port = 9090;
        let pods = [&ready, &not_ready, &terminating, &done, &other_port];

        let got = desired_subsets(&svc, &pods);
        let http = |n: i32| CoreEndpointPort {
            name: Some("http".into()),
            port: n,
            protocol: Some("TCP".into()),
            app_protocol: None,
        };
        let want_addr = |p: &Pod| {
            let mut a = pod_address(&svc, p).unwrap();
            a.hostname = None;
            a
        };
        assert_eq!(
            got,
            vec![
                subset(&[want_addr(&ready)], &[want_addr(&not_ready)], &[http(8080)]),
                subset(&[want_addr(&other_port)], &[], &[http(9090)]),
            ]
        );
        let a = got[0].addresses.as_ref().unwrap()[0].clone();
        assert_eq!(a.node_name.as_deref(), Some("n1"));
        assert_eq!(a.target_ref.unwrap().name.as_deref(), Some("a"));

        // publishNotReadyAddresses: every pod with an IP is an address, terminating ones too.
        let mut publish = svc.clone();
        publish.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
        let got = desired_subsets(&publish, &pods);
        let ips: Vec<&str> = got[0].addresses.iter().flatten().map(|a| a.ip.as_str()).collect();
        assert_eq!(ips, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert_eq!(got[0].not_ready_addresses, None);

        // A headless Service without ports lists addresses without ports.
        let mut headless = service(IntOrString::Int(1));
        let spec = headless.spec.as_mut().unwrap();
        spec.cluster_ip = Some("None".into());
        spec.ports = None;
        let got = desired_subsets(&headless, &[&ready]);
        assert_eq!(got, vec![subset(&[want_addr(&ready)], &[], &[])]);
        assert!(!labels_current(None, &headless));
        assert_eq!(endpoints_labels(&headless)[LABEL_HEADLESS], "");
        assert_eq!(endpoints_labels(&svc)[LABEL_MANAGED_BY], CONTROLLER_NAME);
        assert!(labels_current(Some(&endpoints_labels(&svc)), &svc));
    }

    #[test]
    fn equality_ignores_target_resource_versions_and_empty_lists() {
        let mut a = addr_uid("1.1.1.1", "u1");
        let plain = vec![subset(std::slice::from_ref(&a), &[], &[port(80)])];
        a.target_ref.as_mut().unwrap().resource_version = Some("42".into());
        let mut versioned = vec![subset(&[a], &[], &[port(80)])];
        versioned[0].not_ready_addresses = Some(vec![]);
        assert_eq!(comparable(Some(plain.as_slice())), comparable(Some(versioned.as_slice())));
        assert_eq!(comparable(None), comparable(Some(&[][..])));
    }

    #[test]
    fn over_capacity_keeps_ready_addresses_first() {
        let many = |n: usize, offset: usize| -> Vec<EndpointAddress> {
            (0..n).map(|i| addr(&format!("10.{}.{}.{}", offset, i / 256, i % 256))).collect()
        };
        let mut subsets =
            vec![subset(&many(600, 0), &many(300, 1), &[port(80)]), subset(&many(300, 2), &[], &[port(81)])];
        assert!(truncate_endpoints(&mut subsets));
        let count = |l: &Option<Vec<EndpointAddress>>| l.as_ref().map_or(0, Vec::len);
        assert_eq!((count(&subsets[0].addresses), count(&subsets[0].not_ready_addresses)), (600, 100));
        assert_eq!(count(&subsets[1].addresses), 300);
        let mut small = vec![subset(&many(10, 0), &[], &[port(80)])];
        assert!(!truncate_endpoints(&mut small));
    }
}
