//! kube-proxy's iptables rule table for one node, as data.
//!
//! [`build`] is a port of `syncProxyRules` in upstream `pkg/proxy/iptables/proxier.go`
//! (v1.32–v1.34): from the node's view of every Service port and its endpoints it produces the
//! `filter` and `nat` tables kube-proxy programs — `KUBE-SERVICES`, `KUBE-NODEPORTS`,
//! `KUBE-EXTERNAL-SERVICES`, `KUBE-FORWARD`, `KUBE-PROXY-FIREWALL`, `KUBE-POSTROUTING`,
//! `KUBE-MARK-MASQ`, and per service port `KUBE-SVC-…`, `KUBE-SVL-…`, `KUBE-EXT-…`, `KUBE-FW-…`
//! and `KUBE-SEP-…` — plus the jump rules kube-proxy and kubelet insert into the built-in
//! chains. Which endpoints are used follows `CategorizeEndpoints` (`pkg/proxy/topology.go`):
//! ready endpoints, or the serving-terminating ones when none is ready, separately for the
//! Cluster and Local traffic policies; duplicates and endpoint order follow
//! `pkg/proxy/endpointslicecache.go` (sorted by the `"IP:port"` string).
//!
//! The result, a [`RuleSet`], is printed by [`RuleSet::save`] (what `iptables-save` shows, in
//! kube-proxy's argument order), [`RuleSet::save_canonical`] (the kernel's canonical form) and
//! [`RuleSet::restore_input`] (kube-proxy's exact `iptables-restore` payload, which upstream's
//! `proxier_test.go` checks), and walked by [`RuleSet::evaluate`].
//!
//! Simplified: IPv4 only, one node IP; `nodePortAddresses` unset (NodePorts on every local
//! address); no topology hints or `trafficDistribution` (topology mode is always the default);
//! LoadBalancer IPs are VIP-mode ingress IPs; every sync is a full sync, so there are no `-X`
//! lines for stale chains. Where upstream's order comes from Go map iteration — the order of
//! service ports, and the merged endpoint list of a service that uses serving-terminating
//! endpoints under both policies — this module sorts: service ports by `namespace/name`, then
//! port name, then protocol (the order upstream's test helper `sortIPTablesRules` compares
//! in), endpoints by `"IP:port"`. The node's iptables facts that upstream probes at start-up
//! are in [`ProxierFeatures`]; its default is a current kubeadm node.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

mod eval;
mod table;

pub use eval::{AffinityTable, Origin, Packet, Verdict};
pub use table::{Chain, Cidr, Match, Rule, RuleSet, Table, TableName, Target};

use table::TableBuilder;

const KUBE_SERVICES: &str = "KUBE-SERVICES";
const KUBE_EXTERNAL_SERVICES: &str = "KUBE-EXTERNAL-SERVICES";
const KUBE_NODEPORTS: &str = "KUBE-NODEPORTS";
const KUBE_POSTROUTING: &str = "KUBE-POSTROUTING";
const KUBE_MARK_MASQ: &str = "KUBE-MARK-MASQ";
const KUBE_FORWARD: &str = "KUBE-FORWARD";
const KUBE_PROXY_FIREWALL: &str = "KUBE-PROXY-FIREWALL";
/// Created empty by kube-proxy's `iptables.Monitor` to notice a flush of its tables.
const KUBE_PROXY_CANARY: &str = "KUBE-PROXY-CANARY";
/// kubelet's anti-martian chain, which kube-proxy duplicates (`kubeletFirewallChain`).
const KUBELET_FIREWALL: &str = "KUBE-FIREWALL";

/// `1 << masqueradeBit` with the default `masqueradeBit` 14. (kube-proxy formats it with
/// `%#08x`, i.e. `0x00004000`; the kernel stores a number and prints it back as `0x4000`, which
/// is also what upstream's fake proxier uses.)
pub const MASQUERADE_MARK: u32 = 0x4000;

/// Above this many endpoints in total kube-proxy leaves the per-endpoint comments out
/// (`largeClusterEndpointsThreshold`).
pub const LARGE_CLUSTER_ENDPOINTS_THRESHOLD: usize = 1000;

/// `sessionAffinityConfig.clientIP.timeoutSeconds` when unset (three hours).
pub const DEFAULT_STICKY_MAX_AGE_SECONDS: u32 = 10_800;

/// nfacct counters kube-proxy creates (`pkg/proxy/metrics`).
const LOCALHOST_NODEPORTS_ACCEPTED: &str = "localhost_nps_accepted_pkts";
const CT_STATE_INVALID_DROPPED: &str = "ct_state_invalid_dropped_pkts";

const LOOPBACK_NET: Cidr = Cidr { addr: Ipv4Addr::new(127, 0, 0, 0), prefix_len: 8, bare: false };

/// A Service port's transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Lower case, as in rules and chain-name hashes (`tcp`, `udp`, `sctp`).
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// Parses an API protocol (`TCP`, `UDP`, `SCTP`), ignoring case.
    pub fn parse(text: &str) -> Option<Protocol> {
        [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .find(|p| text.eq_ignore_ascii_case(p.lower()))
    }
}

