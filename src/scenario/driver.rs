//! The scenario driver: the component that performs the timeline's actions at their times, the
//! way a person at a terminal would (`kubectl apply`, `kubectl scale`, `kubectl cordon`, pulling
//! a machine's power cord). Every action appears in the run's timeline with kubectl's wording.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use crate::controllers::deployment::{rollback_template, same_template};

use crate::controllers::podgc::OUT_OF_SERVICE;

use super::load::{Action, DeleteTarget, RolloutVerb, SourcedObject, TaintChange, TimedAction};
use crate::api::pod as podutil;
use crate::api::{FieldSelector, Kind, Object};
use crate::apiserver::{ApiError, DeleteOptions, Propagation};
use crate::network::traffic::{self, Outcome, RequestSpec, Source};
use crate::sim::{Component, Context, Event, Fault, SimDuration, Timer, TraceEntry};

/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

pub struct ScenarioDriver {
    timeline: Vec<TimedAction>,
}

impl ScenarioDriver {
    pub fn new(timeline: Vec<TimedAction>) -> Self {
        ScenarioDriver { timeline }
    }

    /// `kubectl delete KIND NAME` of one object, noted in the timeline as kubectl prints it.
    fn delete_one(
        &self,
        ctx: &mut Context<'_>,
        kind: Kind,
        ns: Option<&str>,
        name: &str,
        grace_period: Option<i64>,
        cascade: Propagation,
    ) {
        let opts = DeleteOptions {
            grace_period_seconds: grace_period,
            propagation: Some(cascade),
            ..Default::default()
        };
        let (type_, reason, msg) = match ctx.api.delete(kind, ns, name, opts) {
            // kubectl prints the resource with its API group: `deployment.apps "web" deleted`.
            Ok(_) => {
                let resource = match kind.api_version().split_once('/') {
                    Some((group, _)) => format!("{}.{group}", kind.singular()),
                    None => kind.singular().to_string(),
                };
                ("Normal", "Delete", format!("{resource} {name:?} deleted"))
            }
            Err(e) => ("Warning", "DeleteFailed", format!("Error from server: {e}")),
        };
        note(ctx, type_, reason, kind, ns, name, msg);
    }
}

/// kubectl's object reference: `pod/nginx`, `deployment.apps/web`, `node/worker-1`.
pub fn kubectl_ref(kind: Kind, name: &str) -> String {
    match kind.api_version().split_once('/') {
        Some((group, _)) => format!("{}.{group}/{name}", kind.singular()),
        None => format!("{}/{name}", kind.singular()),
    }
}

/// `kubectl set image KIND/NAME CONTAINER=IMAGE` (init containers too, as kubectl does).
fn set_image(
    ctx: &mut Context<'_>,
    kind: Kind,
    ns: &str,
    name: &str,
    container: &str,
    image: &str,
) -> Result<(), String> {
    let current = ctx.api.get(kind, Some(ns), name).map_err(|e| format!("Error from server ({e})"))?;
    let mut obj = (*current).clone();
    let spec = match &mut obj {
        Object::Deployment(d) => d.spec.as_mut().map(|s| &mut s.template).and_then(|t| t.spec.as_mut()),
        Object::DaemonSet(d) => d.spec.as_mut().map(|s| &mut s.template).and_then(|t| t.spec.as_mut()),
        Object::StatefulSet(s) => s.spec.as_mut().map(|s| &mut s.template).and_then(|t| t.spec.as_mut()),
        Object::ReplicaSet(r) => {
            r.spec.as_mut().and_then(|s| s.template.as_mut()).and_then(|t| t.spec.as_mut())
        }
        Object::Pod(p) => p.spec.as_mut(),
        _ => None,
    };
    let spec = spec.ok_or_else(|| format!("{} has no pod template", kubectl_ref(kind, name)))?;
    let found = spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
        // `*=IMAGE` sets every container's image, as kubectl does.
        .filter(|c| container == "*" || c.name == container)
        .map(|c| c.image = Some(image.to_string()))
        .count();
    if found == 0 {
        return Err(format!("unable to find container named {container:?}"));
    }
    ctx.api.update(obj).map(|_| ()).map_err(|e| format!("Error from server ({e})"))
}

