//! kubectl's imperative object commands for the shell — `run`, `create deployment`, `expose` —
//! as the manifests kubectl would send (k8s.io/kubectl/pkg/cmd/run, create/create_deployment.go,
//! expose and its generators), so that `--dry-run=client -o yaml` prints the same object a
//! student would otherwise write by hand, and without it the object is applied.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::api::{Kind, Object};
use crate::inspect::QueryError;

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(k.into(), v);
    }
    Value::Mapping(m)
}

fn labels_value(labels: &BTreeMap<String, String>) -> Value {
    Value::Mapping(labels.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect())
}

/// `k=v,k2=v2` (kubectl's `--labels`).
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, QueryError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| QueryError::invalid(format!("invalid label spec: {kv:?}: expected KEY=VALUE")))
        })
        .collect()
}

/// The container name `kubectl create deployment` derives from an image: its last path part
/// without tag or digest (`registry.k8s.io/pause:3.9` → `pause`).
pub fn container_name_for(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let name = last.split(['@', ':']).next().unwrap_or(last);
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// What `kubectl run NAME --image=IMAGE` creates.
pub struct RunRequest<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub labels: Option<&'a str>,
    pub port: Option<i32>,
    pub restart: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// After `--`: the container's args, or its command with `--command`.
    pub rest: &'a [String],
    pub command: bool,
}

pub fn run_pod(r: &RunRequest<'_>) -> Result<Value, QueryError> {
    let labels = match r.labels {
        Some(text) => parse_labels(text)?,
        None => BTreeMap::from([("run".to_string(), r.name.to_string())]),
    };
    let restart = r.restart.unwrap_or("Always");
    if !matches!(restart, "Always" | "OnFailure" | "Never") {
        return Err(QueryError::invalid(format!("invalid restart policy: {restart}")));
    }
    let mut container = vec![("name", r.name.into()), ("image", r.image.into()), ("resources", map(vec![]))];
    if !r.rest.is_empty() {
        let words = Value::Sequence(r.rest.iter().map(|w| w.as_str().into()).collect());
        container.push((if r.command { "command" } else { "args" }, words));
    }
    if let Some(p) = r.port {
        container.push(("ports", Value::Sequence(vec![map(vec![("containerPort", p.into())])])));
    }
    // kubectl's object as sent: `creationTimestamp: null`, `resources: {}` and `status: {}` included.
    let mut metadata =
        vec![("creationTimestamp", Value::Null), ("name", r.name.into()), ("labels", labels_value(&labels))];
    if let Some(ns) = r.namespace {
        metadata.push(("namespace", ns.into()));
    }
    Ok(map(vec![
        ("apiVersion", "v1".into()),
        ("kind", "Pod".into()),
        ("status", map(vec![])),
        ("metadata", map(metadata)),
        (
            "spec",
            map(vec![
                ("containers", Value::Sequence(vec![map(container)])),
                ("dnsPolicy", "ClusterFirst".into()),
                ("restartPolicy", restart.into()),
            ]),
        ),
    ]))
}

/// What `kubectl create deployment NAME --image=IMAGE [--replicas=N] [--port=P]` creates.
pub fn create_deployment(
    name: &str,
    image: &str,
    replicas: Option<i32>,
    port: Option<i32>,
    namespace: Option<&str>,
) -> Value {
    let labels = BTreeMap::from([("app".to_string(), name.to_string())]);
    let mut container =
        vec![("name", container_name_for(image).into()), ("image", image.into()), ("resources", map(vec![]))];
    if let Some(p) = port {
        container.push(("ports", Value::Sequence(vec![map(vec![("containerPort", p.into())])])));
    }
    let mut metadata =
        vec![("creationTimestamp", Value::Null), ("name", name.into()), ("labels", labels_value(&labels))];
    if let Some(ns) = namespace {
        metadata.push(("namespace", ns.into()));
    }
    map(vec![
        ("apiVersion", "apps/v1".into()),
        ("kind", "Deployment".into()),
        ("status", map(vec![])),
        ("metadata", map(metadata)),
        (
            "spec",
            map(vec![
                ("replicas", replicas.unwrap_or(1).into()),
                ("selector", map(vec![("matchLabels", labels_value(&labels))])),
                ("strategy", map(vec![])),
                (
                    "template",
                    map(vec![
                        (
                            "metadata",
                            map(vec![("creationTimestamp", Value::Null), ("labels", labels_value(&labels))]),
                        ),
                        ("spec", map(vec![("containers", Value::Sequence(vec![map(container)]))])),
                    ]),
                ),
            ]),
        ),
    ])
}