/// One endpoint of a service port, from an EndpointSlice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    /// `addresses[0]`.
    pub ip: Ipv4Addr,
    /// The slice port's number (the target port).
    pub port: u16,
    /// `conditions.ready` (unset means true).
    pub ready: bool,
    /// `conditions.serving` (unset means true).
    pub serving: bool,
    /// `conditions.terminating` (unset means false).
    pub terminating: bool,
    /// `nodeName`; an endpoint is local when it names this node.
    pub node_name: Option<String>,
}

impl EndpointInfo {
    /// `"IP:port"`, as upstream's `BaseEndpointInfo.String()` (hashed into the SEP chain name).
    pub fn endpoint_string(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }
}

/// One port of a Service that has a cluster IP (headless and ExternalName services are never
/// passed in), with its endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortInfo {
    /// Namespace of the Service.
    pub namespace: String,
    /// Name of the Service.
    pub name: String,
    /// `ports[].name`; empty for an unnamed port.
    pub port_name: String,
    /// `ports[].protocol`.
    pub protocol: Protocol,
    /// `spec.clusterIP`.
    pub cluster_ip: Ipv4Addr,
    /// `ports[].port`.
    pub port: u16,
    /// `ports[].nodePort` (NodePort and LoadBalancer services).
    pub node_port: Option<u16>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<Ipv4Addr>,
    /// `status.loadBalancer.ingress[].ip`.
    pub load_balancer_ips: Vec<Ipv4Addr>,
    /// `sessionAffinity: ClientIP` with its timeout in seconds (default
    /// [`DEFAULT_STICKY_MAX_AGE_SECONDS`]); `None` for no affinity.
    pub session_affinity_seconds: Option<u32>,
    /// `externalTrafficPolicy: Local` (only has an effect on an externally reachable port).
    pub external_policy_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub internal_policy_local: bool,
    /// The port's endpoints from all of the Service's EndpointSlices, in any order.
    pub endpoints: Vec<EndpointInfo>,
}

impl ServicePortInfo {
    /// `ns/name:port`, or `ns/name` for an unnamed port (upstream `ServicePortName.String()`).
    pub fn service_port_name(&self) -> String {
        service_port_name(&self.namespace, &self.name, &self.port_name)
    }
}

/// Fields of a service port that [`build`] does not take; [`build_with`] does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServicePortExtras {
    /// `spec.loadBalancerSourceRanges` (CIDR strings; surrounding spaces are ignored, as
    /// upstream does). With LoadBalancer IPs and endpoints they create a `KUBE-FW-…` chain.
    pub load_balancer_source_ranges: Vec<String>,
    /// `spec.healthCheckNodePort` (LoadBalancer with `externalTrafficPolicy: Local`).
    pub health_check_node_port: Option<u16>,
}

/// kube-proxy's configuration for the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxierConfig {
    /// This node's name (endpoints with this `nodeName` are local).
    pub node_name: String,
    /// This node's address.
    pub node_ip: Ipv4Addr,
    /// `clusterCIDR` (e.g. `10.244.0.0/16`): traffic from outside it to a cluster IP is
    /// masqueraded. Without it there is no local-traffic detector.
    pub cluster_cidr: Option<String>,
    /// `iptables.masqueradeAll`: masquerade all traffic to cluster IPs.
    pub masquerade_all: bool,
}

/// What kube-proxy finds out about the node's iptables at start-up. The default is a current
/// kubeadm node; upstream's unit tests (`NewFakeProxier`) differ only in `random_fully: false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxierFeatures {
    /// `iptables.localhostNodePorts` (default true): NodePorts also answer on 127.0.0.0/8, and
    /// kube-proxy writes the `KUBE-FIREWALL` anti-martian rule.
    pub localhost_node_ports: bool,
    /// The nfacct counters could be created (adds `-m nfacct` to two rules).
    pub nfacct: bool,
    /// iptables supports `MASQUERADE --random-fully`.
    pub random_fully: bool,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set: no DROP rule for INVALID packets.
    pub conntrack_tcp_liberal: bool,
}

impl Default for ProxierFeatures {
    fn default() -> Self {
        ProxierFeatures {
            localhost_node_ports: true,
            nfacct: true,
            random_fully: true,
            conntrack_tcp_liberal: false,
        }
    }
}

/// `ns/name:port`, or `ns/name` when `port_name` is empty (`ServicePortName.String()`).
pub fn service_port_name(namespace: &str, name: &str, port_name: &str) -> String {
    if port_name.is_empty() {
        format!("{namespace}/{name}")
    } else {
        format!("{namespace}/{name}:{port_name}")
    }
}

/// First 16 characters of base32 (RFC 4648, `A–Z2–7`) of sha256(`text`) (`portProtoHash`).
fn hash16(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut encoded = BASE32.encode(digest.as_slice());
    encoded.truncate(16);
    encoded
}

/// `KUBE-SVC-…`: the service port's chain for Cluster traffic policy
/// (`servicePortPolicyClusterChain`). `protocol` is lower case.
pub fn service_port_chain_name(service_port_name: &str, protocol: &str) -> String {
    format!("KUBE-SVC-{}", hash16(&format!("{service_port_name}{protocol}")))
}

