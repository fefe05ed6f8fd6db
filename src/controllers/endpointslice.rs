//! The EndpointSlice controller (pkg/controller/endpointslice/endpointslice_controller.go and
//! its reconciler, staging/src/k8s.io/endpointslice/reconciler.go, utils.go).
//!
//! For every Service with a selector (not ExternalName) it keeps EndpointSlices listing the
//! Service's pods: one endpoint per pod with a pod IP and not in a terminal phase, terminating
//! pods included (`ready` false unless `publishNotReadyAddresses`, `serving` = pod Ready,
//! `terminating` = being deleted), with the pod's node, the node's zone, the hostname when the
//! pod's subdomain names the Service, and a `targetRef` to the pod. Endpoints are grouped by
//! port set (a named `targetPort` resolves per pod, so pods can land in different groups), at
//! most 100 per slice. Slices are named `<service>-xxxxx`, labelled with the service name,
//! `managed-by: endpointslice-controller.k8s.io`, the Service's own labels and the headless
//! label, and owned by the Service (the garbage collector deletes them with it).
//!
//! The reconciler changes as little as it can: endpoints stay in the slice they are in and are
//! replaced in place when their conditions change, new ones fill the slices being written
//! anyway, then an unchanged slice they fit in, and only then a new slice; an emptied slice is
//! deleted, or reused for a slice that would otherwise be created. A Service with no endpoints
//! keeps one empty placeholder slice. A sync that changes nothing writes nothing.
//!
//! The controller's own writes do not trigger syncs: a tracker remembers the version it wrote
//! of each slice, so only someone else's change (or delete) of a managed slice re-syncs the
//! Service, one second later (endpointSliceChangeMinSyncDelay); a sync that finds its informer
//! older than its own last writes fails and is retried (1s doubling up to 1000s, 15 retries).
//!
//! Simplifications: the slice tracker compares `metadata.generation` when the API server sets
//! it and the resourceVersion otherwise (kubesim's API server does not set a generation on
//! EndpointSlices); topology hints / `trafficDistribution` are not modelled (hints are dropped
//! from slices being written, as upstream does without them); where upstream iterates Go maps
//! (random order), kubesim uses a fixed one: desired endpoints are placed in (addresses,
//! hostname, namespace, name) order, port groups and slices in name order, and a slice keeps
//! the Service's port order where upstream sorts ports by a hash.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::chrono::{DateTime, Utc};

use super::endpoint_utils::{
    endpoint_hostname, find_port, is_ipv6, is_service_ip_set, managed_selector, pod_ips, pod_reference,
    publish_not_ready, reference_without_version, selected_pods, service_ports, services_for_pod_watch,
    set_trigger_time, should_pod_be_in_endpoints, TriggerTimeTracker, LABEL_HEADLESS, LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME, LABEL_ZONE,
};
use super::ownership::controller_ref;
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::pod as podutil;
use crate::api::{Kind, KindOf, Object};
use crate::apiserver::{DeleteOptions, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

/// `managed-by` value of the slices this controller writes (controllerQualifiedName).
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// Delay before a Service syncs after someone else changed one of its slices.
pub const SLICE_CHANGE_MIN_SYNC_DELAY: SimDuration = SimDuration::from_secs(1);
/// First retry delay of a failed sync (defaultSyncBackOff); doubles per failure.
pub const SYNC_BACKOFF: SimDuration = SimDuration::from_secs(1);
/// Longest retry delay (maxSyncBackOff).
pub const MAX_SYNC_BACKOFF: SimDuration = SimDuration::from_secs(1000);
/// Retries before a Service is dropped from the queue until its next event (maxRetries).
pub const MAX_RETRIES: u32 = 15;

fn reporter() -> Reporter<'static> {
    Reporter { component: "endpoint-slice-controller", host: None }
}

// ------------------------------------------------------------------------------------------
// Building endpoints and slices (staging/src/k8s.io/endpointslice/utils.go)

/// The address types a Service's slices carry (getAddressTypesForService): its ipFamilies;
/// without them the ClusterIP's family, and both families for a headless Service.
pub fn address_types(svc: &Service) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for family in svc.spec.as_ref().and_then(|s| s.ip_families.as_ref()).into_iter().flatten() {
        match family.as_str() {
            "IPv4" => {
                out.insert("IPv4");
            }
            "IPv6" => {
                out.insert("IPv6");
            }
            _ => {}
        }
    }
    if !out.is_empty() {
        return out;
    }
    if is_service_ip_set(svc) {
        let ip = svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).unwrap_or("");
        out.insert(if is_ipv6(ip) { "IPv6" } else { "IPv4" });
        return out;
    }
    out.insert("IPv4");
    out.insert("IPv6");
    out
}

/// podToEndpoint: the endpoint of a pod for a Service and address type. `zone` is the zone
/// label of the pod's node.
///
/// Conditions: `serving` = pod Ready; `terminating` = pod being deleted; `ready` = `serving`
/// and not terminating, or always with `publishNotReadyAddresses`.
pub fn pod_to_endpoint(pod: &Pod, zone: Option<String>, svc: &Service, address_type: &str) -> Endpoint {
    let serving = podutil::is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let ready = publish_not_ready(svc) || (serving && !terminating);
    let want_v6 = address_type == "IPv6";
    Endpoint {
        addresses: pod_ips(pod).into_iter().filter(|ip| is_ipv6(ip) == want_v6).map(str::to_string).collect(),
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: endpoint_hostname(pod, svc).map(str::to_string),
        node_name: podutil::node_name(pod).map(str::to_string),
        target_ref: Some(pod_reference(pod)),
        zone: zone.filter(|z| !z.is_empty()),
        deprecated_topology: None,
        hints: None,
    }
}

