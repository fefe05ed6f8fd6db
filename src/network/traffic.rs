//! Requests a scenario sends through the cluster: from a pod, a node or outside, to a Service
//! (by ClusterIP or DNS name), a NodePort or any address. Each request is resolved the way the
//! source would resolve it (the pod's resolv.conf against cluster DNS, itself reached through
//! kube-proxy's rules) and then walks the source node's installed rule table
//! ([`super::Network::connect`]); the outcome is recorded as a line of `traffic.csv`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::{Endpoint, Network};
use crate::api::{Kind, Object};
use crate::apiserver::ApiServer;
use crate::dns;
use crate::node::kube_proxy::rules::Protocol;
use crate::sim::rng::SimRng;
use crate::sim::SimTime;

/// The cluster DNS settings every kubelet passes to its pods (`clusterDNS`, `clusterDomain`).
pub const CLUSTER_DNS_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// A container accepted the connection.
    Ok,
    /// kube-proxy's REJECT rule answered: the service has no endpoints on that node's table.
    Rejected,
    /// The address answered but nothing listens on the port (app not started yet, container
    /// stopped, wrong targetPort).
    Refused,
    /// Nothing answered: the address is gone or its node is down.
    Timeout,
    /// The name did not resolve (NXDOMAIN, or no DNS server could be reached).
    DnsError,
    /// The source pod or node is not running, so nothing was sent.
    NoSource,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::DnsError => "dns-error",
            Outcome::NoSource => "no-source",
        }
    }
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }
}

/// Who sends the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Pod { namespace: String, name: String },
    Node(String),
    External,
}

/// Which port of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

/// Where the request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `svc/[NAMESPACE/]NAME:PORT`: the Service's ClusterIP, no DNS involved.
    Service { namespace: Option<String>, name: String, port: PortRef },
    /// `node/NAME:PORT`: a node's InternalIP (NodePorts).
    Node { name: String, port: u16 },
    /// `A.B.C.D:PORT`.
    Address(Ipv4Addr, u16),
    /// `NAME:PORT`: resolved by the source pod through cluster DNS.
    Dns { name: String, port: u16 },
}

/// One request as the scenario wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSpec {
    pub from: Source,
    pub to: Target,
    pub protocol: Protocol,
    /// The text of `from` and `to`, for the record.
    pub from_text: String,
    pub to_text: String,
}

/// One line of `traffic.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficRecord {
    pub time: SimTime,
    pub source: String,
    pub destination: String,
    /// `namespace/name:port` of the Service the destination address belongs to, if any.
    pub service: String,
    /// The pod that received the connection (`namespace/name`), if any.
    pub endpoint: String,
    pub endpoint_ip: String,
    pub node: String,
    pub outcome: Outcome,
}

/// Parses `pod/NAME`, `pod/NAMESPACE/NAME`, `NAMESPACE/NAME`… sources. `default_namespace`
/// applies to pods given without one.
pub fn parse_source(text: &str, default_namespace: &str) -> Result<Source, String> {
    let text = text.trim();
    if text == "external" {
        return Ok(Source::External);
    }
    if let Some(node) = text.strip_prefix("node/") {
        return Ok(Source::Node(node.to_string()));
    }
    let pod = text.strip_prefix("pod/").ok_or_else(|| {
        format!("source {text:?}: expected pod/NAME, pod/NAMESPACE/NAME, node/NAME or external")
    })?;
    match pod.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
            Ok(Source::Pod { namespace: ns.into(), name: name.into() })
        }
        None if !pod.is_empty() => Ok(Source::Pod { namespace: default_namespace.into(), name: pod.into() }),
        _ => Err(format!("source {text:?}: empty pod name")),
    }
}

