//! Read-only views of a running simulation, as the tools a cluster operator uses print them:
//! `kubectl get` and `describe`, `etcdctl get`, `iptables-save`, `nslookup`, the scheduler's
//! explanation of a pod and the causal chain behind a pod's fate. The command line runs a
//! scenario to `--at` and prints one view; `kubesim shell` prints them over a paused run. Both
//! call these functions, so a view reads the same wherever it is asked for.

use crate::api::{FieldSelector, Kind, LabelSelector};
use crate::dns;
use crate::output::{describe, tables, why};
use crate::scheduler::decisions::{self, Decision};
use crate::simulation::Simulation;
use crate::store::KeyRange;

/// A view that cannot be printed: the message to show and the exit status it carries (1: the
/// thing asked about is not there; 2: the request itself is invalid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub code: i32,
    pub message: String,
}

impl QueryError {
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        QueryError { code: 2, message: format!("error: {message}") }
    }
    pub fn not_found(message: impl std::fmt::Display) -> Self {
        QueryError { code: 1, message: message.to_string() }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type QueryResult = Result<String, QueryError>;

/// `kubectl get`'s flags, shared by `kubesim get` and the shell's `get`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GetFlags {
    /// `wide`, `yaml` or `name`.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub field_selector: Option<String>,
    /// A LABELS column, as `kubectl get --show-labels`.
    #[arg(long)]
    pub show_labels: bool,
}

/// What `kubectl get` was asked for.
#[derive(Debug, Clone, Default)]
pub struct GetRequest {
    /// `pods`, `deploy,rs`, `nodes`, … (kubectl's names, short names and plurals).
    pub kinds: String,
    pub name: Option<String>,
    pub flags: GetFlags,
}

/// What `kubectl get all` lists.
const ALL: [Kind; 8] = [
    Kind::Pod,
    Kind::Service,
    Kind::DaemonSet,
    Kind::Deployment,
    Kind::ReplicaSet,
    Kind::StatefulSet,
    Kind::Job,
    Kind::CronJob,
];

/// Parses kubectl's resource list (`deploy,rs`, `deployments.apps`, `all`).
pub fn kinds(list: &str) -> Result<Vec<Kind>, QueryError> {
    let mut out = Vec::new();
    for k in list.split(',') {
        if k == "all" {
            out.extend(ALL);
            continue;
        }
        // `deployments.apps`: a resource with its API group.
        let kind = Kind::lookup(k).or_else(|| {
            let (resource, group) = k.split_once('.')?;
            Kind::lookup(resource)
                .filter(|kind| kind.api_version().split_once('/').is_some_and(|(g, _)| g == group))
        });
        out.push(
            kind.ok_or_else(|| {
                QueryError::invalid(format!("the server doesn't have a resource type {k:?}"))
            })?,
        );
    }
    Ok(out)
}