/// `KUBE-SVL-…`: the chain of local endpoints for Local traffic policy
/// (`servicePortPolicyLocalChainName`).
pub fn service_port_policy_local_chain_name(service_port_name: &str, protocol: &str) -> String {
    format!("KUBE-SVL-{}", hash16(&format!("{service_port_name}{protocol}")))
}

/// `KUBE-FW-…`: the `loadBalancerSourceRanges` filter chain (`serviceFirewallChainName`).
pub fn service_firewall_chain_name(service_port_name: &str, protocol: &str) -> String {
    format!("KUBE-FW-{}", hash16(&format!("{service_port_name}{protocol}")))
}

/// `KUBE-EXT-…`: where NodePort, external-IP and LoadBalancer traffic goes first
/// (`serviceExternalChainName`).
pub fn service_external_chain_name(service_port_name: &str, protocol: &str) -> String {
    format!("KUBE-EXT-{}", hash16(&format!("{service_port_name}{protocol}")))
}

/// `KUBE-SEP-…`: one endpoint's DNAT chain; `endpoint` is `"IP:port"`
/// (`servicePortEndpointChainName`).
pub fn service_port_endpoint_chain_name(service_port_name: &str, protocol: &str, endpoint: &str) -> String {
    format!("KUBE-SEP-{}", hash16(&format!("{service_port_name}{protocol}{endpoint}")))
}

/// Builds the node's tables for `services` with the default [`ProxierFeatures`].
pub fn build(cfg: &ProxierConfig, services: &[ServicePortInfo]) -> RuleSet {
    let none = ServicePortExtras::default();
    let ports: Vec<(&ServicePortInfo, &ServicePortExtras)> = services.iter().map(|s| (s, &none)).collect();
    sync_proxy_rules(cfg, &ProxierFeatures::default(), &ports)
}

/// [`build`] with per-port extras and explicit node features.
pub fn build_with(
    cfg: &ProxierConfig,
    features: &ProxierFeatures,
    services: &[(ServicePortInfo, ServicePortExtras)],
) -> RuleSet {
    let ports: Vec<(&ServicePortInfo, &ServicePortExtras)> =
        services.iter().map(|pair| (&pair.0, &pair.1)).collect();
    sync_proxy_rules(cfg, features, &ports)
}

/// A jump from a built-in chain to one of kube-proxy's (`iptablesJumpChain`).
struct JumpChain {
    table: TableName,
    dst: &'static str,
    src: &'static str,
    comment: &'static str,
    /// `-m conntrack --ctstate NEW` in front.
    new_only: bool,
}

const fn jump_chain(
    table: TableName,
    dst: &'static str,
    src: &'static str,
    comment: &'static str,
    new_only: bool,
) -> JumpChain {
    JumpChain { table, dst, src, comment, new_only }
}

/// `iptablesJumpChains` in proxier.go, in its order.
static IPTABLES_JUMP_CHAINS: [JumpChain; 12] = [
    jump_chain(
        TableName::Filter,
        KUBE_EXTERNAL_SERVICES,
        "INPUT",
        "kubernetes externally-visible service portals",
        true,
    ),
    jump_chain(
        TableName::Filter,
        KUBE_EXTERNAL_SERVICES,
        "FORWARD",
        "kubernetes externally-visible service portals",
        true,
    ),
    jump_chain(TableName::Filter, KUBE_NODEPORTS, "INPUT", "kubernetes health check service ports", false),
    jump_chain(TableName::Filter, KUBE_SERVICES, "FORWARD", "kubernetes service portals", true),
    jump_chain(TableName::Filter, KUBE_SERVICES, "OUTPUT", "kubernetes service portals", true),
    jump_chain(TableName::Filter, KUBE_FORWARD, "FORWARD", "kubernetes forwarding rules", false),
    jump_chain(TableName::Filter, KUBE_PROXY_FIREWALL, "INPUT", "kubernetes load balancer firewall", true),
    jump_chain(TableName::Filter, KUBE_PROXY_FIREWALL, "OUTPUT", "kubernetes load balancer firewall", true),
    jump_chain(TableName::Filter, KUBE_PROXY_FIREWALL, "FORWARD", "kubernetes load balancer firewall", true),
    jump_chain(TableName::Nat, KUBE_SERVICES, "OUTPUT", "kubernetes service portals", false),
    jump_chain(TableName::Nat, KUBE_SERVICES, "PREROUTING", "kubernetes service portals", false),
    jump_chain(TableName::Nat, KUBE_POSTROUTING, "POSTROUTING", "kubernetes postrouting rules", false),
];

/// `iptablesKubeletJumpChains`: kubelet's own jumps (`pkg/kubelet/kubelet_network_linux.go`),
/// which kube-proxy also ensures.
static KUBELET_JUMP_CHAINS: [JumpChain; 2] = [
    jump_chain(TableName::Filter, KUBELET_FIREWALL, "INPUT", "", false),
    jump_chain(TableName::Filter, KUBELET_FIREWALL, "OUTPUT", "", false),
];

fn rule(matches: Vec<Match>, target: Target) -> Rule {
    Rule { matches, target: Some(target) }
}

fn comment(text: impl Into<String>) -> Match {
    Match::Comment(text.into())
}

fn jump(chain: &str) -> Target {
    Target::Jump(chain.to_string())
}

