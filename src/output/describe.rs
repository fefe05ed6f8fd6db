//! `kubectl describe`: the long, human form of one object with its Events, laid out as kubectl's
//! describers write it (k8s.io/kubectl/pkg/describe/describe.go): `Field:\tvalue` lines through
//! Go's tabwriter (minwidth 0, padding 2), nested levels indented by two spaces, Events last.
//!
//! Pods, Nodes, Deployments, ReplicaSets and Services have their own layouts; other kinds get
//! kubectl's generic form (name, namespace, labels, annotations, events). Fields kubesim does not
//! model (volumes, service-account tokens, container IDs of a real runtime) are left out or
//! shown as `<none>`, as kubectl shows them when absent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Event, Node, Pod, PodTemplateSpec, Probe, Service, Taint,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::intstr;
use crate::api::pod as podutil;
use crate::api::quantity;
use crate::api::time::Epoch;
use crate::api::{Kind, Object};
use crate::apiserver::ApiServer;
use crate::output::tables::{format_labels, human_duration};
use crate::sim::SimTime;

/// kubectl's PrefixWriter levels.
const L1: &str = "  ";
const L2: &str = "    ";
const L3: &str = "      ";

/// Lines with `\t` cell separators, aligned like Go's tabwriter when rendered. A `flush` ends a
/// column block (kubectl flushes before the Events table).
#[derive(Default)]
struct Tabbed {
    blocks: Vec<String>,
    current: String,
}

impl Tabbed {
    fn line(&mut self, text: impl AsRef<str>) {
        self.current.push_str(text.as_ref());
        self.current.push('\n');
    }
    fn flush(&mut self) {
        self.blocks.push(std::mem::take(&mut self.current));
    }
    fn render(mut self) -> String {
        self.flush();
        let mut out = String::new();
        for b in self.blocks {
            let mut tw = tabwriter::TabWriter::new(Vec::new()).minwidth(0).padding(2);
            let _ = tw.write_all(b.as_bytes());
            let bytes = tw.into_inner().unwrap_or_default();
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        out
    }
}

/// What describing needs besides the object.
struct Cx<'a> {
    api: &'a ApiServer,
    epoch: Epoch,
    now: SimTime,
}

/// `time.RFC1123Z`: `Wed, 01 Jan 2025 00:00:30 +0000`.
fn rfc1123z(t: &k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

impl Cx<'_> {
    /// `time.RFC1123Z` of an API timestamp.
    fn stamp(&self, t: &Time) -> String {
        rfc1123z(&t.0)
    }
    /// `translateTimestampSince`.
    fn since(&self, t: Option<&Time>) -> String {
        let Some(t) = t else {
            return "<unknown>".into();
        };
        let then = self.epoch.sim_time(&t.0);
        // duration.HumanDuration: more than a second in the future is "<invalid>" (a pod in its
        // grace period shows "Terminating (lasts <invalid>)").
        if then.as_millis() > self.now.as_millis() + 1000 {
            return "<invalid>".into();
        }
        human_duration(self.now.since(then))
    }
    /// A condition or state time; Go prints a zero time as year 1.
    fn stamp_or_zero(&self, t: Option<&Time>) -> String {
        t.map(|t| self.stamp(t)).unwrap_or_else(|| "Mon, 01 Jan 0001 00:00:00 +0000".into())
    }
}

/// `kubectl describe` of `obj` as the cluster is at `now`.
pub fn describe(api: &ApiServer, obj: &Object, now: SimTime) -> String {
    let cx = Cx { api, epoch: api.epoch(), now };
    let mut w = Tabbed::default();
    match obj {
        Object::Pod(p) => pod(&cx, &mut w, p),
        Object::Node(n) => node(&cx, &mut w, n),
        Object::Deployment(d) => deployment(&cx, &mut w, d),
        Object::ReplicaSet(rs) => replica_set(&cx, &mut w, rs),
        Object::Service(s) => service(&cx, &mut w, s),
        Object::PodDisruptionBudget(p) => pod_disruption_budget(&mut w, p),
        Object::DaemonSet(d) => daemon_set(&cx, &mut w, d),
        Object::Job(j) => job(&cx, &mut w, j),
        Object::CronJob(c) => cron_job(&cx, &mut w, c),
        Object::Namespace(ns) => namespace(&mut w, ns),
        other => generic(&cx, &mut w, other),
    }
    // describeNamespace shows quotas and limit ranges instead of events.
    if obj.kind() != Kind::Namespace {
        events(&cx, &mut w, obj);
    }
    w.render()
}

fn labels_multiline(w: &mut Tabbed, indent: &str, title: &str, labels: Option<&BTreeMap<String, String>>) {
    match labels.filter(|l| !l.is_empty()) {
        None => w.line(format!("{indent}{title}:\t<none>")),
        Some(l) => {
            for (i, (k, v)) in l.iter().enumerate() {
                if i == 0 {
                    w.line(format!("{indent}{title}:\t{k}={v}"));
                } else {
                    w.line(format!("\t{k}={v}"));
                }
            }
        }
    }
}

/// `printAnnotationsMultiline`: `key: value`, without kubectl's last-applied-configuration.
fn annotations_multiline(w: &mut Tabbed, indent: &str, annotations: Option<&BTreeMap<String, String>>) {
    let shown: Vec<(&String, &String)> = annotations
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration")
        .collect();
    if shown.is_empty() {
        w.line(format!("{indent}Annotations:\t<none>"));
        return;
    }
    const MAX_ANNOTATION_LEN: usize = 140;
    for (i, (k, v)) in shown.iter().enumerate() {
        let lead = if i == 0 { format!("{indent}Annotations:") } else { String::new() };
        let value = v.strip_suffix('\n').unwrap_or(v);
        if value.len() + k.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.line(format!("{lead}\t{k}:"));
            for part in value.split('\n') {
                let mut cut = part.to_string();
                if cut.len() > MAX_ANNOTATION_LEN - 2 {
                    let mut end = MAX_ANNOTATION_LEN - 2;
                    while !cut.is_char_boundary(end) {
                        end -= 1;
                    }
                    cut = format!("{}...", &cut[..end]);
                }
                w.line(format!("\t  {cut}"));
            }
        } else {
            w.line(format!("{lead}\t{k}: {value}"));
        }
    }
}

