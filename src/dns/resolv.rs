//! The client side: the `/etc/resolv.conf` the kubelet gives a pod (`GetPodDNS` in
//! `pkg/kubelet/network/dns/dns.go`), and the stub resolver's search-path walk.
//!
//! Assumed node resolver configuration (the kubelet's `--resolv-conf`): one nameserver,
//! [`NODE_NAMESERVER`], no search domains, no options. So a ClusterFirst pod's search path is
//! exactly `<ns>.svc.<domain> svc.<domain> <domain>`, and a pod on the node's configuration
//! (`dnsPolicy: Default`, or `ClusterFirst` with `hostNetwork: true`) asks a server that knows
//! no cluster names.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Pod, PodDNSConfig};

use super::{DnsView, QType, Rcode, Record};

/// The nameserver in the nodes' own `/etc/resolv.conf`: the node network's gateway, as a
/// cloud VPC resolver or kind's Docker DNS would be. It does not serve the cluster domain.
pub const NODE_NAMESERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);

/// `defaultDNSOptions` for ClusterFirst pods.
const CLUSTER_NDOTS: &str = "5";
/// The resolver's ndots when resolv.conf sets none (glibc and musl).
const DEFAULT_NDOTS: u32 = 1;
/// glibc's `RES_MAXNDOTS`: larger values are clamped.
const MAX_NDOTS: u32 = 15;
/// `MaxDNSSearchPathsExpanded` and `MaxDNSSearchListCharsExpanded` (kubelet).
const MAX_SEARCH_PATHS: usize = 32;
const MAX_SEARCH_CHARS: usize = 2048;
/// A search domain longer than a DNS-1123 subdomain is dropped.
const MAX_SEARCH_DOMAIN: usize = 253;

/// A pod's resolver configuration. Only the first IPv4 nameserver and the `ndots` option are
/// kept (other options do not change which names are asked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameserver: Ipv4Addr,
    pub search: Vec<String>,
    pub ndots: u32,
}

impl ResolvConf {
    /// The file as the container runtime writes it (containerd: `search`, `nameserver`,
    /// `options` lines), e.g.
    /// `search default.svc.cluster.local svc.cluster.local cluster.local`,
    /// `nameserver 10.96.0.10`, `options ndots:5`.
    pub fn to_file(&self) -> String {
        let mut out = String::new();
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        out.push_str(&format!("nameserver {}\n", self.nameserver));
        if self.ndots != DEFAULT_NDOTS {
            out.push_str(&format!("options ndots:{}\n", self.ndots));
        }
        out
    }
}

/// Which base configuration a pod starts from (`getPodDNSType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PodDnsType {
    Cluster,
    Host,
    None,
}

fn pod_dns_type(policy: &str, host_network: bool) -> PodDnsType {
    match policy {
        "None" => PodDnsType::None,
        "Default" => PodDnsType::Host,
        // hostNetwork pods fall back to the node's configuration unless they ask for
        // ClusterFirstWithHostNet.
        "ClusterFirst" if host_network => PodDnsType::Host,
        // ClusterFirst, ClusterFirstWithHostNet, and anything invalid (the kubelet logs an
        // error and uses ClusterFirst).
        _ => PodDnsType::Cluster,
    }
}

/// The kubelet's `runtimeapi.DNSConfig` while it is being assembled.
#[derive(Clone, Debug, Default)]
struct DnsConfig {
    servers: Vec<String>,
    searches: Vec<String>,
    /// (name, value); an empty value is a bare option such as `edns0`.
    options: Vec<(String, String)>,
}

impl DnsConfig {
    fn node() -> DnsConfig {
        DnsConfig { servers: vec![NODE_NAMESERVER.to_string()], ..DnsConfig::default() }
    }

    /// `generateSearchesForDNSClusterFirst` on top of the node's (empty) search list.
    fn cluster(namespace: &str, cluster_domain: &str, dns_ip: Ipv4Addr) -> DnsConfig {
        let searches = if cluster_domain.is_empty() {
            Vec::new()
        } else {
            vec![
                format!("{namespace}.svc.{cluster_domain}"),
                format!("svc.{cluster_domain}"),
                cluster_domain.to_string(),
            ]
        };
        DnsConfig {
            servers: vec![dns_ip.to_string()],
            searches,
            options: vec![("ndots".to_string(), CLUSTER_NDOTS.to_string())],
        }
    }

