//! The NodeResourcesFit filter/score plugin and the NodeResourcesBalancedAllocation score plugin,
//! ported as pure functions from kube-scheduler v1.34 (differences to v1.32/v1.33 noted below):
//!
//! - `pkg/scheduler/framework/plugins/noderesources/fit.go`: `fitsRequest` (the Filter), with
//!   `Too many pods` / `Insufficient <resource>` reasons, `ignoredResources` and
//!   `ignoredResourceGroups` (applied to extended resources only) and v1.34's `Unresolvable`
//!   flag (the request exceeds the node's allocatable, so preemption cannot help);
//! - `resource_allocation.go`: `calculateResourceAllocatableRequest` and
//!   `calculatePodResourceRequest` — the Fit strategies score cpu/memory on non-zero requests
//!   (100m / 200Mi for a container that sets none), BalancedAllocation on actual requests; a scalar
//!   (extended, hugepages, `*kubernetes.io/*`, attachable-volumes) resource the pod does not
//!   request is left out, and so is any resource whose allocatable is 0;
//! - `least_allocated.go`, `most_allocated.go`, `requested_to_capacity_ratio.go` (shape points
//!   scaled ×10 from `MaxCustomPriorityScore` 10 to `MaxNodeScore` 100,
//!   `helper.BuildBrokenLinearFunction`, a resource scoring 0 does not count towards the weight
//!   sum, the weighted mean rounded with `math.Round`);
//! - `balanced_allocation.go`: fractions capped at 1, std = |f0 − f1| / 2 for two resources and the
//!   population std for more, score `int64((1 − std) × 100)`; PreScore returns Skip when every
//!   configured resource's (actual) request is 0 (`isBestEffortPod`, since v1.33);
//! - `pkg/scheduler/apis/config`: `NodeResourcesFitArgs` / `NodeResourcesBalancedAllocationArgs`
//!   (`types_pluginargs.go`), their v1 defaults (`v1/defaults.go`: LeastAllocated over cpu:1,
//!   memory:1; a weight of 0 becomes 1) and `validation/validation_pluginargs.go` with upstream's
//!   messages and field paths (`scoringStrategy.resources[0].weight`, `scoringStrategy.shape[1]
//!   .utilization` — upstream names the shape path without `requestedToCapacityRatio`).
//!
//! Simplifications and differences:
//! - The pod side comes from `podutil::pod_requests` / `cache::nonzero_requests` (upstream's
//!   `PodRequests`, sidecars summed as KEP-753 says), which do not model pod-level resources
//!   (`spec.resources`, beta and on by default in v1.34) or in-place resize status; the node side
//!   is the scheduler cache's `NodeInfo` built from the same functions.
//! - DRA-backed extended resources (`DRAExtendedResource`, alpha in v1.34) are not modelled.
//! - Scalar resources are checked in name order (upstream iterates a Go map: random order).
//! - v1.32/v1.33 have no `Unresolvable` (every failure is plain Unschedulable) and v1.32 has no
//!   BalancedAllocation Skip.
//! - Integer products that upstream computes in int64 (`(capacity − requested) × 100`,
//!   `requested × 100 / capacity`, the broken linear function) are computed in i128, so absurd
//!   quantities (> 9.2e16) cannot overflow: upstream's int64 would wrap there.
//! - A Score call with an empty resource list returns 0 (upstream: score 0 with an Error status,
//!   `resources not found`); a RequestedToCapacityRatio strategy without a `requestedToCapacityRatio`
//!   block is rejected by `FitArgs::from_json` (upstream dereferences the nil pointer and crashes).
//! - `from_json` reports decoding errors in Go's `json: cannot unmarshal …` shape and unknown
//!   fields as `strict decoding error: unknown field "<path>"`, with paths relative to the args.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Map, Value};

use super::MAX_NODE_SCORE;
use crate::api::pod::{self as podutil, Resources};
use crate::api::validation::FieldError;
use crate::scheduler::cache::{self, NodeInfo};
use crate::scheduler::framework::{Code, Status};

/// The plugin names (pkg/scheduler/framework/plugins/names).
pub const FIT_NAME: &str = "NodeResourcesFit";
pub const BALANCED_ALLOCATION_NAME: &str = "NodeResourcesBalancedAllocation";

/// `config.MaxCustomPriorityScore`: the top of the RequestedToCapacityRatio shape's score scale.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
/// `maxUtilization` in requested_to_capacity_ratio.go.
const MAX_UTILIZATION: i64 = 100;
/// The API group of the scheduler's configuration types.
const CONFIG_GROUP: &str = "kubescheduler.config.k8s.io";
const CONFIG_API_VERSION: &str = "kubescheduler.config.k8s.io/v1";

// ---------------------------------------------------------------------------------------------
// Args types
// ---------------------------------------------------------------------------------------------

/// One resource a scorer looks at, with its weight (`config.ResourceSpec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceSpec {
    pub name: String,
    pub weight: i64,
    /// Where the name's amounts live, resolved once from `name` (scoring runs per node).
    slot: ResourceSlot,
}

/// Which field of `framework.Resource` a scored resource name reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResourceSlot {
    Cpu,
    Memory,
    EphemeralStorage,
    /// A name `ScalarResources` keeps (extended, hugepages-, …).
    Scalar,
    /// Any other name (`pods`, unknown native names): not in `framework.Resource`, so never
    /// scored.
    Unscored,
}

impl ResourceSlot {
    fn of(name: &str) -> ResourceSlot {
        match name {
            "cpu" => ResourceSlot::Cpu,
            "memory" => ResourceSlot::Memory,
            "ephemeral-storage" => ResourceSlot::EphemeralStorage,
            n if is_scalar_resource_name(n) => ResourceSlot::Scalar,
            _ => ResourceSlot::Unscored,
        }
    }
}

impl ResourceSpec {
    pub fn new(name: &str, weight: i64) -> Self {
        ResourceSpec { name: name.to_string(), weight, slot: ResourceSlot::of(name) }
    }
}

/// `config.ScoringStrategyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoringStrategyType {
    LeastAllocated,
    MostAllocated,
    RequestedToCapacityRatio,
}

impl ScoringStrategyType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringStrategyType::LeastAllocated => "LeastAllocated",
            ScoringStrategyType::MostAllocated => "MostAllocated",
            ScoringStrategyType::RequestedToCapacityRatio => "RequestedToCapacityRatio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LeastAllocated" => Some(ScoringStrategyType::LeastAllocated),
            "MostAllocated" => Some(ScoringStrategyType::MostAllocated),
            "RequestedToCapacityRatio" => Some(ScoringStrategyType::RequestedToCapacityRatio),
            _ => None,
        }
    }
}

/// The supported types, sorted as `sets.List(supportedScoringStrategyTypes)`.
const SUPPORTED_SCORING_STRATEGY_TYPES: [&str; 3] =
    ["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"];

/// One point of the RequestedToCapacityRatio shape (`config.UtilizationShapePoint`):
/// utilization 0..100 → score 0..10.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtilizationShapePoint {
    pub utilization: i32,
    pub score: i32,
}

/// `config.ScoringStrategy`. `shape` is `requestedToCapacityRatio.shape`: `None` when the
/// `requestedToCapacityRatio` block is absent (upstream's nil pointer), which validation only
/// distinguishes from an empty shape (`Required value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringStrategy {
    pub type_: ScoringStrategyType,
    pub resources: Vec<ResourceSpec>,
    pub shape: Option<Vec<UtilizationShapePoint>>,
}

fn default_resource_spec() -> Vec<ResourceSpec> {
    vec![ResourceSpec::new("cpu", 1), ResourceSpec::new("memory", 1)]
}

impl Default for ScoringStrategy {
    /// v1 default: LeastAllocated over cpu:1, memory:1.
    fn default() -> Self {
        ScoringStrategy {
            type_: ScoringStrategyType::LeastAllocated,
            resources: default_resource_spec(),
            shape: None,
        }
    }
}

/// `config.NodeResourcesFitArgs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FitArgs {
    pub ignored_resources: Vec<String>,
    pub ignored_resource_groups: Vec<String>,
    pub scoring_strategy: ScoringStrategy,
}

/// `config.NodeResourcesBalancedAllocationArgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancedAllocationArgs {
    pub resources: Vec<ResourceSpec>,
}

impl Default for BalancedAllocationArgs {
    /// v1 default: cpu:1, memory:1.
    fn default() -> Self {
        BalancedAllocationArgs { resources: default_resource_spec() }
    }
}

impl FitArgs {
    /// Decodes the camelCase form used in a KubeSchedulerConfiguration's
    /// `pluginConfig[].args` (JSON, or YAML converted to JSON), rejecting unknown fields, then
    /// applies the v1 defaults and validates with upstream's messages (field paths as when
    /// `NewFit` validates, i.e. relative to the args).
    pub fn from_json(args: &Value) -> Result<FitArgs, String> {
        Self::from_json_at(args, "")
    }

    /// As `from_json`, with validation field paths under `path`
    /// (e.g. `profiles[0].pluginConfig[1].args`).
    pub fn from_json_at(args: &Value, path: &str) -> Result<FitArgs, String> {
        let mut raw = decode_fit(args)?;
        // SetDefaults_NodeResourcesFitArgs
        let strategy = raw.scoring_strategy.get_or_insert_with(|| RawStrategy {
            type_: ScoringStrategyType::LeastAllocated.as_str().to_string(),
            resources: default_resource_spec(),
            shape: None,
        });
        if strategy.resources.is_empty() {
            strategy.resources = default_resource_spec();
        }
        for r in &mut strategy.resources {
            if r.weight == 0 {
                r.weight = 1;
            }
        }
        let errs = validate_fit(
            path,
            &raw.ignored_resources,
            &raw.ignored_resource_groups,
            StrategyView {
                type_: &strategy.type_,
                resources: &strategy.resources,
                shape: strategy.shape.as_deref(),
            },
        );
        if !errs.is_empty() {
            return Err(aggregate(&errs));
        }
        let type_ = ScoringStrategyType::parse(&strategy.type_)
            .ok_or_else(|| format!("scoring strategy {} is not supported", strategy.type_))?;
        if type_ == ScoringStrategyType::RequestedToCapacityRatio && strategy.shape.is_none() {
            return Err(FieldError {
                field: join(&join(path, "scoringStrategy"), "requestedToCapacityRatio"),
                message: "Required value: the RequestedToCapacityRatio scoring strategy needs a shape".into(),
            }
            .to_string());
        }
        Ok(FitArgs {
            ignored_resources: raw.ignored_resources,
            ignored_resource_groups: raw.ignored_resource_groups,
            scoring_strategy: ScoringStrategy {
                type_,
                resources: std::mem::take(&mut strategy.resources),
                shape: strategy.shape.take(),
            },
        })
    }

    /// `ValidateNodeResourcesFitArgs(path, args)`: every field error, in upstream's order.
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let s = &self.scoring_strategy;
        validate_fit(
            path,
            &self.ignored_resources,
            &self.ignored_resource_groups,
            StrategyView { type_: s.type_.as_str(), resources: &s.resources, shape: s.shape.as_deref() },
        )
    }
}

impl BalancedAllocationArgs {
    /// Decodes, defaults and validates `pluginConfig[].args` of NodeResourcesBalancedAllocation
    /// (see `FitArgs::from_json`).
    pub fn from_json(args: &Value) -> Result<BalancedAllocationArgs, String> {
        Self::from_json_at(args, "")
    }

    pub fn from_json_at(args: &Value, path: &str) -> Result<BalancedAllocationArgs, String> {
        let mut resources = decode_balanced(args)?;
        // SetDefaults_NodeResourcesBalancedAllocationArgs
        if resources.is_empty() {
            resources = default_resource_spec();
        }
        for r in &mut resources {
            if r.weight == 0 {
                r.weight = 1;
            }
        }
        let args = BalancedAllocationArgs { resources };
        let errs = args.validate(path);
        if !errs.is_empty() {
            return Err(aggregate(&errs));
        }
        Ok(args)
    }

    /// `ValidateNodeResourcesBalancedAllocationArgs(path, args)`.
    pub fn validate(&self, path: &str) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let mut seen = BTreeSet::new();
        let res_path = join(path, "resources");
        for (i, r) in self.resources.iter().enumerate() {
            let p = index(&res_path, i);
            if !seen.insert(r.name.as_str()) {
                errs.push(duplicate(join(&p, "name"), &r.name));
            }
            if r.weight != 1 {
                errs.push(invalid(join(&p, "weight"), r.weight, "must be 1"));
            }
        }
        errs
    }
}

// ---------------------------------------------------------------------------------------------
// Validation (validation_pluginargs.go) with apimachinery's field.Error rendering
// ---------------------------------------------------------------------------------------------