fn toleration_text(t: &Toleration) -> String {
    let mut s = t.key.clone().unwrap_or_default();
    if let Some(v) = t.value.as_deref().filter(|v| !v.is_empty()) {
        let _ = write!(s, "={v}");
    }
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        let _ = write!(s, ":{e}");
    }
    // Only Exists without a value is shown (the Equal operator never is).
    if t.operator.as_deref() == Some("Exists") && t.value.as_deref().is_none_or(str::is_empty) {
        s.push_str(if s.is_empty() { "op=Exists" } else { " op=Exists" });
    }
    if let Some(secs) = t.toleration_seconds {
        let _ = write!(s, " for {secs}s");
    }
    s
}

fn tolerations_multiline(w: &mut Tabbed, indent: &str, tolerations: &[Toleration]) {
    if tolerations.is_empty() {
        w.line(format!("{indent}Tolerations:\t<none>"));
        return;
    }
    let mut sorted = tolerations.to_vec();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for (i, t) in sorted.iter().enumerate() {
        let lead = if i == 0 { format!("{indent}Tolerations:") } else { String::new() };
        w.line(format!("{lead}\t{}", toleration_text(t)));
    }
}

fn taint_text(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

fn ports_text(c: &Container, host: bool) -> String {
    c.ports
        .iter()
        .flatten()
        .map(|p| {
            let number = if host { p.host_port.unwrap_or(0) } else { p.container_port };
            format!("{number}/{}", p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `metav1.FormatLabelSelector`: `app=web,tier in (a,b)`, `<none>` when empty.
fn selector_text(sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector) -> String {
    match crate::api::LabelSelector::from_k8s(sel) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s.to_string(),
        Err(_) => "<error>".into(),
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s
    }
}

/// `DescribeProbe`.
fn probe_text(p: &Probe) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    );
    let port = intstr::text;
    if let Some(e) = &p.exec {
        return format!("exec [{}] {attrs}", e.command.clone().unwrap_or_default().join(" "));
    }
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_lowercase();
        let host = h.host.clone().unwrap_or_default();
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        let path = h.path.clone().unwrap_or_default();
        let path = if !path.is_empty() && !path.starts_with('/') { format!("/{path}") } else { path };
        return format!("http-get {scheme}://{host}:{}{path} {attrs}", port(&h.port));
    }
    if let Some(t) = &p.tcp_socket {
        return format!("tcp-socket {}:{} {attrs}", t.host.clone().unwrap_or_default(), port(&t.port));
    }
    if let Some(g) = &p.grpc {
        return format!("grpc <pod>:{} {} {attrs}", g.port, g.service.clone().unwrap_or_default());
    }
    format!("unknown {attrs}")
}

fn state_lines(cx: &Cx<'_>, w: &mut Tabbed, title: &str, state: Option<&ContainerState>) {
    let state = state.cloned().unwrap_or_default();
    if let Some(r) = &state.running {
        w.line(format!("{L2}{title}:\tRunning"));
        w.line(format!("{L3}Started:\t{}", cx.stamp_or_zero(r.started_at.as_ref())));
    } else if let Some(t) = &state.terminated {
        w.line(format!("{L2}{title}:\tTerminated"));
        if let Some(r) = t.reason.as_deref().filter(|r| !r.is_empty()) {
            w.line(format!("{L3}Reason:\t{r}"));
        }
        if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
            w.line(format!("{L3}Message:\t{m}"));
        }
        w.line(format!("{L3}Exit Code:\t{}", t.exit_code));
        if let Some(sig) = t.signal.filter(|s| *s > 0) {
            w.line(format!("{L3}Signal:\t{sig}"));
        }
        w.line(format!("{L3}Started:\t{}", cx.stamp_or_zero(t.started_at.as_ref())));
        w.line(format!("{L3}Finished:\t{}", cx.stamp_or_zero(t.finished_at.as_ref())));
    } else {
        w.line(format!("{L2}{title}:\tWaiting"));
        if let Some(r) = state.waiting.as_ref().and_then(|wt| wt.reason.as_deref()).filter(|r| !r.is_empty())
        {
            w.line(format!("{L3}Reason:\t{r}"));
        }
    }
}

fn resources(w: &mut Tabbed, indent: &str, c: &Container) {
    let Some(r) = &c.resources else { return };
    for (title, list) in [("Limits", &r.limits), ("Requests", &r.requests)] {
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            w.line(format!("{indent}{title}:"));
            for (name, q) in list {
                w.line(format!("{indent}  {name}:\t{}", q.0));
            }
        }
    }
}

