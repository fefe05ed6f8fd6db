//! kube-proxy in iptables mode, one per node (cmd/kube-proxy, pkg/proxy/iptables/proxier.go).
//!
//! Watches Services and EndpointSlices, and after a change rebuilds the node's whole rule table
//! ([`rules::build`]) and installs it in the node's kernel ([`crate::network::Network`]), where
//! the scenario's traffic walks it. Syncs are rate limited like upstream's
//! `BoundedFrequencyRunner`: at most one per `minSyncPeriod` on average with a burst of two
//! (`burstSyncs = 2` in proxier.go), so a change made right after a sync waits for the next
//! slot — the window in which traffic still goes to endpoints that are gone.
//!
//! Simplified: kube-proxy runs as a node agent rather than as a DaemonSet pod; every sync is a
//! full rebuild (upstream's partial syncs produce the same tables); the periodic `syncPeriod`
//! resync is not modelled because it cannot change the result; IPv4 only.

pub mod rules;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use self::rules::{EndpointInfo, Protocol, ProxierConfig, ServicePortInfo};
use crate::api::Kind;
use crate::apiserver::WatchSpec;
use crate::client::Informer;
use crate::network::NodeIndependentInputs;
use crate::sim::{Component, Context, Event, Fault, SimDuration, SimTime, Timer};

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// kube-proxy's settings (KubeProxyConfiguration).
#[derive(Clone, Debug)]
pub struct KubeProxyConfig {
    pub node_name: String,
    pub node_ip: Ipv4Addr,
    /// `clusterCIDR`: traffic from outside it is masqueraded.
    pub cluster_cidr: Option<String>,
    /// `iptables.minSyncPeriod` (default 1s).
    pub min_sync_period: SimDuration,
    /// `iptables.masqueradeAll`.
    pub masquerade_all: bool,
    /// Whether the machine is on at time zero.
    pub powered_on: bool,
}

impl KubeProxyConfig {
    pub fn new(node_name: &str, node_ip: Ipv4Addr) -> Self {
        KubeProxyConfig {
            node_name: node_name.to_string(),
            node_ip,
            cluster_cidr: Some("10.244.0.0/16".into()),
            min_sync_period: SimDuration::from_secs(1),
            masquerade_all: false,
            powered_on: true,
        }
    }
}

/// Syncs allowed back to back (`burstSyncs` in proxier.go).
const BURST_SYNCS: u64 = 2;

/// The kube-proxy component of one node.
pub struct KubeProxy {
    cfg: KubeProxyConfig,
    services: Option<Informer>,
    slices: Option<Informer>,
    /// Incremented at every process start; stale timers carry an older value.
    boot: u32,
    /// A change arrived that the installed rules do not reflect yet.
    dirty: bool,
    /// A sync timer is armed.
    armed: bool,
    /// Token bucket of the sync runner as a theoretical arrival time (GCRA): a sync may run
    /// when `now ≥ tat − (burst − 1) · minSyncPeriod`.
    tat: SimTime,
    /// Number of rule tables installed (for the summary and tests).
    pub syncs: u64,
}

impl KubeProxy {
    pub fn new(cfg: KubeProxyConfig) -> Self {
        KubeProxy {
            cfg,
            services: None,
            slices: None,
            boot: 0,
            dirty: false,
            armed: false,
            tat: SimTime::ZERO,
            syncs: 0,
        }
    }

    fn start(&mut self, ctx: &mut Context<'_>) {
        self.boot += 1;
        self.armed = false;
        ctx.net.node_up(&self.cfg.node_name, self.cfg.node_ip);
        self.services = Informer::start(ctx, WatchSpec::all(Kind::Service)).ok();
        self.slices = Informer::start(ctx, WatchSpec::all(Kind::EndpointSlice)).ok();
        if self.services.is_some() && self.slices.is_some() {
            self.request_sync(ctx);
        }
    }

    /// The process started: kube-proxy records `Starting` on its Node (server.go
    /// `s.Recorder.Eventf(s.NodeRef, nil, api.EventTypeNormal, "Starting", "StartKubeProxy", "")`).
    fn announce(&mut self, ctx: &mut Context<'_>) {
        if let Ok(node) = ctx.api.get(Kind::Node, None, &self.cfg.node_name) {
            let reporter =
                crate::apiserver::Reporter { component: "kube-proxy", host: Some(&self.cfg.node_name) };
            crate::client::record_event(ctx, reporter, &node, "Normal", "Starting", String::new());
        }
    }

    fn stop(&mut self, ctx: &mut Context<'_>) {
        for inf in [self.services.take(), self.slices.take()].into_iter().flatten() {
            let mut inf = inf;
            inf.stop(ctx);
        }
        self.dirty = false;
    }

