//! The object kinds kubesim knows, as one table.
//!
//! Objects are the genuine `k8s-openapi` types (so real manifests load unchanged and `-o yaml`
//! is what a cluster would print). [`Object`] is a closed enum over them; [`Kind`] names a kind
//! and knows its API version, plural resource name, short names, whether it is namespaced and
//! where the API server keeps it in etcd (`/registry/<prefix>/…`). Kind, version and plural come
//! from `k8s_openapi::Resource`, not from strings typed here.

use std::fmt;

use k8s_openapi::api::{apps, batch, coordination, core, discovery, policy, rbac, scheduling};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::Resource;

/// Whether a k8s-openapi resource scope is namespaced.
pub trait ScopeInfo {
    const NAMESPACED: bool;
}
impl ScopeInfo for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl ScopeInfo for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// A k8s-openapi type that is one of the [`Object`] variants.
pub trait KindOf: Resource + Clone + Sized {
    const KIND: Kind;
    fn from_object(obj: &Object) -> Option<&Self>;
    fn into_object(self) -> Object;
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;
}

macro_rules! kinds {
    ($( $variant:ident => $ty:ty, etcd: $etcd:literal, short: [$($short:literal),*]; )*) => {
        /// A kind of object the API server serves.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $($variant),* }

        /// An API object: one of the k8s-openapi types, tagged with its kind. Variants are boxed:
        /// the types range from ~0.4 KiB (Lease) to ~2.8 KiB (workloads with a pod template), and
        /// etcd's history keeps many small objects, so each one costs only its own size.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Object { $($variant(Box<$ty>)),* }

        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// `Pod`, `Deployment`, … as in a manifest's `kind:`.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$variant => <$ty as Resource>::KIND),* }
            }
            /// `v1`, `apps/v1`, … as in a manifest's `apiVersion:`.
            pub fn api_version(self) -> &'static str {
                match self { $(Kind::$variant => <$ty as Resource>::API_VERSION),* }
            }
            /// The plural resource name: `pods`, `deployments`, …
            pub fn resource(self) -> &'static str {
                match self { $(Kind::$variant => <$ty as Resource>::URL_PATH_SEGMENT),* }
            }
            /// Short names `kubectl` accepts (`po`, `deploy`, …).
            pub fn short_names(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => &[$($short),*]),* }
            }
            /// Whether objects of this kind live in a namespace.
            pub fn namespaced(self) -> bool {
                match self { $(Kind::$variant => <<$ty as Resource>::Scope as ScopeInfo>::NAMESPACED),* }
            }
            /// The etcd key prefix under `/registry/` (kube-apiserver's storage layout; nodes are
            /// `minions`, services `services/specs`, endpoints `services/endpoints`).
            pub fn etcd_prefix(self) -> &'static str {
                match self { $(Kind::$variant => $etcd),* }
            }
            /// Decodes a manifest of this kind.
            pub(crate) fn decode_with<'de, D: serde::Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
                use serde::Deserialize;
                Ok(match self { $(Kind::$variant => Object::$variant(Box::new(<$ty>::deserialize(d)?))),* })
            }
        }

        impl Object {
            pub fn kind(&self) -> Kind {
                match self { $(Object::$variant(_) => Kind::$variant),* }
            }
            pub fn meta(&self) -> &ObjectMeta {
                match self { $(Object::$variant(o) => &o.metadata),* }
            }
            pub fn meta_mut(&mut self) -> &mut ObjectMeta {
                match self { $(Object::$variant(o) => &mut o.metadata),* }
            }
            /// The object as JSON, with `apiVersion` and `kind` (k8s-openapi adds both).
            pub fn to_json(&self) -> serde_json::Value {
                let value = match self { $(Object::$variant(o) => serde_json::to_value(o)),* };
                value.expect("k8s-openapi types always serialize")
            }
        }

        $(
            impl KindOf for $ty {
                const KIND: Kind = Kind::$variant;
                fn from_object(obj: &Object) -> Option<&Self> {
                    match obj { Object::$variant(o) => Some(o), _ => None }
                }
                fn into_object(self) -> Object { Object::$variant(Box::new(self)) }
                fn meta(&self) -> &ObjectMeta { &self.metadata }
                fn meta_mut(&mut self) -> &mut ObjectMeta { &mut self.metadata }
            }
        )*
    };
}

