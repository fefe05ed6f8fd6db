//! The run's timeline, printed like `kubectl get events -w` with a virtual clock.

use crate::sim::TraceEntry;

/// The header line.
pub fn header() -> String {
    format!("{:<12}  {:<28} {:<8} {:<24} {:<36} {}", "TIME", "SOURCE", "TYPE", "REASON", "OBJECT", "MESSAGE")
}

/// One line per entry.
pub fn line(e: &TraceEntry) -> String {
    let object = format!("{}/{}", e.kind.to_ascii_lowercase(), e.name);
    format!(
        "{:<12}  {:<28} {:<8} {:<24} {:<36} {}",
        e.time.clock(),
        e.source,
        e.type_,
        e.reason,
        object,
        e.message
    )
}
