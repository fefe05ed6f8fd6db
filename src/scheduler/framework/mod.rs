//! The kube-scheduler framework (staging/src/k8s.io/kube-scheduler/framework/interface.go and
//! pkg/scheduler/framework/runtime/framework.go): plugins implement small traits, one per
//! extension point, a profile lists which plugin runs at which point with which weight, and the
//! scheduling cycle (`cycle.rs`) calls the extension points in upstream's order:
//!
//! ```text
//!   PreFilter ──► Filter (per node) ──► [no node fits] PostFilter (preemption)
//!                      │
//!                      └► PreScore ──► Score (per node) ──► NormalizeScore ──► × weight ──► Σ
//! ```
//!
//! What is kept: status codes and their meaning for preemption, per-cycle state that plugins
//! write in PreFilter/PreScore and read in Filter/Score (cloned for preemption's dry runs, with
//! the PreFilter extensions AddPod/RemovePod), PreFilter/PreScore `Skip` (the plugin's Filter or
//! Score is then not called), PreFilter results narrowing the candidate nodes, and the
//! out-of-range check on normalized scores. What is simplified: everything runs on one thread
//! in node order (upstream fans Filter and Score out over 16 goroutines; the results do not
//! depend on that except for which nodes are examined, which the cycle reproduces), and there
//! are no Permit, Reserve, PreBind or PostBind plugins (nothing here needs volumes or gates).

pub mod config;
pub mod registry;

use std::any::Any;
use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::core::v1::Pod;

use super::cache::{NodeInfo, Snapshot};

/// The status codes of framework.Code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Success,
    /// An internal error: the cycle stops and the pod is retried with back-off.
    Error,
    /// The node does not fit now, but removing pods (preemption) might make it fit.
    Unschedulable,
    /// The node does not fit and preemption cannot change that.
    UnschedulableAndUnresolvable,
    /// PreFilter / PreScore: the plugin has nothing to do for this pod; its Filter / Score is
    /// not called.
    Skip,
}

/// A plugin's verdict: a code, the reasons (aggregated into FailedScheduling messages) and the
/// plugin that returned it (filled in by the framework).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
    pub plugin: String,
}

impl Status {
    pub fn new(code: Code, reasons: Vec<String>) -> Status {
        Status { code, reasons, plugin: String::new() }
    }
    pub fn success() -> Status {
        Status::new(Code::Success, Vec::new())
    }
    pub fn skip() -> Status {
        Status::new(Code::Skip, Vec::new())
    }
    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, vec![reason.into()])
    }
    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, vec![reason.into()])
    }
    pub fn error(message: impl Into<String>) -> Status {
        Status::new(Code::Error, vec![message.into()])
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }
    /// Unschedulable or UnschedulableAndUnresolvable.
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }
    /// The reasons joined with ", " (framework.Status.Message).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
    pub fn with_plugin(mut self, plugin: &str) -> Status {
        if self.plugin.is_empty() {
            self.plugin = plugin.to_string();
        }
        self
    }
}

/// Plugin state stored in a [`CycleState`]. Anything `Clone + 'static` qualifies; cloning is
/// what preemption's dry runs need.
pub trait StateData: Any {
    fn clone_data(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone> StateData for T {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Per-cycle storage (framework.CycleState): written by PreFilter / PreScore, read by Filter /
/// Score, keyed by plugin name. Also records which plugins skipped Filter and Score (by their
/// index in the profile).
#[derive(Default)]
pub struct CycleState {
    /// A handful of entries, looked up once per node per plugin: a vector scanned by key is
    /// faster than a tree here.
    data: Vec<(String, Box<dyn StateData>)>,
    /// Plugins whose PreFilter returned Skip: their Filter and PreFilter extensions do not run.
    skip_filter: Vec<usize>,
    /// Plugins whose PreScore returned Skip: their Score does not run.
    skip_score: Vec<usize>,
    /// A number fixed for this cycle (derived from the pod and its attempt), for plugins that
    /// want deterministic pseudo-randomness without touching the scheduler's stream.
    pub cycle_seed: u64,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            data: self.data.iter().map(|(k, v)| (k.clone(), (**v).clone_data())).collect(),
            skip_filter: self.skip_filter.clone(),
            skip_score: self.skip_score.clone(),
            cycle_seed: self.cycle_seed,
        }
    }
}

impl CycleState {
    /// An empty state for one cycle.
    pub fn new(cycle_seed: u64) -> Self {
        CycleState { cycle_seed, ..Default::default() }
    }
    pub fn write<T: Any + Clone>(&mut self, key: &str, value: T) {
        match self.data.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = Box::new(value),
            None => self.data.push((key.to_string(), Box::new(value))),
        }
    }
    pub fn read<T: Any>(&self, key: &str) -> Option<&T> {
        self.data.iter().find(|(k, _)| k == key).and_then(|(_, v)| (**v).as_any().downcast_ref())
    }
    pub fn read_mut<T: Any>(&mut self, key: &str) -> Option<&mut T> {
        self.data.iter_mut().find(|(k, _)| k == key).and_then(|(_, v)| (**v).as_any_mut().downcast_mut())
    }
}

