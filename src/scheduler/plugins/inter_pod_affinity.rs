//! The InterPodAffinity plugin (PreFilter, Filter, PreScore, Score, NormalizeScore), after
//! upstream kube-scheduler v1.32–v1.34:
//! `pkg/scheduler/framework/plugins/interpodaffinity/{filtering.go,scoring.go,plugin.go}` and the
//! term parsing of `pkg/scheduler/framework/types.go` (`NewPodInfo`, `AffinityTerm.Matches`).
//!
//! Filtering enforces the incoming pod's required pod affinity and anti-affinity and, by symmetry,
//! the required anti-affinity of the pods already on nodes. Scoring sums, per topology domain,
//! the weights of the preferred terms of both sides (and `hardPodAffinityWeight` for existing
//! pods' required affinity terms) and normalizes to `0..=100`.
//!
//! `matchLabelKeys` / `mismatchLabelKeys` are not read here: upstream the API server merges them
//! into the term's `labelSelector` when the pod is created
//! (`pkg/registry/core/pod/strategy.go`, `mutatePodAffinity`, feature MatchLabelKeysInPodAffinity,
//! GA in v1.33), and the scheduler only sees the merged selector. `apply_match_label_keys` is that
//! mutation, for the API-server model to call on pod creation.
//!
//! Everything is computed in input order with `BTreeMap`s, so results are deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;
use k8s_openapi::api::core::v1::{Affinity, Node, Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

use crate::api::LabelSelector;

/// The plugin's name in the scheduler profile.
pub const NAME: &str = "InterPodAffinity";

use super::node_label;
pub use super::{NodePods, MAX_NODE_SCORE};

/// Namespace name → that namespace's labels (what upstream reads through the namespace lister).
pub type NamespaceLabels = BTreeMap<String, BTreeMap<String, String>>;

/// `InterPodAffinityArgs` (kubescheduler.config.k8s.io/v1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffinityArgs {
    /// Weight of an existing pod's required affinity term that the incoming pod matches
    /// (0..=100; default 1).
    pub hard_pod_affinity_weight: i32,
    /// Skip scoring (PreScore returns Skip) when the incoming pod has no preferred terms.
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for AffinityArgs {
    fn default() -> Self {
        AffinityArgs { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }
}

/// Why Filter rejected a node (filtering.go `ErrReason*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AffinityFailure {
    /// The incoming pod's required affinity is not satisfied (UnschedulableAndUnresolvable).
    AffinityRulesNotMatch,
    /// The incoming pod's required anti-affinity is violated (Unschedulable).
    AntiAffinityRulesNotMatch,
    /// An existing pod's required anti-affinity would be violated (Unschedulable).
    ExistingAntiAffinityRulesNotMatch,
}

impl AffinityFailure {
    /// The reason string aggregated into the FailedScheduling message.
    pub fn message(self) -> &'static str {
        match self {
            AffinityFailure::AffinityRulesNotMatch => "node(s) didn't match pod affinity rules",
            AffinityFailure::AntiAffinityRulesNotMatch => "node(s) didn't match pod anti-affinity rules",
            AffinityFailure::ExistingAntiAffinityRulesNotMatch => {
                "node(s) didn't satisfy existing pods anti-affinity rules"
            }
        }
    }

    /// Whether preemption could help: `Unschedulable` (true) versus
    /// `UnschedulableAndUnresolvable` (false).
    pub fn resolvable(self) -> bool {
        !matches!(self, AffinityFailure::AffinityRulesNotMatch)
    }
}

impl fmt::Display for AffinityFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

// ---------------------------------------------------------------------------------------------
// Parsed terms (framework/types.go: AffinityTerm, WeightedAffinityTerm, NewPodInfo)
// ---------------------------------------------------------------------------------------------

/// A processed `PodAffinityTerm`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AffinityTerm {
    /// The namespaces the term applies to. Defaults to the owning pod's namespace when the term
    /// lists none and has no namespaceSelector.
    namespaces: BTreeSet<String>,
    /// The label selector; `None` is a nil selector, which matches nothing.
    selector: Option<LabelSelector>,
    topology_key: String,
    /// The namespace selector; `None` is `labels.Nothing()` (a nil selector, or one already
    /// unrolled into `namespaces`); an empty selector matches every namespace.
    namespace_selector: Option<LabelSelector>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct WeightedTerm {
    term: AffinityTerm,
    weight: i32,
}

impl AffinityTerm {
    /// `newAffinityTerm`: selectors converted as `metav1.LabelSelectorAsSelector` does.
    fn new(pod_namespace: &str, term: &PodAffinityTerm) -> Result<AffinityTerm, String> {
        let selector = term
            .label_selector
            .as_ref()
            .map(LabelSelector::from_k8s)
            .transpose()
            .map_err(|e| e.to_string())?;
        let listed = term.namespaces.as_deref().unwrap_or(&[]);
        let namespaces = if listed.is_empty() && term.namespace_selector.is_none() {
            BTreeSet::from([pod_namespace.to_string()])
        } else {
            listed.iter().cloned().collect()
        };
        let namespace_selector = term
            .namespace_selector
            .as_ref()
            .map(LabelSelector::from_k8s)
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(AffinityTerm { namespaces, selector, topology_key: term.topology_key.clone(), namespace_selector })
    }

    /// `AffinityTerm.Matches`: the pod's namespace is listed or its namespace's labels match the
    /// namespace selector, and the pod's labels match the label selector.
    fn matches(
        &self,
        pod_namespace: &str,
        pod_labels: Option<&BTreeMap<String, String>>,
        namespace_labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        let namespace_ok = self.namespaces.contains(pod_namespace)
            || self.namespace_selector.as_ref().is_some_and(|s| s.matches(namespace_labels));
        namespace_ok && self.selector.as_ref().is_some_and(|s| s.matches(pod_labels))
    }

    /// plugin.go `mergeAffinityTermNamespacesIfNotEmpty`, applied to the incoming pod's terms:
    /// a non-empty namespace selector is unrolled into `namespaces` and replaced by Nothing, so
    /// that matching never needs the existing pods' namespace labels. An empty selector (match
    /// every namespace) and a nil one (match none) are kept as they are.
    fn merge_namespaces(&mut self, namespace_labels: &NamespaceLabels) {
        let names = match &self.namespace_selector {
            Some(sel) if !sel.is_empty() => {
                let mut names = Vec::new();
                for (name, labels) in namespace_labels {
                    if sel.matches(Some(labels)) {
                        names.push(name.clone());
                    }
                }
                Some(names)
            }
            _ => None,
        };
        if let Some(names) = names {
            self.namespaces.extend(names);
            self.namespace_selector = None;
        }
    }
}

fn namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("")
}

fn affinity(pod: &Pod) -> Option<&Affinity> {
    pod.spec.as_ref().and_then(|s| s.affinity.as_ref())
}

fn required_affinity_terms(pod: &Pod) -> &[PodAffinityTerm] {
    affinity(pod)
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

pub(crate) fn required_anti_affinity_terms(pod: &Pod) -> &[PodAffinityTerm] {
    affinity(pod)
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

fn preferred_affinity_terms(pod: &Pod) -> &[WeightedPodAffinityTerm] {
    affinity(pod)
        .and_then(|a| a.pod_affinity.as_ref())
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

fn preferred_anti_affinity_terms(pod: &Pod) -> &[WeightedPodAffinityTerm] {
    affinity(pod)
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

/// `PodWithAffinity` (the pods upstream keeps in `NodeInfo.PodsWithAffinity`).
pub(crate) fn has_pod_affinity(pod: &Pod) -> bool {
    affinity(pod).is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some())
}

/// `GetAffinityTerms`: the first term that fails to parse fails the whole list.
fn parse_terms(pod_namespace: &str, terms: &[PodAffinityTerm]) -> Result<Vec<AffinityTerm>, String> {
    terms.iter().map(|t| AffinityTerm::new(pod_namespace, t)).collect()
}

fn parse_weighted(
    pod_namespace: &str,
    terms: &[WeightedPodAffinityTerm],
) -> Result<Vec<WeightedTerm>, String> {
    terms
        .iter()
        .map(|t| -> Result<WeightedTerm, String> {
            Ok(WeightedTerm {
                term: AffinityTerm::new(pod_namespace, &t.pod_affinity_term)?,
                weight: t.weight,
            })
        })
        .collect()
}

/// An existing pod with pod affinity or anti-affinity and its four term lists, parsed once
/// when the scheduler cache adds the pod: upstream's `NodeInfo.PodsWithAffinity` holds
/// `PodInfo`s parsed in `NewPodInfo`, so neither PreFilter nor PreScore parses existing pods'
/// terms again every cycle.
#[derive(Clone, Debug)]
pub struct AffinityPodInfo {
    pub pod: Arc<Pod>,
    terms: PodTerms,
}

impl AffinityPodInfo {
    /// `None` for a pod without pod affinity or anti-affinity (not in `PodsWithAffinity`).
    /// A list that does not parse is left empty, as `NewPodInfo` does.
    pub fn of(pod: &Arc<Pod>) -> Option<AffinityPodInfo> {
        if !has_pod_affinity(pod) {
            return None;
        }
        Some(AffinityPodInfo { pod: pod.clone(), terms: PodTerms::parse(pod).0 })
    }

    /// In `PodsWithRequiredAntiAffinity`: the pod lists required anti-affinity terms (whether
    /// or not they parsed, as upstream's `podWithRequiredAntiAffinity` looks at the spec).
    pub fn has_required_anti_affinity(&self) -> bool {
        !required_anti_affinity_terms(&self.pod).is_empty()
    }
}

/// The parsed affinity pods of a node: the cache's list, or parsed now from `pods` for a view
/// built without a cache (the ported upstream tests).
fn affinity_pods<'a>(np: &NodePods<'a>) -> std::borrow::Cow<'a, [AffinityPodInfo]> {
    match np.affinity_pods {
        Some(parsed) => std::borrow::Cow::Borrowed(parsed),
        None => std::borrow::Cow::Owned(np.pods.iter().filter_map(AffinityPodInfo::of).collect()),
    }
}

/// The four term lists of `framework.PodInfo`.
#[derive(Clone, Debug, Default)]
struct PodTerms {
    required_affinity: Vec<AffinityTerm>,
    required_anti_affinity: Vec<AffinityTerm>,
    preferred_affinity: Vec<WeightedTerm>,
    preferred_anti_affinity: Vec<WeightedTerm>,
}

impl PodTerms {
    /// `PodInfo.Update`: a list whose parsing fails is left empty and its error reported, as
    /// upstream does (existing pods are used with whatever parsed; the incoming pod is rejected).
    fn parse(pod: &Pod) -> (PodTerms, Vec<String>) {
        let ns = namespace(pod);
        let mut errors = Vec::new();
        let required_affinity = parse_terms(ns, required_affinity_terms(pod)).unwrap_or_else(|e| {
            errors.push(format!("requiredAffinityTerms: {e}"));
            Vec::new()
        });
        let required_anti_affinity = parse_terms(ns, required_anti_affinity_terms(pod)).unwrap_or_else(|e| {
            errors.push(format!("requiredAntiAffinityTerms: {e}"));
            Vec::new()
        });
        let preferred_affinity = parse_weighted(ns, preferred_affinity_terms(pod)).unwrap_or_else(|e| {
            errors.push(format!("preferredAffinityTerms: {e}"));
            Vec::new()
        });
        let preferred_anti_affinity =
            parse_weighted(ns, preferred_anti_affinity_terms(pod)).unwrap_or_else(|e| {
                errors.push(format!("preferredAntiAffinityTerms: {e}"));
                Vec::new()
            });
        (
            PodTerms {
                required_affinity,
                required_anti_affinity,
                preferred_affinity,
                preferred_anti_affinity,
            },
            errors,
        )
    }
}

/// `utilerrors.NewAggregate(errs).Error()`.
fn aggregate(errors: &[String]) -> String {
    if errors.len() == 1 {
        errors[0].clone()
    } else {
        format!("[{}]", errors.join(", "))
    }
}

/// `podMatchesAllAffinityTerms`: false for an empty list. The incoming pod's terms have their
/// namespace selectors merged, so no namespace labels are needed.
fn pod_matches_all(
    terms: &[AffinityTerm],
    pod_namespace: &str,
    pod_labels: Option<&BTreeMap<String, String>>,
) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod_namespace, pod_labels, None))
}