/// `kubectl get KIND[,KIND…] [NAME]`.
pub fn get(sim: &Simulation, req: &GetRequest) -> QueryResult {
    let kinds = kinds(&req.kinds)?;
    let flags = &req.flags;
    let labels =
        LabelSelector::parse(flags.selector.as_deref().unwrap_or("")).map_err(QueryError::invalid)?;
    let fields =
        FieldSelector::parse(flags.field_selector.as_deref().unwrap_or("")).map_err(QueryError::invalid)?;
    let api = sim.api();
    let cx = tables::TableContext {
        now: sim.now(),
        epoch: api.epoch(),
        wide: flags.output.as_deref() == Some("wide"),
        with_namespace: flags.all_namespaces,
        show_labels: flags.show_labels,
        kind_prefix: req.kinds.split(',').any(|k| k == "all"),
    };
    let mut out = String::new();
    let mut first = true;
    let mut empty_namespace: Option<Option<String>> = None;
    for kind in kinds {
        let ns = if flags.all_namespaces || !kind.namespaced() {
            None
        } else {
            Some(flags.namespace.clone().unwrap_or_else(|| "default".into()))
        };
        let mut items = api.list(kind, ns.as_deref(), &labels, &fields).map_err(QueryError::invalid)?.items;
        if let Some(n) = &req.name {
            items.retain(|o| o.name() == n);
            if items.is_empty() {
                return Err(QueryError::not_found(format!(
                    "Error from server (NotFound): {} {n:?} not found",
                    kind.resource()
                )));
            }
        }
        match flags.output.as_deref() {
            Some("yaml") => {
                for (i, o) in items.iter().enumerate() {
                    if i > 0 || !first {
                        out.push_str("---\n");
                    }
                    out.push_str(&o.to_yaml());
                }
            }
            Some("json") => {
                // One object as itself; several (or none) as a v1 List, as kubectl prints them.
                let json = if req.name.is_some() && items.len() == 1 {
                    items[0].to_json()
                } else {
                    serde_json::json!({
                        "apiVersion": "v1",
                        "items": items.iter().map(|o| o.to_json()).collect::<Vec<_>>(),
                        "kind": "List",
                        "metadata": {"resourceVersion": ""},
                    })
                };
                out.push_str(&serde_json::to_string_pretty(&json).unwrap_or_default());
                out.push('\n');
            }
            Some("name") => {
                for o in &items {
                    out.push_str(&crate::scenario::driver::kubectl_ref(kind, o.name()));
                    out.push('\n');
                }
            }
            None | Some("wide") => {
                if items.is_empty() {
                    // kubectl says it once, and only when every kind asked for is empty.
                    empty_namespace.get_or_insert(ns);
                    continue;
                } else {
                    if !first {
                        out.push('\n');
                    }
                    out.push_str(&tables::table(kind, &items, &cx));
                }
            }
            Some(other) => {
                return Err(QueryError::invalid(format!(
                "unable to match a printer suitable for the output format {other:?}, allowed formats are: json,name,wide,yaml"
            )))
            }
        }
        first = false;
    }
    if let (true, Some(ns)) = (out.is_empty(), empty_namespace) {
        let where_ = ns.map(|n| format!(" in {n} namespace")).unwrap_or_default();
        out.push_str(&format!("No resources found{where_}.\n"));
    }
    Ok(out)
}

/// `kubectl describe KIND NAME` (pods, nodes, deployments, replicasets, services and the other
/// kinds kubesim models, with their Events).
pub fn describe(sim: &Simulation, kind: &str, name: &str, namespace: Option<&str>) -> QueryResult {
    let kind = match kinds(kind)?.as_slice() {
        [k] => *k,
        _ => return Err(QueryError::invalid("describe takes one resource type")),
    };
    let ns = kind.namespaced().then(|| namespace.unwrap_or("default"));
    let obj = sim
        .api()
        .get(kind, ns, name)
        .map_err(|e| QueryError::not_found(format!("Error from server (NotFound): {e}")))?;
    Ok(describe::describe(sim.api(), &obj, sim.now()))
}

/// `etcdctl get KEY [--prefix] [--keys-only]`: keys and their JSON values, as the API server
/// stored them.
pub fn etcdctl_get(sim: &Simulation, key: &str, prefix: bool, keys_only: bool) -> QueryResult {
    let range = if prefix { KeyRange::Prefix(key.to_string()) } else { KeyRange::Key(key.to_string()) };
    let kvs = sim.api().store().range(&range, 0).map_err(QueryError::invalid)?;
    let mut out = String::new();
    for kv in kvs {
        out.push_str(&kv.key);
        out.push('\n');
        if keys_only {
            out.push('\n');
        } else {
            // The API server clears metadata.resourceVersion before writing (the revision is
            // etcd's mod_revision), so a stored value has none.
            let mut json = kv.value.to_json();
            if let Some(meta) = json.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                meta.remove("resourceVersion");
            }
            out.push_str(&serde_json::to_string(&json).unwrap_or_default());
            out.push('\n');
        }
    }
    Ok(out)
}

