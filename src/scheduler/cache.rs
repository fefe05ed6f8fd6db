//! The scheduler's view of nodes (pkg/scheduler/backend/cache): per node, the sum of requests
//! of the pods assigned to it, kept up to date incrementally from watch events, plus pods the
//! scheduler has bound but not yet heard back about ("assumed" pods), so two pods scheduled in
//! quick succession never over-commit a node.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::api::pod::{self as podutil, Resources};

/// The default requests upstream substitutes for containers that set none, for scoring only
/// (pkg/scheduler/util: DefaultMilliCPURequest 100m, DefaultMemoryRequest 200Mi).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 << 20;

/// One node and what is placed on it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub node: Node,
    pub allocatable: Resources,
    pub requested: Resources,
    pub nonzero_requested: Resources,
    pub pod_count: i64,
    /// hostPorts in use: (protocol, hostIP, port).
    pub used_ports: Vec<(String, String, i32)>,
}

impl NodeInfo {
    pub fn new(node: Node) -> Self {
        let allocatable = podutil::node_allocatable(&node);
        NodeInfo {
            node,
            allocatable,
            requested: Resources::default(),
            nonzero_requested: Resources::default(),
            pod_count: 0,
            used_ports: Vec::new(),
        }
    }

    /// NodePorts filter: a wanted hostPort conflicts with one in use on the same protocol and
    /// port when the host IPs are equal or either is 0.0.0.0.
    pub fn ports_free(&self, pod: &Pod) -> bool {
        host_ports(pod).iter().all(|(proto, ip, port)| {
            !self
                .used_ports
                .iter()
                .any(|(p, i, n)| p == proto && n == port && (i == ip || i == "0.0.0.0" || ip == "0.0.0.0"))
        })
    }
}

fn host_ports(pod: &Pod) -> Vec<(String, String, i32)> {
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

/// Requests with upstream's non-zero defaults for containers that set none.
pub fn nonzero_requests(pod: &Pod) -> Resources {
    let Some(spec) = &pod.spec else {
        return Resources::default();
    };
    let one = |c: &k8s_openapi::api::core::v1::Container| {
        let req = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let mut r = Resources::from_list(req);
        if !req.is_some_and(|m| m.contains_key("cpu")) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !req.is_some_and(|m| m.contains_key("memory")) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
        r
    };
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&one(c));
    }
    for c in spec.init_containers.iter().flatten() {
        let r = one(c);
        sum.milli_cpu = sum.milli_cpu.max(r.milli_cpu);
        sum.memory = sum.memory.max(r.memory);
    }
    sum.add(&Resources::from_list(spec.overhead.as_ref()));
    sum
}

#[derive(Clone, Debug)]
struct Placed {
    node: String,
    requested: Resources,
    nonzero: Resources,
    ports: Vec<(String, String, i32)>,
}

/// Nodes and the pods counted on them.
#[derive(Default)]
pub struct Cache {
    nodes: BTreeMap<String, NodeInfo>,
    pods: BTreeMap<Arc<str>, Placed>,
}

impl Cache {
    pub fn upsert_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        match self.nodes.get_mut(&name) {
            Some(info) => {
                info.allocatable = podutil::node_allocatable(&node);
                info.node = node;
            }
            None => {
                let mut info = NodeInfo::new(node);
                for p in self.pods.values().filter(|p| p.node == name) {
                    add_to(&mut info, p);
                }
                self.nodes.insert(name, info);
            }
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// Counts (or re-counts) a pod on its node; terminal pods free their resources.
    pub fn upsert_pod(&mut self, uid: Arc<str>, pod: &Pod) {
        self.remove_pod(&uid);
        let Some(node) = podutil::node_name(pod) else {
            return;
        };
        if podutil::is_terminal(pod) {
            return;
        }
        let placed = Placed {
            node: node.to_string(),
            requested: podutil::pod_requests(pod),
            nonzero: nonzero_requests(pod),
            ports: host_ports(pod),
        };
        if let Some(info) = self.nodes.get_mut(node) {
            add_to(info, &placed);
        }
        self.pods.insert(uid, placed);
    }

    pub fn remove_pod(&mut self, uid: &str) {
        if let Some(p) = self.pods.remove(uid) {
            if let Some(info) = self.nodes.get_mut(&p.node) {
                info.requested.sub(&p.requested);
                info.nonzero_requested.sub(&p.nonzero);
                info.pod_count -= 1;
                for port in &p.ports {
                    if let Some(i) = info.used_ports.iter().position(|x| x == port) {
                        info.used_ports.remove(i);
                    }
                }
            }
        }
    }

    /// Nodes in name order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

fn add_to(info: &mut NodeInfo, p: &Placed) {
    info.requested.add(&p.requested);
    info.nonzero_requested.add(&p.nonzero);
    info.pod_count += 1;
    info.used_ports.extend(p.ports.iter().cloned());
}