kinds! {
    Namespace => core::v1::Namespace, etcd: "namespaces", short: ["ns"];
    Node => core::v1::Node, etcd: "minions", short: ["no"];
    Pod => core::v1::Pod, etcd: "pods", short: ["po"];
    Service => core::v1::Service, etcd: "services/specs", short: ["svc"];
    Endpoints => core::v1::Endpoints, etcd: "services/endpoints", short: ["ep"];
    ConfigMap => core::v1::ConfigMap, etcd: "configmaps", short: ["cm"];
    Secret => core::v1::Secret, etcd: "secrets", short: [];
    ServiceAccount => core::v1::ServiceAccount, etcd: "serviceaccounts", short: ["sa"];
    Event => core::v1::Event, etcd: "events", short: ["ev"];
    LimitRange => core::v1::LimitRange, etcd: "limitranges", short: ["limits"];
    ResourceQuota => core::v1::ResourceQuota, etcd: "resourcequotas", short: ["quota"];
    ReplicaSet => apps::v1::ReplicaSet, etcd: "replicasets", short: ["rs"];
    Deployment => apps::v1::Deployment, etcd: "deployments", short: ["deploy"];
    DaemonSet => apps::v1::DaemonSet, etcd: "daemonsets", short: ["ds"];
    StatefulSet => apps::v1::StatefulSet, etcd: "statefulsets", short: ["sts"];
    Job => batch::v1::Job, etcd: "jobs", short: [];
    CronJob => batch::v1::CronJob, etcd: "cronjobs", short: ["cj"];
    EndpointSlice => discovery::v1::EndpointSlice, etcd: "endpointslices", short: [];
    Lease => coordination::v1::Lease, etcd: "leases", short: [];
    PriorityClass => scheduling::v1::PriorityClass, etcd: "priorityclasses", short: ["pc"];
    PodDisruptionBudget => policy::v1::PodDisruptionBudget, etcd: "poddisruptionbudgets", short: ["pdb"];
    Role => rbac::v1::Role, etcd: "roles", short: [];
    RoleBinding => rbac::v1::RoleBinding, etcd: "rolebindings", short: [];
    ClusterRole => rbac::v1::ClusterRole, etcd: "clusterroles", short: [];
    ClusterRoleBinding => rbac::v1::ClusterRoleBinding, etcd: "clusterrolebindings", short: [];
}

impl Kind {
    /// Looks a kind up the way `kubectl get` does: by kind, plural, singular or short name,
    /// case-insensitively (`pods`, `pod`, `po`, `Pod`, `deploy`).
    pub fn lookup(name: &str) -> Option<Kind> {
        let n = name.to_ascii_lowercase();
        Kind::ALL.iter().copied().find(|k| {
            k.name().eq_ignore_ascii_case(&n) || k.resource() == n || k.short_names().contains(&n.as_str())
        })
    }