/// `kubectl label KIND NAME KEY=VALUE… KEY-…`: returns kubectl's verb (`labeled`, or
/// `unlabeled` when every argument removes). An existing different value needs `--overwrite`.
fn label(
    ctx: &mut Context<'_>,
    kind: Kind,
    ns: Option<&str>,
    name: &str,
    changes: &[(String, Option<String>)],
    overwrite: bool,
) -> Result<&'static str, String> {
    let current = ctx.api.get(kind, ns, name).map_err(|e| format!("Error from server (NotFound): {e}"))?;
    let mut obj = (*current).clone();
    let labels = obj.meta_mut().labels.get_or_insert_with(Default::default);
    for (key, value) in changes {
        match value {
            Some(v) => {
                if let Some(old) = labels.get(key).filter(|old| *old != v) {
                    if !overwrite {
                        return Err(format!(
                            "error: '{key}' already has a value ({old}), and --overwrite is false"
                        ));
                    }
                }
                labels.insert(key.clone(), v.clone());
            }
            None => {
                labels.remove(key);
            }
        }
    }
    ctx.api.update(obj).map_err(|e| format!("Error from server: {e}"))?;
    Ok(if changes.iter().all(|(_, v)| v.is_none()) { "unlabeled" } else { "labeled" })
}

/// `kubectl taint nodes NODE SPEC`: returns kubectl's verb (`tainted`, `untainted`,
/// `modified`). Removing a taint that is not there, or adding one whose key and effect are
/// there already without `--overwrite`, is an error as in kubectl.
fn taint(
    ctx: &mut Context<'_>,
    node: &str,
    change: &TaintChange,
    overwrite: bool,
) -> Result<&'static str, String> {
    let mut n: Node = ctx.api.get_as(None, node).map_err(|e| format!("Error from server (NotFound): {e}"))?;
    let now = ctx.api.epoch().time(ctx.now());
    let taints = n.spec.get_or_insert_with(Default::default).taints.get_or_insert_with(Vec::new);
    let same = |t: &Taint| t.key == change.key && change.effect.as_ref().is_none_or(|e| &t.effect == e);
    let verb = if change.remove {
        let before = taints.len();
        taints.retain(|t| !same(t));
        if taints.len() == before {
            return Err(format!("error: taint {:?} not found", change.text()));
        }
        "untainted"
    } else {
        let effect = change.effect.clone().expect("an added taint has an effect");
        let new = Taint {
            key: change.key.clone(),
            value: change.value.clone(),
            time_added: (effect == "NoExecute").then_some(now),
            effect,
        };
        match taints.iter_mut().find(|t| same(t)) {
            Some(_) if !overwrite => {
                return Err(format!(
                    "error: node {node} already has {} taint(s) with same effect(s) and --overwrite is false",
                    change.key
                ))
            }
            Some(t) => {
                *t = new;
                "modified"
            }
            None => {
                taints.push(new);
                "tainted"
            }
        }
    };
    ctx.api.update_as(n).map_err(|e| format!("Error from server: {e}"))?;
    Ok(verb)
}

/// `kubectl rollout undo|pause|resume|restart deployment/NAME`: returns what kubectl prints
/// after the object reference.
fn rollout(ctx: &mut Context<'_>, verb: RolloutVerb, ns: &str, name: &str) -> Result<String, String> {
    let mut d: Deployment = ctx.api.get_as(Some(ns), name).map_err(|e| format!("Error from server ({e})"))?;
    let spec = d.spec.get_or_insert_with(Default::default);
    let paused = spec.paused == Some(true);
    let done = match verb {
        RolloutVerb::Pause if paused => return Err(format!("deployments.apps {name:?} is already paused")),
        RolloutVerb::Pause => {
            spec.paused = Some(true);
            "paused".into()
        }
        RolloutVerb::Resume if !paused => return Err(format!("deployments.apps {name:?} is not paused")),
        RolloutVerb::Resume => {
            spec.paused = None;
            "resumed".into()
        }
        RolloutVerb::Restart if paused => {
            return Err(format!(
                "deployments.apps {name:?} can't restart paused deployment (run rollout resume first)"
            ))
        }
        RolloutVerb::Restart => {
            let now = ctx.api.epoch().time(ctx.now());
            let stamp = now.0.to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true);
            let meta = spec.template.metadata.get_or_insert_with(Default::default);
            meta.annotations.get_or_insert_with(Default::default).insert(RESTARTED_AT.into(), stamp);
            "restarted".into()
        }
        RolloutVerb::Undo(to_revision) => {
            // kubectl's DeploymentRollbacker: the ReplicaSets the Deployment controls, by revision.
            let uid = d.metadata.uid.clone().unwrap_or_default();
            let sets: Vec<ReplicaSet> = ctx
                .api
                .list_all(Kind::ReplicaSet)
                .iter()
                .filter(|o| o.namespace() == Some(ns))
                .filter_map(|o| o.as_type::<ReplicaSet>())
                .filter(|rs| podutil::controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
                .cloned()
                .collect();
            let refs: Vec<&ReplicaSet> = sets.iter().collect();
            let (template, annotations) = rollback_template(&d, &refs, to_revision)?;
            let spec = d.spec.get_or_insert_with(Default::default);
            if same_template(&spec.template, &template) {
                let revision = to_revision.unwrap_or(0);
                return Ok(format!(
                    "skipped rollback (current template already matches revision {revision})"
                ));
            }
            spec.template = template;
            d.metadata.annotations.get_or_insert_with(Default::default).extend(annotations);
            "rolled back".into()
        }
    };
    ctx.api.update_as(d).map(|_| done).map_err(|e| format!("Error from server ({e})"))
}

