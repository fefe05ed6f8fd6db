//! The NodeName filter (pkg/scheduler/framework/plugins/nodename): a pod that names a node in
//! `spec.nodeName` fits only that node. (A pod created with `nodeName` set skips the scheduler
//! altogether; this filter matters for pods whose nodeName is set while they are queued.)

use k8s_openapi::api::core::v1::Pod;

use crate::scheduler::cache::NodeInfo;
use crate::scheduler::framework::{CycleState, FilterPlugin, Status};

pub const NAME: &str = "NodeName";
/// `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

pub struct NodeName;

crate::impl_plugin!(NodeName, NAME, [filter]);

/// `Fits`: no nodeName, or the node's name.
pub fn fits(pod: &Pod, node: &NodeInfo) -> bool {
    match pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty()) {
        None => true,
        Some(wanted) => wanted == node.name(),
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        if fits(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::Code;
    use k8s_openapi::api::core::v1::{Node, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn upstream_cases() {
        // node_name_test.go TestNodeName.
        let node = NodeInfo::new(Node {
            metadata: ObjectMeta { name: Some("foo".into()), ..Default::default() },
            ..Default::default()
        });
        let pod = |n: Option<&str>| Pod {
            spec: Some(PodSpec { node_name: n.map(String::from), ..Default::default() }),
            ..Default::default()
        };
        let st = CycleState::default();
        assert!(NodeName.filter(&st, &pod(None), &node).is_success(), "no host specified");
        assert!(NodeName.filter(&st, &pod(Some("foo")), &node).is_success(), "host matches");
        let s = NodeName.filter(&st, &pod(Some("bar")), &node);
        assert_eq!((s.code, s.reasons), (Code::UnschedulableAndUnresolvable, vec![ERR_REASON.to_string()]));
    }
}
