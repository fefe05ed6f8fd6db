//! `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1) → ready-to-run profiles, as
//! kube-scheduler reads its `--config` file: v1 defaulting (pkg/scheduler/apis/config/v1/
//! defaults.go: one `default-scheduler` profile when none is given, the default plugins under
//! `multiPoint`, user plugin sets merged into them by `mergePlugins`), validation
//! (validation/validation.go: percentages, back-off, unique scheduler names, duplicate plugin
//! configs) and framework construction (runtime/framework.go: `updatePluginList`,
//! `expandMultiPointPlugins`, `getScoreWeights`, plugin args through the registry).
//!
//! Every error names the field path (`profiles[0].plugins.score.enabled[1].name`) and what was
//! expected; the scenario loader turns the path into a line and column.
//!
//! Accepted but without effect in a simulator: `parallelism`, `leaderElection`,
//! `clientConnection`, `enableProfiling`, `enableContentionProfiling`, `delayCacheUntilActive`.
//! Rejected: `extenders` (HTTP extenders are not modelled).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::registry::Registry;
use super::{ExtensionPoint, Profile};

/// The scheduler name of the default profile.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";

/// A configuration error: the field path inside the configuration and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { path: path.into(), message: message.into() }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigurationV1 {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    parallelism: Option<i32>,
    #[serde(default)]
    leader_election: Option<serde_json::Value>,
    #[serde(default)]
    client_connection: Option<serde_json::Value>,
    #[serde(default)]
    enable_profiling: Option<bool>,
    #[serde(default)]
    enable_contention_profiling: Option<bool>,
    #[serde(default)]
    delay_cache_until_active: Option<bool>,
    #[serde(default)]
    percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    pod_initial_backoff_seconds: Option<i64>,
    #[serde(default)]
    pod_max_backoff_seconds: Option<i64>,
    #[serde(default)]
    profiles: Option<Vec<ProfileV1>>,
    #[serde(default)]
    extenders: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProfileV1 {
    #[serde(default)]
    scheduler_name: Option<String>,
    #[serde(default)]
    percentage_of_nodes_to_score: Option<i32>,
    #[serde(default)]
    plugins: Option<PluginsV1>,
    #[serde(default)]
    plugin_config: Option<Vec<PluginConfigV1>>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PluginsV1 {
    #[serde(default)]
    pre_enqueue: Option<PluginSetV1>,
    #[serde(default)]
    queue_sort: Option<PluginSetV1>,
    #[serde(default)]
    pre_filter: Option<PluginSetV1>,
    #[serde(default)]
    filter: Option<PluginSetV1>,
    #[serde(default)]
    post_filter: Option<PluginSetV1>,
    #[serde(default)]
    pre_score: Option<PluginSetV1>,
    #[serde(default)]
    score: Option<PluginSetV1>,
    #[serde(default)]
    reserve: Option<PluginSetV1>,
    #[serde(default)]
    permit: Option<PluginSetV1>,
    #[serde(default)]
    pre_bind: Option<PluginSetV1>,
    #[serde(default)]
    bind: Option<PluginSetV1>,
    #[serde(default)]
    post_bind: Option<PluginSetV1>,
    #[serde(default)]
    multi_point: Option<PluginSetV1>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PluginSetV1 {
    #[serde(default)]
    enabled: Option<Vec<PluginV1>>,
    #[serde(default)]
    disabled: Option<Vec<PluginV1>>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PluginV1 {
    name: String,
    #[serde(default)]
    weight: Option<i32>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PluginConfigV1 {
    name: String,
    #[serde(default)]
    args: Option<serde_json::Value>,
}

/// One plugin in a plugin set: its name, weight (Score) and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRef {
    pub name: String,
    pub weight: i32,
    /// Field path of its `name`, for errors (empty for default plugins).
    pub path: String,
}

/// A profile after v1 defaulting and merging, before plugins are instantiated.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileConfig {
    pub scheduler_name: String,
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Enabled and disabled plugins per extension point, merged with the defaults.
    pub enabled: BTreeMap<ExtensionPoint, Vec<PluginRef>>,
    pub disabled: BTreeMap<ExtensionPoint, Vec<String>>,
    /// `pluginConfig`: plugin name → (args, field path).
    pub plugin_config: BTreeMap<String, (serde_json::Value, String)>,
    /// Field path of this profile.
    pub path: String,
}

/// A validated `KubeSchedulerConfiguration`.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    pub percentage_of_nodes_to_score: u32,
    pub pod_initial_backoff_seconds: u64,
    pub pod_max_backoff_seconds: u64,
    pub profiles: Vec<ProfileConfig>,
}

/// The default profile's plugins and weights (v1/default_plugins.go getDefaultPlugins), all
/// under `multiPoint`.
pub const DEFAULT_PLUGINS: &[(&str, i32)] = &[
    ("SchedulingGates", 0),
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("VolumeRestrictions", 0),
    ("NodeVolumeLimits", 0),
    ("VolumeBinding", 0),
    ("VolumeZone", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
];

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig::from_value(&serde_json::Value::Null).expect("the default configuration is valid")
    }
}