    /// `syncRunner.Run()`: sync now if the rate limiter allows, else when it will.
    fn request_sync(&mut self, ctx: &mut Context<'_>) {
        self.dirty = true;
        if self.armed {
            return;
        }
        let now = ctx.now();
        let period = self.cfg.min_sync_period;
        let allowed_at = SimTime(self.tat.as_millis().saturating_sub((BURST_SYNCS - 1) * period.as_millis()));
        if now >= allowed_at {
            self.sync(ctx);
        } else {
            self.armed = true;
            let boot = self.boot;
            ctx.after(allowed_at.since(now), Event::Timer(Timer::ProxySync { boot }));
        }
    }

    /// `syncProxyRules`: rebuild and install the node's rule table.
    fn sync(&mut self, ctx: &mut Context<'_>) {
        let (Some(services), Some(slices)) = (&self.services, &self.slices) else { return };
        let now = ctx.now();
        self.tat = self.tat.max(now) + self.cfg.min_sync_period;
        self.dirty = false;
        let ports = service_ports(services, slices);
        let cfg = ProxierConfig {
            node_name: self.cfg.node_name.clone(),
            node_ip: self.cfg.node_ip,
            cluster_cidr: self.cfg.cluster_cidr.clone(),
            masquerade_all: self.cfg.masquerade_all,
        };
        // Without node-local traffic policies the table is the same on every node: share it.
        let node_specific = ports.iter().any(|p| p.external_policy_local || p.internal_policy_local);
        let table = if node_specific {
            rules::build(&cfg, &ports)
        } else {
            let inputs = NodeIndependentInputs {
                cluster_cidr: cfg.cluster_cidr.clone(),
                masquerade_all: cfg.masquerade_all,
                services: ports,
            };
            ctx.net.shared_rules(inputs, cfg.node_ip, |i| rules::build(&cfg, &i.services))
        };
        ctx.net.install_rules(&self.cfg.node_name, Arc::new(table), now);
        self.syncs += 1;
    }

    fn running(&self) -> bool {
        self.services.is_some()
    }
}

/// What the proxier's service and endpoints change trackers hold: one entry per Service port
/// with a ClusterIP (headless and ExternalName services are not proxied), with the endpoints of
/// that port from every EndpointSlice of the Service, deduplicated by address.
pub fn service_ports(services: &Informer, slices: &Informer) -> Vec<ServicePortInfo> {
    // (namespace, service) → slices, in (namespace, name) order.
    let mut by_service: BTreeMap<(&str, &str), Vec<&EndpointSlice>> = BTreeMap::new();
    for obj in slices.iter() {
        let Some(slice) = obj.as_type::<EndpointSlice>() else { continue };
        if slice.address_type != "IPv4" {
            continue;
        }
        let Some(svc) = slice.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)) else {
            continue;
        };
        by_service.entry((obj.namespace().unwrap_or(""), svc.as_str())).or_default().push(slice);
    }
    let mut out = Vec::new();
    for obj in services.iter() {
        let Some(svc) = obj.as_type::<Service>() else { continue };
        let Some(spec) = &svc.spec else { continue };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let Some(cluster_ip) = spec.cluster_ip.as_deref().and_then(|ip| ip.parse::<Ipv4Addr>().ok()) else {
            continue; // headless ("None") or not yet allocated
        };
        let namespace = obj.namespace().unwrap_or("");
        let slices = by_service.get(&(namespace, obj.name())).map(Vec::as_slice).unwrap_or(&[]);
        let ip_list = |v: &Option<Vec<String>>| -> Vec<Ipv4Addr> {
            v.iter().flatten().filter_map(|s| s.parse().ok()).collect()
        };
        let lb_ips: Vec<Ipv4Addr> = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.as_deref()?.parse().ok())
            .collect();
        let affinity = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
            spec.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .map_or(10_800, |t| t.max(0) as u32)
        });
        for port in spec.ports.iter().flatten() {
            let Some(protocol) = Protocol::parse(port.protocol.as_deref().unwrap_or("TCP")) else { continue };
            let port_name = port.name.clone().unwrap_or_default();
            out.push(ServicePortInfo {
                namespace: namespace.to_string(),
                name: obj.name().to_string(),
                port_name: port_name.clone(),
                protocol,
                cluster_ip,
                port: u16::try_from(port.port).unwrap_or(0),
                node_port: port.node_port.and_then(|p| u16::try_from(p).ok()),
                external_ips: ip_list(&spec.external_ips),
                load_balancer_ips: lb_ips.clone(),
                session_affinity_seconds: affinity,
                external_policy_local: spec.external_traffic_policy.as_deref() == Some("Local"),
                internal_policy_local: spec.internal_traffic_policy.as_deref() == Some("Local"),
                endpoints: endpoints_for(slices, &port_name, protocol),
            });
        }
    }
    out
}

