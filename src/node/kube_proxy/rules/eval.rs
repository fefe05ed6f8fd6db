//! Walking a packet through a node's rule table, netfilter style.
//!
//! The walk follows the hooks a connection's first packet crosses on the node: `nat` PREROUTING
//! (arriving on an interface) or `nat` OUTPUT (sent by the host itself), then `filter` INPUT,
//! FORWARD or OUTPUT depending on where the (possibly rewritten) destination is, then `nat`
//! POSTROUTING, where kube-proxy's mark turns into MASQUERADE. Only the kube-proxy and kubelet
//! rules of [`RuleSet`] exist; a built-in chain that runs off its end applies its ACCEPT
//! policy.
//!
//! Simplified: every packet evaluated is the first of a new connection (`--ctstate NEW`, plus
//! `DNAT` once its destination was rewritten); conntrack of established flows, routing and the
//! mangle/raw tables are not modelled. Random matches (`-m statistic`) draw from the caller's
//! generator and nothing else, so a walk is reproducible from its seed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand::Rng;

use super::table::{Match, Rule, RuleSet, Table, Target};
use super::Protocol;

/// Jumps deeper than this are ignored (kube-proxy's tables are at most ~6 deep).
const MAX_JUMP_DEPTH: usize = 32;

/// Where a packet comes from, relative to the node whose rules it walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A pod on this node (arrives from its veth: nat PREROUTING).
    Pod,
    /// The node itself or a hostNetwork pod (locally generated: nat OUTPUT; its source address
    /// is a node address, so `--src-type LOCAL` matches).
    HostNetwork,
    /// Another machine (arrives on the node's interface: nat PREROUTING).
    External,
}

/// The first packet of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Where it comes from.
    pub origin: Origin,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Destination port.
    pub dst_port: u16,
    /// Transport protocol.
    pub protocol: Protocol,
    /// `dst` is an address of this node (`-m addrtype --dst-type LOCAL`).
    pub dst_is_local: bool,
}

/// What the node's rules do with a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Rewritten to a service endpoint.
    Dnat {
        /// Endpoint address.
        ip: Ipv4Addr,
        /// Endpoint port.
        port: u16,
        /// The `KUBE-SEP-…` chain whose rule rewrote it.
        endpoint_chain: String,
        /// Marked for masquerade (SNAT to the node's address on the way out).
        masquerade: bool,
    },
    /// Refused with ICMP port unreachable (`-j REJECT`): the client sees "connection refused".
    Reject {
        /// The rejecting rule's comment, e.g. `ns/svc:port has no endpoints`.
        comment: String,
    },
    /// Silently dropped (`-j DROP`): the client times out.
    Drop {
        /// The dropping rule's comment, e.g. `ns/svc:port has no local endpoints`.
        comment: String,
    },
    /// No kube-proxy rule rewrote or refused it: it goes where it was addressed.
    NotService,
}

/// The kernel's `-m recent` lists of one node (`/proc/net/xt_recent/KUBE-SEP-…`): for each list,
/// when each source address was last recorded. Session affinity lives here.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct AffinityTable {
    lists: BTreeMap<String, BTreeMap<Ipv4Addr, u64>>,
}

impl AffinityTable {
    /// When `src` was last recorded in `list` (virtual milliseconds).
    pub fn last_seen(&self, list: &str, src: Ipv4Addr) -> Option<u64> {
        self.lists.get(list).and_then(|l| l.get(&src)).copied()
    }

    /// Number of (list, address) entries.
    pub fn len(&self) -> usize {
        self.lists.values().map(BTreeMap::len).sum()
    }

    /// No entries at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything (a reboot empties the kernel's lists).
    pub fn clear(&mut self) {
        self.lists.clear();
    }

    /// `--set`: record `src` in `list` now.
    fn set(&mut self, list: &str, src: Ipv4Addr, now_ms: u64) {
        match self.lists.get_mut(list) {
            Some(l) => {
                l.insert(src, now_ms);
            }
            None => {
                self.lists.insert(list.to_string(), BTreeMap::from([(src, now_ms)]));
            }
        }
    }

    /// `--rcheck --seconds S --reap`: `src` was recorded less than S seconds ago (xt_recent
    /// compares `stamp > now - S`). A stale entry is reaped.
    fn rcheck_reap(&mut self, list: &str, src: Ipv4Addr, seconds: u32, now_ms: u64) -> bool {
        let Some(l) = self.lists.get_mut(list) else { return false };
        let Some(&stamp) = l.get(&src) else { return false };
        if now_ms.saturating_sub(stamp) < u64::from(seconds) * 1000 {
            return true;
        }
        l.remove(&src);
        if l.is_empty() {
            self.lists.remove(list);
        }
        false
    }
}

/// The rule fields the kernel keeps in the fixed `ipt_entry` header rather than as `-m` matches.
fn is_header(m: &Match) -> bool {
    matches!(m, Match::Source { .. } | Match::Destination { .. } | Match::Protocol(_))
}

/// How a chain walk ended.
enum Stop {
    Accept,
    Drop(String),
    Reject(String),
    Dnat { ip: Ipv4Addr, port: u16, chain: String },
}

/// The packet's state as it crosses the hooks.
struct Walk<'a, R: Rng + ?Sized> {
    protocol: Protocol,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dst_port: u16,
    src_local: bool,
    dst_local: bool,
    dnatted: bool,
    mark: u32,
    masquerade: bool,
    now_ms: u64,
    affinity: &'a mut AffinityTable,
    rng: &'a mut R,
}