fn join(path: &str, child: &str) -> String {
    if path.is_empty() {
        child.to_string()
    } else {
        format!("{path}.{child}")
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Go's `%q` for the (ASCII) strings that reach these messages.
fn quote(s: &str) -> String {
    format!("{s:?}")
}

fn invalid(field: String, value: impl std::fmt::Display, detail: &str) -> FieldError {
    FieldError { field, message: format!("Invalid value: {value}: {detail}") }
}

fn duplicate(field: String, value: &str) -> FieldError {
    FieldError { field, message: format!("Duplicate value: {}", quote(value)) }
}

/// `utilerrors.NewAggregate(list.ToAggregate())`'s message: one error as is, several as
/// `[a, b]`, duplicates dropped.
pub fn aggregate(errs: &[FieldError]) -> String {
    let mut seen = BTreeSet::new();
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).filter(|m| seen.insert(m.clone())).collect();
    match msgs.len() {
        0 => String::new(),
        1 => msgs.into_iter().next().unwrap_or_default(),
        _ => format!("[{}]", msgs.join(", ")),
    }
}

/// The scoring strategy as validation sees it: the type as written.
struct StrategyView<'a> {
    type_: &'a str,
    resources: &'a [ResourceSpec],
    shape: Option<&'a [UtilizationShapePoint]>,
}

/// `ValidateNodeResourcesFitArgs` (the strategy is never nil here: defaulting fills it in).
fn validate_fit(
    path: &str,
    ignored_resources: &[String],
    ignored_resource_groups: &[String],
    strategy: StrategyView,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let res_path = join(path, "ignoredResources");
    for (i, res) in ignored_resources.iter().enumerate() {
        errs.extend(validate_label_name(res, index(&res_path, i)));
    }
    let group_path = join(path, "ignoredResourceGroups");
    for (i, group) in ignored_resource_groups.iter().enumerate() {
        let p = index(&group_path, i);
        if group.contains('/') {
            errs.push(invalid(p.clone(), quote(group), "resource group name can't contain '/'"));
        }
        errs.extend(validate_label_name(group, p));
    }
    let strategy_path = join(path, "scoringStrategy");
    {
        let StrategyView { type_, resources, shape } = strategy;
        if ScoringStrategyType::parse(type_).is_none() {
            let supported: Vec<String> = SUPPORTED_SCORING_STRATEGY_TYPES.iter().map(|s| quote(s)).collect();
            errs.push(FieldError {
                field: join(&strategy_path, "type"),
                message: format!(
                    "Unsupported value: {}: supported values: {}",
                    quote(type_),
                    supported.join(", ")
                ),
            });
        }
        errs.extend(validate_resources(resources, &join(&strategy_path, "resources")));
        if let Some(shape) = shape {
            errs.extend(validate_function_shape(shape, &join(&strategy_path, "shape")));
        }
    }
    errs
}

/// `validateResources`: a weight must be in (0, 100].
fn validate_resources(resources: &[ResourceSpec], path: &str) -> Vec<FieldError> {
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.weight <= 0 || r.weight > 100)
        .map(|(i, r)| {
            let msg = format!("resource weight of {} not in valid range (0, 100]", r.name);
            invalid(join(&index(path, i), "weight"), r.weight, &msg)
        })
        .collect()
}

/// `validateFunctionShape`: at least one point, utilizations strictly increasing (the first
/// violation only), utilization in [0, 100], score in [0, 10].
fn validate_function_shape(shape: &[UtilizationShapePoint], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if shape.is_empty() {
        errs.push(FieldError {
            field: path.to_string(),
            message: "Required value: at least one point must be specified".into(),
        });
        return errs;
    }
    for i in 1..shape.len() {
        if shape[i - 1].utilization >= shape[i].utilization {
            errs.push(invalid(
                join(&index(path, i), "utilization"),
                shape[i].utilization,
                "values must be sorted in increasing order",
            ));
            break;
        }
    }
    let max_score = MAX_CUSTOM_PRIORITY_SCORE as i32;
    for (i, p) in shape.iter().enumerate() {
        if !(0..=100).contains(&p.utilization) {
            errs.push(invalid(
                join(&index(path, i), "utilization"),
                p.utilization,
                "not in valid range [0, 100]",
            ));
        }
        if !(0..=max_score).contains(&p.score) {
            let msg = format!("not in valid range [0, {max_score}]");
            errs.push(invalid(join(&index(path, i), "score"), p.score, &msg));
        }
    }
    errs
}

/// `metav1validation.ValidateLabelName`: one `Invalid` per `IsQualifiedName` message.
fn validate_label_name(name: &str, path: String) -> Vec<FieldError> {
    qualified_name_errors(name).iter().map(|msg| invalid(path.clone(), quote(name), msg)).collect()
}

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// apimachinery's `RegexError`.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push_str(&format!("'{e}', "));
    }
    s.push_str(&format!("regex used for validation is '{fmt}')"));
    s
}

fn matches_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    match b {
        [] => false,
        [only] => alnum(*only),
        [first, middle @ .., last] => {
            alnum(*first)
                && alnum(*last)
                && middle.iter().all(|&c| alnum(c) || c == b'-' || c == b'_' || c == b'.')
        }
    }
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    let label = |l: &str| {
        let b = l.as_bytes();
        let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty() && ok(b[0]) && ok(b[b.len() - 1]) && b.iter().all(|&c| ok(c) || c == b'-')
    };
    s.split('.').all(label)
}

/// apimachinery's `IsQualifiedName`: the messages, empty when valid.
fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
                    errs.push(format!(
                        "prefix part must be no more than {DNS1123_SUBDOMAIN_MAX_LENGTH} characters"
                    ));
                }
                if !matches_dns1123_subdomain(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(DNS1123_SUBDOMAIN_ERR_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"])
                    ));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!("name part must be no more than {QUALIFIED_NAME_MAX_LENGTH} characters"));
    }
    if !matches_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    errs
}

// ---------------------------------------------------------------------------------------------
// Decoding pluginConfig args
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RawFit {
    ignored_resources: Vec<String>,
    ignored_resource_groups: Vec<String>,
    scoring_strategy: Option<RawStrategy>,
}

/// The scoring strategy as written: the type is kept as a string so validation can report an
/// unsupported one as upstream does.
struct RawStrategy {
    type_: String,
    resources: Vec<ResourceSpec>,
    shape: Option<Vec<UtilizationShapePoint>>,
}

#[derive(Default)]
struct Decoder {
    unknown: Vec<String>,
}

/// The JSON path without indices, as Go's `UnmarshalTypeError` names a field.
fn go_field_path(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Go's `json: cannot unmarshal <what> into Go struct field <Owner>.<path> of type <type>`.
fn type_error(v: &Value, path: &str, owner: &str, go_type: &str) -> String {
    let numeric = go_type.starts_with("int");
    let what = match v {
        Value::Null => "null".to_string(),
        Value::Bool(_) => "bool".to_string(),
        Value::Number(n) if numeric => format!("number {n}"),
        Value::Number(_) => "number".to_string(),
        Value::String(_) => "string".to_string(),
        Value::Array(_) => "array".to_string(),
        Value::Object(_) => "object".to_string(),
    };
    if path.is_empty() {
        format!("json: cannot unmarshal {what} into Go value of type {go_type}")
    } else {
        format!(
            "json: cannot unmarshal {what} into Go struct field {owner}.{} of type {go_type}",
            go_field_path(path)
        )
    }
}

/// A present, non-null field (Go leaves a field untouched on `null`).
fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

impl Decoder {
    /// An object whose keys must be among `allowed` (unknown ones are collected); `None` for null.
    fn object<'a>(
        &mut self,
        v: &'a Value,
        path: &str,
        owner: &str,
        go_type: &str,
        allowed: &[&str],
    ) -> Result<Option<&'a Map<String, Value>>, String> {
        match v {
            Value::Null => Ok(None),
            Value::Object(m) => {
                for k in m.keys() {
                    if !allowed.contains(&k.as_str()) {
                        self.unknown.push(join(path, k));
                    }
                }
                Ok(Some(m))
            }
            other => Err(type_error(other, path, owner, go_type)),
        }
    }

    fn finish(self) -> Result<(), String> {
        if self.unknown.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = self.unknown.iter().map(|u| format!("unknown field {}", quote(u))).collect();
        Err(format!("strict decoding error: {}", list.join(", ")))
    }
}

fn string(v: &Value, path: &str, owner: &str) -> Result<String, String> {
    v.as_str().map(str::to_string).ok_or_else(|| type_error(v, path, owner, "string"))
}

fn int(v: &Value, path: &str, owner: &str, go_type: &str) -> Result<i64, String> {
    let n = v.as_i64().ok_or_else(|| type_error(v, path, owner, go_type))?;
    if go_type == "int32" && i32::try_from(n).is_err() {
        return Err(type_error(v, path, owner, go_type));
    }
    Ok(n)
}

fn array<'a>(v: &'a Value, path: &str, owner: &str, go_type: &str) -> Result<&'a [Value], String> {
    v.as_array().map(Vec::as_slice).ok_or_else(|| type_error(v, path, owner, go_type))
}

fn strings(v: &Value, path: &str, owner: &str) -> Result<Vec<String>, String> {
    array(v, path, owner, "[]string")?.iter().map(|s| string(s, path, owner)).collect()
}

/// `apiVersion` / `kind` of the args (TypeMeta), checked as the scheduler's config decoding does
/// for the plugin's args type.
fn check_type_meta(m: &Map<String, Value>, plugin: &str, owner: &str) -> Result<(), String> {
    let want_kind = format!("{plugin}Args");
    let api_version = match get(m, "apiVersion") {
        Some(v) => Some(string(v, "apiVersion", owner)?),
        None => None,
    };
    let kind = match get(m, "kind") {
        Some(v) => Some(string(v, "kind", owner)?),
        None => None,
    };
    if let Some(av) = api_version.as_deref().filter(|av| !av.is_empty() && *av != CONFIG_API_VERSION) {
        let k = kind.as_deref().unwrap_or(&want_kind);
        return Err(format!("no kind {} is registered for version {}", quote(k), quote(av)));
    }
    if let Some(k) = kind.as_deref().filter(|k| !k.is_empty() && *k != want_kind) {
        return Err(format!(
            "args for plugin {plugin} were not of type {want_kind}.{CONFIG_GROUP}, got {k}.{CONFIG_GROUP}"
        ));
    }
    Ok(())
}

fn decode_resources(
    d: &mut Decoder,
    v: &Value,
    path: &str,
    owner: &str,
) -> Result<Vec<ResourceSpec>, String> {
    let mut out = Vec::new();
    for (i, item) in array(v, path, owner, "[]v1.ResourceSpec")?.iter().enumerate() {
        let p = index(path, i);
        let Some(m) = d.object(item, &p, owner, "v1.ResourceSpec", &["name", "weight"])? else {
            out.push(ResourceSpec::new("", 0));
            continue;
        };
        let name = match get(m, "name") {
            Some(n) => string(n, &join(&p, "name"), "ResourceSpec")?,
            None => String::new(),
        };
        let weight = match get(m, "weight") {
            Some(w) => int(w, &join(&p, "weight"), "ResourceSpec", "int64")?,
            None => 0,
        };
        out.push(ResourceSpec::new(&name, weight));
    }
    Ok(out)
}