/// getEndpointPorts: one port per service port whose target resolves in this pod (in the
/// Service's order); a headless Service may have none.
pub fn endpoint_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    service_ports(svc)
        .iter()
        .filter_map(|sp| {
            let port = find_port(pod, sp)?;
            Some(EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

/// Identifies a group of endpoints by their port set (PortMapKey): the ports in a fixed order,
/// so the same set always maps to the same group.
pub type PortKey = Vec<(String, String, i32, Option<String>)>;

/// The [`PortKey`] of a port list (`None` and empty are the same set).
pub fn port_key(ports: Option<&[EndpointPort]>) -> PortKey {
    let mut key: PortKey = ports
        .unwrap_or(&[])
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.protocol.clone().unwrap_or_default(),
                p.port.unwrap_or(0),
                p.app_protocol.clone(),
            )
        })
        .collect();
    key.sort();
    key
}

/// Identifies an endpoint within a port group (endpointHash): its addresses, hostname and the
/// target's namespace and name. Conditions, node and zone can then change in place.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndpointKey {
    addresses: Vec<String>,
    hostname: String,
    namespace: String,
    name: String,
}

pub fn endpoint_key(ep: &Endpoint) -> EndpointKey {
    let mut addresses = ep.addresses.clone();
    addresses.sort();
    let target = ep.target_ref.as_ref();
    EndpointKey {
        addresses,
        hostname: ep.hostname.clone().unwrap_or_default(),
        namespace: target.and_then(|t| t.namespace.clone()).unwrap_or_default(),
        name: target.and_then(|t| t.name.clone()).unwrap_or_default(),
    }
}

/// EndpointsEqualBeyondHash: same node, zone, conditions and target (ignoring its
/// resourceVersion) — what the key does not cover.
pub fn endpoints_equal_beyond_hash(a: &Endpoint, b: &Endpoint) -> bool {
    let cond = |e: &Endpoint| {
        let c = e.conditions.clone().unwrap_or_default();
        (c.ready, c.serving, c.terminating)
    };
    a.node_name == b.node_name
        && a.zone == b.zone
        && cond(a) == cond(b)
        && a.target_ref.as_ref().map(reference_without_version)
            == b.target_ref.as_ref().map(reference_without_version)
}

fn is_reserved_label(key: &str) -> bool {
    key == LABEL_SERVICE_NAME || key == LABEL_MANAGED_BY || key == LABEL_HEADLESS
}

/// setEndpointSliceLabels: the labels a slice of `svc` should carry (the Service's labels
/// except the reserved ones, the headless label when the Service has no ClusterIP, the service
/// name and managed-by), and whether the slice's non-reserved labels differ from the
/// Service's.
pub fn slice_labels(
    current: Option<&BTreeMap<String, String>>,
    svc: &Service,
) -> (BTreeMap<String, String>, bool) {
    let slice_own: BTreeMap<&String, &String> =
        current.into_iter().flatten().filter(|(k, _)| !is_reserved_label(k)).collect();
    let mut labels: BTreeMap<String, String> = svc
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !is_reserved_label(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let changed =
        slice_own.len() != labels.len() || slice_own.iter().any(|(k, v)| labels.get(*k) != Some(*v));
    if !is_service_ip_set(svc) {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    labels.insert(LABEL_SERVICE_NAME.into(), svc.metadata.name.clone().unwrap_or_default());
    labels.insert(LABEL_MANAGED_BY.into(), CONTROLLER_NAME.into());
    (labels, changed)
}

/// newEndpointSlice: an empty slice of `svc` for a port set, to be created with generateName
/// `<service>-` and a controller reference to the Service.
pub fn new_slice(svc: &Service, ports: &[EndpointPort], address_type: &str) -> EndpointSlice {
    let (labels, _) = slice_labels(None, svc);
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", svc.metadata.name.as_deref().unwrap_or(""))),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![controller_ref(Kind::Service, &svc.metadata)]),
            ..Default::default()
        },
        address_type: address_type.to_string(),
        endpoints: Vec::new(),
        ports: (!ports.is_empty()).then(|| ports.to_vec()),
    }
}

/// ownedBy: the slice has an ownerReference to this Service (by UID, kind and version).
pub fn owned_by(slice: &EndpointSlice, svc: &Service) -> bool {
    let uid = svc.metadata.uid.as_deref().unwrap_or("");
    slice
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.kind == "Service" && o.api_version == "v1")
}

/// placeholderSliceCompare: an existing slice equals the placeholder when it has the same
/// namespace, labels and address type and no endpoints or ports.
fn placeholder_equal(a: &EndpointSlice, b: &EndpointSlice) -> bool {
    let labels = |s: &EndpointSlice| s.metadata.labels.clone().unwrap_or_default();
    a.metadata.namespace == b.metadata.namespace
        && labels(a) == labels(b)
        && a.address_type == b.address_type
        && a.endpoints.is_empty()
        && b.endpoints.is_empty()
        && a.ports.as_ref().is_none_or(Vec::is_empty)
        && b.ports.as_ref().is_none_or(Vec::is_empty)
}

fn slice_name(s: &EndpointSlice) -> String {
    s.metadata.name.clone().unwrap_or_default()
}

/// getSliceToFill: the slice among `candidates` (name, endpoint count) that `count` more
/// endpoints fill closest to `max`, if one has room.
fn slice_to_fill(candidates: &[(&String, usize)], count: usize, max: usize) -> Option<String> {
    let mut closest_diff = max as i64;
    let mut closest = None;
    for &(name, len) in candidates {
        let diff = max as i64 - (count + len) as i64;
        if diff >= 0 && diff < closest_diff {
            closest_diff = diff;
            closest = Some(name.clone());
            if diff == 0 {
                break;
            }
        }
    }
    closest
}

/// What a reconcile writes for one address type (after finalize's reuse of slices to delete
/// for slices to create).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlicePlan {
    pub create: Vec<EndpointSlice>,
    pub update: Vec<EndpointSlice>,
    pub delete: Vec<EndpointSlice>,
}

impl SlicePlan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// The outcome of [`reconcile`]: plans in the order they are carried out, and errors that make
/// the sync fail (and retry) even though the plans are carried out.
#[derive(Clone, Debug, Default)]
pub struct Reconciled {
    pub plans: Vec<SlicePlan>,
    pub errors: Vec<String>,
}

