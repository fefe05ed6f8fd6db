//! kubectl-style tables for `kubesim get`, with kubectl's columns and its AGE formatting.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::api::pod as podutil;
use crate::api::time::Epoch;
use crate::api::{Kind, Object};
use crate::sim::{SimDuration, SimTime};

/// `duration.HumanDuration` from k8s.io/apimachinery, as kubectl's AGE column uses it.
pub fn human_duration(d: SimDuration) -> String {
    let seconds = d.as_secs();
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `labels.FormatLabels`: `k=v,k2=v2` in key order, `<none>` when there are none.
pub fn format_labels(labels: Option<&std::collections::BTreeMap<String, String>>) -> String {
    let pairs: Vec<String> = labels.into_iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

/// Aligns rows like kubectl's tabwriter (3 spaces between columns).
pub fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub struct TableContext {
    pub now: SimTime,
    pub epoch: Epoch,
    pub wide: bool,
    pub with_namespace: bool,
    /// `--show-labels`: a LABELS column last (`k=v,k2=v2`, `<none>`).
    pub show_labels: bool,
    /// Names as `kind.group/name` (`kubectl get all`, or several kinds at once).
    pub kind_prefix: bool,
}

impl TableContext {
    fn age(&self, obj: &Object) -> String {
        match &obj.meta().creation_timestamp {
            Some(t) => human_duration(self.now.since(self.epoch.sim_time(&t.0))),
            None => "<unknown>".into(),
        }
    }
}

/// `a,b,c + N more...`, or `<unset>` for nothing (printers.go formatDiscoveryPorts/Endpoints).
fn first_three(items: &[String]) -> String {
    match items.len() {
        0 => "<unset>".into(),
        n if n > 3 => format!("{} + {} more...", items[..3].join(","), n - 3),
        _ => items.join(","),
    }
}

/// The ENDPOINTS column of `kubectl get endpoints` (printers.go formatEndpoints): ready
/// `ip:port` pairs, port by port, at most three, then `+ N more...`.
fn format_endpoints(ep: &k8s_openapi::api::core::v1::Endpoints) -> String {
    let Some(subsets) = ep.subsets.as_ref().filter(|s| !s.is_empty()) else {
        return "<none>".into();
    };
    const MAX: usize = 3;
    let (mut list, mut count, mut more) = (Vec::new(), 0, false);
    for ss in subsets {
        let addresses = ss.addresses.as_deref().unwrap_or(&[]);
        match ss.ports.as_deref() {
            None | Some([]) => {
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(a.ip.clone());
                }
            }
            Some(ports) => {
                for port in ports {
                    count += addresses.len();
                    for a in addresses {
                        if list.len() == MAX {
                            more = true;
                            break;
                        }
                        list.push(format!("{}:{}", a.ip, port.port));
                    }
                }
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

fn none_if_empty(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("<none>").to_string()
}

/// kubectl's STATUS column for a pod.
pub fn pod_status(pod: &Pod) -> String {
    // kubectl's printPod (pkg/printers/internalversion/printers.go), STATUS column only.
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    let status = pod.status.as_ref();
    let mut reason = status.and_then(|s| s.reason.clone()).unwrap_or_else(|| podutil::phase(pod).to_string());
    let init_specs = pod.spec.as_ref().and_then(|s| s.init_containers.as_deref()).unwrap_or(&[]);
    let mut initializing = false;
    for (i, c) in status.and_then(|s| s.init_container_statuses.as_deref()).unwrap_or(&[]).iter().enumerate()
    {
        let state = c.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let sidecar =
            init_specs.iter().any(|s| s.name == c.name && s.restart_policy.as_deref() == Some("Always"));
        if terminated.is_some_and(|t| t.exit_code == 0) || (sidecar && c.started == Some(true)) {
            continue;
        }
        initializing = true;
        reason = match (terminated, waiting.and_then(|w| w.reason.as_deref())) {
            (Some(t), _) => match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", t.exit_code),
            },
            (None, Some(w)) if !w.is_empty() && w != "PodInitializing" => format!("Init:{w}"),
            _ => format!("Init:{i}/{}", init_specs.len()),
        };
        break;
    }
    let initialized = podutil::pod_condition(pod, "Initialized").is_some_and(|c| c.status == "True");
    if !initializing || initialized {
        let mut has_running = false;
        for c in status.and_then(|s| s.container_statuses.as_deref()).unwrap_or(&[]).iter().rev() {
            let state = c.state.as_ref();
            if let Some(w) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
                .filter(|r| !r.is_empty())
            {
                reason = w;
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = if podutil::pod_condition(pod, "Ready").is_some_and(|c| c.status == "True") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    reason
}

/// kubectl's RESTARTS column (printPod): while the pod initializes, the restarts of the init
/// containers up to the one in progress; afterwards those of the sidecars and app containers.
/// Also the latest `lastState.terminated.finishedAt` among the containers counted, which kubectl
/// prints as `3 (5s ago)`.
fn pod_restarts(
    pod: &Pod,
    sidecars: &[&str],
) -> (i32, Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) {
    use k8s_openapi::api::core::v1::ContainerStatus;
    let status = pod.status.as_ref();
    let init = status.and_then(|s| s.init_container_statuses.as_deref()).unwrap_or(&[]);
    let last_of = |c: &ContainerStatus| {
        c.last_state.as_ref().and_then(|l| l.terminated.as_ref()).and_then(|t| t.finished_at.clone())
    };
    let mut restarts = 0;
    let mut last = None;
    let mut note = |c: &ContainerStatus, restarts: &mut i32| {
        *restarts += c.restart_count;
        if let Some(t) = last_of(c) {
            if last.as_ref().is_none_or(|l| *l < t) {
                last = Some(t);
            }
        }
    };
    let mut initializing = false;
    for c in init {
        note(c, &mut restarts);
        let done = c.state.as_ref().and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.exit_code == 0)
            || (sidecars.contains(&c.name.as_str()) && c.started == Some(true));
        if !done {
            initializing = true;
            break;
        }
    }
    let initialized = podutil::pod_condition(pod, "Initialized").is_some_and(|c| c.status == "True");
    if !initializing || initialized {
        restarts = 0;
        last = None;
        let mut note = |c: &ContainerStatus| {
            restarts += c.restart_count;
            if let Some(t) = last_of(c) {
                if last.as_ref().is_none_or(|l| *l < t) {
                    last = Some(t);
                }
            }
        };
        init.iter().filter(|c| sidecars.contains(&c.name.as_str())).for_each(&mut note);
        status.and_then(|s| s.container_statuses.as_deref()).unwrap_or(&[]).iter().for_each(&mut note);
    }
    (restarts, last)
}

/// `kubectl get` output for a list of objects of one kind.
pub fn table(kind: Kind, objects: &[Arc<Object>], cx: &TableContext) -> String {
    let mut header: Vec<&str> = match kind {
        Kind::Pod if cx.wide => vec![
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
        Kind::Pod => vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        Kind::Node if cx.wide => vec![
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME",
        ],
        Kind::Node => vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        Kind::Deployment => vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        Kind::ReplicaSet => vec!["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        Kind::DaemonSet => {
            vec!["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
        }
        Kind::Job => vec!["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        Kind::CronJob => vec!["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
        Kind::Service => vec!["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        Kind::Endpoints => vec!["NAME", "ENDPOINTS", "AGE"],
        Kind::EndpointSlice => vec!["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        Kind::Namespace => vec!["NAME", "STATUS", "AGE"],
        Kind::Event => vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        Kind::Lease => vec!["NAME", "HOLDER", "AGE"],
        Kind::PriorityClass => vec!["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
        Kind::PodDisruptionBudget => {
            vec!["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]
        }
        _ => vec!["NAME", "AGE"],
    };
    if cx.with_namespace && kind.namespaced() {
        header.insert(0, "NAMESPACE");
    }
    let wide_columns = if cx.wide { wide_header(kind) } else { &[] };
    header.extend_from_slice(wide_columns);
    if cx.show_labels {
        header.push("LABELS");
    }
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for obj in objects {
        let mut row = row(obj, cx);
        if cx.kind_prefix {
            if let Some(name) = row.first_mut() {
                *name = crate::scenario::driver::kubectl_ref(kind, name);
            }
        }
        if cx.with_namespace && kind.namespaced() {
            row.insert(0, obj.namespace().unwrap_or("").to_string());
        }
        if !wide_columns.is_empty() {
            row.extend(wide_cells(obj));
        }
        if cx.show_labels {
            row.push(format_labels(obj.labels()));
        }
        rows.push(row);
    }
    render(&rows)
}

/// The columns `-o wide` adds for workloads and Services (kubectl's printers.go).
fn wide_header(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Deployment
        | Kind::ReplicaSet
        | Kind::DaemonSet
        | Kind::StatefulSet
        | Kind::Job
        | Kind::CronJob => &["CONTAINERS", "IMAGES", "SELECTOR"],
        Kind::Service => &["SELECTOR"],
        _ => &[],
    }
}

fn wide_cells(obj: &Object) -> Vec<String> {
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    let template =
        |t: Option<&PodTemplateSpec>,
         selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
            let containers = t.and_then(|t| t.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or(&[]);
            let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
            let images: Vec<String> =
                containers.iter().map(|c| c.image.clone().unwrap_or_default()).collect();
            let selector = selector
                .and_then(|s| crate::api::LabelSelector::from_k8s(s).ok())
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string())
                .unwrap_or_else(|| "<none>".into());
            vec![names.join(","), images.join(","), selector]
        };
    match obj {
        Object::Deployment(d) => {
            template(d.spec.as_ref().map(|s| &s.template), d.spec.as_ref().map(|s| &s.selector))
        }
        Object::ReplicaSet(r) => {
            template(r.spec.as_ref().and_then(|s| s.template.as_ref()), r.spec.as_ref().map(|s| &s.selector))
        }
        Object::DaemonSet(d) => {
            template(d.spec.as_ref().map(|s| &s.template), d.spec.as_ref().map(|s| &s.selector))
        }
        Object::StatefulSet(d) => {
            template(d.spec.as_ref().map(|s| &s.template), d.spec.as_ref().map(|s| &s.selector))
        }
        Object::Job(j) => {
            template(j.spec.as_ref().map(|s| &s.template), j.spec.as_ref().and_then(|s| s.selector.as_ref()))
        }
        Object::CronJob(c) => {
            template(c.spec.as_ref().and_then(|s| s.job_template.spec.as_ref()).map(|s| &s.template), None)
        }
        Object::Service(svc) => {
            vec![format_labels(svc.spec.as_ref().and_then(|s| s.selector.as_ref()))]
        }
        _ => Vec::new(),
    }
}

fn row(obj: &Arc<Object>, cx: &TableContext) -> Vec<String> {
    let name = obj.name().to_string();
    let age = cx.age(obj);
    match &**obj {
        Object::Pod(p) => {
            // Sidecars (restartable init containers) count in READY like app containers.
            let sidecars: Vec<&str> = p
                .spec
                .iter()
                .flat_map(|s| s.init_containers.iter().flatten())
                .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                .map(|c| c.name.as_str())
                .collect();
            let total = p.spec.as_ref().map_or(0, |s| s.containers.len()) + sidecars.len();
            let status = p.status.as_ref();
            let ready = status
                .and_then(|s| s.container_statuses.as_ref())
                .map_or(0, |cs| cs.iter().filter(|c| c.ready).count())
                + status.and_then(|s| s.init_container_statuses.as_ref()).map_or(0, |cs| {
                    cs.iter().filter(|c| c.ready && sidecars.contains(&c.name.as_str())).count()
                });
            let mut r = vec![
                name,
                format!("{ready}/{total}"),
                pod_status(p),
                match pod_restarts(p, &sidecars) {
                    (n, Some(t)) if n != 0 => {
                        format!("{n} ({} ago)", human_duration(cx.now.since(cx.epoch.sim_time(&t.0))))
                    }
                    (n, _) => n.to_string(),
                },
                age,
            ];
            if cx.wide {
                r.push(none_if_empty(p.status.as_ref().and_then(|s| s.pod_ip.as_deref())));
                r.push(none_if_empty(podutil::node_name(p)));
                r.push(none_if_empty(p.status.as_ref().and_then(|s| s.nominated_node_name.as_deref())));
                r.push("<none>".into());
            }
            r
        }
        Object::Node(n) => {
            let mut status = match podutil::node_condition(n, "Ready") {
                Some(c) if c.status == "True" => "Ready".to_string(),
                Some(_) => "NotReady".to_string(),
                None => "Unknown".to_string(),
            };
            if podutil::is_unschedulable(n) {
                status.push_str(",SchedulingDisabled");
            }
            let mut roles: Vec<String> = n
                .metadata
                .labels
                .iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/").map(str::to_string))
                .collect();
            roles.sort();
            let roles = if roles.is_empty() { "<none>".to_string() } else { roles.join(",") };
            let info = n.status.as_ref().and_then(|s| s.node_info.as_ref());
            let mut r =
                vec![name, status, roles, age, info.map(|i| i.kubelet_version.clone()).unwrap_or_default()];
            if cx.wide {
                let ip = n
                    .status
                    .as_ref()
                    .and_then(|s| s.addresses.as_ref())
                    .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
                    .map(|a| a.address.clone());
                r.push(ip.unwrap_or_else(|| "<none>".into()));
                r.push("<none>".into());
                r.push(info.map(|i| i.os_image.clone()).unwrap_or_default());
                r.push(info.map(|i| i.kernel_version.clone()).unwrap_or_default());
                r.push(info.map(|i| i.container_runtime_version.clone()).unwrap_or_default());
            }
            r
        }
        Object::Deployment(d) => {
            let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let st = d.status.as_ref();
            vec![
                name,
                format!("{}/{desired}", st.and_then(|s| s.ready_replicas).unwrap_or(0)),
                st.and_then(|s| s.updated_replicas).unwrap_or(0).to_string(),
                st.and_then(|s| s.available_replicas).unwrap_or(0).to_string(),
                age,
            ]
        }
        Object::ReplicaSet(rs) => {
            let st = rs.status.as_ref();
            vec![
                name,
                rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0).to_string(),
                st.map_or(0, |s| s.replicas).to_string(),
                st.and_then(|s| s.ready_replicas).unwrap_or(0).to_string(),
                age,
            ]
        }
        Object::Job(j) => {
            // printJob (pkg/printers/internalversion/printers.go).
            let st = j.status.as_ref();
            let spec = j.spec.as_ref();
            let has = |ty: &str| {
                st.and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == ty && c.status == "True"))
            };
            let status = ["Complete", "Failed", "Suspended", "FailureTarget", "SuccessCriteriaMet"]
                .into_iter()
                .find(|ty| has(ty))
                .unwrap_or("Running");
            let succeeded = st.and_then(|s| s.succeeded).unwrap_or(0);
            let completions = match spec.and_then(|s| s.completions) {
                Some(c) => format!("{succeeded}/{c}"),
                None => match spec.and_then(|s| s.parallelism).unwrap_or(0) {
                    p if p > 1 => format!("{succeeded}/1 of {p}"),
                    _ => format!("{succeeded}/1"),
                },
            };
            let at = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time| cx.epoch.sim_time(&t.0);
            let duration =
                match (st.and_then(|s| s.start_time.as_ref()), st.and_then(|s| s.completion_time.as_ref())) {
                    (None, _) => String::new(),
                    (Some(start), None) => human_duration(cx.now.since(at(start))),
                    (Some(start), Some(end)) => human_duration(at(end).since(at(start))),
                };
            vec![name, status.into(), completions, duration, age]
        }
        Object::CronJob(cj) => {
            let spec = cj.spec.as_ref();
            let st = cj.status.as_ref();
            let last = st
                .and_then(|s| s.last_schedule_time.as_ref())
                .map(|t| human_duration(cx.now.since(cx.epoch.sim_time(&t.0))))
                .unwrap_or_else(|| "<none>".into());
            vec![
                name,
                spec.map(|s| s.schedule.clone()).unwrap_or_default(),
                none_if_empty(spec.and_then(|s| s.time_zone.as_deref())),
                if spec.and_then(|s| s.suspend) == Some(true) { "True" } else { "False" }.into(),
                st.and_then(|s| s.active.as_ref()).map_or(0, Vec::len).to_string(),
                last,
                age,
            ]
        }
        Object::DaemonSet(ds) => {
            let st = ds.status.as_ref();
            let selector = format_labels(
                ds.spec
                    .as_ref()
                    .and_then(|s| s.template.spec.as_ref())
                    .and_then(|s| s.node_selector.as_ref()),
            );
            vec![
                name,
                st.map_or(0, |s| s.desired_number_scheduled).to_string(),
                st.map_or(0, |s| s.current_number_scheduled).to_string(),
                st.map_or(0, |s| s.number_ready).to_string(),
                st.and_then(|s| s.updated_number_scheduled).unwrap_or(0).to_string(),
                st.and_then(|s| s.number_available).unwrap_or(0).to_string(),
                selector,
                age,
            ]
        }
        Object::Endpoints(ep) => vec![name, format_endpoints(ep), age],
        Object::EndpointSlice(slice) => {
            let ports: Vec<String> = slice
                .ports
                .iter()
                .flatten()
                .map(|p| p.port.map_or_else(|| "<unset>".to_string(), |n| n.to_string()))
                .collect();
            let addresses: Vec<String> =
                slice.endpoints.iter().flat_map(|e| e.addresses.iter().cloned()).collect();
            vec![name, slice.address_type.clone(), first_three(&ports), first_three(&addresses), age]
        }
        Object::Service(svc) => {
            let spec = svc.spec.as_ref();
            let ports: Vec<String> = spec
                .and_then(|s| s.ports.as_ref())
                .into_iter()
                .flatten()
                .map(|p| {
                    let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
                    match p.node_port {
                        Some(np) => format!("{}:{np}/{proto}", p.port),
                        None => format!("{}/{proto}", p.port),
                    }
                })
                .collect();
            vec![
                name,
                spec.and_then(|s| s.type_.clone()).unwrap_or_else(|| "ClusterIP".into()),
                none_if_empty(spec.and_then(|s| s.cluster_ip.as_deref())),
                "<none>".into(),
                if ports.is_empty() { "<none>".into() } else { ports.join(",") },
                age,
            ]
        }
        Object::Namespace(ns) => vec![
            name,
            ns.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Active".into()),
            age,
        ],
        Object::Event(e) => {
            let last = e
                .last_timestamp
                .as_ref()
                .map(|t| human_duration(cx.now.since(cx.epoch.sim_time(&t.0))))
                .unwrap_or_else(|| "<unknown>".into());
            let io = &e.involved_object;
            vec![
                last,
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                format!(
                    "{}/{}",
                    io.kind.clone().unwrap_or_default().to_ascii_lowercase(),
                    io.name.clone().unwrap_or_default()
                ),
                e.message.clone().unwrap_or_default(),
            ]
        }
        Object::Lease(l) => {
            vec![name, l.spec.as_ref().and_then(|s| s.holder_identity.clone()).unwrap_or_default(), age]
        }
        Object::PriorityClass(pc) => vec![
            name,
            pc.value.to_string(),
            pc.global_default.unwrap_or(false).to_string(),
            age,
            pc.preemption_policy.clone().unwrap_or_else(|| "PreemptLowerPriority".into()),
        ],
        Object::PodDisruptionBudget(p) => {
            // printers.go printPodDisruptionBudget: N/A for the bound that is not set.
            let text = |v: Option<_>| v.map_or_else(|| "N/A".to_string(), crate::api::intstr::text);
            let spec = p.spec.as_ref();
            vec![
                name,
                text(spec.and_then(|s| s.min_available.as_ref())),
                text(spec.and_then(|s| s.max_unavailable.as_ref())),
                p.status.as_ref().map_or(0, |s| s.disruptions_allowed).to_string(),
                age,
            ]
        }
        _ => vec![name, age],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl() {
        let s = SimDuration::from_secs;
        assert_eq!(human_duration(s(5)), "5s");
        assert_eq!(human_duration(s(119)), "119s");
        assert_eq!(human_duration(s(125)), "2m5s");
        assert_eq!(human_duration(s(600)), "10m");
        assert_eq!(human_duration(s(3 * 3600 + 120)), "3h2m");
        assert_eq!(human_duration(s(9 * 3600)), "9h");
        assert_eq!(human_duration(s(50 * 3600)), "2d2h");
        assert_eq!(human_duration(s(10 * 86400)), "10d");
    }

    #[test]
    fn tabwriter_alignment() {
        let rows = vec![vec!["NAME".into(), "AGE".into()], vec!["worker-1".into(), "5s".into()]];
        assert_eq!(render(&rows), "NAME       AGE\nworker-1   5s\n");
    }
}
