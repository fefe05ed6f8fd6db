//! The cluster network's data plane: what each node's kernel would do with a connection.
//!
//! Kubernetes' control plane never carries traffic; packets are routed by each node's kernel
//! using state that node agents wrote into it. This module holds that state, so a request can
//! be answered from what the nodes *actually* had installed at that instant rather than from
//! what the API server says:
//! - per node: whether the machine is up and the netfilter rule table kube-proxy last installed
//!   (with the `-m recent` session-affinity lists), written by [`crate::node::kube_proxy`];
//! - per pod IP: which containers of the pod run and since when they accept connections on
//!   which ports, written by the kubelet as containers start and stop.
//!
//! A connection walks the source node's rule table ([`RuleSet::evaluate`]), and the chosen
//! destination answers if its node is up and one of its running containers listens on the port
//! (a container that declares no `ports` is taken to listen on every port; one that declares
//! ports listens on those only, which is how a wrong `targetPort` shows up as "connection
//! refused").
//!
//! Simplified: the pod network itself (CNI routes between nodes) always works and is never
//! partitioned; host-network pods are not tracked (connections to a node's own address only
//! reach NodePorts); no conntrack, so a rule change affects the very next connection.

pub mod generator;
pub mod traffic;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::node::kube_proxy::rules::{
    AffinityTable, Origin, Packet, Protocol, RuleSet, ServicePortInfo, Verdict,
};
use crate::sim::rng::SimRng;
use crate::sim::SimTime;

pub use generator::{Load, TrafficGenerator};
pub use traffic::{Outcome, TrafficRecord};

/// One node's networking state.
#[derive(Clone, Debug)]
pub struct NodeNet {
    pub ip: Ipv4Addr,
    /// The machine is powered on.
    pub up: bool,
    /// The rule table kube-proxy installed, and when (None: nothing installed since boot).
    rules: Option<(Arc<RuleSet>, SimTime)>,
    affinity: AffinityTable,
}

/// A running container's listening sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerNet {
    /// Declared `containerPort`s; empty means "listens on any port".
    pub ports: Vec<(u16, Protocol)>,
    /// When the process starts accepting connections (container start + `servesAfter`).
    pub serving_from: SimTime,
}

impl ContainerNet {
    fn accepts(&self, port: u16, protocol: Protocol, now: SimTime) -> bool {
        now >= self.serving_from
            && (self.ports.is_empty() || self.ports.iter().any(|&(p, proto)| p == port && proto == protocol))
    }
}

/// A pod sandbox with an address on its node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodNet {
    pub node: String,
    pub namespace: String,
    pub name: String,
    /// The containers running right now.
    pub containers: Vec<ContainerNet>,
}

/// Where a connection comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A pod (by IP) on a node.
    Pod { node: String, ip: Ipv4Addr },
    /// A node's host network namespace.
    Node { node: String },
    /// Outside the cluster; enters at `node` when the destination is one of its addresses.
    External,
}

/// Where a connection ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub outcome: Outcome,
    /// The address the packet was finally sent to (after DNAT).
    pub target: Option<(Ipv4Addr, u16)>,
    /// The pod behind `target`, as `namespace/name`, and its node.
    pub pod: Option<String>,
    pub node: Option<String>,
}

/// Where clients outside the cluster come from (a documentation address, never a pod).
pub const EXTERNAL_CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);

/// The data plane of the whole cluster.
#[derive(Clone, Debug, Default)]
pub struct Network {
    nodes: BTreeMap<String, NodeNet>,
    node_by_ip: BTreeMap<Ipv4Addr, String>,
    pods: BTreeMap<Ipv4Addr, PodNet>,
    /// Every request made so far, in order (written out as `traffic.csv`).
    pub log: Vec<TrafficRecord>,
    /// Recently built rule tables that do not depend on the node, newest last (see
    /// [`Network::shared_rules`]).
    shared: Vec<(NodeIndependentInputs, RuleSet)>,
}

/// What a node-independent rule table is built from: the same inputs give the same tables on
/// every node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeIndependentInputs {
    pub cluster_cidr: Option<String>,
    pub masquerade_all: bool,
    pub services: Vec<ServicePortInfo>,
}

/// How many distinct node-independent tables are kept for sharing.
const SHARED_TABLES: usize = 4;

impl Network {
    pub fn new() -> Self {
        Self::default()
    }

    /// The machine `node` with address `ip` is powered on (its kernel starts without rules).
    pub fn node_up(&mut self, node: &str, ip: Ipv4Addr) {
        self.node_by_ip.insert(ip, node.to_string());
        let entry = self.nodes.entry(node.to_string()).or_insert_with(|| NodeNet {
            ip,
            up: true,
            rules: None,
            affinity: AffinityTable::default(),
        });
        entry.up = true;
    }

