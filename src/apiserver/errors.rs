//! API errors with the status codes and messages kube-apiserver returns.

use crate::api::Kind;

/// A failed API request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 404
    #[error("{resource} {name:?} not found")]
    NotFound { resource: String, name: String },
    /// 409 on create
    #[error("{resource} {name:?} already exists")]
    AlreadyExists { resource: String, name: String },
    /// 409 on a stale resourceVersion or a failed precondition
    #[error("Operation cannot be fulfilled on {resource} {name:?}: {message}")]
    Conflict { resource: String, name: String, message: String },
    /// 422
    #[error("{0}")]
    Invalid(String),
    /// 410 on a watch from a compacted resourceVersion
    #[error("too old resource version: {requested} ({compacted})")]
    Gone { requested: i64, compacted: i64 },
    /// 400
    #[error("{0}")]
    BadRequest(String),
    /// 429 (an eviction a PodDisruptionBudget forbids)
    #[error("{0}")]
    TooManyRequests(String),
    /// 403 (admission refused)
    #[error("{0}")]
    Forbidden(String),
    /// The caller cannot reach the API server (network partition, power loss).
    #[error("Unable to connect to the server: dial tcp: i/o timeout")]
    Unreachable,
}

impl ApiError {
    pub fn not_found(kind: Kind, name: &str) -> Self {
        ApiError::NotFound { resource: kind.resource().to_string(), name: name.to_string() }
    }
    pub fn already_exists(kind: Kind, name: &str) -> Self {
        ApiError::AlreadyExists { resource: kind.resource().to_string(), name: name.to_string() }
    }
    pub fn conflict(kind: Kind, name: &str) -> Self {
        ApiError::Conflict {
            resource: kind.resource().to_string(),
            name: name.to_string(),
            message:
                "the object has been modified; please apply your changes to the latest version and try again"
                    .to_string(),
        }
    }
    /// HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Invalid(_) => 422,
            ApiError::Gone { .. } => 410,
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Unreachable => 503,
        }
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }
    pub fn is_already_exists(&self) -> bool {
        matches!(self, ApiError::AlreadyExists { .. })
    }
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Conflict { .. } | ApiError::AlreadyExists { .. })
    }
}
