//! The server: CoreDNS's `kubernetes` plugin behind kubeadm's default Corefile.
//!
//! A query name below the cluster domain is parsed as `parseRequest` does
//! (`plugin/kubernetes/parse.go`), turned into entries as `Records`, `findServices` and
//! `findPods` do (`plugin/kubernetes/kubernetes.go`), and the entries into an answer as
//! `plugin.A`, `plugin.AAAA`, `plugin.CNAME` and `plugin.SRV` do (`plugin/backend_lookup.go`).
//! A name error (`errNoItems`, `errNsNotExposed`, `errInvalidRequest`) is NXDOMAIN; no error and
//! no records is NOERROR with an empty answer (`plugin/kubernetes/handler.go`). PTR queries go
//! through `serviceRecordForIP` (`plugin/kubernetes/reverse.go`). Everything else would be
//! forwarded upstream; no upstream is modelled, so it is NXDOMAIN.
//!
//! CoreDNS learns whether a namespace exists from a Namespace informer; the view has no
//! Namespaces, so one exists here when it is one the API server creates itself or when any
//! Service, EndpointSlice or Pod of the view is in it.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{DnsView, QType, Rcode, Record, Response};

/// The label tying an EndpointSlice to its Service (`discovery.LabelServiceName`).
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Namespaces the API server creates and keeps.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];
/// `plugin.A`: a CNAME chain stops growing past this many records.
const MAX_CNAME_CHAIN: usize = 7;

/// `errNoItems`, `errNsNotExposed` or `errInvalidRequest`: the handler answers NXDOMAIN.
#[derive(Debug)]
struct NameError;

/// What an entry points at (CoreDNS's `msg.Service.Host`).
#[derive(Clone, Debug)]
enum Host {
    V4(Ipv4Addr),
    /// An IPv6 address: the name exists but has no A record.
    V6,
    /// An ExternalName: answered with a CNAME.
    Name(String),
}

/// One item of what `Records` returns (CoreDNS's `msg.Service`).
#[derive(Clone, Debug)]
struct Entry {
    host: Host,
    /// `None` for an object that declares no ports (the plugin's port -1 sentinel).
    port: Option<u16>,
    /// The name the entry is published under (`msg.Domain(Key)`): an SRV target.
    owner: String,
}

/// A parsed query name: `[_port._proto. | endpoint.] service.namespace.(svc|pod)` below the zone.
#[derive(Debug, Default)]
struct Request {
    port: Option<String>,
    protocol: Option<String>,
    endpoint: Option<String>,
    /// The Service name, or the dashed address of a `pod` name.
    service: String,
    namespace: String,
    pod: bool,
}

/// A port of a Service or an EndpointSlice, as the plugin matches it against `_port._proto`.
#[derive(Clone, Debug)]
struct PortSpec {
    port: Option<u16>,
    name: String,
    protocol: String,
}

impl PortSpec {
    /// The port -1 sentinel for an object without ports: matches only queries without a port.
    fn sentinel() -> PortSpec {
        PortSpec { port: None, name: String::new(), protocol: String::new() }
    }

    fn matches(&self, req: &Request) -> bool {
        let name_ok = req.port.as_ref().is_none_or(|p| p.eq_ignore_ascii_case(&self.name));
        let protocol_ok = req.protocol.as_ref().is_none_or(|p| p.eq_ignore_ascii_case(&self.protocol));
        name_ok && protocol_ok
    }
}

/// One ready address of a Service's EndpointSlices.
#[derive(Clone, Debug)]
struct EndpointAddr {
    ip: Ipv4Addr,
    hostname: Option<String>,
    ports: Vec<PortSpec>,
}

impl EndpointAddr {
    /// `endpointHostname`: the endpoint's hostname, else its address with dashes.
    fn label(&self) -> String {
        self.hostname.clone().unwrap_or_else(|| dashed(self.ip))
    }
}

/// The whole server: route `qname` to the reverse zone, the cluster domain or "upstream".
pub(super) fn respond(view: &DnsView, qname: &str, qtype: QType) -> Response {
    // Answers carry the query name as asked; matching is case-insensitive.
    let owner = qname.trim_end_matches('.');
    let name = owner.to_ascii_lowercase();
    let zone = normalize(view.cluster_domain);
    if qtype == QType::Ptr {
        if let Some(ip) = reverse_ip(&name) {
            return reverse(view, &zone, owner, ip);
        }
    }
    if name == format!("ns.dns.{zone}") {
        return nameserver(view, owner, qtype);
    }
    match below_zone(&name, &zone) {
        Some(base) => kubernetes(view, &zone, owner, base, qtype),
        None => nxdomain(),
    }
}

