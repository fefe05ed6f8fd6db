//! Field selectors the API server supports per kind (the `AddFieldLabelConversionFunc`
//! registrations in pkg/apis/*/v1/conversion.go), e.g. `spec.nodeName` for pods.

use k8s_openapi::api::core::v1::{Event, Node, Pod};

use crate::api::{Kind, Object};

/// Fields each kind can be selected by, besides `metadata.name` and `metadata.namespace`.
pub fn supported_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Pod => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        Kind::Node => &["spec.unschedulable"],
        Kind::Event => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        Kind::Secret => &["type"],
        Kind::Namespace => &["status.phase"],
        _ => &[],
    }
}

/// Whether `kind` can be selected by `field`.
pub fn supports_field(kind: Kind, field: &str) -> bool {
    field == "metadata.name"
        || (field == "metadata.namespace" && kind.namespaced())
        || supported_fields(kind).contains(&field)
}

/// The value of a selectable field ("" when the field is unset, as upstream).
pub fn field_value(obj: &Object, field: &str) -> Option<String> {
    match field {
        "metadata.name" => return Some(obj.name().to_string()),
        "metadata.namespace" => return Some(obj.namespace().unwrap_or("").to_string()),
        _ => {}
    }
    let s = |v: Option<&str>| Some(v.unwrap_or("").to_string());
    match obj {
        Object::Pod(p) => pod_field(p, field),
        Object::Node(n) => node_field(n, field),
        Object::Event(e) => event_field(e, field),
        Object::Secret(sec) if field == "type" => s(sec.type_.as_deref()),
        Object::Namespace(ns) if field == "status.phase" => {
            s(ns.status.as_ref().and_then(|st| st.phase.as_deref()))
        }
        _ => None,
    }
}

fn pod_field(p: &Pod, field: &str) -> Option<String> {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let s = |v: Option<&str>| Some(v.unwrap_or("").to_string());
    match field {
        "spec.nodeName" => s(spec.and_then(|x| x.node_name.as_deref())),
        "spec.restartPolicy" => s(spec.and_then(|x| x.restart_policy.as_deref())),
        "spec.schedulerName" => s(spec.and_then(|x| x.scheduler_name.as_deref())),
        "spec.serviceAccountName" => s(spec.and_then(|x| x.service_account_name.as_deref())),
        "spec.hostNetwork" => Some(spec.and_then(|x| x.host_network).unwrap_or(false).to_string()),
        "status.phase" => s(status.and_then(|x| x.phase.as_deref())),
        "status.podIP" => s(status.and_then(|x| x.pod_ip.as_deref())),
        "status.nominatedNodeName" => s(status.and_then(|x| x.nominated_node_name.as_deref())),
        _ => None,
    }
}

fn node_field(n: &Node, field: &str) -> Option<String> {
    match field {
        "spec.unschedulable" => {
            Some(n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false).to_string())
        }
        _ => None,
    }
}

fn event_field(e: &Event, field: &str) -> Option<String> {
    let io = &e.involved_object;
    let s = |v: Option<&str>| Some(v.unwrap_or("").to_string());
    match field {
        "involvedObject.kind" => s(io.kind.as_deref()),
        "involvedObject.namespace" => s(io.namespace.as_deref()),
        "involvedObject.name" => s(io.name.as_deref()),
        "involvedObject.uid" => s(io.uid.as_deref()),
        "involvedObject.apiVersion" => s(io.api_version.as_deref()),
        "involvedObject.resourceVersion" => s(io.resource_version.as_deref()),
        "involvedObject.fieldPath" => s(io.field_path.as_deref()),
        "reason" => s(e.reason.as_deref()),
        "reportingComponent" => s(e.reporting_component.as_deref()),
        "source" => s(e.source.as_ref().and_then(|x| x.component.as_deref())),
        "type" => s(e.type_.as_deref()),
        _ => None,
    }
}
