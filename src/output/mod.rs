//! What a run writes: the timeline printed like `kubectl get events -w`, the CSV files and the
//! summary under `--out DIR` (written atomically), and kubectl-style tables.

pub mod describe;
pub mod files;
pub mod recorder;
pub mod tables;
pub mod timeline;
pub mod why;
pub mod yaml;
