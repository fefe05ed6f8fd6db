//! Label and field selectors, as `kubectl get -l` / `--field-selector` and the API server's
//! list/watch accept them (k8s.io/apimachinery/pkg/labels/selector.go, fields/selector.go).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sLabelSelector;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A conjunction of requirements; the empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

/// A selector string or object that cannot be understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector {input:?}: {reason}")]
pub struct SelectorError {
    pub input: String,
    pub reason: String,
}

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

impl LabelSelector {
    /// Matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        let labels = labels.unwrap_or(&EMPTY);
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The single `key=value` pair a selector requires, used to index watchers.
    pub fn equality_value(&self, key: &str) -> Option<&str> {
        self.requirements.iter().find_map(|r| match r {
            Requirement::Equals(k, v) if k == key => Some(v.as_str()),
            _ => None,
        })
    }

    /// Converts the API's `metav1.LabelSelector` (matchLabels + matchExpressions), as
    /// `metav1.LabelSelectorAsSelector` does. A `None` selector matches nothing upstream; callers
    /// decide, so this takes the struct itself.
    pub fn from_k8s(sel: &K8sLabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            requirements.push(Requirement::Equals(k.clone(), v.clone()));
        }
        for expr in sel.match_expressions.iter().flatten() {
            let values = expr.values.clone().unwrap_or_default();
            let err = |reason: &str| SelectorError {
                input: format!("{} {}", expr.key, expr.operator),
                reason: reason.to_string(),
            };
            requirements.push(match expr.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => {
                    return Err(err("values: must be specified when `operator` is 'In' or 'NotIn'"))
                }
                "In" => Requirement::In(expr.key.clone(), values),
                "NotIn" => Requirement::NotIn(expr.key.clone(), values),
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    return Err(err(
                        "values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ))
                }
                "Exists" => Requirement::Exists(expr.key.clone()),
                "DoesNotExist" => Requirement::DoesNotExist(expr.key.clone()),
                other => return Err(err(&format!("operator: not a valid selector operator {other:?}"))),
            });
        }
        Ok(LabelSelector { requirements })
    }

    /// Parses the string form: `app=web,tier!=db`, `env in (a,b)`, `env notin (c)`, `gpu`, `!gpu`.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let err = |reason: &str| SelectorError { input: input.to_string(), reason: reason.into() };
        let mut requirements = Vec::new();
        for part in split_top_level(input) {
            let part = part.trim();
            if part.is_empty() {
                if input.trim().is_empty() {
                    continue;
                }
                return Err(err("empty requirement"));
            }
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(checked_key(key.trim()).map_err(|r| err(&r))?)
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(checked_key(k.trim()).map_err(|r| err(&r))?, v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(checked_key(k.trim()).map_err(|r| err(&r))?, v.trim().into())
            } else if let Some((k, set)) = split_set_op(part, " notin ") {
                Requirement::NotIn(checked_key(k).map_err(|r| err(&r))?, parse_set(set).map_err(|r| err(&r))?)
            } else if let Some((k, set)) = split_set_op(part, " in ") {
                Requirement::In(checked_key(k).map_err(|r| err(&r))?, parse_set(set).map_err(|r| err(&r))?)
            } else {
                Requirement::Exists(checked_key(part).map_err(|r| err(&r))?)
            };
            requirements.push(req);
        }
        Ok(LabelSelector { requirements })
    }
}

fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn split_set_op<'a>(part: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    part.find(op).map(|i| (part[..i].trim(), part[i + op.len()..].trim()))
}

fn parse_set(set: &str) -> Result<Vec<String>, String> {
    let inner = set
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set of values, found {set:?}"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
}

fn checked_key(key: &str) -> Result<String, String> {
    let ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(key.to_string())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match r {
                Requirement::Equals(k, v) => format!("{k}={v}"),
                Requirement::NotEquals(k, v) => format!("{k}!={v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::DoesNotExist(k) => format!("!{k}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// One `field=value` or `field!=value` term of a field selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub value: String,
    pub equal: bool,
}

/// A field selector such as `spec.nodeName=worker-1,status.phase!=Running`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    pub fn everything() -> Self {
        Self::default()
    }

    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, v, true)
            } else {
                return Err(SelectorError {
                    input: input.into(),
                    reason: format!(
                        "invalid field selector term {part:?}: expected field=value or field!=value"
                    ),
                });
            };
            requirements.push(FieldRequirement {
                field: field.trim().into(),
                value: value.trim().into(),
                equal,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// `field=value` for the given field, used to index watchers (e.g. `spec.nodeName`).
    pub fn equality_value(&self, field: &str) -> Option<&str> {
        self.requirements.iter().find(|r| r.equal && r.field == field).map(|r| r.value.as_str())
    }

    /// Whether an object matches, given a function that reads its field values.
    /// A field the object kind does not support never matches (the API server rejects such
    /// selectors up front; see `Kind::supports_field`).
    pub fn matches(&self, field_value: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| match field_value(&r.field) {
            Some(v) => (v == r.value) == r.equal,
            None => false,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| format!("{}{}{}", r.field, if r.equal { "=" } else { "!=" }, r.value))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_every_operator() {
        let sel = LabelSelector::parse("app=web,tier!=db,env in (prod, staging),zone notin (c),gpu,!legacy")
            .unwrap();
        assert_eq!(sel.requirements.len(), 6);
        let l = labels(&[("app", "web"), ("tier", "front"), ("env", "prod"), ("zone", "a"), ("gpu", "")]);
        assert!(sel.matches(Some(&l)));
        let l2 = labels(&[("app", "web"), ("env", "dev"), ("gpu", "")]);
        assert!(!sel.matches(Some(&l2)));
        assert_eq!(sel.to_string(), "app=web,tier!=db,env in (prod,staging),zone notin (c),gpu,!legacy");
    }

    #[test]
    fn empty_selector_matches_all() {
        assert!(LabelSelector::parse("").unwrap().matches(None));
    }

    #[test]
    fn rejects_garbage() {
        assert!(LabelSelector::parse("a=b,,c").is_err());
        assert!(LabelSelector::parse("env in prod").is_err());
        assert!(LabelSelector::parse("bad key=1").is_err());
    }

    #[test]
    fn field_selectors() {
        let sel = FieldSelector::parse("spec.nodeName=worker-1,status.phase!=Failed").unwrap();
        assert_eq!(sel.equality_value("spec.nodeName"), Some("worker-1"));
        let get = |f: &str| match f {
            "spec.nodeName" => Some("worker-1".to_string()),
            "status.phase" => Some("Running".to_string()),
            _ => None,
        };
        assert!(sel.matches(get));
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
