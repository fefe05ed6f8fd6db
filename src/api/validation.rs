//! Validation with the API server's messages (pkg/apis/core/validation, apps/validation):
//! names, required fields, selectors that must match templates, quantities, enum values.
//! An invalid object is rejected with `The <Kind> "<name>" is invalid: <field>: <reason>`.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sLabelSelector;

use super::kinds::{Kind, Object};
use super::quantity::Quantity;
use super::selectors::LabelSelector;

/// One field error, rendered like `field.ErrorList` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label_chars(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 label (namespaces, container names).
pub fn is_dns1123_label(s: &str) -> bool {
    is_label_chars(s)
}

/// RFC 1123 subdomain (most object names).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    // One pass over the bytes (the API server checks the name on every write): labels of
    // [a-z0-9-], 1 to 63 long, starting and ending alphanumeric, separated by single dots.
    let bytes = s.as_bytes();
    if bytes.len() > 253 {
        return false;
    }
    let mut label_len = 0;
    let mut prev = b'.';
    for &b in bytes {
        match b {
            b'.' => {
                if label_len == 0 || prev == b'-' {
                    return false;
                }
                label_len = 0;
            }
            b'a'..=b'z' | b'0'..=b'9' | b'-' => {
                if label_len == 0 && b == b'-' {
                    return false;
                }
                label_len += 1;
                if label_len > 63 {
                    return false;
                }
            }
            _ => return false,
        }
        prev = b;
    }
    label_len > 0 && prev != b'-'
}

/// RFC 1035 label (service names).
pub fn is_dns1035_label(s: &str) -> bool {
    is_label_chars(s) && s.as_bytes()[0].is_ascii_lowercase()
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }
    fn required(&mut self, field: impl Into<String>) {
        self.add(field, "Required value");
    }
    fn invalid(&mut self, field: impl Into<String>, value: impl std::fmt::Display, why: &str) {
        self.add(field, format!("Invalid value: {value}: {why}"));
    }
    fn unsupported(&mut self, field: impl Into<String>, value: &str, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        self.add(field, format!("Unsupported value: {value:?}: supported values: {}", list.join(", ")));
    }
}

/// Validates an object (after defaulting). Returns every field error found.
pub fn validate(obj: &Object) -> Vec<FieldError> {
    let mut e = Errors(Vec::new());
    let meta = obj.meta();
    let kind = obj.kind();
    match (meta.name.as_deref(), meta.generate_name.as_deref()) {
        (None | Some(""), None | Some("")) => {
            e.add("metadata.name", "Required value: name or generateName is required")
        }
        (Some(name), _) if !name.is_empty() => {
            let (ok, msg) = match kind {
                Kind::Namespace => (is_dns1123_label(name), DNS1123_LABEL),
                Kind::Service => (is_dns1035_label(name), DNS1035_LABEL),
                _ => (is_dns1123_subdomain(name), DNS1123_SUBDOMAIN),
            };
            if !ok {
                e.invalid("metadata.name", format!("{name:?}"), msg);
            }
        }
        _ => {}
    }
    if kind.namespaced() {
        if let Some(ns) = meta.namespace.as_deref() {
            if !is_dns1123_label(ns) {
                e.invalid("metadata.namespace", format!("{ns:?}"), DNS1123_LABEL);
            }
        }
    }
    for (k, _) in meta.labels.iter().flatten() {
        let name = k.rsplit('/').next().unwrap_or(k);
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            e.invalid("metadata.labels", format!("{k:?}"), "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
        }
    }
    match obj {
        Object::Pod(pod) => match &pod.spec {
            Some(spec) => pod_spec(&mut e, "spec", spec, &["Always", "OnFailure", "Never"]),
            None => e.required("spec"),
        },
        Object::ReplicaSet(rs) => match &rs.spec {
            Some(spec) => {
                replicas(&mut e, spec.replicas);
                workload(&mut e, Some(&spec.selector), spec.template.as_ref(), &["Always"]);
            }
            None => e.required("spec"),
        },
        Object::Deployment(d) => match &d.spec {
            Some(spec) => {
                replicas(&mut e, spec.replicas);
                workload(&mut e, Some(&spec.selector), Some(&spec.template), &["Always"]);
                if let Some(s) = spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) {
                    if s != "RollingUpdate" && s != "Recreate" {
                        e.unsupported("spec.strategy.type", s, &["Recreate", "RollingUpdate"]);
                    }
                }
            }
            None => e.required("spec"),
        },
        Object::DaemonSet(ds) => match &ds.spec {
            Some(spec) => workload(&mut e, Some(&spec.selector), Some(&spec.template), &["Always"]),
            None => e.required("spec"),
        },
        Object::StatefulSet(sts) => match &sts.spec {
            Some(spec) => {
                replicas(&mut e, spec.replicas);
                workload(&mut e, Some(&spec.selector), Some(&spec.template), &["Always"]);
            }
            None => e.required("spec"),
        },
        Object::Job(job) => match &job.spec {
            // The Job's selector is generated when absent, so only the template is checked.
            Some(spec) => match &spec.template.spec {
                Some(ps) => pod_spec(&mut e, "spec.template.spec", ps, &["OnFailure", "Never"]),
                None => e.required("spec.template.spec"),
            },
            None => e.required("spec"),
        },
        Object::Service(svc) => {
            if let Some(spec) = &svc.spec {
                let ty = spec.type_.as_deref().unwrap_or("ClusterIP");
                if !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(&ty) {
                    e.unsupported(
                        "spec.type",
                        ty,
                        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
                    );
                }
                let headless = spec.cluster_ip.as_deref() == Some("None");
                if spec.ports.as_ref().is_none_or(Vec::is_empty) && ty != "ExternalName" && !headless {
                    e.required("spec.ports");
                }
                for (i, p) in spec.ports.iter().flatten().enumerate() {
                    if !(1..=65535).contains(&p.port) {
                        e.invalid(
                            format!("spec.ports[{i}].port"),
                            p.port,
                            "must be between 1 and 65535, inclusive",
                        );
                    }
                }
            }
        }
        Object::Node(node) => {
            for (field, list) in [
                ("status.capacity", node.status.as_ref().and_then(|s| s.capacity.as_ref())),
                ("status.allocatable", node.status.as_ref().and_then(|s| s.allocatable.as_ref())),
            ] {
                for (res, q) in list.into_iter().flatten() {
                    quantity(&mut e, &format!("{field}[{res}]"), &q.0);
                }
            }
        }
        _ => {}
    }
    e.0
}