fn nxdomain() -> Response {
    Response { rcode: Rcode::NxDomain, answer: Vec::new(), additional: Vec::new() }
}

fn answer(answer: Vec<Record>, additional: Vec<Record>) -> Response {
    Response { rcode: Rcode::NoError, answer, additional }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The part of `name` below `zone` (`""` for the apex), or `None` when outside it.
fn below_zone<'n>(name: &'n str, zone: &str) -> Option<&'n str> {
    if zone.is_empty() {
        return None;
    }
    if name == zone {
        return Some("");
    }
    name.strip_suffix(zone)?.strip_suffix('.')
}

/// `d.c.b.a.in-addr.arpa` → a.b.c.d (`dnsutil.ExtractAddressFromReverse`).
fn reverse_ip(name: &str) -> Option<Ipv4Addr> {
    let labels = name.strip_suffix(".in-addr.arpa")?;
    let octets = labels.split('.').map(|o| o.parse::<u8>().ok()).collect::<Option<Vec<u8>>>()?;
    let [d, c, b, a] = octets.as_slice() else { return None };
    Some(Ipv4Addr::new(*a, *b, *c, *d))
}

fn dashed(ip: Ipv4Addr) -> String {
    ip.to_string().replace('.', "-")
}

/// `isDefaultNS`: `ns.dns.<zone>` is the DNS server itself.
fn nameserver(view: &DnsView, owner: &str, qtype: QType) -> Response {
    let records = match qtype {
        QType::A => vec![Record::A { name: owner.to_string(), ip: view.dns_service_ip }],
        _ => Vec::new(),
    };
    answer(records, Vec::new())
}

/// A name inside the cluster domain, by query type (`handler.go` `ServeDNS`).
fn kubernetes(view: &DnsView, zone: &str, owner: &str, base: &str, qtype: QType) -> Response {
    let Ok(entries) = records(view, zone, base) else { return nxdomain() };
    match qtype {
        QType::A => answer(addresses(view, zone, owner, &entries, &[], true), Vec::new()),
        QType::Aaaa => answer(addresses(view, zone, owner, &entries, &[], false), Vec::new()),
        QType::Cname => answer(cname(owner, &entries), Vec::new()),
        QType::Srv => {
            let (records, additional) = srv(owner, &entries);
            answer(records, additional)
        }
        // A forward name asked for PTR: it exists (or not), with no PTR data.
        QType::Ptr => answer(Vec::new(), Vec::new()),
    }
}

/// `parseRequest`. `Ok(None)` is the zone apex, `svc.<zone>` or `pod.<zone>`: NODATA.
fn parse_request(base: &str) -> Result<Option<Request>, NameError> {
    if base.is_empty() || base == "svc" || base == "pod" {
        return Ok(None);
    }
    let mut labels: Vec<&str> = base.split('.').collect();
    let kind = labels.pop().unwrap_or_default();
    if kind != "svc" && kind != "pod" {
        return Err(NameError);
    }
    let namespace = labels.pop().unwrap_or_default().to_string();
    let service = labels.pop().unwrap_or_default().to_string();
    let mut req = Request { service, namespace, pod: kind == "pod", ..Request::default() };
    match labels.as_slice() {
        [] => {}
        [endpoint] => req.endpoint = Some(endpoint.to_string()),
        [port, protocol] => {
            req.port = Some(strip_underscore(port));
            req.protocol = Some(strip_underscore(protocol));
        }
        _ => return Err(NameError),
    }
    Ok(Some(req))
}

/// `stripUnderscore`: `_http` → `http`.
fn strip_underscore(label: &str) -> String {
    label.strip_prefix('_').unwrap_or(label).to_string()
}

/// `Records`: the entries a name below the zone stands for.
fn records(view: &DnsView, zone: &str, base: &str) -> Result<Vec<Entry>, NameError> {
    let Some(req) = parse_request(base)? else { return Ok(Vec::new()) };
    if !namespace_exists(view, &req.namespace) {
        return Err(NameError);
    }
    if req.pod {
        find_pod(zone, &req)
    } else {
        find_services(view, zone, &req)
    }
}

fn namespace_exists(view: &DnsView, namespace: &str) -> bool {
    let is_in = |meta: &ObjectMeta| meta_namespace(meta).eq_ignore_ascii_case(namespace);
    SYSTEM_NAMESPACES.contains(&namespace)
        || view.services.iter().any(|s| is_in(&s.metadata))
        || view.slices.iter().any(|s| is_in(&s.metadata))
        || view.pods.iter().any(|p| is_in(&p.metadata))
}