    /// `appendDNSConfig`: the pod's `dnsConfig` appended, duplicates dropped, its options
    /// overriding same-named ones.
    fn append(&mut self, extra: &PodDNSConfig) {
        self.servers.extend(extra.nameservers.iter().flatten().cloned());
        self.servers = without_duplicates(&self.servers);
        self.searches.extend(extra.searches.iter().flatten().cloned());
        self.searches = without_duplicates(&self.searches);
        for option in extra.options.iter().flatten() {
            let name = option.name.clone().unwrap_or_default();
            let value = option.value.clone().unwrap_or_default();
            match self.options.iter_mut().find(|option| option.0 == name) {
                Some(existing) => existing.1 = value,
                None => self.options.push((name, value)),
            }
        }
    }

    fn into_resolv(self) -> ResolvConf {
        // With no usable nameserver line the resolver asks the local machine.
        let nameserver = self.servers.iter().find_map(|s| s.parse().ok()).unwrap_or(Ipv4Addr::LOCALHOST);
        let ndots = self
            .options
            .iter()
            .find(|(name, _)| name == "ndots")
            .and_then(|(_, value)| value.parse::<u32>().ok())
            .map_or(DEFAULT_NDOTS, |n| n.min(MAX_NDOTS));
        ResolvConf { nameserver, search: fit_search_limits(self.searches), ndots }
    }
}

fn without_duplicates(items: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.iter().filter(|item| seen.insert(item.as_str())).cloned().collect()
}

/// `formDNSSearchFitsLimits`: at most 32 domains, none longer than 253 characters, the line at
/// most 2048 characters (domains cut from the end).
fn fit_search_limits(mut search: Vec<String>) -> Vec<String> {
    search.truncate(MAX_SEARCH_PATHS);
    search.retain(|domain| domain.len() <= MAX_SEARCH_DOMAIN);
    while search.join(" ").len() > MAX_SEARCH_CHARS {
        search.pop();
    }
    search
}

/// The resolver configuration the kubelet writes for `pod`, given the kubelet's
/// `clusterDomain` and `clusterDNS`.
///
/// - `ClusterFirst` (the default) and `ClusterFirstWithHostNet`: nameserver `dns_ip`, search
///   `<ns>.svc.<domain> svc.<domain> <domain>`, `ndots:5`;
/// - `Default`, and `ClusterFirst` on a `hostNetwork` pod: the node's configuration, assumed to
///   be nameserver [`NODE_NAMESERVER`] with no search domains and no options (so `ndots:1`);
/// - `None`: only what `dnsConfig` says.
///
/// `dnsConfig` is merged on top of all three.
pub fn resolv_conf_for(pod: &Pod, cluster_domain: &str, dns_ip: Ipv4Addr) -> ResolvConf {
    let spec = pod.spec.as_ref();
    let policy = spec.and_then(|s| s.dns_policy.as_deref()).unwrap_or("ClusterFirst");
    let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut config = match pod_dns_type(policy, host_network) {
        PodDnsType::Cluster => DnsConfig::cluster(namespace, cluster_domain.trim_end_matches('.'), dns_ip),
        PodDnsType::Host => DnsConfig::node(),
        PodDnsType::None => DnsConfig::default(),
    };
    if let Some(extra) = spec.and_then(|s| s.dns_config.as_ref()) {
        config.append(extra);
    }
    config.into_resolv()
}

/// `name` joined to a search domain (`.` is the root: the name itself).
fn qualify(name: &str, domain: &str) -> String {
    match domain.trim_end_matches('.') {
        "" => name.to_string(),
        domain => format!("{name}.{domain}"),
    }
}

fn dots(name: &str) -> u32 {
    name.matches('.').count().try_into().unwrap_or(u32::MAX)
}

fn dedup(names: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names.into_iter().filter(|name| seen.insert(name.clone())).collect()
}

/// The names glibc's `res_nsearch` asks for `name`, in order: a trailing dot means only the
/// name itself; with at least `ndots` dots the name itself first, then each search domain;
/// with fewer, each search domain, then the name itself.
pub(super) fn search_candidates(resolv: &ResolvConf, name: &str) -> Vec<String> {
    if let Some(absolute) = name.strip_suffix('.') {
        return vec![absolute.to_string()];
    }
    let as_is_first = dots(name) >= resolv.ndots;
    let mut names = Vec::new();
    if as_is_first {
        names.push(name.to_string());
    }
    names.extend(resolv.search.iter().map(|domain| qualify(name, domain)));
    if !as_is_first {
        names.push(name.to_string());
    }
    dedup(names)
}