/// `describeContainers`: `space` is kubectl's extra indent inside a pod template (" ").
fn containers(
    cx: &Cx<'_>,
    w: &mut Tabbed,
    title: &str,
    list: &[Container],
    statuses: &[ContainerStatus],
    space: &str,
    pod: Option<&Pod>,
) {
    w.line(format!("{space}{title}:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in list {
        let status = statuses.iter().find(|s| s.name == c.name);
        w.line(format!("{L1}{name_indent}{}:", c.name));
        if let Some(s) = status {
            w.line(format!("{L2}Container ID:\t{}", s.container_id.clone().unwrap_or_default()));
        }
        w.line(format!("{L2}Image:\t{}", c.image.clone().unwrap_or_default()));
        if let Some(s) = status {
            w.line(format!("{L2}Image ID:\t{}", s.image_id));
        }
        let ports = ports_text(c, false);
        if ports.contains(',') {
            w.line(format!("{L2}Ports:\t{ports}"));
        } else {
            w.line(format!("{L2}Port:\t{}", or_none(ports)));
        }
        let host = ports_text(c, true);
        if host.contains(',') {
            w.line(format!("{L2}Host Ports:\t{host}"));
        } else {
            w.line(format!("{L2}Host Port:\t{}", or_none(host)));
        }
        for (label, words) in [("Command", &c.command), ("Args", &c.args)] {
            if let Some(words) = words.as_ref().filter(|x| !x.is_empty()) {
                w.line(format!("{L2}{label}:"));
                for word in words {
                    for part in word.split('\n') {
                        w.line(format!("{L3}{part}"));
                    }
                }
            }
        }
        if let Some(s) = status {
            state_lines(cx, w, "State", s.state.as_ref());
            if s.last_state.as_ref().is_some_and(|l| l.terminated.is_some()) {
                state_lines(cx, w, "Last State", s.last_state.as_ref());
            }
            w.line(format!("{L2}Ready:\t{}", if s.ready { "True" } else { "False" }));
            w.line(format!("{L2}Restart Count:\t{}", s.restart_count));
        }
        resources(w, L2, c);
        for (label, p) in [
            ("Liveness", &c.liveness_probe),
            ("Readiness", &c.readiness_probe),
            ("Startup", &c.startup_probe),
        ] {
            if let Some(p) = p {
                w.line(format!("{L2}{label}:\t{}", probe_text(p)));
            }
        }
        match c.env.as_ref().filter(|e| !e.is_empty()) {
            None => w.line(format!("{L2}Environment:\t<none>")),
            Some(env) => {
                w.line(format!("{L2}Environment:"));
                for e in env {
                    let Some(from) = &e.value_from else {
                        for (i, line) in e.value.clone().unwrap_or_default().split('\n').enumerate() {
                            if i == 0 {
                                w.line(format!("{L3}{}:\t{line}", e.name));
                            } else {
                                w.line(format!("{L3}\t{line}"));
                            }
                        }
                        continue;
                    };
                    if let Some(f) = &from.field_ref {
                        // EnvValueRetriever resolves metadata.name and metadata.namespace only.
                        let meta = pod.map(|p| &p.metadata);
                        let value = match f.field_path.as_str() {
                            "metadata.name" => meta.and_then(|m| m.name.clone()).unwrap_or_default(),
                            "metadata.namespace" => {
                                meta.and_then(|m| m.namespace.clone()).unwrap_or_default()
                            }
                            _ => String::new(),
                        };
                        let version = f.api_version.as_deref().unwrap_or("v1");
                        w.line(format!("{L3}{}:\t{value} ({version}:{})", e.name, f.field_path));
                    } else if let Some(r) = &from.resource_field_ref {
                        w.line(format!("{L3}{}:\t ({})", e.name, r.resource));
                    } else if let Some(k) = &from.secret_key_ref {
                        w.line(format!(
                            "{L3}{}:\t<set to the key '{}' in secret '{}'>\tOptional: {}",
                            e.name,
                            k.key,
                            k.name,
                            k.optional.unwrap_or(false)
                        ));
                    } else if let Some(k) = &from.config_map_key_ref {
                        w.line(format!(
                            "{L3}{}:\t<set to the key '{}' of config map '{}'>\tOptional: {}",
                            e.name,
                            k.key,
                            k.name,
                            k.optional.unwrap_or(false)
                        ));
                    }
                }
            }
        }
        match c.volume_mounts.as_ref().filter(|m| !m.is_empty()) {
            None => w.line(format!("{L2}Mounts:\t<none>")),
            Some(mounts) => {
                w.line(format!("{L2}Mounts:"));
                let mut sorted = mounts.clone();
                sorted.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
                for m in &sorted {
                    let mut flags =
                        vec![if m.read_only == Some(true) { "ro".to_string() } else { "rw".to_string() }];
                    if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                        flags.push(format!("path={sub:?}"));
                    }
                    w.line(format!("{L3}{} from {} ({})", m.mount_path, m.name, flags.join(",")));
                }
            }
        }
    }
}

fn pod(cx: &Cx<'_>, w: &mut Tabbed, p: &Pod) {
    let meta = &p.metadata;
    let spec = p.spec.clone().unwrap_or_default();
    let status = p.status.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    if let Some(prio) = spec.priority {
        w.line(format!("Priority:\t{prio}"));
    }
    if let Some(pc) = spec.priority_class_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("Priority Class Name:\t{pc}"));
    }
    if let Some(sa) = spec.service_account_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("Service Account:\t{sa}"));
    }
    match spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        None => w.line("Node:\t<none>"),
        Some(n) => w.line(format!("Node:\t{n}/{}", status.host_ip.clone().unwrap_or_default())),
    }
    if let Some(t) = &status.start_time {
        w.line(format!("Start Time:\t{}", cx.stamp(t)));
    }
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    let phase = status.phase.clone().unwrap_or_default();
    match &meta.deletion_timestamp {
        Some(ts) if phase != "Failed" && phase != "Succeeded" => {
            w.line(format!("Status:\tTerminating (lasts {})", cx.since(Some(ts))));
            w.line(format!(
                "Termination Grace Period:\t{}s",
                meta.deletion_grace_period_seconds.unwrap_or(0)
            ));
        }
        _ => w.line(format!("Status:\t{phase}")),
    }
    if let Some(r) = status.reason.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("Reason:\t{r}"));
    }
    if let Some(m) = status.message.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("Message:\t{m}"));
    }
    w.line(format!("IP:\t{}", status.pod_ip.clone().unwrap_or_default()));
    match status.pod_ips.as_ref().filter(|ips| !ips.is_empty()) {
        None => w.line("IPs:\t<none>"),
        Some(ips) => {
            w.line("IPs:");
            for ip in ips {
                w.line(format!("{L1}IP:\t{}", ip.ip));
            }
        }
    }
    if let Some(c) = podutil::controller_of(meta) {
        w.line(format!("Controlled By:\t{}/{}", c.kind, c.name));
    }
    if let Some(n) = status.nominated_node_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("NominatedNodeName:\t{n}"));
    }
    if let Some(init) = spec.init_containers.as_ref().filter(|i| !i.is_empty()) {
        containers(
            cx,
            w,
            "Init Containers",
            init,
            status.init_container_statuses.as_deref().unwrap_or(&[]),
            "",
            Some(p),
        );
    }
    containers(
        cx,
        w,
        "Containers",
        &spec.containers,
        status.container_statuses.as_deref().unwrap_or(&[]),
        "",
        Some(p),
    );
    if let Some(conds) = status.conditions.as_ref().filter(|c| !c.is_empty()) {
        w.line("Conditions:");
        w.line(format!("{L1}Type\tStatus"));
        for c in conds {
            w.line(format!("{L1}{} \t{} ", c.type_, c.status));
        }
    }
    volumes(w, "", spec.volumes.as_deref().unwrap_or(&[]));
    w.line(format!("QoS Class:\t{}", crate::apiserver::server::qos_class(p)));
    labels_multiline(w, "", "Node-Selectors", spec.node_selector.as_ref());
    tolerations_multiline(w, "", spec.tolerations.as_deref().unwrap_or(&[]));
    topology_spread(w, "", spec.topology_spread_constraints.as_deref().unwrap_or(&[]));
}

/// `describeTopologySpreadConstraints`: sorted by topology key.
fn topology_spread(
    w: &mut Tabbed,
    space: &str,
    constraints: &[k8s_openapi::api::core::v1::TopologySpreadConstraint],
) {
    let mut sorted = constraints.to_vec();
    sorted.sort_by(|a, b| a.topology_key.cmp(&b.topology_key));
    for (i, t) in sorted.iter().enumerate() {
        let lead = if i == 0 { format!("{space}Topology Spread Constraints:") } else { space.to_string() };
        let selector = t
            .label_selector
            .as_ref()
            .map(|s| format!(" for selector {}", selector_text(s)))
            .unwrap_or_default();
        w.line(format!(
            "{lead}\t{}:{} when max skew {} is exceeded{selector}",
            t.topology_key, t.when_unsatisfiable, t.max_skew
        ));
    }
}