// ---------------------------------------------------------------------------------------------
// Filtering (filtering.go)
// ---------------------------------------------------------------------------------------------

/// `topologyToMatchedTermCount`: (topology key, value) → count. Entries that drop to zero are
/// removed, so emptiness means what `len(m) == 0` means upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct TopologyCounts(BTreeMap<String, DomainCounts>);

/// Topology value → count. A hash table: with `kubernetes.io/hostname` there is one domain per
/// node, and ordering thousands of host names byte by byte was most of PreFilter. It is only
/// probed and compared, never iterated, and its hasher has no random state.
#[allow(clippy::disallowed_types)]
type DomainCounts = rustc_hash::FxHashMap<CompactString, i64>;

/// Adds `delta` to the number kept for `value` among `key`'s domains (created at 0) and
/// returns the new number. One probe when the domain is known; a String only for a new key or
/// domain.
fn add_to_domain(map: &mut BTreeMap<String, DomainCounts>, key: &str, value: &str, delta: i64) -> i64 {
    fn add(values: &mut DomainCounts, value: &str, delta: i64) -> i64 {
        if let Some(count) = values.get_mut(value) {
            *count += delta;
            return *count;
        }
        values.insert(CompactString::from(value), delta);
        delta
    }
    // One ordered lookup of the key when it is known (the usual case: PreFilter reserves the
    // terms' keys before counting).
    if let Some(values) = map.get_mut(key) {
        return add(values, value, delta);
    }
    add(map.entry(key.to_string()).or_default(), value, delta)
}

impl TopologyCounts {
    /// Room for `domains` values of each of `terms`' topology keys, so that counting thousands
    /// of host names does not rehash as it goes. [`TopologyCounts::prune`] drops what stayed
    /// empty.
    fn reserve(&mut self, terms: &[AffinityTerm], domains: usize) {
        for t in terms {
            if !self.0.contains_key(&t.topology_key) {
                let values = DomainCounts::with_capacity_and_hasher(domains, Default::default());
                self.0.insert(t.topology_key.clone(), values);
            }
        }
    }

    /// Forgets keys without domains (left by [`TopologyCounts::reserve`]).
    fn prune(&mut self) {
        self.0.retain(|_, values| !values.is_empty());
    }

    fn get(&self, key: &str, value: &str) -> i64 {
        self.0.get(key).and_then(|values| values.get(value)).copied().unwrap_or(0)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `topologyToMatchedTermCount.update`: adds `delta` to the node's domain for `key`, if the
    /// node has that label (`value`, the node's value of it).
    fn update(&mut self, value: Option<&str>, key: &str, delta: i64) {
        let Some(value) = value else {
            return;
        };
        if add_to_domain(&mut self.0, key, value, delta) == 0 {
            let values = self.0.get_mut(key).expect("just counted");
            values.remove(value);
            if values.is_empty() {
                self.0.remove(key);
            }
        }
    }
}

/// What PreFilter computes for Filter (upstream `preFilterState`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterState {
    /// Existing pods whose required anti-affinity terms match the incoming pod, per domain.
    existing_anti_affinity_counts: TopologyCounts,
    /// Existing pods matching all of the incoming pod's required affinity terms, per domain
    /// (one count per term).
    affinity_counts: TopologyCounts,
    /// Existing pods matching the incoming pod's required anti-affinity terms, per domain.
    anti_affinity_counts: TopologyCounts,
    /// The incoming pod's required terms, namespace selectors merged.
    required_affinity: Vec<AffinityTerm>,
    required_anti_affinity: Vec<AffinityTerm>,
    pod_namespace: String,
    pod_labels: BTreeMap<String, String>,
    /// The labels of the incoming pod's namespace (`None` if the namespace is unknown).
    namespace_labels: Option<BTreeMap<String, String>>,
}

