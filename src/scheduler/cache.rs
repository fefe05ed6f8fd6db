//! The scheduler's view of the cluster (pkg/scheduler/backend/cache and its snapshot): per node,
//! the Node, the pods assigned to it (bound, or "assumed" — bound by this scheduler but not yet
//! heard back about, so two pods scheduled in quick succession never over-commit a node) and
//! the sums of their requests, kept up to date incrementally from watch events; plus the other
//! objects plugins read (namespaces, Services, ReplicaSets, StatefulSets, PodDisruptionBudgets).
//!
//! Nodes are listed in upstream's node-tree order (pkg/scheduler/backend/cache/node_tree.go):
//! zones in the order their first node arrived, nodes within a zone in arrival order, and the
//! list interleaves the zones (first node of every zone, then the second, …). Which nodes a
//! cycle examines when `percentageOfNodesToScore` cuts the search short depends on this order.
//!
//! Simplified: a snapshot is not copied per cycle — the cycle reads the cache directly, which is
//! the same thing on one thread.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service, Taint};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use crate::api::pod::{self as podutil, Resources};
use crate::api::LabelSelector;
use crate::scheduler::node_labels::PackedLabels;
use crate::scheduler::plugins::{image_locality, inter_pod_affinity, NodePods};

/// The default requests upstream substitutes for containers that set none, for scoring only
/// (pkg/scheduler/util: DefaultMilliCPURequest 100m, DefaultMemoryRequest 200Mi).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 << 20;

/// One node and what is placed on it (framework.NodeInfo).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    /// `spec.unschedulable` and `spec.taints`, copied from `node` when it is set: the filters
    /// and scores every cycle runs for every node read them here, next to the resource sums,
    /// instead of each first touching the Node object elsewhere in memory.
    pub unschedulable: bool,
    pub taints: Vec<Taint>,
    /// The Node's labels in one block, for the topology plugins' per-node lookups (`None`
    /// for a label too long to pack: the plugins then read the Node's map).
    pub labels: Option<PackedLabels>,
    /// Pods assigned to the node, in the order they were added.
    pub pods: Vec<Arc<Pod>>,
    pub allocatable: Resources,
    /// Sum of the pods' actual requests.
    pub requested: Resources,
    /// Sum of the pods' requests with the non-zero defaults (scoring).
    pub nonzero_requested: Resources,
    pub pod_count: i64,
    /// hostPorts in use: (protocol, hostIP, port).
    pub used_ports: Vec<(String, String, i32)>,
    /// The pods with any pod affinity or anti-affinity, their terms parsed once on add
    /// (upstream's `PodsWithAffinity`), in the order they were added.
    pub affinity_pods: Vec<inter_pod_affinity::AffinityPodInfo>,
    /// The node-tree zone key and arrival number (the cache's listing order).
    zone: String,
    arrival: u64,
}

impl NodeInfo {
    pub fn new(node: Node) -> Self {
        let mut info = NodeInfo {
            unschedulable: false,
            taints: Vec::new(),
            labels: None,
            affinity_pods: Vec::new(),
            zone: zone_key(&node),
            arrival: 0,
            node: Arc::new(node),
            pods: Vec::new(),
            allocatable: Resources::default(),
            requested: Resources::default(),
            nonzero_requested: Resources::default(),
            pod_count: 0,
            used_ports: Vec::new(),
        };
        info.read_node();
        info
    }

    /// Sets the Node and what is read from it (allocatable, `spec.unschedulable`,
    /// `spec.taints`). The node-tree zone is the cache's to move. The cached copy is brought up
    /// to date in place where only this cache holds it (see [`sync_node`]).
    fn set_node(&mut self, node: &Node) {
        sync_node(Arc::make_mut(&mut self.node), node);
        self.read_node();
    }