fn point_sets(p: &PluginsV1) -> Vec<(ExtensionPoint, &'static str, Option<&PluginSetV1>)> {
    use ExtensionPoint as E;
    vec![
        (E::QueueSort, "queueSort", p.queue_sort.as_ref()),
        (E::PreFilter, "preFilter", p.pre_filter.as_ref()),
        (E::Filter, "filter", p.filter.as_ref()),
        (E::PostFilter, "postFilter", p.post_filter.as_ref()),
        (E::PreScore, "preScore", p.pre_score.as_ref()),
        (E::Score, "score", p.score.as_ref()),
        (E::Reserve, "reserve", p.reserve.as_ref()),
        (E::Permit, "permit", p.permit.as_ref()),
        (E::PreBind, "preBind", p.pre_bind.as_ref()),
        (E::Bind, "bind", p.bind.as_ref()),
        (E::PostBind, "postBind", p.post_bind.as_ref()),
        (E::MultiPoint, "multiPoint", p.multi_point.as_ref()),
    ]
}

/// mergePluginSet (v1/default_plugins.go): defaults minus the disabled ones ("*" disables
/// all), a default re-configured by the user replaced in place, then the user's other plugins.
fn merge_plugin_set(defaults: &[PluginRef], enabled: &[PluginRef], disabled: &[String]) -> Vec<PluginRef> {
    let mut out = Vec::new();
    let mut replaced = BTreeSet::new();
    if !disabled.iter().any(|d| d == "*") {
        for d in defaults {
            if disabled.contains(&d.name) {
                continue;
            }
            match enabled.iter().position(|e| e.name == d.name) {
                Some(i) => {
                    replaced.insert(i);
                    out.push(enabled[i].clone());
                }
                None => out.push(d.clone()),
            }
        }
    }
    for (i, e) in enabled.iter().enumerate() {
        if !replaced.contains(&i) {
            out.push(e.clone());
        }
    }
    out
}