/// `findPods` in `pods insecure` mode: `a-b-c-d.<ns>.pod.<zone>` is a.b.c.d, whether or not a
/// pod has that address.
fn find_pod(zone: &str, req: &Request) -> Result<Vec<Entry>, NameError> {
    let name = &req.service;
    if name.is_empty() {
        return Ok(Vec::new());
    }
    let host = if name.matches('-').count() == 3 && !name.contains("--") {
        name.replace('-', ".").parse::<Ipv4Addr>().map(Host::V4).map_err(|_| NameError)?
    } else {
        name.replace('-', ":").parse::<Ipv6Addr>().map(|_| Host::V6).map_err(|_| NameError)?
    };
    Ok(vec![Entry { host, port: None, owner: format!("{name}.{}.pod.{zone}", req.namespace) }])
}

/// `findServices`: entries of the Service `req` names; a name error when nothing matches.
fn find_services(view: &DnsView, zone: &str, req: &Request) -> Result<Vec<Entry>, NameError> {
    if req.service.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = false;
    let mut entries = Vec::new();
    for svc in view.services.iter().copied().filter(|s| is_named(&s.metadata, &req.namespace, &req.service)) {
        let fqdn = service_fqdn(svc, zone);
        if is_external_name(svc) {
            if let Some(target) = external_target(svc) {
                entries.push(Entry { host: Host::Name(target), port: None, owner: fqdn });
                found = true;
            }
            continue;
        }
        let ips = cluster_ips(svc);
        let Some(first) = ips.first() else { continue }; // no ClusterIP yet: not served
        if first == "None" || req.endpoint.is_some() {
            found |= endpoint_entries(view, svc, req, &fqdn, &mut entries);
            continue;
        }
        for port in service_ports(svc).iter().filter(|p| p.matches(req)) {
            found = true;
            for host in ips.iter().filter_map(|ip| ip_host(ip)) {
                entries.push(Entry { host, port: port.port, owner: fqdn.clone() });
            }
        }
    }
    if found {
        Ok(entries)
    } else {
        Err(NameError)
    }
}

/// The headless / endpoint-query branch of `findServices`: one entry per ready address and
/// matching port. Returns whether anything matched.
fn endpoint_entries(view: &DnsView, svc: &Service, req: &Request, fqdn: &str, out: &mut Vec<Entry>) -> bool {
    let mut found = false;
    for ep in ready_endpoints(view, svc) {
        let label = ep.label();
        if req.endpoint.as_ref().is_some_and(|want| !want.eq_ignore_ascii_case(&label)) {
            continue;
        }
        for port in ep.ports.iter().filter(|p| p.matches(req)) {
            found = true;
            out.push(Entry { host: Host::V4(ep.ip), port: port.port, owner: format!("{label}.{fqdn}") });
        }
    }
    found
}

fn meta_name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn meta_namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

fn is_named(meta: &ObjectMeta, namespace: &str, name: &str) -> bool {
    meta_namespace(meta).eq_ignore_ascii_case(namespace) && meta_name(meta).eq_ignore_ascii_case(name)
}

fn service_fqdn(svc: &Service, zone: &str) -> String {
    format!("{}.{}.svc.{zone}", meta_name(&svc.metadata), meta_namespace(&svc.metadata))
}

fn is_external_name(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName")
}

/// The CNAME target of an ExternalName Service; an IP address there gets no record.
fn external_target(svc: &Service) -> Option<String> {
    let target = svc.spec.as_ref()?.external_name.as_deref()?.trim_end_matches('.');
    let is_ip = target.parse::<Ipv4Addr>().is_ok() || target.parse::<Ipv6Addr>().is_ok();
    (!target.is_empty() && !is_ip).then(|| target.to_string())
}

/// `spec.clusterIPs`, else `spec.clusterIP` (`object.ToService`); empty when not allocated.
fn cluster_ips(svc: &Service) -> Vec<String> {
    let Some(spec) = svc.spec.as_ref() else { return Vec::new() };
    let ips = match spec.cluster_ips.as_ref().filter(|ips| !ips.is_empty()) {
        Some(ips) => ips.clone(),
        None => spec.cluster_ip.iter().cloned().collect(),
    };
    ips.into_iter().filter(|ip| !ip.is_empty()).collect()
}

fn ip_host(ip: &str) -> Option<Host> {
    if let Ok(v4) = ip.parse::<Ipv4Addr>() {
        return Some(Host::V4(v4));
    }
    ip.parse::<Ipv6Addr>().ok().map(|_| Host::V6)
}