/// Reconciler.Reconcile: what to create, update and delete so `existing` (the Service's
/// managed slices, not being deleted) lists `pods` (the pods its selector matches).
/// `zone_of(node)` is `None` when the node does not exist, else its zone label.
pub fn reconcile(
    svc: &Service,
    pods: &[&Pod],
    existing: &[EndpointSlice],
    zone_of: &dyn Fn(&str) -> Option<Option<String>>,
    max_per_slice: usize,
) -> Reconciled {
    let supported = address_types(svc);
    let mut unsupported = Vec::new();
    let mut by_type: BTreeMap<&str, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in existing {
        match supported.get(s.address_type.as_str()) {
            Some(t) => by_type.entry(*t).or_default().push(s),
            None => unsupported.push(s.clone()),
        }
    }
    let mut out = Reconciled::default();
    for address_type in &supported {
        let slices = by_type.remove(address_type).unwrap_or_default();
        let plan =
            reconcile_address_type(svc, pods, &slices, zone_of, address_type, max_per_slice, &mut out.errors);
        out.plans.push(plan);
    }
    if !unsupported.is_empty() {
        out.plans.push(SlicePlan { delete: unsupported, ..Default::default() });
    }
    out
}

/// reconcileByAddressType, with finalize's conversion of creations into updates of slices that
/// would be deleted.
fn reconcile_address_type(
    svc: &Service,
    pods: &[&Pod],
    existing: &[&EndpointSlice],
    zone_of: &dyn Fn(&str) -> Option<Option<String>>,
    address_type: &str,
    max: usize,
    errors: &mut Vec<String>,
) -> SlicePlan {
    let ns = svc.metadata.namespace.as_deref().unwrap_or("");
    let name = svc.metadata.name.as_deref().unwrap_or("");
    let mut to_delete: Vec<EndpointSlice> = Vec::new();
    let mut existing_by_ports: BTreeMap<PortKey, Vec<EndpointSlice>> = BTreeMap::new();
    for s in existing {
        if owned_by(s, svc) {
            existing_by_ports.entry(port_key(s.ports.as_deref())).or_default().push((*s).clone());
        } else {
            to_delete.push((*s).clone());
        }
    }

    let mut desired_ports: BTreeMap<PortKey, Vec<EndpointPort>> = BTreeMap::new();
    let mut desired: BTreeMap<PortKey, BTreeMap<EndpointKey, Endpoint>> = BTreeMap::new();
    for pod in pods {
        if !should_pod_be_in_endpoints(pod, true) {
            continue;
        }
        let ports = endpoint_ports(svc, pod);
        let key = port_key(Some(ports.as_slice()));
        desired.entry(key.clone()).or_default();
        desired_ports.entry(key.clone()).or_insert(ports);
        let node = podutil::node_name(pod).unwrap_or("");
        let zone = match zone_of(node) {
            Some(zone) => zone,
            // The node is gone: leave the pod out and retry (the pod GC will remove it), unless
            // the user asked for every address to be published.
            None if !publish_not_ready(svc) => {
                errors.push(format!(
                    "skipping Pod {} for Service {ns}/{name}: Node {node} Not Found",
                    pod.metadata.name.as_deref().unwrap_or("")
                ));
                continue;
            }
            None => None,
        };
        let ep = pod_to_endpoint(pod, zone, svc, address_type);
        if !ep.addresses.is_empty() {
            desired.get_mut(&key).expect("inserted above").insert(endpoint_key(&ep), ep);
        }
    }

    let mut to_create = Vec::new();
    let mut to_update = Vec::new();
    let desired_keys: BTreeSet<PortKey> = desired.keys().cloned().collect();
    for (key, endpoints) in desired {
        let slices = existing_by_ports.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let (c, u, d) = reconcile_port_group(svc, slices, endpoints, &desired_ports[&key], address_type, max);
        to_create.extend(c);
        to_update.extend(u);
        to_delete.extend(d);
    }
    for (key, slices) in existing_by_ports {
        if !desired_keys.contains(&key) {
            to_delete.extend(slices);
        }
    }

    // A Service without endpoints keeps one empty placeholder slice.
    if existing.len() == to_delete.len() && to_create.is_empty() {
        let placeholder = new_slice(svc, &[], address_type);
        if to_delete.len() == 1 && placeholder_equal(&to_delete[0], &placeholder) {
            to_delete.clear();
        } else {
            to_create.push(placeholder);
        }
    }

    // finalize: a slice about to be deleted is reused (updated) for one about to be created.
    let mut i = 0;
    while i < to_delete.len() && !to_create.is_empty() {
        let reusable = {
            let doomed = &to_delete[i];
            let last = to_create.last().expect("not empty");
            doomed.address_type == last.address_type && owned_by(doomed, svc)
        };
        if reusable {
            let doomed = to_delete.remove(i);
            let mut slice = to_create.pop().expect("not empty");
            slice.metadata.name = doomed.metadata.name;
            to_update.push(slice);
        } else {
            i += 1;
        }
    }

    // Without topology hints or trafficDistribution, slices being written carry no hints.
    for s in to_create.iter_mut().chain(to_update.iter_mut()) {
        for ep in &mut s.endpoints {
            ep.hints = None;
        }
    }
    SlicePlan { create: to_create, update: to_update, delete: to_delete }
}