    /// Reads allocatable, `spec.unschedulable`, `spec.taints` and the labels from the Node.
    fn read_node(&mut self) {
        self.allocatable = podutil::node_allocatable(&self.node);
        self.unschedulable = podutil::is_unschedulable(&self.node);
        self.taints = podutil::node_taints(&self.node).to_vec();
        self.labels = PackedLabels::new(self.node.metadata.labels.as_ref());
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    /// Runs a pod with pod affinity or anti-affinity (is in `HavePodsWithAffinityList`).
    pub fn runs_affinity_pods(&self) -> bool {
        !self.affinity_pods.is_empty()
    }

    /// Runs a pod with required anti-affinity (is in `HavePodsWithRequiredAntiAffinityList`).
    pub fn runs_required_anti_affinity_pods(&self) -> bool {
        self.affinity_pods.iter().any(inter_pod_affinity::AffinityPodInfo::has_required_anti_affinity)
    }

    /// Which of the snapshot's affinity lists the node belongs in.
    fn affinity_kinds(&self) -> (bool, bool) {
        (self.runs_affinity_pods(), self.runs_required_anti_affinity_pods())
    }

    /// The node with its pods, as the ported plugins take it.
    pub fn node_pods(&self) -> NodePods<'_> {
        NodePods {
            node: &self.node,
            pods: &self.pods,
            affinity_pods: Some(&self.affinity_pods),
            labels: self.labels.as_ref(),
        }
    }

    /// Counts `pod` on this node (NodeInfo.AddPod).
    pub fn add_pod(&mut self, pod: Arc<Pod>) {
        self.requested.add(&podutil::pod_requests(&pod));
        self.nonzero_requested.add(&nonzero_requests(&pod));
        self.pod_count += 1;
        self.used_ports.extend(host_ports(&pod));
        self.affinity_pods.extend(inter_pod_affinity::AffinityPodInfo::of(&pod));
        self.pods.push(pod);
    }

    /// Forgets the pod with `uid` (NodeInfo.RemovePod); whether it was there.
    pub fn remove_pod(&mut self, uid: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.metadata.uid.as_deref() == Some(uid)) else {
            return false;
        };
        let pod = self.pods.remove(i);
        self.affinity_pods.retain(|e| !Arc::ptr_eq(&e.pod, &pod));
        self.requested.sub(&podutil::pod_requests(&pod));
        self.nonzero_requested.sub(&nonzero_requests(&pod));
        self.pod_count -= 1;
        for port in host_ports(&pod) {
            if let Some(j) = self.used_ports.iter().position(|x| *x == port) {
                self.used_ports.remove(j);
            }
        }
        true
    }

    /// NodePorts filter: a wanted hostPort conflicts with one in use on the same protocol and
    /// port when the host IPs are equal or either is 0.0.0.0.
    pub fn ports_free(&self, pod: &Pod) -> bool {
        self.ports_free_for(&host_ports(pod))
    }

    /// [`NodeInfo::ports_free`] for wanted ports computed once per cycle.
    pub fn ports_free_for(&self, wanted: &[(String, String, i32)]) -> bool {
        wanted.iter().all(|(proto, ip, port)| {
            !self
                .used_ports
                .iter()
                .any(|(p, i, n)| p == proto && n == port && (i == ip || i == "0.0.0.0" || ip == "0.0.0.0"))
        })
    }
}

/// The hostPorts a pod asks for: (protocol, hostIP, port), hostIP defaulting to 0.0.0.0.
pub fn host_ports(pod: &Pod) -> Vec<(String, String, i32)> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            p.host_port.filter(|hp| *hp > 0).map(|hp| {
                let ip = p.host_ip.clone().filter(|i| !i.is_empty()).unwrap_or_else(|| "0.0.0.0".into());
                (p.protocol.clone().unwrap_or_else(|| "TCP".into()), ip, hp)
            })
        })
        .collect()
}

/// Requests with upstream's non-zero defaults (100m, 200Mi) for containers that set no cpu or
/// memory request: what the scheduler counts for scoring (`calculateResource`'s non0 values).
pub fn nonzero_requests(pod: &Pod) -> Resources {
    podutil::aggregate_requests(pod, Some((DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST)))
}

