//! Tests ported from upstream `pkg/proxy/iptables/proxier_test.go` (chain names, the complete
//! table of `TestOverallIPTablesRules`, and the packet flows of `TestClusterIPGeneral`,
//! `TestNoEndpointsReject`, `TestLoadBalancer`, `TestNodePorts`,
//! `TestExternalTrafficPolicyLocal` and `TestExternalTrafficPolicyCluster`), plus the
//! evaluator's statistics, determinism and session affinity.
//!
//! Upstream's packet tracer follows every probabilistic branch at once; here a flow is sent
//! 200 times with a seeded generator and the set of destinations reached is compared.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

// Upstream's conventions (NewFakeProxier): pod IPs 10.0.0.0/8, service IPs 172.30.0.0/16,
// node IP 192.168.0.2, external client 203.0.113.2.
const TEST_NODE: &str = "test-node";
const TEST_NODE_IP: &str = "192.168.0.2";
const TEST_NODE_IP_ALT: &str = "192.168.1.2";
const TEST_EXTERNAL_IP: &str = "192.168.99.11";
const TEST_EXTERNAL_CLIENT: &str = "203.0.113.2";
const TEST_EXTERNAL_CLIENT_BLOCKED: &str = "203.0.113.130";

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn test_config() -> ProxierConfig {
    ProxierConfig {
        node_name: TEST_NODE.to_string(),
        node_ip: ip(TEST_NODE_IP),
        cluster_cidr: Some("10.0.0.0/8".to_string()),
        masquerade_all: false,
    }
}

/// NewFakeProxier: localhost NodePorts and nfacct on, no `--random-fully` in the fake iptables.
fn fake_features() -> ProxierFeatures {
    ProxierFeatures { random_fully: false, ..ProxierFeatures::default() }
}

fn service(namespace: &str, name: &str, port_name: &str, cluster_ip: &str, port: u16) -> ServicePortInfo {
    ServicePortInfo {
        namespace: namespace.to_string(),
        name: name.to_string(),
        port_name: port_name.to_string(),
        protocol: Protocol::Tcp,
        cluster_ip: ip(cluster_ip),
        port,
        node_port: None,
        external_ips: Vec::new(),
        load_balancer_ips: Vec::new(),
        session_affinity_seconds: None,
        external_policy_local: false,
        internal_policy_local: false,
        endpoints: Vec::new(),
    }
}

fn endpoint(addr: &str, port: u16) -> EndpointInfo {
    EndpointInfo { ip: ip(addr), port, ready: true, serving: true, terminating: false, node_name: None }
}

fn endpoint_on(addr: &str, port: u16, node: &str) -> EndpointInfo {
    EndpointInfo { node_name: Some(node.to_string()), ..endpoint(addr, port) }
}

fn build_fake(services: Vec<ServicePortInfo>) -> RuleSet {
    let ports: Vec<(ServicePortInfo, ServicePortExtras)> =
        services.into_iter().map(|s| (s, ServicePortExtras::default())).collect();
    build_with(&test_config(), &fake_features(), &ports)
}

/// The `-A CHAIN` lines of one table of `text`, in order (upstream's
/// `assertIPTablesChainEqual`).
fn chain_lines(text: &str, table: &str, chain: &str) -> Vec<String> {
    let prefix = format!("-A {chain} ");
    let bare = format!("-A {chain}");
    let mut current = "";
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            current = name;
        } else if current == table && (line.starts_with(&prefix) || line == bare) {
            out.push(line.to_string());
        }
    }
    out
}

fn sep(name: &str, proto: &str, endpoint: &str) -> String {
    service_port_endpoint_chain_name(name, proto, endpoint)
}

// ---------------------------------------------------------------------------------------------
// Chain names

#[test]
fn chain_names_match_upstream() {
    // proxier_test.go (TestOverallIPTablesRules and friends).
    assert_eq!(service_port_chain_name("ns1/svc1:p80", "tcp"), "KUBE-SVC-XPGD46QRK7WJZT7O");
    assert_eq!(service_port_chain_name("ns2/svc2:p80", "tcp"), "KUBE-SVC-GNZBNJ2PO5MGZ6GT");
    assert_eq!(service_port_chain_name("ns3/svc3:p80", "tcp"), "KUBE-SVC-X27LE4BHSL4DOUIK");
    assert_eq!(service_port_chain_name("ns4/svc4:p80", "tcp"), "KUBE-SVC-4SW47YFZTEDKD3PK");
    assert_eq!(service_port_chain_name("ns5/svc5:p80", "tcp"), "KUBE-SVC-NUKIZ6OKUXPJNT4C");
    assert_eq!(service_external_chain_name("ns2/svc2:p80", "tcp"), "KUBE-EXT-GNZBNJ2PO5MGZ6GT");
    assert_eq!(service_port_policy_local_chain_name("ns2/svc2:p80", "tcp"), "KUBE-SVL-GNZBNJ2PO5MGZ6GT");
    assert_eq!(service_firewall_chain_name("ns5/svc5:p80", "tcp"), "KUBE-FW-NUKIZ6OKUXPJNT4C");
    assert_eq!(sep("ns1/svc1:p80", "tcp", "10.180.0.1:80"), "KUBE-SEP-SXIVWICOYRO3J4NJ");
    assert_eq!(sep("ns2/svc2:p80", "tcp", "10.180.0.2:80"), "KUBE-SEP-RS4RBKLTHTF2IUXJ");
    assert_eq!(sep("ns3/svc3:p80", "tcp", "10.180.0.3:80"), "KUBE-SEP-OYPFS5VJICHGATKP");
    assert_eq!(sep("ns4/svc4:p80", "tcp", "10.180.0.4:80"), "KUBE-SEP-UKSFD7AGPMPPLUHC");
    assert_eq!(sep("ns4/svc4:p80", "tcp", "10.180.0.5:80"), "KUBE-SEP-C6EBXVWJJZMIWKLZ");
    assert_eq!(sep("ns5/svc5:p80", "tcp", "10.180.0.3:80"), "KUBE-SEP-I77PXRDZVX7PMWMN");
    // The names every kubeadm cluster shows.
    assert_eq!(service_port_chain_name("default/kubernetes:https", "tcp"), "KUBE-SVC-NPX46M4PTMTKRN6Y");
    assert_eq!(service_port_chain_name("kube-system/kube-dns:dns", "udp"), "KUBE-SVC-TCOU7JCQXEZGVUNU");
    assert_eq!(service_port_chain_name("kube-system/kube-dns:dns-tcp", "tcp"), "KUBE-SVC-ERIFXISQEP7F7OF4");
    assert_eq!(service_port_chain_name("kube-system/kube-dns:metrics", "tcp"), "KUBE-SVC-JD5MR3NA4I4DYORP");
}

