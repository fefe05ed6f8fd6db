//! What `nslookup <name>` prints in a pod (stdout and stderr as a terminal shows them).
//!
//! Busybox 1.28 (`networking/nslookup.c`, the version the Kubernetes docs pin): the server line
//! and the name each go through `getaddrinfo`, every address through a reverse lookup
//! (`getnameinfo` with `NI_NAMEREQD`), printed as
//!
//! ```text
//! Server:    10.0.0.10
//! Address 1: 10.0.0.10 kube-dns.kube-system.svc.cluster.local
//!
//! Name:      kubernetes.default
//! Address 1: 10.0.0.1 kubernetes.default.svc.cluster.local
//! ```
//!
//! and `nslookup: can't resolve '<name>'` on failure.
//!
//! BIND 9 (`bin/dig/nslookup.c`, the `dnsutils` image): an A lookup along BIND's own search
//! walk, then an AAAA lookup of the end of the CNAME chain, then a final empty line (tabs after
//! `Server:`, `Address:` and `Name:`, shown here as spaces):
//!
//! ```text
//! Server:         10.0.0.10
//! Address:        10.0.0.10#53
//!
//! Name:   hostnames.default.svc.cluster.local
//! Address: 10.0.1.175
//!
//! ```
//!
//! and `** server can't find <name>: NXDOMAIN` for the last name tried. Answers from CoreDNS are
//! authoritative, so "Non-authoritative answer:" never appears.

use std::net::Ipv4Addr;

use super::resolv::{ask, nslookup_candidates, resolve};
use super::{DnsView, QType, Rcode, Record, ResolvConf};

/// Which `nslookup` runs in the pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NslookupStyle {
    /// busybox:1.28, as in the Kubernetes docs' DNS debugging page and CKA material.
    Busybox,
    /// BIND's nslookup, as in the `dnsutils` image.
    Bind,
}

/// Exactly what `nslookup <name>` prints in a pod with resolver configuration `resolv`, the
/// cluster DNS answering from `view`. An IPv4 address is looked up in reverse.
pub fn nslookup(view: &DnsView, resolv: &ResolvConf, name: &str, style: NslookupStyle) -> String {
    match style {
        NslookupStyle::Busybox => busybox(view, resolv, name),
        NslookupStyle::Bind => bind(view, resolv, name),
    }
}

/// What `nslookup <name>` prints when the nameserver does not answer at all (e.g. no CoreDNS
/// pod is ready, so the DNS Service has no endpoints). BIND 9.9's message is assumed.
pub fn nslookup_unreachable(resolv: &ResolvConf, name: &str, style: NslookupStyle) -> String {
    let server = resolv.nameserver;
    match style {
        NslookupStyle::Busybox => {
            let mut out = busybox_header("Server:", &server.to_string());
            out.push_str(&address_line(1, server, None));
            out.push('\n');
            out.push_str(&cant_resolve(name));
            out
        }
        NslookupStyle::Bind => ";; connection timed out; no servers could be reached\n\n".to_string(),
    }
}

/// `printf("%-10s %s\n", header, hostname)`.
fn busybox_header(header: &str, host: &str) -> String {
    format!("{header:<10} {host}\n")
}

fn address_line(index: usize, ip: Ipv4Addr, reverse: Option<&str>) -> String {
    match reverse {
        Some(name) => format!("Address {index}: {ip} {name}\n"),
        None => format!("Address {index}: {ip}\n"),
    }
}

/// `bb_error_msg("can't resolve '%s'", hostname)`, on stderr.
fn cant_resolve(name: &str) -> String {
    format!("nslookup: can't resolve '{name}'\n")
}

/// `d.c.b.a.in-addr.arpa` for a.b.c.d.
fn reverse_name(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("{d}.{c}.{b}.{a}.in-addr.arpa")
}

