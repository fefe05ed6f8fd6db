//! kube-apiserver's etcd compactor (staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact.go):
//! every `--etcd-compaction-interval` (5 minutes) it compacts etcd at the revision it saw on
//! the previous tick, so watchers always have at least one interval of history.

use crate::sim::{Component, Context, Event, SimDuration, Timer};

pub struct Compactor {
    pub interval: SimDuration,
}

impl Default for Compactor {
    fn default() -> Self {
        Compactor { interval: SimDuration::from_mins(5) }
    }
}

impl Component for Compactor {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => ctx.after(self.interval, Event::Timer(Timer::Compact)),
            Event::Timer(Timer::Compact) => {
                ctx.api.compaction_tick();
                ctx.after(self.interval, Event::Timer(Timer::Compact));
            }
            _ => {}
        }
    }
}
