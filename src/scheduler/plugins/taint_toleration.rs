//! The TaintToleration plugin (pkg/scheduler/framework/plugins/tainttoleration): Filter rejects
//! nodes with a NoSchedule or NoExecute taint the pod does not tolerate; Score counts the
//! node's PreferNoSchedule taints the pod does not tolerate, normalized in reverse (fewer is
//! better).

use k8s_openapi::api::core::v1::{Pod, Toleration};

use super::default_normalize;
use crate::api::pod as podutil;
use crate::scheduler::cache::{NodeInfo, Snapshot};
use crate::scheduler::framework::{CycleState, FilterPlugin, PreScorePlugin, ScorePlugin, Status};

pub const NAME: &str = "TaintToleration";

pub struct TaintToleration;

crate::impl_plugin!(TaintToleration, NAME, [filter, pre_score, score]);

impl FilterPlugin for TaintToleration {
    fn filter(&self, _state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        match podutil::untolerated_taint(
            &node.taints,
            podutil::tolerations(pod),
            &["NoSchedule", "NoExecute"],
        ) {
            None => Status::success(),
            Some(taint) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint.key,
                taint.value.as_deref().unwrap_or("")
            )),
        }
    }
}

/// PreScore state: the pod's tolerations whose effect is PreferNoSchedule or empty.
#[derive(Clone)]
struct PreferNoScheduleTolerations(Vec<Toleration>);

impl PreScorePlugin for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _feasible: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        let tols = podutil::tolerations(pod)
            .iter()
            .filter(|t| t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "PreferNoSchedule"))
            .cloned()
            .collect();
        state.write(NAME, PreferNoScheduleTolerations(tols));
        Status::success()
    }
}

/// The raw score: the node's PreferNoSchedule taints none of `tolerations` tolerates.
pub fn intolerable_prefer_no_schedule(tolerations: &[Toleration], node: &NodeInfo) -> i64 {
    node.taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|taint| !tolerations.iter().any(|t| podutil::tolerates(t, taint)))
        .count() as i64
}