/// `describeVolumes` for the volume types kubesim's scenarios use.
fn volumes(w: &mut Tabbed, space: &str, volumes: &[k8s_openapi::api::core::v1::Volume]) {
    if volumes.is_empty() {
        w.line(format!("{space}Volumes:\t<none>"));
        return;
    }
    w.line(format!("{space}Volumes:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in volumes {
        w.line(format!("{L1}{name_indent}{}:", v.name));
        if let Some(h) = &v.host_path {
            w.line(format!("{L2}Type:\tHostPath (bare host directory volume)"));
            w.line(format!("{L2}Path:\t{}", h.path));
            w.line(format!("{L2}HostPathType:\t{}", h.type_.clone().unwrap_or_else(|| "<none>".into())));
        } else if let Some(e) = &v.empty_dir {
            w.line(format!("{L2}Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)"));
            w.line(format!("{L2}Medium:\t{}", e.medium.clone().unwrap_or_default()));
            let limit = e
                .size_limit
                .as_ref()
                .map(|q| q.0.clone())
                .filter(|q| q != "0")
                .unwrap_or_else(|| "<unset>".into());
            w.line(format!("{L2}SizeLimit:\t{limit}"));
        } else if let Some(sec) = &v.secret {
            w.line(format!("{L2}Type:\tSecret (a volume populated by a Secret)"));
            w.line(format!("{L2}SecretName:\t{}", sec.secret_name.clone().unwrap_or_default()));
            w.line(format!("{L2}Optional:\t{}", sec.optional.unwrap_or(false)));
        } else if let Some(cm) = &v.config_map {
            w.line(format!("{L2}Type:\tConfigMap (a volume populated by a ConfigMap)"));
            w.line(format!("{L2}Name:\t{}", cm.name));
            w.line(format!("{L2}Optional:\t{}", cm.optional.unwrap_or(false)));
        } else if let Some(pvc) = &v.persistent_volume_claim {
            w.line(format!("{L2}Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)"));
            w.line(format!("{L2}ClaimName:\t{}", pvc.claim_name));
            w.line(format!("{L2}ReadOnly:\t{}", pvc.read_only.unwrap_or(false)));
        } else if let Some(p) = &v.projected {
            w.line(format!(
                "{L2}Type:\tProjected (a volume that contains injected data from multiple sources)"
            ));
            for source in p.sources.iter().flatten() {
                if let Some(sec) = &source.secret {
                    w.line(format!("{L2}SecretName:\t{}", sec.name));
                    w.line(format!("{L2}Optional:\t{}", sec.optional.unwrap_or(false)));
                } else if source.downward_api.is_some() {
                    w.line(format!("{L2}DownwardAPI:\ttrue"));
                } else if let Some(cm) = &source.config_map {
                    w.line(format!("{L2}ConfigMapName:\t{}", cm.name));
                    w.line(format!("{L2}Optional:\t{}", cm.optional.unwrap_or(false)));
                } else if let Some(t) = &source.service_account_token {
                    w.line(format!("{L2}TokenExpirationSeconds:\t{}", t.expiration_seconds.unwrap_or(3600)));
                }
            }
        } else {
            w.line(format!("{L1}<unknown>"));
        }
    }
}

/// `DescribePodTemplate` (inside Deployments and ReplicaSets).
fn pod_template(cx: &Cx<'_>, w: &mut Tabbed, template: Option<&PodTemplateSpec>) {
    w.line("Pod Template:");
    let Some(t) = template else {
        w.line(format!("{L1}<unset>"));
        return;
    };
    let meta = t.metadata.clone().unwrap_or_default();
    labels_multiline(w, L1, "Labels", meta.labels.as_ref());
    if meta.annotations.as_ref().is_some_and(|a| !a.is_empty()) {
        annotations_multiline(w, L1, meta.annotations.as_ref());
    }
    let spec = t.spec.clone().unwrap_or_default();
    if let Some(sa) = spec.service_account_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("{L1}Service Account:\t{sa}"));
    }
    if let Some(init) = spec.init_containers.as_ref().filter(|i| !i.is_empty()) {
        containers(cx, w, "Init Containers", init, &[], L1, None);
    }
    containers(cx, w, "Containers", &spec.containers, &[], L1, None);
    volumes(w, L1, spec.volumes.as_deref().unwrap_or(&[]));
    topology_spread(w, L1, spec.topology_spread_constraints.as_deref().unwrap_or(&[]));
    if let Some(pc) = spec.priority_class_name.as_deref().filter(|s| !s.is_empty()) {
        w.line(format!("{L1}Priority Class Name:\t{pc}"));
    }
    labels_multiline(w, L1, "Node-Selectors", spec.node_selector.as_ref());
    tolerations_multiline(w, L1, spec.tolerations.as_deref().unwrap_or(&[]));
}