/// `getnameinfo(NI_NAMEREQD)`: the first PTR target, if any.
fn reverse_lookup(view: &DnsView, resolv: &ResolvConf, ip: Ipv4Addr) -> Option<String> {
    let (_, answer) = ask(view, resolv, &reverse_name(ip), QType::Ptr);
    answer.into_iter().find_map(|record| match record {
        Record::Ptr { target, .. } => Some(target),
        _ => None,
    })
}

/// busybox's `print_host`: the header line and one line per address, or `None` when
/// `getaddrinfo` fails.
fn busybox_host(view: &DnsView, resolv: &ResolvConf, host: &str, header: &str) -> Option<String> {
    let (_, ips) = resolve(view, resolv, host)?;
    let mut out = busybox_header(header, host);
    for (i, ip) in ips.iter().enumerate() {
        out.push_str(&address_line(i + 1, *ip, reverse_lookup(view, resolv, *ip).as_deref()));
    }
    Some(out)
}

fn busybox(view: &DnsView, resolv: &ResolvConf, name: &str) -> String {
    let server = resolv.nameserver.to_string();
    // A numeric server always "resolves".
    let mut out = busybox_host(view, resolv, &server, "Server:").unwrap_or_default();
    out.push('\n');
    match busybox_host(view, resolv, name, "Name:") {
        Some(block) => out.push_str(&block),
        None => out.push_str(&cant_resolve(name)),
    }
    out
}

/// The lookup BIND's nslookup makes for `name`: along its search walk until an answer other
/// than NXDOMAIN; returns the name last asked with its response.
fn bind_lookup(
    view: &DnsView,
    resolv: &ResolvConf,
    name: &str,
    qtype: QType,
) -> (String, Rcode, Vec<Record>) {
    let mut last = (name.to_string(), Rcode::NxDomain, Vec::new());
    for candidate in nslookup_candidates(resolv, name) {
        let (rcode, answer) = ask(view, resolv, &candidate, qtype);
        last = (candidate, rcode, answer);
        if rcode != Rcode::NxDomain {
            break;
        }
    }
    last
}

/// `printsection` for the answer section.
fn bind_line(record: &Record) -> String {
    match record {
        Record::A { name, ip } => format!("Name:\t{name}\nAddress: {ip}\n"),
        Record::Cname { name, target } => format!("{name}\tcanonical name = {target}.\n"),
        Record::Ptr { name, target } => format!("{name}\tname = {target}.\n"),
        Record::Srv { name, priority, weight, port, target } => {
            format!("{name}\tservice = {priority} {weight} {port} {target}.\n")
        }
    }
}

fn bind_lines(answer: &[Record]) -> String {
    let mut out = String::new();
    for record in answer {
        out.push_str(&bind_line(record));
    }
    out
}

fn cant_find(name: &str, rcode: Rcode) -> String {
    format!("** server can't find {name}: {rcode}\n")
}