/// The protocol of a port; the API server defaults an unset one to TCP.
fn protocol_or_tcp(protocol: Option<&String>) -> String {
    protocol.cloned().unwrap_or_else(|| "TCP".to_string())
}

fn service_ports(svc: &Service) -> Vec<PortSpec> {
    let ports = svc.spec.as_ref().and_then(|s| s.ports.as_ref()).filter(|p| !p.is_empty());
    let Some(ports) = ports else { return vec![PortSpec::sentinel()] };
    ports
        .iter()
        .map(|p| PortSpec {
            port: u16::try_from(p.port).ok(),
            name: p.name.clone().unwrap_or_default(),
            protocol: protocol_or_tcp(p.protocol.as_ref()),
        })
        .collect()
}

fn slice_ports(slice: &EndpointSlice) -> Vec<PortSpec> {
    let Some(ports) = slice.ports.as_ref().filter(|p| !p.is_empty()) else {
        return vec![PortSpec::sentinel()];
    };
    ports
        .iter()
        .map(|p| PortSpec {
            port: p.port.and_then(|n| u16::try_from(n).ok()),
            name: p.name.clone().unwrap_or_default(),
            protocol: protocol_or_tcp(p.protocol.as_ref()),
        })
        .collect()
}

fn service_label(slice: &EndpointSlice) -> Option<&str> {
    slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL).map(String::as_str)
}

/// The IPv4 EndpointSlices of Service `namespace/name`, by slice name.
fn slices_of<'v>(view: &DnsView<'v>, namespace: &str, name: &str) -> Vec<&'v EndpointSlice> {
    let mut slices: Vec<&EndpointSlice> = view
        .slices
        .iter()
        .copied()
        .filter(|s| s.address_type == "IPv4" && meta_namespace(&s.metadata) == namespace)
        .filter(|s| service_label(s) == Some(name))
        .collect();
    slices.sort_by(|a, b| meta_name(&a.metadata).cmp(meta_name(&b.metadata)));
    slices
}

/// `endpointsliceReady`: an unset `ready` counts as ready.
fn endpoint_ready(ep: &Endpoint) -> bool {
    ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)
}

/// The addresses CoreDNS publishes from one slice: those of ready endpoints. With
/// `publishNotReadyAddresses` the EndpointSlice controller marks every endpoint ready, so
/// honouring the flag here as well changes nothing for slices the controller wrote.
fn slice_endpoints(slice: &EndpointSlice, publish_not_ready: bool) -> Vec<EndpointAddr> {
    let ports = slice_ports(slice);
    let mut out = Vec::new();
    for ep in &slice.endpoints {
        if !publish_not_ready && !endpoint_ready(ep) {
            continue;
        }
        let hostname = ep.hostname.clone().filter(|h| !h.is_empty());
        for ip in ep.addresses.iter().filter_map(|a| a.parse::<Ipv4Addr>().ok()) {
            out.push(EndpointAddr { ip, hostname: hostname.clone(), ports: ports.clone() });
        }
    }
    out
}

fn publishes_not_ready(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.publish_not_ready_addresses).unwrap_or(false)
}

/// The ready addresses of a Service, in ascending IP order.
fn ready_endpoints(view: &DnsView, svc: &Service) -> Vec<EndpointAddr> {
    let (namespace, name) = (meta_namespace(&svc.metadata), meta_name(&svc.metadata));
    let mut out: Vec<EndpointAddr> = slices_of(view, namespace, name)
        .into_iter()
        .flat_map(|slice| slice_endpoints(slice, publishes_not_ready(svc)))
        .collect();
    out.sort_by_key(|ep| ep.ip);
    out
}

/// `plugin.A` (`v4`) or `plugin.AAAA`: address records for `owner`, deduplicated, with an
/// ExternalName's CNAME followed. `chain` holds the CNAMEs already followed.
fn addresses(
    view: &DnsView,
    zone: &str,
    owner: &str,
    entries: &[Entry],
    chain: &[Record],
    v4: bool,
) -> Vec<Record> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in entries {
        match &entry.host {
            Host::V4(ip) => {
                if v4 && seen.insert(*ip) {
                    out.push(Record::A { name: owner.to_string(), ip: *ip });
                }
            }
            Host::V6 => {}
            Host::Name(target) => out.extend(follow_cname(view, zone, owner, target, chain, v4)),
        }
    }
    out
}