impl SchedulerConfig {
    /// Parses a configuration given as YAML/JSON (`null` = all defaults). `kind` and
    /// `apiVersion` may be left out inline; when present they must be upstream's.
    pub fn from_value(value: &serde_json::Value) -> Result<SchedulerConfig, ConfigError> {
        let value =
            if value.is_null() { serde_json::Value::Object(Default::default()) } else { value.clone() };
        let raw: ConfigurationV1 = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            err(if path == "." { String::new() } else { path }, e.inner().to_string())
        })?;
        if let Some(v) = raw.api_version.as_deref().filter(|v| *v != API_VERSION) {
            return Err(err("apiVersion", format!("unsupported version {v:?}: expected {API_VERSION:?}")));
        }
        if let Some(k) = raw.kind.as_deref().filter(|k| *k != "KubeSchedulerConfiguration") {
            return Err(err(
                "kind",
                format!("unsupported kind {k:?}: expected \"KubeSchedulerConfiguration\""),
            ));
        }
        if raw.extenders.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(err(
                "extenders",
                "scheduler extenders (HTTP webhooks) are not modelled; use a plugin instead",
            ));
        }
        if let Some(p) = raw.parallelism.filter(|p| *p <= 0) {
            return Err(err(
                "parallelism",
                format!("Invalid value: {p}: should be an integer value greater than zero"),
            ));
        }
        let _ = (
            &raw.leader_election,
            &raw.client_connection,
            raw.enable_profiling,
            raw.enable_contention_profiling,
            raw.delay_cache_until_active,
        );
        let percentage =
            parse_percentage("percentageOfNodesToScore", raw.percentage_of_nodes_to_score)?.unwrap_or(0);
        let initial = raw.pod_initial_backoff_seconds.unwrap_or(1);
        if initial <= 0 {
            return Err(err(
                "podInitialBackoffSeconds",
                format!("Invalid value: {initial}: must be greater than 0"),
            ));
        }
        let max = raw.pod_max_backoff_seconds.unwrap_or(10);
        if max < initial {
            return Err(err(
                "podMaxBackoffSeconds",
                format!("Invalid value: {max}: must be greater than or equal to PodInitialBackoffSeconds"),
            ));
        }
        let mut raw_profiles = raw.profiles.unwrap_or_default();
        if raw_profiles.is_empty() {
            raw_profiles.push(ProfileV1::default());
        }
        let single = raw_profiles.len() == 1;
        let mut names = BTreeSet::new();
        let mut profiles = Vec::new();
        for (i, p) in raw_profiles.iter().enumerate() {
            let path = format!("profiles[{i}]");
            let name = match p.scheduler_name.clone() {
                None if single => DEFAULT_SCHEDULER_NAME.to_string(),
                None => return Err(err(format!("{path}.schedulerName"), "Required value")),
                Some(n) if n.is_empty() => {
                    return Err(err(format!("{path}.schedulerName"), "Required value"))
                }
                Some(n) => n,
            };
            if !names.insert(name.clone()) {
                return Err(err(format!("{path}.schedulerName"), format!("Duplicate value: {name:?}")));
            }
            let pct = parse_percentage(
                &format!("{path}.percentageOfNodesToScore"),
                p.percentage_of_nodes_to_score,
            )?;
            let plugins = p.plugins.clone().unwrap_or_default();
            let mut enabled = BTreeMap::new();
            let mut disabled = BTreeMap::new();
            for (point, field, set) in point_sets(&plugins) {
                let set_path = format!("{path}.plugins.{field}");
                let user_enabled: Vec<PluginRef> = set
                    .and_then(|s| s.enabled.as_ref())
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(j, pl)| PluginRef {
                        name: pl.name.clone(),
                        weight: pl.weight.unwrap_or(0),
                        path: format!("{set_path}.enabled[{j}]"),
                    })
                    .collect();
                // Upstream validates no weights (0 counts as 1 in getScoreWeights; a weight outside
                // score/multiPoint is ignored); a negative one would subtract, so it is refused.
                for pl in &user_enabled {
                    if pl.weight < 0 {
                        return Err(err(
                            format!("{}.weight", pl.path),
                            format!("Invalid value: {}: must be a non-negative number", pl.weight),
                        ));
                    }
                }
                let user_disabled: Vec<String> = set
                    .and_then(|s| s.disabled.as_ref())
                    .into_iter()
                    .flatten()
                    .map(|pl| pl.name.clone())
                    .collect();
                let defaults: Vec<PluginRef> = if point == ExtensionPoint::MultiPoint {
                    DEFAULT_PLUGINS
                        .iter()
                        .map(|(n, w)| PluginRef { name: n.to_string(), weight: *w, path: String::new() })
                        .collect()
                } else {
                    Vec::new()
                };
                enabled.insert(point, merge_plugin_set(&defaults, &user_enabled, &user_disabled));
                disabled.insert(point, user_disabled);
            }
            let _ = &plugins.pre_enqueue;
            let mut plugin_config = BTreeMap::new();
            for (j, pc) in p.plugin_config.iter().flatten().enumerate() {
                let pc_path = format!("{path}.pluginConfig[{j}]");
                if plugin_config.contains_key(&pc.name) {
                    return Err(err(format!("{pc_path}.name"), format!("Duplicate value: {:?}", pc.name)));
                }
                plugin_config.insert(
                    pc.name.clone(),
                    (pc.args.clone().unwrap_or(serde_json::Value::Null), format!("{pc_path}.args")),
                );
            }
            profiles.push(ProfileConfig {
                scheduler_name: name,
                percentage_of_nodes_to_score: pct,
                enabled,
                disabled,
                plugin_config,
                path,
            });
        }
        Ok(SchedulerConfig {
            percentage_of_nodes_to_score: percentage,
            pod_initial_backoff_seconds: initial as u64,
            pod_max_backoff_seconds: max as u64,
            profiles,
        })
    }

    /// Instantiates every profile's plugins from `registry` (NewFramework). (Upstream also
    /// requires every profile to use the same QueueSort plugin; PrioritySort is the only one.)
    pub fn build(&self, registry: &Registry) -> Result<Vec<Profile>, ConfigError> {
        self.profiles
            .iter()
            .map(|pc| build_profile(pc, self.percentage_of_nodes_to_score, registry))
            .collect()
    }
}