fn jump_rule(j: &JumpChain) -> Rule {
    let mut matches = Vec::new();
    if j.new_only {
        matches.push(Match::ConnState { states: "NEW", negated: false });
    }
    if !j.comment.is_empty() {
        matches.push(comment(j.comment));
    }
    rule(matches, jump(j.dst))
}

/// The anti-martian rule kubelet and kube-proxy both write (<https://issue.k8s.io/90259>).
fn localnet_firewall_rule() -> Rule {
    rule(
        vec![
            comment("block incoming localnet connections"),
            Match::Destination { cidr: LOOPBACK_NET, negated: false },
            Match::Source { cidr: LOOPBACK_NET, negated: true },
            Match::ConnState { states: "RELATED,ESTABLISHED,DNAT", negated: true },
        ],
        Target::Drop,
    )
}

/// `-m statistic --mode random --probability 1/n`, printed like `computeProbability`
/// (`%0.10f`).
fn probability(n: usize) -> Match {
    let exact = 1.0 / n as f64;
    let text = format!("{exact:.10}");
    let value = text.parse().unwrap_or(exact);
    Match::Probability { text, value }
}

/// The service's endpoints as upstream's EndpointSliceCache holds them: one per `"IP:port"`
/// (a terminating duplicate never replaces another), sorted by that string
/// (`addEndpoints` and `byEndpoint` in pkg/proxy/endpointslicecache.go).
fn unique_endpoints(endpoints: &[EndpointInfo]) -> Vec<&EndpointInfo> {
    let mut by_string: BTreeMap<String, &EndpointInfo> = BTreeMap::new();
    for ep in endpoints {
        match by_string.entry(ep.endpoint_string()) {
            Entry::Vacant(slot) => {
                slot.insert(ep);
            }
            Entry::Occupied(mut slot) => {
                if !ep.terminating {
                    slot.insert(ep);
                }
            }
        }
    }
    by_string.into_values().collect()
}

fn is_local_endpoint(ep: &EndpointInfo, node_name: &str) -> bool {
    !node_name.is_empty() && ep.node_name.as_deref() == Some(node_name)
}

/// The traffic-policy facts of a service port (`BaseServicePortInfo`, pkg/proxy/serviceport.go).
struct TrafficPolicy {
    /// A NodePort, an external IP or a LoadBalancer IP.
    externally_accessible: bool,
    /// `externalTrafficPolicy: Local` on an externally accessible port
    /// (`apiservice.ExternalPolicyLocal`).
    external_local: bool,
    /// `internalTrafficPolicy: Local`.
    internal_local: bool,
}

impl TrafficPolicy {
    fn of(svc: &ServicePortInfo) -> Self {
        let externally_accessible = svc.node_port.is_some_and(|p| p != 0)
            || !svc.load_balancer_ips.is_empty()
            || !svc.external_ips.is_empty();
        TrafficPolicy {
            externally_accessible,
            external_local: svc.external_policy_local && externally_accessible,
            internal_local: svc.internal_policy_local,
        }
    }

    /// Cluster endpoints are needed for internal Cluster policy, and for any external traffic
    /// (even with Local policy, for the short-circuit of pod and host traffic).
    fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_local || self.externally_accessible
    }

    fn uses_local_endpoints(&self) -> bool {
        self.internal_local || (self.external_local && self.externally_accessible)
    }
}

/// The result of `CategorizeEndpoints` (pkg/proxy/topology.go).
struct CategorizedEndpoints<'a> {
    /// Endpoints for Cluster traffic policy (empty if the port never uses it).
    cluster: Vec<&'a EndpointInfo>,
    /// This node's endpoints for Local traffic policy (empty if the port never uses it).
    local: Vec<&'a EndpointInfo>,
    /// Every endpoint reachable from this node: the union of the two.
    all_reachable: Vec<&'a EndpointInfo>,
    /// The service has a usable endpoint somewhere in the cluster.
    has_any: bool,
}

/// Ready endpoints, falling back to serving-terminating ones (independently for Cluster and
/// Local policy) when none is ready. Topology hints are not modelled, so the Cluster list is
/// every ready endpoint.
fn categorize_endpoints<'a>(
    endpoints: &[&'a EndpointInfo],
    policy: &TrafficPolicy,
    node_name: &str,
) -> CategorizedEndpoints<'a> {
    let mut out = CategorizedEndpoints {
        cluster: Vec::new(),
        local: Vec::new(),
        all_reachable: Vec::new(),
        has_any: false,
    };
    if policy.uses_cluster_endpoints() {
        out.cluster = endpoints.iter().copied().filter(|ep| ep.ready).collect();
        if out.cluster.is_empty() {
            out.cluster = endpoints.iter().copied().filter(|ep| ep.serving && ep.terminating).collect();
        }
        out.has_any = !out.cluster.is_empty();
    }
    if !policy.uses_local_endpoints() {
        out.all_reachable = out.cluster.clone();
        return out;
    }

    let mut local_ready = false;
    let mut local_serving_terminating = false;
    for ep in endpoints {
        if ep.ready {
            out.has_any = true;
            local_ready |= is_local_endpoint(ep, node_name);
        } else if ep.serving && ep.terminating {
            out.has_any = true;
            local_serving_terminating |= is_local_endpoint(ep, node_name);
        }
    }
    let mut use_serving_terminating = false;
    if local_ready {
        out.local =
            endpoints.iter().copied().filter(|ep| is_local_endpoint(ep, node_name) && ep.ready).collect();
    } else if local_serving_terminating {
        use_serving_terminating = true;
        out.local = endpoints
            .iter()
            .copied()
            .filter(|ep| is_local_endpoint(ep, node_name) && ep.serving && ep.terminating)
            .collect();
    }

    if !policy.uses_cluster_endpoints() {
        out.all_reachable = out.local.clone();
        return out;
    }
    if !use_serving_terminating {
        // Every local ready endpoint is also a cluster endpoint.
        out.all_reachable = out.cluster.clone();
        return out;
    }
    // Upstream merges the two lists through a Go map (random order); sorted here.
    let mut merged: BTreeMap<String, &'a EndpointInfo> = BTreeMap::new();
    for &ep in out.cluster.iter().chain(&out.local) {
        merged.insert(ep.endpoint_string(), ep);
    }
    out.all_reachable = merged.into_values().collect();
    out
}