/// `chase_cnamechain`: where the CNAMEs of an answer lead from `name`.
fn chase(name: &str, answer: &[Record]) -> String {
    let mut current = name.to_string();
    for _ in 0..answer.len() {
        let next = answer.iter().find_map(|record| match record {
            Record::Cname { name, target } if name.eq_ignore_ascii_case(&current) => Some(target.clone()),
            _ => None,
        });
        match next {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

/// The AAAA lookup nslookup adds after a successful A lookup. It asks the end of the CNAME
/// chain as an absolute name (the search walk would end at the same name: longer candidates
/// of an in-cluster name are all NXDOMAIN). There are never AAAA records here, so it prints
/// only failures.
fn bind_aaaa(view: &DnsView, resolv: &ResolvConf, name: &str, a_noanswer: bool) -> String {
    let (rcode, answer) = ask(view, resolv, name, QType::Aaaa);
    if rcode != Rcode::NoError {
        return cant_find(name, rcode);
    }
    if !answer.is_empty() {
        return bind_lines(&answer);
    }
    if a_noanswer {
        return format!("*** Can't find {name}: No answer\n");
    }
    String::new()
}

fn bind(view: &DnsView, resolv: &ResolvConf, name: &str) -> String {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return bind_reverse(view, resolv, ip);
    }
    let server = resolv.nameserver;
    let mut out = format!("Server:\t\t{server}\nAddress:\t{server}#53\n\n");
    let (asked, rcode, answer) = bind_lookup(view, resolv, name, QType::A);
    if rcode == Rcode::NoError {
        out.push_str(&bind_lines(&answer));
        out.push_str(&bind_aaaa(view, resolv, &chase(&asked, &answer), answer.is_empty()));
    } else {
        out.push_str(&cant_find(&asked, rcode));
    }
    // main() ends with puts("").
    out.push('\n');
    out
}

/// A reverse lookup: a PTR query, printed without the server lines.
fn bind_reverse(view: &DnsView, resolv: &ResolvConf, ip: Ipv4Addr) -> String {
    let name = reverse_name(ip);
    let (rcode, answer) = ask(view, resolv, &name, QType::Ptr);
    let mut out = if rcode == Rcode::NoError { bind_lines(&answer) } else { cant_find(&name, rcode) };
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::resolv_conf_for;
    use crate::dns::tests::fixtures::{external_name, pod, service, slice, World};

    /// The docs' cluster: DNS Service 10.0.0.10, `kubernetes` 10.0.0.1, `hostnames` 10.0.1.175.
    fn docs_world() -> World {
        World {
            services: vec![
                service("default", "kubernetes", "10.0.0.1", &[("https", 443)]),
                service("kube-system", "kube-dns", "10.0.0.10", &[("dns", 53), ("dns-tcp", 53)]),
                service("default", "hostnames", "10.0.1.175", &[("default", 80)]),
            ],
            ..World::default()
        }
    }

    const DOCS_DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);

    fn in_default() -> ResolvConf {
        resolv_conf_for(&pod("default", "dnsutils"), "cluster.local", DOCS_DNS)
    }

    /// `kubectl exec dnsutils -- nslookup <name>` in the docs' cluster.
    fn docs_nslookup(w: &World, name: &str, style: NslookupStyle) -> String {
        nslookup(&w.view_with(DOCS_DNS), &in_default(), name, style)
    }

    /// Tabs to spaces at 8-column stops, as the docs' rendered output shows them.
    fn expand_tabs(text: &str) -> String {
        let mut out = String::new();
        let mut column = 0;
        for ch in text.chars() {
            match ch {
                '\t' => {
                    let n = 8 - column % 8;
                    out.push_str(&" ".repeat(n));
                    column += n;
                }
                '\n' => {
                    out.push(ch);
                    column = 0;
                }
                _ => {
                    out.push(ch);
                    column += 1;
                }
            }
        }
        out
    }

    #[test]
    fn busybox_kubernetes_default_as_in_debug_services() {
        // "Debug Services", "Does any Service work by DNS name?".
        let w = docs_world();
        let out = docs_nslookup(&w, "kubernetes.default", NslookupStyle::Busybox);
        assert_eq!(
            out,
            "Server:    10.0.0.10\n\
             Address 1: 10.0.0.10 kube-dns.kube-system.svc.cluster.local\n\
             \n\
             Name:      kubernetes.default\n\
             Address 1: 10.0.0.1 kubernetes.default.svc.cluster.local\n"
        );
    }

    #[test]
    fn busybox_short_name_as_in_debug_services() {
        // "Does the Service work by DNS name?" (the docs leave out the Server: line).
        let w = docs_world();
        let out = docs_nslookup(&w, "hostnames", NslookupStyle::Busybox);
        assert!(out.ends_with(
            "Address 1: 10.0.0.10 kube-dns.kube-system.svc.cluster.local\n\
             \n\
             Name:      hostnames\n\
             Address 1: 10.0.1.175 hostnames.default.svc.cluster.local\n"
        ));
        let out = docs_nslookup(&w, "hostnames.default", NslookupStyle::Busybox);
        assert!(out.ends_with(
            "Name:      hostnames.default\n\
             Address 1: 10.0.1.175 hostnames.default.svc.cluster.local\n"
        ));
    }

    #[test]
    fn busybox_failures_as_in_debugging_dns_resolution() {
        // Without the kube-dns Service there is no PTR for the server either.
        let empty = World::default();
        let out = docs_nslookup(&empty, "kubernetes.default", NslookupStyle::Busybox);
        let expected = "Server:    10.0.0.10\n\
                        Address 1: 10.0.0.10\n\
                        \n\
                        nslookup: can't resolve 'kubernetes.default'\n";
        assert_eq!(out, expected);
        let unreachable = nslookup_unreachable(&in_default(), "kubernetes.default", NslookupStyle::Busybox);
        assert_eq!(unreachable, expected);

        let mut w = docs_world();
        w.services.retain(|s| s.metadata.name.as_deref() != Some("kubernetes"));
        let out = docs_nslookup(&w, "kubernetes.default", NslookupStyle::Busybox);
        assert_eq!(
            out,
            "Server:    10.0.0.10\n\
             Address 1: 10.0.0.10 kube-dns.kube-system.svc.cluster.local\n\
             \n\
             nslookup: can't resolve 'kubernetes.default'\n"
        );
    }

    #[test]
    fn bind_fqdn_as_in_debug_services() {
        // "nslookup hostnames.default.svc.cluster.local 10.0.0.10" in "Debug Services"; the docs
        // render nslookup's tabs as spaces and drop the final empty line.
        let w = docs_world();
        let name = "hostnames.default.svc.cluster.local";
        let out = docs_nslookup(&w, name, NslookupStyle::Bind);
        assert_eq!(
            out,
            "Server:\t\t10.0.0.10\n\
             Address:\t10.0.0.10#53\n\
             \n\
             Name:\thostnames.default.svc.cluster.local\n\
             Address: 10.0.1.175\n\
             \n"
        );
        assert_eq!(
            expand_tabs(out.trim_end()),
            "Server:         10.0.0.10\n\
             Address:        10.0.0.10#53\n\
             \n\
             Name:   hostnames.default.svc.cluster.local\n\
             Address: 10.0.1.175"
        );
        // A short name prints the name that answered.
        let out = docs_nslookup(&w, "kubernetes.default", NslookupStyle::Bind);
        assert!(out.ends_with("\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.0.0.1\n\n"));
    }

    #[test]
    fn bind_nxdomain_names_the_last_name_tried() {
        let w = docs_world();
        let view = w.view_with(DOCS_DNS);
        let out = nslookup(&view, &in_default(), "nosuch", NslookupStyle::Bind);
        assert_eq!(
            out,
            "Server:\t\t10.0.0.10\n\
             Address:\t10.0.0.10#53\n\
             \n\
             ** server can't find nosuch: NXDOMAIN\n\
             \n"
        );
        let out = nslookup(&view, &in_default(), "nosuch.default.svc.cluster.local.", NslookupStyle::Bind);
        assert!(out.ends_with("** server can't find nosuch.default.svc.cluster.local: NXDOMAIN\n\n"));
        // A namespace exists but has no address: NODATA.
        let out = nslookup(&view, &in_default(), "default.svc.cluster.local", NslookupStyle::Bind);
        assert!(out.ends_with("\n\n*** Can't find default.svc.cluster.local: No answer\n\n"));
        assert_eq!(
            nslookup_unreachable(&in_default(), "nosuch", NslookupStyle::Bind),
            ";; connection timed out; no servers could be reached\n\n"
        );
    }

    /// prod/db: headless with three ready endpoints, listed out of order.
    fn headless_world() -> World {
        let mut w = World::standard();
        w.services.push(service("prod", "db", "None", &[("pg", 5432)]));
        w.slices.push(slice(
            "prod",
            "db",
            &[("pg", 5432)],
            &[
                ("10.244.2.5", true, Some("db-1")),
                ("10.244.1.7", true, Some("db-0")),
                ("10.244.3.4", true, None),
            ],
        ));
        w
    }

    #[test]
    fn headless_service_in_both_styles() {
        let w = headless_world();
        let view = w.view();
        let resolv = resolv_conf_for(&pod("prod", "client"), "cluster.local", view.dns_service_ip);
        assert_eq!(
            nslookup(&view, &resolv, "db", NslookupStyle::Busybox),
            "Server:    10.96.0.10\n\
             Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\
             \n\
             Name:      db\n\
             Address 1: 10.244.1.7 db-0.db.prod.svc.cluster.local\n\
             Address 2: 10.244.2.5 db-1.db.prod.svc.cluster.local\n\
             Address 3: 10.244.3.4 10-244-3-4.db.prod.svc.cluster.local\n"
        );
        assert_eq!(
            nslookup(&view, &resolv, "db", NslookupStyle::Bind),
            "Server:\t\t10.96.0.10\n\
             Address:\t10.96.0.10#53\n\
             \n\
             Name:\tdb.prod.svc.cluster.local\n\
             Address: 10.244.1.7\n\
             Name:\tdb.prod.svc.cluster.local\n\
             Address: 10.244.2.5\n\
             Name:\tdb.prod.svc.cluster.local\n\
             Address: 10.244.3.4\n\
             \n"
        );
    }

    #[test]
    fn external_name_in_bind_style() {
        let mut w = World::standard();
        w.services.push(external_name("prod", "ext", "my.database.example.com"));
        let view = w.view();
        let resolv = resolv_conf_for(&pod("prod", "client"), "cluster.local", view.dns_service_ip);
        assert_eq!(
            nslookup(&view, &resolv, "ext", NslookupStyle::Bind),
            "Server:\t\t10.96.0.10\n\
             Address:\t10.96.0.10#53\n\
             \n\
             ext.prod.svc.cluster.local\tcanonical name = my.database.example.com.\n\
             ** server can't find my.database.example.com: NXDOMAIN\n\
             \n"
        );
        // getaddrinfo finds no address behind the CNAME.
        let out = nslookup(&view, &resolv, "ext", NslookupStyle::Busybox);
        assert!(out.ends_with("nslookup: can't resolve 'ext'\n"));
    }

    #[test]
    fn reverse_lookups() {
        let w = World::standard();
        let view = w.view();
        let resolv = resolv_conf_for(&pod("default", "client"), "cluster.local", view.dns_service_ip);
        assert_eq!(
            nslookup(&view, &resolv, "10.96.0.1", NslookupStyle::Bind),
            "1.0.96.10.in-addr.arpa\tname = kubernetes.default.svc.cluster.local.\n\n"
        );
        assert_eq!(
            nslookup(&view, &resolv, "10.244.9.9", NslookupStyle::Bind),
            "** server can't find 9.9.244.10.in-addr.arpa: NXDOMAIN\n\n"
        );
        let out = nslookup(&view, &resolv, "10.96.0.1", NslookupStyle::Busybox);
        let expected = "Name:      10.96.0.1\nAddress 1: 10.96.0.1 kubernetes.default.svc.cluster.local\n";
        assert!(out.ends_with(expected));
    }

    #[test]
    fn host_network_pod_asks_the_node_resolver() {
        let w = World::standard();
        let view = w.view();
        let mut p = pod("default", "agent");
        p.spec.as_mut().unwrap().host_network = Some(true);
        let resolv = resolv_conf_for(&p, "cluster.local", view.dns_service_ip);
        assert_eq!(
            nslookup(&view, &resolv, "kubernetes.default", NslookupStyle::Busybox),
            "Server:    192.168.0.1\n\
             Address 1: 192.168.0.1\n\
             \n\
             nslookup: can't resolve 'kubernetes.default'\n"
        );
        assert_eq!(
            nslookup(&view, &resolv, "kubernetes.default", NslookupStyle::Bind),
            "Server:\t\t192.168.0.1\n\
             Address:\t192.168.0.1#53\n\
             \n\
             ** server can't find kubernetes.default: NXDOMAIN\n\
             \n"
        );
    }
}