/// What a PreFilter plugin may return besides its status: the only nodes worth filtering
/// (framework.PreFilterResult; `None` = all nodes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    pub node_names: Option<BTreeSet<String>>,
}

impl PreFilterResult {
    pub fn all() -> Self {
        PreFilterResult { node_names: None }
    }
    /// The intersection of two results (framework.PreFilterResult.Merge).
    pub fn merge(self, other: PreFilterResult) -> PreFilterResult {
        match (self.node_names, other.node_names) {
            (None, n) | (n, None) => PreFilterResult { node_names: n },
            (Some(a), Some(b)) => PreFilterResult { node_names: Some(a.intersection(&b).cloned().collect()) },
        }
    }
}

/// A plugin: a name and the extension points it implements. The `as_*` accessors return the
/// plugin itself when it implements that point; a profile enabling a plugin at a point it does
/// not implement is a configuration error.
pub trait Plugin {
    fn name(&self) -> &str;
    fn as_pre_filter(&self) -> Option<&dyn PreFilterPlugin> {
        None
    }
    fn as_filter(&self) -> Option<&dyn FilterPlugin> {
        None
    }
    fn as_post_filter(&self) -> Option<&dyn PostFilterPlugin> {
        None
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        None
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        None
    }
    /// QueueSort, Bind and other points with a single built-in implementation
    /// (PrioritySort, DefaultBinder): which of them this plugin stands for.
    fn other_points(&self) -> &'static [ExtensionPoint] {
        &[]
    }
}

/// Implements [`Plugin`] for a type from its name and the extension points it implements
/// (`pre_filter`, `filter`, `post_filter`, `pre_score`, `score`); each point's trait must be
/// implemented too.
///
/// ```
/// # use kubesim::scheduler::framework::{CycleState, ScorePlugin, Status};
/// # use kubesim::scheduler::cache::{NodeInfo, Snapshot};
/// # use k8s_openapi::api::core::v1::Pod;
/// struct Zero;
/// kubesim::impl_plugin!(Zero, "Zero", [score]);
/// impl ScorePlugin for Zero {
///     fn score(&self, _: &CycleState, _: &Pod, _: &NodeInfo, _: &Snapshot) -> Result<i64, Status> {
///         Ok(0)
///     }
/// }
/// ```
#[macro_export]
macro_rules! impl_plugin {
    ($ty:ty, $name:expr, [$($point:ident),* $(,)?]) => {
        impl $crate::scheduler::framework::Plugin for $ty {
            fn name(&self) -> &str {
                $name
            }
            $($crate::impl_plugin!(@point $point);)*
        }
    };
    (@point pre_filter) => {
        fn as_pre_filter(&self) -> Option<&dyn $crate::scheduler::framework::PreFilterPlugin> {
            Some(self)
        }
    };
    (@point filter) => {
        fn as_filter(&self) -> Option<&dyn $crate::scheduler::framework::FilterPlugin> {
            Some(self)
        }
    };
    (@point post_filter) => {
        fn as_post_filter(&self) -> Option<&dyn $crate::scheduler::framework::PostFilterPlugin> {
            Some(self)
        }
    };
    (@point pre_score) => {
        fn as_pre_score(&self) -> Option<&dyn $crate::scheduler::framework::PreScorePlugin> {
            Some(self)
        }
    };
    (@point score) => {
        fn as_score(&self) -> Option<&dyn $crate::scheduler::framework::ScorePlugin> {
            Some(self)
        }
    };
}

