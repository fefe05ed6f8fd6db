//! The NodePorts plugin (pkg/scheduler/framework/plugins/nodeports): a pod asking for hostPorts
//! fits only nodes where none of them is taken. PreFilter skips pods without hostPorts.

use k8s_openapi::api::core::v1::Pod;

use crate::scheduler::cache::{host_ports, NodeInfo, Snapshot};
use crate::scheduler::framework::{CycleState, FilterPlugin, PreFilterPlugin, PreFilterResult, Status};

pub const NAME: &str = "NodePorts";
/// `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

pub struct NodePorts;

crate::impl_plugin!(NodePorts, NAME, [pre_filter, filter]);

/// PreFilter state: the hostPorts the pod asks for (`preFilterState`).
#[derive(Clone)]
struct WantedPorts(Vec<(String, String, i32)>);

impl PreFilterPlugin for NodePorts {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        _snapshot: &Snapshot,
    ) -> (PreFilterResult, Status) {
        let wanted = host_ports(pod);
        if wanted.is_empty() {
            return (PreFilterResult::all(), Status::skip());
        }
        state.write(NAME, WantedPorts(wanted));
        (PreFilterResult::all(), Status::success())
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let free = match state.read::<WantedPorts>(NAME) {
            Some(w) => node.ports_free_for(&w.0),
            None => node.ports_free(pod),
        };
        if free {
            Status::success()
        } else {
            Status::unschedulable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::Code;
    use k8s_openapi::api::core::v1::{Container, ContainerPort, Node, PodSpec};
    use std::sync::Arc;

    fn pod(ports: &[(&str, &str, i32)]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    ports: Some(
                        ports
                            .iter()
                            .map(|(proto, ip, port)| ContainerPort {
                                protocol: Some(proto.to_string()),
                                host_ip: Some(ip.to_string()),
                                host_port: Some(*port),
                                container_port: *port,
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn upstream_cases() {
        // node_ports_test.go TestNodePorts.
        type Ports<'a> = Vec<(&'a str, &'a str, i32)>;
        let cases: Vec<(&str, Ports, Ports, bool)> = vec![
            ("same udp port", vec![("UDP", "127.0.0.1", 8080)], vec![("UDP", "127.0.0.1", 8080)], false),
            ("same tcp port", vec![("TCP", "127.0.0.1", 8080)], vec![("TCP", "127.0.0.1", 8080)], false),
            ("different host ip", vec![("TCP", "127.0.0.1", 8080)], vec![("TCP", "127.0.0.2", 8080)], true),
            ("different protocol", vec![("UDP", "127.0.0.1", 8080)], vec![("TCP", "127.0.0.1", 8080)], true),
            (
                "second udp port conflict",
                vec![("UDP", "127.0.0.1", 8000), ("UDP", "127.0.0.1", 8080)],
                vec![("UDP", "127.0.0.1", 8080)],
                false,
            ),
            (
                "first tcp port conflict",
                vec![("TCP", "127.0.0.1", 8001), ("UDP", "127.0.0.1", 8080)],
                vec![("TCP", "127.0.0.1", 8001), ("UDP", "127.0.0.1", 8081)],
                false,
            ),
            (
                "first tcp port conflict due to 0.0.0.0 hostIP",
                vec![("TCP", "0.0.0.0", 8001)],
                vec![("TCP", "127.0.0.1", 8001)],
                false,
            ),
            (
                "TCP hostPort conflict due to 0.0.0.0 hostIP",
                vec![("TCP", "10.0.10.10", 8001), ("TCP", "0.0.0.0", 8001)],
                vec![("TCP", "127.0.0.1", 8001)],
                false,
            ),
            (
                "second tcp port conflict to 0.0.0.0 hostIP",
                vec![("TCP", "127.0.0.1", 8001)],
                vec![("TCP", "0.0.0.0", 8001)],
                false,
            ),
            (
                "second different protocol",
                vec![("UDP", "127.0.0.1", 8001)],
                vec![("TCP", "0.0.0.0", 8001)],
                true,
            ),
            (
                "UDP hostPort conflict due to 0.0.0.0 hostIP",
                vec![("UDP", "127.0.0.1", 8001)],
                vec![("TCP", "0.0.0.0", 8001), ("UDP", "0.0.0.0", 8001)],
                false,
            ),
        ];
        for (name, incoming, existing, fits) in cases {
            let mut info = NodeInfo::new(Node::default());
            info.add_pod(Arc::new(pod(&existing)));
            let s = NodePorts.filter(&CycleState::default(), &pod(&incoming), &info);
            assert_eq!(s.is_success(), fits, "{name}");
            if !fits {
                assert_eq!(s.code, Code::Unschedulable, "{name}");
            }
        }
        let (_, s) = NodePorts.pre_filter(
            &mut CycleState::default(),
            &Pod::default(),
            &Snapshot {
                nodes: &[],
                cluster: &Default::default(),
                image_spread: &Default::default(),
                affinity_lists: None,
            },
        );
        assert!(s.is_skip(), "nothing running: PreFilter skips a pod without hostPorts");
    }
}