fn replicas(e: &mut Errors, replicas: Option<i32>) {
    if let Some(r) = replicas.filter(|r| *r < 0) {
        e.invalid("spec.replicas", r, "must be greater than or equal to 0");
    }
}

fn workload(
    e: &mut Errors,
    selector: Option<&K8sLabelSelector>,
    template: Option<&PodTemplateSpec>,
    policies: &[&str],
) {
    let selector = match selector {
        None => return e.required("spec.selector"),
        Some(s) => s,
    };
    let parsed = match LabelSelector::from_k8s(selector) {
        Ok(s) => s,
        Err(err) => return e.invalid("spec.selector", &err.input, &err.reason),
    };
    if parsed.is_empty() {
        e.invalid("spec.selector", "{}", "empty selector is invalid for deployment");
    }
    let Some(template) = template else {
        return e.required("spec.template");
    };
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    if !parsed.is_empty() && !parsed.matches(labels) {
        let shown: Vec<String> = labels.into_iter().flatten().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
        e.invalid(
            "spec.template.metadata.labels",
            format!("map[string]string{{{}}}", shown.join(", ")),
            "`selector` does not match template `labels`",
        );
    }
    match &template.spec {
        Some(spec) => pod_spec(e, "spec.template.spec", spec, policies),
        None => e.required("spec.template.spec"),
    }
}

fn pod_spec(e: &mut Errors, at: &str, spec: &PodSpec, restart_policies: &[&str]) {
    if spec.containers.is_empty() {
        e.required(format!("{at}.containers"));
    }
    let mut names = BTreeSet::new();
    for (list, containers) in
        [("initContainers", spec.init_containers.as_deref().unwrap_or(&[])), ("containers", &spec.containers)]
    {
        for (i, c) in containers.iter().enumerate() {
            container(e, &format!("{at}.{list}[{i}]"), c, &mut names);
        }
    }
    if let Some(p) = spec.restart_policy.as_deref() {
        if !restart_policies.contains(&p) {
            e.unsupported(format!("{at}.restartPolicy"), p, restart_policies);
        }
    }
    if let Some(g) = spec.termination_grace_period_seconds.filter(|g| *g < 0) {
        e.invalid(format!("{at}.terminationGracePeriodSeconds"), g, "must be greater than or equal to 0");
    }
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        let op = t.operator.as_deref().unwrap_or("Equal");
        if op != "Equal" && op != "Exists" {
            e.unsupported(format!("{at}.tolerations[{i}].operator"), op, &["Equal", "Exists"]);
        }
        if op == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
            e.invalid(
                format!("{at}.tolerations[{i}].operator"),
                format!("{op:?}"),
                "value must be empty when `operator` is 'Exists'",
            );
        }
        if let Some(eff) = t.effect.as_deref().filter(|e| !e.is_empty()) {
            if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&eff) {
                e.unsupported(
                    format!("{at}.tolerations[{i}].effect"),
                    eff,
                    &["NoExecute", "NoSchedule", "PreferNoSchedule"],
                );
            }
        }
    }
}