/// What the filter table does with traffic the nat table will not take.
#[derive(Clone)]
struct FilterAction {
    target: Target,
    comment: String,
}

/// One run of `syncProxyRules`.
struct ProxySync<'a> {
    cfg: &'a ProxierConfig,
    features: &'a ProxierFeatures,
    /// The local-traffic detector (`--cluster-cidr`): `-s CIDR` is pod traffic.
    local_cidr: Option<Cidr>,
    /// More than [`LARGE_CLUSTER_ENDPOINTS_THRESHOLD`] endpoints: no per-endpoint comments.
    large_cluster_mode: bool,
    filter: TableBuilder,
    nat: TableBuilder,
}

fn sync_proxy_rules(
    cfg: &ProxierConfig,
    features: &ProxierFeatures,
    ports: &[(&ServicePortInfo, &ServicePortExtras)],
) -> RuleSet {
    // One entry per service port name and protocol (upstream's svcPortMap key), in a fixed
    // order instead of Go's map order.
    let mut ordered: BTreeMap<(String, String, Protocol), (&ServicePortInfo, &ServicePortExtras)> =
        BTreeMap::new();
    for &(svc, extras) in ports {
        let key = (format!("{}/{}", svc.namespace, svc.name), svc.port_name.clone(), svc.protocol);
        ordered.entry(key).or_insert((svc, extras));
    }
    let total_endpoints: usize =
        ordered.values().map(|(svc, _)| unique_endpoints(&svc.endpoints).len()).sum();

    let mut sync = ProxySync {
        cfg,
        features,
        local_cidr: cfg.cluster_cidr.as_deref().and_then(Cidr::parse),
        large_cluster_mode: total_endpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
        filter: TableBuilder::new(TableName::Filter),
        nat: TableBuilder::new(TableName::Nat),
    };
    sync.node_chains();
    sync.top_level_chains();
    for (svc, extras) in ordered.values() {
        sync.service_port(svc, extras);
    }
    sync.final_rules();
    RuleSet::new(sync.filter.finish(), sync.nat.finish(), cfg.node_ip)
}