fn parse_percentage(path: &str, v: Option<i32>) -> Result<Option<u32>, ConfigError> {
    match v {
        None => Ok(None),
        Some(p) if (0..=100).contains(&p) => Ok(Some(p as u32)),
        Some(p) => Err(err(path, format!("Invalid value: {p}: not in valid range [0-100]"))),
    }
}

fn build_profile(
    pc: &ProfileConfig,
    global_percentage: u32,
    registry: &Registry,
) -> Result<Profile, ConfigError> {
    // Every pluginConfig entry is decoded and validated, enabled or not, as upstream's strict
    // decoding and validatePluginConfig do for in-tree args. Not upstream: a pluginConfig entry
    // naming no registered plugin is an error (upstream skips args it has no type for), so a
    // typo in a plugin name cannot pass unnoticed. The instances are kept for the plugins
    // enabled below.
    let mut configured: BTreeMap<&str, Box<dyn super::Plugin>> = BTreeMap::new();
    for (name, (args, path)) in &pc.plugin_config {
        if !registry.contains(name) {
            return Err(err(
                path.trim_end_matches(".args").to_string() + ".name",
                unknown_plugin(name, registry),
            ));
        }
        let plugin = registry
            .build(name, args)
            .map_err(|e| err(path.clone(), format!("initializing plugin {name:?}: {e}")))?;
        configured.insert(name, plugin);
    }
    let mut profile =
        Profile::new(&pc.scheduler_name, pc.percentage_of_nodes_to_score.unwrap_or(global_percentage));
    // pluginsNeeded: every enabled name, first in configuration order.
    let mut needed: Vec<&PluginRef> = Vec::new();
    for point in ExtensionPoint::ALL {
        for p in &pc.enabled[&point] {
            if !needed.iter().any(|n| n.name == p.name) {
                needed.push(p);
            }
        }
    }
    let mut index = BTreeMap::new();
    for p in needed {
        if !registry.contains(&p.name) {
            return Err(err(format!("{}.name", p.path), unknown_plugin(&p.name, registry)));
        }
        let plugin = match configured.remove(p.name.as_str()) {
            Some(plugin) => plugin,
            None => registry.build(&p.name, &serde_json::Value::Null).map_err(|e| {
                err(format!("{}.name", p.path), format!("initializing plugin {:?}: {e}", p.name))
            })?,
        };
        index.insert(p.name.clone(), profile.add_plugin(plugin));
    }
    // Individual extension points (updatePluginList), then MultiPoint expansion.
    let mut lists: BTreeMap<ExtensionPoint, Vec<String>> = BTreeMap::new();
    let mut weights: BTreeMap<String, i64> = BTreeMap::new();
    for point in ExtensionPoint::ALL.into_iter().filter(|p| *p != ExtensionPoint::MultiPoint) {
        let mut names = Vec::new();
        for p in &pc.enabled[&point] {
            let plugin = profile.plugin(index[&p.name]);
            if !point.implemented_by(plugin) {
                return Err(err(
                    format!("{}.name", p.path),
                    format!("plugin {:?} does not extend {} plugin", p.name, point.interface()),
                ));
            }
            if names.contains(&p.name) {
                return Err(err(
                    format!("{}.name", p.path),
                    format!("plugin {:?} already registered as {:?}", p.name, point.interface()),
                ));
            }
            names.push(p.name.clone());
            if point == ExtensionPoint::Score {
                weights.entry(p.name.clone()).or_insert(i64::from(p.weight.max(1)));
            }
        }
        lists.insert(point, names);
    }
    let multi = &pc.enabled[&ExtensionPoint::MultiPoint];
    for point in ExtensionPoint::ALL.into_iter().filter(|p| *p != ExtensionPoint::MultiPoint) {
        let disabled = &pc.disabled[&point];
        if disabled.iter().any(|d| d == "*") {
            continue;
        }
        let specific = lists.get(&point).cloned().unwrap_or_default();
        let mut overrides = Vec::new();
        let mut from_multi: Vec<String> = Vec::new();
        for p in multi {
            let plugin = profile.plugin(index[&p.name]);
            if !point.implemented_by(plugin) || disabled.contains(&p.name) {
                continue;
            }
            if specific.contains(&p.name) {
                overrides.push(p.name.clone());
                continue;
            }
            if from_multi.contains(&p.name) {
                return Err(err(
                    format!("{}.name", p.path),
                    format!("plugin {:?} already registered as {:?}", p.name, point.interface()),
                ));
            }
            from_multi.push(p.name.clone());
        }
        // Order: overridden plugins (in their specific order), MultiPoint ones, the rest.
        let mut ordered: Vec<String> = specific.iter().filter(|n| overrides.contains(n)).cloned().collect();
        ordered.extend(from_multi);
        ordered.extend(specific.iter().filter(|n| !overrides.contains(n)).cloned());
        lists.insert(point, ordered);
    }
    for p in multi {
        if profile.plugin(index[&p.name]).as_score().is_some() {
            weights.entry(p.name.clone()).or_insert(i64::from(p.weight.max(1)));
        }
    }
    for (point, names) in &lists {
        for n in names {
            profile.enable(*point, index[n], weights.get(n).copied().unwrap_or(1));
        }
    }
    if lists[&ExtensionPoint::QueueSort].is_empty() {
        return Err(err(format!("{}.plugins.queueSort", pc.path), "no queue sort plugin is enabled"));
    }
    if lists[&ExtensionPoint::Bind].is_empty() {
        return Err(err(format!("{}.plugins.bind", pc.path), "at least one bind plugin is needed"));
    }
    Ok(profile)
}

