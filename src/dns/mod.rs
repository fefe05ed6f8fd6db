//! Cluster DNS: what CoreDNS's `kubernetes` plugin answers from Services, EndpointSlices and
//! Pods, the `/etc/resolv.conf` the kubelet gives a pod, the stub resolver's search-path walk,
//! and what `nslookup` prints when run in a pod.
//!
//! The server side follows CoreDNS with kubeadm's default Corefile
//! (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa
//! ip6.arpa; ttl 30 }`, then `forward . /etc/resolv.conf`):
//!
//! - `<svc>.<ns>.svc.<domain>`: the ClusterIP; for a headless Service the addresses of its ready
//!   endpoints; for an ExternalName Service a CNAME (followed when it points back into the
//!   cluster domain);
//! - `<endpoint>.<svc>.<ns>.svc.<domain>`, where `<endpoint>` is the endpoint's `hostname` (set
//!   from a pod's `hostname` + `subdomain`) or its IP with dashes;
//! - `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV records for named ports, targeting the Service
//!   name (ClusterIP) or each endpoint's name (headless);
//! - `a-b-c-d.<ns>.pod.<domain>` answered from the name alone (`pods insecure`);
//! - PTR records for ClusterIPs and endpoint addresses.
//!
//! Sources: coredns/coredns `plugin/kubernetes/{kubernetes,parse,reverse,handler}.go`,
//! `plugin/kubernetes/object/{service,endpoint}.go`, `plugin/backend_lookup.go`; kubernetes
//! `pkg/kubelet/network/dns/dns.go`; the Kubernetes docs pages "DNS for Services and Pods",
//! "Debugging DNS Resolution" and "Debug Services"; busybox 1.28 `networking/nslookup.c`; BIND 9
//! `bin/dig/nslookup.c` and `bin/dig/dighost.c`.
//!
//! Simplifications:
//! - IPv4 only: AAAA queries never have address answers, IPv6 and FQDN EndpointSlices are
//!   ignored.
//! - No cache, no TTL expiry: answers always reflect the view passed in. [`TTL`] is reported,
//!   never counted down.
//! - No upstream resolver: names outside the cluster domain, and every query sent to a
//!   nameserver other than the cluster DNS Service (e.g. a `dnsPolicy: Default` pod's node
//!   resolver), get NXDOMAIN. A CNAME to an outside name is returned without addresses.
//! - Answer order is deterministic: endpoints in ascending IP order. CoreDNS's order comes from
//!   its informer cache and the `loadbalance` plugin shuffles it per answer.
//! - Whether a namespace exists is inferred (see `records.rs`): the view holds no Namespaces.
//! - The pod's `/etc/hosts` is not consulted.
//! - Both `nslookup` flavours walk the search path as their resolvers do: glibc's `res_nsearch`
//!   for busybox's `getaddrinfo`, and BIND's own walk for BIND `nslookup`.

use std::fmt;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

mod nslookup;
mod records;
mod resolv;

pub use nslookup::{nslookup, nslookup_unreachable, NslookupStyle};
pub use resolv::{resolv_conf_for, resolve, ResolvConf, NODE_NAMESERVER};

/// The TTL CoreDNS puts on every answer with kubeadm's Corefile (`ttl 30`; the plugin's default
/// is 5). Reported only.
pub const TTL: u32 = 30;

/// The API state CoreDNS serves from (its informer caches).
#[derive(Clone, Debug)]
pub struct DnsView<'a> {
    pub services: Vec<&'a Service>,
    pub slices: Vec<&'a EndpointSlice>,
    pub pods: Vec<&'a Pod>,
    /// The kubelet's `clusterDomain`, e.g. `cluster.local`.
    pub cluster_domain: &'a str,
    /// The ClusterIP of the `kube-dns` Service, e.g. 10.96.0.10.
    pub dns_service_ip: Ipv4Addr,
}

/// A query type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QType {
    A,
    Aaaa,
    Cname,
    Srv,
    Ptr,
}