/// reconcileByPortMapping: (create, update, delete) for the slices of one port group.
/// 1. Existing slices keep the desired endpoints they hold (replaced by their desired version)
///    and lose the others; a slice left empty is deleted; changed slices (or slices whose
///    labels no longer mirror the Service's) are updated.
/// 2. Remaining endpoints fill the slices being updated, fullest first.
/// 3. Then an unchanged slice they fit in (the one left closest to full), else new slices.
fn reconcile_port_group(
    svc: &Service,
    existing: &[EndpointSlice],
    mut desired: BTreeMap<EndpointKey, Endpoint>,
    ports: &[EndpointPort],
    address_type: &str,
    max: usize,
) -> (Vec<EndpointSlice>, Vec<EndpointSlice>, Vec<EndpointSlice>) {
    let mut by_name: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let mut unchanged: BTreeSet<String> = BTreeSet::new();
    let mut to_update: BTreeSet<String> = BTreeSet::new();
    let mut to_delete: BTreeSet<String> = BTreeSet::new();

    for slice in existing {
        let name = slice_name(slice);
        let mut kept = Vec::new();
        let mut endpoint_updated = false;
        for ep in &slice.endpoints {
            if let Some(want) = desired.remove(&endpoint_key(ep)) {
                if !endpoints_equal_beyond_hash(&want, ep) {
                    endpoint_updated = true;
                }
                kept.push(want);
            }
        }
        let (labels, labels_changed) = slice_labels(slice.metadata.labels.as_ref(), svc);
        if endpoint_updated || kept.len() != slice.endpoints.len() {
            if kept.is_empty() {
                to_delete.insert(name.clone());
                by_name.insert(name, slice.clone());
            } else {
                let mut s = slice.clone();
                s.endpoints = kept;
                s.metadata.labels = Some(labels);
                to_update.insert(name.clone());
                by_name.insert(name, s);
            }
        } else if labels_changed {
            let mut s = slice.clone();
            s.metadata.labels = Some(labels);
            to_update.insert(name.clone());
            by_name.insert(name, s);
        } else {
            unchanged.insert(name.clone());
            by_name.insert(name, slice.clone());
        }
    }

    // 2. Fill the slices being updated anyway, fullest first.
    if !desired.is_empty() && !to_update.is_empty() {
        let mut names: Vec<&String> = to_update.iter().collect();
        names.sort_by_key(|n| std::cmp::Reverse(by_name[*n].endpoints.len()));
        for name in names {
            let slice = by_name.get_mut(name).expect("known slice");
            while slice.endpoints.len() < max {
                let Some((_, ep)) = desired.pop_first() else { break };
                slice.endpoints.push(ep);
            }
        }
    }

    // 3. An unchanged slice with room for all that is left, else new slices.
    let mut to_create = Vec::new();
    while !desired.is_empty() {
        let fill = if desired.len() < max && !unchanged.is_empty() {
            let candidates: Vec<(&String, usize)> =
                unchanged.iter().map(|n| (n, by_name[n].endpoints.len())).collect();
            slice_to_fill(&candidates, desired.len(), max)
        } else {
            None
        };
        match fill {
            Some(name) => {
                let slice = by_name.get_mut(&name).expect("known slice");
                while slice.endpoints.len() < max {
                    let Some((_, ep)) = desired.pop_first() else { break };
                    slice.endpoints.push(ep);
                }
                unchanged.remove(&name);
                to_update.insert(name);
            }
            None => {
                let mut slice = new_slice(svc, ports, address_type);
                while slice.endpoints.len() < max {
                    let Some((_, ep)) = desired.pop_first() else { break };
                    slice.endpoints.push(ep);
                }
                to_create.push(slice);
            }
        }
    }

    let pick = |names: &BTreeSet<String>| names.iter().map(|n| by_name[n].clone()).collect::<Vec<_>>();
    (to_create, pick(&to_update), pick(&to_delete))
}

// ------------------------------------------------------------------------------------------
// Tracking the controller's own writes (staging/src/k8s.io/endpointslice/util/
// endpointslice_tracker.go)

/// Marks a slice the controller deleted and expects to see go.
pub const DELETION_EXPECTED: i64 = -1;

/// The version of a slice the tracker compares: its generation when the API server sets one,
/// else its resourceVersion (see the module docs).
fn slice_version(s: &EndpointSlice) -> i64 {
    s.metadata
        .generation
        .unwrap_or_else(|| s.metadata.resource_version.as_deref().and_then(|rv| rv.parse().ok()).unwrap_or(0))
}

/// The Service a slice belongs to, by its service-name label.
fn slice_service(s: &EndpointSlice) -> ObjectKey {
    let label = s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)).cloned();
    (s.metadata.namespace.clone().unwrap_or_default(), label.unwrap_or_default())
}

fn slice_uid(s: &EndpointSlice) -> String {
    s.metadata.uid.clone().unwrap_or_default()
}

/// EndpointSliceTracker: per Service, the version of each slice the controller last wrote (or
/// [`DELETION_EXPECTED`]).
#[derive(Debug, Default)]
pub struct SliceTracker {
    by_service: BTreeMap<ObjectKey, BTreeMap<String, i64>>,
    service_uids: BTreeMap<ObjectKey, String>,
}

impl SliceTracker {
    /// Has: the tracker knows this slice.
    pub fn has(&self, s: &EndpointSlice) -> bool {
        self.by_service.get(&slice_service(s)).is_some_and(|g| g.contains_key(&slice_uid(s)))
    }

    /// ShouldSync: the slice is not one the controller wrote, or has changed since.
    pub fn should_sync(&self, s: &EndpointSlice) -> bool {
        match self.by_service.get(&slice_service(s)).and_then(|g| g.get(&slice_uid(s))) {
            None => true,
            Some(v) => slice_version(s) > *v,
        }
    }

    /// StaleSlices: the informer has not caught up with the controller's writes for this
    /// Service (a slice older than written, one expected deleted still there, one written
    /// missing). A recreated Service (new UID) forgets the old one's writes.
    pub fn stale_slices(&mut self, svc: &Service, slices: &[EndpointSlice]) -> bool {
        let key = (
            svc.metadata.namespace.clone().unwrap_or_default(),
            svc.metadata.name.clone().unwrap_or_default(),
        );
        let uid = svc.metadata.uid.clone().unwrap_or_default();
        if let Some(tracked) = self.service_uids.get(&key) {
            if !tracked.is_empty() && !uid.is_empty() && *tracked != uid {
                self.by_service.remove(&key);
            }
        }
        self.service_uids.insert(key.clone(), uid);
        let Some(versions) = self.by_service.get(&key) else { return false };
        let mut provided = BTreeSet::new();
        for s in slices {
            let uid = slice_uid(s);
            if let Some(v) = versions.get(&uid) {
                if *v == DELETION_EXPECTED || *v > slice_version(s) {
                    return true;
                }
            }
            provided.insert(uid);
        }
        versions.iter().any(|(uid, v)| *v != DELETION_EXPECTED && !provided.contains(uid))
    }