fn container(e: &mut Errors, at: &str, c: &Container, names: &mut BTreeSet<String>) {
    if c.name.is_empty() {
        e.required(format!("{at}.name"));
    } else if !is_dns1123_label(&c.name) {
        e.invalid(format!("{at}.name"), format!("{:?}", c.name), DNS1123_LABEL);
    } else if !names.insert(c.name.clone()) {
        e.add(format!("{at}.name"), format!("Duplicate value: {:?}", c.name));
    }
    if c.image.as_deref().is_none_or(str::is_empty) {
        e.required(format!("{at}.image"));
    }
    if let Some(res) = &c.resources {
        for (which, list) in [("requests", &res.requests), ("limits", &res.limits)] {
            for (name, q) in list.iter().flatten() {
                quantity(e, &format!("{at}.resources.{which}[{name}]"), &q.0);
            }
        }
        if let (Some(req), Some(lim)) = (&res.requests, &res.limits) {
            for (name, r) in req {
                let (Some(l), Ok(rq)) = (lim.get(name), Quantity::parse(&r.0)) else {
                    continue;
                };
                let Ok(lq) = Quantity::parse(&l.0) else {
                    continue;
                };
                if rq.milli_value() > lq.milli_value() {
                    e.invalid(
                        format!("{at}.resources.requests"),
                        format!("{:?}", r.0),
                        &format!("must be less than or equal to {name} limit of {}", l.0),
                    );
                }
            }
        }
    }
}

fn quantity(e: &mut Errors, field: &str, text: &str) {
    match Quantity::parse(text) {
        Err(err) => e.invalid(field.to_string(), format!("{text:?}"), &err.to_string()),
        Ok(q) if q.is_negative() => {
            e.invalid(field.to_string(), format!("{text:?}"), "must be greater than or equal to 0")
        }
        Ok(_) => {}
    }
}

/// Formats errors as the API server's `Invalid` status message.
pub fn invalid_message(kind: Kind, name: &str, errors: &[FieldError]) -> String {
    let list = if errors.len() == 1 {
        errors[0].to_string()
    } else {
        format!("[{}]", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
    };
    format!("{} {name:?} is invalid: {list}", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::decode::decode_documents;

    fn errors(yaml: &str) -> Vec<String> {
        let mut obj = decode_documents(yaml).unwrap().remove(0);
        crate::api::defaults::apply(&mut obj);
        validate(&obj).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn names() {
        assert!(is_dns1123_subdomain("web-1.example"));
        // The byte loop agrees with the label-by-label definition.
        let by_labels = |s: &str| s.len() <= 253 && s.split('.').all(is_label_chars);
        let long_label = "a".repeat(64);
        let long_name = ["a"; 127].join(".");
        for s in [
            "",
            ".",
            "a",
            "a.",
            ".a",
            "a..b",
            "-a",
            "a-",
            "a-.b",
            "a.-b",
            "a-b.c-d",
            "0",
            "9a.b8",
            "A",
            "a_b",
            "worker-1234",
            "kube-node-lease",
            &long_label,
            &long_label[1..],
            &long_name,
        ] {
            assert_eq!(is_dns1123_subdomain(s), by_labels(s), "{s:?}");
        }
        assert!(!is_dns1123_subdomain("Web_1"));
        assert!(is_dns1035_label("my-svc"));
        assert!(!is_dns1035_label("1svc"));
        let errs = errors(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: Web_1}\nspec: {containers: [{name: c, image: x}]}\n",
        );
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn required_fields_and_enums() {
        let errs = errors("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {restartPolicy: Sometimes, containers: [{name: c}]}\n");
        assert_eq!(
            errs,
            [
                "spec.containers[0].image: Required value",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            ]
        );
    }

    #[test]
    fn selector_must_match_template() {
        let errs = errors("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: c, image: x}]}\n");
        assert_eq!(errs, ["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: `selector` does not match template `labels`"]);
    }

    #[test]
    fn requests_within_limits_and_valid_quantities() {
        let errs = errors("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x, resources: {requests: {cpu: '2', memory: 1Zi}, limits: {cpu: '1'}}}]}\n");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("must be less than or equal to cpu limit of 1")));
        assert!(errs.iter().any(|e| e.contains("resources.requests[memory]")));
    }
}