impl QType {
    pub fn as_str(self) -> &'static str {
        match self {
            QType::A => "A",
            QType::Aaaa => "AAAA",
            QType::Cname => "CNAME",
            QType::Srv => "SRV",
            QType::Ptr => "PTR",
        }
    }
}

/// A resource record. Names are absolute and written without the trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Record {
    A { name: String, ip: Ipv4Addr },
    Srv { name: String, priority: u16, weight: u16, port: u16, target: String },
    Cname { name: String, target: String },
    Ptr { name: String, target: String },
}

impl Record {
    /// The owner name.
    pub fn name(&self) -> &str {
        match self {
            Record::A { name, .. }
            | Record::Srv { name, .. }
            | Record::Cname { name, .. }
            | Record::Ptr { name, .. } => name,
        }
    }
}

/// As `dig` prints an answer-section line.
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::A { name, ip } => write!(f, "{name}.\t{TTL}\tIN\tA\t{ip}"),
            Record::Srv { name, priority, weight, port, target } => {
                write!(f, "{name}.\t{TTL}\tIN\tSRV\t{priority} {weight} {port} {target}.")
            }
            Record::Cname { name, target } => write!(f, "{name}.\t{TTL}\tIN\tCNAME\t{target}."),
            Record::Ptr { name, target } => write!(f, "{name}.\t{TTL}\tIN\tPTR\t{target}."),
        }
    }
}

/// A response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rcode {
    /// The name exists; the answer may still be empty (NODATA).
    NoError,
    /// The name does not exist.
    NxDomain,
    /// Never produced by the server model; for callers modelling a broken DNS service.
    ServFail,
}