/// Parses a destination: `svc/[NAMESPACE/]NAME:PORT`, `node/NAME:PORT`, `A.B.C.D:PORT` or
/// `DNS-NAME:PORT`.
pub fn parse_target(text: &str) -> Result<Target, String> {
    let text = text.trim();
    let (host, port) = text.rsplit_once(':').ok_or_else(|| {
        format!("destination {text:?}: expected HOST:PORT (e.g. svc/web:80, web:80, node/worker-1:30080)")
    })?;
    let number = || -> Result<u16, String> {
        port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            format!("destination {text:?}: port {port:?} must be a number between 1 and 65535")
        })
    };
    if let Some(svc) = host.strip_prefix("svc/") {
        let (namespace, name) = match svc.split_once('/') {
            Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
            None => (None, svc.to_string()),
        };
        if name.is_empty() {
            return Err(format!("destination {text:?}: empty service name"));
        }
        let port = match port.parse::<u16>() {
            Ok(p) => PortRef::Number(p),
            Err(_) if !port.is_empty() => PortRef::Name(port.to_string()),
            Err(_) => return Err(format!("destination {text:?}: empty port")),
        };
        return Ok(Target::Service { namespace, name, port });
    }
    if let Some(node) = host.strip_prefix("node/") {
        return Ok(Target::Node { name: node.to_string(), port: number()? });
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Target::Address(ip, number()?));
    }
    if host.is_empty() {
        return Err(format!("destination {text:?}: empty host"));
    }
    Ok(Target::Dns { name: host.to_string(), port: number()? })
}

/// Everything read from the API state to send one request.
struct Resolved {
    from: Endpoint,
    dst: Ipv4Addr,
    port: u16,
}

/// Sends one request at `now` and records it in `net.log`.
pub fn send(
    api: &ApiServer,
    net: &mut Network,
    spec: &RequestSpec,
    now: SimTime,
    rng: &mut SimRng,
) -> Outcome {
    let resolved = match resolve(api, net, spec, now, rng) {
        Ok(r) => r,
        Err(outcome) => {
            net.log.push(TrafficRecord {
                time: now,
                source: spec.from_text.clone(),
                destination: spec.to_text.clone(),
                service: String::new(),
                endpoint: String::new(),
                endpoint_ip: String::new(),
                node: String::new(),
                outcome,
            });
            return outcome;
        }
    };
    let delivery = net.connect(&resolved.from, resolved.dst, resolved.port, spec.protocol, now, rng);
    let service = service_at(api, resolved.dst, resolved.port, spec.protocol).unwrap_or_default();
    // Where the connection went: a pod, or an address kube-proxy rewrote it to (which may
    // no longer exist).
    let rewritten = delivery.target.is_some_and(|t| t != (resolved.dst, resolved.port));
    let endpoint_ip = delivery
        .target
        .filter(|_| delivery.pod.is_some() || rewritten)
        .map(|(ip, port)| format!("{ip}:{port}"))
        .unwrap_or_default();
    net.log.push(TrafficRecord {
        time: now,
        source: spec.from_text.clone(),
        destination: spec.to_text.clone(),
        service,
        endpoint: delivery.pod.unwrap_or_default(),
        endpoint_ip,
        node: delivery.node.unwrap_or_default(),
        outcome: delivery.outcome,
    });
    delivery.outcome
}

fn resolve(
    api: &ApiServer,
    net: &mut Network,
    spec: &RequestSpec,
    now: SimTime,
    rng: &mut SimRng,
) -> Result<Resolved, Outcome> {
    let (from, source_pod) = source_endpoint(api, net, &spec.from).ok_or(Outcome::NoSource)?;
    let source_namespace = source_pod.as_ref().and_then(|p| p.metadata.namespace.clone());
    let (dst, port) = match &spec.to {
        Target::Address(ip, port) => (*ip, *port),
        Target::Node { name, port } => (net.node(name).ok_or(Outcome::Timeout)?.ip, *port),
        Target::Service { namespace, name, port } => {
            let ns = namespace.clone().or(source_namespace).unwrap_or_else(|| "default".into());
            let svc = api.get_as::<Service>(Some(&ns), name).map_err(|_| Outcome::DnsError)?;
            service_address(&svc, port).ok_or(Outcome::Timeout)?
        }
        Target::Dns { name, port } => {
            let pod = source_pod.as_ref().ok_or(Outcome::DnsError)?;
            (lookup(api, net, &from, pod, name, now, rng)?, *port)
        }
    };
    Ok(Resolved { from, dst, port })
}