    /// Update: the controller wrote this version.
    pub fn update(&mut self, s: &EndpointSlice) {
        self.by_service.entry(slice_service(s)).or_default().insert(slice_uid(s), slice_version(s));
    }

    /// ExpectDeletion.
    pub fn expect_deletion(&mut self, s: &EndpointSlice) {
        self.by_service.entry(slice_service(s)).or_default().insert(slice_uid(s), DELETION_EXPECTED);
    }

    /// HandleDeletion: forgets the slice; false when its deletion was not expected.
    pub fn handle_deletion(&mut self, s: &EndpointSlice) -> bool {
        if let Some(versions) = self.by_service.get_mut(&slice_service(s)) {
            if let Some(v) = versions.remove(&slice_uid(s)) {
                return v == DELETION_EXPECTED;
            }
        }
        true
    }

    /// DeleteService.
    pub fn delete_service(&mut self, namespace: &str, name: &str) {
        let key = (namespace.to_string(), name.to_string());
        self.by_service.remove(&key);
        self.service_uids.remove(&key);
    }
}

/// Whether this controller manages a slice (its managed-by label).
fn managed(s: &EndpointSlice) -> bool {
    s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_MANAGED_BY)).map(String::as_str)
        == Some(CONTROLLER_NAME)
}

// ------------------------------------------------------------------------------------------
// The controller

/// The controller component.
pub struct EndpointSliceController {
    services: Option<Informer>,
    pods: Option<Informer>,
    nodes: Option<Informer>,
    slices: Option<Informer>,
    queue: ControllerQueue,
    /// Failed syncs per Service since its last success (the controller's own rate limiter:
    /// 1s base instead of the default controller's 5ms).
    failures: BTreeMap<ObjectKey, u32>,
    tracker: SliceTracker,
    trigger_times: TriggerTimeTracker,
    max_endpoints_per_slice: usize,
}

impl Default for EndpointSliceController {
    fn default() -> Self {
        Self::new()
    }
}

impl EndpointSliceController {
    pub fn new() -> Self {
        Self::with_max_endpoints_per_slice(MAX_ENDPOINTS_PER_SLICE)
    }

    /// `--max-endpoints-per-slice`.
    pub fn with_max_endpoints_per_slice(max: usize) -> Self {
        EndpointSliceController {
            services: None,
            pods: None,
            nodes: None,
            slices: None,
            queue: ControllerQueue::new(),
            failures: BTreeMap::new(),
            tracker: SliceTracker::default(),
            trigger_times: TriggerTimeTracker::default(),
            max_endpoints_per_slice: max.max(1),
        }
    }

    fn queue_for_slice(&mut self, s: &EndpointSlice, now: SimTime) {
        let key = slice_service(s);
        if !key.1.is_empty() {
            self.queue.add_at(key, now + SLICE_CHANGE_MIN_SYNC_DELAY);
        }
    }

    fn on_pod(&mut self, kind: WatchEventType, obj: &Arc<Object>, old: Option<&Arc<Object>>) {
        let Some(services) = &self.services else { return };
        // endpointUpdatesBatchPeriod 0: AddAfter(key, 0) is an immediate add.
        let keys = services_for_pod_watch(services, kind, obj, old);
        for key in keys {
            self.queue.add(key);
        }
    }

    fn on_slice(&mut self, kind: WatchEventType, obj: &Arc<Object>, old: Option<&Arc<Object>>, now: SimTime) {
        let Some(slice) = obj.as_type::<EndpointSlice>() else { return };
        match (kind, old.and_then(|o| o.as_type::<EndpointSlice>())) {
            (WatchEventType::Deleted, _) => {
                if managed(slice) && self.tracker.has(slice) && !self.tracker.handle_deletion(slice) {
                    self.queue_for_slice(slice, now);
                }
            }
            (WatchEventType::Modified, Some(prev)) => {
                // The service-name label may be edited by users: both Services sync.
                if slice_service(slice) != slice_service(prev) {
                    self.queue_for_slice(slice, now);
                    self.queue_for_slice(prev, now);
                } else if managed(prev) != managed(slice)
                    || (managed(slice) && self.tracker.should_sync(slice))
                {
                    self.queue_for_slice(slice, now);
                }
            }
            _ => {
                if managed(slice) && self.tracker.should_sync(slice) {
                    self.queue_for_slice(slice, now);
                }
            }
        }
    }