/// What `kubectl expose KIND NAME --port=P` creates: a Service selecting what the object
/// selects (a Deployment's or ReplicaSet's selector, a Pod's labels), named after it.
pub struct ExposeRequest<'a> {
    pub target: &'a Object,
    pub port: i32,
    pub target_port: Option<&'a str>,
    pub name: Option<&'a str>,
    pub type_: Option<&'a str>,
    pub protocol: Option<&'a str>,
}

pub fn expose(r: &ExposeRequest<'_>) -> Result<Value, QueryError> {
    let obj = r.target;
    let match_labels = |s: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>| {
        s.and_then(|s| s.match_labels.clone()).filter(|m| !m.is_empty())
    };
    let selector: Option<BTreeMap<String, String>> = match obj {
        Object::Pod(p) => p.metadata.labels.clone().filter(|m| !m.is_empty()),
        Object::Deployment(d) => match_labels(d.spec.as_ref().map(|s| &s.selector)),
        Object::ReplicaSet(rs) => match_labels(rs.spec.as_ref().map(|s| &s.selector)),
        Object::StatefulSet(s) => match_labels(s.spec.as_ref().map(|s| &s.selector)),
        Object::Service(s) => s.spec.as_ref().and_then(|s| s.selector.clone()),
        _ => {
            return Err(QueryError::invalid(format!(
            "cannot expose a {}: pods, deployments, replicasets, statefulsets and services can be exposed",
            obj.kind()
        )))
        }
    };
    let Some(selector) = selector else {
        return Err(QueryError::invalid(format!(
            "couldn't retrieve selectors via --selector flag or introspection: the {} has no labels to select",
            obj.kind().singular()
        )));
    };
    let target_port: Value = match r.target_port {
        Some(t) => match t.parse::<i32>() {
            Ok(n) => n.into(),
            Err(_) => t.into(),
        },
        None => r.port.into(),
    };
    let name = r.name.unwrap_or(obj.name());
    let mut metadata = vec![("creationTimestamp", Value::Null), ("name", name.into())];
    if let Some(labels) = obj.labels().filter(|l| !l.is_empty()) {
        metadata.push(("labels", labels_value(labels)));
    }
    if let Some(ns) = obj.namespace() {
        metadata.push(("namespace", ns.into()));
    }
    let mut spec = vec![
        (
            "ports",
            Value::Sequence(vec![map(vec![
                ("port", r.port.into()),
                ("protocol", r.protocol.unwrap_or("TCP").into()),
                ("targetPort", target_port),
            ])]),
        ),
        ("selector", labels_value(&selector)),
    ];
    if let Some(t) = r.type_ {
        spec.push(("type", t.into()));
    }
    Ok(map(vec![
        ("apiVersion", "v1".into()),
        ("kind", "Service".into()),
        ("metadata", map(metadata)),
        ("spec", map(spec)),
        ("status", map(vec![("loadBalancer", map(vec![]))])),
    ]))
}

/// The kinds `expose` takes, for the error before looking anything up.
pub fn exposable(kind: Kind) -> bool {
    matches!(kind, Kind::Pod | Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::Service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_come_from_the_image_as_kubectl_derives_them() {
        assert_eq!(container_name_for("nginx:1.27"), "nginx");
        assert_eq!(container_name_for("registry.k8s.io/pause:3.9"), "pause");
        assert_eq!(container_name_for("busybox@sha256:abc"), "busybox");
    }

    #[test]
    fn run_makes_a_pod_labelled_run_name() {
        let pod = run_pod(&RunRequest {
            name: "nginx",
            image: "nginx:1.27",
            labels: None,
            port: Some(80),
            restart: None,
            namespace: None,
            rest: &[],
            command: false,
        })
        .unwrap();
        let text = serde_yaml::to_string(&pod).unwrap();
        assert!(
            text.contains("run: nginx")
                && text.contains("containerPort: 80")
                && text.contains("restartPolicy: Always"),
            "{text}"
        );
    }
}