fn node(cx: &Cx<'_>, w: &mut Tabbed, n: &Node) {
    let meta = &n.metadata;
    let spec = n.spec.clone().unwrap_or_default();
    let status = n.status.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    w.line(format!("Name:\t{name}"));
    let roles: Vec<&str> = meta
        .labels
        .iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .collect();
    w.line(format!("Roles:\t{}", if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }));
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    if let Some(t) = &meta.creation_timestamp {
        w.line(format!("CreationTimestamp:\t{}", cx.stamp(t)));
    }
    let mut taints = spec.taints.clone().unwrap_or_default();
    taints.sort_by(|a, b| format!("{},{}", a.effect, a.key).cmp(&format!("{},{}", b.effect, b.key)));
    if taints.is_empty() {
        w.line("Taints:\t<none>");
    }
    for (i, t) in taints.iter().enumerate() {
        let lead = if i == 0 { "Taints:" } else { "" };
        w.line(format!("{lead}\t{}", taint_text(t)));
    }
    w.line(format!("Unschedulable:\t{}", spec.unschedulable.unwrap_or(false)));
    if let Ok(lease) =
        cx.api.get_as::<k8s_openapi::api::coordination::v1::Lease>(Some("kube-node-lease"), &name)
    {
        let ls = lease.spec.unwrap_or_default();
        w.line("Lease:");
        w.line(format!("{L1}HolderIdentity:\t{}", ls.holder_identity.unwrap_or_else(|| "<unset>".into())));
        w.line(format!(
            "{L1}AcquireTime:\t{}",
            ls.acquire_time.map(|t| rfc1123z(&t.0)).unwrap_or_else(|| "<unset>".into())
        ));
        w.line(format!(
            "{L1}RenewTime:\t{}",
            ls.renew_time.map(|t| rfc1123z(&t.0)).unwrap_or_else(|| "<unset>".into())
        ));
    }
    if let Some(conds) = status.conditions.as_ref().filter(|c| !c.is_empty()) {
        w.line("Conditions:");
        w.line(format!("{L1}Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage"));
        w.line(format!("{L1}----\t------\t-----------------\t------------------\t------\t-------"));
        for c in conds {
            let t = |x: &Option<Time>| cx.stamp_or_zero(x.as_ref());
            w.line(format!(
                "{L1}{} \t{} \t{} \t{} \t{} \t{}",
                c.type_,
                c.status,
                t(&c.last_heartbeat_time),
                t(&c.last_transition_time),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default()
            ));
        }
    }
    w.line("Addresses:");
    for a in status.addresses.iter().flatten() {
        w.line(format!("{L1}{}:\t{}", a.type_, a.address));
    }
    for (title, list) in [("Capacity", &status.capacity), ("Allocatable", &status.allocatable)] {
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            w.line(format!("{title}:"));
            for (k, q) in list {
                w.line(format!("{L1}{k}:\t{}", q.0));
            }
        }
    }
    if let Some(info) = &status.node_info {
        w.line("System Info:");
        for (k, v) in [
            ("Machine ID", &info.machine_id),
            ("System UUID", &info.system_uuid),
            ("Boot ID", &info.boot_id),
            ("Kernel Version", &info.kernel_version),
            ("OS Image", &info.os_image),
            ("Operating System", &info.operating_system),
            ("Architecture", &info.architecture),
            ("Container Runtime Version", &info.container_runtime_version),
            ("Kubelet Version", &info.kubelet_version),
            ("Kube-Proxy Version", &info.kube_proxy_version),
        ] {
            w.line(format!("{L1}{k}:\t{v}"));
        }
    }
    if let Some(cidr) = spec.pod_cidr.as_deref().filter(|c| !c.is_empty()) {
        w.line(format!("PodCIDR:\t{cidr}"));
    }
    if let Some(cidrs) = spec.pod_cidrs.as_ref().filter(|c| !c.is_empty()) {
        w.line(format!("PodCIDRs:\t{}", cidrs.join(",")));
    }
    if let Some(id) = spec.provider_id.as_deref().filter(|c| !c.is_empty()) {
        w.line(format!("ProviderID:\t{id}"));
    }
    // Pods on the node that are not terminated (describeNodeResource).
    let pods: Vec<Pod> = cx
        .api
        .list_all(Kind::Pod)
        .iter()
        .filter_map(|o| o.as_type::<Pod>())
        .filter(|p| podutil::node_name(p) == Some(name.as_str()) && !podutil::is_terminal(p))
        .cloned()
        .collect();
    let allocatable = podutil::node_allocatable(n);
    // kubectl: int64(float64(used) / float64(allocatable) * 100), truncated.
    let pct = |used: i64, total: i64| -> String {
        if total == 0 {
            "0%".to_string()
        } else {
            format!("{}%", (used as f64 / total as f64 * 100.0) as i64)
        }
    };
    let cells = |r: &podutil::Resources, l: &podutil::Resources| -> [String; 4] {
        [
            format!("{} ({})", quantity::format_milli(r.milli_cpu), pct(r.milli_cpu, allocatable.milli_cpu)),
            format!("{} ({})", quantity::format_milli(l.milli_cpu), pct(l.milli_cpu, allocatable.milli_cpu)),
            format!("{} ({})", quantity::format_bytes(r.memory), pct(r.memory, allocatable.memory)),
            format!("{} ({})", quantity::format_bytes(l.memory), pct(l.memory, allocatable.memory)),
        ]
    };
    w.line(format!("Non-terminated Pods:\t({} in total)", pods.len()));
    w.line(format!("{L1}Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge"));
    w.line(format!("{L1}---------\t----\t\t------------\t----------\t---------------\t-------------\t---"));
    let mut total_requests = podutil::Resources::default();
    let mut total_limits = podutil::Resources::default();
    for p in &pods {
        let (req, lim) = (podutil::pod_requests(p), pod_limits(p));
        total_requests.add(&req);
        total_limits.add(&lim);
        w.line(format!(
            "{L1}{}\t{}\t\t{}\t{}",
            p.metadata.namespace.clone().unwrap_or_default(),
            p.metadata.name.clone().unwrap_or_default(),
            cells(&req, &lim).join("\t"),
            cx.since(p.metadata.creation_timestamp.as_ref())
        ));
    }
    w.line("Allocated resources:");
    w.line(format!("{L1}(Total limits may be over 100 percent, i.e., overcommitted.)"));
    w.line(format!("{L1}Resource\tRequests\tLimits"));
    w.line(format!("{L1}--------\t--------\t------"));
    let [cpu_req, cpu_lim, mem_req, mem_lim] = cells(&total_requests, &total_limits);
    w.line(format!("{L1}cpu\t{cpu_req}\t{cpu_lim}"));
    w.line(format!("{L1}memory\t{mem_req}\t{mem_lim}"));
    w.line(format!(
        "{L1}ephemeral-storage\t{} ({})\t{} ({})",
        quantity::format_bytes(total_requests.ephemeral_storage),
        pct(total_requests.ephemeral_storage, allocatable.ephemeral_storage),
        quantity::format_bytes(total_limits.ephemeral_storage),
        pct(total_limits.ephemeral_storage, allocatable.ephemeral_storage)
    ));
}

/// A pod's limits aggregated as its requests are (kubectl's `PodRequestsAndLimits`).
fn pod_limits(p: &Pod) -> podutil::Resources {
    let mut as_requests = p.clone();
    if let Some(spec) = as_requests.spec.as_mut() {
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            if let Some(r) = c.resources.as_mut() {
                r.requests = r.limits.clone();
            }
        }
        spec.overhead = None;
    }
    podutil::pod_requests(&as_requests)
}

