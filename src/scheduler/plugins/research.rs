//! Research policies that upstream does not ship but scheduling papers compare against, as
//! Score plugins so a profile can use them alone (disable the default score plugins) or blend
//! them with weights:
//!
//! - `Random`: a pseudo-random score per node, fixed for the cycle (derived from the cycle's
//!   seed, so runs stay reproducible).
//! - `FirstFit`: the first feasible node in the order the cycle examined them scores 100, the
//!   later ones less (with the default `percentageOfNodesToScore` the examined nodes start at
//!   the round-robin index, as upstream's filter loop does).
//! - `BestFit` / `WorstFit` on one resource (`args: {resource: cpu}`): the node left with the
//!   least (BestFit, bin packing) or most (WorstFit, spreading) free amount of that resource
//!   after placing the pod, scaled to 0..100 by utilization.
//! - `DotProduct` (Tetris, Grandl et al., SIGCOMM 2014): the alignment `Σ_r demand_r · free_r`
//!   of the pod's demand vector with the node's free capacity, both as fractions of the node's
//!   allocatable, over cpu, memory and every extended resource the pod requests; normalized by
//!   the maximum.
//!
//! All use actual requests (not the non-zero defaults) and skip resources with allocatable 0.

use k8s_openapi::api::core::v1::Pod;
use serde::Deserialize;

use super::MAX_NODE_SCORE;
use crate::api::pod::{self as podutil, Resources};
use crate::scheduler::cache::{NodeInfo, Snapshot};
use crate::scheduler::framework::{CycleState, Plugin, ScorePlugin, Status};

pub const RANDOM: &str = "Random";
pub const FIRST_FIT: &str = "FirstFit";
pub const BEST_FIT: &str = "BestFit";
pub const WORST_FIT: &str = "WorstFit";
pub const DOT_PRODUCT: &str = "DotProduct";

/// splitmix64: a well-mixed 64-bit hash, the per-node draw of `Random`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// `Random`.
pub struct RandomScore;

crate::impl_plugin!(RandomScore, RANDOM, [score]);

impl ScorePlugin for RandomScore {
    fn score(
        &self,
        state: &CycleState,
        _pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        Ok((mix(state.cycle_seed ^ name_hash(node.name())) % (MAX_NODE_SCORE as u64 + 1)) as i64)
    }
}

/// `FirstFit`.
pub struct FirstFit;

crate::impl_plugin!(FirstFit, FIRST_FIT, [score]);

impl ScorePlugin for FirstFit {
    fn score(
        &self,
        _state: &CycleState,
        _pod: &Pod,
        _node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        Ok(0)
    }
    /// The examination order is the order of `feasible`: 100 for the first, then linearly
    /// down to 0 for the last.
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &Pod,
        _feasible: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Status {
        let n = scores.len() as i64;
        for (i, s) in scores.iter_mut().enumerate() {
            *s = if n <= 1 { MAX_NODE_SCORE } else { MAX_NODE_SCORE - MAX_NODE_SCORE * i as i64 / (n - 1) };
        }
        Status::success()
    }
}

/// Args of `BestFit` / `WorstFit`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FitResourceArgs {
    #[serde(default = "default_resource")]
    pub resource: String,
}

fn default_resource() -> String {
    "cpu".into()
}

impl FitResourceArgs {
    pub fn from_json(args: &serde_json::Value) -> Result<Self, String> {
        let a: FitResourceArgs = super::parse_args(args)?;
        if a.resource.is_empty() {
            return Err(
                "resource: Required value: a resource name such as cpu, memory or nvidia.com/gpu".into()
            );
        }
        Ok(a)
    }
}

/// (requested on node, allocatable) of one resource.
fn amounts(r: &Resources, name: &str) -> i64 {
    match name {
        "cpu" => r.milli_cpu,
        "memory" => r.memory,
        "ephemeral-storage" => r.ephemeral_storage,
        "pods" => r.pods,
        other => r.scalar.get(other).copied().unwrap_or(0),
    }
}

/// Utilization of `resource` on `node` after adding the pod, 0..=100.
fn utilization_after(pod: &Pod, node: &NodeInfo, resource: &str) -> i64 {
    let cap = amounts(&node.allocatable, resource);
    if cap <= 0 {
        return 0;
    }
    let used =
        amounts(&node.requested, resource).saturating_add(amounts(&podutil::pod_requests(pod), resource));
    (i128::from(used.min(cap)) * i128::from(MAX_NODE_SCORE) / i128::from(cap)) as i64
}

/// `BestFit` (`most_full: true`) or `WorstFit`.
pub struct ResourceFit {
    name: &'static str,
    args: FitResourceArgs,
    most_full: bool,
}

impl ResourceFit {
    pub fn best(args: FitResourceArgs) -> Self {
        ResourceFit { name: BEST_FIT, args, most_full: true }
    }
    pub fn worst(args: FitResourceArgs) -> Self {
        ResourceFit { name: WORST_FIT, args, most_full: false }
    }
}