/// The CNAME branch of `plugin.A`: inside the zone the target is looked up again and the CNAME
/// kept only if that yields addresses; outside it CoreDNS asks upstream and returns the CNAME
/// with whatever came back, which here is nothing.
fn follow_cname(
    view: &DnsView,
    zone: &str,
    owner: &str,
    target: &str,
    chain: &[Record],
    v4: bool,
) -> Vec<Record> {
    let target_name = normalize(target);
    if target_name == normalize(owner) {
        return Vec::new(); // x CNAME x
    }
    let record = Record::Cname { name: owner.to_string(), target: target.to_string() };
    if chain.len() > MAX_CNAME_CHAIN || chain.contains(&record) {
        return Vec::new();
    }
    let Some(base) = below_zone(&target_name, zone) else { return vec![record] };
    let Ok(entries) = records(view, zone, base) else { return Vec::new() };
    let mut longer = chain.to_vec();
    longer.push(record.clone());
    let next = addresses(view, zone, target, &entries, &longer, v4);
    if next.is_empty() {
        return Vec::new();
    }
    let mut out = vec![record];
    out.extend(next);
    out
}

/// `plugin.CNAME`: the first entry, if it is a name.
fn cname(owner: &str, entries: &[Entry]) -> Vec<Record> {
    match entries.first().map(|e| &e.host) {
        Some(Host::Name(target)) => vec![Record::Cname { name: owner.to_string(), target: target.clone() }],
        _ => Vec::new(),
    }
}

/// `plugin.SRV`: one record per (target, port), targets' addresses in the additional section.
/// ExternalName entries are dropped first (`Services` does so for SRV).
fn srv(owner: &str, entries: &[Entry]) -> (Vec<Record>, Vec<Record>) {
    let entries: Vec<&Entry> = entries.iter().filter(|e| !matches!(e.host, Host::Name(_))).collect();
    // Every entry has priority 0 and weight 0, which counts as 100; entries without a port
    // still count.
    let weight = srv_weight(100 * entries.len());
    let (mut answer, mut additional) = (Vec::new(), Vec::new());
    let (mut seen_srv, mut seen_addr) = (BTreeSet::new(), BTreeSet::new());
    for entry in entries {
        let Some(port) = entry.port else { continue };
        if seen_srv.insert((entry.owner.clone(), port)) {
            let target = entry.owner.clone();
            answer.push(Record::Srv { name: owner.to_string(), priority: 0, weight, port, target });
        }
        if let Host::V4(ip) = entry.host {
            if seen_addr.insert((entry.owner.clone(), ip)) {
                additional.push(Record::A { name: entry.owner.clone(), ip });
            }
        }
    }
    (answer, additional)
}

/// `100 / total * 100`, floored, at least 1, computed in floating point as CoreDNS does.
fn srv_weight(total: usize) -> u16 {
    if total == 0 {
        return 0;
    }
    let weight = 100.0 / total as f64 * 100.0;
    (weight.floor() as u16).max(1)
}

/// `Reverse`: PTR for an address.
fn reverse(view: &DnsView, zone: &str, owner: &str, ip: Ipv4Addr) -> Response {
    let targets = ptr_targets(view, zone, ip);
    if targets.is_empty() {
        // `fallthrough in-addr.arpa`: upstream, which knows nothing here.
        return nxdomain();
    }
    let records = targets.into_iter().map(|target| Record::Ptr { name: owner.to_string(), target }).collect();
    answer(records, Vec::new())
}