    /// The machine lost power: its rules and every container on it are gone.
    pub fn node_down(&mut self, node: &str) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.up = false;
            n.rules = None;
            n.affinity = AffinityTable::default();
        }
        for pod in self.pods.values_mut().filter(|p| p.node == node) {
            pod.containers.clear();
        }
    }

    pub fn node(&self, node: &str) -> Option<&NodeNet> {
        self.nodes.get(node)
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&str, &NodeNet)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The rule table for `inputs` on the node at `node_ip`, built by `build` unless another
    /// node's kube-proxy built it from equal inputs recently: then the tables are shared, so a
    /// 1,000-node cluster holds one copy instead of 1,000 identical ones. Only for inputs with
    /// no node-local traffic policy (the caller checks), whose tables are the same everywhere.
    pub fn shared_rules(
        &mut self,
        inputs: NodeIndependentInputs,
        node_ip: Ipv4Addr,
        build: impl FnOnce(&NodeIndependentInputs) -> RuleSet,
    ) -> RuleSet {
        if let Some((_, rules)) = self.shared.iter().rev().find(|(i, _)| *i == inputs) {
            return rules.on_node(node_ip);
        }
        let rules = build(&inputs);
        if self.shared.len() == SHARED_TABLES {
            self.shared.remove(0);
        }
        self.shared.push((inputs, rules.clone()));
        rules
    }

    /// kube-proxy on `node` installed a new rule table.
    pub fn install_rules(&mut self, node: &str, rules: Arc<RuleSet>, now: SimTime) {
        if let Some(n) = self.nodes.get_mut(node).filter(|n| n.up) {
            n.rules = Some((rules, now));
        }
    }

    /// The rule table installed on `node` and when it was installed.
    pub fn rules(&self, node: &str) -> Option<(&Arc<RuleSet>, SimTime)> {
        self.nodes.get(node)?.rules.as_ref().map(|(r, t)| (r, *t))
    }

    /// The kubelet set up (or updated) a pod sandbox at `ip`.
    pub fn set_pod(&mut self, ip: Ipv4Addr, pod: PodNet) {
        self.pods.insert(ip, pod);
    }

    /// The pod sandbox at `ip` was torn down and its address released.
    pub fn remove_pod(&mut self, ip: Ipv4Addr) {
        self.pods.remove(&ip);
    }

    pub fn pod(&self, ip: Ipv4Addr) -> Option<&PodNet> {
        self.pods.get(&ip)
    }

    /// Opens a connection from `from` to `dst:port` at `now`. Random choices in the rule table
    /// (`-m statistic`) draw from `rng`.
    pub fn connect(
        &mut self,
        from: &Endpoint,
        dst: Ipv4Addr,
        port: u16,
        protocol: Protocol,
        now: SimTime,
        rng: &mut SimRng,
    ) -> Delivery {
        let (node, origin, src) = match from {
            Endpoint::Pod { node, ip } => (Some(node.clone()), Origin::Pod, *ip),
            Endpoint::Node { node } => {
                let ip = self.nodes.get(node).map_or(Ipv4Addr::UNSPECIFIED, |n| n.ip);
                (Some(node.clone()), Origin::HostNetwork, ip)
            }
            Endpoint::External => (self.node_by_ip.get(&dst).cloned(), Origin::External, EXTERNAL_CLIENT),
        };
        let Some(node) = node else {
            // From outside, only node addresses are reachable (no LoadBalancer is modelled).
            return Delivery::failed(Outcome::Timeout, Some((dst, port)));
        };
        let Some(state) = self.nodes.get_mut(&node).filter(|n| n.up) else {
            return Delivery::failed(Outcome::Timeout, Some((dst, port)));
        };
        let dst_is_local = dst == state.ip;
        let packet = Packet { origin, src, dst, dst_port: port, protocol, dst_is_local };
        let verdict = match &state.rules {
            Some((rules, _)) => rules.evaluate(&packet, now.as_millis(), &mut state.affinity, rng),
            None => Verdict::NotService,
        };
        match verdict {
            Verdict::Dnat { ip, port, .. } => self.deliver(ip, port, protocol, now),
            Verdict::NotService => self.deliver(dst, port, protocol, now),
            Verdict::Reject { .. } => Delivery::failed(Outcome::Rejected, Some((dst, port))),
            Verdict::Drop { .. } => Delivery::failed(Outcome::Timeout, Some((dst, port))),
        }
    }

    /// The packet reached `ip:port` on the pod network: who answers?
    fn deliver(&self, ip: Ipv4Addr, port: u16, protocol: Protocol, now: SimTime) -> Delivery {
        if let Some(node) = self.node_by_ip.get(&ip) {
            // A node address that no NodePort rule rewrote: nothing listens there in the model.
            let up = self.nodes.get(node).is_some_and(|n| n.up);
            let outcome = if up { Outcome::Refused } else { Outcome::Timeout };
            return Delivery { outcome, target: Some((ip, port)), pod: None, node: Some(node.clone()) };
        }
        let Some(pod) = self.pods.get(&ip) else {
            return Delivery::failed(Outcome::Timeout, Some((ip, port)));
        };
        let up = self.nodes.get(&pod.node).is_some_and(|n| n.up);
        let outcome = if !up {
            Outcome::Timeout
        } else if pod.containers.iter().any(|c| c.accepts(port, protocol, now)) {
            Outcome::Ok
        } else {
            Outcome::Refused
        };
        Delivery {
            outcome,
            target: Some((ip, port)),
            pod: Some(format!("{}/{}", pod.namespace, pod.name)),
            node: Some(pod.node.clone()),
        }
    }
}

impl Delivery {
    fn failed(outcome: Outcome, target: Option<(Ipv4Addr, u16)>) -> Delivery {
        Delivery { outcome, target, pod: None, node: None }
    }
}