/// The source's place on the network, if it can send right now.
fn source_endpoint(api: &ApiServer, net: &Network, from: &Source) -> Option<(Endpoint, Option<Pod>)> {
    match from {
        Source::External => Some((Endpoint::External, None)),
        Source::Node(node) => {
            net.node(node).filter(|n| n.up).map(|_| (Endpoint::Node { node: node.clone() }, None))
        }
        Source::Pod { namespace, name } => {
            let pod = api.get_as::<Pod>(Some(namespace), name).ok()?;
            let ip: Ipv4Addr = pod.status.as_ref()?.pod_ip.as_deref()?.parse().ok()?;
            let sandbox = net.pod(ip)?;
            let running = net.node(&sandbox.node).is_some_and(|n| n.up) && !sandbox.containers.is_empty();
            running.then(|| (Endpoint::Pod { node: sandbox.node.clone(), ip }, Some(pod)))
        }
    }
}

/// The ClusterIP and port number of `svc`'s `port`.
fn service_address(svc: &Service, port: &PortRef) -> Option<(Ipv4Addr, u16)> {
    let spec = svc.spec.as_ref()?;
    let ip: Ipv4Addr = spec.cluster_ip.as_deref()?.parse().ok()?;
    let ports = spec.ports.as_ref()?;
    let p = ports.iter().find(|p| match port {
        PortRef::Number(n) => p.port == i32::from(*n),
        PortRef::Name(n) => p.name.as_deref() == Some(n.as_str()),
    })?;
    Some((ip, u16::try_from(p.port).ok()?))
}

/// The `namespace/name:port` of the Service whose ClusterIP and port are `ip:port`.
fn service_at(api: &ApiServer, ip: Ipv4Addr, port: u16, protocol: Protocol) -> Option<String> {
    let text = ip.to_string();
    api.list_all(Kind::Service).iter().find_map(|obj| {
        let svc = obj.as_type::<Service>()?;
        let spec = svc.spec.as_ref()?;
        if spec.cluster_ip.as_deref() != Some(text.as_str()) {
            return None;
        }
        let p = spec.ports.as_ref()?.iter().find(|p| {
            p.port == i32::from(port)
                && p.protocol.as_deref().unwrap_or("TCP").eq_ignore_ascii_case(protocol.lower())
        })?;
        let name = match p.name.as_deref() {
            Some(n) if !n.is_empty() => format!(":{n}"),
            _ => String::new(),
        };
        Some(format!("{}/{}{name}:{}", obj.namespace().unwrap_or(""), obj.name(), p.port))
    })
}

/// Resolves `name` as the pod's resolver would: through cluster DNS, whose Service must be
/// reachable over the source node's rules (no CoreDNS endpoints → the lookup times out).
fn lookup(
    api: &ApiServer,
    net: &mut Network,
    from: &Endpoint,
    pod: &Pod,
    name: &str,
    now: SimTime,
    rng: &mut SimRng,
) -> Result<Ipv4Addr, Outcome> {
    let resolv = dns::resolv_conf_for(pod, CLUSTER_DOMAIN, CLUSTER_DNS_IP);
    let server = net.connect(from, resolv.nameserver, 53, Protocol::Udp, now, rng);
    if !server.outcome.is_ok() {
        return Err(Outcome::DnsError);
    }
    let objects = DnsObjects::read(api);
    let view = objects.view();
    dns::resolve(&view, &resolv, name).and_then(|(_, ips)| ips.first().copied()).ok_or(Outcome::DnsError)
}

/// The API objects cluster DNS serves from, read once per lookup.
pub struct DnsObjects {
    services: Vec<Arc<Object>>,
    slices: Vec<Arc<Object>>,
    pods: Vec<Arc<Object>>,
}

impl DnsObjects {
    pub fn read(api: &ApiServer) -> DnsObjects {
        DnsObjects {
            services: api.list_all(Kind::Service),
            slices: api.list_all(Kind::EndpointSlice),
            pods: api.list_all(Kind::Pod),
        }
    }