impl ProxySync<'_> {
    fn table(&mut self, name: TableName) -> &mut TableBuilder {
        match name {
            TableName::Filter => &mut self.filter,
            TableName::Nat => &mut self.nat,
        }
    }

    /// The built-in chains, the canary chains, and the jump rules inserted into the built-in
    /// chains with `EnsureRule(Prepend, …)`. kubelet starts before the kube-proxy pod, so its
    /// `-j KUBE-FIREWALL` rules are there first and kube-proxy's jumps end up above them, each
    /// prepended in `iptablesJumpChains` order (so the last listed comes first).
    fn node_chains(&mut self) {
        for chain in ["INPUT", "FORWARD", "OUTPUT"] {
            self.filter.builtin(chain, "ACCEPT");
        }
        for chain in ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] {
            self.nat.builtin(chain, "ACCEPT");
        }
        self.filter.outside_chain(KUBE_PROXY_CANARY);
        self.nat.outside_chain(KUBE_PROXY_CANARY);
        if !self.features.localhost_node_ports {
            // kubelet's own copy of the rule, left alone when kube-proxy does not write one.
            self.filter.prepend(KUBELET_FIREWALL, localnet_firewall_rule());
        }
        for j in KUBELET_JUMP_CHAINS.iter().chain(IPTABLES_JUMP_CHAINS.iter()) {
            let table = self.table(j.table);
            table.outside_chain(j.dst);
            table.prepend(j.src, jump_rule(j));
        }
    }

    /// The fixed chains and rules written before any service.
    fn top_level_chains(&mut self) {
        for chain in
            [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]
        {
            self.filter.declare(chain);
        }
        for chain in [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ] {
            self.nat.declare(chain);
        }
        let mark = MASQUERADE_MARK;
        self.nat.append(
            KUBE_POSTROUTING,
            rule(vec![Match::Mark { value: mark, mask: mark, negated: true }], Target::Return),
        );
        // Clear the mark so a packet that crosses the stack again is not masqueraded twice.
        self.nat.append(KUBE_POSTROUTING, rule(Vec::new(), Target::MarkXor(mark)));
        self.nat.append(
            KUBE_POSTROUTING,
            rule(
                vec![comment("kubernetes service traffic requiring SNAT")],
                Target::Masquerade { random_fully: self.features.random_fully },
            ),
        );
        self.nat.append(KUBE_MARK_MASQ, rule(Vec::new(), Target::MarkOr(mark)));
        if self.features.localhost_node_ports {
            self.filter.declare(KUBELET_FIREWALL);
            self.filter.append(KUBELET_FIREWALL, localnet_firewall_rule());
        }
    }

    /// The rules written after every service: the tail call to `KUBE-NODEPORTS` and
    /// `KUBE-FORWARD`.
    fn final_rules(&mut self) {
        // nodePortAddresses is unset, so NodePorts answer on every local address.
        let mut matches = vec![
            comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
            Match::AddrTypeLocal { source: false, negated: false },
        ];
        if !self.features.localhost_node_ports {
            matches.push(Match::Destination { cidr: LOOPBACK_NET, negated: true });
        }
        self.nat.append(KUBE_SERVICES, rule(matches, jump(KUBE_NODEPORTS)));

        if !self.features.conntrack_tcp_liberal {
            let mut matches = vec![Match::ConnState { states: "INVALID", negated: false }];
            if self.features.nfacct {
                matches.push(Match::Nfacct(CT_STATE_INVALID_DROPPED));
            }
            self.filter.append(KUBE_FORWARD, rule(matches, Target::Drop));
        }
        let mark = MASQUERADE_MARK;
        self.filter.append(
            KUBE_FORWARD,
            rule(
                vec![
                    comment("kubernetes forwarding rules"),
                    Match::Mark { value: mark, mask: mark, negated: false },
                ],
                Target::Accept,
            ),
        );
        self.filter.append(
            KUBE_FORWARD,
            rule(
                vec![
                    comment("kubernetes forwarding conntrack rule"),
                    Match::ConnState { states: "RELATED,ESTABLISHED", negated: false },
                ],
                Target::Accept,
            ),
        );
    }

    /// `-m comment --comment TEXT`, unless in large-cluster mode
    /// (`appendServiceCommentLocked`).
    fn service_comment(&self, text: &str) -> Vec<Match> {
        if self.large_cluster_mode {
            Vec::new()
        } else {
            vec![comment(text)]
        }
    }

    /// The body of `syncProxyRules`' loop over service ports, rule for rule.
    fn service_port(&mut self, svc: &ServicePortInfo, extras: &ServicePortExtras) {
        let name = svc.service_port_name();
        let protocol = svc.protocol;
        let proto = protocol.lower();
        let policy = TrafficPolicy::of(svc);
        let endpoints = unique_endpoints(&svc.endpoints);
        let eps = categorize_endpoints(&endpoints, &policy, &self.cfg.node_name);

        let cluster_policy_chain = service_port_chain_name(&name, proto);
        let local_policy_chain = service_port_policy_local_chain_name(&name, proto);
        let external_chain = service_external_chain_name(&name, proto);
        let fw_chain = service_firewall_chain_name(&name, proto);

        let uses_cluster_policy_chain = !eps.cluster.is_empty() && policy.uses_cluster_endpoints();
        let uses_local_policy_chain = !eps.local.is_empty() && policy.uses_local_endpoints();

        // Internal (cluster IP) traffic goes to the policy chain; with Local policy and no
        // local endpoint there is nowhere to send it.
        let (internal_chain, has_internal) = if policy.internal_local {
            (&local_policy_chain, eps.has_any && !eps.local.is_empty())
        } else {
            (&cluster_policy_chain, eps.has_any)
        };
        // External traffic always enters the EXT chain, which may short-circuit pod and host
        // traffic even when there is no endpoint for external traffic proper.
        let (external_policy_chain, has_external) = if policy.external_local {
            (&local_policy_chain, eps.has_any && !eps.local.is_empty())
        } else {
            (&cluster_policy_chain, eps.has_any)
        };
        let uses_external_chain = eps.has_any && policy.externally_accessible;

        let source_ranges: Vec<Cidr> =
            extras.load_balancer_source_ranges.iter().filter_map(|r| Cidr::parse_network(r)).collect();
        let uses_fw_chain = eps.has_any && !svc.load_balancer_ips.is_empty() && !source_ranges.is_empty();
        let load_balancer_chain = if uses_fw_chain { &fw_chain } else { &external_chain };

        // What the filter table does with traffic that has no (local) endpoint: REJECT when the
        // service has no endpoint at all, DROP when only the Local policy has none.
        let (internal_filter, external_filter) = if eps.has_any {
            let no_local =
                || FilterAction { target: Target::Drop, comment: format!("{name} has no local endpoints") };
            ((!has_internal).then(no_local), (!has_external).then(no_local))
        } else {
            let reject = FilterAction { target: Target::Reject, comment: format!("{name} has no endpoints") };
            (Some(reject.clone()), Some(reject))
        };

        let vip = |text: String, ip: Ipv4Addr, port: u16| -> Vec<Match> {
            vec![
                Match::Comment(text),
                Match::Protocol(protocol),
                Match::Destination { cidr: Cidr::host(ip), negated: false },
                Match::DestinationPort(port),
            ]
        };

        // Capture the cluster IP.
        if has_internal {
            self.nat.append(
                KUBE_SERVICES,
                rule(vip(format!("{name} cluster IP"), svc.cluster_ip, svc.port), jump(internal_chain)),
            );
        } else if let Some(f) = &internal_filter {
            self.filter.append(
                KUBE_SERVICES,
                rule(vip(f.comment.clone(), svc.cluster_ip, svc.port), f.target.clone()),
            );
        }

        // Capture external IPs.
        for &ip in &svc.external_ips {
            if eps.has_any {
                self.nat.append(
                    KUBE_SERVICES,
                    rule(vip(format!("{name} external IP"), ip, svc.port), jump(&external_chain)),
                );
            }
            if let Some(f) = &external_filter {
                self.filter.append(
                    KUBE_EXTERNAL_SERVICES,
                    rule(vip(f.comment.clone(), ip, svc.port), f.target.clone()),
                );
            }
        }

        // Capture load-balancer ingress.
        for &ip in &svc.load_balancer_ips {
            if eps.has_any {
                self.nat.append(
                    KUBE_SERVICES,
                    rule(vip(format!("{name} loadbalancer IP"), ip, svc.port), jump(load_balancer_chain)),
                );
            }
            if uses_fw_chain {
                self.filter.append(
                    KUBE_PROXY_FIREWALL,
                    rule(
                        vip(format!("{name} traffic not accepted by {fw_chain}"), ip, svc.port),
                        Target::Drop,
                    ),
                );
            }
        }
        if let Some(f) = &external_filter {
            for &ip in &svc.load_balancer_ips {
                self.filter.append(
                    KUBE_EXTERNAL_SERVICES,
                    rule(vip(f.comment.clone(), ip, svc.port), f.target.clone()),
                );
            }
        }

        // Capture node ports.
        if let Some(node_port) = svc.node_port.filter(|&p| p != 0) {
            if eps.has_any {
                if self.features.localhost_node_ports && self.features.nfacct {
                    self.nat.append(
                        KUBE_NODEPORTS,
                        rule(
                            vec![
                                comment(name.as_str()),
                                Match::Protocol(protocol),
                                Match::Destination { cidr: LOOPBACK_NET, negated: false },
                                Match::DestinationPort(node_port),
                                Match::Nfacct(LOCALHOST_NODEPORTS_ACCEPTED),
                            ],
                            jump(&external_chain),
                        ),
                    );
                }
                self.nat.append(
                    KUBE_NODEPORTS,
                    rule(
                        vec![
                            comment(name.as_str()),
                            Match::Protocol(protocol),
                            Match::DestinationPort(node_port),
                        ],
                        jump(&external_chain),
                    ),
                );
            }
            if let Some(f) = &external_filter {
                self.filter.append(
                    KUBE_EXTERNAL_SERVICES,
                    rule(
                        vec![
                            comment(f.comment.as_str()),
                            Match::AddrTypeLocal { source: false, negated: false },
                            Match::Protocol(protocol),
                            Match::DestinationPort(node_port),
                        ],
                        f.target.clone(),
                    ),
                );
            }
        }

        // Capture the health-check node port.
        if let Some(port) = extras.health_check_node_port.filter(|&p| p != 0) {
            self.filter.append(
                KUBE_NODEPORTS,
                rule(
                    vec![
                        comment(format!("{name} health check node port")),
                        Match::Protocol(Protocol::Tcp),
                        Match::DestinationPort(port),
                    ],
                    Target::Accept,
                ),
            );
        }

        // Internal traffic: masquerade what does not come from a pod (a static route to the
        // service range via any node bounces off-node, so it must be SNATed).
        if has_internal {
            let mut matches = vip(format!("{name} cluster IP"), svc.cluster_ip, svc.port);
            if self.cfg.masquerade_all {
                self.nat.append(internal_chain, rule(matches, jump(KUBE_MARK_MASQ)));
            } else if let Some(cidr) = self.local_cidr {
                matches.push(Match::Source { cidr, negated: true });
                self.nat.append(internal_chain, rule(matches, jump(KUBE_MARK_MASQ)));
            }
        }

        if uses_external_chain {
            self.external_chain(&name, &policy, &external_chain, &cluster_policy_chain);
            if has_external {
                // Anything else falls through to the policy chain.
                self.nat.append(&external_chain, rule(Vec::new(), jump(external_policy_chain)));
            }
        }

        if uses_fw_chain {
            self.firewall_chain(&name, svc, &fw_chain, &external_chain, &source_ranges);
        }

        let affinity = svc.session_affinity_seconds;
        if uses_cluster_policy_chain {
            self.nat.declare(&cluster_policy_chain);
            self.service_to_endpoint_rules(&name, proto, affinity, &cluster_policy_chain, &eps.cluster);
        }
        if uses_local_policy_chain {
            self.nat.declare(&local_policy_chain);
            self.service_to_endpoint_rules(&name, proto, affinity, &local_policy_chain, &eps.local);
        }

        for ep in &eps.all_reachable {
            self.endpoint_chain(&name, protocol, affinity, ep);
        }
    }

    /// The `KUBE-EXT-…` chain's special cases (everything but its final jump).
    fn external_chain(&mut self, name: &str, policy: &TrafficPolicy, ext: &str, cluster_chain: &str) {
        self.nat.declare(ext);
        if !policy.external_local {
            // Endpoints may be on other nodes: masquerade, in case we cross nodes.
            self.nat.append(
                ext,
                rule(
                    vec![comment(format!("masquerade traffic for {name} external destinations"))],
                    jump(KUBE_MARK_MASQ),
                ),
            );
            return;
        }
        // Local policy keeps the client's address; but pods and the node itself reaching an
        // external destination are short-circuited to all endpoints, as if they had gone out
        // to the load balancer and come back.
        if let Some(cidr) = self.local_cidr {
            self.nat.append(
                ext,
                rule(
                    vec![
                        comment(format!("pod traffic for {name} external destinations")),
                        Match::Source { cidr, negated: false },
                    ],
                    jump(cluster_chain),
                ),
            );
        }
        // The host's own traffic needs masquerade: the external IP is a local address, so it
        // would be chosen as the source.
        self.nat.append(
            ext,
            rule(
                vec![
                    comment(format!("masquerade LOCAL traffic for {name} external destinations")),
                    Match::AddrTypeLocal { source: true, negated: false },
                ],
                jump(KUBE_MARK_MASQ),
            ),
        );
        self.nat.append(
            ext,
            rule(
                vec![
                    comment(format!("route LOCAL traffic for {name} external destinations")),
                    Match::AddrTypeLocal { source: true, negated: false },
                ],
                jump(cluster_chain),
            ),
        );
    }

    /// The `KUBE-FW-…` chain: LoadBalancer traffic from an allowed source range goes on to the
    /// EXT chain; the rest falls off the end and is dropped by `KUBE-PROXY-FIREWALL`.
    fn firewall_chain(&mut self, name: &str, svc: &ServicePortInfo, fw: &str, ext: &str, ranges: &[Cidr]) {
        self.nat.declare(fw);
        let lb_comment = format!("{name} loadbalancer IP");
        let mut allow_from_node = false;
        for &cidr in ranges {
            self.nat.append(
                fw,
                rule(vec![comment(lb_comment.as_str()), Match::Source { cidr, negated: false }], jump(ext)),
            );
            allow_from_node |= cidr.contains(self.cfg.node_ip);
        }
        // A VIP-style LB IP is often a local address: the node's own request then loops back
        // with the LB IP as its source.
        if allow_from_node {
            for &ip in &svc.load_balancer_ips {
                self.nat.append(
                    fw,
                    rule(
                        vec![
                            comment(lb_comment.as_str()),
                            Match::Source { cidr: Cidr::host(ip), negated: false },
                        ],
                        jump(ext),
                    ),
                );
            }
        }
        self.nat.append(
            fw,
            Rule {
                matches: vec![comment(format!(
                    "other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"
                ))],
                target: None,
            },
        );
    }

    /// `writeServiceToEndpointRules`: session-affinity checks first, then one rule per
    /// endpoint, rule i of n matching with probability 1/(n−i) and the last unconditionally,
    /// which spreads new connections evenly.
    fn service_to_endpoint_rules(
        &mut self,
        name: &str,
        proto: &str,
        affinity: Option<u32>,
        chain: &str,
        endpoints: &[&EndpointInfo],
    ) {
        if let Some(seconds) = affinity {
            for ep in endpoints {
                let endpoint = ep.endpoint_string();
                let sep = service_port_endpoint_chain_name(name, proto, &endpoint);
                let mut matches = self.service_comment(&format!("{name} -> {endpoint}"));
                matches.push(Match::RecentCheck { list: sep.clone(), seconds });
                self.nat.append(chain, rule(matches, jump(&sep)));
            }
        }
        let n = endpoints.len();
        for (i, ep) in endpoints.iter().enumerate() {
            let endpoint = ep.endpoint_string();
            let sep = service_port_endpoint_chain_name(name, proto, &endpoint);
            let mut matches = self.service_comment(&format!("{name} -> {endpoint}"));
            if i + 1 < n {
                matches.push(probability(n - i));
            }
            self.nat.append(chain, rule(matches, jump(&sep)));
        }
    }

    /// The `KUBE-SEP-…` chain: mark hairpin traffic (a pod reaching itself through the
    /// service) for masquerade, record the client for affinity, DNAT.
    fn endpoint_chain(&mut self, name: &str, protocol: Protocol, affinity: Option<u32>, ep: &EndpointInfo) {
        let endpoint = ep.endpoint_string();
        let chain = service_port_endpoint_chain_name(name, protocol.lower(), &endpoint);
        self.nat.declare(&chain);
        let base = self.service_comment(name);
        let mut hairpin = base.clone();
        hairpin.push(Match::Source { cidr: Cidr::host(ep.ip), negated: false });
        self.nat.append(&chain, rule(hairpin, jump(KUBE_MARK_MASQ)));
        let mut dnat = base;
        if affinity.is_some() {
            dnat.push(Match::RecentSet { list: chain.clone() });
        }
        dnat.push(Match::Protocol(protocol));
        self.nat.append(&chain, rule(dnat, Target::Dnat { ip: ep.ip, port: ep.port }));
    }
}

#[cfg(test)]
mod tests;
