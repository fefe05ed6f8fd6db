//! The rule table as data: tables → ordered chains → rules made of structured matches and a
//! target, and the three ways of printing it.
//!
//! A rule keeps its matches in the order kube-proxy passes them to `iptables-restore`
//! (`-m comment --comment … -m tcp -p tcp -d 10.96.0.1 --dport 443`), which is the form
//! upstream's `proxier_test.go` expectations use. The kernel stores the same rule in a
//! canonical form, which is what a real `iptables-save` prints
//! (`-d 10.96.0.1/32 -p tcp -m comment --comment "…" -m tcp --dport 443`); both renderings are
//! produced from the same data, as is the evaluator's walk (see `eval.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::Protocol;

/// The two iptables tables kube-proxy writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableName {
    /// `*filter`: REJECT/DROP for services without (local) endpoints, forwarding rules.
    Filter,
    /// `*nat`: the service → endpoint DNAT machinery.
    Nat,
}

impl TableName {
    /// The name `iptables -t` and `iptables-save` use (`filter`, `nat`).
    pub fn as_str(self) -> &'static str {
        match self {
            TableName::Filter => "filter",
            TableName::Nat => "nat",
        }
    }
}

/// An IPv4 address or network in a `-s`/`-d` match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// The address as written (for a network, upstream writes the masked network address).
    pub addr: Ipv4Addr,
    /// Prefix length, 0–32.
    pub prefix_len: u8,
    /// kube-proxy wrote a bare address (`-d 172.30.0.41`) rather than `a.b.c.d/n`.
    pub bare: bool,
}

impl Cidr {
    /// A single address, written bare as kube-proxy writes service and endpoint IPs.
    pub fn host(addr: Ipv4Addr) -> Self {
        Cidr { addr, prefix_len: 32, bare: true }
    }

    /// Parses `a.b.c.d/n` (kept as written, like the `--cluster-cidr` string kube-proxy's
    /// local-traffic detector uses) or a bare `a.b.c.d`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        match text.split_once('/') {
            Some((addr, len)) => {
                let addr: Ipv4Addr = addr.parse().ok()?;
                let prefix_len: u8 = len.parse().ok()?;
                (prefix_len <= 32).then_some(Cidr { addr, prefix_len, bare: false })
            }
            None => text.parse().ok().map(Cidr::host),
        }
    }

    /// Parses a CIDR and masks it to its network address, as Go's `net.IPNet.String()` prints
    /// it (used for `loadBalancerSourceRanges`).
    pub fn parse_network(text: &str) -> Option<Self> {
        let cidr = Cidr::parse(text)?;
        Some(Cidr { addr: cidr.network(), prefix_len: cidr.prefix_len, bare: false })
    }

    fn mask(self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len))
        }
    }

    /// The network address (host bits cleared).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// Whether `ip` lies in this network.
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// As kube-proxy writes it.
    fn kube_proxy_form(self) -> String {
        if self.bare {
            self.addr.to_string()
        } else {
            format!("{}/{}", self.addr, self.prefix_len)
        }
    }

    /// As `iptables-save` prints it: always `network/len`.
    fn saved_form(self) -> String {
        format!("{}/{}", self.network(), self.prefix_len)
    }
}