    pub fn view(&self) -> dns::DnsView<'_> {
        dns::DnsView {
            services: self.services.iter().filter_map(|o| o.as_type::<Service>()).collect(),
            slices: self.slices.iter().filter_map(|o| o.as_type::<EndpointSlice>()).collect(),
            pods: self.pods.iter().filter_map(|o| o.as_type::<Pod>()).collect(),
            cluster_domain: CLUSTER_DOMAIN,
            dns_service_ip: CLUSTER_DNS_IP,
        }
    }
}

/// What `kubectl exec POD -- nslookup NAME` printed.
pub struct NslookupOutput {
    pub output: String,
    /// The name resolved (nslookup's exit status 0).
    pub resolved: bool,
}

/// Runs nslookup in pod `namespace/pod` against the cluster's state: the query reaches cluster
/// DNS through the pod's node's rules (or times out), and the answer comes from the Services,
/// EndpointSlices and Pods CoreDNS serves.
pub fn nslookup_from(
    api: &ApiServer,
    net: &Network,
    namespace: &str,
    pod: &str,
    name: &str,
    style: dns::NslookupStyle,
) -> Result<NslookupOutput, String> {
    let source = Source::Pod { namespace: namespace.into(), name: pod.into() };
    let obj = api.get_as::<Pod>(Some(namespace), pod).map_err(|e| e.to_string())?;
    let mut net = net.clone();
    let (from, _) = source_endpoint(api, &net, &source)
        .ok_or_else(|| format!("cannot exec into pod {namespace}/{pod}: it is not running"))?;
    let resolv = dns::resolv_conf_for(&obj, CLUSTER_DOMAIN, CLUSTER_DNS_IP);
    let mut rng = crate::sim::rng::component_rng(0, "nslookup");
    let server = net.connect(&from, resolv.nameserver, 53, Protocol::Udp, api.now(), &mut rng);
    if !server.outcome.is_ok() {
        return Ok(NslookupOutput {
            output: dns::nslookup_unreachable(&resolv, name, style),
            resolved: false,
        });
    }
    let objects = DnsObjects::read(api);
    let view = objects.view();
    let resolved = dns::resolve(&view, &resolv, name).is_some();
    Ok(NslookupOutput { output: dns::nslookup(&view, &resolv, name, style), resolved })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_targets_parse() {
        assert_eq!(
            parse_source("pod/client", "default").unwrap(),
            Source::Pod { namespace: "default".into(), name: "client".into() }
        );
        assert_eq!(
            parse_source("pod/prod/client", "default").unwrap(),
            Source::Pod { namespace: "prod".into(), name: "client".into() }
        );
        assert_eq!(parse_source("node/worker-1", "default").unwrap(), Source::Node("worker-1".into()));
        assert_eq!(parse_source("external", "default").unwrap(), Source::External);
        assert!(parse_source("client", "default").unwrap_err().contains("expected pod/NAME"));
        assert_eq!(
            parse_target("svc/web:http").unwrap(),
            Target::Service { namespace: None, name: "web".into(), port: PortRef::Name("http".into()) }
        );
        assert_eq!(
            parse_target("svc/prod/web:80").unwrap(),
            Target::Service { namespace: Some("prod".into()), name: "web".into(), port: PortRef::Number(80) }
        );
        assert_eq!(
            parse_target("node/worker-1:30080").unwrap(),
            Target::Node { name: "worker-1".into(), port: 30080 }
        );
        assert_eq!(parse_target("10.96.0.1:443").unwrap(), Target::Address(Ipv4Addr::new(10, 96, 0, 1), 443));
        assert_eq!(
            parse_target("web.prod.svc.cluster.local:80").unwrap(),
            Target::Dns { name: "web.prod.svc.cluster.local".into(), port: 80 }
        );
        assert!(parse_target("web").unwrap_err().contains("HOST:PORT"));
        assert!(parse_target("web:http").unwrap_err().contains("must be a number"));
    }
}