#[test]
fn service_port_names_omit_an_empty_port_name() {
    assert_eq!(service_port_name("ns1", "svc1", "p80"), "ns1/svc1:p80");
    assert_eq!(service_port_name("ns1", "svc1", ""), "ns1/svc1");
    assert_eq!(service("ns1", "svc1", "", "172.30.0.41", 80).service_port_name(), "ns1/svc1");
}

#[test]
fn protocols_parse_and_print_like_the_api_and_iptables() {
    assert_eq!(Protocol::parse("TCP"), Some(Protocol::Tcp));
    assert_eq!(Protocol::parse("udp"), Some(Protocol::Udp));
    assert_eq!(Protocol::parse("SCTP"), Some(Protocol::Sctp));
    assert_eq!(Protocol::parse("ICMP"), None);
    assert_eq!(Protocol::Sctp.lower(), "sctp");
}

// ---------------------------------------------------------------------------------------------
// The complete table of TestOverallIPTablesRules

/// Upstream's `sortIPTablesRules` (the only normalisation `assertIPTablesRulesEqual` applies to
/// the proxier's output): tables by name; chains with KUBE-NODEPORTS first, then
/// KUBE-SERVICES, then the other KUBE-* chains by name; rules grouped by chain; the rules of
/// KUBE-NODEPORTS and KUBE-SERVICES stably sorted by the service name in their comment (the
/// nat table's "must be the last rule" rule kept last).
fn sort_iptables_rules(data: &str) -> String {
    struct Parsed {
        name: String,
        chains: Vec<String>,
        rules: BTreeMap<String, Vec<String>>,
    }
    let mut tables: Vec<Parsed> = Vec::new();
    for line in data.lines() {
        if let Some(name) = line.strip_prefix('*') {
            tables.push(Parsed { name: name.to_string(), chains: Vec::new(), rules: BTreeMap::new() });
            continue;
        }
        let Some(table) = tables.last_mut() else { continue };
        if let Some(rest) = line.strip_prefix(':') {
            table.chains.push(rest.split(' ').next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let chain = rest.split(' ').next().unwrap().to_string();
            table.rules.entry(chain).or_default().push(line.to_string());
        }
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));

    fn rank(chain: &str) -> u8 {
        match chain {
            "KUBE-NODEPORTS" => 0,
            "KUBE-SERVICES" => 1,
            _ if chain.starts_with("KUBE-") => 2,
            _ => 3,
        }
    }
    fn comment_of(rule: &str) -> String {
        let Some((_, rest)) = rule.split_once("--comment ") else { return String::new() };
        match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or_default().to_string(),
            None => rest.split(' ').next().unwrap_or_default().to_string(),
        }
    }
    fn service_name(comment: &str) -> String {
        comment.split([' ', ':']).next().unwrap_or_default().to_string()
    }

    let mut out = String::new();
    for table in &mut tables {
        table.chains.sort_by_key(|c| (rank(c), c.clone()));
        let is_nat = table.name == "nat";
        for chain in ["KUBE-NODEPORTS", "KUBE-SERVICES"] {
            if let Some(rules) = table.rules.get_mut(chain) {
                let keep_last = is_nat && chain == "KUBE-SERVICES";
                rules.sort_by_key(|r| {
                    let c = comment_of(r);
                    (keep_last && c.contains("must be the last rule"), service_name(&c))
                });
            }
        }
        out.push_str(&format!("*{}\n", table.name));
        for chain in &table.chains {
            out.push_str(&format!(":{chain} - [0:0]\n"));
        }
        for chain in &table.chains {
            for rule in table.rules.get(chain).into_iter().flatten() {
                out.push_str(rule);
                out.push('\n');
            }
        }
        out.push_str("COMMIT\n");
    }
    out
}

/// The `expected` text of upstream's TestOverallIPTablesRules, verbatim.
const OVERALL_EXPECTED: &str = r#"*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXT-4SW47YFZTEDKD3PK - [0:0]
:KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-EXT-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-EXT-X27LE4BHSL4DOUIK - [0:0]
:KUBE-FW-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-C6EBXVWJJZMIWKLZ - [0:0]
:KUBE-SEP-I77PXRDZVX7PMWMN - [0:0]
:KUBE-SEP-OYPFS5VJICHGATKP - [0:0]
:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]
:KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-SVC-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3002 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
COMMIT
"#;