impl<R: Rng + ?Sized> Walk<'_, R> {
    /// Runs `chain` of `table`; `None` means it fell off the end (or hit RETURN).
    fn run(&mut self, table: &Table, chain: &str, depth: usize) -> Option<Stop> {
        let chain = table.chain(chain)?;
        for rule in &chain.rules {
            if !self.matches(rule) {
                continue;
            }
            let Some(target) = &rule.target else { continue };
            let comment = || rule.comment().unwrap_or_default().to_string();
            match target {
                Target::Jump(next) => {
                    if depth < MAX_JUMP_DEPTH {
                        if let Some(stop) = self.run(table, next, depth + 1) {
                            return Some(stop);
                        }
                    }
                }
                Target::Return => return None,
                Target::Accept => return Some(Stop::Accept),
                Target::Drop => return Some(Stop::Drop(comment())),
                Target::Reject => return Some(Stop::Reject(comment())),
                Target::Dnat { ip, port } => {
                    return Some(Stop::Dnat { ip: *ip, port: *port, chain: chain.name.clone() })
                }
                Target::MarkOr(v) => self.mark |= *v,
                Target::MarkXor(v) => self.mark ^= *v,
                Target::Masquerade { .. } => {
                    self.masquerade = true;
                    return Some(Stop::Accept);
                }
            }
        }
        None
    }

    /// All matches hold. Like the kernel, the address and protocol fields of the rule are
    /// checked before its `-m` matches, and the `-m` matches in order, stopping at the first
    /// that fails (so `--set` and the random draw only happen when everything before held).
    fn matches(&mut self, rule: &Rule) -> bool {
        rule.matches.iter().filter(|m| is_header(m)).all(|m| self.header_match(m))
            && rule.matches.iter().filter(|m| !is_header(m)).all(|m| self.extension_match(m))
    }

    fn header_match(&self, m: &Match) -> bool {
        match m {
            Match::Source { cidr, negated } => cidr.contains(self.src) != *negated,
            Match::Destination { cidr, negated } => cidr.contains(self.dst) != *negated,
            Match::Protocol(p) => *p == self.protocol,
            _ => true,
        }
    }

    fn extension_match(&mut self, m: &Match) -> bool {
        match m {
            Match::Comment(_) | Match::Nfacct(_) => true,
            Match::Source { .. } | Match::Destination { .. } | Match::Protocol(_) => self.header_match(m),
            Match::DestinationPort(p) => *p == self.dst_port,
            Match::AddrTypeLocal { source, negated } => {
                (if *source { self.src_local } else { self.dst_local }) != *negated
            }
            Match::Probability { value, .. } => self.rng.gen::<f64>() < *value,
            Match::RecentCheck { list, seconds } => {
                self.affinity.rcheck_reap(list, self.src, *seconds, self.now_ms)
            }
            Match::RecentSet { list } => {
                self.affinity.set(list, self.src, self.now_ms);
                true
            }
            Match::ConnState { states, negated } => {
                let dnatted = self.dnatted;
                states.split(',').any(|s| s == "NEW" || (s == "DNAT" && dnatted)) != *negated
            }
            Match::Mark { value, mask, negated } => (self.mark & *mask == *value) != *negated,
        }
    }
}

impl RuleSet {
    /// Walks the first packet of a connection through the node's tables at virtual time
    /// `now_ms`: `nat` PREROUTING (or OUTPUT for [`Origin::HostNetwork`]), then the `filter`
    /// chain for its path (FORWARD, or INPUT when the destination — after DNAT — is this node;
    /// OUTPUT and, for a local destination, INPUT for the host's own packets), then `nat`
    /// POSTROUTING. `-m recent` reads and updates `affinity`; `-m statistic --probability p`
    /// matches when `rng.gen::<f64>() < p`, and `rng` is the only source of randomness.
    pub fn evaluate<R: Rng + ?Sized>(
        &self,
        pkt: &Packet,
        now_ms: u64,
        affinity: &mut AffinityTable,
        rng: &mut R,
    ) -> Verdict {
        let host = pkt.origin == Origin::HostNetwork;
        let mut walk = Walk {
            protocol: pkt.protocol,
            src: pkt.src,
            dst: pkt.dst,
            dst_port: pkt.dst_port,
            src_local: host || pkt.src.is_loopback() || pkt.src == self.node_ip,
            dst_local: pkt.dst_is_local || pkt.dst.is_loopback(),
            dnatted: false,
            mark: 0,
            masquerade: false,
            now_ms,
            affinity,
            rng,
        };

        let nat_hook = if host { "OUTPUT" } else { "PREROUTING" };
        let dnat = match walk.run(&self.nat, nat_hook, 0) {
            Some(Stop::Dnat { ip, port, chain }) => Some((ip, port, chain)),
            _ => None,
        };
        if let Some((ip, port, _)) = &dnat {
            walk.dst = *ip;
            walk.dst_port = *port;
            walk.dnatted = true;
            walk.dst_local = ip.is_loopback() || *ip == self.node_ip;
        }

        let filter_hooks: &[&str] = match (host, walk.dst_local) {
            (true, true) => &["OUTPUT", "INPUT"],
            (true, false) => &["OUTPUT"],
            (false, true) => &["INPUT"],
            (false, false) => &["FORWARD"],
        };
        for hook in filter_hooks {
            match walk.run(&self.filter, hook, 0) {
                Some(Stop::Drop(comment)) => return Verdict::Drop { comment },
                Some(Stop::Reject(comment)) => return Verdict::Reject { comment },
                _ => {}
            }
        }

        // KUBE-POSTROUTING turns the KUBE-MARK-MASQ mark into MASQUERADE.
        let _ = walk.run(&self.nat, "POSTROUTING", 0);

        match dnat {
            Some((ip, port, endpoint_chain)) => {
                Verdict::Dnat { ip, port, endpoint_chain, masquerade: walk.masquerade }
            }
            None => Verdict::NotService,
        }
    }
}