/// The names BIND's `nslookup` asks (`setup_lookup` and `next_origin` in `dighost.c`): with a
/// trailing dot or at least `ndots` dots only the name itself; otherwise each search domain,
/// then the name itself.
pub(super) fn nslookup_candidates(resolv: &ResolvConf, name: &str) -> Vec<String> {
    if let Some(absolute) = name.strip_suffix('.') {
        return vec![absolute.to_string()];
    }
    if dots(name) >= resolv.ndots {
        return vec![name.to_string()];
    }
    let mut names: Vec<String> = resolv.search.iter().map(|domain| qualify(name, domain)).collect();
    names.push(name.to_string());
    dedup(names)
}

/// One query to the pod's nameserver. Cluster DNS answers from the view; any other server is
/// an upstream resolver, which knows no cluster names (and no internet is modelled).
pub(super) fn ask(view: &DnsView, resolv: &ResolvConf, qname: &str, qtype: QType) -> (Rcode, Vec<Record>) {
    if resolv.nameserver == view.dns_service_ip {
        view.query(qname, qtype)
    } else {
        (Rcode::NxDomain, Vec::new())
    }
}

/// The A records' addresses in an answer.
pub(super) fn addresses(answer: &[Record]) -> Vec<Ipv4Addr> {
    answer
        .iter()
        .filter_map(|r| match r {
            Record::A { ip, .. } => Some(*ip),
            _ => None,
        })
        .collect()
}