/// The non-node objects plugins read, by namespace and name.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    /// Namespace name → its labels (InterPodAffinity namespaceSelector).
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    pub services: BTreeMap<(String, String), Arc<Service>>,
    pub replica_sets: BTreeMap<(String, String), Arc<ReplicaSet>>,
    pub stateful_sets: BTreeMap<(String, String), Arc<StatefulSet>>,
    pub pdbs: BTreeMap<(String, String), Arc<PodDisruptionBudget>>,
}

impl ClusterObjects {
    /// helper.DefaultSelector (pkg/scheduler/framework/plugins/helper/spread.go): the merged
    /// `spec.selector` of the Services in the pod's namespace that select it, plus the selector
    /// of its controlling ReplicaSet or StatefulSet. `None` when nothing selects the pod.
    pub fn default_selector(&self, pod: &Pod) -> Option<LabelSelector> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let labels = pod.metadata.labels.as_ref();
        let mut merged: BTreeMap<String, String> = BTreeMap::new();
        for ((sns, _), svc) in self.services.range((ns.to_string(), String::new())..) {
            if sns != ns {
                break;
            }
            let Some(sel) = svc.spec.as_ref().and_then(|s| s.selector.as_ref()).filter(|s| !s.is_empty())
            else {
                continue;
            };
            if sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
                merged.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut selector = LabelSelector {
            requirements: merged
                .into_iter()
                .map(|(k, v)| crate::api::selectors::Requirement::Equals(k, v))
                .collect(),
        };
        if let Some(owner) = podutil::controller_of(&pod.metadata) {
            let key = (ns.to_string(), owner.name.clone());
            let owner_selector = match (owner.api_version.as_str(), owner.kind.as_str()) {
                ("apps/v1", "ReplicaSet") => {
                    self.replica_sets.get(&key).map(|rs| rs.spec.as_ref().map(|s| &s.selector))
                }
                ("apps/v1", "StatefulSet") => {
                    self.stateful_sets.get(&key).map(|ss| ss.spec.as_ref().map(|s| &s.selector))
                }
                _ => None,
            };
            if let Some(Some(sel)) = owner_selector {
                if let Ok(parsed) = LabelSelector::from_k8s(sel) {
                    selector.requirements.extend(parsed.requirements);
                }
            }
        }
        (!selector.is_empty()).then_some(selector)
    }

    /// PodDisruptionBudgets, in namespace/name order.
    pub fn pdb_list(&self) -> Vec<PodDisruptionBudget> {
        self.pdbs.values().map(|p| (**p).clone()).collect()
    }
}

/// What one scheduling cycle reads: every node in node-tree order and the other objects.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    pub nodes: &'a [NodeInfo],
    pub cluster: &'a ClusterObjects,
    /// Image name (as nodes report it) → number of nodes that have it (ImageLocality).
    pub image_spread: &'a BTreeMap<String, usize>,
    /// The positions in `nodes` of the nodes running pods with affinity, kept by the cache
    /// (`None`: found by walking `nodes`, for snapshots built by hand).
    pub affinity_lists: Option<&'a AffinityLists>,
}

/// The snapshot's `HavePodsWithAffinityNodeInfoList` and
/// `HavePodsWithRequiredAntiAffinityNodeInfoList` (pkg/scheduler/backend/cache/snapshot.go),
/// as positions in node-tree order. Like upstream's snapshot, the cache rebuilds them when a
/// node starts or stops running such pods, so a cycle does not walk every node to find them.
#[derive(Clone, Debug, Default)]
pub struct AffinityLists {
    with_affinity: Vec<usize>,
    with_required_anti_affinity: Vec<usize>,
}

