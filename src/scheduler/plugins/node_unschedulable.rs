//! The NodeUnschedulable filter (pkg/scheduler/framework/plugins/nodeunschedulable): a cordoned
//! node (`spec.unschedulable`) takes only pods tolerating
//! `node.kubernetes.io/unschedulable:NoSchedule`.

use k8s_openapi::api::core::v1::{Pod, Taint};

use crate::api::pod as podutil;
use crate::scheduler::cache::NodeInfo;
use crate::scheduler::framework::{CycleState, FilterPlugin, Status};

pub const NAME: &str = "NodeUnschedulable";
/// `ErrReasonUnschedulable`.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";

pub struct NodeUnschedulable;

crate::impl_plugin!(NodeUnschedulable, NAME, [filter]);

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        if !node.unschedulable {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        if podutil::tolerations(pod).iter().any(|t| podutil::tolerates(t, &taint)) {
            return Status::success();
        }
        Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::Code;
    use k8s_openapi::api::core::v1::{Node, NodeSpec, PodSpec, Toleration};

    fn node(unschedulable: Option<bool>) -> NodeInfo {
        NodeInfo::new(Node {
            spec: Some(NodeSpec { unschedulable, ..Default::default() }),
            ..Default::default()
        })
    }

    #[test]
    fn upstream_cases() {
        // node_unschedulable_test.go TestNodeUnschedulable.
        let plain = Pod::default();
        let tolerating = Pod {
            spec: Some(PodSpec {
                tolerations: Some(vec![Toleration {
                    key: Some("node.kubernetes.io/unschedulable".into()),
                    effect: Some("NoSchedule".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let st = CycleState::default();
        let f = NodeUnschedulable;
        assert_eq!(f.filter(&st, &plain, &node(Some(true))).code, Code::UnschedulableAndUnresolvable);
        assert!(f.filter(&st, &plain, &node(Some(false))).is_success());
        assert!(f.filter(&st, &plain, &node(None)).is_success());
        assert!(f.filter(&st, &tolerating, &node(Some(true))).is_success());
        assert_eq!(f.filter(&st, &plain, &node(Some(true))).reasons, [ERR_REASON_UNSCHEDULABLE]);
    }
}
