//! Controller references (pkg/controller/controller_ref_manager.go): how a controller claims
//! the objects its selector matches. Owned objects that still match are kept, matching
//! orphans are adopted (a controller ownerReference is added), owned objects that no longer
//! match are released (the reference is removed). A controller being deleted adopts nothing
//! and releases nothing.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::api::pod as podutil;
use crate::api::{Kind, LabelSelector, Object};
use crate::sim::Context;

/// A controller ownerReference to `owner` (controller and blockOwnerDeletion set, as every
/// built-in controller writes them).
pub fn controller_ref(kind: Kind, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: kind.api_version().into(),
        kind: kind.name().into(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A pod built from a controller's pod template (controller.GetPodFromTemplate): named
/// `<owner>-xxxxx`, with the template's labels, annotations and finalizers, and a controller
/// reference to the owner.
pub fn pod_from_template(template: Option<&PodTemplateSpec>, kind: Kind, owner: &ObjectMeta) -> Pod {
    let template = template.cloned().unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", owner.name.as_deref().unwrap_or(""))),
            namespace: owner.namespace.clone(),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![controller_ref(kind, owner)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// The selector of a workload, or one that matches nothing when it is missing, empty or
/// invalid (validation rejects those on create anyway).
pub fn selector_or_nothing(
    sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> LabelSelector {
    sel.and_then(|s| LabelSelector::from_k8s(s).ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| LabelSelector::parse("kubesim.invalid/never").expect("valid"))
}

/// Changes an object's ownerReferences the way AdoptPod / ReleasePod do: a patch guarded by the
/// object's UID, not its resourceVersion, so a cache a moment behind (the scheduler just bound
/// the pod) does not make adoption fail. `None` if the object is gone or was replaced.
fn patch_owner_refs(
    ctx: &mut Context<'_>,
    obj: &Object,
    edit: impl FnOnce(&mut Vec<OwnerReference>),
) -> Option<Arc<Object>> {
    let current = ctx.api.get(obj.kind(), obj.namespace(), obj.name()).ok()?;
    if current.uid() != obj.uid() {
        return None;
    }
    let mut next = (*current).clone();
    let meta = next.meta_mut();
    let mut refs = meta.owner_references.take().unwrap_or_default();
    edit(&mut refs);
    meta.owner_references = (!refs.is_empty()).then_some(refs);
    ctx.api.update(next).ok()
}

/// Claims `candidates` for the controller `owner` of kind `kind`, returning the objects it
/// owns afterwards (adoptions and releases are written through the API server).
pub fn claim(
    ctx: &mut Context<'_>,
    kind: Kind,
    owner: &ObjectMeta,
    selector: &LabelSelector,
    candidates: impl IntoIterator<Item = Arc<Object>>,
) -> Vec<Arc<Object>> {
    let owner_uid = owner.uid.as_deref().unwrap_or("");
    let owner_deleting = owner.deletion_timestamp.is_some();
    let mut owned = Vec::new();
    for obj in candidates {
        let matches = selector.matches(obj.labels());
        match podutil::controller_of(obj.meta()) {
            Some(r) if r.uid == owner_uid => {
                if matches {
                    owned.push(obj);
                } else if !owner_deleting {
                    let _ = patch_owner_refs(ctx, &obj, |refs| refs.retain(|r| r.uid != owner_uid));
                }
            }
            None if matches && obj.meta().deletion_timestamp.is_none() && !owner_deleting => {
                let adopt = |refs: &mut Vec<OwnerReference>| refs.push(controller_ref(kind, owner));
                if let Some(updated) = patch_owner_refs(ctx, &obj, adopt) {
                    owned.push(updated);
                }
            }
            _ => {}
        }
    }
    owned
}