impl AffinityLists {
    fn of(nodes: &[NodeInfo]) -> AffinityLists {
        let positions = |keep: fn(&NodeInfo) -> bool| {
            nodes.iter().enumerate().filter(|(_, n)| keep(n)).map(|(i, _)| i).collect()
        };
        AffinityLists {
            with_affinity: positions(NodeInfo::runs_affinity_pods),
            with_required_anti_affinity: positions(NodeInfo::runs_required_anti_affinity_pods),
        }
    }
}

impl<'a> Snapshot<'a> {
    pub fn get(&self, node: &str) -> Option<&'a NodeInfo> {
        self.nodes.iter().find(|n| n.name() == node)
    }
    /// The nodes with their pods, as the ported plugins take them.
    pub fn node_pods(&self) -> Vec<NodePods<'a>> {
        self.nodes.iter().map(NodeInfo::node_pods).collect()
    }
    /// Only the nodes running a pod with pod affinity or anti-affinity
    /// (HavePodsWithAffinityList).
    pub fn node_pods_with_affinity(&self) -> Vec<NodePods<'a>> {
        match self.affinity_lists {
            Some(lists) => self.listed(&lists.with_affinity),
            None => self.nodes.iter().filter(|n| n.runs_affinity_pods()).map(NodeInfo::node_pods).collect(),
        }
    }
    /// Only the nodes running a pod with required anti-affinity
    /// (HavePodsWithRequiredAntiAffinityList).
    pub fn node_pods_with_required_anti_affinity(&self) -> Vec<NodePods<'a>> {
        match self.affinity_lists {
            Some(lists) => self.listed(&lists.with_required_anti_affinity),
            None => self
                .nodes
                .iter()
                .filter(|n| n.runs_required_anti_affinity_pods())
                .map(NodeInfo::node_pods)
                .collect(),
        }
    }
    fn listed(&self, positions: &[usize]) -> Vec<NodePods<'a>> {
        positions.iter().map(|&i| self.nodes[i].node_pods()).collect()
    }
}

/// Nodes and the pods counted on them.
#[derive(Default)]
pub struct Cache {
    /// In node-tree order.
    nodes: Vec<NodeInfo>,
    index: BTreeMap<String, usize>,
    next_arrival: u64,
    /// Zones in the order they got their first node; a zone leaves when its last node does.
    zones: Vec<String>,
    /// Nodes were added, removed or changed zone since the last `reorder`: `nodes` is in
    /// arrival order at the end until the next snapshot re-lists them.
    dirty: bool,
    /// Pod UID → the node it is counted on.
    pods: BTreeMap<Arc<str>, (String, Arc<Pod>)>,
    image_spread: BTreeMap<String, usize>,
    /// Rebuilt by `snapshot` when `affinity_lists_stale`.
    affinity_lists: AffinityLists,
    affinity_lists_stale: bool,
    pub cluster: ClusterObjects,
}

/// The zone key of the node tree (utilnode.GetZoneKey): region and zone labels.
fn zone_key(node: &Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let get = |k: &str| labels.and_then(|l| l.get(k)).cloned().unwrap_or_default();
    let region = get("topology.kubernetes.io/region");
    let zone = get("topology.kubernetes.io/zone");
    if region.is_empty() && zone.is_empty() {
        return String::new();
    }
    format!("{region}:\x00:{zone}")
}

