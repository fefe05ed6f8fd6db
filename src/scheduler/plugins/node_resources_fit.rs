//! The framework adapters of NodeResourcesFit and NodeResourcesBalancedAllocation; the logic
//! (fit check, scoring strategies, args) is in `node_resources`.
//!
//! NodeResourcesFit: PreFilter computes the pod's request once, Filter checks it against the
//! node's free allocatable (Unschedulable, or UnschedulableAndUnresolvable when the request
//! alone exceeds the allocatable), PreScore computes the request vector of the scoring
//! strategy's resources (non-zero defaults for cpu and memory), Score applies the strategy.
//! BalancedAllocation: PreScore skips pods that request none of its resources; Score on actual
//! requests.

use k8s_openapi::api::core::v1::Pod;

use super::node_resources::{self as nr, BalancedAllocationArgs, FitArgs};
use crate::api::pod::{self as podutil, Resources};
use crate::scheduler::cache::{NodeInfo, Snapshot};
use crate::scheduler::framework::{
    CycleState, FilterPlugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
};

pub const FIT: &str = nr::FIT_NAME;
pub const BALANCED_ALLOCATION: &str = nr::BALANCED_ALLOCATION_NAME;

pub struct NodeResourcesFit {
    args: FitArgs,
}

impl NodeResourcesFit {
    pub fn new(args: FitArgs) -> Self {
        NodeResourcesFit { args }
    }
}

/// PreFilter state: the pod's actual request.
#[derive(Clone)]
struct PodRequest(Resources);

/// PreScore state: the pod's request of each scoring resource.
#[derive(Clone)]
struct ScoringRequests(Vec<i64>);

const PRE_SCORE_FIT: &str = "PreScoreNodeResourcesFit";

crate::impl_plugin!(NodeResourcesFit, FIT, [pre_filter, filter, pre_score, score]);

impl PreFilterPlugin for NodeResourcesFit {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _snapshot: &Snapshot,
    ) -> (PreFilterResult, Status) {
        state.write(FIT, PodRequest(podutil::pod_requests(pod)));
        (PreFilterResult::all(), Status::success())
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let computed;
        let req = match state.read::<PodRequest>(FIT) {
            Some(r) => &r.0,
            None => {
                computed = podutil::pod_requests(pod);
                &computed
            }
        };
        nr::fit_status(req, node, &self.args)
    }
}

impl PreScorePlugin for NodeResourcesFit {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _feasible: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        let requests = nr::pod_resource_requests(pod, &self.args.scoring_strategy.resources, false);
        state.write(PRE_SCORE_FIT, ScoringRequests(requests));
        Status::success()
    }
}

impl ScorePlugin for NodeResourcesFit {
    fn score(
        &self,
        state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        Ok(match state.read::<ScoringRequests>(PRE_SCORE_FIT) {
            Some(r) => nr::fit_score_with_requests(&r.0, node, &self.args.scoring_strategy),
            None => nr::fit_score(pod, node, &self.args.scoring_strategy),
        })
    }
}

pub struct BalancedAllocation {
    args: BalancedAllocationArgs,
}

impl BalancedAllocation {
    pub fn new(args: BalancedAllocationArgs) -> Self {
        BalancedAllocation { args }
    }
}

crate::impl_plugin!(BalancedAllocation, BALANCED_ALLOCATION, [pre_score, score]);

const PRE_SCORE_BALANCED: &str = "PreScoreNodeResourcesBalancedAllocation";

impl PreScorePlugin for BalancedAllocation {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _feasible: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        if nr::balanced_allocation_skips(pod, &self.args) {
            return Status::skip();
        }
        let requests = nr::pod_resource_requests(pod, &self.args.resources, true);
        state.write(PRE_SCORE_BALANCED, ScoringRequests(requests));
        Status::success()
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(
        &self,
        state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        Ok(match state.read::<ScoringRequests>(PRE_SCORE_BALANCED) {
            Some(r) => nr::balanced_allocation_score_with_requests(&r.0, node, &self.args),
            None => nr::balanced_allocation_score(pod, node, &self.args),
        })
    }
}