fn unknown_plugin(name: &str, registry: &Registry) -> String {
    let known: Vec<&str> = registry.names().collect();
    format!("plugin {name:?} does not exist; known plugins: {}", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<Vec<Profile>, ConfigError> {
        SchedulerConfig::from_value(&v)?.build(&Registry::in_tree())
    }

    #[test]
    fn default_profile_is_upstreams() {
        let p = build(serde_json::Value::Null).unwrap();
        assert_eq!(p.len(), 1);
        let p = &p[0];
        assert_eq!(p.scheduler_name, "default-scheduler");
        assert_eq!(
            p.enabled(ExtensionPoint::Filter),
            [
                "NodeUnschedulable",
                "NodeName",
                "TaintToleration",
                "NodeAffinity",
                "NodePorts",
                "NodeResourcesFit",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        assert_eq!(
            p.enabled(ExtensionPoint::PreFilter),
            ["NodeAffinity", "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]
        );
        assert_eq!(p.enabled(ExtensionPoint::PostFilter), ["DefaultPreemption"]);
        assert_eq!(
            p.score_weights(),
            [
                ("TaintToleration".to_string(), 3),
                ("NodeAffinity".to_string(), 2),
                ("NodeResourcesFit".to_string(), 1),
                ("PodTopologySpread".to_string(), 2),
                ("InterPodAffinity".to_string(), 2),
                ("NodeResourcesBalancedAllocation".to_string(), 1),
                ("ImageLocality".to_string(), 1)
            ]
        );
    }

    #[test]
    fn user_plugins_merge_into_defaults() {
        // default_plugins_test.go TestMergePlugins "DefaultPluginsWithOverriddenWeight…" style:
        // a re-configured default keeps its place with the new weight; disabled ones go; a
        // new plugin is appended.
        let p = build(json!({
            "profiles": [{
                "plugins": {
                    "multiPoint": {
                        "enabled": [{"name": "ImageLocality", "weight": 5}, {"name": "Random"}],
                        "disabled": [{"name": "InterPodAffinity"}]
                    },
                    "score": {"disabled": [{"name": "NodeResourcesBalancedAllocation"}]}
                }
            }]
        }))
        .unwrap();
        let w = p[0].score_weights();
        assert!(w.contains(&("ImageLocality".to_string(), 5)));
        assert_eq!(w.last(), Some(&("Random".to_string(), 1)));
        assert!(!w.iter().any(|(n, _)| n == "InterPodAffinity" || n == "NodeResourcesBalancedAllocation"));
        assert!(!p[0].enabled(ExtensionPoint::Filter).contains(&"InterPodAffinity".to_string()));
        // BalancedAllocation was only disabled for Score: its PreScore stays.
        assert!(p[0]
            .enabled(ExtensionPoint::PreScore)
            .contains(&"NodeResourcesBalancedAllocation".to_string()));
    }

    #[test]
    fn disabling_everything_at_a_point() {
        let p = build(json!({"profiles": [{"plugins": {"score": {"disabled": [{"name": "*"}], "enabled": [{"name": "BestFit", "weight": 1}]}}}]}))
            .unwrap();
        assert_eq!(p[0].score_weights(), [("BestFit".to_string(), 1)]);
    }

    #[test]
    fn errors_name_the_field() {
        let e = build(json!({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NodeAfinity"}]}}}]}))
            .unwrap_err();
        assert_eq!(e.path, "profiles[0].plugins.filter.enabled[0].name");
        assert!(
            e.message.starts_with("plugin \"NodeAfinity\" does not exist; known plugins:"),
            "{}",
            e.message
        );
        let e =
            build(json!({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "ImageLocality"}]}}}]}))
                .unwrap_err();
        assert_eq!(e.message, "plugin \"ImageLocality\" does not extend FilterPlugin plugin");
        let e = build(json!({"percentageOfNodesToScore": 110})).unwrap_err();
        assert_eq!(e.to_string(), "percentageOfNodesToScore: Invalid value: 110: not in valid range [0-100]");
        let e = build(json!({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]})).unwrap_err();
        assert_eq!(e.to_string(), "profiles[1].schedulerName: Duplicate value: \"a\"");
        let e = build(json!({"profiles": [{"schedulerName": "a"}, {}]})).unwrap_err();
        assert_eq!(e.to_string(), "profiles[1].schedulerName: Required value");
        let e = build(json!({"profiles": [{"pluginConfig": [{"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 110}}]}]}))
            .unwrap_err();
        assert_eq!(e.path, "profiles[0].pluginConfig[0].args");
        assert!(
            e.message.contains("hardPodAffinityWeight: Invalid value: 110: not in valid range [0, 100]"),
            "{}",
            e.message
        );
        let e = build(json!({"profiles": [{"plugins": {"scor": {}}}]})).unwrap_err();
        assert_eq!(e.path, "profiles[0].plugins.scor");
        assert!(e.message.contains("unknown field `scor`"), "{}", e.message);
        let e = build(json!({"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 2})).unwrap_err();
        assert_eq!(e.path, "podMaxBackoffSeconds");
    }

    #[test]
    fn several_profiles_by_scheduler_name() {
        let p = build(json!({
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "profiles": [
                {"schedulerName": "default-scheduler"},
                {"schedulerName": "no-scoring-scheduler", "plugins": {"preScore": {"disabled": [{"name": "*"}]}, "score": {"disabled": [{"name": "*"}]}}}
            ]
        }))
        .unwrap();
        assert_eq!(p[1].scheduler_name, "no-scoring-scheduler");
        assert!(!p[1].has_score_plugins());
        assert!(p[0].has_score_plugins());
    }
}