/// `getExistingAntiAffinityCounts`: for each existing pod's required anti-affinity term that
/// matches the incoming pod, count one in that pod's node's domain.
fn existing_anti_affinity_counts(
    pod_namespace: &str,
    pod_labels: &BTreeMap<String, String>,
    pod_namespace_labels: Option<&BTreeMap<String, String>>,
    nodes: &[NodePods<'_>],
) -> TopologyCounts {
    let mut counts = TopologyCounts::default();
    for np in nodes {
        for e in affinity_pods(np).iter() {
            for t in &e.terms.required_anti_affinity {
                if t.matches(pod_namespace, Some(pod_labels), pod_namespace_labels) {
                    // At most one domain per node listed.
                    counts.reserve(std::slice::from_ref(t), nodes.len());
                    counts.update(np.label(&t.topology_key), &t.topology_key, 1);
                }
            }
        }
    }
    counts.prune();
    counts
}

/// `getIncomingAffinityAntiAffinityCounts`: existing pods matching the incoming pod's required
/// terms. An affinity match needs one pod matching every term; then each term counts once.
fn incoming_counts(
    required_affinity: &[AffinityTerm],
    required_anti_affinity: &[AffinityTerm],
    nodes: &[NodePods<'_>],
) -> (TopologyCounts, TopologyCounts) {
    let mut affinity = TopologyCounts::default();
    let mut anti_affinity = TopologyCounts::default();
    if required_affinity.is_empty() && required_anti_affinity.is_empty() {
        return (affinity, anti_affinity);
    }
    // At most one domain per node with pods.
    let domains = nodes.iter().filter(|np| !np.pods.is_empty()).count();
    affinity.reserve(required_affinity, domains);
    anti_affinity.reserve(required_anti_affinity, domains);
    for np in nodes {
        for existing in np.pods {
            let (ns, labels) = (namespace(existing), existing.metadata.labels.as_ref());
            if pod_matches_all(required_affinity, ns, labels) {
                for t in required_affinity {
                    affinity.update(np.label(&t.topology_key), &t.topology_key, 1);
                }
            }
            for t in required_anti_affinity {
                if t.matches(ns, labels, None) {
                    anti_affinity.update(np.label(&t.topology_key), &t.topology_key, 1);
                }
            }
        }
    }
    affinity.prune();
    anti_affinity.prune();
    (affinity, anti_affinity)
}

/// PreFilter over all nodes (with their bound and assumed pods).
///
/// `Err` is upstream's UnschedulableAndUnresolvable "parsing pod: …" when one of the pod's
/// terms (required or preferred) has an invalid selector. `Ok(None)` is Skip: the pod has no
/// required terms and no existing pod's required anti-affinity matches it; Filter then passes
/// every node.
///
/// `nodes` are all nodes; `anti_affinity_nodes` those running a pod with required
/// anti-affinity (`HavePodsWithRequiredAntiAffinityList`), the only ones the existing pods'
/// counts can come from.
pub fn pre_filter(
    pod: &Pod,
    nodes: &[NodePods<'_>],
    anti_affinity_nodes: &[NodePods<'_>],
    namespace_labels: &NamespaceLabels,
) -> Result<Option<FilterState>, String> {
    let (terms, errors) = PodTerms::parse(pod);
    if !errors.is_empty() {
        return Err(format!("parsing pod: {}", aggregate(&errors)));
    }
    let PodTerms { mut required_affinity, mut required_anti_affinity, .. } = terms;
    for t in required_affinity.iter_mut().chain(required_anti_affinity.iter_mut()) {
        t.merge_namespaces(namespace_labels);
    }
    let pod_namespace = namespace(pod).to_string();
    let pod_labels = pod.metadata.labels.clone().unwrap_or_default();
    let ns_labels = namespace_labels.get(&pod_namespace).cloned();

    let existing =
        existing_anti_affinity_counts(&pod_namespace, &pod_labels, ns_labels.as_ref(), anti_affinity_nodes);
    let (affinity_counts, anti_affinity_counts) =
        incoming_counts(&required_affinity, &required_anti_affinity, nodes);

    if existing.is_empty() && required_affinity.is_empty() && required_anti_affinity.is_empty() {
        return Ok(None);
    }
    Ok(Some(FilterState {
        existing_anti_affinity_counts: existing,
        affinity_counts,
        anti_affinity_counts,
        required_affinity,
        required_anti_affinity,
        pod_namespace,
        pod_labels,
        namespace_labels: ns_labels,
    }))
}

impl FilterState {
    /// PreFilterExtensions `AddPod`: account for `pod` placed on `node` (preemption simulation).
    pub fn add_pod(&mut self, pod: &Pod, node: &Node) {
        self.update_with_pod(pod, node, 1);
    }

    /// PreFilterExtensions `RemovePod`: forget `pod` on `node` (a preemption victim).
    pub fn remove_pod(&mut self, pod: &Pod, node: &Node) {
        self.update_with_pod(pod, node, -1);
    }

    /// `preFilterState.updateWithPod`.
    fn update_with_pod(&mut self, pod: &Pod, node: &Node, multiplier: i64) {
        let (ns, labels) = (namespace(pod), pod.metadata.labels.as_ref());
        let anti_terms = parse_terms(ns, required_anti_affinity_terms(pod)).unwrap_or_default();
        for t in &anti_terms {
            if t.matches(&self.pod_namespace, Some(&self.pod_labels), self.namespace_labels.as_ref()) {
                self.existing_anti_affinity_counts.update(
                    node_label(node, &t.topology_key),
                    &t.topology_key,
                    multiplier,
                );
            }
        }
        if pod_matches_all(&self.required_affinity, ns, labels) {
            for t in &self.required_affinity {
                self.affinity_counts.update(node_label(node, &t.topology_key), &t.topology_key, multiplier);
            }
        }
        for t in &self.required_anti_affinity {
            if t.matches(ns, labels, None) {
                self.anti_affinity_counts.update(
                    node_label(node, &t.topology_key),
                    &t.topology_key,
                    multiplier,
                );
            }
        }
    }

    /// `satisfyPodAffinity`.
    fn satisfies_pod_affinity(&self, node: &NodePods<'_>) -> bool {
        let mut pods_exist = true;
        for t in &self.required_affinity {
            match node.label(&t.topology_key) {
                Some(value) => {
                    if self.affinity_counts.get(&t.topology_key, value) <= 0 {
                        pods_exist = false;
                    }
                }
                // Every topology label must exist on the node.
                None => return false,
            }
        }
        if !pods_exist {
            // The first pod of a group with affinity to itself: allowed when no pod in the
            // cluster matches the terms and the pod matches all of its own terms.
            return self.affinity_counts.is_empty()
                && pod_matches_all(&self.required_affinity, &self.pod_namespace, Some(&self.pod_labels));
        }
        true
    }

    /// `satisfyPodAntiAffinity`.
    fn satisfies_pod_anti_affinity(&self, node: &NodePods<'_>) -> bool {
        if self.anti_affinity_counts.is_empty() {
            return true;
        }
        !self.required_anti_affinity.iter().any(|t| {
            node.label(&t.topology_key).is_some_and(|v| self.anti_affinity_counts.get(&t.topology_key, v) > 0)
        })
    }

    /// `satisfyExistingPodsAntiAffinity`: any of the node's (key, value) labels counted.
    fn satisfies_existing_pods_anti_affinity(&self, node: &NodePods<'_>) -> bool {
        if self.existing_anti_affinity_counts.is_empty() {
            return true;
        }
        // Upstream walks the node's labels and looks each (key, value) up; walking the few
        // counted keys and looking the node's value up is the same test.
        !self
            .existing_anti_affinity_counts
            .0
            .iter()
            .any(|(key, values)| node.label(key).and_then(|v| values.get(v)).is_some_and(|&n| n > 0))
    }
}

/// Filter for one node, given the PreFilter state (upstream `Filter`; the pod itself is read
/// from the state). A Skip from PreFilter means the plugin passes every node without calling this.
pub fn filter(_pod: &Pod, state: &FilterState, node: &NodePods<'_>) -> Result<(), AffinityFailure> {
    if !state.satisfies_pod_affinity(node) {
        return Err(AffinityFailure::AffinityRulesNotMatch);
    }
    if !state.satisfies_pod_anti_affinity(node) {
        return Err(AffinityFailure::AntiAffinityRulesNotMatch);
    }
    if !state.satisfies_existing_pods_anti_affinity(node) {
        return Err(AffinityFailure::ExistingAntiAffinityRulesNotMatch);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scoring (scoring.go)
// ---------------------------------------------------------------------------------------------

/// topology key → value → summed weight.
type TopologyScore = BTreeMap<String, DomainCounts>;

/// What PreScore computes for Score (upstream `preScoreState.topologyScore`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScoreState {
    topology_score: TopologyScore,
}

/// The pod a term is matched against.
struct Target<'a> {
    namespace: &'a str,
    labels: Option<&'a BTreeMap<String, String>>,
    namespace_labels: Option<&'a BTreeMap<String, String>>,
}

/// `scoreMap.processTerm`: if the target pod matches the term, add `weight × multiplier` to the
/// domain of `node` (the existing pod's node) for the term's topology key.
fn process_term(
    scores: &mut TopologyScore,
    term: &AffinityTerm,
    weight: i32,
    target: &Target<'_>,
    node: &Node,
    multiplier: i64,
) {
    if !term.matches(target.namespace, target.labels, target.namespace_labels) {
        return;
    }
    if let Some(value) = node.metadata.labels.as_ref().and_then(|l| l.get(&term.topology_key)) {
        add_to_domain(scores, &term.topology_key, value, i64::from(weight) * multiplier);
    }
}

/// PreScore. `all` is every node with its pods: upstream walks the whole snapshot, not only the
/// feasible nodes, so those are not an input; without preferred terms of its own the pod can
/// only be scored by nodes running pods with affinity, and `all` may be just those. `None` is
/// Skip, upstream's outcome when `ignorePreferredTermsOfExistingPods` is set and the pod has
/// no preferred terms, or when no term of either side matched anything (then every node scores
/// 0 and NormalizeScore does not run). A pod whose terms do not parse also gives `None`;
/// upstream returns an error there, which cannot happen after PreFilter rejected the same pod.
pub fn pre_score(
    pod: &Pod,
    all: &[NodePods<'_>],
    args: &AffinityArgs,
    namespace_labels: &NamespaceLabels,
) -> Option<ScoreState> {
    let has_constraints =
        !preferred_affinity_terms(pod).is_empty() || !preferred_anti_affinity_terms(pod).is_empty();
    if args.ignore_preferred_terms_of_existing_pods && !has_constraints {
        return None;
    }
    let (terms, errors) = PodTerms::parse(pod);
    if !errors.is_empty() {
        return None;
    }
    let PodTerms { mut preferred_affinity, mut preferred_anti_affinity, .. } = terms;
    for wt in preferred_affinity.iter_mut().chain(preferred_anti_affinity.iter_mut()) {
        wt.term.merge_namespaces(namespace_labels);
    }
    let incoming = Target {
        namespace: namespace(pod),
        labels: pod.metadata.labels.as_ref(),
        namespace_labels: namespace_labels.get(namespace(pod)),
    };

    let mut scores = TopologyScore::new();
    for np in all {
        let node = np.node;
        // processExistingPod returns at once for a node without labels.
        if node.metadata.labels.as_ref().is_none_or(|l| l.is_empty()) {
            continue;
        }
        // The incoming pod's preferred terms against every existing pod. (Upstream handles
        // both sides pod by pod; the sums do not depend on the order.) Its namespace
        // selectors are merged, so the existing pods' namespace labels are not needed.
        if has_constraints {
            for existing in np.pods {
                let target = Target {
                    namespace: namespace(existing),
                    labels: existing.metadata.labels.as_ref(),
                    namespace_labels: None,
                };
                for wt in &preferred_affinity {
                    process_term(&mut scores, &wt.term, wt.weight, &target, node, 1);
                }
                for wt in &preferred_anti_affinity {
                    process_term(&mut scores, &wt.term, wt.weight, &target, node, -1);
                }
            }
        }
        // The existing pods' terms against the incoming pod: only pods with affinity have any.
        // The three lists scoring reads (not required anti-affinity, which only Filter uses).
        for existing in affinity_pods(np).iter() {
            let terms = &existing.terms;
            if args.hard_pod_affinity_weight > 0 {
                for t in &terms.required_affinity {
                    process_term(&mut scores, t, args.hard_pod_affinity_weight, &incoming, node, 1);
                }
            }
            for wt in &terms.preferred_affinity {
                process_term(&mut scores, &wt.term, wt.weight, &incoming, node, 1);
            }
            for wt in &terms.preferred_anti_affinity {
                process_term(&mut scores, &wt.term, wt.weight, &incoming, node, -1);
            }
        }
    }
    if scores.is_empty() {
        return None;
    }
    Some(ScoreState { topology_score: scores })
}

/// Score: the sum, over the topology keys scored in PreScore, of the weight recorded for the
/// node's value of that key. Positive for affinity, negative for anti-affinity.
pub fn score(state: &ScoreState, node: &NodePods<'_>) -> i64 {
    state
        .topology_score
        .iter()
        .map(|(key, values)| node.label(key).and_then(|v| values.get(v)).copied().unwrap_or(0))
        .sum()
}

/// NormalizeScore over the scored nodes: `int64(100 * (float64(s - min) / float64(max - min)))`,
/// in floating point exactly as upstream (so 29 of 100 gives 28), and 0 for every node when
/// `max == min`.
pub fn normalize(scores: &mut [i64]) {
    let (Some(&min), Some(&max)) = (scores.iter().min(), scores.iter().max()) else {
        return;
    };
    let diff = max - min;
    for s in scores.iter_mut() {
        *s = if diff > 0 { (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64 } else { 0 };
    }
}

// ---------------------------------------------------------------------------------------------
// matchLabelKeys / mismatchLabelKeys (API server, on pod creation)
// ---------------------------------------------------------------------------------------------

/// The API server's `mutatePodAffinity` (pkg/registry/core/pod/strategy.go, PrepareForCreate):
/// for every pod (anti-)affinity term with a label selector, each `matchLabelKeys` key the pod
/// has a label for adds `key In (value)` to the selector, and each `mismatchLabelKeys` key adds
/// `key NotIn (value)`. The key lists themselves are kept. The scheduler relies on this having
/// happened; call it where the simulated API server creates pods.
pub fn apply_match_label_keys(pod: &mut Pod) {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let Some(affinity) = pod.spec.as_mut().and_then(|s| s.affinity.as_mut()) else {
        return;
    };
    if let Some(a) = affinity.pod_affinity.as_mut() {
        for t in a.preferred_during_scheduling_ignored_during_execution.iter_mut().flatten() {
            apply_label_keys(&mut t.pod_affinity_term, &labels);
        }
        for t in a.required_during_scheduling_ignored_during_execution.iter_mut().flatten() {
            apply_label_keys(t, &labels);
        }
    }
    if let Some(a) = affinity.pod_anti_affinity.as_mut() {
        for t in a.preferred_during_scheduling_ignored_during_execution.iter_mut().flatten() {
            apply_label_keys(&mut t.pod_affinity_term, &labels);
        }
        for t in a.required_during_scheduling_ignored_during_execution.iter_mut().flatten() {
            apply_label_keys(t, &labels);
        }
    }
}

/// `applyMatchLabelKeysAndMismatchLabelKeys`.
fn apply_label_keys(term: &mut PodAffinityTerm, labels: &BTreeMap<String, String>) {
    let match_keys = term.match_label_keys.as_deref().unwrap_or(&[]);
    let mismatch_keys = term.mismatch_label_keys.as_deref().unwrap_or(&[]);
    if match_keys.is_empty() && mismatch_keys.is_empty() {
        return;
    }
    // A nil selector matches nothing; it is left alone.
    let Some(selector) = term.label_selector.as_mut() else {
        return;
    };
    for (keys, operator) in [(match_keys, "In"), (mismatch_keys, "NotIn")] {
        for key in keys {
            if let Some(value) = labels.get(key) {
                selector.match_expressions.get_or_insert_with(Vec::new).push(LabelSelectorRequirement {
                    key: key.clone(),
                    operator: operator.to_string(),
                    values: Some(vec![value.clone()]),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Framework adapter.

/// `InterPodAffinityArgs` as written in `pluginConfig` (v1).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AffinityArgsV1 {
    #[serde(default)]
    hard_pod_affinity_weight: Option<i32>,
    #[serde(default)]
    ignore_preferred_terms_of_existing_pods: Option<bool>,
}

impl AffinityArgs {
    /// Parses and validates `pluginConfig[].args` (ValidateInterPodAffinityArgs: the weight is
    /// in [0, 100]; v1 default 1).
    pub fn from_json(args: &serde_json::Value) -> Result<AffinityArgs, String> {
        let v: AffinityArgsV1 = super::parse_args(args)?;
        let weight = v.hard_pod_affinity_weight.unwrap_or(1);
        if !(0..=100).contains(&weight) {
            return Err(format!(
                "hardPodAffinityWeight: Invalid value: {weight}: not in valid range [0, 100]"
            ));
        }
        Ok(AffinityArgs {
            hard_pod_affinity_weight: weight,
            ignore_preferred_terms_of_existing_pods: v
                .ignore_preferred_terms_of_existing_pods
                .unwrap_or(false),
        })
    }
}

/// The plugin as a profile runs it.
pub struct InterPodAffinity {
    args: AffinityArgs,
}

impl InterPodAffinity {
    pub fn new(args: AffinityArgs) -> Self {
        InterPodAffinity { args }
    }
}

const PRE_SCORE_KEY: &str = "PreScoreInterPodAffinity";

crate::impl_plugin!(InterPodAffinity, NAME, [pre_filter, filter, pre_score, score]);

mod adapter {
    use super::*;
    use crate::scheduler::cache::{NodeInfo, Snapshot};
    use crate::scheduler::framework::{
        CycleState, FilterPlugin, PreFilterPlugin, PreFilterResult, PreScorePlugin, ScorePlugin, Status,
    };

    impl PreFilterPlugin for InterPodAffinity {
        fn pre_filter(
            &self,
            state: &mut CycleState,
            pod: &Pod,
            snapshot: &Snapshot,
        ) -> (PreFilterResult, Status) {
            // Existing pods' required anti-affinity counts come from the nodes running such
            // pods (upstream's HavePodsWithRequiredAntiAffinityList); the incoming pod's own
            // required terms are counted over all nodes, so without any, all nodes are not
            // listed at all.
            let has_required =
                !required_affinity_terms(pod).is_empty() || !required_anti_affinity_terms(pod).is_empty();
            let anti_nodes = snapshot.node_pods_with_required_anti_affinity();
            let nodes = if has_required { snapshot.node_pods() } else { Vec::new() };
            match pre_filter(pod, &nodes, &anti_nodes, &snapshot.cluster.namespace_labels) {
                Ok(None) => (PreFilterResult::all(), Status::skip()),
                Ok(Some(s)) => {
                    state.write(NAME, s);
                    (PreFilterResult::all(), Status::success())
                }
                Err(e) => (PreFilterResult::all(), Status::unresolvable(e)),
            }
        }
        fn add_pod(&self, state: &mut CycleState, _pod: &Pod, to_add: &Pod, node: &NodeInfo) -> Status {
            if let Some(s) = state.read_mut::<FilterState>(NAME) {
                s.add_pod(to_add, &node.node);
            }
            Status::success()
        }
        fn remove_pod(&self, state: &mut CycleState, _pod: &Pod, to_remove: &Pod, node: &NodeInfo) -> Status {
            if let Some(s) = state.read_mut::<FilterState>(NAME) {
                s.remove_pod(to_remove, &node.node);
            }
            Status::success()
        }
    }

    impl FilterPlugin for InterPodAffinity {
        fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
            let Some(s) = state.read::<FilterState>(NAME) else {
                return Status::error("reading \"PreFilterInterPodAffinity\" from cycleState: not found");
            };
            match filter(pod, s, &node.node_pods()) {
                Ok(()) => Status::success(),
                Err(f) if f.resolvable() => Status::unschedulable(f.message()),
                Err(f) => Status::unresolvable(f.message()),
            }
        }
    }

    impl PreScorePlugin for InterPodAffinity {
        fn pre_score(
            &self,
            state: &mut CycleState,
            pod: &Pod,
            _feasible: &[&NodeInfo],
            snapshot: &Snapshot,
        ) -> Status {
            // Unless the pod has preferred terms, only nodes hosting pods with affinity matter
            // (upstream's HavePodsWithAffinityList).
            let has_preferred =
                !preferred_affinity_terms(pod).is_empty() || !preferred_anti_affinity_terms(pod).is_empty();
            let all = if has_preferred { snapshot.node_pods() } else { snapshot.node_pods_with_affinity() };
            match pre_score(pod, &all, &self.args, &snapshot.cluster.namespace_labels) {
                None => Status::skip(),
                Some(s) => {
                    state.write(PRE_SCORE_KEY, s);
                    Status::success()
                }
            }
        }
    }

    impl ScorePlugin for InterPodAffinity {
        fn score(
            &self,
            state: &CycleState,
            _pod: &Pod,
            node: &NodeInfo,
            _snapshot: &Snapshot,
        ) -> Result<i64, Status> {
            let s = state.read::<ScoreState>(PRE_SCORE_KEY).ok_or_else(|| {
                Status::error("reading \"PreScoreInterPodAffinity\" from cycleState: not found")
            })?;
            Ok(score(s, &node.node_pods()))
        }
        fn normalize(
            &self,
            _state: &CycleState,
            _pod: &Pod,
            _feasible: &[&NodeInfo],
            scores: &mut [i64],
        ) -> Status {
            normalize(scores);
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    //! Ports of upstream's table tests (pkg/scheduler/framework/plugins/interpodaffinity/
    //! filtering_test.go and scoring_test.go, v1.34) with their expected values.

    use super::*;
    use k8s_openapi::api::core::v1::{PodAffinity, PodAntiAffinity, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as K8sSelector, ObjectMeta};
    use std::sync::Arc;

    use super::AffinityFailure::{
        AffinityRulesNotMatch as AFF, AntiAffinityRulesNotMatch as ANTI,
        ExistingAntiAffinityRulesNotMatch as EXISTING,
    };

    // ---- object helpers (after pkg/scheduler/testing wrappers) ----

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn node(name: &str, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta { name: Some(name.into()), labels: Some(map(labels)), ..Default::default() },
            ..Default::default()
        }
    }

    fn req(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: if values.is_empty() {
                None
            } else {
                Some(values.iter().map(|v| v.to_string()).collect())
            },
        }
    }

    fn selector(reqs: Vec<LabelSelectorRequirement>) -> K8sSelector {
        K8sSelector { match_expressions: Some(reqs), match_labels: None }
    }

    fn term(sel: K8sSelector, topology_key: &str) -> PodAffinityTerm {
        PodAffinityTerm { label_selector: Some(sel), topology_key: topology_key.into(), ..Default::default() }
    }

    fn ns_term(
        sel: K8sSelector,
        topology_key: &str,
        namespaces: &[&str],
        ns_sel: Option<K8sSelector>,
    ) -> PodAffinityTerm {
        PodAffinityTerm {
            label_selector: Some(sel),
            topology_key: topology_key.into(),
            namespaces: if namespaces.is_empty() {
                None
            } else {
                Some(namespaces.iter().map(|n| n.to_string()).collect())
            },
            namespace_selector: ns_sel,
            ..Default::default()
        }
    }

    fn weighted(weight: i32, t: PodAffinityTerm) -> WeightedPodAffinityTerm {
        WeightedPodAffinityTerm { weight, pod_affinity_term: t }
    }

    fn pref_affinity(terms: Vec<WeightedPodAffinityTerm>) -> PodAffinity {
        PodAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(terms),
            ..Default::default()
        }
    }

    fn pref_anti_affinity(terms: Vec<WeightedPodAffinityTerm>) -> PodAntiAffinity {
        PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(terms),
            ..Default::default()
        }
    }

    #[derive(Clone, Copy)]
    enum Kind {
        Affinity,
        AntiAffinity,
    }

    struct PodW(Pod);

    fn make_pod() -> PodW {
        PodW(Pod { spec: Some(PodSpec::default()), ..Default::default() })
    }

    impl PodW {
        fn spec(&mut self) -> &mut PodSpec {
            self.0.spec.get_or_insert_with(Default::default)
        }
        fn name(mut self, name: &str) -> Self {
            self.0.metadata.name = Some(name.into());
            self
        }
        fn namespace(mut self, ns: &str) -> Self {
            self.0.metadata.namespace = Some(ns.into());
            self
        }
        fn label(mut self, k: &str, v: &str) -> Self {
            self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
            self
        }
        fn labels(mut self, pairs: &[(&str, &str)]) -> Self {
            for (k, v) in pairs {
                self = self.label(k, v);
            }
            self
        }
        fn node(mut self, name: &str) -> Self {
            self.spec().node_name = Some(name.into());
            self
        }
        fn affinity(mut self, a: Affinity) -> Self {
            self.spec().affinity = Some(a);
            self
        }
        fn required(mut self, kind: Kind, t: PodAffinityTerm) -> Self {
            let a = self.spec().affinity.get_or_insert_with(Default::default);
            match kind {
                Kind::Affinity => a
                    .pod_affinity
                    .get_or_insert_with(Default::default)
                    .required_during_scheduling_ignored_during_execution
                    .get_or_insert_with(Vec::new)
                    .push(t),
                Kind::AntiAffinity => a
                    .pod_anti_affinity
                    .get_or_insert_with(Default::default)
                    .required_during_scheduling_ignored_during_execution
                    .get_or_insert_with(Vec::new)
                    .push(t),
            }
            self
        }
        fn affinity_in(self, key: &str, topology_key: &str, values: &[&str]) -> Self {
            self.required(Kind::Affinity, term(selector(vec![req(key, "In", values)]), topology_key))
        }
        fn affinity_not_in(self, key: &str, topology_key: &str, values: &[&str]) -> Self {
            self.required(Kind::Affinity, term(selector(vec![req(key, "NotIn", values)]), topology_key))
        }
        fn affinity_exists(self, key: &str, topology_key: &str) -> Self {
            self.required(Kind::Affinity, term(selector(vec![req(key, "Exists", &[])]), topology_key))
        }
        fn anti_in(self, key: &str, topology_key: &str, values: &[&str]) -> Self {
            self.required(Kind::AntiAffinity, term(selector(vec![req(key, "In", values)]), topology_key))
        }
        fn anti_not_in(self, key: &str, topology_key: &str, values: &[&str]) -> Self {
            self.required(Kind::AntiAffinity, term(selector(vec![req(key, "NotIn", values)]), topology_key))
        }
        fn anti_exists(self, key: &str, topology_key: &str) -> Self {
            self.required(Kind::AntiAffinity, term(selector(vec![req(key, "Exists", &[])]), topology_key))
        }
        fn obj(self) -> Pod {
            self.0
        }
    }

    /// filtering_test.go `createPodWithAffinityTerms`.
    fn pod_with_terms(
        ns: &str,
        labels: &[(&str, &str)],
        affinity: Vec<PodAffinityTerm>,
        anti_affinity: Vec<PodAffinityTerm>,
    ) -> Pod {
        let opt = |v: Vec<PodAffinityTerm>| if v.is_empty() { None } else { Some(v) };
        make_pod()
            .namespace(ns)
            .labels(labels)
            .affinity(Affinity {
                pod_affinity: Some(PodAffinity {
                    required_during_scheduling_ignored_during_execution: opt(affinity),
                    ..Default::default()
                }),
                pod_anti_affinity: Some(PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: opt(anti_affinity),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .obj()
    }

    /// A snapshot: nodes and the pods bound to them (pods naming an unknown node are dropped, as
    /// the snapshot lists only nodes that exist).
    struct Cluster {
        nodes: Vec<Node>,
        pods: Vec<Vec<Arc<Pod>>>,
    }

    impl Cluster {
        fn new(nodes: Vec<Node>, pods: Vec<Pod>) -> Cluster {
            let mut per_node = vec![Vec::new(); nodes.len()];
            for p in pods {
                let target = p.spec.as_ref().and_then(|s| s.node_name.clone());
                if let Some(i) = nodes.iter().position(|n| n.metadata.name == target) {
                    per_node[i].push(Arc::new(p));
                }
            }
            Cluster { nodes, pods: per_node }
        }

        /// The nodes as the scheduler cache holds them, existing pods' terms parsed on add.
        fn node_infos(&self) -> Vec<crate::scheduler::cache::NodeInfo> {
            self.nodes
                .iter()
                .zip(&self.pods)
                .map(|(node, pods)| {
                    let mut info = crate::scheduler::cache::NodeInfo::new(node.clone());
                    pods.iter().for_each(|p| info.add_pod(p.clone()));
                    info
                })
                .collect()
        }

        fn view(&self) -> Vec<NodePods<'_>> {
            self.nodes
                .iter()
                .zip(&self.pods)
                .map(|(node, pods)| NodePods {
                    node,
                    pods: pods.as_slice(),
                    affinity_pods: None,
                    labels: None,
                })
                .collect()
        }
    }

    /// scoring_test.go `namespaces`.
    fn test_namespaces() -> NamespaceLabels {
        [
            ("subteam1.team1", "team1"),
            ("subteam2.team1", "team1"),
            ("subteam1.team2", "team2"),
            ("subteam2.team2", "team2"),
        ]
        .into_iter()
        .map(|(name, team)| (name.to_string(), map(&[("team", team)])))
        .collect()
    }

    /// PreFilter then Filter on every node; `None` is Skip.
    fn filter_all(
        pod: &Pod,
        cluster: &Cluster,
        ns: &NamespaceLabels,
    ) -> Option<Vec<Result<(), AffinityFailure>>> {
        let view = cluster.view();
        let state = pre_filter(pod, &view, &view, ns).expect("pre_filter");
        // The scheduler cache's NodeInfos carry the existing pods' terms parsed on add, and list
        // only the nodes with required anti-affinity pods for the existing counts: same state.
        let infos = cluster.node_infos();
        let cached: Vec<NodePods<'_>> = infos.iter().map(|i| i.node_pods()).collect();
        let anti: Vec<NodePods<'_>> =
            infos.iter().filter(|i| i.runs_required_anti_affinity_pods()).map(|i| i.node_pods()).collect();
        assert_eq!(pre_filter(pod, &cached, &anti, ns).expect("pre_filter"), state, "cached terms");
        let state = state?;
        Some(view.iter().map(|np| filter(pod, &state, np)).collect())
    }

    /// PreScore, Score, NormalizeScore on every node; `None` is Skip.
    fn score_all(
        pod: &Pod,
        cluster: &Cluster,
        args: &AffinityArgs,
        ns: &NamespaceLabels,
    ) -> Option<Vec<i64>> {
        let view = cluster.view();
        let state = pre_score(pod, &view, args, ns);
        // From the cache's parsed terms: the same state.
        let infos = cluster.node_infos();
        let cached: Vec<NodePods<'_>> = infos.iter().map(|i| i.node_pods()).collect();
        assert_eq!(pre_score(pod, &cached, args, ns), state, "cached terms");
        let state = state?;
        let mut scores: Vec<i64> = view.iter().map(|np| score(&state, np)).collect();
        normalize(&mut scores);
        Some(scores)
    }

    fn team_selector(team: &str) -> K8sSelector {
        selector(vec![req("team", "In", &[team])])
    }

    // ---- filtering_test.go ----

    #[test]
    fn required_affinity_single_node() {
        let pod_label: &[(&str, &str)] = &[("service", "securityscan")];
        let pod_label2: &[(&str, &str)] = &[("security", "S1")];
        let existing = || make_pod().labels(pod_label).node("node1").obj();
        let node1 = || node("node1", &[("region", "r1"), ("zone", "z11")]);
        let svc_in = |values: &[&str]| selector(vec![req("service", "In", values)]);

        // (name, pod, existing pods, want: None = Skip, Some(result of Filter on node1))
        type Case<'a> = (&'a str, Pod, Vec<Pod>, Option<Result<(), AffinityFailure>>);
        let cases: Vec<Case<'_>> = vec![
            (
                "A pod that has no required pod affinity scheduling rules can schedule onto a node with no existing pods",
                Pod::default(),
                vec![],
                None,
            ),
            (
                "satisfies with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using In operator that matches the existing pod",
                make_pod().labels(pod_label2).affinity_in("service", "region", &["securityscan", "value2"]).obj(),
                vec![existing()],
                Some(Ok(())),
            ),
            (
                "satisfies the pod with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using not in operator in labelSelector that matches the existing pod",
                make_pod().labels(pod_label2).affinity_not_in("service", "region", &["securityscan3", "value3"]).obj(),
                vec![existing()],
                Some(Ok(())),
            ),
            (
                "Does not satisfy the PodAffinity with labelSelector because of diff Namespace",
                pod_with_terms(
                    "",
                    pod_label2,
                    vec![ns_term(svc_in(&["securityscan", "value2"]), "", &["DiffNameSpace"], None)],
                    vec![],
                ),
                vec![make_pod().namespace("ns").label("service", "securityscan").node("node1").obj()],
                Some(Err(AFF)),
            ),
            (
                "Doesn't satisfy the PodAffinity because of unmatching labelSelector with the existing pod",
                make_pod().labels(pod_label).affinity_in("service", "", &["antivirusscan", "value2"]).obj(),
                vec![existing()],
                Some(Err(AFF)),
            ),
            (
                "satisfies the PodAffinity with different label Operators in multiple RequiredDuringSchedulingIgnoredDuringExecution",
                pod_with_terms(
                    "",
                    pod_label2,
                    vec![
                        term(selector(vec![req("service", "Exists", &[]), req("wrongkey", "DoesNotExist", &[])]), "region"),
                        term(
                            selector(vec![req("service", "In", &["securityscan"]), req("service", "NotIn", &["WrongValue"])]),
                            "region",
                        ),
                    ],
                    vec![],
                ),
                vec![existing()],
                Some(Ok(())),
            ),
            (
                "The labelSelector requirements(items of matchExpressions) are ANDed, the pod cannot schedule onto the node because one of the matchExpression item don't match.",
                pod_with_terms(
                    "",
                    pod_label2,
                    vec![
                        term(selector(vec![req("service", "Exists", &[]), req("wrongkey", "DoesNotExist", &[])]), "region"),
                        term(
                            selector(vec![req("service", "In", &["securityscan2"]), req("service", "NotIn", &["WrongValue"])]),
                            "region",
                        ),
                    ],
                    vec![],
                ),
                vec![existing()],
                Some(Err(AFF)),
            ),
            (
                "satisfies the PodAffinity and PodAntiAffinity with the existing pod",
                make_pod()
                    .labels(pod_label2)
                    .affinity_in("service", "region", &["securityscan", "value2"])
                    .anti_in("service", "node", &["antivirusscan", "value2"])
                    .obj(),
                vec![existing()],
                Some(Ok(())),
            ),
            (
                "satisfies the PodAffinity and PodAntiAffinity and PodAntiAffinity symmetry with the existing pod",
                make_pod()
                    .labels(pod_label2)
                    .affinity_in("service", "region", &["securityscan", "value2"])
                    .anti_in("service", "node", &["antivirusscan", "value2"])
                    .obj(),
                vec![make_pod().node("node1").labels(pod_label).anti_in("service", "node", &["antivirusscan", "value2"]).obj()],
                Some(Ok(())),
            ),
            (
                "satisfies the PodAffinity but doesn't satisfy the PodAntiAffinity with the existing pod",
                make_pod()
                    .labels(pod_label2)
                    .affinity_in("service", "region", &["securityscan", "value2"])
                    .anti_in("service", "zone", &["securityscan", "value2"])
                    .obj(),
                vec![existing()],
                Some(Err(ANTI)),
            ),
            (
                "satisfies the PodAffinity and PodAntiAffinity but doesn't satisfy PodAntiAffinity symmetry with the existing pod",
                make_pod()
                    .labels(pod_label)
                    .affinity_in("service", "region", &["securityscan", "value2"])
                    .anti_in("service", "node", &["antivirusscan", "value2"])
                    .obj(),
                vec![make_pod().labels(pod_label).node("node1").anti_in("service", "zone", &["securityscan", "value2"]).obj()],
                Some(Err(EXISTING)),
            ),
            (
                // Upstream places the existing pod on node2, which is not in the snapshot.
                "pod matches its own Label in PodAffinity and that matches the existing pod Labels",
                make_pod().labels(pod_label).affinity_not_in("service", "region", &["securityscan", "value2"]).obj(),
                vec![make_pod().label("service", "securityscan").node("node2").obj()],
                Some(Err(AFF)),
            ),
            (
                "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints. doesn't satisfy PodAntiAffinity symmetry with the existing pod",
                make_pod().labels(pod_label).obj(),
                vec![make_pod().node("node1").labels(pod_label).anti_in("service", "zone", &["securityscan", "value2"]).obj()],
                Some(Err(EXISTING)),
            ),
            (
                "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints. satisfy PodAntiAffinity symmetry with the existing pod",
                make_pod().labels(pod_label).obj(),
                vec![make_pod().node("node1").labels(pod_label).anti_not_in("service", "zone", &["securityscan", "value2"]).obj()],
                None,
            ),
            (
                "satisfies the PodAntiAffinity with existing pod but doesn't satisfy PodAntiAffinity symmetry with incoming pod",
                make_pod().labels(pod_label).anti_exists("service", "region").anti_exists("security", "region").obj(),
                vec![make_pod().node("node1").labels(pod_label2).anti_exists("security", "zone").obj()],
                Some(Err(ANTI)),
            ),
            (
                "PodAntiAffinity symmetry check a1: incoming pod and existing pod partially match each other on AffinityTerms",
                make_pod().labels(pod_label).anti_exists("service", "zone").anti_exists("security", "zone").obj(),
                vec![make_pod().node("node1").labels(pod_label2).anti_exists("security", "zone").obj()],
                Some(Err(ANTI)),
            ),
            (
                "PodAntiAffinity symmetry check a2: incoming pod and existing pod partially match each other on AffinityTerms",
                make_pod().labels(pod_label2).anti_exists("security", "zone").obj(),
                vec![make_pod()
                    .node("node1")
                    .labels(pod_label)
                    .anti_exists("service", "zone")
                    .anti_exists("security", "zone")
                    .obj()],
                Some(Err(EXISTING)),
            ),
            (
                "PodAntiAffinity symmetry check b1: incoming pod and existing pod partially match each other on AffinityTerms",
                make_pod().labels(&[("abc", ""), ("xyz", "")]).anti_exists("abc", "zone").anti_exists("def", "zone").obj(),
                vec![make_pod()
                    .node("node1")
                    .labels(&[("def", ""), ("xyz", "")])
                    .anti_exists("abc", "zone")
                    .anti_exists("def", "zone")
                    .obj()],
                Some(Err(ANTI)),
            ),
            (
                "PodAntiAffinity symmetry check b2: incoming pod and existing pod partially match each other on AffinityTerms",
                make_pod().labels(&[("def", ""), ("xyz", "")]).anti_exists("abc", "zone").anti_exists("def", "zone").obj(),
                vec![make_pod()
                    .node("node1")
                    .labels(&[("abc", ""), ("xyz", "")])
                    .anti_exists("abc", "zone")
                    .anti_exists("def", "zone")
                    .obj()],
                Some(Err(ANTI)),
            ),
            (
                "affinity with NamespaceSelector",
                pod_with_terms(
                    "",
                    pod_label2,
                    vec![ns_term(svc_in(&["securityscan", "value2"]), "region", &[], Some(team_selector("team1")))],
                    vec![],
                ),
                vec![make_pod().namespace("subteam1.team1").labels(pod_label).node("node1").obj()],
                Some(Ok(())),
            ),
            (
                "affinity with non-matching NamespaceSelector",
                pod_with_terms(
                    "",
                    pod_label2,
                    vec![ns_term(svc_in(&["securityscan", "value2"]), "region", &[], Some(team_selector("team1")))],
                    vec![],
                ),
                vec![make_pod().namespace("subteam1.team2").labels(pod_label).node("node1").obj()],
                Some(Err(AFF)),
            ),
            (
                "anti-affinity with matching NamespaceSelector",
                pod_with_terms(
                    "subteam1.team1",
                    pod_label2,
                    vec![],
                    vec![ns_term(svc_in(&["securityscan", "value2"]), "zone", &[], Some(team_selector("team1")))],
                ),
                vec![make_pod().namespace("subteam2.team1").labels(pod_label).node("node1").obj()],
                Some(Err(ANTI)),
            ),
            (
                "anti-affinity with matching all NamespaceSelector",
                pod_with_terms(
                    "subteam1.team1",
                    pod_label2,
                    vec![],
                    vec![ns_term(svc_in(&["securityscan", "value2"]), "zone", &[], Some(K8sSelector::default()))],
                ),
                vec![make_pod().namespace("subteam2.team1").labels(pod_label).node("node1").obj()],
                Some(Err(ANTI)),
            ),
            (
                "anti-affinity with non-matching NamespaceSelector",
                pod_with_terms(
                    "subteam1.team1",
                    pod_label2,
                    vec![],
                    vec![ns_term(svc_in(&["securityscan", "value2"]), "zone", &[], Some(team_selector("team1")))],
                ),
                vec![make_pod().namespace("subteam1.team2").labels(pod_label).node("node1").obj()],
                Some(Ok(())),
            ),
        ];

        let ns = test_namespaces();
        for (name, pod, pods, want) in cases {
            let cluster = Cluster::new(vec![node1()], pods);
            let got = filter_all(&pod, &cluster, &ns).map(|results| results[0]);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn required_affinity_multiple_nodes() {
        let rg_china: &[(&str, &str)] = &[("region", "China")];
        let rg_china_az1: &[(&str, &str)] = &[("region", "China"), ("az", "az1")];
        let rg_india: &[(&str, &str)] = &[("region", "India")];
        let abc = |name: &str, region: &str, zone: &str| {
            node(name, &[("region", region), ("zone", zone), ("hostname", name)])
        };

        // (name, pod, existing pods, nodes, want: None = Skip, Some(per-node Filter results))
        type Case<'a> = (&'a str, Pod, Vec<Pod>, Vec<Node>, Option<Vec<Result<(), AffinityFailure>>>);
        let cases: Vec<Case<'_>> = vec![
            (
                "A pod can be scheduled onto all the nodes that have the same topology key & label value with one of them has an existing pod that matches the affinity rules",
                make_pod().affinity_in("foo", "region", &["bar"]).obj(),
                vec![make_pod().name("p1").node("node1").label("foo", "bar").obj()],
                vec![node("node1", rg_china), node("node2", rg_china_az1), node("node3", rg_india)],
                Some(vec![Ok(()), Ok(()), Err(AFF)]),
            ),
            (
                "The affinity rule is to schedule all of the pods of this collection to the same zone. The first pod of the collection should not be blocked from being scheduled onto any node, even there's no existing pod that matches the rule anywhere.",
                make_pod()
                    .labels(&[("foo", "bar"), ("service", "securityscan")])
                    .affinity_in("foo", "zone", &["bar"])
                    .affinity_in("service", "zone", &["securityscan"])
                    .obj(),
                vec![make_pod().name("p1").node("nodeA").label("foo", "bar").obj()],
                vec![
                    node("nodeA", &[("zone", "az1"), ("hostname", "h1")]),
                    node("nodeB", &[("zone", "az2"), ("hostname", "h2")]),
                ],
                Some(vec![Ok(()), Ok(())]),
            ),
            (
                "The first pod of the collection can only be scheduled on nodes labelled with the requested topology keys",
                make_pod()
                    .labels(&[("foo", "bar"), ("service", "securityscan")])
                    .affinity_in("foo", "zone", &["bar"])
                    .affinity_in("service", "zone", &["securityscan"])
                    .obj(),
                vec![make_pod().name("p1").node("nodeA").label("foo", "bar").obj()],
                vec![
                    node("nodeA", &[("zoneLabel", "az1"), ("hostname", "h1")]),
                    node("nodeB", &[("zoneLabel", "az2"), ("hostname", "h2")]),
                ],
                Some(vec![Err(AFF), Err(AFF)]),
            ),
            (
                "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB.",
                make_pod().anti_in("foo", "region", &["abc"]).obj(),
                vec![make_pod().node("nodeA").label("foo", "abc").obj()],
                vec![
                    node("nodeA", &[("region", "r1"), ("hostname", "nodeA")]),
                    node("nodeB", &[("region", "r1"), ("hostname", "nodeB")]),
                ],
                Some(vec![Err(ANTI), Err(ANTI)]),
            ),
            (
                "This test ensures that anti-affinity matches a pod when any term of the anti-affinity rule matches a pod.",
                make_pod().anti_in("foo", "region", &["abc"]).anti_in("service", "zone", &["securityscan"]).obj(),
                vec![make_pod().node("nodeA").labels(&[("foo", "abc"), ("service", "securityscan")]).obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(ANTI), Err(ANTI)]),
            ),
            (
                "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB but can be scheduled onto nodeC",
                make_pod().anti_in("foo", "region", &["abc"]).obj(),
                vec![make_pod().node("nodeA").label("foo", "abc").obj()],
                vec![node("nodeA", rg_china), node("nodeB", rg_china_az1), node("nodeC", rg_india)],
                Some(vec![Err(ANTI), Err(ANTI), Ok(())]),
            ),
            (
                "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA, nodeB, but can be scheduled onto nodeC (NodeC has an existing pod that match the inter pod affinity rule but in different namespace)",
                make_pod().namespace("NS1").label("foo", "123").anti_in("foo", "region", &["bar"]).obj(),
                vec![
                    make_pod().node("nodeA").namespace("NS1").label("foo", "bar").obj(),
                    make_pod().node("nodeC").namespace("NS2").anti_in("foo", "region", &["123"]).obj(),
                ],
                vec![node("nodeA", rg_china), node("nodeB", rg_china_az1), node("nodeC", rg_india)],
                Some(vec![Err(ANTI), Err(ANTI), Ok(())]),
            ),
            (
                "Test existing pod's anti-affinity: if an existing pod has a term with invalid topologyKey, labelSelector of the term is firstly checked, and then topologyKey of the term is also checked",
                make_pod().label("foo", "").obj(),
                vec![make_pod().node("nodeA").anti_exists("foo", "invalid-node-label").obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z1")],
                None,
            ),
            (
                "Test incoming pod's anti-affinity: even if labelSelector matches, we still check if topologyKey matches",
                make_pod().node("nodeA").anti_exists("foo", "invalid-node-label").obj(),
                vec![make_pod().node("nodeA").label("foo", "").obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z1")],
                Some(vec![Ok(()), Ok(())]),
            ),
            (
                "Test existing pod's anti-affinity: incoming pod wouldn't considered as a fit as it violates each existingPod's terms on all nodes",
                make_pod().label("foo", "").label("bar", "").obj(),
                vec![
                    make_pod().node("nodeA").anti_exists("foo", "zone").obj(),
                    make_pod().node("nodeA").anti_exists("bar", "region").obj(),
                ],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(EXISTING), Err(EXISTING)]),
            ),
            (
                "Test incoming pod's anti-affinity: incoming pod wouldn't considered as a fit as it at least violates one anti-affinity rule of existingPod",
                make_pod().anti_exists("foo", "zone").anti_exists("bar", "region").obj(),
                vec![
                    make_pod().node("nodeA").label("foo", "").obj(),
                    make_pod().node("nodeB").label("bar", "").obj(),
                ],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(ANTI), Err(ANTI)]),
            ),
            (
                "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when one term has invalid topologyKey",
                make_pod().label("foo", "").label("bar", "").obj(),
                vec![make_pod()
                    .node("nodeA")
                    .anti_exists("foo", "invalid-node-label")
                    .anti_exists("bar", "zone")
                    .obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(EXISTING), Ok(())]),
            ),
            (
                "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when one term has invalid topologyKey",
                make_pod().anti_exists("foo", "invalid-node-label").anti_exists("bar", "zone").obj(),
                vec![make_pod().name("podA").node("nodeA").labels(&[("foo", ""), ("bar", "")]).obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(ANTI), Ok(())]),
            ),
            (
                "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when all terms have valid topologyKey",
                make_pod().label("foo", "").label("bar", "").obj(),
                vec![make_pod().node("nodeA").anti_exists("foo", "region").anti_exists("bar", "zone").obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(EXISTING), Err(EXISTING)]),
            ),
            (
                "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when all terms have valid topologyKey",
                make_pod().anti_exists("foo", "region").anti_exists("bar", "zone").obj(),
                vec![make_pod().node("nodeA").labels(&[("foo", ""), ("bar", "")]).obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(ANTI), Err(ANTI)]),
            ),
            (
                "Test existing pod's anti-affinity: existingPod on nodeA and nodeB has at least one anti-affinity term matches incoming pod, so incoming pod can only be scheduled to nodeC",
                make_pod().label("foo", "").label("bar", "").obj(),
                vec![
                    make_pod().node("nodeA").anti_exists("foo", "zone").anti_exists("labelA", "zone").obj(),
                    make_pod().node("nodeB").anti_exists("bar", "zone").anti_exists("labelB", "zone").obj(),
                ],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2"), abc("nodeC", "r1", "z3")],
                Some(vec![Err(EXISTING), Err(EXISTING), Ok(())]),
            ),
            (
                "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if all topologyKeys match",
                make_pod().affinity_exists("foo", "region").affinity_exists("bar", "zone").obj(),
                vec![make_pod().name("pod1").labels(&[("foo", ""), ("bar", "")]).node("nodeA").obj()],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z1")],
                Some(vec![Ok(()), Ok(())]),
            ),
            (
                "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if all topologyKeys match, and the match logic should be satisfied on the same pod",
                make_pod().affinity_exists("foo", "region").affinity_exists("bar", "zone").obj(),
                vec![
                    make_pod().node("nodeA").name("pod1").label("foo", "").obj(),
                    make_pod().node("nodeB").name("pod2").label("bar", "").obj(),
                ],
                vec![abc("nodeA", "r1", "z1"), abc("nodeB", "r1", "z2")],
                Some(vec![Err(AFF), Err(AFF)]),
            ),
        ];

        let ns: NamespaceLabels = [("NS1".to_string(), BTreeMap::new())].into_iter().collect();
        for (name, pod, pods, nodes, want) in cases {
            let cluster = Cluster::new(nodes, pods);
            assert_eq!(filter_all(&pod, &cluster, &ns), want, "{name}");
        }
    }

    /// Not upstream: an invalid selector fails PreFilter (upstream's own cases use an invalid
    /// label value, which `crate::api::LabelSelector` does not validate).
    #[test]
    fn invalid_selector_fails_pre_filter() {
        let pod = make_pod().affinity_in("service", "region", &[]).obj();
        let cluster = Cluster::new(vec![node("node1", &[("region", "r1")])], vec![]);
        let err = pre_filter(&pod, &cluster.view(), &cluster.view(), &NamespaceLabels::new()).unwrap_err();
        assert!(err.starts_with("parsing pod: requiredAffinityTerms: "), "{err}");
        let pod = make_pod().anti_in("service", "region", &[]).obj();
        let err = pre_filter(&pod, &cluster.view(), &cluster.view(), &NamespaceLabels::new()).unwrap_err();
        assert!(err.starts_with("parsing pod: requiredAntiAffinityTerms: "), "{err}");
    }

    fn counts(entries: &[(&str, &str, i64)]) -> TopologyCounts {
        let mut c = TopologyCounts::default();
        for (k, v, n) in entries {
            c.0.entry(k.to_string()).or_default().insert(CompactString::from(*v), *n);
        }
        c
    }

    #[test]
    fn pre_filter_state_add_remove_pod() {
        let label1: &[(&str, &str)] = &[("region", "r1"), ("zone", "z11")];
        let label2: &[(&str, &str)] = &[("region", "r1"), ("zone", "z12")];
        let label3: &[(&str, &str)] = &[("region", "r2"), ("zone", "z21")];
        let selector1: &[(&str, &str)] = &[("foo", "bar")];
        let anti_foo_bar = || PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term(
                selector(vec![req("foo", "In", &["bar"])]),
                "region",
            )]),
            ..Default::default()
        };
        let complex_terms = || {
            vec![
                term(selector(vec![req("foo", "In", &["bar", "buzz"])]), "region"),
                term(selector(vec![req("service", "NotIn", &["bar", "security", "test"])]), "zone"),
            ]
        };
        let anti_complex = || PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(complex_terms()),
            ..Default::default()
        };
        let affinity_complex = || PodAffinity {
            required_during_scheduling_ignored_during_execution: Some(complex_terms()),
            ..Default::default()
        };
        let with = |name: &str, labels: &[(&str, &str)], node_name: Option<&str>, a: Affinity| {
            let mut p = make_pod().name(name).labels(labels).affinity(a);
            if let Some(n) = node_name {
                p = p.node(n);
            }
            p.obj()
        };
        let anti = |a: PodAntiAffinity| Affinity { pod_anti_affinity: Some(a), ..Default::default() };

        // (pending pod, existing pods, added pod, expected anti-affinity counts, expected affinity counts)
        let cases = vec![
            (
                with("pending", selector1, None, anti(anti_foo_bar())),
                vec![
                    make_pod().name("p1").labels(selector1).node("nodeA").obj(),
                    with("p2", &[], Some("nodeC"), anti(anti_foo_bar())),
                ],
                with("addedPod", selector1, Some("nodeB"), anti(anti_foo_bar())),
                counts(&[("region", "r1", 2)]),
                counts(&[]),
            ),
            (
                with("pending", selector1, None, anti(anti_complex())),
                vec![
                    make_pod().name("p1").labels(selector1).node("nodeA").obj(),
                    with("p2", &[], Some("nodeC"), anti(anti_foo_bar())),
                ],
                with("addedPod", selector1, Some("nodeA"), anti(anti_complex())),
                counts(&[("region", "r1", 2), ("zone", "z11", 2), ("zone", "z21", 1)]),
                counts(&[]),
            ),
            (
                with(
                    "pending",
                    selector1,
                    None,
                    Affinity { pod_affinity: Some(affinity_complex()), ..Default::default() },
                ),
                vec![
                    make_pod().name("p1").labels(selector1).node("nodeA").obj(),
                    with(
                        "p2",
                        &[],
                        Some("nodeC"),
                        Affinity {
                            pod_anti_affinity: Some(anti_foo_bar()),
                            pod_affinity: Some(affinity_complex()),
                            ..Default::default()
                        },
                    ),
                ],
                with("addedPod", selector1, Some("nodeA"), anti(anti_complex())),
                counts(&[]),
                counts(&[("region", "r1", 2), ("zone", "z11", 2)]),
            ),
        ];

        let nodes = vec![node("nodeA", label1), node("nodeB", label2), node("nodeC", label3)];
        let ns = NamespaceLabels::new();
        for (i, (pending, existing, added, want_anti, want_affinity)) in cases.into_iter().enumerate() {
            let mut all_pods = existing.clone();
            all_pods.push(added.clone());
            let all = Cluster::new(nodes.clone(), all_pods);
            let all_state =
                pre_filter(&pending, &all.view(), &all.view(), &ns).unwrap().expect("not skipped");

            let base = Cluster::new(nodes.clone(), existing);
            let mut state =
                pre_filter(&pending, &base.view(), &base.view(), &ns).unwrap().expect("not skipped");
            let original = state.clone();

            let added_node_name = added.spec.as_ref().and_then(|s| s.node_name.clone());
            let added_node = nodes.iter().find(|n| n.metadata.name == added_node_name).unwrap();
            state.add_pod(&added, added_node);
            assert_eq!(state.anti_affinity_counts, want_anti, "case {i}: anti-affinity counts");
            assert_eq!(state.affinity_counts, want_affinity, "case {i}: affinity counts");
            assert_eq!(state, all_state, "case {i}: state after AddPod");

            state.remove_pod(&added, added_node);
            assert_eq!(state, original, "case {i}: state after RemovePod");
        }
    }

    #[test]
    fn get_tp_map_matching_incoming_affinity_anti_affinity() {
        let normal = |labels: &[&str]| {
            let mut p = make_pod().name("normal").node("nodeA");
            for l in labels {
                p = p.label(l, "");
            }
            p.obj()
        };
        let node_a = || node("nodeA", &[("hostname", "nodeA")]);
        let hn = |n: i64| counts(&[("hostname", "nodeA", n)]);

        // (name, existing pods, incoming pod, want affinity counts, want anti-affinity counts)
        let cases = vec![
            ("nil test", vec![], make_pod().name("aaa-normal").obj(), counts(&[]), counts(&[])),
            (
                "incoming pod without affinity/anti-affinity causes a no-op",
                vec![normal(&["aaa"])],
                make_pod().name("aaa-normal").obj(),
                counts(&[]),
                counts(&[]),
            ),
            (
                "no pod has label that violates incoming pod's affinity and anti-affinity",
                vec![normal(&["bbb"])],
                make_pod().name("aaa-anti").affinity_exists("aaa", "hostname").anti_exists("aaa", "hostname").obj(),
                counts(&[]),
                counts(&[]),
            ),
            (
                "existing pod matches incoming pod's affinity and anti-affinity - single term case",
                vec![normal(&["aaa"])],
                make_pod().name("affi-antiaffi").affinity_exists("aaa", "hostname").anti_exists("aaa", "hostname").obj(),
                hn(1),
                hn(1),
            ),
            (
                "existing pod matches incoming pod's affinity and anti-affinity - multiple terms case",
                vec![normal(&["aaa", "bbb"])],
                make_pod()
                    .name("affi-antiaffi")
                    .affinity_exists("aaa", "hostname")
                    .affinity_exists("bbb", "hostname")
                    .anti_exists("aaa", "hostname")
                    .obj(),
                hn(2),
                hn(1),
            ),
            (
                "existing pod not match incoming pod's affinity but matches anti-affinity",
                vec![normal(&["aaa"])],
                make_pod()
                    .name("affi-antiaffi")
                    .affinity_exists("aaa", "hostname")
                    .affinity_exists("bbb", "hostname")
                    .anti_exists("aaa", "hostname")
                    .anti_exists("bbb", "hostname")
                    .obj(),
                counts(&[]),
                hn(1),
            ),
            (
                "incoming pod's anti-affinity has more than one term - existing pod violates partial term - case 1",
                vec![normal(&["aaa", "bbb"])],
                make_pod()
                    .name("anaffi-antiaffiti")
                    .affinity_exists("aaa", "hostname")
                    .affinity_exists("ccc", "hostname")
                    .anti_exists("aaa", "hostname")
                    .anti_exists("ccc", "hostname")
                    .obj(),
                counts(&[]),
                hn(1),
            ),
            (
                "incoming pod's anti-affinity has more than one term - existing pod violates partial term - case 2",
                vec![normal(&["bbb"])],
                make_pod()
                    .name("affi-antiaffi")
                    .affinity_exists("aaa", "hostname")
                    .affinity_exists("bbb", "hostname")
                    .anti_exists("aaa", "hostname")
                    .anti_exists("bbb", "hostname")
                    .obj(),
                counts(&[]),
                hn(1),
            ),
        ];
        for (name, existing, pod, want_affinity, want_anti) in cases {
            let cluster = Cluster::new(vec![node_a()], existing);
            let (terms, errors) = PodTerms::parse(&pod);
            assert!(errors.is_empty(), "{name}");
            let (affinity, anti) =
                incoming_counts(&terms.required_affinity, &terms.required_anti_affinity, &cluster.view());
            assert_eq!(affinity, want_affinity, "{name}: affinity");
            assert_eq!(anti, want_anti, "{name}: anti-affinity");
        }
    }

    // ---- scoring_test.go ----

    fn sec(value: &str) -> K8sSelector {
        selector(vec![req("security", "In", &[value])])
    }

    fn stay_with_s1_in_region() -> Affinity {
        Affinity {
            pod_affinity: Some(pref_affinity(vec![weighted(5, term(sec("S1"), "region"))])),
            ..Default::default()
        }
    }

    fn stay_with_s2_in_region() -> Affinity {
        Affinity {
            pod_affinity: Some(pref_affinity(vec![weighted(6, term(sec("S2"), "region"))])),
            ..Default::default()
        }
    }

    fn affinity3() -> Affinity {
        Affinity {
            pod_affinity: Some(pref_affinity(vec![
                weighted(
                    8,
                    term(
                        selector(vec![req("security", "NotIn", &["S1"]), req("security", "In", &["S2"])]),
                        "region",
                    ),
                ),
                weighted(
                    2,
                    term(
                        selector(vec![req("security", "Exists", &[]), req("wrongkey", "DoesNotExist", &[])]),
                        "region",
                    ),
                ),
            ])),
            ..Default::default()
        }
    }

    fn hard_affinity() -> Affinity {
        Affinity {
            pod_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![
                    term(selector(vec![req("security", "In", &["S1", "value2"])]), "region"),
                    term(
                        selector(vec![req("security", "Exists", &[]), req("wrongkey", "DoesNotExist", &[])]),
                        "region",
                    ),
                ]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn away_from_s1_in_az() -> Affinity {
        Affinity {
            pod_anti_affinity: Some(pref_anti_affinity(vec![weighted(5, term(sec("S1"), "az"))])),
            ..Default::default()
        }
    }

    fn away_from_s2_in_az() -> Affinity {
        Affinity {
            pod_anti_affinity: Some(pref_anti_affinity(vec![weighted(5, term(sec("S2"), "az"))])),
            ..Default::default()
        }
    }

    fn stay_with_s1_in_region_away_from_s2_in_az() -> Affinity {
        Affinity {
            pod_affinity: Some(pref_affinity(vec![weighted(8, term(sec("S1"), "region"))])),
            pod_anti_affinity: Some(pref_anti_affinity(vec![weighted(5, term(sec("S2"), "az"))])),
            ..Default::default()
        }
    }

    fn namespace_selector_term() -> PodAffinityTerm {
        ns_term(sec("S1"), "region", &["subteam2.team2"], Some(team_selector("team1")))
    }

    fn affinity_namespace_selector() -> Affinity {
        Affinity {
            pod_affinity: Some(pref_affinity(vec![weighted(5, namespace_selector_term())])),
            ..Default::default()
        }
    }

    fn anti_affinity_namespace_selector() -> Affinity {
        Affinity {
            pod_anti_affinity: Some(pref_anti_affinity(vec![weighted(5, namespace_selector_term())])),
            ..Default::default()
        }
    }

    #[test]
    fn preferred_affinity() {
        let china: &[(&str, &str)] = &[("region", "China")];
        let india: &[(&str, &str)] = &[("region", "India")];
        let az1: &[(&str, &str)] = &[("az", "az1")];
        let az2: &[(&str, &str)] = &[("az", "az2")];
        let china_az1: &[(&str, &str)] = &[("region", "China"), ("az", "az1")];
        let s1: &[(&str, &str)] = &[("security", "S1")];
        let s2: &[(&str, &str)] = &[("security", "S2")];
        let on = |n: &str, labels: &[(&str, &str)]| make_pod().node(n).labels(labels);
        let nodes = |labels: &[&[(&str, &str)]]| -> Vec<Node> {
            labels.iter().enumerate().map(|(i, l)| node(&format!("node{}", i + 1), l)).collect()
        };

        // (name, pod, existing pods, nodes, ignorePreferredTermsOfExistingPods, want: None = Skip)
        type Case<'a> = (&'a str, Pod, Vec<Pod>, Vec<Node>, bool, Option<Vec<i64>>);
        let cases: Vec<Case<'_>> = vec![
            (
                "all nodes are same priority as Affinity is nil",
                make_pod().labels(s1).obj(),
                vec![],
                nodes(&[china, india, az1]),
                false,
                None,
            ),
            (
                "Affinity: pod that matches topology key & pods in nodes will get high score comparing to otherswhich doesn't match either pods in nodes or in topology key",
                make_pod().labels(s1).affinity(stay_with_s1_in_region()).obj(),
                vec![on("node1", s1).obj(), on("node2", s2).obj(), on("node3", s1).obj()],
                nodes(&[china, india, az1]),
                false,
                Some(vec![100, 0, 0]),
            ),
            (
                "All the nodes that have the same topology key & label value with one of them has an existing pod that match the affinity rules, have the same score",
                make_pod().affinity(stay_with_s1_in_region()).obj(),
                vec![on("node1", s1).obj()],
                nodes(&[china, china_az1, india]),
                false,
                Some(vec![100, 100, 0]),
            ),
            (
                "Affinity: nodes in one region has more matching pods comparing to other region, so the region which has more matches will get high score",
                make_pod().labels(s1).affinity(stay_with_s2_in_region()).obj(),
                vec![
                    on("node1", s2).obj(),
                    on("node1", s2).obj(),
                    on("node2", s2).obj(),
                    on("node3", s2).obj(),
                    on("node4", s2).obj(),
                    on("node5", s2).obj(),
                ],
                nodes(&[china, india, china, china, india]),
                false,
                Some(vec![100, 0, 100, 100, 0]),
            ),
            (
                "Affinity: different Label operators and values for pod affinity scheduling preference, including some match failures",
                make_pod().labels(s1).affinity(affinity3()).obj(),
                vec![on("node1", s1).obj(), on("node2", s2).obj(), on("node3", s1).obj()],
                nodes(&[china, india, az1]),
                false,
                Some(vec![20, 100, 0]),
            ),
            (
                "Affinity symmetry: considered only the preferredDuringSchedulingIgnoredDuringExecution in pod affinity symmetry",
                make_pod().labels(s2).obj(),
                vec![
                    on("node1", s1).affinity(stay_with_s1_in_region()).obj(),
                    on("node2", s2).affinity(stay_with_s2_in_region()).obj(),
                ],
                nodes(&[china, india, az1]),
                false,
                Some(vec![0, 100, 0]),
            ),
            (
                "Affinity symmetry with namespace selector",
                make_pod().namespace("subteam1.team1").labels(s1).obj(),
                vec![
                    on("node1", s1).affinity(affinity_namespace_selector()).obj(),
                    on("node2", s2).affinity(stay_with_s2_in_region()).obj(),
                ],
                nodes(&[china, india, az1]),
                false,
                Some(vec![100, 0, 0]),
            ),
            (
                "AntiAffinity symmetry with namespace selector",
                make_pod().namespace("subteam1.team1").labels(s1).obj(),
                vec![
                    on("node1", s1).affinity(anti_affinity_namespace_selector()).obj(),
                    on("node2", s2).affinity(stay_with_s2_in_region()).obj(),
                ],
                nodes(&[china, india, az1]),
                false,
                Some(vec![0, 100, 100]),
            ),
            (
                "Affinity symmetry: considered RequiredDuringSchedulingIgnoredDuringExecution in pod affinity symmetry",
                make_pod().labels(s1).obj(),
                vec![on("node1", s1).affinity(hard_affinity()).obj(), on("node2", s2).affinity(hard_affinity()).obj()],
                nodes(&[china, india, az1]),
                false,
                Some(vec![100, 100, 0]),
            ),
            (
                "Anti Affinity: pod that does not match existing pods in node will get high score",
                make_pod().labels(s1).affinity(away_from_s1_in_az()).obj(),
                vec![on("node1", s1).obj(), on("node2", s2).obj()],
                nodes(&[az1, china]),
                false,
                Some(vec![0, 100]),
            ),
            (
                "Anti Affinity: pod that does not match topology key & match the pods in nodes will get higher score comparing to others",
                make_pod().labels(s1).affinity(away_from_s1_in_az()).obj(),
                vec![on("node1", s1).obj(), on("node2", s1).obj()],
                nodes(&[az1, china]),
                false,
                Some(vec![0, 100]),
            ),
            (
                "Anti Affinity: one node has more matching pods comparing to other node, so the node which has more unmatches will get high score",
                make_pod().labels(s1).affinity(away_from_s1_in_az()).obj(),
                vec![on("node1", s1).obj(), on("node1", s1).obj(), on("node2", s2).obj()],
                nodes(&[az1, india]),
                false,
                Some(vec![0, 100]),
            ),
            (
                "Anti Affinity symmetry: the existing pods in node which has anti affinity match will get high score",
                make_pod().labels(s2).obj(),
                vec![
                    on("node1", s1).affinity(away_from_s2_in_az()).obj(),
                    on("node2", s2).affinity(away_from_s1_in_az()).obj(),
                ],
                nodes(&[az1, az2]),
                false,
                Some(vec![0, 100]),
            ),
            (
                "Affinity and Anti Affinity: considered only preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity",
                make_pod().labels(s1).affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                vec![on("node1", s1).obj(), on("node2", s1).obj()],
                nodes(&[china, az1]),
                false,
                Some(vec![100, 0]),
            ),
            (
                "Affinity and Anti Affinity: considering both affinity and anti-affinity, the pod to schedule and existing pods have the same labels",
                make_pod().labels(s1).affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                vec![
                    on("node1", s1).obj(),
                    on("node1", s1).obj(),
                    on("node2", s1).obj(),
                    on("node3", s1).obj(),
                    on("node3", s1).obj(),
                    on("node4", s1).obj(),
                    on("node5", s1).obj(),
                ],
                nodes(&[china_az1, india, china, china, india]),
                false,
                Some(vec![100, 0, 100, 100, 0]),
            ),
            (
                "Affinity and Anti Affinity and symmetry: considered only preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity & symmetry",
                make_pod().labels(s1).affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                vec![
                    on("node1", s1).obj(),
                    on("node2", s2).obj(),
                    make_pod().node("node3").affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                    make_pod().node("node4").affinity(away_from_s1_in_az()).obj(),
                ],
                nodes(&[china, az1, india, az2]),
                false,
                Some(vec![100, 0, 100, 0]),
            ),
            (
                "Avoid panic when partial nodes in a topology don't have pods with affinity",
                make_pod().labels(s1).obj(),
                vec![
                    on("node1", s1).obj(),
                    make_pod().node("node2").affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                ],
                nodes(&[china, china]),
                false,
                Some(vec![0, 0]),
            ),
            (
                "Affinity with pods matching NamespaceSelector",
                make_pod().namespace("subteam1.team1").labels(s1).affinity(affinity_namespace_selector()).obj(),
                vec![
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam1.team2").obj(),
                    on("node2", s1).namespace("subteam2.team1").obj(),
                ],
                nodes(&[china, india]),
                false,
                Some(vec![100, 0]),
            ),
            (
                "Affinity with pods matching both NamespaceSelector and Namespaces fields",
                make_pod().namespace("subteam1.team1").labels(s1).affinity(affinity_namespace_selector()).obj(),
                vec![
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam2.team2").obj(),
                    on("node2", s1).namespace("subteam2.team1").obj(),
                ],
                nodes(&[china, india]),
                false,
                Some(vec![100, 0]),
            ),
            (
                "Affinity with pods matching NamespaceSelector (anti-affinity)",
                make_pod().namespace("subteam1.team1").labels(s1).affinity(anti_affinity_namespace_selector()).obj(),
                vec![
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam1.team2").obj(),
                    on("node2", s1).namespace("subteam2.team1").obj(),
                ],
                nodes(&[china, india]),
                false,
                Some(vec![0, 100]),
            ),
            (
                "Affinity with pods matching both NamespaceSelector and Namespaces fields (anti-affinity)",
                make_pod().namespace("subteam1.team1").labels(s1).affinity(anti_affinity_namespace_selector()).obj(),
                vec![
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam1.team1").obj(),
                    on("node1", s1).namespace("subteam2.team2").obj(),
                    on("node2", s1).namespace("subteam2.team1").obj(),
                ],
                nodes(&[china, india]),
                false,
                Some(vec![0, 100]),
            ),
            (
                "Ignore preferred terms of existing pods",
                make_pod().labels(s2).obj(),
                vec![
                    on("node1", s1).affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                    on("node2", s2).affinity(stay_with_s2_in_region()).obj(),
                ],
                nodes(&[china, india]),
                true,
                None,
            ),
            (
                "Do not ignore preferred terms of existing pods",
                make_pod().labels(s2).obj(),
                vec![
                    on("node1", s1).affinity(stay_with_s1_in_region_away_from_s2_in_az()).obj(),
                    on("node2", s2).affinity(stay_with_s2_in_region()).obj(),
                ],
                nodes(&[china, india]),
                false,
                Some(vec![0, 100]),
            ),
            ("No nodes to score", make_pod().labels(s2).obj(), vec![], vec![], false, None),
        ];

        let ns = test_namespaces();
        for (name, pod, pods, nodes, ignore, want) in cases {
            let cluster = Cluster::new(nodes, pods);
            let args =
                AffinityArgs { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: ignore };
            assert_eq!(score_all(&pod, &cluster, &args, &ns), want, "{name}");
        }
    }

    #[test]
    fn preferred_affinity_with_hard_pod_affinity_symmetric_weight() {
        let hard_pod_affinity = || Affinity {
            pod_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![ns_term(
                    selector(vec![req("service", "In", &["S1"])]),
                    "region",
                    &["", "subteam2.team2"],
                    Some(team_selector("team1")),
                )]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let nodes = || {
            vec![
                node("node1", &[("region", "China")]),
                node("node2", &[("region", "India")]),
                node("node3", &[("az", "az1")]),
            ]
        };
        let existing = || {
            vec![
                make_pod().node("node1").affinity(hard_pod_affinity()).obj(),
                make_pod().node("node2").affinity(hard_pod_affinity()).obj(),
            ]
        };
        let service_s1: &[(&str, &str)] = &[("service", "S1")];

        // (name, incoming pod namespace, hardPodAffinityWeight, want: None = Skip)
        let cases = vec![
            ("with default weight", "", 1, Some(vec![100, 100, 0])),
            ("with zero weight", "", 0, None),
            ("with no matching namespace", "subteam1.team2", 1, None),
            ("with matching NamespaceSelector", "subteam1.team1", 1, Some(vec![100, 100, 0])),
            ("with matching Namespaces", "subteam2.team2", 1, Some(vec![100, 100, 0])),
        ];
        let ns = test_namespaces();
        for (name, pod_ns, weight, want) in cases {
            let pod = make_pod().namespace(pod_ns).labels(service_s1).obj();
            let cluster = Cluster::new(nodes(), existing());
            let args = AffinityArgs {
                hard_pod_affinity_weight: weight,
                ignore_preferred_terms_of_existing_pods: false,
            };
            assert_eq!(score_all(&pod, &cluster, &args, &ns), want, "{name}");
        }
    }

    /// Not upstream: NormalizeScore is computed in floating point as upstream does, which can
    /// differ from integer arithmetic by one.
    #[test]
    fn normalize_uses_upstream_float_arithmetic() {
        let mut scores = vec![0, 29, 100, -5];
        normalize(&mut scores);
        // (29 + 5) / 105 and 5 / 105, times 100, truncated.
        assert_eq!(scores, vec![4, 32, 100, 0]);
        let mut scores = vec![0, 29, 100];
        normalize(&mut scores);
        assert_eq!(scores, vec![0, 28, 100]); // 100 × 0.29 = 28.999999999999996
        let mut same = vec![7, 7];
        normalize(&mut same);
        assert_eq!(same, vec![0, 0]);
    }

    /// Not upstream (strategy_test.go covers it there): matchLabelKeys / mismatchLabelKeys merged
    /// into the selector; terms without keys or without a selector are untouched.
    #[test]
    fn match_label_keys_are_merged_into_the_selector() {
        let keyed = PodAffinityTerm {
            label_selector: Some(K8sSelector {
                match_labels: Some(map(&[("app", "web")])),
                match_expressions: None,
            }),
            match_label_keys: Some(vec!["pod-template-hash".into(), "absent".into()]),
            mismatch_label_keys: Some(vec!["tenant".into()]),
            topology_key: "zone".into(),
            ..Default::default()
        };
        let no_selector = PodAffinityTerm {
            match_label_keys: Some(vec!["pod-template-hash".into()]),
            topology_key: "zone".into(),
            ..Default::default()
        };
        let plain = term(sec("S1"), "zone");
        let mut pod = make_pod()
            .labels(&[("app", "web"), ("pod-template-hash", "abc"), ("tenant", "t1")])
            .required(Kind::Affinity, keyed)
            .required(Kind::AntiAffinity, no_selector.clone())
            .required(Kind::AntiAffinity, plain.clone())
            .obj();
        apply_match_label_keys(&mut pod);

        let got = required_affinity_terms(&pod)[0].label_selector.clone().unwrap();
        assert_eq!(
            got.match_expressions.unwrap(),
            vec![req("pod-template-hash", "In", &["abc"]), req("tenant", "NotIn", &["t1"])]
        );
        assert_eq!(required_anti_affinity_terms(&pod), &[no_selector, plain][..]);
    }
}