/// The services and endpoint slices of upstream's TestOverallIPTablesRules.
fn overall_services() -> Vec<(ServicePortInfo, ServicePortExtras)> {
    // ClusterIP service.
    let svc1 = ServicePortInfo {
        endpoints: vec![endpoint("10.180.0.1", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    // LoadBalancer with Local traffic policy; its endpoint has no nodeName, so it is not local.
    let svc2 = ServicePortInfo {
        node_port: Some(3001),
        load_balancer_ips: vec![ip("1.2.3.4")],
        external_ips: vec![ip("192.168.99.22")],
        external_policy_local: true,
        endpoints: vec![endpoint("10.180.0.2", 80)],
        ..service("ns2", "svc2", "p80", "172.30.0.42", 80)
    };
    let svc2_extras =
        ServicePortExtras { health_check_node_port: Some(30000), ..ServicePortExtras::default() };
    // NodePort service.
    let svc3 = ServicePortInfo {
        node_port: Some(3003),
        endpoints: vec![endpoint("10.180.0.3", 80)],
        ..service("ns3", "svc3", "p80", "172.30.0.43", 80)
    };
    // ExternalIP service ("NodePort" type without a node port).
    let svc4 = ServicePortInfo {
        external_ips: vec![ip("192.168.99.33")],
        endpoints: vec![endpoint("10.180.0.4", 80), endpoint_on("10.180.0.5", 80, TEST_NODE)],
        ..service("ns4", "svc4", "p80", "172.30.0.44", 80)
    };
    // LoadBalancer with Cluster policy, source ranges and session affinity. (Its
    // healthCheckNodePort is ignored upstream: only Local policy needs a health check.)
    let svc5 = ServicePortInfo {
        node_port: Some(3002),
        load_balancer_ips: vec![ip("5.6.7.8")],
        session_affinity_seconds: Some(10_800),
        endpoints: vec![endpoint("10.180.0.3", 80)],
        ..service("ns5", "svc5", "p80", "172.30.0.45", 80)
    };
    let svc5_extras = ServicePortExtras {
        load_balancer_source_ranges: vec![" 203.0.113.0/25".to_string()],
        ..ServicePortExtras::default()
    };
    // ClusterIP service without endpoints.
    let svc6 = service("ns6", "svc6", "p80", "172.30.0.46", 80);
    vec![
        (svc1, ServicePortExtras::default()),
        (svc2, svc2_extras),
        (svc3, ServicePortExtras::default()),
        (svc4, ServicePortExtras::default()),
        (svc5, svc5_extras),
        (svc6, ServicePortExtras::default()),
    ]
}

#[test]
fn overall_iptables_rules_match_upstream() {
    let rules = build_with(&test_config(), &fake_features(), &overall_services());
    let got = sort_iptables_rules(&rules.restore_input());
    if got != OVERALL_EXPECTED {
        for (i, (g, e)) in got.lines().zip(OVERALL_EXPECTED.lines()).enumerate() {
            assert_eq!(g, e, "first difference at line {}", i + 1);
        }
    }
    assert_eq!(got, OVERALL_EXPECTED);
    // The rules-total metric equals the number of -A lines (upstream checks the nat count).
    let expected_rules = OVERALL_EXPECTED.lines().filter(|l| l.starts_with("-A ")).count();
    assert_eq!(rules.rule_count(), expected_rules);
}

#[test]
fn service_order_does_not_depend_on_input_order() {
    let mut services = overall_services();
    let forward = build_with(&test_config(), &fake_features(), &services);
    services.reverse();
    let backward = build_with(&test_config(), &fake_features(), &services);
    assert_eq!(forward.restore_input(), backward.restore_input());
    assert_eq!(forward.save(), backward.save());
}

// ---------------------------------------------------------------------------------------------
// Rule lines for single features

fn cluster_ip_with_endpoints(n: u8) -> RuleSet {
    let endpoints = (1..=n).map(|i| endpoint(&format!("10.180.0.{i}"), 80)).collect();
    build_fake(vec![ServicePortInfo { endpoints, ..service("ns1", "svc1", "p80", "172.30.0.41", 80) }])
}

#[test]
fn cluster_ip_with_one_endpoint() {
    let rules = cluster_ip_with_endpoints(1).restore_input();
    let svc = "KUBE-SVC-XPGD46QRK7WJZT7O";
    assert_eq!(
        chain_lines(&rules, "nat", "KUBE-SERVICES"),
        [
            "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O",
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
        ]
    );
    assert_eq!(
        chain_lines(&rules, "nat", svc),
        [
            "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ",
            "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -j KUBE-SEP-SXIVWICOYRO3J4NJ",
        ]
    );
    assert_eq!(
        chain_lines(&rules, "nat", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
        [
            "-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ",
            "-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80",
        ]
    );
}

/// The probabilities of a SVC chain's endpoint rules, `None` for the unconditional last one.
fn probabilities(rules: &RuleSet, chain: &str) -> Vec<Option<String>> {
    chain_lines(&rules.restore_input(), "nat", chain)
        .iter()
        .filter(|l| l.contains(" -j KUBE-SEP-"))
        .map(|l| l.split_once("--probability ").map(|(_, p)| p.split(' ').next().unwrap().to_string()))
        .collect()
}

#[test]
fn endpoint_rules_split_traffic_evenly_for_2_3_and_5_endpoints() {
    let svc = "KUBE-SVC-XPGD46QRK7WJZT7O";
    let p = |s: &str| Some(s.to_string());
    assert_eq!(probabilities(&cluster_ip_with_endpoints(2), svc), [p("0.5000000000"), None]);
    assert_eq!(
        probabilities(&cluster_ip_with_endpoints(3), svc),
        [p("0.3333333333"), p("0.5000000000"), None]
    );
    assert_eq!(
        probabilities(&cluster_ip_with_endpoints(5), svc),
        [p("0.2000000000"), p("0.2500000000"), p("0.3333333333"), p("0.5000000000"), None]
    );

    let rules = cluster_ip_with_endpoints(3).restore_input();
    assert_eq!(
        chain_lines(&rules, "nat", svc),
        [
            "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ".to_string(),
            format!(
                "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -m statistic --mode random --probability 0.3333333333 -j {}",
                sep("ns1/svc1:p80", "tcp", "10.180.0.1:80")
            ),
            format!(
                "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.2:80\" -m statistic --mode random --probability 0.5000000000 -j {}",
                sep("ns1/svc1:p80", "tcp", "10.180.0.2:80")
            ),
            format!(
                "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.3:80\" -j {}",
                sep("ns1/svc1:p80", "tcp", "10.180.0.3:80")
            ),
        ]
    );
}

#[test]
fn endpoints_are_ordered_by_their_ip_port_string_and_deduplicated() {
    // endpointslicecache.go sorts by Endpoint.String(), so 10.180.0.10 comes before
    // 10.180.0.9; a terminating duplicate does not replace a ready entry.
    let endpoints = vec![
        endpoint("10.180.0.9", 80),
        endpoint("10.180.0.10", 80),
        EndpointInfo { ready: false, terminating: true, ..endpoint("10.180.0.9", 80) },
    ];
    let rules =
        build_fake(vec![ServicePortInfo { endpoints, ..service("ns1", "svc1", "p80", "172.30.0.41", 80) }]);
    let lines = chain_lines(&rules.restore_input(), "nat", "KUBE-SVC-XPGD46QRK7WJZT7O");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].contains("\"ns1/svc1:p80 -> 10.180.0.10:80\" -m statistic"), "{}", lines[1]);
    assert!(lines[2].contains("\"ns1/svc1:p80 -> 10.180.0.9:80\" -j"), "{}", lines[2]);
}

#[test]
fn unnamed_udp_port() {
    let svc = ServicePortInfo {
        protocol: Protocol::Udp,
        endpoints: vec![endpoint("10.180.0.7", 5353)],
        ..service("kube-system", "dns", "", "172.30.0.10", 53)
    };
    let rules = build_fake(vec![svc]).restore_input();
    let chain = service_port_chain_name("kube-system/dns", "udp");
    let sep_chain = sep("kube-system/dns", "udp", "10.180.0.7:5353");
    assert_eq!(
        chain_lines(&rules, "nat", "KUBE-SERVICES")[0],
        format!("-A KUBE-SERVICES -m comment --comment \"kube-system/dns cluster IP\" -m udp -p udp -d 172.30.0.10 --dport 53 -j {chain}")
    );
    assert_eq!(
        chain_lines(&rules, "nat", &sep_chain),
        [
            format!("-A {sep_chain} -m comment --comment kube-system/dns -s 10.180.0.7 -j KUBE-MARK-MASQ"),
            format!("-A {sep_chain} -m comment --comment kube-system/dns -m udp -p udp -j DNAT --to-destination 10.180.0.7:5353"),
        ]
    );
}

#[test]
fn service_without_endpoints_is_rejected_in_the_filter_table() {
    let rules = build_fake(vec![service("ns6", "svc6", "p80", "172.30.0.46", 80)]);
    let text = rules.restore_input();
    assert_eq!(
        chain_lines(&text, "filter", "KUBE-SERVICES"),
        ["-A KUBE-SERVICES -m comment --comment \"ns6/svc6:p80 has no endpoints\" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT"]
    );
    assert!(!text.contains("KUBE-SVC-"), "no nat chains for a service without endpoints");
}

#[test]
fn node_port_service_rules() {
    let svc = ServicePortInfo {
        node_port: Some(3001),
        endpoints: vec![endpoint("10.180.0.1", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let text = build_fake(vec![svc]).restore_input();
    let ext = "KUBE-EXT-XPGD46QRK7WJZT7O";
    assert_eq!(
        chain_lines(&text, "nat", "KUBE-NODEPORTS"),
        [
            format!("-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j {ext}"),
            format!("-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j {ext}"),
        ]
    );
    assert_eq!(
        chain_lines(&text, "nat", ext),
        [
            format!("-A {ext} -m comment --comment \"masquerade traffic for ns1/svc1:p80 external destinations\" -j KUBE-MARK-MASQ"),
            format!("-A {ext} -j KUBE-SVC-XPGD46QRK7WJZT7O"),
        ]
    );
    // Without endpoints the node port is rejected in KUBE-EXTERNAL-SERVICES.
    let empty = ServicePortInfo { node_port: Some(3001), ..service("ns1", "svc1", "p80", "172.30.0.41", 80) };
    let text = build_fake(vec![empty]).restore_input();
    assert_eq!(
        chain_lines(&text, "filter", "KUBE-EXTERNAL-SERVICES"),
        ["-A KUBE-EXTERNAL-SERVICES -m comment --comment \"ns1/svc1:p80 has no endpoints\" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT"]
    );
}

#[test]
fn external_traffic_policy_local_rules() {
    let svc = ServicePortInfo {
        node_port: Some(3001),
        external_policy_local: true,
        endpoints: vec![endpoint("10.180.0.1", 80), endpoint_on("10.180.2.1", 80, TEST_NODE)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let text = build_fake(vec![svc]).restore_input();
    let ext = "KUBE-EXT-XPGD46QRK7WJZT7O";
    let svl = "KUBE-SVL-XPGD46QRK7WJZT7O";
    assert_eq!(
        chain_lines(&text, "nat", ext),
        [
            format!("-A {ext} -m comment --comment \"pod traffic for ns1/svc1:p80 external destinations\" -s 10.0.0.0/8 -j KUBE-SVC-XPGD46QRK7WJZT7O"),
            format!("-A {ext} -m comment --comment \"masquerade LOCAL traffic for ns1/svc1:p80 external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ"),
            format!("-A {ext} -m comment --comment \"route LOCAL traffic for ns1/svc1:p80 external destinations\" -m addrtype --src-type LOCAL -j KUBE-SVC-XPGD46QRK7WJZT7O"),
            format!("-A {ext} -j {svl}"),
        ]
    );
    // The SVL chain holds only this node's endpoint; the SVC chain both.
    assert_eq!(
        chain_lines(&text, "nat", svl),
        [format!(
            "-A {svl} -m comment --comment \"ns1/svc1:p80 -> 10.180.2.1:80\" -j {}",
            sep("ns1/svc1:p80", "tcp", "10.180.2.1:80")
        )]
    );
    assert_eq!(chain_lines(&text, "nat", "KUBE-SVC-XPGD46QRK7WJZT7O").len(), 3);
    assert!(text.contains(":KUBE-SVL-XPGD46QRK7WJZT7O - [0:0]\n"));
}

#[test]
fn session_affinity_rules() {
    let svc = ServicePortInfo {
        session_affinity_seconds: Some(10_800),
        endpoints: vec![endpoint("10.180.0.1", 80), endpoint("10.180.0.2", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let text = build_fake(vec![svc]).restore_input();
    let sep1 = sep("ns1/svc1:p80", "tcp", "10.180.0.1:80");
    let sep2 = sep("ns1/svc1:p80", "tcp", "10.180.0.2:80");
    assert_eq!(
        chain_lines(&text, "nat", "KUBE-SVC-XPGD46QRK7WJZT7O")[1..],
        [
            format!("-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -m recent --name {sep1} --rcheck --seconds 10800 --reap -j {sep1}"),
            format!("-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.2:80\" -m recent --name {sep2} --rcheck --seconds 10800 --reap -j {sep2}"),
            format!("-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -m statistic --mode random --probability 0.5000000000 -j {sep1}"),
            format!("-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.2:80\" -j {sep2}"),
        ]
    );
    assert_eq!(
        chain_lines(&text, "nat", &sep1)[1],
        format!("-A {sep1} -m comment --comment ns1/svc1:p80 -m recent --name {sep1} --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80")
    );
}

#[test]
fn internal_traffic_policy_local() {
    // A local endpoint: cluster IP traffic goes to the SVL chain.
    let local = ServicePortInfo {
        internal_policy_local: true,
        endpoints: vec![endpoint("10.180.0.1", 80), endpoint_on("10.180.2.1", 80, TEST_NODE)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let text = build_fake(vec![local]).restore_input();
    assert!(chain_lines(&text, "nat", "KUBE-SERVICES")[0].ends_with("-j KUBE-SVL-XPGD46QRK7WJZT7O"));
    assert!(!text.contains("KUBE-SVC-XPGD46QRK7WJZT7O"), "Cluster policy is not used at all");
    assert!(!text.contains("10.180.0.1:80"), "only the local endpoint is reachable");

    // No local endpoint: DROP in the filter table.
    let remote = ServicePortInfo {
        internal_policy_local: true,
        endpoints: vec![endpoint("10.180.0.1", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let rules = build_fake(vec![remote]);
    assert_eq!(
        chain_lines(&rules.restore_input(), "filter", "KUBE-SERVICES"),
        ["-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 has no local endpoints\" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP"]
    );
    let verdict = send(
        &rules,
        Origin::Pod,
        "10.0.0.2",
        "172.30.0.41",
        80,
        Protocol::Tcp,
        0,
        &mut AffinityTable::default(),
        &mut rng(1),
    );
    assert_eq!(verdict, Verdict::Drop { comment: "ns1/svc1:p80 has no local endpoints".to_string() });
}

#[test]
fn serving_terminating_endpoints_are_used_only_when_none_is_ready() {
    let terminating =
        |addr: &str| EndpointInfo { ready: false, serving: true, terminating: true, ..endpoint(addr, 80) };
    let only_terminating = ServicePortInfo {
        endpoints: vec![
            terminating("10.180.0.1"),
            EndpointInfo { serving: false, ..terminating("10.180.0.2") },
        ],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let text = build_fake(vec![only_terminating]).restore_input();
    assert!(text.contains("--to-destination 10.180.0.1:80"));
    assert!(!text.contains("10.180.0.2:80"), "not serving: never used");

    let mixed = ServicePortInfo {
        endpoints: vec![terminating("10.180.0.1"), endpoint("10.180.0.3", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let text = build_fake(vec![mixed]).restore_input();
    assert!(!text.contains("10.180.0.1:80"));
    assert!(text.contains("--to-destination 10.180.0.3:80"));
}

#[test]
fn masquerade_all_masquerades_every_cluster_ip_connection() {
    let cfg = ProxierConfig { masquerade_all: true, ..test_config() };
    let svc = ServicePortInfo {
        endpoints: vec![endpoint("10.180.0.1", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let rules = build_with(&cfg, &fake_features(), &[(svc, ServicePortExtras::default())]);
    assert_eq!(
        chain_lines(&rules.restore_input(), "nat", "KUBE-SVC-XPGD46QRK7WJZT7O")[0],
        "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ"
    );
}

#[test]
fn large_clusters_drop_the_per_endpoint_comments() {
    let endpoints: Vec<EndpointInfo> = (0..=LARGE_CLUSTER_ENDPOINTS_THRESHOLD)
        .map(|i| endpoint(&format!("10.1.{}.{}", i / 250, i % 250 + 1), 80))
        .collect();
    let rules =
        build_fake(vec![ServicePortInfo { endpoints, ..service("ns1", "svc1", "p80", "172.30.0.41", 80) }]);
    let text = rules.restore_input();
    let sep1 = sep("ns1/svc1:p80", "tcp", "10.1.0.1:80");
    assert_eq!(
        chain_lines(&text, "nat", &sep1),
        [
            format!("-A {sep1} -s 10.1.0.1 -j KUBE-MARK-MASQ"),
            format!("-A {sep1} -m tcp -p tcp -j DNAT --to-destination 10.1.0.1:80"),
        ]
    );
    // The cluster IP rules keep theirs.
    assert!(chain_lines(&text, "nat", "KUBE-SERVICES")[0].contains("\"ns1/svc1:p80 cluster IP\""));
}

#[test]
fn masquerade_rule_follows_random_fully_support() {
    // TestMasqueradeRule.
    for random_fully in [false, true] {
        let features = ProxierFeatures { random_fully, ..ProxierFeatures::default() };
        let text = build_with(&test_config(), &features, &[]).restore_input();
        let suffix = if random_fully { " --random-fully" } else { "" };
        assert_eq!(
            chain_lines(&text, "nat", "KUBE-POSTROUTING"),
            [
                "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN".to_string(),
                "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000".to_string(),
                format!("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE{suffix}"),
            ]
        );
    }
}

#[test]
fn drop_invalid_rule_follows_nfacct_and_tcp_liberal() {
    // TestDropInvalidRule.
    let cases = [
        (false, false, Some("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP")),
        (
            true,
            false,
            Some("-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP"),
        ),
        (false, true, None),
    ];
    for (nfacct, conntrack_tcp_liberal, drop_rule) in cases {
        let features = ProxierFeatures { nfacct, conntrack_tcp_liberal, ..fake_features() };
        let text = build_with(&test_config(), &features, &[]).restore_input();
        let mut expected: Vec<String> = drop_rule.into_iter().map(str::to_string).collect();
        expected.push("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT".to_string());
        expected.push("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".to_string());
        assert_eq!(chain_lines(&text, "filter", "KUBE-FORWARD"), expected);
    }
}

// ---------------------------------------------------------------------------------------------
// save(): the node's tables with the built-in chains

const EMPTY_NODE_SAVE: &str = r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
"#;

#[test]
fn save_of_a_node_without_services() {
    let rules = build(&test_config(), &[]);
    assert_eq!(rules.save(), EMPTY_NODE_SAVE);
    // Only the restored rules are counted: 4 filter + 5 nat.
    assert_eq!(rules.rule_count(), 9);
}

/// A kubeadm node's view of the `kubernetes` and `kube-dns` services.
fn kubeadm_node() -> RuleSet {
    let cfg = ProxierConfig {
        node_name: "node-1".to_string(),
        node_ip: ip("172.18.0.2"),
        cluster_cidr: Some("10.244.0.0/16".to_string()),
        masquerade_all: false,
    };
    let kubernetes = ServicePortInfo {
        endpoints: vec![endpoint("172.18.0.2", 6443)],
        ..service("default", "kubernetes", "https", "10.96.0.1", 443)
    };
    let dns = ServicePortInfo {
        protocol: Protocol::Udp,
        endpoints: vec![endpoint("10.244.0.2", 53), endpoint("10.244.0.3", 53)],
        ..service("kube-system", "kube-dns", "dns", "10.96.0.10", 53)
    };
    let web = ServicePortInfo {
        session_affinity_seconds: Some(10_800),
        node_port: Some(30080),
        endpoints: vec![endpoint("10.244.1.5", 8080)],
        ..service("default", "web", "", "10.96.0.50", 80)
    };
    build(&cfg, &[kubernetes, dns, web])
}

#[test]
fn save_canonical_prints_what_the_kernel_returns() {
    let text = kubeadm_node().save_canonical();
    let sep_api = sep("default/kubernetes:https", "tcp", "172.18.0.2:6443");
    let sep_dns = sep("kube-system/kube-dns:dns", "udp", "10.244.0.2:53");
    let sep_web = sep("default/web", "tcp", "10.244.1.5:8080");
    for line in [
        "-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y".to_string(),
        "-A KUBE-SVC-NPX46M4PTMTKRN6Y ! -s 10.244.0.0/16 -d 10.96.0.1/32 -p tcp -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp --dport 443 -j KUBE-MARK-MASQ".to_string(),
        format!("-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment \"default/kubernetes:https -> 172.18.0.2:6443\" -j {sep_api}"),
        format!("-A {sep_api} -s 172.18.0.2/32 -m comment --comment \"default/kubernetes:https\" -j KUBE-MARK-MASQ"),
        format!("-A {sep_api} -p tcp -m comment --comment \"default/kubernetes:https\" -m tcp -j DNAT --to-destination 172.18.0.2:6443"),
        format!("-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment \"kube-system/kube-dns:dns -> 10.244.0.2:53\" -m statistic --mode random --probability 0.50000000000 -j {sep_dns}"),
        format!("-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment \"default/web -> 10.244.1.5:8080\" -m recent --rcheck --seconds 10800 --reap --name {sep_web} --mask 255.255.255.255 --rsource -j {sep_web}"),
        format!("-A {sep_web} -p tcp -m comment --comment \"default/web\" -m recent --set --name {sep_web} --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.1.5:8080"),
        "-A KUBE-NODEPORTS -d 127.0.0.0/8 -p tcp -m comment --comment \"default/web\" -m tcp --dport 30080 -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j KUBE-EXT-LOLE4ISW44XBNF3G".to_string(),
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000".to_string(),
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0".to_string(),
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully".to_string(),
        "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP".to_string(),
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing line:\n{line}\nin:\n{text}");
    }
    assert_eq!(service_port_chain_name("default/web", "tcp"), "KUBE-SVC-LOLE4ISW44XBNF3G");
}

#[test]
fn kernel_probabilities_are_printed_as_stored() {
    let text = cluster_ip_with_endpoints(5).save_canonical();
    for p in ["0.20000000019", "0.25000000000", "0.33333333349", "0.50000000000"] {
        assert!(text.contains(&format!("--probability {p} ")), "{p}");
    }
}

// ---------------------------------------------------------------------------------------------
// The evaluator

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The addresses upstream's tracer treats as local (`testNodeIPs` plus localhost).
fn node_local(addr: Ipv4Addr) -> bool {
    [TEST_NODE_IP, TEST_NODE_IP_ALT, TEST_EXTERNAL_IP, "127.0.0.1"].iter().any(|s| ip(s) == addr)
}

#[allow(clippy::too_many_arguments)]
fn send(
    rules: &RuleSet,
    origin: Origin,
    src: &str,
    dst: &str,
    port: u16,
    protocol: Protocol,
    now_ms: u64,
    affinity: &mut AffinityTable,
    rng: &mut ChaCha8Rng,
) -> Verdict {
    let dst = ip(dst);
    let packet =
        Packet { origin, src: ip(src), dst, dst_port: port, protocol, dst_is_local: node_local(dst) };
    rules.evaluate(&packet, now_ms, affinity, rng)
}

/// One of upstream's `packetFlowTest`s: every destination reached over 200 connections, joined
/// with ", " (`DROP`/`REJECT` for the filter verdicts, empty for no service), and whether any
/// was masqueraded.
struct Flow {
    name: &'static str,
    origin: Origin,
    src: &'static str,
    dst: &'static str,
    port: u16,
    protocol: Protocol,
    output: &'static str,
    masq: bool,
}

fn flow(
    name: &'static str,
    origin: Origin,
    src: &'static str,
    dst: &'static str,
    port: u16,
    output: &'static str,
    masq: bool,
) -> Flow {
    Flow { name, origin, src, dst, port, protocol: Protocol::Tcp, output, masq }
}

fn run_flows(rules: &RuleSet, flows: &[Flow]) {
    let mut generator = rng(7);
    for f in flows {
        let mut outputs = BTreeSet::new();
        let mut masq = false;
        for _ in 0..200 {
            let mut affinity = AffinityTable::default();
            match send(rules, f.origin, f.src, f.dst, f.port, f.protocol, 0, &mut affinity, &mut generator) {
                Verdict::Dnat { ip, port, masquerade, .. } => {
                    outputs.insert(format!("{ip}:{port}"));
                    masq |= masquerade;
                }
                Verdict::Reject { .. } => {
                    outputs.insert("REJECT".to_string());
                }
                Verdict::Drop { .. } => {
                    outputs.insert("DROP".to_string());
                }
                Verdict::NotService => {}
            }
        }
        let output = outputs.into_iter().collect::<Vec<_>>().join(", ");
        assert_eq!(output, f.output, "{}: destinations", f.name);
        assert_eq!(masq, f.masq, "{}: masquerade", f.name);
    }
}

#[test]
fn cluster_ip_general_flows() {
    // TestClusterIPGeneral.
    let ns2_ports = [
        ("http", Protocol::Tcp, 80, 80),
        ("https", Protocol::Tcp, 443, 8443),
        ("dns-udp", Protocol::Udp, 53, 53),
        ("dns-tcp", Protocol::Tcp, 53, 5353),
        ("dns-sctp", Protocol::Sctp, 53, 53),
    ];
    let mut services = vec![ServicePortInfo {
        endpoints: vec![endpoint_on("10.180.0.1", 80, TEST_NODE)],
        ..service("ns1", "svc1", "http", "172.30.0.41", 80)
    }];
    for (name, protocol, port, target) in ns2_ports {
        services.push(ServicePortInfo {
            protocol,
            endpoints: vec![
                endpoint_on("10.180.0.1", target, TEST_NODE),
                endpoint_on("10.180.2.1", target, "node2"),
            ],
            ..service("ns2", "svc2", name, "172.30.0.42", port)
        });
    }
    let rules = build_fake(services);
    let at =
        |name: &'static str,
         src: &'static str,
         dst: &'static str,
         port: u16,
         protocol: Protocol,
         output: &'static str,
         masq: bool| Flow { name, origin: Origin::Pod, src, dst, port, protocol, output, masq };
    run_flows(
        &rules,
        &[
            at("simple clusterIP", "10.180.0.2", "172.30.0.41", 80, Protocol::Tcp, "10.180.0.1:80", false),
            at(
                "hairpin to cluster IP",
                "10.180.0.1",
                "172.30.0.41",
                80,
                Protocol::Tcp,
                "10.180.0.1:80",
                true,
            ),
            at(
                "clusterIP with multiple endpoints",
                "10.180.0.2",
                "172.30.0.42",
                80,
                Protocol::Tcp,
                "10.180.0.1:80, 10.180.2.1:80",
                false,
            ),
            at(
                "clusterIP with TargetPort",
                "10.180.0.2",
                "172.30.0.42",
                443,
                Protocol::Tcp,
                "10.180.0.1:8443, 10.180.2.1:8443",
                false,
            ),
            at(
                "TCP on a port shared with UDP and SCTP",
                "10.180.0.2",
                "172.30.0.42",
                53,
                Protocol::Tcp,
                "10.180.0.1:5353, 10.180.2.1:5353",
                false,
            ),
            at(
                "UDP on a port shared with TCP and SCTP",
                "10.180.0.2",
                "172.30.0.42",
                53,
                Protocol::Udp,
                "10.180.0.1:53, 10.180.2.1:53",
                false,
            ),
            at(
                "SCTP on a port shared with TCP and UDP",
                "10.180.0.2",
                "172.30.0.42",
                53,
                Protocol::Sctp,
                "10.180.0.1:53, 10.180.2.1:53",
                false,
            ),
            at(
                "TCP-only port does not match UDP traffic",
                "10.180.0.2",
                "172.30.0.42",
                80,
                Protocol::Udp,
                "",
                false,
            ),
            at(
                "svc1 does not accept svc2's ports",
                "10.180.0.2",
                "172.30.0.41",
                443,
                Protocol::Tcp,
                "",
                false,
            ),
        ],
    );
}

#[test]
fn no_endpoints_reject_flows() {
    // TestNoEndpointsReject.
    let svc = ServicePortInfo {
        node_port: Some(3001),
        external_ips: vec![ip(TEST_EXTERNAL_IP)],
        load_balancer_ips: vec![ip("1.2.3.4")],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let rules = build_fake(vec![svc]);
    run_flows(
        &rules,
        &[
            flow(
                "pod to cluster IP with no endpoints",
                Origin::Pod,
                "10.0.0.2",
                "172.30.0.41",
                80,
                "REJECT",
                false,
            ),
            flow(
                "external to external IP with no endpoints",
                Origin::External,
                TEST_EXTERNAL_CLIENT,
                TEST_EXTERNAL_IP,
                80,
                "REJECT",
                false,
            ),
            flow(
                "pod to NodePort with no endpoints",
                Origin::Pod,
                "10.0.0.2",
                TEST_NODE_IP,
                3001,
                "REJECT",
                false,
            ),
            flow(
                "external to NodePort with no endpoints",
                Origin::External,
                TEST_EXTERNAL_CLIENT,
                TEST_NODE_IP,
                3001,
                "REJECT",
                false,
            ),
            flow(
                "pod to LoadBalancer IP with no endpoints",
                Origin::Pod,
                "10.0.0.2",
                "1.2.3.4",
                80,
                "REJECT",
                false,
            ),
            flow(
                "external to LoadBalancer IP with no endpoints",
                Origin::External,
                TEST_EXTERNAL_CLIENT,
                "1.2.3.4",
                80,
                "REJECT",
                false,
            ),
        ],
    );
    let verdict = send(
        &rules,
        Origin::Pod,
        "10.0.0.2",
        "172.30.0.41",
        80,
        Protocol::Tcp,
        0,
        &mut AffinityTable::default(),
        &mut rng(1),
    );
    assert_eq!(verdict, Verdict::Reject { comment: "ns1/svc1:p80 has no endpoints".to_string() });
}

#[test]
fn load_balancer_source_range_flows() {
    // TestLoadBalancer.
    let svc = ServicePortInfo {
        node_port: Some(3001),
        load_balancer_ips: vec![ip("1.2.3.4"), ip("5.6.7.8")],
        endpoints: vec![endpoint("10.180.0.1", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let extras = ServicePortExtras {
        load_balancer_source_ranges: vec!["192.168.0.0/24".to_string(), " 203.0.113.0/25".to_string()],
        ..ServicePortExtras::default()
    };
    let rules = build_with(&test_config(), &fake_features(), &[(svc, extras)]);
    let ep = "10.180.0.1:80";
    let blocked = TEST_EXTERNAL_CLIENT_BLOCKED;
    run_flows(
        &rules,
        &[
            flow("pod to cluster IP", Origin::Pod, "10.0.0.2", "172.30.0.41", 80, ep, false),
            flow(
                "external to nodePort",
                Origin::External,
                TEST_EXTERNAL_CLIENT,
                TEST_NODE_IP,
                3001,
                ep,
                true,
            ),
            flow(
                "nodePort bypasses LoadBalancerSourceRanges",
                Origin::External,
                blocked,
                TEST_NODE_IP,
                3001,
                ep,
                true,
            ),
            flow("accepted external to LB1", Origin::External, TEST_EXTERNAL_CLIENT, "1.2.3.4", 80, ep, true),
            flow("accepted external to LB2", Origin::External, TEST_EXTERNAL_CLIENT, "5.6.7.8", 80, ep, true),
            flow("blocked external to LB1", Origin::External, blocked, "1.2.3.4", 80, "DROP", false),
            flow("blocked external to LB2", Origin::External, blocked, "5.6.7.8", 80, "DROP", false),
            flow(
                "pod to LB1 (blocked by LoadBalancerSourceRanges)",
                Origin::Pod,
                "10.0.0.2",
                "1.2.3.4",
                80,
                "DROP",
                false,
            ),
            flow(
                "node to LB1 (allowed by LoadBalancerSourceRanges)",
                Origin::HostNetwork,
                TEST_NODE_IP,
                "1.2.3.4",
                80,
                ep,
                true,
            ),
            flow("same node to LB1, SNATted to LB1", Origin::HostNetwork, "1.2.3.4", "1.2.3.4", 80, ep, true),
        ],
    );
}

#[test]
fn node_port_flows() {
    // TestNodePorts, IPv4 with localhost NodePorts enabled and disabled.
    for localhost_node_ports in [true, false] {
        let svc = ServicePortInfo {
            node_port: Some(3001),
            endpoints: vec![endpoint("10.180.0.1", 80), endpoint_on("10.180.2.1", 80, TEST_NODE)],
            ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
        };
        let features = ProxierFeatures { localhost_node_ports, ..fake_features() };
        let rules = build_with(&test_config(), &features, &[(svc, ServicePortExtras::default())]);
        let both = "10.180.0.1:80, 10.180.2.1:80";
        let (localhost_output, localhost_masq) =
            if localhost_node_ports { (both, true) } else { ("", false) };
        run_flows(
            &rules,
            &[
                flow("pod to cluster IP", Origin::Pod, "10.0.0.2", "172.30.0.41", 80, both, false),
                flow(
                    "external to nodePort",
                    Origin::External,
                    TEST_EXTERNAL_CLIENT,
                    TEST_NODE_IP,
                    3001,
                    both,
                    true,
                ),
                flow("node to nodePort", Origin::HostNetwork, TEST_NODE_IP, TEST_NODE_IP, 3001, both, true),
                flow(
                    "localhost to nodePort",
                    Origin::HostNetwork,
                    "127.0.0.1",
                    "127.0.0.1",
                    3001,
                    localhost_output,
                    localhost_masq,
                ),
                flow(
                    "external to nodePort on secondary IP",
                    Origin::External,
                    TEST_EXTERNAL_CLIENT,
                    TEST_NODE_IP_ALT,
                    3001,
                    both,
                    true,
                ),
            ],
        );
        // kube-proxy writes the anti-martian rule only with localhost NodePorts.
        let firewall = chain_lines(&rules.restore_input(), "filter", "KUBE-FIREWALL");
        assert_eq!(firewall.len(), usize::from(localhost_node_ports));
    }
}

fn policy_service(external_policy_local: bool) -> RuleSet {
    let svc = ServicePortInfo {
        node_port: Some(3001),
        external_ips: vec![ip(TEST_EXTERNAL_IP)],
        load_balancer_ips: vec![ip("1.2.3.4")],
        external_policy_local,
        endpoints: vec![endpoint("10.180.0.1", 80), endpoint_on("10.180.2.1", 80, TEST_NODE)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let extras = ServicePortExtras {
        health_check_node_port: external_policy_local.then_some(30000),
        ..ServicePortExtras::default()
    };
    build_with(&test_config(), &fake_features(), &[(svc, extras)])
}

#[test]
fn external_traffic_policy_local_flows() {
    // TestExternalTrafficPolicyLocal.
    let rules = policy_service(true);
    let both = "10.180.0.1:80, 10.180.2.1:80";
    let local = "10.180.2.1:80";
    let client = TEST_EXTERNAL_CLIENT;
    run_flows(
        &rules,
        &[
            flow(
                "pod to cluster IP hits both endpoints",
                Origin::Pod,
                "10.0.0.2",
                "172.30.0.41",
                80,
                both,
                false,
            ),
            flow(
                "pod to external IP hits both endpoints",
                Origin::Pod,
                "10.0.0.2",
                TEST_EXTERNAL_IP,
                80,
                both,
                false,
            ),
            flow(
                "external to external IP hits only local endpoint",
                Origin::External,
                client,
                TEST_EXTERNAL_IP,
                80,
                local,
                false,
            ),
            flow("pod to LB IP hits both endpoints", Origin::Pod, "10.0.0.2", "1.2.3.4", 80, both, false),
            flow(
                "external to LB IP hits only local endpoint",
                Origin::External,
                client,
                "1.2.3.4",
                80,
                local,
                false,
            ),
            flow(
                "pod to NodePort hits both endpoints",
                Origin::Pod,
                "10.0.0.2",
                TEST_NODE_IP,
                3001,
                both,
                false,
            ),
            flow(
                "external to NodePort hits only local endpoint",
                Origin::External,
                client,
                TEST_NODE_IP,
                3001,
                local,
                false,
            ),
            flow(
                "node to NodePort is masqueraded and hits both",
                Origin::HostNetwork,
                TEST_NODE_IP,
                TEST_NODE_IP,
                3001,
                both,
                true,
            ),
        ],
    );
    // TestHealthCheckNodePort: the health check port is accepted, not rewritten.
    run_flows(
        &rules,
        &[flow("health check node port", Origin::External, "1.2.3.4", TEST_NODE_IP, 30000, "", false)],
    );
}

#[test]
fn external_traffic_policy_cluster_flows() {
    // TestExternalTrafficPolicyCluster.
    let rules = policy_service(false);
    let both = "10.180.0.1:80, 10.180.2.1:80";
    let client = TEST_EXTERNAL_CLIENT;
    run_flows(
        &rules,
        &[
            flow(
                "pod to cluster IP hits both endpoints, unmasqueraded",
                Origin::Pod,
                "10.0.0.2",
                "172.30.0.41",
                80,
                both,
                false,
            ),
            flow(
                "pod to external IP hits both endpoints, masqueraded",
                Origin::Pod,
                "10.0.0.2",
                TEST_EXTERNAL_IP,
                80,
                both,
                true,
            ),
            flow(
                "external to external IP, masqueraded",
                Origin::External,
                client,
                TEST_EXTERNAL_IP,
                80,
                both,
                true,
            ),
            flow(
                "pod to LB IP hits both endpoints, masqueraded",
                Origin::Pod,
                "10.0.0.2",
                "1.2.3.4",
                80,
                both,
                true,
            ),
            flow(
                "external to LB IP hits both endpoints, masqueraded",
                Origin::External,
                client,
                "1.2.3.4",
                80,
                both,
                true,
            ),
            flow(
                "pod to NodePort hits both endpoints, masqueraded",
                Origin::Pod,
                "10.0.0.2",
                TEST_NODE_IP,
                3001,
                both,
                true,
            ),
            flow(
                "external to NodePort hits both endpoints, masqueraded",
                Origin::External,
                client,
                TEST_NODE_IP,
                3001,
                both,
                true,
            ),
        ],
    );
}

#[test]
fn packets_to_other_addresses_are_not_services() {
    let rules = cluster_ip_with_endpoints(3);
    let mut affinity = AffinityTable::default();
    let verdict =
        send(&rules, Origin::Pod, "10.0.0.2", "10.0.0.3", 80, Protocol::Tcp, 0, &mut affinity, &mut rng(1));
    assert_eq!(verdict, Verdict::NotService);
    let verdict = send(
        &rules,
        Origin::Pod,
        "10.0.0.2",
        "172.30.0.41",
        81,
        Protocol::Tcp,
        0,
        &mut affinity,
        &mut rng(1),
    );
    assert_eq!(verdict, Verdict::NotService);
}

/// The endpoint chosen for each of `n` new connections from distinct clients.
fn choices(rules: &RuleSet, n: usize, seed: u64) -> Vec<String> {
    let mut generator = rng(seed);
    let mut affinity = AffinityTable::default();
    (0..n)
        .map(|i| {
            let client = Ipv4Addr::from(u32::from(ip("10.0.0.0")) + 2 + i as u32);
            let packet = Packet {
                origin: Origin::Pod,
                src: client,
                dst: ip("172.30.0.41"),
                dst_port: 80,
                protocol: Protocol::Tcp,
                dst_is_local: false,
            };
            match rules.evaluate(&packet, 0, &mut affinity, &mut generator) {
                Verdict::Dnat { ip, port, masquerade: false, .. } => format!("{ip}:{port}"),
                other => panic!("unexpected verdict {other:?}"),
            }
        })
        .collect()
}

#[test]
fn three_endpoints_share_traffic_evenly() {
    let rules = cluster_ip_with_endpoints(3);
    let picks = choices(&rules, 30_000, 42);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &picks {
        *counts.entry(p.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), 3, "{counts:?}");
    for (endpoint, count) in &counts {
        let share = *count as f64 / picks.len() as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.02, "{endpoint}: {share}");
    }
}

#[test]
fn same_seed_same_choices() {
    let rules = cluster_ip_with_endpoints(5);
    assert_eq!(choices(&rules, 500, 9), choices(&rules, 500, 9));
    assert_ne!(choices(&rules, 500, 9), choices(&rules, 500, 10));
}

#[test]
fn session_affinity_keeps_a_client_on_its_endpoint_until_the_timeout() {
    let svc = ServicePortInfo {
        session_affinity_seconds: Some(10_800),
        endpoints: vec![endpoint("10.180.0.1", 80), endpoint("10.180.0.2", 80), endpoint("10.180.0.3", 80)],
        ..service("ns1", "svc1", "p80", "172.30.0.41", 80)
    };
    let rules = build_fake(vec![svc]);
    let timeout_ms = 10_800 * 1000;
    let mut generator = rng(3);
    let mut affinity = AffinityTable::default();
    let mut first = Vec::new();
    for i in 0..30u8 {
        let client = format!("10.0.1.{}", i + 2);
        let mut at = |now_ms: u64, affinity: &mut AffinityTable| -> String {
            match send(
                &rules,
                Origin::Pod,
                &client,
                "172.30.0.41",
                80,
                Protocol::Tcp,
                now_ms,
                affinity,
                &mut generator,
            ) {
                Verdict::Dnat { endpoint_chain, .. } => endpoint_chain,
                other => panic!("unexpected verdict {other:?}"),
            }
        };
        let chosen = at(0, &mut affinity);
        // Every connection within the timeout (counted from the last one) sticks.
        for k in 1..=20 {
            assert_eq!(at(k * 60_000, &mut affinity), chosen, "client {client}");
        }
        assert_eq!(affinity.last_seen(&chosen, ip(&client)), Some(20 * 60_000));
        assert_eq!(at(20 * 60_000 + timeout_ms - 1, &mut affinity), chosen, "just inside the timeout");
        // After a full timeout without traffic the entry is reaped and the choice is random again.
        let later = at(20 * 60_000 + 2 * timeout_ms, &mut affinity);
        first.push((chosen, later));
    }
    let distinct: BTreeSet<&String> = first.iter().map(|(c, _)| c).collect();
    assert!(distinct.len() > 1, "different clients spread over the endpoints");
    assert!(first.iter().any(|(c, l)| c != l), "an expired client can move");
}