impl Plugin for ResourceFit {
    fn name(&self) -> &str {
        self.name
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl ScorePlugin for ResourceFit {
    fn score(
        &self,
        _state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        let u = utilization_after(pod, node, &self.args.resource);
        Ok(if self.most_full { u } else { MAX_NODE_SCORE - u })
    }
}

/// `DotProduct`.
pub struct DotProduct;

crate::impl_plugin!(DotProduct, DOT_PRODUCT, [score]);

/// The alignment score in millionths: Σ_r (demand_r / cap_r) · (free_r / cap_r) × 10⁶.
pub fn alignment(pod: &Pod, node: &NodeInfo) -> i64 {
    let demand = podutil::pod_requests(pod);
    let mut names: Vec<String> = vec!["cpu".into(), "memory".into()];
    names.extend(demand.scalar.keys().cloned());
    let mut sum = 0.0_f64;
    for name in &names {
        let cap = amounts(&node.allocatable, name);
        if cap <= 0 {
            continue;
        }
        let free = (cap - amounts(&node.requested, name)).max(0) as f64 / cap as f64;
        let want = amounts(&demand, name) as f64 / cap as f64;
        sum += want * free;
    }
    (sum * 1e6).round() as i64
}

impl ScorePlugin for DotProduct {
    fn score(
        &self,
        _state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Result<i64, Status> {
        Ok(alignment(pod, node))
    }
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &Pod,
        _feasible: &[&NodeInfo],
        scores: &mut [i64],
    ) -> Status {
        super::default_normalize(scores, false);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::pod::Resources;
    use k8s_openapi::api::core::v1::{Container, Node, PodSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, cpu: i64, mem: i64, used_cpu: i64, used_mem: i64) -> NodeInfo {
        let mut n = NodeInfo::new(Node {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            ..Default::default()
        });
        n.allocatable = Resources { milli_cpu: cpu, memory: mem, pods: 110, ..Default::default() };
        n.requested = Resources { milli_cpu: used_cpu, memory: used_mem, ..Default::default() };
        n
    }

    fn pod(cpu: &str, mem: &str) -> Pod {
        let req =
            [("cpu".to_string(), Quantity(cpu.into())), ("memory".to_string(), Quantity(mem.into()))].into();
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    resources: Some(ResourceRequirements { requests: Some(req), ..Default::default() }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run(pl: &dyn ScorePlugin, p: &Pod, nodes: &[NodeInfo], seed: u64) -> Vec<i64> {
        let st = CycleState::new(seed);
        let snap = Snapshot {
            nodes,
            cluster: &Default::default(),
            image_spread: &Default::default(),
            affinity_lists: None,
        };
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let mut s: Vec<i64> = nodes.iter().map(|n| pl.score(&st, p, n, &snap).unwrap()).collect();
        assert!(pl.normalize(&st, p, &refs, &mut s).is_success());
        s
    }

    #[test]
    fn best_fit_packs_and_worst_fit_spreads() {
        // 1 CPU pod; nodes of 4 CPUs with 0, 1 and 2 CPUs requested → 25%, 50%, 75% after.
        let nodes = [
            node("a", 4000, 8 << 30, 0, 0),
            node("b", 4000, 8 << 30, 1000, 0),
            node("c", 4000, 8 << 30, 2000, 0),
        ];
        let p = pod("1", "1Gi");
        assert_eq!(
            run(&ResourceFit::best(FitResourceArgs { resource: "cpu".into() }), &p, &nodes, 0),
            [25, 50, 75]
        );
        assert_eq!(
            run(&ResourceFit::worst(FitResourceArgs { resource: "cpu".into() }), &p, &nodes, 0),
            [75, 50, 25]
        );
    }

    #[test]
    fn dot_product_prefers_complementary_free_capacity() {
        // A CPU-heavy pod (2 CPU, 1Gi) fits best where CPU is free: node "cpu-free" has all CPU
        // free and little memory; "mem-free" the other way round.
        let nodes =
            [node("cpu-free", 4000, 16 << 30, 0, 12 << 30), node("mem-free", 4000, 16 << 30, 3000, 0)];
        let p = pod("2", "1Gi");
        // cpu-free: 0.5·1 + 1/16·4/16 = 0.515625; mem-free: 0.5·0.25 + 1/16·1 = 0.1875.
        assert_eq!(alignment(&p, &nodes[0]), 515_625);
        assert_eq!(alignment(&p, &nodes[1]), 187_500);
        assert_eq!(run(&DotProduct, &p, &nodes, 0), [100, 36]);
    }

    #[test]
    fn random_is_fixed_per_seed_and_varies_with_it() {
        let nodes: Vec<NodeInfo> = (0..8).map(|i| node(&format!("n{i}"), 1000, 1 << 30, 0, 0)).collect();
        let p = pod("100m", "1Mi");
        let a = run(&RandomScore, &p, &nodes, 7);
        assert_eq!(a, run(&RandomScore, &p, &nodes, 7));
        assert_ne!(a, run(&RandomScore, &p, &nodes, 8));
        assert!(a.iter().all(|s| (0..=100).contains(s)));
    }

    #[test]
    fn first_fit_ranks_by_examination_order() {
        let nodes: Vec<NodeInfo> = (0..5).map(|i| node(&format!("n{i}"), 1000, 1 << 30, 0, 0)).collect();
        assert_eq!(run(&FirstFit, &pod("1m", "1Mi"), &nodes, 0), [100, 75, 50, 25, 0]);
    }
}