    /// syncService.
    fn sync(&mut self, ctx: &mut Context<'_>, key: &ObjectKey) -> Result<(), String> {
        let (ns, name) = (key.0.as_str(), key.1.as_str());
        let Some(svc_obj) = self.services.as_ref().and_then(|s| s.get(ns, name)).cloned() else {
            self.trigger_times.delete_service(ns, name);
            self.tracker.delete_service(ns, name);
            return Ok(());
        };
        let Some(svc) = svc_obj.as_type::<Service>() else { return Ok(()) };
        let Some(selector) = managed_selector(svc) else { return Ok(()) };
        let pod_objs = selected_pods(self.pods.as_ref(), ns, selector);
        let pods: Vec<&Pod> = pod_objs.iter().filter_map(|o| o.as_type::<Pod>()).collect();
        let slices: Vec<EndpointSlice> = self
            .slices
            .iter()
            .flat_map(|s| s.in_namespace(ns))
            .filter_map(|o| o.as_type::<EndpointSlice>())
            .filter(|s| managed(s) && slice_service(s).1 == name)
            .filter(|s| s.metadata.deletion_timestamp.is_none())
            .cloned()
            .collect();
        if self.tracker.stale_slices(svc, &slices) {
            return Err("EndpointSlice informer cache is out of date".into());
        }
        let trigger = self.trigger_times.compute(ns, svc, &pods);
        let nodes = self.nodes.as_ref();
        let zone_of = |node: &str| -> Option<Option<String>> {
            let n = nodes?.get_as::<Node>("", node)?;
            Some(n.metadata.labels.as_ref().and_then(|l| l.get(LABEL_ZONE)).cloned())
        };
        let result = reconcile(svc, &pods, &slices, &zone_of, self.max_endpoints_per_slice);
        let mut errors = result.errors;
        for plan in result.plans {
            if let Err(e) = finalize(ctx, &mut self.tracker, svc, plan, trigger) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        let err = if errors.len() == 1 { errors.remove(0) } else { format!("[{}]", errors.join(", ")) };
        record_event(
            ctx,
            reporter(),
            &svc_obj,
            "Warning",
            "FailedToUpdateEndpointSlices",
            format!("Error updating Endpoint Slices for Service {ns}/{name}: {err}"),
        );
        Err(err)
    }

    /// handleErr: forget on success; retry with back-off while under [`MAX_RETRIES`].
    fn handle_result(&mut self, key: ObjectKey, result: Result<(), String>, now: SimTime) {
        if result.is_ok() {
            self.failures.remove(&key);
            return;
        }
        let failures = self.failures.get(&key).copied().unwrap_or(0);
        if failures >= MAX_RETRIES {
            self.failures.remove(&key);
            return;
        }
        let delay = SYNC_BACKOFF
            .as_millis()
            .saturating_mul(1u64 << failures.min(40))
            .min(MAX_SYNC_BACKOFF.as_millis());
        self.failures.insert(key.clone(), failures + 1);
        self.queue.add_at(key, now + SimDuration::from_millis(delay));
    }
}

/// finalize: carries out one plan (creations skipped while the Service is being deleted, so
/// the garbage collector is not raced), recording each write in the tracker. Stops at the
/// first failure.
fn finalize(
    ctx: &mut Context<'_>,
    tracker: &mut SliceTracker,
    svc: &Service,
    plan: SlicePlan,
    trigger: Option<DateTime<Utc>>,
) -> Result<(), String> {
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    if svc.metadata.deletion_timestamp.is_none() {
        for mut slice in plan.create {
            set_trigger_time(&mut slice.metadata.annotations, trigger);
            match ctx.api.create(slice.into_object()) {
                Ok(created) => {
                    if let Some(s) = created.as_type::<EndpointSlice>() {
                        tracker.update(s);
                    }
                }
                Err(e) => return Err(format!("failed to create EndpointSlice for Service {ns}/{name}: {e}")),
            }
        }
    }
    for mut slice in plan.update {
        set_trigger_time(&mut slice.metadata.annotations, trigger);
        let target = slice_name(&slice);
        match ctx.api.update(slice.into_object()) {
            Ok(updated) => {
                if let Some(s) = updated.as_type::<EndpointSlice>() {
                    tracker.update(s);
                }
            }
            Err(e) => {
                return Err(format!("failed to update {target} EndpointSlice for Service {ns}/{name}: {e}"))
            }
        }
    }
    for slice in plan.delete {
        let doomed = slice_name(&slice);
        match ctx.api.delete(Kind::EndpointSlice, Some(ns.as_str()), &doomed, DeleteOptions::default()) {
            Ok(_) => tracker.expect_deletion(&slice),
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Err(format!("failed to delete {doomed} EndpointSlice for Service {ns}/{name}: {e}"))
            }
        }
    }
    Ok(())
}