fn deployment(cx: &Cx<'_>, w: &mut Tabbed, d: &Deployment) {
    let meta = &d.metadata;
    let spec = d.spec.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    if let Some(t) = &meta.creation_timestamp {
        w.line(format!("CreationTimestamp:\t{}", cx.stamp(t)));
    }
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    w.line(format!("Selector:\t{}", selector_text(&spec.selector)));
    w.line(format!(
        "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable",
        spec.replicas.unwrap_or(1),
        status.updated_replicas.unwrap_or(0),
        status.replicas.unwrap_or(0),
        status.available_replicas.unwrap_or(0),
        status.unavailable_replicas.unwrap_or(0)
    ));
    let strategy = spec.strategy.clone().unwrap_or_default();
    let kind = strategy.type_.clone().unwrap_or_else(|| "RollingUpdate".into());
    w.line(format!("StrategyType:\t{kind}"));
    w.line(format!("MinReadySeconds:\t{}", spec.min_ready_seconds.unwrap_or(0)));
    if let Some(ru) = strategy.rolling_update.clone() {
        let text = |v: &Option<_>| v.as_ref().map_or_else(|| "<nil>".to_string(), intstr::text);
        w.line(format!(
            "RollingUpdateStrategy:\t{} max unavailable, {} max surge",
            text(&ru.max_unavailable),
            text(&ru.max_surge)
        ));
    }
    pod_template(cx, w, Some(&spec.template));
    let conds = status.conditions.iter().flatten();
    workload_conditions(w, conds.map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref())));
    // The ReplicaSets the Deployment controls: the one with its template is new, the rest old.
    let uid = meta.uid.clone().unwrap_or_default();
    let mut owned: Vec<ReplicaSet> = cx
        .api
        .list_all(Kind::ReplicaSet)
        .iter()
        .filter_map(|o| o.as_type::<ReplicaSet>())
        .filter(|rs| rs.metadata.namespace == meta.namespace)
        .filter(|rs| podutil::controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
        .cloned()
        .collect();
    owned.sort_by(|a, b| {
        (&a.metadata.creation_timestamp, &a.metadata.name)
            .cmp(&(&b.metadata.creation_timestamp, &b.metadata.name))
    });
    let is_new = |rs: &ReplicaSet| {
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .is_some_and(|t| crate::controllers::deployment::same_template(t, &spec.template))
    };
    let rs_text = |rs: &ReplicaSet| {
        format!(
            "{} ({}/{} replicas created)",
            rs.metadata.name.clone().unwrap_or_default(),
            rs.status.as_ref().map(|s| s.replicas).unwrap_or(0),
            rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
        )
    };
    // The new ReplicaSet is the oldest whose template matches; every other owned one is old
    // (deploymentutil.GetAllReplicaSets), including those scaled to 0.
    let new_index = owned.iter().position(is_new);
    let old: Vec<String> =
        owned.iter().enumerate().filter(|(i, _)| Some(*i) != new_index).map(|(_, rs)| rs_text(rs)).collect();
    if !owned.is_empty() {
        let list = |v: Vec<String>| if v.is_empty() { "<none>".to_string() } else { v.join(", ") };
        w.line(format!("OldReplicaSets:\t{}", list(old)));
        w.line(format!(
            "NewReplicaSet:\t{}",
            list(new_index.map(|i| rs_text(&owned[i])).into_iter().collect())
        ));
    }
}

/// The Conditions table of Deployments and ReplicaSets (type, status, reason), when they have
/// any.
fn workload_conditions<'a>(
    w: &mut Tabbed,
    conditions: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) {
    let mut conditions = conditions.peekable();
    if conditions.peek().is_none() {
        return;
    }
    w.line("Conditions:");
    w.line(format!("{L1}Type\tStatus\tReason"));
    w.line(format!("{L1}----\t------\t------"));
    for (ty, status, reason) in conditions {
        w.line(format!("{L1}{ty} \t{status}\t{}", reason.unwrap_or_default()));
    }
}

/// `getPodStatusForController`: the phases of the pods `owner` controls (Running, Pending as
/// waiting, Succeeded, Failed).
fn controlled_pod_phases(
    cx: &Cx<'_>,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> [usize; 4] {
    let mut counts = [0; 4];
    for o in cx.api.list_all(Kind::Pod) {
        let Some(p) = o.as_type::<Pod>() else { continue };
        let owned = podutil::controller_of(&p.metadata).is_some_and(|r| Some(&r.uid) == owner.uid.as_ref());
        if p.metadata.namespace != owner.namespace || !owned {
            continue;
        }
        match podutil::phase(p) {
            "Running" => counts[0] += 1,
            "Pending" => counts[1] += 1,
            "Succeeded" => counts[2] += 1,
            "Failed" => counts[3] += 1,
            _ => {}
        }
    }
    counts
}

/// `describeDaemonSet`.
fn daemon_set(cx: &Cx<'_>, w: &mut Tabbed, ds: &k8s_openapi::api::apps::v1::DaemonSet) {
    let meta = &ds.metadata;
    let spec = ds.spec.clone().unwrap_or_default();
    let status = ds.status.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    w.line(format!("Selector:\t{}", selector_text(&spec.selector)));
    let node_selector = format_labels(spec.template.spec.as_ref().and_then(|s| s.node_selector.as_ref()));
    w.line(format!("Node-Selector:\t{node_selector}"));
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    w.line(format!("Desired Number of Nodes Scheduled: {}", status.desired_number_scheduled));
    w.line(format!("Current Number of Nodes Scheduled: {}", status.current_number_scheduled));
    w.line(format!(
        "Number of Nodes Scheduled with Up-to-date Pods: {}",
        status.updated_number_scheduled.unwrap_or(0)
    ));
    w.line(format!(
        "Number of Nodes Scheduled with Available Pods: {}",
        status.number_available.unwrap_or(0)
    ));
    w.line(format!("Number of Nodes Misscheduled: {}", status.number_misscheduled));
    let [running, waiting, succeeded, failed] = controlled_pod_phases(cx, meta);
    w.line(format!(
        "Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed"
    ));
    pod_template(cx, w, Some(&spec.template));
}

