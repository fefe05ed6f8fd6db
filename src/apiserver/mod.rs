//! The kube-apiserver model: validation, defaulting, admission, optimistic concurrency and
//! watch fan-out over the etcd model.

pub mod errors;
pub mod eviction;
pub mod fields;
pub mod server;
pub mod snapshot;
pub mod watch;

pub use errors::ApiError;
pub use server::{
    ApiServer, Change, DeleteOptions, ObjectList, Propagation, Reporter, WatchStart, FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
};
pub use snapshot::{EtcdSnapshot, RestoreSummary};
pub use watch::{WatchEvent, WatchEventType, WatchId, WatchSpec};