impl Cache {
    /// The nodes in node-tree order and the other objects, for one cycle. Re-lists the nodes
    /// first if nodes came or went (once per batch of changes, not per node).
    pub fn snapshot(&mut self) -> Snapshot<'_> {
        if self.dirty {
            self.reorder();
        }
        if self.affinity_lists_stale {
            self.affinity_lists = AffinityLists::of(&self.nodes);
            self.affinity_lists_stale = false;
        }
        Snapshot {
            nodes: &self.nodes,
            cluster: &self.cluster,
            image_spread: &self.image_spread,
            affinity_lists: Some(&self.affinity_lists),
        }
    }

    /// Adds (`delta` 1) or removes (-1) the node's images in the image spread counts.
    fn count_images(&mut self, node: &Node, delta: isize) {
        for name in image_locality::node_image_names(node) {
            let e = self.image_spread.entry(name.to_string()).or_insert(0);
            *e = e.saturating_add_signed(delta);
            if *e == 0 {
                self.image_spread.remove(name);
            }
        }
    }

    /// Re-lists the nodes in node-tree order after a node arrived, left or changed zone.
    fn reorder(&mut self) {
        let mut infos = std::mem::take(&mut self.nodes);
        infos.sort_by_key(|i| i.arrival);
        let mut by_zone: Vec<Vec<NodeInfo>> = vec![Vec::new(); self.zones.len()];
        for info in infos {
            let z = match self.zones.iter().position(|z| *z == info.zone) {
                Some(z) => z,
                None => {
                    self.zones.push(info.zone.clone());
                    by_zone.push(Vec::new());
                    self.zones.len() - 1
                }
            };
            by_zone[z].push(info);
        }
        let mut keep = by_zone.iter().map(|l| !l.is_empty());
        self.zones.retain(|_| keep.next().unwrap_or(false));
        let mut iters: Vec<_> = by_zone.into_iter().filter(|l| !l.is_empty()).map(Vec::into_iter).collect();
        let mut out = Vec::new();
        loop {
            let before = out.len();
            for it in iters.iter_mut() {
                out.extend(it.next());
            }
            if out.len() == before {
                break;
            }
        }
        self.nodes = out;
        self.reindex();
        self.dirty = false;
        self.affinity_lists_stale = true;
    }

    fn reindex(&mut self) {
        self.index = self.nodes.iter().enumerate().map(|(i, n)| (n.name().to_string(), i)).collect();
    }

    pub fn upsert_node(&mut self, node: &Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        match self.index.get(&name).copied() {
            Some(i) => {
                let old = &self.nodes[i].node;
                if old.status.as_ref().and_then(|s| s.images.as_ref())
                    != node.status.as_ref().and_then(|s| s.images.as_ref())
                {
                    let old = old.clone();
                    self.count_images(&old, -1);
                    self.count_images(node, 1);
                }
                let zone = zone_key(node);
                let rezone = zone != self.nodes[i].zone;
                let info = &mut self.nodes[i];
                info.set_node(node);
                if rezone {
                    // node_tree.go updateNode: removed from the old zone, added at the end of
                    // the new one.
                    self.next_arrival += 1;
                    info.zone = zone;
                    info.arrival = self.next_arrival;
                    self.dirty = true;
                }
            }
            None => {
                self.count_images(node, 1);
                let mut info = NodeInfo::new(node.clone());
                for (n, p) in self.pods.values() {
                    if *n == name {
                        info.add_pod(p.clone());
                    }
                }
                self.next_arrival += 1;
                info.arrival = self.next_arrival;
                self.index.insert(name, self.nodes.len());
                self.nodes.push(info);
                self.dirty = true;
            }
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        if let Some(i) = self.index.get(name).copied() {
            let info = self.nodes.remove(i);
            self.count_images(&info.node, -1);
            self.reindex();
            self.dirty = true;
            self.affinity_lists_stale = true;
        }
    }

    /// Counts (or re-counts) a pod on its node; terminal pods free their resources (the
    /// scheduler's pod informer excludes Succeeded and Failed pods).
    pub fn upsert_pod(&mut self, uid: Arc<str>, pod: &Pod) {
        self.remove_pod(&uid);
        let Some(node) = podutil::node_name(pod) else {
            return;
        };
        if podutil::is_terminal(pod) {
            return;
        }
        let pod = Arc::new(pod.clone());
        if let Some(&i) = self.index.get(node) {
            let before = self.nodes[i].affinity_kinds();
            self.nodes[i].add_pod(pod.clone());
            self.affinity_lists_stale |= self.nodes[i].affinity_kinds() != before;
        }
        self.pods.insert(uid, (node.to_string(), pod));
    }

    pub fn remove_pod(&mut self, uid: &str) {
        if let Some((node, _)) = self.pods.remove(uid) {
            if let Some(&i) = self.index.get(&node) {
                let before = self.nodes[i].affinity_kinds();
                self.nodes[i].remove_pod(uid);
                self.affinity_lists_stale |= self.nodes[i].affinity_kinds() != before;
            }
        }
    }

    /// Nodes in node-tree order.
    pub fn nodes(&mut self) -> impl Iterator<Item = &NodeInfo> {
        self.snapshot().nodes.iter()
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }
}