/// `describeJob`.
fn job(cx: &Cx<'_>, w: &mut Tabbed, j: &k8s_openapi::api::batch::v1::Job) {
    let meta = &j.metadata;
    let spec = j.spec.clone().unwrap_or_default();
    let status = j.status.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    match &spec.selector {
        Some(sel) => w.line(format!("Selector:\t{}", selector_text(sel))),
        None => w.line("Selector:\t<unset>"),
    }
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    if let Some(c) = podutil::controller_of(meta) {
        w.line(format!("Controlled By:\t{}/{}", c.kind, c.name));
    }
    w.line(format!("Parallelism:\t{}", spec.parallelism.unwrap_or(1)));
    match spec.completions {
        Some(c) => w.line(format!("Completions:\t{c}")),
        None => w.line("Completions:\t<unset>"),
    }
    w.line(format!(
        "Completion Mode:\t{}",
        spec.completion_mode.clone().unwrap_or_else(|| "NonIndexed".into())
    ));
    w.line(format!("Suspend:\t{}", spec.suspend.unwrap_or(false)));
    w.line(format!("Backoff Limit:\t{}", spec.backoff_limit.unwrap_or(6)));
    if let Some(t) = spec.ttl_seconds_after_finished {
        w.line(format!("TTL Seconds After Finished:\t{t}"));
    }
    if let Some(t) = &status.start_time {
        w.line(format!("Start Time:\t{}", cx.stamp(t)));
    }
    if let Some(t) = &status.completion_time {
        w.line(format!("Completed At:\t{}", cx.stamp(t)));
        if let Some(start) = &status.start_time {
            let d = cx.epoch.sim_time(&t.0).since(cx.epoch.sim_time(&start.0));
            w.line(format!("Duration:\t{}", human_duration(d)));
        }
    }
    if let Some(d) = spec.active_deadline_seconds {
        w.line(format!("Active Deadline Seconds:\t{d}s"));
    }
    w.line(format!(
        "Pods Statuses:\t{} Active ({} Ready) / {} Succeeded / {} Failed",
        status.active.unwrap_or(0),
        status.ready.unwrap_or(0),
        status.succeeded.unwrap_or(0),
        status.failed.unwrap_or(0)
    ));
    pod_template(cx, w, Some(&spec.template));
}

/// `describeCronJob`.
fn cron_job(cx: &Cx<'_>, w: &mut Tabbed, c: &k8s_openapi::api::batch::v1::CronJob) {
    let meta = &c.metadata;
    let spec = c.spec.clone().unwrap_or_default();
    let status = c.status.clone().unwrap_or_default();
    let unset = |v: Option<String>| v.unwrap_or_else(|| "<unset>".into());
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    w.line(format!("Schedule:\t{}", spec.schedule));
    w.line(format!(
        "Concurrency Policy:\t{}",
        spec.concurrency_policy.clone().unwrap_or_else(|| "Allow".into())
    ));
    w.line(format!("Suspend:\t{}", if spec.suspend.unwrap_or(false) { "True" } else { "False" }));
    w.line(format!("Successful Job History Limit:\t{}", spec.successful_jobs_history_limit.unwrap_or(3)));
    w.line(format!("Failed Job History Limit:\t{}", spec.failed_jobs_history_limit.unwrap_or(1)));
    w.line(format!(
        "Starting Deadline Seconds:\t{}",
        unset(spec.starting_deadline_seconds.map(|s| format!("{s}s")))
    ));
    let job = spec.job_template.spec.clone().unwrap_or_default();
    w.line(format!("Selector:\t{}", unset(job.selector.as_ref().map(selector_text))));
    w.line(format!("Parallelism:\t{}", unset(job.parallelism.map(|p| p.to_string()))));
    w.line(format!("Completions:\t{}", unset(job.completions.map(|p| p.to_string()))));
    pod_template(cx, w, Some(&job.template));
    match &status.last_schedule_time {
        Some(t) => w.line(format!("Last Schedule Time:\t{}", cx.stamp(t))),
        None => w.line("Last Schedule Time:\t<unset>"),
    }
    let active: Vec<String> = status.active.iter().flatten().filter_map(|r| r.name.clone()).collect();
    w.line(format!(
        "Active Jobs:\t{}",
        if active.is_empty() { "<none>".to_string() } else { active.join(", ") }
    ));
}

/// `describeNamespace` (kubesim models no ResourceQuotas or LimitRanges).
fn namespace(w: &mut Tabbed, ns: &k8s_openapi::api::core::v1::Namespace) {
    w.line(format!("Name:\t{}", ns.metadata.name.clone().unwrap_or_default()));
    labels_multiline(w, "", "Labels", ns.metadata.labels.as_ref());
    annotations_multiline(w, "", ns.metadata.annotations.as_ref());
    w.line(format!("Status:\t{}", ns.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()));
    w.line("");
    w.line("No resource quota.");
    w.line("");
    w.line("No LimitRange resource.");
}

fn replica_set(cx: &Cx<'_>, w: &mut Tabbed, rs: &ReplicaSet) {
    let meta = &rs.metadata;
    let spec = rs.spec.clone().unwrap_or_default();
    let status = rs.status.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    w.line(format!("Selector:\t{}", selector_text(&spec.selector)));
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    if let Some(c) = podutil::controller_of(meta) {
        w.line(format!("Controlled By:\t{}/{}", c.kind, c.name));
    }
    w.line(format!("Replicas:\t{} current / {} desired", status.replicas, spec.replicas.unwrap_or(1)));
    let [running, waiting, succeeded, failed] = controlled_pod_phases(cx, meta);
    w.line(format!(
        "Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed"
    ));
    pod_template(cx, w, spec.template.as_ref());
    let conds = status.conditions.iter().flatten();
    workload_conditions(w, conds.map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref())));
}

fn service(cx: &Cx<'_>, w: &mut Tabbed, s: &Service) {
    let meta = &s.metadata;
    let spec = s.spec.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", meta.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", meta.namespace.clone().unwrap_or_default()));
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    w.line(format!("Selector:\t{}", format_labels(spec.selector.as_ref())));
    w.line(format!("Type:\t{}", spec.type_.clone().unwrap_or_default()));
    if let Some(p) = &spec.ip_family_policy {
        w.line(format!("IP Family Policy:\t{p}"));
    }
    let joined = |v: &Option<Vec<String>>| {
        v.as_ref().filter(|v| !v.is_empty()).map(|v| v.join(",")).unwrap_or_else(|| "<none>".into())
    };
    w.line(format!("IP Families:\t{}", joined(&spec.ip_families)));
    w.line(format!("IP:\t{}", spec.cluster_ip.clone().unwrap_or_default()));
    w.line(format!("IPs:\t{}", joined(&spec.cluster_ips)));
    if let Some(ext) = spec.external_ips.as_ref().filter(|e| !e.is_empty()) {
        w.line(format!("External IPs:\t{}", ext.join(",")));
    }
    if let Some(ext) = spec.external_name.as_deref().filter(|e| !e.is_empty()) {
        w.line(format!("External Name:\t{ext}"));
    }
    // The Service's EndpointSlices (label kubernetes.io/service-name), in list order.
    let slices: Vec<k8s_openapi::api::discovery::v1::EndpointSlice> = cx
        .api
        .list_all(Kind::EndpointSlice)
        .iter()
        .filter(|o| o.namespace() == meta.namespace.as_deref())
        .filter(|o| o.labels().and_then(|l| l.get("kubernetes.io/service-name")) == meta.name.as_ref())
        .filter_map(|o| o.as_type::<k8s_openapi::api::discovery::v1::EndpointSlice>().cloned())
        .collect();
    for port in spec.ports.iter().flatten() {
        let raw_name = port.name.clone().unwrap_or_default();
        let name = if raw_name.is_empty() { "<unset>".to_string() } else { raw_name.clone() };
        let proto = port.protocol.clone().unwrap_or_else(|| "TCP".into());
        w.line(format!("Port:\t{name}\t{}/{proto}", port.port));
        let target = port.target_port.as_ref().map_or_else(|| "0".to_string(), intstr::text);
        w.line(format!("TargetPort:\t{target}/{proto}"));
        if let Some(np) = port.node_port.filter(|n| *n != 0) {
            w.line(format!("NodePort:\t{name}\t{np}/{proto}"));
        }
        w.line(format!("Endpoints:\t{}", format_endpoint_slices(&slices, &raw_name)));
    }
    w.line(format!("Session Affinity:\t{}", spec.session_affinity.clone().unwrap_or_default()));
    if let Some(p) = spec.external_traffic_policy.as_deref().filter(|p| !p.is_empty()) {
        w.line(format!("External Traffic Policy:\t{p}"));
    }
    if let Some(p) = &spec.internal_traffic_policy {
        w.line(format!("Internal Traffic Policy:\t{p}"));
    }
}

