//! Reading manifests: YAML text (block style, flow style/KYAML, several documents) into typed
//! [`Object`]s, with strict unknown-field detection like `kubectl apply --validate=strict`.
//!
//! The API server's decoder is lenient about numbers where a quantity is expected
//! (`cpu: 2`, `pods: 110`), so numbers under resource lists are read as quantity strings.

use serde_yaml::Value;

use super::kinds::{Kind, Object};

/// Why a manifest could not be decoded. `path` is the field path inside the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Syntax(String),
    #[error("object is not a mapping: every manifest must be a YAML mapping with apiVersion and kind")]
    NotAMapping,
    #[error("{field} not set: every manifest needs apiVersion and kind")]
    MissingTypeField { field: &'static str },
    #[error("no matches for kind {kind:?} in version {api_version:?}{hint}")]
    UnknownKind { api_version: String, kind: String, hint: String },
    #[error("{kind} in version {api_version:?} cannot be handled as a {kind}: {path}: {message}")]
    BadField { kind: String, api_version: String, path: String, message: String },
    #[error("strict decoding error: {}", .fields.iter().map(|f| format!("unknown field {f:?}")).collect::<Vec<_>>().join(", "))]
    UnknownFields { fields: Vec<String> },
}

/// Resource-list keys whose values are quantities (`requests`, `capacity`, …), and single
/// quantity fields.
const QUANTITY_MAPS: &[&str] = &[
    "requests",
    "limits",
    "capacity",
    "allocatable",
    "overhead",
    "hard",
    "used",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];
const QUANTITY_FIELDS: &[&str] = &["sizeLimit"];

/// Turns numbers in quantity positions into strings, as the API server's JSON decoder accepts
/// both `cpu: 2` and `cpu: "2"`.
fn normalize_quantities(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.as_str().unwrap_or("");
                if QUANTITY_MAPS.contains(&key) {
                    if let Value::Mapping(inner) = v {
                        for (_, q) in inner.iter_mut() {
                            number_to_string(q);
                        }
                    }
                } else if QUANTITY_FIELDS.contains(&key) {
                    number_to_string(v);
                }
                normalize_quantities(v);
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(normalize_quantities),
        _ => {}
    }
}

fn number_to_string(v: &mut Value) {
    if let Value::Number(n) = v {
        *v = Value::String(n.to_string());
    }
}

/// Renders a serde_ignored path as kubectl does: `spec.containers[0].imagee`.
fn render_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render_path(parent)),
        Path::Map { parent, key } => {
            let p = render_path(parent);
            if p.is_empty() {
                key.clone()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            render_path(parent)
        }
    }
}

fn render_error_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Decodes one manifest value into an object.
pub fn decode_object(mut value: Value) -> Result<Object, DecodeError> {
    let Value::Mapping(map) = &value else {
        return Err(DecodeError::NotAMapping);
    };
    let text_field = |name: &'static str| -> Result<String, DecodeError> {
        map.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(DecodeError::MissingTypeField { field: name })
    };
    let api_version = text_field("apiVersion")?;
    let kind_name = text_field("kind")?;
    let Some(kind) = Kind::from_manifest(&api_version, &kind_name) else {
        let hint = match Kind::ALL.iter().find(|k| k.name() == kind_name) {
            Some(k) => format!(" (kubesim serves {kind_name} as {:?})", k.api_version()),
            None => String::new(),
        };
        return Err(DecodeError::UnknownKind { api_version, kind: kind_name, hint });
    };
    normalize_quantities(&mut value);
    let mut unknown = Vec::new();
    let mut on_ignored = |p: serde_ignored::Path<'_>| unknown.push(render_path(&p));
    let ignored = serde_ignored::Deserializer::new(value, &mut on_ignored);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(ignored, &mut track);
    let result = kind.decode_with(tracked);
    match result {
        Err(e) => Err(DecodeError::BadField {
            kind: kind_name,
            api_version,
            path: render_error_path(&track.path()),
            message: e.to_string(),
        }),
        Ok(_) if !unknown.is_empty() => Err(DecodeError::UnknownFields { fields: unknown }),
        Ok(obj) => Ok(obj),
    }
}

/// One document of a manifest stream that failed, with its 1-based position and start line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("document {document} (line {line}): {error}")]
pub struct DocumentError {
    pub document: usize,
    pub line: usize,
    pub error: DecodeError,
}

/// Decodes a YAML stream with any number of `---`-separated documents. Empty documents are
/// skipped, as kubectl does. A `List` (kind: List, items: […]) is expanded.
pub fn decode_documents(text: &str) -> Result<Vec<Object>, DocumentError> {
    let starts = document_start_lines(text);
    let mut objects = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let line = starts.get(i).copied().unwrap_or(1);
        let fail = |error| DocumentError { document: i + 1, line, error };
        let value: Value =
            serde::Deserialize::deserialize(doc).map_err(|e| fail(DecodeError::Syntax(e.to_string())))?;
        if value.is_null() {
            continue;
        }
        if value.get("kind").and_then(Value::as_str) == Some("List") {
            let items = value.get("items").and_then(Value::as_sequence).cloned().unwrap_or_default();
            for item in items {
                objects.push(decode_object(item).map_err(fail)?);
            }
            continue;
        }
        objects.push(decode_object(value).map_err(fail)?);
    }
    Ok(objects)
}

/// Line (1-based) where each document starts: line 1 unless the stream opens with `---`, then
/// every `---` separator line.
fn document_start_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let first_content = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    if !first_content.is_some_and(|l| l.starts_with("---")) {
        starts.push(1);
    }
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            starts.push(i + 1);
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_block_and_flow_styles_identically() {
        let block = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests:\n        cpu: 2\n";
        let flow = "---\n{\n  apiVersion: \"v1\",\n  kind: \"Pod\",\n  metadata: {name: \"p\", },  # trailing comma\n  spec: {containers: [{name: \"c\", image: \"nginx\", resources: {requests: {cpu: \"2\"}}}]},\n}\n";
        let a = decode_documents(block).unwrap();
        let b = decode_documents(flow).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].kind(), Kind::Pod);
    }

    #[test]
    fn unknown_fields_are_reported_with_their_path() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    imagee: nginx\n  nodeNmae: x\n";
        let err = decode_documents(text).unwrap_err();
        assert_eq!(
            err.error,
            DecodeError::UnknownFields {
                fields: vec!["spec.containers[0].imagee".into(), "spec.nodeNmae".into()]
            }
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - weight: 1\n";
        let err = decode_documents(text).unwrap_err().to_string();
        assert!(
            err.contains("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
            "{err}"
        );
    }

    #[test]
    fn unknown_kinds_and_versions() {
        let err =
            decode_documents("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\n").unwrap_err();
        assert!(err.to_string().contains("no matches for kind \"CronJob\" in version \"batch/v1beta1\""));
        let err = decode_documents("kind: Pod\n").unwrap_err();
        assert_eq!(err.error, DecodeError::MissingTypeField { field: "apiVersion" });
    }

    #[test]
    fn multi_document_positions() {
        let text =
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\n---\napiVersion: v1\nkind: Pood\n";
        let err = decode_documents(text).unwrap_err();
        assert_eq!((err.document, err.line), (3, 6));
    }
}