/// PreFilter: runs once per cycle before any Filter. `Skip` means the plugin's Filter is not
/// called in this cycle; a rejection makes every node fail with this status.
pub trait PreFilterPlugin: Plugin {
    fn pre_filter(&self, state: &mut CycleState, pod: &Pod, snapshot: &Snapshot)
        -> (PreFilterResult, Status);
    /// PreFilterExtensions.AddPod: `pod_to_add` is placed on `node` (preemption dry runs and
    /// nominated pods). The default is a plugin whose state does not depend on other pods.
    fn add_pod(&self, _state: &mut CycleState, _pod: &Pod, _pod_to_add: &Pod, _node: &NodeInfo) -> Status {
        Status::success()
    }
    /// PreFilterExtensions.RemovePod: `pod_to_remove` leaves `node`.
    fn remove_pod(
        &self,
        _state: &mut CycleState,
        _pod: &Pod,
        _pod_to_remove: &Pod,
        _node: &NodeInfo,
    ) -> Status {
        Status::success()
    }
}

/// Filter: may `node` run `pod`?
pub trait FilterPlugin: Plugin {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status;
}

/// Re-running the profile's filters on a changed node (preemption's dry runs).
pub trait FilterRunner {
    /// Runs the PreFilter extensions' RemovePod for each pod in `removed`, takes them off a copy
    /// of `node`, then runs every Filter plugin (with nominated pods, as upstream).
    fn fits_without(
        &self,
        state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        removed: &[std::sync::Arc<Pod>],
    ) -> Status;
}

/// What the cycle offers PostFilter plugins.
pub struct PostFilterContext<'a, 'r> {
    pub snapshot: &'a Snapshot<'a>,
    /// The failed nodes' statuses.
    pub statuses: &'a NodeToStatus,
    pub filters: &'a dyn FilterRunner,
    /// The scheduler's random stream (preemption's random candidate offset).
    pub rng: &'r mut dyn rand::RngCore,
    /// The current virtual time, as an API timestamp (victims' start times).
    pub now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
}

/// The outcome of a PostFilter plugin (framework.PostFilterResult): a node nominated for the
/// pod once the victims are gone, and the victims to delete.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    pub nominated_node: Option<String>,
    pub victims: Vec<std::sync::Arc<Pod>>,
}

/// The per-node statuses of a failed cycle (framework.NodeToStatus).
#[derive(Clone, Debug, Default)]
pub struct NodeToStatus {
    /// Nodes whose filters were run and failed, by name.
    pub explicit: std::collections::BTreeMap<String, Status>,
    /// The status of every node not in `explicit` (a PreFilter rejection or a PreFilterResult
    /// that left them out); `None` when every node was examined.
    pub absent: Option<Status>,
}

impl NodeToStatus {
    /// The status of `node`: explicit, else the absent-nodes status.
    pub fn get(&self, node: &str) -> Option<&Status> {
        self.explicit.get(node).or(self.absent.as_ref())
    }
}

/// PostFilter: runs when no node fits (DefaultPreemption).
pub trait PostFilterPlugin: Plugin {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &Pod,
        cx: PostFilterContext<'_, '_>,
    ) -> (Option<PostFilterResult>, Status);
}

/// PreScore: runs once per cycle over the feasible nodes before Score. `Skip` means this
/// plugin's Score is not called and it contributes 0.
pub trait PreScorePlugin: Plugin {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status;
}

/// Score: a raw score per feasible node, then optionally NormalizeScore over all of them.
/// `snapshot` is what upstream plugins reach through their framework handle
/// (`SnapshotSharedLister`), e.g. ImageLocality's count of nodes having an image.
pub trait ScorePlugin: Plugin {
    fn score(
        &self,
        state: &CycleState,
        pod: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Result<i64, Status>;
    /// NormalizeScore (ScoreExtensions); `scores[i]` belongs to `feasible[i]`. The default
    /// leaves the scores as they are (a plugin without ScoreExtensions).
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &Pod,
        _feasible: &[&NodeInfo],
        _scores: &mut [i64],
    ) -> Status {
        Status::success()
    }
}