    /// The kind a manifest's `apiVersion` and `kind` name.
    pub fn from_manifest(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.api_version() == api_version && k.name() == kind)
    }

    /// `/registry/<prefix>/<namespace>/<name>` or `/registry/<prefix>/<name>`.
    pub fn etcd_key(self, namespace: Option<&str>, name: &str) -> String {
        // Built by hand rather than with format!: every API read and write builds one.
        let prefix = self.etcd_prefix();
        let ns = namespace.filter(|_| self.namespaced());
        let mut key = String::with_capacity(11 + prefix.len() + ns.map_or(0, |n| n.len() + 1) + name.len());
        key.push_str("/registry/");
        key.push_str(prefix);
        key.push('/');
        if let Some(ns) = ns {
            key.push_str(ns);
            key.push('/');
        }
        key.push_str(name);
        key
    }

    /// The key prefix for all objects of this kind, optionally in one namespace (with a
    /// trailing slash, so `pods/default/` does not match `pods/default-x/…`).
    pub fn etcd_prefix_key(self, namespace: Option<&str>) -> String {
        match namespace.filter(|_| self.namespaced()) {
            Some(ns) => format!("/registry/{}/{}/", self.etcd_prefix(), ns),
            None => format!("/registry/{}/", self.etcd_prefix()),
        }
    }

    /// The lower-case singular used in `kubectl` object references (`pod/web-x`, `node/n1`).
    pub fn singular(self) -> String {
        self.name().to_ascii_lowercase()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Object {
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or("")
    }
    pub fn namespace(&self) -> Option<&str> {
        self.meta().namespace.as_deref()
    }
    pub fn uid(&self) -> &str {
        self.meta().uid.as_deref().unwrap_or("")
    }
    pub fn labels(&self) -> Option<&std::collections::BTreeMap<String, String>> {
        self.meta().labels.as_ref()
    }
    /// `metadata.resourceVersion` as a number (0 when unset).
    pub fn resource_version(&self) -> i64 {
        self.meta().resource_version.as_deref().map_or(0, parse_resource_version)
    }
    /// `pod/web-x` style reference.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind().singular(), self.name())
    }
    /// `default/web-x` or `worker-1` for cluster-scoped objects.
    pub fn namespaced_name(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{ns}/{}", self.name()),
            None => self.name().to_string(),
        }
    }
    /// Typed view of the object.
    pub fn as_type<T: KindOf>(&self) -> Option<&T> {
        T::from_object(self)
    }
    pub fn etcd_key(&self) -> String {
        self.kind().etcd_key(self.namespace(), self.name())
    }
    /// The object as YAML, as `kubectl get -o yaml` prints it.
    pub fn to_yaml(&self) -> String {
        crate::output::yaml::to_yaml(&self.to_json())
    }
}

/// A resourceVersion as a number, 0 if it is not one (`str::parse::<i64>`'s rules). Up to 18
/// plain digits, every revision this simulator writes, are read by a digit loop: this runs
/// several times per write and per watch event, and the general parser cost ~100
/// instructions a call.
fn parse_resource_version(rv: &str) -> i64 {
    let bytes = rv.as_bytes();
    if !bytes.is_empty() && bytes.len() <= 18 && bytes.iter().all(u8::is_ascii_digit) {
        return bytes.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
    }
    rv.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_versions_parse_as_str_parse_does() {
        for rv in [
            "0",
            "1",
            "42",
            "000123",
            "999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
            "-5",
            "+7",
            "",
            "12a",
            " 1",
            "1.5",
        ] {
            assert_eq!(parse_resource_version(rv), rv.parse::<i64>().unwrap_or(0), "{rv:?}");
        }
    }

    #[test]
    fn table_facts_come_from_k8s_openapi() {
        assert_eq!(Kind::Pod.api_version(), "v1");
        assert_eq!(Kind::Deployment.api_version(), "apps/v1");
        assert_eq!(Kind::Pod.resource(), "pods");
        assert!(Kind::Pod.namespaced());
        assert!(!Kind::Node.namespaced());
        assert!(!Kind::PriorityClass.namespaced());
        assert_eq!(Kind::Node.etcd_key(None, "worker-1"), "/registry/minions/worker-1");
        assert_eq!(
            Kind::Service.etcd_key(Some("default"), "kubernetes"),
            "/registry/services/specs/default/kubernetes"
        );
        assert_eq!(
            Kind::Lease.etcd_key(Some("kube-node-lease"), "n1"),
            "/registry/leases/kube-node-lease/n1"
        );
    }

    #[test]
    fn lookup_accepts_kubectl_spellings() {
        for (name, kind) in [
            ("po", Kind::Pod),
            ("pods", Kind::Pod),
            ("Pod", Kind::Pod),
            ("deploy", Kind::Deployment),
            ("rs", Kind::ReplicaSet),
            ("nodes", Kind::Node),
            ("svc", Kind::Service),
            ("ev", Kind::Event),
        ] {
            assert_eq!(Kind::lookup(name), Some(kind), "{name}");
        }
        assert_eq!(Kind::lookup("gadgets"), None);
    }
}