fn note(
    ctx: &mut Context<'_>,
    type_: &str,
    reason: &str,
    kind: Kind,
    namespace: Option<&str>,
    name: &str,
    message: String,
) {
    let entry = TraceEntry {
        time: ctx.now(),
        source: "scenario".into(),
        type_: type_.into(),
        reason: reason.into(),
        kind: kind.name().into(),
        namespace: namespace.unwrap_or("").into(),
        name: name.into(),
        message,
    };
    ctx.trace(entry);
}

/// `kubectl apply` of one object: create it, or replace its labels, annotations and spec.
pub fn apply_object(ctx: &mut Context<'_>, src: &SourcedObject) -> Result<&'static str, ApiError> {
    let obj = src.object.clone();
    let kind = obj.kind();
    let ns = obj.namespace().map(str::to_string).or_else(|| kind.namespaced().then(|| "default".to_string()));
    match ctx.api.get(kind, ns.as_deref(), obj.name()) {
        Err(e) if e.is_not_found() => ctx.api.create(obj).map(|_| "created"),
        Err(e) => Err(e),
        Ok(current) => {
            let mut next = obj;
            {
                let (cur, meta) = (current.meta(), next.meta_mut());
                meta.resource_version = cur.resource_version.clone();
                meta.owner_references = meta.owner_references.take().or(cur.owner_references.clone());
                meta.finalizers = meta.finalizers.take().or(cur.finalizers.clone());
                meta.namespace = ns.clone();
            }
            let written = ctx.api.update(next)?;
            Ok(if written.resource_version() == current.resource_version() {
                "unchanged"
            } else {
                "configured"
            })
        }
    }
}

impl ScenarioDriver {
    fn run(&mut self, ctx: &mut Context<'_>, index: usize, action: Action) {
        match action {
            Action::Apply(objects) => {
                for src in &objects {
                    let (kind, name) = (src.object.kind(), src.object.name().to_string());
                    let ns = src.object.namespace().map(str::to_string);
                    match apply_object(ctx, src) {
                        Ok(verb) => note(
                            ctx,
                            "Normal",
                            "Apply",
                            kind,
                            ns.as_deref(),
                            &name,
                            format!("{} {verb}", kubectl_ref(kind, &name)),
                        ),
                        Err(e) => note(
                            ctx,
                            "Warning",
                            "ApplyFailed",
                            kind,
                            ns.as_deref(),
                            &name,
                            format!("Error from server: error when applying {:?}: {e}", src.origin),
                        ),
                    }
                }
            }
            Action::Delete { kind, namespace, target, grace_period, cascade } => {
                let ns = namespace.or_else(|| kind.namespaced().then(|| "default".to_string()));
                let names = match target {
                    DeleteTarget::Name(name) => vec![name],
                    // `kubectl delete KIND -l SELECTOR`: every match, in name order.
                    DeleteTarget::Selector(sel) => ctx
                        .api
                        .list(kind, ns.as_deref(), &sel, &FieldSelector::everything())
                        .map(|l| l.items.iter().map(|o| o.name().to_string()).collect())
                        .unwrap_or_default(),
                };
                if names.is_empty() {
                    let msg =
                        format!("No resources found in {} namespace.", ns.as_deref().unwrap_or("default"));
                    note(ctx, "Normal", "Delete", kind, ns.as_deref(), "", msg);
                }
                for name in names {
                    self.delete_one(ctx, kind, ns.as_deref(), &name, grace_period, cascade);
                }
            }
            Action::Scale { kind, namespace, name, replicas } => {
                let ns = namespace.unwrap_or_else(|| "default".into());
                let result = ctx.api.get(kind, Some(&ns), &name).and_then(|obj| {
                    let mut obj = (*obj).clone();
                    match &mut obj {
                        Object::Deployment(d) => {
                            d.spec.get_or_insert_with(Default::default).replicas = Some(replicas)
                        }
                        Object::ReplicaSet(r) => {
                            r.spec.get_or_insert_with(Default::default).replicas = Some(replicas)
                        }
                        Object::StatefulSet(s) => {
                            s.spec.get_or_insert_with(Default::default).replicas = Some(replicas)
                        }
                        _ => {}
                    }
                    ctx.api.update(obj)
                });
                match result {
                    Ok(_) => note(
                        ctx,
                        "Normal",
                        "Scale",
                        kind,
                        Some(&ns),
                        &name,
                        format!("{} scaled", kubectl_ref(kind, &name)),
                    ),
                    Err(e) => note(
                        ctx,
                        "Warning",
                        "ScaleFailed",
                        kind,
                        Some(&ns),
                        &name,
                        format!("Error from server: {e}"),
                    ),
                }
            }
            Action::SetImage { kind, namespace, name, container, image } => {
                let ns = namespace.unwrap_or_else(|| "default".into());
                let result = set_image(ctx, kind, &ns, &name, &container, &image);
                let (type_, reason, msg) = match result {
                    Ok(()) => ("Normal", "SetImage", format!("{} image updated", kubectl_ref(kind, &name))),
                    Err(e) => ("Warning", "SetImageFailed", format!("error: {e}")),
                };
                note(ctx, type_, reason, kind, Some(&ns), &name, msg);
            }
            Action::Rollout { verb, kind, namespace, name } => {
                let ns = namespace.unwrap_or_else(|| "default".into());
                let (type_, reason, msg) = match rollout(ctx, verb, &ns, &name) {
                    Ok(done) => ("Normal", "Rollout", format!("{} {done}", kubectl_ref(kind, &name))),
                    Err(e) => ("Warning", "RolloutFailed", format!("error: {e}")),
                };
                note(ctx, type_, reason, kind, Some(&ns), &name, msg);
            }
            Action::Cordon(node) => self.set_unschedulable(ctx, &node, true),
            Action::Uncordon(node) => self.set_unschedulable(ctx, &node, false),
            Action::Drain { node, force, delete_emptydir_data } => {
                self.drain(ctx, &node, index, true, force, delete_emptydir_data)
            }
            Action::PowerOff(node) => {
                note(
                    ctx,
                    "Warning",
                    "PowerOff",
                    Kind::Node,
                    None,
                    &node,
                    format!("machine {node} loses power: its kubelet and containers stop"),
                );
                self.fault(ctx, &node, Fault::PowerOff);
            }
            Action::PowerOn(node) => {
                note(
                    ctx,
                    "Normal",
                    "PowerOn",
                    Kind::Node,
                    None,
                    &node,
                    format!("machine {node} powers on: its kubelet starts"),
                );
                self.fault(ctx, &node, Fault::PowerOn);
            }
            Action::AddNode(node) => {
                note(
                    ctx,
                    "Normal",
                    "AddNode",
                    Kind::Node,
                    None,
                    &node,
                    format!("machine {node} joins the cluster"),
                );
                self.fault(ctx, &node, Fault::PowerOn);
            }
            Action::StopKubelet(node) => {
                note(
                    ctx,
                    "Warning",
                    "StopKubelet",
                    Kind::Node,
                    None,
                    &node,
                    format!("kubelet on {node} stops (systemctl stop kubelet): its containers keep running"),
                );
                self.fault(ctx, &node, Fault::StopKubelet);
            }
            Action::StartKubelet(node) => {
                note(
                    ctx,
                    "Normal",
                    "StartKubelet",
                    Kind::Node,
                    None,
                    &node,
                    format!("kubelet on {node} starts (systemctl start kubelet)"),
                );
                self.fault(ctx, &node, Fault::StartKubelet);
            }
            Action::Partition(node) => {
                note(ctx, "Warning", "Partition", Kind::Node, None, &node, format!("{node} is cut off from the control plane: its kubelet runs but cannot reach the API server"));
                for agent in ["kubelet", "kube-proxy"] {
                    if let Some(id) = ctx.lookup(&format!("{agent}/{node}")) {
                        ctx.api.partition(id);
                    }
                }
            }
            Action::Heal(node) => {
                note(
                    ctx,
                    "Normal",
                    "Heal",
                    Kind::Node,
                    None,
                    &node,
                    format!("the network between {node} and the control plane is back"),
                );
                for agent in ["kubelet", "kube-proxy"] {
                    if let Some(id) = ctx.lookup(&format!("{agent}/{node}")) {
                        ctx.api.heal(id);
                    }
                }
                self.fault(ctx, &node, Fault::Heal);
            }
            Action::OutOfService(node) => {
                let ts = ctx.api.epoch().time(ctx.now());
                let result = ctx.api.get_as::<Node>(None, &node).and_then(|mut n| {
                    let taints =
                        n.spec.get_or_insert_with(Default::default).taints.get_or_insert_with(Vec::new);
                    if !taints.iter().any(|t| t.key == OUT_OF_SERVICE) {
                        taints.push(Taint {
                            key: OUT_OF_SERVICE.into(),
                            value: Some("nodeshutdown".into()),
                            effect: "NoExecute".into(),
                            time_added: Some(ts),
                        });
                    }
                    ctx.api.update_as(n)
                });
                let msg = match result {
                    Ok(_) => format!("node/{node} tainted {OUT_OF_SERVICE}=nodeshutdown:NoExecute"),
                    Err(e) => format!("Error from server: {e}"),
                };
                note(ctx, "Normal", "OutOfService", Kind::Node, None, &node, msg);
            }
            Action::Label { kind, namespace, name, labels, overwrite } => {
                let ns = namespace.or_else(|| kind.namespaced().then(|| "default".to_string()));
                let (type_, reason, msg) = match label(ctx, kind, ns.as_deref(), &name, &labels, overwrite) {
                    Ok(verb) => ("Normal", "Label", format!("{} {verb}", kubectl_ref(kind, &name))),
                    Err(e) => ("Warning", "LabelFailed", e),
                };
                note(ctx, type_, reason, kind, ns.as_deref(), &name, msg);
            }
            Action::Taint { node, change, overwrite } => {
                let (type_, reason, msg) = match taint(ctx, &node, &change, overwrite) {
                    Ok(verb) => ("Normal", "Taint", format!("node/{node} {verb}")),
                    Err(e) => ("Warning", "TaintFailed", e),
                };
                note(ctx, type_, reason, Kind::Node, None, &node, msg);
            }
            Action::EtcdSnapshotSave(file) => {
                let (revision, keys) = ctx.api.snapshot_save(&file);
                let msg = format!("Snapshot saved at {file} (revision {revision}, {keys} keys)");
                note(ctx, "Normal", "EtcdSnapshotSave", Kind::Pod, Some("kube-system"), "etcd", msg);
            }
            Action::EtcdSnapshotRestore(file) => {
                let (type_, reason, msg) = match ctx.api.snapshot_restore(&file) {
                    Some(r) => (
                        "Normal",
                        "EtcdSnapshotRestore",
                        format!(
                            "etcd restored from {file} (revision {}): {} objects created since are gone, {} deleted since are back, {} changed since are reverted; every component relists",
                            r.snapshot_revision, r.deleted, r.recreated, r.reverted
                        ),
                    ),
                    None => (
                        "Warning",
                        "EtcdSnapshotRestoreFailed",
                        format!("Error: open {file}: no such file or directory"),
                    ),
                };
                note(ctx, type_, reason, Kind::Pod, Some("kube-system"), "etcd", msg);
            }
            Action::Request { request, count } => self.request(ctx, &request, count),
            Action::NodePressure { node, fault_on, fault_off, what, on } => {
                let (type_, reason, msg) = if on {
                    (
                        "Warning",
                        "NodePressure",
                        format!("{node} runs short: its kubelet will report {what}=True"),
                    )
                } else {
                    (
                        "Normal",
                        "NodePressureRelieved",
                        format!("{node} recovers: its kubelet will report {what}=False"),
                    )
                };
                note(ctx, type_, reason, Kind::Node, None, &node, msg);
                self.fault(ctx, &node, if on { fault_on } else { fault_off });
            }
            Action::RemoveNode(node) => {
                self.fault(ctx, &node, Fault::PowerOff);
                let msg = match ctx.api.delete(Kind::Node, None, &node, DeleteOptions::default()) {
                    Ok(_) => format!("node {node:?} deleted and its machine removed"),
                    Err(e) => {
                        format!("machine {node} removed; deleting the Node object failed: {e}")
                    }
                };
                note(ctx, "Normal", "RemoveNode", Kind::Node, None, &node, msg);
            }
        }
    }

    /// Delivers a fault to the node's agents: the kubelet, and kube-proxy for the faults that
    /// concern it (a stopped kubelet does not stop kube-proxy).
    fn fault(&self, ctx: &mut Context<'_>, node: &str, fault: Fault) {
        if let Some(kubelet) = ctx.lookup(&format!("kubelet/{node}")) {
            ctx.send(kubelet, SimDuration::ZERO, Event::Fault(fault));
        }
        if matches!(fault, Fault::PowerOff | Fault::PowerOn | Fault::Heal) {
            if let Some(proxy) = ctx.lookup(&format!("kube-proxy/{node}")) {
                ctx.send(proxy, SimDuration::ZERO, Event::Fault(fault));
            }
        }
    }

    /// Sends `count` requests now and notes how they ended.
    fn request(&self, ctx: &mut Context<'_>, request: &RequestSpec, count: u32) {
        let now = ctx.now();
        let mut outcomes: BTreeMap<Outcome, u32> = BTreeMap::new();
        for _ in 0..count {
            let outcome = traffic::send(ctx.api, ctx.net, request, now, ctx.rng);
            *outcomes.entry(outcome).or_default() += 1;
        }
        let summary: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {}", o.as_str())).collect();
        let all_ok = outcomes.keys().all(|o| o.is_ok());
        let (kind, namespace, name) = match &request.from {
            Source::Pod { namespace, name } => ("Pod", namespace.clone(), name.clone()),
            Source::Node(node) => ("Node", String::new(), node.clone()),
            Source::External => ("", String::new(), "external".to_string()),
        };
        let plural = if count == 1 { "" } else { "s" };
        ctx.trace(TraceEntry {
            time: now,
            source: "scenario".into(),
            type_: if all_ok { "Normal" } else { "Warning" }.into(),
            reason: "Request".into(),
            kind: kind.into(),
            namespace,
            name,
            message: format!("{count} request{plural} to {}: {}", request.to_text, summary.join(", ")),
        });
    }

    fn set_unschedulable(&self, ctx: &mut Context<'_>, node: &str, unschedulable: bool) {
        let verb = if unschedulable { "cordoned" } else { "uncordoned" };
        let result = ctx.api.get_as::<Node>(None, node).and_then(|mut n| {
            let spec = n.spec.get_or_insert_with(Default::default);
            let already = spec.unschedulable.unwrap_or(false) == unschedulable;
            spec.unschedulable = unschedulable.then_some(true);
            ctx.api.update_as(n).map(|_| already)
        });
        match result {
            Ok(already) => {
                let msg = if already {
                    format!("node/{node} already {verb}")
                } else {
                    format!("node/{node} {verb}")
                };
                note(
                    ctx,
                    "Normal",
                    if unschedulable { "Cordon" } else { "Uncordon" },
                    Kind::Node,
                    None,
                    node,
                    msg,
                );
            }
            Err(e) => note(
                ctx,
                "Warning",
                "CordonFailed",
                Kind::Node,
                None,
                node,
                format!("Error from server: {e}"),
            ),
        }
    }

    /// `kubectl drain --ignore-daemonsets`: cordon, then evict every pod on the node except
    /// DaemonSet and mirror pods through the eviction API; evictions a PodDisruptionBudget
    /// refuses are retried every 5s, as kubectl does, until none is left.
    fn drain(
        &self,
        ctx: &mut Context<'_>,
        node: &str,
        index: usize,
        first: bool,
        force: bool,
        delete_emptydir_data: bool,
    ) {
        if first {
            self.set_unschedulable(ctx, node, true);
            // kubectl's pod filters run before any eviction; one refusal stops the drain
            // (k8s.io/kubectl/pkg/drain/filters.go unreplicatedFilter, localStorageFilter).
            let mut unmanaged = Vec::new();
            let mut local_storage = Vec::new();
            for obj in ctx.api.list_all(Kind::Pod) {
                let Some(pod) = obj.as_type::<Pod>() else { continue };
                if podutil::node_name(pod) != Some(node) || podutil::is_terminal(pod) {
                    continue;
                }
                let mirror = pod
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
                let daemon = podutil::controller_of(&pod.metadata).is_some_and(|o| o.kind == "DaemonSet");
                if mirror || daemon {
                    continue;
                }
                let key = format!("{}/{}", obj.namespace().unwrap_or("default"), obj.name());
                if !force && podutil::controller_of(&pod.metadata).is_none() {
                    unmanaged.push(key.clone());
                }
                let empty_dir = pod
                    .spec
                    .as_ref()
                    .is_some_and(|s| s.volumes.iter().flatten().any(|v| v.empty_dir.is_some()));
                if !delete_emptydir_data && empty_dir {
                    local_storage.push(key);
                }
            }
            let mut errors = Vec::new();
            if !unmanaged.is_empty() {
                errors.push(format!(
                    "cannot delete Pods that declare no controller (use --force to override): {}",
                    unmanaged.join(", ")
                ));
            }
            if !local_storage.is_empty() {
                errors.push(format!(
                    "cannot delete Pods with local storage (use --delete-emptydir-data to override): {}",
                    local_storage.join(", ")
                ));
            }
            if !errors.is_empty() {
                let msg = format!(
                    "error: unable to drain node {node:?} due to error: {}, continuing command...",
                    errors.join(", ")
                );
                note(ctx, "Warning", "DrainFailed", Kind::Node, None, node, msg);
                return;
            }
        }
        let mut refused = 0;
        for obj in ctx.api.list_all(Kind::Pod) {
            let Some(pod) = obj.as_type::<Pod>() else { continue };
            if podutil::node_name(pod) != Some(node)
                || pod.metadata.deletion_timestamp.is_some()
                || podutil::is_terminal(pod)
            {
                continue;
            }
            let daemon = podutil::controller_of(&pod.metadata).is_some_and(|o| o.kind == "DaemonSet");
            let mirror = pod
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
            if daemon || mirror {
                continue;
            }
            let ns = obj.namespace().unwrap_or("default").to_string();
            let name = obj.name().to_string();
            match ctx.api.evict(&ns, &name) {
                Ok(_) => note(
                    ctx,
                    "Normal",
                    "Evict",
                    Kind::Pod,
                    Some(&ns),
                    &name,
                    format!("evicting pod {ns}/{name}"),
                ),
                Err(e) => {
                    refused += 1;
                    let msg =
                        format!("error when evicting pods/{name:?} -n {ns:?} (will retry after 5s): {e}");
                    note(ctx, "Warning", "EvictionRefused", Kind::Pod, Some(&ns), &name, msg);
                }
            }
        }
        if refused > 0 {
            ctx.after(SimDuration::from_secs(5), Event::Timer(Timer::DrainRetry { index }));
        } else {
            note(ctx, "Normal", "Drain", Kind::Node, None, node, format!("node/{node} drained"));
        }
    }
}

impl Component for ScenarioDriver {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                for (index, a) in self.timeline.iter().enumerate() {
                    ctx.after(a.at.since(ctx.now()), Event::Timer(Timer::TimelineAction { index }));
                }
            }
            Event::Timer(Timer::TimelineAction { index }) => {
                if let Some(a) = self.timeline.get(index) {
                    let action = a.action.clone();
                    self.run(ctx, index, action);
                }
            }
            Event::Timer(Timer::DrainRetry { index }) => {
                if let Some(Action::Drain { node, force, delete_emptydir_data }) =
                    self.timeline.get(index).map(|a| a.action.clone())
                {
                    self.drain(ctx, &node, index, false, force, delete_emptydir_data);
                }
            }
            _ => {}
        }
    }
}