impl Rcode {
    pub fn as_str(self) -> &'static str {
        match self {
            Rcode::NoError => "NOERROR",
            Rcode::NxDomain => "NXDOMAIN",
            Rcode::ServFail => "SERVFAIL",
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A whole response: the answer section and the additional section (the addresses of SRV
/// targets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub rcode: Rcode,
    pub answer: Vec<Record>,
    pub additional: Vec<Record>,
}

impl DnsView<'_> {
    /// What cluster DNS answers for `qname` (case-insensitive, trailing dot optional).
    pub fn query(&self, qname: &str, qtype: QType) -> (Rcode, Vec<Record>) {
        let response = self.respond(qname, qtype);
        (response.rcode, response.answer)
    }

    /// [`DnsView::query`] with the additional section.
    pub fn respond(&self, qname: &str, qtype: QType) -> Response {
        records::respond(self, qname, qtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builders for the objects the tests of this module tree serve from.
    pub(super) mod fixtures {
        use std::collections::BTreeMap;
        use std::net::Ipv4Addr;

        use k8s_openapi::api::core::v1::{Pod, PodSpec, Service, ServicePort, ServiceSpec};
        use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

        use crate::dns::DnsView;

        pub fn meta(namespace: &str, name: &str) -> ObjectMeta {
            ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() }
        }

        fn service_ports(ports: &[(&str, i32)]) -> Vec<ServicePort> {
            ports
                .iter()
                .map(|(name, port)| ServicePort {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    port: *port,
                    protocol: Some("TCP".into()),
                    ..Default::default()
                })
                .collect()
        }

        /// A ClusterIP Service (headless with `"None"`) with TCP ports given as (name, port).
        pub fn service(namespace: &str, name: &str, cluster_ip: &str, ports: &[(&str, i32)]) -> Service {
            Service {
                metadata: meta(namespace, name),
                spec: Some(ServiceSpec {
                    type_: Some("ClusterIP".into()),
                    cluster_ip: Some(cluster_ip.into()),
                    cluster_ips: Some(vec![cluster_ip.into()]),
                    ports: Some(service_ports(ports)),
                    ..Default::default()
                }),
                ..Default::default()
            }
        }

        pub fn external_name(namespace: &str, name: &str, target: &str) -> Service {
            Service {
                metadata: meta(namespace, name),
                spec: Some(ServiceSpec {
                    type_: Some("ExternalName".into()),
                    external_name: Some(target.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        }

        /// An IPv4 EndpointSlice of `service` with TCP ports (name, port) and endpoints
        /// (ip, ready, hostname).
        pub fn slice(
            namespace: &str,
            service: &str,
            ports: &[(&str, i32)],
            endpoints: &[(&str, bool, Option<&str>)],
        ) -> EndpointSlice {
            let labels = BTreeMap::from([("kubernetes.io/service-name".to_string(), service.to_string())]);
            EndpointSlice {
                metadata: ObjectMeta { labels: Some(labels), ..meta(namespace, &format!("{service}-x7k2p")) },
                address_type: "IPv4".into(),
                endpoints: endpoints
                    .iter()
                    .map(|(ip, ready, hostname)| Endpoint {
                        addresses: vec![ip.to_string()],
                        conditions: Some(EndpointConditions { ready: Some(*ready), ..Default::default() }),
                        hostname: hostname.map(str::to_string),
                        ..Default::default()
                    })
                    .collect(),
                ports: Some(
                    ports
                        .iter()
                        .map(|(name, port)| EndpointPort {
                            name: Some(name.to_string()),
                            port: Some(*port),
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
            }
        }

        pub fn pod(namespace: &str, name: &str) -> Pod {
            Pod { metadata: meta(namespace, name), spec: Some(PodSpec::default()), ..Default::default() }
        }

        /// Objects a view borrows.
        #[derive(Default)]
        pub struct World {
            pub services: Vec<Service>,
            pub slices: Vec<EndpointSlice>,
            pub pods: Vec<Pod>,
        }

        impl World {
            /// A cluster with the `kubernetes` (10.96.0.1) and `kube-dns` (10.96.0.10) Services.
            pub fn standard() -> World {
                World {
                    services: vec![
                        service("default", "kubernetes", "10.96.0.1", &[("https", 443)]),
                        service("kube-system", "kube-dns", "10.96.0.10", &[("dns", 53), ("dns-tcp", 53)]),
                    ],
                    ..World::default()
                }
            }

            pub fn view(&self) -> DnsView<'_> {
                self.view_with(Ipv4Addr::new(10, 96, 0, 10))
            }

            pub fn view_with(&self, dns_service_ip: Ipv4Addr) -> DnsView<'_> {
                DnsView {
                    services: self.services.iter().collect(),
                    slices: self.slices.iter().collect(),
                    pods: self.pods.iter().collect(),
                    cluster_domain: "cluster.local",
                    dns_service_ip,
                }
            }
        }
    }

    use fixtures::World;

    #[test]
    fn records_print_as_dig_does() {
        let a = Record::A { name: "web.prod.svc.cluster.local".into(), ip: Ipv4Addr::new(10, 96, 0, 20) };
        assert_eq!(a.to_string(), "web.prod.svc.cluster.local.\t30\tIN\tA\t10.96.0.20");
        let srv = Record::Srv {
            name: "_http._tcp.web.prod.svc.cluster.local".into(),
            priority: 0,
            weight: 100,
            port: 80,
            target: "web.prod.svc.cluster.local".into(),
        };
        assert_eq!(
            srv.to_string(),
            "_http._tcp.web.prod.svc.cluster.local.\t30\tIN\tSRV\t0 100 80 web.prod.svc.cluster.local."
        );
        assert_eq!(srv.name(), "_http._tcp.web.prod.svc.cluster.local");
        assert_eq!(Rcode::NxDomain.to_string(), "NXDOMAIN");
        assert_eq!(QType::Aaaa.as_str(), "AAAA");
    }

    #[test]
    fn query_drops_the_additional_section() {
        let world = World::standard();
        let view = world.view();
        let name = "_https._tcp.kubernetes.default.svc.cluster.local";
        let full = view.respond(name, QType::Srv);
        assert_eq!(full.additional.len(), 1);
        assert_eq!(view.query(name, QType::Srv), (full.rcode, full.answer));
    }
}