/// The endpoints of the slice port named `port_name` with `protocol`, one per address.
fn endpoints_for(slices: &[&EndpointSlice], port_name: &str, protocol: Protocol) -> Vec<EndpointInfo> {
    let mut seen = BTreeMap::new();
    for slice in slices {
        let port = slice.ports.iter().flatten().find(|p| {
            p.name.as_deref().unwrap_or("") == port_name
                && Protocol::parse(p.protocol.as_deref().unwrap_or("TCP")) == Some(protocol)
        });
        let Some(port) = port.and_then(|p| p.port).and_then(|p| u16::try_from(p).ok()) else { continue };
        for ep in &slice.endpoints {
            let Some(ip) = ep.addresses.first().and_then(|a| a.parse::<Ipv4Addr>().ok()) else { continue };
            let c = ep.conditions.as_ref();
            // Unset conditions: ready and serving default to true, terminating to false
            // (discovery/v1 EndpointConditions docs).
            let ready = c.and_then(|c| c.ready).unwrap_or(true);
            let info = EndpointInfo {
                ip,
                port,
                ready,
                serving: c.and_then(|c| c.serving).unwrap_or(ready),
                terminating: c.and_then(|c| c.terminating).unwrap_or(false),
                node_name: ep.node_name.clone(),
            };
            seen.entry((ip, port)).or_insert(info);
        }
    }
    seen.into_values().collect()
}

impl Component for KubeProxy {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start if self.cfg.powered_on => {
                self.start(ctx);
                self.announce(ctx);
            }
            Event::Fault(Fault::PowerOn) if !self.running() => {
                self.start(ctx);
                self.announce(ctx);
            }
            Event::Fault(Fault::PowerOff) => self.stop(ctx),
            Event::Fault(Fault::Heal) => {
                // Watches were cut with the network: list again and resync.
                self.stop(ctx);
                self.start(ctx);
            }
            Event::Timer(Timer::ProxySync { boot }) if boot == self.boot => {
                self.armed = false;
                if self.dirty && self.running() {
                    self.sync(ctx);
                }
            }
            Event::Watch(ev) => {
                let mut changed = false;
                for inf in [&mut self.services, &mut self.slices].into_iter().flatten() {
                    if inf.owns(&ev) {
                        inf.apply(&ev);
                        changed = true;
                    }
                }
                if changed {
                    self.request_sync(ctx);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rules::{build, EndpointInfo, Protocol, ProxierConfig, ServicePortInfo};
    use std::net::Ipv4Addr;

    fn service(local: bool) -> ServicePortInfo {
        let ep = |ip: [u8; 4], node: &str| EndpointInfo {
            ip: Ipv4Addr::from(ip),
            port: 80,
            ready: true,
            serving: true,
            terminating: false,
            node_name: Some(node.into()),
        };
        ServicePortInfo {
            namespace: "default".into(),
            name: "web".into(),
            port_name: String::new(),
            protocol: Protocol::Tcp,
            cluster_ip: Ipv4Addr::new(10, 96, 0, 20),
            port: 80,
            node_port: Some(30080),
            external_ips: vec![],
            load_balancer_ips: vec![],
            session_affinity_seconds: None,
            external_policy_local: local,
            internal_policy_local: false,
            endpoints: vec![ep([10, 244, 1, 2], "worker-1"), ep([10, 244, 2, 2], "worker-2")],
        }
    }

    fn on(node: &str, ip: [u8; 4], svc: &ServicePortInfo) -> String {
        let cfg = ProxierConfig {
            node_name: node.into(),
            node_ip: Ipv4Addr::from(ip),
            cluster_cidr: Some("10.244.0.0/16".into()),
            masquerade_all: false,
        };
        build(&cfg, std::slice::from_ref(svc)).save()
    }

    /// The premise of sharing tables between nodes: without a Local traffic policy the
    /// tables do not depend on the node; with one they do.
    #[test]
    fn tables_depend_on_the_node_only_with_local_policies() {
        let cluster = service(false);
        assert_eq!(on("worker-1", [192, 168, 0, 10], &cluster), on("worker-2", [192, 168, 0, 11], &cluster));
        let local = service(true);
        assert_ne!(on("worker-1", [192, 168, 0, 10], &local), on("worker-2", [192, 168, 0, 11], &local));
    }
}