/// The extension points a profile configures (KubeSchedulerConfiguration `plugins.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExtensionPoint {
    QueueSort,
    PreFilter,
    Filter,
    PostFilter,
    PreScore,
    Score,
    Reserve,
    Permit,
    PreBind,
    Bind,
    PostBind,
    MultiPoint,
}

impl ExtensionPoint {
    pub const ALL: [ExtensionPoint; 12] = [
        ExtensionPoint::QueueSort,
        ExtensionPoint::PreFilter,
        ExtensionPoint::Filter,
        ExtensionPoint::PostFilter,
        ExtensionPoint::PreScore,
        ExtensionPoint::Score,
        ExtensionPoint::Reserve,
        ExtensionPoint::Permit,
        ExtensionPoint::PreBind,
        ExtensionPoint::Bind,
        ExtensionPoint::PostBind,
        ExtensionPoint::MultiPoint,
    ];

    /// The framework interface of this point, as upstream's errors name it (`FilterPlugin`).
    pub fn interface(self) -> &'static str {
        match self {
            ExtensionPoint::QueueSort => "QueueSortPlugin",
            ExtensionPoint::PreFilter => "PreFilterPlugin",
            ExtensionPoint::Filter => "FilterPlugin",
            ExtensionPoint::PostFilter => "PostFilterPlugin",
            ExtensionPoint::PreScore => "PreScorePlugin",
            ExtensionPoint::Score => "ScorePlugin",
            ExtensionPoint::Reserve => "ReservePlugin",
            ExtensionPoint::Permit => "PermitPlugin",
            ExtensionPoint::PreBind => "PreBindPlugin",
            ExtensionPoint::Bind => "BindPlugin",
            ExtensionPoint::PostBind => "PostBindPlugin",
            ExtensionPoint::MultiPoint => "MultiPointPlugin",
        }
    }

    /// Whether `plugin` implements this point.
    pub fn implemented_by(self, plugin: &dyn Plugin) -> bool {
        plugin.other_points().contains(&self)
            || match self {
                ExtensionPoint::PreFilter => plugin.as_pre_filter().is_some(),
                ExtensionPoint::Filter => plugin.as_filter().is_some(),
                ExtensionPoint::PostFilter => plugin.as_post_filter().is_some(),
                ExtensionPoint::PreScore => plugin.as_pre_score().is_some(),
                ExtensionPoint::Score => plugin.as_score().is_some(),
                ExtensionPoint::MultiPoint => true,
                _ => false,
            }
    }
}

/// One scheduling profile, ready to run: its plugins (one instance each, shared by the points
/// it is enabled at) and, per extension point, the plugins in order.
pub struct Profile {
    pub scheduler_name: String,
    /// `percentageOfNodesToScore` of the profile, else the configuration's.
    pub percentage_of_nodes_to_score: u32,
    plugins: Vec<Box<dyn Plugin>>,
    pub(crate) pre_filter: Vec<usize>,
    pub(crate) filter: Vec<usize>,
    pub(crate) post_filter: Vec<usize>,
    pub(crate) pre_score: Vec<usize>,
    /// Score plugins with their weights.
    pub(crate) score: Vec<(usize, i64)>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("scheduler_name", &self.scheduler_name)
            .field("filter", &self.enabled(ExtensionPoint::Filter))
            .field("score", &self.score_weights())
            .finish()
    }
}