/// Makes `dst` equal to `src`, copying only the parts that differ. A node's status report
/// changes little more than its resourceVersion and its conditions' heartbeat times; copying
/// the rest (labels, images, node info) again for every report was most of what a heartbeat
/// cost the scheduler. The status is destructured without `..`, so a field added to
/// `NodeStatus` cannot be forgotten here.
fn sync_node(dst: &mut Node, src: &Node) {
    fn sync<T: PartialEq + Clone>(dst: &mut T, src: &T) {
        if dst != src {
            dst.clone_from(src);
        }
    }
    sync(&mut dst.metadata.resource_version, &src.metadata.resource_version);
    sync(&mut dst.metadata, &src.metadata);
    sync(&mut dst.spec, &src.spec);
    let (Some(d), Some(s)) = (dst.status.as_mut(), src.status.as_ref()) else {
        sync(&mut dst.status, &src.status);
        return;
    };
    let k8s_openapi::api::core::v1::NodeStatus {
        addresses,
        allocatable,
        capacity,
        conditions,
        config,
        daemon_endpoints,
        features,
        images,
        node_info,
        phase,
        runtime_handlers,
        volumes_attached,
        volumes_in_use,
    } = s;
    match (d.conditions.as_mut(), conditions.as_ref()) {
        (Some(dc), Some(sc)) if dc.len() == sc.len() => {
            for (a, b) in dc.iter_mut().zip(sc) {
                sync(&mut a.last_heartbeat_time, &b.last_heartbeat_time);
                sync(a, b);
            }
        }
        _ => sync(&mut d.conditions, conditions),
    }
    sync(&mut d.addresses, addresses);
    sync(&mut d.allocatable, allocatable);
    sync(&mut d.capacity, capacity);
    sync(&mut d.config, config);
    sync(&mut d.daemon_endpoints, daemon_endpoints);
    sync(&mut d.features, features);
    sync(&mut d.images, images);
    sync(&mut d.node_info, node_info);
    sync(&mut d.phase, phase);
    sync(&mut d.runtime_handlers, runtime_handlers);
    sync(&mut d.volumes_attached, volumes_attached);
    sync(&mut d.volumes_in_use, volumes_in_use);
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, zone: &str) -> Node {
        let mut labels = BTreeMap::new();
        if !zone.is_empty() {
            labels.insert("topology.kubernetes.io/zone".to_string(), zone.to_string());
        }
        Node {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() },
            ..Default::default()
        }
    }

    fn pod_on(uid: &str, node: &str, anti_affinity: bool) -> Pod {
        use k8s_openapi::api::core::v1::{Affinity, PodAffinityTerm, PodAntiAffinity, PodSpec};
        let affinity = anti_affinity.then(|| Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                    topology_key: "kubernetes.io/hostname".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        });
        Pod {
            metadata: ObjectMeta { uid: Some(uid.into()), ..Default::default() },
            spec: Some(PodSpec { node_name: Some(node.into()), affinity, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn affinity_lists_follow_pods_and_node_order() {
        let mut c = Cache::default();
        for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
            c.upsert_node(&node(n, z));
        }
        let names = |c: &mut Cache| {
            let snap = c.snapshot();
            let walk = Snapshot { affinity_lists: None, ..snap };
            let listed = |v: Vec<NodePods<'_>>| -> Vec<String> {
                v.iter().map(|np| np.node.metadata.name.clone().unwrap_or_default()).collect()
            };
            // The kept lists are what walking every node finds.
            let kept = (
                listed(snap.node_pods_with_affinity()),
                listed(snap.node_pods_with_required_anti_affinity()),
            );
            let walked = (
                listed(walk.node_pods_with_affinity()),
                listed(walk.node_pods_with_required_anti_affinity()),
            );
            assert_eq!(kept, walked);
            kept.0
        };
        assert!(names(&mut c).is_empty());
        c.upsert_pod("p1".into(), &pod_on("p1", "a2", true));
        c.upsert_pod("p2".into(), &pod_on("p2", "a1", false));
        c.upsert_pod("p3".into(), &pod_on("p3", "a1", true));
        assert_eq!(names(&mut c), ["a1", "a2"]);
        // A node arriving re-lists the nodes (a1, b1, c1, a2): the positions follow.
        c.upsert_node(&node("c1", "c"));
        assert_eq!(names(&mut c), ["a1", "a2"]);
        c.remove_pod("p3");
        assert_eq!(names(&mut c), ["a2"]);
        c.remove_node("a2");
        assert!(names(&mut c).is_empty());
    }

    #[test]
    fn nodes_interleave_zones_in_arrival_order() {
        // node_tree_test.go TestNodeTree_AddNode "add nodes to a new and to an exhausted zone":
        // zones listed round-robin, nodes in each zone in arrival order.
        let mut c = Cache::default();
        for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a"), ("c1", "c"), ("b2", "b")] {
            c.upsert_node(&node(n, z));
        }
        let order: Vec<&str> = c.nodes().map(NodeInfo::name).collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "b2", "a3"]);
        c.remove_node("b1");
        let order: Vec<&str> = c.nodes().map(NodeInfo::name).collect();
        assert_eq!(order, ["a1", "b2", "c1", "a2", "a3"]);
    }

    #[test]
    fn a_synced_node_equals_the_source() {
        let mut cached = node("n1", "a");
        let mut report = cached.clone();
        report.metadata.resource_version = Some("42".into());
        report.metadata.labels.get_or_insert_with(Default::default).insert("tier".into(), "gold".into());
        let status = report.status.get_or_insert_with(Default::default);
        status.conditions = Some(vec![k8s_openapi::api::core::v1::NodeCondition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Default::default()
        }]);
        status.images = Some(vec![k8s_openapi::api::core::v1::ContainerImage {
            names: Some(vec!["nginx".into()]),
            size_bytes: Some(1),
        }]);
        sync_node(&mut cached, &report);
        assert_eq!(cached, report);
        // Same conditions, a later heartbeat: only the time moves.
        let mut later = report.clone();
        later.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_heartbeat_time =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()));
        sync_node(&mut cached, &later);
        assert_eq!(cached, later);
        // A status going away, and a spec change.
        let mut bare = later.clone();
        bare.status = None;
        bare.spec.get_or_insert_with(Default::default).unschedulable = Some(true);
        sync_node(&mut cached, &bare);
        assert_eq!(cached, bare);
        // And the cache reads the derived fields from the synced copy.
        let mut c = Cache::default();
        c.upsert_node(&later);
        c.upsert_node(&bare);
        assert!(c.nodes[0].unschedulable);
        // The packed labels follow the Node's labels.
        assert_eq!(c.nodes[0].node_pods().label("tier"), Some("gold"));
        let mut relabelled = bare.clone();
        relabelled.metadata.labels.as_mut().unwrap().insert("tier".into(), "silver".into());
        c.upsert_node(&relabelled);
        let np = c.nodes[0].node_pods();
        assert_eq!(np.label("tier"), Some("silver"));
        for (k, v) in relabelled.metadata.labels.as_ref().unwrap() {
            assert_eq!(np.label(k), Some(v.as_str()), "{k}");
        }
    }
}