fn decode_fit(v: &Value) -> Result<RawFit, String> {
    let mut d = Decoder::default();
    let mut raw = RawFit::default();
    const OWNER: &str = "NodeResourcesFitArgs";
    let allowed = ["apiVersion", "kind", "ignoredResources", "ignoredResourceGroups", "scoringStrategy"];
    if let Some(m) = d.object(v, "", OWNER, "v1.NodeResourcesFitArgs", &allowed)? {
        check_type_meta(m, FIT_NAME, OWNER)?;
        if let Some(list) = get(m, "ignoredResources") {
            raw.ignored_resources = strings(list, "ignoredResources", OWNER)?;
        }
        if let Some(list) = get(m, "ignoredResourceGroups") {
            raw.ignored_resource_groups = strings(list, "ignoredResourceGroups", OWNER)?;
        }
        if let Some(s) = get(m, "scoringStrategy") {
            let allowed = ["type", "resources", "requestedToCapacityRatio"];
            if let Some(sm) = d.object(s, "scoringStrategy", OWNER, "v1.ScoringStrategy", &allowed)? {
                const S_OWNER: &str = "ScoringStrategy";
                let type_ = match get(sm, "type") {
                    Some(t) => string(t, "scoringStrategy.type", S_OWNER)?,
                    None => String::new(),
                };
                let resources = match get(sm, "resources") {
                    Some(r) => decode_resources(&mut d, r, "scoringStrategy.resources", S_OWNER)?,
                    None => Vec::new(),
                };
                let mut shape = None;
                if let Some(r) = get(sm, "requestedToCapacityRatio") {
                    let path = "scoringStrategy.requestedToCapacityRatio";
                    if let Some(rm) =
                        d.object(r, path, S_OWNER, "v1.RequestedToCapacityRatioParam", &["shape"])?
                    {
                        let mut points = Vec::new();
                        if let Some(list) = get(rm, "shape") {
                            let sp = join(path, "shape");
                            let owner = "RequestedToCapacityRatioParam";
                            for (i, item) in
                                array(list, &sp, owner, "[]v1.UtilizationShapePoint")?.iter().enumerate()
                            {
                                let p = index(&sp, i);
                                let pm = d.object(
                                    item,
                                    &p,
                                    owner,
                                    "v1.UtilizationShapePoint",
                                    &["utilization", "score"],
                                )?;
                                let field = |k: &str| -> Result<i32, String> {
                                    match pm.and_then(|pm| get(pm, k)) {
                                        Some(x) => {
                                            let n = int(x, &join(&p, k), "UtilizationShapePoint", "int32")?;
                                            Ok(i32::try_from(n).unwrap_or_default())
                                        }
                                        None => Ok(0),
                                    }
                                };
                                points.push(UtilizationShapePoint {
                                    utilization: field("utilization")?,
                                    score: field("score")?,
                                });
                            }
                        }
                        shape = Some(points);
                    }
                }
                raw.scoring_strategy = Some(RawStrategy { type_, resources, shape });
            }
        }
    }
    d.finish()?;
    Ok(raw)
}

fn decode_balanced(v: &Value) -> Result<Vec<ResourceSpec>, String> {
    let mut d = Decoder::default();
    const OWNER: &str = "NodeResourcesBalancedAllocationArgs";
    let mut resources = Vec::new();
    let allowed = ["apiVersion", "kind", "resources"];
    if let Some(m) = d.object(v, "", OWNER, "v1.NodeResourcesBalancedAllocationArgs", &allowed)? {
        check_type_meta(m, BALANCED_ALLOCATION_NAME, OWNER)?;
        if let Some(r) = get(m, "resources") {
            resources = decode_resources(&mut d, r, "resources", OWNER)?;
        }
    }
    d.finish()?;
    Ok(resources)
}

// ---------------------------------------------------------------------------------------------
// Resource names (pkg/apis/core/v1/helper, pkg/scheduler/util)
// ---------------------------------------------------------------------------------------------

/// `v1helper.IsPrefixedNativeResource`: contains `kubernetes.io/`.
fn is_prefixed_native_resource(name: &str) -> bool {
    name.contains("kubernetes.io/")
}

/// `v1helper.IsNativeResource`: no `/`, or a `kubernetes.io/` prefix.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || is_prefixed_native_resource(name)
}

/// `v1helper.IsExtendedResourceName`: not native, not `requests.`-prefixed, and a qualified
/// name once prefixed with `requests.` (the quota form).
pub fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    qualified_name_errors(&format!("requests.{name}")).is_empty()
}

/// `schedutil.IsScalarResourceName`: extended, hugepages, `kubernetes.io/`-prefixed native or
/// attachable-volumes resources — the ones `framework.Resource` keeps in `ScalarResources`.
pub fn is_scalar_resource_name(name: &str) -> bool {
    is_extended_resource_name(name)
        || name.starts_with("hugepages-")
        || is_prefixed_native_resource(name)
        || name.starts_with("attachable-volumes-")
}

/// A scalar quantity as `framework.Resource.ScalarResources` holds it (other names are dropped).
fn scalar(r: &Resources, name: &str) -> Option<i64> {
    if is_scalar_resource_name(name) {
        r.scalar.get(name).copied()
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Filter (fit.go)
// ---------------------------------------------------------------------------------------------

/// One reason the pod does not fit (`noderesources.InsufficientResource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    pub resource: String,
    pub reason: String,
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
    /// The request alone exceeds the node's allocatable: preemption cannot help (v1.34).
    pub unresolvable: bool,
}

fn insufficient(resource: &str, requested: i64, used: i64, capacity: i64) -> InsufficientResource {
    InsufficientResource {
        resource: resource.to_string(),
        reason: format!("Insufficient {resource}"),
        requested,
        used,
        capacity,
        unresolvable: requested > capacity,
    }
}

/// `fitsRequest`: the resources `pod_req` (the pod's effective request, `podutil::pod_requests`)
/// does not find room for on the node, in upstream's order: pods, cpu, memory, ephemeral-storage,
/// then scalar resources (here in name order). Empty: the pod fits. A pod requesting nothing
/// only gets the pod-count check; a zero scalar request is never checked; ignored resources and
/// ignored resource groups (the part before `/`) apply to extended resources only.
pub fn fits_request(pod_req: &Resources, node: &NodeInfo, args: &FitArgs) -> Vec<InsufficientResource> {
    // No allocation unless something is missing: this runs once per node per cycle.
    let mut out = Vec::new();
    let allowed_pods = node.allocatable.pods;
    if node.pod_count.saturating_add(1) > allowed_pods {
        out.push(InsufficientResource {
            resource: "pods".into(),
            reason: "Too many pods".into(),
            requested: 1,
            used: node.pod_count,
            capacity: allowed_pods,
            unresolvable: false,
        });
    }
    // computePodResourceRequest → SetMaxResource keeps scalar names only.
    let scalars: Vec<(&str, i64)> = pod_req
        .scalar
        .iter()
        .filter(|(k, _)| is_scalar_resource_name(k))
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    if pod_req.milli_cpu == 0 && pod_req.memory == 0 && pod_req.ephemeral_storage == 0 && scalars.is_empty() {
        return out;
    }
    let (alloc, used) = (&node.allocatable, &node.requested);
    if pod_req.milli_cpu > 0 && pod_req.milli_cpu > alloc.milli_cpu.saturating_sub(used.milli_cpu) {
        out.push(insufficient("cpu", pod_req.milli_cpu, used.milli_cpu, alloc.milli_cpu));
    }
    if pod_req.memory > 0 && pod_req.memory > alloc.memory.saturating_sub(used.memory) {
        out.push(insufficient("memory", pod_req.memory, used.memory, alloc.memory));
    }
    if pod_req.ephemeral_storage > 0
        && pod_req.ephemeral_storage > alloc.ephemeral_storage.saturating_sub(used.ephemeral_storage)
    {
        out.push(insufficient(
            "ephemeral-storage",
            pod_req.ephemeral_storage,
            used.ephemeral_storage,
            alloc.ephemeral_storage,
        ));
    }
    for (name, quantity) in scalars {
        if quantity == 0 {
            continue;
        }
        if is_extended_resource_name(name) {
            let prefix = if args.ignored_resource_groups.is_empty() {
                ""
            } else {
                name.split('/').next().unwrap_or("")
            };
            if args.ignored_resources.iter().any(|r| r == name)
                || args.ignored_resource_groups.iter().any(|g| g == prefix)
            {
                continue;
            }
        }
        let (a, u) = (scalar(alloc, name).unwrap_or(0), scalar(used, name).unwrap_or(0));
        if quantity > a.saturating_sub(u) {
            out.push(insufficient(name, quantity, u, a));
        }
    }
    out
}

/// The Filter's status (fit.go Filter): Success, or every reason with Unschedulable —
/// UnschedulableAndUnresolvable when some request alone exceeds the node's allocatable.
pub fn fit_status(pod_req: &Resources, node: &NodeInfo, args: &FitArgs) -> Status {
    let insufficient = fits_request(pod_req, node, args);
    if insufficient.is_empty() {
        return Status::success();
    }
    let code = if insufficient.iter().any(|r| r.unresolvable) {
        Code::UnschedulableAndUnresolvable
    } else {
        Code::Unschedulable
    };
    Status::new(code, insufficient.into_iter().map(|r| r.reason).collect())
}

// ---------------------------------------------------------------------------------------------
// Scoring (resource_allocation.go and the scorers)
// ---------------------------------------------------------------------------------------------

/// `calculatePodResourceRequestList`: the pod's request of each resource, in the resources'
/// order — with `use_requested` false (the Fit strategies) cpu and memory get the non-zero
/// defaults for containers that set none; everything else is the actual request (containers
/// summed, max with init containers, plus overhead). CPU in millicores.
pub fn pod_resource_requests(pod: &Pod, resources: &[ResourceSpec], use_requested: bool) -> Vec<i64> {
    let actual = podutil::pod_requests(pod);
    let nonzero = if use_requested { None } else { Some(cache::nonzero_requests(pod)) };
    resources
        .iter()
        .map(|r| match r.name.as_str() {
            "cpu" => nonzero.as_ref().map_or(actual.milli_cpu, |n| n.milli_cpu),
            "memory" => nonzero.as_ref().map_or(actual.memory, |n| n.memory),
            "ephemeral-storage" => actual.ephemeral_storage,
            "pods" => actual.pods,
            other => actual.scalar.get(other).copied().unwrap_or(0),
        })
        .collect()
}

/// `calculateResourceAllocatableRequest`: (allocatable, requested on the node + the pod's
/// request); (0, 0) — left out of the score — for a scalar resource the pod does not request
/// and for a resource the node does not have.
fn allocatable_and_requested(
    node: &NodeInfo,
    resource: &ResourceSpec,
    pod_request: i64,
    use_requested: bool,
) -> (i64, i64) {
    let requested = if use_requested { &node.requested } else { &node.nonzero_requested };
    match resource.slot {
        ResourceSlot::Cpu => (node.allocatable.milli_cpu, requested.milli_cpu.saturating_add(pod_request)),
        ResourceSlot::Memory => (node.allocatable.memory, requested.memory.saturating_add(pod_request)),
        ResourceSlot::EphemeralStorage => {
            (node.allocatable.ephemeral_storage, node.requested.ephemeral_storage.saturating_add(pod_request))
        }
        ResourceSlot::Scalar if pod_request == 0 => (0, 0),
        ResourceSlot::Scalar => match node.allocatable.scalar.get(&resource.name) {
            Some(&a) => {
                let used = node.requested.scalar.get(&resource.name).copied().unwrap_or(0);
                (a, used.saturating_add(pod_request))
            }
            None => (0, 0),
        },
        ResourceSlot::Unscored => (0, 0),
    }
}

/// Calls `f` with the `requested` and `allocatable` vectors `resourceAllocationScorer.score`
/// hands its scorer (entries stay 0 where the allocatable is 0). Up to 8 resources live on the
/// stack: this runs once per node per scoring plugin.
fn with_requested_and_allocatable<R>(
    node: &NodeInfo,
    resources: &[ResourceSpec],
    pod_requests: &[i64],
    use_requested: bool,
    f: impl FnOnce(&[i64], &[i64]) -> R,
) -> R {
    let n = resources.len();
    let (mut req_buf, mut alloc_buf) = ([0i64; 8], [0i64; 8]);
    let (mut req_vec, mut alloc_vec) = (Vec::new(), Vec::new());
    let (requested, allocatable): (&mut [i64], &mut [i64]) = if n <= 8 {
        (&mut req_buf[..n], &mut alloc_buf[..n])
    } else {
        req_vec.resize(n, 0);
        alloc_vec.resize(n, 0);
        (&mut req_vec, &mut alloc_vec)
    };
    for (i, r) in resources.iter().enumerate() {
        let pod_request = pod_requests.get(i).copied().unwrap_or(0);
        let (alloc, req) = allocatable_and_requested(node, r, pod_request, use_requested);
        if alloc == 0 {
            continue;
        }
        allocatable[i] = alloc;
        requested[i] = req;
    }
    f(requested, allocatable)
}

fn to_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// `a × b / c` with Go's truncating integer division, in i64 when the product fits (every
/// realistic quantity: a 128-bit division costs several times more, and this runs per node
/// per resource), else in i128. `c` must not be 0.
fn mul_div(a: i64, b: i64, c: i64) -> i64 {
    match a.checked_mul(b) {
        Some(product) => product / c,
        None => to_i64(i128::from(a) * i128::from(b) / i128::from(c)),
    }
}

/// `leastRequestedScore`: unused capacity on 0..100.
fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    match capacity.checked_sub(requested) {
        Some(unused) => mul_div(unused, MAX_NODE_SCORE, capacity),
        None => to_i64(
            (i128::from(capacity) - i128::from(requested)) * i128::from(MAX_NODE_SCORE)
                / i128::from(capacity),
        ),
    }
}

/// `mostRequestedScore`: used capacity on 0..100 (requests above capacity count as full).
fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    mul_div(requested.min(capacity), MAX_NODE_SCORE, capacity)
}