impl Profile {
    /// An empty profile; plugins are added with [`Profile::enable`].
    pub fn new(scheduler_name: &str, percentage_of_nodes_to_score: u32) -> Profile {
        Profile {
            scheduler_name: scheduler_name.to_string(),
            percentage_of_nodes_to_score,
            plugins: Vec::new(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            post_filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
        }
    }

    /// Adds a plugin instance (if not yet present) and returns its index.
    pub fn add_plugin(&mut self, plugin: Box<dyn Plugin>) -> usize {
        if let Some(i) = self.plugins.iter().position(|p| p.name() == plugin.name()) {
            return i;
        }
        self.plugins.push(plugin);
        self.plugins.len() - 1
    }

    /// Enables plugin `index` at `point` (appended after the ones already there).
    pub fn enable(&mut self, point: ExtensionPoint, index: usize, weight: i64) {
        let p = self.plugins[index].as_ref();
        let runs = match point {
            ExtensionPoint::PreFilter => p.as_pre_filter().is_some(),
            ExtensionPoint::Filter => p.as_filter().is_some(),
            ExtensionPoint::PostFilter => p.as_post_filter().is_some(),
            ExtensionPoint::PreScore => p.as_pre_score().is_some(),
            ExtensionPoint::Score => p.as_score().is_some(),
            _ => false,
        };
        if !runs {
            return;
        }
        let list = match point {
            ExtensionPoint::PreFilter => &mut self.pre_filter,
            ExtensionPoint::Filter => &mut self.filter,
            ExtensionPoint::PostFilter => &mut self.post_filter,
            ExtensionPoint::PreScore => &mut self.pre_score,
            ExtensionPoint::Score => {
                if !self.score.iter().any(|(i, _)| *i == index) {
                    self.score.push((index, weight));
                }
                return;
            }
            _ => return,
        };
        if !list.contains(&index) {
            list.push(index);
        }
    }

    pub fn plugin(&self, index: usize) -> &dyn Plugin {
        self.plugins[index].as_ref()
    }

    pub fn has_filter_plugins(&self) -> bool {
        !self.filter.is_empty()
    }
    pub fn has_score_plugins(&self) -> bool {
        !self.score.is_empty()
    }
    pub fn has_post_filter_plugins(&self) -> bool {
        !self.post_filter.is_empty()
    }

    /// Names of the plugins enabled at `point`, in order (for `kubesim explain` and tests).
    pub fn enabled(&self, point: ExtensionPoint) -> Vec<String> {
        let idx: Vec<usize> = match point {
            ExtensionPoint::PreFilter => self.pre_filter.clone(),
            ExtensionPoint::Filter => self.filter.clone(),
            ExtensionPoint::PostFilter => self.post_filter.clone(),
            ExtensionPoint::PreScore => self.pre_score.clone(),
            ExtensionPoint::Score => self.score.iter().map(|(i, _)| *i).collect(),
            _ => Vec::new(),
        };
        idx.into_iter().map(|i| self.plugins[i].name().to_string()).collect()
    }

    /// Score plugin names with weights, in order.
    pub fn score_weights(&self) -> Vec<(String, i64)> {
        self.score.iter().map(|(i, w)| (self.plugins[*i].name().to_string(), *w)).collect()
    }

    /// RunPreFilterPlugins (framework.go): every PreFilter in order; `Skip` marks the plugin's
    /// Filter as skipped; UnschedulableAndUnresolvable or an error stops the run, Unschedulable
    /// is kept while the others still run (kubernetes#119770: preemption needs their state).
    /// Results are intersected; an empty intersection rejects every node. Also returns the
    /// plugins whose results narrowed the nodes.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status, BTreeSet<String>) {
        let mut result = PreFilterResult::all();
        let mut narrowing = BTreeSet::new();
        let mut outcome = Status::success();
        for &i in &self.pre_filter {
            let p = &self.plugins[i];
            let pf = p.as_pre_filter().expect("validated at configuration");
            let (r, status) = pf.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                state.skip_filter.push(i);
                continue;
            }
            match status.code {
                Code::Success => {}
                Code::Unschedulable => {
                    outcome = status.with_plugin(p.name());
                    continue;
                }
                Code::UnschedulableAndUnresolvable => {
                    return (PreFilterResult::all(), status.with_plugin(p.name()), BTreeSet::new())
                }
                _ => {
                    let msg = format!("running PreFilter plugin {:?}: {}", p.name(), status.message());
                    return (
                        PreFilterResult::all(),
                        Status::error(msg).with_plugin(p.name()),
                        BTreeSet::new(),
                    );
                }
            }
            if r.node_names.is_some() {
                narrowing.insert(p.name().to_string());
            }
            result = result.merge(r);
            if result.node_names.as_ref().is_some_and(BTreeSet::is_empty) {
                let names: Vec<&str> = narrowing.iter().map(String::as_str).collect();
                let msg = if names.len() == 1 {
                    format!("node(s) didn't satisfy plugin {}", names[0])
                } else {
                    format!("node(s) didn't satisfy plugin(s) [{}] simultaneously", names.join(" "))
                };
                return (result, Status::unresolvable(msg), narrowing);
            }
        }
        (result, outcome, narrowing)
    }

    /// RunFilterPlugins: every non-skipped Filter in order; the first non-success wins.
    pub fn run_filters(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        for &i in &self.filter {
            if state.skip_filter.contains(&i) {
                continue;
            }
            let p = &self.plugins[i];
            let status = p.as_filter().expect("validated at configuration").filter(state, pod, node);
            if !status.is_success() {
                // Anything but a rejection is an error (RunFilterPlugins).
                if !status.is_rejected() {
                    return Status::error(status.message()).with_plugin(p.name());
                }
                return status.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// The PreFilter extensions' AddPod for every non-skipped PreFilter plugin.
    pub fn run_add_pod(&self, state: &mut CycleState, pod: &Pod, to_add: &Pod, node: &NodeInfo) -> Status {
        self.run_pre_filter_extension(state, "AddPod", |p, state| p.add_pod(state, pod, to_add, node))
    }

    /// The PreFilter extensions' RemovePod for every non-skipped PreFilter plugin.
    pub fn run_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        to_remove: &Pod,
        node: &NodeInfo,
    ) -> Status {
        self.run_pre_filter_extension(state, "RemovePod", |p, state| {
            p.remove_pod(state, pod, to_remove, node)
        })
    }

    /// RunPreFilterExtensionAddPod / RemovePod: any failure is an error naming the plugin.
    fn run_pre_filter_extension(
        &self,
        state: &mut CycleState,
        what: &str,
        run: impl Fn(&dyn PreFilterPlugin, &mut CycleState) -> Status,
    ) -> Status {
        for &i in &self.pre_filter {
            if state.skip_filter.contains(&i) {
                continue;
            }
            let p = &self.plugins[i];
            let s = run(p.as_pre_filter().expect("validated at configuration"), state);
            if !s.is_success() {
                let msg = format!("running {what} on PreFilter plugin {:?}: {}", p.name(), s.message());
                return Status::error(msg).with_plugin(p.name());
            }
        }
        Status::success()
    }

    pub(crate) fn plugins_at_post_filter(&self) -> impl Iterator<Item = &dyn Plugin> {
        self.post_filter.iter().map(|&i| self.plugins[i].as_ref())
    }
    /// PreScore, then Score for every plugin whose PreScore did not Skip (RunPreScorePlugins,
    /// RunScorePlugins): Skip marks the plugin in `state`; an error stops the run.
    pub(crate) fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        feasible: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Result<(), String> {
        for &i in &self.pre_score {
            let p = &self.plugins[i];
            let s = p
                .as_pre_score()
                .expect("validated at configuration")
                .pre_score(state, pod, feasible, snapshot);
            if s.is_skip() {
                state.skip_score.push(i);
            } else if !s.is_success() {
                return Err(format!("running PreScore plugin {:?}: {}", p.name(), s.message()));
            }
        }
        Ok(())
    }

    /// The score plugins with their weights, `None` in place of the plugin for one whose
    /// PreScore skipped in `state`.
    pub(crate) fn score_plugins<'s>(
        &'s self,
        state: &'s CycleState,
    ) -> impl Iterator<Item = (Option<&'s dyn ScorePlugin>, &'s str, i64)> + 's {
        self.score.iter().map(move |&(i, w)| {
            let p = self.plugins[i].as_ref();
            let sp =
                (!state.skip_score.contains(&i)).then(|| p.as_score().expect("validated at configuration"));
            (sp, p.name(), w)
        })
    }
}

/// Score bounds (framework.MinNodeScore / MaxNodeScore).
pub const MIN_NODE_SCORE: i64 = 0;
pub use super::plugins::MAX_NODE_SCORE;
