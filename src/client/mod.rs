//! Client-side helpers every component uses, like client-go's: an informer cache fed by a
//! list-then-watch, and an event recorder.

pub mod informer;

pub use informer::Informer;

use crate::api::Object;
use crate::apiserver::Reporter;
use crate::sim::{Context, TraceEntry};

/// Records a Kubernetes Event (an `Event` object through the API server) and adds it to the
/// run's timeline. Failing to record an event never fails the caller, as in client-go.
pub fn record_event(
    ctx: &mut Context<'_>,
    reporter: Reporter<'_>,
    involved: &Object,
    type_: &str,
    reason: &str,
    message: String,
) {
    let _ = ctx.api.record_event(involved, &reporter, type_, reason, &message);
    let source = match reporter.host {
        Some(host) => format!("{}/{}", reporter.component, host),
        None => reporter.component.to_string(),
    };
    let entry = TraceEntry {
        time: ctx.now(),
        source,
        type_: type_.to_string(),
        reason: reason.to_string(),
        kind: involved.kind().name().to_string(),
        namespace: involved.namespace().unwrap_or("").to_string(),
        name: involved.name().to_string(),
        message,
    };
    ctx.trace(entry);
}