/// `formatEndpointSlices`: the first three ready `ip:port` of the slices' port named like the
/// Service port, `+ N more...`; `""` when none is ready, `<none>` when there are no slices.
fn format_endpoint_slices(
    slices: &[k8s_openapi::api::discovery::v1::EndpointSlice],
    port_name: &str,
) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let (mut list, mut more, mut count) = (Vec::new(), false, 0usize);
    // `more` is set on reaching a 4th candidate, ready or not; only ready ones count.
    let mut visit = |entry: String, ready: bool| {
        if list.len() == MAX {
            more = true;
        }
        if ready {
            if !more {
                list.push(entry);
            }
            count += 1;
        }
    };
    for slice in slices {
        let ready = |e: &k8s_openapi::api::discovery::v1::Endpoint| {
            e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)
        };
        let address =
            |e: &k8s_openapi::api::discovery::v1::Endpoint| e.addresses.first().cloned().unwrap_or_default();
        match slice.ports.as_ref().filter(|p| !p.is_empty()) {
            // A headless Service without ports lists bare addresses.
            None => slice.endpoints.iter().for_each(|e| visit(address(e), ready(e))),
            Some(ports) => {
                for p in ports.iter().filter(|p| p.name.as_deref().unwrap_or("") == port_name) {
                    for e in &slice.endpoints {
                        visit(format!("{}:{}", address(e), p.port.unwrap_or(0)), ready(e));
                    }
                }
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count.saturating_sub(MAX))
    } else {
        joined
    }
}

/// `describePodDisruptionBudget`.
fn pod_disruption_budget(w: &mut Tabbed, p: &k8s_openapi::api::policy::v1::PodDisruptionBudget) {
    let text = intstr::text;
    let spec = p.spec.clone().unwrap_or_default();
    let status = p.status.clone().unwrap_or_default();
    w.line(format!("Name:\t{}", p.metadata.name.clone().unwrap_or_default()));
    w.line(format!("Namespace:\t{}", p.metadata.namespace.clone().unwrap_or_default()));
    if let Some(v) = &spec.min_available {
        w.line(format!("Min available:\t{}", text(v)));
    } else if let Some(v) = &spec.max_unavailable {
        w.line(format!("Max unavailable:\t{}", text(v)));
    }
    match &spec.selector {
        Some(s) => w.line(format!("Selector:\t{}", selector_text(s))),
        None => w.line("Selector:\t<unset>"),
    }
    w.line("Status:");
    w.line(format!("{L2}Allowed disruptions:\t{}", status.disruptions_allowed));
    w.line(format!("{L2}Current:\t{}", status.current_healthy));
    w.line(format!("{L2}Desired:\t{}", status.desired_healthy));
    w.line(format!("{L2}Total:\t{}", status.expected_pods));
}

fn generic(cx: &Cx<'_>, w: &mut Tabbed, obj: &Object) {
    let meta = obj.meta();
    w.line(format!("Name:\t{}", obj.name()));
    if let Some(ns) = obj.namespace() {
        w.line(format!("Namespace:\t{ns}"));
    }
    labels_multiline(w, "", "Labels", meta.labels.as_ref());
    annotations_multiline(w, "", meta.annotations.as_ref());
    if let Some(t) = &meta.creation_timestamp {
        w.line(format!("CreationTimestamp:\t{}", cx.stamp(t)));
    }
    if let Some(c) = podutil::controller_of(meta) {
        w.line(format!("Controlled By:\t{}/{}", c.kind, c.name));
    }
}

/// `DescribeEvents`: the object's events, oldest first by last time seen.
fn events(cx: &Cx<'_>, w: &mut Tabbed, obj: &Object) {
    let uid = obj.meta().uid.clone();
    // A mirror pod's events are recorded against the static pod's UID.
    let mirror_uid =
        obj.meta().annotations.as_ref().and_then(|a| a.get("kubernetes.io/config.mirror")).cloned();
    let mut list: Vec<Event> = cx
        .api
        .list_all(Kind::Event)
        .iter()
        .filter_map(|o| o.as_type::<Event>())
        .filter(|e| {
            let r = &e.involved_object;
            r.name.as_deref() == Some(obj.name())
                && r.namespace.as_deref() == obj.namespace()
                && (r.uid == uid
                    || (mirror_uid.is_some() && r.uid == mirror_uid)
                    || (obj.kind() == Kind::Node && r.uid.as_deref() == Some(obj.name())))
        })
        .cloned()
        .collect();
    if list.is_empty() {
        w.line("Events:\t<none>");
        return;
    }
    w.flush();
    list.sort_by(|a, b| a.last_timestamp.cmp(&b.last_timestamp));
    w.line("Events:");
    w.line(format!("{L1}Type\tReason\tAge\tFrom\tMessage"));
    w.line(format!("{L1}----\t------\t----\t----\t-------"));
    for e in &list {
        let count = e.count.unwrap_or(1);
        let interval = if count > 1 {
            format!(
                "{} (x{count} over {})",
                cx.since(e.last_timestamp.as_ref()),
                cx.since(e.first_timestamp.as_ref())
            )
        } else {
            cx.since(e.first_timestamp.as_ref())
        };
        let source = e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .filter(|c| !c.is_empty())
            .or_else(|| e.reporting_component.clone())
            .unwrap_or_default();
        w.line(format!(
            "{L1}{}\t{}\t{interval}\t{source}\t{}",
            e.type_.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default().trim()
        ));
    }
}