/// One match of a rule. All matches of a rule must hold for its target to apply.
#[derive(Clone, Debug, PartialEq)]
pub enum Match {
    /// `-m comment --comment TEXT` (always matches).
    Comment(String),
    /// `-m tcp -p tcp` (kube-proxy always writes the protocol match and `-p` together).
    Protocol(Protocol),
    /// `[!] -s CIDR`.
    Source { cidr: Cidr, negated: bool },
    /// `[!] -d CIDR`.
    Destination { cidr: Cidr, negated: bool },
    /// `--dport N` (an option of the protocol match).
    DestinationPort(u16),
    /// `-m addrtype [!] --src-type LOCAL` (`source`) or `--dst-type LOCAL`.
    AddrTypeLocal { source: bool, negated: bool },
    /// `-m statistic --mode random --probability P`; `text` is P as kube-proxy prints it
    /// (ten decimals), `value` the same number parsed.
    Probability { text: String, value: f64 },
    /// `-m recent --name LIST --rcheck --seconds S --reap`: the source address was seen in LIST
    /// less than S seconds ago.
    RecentCheck { list: String, seconds: u32 },
    /// `-m recent --name LIST --set`: record the source address in LIST (always matches).
    RecentSet { list: String },
    /// `-m conntrack [!] --ctstate STATES` (comma-separated, e.g. `RELATED,ESTABLISHED`).
    ConnState { states: &'static str, negated: bool },
    /// `-m mark [!] --mark VALUE/MASK`.
    Mark { value: u32, mask: u32, negated: bool },
    /// `-m nfacct --nfacct-name NAME` (a counter; always matches).
    Nfacct(&'static str),
}

/// What a rule does when all its matches hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `-j CHAIN`: continue in a user-defined chain, coming back if it falls off the end.
    Jump(String),
    /// `-j ACCEPT`.
    Accept,
    /// `-j DROP`.
    Drop,
    /// `-j REJECT` (ICMP port unreachable; the client sees "connection refused").
    Reject,
    /// `-j RETURN`.
    Return,
    /// `-j DNAT --to-destination IP:PORT`.
    Dnat { ip: Ipv4Addr, port: u16 },
    /// `-j MARK --or-mark V` (non-terminating).
    MarkOr(u32),
    /// `-j MARK --xor-mark V` (non-terminating).
    MarkXor(u32),
    /// `-j MASQUERADE [--random-fully]`.
    Masquerade { random_fully: bool },
}

/// One `-A` rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Matches in kube-proxy's argument order.
    pub matches: Vec<Match>,
    /// `None` for a rule without `-j` (upstream's last KUBE-FW rule is such a comment-only rule).
    pub target: Option<Target>,
}