impl ScorePlugin for TaintToleration {
    fn score(
        &self,
        state: &CycleState,
        _pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        let tols = state
            .read::<PreferNoScheduleTolerations>(NAME)
            .ok_or_else(|| Status::error("reading \"PreScoreTaintToleration\" from cycleState: not found"))?;
        Ok(intolerable_prefer_no_schedule(&tols.0, node))
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &Pod,
        _feasible: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Status {
        default_normalize(scores, true);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Node, NodeSpec, PodSpec, Taint};

    fn node(taints: &[(&str, &str, &str)]) -> NodeInfo {
        let taints = taints
            .iter()
            .map(|(k, v, e)| Taint {
                key: k.to_string(),
                value: Some(v.to_string()),
                effect: e.to_string(),
                ..Default::default()
            })
            .collect();
        NodeInfo::new(Node {
            spec: Some(NodeSpec { taints: Some(taints), ..Default::default() }),
            ..Default::default()
        })
    }

    fn pod(tols: &[(&str, &str, &str, &str)]) -> Pod {
        let tolerations = tols
            .iter()
            .map(|(k, op, v, e)| Toleration {
                key: Some(k.to_string()),
                operator: Some(op.to_string()),
                value: Some(v.to_string()),
                effect: Some(e.to_string()),
                ..Default::default()
            })
            .collect();
        Pod {
            spec: Some(PodSpec { tolerations: Some(tolerations), ..Default::default() }),
            ..Default::default()
        }
    }

    fn scores(pod: &Pod, nodes: &[NodeInfo]) -> Vec<i64> {
        let mut st = CycleState::default();
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let snap = Snapshot {
            nodes,
            cluster: &Default::default(),
            image_spread: &Default::default(),
            affinity_lists: None,
        };
        assert!(TaintToleration.pre_score(&mut st, pod, &refs, &snap).is_success());
        let mut s: Vec<i64> =
            nodes.iter().map(|n| TaintToleration.score(&st, pod, n, &snap).unwrap()).collect();
        TaintToleration.normalize(&st, pod, &refs, &mut s);
        s
    }

    #[test]
    fn upstream_score_cases() {
        // taint_toleration_test.go TestTaintTolerationScore.
        // "node with taints tolerated by the pod, gets a higher score than those node with
        // intolerable taints"
        let p = pod(&[("foo", "Equal", "bar", "PreferNoSchedule")]);
        let nodes =
            [node(&[("foo", "bar", "PreferNoSchedule")]), node(&[("foo", "blah", "PreferNoSchedule")])];
        assert_eq!(scores(&p, &nodes), [100, 0]);
        // "the nodes that all of their taints are tolerated by the pod, get the same score, no
        // matter how many tolerable taints a node has"
        let p = pod(&[
            ("cpu-type", "Equal", "arm64", "PreferNoSchedule"),
            ("disk-type", "Equal", "ssd", "PreferNoSchedule"),
        ]);
        let nodes = [
            node(&[]),
            node(&[("cpu-type", "arm64", "PreferNoSchedule")]),
            node(&[("cpu-type", "arm64", "PreferNoSchedule"), ("disk-type", "ssd", "PreferNoSchedule")]),
        ];
        assert_eq!(scores(&p, &nodes), [100, 100, 100]);
        // "the more intolerable taints a node has, the lower score it gets."
        let p = pod(&[("foo", "Equal", "bar", "PreferNoSchedule")]);
        let nodes = [
            node(&[]),
            node(&[("cpu-type", "arm64", "PreferNoSchedule")]),
            node(&[("cpu-type", "arm64", "PreferNoSchedule"), ("disk-type", "ssd", "PreferNoSchedule")]),
        ];
        assert_eq!(scores(&p, &nodes), [100, 50, 0]);
        // "only taints and tolerations that have effect PreferNoSchedule are checked by
        // prioritizeNodes function"
        let p =
            pod(&[("cpu-type", "Equal", "arm64", "NoSchedule"), ("disk-type", "Equal", "ssd", "NoSchedule")]);
        let nodes = [
            node(&[]),
            node(&[("cpu-type", "arm64", "NoSchedule")]),
            node(&[("cpu-type", "arm64", "PreferNoSchedule"), ("disk-type", "ssd", "PreferNoSchedule")]),
        ];
        assert_eq!(scores(&p, &nodes), [100, 100, 0]);
        // "Default behaviour No taints and tolerations"
        assert_eq!(
            scores(&Pod::default(), &[node(&[]), node(&[("cpu-type", "arm64", "PreferNoSchedule")])]),
            [100, 0]
        );
    }

    #[test]
    fn upstream_filter_cases() {
        // taint_toleration_test.go TestTaintTolerationFilter.
        let st = CycleState::default();
        let s = TaintToleration.filter(&st, &Pod::default(), &node(&[("dedicated", "user1", "NoSchedule")]));
        assert_eq!(s.reasons, ["node(s) had untolerated taint {dedicated: user1}"]);
        let p = pod(&[("dedicated", "Equal", "user1", "NoSchedule")]);
        assert!(TaintToleration.filter(&st, &p, &node(&[("dedicated", "user1", "NoSchedule")])).is_success());
        let p = pod(&[("dedicated", "Equal", "user2", "NoSchedule")]);
        assert!(!TaintToleration
            .filter(&st, &p, &node(&[("dedicated", "user1", "NoSchedule")]))
            .is_success());
        let p = pod(&[("foo", "Exists", "", "NoSchedule")]);
        assert!(TaintToleration.filter(&st, &p, &node(&[("foo", "bar", "NoSchedule")])).is_success());
        // "node with PreferNoSchedule taint is schedulable"
        assert!(TaintToleration
            .filter(&st, &Pod::default(), &node(&[("foo", "bar", "PreferNoSchedule")]))
            .is_success());
    }
}