/// `leastResourceScorer` / `mostResourceScorer`: the weighted mean (integer division).
fn weighted_scorer(
    requested: &[i64],
    allocatable: &[i64],
    resources: &[ResourceSpec],
    score: fn(i64, i64) -> i64,
) -> i64 {
    let (mut node_score, mut weight_sum) = (0i128, 0i128);
    for (i, r) in resources.iter().enumerate() {
        if allocatable[i] == 0 {
            continue;
        }
        node_score += i128::from(score(requested[i], allocatable[i])) * i128::from(r.weight);
        weight_sum += i128::from(r.weight);
    }
    match (i64::try_from(node_score), i64::try_from(weight_sum)) {
        (_, Ok(0)) => 0,
        // A 64-bit division unless the sums need more.
        (Ok(score), Ok(weights)) => score / weights,
        _ => to_i64(node_score / weight_sum),
    }
}

/// One point of `helper.FunctionShape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionShapePoint {
    pub utilization: i64,
    pub score: i64,
}

/// `helper.BuildBrokenLinearFunction` evaluated at `p`: `shape[0].score` below the first point,
/// the last score above the last point, linear (integer division) in between. An empty shape
/// gives 0 (upstream would index out of range; validation requires a point).
pub fn broken_linear_function(shape: &[FunctionShapePoint], p: i64) -> i64 {
    for i in 0..shape.len() {
        if p <= shape[i].utilization {
            if i == 0 {
                return shape[0].score;
            }
            let (a, b) = (shape[i - 1], shape[i]);
            // p > a.utilization (not returned at i − 1) and p <= b.utilization: the divisor is > 0.
            let v = i128::from(a.score)
                + (i128::from(b.score) - i128::from(a.score)) * (i128::from(p) - i128::from(a.utilization))
                    / (i128::from(b.utilization) - i128::from(a.utilization));
            return to_i64(v);
        }
    }
    shape.last().map_or(0, |s| s.score)
}

/// `requestedToCapacityRatioScorer`: shape scores scaled to 0..100, each resource's utilization
/// mapped through the broken linear function (over capacity, or no capacity: utilization 100),
/// resources scoring 0 left out, the weighted mean rounded half away from zero.
fn requested_to_capacity_ratio_scorer(
    requested: &[i64],
    allocatable: &[i64],
    resources: &[ResourceSpec],
    shape: &[UtilizationShapePoint],
) -> i64 {
    let points: Vec<FunctionShapePoint> = shape
        .iter()
        .map(|p| FunctionShapePoint {
            utilization: i64::from(p.utilization),
            score: i64::from(p.score) * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
        })
        .collect();
    let resource_score = |req: i64, cap: i64| {
        if cap == 0 || req > cap {
            return broken_linear_function(&points, MAX_UTILIZATION);
        }
        let utilization = to_i64(i128::from(req) * i128::from(MAX_UTILIZATION) / i128::from(cap));
        broken_linear_function(&points, utilization)
    };
    let (mut node_score, mut weight_sum) = (0i128, 0i128);
    for (i, r) in resources.iter().enumerate() {
        if allocatable[i] == 0 {
            continue;
        }
        let score = resource_score(requested[i], allocatable[i]);
        if score > 0 {
            node_score += i128::from(score) * i128::from(r.weight);
            weight_sum += i128::from(r.weight);
        }
    }
    if weight_sum == 0 {
        return 0;
    }
    (node_score as f64 / weight_sum as f64).round() as i64
}

/// NodeResourcesFit's Score for a strategy, given the pod's requests of the strategy's
/// resources (`pod_resource_requests(pod, &strategy.resources, false)`, the PreScore state).
pub fn fit_score_with_requests(pod_requests: &[i64], node: &NodeInfo, strategy: &ScoringStrategy) -> i64 {
    let resources = &strategy.resources;
    if resources.is_empty() {
        return 0;
    }
    with_requested_and_allocatable(node, resources, pod_requests, false, |requested, allocatable| {
        match strategy.type_ {
            ScoringStrategyType::LeastAllocated => {
                weighted_scorer(requested, allocatable, resources, least_requested_score)
            }
            ScoringStrategyType::MostAllocated => {
                weighted_scorer(requested, allocatable, resources, most_requested_score)
            }
            ScoringStrategyType::RequestedToCapacityRatio => requested_to_capacity_ratio_scorer(
                requested,
                allocatable,
                resources,
                strategy.shape.as_deref().unwrap_or(&[]),
            ),
        }
    })
}

/// NodeResourcesFit's Score (0..100) of `node` for `pod` under `strategy`.
pub fn fit_score(pod: &Pod, node: &NodeInfo, strategy: &ScoringStrategy) -> i64 {
    let pod_requests = pod_resource_requests(pod, &strategy.resources, false);
    fit_score_with_requests(&pod_requests, node, strategy)
}

/// `isBestEffortPod` over the configured resources' requests.
fn requests_nothing(pod_requests: &[i64]) -> bool {
    pod_requests.iter().all(|&r| r == 0)
}

/// BalancedAllocation's PreScore Skip: the pod's actual request of every configured resource is
/// 0 (a pod with no requests at all, or one requesting only other resources).
pub fn balanced_allocation_skips(pod: &Pod, args: &BalancedAllocationArgs) -> bool {
    requests_nothing(&pod_resource_requests(pod, &args.resources, true))
}