/// `serviceRecordForIP`: the Service whose ClusterIP `ip` is, else every ready endpoint with
/// that address as `<endpoint>.<svc>.<ns>.svc.<zone>`. Services and slices go in name order.
fn ptr_targets(view: &DnsView, zone: &str, ip: Ipv4Addr) -> Vec<String> {
    let mut services = view.services.clone();
    services.sort_by(|a, b| {
        (meta_namespace(&a.metadata), meta_name(&a.metadata))
            .cmp(&(meta_namespace(&b.metadata), meta_name(&b.metadata)))
    });
    let owns_ip = |svc: &&Service| cluster_ips(svc).iter().any(|c| c.parse::<Ipv4Addr>().ok() == Some(ip));
    if let Some(svc) = services.iter().copied().find(owns_ip) {
        return vec![service_fqdn(svc, zone)];
    }
    let mut slices: Vec<&EndpointSlice> =
        view.slices.iter().copied().filter(|s| s.address_type == "IPv4").collect();
    slices.sort_by(|a, b| {
        (meta_namespace(&a.metadata), service_label(a), meta_name(&a.metadata)).cmp(&(
            meta_namespace(&b.metadata),
            service_label(b),
            meta_name(&b.metadata),
        ))
    });
    let mut targets = Vec::new();
    for slice in slices {
        let Some(service) = service_label(slice) else { continue };
        let namespace = meta_namespace(&slice.metadata);
        let publish =
            services.iter().any(|s| is_named(&s.metadata, namespace, service) && publishes_not_ready(s));
        for ep in slice_endpoints(slice, publish).into_iter().filter(|ep| ep.ip == ip) {
            targets.push(format!("{}.{service}.{namespace}.svc.{zone}", ep.label()));
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::tests::fixtures::{external_name, service, slice, World};

    fn a(name: &str, ip: &str) -> Record {
        Record::A { name: name.into(), ip: ip.parse().unwrap() }
    }

    fn ips(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::A { ip, .. } => Some(ip.to_string()),
                _ => None,
            })
            .collect()
    }

    /// prod/web (ClusterIP, ports http 80 and an unnamed 9090) and prod/db (headless, two
    /// ready endpoints and one not ready).
    fn world() -> World {
        let mut w = World::standard();
        w.services.push(service("prod", "web", "10.96.0.20", &[("http", 80), ("", 9090)]));
        w.services.push(service("prod", "db", "None", &[("pg", 5432)]));
        w.slices.push(slice(
            "prod",
            "web",
            &[("http", 8080), ("", 9090)],
            &[("10.244.1.5", true, None), ("10.244.2.7", true, None)],
        ));
        w.slices.push(slice(
            "prod",
            "db",
            &[("pg", 5432)],
            &[
                ("10.244.2.9", true, Some("db-1")),
                ("10.244.1.8", true, Some("db-0")),
                ("10.244.1.4", false, None),
            ],
        ));
        w
    }

    #[test]
    fn cluster_ip_service_has_an_a_record() {
        let w = world();
        let view = w.view();
        assert_eq!(
            view.query("web.prod.svc.cluster.local", QType::A),
            (Rcode::NoError, vec![a("web.prod.svc.cluster.local", "10.96.0.20")])
        );
        // Case-insensitive, trailing dot optional; the answer repeats the name as asked.
        assert_eq!(
            view.query("Web.Prod.svc.cluster.local.", QType::A),
            (Rcode::NoError, vec![a("Web.Prod.svc.cluster.local", "10.96.0.20")])
        );
        assert_eq!(
            view.query("kubernetes.default.svc.cluster.local", QType::A).1,
            vec![a("kubernetes.default.svc.cluster.local", "10.96.0.1")]
        );
        // No AAAA for an IPv4 service: NODATA, not NXDOMAIN.
        assert_eq!(view.query("web.prod.svc.cluster.local", QType::Aaaa), (Rcode::NoError, vec![]));
    }

    #[test]
    fn unknown_names_are_nxdomain() {
        let w = world();
        let view = w.view();
        for name in [
            "nope.prod.svc.cluster.local",
            "web.other.svc.cluster.local",
            "web.prod.cluster.local",
            "web.prod.svc.cluster.local.prod.svc.cluster.local",
            "web",
            "www.example.com",
            "a.b.c.web.prod.svc.cluster.local",
        ] {
            assert_eq!(view.query(name, QType::A), (Rcode::NxDomain, vec![]), "{name}");
        }
        // The namespace and the zone apex exist: NODATA.
        for name in ["prod.svc.cluster.local", "svc.cluster.local", "cluster.local"] {
            assert_eq!(view.query(name, QType::A), (Rcode::NoError, vec![]), "{name}");
        }
        assert_eq!(view.query("nons.svc.cluster.local", QType::A).0, Rcode::NxDomain);
    }

    #[test]
    fn service_without_cluster_ip_yet_is_not_served() {
        let mut w = world();
        w.services.push(service("prod", "new", "", &[("http", 80)]));
        assert_eq!(w.view().query("new.prod.svc.cluster.local", QType::A), (Rcode::NxDomain, vec![]));
    }

    #[test]
    fn headless_service_resolves_to_ready_endpoints_in_ip_order() {
        let w = world();
        let (rcode, answer) = w.view().query("db.prod.svc.cluster.local", QType::A);
        assert_eq!(rcode, Rcode::NoError);
        assert_eq!(ips(&answer), ["10.244.1.8", "10.244.2.9"]);
        assert!(answer.iter().all(|r| r.name() == "db.prod.svc.cluster.local"));
    }

    #[test]
    fn publish_not_ready_addresses_includes_unready_endpoints() {
        let mut w = world();
        let db = w.services.iter_mut().find(|s| s.metadata.name.as_deref() == Some("db")).unwrap();
        db.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
        let answer = w.view().query("db.prod.svc.cluster.local", QType::A).1;
        assert_eq!(ips(&answer), ["10.244.1.4", "10.244.1.8", "10.244.2.9"]);
    }

    #[test]
    fn headless_service_without_ready_endpoints_is_nxdomain() {
        let mut w = World::standard();
        w.services.push(service("prod", "db", "None", &[("pg", 5432)]));
        w.slices.push(slice("prod", "db", &[("pg", 5432)], &[("10.244.1.4", false, None)]));
        assert_eq!(w.view().query("db.prod.svc.cluster.local", QType::A), (Rcode::NxDomain, vec![]));
    }

    #[test]
    fn endpoint_names_by_hostname_and_by_dashed_address() {
        // The docs' example: hostname busybox-1, subdomain default-subdomain, headless Service
        // default-subdomain → busybox-1.default-subdomain.<ns>.svc.<domain>.
        let mut w = World::standard();
        w.services.push(service("default", "default-subdomain", "None", &[("foo", 1234)]));
        w.slices.push(slice(
            "default",
            "default-subdomain",
            &[("foo", 1234)],
            &[("10.244.1.10", true, Some("busybox-1")), ("10.244.2.11", true, Some("busybox-2"))],
        ));
        let view = w.view();
        let name = "busybox-1.default-subdomain.default.svc.cluster.local";
        assert_eq!(view.query(name, QType::A), (Rcode::NoError, vec![a(name, "10.244.1.10")]));
        let missing = "busybox-3.default-subdomain.default.svc.cluster.local";
        assert_eq!(view.query(missing, QType::A).0, Rcode::NxDomain);

        // Endpoints without a hostname answer to their dashed address, on ClusterIP services too.
        let w = world();
        let name = "10-244-2-7.web.prod.svc.cluster.local";
        assert_eq!(w.view().query(name, QType::A), (Rcode::NoError, vec![a(name, "10.244.2.7")]));
    }

    #[test]
    fn srv_for_a_named_port_of_a_cluster_ip_service() {
        let w = world();
        let view = w.view();
        let name = "_http._tcp.web.prod.svc.cluster.local";
        let response = view.respond(name, QType::Srv);
        let target = "web.prod.svc.cluster.local";
        let port = 80;
        let srv = Record::Srv { name: name.into(), priority: 0, weight: 100, port, target: target.into() };
        assert_eq!(response.rcode, Rcode::NoError);
        assert_eq!(response.answer, vec![srv]);
        assert_eq!(response.additional, vec![a(target, "10.96.0.20")]);
        // Protocol and port name must both match; unnamed ports get no SRV name.
        assert_eq!(view.query("_http._udp.web.prod.svc.cluster.local", QType::Srv).0, Rcode::NxDomain);
        assert_eq!(view.query("_metrics._tcp.web.prod.svc.cluster.local", QType::Srv).0, Rcode::NxDomain);
        // Without _port._proto: every port, the weight split between them.
        let all = view.query("web.prod.svc.cluster.local", QType::Srv).1;
        let ports: Vec<(u16, u16)> = all
            .iter()
            .filter_map(|r| match r {
                Record::Srv { port, weight, .. } => Some((*port, *weight)),
                _ => None,
            })
            .collect();
        assert_eq!(ports, [(80, 50), (9090, 50)]);
    }

    #[test]
    fn srv_for_a_headless_service_targets_each_endpoint() {
        let w = world();
        let name = "_pg._tcp.db.prod.svc.cluster.local";
        let response = w.view().respond(name, QType::Srv);
        let srv = |target: &str| Record::Srv {
            name: name.into(),
            priority: 0,
            weight: 50,
            port: 5432,
            target: target.into(),
        };
        assert_eq!(
            response.answer,
            vec![srv("db-0.db.prod.svc.cluster.local"), srv("db-1.db.prod.svc.cluster.local")]
        );
        let db0 = a("db-0.db.prod.svc.cluster.local", "10.244.1.8");
        let db1 = a("db-1.db.prod.svc.cluster.local", "10.244.2.9");
        assert_eq!(response.additional, vec![db0, db1]);
    }

    #[test]
    fn srv_weights_split_100() {
        assert_eq!([srv_weight(100), srv_weight(200), srv_weight(300), srv_weight(700)], [100, 50, 33, 14]);
        assert_eq!(srv_weight(100 * 500), 1);
    }

    #[test]
    fn pod_records_come_from_the_name_alone() {
        let w = world();
        let view = w.view();
        let name = "10-244-1-5.prod.pod.cluster.local";
        assert_eq!(view.query(name, QType::A), (Rcode::NoError, vec![a(name, "10.244.1.5")]));
        // pods insecure: no pod needs that address.
        let name = "10-244-9-9.default.pod.cluster.local";
        assert_eq!(view.query(name, QType::A), (Rcode::NoError, vec![a(name, "10.244.9.9")]));
        assert_eq!(view.query("web-0.prod.pod.cluster.local", QType::A).0, Rcode::NxDomain);
        assert_eq!(view.query("10-244-1-5.nons.pod.cluster.local", QType::A).0, Rcode::NxDomain);
    }

    #[test]
    fn external_name_is_a_cname() {
        let mut w = world();
        w.services.push(external_name("prod", "ext", "my.database.example.com"));
        w.services.push(external_name("prod", "alias", "web.prod.svc.cluster.local"));
        let view = w.view();
        let cname = |name: &str, target: &str| Record::Cname { name: name.into(), target: target.into() };
        let ext = "ext.prod.svc.cluster.local";
        let outside = vec![cname(ext, "my.database.example.com")];
        // Outside the cluster domain: the CNAME alone (no upstream is modelled).
        assert_eq!(view.query(ext, QType::A), (Rcode::NoError, outside.clone()));
        assert_eq!(view.query(ext, QType::Cname), (Rcode::NoError, outside));
        assert_eq!(view.query(ext, QType::Srv), (Rcode::NoError, vec![]));
        // Inside it, CoreDNS follows the CNAME.
        let alias = "alias.prod.svc.cluster.local";
        assert_eq!(
            view.query(alias, QType::A).1,
            vec![cname(alias, "web.prod.svc.cluster.local"), a("web.prod.svc.cluster.local", "10.96.0.20")]
        );
        assert_eq!(view.query("web.prod.svc.cluster.local", QType::Cname), (Rcode::NoError, vec![]));
    }

    #[test]
    fn cname_loops_end() {
        let mut w = World::standard();
        w.services.push(external_name("prod", "ping", "pong.prod.svc.cluster.local"));
        w.services.push(external_name("prod", "pong", "ping.prod.svc.cluster.local"));
        w.services.push(external_name("prod", "me", "me.prod.svc.cluster.local"));
        let view = w.view();
        assert_eq!(view.query("ping.prod.svc.cluster.local", QType::A), (Rcode::NoError, vec![]));
        assert_eq!(view.query("me.prod.svc.cluster.local", QType::A), (Rcode::NoError, vec![]));
    }

    #[test]
    fn ptr_for_cluster_ips_and_endpoints() {
        let w = world();
        let view = w.view();
        let ptr = |name: &str, target: &str| Record::Ptr { name: name.into(), target: target.into() };
        let q = "10.0.96.10.in-addr.arpa";
        let dns = vec![ptr(q, "kube-dns.kube-system.svc.cluster.local")];
        assert_eq!(view.query(q, QType::Ptr), (Rcode::NoError, dns));
        let q = "8.1.244.10.in-addr.arpa";
        assert_eq!(view.query(q, QType::Ptr).1, vec![ptr(q, "db-0.db.prod.svc.cluster.local")]);
        let q = "5.1.244.10.in-addr.arpa";
        assert_eq!(view.query(q, QType::Ptr).1, vec![ptr(q, "10-244-1-5.web.prod.svc.cluster.local")]);
        // Not ready, or unknown: NXDOMAIN.
        assert_eq!(view.query("4.1.244.10.in-addr.arpa", QType::Ptr).0, Rcode::NxDomain);
        assert_eq!(view.query("9.9.244.10.in-addr.arpa", QType::Ptr).0, Rcode::NxDomain);
    }

    #[test]
    fn ns_dns_is_the_dns_service() {
        let w = world();
        let name = "ns.dns.cluster.local";
        assert_eq!(w.view().query(name, QType::A), (Rcode::NoError, vec![a(name, "10.96.0.10")]));
    }

    #[test]
    fn parse_request_shapes() {
        let req = parse_request("_http._tcp.web.prod.svc").unwrap().unwrap();
        assert_eq!((req.port.as_deref(), req.protocol.as_deref()), (Some("http"), Some("tcp")));
        assert_eq!((req.service.as_str(), req.namespace.as_str(), req.pod), ("web", "prod", false));
        let req = parse_request("web-0.nginx.prod.svc").unwrap().unwrap();
        assert_eq!(req.endpoint.as_deref(), Some("web-0"));
        assert!(parse_request("").unwrap().is_none());
        assert!(parse_request("pod").unwrap().is_none());
        assert!(parse_request("a.b.c.d.e.svc").is_err());
        assert!(parse_request("web.prod.xyz").is_err());
    }
}
