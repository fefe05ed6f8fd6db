//! The scenario's steady request loads (`traffic:`): each load sends requests at a fixed rate
//! from `start` until `stop` (or the end of the run). Request k of a load leaves at
//! `start + ⌊k · 1000 / rate⌋` ms, so any rate is kept exactly over time.

use super::traffic::{send, RequestSpec};
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

/// One steady load.
#[derive(Clone, Debug)]
pub struct Load {
    pub request: RequestSpec,
    /// Requests per second (> 0).
    pub rate: f64,
    pub start: SimTime,
    pub stop: Option<SimTime>,
}

impl Load {
    /// When request number `k` leaves.
    fn departure(&self, k: u64) -> SimTime {
        self.start + SimDuration((k as f64 * 1000.0 / self.rate).floor() as u64)
    }
}

/// The component that sends every load's requests.
pub struct TrafficGenerator {
    loads: Vec<Load>,
    sent: Vec<u64>,
}

impl TrafficGenerator {
    pub fn new(loads: Vec<Load>) -> Self {
        let sent = vec![0; loads.len()];
        TrafficGenerator { loads, sent }
    }

    fn arm(&self, ctx: &mut Context<'_>, load: usize) {
        let l = &self.loads[load];
        let at = l.departure(self.sent[load]);
        if l.stop.is_none_or(|stop| at < stop) {
            ctx.after(at.since(ctx.now()), Event::Timer(Timer::Traffic { load }));
        }
    }
}

impl Component for TrafficGenerator {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                for load in 0..self.loads.len() {
                    self.arm(ctx, load);
                }
            }
            Event::Timer(Timer::Traffic { load }) => {
                let now = ctx.now();
                send(ctx.api, ctx.net, &self.loads[load].request, now, ctx.rng);
                self.sent[load] += 1;
                self.arm(ctx, load);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::traffic::{Source, Target};
    use crate::node::kube_proxy::rules::Protocol;

    #[test]
    fn departures_keep_the_rate_exactly() {
        let load = Load {
            request: RequestSpec {
                from: Source::External,
                to: Target::Address(std::net::Ipv4Addr::LOCALHOST, 80),
                protocol: Protocol::Tcp,
                from_text: "external".into(),
                to_text: "127.0.0.1:80".into(),
            },
            rate: 3.0,
            start: SimTime(10_000),
            stop: None,
        };
        let times: Vec<u64> = (0..4).map(|k| load.departure(k).as_millis()).collect();
        assert_eq!(times, vec![10_000, 10_333, 10_666, 11_000]);
    }
}