/// `balancedResourceScorer`: `(1 − std) × 100` over the capped fractions of the resources the
/// node has.
fn balanced_resource_scorer(requested: &[i64], allocatable: &[i64]) -> i64 {
    let mut buf = [0.0_f64; 8];
    let mut spill = Vec::new();
    let mut count = 0;
    let mut total = 0.0;
    for (req, alloc) in requested.iter().zip(allocatable) {
        if *alloc == 0 {
            continue;
        }
        let fraction = (*req as f64 / *alloc as f64).min(1.0);
        total += fraction;
        if count < buf.len() {
            buf[count] = fraction;
        } else {
            if spill.is_empty() {
                spill.extend_from_slice(&buf);
            }
            spill.push(fraction);
        }
        count += 1;
    }
    let fractions: &[f64] = if count <= buf.len() { &buf[..count] } else { &spill };
    let std = match fractions.len() {
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        n if n > 2 => {
            let mean = total / n as f64;
            let sum: f64 = fractions.iter().fold(0.0, |s, f| s + (f - mean) * (f - mean));
            (sum / n as f64).sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// NodeResourcesBalancedAllocation's Score (0..100) on actual requests. A pod that
/// `balanced_allocation_skips` scores 0 (Score without PreScore state; with it the framework
/// never calls Score for such a pod).
pub fn balanced_allocation_score(pod: &Pod, node: &NodeInfo, args: &BalancedAllocationArgs) -> i64 {
    balanced_allocation_score_with_requests(&pod_resource_requests(pod, &args.resources, true), node, args)
}

/// [`balanced_allocation_score`] with the pod's actual requests of `args.resources` computed
/// once (the PreScore state).
pub fn balanced_allocation_score_with_requests(
    pod_requests: &[i64],
    node: &NodeInfo,
    args: &BalancedAllocationArgs,
) -> i64 {
    if requests_nothing(pod_requests) {
        return 0;
    }
    with_requested_and_allocatable(node, &args.resources, pod_requests, true, balanced_resource_scorer)
}

#[cfg(test)]
mod tests {
    //! Ports of upstream's unit tests (kube-scheduler v1.33/v1.34 tables; fit_test.go's
    //! `Unresolvable` values from the v1.34+ table) with their expected values.
    // Test tables: cloned pods inside slices and tuple-typed tables read closest to upstream's.
    #![allow(clippy::cloned_ref_to_slice_refs, clippy::type_complexity)]

    use super::*;

    /// The Filter's verdict as the tables compare it.
    #[derive(Debug, PartialEq)]
    struct Rejection {
        plugin: &'static str,
        reasons: Vec<String>,
        resolvable: bool,
    }

    fn fit_filter(pod_req: &Resources, node: &NodeInfo, args: &FitArgs) -> Result<(), Rejection> {
        let s = fit_status(pod_req, node, args);
        if s.is_success() {
            return Ok(());
        }
        Err(Rejection { plugin: FIT_NAME, reasons: s.reasons, resolvable: s.code == Code::Unschedulable })
    }
    use k8s_openapi::api::core::v1::{Container, Node, NodeStatus, PodSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;
    use std::collections::BTreeMap;

    type Pairs<'a> = &'a [(&'a str, &'a str)];

    fn list(pairs: Pairs) -> BTreeMap<String, Quantity> {
        pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
    }

    fn node_with(capacity: Pairs, allocatable: Pairs) -> Node {
        Node {
            metadata: ObjectMeta { name: Some("node".into()), ..Default::default() },
            status: Some(NodeStatus {
                capacity: Some(list(capacity)),
                allocatable: Some(list(allocatable)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// `st.MakeNode().Capacity(res)`: capacity = allocatable = res plus 32 pods.
    fn st_node(res: Pairs) -> Node {
        let mut all: Vec<(&str, &str)> = vec![("pods", "32")];
        all.extend_from_slice(res);
        node_with(&all, &all)
    }

    /// test_util.go `makeNode(name, milliCPU, memory, extendedResource)`.
    fn make_node(milli_cpu: i64, memory: i64, extended: &[(&str, i64)]) -> Node {
        let cpu = format!("{milli_cpu}m");
        let mem = memory.to_string();
        let ext: Vec<(String, String)> =
            extended.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut all: Vec<(&str, &str)> = vec![("cpu", &cpu), ("memory", &mem)];
        all.extend(ext.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        node_with(&all, &all)
    }

    fn container(requests: Pairs) -> Container {
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements { requests: Some(list(requests)), ..Default::default() }),
            ..Default::default()
        }
    }

    /// `st.MakePod().Req(c1).Req(c2)…`: one container per request list.
    fn st_pod(containers: &[Pairs]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: containers.iter().map(|c| container(c)).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// `st.MakePod().Container("container")`: one container without requests.
    fn st_pod_bare_container() -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A node with pods counted as `Cache::upsert_pod` counts them.
    fn info(node: Node, pods: &[Pod]) -> NodeInfo {
        let mut info = NodeInfo::new(node);
        for p in pods {
            info.requested.add(&podutil::pod_requests(p));
            info.nonzero_requested.add(&cache::nonzero_requests(p));
            info.pod_count += 1;
        }
        info
    }

    fn strategy(type_: ScoringStrategyType, resources: &[(&str, i64)]) -> ScoringStrategy {
        ScoringStrategy {
            type_,
            resources: resources.iter().map(|(n, w)| ResourceSpec::new(n, *w)).collect(),
            shape: None,
        }
    }

    const DEFAULT_RESOURCES: &[(&str, i64)] = &[("cpu", 1), ("memory", 1)];
    const EXTENDED_RES: &str = "abc.com/xyz";
    const EXTENDED_RESOURCE_SET: &[(&str, i64)] = &[("cpu", 1), ("memory", 1), (EXTENDED_RES, 1)];

    fn scores(strategy: &ScoringStrategy, pod: &Pod, nodes: Vec<NodeInfo>) -> Vec<i64> {
        nodes.iter().map(|n| fit_score(pod, n, strategy)).collect()
    }

    fn pod_1000_2000_2000_3000() -> Pod {
        st_pod(&[&[("cpu", "1000"), ("memory", "2000")], &[("cpu", "2000"), ("memory", "3000")]])
    }

    // ---- least_allocated_test.go: TestLeastAllocatedScoringStrategy ----

    #[test]
    fn least_allocated_scoring_strategy() {
        let la = |res: &[(&str, i64)]| strategy(ScoringStrategyType::LeastAllocated, res);
        let no_req = st_pod(&[]);
        let cm = |c: &str, m: &str| st_pod(&[&[("cpu", c), ("memory", m)]]);
        let n = |c: &str, m: &str| st_node(&[("cpu", c), ("memory", m)]);

        // "nothing scheduled, nothing requested"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &no_req,
            vec![info(n("4000", "10000"), &[]), info(n("4000", "10000"), &[])],
        );
        assert_eq!(got, [100, 100]);
        // "nothing scheduled, resources requested, differently sized nodes"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &pod_1000_2000_2000_3000(),
            vec![info(n("4000", "10000"), &[]), info(n("6000", "10000"), &[])],
        );
        assert_eq!(got, [37, 50]);
        // "Resources not set, pods scheduled with error": upstream Score returns an Error status
        // with score 0 (MinNodeScore).
        let got = scores(&la(&[]), &pod_1000_2000_2000_3000(), vec![info(n("4000", "10000"), &[])]);
        assert_eq!(got, [0]);
        // "no resources requested, pods scheduled"
        let empty = [st_pod(&[]), st_pod(&[])];
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &no_req,
            vec![info(n("4000", "10000"), &empty), info(n("4000", "10000"), &empty)],
        );
        assert_eq!(got, [100, 100]);
        // "no resources requested, pods scheduled with resources"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &no_req,
            vec![
                info(n("10000", "20000"), &[cm("3000", "0"), cm("3000", "0")]),
                info(n("10000", "20000"), &[cm("3000", "0"), cm("3000", "5000")]),
            ],
        );
        assert_eq!(got, [70, 57]);
        // "resources requested, pods scheduled with resources"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &pod_1000_2000_2000_3000(),
            vec![
                info(n("10000", "20000"), &[cm("3000", "0")]),
                info(n("10000", "20000"), &[cm("3000", "5000")]),
            ],
        );
        assert_eq!(got, [57, 45]);
        // "resources requested, pods scheduled with resources, differently sized nodes"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &pod_1000_2000_2000_3000(),
            vec![
                info(n("10000", "20000"), &[cm("3000", "0")]),
                info(n("10000", "50000"), &[cm("3000", "5000")]),
            ],
        );
        assert_eq!(got, [57, 60]);
        // "requested resources exceed node capacity"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &cm("3000", "0"),
            vec![
                info(n("4000", "10000"), &[cm("3000", "0")]),
                info(n("4000", "10000"), &[cm("3000", "5000")]),
            ],
        );
        assert_eq!(got, [50, 25]);
        // "zero node resources, pods scheduled with resources"
        let got = scores(
            &la(DEFAULT_RESOURCES),
            &no_req,
            vec![info(st_node(&[]), &[cm("3000", "0")]), info(st_node(&[]), &[cm("3000", "5000")])],
        );
        assert_eq!(got, [0, 0]);
        // "nothing scheduled, resources requested with different weight on CPU and memory,
        // differently sized nodes"
        let got = scores(
            &la(&[("memory", 2), ("cpu", 1)]),
            &pod_1000_2000_2000_3000(),
            vec![info(n("4000", "10000"), &[]), info(n("6000", "10000"), &[])],
        );
        assert_eq!(got, [41, 50]);
        // "bypass extended resource if the pod does not request"
        let got = scores(
            &la(EXTENDED_RESOURCE_SET),
            &pod_1000_2000_2000_3000(),
            vec![
                info(n("6000", "10000"), &[]),
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]), &[]),
            ],
        );
        assert_eq!(got, [50, 50]);
        // "honor extended resource if the pod requests"
        let pod = st_pod(&[&[("cpu", "3000"), ("memory", "5000"), (EXTENDED_RES, "2")]]);
        let got = scores(
            &la(EXTENDED_RESOURCE_SET),
            &pod,
            vec![
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]), &[]),
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "10")]), &[]),
            ],
        );
        assert_eq!(got, [50, 60]);
        // "if the node doesn't have a resource"
        let got = scores(
            &la(&[(EXTENDED_RES, 2), ("cpu", 1), ("memory", 1)]),
            &cm("3000", "4000"),
            vec![
                info(n("6000", "10000"), &[]),
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]), &[]),
            ],
        );
        assert_eq!(got, [55, 55]);
    }

    // least_allocated_test.go: the negative / zero / >100 weight cases fail NewFit's validation.
    #[test]
    fn least_allocated_invalid_weights() {
        for (resources, field) in [
            (vec![("memory", -1), ("cpu", 1)], "scoringStrategy.resources[0].weight"),
            (vec![("memory", 1), ("cpu", 0)], "scoringStrategy.resources[1].weight"),
            (vec![("memory", 1), ("cpu", 101)], "scoringStrategy.resources[1].weight"),
        ] {
            let args = FitArgs {
                scoring_strategy: strategy(ScoringStrategyType::LeastAllocated, &resources),
                ..Default::default()
            };
            assert_eq!(fields(&args.validate("")), [(field.to_string(), "Invalid value")]);
        }
    }

    // ---- most_allocated_test.go: TestMostAllocatedScoringStrategy ----

    #[test]
    fn most_allocated_scoring_strategy() {
        let ma = |res: &[(&str, i64)]| strategy(ScoringStrategyType::MostAllocated, res);
        let no_req = st_pod(&[]);
        let cm = |c: &str, m: &str| st_pod(&[&[("cpu", c), ("memory", m)]]);
        let n = |c: &str, m: &str| st_node(&[("cpu", c), ("memory", m)]);

        // "nothing scheduled, nothing requested"
        let got = scores(
            &ma(DEFAULT_RESOURCES),
            &no_req,
            vec![info(n("4000", "10000"), &[]), info(n("4000", "10000"), &[])],
        );
        assert_eq!(got, [0, 0]);
        // "nothing scheduled, resources requested, differently sized nodes"
        let got = scores(
            &ma(DEFAULT_RESOURCES),
            &pod_1000_2000_2000_3000(),
            vec![info(n("4000", "10000"), &[]), info(n("6000", "10000"), &[])],
        );
        assert_eq!(got, [62, 50]);
        // "Resources not set, pods scheduled with error"
        let got = scores(&ma(&[]), &pod_1000_2000_2000_3000(), vec![info(n("4000", "10000"), &[])]);
        assert_eq!(got, [0]);
        // "no resources requested, pods scheduled with resources"
        let got = scores(
            &ma(DEFAULT_RESOURCES),
            &no_req,
            vec![
                info(n("10000", "20000"), &[cm("3000", "0"), cm("3000", "0")]),
                info(n("10000", "20000"), &[cm("3000", "0"), cm("3000", "5000")]),
            ],
        );
        assert_eq!(got, [30, 42]);
        // "resources requested, pods scheduled with resources"
        let got = scores(
            &ma(DEFAULT_RESOURCES),
            &pod_1000_2000_2000_3000(),
            vec![
                info(n("10000", "20000"), &[cm("3000", "0")]),
                info(n("10000", "20000"), &[cm("3000", "5000")]),
            ],
        );
        assert_eq!(got, [42, 55]);
        // "resources requested equal node capacity"
        let pod = st_pod(&[&[("cpu", "2000"), ("memory", "4000")], &[("cpu", "3000"), ("memory", "5000")]]);
        let got = scores(
            &ma(DEFAULT_RESOURCES),
            &pod,
            vec![info(n("5000", "10000"), &[]), info(n("10000", "9000"), &[])],
        );
        assert_eq!(got, [95, 75]);
        // "nothing scheduled, resources requested, differently sized nodes" (memory weight 2)
        let got = scores(
            &ma(&[("memory", 2), ("cpu", 1)]),
            &pod_1000_2000_2000_3000(),
            vec![info(n("4000", "10000"), &[]), info(n("6000", "10000"), &[])],
        );
        assert_eq!(got, [58, 50]);
        // "no resources requested, pods scheduled, nonzero request for resource"
        let bare = st_pod_bare_container();
        let got = scores(
            &ma(DEFAULT_RESOURCES),
            &bare,
            vec![info(n("250m", "1000Mi"), &[bare.clone(), bare.clone()]), info(n("250m", "1000Mi"), &[])],
        );
        assert_eq!(got, [80, 30]);
        // "bypass extended resource if the pod does not request"
        let got = scores(
            &ma(EXTENDED_RESOURCE_SET),
            &pod_1000_2000_2000_3000(),
            vec![
                info(n("6000", "10000"), &[]),
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]), &[]),
            ],
        );
        assert_eq!(got, [50, 50]);
        // "honor extended resource if the pod request"
        let pod = st_pod(&[&[("cpu", "3000"), ("memory", "5000"), (EXTENDED_RES, "2")]]);
        let got = scores(
            &ma(EXTENDED_RESOURCE_SET),
            &pod,
            vec![
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]), &[]),
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "10")]), &[]),
            ],
        );
        assert_eq!(got, [50, 40]);
        // "if the node doesn't have a resource"
        let got = scores(
            &ma(&[(EXTENDED_RES, 2), ("cpu", 1), ("memory", 1)]),
            &cm("3000", "4000"),
            vec![
                info(n("6000", "10000"), &[]),
                info(st_node(&[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]), &[]),
            ],
        );
        assert_eq!(got, [45, 45]);
    }

    // most_allocated_test.go: the invalid-weight cases.
    #[test]
    fn most_allocated_invalid_weights() {
        for (resources, field) in [
            (vec![("memory", -1), ("cpu", 1)], "scoringStrategy.resources[0].weight"),
            (vec![("memory", 1), ("cpu", 0)], "scoringStrategy.resources[1].weight"),
            (vec![("memory", 101)], "scoringStrategy.resources[0].weight"),
        ] {
            let args = FitArgs {
                scoring_strategy: strategy(ScoringStrategyType::MostAllocated, &resources),
                ..Default::default()
            };
            assert_eq!(fields(&args.validate("")), [(field.to_string(), "Invalid value")]);
        }
    }

    // ---- requested_to_capacity_ratio_test.go ----

    fn rtcr(resources: &[(&str, i64)], shape: &[(i32, i32)]) -> ScoringStrategy {
        ScoringStrategy {
            shape: Some(
                shape
                    .iter()
                    .map(|&(utilization, score)| UtilizationShapePoint { utilization, score })
                    .collect(),
            ),
            ..strategy(ScoringStrategyType::RequestedToCapacityRatio, resources)
        }
    }

    // TestRequestedToCapacityRatioScoringStrategy
    #[test]
    fn requested_to_capacity_ratio_scoring_strategy() {
        let s = rtcr(DEFAULT_RESOURCES, &[(0, 10), (100, 0)]);
        let n = |c: &str, m: &str| st_node(&[("cpu", c), ("memory", m)]);
        let empty = [st_pod(&[]), st_pod(&[])];
        // "nothing scheduled, nothing requested (default - least requested nodes have priority)"
        let got =
            scores(&s, &st_pod(&[]), vec![info(n("4000", "10000"), &empty), info(n("4000", "10000"), &[])]);
        assert_eq!(got, [100, 100]);
        // "nothing scheduled, resources requested, differently sized nodes (default - least
        // requested nodes have priority)"
        let got = scores(
            &s,
            &pod_1000_2000_2000_3000(),
            vec![info(n("4000", "10000"), &empty), info(n("6000", "10000"), &[])],
        );
        assert_eq!(got, [38, 50]);
        // "no resources requested, pods scheduled with resources (default - least requested
        // nodes have priority)"
        let p = st_pod(&[&[("cpu", "3000"), ("memory", "5000")]]);
        let got = scores(
            &s,
            &st_pod(&[]),
            vec![info(n("4000", "10000"), &[p.clone()]), info(n("6000", "10000"), &[p])],
        );
        assert_eq!(got, [38, 50]);
    }

    // TestBrokenLinearFunction
    #[test]
    fn broken_linear() {
        let shape = |pts: &[(i64, i64)]| -> Vec<FunctionShapePoint> {
            pts.iter().map(|&(utilization, score)| FunctionShapePoint { utilization, score }).collect()
        };
        let cases: [(Vec<FunctionShapePoint>, &[(i64, i64)]); 3] = [
            (
                shape(&[(10, 1), (90, 9)]),
                &[
                    (-10, 1),
                    (0, 1),
                    (9, 1),
                    (10, 1),
                    (15, 1),
                    (19, 1),
                    (20, 2),
                    (89, 8),
                    (90, 9),
                    (99, 9),
                    (100, 9),
                    (110, 9),
                ],
            ),
            (
                shape(&[(0, 2), (40, 10), (100, 0)]),
                &[(-10, 2), (0, 2), (20, 6), (30, 8), (40, 10), (70, 5), (100, 0), (110, 0)],
            ),
            (
                shape(&[(0, 2), (40, 2), (100, 2)]),
                &[(-10, 2), (0, 2), (20, 2), (30, 2), (40, 2), (70, 2), (100, 2), (110, 2)],
            ),
        ];
        for (points, assertions) in &cases {
            for &(p, expected) in *assertions {
                assert_eq!(broken_linear_function(points, p), expected, "points={points:?}, p={p}");
            }
        }
    }

    // TestResourceBinPackingSingleExtended
    #[test]
    fn resource_bin_packing_single_extended() {
        let s = rtcr(&[("intel.com/foo", 1)], &[(0, 0), (100, 1)]);
        let mem = 10000 * 1024 * 1024;
        let n1 = || make_node(4000, mem, &[("intel.com/foo", 8)]);
        let n2 = || make_node(4000, mem, &[("intel.com/foo", 4)]);
        let foo = |v: &str| st_pod(&[&[("intel.com/foo", v)]]);
        // "nothing scheduled, nothing requested"
        assert_eq!(scores(&s, &st_pod(&[]), vec![info(n1(), &[]), info(n2(), &[])]), [0, 0]);
        // "resources requested, pods scheduled with less resources" (the existing pod has no
        // node name, so it is on neither node)
        assert_eq!(scores(&s, &foo("2"), vec![info(n1(), &[]), info(n2(), &[])]), [2, 5]);
        // "resources requested, pods scheduled with resources, on node with existing pod running"
        assert_eq!(scores(&s, &foo("2"), vec![info(n1(), &[]), info(n2(), &[foo("2")])]), [2, 10]);
        // "resources requested, pods scheduled with more resources"
        assert_eq!(scores(&s, &foo("4"), vec![info(n1(), &[]), info(n2(), &[])]), [5, 10]);
    }

    // TestResourceBinPackingMultipleExtended
    #[test]
    fn resource_bin_packing_multiple_extended() {
        let s = rtcr(&[("intel.com/foo", 3), ("intel.com/bar", 5)], &[(0, 0), (100, 1)]);
        let mem = 10000 * 1024 * 1024;
        let n1 = || make_node(4000, mem, &[("intel.com/foo", 8), ("intel.com/bar", 4)]);
        let n2 = || make_node(4000, mem, &[("intel.com/foo", 4), ("intel.com/bar", 8)]);
        let pod1 = || st_pod(&[&[("intel.com/foo", "2"), ("intel.com/bar", "2")]]);
        let pod2 = || st_pod(&[&[("intel.com/foo", "4"), ("intel.com/bar", "2")]]);
        // "nothing scheduled, nothing requested"
        assert_eq!(scores(&s, &st_pod(&[]), vec![info(n1(), &[]), info(n2(), &[])]), [0, 0]);
        // "resources requested, pods scheduled with less resources"
        assert_eq!(scores(&s, &pod1(), vec![info(n1(), &[]), info(n2(), &[])]), [4, 3]);
        // "resources requested, pods scheduled with resources, on node with existing pod running"
        assert_eq!(scores(&s, &pod1(), vec![info(n1(), &[]), info(n2(), &[pod2()])]), [4, 7]);
        // "resources requested, pods scheduled with more resources"
        assert_eq!(scores(&s, &pod2(), vec![info(n1(), &[]), info(n2(), &[])]), [5, 5]);
    }

    // ---- fit_test.go: TestFitScore (its two sidecar cases are not ported yet; sidecar sums are
    // tested in api::pod) ----

    #[test]
    fn fit_score_strategies() {
        let n = |c: &str, m: &str| st_node(&[("cpu", c), ("memory", m)]);
        let cm = |c: &str, m: &str| st_pod(&[&[("cpu", c), ("memory", m)]]);
        let nodes = || {
            vec![
                info(n("4000", "10000"), &[cm("2000", "4000")]),
                info(n("6000", "10000"), &[cm("1000", "2000")]),
            ]
        };
        // "test case for ScoringStrategy RequestedToCapacityRatio case1" (and "… if PreScore is
        // not called": same function here)
        assert_eq!(
            scores(&rtcr(DEFAULT_RESOURCES, &[(0, 10), (100, 0)]), &cm("3000", "5000"), nodes()),
            [10, 32]
        );
        // "test case for ScoringStrategy RequestedToCapacityRatio case2"
        assert_eq!(
            scores(&rtcr(DEFAULT_RESOURCES, &[(0, 0), (100, 10)]), &cm("3000", "5000"), nodes()),
            [95, 68]
        );
        // "test case for ScoringStrategy MostAllocated"
        let most = strategy(ScoringStrategyType::MostAllocated, DEFAULT_RESOURCES);
        assert_eq!(scores(&most, &cm("1000", "2000"), nodes()), [67, 36]);
        // "test case for ScoringStrategy LeastAllocated"
        let least = strategy(ScoringStrategyType::LeastAllocated, DEFAULT_RESOURCES);
        assert_eq!(scores(&least, &cm("1000", "2000"), nodes()), [32, 63]);
        // The PreScore path: requests computed once, then scored.
        let reqs = pod_resource_requests(&cm("1000", "2000"), &least.resources, false);
        assert_eq!(
            nodes().iter().map(|n| fit_score_with_requests(&reqs, n, &least)).collect::<Vec<_>>(),
            [32, 63]
        );
    }

    // ---- balanced_allocation_test.go: TestNodeResourcesBalancedAllocation (v1.33/v1.34) ----

    #[test]
    fn balanced_allocation() {
        let default_set = BalancedAllocationArgs::default();
        let with_gpu = BalancedAllocationArgs {
            resources: vec![
                ResourceSpec::new("cpu", 1),
                ResourceSpec::new("memory", 1),
                ResourceSpec::new("nvidia.com/gpu", 1),
            ],
        };
        let cpu_only = st_pod(&[&[("cpu", "1000m"), ("memory", "0")], &[("cpu", "2000m"), ("memory", "0")]]);
        let cpu_and_memory =
            st_pod(&[&[("cpu", "1000m"), ("memory", "2000")], &[("cpu", "2000m"), ("memory", "3000")]]);
        let cpu_memory_gpu = st_pod(&[
            &[("cpu", "1000m"), ("memory", "2000")],
            &[("cpu", "2000m"), ("memory", "3000"), ("nvidia.com/gpu", "3")],
        ]);
        let score = |pod: &Pod, args: &BalancedAllocationArgs, nodes: Vec<NodeInfo>| -> Vec<i64> {
            assert!(!balanced_allocation_skips(pod, args));
            nodes.iter().map(|n| balanced_allocation_score(pod, n, args)).collect()
        };

        // "nothing scheduled, nothing requested, skip in PreScore"
        assert!(balanced_allocation_skips(&st_pod(&[]), &default_set));
        // "nothing scheduled, resources requested, differently sized nodes"
        let got = score(
            &cpu_and_memory,
            &default_set,
            vec![info(make_node(4000, 10000, &[]), &[]), info(make_node(6000, 10000, &[]), &[])],
        );
        assert_eq!(got, [87, 100]);
        // "resources requested, pods scheduled with resources"
        let got = score(
            &cpu_and_memory,
            &default_set,
            vec![
                info(make_node(10000, 20000, &[]), &[cpu_only.clone()]),
                info(make_node(10000, 20000, &[]), &[cpu_and_memory.clone()]),
            ],
        );
        assert_eq!(got, [82, 95]);
        // "resources requested, pods scheduled with resources, differently sized nodes"
        let got = score(
            &cpu_and_memory,
            &default_set,
            vec![
                info(make_node(10000, 20000, &[]), &[cpu_only.clone()]),
                info(make_node(10000, 50000, &[]), &[cpu_and_memory.clone()]),
            ],
        );
        assert_eq!(got, [82, 80]);
        // "requested resources at node capacity"
        let got = score(
            &cpu_only,
            &default_set,
            vec![
                info(make_node(6000, 10000, &[]), &[cpu_only.clone()]),
                info(make_node(6000, 10000, &[]), &[cpu_and_memory.clone()]),
            ],
        );
        assert_eq!(got, [50, 75]);
        // "include scalar resource on a node for balanced resource allocation"
        let pod = st_pod(&[&[("memory", "0"), ("nvidia.com/gpu", "1")]]);
        let got = score(
            &pod,
            &with_gpu,
            vec![
                info(make_node(3500, 40000, &[("nvidia.com/gpu", 8)]), &[cpu_memory_gpu.clone()]),
                info(make_node(3500, 40000, &[("nvidia.com/gpu", 8)]), &[cpu_and_memory.clone()]),
            ],
        );
        assert_eq!(got, [70, 65]);
        // "node without the scalar resource should skip the scalar resource"
        let got = score(
            &cpu_and_memory,
            &with_gpu,
            vec![
                info(make_node(3500, 40000, &[("nvidia.com/gpu", 8)]), &[]),
                info(make_node(3500, 40000, &[]), &[]),
            ],
        );
        assert_eq!(got, [63, 63]);
        // "resources requested, pods scheduled with resources if PreScore not called": the
        // same score without the PreScore state.
        let got = score(
            &cpu_and_memory,
            &default_set,
            vec![
                info(make_node(10000, 20000, &[]), &[cpu_only.clone()]),
                info(make_node(10000, 20000, &[]), &[cpu_and_memory.clone()]),
            ],
        );
        assert_eq!(got, [82, 95]);
    }

    // ---- fit_test.go: TestEnoughRequests ----

    /// `framework.Resource{MilliCPU, Memory, EphemeralStorage, ScalarResources}` as
    /// newResourcePod writes a container's requests (pods: 0 included).
    #[derive(Clone, Copy, Default)]
    struct R {
        cpu: i64,
        mem: i64,
        eph: i64,
        scalar: &'static [(&'static str, i64)],
    }

    fn r(cpu: i64, mem: i64) -> R {
        R { cpu, mem, ..Default::default() }
    }

    fn rs(cpu: i64, mem: i64, scalar: &'static [(&'static str, i64)]) -> R {
        R { cpu, mem, scalar, ..Default::default() }
    }

    fn res_container(r: &R) -> Container {
        let mut reqs: Vec<(String, String)> = vec![
            ("cpu".into(), format!("{}m", r.cpu)),
            ("memory".into(), r.mem.to_string()),
            ("pods".into(), "0".into()),
            ("ephemeral-storage".into(), r.eph.to_string()),
        ];
        reqs.extend(r.scalar.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let pairs: Vec<(&str, &str)> = reqs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        container(&pairs)
    }

    /// `newResourcePod(usage...)`.
    fn res_pod(usage: &[R]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: usage.iter().map(res_container).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// `newResourceInitPod(pod, usage...)`.
    fn init_pod(mut pod: Pod, usage: &[R]) -> Pod {
        if let Some(spec) = pod.spec.as_mut() {
            spec.init_containers = Some(usage.iter().map(res_container).collect());
        }
        pod
    }

    /// `newResourceOverheadPod(pod, overhead)`.
    fn overhead_pod(mut pod: Pod, overhead: Pairs) -> Pod {
        if let Some(spec) = pod.spec.as_mut() {
            spec.overhead = Some(list(overhead));
        }
        pod
    }

    const EXT_A: &str = "example.com/aaa";
    const EXT_B: &str = "example.com/bbb";
    const K8S_IO_A: &str = "kubernetes.io/something";
    const K8S_IO_B: &str = "subdomain.kubernetes.io/something";
    const HUGE_PAGE_A: &str = "hugepages-2Mi";

    /// makeAllocatableResources(10, 20, 32, 5, 20, 5) as capacity and allocatable.
    fn fit_node(pods: &[Pod]) -> NodeInfo {
        let res = [
            ("cpu", "10m"),
            ("memory", "20"),
            ("pods", "32"),
            (EXT_A, "5"),
            ("ephemeral-storage", "20"),
            (HUGE_PAGE_A, "5"),
        ];
        info(node_with(&res, &res), pods)
    }

    fn ins(
        resource: &str,
        requested: i64,
        used: i64,
        capacity: i64,
        unresolvable: bool,
    ) -> InsufficientResource {
        InsufficientResource {
            resource: resource.into(),
            reason: format!("Insufficient {resource}"),
            requested,
            used,
            capacity,
            unresolvable,
        }
    }

    #[test]
    fn enough_requests() {
        let args = FitArgs::default();
        let ignored_b = FitArgs { ignored_resources: vec!["example.com/bbb".into()], ..Default::default() };
        let ignored_group =
            FitArgs { ignored_resource_groups: vec!["example.com".into()], ..Default::default() };
        let cases: Vec<(&str, Pod, Pod, &FitArgs, Vec<InsufficientResource>)> = vec![
            ("no resources requested always fits", Pod::default(), res_pod(&[r(10, 20)]), &args, vec![]),
            (
                "too many resources fails",
                res_pod(&[r(1, 1)]),
                res_pod(&[r(10, 20)]),
                &args,
                vec![ins("cpu", 1, 10, 10, false), ins("memory", 1, 20, 20, false)],
            ),
            (
                "too many resources fails due to init container cpu",
                init_pod(res_pod(&[r(1, 1)]), &[r(3, 1)]),
                res_pod(&[r(8, 19)]),
                &args,
                vec![ins("cpu", 3, 8, 10, false)],
            ),
            (
                "too many resources fails due to highest init container cpu",
                init_pod(res_pod(&[r(1, 1)]), &[r(3, 1), r(2, 1)]),
                res_pod(&[r(8, 19)]),
                &args,
                vec![ins("cpu", 3, 8, 10, false)],
            ),
            (
                "too many resources fails due to init container memory",
                init_pod(res_pod(&[r(1, 1)]), &[r(1, 3)]),
                res_pod(&[r(9, 19)]),
                &args,
                vec![ins("memory", 3, 19, 20, false)],
            ),
            (
                "too many resources fails due to highest init container memory",
                init_pod(res_pod(&[r(1, 1)]), &[r(1, 3), r(1, 2)]),
                res_pod(&[r(9, 19)]),
                &args,
                vec![ins("memory", 3, 19, 20, false)],
            ),
            (
                "init container fits because it's the max, not sum, of containers and init containers",
                init_pod(res_pod(&[r(1, 1)]), &[r(1, 1)]),
                res_pod(&[r(9, 19)]),
                &args,
                vec![],
            ),
            (
                "multiple init containers fit because it's the max, not sum, of containers and init containers",
                init_pod(res_pod(&[r(1, 1)]), &[r(1, 1), r(1, 1)]),
                res_pod(&[r(9, 19)]),
                &args,
                vec![],
            ),
            ("both resources fit", res_pod(&[r(1, 1)]), res_pod(&[r(5, 5)]), &args, vec![]),
            (
                "one resource memory fits",
                res_pod(&[r(2, 1)]),
                res_pod(&[r(9, 5)]),
                &args,
                vec![ins("cpu", 2, 9, 10, false)],
            ),
            (
                "one resource cpu fits",
                res_pod(&[r(1, 2)]),
                res_pod(&[r(5, 19)]),
                &args,
                vec![ins("memory", 2, 19, 20, false)],
            ),
            ("equal edge case", res_pod(&[r(5, 1)]), res_pod(&[r(5, 19)]), &args, vec![]),
            (
                "equal edge case for init container",
                init_pod(res_pod(&[r(4, 1)]), &[r(5, 1)]),
                res_pod(&[r(5, 19)]),
                &args,
                vec![],
            ),
            ("extended resource fits", res_pod(&[rs(0, 0, &[(EXT_A, 1)])]), res_pod(&[R::default()]), &args, vec![]),
            (
                "extended resource fits for init container",
                init_pod(res_pod(&[R::default()]), &[rs(0, 0, &[(EXT_A, 1)])]),
                res_pod(&[R::default()]),
                &args,
                vec![],
            ),
            (
                "extended resource capacity enforced",
                res_pod(&[rs(1, 1, &[(EXT_A, 10)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 0)])]),
                &args,
                vec![ins(EXT_A, 10, 0, 5, true)],
            ),
            (
                "extended resource capacity enforced for init container",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(EXT_A, 10)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 0)])]),
                &args,
                vec![ins(EXT_A, 10, 0, 5, true)],
            ),
            (
                "extended resource allocatable enforced",
                res_pod(&[rs(1, 1, &[(EXT_A, 1)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 5)])]),
                &args,
                vec![ins(EXT_A, 1, 5, 5, false)],
            ),
            (
                "extended resource allocatable enforced for init container",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(EXT_A, 1)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 5)])]),
                &args,
                vec![ins(EXT_A, 1, 5, 5, false)],
            ),
            (
                "extended resource allocatable enforced for multiple containers",
                res_pod(&[rs(1, 1, &[(EXT_A, 3)]), rs(1, 1, &[(EXT_A, 3)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 2)])]),
                &args,
                vec![ins(EXT_A, 6, 2, 5, true)],
            ),
            (
                "extended resource allocatable admits multiple init containers",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(EXT_A, 3)]), rs(1, 1, &[(EXT_A, 3)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 2)])]),
                &args,
                vec![],
            ),
            (
                "extended resource allocatable enforced for multiple init containers",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(EXT_A, 6)]), rs(1, 1, &[(EXT_A, 3)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 2)])]),
                &args,
                vec![ins(EXT_A, 6, 2, 5, true)],
            ),
            (
                "extended resource allocatable enforced for unknown resource",
                res_pod(&[rs(1, 1, &[(EXT_B, 1)])]),
                res_pod(&[r(0, 0)]),
                &args,
                vec![ins(EXT_B, 1, 0, 0, true)],
            ),
            (
                "extended resource allocatable enforced for unknown resource for init container",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(EXT_B, 1)])]),
                res_pod(&[r(0, 0)]),
                &args,
                vec![ins(EXT_B, 1, 0, 0, true)],
            ),
            (
                "kubernetes.io resource capacity enforced",
                res_pod(&[rs(1, 1, &[(K8S_IO_A, 10)])]),
                res_pod(&[r(0, 0)]),
                &args,
                vec![ins(K8S_IO_A, 10, 0, 0, true)],
            ),
            (
                "kubernetes.io resource capacity enforced for init container",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(K8S_IO_B, 10)])]),
                res_pod(&[r(0, 0)]),
                &args,
                vec![ins(K8S_IO_B, 10, 0, 0, true)],
            ),
            (
                "hugepages resource capacity enforced",
                res_pod(&[rs(1, 1, &[(HUGE_PAGE_A, 10)])]),
                res_pod(&[rs(0, 0, &[(HUGE_PAGE_A, 0)])]),
                &args,
                vec![ins(HUGE_PAGE_A, 10, 0, 5, true)],
            ),
            (
                "hugepages resource capacity enforced for init container",
                init_pod(res_pod(&[R::default()]), &[rs(1, 1, &[(HUGE_PAGE_A, 10)])]),
                res_pod(&[rs(0, 0, &[(HUGE_PAGE_A, 0)])]),
                &args,
                vec![ins(HUGE_PAGE_A, 10, 0, 5, true)],
            ),
            (
                "hugepages resource allocatable enforced for multiple containers",
                res_pod(&[rs(1, 1, &[(HUGE_PAGE_A, 3)]), rs(1, 1, &[(HUGE_PAGE_A, 3)])]),
                res_pod(&[rs(0, 0, &[(HUGE_PAGE_A, 2)])]),
                &args,
                vec![ins(HUGE_PAGE_A, 6, 2, 5, true)],
            ),
            (
                "skip checking ignored extended resource",
                res_pod(&[rs(1, 1, &[(EXT_B, 1)])]),
                res_pod(&[r(0, 0)]),
                &ignored_b,
                vec![],
            ),
            (
                "resources + pod overhead fits",
                overhead_pod(res_pod(&[r(1, 1)]), &[("cpu", "3m"), ("memory", "13")]),
                res_pod(&[r(5, 5)]),
                &args,
                vec![],
            ),
            (
                "requests + overhead does not fit for memory",
                overhead_pod(res_pod(&[r(1, 1)]), &[("cpu", "1m"), ("memory", "15")]),
                res_pod(&[r(5, 5)]),
                &args,
                vec![ins("memory", 16, 5, 20, false)],
            ),
            (
                "skip checking ignored extended resource via resource groups",
                res_pod(&[rs(1, 1, &[(EXT_B, 1), (K8S_IO_A, 1)])]),
                res_pod(&[r(0, 0)]),
                &ignored_group,
                vec![ins(K8S_IO_A, 1, 0, 0, true)],
            ),
            (
                "skip checking extended resource request with quantity zero via resource groups",
                res_pod(&[rs(1, 1, &[(EXT_A, 0)])]),
                res_pod(&[rs(0, 0, &[(EXT_A, 6)])]),
                &args,
                vec![],
            ),
            // Upstream runs this one with PodLevelResources enabled; the pod has no pod-level
            // resources, so the gate makes no difference.
            (
                "skip checking resource request with quantity zero",
                res_pod(&[rs(0, 0, &[(EXT_A, 1)])]),
                res_pod(&[rs(20, 30, &[(EXT_A, 1)])]),
                &args,
                vec![],
            ),
            // Skipped: the pod-level resources cases ("both pod-level and container-level
            // resources fit", "pod-level cpu/memory resource not fit", the pod-level hugepages
            // cases, "one pod-level cpu resource fits …"): podutil::pod_requests ignores
            // spec.resources. The DRA extended resource cases: DRA is not modelled.
        ];
        for (name, pod, existing, args, want) in cases {
            let node = fit_node(&[existing]);
            let got = fits_request(&podutil::pod_requests(&pod), &node, args);
            assert_eq!(got, want, "{name}");
            // Filter status: Unschedulable, or UnschedulableAndUnresolvable when any is.
            match fit_filter(&podutil::pod_requests(&pod), &node, args) {
                Ok(()) => assert!(want.is_empty(), "{name}"),
                Err(rej) => {
                    assert_eq!(rej.plugin, "NodeResourcesFit");
                    assert_eq!(
                        rej.reasons,
                        want.iter().map(|w| w.reason.clone()).collect::<Vec<_>>(),
                        "{name}"
                    );
                    assert_eq!(rej.resolvable, !want.iter().any(|w| w.unresolvable), "{name}");
                }
            }
        }
    }

    // fit_test.go: TestNotEnoughRequests (allocatable 10m / 20 / 1 pod, one pod already there).
    #[test]
    fn not_enough_requests() {
        let alloc = [
            ("cpu", "10m"),
            ("memory", "20"),
            ("pods", "1"),
            (EXT_A, "0"),
            ("ephemeral-storage", "0"),
            (HUGE_PAGE_A, "0"),
        ];
        let cases = [
            (
                "even without specified resources, predicate fails when there's no space for additional pod",
                Pod::default(),
                res_pod(&[r(10, 20)]),
            ),
            (
                "even if both resources fit, predicate fails when there's no space for additional pod",
                res_pod(&[r(1, 1)]),
                res_pod(&[r(5, 5)]),
            ),
            (
                "even for equal edge case, predicate fails when there's no space for additional pod",
                res_pod(&[r(5, 1)]),
                res_pod(&[r(5, 19)]),
            ),
            (
                "even for equal edge case, predicate fails when there's no space for additional pod due to init container",
                init_pod(res_pod(&[r(5, 1)]), &[r(5, 1)]),
                res_pod(&[r(5, 19)]),
            ),
        ];
        for (name, pod, existing) in cases {
            let node = info(node_with(&[], &alloc), &[existing]);
            let rej = fit_filter(&podutil::pod_requests(&pod), &node, &FitArgs::default()).unwrap_err();
            assert_eq!(rej.reasons, ["Too many pods"], "{name}");
            assert!(rej.resolvable, "{name}");
            let got = fits_request(&podutil::pod_requests(&pod), &node, &FitArgs::default());
            assert_eq!(
                got,
                [InsufficientResource {
                    resource: "pods".into(),
                    reason: "Too many pods".into(),
                    requested: 1,
                    used: 1,
                    capacity: 1,
                    unresolvable: false
                }],
                "{name}"
            );
        }
    }

    // fit_test.go: TestStorageRequests (the volume-based cases of older releases are gone
    // upstream too; the v1.34+ status for the failing case is UnschedulableAndUnresolvable).
    #[test]
    fn storage_requests() {
        let eph = |e: i64| R { eph: e, ..Default::default() };
        let cases: [(&str, Pod, Pod, Option<(&str, bool)>); 4] = [
            ("empty storage requested, and pod fits", res_pod(&[r(1, 1)]), res_pod(&[r(2, 10)]), None),
            (
                "storage ephemeral local storage request exceeds allocatable",
                res_pod(&[eph(25)]),
                res_pod(&[r(2, 2)]),
                Some(("Insufficient ephemeral-storage", false)),
            ),
            (
                "ephemeral local storage is sufficient",
                init_pod(res_pod(&[eph(5)]), &[]),
                res_pod(&[R { cpu: 2, mem: 2, eph: 10, scalar: &[] }]),
                None,
            ),
            ("pod fits", res_pod(&[eph(10)]), res_pod(&[r(2, 2)]), None),
        ];
        for (name, pod, existing, want) in cases {
            let node = fit_node(&[existing]);
            let got = fit_filter(&podutil::pod_requests(&pod), &node, &FitArgs::default());
            match want {
                None => assert_eq!(got, Ok(()), "{name}"),
                Some((reason, resolvable)) => {
                    let rej = got.unwrap_err();
                    assert_eq!(rej.reasons, [reason], "{name}");
                    assert_eq!(rej.resolvable, resolvable, "{name}");
                }
            }
        }
    }

    // ---- validation_pluginargs_test.go ----

    /// (field, error type) of each error, as upstream's tests compare them
    /// (`ignoreBadValueDetail`).
    fn fields(errs: &[FieldError]) -> Vec<(String, &str)> {
        errs.iter()
            .map(|e| {
                let kind = e.message.split(':').next().unwrap_or("");
                let kind = ["Invalid value", "Required value", "Duplicate value", "Unsupported value"]
                    .into_iter()
                    .find(|k| *k == kind)
                    .unwrap_or("?");
                (e.field.clone(), kind)
            })
            .collect()
    }

    // TestValidateFitArgs (substring checks on the aggregated message).
    #[test]
    fn validate_fit_args() {
        let long = format!("longvalue{}", "a".repeat(64));
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "IgnoredResources: too long value",
                json!({"ignoredResources": [long]}),
                "name part must be no more than 63 characters",
            ),
            (
                "IgnoredResources: name is empty",
                json!({"ignoredResources": ["example.com/"]}),
                "name part must be non-empty",
            ),
            (
                "IgnoredResources: name has too many slash",
                json!({"ignoredResources": ["example.com/aaa/bbb"]}),
                "a qualified name must consist of alphanumeric characters",
            ),
            ("IgnoredResources: valid args", json!({"ignoredResources": ["example.com"]}), ""),
            ("IgnoredResourceGroups: valid args ", json!({"ignoredResourceGroups": ["example.com"]}), ""),
            (
                "IgnoredResourceGroups: illegal args",
                json!({"ignoredResourceGroups": ["example.com/"]}),
                "name part must be non-empty",
            ),
            (
                "IgnoredResourceGroups: name is too long",
                json!({"ignoredResourceGroups": ["a".repeat(64)]}),
                "name part must be no more than 63 characters",
            ),
            (
                "IgnoredResourceGroups: name cannot be contain slash",
                json!({"ignoredResourceGroups": ["example.com/aa"]}),
                "resource group name can't contain '/'",
            ),
            (
                "ScoringStrategy: type is unsupported",
                json!({"scoringStrategy": {"type": "Invalid"}}),
                r#"Unsupported value: "Invalid""#,
            ),
        ];
        for (name, args, expect) in cases {
            match FitArgs::from_json(&args) {
                Ok(_) => assert!(expect.is_empty(), "{name}: expected an error containing {expect:?}"),
                Err(e) => assert!(!expect.is_empty() && e.contains(expect), "{name}: {e}"),
            }
        }
        // "ScoringStrategy: field is required": upstream's validation accepts a nil strategy (the
        // case passes because no error is returned); here the v1 default fills it in.
        assert_eq!(FitArgs::from_json(&json!({})), Ok(FitArgs::default()));
    }

    fn validate_strategy(
        type_: ScoringStrategyType,
        resources: &[(&str, i64)],
        shape: Option<&[(i32, i32)]>,
    ) -> Vec<FieldError> {
        let mut s = strategy(type_, resources);
        s.shape = shape.map(|sh| {
            sh.iter().map(|&(utilization, score)| UtilizationShapePoint { utilization, score }).collect()
        });
        FitArgs { scoring_strategy: s, ..Default::default() }.validate("")
    }

    // TestValidateLeastAllocatedScoringStrategy and TestValidateMostAllocatedScoringStrategy
    // (the same table for both types).
    #[test]
    fn validate_least_and_most_allocated_scoring_strategy() {
        let w0 = "scoringStrategy.resources[0].weight".to_string();
        let w1 = "scoringStrategy.resources[1].weight".to_string();
        for type_ in [ScoringStrategyType::LeastAllocated, ScoringStrategyType::MostAllocated] {
            // "default config" (no resources: validation alone, no defaulting)
            assert!(validate_strategy(type_, &[], None).is_empty());
            // "multi valid resources"
            assert!(validate_strategy(type_, &[("cpu", 1), ("memory", 10)], None).is_empty());
            // "weight less than min"
            assert_eq!(
                fields(&validate_strategy(type_, &[("cpu", 0)], None)),
                [(w0.clone(), "Invalid value")]
            );
            // "weight greater than max"
            assert_eq!(
                fields(&validate_strategy(type_, &[("cpu", 101)], None)),
                [(w0.clone(), "Invalid value")]
            );
            // "multi invalid resources"
            assert_eq!(
                fields(&validate_strategy(type_, &[("cpu", 0), ("memory", 101)], None)),
                [(w0.clone(), "Invalid value"), (w1.clone(), "Invalid value")]
            );
        }
    }

    // TestValidateRequestedToCapacityRatioScoringStrategy
    #[test]
    fn validate_requested_to_capacity_ratio_scoring_strategy() {
        let t = ScoringStrategyType::RequestedToCapacityRatio;
        let default_shape: &[(i32, i32)] = &[(30, 3)];
        let one = |f: &str, k: &'static str| vec![(f.to_string(), k)];
        // "no shapes"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[]))),
            one("scoringStrategy.shape", "Required value")
        );
        // "weight greater than max"
        assert_eq!(
            fields(&validate_strategy(t, &[("cpu", 101)], Some(default_shape))),
            one("scoringStrategy.resources[0].weight", "Invalid value")
        );
        // "weight less than min"
        assert_eq!(
            fields(&validate_strategy(t, &[("cpu", 0)], Some(default_shape))),
            one("scoringStrategy.resources[0].weight", "Invalid value")
        );
        // "valid shapes"
        assert!(validate_strategy(t, &[], Some(default_shape)).is_empty());
        // "utilization less than min"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[(-1, 3)]))),
            one("scoringStrategy.shape[0].utilization", "Invalid value")
        );
        // "utilization greater than max"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[(101, 3)]))),
            one("scoringStrategy.shape[0].utilization", "Invalid value")
        );
        // "duplicated utilization values"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[(10, 3), (10, 3)]))),
            one("scoringStrategy.shape[1].utilization", "Invalid value")
        );
        // "increasing utilization values"
        assert!(validate_strategy(t, &[], Some(&[(10, 3), (20, 3), (30, 3)])).is_empty());
        // "non-increasing utilization values"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[(10, 3), (20, 3), (15, 3)]))),
            one("scoringStrategy.shape[2].utilization", "Invalid value")
        );
        // "score less than min"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[(10, -1)]))),
            one("scoringStrategy.shape[0].score", "Invalid value")
        );
        // "score greater than max"
        assert_eq!(
            fields(&validate_strategy(t, &[], Some(&[(10, 11)]))),
            one("scoringStrategy.shape[0].score", "Invalid value")
        );
    }

    // TestValidateNodeResourcesBalancedAllocationArgs
    #[test]
    fn validate_balanced_allocation_args() {
        let args = |res: &[(&str, i64)]| BalancedAllocationArgs {
            resources: res.iter().map(|(n, w)| ResourceSpec::new(n, *w)).collect(),
        };
        // "valid config"
        assert!(args(&[("cpu", 1), ("memory", 1)]).validate("").is_empty());
        // "invalid config"
        assert_eq!(
            fields(&args(&[("cpu", 2), ("memory", 1)]).validate("")),
            [("resources[0].weight".to_string(), "Invalid value")]
        );
        // "repeated resources"
        assert_eq!(
            fields(&args(&[("cpu", 1), ("cpu", 1)]).validate("")),
            [("resources[1].name".to_string(), "Duplicate value")]
        );
    }

    // ---- v1/default_test.go: TestPluginArgsDefaults (the two args types) ----

    #[test]
    fn plugin_args_defaults() {
        let spec = |res: &[(&str, i64)]| -> Vec<ResourceSpec> {
            res.iter().map(|(n, w)| ResourceSpec::new(n, *w)).collect()
        };
        // "NodeResourcesBalancedAllocationArgs resources empty"
        assert_eq!(
            BalancedAllocationArgs::from_json(&json!({})).map(|a| a.resources),
            Ok(spec(&[("cpu", 1), ("memory", 1)]))
        );
        // "NodeResourcesBalancedAllocationArgs with scalar resource"
        assert_eq!(
            BalancedAllocationArgs::from_json(
                &json!({"resources": [{"name": "scalar.io/scalar1", "weight": 1}]})
            )
            .map(|a| a.resources),
            Ok(spec(&[("scalar.io/scalar1", 1)]))
        );
        // "NodeResourcesBalancedAllocationArgs with mixed resources"
        assert_eq!(
            BalancedAllocationArgs::from_json(
                &json!({"resources": [{"name": "cpu", "weight": 1}, {"name": "scalar.io/scalar1", "weight": 1}]})
            )
            .map(|a| a.resources),
            Ok(spec(&[("cpu", 1), ("scalar.io/scalar1", 1)]))
        );
        // "NodeResourcesBalancedAllocationArgs have resource no weight"
        assert_eq!(
            BalancedAllocationArgs::from_json(&json!({"resources": [
                {"name": "cpu"}, {"name": "scalar.io/scalar0"}, {"name": "scalar.io/scalar1", "weight": 1}
            ]}))
            .map(|a| a.resources),
            Ok(spec(&[("cpu", 1), ("scalar.io/scalar0", 1), ("scalar.io/scalar1", 1)]))
        );
        // "NodeResourcesFitArgs not set"
        let fit = FitArgs::from_json(&json!({})).map(|a| a.scoring_strategy);
        assert_eq!(fit, Ok(strategy(ScoringStrategyType::LeastAllocated, DEFAULT_RESOURCES)));
        // "NodeResourcesFitArgs Resources empty"
        let fit = FitArgs::from_json(&json!({"scoringStrategy": {"type": "MostAllocated"}}))
            .map(|a| a.scoring_strategy);
        assert_eq!(fit, Ok(strategy(ScoringStrategyType::MostAllocated, DEFAULT_RESOURCES)));
        // No args at all (a pluginConfig entry without args) gets the same defaults.
        assert_eq!(FitArgs::from_json(&Value::Null), Ok(FitArgs::default()));
    }

    // ---- kubesim's decoding (not an upstream table): the configuration-file form, strict ----

    #[test]
    fn from_json_decodes_the_configuration_form() {
        let args = json!({
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "NodeResourcesFitArgs",
            "ignoredResourceGroups": ["example.com"],
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "resources": [{"name": "cpu", "weight": 3}, {"name": "intel.com/foo"}],
                "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}
            }
        });
        let got = FitArgs::from_json(&args).unwrap();
        assert_eq!(got.ignored_resource_groups, ["example.com"]);
        assert_eq!(got.scoring_strategy.type_, ScoringStrategyType::RequestedToCapacityRatio);
        assert_eq!(
            got.scoring_strategy.resources,
            [ResourceSpec::new("cpu", 3), ResourceSpec::new("intel.com/foo", 1)]
        );
        assert_eq!(
            got.scoring_strategy.shape,
            Some(vec![
                UtilizationShapePoint { utilization: 0, score: 0 },
                UtilizationShapePoint { utilization: 100, score: 10 }
            ])
        );

        let unknown = json!({"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "wieght": 2}]}, "foo": 1});
        assert_eq!(
            FitArgs::from_json(&unknown),
            Err(r#"strict decoding error: unknown field "foo", unknown field "scoringStrategy.resources[0].wieght""#.into())
        );
        assert_eq!(
            FitArgs::from_json(&json!({"scoringStrategy": {"resources": [{"name": "cpu", "weight": "2"}]}})),
            Err("json: cannot unmarshal string into Go struct field ResourceSpec.scoringStrategy.resources.weight of type int64"
                .into())
        );
        assert_eq!(
            FitArgs::from_json(&json!({"kind": "NodeAffinityArgs"})),
            Err("args for plugin NodeResourcesFit were not of type NodeResourcesFitArgs.kubescheduler.config.k8s.io, got NodeAffinityArgs.kubescheduler.config.k8s.io".into())
        );
        // Validation messages as upstream renders them, under the given path.
        assert_eq!(
            FitArgs::from_json_at(
                &json!({"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "memory", "weight": -1}]}}),
                "profiles[0].pluginConfig[0].args"
            ),
            Err("profiles[0].pluginConfig[0].args.scoringStrategy.resources[0].weight: Invalid value: -1: resource weight of memory not in valid range (0, 100]".into())
        );
        assert_eq!(
            FitArgs::from_json(&json!({"scoringStrategy": {"type": ""}})),
            Err(r#"scoringStrategy.type: Unsupported value: "": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio""#.into())
        );
        assert_eq!(
            BalancedAllocationArgs::from_json(&json!({"resources": [{"name": "cpu", "weight": 2}, {"name": "cpu"}]})),
            Err(r#"[resources[0].weight: Invalid value: 2: must be 1, resources[1].name: Duplicate value: "cpu"]"#.into())
        );
        assert!(
            FitArgs::from_json(&json!({"scoringStrategy": {"type": "RequestedToCapacityRatio"}})).is_err()
        );
        assert!(FitArgs::from_json(&json!([])).is_err());
    }

    #[test]
    fn resource_name_classes() {
        assert!(is_extended_resource_name("example.com/aaa"));
        assert!(is_extended_resource_name("nvidia.com/gpu"));
        assert!(!is_extended_resource_name("kubernetes.io/something"));
        assert!(!is_extended_resource_name("hugepages-2Mi"));
        assert!(!is_extended_resource_name("requests.example.com/aaa"));
        assert!(is_scalar_resource_name("hugepages-2Mi"));
        assert!(is_scalar_resource_name("subdomain.kubernetes.io/something"));
        assert!(is_scalar_resource_name("attachable-volumes-aws-ebs"));
        assert!(!is_scalar_resource_name("cpu"));
        assert!(!is_scalar_resource_name("storage"));
    }
}