/// `iptables-save [-t TABLE]` on a node, as its kube-proxy last installed the rules.
pub fn iptables_save(sim: &Simulation, node: &str, table: Option<&str>, canonical: bool) -> QueryResult {
    if let Some(t) = table.filter(|t| !matches!(*t, "nat" | "filter")) {
        return Err(QueryError::invalid(format!(
            "unknown table {t:?}: kube-proxy writes the nat and filter tables"
        )));
    }
    let net = &sim.engine().net;
    let Some(state) = net.node(node) else {
        let names: Vec<&str> = net.nodes().map(|(n, _)| n).collect();
        return Err(QueryError::invalid(format!(
            "no node named {node:?} in this scenario (nodes: {})",
            names.join(", ")
        )));
    };
    let Some((rules, installed)) = net.rules(node) else {
        let why = if state.up { "kube-proxy has not synced yet" } else { "the machine is powered off" };
        return Err(QueryError::not_found(format!(
            "error: no rules installed on {node} at {}: {why}",
            sim.now()
        )));
    };
    let text = if canonical { rules.save_canonical() } else { rules.save() };
    let shown = match table {
        None => text,
        Some(t) => iptables_table(&text, t),
    };
    Ok(format!("# kube-proxy on {node} installed these rules at {installed}\n{shown}"))
}

/// One table (`*nat` … `COMMIT`) of an `iptables-save` text.
fn iptables_table(text: &str, table: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            inside = name == table;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
            if line == "COMMIT" {
                inside = false;
            }
        }
    }
    out
}

/// `kubectl exec POD -- nslookup NAME`: the output, and whether the name resolved.
pub fn nslookup(
    sim: &Simulation,
    pod: &str,
    namespace: Option<&str>,
    name: &str,
    style: &str,
) -> Result<(String, bool), QueryError> {
    let style = match style {
        "busybox" => dns::NslookupStyle::Busybox,
        "bind" => dns::NslookupStyle::Bind,
        other => {
            return Err(QueryError::invalid(format!("unknown style {other:?}: expected busybox or bind")))
        }
    };
    let (ns, pod_name) = split_namespaced(pod, namespace);
    let text =
        crate::network::traffic::nslookup_from(sim.api(), &sim.engine().net, &ns, &pod_name, name, style)
            .map_err(|e| QueryError::not_found(format!("error: {e}")))?;
    Ok((text.output, text.resolved))
}

/// `NAMESPACE/NAME` or `NAME` in `namespace` (default `default`).
pub fn split_namespaced(text: &str, namespace: Option<&str>) -> (String, String) {
    match text.split_once('/') {
        Some((ns, n)) => (ns.to_string(), n.to_string()),
        None => (namespace.unwrap_or("default").to_string(), text.to_string()),
    }
}

/// The pod a user means: an exact name, or the unique pod whose generated name starts with
/// `NAME-` (`web` for `web-7x2kq`), among `candidates`.
pub fn resolve_pod_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<Option<String>, QueryError> {
    let mut prefixed: Vec<&str> = Vec::new();
    for c in candidates {
        if c == name {
            return Ok(Some(c.to_string()));
        }
        if c.starts_with(&format!("{name}-")) {
            prefixed.push(c);
        }
    }
    prefixed.sort();
    prefixed.dedup();
    match prefixed.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.to_string())),
        many => Err(QueryError::invalid(format!(
            "--pod {name} matches several pods: {}; name one",
            many.join(", ")
        ))),
    }
}

/// Every scheduling attempt for a pod (needs a run with decisions recorded).
pub fn explain(sim: &Simulation, pod: &str, namespace: Option<&str>) -> QueryResult {
    let (ns, name) = split_namespaced(pod, namespace);
    let log = &sim.engine().decisions.entries;
    let names = log.iter().filter(|d| d.namespace == ns).map(|d| d.pod.as_str());
    let Some(chosen) = resolve_pod_name(&name, names)? else {
        let known = sim.api().get(Kind::Pod, Some(&ns), &name).is_ok();
        let why = if known {
            "it was never scheduled by kubesim's scheduler (it names its node, or another schedulerName)"
        } else {
            "no such pod"
        };
        return Err(QueryError::not_found(format!(
            "error: no scheduling attempts for pod {ns}/{name} by {}: {why}",
            sim.now()
        )));
    };
    let attempts: Vec<&Decision> = log.iter().filter(|d| d.namespace == ns && d.pod == chosen).collect();
    Ok(attempts.iter().map(|d| decisions::explain_text(d, |t| t.to_string())).collect())
}

/// The causal chain behind a pod's fate, across components.
pub fn why(sim: &Simulation, pod: &str, namespace: Option<&str>) -> QueryResult {
    let (ns, name) = split_namespaced(pod, namespace);
    why::why(sim, &ns, &name)
}