/// What `getaddrinfo` in the pod gets for `name`: the first name of the search walk whose
/// answer has addresses (NXDOMAIN and NODATA both move on), with those addresses in answer
/// order. An IPv4 literal is returned as is, without a query.
pub fn resolve(view: &DnsView, resolv: &ResolvConf, name: &str) -> Option<(String, Vec<Ipv4Addr>)> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Some((name.to_string(), vec![ip]));
    }
    search_candidates(resolv, name).into_iter().find_map(|fqdn| {
        let ips = addresses(&ask(view, resolv, &fqdn, QType::A).1);
        (!ips.is_empty()).then_some((fqdn, ips))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::tests::fixtures::{pod, service, World};
    use k8s_openapi::api::core::v1::PodDNSConfigOption;

    const DNS_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);

    fn with_policy(namespace: &str, policy: &str, host_network: bool) -> Pod {
        let mut p = pod(namespace, "client");
        let spec = p.spec.as_mut().unwrap();
        spec.dns_policy = Some(policy.into());
        spec.host_network = Some(host_network);
        p
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cluster_first_is_the_default() {
        let conf = resolv_conf_for(&pod("prod", "client"), "cluster.local", DNS_IP);
        assert_eq!(
            conf,
            ResolvConf {
                nameserver: DNS_IP,
                search: strings(&["prod.svc.cluster.local", "svc.cluster.local", "cluster.local"]),
                ndots: 5,
            }
        );
        // The layout of "Debugging DNS Resolution", without the cloud provider's domains.
        assert_eq!(
            resolv_conf_for(&pod("default", "dnsutils"), "cluster.local", DNS_IP).to_file(),
            "search default.svc.cluster.local svc.cluster.local cluster.local\n\
             nameserver 10.96.0.10\n\
             options ndots:5\n"
        );
        let explicit = with_policy("prod", "ClusterFirst", false);
        assert_eq!(resolv_conf_for(&explicit, "cluster.local", DNS_IP), conf);
    }

    #[test]
    fn host_network_and_default_use_the_node_resolver() {
        let node = ResolvConf { nameserver: NODE_NAMESERVER, search: Vec::new(), ndots: 1 };
        for (policy, host_network) in [("ClusterFirst", true), ("Default", false), ("Default", true)] {
            let conf = resolv_conf_for(&with_policy("prod", policy, host_network), "cluster.local", DNS_IP);
            assert_eq!(conf, node, "{policy} hostNetwork={host_network}");
        }
        assert_eq!(node.to_file(), "nameserver 192.168.0.1\n");
        let host_net = with_policy("prod", "ClusterFirstWithHostNet", true);
        let conf = resolv_conf_for(&host_net, "cluster.local", DNS_IP);
        assert_eq!((conf.nameserver, conf.ndots, conf.search.len()), (DNS_IP, 5, 3));
    }

    #[test]
    fn none_takes_dns_config_only() {
        // The docs' custom-dns.yaml example.
        let mut p = with_policy("default", "None", false);
        p.spec.as_mut().unwrap().dns_config = Some(PodDNSConfig {
            nameservers: Some(strings(&["192.0.2.1"])),
            searches: Some(strings(&["ns1.svc.cluster-domain.example", "my.dns.search.suffix"])),
            options: Some(vec![
                PodDNSConfigOption { name: Some("ndots".into()), value: Some("2".into()) },
                PodDNSConfigOption { name: Some("edns0".into()), value: None },
            ]),
        });
        let conf = resolv_conf_for(&p, "cluster.local", DNS_IP);
        assert_eq!(
            conf,
            ResolvConf {
                nameserver: Ipv4Addr::new(192, 0, 2, 1),
                search: strings(&["ns1.svc.cluster-domain.example", "my.dns.search.suffix"]),
                ndots: 2,
            }
        );
    }

    #[test]
    fn dns_config_merges_into_cluster_first() {
        let mut p = pod("prod", "client");
        p.spec.as_mut().unwrap().dns_config = Some(PodDNSConfig {
            nameservers: Some(strings(&["10.96.0.10", "8.8.8.8"])),
            searches: Some(strings(&["svc.cluster.local", "corp.example"])),
            options: Some(vec![PodDNSConfigOption { name: Some("ndots".into()), value: Some("1".into()) }]),
        });
        let conf = resolv_conf_for(&p, "cluster.local", DNS_IP);
        assert_eq!(conf.nameserver, DNS_IP);
        let search = ["prod.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"];
        assert_eq!(conf.search, search);
        assert_eq!(conf.ndots, 1);
    }

    #[test]
    fn search_walk_order() {
        let conf = resolv_conf_for(&pod("default", "client"), "cluster.local", DNS_IP);
        assert_eq!(
            search_candidates(&conf, "kubernetes.default"),
            [
                "kubernetes.default.default.svc.cluster.local",
                "kubernetes.default.svc.cluster.local",
                "kubernetes.default.cluster.local",
                "kubernetes.default",
            ]
        );
        // Five dots reach ndots:5: the name itself first, then the search list.
        let long = "a.b.c.d.e.f";
        assert_eq!(search_candidates(&conf, long)[0], long);
        assert_eq!(search_candidates(&conf, long).len(), 4);
        assert_eq!(search_candidates(&conf, "web.prod.svc.cluster.local."), ["web.prod.svc.cluster.local"]);
        assert_eq!(nslookup_candidates(&conf, long), [long]);
        assert_eq!(nslookup_candidates(&conf, "web").last().map(String::as_str), Some("web"));
    }

    fn world() -> World {
        let mut w = World::standard();
        w.services.push(service("prod", "web", "10.96.0.20", &[("http", 80)]));
        w
    }

    #[test]
    fn names_resolve_through_the_search_path() {
        let w = world();
        let view = w.view();
        let from_default = resolv_conf_for(&pod("default", "client"), "cluster.local", DNS_IP);
        let from_prod = resolv_conf_for(&pod("prod", "client"), "cluster.local", DNS_IP);
        assert_eq!(
            resolve(&view, &from_default, "kubernetes.default"),
            Some(("kubernetes.default.svc.cluster.local".to_string(), vec![Ipv4Addr::new(10, 96, 0, 1)]))
        );
        let web = Some(("web.prod.svc.cluster.local".to_string(), vec![Ipv4Addr::new(10, 96, 0, 20)]));
        assert_eq!(resolve(&view, &from_prod, "web"), web);
        // Another namespace's short name does not resolve; qualified with the namespace it does.
        assert_eq!(resolve(&view, &from_default, "web"), None);
        assert_eq!(resolve(&view, &from_default, "web.prod"), web);
        assert_eq!(resolve(&view, &from_default, "web.prod.svc"), web);
        assert_eq!(resolve(&view, &from_default, "web.prod.svc.cluster.local."), web);
        assert_eq!(resolve(&view, &from_default, "www.example.com"), None);
        let literal = Some(("10.96.0.20".to_string(), vec![Ipv4Addr::new(10, 96, 0, 20)]));
        assert_eq!(resolve(&view, &from_default, "10.96.0.20"), literal);
    }

    #[test]
    fn host_network_pod_cannot_resolve_services() {
        let w = world();
        let conf = resolv_conf_for(&with_policy("prod", "ClusterFirst", true), "cluster.local", DNS_IP);
        assert_eq!(resolve(&w.view(), &conf, "web.prod.svc.cluster.local"), None);
    }

    #[test]
    fn search_limits() {
        let many: Vec<String> = (0..40).map(|i| format!("d{i}.example")).collect();
        assert_eq!(fit_search_limits(many).len(), 32);
        let long: Vec<String> = (0..20).map(|i| format!("{i:02}{}", "x".repeat(200))).collect();
        let fitted = fit_search_limits(long);
        assert!(fitted.join(" ").len() <= 2048);
        assert_eq!(fitted.len(), 10);
    }
}