impl Component for EndpointSliceController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.services = Informer::start(ctx, WatchSpec::all(Kind::Service)).ok();
                self.pods = Informer::start(ctx, WatchSpec::all(Kind::Pod)).ok();
                self.nodes = Informer::start(ctx, WatchSpec::all(Kind::Node)).ok();
                self.slices = Informer::start(ctx, WatchSpec::all(Kind::EndpointSlice)).ok();
                self.queue.add_all(self.services.as_ref());
                // Managed slices listed at start are not the tracker's: their Services sync
                // again a second later, as the informer's initial adds do upstream.
                let now = ctx.now();
                let listed: Vec<EndpointSlice> = self
                    .slices
                    .iter()
                    .flat_map(|i| i.iter_as::<EndpointSlice>())
                    .filter(|s| managed(s))
                    .cloned()
                    .collect();
                for s in &listed {
                    self.queue_for_slice(s, now);
                }
            }
            Event::Watch(ev) => {
                let now = ctx.now();
                if self.services.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.services.as_mut().expect("checked").apply(&ev);
                    self.queue.add(key_of(&ev.object));
                } else if self.pods.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.pods.as_mut().expect("checked").apply(&ev);
                    self.on_pod(ev.kind, &ev.object, old.as_ref());
                } else if self.nodes.as_ref().is_some_and(|i| i.owns(&ev)) {
                    self.nodes.as_mut().expect("checked").apply(&ev);
                } else if self.slices.as_ref().is_some_and(|i| i.owns(&ev)) {
                    let old = self.slices.as_mut().expect("checked").apply(&ev);
                    self.on_slice(ev.kind, &ev.object, old.as_ref(), now);
                }
            }
            Event::Timer(Timer::Reconcile) => {
                let now = ctx.now();
                for key in self.queue.due(now) {
                    let result = self.sync(ctx, &key);
                    self.handle_result(key, result, now);
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
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn zone_a(_: &str) -> Option<Option<String>> {
        Some(Some("zone-a".into()))
    }

    fn pods(n: usize) -> Vec<Pod> {
        (0..n)
            .map(|i| pod(&format!("p{i:03}"), &format!("10.0.{}.{}", i / 250, i % 250 + 1), "n1", true))
            .collect()
    }

    /// What the API server would hold after a plan: created slices get names, uids and
    /// resourceVersions; updates replace; deletes remove.
    fn apply(existing: &mut Vec<EndpointSlice>, reconciled: Reconciled, next_id: &mut u32) {
        for plan in reconciled.plans {
            for mut s in plan.create {
                *next_id += 1;
                s.metadata.name = Some(format!("web-{next_id}"));
                s.metadata.uid = Some(format!("slice-{next_id}"));
                s.metadata.resource_version = Some(next_id.to_string());
                existing.push(s);
            }
            for s in plan.update {
                let slot =
                    existing.iter_mut().find(|e| e.metadata.name == s.metadata.name).expect("updates exist");
                *slot = s;
            }
            for s in plan.delete {
                existing.retain(|e| e.metadata.name != s.metadata.name);
            }
        }
        existing.sort_by_key(slice_name);
    }

    fn conditions(ep: &Endpoint) -> (bool, bool, bool) {
        let c = ep.conditions.clone().unwrap();
        (c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
    }

    #[test]
    fn endpoint_conditions_follow_readiness_and_termination() {
        // The cases of TestPodToEndpoint (staging/src/k8s.io/endpointslice/utils_test.go).
        let svc = service(IntOrString::Int(8080));
        let mut publish = svc.clone();
        publish.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
        let ready = pod("a", "10.0.0.1", "n1", true);
        let not_ready = pod("a", "10.0.0.1", "n1", false);
        let mut terminating_ready = ready.clone();
        terminating_ready.metadata.deletion_timestamp = Some(at(30));
        let mut terminating_not_ready = not_ready.clone();
        terminating_not_ready.metadata.deletion_timestamp = Some(at(30));
        for (p, want, want_published) in [
            (&ready, (true, true, false), (true, true, false)),
            (&not_ready, (false, false, false), (true, false, false)),
            (&terminating_ready, (false, true, true), (true, true, true)),
            (&terminating_not_ready, (false, false, true), (true, false, true)),
        ] {
            assert_eq!(conditions(&pod_to_endpoint(p, None, &svc, "IPv4")), want);
            assert_eq!(conditions(&pod_to_endpoint(p, None, &publish, "IPv4")), want_published);
        }
        let ep = pod_to_endpoint(&ready, Some("zone-a".into()), &svc, "IPv4");
        assert_eq!(ep.addresses, vec!["10.0.0.1".to_string()]);
        assert_eq!(ep.node_name.as_deref(), Some("n1"));
        assert_eq!(ep.zone.as_deref(), Some("zone-a"));
        assert_eq!(ep.hostname, None);
        let target = ep.target_ref.unwrap();
        assert_eq!(
            (
                target.kind.as_deref(),
                target.namespace.as_deref(),
                target.name.as_deref(),
                target.uid.as_deref()
            ),
            (Some("Pod"), Some("default"), Some("a"), Some("uid-a"))
        );
        assert!(pod_to_endpoint(&ready, None, &svc, "IPv6").addresses.is_empty());
    }

    #[test]
    fn slices_split_at_the_maximum_and_are_left_alone_when_nothing_changes() {
        let mut svc = service(IntOrString::String("http".into()));
        svc.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
        let all = pods(250);
        let refs: Vec<&Pod> = all.iter().collect();
        let mut existing: Vec<EndpointSlice> = Vec::new();
        let mut id = 0;
        let r = reconcile(&svc, &refs, &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        assert!(r.errors.is_empty());
        let plan = &r.plans[0];
        let sizes: Vec<usize> = plan.create.iter().map(|s| s.endpoints.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert!(plan.update.is_empty() && plan.delete.is_empty());
        let s = &plan.create[0];
        assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(s.address_type, "IPv4");
        let labels = s.metadata.labels.clone().unwrap();
        assert_eq!(labels[LABEL_SERVICE_NAME], "web");
        assert_eq!(labels[LABEL_MANAGED_BY], CONTROLLER_NAME);
        assert_eq!(labels["tier"], "web");
        assert!(!labels.contains_key(LABEL_HEADLESS));
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller, owner.block_owner_deletion),
            ("Service", "web", Some(true), Some(true))
        );
        let port = &s.ports.as_ref().unwrap()[0];
        assert_eq!(
            (port.name.as_deref(), port.port, port.protocol.as_deref()),
            (Some("http"), Some(8080), Some("TCP"))
        );
        apply(&mut existing, r, &mut id);

        // Nothing changed: nothing to write.
        let again = reconcile(&svc, &refs, &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        assert!(again.plans.iter().all(SlicePlan::is_empty), "{:?}", again.plans);

        // One pod turns not ready: only its slice is updated, in place.
        let mut changed = all.clone();
        changed[7] = pod("p007", "10.0.0.8", "n1", false);
        let refs2: Vec<&Pod> = changed.iter().collect();
        let r = reconcile(&svc, &refs2, &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        let plan = &r.plans[0];
        assert!(plan.create.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.update.len(), 1);
        let updated = &plan.update[0];
        let before =
            existing.iter().find(|s| s.metadata.name == updated.metadata.name).expect("updated in place");
        assert_eq!(updated.endpoints.len(), before.endpoints.len());
        let ep = updated.endpoints.iter().find(|e| e.addresses == ["10.0.0.8"]).unwrap();
        assert_eq!(conditions(ep), (false, false, false));

        // 40 of the pods in the half-full slice go and 10 new pods come: that slice keeps its 10
        // other endpoints and takes the new ones; the two full slices are not touched.
        let half = existing.iter().position(|s| s.endpoints.len() == 50).expect("a half-full slice");
        let third: Vec<String> = existing[half]
            .endpoints
            .iter()
            .map(|e| e.target_ref.as_ref().unwrap().name.clone().unwrap())
            .collect();
        let gone: BTreeSet<&String> = third.iter().take(40).collect();
        let mut fewer: Vec<Pod> =
            all.iter().filter(|p| !gone.contains(p.metadata.name.as_ref().unwrap())).cloned().collect();
        fewer.extend((0..10).map(|i| pod(&format!("q{i}"), &format!("10.9.0.{}", i + 1), "n1", true)));
        let refs3: Vec<&Pod> = fewer.iter().collect();
        let r = reconcile(&svc, &refs3, &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        let plan = &r.plans[0];
        assert!(plan.create.is_empty() && plan.delete.is_empty(), "{plan:?}");
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].metadata.name, existing[half].metadata.name);
        assert_eq!(plan.update[0].endpoints.len(), 20);
        apply(&mut existing, r, &mut id);
        let total: usize = existing.iter().map(|s| s.endpoints.len()).sum();
        assert_eq!(total, 220);

        // The rest of that slice's pods go too: it is deleted, the others stay as they are.
        let everything_else: Vec<&Pod> =
            all.iter().filter(|p| !third.contains(p.metadata.name.as_ref().unwrap())).collect();
        let r = reconcile(&svc, &everything_else, &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        let plan = &r.plans[0];
        assert!(plan.create.is_empty() && plan.update.is_empty(), "{plan:?}");
        assert_eq!(plan.delete.len(), 1);
        assert_eq!(plan.delete[0].metadata.name, existing[half].metadata.name);
    }

    #[test]
    fn pods_group_by_the_ports_their_named_target_resolves_to() {
        let svc = service(IntOrString::String("http".into()));
        let a = pod("a", "10.0.0.1", "n1", true);
        let mut b = pod("b", "10.0.0.2", "n1", true);
        b.spec.as_mut().unwrap().containers[0].ports.as_mut().unwrap()[0].container_port = 9090;
        let mut c = pod("c", "10.0.0.3", "n1", true);
        c.spec.as_mut().unwrap().containers[0].ports = None;
        let r = reconcile(&svc, &[&a, &b, &c], &[], &zone_a, MAX_ENDPOINTS_PER_SLICE);
        let mut groups: Vec<(Option<i32>, Vec<String>)> = r.plans[0]
            .create
            .iter()
            .map(|s| {
                let port = s.ports.as_ref().and_then(|p| p.first()).and_then(|p| p.port);
                (port, s.endpoints.iter().map(|e| e.addresses[0].clone()).collect())
            })
            .collect();
        groups.sort();
        assert_eq!(
            groups,
            vec![
                (None, vec!["10.0.0.3".to_string()]),
                (Some(8080), vec!["10.0.0.1".to_string()]),
                (Some(9090), vec!["10.0.0.2".to_string()]),
            ]
        );
    }

    #[test]
    fn an_empty_service_keeps_one_placeholder() {
        let mut svc = service(IntOrString::Int(8080));
        svc.spec.as_mut().unwrap().cluster_ip = Some("None".into());
        let mut existing: Vec<EndpointSlice> = Vec::new();
        let mut id = 0;
        let r = reconcile(&svc, &[], &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        assert_eq!(r.plans[0].create.len(), 1);
        let placeholder = &r.plans[0].create[0];
        assert!(placeholder.endpoints.is_empty() && placeholder.ports.is_none());
        assert_eq!(placeholder.metadata.labels.as_ref().unwrap()[LABEL_HEADLESS], "");
        apply(&mut existing, r, &mut id);
        let again = reconcile(&svc, &[], &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        assert!(again.plans.iter().all(SlicePlan::is_empty));

        // A pod arrives: the placeholder is reused rather than deleted and a new slice created.
        let a = pod("a", "10.0.0.1", "n1", true);
        let r = reconcile(&svc, &[&a], &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        let plan = &r.plans[0];
        assert!(plan.create.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].metadata.name, existing[0].metadata.name);
        assert_eq!(plan.update[0].endpoints.len(), 1);
        apply(&mut existing, r, &mut id);

        // It goes again: the slice is emptied back into the placeholder.
        let r = reconcile(&svc, &[], &existing, &zone_a, MAX_ENDPOINTS_PER_SLICE);
        let plan = &r.plans[0];
        assert!(plan.create.is_empty() && plan.delete.is_empty(), "{plan:?}");
        assert_eq!(plan.update.len(), 1);
        assert!(plan.update[0].endpoints.is_empty() && plan.update[0].ports.is_none());
    }

    #[test]
    fn pods_on_missing_nodes_are_left_out_and_retried() {
        let svc = service(IntOrString::Int(8080));
        let a = pod("a", "10.0.0.1", "gone", true);
        let b = pod("b", "10.0.0.2", "n1", true);
        let zone = |n: &str| (n != "gone").then(|| Some("zone-a".to_string()));
        let r = reconcile(&svc, &[&a, &b], &[], &zone, MAX_ENDPOINTS_PER_SLICE);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.plans[0].create.len(), 1);
        assert_eq!(r.plans[0].create[0].endpoints.len(), 1);
    }

    #[test]
    fn the_tracker_ignores_the_controllers_own_writes() {
        let svc = service(IntOrString::Int(8080));
        let mut s = new_slice(&svc, &[], "IPv4");
        s.metadata.namespace = Some("default".into());
        s.metadata.uid = Some("u1".into());
        s.metadata.resource_version = Some("10".into());
        let mut t = SliceTracker::default();
        assert!(t.should_sync(&s));
        assert!(!t.stale_slices(&svc, &[]));
        t.update(&s);
        assert!(!t.should_sync(&s), "our own write");
        assert!(t.stale_slices(&svc, &[]), "written but not yet in the cache");
        let mut older = s.clone();
        older.metadata.resource_version = Some("9".into());
        assert!(t.stale_slices(&svc, &[older]));
        assert!(!t.stale_slices(&svc, std::slice::from_ref(&s)));
        let mut edited = s.clone();
        edited.metadata.resource_version = Some("11".into());
        assert!(t.should_sync(&edited), "someone else's write");
        t.expect_deletion(&s);
        assert!(t.stale_slices(&svc, std::slice::from_ref(&s)));
        assert!(t.handle_deletion(&s), "expected");
        t.update(&s);
        assert!(!t.handle_deletion(&s), "deleted by someone else");
    }
}