impl Rule {
    /// The rule's `--comment`, if any.
    pub fn comment(&self) -> Option<&str> {
        self.matches.iter().find_map(|m| match m {
            Match::Comment(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// The rule after `-A CHAIN`, in kube-proxy's argument order (leading space included).
    pub fn kube_proxy_args(&self) -> String {
        let mut out = String::new();
        for m in &self.matches {
            push_kube_proxy_match(&mut out, m);
        }
        if let Some(t) = &self.target {
            push_target(&mut out, t, false);
        }
        out
    }

    /// The rule after `-A CHAIN` as the kernel returns it to `iptables-save` (iptables 1.8):
    /// `-s`, `-d`, `-p` first, then the `-m` matches in order with their canonical options.
    pub fn saved_args(&self) -> String {
        let mut out = String::new();
        for m in &self.matches {
            if let Match::Source { cidr, negated } = m {
                let _ = write!(out, "{} -s {}", bang(*negated), cidr.saved_form());
            }
        }
        for m in &self.matches {
            if let Match::Destination { cidr, negated } = m {
                let _ = write!(out, "{} -d {}", bang(*negated), cidr.saved_form());
            }
        }
        for m in &self.matches {
            if let Match::Protocol(p) = m {
                let _ = write!(out, " -p {}", p.lower());
            }
        }
        let dport = self.matches.iter().find_map(|m| match m {
            Match::DestinationPort(p) => Some(*p),
            _ => None,
        });
        for m in &self.matches {
            push_saved_match(&mut out, m, dport);
        }
        if let Some(t) = &self.target {
            push_target(&mut out, t, true);
        }
        out
    }
}

fn bang(negated: bool) -> &'static str {
    if negated {
        " !"
    } else {
        ""
    }
}

/// kube-proxy quotes multi-word comments itself (`fmt.Sprintf(`"%s cluster IP"`, …)`) and
/// writes single-word ones (`ns1/svc1:p80`) bare.
fn kube_proxy_quote(text: &str) -> String {
    if text.contains(' ') {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// libxtables' `xtables_save_string`: bare only if every character is in `[_-0-9a-zA-Z]`,
/// otherwise double-quoted with `"`, `\` and `'` escaped. Includes the leading space.
fn save_string(text: &str) -> String {
    let plain = !text.is_empty() && text.bytes().all(|b| b == b'_' || b == b'-' || b.is_ascii_alphanumeric());
    if plain {
        return format!(" {text}");
    }
    let mut out = String::from(" \"");
    for ch in text.chars() {
        if matches!(ch, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// The probability the kernel stores (`lround(0x80000000 * p)` in libxt_statistic) and
/// prints back with `%.11f`: `0.3333333333` comes back as `0.33333333349`.
fn kernel_probability(p: f64) -> f64 {
    const SCALE: f64 = 2_147_483_648.0;
    (p * SCALE).round() / SCALE
}

fn push_kube_proxy_match(out: &mut String, m: &Match) {
    let _ = match m {
        Match::Comment(c) => write!(out, " -m comment --comment {}", kube_proxy_quote(c)),
        Match::Protocol(p) => write!(out, " -m {0} -p {0}", p.lower()),
        Match::Source { cidr, negated } => write!(out, "{} -s {}", bang(*negated), cidr.kube_proxy_form()),
        Match::Destination { cidr, negated } => {
            write!(out, "{} -d {}", bang(*negated), cidr.kube_proxy_form())
        }
        Match::DestinationPort(p) => write!(out, " --dport {p}"),
        Match::AddrTypeLocal { source, negated } => {
            let side = if *source { "src" } else { "dst" };
            write!(out, " -m addrtype{} --{side}-type LOCAL", bang(*negated))
        }
        Match::Probability { text, .. } => write!(out, " -m statistic --mode random --probability {text}"),
        Match::RecentCheck { list, seconds } => {
            write!(out, " -m recent --name {list} --rcheck --seconds {seconds} --reap")
        }
        Match::RecentSet { list } => write!(out, " -m recent --name {list} --set"),
        Match::ConnState { states, negated } => {
            write!(out, " -m conntrack{} --ctstate {states}", bang(*negated))
        }
        Match::Mark { value, mask, negated } => {
            write!(out, " -m mark{} --mark {value:#x}/{mask:#x}", bang(*negated))
        }
        Match::Nfacct(name) => write!(out, " -m nfacct --nfacct-name {name}"),
    };
}

/// One `-m` match as iptables-save prints it (`-s`/`-d`/`-p` were printed already).
fn push_saved_match(out: &mut String, m: &Match, dport: Option<u16>) {
    let _ = match m {
        Match::Source { .. } | Match::Destination { .. } | Match::DestinationPort(_) => Ok(()),
        Match::Comment(c) => write!(out, " -m comment --comment{}", save_string(c)),
        Match::Protocol(p) => match dport {
            Some(port) => write!(out, " -m {} --dport {port}", p.lower()),
            None => write!(out, " -m {}", p.lower()),
        },
        Match::AddrTypeLocal { source, negated } => {
            let side = if *source { "src" } else { "dst" };
            write!(out, " -m addrtype{} --{side}-type LOCAL", bang(*negated))
        }
        Match::Probability { value, .. } => {
            write!(out, " -m statistic --mode random --probability {:.11}", kernel_probability(*value))
        }
        // libxt_recent's save order: flags, --seconds, --reap, --name, --mask, side.
        Match::RecentCheck { list, seconds } => write!(
            out,
            " -m recent --rcheck --seconds {seconds} --reap --name {list} --mask 255.255.255.255 --rsource"
        ),
        Match::RecentSet { list } => {
            write!(out, " -m recent --set --name {list} --mask 255.255.255.255 --rsource")
        }
        Match::ConnState { states, negated } => {
            write!(out, " -m conntrack{} --ctstate {states}", bang(*negated))
        }
        Match::Mark { value, mask, negated } => {
            write!(out, " -m mark{} --mark {value:#x}/{mask:#x}", bang(*negated))
        }
        // libxt_nfacct prints "--nfacct-name " and then xtables_save_string adds its own space.
        Match::Nfacct(name) => write!(out, " -m nfacct --nfacct-name {}", save_string(name)),
    };
}

fn push_target(out: &mut String, t: &Target, saved: bool) {
    let _ = match t {
        Target::Jump(chain) => write!(out, " -j {chain}"),
        Target::Accept => write!(out, " -j ACCEPT"),
        Target::Drop => write!(out, " -j DROP"),
        Target::Reject if saved => write!(out, " -j REJECT --reject-with icmp-port-unreachable"),
        Target::Reject => write!(out, " -j REJECT"),
        Target::Return => write!(out, " -j RETURN"),
        Target::Dnat { ip, port } => write!(out, " -j DNAT --to-destination {ip}:{port}"),
        // The MARK target stores (value, mask); iptables-save prints both as --set-xmark.
        Target::MarkOr(v) if saved => write!(out, " -j MARK --set-xmark {v:#x}/{v:#x}"),
        Target::MarkOr(v) => write!(out, " -j MARK --or-mark {v:#x}"),
        Target::MarkXor(v) if saved => write!(out, " -j MARK --set-xmark {v:#x}/0x0"),
        Target::MarkXor(v) => write!(out, " -j MARK --xor-mark {v:#x}"),
        Target::Masquerade { random_fully } => {
            write!(out, " -j MASQUERADE{}", if *random_fully { " --random-fully" } else { "" })
        }
    };
}

/// One chain: a built-in one (with a policy) or a user-defined one.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// `KUBE-SERVICES`, `PREROUTING`, …
    pub name: String,
    /// `Some("ACCEPT")` for built-in chains; `None` for user-defined chains.
    pub policy: Option<&'static str>,
    /// Whether kube-proxy declares the chain in its `iptables-restore` input (false for the
    /// built-in chains and for chains it creates with single `iptables` calls, like
    /// `KUBE-PROXY-CANARY`).
    pub restored: bool,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

/// One table of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Which table.
    pub name: TableName,
    /// Every chain on the node in this table, built-in chains (kernel order) first.
    pub chains: Vec<Chain>,
    index: BTreeMap<String, usize>,
    /// Chains kube-proxy declares in its restore input, in the order it declares them.
    declared: Vec<usize>,
    /// (chain, rule) positions of kube-proxy's restored rules in the order it writes them.
    restore_order: Vec<(usize, usize)>,
}

impl Table {
    /// The chain called `name`.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.index.get(name).map(|&i| &self.chains[i])
    }

    /// Rules kube-proxy writes with `iptables-restore` (not counting the jump rules in built-in
    /// chains).
    pub fn restored_rule_count(&self) -> usize {
        self.restore_order.len()
    }

    /// Chains in `iptables-save` order: built-in chains in kernel order, then user-defined
    /// chains by name (libiptc keeps them sorted, so iptables-legacy lists them that way).
    fn save_order(&self) -> Vec<&Chain> {
        let mut builtin: Vec<&Chain> = self.chains.iter().filter(|c| c.policy.is_some()).collect();
        let mut user: Vec<&Chain> = self.chains.iter().filter(|c| c.policy.is_none()).collect();
        user.sort_by(|a, b| a.name.cmp(&b.name));
        builtin.extend(user);
        builtin
    }

    fn render_save(&self, out: &mut String, saved_form: bool) {
        let _ = writeln!(out, "*{}", self.name.as_str());
        let chains = self.save_order();
        for c in &chains {
            let _ = writeln!(out, ":{} {} [0:0]", c.name, c.policy.unwrap_or("-"));
        }
        for c in &chains {
            for r in &c.rules {
                let args = if saved_form { r.saved_args() } else { r.kube_proxy_args() };
                let _ = writeln!(out, "-A {}{args}", c.name);
            }
        }
        out.push_str("COMMIT\n");
    }

    fn render_restore(&self, out: &mut String) {
        let _ = writeln!(out, "*{}", self.name.as_str());
        for &ci in &self.declared {
            let _ = writeln!(out, ":{} - [0:0]", self.chains[ci].name);
        }
        for &(ci, ri) in &self.restore_order {
            let chain = &self.chains[ci];
            let _ = writeln!(out, "-A {}{}", chain.name, chain.rules[ri].kube_proxy_args());
        }
        out.push_str("COMMIT\n");
    }
}

/// A node's kube-proxy tables: what `iptables-save` shows after a sync, and what
/// [`RuleSet::evaluate`] walks.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSet {
    /// The `filter` table (shared between nodes whose tables are identical).
    pub filter: Arc<Table>,
    /// The `nat` table.
    pub nat: Arc<Table>,
    /// The node's address (a DNAT to it stays on the node).
    pub(super) node_ip: Ipv4Addr,
}

impl RuleSet {
    pub(super) fn new(filter: Table, nat: Table, node_ip: Ipv4Addr) -> Self {
        RuleSet { filter: Arc::new(filter), nat: Arc::new(nat), node_ip }
    }

    /// The same tables installed on the node with address `node_ip` (they share memory).
    pub fn on_node(&self, node_ip: Ipv4Addr) -> RuleSet {
        RuleSet { filter: self.filter.clone(), nat: self.nat.clone(), node_ip }
    }

    /// The table called `name`.
    pub fn table(&self, name: TableName) -> &Table {
        match name {
            TableName::Filter => &self.filter,
            TableName::Nat => &self.nat,
        }
    }

    /// `iptables-save` of the node's `filter` and `nat` tables (in that order, as upstream's
    /// tests print them): built-in chains with their policy and the jump rules kube-proxy
    /// (and kubelet) put in them, then kube-proxy's chains, each chain's rules together, each
    /// rule in kube-proxy's argument order. Packet counters are `[0:0]`; the
    /// `# Generated by iptables-save` header and footer lines (which carry a wall-clock date)
    /// are left out.
    pub fn save(&self) -> String {
        let mut out = String::new();
        self.filter.render_save(&mut out, false);
        self.nat.render_save(&mut out, false);
        out
    }

    /// Like [`RuleSet::save`], but each rule in the canonical form the kernel hands back to a
    /// real `iptables-save` (iptables 1.8): `-s`/`-d` with a prefix length, `-p` before the
    /// matches, `--set-xmark` for MARK, the statistic probability as stored (11 decimals),
    /// `-m recent` with its defaults spelled out, REJECT with `--reject-with`.
    pub fn save_canonical(&self) -> String {
        let mut out = String::new();
        self.filter.render_save(&mut out, true);
        self.nat.render_save(&mut out, true);
        out
    }

    /// Exactly the `iptables-restore --noflush` input kube-proxy writes at a full sync
    /// (`proxier.iptablesData`): `*filter` then `*nat`, chain lines in the order kube-proxy
    /// declares them, rules in the order it writes them. This is the text upstream's
    /// `proxier_test.go` compares (after its `sortIPTablesRules`).
    pub fn restore_input(&self) -> String {
        let mut out = String::new();
        self.filter.render_restore(&mut out);
        self.nat.render_restore(&mut out);
        out
    }

    /// Number of rules kube-proxy programs with `iptables-restore`, filter plus nat (the
    /// `sync_proxy_rules_iptables_total` metrics summed); the handful of jump rules in the
    /// built-in chains are not counted.
    pub fn rule_count(&self) -> usize {
        self.filter.restored_rule_count() + self.nat.restored_rule_count()
    }
}

/// Builds one [`Table`], recording kube-proxy's write order as it goes.
pub(super) struct TableBuilder {
    name: TableName,
    chains: Vec<Chain>,
    index: BTreeMap<String, usize>,
    declared: Vec<usize>,
    restore_order: Vec<(usize, usize)>,
}

impl TableBuilder {
    pub(super) fn new(name: TableName) -> Self {
        TableBuilder {
            name,
            chains: Vec::new(),
            index: BTreeMap::new(),
            declared: Vec::new(),
            restore_order: Vec::new(),
        }
    }

    fn add_chain(&mut self, name: &str, policy: Option<&'static str>) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.chains.len();
        self.chains.push(Chain { name: name.to_string(), policy, restored: false, rules: Vec::new() });
        self.index.insert(name.to_string(), i);
        i
    }

    /// A built-in chain with its policy.
    pub(super) fn builtin(&mut self, name: &str, policy: &'static str) {
        self.add_chain(name, Some(policy));
    }

    /// A chain that exists on the node but is not part of kube-proxy's restore input.
    pub(super) fn outside_chain(&mut self, name: &str) {
        self.add_chain(name, None);
    }

    /// `:NAME - [0:0]` in kube-proxy's restore input. (kube-proxy writes chain lines and rules
    /// to separate buffers and restores the chain lines first, so a rule may be appended
    /// before its chain is declared.)
    pub(super) fn declare(&mut self, name: &str) {
        let i = self.add_chain(name, None);
        if !self.chains[i].restored {
            self.chains[i].restored = true;
            self.declared.push(i);
        }
    }

    /// `iptables -I CHAIN 1 …` (`EnsureRule(Prepend, …)`): insert at the top, outside the
    /// restore input.
    pub(super) fn prepend(&mut self, chain: &str, rule: Rule) {
        let i = self.add_chain(chain, None);
        self.chains[i].rules.insert(0, rule);
        for (c, r) in &mut self.restore_order {
            if *c == i {
                *r += 1;
            }
        }
    }

    /// `-A CHAIN …` in kube-proxy's restore input.
    pub(super) fn append(&mut self, chain: &str, rule: Rule) {
        let i = self.add_chain(chain, None);
        self.chains[i].rules.push(rule);
        self.restore_order.push((i, self.chains[i].rules.len() - 1));
    }

    pub(super) fn finish(self) -> Table {
        debug_assert!(
            self.restore_order.iter().all(|&(c, _)| self.chains[c].restored),
            "kube-proxy wrote rules for a chain it did not declare"
        );
        Table {
            name: self.name,
            chains: self.chains,
            index: self.index,
            declared: self.declared,
            restore_order: self.restore_order,
        }
    }
}
